#!/usr/bin/env python3
"""Secrets never leak: not into a log line, a notification or a state file.

A representative scenario through the real binary, at log level debug:
credentials from an IMDSv2 stand-in that hands out a new temporary key
(secret + session token, registered in localaws) on every fetch and a new
IMDS token on every PUT; a revert; a revert refused (FAILED notification);
a publish that fails (the notification kept in state.json) and is retried;
an SNS error whose text echoes the session token and a signature (as AWS's
SignatureDoesNotMatch does in its canonical-request dump); a daemon whose
credentials run short so that it refreshes them through the metadata
service every call. sgguard talks to localaws through a recording proxy
that keeps every `Signature=` value and every X-Amz-Security-Token sent.

Collected: every line sgguard wrote, every SNS message (subject and body),
every file under the state directories. None may hold a secret access key,
a session token, an IMDS token or a request signature.

Then the other tests' logs under $SGGUARD_BUILD/test-logs/ are searched for
the fixed secrets the suite uses (found by reading the test sources: string
constants bound to *SECRET*/*TOKEN*/*AUTH* names or to secret_access_key /
session_token / AWS_SECRET_ACCESS_KEY / ... keys). Logs that print secrets
on purpose are left out, each with its reason (EXCLUDED below). Logs of
tests that run after this one are those of the previous run, if any.
"""
import ast
import glob
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import case

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "localaws"))
import client as localaws  # noqa: E402

REGION = localaws.REGION
ROLE = "sgguard-secrets-role"
MALLORY = {"access_key_id": "AKIASECRETSMALLORY01",
           "secret_access_key": "secrets-mallory-secret-0123456789ab"}
# Test logs that hold secrets on purpose, and why.
EXCLUDED = {
    "unit/test_sigv4.log": "the AWS SigV4 test suite: its vectors (the documentation's "
                           "example secret key) are printed to compare signatures",
    "integration/test_sigv4_botocore.log": "differential SigV4 test against botocore: "
                                           "prints the example keys of its vectors",
    "integration/test_localaws.log": "tests the local AWS stand-in itself, whose admin API "
                                     "echoes the keys registered with it; not sgguard output",
    "unit/test_log.log": "tests the redaction itself: the secret may be printed as the "
                         "expected input before registration",
}
W = {}


def secret(kind, i):
    """Deterministic, recognisable, unique secrets per generation."""
    h = hashlib.sha256(("%s-%d-%d" % (kind, i, os.getpid())).encode()).hexdigest()
    return {"akid": "ASIASECRETS%09d" % i,
            "secret": "SeCrEt%s/%s+x" % (h[:20], h[20:34]),
            "token": "IQoJb3JpZ2luX2VjESECRETS%s%s" % (h, "Zz" * 200),
            "imds": "imds-token-SECRETS-%s" % h[:32]}[kind]


class IMDS:
    """IMDSv2 that rotates: a new IMDS token per PUT, new credentials
    (registered in localaws) per fetch."""

    def __init__(self, aws):
        self.aws = aws
        self.lock = threading.Lock()
        self.gen = 0
        self.tokens = []
        self.ttl = 6 * 3600
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, status, body, ctype="text/plain"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                with outer.lock:
                    tok = secret("imds", len(outer.tokens))
                    outer.tokens.append(tok)
                self.send(200, tok)

            def do_GET(self):
                with outer.lock:
                    ok = self.headers.get("X-aws-ec2-metadata-token") in outer.tokens
                if not ok:
                    return self.send(401, "")
                base = "/latest/meta-data/iam/security-credentials/"
                if self.path == base:
                    return self.send(200, ROLE)
                if self.path != base + ROLE:
                    return self.send(404, "")
                with outer.lock:
                    outer.gen += 1
                    i = outer.gen
                    ttl = outer.ttl
                outer.aws.register_key(access_key_id=secret("akid", i),
                                       secret_access_key=secret("secret", i),
                                       session_token=secret("token", i),
                                       type="AssumedRole", name=ROLE + "/i-0secrets")
                doc = {"Code": "Success", "Type": "AWS-HMAC",
                       "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "AccessKeyId": secret("akid", i),
                       "SecretAccessKey": secret("secret", i), "Token": secret("token", i),
                       "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                   time.gmtime(time.time() + ttl))}
                self.send(200, json.dumps(doc), "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def secrets(self):
        with self.lock:
            n, toks = self.gen, list(self.tokens)
        # One generation ahead too: it may have been handed out just now.
        return ([secret("secret", i) for i in range(1, n + 2)] +
                [secret("token", i) for i in range(1, n + 2)] + toks)


class Proxy:
    """Forwards to localaws unchanged (Host as signed); keeps what is secret
    in each request: the signature and the session token."""

    def __init__(self, target):
        self.signatures, self.tokens = set(), set()
        host, port = target.split("//")[1].split(":")
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                m = re.search(r"Signature=([0-9a-f]{64})", self.headers.get("Authorization", ""))
                if m:
                    outer.signatures.add(m.group(1))
                if self.headers.get("X-Amz-Security-Token"):
                    outer.tokens.add(self.headers["X-Amz-Security-Token"])
                c = http.client.HTTPConnection(host, int(port), timeout=60)
                c.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    c.putheader(k, v)
                c.endheaders(body)
                r = c.getresponse()
                data = r.read()
                c.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = do_PUT = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def world():
    if W:
        return W
    aws = localaws.start()
    aws.config(throttle_rps=0)
    aws.register_key(type="IAMUser", name="mallory", **MALLORY)
    W.update(aws=aws, imds=IMDS(aws), proxy=Proxy(aws.endpoint),
             topic=aws.client("sns").create_topic(Name="sgguard-secrets")["TopicArn"],
             vpc=aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"],
             logs=[], state_dirs=[], n=0)
    return W


def new_group():
    W["n"] += 1
    return W["aws"].client("ec2").create_security_group(
        GroupName="secrets-%d" % W["n"], Description="secrets test",
        VpcId=W["vpc"])["GroupId"]


def mallory_adds(g, port=22):
    W["aws"].client("ec2", creds=MALLORY).authorize_security_group_ingress(
        GroupId=g, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                                   "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def messages_for(g):
    return [m for m in W["aws"].sns_messages(topic=W["topic"]) if g in m["subject"]]


class Guard:
    def __init__(self, group):
        self.group = group
        self.dir = tempfile.mkdtemp(prefix="sgguard-secrets-")
        self.state = os.path.join(self.dir, "state")
        W["state_dirs"].append(self.state)
        self.config = os.path.join(self.dir, "sgguard.ini")
        with open(self.config, "w") as f:
            f.write("[sgguard]\npoll_interval = 5\nlookback = 900\nlog_level = debug\n"
                    "[aws]\nregion = %s\nendpoint_url = %s\n[notify]\ntopic_arn = %s\n"
                    "[group %s]\nallow = tcp 443 0.0.0.0/0\n"
                    % (REGION, W["proxy"].url, W["topic"], group))

    def env(self):
        e = {"PATH": os.environ["PATH"], "HOME": self.dir, "SGGUARD_TEST_FAST": "1",
             "AWS_EC2_METADATA_SERVICE_ENDPOINT": W["imds"].url, "NO_PROXY": "*"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        return e

    def once(self):
        r = subprocess.run([harness.BIN, "-c", self.config, "--state-dir", self.state,
                            "--once", "--log-level", "debug"], capture_output=True,
                           text=True, timeout=120, env=self.env())
        W["logs"].append(r.stderr)
        print("# --once: exit %d, %d log lines" % (r.returncode, len(r.stderr.splitlines())))
        return r

    def read_state(self):
        with open(os.path.join(self.state, "state.json")) as f:
            return json.load(f)

    def make_due(self):
        """The publish retry is a backoff away: make it due, as time would."""
        st = self.read_state()
        for p in st["pending"]:
            p["next_attempt"] = 0
        with open(os.path.join(self.state, "state.json"), "w") as f:
            json.dump(st, f)
        return st


def leaks(secrets, where):
    """[(what, artefact)] for every secret found in the artefacts."""
    found = []
    for label, text in where:
        for s in secrets:
            if s and s in text:
                found.append((s[:12] + "...", label))
    return found


def artefacts():
    out = [("log %d" % i, t) for i, t in enumerate(W["logs"])]
    for m in W["aws"].sns_messages(topic=W["topic"]):
        out.append(("sns subject", m["subject"]))
        out.append(("sns message", m["message"]))
    for d in W["state_dirs"]:
        for p in glob.glob(os.path.join(d, "*")) + glob.glob(os.path.join(d, ".*")):
            if os.path.isfile(p):
                with open(p, errors="replace") as f:
                    out.append((p, f.read()))
    return out


@case("the scenario: revert, FAILED revert, failed then retried publish, echoed secrets, refresh through IMDS")
def scenario():
    w = world()
    aws = w["aws"]
    # 1. a revert
    g1 = new_group()
    mallory_adds(g1)
    r = Guard(g1).once()
    assert r.returncode == 0, r.stderr
    assert len(messages_for(g1)) == 1
    # 2. a revoke refused for good: FAILED, with the error in the message
    g2 = new_group()
    mallory_adds(g2)
    aws.fault(service="ec2", action="RevokeSecurityGroupIngress", mode="error", count=-1,
              error={"code": "UnauthorizedOperation", "status": 403,
                     "message": "You are not authorized to perform this operation. "
                                "Encoded authorization failure message: x"})
    try:
        r = Guard(g2).once()
    finally:
        aws.clear_faults()
    assert r.returncode == 1
    assert [m["subject"].split()[1] for m in messages_for(g2)] == ["FAILED"]
    # 3. a publish that fails: the notification waits in state.json
    g3 = new_group()
    mallory_adds(g3)
    guard3 = Guard(g3)
    aws.fault(service="sns", action="Publish", mode="error", count=-1,
              error={"code": "InternalError", "status": 500})
    try:
        r = guard3.once()
    finally:
        aws.clear_faults()
    assert len(guard3.make_due()["pending"]) == 1
    # 4. an error that echoes the session token and a signature, as AWS's
    #    SignatureDoesNotMatch does (canonical request dump); the run's
    #    credentials are the next generation's.
    nxt = w["imds"].gen + 1
    echo = ("The request signature we calculated does not match the signature you "
            "provided. Signature=%s x-amz-security-token:%s secret=%s\n\n"
            "The Canonical String for this request should have been\n'POST\n/\n\n"
            "x-amz-security-token:%s\n'" % ("ab" * 32, secret("token", nxt),
                                           secret("secret", nxt), secret("token", nxt)))
    aws.fault(service="sns", action="Publish", mode="error", count=-1,
              error={"code": "SignatureDoesNotMatch", "status": 403, "message": echo})
    try:
        r = guard3.once()
    finally:
        aws.clear_faults()
    assert "SignatureDoesNotMatch" in r.stderr, "the echoing error was not met"
    # --once's last line names it, cut at a word if long: never inside a
    # [REDACTED] marker, never a run of a secret.
    last = r.stderr.rstrip("\n").split("\n")[-1]
    assert "error: --once: not everything could be done: publish to SNS failed" in last, last
    assert "[RE" not in last.replace("[REDACTED]", ""), last
    assert len(last) < 320 and (last.endswith(" ...") or len(last) < 270), last
    st = guard3.make_due()
    assert len(st["pending"]) == 1, st
    r = guard3.once()
    assert r.returncode == 0, r.stderr
    assert len(messages_for(g3)) == 1
    # 5. a daemon whose credentials run short: refreshed through IMDS
    g5 = new_group()
    w["imds"].ttl = 62          # usable (> 60 s left) for 2 s: refreshed every cycle
    gen0 = w["imds"].gen
    guard5 = Guard(g5)
    log = open(os.path.join(guard5.dir, "stderr.log"), "w+")
    p = harness.spawn([harness.BIN, "-c", guard5.config, "--state-dir", guard5.state],
                      stdout=log, stderr=subprocess.STDOUT, env=guard5.env())
    try:
        time.sleep(2)
        mallory_adds(g5, 22)
        time.sleep(11)
        mallory_adds(g5, 23)
        time.sleep(7)
    finally:
        w["imds"].ttl = 6 * 3600
        p.send_signal(signal.SIGTERM)
        rc = p.wait(15)
    log.seek(0)
    text = log.read()
    W["logs"].append(text)
    assert rc == 0, text
    assert w["imds"].gen - gen0 >= 3, "credentials were not refreshed (%d fetches)" % (
        w["imds"].gen - gen0)
    assert len(messages_for(g5)) == 2, text
    print("# %d credential generations, %d IMDS tokens, %d signatures and %d session "
          "tokens seen by the proxy" % (w["imds"].gen, len(w["imds"].tokens),
                                        len(w["proxy"].signatures), len(w["proxy"].tokens)))


@case("no secret key, session token, IMDS token or signature in any log line, notification or state file")
def nothing_leaked():
    w = world()
    secrets = set(w["imds"].secrets()) | w["proxy"].signatures | w["proxy"].tokens
    assert w["proxy"].signatures and w["proxy"].tokens, "nothing was recorded"
    arts = artefacts()
    assert len(arts) > 10, arts
    found = leaks(secrets, arts)
    assert not found, "secrets leaked: %s" % sorted(set(found))[:20]
    # Redaction happened where there was something to redact.
    joined = "\n".join(t for _, t in arts)
    assert "SignatureDoesNotMatch" in joined, "the echoing error was not logged at all"


# --- the rest of the suite's logs -------------------------------------------

SECRET_KEYS = {"secret_access_key", "session_token", "SecretAccessKey", "Token",
               "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret", "token"}
SECRET_NAME = re.compile(r"SECRET|TOKEN|AUTH", re.I)
NOT_SECRET_NAME = re.compile(r"CHARS|next_token|notoken|^_", re.I)


def _const(n):
    if isinstance(n, ast.Constant) and isinstance(n.value, (str, int)):
        return n.value
    if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Mult)):
        a, b = _const(n.left), _const(n.right)
        try:
            return a + b if isinstance(n.op, ast.Add) else a * b
        except TypeError:
            return None
    return None


def suite_secrets():
    """{secret: source} from the test sources (Python: AST; C: literals
    bound to *secret*/*token* names)."""
    out = {}

    def add(value, src, name):
        if (isinstance(value, str) and len(value) >= 10 and " " not in value
                and not NOT_SECRET_NAME.search(name)):
            out.setdefault(value, "%s (%s)" % (src, name))
    for path in sorted(glob.glob(os.path.join(harness.ROOT, "tests", "integration", "*.py"))):
        try:
            tree = ast.parse(open(path).read())
        except SyntaxError:
            continue
        src = os.path.relpath(path, harness.ROOT)
        for n in ast.walk(tree):
            if isinstance(n, ast.Assign):
                for t in n.targets:
                    if isinstance(t, ast.Name) and SECRET_NAME.search(t.id):
                        add(_const(n.value), src, t.id)
            elif isinstance(n, ast.Dict):
                for k, v in zip(n.keys, n.values):
                    if isinstance(k, ast.Constant) and k.value in SECRET_KEYS:
                        add(_const(v), src, k.value)
            elif isinstance(n, ast.keyword) and n.arg in SECRET_KEYS:
                add(_const(n.value), src, n.arg)
    lit = re.compile(r'(\w*(?:secret|token)\w*)\s*(?:\[\s*\])?\s*=\s*"((?:[^"\\]|\\.){10,})"',
                     re.I)
    for path in sorted(glob.glob(os.path.join(harness.ROOT, "tests", "unit", "*.c"))):
        with open(path, errors="replace") as f:
            for m in lit.finditer(f.read()):
                if "\\" not in m.group(2):
                    add(m.group(2), os.path.relpath(path, harness.ROOT), m.group(1))
    return out


@case("the suite's other logs hold none of the suite's fixed test secrets")
def suite_logs():
    logs_dir = os.path.join(harness.BUILD, "test-logs")
    secrets = suite_secrets()
    assert len(secrets) >= 10, secrets
    print("# %d fixed secrets found in the test sources" % len(secrets))
    files = sorted(glob.glob(os.path.join(logs_dir, "**", "*.log"), recursive=True))
    if not files:
        harness.skip("no test logs under %s yet" % logs_dir)
    me = os.path.join("integration", "test_secrets.log")
    found, searched = [], 0
    for path in files:
        rel = os.path.relpath(path, logs_dir)
        if rel == me:
            continue
        if rel in EXCLUDED:
            print("# excluded %s: %s" % (rel, EXCLUDED[rel]))
            continue
        searched += 1
        with open(path, errors="replace") as f:
            text = f.read()
        for s, src in secrets.items():
            if s in text:
                found.append("%s: %s... from %s" % (rel, s[:16], src))
    print("# searched %d logs" % searched)
    assert not found, "test secrets in logs:\n" + "\n".join(found)


if __name__ == "__main__":
    harness.run()
