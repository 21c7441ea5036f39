/* Unit tests for proc.c: splitting a credential_process command line as
 * botocore does, finding the program, and running it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"

/* Split cmd and compare with the words (NULL-terminated list). */
static void
split_is(const char *cmd, ...)
{
	char **argv, err[128];
	const char *w;
	va_list ap;
	size_t i = 0;

	if (proc_split(cmd, &argv, err, sizeof(err)) != 0)
		fail_msg("split of [%s] failed: %s", cmd, err);
	va_start(ap, cmd);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (argv[i] == NULL)
			fail_msg("[%s]: word %zu missing (%s)", cmd, i, w);
		assert_string_equal(argv[i], w);
		i++;
	}
	va_end(ap);
	if (argv[i] != NULL)
		fail_msg("[%s]: extra word %zu [%s]", cmd, i, argv[i]);
	proc_argv_free(argv);
}

static void
split_fails(const char *cmd, const char *why)
{
	char **argv = (char **)1, err[128];

	assert_int_equal(proc_split(cmd, &argv, err, sizeof(err)), -1);
	assert_null(argv);
	assert_non_null(strstr(err, why));
}

/* The expectations are Python's shlex.split(cmd) for each. */
static void
test_split(void **state)
{
	split_is("/usr/bin/helper", "/usr/bin/helper", NULL);
	split_is("  helper   --profile\tprod\n", "helper", "--profile", "prod",
	    NULL);
	split_is("helper 'a b' \"c d\"", "helper", "a b", "c d", NULL);
	split_is("helper a'b'\"c\"d", "helper", "abcd", NULL);
	/* Single quotes: all literal, backslashes too. */
	split_is("helper 'a\\b' '\\'", "helper", "a\\b", "\\", NULL);
	/* Double quotes: only \" and \\ are escapes. */
	split_is("helper \"a\\\"b\" \"c\\\\d\" \"e\\nf\" \"$HOME\"", "helper",
	    "a\"b", "c\\d", "e\\nf", "$HOME", NULL);
	/* Outside quotes a backslash escapes anything, a blank too. */
	split_is("/opt/my\\ tools/helper \\'x\\' a\\\\b", "/opt/my tools/helper",
	    "'x'", "a\\b", NULL);
	/* Empty quotes are an empty word. */
	split_is("helper '' \"\" x", "helper", "", "", "x", NULL);
	/* No shell: these are plain characters. */
	split_is("helper # not a comment; echo $X | y > z", "helper", "#",
	    "not", "a", "comment;", "echo", "$X", "|", "y", ">", "z", NULL);
	split_is("aws_signing_helper credential-process --certificate "
	    "/etc/pki/c.pem --trust-anchor-arn arn:aws:rolesanywhere:"
	    "us-east-1:123456789012:trust-anchor/x",
	    "aws_signing_helper", "credential-process", "--certificate",
	    "/etc/pki/c.pem", "--trust-anchor-arn", "arn:aws:rolesanywhere:"
	    "us-east-1:123456789012:trust-anchor/x", NULL);

	split_fails("helper 'open", "no closing quotation (')");
	split_fails("helper \"open", "no closing quotation (\")");
	split_fails("helper \"a\\\"", "no closing quotation");
	split_fails("helper \\", "nothing after a backslash");
	split_fails("", "empty command");
	split_fails(" \t ", "empty command");
}

static void
test_find(void **state)
{
	char *path, err[256];

	assert_int_equal(proc_find("sh", "/nonexistent:/usr/bin:/bin", &path,
	    err, sizeof(err)), 0);
	assert_string_equal(path, "/usr/bin/sh");
	free(path);
	assert_int_equal(proc_find("sh", NULL, &path, err, sizeof(err)), 0);
	free(path);
	assert_int_equal(proc_find("/bin/sh", "", &path, err, sizeof(err)), 0);
	assert_string_equal(path, "/bin/sh");
	free(path);

	assert_int_equal(proc_find("no-such-helper-x", "/usr/bin:/bin", &path,
	    err, sizeof(err)), -1);
	assert_null(path);
	assert_string_equal(err, "no-such-helper-x: not found in PATH "
	    "(/usr/bin:/bin)");
	/* A directory, and a file that is not executable. */
	assert_int_equal(proc_find("/etc", NULL, &path, err, sizeof(err)), -1);
	assert_string_equal(err, "/etc: Permission denied");
	/* Without any x bit even root may not run it. */
	assert_int_equal(proc_find("/etc/passwd", NULL, &path, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/etc/passwd: Permission denied");
	assert_int_equal(proc_find("passwd", "/etc", &path, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "passwd: Permission denied");
	assert_int_equal(proc_find("", NULL, &path, err, sizeof(err)), -1);
}

static struct sg_proc_result
run_sh(const char *script, long timeout_ms, size_t out_max,
    volatile sig_atomic_t *interrupt)
{
	struct sg_proc_opts o = { .timeout_ms = timeout_ms,
	    .out_max = out_max, .err_max = 64, .interrupt = interrupt };
	char *argv[] = { "sh", "-c", (char *)script, NULL }, err[256];
	struct sg_proc_result r;

	if (proc_run("/bin/sh", argv, &o, &r, err, sizeof(err)) != 0)
		fail_msg("proc_run: %s", err);
	return r;
}

static void
test_run_output(void **state)
{
	struct sg_proc_result r;

	r = run_sh("printf '{\"Version\": 1}'; echo oops >&2; exit 3", 5000,
	    1024, NULL);
	assert_true(r.exited);
	assert_int_equal(r.status, 3);
	assert_false(r.timed_out || r.interrupted || r.out_truncated);
	assert_string_equal(r.out.data, "{\"Version\": 1}");
	assert_string_equal(r.err.data, "oops\n");
	proc_result_free(&r);

	/* More than the caps: kept up to them, the rest read and dropped
	 * (the program is not blocked on a full pipe). */
	r = run_sh("head -c 200000 /dev/zero | tr '\\0' a; "
	    "head -c 100000 /dev/zero >&2", 5000, 1000, NULL);
	assert_true(r.exited);
	assert_int_equal(r.status, 0);
	assert_true(r.out_truncated);
	assert_int_equal(r.out.len, 1000);
	assert_int_equal(r.err.len, 64);
	proc_result_free(&r);

	/* Killed by a signal. */
	r = run_sh("kill -9 $$", 5000, 1024, NULL);
	assert_false(r.exited);
	assert_int_equal(r.signal, SIGKILL);
	assert_false(r.timed_out);
	proc_result_free(&r);
}

/* The program starts clean: stdin /dev/null, no fd but 0-2, no blocked
 * or ignored signal, whatever the caller has. */
static void
test_run_clean_start(void **state)
{
	struct sg_proc_result r;
	sigset_t block, old;
	unsigned long long ign;
	const char *p;
	int leak;

	leak = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC on purpose */
	assert_true(leak > 2);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGPIPE, SIG_IGN);
	r = run_sh("grep -E '^Sig(Blk|Ign)' /proc/self/status; "
	    "ls /proc/self/fd | tr '\\n' ' '; echo; "
	    "read x && echo stdin-had-data || echo stdin-empty", 5000, 4096,
	    NULL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(leak);
	assert_true(r.exited);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out.data, "SigBlk:\t0000000000000000\n"));
	/* glibc's posix_spawn leaves its own two internal signals (32 and
	 * 33, bits 31 and 32) ignored; the program's libc sets them up. */
	assert_non_null(p = strstr(r.out.data, "SigIgn:\t"));
	ign = strtoull(p + 8, NULL, 16);
	assert_int_equal(ign & ~0x180000000ULL, 0);
	/* ls's own directory fd is the 3. */
	assert_non_null(strstr(r.out.data, "\n0 1 2 3 \n"));
	assert_non_null(strstr(r.out.data, "stdin-empty"));
	proc_result_free(&r);
}

/* Is pid gone (or only a zombie waiting for init)? */
static int
gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return 1;
	return p[2] == 'Z' || p[2] == 'X';
}

/* At the time limit the program and what it started are killed, even
 * when a child of it holds stdout open. */
static void
test_run_timeout(void **state)
{
	struct sg_proc_result r;
	char *end;
	long child;
	int i;

	r = run_sh("sleep 30 & echo $!; exec sleep 30", 300, 1024, NULL);
	assert_true(r.timed_out);
	assert_false(r.exited);
	assert_int_equal(r.signal, SIGKILL);
	child = strtol(r.out.data, &end, 10);
	assert_true(child > 0);
	for (i = 0; i < 100 && !gone((pid_t)child); i++)
		usleep(20000);
	assert_true(gone((pid_t)child));
	proc_result_free(&r);
}

static void
test_run_interrupt(void **state)
{
	static volatile sig_atomic_t flag;
	struct sg_proc_result r;

	flag = 1;
	r = run_sh("sleep 30", 20000, 1024, &flag);
	assert_true(r.interrupted);
	assert_false(r.timed_out);
	assert_false(r.exited);
	proc_result_free(&r);
	flag = 0;
	r = run_sh("echo fine", 20000, 1024, &flag);
	assert_true(r.exited);
	assert_false(r.interrupted);
	assert_string_equal(r.out.data, "fine\n");
	proc_result_free(&r);
}

static void
test_run_cannot_start(void **state)
{
	struct sg_proc_opts o = { .timeout_ms = 1000, .out_max = 16,
	    .err_max = 16 };
	char *argv[] = { "x", NULL }, err[256];
	struct sg_proc_result r;

	assert_int_equal(proc_run("/nonexistent/x", argv, &o, &r, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cannot run /nonexistent/x: No such file or "
	    "directory");
	proc_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_run_output),
		cmocka_unit_test(test_run_clean_start),
		cmocka_unit_test(test_run_timeout),
		cmocka_unit_test(test_run_interrupt),
		cmocka_unit_test(test_run_cannot_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
