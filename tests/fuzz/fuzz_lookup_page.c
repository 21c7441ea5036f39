/* fuzz_lookup_page.c: one LookupEvents answer page.
 *
 * cloudtrail_parse_page, then what the poller does with the page: each
 * entry's CloudTrailEvent through event_parse, and the NextToken into the
 * next request body (cloudtrail_lookup_body), which must be JSON again and
 * carry the token unchanged.
 */
#include <jansson.h>

#include "fuzz.h"

#include "cloudtrail.h"
#include "event.h"

static void
fz_check_next_body(const char *token)
{
	struct sg_lookup q = { "AuthorizeSecurityGroupIngress", 1700000000,
	    1700000900, token };
	json_error_t jerr;
	json_t *o;
	char *body;

	body = cloudtrail_lookup_body(&q);
	FZ_CHECK(body != NULL, "no body");
	o = json_loads(body, 0, &jerr);
	FZ_CHECK(o != NULL, "request body is not JSON: %s", jerr.text);
	if (token != NULL)
		FZ_CHECK(json_is_string(json_object_get(o, "NextToken")) &&
		    strcmp(json_string_value(json_object_get(o, "NextToken")),
		    token) == 0, "NextToken changed on the way");
	else
		FZ_CHECK(json_object_get(o, "NextToken") == NULL,
		    "NextToken on a first page");
	json_decref(o);
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_ct_page page;
	struct sg_event ev;
	size_t skipped = 99, i;
	char err[256];

	if (cloudtrail_parse_page((const char *)data, size, &page, &skipped,
	    err, sizeof(err)) != 0) {
		FZ_CHECK(err[0] != '\0', "failure without a reason");
		FZ_CHECK(page.entries == NULL && page.nentries == 0 &&
		    page.next_token == NULL, "failed page holds data");
		return 0;
	}
	for (i = 0; i < page.nentries; i++) {
		const struct sg_ct_entry *e = &page.entries[i];

		FZ_CHECK(e->event_id != NULL && e->event_name != NULL &&
		    e->record != NULL, "entry %zu has a NULL field", i);
		FZ_CHECK(e->record[e->record_len] == '\0',
		    "record %zu unterminated", i);
		if (event_parse(e->record, e->record_len, &ev, err,
		    sizeof(err)) == 0)
			event_free(&ev);
	}
	if (page.next_token != NULL)
		FZ_CHECK(page.next_token[0] != '\0', "empty NextToken kept");
	fz_check_next_body(page.next_token);
	cloudtrail_page_free(&page);
	return 0;
}
