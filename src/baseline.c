/* baseline.c: the rules each watched group is meant to have, how allowed
 * principals change them, drift from them, and their persisted form. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "baseline.h"
#include "describe.h"
#include "event.h"
#include "event_modify.h"
#include "log.h"
#include "rule.h"
#include "ruleform.h"
#include "util.h"

#define BASELINE_VERSION	1

static const char *
bl_str(const char *s)
{
	return s != NULL ? s : "";
}

static bool
bl_is(const struct sg_group_baseline *b, const char *account,
    const char *region, const char *group_id)
{
	return strcmp(b->account, bl_str(account)) == 0 &&
	    strcmp(b->region, bl_str(region)) == 0 &&
	    strcmp(b->group_id, bl_str(group_id)) == 0;
}

static void
bl_free_one(struct sg_group_baseline *b)
{
	free(b->account);
	free(b->region);
	free(b->group_id);
	free(b->rules);
	memset(b, 0, sizeof(*b));
}

struct sg_group_baseline *
baseline_find(const struct sg_baseline_set *set, const char *account,
    const char *region, const char *group_id)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (bl_is(&set->v[i], account, region, group_id))
			return &set->v[i];
	return NULL;
}

struct sg_group_baseline *
baseline_get(struct sg_baseline_set *set, const char *account,
    const char *region, const char *group_id)
{
	struct sg_group_baseline *b;

	if ((b = baseline_find(set, account, region, group_id)) != NULL)
		return b;
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 8;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	b = &set->v[set->n++];
	memset(b, 0, sizeof(*b));
	b->account = xstrdup(bl_str(account));
	b->region = xstrdup(bl_str(region));
	b->group_id = xstrdup(bl_str(group_id));
	return b;
}

void
baseline_remove(struct sg_baseline_set *set, const char *account,
    const char *region, const char *group_id)
{
	struct sg_group_baseline *b;
	size_t i;

	if ((b = baseline_find(set, account, region, group_id)) == NULL)
		return;
	i = (size_t)(b - set->v);
	bl_free_one(b);
	memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) *
	    sizeof(*set->v));
	set->n--;
}

void
baseline_set_free(struct sg_baseline_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		bl_free_one(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

void
baseline_key(const struct sg_group_baseline *b, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/%s", bl_str(b->account), bl_str(b->region),
	    bl_str(b->group_id));
}

/* --- rules of one baseline ------------------------------------------ */

static long
bl_index_id(const struct sg_group_baseline *b, const char *id)
{
	size_t i;

	if (id == NULL || *id == '\0')
		return -1;
	for (i = 0; i < b->n; i++)
		if (strcmp(b->rules[i].rule.rule_id, id) == 0)
			return (long)i;
	return -1;
}

/* rule_equal compares the direction too. */
static long
bl_index_equal(const struct sg_group_baseline *b, const struct sg_rule *r)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (rule_equal(&b->rules[i].rule, r))
			return (long)i;
	return -1;
}

static void
bl_delete(struct sg_group_baseline *b, size_t i)
{
	memmove(&b->rules[i], &b->rules[i + 1], (b->n - i - 1) *
	    sizeof(*b->rules));
	b->n--;
}

static void
bl_append(struct sg_group_baseline *b, const struct sg_group_rule *gr)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->rules = xreallocarray(b->rules, b->cap, sizeof(*b->rules));
	}
	b->rules[b->n] = *gr;
	sg_strlcpy(b->rules[b->n].group_id, b->group_id,
	    sizeof(b->rules[b->n].group_id));
	b->n++;
}

/* Is gr one of b's group's rules? Rules of the set with no group id are
 * taken as b's (a set built by hand for one group). */
static bool
bl_mine(const struct sg_group_baseline *b, const struct sg_group_rule *gr)
{
	return gr->group_id[0] == '\0' ||
	    strcmp(gr->group_id, b->group_id) == 0;
}

void
baseline_snapshot(struct sg_group_baseline *b, const struct sg_rule_set *rules,
    bool snapshot)
{
	size_t i;

	b->n = 0;
	if (!snapshot || rules == NULL)
		return;
	for (i = 0; i < rules->n; i++)
		if (bl_mine(b, &rules->v[i]))
			baseline_add(b, &rules->v[i]);
}

bool
baseline_add(struct sg_group_baseline *b, const struct sg_group_rule *gr)
{
	struct sg_group_rule *cur;
	const char *id = gr->rule.rule_id;
	long i;

	/* The same id says what that rule is now. */
	if ((i = bl_index_id(b, id)) >= 0) {
		cur = &b->rules[i];
		if (rule_equal(&cur->rule, &gr->rule) &&
		    (gr->description[0] == '\0' ||
		    strcmp(cur->description, gr->description) == 0))
			return false;
		cur->rule = gr->rule;
		if (gr->description[0] != '\0')
			sg_strlcpy(cur->description, gr->description,
			    sizeof(cur->description));
		return true;
	}
	if ((i = bl_index_equal(b, &gr->rule)) >= 0) {
		cur = &b->rules[i];
		if (*id == '\0' || strcmp(cur->rule.rule_id, id) == 0)
			return false;
		sg_strlcpy(cur->rule.rule_id, id, sizeof(cur->rule.rule_id));
		if (gr->description[0] != '\0')
			sg_strlcpy(cur->description, gr->description,
			    sizeof(cur->description));
		return true;
	}
	bl_append(b, gr);
	return true;
}

/* Remove the rule with r's id, else the one equal to r. */
static bool
bl_remove_rule(struct sg_group_baseline *b, const struct sg_rule *r)
{
	long i;

	if ((i = bl_index_id(b, r->rule_id)) < 0)
		i = bl_index_equal(b, r);
	if (i < 0)
		return false;
	bl_delete(b, (size_t)i);
	return true;
}

size_t
baseline_apply_event(struct sg_group_baseline *b, const struct sg_event *ev,
    const char *const *revoked_ids, size_t nids)
{
	struct sg_group_rule gr;
	size_t i, changed = 0;
	long k;

	if (!sg_strempty(ev->error_code) || (!sg_strempty(ev->group_id) &&
	    strcmp(ev->group_id, b->group_id) != 0) ||
	    !event_is_rule_call(ev->event_name))
		return 0;
	if (strncmp(ev->event_name, "Authorize", 9) == 0) {
		for (i = 0; i < ev->nrules; i++) {
			memset(&gr, 0, sizeof(gr));
			gr.rule = ev->rules[i];
			if (baseline_add(b, &gr))
				changed++;
		}
		return changed;
	}
	for (i = 0; i < ev->nrules; i++)
		if (bl_remove_rule(b, &ev->rules[i]))
			changed++;
	for (i = 0; revoked_ids != NULL && i < nids; i++)
		if ((k = bl_index_id(b, revoked_ids[i])) >= 0) {
			bl_delete(b, (size_t)k);
			changed++;
		}
	return changed;
}

size_t
baseline_apply_modify(struct sg_group_baseline *b, const struct sg_modify *m,
    const struct sg_rule_set *current)
{
	const struct sg_modify_rule *mr;
	const struct sg_group_rule *now;
	struct sg_group_rule gr;
	size_t i, changed = 0;
	long k;

	if (m->refused || m->dry_run || (m->group_id[0] != '\0' &&
	    strcmp(m->group_id, b->group_id) != 0))
		return 0;
	for (i = 0; i < m->nrules; i++) {
		mr = &m->rules[i];
		now = describe_rules_find(current, mr->rule_id);
		if (now != NULL && !bl_mine(b, now))
			now = NULL;
		k = bl_index_id(b, mr->rule_id);
		memset(&gr, 0, sizeof(gr));
		if (mr->readable) {
			gr.rule = mr->rule;
			/* A modification never changes the direction. */
			if (k >= 0)
				gr.rule.egress = b->rules[k].rule.egress;
			else if (now != NULL)
				gr.rule.egress = now->rule.egress;
			else
				continue;
			if (mr->has_description)
				sg_strlcpy(gr.description, mr->description,
				    sizeof(gr.description));
			else if (k >= 0)
				sg_strlcpy(gr.description,
				    b->rules[k].description,
				    sizeof(gr.description));
		} else if (now != NULL)
			gr = *now;	/* unreadable form: take the rule now */
		else
			continue;
		sg_strlcpy(gr.rule.rule_id, mr->rule_id,
		    sizeof(gr.rule.rule_id));
		if (k >= 0) {
			if (rule_equal(&b->rules[k].rule, &gr.rule) &&
			    strcmp(b->rules[k].description,
			    gr.description) == 0)
				continue;
			b->rules[k].rule = gr.rule;
			sg_strlcpy(b->rules[k].description, gr.description,
			    sizeof(b->rules[k].description));
			changed++;
		} else if (baseline_add(b, &gr))
			changed++;
	}
	return changed;
}

size_t
baseline_adopt_ids(struct sg_group_baseline *b,
    const struct sg_rule_set *current)
{
	const struct sg_group_rule *c;
	size_t i, j, changed = 0;

	if (current == NULL)
		return 0;
	for (i = 0; i < b->n; i++) {
		c = describe_rules_find(current, b->rules[i].rule.rule_id);
		if (c != NULL && bl_mine(b, c))
			continue;
		for (j = 0; j < current->n; j++) {
			c = &current->v[j];
			if (!bl_mine(b, c) || !rule_equal(&c->rule,
			    &b->rules[i].rule) ||
			    bl_index_id(b, c->rule.rule_id) >= 0)
				continue;
			sg_strlcpy(b->rules[i].rule.rule_id, c->rule.rule_id,
			    sizeof(b->rules[i].rule.rule_id));
			changed++;
			break;
		}
	}
	return changed;
}

/* --- drift ----------------------------------------------------------- */

bool
baseline_covers(const struct sg_group_baseline *b, const struct sg_rule *allow,
    size_t nallow, const struct sg_rule *r)
{
	size_t i;

	/* rule_covers ignores direction: an ingress rule or pattern never
	 * vouches for an egress rule, nor the other way round. */
	for (i = 0; b != NULL && i < b->n; i++)
		if (b->rules[i].rule.egress == r->egress &&
		    rule_covers(&b->rules[i].rule, r))
			return true;
	for (i = 0; i < nallow; i++)
		if (allow[i].egress == r->egress && rule_covers(&allow[i], r))
			return true;
	return false;
}

bool
baseline_holds(const struct sg_group_baseline *b, const struct sg_rule *allow,
    size_t nallow, const struct sg_rule *r)
{
	size_t i;

	/* In the baseline means equal to one of its rules: a snapshot's
	 * all-traffic rule must not vouch for every narrower rule added
	 * later (it would outlive the broad rule's removal). */
	for (i = 0; b != NULL && i < b->n; i++)
		if (b->rules[i].rule.egress == r->egress &&
		    rule_equal(&b->rules[i].rule, r))
			return true;
	for (i = 0; i < nallow; i++)
		if (allow[i].egress == r->egress && rule_covers(&allow[i], r))
			return true;
	return false;
}

static void
bl_push(struct sg_group_rule **v, size_t *n, const struct sg_group_rule *gr)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *gr;
}

/* A baseline rule changed in place: now and was stay index-parallel. */
static void
bl_push_modified(struct sg_drift_dir *dir, const struct sg_group_rule *now,
    const struct sg_group_rule *was)
{
	size_t n = dir->nmodified;

	bl_push(&dir->modified, &n, now);
	n = dir->nmodified;
	bl_push(&dir->was, &n, was);
	dir->nmodified = n;
}

void
baseline_drift_free(struct sg_drift *d)
{
	struct sg_drift_dir *dirs[2];
	size_t i;

	if (d == NULL)
		return;
	dirs[0] = &d->ingress;
	dirs[1] = &d->egress;
	for (i = 0; i < 2; i++) {
		free(dirs[i]->unexpected);
		free(dirs[i]->modified);
		free(dirs[i]->was);
		free(dirs[i]->missing);
	}
	memset(d, 0, sizeof(*d));
}

/* Does the group now hold a rule with b's id that nothing covers (so the
 * modify-back in `modified` brings b back)? */
static bool
bl_modified_away(const struct sg_group_baseline *b,
    const struct sg_rule_set *cur, const struct sg_rule *allow, size_t nallow,
    const struct sg_group_rule *base)
{
	const struct sg_group_rule *c;

	c = describe_rules_find(cur, base->rule.rule_id);
	return c != NULL && bl_mine(b, c) &&
	    !rule_equal(&c->rule, &base->rule) &&
	    !baseline_covers(b, allow, nallow, &c->rule);
}

void
baseline_diff(const struct sg_group_baseline *b,
    const struct sg_rule_set *current, const struct sg_rule *allow,
    size_t nallow, bool include_egress, struct sg_drift *d)
{
	const struct sg_group_rule *c, *base;
	struct sg_drift_dir *dir;
	size_t i, j;
	long k;
	bool present;

	memset(d, 0, sizeof(*d));
	for (i = 0; current != NULL && i < current->n; i++) {
		c = &current->v[i];
		if (!bl_mine(b, c) || (c->rule.egress && !include_egress))
			continue;
		dir = c->rule.egress ? &d->egress : &d->ingress;
		k = bl_index_id(b, c->rule.rule_id);
		if (k >= 0 && rule_equal(&b->rules[k].rule, &c->rule))
			continue;
		/* Changed in place: kept when a baseline rule or pattern
		 * covers the new form (the contract's ModifySecurityGroup-
		 * Rules clause). New: kept only when the baseline holds it
		 * or a pattern covers it. */
		if (k >= 0) {
			if (!baseline_covers(b, allow, nallow, &c->rule))
				bl_push_modified(dir, c, &b->rules[k]);
		} else if (!baseline_holds(b, allow, nallow, &c->rule))
			bl_push(&dir->unexpected, &dir->nunexpected, c);
	}
	for (i = 0; i < b->n; i++) {
		base = &b->rules[i];
		if (base->rule.egress && !include_egress)
			continue;
		present = false;
		for (j = 0; current != NULL && j < current->n && !present; j++)
			present = bl_mine(b, &current->v[j]) &&
			    rule_equal(&current->v[j].rule, &base->rule);
		if (present ||
		    bl_modified_away(b, current, allow, nallow, base))
			continue;
		dir = base->rule.egress ? &d->egress : &d->ingress;
		bl_push(&dir->missing, &dir->nmissing, base);
	}
}

/* --- persisted form -------------------------------------------------- */

json_t *
baseline_rule_json(const struct sg_group_rule *gr)
{
	const struct sg_rule *r = &gr->rule;
	char cidr[80];
	json_t *o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:i}", "id", r->rule_id,
	    "egress", r->egress, "proto", r->proto, "from", r->from_port,
	    "to", r->to_port);
	if (o == NULL)
		return NULL;
	switch (r->src) {
	case SG_SRC_CIDR4:
	case SG_SRC_CIDR6:
		if (r->cidr_text[0] != '\0')
			sg_strlcpy(cidr, r->cidr_text, sizeof(cidr));
		else
			rule_cidr_format(r, cidr, sizeof(cidr));
		json_object_set_new(o, "cidr", json_string(cidr));
		break;
	case SG_SRC_PREFIX_LIST:
		json_object_set_new(o, "prefix_list", json_string(r->ref_id));
		break;
	case SG_SRC_GROUP:
		json_object_set_new(o, "group", json_string(r->ref_id));
		if (r->user_id[0] != '\0')
			json_object_set_new(o, "user",
			    json_string(r->user_id));
		break;
	case SG_SRC_ANY:
		break;
	}
	/* json_string refuses invalid UTF-8: such a description is lost,
	 * the rule is not. */
	if (gr->description[0] != '\0')
		json_object_set_new(o, "description",
		    json_string(gr->description));
	return o;
}

char *
baseline_serialize(const struct sg_baseline_set *set)
{
	json_t *root, *all, *rules, *one;
	char key[512], *text;
	size_t i, j;

	root = json_object();
	all = json_object();
	json_object_set_new(root, "version", json_integer(BASELINE_VERSION));
	json_object_set_new(root, "baselines", all);
	for (i = 0; i < set->n; i++) {
		rules = json_array();
		for (j = 0; j < set->v[i].n; j++)
			json_array_append_new(rules,
			    baseline_rule_json(&set->v[i].rules[j]));
		one = json_object();
		json_object_set_new(one, "rules", rules);
		json_object_set_new(one, "taken",
		    json_integer((json_int_t)set->v[i].taken));
		json_object_set_new(one, "mode", json_string(
		    set->v[i].allow_only ? "allow" : "snapshot"));
		if (set->v[i].unguarded_since != 0)
			json_object_set_new(one, "unguarded_since",
			    json_integer(
			    (json_int_t)set->v[i].unguarded_since));
		baseline_key(&set->v[i], key, sizeof(key));
		json_object_set_new(all, key, one);
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	if (text == NULL)
		fatalx("out of memory");
	return text;
}

int
baseline_rule_parse(const json_t *o, struct sg_group_rule *gr, char *why,
    size_t whysize)
{
	static const struct {
		const char		*key;
		enum sg_source_kind	 kind;
	} sources[] = {
		{ "cidr", SG_SRC_CIDR4 },	/* or CIDR6: by its text */
		{ "prefix_list", SG_SRC_PREFIX_LIST },
		{ "group", SG_SRC_GROUP },
	};
	const json_t *id, *eg, *pv, *fv, *tv, *v, *desc, *user;
	enum sg_source_kind kind;
	char proto[16];
	const char *text;
	size_t i, nsrc = 0;
	int from, to;

	memset(gr, 0, sizeof(*gr));
	if (!json_is_object(o)) {
		snprintf(why, whysize, "not an object");
		return -1;
	}
	id = json_object_get(o, "id");
	eg = json_object_get(o, "egress");
	pv = json_object_get(o, "proto");
	fv = json_object_get(o, "from");
	tv = json_object_get(o, "to");
	if (!json_is_string(id) || json_string_length(id) >=
	    sizeof(gr->rule.rule_id) || !json_is_boolean(eg) ||
	    !json_is_integer(pv) || !json_is_integer(fv) ||
	    !json_is_integer(tv)) {
		snprintf(why, whysize, "needs id, egress, proto, from, to");
		return -1;
	}
	if (json_integer_value(pv) < -1 || json_integer_value(pv) > 255 ||
	    json_integer_value(fv) < -1 || json_integer_value(fv) > 65535 ||
	    json_integer_value(tv) < -1 || json_integer_value(tv) > 65535) {
		snprintf(why, whysize, "proto/from/to out of range");
		return -1;
	}
	snprintf(proto, sizeof(proto), "%d", (int)json_integer_value(pv));
	from = (int)json_integer_value(fv);
	to = (int)json_integer_value(tv);
	if (ruleform_proto_ports(&gr->rule, proto, &from, &to, why,
	    whysize) == -1)
		return -1;
	for (i = 0; i < SG_ARRAY_LEN(sources); i++) {
		if ((v = json_object_get(o, sources[i].key)) == NULL)
			continue;
		nsrc++;
		if (!json_is_string(v)) {
			snprintf(why, whysize, "%s is not a string",
			    sources[i].key);
			return -1;
		}
		text = json_string_value(v);
		kind = sources[i].kind;
		if (kind == SG_SRC_CIDR4 && strchr(text, ':') != NULL)
			kind = SG_SRC_CIDR6;
		user = json_object_get(o, "user");
		if (ruleform_source(&gr->rule, kind, text,
		    json_is_string(user) ? json_string_value(user) : NULL, why,
		    whysize) == -1)
			return -1;
	}
	if (nsrc != 1) {
		snprintf(why, whysize, "needs exactly one of cidr, "
		    "prefix_list, group");
		return -1;
	}
	sg_strlcpy(gr->rule.rule_id, json_string_value(id),
	    sizeof(gr->rule.rule_id));
	gr->rule.egress = json_is_true(eg);
	if (json_is_string(desc = json_object_get(o, "description")))
		sg_strlcpy(gr->description, json_string_value(desc),
		    sizeof(gr->description));
	return 0;
}

/* "ACCOUNT/REGION/GROUP": the account may hold '/', the others not. */
static int
bl_key_split(const char *key, char **account, char **region, char **group)
{
	const char *g, *r;

	if ((g = strrchr(key, '/')) == NULL || g == key || g[1] == '\0')
		return -1;
	for (r = g - 1; r > key && *r != '/'; r--)
		;
	if (*r != '/' || r + 1 == g)
		return -1;
	*account = xstrndup(key, (size_t)(r - key));
	*region = xstrndup(r + 1, (size_t)(g - r - 1));
	*group = xstrdup(g + 1);
	return 0;
}

int
baseline_parse(const char *json, size_t len, struct sg_baseline_set *set,
    char *err, size_t errlen)
{
	struct sg_group_baseline *b;
	struct sg_group_rule gr;
	json_error_t jerr;
	json_t *root, *all, *one, *rules;
	const char *key;
	char *account, *region, *group, why[160];
	size_t i;

	baseline_set_free(set);
	if (json == NULL || (root = json_loadb(json, len,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "not JSON: line %d: %s",
		    json ? jerr.line : 0, json ? jerr.text : "no text");
		return -1;
	}
	if (!json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) !=
	    BASELINE_VERSION) {
		snprintf(err, errlen, "not a version %d baseline file",
		    BASELINE_VERSION);
		goto fail;
	}
	if (!json_is_object(all = json_object_get(root, "baselines"))) {
		snprintf(err, errlen, "no \"baselines\" object");
		goto fail;
	}
	json_object_foreach(all, key, one) {
		if (bl_key_split(key, &account, &region, &group) == -1) {
			snprintf(err, errlen, "bad key \"%.100s\": want "
			    "ACCOUNT/REGION/GROUP", key);
			goto fail;
		}
		b = baseline_get(set, account, region, group);
		free(account);
		free(region);
		free(group);
		if (json_is_integer(json_object_get(one, "taken")))
			b->taken = (time_t)json_integer_value(
			    json_object_get(one, "taken"));
		if (json_is_integer(json_object_get(one, "unguarded_since")))
			b->unguarded_since = (time_t)json_integer_value(
			    json_object_get(one, "unguarded_since"));
		/* Absent (files before it): a snapshot. */
		b->allow_only = json_is_string(json_object_get(one, "mode")) &&
		    strcmp(json_string_value(json_object_get(one, "mode")),
		    "allow") == 0;
		rules = json_object_get(one, "rules");
		if (!json_is_array(rules)) {
			snprintf(err, errlen, "%.100s: no \"rules\" array",
			    key);
			goto fail;
		}
		for (i = 0; i < json_array_size(rules); i++) {
			if (baseline_rule_parse(json_array_get(rules, i), &gr, why,
			    sizeof(why)) == -1) {
				snprintf(err, errlen, "%.100s rule %zu: %s",
				    key, i + 1, why);
				goto fail;
			}
			bl_append(b, &gr);
		}
	}
	json_decref(root);
	return 0;
 fail:
	json_decref(root);
	baseline_set_free(set);
	return -1;
}

size_t
baseline_forget(struct sg_group_baseline *b, const struct sg_rule *rules,
    size_t n)
{
	size_t i, j, gone = 0;

	for (i = 0; i < b->n; ) {
		bool hit = false;

		for (j = 0; j < n && !hit; j++)
			hit = b->rules[i].rule.egress == rules[j].egress &&
			    rule_equal(&b->rules[i].rule, &rules[j]);
		if (!hit) {
			i++;
			continue;
		}
		memmove(&b->rules[i], &b->rules[i + 1],
		    (b->n - i - 1) * sizeof(*b->rules));
		b->n--;
		gone++;
	}
	return gone;
}
