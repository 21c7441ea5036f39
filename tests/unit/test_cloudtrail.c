/* test_cloudtrail.c: LookupEvents bodies and answer pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cloudtrail.h"
#include "util.h"

static void
test_body(void **state)
{
	struct sg_lookup q = { "AuthorizeSecurityGroupIngress", 1700000000,
	    1700000300, NULL };
	json_t *o, *attrs;
	char *s;

	s = cloudtrail_lookup_body(&q);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	attrs = json_object_get(o, "LookupAttributes");
	/* LookupEvents takes exactly one attribute. */
	assert_int_equal(json_array_size(attrs), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(attrs, 0), "AttributeKey")), "EventName");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(attrs, 0), "AttributeValue")),
	    "AuthorizeSecurityGroupIngress");
	assert_int_equal(json_integer_value(json_object_get(o, "StartTime")),
	    1700000000);
	assert_int_equal(json_integer_value(json_object_get(o, "EndTime")),
	    1700000300);
	assert_int_equal(json_integer_value(json_object_get(o, "MaxResults")),
	    50);
	assert_null(json_object_get(o, "NextToken"));
	json_decref(o);
	free(s);

	q.next_token = "tok/with+chars==";
	s = cloudtrail_lookup_body(&q);
	o = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o,
	    "NextToken")), "tok/with+chars==");
	json_decref(o);
	free(s);
}

static void
test_wire_page(void **state)
{
	const char *page =
	    "{\"Events\":[{\"EventId\":\"b\",\"EventName\":\"AuthorizeSecurity"
	    "GroupIngress\",\"EventTime\":1700000200.5,\"ReadOnly\":\"false\","
	    "\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"b\\\"}\"},"
	    "{\"EventId\":\"a\",\"EventTime\":1700000100,"
	    "\"CloudTrailEvent\":\"{}\"}],\"NextToken\":\"next\"}";
	struct sg_ct_page p;
	size_t skipped;
	char err[256];

	assert_int_equal(cloudtrail_parse_page(page, strlen(page), &p,
	    &skipped, err, sizeof(err)), 0);
	assert_int_equal(p.nentries, 2);
	assert_int_equal(skipped, 0);
	assert_string_equal(p.entries[0].event_id, "b");
	assert_int_equal(p.entries[0].event_time, 1700000200);
	assert_string_equal(p.entries[0].record, "{\"eventID\":\"b\"}");
	assert_string_equal(p.entries[1].event_name, "");
	assert_string_equal(p.next_token, "next");
	cloudtrail_page_free(&p);
}

static void
test_last_page(void **state)
{
	const char *page = "{\"Events\":[]}";
	struct sg_ct_page p;
	size_t skipped;
	char err[256];

	assert_int_equal(cloudtrail_parse_page(page, strlen(page), &p,
	    &skipped, err, sizeof(err)), 0);
	assert_int_equal(p.nentries, 0);
	assert_null(p.next_token);
	cloudtrail_page_free(&p);
	/* null is no token too; a number is not a last page but a broken
	 * answer (the pages after it would never be read). */
	page = "{\"Events\":[],\"NextToken\":null}";
	assert_int_equal(cloudtrail_parse_page(page, strlen(page), &p,
	    &skipped, err, sizeof(err)), 0);
	assert_null(p.next_token);
	cloudtrail_page_free(&p);
	page = "{\"Events\":[{\"EventId\":\"a\",\"EventTime\":1,"
	    "\"CloudTrailEvent\":\"{}\"}],\"NextToken\":7}";
	assert_int_equal(cloudtrail_parse_page(page, strlen(page), &p,
	    &skipped, err, sizeof(err)), -1);
	assert_string_equal(err, "LookupEvents answer has a NextToken that "
	    "is not a string");
}

static void
test_bad_entries_skipped(void **state)
{
	const char *page =
	    "{\"Events\":[{\"EventId\":\"x\"},{\"EventId\":1,\"EventTime\":1,"
	    "\"CloudTrailEvent\":\"{}\"},7,{\"EventId\":\"ok\",\"EventTime\":"
	    "\"never\",\"CloudTrailEvent\":\"{}\"},{\"EventId\":\"good\","
	    "\"EventTime\":5,\"CloudTrailEvent\":\"{}\"}]}";
	struct sg_ct_page p;
	size_t skipped;
	char err[256];

	assert_int_equal(cloudtrail_parse_page(page, strlen(page), &p,
	    &skipped, err, sizeof(err)), 0);
	assert_int_equal(p.nentries, 1);
	assert_int_equal(skipped, 4);
	assert_string_equal(p.entries[0].event_id, "good");
	cloudtrail_page_free(&p);
}

static void
test_garbage(void **state)
{
	static const char *const bad[] = {
		"", "<html><body>502 Bad Gateway</body></html>", "[]",
		"{\"Events\":{}}", "{\"Events\":[", "null", "{}",
	};
	struct sg_ct_page p;
	size_t skipped, i;
	char err[256];

	for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		assert_int_equal(cloudtrail_parse_page(bad[i], strlen(bad[i]),
		    &p, &skipped, err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
		assert_null(p.entries);
	}
}

static void
test_genuine_page(void **state)
{
	const char *shared = getenv("SHARED_DIR");
	char path[1024], err[256];
	struct sg_ct_page p;
	struct sg_buf b;
	size_t skipped, i;
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "%s/data/cloudtrail-samples/"
	    "LookupEvents__cloudryer__1.json",
	    shared != NULL ? shared : "../shared");
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "shared data absent: %s\n", path);
		skip();
	}
	buf_init(&b);
	while ((c = fgetc(f)) != EOF)
		buf_putc(&b, (char)c);
	fclose(f);
	/* An SDK capture: EventTime is ISO text there, not epoch. */
	assert_int_equal(cloudtrail_parse_page(b.data, b.len, &p, &skipped,
	    err, sizeof(err)), 0);
	assert_int_equal(p.nentries, 12);
	assert_int_equal(skipped, 0);
	assert_string_equal(p.entries[0].event_id,
	    "2caf11a1-0a46-422c-929d-9d6d3576a46e");
	assert_string_equal(p.entries[0].event_name, "StopInstances");
	assert_int_equal(p.entries[0].event_time, 1668031516);
	/* Newest first. */
	for (i = 1; i < p.nentries; i++)
		assert_true(p.entries[i].event_time <=
		    p.entries[i - 1].event_time);
	assert_true(p.entries[0].record[0] == '{');
	assert_null(p.next_token);
	cloudtrail_page_free(&p);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_wire_page),
		cmocka_unit_test(test_last_page),
		cmocka_unit_test(test_bad_entries_skipped),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_genuine_page),
	};

	return cmocka_run_group_tests_name("cloudtrail", tests, NULL, NULL);
}
