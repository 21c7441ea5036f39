#!/usr/bin/env python3
"""systemd/sgguard.service: installed as `make install` installs it, checked
with systemd-analyze (verify, security exposure <= 1.2), and held against the
daemon it starts, so that the unit and the code do not drift apart:
Type=notify and WatchdogSec= need READY=1 and WATCHDOG=1, reload needs
SIGHUP, RestartPreventExitStatus=78 needs exit 78 for configuration errors.
The sd_notify protocol is checked at run time too, through a notify socket
of our own. (tests/systemd/run runs the unit under a real systemd.)
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import case

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "localaws"))
import client as localaws  # noqa: E402

UNIT_SRC = os.path.join(harness.ROOT, "systemd", "sgguard.service")
MAX_EXPOSURE = 1.2


def read(*parts):
    with open(os.path.join(harness.ROOT, *parts)) as f:
        return f.read()


def need_analyze():
    if shutil.which("systemd-analyze") is None:
        harness.skip("systemd-analyze not installed (apt-get install systemd)")


def installed_unit():
    """The unit as `make install` writes it, with @sbindir@ = the directory
    of the binary under test and @sysconfdir@ = a temporary directory: the
    substitution is the Makefile's own (taken from `make -n install`)."""
    tmp = tempfile.mkdtemp(prefix="sgguard-unit-")
    destdir = os.path.join(tmp, "root")
    sbindir = os.path.dirname(os.path.abspath(harness.BIN))
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(
        ["make", "-s", "-n", "-C", harness.ROOT, "install", "DESTDIR=" + destdir,
         "sbindir=" + sbindir, "sysconfdir=" + tmp, "unitdir=/unit"],
        capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, "make -n install: %s" % r.stderr
    # Recipe lines continued with a backslash come out as they are written.
    lines = [l for l in r.stdout.replace("\\\n", " ").splitlines() if "@sbindir@" in l]
    assert len(lines) == 1, "no single sed line for the unit in make -n install:\n" + r.stdout
    os.makedirs(os.path.join(destdir, "unit"))
    r = subprocess.run(["sh", "-c", lines[0]], cwd=harness.ROOT, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, "%s: %s" % (lines[0], r.stderr)
    path = os.path.join(destdir, "unit", "sgguard.service")
    with open(path) as f:
        text = f.read()
    assert "@" not in re.sub(r"@[a-z-]+\b(?!@)", "", text), "unsubstituted @...@ left"
    return path, text, sbindir, tmp


def parse_unit(text):
    """{section: {key: [values in order]}}; '#'/';' comments, no continuations."""
    out, sec = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            sec = out.setdefault(line.strip("[]"), {})
            continue
        k, _, v = line.partition("=")
        sec.setdefault(k.strip(), []).append(v.strip())
    return out


def timespan(v):
    """systemd time span ("2min", "90s", "1min 30s", "500ms") in seconds."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "sec": 1, "m": 60, "min": 60,
             "h": 3600, "hr": 3600, "d": 86400}
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)\s*([a-z]*)", v):
        total += float(num) * units[unit or "s"]
    return total


def unit():
    return parse_unit(read("systemd", "sgguard.service"))


def one(svc, key):
    vals = svc.get(key)
    assert vals, "%s= is not set" % key
    return vals[-1]


def c_define(name, *files):
    for f in files:
        m = re.search(r"#define\s+%s\s+(.+)" % name, read(*f.split("/")))
        if m:
            return m.group(1).strip().strip('"')
    raise AssertionError("#define %s not found in %s" % (name, files))


@case("the unit, installed with make install's substitution, passes systemd-analyze verify")
def _():
    need_analyze()
    path, text, sbindir, _ = installed_unit()
    assert "ExecStart=%s/sgguard -c " % sbindir in text, text
    # Documentation= pages are checked in the next case.
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                       capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and out == "", "systemd-analyze verify: rc %d\n%s" % (
        r.returncode, out)


@case("Documentation= names man pages that exist: verify finds docs/sgguard.8 and docs/sgguard.ini.5")
def _():
    need_analyze()
    pages = {"man8": "sgguard.8", "man5": "sgguard.ini.5"}
    for page in pages.values():
        p = os.path.join(harness.ROOT, "docs", page)
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            harness.skip("docs/%s not written yet" % page)
    if shutil.which("man") is None:
        harness.skip("man not installed")
    path, _, _, tmp = installed_unit()
    man = os.path.join(tmp, "man")
    for sec, page in pages.items():
        os.makedirs(os.path.join(man, sec), exist_ok=True)
        shutil.copy(os.path.join(harness.ROOT, "docs", page), os.path.join(man, sec, page))
    env = dict(os.environ, MANPATH=man)
    r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                       timeout=60, env=env)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and out == "", "systemd-analyze verify: rc %d\n%s" % (
        r.returncode, out)


@case("systemd-analyze security --offline=true: exposure <= 1.2")
def _():
    need_analyze()
    path, _, _, _ = installed_unit()
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                        "--threshold=%d" % round(MAX_EXPOSURE * 10), path],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for sgguard\.service: ([0-9.]+)", r.stdout)
    assert m, "no overall exposure in:\n" + r.stdout + r.stderr
    print("# exposure %s" % m.group(1))
    missing = [l for l in r.stdout.splitlines() if l.startswith("✗")]
    assert float(m.group(1)) <= MAX_EXPOSURE and r.returncode == 0, (
        "exposure %s > %s (rc %d):\n%s" % (m.group(1), MAX_EXPOSURE, r.returncode,
                                          "\n".join(missing)))


@case("the unit: Type=notify, reload, restart policy, watchdog, state directory")
def _():
    u = unit()
    s = u["Service"]
    assert one(s, "Type") == "notify"
    assert one(s, "ExecStart") == "@sbindir@/sgguard -c @sysconfdir@/sgguard.ini"
    assert one(s, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one(s, "Restart") == "on-failure"
    assert timespan(one(s, "WatchdogSec")) > 0
    assert one(s, "DynamicUser") == "yes"
    assert one(s, "StateDirectory") == "sgguard"
    assert one(s, "StateDirectoryMode") == "0700"
    assert one(s, "UMask") == "0077"
    assert any(v.startswith("-/etc/default/sgguard") for v in s.get("EnvironmentFile", []))
    assert u["Unit"]["Documentation"] == ["man:sgguard(8) man:sgguard.ini(5)"]
    assert "network-online.target" in " ".join(u["Unit"]["After"])
    assert "network-online.target" in " ".join(u["Unit"]["Wants"])
    assert u["Install"]["WantedBy"] == ["multi-user.target"]


@case("the unit's sandbox: no capabilities, read-only system, private /tmp, syscall filter")
def _():
    s = unit()["Service"]
    want = {
        "CapabilityBoundingSet": "", "AmbientCapabilities": "", "NoNewPrivileges": "yes",
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "PrivateUsers": "yes", "PrivateMounts": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
        "ProtectHostname": "yes", "ProtectProc": "invisible", "ProcSubset": "pid",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "SystemCallArchitectures": "native", "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes", "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
        "RestrictSUIDSGID": "yes", "RemoveIPC": "yes", "DevicePolicy": "closed",
        "KeyringMode": "private",
    }
    bad = ["%s=%r, want %r" % (k, s.get(k, [None])[-1], v) for k, v in want.items()
           if s.get(k, [None])[-1] != v]
    assert not bad, "\n".join(bad)
    assert s["SystemCallFilter"] == ["@system-service", "~@privileged @resources"], \
        s["SystemCallFilter"]
    # It must reach AWS: no IP address deny list, no private network.
    assert "IPAddressDeny" not in s and "PrivateNetwork" not in s


@case("code and unit agree: notify messages, SIGHUP, exit 78, state dir, timeouts")
def _():
    s = unit()["Service"]
    daemon = read("src", "daemon.c")
    # Type=notify, WatchdogSec=, reload and stop need these messages.
    for msg in ("READY=1", "STATUS=", "WATCHDOG=1", "RELOADING=1", "STOPPING=1"):
        assert '"%s' % msg in daemon, "src/daemon.c sends no %s" % msg
    assert "sd_watchdog_enabled" in daemon
    assert "SIGHUP" in daemon and "SIGTERM" in daemon
    # Type=notify: the process itself is the service; it never forks away.
    for f in sorted(os.listdir(os.path.join(harness.ROOT, "src"))):
        if f.endswith(".c"):
            assert not re.search(r"\b(fork|daemon)\s*\(", read("src", f)), \
                "src/%s forks: Type=notify wants the process that systemd started" % f
    # RestartPreventExitStatus= is the configuration error status.
    config_exit = int(c_define("SG_EXIT_CONFIG", "include/daemon.h"))
    assert config_exit == 78
    assert str(config_exit) in one(s, "RestartPreventExitStatus").split()
    # StateDirectory=sgguard is where the daemon looks without systemd too.
    assert "STATE_DIRECTORY" in daemon
    assert c_define("DEFAULT_STATE_DIR", "src/daemon.c") == "/var/lib/" + one(s, "StateDirectory")
    # @sysconfdir@/sgguard.ini is the default config path (sysconfdir /etc).
    assert c_define("DEFAULT_CONFIG", "src/main.c") == "/etc/sgguard.ini"
    # The watchdog must outlast the longest AWS call the loop waits on
    # without pinging (one call with all its retries).
    longest = int(c_define("SG_AWS_MAX_TOTAL_MS", "include/aws.h")) / 1000
    assert timespan(one(s, "WatchdogSec")) > longest, (
        "WatchdogSec=%s is not longer than one AWS call (%g s)" % (
            one(s, "WatchdogSec"), longest))
    # TimeoutStopSec= leaves room for the stop grace of the call in flight.
    grace = int(c_define("STOP_GRACE_MS", "src/daemon.c")) / 1000
    assert timespan(one(s, "TimeoutStopSec")) >= grace + 10


class NotifySocket:
    """An sd_notify socket like PID 1's: every datagram with its time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []          # (monotonic time, "KEY=VALUE")
        self.lock = threading.Lock()
        self.done = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            now = time.monotonic()
            with self.lock:
                for line in data.decode("utf-8", "replace").split("\n"):
                    if line:
                        self.msgs.append((now, line))

    def close(self):
        self.done = True
        self.t.join(2)
        self.sock.close()

    def times(self, key):
        with self.lock:
            return [t for t, m in self.msgs if m.split("=", 1)[0] == key]

    def wait(self, line, after=0.0, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for t, m in self.msgs:
                    if t >= after and (m == line or m.startswith(line)):
                        return t, m
            time.sleep(0.05)
        with self.lock:
            got = [m for _, m in self.msgs]
        raise AssertionError("no %r within %.0fs; got %r" % (line, timeout, got[-20:]))


@case("sd_notify at run time: READY=1, STATUS=, WATCHDOG=1 twice per period, RELOADING=1 on SIGHUP, STOPPING=1 and exit 0 on SIGTERM")
def _():
    aws = localaws.start()
    ec2 = aws.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="unit-notify", Description="x",
                                      VpcId=vpc)["GroupId"]
    tmp = tempfile.mkdtemp(prefix="sgguard-notify-")
    config = os.path.join(tmp, "sgguard.ini")
    with open(config, "w") as f:
        f.write("[sgguard]\npoll_interval = 5\n[aws]\nregion = us-east-1\n"
                "endpoint_url = %s\n[group %s]\nallow = tcp 443 0.0.0.0/0\n"
                % (aws.endpoint, group))
    state = os.path.join(tmp, "state")
    os.mkdir(state, 0o700)
    ns = NotifySocket(os.path.join(tmp, "notify"))
    period = 4.0
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in (
               "JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
               "STATE_DIRECTORY", "HOME")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", HOME=tmp,
               AWS_EC2_METADATA_DISABLED="true", NOTIFY_SOCKET=ns.sock.getsockname(),
               WATCHDOG_USEC=str(int(period * 1e6)), STATE_DIRECTORY=state)
    log = open(os.path.join(tmp, "stderr"), "w+")
    p = harness.spawn([harness.BIN, "-c", config], env=env, stderr=log)
    try:
        t_ready, _ = ns.wait("READY=1")
        ns.wait("STATUS=guarding: 1 group in 1 region")
        # Through a poll cycle (poll_interval 5) and the sleep after it.
        time.sleep(2 * period + 1)
        if p.poll() is not None:
            log.seek(0)
            raise AssertionError("sgguard exited (%s) during its first cycles:\n%s"
                                 % (p.returncode, log.read()))
        ns.wait("STATUS=guarding: 1 group in 1 region; last poll ", after=t_ready)
        pings = [t for t in ns.times("WATCHDOG") if t >= t_ready]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert len(pings) >= 4, "only %d WATCHDOG=1 in %.0fs" % (len(pings), 2 * period + 1)
        # Twice per period while sleeping; a cycle waits at most 1 s at a time.
        assert max(gaps) <= period / 2 + 1.0, "WATCHDOG=1 gaps %s (period %gs)" % (
            ["%.2f" % g for g in gaps], period)
        assert os.path.exists(os.path.join(state, "state.json")), "no state.json in $STATE_DIRECTORY"

        t_hup = time.monotonic()
        p.send_signal(__import__("signal").SIGHUP)
        _, m = ns.wait("RELOADING=1", after=t_hup)
        _, mono = ns.wait("MONOTONIC_USEC=", after=t_hup)
        assert int(mono.split("=", 1)[1]) > 0
        ns.wait("READY=1", after=t_hup)

        t_term = time.monotonic()
        p.send_signal(__import__("signal").SIGTERM)
        rc = p.wait(15)
        ns.wait("STOPPING=1", after=t_term, timeout=1)
        log.seek(0)
        assert rc == 0, "exit %d after SIGTERM:\n%s" % (rc, log.read())
        assert time.monotonic() - t_term < 10
    finally:
        harness.stop(p)
        ns.close()
        aws.stop()


if __name__ == "__main__":
    harness.run()
