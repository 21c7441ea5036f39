#!/usr/bin/env python3
"""Crash safety: SIGKILL at random moments while events flow, restart, and
at the end nothing is lost.

How it works. A background thread acts as mallory: at random times it opens
unauthorized ports (sometimes several in one call, sometimes mixed with an
authorized rule) on the watched groups. The main loop runs the real binary
again and again and kills it with SIGKILL at a moment chosen to cover every
phase of a cycle:

  random        no fault; a uniformly random moment over a typical run
                (start-up, LookupEvents, revoke, commit, publish, commit);
  poll          LookupEvents slowed down (localaws `delay`): kill mid-poll;
  revoke        RevokeSecurityGroupIngress slowed down: kill mid-revoke;
  after-revoke  the revoke happened but its answer hangs (`hang`, `when:
                after`): kill between the revoke and the state commit;
  after-publish the Publish happened but its answer hangs: kill between the
                Publish and the state commit;
  daemon        the daemon (poll_interval 5) killed after 0.3..8 s, so also
                while it sleeps or in its second cycle.

Each run is --once (or the daemon) on the same state directory, so each
start is a restart after a crash. After every kill state.json must still
be readable (it is replaced atomically: temp file, fsync, rename, fsync of
the directory). Runs are grouped in rounds of ROUND kills; at the end of a
round the faults go, mallory stops, the guard runs until quiet, and:

  * every unauthorized rule mallory added is gone;
  * every event acted on has a notification: MISSING must be 0;
  * DUPLICATE notifications are counted and each one must be explained.

Why a duplicate can happen, and why the window is minimal. Notifications
are queued in the state together with the handled EventId (one atomic
commit per event), and published after the cycle's reverts. For each
pending notification, publish_pending() calls SNS Publish and, as soon as
the answer says it was accepted, removes it from the state and commits at
once (not at the end of the cycle). A process killed after SNS accepted the
message but before that rename landed restarts with the notification still
pending and publishes it again. Nothing can close that window without
losing messages instead (committing before the Publish would drop the
message if the Publish then failed and the process died), since a standard
SNS topic has no deduplication (and FIFO topics are refused). The window
is one HTTP answer plus one state write: the test measures it on runs that
were not killed (SNS accept -> state.json renamed) and reports it. A
duplicate counts as explained when some kill left state.json with that
event's notification still pending although SNS already had it; any other
duplicate is a violation.

A revert killed between the revoke and its commit is redone on restart;
the rule is then already gone, which counts as reverted: one notification,
no duplicate.

Usage: test_crash.py                     TAP, >= 50 kills (make check)
       test_crash.py --runs N --stress   N kills, figures, "N passed, N failed"
"""
import argparse
import collections
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "localaws"))
import client as localaws  # noqa: E402

REGION = localaws.REGION
ROUND = 25                              # kills per round
GROUPS = 3                              # watched groups per round
MALLORY = {"access_key_id": "AKIACRASHMALLORY0001",
           "secret_access_key": "crash-mallory-secret-0123456789abcdef"}
SAN_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "==ERROR")
MODES = ["random", "random", "random", "poll", "revoke", "after-revoke",
         "after-publish", "daemon"]


def tcp(port, cidr="0.0.0.0/0"):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": cidr}]}


def authorized(port):
    return port in range(8000, 9000)


class World:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.aws = localaws.start()
        self.aws.config(throttle_rps=0)
        self.aws.register_key(type="IAMUser", name="mallory", **MALLORY)
        self.topic = self.aws.client("sns").create_topic(Name="sgguard-crash")["TopicArn"]
        self.vpc = self.aws.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
        self.ec2 = self.aws.client("ec2")
        self.mallory = self.aws.client("ec2", creds=MALLORY)
        self.port = 1000
        self.allowed_port = 8000
        self.lock = threading.Lock()
        self.n = 0

    def next_port(self):
        with self.lock:
            self.port += 1
            if self.port in range(8000, 9000):
                self.port = 9000
            return self.port

    def next_allowed_port(self):
        """A port for an authorized rule, never the same twice: a duplicate
        fails the whole call on AWS, but moto keeps the rules of that call
        it added before the duplicate (an unauthorized rule that no
        successful call added, which sgguard rightly never sees)."""
        with self.lock:
            self.allowed_port += 1
            if self.allowed_port >= 9000:
                self.allowed_port = 8001
            return self.allowed_port


class Mallory(threading.Thread):
    """Opens ports at random times until stopped."""

    def __init__(self, world, groups):
        super().__init__(daemon=True)
        self.w, self.groups = world, groups
        self.stop_ev = threading.Event()
        self.calls = 0
        self.errors = []
        self.client = world.aws.client("ec2", creds=MALLORY)
        self.rng = random.Random(world.rng.random())

    def add_once(self):
        g = self.rng.choice(self.groups)
        perms = [tcp(self.w.next_port()) for _ in range(self.rng.choice((1, 1, 1, 2, 3)))]
        if self.rng.random() < 0.3:
            perms.append(tcp(self.w.next_allowed_port(), "10.0.0.0/8"))
        try:
            self.client.authorize_security_group_ingress(GroupId=g, IpPermissions=perms)
            self.calls += 1
        except Exception as e:  # noqa: BLE001 - a duplicate 8xxx rule, say
            self.errors.append(str(e))

    def run(self):
        while not self.stop_ev.wait(self.rng.uniform(0.05, 0.8)):
            self.add_once()

    def stop(self):
        self.stop_ev.set()
        self.join(10)


class Round:
    def __init__(self, world, bin_path, log):
        self.w = world
        self.bin = bin_path
        self.log = log
        self.dir = tempfile.mkdtemp(prefix="sgguard-crash-")
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "sgguard.ini")
        world.aws.clear_faults()
        world.aws.reset_events()
        world.aws.admin("POST", "reset-sns-messages", {})
        self.groups = []
        for _ in range(GROUPS):
            world.n += 1
            self.groups.append(world.ec2.create_security_group(
                GroupName="crash-%d-%d" % (os.getpid(), world.n), Description="crash test",
                VpcId=world.vpc)["GroupId"])
        with open(self.config, "w") as f:
            f.write("[sgguard]\npoll_interval = 5\nlookback = 900\n"
                    "[aws]\nregion = %s\nendpoint_url = %s\n[notify]\ntopic_arn = %s\n"
                    % (REGION, world.aws.endpoint, world.topic))
            for g in self.groups:
                f.write("[group %s]\nallow = tcp 8000-8999 10.0.0.0/8\n" % g)
        self.kills = collections.Counter()       # mode -> kills
        self.completed = 0                       # runs that ended before the kill
        self.at_risk = collections.Counter()     # event id -> kills after publish
        self.window_kills = collections.Counter()  # mode -> kills in that window
        self.marked = collections.Counter()      # event id -> SNS count when marked
        self.violations = []
        self.windows = []                        # ms, publish -> commit
        self.durations = []                      # s, unkilled --once runs

    def env(self):
        e = {"PATH": os.environ["PATH"], "HOME": self.dir, "SGGUARD_TEST_FAST": "1",
             "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "*"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        return e

    def spawn(self, daemon=False):
        args = [self.bin, "-c", self.config, "--state-dir", self.state]
        if not daemon:
            args.append("--once")
        errf = tempfile.TemporaryFile(mode="w+")
        p = harness.spawn(args, stdout=subprocess.DEVNULL, stderr=errf, env=self.env())
        p.errf = errf
        return p

    def output(self, p):
        p.errf.seek(0)
        return p.errf.read()

    def published_ids(self):
        ids = collections.Counter()
        for m in self.w.aws.sns_messages(topic=self.w.topic):
            if not any(g in m["subject"] for g in self.groups):
                continue
            # More than ten messages a minute for one group fold into a
            # DIGEST whose "event: ID ACTION PRINCIPAL" lines name them.
            if " DIGEST " in m["subject"]:
                for ev in re.findall(r"^event: (\S+) ", m["message"], re.M):
                    ids[ev] += 1
                continue
            mm = re.search(r"^event_id: (\S+)$", m["message"], re.M)
            if mm:
                ids[mm.group(1)] += 1
        return ids

    def read_state(self):
        path = os.path.join(self.state, "state.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            text = f.read()
        try:
            st = json.loads(text)
            assert st.get("version") == 1 and isinstance(st.get("pending"), list)
            return st
        except (ValueError, AssertionError):
            self.violations.append("state.json unreadable after a kill: %r" % text[:200])
            return None

    def after_kill(self, p, mode):
        rc = p.wait(10)
        out = self.output(p)
        for m in SAN_MARKERS:
            if m in out:
                self.violations.append("sanitizer report in a %s run:\n%s" % (mode, out))
        if os.path.isdir(self.state) and any(
                n.startswith("state.json.corrupt") for n in os.listdir(self.state)):
            self.violations.append("a state file was moved aside as corrupt after a kill")
        st = self.read_state()
        if st is not None:
            # A notification still pending although SNS has it: the next
            # run publishes it again (the duplicate window).
            pub = self.published_ids()
            # Counted once per message SNS has: a later kill before the
            # re-publish finds the same one still pending.
            for pnd in st["pending"]:
                ev = pnd["event_id"]
                if ev.startswith("digest-item:"):     # digest-item:R/G:ID
                    ev = ev.rsplit(":", 1)[1]
                if pub[ev] > self.marked[ev]:
                    self.marked[ev] = pub[ev]
                    self.at_risk[ev] += 1
                    self.window_kills[mode] += 1
        return rc, out

    def wait_for(self, p, cond, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and p.poll() is None:
            if cond():
                return True
            time.sleep(0.005)
        return False

    def kill(self, p, mode):
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        rc, out = self.after_kill(p, mode)
        if rc == -signal.SIGKILL:
            self.kills[mode] += 1
            return True
        if rc not in (0, 1):
            self.violations.append("a %s run ended with %r:\n%s" % (mode, rc, out))
        self.completed += 1
        if mode != "daemon" and rc == 0:
            self.note_window()
        return False

    def note_window(self):
        """On a run that was not killed: the time from SNS accepting the
        last message to state.json being renamed after it."""
        msgs = self.w.aws.sns_messages(topic=self.w.topic)
        path = os.path.join(self.state, "state.json")
        if msgs and os.path.exists(path):
            d = os.stat(path).st_mtime - msgs[-1]["time"]
            if 0 <= d < 1.0:
                self.windows.append(d * 1000)

    def typical(self):
        return statistics.median(self.durations) if self.durations else 0.5

    def one(self, mode):
        """One run killed in mode; returns True if it was killed."""
        aws = self.w.aws
        rng = self.w.rng
        # Always something to do, on top of mallory's random changes.
        self.w.mallory.authorize_security_group_ingress(
            GroupId=rng.choice(self.groups), IpPermissions=[tcp(self.w.next_port())])
        aws.clear_faults()
        if mode == "random":
            t = time.monotonic()
            p = self.spawn()
            delay = rng.uniform(0, 1.2 * self.typical())
            try:
                p.wait(delay)
                self.durations.append(time.monotonic() - t)
            except subprocess.TimeoutExpired:
                pass
            return self.kill(p, mode)
        if mode == "poll":
            aws.fault(service="cloudtrail", action="LookupEvents", mode="delay",
                      seconds=0.4, count=1)
            p = self.spawn()
            time.sleep(rng.uniform(0.02, 0.45))
            return self.kill(p, mode)
        if mode == "revoke":
            aws.fault(service="ec2", action="RevokeSecurityGroupIngress", mode="delay",
                      seconds=0.3, count=-1)
            t = time.time()
            p = self.spawn()
            self.wait_for(p, lambda: aws.requests(service="cloudtrail", since=t), 3)
            time.sleep(rng.uniform(0, 0.35))
            return self.kill(p, mode)
        if mode == "after-revoke":
            aws.fault(service="ec2", action="RevokeSecurityGroupIngress", mode="hang",
                      when="after", seconds=4, count=1)
            t = time.time()
            p = self.spawn()
            self.wait_for(p, lambda: aws.requests(service="ec2",
                                                  action="RevokeSecurityGroupIngress",
                                                  since=t), 1.8)
            return self.kill(p, mode)
        if mode == "after-publish":
            aws.fault(service="sns", action="Publish", mode="hang", when="after",
                      seconds=4, count=1)
            t = time.time()
            p = self.spawn()
            self.wait_for(p, lambda: aws.sns_messages(topic=self.w.topic, since=t), 1.8)
            return self.kill(p, mode)
        if mode == "daemon":
            p = self.spawn(daemon=True)
            time.sleep(rng.uniform(0.3, 8.0))
            return self.kill(p, mode)
        raise AssertionError(mode)

    def settle(self):
        """Faults gone, mallory stopped: run until there is nothing left."""
        self.w.aws.clear_faults()
        for _ in range(4):
            path = os.path.join(self.state, "state.json")
            if os.path.exists(path):
                st = self.read_state()
                if st and st["pending"]:
                    for pnd in st["pending"]:
                        pnd["next_attempt"] = 0      # as time would
                    with open(path, "w") as f:
                        json.dump(st, f)
            p = self.spawn()
            rc = p.wait(120)
            out = self.output(p)
            if rc not in (0, 1) or any(m in out for m in SAN_MARKERS):
                self.violations.append("settling run: exit %r\n%s" % (rc, out))
            st = self.read_state()
            if rc == 0 and st is not None and not st["pending"]:
                break

    def measure_window(self, n):
        """Unkilled runs with one new event each: SNS accept -> commit."""
        for _ in range(n):
            self.w.mallory.authorize_security_group_ingress(
                GroupId=self.groups[0], IpPermissions=[tcp(self.w.next_port())])
            p = self.spawn()
            if p.wait(60) == 0:
                self.note_window()
            self.output(p)

    def verify(self):
        """Returns (acted, missing, duplicates, unexplained)."""
        aws = self.w.aws
        left = []
        for g in self.groups:
            for r in self.w.ec2.describe_security_group_rules(
                    Filters=[{"Name": "group-id", "Values": [g]}])["SecurityGroupRules"]:
                if r["IsEgress"]:
                    continue
                if not (authorized(r.get("FromPort", -1)) and r.get("CidrIpv4") == "10.0.0.0/8"):
                    left.append("%s tcp %s %s" % (g, r.get("FromPort"), r.get("CidrIpv4")))
        if left:
            self.violations.append("unauthorized rules left open: %s" % left)
        # Events that needed acting on: mallory's successful calls adding
        # at least one unauthorized rule to a watched group.
        acted = []
        for e in aws.events():
            rec = e["record"] or {}
            if (rec.get("eventName") != "AuthorizeSecurityGroupIngress" or rec.get("errorCode")
                    or (rec.get("userIdentity") or {}).get("userName") != "mallory"):
                continue
            rp = rec.get("requestParameters") or {}
            if rp.get("groupId") not in self.groups:
                continue
            items = (rp.get("ipPermissions") or {}).get("items") or []
            if any(not authorized(i.get("fromPort", -1)) for i in items):
                acted.append(rec["eventID"])
        pub = self.published_ids()
        missing = [ev for ev in acted if pub[ev] == 0]
        dups = {ev: pub[ev] - 1 for ev in acted if pub[ev] > 1}
        unexplained = {ev: n for ev, n in dups.items() if n > self.at_risk[ev]}
        if missing:
            self.violations.append("%d event(s) acted on without a notification: %s"
                                   % (len(missing), missing))
        if unexplained:
            self.violations.append("duplicates outside the publish->commit window: %s"
                                   % unexplained)
        extra = set(pub) - set(acted)
        if extra:
            self.violations.append("notifications for events not acted on: %s" % extra)
        return len(acted), len(missing), sum(dups.values()), len(unexplained)


def run_round(world, kills_wanted, log):
    r = Round(world, harness.BIN, log)
    m = Mallory(world, r.groups)
    world.mallory = world.aws.client("ec2", creds=MALLORY)
    m.start()
    t = time.monotonic()
    attempts = 0
    try:
        while sum(r.kills.values()) < kills_wanted and attempts < kills_wanted * 3:
            attempts += 1
            r.one(world.rng.choice(MODES))
    finally:
        m.stop()
    r.settle()
    r.measure_window(4)
    acted, missing, dups, unexplained = r.verify()
    r.took = time.monotonic() - t
    r.figures = dict(kills=sum(r.kills.values()), by_mode=dict(r.kills), completed=r.completed,
                     acted=acted, missing=missing, duplicates=dups,
                     explained_windows=sum(r.at_risk.values()), unexplained=unexplained,
                     window_kills=dict(r.window_kills),
                     mallory_calls=m.calls)
    return r


def report(rounds):
    kills = sum(r.figures["kills"] for r in rounds)
    by_mode = collections.Counter()
    for r in rounds:
        by_mode.update(r.figures["by_mode"])
    windows = [w for r in rounds for w in r.windows]
    lines = [
        "kill runs: %d (%s); runs that ended before the kill: %d" % (
            kills, ", ".join("%s %d" % kv for kv in sorted(by_mode.items())),
            sum(r.figures["completed"] for r in rounds)),
        "events acted on: %d; notifications missing: %d; duplicates: %d "
        "(kills inside the publish->commit window: %d; unexplained duplicates: %d)" % (
            sum(r.figures["acted"] for r in rounds), sum(r.figures["missing"] for r in rounds),
            sum(r.figures["duplicates"] for r in rounds),
            sum(r.figures["explained_windows"] for r in rounds),
            sum(r.figures["unexplained"] for r in rounds)),
    ]
    if windows:
        lines.append("publish->commit window on unkilled runs: median %.1f ms, max %.1f ms "
                     "(%d samples)" % (statistics.median(windows), max(windows), len(windows)))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50, help="kill runs in all")
    ap.add_argument("--stress", action="store_true",
                    help="per-round figures and a closing 'N passed, N failed' line")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    world = World(seed)
    nrounds = max(1, -(-a.runs // ROUND))
    rounds = []
    cases = []
    left = a.runs
    for i in range(nrounds):
        want = min(ROUND, left)
        left -= want

        def case(i=i, want=want):
            r = run_round(world, want, None)
            rounds.append(r)
            f = r.figures
            print("# round %d: %d kills %s, %d completed, %d events acted on, %d missing, "
                  "%d duplicates (%d explained; kills in the window by mode: %s), %.0f s" % (
                      i + 1, f["kills"], f["by_mode"], f["completed"], f["acted"],
                      f["missing"], f["duplicates"], f["duplicates"] - f["unexplained"],
                      f["window_kills"], r.took), flush=True)
            if f["kills"] < want:
                r.violations.append("only %d kills of %d wanted" % (f["kills"], want))
            assert not r.violations, "\n".join(r.violations)
        cases.append(("round %d: %d kill -9 runs, nothing lost (seed %d)" % (i + 1, want, seed),
                      case))
    if not a.stress:
        import atexit

        def summary():
            for ln in report(rounds):
                print("# " + ln)
        atexit.register(summary)
        harness.run(cases)
        return
    failed_runs = 0
    for name, fn in cases:
        try:
            fn()
        except AssertionError as e:
            failed_runs += rounds[-1].figures["kills"] if rounds else ROUND
            print("# VIOLATION in %s:\n# %s" % (name, str(e).replace("\n", "\n# ")), flush=True)
    for ln in report(rounds):
        print(ln)
    total = sum(r.figures["kills"] for r in rounds)
    print("%d passed, %d failed" % (total - failed_runs, failed_runs))
    harness._stop_all()
    sys.exit(1 if failed_runs else 0)


if __name__ == "__main__":
    main()
