#!/usr/bin/env python3
# sgguard-test: once
"""Tests of localaws, the local AWS of the integration tests (tests/localaws).

Two localaws processes: MAIN (no throttling, no IAM enforcement) for the
record shapes and LookupEvents semantics, and DEF (default settings plus
--auth) for the defaults, throttling, strict SigV4 and IAM enforcement.
"""
import datetime
import glob
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "localaws"))

from harness import case, run, shared_path  # noqa: E402
import harness  # noqa: E402
import client as localaws  # noqa: E402
import localaws as server  # noqa: E402  (pure SigV4 helpers; does not start anything)

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
import botocore.auth  # noqa: E402

ACCOUNT = localaws.DEFAULT_ACCOUNT
REGION = "us-east-1"
EC2_ALL = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "cloudtrail:LookupEvents",
                                                        "sts:AssumeRole"],
                          "Resource": "*"}]}
S = {}   # shared state between cases


def main_aws():
    if "main" not in S:
        S["main"] = localaws.start("--throttle-rps", "0")
    return S["main"]


def def_aws():
    if "def" not in S:
        S["def"] = localaws.start("--auth")
    return S["def"]


def err_code(exc):
    return exc.response["Error"]["Code"]


def expect_client_error(code, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except ClientError as e:
        assert err_code(e) == code, "expected %s, got %s: %s" % (code, err_code(e), e)
        return e
    raise AssertionError("expected %s, call succeeded" % code)


def group_in_default_vpc(ec2, name):
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    return ec2.create_security_group(GroupName=name, Description="localaws test",
                                     VpcId=vpc["VpcId"])["GroupId"]


def rules_of(ec2, gid):
    return ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]


def record_for(aws, name, group, creds=None, region=REGION):
    """Newest record of eventName `name` naming `group`, via LookupEvents."""
    r = aws.lookup(creds=creds, region=region,
                   LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": group}])
    for e in r["Events"]:
        if e["EventName"] == name:
            return json.loads(e["CloudTrailEvent"]), e
    raise AssertionError("no %s record for %s in %r" % (name, group,
                                                         [e["EventName"] for e in r["Events"]]))


# ---------------------------------------------------------------------------
# raw signed requests (botocore signs, then the test tampers)

def raw_request(aws, service, body, creds, target=None, when=None, content_sha=None,
                token=True, region=REGION, headers=None):
    h = {"Content-Type": "application/x-amz-json-1.1" if target else
         "application/x-www-form-urlencoded; charset=utf-8"}
    if target:
        h["X-Amz-Target"] = target
    if content_sha is not None:
        h["X-Amz-Content-SHA256"] = content_sha
    h.update(headers or {})
    data = body.encode() if isinstance(body, str) else body
    req = AWSRequest(method="POST", url=aws.endpoint + "/", data=data, headers=h)
    cred = Credentials(creds["access_key_id"], creds["secret_access_key"],
                       creds.get("session_token") if token else None)
    signer = SigV4Auth(cred, service, region)
    if when is None:
        signer.add_auth(req)
    else:
        orig = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda *a, **k: when
        try:
            signer.add_auth(req)
        finally:
            botocore.auth.get_current_datetime = orig
    return send(aws, dict(req.headers.items()), data)


def send(aws, headers, data, timeout=10):
    r = urllib.request.Request(aws.endpoint + "/", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def xml_code(body):
    m = re.search(r"<Code>([^<]*)</Code>", body)
    return m.group(1) if m else None


def json_type(body):
    return json.loads(body)["__type"].split("#")[-1]


LOOKUP_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
EC2_DESCRIBE = "Action=DescribeSecurityGroups&Version=2016-11-15"
SNS_LIST = "Action=ListTopics&Version=2010-03-31"


# ---------------------------------------------------------------------------
# samples

def samples():
    d = shared_path("data", "cloudtrail-samples")
    out = {}
    for f in glob.glob(os.path.join(d, "*.json")):
        out[os.path.basename(f)] = json.load(open(f, encoding="utf-8"))
    return {
        "stratus": out["AuthorizeSecurityGroupIngress__stratus__1.json"][0],
        "elastic_in": out["AuthorizeSecurityGroupIngress__elastic-integrations__1.json"],
        "elastic_eg": out["AuthorizeSecurityGroupEgress__elastic-integrations__1.json"],
        "streamalert": [c["data"]["detail"] for c in
                        out["AuthorizeSecurityGroupIngress__streamalert__1.json"]],
        "lookup": out["LookupEvents__cloudryer__1.json"],
    }


def same_keys(ours, theirs, what, extra_ok=(), missing_ok=()):
    a, b = set(ours), set(theirs)
    extra = a - b - set(extra_ok)
    missing = b - a - set(missing_ok)
    assert not extra and not missing, "%s: extra keys %s, missing keys %s" % (
        what, sorted(extra), sorted(missing))


def same_types(ours, theirs, what):
    """Values under keys both have are of the same JSON type, recursively."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for k in set(ours) & set(theirs):
            same_types(ours[k], theirs[k], what + "." + k)
    elif isinstance(theirs, list) and isinstance(ours, list):
        if theirs and ours:
            same_types(ours[0], theirs[0], what + "[0]")
    else:
        assert type(ours) is type(theirs) or (theirs is None and ours is None), \
            "%s: %s vs sample %s" % (what, type(ours).__name__, type(theirs).__name__)


# ---------------------------------------------------------------------------

@case("localaws starts on loopback only and prints READY")
def t_start():
    aws = main_aws()
    cfg = aws.config()
    assert cfg["strict_sigv4"] is True and cfg["throttle_rps"] == 0
    r = subprocess.run([sys.executable, localaws.SERVER, "--port", "1", "--host", "0.0.0.0"],
                       capture_output=True, timeout=30)
    assert r.returncode == 64, r
    assert b"loopback" in r.stderr


@case("defaults: strict SigV4, 2 LookupEvents/s, no delivery delay")
def t_defaults():
    cfg = def_aws().config()
    assert cfg["strict_sigv4"] is True, cfg
    assert cfg["throttle_rps"] == 2, cfg
    assert cfg["delivery_delay"] == 0, cfg
    assert cfg["auth"] is True, cfg


@case("IAM user: every ingress shape is recorded in CloudTrail's format")
def t_shapes_iam_user():
    aws = main_aws()
    root_ec2 = aws.client("ec2")
    user = aws.create_user("sg-operator", EC2_ALL)
    S["user"] = user
    ec2 = aws.client("ec2", creds=user)
    gid = group_in_default_vpc(root_ec2, "shapes")
    ref = group_in_default_vpc(root_ec2, "shapes-ref")
    S["gid"], S["ref"] = gid, ref
    shapes = {
        "multi_v4": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                      "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "office"},
                                   {"CidrIp": "198.51.100.7/32"}]}],
        "v6": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
        "prefix": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                    "PrefixListIds": [{"PrefixListId": "pl-0123456789abcdef0"}]}],
        "group": [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                   "UserIdGroupPairs": [{"GroupId": ref, "UserId": ACCOUNT}]}],
        "all": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
        "icmp": [{"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
                  "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}],
    }
    recs = {}
    for name, perms in shapes.items():
        before = {r["SecurityGroupRuleId"] for r in rules_of(root_ec2, gid)}
        out = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
        added = [r for r in rules_of(root_ec2, gid) if r["SecurityGroupRuleId"] not in before]
        rec, ev = record_for(aws, "AuthorizeSecurityGroupIngress", gid, creds=user)
        recs[name] = rec
        # the record names exactly the rules the call added
        ids = [it["securityGroupRuleId"]
               for it in rec["responseElements"]["securityGroupRuleSet"]["items"]]
        assert sorted(ids) == sorted(r["SecurityGroupRuleId"] for r in added), (name, ids, added)
        assert rec["responseElements"]["requestId"] == rec["requestID"] == \
            out["ResponseMetadata"]["RequestId"], name
        assert rec["requestParameters"]["groupId"] == gid
        assert ev["Username"] == "sg-operator" and ev["AccessKeyId"] == user["access_key_id"]
        assert ev["ReadOnly"] == "false" and ev["EventSource"] == "ec2.amazonaws.com"
        assert ev["Resources"] == [{"ResourceType": "AWS::EC2::SecurityGroup",
                                    "ResourceName": gid}], ev["Resources"]
        assert rec["eventID"] == ev["EventId"]
        ident = rec["userIdentity"]
        assert ident == {"type": "IAMUser", "principalId": user["user_id"], "arn": user["arn"],
                         "accountId": ACCOUNT, "accessKeyId": user["access_key_id"],
                         "userName": "sg-operator"}, ident

    items = lambda r: r["requestParameters"]["ipPermissions"]["items"]  # noqa: E731
    rules = lambda r: r["responseElements"]["securityGroupRuleSet"]["items"]  # noqa: E731
    assert items(recs["multi_v4"]) == [{
        "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
        "ipRanges": {"items": [{"cidrIp": "203.0.113.0/24", "description": "office"},
                               {"cidrIp": "198.51.100.7/32"}]},
        "ipv6Ranges": {}, "prefixListIds": {}}], items(recs["multi_v4"])
    assert [r.get("cidrIpv4") for r in rules(recs["multi_v4"])] == \
        ["203.0.113.0/24", "198.51.100.7/32"]
    assert rules(recs["multi_v4"])[0]["description"] == "office"
    assert items(recs["v6"])[0]["ipv6Ranges"] == {"items": [{"cidrIpv6": "::/0"}]}
    assert rules(recs["v6"])[0]["cidrIpv6"] == "::/0"
    assert items(recs["prefix"])[0]["prefixListIds"] == {
        "items": [{"prefixListId": "pl-0123456789abcdef0"}]}
    assert rules(recs["prefix"])[0]["prefixListId"] == "pl-0123456789abcdef0"
    assert items(recs["group"])[0]["groups"] == {"items": [{"userId": ACCOUNT, "groupId": ref}]}
    assert rules(recs["group"])[0]["referencedGroupInfo"] == {"groupId": ref, "userId": ACCOUNT}
    allp = items(recs["all"])[0]
    assert allp["ipProtocol"] == "-1" and "fromPort" not in allp and "toPort" not in allp, allp
    r = rules(recs["all"])[0]
    assert (r["ipProtocol"], r["fromPort"], r["toPort"]) == ("-1", -1, -1), r
    ic = items(recs["icmp"])[0]
    assert (ic["ipProtocol"], ic["fromPort"], ic["toPort"]) == ("icmp", 8, -1), ic
    for rec in recs.values():
        for it in rules(rec):
            assert it["groupOwnerId"] == ACCOUNT and it["groupId"] == gid
            assert it["isEgress"] is False
            assert it["securityGroupRuleArn"] == "arn:aws:ec2:%s:%s:security-group-rule/%s" % (
                REGION, ACCOUNT, it["securityGroupRuleId"])
    S["recs"] = recs


@case("legacy top-level form (raw Query request) and groupName-only calls")
def t_legacy_and_group_name():
    aws = main_aws()
    user = S["user"]
    gid = S["gid"]
    body = ("Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=%s&IpProtocol=tcp"
            "&FromPort=3389&ToPort=3389&CidrIp=0.0.0.0%%2F0" % gid)
    status, text = raw_request(aws, "ec2", body, user)
    assert status == 200, text
    rec, _ = record_for(aws, "AuthorizeSecurityGroupIngress", gid, creds=user)
    assert rec["requestParameters"] == {"groupId": gid, "ipPermissions": {},
                                        "ipProtocol": "tcp", "fromPort": 3389, "toPort": 3389,
                                        "cidrIp": "0.0.0.0/0"}, rec["requestParameters"]
    it = rec["responseElements"]["securityGroupRuleSet"]["items"]
    assert len(it) == 1 and it[0]["cidrIpv4"] == "0.0.0.0/0" and it[0]["fromPort"] == 3389
    m = re.search(r"<requestId>([^<]*)</requestId>", text)
    assert m and m.group(1) == rec["requestID"], text
    S["legacy"] = rec

    # by groupName only (CloudFormation style): the id is only in responseElements
    ec2 = aws.client("ec2", creds=user)
    aws.client("ec2").create_security_group(GroupName="by-name", Description="d")
    ec2.authorize_security_group_ingress(GroupName="by-name", IpPermissions=[
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
         "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}])
    rec = aws.wait_record(eventName="AuthorizeSecurityGroupIngress",
                          requestParameters={"groupName": "by-name", "ipPermissions": {
                              "items": [{"ipProtocol": "udp", "fromPort": 53, "toPort": 53,
                                         "groups": {},
                                         "ipRanges": {"items": [{"cidrIp": "198.51.100.0/24"}]},
                                         "ipv6Ranges": {}, "prefixListIds": {}}]}})
    assert "groupId" not in rec["requestParameters"]
    gid2 = rec["responseElements"]["securityGroupRuleSet"]["items"][0]["groupId"]
    assert gid2.startswith("sg-")
    r, ev = record_for(aws, "AuthorizeSecurityGroupIngress", gid2, creds=user)
    assert r["eventID"] == rec["eventID"]
    assert {"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": "by-name"} in ev["Resources"]


@case("assumed role: AssumedRole identity with sessionIssuer; Username is the session")
def t_assumed_role():
    aws = main_aws()
    role = aws.create_role("NetworkAdmins", EC2_ALL)
    creds = aws.assume_role(role["Arn"], "alice-session", creds=S["user"])
    assert creds["access_key_id"].startswith("ASIA")
    S["role_creds"] = creds
    ec2 = aws.client("ec2", creds=creds)
    ec2.authorize_security_group_ingress(GroupId=S["gid"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 9000, "ToPort": 9001,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    rec, ev = record_for(aws, "AuthorizeSecurityGroupIngress", S["gid"], creds=creds)
    ui = rec["userIdentity"]
    assert ui["type"] == "AssumedRole", ui
    assert ui["arn"] == "arn:aws:sts::%s:assumed-role/NetworkAdmins/alice-session" % ACCOUNT
    assert ui["principalId"] == role["RoleId"] + ":alice-session", ui
    assert ui["accessKeyId"] == creds["access_key_id"] and ui["accountId"] == ACCOUNT
    si = ui["sessionContext"]["sessionIssuer"]
    assert si == {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                  "accountId": ACCOUNT, "userName": "NetworkAdmins"}, si
    attrs = ui["sessionContext"]["attributes"]
    assert attrs["mfaAuthenticated"] == "false"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", attrs["creationDate"])
    assert ev["Username"] == "alice-session" and ev["AccessKeyId"] == creds["access_key_id"]
    S["role_rec"] = rec


@case("records have the key sets and value types of the genuine samples")
def t_sample_shapes():
    smp = samples()
    recs = S["recs"]
    stratus, el_in, el_eg = smp["stratus"], smp["elastic_in"], smp["elastic_eg"]
    ours = recs["multi_v4"]
    # top level: stratus has managementEvent, the elastic records do not
    same_keys(ours, stratus, "record vs stratus")
    same_keys(ours, el_in, "record vs elastic", extra_ok=["managementEvent"])
    same_keys(S["legacy"], stratus, "legacy record vs stratus")
    same_keys(ours["userIdentity"], stratus["userIdentity"], "IAMUser identity vs stratus")
    same_keys(ours["userIdentity"], el_in["userIdentity"], "IAMUser identity vs elastic")
    same_keys(S["legacy"]["requestParameters"], stratus["requestParameters"],
              "legacy requestParameters vs stratus")
    same_keys(ours["requestParameters"], el_in["requestParameters"], "requestParameters")
    pi = ours["requestParameters"]["ipPermissions"]["items"][0]
    same_keys(pi, el_in["requestParameters"]["ipPermissions"]["items"][0], "ipPermissions item")
    same_keys(pi["ipRanges"]["items"][1],
              el_in["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]["items"][0],
              "ipRanges item")
    same_keys(recs["all"]["requestParameters"]["ipPermissions"]["items"][0],
              smp["streamalert"][0]["requestParameters"]["ipPermissions"]["items"][0],
              "protocol -1 item vs streamalert")
    same_keys(ours["responseElements"], el_in["responseElements"], "responseElements")
    rule = ours["responseElements"]["securityGroupRuleSet"]["items"][1]   # no description
    same_keys(rule, el_in["responseElements"]["securityGroupRuleSet"]["items"][0], "rule item")
    same_keys(rule, el_eg["responseElements"]["securityGroupRuleSet"]["items"][0],
              "rule item vs egress sample")
    same_keys(rule, stratus["responseElements"]["securityGroupRuleSet"]["items"][0],
              "rule item vs stratus", extra_ok=["securityGroupRuleArn"])
    same_keys(ours["tlsDetails"], stratus["tlsDetails"], "tlsDetails")
    role = S["role_rec"]["userIdentity"]
    same_keys(role, el_eg["userIdentity"], "AssumedRole identity")
    same_keys(role["sessionContext"], el_eg["userIdentity"]["sessionContext"], "sessionContext",
              extra_ok=["webIdFederationData"], missing_ok=["ec2RoleDelivery"])
    for k in ("sessionIssuer", "attributes"):
        same_keys(role["sessionContext"][k], el_eg["userIdentity"]["sessionContext"][k], k)
    for name, theirs in (("stratus", stratus), ("elastic_in", el_in), ("elastic_eg", el_eg)):
        same_types(ours, theirs, name)
    same_types(S["legacy"], stratus, "legacy")
    same_types(S["role_rec"], el_eg, "role")
    for rec in list(recs.values()) + [S["legacy"], S["role_rec"]]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["eventTime"])
        uuid.UUID(rec["eventID"])
        assert rec["eventVersion"] in ("1.08", "1.09", "1.10", "1.11")
    # the LookupEvents entries have the keys of the genuine page (minus the SDK's $metadata)
    _, ev = record_for(main_aws(), "AuthorizeSecurityGroupIngress", S["gid"], creds=S["user"])
    genuine = smp["lookup"]["Events"][0]
    same_keys(ev, genuine, "LookupEvents event")
    assert isinstance(ev["CloudTrailEvent"], str) and ev["ReadOnly"] in ("true", "false")


@case("failed, revoke, modify, create and delete calls are recorded")
def t_other_calls():
    aws = main_aws()
    user = S["user"]
    ec2 = aws.client("ec2", creds=user)
    gid = S["gid"]
    e = expect_client_error("InvalidPermission.Duplicate", ec2.authorize_security_group_ingress,
                            GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22,
                                                         "ToPort": 22, "IpRanges": [
                                                             {"CidrIp": "198.51.100.7/32"}]}])
    rec, _ = record_for(aws, "AuthorizeSecurityGroupIngress", gid, creds=user)
    assert rec["errorCode"] == "Client.InvalidPermission.Duplicate", rec
    assert rec["errorMessage"] and rec["responseElements"] is None
    assert rec["requestID"] == e.response["ResponseMetadata"]["RequestId"]
    keys = list(rec)
    assert keys.index("errorCode") == keys.index("userAgent") + 1
    expect_client_error("InvalidGroup.NotFound", ec2.authorize_security_group_ingress,
                        GroupId="sg-0000000000000dead", IpPermissions=[
                            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
                             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    rec, _ = record_for(aws, "AuthorizeSecurityGroupIngress", "sg-0000000000000dead", creds=user)
    assert rec["errorCode"] == "Client.InvalidGroup.NotFound"

    rid = next(r["SecurityGroupRuleId"] for r in rules_of(ec2, gid)
               if r.get("CidrIpv4") == "0.0.0.0/0" and r.get("FromPort") == 3389)
    ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[rid])
    rec, _ = record_for(aws, "RevokeSecurityGroupIngress", gid, creds=user)
    assert rec["requestParameters"]["securityGroupRuleIds"] == {
        "items": [{"securityGroupRuleId": rid}]}, rec["requestParameters"]
    assert rec["responseElements"]["_return"] is True
    assert rec["responseElements"]["revokedSecurityGroupRuleSet"]["items"][0][
        "securityGroupRuleId"] == rid
    expect_client_error("InvalidPermission.NotFound", ec2.revoke_security_group_ingress,
                        GroupId=gid, SecurityGroupRuleIds=[rid])
    rec, _ = record_for(aws, "RevokeSecurityGroupIngress", gid, creds=user)
    assert rec["errorCode"] == "Client.InvalidPermission.NotFound"

    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    rec, _ = record_for(aws, "RevokeSecurityGroupIngress", gid, creds=user)
    assert rec["requestParameters"]["ipPermissions"]["items"][0]["ipv6Ranges"] == {
        "items": [{"cidrIpv6": "::/0"}]}

    rid = next(r["SecurityGroupRuleId"] for r in rules_of(ec2, gid)
               if r.get("FromPort") == 22 and r.get("CidrIpv4") == "203.0.113.0/24")
    ec2.modify_security_group_rules(GroupId=gid, SecurityGroupRules=[{
        "SecurityGroupRuleId": rid, "SecurityGroupRule": {
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0"}}])
    rec, _ = record_for(aws, "ModifySecurityGroupRules", gid, creds=user)
    m = rec["requestParameters"]["ModifySecurityGroupRulesRequest"]
    assert m["GroupId"] == gid and m["SecurityGroupRule"]["SecurityGroupRuleId"] == rid
    assert m["SecurityGroupRule"]["SecurityGroupRule"]["CidrIpv4"] == "0.0.0.0/0"
    assert rec["responseElements"]["ModifySecurityGroupRulesResponse"]["return"] is True

    ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 4444, "ToPort": 4444,
         "IpRanges": [{"CidrIp": "73.21.4.36/32"}]}])
    rec, _ = record_for(aws, "AuthorizeSecurityGroupEgress", gid, creds=user)
    it = rec["responseElements"]["securityGroupRuleSet"]["items"]
    assert len(it) == 1 and it[0]["isEgress"] is True and it[0]["cidrIpv4"] == "73.21.4.36/32"

    new = group_in_default_vpc(ec2, "short-lived")
    rec, _ = record_for(aws, "CreateSecurityGroup", new, creds=user)
    assert rec["requestParameters"]["groupName"] == "short-lived"
    assert rec["responseElements"]["groupId"] == new and rec["responseElements"]["_return"]
    ec2.delete_security_group(GroupId=new)
    rec, _ = record_for(aws, "DeleteSecurityGroup", new, creds=user)
    assert rec["requestParameters"] == {"groupId": new}
    assert rec["responseElements"]["_return"] is True


@case("LookupEvents: one lookup attribute; two or unknown ones rejected")
def t_lookup_attributes():
    aws = main_aws()
    ct = aws.client("cloudtrail")
    r = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                            "AttributeValue": "CreateSecurityGroup"}])
    assert r["Events"] and all(e["EventName"] == "CreateSecurityGroup" for e in r["Events"])
    expect_client_error("InvalidLookupAttributesException", ct.lookup_events, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateSecurityGroup"},
        {"AttributeKey": "ReadOnly", "AttributeValue": "false"}])
    expect_client_error("InvalidLookupAttributesException", ct.lookup_events, LookupAttributes=[
        {"AttributeKey": "Colour", "AttributeValue": "blue"}])
    user = S["user"]
    for key, value, check in (
            ("Username", "sg-operator", lambda e: e["Username"] == "sg-operator"),
            ("AccessKeyId", user["access_key_id"],
             lambda e: e["AccessKeyId"] == user["access_key_id"]),
            ("EventSource", "ec2.amazonaws.com", lambda e: e["EventSource"] == "ec2.amazonaws.com"),
            ("ReadOnly", "false", lambda e: e["ReadOnly"] == "false"),
            ("ResourceType", "AWS::EC2::SecurityGroup", lambda e: e["Resources"]),
            ("EventId", S["legacy"]["eventID"], lambda e: e["EventId"] == S["legacy"]["eventID"])):
        r = ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])
        assert r["Events"] and all(check(e) for e in r["Events"]), key
    r = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId",
                                            "AttributeValue": S["legacy"]["eventID"]}])
    assert len(r["Events"]) == 1
    # per account and region: the same events are not visible from us-west-2
    r = aws.client("cloudtrail", region="us-west-2").lookup_events()
    assert r["Events"] == [], r["Events"]


def _inject_series(aws, name, base, n):
    recs = []
    for i in range(n):
        recs.append({"eventVersion": "1.10", "eventTime": datetime.datetime.fromtimestamp(
            base + 10 * i, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "ec2.amazonaws.com", "eventName": name, "awsRegion": REGION,
            "eventID": str(uuid.uuid4()), "readOnly": False, "recipientAccountId": ACCOUNT,
            "requestParameters": {"groupId": "sg-0aaaaaaaaaaaaaaa%d" % i,
                                  "ipPermissions": {}},
            "userIdentity": {"type": "IAMUser", "userName": "inj", "accountId": ACCOUNT}})
    aws.inject(recs)
    return recs


@case("LookupEvents: inclusive time range, Start > End rejected, newest first")
def t_lookup_time_range():
    aws = main_aws()
    ct = aws.client("cloudtrail")
    base = int(time.time()) - 3600
    recs = _inject_series(aws, "TimeRangeProbe", base, 3)
    attr = [{"AttributeKey": "EventName", "AttributeValue": "TimeRangeProbe"}]
    got = ct.lookup_events(LookupAttributes=attr, StartTime=base, EndTime=base + 20)["Events"]
    assert [e["EventId"] for e in got] == [r["eventID"] for r in reversed(recs)], got
    got = ct.lookup_events(LookupAttributes=attr, StartTime=base + 10, EndTime=base + 10)["Events"]
    assert [e["EventId"] for e in got] == [recs[1]["eventID"]]
    got = ct.lookup_events(LookupAttributes=attr, StartTime=base + 10)["Events"]
    assert [e["EventId"] for e in got] == [recs[2]["eventID"], recs[1]["eventID"]]
    assert got[1]["EventTime"].timestamp() == base + 10
    # fractional epoch seconds (boto3 truncates them, so send them raw)
    status, body = raw_request(aws, "cloudtrail", json.dumps(
        {"LookupAttributes": attr, "StartTime": base + 0.5, "EndTime": base + 19.5}),
        localaws.ROOT_CREDS, target=LOOKUP_TARGET)
    assert status == 200, body
    assert [e["EventId"] for e in json.loads(body)["Events"]] == [recs[1]["eventID"]], body
    expect_client_error("InvalidTimeRangeException", ct.lookup_events, LookupAttributes=attr,
                        StartTime=base + 20, EndTime=base)
    # EventTime is epoch seconds on the wire
    status, body = raw_request(aws, "cloudtrail", json.dumps(
        {"LookupAttributes": attr, "StartTime": base, "EndTime": base}), localaws.ROOT_CREDS,
        target=LOOKUP_TARGET)
    assert status == 200, body
    assert json.loads(body)["Events"][0]["EventTime"] == base


@case("LookupEvents: MaxResults 1 pages with NextToken; changed parameters rejected")
def t_lookup_paging():
    aws = main_aws()
    ct = aws.client("cloudtrail")
    base = int(time.time()) - 7200
    recs = _inject_series(aws, "PagingProbe", base, 5)
    attr = [{"AttributeKey": "EventName", "AttributeValue": "PagingProbe"}]
    seen, token, first_token = [], None, None
    while True:
        p = {"LookupAttributes": attr, "MaxResults": 1}
        if token:
            p["NextToken"] = token
        r = ct.lookup_events(**p)
        assert len(r["Events"]) <= 1
        seen += [e["EventId"] for e in r["Events"]]
        token = r.get("NextToken")
        first_token = first_token or token
        if not token:
            break
    assert seen == [r["eventID"] for r in reversed(recs)], seen
    expect_client_error("InvalidNextTokenException", ct.lookup_events, NextToken=first_token,
                        MaxResults=1, LookupAttributes=[{"AttributeKey": "EventName",
                                                         "AttributeValue": "Other"}])
    expect_client_error("InvalidNextTokenException", ct.lookup_events, NextToken=first_token,
                        MaxResults=1, LookupAttributes=attr, StartTime=base)
    expect_client_error("InvalidNextTokenException", ct.lookup_events, NextToken="garbage",
                        MaxResults=1, LookupAttributes=attr)
    unchecked = aws.client("cloudtrail", validate=False)
    for bad in (0, 51):
        expect_client_error("InvalidMaxResultsException", unchecked.lookup_events,
                            MaxResults=bad)
    r = ct.lookup_events(LookupAttributes=attr)
    assert len(r["Events"]) == 5 and "NextToken" not in r


@case("LookupEvents: delivery delay hides records until eventTime + delay")
def t_delivery_delay():
    aws = main_aws()
    aws.config(delivery_delay=2)
    try:
        ec2 = aws.client("ec2")
        gid = group_in_default_vpc(ec2, "delayed")
        t0 = time.time()
        attr = [{"AttributeKey": "ResourceName", "AttributeValue": gid}]
        assert aws.lookup(LookupAttributes=attr)["Events"] == []
        assert aws.events(name="CreateSecurityGroup")   # recorded, just not delivered yet
        while not aws.lookup(LookupAttributes=attr)["Events"]:
            assert time.time() - t0 < 5, "record not delivered after 5 s"
            time.sleep(0.2)
        assert time.time() >= int(t0) + 2 - 0.05, "delivered before eventTime + delay"
        # a per-record delay given at injection wins over the global one
        aws.inject(_probe("LateProbe"), delay=0)
        assert aws.lookup(LookupAttributes=[{"AttributeKey": "EventName",
                                             "AttributeValue": "LateProbe"}])["Events"]
    finally:
        aws.config(delivery_delay=0)


def _probe(name, **extra):
    rec = {"eventVersion": "1.10", "eventTime": datetime.datetime.now(
        datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource": "ec2.amazonaws.com",
        "eventName": name, "awsRegion": REGION, "eventID": str(uuid.uuid4()),
        "recipientAccountId": ACCOUNT}
    rec.update(extra)
    return rec


@case("injection: hostile records are served byte for byte; account/region override")
def t_injection():
    aws = main_aws()
    odd = ('{"eventVersion":"1.10","eventName":"AuthorizeSecurityGroupIngress",'
           '"eventSource":"ec2.amazonaws.com","eventID":"%s","awsRegion":"us-east-1",'
           '"eventTime":"%s","requestParameters":{"groupId":"sg-0bbbbbbbbbbbbbbbb",'
           '"ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":"22","toPort":99999,'
           '"ipRanges":{"items":[{"cidrIp":"not-a-cidr"}]},"extra":[1,2,{"x":null}]}]}},'
           '"responseElements":{"_return":true},"userIdentity":{"type":"Unknown"},'
           '"unicode":"\\u00e9\\ud83d\\ude00"}'
           % (uuid.uuid4(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    out = aws.inject([odd])
    r = aws.lookup(LookupAttributes=[{"AttributeKey": "EventId",
                                      "AttributeValue": out["event_ids"][0]}])
    assert len(r["Events"]) == 1 and r["Events"][0]["CloudTrailEvent"] == odd
    assert r["Events"][0]["Resources"] == [{"ResourceType": "AWS::EC2::SecurityGroup",
                                            "ResourceName": "sg-0bbbbbbbbbbbbbbbb"}]
    # not even JSON: still served as given, with the lookup fields supplied
    out = aws.inject(["{truncated"], lookup={"EventName": "BrokenProbe"})
    r = aws.lookup(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "BrokenProbe"}])
    assert [e["CloudTrailEvent"] for e in r["Events"]] == ["{truncated"]
    # another account and region: visible only to that account's keys in that region
    aws.register_key(access_key_id="AKIAOTHERACCOUNT0001", secret_access_key="other-secret",
                     account="222233334444", type="IAMUser", name="bob")
    other = {"access_key_id": "AKIAOTHERACCOUNT0001", "secret_access_key": "other-secret"}
    aws.inject([_probe("OtherAccountProbe")], account="222233334444", region="eu-west-1")
    attr = [{"AttributeKey": "EventName", "AttributeValue": "OtherAccountProbe"}]
    assert aws.lookup(LookupAttributes=attr)["Events"] == []
    assert aws.lookup(LookupAttributes=attr, creds=other)["Events"] == []
    assert len(aws.lookup(LookupAttributes=attr, creds=other, region="eu-west-1")["Events"]) == 1


@case("throttling: more than 2 LookupEvents/s per account-region is HTTP 400 ThrottlingException")
def t_throttling():
    aws = def_aws()
    body = json.dumps({"MaxResults": 1})
    for attempt in range(3):          # a burst of 4 within one second: 2 pass, 2 throttled
        time.sleep(1.05)
        aws.reset_log()
        t0 = time.monotonic()
        results = [raw_request(aws, "cloudtrail", body, localaws.ROOT_CREDS,
                               target=LOOKUP_TARGET) for _ in range(4)]
        if time.monotonic() - t0 < 0.9:
            break
    else:
        harness.skip("machine too slow to send 4 requests within a second")
    assert [s for s, _ in results] == [200, 200, 400, 400], results
    for status, text in results[2:]:
        assert json.loads(text) == {"__type": "ThrottlingException",
                                    "message": "Rate exceeded"}, text
    # another region has its own budget
    status, _ = raw_request(aws, "cloudtrail", body, localaws.ROOT_CREDS, target=LOOKUP_TARGET,
                            region="eu-west-1")
    assert status == 200
    time.sleep(1.05)
    status, _ = raw_request(aws, "cloudtrail", body, localaws.ROOT_CREDS, target=LOOKUP_TARGET)
    assert status == 200
    thr = [r for r in aws.requests(service="cloudtrail", action="LookupEvents")
           if r["error_code"] == "ThrottlingException"]
    assert len(thr) == 2, thr


@case("strict SigV4: wrong secret, old date, wrong payload hash, missing token are rejected")
def t_strict_sigv4():
    aws = def_aws()
    root = localaws.ROOT_CREDS
    wrong = dict(root, secret_access_key="not-the-secret")
    old = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - \
        datetime.timedelta(minutes=20)
    future = old + datetime.timedelta(minutes=40)
    other_sha = hashlib.sha256(b"something else").hexdigest()
    lookup = json.dumps({"MaxResults": 1})

    # good requests pass in every protocol
    assert raw_request(aws, "ec2", EC2_DESCRIBE, root)[0] == 200
    assert raw_request(aws, "sns", SNS_LIST, root)[0] == 200
    time.sleep(1.05)
    assert raw_request(aws, "cloudtrail", lookup, root, target=LOOKUP_TARGET)[0] == 200
    ok_sha = hashlib.sha256(EC2_DESCRIBE.encode()).hexdigest()
    assert raw_request(aws, "ec2", EC2_DESCRIBE, root, content_sha=ok_sha)[0] == 200

    # EC2 protocol: <Response><Errors>
    s, b = raw_request(aws, "ec2", EC2_DESCRIBE, wrong)
    assert (s, xml_code(b)) == (401, "AuthFailure") and "<Response><Errors>" in b, (s, b)
    s, b = raw_request(aws, "ec2", EC2_DESCRIBE, root, when=old)
    assert (s, xml_code(b)) == (400, "RequestExpired"), (s, b)
    s, b = raw_request(aws, "ec2", EC2_DESCRIBE, root, when=future)
    assert (s, xml_code(b)) == (400, "RequestExpired"), (s, b)
    s, b = raw_request(aws, "ec2", EC2_DESCRIBE, root, content_sha=other_sha)
    assert (s, xml_code(b)) == (401, "AuthFailure"), (s, b)
    s, b = raw_request(aws, "ec2", EC2_DESCRIBE, {"access_key_id": "AKIANOSUCHKEY0000000",
                                                  "secret_access_key": "x"})
    assert (s, xml_code(b)) == (401, "AuthFailure"), (s, b)
    s, b = send(aws, {"Content-Type": "application/x-www-form-urlencoded"},
                EC2_DESCRIBE.encode())
    assert (s, xml_code(b)) == (401, "AuthFailure"), (s, b)

    # Query protocol (SNS): <ErrorResponse>
    s, b = raw_request(aws, "sns", SNS_LIST, wrong)
    assert (s, xml_code(b)) == (403, "SignatureDoesNotMatch") and "<ErrorResponse" in b, (s, b)
    s, b = raw_request(aws, "sns", SNS_LIST, root, when=old)
    assert s == 403 and xml_code(b) == "SignatureDoesNotMatch" and "Signature expired" in b, b
    s, b = raw_request(aws, "sns", SNS_LIST, root, content_sha=other_sha)
    assert (s, xml_code(b)) == (403, "SignatureDoesNotMatch"), (s, b)
    s, b = raw_request(aws, "sns", SNS_LIST, {"access_key_id": "AKIANOSUCHKEY0000000",
                                              "secret_access_key": "x"})
    assert (s, xml_code(b)) == (403, "InvalidClientTokenId"), (s, b)

    # JSON protocol (CloudTrail)
    s, b = raw_request(aws, "cloudtrail", lookup, wrong, target=LOOKUP_TARGET)
    assert (s, json_type(b)) == (400, "InvalidSignatureException"), (s, b)
    s, b = raw_request(aws, "cloudtrail", lookup, root, target=LOOKUP_TARGET, when=old)
    assert (s, json_type(b)) == (400, "InvalidSignatureException"), (s, b)
    assert "Signature expired" in json.loads(b)["message"]
    s, b = raw_request(aws, "cloudtrail", lookup, root, target=LOOKUP_TARGET,
                       content_sha=other_sha)
    assert (s, json_type(b)) == (400, "InvalidSignatureException"), (s, b)

    # temporary credentials: the session token is required and must match
    iam = aws.client("iam")
    iam.create_role(RoleName="sig-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": "arn:aws:iam::%s:root" % ACCOUNT}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="sig-role", PolicyName="p", PolicyDocument=json.dumps(EC2_ALL))
    tmp = aws.assume_role("arn:aws:iam::%s:role/sig-role" % ACCOUNT, "sig")
    assert raw_request(aws, "ec2", EC2_DESCRIBE, tmp)[0] == 200
    s, b = raw_request(aws, "ec2", EC2_DESCRIBE, tmp, token=False)
    assert (s, xml_code(b)) == (401, "AuthFailure"), (s, b)
    s, b = raw_request(aws, "sns", SNS_LIST, tmp, token=False)
    assert (s, xml_code(b)) == (403, "InvalidClientTokenId"), (s, b)
    s, b = raw_request(aws, "sns", SNS_LIST, dict(tmp, session_token="forged-token"))
    assert (s, xml_code(b)) == (403, "InvalidClientTokenId"), (s, b)
    time.sleep(1.05)
    s, b = raw_request(aws, "cloudtrail", lookup, tmp, target=LOOKUP_TARGET, token=False)
    assert (s, json_type(b)) == (403, "InvalidClientTokenId"), (s, b)
    # and none of the rejected calls reached moto or CloudTrail
    assert not [e for e in aws.events() if (e["record"] or {}).get("userIdentity", {}).get(
        "accessKeyId") == "AKIANOSUCHKEY0000000"]


@case("--auth: moto's IAM enforcement; denied calls recorded as Client.UnauthorizedOperation")
def t_auth_enforcement():
    aws = def_aws()
    ec2_root = aws.client("ec2")
    gid = group_in_default_vpc(ec2_root, "guarded")
    reader = aws.create_user("reader", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}]})
    admin = aws.create_user("admin", EC2_ALL)
    perm = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    aws.client("ec2", creds=reader).describe_security_groups(GroupIds=[gid])
    expect_client_error("UnauthorizedOperation",
                        aws.client("ec2", creds=reader).authorize_security_group_ingress,
                        GroupId=gid, IpPermissions=perm)
    aws.client("ec2", creds=admin).authorize_security_group_ingress(GroupId=gid,
                                                                     IpPermissions=perm)
    time.sleep(1.05)
    r = aws.lookup(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": gid}])
    recs = [json.loads(e["CloudTrailEvent"]) for e in r["Events"]]
    names = [(x["eventName"], x["userIdentity"].get("userName"), x.get("errorCode"))
             for x in recs]
    assert names == [("AuthorizeSecurityGroupIngress", "admin", None),
                     ("AuthorizeSecurityGroupIngress", "reader", "Client.UnauthorizedOperation"),
                     ("CreateSecurityGroup", None, None)], names
    assert recs[1]["responseElements"] is None and "not authorized" in recs[1]["errorMessage"]
    # LookupEvents (served by localaws itself) and SNS follow the same policies
    assert aws.lookup(creds=admin, MaxResults=1)["Events"]
    time.sleep(1.05)
    expect_client_error("AccessDeniedException", aws.lookup, creds=reader, MaxResults=1)
    topic = aws.client("sns").create_topic(Name="guarded")["TopicArn"]
    expect_client_error("AuthorizationError", aws.client("sns", creds=reader).publish,
                        TopicArn=topic, Message="x")
    assert aws.sns_messages(topic=topic) == []


@case("request log counts requests by service and action; reset-log empties it")
def t_request_log():
    aws = main_aws()
    aws.reset_log()
    ec2 = aws.client("ec2")
    ec2.describe_security_groups()
    ec2.describe_security_groups()
    aws.lookup(MaxResults=1)
    reqs = aws.requests()
    assert [(r["service"], r["action"], r["status"]) for r in reqs] == [
        ("ec2", "DescribeSecurityGroups", 200), ("ec2", "DescribeSecurityGroups", 200),
        ("cloudtrail", "LookupEvents", 200)], reqs
    assert all(r["account"] == ACCOUNT and r["region"] == REGION for r in reqs)
    assert len(aws.requests(service="ec2", action="DescribeSecurityGroups")) == 2
    aws.reset_log()
    assert aws.requests() == []


@case("faults: status/body, AWS error, answer lost after the call, reset, hang")
def t_faults():
    aws = main_aws()
    ec2 = aws.client("ec2")
    gid = group_in_default_vpc(ec2, "faulty")
    perm = [{"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25,
             "IpRanges": [{"CidrIp": "192.0.2.1/32"}]}]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perm)

    aws.fault(service="ec2", action="RevokeSecurityGroupIngress", count=1, status=503,
              body="<Response><Errors><Error><Code>Unavailable</Code><Message>x</Message>"
                   "</Error></Errors></Response>", content_type="text/xml")
    e = expect_client_error("Unavailable", ec2.revoke_security_group_ingress,
                            GroupId=gid, IpPermissions=perm)
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert any(r["SecurityGroupRuleId"] for r in rules_of(ec2, gid) if r.get("FromPort") == 25)

    aws.fault(service="ec2", action="RevokeSecurityGroupIngress",
              error={"code": "RequestLimitExceeded", "message": "Request limit exceeded.",
                     "status": 503})
    expect_client_error("RequestLimitExceeded", ec2.revoke_security_group_ingress,
                        GroupId=gid, IpPermissions=perm)

    # the call happens, the answer is lost: the rule is gone and the record exists
    aws.fault(service="ec2", action="RevokeSecurityGroupIngress", when="after",
              error={"code": "InternalError", "status": 500})
    expect_client_error("InternalError", ec2.revoke_security_group_ingress,
                        GroupId=gid, IpPermissions=perm)
    assert not [r for r in rules_of(ec2, gid) if r.get("FromPort") == 25]
    rec, _ = record_for(aws, "RevokeSecurityGroupIngress", gid)
    assert "errorCode" not in rec

    aws.fault(service="cloudtrail", action="LookupEvents", mode="reset")
    try:
        aws.lookup()
        raise AssertionError("the connection was not reset")
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - botocore wraps the reset
        assert "reset" in repr(exc).lower() or "closed" in repr(exc).lower() \
            or "aborted" in repr(exc).lower(), repr(exc)
    aws.fault(service="ec2", action="DescribeSecurityGroups", mode="hang", seconds=3)
    t0 = time.time()
    try:
        send(aws, {"Content-Type": "application/x-www-form-urlencoded"},
             EC2_DESCRIBE.encode(), timeout=0.5)
        raise AssertionError("the hanging request was answered")
    except (socket.timeout, TimeoutError, urllib.error.URLError):
        pass
    assert time.time() - t0 < 2
    assert aws.admin("GET", "fault")["faults"] == []
    faults = [(r["action"], r["fault"], r["status"]) for r in aws.requests() if r["fault"]]
    assert faults == [("RevokeSecurityGroupIngress", "respond", 503),
                      ("RevokeSecurityGroupIngress", "error", 503),
                      ("RevokeSecurityGroupIngress", "error", 500),
                      ("LookupEvents", "reset", 0),
                      ("DescribeSecurityGroups", "hang", 0)], faults
    ec2.describe_security_groups()     # and everything works again


@case("the verifier agrees with the AWS SigV4 test suite")
def t_sigv4_suite():
    base = shared_path("data", "sigv4-suite", "v4")
    n = 0
    for d in sorted(glob.glob(os.path.join(base, "*"))):
        ctx_file = os.path.join(d, "context.json")
        if not os.path.isfile(ctx_file):
            continue
        ctx = json.load(open(ctx_file))
        if not ctx.get("normalize", True):
            continue          # S3-style unnormalized paths: not what AWS does for EC2/SNS/...
        raw = open(os.path.join(d, "header-signed-request.txt"), "rb").read().decode("utf-8")
        head, _, body = raw.partition("\n\n")
        lines = head.split("\n")
        method, _, rest = lines[0].partition(" ")
        uri = rest.rsplit(" ", 1)[0]
        headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:
                headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
            else:
                k, _, v = line.partition(":")
                headers.append((k, v))
        authz = [v for k, v in headers if k.lower() == "authorization"][0]
        auth = server.parse_authorization(authz)
        got = server.verify_sigv4_signature(method, uri, headers, body.encode("utf-8"), auth,
                                            ctx["credentials"]["secret_access_key"])
        assert got == auth["signature"], "%s: %s != %s" % (os.path.basename(d), got,
                                                            auth["signature"])
        n += 1
    assert n >= 30, n


@case("--no-strict-sigv4 passes unsigned requests to moto")
def t_no_strict():
    aws = localaws.start("--no-strict-sigv4")
    try:
        assert aws.config()["strict_sigv4"] is False
        s, b = send(aws, {"Content-Type": "application/x-www-form-urlencoded"},
                    EC2_DESCRIBE.encode())
        assert s == 200 and "DescribeSecurityGroupsResponse" in b, (s, b)
        s, b = raw_request(aws, "ec2", EC2_DESCRIBE, {"access_key_id": "test",
                                                      "secret_access_key": "wrong"})
        assert s == 200, (s, b)
    finally:
        assert aws.stop() == 0


@case("SIGTERM stops localaws cleanly")
def t_sigterm():
    for name in ("def", "main"):
        aws = S.pop(name, None)
        if aws is None:
            continue
        t0 = time.time()
        rc = aws.stop(timeout=8)
        assert rc == 0, "%s exited %s" % (name, rc)
        assert time.time() - t0 < 6


if __name__ == "__main__":
    run()
