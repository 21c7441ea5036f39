#!/usr/bin/env python3
"""The guard end to end, through the real binary, against localaws (moto
with IAM enforcement, and a CloudTrail stand-in that records every
security-group call in CloudTrail's format).

sgguard signs in as an IAM user whose policy is docs/iam-policy.json,
verbatim. Every case watches its own new group with its own state
directory, so the cases do not see each other's events.
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
POLICY = os.path.join(harness.ROOT, "docs", "iam-policy.json")

W = {}          # the world: localaws, identities, topic


def world():
    if W:
        return W
    aws = localaws.start("--auth")
    W["aws"] = aws
    with open(POLICY) as f:
        W["sgguard"] = aws.create_user("sgguard", json.load(f))
    # What a careless or hostile user may do: change security groups.
    W["mallory"] = aws.create_user("mallory", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules"]}]})
    role = aws.create_role("NetworkAdmins", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": "ec2:*"}]})
    W["admin"] = aws.assume_role(role["Arn"], "alice")
    W["admin_role_arn"] = role["Arn"]
    # sgguard without the right to revoke, for the FAILED path.
    W["weak"] = aws.create_user("sgguard-weak", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "cloudtrail:LookupEvents", "sns:Publish"]}]})
    W["topic"] = aws.client("sns").create_topic(Name="sgguard-alerts")["TopicArn"]
    W["vpc"] = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    W["n"] = 0
    return W


def new_group():
    w = world()
    w["n"] += 1
    g = w["aws"].client("ec2").create_security_group(
        GroupName="guarded-%d" % w["n"], Description="watched by sgguard",
        VpcId=w["vpc"])
    return g["GroupId"]


def ingress(group, perms, creds):
    return W["aws"].client("ec2", creds=creds).authorize_security_group_ingress(
        GroupId=group, IpPermissions=perms)


def tcp(port, cidr="0.0.0.0/0"):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": cidr}]}


def tcp6(port, cidr="::/0"):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "Ipv6Ranges": [{"CidrIpv6": cidr}]}


def rules_of(group):
    """The group's ingress rules as 'proto from-to source' strings."""
    ec2 = W["aws"].client("ec2")
    out = set()
    for r in ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]:
        if r["IsEgress"]:
            continue
        src = (r.get("CidrIpv4") or r.get("CidrIpv6") or r.get("PrefixListId")
               or r.get("ReferencedGroupInfo", {}).get("GroupId"))
        out.add("%s %s-%s %s" % (r["IpProtocol"], r.get("FromPort"), r.get("ToPort"), src))
    return out


class Guard:
    """A config, a state directory and runs of the real binary."""

    def __init__(self, group, extra="", creds=None, poll=5):
        self.group = group
        self.dir = tempfile.mkdtemp(prefix="sgguard-guard-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "sgguard.ini")
        self.creds = creds or W["sgguard"]
        self.write("""[sgguard]
poll_interval = %d
lookback = 900
[aws]
region = %s
endpoint_url = %s
[notify]
topic_arn = %s
[group %s]
allow = tcp 443 0.0.0.0/0
allow = tcp 443 ::/0
allow_principal = %s
%s""" % (poll, REGION, W["aws"].endpoint, W["topic"], group,
         W["admin_role_arn"], extra))

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def env(self):
        e = {"PATH": os.environ["PATH"], "HOME": self.dir,
             "AWS_ACCESS_KEY_ID": self.creds["access_key_id"],
             "AWS_SECRET_ACCESS_KEY": self.creds["secret_access_key"],
             "AWS_EC2_METADATA_DISABLED": "true",
             "SGGUARD_TEST_FAST": "1"}
        if self.creds.get("session_token"):
            e["AWS_SESSION_TOKEN"] = self.creds["session_token"]
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
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+")
        self.proc = harness.spawn([harness.BIN, "-c", self.config, "--state-dir",
                                   self.state, *args], stdout=self.log,
                                  stderr=subprocess.STDOUT, env=self.env())
        return self.proc

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def wait_log(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output()):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("no log line matching %r in %ds:\n%s"
                             % (pattern, timeout, self.output()))


def messages_for(group, since=0):
    return [m for m in W["aws"].sns_messages(topic=W["topic"], since=since)
            if group in m["subject"]]


def body_lines(m):
    return m["message"].rstrip("\n").split("\n")


@case("an unauthorized SSH rule is revoked and AUTO-MITIGATED is published")
def revert_ssh():
    world()
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
    r = Guard(g).once()
    assert r.returncode == 0, r.stderr
    assert "tcp 22-22 0.0.0.0/0" not in rules_of(g), rules_of(g)
    msgs = messages_for(g)
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m["subject"] == "[sgguard] AUTO-MITIGATED %s (%s)" % (g, REGION), m["subject"]
    lines = body_lines(m)
    keys = [ln.split(": ", 1)[0] for ln in lines]
    assert keys == ["event_id", "event_name", "event_time", "account", "region",
                    "group_id", "principal", "source_ip", "user_agent", "revoked"], lines
    d = dict(ln.split(": ", 1) for ln in lines)
    assert d["event_name"] == "AuthorizeSecurityGroupIngress"
    assert d["group_id"] == g
    assert d["principal"] == W["mallory"]["arn"], d
    assert d["account"] == ACCOUNT
    assert d["revoked"] == "tcp 22 0.0.0.0/0"
    assert re.search(r"reverted 1 rule on %s" % g, r.stderr), r.stderr


@case("a mixed call: only the unauthorized rules go, authorized ones are kept")
def mixed_call():
    g = new_group()
    ingress(g, [tcp(443), tcp(22), tcp6(3389)], W["mallory"])
    r = Guard(g).once()
    assert r.returncode == 0, r.stderr
    assert rules_of(g) == {"tcp 443-443 0.0.0.0/0"}, rules_of(g)
    (m,) = messages_for(g)
    lines = body_lines(m)
    assert "revoked: tcp 22 0.0.0.0/0" in lines, lines
    assert "revoked: tcp 3389 ::/0" in lines, lines
    assert "kept: tcp 443 0.0.0.0/0" in lines, lines


@case("a change by an allow_principal (assumed role via its issuer) is kept")
def allowed_principal():
    g = new_group()
    ingress(g, [tcp(22)], W["admin"])
    r = Guard(g).once()
    assert r.returncode == 0, r.stderr
    assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
    assert messages_for(g) == []
    assert "is authorized" in r.stderr, r.stderr


@case("rules every allow pattern covers are left alone, silently")
def allowed_rules():
    g = new_group()
    ingress(g, [tcp(443), tcp6(443)], W["mallory"])
    r = Guard(g).once()
    assert r.returncode == 0
    assert len(rules_of(g)) == 2
    assert messages_for(g) == []


@case("a failed call (errorCode) is ignored")
def failed_call_ignored():
    g = new_group()
    ingress(g, [tcp(443)], W["admin"])
    try:
        ingress(g, [tcp(443)], W["mallory"])      # duplicate: fails
    except Exception as e:  # noqa: BLE001
        assert "Duplicate" in str(e), e
    else:
        raise AssertionError("duplicate rule was accepted")
    rec = W["aws"].wait_record(eventName="AuthorizeSecurityGroupIngress",
                               errorCode="Client.InvalidPermission.Duplicate")
    assert rec
    # A call refused for its malformed CIDR: nothing to act on, nothing
    # to warn about either.
    try:
        ingress(g, [tcp(22, "10.0.0.0/33")], W["mallory"])
    except Exception as e:  # noqa: BLE001
        assert "CIDR" in str(e) or "Invalid" in str(e), e
    else:
        raise AssertionError("a /33 was accepted")
    r = Guard(g).once()
    assert r.returncode == 0
    assert rules_of(g) == {"tcp 443-443 0.0.0.0/0"}
    assert messages_for(g) == []
    assert "warning" not in r.stderr, r.stderr


@case("--dry-run (audit) detects and notifies DRY-RUN, never changes the group")
def dry_run():
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    r = Guard(g).once("--dry-run")
    assert r.returncode == 0, r.stderr
    assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
    (m,) = messages_for(g)
    assert m["subject"] == "[sgguard] DRY-RUN %s (%s)" % (g, REGION)
    assert "would_revoke: tcp 22 0.0.0.0/0" in body_lines(m)
    assert "would revert" in r.stderr
    # mode = audit in the file does the same.
    g2 = new_group()
    ingress(g2, [tcp(23)], W["mallory"])
    gd = Guard(g2)
    with open(gd.config) as f:
        text = f.read()
    gd.write(text.replace("[sgguard]\n", "[sgguard]\nmode = audit\n"))
    assert gd.once().returncode == 0
    assert "tcp 23-23 0.0.0.0/0" in rules_of(g2)
    assert [m["subject"].split()[1] for m in messages_for(g2)] == ["DRY-RUN"]


@case("each event is acted on once: a second run neither revokes nor notifies again")
def once_only():
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    guard = Guard(g)
    assert guard.once().returncode == 0
    assert len(messages_for(g)) == 1
    t = time.time()
    # The same rule again, by the admin this time: it must stay.
    ingress(g, [tcp(22)], W["admin"])
    assert guard.once().returncode == 0
    assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
    assert len(messages_for(g)) == 1
    revokes = [q for q in W["aws"].requests(service="ec2", action="RevokeSecurityGroupIngress",
                                            since=t)]
    assert revokes == [], revokes
    with open(os.path.join(guard.state, "state.json")) as f:
        st = json.load(f)
    assert st["pending"] == []
    assert len(st["handled"]) >= 2


@case("a window that would reach back before what was handled and forgotten (lookback "
      "raised, the clock back) stops at the horizon: nothing acted on twice")
def horizon():
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    guard = Guard(g)
    assert guard.once().returncode == 0
    assert len(messages_for(g)) == 1
    # The admin puts the same rule back on purpose.
    ingress(g, [tcp(22)], W["admin"])
    path = os.path.join(guard.state, "state.json")
    with open(path) as f:
        st = json.load(f)
    # As after a run with lookback = 60 a few minutes later: the first
    # event forgotten, the horizon past it; this run's lookback (900)
    # reaches back over it.
    (ev,) = [e for e, t in st["handled"].items()
             if e in [x["record"]["eventID"] for x in W["aws"].events(
                 name="AuthorizeSecurityGroupIngress")
                 if g in json.dumps(x["record"]["requestParameters"])
                 and "mallory" in x["record"]["userIdentity"].get("arn", "")]]
    st["horizon"] = st["handled"].pop(ev) + 1
    with open(path, "w") as f:
        json.dump(st, f)
    t = time.time()
    r = guard.once("--log-level", "debug")
    assert r.returncode == 0, r.stderr
    assert "the window starts at the horizon" in r.stderr, r.stderr
    assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
    assert len(messages_for(g)) == 1, messages_for(g)
    assert W["aws"].requests(service="ec2", action="RevokeSecurityGroupIngress",
                             since=t) == []
    # What comes after the horizon is acted on as ever.
    ingress(g, [tcp(23)], W["mallory"])
    assert guard.once().returncode == 0
    assert "tcp 23-23 0.0.0.0/0" not in rules_of(g)
    assert len(messages_for(g)) == 2

    # An account-region with no cursor yet (a region added later) read
    # nothing before: the horizon other windows set does not hold it.
    g2 = new_group()
    ingress(g2, [tcp(24)], W["mallory"])
    guard2 = Guard(g2)
    os.makedirs(guard2.state, mode=0o700)
    with open(os.path.join(guard2.state, "state.json"), "w") as f:
        json.dump({"version": 1, "cursors": {}, "handled": {}, "pending": [],
                   "horizon": int(time.time()) + 1}, f)
    r = guard2.once("--log-level", "debug")
    assert r.returncode == 0, r.stderr
    assert "the window starts at the horizon" not in r.stderr, r.stderr
    assert "tcp 24-24 0.0.0.0/0" not in rules_of(g2), rules_of(g2)


@case("one sgguard per state directory: a second one refuses (exit 1), nothing acted on twice")
def one_per_state_dir():
    g = new_group()
    guard = Guard(g, poll=5)
    guard.start()
    try:
        guard.wait_log(r"started")
        ingress(g, [tcp(22)], W["mallory"])
        r = guard.once()
        assert r.returncode == 1, r.returncode
        lines = [ln for ln in r.stderr.splitlines() if "error" in ln]
        assert len(lines) == 1, r.stderr
        assert re.search(r"state directory %s is in use by another sgguard \(pid %d\)"
                         % (re.escape(guard.state), guard.proc.pid), lines[0]), lines[0]
        assert "started" not in r.stderr, "the second one went on: %s" % r.stderr
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=30)
        time.sleep(1)
        assert len(messages_for(g)) == 1, messages_for(g)
    finally:
        guard.proc.send_signal(signal.SIGTERM)
        rc = guard.proc.wait(10)
    assert rc == 0, guard.output()
    # Gone with its process: the next run takes the directory over.
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert len(messages_for(g)) == 1
    # A lock that is there but cannot be opened (another user's file; a
    # directory here, since the tests run as root): whether another
    # sgguard holds it is unknown, so this one does not run.
    lock = os.path.join(guard.state, "lock")
    os.remove(lock)
    os.mkdir(lock)
    ingress(g, [tcp(23)], W["mallory"])
    r = guard.once()
    assert r.returncode == 1, r.stderr
    assert "cannot open the lock %s (Is a directory; it is not a file" % lock in r.stderr, \
        r.stderr
    assert "started" not in r.stderr, r.stderr
    assert "tcp 23-23 0.0.0.0/0" in rules_of(g)
    os.rmdir(lock)


def sgguard_role(name):
    """A role sgguard may work as (its sessions: an instance role's keys)."""
    return W["aws"].create_role(name, {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "ec2:*", "cloudtrail:LookupEvents", "sns:Publish"]}]})


@case("own calls are known after a restart with new temporary keys (restore not undone)")
def own_keys_across_restart():
    aws = W["aws"]
    role = sgguard_role("sgguard-rotating")
    # Two sessions of one role: what an instance role hands out over time.
    k1 = aws.assume_role(role["Arn"], "sgguard-host")
    k2 = aws.assume_role(role["Arn"], "sgguard-host")
    assert k1["access_key_id"] != k2["access_key_id"]
    eve = aws.create_user("eve", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*",
                       "Action": ["ec2:RevokeSecurityGroupIngress"]}]})
    g = new_group()
    ingress(g, [tcp(8080, "10.0.0.0/8")], W["admin"])
    guard = Guard(g, extra="restore = yes\n", creds=k1)
    assert guard.once().returncode == 0           # the baseline holds 8080
    # The snapshot is old by the time anything happens (not "just taken").
    path = os.path.join(guard.state, "baselines.json")
    with open(path) as f:
        bl = json.load(f)
    for b in bl["baselines"].values():
        b["taken"] -= 3600
    with open(path, "w") as f:
        json.dump(bl, f)
    aws.client("ec2", creds=eve).revoke_security_group_ingress(
        GroupId=g, IpPermissions=[tcp(8080, "10.0.0.0/8")])
    assert guard.once().returncode == 0           # restored by k1
    assert rules_of(g) == {"tcp 8080-8080 10.0.0.0/8"}, rules_of(g)
    assert len(messages_for(g)) == 1
    with open(os.path.join(guard.state, "state.json")) as f:
        assert k1["access_key_id"] in json.load(f)["own_keys"]
    t = time.time()
    guard.creds = k2                              # restarted with new keys
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert rules_of(g) == {"tcp 8080-8080 10.0.0.0/8"}, "sgguard undid its own restore"
    assert aws.requests(service="ec2", action="RevokeSecurityGroupIngress", since=t) == []
    assert len(messages_for(g)) == 1, messages_for(g)


@case("credentials from a profile's credential_process (a role's temporary keys) guard as well")
def credential_process_profile():
    aws = W["aws"]
    role = sgguard_role("sgguard-process")
    k = aws.assume_role(role["Arn"], "sgguard-host")
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    guard = Guard(g)
    # A helper in a directory with a blank in its name, as the AWS docs
    # allow: quoted in the file, run without a shell.
    tools = os.path.join(guard.dir, "cred tools")
    os.makedirs(tools)
    helper = os.path.join(tools, "get-creds")
    args_file = os.path.join(guard.dir, "helper-args")
    doc = {"Version": 1, "AccessKeyId": k["access_key_id"],
           "SecretAccessKey": k["secret_access_key"],
           "SessionToken": k["session_token"],
           "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                       time.gmtime(time.time() + 3600))}
    with open(helper, "w") as f:
        f.write("#!/bin/sh\nprintf '%%s|' \"$@\" > '%s'\ncat <<'EOF'\n%s\nEOF\n"
                % (args_file, json.dumps(doc)))
    os.chmod(helper, 0o700)
    os.makedirs(os.path.join(guard.dir, ".aws"))
    with open(os.path.join(guard.dir, ".aws", "config"), "w") as f:
        # "; x" is no comment there, for botocore neither: arguments.
        f.write("[profile ops]\nregion = %s\ncredential_process = \"%s\" --role "
                "'sgguard host' ; keep-me\n" % (REGION, helper))
    with open(guard.config) as f:
        text = f.read()
    guard.write(text.replace("[aws]\n", "[aws]\nprofile = ops\n", 1))
    env = guard.env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    guard.env = lambda: env
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert "credentials: using profile ops (credential_process) (access key %s" \
        % k["access_key_id"] in r.stderr, r.stderr
    with open(args_file) as f:
        assert f.read() == "--role|sgguard host|;|keep-me|"
    assert "tcp 22-22 0.0.0.0/0" not in rules_of(g), rules_of(g)
    assert len(messages_for(g)) == 1, messages_for(g)
    for secret in (k["secret_access_key"], k["session_token"]):
        assert secret not in r.stderr, "secret in the log"
    # The helper is not there any more: one error naming it, exit 1.
    os.rename(helper, helper + ".gone")
    r = guard.once()
    assert r.returncode == 1, r.stderr
    assert "credential_process: %s: No such file or directory" % helper in r.stderr, r.stderr
    assert "instance metadata" not in r.stderr, r.stderr


def profile_guard(guard, config, credentials=None):
    """Run guard with [aws] profile = guard, the shared files given and no
    keys in the environment."""
    os.makedirs(os.path.join(guard.dir, ".aws"), exist_ok=True)
    for name, text in (("config", config), ("credentials", credentials)):
        if text is not None:
            with open(os.path.join(guard.dir, ".aws", name), "w") as f:
                f.write(text)
    with open(guard.config) as f:
        text = f.read()
    guard.write(text.replace("[aws]\n", "[aws]\nprofile = guard\n", 1))
    env = guard.env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    guard.env = lambda: env
    return env


def record_of_revoke(group):
    """userIdentity of the RevokeSecurityGroupIngress records of group."""
    out = []
    for e in W["aws"].events():
        rec = e["record"]
        if rec.get("eventName") == "RevokeSecurityGroupIngress" and \
                group in json.dumps(rec.get("requestParameters")):
            out.append(rec["userIdentity"])
    return out


def trusting_role(name, principal, actions):
    """A role that principal may assume, allowed actions."""
    return W["aws"].create_role(name, {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": actions}]},
        principal=principal)


def keys_section(name, creds):
    return "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (
        name, creds["access_key_id"], creds["secret_access_key"])


def opened(port):
    """A new group that mallory opened port on, and a Guard of it."""
    g = new_group()
    ingress(g, [tcp(port)], W["mallory"])
    return g, Guard(g)


@case("a profile with role_arn and source_profile: sgguard assumes the role and works as it")
def role_profile():
    aws = W["aws"]
    guard_actions = ["ec2:*", "cloudtrail:LookupEvents", "sns:Publish"]
    # The source may do nothing but assume the role, which trusts it.
    base = aws.create_user("sgguard-base", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*",
                       "Action": ["sts:AssumeRole"]}]})
    role = trusting_role("sgguard-profile-role", base["arn"], guard_actions)
    g, guard = opened(22)
    profile_guard(guard, "[profile guard]\nrole_arn = %s\nsource_profile = base\n"
                  "role_session_name = sgguard-test\nduration_seconds = 900\n"
                  % role["Arn"], keys_section("base", base))
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert re.search(r"credentials: using profile guard \(role %s\) \(access key "
                     r"\S+, expires " % re.escape(role["Arn"]), r.stderr), r.stderr
    assert "tcp 22-22 0.0.0.0/0" not in rules_of(g), rules_of(g)
    assert len(messages_for(g)) == 1, messages_for(g)
    # The revoke was made by the role's session, not by the source user.
    who = record_of_revoke(g)
    assert who and all(u.get("type") == "AssumedRole" and
                       u["arn"].endswith(":assumed-role/sgguard-profile-role/sgguard-test")
                       for u in who), who
    assert base["secret_access_key"] not in r.stderr, "secret in the log"
    # A second run: sgguard's own revoke in CloudTrail is not acted on.
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert len(messages_for(g)) == 1, messages_for(g)

    # A chain: guard's source is a role profile whose source has the keys.
    # (moto matches the session, not the role, against a trust policy;
    # AWS takes either.)
    mid = trusting_role("sgguard-mid", base["arn"], ["sts:AssumeRole"])
    top = trusting_role("sgguard-top", "arn:aws:sts::%s:assumed-role/sgguard-mid/chain"
                        % ACCOUNT, guard_actions)
    g, guard = opened(25)
    profile_guard(guard, "[profile guard]\nrole_arn = %s\nsource_profile = mid\n"
                  "[profile mid]\nrole_arn = %s\nsource_profile = base\n"
                  "role_session_name = chain\n" % (top["Arn"], mid["Arn"]),
                  keys_section("base", base))
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert "tcp 25-25 0.0.0.0/0" not in rules_of(g), rules_of(g)
    who = record_of_revoke(g)
    assert who and all(":assumed-role/sgguard-top/" in u["arn"] for u in who), who

    # credential_source = Environment: the environment's keys are the source.
    g, guard = opened(23)
    env = profile_guard(guard, "[profile guard]\nrole_arn = %s\n"
                        "credential_source = Environment\n" % role["Arn"])
    env["AWS_ACCESS_KEY_ID"] = base["access_key_id"]
    env["AWS_SECRET_ACCESS_KEY"] = base["secret_access_key"]
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert "tcp 23-23 0.0.0.0/0" not in rules_of(g), rules_of(g)
    who = record_of_revoke(g)
    assert who and all(":assumed-role/sgguard-profile-role/" in u["arn"] for u in who), who

    # A source that cannot assume the role: one error naming the role and
    # AWS's answer, exit 1, nothing else tried.
    g, guard = opened(24)
    profile_guard(guard, "[profile guard]\nrole_arn = %s\nsource_profile = weak\n"
                  % role["Arn"], keys_section("weak", W["mallory"]))
    r = guard.once()
    assert r.returncode == 1, r.stderr
    assert "profile guard: " in r.stderr and "may not assume %s" % role["Arn"] in r.stderr, \
        r.stderr
    assert "user/mallory is not authorized" in r.stderr, r.stderr
    assert "instance metadata" not in r.stderr, r.stderr
    assert "tcp 24-24 0.0.0.0/0" in rules_of(g)


@case("a first window stopped midway keeps what it handled (no event acted on twice); "
      "a first window that failed is read again from its start, not from now")
def first_window():
    w = world()
    aws = w["aws"]
    gs = [new_group(), new_group()]
    # 80 calls (a group holds 60 rules): enough that SIGTERM lands while
    # the window is handled.
    for k in range(80):
        ingress(gs[k % 2], [tcp(2000 + k)], w["mallory"])
    guard = Guard(gs[0], extra="\n[group %s]\nallow = tcp 443 0.0.0.0/0\n" % gs[1])
    # Each revoke takes 0.2 s: the window takes 16 s or more, so the stop
    # lands inside it on any machine.
    aws.fault(service="ec2", action="RevokeSecurityGroupIngress", count=-1,
              mode="delay", seconds=0.2)
    guard.start()
    try:
        guard.wait_log(r"reverted 1 rule on ", timeout=60)
    finally:
        guard.proc.send_signal(signal.SIGTERM)
        rc = guard.proc.wait(10)
        aws.clear_faults()
    assert rc == 0, guard.output()
    done = len(re.findall(r"reverted 1 rule on ", guard.output()))
    with open(os.path.join(guard.state, "state.json")) as f:
        st = json.load(f)
    assert len(st["handled"]) >= done, (done, len(st["handled"]))
    assert done < 80, "the stop came after the window: the case proves nothing"
    r = guard.once()
    assert r.returncode == 0, r.stderr
    revokes = [e["record"] for e in aws.events(name="RevokeSecurityGroupIngress")
               if any(g in json.dumps(e["record"].get("requestParameters")) for g in gs)]
    refused = [x for x in revokes if x.get("errorCode")]
    assert len(revokes) == 80 and not refused, "%d revokes, %d refused" % (
        len(revokes), len(refused))

    # CloudTrail fails from the first window on: the next run reaches back
    # to where protection began.
    g2 = new_group()
    guard2 = Guard(g2)
    aws.fault(service="cloudtrail", action="*", count=-1, mode="error",
              error={"code": "ServiceUnavailable", "message": "down", "status": 503})
    try:
        t0 = int(time.time())
        r = guard2.once()
        assert r.returncode == 1, r.stderr
    finally:
        aws.clear_faults()
    with open(os.path.join(guard2.state, "state.json")) as f:
        cur = json.load(f)["cursors"]["default/%s" % REGION]
    assert t0 <= cur <= t0 + 5, (t0, cur)
    time.sleep(2)
    r = guard2.once("--log-level", "debug")
    assert r.returncode == 0, r.stderr
    assert re.search(r"CloudTrail default/%s: window %d\.\." % (REGION, cur - 900),
                     r.stderr), r.stderr


@case("an HTTP 200 that is not EC2's answer (a proxy's page, an error document) is not "
      "taken as a revoke done: retried, not reported AUTO-MITIGATED")
def revoke_answer_not_ec2s():
    w = world()
    aws = w["aws"]
    g = new_group()
    ingress(g, [tcp(22)], w["mallory"])
    guard = Guard(g)
    for body in ("<html><body>Access denied by proxy</body></html>",
                 "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
                 "</Error></Errors></Response>"):
        aws.fault(service="ec2", action="RevokeSecurityGroupIngress", count=1,
                  mode="respond", status=200, body=body, content_type="text/xml")
        try:
            r = guard.once()
        finally:
            aws.clear_faults()
        assert r.returncode == 1, r.stderr
        assert "not EC2's to RevokeSecurityGroupIngress" in r.stderr, r.stderr
        assert "reverted 1 rule" not in r.stderr, r.stderr
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
        assert messages_for(g) == [], messages_for(g)
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert "tcp 22-22 0.0.0.0/0" not in rules_of(g)
    assert [m["subject"] for m in messages_for(g)] == [
        "[sgguard] AUTO-MITIGATED %s (%s)" % (g, REGION)]


@case("a group that is not watched is never touched")
def unwatched():
    watched = new_group()
    other = new_group()
    ingress(other, [tcp(22)], W["mallory"])
    assert Guard(watched).once().returncode == 0
    assert "tcp 22-22 0.0.0.0/0" in rules_of(other)
    assert messages_for(other) == []


@case("every rule shape is revoked: IPv6, prefix list, referenced group, -1, ICMP")
def shapes():
    g = new_group()
    src = new_group()
    ec2 = W["aws"].client("ec2")
    pl = ec2.create_managed_prefix_list(PrefixListName="corp", MaxEntries=5,
                                        AddressFamily="IPv4")["PrefixList"]["PrefixListId"]
    ingress(g, [
        tcp6(22, "2001:db8::/32"),
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "PrefixListIds": [{"PrefixListId": pl}]},
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
         "UserIdGroupPairs": [{"GroupId": src, "UserId": ACCOUNT}]},
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": 0,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ], W["mallory"])
    assert len(rules_of(g)) == 5
    r = Guard(g).once()
    assert r.returncode == 0, r.stderr
    assert rules_of(g) == set(), rules_of(g)
    (m,) = messages_for(g)
    revoked = sorted(ln for ln in body_lines(m) if ln.startswith("revoked: "))
    assert revoked == sorted([
        "revoked: tcp 22 2001:db8::/32", "revoked: tcp 5432 %s" % pl,
        "revoked: tcp 8080 %s" % src, "revoked: all any 10.0.0.0/8",
        "revoked: icmp 8/0 0.0.0.0/0"]), revoked


@case("the legacy top-level form (CidrIp/IpProtocol/FromPort/ToPort) is revoked")
def legacy_form():
    g = new_group()
    W["aws"].client("ec2", creds=W["mallory"]).authorize_security_group_ingress(
        GroupId=g, IpProtocol="tcp", FromPort=3306, ToPort=3306, CidrIp="0.0.0.0/0")
    assert Guard(g).once().returncode == 0
    assert rules_of(g) == set()
    assert "revoked: tcp 3306 0.0.0.0/0" in body_lines(messages_for(g)[0])


@case("a revoke refused for good (UnauthorizedOperation): FAILED notification, exit 1")
def revert_refused():
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    guard = Guard(g, creds=W["weak"])
    r = guard.once()
    assert r.returncode == 1, r
    assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
    (m,) = messages_for(g)
    assert m["subject"] == "[sgguard] FAILED %s (%s)" % (g, REGION)
    lines = body_lines(m)
    assert "failed: tcp 22 0.0.0.0/0" in lines, lines
    assert any(ln.startswith("error: ") and "denied" in ln.lower() or
               "Unauthorized" in ln for ln in lines), lines
    assert re.search(r"could not revert", r.stderr)
    # Acted on once: the next run does not notify again.
    guard.once()
    assert len(messages_for(g)) == 1


@case("more than one page of LookupEvents is read (60 events)")
def paging():
    g = new_group()
    other = new_group()
    for port in range(1000, 1060):
        ingress(other, [tcp(port, "10.0.0.0/8")], W["admin"])
    ingress(g, [tcp(22)], W["mallory"])
    t = time.time()
    r = Guard(g).once()
    assert r.returncode == 0
    assert rules_of(g) == set()
    lookups = W["aws"].requests(service="cloudtrail", since=t)
    assert len(lookups) >= 2, lookups


@case("a corrupt state file is moved aside; protection goes on from now - lookback")
def corrupt_state():
    g = new_group()
    guard = Guard(g)
    os.makedirs(guard.state)
    with open(os.path.join(guard.state, "state.json"), "w") as f:
        f.write("{ this is not json")
    ingress(g, [tcp(22)], W["mallory"])
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert rules_of(g) == set()
    assert any(n.startswith("state.json.corrupt-") for n in os.listdir(guard.state))
    assert "moved it to" in r.stderr, r.stderr
    json.load(open(os.path.join(guard.state, "state.json")))


@case("daemon: reverts while running, SIGHUP reloads, a bad reload keeps the old, SIGTERM exits 0 fast")
def daemon_loop():
    g = new_group()
    guard = Guard(g, poll=5)
    guard.start()
    guard.wait_log(r"started")
    ingress(g, [tcp(22)], W["mallory"])
    guard.wait_log(r"reverted 1 rule on %s" % g, timeout=30)
    assert rules_of(g) == set()
    # Reload with tcp 22 allowed: the next such change stays.
    with open(guard.config) as f:
        text = f.read()
    guard.write(text.replace("allow = tcp 443 ::/0", "allow = tcp 443 ::/0\nallow = tcp 22 0.0.0.0/0"))
    guard.proc.send_signal(signal.SIGHUP)
    guard.wait_log(r"configuration reloaded")
    # A broken config on reload is reported; the running one stays.
    good = open(guard.config).read()
    guard.write(good + "\nbogus_key = 1\n")
    guard.proc.send_signal(signal.SIGHUP)
    guard.wait_log(r"reload failed, keeping the running configuration: .*:\d+: ")
    guard.write(good)
    ingress(g, [tcp(22), tcp(25)], W["mallory"])
    guard.wait_log(r"reverted 1 rule on %s.*tcp 25 0\.0\.0\.0/0" % g, timeout=30)
    assert rules_of(g) == {"tcp 22-22 0.0.0.0/0"}, rules_of(g)
    assert guard.proc.poll() is None
    t = time.monotonic()
    guard.proc.send_signal(signal.SIGTERM)
    rc = guard.proc.wait(10)
    assert rc == 0, guard.output()
    assert time.monotonic() - t < 5, time.monotonic() - t
    assert "stopped" in guard.output()


@case("daemon: the file's state_dir stays in use across reloads (state saved after SIGHUP)")
def state_dir_of_file_reload():
    g = new_group()
    guard = Guard(g, poll=5)
    with open(guard.config) as f:
        text = f.read()
    guard.write(text.replace("[sgguard]\n", "[sgguard]\nstate_dir = %s\n" % guard.state, 1))
    guard.log = open(os.path.join(guard.dir, "stderr.log"), "w+")
    guard.proc = harness.spawn([harness.BIN, "-c", guard.config], stdout=guard.log,
                               stderr=subprocess.STDOUT, env=guard.env())
    guard.wait_log(r"started")
    for _ in range(2):
        n = guard.output().count("configuration reloaded")
        guard.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while guard.output().count("configuration reloaded") == n:
            assert time.monotonic() < deadline and guard.proc.poll() is None, guard.output()
            time.sleep(0.1)
    ingress(g, [tcp(22)], W["mallory"])
    guard.wait_log(r"event \S+: notification published", timeout=30)
    ev = re.search(r"event (\S+): reverted 1 rule on %s" % g, guard.output()).group(1)
    with open(os.path.join(guard.state, "state.json")) as f:
        assert ev in f.read(), "the event is not in the state"
    assert "cannot save" not in guard.output(), guard.output()
    guard.proc.send_signal(signal.SIGTERM)
    assert guard.proc.wait(10) == 0, guard.output()


@case("daemon: an event CloudTrail delivers late (within lookback) is still acted on")
def late_delivery():
    aws = W["aws"]
    g = new_group()
    aws.config(delivery_delay=8)
    try:
        guard = Guard(g, poll=5)
        guard.start()
        guard.wait_log(r"started")
        ingress(g, [tcp(22)], W["mallory"])
        time.sleep(1)
        assert "tcp 22-22 0.0.0.0/0" in rules_of(g)
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=30)
        assert rules_of(g) == set()
        guard.proc.send_signal(signal.SIGTERM)
        assert guard.proc.wait(10) == 0
    finally:
        aws.config(delivery_delay=0)


@case("a failed publish never holds up the revert; it is sent once, later")
def publish_retried():
    aws = W["aws"]
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    guard = Guard(g)
    aws.fault(service="sns", action="Publish", mode="error", status=500,
              error="InternalError", count=-1)
    try:
        r = guard.once()
    finally:
        aws.clear_faults()
    assert r.returncode == 1, r           # something could not be done
    assert rules_of(g) == set(), rules_of(g)
    assert messages_for(g) == []
    with open(os.path.join(guard.state, "state.json")) as f:
        st = json.load(f)
    assert len(st["pending"]) == 1, st["pending"]
    assert "not published" in r.stderr, r.stderr
    # The retry is due a minute later: make it due now, as time would.
    st["pending"][0]["next_attempt"] = 0
    with open(os.path.join(guard.state, "state.json"), "w") as f:
        json.dump(st, f)
    assert guard.once().returncode == 0
    (m,) = messages_for(g)
    assert m["subject"].startswith("[sgguard] AUTO-MITIGATED")
    guard.once()
    assert len(messages_for(g)) == 1


@case("--once publishes what is queued even before its retry time; exit 1 while it cannot")
def once_publishes_queue():
    aws = W["aws"]
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    guard = Guard(g)
    path = os.path.join(guard.state, "state.json")
    aws.fault(service="sns", action="Publish", mode="error", status=500,
              error="InternalError", count=-1)
    try:
        assert guard.once().returncode == 1
        with open(path) as f:
            before = json.load(f)["pending"]
        assert len(before) == 1 and before[0]["next_attempt"] > time.time(), before
        # Still failing: said, exit 1, the retry schedule untouched.
        r = guard.once()
        assert r.returncode == 1, r.returncode
        assert re.search(r"notification to \S+ not published .*still queued", r.stderr), r.stderr
        with open(path) as f:
            assert json.load(f)["pending"] == before
    finally:
        aws.clear_faults()
    # SNS is back: the next --once sends it now, not at its retry time.
    r = guard.once()
    assert r.returncode == 0, r.stderr
    (m,) = messages_for(g)
    assert m["subject"].startswith("[sgguard] AUTO-MITIGATED")
    with open(path) as f:
        assert json.load(f)["pending"] == []


def older_shape(guard, genuine, edit=None):
    """Put a copy of the genuine record in its place, as an older record
    shape shows the same call: a new eventID, no rule ids in the answer,
    edit(copy) for the rest. The genuine one counts as handled, so only the
    copy may act. Returns the copy."""
    import uuid
    bare = json.loads(json.dumps(genuine))
    bare["eventID"] = str(uuid.uuid4())
    bare["responseElements"] = {"requestId": genuine["requestID"], "_return": True}
    if edit is not None:
        edit(bare)
    W["aws"].inject(bare, region=REGION)      # whatever its awsRegion says
    path = os.path.join(guard.state, "state.json")
    with open(path) as f:
        st = json.load(f)
    st["handled"][genuine["eventID"]] = int(time.time())
    with open(path, "w") as f:
        json.dump(st, f)
    return bare


@case("the revoke falls back to exact IpPermissions when the record has no rule ids")
def revoke_by_permissions():
    aws = W["aws"]
    g = new_group()
    guard = Guard(g)
    assert guard.once().returncode == 0       # a state with a cursor
    # Protocol 50 (ESP) too: EC2 keeps no ports for it, so the revoke
    # sends -1/-1 (moto cannot match it without).
    esp = {"IpProtocol": "50", "FromPort": -1, "ToPort": -1,
           "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}
    ingress(g, [tcp(22, "198.51.100.0/24"), tcp6(22, "2001:db8:1::/48"), esp], W["mallory"])
    genuine = aws.events()[-1]["record"]
    assert genuine["requestParameters"]["groupId"] == g
    assert genuine["responseElements"]["securityGroupRuleSet"]["items"]
    bare = older_shape(guard, genuine)
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert rules_of(g) == set(), rules_of(g)
    (m,) = messages_for(g)
    lines = body_lines(m)
    assert "event_id: %s" % bare["eventID"] in lines, lines
    assert "revoked: tcp 22 198.51.100.0/24" in lines, lines
    assert "revoked: tcp 22 2001:db8:1::/48" in lines, lines
    assert "revoked: 50 any 203.0.113.0/24" in lines, lines


@case("a call that named its group only by name (no id in the record) is looked up and reverted")
def group_by_name_only():
    aws = W["aws"]
    g = new_group()
    name = aws.client("ec2").describe_security_groups(GroupIds=[g])["SecurityGroups"][0]["GroupName"]
    guard = Guard(g)
    assert guard.once().returncode == 0       # a state with a cursor
    ingress(g, [tcp(23, "192.0.2.0/24")], W["mallory"])
    genuine = aws.events()[-1]["record"]

    # A default-VPC call by GroupName: the name in the request, and no
    # rule ids (so no group id) in the answer.
    def by_name(rec):
        del rec["requestParameters"]["groupId"]
        rec["requestParameters"]["groupName"] = name
    bare = older_shape(guard, genuine, by_name)
    r = guard.once()
    assert r.returncode == 0, r.stderr
    assert 'event %s: the call named its group "%s" only: that is %s' % (
        bare["eventID"], name, g) in r.stderr, r.stderr
    assert rules_of(g) == set(), rules_of(g)
    (m,) = messages_for(g)
    lines = body_lines(m)
    assert "group_id: %s" % g in lines and "revoked: tcp 23 192.0.2.0/24" in lines, lines


@case("a record without a readable awsRegion is taken as the region it was looked up in; "
      "a numeric groupId yields to the answer's: acted on, with a warning")
def record_region_missing():
    aws = W["aws"]
    g = new_group()
    guard = Guard(g)
    assert guard.once().returncode == 0       # a state with a cursor

    def no_region(rec):
        del rec["awsRegion"]

    def numbers(rec):
        rec["awsRegion"] = 5
        rec["requestParameters"]["groupId"] = 5
        rec["responseElements"] = genuine["responseElements"]
    for port, edit, why in ((25, no_region, "awsRegion missing or unreadable: taken as %s"
                             % REGION),
                            (26, numbers, "requestParameters.groupId is a number")):
        ingress(g, [tcp(port, "192.0.2.0/24")], W["mallory"])
        genuine = aws.events()[-1]["record"]
        bare = older_shape(guard, genuine, edit)
        r = guard.once()
        assert r.returncode == 0, r.stderr
        assert re.search(r"warning: event %s: parts of the CloudTrail record were "
                         r"unreadable or had to be repaired: .*%s" % (
                             bare["eventID"], re.escape(why)), r.stderr), r.stderr
        assert "tcp %d-%d 192.0.2.0/24" % (port, port) not in rules_of(g), rules_of(g)
    assert len(messages_for(g)) == 2, messages_for(g)


@case("a rule sgguard cannot read (source group by name only, no ids): FAILED, checked by hand")
def unreadable_rule_failed():
    aws = W["aws"]
    g = new_group()
    guard = Guard(g)
    assert guard.once().returncode == 0       # a state with a cursor
    ingress(g, [tcp(24, "192.0.2.0/24")], W["mallory"])
    genuine = aws.events()[-1]["record"]
    bare = older_shape(guard, genuine, lambda rec: rec["requestParameters"]["ipPermissions"][
        "items"].append({"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                         "groups": {"items": [{"userId": ACCOUNT, "groupName": "db-clients"}]},
                         "ipRanges": {}, "ipv6Ranges": {}, "prefixListIds": {}}))
    r = guard.once()
    assert r.returncode == 1, r.stderr
    assert re.search(r"warning: event %s: parts of the CloudTrail record were unreadable or "
                     r"had to be repaired: .*source group given by name only"
                     % bare["eventID"], r.stderr), r.stderr
    assert "reverted [] " not in r.stderr, r.stderr
    assert rules_of(g) == set(), rules_of(g)     # the readable rule went
    (m,) = messages_for(g)
    assert m["subject"] == "[sgguard] FAILED %s (%s)" % (g, REGION), m["subject"]
    lines = body_lines(m)
    assert "revoked: tcp 24 192.0.2.0/24" in lines, lines
    assert "failed: unreadable rule (see error)" in lines, lines


@case("a [group] that does not exist in its region (a typo, the wrong region) is warned about at start-up")
def missing_group_warned():
    g = new_group()
    guard = Guard(g, extra="[group sg-0123456789abcdef9]\n[group sg-0123456789abcdef8]\n"
                  "region = eu-west-1\n")
    r = guard.once()
    assert r.returncode == 0, r.stderr
    warns = [ln for ln in r.stderr.splitlines() if "there is no group" in ln]
    assert len(warns) == 2, r.stderr
    assert re.search(r"warning: default/%s: there is no group sg-0123456789abcdef9 \(%s:\d+\): "
                     r"nothing is guarded for it; check its id, its region and its account"
                     % (REGION, re.escape(guard.config)), r.stderr), r.stderr
    assert re.search(r"warning: default/eu-west-1: there is no group sg-0123456789abcdef8 ",
                     r.stderr), r.stderr
    # The group that is there is not named.
    assert not re.search(r"default/%s: there is no group %s" % (REGION, g), r.stderr), r.stderr


@case("a topic_arn that names no topic: the revert is done; the error says to check topic_arn")
def wrong_topic():
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    guard = Guard(g)
    with open(guard.config) as f:
        text = f.read()
    guard.write(text.replace(W["topic"], W["topic"] + "-typo"))
    r = guard.once()
    assert r.returncode == 1, r.stderr
    assert "tcp 22-22 0.0.0.0/0" not in rules_of(g), rules_of(g)
    assert re.search(r"not published \(.*NotFound.*hint: check \[notify\] topic_arn", r.stderr), \
        r.stderr


@case("a rule already gone when sgguard revokes it counts as reverted")
def already_gone():
    aws = W["aws"]
    g = new_group()
    ingress(g, [tcp(22)], W["mallory"])
    # The owner removes it before sgguard gets there.
    aws.client("ec2").revoke_security_group_ingress(GroupId=g, IpPermissions=[tcp(22)])
    r = Guard(g).once()
    assert r.returncode == 0, r.stderr
    (m,) = messages_for(g)
    assert m["subject"].startswith("[sgguard] AUTO-MITIGATED"), m
    assert "already gone" in r.stderr, r.stderr


@case("SIGTERM while a request hangs: exit 0 within 5 s")
def sigterm_during_request():
    aws = W["aws"]
    g = new_group()
    guard = Guard(g, poll=5)
    aws.fault(service="cloudtrail", mode="hang", count=-1)
    try:
        guard.start()
        guard.wait_log(r"started")
        time.sleep(1.5)               # the first LookupEvents is hanging now
        t = time.monotonic()
        guard.proc.send_signal(signal.SIGTERM)
        rc = guard.proc.wait(10)
        took = time.monotonic() - t
    finally:
        aws.clear_faults()
    assert rc == 0, guard.output()
    assert took < 5, took


@case("no LookupEvents throttling at 2 requests/s: sgguard keeps its pace")
def pacing():
    import uuid
    aws = W["aws"]
    g = new_group()
    other = new_group()
    ingress(other, [tcp(4000, "10.0.0.0/8")], W["admin"])
    template = aws.wait_record(eventName="AuthorizeSecurityGroupIngress",
                               requestParameters=aws.events()[-1]["record"]["requestParameters"])
    copies = []
    for _ in range(170):
        rec = dict(template)
        rec["eventID"] = str(uuid.uuid4())
        copies.append(rec)
    aws.inject(copies)
    time.sleep(1.1)                    # a fresh second for the rate limit
    t = time.time()
    r = Guard(g).once()
    assert r.returncode == 0, r.stderr
    lookups = aws.requests(service="cloudtrail", since=t)
    assert len(lookups) >= 4, len(lookups)
    assert all(q["status"] == 200 for q in lookups), [q["status"] for q in lookups]
    times = sorted(q["time"] for q in lookups)
    for a, b in zip(times, times[2:]):
        assert b - a >= 0.9, times      # at most 2 in any second



@case("daemon: a reload mid-cycle keeps the LookupEvents pace (no throttling after SIGHUP)")
def pacing_across_reload():
    aws = W["aws"]
    g = new_group()
    guard = Guard(g, poll=5)
    guard.start()
    try:
        guard.wait_log(r"started")
        time.sleep(1.5)                # the first cycle is over
        t = time.time()
        for _ in range(3):
            # SIGHUP as a cycle's first LookupEvents goes out: the reload
            # comes right after the cycle, whose last call is then fresh.
            n = len(aws.requests(service="cloudtrail", since=t))
            deadline = time.monotonic() + 15
            while len(aws.requests(service="cloudtrail", since=t)) == n:
                assert time.monotonic() < deadline, "no LookupEvents call"
                time.sleep(0.02)
            guard.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 15
            while guard.output().count("configuration reloaded") <= _:
                assert time.monotonic() < deadline, guard.output()
                time.sleep(0.05)
            time.sleep(2)
    finally:
        guard.proc.send_signal(signal.SIGTERM)
        guard.proc.wait(15)
    lookups = aws.requests(service="cloudtrail", since=t)
    statuses = [(round(q["time"] - t, 3), q["status"]) for q in lookups]
    # Before, each reload's first call came too soon and was throttled,
    # and the retry then dragged the next call along (throttled again, for
    # the rest of the window). One throttle is allowed for jitter: the
    # local AWS counts a strict sliding second.
    assert sum(1 for _, st in statuses if st == 400) <= 1, statuses
    assert len(lookups) >= 6, statuses


if __name__ == "__main__":
    harness.run()
