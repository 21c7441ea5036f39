#!/usr/bin/env python3
# sgguard-test: once
"""Static analysis is clean: tests/lint (cppcheck and clang-tidy with the
checked-in configuration) reports no finding.

Skips, saying so, when cppcheck or clang-tidy is not installed. Lint reads
the sources, not a build tree, so a pass is remembered for the exact inputs
(sources, configuration, tool versions): `make check` runs the suite once
per build tree and the second run reuses the first one's result.
"""
import glob
import hashlib
import os
import shutil
import subprocess
import time

import harness
from harness import case

ROOT = harness.ROOT
LINT = os.path.join(ROOT, "tests", "lint")
CACHE = os.path.join(ROOT, "build", "lint")


def tool(name):
    path = shutil.which(name)
    if path is None:
        harness.skip("%s not installed (apt-get install %s)" % (name, name))
    return path


def version(path):
    return subprocess.run([path, "--version"], capture_output=True,
                          text=True).stdout


def inputs_digest(tools):
    h = hashlib.sha256()
    files = sorted(glob.glob(os.path.join(ROOT, "src", "*.c")) +
                   glob.glob(os.path.join(ROOT, "include", "*.h")))
    files += [os.path.join(ROOT, p) for p in (".clang-tidy", "tests/lint",
              "tests/cppcheck.supp", "tests/clang-tidy.supp")]
    for p in files:
        h.update(p.encode())
        with open(p, "rb") as f:
            h.update(f.read())
    for t in tools:
        h.update(version(t).encode())
    return h.hexdigest()[:20]


def run_lint(which):
    path = tool({"cppcheck": "cppcheck", "clang-tidy": "clang-tidy"}[which])
    stamp = os.path.join(CACHE, "passed-%s-%s" % (which, inputs_digest([path])))
    if os.path.exists(stamp):
        print("# %s: same inputs passed at %s; not run again" %
              (which, time.ctime(os.path.getmtime(stamp))), flush=True)
        return
    t0 = time.monotonic()
    p = subprocess.run([LINT, which], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    for line in p.stdout.splitlines():
        print("# " + line, flush=True)
    print("# %s took %.0f s" % (which, time.monotonic() - t0), flush=True)
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    assert p.returncode == 0 and last == "1 passed, 0 failed", \
        "tests/lint %s: exit %d, %r\n%s" % (which, p.returncode, last,
                                            p.stderr[-2000:])
    os.makedirs(CACHE, exist_ok=True)
    for old in glob.glob(os.path.join(CACHE, "passed-%s-*" % which)):
        os.unlink(old)
    open(stamp, "w").close()


@case("cppcheck finds nothing in src/ (tests/cppcheck.supp lists what is accepted)")
def _cppcheck():
    run_lint("cppcheck")


@case("clang-tidy finds nothing in src/ with .clang-tidy (tests/clang-tidy.supp lists what is accepted)")
def _clang_tidy():
    run_lint("clang-tidy")


if __name__ == "__main__":
    harness.run()
