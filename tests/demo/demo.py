#!/usr/bin/env python3
"""make demo: sgguard doing its job against the bundled local AWS.

What it shows, in about 20 seconds:

  1. a local AWS (moto + a CloudTrail stand-in, IAM enforced) on loopback;
  2. an account: the IAM user sgguard (docs/iam-policy.json, verbatim), an
     SNS topic, a security group "web" with a baseline rule, a user mallory
     who may change security groups, a role NetworkAdmins used by alice;
  3. a configuration watching "web", checked with `sgguard -t`;
  4. sgguard running in the foreground, its log streamed here;
  5. mallory opening SSH to the world (plus an allowed HTTPS rule, in the
     same call) and alice, a network admin, opening 8080 to 10.0.0.0/8;
  6. sgguard revoking only the SSH rule and publishing AUTO-MITIGATED;
  7. a clean stop (SIGTERM, exit 0).

Everything runs on 127.0.0.1 in a temporary directory that is removed at
the end; every process started here is stopped, also on Ctrl-C or error.
Exit status: 0 when every expected step happened, 1 otherwise.

Environment: SGGUARD_BIN (default build/sgguard), NO_COLOR.
"""
import ctypes
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("SGGUARD_BIN") or os.path.join(ROOT, "build", "sgguard")
POLICY = os.path.join(ROOT, "docs", "iam-policy.json")
LOCALAWS = os.path.join(ROOT, "tests", "localaws", "localaws.py")
REGION = "us-east-1"
POLL = 5                    # sgguard's poll_interval (its minimum)
REVERT_WAIT = 30            # seconds to wait for sgguard to act
START_WAIT = 30             # seconds for localaws / sgguard to come up

# Variables that must not reach this script's boto3, localaws or sgguard:
# the developer's real AWS profile, keys, endpoints, CA bundle and proxies.
SCRUB_PREFIXES = ("AWS_", "MOTO_", "BOTO_")
SCRUB_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy",
               "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
               "JOURNAL_STREAM", "STATE_DIRECTORY", "NOTIFY_SOCKET",
               "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
               "SSL_CERT_DIR", "TEST_SERVER_MODE"}
# Passed on to sgguard when set (sanitizer builds under `make check`).
PASS_TO_SGGUARD = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LANG", "LC_ALL", "TZ")


class DemoError(Exception):
    """An expected step did not happen; the message says which."""


class Stopped(Exception):
    """SIGTERM/SIGHUP to the demo."""


# --- output ------------------------------------------------------------------

COLOR = (sys.stdout.isatty() and os.environ.get("TERM", "dumb") != "dumb"
         and "NO_COLOR" not in os.environ)
_out = threading.Lock()


def paint(code, text):
    return "\033[%sm%s\033[0m" % (code, text) if COLOR else text


def say(text=""):
    with _out:                  # one write per line: never half a line
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def step(text):
    say(paint("1;34", "==> ") + paint("1", text))


def info(text):
    say("    " + text)


def block(lines, prefix="    | "):
    for ln in lines:
        say(prefix + ln)


# --- processes ---------------------------------------------------------------

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """In the child: get SIGTERM should the demo itself be killed -9."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM, 0, 0, 0)      # PR_SET_PDEATHSIG


def spawn(args, **kw):
    """A child in its own session (Ctrl-C reaches only the demo, which then
    stops the child in order), killed with the demo at the latest."""
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=_die_with_parent, **kw)


def status_text(rc):
    if rc is not None and rc < 0:
        return "killed by %s" % signal.Signals(-rc).name
    return "exit %s" % rc


def terminate(proc, timeout=5.0):
    """SIGTERM, wait, SIGKILL if need be. Returns (exit status, seconds)."""
    t = time.monotonic()
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    return proc.returncode, time.monotonic() - t


class LineReader:
    """Reads a child's output lines in a thread, keeps them, optionally echoes."""

    def __init__(self, stream, echo_prefix=None):
        self.lines = []
        self.cond = threading.Condition()
        self.prefix = echo_prefix
        self.echo = True
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
            if self.prefix is not None and self.echo:
                say(paint("2", self.prefix) + line)
        stream.close()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pattern, timeout, proc=None):
        """The first line matching pattern; None after timeout or child exit."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ln in self.lines:
                    if rx.search(ln):
                        return ln
                left = deadline - time.monotonic()
                if left <= 0 or (proc is not None and proc.poll() is not None
                                 and not self.thread.is_alive()):
                    return None
                self.cond.wait(min(left, 0.2))

    def matching(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return [ln for ln in self.lines if rx.search(ln)]


def free_port():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- rules -------------------------------------------------------------------

def rule_text(r):
    """A rule of DescribeSecurityGroupRules in sgguard's PROTO PORTS SOURCE form."""
    proto = {"-1": "all"}.get(r["IpProtocol"], r["IpProtocol"])
    lo, hi = r.get("FromPort"), r.get("ToPort")
    if proto == "all" or lo in (None, -1):
        ports = "any"
    else:
        ports = str(lo) if lo == hi else "%s-%s" % (lo, hi)
    src = (r.get("CidrIpv4") or r.get("CidrIpv6") or r.get("PrefixListId")
           or r.get("ReferencedGroupInfo", {}).get("GroupId") or "?")
    return "%s %s %s" % (proto, ports, src)


def ingress_rules(ec2, group):
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    return {rule_text(r) for r in rules if not r["IsEgress"]}


def tcp(port, cidr):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": cidr}]}


def tcp6(port, cidr):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "Ipv6Ranges": [{"CidrIpv6": cidr}]}


# --- the demo ----------------------------------------------------------------

class Demo:
    def __init__(self):
        self.tmp = None
        self.aws_proc = None
        self.guard = None
        self.guard_log = None
        self.aws_stderr = None

    # Everything that must go, whatever happened.
    def cleanup(self):
        if self.guard is not None and self.guard.poll() is None:
            rc, _ = terminate(self.guard)
            info("stopped sgguard (pid %d, %s)" % (self.guard.pid, status_text(rc)))
        if self.aws_proc is not None and self.aws_proc.poll() is None:
            rc, _ = terminate(self.aws_proc)
            info("stopped the local AWS (pid %d, %s)" % (self.aws_proc.pid, status_text(rc)))
        if self.aws_stderr is not None:
            self.aws_stderr.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def aws_tail(self):
        """The last lines localaws wrote on stderr (for error messages)."""
        try:
            with open(os.path.join(self.tmp, "localaws.log"), errors="replace") as f:
                return "".join(f.readlines()[-15:])
        except OSError:
            return ""

    # 1. -----------------------------------------------------------------
    def start_localaws(self):
        port = free_port()
        step("starting the local AWS on 127.0.0.1:%d "
             "(moto + a CloudTrail stand-in, IAM policies enforced)" % port)
        self.aws_stderr = open(os.path.join(self.tmp, "localaws.log"), "wb")
        self.aws_proc = spawn([sys.executable, LOCALAWS, "--port", str(port),
                               "--host", "127.0.0.1", "--auth"],
                              cwd=self.tmp, stdout=subprocess.PIPE,
                              stderr=self.aws_stderr)
        fd = self.aws_proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + START_WAIT
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.aws_proc.poll() is not None:
                raise DemoError("the local AWS did not come up within %d s (%s); "
                                "its last lines:\n%s"
                                % (START_WAIT, "still starting" if self.aws_proc.poll() is None
                                   else status_text(self.aws_proc.returncode),
                                   self.aws_tail()))
            r, _, _ = select.select([fd], [], [], min(left, 0.5))
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:               # stdout closed: it is on its way out
                    time.sleep(0.1)
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode(errors="replace")
        if line != "READY %d" % port:
            raise DemoError("the local AWS said %r instead of READY %d" % (line, port))
        # Keep its stdout drained so it never blocks on a full pipe.
        LineReader(self.aws_proc.stdout)
        info("ready (pid %d)" % self.aws_proc.pid)
        sys.path.insert(0, os.path.join(ROOT, "tests", "localaws"))
        import client as localaws  # noqa: E402 - after the environment is clean
        self.aws = localaws.LocalAWS(self.aws_proc, "127.0.0.1", port)

    # 2. -----------------------------------------------------------------
    def create_account(self):
        aws = self.aws
        step("creating the account (as its root user)")
        with open(POLICY) as f:
            policy = json.load(f)
        self.sgguard_user = aws.create_user("sgguard", policy)
        actions = []
        for st in policy["Statement"]:
            a = st["Action"]
            actions += a if isinstance(a, list) else [a]
        info("IAM user sgguard        policy docs/iam-policy.json: %d actions (%s)"
             % (len(actions), ", ".join(actions)))
        info("                        its access key %s is sgguard's credential"
             % self.sgguard_user["access_key_id"])
        self.topic = aws.client("sns").create_topic(Name="sgguard-alerts")["TopicArn"]
        info("SNS topic               %s" % self.topic)
        ec2 = aws.client("ec2")
        vpcs = ec2.describe_vpcs()["Vpcs"]
        vpc = next((v for v in vpcs if v.get("IsDefault")), vpcs[0])["VpcId"]
        self.group = ec2.create_security_group(
            GroupName="web", Description="web servers, watched by sgguard",
            VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=self.group,
                                             IpPermissions=[tcp(443, "0.0.0.0/0")])
        info("security group web      %s in %s, baseline rule tcp 443 0.0.0.0/0"
             % (self.group, vpc))
        self.mallory = aws.create_user("mallory", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroupRules"]}]})
        info("IAM user mallory        may add security-group rules (not trusted by sgguard)")
        role = aws.create_role("NetworkAdmins", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Resource": "*", "Action": "ec2:*"}]})
        self.admin_role = role["Arn"]
        self.alice = aws.assume_role(self.admin_role, "alice")
        info("IAM role NetworkAdmins  %s, assumed as session alice" % self.admin_role)
        self.ec2 = ec2

    # 3. -----------------------------------------------------------------
    def write_config(self):
        self.config = os.path.join(self.tmp, "sgguard.ini")
        self.state = os.path.join(self.tmp, "state")
        text = """\
[sgguard]
mode = enforce
poll_interval = %d

[aws]
region = %s
endpoint_url = %s

[notify]
topic_arn = %s

[group %s]
allow = tcp 443 0.0.0.0/0
allow = tcp 443 ::/0
allow_principal = %s
""" % (POLL, REGION, self.aws.endpoint, self.topic, self.group, self.admin_role)
        with open(self.config, "w") as f:
            f.write(text)
        step("configuration %s" % self.config)
        block(text.rstrip("\n").split("\n"))

    def guard_env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": os.path.join(self.tmp, "home"),
               "AWS_ACCESS_KEY_ID": self.sgguard_user["access_key_id"],
               "AWS_SECRET_ACCESS_KEY": self.sgguard_user["secret_access_key"],
               "AWS_EC2_METADATA_DISABLED": "true"}
        for k in PASS_TO_SGGUARD:
            if k in os.environ:
                env[k] = os.environ[k]
        return env

    def check_config(self):
        step("sgguard -t -c %s   (validates the file, no network)" % self.config)
        try:
            r = subprocess.run([BIN, "-t", "-c", self.config], env=self.guard_env(),
                               stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=10)
        except subprocess.TimeoutExpired:
            raise DemoError("sgguard -t did not finish within 10 s") from None
        block((r.stdout + r.stderr).rstrip("\n").split("\n"))
        if r.returncode != 0:
            raise DemoError("sgguard -t exited %d: the configuration was refused"
                            % r.returncode)

    # 4. -----------------------------------------------------------------
    def start_guard(self):
        step("starting sgguard in the foreground as the IAM user sgguard "
             "(state in %s)" % self.state)
        t0 = time.time()
        self.guard = spawn([BIN, "-c", self.config, "--state-dir", self.state],
                           env=self.guard_env(), cwd=self.tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        info("pid %d; its log follows, prefixed with \"sgguard |\"" % self.guard.pid)
        self.guard_log = LineReader(self.guard.stdout, echo_prefix="  sgguard | ")
        if self.guard_log.wait_for(r"sgguard \S+ started", START_WAIT, self.guard) is None:
            raise DemoError("sgguard did not log \"started\" within %d s (%s); its log is above"
                            % (START_WAIT, "still running" if self.guard.poll() is None
                               else status_text(self.guard.returncode)))
        # Let its first poll finish, so the next one (POLL s later) is the
        # one that sees the changes below and "before" is really before.
        key = self.sgguard_user["access_key_id"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.guard.poll() is not None:
                raise DemoError("sgguard ended (%s) right after starting"
                                % status_text(self.guard.returncode))
            done = [q for q in self.aws.requests(service="cloudtrail", since=t0)
                    if q["access_key_id"] == key and q["status"]]
            if done:
                break
            time.sleep(0.1)
        else:
            raise DemoError("sgguard made no CloudTrail LookupEvents call within 15 s")
        time.sleep(0.3)     # its first cycle handles what it found

    # 5. -----------------------------------------------------------------
    def make_changes(self):
        self.t_change = time.time()
        step("mallory adds tcp 22 0.0.0.0/0 (SSH from anywhere) and "
             "tcp 443 ::/0, in one call")
        self.aws.client("ec2", creds=self.mallory).authorize_security_group_ingress(
            GroupId=self.group, IpPermissions=[tcp(22, "0.0.0.0/0"), tcp6(443, "::/0")])
        step("alice (role NetworkAdmins) adds tcp 8080 10.0.0.0/8")
        self.aws.client("ec2", creds=self.alice).authorize_security_group_ingress(
            GroupId=self.group, IpPermissions=[tcp(8080, "10.0.0.0/8")])
        self.before = ingress_rules(self.ec2, self.group)

    # 6. -----------------------------------------------------------------
    def wait_for_guard(self):
        step("waiting for sgguard's next poll (every %d s; at most %d s)"
             % (POLL, REVERT_WAIT))
        t = time.monotonic()
        g = re.escape(self.group)
        reverted = self.guard_log.wait_for(r"reverted \d+ rules? on %s" % g,
                                           REVERT_WAIT, self.guard)
        if reverted is None:
            raise DemoError("sgguard did not revert the SSH rule within %d s "
                            "(sgguard %s); its log is above"
                            % (REVERT_WAIT, "running" if self.guard.poll() is None
                               else status_text(self.guard.returncode)))
        took = time.monotonic() - t
        left = max(1.0, REVERT_WAIT - took)
        authorized = self.guard_log.wait_for(
            r"on %s .*assumed-role/NetworkAdmins/alice is authorized" % g,
            left, self.guard)
        published = self.guard_log.wait_for(r"notification published", left, self.guard)
        deadline = time.monotonic() + 10
        while True:
            self.messages = [m for m in self.aws.sns_messages(topic=self.topic)
                             if self.group in m["subject"]]
            if self.messages or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.after = ingress_rules(self.ec2, self.group)
        self.guard_log.echo = False         # the rest is shown in sections
        info("sgguard acted %.1f s after the changes" % (time.monotonic() - t))

        self.show_rules()
        step("what sgguard logged about the two changes")
        for ln in [reverted] + ([authorized] if authorized else []):
            say("  sgguard | " + ln)
        self.show_messages()
        calls = self.show_calls()

        # The verdict.
        problems = []
        bad = [q for q in calls if q["status"] != 200]
        if bad:
            problems.append("%d of sgguard's AWS calls failed (%s)" % (
                len(bad), ", ".join("%s %s" % (q["action"], q["error_code"] or q["status"])
                                    for q in bad[:3])))
        if authorized is None:
            problems.append("no \"is authorized\" log line for alice's change")
        if published is None:
            problems.append("no \"notification published\" log line")
        if "tcp 22 0.0.0.0/0" in self.after:
            problems.append("the SSH rule is still there")
        for keep in ("tcp 443 0.0.0.0/0", "tcp 443 ::/0", "tcp 8080 10.0.0.0/8"):
            if keep not in self.after:
                problems.append("the allowed rule %s is gone" % keep)
        want_subject = "[sgguard] AUTO-MITIGATED %s (%s)" % (self.group, REGION)
        if len(self.messages) != 1:
            problems.append("%d notifications instead of 1" % len(self.messages))
        elif self.messages[0]["subject"] != want_subject:
            problems.append("subject %r instead of %r"
                            % (self.messages[0]["subject"], want_subject))
        else:
            body = self.messages[0]["message"].split("\n")
            for want in ("revoked: tcp 22 0.0.0.0/0", "kept: tcp 443 ::/0",
                         "principal: %s" % self.mallory["arn"]):
                if want not in body:
                    problems.append("the notification lacks %r" % want)
        if problems:
            raise DemoError("; ".join(problems))

    def show_rules(self):
        step("rules of web (%s): before sgguard's poll -> after" % self.group)
        why = {
            "tcp 443 0.0.0.0/0": "baseline, matches allow = tcp 443 0.0.0.0/0",
            "tcp 22 0.0.0.0/0": "mallory, no allow pattern covers it",
            "tcp 443 ::/0": "mallory, matches allow = tcp 443 ::/0",
            "tcp 8080 10.0.0.0/8": "alice, role NetworkAdmins is an allow_principal",
        }
        order = list(why) + sorted((self.before | self.after) - set(why))
        width = max(len(r) for r in order)
        for r in order:
            b = "present" if r in self.before else "-"
            if r in self.after:
                a = paint("32", "kept   ") if r in self.before else "added  "
            else:
                a = paint("1;31", "REVOKED") if r in self.before else "-      "
            info("%-*s  %-7s -> %s  %s" % (width, r, b, a, why.get(r, "")))

    def show_messages(self):
        step("SNS notification%s published to %s (localaws's record of Publish)"
             % ("" if len(self.messages) == 1 else "s", self.topic))
        if not self.messages:
            info("(none)")
        for m in self.messages:
            info("Subject: " + paint("1", m["subject"]))
            block(m["message"].rstrip("\n").split("\n"))

    def show_calls(self):
        """What sgguard asked AWS for since it started (localaws's request log)."""
        key = self.sgguard_user["access_key_id"]
        calls = [q for q in self.aws.requests() if q["access_key_id"] == key]
        count = {}
        for q in calls:
            name = "%s:%s" % (q["service"], q["action"])
            count[name] = count.get(name, 0) + 1
        ok = sum(1 for q in calls if q["status"] == 200)
        step("sgguard's calls to AWS so far (localaws's request log)")
        info("%s; %d of %d answered 200" % (
            ", ".join("%s x%d" % kv for kv in sorted(count.items())), ok, len(calls)))
        return calls

    # 7. -----------------------------------------------------------------
    def stop_all(self):
        step("stopping sgguard with SIGTERM")
        self.guard_log.echo = True
        rc, took = terminate(self.guard)
        self.guard_log.thread.join(2)
        info("sgguard: %s after %.2f s" % (status_text(rc), took))
        if rc != 0:
            raise DemoError("sgguard ended with %s on SIGTERM instead of exit 0"
                            % status_text(rc))
        if took > 5:
            raise DemoError("sgguard took %.1f s to stop on SIGTERM" % took)
        step("stopping the local AWS")
        rc, took = terminate(self.aws_proc)
        info("localaws: %s after %.2f s" % (status_text(rc), took))
        if rc != 0:
            raise DemoError("the local AWS ended with %s instead of exit 0:\n%s"
                            % (status_text(rc), self.aws_tail()))

    def run(self):
        t0 = time.monotonic()
        say(paint("1", "sgguard demo") + ": a security-group change nobody approved, "
            "reverted; all local, nothing is sent anywhere.")
        if not os.access(BIN, os.X_OK):
            raise DemoError("%s is not an executable; run `make` first (or set SGGUARD_BIN)"
                            % BIN)
        self.tmp = tempfile.mkdtemp(prefix="sgguard-demo-")
        os.makedirs(os.path.join(self.tmp, "home"))
        os.environ["HOME"] = os.path.join(self.tmp, "home")
        info("binary %s; temporary files in %s" % (BIN, self.tmp))
        self.start_localaws()
        self.create_account()
        self.write_config()
        self.check_config()
        self.start_guard()
        self.make_changes()
        self.wait_for_guard()
        self.stop_all()
        took = time.monotonic() - t0
        say()
        say(paint("1;32", "Demo complete") + " in %.0f s. What you saw:" % took)
        info("- sgguard read CloudTrail's record of mallory's call and revoked exactly")
        info("  the rule no `allow` pattern covers (tcp 22 0.0.0.0/0); tcp 443 ::/0 from")
        info("  the same call stayed;")
        info("- alice's change stayed: her role is an allow_principal;")
        info("- one AUTO-MITIGATED message went to the SNS topic;")
        info("- sgguard needed only the actions of docs/iam-policy.json, and")
        info("  it stopped cleanly on SIGTERM.")
        info("Next: README.md (install, IAM, systemd), `make check` (the test suite),")
        info("man sgguard and man sgguard.ini (docs/sgguard.8, docs/sgguard.ini.5),")
        info("etc/sgguard.ini (an annotated configuration).")


def scrub_environment():
    for k in list(os.environ):
        if k.startswith(SCRUB_PREFIXES) or k in SCRUB_NAMES:
            del os.environ[k]
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"


def main():
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    scrub_environment()

    def on_signal(signum, frame):
        raise Stopped(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    demo = Demo()
    rc = 1
    try:
        demo.run()
        rc = 0
    except DemoError as e:
        say(paint("1;31", "demo FAILED: ") + str(e))
    except KeyboardInterrupt:
        say(paint("1;31", "demo interrupted (Ctrl-C)") + "; cleaning up")
    except Stopped as e:
        say(paint("1;31", "demo stopped by %s" % e) + "; cleaning up")
    except Exception as e:  # noqa: BLE001 - one clear line, then the details
        say(paint("1;31", "demo FAILED: ") + "%s: %s" % (type(e).__name__, e))
        import traceback
        traceback.print_exc()
    finally:
        # Cleanup is bounded (a few seconds); do not let a second Ctrl-C cut it.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        demo.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
