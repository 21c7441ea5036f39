/* test_creds.c: parsers and the offline parts of the credential chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "sts.h"
#include "util.h"

/* ---- a fake environment ---- */

static const char *fake_env[32][2];

static const char *
fake_getenv(const char *name)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(fake_env) && fake_env[i][0]; i++)
		if (strcmp(fake_env[i][0], name) == 0)
			return fake_env[i][1];
	return NULL;
}

static void
env_set(const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(fake_env); i++) {
		if (fake_env[i][0] == NULL || strcmp(fake_env[i][0], name) == 0) {
			fake_env[i][0] = name;
			fake_env[i][1] = value;
			return;
		}
	}
	fail_msg("fake environment full");
}

/* ---- a temporary HOME ---- */

static char tmp_home[64];

static void
write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_home, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
rm_file(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp_home, rel);
	unlink(path);
}

static struct sg_buf logged;

static void
sink(int level, const struct sg_log_fields *f, const char *msg, void *arg)
{
	buf_puts(&logged, msg);
	buf_putc(&logged, '\n');
}

static int
setup(void **state)
{
	char path[128];

	memset(fake_env, 0, sizeof(fake_env));
	sg_strlcpy(tmp_home, "/tmp/test_creds.XXXXXX", sizeof(tmp_home));
	assert_non_null(mkdtemp(tmp_home));
	snprintf(path, sizeof(path), "%s/.aws", tmp_home);
	assert_int_equal(mkdir(path, 0700), 0);
	env_set("HOME", tmp_home);
	/* Nothing in these tests may reach the network. */
	env_set("AWS_EC2_METADATA_DISABLED", "true");
	buf_init(&logged);
	buf_puts(&logged, "");
	log_set_sink(sink, NULL);
	log_set_level(LOG_DEBUG);
	return 0;
}

static int
teardown(void **state)
{
	char path[128];

	rm_file(".aws/credentials");
	rm_file(".aws/config");
	rm_file("other");
	/* What the credential_process tests write, also when one failed. */
	rm_file("helper.sh");
	rm_file("fail.sh");
	rm_file("out.json");
	rm_file("args");
	snprintf(path, sizeof(path), "%s/.aws", tmp_home);
	rmdir(path);
	rmdir(tmp_home);
	log_set_sink(NULL, NULL);
	log_secret_clear();
	buf_free(&logged);
	return 0;
}

/* One lookup through a fresh provider. */
static int
get(struct sg_creds *c, char *err, size_t errlen)
{
	struct sg_creds_opts o = { .getenv = fake_getenv };
	struct sg_creds_provider *p;
	int r;

	assert_non_null(p = creds_provider_new(&o));
	err[0] = '\0';
	r = creds_get(p, 1700000000, c, err, errlen);
	creds_provider_free(p);
	return r;
}

static char *
long_token(size_t n)
{
	char *t = malloc(n + 1);
	size_t i;

	assert_non_null(t);
	for (i = 0; i < n; i++)
		t[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/"[i % 64];
	t[n - 1] = '=';
	t[n] = '\0';
	return t;
}

/* ---- environment ---- */

static void
test_env_full(void **state)
{
	struct sg_creds c;
	char err[512];

	env_set("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001");
	env_set("AWS_SECRET_ACCESS_KEY", "envsecret/0123456789abcdefghijklmnopqrs");
	env_set("AWS_SESSION_TOKEN", "envtoken0123456789");
	write_file(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\n"
	    "aws_secret_access_key = filesecret\n");
	assert_int_equal(get(&c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "environment");
	assert_string_equal(c.access_key_id, "AKIAENV0000000000001");
	assert_string_equal(c.secret_access_key,
	    "envsecret/0123456789abcdefghijklmnopqrs");
	assert_string_equal(c.session_token, "envtoken0123456789");
	assert_int_equal(c.expiration, 0);
	creds_wipe(&c);
	assert_int_equal(c.access_key_id[0], 0);
}

static void
test_env_half(void **state)
{
	struct sg_creds c;
	char err[512];

	env_set("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001");
	write_file(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\n"
	    "aws_secret_access_key = filesecret\n");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "environment: AWS_ACCESS_KEY_ID is set but "
	    "AWS_SECRET_ACCESS_KEY is not"));
	/* A broken source stops the chain. */
	assert_null(strstr(err, "profile"));

	env_set("AWS_ACCESS_KEY_ID", NULL);
	env_set("AWS_SECRET_ACCESS_KEY", "x1234567890");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "AWS_SECRET_ACCESS_KEY is set but "
	    "AWS_ACCESS_KEY_ID is not"));
}

static void
test_env_empty_is_unset(void **state)
{
	struct sg_creds c;
	char err[512];

	env_set("AWS_ACCESS_KEY_ID", "");
	env_set("AWS_SECRET_ACCESS_KEY", "");
	write_file(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\n"
	    "aws_secret_access_key = filesecret\n");
	assert_int_equal(get(&c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "profile default");
	assert_string_equal(c.access_key_id, "AKIAFILE");
	assert_string_equal(c.session_token, "");
}

static void
test_env_bad_chars(void **state)
{
	struct sg_creds c;
	char err[512];

	env_set("AWS_ACCESS_KEY_ID", "AKIA");
	env_set("AWS_SECRET_ACCESS_KEY", "abc\r\nX-Injected: 1");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "AWS_SECRET_ACCESS_KEY has a character"));
}

/* ---- shared files: the pure parser ---- */

static void
test_shared_default(void **state)
{
	struct sg_creds c;
	char err[256];

	assert_int_equal(creds_parse_shared(
	    "# comment\n; another\n[other]\naws_access_key_id=AKIAOTHER\n"
	    "aws_secret_access_key=othersecret\n\n"
	    "[default]\naws_access_key_id = AKIADEF\n"
	    "aws_secret_access_key = def/secret+key\n",
	    NULL, "default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIADEF");
	assert_string_equal(c.secret_access_key, "def/secret+key");
	assert_string_equal(c.session_token, "");
	assert_string_equal(c.source, "profile default");
	assert_int_equal(c.expiration, 0);
	/* No inline comments, as in botocore: the ';' and what follows are
	 * the value's (a key id with a blank is refused, and says why). */
	assert_int_equal(creds_parse_shared("[default]\n"
	    "aws_access_key_id = AKIADEF ; inline comment\n"
	    "aws_secret_access_key = def/secret+key\n",
	    NULL, "default", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "credentials: aws_access_key_id has a "
	    "character that is a blank at offset 7 (a ';' comment must be on "
	    "a line of its own, as for the AWS CLI)");
	assert_int_equal(creds_parse_shared(NULL, "[profile p]\n"
	    "credential_process = helper --role ops ; keep-me\n", "p", &c,
	    err, sizeof(err)), 3);
	/* A section given twice: botocore refuses the whole file. */
	assert_int_equal(creds_parse_shared("[x]\naws_access_key_id = A\n"
	    "[default]\naws_access_key_id = B\naws_secret_access_key = C\n"
	    "[x]\naws_secret_access_key = D\n", NULL, "default", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "credentials:6: section [x] given twice (the "
	    "AWS CLI and SDKs refuse such a file)");
}

static void
test_shared_config_profile(void **state)
{
	const char *config = "[default]\nregion = us-east-1\n"
	    "[dev]\naws_access_key_id = AKIAWRONG\n"
	    "aws_secret_access_key = wrong\n"
	    "[profile   dev]\nregion = eu-west-1\n"
	    "aws_access_key_id = AKIADEV\naws_secret_access_key = devsecret\n"
	    "aws_session_token = devtoken\n";
	struct sg_creds c;
	char err[256];

	/* [dev] in the config file is not a profile; [profile dev] is. */
	assert_int_equal(creds_parse_shared(NULL, config, "dev", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIADEV");
	assert_string_equal(c.session_token, "devtoken");
	assert_string_equal(c.source, "profile dev");
	/* [default] is there but has no keys. */
	assert_int_equal(creds_parse_shared(NULL, config, "default", &c, err,
	    sizeof(err)), 2);
	/* In the credentials file, [profile dev] is named "profile dev". */
	assert_int_equal(creds_parse_shared("[profile dev]\n"
	    "aws_access_key_id=A1234\naws_secret_access_key=B\n", NULL, "dev",
	    &c, err, sizeof(err)), 1);
	/* Quoted, as botocore's shell-like split allows. */
	assert_int_equal(creds_parse_shared(NULL, "[profile \"my dev\"]\n"
	    "aws_access_key_id=AQ\naws_secret_access_key=BQ\n", "my dev",
	    &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AQ");
	/* [profile default] is the default profile too. */
	assert_int_equal(creds_parse_shared(NULL, "[profile default]\n"
	    "aws_access_key_id=APD\naws_secret_access_key=BPD\n", "default",
	    &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "APD");
	/* Both: the later section counts, as a whole (botocore). */
	assert_int_equal(creds_parse_shared(NULL, "[profile default]\n"
	    "aws_access_key_id=APD\naws_secret_access_key=BPD\n[default]\n"
	    "aws_access_key_id=AD\naws_secret_access_key=BD\n", "default",
	    &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AD");
	assert_int_equal(creds_parse_shared(NULL, "[default]\n"
	    "aws_access_key_id=AD\naws_secret_access_key=BD\n"
	    "[profile default]\nregion=x\n", "default", &c, err,
	    sizeof(err)), 2);
	/* Section names are exact: "[ default ]" is another profile. */
	assert_int_equal(creds_parse_shared("[ default ]\n"
	    "aws_access_key_id=A\naws_secret_access_key=B\n", NULL,
	    "default", &c, err, sizeof(err)), 1);
}

static void
test_shared_both_files(void **state)
{
	struct sg_creds c;
	char err[256];

	/* The credentials file wins over the config file. */
	assert_int_equal(creds_parse_shared(
	    "[prod]\naws_access_key_id = AKIACRED\naws_secret_access_key = s1\n",
	    "[profile prod]\naws_access_key_id = AKIACONF\n"
	    "aws_secret_access_key = s2\n", "prod", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIACRED");
	assert_string_equal(c.secret_access_key, "s1");
	/* Profile only in the config file; other profiles in credentials. */
	assert_int_equal(creds_parse_shared(
	    "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = s1\n",
	    "[profile prod]\naws_access_key_id = AKIACONF\n"
	    "aws_secret_access_key = s2\n", "prod", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIACONF");
	/* Key names are case-insensitive, as in configparser. */
	assert_int_equal(creds_parse_shared("[x]\nAWS_ACCESS_KEY_ID: AKIAUP\n"
	    "Aws_Secret_Access_Key: up\n", NULL, "x", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIAUP");
}

static void
test_shared_missing(void **state)
{
	struct sg_creds c;
	char err[256];

	assert_int_equal(creds_parse_shared("[default]\naws_access_key_id=A\n"
	    "aws_secret_access_key=B\n", "[profile x]\nregion=us-east-1\n",
	    "nosuch", &c, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "not in credentials or config"));
	assert_int_equal(creds_parse_shared(NULL, NULL, "default", &c, err,
	    sizeof(err)), 1);
	assert_int_equal(creds_parse_shared("", "", "default", &c, err,
	    sizeof(err)), 1);
}

static void
test_shared_half(void **state)
{
	struct sg_creds c;
	char err[256];

	assert_int_equal(creds_parse_shared("[default]\naws_access_key_id=A\n",
	    NULL, "default", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has aws_access_key_id but no "
	    "aws_secret_access_key"));
	assert_int_equal(creds_parse_shared(NULL,
	    "[default]\naws_secret_access_key=B\n", "default", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "config: profile default has "
	    "aws_secret_access_key but no aws_access_key_id"));
}

static void
test_shared_long_token(void **state)
{
	char *tok = long_token(1500), *text, *conf;
	struct sg_creds c;
	char err[256];

	assert_int_not_equal(asprintf(&text, "\xef\xbb\xbf[default]\r\n"
	    "aws_access_key_id = AKIALONG\r\n"
	    "aws_secret_access_key = longsecret\r\n"
	    "aws_session_token = %s\r\n"
	    "# a comment %s\n"
	    "[next]\naws_access_key_id = AKIANEXT\n", tok, tok), -1);
	assert_int_equal(creds_parse_shared(text, NULL, "default", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIALONG");
	assert_int_equal(strlen(c.session_token), 1500);
	assert_string_equal(c.session_token, tok);
	free(text);

	/* In the config file, indented, a key read after it. */
	assert_int_not_equal(asprintf(&conf, "[profile p]\n"
	    "  aws_session_token=%s\n"
	    "aws_access_key_id = AKIAP\naws_secret_access_key = sp\n", tok), -1);
	assert_int_equal(creds_parse_shared(NULL, conf, "p", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.session_token, tok);
	assert_string_equal(c.access_key_id, "AKIAP");
	free(conf);

	/* A token continued on a second (long) line is refused. */
	assert_int_not_equal(asprintf(&conf, "[p]\naws_access_key_id = A\n"
	    "aws_secret_access_key = B\naws_session_token = abc\n  %s\n", tok),
	    -1);
	assert_int_equal(creds_parse_shared(conf, NULL, "p", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "aws_session_token given twice"));
	free(conf);
	free(tok);

	/* Longer than the struct holds: an error, not a cut token. */
	tok = long_token(5000);
	assert_int_not_equal(asprintf(&conf, "[p]\naws_access_key_id = A\n"
	    "aws_secret_access_key = B\naws_session_token = %s\n", tok), -1);
	assert_int_equal(creds_parse_shared(conf, NULL, "p", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "aws_session_token is too long"));
	free(conf);
	free(tok);
}

static void
test_shared_long_section(void **state)
{
	const char *name = "a-profile-name-well-over-fifty-characters-long-0001";
	const char *other = "a-profile-name-well-over-fifty-characters-long-0002";
	char *text;
	struct sg_creds c;
	char err[256];

	/* inih would cut both names to the same 49 bytes. */
	assert_int_not_equal(asprintf(&text, "[%s]\naws_access_key_id = A1\n"
	    "aws_secret_access_key = S1\n[%s]\naws_access_key_id = A2\n"
	    "aws_secret_access_key = S2\n", other, name), -1);
	assert_int_equal(creds_parse_shared(text, NULL, name, &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "A2");
	assert_int_equal(creds_parse_shared(text, NULL, other, &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "A1");
	free(text);
}

static void
test_shared_unsupported(void **state)
{
	struct sg_creds c;
	char err[256];

	/* role_arn: 4, and the file it is in. */
	assert_int_equal(creds_parse_shared(NULL, "[profile r]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = default\n", "r", &c, err, sizeof(err)), 4);
	assert_string_equal(err, "config");
	/* Even with keys beside it: botocore assumes the role. */
	assert_int_equal(creds_parse_shared("[r]\naws_access_key_id = A\n"
	    "aws_secret_access_key = B\n", "[profile r]\nrole_arn = x\n", "r",
	    &c, err, sizeof(err)), 4);
	/* Not with web identity beside it (botocore's web identity
	 * provider takes that profile), which sgguard lacks. */
	assert_int_equal(creds_parse_shared(NULL, "[profile r]\nrole_arn = x\n"
	    "web_identity_token_file = /t\n", "r", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "web_identity_token_file is not supported "
	    "(static keys, credential_process and role_arn are)"));
	assert_int_equal(creds_parse_shared(NULL, "[profile r]\n"
	    "sso_session = x\n", "r", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sso_session is not supported"));
	/* Its settings, each given once. */
	assert_int_equal(creds_parse_shared(NULL, "[profile r]\nrole_arn = x\n"
	    "source_profile = a\nsource_profile = b\n", "r", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "source_profile given twice"));
	/* A source without a role: nothing to assume. */
	assert_int_equal(creds_parse_shared(NULL, "[profile r]\n"
	    "source_profile = a\n", "r", &c, err, sizeof(err)), 2);
	assert_string_equal(err, "config: source_profile without role_arn: "
	    "no role to assume");
	assert_int_equal(creds_parse_shared(NULL, "[profile r]\n"
	    "credential_source = Environment\n", "r", &c, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "credential_source without role_arn"));
	/* credential_process: 3, and the file it is in. The credentials
	 * file's wins over the config file's, as botocore merges them. */
	assert_int_equal(creds_parse_shared(NULL, "[default]\n"
	    "credential_process = /bin/true\n", "default", &c, err,
	    sizeof(err)), 3);
	assert_string_equal(err, "config");
	assert_int_equal(creds_parse_shared("[default]\n"
	    "credential_process = /bin/false\n", "[default]\n"
	    "credential_process = /bin/true\n", "default", &c, err,
	    sizeof(err)), 3);
	assert_string_equal(err, "credentials");
	/* ... and before the config file's keys. */
	assert_int_equal(creds_parse_shared(NULL, "[default]\n"
	    "credential_process = /bin/true\naws_access_key_id = A\n"
	    "aws_secret_access_key = B\n", "default", &c, err, sizeof(err)),
	    3);
	/* Twice is an error, as for the keys. */
	assert_int_equal(creds_parse_shared(NULL, "[default]\n"
	    "credential_process = /bin/true\ncredential_process = x\n",
	    "default", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "credential_process given twice"));
	/* Keys in the credentials file come before credential_process. */
	assert_int_equal(creds_parse_shared("[default]\naws_access_key_id = A\n"
	    "aws_secret_access_key = B\n", "[default]\n"
	    "credential_process = /bin/true\n", "default", &c, err,
	    sizeof(err)), 0);
}

static void
test_shared_syntax(void **state)
{
	struct sg_creds c;
	char err[256];
	char *text, *tok = long_token(300);

	assert_int_equal(creds_parse_shared("[default]\naws_access_key_id = A\n"
	    "this line is wrong\n", NULL, "default", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "credentials:3: syntax error");
	assert_int_equal(creds_parse_shared("[default\n", NULL, "default", &c,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "credentials:1: syntax error");
	assert_int_equal(creds_parse_shared("[default]\n\001=x\n", NULL,
	    "default", &c, err, sizeof(err)), -1);
	/* A long line with no '=' is as wrong as a short one. */
	assert_int_not_equal(asprintf(&text, "[d]\n%s\n", tok), -1);
	assert_int_equal(creds_parse_shared(NULL, text, "d", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "config:2: syntax error");
	free(text);
	free(tok);
	/* Twice the same key. */
	assert_int_equal(creds_parse_shared("[d]\naws_access_key_id = A\n"
	    "aws_access_key_id = B\naws_secret_access_key = C\n", NULL, "d",
	    &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "aws_access_key_id given twice"));
}

/* ---- shared files through the provider ---- */

static void
test_provider_files(void **state)
{
	struct sg_creds c;
	char err[1024], *tok = long_token(1200), *text;

	write_file(".aws/credentials", "[default]\n"
	    "aws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n");
	assert_int_not_equal(asprintf(&text, "[profile dev]\n"
	    "aws_access_key_id = AKIADEV\naws_secret_access_key = devsecret12\n"
	    "aws_session_token = %s\n", tok), -1);
	write_file(".aws/config", text);
	free(text);

	assert_int_equal(get(&c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "profile default");
	assert_string_equal(c.access_key_id, "AKIADEFAULT");

	env_set("AWS_PROFILE", "dev");
	assert_int_equal(get(&c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "profile dev");
	assert_string_equal(c.session_token, tok);

	/* Secrets are registered: a log line cannot carry them. */
	log_info("leak %s and %s", c.secret_access_key, c.session_token);
	assert_null(strstr(logged.data, "devsecret12"));
	assert_null(strstr(logged.data, tok));
	assert_non_null(strstr(logged.data, "leak [REDACTED]"));
	free(tok);

	/* A named profile that is nowhere: an error, no fall through. */
	env_set("AWS_PROFILE", "nosuch");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "profile nosuch: not in "));
	assert_null(strstr(err, "container"));
}

static void
test_provider_explicit_profile(void **state)
{
	struct sg_creds_opts o = { .getenv = fake_getenv, .profile = "ops" };
	struct sg_creds_provider *p;
	struct sg_creds c;
	char err[1024];

	write_file("other", "[ops]\naws_access_key_id = AKIAOPS\n"
	    "aws_secret_access_key = opssecret\n");
	env_set("AWS_SHARED_CREDENTIALS_FILE", "~/other");
	env_set("AWS_CONFIG_FILE", "/nonexistent/config");
	env_set("AWS_PROFILE", "dev");	/* the option wins */
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(creds_get(p, 1700000000, &c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "profile ops");
	assert_string_equal(c.access_key_id, "AKIAOPS");
	/* Static keys are kept: a later call gives the same. */
	write_file("other", "[ops]\naws_access_key_id = AKIACHANGED\n"
	    "aws_secret_access_key = opssecret\n");
	assert_int_equal(creds_get(p, 1800000000, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIAOPS");
	creds_provider_free(p);
}

/*
 * A profile of the configuration file is an explicit choice: environment
 * keys are not used, nor listed as tried. AWS_PROFILE is not (botocore
 * agrees): the keys still win over it.
 */
static void
test_provider_file_profile_beats_env(void **state)
{
	struct sg_creds_opts o = { .getenv = fake_getenv, .profile = "audit" };
	struct sg_creds_provider *p;
	struct sg_creds c;
	char err[1024];

	write_file(".aws/credentials", "[audit]\naws_access_key_id = AKIAAUDIT\n"
	    "aws_secret_access_key = auditsecret\n");
	env_set("AWS_ACCESS_KEY_ID", "AKIAENV");
	env_set("AWS_SECRET_ACCESS_KEY", "envsecret");
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(creds_get(p, 1700000000, &c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "profile audit");
	assert_string_equal(c.access_key_id, "AKIAAUDIT");
	creds_provider_free(p);
	assert_non_null(strstr(logged.data, "credentials: using profile audit"));
	assert_null(strstr(logged.data, "using environment"));

	/* Even half a pair is no error then: it is not looked at. */
	env_set("AWS_SECRET_ACCESS_KEY", NULL);
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(creds_get(p, 1700000000, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIAAUDIT");
	creds_provider_free(p);
	env_set("AWS_SECRET_ACCESS_KEY", "envsecret");

	/* What was tried, and only that. */
	o.profile = "nosuch";
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(creds_get(p, 1700000000, &c, err, sizeof(err)), -1);
	assert_true(strncmp(err, "no AWS credentials: profile nosuch: not in ",
	    43) == 0);
	assert_null(strstr(err, "environment"));
	creds_provider_free(p);

	/* AWS_PROFILE alone: the environment keys come first. */
	env_set("AWS_PROFILE", "audit");
	assert_int_equal(get(&c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "environment");
	assert_string_equal(c.access_key_id, "AKIAENV");
}

static void
test_provider_nothing(void **state)
{
	struct sg_creds c;
	char err[1024];

	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no AWS credentials: environment: not set; "
	    "profile default: "));
	assert_non_null(strstr(err, "/.aws/credentials not found"));
	assert_non_null(strstr(err, "; container: not configured; instance "
	    "metadata: disabled (AWS_EC2_METADATA_DISABLED)"));

	/* A [default] with only a region falls through too. */
	write_file(".aws/config", "[default]\nregion = us-east-1\n");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "profile default: no aws_access_key_id"));
	assert_non_null(strstr(err, "container: not configured"));
}

static void
test_provider_no_home(void **state)
{
	struct sg_creds c;
	char err[1024];

	env_set("HOME", NULL);
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "profile default: HOME not set, no "
	    "~/.aws/credentials, HOME not set, no ~/.aws/config; container"));
	/* A service's HOME=/: one slash. */
	if (access("/.aws", F_OK) != 0) {
		env_set("HOME", "/");
		assert_int_equal(get(&c, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "profile default: /.aws/credentials "
		    "not found, /.aws/config not found; container"));
		env_set("HOME", NULL);
	}
	/* An absolute path still works without HOME. */
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/other", tmp_home);
		write_file("other", "[default]\naws_access_key_id = AKIAABS\n"
		    "aws_secret_access_key = abs\n");
		env_set("AWS_SHARED_CREDENTIALS_FILE", path);
		assert_int_equal(get(&c, err, sizeof(err)), 0);
		assert_string_equal(c.access_key_id, "AKIAABS");
	}
}

static void
test_provider_bad_file(void **state)
{
	struct sg_creds c;
	char err[1024];

	write_file(".aws/credentials", "[default]\nnonsense\n");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/.aws/credentials:2: syntax error"));
	assert_null(strstr(err, "container"));
}

/* ---- credential_process ---- */

static void
test_parse_process(void **state)
{
	struct sg_creds c;
	char err[256];
	const char *ok = "{\"Version\": 1, \"AccessKeyId\": \"ASIAP\", "
	    "\"SecretAccessKey\": \"psecret\", \"SessionToken\": \"ptoken\", "
	    "\"Expiration\": \"2023-11-14T23:13:20Z\", \"AccountId\": "
	    "\"123456789012\"}";

	assert_int_equal(creds_parse_process(ok, strlen(ok), &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIAP");
	assert_string_equal(c.secret_access_key, "psecret");
	assert_string_equal(c.session_token, "ptoken");
	assert_int_equal(c.expiration, 1700003600);
	/* Long-term keys: no token, no Expiration (or null ones). */
	ok = "{\"Version\": 1.0, \"AccessKeyId\": \"AKIAP\", "
	    "\"SecretAccessKey\": \"s\", \"SessionToken\": null, "
	    "\"Expiration\": null}";
	assert_int_equal(creds_parse_process(ok, strlen(ok), &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.session_token, "");
	assert_int_equal(c.expiration, 0);

#define BAD(json, why) do {						\
		assert_int_equal(creds_parse_process(json, strlen(json), &c, \
		    err, sizeof(err)), -1);				\
		assert_non_null(strstr(err, why));			\
		assert_string_equal(c.access_key_id, "");		\
	} while (0)
	BAD("", "not JSON");
	BAD("[1]", "not a JSON object");
	BAD("{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\"}",
	    "no Version");
	BAD("{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
	    "\"s\"}", "Version is not 1");
	BAD("{\"Version\": \"1\", \"AccessKeyId\": \"A\", "
	    "\"SecretAccessKey\": \"s\"}", "Version is not 1");
	BAD("{\"Version\": 1, \"SecretAccessKey\": \"s\"}", "no AccessKeyId");
	BAD("{\"Version\": 1, \"AccessKeyId\": \"A\"}", "no SecretAccessKey");
	BAD("{\"Version\": 1, \"AccessKeyId\": 5, \"SecretAccessKey\": \"s\"}",
	    "AccessKeyId is not a string");
	BAD("{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
	    "\"s\", \"Expiration\": \"tomorrow\"}", "Expiration \"tomorrow\" "
	    "is not an ISO 8601 time");
	BAD("{\"Version\": 1, \"AccessKeyId\": \"A\", \"AccessKeyId\": \"B\", "
	    "\"SecretAccessKey\": \"s\"}", "duplicate");
#undef BAD
}

/* An executable script in the temporary HOME. */
static void
write_script(const char *rel, const char *body)
{
	char path[256];

	write_file(rel, body);
	snprintf(path, sizeof(path), "%s/%s", tmp_home, rel);
	assert_int_equal(chmod(path, 0700), 0);
}

static void
test_provider_process(void **state)
{
	struct sg_creds_opts o = { .getenv = fake_getenv, .profile = "p" };
	struct sg_creds_provider *p;
	struct sg_creds c;
	char err[1024], text[1024], args[256];
	FILE *f;

	snprintf(text, sizeof(text), "#!/bin/sh\n"
	    "printf '%%s|%%s|%%s' \"$#\" \"$1\" \"$2\" > %s/args\n"
	    "cat %s/out.json\n", tmp_home, tmp_home);
	write_script("helper.sh", text);
	write_file("out.json", "{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\","
	    " \"SecretAccessKey\": \"procsecret\", \"SessionToken\": "
	    "\"proctoken\", \"Expiration\": \"2023-11-14T23:13:20Z\"}");
	snprintf(text, sizeof(text), "[profile p]\ncredential_process = "
	    "%s/helper.sh --flag 'two words'\nregion = eu-west-1\n", tmp_home);
	write_file(".aws/config", text);
	env_set("AWS_ACCESS_KEY_ID", "AKIAENV");	/* the file's profile wins */
	env_set("AWS_SECRET_ACCESS_KEY", "envsecret");
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(creds_get(p, 1700000000, &c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "profile p (credential_process)");
	assert_string_equal(c.access_key_id, "ASIAPROC");
	assert_string_equal(c.secret_access_key, "procsecret");
	assert_string_equal(c.session_token, "proctoken");
	assert_int_equal(c.expiration, 1700003600);
	/* Its arguments, split as botocore splits them, no shell. */
	snprintf(text, sizeof(text), "%s/args", tmp_home);
	assert_non_null(f = fopen(text, "r"));
	assert_non_null(fgets(args, sizeof(args), f));
	fclose(f);
	unlink(text);
	assert_string_equal(args, "2|--flag|two words");
	assert_non_null(strstr(logged.data, "credentials: using profile p "
	    "(credential_process) (access key ASIAPROC, expires "
	    "2023-11-14T23:13:20Z)"));

	/* Kept until the refresh time (15 min before expiry), then run
	 * again. */
	write_file("out.json", "{\"Version\": 1, \"AccessKeyId\": "
	    "\"ASIAPROC2\", \"SecretAccessKey\": \"procsecret2\", "
	    "\"SessionToken\": \"proctoken2\", \"Expiration\": "
	    "\"2023-11-15T00:13:20Z\"}");
	assert_int_equal(creds_get(p, 1700000000 + 2700 - 1, &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIAPROC");
	assert_int_equal(creds_get(p, 1700000000 + 2700, &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIAPROC2");
	assert_int_equal(c.expiration, 1700007200);

	/* A failed refresh keeps the valid ones, and says so once. */
	write_script("helper.sh", "#!/bin/sh\necho 'no certificate' >&2\n"
	    "exit 2\n");
	assert_int_equal(creds_get(p, 1700007200 - 900, &c, err, sizeof(err)),
	    0);
	assert_string_equal(c.access_key_id, "ASIAPROC2");
	assert_non_null(strstr(logged.data, "credentials: refresh failed, "
	    "still using those from profile p (credential_process)"));
	assert_non_null(strstr(logged.data, "/helper.sh: exit status 2 (no "
	    "certificate)"));
	/* Secrets never reach the log. */
	assert_null(strstr(logged.data, "procsecret"));
	assert_null(strstr(logged.data, "proctoken"));
	creds_provider_free(p);
	rm_file("out.json");
	rm_file("helper.sh");
}

/* A failing credential_process is final: nothing else is tried. */
static void
test_provider_process_fails(void **state)
{
	struct sg_creds_opts o = { .getenv = fake_getenv, .profile = "q" };
	struct sg_creds_provider *p;
	struct sg_creds c;
	char err[1024], text[512];
	static const struct {
		const char	*script;
		const char	*why;
	} cases[] = {
		{ "#!/bin/sh\necho 'line one' >&2\necho 'line two' >&2\n"
		  "exit 1\n", "/fail.sh: exit status 1 (line one\\nline two)" },
		{ "#!/bin/sh\necho '<html>'\n", "/fail.sh: what it printed: "
		  "not JSON" },
		{ "#!/bin/sh\necho '{\"Version\": 2}'\n", "/fail.sh: what it "
		  "printed: Version is not 1" },
		{ "#!/bin/sh\nkill -TERM $$\n", "/fail.sh: killed by signal 15 "
		  "(nothing on stderr)" },
		/* Already expired keys are no keys. */
		{ "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"A\", "
		  "\"SecretAccessKey\": \"s\", \"Expiration\": "
		  "\"2020-01-01T00:00:00Z\"}'\n", "expired at "
		  "2020-01-01T00:00:00Z" },
	};
	size_t i;

	snprintf(text, sizeof(text), "[profile q]\ncredential_process = "
	    "%s/fail.sh\n", tmp_home);
	write_file(".aws/config", text);
	for (i = 0; i < SG_ARRAY_LEN(cases); i++) {
		write_script("fail.sh", cases[i].script);
		assert_non_null(p = creds_provider_new(&o));
		assert_int_equal(creds_get(p, 1700000000, &c, err,
		    sizeof(err)), -1);
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("case %zu: [%s] lacks [%s]", i, err,
			    cases[i].why);
		if (strstr(err, "profile q") == NULL)
			fail_msg("case %zu: [%s]", i, err);
		assert_null(strstr(err, "container"));
		creds_provider_free(p);
	}
	rm_file("fail.sh");
	/* The program is not there. */
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(creds_get(p, 1700000000, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/.aws/config: credential_process: "));
	assert_non_null(strstr(err, "/fail.sh: No such file or directory"));
	creds_provider_free(p);
}

/* A named profile without keys is an error; unnamed, it falls through. */
static void
test_provider_named_no_keys(void **state)
{
	struct sg_creds_opts o = { .getenv = fake_getenv, .profile = "chain" };
	struct sg_creds_provider *p;
	struct sg_creds c;
	char err[1024];

	write_file(".aws/config", "[profile chain]\nsource_profile = base\n"
	    "[default]\nregion = us-east-1\n");
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(creds_get(p, 1700000000, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "profile chain: "));
	assert_non_null(strstr(err, "/.aws/config: source_profile without "
	    "role_arn: no role to assume"));
	assert_null(strstr(err, "container"));
	creds_provider_free(p);
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "container: not configured"));
}

/* -t's verdict on a profile of the file: the chain's, without network. */
static void
test_check_profile(void **state)
{
	/* Role profiles that cannot work as written, and why. */
	static const struct {
		const char	*profile;
		const char	*why;
	} refused[] = {
		{ "loopa", "profile loopb: source_profile loopa: a loop "
		    "(loopa -> loopb -> loopa)" },
		{ "badsrc", "credential_source \"Ec2Metadata\" is not "
		    "Environment, Ec2InstanceMetadata or EcsContainer" },
		{ "both", "profile both: role_arn needs one of source_profile "
		    "and credential_source, not both" },
		{ "nosrc", "profile nosrc: role_arn needs one of "
		    "source_profile and credential_source" },
		{ "mfa", "profile mfa: mfa_serial: " },
		{ "badarn", "/.aws/config: profile badarn: " },
		{ "longdur", "duration_seconds \"90000\" is not a number of "
		    "seconds from 900 to 43200" },
		{ "gone", "source_profile nosuch (of profile gone): not in " },
		{ "halfsrc", "has aws_access_key_id but no "
		    "aws_secret_access_key" },
		{ "procsrc", "credential_process: /nonexistent/helper: No such "
		    "file or directory" },
		{ "chain", "source_profile without role_arn" },
	};
	char why[1024], path[256];
	size_t i;

	write_file(".aws/credentials", "[ok]\naws_access_key_id = AKIAOK\n"
	    "aws_secret_access_key = oksecret\n"
	    "[half]\naws_access_key_id = AKIAHALF\n");
	write_file(".aws/config", "[profile role]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = ok\n"
	    "[profile role2]\n"
	    "role_arn = arn:aws:iam::123456789012:role/y\n"
	    "source_profile = role\nexternal_id = ext-1\n"
	    "role_session_name = guard\nduration_seconds = 900\n"
	    "[profile self]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = self\naws_access_key_id = AKIASELF\n"
	    "aws_secret_access_key = selfsecret\n"
	    "[profile selfnokeys]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = selfnokeys\n"
	    "[profile loopa]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = loopb\n"
	    "[profile loopb]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = loopa\n"
	    "[profile env]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "credential_source = Environment\n"
	    "[profile badsrc]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "credential_source = Ec2Metadata\n"
	    "[profile both]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "credential_source = Environment\nsource_profile = ok\n"
	    "[profile nosrc]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "[profile mfa]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = ok\nmfa_serial = arn:aws:iam::1:mfa/u\n"
	    "[profile badarn]\nrole_arn = arn:aws:iam::12345:role/x\n"
	    "source_profile = ok\n"
	    "[profile longdur]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = ok\nduration_seconds = 90000\n"
	    "[profile gone]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = nosuch\n"
	    "[profile halfsrc]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = half\n"
	    "[profile procsrc]\n"
	    "role_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = noproc\n"
	    "[profile chain]\nsource_profile = ok\n"
	    "[profile proc]\ncredential_process = /bin/true\n"
	    "[profile inpath]\ncredential_process = \"sh\" -c 'exit 1'\n"
	    "[profile noproc]\ncredential_process = /nonexistent/helper x\n"
	    "[profile badq]\ncredential_process = helper 'unclosed\n"
	    "[profile region]\nregion = eu-west-1\n"
	    "[profile conf]\naws_access_key_id = AKIACONF\n"
	    "aws_secret_access_key = confsecret\n");
	assert_int_equal(creds_check_profile("ok", fake_getenv, why,
	    sizeof(why)), 0);
	assert_int_equal(creds_check_profile("conf", fake_getenv, why,
	    sizeof(why)), 0);

	assert_int_equal(creds_check_profile("nosuch", fake_getenv, why,
	    sizeof(why)), -1);
	snprintf(path, sizeof(path), "not in %s/.aws/credentials or "
	    "%s/.aws/config", tmp_home, tmp_home);
	assert_string_equal(why, path);
	/* Role profiles: their settings and sources are checked, STS is
	 * not called. */
	assert_int_equal(creds_check_profile("role", fake_getenv, why,
	    sizeof(why)), 0);
	assert_int_equal(creds_check_profile("role2", fake_getenv, why,
	    sizeof(why)), 0);
	assert_int_equal(creds_check_profile("self", fake_getenv, why,
	    sizeof(why)), 0);
	assert_int_equal(creds_check_profile("env", fake_getenv, why,
	    sizeof(why)), 0);
	assert_int_equal(creds_check_profile("selfnokeys", fake_getenv, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "/.aws/config: profile selfnokeys: "
	    "source_profile selfnokeys: a loop (selfnokeys -> selfnokeys -> "
	    "selfnokeys)"));
	for (i = 0; i < SG_ARRAY_LEN(refused); i++) {
		assert_int_equal(creds_check_profile(refused[i].profile,
		    fake_getenv, why, sizeof(why)), -1);
		if (strstr(why, refused[i].why) == NULL)
			fail_msg("profile %s: \"%s\" lacks \"%s\"",
			    refused[i].profile, why, refused[i].why);
	}
	/* A credential_process is not run: its program must be there. */
	assert_int_equal(creds_check_profile("proc", fake_getenv, why,
	    sizeof(why)), 0);
	env_set("PATH", "/nonexistent:/bin:/usr/bin");
	assert_int_equal(creds_check_profile("inpath", fake_getenv, why,
	    sizeof(why)), 0);
	env_set("PATH", "/nonexistent");
	assert_int_equal(creds_check_profile("inpath", fake_getenv, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "/.aws/config: credential_process: sh: "
	    "not found in PATH (/nonexistent)"));
	env_set("PATH", NULL);
	assert_int_equal(creds_check_profile("noproc", fake_getenv, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "/.aws/config: credential_process: "
	    "/nonexistent/helper: No such file or directory"));
	assert_int_equal(creds_check_profile("badq", fake_getenv, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "credential_process: no closing "
	    "quotation"));
	assert_int_equal(creds_check_profile("region", fake_getenv, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "no aws_access_key_id in "));
	assert_int_equal(creds_check_profile("half", fake_getenv, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "has aws_access_key_id but no "
	    "aws_secret_access_key"));

	/* The files where the environment says; without them, said so. */
	write_file("other", "[elsewhere]\naws_access_key_id = AKIAELSE\n"
	    "aws_secret_access_key = elsesecret\n");
	env_set("AWS_SHARED_CREDENTIALS_FILE", "~/other");
	assert_int_equal(creds_check_profile("elsewhere", fake_getenv, why,
	    sizeof(why)), 0);
	assert_int_equal(creds_check_profile("ok", fake_getenv, why,
	    sizeof(why)), -1);
	env_set("AWS_SHARED_CREDENTIALS_FILE", NULL);
	env_set("HOME", NULL);
	assert_int_equal(creds_check_profile("ok", fake_getenv, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "HOME not set, no ~/.aws/credentials, HOME "
	    "not set, no ~/.aws/config");

	/* -t prints its own line: the check itself logs nothing. */
	assert_string_equal(logged.data, "");
}

static void
test_container_config(void **state)
{
	struct sg_creds c;
	char err[1024];

	env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.169.254/x");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI "
	    "http://169.254.169.254/x: plain http is allowed only to loopback"));
	/* Configured but unusable: no fall through to the instance. */
	assert_null(strstr(err, "instance metadata"));

	env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI",
	    "http://user@127.0.0.1/x");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "plain http is allowed only"));
	env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/x");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an http or https URL"));

	env_set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/creds");
	assert_int_equal(get(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "RELATIVE_URI does not start with /"));
}

/* ---- JSON documents ---- */

static const char imds_doc[] = "{\n"
    "  \"Code\" : \"Success\",\n"
    "  \"LastUpdated\" : \"2026-11-27T03:49:29Z\",\n"
    "  \"Type\" : \"AWS-HMAC\",\n"
    "  \"AccessKeyId\" : \"ASIAIMDS000000000001\",\n"
    "  \"SecretAccessKey\" : \"imds/secret\",\n"
    "  \"Token\" : \"IQoJb3JpZ2luX2VjEO\",\n"
    "  \"Expiration\" : \"2026-11-27T10:00:00Z\"\n"
    "}";

static void
test_json_imds(void **state)
{
	struct sg_creds c;
	char err[256];

	assert_int_equal(creds_parse_json(imds_doc, strlen(imds_doc), &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS000000000001");
	assert_string_equal(c.secret_access_key, "imds/secret");
	assert_string_equal(c.session_token, "IQoJb3JpZ2luX2VjEO");
	assert_int_equal(c.expiration, 1795773600);	/* date -d ... +%s */
	assert_string_equal(c.source, "");
}

static void
test_json_container(void **state)
{
	const char *doc = "{\"AccessKeyId\":\"ASIAC\",\"SecretAccessKey\":\"cs\","
	    "\"Token\":\"ct\",\"Expiration\":\"2026-11-27T10:00:00.123+00:00\","
	    "\"RoleArn\":\"arn:aws:iam::123456789012:role/x\"}";
	const char *notoken = "{\"AccessKeyId\":\"ASIAC\","
	    "\"SecretAccessKey\":\"cs\",\"Expiration\":\"2026-11-27T10:00:00Z\"}";
	struct sg_creds c;
	char err[256];

	assert_int_equal(creds_parse_json(doc, strlen(doc), &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.session_token, "ct");
	assert_int_equal(c.expiration, 1795773600);
	assert_int_equal(creds_parse_json(notoken, strlen(notoken), &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.session_token, "");
}

static void
json_fails(const char *doc, const char *why)
{
	struct sg_creds c;
	char err[256];

	memset(&c, 'x', sizeof(c));
	assert_int_equal(creds_parse_json(doc, strlen(doc), &c, err,
	    sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\": got \"%s\", wanted \"%s\"", doc, err, why);
	assert_int_equal(c.access_key_id[0], 0);
	assert_int_equal(c.secret_access_key[0], 0);
}

static void
test_json_bad(void **state)
{
	json_fails("", "not JSON");
	json_fails("{", "not JSON");
	json_fails("[1]", "not a JSON object");
	json_fails("{\"SecretAccessKey\":\"s\",\"Token\":\"t\","
	    "\"Expiration\":\"2026-11-27T10:00:00Z\"}", "no AccessKeyId");
	json_fails("{\"AccessKeyId\":\"a\",\"Token\":\"t\","
	    "\"Expiration\":\"2026-11-27T10:00:00Z\"}", "no SecretAccessKey");
	json_fails("{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\"}",
	    "no Expiration");
	json_fails("{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\","
	    "\"Expiration\":\"tomorrow\"}",
	    "Expiration \"tomorrow\" is not an ISO 8601");
	json_fails("{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\","
	    "\"Expiration\":\"2026-02-30T10:00:00Z\"}", "Expiration");
	json_fails("{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\","
	    "\"Expiration\":1795773600}", "Expiration is not a string");
	json_fails("{\"AccessKeyId\":7,\"SecretAccessKey\":\"s\","
	    "\"Expiration\":\"2026-11-27T10:00:00Z\"}",
	    "AccessKeyId is not a string");
	json_fails("{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":"
	    "\"EC2 cannot assume the role\",\"AccessKeyId\":\"a\","
	    "\"SecretAccessKey\":\"s\",\"Expiration\":\"2026-11-27T10:00:00Z\"}",
	    "Code is \"AssumeRoleUnauthorizedAccess\", not \"Success\": EC2 "
	    "cannot assume the role");
	json_fails("{\"AccessKeyId\":\"a\",\"AccessKeyId\":\"b\","
	    "\"SecretAccessKey\":\"s\",\"Expiration\":\"2026-11-27T10:00:00Z\"}",
	    "duplicate");
	json_fails("{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\","
	    "\"Expiration\":\"2026-11-27T10:00:00Z\"}", "AccessKeyId is empty");
	json_fails("{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"s\",\"Token\":"
	    "\"t\\r\\nX: y\",\"Expiration\":\"2026-11-27T10:00:00Z\"}",
	    "Token has a character");
}

/* ---- ISO 8601 ---- */

static void
test_iso8601(void **state)
{
	static const struct {
		const char	*in;
		long long	 t;	/* -1: invalid */
	} cases[] = {
		{ "2026-11-27T10:00:00Z", 1795773600 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-11-27T10:00:00.5Z", 1795773600 },
		{ "2026-11-27T10:00:00.123456789Z", 1795773600 },
		{ "2026-11-27T10:00:00+00:00", 1795773600 },
		{ "2026-11-27T10:00:00+0000", 1795773600 },
		{ "2026-11-27T11:00:00+01:00", 1795773600 },
		{ "2026-11-27T04:30:00-05:30", 1795773600 },
		{ "2026-11-27t10:00:00z", 1795773600 },
		{ "2024-02-29T00:00:00Z", 1709164800 },
		{ "2000-02-29T00:00:00Z", 951782400 },
		{ "2038-01-19T03:14:08Z", 2147483648LL },
		{ "2026-11-27T10:00:00", -1 },
		{ "2026-11-27 10:00:00Z", -1 },
		{ "2026-11-27T10:00Z", -1 },
		{ "2026-11-27T10:00:00.Z", -1 },
		{ "2026-11-27T10:00:00Zjunk", -1 },
		{ "2026-11-27T24:00:00Z", -1 },
		{ "2026-13-01T00:00:00Z", -1 },
		{ "2026-00-01T00:00:00Z", -1 },
		{ "2026-04-31T00:00:00Z", -1 },
		{ "2023-02-29T00:00:00Z", -1 },
		{ "1900-02-29T00:00:00Z", -1 },
		{ "2026-11-27T10:60:00Z", -1 },
		{ "2026-11-27T10:00:00+24:00", -1 },
		{ "26-11-27T10:00:00Z", -1 },
		{ "", -1 },
	};
	size_t i;
	time_t t;

	for (i = 0; i < SG_ARRAY_LEN(cases); i++) {
		int r = creds_parse_iso8601(cases[i].in, &t);

		if (cases[i].t == -1) {
			if (r != -1)
				fail_msg("%s: accepted", cases[i].in);
		} else if (r != 0 || (long long)t != cases[i].t)
			fail_msg("%s: %d %lld", cases[i].in, r, (long long)t);
	}
	assert_int_equal(creds_parse_iso8601(NULL, &t), -1);
}

/* ---- refresh timing ---- */

static void
test_refresh_time(void **state)
{
	time_t f = 1795770000;

	/* 15 minutes before expiry when they live an hour or more. */
	assert_int_equal(creds_refresh_time(f, f + 3600), f + 2700);
	assert_int_equal(creds_refresh_time(f, f + 21600), f + 21600 - 900);
	/* A quarter of the lifetime left when that is shorter: never at
	 * the fetch itself (the old fixed lead refetched at every call). */
	assert_int_equal(creds_refresh_time(f, f + 900), f + 675);
	assert_int_equal(creds_refresh_time(f, f + 3599), f + 3599 - 899);
	assert_int_equal(creds_refresh_time(f, f + 600), f + 450);
	/* Never with less than two minutes left: a failed refresh still
	 * has them (over a minute) to fall back on. */
	assert_int_equal(creds_refresh_time(f, f + 400), f + 280);
	assert_int_equal(creds_refresh_time(f, f + 150), f + 30);
	assert_int_equal(creds_refresh_time(f, f + 40), f);
	assert_int_equal(creds_refresh_time(f, f + 3), f);
	/* Expired already: at once. */
	assert_int_equal(creds_refresh_time(f, f), f);
	assert_int_equal(creds_refresh_time(f, f - 10), f);
}

static void
test_needs_refresh(void **state)
{
	time_t f = 1795770000, exp = f + 3600;

	assert_false(creds_needs_refresh(f, 0, 0));
	assert_false(creds_needs_refresh(f, 0, exp * 2));
	assert_false(creds_needs_refresh(f, exp, exp - 3600));
	assert_false(creds_needs_refresh(f, exp, exp - 15 * 60 - 1));
	assert_true(creds_needs_refresh(f, exp, exp - 15 * 60));
	assert_true(creds_needs_refresh(f, exp, exp - 600));
	assert_true(creds_needs_refresh(f, exp, exp));
	assert_true(creds_needs_refresh(f, exp, exp + 100));
	/* 10 min credentials: kept for 7.5 min, not refetched at every
	 * call; 40 s ones (never usable a minute ahead) are. */
	assert_false(creds_needs_refresh(f, f + 600, f));
	assert_false(creds_needs_refresh(f, f + 600, f + 449));
	assert_true(creds_needs_refresh(f, f + 600, f + 450));
	assert_true(creds_needs_refresh(f, f + 40, f));
	/* Same rule as STS AssumeRole sessions (one helper). */
	assert_int_equal(creds_refresh_time(f, f + 900),
	    sts_refresh_time(f, f + 900));
}

static void
test_callback(void **state)
{
	int (*cb)(void *, time_t, struct sg_creds *, char *, size_t) =
	    creds_callback;
	struct sg_creds_opts o = { .getenv = fake_getenv };
	struct sg_creds_provider *p;
	struct sg_creds c;
	char err[256];

	env_set("AWS_ACCESS_KEY_ID", "AKIACB");
	env_set("AWS_SECRET_ACCESS_KEY", "callbacksecret");
	assert_non_null(p = creds_provider_new(&o));
	assert_int_equal(cb(p, 1700000000, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIACB");
	creds_provider_free(p);
	/* The "using ..." line names the key id, never the secret. */
	assert_non_null(strstr(logged.data, "credentials: using environment "
	    "(access key AKIACB, expires never)"));
	assert_null(strstr(logged.data, "callbacksecret"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_env_full),
		T(test_env_half),
		T(test_env_empty_is_unset),
		T(test_env_bad_chars),
		T(test_shared_default),
		T(test_shared_config_profile),
		T(test_shared_both_files),
		T(test_shared_missing),
		T(test_shared_half),
		T(test_shared_long_token),
		T(test_shared_long_section),
		T(test_shared_unsupported),
		T(test_shared_syntax),
		T(test_provider_files),
		T(test_provider_explicit_profile),
		T(test_provider_file_profile_beats_env),
		T(test_provider_nothing),
		T(test_provider_no_home),
		T(test_provider_bad_file),
		T(test_provider_named_no_keys),
		T(test_parse_process),
		T(test_provider_process),
		T(test_provider_process_fails),
		T(test_check_profile),
		T(test_container_config),
		T(test_json_imds),
		T(test_json_container),
		T(test_json_bad),
		T(test_iso8601),
		T(test_refresh_time),
		T(test_needs_refresh),
		T(test_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
