#!/usr/bin/env python3
"""make demo (tests/demo/demo.py) with the binary under test: it succeeds
within its 60 s budget, shows what it promises, and leaves nothing behind:
no process, no temporary file. An interrupted demo cleans up too.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import harness
from harness import case

DEMO = os.path.join(harness.ROOT, "tests", "demo", "demo.py")
BUDGET = 60


def own_processes():
    """pid -> cmdline of every process of ours (same uid) now alive."""
    out = {}
    uid = os.getuid()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat("/proc/" + d).st_uid != uid:
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd:
            out[int(d)] = cmd
    return out


def leftovers(tmpdir, port, pids):
    """Processes the demo started that are still alive."""
    left = []
    for pid, cmd in own_processes().items():
        if (tmpdir in cmd or (port and "localaws.py" in cmd and "--port %s " % port
                              in cmd + " ")
                or (pid in pids and ("sgguard" in cmd or "localaws" in cmd))):
            left.append("%d: %s" % (pid, cmd))
    return left


def run_demo(interrupt_after=None, sig=signal.SIGINT):
    """Runs the demo in a private TMPDIR; returns (rc, output, seconds, tmpdir)."""
    tmpdir = tempfile.mkdtemp(prefix="sgguard-test-demo-")
    env = dict(os.environ, SGGUARD_BIN=harness.BIN, TMPDIR=tmpdir, NO_COLOR="1")
    # What a developer's shell might carry: must not leak into the demo.
    env.update(AWS_PROFILE="does-not-exist", AWS_ACCESS_KEY_ID="AKIAWRONGWRONGWRONG",
               AWS_SECRET_ACCESS_KEY="wrong", AWS_CONFIG_FILE="/nonexistent/config",
               HTTP_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    t = time.monotonic()
    p = harness.spawn([sys.executable, DEMO], env=env, stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT)
    if interrupt_after is not None:
        # Like Ctrl-C in a terminal: the signal goes to the demo's process
        # group (its children run in sessions of their own).
        buf = b""
        deadline = time.monotonic() + 60
        while interrupt_after.encode() not in buf and time.monotonic() < deadline:
            chunk = p.stdout.read1(4096)
            if not chunk:
                break
            buf += chunk
        os.killpg(p.pid, sig)
        rest, _ = p.communicate(timeout=30)
        out = buf + rest
    else:
        out, _ = p.communicate(timeout=BUDGET + 60)
    took = time.monotonic() - t
    text = out.decode(errors="replace")
    for line in text.splitlines():
        print("# | " + line)
    print("# demo exit %d after %.1f s" % (p.returncode, took))
    return p.returncode, text, took, tmpdir


def check_clean(text, tmpdir):
    pids = {int(x) for x in re.findall(r"\bpid (\d+)", text)}
    m = re.search(r"local AWS on 127\.0\.0\.1:(\d+)", text)
    port = m.group(1) if m else None
    deadline = time.monotonic() + 5
    while True:
        left = leftovers(tmpdir, port, pids)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, "processes left behind:\n" + "\n".join(left)
    remains = os.listdir(tmpdir)
    shutil.rmtree(tmpdir, ignore_errors=True)
    assert remains == [], "temporary files left behind in %s: %s" % (tmpdir, remains)
    return pids


@case("make demo: exit 0 in under 60 s, shows the revert, the kept rules and AUTO-MITIGATED")
def demo_runs():
    rc, text, took, tmpdir = run_demo()
    assert rc == 0, "demo exited %d" % rc
    assert took < BUDGET, "demo took %.1f s" % took
    group = re.search(r"security group web\s+(sg-[0-9a-f]+)", text).group(1)
    assert "Subject: [sgguard] AUTO-MITIGATED %s (us-east-1)" % group in text
    assert "| revoked: tcp 22 0.0.0.0/0" in text
    assert "| kept: tcp 443 ::/0" in text
    assert re.search(r"tcp 22 0\.0\.0\.0/0\s+present -> REVOKED", text), text
    for kept in (r"tcp 443 0\.0\.0\.0/0", r"tcp 443 ::/0", r"tcp 8080 10\.0\.0\.0/8"):
        assert re.search(kept + r"\s+present -> kept", text), kept
    assert re.search(r"sgguard \| .*reverted 1 rule on %s" % group, text)
    assert re.search(r"sgguard \| .*assumed-role/NetworkAdmins/alice is authorized", text)
    assert "configuration OK:" in text
    assert "sgguard: exit 0 after" in text
    assert "\033[" not in text, "colours although stdout is not a terminal"
    # The developer's AWS settings did not leak into sgguard.
    assert "AKIAWRONGWRONGWRONG" not in text
    pids = check_clean(text, tmpdir)
    assert len(pids) >= 2, "the demo did not print the PIDs it started: %s" % pids


@case("an interrupted demo (Ctrl-C while sgguard runs) stops everything and exits 1")
def demo_interrupted():
    rc, text, took, tmpdir = run_demo(interrupt_after=" started: ")
    assert rc == 1, "interrupted demo exited %d" % rc
    assert "interrupted" in text
    assert re.search(r"stopped sgguard \(pid \d+, exit 0\)", text), text
    assert re.search(r"stopped the local AWS \(pid \d+, exit 0\)", text), text
    check_clean(text, tmpdir)


@case("a demo stopped with SIGTERM while localaws runs cleans up and exits 1")
def demo_terminated():
    rc, text, took, tmpdir = run_demo(interrupt_after="creating the account",
                                      sig=signal.SIGTERM)
    assert rc == 1, "terminated demo exited %d" % rc
    assert "stopped by SIGTERM" in text
    check_clean(text, tmpdir)


if __name__ == "__main__":
    harness.run()
