/* test_log.c: sanitising, redaction and level filtering of log.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

static struct sg_buf captured;
static int captured_level;
static struct sg_log_fields captured_fields;

static void
sink(int level, const struct sg_log_fields *f, const char *msg, void *arg)
{
	captured_level = level;
	if (f != NULL)
		captured_fields = *f;
	buf_reset(&captured);
	buf_puts(&captured, msg);
}

static int
setup(void **state)
{
	buf_init(&captured);
	buf_puts(&captured, "");
	memset(&captured_fields, 0, sizeof(captured_fields));
	log_set_sink(sink, NULL);
	log_set_level(LOG_DEBUG);
	return 0;
}

static int
teardown(void **state)
{
	log_set_sink(NULL, NULL);
	log_secret_clear();
	buf_free(&captured);
	return 0;
}

static void
test_sanitize_controls(void **state)
{
	char out[128];

	log_sanitize("a\nb\tc\rd\x01" "e\x7f", out, sizeof(out));
	assert_string_equal(out, "a\\nb\\tc\\rd\\x01e\\x7f");
}

static void
test_sanitize_utf8(void **state)
{
	char out[128];

	/* Valid multi-byte text passes unchanged. */
	log_sanitize("caf\xc3\xa9 \xe2\x82\xac", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac");
	/* A lone continuation byte, an overlong form, a surrogate. */
	log_sanitize("a\x80z", out, sizeof(out));
	assert_string_equal(out, "a\\x80z");
	log_sanitize("\xc0\xaf", out, sizeof(out));
	assert_string_equal(out, "\\xc0\\xaf");
	log_sanitize("\xed\xa0\x80", out, sizeof(out));
	assert_string_equal(out, "\\xed\\xa0\\x80");
	/* U+2028 LINE SEPARATOR would break a line in some viewers. */
	log_sanitize("x\xe2\x80\xa8y", out, sizeof(out));
	assert_string_equal(out, "x\\xe2\\x80\\xa8y");
	/* Truncated sequence at the end. */
	log_sanitize("ok\xe2\x82", out, sizeof(out));
	assert_string_equal(out, "ok\\xe2\\x82");
}

static void
test_sanitize_truncates(void **state)
{
	char big[1000], out[32];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_sanitize(big, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "..."));
	/* Never cut an escape in half. */
	log_sanitize("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", out, 10);
	assert_true(strlen(out) <= 9);
	assert_true(strncmp(out, "\\n\\n", 4) == 0);
}

static void
test_one_line(void **state)
{
	log_info("event %s", "id\nsgguard[1]: error: forged");
	assert_null(strchr(captured.data, '\n'));
	assert_string_equal(captured.data,
	    "event id\\nsgguard[1]: error: forged");
}

static void
test_secret_redacted(void **state)
{
	log_secret_add("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	log_error("bad key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY here");
	assert_null(strstr(captured.data, "wJalrXUtnFEMI"));
	assert_non_null(strstr(captured.data, "[REDACTED]"));
	assert_non_null(strstr(captured.data, "bad key"));
	assert_non_null(strstr(captured.data, " here"));
}

/* A secret cut short by an earlier truncation still goes: its first 8
 * characters are enough. */
static void
test_secret_cut_redacted(void **state)
{
	log_secret_add("Zq9SeCrEtKeYvalue/abcDEF0123456789wxyzAB");
	log_error("failed: ...PPPP Zq9SeCrEtKeYvalue/abcD; the window is read "
	    "again");
	assert_null(strstr(captured.data, "Zq9SeCrE"));
	assert_null(strstr(captured.data, "KeYvalue"));
	assert_string_equal(captured.data, "failed: ...PPPP [REDACTED]; the "
	    "window is read again");
	/* Twice in one message, one of them whole. */
	log_error("Zq9SeCrEtKeYvalue/abcDEF0123456789wxyzAB and Zq9SeCrEtK");
	assert_string_equal(captured.data, "[REDACTED] and [REDACTED]");
}

/* Anything shaped like a signature goes, whatever names it; shorter hex
 * (a commit id, a request id) stays. */
static void
test_hex_redacted(void **state)
{
	log_error("mismatch: 5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8"
	    "aae1d763fbf31 (commit 1c759d5a1b2c3d4e5f60718293a4b5c6d7e8f901)");
	assert_string_equal(captured.data, "mismatch: [REDACTED] (commit "
	    "1c759d5a1b2c3d4e5f60718293a4b5c6d7e8f901)");
}

static void
test_short_secret_ignored(void **state)
{
	/* Registering a short string must not blank ordinary words. */
	log_secret_add("abc");
	log_info("abcdef");
	assert_string_equal(captured.data, "abcdef");
}

static void
test_signature_redacted(void **state)
{
	log_debug("Authorization: AWS4-HMAC-SHA256 Credential=AKID/20150830/"
	    "us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d"
	    "763fbf31");
	assert_null(strstr(captured.data, "5fa00fa3"));
	assert_non_null(strstr(captured.data, "Signature=[REDACTED]"));
}

static void
test_levels(void **state)
{
	int l;

	log_set_level(LOG_WARNING);
	buf_reset(&captured);
	log_info("quiet");
	assert_int_equal(captured.len, 0);
	log_warnx("loud");
	assert_string_equal(captured.data, "loud");
	assert_int_equal(captured_level, LOG_WARNING);

	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_DEBUG);
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOG_ERR);
	assert_int_equal(log_level_parse("verbose", &l), -1);
	assert_string_equal(log_level_name(LOG_WARNING), "warning");
	assert_string_equal(log_level_name(LOG_NOTICE), "info");
	assert_string_equal(log_level_name(LOG_CRIT), "error");
}

static void
test_fields(void **state)
{
	struct sg_log_fields f = {
		.message_id = SG_MSGID_REVERTED,
		.event_id = "e-1",
		.group_id = "sg-12345678",
		.action = "reverted",
	};

	log_msg(LOG_NOTICE, &f, "reverted %d rule", 1);
	assert_string_equal(captured.data, "reverted 1 rule");
	assert_string_equal(captured_fields.message_id, SG_MSGID_REVERTED);
	assert_string_equal(captured_fields.group_id, "sg-12345678");
	assert_int_equal(captured_level, LOG_NOTICE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sanitize_controls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sanitize_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sanitize_truncates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_redacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_cut_redacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hex_redacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_secret_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_redacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
