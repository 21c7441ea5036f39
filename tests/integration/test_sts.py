#!/usr/bin/env python3
"""Cross-account credentials end to end: build/tools/assume-role (sts.c
through sgguard's aws, sigv4 and http code) against localaws with IAM
enforcement (--auth).

sgguard's base identity is an IAM user of the default account 123456789012
whose policy allows sts:AssumeRole on the roles below; the account to guard
is 222233334444, where the role arn:aws:iam::222233334444:role/sgguard
trusts that user and may use EC2. The tool runs with that user's keys in
the environment, as the daemon's base provider would find them.

What moto 5.2 enforces on AssumeRole (moto/iam/access_control.py): always
the caller's identity policy (sts:AssumeRole on the role ARN); the role's
trust policy, with StringEquals conditions such as sts:ExternalId, only
for a role in the CALLER's account (it looks the role up in the caller's
IAM backend; a role of another account is never found, so anything is
allowed there). An sts:ExternalId condition is only checked when the
request carries an ExternalId: leaving it out passes. So the external id
cases use a role of the default account, and a missing external id is not
tested as refused.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "localaws"))
import harness  # noqa: E402
from harness import case  # noqa: E402
import client as localaws  # noqa: E402

TOOL = os.path.join(harness.TOOLS, "assume-role")
BASE_ACCOUNT = localaws.DEFAULT_ACCOUNT
OTHER = "222233334444"
ROLE = "arn:aws:iam::%s:role/sgguard" % OTHER
EXT_ROLE = "arn:aws:iam::%s:role/sgguard-extid" % BASE_ACCOUNT
UNTRUSTED_ROLE = "arn:aws:iam::%s:role/sgguard-untrusted" % BASE_ACCOUNT
EXT_ID = "sgguard-ext-1234"
OTHER_ROOT = localaws.Creds(access_key_id="AKIAOTHERROOT0000001",
                            secret_access_key="other-root-secret-0001")

S = {}   # what start() made


def sha8(s):
    return hashlib.sha256(s.encode()).hexdigest()[:8]


def session_name():
    """sgguard-<hostname>, [\\w+=,.@-] only, at most 64 characters."""
    host = socket.gethostname().encode()
    mapped = "".join(chr(b) if re.fullmatch(rb"[A-Za-z0-9_+=,.@-]", bytes([b]))
                     else "-" for b in host)
    return ("sgguard-" + mapped)[:64] if host else "sgguard"


def trust(principal, condition=None):
    st = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def start():
    if not os.access(TOOL, os.X_OK):
        raise RuntimeError("%s not built" % TOOL)
    S["home"] = tempfile.mkdtemp(prefix="sgguard-sts-")
    aws = S["aws"] = localaws.start("--auth")
    # The account to guard: its own root key, so that IAM calls land there.
    aws.register_key(access_key_id=OTHER_ROOT["access_key_id"],
                     secret_access_key=OTHER_ROOT["secret_access_key"],
                     account=OTHER, type="Root")
    base = S["base"] = aws.create_user("sgguard", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Resource": [ROLE, EXT_ROLE, UNTRUSTED_ROLE]}]})
    S["nobody"] = aws.create_user("nobody", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]})
    iam_other = aws.client("iam", creds=OTHER_ROOT)
    iam_other.create_role(RoleName="sgguard", AssumeRolePolicyDocument=trust(base["arn"]))
    iam_other.put_role_policy(RoleName="sgguard", PolicyName="guard", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "sts:GetCallerIdentity"],
                       "Resource": "*"}]}))
    iam = aws.client("iam")
    iam.create_role(RoleName="sgguard-extid", AssumeRolePolicyDocument=trust(
        base["arn"], {"StringEquals": {"sts:ExternalId": EXT_ID}}))
    iam.create_role(RoleName="sgguard-untrusted", AssumeRolePolicyDocument=trust(
        "arn:aws:iam::%s:user/someone-else" % BASE_ACCOUNT))


def env_for(creds, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_")
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(HOME=S["home"], NO_PROXY="*", AWS_EC2_METADATA_DISABLED="true",
               AWS_ENDPOINT_URL=S["aws"].endpoint, AWS_REGION=localaws.REGION,
               AWS_ACCESS_KEY_ID=creds["access_key_id"],
               AWS_SECRET_ACCESS_KEY=creds["secret_access_key"],
               SGGUARD_TEST_FAST="1",
               # moto's first EC2 call in an account builds its default
               # VPC: slower than SGGUARD_TEST_FAST's 2 s.
               SGGUARD_HTTP_TIMEOUT_MS="20000")
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_tool(*args, creds=None, rc=0, **extra):
    env = env_for(creds or S["base"], **extra)
    p = subprocess.run([TOOL] + [str(a) for a in args], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    if rc is not None and p.returncode != rc:
        raise AssertionError("assume-role %s: exit %d, wanted %d\nstdout: %s\nstderr: %s"
                             % (args, p.returncode, rc, p.stdout, p.stderr))
    return p.stdout.splitlines(), p.stderr


def parse(line):
    if line.startswith("error="):
        return {"error": line[len("error="):]}
    if line.startswith("call="):
        m = re.fullmatch(r"call=OK http=(\d+) body=(.*)", line)
        if m:
            return {"call": "OK", "http": int(m.group(1)), "body": m.group(2)}
        return {"call": "ERROR", "line": line}
    m = re.fullmatch(r"source=(.+) akid=(\S+) expires=(\d+) secret_sha256=([0-9a-f]{8})", line)
    assert m, "bad line: %r" % line
    r = dict(zip(("source", "akid", "expires", "secret_sha256"), m.groups()))
    r["expires"] = int(r["expires"])
    return r


def sts_requests(since=None):
    return [r for r in S["aws"].requests(service="sts", action="AssumeRole", since=since)]


def fresh_log():
    S["aws"].reset_log()
    S["aws"].clear_faults()


def assert_in(want, text):
    assert want in text, "%r not in %r" % (want, text)


@case("assume-role across accounts: keys of 222233334444 that act as the role")
def _():
    fresh_log()
    t0 = time.time()
    out, err = run_tool("-c", "sts:GetCallerIdentity", ROLE)
    r, c = parse(out[0]), parse(out[1])
    assert r["source"] == "assume-role " + ROLE, r
    assert r["akid"].startswith("ASIA"), r
    # The default duration: an hour.
    assert t0 + 3600 - 5 <= r["expires"] <= time.time() + 3600 + 5, (r, t0)
    assert c["call"] == "OK" and c["http"] == 200, c
    arn = re.search(r"<Arn>([^<]*)</Arn>", c["body"]).group(1)
    assert arn == "arn:aws:sts::%s:assumed-role/sgguard/%s" % (OTHER, session_name()), arn
    assert_in("<Account>%s</Account>" % OTHER, c["body"])
    # One STS request, signed with the base user's key in its own account;
    # the call made with the role's key counts in the other account.
    reqs = S["aws"].requests()
    ar = [q for q in reqs if q["service"] == "sts" and q["action"] == "AssumeRole"]
    assert len(ar) == 1, reqs
    assert ar[0]["access_key_id"] == S["base"]["access_key_id"], ar
    assert ar[0]["account"] == BASE_ACCOUNT and ar[0]["status"] == 200, ar
    gc = [q for q in reqs if q["action"] == "GetCallerIdentity"]
    assert [(q["access_key_id"], q["account"], q["status"]) for q in gc] == \
        [(r["akid"], OTHER, 200)], gc
    assert_in("sts_requests=1", err)
    assert_in("credentials: using assume-role %s (session %s, access key %s"
              % (ROLE, session_name(), r["akid"]), err)


@case("the role's keys are accepted by EC2; CloudTrail records the AssumedRole")
def _():
    fresh_log()
    out, _ = run_tool("-c", "ec2:DescribeSecurityGroups", ROLE)
    r, c = parse(out[0]), parse(out[1])
    assert c["call"] == "OK", c
    assert_in("<ownerId>%s</ownerId>" % OTHER, c["body"])
    d = [q for q in S["aws"].requests(service="ec2") if q["action"] == "DescribeSecurityGroups"]
    assert {(q["access_key_id"], q["account"]) for q in d} == {(r["akid"], OTHER)}, d
    assert d[-1]["status"] == 200, d

    # A recorded call: the identity CloudTrail shows for sgguard's actions.
    out, _ = run_tool("-s", "sgguard-sts-test", "-c", "ec2:CreateSecurityGroup",
                      "-p", "GroupName=sgguard-sts-test", "-p", "GroupDescription=sts test",
                      ROLE)
    r, c = parse(out[0]), parse(out[1])
    assert c["call"] == "OK", c
    rec = S["aws"].wait_record(eventName="CreateSecurityGroup")
    ui = rec["userIdentity"]
    assert rec["recipientAccountId"] == OTHER, rec
    assert ui["type"] == "AssumedRole" and ui["accountId"] == OTHER, ui
    assert ui["accessKeyId"] == r["akid"], ui
    assert ui["arn"] == "arn:aws:sts::%s:assumed-role/sgguard/sgguard-sts-test" % OTHER, ui
    issuer = ui["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == ROLE and issuer["accountId"] == OTHER, issuer


@case("external id: the right one is accepted, a wrong one refused clearly")
def _():
    fresh_log()
    out, _ = run_tool("-c", "sts:GetCallerIdentity", EXT_ROLE, EXT_ID)
    r, c = parse(out[0]), parse(out[1])
    assert r["source"] == "assume-role " + EXT_ROLE, r
    assert c["call"] == "OK", c
    out, err = run_tool(EXT_ROLE, "wrong-external-id", rc=1)
    e = parse(out[0])["error"]
    assert e.startswith("sgguard's base identity may not assume %s: check the role's "
                        "trust policy and sts:AssumeRole in sgguard's policy, and that "
                        "external_id matches the trust policy's sts:ExternalId condition "
                        "(AccessDenied: " % EXT_ROLE), e
    assert len(sts_requests()) == 2, sts_requests()
    assert [q["status"] for q in sts_requests()] == [200, 403], sts_requests()


@case("no permission to assume: AccessDenied says what to fix")
def _():
    fresh_log()
    # The base identity's policy does not allow sts:AssumeRole.
    out, _ = run_tool(ROLE, creds=S["nobody"], rc=1)
    e = parse(out[0])["error"]
    assert e.startswith("sgguard's base identity may not assume %s: check the role's trust "
                        "policy and sts:AssumeRole in sgguard's policy; if the trust policy "
                        "requires an sts:ExternalId, set external_id (AccessDenied: " % ROLE), e
    assert_in("user/nobody is not authorized to perform: sts:AssumeRole", e)
    # Allowed by sgguard's policy, but the role does not trust sgguard.
    out, _ = run_tool(UNTRUSTED_ROLE, rc=1)
    e = parse(out[0])["error"]
    assert e.startswith("sgguard's base identity may not assume %s: check the role's "
                        "trust policy" % UNTRUSTED_ROLE), e
    assert [q["error_code"] for q in sts_requests()] == ["AccessDenied", "AccessDenied"], \
        sts_requests()


@case("base credentials STS does not know: InvalidClientTokenId says what to fix")
def _():
    fresh_log()
    bogus = {"access_key_id": "AKIANOSUCHKEY0000001", "secret_access_key": "no-such-secret-01"}
    out, err = run_tool(ROLE, creds=bogus, rc=1)
    e = parse(out[0])["error"]
    assert e.startswith("cannot assume %s: STS does not accept sgguard's base access key: "
                        "check that the base credentials are current and active" % ROLE), e
    assert_in("(InvalidClientTokenId: ", e)
    assert "no-such-secret-01" not in out[0] + err


@case("no base credentials at all: said so, nothing sent")
def _():
    fresh_log()
    out, _ = run_tool(ROLE, rc=1, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    e = parse(out[0])["error"]
    assert e.startswith("cannot assume %s: no base credentials to call STS with: "
                        "no AWS credentials: environment: not set" % ROLE), e
    assert sts_requests() == [], sts_requests()


@case("STS unreachable: a clear error")
def _():
    out, _ = run_tool(ROLE, rc=1, AWS_ENDPOINT_URL="http://127.0.0.1:%d" % harness.free_port(),
                      SGGUARD_AWS_MAX_ATTEMPTS="1")
    e = parse(out[0])["error"]
    assert e.startswith("cannot assume %s: no usable answer from STS in region us-east-1 "
                        "(kind=transport" % ROLE), e


@case("refresh: a 900 s session is reused until 675 s, then fetched anew")
def _():
    fresh_log()
    out, err = run_tool("-d", 900, ROLE, "-", "+0", "+600", "+674", "+700", "+710")
    r = [parse(x) for x in out]
    assert all("akid" in x for x in r), r
    akids = [x["akid"] for x in r]
    assert akids[0] == akids[1] == akids[2], r
    assert akids[3] != akids[0] and akids[3] == akids[4], r
    assert r[0]["secret_sha256"] != r[3]["secret_sha256"], r
    now = time.time()
    assert now + 900 - 20 <= r[0]["expires"] <= now + 900 + 5, r
    # Two STS requests: +0 and +700; +600, +674 and +710 used the cache.
    assert len(sts_requests()) == 2, sts_requests()
    assert_in("sts_requests=2", err)


@case("a failed refresh keeps the old keys while they last, one warning, paced")
def _():
    fresh_log()
    # The first AssumeRole goes through, every later one is refused.
    S["aws"].admin("POST", "fault", [
        {"service": "sts", "action": "AssumeRole", "count": 1, "mode": "delay", "seconds": 0},
        {"service": "sts", "action": "AssumeRole", "count": -1,
         "error": {"code": "AccessDenied", "message": "Access denied by a test", "status": 403}}])
    try:
        out, err = run_tool("-d", 900, ROLE, "-", "+0", "+700", "+710", "+770", "+860", rc=1)
    finally:
        S["aws"].clear_faults()
    r = [parse(x) for x in out]
    assert [x.get("akid") for x in r[:4]] == [r[0]["akid"]] * 4, r
    # +700 tried and failed; +710 within a minute: not asked; +770 asked
    # again; +860 (about 40 s left): asked, failed, and an error.
    assert len(sts_requests()) == 4, sts_requests()
    e = r[4]["error"]
    assert e.startswith("the credentials of assume-role %s expire at " % ROLE), e
    assert_in("and could not be refreshed: sgguard's base identity may not assume", e)
    warns = [l for l in err.splitlines() if "refresh failed" in l]
    assert len(warns) == 1, err
    assert_in("warning: credentials: refresh failed, still using those from assume-role "
              + ROLE, warns[0])


@case("secrets are never logged: a known answer, at debug level")
def _():
    fresh_log()
    secret, token = "canned/SecretKey+0123456789abcdef", "FwoGZXIvYXdzCannedToken" + "Q" * 900
    exp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 1800))
    body = ("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROACANNED:s</AssumedRoleId>"
            "<Arn>arn:aws:sts::%s:assumed-role/sgguard/s</Arn></AssumedRoleUser>"
            "<Credentials><AccessKeyId>ASIACANNED0000000001</AccessKeyId>"
            "<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>"
            "<Expiration>%s</Expiration></Credentials></AssumeRoleResult>"
            "<ResponseMetadata><RequestId>canned</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>" % (OTHER, secret, token, exp))
    S["aws"].fault(service="sts", action="AssumeRole", status=200, body=body,
                   content_type="text/xml")
    out, err = run_tool(ROLE, ASSUME_ROLE_LOG_LEVEL="debug")
    r = parse(out[0])
    assert r["akid"] == "ASIACANNED0000000001", r
    assert r["secret_sha256"] == sha8(secret), r
    assert_in("expires %s" % exp.replace(".000", ""), err)
    for s in (secret, token, S["base"]["secret_access_key"]):
        assert s not in out[0] + err, "secret leaked"

    # An answer that is no AssumeRoleResponse: refused, said why.
    S["aws"].fault(service="sts", action="AssumeRole", status=200,
                   body="<html>captive portal</html>", content_type="text/html")
    out, _ = run_tool(ROLE, rc=1)
    assert parse(out[0])["error"] == (
        "cannot assume %s: STS answered HTTP 200 with an unusable document: not an "
        "AssumeRoleResponse (the root element is <html>)" % ROLE), out


@case("bad options are refused before any request")
def _():
    fresh_log()
    out, err = run_tool("arn:aws:iam::%s:user/sgguard" % OTHER, rc=1)
    assert out == ["error=bad options (see above)"], out
    assert_in("is not an IAM role ARN", err)
    out, err = run_tool("-d", 600, ROLE, rc=1)
    assert_in("session duration 600 s is not within 900..43200", err)
    out, err = run_tool(ROLE, "x", rc=1)
    assert_in("external_id must have 2 to 1224 characters", err)
    assert sts_requests() == [], sts_requests()


if __name__ == "__main__":
    try:
        start()
        harness.run()
    finally:
        if "aws" in S:
            S["aws"].stop()
        if "home" in S:
            shutil.rmtree(S["home"], ignore_errors=True)
