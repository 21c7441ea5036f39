#!/usr/bin/env python3
# sgguard-test: once-second
"""The fuzz targets of tests/fuzz build and hold on their seeds.

With clang's libFuzzer: build every target (tests/fuzz/run --build), run
each over its seed corpus once (a regression test of every seed), then
fuzz each for a few seconds from a fresh work directory. Without it the
libFuzzer cases skip, saying so, and the seeds run through the plain
regression driver built with the system compiler instead (tests/fuzz/run
--plain), so every seed is still checked. About a minute in all.
"""
import os
import re
import shutil
import subprocess
import tempfile

import harness
from harness import case

ROOT = harness.ROOT
RUN = os.path.join(ROOT, "tests", "fuzz", "run")
SECONDS = int(os.environ.get("FUZZ_SMOKE_SECONDS", "2"))
TARGETS = subprocess.run([RUN, "--list"], capture_output=True, text=True,
                         cwd=ROOT).stdout.split()
_state = {}


def run(args, timeout, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([RUN] + args, cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout, env=e)
    for line in p.stdout.splitlines():
        print("# " + line, flush=True)
    return p


def results(stdout):
    """{target: (status, execs)} from run's per-target lines."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\w+)\s+(ok|FAIL)\s+(\S+) execs", line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def have_libfuzzer():
    """Build the libFuzzer targets once; False when clang or its libFuzzer
    is missing (run exits 3 then)."""
    if "libfuzzer" not in _state:
        p = run(["--build"], timeout=600)
        _state["libfuzzer"] = p.returncode != 3
        assert p.returncode in (0, 3), "build failed:\n" + p.stderr[-3000:]
    return _state["libfuzzer"]


def need_libfuzzer():
    if not have_libfuzzer():
        harness.skip("clang with libFuzzer (-fsanitize=fuzzer) is not "
                     "available: apt-get install clang libclang-rt-14-dev")


@case("the %d fuzz targets build with clang -fsanitize=fuzzer,address,undefined" % len(TARGETS))
def _build():
    assert TARGETS, "tests/fuzz/run --list printed no target"
    need_libfuzzer()


@case("every seed of every target runs clean once (libFuzzer -runs=0)")
def _regress():
    need_libfuzzer()
    p = run(["--regress"], timeout=300)
    r = results(p.stdout)
    assert set(r) == set(TARGETS), "targets run: %s" % sorted(r)
    bad = [t for t, (s, _) in r.items() if s != "ok"]
    assert p.returncode == 0 and not bad, "failed: %s\n%s" % (bad, p.stderr[-2000:])


def fuzz_case(target):
    def fn():
        need_libfuzzer()
        work = tempfile.mkdtemp(prefix="sgguard-fuzz-")
        try:
            p = run(["--targets", target, str(SECONDS)],
                    timeout=SECONDS + 120, env={"FUZZ_WORK": work})
        finally:
            shutil.rmtree(work, ignore_errors=True)
        status, execs = results(p.stdout).get(target, ("missing", "?"))
        assert p.returncode == 0 and status == "ok", \
            "%s: %s after %s execs (see build/fuzz/logs/%s.log)" % (
                target, status, execs, target)
    return fn


for _t in TARGETS:
    case("fuzz_%s: %d s of fuzzing finds nothing" % (_t, SECONDS))(fuzz_case(_t))


@case("without libFuzzer: every seed through the plain regression driver")
def _plain():
    if have_libfuzzer():
        harness.skip("libFuzzer is available: the seeds ran under it above")
    p = run(["--plain"], timeout=600)
    r = results(p.stdout)
    bad = [t for t, (s, _) in r.items() if s != "ok"]
    assert p.returncode == 0 and set(r) == set(TARGETS) and not bad, \
        "failed: %s\n%s" % (bad or sorted(r), p.stderr[-2000:])


if __name__ == "__main__":
    harness.run()
