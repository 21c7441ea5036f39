/* fuzz_creds.c: the pure credential parsers.
 *
 * The whole input is a container/IMDS JSON document for creds_parse_json,
 * a credential_process answer for creds_parse_process, (up to the first
 * NUL) a time for creds_parse_iso8601 and a command line for proc_split. Split at NUL
 * bytes it is "credentials file \0 config file \0 profile" for
 * creds_parse_shared: a missing part is a missing file (NULL), an empty
 * profile is "default".
 *
 * Checked: what is accepted as a key, secret or token is printable ASCII
 * without spaces (it goes into HTTP headers); return codes are the
 * documented ones; proc_split gives at least one word, each a part of
 * the input without blanks unless quoted or escaped; creds_parse_iso8601 and event_time_parse agree, and a
 * time they read reads back the same from its canonical "...Z" form.
 */
#include <time.h>

#include "fuzz.h"

#include "creds.h"
#include "event.h"
#include "proc.h"

static void
fz_check_field(const char *s, size_t size, bool may_be_empty,
    const char *what)
{
	const char *end = memchr(s, '\0', size);
	const char *p;

	FZ_CHECK(end != NULL, "%s unterminated", what);
	FZ_CHECK(may_be_empty || s[0] != '\0', "%s empty", what);
	for (p = s; p < end; p++)
		FZ_CHECK(*p > 0x20 && *p < 0x7f, "%s byte 0x%02x", what,
		    (unsigned char)*p);
}

static void
fz_check_creds(const struct sg_creds *c)
{
	fz_check_field(c->access_key_id, sizeof(c->access_key_id), false,
	    "access key id");
	fz_check_field(c->secret_access_key, sizeof(c->secret_access_key),
	    false, "secret");
	fz_check_field(c->session_token, sizeof(c->session_token), true,
	    "token");
	FZ_CHECK(memchr(c->source, '\0', sizeof(c->source)) != NULL,
	    "source unterminated");
}

static void
fz_check_time(const char *s)
{
	char canon[64];
	struct tm tm;
	time_t tc = 0, te = 0, again = 0;
	int rc, re;

	/* The two exported readers (one shared parser in util.c since
	 * e57a264) must not drift apart. */
	rc = creds_parse_iso8601(s, &tc);
	re = event_time_parse(s, &te);
	FZ_CHECK(rc == re && (rc != 0 || tc == te),
	    "\"%s\": creds %d/%lld, event %d/%lld", s, rc, (long long)tc, re,
	    (long long)te);
	if (rc != 0)
		return;
	/* What it reads, written in the canonical UTC form, reads back to
	 * the same second. */
	FZ_CHECK(gmtime_r(&tc, &tm) != NULL, "\"%s\": gmtime", s);
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return;		/* the offset moved it out of 4-digit years */
	snprintf(canon, sizeof(canon), "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	FZ_CHECK(creds_parse_iso8601(canon, &again) == 0 && again == tc,
	    "\"%s\" is %lld, but its canonical form \"%s\" is %lld", s,
	    (long long)tc, canon, (long long)again);
}

static void
fz_check_split(const char *s)
{
	char **argv, err[128];
	size_t i, total = 0;

	if (proc_split(s, &argv, err, sizeof(err)) == -1) {
		FZ_CHECK(argv == NULL && err[0] != '\0', "split failed badly");
		return;
	}
	FZ_CHECK(argv != NULL && argv[0] != NULL, "no words from \"%s\"", s);
	for (i = 0; argv[i] != NULL; i++)
		total += strlen(argv[i]);
	/* Quotes and backslashes only ever remove characters. */
	FZ_CHECK(total <= strlen(s), "words longer than the line \"%s\"", s);
	if (strpbrk(s, "'\"\\") == NULL)
		for (i = 0; argv[i] != NULL; i++)
			FZ_CHECK(argv[i][0] != '\0' &&
			    strpbrk(argv[i], " \t\r\n") == NULL,
			    "blank in an unquoted word of \"%s\"", s);
	proc_argv_free(argv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[3];
	size_t len[3], n;
	struct sg_creds c;
	char err[512], *text, *cred = NULL, *conf = NULL, *prof;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = creds_parse_json((const char *)data, size, &c, err, sizeof(err));
	if (rc == 0) {
		fz_check_creds(&c);
		FZ_CHECK(c.expiration != 0, "temporary credentials that never "
		    "expire");
	} else
		FZ_CHECK(rc == -1 && err[0] != '\0', "rc %d", rc);
	creds_wipe(&c);
	rc = creds_parse_process((const char *)data, size, &c, err,
	    sizeof(err));
	if (rc == 0)
		fz_check_creds(&c);
	else
		FZ_CHECK(rc == -1 && err[0] != '\0', "rc %d", rc);
	creds_wipe(&c);

	text = fz_dup(data, size);
	fz_check_time(text);
	fz_check_split(text);
	free(text);

	n = fz_split(data, size, part, len, 3);
	cred = fz_dup(part[0], len[0]);
	if (n >= 2)
		conf = fz_dup(part[1], len[1]);
	prof = n >= 3 ? fz_dup(part[2], len[2]) : fz_dup("", 0);
	memset(&c, 0xa5, sizeof(c));
	err[0] = '\0';
	rc = creds_parse_shared(cred, conf, prof[0] != '\0' ? prof : "default",
	    &c, err, sizeof(err));
	/* 3: credential_process, 4: a role to assume (err: the file). */
	FZ_CHECK(rc >= -1 && rc <= 4, "rc %d", rc);
	if (rc == 0) {
		fz_check_creds(&c);
		FZ_CHECK(strncmp(c.source, "profile ", 8) == 0, "source %s",
		    c.source);
		FZ_CHECK(c.expiration == 0, "static keys that expire");
	} else
		FZ_CHECK(err[0] != '\0', "rc %d without a reason", rc);
	creds_wipe(&c);
	free(cred);
	free(conf);
	free(prof);
	return 0;
}
