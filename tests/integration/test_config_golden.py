#!/usr/bin/env python3
"""Golden tests of `sgguard -t`: every tests/golden/config/NAME.ini is
checked with the real binary, in a clean environment, against NAME.out (the
exact combined stdout+stderr, `sgguard[PID]` for the process id) and NAME.rc
(the exit code: 0 or 78).

    python3 tests/integration/test_config_golden.py            # TAP
    python3 tests/integration/test_config_golden.py --update   # rewrite .out/.rc

Run from anywhere: the binary runs in the source root and is given the path
as tests/golden/config/NAME.ini, which is what the .out files show.
"""
import difflib
import glob
import os
import re
import subprocess
import sys

import harness

GOLDEN = os.path.join("tests", "golden", "config")
PID = re.compile(r"^sgguard\[\d+\]", re.MULTILINE)


def check_config(ini):
    """Run sgguard -t on ini (relative to the root); (output, exit code)."""
    # -t reads the shared files when a profile is named: the golden ones.
    env = {"PATH": os.environ["PATH"],
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(GOLDEN, "aws-credentials"),
           "AWS_CONFIG_FILE": os.path.join(GOLDEN, "aws-config")}
    r = subprocess.run([harness.BIN, "-t", "-c", ini], cwd=harness.ROOT,
                       env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    out = r.stdout.decode("utf-8", errors="backslashreplace")
    return PID.sub("sgguard[PID]", out), r.returncode


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def make_case(ini):
    base = os.path.join(harness.ROOT, ini[:-len(".ini")])

    def run():
        if not os.path.exists(base + ".out") or not os.path.exists(base + ".rc"):
            raise AssertionError("%s.out or .rc missing (run with --update)" % base)
        want_out = read(base + ".out")
        want_rc = int(read(base + ".rc").strip())
        out, rc = check_config(ini)
        problems = []
        if rc != want_rc:
            problems.append("exit code %d, expected %d" % (rc, want_rc))
        if out != want_out:
            diff = difflib.unified_diff(
                want_out.splitlines(keepends=True), out.splitlines(keepends=True),
                fromfile=ini[:-4] + ".out (expected)", tofile="sgguard -t (actual)")
            problems.append("output differs:\n" + "".join(diff))
        if problems:
            raise AssertionError("\n".join(problems))
    return run


def configs():
    return sorted(os.path.relpath(p, harness.ROOT) for p in
                  glob.glob(os.path.join(harness.ROOT, GOLDEN, "*.ini")))


def update():
    for ini in configs():
        out, rc = check_config(ini)
        base = os.path.join(harness.ROOT, ini[:-len(".ini")])
        with open(base + ".out", "w", encoding="utf-8") as f:
            f.write(out)
        with open(base + ".rc", "w") as f:
            f.write("%d\n" % rc)
        print("%-60s rc=%d" % (ini, rc))


def main():
    if sys.argv[1:] == ["--update"]:
        update()
        return
    cases = []
    for ini in configs():
        name = os.path.basename(ini)
        cases.append(("sgguard -t %s" % name, make_case(ini)))
    # The set itself: enough good and bad configurations, each good one
    # exits 0 and each bad one 78, as the names promise.
    def inventory():
        names = [os.path.basename(c) for c in configs()]
        good = [n for n in names if n.startswith("good-")]
        bad = [n for n in names if n.startswith("bad-")]
        assert len(good) >= 8, "only %d good configs" % len(good)
        assert len(bad) >= 20, "only %d bad configs" % len(bad)
        for n in names:
            rc = int(read(os.path.join(harness.ROOT, GOLDEN, n[:-4] + ".rc")))
            assert rc == (0 if n.startswith("good-") else 78), \
                "%s: .rc says %d" % (n, rc)
    cases.append(("golden set: >= 8 good, >= 20 bad, rc matches name", inventory))
    harness.run(cases)


if __name__ == "__main__":
    main()
