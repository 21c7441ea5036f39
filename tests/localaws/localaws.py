#!/usr/bin/env python3
"""localaws: the local AWS that sgguard's tests and demo talk to.

One process serves moto (EC2, SNS, SQS, IAM, STS, ...) through a WSGI layer
that moto does not have:

* every signed request is checked strictly with botocore's SigV4 code before
  moto sees it (signature, X-Amz-Date within 15 minutes, x-amz-content-sha256,
  session tokens of temporary keys, unknown keys);
* every EC2 security-group call that passes through is recorded as a
  CloudTrail record in the genuine format;
* CloudTrail LookupEvents is served from those records (one lookup attribute,
  inclusive time range, MaxResults, opaque NextToken bound to its parameters,
  newest first, 2 requests/s per account and region, optional delivery delay);
* an unsigned admin API under /_localaws/ injects records, changes settings,
  lists requests and events, and injects faults.

Run:  python3 tests/localaws/localaws.py --port PORT
It prints "READY <port>" on stdout once it listens (loopback only) and stops
cleanly on SIGTERM or SIGINT.  See tests/localaws/README.md.

The module can be imported without starting anything: the SigV4 helpers
(verify_sigv4_signature, parse_authorization) are plain functions.
"""
import argparse
import base64
import collections
import hashlib
import hmac
import io
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

# ----------------------------------------------------------------------------
# constants

DEFAULT_ACCOUNT = "123456789012"        # moto's DEFAULT_ACCOUNT_ID
DEFAULT_REGION = "us-east-1"
# Keys that act as the root user of the default account (moto's customary
# fake keys and the AWS documentation example key).
DEFAULT_ROOT_KEYS = {
    "test": "test",
    "testing": "testing",
    "AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
MAX_SKEW = 15 * 60
MAX_BODY = 4 * 1024 * 1024
LOOKUP_TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
LOOKUP_ATTRIBUTE_KEYS = ("EventId", "EventName", "ReadOnly", "Username",
                         "ResourceType", "ResourceName", "EventSource", "AccessKeyId")
SG_RULE_ACTIONS = {
    "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
    "UpdateSecurityGroupRuleDescriptionsIngress",
    "UpdateSecurityGroupRuleDescriptionsEgress",
}
SG_ACTIONS = SG_RULE_ACTIONS | {"ModifySecurityGroupRules", "CreateSecurityGroup",
                                "DeleteSecurityGroup"}
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
QUERY_NS = {
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sqs": "http://queue.amazonaws.com/doc/2012-11-05/",
}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

log = logging.getLogger("localaws")


def iso(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def amz_date(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def parse_time(value):
    """Epoch seconds of an ISO-8601 eventTime, or None."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        d = datetime.fromisoformat(v)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------------------
# SigV4 (pure functions, usable from tests)

class AuthError(Exception):
    """A request that fails authentication.  kind selects the AWS error."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def parse_authorization(value):
    """Split an AWS4-HMAC-SHA256 Authorization header.

    Returns dict(access_key, date, region, service, signed_headers (list),
    signature) or raises AuthError('incomplete').
    """
    prefix = "AWS4-HMAC-SHA256 "
    if not value.startswith(prefix):
        raise AuthError("incomplete", "Only AWS4-HMAC-SHA256 Authorization headers are "
                        "supported by this endpoint.")
    fields = {}
    for part in value[len(prefix):].split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            fields[k.strip()] = v.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise AuthError("incomplete", "Authorization header requires '%s' parameter. "
                        "Authorization=%s" % (missing[0], value))
    cred = fields["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request" or not all(cred):
        raise AuthError("incomplete", "Credential should be scoped to a valid region, "
                        "not a malformed scope: %s" % fields["Credential"])
    return {
        "access_key": cred[0], "date": cred[1], "region": cred[2], "service": cred[3],
        "signed_headers": [h.strip().lower() for h in fields["SignedHeaders"].split(";")],
        "signature": fields["Signature"],
    }


class _VerifyingSigner(SigV4Auth):
    """botocore's SigV4Auth, signing exactly the headers the client signed."""

    def __init__(self, credentials, service, region, signed):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name in self._signed:
            values = request.headers.get_all(name) or [""]
            for v in values:
                out[name] = v
        return out


def _canonical_query(query):
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


def verify_sigv4_signature(method, raw_uri, headers, body, auth, secret):
    """Recompute the signature of a received request with botocore.

    method, raw_uri (path + '?' + query exactly as received), headers: list of
    (name, value) as received, body: bytes, auth: parse_authorization() result,
    secret: the secret access key.  Returns the expected hex signature.
    """
    hdrs = HTTPHeaders()
    for name, value in headers:
        hdrs[name.lower()] = value
    date = None
    for name, value in headers:
        if name.lower() == "x-amz-date":
            date = value.strip()
    if date is None:
        raise AuthError("incomplete", "Authorization header requires existence of either "
                        "a 'X-Amz-Date' or a 'Date' header.")
    path, _, query = raw_uri.partition("?")
    path = path.partition("#")[0]
    if not path.startswith("/"):
        path = "/" + path
    url = "http://localaws" + path
    q = _canonical_query(query)
    if q:
        url += "?" + q
    req = AWSRequest(method=method, url=url, data=body, headers=hdrs)
    req.context["timestamp"] = date
    signer = _VerifyingSigner(Credentials(auth["access_key"], secret), auth["service"],
                              auth["region"], auth["signed_headers"])
    canonical = signer.canonical_request(req)
    return signer.signature(signer.string_to_sign(req, canonical), req)


# ----------------------------------------------------------------------------
# AWS-shaped errors

def protocol_of(service, environ):
    if service == "ec2":
        return "ec2"
    ctype = environ.get("CONTENT_TYPE", "")
    if environ.get("HTTP_X_AMZ_TARGET") or "amz-json" in ctype:
        return "json"
    return "query"


def error_response(proto, service, code, message, status, request_id, sender=True):
    """(status, headers, body) of an AWS error in the given protocol."""
    if proto == "ec2":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s'
                '</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID>'
                '</Response>' % (xml_escape(code), xml_escape(message), request_id))
        ctype = "text/xml;charset=UTF-8"
    elif proto == "json":
        body = json.dumps({"__type": code, "message": message})
        ctype = "application/x-amz-json-1.1"
    else:
        ns = QUERY_NS.get(service, "https://%s.amazonaws.com/doc/" % service)
        body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s'
                '</Message></Error><RequestId>%s</RequestId></ErrorResponse>'
                % (ns, "Sender" if sender else "Receiver", xml_escape(code),
                   xml_escape(message), request_id))
        ctype = "text/xml"
    data = body.encode("utf-8")
    headers = [("Content-Type", ctype), ("x-amzn-RequestId", request_id),
               ("Content-Length", str(len(data)))]
    if proto == "json":
        headers.append(("x-amzn-ErrorType", code.split("#")[-1]))
    return status, headers, data


_SIG_MISMATCH = ("The request signature we calculated does not match the signature you "
                 "provided. Check your AWS Secret Access Key and signing method. Consult "
                 "the service documentation for details.")
_BAD_TOKEN = "The security token included in the request is invalid."
_EXPIRED_TOKEN = "The security token included in the request is expired"
_EC2_AUTH = "AWS was not able to validate the provided access credentials"
_CORAL = "com.amazon.coral.service#"

# kind -> {protocol: (code, status, message or None = use the AuthError's)}
AUTH_ERRORS = {
    "missing": {"ec2": ("AuthFailure", 401, _EC2_AUTH),
                "query": ("MissingAuthenticationToken", 403,
                          "Request is missing Authentication Token"),
                "json": (_CORAL + "MissingAuthenticationTokenException", 403,
                         "Missing Authentication Token")},
    "incomplete": {"ec2": ("AuthFailure", 401, None),
                   "query": ("IncompleteSignature", 400, None),
                   "json": (_CORAL + "IncompleteSignatureException", 400, None)},
    "signature": {"ec2": ("AuthFailure", 401, _EC2_AUTH),
                  "query": ("SignatureDoesNotMatch", 403, None),
                  "json": (_CORAL + "InvalidSignatureException", 400, None)},
    "expired": {"ec2": ("RequestExpired", 400, None),
                "query": ("SignatureDoesNotMatch", 403, None),
                "json": (_CORAL + "InvalidSignatureException", 400, None)},
    "unknown_key": {"ec2": ("AuthFailure", 401, _EC2_AUTH),
                    "query": ("InvalidClientTokenId", 403, _BAD_TOKEN),
                    "json": ("InvalidClientTokenId", 403, _BAD_TOKEN)},
    "bad_token": {"ec2": ("AuthFailure", 401, _EC2_AUTH),
                  "query": ("InvalidClientTokenId", 403, _BAD_TOKEN),
                  "json": ("InvalidClientTokenId", 403, _BAD_TOKEN)},
    "expired_token": {"ec2": ("RequestExpired", 400, "Request has expired."),
                      "query": ("ExpiredToken", 403, _EXPIRED_TOKEN),
                      "json": (_CORAL + "ExpiredTokenException", 400, _EXPIRED_TOKEN)},
}


# ----------------------------------------------------------------------------
# principals

class Principal:
    """Who signed a request: the secret to check and the CloudTrail identity."""

    def __init__(self, kind, access_key_id, secret, account, identity, username,
                 token=None, expiration=None, moto_auth=True, active=True):
        self.kind = kind                  # root | iam-user | assumed-role | static
        self.access_key_id = access_key_id
        self.secret = secret
        self.account = account
        self.identity = identity          # userIdentity without accessKeyId
        self.username = username          # LookupEvents Username
        self.token = token                # required session token, or None
        self.expiration = expiration      # epoch seconds, or None
        self.moto_auth = moto_auth        # moto's IAM enforcement applies (--auth)
        self.active = active

    def user_identity(self):
        ident = dict(self.identity)
        if self.access_key_id and "accessKeyId" not in ident:
            # keep CloudTrail's key order: type, principalId, arn, accountId, accessKeyId, ...
            out = {}
            for k, v in ident.items():
                out[k] = v
                if k == "accountId":
                    out["accessKeyId"] = self.access_key_id
            if "accessKeyId" not in out:
                out["accessKeyId"] = self.access_key_id
            ident = out
        return ident


def root_principal(akid, secret, account):
    ident = {"type": "Root", "principalId": account,
             "arn": "arn:aws:iam::%s:root" % account, "accountId": account}
    return Principal("root", akid, secret, account, ident, "root", moto_auth=False)


def _stable_role_id(role_arn):
    h = hashlib.sha256(role_arn.encode()).hexdigest().upper()
    digits = "".join(c for c in h if c.isalnum())
    return "AROA" + digits[:17]


def resolve_moto_key(akid):
    """A Principal for an access key moto knows (IAM user or STS session)."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    for acct in list(iam_backends.keys()):
        try:
            backend = iam_backends[acct]["aws"]
        except Exception:  # noqa: BLE001 - a half-built backend is no match
            continue
        key = backend.access_keys.get(akid)
        if key is None:
            continue
        active = getattr(key, "status", "Active") == "Active"
        if key.user_name:
            user = backend.users.get(key.user_name)
            if user is None:
                continue
            ident = {"type": "IAMUser", "principalId": user.id, "arn": user.arn,
                     "accountId": acct, "userName": user.name}
            return Principal("iam-user", akid, key.secret_access_key, acct, ident,
                             user.name, active=active)
        # a temporary key: find its STS session
        for sacct in list(sts_backends.keys()):
            try:
                sts = sts_backends[sacct]["aws"]
            except Exception:  # noqa: BLE001
                continue
            for ar in list(sts.assumed_roles):
                if ar.access_key_id != akid:
                    continue
                role_arn = ar.role_arn
                role_name = role_arn.split("/")[-1]
                try:
                    role_id = backend.get_role_by_arn(role_arn).id
                except Exception:  # noqa: BLE001 - moto allows assuming unknown roles
                    role_id = _stable_role_id(role_arn)
                created = getattr(ar, "_localaws_created", None)
                if created is None:
                    created = ar.expiration.replace(tzinfo=timezone.utc).timestamp() - 3600
                exp = ar.expiration
                if exp.tzinfo is None:
                    exp = exp.replace(tzinfo=timezone.utc)
                ident = {
                    "type": "AssumedRole",
                    "principalId": "%s:%s" % (role_id, ar.session_name),
                    "arn": ar.arn, "accountId": ar.account_id,
                    "sessionContext": {
                        "sessionIssuer": {"type": "Role", "principalId": role_id,
                                          "arn": role_arn, "accountId": ar.account_id,
                                          "userName": role_name},
                        "webIdFederationData": {},
                        "attributes": {"creationDate": iso(created),
                                       "mfaAuthenticated": "false"},
                    },
                }
                return Principal("assumed-role", akid, ar.secret_access_key, ar.account_id,
                                 ident, ar.session_name, token=ar.session_token,
                                 expiration=exp.timestamp(), active=active)
    return None


# ----------------------------------------------------------------------------
# EC2 Query parameters -> CloudTrail requestParameters

def nest_query(pairs):
    """{'IpPermissions.1.IpRanges.2.CidrIp': v} -> nested dicts and lists."""
    root = {}
    for key, value in pairs:
        parts = key.split(".")
        cur = root
        for i, part in enumerate(parts):
            k = int(part) if part.isdigit() else part
            if i == len(parts) - 1:
                if isinstance(cur.get(k), dict):
                    break
                cur[k] = value
            else:
                nxt = cur.get(k)
                if not isinstance(nxt, dict):
                    nxt = {}
                    cur[k] = nxt
                cur = nxt

    def listify(d):
        if not isinstance(d, dict):
            return d
        d = {k: listify(v) for k, v in d.items()}
        if d and all(isinstance(k, int) for k in d):
            return [d[k] for k in sorted(d)]
        return d
    return listify(root)


def _aslist(v):
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        return [v]
    return []


def _num(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


def _coll(items):
    return {"items": items} if items else {}


def _pick(d, mapping):
    out = {}
    if not isinstance(d, dict):
        return out
    for src, dst in mapping:
        if src in d:
            out[dst] = d[src]
    return out


def ct_ip_permission(p):
    if not isinstance(p, dict):
        return {}
    out = {}
    if "IpProtocol" in p:
        out["ipProtocol"] = p["IpProtocol"]
    if "FromPort" in p:
        out["fromPort"] = _num(p["FromPort"])
    if "ToPort" in p:
        out["toPort"] = _num(p["ToPort"])
    out["groups"] = _coll([_pick(g, [("GroupId", "groupId"), ("GroupName", "groupName"),
                                     ("UserId", "userId"), ("VpcId", "vpcId"),
                                     ("VpcPeeringConnectionId", "vpcPeeringConnectionId"),
                                     ("Description", "description")])
                           for g in _aslist(p.get("Groups"))])
    out["ipRanges"] = _coll([_pick(r, [("CidrIp", "cidrIp"), ("Description", "description")])
                             for r in _aslist(p.get("IpRanges"))])
    out["ipv6Ranges"] = _coll([_pick(r, [("CidrIpv6", "cidrIpv6"),
                                         ("Description", "description")])
                               for r in _aslist(p.get("Ipv6Ranges"))])
    out["prefixListIds"] = _coll([_pick(r, [("PrefixListId", "prefixListId"),
                                            ("Description", "description")])
                                  for r in _aslist(p.get("PrefixListIds"))])
    return out


def _ct_tags(P):
    specs = []
    for s in _aslist(P.get("TagSpecification")):
        if not isinstance(s, dict):
            continue
        item = {}
        if "ResourceType" in s:
            item["resourceType"] = s["ResourceType"]
        item["tags"] = [_pick(t, [("Key", "key"), ("Value", "value")])
                        for t in _aslist(s.get("Tag"))]
        specs.append(item)
    return specs


def ct_request_parameters(action, P):
    """CloudTrail requestParameters of an EC2 security-group call."""
    rp = {}
    if action in SG_RULE_ACTIONS:
        if "GroupId" in P:
            rp["groupId"] = P["GroupId"]
        if "GroupName" in P:
            rp["groupName"] = P["GroupName"]
        rp["ipPermissions"] = _coll([ct_ip_permission(x) for x in _aslist(P.get("IpPermissions"))])
        for src, dst in (("IpProtocol", "ipProtocol"), ("FromPort", "fromPort"),
                         ("ToPort", "toPort"), ("CidrIp", "cidrIp"),
                         ("SourceSecurityGroupName", "sourceSecurityGroupName"),
                         ("SourceSecurityGroupOwnerId", "sourceSecurityGroupOwnerId")):
            if src in P and not isinstance(P[src], (dict, list)):
                rp[dst] = _num(P[src]) if dst in ("fromPort", "toPort") else P[src]
        rule_ids = [x for x in _aslist(P.get("SecurityGroupRuleId")) if isinstance(x, str)]
        if isinstance(P.get("SecurityGroupRuleId"), str):
            rule_ids = [P["SecurityGroupRuleId"]]
        if rule_ids:
            rp["securityGroupRuleIds"] = {"items": [{"securityGroupRuleId": r}
                                                    for r in rule_ids]}
        tags = _ct_tags(P)
        if tags:
            rp["tagSpecificationSet"] = {"items": tags}
    elif action == "CreateSecurityGroup":
        for src, dst in (("GroupName", "groupName"), ("GroupDescription", "groupDescription"),
                         ("VpcId", "vpcId")):
            if src in P:
                rp[dst] = P[src]
        tags = _ct_tags(P)
        if tags:
            rp["tagSpecificationSet"] = {"items": tags}
    elif action == "DeleteSecurityGroup":
        for src, dst in (("GroupId", "groupId"), ("GroupName", "groupName")):
            if src in P:
                rp[dst] = P[src]
    elif action == "ModifySecurityGroupRules":
        inner = {}
        if "GroupId" in P:
            inner["GroupId"] = P["GroupId"]
        rules = []
        for n, r in enumerate(_aslist(P.get("SecurityGroupRule")), 1):
            if not isinstance(r, dict):
                continue
            item = {}
            if "SecurityGroupRuleId" in r:
                item["SecurityGroupRuleId"] = r["SecurityGroupRuleId"]
            body = r.get("SecurityGroupRule")
            if isinstance(body, dict):
                item["SecurityGroupRule"] = {k: (_num(v) if k in ("FromPort", "ToPort") else v)
                                             for k, v in body.items()}
            item["tag"] = n
            rules.append(item)
        if rules:
            inner["SecurityGroupRule"] = rules[0] if len(rules) == 1 else rules
        rp["ModifySecurityGroupRulesRequest"] = inner
    if "DryRun" in P:
        rp["dryRun"] = str(P["DryRun"]).lower() == "true"
    return rp


# ----------------------------------------------------------------------------
# moto's security-group rules -> CloudTrail responseElements

def _rule_ports(rule):
    if rule.ip_protocol == "-1" or rule.from_port is None:
        return -1, -1
    return _num(rule.from_port), _num(rule.to_port)


def _rule_description(rule):
    for d in (rule.ip_range, rule.source_group):
        if isinstance(d, dict) and d.get("Description") is not None:
            return d["Description"]
    return None


def ct_rule_item(rule, region):
    owner = rule.ec2_backend.account_id
    fp, tp = _rule_ports(rule)
    it = {"groupOwnerId": owner, "groupId": rule.group_id, "securityGroupRuleId": rule.id,
          "isEgress": bool(rule.is_egress), "ipProtocol": rule.ip_protocol,
          "fromPort": fp, "toPort": tp}
    ipr = rule.ip_range or {}
    if ipr.get("CidrIp"):
        it["cidrIpv4"] = ipr["CidrIp"]
    elif ipr.get("CidrIpv6"):
        it["cidrIpv6"] = ipr["CidrIpv6"]
    elif rule.prefix_list_id:
        it["prefixListId"] = rule.prefix_list_id
    elif rule.source_group:
        ref = {}
        if rule.source_group.get("GroupId"):
            ref["groupId"] = rule.source_group["GroupId"]
        if rule.source_group.get("UserId"):
            ref["userId"] = rule.source_group["UserId"]
        it["referencedGroupInfo"] = ref
    desc = _rule_description(rule)
    if desc is not None:
        it["description"] = desc
    it["securityGroupRuleArn"] = "arn:aws:ec2:%s:%s:security-group-rule/%s" % (
        region, owner, rule.id)
    return it


def ct_revoked_item(rule):
    fp, tp = _rule_ports(rule)
    it = {"securityGroupRuleId": rule.id, "groupId": rule.group_id,
          "isEgress": bool(rule.is_egress), "ipProtocol": rule.ip_protocol,
          "fromPort": fp, "toPort": tp}
    ipr = rule.ip_range or {}
    if ipr.get("CidrIp"):
        it["cidrIpv4"] = ipr["CidrIp"]
    elif ipr.get("CidrIpv6"):
        it["cidrIpv6"] = ipr["CidrIpv6"]
    elif rule.prefix_list_id:
        it["prefixListId"] = rule.prefix_list_id
    elif rule.source_group and rule.source_group.get("GroupId"):
        it["referencedSecurityGroupId"] = rule.source_group["GroupId"]
    desc = _rule_description(rule)
    if desc is not None:
        it["description"] = desc
    return it


def snapshot_rules(backend):
    out = collections.OrderedDict()
    if backend is None:
        return out
    for vpc_groups in list(backend.groups.values()):
        for group in list(vpc_groups.values()):
            for rule in list(group.ingress_rules) + list(group.egress_rules):
                out[rule.id] = rule
    return out


def derive_resources(rec):
    """LookupEvents Resources of a record (security groups it names)."""
    names = []

    def add(v):
        if isinstance(v, str) and v and v not in names:
            names.append(v)
    if not isinstance(rec, dict):
        return []
    rp = rec.get("requestParameters")
    if isinstance(rp, dict):
        add(rp.get("groupId"))
        m = rp.get("ModifySecurityGroupRulesRequest")
        if isinstance(m, dict):
            add(m.get("GroupId"))
    re_ = rec.get("responseElements")
    if isinstance(re_, dict):
        add(re_.get("groupId"))
        for key in ("securityGroupRuleSet", "revokedSecurityGroupRuleSet"):
            s = re_.get(key)
            if isinstance(s, dict):
                for it in _aslist(s.get("items")):
                    if isinstance(it, dict):
                        add(it.get("groupId"))
    if isinstance(rp, dict):
        add(rp.get("groupName"))
    return [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": n} for n in names]


def derive_username(rec):
    ui = rec.get("userIdentity") if isinstance(rec, dict) else None
    if not isinstance(ui, dict):
        return None
    t = ui.get("type")
    if t == "Root":
        return "root"
    if t == "AssumedRole":
        arn = ui.get("arn")
        if isinstance(arn, str) and "/" in arn:
            return arn.split("/")[-1]
        pid = ui.get("principalId")
        if isinstance(pid, str) and ":" in pid:
            return pid.split(":", 1)[1]
    if t == "AWSService":
        return ui.get("invokedBy")
    u = ui.get("userName")
    return u if isinstance(u, str) else None


# ----------------------------------------------------------------------------
# stored CloudTrail events

class StoredEvent:
    __slots__ = ("seq", "account", "region", "t", "raw", "record", "event_id", "event_name",
                 "event_source", "read_only", "access_key_id", "username", "resources",
                 "delay")

    def to_lookup(self):
        ev = {"EventId": self.event_id, "EventName": self.event_name,
              "ReadOnly": self.read_only}
        if self.access_key_id is not None:
            ev["AccessKeyId"] = self.access_key_id
        ev["EventTime"] = int(self.t) if float(self.t).is_integer() else self.t
        if self.event_source is not None:
            ev["EventSource"] = self.event_source
        if self.username is not None:
            ev["Username"] = self.username
        ev["Resources"] = list(self.resources)
        ev["CloudTrailEvent"] = self.raw
        return ev


def make_stored(raw, record, account, region, t=None, lookup=None, delay=None):
    ev = StoredEvent()
    ev.raw = raw
    ev.record = record if isinstance(record, dict) else None
    rec = ev.record or {}
    ev.account = account
    ev.region = region
    if t is None:
        t = parse_time(rec.get("eventTime"))
    ev.t = float(int(t)) if t is not None else float(int(time.time()))
    ev.event_id = rec.get("eventID") if isinstance(rec.get("eventID"), str) else str(uuid.uuid4())
    ev.event_name = rec.get("eventName") if isinstance(rec.get("eventName"), str) else None
    ev.event_source = rec.get("eventSource") if isinstance(rec.get("eventSource"), str) else None
    ro = rec.get("readOnly")
    ev.read_only = ("true" if ro else "false") if isinstance(ro, bool) else (
        ro if isinstance(ro, str) else "false")
    ui = rec.get("userIdentity") if isinstance(rec.get("userIdentity"), dict) else {}
    ak = ui.get("accessKeyId")
    ev.access_key_id = ak if isinstance(ak, str) and ak else None
    ev.username = derive_username(rec)
    ev.resources = derive_resources(rec)
    ev.delay = delay
    for k, v in (lookup or {}).items():
        attr = {"EventId": "event_id", "EventName": "event_name", "EventSource": "event_source",
                "ReadOnly": "read_only", "AccessKeyId": "access_key_id",
                "Username": "username", "Resources": "resources"}.get(k)
        if attr:
            setattr(ev, attr, v)
        elif k == "EventTime":
            ev.t = float(v)
    return ev


# ----------------------------------------------------------------------------
# the WSGI application

class _Reset(Exception):
    """Raised to drop the connection (with RST) without a response."""


class LocalAWS:
    def __init__(self, args):
        self.lock = threading.RLock()          # state of this layer
        self.moto_lock = threading.RLock()     # one moto call at a time
        self.stopping = threading.Event()
        self.delivery_delay = float(args.delivery_delay)
        self.throttle_rps = float(args.throttle_rps)
        self.strict = bool(args.strict_sigv4)
        self.auth = bool(args.auth)
        self.max_events = int(args.max_events)
        self.max_requests = int(args.max_requests)
        self.events = collections.deque()
        self.seq = 0
        self.requests = collections.deque(maxlen=self.max_requests)
        self.req_seq = 0
        self.lookup_calls = {}                  # (account, region) -> deque of times
        self.faults = []
        self.published = collections.deque(maxlen=self.max_requests)
        self.static_keys = {}
        self._register_imds_key()
        self.root_keys = {k: (v, DEFAULT_ACCOUNT) for k, v in DEFAULT_ROOT_KEYS.items()}
        for spec in args.root_key or []:
            parts = spec.split(":")
            if len(parts) not in (2, 3):
                raise SystemExit("localaws: --root-key wants ID:SECRET[:ACCOUNT]")
            self.root_keys[parts[0]] = (parts[1], parts[2] if len(parts) == 3 else DEFAULT_ACCOUNT)
        self.token_key = os.urandom(32)
        self.tls = threading.local()
        self._init_moto()

    def _register_imds_key(self):
        """moto's instance metadata (/latest/...) hands out fixed credentials
        of an instance role; accept them as that role's session."""
        self.a_keys({"access_key_id": "test-key", "secret_access_key": "test-secret-key",
                     "session_token": "test-session-token", "type": "AssumedRole",
                     "name": "default-role/i-fake"}, {})

    # -- moto -------------------------------------------------------------
    def _init_moto(self):
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        import moto.sts.models as sts_models

        self.moto_settings = settings
        self.moto_app = DomainDispatcherApplication(create_backend_app)
        self._apply_auth()

        tls = self.tls
        orig = ActionAuthenticatorMixin._authenticate_and_authorize_action

        def authenticate(mixin, iam_request_cls, resource="*"):
            if getattr(tls, "skip_moto_auth", False):
                return None
            return orig(mixin, iam_request_cls, resource)
        ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate

        # A request this layer verified is not re-verified by moto (whose own
        # SigV4 check skips headers botocore never signs, such as User-Agent);
        # moto then only decides permissions.
        from moto.iam.access_control import IAMRequestBase
        orig_check = IAMRequestBase.check_signature

        def check_signature(req):
            if getattr(tls, "verified", False):
                return None
            return orig_check(req)
        IAMRequestBase.check_signature = check_signature

        orig_init = sts_models.AssumedRole.__init__

        def assumed_role_init(ar, *a, **kw):
            orig_init(ar, *a, **kw)
            ar._localaws_created = time.time()
        sts_models.AssumedRole.__init__ = assumed_role_init

    def _apply_auth(self):
        from moto.core.authorization import ActionAuthenticatorMixin
        self.moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if self.auth else float("inf")
        ActionAuthenticatorMixin.request_count = 0

    def ec2_backend(self, account, region):
        try:
            from moto.ec2.models import ec2_backends
            return ec2_backends[account][region]
        except Exception:  # noqa: BLE001 - unknown region: moto answers the error
            return None

    def call_moto(self, environ, body):
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
        env.pop("HTTP_TRANSFER_ENCODING", None)
        env.pop("wsgi.input_terminated", None)
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = list(headers)
            return lambda data: None
        it = self.moto_app(env, start_response)
        try:
            data = b"".join(it)
        finally:
            if hasattr(it, "close"):
                it.close()
        status = int(captured.get("status", "500").split()[0])
        return status, captured.get("headers", []), data

    # -- principals -------------------------------------------------------
    def resolve_key(self, akid):
        with self.lock:
            s = self.static_keys.get(akid)
        if s is not None:
            return s
        if akid in self.root_keys:
            secret, acct = self.root_keys[akid]
            return root_principal(akid, secret, acct)
        return resolve_moto_key(akid)

    def authenticate(self, environ, body, now):
        """Principal of a signed request, or AuthError."""
        authz = environ.get("HTTP_AUTHORIZATION", "")
        auth = parse_authorization(authz)
        headers = []
        for name in auth["signed_headers"]:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            if key in environ:
                headers.append((name, environ[key]))
        if "host" not in auth["signed_headers"]:
            raise AuthError("incomplete", "'Host' or ':authority' must be a 'SignedHeader' "
                            "in the AWS Authorization.")
        date = environ.get("HTTP_X_AMZ_DATE")
        if date is None:
            raise AuthError("incomplete", "Authorization header requires existence of either "
                            "a 'X-Amz-Date' or a 'Date' header. Authorization=%s" % authz)
        if ("x-amz-date", date) not in headers:
            headers.append(("x-amz-date", date))
        try:
            t = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            raise AuthError("incomplete", "Date must be in ISO-8601 'basic format'. Got '%s'."
                            % date) from None
        if auth["date"] != date[:8]:
            raise AuthError("signature", "Date in Credential scope does not match YYYYMMDD "
                            "from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'."
                            % (auth["date"], date[:8], date))
        if t < now - MAX_SKEW:
            raise AuthError("expired", "Signature expired: %s is now earlier than %s (%s - 15 "
                            "min.)" % (date, amz_date(now - MAX_SKEW), amz_date(now)))
        if t > now + MAX_SKEW:
            raise AuthError("expired", "Signature not yet current: %s is still later than %s "
                            "(%s + 15 min.)" % (date, amz_date(now + MAX_SKEW), amz_date(now)))
        principal = self.resolve_key(auth["access_key"])
        if principal is None or not principal.active:
            raise AuthError("unknown_key", _BAD_TOKEN)
        token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
        if principal.kind == "root":
            pass   # moto's GetSessionToken hands out the example root key with a token
        elif principal.token is not None:
            if token is None or not hmac.compare_digest(token, principal.token):
                raise AuthError("bad_token", _BAD_TOKEN)
            if principal.expiration is not None and now >= principal.expiration:
                raise AuthError("expired_token", _EXPIRED_TOKEN)
        elif token is not None:
            raise AuthError("bad_token", _BAD_TOKEN)
        sha = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
        if sha is not None and sha.strip().lower() != hashlib.sha256(body).hexdigest():
            raise AuthError("signature", "The provided 'x-amz-content-sha256' header does not "
                            "match what was computed.")
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or "/"
        try:
            raw_uri = raw_uri.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        if "://" in raw_uri.split("?")[0]:
            raw_uri = "/" + raw_uri.split("://", 1)[1].partition("/")[2]
        expected = verify_sigv4_signature(environ.get("REQUEST_METHOD", "GET"), raw_uri,
                                          headers, body, auth, principal.secret)
        if not hmac.compare_digest(expected, auth["signature"].lower()):
            raise AuthError("signature", _SIG_MISMATCH)
        return principal, auth

    # -- request log --------------------------------------------------------
    def log_request(self, ctx, status, error_code=None):
        with self.lock:
            self.req_seq += 1
            self.requests.append({
                "seq": self.req_seq, "time": ctx["start"], "time_iso": iso(ctx["start"]),
                "method": ctx["method"], "path": ctx["path"], "service": ctx["service"],
                "action": ctx["action"], "account": ctx.get("account"),
                "region": ctx.get("region"), "access_key_id": ctx.get("access_key_id"),
                "status": status, "error_code": error_code, "fault": ctx.get("fault"),
                "duration_ms": round((time.time() - ctx["start"]) * 1000, 1),
            })

    # -- events -------------------------------------------------------------
    def add_event(self, ev):
        with self.lock:
            self.seq += 1
            ev.seq = self.seq
            self.events.append(ev)
            while len(self.events) > self.max_events:
                self.events.popleft()

    # -- faults -------------------------------------------------------------
    def take_fault(self, service, action):
        with self.lock:
            for f in self.faults:
                if f["service"] not in ("*", service):
                    continue
                if f["action"] not in ("*", action):
                    continue
                if f["count"] == 0:
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                f["used"] += 1
                fault = dict(f)
                self.faults = [x for x in self.faults if x["count"] != 0]
                return fault
        return None

    def apply_fault(self, fault, environ, proto, service, request_id):
        mode = fault["mode"]
        if mode == "hang":
            self.stopping.wait(fault.get("seconds", 30.0))
            raise _Reset()
        if mode in ("reset", "close"):
            if mode == "reset":
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    except OSError:
                        pass
            raise _Reset()
        if mode == "error":
            e = fault.get("error") or {}
            return error_response(proto, service, e.get("code", "InternalError"),
                                  e.get("message", "We encountered an internal error. "
                                                   "Please try again."),
                                  int(e.get("status", 500)), request_id,
                                  sender=int(e.get("status", 500)) < 500)
        # respond
        body = fault.get("body", "")
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode()
        headers = [("Content-Type", fault.get("content_type", "text/plain"))]
        for k, v in (fault.get("headers") or {}).items():
            headers.append((k, str(v)))
        headers.append(("Content-Length", str(len(data))))
        return int(fault.get("status", 500)), headers, data

    # -- WSGI -----------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/_localaws/") or path == "/_localaws":
            status, headers, data = self.admin(environ, path)
            return self._respond(start_response, status, headers, data)
        try:
            status, headers, data = self.handle(environ)
        except _Reset:
            handler = environ.get("localaws.handler")
            if handler is not None:
                handler.close_connection = True
                handler.localaws_drop = True
            raise ConnectionResetError("localaws fault: connection dropped") from None
        return self._respond(start_response, status, headers, data)

    @staticmethod
    def _respond(start_response, status, headers, data):
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                  404: "Not Found", 413: "Payload Too Large", 429: "Too Many Requests",
                  500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Status")
        start_response("%d %s" % (status, reason), headers)
        return [data]

    def read_body(self, environ):
        inp = environ.get("wsgi.input")
        if inp is None:
            return b""
        length = environ.get("CONTENT_LENGTH")
        if length:
            n = int(length)
            if n > MAX_BODY:
                raise ValueError("body too large")
            return inp.read(n)
        if environ.get("wsgi.input_terminated"):
            data = inp.read(MAX_BODY + 1)
            if len(data) > MAX_BODY:
                raise ValueError("body too large")
            return data
        return b""

    def handle(self, environ):
        now = time.time()
        request_id = str(uuid.uuid4())
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        try:
            body = self.read_body(environ)
        except ValueError:
            return 413, [("Content-Type", "text/plain")], b"request body too large\n"
        authz = environ.get("HTTP_AUTHORIZATION")
        scope = None
        if authz:
            m = re.search(r"Credential=([^/,\s]*)/([^/,\s]*)/([^/,\s]*)/([^/,\s]*)/", authz)
            if m:
                scope = m.groups()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        ctype = environ.get("CONTENT_TYPE", "")
        if body and ctype.startswith("application/x-www-form-urlencoded"):
            try:
                params += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                pass
        flat = {}
        for k, v in params:
            flat.setdefault(k, v)
        action = target.rpartition(".")[2] if target else flat.get("Action", "")
        if path.startswith("/moto-api") or path.startswith("/latest/"):
            service = "moto-api" if path.startswith("/moto-api") else "imds"
            action = path
        elif scope:
            service = scope[3].lower()
        elif target.startswith(LOOKUP_TARGET_PREFIX):
            service = "cloudtrail"
        else:
            service = self._guess_service(action, flat)
        region = scope[2] if scope else DEFAULT_REGION
        proto = protocol_of(service, environ)
        ctx = {"start": now, "method": method, "path": path, "service": service,
               "action": action, "region": region, "request_id": request_id,
               "access_key_id": scope[0] if scope else None}

        fault = None
        if service not in ("moto-api", "imds"):
            fault = self.take_fault(service, action)
        if fault is not None:
            ctx["fault"] = fault["mode"]
        if fault is not None and fault.get("when", "before") == "before":
            if fault["mode"] == "delay":
                self.stopping.wait(fault.get("seconds", 1.0))
            else:
                return self._fault_now(ctx, fault, environ, proto, service)

        principal = None
        unsigned_ok = service in ("moto-api", "imds")
        if not unsigned_ok:
            if authz:
                if self.strict:
                    try:
                        principal, _ = self.authenticate(environ, body, now)
                        ctx["verified"] = True
                    except AuthError as e:
                        code, status, msg = AUTH_ERRORS[e.kind][proto]
                        ctx["account"] = None
                        self.log_request(ctx, status, error_code=code.split("#")[-1])
                        return error_response(proto, service, code, msg or e.message, status,
                                              request_id)
                elif scope:
                    principal = self.resolve_key(scope[0])
            elif self.strict:
                code, status, msg = AUTH_ERRORS["missing"][proto]
                self.log_request(ctx, status, error_code=code.split("#")[-1])
                return error_response(proto, service, code, msg, status, request_id)
        if principal is None and not unsigned_ok:
            principal = root_principal(scope[0] if scope else None, "", DEFAULT_ACCOUNT)
        ctx["account"] = principal.account if principal else None

        if service == "cloudtrail" and action == "LookupEvents":
            status, headers, data = self.lookup_events(ctx, proto, body, now, principal)
        else:
            status, headers, data = self.forward(ctx, environ, body, principal, service,
                                                 action, flat, params, proto)
        if fault is not None and fault.get("when") == "after":
            # the call happened (and is recorded); its answer is lost
            return self._fault_now(ctx, fault, environ, proto, service)
        self.log_request(ctx, status, error_code=_error_code(status, data))
        return status, headers, data

    def _fault_now(self, ctx, fault, environ, proto, service):
        if fault["mode"] in ("hang", "reset", "close"):
            self.log_request(ctx, 0)      # logged now: the answer never comes
            return self.apply_fault(fault, environ, proto, service, ctx["request_id"])
        st, hd, dt = self.apply_fault(fault, environ, proto, service, ctx["request_id"])
        self.log_request(ctx, st, error_code=_error_code(st, dt))
        return st, hd, dt

    @staticmethod
    def _guess_service(action, flat):
        version = flat.get("Version")
        return {"2016-11-15": "ec2", "2010-03-31": "sns", "2011-06-15": "sts",
                "2010-05-08": "iam", "2012-11-05": "sqs"}.get(version, "unknown")

    def forward(self, ctx, environ, body, principal, service, action, flat, params, proto):
        env = dict(environ)
        for k in [k for k in env if k.startswith("HTTP_X_MOTO_")]:
            del env[k]
        if principal is not None and principal.account != DEFAULT_ACCOUNT:
            env["HTTP_X_MOTO_ACCOUNT_ID"] = principal.account
        if not env.get("HTTP_AUTHORIZATION") and service not in ("moto-api", "imds", "unknown"):
            # unsigned (--no-strict-sigv4): give moto's router a credential scope
            env["HTTP_AUTHORIZATION"] = ("AWS4-HMAC-SHA256 Credential=test/%s/%s/%s/aws4_request, "
                                         "SignedHeaders=host, Signature=0"
                                         % (amz_date(ctx["start"])[:8], ctx["region"], service))
        is_sg = service == "ec2" and action in SG_ACTIONS
        self.tls.skip_moto_auth = principal is None or not principal.moto_auth
        self.tls.verified = bool(ctx.get("verified"))
        try:
            with self.moto_lock:
                backend = self.ec2_backend(ctx["account"], ctx["region"]) if is_sg else None
                before = snapshot_rules(backend) if is_sg else None
                try:
                    status, headers, data = self.call_moto(env, body)
                except Exception as e:  # noqa: BLE001 - moto bug: answer like AWS would
                    log.exception("moto failed on %s %s", service, action)
                    status, headers, data = error_response(
                        proto, service, "InternalError" if proto != "json" else "InternalFailure",
                        "localaws: moto raised %s: %s" % (type(e).__name__, e), 500,
                        ctx["request_id"], sender=False)
                after = snapshot_rules(backend) if is_sg else None
        finally:
            self.tls.skip_moto_auth = False
            self.tls.verified = False
        if service == "ec2":
            status, headers, data = self._fix_ec2_response(status, headers, data, ctx,
                                                           principal, action)
        elif service == "sns" and status == 403 and _error_code(status, data) == "AccessDenied":
            arn = principal.identity.get("arn") if principal else "unknown"
            resource = flat.get("TopicArn") or flat.get("TargetArn") or "*"
            status, headers, data = error_response(
                "query", "sns", "AuthorizationError",
                "User: %s is not authorized to perform: SNS:%s on resource: %s because no "
                "identity-based policy allows the SNS:%s action" % (arn, action, resource,
                                                                    action),
                403, ctx["request_id"])
        if service == "sns" and action == "Publish" and status == 200:
            self.record_publish(ctx, flat, params, data)
        if is_sg:
            try:
                self.record_sg_call(ctx, environ, principal, action, params, status, data,
                                    before, after)
            except Exception:  # noqa: BLE001 - never fail the call because of the recorder
                log.exception("could not record %s", action)
        return status, headers, data

    def _fix_ec2_response(self, status, headers, data, ctx, principal, action):
        rid = ctx["request_id"]
        text = data.decode("utf-8", "replace")
        code = _error_code(status, data)
        if status == 403 and code == "AccessDenied":
            arn = principal.identity.get("arn") if principal else "unknown"
            msg = ("You are not authorized to perform this operation. User: %s is not authorized "
                   "to perform: ec2:%s because no identity-based policy allows the ec2:%s action"
                   % (arn, action, action))
            return error_response("ec2", "ec2", "UnauthorizedOperation", msg, 403, rid)
        text = re.sub(r"<requestId>[^<]*</requestId>", "<requestId>%s</requestId>" % rid, text,
                      count=1)
        text = re.sub(r"<RequestID>[^<]*</RequestID>", "<RequestID>%s</RequestID>" % rid, text,
                      count=1)
        out = text.encode("utf-8")
        hdrs = [(k, v) for k, v in headers
                if k.lower() not in ("content-length", "x-amzn-requestid")]
        hdrs.append(("x-amzn-RequestId", rid))
        hdrs.append(("Content-Length", str(len(out))))
        return status, hdrs, out

    def record_publish(self, ctx, flat, params, data):
        m = re.search(r"<MessageId>([^<]*)</MessageId>", data.decode("utf-8", "replace"))
        attrs = {}
        for entry in _aslist(nest_query(params).get("MessageAttributes", {}).get("entry")):
            if isinstance(entry, dict) and "Name" in entry:
                attrs[entry["Name"]] = entry.get("Value")
        with self.lock:
            self.published.append({
                "time": ctx["start"], "account": ctx["account"], "region": ctx["region"],
                "topic_arn": flat.get("TopicArn"), "target_arn": flat.get("TargetArn"),
                "subject": flat.get("Subject"), "message": flat.get("Message"),
                "message_attributes": attrs, "message_id": m.group(1) if m else None,
                "access_key_id": ctx.get("access_key_id")})

    # -- CloudTrail records ----------------------------------------------------
    def record_sg_call(self, ctx, environ, principal, action, params, status, data,
                       before, after):
        P = nest_query(params)
        region = ctx["region"]
        account = ctx["account"]
        rec = {"eventVersion": "1.10", "userIdentity": principal.user_identity(),
               "eventTime": iso(ctx["start"]), "eventSource": "ec2.amazonaws.com",
               "eventName": action, "awsRegion": region,
               "sourceIPAddress": environ.get("REMOTE_ADDR", "127.0.0.1")}
        ua = environ.get("HTTP_USER_AGENT")
        if ua is not None:
            rec["userAgent"] = ua
        ok = status < 300
        if not ok:
            code, message = _error_code_message(data)
            rec["errorCode"] = ("Client." if status < 500 else "Server.") + (code or "Unknown")
            rec["errorMessage"] = message or ""
        rec["requestParameters"] = ct_request_parameters(action, P)
        if ok:
            rid = ctx["request_id"]
            added = [r for i, r in after.items() if i not in before]
            removed = [r for i, r in before.items() if i not in after]
            if action.startswith("Authorize"):
                resp = {"requestId": rid, "_return": True,
                        "securityGroupRuleSet": _coll([ct_rule_item(r, region) for r in added])}
            elif action.startswith("Revoke"):
                resp = {"requestId": rid, "_return": True}
                if removed:
                    resp["revokedSecurityGroupRuleSet"] = {
                        "items": [ct_revoked_item(r) for r in removed]}
            elif action == "CreateSecurityGroup":
                resp = {"requestId": rid, "_return": True}
                m = re.search(r"<groupId>([^<]*)</groupId>", data.decode("utf-8", "replace"))
                if m:
                    resp["groupId"] = m.group(1)
            elif action == "ModifySecurityGroupRules":
                resp = {"ModifySecurityGroupRulesResponse": {
                    "xmlns": EC2_NS, "requestId": rid, "return": True}}
            else:
                resp = {"requestId": rid, "_return": True}
            rec["responseElements"] = resp
        else:
            rec["responseElements"] = None
        rec["requestID"] = ctx["request_id"]
        rec["eventID"] = str(uuid.uuid4())
        rec["readOnly"] = False
        rec["eventType"] = "AwsApiCall"
        rec["managementEvent"] = True
        rec["recipientAccountId"] = account
        rec["eventCategory"] = "Management"
        rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                             "clientProvidedHostHeader": environ.get("HTTP_HOST", "")}
        ev = make_stored(compact(rec), rec, account, region, t=ctx["start"])
        ev.username = principal.username
        self.add_event(ev)

    # -- LookupEvents -----------------------------------------------------------
    def moto_permits(self, principal, action, resource="*"):
        """moto's IAM verdict for a principal this layer serves itself."""
        if not self.auth or principal is None or not principal.moto_auth:
            return True
        from moto.iam.access_control import (CreateAccessKeyFailure, IAMPolicy,
                                             PermissionResult, create_access_key)
        headers = {"X-Amz-Security-Token": principal.token} if principal.token else {}
        try:
            key = create_access_key(principal.account, "aws", principal.access_key_id, headers)
            policies = key.collect_policies()
        except (CreateAccessKeyFailure, Exception):  # noqa: BLE001 - unknown to moto: deny
            return False
        permitted = False
        for policy in policies:
            verdict = IAMPolicy(policy).is_action_permitted(action, resource)
            if verdict == PermissionResult.DENIED:
                return False
            if verdict == PermissionResult.PERMITTED:
                permitted = True
        return permitted

    def lookup_events(self, ctx, proto, body, now, principal=None):
        acct, region = ctx["account"], ctx["region"]

        def err(code, msg, status=400):
            return error_response("json", "cloudtrail", code, msg, status, ctx["request_id"])
        with self.moto_lock:
            allowed = self.moto_permits(principal, "cloudtrail:LookupEvents")
        if not allowed:
            return err("AccessDeniedException",
                       "User: %s is not authorized to perform: cloudtrail:LookupEvents because "
                       "no identity-based policy allows the cloudtrail:LookupEvents action"
                       % principal.identity.get("arn"))
        with self.lock:
            rps = self.throttle_rps
            if rps > 0:
                q = self.lookup_calls.setdefault((acct, region), collections.deque())
                while q and q[0] <= now - 1.0:
                    q.popleft()
                if len(q) >= rps:
                    return err("ThrottlingException", "Rate exceeded")
                q.append(now)
        try:
            req = json.loads(body.decode("utf-8") or "{}") if body else {}
        except (ValueError, UnicodeDecodeError):
            return err("SerializationException", "Start of structure or map found where not "
                       "expected." if body.strip()[:1] != b"{" else "Malformed JSON body")
        if not isinstance(req, dict):
            return err("SerializationException", "Start of list found where not expected")
        attrs = req.get("LookupAttributes")
        if attrs is None:
            attrs = []
        if not isinstance(attrs, list):
            return err("SerializationException", "LookupAttributes must be a list")
        if len(attrs) > 1:
            return err("InvalidLookupAttributesException",
                       "You cannot specify more than one lookup attribute per request.")
        for a in attrs:
            if not isinstance(a, dict) or a.get("AttributeKey") not in LOOKUP_ATTRIBUTE_KEYS:
                return err("InvalidLookupAttributesException",
                           "Invalid lookup attribute key: %s"
                           % (a.get("AttributeKey") if isinstance(a, dict) else a))
            v = a.get("AttributeValue")
            if not isinstance(v, str) or not v or len(v) > 2000:
                return err("InvalidLookupAttributesException",
                           "AttributeValue must be a string of 1 to 2000 characters.")
        times = {}
        for k in ("StartTime", "EndTime"):
            v = req.get(k)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return err("SerializationException",
                           "Expected a timestamp (epoch seconds) for %s" % k)
            times[k] = float(v)
        st = times.get("StartTime", now - 90 * 86400)
        et = times.get("EndTime", float("inf"))
        if st > et:
            return err("InvalidTimeRangeException", "Start time must be before end time.")
        mr = req.get("MaxResults", 50)
        if isinstance(mr, bool) or not isinstance(mr, (int, float)) or mr != int(mr):
            return err("SerializationException", "MaxResults must be an integer")
        mr = int(mr)
        if mr < 1 or mr > 50:
            return err("InvalidMaxResultsException",
                       "Value %d for MaxResults is invalid. It must be between 1 and 50." % mr)
        cat = req.get("EventCategory")
        if cat is not None and cat != "insight":
            return err("InvalidEventCategoryException",
                       "Event category %s is not valid. Valid value is insight." % cat)
        ph = hashlib.sha256(compact([acct, region, attrs, req.get("StartTime"),
                                     req.get("EndTime"), cat, req.get("MaxResults")]).encode()
                            ).hexdigest()[:32]
        cursor = None
        tok = req.get("NextToken")
        if tok is not None:
            cursor = self._decode_token(tok, ph)
            if cursor is None:
                return err("InvalidNextTokenException",
                           "Invalid NextToken: a token is valid only with the same parameters "
                           "as the request that returned it.")
        if cat == "insight":
            return self._json({"Events": []}, ctx)
        attr = attrs[0] if attrs else None
        with self.lock:
            delay = self.delivery_delay
            cands = [e for e in self.events if e.account == acct and e.region == region]
        out = []
        for e in cands:
            d = delay if e.delay is None else e.delay
            if e.t + d > now or e.t < st or e.t > et:
                continue
            if attr is not None and not _attr_match(e, attr["AttributeKey"],
                                                    attr["AttributeValue"]):
                continue
            if cursor is not None and (e.t, e.seq) >= cursor:
                continue
            out.append(e)
        out.sort(key=lambda e: (e.t, e.seq), reverse=True)
        page = out[:mr]
        resp = {"Events": [e.to_lookup() for e in page]}
        if len(out) > mr:
            resp["NextToken"] = self._encode_token(ph, page[-1].t, page[-1].seq)
        return self._json(resp, ctx)

    @staticmethod
    def _json(obj, ctx):
        data = json.dumps(obj).encode("utf-8")
        return 200, [("Content-Type", "application/x-amz-json-1.1"),
                     ("x-amzn-RequestId", ctx["request_id"]),
                     ("Content-Length", str(len(data)))], data

    def _encode_token(self, ph, t, seq):
        payload = base64.urlsafe_b64encode(compact([ph, t, seq]).encode()).decode().rstrip("=")
        mac = hmac.new(self.token_key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        return payload + "." + mac

    def _decode_token(self, tok, ph):
        if not isinstance(tok, str) or "." not in tok:
            return None
        payload, _, mac = tok.rpartition(".")
        good = hmac.new(self.token_key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(good, mac):
            return None
        try:
            h, t, seq = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, TypeError):
            return None
        if h != ph:
            return None
        return (float(t), int(seq))

    # -- admin API ------------------------------------------------------------
    def admin(self, environ, path):
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            raw = self.read_body(environ)
            payload = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError) as e:
            return _admin_json({"error": "bad JSON: %s" % e}, 400)
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        name = path[len("/_localaws/"):].strip("/")
        try:
            fn = {
                ("GET", "health"): self.a_health,
                ("GET", "config"): self.a_get_config,
                ("POST", "config"): self.a_config,
                ("POST", "inject"): self.a_inject,
                ("GET", "events"): self.a_events,
                ("POST", "reset-events"): self.a_reset_events,
                ("GET", "requests"): self.a_requests,
                ("POST", "reset-log"): self.a_reset_log,
                ("GET", "fault"): self.a_list_faults,
                ("POST", "fault"): self.a_fault,
                ("DELETE", "fault"): self.a_clear_faults,
                ("POST", "fault/clear"): self.a_clear_faults,
                ("POST", "keys"): self.a_keys,
                ("GET", "sns-messages"): self.a_sns_messages,
                ("POST", "reset-sns-messages"): self.a_reset_sns_messages,
            }.get((method, name))
            if fn is None:
                return _admin_json({"error": "no such admin call: %s /_localaws/%s"
                                    % (method, name)}, 404)
            return _admin_json(fn(payload, query))
        except (ValueError, TypeError, KeyError) as e:
            return _admin_json({"error": "%s: %s" % (type(e).__name__, e)}, 400)

    def a_health(self, payload, query):
        return {"ok": True, "pid": os.getpid()}

    def a_get_config(self, payload, query):
        with self.lock:
            return {"delivery_delay": self.delivery_delay, "throttle_rps": self.throttle_rps,
                    "strict_sigv4": self.strict, "auth": self.auth,
                    "max_events": self.max_events, "default_account": DEFAULT_ACCOUNT,
                    "root_keys": sorted(self.root_keys)}

    def a_config(self, payload, query):
        with self.lock:
            if "delivery_delay" in payload:
                v = float(payload["delivery_delay"])
                if v < 0:
                    raise ValueError("delivery_delay must be >= 0")
                self.delivery_delay = v
            if "throttle_rps" in payload:
                v = float(payload["throttle_rps"])
                if v < 0:
                    raise ValueError("throttle_rps must be >= 0 (0 = off)")
                self.throttle_rps = v
                self.lookup_calls.clear()
            if "strict_sigv4" in payload:
                self.strict = bool(payload["strict_sigv4"])
            if "auth" in payload:
                self.auth = bool(payload["auth"])
                self._apply_auth()
        return self.a_get_config({}, {})

    def a_inject(self, payload, query):
        if isinstance(payload, list):
            payload = {"records": payload}
        elif isinstance(payload, dict) and "records" not in payload:
            payload = {"records": [payload]}
        records = payload.get("records")
        if not isinstance(records, list):
            raise ValueError("records must be a list")
        ids = []
        for r in records:
            if isinstance(r, str):
                raw = r
                try:
                    obj = json.loads(r)
                except ValueError:
                    obj = None
            elif isinstance(r, dict):
                raw = compact(r)
                obj = r
            else:
                raise ValueError("a record is a JSON object or a string")
            obj = obj if isinstance(obj, dict) else {}
            ui = obj.get("userIdentity") if isinstance(obj.get("userIdentity"), dict) else {}
            account = (payload.get("account") or obj.get("recipientAccountId")
                       or ui.get("accountId") or DEFAULT_ACCOUNT)
            region = payload.get("region") or obj.get("awsRegion") or DEFAULT_REGION
            t = payload.get("event_time")
            ev = make_stored(raw, obj, str(account), str(region),
                             t=float(t) if t is not None else None,
                             lookup=payload.get("lookup"), delay=payload.get("delay"))
            self.add_event(ev)
            ids.append(ev.event_id)
        return {"injected": len(ids), "event_ids": ids}

    def a_events(self, payload, query):
        with self.lock:
            evs = list(self.events)
        out = []
        for e in evs:
            if query.get("account") and e.account != query["account"]:
                continue
            if query.get("region") and e.region != query["region"]:
                continue
            if query.get("name") and e.event_name != query["name"]:
                continue
            out.append({"event_id": e.event_id, "event_name": e.event_name,
                        "account": e.account, "region": e.region, "event_time": e.t,
                        "username": e.username, "resources": e.resources,
                        "record": e.record, "raw": e.raw})
        return {"count": len(out), "events": out}

    def a_reset_events(self, payload, query):
        with self.lock:
            n = len(self.events)
            self.events.clear()
        return {"cleared": n}

    def a_requests(self, payload, query):
        with self.lock:
            reqs = list(self.requests)
        since = float(query.get("since", 0))
        out = [r for r in reqs
               if (not query.get("service") or r["service"] == query["service"])
               and (not query.get("action") or r["action"] == query["action"])
               and r["time"] >= since]
        return {"count": len(out), "requests": out}

    def a_reset_log(self, payload, query):
        with self.lock:
            n = len(self.requests)
            self.requests.clear()
        return {"cleared": n}

    def a_sns_messages(self, payload, query):
        with self.lock:
            msgs = list(self.published)
        out = [m for m in msgs
               if (not query.get("topic") or m["topic_arn"] == query["topic"])
               and m["time"] >= float(query.get("since", 0))]
        return {"count": len(out), "messages": out}

    def a_reset_sns_messages(self, payload, query):
        with self.lock:
            n = len(self.published)
            self.published.clear()
        return {"cleared": n}

    def a_list_faults(self, payload, query):
        with self.lock:
            return {"faults": [dict(f) for f in self.faults]}

    def a_fault(self, payload, query):
        specs = payload if isinstance(payload, list) else [payload]
        added = []
        for p in specs:
            if not isinstance(p, dict):
                raise ValueError("a fault is a JSON object")
            mode = p.get("mode") or ("error" if "error" in p else
                                     "respond" if "status" in p else None)
            if mode not in ("respond", "error", "hang", "reset", "close", "delay"):
                raise ValueError("mode must be respond|error|hang|reset|close|delay")
            when = p.get("when", "before")
            if when not in ("before", "after"):
                raise ValueError("when must be before|after")
            if mode == "delay" and when == "after":
                raise ValueError("a delay fault applies before the call")
            f = {"id": str(uuid.uuid4())[:8], "service": p.get("service", "*"),
                 "action": p.get("action", "*"), "count": int(p.get("count", 1)),
                 "mode": mode, "when": when, "used": 0}
            for k in ("status", "body", "content_type", "headers", "error", "seconds"):
                if k in p:
                    f[k] = p[k]
            if isinstance(f.get("error"), str):
                f["error"] = {"code": f["error"]}
            if "seconds" in f:
                f["seconds"] = float(f["seconds"])
            if f["count"] == 0:
                raise ValueError("count must be positive, or -1 for every request")
            with self.lock:
                self.faults.append(f)
            added.append(f)
        return {"added": added}

    def a_clear_faults(self, payload, query):
        with self.lock:
            n = len(self.faults)
            self.faults = []
        return {"cleared": n}

    def a_keys(self, payload, query):
        """Register a static credential: access_key_id, secret_access_key,
        optional session_token, expiration (epoch), account, and identity
        (a CloudTrail userIdentity object) or type/name shortcuts."""
        akid = payload["access_key_id"]
        secret = payload["secret_access_key"]
        account = str(payload.get("account", DEFAULT_ACCOUNT))
        ident = payload.get("identity")
        if ident is None:
            typ = payload.get("type", "Root")
            name = payload.get("name", "")
            if typ == "Root":
                ident = {"type": "Root", "principalId": account,
                         "arn": "arn:aws:iam::%s:root" % account, "accountId": account}
            elif typ == "IAMUser":
                ident = {"type": "IAMUser", "principalId": payload.get("principal_id",
                                                                      "AIDA" + akid[-16:]),
                         "arn": "arn:aws:iam::%s:user/%s" % (account, name),
                         "accountId": account, "userName": name}
            elif typ == "AssumedRole":
                role, _, session = name.partition("/")
                rid = payload.get("principal_id", _stable_role_id(role))
                ident = {"type": "AssumedRole", "principalId": "%s:%s" % (rid, session),
                         "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role, session),
                         "accountId": account,
                         "sessionContext": {
                             "sessionIssuer": {"type": "Role", "principalId": rid,
                                               "arn": "arn:aws:iam::%s:role/%s" % (account, role),
                                               "accountId": account, "userName": role},
                             "webIdFederationData": {},
                             "attributes": {"creationDate": iso(time.time()),
                                            "mfaAuthenticated": "false"}}}
            else:
                raise ValueError("type must be Root, IAMUser or AssumedRole (or give identity)")
        username = payload.get("username") or derive_username({"userIdentity": ident})
        p = Principal("static", akid, secret, account, ident, username,
                      token=payload.get("session_token"),
                      expiration=payload.get("expiration"), moto_auth=False)
        with self.lock:
            self.static_keys[akid] = p
        return {"registered": akid, "account": account, "identity": p.user_identity()}


def _attr_match(e, key, value):
    if key == "EventId":
        return e.event_id == value
    if key == "EventName":
        return e.event_name == value
    if key == "EventSource":
        return e.event_source == value
    if key == "ReadOnly":
        return e.read_only == value
    if key == "AccessKeyId":
        return e.access_key_id == value
    if key == "Username":
        return e.username == value
    if key == "ResourceName":
        return any(r.get("ResourceName") == value for r in e.resources if isinstance(r, dict))
    if key == "ResourceType":
        return any(r.get("ResourceType") == value for r in e.resources if isinstance(r, dict))
    return False


def _error_code_message(data):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    code = re.search(r"<Code>([^<]*)</Code>", text)
    msg = re.search(r"<Message>([^<]*)</Message>", text)
    if code:
        from xml.sax.saxutils import unescape
        return unescape(code.group(1)), unescape(msg.group(1)) if msg else ""
    try:
        obj = json.loads(text)
        if isinstance(obj, dict) and "__type" in obj:
            return (str(obj["__type"]).split("#")[-1],
                    str(obj.get("message", obj.get("Message", ""))))
    except ValueError:
        pass
    return None, text[:200]


def _error_code(status, data):
    if status < 400:
        return None
    return _error_code_message(data)[0]


def _admin_json(obj, status=200):
    data = (json.dumps(obj, indent=1, default=str) + "\n").encode("utf-8")
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))], data


# ----------------------------------------------------------------------------
# server

def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_server(app, host, port):
    from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def make_environ(self):
            env = super().make_environ()
            env["localaws.handler"] = self
            return env

        def log_request(self, code="-", size="-"):
            log.debug("%s %s -> %s", self.command, self.path, code)

    class Server(ThreadedWSGIServer):
        request_queue_size = 128

        def finish_request(self, request, client_address):
            handler = self.RequestHandlerClass(request, client_address, self)
            if getattr(handler, "localaws_drop", False):
                self._drop.add(id(request))

        def shutdown_request(self, request):
            if id(request) in self._drop:
                self._drop.discard(id(request))
                try:
                    request.close()   # SO_LINGER 0 was set for a reset: the kernel sends RST
                except OSError:
                    pass
                return
            super().shutdown_request(request)

    Server._drop = set()
    return Server(host, port, app, handler=Handler)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True, help="TCP port (0: any free port)")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    ap.add_argument("--delivery-delay", type=float, default=0.0,
                    help="seconds before a record becomes visible to LookupEvents")
    ap.add_argument("--throttle-rps", type=float, default=2.0,
                    help="LookupEvents calls per second per account and region (0: off)")
    ap.add_argument("--strict-sigv4", dest="strict_sigv4", action="store_true", default=True,
                    help="verify every signature (default)")
    ap.add_argument("--no-strict-sigv4", dest="strict_sigv4", action="store_false",
                    help="no checks: unsigned and badly signed requests pass to moto")
    ap.add_argument("--auth", action="store_true",
                    help="let moto enforce IAM policies of IAM users and roles")
    ap.add_argument("--root-key", action="append", metavar="ID:SECRET[:ACCOUNT]",
                    help="an extra root access key (repeatable)")
    ap.add_argument("--max-events", type=int, default=20000,
                    help="records kept (oldest dropped first)")
    ap.add_argument("--max-requests", type=int, default=10000,
                    help="request-log entries kept")
    ap.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = ap.parse_args(argv)
    if not _is_loopback(args.host):
        print("localaws: refusing to bind %s: loopback addresses only" % args.host,
              file=sys.stderr)
        return 64
    os.environ.pop("MOTO_ACCOUNT_ID", None)     # the account comes from each access key
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="localaws: %(levelname)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    app = LocalAWS(args)
    try:
        server = build_server(app, args.host, args.port)
    except OSError as e:
        print("localaws: cannot listen on %s:%d: %s" % (args.host, args.port, e),
              file=sys.stderr)
        return 1

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    print("READY %d" % server.server_port, flush=True)
    while not stop.wait(1.0):
        pass
    app.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
