/* describe.c: DescribeSecurityGroupRules and DescribeSecurityGroups,
 * parameters and answers.
 *
 * The answers are read element by element (xml.h) at fixed depths below
 * the root, so that a groupId deep inside ipPermissions or a tagSet inside
 * a rule item is never taken for the item's own. An item that cannot be
 * read is counted and described, never guessed at.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "rule.h"
#include "ruleform.h"
#include "util.h"
#include "xml.h"

static void	 describe_warn(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Append "; "-separated to a fixed buffer; "..." once it is full. */
static void
describe_warn(char *w, size_t size, const char *fmt, ...)
{
	size_t len = strlen(w);
	va_list ap;
	int n;

	if (len + 4 >= size || (len >= 3 && strcmp(w + len - 3, "...") == 0))
		return;
	if (len > 0) {
		snprintf(w + len, size - len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(w + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - len)
		memcpy(w + size - 4, "...", 4);
}

/* Copy at most size-1 bytes, cut on a UTF-8 boundary. */
static bool
describe_copy(char *dst, size_t size, const char *src, size_t len)
{
	bool cut = false;

	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
		cut = true;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return cut;
}

/* MaxResults (clamped; 0 leaves it out) and NextToken of a page. */
static void
describe_page_params(int max_results, const char *next_token,
    struct sg_kvlist *out)
{
	char num[16];

	if (max_results > 0) {
		if (max_results < SG_DESCRIBE_MIN_RESULTS)
			max_results = SG_DESCRIBE_MIN_RESULTS;
		if (max_results > SG_DESCRIBE_MAX_RESULTS)
			max_results = SG_DESCRIBE_MAX_RESULTS;
		snprintf(num, sizeof(num), "%d", max_results);
		kvlist_add(out, "MaxResults", num);
	}
	if (next_token != NULL && *next_token != '\0')
		kvlist_add(out, "NextToken", next_token);
}

static int
describe_filter_params(const char *filter, const char *const *values,
    size_t n, int max_results, const char *next_token, struct sg_kvlist *out)
{
	size_t i, len;

	if (n == 0 || n > SG_DESCRIBE_MAX_VALUES)
		return -1;
	for (i = 0; i < n; i++) {
		len = values[i] != NULL ? strlen(values[i]) : 0;
		if (len == 0 || len > SG_DESCRIBE_MAX_VALUE_LEN)
			return -1;
	}
	kvlist_add(out, "Filter.1.Name", filter);
	for (i = 0; i < n; i++)
		kvlist_addf(out, values[i], "Filter.1.Value.%zu", i + 1);
	describe_page_params(max_results, next_token, out);
	return 0;
}

int
describe_rules_params(const char *const *group_ids, size_t n,
    int max_results, const char *next_token, struct sg_kvlist *out)
{
	return describe_filter_params("group-id", group_ids, n, max_results,
	    next_token, out);
}

int
describe_rules_by_id_params(const char *const *rule_ids, size_t n,
    int max_results, const char *next_token, struct sg_kvlist *out)
{
	return describe_filter_params("security-group-rule-id", rule_ids, n,
	    max_results, next_token, out);
}

int
describe_groups_by_id_params(const char *const *ids, size_t n,
    int max_results, const char *next_token, struct sg_kvlist *out)
{
	return describe_filter_params("group-id", ids, n, max_results,
	    next_token, out);
}

int
describe_groups_params(const char *tag_key, const char *tag_value,
    int max_results, const char *next_token, struct sg_kvlist *out)
{
	struct sg_buf name;

	if (tag_key == NULL || *tag_key == '\0' ||
	    strlen(tag_key) > SG_DESCRIBE_MAX_VALUE_LEN || (tag_value != NULL &&
	    strlen(tag_value) > SG_DESCRIBE_MAX_VALUE_LEN))
		return -1;
	buf_init(&name);
	/* Any value: the key is the value of a tag-key filter. A value of
	 * "" is a real filter value (the tag is there, empty). */
	if (tag_value == NULL)
		buf_puts(&name, "tag-key");
	else
		buf_printf(&name, "tag:%s", tag_key);
	kvlist_add(out, "Filter.1.Name", name.data);
	kvlist_add(out, "Filter.1.Value.1", tag_value != NULL ? tag_value :
	    tag_key);
	describe_page_params(max_results, next_token, out);
	buf_free(&name);
	return 0;
}

int
describe_group_by_name_params(const char *name, struct sg_kvlist *out)
{
	if (name == NULL || *name == '\0' ||
	    strlen(name) > SG_DESCRIBE_MAX_VALUE_LEN)
		return -1;
	kvlist_add(out, "GroupName.1", name);
	return 0;
}

/* --- DescribeSecurityGroupRules answers ----------------------------- */

#define RULES_ROOT	"DescribeSecurityGroupRulesResponse"
#define GROUPS_ROOT	"DescribeSecurityGroupsResponse"

struct rule_item {
	char	 id[64];
	char	 group[64];
	char	 owner[64];
	char	 egress[8];
	char	 proto[32];
	char	 from[16];
	char	 to[16];
	char	 cidr4[80];
	char	 cidr6[80];
	char	 pl[80];
	char	 ref_group[80];
	char	 ref_user[64];
	char	 desc[SG_DESCRIPTION_MAX];
	bool	 has_from;
	bool	 has_to;
	bool	 has_ref;
	bool	 desc_cut;
	char	 too_long[32];	/* name of a field that did not fit */
};

struct rules_ctx {
	struct sg_rule_set *set;
	const char	*want_root;
	char		 root[64];
	bool		 wrong_root;
	bool		 in_set;
	bool		 in_item;
	size_t		 nitem;
	struct rule_item it;
	char		*next_token;
};

static void
rules_field(struct rule_item *it, const char *name, const char *text,
    size_t len)
{
	static const struct {
		const char	*name;
		size_t		 off;
		size_t		 size;
	} fields[] = {
#define F(n, m)	{ n, offsetof(struct rule_item, m), \
		    sizeof(((struct rule_item *)0)->m) }
		F("securityGroupRuleId", id),
		F("groupId", group),
		F("groupOwnerId", owner),
		F("isEgress", egress),
		F("ipProtocol", proto),
		F("fromPort", from),
		F("toPort", to),
		F("cidrIpv4", cidr4),
		F("cidrIpv6", cidr6),
		F("prefixListId", pl),
#undef F
	};
	size_t i;

	if (strcmp(name, "description") == 0) {
		it->desc_cut = describe_copy(it->desc, sizeof(it->desc), text,
		    len);
		return;
	}
	for (i = 0; i < SG_ARRAY_LEN(fields); i++) {
		if (strcmp(name, fields[i].name) != 0)
			continue;
		if (len >= fields[i].size) {
			sg_strlcpy(it->too_long, name, sizeof(it->too_long));
			return;
		}
		describe_copy((char *)it + fields[i].off, fields[i].size, text,
		    len);
		if (strcmp(name, "fromPort") == 0)
			it->has_from = true;
		else if (strcmp(name, "toPort") == 0)
			it->has_to = true;
		return;
	}
}

/* One item into a rule; 0, or -1 with why. */
static int
rules_item(const struct rule_item *it, struct sg_group_rule *gr, char *why,
    size_t whysize)
{
	struct sg_rule *r = &gr->rule;
	int from, to, nsrc;

	memset(gr, 0, sizeof(*gr));
	if (it->too_long[0] != '\0') {
		snprintf(why, whysize, "%s too long", it->too_long);
		return -1;
	}
	if (it->id[0] == '\0' || strlen(it->id) >= sizeof(r->rule_id)) {
		snprintf(why, whysize, "no securityGroupRuleId");
		return -1;
	}
	if (it->group[0] == '\0' || strlen(it->group) >= sizeof(gr->group_id)) {
		snprintf(why, whysize, "no groupId");
		return -1;
	}
	if (strcmp(it->egress, "true") == 0)
		r->egress = true;
	else if (strcmp(it->egress, "false") != 0) {
		/* The direction decides which call reverts it: no guess. */
		snprintf(why, whysize, "%s isEgress", it->egress[0] ? "bad" :
		    "no");
		return -1;
	}
	if ((it->has_from && ruleform_int(it->from, &from) == -1) ||
	    (it->has_to && ruleform_int(it->to, &to) == -1)) {
		snprintf(why, whysize, "bad fromPort/toPort");
		return -1;
	}
	if (ruleform_proto_ports(r, it->proto, it->has_from ? &from : NULL,
	    it->has_to ? &to : NULL, why, whysize) == -1)
		return -1;
	nsrc = (it->cidr4[0] != '\0') + (it->cidr6[0] != '\0') +
	    (it->pl[0] != '\0') + it->has_ref;
	if (nsrc != 1) {
		snprintf(why, whysize, nsrc == 0 ? "no source" :
		    "more than one source");
		return -1;
	}
	if ((it->cidr4[0] != '\0' && ruleform_source(r, SG_SRC_CIDR4,
	    it->cidr4, NULL, why, whysize) == -1) ||
	    (it->cidr6[0] != '\0' && ruleform_source(r, SG_SRC_CIDR6,
	    it->cidr6, NULL, why, whysize) == -1) ||
	    (it->pl[0] != '\0' && ruleform_source(r, SG_SRC_PREFIX_LIST,
	    it->pl, NULL, why, whysize) == -1) ||
	    (it->has_ref && ruleform_source(r, SG_SRC_GROUP, it->ref_group,
	    it->ref_user, why, whysize) == -1))
		return -1;
	sg_strlcpy(r->rule_id, it->id, sizeof(r->rule_id));
	sg_strlcpy(gr->group_id, it->group, sizeof(gr->group_id));
	if (strlen(it->owner) < sizeof(gr->owner_id))
		sg_strlcpy(gr->owner_id, it->owner, sizeof(gr->owner_id));
	sg_strlcpy(gr->description, it->desc, sizeof(gr->description));
	return 0;
}

static int
rules_start(void *arg, const char *path, const char *name, int depth)
{
	struct rules_ctx *c = arg;

	if (depth == 1) {
		sg_strlcpy(c->root, name, sizeof(c->root));
		if (strcmp(name, c->want_root) != 0) {
			c->wrong_root = true;
			return 1;
		}
	} else if (depth == 2 && strcmp(name, "securityGroupRuleSet") == 0)
		c->in_set = true;
	else if (depth == 3 && c->in_set && strcmp(name, "item") == 0) {
		memset(&c->it, 0, sizeof(c->it));
		c->in_item = true;
		c->nitem++;
	} else if (depth == 4 && c->in_item &&
	    strcmp(name, "referencedGroupInfo") == 0)
		c->it.has_ref = true;
	return 0;
}

static int
rules_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct rules_ctx *c = arg;
	struct sg_group_rule gr;
	char why[160];

	if (depth == 2) {
		if (strcmp(name, "securityGroupRuleSet") == 0)
			c->in_set = false;
		else if (strcmp(name, "nextToken") == 0 && len > 0) {
			free(c->next_token);
			c->next_token = xstrndup(text, len);
		}
	} else if (depth == 3 && c->in_item) {
		c->in_item = false;
		if (rules_item(&c->it, &gr, why, sizeof(why)) == -1) {
			c->set->nbad++;
			describe_warn(c->set->warning, sizeof(c->set->warning),
			    "securityGroupRuleSet item %zu%s%.32s%s: %s",
			    c->nitem, c->it.id[0] ? " (" : "", c->it.id,
			    c->it.id[0] ? ")" : "", why);
			return 0;
		}
		if (c->it.desc_cut)
			describe_warn(c->set->warning, sizeof(c->set->warning),
			    "%s: description cut", gr.rule.rule_id);
		describe_rules_add(c->set, &gr);
	} else if (depth == 4 && c->in_item)
		rules_field(&c->it, name, text, len);
	else if (depth == 5 && c->in_item &&
	    xml_path_match(path, "item/referencedGroupInfo/groupId"))
		describe_copy(c->it.ref_group, sizeof(c->it.ref_group), text,
		    len);
	else if (depth == 5 && c->in_item &&
	    xml_path_match(path, "item/referencedGroupInfo/userId"))
		describe_copy(c->it.ref_user, sizeof(c->it.ref_user), text,
		    len);
	return 0;
}

/* Why an answer is not the one expected: an EC2 error, or another root. */
static void
describe_wrong_root(const char *doc, size_t len, const char *root,
    const char *want, char *err, size_t errlen)
{
	char code[128], msg[256];

	if (xml_find_text(doc, len, "Errors/Error/Code", code,
	    sizeof(code)) == 1) {
		if (xml_find_text(doc, len, "Errors/Error/Message", msg,
		    sizeof(msg)) != 1)
			msg[0] = '\0';
		snprintf(err, errlen, "EC2 error %s: %s", code, msg);
	} else
		snprintf(err, errlen, "unexpected answer <%.60s>, not <%s>",
		    root, want);
}

int
describe_rules_parse(const char *doc, size_t len, struct sg_rule_set *set,
    char **next_token, char *err, size_t errlen)
{
	struct rules_ctx c;
	struct sg_xml_handler h = { rules_start, rules_end, NULL };
	size_t n0 = set->n, nbad0 = set->nbad;
	char warn0[sizeof(set->warning)];
	char xerr[160];

	*next_token = NULL;
	memset(&c, 0, sizeof(c));
	c.set = set;
	c.want_root = RULES_ROOT;
	h.arg = &c;
	memcpy(warn0, set->warning, sizeof(warn0));
	if (doc == NULL) {
		doc = "";
		len = 0;
	}
	if (xml_parse(doc, len, &h, xerr, sizeof(xerr)) == -1 ||
	    c.wrong_root || c.root[0] == '\0') {
		if (c.wrong_root)
			describe_wrong_root(doc, len, c.root, RULES_ROOT, err,
			    errlen);
		else if (len == 0)
			snprintf(err, errlen, "empty answer");
		else
			snprintf(err, errlen, "not well-formed: %s", xerr);
		/* All or nothing: a half-read page must not look whole. */
		set->n = n0;
		set->nbad = nbad0;
		memcpy(set->warning, warn0, sizeof(warn0));
		free(c.next_token);
		return -1;
	}
	*next_token = c.next_token;
	return 0;
}

void
describe_rules_add(struct sg_rule_set *set, const struct sg_group_rule *gr)
{
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 16;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	set->v[set->n++] = *gr;
}

const struct sg_group_rule *
describe_rules_find(const struct sg_rule_set *set, const char *rule_id)
{
	size_t i;

	if (set == NULL || rule_id == NULL || *rule_id == '\0')
		return NULL;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i].rule.rule_id, rule_id) == 0)
			return &set->v[i];
	return NULL;
}

void
describe_rules_free(struct sg_rule_set *set)
{
	if (set == NULL)
		return;
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/* --- DescribeSecurityGroups answers --------------------------------- */

struct groups_ctx {
	struct sg_group_set *set;
	char		 root[64];
	bool		 wrong_root;
	bool		 in_info;
	bool		 in_item;
	bool		 in_tag;
	bool		 bad;
	struct sg_found_group g;
	char		*tag_key;
	char		*tag_value;
	char		*next_token;
};

static void
groups_item_free(struct sg_found_group *g)
{
	kvlist_free(&g->tags);
}

static int
groups_start(void *arg, const char *path, const char *name, int depth)
{
	struct groups_ctx *c = arg;

	if (depth == 1) {
		sg_strlcpy(c->root, name, sizeof(c->root));
		if (strcmp(name, GROUPS_ROOT) != 0) {
			c->wrong_root = true;
			return 1;
		}
	} else if (depth == 2 && strcmp(name, "securityGroupInfo") == 0)
		c->in_info = true;
	else if (depth == 3 && c->in_info && strcmp(name, "item") == 0) {
		groups_item_free(&c->g);
		memset(&c->g, 0, sizeof(c->g));
		c->in_item = true;
		c->bad = false;
	} else if (depth == 5 && c->in_item &&
	    xml_path_match(path, "item/tagSet/item")) {
		free(c->tag_key);
		free(c->tag_value);
		c->tag_key = c->tag_value = NULL;
		c->in_tag = true;
	}
	return 0;
}

static void
groups_field(struct groups_ctx *c, char *dst, size_t size, const char *text,
    size_t len)
{
	if (len >= size)
		c->bad = true;
	else
		describe_copy(dst, size, text, len);
}

static int
groups_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct groups_ctx *c = arg;
	struct sg_group_set *set = c->set;

	if (depth == 2) {
		if (strcmp(name, "securityGroupInfo") == 0)
			c->in_info = false;
		else if (strcmp(name, "nextToken") == 0 && len > 0) {
			free(c->next_token);
			c->next_token = xstrndup(text, len);
		}
	} else if (depth == 3 && c->in_item) {
		c->in_item = false;
		if (c->bad || c->g.group_id[0] == '\0') {
			set->nbad++;
			groups_item_free(&c->g);
		} else {
			if (set->n == set->cap) {
				set->cap = set->cap ? set->cap * 2 : 8;
				set->v = xreallocarray(set->v, set->cap,
				    sizeof(*set->v));
			}
			set->v[set->n++] = c->g;	/* takes the tags */
		}
		memset(&c->g, 0, sizeof(c->g));
	} else if (depth == 4 && c->in_item) {
		if (strcmp(name, "groupId") == 0)
			groups_field(c, c->g.group_id, sizeof(c->g.group_id),
			    text, len);
		else if (strcmp(name, "vpcId") == 0)
			groups_field(c, c->g.vpc_id, sizeof(c->g.vpc_id),
			    text, len);
		else if (strcmp(name, "ownerId") == 0)
			groups_field(c, c->g.owner_id, sizeof(c->g.owner_id),
			    text, len);
		else if (strcmp(name, "groupName") == 0)
			describe_copy(c->g.name, sizeof(c->g.name), text, len);
	} else if (depth == 5 && c->in_tag &&
	    xml_path_match(path, "item/tagSet/item")) {
		c->in_tag = false;
		if (c->tag_key != NULL)
			kvlist_add(&c->g.tags, c->tag_key,
			    c->tag_value != NULL ? c->tag_value : "");
	} else if (depth == 6 && c->in_tag) {
		if (strcmp(name, "key") == 0) {
			free(c->tag_key);
			c->tag_key = xstrndup(text, len);
		} else if (strcmp(name, "value") == 0) {
			free(c->tag_value);
			c->tag_value = xstrndup(text, len);
		}
	}
	return 0;
}

int
describe_groups_parse(const char *doc, size_t len, struct sg_group_set *set,
    char **next_token, char *err, size_t errlen)
{
	struct groups_ctx c;
	struct sg_xml_handler h = { groups_start, groups_end, NULL };
	size_t n0 = set->n, nbad0 = set->nbad, i;
	char xerr[160];
	int rc = 0;

	*next_token = NULL;
	memset(&c, 0, sizeof(c));
	c.set = set;
	h.arg = &c;
	if (doc == NULL) {
		doc = "";
		len = 0;
	}
	if (xml_parse(doc, len, &h, xerr, sizeof(xerr)) == -1 ||
	    c.wrong_root || c.root[0] == '\0') {
		if (c.wrong_root)
			describe_wrong_root(doc, len, c.root, GROUPS_ROOT, err,
			    errlen);
		else if (len == 0)
			snprintf(err, errlen, "empty answer");
		else
			snprintf(err, errlen, "not well-formed: %s", xerr);
		for (i = n0; i < set->n; i++)
			groups_item_free(&set->v[i]);
		set->n = n0;
		set->nbad = nbad0;
		free(c.next_token);
		rc = -1;
	} else
		*next_token = c.next_token;
	groups_item_free(&c.g);
	free(c.tag_key);
	free(c.tag_value);
	return rc;
}

const char *
describe_group_tag(const struct sg_found_group *g, const char *key)
{
	size_t i;

	for (i = 0; i < g->tags.n; i++)
		if (strcmp(g->tags.kv[i].name, key) == 0)
			return g->tags.kv[i].value;
	return NULL;
}

void
describe_groups_free(struct sg_group_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		groups_item_free(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}
