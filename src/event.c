/* event.c: one CloudTrail record (JSON text) into a struct sg_event.
 *
 * The record is untrusted input: every field may be missing, null, of the
 * wrong type, huge or malformed. Only a record that is not a JSON object or
 * lacks eventID/eventName/eventSource is refused; anything else is read as
 * far as it goes, so the caller always learns that the call happened, and
 * what could not be read is counted (nbad_rules) and described
 * (parse_warning).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "jsonload.h"
#include "rule.h"
#include "util.h"

/* Longest string kept from the record; longer ones are cut (and noted). */
#define EVENT_TEXT_MAX	4096
/* parse_warning stops growing here. */
#define EVENT_WARN_MAX	1024
/* EC2 allows at most 1000 rules per group; anything beyond is hostile. */
#define EVENT_RULES_MAX	4096

/*
 * Duplicate keys are refused: two parsers could read different values from
 * one record, and a decision about who changed what must not be ambiguous.
 * NUL escapes are accepted (and become '?') so a stray "\u0000" in some
 * caller-supplied text cannot hide the whole record.
 */
#define EVENT_JSON_FLAGS	(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

struct event_ctx {
	struct sg_event	*ev;
	struct sg_buf	 warn;
	size_t		 rules_cap;
	bool		 warn_full;
};

static void	 event_warn(struct event_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 event_bad(struct event_ctx *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 event_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
event_warn(struct event_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->warn_full)
		return;
	if (c->warn.len >= EVENT_WARN_MAX) {
		buf_puts(&c->warn, "; ...");
		c->warn_full = true;
		return;
	}
	if (c->warn.len > 0)
		buf_puts(&c->warn, "; ");
	va_start(ap, fmt);
	buf_vprintf(&c->warn, fmt, ap);
	va_end(ap);
}

/* n rules of the record could not be read. */
static void
event_bad(struct event_ctx *c, size_t n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->ev->nbad_rules += n;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event_warn(c, "%s", msg);
}

/* Copy untrusted text: cut at EVENT_TEXT_MAX on a UTF-8 boundary, embedded
 * NULs made '?' so C string handling cannot silently shorten it. */
static char *
event_text(struct event_ctx *c, const char *s, size_t len, const char *path)
{
	size_t n = len, i;
	char *out;

	if (n > EVENT_TEXT_MAX) {
		n = EVENT_TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		event_warn(c, "%s cut to %zu of %zu bytes", path, n, len);
	}
	out = xmalloc(n + 1);
	memcpy(out, s, n);
	out[n] = '\0';
	for (i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = '?';
	return out;
}

/* A text field: "" when absent or null; numbers are written out (some
 * publishers turn account ids into numbers). */
static char *
event_get_text(struct event_ctx *c, const json_t *obj, const char *key,
    const char *path)
{
	const json_t *v = json_object_get(obj, key);
	char num[32];

	if (v == NULL || json_is_null(v))
		return xstrdup("");
	if (json_is_string(v))
		return event_text(c, json_string_value(v),
		    json_string_length(v), path);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return xstrdup(num);
	}
	event_warn(c, "%s is not a string", path);
	return xstrdup("");
}

/* An identifier inside a rule: a string without NULs that fits size, or
 * NULL. Numbers are accepted for account ids. */
static const char *
event_ident(const json_t *obj, const char *key, char *num, size_t numsize)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (json_is_integer(v) && num != NULL) {
		snprintf(num, numsize, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return num;
	}
	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/*
 * A port, ICMP type or code: a JSON integer, an integral real, or a decimal
 * string ("22", "-1"). 1 when absent or null, 0 with *out, -1 when bad.
 */
static int
event_get_int(const json_t *v, int *out)
{
	const char *s;
	long long n;
	double d;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		if (!(d >= -1e6 && d <= 1e6) || (double)(long long)d != d)
			return -1;
		n = (long long)d;
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		i = (s[0] == '-') ? 1 : 0;
		if (s[i] == '\0' || strlen(s + i) > 6 ||
		    strlen(s) != json_string_length(v))
			return -1;
		for (; s[i] != '\0'; i++)
			if (s[i] < '0' || s[i] > '9')
				return -1;
		n = strtoll(s, NULL, 10);
	} else
		return -1;
	if (n < INT_MIN || n > INT_MAX)
		return -1;
	*out = (int)n;
	return 0;
}

/* The array of a {"items":[...]} collection; NULL when empty ({}), absent
 * or malformed (noted). A bare array is taken as it is. */
static const json_t *
event_items(struct event_ctx *c, const json_t *coll, const char *path)
{
	const json_t *items;

	if (coll == NULL || json_is_null(coll))
		return NULL;
	if (json_is_array(coll))
		return coll;
	if (!json_is_object(coll)) {
		event_warn(c, "%s is not a collection", path);
		return NULL;
	}
	items = json_object_get(coll, "items");
	if (items == NULL || json_is_null(items))
		return NULL;
	if (!json_is_array(items)) {
		event_warn(c, "%s.items is not an array", path);
		return NULL;
	}
	return items;
}

static size_t
event_nitems(const json_t *items)
{
	return items == NULL ? 0 : json_array_size(items);
}

static void
event_rule_push(struct event_ctx *c, const struct sg_rule *r)
{
	struct sg_event *ev = c->ev;

	if (ev->nrules >= EVENT_RULES_MAX) {
		event_bad(c, 1, "more than %d rules in one record",
		    EVENT_RULES_MAX);
		return;
	}
	if (ev->nrules == c->rules_cap) {
		c->rules_cap = c->rules_cap ? c->rules_cap * 2 : 4;
		ev->rules = xreallocarray(ev->rules, c->rules_cap,
		    sizeof(*ev->rules));
	}
	ev->rules[ev->nrules++] = *r;
}

/*
 * Protocol and ports into t, normalised as rule.h describes. 0, or -1 with
 * the reason in why.
 */
static int
event_proto_ports(struct event_ctx *c, struct sg_rule *t, const json_t *pv,
    const json_t *fromv, const json_t *tov, const char *where, char *why,
    size_t whysize)
{
	char name[16];
	const char *s;
	int from = -1, to = -1, rf, rt;
	size_t i, len;

	if (json_is_integer(pv)) {
		snprintf(name, sizeof(name), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(pv));
	} else if (json_is_string(pv)) {
		s = json_string_value(pv);
		len = json_string_length(pv);
		if (len == 0 || len >= sizeof(name) || strlen(s) != len) {
			snprintf(why, whysize, "bad ipProtocol");
			return -1;
		}
		/* EC2 takes "TCP" as well as "tcp". */
		for (i = 0; i <= len; i++)
			name[i] = (s[i] >= 'A' && s[i] <= 'Z') ?
			    (char)(s[i] - 'A' + 'a') : s[i];
	} else {
		snprintf(why, whysize, "%s ipProtocol",
		    pv == NULL ? "no" : "bad");
		return -1;
	}
	if (rule_proto_parse(name, &t->proto) == -1) {
		snprintf(why, whysize, "unknown protocol \"%s\"", name);
		return -1;
	}
	rf = event_get_int(fromv, &from);
	rt = event_get_int(tov, &to);
	if (rf == -1 || rt == -1) {
		snprintf(why, whysize, "bad fromPort/toPort");
		return -1;
	}

	switch (t->proto) {
	case SG_PROTO_TCP:
	case SG_PROTO_UDP:
		if (rf == 1 || rt == 1 || (from == -1 && to == -1)) {
			/* Assume the widest range: judged strictly. */
			event_warn(c, "%s: %s rule without ports, taken as "
			    "0-65535", where, name);
			from = 0;
			to = 65535;
		}
		if (from < 0 || from > 65535 || to < 0 || to > 65535 ||
		    from > to) {
			snprintf(why, whysize, "bad port range %d-%d",
			    from, to);
			return -1;
		}
		break;
	case SG_PROTO_ICMP:
	case SG_PROTO_ICMPV6:
		/* from = type, to = code, -1 = any. */
		if (from < -1 || from > 255 || to < -1 || to > 255) {
			snprintf(why, whysize, "bad icmp type/code %d/%d",
			    from, to);
			return -1;
		}
		break;
	default:
		/* "all" and other protocols have no ports. */
		from = to = -1;
		break;
	}
	t->from_port = from;
	t->to_port = to;
	return 0;
}

/* Set a CIDR source; 0 / -1. */
static int
event_src_cidr(struct sg_rule *r, const char *text, enum sg_source_kind want)
{
	if (text == NULL || rule_cidr_parse(text, r) == -1 || r->src != want)
		return -1;
	return 0;
}

/* Set a prefix-list or group source; 0 / -1. */
static int
event_src_ref(struct sg_rule *r, enum sg_source_kind kind, const char *id,
    const char *user)
{
	if (id == NULL || *id == '\0' || strlen(id) >= sizeof(r->ref_id))
		return -1;
	if (user != NULL && strlen(user) >= sizeof(r->user_id))
		return -1;
	r->src = kind;
	sg_strlcpy(r->ref_id, id, sizeof(r->ref_id));
	sg_strlcpy(r->user_id, user != NULL ? user : "", sizeof(r->user_id));
	return 0;
}

/* One requestParameters.ipPermissions item: one rule per source. */
static void
event_permission(struct event_ctx *c, const json_t *perm, size_t idx)
{
	const json_t *v4, *v6, *pl, *gr, *it;
	struct sg_rule t, r;
	char where[64], why[128], num[32];
	const char *s, *user;
	size_t nsrc, i;

	snprintf(where, sizeof(where), "ipPermissions item %zu", idx + 1);
	if (!json_is_object(perm)) {
		event_bad(c, 1, "%s is not an object", where);
		return;
	}
	v4 = event_items(c, json_object_get(perm, "ipRanges"), "ipRanges");
	v6 = event_items(c, json_object_get(perm, "ipv6Ranges"),
	    "ipv6Ranges");
	pl = event_items(c, json_object_get(perm, "prefixListIds"),
	    "prefixListIds");
	gr = event_items(c, json_object_get(perm, "groups"), "groups");
	nsrc = event_nitems(v4) + event_nitems(v6) + event_nitems(pl) +
	    event_nitems(gr);

	memset(&t, 0, sizeof(t));
	t.egress = c->ev->egress;
	if (event_proto_ports(c, &t, json_object_get(perm, "ipProtocol"),
	    json_object_get(perm, "fromPort"), json_object_get(perm, "toPort"),
	    where, why, sizeof(why)) == -1) {
		event_bad(c, nsrc ? nsrc : 1, "%s: %s", where, why);
		return;
	}
	if (nsrc == 0) {
		event_bad(c, 1, "%s: no source", where);
		return;
	}

	for (i = 0; i < event_nitems(v4); i++) {
		r = t;
		it = json_array_get(v4, i);
		if (event_src_cidr(&r, event_ident(it, "cidrIp", NULL, 0),
		    SG_SRC_CIDR4) == -1)
			event_bad(c, 1, "%s: bad cidrIp", where);
		else
			event_rule_push(c, &r);
	}
	for (i = 0; i < event_nitems(v6); i++) {
		r = t;
		it = json_array_get(v6, i);
		if (event_src_cidr(&r, event_ident(it, "cidrIpv6", NULL, 0),
		    SG_SRC_CIDR6) == -1)
			event_bad(c, 1, "%s: bad cidrIpv6", where);
		else
			event_rule_push(c, &r);
	}
	for (i = 0; i < event_nitems(pl); i++) {
		r = t;
		it = json_array_get(pl, i);
		if (event_src_ref(&r, SG_SRC_PREFIX_LIST,
		    event_ident(it, "prefixListId", NULL, 0), NULL) == -1)
			event_bad(c, 1, "%s: bad prefixListId", where);
		else
			event_rule_push(c, &r);
	}
	for (i = 0; i < event_nitems(gr); i++) {
		r = t;
		it = json_array_get(gr, i);
		s = event_ident(it, "groupId", NULL, 0);
		user = event_ident(it, "userId", num, sizeof(num));
		if (s == NULL && event_ident(it, "groupName", NULL, 0) != NULL)
			/* Default VPC callers may name the group only. */
			event_bad(c, 1, "%s: source group given by name only, "
			    "no group id", where);
		else if (event_src_ref(&r, SG_SRC_GROUP, s, user) == -1)
			event_bad(c, 1, "%s: bad groupId", where);
		else
			event_rule_push(c, &r);
	}
}

/*
 * The legacy top-level form: cidrIp/ipProtocol/fromPort/toPort, or
 * sourceSecurityGroupName/OwnerId (a group by name: nothing to match an
 * sg- pattern against, nothing to revoke by id).
 */
static void
event_legacy(struct event_ctx *c, const json_t *rp)
{
	const json_t *cidr = json_object_get(rp, "cidrIp");
	const json_t *sgname = json_object_get(rp, "sourceSecurityGroupName");
	const json_t *pv = json_object_get(rp, "ipProtocol");
	struct sg_rule t;
	char why[128];

	if ((cidr == NULL || json_is_null(cidr)) &&
	    (sgname == NULL || json_is_null(sgname)) &&
	    (pv == NULL || json_is_null(pv)))
		return;
	if (sgname != NULL && !json_is_null(sgname)) {
		event_bad(c, 1, "legacy sourceSecurityGroupName form: source "
		    "group given by name only, no group id");
		if (cidr == NULL || json_is_null(cidr))
			return;
	}
	memset(&t, 0, sizeof(t));
	t.egress = c->ev->egress;
	if (event_proto_ports(c, &t, pv, json_object_get(rp, "fromPort"),
	    json_object_get(rp, "toPort"), "legacy form", why,
	    sizeof(why)) == -1) {
		event_bad(c, 1, "legacy form: %s", why);
		return;
	}
	if (cidr == NULL || json_is_null(cidr)) {
		event_bad(c, 1, "legacy form: no cidrIp");
		return;
	}
	if (event_src_cidr(&t, event_ident(rp, "cidrIp", NULL, 0),
	    SG_SRC_CIDR4) == -1) {
		event_bad(c, 1, "legacy form: bad cidrIp");
		return;
	}
	event_rule_push(c, &t);
}

/* One responseElements.securityGroupRuleSet item: exactly one rule. */
static void
event_response_rule(struct event_ctx *c, const json_t *it, size_t idx)
{
	const json_t *eg, *ref;
	struct sg_rule r;
	char where[96], why[128], num[32];
	const char *id, *s;

	id = event_ident(it, "securityGroupRuleId", NULL, 0);
	snprintf(where, sizeof(where), "securityGroupRuleSet item %zu%s%.32s%s",
	    idx + 1, id ? " (" : "", id ? id : "", id ? ")" : "");
	if (!json_is_object(it)) {
		event_bad(c, 1, "%s is not an object", where);
		return;
	}
	memset(&r, 0, sizeof(r));
	eg = json_object_get(it, "isEgress");
	r.egress = json_is_boolean(eg) ? json_is_true(eg) : c->ev->egress;
	if (id != NULL && strlen(id) < sizeof(r.rule_id))
		sg_strlcpy(r.rule_id, id, sizeof(r.rule_id));
	else
		event_warn(c, "%s: no usable securityGroupRuleId", where);
	if (event_proto_ports(c, &r, json_object_get(it, "ipProtocol"),
	    json_object_get(it, "fromPort"), json_object_get(it, "toPort"),
	    where, why, sizeof(why)) == -1) {
		event_bad(c, 1, "%s: %s", where, why);
		return;
	}
	if ((s = event_ident(it, "cidrIpv4", NULL, 0)) != NULL) {
		if (event_src_cidr(&r, s, SG_SRC_CIDR4) == -1) {
			event_bad(c, 1, "%s: bad cidrIpv4", where);
			return;
		}
	} else if ((s = event_ident(it, "cidrIpv6", NULL, 0)) != NULL) {
		if (event_src_cidr(&r, s, SG_SRC_CIDR6) == -1) {
			event_bad(c, 1, "%s: bad cidrIpv6", where);
			return;
		}
	} else if ((s = event_ident(it, "prefixListId", NULL, 0)) != NULL) {
		if (event_src_ref(&r, SG_SRC_PREFIX_LIST, s, NULL) == -1) {
			event_bad(c, 1, "%s: bad prefixListId", where);
			return;
		}
	} else if ((ref = json_object_get(it, "referencedGroupInfo")) !=
	    NULL) {
		if (event_src_ref(&r, SG_SRC_GROUP,
		    event_ident(ref, "groupId", NULL, 0),
		    event_ident(ref, "userId", num, sizeof(num))) == -1) {
			event_bad(c, 1, "%s: bad referencedGroupInfo", where);
			return;
		}
	} else if ((s = event_ident(it, "referencedGroupId", NULL, 0)) !=
	    NULL) {
		/* The shape of revokedSecurityGroupRuleSet items. */
		if (event_src_ref(&r, SG_SRC_GROUP, s, NULL) == -1) {
			event_bad(c, 1, "%s: bad referencedGroupId", where);
			return;
		}
	} else {
		event_bad(c, 1, "%s: no source", where);
		return;
	}
	event_rule_push(c, &r);
}

bool
event_is_rule_call(const char *name)
{
	static const char *const calls[] = {
		"AuthorizeSecurityGroupIngress",
		"AuthorizeSecurityGroupEgress",
		"RevokeSecurityGroupIngress",
		"RevokeSecurityGroupEgress",
	};
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; i < SG_ARRAY_LEN(calls); i++)
		if (strcmp(name, calls[i]) == 0)
			return true;
	return false;
}

/* Group id and rules of a security-group rule call. */
static void
event_rules(struct event_ctx *c, const json_t *root)
{
	struct sg_event *ev = c->ev;
	const json_t *rp, *re, *set, *perms;
	const char *gid, *set_name;
	size_t i, n;

	rp = json_object_get(root, "requestParameters");
	re = json_object_get(root, "responseElements");
	if (rp != NULL && !json_is_null(rp) && !json_is_object(rp))
		event_warn(c, "requestParameters is not an object");
	if (re != NULL && !json_is_null(re) && !json_is_object(re))
		event_warn(c, "responseElements is not an object");

	ev->group_id = event_get_text(c, rp, "groupId",
	    "requestParameters.groupId");
	/* A number is no group id (other types are said above): say so,
	 * and let the answer's rule set name the group. */
	if (json_is_integer(json_object_get(rp, "groupId"))) {
		event_warn(c, "requestParameters.groupId is a number, not a "
		    "group id");
		ev->group_id[0] = '\0';
	}
	ev->group_name = event_get_text(c, rp, "groupName",
	    "requestParameters.groupName");
	/* CreateSecurityGroup: the new group's id is only in the answer. */
	if (*ev->group_id == '\0' &&
	    sg_streq(ev->event_name, "CreateSecurityGroup")) {
		free(ev->group_id);
		ev->group_id = event_get_text(c, re, "groupId",
		    "responseElements.groupId");
	}
	if (!event_is_rule_call(ev->event_name))
		return;

	/* Revoke answers name what was removed under another key. */
	set_name = strncmp(ev->event_name, "Revoke", 6) == 0 ?
	    "revokedSecurityGroupRuleSet" : "securityGroupRuleSet";
	set = event_items(c, json_object_get(re, set_name), set_name);
	n = event_nitems(set);

	/* CloudFormation names the group; the answer has its id. */
	for (i = 0; i < n && *ev->group_id == '\0'; i++) {
		gid = event_ident(json_array_get(set, i), "groupId", NULL, 0);
		if (gid != NULL && *gid != '\0') {
			free(ev->group_id);
			ev->group_id = event_text(c, gid, strlen(gid),
			    "groupId");
		}
	}
	for (i = 0; i < n; i++) {
		gid = event_ident(json_array_get(set, i), "groupId", NULL, 0);
		if (gid != NULL && strcmp(gid, ev->group_id) != 0) {
			event_warn(c, "%s names another group than "
			    "requestParameters.groupId", set_name);
			break;
		}
	}

	if (n > 0) {
		ev->rules_from_response = true;
		for (i = 0; i < n; i++)
			event_response_rule(c, json_array_get(set, i), i);
	} else if (json_is_object(rp)) {
		perms = event_items(c, json_object_get(rp, "ipPermissions"),
		    "ipPermissions");
		for (i = 0; i < event_nitems(perms); i++)
			event_permission(c, json_array_get(perms, i), i);
		event_legacy(c, rp);
	}
	if (ev->nrules == 0 && ev->nbad_rules == 0)
		event_bad(c, 1, "%s names no rule", ev->event_name);
}

static void
event_principal(struct event_ctx *c, const json_t *root)
{
	static const struct {
		const char		*name;
		enum sg_principal_type	 type;
	} types[] = {
		{ "IAMUser", SG_PRINCIPAL_IAM_USER },
		{ "AssumedRole", SG_PRINCIPAL_ASSUMED_ROLE },
		{ "Root", SG_PRINCIPAL_ROOT },
		{ "AWSService", SG_PRINCIPAL_AWS_SERVICE },
		{ "FederatedUser", SG_PRINCIPAL_FEDERATED_USER },
	};
	struct sg_event *ev = c->ev;
	const json_t *ui, *issuer;
	size_t i;

	ui = json_object_get(root, "userIdentity");
	if (ui != NULL && !json_is_object(ui))
		event_warn(c, "userIdentity is not an object");
	issuer = json_object_get(json_object_get(ui, "sessionContext"),
	    "sessionIssuer");

	ev->principal_type_text = event_get_text(c, ui, "type",
	    "userIdentity.type");
	ev->principal_arn = event_get_text(c, ui, "arn", "userIdentity.arn");
	ev->issuer_arn = event_get_text(c, issuer, "arn",
	    "sessionIssuer.arn");
	ev->invoked_by = event_get_text(c, ui, "invokedBy",
	    "userIdentity.invokedBy");
	ev->access_key_id = event_get_text(c, ui, "accessKeyId",
	    "userIdentity.accessKeyId");
	ev->account = event_get_text(c, root, "recipientAccountId",
	    "recipientAccountId");
	if (*ev->account == '\0') {
		free(ev->account);
		ev->account = event_get_text(c, ui, "accountId",
		    "userIdentity.accountId");
	}

	ev->principal_type = *ev->principal_type_text == '\0' ?
	    SG_PRINCIPAL_UNKNOWN : SG_PRINCIPAL_OTHER;
	for (i = 0; i < SG_ARRAY_LEN(types); i++)
		if (strcmp(ev->principal_type_text, types[i].name) == 0)
			ev->principal_type = types[i].type;
}

/* Length of a valid UTF-8 sequence at p (as jansson checks it), or 0. */
static size_t
event_utf8_len(const unsigned char *p, size_t avail)
{
	unsigned int cp;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)
		return 0;
	if (p[0] < 0xe0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] < 0xf0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] < 0xf5) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static bool
event_hex4(const char *p, size_t avail, unsigned int *out)
{
	unsigned int v = 0;
	size_t i;

	if (avail < 4)
		return false;
	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned int)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (unsigned int)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= (unsigned int)(p[i] - 'A' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

/*
 * A copy of the text with what jansson refuses but a well-meaning record
 * could carry in caller-supplied strings made harmless: invalid UTF-8 and
 * unpaired surrogate escapes become U+FFFD, raw control characters inside
 * strings become \u00XX escapes. *nfix counts the changes.
 */
static char *
event_repair(const char *in, size_t len, size_t *outlen, size_t *nfix)
{
	const unsigned char *p = (const unsigned char *)in;
	struct sg_buf b;
	bool instr = false;
	unsigned int hi, lo;
	size_t i = 0, n;

	*nfix = 0;
	buf_init(&b);
	buf_reserve(&b, len + 16);
	while (i < len) {
		if (p[i] >= 0x80) {
			if ((n = event_utf8_len(p + i, len - i)) == 0) {
				buf_append(&b, "\xef\xbf\xbd", 3);
				(*nfix)++;
				i++;
			} else {
				buf_append(&b, p + i, n);
				i += n;
			}
			continue;
		}
		if (!instr || p[i] == '"') {
			instr = instr ? false : p[i] == '"';
			buf_putc(&b, (char)p[i++]);
			continue;
		}
		if (p[i] < 0x20) {
			buf_printf(&b, "\\u%04x", p[i++]);
			(*nfix)++;
			continue;
		}
		if (p[i] != '\\' || i + 1 >= len) {
			buf_putc(&b, (char)p[i++]);
			continue;
		}
		if (p[i + 1] != 'u' || !event_hex4(in + i + 2, len - i - 2,
		    &hi)) {
			/* Keep a simple escape whole so \" stays inside. */
			buf_putc(&b, (char)p[i++]);
			if (p[i] < 0x80)
				buf_putc(&b, (char)p[i++]);
			continue;
		}
		if (hi >= 0xd800 && hi <= 0xdbff && i + 12 <= len &&
		    p[i + 6] == '\\' && p[i + 7] == 'u' &&
		    event_hex4(in + i + 8, len - i - 8, &lo) &&
		    lo >= 0xdc00 && lo <= 0xdfff) {
			buf_append(&b, in + i, 12);
			i += 12;
		} else if (hi >= 0xd800 && hi <= 0xdfff) {
			buf_puts(&b, "\\ufffd");
			(*nfix)++;
			i += 6;
		} else {
			buf_append(&b, in + i, 6);
			i += 6;
		}
	}
	/* Out of memory leaves a short copy, which then fails to parse. */
	*outlen = b.len;
	return buf_steal(&b);
}

/* One line, no control characters: jansson quotes input in its errors. */
static void
event_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void
event_free(struct sg_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->event_id);
	free(ev->event_name);
	free(ev->event_source);
	free(ev->event_time_text);
	free(ev->region);
	free(ev->account);
	free(ev->error_code);
	free(ev->error_message);
	free(ev->principal_type_text);
	free(ev->principal_arn);
	free(ev->issuer_arn);
	free(ev->invoked_by);
	free(ev->access_key_id);
	free(ev->source_ip);
	free(ev->user_agent);
	free(ev->group_id);
	free(ev->group_name);
	free(ev->rules);
	free(ev->parse_warning);
	memset(ev, 0, sizeof(*ev));
}

/* A required field: a non-empty string. */
static int
event_required(struct event_ctx *c, const json_t *root, const char *key,
    char **out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, key);

	if (v == NULL || json_is_null(v)) {
		event_err(err, errlen, "not a CloudTrail record: no %s", key);
		return -1;
	}
	if (!json_is_string(v)) {
		event_err(err, errlen, "not a CloudTrail record: %s is not "
		    "a string", key);
		return -1;
	}
	if (json_string_length(v) == 0) {
		event_err(err, errlen, "not a CloudTrail record: empty %s",
		    key);
		return -1;
	}
	*out = event_text(c, json_string_value(v), json_string_length(v),
	    key);
	return 0;
}

int
event_parse(const char *json, size_t len, struct sg_event *ev, char *err,
    size_t errlen)
{
	struct event_ctx c;
	json_error_t jerr, jerr2;
	json_t *root;
	char *fixed;
	size_t nfix = 0, flen = 0;
	const char *kind;

	memset(ev, 0, sizeof(*ev));
	memset(&c, 0, sizeof(c));
	c.ev = ev;
	buf_init(&c.warn);
	if (err != NULL && errlen > 0)
		*err = '\0';
	if (json == NULL) {
		event_err(err, errlen, "no record");
		return -1;
	}

	if ((root = sg_json_loadb(json, len, EVENT_JSON_FLAGS,
	    &jerr)) == NULL) {
		fixed = event_repair(json, len, &flen, &nfix);
		if (nfix > 0)
			root = sg_json_loadb(fixed, flen, EVENT_JSON_FLAGS,
			    &jerr2);
		free(fixed);
		if (root == NULL) {
			event_err(err, errlen, "not JSON: line %d column %d: "
			    "%s", jerr.line, jerr.column, jerr.text);
			return -1;
		}
		event_warn(&c, "%zu invalid UTF-8 sequences, unpaired "
		    "surrogates or control characters replaced", nfix);
	}
	if (!json_is_object(root)) {
		kind = json_is_array(root) ? "an array" : "a scalar";
		event_err(err, errlen, "not a CloudTrail record: %s, not "
		    "an object", kind);
		json_decref(root);
		buf_free(&c.warn);
		return -1;
	}
	if (event_required(&c, root, "eventID", &ev->event_id, err,
	    errlen) == -1 ||
	    event_required(&c, root, "eventName", &ev->event_name, err,
	    errlen) == -1 ||
	    event_required(&c, root, "eventSource", &ev->event_source, err,
	    errlen) == -1) {
		json_decref(root);
		buf_free(&c.warn);
		event_free(ev);
		return -1;
	}

	ev->event_time_text = event_get_text(&c, root, "eventTime",
	    "eventTime");
	if (event_time_parse(ev->event_time_text, &ev->event_time) == -1) {
		ev->event_time = 0;
		event_warn(&c, "eventTime %s unreadable",
		    *ev->event_time_text ? "is" : "is missing or");
	}
	ev->region = event_get_text(&c, root, "awsRegion", "awsRegion");
	if (json_is_integer(json_object_get(root, "awsRegion"))) {
		event_warn(&c, "awsRegion is a number, not a region");
		ev->region[0] = '\0';
	}
	ev->error_code = event_get_text(&c, root, "errorCode", "errorCode");
	ev->error_message = event_get_text(&c, root, "errorMessage",
	    "errorMessage");
	ev->source_ip = event_get_text(&c, root, "sourceIPAddress",
	    "sourceIPAddress");
	ev->user_agent = event_get_text(&c, root, "userAgent", "userAgent");
	event_principal(&c, root);

	ev->egress = event_is_rule_call(ev->event_name) &&
	    strstr(ev->event_name, "Egress") != NULL;
	event_rules(&c, root);

	json_decref(root);
	ev->parse_warning = buf_steal(&c.warn);
	return 0;
}

int
event_time_parse(const char *s, time_t *out)
{
	return sg_iso8601_parse(s, out);
}
