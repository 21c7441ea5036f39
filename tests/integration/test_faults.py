#!/usr/bin/env python3
"""The fault matrix: every service sgguard talks to, every way it can fail,
through the real binary (harness.BIN: the hardened or the ASan+UBSan build).

Services: CloudTrail LookupEvents, EC2 RevokeSecurityGroupIngress, SNS
Publish (all served by one shared localaws, faults injected with its admin
API), the instance metadata service (an IMDSv2 stand-in on loopback that
hands out localaws-valid temporary credentials; sgguard runs without any
key in its environment), and STS AssumeRole (an [account prod] whose
role_arn is in account 222233334444: sgguard assumes it before each cycle,
signed by its base keys, and guards a group of that account with it).

Faults: HTTP 500, HTTP 503, throttling (CloudTrail 400 ThrottlingException
JSON, EC2 503 RequestLimitExceeded XML, SNS 429 Throttled XML, STS 400
Throttling XML, IMDS 429),
accept-and-never-answer, connection reset, truncated body (a stand-in that
promises more bytes than it sends, then closes), 200 with garbage, a 502
HTML error page, a 200 body over the size cap (SGGUARD_HTTP_MAX_RESPONSE
4096; IMDS: its fixed 64 KiB cap).

Every cell is one `--once` run with the fault armed for every request to
that service, then one without. Asserted per cell:
  (a) no crash: exit 0/1, never a signal, no sanitizer report;
  (b) backoff: requests the service saw during the fault are bounded by the
      attempts of one call (5), and throttling retries wait >= the 1 s floor;
  (c) no lost ground: LookupEvents failed -> state.json cursor unchanged;
      a revoke failed transiently -> the event is not in `handled`;
      a publish failed -> the notification is still pending in state.json;
      AssumeRole failed -> the account's cursor (prod/REGION) unchanged,
      its event not handled, the rule still there, nothing published;
  (d) recovery: the next run (fault gone) reverts the rule and notifies,
      exactly once;
  (e) report: a log line naming the service/operation (for STS: the
      account) and the error.
Plus: a permanent revoke failure (UnauthorizedOperation) -> FAILED
notification; answers lost after the call happened (EC2, SNS); a few cells
in daemon mode (the loop goes on, no tight loop over ~10 s, recovery).

Cells run one after another against one localaws (faults are global to it);
SGGUARD_TEST_FAST=1 keeps each attempt short. One TAP point per cell.
"""
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "localaws"))
import client as localaws  # noqa: E402

REGION = localaws.REGION
MAX_ATTEMPTS = 5                       # include/aws.h SG_AWS_MAX_ATTEMPTS
MALLORY = {"access_key_id": "AKIAFAULTSMALLORY001",
           "secret_access_key": "faults-mallory-secret-0123456789abcdef"}
# Temporary credentials the IMDS stand-in hands out (registered in localaws).
IMDS_ROLE = "sgguard-faults-role"
IMDS_KEY = "ASIAFAULTSIMDS000001"
IMDS_SECRET = "faults-imds-secret-aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"
IMDS_SESSION = "FQoGZXIvYXdzEFAULTS" + "s" * 300
IMDS_TOKEN = "faults-imds-token-0123456789abcdefghijkl"

SAN_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
               "runtime error:", "==ERROR")

W = {}
RESULTS = []            # (cell, passed)


def tcp(port, cidr="0.0.0.0/0"):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": cidr}]}


# --- stand-ins ---------------------------------------------------------------

class IMDS:
    """IMDSv2 on loopback: token, role, credentials; faults on the
    credentials document (the step that carries the secret)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fault = None           # dict(mode=..., ...) or None
        self.hits = []              # (time, method, path)
        self.expiration = lambda: time.time() + 6 * 3600
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, status, body, ctype="text/plain", length=None):
                data = body if isinstance(body, bytes) else body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data) if length is None else length))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def do_PUT(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                outer.hit("PUT", self.path)
                if self.path != "/latest/api/token":
                    return self.send(404, "not found")
                self.send(200, IMDS_TOKEN)

            def do_GET(self):
                outer.hit("GET", self.path)
                base = "/latest/meta-data/iam/security-credentials/"
                if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                    return self.send(401, "token required")
                if self.path == base:
                    return self.send(200, IMDS_ROLE)
                if self.path != base + IMDS_ROLE:
                    return self.send(404, "not found")
                f = outer.fault
                if f is not None:
                    return outer.apply(self, f)
                doc = {"Code": "Success", "Type": "AWS-HMAC",
                       "LastUpdated": iso(time.time()),
                       "AccessKeyId": IMDS_KEY, "SecretAccessKey": IMDS_SECRET,
                       "Token": IMDS_SESSION, "Expiration": iso(outer.expiration())}
                self.send(200, json.dumps(doc), "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hit(self, method, path):
        with self.lock:
            self.hits.append((time.time(), method, path))

    def count(self, since):
        with self.lock:
            return sum(1 for t, _, _ in self.hits if t >= since)

    def apply(self, h, f):
        mode = f["mode"]
        if mode == "respond":
            return h.send(f["status"], f["body"], f.get("ctype", "text/plain"))
        if mode == "hang":
            time.sleep(f.get("seconds", 5))
            h.close_connection = True
            return None
        if mode == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
            h.close_connection = True
            h.connection.close()
            return None
        if mode == "truncate":
            h.send(200, f["body"][:40], "application/json", length=len(f["body"]))
            h.close_connection = True
            return None
        raise AssertionError("unknown IMDS fault %r" % mode)


class Truncator:
    """An endpoint that answers 200 promising Content-Length N, sends a
    part, then closes (the truncated-body fault for one AWS service)."""

    def __init__(self, ctype, body, action=None):
        self.hits = []
        self.action = action
        outer = self

        class H(socketserver.BaseRequestHandler):
            def handle(self):
                s = self.request
                s.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = s.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, rest = data.split(b"\r\n\r\n", 1)
                    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                    need = int(m.group(1)) if m else 0
                    while len(rest) < need:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        rest += chunk
                    # Count only the faulted action: sgguard also reads
                    # rules at start (DescribeSecurityGroupRules).
                    if outer.action is None or outer.action.encode() in head + rest:
                        outer.hits.append(time.time())
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype.encode() +
                              b"\r\nContent-Length: %d\r\n\r\n" % len(body) +
                              body[:len(body) // 3])
                except OSError:
                    pass
                finally:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# --- the world ---------------------------------------------------------------

def make_world():
    """A localaws with mallory, the IMDS role's keys, a topic; an IMDS stand-in."""
    w = {}
    aws = localaws.start()
    w["aws"] = aws
    # Request counts must be sgguard's own: no throttling by localaws itself.
    aws.config(throttle_rps=0)
    aws.register_key(type="IAMUser", name="mallory", **MALLORY)
    aws.register_key(access_key_id=IMDS_KEY, secret_access_key=IMDS_SECRET,
                     session_token=IMDS_SESSION, type="AssumedRole",
                     name=IMDS_ROLE + "/i-0fa17c0ffee000001")
    w["topic"] = aws.client("sns").create_topic(Name="sgguard-faults")["TopicArn"]
    w["vpc"] = aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    w["imds"] = IMDS()
    w["n"] = 0
    return w


def world():
    if not W:
        W.update(make_world())
    return W


def new_group(w=W):
    w["n"] += 1
    return w["aws"].client("ec2").create_security_group(
        GroupName="faults-%d-%d" % (os.getpid(), w["n"]), Description="fault matrix",
        VpcId=w["vpc"])["GroupId"]


def rules_of(group, w=W, creds=None):
    out = set()
    for r in w["aws"].client("ec2", creds=creds).describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]:
        if not r["IsEgress"]:
            out.add("%s %s %s" % (r["IpProtocol"], r.get("FromPort"), r.get("CidrIpv4")))
    return out


def messages_for(group, w=W):
    return [m for m in w["aws"].sns_messages(topic=w["topic"]) if group in m["subject"]]


class Guard:
    def __init__(self, group, endpoints=None, imds=False, poll=5, w=W, account=None):
        self.w = w
        self.group = group
        self.account = account          # (name, role_arn): the group is in it
        self.more = ""                  # more configuration (other groups)
        self.dir = tempfile.mkdtemp(prefix="sgguard-faults-")
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "sgguard.ini")
        self.imds = imds
        self.poll = poll
        self.extra_env = {}
        self.write_config(endpoints)

    def write_config(self, endpoints=None):
        """endpoints: {service: url} overrides ([aws] S_endpoint_url)."""
        eps = "".join("%s_endpoint_url = %s\n" % kv for kv in (endpoints or {}).items())
        acct, in_acct = "", ""
        if self.account:
            acct = "[account %s]\nrole_arn = %s\n" % self.account
            in_acct = "account = %s\n" % self.account[0]
        with open(self.config, "w") as f:
            f.write("[sgguard]\npoll_interval = %d\nlookback = 900\n"
                    "[aws]\nregion = %s\nendpoint_url = %s\n%s"
                    "[notify]\ntopic_arn = %s\n%s"
                    "[group %s]\n%sallow = tcp 443 0.0.0.0/0\n%s"
                    % (self.poll, REGION, self.w["aws"].endpoint, eps, self.w["topic"],
                       acct, self.group, in_acct, self.more))

    def env(self, extra=None):
        e = {"PATH": os.environ["PATH"], "HOME": self.dir, "SGGUARD_TEST_FAST": "1",
             "NO_PROXY": "*"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if self.imds:
            e["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.w["imds"].url
        else:
            e.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                     AWS_EC2_METADATA_DISABLED="true")
        e.update(self.extra_env)
        e.update(extra or {})
        return e

    def seed(self, cursor, key="default"):
        os.makedirs(self.state, mode=0o700, exist_ok=True)
        with open(self.state_path, "w") as f:
            json.dump({"version": 1, "cursors": {"%s/%s" % (key, REGION): cursor},
                       "handled": {}, "pending": []}, f)

    @property
    def state_path(self):
        return os.path.join(self.state, "state.json")

    def read_state(self):
        with open(self.state_path) as f:
            return json.load(f)

    def make_pending_due(self):
        st = self.read_state()
        for p in st["pending"]:
            p["next_attempt"] = 0
        with open(self.state_path, "w") as f:
            json.dump(st, f)

    def once(self, extra=None, timeout=120):
        t = time.monotonic()
        r = subprocess.run([harness.BIN, "-c", self.config, "--state-dir", self.state,
                            "--once"], capture_output=True, text=True, timeout=timeout,
                           env=self.env(extra))
        r.took = time.monotonic() - t
        print("# sgguard --once: exit %d in %.1f s" % (r.returncode, r.took))
        for line in r.stderr.splitlines():
            print("#   " + line)
        return r

    def start(self, extra=None, *args):
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+")
        self.proc = harness.spawn([harness.BIN, "-c", self.config, "--state-dir",
                                   self.state, *args], stdout=self.log,
                                  stderr=subprocess.STDOUT, env=self.env(extra))
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

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(15)
        out = self.output()
        print("# daemon exit %d; log:" % rc)
        for line in out.splitlines():
            print("#   " + line)
        return rc, out


def wait_requests(aws, what, n=1, timeout=15, **filters):
    """Wait until localaws has seen n requests matching filters."""
    deadline = time.monotonic() + timeout
    while len(aws.requests(**filters)) < n:
        assert time.monotonic() < deadline, "waited %d s for %s" % (timeout, what)
        time.sleep(0.05)


def no_crash(rc, text):
    """(a): exit 0 or 1 (never a signal or an abort), no sanitizer report."""
    assert rc in (0, 1), "exit %r (signal or abort?)" % rc
    for m in SAN_MARKERS:
        assert m not in text, "sanitizer report (%s) in:\n%s" % (m, text)


# --- the faults --------------------------------------------------------------

HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")
GARBAGE = "Lorem ipsum }{ <not-a-document & garbage \x7f ]]>"
PAD = "x" * 16384
SVC = {
    "cloudtrail": dict(
        action="LookupEvents", ctype="application/x-amz-json-1.1",
        e500="InternalFailure", e503="ServiceUnavailableException",
        throttle=(400, '{"__type":"ThrottlingException","message":"Rate exceeded"}'),
        ok='{"Events":[],"Padding":"%s"}' % PAD),
    "ec2": dict(
        action="RevokeSecurityGroupIngress", ctype="text/xml;charset=UTF-8",
        e500="InternalError", e503="Unavailable",
        throttle=(503, '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                       '<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.'
                       '</Message></Error></Errors><RequestID>f-ec2-1</RequestID></Response>'),
        ok='<?xml version="1.0" encoding="UTF-8"?>\n<RevokeSecurityGroupIngressResponse '
           'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>f-1</requestId>'
           '<return>true</return><!-- %s --></RevokeSecurityGroupIngressResponse>' % PAD),
    "sns": dict(
        action="Publish", ctype="text/xml",
        e500="InternalError", e503="ServiceUnavailable",
        throttle=(429, '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                       '<Error><Type>Sender</Type><Code>Throttled</Code><Message>Rate '
                       'exceeded</Message></Error><RequestId>f-sns-1</RequestId>'
                       '</ErrorResponse>'),
        ok='<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
           '<MessageId>5f1e0d2c-0000-4000-8000-000000000001</MessageId></PublishResult>'
           '<ResponseMetadata><RequestId>f-2</RequestId></ResponseMetadata>'
           '<!-- %s --></PublishResponse>' % PAD),
    "sts": dict(
        action="AssumeRole", ctype="text/xml",
        e500="InternalFailure", e503="ServiceUnavailable",
        throttle=(400, '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                       '<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate '
                       'exceeded</Message></Error><RequestId>f-sts-1</RequestId>'
                       '</ErrorResponse>'),
        ok='<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
           '<AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROAFAULTS000000000001:'
           'sgguard</AssumedRoleId><Arn>arn:aws:sts::222233334444:assumed-role/sgguard/'
           'sgguard</Arn></AssumedRoleUser><Credentials><AccessKeyId>ASIAFAULTSSTS0000001'
           '</AccessKeyId><SecretAccessKey>faults-sts-secret-0123456789abcdefghijklmn'
           '</SecretAccessKey><SessionToken>FQoGZXIvYXdzEFAULTSsts</SessionToken>'
           '<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>'
           '<ResponseMetadata><RequestId>f-3</RequestId></ResponseMetadata>'
           '<!-- %s --></AssumeRoleResponse>' % PAD),
}
FAULTS = ["http500", "http503", "throttle", "hang", "reset", "truncated", "garbage",
          "html502", "oversize"]
# Faults that a caller must retry (the answer is a transient server or
# network failure); the others are not retried within one call.
RETRIED = {"http500", "http503", "throttle", "hang", "reset", "truncated", "html502"}
# What the error part of the log line says, per fault.
AWS_ERR = {
    "http500": r"http=500", "http503": r"http=503", "throttle": r"kind=throttled",
    "hang": r"kind=transport.*(timed out|timeout)", "reset": r"kind=transport",
    "truncated": r"kind=transport", "garbage": r"kind=bad_response|not JSON|unreadable",
    "html502": r"http=502", "oversize": r"kind=too_large",
}
IMDS_ERR = {
    "http500": r"HTTP 500", "http503": r"HTTP 503", "throttle": r"HTTP 429",
    "hang": r"timed out", "reset": r"cannot connect|request failed|failed",
    "truncated": r"cut short", "garbage": r"JSON|malformed|not|bad",
    "html502": r"HTTP 502", "oversize": r"too large",
}


def aws_fault(svc, name):
    """(localaws fault spec or None, env, endpoint overrides, truncator)."""
    s = SVC[svc]
    base = dict(service=svc, action=s["action"], count=-1)
    env, eps, trunc = {}, {}, None
    if name == "http500":
        spec = dict(base, mode="error", error={"code": s["e500"], "status": 500})
    elif name == "http503":
        spec = dict(base, mode="error", error={"code": s["e503"], "status": 503})
    elif name == "throttle":
        st, body = s["throttle"]
        spec = dict(base, mode="respond", status=st, body=body,
                    content_type=s["ctype"])
    elif name == "hang":
        spec = dict(base, mode="hang", seconds=3)
        env["SGGUARD_HTTP_TIMEOUT_MS"] = "1000"
    elif name == "reset":
        spec = dict(base, mode="reset")
    elif name == "truncated":
        spec = None
        trunc = Truncator(s["ctype"], s["ok"].encode(), s["action"])
        eps[svc] = trunc.url
    elif name == "garbage":
        spec = dict(base, mode="respond", status=200, body=GARBAGE, content_type=s["ctype"])
    elif name == "html502":
        spec = dict(base, mode="respond", status=502, body=HTML_502,
                    content_type="text/html")
    elif name == "oversize":
        spec = dict(base, mode="respond", status=200, body=s["ok"], content_type=s["ctype"])
        env["SGGUARD_HTTP_MAX_RESPONSE"] = "4096"
    else:
        raise AssertionError(name)
    return spec, env, eps, trunc


def imds_fault(name):
    if name in ("http500", "http503", "throttle", "html502"):
        st = {"http500": 500, "http503": 503, "throttle": 429, "html502": 502}[name]
        return dict(mode="respond", status=st,
                    body=HTML_502 if name == "html502" else "error %d" % st,
                    ctype="text/html" if name == "html502" else "text/plain")
    if name == "hang":
        return dict(mode="hang", seconds=5)
    if name == "reset":
        return dict(mode="reset")
    if name == "truncated":
        return dict(mode="truncate", body=json.dumps(
            {"Code": "Success", "AccessKeyId": IMDS_KEY, "SecretAccessKey": IMDS_SECRET,
             "Token": IMDS_SESSION, "Expiration": iso(time.time() + 3600)}))
    if name == "garbage":
        return dict(mode="respond", status=200, body=GARBAGE, ctype="application/json")
    if name == "oversize":
        return dict(mode="respond", status=200, ctype="application/json", body=json.dumps(
            {"Code": "Success", "AccessKeyId": IMDS_KEY, "SecretAccessKey": IMDS_SECRET,
             "Token": IMDS_SESSION, "Expiration": iso(time.time() + 3600),
             "Padding": "p" * 70000}))
    raise AssertionError(name)


def gaps(times):
    times = sorted(times)
    return [b - a for a, b in zip(times, times[1:])]


def setup_cell():
    w = world()
    w["aws"].clear_faults()
    w["aws"].reset_events()
    w["imds"].fault = None
    g = new_group()
    return w, g


def mallory_adds(g, port=22, w=W, creds=MALLORY):
    """Mallory opens a port on g; returns the EventId of the record."""
    w["aws"].client("ec2", creds=creds).authorize_security_group_ingress(
        GroupId=g, IpPermissions=[tcp(port)])
    for e in reversed(w["aws"].events()):
        r = e["record"] or {}
        if (r.get("eventName") == "AuthorizeSecurityGroupIngress"
                and (r.get("requestParameters") or {}).get("groupId") == g):
            return r["eventID"]
    raise AssertionError("no record of mallory's change on %s" % g)


def recovered(guard, g, ev, log_before=""):
    """(d): with the fault gone the next run reverts and notifies, once."""
    r = guard.once()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, "recovery run exit %d" % r.returncode
    assert "tcp 22 0.0.0.0/0" not in rules_of(g), rules_of(g)
    msgs = messages_for(g)
    assert len(msgs) == 1, "want one notification, got %d: %r" % (len(msgs), msgs)
    assert msgs[0]["subject"].startswith("[sgguard] AUTO-MITIGATED"), msgs[0]["subject"]
    st = guard.read_state()
    assert ev in st["handled"], st
    assert st["pending"] == [], st["pending"]
    return r


def aws_cell(svc, name):
    w, g = setup_cell()
    aws = w["aws"]
    spec, env, eps, trunc = aws_fault(svc, name)
    guard = Guard(g, endpoints=eps)
    c0 = int(time.time()) - 60
    guard.seed(c0)
    ev = mallory_adds(g)
    if spec:
        aws.fault(**spec)
    t = time.time()
    try:
        r = guard.once(env)
    finally:
        aws.clear_faults()
        if trunc:
            trunc.close()
    if trunc:
        times = trunc.hits
    else:
        times = [q["time"] for q in aws.requests(service=svc, action=SVC[svc]["action"],
                                                since=t)]
    # (a)
    no_crash(r.returncode, r.stderr)
    # (b)
    n = len(times)
    print("# %s %s: %d request(s) during the fault, gaps %s" % (
        svc, name, n, ["%.2f" % x for x in gaps(times)]))
    assert 1 <= n <= MAX_ATTEMPTS, "%d %s requests for one call (max %d)" % (
        n, svc, MAX_ATTEMPTS)
    if name in RETRIED:
        assert n >= 2, "a %s fault is transient: it must be retried (saw %d)" % (name, n)
    if name == "throttle":
        assert all(x >= 0.9 for x in gaps(times)), "throttled retries sooner than 1 s: %s" % (
            gaps(times),)
    # (c) and (e)
    st = guard.read_state()
    err = AWS_ERR[name]
    if svc == "cloudtrail":
        assert st["cursors"] == {"default/%s" % REGION: c0}, (
            "cursor moved after a failed LookupEvents: %r (was %d)" % (st["cursors"], c0))
        assert ev not in st["handled"], st
        assert "tcp 22 0.0.0.0/0" in rules_of(g)
        assert re.search(r"error: CloudTrail LookupEvents in default/%s failed: .*(%s)"
                         % (REGION, err), r.stderr), "no CloudTrail error line matching %r" % err
    elif svc == "ec2":
        assert "tcp 22 0.0.0.0/0" in rules_of(g), "the fault stood in for the revoke"
        subjects = [m["subject"] for m in messages_for(g)]
        assert subjects == [], (
            "the rule is still open, yet sgguard notified %r and logged:\n%s"
            % (subjects, r.stderr))
        assert ev not in st["handled"], (
            "event marked handled although the revoke did not happen: %r" % st)
        assert re.search(r"revert on %s \(%s\) not done yet \(.*(%s)"
                         % (g, REGION, err), r.stderr), "no EC2 revoke error line matching %r" % err
    else:
        assert "tcp 22 0.0.0.0/0" not in rules_of(g), "the revert waited for SNS"
        assert ev in st["handled"], st
        assert len(st["pending"]) == 1 and st["pending"][0]["event_id"] == ev, (
            "the notification is not kept for a retry: pending=%r, published=%r"
            % (st["pending"], messages_for(g)))
        assert messages_for(g) == []
        assert re.search(r"notification to arn:aws:sns:\S+ not published \(.*(%s)" % err,
                         r.stderr), "no SNS error line matching %r" % err
        # The first retry: 60 s later (sgguard(8): 60 s, doubling).
        assert re.search(r"not published .*; trying again in 60 s", r.stderr), r.stderr
        assert st["pending"][0]["attempts"] == 1, st["pending"]
    assert r.returncode == 1, "--once under a %s fault must exit 1, got %d" % (svc, r.returncode)
    # The contract: every non-zero exit prints one line naming the cause.
    assert re.search(r": error: --once: not everything could be done: \S", r.stderr), r.stderr
    if svc == "sns":
        guard.make_pending_due()      # the retry is due later: as time would
    # (d)
    if eps:
        guard.write_config()          # the stand-in goes away with the fault
    recovered(guard, g, ev)


def imds_cell(name):
    w, g = setup_cell()
    aws, imds = w["aws"], w["imds"]
    guard = Guard(g, imds=True)
    guard.seed(int(time.time()) - 60)
    with open(guard.state_path) as f:
        before = f.read()
    ev = mallory_adds(g)
    imds.fault = imds_fault(name)
    t = time.time()
    try:
        r = guard.once()
    finally:
        imds.fault = None
    n = imds.count(t)
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 1, r.returncode
    print("# imds %s: %d metadata request(s) during the fault" % (name, n))
    # Token, role, document: 3; libcurl re-sends once on a fresh connection
    # when a reused one is reset, so 4 for a reset.
    assert 1 <= n <= (4 if name == "reset" else 3), (
        "%d metadata requests for one credential lookup" % n)
    assert aws.requests(since=t) == [], "AWS was called without credentials"
    with open(guard.state_path) as f:
        assert f.read() == before, "state changed although nothing could be done"
    assert re.search(r"instance metadata: .*(%s)" % IMDS_ERR[name], r.stderr), (
        "no instance-metadata error line matching %r" % IMDS_ERR[name])
    for s in (IMDS_SECRET, IMDS_SESSION, IMDS_TOKEN):
        assert s not in r.stderr, "a credential in the log"
    r = recovered(guard, g, ev)
    assert "instance-metadata" in r.stderr, r.stderr


# --- cells beyond the grid ---------------------------------------------------

STS_ACCOUNT = "222233334444"
STS_ROLE = "arn:aws:iam::%s:role/sgguard" % STS_ACCOUNT
STS_ROOT = {"access_key_id": "AKIAFAULTSOTHERROOT1",
            "secret_access_key": "faults-other-root-secret-0123456789abc"}
STS_MALLORY = {"access_key_id": "AKIAFAULTSOTHERMAL01",
               "secret_access_key": "faults-other-mallory-secret-012345678"}
STS_ERR = dict(AWS_ERR, garbage=r"kind=bad_response|not XML|unreadable|malformed")


def sts_world():
    """Account 222233334444 (its root key, a mallory, its default VPC). The
    localaws of this file does not enforce IAM: the base keys ("test", root
    of the default account) may assume arn:aws:iam::222233334444:role/sgguard
    and the session keys act in that account (test_sts.py covers the policy
    side with --auth)."""
    w = world()
    if "sts_vpc" not in w:
        aws = w["aws"]
        aws.register_key(account=STS_ACCOUNT, type="Root", **STS_ROOT)
        aws.register_key(account=STS_ACCOUNT, type="IAMUser", name="mallory", **STS_MALLORY)
        # Built now: moto's first EC2 call in an account makes its default VPC.
        w["sts_vpc"] = aws.client("ec2", creds=STS_ROOT).describe_vpcs()["Vpcs"][0]["VpcId"]
    return w


def sts_cell(name):
    """[account prod] cannot be assumed: its groups are skipped this cycle
    (said, exit 1, nothing lost), and guarded again once STS answers."""
    setup_cell()
    w = sts_world()
    aws = w["aws"]
    w["n"] += 1
    g = aws.client("ec2", creds=STS_ROOT).create_security_group(
        GroupName="faults-sts-%d-%d" % (os.getpid(), w["n"]), Description="fault matrix",
        VpcId=w["sts_vpc"])["GroupId"]
    spec, env, eps, trunc = aws_fault("sts", name)
    guard = Guard(g, endpoints=eps, account=("prod", STS_ROLE))
    c0 = int(time.time()) - 60
    guard.seed(c0, key="prod")
    ev = mallory_adds(g, creds=STS_MALLORY)
    if spec:
        aws.fault(**spec)
    t = time.time()
    try:
        r = guard.once(env)
    finally:
        aws.clear_faults()
        if trunc:
            trunc.close()
    if trunc:
        times = trunc.hits
    else:
        times = [q["time"] for q in aws.requests(service="sts", action="AssumeRole", since=t)]
    # (a)
    no_crash(r.returncode, r.stderr)
    # (b)
    n = len(times)
    print("# sts %s: %d AssumeRole request(s) during the fault, gaps %s" % (
        name, n, ["%.2f" % x for x in gaps(times)]))
    assert 1 <= n <= MAX_ATTEMPTS, "%d AssumeRole requests in one run (max %d)" % (
        n, MAX_ATTEMPTS)
    if name in RETRIED:
        assert n >= 2, "a %s fault is transient: it must be retried (saw %d)" % (name, n)
    if name == "throttle":
        assert all(x >= 0.9 for x in gaps(times)), "throttled retries sooner than 1 s: %s" % (
            gaps(times),)
    # (c): the account was not guarded this run, and nothing says it was.
    st = guard.read_state()
    assert st["cursors"] == {"prod/%s" % REGION: c0}, (
        "cursor moved although the account could not be assumed: %r (was %d)"
        % (st["cursors"], c0))
    assert ev not in st["handled"], st
    assert st["pending"] == [], st["pending"]
    assert "tcp 22 0.0.0.0/0" in rules_of(g, creds=STS_ROOT), "the rule went away?"
    assert messages_for(g) == [], messages_for(g)
    revs = [q for q in aws.requests(service="ec2", action="RevokeSecurityGroupIngress",
                                    since=t)]
    assert revs == [], "a revoke without the account's credentials: %r" % revs
    # (e)
    err = STS_ERR[name]
    said = re.findall(r"account prod: .*its groups are not guarded", r.stderr)
    assert len(said) == 1, "the outage of account prod said %d times" % len(said)
    assert re.search(r"account prod: .*(%s).*its groups are not guarded" % err, r.stderr), (
        "no 'account prod' error line matching %r" % err)
    assert r.returncode == 1, "--once under an STS %s fault must exit 1, got %d" % (
        name, r.returncode)
    # (d)
    if eps:
        guard.write_config()          # the stand-in goes away with the fault
    t = time.time()
    r = guard.once()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, "recovery run exit %d" % r.returncode
    assert "tcp 22 0.0.0.0/0" not in rules_of(g, creds=STS_ROOT), rules_of(g, creds=STS_ROOT)
    assert len(aws.requests(service="sts", action="AssumeRole", since=t)) == 1
    msgs = messages_for(g)
    assert len(msgs) == 1, "want one notification, got %d: %r" % (len(msgs), msgs)
    assert msgs[0]["subject"].startswith("[sgguard] AUTO-MITIGATED"), msgs[0]["subject"]
    st = guard.read_state()
    assert ev in st["handled"], st
    assert st["pending"] == [], st["pending"]
    assert st["cursors"]["prod/%s" % REGION] > c0, st["cursors"]
    return r


def two_accounts():
    """A group g of [account prod] and a group d of the default account,
    both watched by one guard, both cursors a minute back."""
    setup_cell()
    w = sts_world()
    aws = w["aws"]
    w["n"] += 1
    g = aws.client("ec2", creds=STS_ROOT).create_security_group(
        GroupName="faults-sts-%d-%d" % (os.getpid(), w["n"]), Description="fault matrix",
        VpcId=w["sts_vpc"])["GroupId"]
    d = new_group()
    guard = Guard(g, account=("prod", STS_ROLE))
    guard.more = "[group %s]\nallow = tcp 443 0.0.0.0/0\n" % d
    guard.write_config()
    c0 = int(time.time()) - 60
    os.makedirs(guard.state, mode=0o700, exist_ok=True)
    with open(guard.state_path, "w") as f:
        json.dump({"version": 1, "cursors": {"prod/%s" % REGION: c0,
                                             "default/%s" % REGION: c0},
                   "handled": {}, "pending": []}, f)
    return aws, g, d, guard, c0


def sts_other_account_cell():
    """While [account prod] cannot be assumed, a group of the default
    account in the same configuration is guarded as usual (only the failing
    account is skipped); its cursor moves, prod's does not."""
    aws, g, d, guard, c0 = two_accounts()
    ev = mallory_adds(g, creds=STS_MALLORY)
    evd = mallory_adds(d)
    aws.fault(**aws_fault("sts", "http503")[0])
    try:
        r = guard.once()
    finally:
        aws.clear_faults()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 1, r.returncode
    assert "tcp 22 0.0.0.0/0" in rules_of(g, creds=STS_ROOT)
    assert "tcp 22 0.0.0.0/0" not in rules_of(d), "the default account was not guarded"
    assert len(messages_for(d)) == 1 and messages_for(g) == []
    st = guard.read_state()
    assert st["cursors"]["prod/%s" % REGION] == c0, st["cursors"]
    assert st["cursors"]["default/%s" % REGION] > c0, st["cursors"]
    assert evd in st["handled"] and ev not in st["handled"], st
    r = guard.once()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    assert "tcp 22 0.0.0.0/0" not in rules_of(g, creds=STS_ROOT)
    assert len(messages_for(g)) == 1 and len(messages_for(d)) == 1
    assert ev in guard.read_state()["handled"]


def daemon_sts_slow():
    """A slow STS for [account prod] (its first AssumeRole answers after
    12 s) holds up no other account: the roles are assumed in the
    background, the daemon is up and guarding the default account within
    a few seconds, prod is skipped until its answer lands (said once), then
    guarded from the next cycle; one AssumeRole, never a second in flight."""
    aws, g, d, guard, c0 = two_accounts()
    aws.fault(service="sts", action="AssumeRole", mode="delay", seconds=12, count=1)
    t = time.time()
    t0 = time.monotonic()
    guard.start({"SGGUARD_HTTP_TIMEOUT_MS": "30000", "SGGUARD_AWS_MAX_TOTAL_MS": "60000"})
    try:
        guard.wait_log(r"started", timeout=10)
        up = time.monotonic() - t0
        ev = mallory_adds(g, creds=STS_MALLORY)
        evd = mallory_adds(d)
        t1 = time.monotonic()
        guard.wait_log(r"reverted 1 rule on %s" % d, timeout=10)
        took_d = time.monotonic() - t1
        assert "tcp 22 0.0.0.0/0" in rules_of(g, creds=STS_ROOT), \
            "prod's rule reverted before its keys could have come"
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=25)
        took_g = time.monotonic() - t0
        n = len(aws.requests(service="sts", action="AssumeRole", since=t))
    finally:
        aws.clear_faults()
        rc, out = guard.stop()
    print("# up in %.1f s; default reverted %.1f s after the change; prod %.1f s "
          "after start; %d AssumeRole" % (up, took_d, took_g, n))
    no_crash(rc, out)
    assert rc == 0, rc
    # Waited at most ACCOUNT_WAIT_MS (5 s) for prod's first keys.
    assert up < 9, "start-up waited %.1f s on a slow STS" % up
    assert took_g >= 11, "prod guarded %.1f s after start: before STS answered?" % took_g
    assert n == 1, "%d AssumeRole requests (one was in flight all along)" % n
    said = re.findall(r"account prod: .*its groups are not guarded", out)
    assert len(said) == 1, said
    assert "not answered AssumeRole so far" in said[0], said
    assert re.search(r"account prod: credentials from \S+ again", out), out
    st = guard.read_state()
    assert ev in st["handled"] and evd in st["handled"], st
    assert "tcp 22 0.0.0.0/0" not in rules_of(g, creds=STS_ROOT)


def daemon_sts_expired_early():
    """AWS calls [account prod]'s assumed-role keys expired (ExpiredToken)
    long before the Expiration STS gave: the role is assumed again at once,
    not after that hour, and prod is guarded again."""
    aws, g, d, guard, c0 = two_accounts()
    t0 = time.time()
    guard.start()
    try:
        guard.wait_log(r"started", timeout=10)
        # A first whole cycle, prod's keys in use.
        wait_requests(aws, "a first cycle", 6, service="cloudtrail", action="LookupEvents",
                      since=t0)
        t = time.time()
        aws.fault(service="cloudtrail", action="LookupEvents", mode="error",
                  error={"code": "ExpiredTokenException", "status": 400,
                         "message": "The security token included in the request is expired"},
                  count=4)    # both accounts' pollers: one each per cycle
        guard.wait_log(r"warning: credentials: AWS says access key \S+ has expired "
                       r"\(ExpiredTokenException\) before its expiry time; getting new ones",
                       timeout=20)
        wait_requests(aws, "the role assumed again", service="sts", action="AssumeRole",
                      since=t)
        ev = mallory_adds(g, creds=STS_MALLORY)
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=25)
    finally:
        aws.clear_faults()
        rc, out = guard.stop()
    no_crash(rc, out)
    assert rc == 0, rc
    assert ev in guard.read_state()["handled"]


def once_with_faults(guard, *specs, timeout=120):
    """guard.once() with these localaws faults in place, cleared after;
    no crash asserted."""
    for spec in specs:
        W["aws"].fault(**spec)
    try:
        r = guard.once(timeout=timeout)
    finally:
        W["aws"].clear_faults()
    no_crash(r.returncode, r.stderr)
    return r


def once_under(guard, svc, name):
    """guard.once() with fault NAME on every call of svc's action: (the
    run, the requests that action saw), no crash asserted."""
    spec, env, _, _ = aws_fault(svc, name)
    W["aws"].fault(**spec)
    t = time.time()
    try:
        r = guard.once(env)
    finally:
        W["aws"].clear_faults()
    n = len(W["aws"].requests(service=svc, action=SVC[svc]["action"], since=t))
    no_crash(r.returncode, r.stderr)
    return r, n, t


def ec2_breaker_cell():
    """EC2 gives no answer: two events on two groups of one region, two
    rules each. The first revert fails after its call's attempts; then
    nothing more is asked of that EC2 this cycle (no rule-by-rule retry of
    a call that timed out, no call for the second event): both are tried
    again next cycle and reverted then, once each."""
    w, g = setup_cell()
    aws = w["aws"]
    g2 = new_group()
    guard = Guard(g)
    guard.more = "[group %s]\nallow = tcp 443 0.0.0.0/0\n" % g2
    guard.write_config()
    c0 = int(time.time()) - 60
    guard.seed(c0)
    evs = []
    for grp in (g, g2):
        aws.client("ec2", creds=MALLORY).authorize_security_group_ingress(
            GroupId=grp, IpPermissions=[tcp(22), tcp(3389)])
        evs.append(next(e["record"]["eventID"] for e in reversed(aws.events())
                        if (e["record"] or {}).get("requestParameters", {}).get("groupId")
                        == grp))
    r, n, t = once_under(guard, "ec2", "hang")
    print("# ec2 hang, 2 events x 2 rules: %d revoke request(s) in %.1f s" % (n, r.took))
    assert r.returncode == 1, r.returncode
    assert 1 <= n <= MAX_ATTEMPTS, "%d revoke requests: one call's attempts at most" % n
    st = guard.read_state()
    assert not set(evs) & set(st["handled"]), st
    # The next window (cursor - lookback 900 s) still holds both events.
    assert st["cursors"]["default/%s" % REGION] - 900 <= t - 5, (st["cursors"], t)
    assert re.search(r"revert on %s .*not tried: EC2 in default/%s failed earlier this "
                     r"cycle" % ("(%s|%s)" % (g, g2), REGION), r.stderr), r.stderr
    for grp in (g, g2):
        assert {"tcp 22 0.0.0.0/0", "tcp 3389 0.0.0.0/0"} <= rules_of(grp)
        assert messages_for(grp) == []
    r = guard.once()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    for grp in (g, g2):
        assert not {"tcp 22 0.0.0.0/0", "tcp 3389 0.0.0.0/0"} & rules_of(grp), rules_of(grp)
        assert len(messages_for(grp)) == 1, messages_for(grp)
    assert set(evs) <= set(guard.read_state()["handled"])


def sns_breaker_cell():
    """SNS gives no answer and three notifications are due: one Publish
    call's attempts, not three in turn; all three stay queued and go out,
    once each, when SNS is back."""
    w, g = setup_cell()
    aws = w["aws"]
    groups = [g, new_group(), new_group()]
    guard = Guard(g)
    guard.more = "".join("[group %s]\nallow = tcp 443 0.0.0.0/0\n" % x for x in groups[1:])
    guard.write_config()
    guard.seed(int(time.time()) - 60)
    evs = [mallory_adds(x) for x in groups]
    r, n, _ = once_under(guard, "sns", "hang")
    print("# sns hang, 3 notifications due: %d Publish request(s) in %.1f s" % (n, r.took))
    assert 1 <= n <= MAX_ATTEMPTS, "%d Publish requests: one call's attempts at most" % n
    for x in groups:
        assert "tcp 22 0.0.0.0/0" not in rules_of(x), "the reverts waited for SNS"
    st = guard.read_state()
    assert sorted(p["event_id"] for p in st["pending"]) == sorted(evs), st["pending"]
    assert set(evs) <= set(st["handled"]), st
    guard.make_pending_due()
    r = guard.once()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    for x in groups:
        assert len(messages_for(x)) == 1, (x, messages_for(x))
    assert guard.read_state()["pending"] == []


def ec2_denied_cell():
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    guard.seed(int(time.time()) - 60)
    ev = mallory_adds(g)
    aws.fault(service="ec2", action="RevokeSecurityGroupIngress", mode="error",
              error={"code": "UnauthorizedOperation", "status": 403,
                     "message": "You are not authorized to perform this operation."},
              count=-1)
    t = time.time()
    try:
        r = guard.once()
    finally:
        aws.clear_faults()
    n = len(aws.requests(service="ec2", action="RevokeSecurityGroupIngress", since=t))
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 1
    assert n == 1, "a permanent refusal was retried (%d requests)" % n
    assert re.search(r"error: event %s: could not revert \[tcp 22 0\.0\.0\.0/0\] on %s .*"
                     r"UnauthorizedOperation" % (ev, g), r.stderr), r.stderr
    (m,) = messages_for(g)
    assert m["subject"] == "[sgguard] FAILED %s (%s)" % (g, REGION), m["subject"]
    lines = m["message"].splitlines()
    assert "failed: tcp 22 0.0.0.0/0" in lines, lines
    assert any(ln.startswith("error: ") and "UnauthorizedOperation" in ln for ln in lines), lines
    st = guard.read_state()
    assert ev in st["handled"] and st["pending"] == [], st
    # Acted on once: the next run neither revokes again nor notifies again.
    r = guard.once()
    assert r.returncode == 0, r.returncode
    assert len(messages_for(g)) == 1


def cloudtrail_token_loop_cell():
    """LookupEvents answering the same NextToken for ever: the window fails
    after the repeat (two pages), --once ends with exit 1, nothing is lost:
    the cursor stays and the next good run acts on the event."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    c0 = int(time.time()) - 60
    guard.seed(c0)
    ev = mallory_adds(g)
    t = time.time()
    r = once_with_faults(guard, dict(
        service="cloudtrail", action="LookupEvents", mode="respond", status=200,
        content_type="application/x-amz-json-1.1",
        body='{"Events":[],"NextToken":"SAME-TOKEN"}', count=-1), timeout=60)
    assert r.returncode == 1, r.returncode
    n = len(aws.requests(service="cloudtrail", action="LookupEvents", since=t))
    assert n == 2, "%d LookupEvents for a token loop (want 2: the repeat is the end)" % n
    assert re.search(r"error: CloudTrail LookupEvents in default/%s failed: "
                     r"AuthorizeSecurityGroupIngress page 2 has a NextToken an earlier page "
                     r"had; the window from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ is read again next cycle" % REGION,
                     r.stderr), r.stderr
    st = guard.read_state()
    assert st["cursors"] == {"default/%s" % REGION: c0}, st["cursors"]
    assert "tcp 22 0.0.0.0/0" in rules_of(g)
    r = guard.once()
    assert r.returncode == 0, r.returncode
    assert ev in guard.read_state()["handled"]
    assert "tcp 22 0.0.0.0/0" not in rules_of(g)


def ec2_denied_partly_cell():
    """Two rules in one call, the revoke of one refused for good: the log
    says which went and which did not, as the FAILED message does."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    guard.seed(int(time.time()) - 60)
    aws.client("ec2", creds=MALLORY).authorize_security_group_ingress(
        GroupId=g, IpPermissions=[tcp(22), tcp(2222)])
    ev = [e["record"]["eventID"] for e in aws.events()
          if (e["record"] or {}).get("requestParameters", {}).get("groupId") == g][-1]
    # The call of both, then the first rule's own call: refused.
    r = once_with_faults(guard, dict(
        service="ec2", action="RevokeSecurityGroupIngress", mode="error",
        error={"code": "UnauthorizedOperation", "status": 403,
               "message": "You are not authorized to perform this operation."}, count=2))
    assert r.returncode == 1, r.returncode
    assert rules_of(g) == {"tcp 22 0.0.0.0/0"}, rules_of(g)
    assert re.search(r"error: event %s: could not revert \[tcp 22 0\.0\.0\.0/0\] on %s .*"
                     r"UnauthorizedOperation.*; reverted \[tcp 2222 0\.0\.0\.0/0\]$"
                     % (ev, g), r.stderr, re.M), r.stderr
    assert re.search(r"stopped: 1 event seen, 1 rule reverted", r.stderr), r.stderr
    (m,) = messages_for(g)
    lines = m["message"].splitlines()
    assert "failed: tcp 22 0.0.0.0/0" in lines and "revoked: tcp 2222 0.0.0.0/0" in lines, lines


def once_setup_fails_cell():
    """--once: a tag search and a baseline read that fail before the cycle
    make the run exit 1 too, with one error line naming why."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    guard.more = "restore = yes\n[groups tag:FaultCell=yes]\nregions = %s\n" % REGION
    guard.write_config()
    guard.seed(int(time.time()) - 60)
    r = once_with_faults(guard, *[dict(service="ec2", action=action, mode="error",
                                       error={"code": "Unavailable", "status": 503}, count=-1)
                                  for action in ("DescribeSecurityGroups",
                                                 "DescribeSecurityGroupRules")])
    assert r.returncode == 1, r.returncode
    errs = [ln for ln in r.stderr.splitlines() if ": error: " in ln]
    assert len(errs) == 1 and re.search(r"error: --once: not everything could be done: "
                                        r"DescribeSecurityGroup", errs[0]), r.stderr
    # Once EC2 answers, the same run exits 0.
    r = guard.once()
    assert r.returncode == 0, r.returncode


def group_deleted_cell():
    """The group was deleted before the revert (InvalidGroup.NotFound): its
    rules are gone with it, which counts as reverted, not FAILED."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    guard.seed(int(time.time()) - 60)
    ev = mallory_adds(g)
    aws.client("ec2").delete_security_group(GroupId=g)
    r = guard.once()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    assert re.search(r"event %s: reverted 1 rule on %s .*\(the group no longer exists\)"
                     % (ev, g), r.stderr), r.stderr
    subjects = [m["subject"].split()[1] for m in messages_for(g)]
    assert "FAILED" not in subjects and "AUTO-MITIGATED" in subjects, subjects


def unknown_answer(port):
    """EC2's answer when it found no rule of the form it was given."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<RevokeSecurityGroupIngressResponse '
            'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>f-u</requestId>'
            '<return>true</return><unknownIpPermissionSet><item><ipProtocol>tcp</ipProtocol>'
            '<fromPort>%d</fromPort><toPort>%d</toPort><groups/><ipRanges><item><cidrIp>'
            '0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>'
            '</unknownIpPermissionSet></RevokeSecurityGroupIngressResponse>' % (port, port))


def ec2_unknown_permission_cell():
    """unknownIpPermissionSet: EC2 found no such rule. Still there: FAILED,
    not AUTO-MITIGATED; really gone already: reverted."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    guard.seed(int(time.time()) - 60)
    ev = mallory_adds(g)
    r = once_with_faults(guard, dict(
        service="ec2", action="RevokeSecurityGroupIngress", mode="respond", status=200,
        content_type="text/xml;charset=UTF-8", body=unknown_answer(22)))
    assert r.returncode == 1, r.returncode
    assert "tcp 22 0.0.0.0/0" in rules_of(g)
    (m,) = messages_for(g)
    assert m["subject"] == "[sgguard] FAILED %s (%s)" % (g, REGION), m["subject"]
    lines = m["message"].splitlines()
    assert "failed: tcp 22 0.0.0.0/0" in lines, lines
    assert any(ln.startswith("error: ") and "does not match the rule" in ln
               for ln in lines), lines
    assert re.search(r"error: event %s: could not revert \[tcp 22 0\.0\.0\.0/0\]" % ev,
                     r.stderr), r.stderr
    # Gone already (an admin took it away first): reverted, as the contract says.
    ev2 = mallory_adds(g, port=23)
    aws.client("ec2").revoke_security_group_ingress(GroupId=g, IpPermissions=[tcp(23)])
    r = once_with_faults(guard, dict(
        service="ec2", action="RevokeSecurityGroupIngress", mode="respond", status=200,
        content_type="text/xml;charset=UTF-8", body=unknown_answer(23)))
    assert r.returncode == 0, r.returncode
    assert re.search(r"event %s: reverted .*already gone" % ev2, r.stderr), r.stderr
    msgs = messages_for(g)
    assert [x["subject"].split()[1] for x in msgs] == ["FAILED", "AUTO-MITIGATED"], msgs


def ec2_lost_answer_cell():
    """The revoke happened but its answer was lost (reset after the call):
    the retry finds the rule gone, which counts as reverted."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    guard.seed(int(time.time()) - 60)
    ev = mallory_adds(g)
    aws.fault(service="ec2", action="RevokeSecurityGroupIngress", mode="reset",
              when="after", count=1)
    try:
        r = guard.once()
    finally:
        aws.clear_faults()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    assert "tcp 22 0.0.0.0/0" not in rules_of(g)
    assert "already gone" in r.stderr, r.stderr
    (m,) = messages_for(g)
    assert m["subject"].startswith("[sgguard] AUTO-MITIGATED"), m
    assert ev in guard.read_state()["handled"]


def sns_lost_answer_cell():
    """Publish happened but its answer was lost: the retry inside the call
    publishes again. SNS Publish is not idempotent (standard topics have no
    deduplication), so this is a duplicate by design; never a loss."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g)
    guard.seed(int(time.time()) - 60)
    mallory_adds(g)
    aws.fault(service="sns", action="Publish", mode="reset", when="after", count=1)
    try:
        r = guard.once()
    finally:
        aws.clear_faults()
    no_crash(r.returncode, r.stderr)
    assert r.returncode == 0, r.returncode
    msgs = messages_for(g)
    print("# sns answer lost: %d message(s) delivered (2 = duplicate from the retry)"
          % len(msgs))
    W["sns_lost_dupes"] = len(msgs) - 1
    assert 1 <= len(msgs) <= 2, msgs
    assert guard.read_state()["pending"] == []


def daemon_cell(svc, name, spec, env=None, window=10.0, limit=None):
    """The daemon under a lasting fault: it keeps running, polls at its
    pace (no tight loop), says why, and recovers once the fault clears."""
    w, g = setup_cell()
    aws = w["aws"]
    guard = Guard(g, poll=5)
    guard.seed(int(time.time()) - 60)
    aws.fault(**spec)
    t = time.time()
    guard.start(env)
    try:
        guard.wait_log(r"started")
        ev = mallory_adds(g)
        time.sleep(window)
        assert guard.proc.poll() is None, "the daemon died under a %s fault" % svc
        times = [q["time"] for q in aws.requests(service=svc, action=spec["action"], since=t)]
        elapsed = time.time() - t
        # One call per cycle at most, each at most MAX_ATTEMPTS attempts;
        # one cycle of slack for a cycle starting as the window closes.
        cycles = int(elapsed / 5) + 2
        bound = limit if limit is not None else MAX_ATTEMPTS * cycles
        print("# daemon %s %s: %d requests in %.1f s (bound %d)"
              % (svc, name, len(times), elapsed, bound))
        assert 1 <= len(times) <= bound, "%d %s requests in %.1f s: a tight loop?" % (
            len(times), svc, elapsed)
        # Still there while the fault lasts (checked before clearing it:
        # a retry already waiting may land the moment it clears).
        if svc != "sns":
            assert "tcp 22 0.0.0.0/0" in rules_of(g)
        aws.clear_faults()
        guard.wait_log(r"reverted 1 rule on %s" % g, timeout=5 if svc == "sns" else 20)
        assert "tcp 22 0.0.0.0/0" not in rules_of(g)
    finally:
        aws.clear_faults()
        rc, out = guard.stop()
    no_crash(rc, out)
    assert rc == 0, "SIGTERM: exit %d" % rc
    return guard, g, ev, out


def daemon_cloudtrail():
    guard, g, ev, out = daemon_cell(
        "cloudtrail", "503", dict(service="cloudtrail", action="LookupEvents",
                                  mode="error", error={"code": "ServiceUnavailableException",
                                                       "status": 503}, count=-1))
    assert re.search(r"CloudTrail LookupEvents in default/\S+ failed: .*http=503", out)
    assert len(messages_for(g)) == 1


def daemon_ec2():
    guard, g, ev, out = daemon_cell(
        "ec2", "hang", dict(service="ec2", action="RevokeSecurityGroupIngress",
                            mode="hang", seconds=3, count=-1),
        env={"SGGUARD_HTTP_TIMEOUT_MS": "1000"}, window=12.0)
    assert re.search(r"revert on %s .* not done yet \(kind=transport" % g, out), out
    assert len(messages_for(g)) == 1


def daemon_sns():
    # Publish fails: the next try is a backoff away (2 min), not every cycle.
    guard, g, ev, out = daemon_cell(
        "sns", "reset", dict(service="sns", action="Publish", mode="reset", count=-1),
        window=12.0, limit=MAX_ATTEMPTS)
    assert "not published" in out
    assert messages_for(g) == []
    guard.make_pending_due()
    r = guard.once()
    assert r.returncode == 0
    assert len(messages_for(g)) == 1


def stop_while_hanging(guard, service, action, then=None, args=(), want_rc=0):
    """Start the daemon (with args) with every SERVICE ACTION call hanging,
    run then() (if any) once it is up, SIGTERM it as soon as such a call is
    in flight: it must exit want_rc without a crash. Returns (then()'s
    value, the log)."""
    aws = W["aws"]
    aws.fault(service=service, action=action, mode="hang", seconds=20, count=-1)
    t = time.time()
    got = None
    try:
        guard.start({"SGGUARD_HTTP_TIMEOUT_MS": "15000"}, *args)
        if then is not None:
            guard.wait_log(r"started")
            got = then()
        wait_requests(aws, "a %s call" % action, service=service, action=action, since=t)
        time.sleep(0.3)
    finally:
        rc, out = guard.stop()
        aws.clear_faults()
    no_crash(rc, out)
    assert rc == want_rc, rc
    return got, out


def daemon_sigterm_revoke():
    """A stop request (systemctl stop/restart, an upgrade) while a revoke
    is in flight: the call is cut after the 3 s grace. That says nothing
    about the rule: the event must stay to be done after the restart, not
    be given up as FAILED."""
    w, g = setup_cell()
    guard = Guard(g, poll=5)
    guard.seed(int(time.time()) - 60)
    ev, _ = stop_while_hanging(guard, "ec2", "RevokeSecurityGroupIngress",
                               lambda: mallory_adds(g))
    st = guard.read_state()
    failed = [p["subject"] for p in st["pending"] if " FAILED " in p["subject"]]
    assert not failed and ev not in st["handled"], (
        "a revoke cut short by SIGTERM was given up: handled=%s, queued %r"
        % (ev in st["handled"], failed))
    recovered(guard, g, ev)


def daemon_sigterm_lookup():
    """systemctl stop while a LookupEvents call hangs: a stop, not an error
    (no error line, exit 0), and the cursor stays."""
    w, g = setup_cell()
    guard = Guard(g, poll=5)
    c0 = int(time.time()) - 60
    guard.seed(c0)
    _, out = stop_while_hanging(guard, "cloudtrail", "LookupEvents")
    assert ": error: " not in out, out
    assert re.search(r"info: CloudTrail LookupEvents in default/%s cut short: sgguard is "
                     r"stopping" % REGION, out), out
    assert guard.read_state()["cursors"] == {"default/%s" % REGION: c0}


def once_sigterm_lookup():
    """--once stopped by SIGTERM while LookupEvents hangs: its cycle was not
    done, so it exits 1 with the cause as the last line (a script or timer
    must not take it as done), and the cursor stays."""
    w, g = setup_cell()
    guard = Guard(g, poll=5)
    c0 = int(time.time()) - 60
    guard.seed(c0)
    _, out = stop_while_hanging(guard, "cloudtrail", "LookupEvents", args=("--once",),
                                want_rc=1)
    last = out.rstrip("\n").split("\n")[-1]
    assert re.fullmatch(r"sgguard\[\d+\]: error: --once: not everything could be done: "
                        r"stopped by a signal before the cycle was done", last), out
    assert guard.read_state()["cursors"] == {"default/%s" % REGION: c0}


BG = {}


def bg_imds_refresh():
    """Credentials due for refresh while the metadata service fails: the
    daemon keeps the old ones (still valid), keeps reverting, paces its
    metadata look-ups (one lookup per 60 s) and says so. Needs a minute
    (the pace), so it runs beside the matrix on a localaws of its own."""
    out = []
    BG["log"] = out
    try:
        w = make_world()
        imds = w["imds"]
        g = new_group(w)
        start = time.time()
        # 150 s credentials: refreshed with 2 minutes left (30 s after the
        # first fetch), still used for a minute after a refresh fails.
        imds.expiration = lambda: start + 150
        guard = Guard(g, imds=True, poll=5, w=w)
        guard.seed(int(time.time()) - 60)
        guard.start()
        try:
            guard.wait_log(r"started")
            imds.fault = imds_fault("http500")
            t = time.time()
            ev1 = mallory_adds(g, 22, w=w)
            guard.wait_log(r"reverted 1 rule on %s" % g, timeout=20)
            guard.wait_log(r"refresh failed", timeout=80)
            ev2 = mallory_adds(g, 23, w=w)
            guard.wait_log(r"reverted 1 rule on %s.*tcp 23" % g, timeout=20)
            time.sleep(3)
            n = imds.count(t)
            out.append("# daemon imds refresh under HTTP 500: %d metadata requests in %.1f s"
                       % (n, time.time() - t))
            assert guard.proc.poll() is None, "the daemon died"
            # One lookup (token, role, document) per 60 s at most.
            limit = 4 * (int((time.time() - t) / 60) + 1)
            assert 1 <= n <= limit, "%d metadata requests in %.0f s: the pace is not kept" % (
                n, time.time() - t)
        finally:
            imds.fault = None
            rc, text = guard.stop()
        out.append("# daemon exit %d; log:" % rc)
        out += ["#   " + ln for ln in text.splitlines()]
        no_crash(rc, text)
        assert rc == 0
        assert re.search(r"warning: credentials: refresh failed.*still using", text), text
        assert len(messages_for(g, w)) == 2, messages_for(g, w)
        st = guard.read_state()
        assert ev1 in st["handled"] and ev2 in st["handled"], st
        for s in (IMDS_SECRET, IMDS_SESSION, IMDS_TOKEN):
            assert s not in text, "a credential in the log"
        w["aws"].stop()
    except BaseException as e:   # noqa: BLE001 - handed to the TAP cell
        BG["error"] = e
        import traceback
        out += ["# " + ln for ln in traceback.format_exc().splitlines()]


def daemon_imds_refresh():
    th = BG["thread"]
    th.join(150)
    for line in BG.get("log", []):
        print(line)
    assert not th.is_alive(), "the background IMDS cell did not finish"
    if "error" in BG:
        raise BG["error"]


# --- the run -----------------------------------------------------------------

def cells():
    out = []
    for svc in ("cloudtrail", "ec2", "sns"):
        for name in FAULTS:
            out.append(("%s %s: %s" % (svc, SVC[svc]["action"], name),
                        (lambda s=svc, n=name: aws_cell(s, n))))
    for name in FAULTS:
        out.append(("imds credentials: %s" % name, (lambda n=name: imds_cell(n))))
    for name in FAULTS:
        out.append(("sts AssumeRole: %s" % name, (lambda n=name: sts_cell(n))))
    out.append(("sts AssumeRole fails for prod: the default account is still guarded",
                sts_other_account_cell))
    out.append(("ec2 RevokeSecurityGroupIngress: UnauthorizedOperation (permanent)",
                ec2_denied_cell))
    out.append(("ec2 gives no answer: one call's attempts per cycle, the rest waits",
                ec2_breaker_cell))
    out.append(("sns gives no answer: one Publish call's attempts, all kept queued",
                sns_breaker_cell))
    out.append(("cloudtrail LookupEvents: the same NextToken again: the window fails, "
                "--once ends", cloudtrail_token_loop_cell))
    out.append(("ec2 DescribeSecurityGroups/Rules fail before the cycle: --once exits 1, "
                "one error line", once_setup_fails_cell))
    out.append(("ec2 RevokeSecurityGroupIngress: the group was deleted meanwhile: reverted, "
                "not FAILED", group_deleted_cell))
    out.append(("ec2 RevokeSecurityGroupIngress: one rule of two refused: the log names "
                "both parts", ec2_denied_partly_cell))
    out.append(("ec2 RevokeSecurityGroupIngress: unknownIpPermissionSet: FAILED while the "
                "rule is there, reverted once it is gone", ec2_unknown_permission_cell))
    out.append(("ec2 RevokeSecurityGroupIngress: answer lost after the revoke",
                ec2_lost_answer_cell))
    out.append(("sns Publish: answer lost after the publish", sns_lost_answer_cell))
    out.append(("daemon: cloudtrail 503 for 10 s", daemon_cloudtrail))
    out.append(("daemon: ec2 revoke hangs for 12 s", daemon_ec2))
    out.append(("daemon: sns resets for 12 s", daemon_sns))
    out.append(("daemon: SIGTERM while a revoke is in flight", daemon_sigterm_revoke))
    out.append(("daemon: SIGTERM while a LookupEvents hangs: a stop, not an error",
                daemon_sigterm_lookup))
    out.append(("--once: SIGTERM while a LookupEvents hangs: exit 1, the cycle was not done",
                once_sigterm_lookup))
    out.append(("daemon: imds refresh fails, old credentials kept", daemon_imds_refresh))
    out.append(("daemon: a slow STS for prod holds up no other account", daemon_sts_slow))
    out.append(("daemon: prod's assumed-role keys called expired early: assumed again at once",
                daemon_sts_expired_early))
    return out


def tracked(name, fn):
    def run():
        t = time.monotonic()
        ok = False
        try:
            fn()
            ok = True
        except harness.Skip:
            ok = None
            raise
        finally:
            RESULTS.append((name, ok, time.monotonic() - t))
    return name, run


def summary():
    if not RESULTS:
        return
    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = [n for n, ok, _ in RESULTS if ok is False]
    skipped = sum(1 for _, ok, _ in RESULTS if ok is None)
    print("# fault matrix: %d cells passed, %d failed, %d skipped" % (
        passed, len(failed), skipped))
    print("# %-12s %s" % ("", " ".join("%-9s" % f for f in FAULTS)))
    for svc in ("cloudtrail", "ec2", "sns", "imds", "sts"):
        row = []
        for f in FAULTS:
            key = ("imds credentials: %s" % f) if svc == "imds" else (
                "%s %s: %s" % (svc, SVC[svc]["action"], f))
            ok = [o for n, o, _ in RESULTS if n == key]
            row.append("%-9s" % ("-" if not ok else "ok" if ok[0] else
                                 "skip" if ok[0] is None else "FAIL"))
        print("# %-12s %s" % (svc, " ".join(row)))
    for n in failed:
        print("# failed: %s" % n)
    print("# total %.0f s" % sum(t for _, _, t in RESULTS))


if __name__ == "__main__":
    import atexit
    atexit.register(summary)
    world()
    BG["thread"] = threading.Thread(target=bg_imds_refresh, daemon=True)
    BG["thread"].start()
    harness.run([tracked(n, f) for n, f in cells()])
