#!/usr/bin/env python3
"""The command line of the contract, through the real binary: exit codes
0/64/78, one clear line on stderr for every failure, --version, --help."""
import os
import re
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


@case("an unknown option exits 64 with one line naming it")
def unknown_option():
    r = sgguard("--frobnicate")
    assert r.returncode == 64, r
    assert "--frobnicate" in one_line(r.stderr)
    r = sgguard("-x")
    assert r.returncode == 64
    assert "-x" in one_line(r.stderr)


@case("a missing option value exits 64")
def missing_value():
    for args in (("-c",), ("--state-dir",), ("--log-level",)):
        r = sgguard(*args)
        assert r.returncode == 64, (args, r)
        one_line(r.stderr)


@case("a bad --log-level exits 64 naming the valid levels")
def bad_level():
    r = sgguard("--log-level", "loud")
    assert r.returncode == 64
    line = one_line(r.stderr)
    assert "loud" in line and "debug" in line


@case("a stray argument exits 64")
def stray_argument():
    r = sgguard("extra")
    assert r.returncode == 64
    assert "extra" in one_line(r.stderr)


@case("a missing config file exits 78 with one line naming the file")
def missing_config():
    r = sgguard("-t", "-c", "/nonexistent/sgguard.ini")
    assert r.returncode == 78, r
    line = one_line(r.stderr)
    assert "/nonexistent/sgguard.ini" in line, line
    assert re.match(r"sgguard\[\d+\]: error: ", line), line


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
        line = one_line(r.stderr)
        assert (path + ":2:") in line, line
    finally:
        os.unlink(path)


@case("stderr lines read 'sgguard[PID]: LEVEL: message' outside the journal")
def stderr_format():
    # A JOURNAL_STREAM that names another file is not the journal.
    r = sgguard("-t", "-c", "/nonexistent.ini",
                env={"JOURNAL_STREAM": "1:1"})
    assert re.fullmatch(r"sgguard\[\d+\]: error: .+\n", r.stderr), r.stderr


if __name__ == "__main__":
    harness.run()
