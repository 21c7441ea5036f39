/* test_notify.c: the notification subject and body of the contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "rule.h"

static struct sg_event ev;
static struct sg_rule rules[3];
static struct sg_plan plan;

static int
setup(void **state)
{
	char err[128];

	memset(&ev, 0, sizeof(ev));
	ev.event_id = "9fd68588-ecbf-4528-a345-199fa6bb0821";
	ev.event_name = "AuthorizeSecurityGroupIngress";
	ev.event_time_text = "2024-08-01T12:23:55Z";
	ev.account = "123456789012";
	ev.region = "us-east-1";
	ev.group_id = "sg-0123456789abcdef0";
	ev.principal_arn = "arn:aws:iam::123456789012:user/mallory";
	ev.principal_type_text = "IAMUser";
	ev.invoked_by = "";
	ev.source_ip = "203.0.113.7";
	ev.user_agent = "aws-cli/2.17.60";
	assert_int_equal(rule_pattern_parse("tcp 22 0.0.0.0/0", &rules[0],
	    err, sizeof(err)), 0);
	assert_int_equal(rule_pattern_parse("tcp 3389 ::/0", &rules[1], err,
	    sizeof(err)), 0);
	assert_int_equal(rule_pattern_parse("tcp 443 0.0.0.0/0", &rules[2],
	    err, sizeof(err)), 0);
	memset(&plan, 0, sizeof(plan));
	plan.verdict = SG_VERDICT_REVERT;
	plan.revoke = rules;
	plan.nrevoke = 2;
	plan.keep = &rules[2];
	plan.nkeep = 1;
	return 0;
}

static void
test_reverted(void **state)
{
	struct sg_buf s, b;

	buf_init(&s);
	buf_init(&b);
	notify_format(&ev, &plan, SG_OUTCOME_REVERTED, NULL, NULL,
	    "[sgguard]", &s, &b);
	assert_string_equal(s.data,
	    "[sgguard] AUTO-MITIGATED sg-0123456789abcdef0 (us-east-1)");
	assert_string_equal(b.data,
	    "event_id: 9fd68588-ecbf-4528-a345-199fa6bb0821\n"
	    "event_name: AuthorizeSecurityGroupIngress\n"
	    "event_time: 2024-08-01T12:23:55Z\n"
	    "account: 123456789012\n"
	    "region: us-east-1\n"
	    "group_id: sg-0123456789abcdef0\n"
	    "principal: arn:aws:iam::123456789012:user/mallory\n"
	    "source_ip: 203.0.113.7\n"
	    "user_agent: aws-cli/2.17.60\n"
	    "revoked: tcp 22 0.0.0.0/0\n"
	    "revoked: tcp 3389 ::/0\n"
	    "kept: tcp 443 0.0.0.0/0\n");
	buf_free(&s);
	buf_free(&b);
}

static void
test_dry_run(void **state)
{
	struct sg_buf s, b;

	buf_init(&s);
	buf_init(&b);
	notify_format(&ev, &plan, SG_OUTCOME_DRY_RUN, NULL, NULL, "[x]", &s,
	    &b);
	assert_string_equal(s.data,
	    "[x] DRY-RUN sg-0123456789abcdef0 (us-east-1)");
	assert_non_null(strstr(b.data, "\nwould_revoke: tcp 22 0.0.0.0/0\n"));
	assert_null(strstr(b.data, "\nrevoked:"));
	buf_free(&s);
	buf_free(&b);
}

static void
test_failed_partial(void **state)
{
	struct sg_buf s, b;
	bool ok[2] = { true, false };

	buf_init(&s);
	buf_init(&b);
	notify_format(&ev, &plan, SG_OUTCOME_FAILED, ok,
	    "UnauthorizedOperation: You are not authorized", "[sgguard]", &s,
	    &b);
	assert_string_equal(s.data,
	    "[sgguard] FAILED sg-0123456789abcdef0 (us-east-1)");
	assert_non_null(strstr(b.data, "\nrevoked: tcp 22 0.0.0.0/0\n"
	    "failed: tcp 3389 ::/0\nkept: tcp 443 0.0.0.0/0\n"
	    "error: UnauthorizedOperation: You are not authorized\n"));
	buf_free(&s);
	buf_free(&b);
}

static void
test_hostile_values(void **state)
{
	struct sg_buf s, b;
	char big[10000];
	const char *p;
	int lines = 0;

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ev.user_agent = "evil\nrevoked: tcp 1 0.0.0.0/0\r\x1b[31m";
	ev.source_ip = big;
	ev.principal_arn = "arn:\xff\xfe";
	buf_init(&s);
	buf_init(&b);
	notify_format(&ev, &plan, SG_OUTCOME_REVERTED, NULL, NULL,
	    "[sgguard]\n\x01\xc3\xa9", &s, &b);
	/* No injected line: 9 fields + 2 revoked + 1 kept. */
	for (p = b.data; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 12);
	assert_non_null(strstr(b.data, "user_agent: evil\\nrevoked: tcp 1 "
	    "0.0.0.0/0\\r\\x1b[31m\n"));
	assert_non_null(strstr(b.data, "principal: arn:\\xff\\xfe\n"));
	assert_true(strlen(b.data) < 4000);
	/* The subject stays printable ASCII and under 100 characters. */
	for (p = s.data; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	assert_true(s.len < 100);
	buf_free(&s);
	buf_free(&b);
}

static void
test_long_prefix(void **state)
{
	struct sg_buf s, b;
	char prefix[200];

	memset(prefix, 'P', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	buf_init(&s);
	buf_init(&b);
	notify_format(&ev, &plan, SG_OUTCOME_REVERTED, NULL, NULL, prefix,
	    &s, &b);
	assert_true(s.len <= 99);
	/* The essential part survives; the prefix gives way. */
	assert_non_null(strstr(s.data,
	    " AUTO-MITIGATED sg-0123456789abcdef0 (us-east-1)"));
	buf_free(&s);
	buf_free(&b);
}

static void
test_principal_fallbacks(void **state)
{
	ev.principal_arn = "";
	ev.invoked_by = "cloudformation.amazonaws.com";
	assert_string_equal(notify_principal(&ev),
	    "cloudformation.amazonaws.com");
	ev.invoked_by = "";
	assert_string_equal(notify_principal(&ev), "IAMUser");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reverted, setup),
		cmocka_unit_test_setup(test_dry_run, setup),
		cmocka_unit_test_setup(test_failed_partial, setup),
		cmocka_unit_test_setup(test_hostile_values, setup),
		cmocka_unit_test_setup(test_long_prefix, setup),
		cmocka_unit_test_setup(test_principal_fallbacks, setup),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
