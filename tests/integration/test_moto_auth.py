#!/usr/bin/env python3
"""First proof against a real peer: sgguard's signed calls checked by moto.

moto_server runs with INITIAL_NO_AUTH_ACTION_COUNT so that the set-up made
with boto3 (IAM user and policy, access key, security group with a rule, SNS
topic, an assumed role) is not authenticated; /moto-api/reset-auth then turns
enforcement on for every later request. From there moto recomputes every
SigV4 signature with botocore and checks the IAM policy of the caller, and
the calls go through the aws-call tool, i.e. through sgguard's aws, sigv4 and
http code.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import case  # noqa: E402

TOOL = os.path.join(harness.TOOLS, "aws-call")
REGION = "us-east-1"

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": [
            "ec2:DescribeSecurityGroups",
            "ec2:RevokeSecurityGroupIngress",
            "sns:Publish",
            "sts:GetCallerIdentity",
            "cloudtrail:LookupEvents",
            # moto has no LookupEvents: DescribeTrails stands in for a JSON
            # 1.1 call that moto can authenticate.
            "cloudtrail:DescribeTrails",
        ],
        "Resource": "*",
    }],
}
ADMIN_POLICY = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

S = {}   # what the set-up made


def boto(service, key=None, secret=None, token=None):
    import boto3
    return boto3.client(service, region_name=REGION, endpoint_url=S["url"],
                        aws_access_key_id=key or "testing",
                        aws_secret_access_key=secret or "testing",
                        aws_session_token=token)


def admin(service):
    return boto(service, S["admin_key"], S["admin_secret"])


def run(args, key=None, secret=None, token=None, timeout=60):
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("AWS_")
           and not k.startswith("SGGUARD_")}
    env.update({
        "AWS_ACCESS_KEY_ID": key or S["key"],
        "AWS_SECRET_ACCESS_KEY": secret or S["secret"],
        "AWS_ENDPOINT_URL": S["url"],
        "NO_PROXY": "127.0.0.1,localhost",
        "SGGUARD_TEST_FAST": "1",
        "SGGUARD_HTTP_TIMEOUT_MS": "20000",
        "SGGUARD_AWS_MAX_ATTEMPTS": "2",
    })
    if token:
        env["AWS_SESSION_TOKEN"] = token
    p = subprocess.run([TOOL] + args, env=env, capture_output=True, text=True,
                       timeout=timeout, errors="replace")
    return p.returncode, p.stdout, p.stderr


def ingress_rules():
    g = admin("ec2").describe_security_groups(GroupIds=[S["sg"]])["SecurityGroups"][0]
    return g["IpPermissions"]


@case("moto_server starts; set-up unauthenticated, then auth enforced")
def setup():
    if shutil.which("moto_server") is None:
        harness.skip("moto_server not installed")
    port = harness.free_port()
    S["url"] = "http://127.0.0.1:%d" % port
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "1000"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(k, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    log = tempfile.TemporaryFile()
    S["proc"] = harness.spawn(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    harness.wait_port(port, timeout=60)

    iam = boto("iam")
    iam.create_user(UserName="sgguard")
    iam.put_user_policy(UserName="sgguard", PolicyName="sgguard",
                        PolicyDocument=json.dumps(POLICY))
    k = iam.create_access_key(UserName="sgguard")["AccessKey"]
    S["key"], S["secret"] = k["AccessKeyId"], k["SecretAccessKey"]
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all",
                        PolicyDocument=json.dumps(ADMIN_POLICY))
    k = iam.create_access_key(UserName="admin")["AccessKey"]
    S["admin_key"], S["admin_secret"] = k["AccessKeyId"], k["SecretAccessKey"]

    # A role the sgguard user may assume, for temporary credentials.
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::123456789012:user/sgguard"}}]}
    role = iam.create_role(RoleName="sgguard-role",
                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="sgguard-role", PolicyName="describe",
                        PolicyDocument=json.dumps({
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow",
                                           "Action": "ec2:DescribeSecurityGroups",
                                           "Resource": "*"}]}))
    c = boto("sts", S["key"], S["secret"]).assume_role(
        RoleArn=role["Arn"], RoleSessionName="sgguard-test")["Credentials"]
    S["tmp"] = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    ec2 = boto("ec2")
    S["sg"] = ec2.create_security_group(GroupName="sgguard-test",
                                        Description="sgguard test")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=S["sg"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    S["topic"] = boto("sns").create_topic(Name="sgguard-alerts")["TopicArn"]

    # A form Content-Type would make moto read an empty body.
    req = urllib.request.Request(S["url"] + "/moto-api/reset-auth", data=b"0",
                                 method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    # Enforcement is on: boto3 with made-up keys is refused now.
    try:
        boto("sts").get_caller_identity()
    except Exception as e:  # noqa: BLE001
        assert "InvalidClientTokenId" in str(e), e
    else:
        raise AssertionError("moto did not enforce authentication")
    S["ready"] = True


def need_setup():
    if not S.get("ready"):
        raise AssertionError("set-up failed (see the first case)")


@case("EC2 DescribeSecurityGroups signed by sgguard is accepted")
def describe():
    need_setup()
    rc, out, err = run(["ec2", REGION, "DescribeSecurityGroups", "GroupId.1=" + S["sg"]])
    assert rc == 0 and out.startswith("OK 200\n"), (out, err)
    assert S["sg"] in out and "<fromPort>22</fromPort>" in out, out


@case("EC2 RevokeSecurityGroupIngress is accepted and the rule is gone")
def revoke():
    need_setup()
    assert len(ingress_rules()) == 1
    rc, out, err = run(["ec2", REGION, "RevokeSecurityGroupIngress",
                        "GroupId=" + S["sg"],
                        "IpPermissions.1.IpProtocol=tcp",
                        "IpPermissions.1.FromPort=22",
                        "IpPermissions.1.ToPort=22",
                        "IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"])
    assert rc == 0 and out.startswith("OK 200\n"), (out, err)
    assert "<return>true</return>" in out, out
    assert ingress_rules() == [], ingress_rules()


@case("SNS Publish is accepted")
def publish():
    need_setup()
    rc, out, err = run(["sns", REGION, "Publish", "TopicArn=" + S["topic"],
                        "Subject=[sgguard] AUTO-MITIGATED sg-0123 (us-east-1)",
                        "Message=event_id: x\nrevoked: tcp 22 0.0.0.0/0 & more=\u00e9"])
    assert rc == 0 and out.startswith("OK 200\n"), (out, err)
    assert "<MessageId>" in out, out


@case("STS GetCallerIdentity is accepted and names the user")
def caller_identity():
    need_setup()
    rc, out, err = run(["sts", REGION, "GetCallerIdentity"])
    assert rc == 0 and out.startswith("OK 200\n"), (out, err)
    assert "user/sgguard" in out, out


@case("a JSON 1.1 call (CloudTrail DescribeTrails) is accepted")
def cloudtrail_json():
    need_setup()
    rc, out, err = run(["cloudtrail", REGION, "DescribeTrails", "{}"])
    assert rc == 0 and out.startswith("OK 200\n"), (out, err)
    assert "trailList" in out, out


@case("temporary credentials with a session token are accepted")
def session_token():
    need_setup()
    key, secret, token = S["tmp"]
    rc, out, err = run(["ec2", REGION, "DescribeSecurityGroups", "GroupId.1=" + S["sg"]],
                       key=key, secret=secret, token=token)
    assert rc == 0 and out.startswith("OK 200\n"), (out, err)
    rc, out, err = run(["ec2", REGION, "DescribeSecurityGroups"], key=key, secret=secret,
                       token="not-the-token")
    assert rc == 1 and "kind=auth" in out, (out, err)


@case("a wrong secret is rejected with the AWS error code")
def wrong_secret():
    need_setup()
    bad = S["secret"][:-4] + "XXXX"
    rc, out, err = run(["ec2", REGION, "DescribeSecurityGroups"], secret=bad)
    assert rc == 1 and "ERROR kind=auth http=401 code=AuthFailure message=AWS was not " \
        "able to validate the provided access credentials" in out, (out, err)
    assert "attempts=1" in err, err          # not retried
    assert bad not in out + err
    rc, out, err = run(["sts", REGION, "GetCallerIdentity"], secret=bad)
    assert rc == 1 and "ERROR kind=auth http=403 code=SignatureDoesNotMatch message=The " \
        "request signature we calculated does not match" in out, (out, err)
    rc, out, err = run(["sns", REGION, "Publish", "TopicArn=" + S["topic"], "Message=x"],
                       secret=bad)
    assert rc == 1 and "kind=auth" in out and "code=SignatureDoesNotMatch" in out, (out, err)
    rc, out, err = run(["cloudtrail", REGION, "DescribeTrails", "{}"], secret=bad)
    assert rc == 1 and "kind=auth" in out and "code=SignatureDoesNotMatch" in out, (out, err)
    assert "hint: check the access key id" in err, err


@case("an unknown access key is rejected")
def unknown_key():
    need_setup()
    rc, out, err = run(["sts", REGION, "GetCallerIdentity"], key="AKIAUNKNOWNKEY000000")
    assert rc == 1 and "kind=auth" in out and "code=InvalidClientTokenId" in out, (out, err)


@case("actions outside the policy are refused")
def outside_policy():
    need_setup()
    rc, out, err = run(["ec2", REGION, "AuthorizeSecurityGroupIngress",
                        "GroupId=" + S["sg"], "IpPermissions.1.IpProtocol=tcp",
                        "IpPermissions.1.FromPort=3389", "IpPermissions.1.ToPort=3389",
                        "IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0"])
    assert rc == 1 and "ERROR kind=denied http=403 code=AccessDenied message=User: " \
        "arn:aws:iam::123456789012:user/sgguard is not authorized to perform: " \
        "ec2:AuthorizeSecurityGroupIngress" in out, (out, err)
    assert ingress_rules() == []
    rc, out, err = run(["ec2", REGION, "DeleteSecurityGroup", "GroupId=" + S["sg"]])
    assert rc == 1 and "kind=denied" in out and "ec2:DeleteSecurityGroup" in out, (out, err)
    rc, out, err = run(["sns", REGION, "CreateTopic", "Name=other"])
    assert rc == 1 and "kind=denied" in out and "sns:CreateTopic" in out, (out, err)
    assert "hint: the IAM policy" in err, err


@case("moto_server stops")
def teardown():
    p = S.get("proc")
    if p is None:
        harness.skip("not started")
    t0 = time.monotonic()
    harness.stop(p, 10)
    assert p.poll() is not None and time.monotonic() - t0 < 15


if __name__ == "__main__":
    if not os.access(TOOL, os.X_OK):
        print("1..0 # SKIP %s not built" % TOOL)
        sys.exit(0)
    harness.run()
