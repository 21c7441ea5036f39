#!/usr/bin/env python3
"""The command line of the contract, through the real binary: exit codes
0/64/78, one clear line on stderr for every failure, --version, --help."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import harness
from harness import case

GOOD = """[sgguard]
mode = enforce
[notify]
topic_arn = arn:aws:sns:us-east-1:123456789012:sgguard-alerts
[group sg-0123456789abcdef0]
allow = tcp 443 0.0.0.0/0
"""


def sgguard(*args, env=None):
    e = {"PATH": os.environ["PATH"]}
    e.update(env or {})
    return subprocess.run([harness.BIN, *args], capture_output=True,
                          text=True, timeout=30, env=e)


def one_line(text):
    lines = text.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0], "expected one line, got %r" % text
    return lines[0]


def error_line(text):
    """The one line of a failure, in the contracted stderr form."""
    line = one_line(text)
    assert re.fullmatch(r"sgguard\[\d+\]: error: \S.*", line), line
    return line


def write_config(text):
    fd, path = tempfile.mkstemp(suffix=".ini")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


@case("--version and -V print 'sgguard VERSION' and exit 0")
def version():
    for flag in ("--version", "-V"):
        r = sgguard(flag)
        assert r.returncode == 0, r
        assert re.fullmatch(r"sgguard \d+\.\d+\.\d+\n", r.stdout), r.stdout
        assert r.stderr == ""


@case("--help and -h print the usage on stdout and exit 0")
def help_():
    for flag in ("--help", "-h"):
        r = sgguard(flag)
        assert r.returncode == 0
        for opt in ("--config", "--once", "--dry-run", "--state-dir",
                    "--log-level", "--check-config", "--version", "--help"):
            assert opt in r.stdout, opt


@case("an unknown option exits 64 with one 'sgguard[PID]: error:' line naming it")
def unknown_option():
    r = sgguard("--frobnicate")
    assert r.returncode == 64, r
    assert "--frobnicate" in error_line(r.stderr)
    r = sgguard("-x")
    assert r.returncode == 64
    assert "-x" in error_line(r.stderr)
    # A value given to an option that takes none: named as typed.
    for arg in ("--once=1", "--dry-run=yes", "--check-config=1", "--version=1",
                "--help=x"):
        r = sgguard(arg)
        assert r.returncode == 64, (arg, r)
        assert "option '%s' takes no value" % arg.split("=")[0] in \
            error_line(r.stderr), (arg, r.stderr)


@case("a missing option value exits 64 with one 'sgguard[PID]: error:' line")
def missing_value():
    for args in (("-c",), ("--state-dir",), ("--log-level",)):
        r = sgguard(*args)
        assert r.returncode == 64, (args, r)
        assert args[0] in error_line(r.stderr), (args, r.stderr)
    r = sgguard("--state-dir", "")
    assert r.returncode == 64, r
    assert "--state-dir" in error_line(r.stderr)
    r = sgguard("-c", "")
    assert r.returncode == 64, r
    assert "-c/--config needs a file name" in error_line(r.stderr), r.stderr
    # A relative directory, as the file's state_dir: refused.
    r = sgguard("-t", "--state-dir", "relative/state")
    assert r.returncode == 64, r
    assert '--state-dir needs an absolute path, not "relative/state"' in \
        error_line(r.stderr), r.stderr


@case("a bad --log-level exits 64 naming the valid levels")
def bad_level():
    r = sgguard("--log-level", "loud")
    assert r.returncode == 64
    line = error_line(r.stderr)
    assert "loud" in line and "debug" in line


@case("a stray argument exits 64")
def stray_argument():
    r = sgguard("extra")
    assert r.returncode == 64
    assert "extra" in error_line(r.stderr)


@case("-t with --once exits 64 with one line naming both")
def check_with_once():
    r = sgguard("-t", "--once", "-c", "/nonexistent/sgguard.ini")
    assert r.returncode == 64, r
    line = error_line(r.stderr)
    assert "--check-config" in line and "--once" in line, line


@case("a missing config file exits 78 with one line naming the file")
def missing_config():
    r = sgguard("-t", "-c", "/nonexistent/sgguard.ini")
    assert r.returncode == 78, r
    line = error_line(r.stderr)
    assert "/nonexistent/sgguard.ini" in line, line


@case("-t on a good config prints a summary and exits 0, without network")
def check_good():
    path = write_config(GOOD)
    try:
        # Endpoints point at a closed port: -t must not touch them.
        r = sgguard("-t", "-c", path,
                    env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
        assert r.returncode == 0, r
        assert "sg-0123456789abcdef0" in r.stdout
        assert r.stderr == ""
        r = sgguard("--check-config", "--config", path)
        assert r.returncode == 0, r
    finally:
        os.unlink(path)


@case("-t on a bad config exits 78 with FILE:LINE: message")
def check_bad():
    path = write_config(GOOD.replace("mode = enforce", "mode = maybe"))
    try:
        r = sgguard("-t", "-c", path)
        assert r.returncode == 78, r
        line = error_line(r.stderr)
        assert (path + ":2:") in line, line
    finally:
        os.unlink(path)


@case("-t --dry-run reports mode audit because of --dry-run, not the file's enforce")
def check_dry_run():
    path = write_config(GOOD)
    try:
        r = sgguard("-t", "-c", path)
        assert r.returncode == 0, r
        assert re.search(r"^mode: enforce;", r.stdout, re.M), r.stdout
        for args in (("-t", "--dry-run"), ("--dry-run", "--check-config")):
            r = sgguard(*args, "-c", path)
            assert r.returncode == 0, (args, r)
            mode = [ln for ln in r.stdout.splitlines() if ln.startswith("mode: ")]
            assert len(mode) == 1, r.stdout
            assert mode[0].startswith("mode: audit (--dry-run"), mode
            assert "enforce" not in mode[0], mode
        # A file that already says audit: still audit, still one line.
        audit = write_config(GOOD.replace("mode = enforce", "mode = audit"))
        try:
            r = sgguard("-t", "--dry-run", "-c", audit)
            assert r.returncode == 0, r
            assert re.search(r"^mode: audit \(", r.stdout, re.M), r.stdout
        finally:
            os.unlink(audit)
    finally:
        os.unlink(path)


@case("-t stays one screen with 101 groups; --log-level debug lists them all")
def check_one_screen():
    groups = "".join("[group sg-%08x]\nallow = tcp 443 0.0.0.0/0\n" % (0x10000000 + i)
                     for i in range(101))
    path = write_config("[aws]\nregion = us-east-1\n" + groups)
    try:
        r = sgguard("-t", "-c", path)
        assert r.returncode == 0, r
        lines = r.stdout.splitlines()
        assert len(lines) <= 24, "%d lines:\n%s" % (len(lines), r.stdout)
        assert "groups: 101 in 1 region" in lines, lines
        assert "  ... and 91 more (all of them: sgguard -t --log-level debug)" in lines, lines
        r = sgguard("-t", "--log-level", "debug", "-c", path)
        assert r.returncode == 0, r
        assert sum(1 for ln in r.stdout.splitlines() if ln.startswith("  sg-")) == 101, r.stdout
        # The command line wins over the file in the summary too.
        assert "log_level: debug" in r.stdout.splitlines(), r.stdout
        r = sgguard("-t", "--state-dir", "/srv/sgguard-state", "-c", path)
        assert "state_dir: /srv/sgguard-state" in r.stdout.splitlines(), r.stdout
    finally:
        os.unlink(path)


@case("stderr lines read 'sgguard[PID]: LEVEL: message' outside the journal")
def stderr_format():
    # A JOURNAL_STREAM that names another file is not the journal.
    r = sgguard("-t", "-c", "/nonexistent.ini",
                env={"JOURNAL_STREAM": "1:1"})
    assert re.fullmatch(r"sgguard\[\d+\]: error: .+\n", r.stderr), r.stderr


def run_journal_stream(args, env):
    """Run with stderr on a file whose device:inode is in JOURNAL_STREAM,
    as systemd would; returns (exit status, what reached stderr)."""
    with tempfile.TemporaryFile() as err:
        st = os.fstat(err.fileno())
        e = {"PATH": os.environ["PATH"],
             "JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}
        e.update(env)
        rc = subprocess.run([harness.BIN, *args], stderr=err,
                            stdout=subprocess.DEVNULL, env=e,
                            timeout=30).returncode
        err.seek(0)
        return rc, err.read().decode()


@case("JOURNAL_STREAM names stderr but the journal socket is absent: the line reaches stderr")
def journal_absent():
    # The knob moves the socket sgguard checks to a path that cannot
    # exist, whatever this host's /run holds.
    d = tempfile.mkdtemp(prefix="sgguard-nojournal-")
    try:
        for sock in (os.path.join(d, "absent", "socket"), os.path.join(d, "file")):
            if sock.endswith("file"):
                open(sock, "w").close()  # not a socket at all
            rc, err = run_journal_stream(
                ["-t", "-c", "/nonexistent/sgguard.ini"],
                {"SGGUARD_TEST_JOURNAL_SOCKET": sock})
            assert rc == 78, (sock, rc, err)
            assert "/nonexistent/sgguard.ini" in error_line(err), (sock, err)
            rc, err = run_journal_stream(
                ["--frobnicate"], {"SGGUARD_TEST_JOURNAL_SOCKET": sock})
            assert rc == 64, (sock, rc, err)
            assert "--frobnicate" in error_line(err), (sock, err)
    finally:
        shutil.rmtree(d)


@case("JOURNAL_STREAM names stderr but nothing listens on the journal socket: the line reaches stderr")
def journal_stale():
    # A socket file left behind by a journald that is gone: connect()
    # is refused.
    d = tempfile.mkdtemp(prefix="sgguard-nojournal-")
    try:
        sock = os.path.join(d, "socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sock)
        s.close()
        assert os.path.exists(sock)
        rc, err = run_journal_stream(["-t", "-c", "/nonexistent/sgguard.ini"],
                                     {"SGGUARD_TEST_JOURNAL_SOCKET": sock})
        assert rc == 78, (rc, err)
        assert "/nonexistent/sgguard.ini" in error_line(err), err
    finally:
        shutil.rmtree(d)


@case("SIGTERM while waiting for credentials at start-up is a stop: exit 0, no error")
def stop_while_waiting_for_credentials():
    path = write_config(GOOD)
    d = tempfile.mkdtemp(prefix="sgguard-nocreds-")
    try:
        env = {"PATH": os.environ["PATH"], "HOME": d, "AWS_EC2_METADATA_DISABLED": "true",
               "SGGUARD_TEST_FAST": "1"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        p = subprocess.Popen([harness.BIN, "-c", path, "--state-dir", os.path.join(d, "s")],
                             stderr=subprocess.PIPE, text=True, env=env)
        try:
            # The first "trying again" line says it is waiting.
            line = p.stderr.readline()
            while line and "trying again" not in line:
                line = p.stderr.readline()
            assert "no AWS credentials" in line, line
            p.send_signal(signal.SIGTERM)
            rest = p.stderr.read()
            rc = p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert rc == 0, (rc, rest)
        assert re.search(r"info: stopped while waiting for AWS credentials", rest), rest
        assert ": error: " not in rest, rest
    finally:
        shutil.rmtree(d)
        os.unlink(path)


if __name__ == "__main__":
    harness.run()
