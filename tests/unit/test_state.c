/* test_state.c: state serialisation, the handled set, atomic commit,
 * and recovery from a corrupt file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "util.h"

static char dir[256];

static void
quiet(int level, const struct sg_log_fields *f, const char *msg, void *arg)
{
}

static int
mkdir_setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/sgguard-test-state-XXXXXX");
	assert_non_null(mkdtemp(dir));
	log_set_sink(quiet, NULL);
	return 0;
}

static int
rmdir_teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	log_set_sink(NULL, NULL);
	return 0;
}

static int
count_files(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_roundtrip(void **state)
{
	struct sg_state a, b;
	char *text, err[256];

	state_init(&a);
	state_set_cursor(&a, "default/us-east-1", 1700000000);
	state_set_cursor(&a, "default/eu-west-1", 1700000100);
	state_set_cursor(&a, "default/us-east-1", 1700000200);
	state_mark_handled(&a, "11111111-2222-3333-4444-555555555555",
	    1699999000);
	state_add_pending(&a, "e1", "arn:aws:sns:us-east-1:1:t", "subj",
	    "line1\nline2 \"quoted\" \xc3\xa9", 1700000000);
	text = state_serialize(&a);
	assert_int_equal(state_parse(text, strlen(text), &b, err,
	    sizeof(err)), 0);
	assert_int_equal(b.ncursors, 2);
	assert_int_equal(state_cursor(&b, "default/us-east-1"), 1700000200);
	assert_int_equal(state_cursor(&b, "default/eu-west-1"), 1700000100);
	assert_int_equal(state_cursor(&b, "default/ap-south-1"), 0);
	assert_true(state_is_handled(&b,
	    "11111111-2222-3333-4444-555555555555"));
	assert_false(state_is_handled(&b, "nope"));
	assert_int_equal(b.npending, 1);
	assert_string_equal(b.pending[0].message,
	    "line1\nline2 \"quoted\" \xc3\xa9");
	assert_false(b.dirty);
	free(text);
	state_free(&a);
	state_free(&b);
}

static time_t
own_used(const struct sg_state *st, const char *akid)
{
	size_t i;

	for (i = 0; i < st->nown; i++)
		if (strcmp(st->own_keys[i], akid) == 0)
			return st->own_used[i];
	return -1;
}

/* sgguard's own keys survive a restart, are rewritten at most hourly,
 * leave with the windows that could hold their calls, and files from
 * before they were kept still load. */
static void
test_own_keys(void **state)
{
	struct sg_state a, b;
	const char *old = "{\"version\":1,\"cursors\":{},\"handled\":{},"
	    "\"pending\":[]}";
	char *text, err[256];
	const time_t t = 1700000000;

	state_init(&a);
	state_own_key(&a, "ASIAOLDKEY0000000001", t);
	state_own_key(&a, "AKIABASEKEY000000001", t);
	state_own_key(&a, "", t);
	assert_int_equal(a.nown, 2);
	text = state_serialize(&a);
	assert_int_equal(state_parse(text, strlen(text), &b, err,
	    sizeof(err)), 0);
	free(text);
	assert_int_equal(b.nown, 2);
	assert_int_equal(own_used(&b, "ASIAOLDKEY0000000001"), t);
	assert_false(b.dirty);
	/* Used again within the hour: nothing to write. */
	state_own_key(&b, "ASIAOLDKEY0000000001", t + STATE_OWN_KEY_GRAIN - 1);
	assert_false(b.dirty);
	assert_int_equal(own_used(&b, "ASIAOLDKEY0000000001"), t);
	state_own_key(&b, "AKIABASEKEY000000001", t + 3 * STATE_OWN_KEY_GRAIN);
	assert_true(b.dirty);
	/* Windows that start before t + slack still need the old key. */
	state_prune(&b, t + STATE_OWN_KEY_SLACK);
	assert_int_equal(own_used(&b, "ASIAOLDKEY0000000001"), t);
	state_prune(&b, t + STATE_OWN_KEY_SLACK + 1);
	assert_int_equal(own_used(&b, "ASIAOLDKEY0000000001"), -1);
	assert_int_equal(own_used(&b, "AKIABASEKEY000000001"),
	    t + 3 * STATE_OWN_KEY_GRAIN);
	state_free(&a);
	state_free(&b);
	assert_int_equal(state_parse(old, strlen(old), &b, err, sizeof(err)),
	    0);
	assert_int_equal(b.nown, 0);
	state_free(&b);
	old = "{\"version\":1,\"cursors\":{},\"handled\":{},\"pending\":[],"
	    "\"own_keys\":{\"AKIA1\":\"soon\"}}";
	assert_int_equal(state_parse(old, strlen(old), &b, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "bad own_keys entry");
}

static void
test_handled_many_and_prune(void **state)
{
	struct sg_state st;
	char id[64];
	int i;

	state_init(&st);
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "event-%d", i);
		state_mark_handled(&st, id, 1000 + i);
	}
	assert_int_equal(st.nhandled, 5000);
	/* Marking again does not add. */
	state_mark_handled(&st, "event-42", 1042);
	assert_int_equal(st.nhandled, 5000);
	for (i = 0; i < 5000; i += 97) {
		snprintf(id, sizeof(id), "event-%d", i);
		assert_true(state_is_handled(&st, id));
	}
	state_prune(&st, 1000 + 4000);
	assert_int_equal(st.nhandled, 1000);
	assert_false(state_is_handled(&st, "event-3999"));
	assert_true(state_is_handled(&st, "event-4000"));
	assert_true(state_is_handled(&st, "event-4999"));
	/* The horizon: what was forgotten, never back (an earlier cut, as
	 * after a smaller lookback, does not lower it). */
	assert_int_equal(st.horizon, 5000);
	state_prune(&st, 4500);
	assert_int_equal(st.horizon, 5000);
	{
		struct sg_state back;
		char *text = state_serialize(&st), err[128];
		const char *bad = "{\"version\":1,\"cursors\":{},"
		    "\"handled\":{},\"pending\":[],\"horizon\":\"x\"}";

		state_init(&back);
		assert_int_equal(state_parse(text, strlen(text), &back, err,
		    sizeof(err)), 0);
		assert_int_equal(back.horizon, 5000);
		state_free(&back);
		free(text);
		state_init(&back);
		assert_int_equal(state_parse(bad, strlen(bad), &back, err,
		    sizeof(err)), -1);
		assert_string_equal(err, "bad horizon");
		state_free(&back);
	}
	state_free(&st);
}

static void
test_pending_remove(void **state)
{
	struct sg_state st;

	state_init(&st);
	state_add_pending(&st, "a", "t", "s", "m", 1);
	state_add_pending(&st, "b", "t", "s", "m", 1);
	state_add_pending(&st, "c", "t", "s", "m", 1);
	state_remove_pending(&st, 1);
	assert_int_equal(st.npending, 2);
	assert_string_equal(st.pending[0].event_id, "a");
	assert_string_equal(st.pending[1].event_id, "c");
	state_remove_pending(&st, 7);	/* out of range: no effect */
	assert_int_equal(st.npending, 2);
	state_free(&st);
}

static void
test_commit_and_load(void **state)
{
	struct sg_state a, b;
	char err[256];

	state_init(&a);
	state_set_cursor(&a, "default/us-east-1", 1234);
	state_mark_handled(&a, "ev", 1200);
	assert_int_equal(state_commit(dir, &a, err, sizeof(err)), 0);
	assert_false(a.dirty);
	/* No temporary file is left behind. */
	assert_int_equal(count_files(".state"), 0);
	assert_int_equal(state_load(dir, &b, 5000, err, sizeof(err)), 0);
	assert_int_equal(state_cursor(&b, "default/us-east-1"), 1234);
	assert_true(state_is_handled(&b, "ev"));
	state_free(&a);
	state_free(&b);
}

static void
test_missing_is_fresh(void **state)
{
	struct sg_state st;
	char err[256];

	assert_int_equal(state_load(dir, &st, 5000, err, sizeof(err)), 0);
	assert_int_equal(st.ncursors, 0);
	state_free(&st);
}

static void
test_corrupt_moved_aside(void **state)
{
	static const char *const bad[] = {
		"{\"version\":1,\"cursors\":{", "", "[]", "null",
		"{\"version\":99,\"cursors\":{},\"handled\":{},\"pending\":[]}",
		"{\"version\":1,\"cursors\":{\"k\":\"x\"},\"handled\":{},"
		    "\"pending\":[]}",
		"{\"version\":1,\"cursors\":{},\"handled\":{},"
		    "\"pending\":[{\"event_id\":1}]}",
		"\xff\xfe garbage",
	};
	struct sg_state st;
	char err[256], name[64];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
		write_file(SG_STATE_FILE, bad[i]);
		assert_int_equal(state_load(dir, &st, 7000 + (time_t)i, err,
		    sizeof(err)), 1);
		assert_int_equal(st.ncursors, 0);
		snprintf(name, sizeof(name), "%s.corrupt-%d", SG_STATE_FILE,
		    7000 + (int)i);
		assert_int_equal(count_files(name), 1);
		assert_int_equal(count_files(SG_STATE_FILE ".corrupt"),
		    (int)i + 1);
		state_free(&st);
	}
}

static void
test_unusable_dir(void **state)
{
	struct sg_state st;
	char err[256], path[300];

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(state_load(path, &st, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

static void
test_commit_failure_keeps_memory(void **state)
{
	struct sg_state st;
	char err[256], path[300];

	/* A path under a regular file cannot be written, even as root. */
	write_file("plainfile", "x");
	snprintf(path, sizeof(path), "%s/plainfile", dir);
	state_init(&st);
	state_set_cursor(&st, "k", 99);
	assert_int_equal(state_commit(path, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot write"));
	assert_true(st.dirty);
	assert_int_equal(state_cursor(&st, "k"), 99);
	state_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_own_keys),
		cmocka_unit_test(test_handled_many_and_prune),
		cmocka_unit_test(test_pending_remove),
		cmocka_unit_test_setup_teardown(test_commit_and_load,
		    mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_is_fresh,
		    mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_moved_aside,
		    mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_unusable_dir,
		    mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure_keeps_memory,
		    mkdir_setup, rmdir_teardown),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
