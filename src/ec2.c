/* ec2.c: revoke exactly the rules a plan names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserr.h"
#include "ec2.h"
#include "log.h"
#include "xml.h"

static const char *
proto_text(int proto, char *buf, size_t size)
{
	switch (proto) {
	case SG_PROTO_ALL:
		return "-1";
	case SG_PROTO_TCP:
		return "tcp";
	case SG_PROTO_UDP:
		return "udp";
	case SG_PROTO_ICMP:
		return "icmp";
	case SG_PROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, size, "%d", proto);
		return buf;
	}
}

static void
permission_params(int n, const struct sg_rule *r, struct sg_kvlist *out)
{
	char num[16], cidr[80];

	kvlist_addf(out, proto_text(r->proto, num, sizeof(num)),
	    "IpPermissions.%d.IpProtocol", n);
	/*
	 * Ports mean something for tcp, udp and the ICMPs (type/code). For
	 * other protocol numbers EC2 ignores them and stores -1/-1, which is
	 * what from/to hold then: sent too, as some EC2 implementations
	 * (moto) cannot match such a rule without them. "all" goes without.
	 */
	if (r->proto != SG_PROTO_ALL) {
		snprintf(num, sizeof(num), "%d", r->from_port);
		kvlist_addf(out, num, "IpPermissions.%d.FromPort", n);
		snprintf(num, sizeof(num), "%d", r->to_port);
		kvlist_addf(out, num, "IpPermissions.%d.ToPort", n);
	}
	if (r->cidr_text[0] != '\0')
		sg_strlcpy(cidr, r->cidr_text, sizeof(cidr));
	else
		rule_cidr_format(r, cidr, sizeof(cidr));
	switch (r->src) {
	case SG_SRC_CIDR4:
		kvlist_addf(out, cidr, "IpPermissions.%d.IpRanges.1.CidrIp", n);
		break;
	case SG_SRC_CIDR6:
		kvlist_addf(out, cidr,
		    "IpPermissions.%d.Ipv6Ranges.1.CidrIpv6", n);
		break;
	case SG_SRC_PREFIX_LIST:
		kvlist_addf(out, r->ref_id,
		    "IpPermissions.%d.PrefixListIds.1.PrefixListId", n);
		break;
	case SG_SRC_GROUP:
		kvlist_addf(out, r->ref_id,
		    "IpPermissions.%d.Groups.1.GroupId", n);
		if (r->user_id[0] != '\0')
			kvlist_addf(out, r->user_id,
			    "IpPermissions.%d.Groups.1.UserId", n);
		break;
	case SG_SRC_ANY:
		break;
	}
}

/* Public faces of the two helpers above, for the restore and modify
 * parameter builders (ec2params.c). */
const char *
ec2_proto_text(int proto, char *buf, size_t size)
{
	return proto_text(proto, buf, size);
}

void
ec2_permission_params(int n, const struct sg_rule *r, struct sg_kvlist *out)
{
	permission_params(n, r, out);
}

void
ec2_revoke_params(const char *group_id, const struct sg_rule *rules,
    size_t n, bool by_id, struct sg_kvlist *out)
{
	size_t i;

	kvlist_add(out, "GroupId", group_id);
	for (i = 0; i < n; i++) {
		if (by_id)
			kvlist_addf(out, rules[i].rule_id,
			    "SecurityGroupRuleId.%zu", i + 1);
		else
			permission_params((int)i + 1, &rules[i], out);
	}
}

bool
ec2_code_is_gone(const char *code)
{
	return sg_streq(code, "InvalidPermission.NotFound") ||
	    sg_streq(code, "InvalidSecurityGroupRuleId.NotFound");
}

/* What a write's answer says: its root element, <return>, and the
 * entries of <unknownIpPermissionSet> (permissions EC2 did not find,
 * which on some groups is how "already gone" is said). */
struct write_answer {
	char	root[64];
	int	ret;		/* -1: no <return>; 0: false; 1: true */
	int	unknown;
};

static int
answer_start(void *arg, const char *path, const char *name, int depth)
{
	struct write_answer *w = arg;

	(void)path;
	if (depth == 1)
		sg_strlcpy(w->root, name, sizeof(w->root));
	return 0;
}

static int
answer_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct write_answer *w = arg;

	if (xml_path_match(path, "unknownIpPermissionSet/item"))
		w->unknown++;
	else if (depth == 2 && strcmp(name, "return") == 0)
		w->ret = len == 4 && memcmp(text, "true", 4) == 0 ? 1 :
		    len == 5 && memcmp(text, "false", 5) == 0 ? 0 : -1;
	return 0;
}

int
ec2_parse_write_answer(const char *doc, size_t len, const char *action,
    int *unknown, bool *ret_false, char *why, size_t whylen)
{
	struct write_answer w = { .ret = -1 };
	struct sg_xml_handler h = { answer_start, answer_end, &w };
	char xerr[128], want[96];

	*unknown = 0;
	*ret_false = false;
	snprintf(want, sizeof(want), "%sResponse", action);
	if (xml_parse(doc, len, &h, xerr, sizeof(xerr)) == -1) {
		sg_errf(why, whylen, "an unreadable answer (%s)", xerr);
		return -1;
	}
	if (strcmp(w.root, want) != 0) {
		sg_errf(why, whylen, "an answer that is not EC2's to %s "
		    "(<%s>, not <%s>)", action, w.root, want);
		return -1;
	}
	if (w.ret == -1) {
		sg_errf(why, whylen, "an answer to %s without a true or false "
		    "<return>", action);
		return -1;
	}
	*unknown = w.unknown;
	*ret_false = w.ret == 0;
	return 0;
}

void
ec2_check_write(const struct sg_aws_response *resp, const char *action,
    struct sg_aws_error *err, int *unknown, bool *ret_false)
{
	char why[256];

	*unknown = 0;
	*ret_false = false;
	if (resp->err.kind != SG_AWS_OK || ec2_parse_write_answer(
	    resp->body.data ? resp->body.data : "", resp->body.len, action,
	    unknown, ret_false, why, sizeof(why)) == 0)
		return;
	err->kind = SG_AWS_ERR_BAD_RESPONSE;
	snprintf(err->message, sizeof(err->message), "HTTP %ld with %s; it "
	    "may not have taken effect", resp->http_status, why);
}

/*
 * Is a failed revoke final? Only an answer about the request itself is: the
 * action is denied, the request is invalid, the group is gone. A failure on
 * the way (network, throttling, 5xx, an answer that cannot be read or is
 * too large), of sgguard's own clock or credentials, or a stop request says
 * nothing about the rule: the revoke is tried again next cycle. Revoking
 * again is safe: a rule already gone counts as reverted.
 */
bool
ec2_error_final(const struct sg_aws_error *e)
{
	switch (e->kind) {
	case SG_AWS_ERR_DENIED:
	case SG_AWS_ERR_CLIENT:
	case SG_AWS_ERR_NOT_FOUND:
		return true;
	default:
		return false;
	}
}

/* One call for rules[0..n). Returns the error kind. */
static enum sg_aws_error_kind
revoke_call(struct sg_aws *aws, sg_creds_fn creds, void *creds_arg,
    const char *region, const char *group_id, const struct sg_rule *rules,
    size_t n, bool egress, bool by_id, struct sg_aws_error *err, int *unknown,
    bool *ret_false)
{
	struct sg_aws_request req = {
		.service = SG_AWS_EC2,
		.creds = creds,
		.creds_arg = creds_arg,
		.region = region,
		.action = egress ? "RevokeSecurityGroupEgress" :
		    "RevokeSecurityGroupIngress",
	};
	struct sg_aws_response resp;
	struct sg_kvlist params = { 0 };

	ec2_revoke_params(group_id, rules, n, by_id, &params);
	req.params = params.kv;
	req.nparams = params.n;
	aws_call(aws, &req, &resp);
	*err = resp.err;
	ec2_check_write(&resp, req.action, err, unknown, ret_false);
	kvlist_free(&params);
	aws_response_free(&resp);
	return err->kind;
}

static bool
all_have_ids(const struct sg_rule *rules, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rules[i].rule_id[0] == '\0')
			return false;
	return n > 0;
}

void
ec2_revoke(struct sg_aws *aws, sg_creds_fn creds, void *creds_arg,
    const char *region, const char *group_id, const struct sg_rule *rules,
    size_t n, bool egress, struct sg_revoke_result *res)
{
	struct sg_aws_error err;
	enum sg_aws_error_kind kind;
	bool by_id = all_have_ids(rules, n), transient = false;
	size_t i;
	int unknown;
	bool ret_false;

	memset(res, 0, sizeof(*res));
	res->n = n;
	res->ok = xcalloc(n, sizeof(*res->ok));
	res->status = SG_REVOKE_DONE;
	if (n == 0)
		return;
	kind = revoke_call(aws, creds, creds_arg, region, group_id, rules, n,
	    egress, by_id, &err, &unknown, &ret_false);
	if (kind == SG_AWS_OK) {
		for (i = 0; i < n; i++)
			res->ok[i] = true;
		res->gone = unknown;
		res->unconfirmed = unknown > 0 || ret_false;
		return;
	}
	/* The group itself is gone (deleted since the record): so are its
	 * rules. Its record came from this account and region, so this is
	 * not a group looked for in the wrong place. */
	if (sg_streq(err.code, "InvalidGroup.NotFound")) {
		for (i = 0; i < n; i++)
			res->ok[i] = true;
		res->gone = (int)n;
		res->group_gone = true;
		return;
	}
	/*
	 * One missing rule fails the whole call; then, and after any other
	 * refusal of a multi-rule call, go rule by rule so that every rule
	 * that can be removed is removed and each failure is known. Not
	 * after a transient failure (no answer, throttled, 5xx, after all
	 * the call's retries): each rule would fail as slowly; the whole
	 * revert is tried again next cycle.
	 */
	if (ec2_code_is_gone(err.code) || (n > 1 && ec2_error_final(&err))) {
		for (i = 0; i < n; i++) {
			kind = n == 1 ? kind : revoke_call(aws, creds,
			    creds_arg, region, group_id, &rules[i], 1, egress,
			    by_id, &err, &unknown, &ret_false);
			if (kind == SG_AWS_OK) {
				res->ok[i] = true;
				res->gone += unknown;
				if (unknown > 0 || ret_false)
					res->unconfirmed = true;
			} else if (ec2_code_is_gone(err.code)) {
				res->ok[i] = true;
				res->gone++;
				/* Not found by id is gone; by its form, it
				 * may be a form that does not match. */
				if (!by_id)
					res->unconfirmed = true;
			} else {
				if (!ec2_error_final(&err))
					transient = true;
				awserr_format(&err, res->error,
				    sizeof(res->error));
				res->kind = err.kind;
			}
		}
	} else {
		if (!ec2_error_final(&err))
			transient = true;
		awserr_format(&err, res->error, sizeof(res->error));
		res->kind = err.kind;
	}
	for (i = 0; i < n; i++)
		if (!res->ok[i]) {
			res->status = transient ? SG_REVOKE_RETRY :
			    SG_REVOKE_FAILED;
			break;
		}
}

void
ec2_result_free(struct sg_revoke_result *res)
{
	free(res->ok);
	memset(res, 0, sizeof(*res));
}
