#!/usr/bin/env python3
"""Broken storage: the state directory read-only, or its disk full.

As root, chmod does not stop writes, so the test makes file systems that
really refuse: in a private mount namespace (the host's mounts are never
touched) a small tmpfs is mounted over a temporary directory, then either
remounted read-only (EROFS) or filled up to its size (ENOSPC).

What must hold (/tmp/sgguard-decisions.md, "State"): a state that cannot be
written is reported clearly (error logged once per outage, naming the file
and the cause), the daemon keeps protecting from memory (the rule is still
reverted, the notification still sent, an event is acted on once even
though it could not be remembered on disk), and it keeps trying: once the
file system takes writes again, state.json appears or is updated without a
restart. A failed write never damages the state.json already there.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import harness
from harness import case

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "localaws"))
import client as localaws  # noqa: E402

REGION = localaws.REGION
MALLORY = {"access_key_id": "AKIASTORAGEMALLORY01",
           "secret_access_key": "storage-mallory-secret-0123456789ab"}
W = {}


def world():
    if W:
        return W
    aws = localaws.start()
    aws.config(throttle_rps=0)
    aws.register_key(type="IAMUser", name="mallory", **MALLORY)
    W["aws"] = aws
    W["topic"] = aws.client("sns").create_topic(Name="sgguard-storage")["TopicArn"]
    W["vpc"] = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    W["n"] = 0
    return W


def new_group():
    W["n"] += 1
    return W["aws"].client("ec2").create_security_group(
        GroupName="storage-%d" % W["n"], Description="storage test",
        VpcId=W["vpc"])["GroupId"]


def mallory_adds(g, port):
    W["aws"].client("ec2", creds=MALLORY).authorize_security_group_ingress(
        GroupId=g, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                                   "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    for e in reversed(W["aws"].events()):
        r = e["record"] or {}
        if (r.get("eventName") == "AuthorizeSecurityGroupIngress"
                and (r.get("requestParameters") or {}).get("groupId") == g):
            return r["eventID"]
    raise AssertionError("no record")


def open_ports(g):
    return {r.get("FromPort") for r in W["aws"].client("ec2").describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [g]}])["SecurityGroupRules"]
        if not r["IsEgress"]}


def messages_for(g):
    return [m for m in W["aws"].sns_messages(topic=W["topic"]) if g in m["subject"]]


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=30)


class Mount:
    """A tmpfs of its own over a fresh directory (in this mount namespace)."""

    def __init__(self, size):
        self.dir = tempfile.mkdtemp(prefix="sgguard-storage-")
        sh("mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", self.dir)
        self.state = os.path.join(self.dir, "state")
        os.mkdir(self.state, 0o700)

    def readonly(self, on):
        sh("mount", "-o", "remount,%s" % ("ro" if on else "rw"), self.dir)

    def fill(self):
        """Fill the file system; returns the filler's path."""
        path = os.path.join(self.dir, "filler")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for size in (4096, 512, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)
        return path

    def umount(self):
        subprocess.run(["umount", "-l", self.dir], capture_output=True)


class Guard:
    def __init__(self, group, state, restore=False):
        self.group = group
        self.dir = tempfile.mkdtemp(prefix="sgguard-storage-cfg-")
        self.state = state
        self.config = os.path.join(self.dir, "sgguard.ini")
        with open(self.config, "w") as f:
            f.write("[sgguard]\npoll_interval = 5\nlookback = 900\n"
                    "[aws]\nregion = %s\nendpoint_url = %s\n[notify]\ntopic_arn = %s\n"
                    "[group %s]\nallow = tcp 443 0.0.0.0/0\n%s"
                    % (REGION, W["aws"].endpoint, W["topic"], group,
                       "restore = yes\n" if restore else ""))

    def env(self):
        e = {"PATH": os.environ["PATH"], "HOME": self.dir, "SGGUARD_TEST_FAST": "1",
             "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "*"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        return e

    def once(self):
        r = subprocess.run([harness.BIN, "-c", self.config, "--state-dir", self.state,
                            "--once"], capture_output=True, text=True, timeout=120,
                           env=self.env())
        print("# --once exit %d" % r.returncode)
        for ln in r.stderr.splitlines():
            print("#   " + ln)
        return r

    def start(self):
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+")
        self.proc = harness.spawn([harness.BIN, "-c", self.config, "--state-dir",
                                   self.state], stdout=self.log, stderr=subprocess.STDOUT,
                                  env=self.env())

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def wait_log(self, pattern, timeout=30, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.output())) >= count:
                return
            assert self.proc.poll() is None, "the daemon died:\n" + self.output()
            time.sleep(0.1)
        raise AssertionError("no log line matching %r in %ds:\n%s"
                             % (pattern, timeout, self.output()))

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(15)
        out = self.output()
        print("# daemon exit %d" % rc)
        for ln in out.splitlines():
            print("#   " + ln)
        return rc, out


def state_json(state):
    with open(os.path.join(state, "state.json")) as f:
        return json.load(f)


def no_crash(rc, text):
    assert rc in (0, 1), rc
    for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert m not in text, text


@case("read-only state directory, --once: clear error, the rule is still reverted and notified, exit 1")
def ro_once():
    world()
    m = Mount("1m")
    try:
        g = new_group()
        mallory_adds(g, 22)
        m.readonly(True)
        # restore = yes: baselines to save as well.
        r = Guard(g, m.state, restore=True).once()
        no_crash(r.returncode, r.stderr)
        assert r.returncode == 1, "state not saved: --once must exit 1"
        assert 22 not in open_ports(g), "not reverted"
        assert len(messages_for(g)) == 1, messages_for(g)
        # (The last line of an exit 1 names the cause again: not counted.)
        errs = [ln for ln in r.stderr.splitlines()
                if "cannot save state" in ln and "--once: not everything" not in ln]
        assert errs, r.stderr
        assert re.search(r"error: cannot save state: .*%s.*Read-only file system" %
                         re.escape(m.state), errs[0]), errs[0]
        assert len(errs) == 1, "said more than once: %r" % errs
        berrs = [ln for ln in r.stderr.splitlines()
                 if "cannot save the baselines" in ln and "--once: not everything" not in ln]
        assert len(berrs) == 1, "baselines: said %d times" % len(berrs)
        assert re.search(r"error: --once: not everything could be done: cannot save state",
                         r.stderr.splitlines()[-1]), r.stderr
        assert not os.path.exists(os.path.join(m.state, "state.json"))
    finally:
        m.umount()


@case("read-only state directory, daemon: protects from memory, acts once; writable again -> state.json appears without restart")
def ro_daemon():
    m = Mount("1m")
    try:
        g = new_group()
        m.readonly(True)
        guard = Guard(g, m.state, restore=True)
        guard.start()
        guard.wait_log(r"started")
        ev1 = mallory_adds(g, 22)
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=20)
        guard.wait_log(r"notification published", timeout=10)
        ev2 = mallory_adds(g, 23)
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=20, count=2)
        time.sleep(6)                 # another cycle with both events in its window
        out = guard.output()
        assert open_ports(g) == set(), open_ports(g)
        msgs = messages_for(g)
        assert len(msgs) == 2, "each event once, from memory: %r" % [
            x["subject"] for x in msgs]
        assert len(re.findall(r"cannot save state", out)) == 1, (
            "the error is said once per outage:\n" + out)
        assert len(re.findall(r"cannot save the baselines", out)) == 1, (
            "the baselines error is said once per outage:\n" + out)
        assert re.search(r"error: cannot save state: .*Read-only file system", out), out
        assert not os.path.exists(os.path.join(m.state, "state.json"))
        # The file system takes writes again: saved at the next cycle.
        m.readonly(False)
        guard.wait_log(r"state saved again", timeout=15)
        guard.wait_log(r"baselines saved again", timeout=15)
        st = state_json(m.state)
        assert ev1 in st["handled"] and ev2 in st["handled"], st
        assert st["pending"] == [], st
        rc, out = guard.stop()
        no_crash(rc, out)
        assert rc == 0, rc
        # What was saved is what a restart needs: nothing is done twice.
        r = guard.once()
        assert r.returncode == 0, r.returncode
        assert len(messages_for(g)) == 2
    finally:
        m.umount()


@case("full disk, daemon: ENOSPC reported, old state.json intact, protection goes on; space back -> state.json updated without restart")
def full_daemon():
    # Small, yet room for a filler file: recent kernels charge each tmpfs
    # inode against the size too.
    m = Mount("64k")
    try:
        g = new_group()
        guard = Guard(g, m.state)
        guard.start()
        guard.wait_log(r"started")
        ev1 = mallory_adds(g, 22)
        guard.wait_log(r"notification published", timeout=20)
        time.sleep(0.5)
        before = state_json(m.state)
        assert ev1 in before["handled"], before
        with open(os.path.join(m.state, "state.json")) as f:
            before_text = f.read()
        filler = m.fill()
        ev2 = mallory_adds(g, 23)
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=20, count=2)
        guard.wait_log(r"cannot save state", timeout=10)
        time.sleep(6)                 # one more cycle, still full
        out = guard.output()
        assert open_ports(g) == set(), open_ports(g)
        assert len(messages_for(g)) == 2, [x["subject"] for x in messages_for(g)]
        assert re.search(r"error: cannot save state: .*No space left on device", out), out
        assert len(re.findall(r"cannot save state", out)) == 1, out
        with open(os.path.join(m.state, "state.json")) as f:
            assert f.read() == before_text, "a failed write damaged state.json"
        assert not os.path.exists(os.path.join(m.state, ".state.json.tmp")), (
            "the temporary file was left behind on a full disk")
        os.unlink(filler)
        guard.wait_log(r"state saved again", timeout=15)
        st = state_json(m.state)
        assert ev2 in st["handled"] and st["pending"] == [], st
        rc, out = guard.stop()
        no_crash(rc, out)
        assert rc == 0
    finally:
        m.umount()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        harness.run()
    if os.geteuid() != 0:
        harness.run([("broken storage", lambda: harness.skip(
            "needs root for a private mount namespace and tmpfs mounts"))])
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), "--inside"], env=os.environ, timeout=600)
    if r.returncode not in (0, 1):
        harness.run([("broken storage", lambda: harness.skip(
            "unshare --mount failed (exit %d): no private mount namespace here"
            % r.returncode))])
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
