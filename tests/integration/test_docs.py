#!/usr/bin/env python3
"""The documentation and the install tree, checked against the code.

The man pages must render without a warning and document every option
the binary prints in --help and every configuration key config.c accepts;
the journal catalog must explain every MESSAGE_ID of include/log.h (and
nothing else); the CloudFormation template must pass cfn-lint and grant
what docs/iam-policy.json grants; `make install` must lay out the expected
tree, keep a changed configuration, and `make uninstall` remove the rest.

make runs against the tree that is already built (harness.BUILD, with -o so
that nothing is rebuilt), never against the developer's system.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

import harness
from harness import case

ROOT = harness.ROOT
MAN8 = os.path.join(ROOT, "docs", "sgguard.8")
MAN5 = os.path.join(ROOT, "docs", "sgguard.ini.5")
CATALOG = os.path.join(ROOT, "systemd", "sgguard.catalog")
CFN = os.path.join(ROOT, "docs", "cloudformation.yaml")
POLICY = os.path.join(ROOT, "docs", "iam-policy.json")
CONFIG_C = os.path.join(ROOT, "src", "config.c")
LOG_H = os.path.join(ROOT, "include", "log.h")
UNIT = os.path.join(ROOT, "systemd", "sgguard.service")

# What the contract says the command line is, word for word.
CONTRACT_SYNOPSIS = ("sgguard [-c FILE] [--once] [--dry-run] [--state-dir DIR] "
                     "[--log-level LEVEL] [-t|--check-config] [-V|--version] "
                     "[-h|--help]")

# Sanitizer settings pass through; nothing else of the caller's environment
# (AWS_*, a real profile, proxies) may reach the binary.
PASS_ENV = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LANG", "LC_ALL")


def clean_env(**extra):
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update(extra)
    return env


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def need(tool):
    if shutil.which(tool) is None:
        harness.skip("%s is not installed" % tool)


def render(page, width=100):
    """A man page as plain text: no bold, no underline, no SGR."""
    need("groff")
    r = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", "-rLL=%dn" % width, page],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def section(text, name):
    """The body of a top-level section (NAME ... up to the next one)."""
    m = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]*[A-Z]\n|\Z)" % re.escape(name), text,
                  re.M | re.S)
    assert m, "no section %s" % name
    return m.group(1)


def words(s):
    return " ".join(s.split())


def run_bin(args, **kw):
    return subprocess.run([harness.BIN, *args], capture_output=True, text=True,
                          timeout=60, env=clean_env(), **kw)


# --- man pages ------------------------------------------------------------

@case("both man pages render without a single groff warning (-ww)")
def groff_clean():
    need("groff")
    for page in (MAN8, MAN5):
        for width in ("", "-rLL=65n", "-rLL=120n"):
            args = ["groff", "-man", "-Tutf8", "-ww", "-z"] + ([width] if width else []) + [page]
            r = subprocess.run(args, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0 and r.stderr == "", (args, r.stderr)


@case("both man pages are clean under mandoc -T lint")
def mandoc_clean():
    need("mandoc")
    for page in (MAN8, MAN5):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "all", page],
                           capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip()
        assert out == "", out


@case("sgguard.8 has every section the project promises, in man(7) order")
def man8_sections():
    text = render(MAN8)
    want = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SIGNALS",
            "FILES", "ENVIRONMENT", "LOGGING", "NOTIFICATIONS", "HOW THE CURSOR MOVES",
            "CREDENTIALS", "IAM", "SECURITY", "EXAMPLES", "SEE ALSO"]
    have = re.findall(r"^([A-Z][A-Z ]*[A-Z])$", text, re.M)
    have = [h for h in have if h in want]
    assert have == want, have
    exits = section(text, "EXIT STATUS")
    for code in ("0", "1", "64", "78"):
        assert re.search(r"^\s+%s\s" % code, exits, re.M), "exit status %s" % code
    sigs = section(text, "SIGNALS")
    for sig in ("SIGTERM", "SIGINT", "SIGHUP"):
        assert sig in sigs, sig


@case("the SYNOPSIS is the contract's command line, and --help's")
def synopsis():
    text = render(MAN8)
    assert words(section(text, "SYNOPSIS")) == CONTRACT_SYNOPSIS, section(text, "SYNOPSIS")
    r = run_bin(["--help"])
    assert r.returncode == 0, r.stderr
    usage = r.stdout.split("\n\n")[0]
    assert words(usage) == "usage: " + CONTRACT_SYNOPSIS, usage


@case("every option of sgguard --help is documented under OPTIONS in sgguard.8")
def options_documented():
    r = run_bin(["--help"])
    assert r.returncode == 0, r.stderr
    opts = set()
    for line in r.stdout.splitlines():
        if re.match(r"\s+-", line):        # an option line, not a continuation
            opts.update(re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z-]*)", line))
    assert len(opts) >= 10, opts          # -c --config ... -h --help
    body = section(render(MAN8), "OPTIONS")
    tags = set(re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z-]*)", body))
    missing = sorted(opts - tags)
    assert not missing, "not in OPTIONS of sgguard.8: %s" % missing


def keys_from_source():
    """{section: {key}} from config_keys[] in src/config.c."""
    src = read(CONFIG_C)
    m = re.search(r"config_keys\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "config_keys[] not found in src/config.c: update this test"
    keys = {}
    for sec, key in re.findall(r"\{\s*SEC_([A-Z]+)\s*,\s*\"([^\"]+)\"", m.group(1)):
        keys.setdefault(sec.lower(), set()).add(key)
    n = sum(len(v) for v in keys.values())
    decl = re.search(r"#define\s+CONFIG_NKEYS\s+(\d+)", src)
    if decl:
        assert n == int(decl.group(1)), "read %d keys, CONFIG_NKEYS is %s" % (n, decl.group(1))
    assert n >= 10, keys
    return keys


# Sections whose header carries an argument, as a valid example of each.
SECTION_HEADERS = {
    "group": "[group sg-12345678]",
    "groups": "[groups tag:Probe=yes]",
    "account": "[account probe]",
}


def keys_from_binary(sections):
    """{section: {key}} as the binary names them for an unknown key."""
    out = {}
    d = tempfile.mkdtemp(prefix="sgguard-docs-")
    try:
        for sec in sections:
            header = SECTION_HEADERS.get(sec, "[%s]" % sec)
            path = os.path.join(d, "probe.ini")
            with open(path, "w") as f:
                f.write("%s\nzz_probe_key = 1\n" % header)
            r = run_bin(["-t", "-c", path])
            assert r.returncode == 78, r
            m = re.search(r"known keys are (.*)$", r.stderr.strip())
            assert m, "probing [%s] (header %s): %s\nA new kind of section header? " \
                "Add it to SECTION_HEADERS." % (sec, header, r.stderr)
            out[sec] = set(k.strip() for k in m.group(1).split(","))
    finally:
        shutil.rmtree(d)
    return out


def keys_from_man5():
    """{section: {key}} from SECTIONS AND KEYS of sgguard.ini.5."""
    body = section(render(MAN5), "SECTIONS AND KEYS")
    keys, cur = {}, None
    for line in body.splitlines():
        m = re.match(r"^   \[(\w+)(?:\s[^\]]*)?\]\s*$", line)
        if m:
            cur = m.group(1)
            keys[cur] = set()
            continue
        m = re.match(r"^       ([a-z][a-z0-9_]*) = ", line)
        if m and cur:
            keys[cur].add(m.group(1))
    return keys


@case("every key config.c accepts is documented in its section of sgguard.ini.5, and no other")
def keys_documented():
    src = keys_from_source()
    # The source table and the binary must agree, or this test reads the
    # wrong thing (or the binary is older than src/config.c: rebuild).
    binary = keys_from_binary(src.keys())
    assert binary == src, "src/config.c and %s disagree (stale build?):\n%s\n%s" % (
        harness.BIN, sorted((k, sorted(v)) for k, v in src.items()),
        sorted((k, sorted(v)) for k, v in binary.items()))
    doc = keys_from_man5()
    assert set(doc) >= set(src), "sections config.c accepts that SECTIONS AND KEYS of " \
        "sgguard.ini.5 lacks: %s" % sorted(set(src) - set(doc))
    assert set(doc) <= set(src), "sections documented in sgguard.ini.5 that config.c " \
        "does not accept: %s" % sorted(set(doc) - set(src))
    for sec in src:
        missing = sorted(src[sec] - doc[sec])
        extra = sorted(doc[sec] - src[sec])
        assert not missing, "[%s] keys not documented in sgguard.ini.5: %s" % (sec, missing)
        assert not extra, "[%s] keys documented but not accepted: %s" % (sec, extra)


@case("the example of sgguard.ini.5 and etc/sgguard.ini pass sgguard -t")
def examples_valid():
    text = render(MAN5, width=200)
    body = section(text, "EXAMPLE")
    lines = [ln[7:] if ln.startswith("       ") else ln for ln in body.splitlines()]
    d = tempfile.mkdtemp(prefix="sgguard-docs-")
    try:
        path = os.path.join(d, "example.ini")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        for cfg in (path, os.path.join(ROOT, "etc", "sgguard.ini")):
            r = run_bin(["-t", "-c", cfg])
            assert r.returncode == 0, (cfg, r.stdout, r.stderr)
            assert r.stdout.startswith("configuration OK: "), r.stdout
        r = run_bin(["-t", "-c", path])
        assert "groups: 2 in 2 regions" in r.stdout, r.stdout
    finally:
        shutil.rmtree(d)


# --- journal catalog --------------------------------------------------------

def msgids():
    ids = dict(re.findall(r"#define\s+SG_MSGID_(\w+)\s+\"([0-9a-f]{32})\"", read(LOG_H)))
    assert len(ids) >= 10, ids
    return ids


def catalog_entries():
    entries = {}
    for block in re.split(r"^(?=-- )", read(CATALOG), flags=re.M):
        m = re.match(r"-- ([0-9a-f]{32})\n", block)
        if not m:
            assert not block.startswith("--"), "bad header: %r" % block[:60]
            continue
        assert m.group(1) not in entries, "duplicate entry %s" % m.group(1)
        entries[m.group(1)] = block
    return entries


@case("every SG_MSGID_* of include/log.h has a catalog entry, and every entry a MESSAGE_ID")
def catalog_complete():
    ids = msgids()
    entries = catalog_entries()
    missing = sorted("%s %s" % (n, i) for n, i in ids.items() if i not in entries)
    extra = sorted(set(entries) - set(ids.values()))
    assert not missing, "no catalog entry for %s" % missing
    assert not extra, "catalog entries for unknown ids %s" % extra
    for i, block in entries.items():
        head, _, text = block.partition("\n\n")
        fields = dict(ln.split(": ", 1) for ln in head.splitlines()[1:])
        assert set(fields) >= {"Subject", "Defined-By", "Support", "Documentation"}, (i, fields)
        assert fields["Defined-By"] == "sgguard", (i, fields)
        assert "man:sgguard" in fields["Documentation"], (i, fields)
        assert len(text.split()) >= 20, "entry %s says too little" % i
    # The man page lists them too.
    man = section(render(MAN8), "LOGGING")
    missing = sorted(n for n, i in ids.items() if i not in man)
    assert not missing, "MESSAGE_IDs not in LOGGING of sgguard.8: %s" % missing


@case("journalctl accepts the catalog (update-catalog in a scratch root)")
def catalog_journalctl():
    need("journalctl")
    d = tempfile.mkdtemp(prefix="sgguard-catalog-")
    try:
        cat = os.path.join(d, "usr", "lib", "systemd", "catalog")
        os.makedirs(cat)
        shutil.copy(CATALOG, cat)
        r = subprocess.run(["journalctl", "--root=" + d, "--update-catalog"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
        r = subprocess.run(["journalctl", "--root=" + d, "--list-catalog"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        listed = set(re.findall(r"^([0-9a-f]{32}) sgguard: ", r.stdout, re.M))
        assert listed == set(msgids().values()), r.stdout
    finally:
        shutil.rmtree(d)


# --- CloudFormation ---------------------------------------------------------

@case("cfn-lint finds nothing in docs/cloudformation.yaml")
def cfn_lint():
    if shutil.which("cfn-lint") is None:
        harness.skip("cfn-lint is not installed (pip install cfn-lint)")
    r = subprocess.run(["cfn-lint", "--", CFN], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", r.stdout + r.stderr


@case("the template grants exactly the actions of docs/iam-policy.json, narrowed")
def cfn_matches_policy():
    with open(POLICY) as f:
        policy = json.load(f)
    want = set()
    for st in policy["Statement"]:
        acts = st["Action"]
        want.update([acts] if isinstance(acts, str) else acts)
    text = read(CFN)
    granted = set(re.findall(r"^\s+Action: ([a-z0-9]+:[A-Za-z]+)\s*$", text, re.M))
    granted.discard("sts:AssumeRole")       # the trust policy, not the grant
    assert granted == want, (granted, want)
    assert "security-group/*" in text and "${AWS::Partition}" in text
    assert re.search(r"Action: sns:Publish\s+Resource: !Ref AlertTopic", text)
    for out in ("TopicArn", "RoleArn", "InstanceProfileName", "InstanceProfileArn"):
        assert re.search(r"^  %s:" % out, text, re.M), out
    assert re.search(r"^  HasAlertEmail:", text, re.M)


# --- make install / uninstall ----------------------------------------------

def make(target, destdir):
    """make TARGET into DESTDIR with the already-built tree, rebuilding nothing."""
    need("make")
    build = os.path.abspath(harness.BUILD)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    r = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "BUILD=" + build,
                        "-o", build + "/sgguard", "DESTDIR=" + destdir, "PREFIX=/usr",
                        target], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, "make %s:\n%s%s" % (target, r.stdout, r.stderr)
    return r.stdout + r.stderr


def pkg_var(var, default):
    try:
        r = subprocess.run(["pkg-config", "--variable=" + var, "systemd"],
                           capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return default
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else default


def files_under(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def expected_tree():
    unitdir = pkg_var("systemdsystemunitdir", "/lib/systemd/system").lstrip("/")
    catalogdir = pkg_var("catalogdir", "/usr/lib/systemd/catalog").lstrip("/")
    return {
        "usr/sbin/sgguard": 0o755,
        unitdir + "/sgguard.service": 0o644,
        "etc/sgguard.ini": None,    # see install_tree
        "usr/share/man/man8/sgguard.8": 0o644,
        "usr/share/man/man5/sgguard.ini.5": 0o644,
        catalogdir + "/sgguard.catalog": 0o644,
        "usr/share/doc/sgguard/README.md": 0o644,
        "usr/share/doc/sgguard/iam-policy.json": 0o644,
        "usr/share/doc/sgguard/cloudformation.yaml": 0o644,
        "usr/share/doc/sgguard/sgguard.ini.example": 0o644,
    }, unitdir


def need_unit():
    if not os.path.exists(UNIT):
        harness.skip("systemd/sgguard.service does not exist yet: make install needs it")


@case("make install DESTDIR=... PREFIX=/usr lays out the expected tree")
def install_tree():
    need_unit()
    d = tempfile.mkdtemp(prefix="sgguard-install-")
    try:
        make("install", d)
        want, unitdir = expected_tree()
        have = files_under(d)
        assert have == set(want), "missing %s, unexpected %s" % (
            sorted(set(want) - have), sorted(have - set(want)))
        for rel, mode in want.items():
            got = stat.S_IMODE(os.stat(os.path.join(d, rel)).st_mode)
            if mode is None:
                # Its read bits are the unit's business (tests/systemd);
                # nobody but root may change it, nobody run it.
                assert got & 0o133 == 0, "%s: mode %o" % (rel, got)
            else:
                assert got == mode, "%s: mode %o, want %o" % (rel, got, mode)
        unit = read(os.path.join(d, unitdir, "sgguard.service"))
        assert "@sbindir@" not in unit and "@sysconfdir@" not in unit, unit
        assert re.search(r"^ExecStart=/usr/sbin/sgguard\b", unit, re.M), unit
        assert "/etc/sgguard.ini" in unit
        for rel, src in (("usr/share/man/man8/sgguard.8", MAN8),
                         ("usr/share/man/man5/sgguard.ini.5", MAN5),
                         ("etc/sgguard.ini", os.path.join(ROOT, "etc", "sgguard.ini"))):
            assert read(os.path.join(d, rel)) == read(src), rel
        r = subprocess.run([os.path.join(d, "usr/sbin/sgguard"), "--version"],
                           capture_output=True, text=True, timeout=30, env=clean_env())
        assert r.returncode == 0 and r.stdout.startswith("sgguard "), r
    finally:
        shutil.rmtree(d)


@case("a second make install keeps a changed etc/sgguard.ini; uninstall removes all but it")
def install_again_uninstall():
    need_unit()
    d = tempfile.mkdtemp(prefix="sgguard-install-")
    try:
        make("install", d)
        conf = os.path.join(d, "etc", "sgguard.ini")
        with open(conf, "a") as f:
            f.write("\n; changed by the operator\n")
        mine = read(conf)
        out = make("install", d)
        assert read(conf) == mine, "install overwrote the configuration"
        assert "keeping existing" in out, out
        want, _ = expected_tree()
        assert files_under(d) == set(want), files_under(d)
        make("uninstall", d)
        left = files_under(d)
        assert left == {"etc/sgguard.ini"}, "left after uninstall: %s" % sorted(left)
        assert read(conf) == mine
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    harness.run()
