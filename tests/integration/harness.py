"""Tiny TAP harness for sgguard's integration tests.

Every test is a function decorated with @case; run() executes them in order
and prints TAP, which tests/run-tests counts. Processes started with spawn()
are always stopped, whatever happens. Network use is loopback only.
"""
import atexit
import os
import signal
import socket
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SGGUARD_BUILD", os.path.join(ROOT, "build"))
BIN = os.environ.get("SGGUARD_BIN", os.path.join(BUILD, "sgguard"))
TOOLS = os.environ.get("SGGUARD_TOOLS", os.path.join(BUILD, "tools"))
SHARED = os.environ.get("SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))

_cases = []
_procs = []


class Skip(Exception):
    pass


def case(name):
    def deco(fn):
        _cases.append((name, fn))
        return fn
    return deco


def skip(reason):
    raise Skip(reason)


def shared_path(*parts):
    """Path under ../shared, or a Skip saying clearly that it is absent."""
    p = os.path.join(SHARED, *parts)
    if not os.path.exists(p):
        skip("shared data absent: %s not found (set SHARED_DIR)" % p)
    return p


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=20.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on %s:%d after %.0fs" % (host, port, timeout))


def spawn(args, **kw):
    """Start a process in its own group; it is killed at exit at the latest."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(args, start_new_session=True, **kw)
    _procs.append(p)
    return p


def stop(p, timeout=5.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def _stop_all():
    for p in _procs:
        stop(p, 2.0)


atexit.register(_stop_all)


def run(cases=None):
    todo = cases or _cases
    print("1..%d" % len(todo), flush=True)
    failed = 0
    for i, (name, fn) in enumerate(todo, 1):
        try:
            fn()
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, name, e), flush=True)
        except Exception:  # noqa: BLE001 - report every failure as TAP
            failed += 1
            print("not ok %d - %s" % (i, name), flush=True)
            for line in traceback.format_exc().splitlines():
                print("# " + line, flush=True)
        else:
            print("ok %d - %s" % (i, name), flush=True)
    _stop_all()
    sys.exit(1 if failed else 0)
