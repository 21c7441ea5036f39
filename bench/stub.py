#!/usr/bin/env python3
"""bench/stub.py: a fast loopback stand-in for the AWS calls sgguard makes
during the benchmarks (not a test double of AWS semantics: no SigV4 check).

  CloudTrail LookupEvents  -> {"Events": PAGE} (PAGE from --page FILE, else []),
                              only the entries whose EventTime lies within the
                              request's StartTime..EndTime, as AWS answers
  STS AssumeRole / GetCallerIdentity -> fixed answers
  EC2 DescribeSecurityGroupRules -> empty; DescribeSecurityGroups -> the
    groups asked for by id (a tag search finds none)
  EC2 Revoke*/Authorize* -> <return>true</return>
  SNS Publish -> a MessageId

HTTP/1.1 keep-alive, one thread per connection. Counts TCP accepts and
requests per action (and LookupEvents per account-region per second) and
writes them as JSON to --stats FILE on SIGTERM/SIGUSR1 and on /_stats.
Binds 127.0.0.1 only. Prints "READY PORT" once listening.
"""
import argparse, json, os, re, signal, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

lock = threading.Lock()
stats = {"accepts": 0, "requests": 0, "actions": {}, "lookup_per_key": {},
         "max_lookup_per_key_per_s": 0, "first": None, "last": None}
persec = {}  # (key, second) -> count
NS = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'
EC2NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
SCOPE = re.compile(r'Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/')


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def handle_error(self, request, client_address):
        pass    # a client closing its kept-alive connection is no error

    def get_request(self):
        s, a = super().get_request()
        with lock:
            stats["accepts"] += 1
        return s, a


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and
        # the client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, code, body, ctype):
        if isinstance(body, str):
            body = body.encode()
        # No Date header: the 1000-cycle run puts the daemon on a fast
        # fake clock, and sgguard keeps its cursors at or before AWS's
        # Date (the clock CloudTrail stamps events with).
        self.send_response_only(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/_stats"):
            self.reply(200, json.dumps(snapshot()), "application/json")
        else:
            self.reply(404, "", "text/plain")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        auth = self.headers.get("Authorization", "")
        m = SCOPE.search(auth)
        akid, region, service = (m.group(1), m.group(3), m.group(4)) if m else ("", "", "")
        target = self.headers.get("X-Amz-Target", "")
        now = time.time()
        if target.endswith(".LookupEvents"):
            action = "LookupEvents"
            key = akid + "/" + region
            sec = int(now)
            with lock:
                stats["lookup_per_key"][key] = stats["lookup_per_key"].get(key, 0) + 1
                c = persec.get((key, sec), 0) + 1
                persec[(key, sec)] = c
                if c > stats["max_lookup_per_key_per_s"]:
                    stats["max_lookup_per_key_per_s"] = c
            count(action, now)
            return self.reply(200, page_for(body), "application/x-amz-json-1.1")
        q = parse_qs(body.decode("utf-8", "replace"))
        action = (q.get("Action") or [""])[0]
        count(action or "unknown", now)
        if action == "AssumeRole":
            arn = (q.get("RoleArn") or ["arn:aws:iam::111111111111:role/x"])[0]
            acct = arn.split(":")[4]
            # A key per role so the stub can tell account-regions apart.
            kid = "ASIA" + acct
            return self.reply(200, (
                f'<AssumeRoleResponse {NS}><AssumeRoleResult><Credentials>'
                f'<AccessKeyId>{kid}</AccessKeyId>'
                '<SecretAccessKey>benchsecretbenchsecretbenchsecret0000000</SecretAccessKey>'
                '<SessionToken>benchtoken</SessionToken>'
                '<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>'
                f'<AssumedRoleUser><AssumedRoleId>AROA:{acct}</AssumedRoleId>'
                f'<Arn>arn:aws:sts::{acct}:assumed-role/x/sgguard</Arn></AssumedRoleUser>'
                '</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId>'
                '</ResponseMetadata></AssumeRoleResponse>'), "text/xml")
        if action == "GetCallerIdentity":
            acct = akid[4:] if akid.startswith("ASIA") and akid[4:].isdigit() else "123456789012"
            return self.reply(200, (
                f'<GetCallerIdentityResponse {NS}><GetCallerIdentityResult>'
                f'<Arn>arn:aws:iam::{acct}:root</Arn><UserId>{acct}</UserId>'
                f'<Account>{acct}</Account></GetCallerIdentityResult>'
                '<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>'
                '</GetCallerIdentityResponse>'), "text/xml")
        if action == "DescribeSecurityGroupRules":
            return self.reply(200, (
                f'<DescribeSecurityGroupRulesResponse {EC2NS}><requestId>r</requestId>'
                '<securityGroupRuleSet/></DescribeSecurityGroupRulesResponse>'), "text/xml")
        if action == "DescribeSecurityGroups":
            # Every group asked for by id exists (sgguard checks at
            # start-up); a tag search finds none.
            items = ""
            if (q.get("Filter.1.Name") or [""])[0] == "group-id":
                n = 1
                while "Filter.1.Value.%d" % n in q:
                    gid = q["Filter.1.Value.%d" % n][0]
                    items += ('<item><groupId>%s</groupId><groupName>g%d</groupName>'
                              '<ownerId>123456789012</ownerId></item>' % (gid, n))
                    n += 1
            return self.reply(200, (
                f'<DescribeSecurityGroupsResponse {EC2NS}><requestId>r</requestId>'
                f'<securityGroupInfo>{items}</securityGroupInfo>'
                '</DescribeSecurityGroupsResponse>'), "text/xml")
        if action.startswith(("Revoke", "Authorize")):
            return self.reply(200, (
                f'<{action}Response {EC2NS}><requestId>r</requestId>'
                f'<return>true</return></{action}Response>'), "text/xml")
        if action == "Publish":
            return self.reply(200, (
                '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                '<PublishResult><MessageId>m</MessageId></PublishResult>'
                '<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>'
                '</PublishResponse>'), "text/xml")
        self.reply(400, '<ErrorResponse><Error><Code>InvalidAction</Code>'
                   '<Message>stub</Message></Error></ErrorResponse>', "text/xml")


def count(action, now):
    with lock:
        stats["requests"] += 1
        stats["actions"][action] = stats["actions"].get(action, 0) + 1
        if stats["first"] is None:
            stats["first"] = now
        stats["last"] = now


def snapshot():
    with lock:
        s = dict(stats)
        s["actions"] = dict(stats["actions"])
        s["lookup_keys"] = len(stats["lookup_per_key"])
        s["lookup_per_key"] = {}
        return s


EVENTS = []
PAGES = {}  # the entries in a window (their indices) -> the answer


def page_for(body):
    try:
        q = json.loads(body)
        lo, hi = float(q.get("StartTime", 0)), float(q.get("EndTime", 1e12))
    except (ValueError, TypeError, AttributeError):
        lo, hi = 0, 1e12
    idx = tuple(i for i, e in enumerate(EVENTS) if lo <= e["EventTime"] <= hi)
    with lock:
        if idx not in PAGES:
            PAGES[idx] = json.dumps({"Events": [EVENTS[i] for i in idx]}).encode()
        return PAGES[idx]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--page", help="JSON file: the Events[] list to serve")
    ap.add_argument("--stats", help="write stats JSON here on SIGTERM/SIGUSR1")
    a = ap.parse_args()
    global EVENTS
    if a.page:
        with open(a.page) as f:
            EVENTS = json.load(f)
    srv = Server(("127.0.0.1", a.port), H)

    def dump(*_):
        if a.stats:
            with open(a.stats + ".tmp", "w") as f:
                json.dump(snapshot(), f)
            os.replace(a.stats + ".tmp", a.stats)

    def term(*_):
        dump()
        os._exit(0)
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGINT, term)
    signal.signal(signal.SIGUSR1, dump)
    print("READY", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
