#!/usr/bin/env python3
"""bench/peer/sgpeer.py: the peer sgguard is compared with. What a user
would otherwise run: the seed Lambda's logic (parse the event, rebuild the
permissions, revoke, publish) behind a boto3 LookupEvents poller.

  sgpeer.py poll CONFIG.ini [--interval S] [--cycles N]
      one process: every --interval seconds, LookupEvents for each watched
      event name (every page, <= 2 requests/s), then per new event: parse,
      decide, revoke_security_group_{ingress,egress}, sns.publish
  sgpeer.py bench PAGE.json CONFIG.ini N [--botocore]
      the parse + decide work alone, N times over one page, timed with
      time.process_time(): "events=E ns_per_event=X revert=R". The page is
      read with json.loads, or with --botocore as the poller really reads
      it: botocore's LookupEvents response parser (what
      ct.lookup_events() runs on the HTTP body), then json.loads of each
      CloudTrailEvent

Endpoint and credentials come from the environment (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, ...), as for any boto3 program. The config is sgguard's
INI: [group sg-...] with region, allow = PROTO PORTS SOURCE and
allow_principal; [aws] region; [notify] topic_arn.
"""
import configparser, fnmatch, ipaddress, json, sys, time

NAMES = ["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
         "ModifySecurityGroupRules", "RevokeSecurityGroupIngress",
         "DeleteSecurityGroup"]


def load_config(path):
    cp = configparser.ConfigParser(strict=False, interpolation=None,
                                   inline_comment_prefixes=None)
    # sgguard's INI repeats keys (allow = ...): collect them by hand.
    groups, region, topic = {}, "us-east-1", None
    sec = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in ";#":
                continue
            if line.startswith("["):
                sec = line[1:-1].strip()
                if sec.startswith("group "):
                    groups[sec[6:]] = {"region": None, "allow": [], "principals": []}
                continue
            k, _, v = line.partition("=")
            k, v = k.strip(), v.strip()
            if sec == "aws" and k == "region":
                region = v
            elif sec == "notify" and k == "topic_arn":
                topic = v
            elif sec and sec.startswith("group "):
                g = groups[sec[6:]]
                if k == "region":
                    g["region"] = v
                elif k == "allow":
                    proto, ports, src = v.split()
                    lo, _, hi = ports.partition("-")
                    g["allow"].append((proto, None if ports == "any" else int(lo),
                                       None if ports == "any" else int(hi or lo),
                                       None if src == "any" else ipaddress.ip_network(src, strict=False)))
                elif k == "allow_principal":
                    g["principals"].append(v)
    for g in groups.values():
        g["region"] = g["region"] or region
    return {"groups": groups, "region": region, "topic": topic}


def normalize(ip_items):
    """The seed's normalize_paramter_names, for every source kind."""
    out = []
    for it in ip_items:
        p = {"IpProtocol": str(it.get("ipProtocol"))}
        if "fromPort" in it:
            p["FromPort"] = it["fromPort"]
        if "toPort" in it:
            p["ToPort"] = it["toPort"]
        for lname, key, cap, capkey in (("ipRanges", "cidrIp", "IpRanges", "CidrIp"),
                                        ("ipv6Ranges", "cidrIpv6", "Ipv6Ranges", "CidrIpv6"),
                                        ("prefixListIds", "prefixListId", "PrefixListIds", "PrefixListId"),
                                        ("groups", "groupId", "UserIdGroupPairs", "GroupId")):
            items = (it.get(lname) or {}).get("items") or []
            if items:
                p[cap] = [{capkey: x.get(key)} for x in items if isinstance(x, dict)]
        out.append(p)
    return out


def permissions(rec):
    rp = rec.get("requestParameters") or {}
    items = (rp.get("ipPermissions") or {}).get("items")
    if items:
        return normalize(items)
    if "cidrIp" in rp or "ipProtocol" in rp:    # the legacy top-level form
        return [{"IpProtocol": str(rp.get("ipProtocol")), "FromPort": rp.get("fromPort"),
                 "ToPort": rp.get("toPort"), "IpRanges": [{"CidrIp": rp.get("cidrIp")}]}]
    rs = ((rec.get("responseElements") or {}).get("securityGroupRuleSet") or {}).get("items") or []
    return [{"IpProtocol": r.get("ipProtocol"), "FromPort": r.get("fromPort"),
             "ToPort": r.get("toPort"), "IpRanges": [{"CidrIp": r.get("cidrIpv4")}]}
            for r in rs]


def allowed(g, perm):
    srcs = [x.get("CidrIp") or x.get("CidrIpv6") for x in
            perm.get("IpRanges", []) + perm.get("Ipv6Ranges", [])]
    if not srcs or perm.get("PrefixListIds") or perm.get("UserIdGroupPairs"):
        return False
    for s in srcs:
        try:
            net = ipaddress.ip_network(s, strict=False)
        except (ValueError, TypeError):
            return False
        ok = False
        for proto, lo, hi, anet in g["allow"]:
            if proto not in ("all", perm["IpProtocol"]):
                continue
            if lo is not None and not (perm.get("FromPort") is not None and
                                       lo <= perm["FromPort"] and perm.get("ToPort", -1) <= hi):
                continue
            if anet is not None and (anet.version != net.version or not net.subnet_of(anet)):
                continue
            ok = True
            break
        if not ok:
            return False
    return True


def decide(cfg, rec):
    """(verdict, group_id, perms to revoke)"""
    if rec.get("eventSource") != "ec2.amazonaws.com" or rec.get("errorCode"):
        return "ignore", None, []
    name = rec.get("eventName", "")
    if name not in ("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"):
        return "ignore", None, []
    gid = (rec.get("requestParameters") or {}).get("groupId")
    g = cfg["groups"].get(gid)
    if g is None or g["region"] != rec.get("awsRegion"):
        return "ignore", None, []
    ui = rec.get("userIdentity") or {}
    who = [ui.get("arn", ""), ((ui.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn", "")]
    if any(fnmatch.fnmatchcase(w, p) for p in g["principals"] for w in who if w):
        return "allowed", gid, []
    perms = permissions(rec)
    bad = perms if name.endswith("Egress") else [p for p in perms if not allowed(g, p)]
    return ("revert" if bad else "allowed"), gid, bad


def bench(page_path, conf_path, n, via_botocore=False):
    cfg = load_config(conf_path)
    with open(page_path) as f:
        text = f.read()
    load = json.loads
    if via_botocore:
        import botocore.parsers, botocore.session
        model = botocore.session.get_session().get_service_model("cloudtrail")
        shape = model.operation_model("LookupEvents").output_shape
        parser = botocore.parsers.create_parser(model.metadata["protocol"])
        body = text.encode()

        def load(_):
            return parser.parse({"body": body, "headers": {}, "status_code": 200}, shape)
    counts = {}
    nev = 0
    t0 = time.process_time()
    for _ in range(n):
        page = load(text)
        for e in page.get("Events", []):
            rec = json.loads(e["CloudTrailEvent"])
            v, _, _ = decide(cfg, rec)
            counts[v] = counts.get(v, 0) + 1
            nev += 1
    t1 = time.process_time()
    print("events=%d ns_per_event=%.1f revert=%d allowed=%d ignore=%d" % (
        nev, (t1 - t0) * 1e9 / max(nev, 1), counts.get("revert", 0),
        counts.get("allowed", 0), counts.get("ignore", 0)))


def poll(conf_path, interval, cycles):
    import boto3
    cfg = load_config(conf_path)
    ct = boto3.client("cloudtrail", region_name=cfg["region"])
    ec2 = boto3.client("ec2", region_name=cfg["region"])
    sns = boto3.client("sns", region_name=cfg["region"])
    print("READY", flush=True)
    seen = set()
    cursor = time.time() - 900
    last = 0.0
    c = 0
    while cycles <= 0 or c < cycles:
        start = time.time()
        for name in NAMES:
            token = None
            while True:
                gap = last + 0.55 - time.time()   # 2 requests/s per region
                if gap > 0:
                    time.sleep(gap)
                kw = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
                      "StartTime": cursor - 900, "EndTime": start, "MaxResults": 50}
                if token:
                    kw["NextToken"] = token
                r = ct.lookup_events(**kw)
                last = time.time()
                for e in r.get("Events", []):
                    if e["EventId"] in seen:
                        continue
                    seen.add(e["EventId"])
                    rec = json.loads(e["CloudTrailEvent"])
                    v, gid, bad = decide(cfg, rec)
                    if v != "revert":
                        continue
                    fn = (ec2.revoke_security_group_egress if rec["eventName"].endswith("Egress")
                          else ec2.revoke_security_group_ingress)
                    try:
                        fn(GroupId=gid, IpPermissions=bad)
                    except Exception as ex:  # report and go on, as the seed would log
                        print("revoke failed:", ex, file=sys.stderr)
                    if cfg["topic"]:
                        sns.publish(TopicArn=cfg["topic"], Subject="Auto-mitigation successful",
                                    Message="AUTO-MITIGATED: rule removed from security group: %s "
                                    "that was added by %s: %s" % (gid, (rec.get("userIdentity") or {}).get("arn"),
                                                                 json.dumps(bad)))
                token = r.get("NextToken")
                if not token:
                    break
        cursor = start
        c += 1
        print("cycle", c, flush=True)
        if cycles <= 0 or c < cycles:
            time.sleep(max(0.0, interval - (time.time() - start)))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "bench":
        bench(sys.argv[2], sys.argv[3], int(sys.argv[4]), "--botocore" in sys.argv[5:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "poll":
        a = sys.argv[3:]
        iv = float(a[a.index("--interval") + 1]) if "--interval" in a else 60.0
        cy = int(a[a.index("--cycles") + 1]) if "--cycles" in a else 0
        poll(sys.argv[2], iv, cy)
    else:
        sys.exit(__doc__)
