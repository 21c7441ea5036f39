#!/usr/bin/env python3
# sgguard-test: once
"""The documentation and the install tree, checked against the code.

The man pages must render without a warning and document every option
the binary prints in --help and every configuration key config.c accepts;
the journal catalog must explain every MESSAGE_ID of include/log.h (and
nothing else); the CloudFormation templates must pass cfn-lint and grant
what the policy files grant (docs/iam-policy.json always, the restore and
accounts policies only under the parameters that enable them), narrowed;
`make install` must lay out the expected tree, keep a changed
configuration, and `make uninstall` remove the rest.

make runs against the tree that is already built (harness.BUILD, with -o so
that nothing is rebuilt), never against the developer's system.
"""
import glob
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
CFN_TARGET = os.path.join(ROOT, "docs", "cloudformation-target-account.yaml")
POLICY = os.path.join(ROOT, "docs", "iam-policy.json")
POLICY_RESTORE = os.path.join(ROOT, "docs", "iam-policy-restore.json")
POLICY_ACCOUNTS = os.path.join(ROOT, "docs", "iam-policy-accounts.json")
README = os.path.join(ROOT, "README.md")
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
            "BASELINES AND DRIFT", "EGRESS", "MODIFIED RULES", "RESTORE", "GROUPS BY TAG",
            "ACCOUNTS", "CREDENTIALS", "IAM", "SECURITY", "EXAMPLES", "SEE ALSO"]
    have = re.findall(r"^([A-Z][A-Z ]*[A-Z])$", text, re.M)
    have = [h for h in have if h in want]
    assert have == want, have
    exits = section(text, "EXIT STATUS")
    for code in ("0", "1", "64", "78"):
        assert re.search(r"^\s+%s\s" % code, exits, re.M), "exit status %s" % code
    sigs = section(text, "SIGNALS")
    for sig in ("SIGTERM", "SIGINT", "SIGHUP"):
        assert sig in sigs, sig


# Every subject a notification can have (src/notify.c, src/digest.c).
SUBJECTS = ("AUTO-MITIGATED", "DRY-RUN", "FAILED", "ATTRIBUTED", "CREATED", "DELETED",
            "DIGEST")


@case("sgguard.8 documents every notification subject, the state files and the drift target")
def man8_issue6():
    text = render(MAN8)
    notes = words(section(text, "NOTIFICATIONS"))
    for subject in SUBJECTS:
        assert re.search(r"PREFIX %s GROUP \(REGION\)" % re.escape(subject), notes), subject
    for line in ("restored:", "would_restore:", "note:", "event: "):
        assert line in notes, line
    files = section(text, "FILES")
    for name in ("state.json", "baselines.json"):
        assert name in files, name
    drift = words(section(text, "BASELINES AND DRIFT"))
    assert "drift_interval + 2 seconds" in drift, drift
    for word in ("ATTRIBUTED", "allow_principal", "lookback", "DescribeSecurityGroupRules"):
        assert word in drift, word
    for sec, word in (("EGRESS", "allow_egress"), ("RESTORE", "restore = yes"),
                      ("MODIFIED RULES", "ModifySecurityGroupRules"),
                      ("GROUPS BY TAG", "DescribeSecurityGroups"),
                      ("ACCOUNTS", "AssumeRole")):
        assert word in words(section(text, sec)), (sec, word)


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


# How SECTIONS AND KEYS of sgguard.ini.5 heads each kind of section.
MAN5_HEADERS = {
    "sgguard": "[sgguard]",
    "aws": "[aws]",
    "notify": "[notify]",
    "group": "[group ID]",
    "groups": "[groups tag:KEY=VALUE]",
    "account": "[account NAME]",
}


def keys_from_man5():
    """{section: {key}} from SECTIONS AND KEYS of sgguard.ini.5."""
    body = section(render(MAN5), "SECTIONS AND KEYS")
    keys, cur = {}, None
    for line in body.splitlines():
        m = re.match(r"^   (\[(\w+)(?:\s[^\]]*)?\])\s*$", line)
        if m:
            cur = m.group(2)
            assert MAN5_HEADERS.get(cur) == m.group(1), \
                "subsection %r of SECTIONS AND KEYS: write it as %r" % (
                    m.group(1), MAN5_HEADERS.get(cur, "a known section"))
            assert cur not in keys, "two subsections for [%s]" % cur
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
    assert set(src) <= set(MAN5_HEADERS), "a new kind of section: add its header to " \
        "MAN5_HEADERS: %s" % sorted(set(src) - set(MAN5_HEADERS))
    for sec in src:
        missing = sorted(src[sec] - doc[sec])
        extra = sorted(doc[sec] - src[sec])
        assert not missing, "[%s] keys not documented in sgguard.ini.5: %s" % (sec, missing)
        assert not extra, "[%s] keys documented but not accepted: %s" % (sec, extra)


def example_keys(lines):
    """{section: {key}} of an INI text, keys set or commented out (;key = ...)."""
    keys, cur = {}, None
    for line in lines:
        m = re.match(r"^\[(\w+)(?:\s[^\]]*)?\]", line)
        if m:
            cur = m.group(1)
            keys.setdefault(cur, set())
            continue
        m = re.match(r"^;?\s*([a-z][a-z0-9_]*)\s*=", line)
        if m and cur:
            keys[cur].add(m.group(1))
    return keys


@case("the example of sgguard.ini.5 and etc/sgguard.ini pass sgguard -t; the example has all keys")
def examples_valid():
    text = render(MAN5, width=200)
    body = section(text, "EXAMPLE")
    lines = [ln[7:] if ln.startswith("       ") else ln for ln in body.splitlines()]
    # Every section kind and every key, in its section, set or commented out.
    src = keys_from_source()
    have = example_keys(lines)
    for sec in src:
        assert sec in have, "the EXAMPLE of sgguard.ini.5 has no [%s ...] section" % sec
        missing = sorted(src[sec] - have[sec])
        assert not missing, "[%s] keys not in the EXAMPLE of sgguard.ini.5: %s" % (sec, missing)
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
        assert "groups by tag: 1 section" in r.stdout, r.stdout
        assert re.search(r"^account \w+: role arn:", r.stdout, re.M), r.stdout
        assert re.search(r"^drift: ", r.stdout, re.M), r.stdout
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


# --- CloudFormation and the policy files ------------------------------------

TEMPLATES = sorted(glob.glob(os.path.join(ROOT, "docs", "*.yaml")))


@case("cfn-lint finds nothing in any template of docs/")
def cfn_lint():
    if shutil.which("cfn-lint") is None:
        harness.skip("cfn-lint is not installed (pip install cfn-lint)")
    assert CFN in TEMPLATES and CFN_TARGET in TEMPLATES, TEMPLATES
    for path in TEMPLATES:
        r = subprocess.run(["cfn-lint", "--", path], capture_output=True, text=True,
                           timeout=300)
        out = (r.stdout + r.stderr).strip()
        assert r.returncode == 0 and out == "", "%s:\n%s" % (path, out)


def load_template(path):
    """A template as plain data: !Ref X -> {"Ref": X}, !Sub/!If/... -> {"Fn::...": ...}."""
    try:
        import yaml
    except ImportError:
        harness.skip("PyYAML is not installed (python3-yaml)")

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {"Ref" if suffix == "Ref" else "Fn::" + suffix: value}

    Loader.add_multi_constructor("!", tagged)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader)


def as_set(v):
    return {v} if isinstance(v, str) else set(v)


def policy_actions(path):
    with open(path) as f:
        policy = json.load(f)
    acts = set()
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow" and "NotAction" not in st, (path, st)
        acts |= as_set(st["Action"])
    return policy, acts


NO_VALUE = {"Ref": "AWS::NoValue"}
# Actions without resource-level permissions: "*" is the only choice.
STAR_OK = {"cloudtrail:LookupEvents", "ec2:DescribeSecurityGroupRules",
           "ec2:DescribeSecurityGroups"}


def grants(tpl, role):
    """{condition or None: {action}} of the inline policies of a role, and
    the statements, each checked for narrowed resources."""
    res = tpl["Resources"][role]
    assert res["Type"] == "AWS::IAM::Role", res
    out, stmts = {}, []
    for pol in res["Properties"]["Policies"]:
        for st in pol["PolicyDocument"]["Statement"]:
            cond = None
            if isinstance(st, dict) and set(st) == {"Fn::If"}:
                cond, st, other = st["Fn::If"]
                assert other == NO_VALUE, "an optional statement is there or not: %r" % other
                assert cond in tpl["Conditions"], cond
            assert st["Effect"] == "Allow", st
            assert not {"NotAction", "NotResource"} & set(st), st
            acts = as_set(st["Action"])
            out.setdefault(cond, set()).update(acts)
            stmts.append((cond, st))
            resource = st["Resource"]
            if resource == "*":
                assert acts <= STAR_OK, "%s on \"*\": narrow it" % sorted(acts - STAR_OK)
            elif acts & {"sns:Publish", "sts:AssumeRole"}:
                assert len(acts) == 1 and isinstance(resource, dict) and "Ref" in resource, st
            else:
                assert all(a.startswith("ec2:") for a in acts), st
                assert isinstance(resource, list) and resource, st
                for r in resource:
                    arn = r.get("Fn::Sub") if isinstance(r, dict) else None
                    assert isinstance(arn, str), "%r: write it with !Sub" % r
                    assert arn.startswith("arn:${AWS::Partition}:ec2:") and \
                        re.search(r":\$\{AWS::AccountId\}:security-group(-rule)?/\*$", arn), arn
    return out, stmts


def parameter_default(tpl, name, default, allowed=None):
    p = tpl["Parameters"][name]
    assert p.get("Default") == default, (name, p)
    if allowed is not None:
        assert sorted(p.get("AllowedValues", [])) == sorted(allowed), (name, p)


@case("cloudformation.yaml grants docs/iam-policy.json, restore only with EnableRestore, "
      "sts:AssumeRole only with TargetRoleArns, all narrowed")
def cfn_matches_policy():
    tpl = load_template(CFN)
    _, base = policy_actions(POLICY)
    _, restore = policy_actions(POLICY_RESTORE)
    _, accounts = policy_actions(POLICY_ACCOUNTS)
    assert restore == {"ec2:AuthorizeSecurityGroupIngress",
                       "ec2:AuthorizeSecurityGroupEgress"}, restore
    assert accounts == {"sts:AssumeRole"}, accounts
    assert not (base & (restore | accounts)), base
    got, stmts = grants(tpl, "GuardRole")
    assert set(got) == {None, "RestoreEnabled", "HasTargetRoles"}, got
    assert got[None] == base, (got[None], base)
    assert got["RestoreEnabled"] == restore, got
    assert got["HasTargetRoles"] == accounts, got
    # Both optional parts are off unless a parameter turns them on.
    conds = tpl["Conditions"]
    parameter_default(tpl, "EnableRestore", "false", ["false", "true"])
    assert conds["RestoreEnabled"] == {"Fn::Equals": [{"Ref": "EnableRestore"}, "true"]}, conds
    parameter_default(tpl, "TargetRoleArns", "")
    assert tpl["Parameters"]["TargetRoleArns"]["Type"] == "CommaDelimitedList"
    assert conds["HasTargetRoles"] == {"Fn::Not": [{"Fn::Equals": [
        {"Fn::Join": ["", {"Ref": "TargetRoleArns"}]}, ""]}]}, conds
    for cond, st in stmts:
        if "sns:Publish" in as_set(st["Action"]):
            assert st["Resource"] == {"Ref": "AlertTopic"}, st
        if "sts:AssumeRole" in as_set(st["Action"]):
            assert st["Resource"] == {"Ref": "TargetRoleArns"}, st
    # Only EC2 may assume the guard's role.
    role = tpl["Resources"]["GuardRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                      "Action": "sts:AssumeRole"}], trust
    for out in ("TopicArn", "RoleArn", "InstanceProfileName", "InstanceProfileArn"):
        assert out in tpl["Outputs"], out
    assert "HasAlertEmail" in conds


@case("cloudformation-target-account.yaml: the role sgguard trusting the guard (ExternalId "
      "optional) with docs/iam-policy.json minus sns:Publish, restore only with EnableRestore")
def cfn_target_matches_policy():
    tpl = load_template(CFN_TARGET)
    _, base = policy_actions(POLICY)
    _, restore = policy_actions(POLICY_RESTORE)
    accounts, _ = policy_actions(POLICY_ACCOUNTS)
    got, _ = grants(tpl, "TargetRole")
    assert set(got) == {None, "RestoreEnabled"}, got
    # Notifications are published with the guard's own credentials.
    assert got[None] == base - {"sns:Publish"}, (got[None], base)
    assert got["RestoreEnabled"] == restore, got
    parameter_default(tpl, "EnableRestore", "false", ["false", "true"])
    conds = tpl["Conditions"]
    assert conds["RestoreEnabled"] == {"Fn::Equals": [{"Ref": "EnableRestore"}, "true"]}, conds
    # The name docs/iam-policy-accounts.json lets the guard assume.
    role = tpl["Resources"]["TargetRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "RoleName"}, role
    names = {st["Resource"].rsplit(":role/", 1)[1] for st in accounts["Statement"]}
    parameter_default(tpl, "RoleName", names.pop())
    assert not names
    # Trust: the guard's principal only, the external id when one is given.
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1, trust
    assert trust[0]["Effect"] == "Allow" and trust[0]["Action"] == "sts:AssumeRole", trust
    assert trust[0]["Principal"] == {"AWS": {"Ref": "TrustedGuardPrincipal"}}, trust
    assert "Default" not in tpl["Parameters"]["TrustedGuardPrincipal"]
    assert trust[0]["Condition"] == {"Fn::If": [
        "HasExternalId", {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
        NO_VALUE]}, trust
    parameter_default(tpl, "ExternalId", "")
    assert tpl["Parameters"]["ExternalId"].get("NoEcho") is True
    assert conds["HasExternalId"] == {"Fn::Not": [{"Fn::Equals": [
        {"Ref": "ExternalId"}, ""]}]}, conds
    assert "RoleArn" in tpl["Outputs"]


@case("sgguard.8 (IAM) and README.md name every policy file and every action in them")
def iam_documented():
    iam = words(section(render(MAN8), "IAM"))
    readme = read(README)
    for path in (POLICY, POLICY_RESTORE, POLICY_ACCOUNTS):
        _, acts = policy_actions(path)
        name = os.path.basename(path)
        assert name in iam, "IAM of sgguard.8 does not name %s" % name
        assert "docs/" + name in readme, "README.md does not name docs/%s" % name
        for act in acts:
            assert act in iam, "IAM of sgguard.8 does not name %s (%s)" % (act, name)
            assert act in readme, "README.md does not name %s (%s)" % (act, name)
    for path in TEMPLATES:
        name = os.path.basename(path)
        assert name in iam, "IAM of sgguard.8 does not name %s" % name
        assert "docs/" + name in readme, "README.md does not name docs/%s" % name


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
        "usr/share/doc/sgguard/iam-policy-restore.json": 0o644,
        "usr/share/doc/sgguard/iam-policy-accounts.json": 0o644,
        "usr/share/doc/sgguard/cloudformation.yaml": 0o644,
        "usr/share/doc/sgguard/cloudformation-target-account.yaml": 0o644,
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
