/* event_modify.c: the ModifySecurityGroupRules part of a CloudTrail record,
 * and the rule ids of a Revoke* record.
 *
 * Like event.c, the record is untrusted: anything may be missing, of the
 * wrong type or huge. An item that names a rule id but whose new form
 * cannot be read is kept (readable false), so the caller still reverts it:
 * a form sgguard cannot read is a form nothing covers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event_modify.h"
#include "jsonload.h"
#include "rule.h"
#include "ruleform.h"
#include "util.h"

#define MODIFY_JSON_FLAGS	(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
/* EC2 allows at most 1000 rules per group; more is hostile. */
#define MODIFY_ITEMS_MAX	1024

static void	 modify_warn(struct sg_modify *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
modify_warn(struct sg_modify *m, const char *fmt, ...)
{
	size_t len = strlen(m->warning), size = sizeof(m->warning);
	va_list ap;
	int n;

	if (len + 4 >= size ||
	    (len >= 3 && strcmp(m->warning + len - 3, "...") == 0))
		return;
	if (len > 0) {
		snprintf(m->warning + len, size - len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(m->warning + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - len)
		memcpy(m->warning + size - 4, "...", 4);
}

/* obj[key], else obj[key with a lower-case first letter]. */
static json_t *
modify_get(const json_t *obj, const char *key)
{
	char alt[64];
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, key)) != NULL)
		return v;
	if (strlen(key) >= sizeof(alt) || key[0] < 'A' || key[0] > 'Z')
		return NULL;
	sg_strlcpy(alt, key, sizeof(alt));
	alt[0] = (char)(alt[0] - 'A' + 'a');
	return json_object_get(obj, alt);
}

/* A string without NULs that fits size, or NULL. */
static const char *
modify_str(const json_t *obj, const char *key, size_t size)
{
	const json_t *v = modify_get(obj, key);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || strlen(s) >= size)
		return NULL;
	return s;
}

/* A port, type or code: integer, integral real or decimal string.
 * 1 absent or null, 0 with *out, -1 bad. */
static int
modify_int(const json_t *v, int *out)
{
	double d;

	if (v == NULL || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < -1000000 ||
		    json_integer_value(v) > 1000000)
			return -1;
		*out = (int)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!(d >= -1e6 && d <= 1e6) || (double)(int)d != d)
			return -1;
		*out = (int)d;
		return 0;
	}
	if (json_is_string(v) &&
	    strlen(json_string_value(v)) == json_string_length(v))
		return ruleform_int(json_string_value(v), out);
	return -1;
}

/* The new form of one rule; 0, or -1 with why. */
static int
modify_form(const json_t *body, struct sg_modify_rule *mr, char *why,
    size_t whysize)
{
	static const struct {
		const char		*key;
		enum sg_source_kind	 kind;
	} sources[] = {
		{ "CidrIpv4", SG_SRC_CIDR4 },
		{ "CidrIpv6", SG_SRC_CIDR6 },
		{ "PrefixListId", SG_SRC_PREFIX_LIST },
		{ "ReferencedGroupId", SG_SRC_GROUP },
	};
	const json_t *pv, *v;
	char proto[16];
	const char *s = NULL, *src = NULL;
	int from, to, rf, rt;
	size_t i, nsrc = 0;

	if (!json_is_object(body)) {
		snprintf(why, whysize, "no SecurityGroupRule form");
		return -1;
	}
	pv = modify_get(body, "IpProtocol");
	if (json_is_integer(pv))
		snprintf(proto, sizeof(proto), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(pv));
	else if ((s = modify_str(body, "IpProtocol", sizeof(proto))) != NULL)
		sg_strlcpy(proto, s, sizeof(proto));
	else {
		snprintf(why, whysize, "%s IpProtocol", pv == NULL ? "no" :
		    "bad");
		return -1;
	}
	rf = modify_int(modify_get(body, "FromPort"), &from);
	rt = modify_int(modify_get(body, "ToPort"), &to);
	if (rf == -1 || rt == -1) {
		snprintf(why, whysize, "bad FromPort/ToPort");
		return -1;
	}
	if (ruleform_proto_ports(&mr->rule, proto, rf == 0 ? &from : NULL,
	    rt == 0 ? &to : NULL, why, whysize) == -1)
		return -1;
	for (i = 0; i < SG_ARRAY_LEN(sources); i++) {
		v = modify_get(body, sources[i].key);
		if (v == NULL || json_is_null(v))
			continue;
		nsrc++;
		if ((src = modify_str(body, sources[i].key, 128)) == NULL ||
		    ruleform_source(&mr->rule, sources[i].kind, src, NULL, why,
		    whysize) == -1) {
			if (src == NULL)
				snprintf(why, whysize, "bad %s",
				    sources[i].key);
			return -1;
		}
	}
	if (nsrc != 1) {
		snprintf(why, whysize, nsrc == 0 ? "no source" :
		    "more than one source");
		return -1;
	}
	return 0;
}

static void
modify_item(struct sg_modify *m, const json_t *it, size_t idx, size_t *cap)
{
	struct sg_modify_rule mr;
	const json_t *dv;
	const char *id, *d;
	char why[128];

	memset(&mr, 0, sizeof(mr));
	id = modify_str(it, "SecurityGroupRuleId", sizeof(mr.rule_id));
	if (id == NULL || *id == '\0') {
		m->nbad++;
		modify_warn(m, "SecurityGroupRule item %zu: no usable "
		    "SecurityGroupRuleId", idx + 1);
		return;
	}
	if (m->nrules >= MODIFY_ITEMS_MAX) {
		m->nbad++;
		modify_warn(m, "more than %d rules in one record",
		    MODIFY_ITEMS_MAX);
		return;
	}
	sg_strlcpy(mr.rule_id, id, sizeof(mr.rule_id));
	if (modify_form(modify_get(it, "SecurityGroupRule"), &mr, why,
	    sizeof(why)) == -1) {
		modify_warn(m, "%s: %s", mr.rule_id, why);
		memset(&mr.rule, 0, sizeof(mr.rule));
	} else
		mr.readable = true;
	sg_strlcpy(mr.rule.rule_id, mr.rule_id, sizeof(mr.rule.rule_id));
	dv = modify_get(modify_get(it, "SecurityGroupRule"), "Description");
	if (json_is_string(dv)) {
		d = json_string_value(dv);
		mr.has_description = true;
		sg_strlcpy(mr.description, d, sizeof(mr.description));
		if (json_string_length(dv) >= sizeof(mr.description) ||
		    strlen(d) != json_string_length(dv))
			modify_warn(m, "%s: description cut", mr.rule_id);
	}
	if (m->nrules == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		m->rules = xreallocarray(m->rules, *cap, sizeof(*m->rules));
	}
	m->rules[m->nrules++] = mr;
}

/* The items of a list as CloudTrail may write it: one object, an array,
 * or {"items":[...]}. *single is set for the one-object form. */
static const json_t *
modify_list(const json_t *v, bool *single)
{
	const json_t *items;

	*single = false;
	if (json_is_array(v))
		return v;
	if (!json_is_object(v))
		return NULL;
	items = json_object_get(v, "items");
	if (json_is_array(items) && json_object_size(v) == 1)
		return items;
	*single = true;
	return v;
}

static bool
modify_true(const json_t *v)
{
	return json_is_true(v) || (json_is_string(v) &&
	    strcmp(json_string_value(v), "true") == 0);
}

int
event_parse_modify(const char *json, size_t len, struct sg_modify *m,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	const json_t *rp, *inner, *list, *ret;
	const char *name, *gid;
	size_t i, cap = 0;
	bool single;

	memset(m, 0, sizeof(*m));
	if (json == NULL || (root = sg_json_loadb(json, len, MODIFY_JSON_FLAGS,
	    &jerr)) == NULL) {
		snprintf(err, errlen, "not JSON%s%s", json ? ": " : "",
		    json ? jerr.text : "");
		return -1;
	}
	name = json_string_value(json_object_get(root, "eventName"));
	if (name == NULL || strcmp(name, "ModifySecurityGroupRules") != 0) {
		snprintf(err, errlen, "not a ModifySecurityGroupRules record");
		json_decref(root);
		return -1;
	}
	rp = json_object_get(root, "requestParameters");
	inner = modify_get(rp, "ModifySecurityGroupRulesRequest");
	if (!json_is_object(inner)) {
		snprintf(err, errlen, "no requestParameters."
		    "ModifySecurityGroupRulesRequest");
		json_decref(root);
		return -1;
	}
	if ((gid = modify_str(inner, "GroupId", sizeof(m->group_id))) != NULL)
		sg_strlcpy(m->group_id, gid, sizeof(m->group_id));
	else
		modify_warn(m, "no usable GroupId");
	m->dry_run = modify_true(modify_get(inner, "DryRun")) ||
	    modify_true(modify_get(rp, "DryRun"));
	ret = json_object_get(modify_get(json_object_get(root,
	    "responseElements"), "ModifySecurityGroupRulesResponse"),
	    "return");
	m->refused = ret != NULL && !modify_true(ret);

	list = modify_list(modify_get(inner, "SecurityGroupRule"), &single);
	if (single)
		modify_item(m, list, 0, &cap);
	else
		for (i = 0; list != NULL && i < json_array_size(list); i++)
			modify_item(m, json_array_get(list, i), i, &cap);
	if (m->nrules == 0 && m->nbad == 0) {
		m->nbad = 1;
		modify_warn(m, "ModifySecurityGroupRules names no rule");
	}
	json_decref(root);
	return 0;
}

void
event_modify_free(struct sg_modify *m)
{
	if (m == NULL)
		return;
	free(m->rules);
	memset(m, 0, sizeof(*m));
}

int
event_rule_ids(const char *json, size_t len, char ***idsp)
{
	const json_t *set, *items, *it;
	json_t *root;
	const char *id;
	char **ids = NULL;
	size_t i, n = 0;

	*idsp = NULL;
	if (json == NULL ||
	    (root = sg_json_loadb(json, len, MODIFY_JSON_FLAGS, NULL)) == NULL)
		return -1;
	set = json_object_get(json_object_get(root, "requestParameters"),
	    "securityGroupRuleIds");
	items = json_is_object(set) ? json_object_get(set, "items") : set;
	for (i = 0; json_is_array(items) && i < json_array_size(items) &&
	    n < MODIFY_ITEMS_MAX; i++) {
		it = json_array_get(items, i);
		id = json_is_string(it) ? json_string_value(it) :
		    modify_str(it, "securityGroupRuleId", 32);
		if (id == NULL || *id == '\0' || strlen(id) >= 32)
			continue;
		ids = xreallocarray(ids, n + 1, sizeof(*ids));
		ids[n++] = xstrdup(id);
	}
	json_decref(root);
	*idsp = ids;
	return (int)n;
}

void
event_rule_ids_free(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
