#!/usr/bin/env python3
"""The credential chain end to end: build/tools/creds-get against a
loopback stand-in for EC2 instance metadata (IMDSv2) and for a container
credentials endpoint. Every run gets a temporary HOME and an environment
without the machine's AWS_* variables or proxies."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import case  # noqa: E402

TOOL = os.path.join(harness.TOOLS, "creds-get")
ROLE = "sgguard-role"
AUTH = "Bearer container-auth-token-0123456789"
IMDS_TOKEN = "imds-session-token-abcdefghijklmnop"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sha8(s):
    return hashlib.sha256(s.encode()).hexdigest()[:8]


class StandIn:
    """IMDSv2 and container credentials on one loopback port."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, body, ctype="text/plain"):
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
                outer.hit("PUT " + self.path, self.headers)
                if self.path != "/latest/api/token":
                    return self._send(404, "not found")
                if outer.token_status != 200:
                    return self._send(outer.token_status, "no")
                if self.headers.get("X-aws-ec2-metadata-token-ttl-seconds") != "21600":
                    return self._send(400, "missing ttl")
                self._send(200, IMDS_TOKEN)

            def do_GET(self):
                outer.hit("GET " + self.path, self.headers)
                base = "/latest/meta-data/iam/security-credentials/"
                if self.path.startswith("/latest/"):
                    if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                        return self._send(401, "token required")
                    if self.path == base:
                        return self._send(200, ROLE + "\n")
                    if self.path == base + ROLE:
                        return outer.creds_answer(self)
                    return self._send(404, "not found")
                if self.path == "/creds":
                    if self.headers.get("Authorization") != AUTH:
                        return self._send(403, '{"message":"bad token"}')
                    return outer.creds_answer(self, container=True)
                self._send(404, "not found")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.requests = []
            self.generations = []   # (akid, secret, expiration) per fetch
            self.fail_after = None  # creds answers after this many: 500
            self.token_status = 200
            self.served = 0

    def hit(self, what, headers):
        with self.lock:
            self.requests.append((what, dict(headers)))

    def count(self, prefix):
        with self.lock:
            return sum(1 for r, _ in self.requests if r.startswith(prefix))

    def paths(self):
        with self.lock:
            return [r for r, _ in self.requests]

    def creds_answer(self, h, container=False):
        with self.lock:
            if self.fail_after is not None and self.served >= self.fail_after:
                fail = True
            else:
                fail = False
                gen = self.generations[min(self.served, len(self.generations) - 1)]
                self.served += 1
        if fail:
            return h._send(500, "internal error")
        akid, secret, exp = gen
        doc = {"AccessKeyId": akid, "SecretAccessKey": secret,
               "Token": "FwoGZXIvYXdzE" + "x" * 1200, "Expiration": iso(exp)}
        if not container:
            doc = dict({"Code": "Success", "LastUpdated": iso(exp - 21600),
                        "Type": "AWS-HMAC"}, **doc)
        h._send(200, json.dumps(doc), "application/json")

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


stand = None
home = None
closed_port = None


def base_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_")
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy",
                                 "no_proxy")}
    env["HOME"] = home
    env["NO_PROXY"] = "*"
    # Never the real 169.254.169.254: a closed loopback port by default.
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:%d" % closed_port
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_tool(env, *args, rc=0):
    p = subprocess.run([TOOL] + [str(a) for a in args], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    if rc is not None and p.returncode != rc:
        raise AssertionError("creds-get %s: exit %d, wanted %d\nstdout: %s\nstderr: %s"
                             % (args, p.returncode, rc, p.stdout, p.stderr))
    return p.stdout.splitlines(), p.stderr


def parse(line):
    if line.startswith("error="):
        return {"error": line[len("error="):]}
    m = re.fullmatch(r"source=(.+) akid=(\S+) expires=(\d+) secret_sha256=([0-9a-f]{8})", line)
    assert m, "bad line: %r" % line
    return dict(zip(("source", "akid", "expires", "secret_sha256"), m.groups()))


def write_aws(name, text):
    d = os.path.join(home, ".aws")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def clear_aws():
    shutil.rmtree(os.path.join(home, ".aws"), ignore_errors=True)


def start():
    global stand, home, closed_port
    if not os.access(TOOL, os.X_OK):
        raise RuntimeError("%s not built" % TOOL)
    home = tempfile.mkdtemp(prefix="sgguard-creds-")
    closed_port = harness.free_port()
    stand = StandIn()


def prepare(*gens, fail_after=None):
    stand.reset()
    stand.generations = list(gens)
    stand.fail_after = fail_after
    clear_aws()


def assert_no_secret(text, *secrets):
    for s in secrets:
        assert s not in text, "secret leaked: %r" % text


@case("environment wins over files, container and instance metadata")
def _():
    t = int(time.time())
    prepare(("ASIAIMDS", "imds-secret-0001", t + 3600))
    write_aws("credentials", "[default]\naws_access_key_id = AKIAFILE\n"
              "aws_secret_access_key = file-secret-0001\n")
    env = base_env(AWS_ACCESS_KEY_ID="AKIAENV", AWS_SECRET_ACCESS_KEY="env-secret-0001",
                   AWS_SESSION_TOKEN="env-token-0001",
                   AWS_CONTAINER_CREDENTIALS_FULL_URI=stand.url("/creds"),
                   AWS_CONTAINER_AUTHORIZATION_TOKEN=AUTH,
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    out, err = run_tool(env, t)
    r = parse(out[0])
    assert r == {"source": "environment", "akid": "AKIAENV", "expires": "0",
                 "secret_sha256": sha8("env-secret-0001")}, r
    assert stand.paths() == [], stand.paths()
    assert_no_secret(err, "env-secret-0001", "env-token-0001")


@case("only one of the environment pair is an error naming the other")
def _():
    prepare()
    write_aws("credentials", "[default]\naws_access_key_id = AKIAFILE\n"
              "aws_secret_access_key = file-secret-0001\n")
    out, _ = run_tool(base_env(AWS_ACCESS_KEY_ID="AKIAENV"), rc=1)
    e = parse(out[0])["error"]
    assert "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" in e, e


@case("profile from the shared files (default, AWS_PROFILE, --profile, long token)")
def _():
    t = int(time.time())
    prepare(("ASIAIMDS", "imds-secret-0001", t + 3600))
    token = "IQoJb3JpZ2luX2VjE" + "A" * 1500 + "=="
    write_aws("credentials", "# machine credentials\n[default]\n"
              "aws_access_key_id = AKIADEFAULT\n"
              "aws_secret_access_key = default-secret-01\n"
              "[dev]\naws_access_key_id = AKIADEVCRED\n"
              "aws_secret_access_key = dev-secret-0001\n"
              "aws_session_token = %s\n" % token)
    write_aws("config", "[default]\nregion = us-east-1\n"
              "[profile ops]\nregion = eu-west-1\n"
              "aws_access_key_id = AKIAOPSCONF\n"
              "aws_secret_access_key = ops-secret-0001\n")
    env = base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    r = parse(run_tool(env)[0][0])
    assert r["source"] == "profile default" and r["akid"] == "AKIADEFAULT", r
    out, err = run_tool(dict(env, AWS_PROFILE="dev"))
    r = parse(out[0])
    assert r["source"] == "profile dev" and r["akid"] == "AKIADEVCRED", r
    assert r["secret_sha256"] == sha8("dev-secret-0001"), r
    assert_no_secret(err, "dev-secret-0001", token)
    # The option beats AWS_PROFILE; a [profile NAME] of the config file.
    r = parse(run_tool(dict(env, AWS_PROFILE="dev"), "--profile", "ops")[0][0])
    assert r["source"] == "profile ops" and r["akid"] == "AKIAOPSCONF", r
    # Other file locations.
    os.rename(os.path.join(home, ".aws", "credentials"), os.path.join(home, "creds"))
    r = parse(run_tool(dict(env, AWS_SHARED_CREDENTIALS_FILE="~/creds",
                            AWS_PROFILE="dev"))[0][0])
    assert r["akid"] == "AKIADEVCRED", r
    assert stand.paths() == [], stand.paths()


@case("a named profile that does not exist is an error, not a fall-through")
def _():
    t = int(time.time())
    prepare(("ASIAIMDS", "imds-secret-0001", t + 3600))
    write_aws("credentials", "[default]\naws_access_key_id = AKIADEFAULT\n"
              "aws_secret_access_key = default-secret-01\n")
    env = base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    # The environment is not tried for a profile of the configuration
    # (--profile), and not listed; it is for AWS_PROFILE.
    for args, envx, tried in ((["--profile", "nosuch"], {}, ""),
                              ([], {"AWS_PROFILE": "nosuch"}, "environment: not set; ")):
        out, _ = run_tool(dict(env, **envx), *args, rc=1)
        e = parse(out[0])["error"]
        assert e.startswith("no AWS credentials: %sprofile nosuch: not in " % tried), e
        assert "instance metadata" not in e, e
    assert stand.paths() == [], stand.paths()


CONFIG = """; written by test_creds.py
[aws]
%s
endpoint_url = http://127.0.0.1:%d

[group sg-0123456789abcdef0]
allow = tcp 443 0.0.0.0/0
"""


def write_config(profile_line):
    path = os.path.join(home, "sgguard.ini")
    with open(path, "w") as f:
        f.write(CONFIG % (profile_line, closed_port))
    return path


def run_sgguard(env, *args, timeout=60):
    return subprocess.run([harness.BIN] + list(args), env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


@case("a profile named in the configuration file beats environment keys; AWS_PROFILE does not")
def _():
    t = int(time.time())
    prepare(("ASIAIMDS", "imds-secret-0001", t + 3600))
    write_aws("credentials", "[audit]\naws_access_key_id = AKIAAUDITFILE\n"
              "aws_secret_access_key = audit-secret-0001\n")
    env = base_env(AWS_ACCESS_KEY_ID="AKIAENV", AWS_SECRET_ACCESS_KEY="env-secret-0001",
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    # The provider: --profile is what the daemon passes for [aws] profile.
    r = parse(run_tool(env, "--profile", "audit", t)[0][0])
    assert r["source"] == "profile audit" and r["akid"] == "AKIAAUDITFILE", r
    # Not there: the error lists what was tried, the environment was not.
    out, _ = run_tool(env, "--profile", "nosuch", t, rc=1)
    e = parse(out[0])["error"]
    assert e.startswith("no AWS credentials: profile nosuch: not in "), e
    # AWS_PROFILE is no explicit choice (botocore agrees): the keys win.
    r = parse(run_tool(dict(env, AWS_PROFILE="audit"), t)[0][0])
    assert r["source"] == "environment" and r["akid"] == "AKIAENV", r
    assert stand.paths() == [], stand.paths()

    # The daemon: profile = audit in the file, keys in the environment.
    state = tempfile.mkdtemp(prefix="sgguard-creds-state-")
    try:
        cfg = write_config("profile = audit")
        p = run_sgguard(env, "--once", "-c", cfg, "--state-dir", state)
        assert "credentials: using profile audit (access key AKIAAUDITFILE" \
            in p.stderr, p.stderr
        assert "using environment" not in p.stderr, p.stderr
        # AWS_PROFILE=audit and no profile in the file: still the keys.
        cfg = write_config("")
        p = run_sgguard(dict(env, AWS_PROFILE="audit"), "--once", "-c", cfg,
                        "--state-dir", state)
        assert "credentials: using environment (access key AKIAENV" \
            in p.stderr, p.stderr
        assert_no_secret(p.stderr, "env-secret-0001", "audit-secret-0001")
    finally:
        shutil.rmtree(state, ignore_errors=True)


@case("-t: a profile named in the file that cannot work exits 78 at its line")
def _():
    prepare()
    write_aws("credentials", "[good]\naws_access_key_id = AKIAGOOD\n"
              "aws_secret_access_key = good-secret-0001\n")
    write_aws("config", "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
              "source_profile = good\n"
              "[profile loop1]\nrole_arn = arn:aws:iam::123456789012:role/y\n"
              "source_profile = loop2\n"
              "[profile loop2]\nrole_arn = arn:aws:iam::123456789012:role/y\n"
              "source_profile = loop1\n"
              "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
              "source_profile = good\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n"
              "[profile borrow]\nsource_profile = good\n"
              "[profile proc]\ncredential_process = /nonexistent/get-creds --x\n"
              "[profile runs]\ncredential_process = \"/bin/false\" 'never run by -t'\n")
    env = base_env(AWS_ACCESS_KEY_ID="AKIAENV", AWS_SECRET_ACCESS_KEY="env-secret-0001",
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    aws = os.path.join(home, ".aws")
    for name, why in (
            ("nosuch", "not in %s/credentials or %s/config" % (aws, aws)),
            ("loop1", "%s/config: profile loop2: source_profile loop1: a loop (loop1 -> "
             "loop2 -> loop1)" % aws),
            ("mfa", "%s/config: profile mfa: mfa_serial: the role wants an MFA code at "
             "every refresh, which a daemon cannot type" % aws),
            ("borrow", "%s/config: source_profile without role_arn: no role to "
             "assume" % aws),
            ("proc", "%s/config: credential_process: /nonexistent/get-creds: No such "
             "file or directory" % aws)):
        cfg = write_config("profile = %s" % name)
        p = run_sgguard(env, "-t", "-c", cfg)
        assert p.returncode == 78, (name, p)
        assert p.stdout == "", p.stdout
        lines = p.stderr.strip("\n").split("\n")
        assert len(lines) == 1, p.stderr
        want = "error: %s:3: bad profile \"%s\": %s" % (cfg, name, why)
        assert re.fullmatch(r"sgguard\[\d+\]: " + re.escape(want), lines[0]), \
            (lines[0], want)
    # A credential_process whose program is there passes; -t does not run
    # it (/bin/false would fail).
    p = run_sgguard(env, "-t", "-c", write_config("profile = runs"))
    assert p.returncode == 0 and "with profile runs" in p.stdout, p
    # A role whose source has keys passes; -t does not call STS.
    p = run_sgguard(env, "-t", "-c", write_config("profile = role"))
    assert p.returncode == 0 and "with profile role" in p.stdout, p
    # Where the environment says the files are.
    os.rename(os.path.join(aws, "credentials"), os.path.join(home, "creds"))
    cfg = write_config("profile = good")
    p = run_sgguard(env, "-t", "-c", cfg)
    assert p.returncode == 78 and "bad profile \"good\"" in p.stderr, p
    p = run_sgguard(dict(env, AWS_SHARED_CREDENTIALS_FILE="~/creds"), "-t", "-c", cfg)
    assert p.returncode == 0, p
    assert "with profile good" in p.stdout and p.stderr == "", p
    # No profile in the file: nothing is checked, AWS_PROFILE included.
    cfg = write_config("")
    for extra in ({}, {"AWS_PROFILE": "nosuch"}, {"HOME": None}):
        p = run_sgguard(base_env(**extra),
                        "-t", "-c", cfg)
        assert p.returncode == 0, (extra, p)
    assert_no_secret(p.stdout + p.stderr, "good-secret-0001")
    # -t stays off the network.
    assert stand.paths() == [], stand.paths()


@case("container credentials (full URI, token and token file, checks)")
def _():
    t = int(time.time())
    prepare(("ASIACONTAINER", "container-secret-01", t + 3600))
    env = base_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=stand.url("/creds"),
                   AWS_CONTAINER_AUTHORIZATION_TOKEN=AUTH,
                   AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    out, err = run_tool(env, t)
    r = parse(out[0])
    assert r == {"source": "container", "akid": "ASIACONTAINER",
                 "expires": str(t + 3600),
                 "secret_sha256": sha8("container-secret-01")}, r
    assert stand.paths() == ["GET /creds"], stand.paths()
    assert_no_secret(err, "container-secret-01", AUTH)

    # The token file wins over the variable, trailing newline and all.
    tf = os.path.join(home, "auth-token")
    with open(tf, "w") as f:
        f.write(AUTH + "\n")
    stand.reset()
    stand.generations = [("ASIACONTAINER2", "container-secret-02", t + 3600)]
    out, _ = run_tool(dict(env, AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong",
                           AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tf), t)
    assert parse(out[0])["akid"] == "ASIACONTAINER2", out

    # A wrong token: the container answer is final, no instance fallback.
    stand.reset()
    stand.generations = [("ASIACONTAINER", "container-secret-01", t + 3600)]
    out, err = run_tool(dict(env, AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer nope"),
                        t, rc=1)
    e = parse(out[0])["error"]
    assert "container: %s answered HTTP 403" % stand.url("/creds") in e, e
    assert "instance metadata" not in e, e
    assert stand.paths() == ["GET /creds"], stand.paths()

    # Plain http to a host that is not loopback or an agent: refused unsent.
    stand.reset()
    out, _ = run_tool(dict(env, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.1:%d/creds" % stand.port),
                      t, rc=1)
    assert "plain http is allowed only to loopback" in parse(out[0])["error"], out
    assert stand.paths() == [], stand.paths()


@case("instance metadata: token, then role, then credentials")
def _():
    t = int(time.time())
    prepare(("ASIAIMDS00001", "imds-secret-0001", t + 3600))
    env = base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    out, err = run_tool(env, t)
    r = parse(out[0])
    assert r == {"source": "instance-metadata " + ROLE, "akid": "ASIAIMDS00001",
                 "expires": str(t + 3600),
                 "secret_sha256": sha8("imds-secret-0001")}, r
    assert stand.paths() == [
        "PUT /latest/api/token",
        "GET /latest/meta-data/iam/security-credentials/",
        "GET /latest/meta-data/iam/security-credentials/" + ROLE], stand.paths()
    reqs = stand.requests
    assert reqs[0][1].get("X-aws-ec2-metadata-token-ttl-seconds") == "21600", reqs[0]
    for _, h in reqs[1:]:
        assert h.get("X-aws-ec2-metadata-token") == IMDS_TOKEN, h
    assert_no_secret(err, "imds-secret-0001", IMDS_TOKEN)


@case("instance metadata without IMDSv2 (token PUT 405) gives up, no IMDSv1")
def _():
    t = int(time.time())
    prepare(("ASIAIMDS00001", "imds-secret-0001", t + 3600))
    stand.token_status = 405
    out, _ = run_tool(base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url()), t, rc=1)
    e = parse(out[0])["error"]
    assert "refused an IMDSv2 token (HTTP 405); IMDSv1 is not used" in e, e
    assert stand.paths() == ["PUT /latest/api/token"], stand.paths()


@case("AWS_EC2_METADATA_DISABLED=true skips instance metadata")
def _():
    t = int(time.time())
    prepare(("ASIAIMDS00001", "imds-secret-0001", t + 3600))
    out, _ = run_tool(base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url(),
                               AWS_EC2_METADATA_DISABLED="true"), t, rc=1)
    e = parse(out[0])["error"]
    assert e.endswith("instance metadata: disabled (AWS_EC2_METADATA_DISABLED)"), e
    assert stand.paths() == [], stand.paths()


@case("expiry and refresh: cached, refreshed 10 minutes before expiry")
def _():
    t = int(time.time())
    prepare(("ASIAFIRST0001", "first-secret-0001", t + 3600),
            ("ASIASECOND001", "second-secret-001", t + 7200))
    env = base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    out, err = run_tool(env, t, t + 100, t + 3600 - 600, t + 3600 - 590)
    r = [parse(x) for x in out]
    assert [x["akid"] for x in r] == ["ASIAFIRST0001", "ASIAFIRST0001",
                                      "ASIASECOND001", "ASIASECOND001"], r
    assert r[0]["expires"] == str(t + 3600) and r[2]["expires"] == str(t + 7200), r
    assert r[2]["secret_sha256"] == sha8("second-secret-001"), r
    # T and T+100: one fetch; T+3000: the second.
    assert stand.count("GET /latest/meta-data/iam/security-credentials/" + ROLE) == 2
    assert stand.count("PUT /latest/api/token") == 2
    assert_no_secret(err, "first-secret-0001", "second-secret-001")


@case("short-lived credentials are kept for 3/4 of their life, not fetched at every call")
def _():
    t = int(time.time())
    creds_path = "GET /latest/meta-data/iam/security-credentials/" + ROLE
    # 10 min credentials: the old fixed lead (900 s) fetched at every call.
    times = list(range(t, t + 30)) + [t + 449, t + 450, t + 451, t + 1000]
    for container in (False, True):
        prepare(("ASIASHORT0001", "short-secret-0001", t + 600),
                ("ASIASHORT0002", "short-secret-0002", t + 1200))
        env = base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
        if container:
            env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=stand.url("/creds"),
                       AWS_CONTAINER_AUTHORIZATION_TOKEN=AUTH)
        out, err = run_tool(env, *times)
        # Fetched at T (refresh from T+450), again at T+450 (from T+1013).
        fetches = stand.count("GET /creds" if container else creds_path)
        assert fetches == 2, "container=%s: %d fetches for %d calls" % (
            container, fetches, len(times))
        r = [parse(x) for x in out]
        assert [x["akid"] for x in r] == ["ASIASHORT0001"] * 31 + ["ASIASHORT0002"] * 3, r
        assert_no_secret(err, "short-secret-0001", "short-secret-0002")


@case("a failed refresh keeps the old credentials while they last")
def _():
    t = int(time.time())
    prepare(("ASIAFIRST0001", "first-secret-0001", t + 3600), fail_after=1)
    env = base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=stand.url())
    creds_path = "GET /latest/meta-data/iam/security-credentials/" + ROLE
    out, err = run_tool(env, t, t + 3000, t + 3010, t + 3100, t + 3590, rc=1)
    r = [parse(x) for x in out]
    assert [x.get("akid") for x in r[:4]] == ["ASIAFIRST0001"] * 4, r
    # T+3000 tried and failed; T+3010 within the retry pace: no request;
    # T+3100 tried again; T+3590 (10 s left) tried, failed: an error.
    assert stand.count(creds_path) == 4, stand.paths()
    e = r[4]["error"]
    assert "instance metadata: " in e and "answered HTTP 500" in e, e
    warns = [l for l in err.splitlines() if "refresh failed" in l]
    assert len(warns) == 1, err
    assert "warning" in warns[0] and "still using those from instance-metadata" in warns[0], warns
    assert_no_secret(err, "first-secret-0001")


@case("nothing configured: one error naming every source")
def _():
    prepare()
    out, _ = run_tool(base_env(), rc=1)
    e = parse(out[0])["error"]
    want = ("no AWS credentials: environment: not set; profile default: "
            "%s/.aws/credentials not found, %s/.aws/config not found; "
            "container: not configured; instance metadata: cannot connect at "
            "http://127.0.0.1:%d" % (home, home, closed_port))
    assert e.startswith(want), e
    # Without HOME (systemd DynamicUser=): said so, no crash.
    out, _ = run_tool(base_env(HOME=None), rc=1)
    e = parse(out[0])["error"]
    assert "profile default: HOME not set, no ~/.aws/credentials" in e, e


if __name__ == "__main__":
    try:
        start()
        harness.run()
    finally:
        if stand is not None:
            stand.close()
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
