/* test_digest.c: more than 10 notifications for one group within a
 * minute fold into one digest; its subject and body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "util.h"

#define GROUP_A	"sg-0123456789abcdef0"
#define GROUP_B	"sg-0fedcba9876543210"
#define REGION	"eu-west-1"
#define WHO	"arn:aws:iam::111122223333:user/mallory"
#define T0	1000000		/* any steady clock */

static enum sg_digest_verdict
offer(struct sg_digest *d, const char *group, int n, time_t now)
{
	char id[64];

	snprintf(id, sizeof(id), "event-%s-%d", group + 3, n);
	return digest_offer(d, REGION, group, id, "reverted", WHO, now);
}

static size_t
count_lines(const char *s, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);
	const char *p = s;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, plen) == 0)
			n++;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return n;
}

static void
test_ten_then_fold(void **state)
{
	struct sg_digest d;
	struct sg_buf subject, body;
	time_t due;
	int i;

	digest_init(&d);
	buf_init(&subject);
	buf_init(&body);
	/* Ten within the minute go out one by one. */
	for (i = 0; i < SG_DIGEST_LIMIT; i++)
		assert_int_equal(offer(&d, GROUP_A, i, T0 + i), SG_DIGEST_SEND);
	assert_false(digest_next_due(&d, &due));
	/* The eleventh opens the digest; more join it. */
	assert_int_equal(offer(&d, GROUP_A, 10, T0 + 20), SG_DIGEST_FOLD);
	assert_int_equal(offer(&d, GROUP_A, 11, T0 + 21), SG_DIGEST_FOLD);
	assert_int_equal(offer(&d, GROUP_A, 12, T0 + 30), SG_DIGEST_FOLD);
	assert_int_equal(digest_pending(&d), 3);
	assert_true(digest_next_due(&d, &due));
	assert_int_equal(due, T0 + 20 + SG_DIGEST_WINDOW);
	/* Another group is not held up. */
	assert_int_equal(offer(&d, GROUP_B, 0, T0 + 30), SG_DIGEST_SEND);

	/* Not due yet; due a minute after it opened. */
	assert_int_equal(digest_take(&d, T0 + 79, false, "[sgguard]", &subject,
	    &body), 0);
	assert_int_equal(digest_take(&d, T0 + 80, false, "[sgguard]", &subject,
	    &body), 1);
	assert_string_equal(subject.data, "[sgguard] DIGEST " GROUP_A " ("
	    REGION ")");
	assert_non_null(strstr(body.data, "digest: 3 notifications folded"));
	assert_non_null(strstr(body.data, "\nregion: " REGION "\n"));
	assert_non_null(strstr(body.data, "\ngroup_id: " GROUP_A "\n"));
	assert_non_null(strstr(body.data, "event: event-0123456789abcdef0-10 "
	    "reverted " WHO "\n"));
	assert_non_null(strstr(body.data, "event: event-0123456789abcdef0-12 "
	    "reverted " WHO "\n"));
	assert_int_equal(count_lines(body.data, "event: "), 3);
	assert_int_equal(digest_pending(&d), 0);
	assert_int_equal(digest_take(&d, T0 + 80, true, "[sgguard]", &subject,
	    &body), 0);

	buf_free(&subject);
	buf_free(&body);
	digest_free(&d);
}

static void
test_sliding_window(void **state)
{
	struct sg_digest d;
	int i;

	digest_init(&d);
	/* Ten spread over 50 s, then one more at 60 s: the first of the ten
	 * left the window (it is exactly 60 s old), so it is sent. */
	for (i = 0; i < 10; i++)
		assert_int_equal(offer(&d, GROUP_A, i, T0 + i * 5),
		    SG_DIGEST_SEND);
	assert_int_equal(offer(&d, GROUP_A, 10, T0 + 59), SG_DIGEST_FOLD);
	digest_free(&d);

	digest_init(&d);
	for (i = 0; i < 10; i++)
		assert_int_equal(offer(&d, GROUP_A, i, T0 + i * 5),
		    SG_DIGEST_SEND);
	assert_int_equal(offer(&d, GROUP_A, 10, T0 + 60), SG_DIGEST_SEND);
	assert_int_equal(offer(&d, GROUP_A, 11, T0 + 61), SG_DIGEST_FOLD);
	digest_free(&d);
}

static void
test_storm(void **state)
{
	struct sg_digest d;
	struct sg_buf subject, body;
	time_t now, sent[4096];
	size_t nsent = 0, events = 0, listed = 0, nflush = 0, nsteady, i, j;
	size_t inwin;

	digest_init(&d);
	buf_init(&subject);
	buf_init(&body);
	/* Two events a second for ten minutes on one group. */
	for (now = T0; now < T0 + 600; now++) {
		for (i = 0; i < 2; i++) {
			switch (offer(&d, GROUP_A, (int)events++, now)) {
			case SG_DIGEST_SEND:
				sent[nsent++] = now;
				listed++;
				break;
			case SG_DIGEST_FOLD:
				break;
			case SG_DIGEST_FLUSH:
				/* A minute after the digest opened. */
				assert_int_equal(digest_take(&d, now, false,
				    "[sgguard]", &subject, &body), 1);
				sent[nsent++] = now;
				listed += count_lines(body.data, "event: ");
				nflush++;
				break;
			}
		}
		while (digest_take(&d, now, false, "[sgguard]", &subject,
		    &body) == 1) {
			sent[nsent++] = now;
			listed += count_lines(body.data, "event: ");
		}
	}
	/* At shutdown every open digest goes, whatever the count. */
	nsteady = nsent;
	while (digest_take(&d, now, true, "[sgguard]", &subject, &body) == 1) {
		sent[nsent++] = now;
		listed += count_lines(body.data, "event: ");
	}
	/* Every event is named once; never more than ten messages in a
	 * minute; far fewer messages than events. */
	assert_int_equal(listed, events);
	for (i = 0; i < nsteady; i++) {
		inwin = 0;
		for (j = 0; j < nsteady; j++)
			if (sent[j] > sent[i] - SG_DIGEST_WINDOW &&
			    sent[j] <= sent[i])
				inwin++;
		if (inwin > SG_DIGEST_LIMIT)
			fail_msg("%zu messages in the minute before %ld",
			    inwin, (long)(sent[i] - T0));
	}
	assert_true(nsent <= 120);
	assert_true(nflush > 0);
	buf_free(&subject);
	buf_free(&body);
	digest_free(&d);
}

static void
test_flush_when_full(void **state)
{
	struct sg_digest d;
	struct sg_buf subject, body;
	int i;

	digest_init(&d);
	buf_init(&subject);
	buf_init(&body);
	for (i = 0; i < SG_DIGEST_LIMIT; i++)
		offer(&d, GROUP_A, i, T0);
	for (i = 0; i < SG_DIGEST_MAX_ITEMS - 1; i++)
		assert_int_equal(offer(&d, GROUP_A, 100 + i, T0 + 1),
		    SG_DIGEST_FOLD);
	/* The last one that fits makes it due at once. */
	assert_int_equal(offer(&d, GROUP_A, 999, T0 + 1), SG_DIGEST_FLUSH);
	assert_int_equal(digest_take(&d, T0 + 1, false, NULL, &subject,
	    &body), 1);
	assert_int_equal(count_lines(body.data, "event: "),
	    SG_DIGEST_MAX_ITEMS);
	/* Bounded: well below SNS's 256 KB even with long principals. */
	assert_true(body.len < 64 * 1024);
	assert_string_equal(subject.data, "DIGEST " GROUP_A " (" REGION ")");
	buf_free(&subject);
	buf_free(&body);
	digest_free(&d);
}

static void
test_hostile_values(void **state)
{
	struct sg_digest d;
	struct sg_buf subject, body;
	char prefix[200], longwho[4000];
	const char *p;
	int i;

	digest_init(&d);
	buf_init(&subject);
	buf_init(&body);
	for (i = 0; i < SG_DIGEST_LIMIT; i++)
		offer(&d, GROUP_A, i, T0);
	memset(longwho, 'w', sizeof(longwho) - 1);
	longwho[sizeof(longwho) - 1] = '\0';
	assert_int_equal(digest_offer(&d, REGION, GROUP_A, "id with\nnewline",
	    "re verted", "evil\r\nsubject: forged", T0), SG_DIGEST_FOLD);
	digest_offer(&d, REGION, GROUP_A, NULL, NULL, longwho, T0);
	memset(prefix, 'P', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	prefix[3] = '\x01';
	assert_int_equal(digest_take(&d, T0, true, prefix, &subject, &body),
	    1);
	/* Subject: printable ASCII, under 100, group and region whole. */
	assert_true(subject.len < 100);
	for (p = subject.data; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	assert_non_null(strstr(subject.data, " DIGEST " GROUP_A " (" REGION
	    ")"));
	/* Body: one line per event, nothing forged. */
	assert_int_equal(count_lines(body.data, "event: "), 2);
	assert_int_equal(count_lines(body.data, "subject: "), 0);
	assert_non_null(strstr(body.data, "event: id_with\\nnewline re_verted "
	    "evil\\r\\nsubject: forged\n"));
	assert_non_null(strstr(body.data, "event: - - www"));
	assert_true(strstr(body.data, "www\n") - body.data < 1024);
	buf_free(&subject);
	buf_free(&body);
	digest_free(&d);
}

static void
test_quiet_groups_forgotten(void **state)
{
	struct sg_digest d;
	int i;

	digest_init(&d);
	for (i = 0; i < 50; i++) {
		char group[32];

		snprintf(group, sizeof(group), "sg-%08x", i);
		assert_int_equal(digest_offer(&d, REGION, group, "e", "failed",
		    WHO, T0 + i * 120), SG_DIGEST_SEND);
	}
	/* Only the groups of the last minute are remembered. */
	assert_true(d.n <= 2);
	digest_free(&d);
	assert_int_equal(d.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_then_fold),
		cmocka_unit_test(test_sliding_window),
		cmocka_unit_test(test_storm),
		cmocka_unit_test(test_flush_when_full),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_quiet_groups_forgotten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
