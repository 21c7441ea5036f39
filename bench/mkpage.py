#!/usr/bin/env python3
"""bench/mkpage.py OUTDIR [SAMPLES_DIR]: build, at run time, the inputs of
the benchmarks from the genuine CloudTrail records in
../shared/data/cloudtrail-samples (never copied into the repo):

  OUTDIR/page.json    a LookupEvents answer: 50 entries, EventTime as epoch
                      seconds as on the wire, each CloudTrailEvent one of the
                      genuine AuthorizeSecurityGroup{Ingress,Egress} records
                      with only its ids rewritten: eventID unique, groupId
                      one of the watched groups, awsRegion us-east-1,
                      eventTime/EventTime 2 minutes before now (inside
                      every poll window of the run),
                      account 123456789012
  OUTDIR/events.json  the Events[] list of that page alone (for bench/stub.py)
  OUTDIR/sgguard.ini  100 watched groups (the page's records hit them), the
                      allow list and allow_principal of etc/sgguard.ini
"""
import copy, json, os, sys, time, uuid

if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
    sys.exit("usage: bench/mkpage.py OUTDIR [SAMPLES_DIR]")
out = sys.argv[1]
src = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
    "cloudtrail-samples")
NGROUPS = 100
ACCOUNT = "123456789012"


def load(name):
    with open(os.path.join(src, name)) as f:
        d = json.load(f)
    return d if isinstance(d, list) else [d]


records = []
for n in ("AuthorizeSecurityGroupIngress__stratus__1.json",
          "AuthorizeSecurityGroupIngress__elastic-integrations__1.json",
          "AuthorizeSecurityGroupEgress__elastic-integrations__1.json"):
    records += load(n)
for case in load("AuthorizeSecurityGroupIngress__streamalert__1.json"):
    det = (case.get("data") or {}).get("detail")
    if isinstance(det, dict) and "eventName" in det:
        records.append(det)


def group(i):
    return "sg-%017x" % (0xb0000000 + i)


def rewrite(obj, gid):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "groupId" and isinstance(v, str):
                obj[k] = gid
            elif k in ("groupOwnerId", "recipientAccountId", "accountId") and isinstance(v, str):
                obj[k] = ACCOUNT
            else:
                rewrite(v, gid)
    elif isinstance(obj, list):
        for v in obj:
            rewrite(v, gid)


events = []
# Recent times, inside every poll window of the run (lookback 900 s): a
# record outside the window asked for is not something AWS would return.
t0 = int(time.time()) - 120
for i in range(50):
    r = copy.deepcopy(records[i % len(records)])
    gid = group(i % NGROUPS)
    rewrite(r, gid)
    if "requestParameters" in r and isinstance(r["requestParameters"], dict):
        r["requestParameters"]["groupId"] = gid
    r["awsRegion"] = "us-east-1"
    r["eventID"] = str(uuid.UUID(int=i + 1))
    r["eventTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 - i))
    ui = r.get("userIdentity") or {}
    events.append({
        "EventId": r["eventID"],
        "EventName": r["eventName"],
        "ReadOnly": "false",
        "AccessKeyId": ui.get("accessKeyId", ""),
        "EventTime": t0 - i,
        "EventSource": "ec2.amazonaws.com",
        "Username": ui.get("userName", "root"),
        "Resources": [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": gid}],
        "CloudTrailEvent": json.dumps(r, separators=(",", ":")),
    })
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "page.json"), "w") as f:
    json.dump({"Events": events}, f)
with open(os.path.join(out, "events.json"), "w") as f:
    json.dump(events, f)
ini = ["[sgguard]", "mode = enforce", "poll_interval = 60", "lookback = 900",
       "[aws]", "region = us-east-1", "endpoint_url = http://127.0.0.1:1",
       "[notify]", "topic_arn = arn:aws:sns:us-east-1:123456789012:sgguard-alerts"]
for i in range(NGROUPS):
    ini += ["[group %s]" % group(i), "region = us-east-1",
            "allow = tcp 443 0.0.0.0/0", "allow = tcp 443 ::/0",
            "allow = tcp 22 10.0.0.0/8",
            "allow_principal = arn:aws:iam::123456789012:role/NetworkAdmins"]
with open(os.path.join(out, "sgguard.ini"), "w") as f:
    f.write("\n".join(ini) + "\n")
print("%d records from %d genuine shapes" % (len(events), len(records)))
