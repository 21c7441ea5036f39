/* cloudtrail.c: LookupEvents request bodies and answer pages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cloudtrail.h"
#include "jsonload.h"
#include "log.h"
#include "util.h"

char *
cloudtrail_lookup_body(const struct sg_lookup *q)
{
	json_t *o;
	char *s;

	o = json_pack("{s:[{s:s, s:s}], s:I, s:I, s:i}",
	    "LookupAttributes", "AttributeKey", "EventName",
	    "AttributeValue", q->event_name,
	    "StartTime", (json_int_t)q->start,
	    "EndTime", (json_int_t)q->end,
	    "MaxResults", SG_CT_MAX_RESULTS);
	if (o == NULL)
		fatalx("out of memory");
	if (q->next_token != NULL)
		json_object_set_new(o, "NextToken",
		    json_string(q->next_token));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		fatalx("out of memory");
	return s;
}

/* EventTime is epoch seconds on the wire (a number, maybe fractional);
 * SDK-serialised pages carry ISO 8601 strings instead: accept both. */
static int
entry_time(json_t *v, time_t *t)
{
	if (json_is_number(v)) {
		double d = json_number_value(v);
		if (!isfinite(d) || d < 0 || d > 32503680000.0)
			return -1;
		*t = (time_t)d;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	return sg_iso8601_parse(json_string_value(v), t);
}

int
cloudtrail_parse_page(const char *json, size_t len, struct sg_ct_page *page,
    size_t *skipped, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *events, *e, *tok;
	size_t i;

	memset(page, 0, sizeof(*page));
	*skipped = 0;
	root = sg_json_loadb(json, len, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "LookupEvents answer is not JSON "
		    "(line %d, column %d: %s)", jerr.line, jerr.column,
		    jerr.text);
		return -1;
	}
	events = json_object_get(root, "Events");
	if (!json_is_object(root) || !json_is_array(events)) {
		snprintf(err, errlen, "LookupEvents answer has no Events list");
		json_decref(root);
		return -1;
	}
	page->entries = xcalloc(json_array_size(events) + 1,
	    sizeof(*page->entries));
	json_array_foreach(events, i, e) {
		struct sg_ct_entry *ent = &page->entries[page->nentries];
		json_t *id = json_object_get(e, "EventId");
		json_t *name = json_object_get(e, "EventName");
		json_t *rec = json_object_get(e, "CloudTrailEvent");

		if (!json_is_string(id) || !json_is_string(rec) ||
		    entry_time(json_object_get(e, "EventTime"),
		    &ent->event_time) == -1) {
			(*skipped)++;
			continue;
		}
		ent->event_id = xstrdup(json_string_value(id));
		ent->event_name = xstrdup(json_is_string(name) ?
		    json_string_value(name) : "");
		ent->record_len = json_string_length(rec);
		ent->record = xmalloc(ent->record_len + 1);
		memcpy(ent->record, json_string_value(rec), ent->record_len);
		ent->record[ent->record_len] = '\0';
		page->nentries++;
	}
	/* A NextToken that cannot be one would end the window early, its
	 * later pages never read: the page is refused instead. */
	tok = json_object_get(root, "NextToken");
	if (tok != NULL && !json_is_null(tok) && !json_is_string(tok)) {
		snprintf(err, errlen, "LookupEvents answer has a NextToken "
		    "that is not a string");
		json_decref(root);
		cloudtrail_page_free(page);
		return -1;
	}
	if (json_is_string(tok) && json_string_length(tok) > 0)
		page->next_token = xstrdup(json_string_value(tok));
	json_decref(root);
	return 0;
}

void
cloudtrail_page_free(struct sg_ct_page *page)
{
	size_t i;

	for (i = 0; i < page->nentries; i++) {
		free(page->entries[i].event_id);
		free(page->entries[i].event_name);
		free(page->entries[i].record);
	}
	free(page->entries);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}
