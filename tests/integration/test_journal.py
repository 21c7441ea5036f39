#!/usr/bin/env python3
"""Under systemd (JOURNAL_STREAM names stderr) every message goes to the
journal with structured fields; otherwise one line on stderr.

The test speaks the journal's native protocol itself: in a private mount
namespace (so the host's /run is untouched) it binds a datagram socket at
/run/systemd/journal/socket, runs the real binary with stderr on a file
whose device:inode is in JOURNAL_STREAM, and decodes what arrives.
With no socket there, or a stale one, the same lines must reach stderr.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile

import harness
from harness import case

JOURNAL_SOCKET = "/run/systemd/journal/socket"
MSGID_CONFIG_ERROR = "6a1f3b0e2c9d4e51a7f08b3c5d2e9f13"
MSGID_CREDENTIALS = "6a1f3b0e2c9d4e51a7f08b3c5d2e9f32"


def decode(datagram):
    """The native protocol: KEY=value\\n, or KEY\\n<le64 length><bytes>\\n."""
    fields, i = {}, 0
    while i < len(datagram):
        nl = datagram.index(b"\n", i)
        line = datagram[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", datagram[nl + 1:nl + 9])
            v = datagram[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields.setdefault(k.decode(), []).append(v.decode("utf-8", "replace"))
    return fields


def run_under_journal(args, env_extra=None):
    """Run sgguard as systemd would; returns (datagrams, stderr text, rc)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(JOURNAL_SOCKET)
    sock.settimeout(0.2)
    with tempfile.TemporaryFile() as err:
        st = os.fstat(err.fileno())
        env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent",
               "JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino),
               "AWS_EC2_METADATA_DISABLED": "true"}
        env.update(env_extra or {})
        rc = subprocess.run([harness.BIN, *args], stderr=err, stdout=subprocess.DEVNULL,
                            env=env, timeout=60).returncode
        err.seek(0)
        text = err.read().decode()
    out = []
    while True:
        try:
            out.append(decode(sock.recv(65536)))
        except socket.timeout:
            break
    sock.close()
    os.unlink(JOURNAL_SOCKET)
    return out, text, rc


def run_without_journal(args, stale):
    """As run_under_journal, but nothing listens at the journal socket:
    it is absent, or (stale) a socket file nobody is bound to any more.
    Returns (stderr text, rc)."""
    if stale:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(JOURNAL_SOCKET)
        sock.close()
    try:
        assert os.path.exists(JOURNAL_SOCKET) == stale
        with tempfile.TemporaryFile() as err:
            st = os.fstat(err.fileno())
            env = {"PATH": os.environ["PATH"],
                   "JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}
            rc = subprocess.run([harness.BIN, *args], stderr=err,
                                stdout=subprocess.DEVNULL, env=env,
                                timeout=60).returncode
            err.seek(0)
            return err.read().decode(), rc
    finally:
        if stale:
            os.unlink(JOURNAL_SOCKET)


def config(text):
    fd, path = tempfile.mkstemp(suffix=".ini")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


@case("a config error reaches the journal with PRIORITY, MESSAGE_ID and the identifier")
def config_error():
    path = config("[sgguard]\nmode = sometimes\n[group sg-12345678]\n")
    entries, stderr, rc = run_under_journal(["-t", "-c", path])
    assert rc == 78, rc
    assert stderr == "", "nothing on stderr under the journal: %r" % stderr
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["PRIORITY"] == ["3"], e
    assert e["SYSLOG_IDENTIFIER"] == ["sgguard"], e
    assert e["MESSAGE_ID"] == [MSGID_CONFIG_ERROR], e
    assert e["MESSAGE"][0].startswith(path + ":2: "), e["MESSAGE"]


@case("no credentials: one error entry with its MESSAGE_ID, secrets never in any field")
def credentials_error():
    path = config("[aws]\nendpoint_url = http://127.0.0.1:9\n"
                  "[group sg-12345678]\nallow = tcp 443 0.0.0.0/0\n")
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY-sgguard-test"
    d = tempfile.mkdtemp()
    entries, stderr, rc = run_under_journal(
        ["--once", "-c", path, "--state-dir", d, "--log-level", "debug"],
        # A secret without its key id: an error, and the secret must not leak.
        {"AWS_SECRET_ACCESS_KEY": secret})
    assert rc == 1, rc
    errs = [e for e in entries if e.get("MESSAGE_ID") == [MSGID_CREDENTIALS]]
    assert len(errs) == 1, entries
    assert errs[0]["PRIORITY"] == ["3"]
    assert "credentials" in errs[0]["MESSAGE"][0].lower()
    for e in entries:
        for vals in e.values():
            for v in vals:
                assert secret not in v, e


@case("outside the journal (JOURNAL_STREAM names another file) lines go to stderr")
def not_journal():
    path = config("[sgguard]\nmode = sometimes\n[group sg-12345678]\n")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(JOURNAL_SOCKET)
    sock.settimeout(0.3)
    try:
        r = subprocess.run([harness.BIN, "-t", "-c", path], capture_output=True, text=True,
                           env={"PATH": os.environ["PATH"], "JOURNAL_STREAM": "1:2"},
                           timeout=30)
        try:
            sock.recv(65536)
            raise AssertionError("a datagram reached the journal")
        except socket.timeout:
            pass
    finally:
        sock.close()
        os.unlink(JOURNAL_SOCKET)
    assert r.returncode == 78
    assert r.stderr.startswith("sgguard[%s" % "") and ": error: " + path + ":2: " in r.stderr


def config_error_on_stderr(stale):
    """A broken file with no journal to take its error: the one line is on
    stderr, in the stderr form."""
    path = config("[sgguard]\nmode = sometimes\n[group sg-12345678]\n")
    stderr, rc = run_without_journal(["-t", "-c", path], stale=stale)
    assert rc == 78, rc
    assert re.fullmatch(r"sgguard\[\d+\]: error: %s:2: .+\n" % re.escape(path),
                        stderr), stderr


@case("JOURNAL_STREAM names stderr but no journal socket exists: the error still reaches stderr")
def journal_absent():
    # libsystemd drops a message silently when the socket is missing.
    config_error_on_stderr(stale=False)
    stderr, rc = run_without_journal(["--frobnicate"], stale=False)
    assert rc == 64, rc
    assert re.fullmatch(r"sgguard\[\d+\]: error: .*--frobnicate.*\n", stderr), stderr


@case("JOURNAL_STREAM names stderr, the journal socket is stale: the error reaches stderr")
def journal_stale():
    config_error_on_stderr(stale=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
        harness.run()
    if os.geteuid() != 0:
        harness.run([("journal protocol", lambda: harness.skip(
            "needs root for a private mount namespace"))])
    # A private mount namespace with its own /run: the host's journal
    # socket and /run are never touched.
    inner = "mount -t tmpfs tmpfs /run && exec %s %s --inside" % (
        sys.executable, os.path.abspath(__file__))
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner],
                       env=os.environ, timeout=300)
    if r.returncode != 0 and r.returncode != 1:
        # unshare itself failed (no privilege): say so instead of passing.
        harness.run([("journal protocol", lambda: harness.skip(
            "unshare --mount failed (exit %d): no private mount namespace here"
            % r.returncode))])
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
