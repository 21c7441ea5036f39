#!/usr/bin/env python3
"""Clock skew: AWS refuses a signature whose X-Amz-Date is more than 15
minutes off, and sgguard must say why in words an operator acts on.

localaws checks the signature time as AWS does (CloudTrail: 400
InvalidSignatureException "Signature expired: ..." / "Signature not yet
current: ..."; EC2: 400 RequestExpired; SNS: 403 SignatureDoesNotMatch
"Signature expired: ..."). Two ways to get there:

  * the real thing: sgguard runs with a faked clock (libfaketime, from the
    Debian package faketime), 30 minutes ahead or behind. Skipped with the
    reason when libfaketime is not installed. Under the ASan build the
    preload needs ASAN_OPTIONS=verify_asan_link_order=0 (ASan wants to be
    first in the library list; libfaketime only wraps time calls);
  * injected answers (localaws faults) for the revoke and the publish,
    which a skewed clock never reaches because LookupEvents fails first.

Asserted: the error is recognised as clock skew and logged with the hint
"check the system clock (timedatectl)" (and, where the answer had a Date
header, how far off the clock is); the cursor does not move; nothing is
marked handled or lost, so once the clock is right the rule is reverted and
notified; the daemon keeps running at its pace.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import harness
from harness import case

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "localaws"))
import client as localaws  # noqa: E402

REGION = localaws.REGION
MALLORY = {"access_key_id": "AKIACLOCKMALLORY0001",
           "secret_access_key": "clock-mallory-secret-0123456789abcd"}
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1"]
HINT = r"check the system clock \(timedatectl\)"
W = {}


def world():
    if W:
        return W
    aws = localaws.start()
    aws.config(throttle_rps=0)
    aws.register_key(type="IAMUser", name="mallory", **MALLORY)
    W["aws"] = aws
    W["topic"] = aws.client("sns").create_topic(Name="sgguard-clock")["TopicArn"]
    W["vpc"] = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    W["n"] = 0
    return W


def new_group():
    W["n"] += 1
    return W["aws"].client("ec2").create_security_group(
        GroupName="clock-%d" % W["n"], Description="clock test", VpcId=W["vpc"])["GroupId"]


def mallory_adds(g, port=22):
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


def faketime_lib():
    for p in FAKETIME_LIBS:
        if os.path.exists(p):
            return p
    harness.skip("libfaketime not installed (apt-get install faketime): the faked-clock "
                 "cases need it; the injected-answer cases below still run")


def sanitizer_build():
    r = subprocess.run(["ldd", harness.BIN], capture_output=True, text=True)
    return "libasan" in r.stdout


class Guard:
    def __init__(self, group, poll=5, lookback=900):
        self.group = group
        self.dir = tempfile.mkdtemp(prefix="sgguard-clock-")
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "sgguard.ini")
        with open(self.config, "w") as f:
            f.write("[sgguard]\npoll_interval = %d\nlookback = %d\n"
                    "[aws]\nregion = %s\nendpoint_url = %s\n[notify]\ntopic_arn = %s\n"
                    "[group %s]\nallow = tcp 443 0.0.0.0/0\n"
                    % (poll, lookback, REGION, W["aws"].endpoint, W["topic"], group))
        os.makedirs(self.state, mode=0o700)
        self.c0 = int(time.time()) - 60
        with open(self.path, "w") as f:
            json.dump({"version": 1, "cursors": {"default/%s" % REGION: self.c0},
                       "handled": {}, "pending": []}, f)

    @property
    def path(self):
        return os.path.join(self.state, "state.json")

    def read(self):
        with open(self.path) as f:
            return json.load(f)

    def env(self, offset=None):
        e = {"PATH": os.environ["PATH"], "HOME": self.dir, "SGGUARD_TEST_FAST": "1",
             "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "*"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if offset is not None:
            e["LD_PRELOAD"] = faketime_lib()
            e["FAKETIME"] = offset
            # Only the wall clock is off, as with a wrong system clock.
            e["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            e["FAKETIME_NO_CACHE"] = "1"
            if sanitizer_build():
                e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") +
                                     ":verify_asan_link_order=0").lstrip(":")
        return e

    def once(self, offset=None):
        r = subprocess.run([harness.BIN, "-c", self.config, "--state-dir", self.state,
                            "--once"], capture_output=True, text=True, timeout=120,
                           env=self.env(offset))
        print("# --once%s: exit %d" % (" (clock %s)" % offset if offset else "", r.returncode))
        for ln in r.stderr.splitlines():
            print("#   " + ln)
        if "ASan runtime does not come first" in r.stderr:
            harness.skip("this ASan build refuses the libfaketime preload even with "
                         "verify_asan_link_order=0")
        return r


def no_crash(rc, text):
    assert rc in (0, 1), rc
    for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert m not in text, text


def faked_once(offset, direction):
    world()
    faketime_lib()
    g = new_group()
    guard = Guard(g)
    ev = mallory_adds(g)
    t = time.time()
    r = guard.once(offset)
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 1, r.returncode
    n = len(W["aws"].requests(service="cloudtrail", action="LookupEvents", since=t))
    assert 1 <= n <= 5, n
    lines = [ln for ln in r.stderr.splitlines() if "LookupEvents" in ln and "error:" in ln]
    assert lines, r.stderr
    assert "kind=clock_skew" in lines[0], lines[0]
    assert re.search(HINT, lines[0]), "no clock hint in the error line: %s" % lines[0]
    assert re.search(r"\b1[78]\d\d s %s\b" % direction, lines[0]), (
        "the offset (about 1800 s %s) is not said: %s" % (direction, lines[0]))
    st = guard.read()
    assert st["cursors"] == {"default/%s" % REGION: guard.c0}, st
    assert ev not in st["handled"]
    assert 22 in open_ports(g)
    # The clock is right again: the same state, the rule goes.
    r = guard.once()
    assert r.returncode == 0, r.returncode
    assert 22 not in open_ports(g)
    assert len(messages_for(g)) == 1


@case("clock 30 min ahead (libfaketime): LookupEvents refused, logged as clock skew with the timedatectl hint; nothing lost")
def ahead():
    faked_once("+30m", "ahead")


@case("clock 30 min behind (libfaketime): the same, 'behind'")
def behind():
    faked_once("-30m", "behind")


@case("a run with the clock 50 s ahead, then the clock set right: a record CloudTrail "
      "delivers late is still acted on (the cursor keeps to AWS's Date)")
def ahead_then_right():
    world()
    faketime_lib()
    g = new_group()
    guard = Guard(g, lookback=60)
    W["aws"].config(delivery_delay=15)
    try:
        t0 = time.time()
        ev = mallory_adds(g)
        # 11 s later, 50 s ahead: by this clock the window ends at t0 + 61,
        # and t0 + 61 - lookback is past the event; the record is not
        # delivered yet.
        time.sleep(max(0.0, t0 + 11 - time.time()))
        r = guard.once("+50s")
        no_crash(r.returncode, r.stderr)
        assert r.returncode == 0, r.returncode
        cur = guard.read()["cursors"]["default/%s" % REGION]
        assert cur <= time.time() + 1, "cursor %d is %.0f s ahead of AWS's time" % (
            cur, cur - time.time())
        time.sleep(max(0.0, t0 + 16.5 - time.time()))
        r = guard.once()
        assert r.returncode == 0, r.returncode
        assert ev in guard.read()["handled"], guard.read()
        assert 22 not in open_ports(g)
    finally:
        W["aws"].config(delivery_delay=0)


@case("a clock 90 s ahead with lookback 60 (every window in AWS's future): the cursor "
      "keeps to AWS's Date, the skew is said, and the record is acted on")
def ahead_beyond_lookback():
    world()
    faketime_lib()
    g = new_group()
    guard = Guard(g, lookback=60)
    os.remove(guard.path)                       # a first start: no cursor
    ev = mallory_adds(g)
    r = guard.once("+90s")
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    assert re.search(r"warning: CloudTrail default/%s: this host's clock is (8[5-9]|9\d) s "
                     r"ahead of AWS's: check the system clock \(timedatectl\)" % REGION,
                     r.stderr), r.stderr
    assert guard.read()["cursors"]["default/%s" % REGION] <= time.time() + 1
    # The first window began after the event (by this clock); the next
    # one reaches back from AWS's time and finds it.
    r = guard.once("+90s")
    assert r.returncode == 0, r.returncode
    assert ev in guard.read()["handled"], guard.read()
    assert 22 not in open_ports(g)


@case("a tag group deleted, its record late: the baseline stays until a window has read "
      "past the deletion, however much time the clock says has passed; DELETED is sent")
def deleted_record_late():
    world()
    faketime_lib()
    W["n"] += 1
    g = W["aws"].client("ec2").create_security_group(
        GroupName="clock-%d" % W["n"], Description="clock test", VpcId=W["vpc"],
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "ClockGone", "Value": "yes"}]}])["GroupId"]
    guard = Guard(g, lookback=60)
    with open(guard.config) as f:
        text = f.read()
    with open(guard.config, "w") as f:
        f.write(text.replace("[group %s]" % g,
                             "[groups tag:ClockGone=yes]\nregions = %s" % REGION))
    r = guard.once()
    assert r.returncode == 0 and "now guarding %s" % g in r.stderr, r.stderr
    W["aws"].config(delivery_delay=20)
    try:
        t0 = time.time()
        W["aws"].client("ec2", creds=MALLORY).delete_security_group(GroupId=g)
        r = guard.once()                # finds it gone; the record is not there yet
        assert r.returncode == 0, r.stderr
        assert messages_for(g) == [] or all("DELETED" not in m["subject"]
                                            for m in messages_for(g))
        time.sleep(max(0.0, t0 + 21 - time.time()))
        # 200 s later by this clock: more than 2 x lookback since the group
        # stopped being guarded, but no window has read past that yet.
        r = guard.once("+200s")
        no_crash(r.returncode, r.stderr)
        assert r.returncode == 0, r.stderr
        assert "was deleted by" in r.stderr, r.stderr
        assert [m["subject"] for m in messages_for(g) if "DELETED" in m["subject"]] == [
            "[sgguard] DELETED %s (%s)" % (g, REGION)], messages_for(g)
    finally:
        W["aws"].config(delivery_delay=0)


@case("a cursor saved ahead of the clock (it went back an hour): read that much more, "
      "act on what is there, and the cursor comes back")
def cursor_ahead():
    world()
    g = new_group()
    guard = Guard(g, lookback=60)
    ev = mallory_adds(g)
    ahead = int(time.time()) + 3600
    with open(guard.path, "w") as f:
        json.dump({"version": 1, "cursors": {"default/%s" % REGION: ahead},
                   "handled": {}, "pending": []}, f)
    r = guard.once()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    assert re.search(r"warning: CloudTrail default/%s: the cursor is 3[56]\d\d s ahead of the "
                     r"clock \(the clock went back\)" % REGION, r.stderr), r.stderr
    assert 22 not in open_ports(g)
    assert ev in guard.read()["handled"]
    assert guard.read()["cursors"]["default/%s" % REGION] <= time.time() + 1


@case("daemon with a clock 30 min ahead keeps running, says why every cycle, no tight loop")
def daemon_skewed():
    world()
    g = new_group()
    guard = Guard(g)
    log = open(os.path.join(guard.dir, "stderr.log"), "w+")
    env = guard.env("+30m")
    t = time.time()
    p = harness.spawn([harness.BIN, "-c", guard.config, "--state-dir", guard.state],
                      stdout=log, stderr=subprocess.STDOUT, env=env)
    time.sleep(11)
    alive = p.poll() is None
    p.send_signal(signal.SIGTERM)
    rc = p.wait(15)
    log.seek(0)
    out = log.read()
    for ln in out.splitlines():
        print("#   " + ln)
    if "ASan runtime does not come first" in out:
        harness.skip("this ASan build refuses the libfaketime preload")
    assert alive, "the daemon died with a skewed clock"
    no_crash(rc, out)
    assert rc == 0
    n = len(W["aws"].requests(service="cloudtrail", since=t))
    errs = re.findall(r"error: CloudTrail LookupEvents .*kind=clock_skew", out)
    assert 2 <= len(errs) <= 4, "want one error per cycle (every 5 s): %d" % len(errs)
    assert n <= 5 * 4, "%d LookupEvents in 11 s" % n
    assert all(re.search(HINT, ln) for ln in out.splitlines() if "clock_skew" in ln), out


def injected(svc, action, spec, pattern):
    """A skew answer injected for one call: hint logged; the event is
    retried (not marked handled, no FAILED) and recovers."""
    world()
    aws = W["aws"]
    g = new_group()
    guard = Guard(g)
    ev = mallory_adds(g)
    aws.fault(service=svc, action=action, count=-1, **spec)
    try:
        r = guard.once()
    finally:
        aws.clear_faults()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 1, r.returncode
    lines = [ln for ln in r.stderr.splitlines() if re.search(pattern, ln)]
    assert lines, "no line matching %r:\n%s" % (pattern, r.stderr)
    assert "clock_skew" in lines[0], lines[0]
    assert re.search(HINT, lines[0]), "no clock hint in: %s" % lines[0]
    return guard, g, ev, r


@case("CloudTrail answers InvalidSignatureException 'Signature expired': clock skew with the hint; cursor kept")
def ct_injected():
    guard, g, ev, r = injected(
        "cloudtrail", "LookupEvents",
        dict(mode="error", error={"code": "InvalidSignatureException", "status": 400,
                                  "message": "Signature expired: 20240101T000000Z is now "
                                             "earlier than 20240101T001500Z "
                                             "(20240101T003000Z - 15 min.)"}),
        r"error: CloudTrail LookupEvents")
    assert guard.read()["cursors"] == {"default/%s" % REGION: guard.c0}
    assert guard.once().returncode == 0
    assert 22 not in open_ports(g) and len(messages_for(g)) == 1


@case("EC2 revoke answers RequestExpired: clock skew with the hint; retried once the clock is right, not FAILED")
def ec2_injected():
    guard, g, ev, r = injected(
        "ec2", "RevokeSecurityGroupIngress",
        dict(mode="error", error={"code": "RequestExpired", "status": 400,
                                  "message": "Request has expired."}),
        r"revert on sg-|could not revert")
    subjects = [m["subject"] for m in messages_for(g)]
    assert subjects == [], ("a revoke refused because of sgguard's own clock was "
                            "reported %r and given up (the rule stays open)" % subjects)
    assert ev not in guard.read()["handled"], "given up: marked handled"
    assert guard.once().returncode == 0
    assert 22 not in open_ports(g) and len(messages_for(g)) == 1


@case("SNS Publish answers SignatureDoesNotMatch 'Signature expired': clock skew with the hint; kept pending")
def sns_injected():
    guard, g, ev, r = injected(
        "sns", "Publish",
        dict(mode="error", error={"code": "SignatureDoesNotMatch", "status": 403,
                                  "message": "Signature expired: 20240101T000000Z is now "
                                             "earlier than 20240101T001500Z "
                                             "(20240101T003000Z - 15 min.)"}),
        r"not published")
    st = guard.read()
    assert ev in st["handled"] and len(st["pending"]) == 1, st
    assert 22 not in open_ports(g)
    for p in st["pending"]:
        p["next_attempt"] = 0
    with open(guard.path, "w") as f:
        json.dump(st, f)
    assert guard.once().returncode == 0
    assert len(messages_for(g)) == 1


if __name__ == "__main__":
    harness.run()
