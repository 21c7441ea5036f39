"""Helpers for tests that use localaws (tests/localaws/localaws.py).

    import sys, os
    sys.path.insert(0, os.path.join(ROOT, "tests", "localaws"))
    import client as localaws

    aws = localaws.start()                       # spawned with harness.spawn
    ec2 = aws.client("ec2")                      # root of the default account
    user = aws.create_user("alice", {"Version": "2012-10-17", "Statement": [...]})
    ec2_alice = aws.client("ec2", creds=user)
    events = aws.lookup(LookupAttributes=[...])  # CloudTrail LookupEvents
    aws.stop()

Every process is started with harness.spawn, so harness stops it at exit at
the latest.
"""
import json
import os
import select
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

SERVER = os.path.join(HERE, "localaws.py")
DEFAULT_ACCOUNT = "123456789012"
REGION = "us-east-1"
ROOT_CREDS = {"access_key_id": "test", "secret_access_key": "test"}


class Creds(dict):
    """access_key_id, secret_access_key, optional session_token (+ extra info)."""


class LocalAWS:
    def __init__(self, proc, host, port):
        self.proc = proc
        self.host = host
        self.port = port
        self.endpoint = "http://%s:%d" % (host, port)

    # -- process ---------------------------------------------------------
    def stop(self, timeout=5.0):
        harness.stop(self.proc, timeout)
        return self.proc.returncode

    # -- admin API -------------------------------------------------------
    def admin(self, method, path, payload=None, query=None):
        url = self.endpoint + "/_localaws/" + path.lstrip("/")
        if query:
            url += "?" + "&".join("%s=%s" % (k, v) for k, v in query.items() if v is not None)
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("localaws admin %s %s: %d %s" % (method, path, e.code,
                                                               e.read().decode()))

    def config(self, **kw):
        return self.admin("POST", "config", kw) if kw else self.admin("GET", "config")

    def inject(self, records, account=None, region=None, event_time=None, delay=None,
               lookup=None):
        p = {"records": records if isinstance(records, list) else [records]}
        for k, v in (("account", account), ("region", region), ("event_time", event_time),
                     ("delay", delay), ("lookup", lookup)):
            if v is not None:
                p[k] = v
        return self.admin("POST", "inject", p)

    def events(self, **query):
        return self.admin("GET", "events", query=query)["events"]

    def requests(self, service=None, action=None, since=None):
        return self.admin("GET", "requests",
                          query={"service": service, "action": action, "since": since}
                          )["requests"]

    def reset_log(self):
        return self.admin("POST", "reset-log", {})

    def reset_events(self):
        return self.admin("POST", "reset-events", {})

    def sns_messages(self, topic=None, since=None):
        """Messages published (SNS Publish that succeeded), oldest first."""
        return self.admin("GET", "sns-messages", query={"topic": topic, "since": since}
                          )["messages"]

    def fault(self, **spec):
        return self.admin("POST", "fault", spec)["added"]

    def clear_faults(self):
        return self.admin("POST", "fault/clear", {})

    def register_key(self, **spec):
        return self.admin("POST", "keys", spec)

    # -- boto3 -----------------------------------------------------------
    def client(self, service, creds=None, region=REGION, attempts=1, validate=True, **kw):
        """A boto3 client for localaws (root of the default account unless creds).

        attempts: total attempts per call (1: boto3 never retries, so a test
        sees every throttle or fault); validate=False skips boto3's own
        parameter validation (to send values AWS itself must reject).
        """
        import boto3
        from botocore.config import Config
        c = creds or ROOT_CREDS
        cfg = Config(retries={"total_max_attempts": attempts, "mode": "standard"},
                     connect_timeout=5, read_timeout=15, parameter_validation=validate)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id=c["access_key_id"],
                            aws_secret_access_key=c["secret_access_key"],
                            aws_session_token=c.get("session_token"), config=cfg, **kw)

    def create_user(self, name, policy=None, policy_name="inline"):
        """IAM user with an inline policy and an access key (made as root)."""
        iam = self.client("iam")
        u = iam.create_user(UserName=name)["User"]
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName=policy_name,
                                PolicyDocument=json.dumps(policy))
        k = iam.create_access_key(UserName=name)["AccessKey"]
        return Creds(access_key_id=k["AccessKeyId"], secret_access_key=k["SecretAccessKey"],
                     user_name=name, arn=u["Arn"], user_id=u["UserId"])

    def create_role(self, name, policy=None, trust=None, account=DEFAULT_ACCOUNT,
                    principal=None):
        """A role that principal (default: the account's root) may assume."""
        iam = self.client("iam")
        trust = trust or {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow",
             "Principal": {"AWS": principal or "arn:aws:iam::%s:root" % account},
             "Action": "sts:AssumeRole"}]}
        r = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName="inline",
                                PolicyDocument=json.dumps(policy))
        return r

    def assume_role(self, role_arn, session_name, creds=None, duration=3600):
        sts = self.client("sts", creds=creds)
        c = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name,
                            DurationSeconds=duration)["Credentials"]
        return Creds(access_key_id=c["AccessKeyId"], secret_access_key=c["SecretAccessKey"],
                     session_token=c["SessionToken"], role_arn=role_arn,
                     session_name=session_name)

    def lookup(self, creds=None, region=REGION, **params):
        """One LookupEvents call; returns the response dict (Events, NextToken)."""
        return self.client("cloudtrail", creds=creds, region=region).lookup_events(**params)

    def lookup_records(self, creds=None, region=REGION, **params):
        """Every page of LookupEvents, as parsed CloudTrail records (newest first)."""
        out, token = [], None
        while True:
            p = dict(params)
            if token:
                p["NextToken"] = token
            r = self.lookup(creds=creds, region=region, **p)
            out += [json.loads(e["CloudTrailEvent"]) for e in r["Events"]]
            token = r.get("NextToken")
            if not token:
                return out

    def wait_record(self, timeout=10.0, **match):
        """First recorded record (admin view) whose top-level fields match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in reversed(self.events()):
                rec = e["record"] or {}
                if all(rec.get(k) == v for k, v in match.items()):
                    return rec
            time.sleep(0.05)
        raise AssertionError("no record matching %r within %.0fs" % (match, timeout))


def start(*extra_args, port=None, host="127.0.0.1", timeout=30.0, stderr=None):
    """Spawn localaws and wait for READY; returns a LocalAWS."""
    port = harness.free_port() if port is None else port
    args = [sys.executable, SERVER, "--port", str(port), "--host", host] + list(extra_args)
    import subprocess
    proc = harness.spawn(args, stdout=subprocess.PIPE, stderr=stderr)
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            harness.stop(proc)
            raise RuntimeError("localaws did not print READY (exit %s, got %r)"
                               % (proc.returncode, buf))
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                continue
            buf += chunk
    line = buf.split(b"\n", 1)[0].decode()
    if not line.startswith("READY "):
        harness.stop(proc)
        raise RuntimeError("localaws said %r instead of READY" % line)
    actual = int(line.split()[1])

    def drain():
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
    threading.Thread(target=drain, daemon=True).start()
    return LocalAWS(proc, host, actual)
