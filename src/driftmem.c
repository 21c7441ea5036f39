/* driftmem.c: the drift check's memory, persisted (driftmem.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "baseline.h"
#include "driftmem.h"
#include "log.h"
#include "util.h"

#define DRIFTMEM_VERSION	1

char *
driftmem_serialize(const struct sg_drift_mark *v, size_t n)
{
	json_t *root, *marks, *o, *rule;
	char *text;
	size_t i;

	root = json_object();
	marks = json_array();
	if (root == NULL || marks == NULL)
		fatalx("out of memory");
	json_object_set_new(root, "version", json_integer(DRIFTMEM_VERSION));
	json_object_set_new(root, "marks", marks);
	for (i = 0; i < n; i++) {
		if ((rule = baseline_rule_json(&v[i].gr)) == NULL ||
		    (o = json_pack("{s:s, s:s, s:I, s:b, s:b, s:b, s:o}",
		    "key", v[i].key, "group", v[i].gr.group_id,
		    "seen", (json_int_t)v[i].seen, "reverted", v[i].reverted,
		    "restored", v[i].restored, "audited", v[i].audited,
		    "rule", rule)) == NULL)
			fatalx("out of memory");
		if (v[i].gr.owner_id[0] != '\0')
			json_object_set_new(o, "owner",
			    json_string(v[i].gr.owner_id));
		json_array_append_new(marks, o);
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	if (text == NULL)
		fatalx("out of memory");
	return text;
}

/* A string member that fits size (with its NUL); NULL if not. */
static const char *
member_text(const json_t *o, const char *name, size_t size)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int
mark_parse(const json_t *o, struct sg_drift_mark *m, char *why,
    size_t whysize)
{
	const char *key, *group, *owner;
	const json_t *seen, *flag[3];
	static const char *const names[3] = { "reverted", "restored",
	    "audited" };
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(o)) {
		snprintf(why, whysize, "not an object");
		return -1;
	}
	key = member_text(o, "key", sizeof(m->key));
	group = member_text(o, "group", sizeof(m->gr.group_id));
	seen = json_object_get(o, "seen");
	if (key == NULL || group == NULL || !json_is_integer(seen)) {
		snprintf(why, whysize, "needs key, group and seen");
		return -1;
	}
	for (i = 0; i < 3; i++)
		if (!json_is_boolean(flag[i] = json_object_get(o, names[i]))) {
			snprintf(why, whysize, "%s is not true or false",
			    names[i]);
			return -1;
		}
	if (baseline_rule_parse(json_object_get(o, "rule"), &m->gr, why,
	    whysize) == -1)
		return -1;
	sg_strlcpy(m->key, key, sizeof(m->key));
	sg_strlcpy(m->gr.group_id, group, sizeof(m->gr.group_id));
	if (json_object_get(o, "owner") != NULL) {
		if ((owner = member_text(o, "owner",
		    sizeof(m->gr.owner_id))) == NULL) {
			snprintf(why, whysize, "bad owner");
			return -1;
		}
		sg_strlcpy(m->gr.owner_id, owner, sizeof(m->gr.owner_id));
	}
	m->seen = (time_t)json_integer_value(seen);
	m->reverted = json_is_true(flag[0]);
	m->restored = json_is_true(flag[1]);
	m->audited = json_is_true(flag[2]);
	return 0;
}

int
driftmem_parse(const char *json, size_t len, time_t now, time_t keep,
    struct sg_drift_mark **out, size_t *n, char *err, size_t errlen)
{
	struct sg_drift_mark m;
	json_error_t jerr;
	json_t *root, *marks, *version;
	char why[160];
	size_t i, total;

	*out = NULL;
	*n = 0;
	if (json == NULL || (root = json_loadb(json, len,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "not JSON: line %d: %s",
		    json ? jerr.line : 0, json ? jerr.text : "no text");
		return -1;
	}
	version = json_object_get(root, "version");
	if (!json_is_integer(version) ||
	    json_integer_value(version) != DRIFTMEM_VERSION) {
		snprintf(err, errlen, "not a version %d drift file",
		    DRIFTMEM_VERSION);
		goto fail;
	}
	if (!json_is_array(marks = json_object_get(root, "marks"))) {
		snprintf(err, errlen, "no \"marks\" array");
		goto fail;
	}
	total = json_array_size(marks);
	/* The newest are at the end: keep those. */
	i = total > SG_DRIFT_MEMORY_MAX ? total - SG_DRIFT_MEMORY_MAX : 0;
	for (; i < total; i++) {
		if (mark_parse(json_array_get(marks, i), &m, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "mark %zu: %s", i + 1, why);
			goto fail;
		}
		/* Past every window; or far ahead (the clock went back:
		 * a little ahead is kept). */
		if (now - m.seen > keep || m.seen - now > keep)
			continue;
		if (*out == NULL)
			*out = xcalloc(total - i, sizeof(**out));
		(*out)[(*n)++] = m;
	}
	json_decref(root);
	return 0;
 fail:
	json_decref(root);
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}
