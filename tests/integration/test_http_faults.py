#!/usr/bin/env python3
"""The HTTP and AWS call layers against a scripted stub server.

Each case starts a small threaded HTTP server on 127.0.0.1 whose answers are
scripted (status, body, reset, silence, truncation, size), runs the aws-call
test tool against it and checks both what the tool printed and what the
server saw (attempts, headers, signatures). Timeouts and backoff are
shortened with the test knobs of include/aws.h.
"""
import http.server
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import case  # noqa: E402

TOOL = os.path.join(harness.TOOLS, "aws-call")
AKID = "AKIDSGGUARDTEST0001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY1"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789abcdef"

EC2_LIMIT = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
             b'<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.'
             b'</Message></Error></Errors><RequestID>ec2-req-1</RequestID></Response>')
EC2_OK = (b'<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/'
          b'2016-11-15/"><requestId>ok-1</requestId><securityGroupInfo/>'
          b'</DescribeSecurityGroupsResponse>')
SNS_THROTTLED = (b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                 b'<Error><Type>Sender</Type><Code>Throttled</Code><Message>Rate '
                 b'exceeded</Message></Error><RequestId>sns-req-1</RequestId>'
                 b'</ErrorResponse>')
CT_THROTTLE = (b'{"__type":"com.amazonaws.cloudtrail.v20131101#ThrottlingException",'
               b'"message":"Rate exceeded"}')
INTERNAL = (b'<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code>'
            b'<Message>We encountered an internal error.</Message></Error>'
            b'<RequestId>r-500</RequestId></ErrorResponse>')
HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx"
            b"</center>\r\n</body>\r\n</html>\r\n")


class Rec:
    def __init__(self, method, path, headers, body, port):
        self.method, self.path, self.body, self.port = method, path, body, port
        self.headers = dict(headers.items())
        self.t = time.monotonic()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, so reuse can be seen

    def log_message(self, *a):
        pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def _handle(self):
        stub = self.server.stub
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = Rec(self.command, self.path, self.headers, body, self.client_address[1])
        with stub.lock:
            stub.requests.append(rec)
            act = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
        kind = act[0]
        if kind == "respond":
            _, status, headers, payload = act
            self._send(status, headers, payload)
        elif kind == "next_second":
            # The retry is then signed in a later second than this attempt.
            t = time.time()
            time.sleep(1.0 - (t % 1.0) + 0.05)
            _, status, headers, payload = act
            self._send(status, headers, payload)
        elif kind == "delay":
            _, secs, status, headers, payload = act
            stub.release.wait(secs)
            self._send(status, headers, payload)
        elif kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif kind == "truncate":
            _, claimed, payload = act
            self.send_response_only(200)
            self.send_header("Content-Length", str(claimed))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif kind == "chunked":
            _, total = act
            self.send_response_only(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 1000
            sent = 0
            try:
                while sent < total:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            self.close_connection = True
        else:
            raise RuntimeError("bad action %r" % (act,))

    def _send(self, status, headers, payload):
        self.send_response_only(status)
        hdrs = {"Content-Type": "text/xml", "Date": self.date_time_string()}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            if v is not None:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = do_PUT = _handle


class Stub:
    def __init__(self, script, tls=None):
        self.script = list(script)
        self.requests = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.srv.handle_error = lambda request, address: None  # resets are expected
        self.srv.stub = self
        if tls is not None:
            self.srv.socket = tls.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.srv.shutdown()
        self.srv.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class Silent:
    """Accepts connections and never reads or answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def tool_env(url, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("AWS_")
           and not k.startswith("SGGUARD_")}
    env.update({
        "AWS_ACCESS_KEY_ID": AKID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT_URL": url,
        "NO_PROXY": "127.0.0.1,localhost",
        "SGGUARD_TEST_FAST": "1",
        "SGGUARD_AWS_BACKOFF_BASE_MS": "5",
        "SGGUARD_AWS_BACKOFF_CAP_MS": "20",
        "SGGUARD_AWS_MAX_ATTEMPTS": "3",
    })
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class Result:
    def __init__(self, p, elapsed):
        self.rc, self.out, self.err, self.elapsed = p.returncode, p.stdout, p.stderr, elapsed

    def attempts(self):
        for line in self.err.splitlines():
            if line.startswith("attempts="):
                return int(line.split()[0].split("=")[1])
        raise AssertionError("no attempts line in stderr: %r" % self.err)

    def __repr__(self):
        return "rc=%d out=%r err=%r" % (self.rc, self.out[:600], self.err[-1200:])


def run(args, url, timeout=30, **extra):
    t0 = time.monotonic()
    p = subprocess.run([TOOL] + args, env=tool_env(url, **extra), capture_output=True,
                       text=True, timeout=timeout, errors="replace")
    return Result(p, time.monotonic() - t0)


DESCRIBE = ["ec2", "us-east-1", "DescribeSecurityGroups", "GroupId.1=sg-0123456789abcdef0"]


def botocore_signature(rec, service, region, secret=SECRET, akid=AKID, token=None):
    """The signature botocore computes for a recorded request (as moto does)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    auth_hdr = rec.headers["Authorization"]
    signed = auth_hdr.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {k: v for k, v in rec.headers.items() if k.lower() in signed}
    req = AWSRequest(method=rec.method, url="http://%s%s" % (rec.headers["Host"], rec.path),
                     data=rec.body, headers=headers)
    req.context["timestamp"] = rec.headers["X-Amz-Date"]
    auth = SigV4Auth(Credentials(akid, secret, token), service, region)
    cr = auth.canonical_request(req)
    return auth.signature(auth.string_to_sign(req, cr), req)


def signature_of(rec):
    return rec.headers["Authorization"].split("Signature=")[1].strip()


@case("500 then 200: retried, each attempt signed afresh with its own X-Amz-Date")
def retry_500_then_200():
    with Stub([("next_second", 500, None, INTERNAL), ("respond", 200, None, EC2_OK)]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 0 and r.out.startswith("OK 200\n"), r
    assert "securityGroupInfo" in r.out, r
    assert len(s.requests) == 2 and r.attempts() == 2, (len(s.requests), r)
    a, b = s.requests
    assert a.headers["X-Amz-Date"] != b.headers["X-Amz-Date"], (a.headers, b.headers)
    assert signature_of(a) != signature_of(b)
    assert "credential_lookups=2" in r.err, r
    for rec in s.requests:
        assert botocore_signature(rec, "ec2", "us-east-1") == signature_of(rec)


@case("503 every time: max attempts, then kind=server")
def server_503():
    with Stub([("respond", 503, {"Content-Type": "text/plain"}, b"")]) as s:
        r = run(DESCRIBE, s.url, SGGUARD_AWS_MAX_ATTEMPTS=4)
    assert r.rc == 1 and "ERROR kind=server http=503 " in r.out, r
    assert len(s.requests) == 4 and r.attempts() == 4, (len(s.requests), r)


@case("CloudTrail HTTP 400 ThrottlingException (JSON 1.1): retried, then OK")
def cloudtrail_throttling():
    doc = '{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"AuthorizeSecurityGroupIngress"}],"MaxResults":50}'
    hdr = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "ct-req-1"}
    with Stub([("respond", 400, hdr, CT_THROTTLE), ("respond", 400, hdr, CT_THROTTLE),
               ("respond", 200, hdr, b'{"Events":[]}')]) as s:
        r = run(["cloudtrail", "eu-west-1", "LookupEvents", doc], s.url)
    assert r.rc == 0 and r.out.startswith("OK 200\n") and '{"Events":[]}' in r.out, r
    assert len(s.requests) == 3
    rec = s.requests[-1]
    assert rec.headers["X-Amz-Target"] == \
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
    assert rec.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert rec.body == doc.encode()
    assert "/eu-west-1/cloudtrail/aws4_request" in rec.headers["Authorization"]
    assert botocore_signature(rec, "cloudtrail", "eu-west-1") == signature_of(rec)
    assert "request_id=ct-req-1" in r.err, r
    with Stub([("respond", 400, hdr, CT_THROTTLE)]) as s:
        r = run(["cloudtrail", "eu-west-1", "LookupEvents", doc], s.url)
    assert r.rc == 1 and "ERROR kind=throttled http=400 code=ThrottlingException " \
        "message=Rate exceeded" in r.out, r
    assert len(s.requests) == 3


@case("EC2 RequestLimitExceeded (XML): retried, form body as botocore sends it")
def ec2_request_limit():
    with Stub([("respond", 503, None, EC2_LIMIT), ("respond", 200, None, EC2_OK)]) as s:
        r = run(["ec2", "us-east-1", "RevokeSecurityGroupIngress",
                 "GroupId=sg-0123456789abcdef0", "IpPermissions.1.IpProtocol=tcp",
                 "IpPermissions.1.FromPort=22", "IpPermissions.1.ToPort=22",
                 "IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
                 "IpPermissions.1.IpRanges.1.Description=a b&c"], s.url)
    assert r.rc == 0 and r.out.startswith("OK 200"), r
    assert len(s.requests) == 2
    rec = s.requests[0]
    assert rec.body == (b"Action=RevokeSecurityGroupIngress&Version=2016-11-15&"
                        b"GroupId=sg-0123456789abcdef0&IpPermissions.1.IpProtocol=tcp&"
                        b"IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&"
                        b"IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0&"
                        b"IpPermissions.1.IpRanges.1.Description=a+b%26c"), rec.body
    assert rec.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    with Stub([("respond", 503, None, EC2_LIMIT)]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 1 and "ERROR kind=throttled http=503 code=RequestLimitExceeded " \
        "message=Request limit exceeded." in r.out, r
    assert "request_id=ec2-req-1" in r.err, r


def botocore_body(service, action, params):
    """The body botocore itself would send for a Query call."""
    import botocore.session
    seen = {}

    def grab(request, **kw):
        seen["body"] = request.body
        raise KeyboardInterrupt   # stop before anything is sent
    c = botocore.session.get_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b",
        endpoint_url="http://127.0.0.1:9")
    c.meta.events.register("before-send", grab)
    try:
        getattr(c, action)(**params)
    except KeyboardInterrupt:
        pass
    b = seen["body"]
    return b.encode() if isinstance(b, str) else b


@case("Query bodies are byte for byte what botocore sends")
def query_body_like_botocore():
    msg = "event_id: a b\nrevoked: tcp 22 0.0.0.0/0 ~*+/=&%\u00e9\t\"'<>"
    subject = "[sgguard] AUTO-MITIGATED sg-0123456789abcdef0 (us-east-1)"
    arn = "arn:aws:sns:us-east-1:123456789012:alerts"
    with Stub([("respond", 200, None, b"<PublishResponse/>")]) as s:
        r = run(["sns", "us-east-1", "Publish", "TopicArn=" + arn, "Message=" + msg,
                 "Subject=" + subject], s.url)
    assert r.rc == 0, r
    want = botocore_body("sns", "publish", {"TopicArn": arn, "Message": msg,
                                            "Subject": subject})
    assert s.requests[0].body == want, (s.requests[0].body, want)


@case("SNS Throttled (HTTP 429): retried until max attempts, kind=throttled")
def sns_throttled():
    with Stub([("respond", 429, None, SNS_THROTTLED)]) as s:
        r = run(["sns", "us-east-1", "Publish",
                 "TopicArn=arn:aws:sns:us-east-1:123456789012:alerts",
                 "Message=hello", "Subject=[sgguard] test"], s.url)
    assert r.rc == 1 and "ERROR kind=throttled http=429 code=Throttled message=Rate exceeded" \
        in r.out, r
    assert len(s.requests) == 3 and r.attempts() == 3
    assert s.requests[0].body.startswith(b"Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws")


@case("connection reset: retried; reset every time gives kind=transport")
def connection_reset():
    with Stub([("reset",), ("reset",), ("respond", 200, None, EC2_OK)]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 0 and r.attempts() == 3 and len(s.requests) == 3, r
    with Stub([("reset",)]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 1 and "ERROR kind=transport http=0 " in r.out, r
    assert len(s.requests) == 3


@case("a server that accepts and never answers: bounded by the timeout, retried")
def never_answers():
    with Silent() as s:
        r = run(DESCRIBE, s.url, SGGUARD_HTTP_TIMEOUT_MS=400, SGGUARD_AWS_MAX_ATTEMPTS=2)
    assert r.rc == 1 and "ERROR kind=transport http=0 " in r.out, r
    assert "timed out" in r.out.lower(), r
    assert r.attempts() == 2, r
    assert r.elapsed < 4.0, r.elapsed


@case("total time cap: attempts stop at SGGUARD_AWS_MAX_TOTAL_MS")
def total_time_cap():
    with Silent() as s:
        r = run(DESCRIBE, s.url, SGGUARD_HTTP_TIMEOUT_MS=600, SGGUARD_AWS_MAX_ATTEMPTS=20,
                SGGUARD_AWS_MAX_TOTAL_MS=1500)
    assert r.rc == 1 and "kind=transport" in r.out, r
    assert r.attempts() <= 3, r
    assert r.elapsed < 3.5, r.elapsed


@case("a body over the size cap: kind=too_large, not retried (Content-Length and chunked)")
def too_large():
    with Stub([("respond", 200, None, b"x" * 5000)]) as s:
        r = run(DESCRIBE, s.url, SGGUARD_HTTP_MAX_RESPONSE=1000)
    assert r.rc == 1 and "ERROR kind=too_large http=200 " in r.out, r
    assert len(s.requests) == 1
    with Stub([("chunked", 3 * 1024 * 1024)]) as s:
        r = run(DESCRIBE, s.url, SGGUARD_HTTP_MAX_RESPONSE=20000)
    assert r.rc == 1 and "ERROR kind=too_large http=200 " in r.out, r
    assert "larger than 20000 bytes" in r.out, r
    assert len(s.requests) == 1
    with Stub([("respond", 200, None, b"y" * 999)]) as s:
        r = run(DESCRIBE, s.url, SGGUARD_HTTP_MAX_RESPONSE=1000)
    assert r.rc == 0 and "OK 200" in r.out, r
    # The default cap takes a page of 50 records of CloudTrail's largest
    # size (256 KB each, escaped): 14 MB.
    with Stub([("respond", 200, None, b"z" * (14 * 1024 * 1024))]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 0 and "OK 200" in r.out, r


@case("a truncated body (Content-Length larger than sent): kind=transport, retried")
def truncated_body():
    with Stub([("truncate", 1000, EC2_OK[:40])]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 1 and "ERROR kind=transport http=200 " in r.out, r
    assert "incomplete" in r.out, r
    assert len(s.requests) == 3
    with Stub([("truncate", 1000, b"<Resp"), ("respond", 200, None, EC2_OK)]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 0 and r.attempts() == 2, r


@case("an HTML 502 page: kind=server with the status and an excerpt, retried")
def html_502():
    with Stub([("respond", 502, {"Content-Type": "text/html"}, HTML_502)]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 1 and "ERROR kind=server http=502 code=- message=HTTP 502 without an " \
        "AWS error document: <html> <head><title>502 Bad Gateway" in r.out, r
    assert len(s.requests) == 3
    assert len(r.out.strip().splitlines()) == 1, r


@case("a 302 redirect is not followed")
def redirect_not_followed():
    with Stub([("respond", 302, {"Location": "/elsewhere"}, b"")]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 1 and "ERROR kind=bad_response http=302 " in r.out, r
    assert [q.path for q in s.requests] == ["/"], [q.path for q in s.requests]


@case("request headers: User-Agent sgguard/VERSION, Host, signed session token, no Expect")
def request_headers():
    with Stub([("respond", 200, None, EC2_OK)]) as s:
        r = run(DESCRIBE, s.url, AWS_SESSION_TOKEN=TOKEN)
    assert r.rc == 0, r
    rec = s.requests[0]
    h = rec.headers
    assert rec.method == "POST" and rec.path == "/"
    assert h["User-Agent"].startswith("sgguard/"), h
    assert h["Host"] == "127.0.0.1:%d" % s.port, h
    assert h["X-Amz-Security-Token"] == TOKEN, h
    assert "Expect" not in h, h
    auth = h["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/ec2/aws4_request, "
                           % (AKID, h["X-Amz-Date"][:8])), auth
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    for name in ("host", "x-amz-date", "content-type", "x-amz-security-token"):
        assert name in signed, signed
    assert botocore_signature(rec, "ec2", "us-east-1", token=TOKEN) == signature_of(rec)


@case("no secret, token or signature in the output, even at debug level")
def no_secrets_logged():
    deny = (b'<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>'
            b'You are not authorized to perform this operation.</Message></Error>'
            b'</Errors><RequestID>r</RequestID></Response>')
    with Stub([("respond", 500, None, b"oops"), ("respond", 403, None, deny)]) as s:
        r = run(["-v"] + DESCRIBE, s.url, AWS_SESSION_TOKEN=TOKEN)
    assert r.rc == 1 and "kind=denied http=403 code=UnauthorizedOperation" in r.out, r
    assert "debug:" in r.err, r      # debug logging was really on
    text = r.out + r.err
    for secret in [SECRET, TOKEN] + [signature_of(q) for q in s.requests]:
        assert secret not in text, secret
    assert "Authorization" not in text and "Signature=" not in text


@case("clock skew: RequestExpired gives kind=clock_skew and a timedatectl hint")
def clock_skew():
    body = (b'<Response><Errors><Error><Code>RequestExpired</Code><Message>Request has '
            b'expired.</Message></Error></Errors><RequestID>r</RequestID></Response>')
    old = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 3600))
    with Stub([("respond", 400, {"Date": old}, body)]) as s:
        r = run(DESCRIBE, s.url)
    assert r.rc == 1 and "ERROR kind=clock_skew http=400 code=RequestExpired" in r.out, r
    assert len(s.requests) == 1
    assert "hint: check the system clock (timedatectl)" in r.err, r
    assert "ahead of AWS" in r.err, r


@case("concurrent calls from one thread: 20 slow answers overlap on <= 8 connections")
def concurrent_calls():
    with Stub([("delay", 0.5, 200, None, EC2_OK)]) as s:
        r = run(["-n", "20"] + DESCRIBE, s.url, SGGUARD_HTTP_TIMEOUT_MS=5000)
    assert r.rc == 0 and r.out.count("OK 200") == 20, r
    assert len(s.requests) == 20
    assert r.elapsed < 3.5, r.elapsed           # serial would take 10 s
    ports = {q.port for q in s.requests}
    assert 1 < len(ports) <= 8, ports           # cap per host, connections reused


@case("missing credentials: kind=credentials, nothing sent")
def no_credentials():
    with Stub([("respond", 200, None, EC2_OK)]) as s:
        r = run(DESCRIBE, s.url, AWS_ACCESS_KEY_ID=None)
    assert r.rc == 1 and "ERROR kind=credentials http=0 " in r.out, r
    assert s.requests == []


@case("a bad endpoint URL is refused before anything is sent")
def bad_endpoint():
    r = run(DESCRIBE, "ftp://127.0.0.1:21/")
    assert r.rc == 1 and "ERROR kind=local" in r.out, r
    r = run(DESCRIBE, "http://127.0.0.1:1/?x=1")
    assert r.rc == 1 and "ERROR kind=local" in r.out, r


def make_certs(d):
    """A private CA and two server certificates: one for 127.0.0.1, one for
    another name."""
    if shutil.which("openssl") is None:
        harness.skip("openssl command not found")

    def sh(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True,
                       timeout=60)
    sh("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
       "-days", "2", "-subj", "/CN=sgguard test CA")
    for name, san in (("good", "IP:127.0.0.1"), ("wrong", "DNS:wrong.example")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" % san)
        sh("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
           name + ".csr", "-subj", "/CN=" + name)
        sh("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
           "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")


def tls_ctx(d, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, name + ".pem"), os.path.join(d, name + ".key"))
    return ctx


@case("TLS: unknown CA refused (not retried); ca_file adds trust; host name checked")
def tls_verification():
    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        with Stub([("respond", 200, None, EC2_OK)], tls=tls_ctx(d, "good")) as s:
            r = run(DESCRIBE, s.url)
            assert r.rc == 1 and "ERROR kind=transport http=0 " in r.out, r
            assert r.attempts() == 1, r                 # a bad certificate is final
            assert "hint: check ca_file" in r.err, r
            assert s.requests == []
            r = run(DESCRIBE, s.url, AWS_CA_BUNDLE=os.path.join(d, "ca.pem"))
            assert r.rc == 0 and r.out.startswith("OK 200"), r
            assert len(s.requests) == 1
        with Stub([("respond", 200, None, EC2_OK)], tls=tls_ctx(d, "wrong")) as s:
            r = run(DESCRIBE, s.url, AWS_CA_BUNDLE=os.path.join(d, "ca.pem"))
            assert r.rc == 1 and "ERROR kind=transport" in r.out, r
            assert s.requests == []
        # A ca_file without certificates is a clear start-up error.
        bad = os.path.join(d, "empty.pem")
        open(bad, "w").close()
        r = run(DESCRIBE, "https://127.0.0.1:1", AWS_CA_BUNDLE=bad)
        assert r.rc == 1 and "no PEM certificate" in r.out, r


if __name__ == "__main__":
    if not os.access(TOOL, os.X_OK):
        print("1..0 # SKIP %s not built" % TOOL)
        sys.exit(0)
    harness.run()
