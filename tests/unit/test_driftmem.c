/* test_driftmem.c: the drift check's memory as kept in the state
 * directory: round trip, what ages out, what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driftmem.h"
#include "rule.h"
#include "util.h"

#define NOW	1800000000L
#define KEEP	1800L

static struct sg_drift_mark
mark(const char *key, const char *group, const char *text, time_t seen)
{
	struct sg_drift_mark m;
	char err[256];

	memset(&m, 0, sizeof(m));
	if (rule_pattern_parse(text, &m.gr.rule, err, sizeof(err)) == -1)
		fail_msg("pattern %s: %s", text, err);
	sg_strlcpy(m.key, key, sizeof(m.key));
	sg_strlcpy(m.gr.group_id, group, sizeof(m.gr.group_id));
	sg_strlcpy(m.gr.rule.rule_id, "sgr-0aaaabbbbccccdddd",
	    sizeof(m.gr.rule.rule_id));
	m.seen = seen;
	return m;
}

static void
test_roundtrip(void **unused)
{
	struct sg_drift_mark in[4], *out;
	char err[256], *text;
	size_t n, i;

	(void)unused;
	in[0] = mark("/us-east-1", "sg-0123456789abcdef0", "tcp 22 0.0.0.0/0",
	    NOW - 10);
	in[0].reverted = true;
	sg_strlcpy(in[0].gr.owner_id, "123456789012",
	    sizeof(in[0].gr.owner_id));
	in[1] = mark("prod/eu-west-1", "sg-0fedcba9876543210",
	    "tcp 8080 10.0.0.0/8", NOW - 100);
	in[1].restored = true;
	sg_strlcpy(in[1].gr.description, "app port",
	    sizeof(in[1].gr.description));
	in[2] = mark("prod/eu-west-1", "sg-0fedcba9876543210",
	    "icmpv6 any ::/0", NOW - 1000);
	in[2].gr.rule.egress = true;
	in[2].audited = true;
	in[3] = mark("a/b/ap-south-1", "sg-01234567", "all any sg-0badc0de",
	    NOW);		/* waiting */
	text = driftmem_serialize(in, 4);
	assert_int_equal(driftmem_parse(text, strlen(text), NOW, KEEP, &out, &n,
	    err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(out[i].key, in[i].key);
		assert_string_equal(out[i].gr.group_id, in[i].gr.group_id);
		assert_string_equal(out[i].gr.owner_id, in[i].gr.owner_id);
		assert_string_equal(out[i].gr.description,
		    in[i].gr.description);
		assert_string_equal(out[i].gr.rule.rule_id,
		    in[i].gr.rule.rule_id);
		assert_true(rule_equal(&out[i].gr.rule, &in[i].gr.rule));
		assert_int_equal(out[i].gr.rule.egress, in[i].gr.rule.egress);
		assert_int_equal(out[i].seen, in[i].seen);
		assert_int_equal(out[i].reverted, in[i].reverted);
		assert_int_equal(out[i].restored, in[i].restored);
		assert_int_equal(out[i].audited, in[i].audited);
	}
	free(out);
	free(text);
}

/* Marks past every window are not brought back; nor one far ahead of the
 * clock. A little ahead (the clock stepped back) is kept. */
static void
test_ages_out(void **unused)
{
	struct sg_drift_mark in[4], *out;
	char err[256], *text;
	size_t n;

	(void)unused;
	in[0] = mark("/r", "sg-01234567", "tcp 1 0.0.0.0/0", NOW - KEEP - 1);
	in[1] = mark("/r", "sg-01234567", "tcp 2 0.0.0.0/0", NOW - KEEP);
	in[2] = mark("/r", "sg-01234567", "tcp 3 0.0.0.0/0", NOW + 60);
	in[3] = mark("/r", "sg-01234567", "tcp 4 0.0.0.0/0", NOW + KEEP + 1);
	text = driftmem_serialize(in, 4);
	assert_int_equal(driftmem_parse(text, strlen(text), NOW, KEEP, &out, &n,
	    err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].gr.rule.from_port, 2);
	assert_int_equal(out[1].gr.rule.from_port, 3);
	free(out);
	free(text);
}

/* More than the memory holds: the newest (last) are kept. */
static void
test_capped(void **unused)
{
	struct sg_drift_mark *in, *out;
	char err[256], *text;
	size_t n, i, total = SG_DRIFT_MEMORY_MAX + 5;

	(void)unused;
	in = calloc(total, sizeof(*in));
	assert_non_null(in);
	for (i = 0; i < total; i++)
		in[i] = mark("/r", "sg-01234567", "tcp 22 0.0.0.0/0",
		    NOW - (time_t)(total - i));
	text = driftmem_serialize(in, total);
	assert_int_equal(driftmem_parse(text, strlen(text), NOW, 1000000, &out,
	    &n, err, sizeof(err)), 0);
	assert_int_equal(n, SG_DRIFT_MEMORY_MAX);
	assert_int_equal(out[0].seen, in[5].seen);
	assert_int_equal(out[n - 1].seen, in[total - 1].seen);
	free(out);
	free(text);
	free(in);
}

static void
test_empty(void **unused)
{
	struct sg_drift_mark *out;
	char err[256], *text;
	size_t n = 7;

	(void)unused;
	text = driftmem_serialize(NULL, 0);
	assert_int_equal(driftmem_parse(text, strlen(text), NOW, KEEP, &out, &n,
	    err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(out);
	free(text);
}

/* A bad file is refused with where and what, and gives nothing. */
static void
test_refused(void **unused)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "", "not JSON" },
		{ "{\"version\":1,\"marks\":[]", "not JSON" },
		{ "{\"version\":2,\"marks\":[]}", "not a version 1 drift file" },
		{ "{\"version\":1}", "no \"marks\" array" },
		{ "{\"version\":1,\"marks\":[1]}", "mark 1: not an object" },
		{ "{\"version\":1,\"marks\":[{\"key\":\"/r\",\"group\":"
		    "\"sg-01234567\"}]}", "mark 1: needs key, group and seen" },
		{ "{\"version\":1,\"marks\":[{\"key\":\"/r\",\"group\":"
		    "\"sg-01234567\",\"seen\":1800000000,\"reverted\":1,"
		    "\"restored\":false,\"audited\":false}]}",
		    "mark 1: reverted is not true or false" },
		{ "{\"version\":1,\"marks\":[{\"key\":\"/r\",\"group\":"
		    "\"sg-01234567\",\"seen\":1800000000,\"reverted\":true,"
		    "\"restored\":false,\"audited\":false,\"rule\":{\"id\":"
		    "\"\",\"egress\":false,\"proto\":6,\"from\":22,\"to\":22}}]}",
		    "mark 1: needs exactly one of cidr" },
		{ "{\"version\":1,\"marks\":[{\"key\":\"/r\",\"group\":"
		    "\"sg-01234567\",\"seen\":1800000000,\"reverted\":true,"
		    "\"restored\":false,\"audited\":false,\"owner\":7,\"rule\":"
		    "{\"id\":\"\",\"egress\":false,\"proto\":6,\"from\":22,"
		    "\"to\":22,\"cidr\":\"0.0.0.0/0\"}}]}", "mark 1: bad owner" },
	};
	struct sg_drift_mark *out;
	char err[256];
	size_t i, n;

	(void)unused;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = (struct sg_drift_mark *)&n;	/* must be reset */
		n = 9;
		assert_int_equal(driftmem_parse(cases[i].json,
		    strlen(cases[i].json), NOW, KEEP, &out, &n, err,
		    sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: %s, want %s", i, err, cases[i].want);
		assert_null(out);
		assert_int_equal(n, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_ages_out),
		cmocka_unit_test(test_capped),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
