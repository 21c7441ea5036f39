#!/usr/bin/env python3
"""Issue 6 end to end: drift, egress, ModifySecurityGroupRules, restore,
groups by tag (create/delete), other accounts, digests, through the real
binary against localaws (moto with IAM enforcement, CloudTrail stand-in).

sgguard signs in as an IAM user whose inline policies are the shipped
documents, verbatim: docs/iam-policy.json + docs/iam-policy-restore.json
(+ docs/iam-policy-accounts.json where another account is guarded). So
every case also shows that these policies are enough for the feature.

One localaws (--auth) serves every case; each case has its own groups, its
own state directory and its own sgguard process(es), stopped at its end.
Cases that need records late use localaws's delivery delay and put it
back to 0 afterwards.

Debugging: BEYOND_CASES=drift_fast,restore runs only those cases (by
function name); BEYOND_DEBUG=1 runs the daemons with --log-level debug;
SGGUARD_BIN points at another binary (an ASan build, a patched one).
"""
import atexit
import json
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

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "localaws"))
import client as localaws  # noqa: E402

ACCOUNT = localaws.DEFAULT_ACCOUNT
REGION = localaws.REGION
OTHER = "222233334444"
OTHER_ROLE = "arn:aws:iam::%s:role/sgguard" % OTHER
OTHER_ROOT = localaws.Creds(access_key_id="AKIAOTHERROOT0000006",
                            secret_access_key="other-root-secret-issue6")
DOCS = os.path.join(harness.ROOT, "docs")

W = {}          # the world: localaws, identities, topic


def policy(name):
    with open(os.path.join(DOCS, name)) as f:
        return json.load(f)


def sgguard_user(name, *docs):
    """An IAM user with each shipped policy document as its own inline
    policy, verbatim."""
    aws = W["aws"]
    creds = aws.create_user(name, policy(docs[0]), policy_name=docs[0])
    for doc in docs[1:]:
        aws.client("iam").put_user_policy(UserName=name, PolicyName=doc,
                                          PolicyDocument=json.dumps(policy(doc)))
    return creds


EC2_CHANGES = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Resource": "*", "Action": [
        "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
        "ec2:ModifySecurityGroupRules", "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules"]}]}


def world():
    if W:
        return W
    aws = localaws.start("--auth")
    W["aws"] = aws
    W["sgguard"] = sgguard_user("sgguard", "iam-policy.json", "iam-policy-restore.json")
    W["sgguard-norestore"] = sgguard_user("sgguard-norestore", "iam-policy.json")
    W["sgguard-accounts"] = sgguard_user("sgguard-accounts", "iam-policy.json",
                                         "iam-policy-restore.json",
                                         "iam-policy-accounts.json")
    # A careless or hostile user: may change security groups.
    W["mallory"] = aws.create_user("mallory", EC2_CHANGES)
    role = aws.create_role("NetworkAdmins", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": "ec2:*"}]})
    W["admin"] = aws.assume_role(role["Arn"], "alice")
    W["admin_role_arn"] = role["Arn"]
    W["topic"] = aws.client("sns").create_topic(Name="sgguard-issue6")["TopicArn"]
    W["vpc"] = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    W["n"] = 0
    return W


def new_group(creds=None, tags=None, vpc=None):
    w = world()
    w["n"] += 1
    kw = {}
    if tags:
        kw["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": [
            {"Key": k, "Value": v} for k, v in tags.items()]}]
    g = w["aws"].client("ec2", creds=creds).create_security_group(
        GroupName="beyond-%d" % w["n"], Description="watched by sgguard",
        VpcId=vpc or w["vpc"], **kw)
    return g["GroupId"]


def ec2(creds=None):
    return W["aws"].client("ec2", creds=creds)


def tcp(port, cidr="0.0.0.0/0"):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": cidr}]}


ALL_OUT = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def ingress(group, perms, creds):
    return ec2(creds).authorize_security_group_ingress(GroupId=group, IpPermissions=perms)


def egress(group, perms, creds):
    return ec2(creds).authorize_security_group_egress(GroupId=group, IpPermissions=perms)


def raw_rules(group, creds=None):
    return ec2(creds).describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]


def rule_text(r):
    src = (r.get("CidrIpv4") or r.get("CidrIpv6") or r.get("PrefixListId")
           or r.get("ReferencedGroupInfo", {}).get("GroupId"))
    return "%s %s-%s %s" % (r["IpProtocol"], r.get("FromPort"), r.get("ToPort"), src)


def rules_of(group, egress=False, creds=None):
    """The group's rules of one direction as 'proto from-to source' strings."""
    return {rule_text(r) for r in raw_rules(group, creds) if r["IsEgress"] == egress}


def rule_ids(group, creds=None):
    """{rule id: 'proto from-to source'} of the group's ingress rules."""
    return {r["SecurityGroupRuleId"]: rule_text(r) for r in raw_rules(group, creds)
            if not r["IsEgress"]}


def wait_for(what, fn, timeout=30, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)


def requests_by(creds, action, since, account=None):
    """Requests localaws served for one access key (or, with account, for
    any key of that account) since an epoch time."""
    out = []
    for q in W["aws"].requests(action=action, since=since):
        if account is not None:
            if q["account"] == account and q["access_key_id"] != OTHER_ROOT["access_key_id"]:
                out.append(q)
        elif q["access_key_id"] == creds["access_key_id"]:
            out.append(q)
    return out


def messages_for(group, since=0):
    return [m for m in W["aws"].sns_messages(topic=W["topic"], since=since)
            if group in m["subject"]]


def kinds(msgs):
    return [m["subject"].split()[1] for m in msgs]


def body_lines(m):
    return m["message"].rstrip("\n").split("\n")


def body(m):
    """The key: value lines; repeated keys keep their last value."""
    return dict(ln.split(": ", 1) for ln in body_lines(m) if ": " in ln)


class Guard:
    """A config, a state directory and runs of the real binary."""

    def __init__(self, sections, creds=None, poll=5, drift=0, lookback=300, extra_env=None):
        self.dir = tempfile.mkdtemp(prefix="sgguard-beyond-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "sgguard.ini")
        self.creds = creds or W["sgguard"]
        self.extra_env = extra_env or {}
        self.proc = None
        self.log = None
        self.write("""[sgguard]
poll_interval = %d
lookback = %d
drift_interval = %d
[aws]
region = %s
endpoint_url = %s
[notify]
topic_arn = %s
%s""" % (poll, lookback, drift, REGION, W["aws"].endpoint, W["topic"], sections))

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def env(self):
        e = {"PATH": os.environ["PATH"], "HOME": self.dir,
             "AWS_ACCESS_KEY_ID": self.creds["access_key_id"],
             "AWS_SECRET_ACCESS_KEY": self.creds["secret_access_key"],
             "AWS_EC2_METADATA_DISABLED": "true",
             "SGGUARD_TEST_FAST": "1"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        e.update(self.extra_env)
        return e

    def once(self, *args):
        r = subprocess.run([harness.BIN, "-c", self.config, "--state-dir", self.state,
                            "--once", *args], capture_output=True, text=True,
                           timeout=120, env=self.env())
        print("# sgguard --once exit %d" % r.returncode)
        for line in r.stderr.splitlines():
            print("#   " + line)
        return r

    def start(self, *args):
        if os.environ.get("BEYOND_DEBUG"):
            args = args + ("--log-level", "debug")
        self.t_start = time.time()
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+")
        self.proc = harness.spawn([harness.BIN, "-c", self.config, "--state-dir",
                                   self.state, *args], stdout=self.log,
                                  stderr=subprocess.STDOUT, env=self.env())
        return self.proc

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def died(self, what):
        """If sgguard is gone, the failure says how it ended."""
        rc = self.proc.poll()
        if rc is None:
            return
        how = "exit %d" % rc if rc >= 0 else "killed by %s" % signal.Signals(-rc).name
        raise AssertionError("sgguard ended (%s) while waiting for %s; its log:\n%s"
                             % (how, what, self.output()))

    def wait(self, what, fn, timeout=30, step=0.1):
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            self.died(what)
            if time.monotonic() >= deadline:
                raise AssertionError("timed out after %ss waiting for %s; sgguard's log:\n%s"
                                     % (timeout, what, self.output()))
            time.sleep(step)

    def wait_log(self, pattern, timeout=30):
        return self.wait("a log line matching %r" % pattern,
                         lambda: re.search(pattern, self.output()), timeout)

    def drift_checks(self, since):
        """DescribeSecurityGroupRules calls sgguard made since `since`."""
        return len(requests_by(self.creds, "DescribeSecurityGroupRules", since))

    def wait_drift_check(self, since, n=1, timeout=20):
        self.wait("%d DescribeSecurityGroupRules by sgguard" % n,
                  lambda: self.drift_checks(since) >= n, timeout)

    def start_drifting(self, *args):
        """Start; return once the first drift checks have read the group."""
        self.start(*args)
        self.wait_log(r"started: .*drift check on")
        self.wait_drift_check(self.t_start, 2)

    def wait_lookups(self, what, since, n=8, timeout=20):
        """Wait for n LookupEvents by sgguard since `since`."""
        self.wait(what, lambda: len(requests_by(self.creds, "LookupEvents", since)) >= n,
                  timeout)

    def stop(self):
        """SIGTERM, exit 0; prints the log as TAP comments."""
        if self.proc is None:
            return
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                harness.stop(self.proc)
        else:
            rc = self.proc.returncode
        for line in self.output().splitlines():
            print("#   " + line)
        self.log.close()
        self.proc = None
        assert rc == 0, "sgguard exit %s" % rc

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            harness.stop(self.proc)
        if self.log is not None and not self.log.closed:
            self.log.close()
        shutil.rmtree(self.dir, True)

    def state_json(self):
        with open(os.path.join(self.state, "state.json")) as f:
            return json.load(f)


def group_section(g, *lines):
    return "[group %s]\n%s\n" % (g, "\n".join(lines))


def record_of(event_name, group, account=None, timeout=10):
    """The newest CloudTrail record (admin view: no delivery delay) of a call
    on this group."""
    def find():
        for e in reversed(W["aws"].events(account=account, name=event_name)):
            rec = e["record"] or {}
            if group in json.dumps(rec.get("requestParameters")) or \
                    group in json.dumps(rec.get("responseElements")):
                return rec
        return None
    return wait_for("%s record on %s" % (event_name, group), find, timeout, 0.1)


# --- 1. drift ----------------------------------------------------------


@case("drift: with a 300 s CloudTrail delay an unauthorized rule is revoked within drift_interval + 2 s")
def drift_fast():
    w = world()
    aws = w["aws"]
    g = new_group()
    aws.config(delivery_delay=300)
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0"), poll=60, drift=5,
                  lookback=900)
    try:
        guard.start()
        guard.wait_log(r"started: .*drift check on")
        # The snapshot, then the first drift check.
        guard.wait_drift_check(guard.t_start, 2)
        time.sleep(0.3)
        t0 = time.monotonic()
        ingress(g, [tcp(22)], w["mallory"])
        guard.wait("the drift revert", lambda: "tcp 22-22 0.0.0.0/0" not in rules_of(g),
                 timeout=15, step=0.05)
        took = time.monotonic() - t0
        print("# drift: change-to-revoke %.2f s with a 300 s CloudTrail delay" % took)
        assert took <= 7.0, took
        guard.wait_log(r"drift on %s \(%s\): reverted 1 rule before CloudTrail delivered "
                       r"the record: tcp 22 0\.0\.0\.0/0" % (g, REGION))
        (m,) = guard.wait("the drift message", lambda: messages_for(g), 15)
        assert m["subject"] == "[sgguard] AUTO-MITIGATED %s (%s)" % (g, REGION), m
        d = body(m)
        assert d["event_id"] == "-", d
        assert d["event_name"] == "drift", d
        assert d["principal"] == "unknown (no CloudTrail record yet)", d
        W["drift_message"] = m
        assert d["group_id"] == g and d["region"] == REGION and d["account"], d
        assert "revoked: tcp 22 0.0.0.0/0" in body_lines(m), body_lines(m)
        assert d.get("note"), d
        guard.stop()
        # No record could have been seen: still none delivered.
        assert aws.lookup(LookupAttributes=[{"AttributeKey": "ResourceName",
                                              "AttributeValue": g}])["Events"] == []
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("the drift message names the AWS account id, as every other message does")
def drift_account():
    m = W.get("drift_message")
    if m is None:
        harness.skip("the drift case did not get as far as the message")
    lines = body_lines(m)
    assert "account: %s" % ACCOUNT in lines, \
        "drift message: %r (event messages say account: %s)" % (lines, ACCOUNT)


def drift_marks(guard):
    """The drift memory sgguard keeps in its state directory."""
    with open(os.path.join(guard.state, "drift.json")) as f:
        return json.load(f)["marks"]


@case("drift then attribution, across a restart: one revoke, AUTO-MITIGATED by drift, ATTRIBUTED naming mallory once the record arrives")
def drift_attributed():
    w = world()
    aws = w["aws"]
    g = new_group()
    aws.config(delivery_delay=20)
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0"), poll=5, drift=5)
    try:
        guard.start_drifting()
        t0 = time.time()
        ingress(g, [tcp(22)], w["mallory"])
        rec = record_of("AuthorizeSecurityGroupIngress", g)
        guard.wait("the drift revert", lambda: "tcp 22-22 0.0.0.0/0" not in rules_of(g), 10, 0.05)
        print("# drift: change-to-revoke %.2f s with a 20 s CloudTrail delay"
              % (time.time() - t0))
        first = guard.wait("the drift message", lambda: messages_for(g), 10)
        assert kinds(first) == ["AUTO-MITIGATED"], kinds(first)
        assert body(first[0])["event_id"] == "-", first
        # A restart before the record comes: the memory is in the state
        # directory, so the record is still only attributed.
        guard.stop()
        marks = [m for m in drift_marks(guard) if m["group"] == g]
        assert len(marks) == 1 and marks[0]["reverted"], marks
        assert marks[0]["rule"]["from"] == 22, marks
        assert time.time() - t0 < 16, "too slow to restart before the record: %.1f s" % (
            time.time() - t0)
        guard.start()
        guard.wait_log(r"event %s: the change drift reverted on %s \(%s\) was made by %s: "
                       r"tcp 22 0\.0\.0\.0/0" % (rec["eventID"], g, REGION,
                                                 re.escape(w["mallory"]["arn"])), timeout=50)
        guard.wait("the ATTRIBUTED message", lambda: len(messages_for(g)) >= 2, 10)
        # One more poll cycle and drift check: nothing more happens.
        seen = time.time()
        guard.wait_lookups("a whole LookupEvents round more", seen)
        guard.wait_drift_check(seen, 1)
        msgs = messages_for(g)
        assert kinds(msgs) == ["AUTO-MITIGATED", "ATTRIBUTED"], kinds(msgs)
        a = msgs[1]
        assert a["subject"] == "[sgguard] ATTRIBUTED %s (%s)" % (g, REGION), a
        d = body(a)
        assert d["event_id"] == rec["eventID"], d
        assert d["event_name"] == "AuthorizeSecurityGroupIngress", d
        assert d["principal"] == w["mallory"]["arn"], d
        assert "revoked: tcp 22 0.0.0.0/0" in body_lines(a), body_lines(a)
        revokes = requests_by(guard.creds, "RevokeSecurityGroupIngress", t0)
        assert len(revokes) == 1, revokes
        assert rec["eventID"] in guard.state_json()["handled"]
        assert not re.search(r"event %s: reverted" % rec["eventID"], guard.output())
        guard.stop()
        # Attributed: the mark is gone from the file too.
        assert not [m for m in drift_marks(guard) if m["group"] == g], drift_marks(guard)
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("drift in audit mode: one DRY-RUN per rule, not repeated after a restart; enforced after a switch")
def drift_audit_restart():
    w = world()
    aws = w["aws"]
    g = new_group()
    aws.config(delivery_delay=300)
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0"), poll=60, drift=5)
    try:
        guard.start_drifting("--dry-run")
        ingress(g, [tcp(22)], w["mallory"])
        (m,) = guard.wait("the DRY-RUN message", lambda: messages_for(g), 15)
        assert m["subject"] == "[sgguard] DRY-RUN %s (%s)" % (g, REGION), m
        assert "would_revoke: tcp 22 0.0.0.0/0" in body_lines(m), body_lines(m)
        guard.stop()
        # Restarted, still in audit mode: its first two checks see the
        # rule and say nothing more.
        guard.start_drifting("--dry-run")
        assert len(messages_for(g)) == 1, kinds(messages_for(g))
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
        guard.stop()
        # Enforce: the rule goes.
        t0 = time.time()
        guard.start_drifting()
        guard.wait("the drift revert", lambda: "tcp 22-22 0.0.0.0/0" not in rules_of(g), 15)
        guard.wait("the second message", lambda: len(messages_for(g)) >= 2, 10)
        assert kinds(messages_for(g)) == ["DRY-RUN", "AUTO-MITIGATED"], kinds(messages_for(g))
        assert len(requests_by(guard.creds, "RevokeSecurityGroupIngress", t0)) == 1
        guard.stop()
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("drift in audit mode, then the record: one DRY-RUN, then ATTRIBUTED naming mallory "
      "(would_revoke:), not a second DRY-RUN")
def drift_audit_attributed():
    w = world()
    aws = w["aws"]
    g = new_group()
    aws.config(delivery_delay=12)
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0"), poll=5, drift=5)
    try:
        guard.start_drifting("--dry-run")
        ingress(g, [tcp(22)], w["mallory"])
        rec = record_of("AuthorizeSecurityGroupIngress", g, timeout=30)
        guard.wait_log(r"event %s: the change drift reported \(audit mode\) on %s"
                       % (rec["eventID"], g), timeout=40)
        guard.wait_drift_check(time.time(), 2)
        msgs = messages_for(g)
        assert kinds(msgs) == ["DRY-RUN", "ATTRIBUTED"], kinds(msgs)
        b = body_lines(msgs[1])
        assert "event_id: %s" % rec["eventID"] in b, b
        assert "principal: %s" % w["mallory"]["arn"] in b, b
        assert "would_revoke: tcp 22 0.0.0.0/0" in b, b
        assert any(ln.startswith("note: reported earlier by the drift check") for ln in b), b
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
        guard.stop()
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("drift with allow_principal waits for the record: the admin's rule stays and joins the baseline")
def drift_waits():
    w = world()
    aws = w["aws"]
    g = new_group()
    aws.config(delivery_delay=10)
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0",
                                "allow_principal = %s" % w["admin_role_arn"]),
                  poll=5, drift=5)
    try:
        guard.start_drifting()
        t0 = time.time()
        ingress(g, [tcp(22)], w["admin"])
        rec = record_of("AuthorizeSecurityGroupIngress", g)
        # Drift sees the rule before the record is there, and waits.
        guard.wait_drift_check(time.time(), 1)
        assert "is authorized" not in guard.output(), guard.output()
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
        guard.wait_log(r"event %s: AuthorizeSecurityGroupIngress on %s \(%s\) by .* is "
                       r"authorized" % (rec["eventID"], g, REGION), timeout=40)
        seen = time.time()
        guard.wait_drift_check(seen, 2)
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g), rules_of(g)
        assert requests_by(guard.creds, "RevokeSecurityGroupIngress", t0) == []
        assert messages_for(g) == [], messages_for(g)
        guard.stop()
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("drift with allow_principal, a reload while it waits: the new snapshot does not take the "
      "rule; unattributed within lookback, it is revoked")
def drift_waits_reload():
    w = world()
    aws = w["aws"]
    g = new_group()
    aws.config(delivery_delay=900)        # the record never comes in time
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0",
                                "allow_principal = %s" % w["admin_role_arn"]),
                  poll=5, drift=5, lookback=60)
    try:
        guard.start_drifting()
        t0 = time.time()
        ingress(g, [tcp(22)], w["mallory"])
        guard.wait_drift_check(time.time(), 1)
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g)     # waiting for the record
        guard.proc.send_signal(signal.SIGHUP)
        guard.wait_log(r"configuration reloaded")
        guard.wait("the unattributed rule revoked after lookback",
                   lambda: "tcp 22-22 0.0.0.0/0" not in rules_of(g), timeout=90, step=0.5)
        assert time.time() - t0 >= 55, time.time() - t0
        assert "note: not attributed by CloudTrail within lookback" in \
            messages_for(g)[-1]["message"], messages_for(g)
        guard.stop()
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("baseline = snapshot changed to allow while sgguard is stopped: after the restart the "
      "old snapshot no longer covers the group's rules (as after a reload)")
def baseline_mode_restart():
    w = world()
    g = new_group()
    ingress(g, [tcp(22)], w["admin"])             # there before sgguard,
    w["aws"].reset_events()                       # long enough (no record)
    sec = lambda mode: group_section(g, "allow = tcp 443 0.0.0.0/0", "baseline = %s" % mode)
    guard = Guard(sec("snapshot"), poll=5, drift=5)
    try:
        guard.start_drifting()
        guard.wait_drift_check(time.time(), 1)
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g)   # in the snapshot: intended
        guard.stop()
        with open(os.path.join(guard.state, "baselines.json")) as f:
            assert '"mode": "snapshot"' in f.read()
        with open(guard.config) as f:
            text = f.read()
        guard.write(text.replace("baseline = snapshot", "baseline = allow"))
        guard.start_drifting()
        guard.wait("tcp 22 revoked: no pattern covers it", lambda: "tcp 22-22 0.0.0.0/0"
                   not in rules_of(g), timeout=20, step=0.2)
        guard.stop()
    finally:
        guard.cleanup()


# --- 3. egress ---------------------------------------------------------


def egress_guard(g, mode, *more):
    lines = ["allow = tcp 443 0.0.0.0/0"]
    if mode is not None:
        lines.append("egress = %s" % mode)
    return Guard(group_section(g, *(lines + list(more))))


def hardened_group():
    """A group without moto's default egress rule (all to 0.0.0.0/0)."""
    g = new_group()
    ec2().revoke_security_group_egress(GroupId=g, IpPermissions=[ALL_OUT])
    assert rules_of(g, egress=True) == set()
    return g


@case("egress = enforce: an unauthorized egress rule is revoked with RevokeSecurityGroupEgress")
def egress_enforce():
    w = world()
    g = hardened_group()
    guard = egress_guard(g, "enforce", "allow_egress = udp 53 10.0.0.2/32")
    try:
        assert guard.once().returncode == 0        # baseline: no egress rule
        t0 = time.time()
        egress(g, [tcp(25), {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
                             "IpRanges": [{"CidrIp": "10.0.0.2/32"}]}], w["mallory"])
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert rules_of(g, egress=True) == {"udp 53-53 10.0.0.2/32"}, rules_of(g, egress=True)
        assert len(requests_by(guard.creds, "RevokeSecurityGroupEgress", t0)) == 1
        assert requests_by(guard.creds, "RevokeSecurityGroupIngress", t0) == []
        (m,) = messages_for(g)
        assert m["subject"] == "[sgguard] AUTO-MITIGATED %s (%s)" % (g, REGION), m
        lines = body_lines(m)
        assert "event_name: AuthorizeSecurityGroupEgress" in lines, lines
        assert "revoked: tcp 25 0.0.0.0/0" in lines, lines
        assert "kept: udp 53 10.0.0.2/32" in lines, lines
    finally:
        guard.cleanup()


@case("egress = audit: DRY-RUN, the egress rule stays")
def egress_audit():
    w = world()
    g = hardened_group()
    guard = egress_guard(g, "audit")
    try:
        assert guard.once().returncode == 0
        t0 = time.time()
        egress(g, [tcp(25)], w["mallory"])
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert rules_of(g, egress=True) == {"tcp 25-25 0.0.0.0/0"}
        assert requests_by(guard.creds, "RevokeSecurityGroupEgress", t0) == []
        (m,) = messages_for(g)
        assert m["subject"] == "[sgguard] DRY-RUN %s (%s)" % (g, REGION), m
        assert "would_revoke: tcp 25 0.0.0.0/0" in body_lines(m), body_lines(m)
        assert "would revert (egress = audit)" in r.stderr, r.stderr
        # Ingress on the same group is still enforced.
        ingress(g, [tcp(22)], w["mallory"])
        assert guard.once().returncode == 0
        assert rules_of(g) == set(), rules_of(g)
        assert kinds(messages_for(g)) == ["DRY-RUN", "AUTO-MITIGATED"]
    finally:
        guard.cleanup()


@case("egress = ignore (the default): an egress change is neither revoked nor reported")
def egress_ignore():
    w = world()
    g = hardened_group()
    guard = egress_guard(g, None)
    try:
        assert guard.once().returncode == 0
        t0 = time.time()
        egress(g, [tcp(25)], w["mallory"])
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert rules_of(g, egress=True) == {"tcp 25-25 0.0.0.0/0"}
        assert requests_by(guard.creds, "RevokeSecurityGroupEgress", t0) == []
        assert messages_for(g) == []
    finally:
        guard.cleanup()


@case("egress = enforce, baseline = snapshot with the default all-traffic egress rule: "
      "a new egress rule no allow_egress covers is still revoked")
def egress_default_rule():
    # The contract: an Authorize* rule no allow pattern covers is revoked;
    # drift: a rule in neither the baseline nor an allow pattern is
    # unauthorized. tcp 25 to 0.0.0.0/0 is not in the baseline (the
    # default rule is "all any 0.0.0.0/0"), so mallory's call is reverted
    # (--once: the CloudTrail path).
    w = world()
    g = new_group()
    assert rules_of(g, egress=True) == {"-1 -1--1 0.0.0.0/0"}, rules_of(g, egress=True)
    guard = egress_guard(g, "enforce")
    try:
        assert guard.once().returncode == 0        # baseline: the default rule
        egress(g, [tcp(25)], w["mallory"])
        r = guard.once()
        assert r.returncode == 0, r.stderr
        print("# egress with the default rule in the snapshot: %s; messages %s"
              % (sorted(rules_of(g, egress=True)), kinds(messages_for(g))))
        assert rules_of(g, egress=True) == {"-1 -1--1 0.0.0.0/0"}, \
            "mallory's egress rule was kept: %s" % rules_of(g, egress=True)
        assert kinds(messages_for(g)) == ["AUTO-MITIGATED"], kinds(messages_for(g))
    finally:
        guard.cleanup()


# --- 4. ModifySecurityGroupRules ----------------------------------------


def modify(group, rule_id, port, creds, cidr="0.0.0.0/0"):
    ec2(creds).modify_security_group_rules(GroupId=group, SecurityGroupRules=[{
        "SecurityGroupRuleId": rule_id, "SecurityGroupRule": {
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIpv4": cidr}}])


@case("ModifySecurityGroupRules: mallory's change is put back (same rule id); the admin's becomes the baseline")
def modify_rules():
    w = world()
    g = new_group()
    ingress(g, [tcp(443)], w["admin"])
    (rid,) = rule_ids(g)
    guard = Guard(group_section(g, "allow_principal = %s" % w["admin_role_arn"]),
                  poll=5, drift=5)
    try:
        guard.start_drifting()
        t0 = time.time()
        modify(g, rid, 22, w["mallory"])
        assert rule_ids(g) == {rid: "tcp 22-22 0.0.0.0/0"}, rule_ids(g)
        rec = record_of("ModifySecurityGroupRules", g)
        guard.wait_log(r"event %s: put back rules modified on %s \(%s\) by %s: "
                       r"tcp 22 0\.0\.0\.0/0" % (rec["eventID"], g, REGION,
                                                 re.escape(w["mallory"]["arn"])))
        assert rule_ids(g) == {rid: "tcp 443-443 0.0.0.0/0"}, rule_ids(g)
        (m,) = guard.wait("the message", lambda: messages_for(g), 10)
        assert m["subject"] == "[sgguard] AUTO-MITIGATED %s (%s)" % (g, REGION), m
        lines = body_lines(m)
        assert "event_name: ModifySecurityGroupRules" in lines, lines
        assert "principal: %s" % w["mallory"]["arn"] in lines, lines
        assert "revoked: tcp 22 0.0.0.0/0" in lines, lines
        assert "restored: tcp 443 0.0.0.0/0" in lines, lines
        mods = requests_by(guard.creds, "ModifySecurityGroupRules", t0)
        assert len(mods) == 1, mods
        # The admin (allowed) changes the rule: kept, it is the baseline now.
        t1 = time.time()
        modify(g, rid, 8443, w["admin"])
        rec2 = record_of("ModifySecurityGroupRules", g)
        assert rec2["eventID"] != rec["eventID"]

        def in_baseline():
            try:
                with open(os.path.join(guard.state, "baselines.json")) as f:
                    bl = json.load(f)["baselines"]
            except (OSError, ValueError):
                return False
            rules = [r for k, v in bl.items() if k.endswith("/" + g) for r in v["rules"]]
            return any(r["id"] == rid and r["from"] == 8443 for r in rules)
        guard.wait("the admin's form in the baseline", in_baseline, 20)
        seen = time.time()
        guard.wait_drift_check(seen, 2)
        assert rule_ids(g) == {rid: "tcp 8443-8443 0.0.0.0/0"}, rule_ids(g)
        assert len(requests_by(guard.creds, "ModifySecurityGroupRules", t1)) == 0
        assert len(messages_for(g)) == 1, kinds(messages_for(g))
        # Mallory again: put back to the admin's form, not the old one.
        modify(g, rid, 23, w["mallory"])
        rec3 = record_of("ModifySecurityGroupRules", g)
        guard.wait_log(r"event %s: put back rules modified" % rec3["eventID"])
        assert rule_ids(g) == {rid: "tcp 8443-8443 0.0.0.0/0"}, rule_ids(g)
        m3 = guard.wait("the second message", lambda: len(messages_for(g)) == 2 and
                      messages_for(g)[1], 10)
        assert "restored: tcp 8443 0.0.0.0/0" in body_lines(m3), body_lines(m3)
        assert "revoked: tcp 23 0.0.0.0/0" in body_lines(m3), body_lines(m3)
        guard.stop()
    finally:
        guard.cleanup()


@case("ModifySecurityGroupRules put back by drift, then the record: AUTO-MITIGATED by drift, "
      "ATTRIBUTED naming mallory, no second put-back")
def modify_drift_attributed():
    w = world()
    aws = w["aws"]
    g = new_group()
    ingress(g, [tcp(443)], w["admin"])
    (rid,) = rule_ids(g)
    aws.reset_events()                     # the admin's rule: there before
    guard = Guard(group_section(g, "allow = tcp 8443 0.0.0.0/0"), poll=5, drift=5)
    try:
        guard.start_drifting()
        aws.config(delivery_delay=15)
        t0 = time.time()
        modify(g, rid, 3389, w["mallory"])
        rec = record_of("ModifySecurityGroupRules", g)     # before drift's own
        guard.wait("drift puts it back", lambda: rule_ids(g) == {rid: "tcp 443-443 0.0.0.0/0"},
                   timeout=15)
        guard.wait_log(r"event %s: the change drift put back on %s \(%s\) was made by %s"
                       % (rec["eventID"], g, REGION, re.escape(w["mallory"]["arn"])),
                       timeout=40)
        msgs = guard.wait("two messages", lambda: len(messages_for(g)) >= 2 and
                          messages_for(g), 10)
        assert kinds(msgs) == ["AUTO-MITIGATED", "ATTRIBUTED"], kinds(msgs)
        b = body_lines(msgs[1])
        assert "event_name: ModifySecurityGroupRules" in b, b
        assert "principal: %s" % w["mallory"]["arn"] in b, b
        assert "revoked: tcp 3389 0.0.0.0/0" in b and "restored: tcp 443 0.0.0.0/0" in b, b
        assert len(requests_by(guard.creds, "ModifySecurityGroupRules", t0)) == 1
        guard.stop()
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("ModifySecurityGroupRules: mallory's change, then the admin's, read together: the admin's form stays")
def modify_then_allowed():
    w = world()
    g = new_group()
    ingress(g, [tcp(443)], w["admin"])
    (rid,) = rule_ids(g)
    guard = Guard(group_section(g, "allow_principal = %s" % w["admin_role_arn"]))
    try:
        assert guard.once().returncode == 0           # the baseline: tcp 443
        modify(g, rid, 22, w["mallory"])
        rec = record_of("ModifySecurityGroupRules", g)
        time.sleep(1.1)         # CloudTrail times are whole seconds
        modify(g, rid, 8443, w["admin"], cidr="10.0.0.0/8")
        rec2 = record_of("ModifySecurityGroupRules", g)
        t = time.time()
        r = guard.once()
        assert r.returncode == 0, r.stderr
        # Putting mallory's change back would undo the admin's later one.
        assert rule_ids(g) == {rid: "tcp 8443-8443 10.0.0.0/8"}, rule_ids(g)
        assert requests_by(guard.creds, "ModifySecurityGroupRules", t) == []
        assert re.search(r"event %s: .*left as it is: %s was changed again since "
                         r"\(now tcp 8443 10\.0\.0\.0/8\)" % (rec["eventID"], rid),
                         r.stderr), r.stderr
        assert re.search(r"event %s: ModifySecurityGroupRules on %s \(%s\) by %s is "
                         r"authorized" % (rec2["eventID"], g, REGION,
                                          ".*alice"), r.stderr), r.stderr
        assert messages_for(g) == [], kinds(messages_for(g))
    finally:
        guard.cleanup()


# --- 5. restore --------------------------------------------------------


@case("restore by drift, a reload, then the record: one Authorize, AUTO-MITIGATED then ATTRIBUTED naming mallory")
def drift_restore_attributed():
    w = world()
    aws = w["aws"]
    g = new_group()
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0", "restore = yes"),
                  poll=5, drift=5)
    ingress(g, [tcp(8080, "10.0.0.0/8")], guard.creds)
    aws.config(delivery_delay=20)
    try:
        guard.start_drifting()
        t0 = time.time()
        ec2(w["mallory"]).revoke_security_group_ingress(
            GroupId=g, IpPermissions=[tcp(8080, "10.0.0.0/8")])
        rec = record_of("RevokeSecurityGroupIngress", g)
        guard.wait("the drift restore", lambda: "tcp 8080-8080 10.0.0.0/8" in rules_of(g),
                   10, 0.05)
        guard.wait("the drift message", lambda: messages_for(g), 10)
        guard.wait_log(r"drift on %s \(%s\): restored 1 baseline rule: tcp 8080 10\.0\.0\.0/8"
                       % (g, REGION), 5)
        # A reload before the record comes keeps what drift did.
        guard.proc.send_signal(signal.SIGHUP)
        guard.wait_log(r"configuration reloaded", 10)
        assert time.time() - t0 < 18, "too slow to reload before the record"
        guard.wait_log(r"event %s: the removal drift undid on %s \(%s\) was made by %s: "
                       r"tcp 8080 10\.0\.0\.0/8" % (rec["eventID"], g, REGION,
                                                   re.escape(w["mallory"]["arn"])), timeout=45)
        guard.wait("the ATTRIBUTED message", lambda: len(messages_for(g)) >= 2, 10)
        seen = time.time()
        guard.wait_lookups("a whole LookupEvents round more", seen)
        msgs = messages_for(g)
        assert kinds(msgs) == ["AUTO-MITIGATED", "ATTRIBUTED"], kinds(msgs)
        a = body(msgs[1])
        assert a["event_id"] == rec["eventID"], a
        assert a["principal"] == w["mallory"]["arn"], a
        assert "restored: tcp 8080 10.0.0.0/8" in body_lines(msgs[1]), body_lines(msgs[1])
        auth = requests_by(guard.creds, "AuthorizeSecurityGroupIngress", t0)
        assert len(auth) == 1, "restored %d times" % len(auth)
        assert rec["eventID"] in guard.state_json()["handled"]
        guard.stop()
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("restore = yes: a baseline rule mallory removes comes back; one the admin removes stays gone; no fight")
def restore():
    w = world()
    g = new_group()
    ingress(g, [tcp(443), tcp(8080, "10.0.0.0/8")], w["admin"])
    guard = Guard(group_section(g, "restore = yes",
                                "allow_principal = %s" % w["admin_role_arn"]),
                  poll=5, drift=5)
    try:
        guard.start_drifting()
        t0 = time.time()
        ec2(w["mallory"]).revoke_security_group_ingress(GroupId=g,
                                                        IpPermissions=[tcp(8080, "10.0.0.0/8")])
        assert rules_of(g) == {"tcp 443-443 0.0.0.0/0"}
        rec = record_of("RevokeSecurityGroupIngress", g)
        guard.wait_log(r"event %s: restored 1 baseline rule on %s \(%s\) removed by %s: "
                       r"tcp 8080 10\.0\.0\.0/8" % (rec["eventID"], g, REGION,
                                                    re.escape(w["mallory"]["arn"])))
        assert rules_of(g) == {"tcp 443-443 0.0.0.0/0", "tcp 8080-8080 10.0.0.0/8"}, rules_of(g)
        (m,) = guard.wait("the message", lambda: messages_for(g), 10)
        assert m["subject"] == "[sgguard] AUTO-MITIGATED %s (%s)" % (g, REGION), m
        lines = body_lines(m)
        assert "event_name: RevokeSecurityGroupIngress" in lines, lines
        assert "restored: tcp 8080 10.0.0.0/8" in lines, lines
        # The admin removes a baseline rule: the baseline follows.
        ec2(w["admin"]).revoke_security_group_ingress(GroupId=g, IpPermissions=[tcp(443)])
        rec2 = record_of("RevokeSecurityGroupIngress", g)
        assert rec2["eventID"] != rec["eventID"]
        guard.wait_log(r"event %s: RevokeSecurityGroupIngress on %s \(%s\) by .*: the "
                       r"baseline follows" % (rec2["eventID"], g, REGION))
        # A few cycles: nothing more from sgguard.
        seen = time.time()
        guard.wait_lookups("two more LookupEvents rounds", seen, timeout=25)
        guard.wait_drift_check(seen, 2)
        assert rules_of(g) == {"tcp 8080-8080 10.0.0.0/8"}, rules_of(g)
        auth = requests_by(guard.creds, "AuthorizeSecurityGroupIngress", t0)
        rev = requests_by(guard.creds, "RevokeSecurityGroupIngress", t0)
        print("# restore: sgguard made %d Authorize and %d Revoke calls"
              % (len(auth), len(rev)))
        assert len(auth) == 1 and rev == [], (auth, rev)
        assert len(messages_for(g)) == 1, kinds(messages_for(g))
        guard.stop()
    finally:
        guard.cleanup()


# --- 6. groups by tag, create, delete ------------------------------------


@case("[groups tag:...] --once: a tagged group created inside the first window is reported CREATED, once")
def tags_created_before_start():
    b = new_group(tags={"Stage": "created-before-start"})
    rec = record_of("CreateSecurityGroup", b)
    guard = Guard("[groups tag:Stage=created-before-start]\nregions = %s\n" % REGION)
    try:
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert re.search(r"event %s: new group %s \(%s\) created by .* is now guarded"
                         % (rec["eventID"], b, REGION), r.stderr), r.stderr
        msgs = messages_for(b)
        assert kinds(msgs) == ["CREATED"], kinds(msgs)
        assert body(msgs[0])["event_id"] == rec["eventID"], body(msgs[0])
        assert guard.once().returncode == 0
        assert len(messages_for(b)) == 1, kinds(messages_for(b))
    finally:
        guard.cleanup()


@case("[groups tag:Protect=yes]: tagged groups are guarded, a new one is reported CREATED, a deleted one DELETED")
def tags():
    w = world()
    a = new_group(tags={"Protect": "yes"})
    plain = new_group(tags={"Protect": "no"})
    guard = Guard("[groups tag:Protect=yes]\nregions = %s\n" % REGION, poll=5)
    try:
        guard.start()
        guard.wait_log(r"tag:Protect=yes: now guarding %s \(%s\)" % (a, REGION))
        guard.wait_log(r"started")
        assert not re.search(r"now guarding %s" % plain, guard.output())
        ingress(a, [tcp(22)], w["mallory"])
        guard.wait_log(r"reverted 1 rule on %s" % a)
        assert rules_of(a) == set()
        ingress(plain, [tcp(22)], w["mallory"])
        # Created while sgguard runs: found at once through CloudTrail.
        b = new_group(tags={"Protect": "yes"})
        rec = record_of("CreateSecurityGroup", b)
        guard.wait_log(r"event %s: new group %s \(%s\) created by %s is now guarded "
                       r"\(tag:Protect=yes\)" % (rec["eventID"], b, REGION,
                                                 re.escape("arn:aws:iam::%s:root" % ACCOUNT)))
        (m,) = guard.wait("CREATED", lambda: messages_for(b), 10)
        assert m["subject"] == "[sgguard] CREATED %s (%s)" % (b, REGION), m
        assert "event_name: CreateSecurityGroup" in body_lines(m), body_lines(m)
        ingress(b, [tcp(3389)], w["mallory"])
        guard.wait_log(r"reverted 1 rule on %s" % b)
        assert rules_of(b) == set()
        # Deleted: reported.
        ec2().delete_security_group(GroupId=b)
        rec = record_of("DeleteSecurityGroup", b)
        guard.wait_log(r"event %s: guarded group %s \(%s\) was deleted by" % (
            rec["eventID"], b, REGION))
        msgs = guard.wait("DELETED", lambda: len(messages_for(b)) >= 3 and messages_for(b), 10)
        assert kinds(msgs) == ["CREATED", "AUTO-MITIGATED", "DELETED"], kinds(msgs)
        assert msgs[2]["subject"] == "[sgguard] DELETED %s (%s)" % (b, REGION)
        assert "event_name: DeleteSecurityGroup" in body_lines(msgs[2])
        # The untagged group was never touched.
        assert rules_of(plain) == {"tcp 22-22 0.0.0.0/0"}
        assert messages_for(plain) == []
        guard.stop()
    finally:
        guard.cleanup()


@case("[groups tag:...]: a tagged group deleted before a reload (or a tag search) drops it is "
      "still reported DELETED when the record comes")
def tags_deleted_then_reload():
    w = world()
    aws = w["aws"]
    a = new_group(tags={"Gone": "yes"})
    b = new_group(tags={"Gone": "yes"})
    guard = Guard("[groups tag:Gone=yes]\nregions = %s\n" % REGION, poll=5)
    try:
        guard.start()
        guard.wait_log(r"tag:Gone=yes: now guarding %s" % a)
        guard.wait_log(r"tag:Gone=yes: now guarding %s" % b)
        guard.wait_log(r"started")
        aws.config(delivery_delay=15)
        t0 = time.time()
        ec2().delete_security_group(GroupId=a)
        ec2().delete_security_group(GroupId=b)
        # The reload's tag search finds them gone before CloudTrail has
        # the records.
        guard.proc.send_signal(signal.SIGHUP)
        guard.wait_log(r"configuration reloaded")
        # Dropped by the reload, or already by a tag search that a
        # CloudTrail record of another case set off.
        guard.wait_log(r"%s (is no longer guarded|\(%s\) no longer carries the tag)"
                       % (a, REGION))
        for g in (a, b):
            guard.wait("DELETED for %s" % g, lambda g=g: messages_for(g), timeout=60)
            (m,) = messages_for(g)
            assert m["subject"] == "[sgguard] DELETED %s (%s)" % (g, REGION), m
        assert time.time() - t0 >= 14, "reported before the record could be there"
        guard.stop()
    finally:
        aws.config(delivery_delay=0)
        guard.cleanup()


@case("[groups tag:...]: a tagged group deleted while sgguard was stopped is reported DELETED "
      "at the next start; one untagged long ago is not, and its baseline goes")
def tags_deleted_while_stopped():
    w = world()
    a = new_group(tags={"Stopped": "yes"})
    b = new_group(tags={"Stopped": "yes"})
    guard = Guard("[groups tag:Stopped=yes]\nregions = %s\n" % REGION, poll=5)
    try:
        r = guard.once()
        assert r.returncode == 0, r.stderr
        for g in (a, b):
            assert "now guarding %s" % g in r.stderr, r.stderr
        ec2().delete_security_group(GroupId=a)
        # b loses its tag, and has done so for longer than 2 x lookback
        # by the time it is deleted.
        ec2().delete_tags(Resources=[b], Tags=[{"Key": "Stopped"}])
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert kinds(messages_for(a)) == ["CREATED", "DELETED"], messages_for(a)
        path = os.path.join(guard.state, "baselines.json")
        with open(path) as f:
            bl = json.load(f)["baselines"]
        assert not any(a in k for k in bl), bl          # dropped with the group
        (kb,) = [k for k in bl if b in k]
        assert bl[kb]["unguarded_since"] > 0, bl[kb]
        bl[kb]["unguarded_since"] -= 2 * 900 + 10
        with open(path, "w") as f:
            json.dump({"version": 1, "baselines": bl}, f)
        ec2().delete_security_group(GroupId=b)
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert kinds(messages_for(b)) == ["CREATED"], messages_for(b)
        with open(path) as f:
            assert b not in f.read()
    finally:
        guard.cleanup()


# --- 7. other accounts ---------------------------------------------------


def other_account():
    """Account 222233334444: its root key, a role sgguard (trusting the
    sgguard-accounts user, allowed docs/iam-policy.json) and a mallory."""
    w = world()
    if "other_mallory" in w:
        return
    aws = w["aws"]
    aws.register_key(access_key_id=OTHER_ROOT["access_key_id"],
                     secret_access_key=OTHER_ROOT["secret_access_key"],
                     account=OTHER, type="Root")
    iam = aws.client("iam", creds=OTHER_ROOT)
    iam.create_role(RoleName="sgguard", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": w["sgguard-accounts"]["arn"]}}]}))
    iam.put_role_policy(RoleName="sgguard", PolicyName="iam-policy.json",
                        PolicyDocument=json.dumps(policy("iam-policy.json")))
    u = iam.create_user(UserName="mallory")["User"]
    iam.put_user_policy(UserName="mallory", PolicyName="inline",
                        PolicyDocument=json.dumps(EC2_CHANGES))
    k = iam.create_access_key(UserName="mallory")["AccessKey"]
    w["other_mallory"] = localaws.Creds(access_key_id=k["AccessKeyId"],
                                        secret_access_key=k["SecretAccessKey"], arn=u["Arn"])
    w["other_vpc"] = ec2(OTHER_ROOT).describe_vpcs()["Vpcs"][0]["VpcId"]


@case("[account prod]: an unauthorized rule in account 222233334444 is revoked through the assumed role")
def accounts():
    w = world()
    other_account()
    aws = w["aws"]
    g = new_group(creds=OTHER_ROOT, vpc=w["other_vpc"])
    guard = Guard("[account prod]\nrole_arn = %s\n\n" % OTHER_ROLE +
                  group_section(g, "account = prod", "allow = tcp 443 0.0.0.0/0"),
                  creds=w["sgguard-accounts"],
                  extra_env={"SGGUARD_HTTP_TIMEOUT_MS": "20000"})
    try:
        assert guard.once().returncode == 0        # cursor and baseline
        t0 = time.time()
        ingress(g, [tcp(22), tcp(443)], w["other_mallory"])
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert rules_of(g, creds=OTHER_ROOT) == {"tcp 443-443 0.0.0.0/0"}, \
            rules_of(g, creds=OTHER_ROOT)
        assert re.search(r"reverted 1 rule on %s" % g, r.stderr), r.stderr
        # The revoke: signed with the assumed role's key, in that account.
        revs = requests_by(None, "RevokeSecurityGroupIngress", t0, account=OTHER)
        assert len(revs) == 1 and revs[0]["status"] == 200, revs
        assert revs[0]["access_key_id"].startswith("ASIA"), revs
        assert requests_by(guard.creds, "RevokeSecurityGroupIngress", t0) == []
        (rec,) = [e["record"] for e in aws.events(account=OTHER,
                                                 name="RevokeSecurityGroupIngress")
                  if g in json.dumps(e["record"]["requestParameters"])]
        ui = rec["userIdentity"]
        assert ui["type"] == "AssumedRole", ui
        assert ui["accountId"] == OTHER, ui
        assert ui["arn"].startswith("arn:aws:sts::%s:assumed-role/sgguard/" % OTHER), ui
        assert ui["sessionContext"]["sessionIssuer"]["arn"] == OTHER_ROLE, ui
        assert ui["accessKeyId"] == revs[0]["access_key_id"], ui
        (m,) = messages_for(g)
        d = body(m)
        assert m["subject"] == "[sgguard] AUTO-MITIGATED %s (%s)" % (g, REGION), m
        assert d["account"] == OTHER, d
        assert d["principal"] == w["other_mallory"]["arn"], d
        assert "kept: tcp 443 0.0.0.0/0" in body_lines(m)
        cursors = guard.state_json()["cursors"]
        print("# state cursors: %s" % json.dumps(cursors))
        keys = list(cursors) if isinstance(cursors, dict) else \
            [c.get("key") for c in cursors]
        assert "prod/us-east-1" in keys, cursors
        # The base account is not polled: no group of it is watched.
        assert "default/us-east-1" not in keys, cursors
    finally:
        guard.cleanup()


@case("[account self] whose role is in the credentials' own account: guarded, and one "
      "warning that both entries are one AWS account (one CloudTrail limit)")
def same_account():
    w = world()
    aws = w["aws"]
    role = aws.create_role("sgguard", policy("iam-policy.json"),
                           principal=w["sgguard-accounts"]["arn"])
    g1, g2 = new_group(), new_group()
    guard = Guard("[account self]\nrole_arn = %s\n\n" % role["Arn"] +
                  group_section(g1, "allow = tcp 443 0.0.0.0/0") +
                  group_section(g2, "account = self", "allow = tcp 443 0.0.0.0/0"),
                  creds=w["sgguard-accounts"])
    try:
        for g in (g1, g2):
            ingress(g, [tcp(22)], w["mallory"])
        r = guard.once()
        assert r.returncode == 0, r.stderr
        said = re.findall(r"warning: accounts (default and self|self and default) are both "
                          r"AWS account %s: their regions are polled twice" % ACCOUNT,
                          r.stderr)
        assert len(said) == 1, r.stderr
        for g in (g1, g2):
            assert "tcp 22-22 0.0.0.0/0" not in rules_of(g), g
    finally:
        guard.cleanup()


# --- 8. digest -----------------------------------------------------------


@case("digest: 12 unauthorized changes within a minute give 10 messages and 1 DIGEST of the other 2")
def digest():
    w = world()
    g = new_group()
    guard = Guard(group_section(g, "allow = tcp 443 0.0.0.0/0"))
    try:
        assert guard.once().returncode == 0
        for port in range(1001, 1013):
            ingress(g, [tcp(port)], w["mallory"])
        recs = [e["record"] for e in w["aws"].events(name="AuthorizeSecurityGroupIngress")
                if e["record"]["requestParameters"].get("groupId") == g]
        ids = [r["eventID"] for r in recs]
        assert len(ids) == 12, ids
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert rules_of(g) == set(), rules_of(g)
        msgs = messages_for(g)
        assert sorted(kinds(msgs)) == ["AUTO-MITIGATED"] * 10 + ["DIGEST"], kinds(msgs)
        single = [body(m)["event_id"] for m in msgs if kinds([m]) == ["AUTO-MITIGATED"]]
        (dg,) = [m for m in msgs if kinds([m]) == ["DIGEST"]]
        assert dg["subject"] == "[sgguard] DIGEST %s (%s)" % (g, REGION), dg
        folded = [ln.split()[1] for ln in body_lines(dg) if ln.startswith("event: ")]
        print("# digest body: %r" % body_lines(dg))
        assert len(folded) == 2, body_lines(dg)
        # The first line as sgguard(8) shows it.
        assert body_lines(dg)[0] == ("digest: 2 notifications folded: more than 10 for this "
                                     "group within 60 seconds"), body_lines(dg)
        assert sorted(single + folded) == sorted(ids), (single, folded, ids)
        for ln in body_lines(dg):
            if ln.startswith("event: "):
                assert ln.endswith(" reverted " + w["mallory"]["arn"]), ln
        # Nothing left to send.
        assert guard.state_json()["pending"] == []
        assert guard.once().returncode == 0
        assert len(messages_for(g)) == 11
    finally:
        guard.cleanup()


# --- 9. IAM ----------------------------------------------------------------


@case("restore without docs/iam-policy-restore.json: FAILED notification naming UnauthorizedOperation")
def restore_denied():
    w = world()
    g = new_group()
    ingress(g, [tcp(8080, "10.0.0.0/8")], w["admin"])
    guard = Guard(group_section(g, "restore = yes",
                                "allow_principal = %s" % w["admin_role_arn"]),
                  creds=w["sgguard-norestore"])
    try:
        assert guard.once().returncode == 0        # baseline
        ec2(w["mallory"]).revoke_security_group_ingress(
            GroupId=g, IpPermissions=[tcp(8080, "10.0.0.0/8")])
        r = guard.once()
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert rules_of(g) == set(), rules_of(g)
        assert re.search(r"could not restore \[tcp 8080 10\.0\.0\.0/8\] on %s" % g, r.stderr)
        (m,) = messages_for(g)
        assert m["subject"] == "[sgguard] FAILED %s (%s)" % (g, REGION), m
        lines = body_lines(m)
        err = [ln for ln in lines if ln.startswith("error: ")]
        assert len(err) == 1 and "UnauthorizedOperation" in err[0], lines
        # Acted on once.
        guard.once()
        assert len(messages_for(g)) == 1
        # The rule was not restored: the message must not say it was.
        assert "restored: tcp 8080 10.0.0.0/8" not in lines, \
            "FAILED message claims the rule was restored: %r" % lines
        assert "failed: tcp 8080 10.0.0.0/8" in lines, lines
    finally:
        guard.cleanup()


@case("the shipped policies suffice: no request of sgguard's users was denied")
def no_denials():
    w = world()
    users = [w[k]["access_key_id"] for k in ("sgguard", "sgguard-accounts")]
    denied = [q for q in w["aws"].requests()
              if q["access_key_id"] in users and q["error_code"] in
              ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException",
               "AuthorizationError")]
    assert denied == [], denied
    throttled = [q for q in w["aws"].requests(service="cloudtrail")
                 if q["access_key_id"] in users and q["error_code"] == "ThrottlingException"]
    # Back-to-back --once runs: each process paces itself, not the one
    # before it, so the first lookups of a run can be throttled (retried).
    print("# LookupEvents throttled and retried: %d" % len(throttled))


if __name__ == "__main__":
    # BEYOND_CASES=name,name runs only those cases (by function name).
    only = [n for n in os.environ.get("BEYOND_CASES", "").split(",") if n]

    def timed(fn):
        def run():
            t = time.monotonic()
            try:
                fn()
            finally:
                print("# %s: %.1f s" % (fn.__name__, time.monotonic() - t))
        run.__name__ = fn.__name__
        return run
    harness._cases[:] = [(n, timed(f)) for n, f in harness._cases]
    try:
        harness.run([c for c in harness._cases if c[1].__name__ in only] if only else None)
    finally:
        if W.get("aws"):
            W["aws"].stop()
