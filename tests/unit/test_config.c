/* test_config.c: sgguard.ini parsing, validation, environment, summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

#define GROUP	"[group sg-0123456789abcdef0]\n"

/* The fake environment: NAME=VALUE strings, NULL-terminated. */
static const char *const *fake_env;

static const char *
env_get(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; fake_env != NULL && fake_env[i] != NULL; i++)
		if (strncmp(fake_env[i], name, n) == 0 &&
		    fake_env[i][n] == '=')
			return fake_env[i] + n + 1;
	return NULL;
}

static struct sg_config *
load_env(const char *text, const char *const *env)
{
	struct sg_config *cfg;
	char err[1024] = "";

	fake_env = env;
	if (config_load_string("t.ini", text, env_get, &cfg, err,
	    sizeof(err)) == -1)
		fail_msg("config refused: %s", err);
	assert_non_null(cfg);
	return cfg;
}

static struct sg_config *
load(const char *text)
{
	return load_env(text, NULL);
}

/* The config must be refused with exactly this one line. */
static void
expect_error_env(const char *text, const char *const *env, const char *want)
{
	struct sg_config *cfg = (struct sg_config *)1;
	char err[1024] = "";

	fake_env = env;
	if (config_load_string("t.ini", text, env_get, &cfg, err,
	    sizeof(err)) != -1)
		fail_msg("config accepted, wanted: %s", want);
	assert_null(cfg);
	if (strcmp(err, want) != 0)
		fail_msg("\n got: %s\nwant: %s", err, want);
	assert_null(strchr(err, '\n'));
}

static void
expect_error(const char *text, const char *want)
{
	expect_error_env(text, NULL, want);
}

static char *
summary(const struct sg_config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	fp = open_memstream(&out, &len);
	assert_non_null(fp);
	config_print_summary(cfg, fp);
	fclose(fp);
	return out;
}

static void
test_minimal_defaults(void **state)
{
	struct sg_config *cfg = load(GROUP);
	const struct sg_group_cfg *g;

	assert_string_equal(cfg->path, "t.ini");
	assert_int_equal(cfg->mode, SG_MODE_ENFORCE);
	assert_int_equal(cfg->poll_interval, 60);
	assert_int_equal(cfg->lookback, 900);
	assert_null(cfg->state_dir);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_false(cfg->log_level_set);
	assert_string_equal(cfg->region, "us-east-1");
	assert_null(cfg->profile);
	assert_null(cfg->endpoint_url);
	assert_null(cfg->cloudtrail_endpoint_url);
	assert_null(cfg->ec2_endpoint_url);
	assert_null(cfg->sns_endpoint_url);
	assert_null(cfg->sts_endpoint_url);
	assert_null(cfg->ca_file);
	assert_null(cfg->topic_arn);
	assert_string_equal(cfg->subject_prefix, "[sgguard]");
	assert_int_equal(cfg->ngroups, 1);
	g = &cfg->groups[0];
	assert_string_equal(g->id, "sg-0123456789abcdef0");
	assert_string_equal(g->region, "us-east-1");
	assert_int_equal(g->nallow, 0);
	assert_int_equal(g->nprincipals, 0);
	assert_int_equal(g->line, 1);
	assert_ptr_equal(config_find_group(cfg, "sg-0123456789abcdef0"), g);
	assert_null(config_find_group(cfg, "sg-12345678"));
	assert_null(config_find_group(cfg, NULL));
	assert_null(config_find_group(NULL, "sg-12345678"));
	config_free(cfg);
	config_free(NULL);
}

static const char full_text[] =
	"; sgguard test configuration\n"
	"# hash comments too\n"
	"[sgguard]\n"
	"mode = audit\n"
	"poll_interval = 5\n"
	"lookback = 86400\n"
	"state_dir = /var/lib/sgguard-test\n"
	"log_level = debug\n"
	"\n"
	"[aws]\n"
	"region = eu-west-1\n"
	"profile = prod\n"
	"endpoint_url = http://127.0.0.1:5000\n"
	"cloudtrail_endpoint_url = http://127.0.0.1:5001\n"
	"ec2_endpoint_url = https://ec2.eu-west-1.amazonaws.com\n"
	"sns_endpoint_url = http://localhost:4566/\n"
	"sts_endpoint_url = https://sts.eu-west-1.amazonaws.com\n"
	"ca_file = /etc/hosts\n"
	"\n"
	"[notify]\n"
	"topic_arn = arn:aws:sns:eu-west-1:123456789012:sgguard-alerts\n"
	"subject_prefix = [prod sgguard]\n"
	"\n"
	"[group sg-0123456789abcdef0]\n"
	"region = us-east-1\n"
	"allow = tcp 443 0.0.0.0/0\n"
	"allow = tcp 443 ::/0\n"
	"allow_principal = arn:aws:iam::123456789012:role/NetworkAdmins\n"
	"allow_principal = arn:aws:sts::123456789012:assumed-role/Ops/*\n"
	"\n"
	"[group sg-12345678]\n"
	"allow = icmp 8 10.0.0.0/8 ; ping from inside\n";

static void
test_full(void **state)
{
	struct sg_config *cfg = load(full_text);
	const struct sg_group_cfg *g;
	char buf[64];


	assert_int_equal(cfg->mode, SG_MODE_AUDIT);
	assert_int_equal(cfg->poll_interval, 5);
	assert_int_equal(cfg->lookback, 86400);
	assert_string_equal(cfg->state_dir, "/var/lib/sgguard-test");
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_true(cfg->log_level_set);
	assert_string_equal(cfg->region, "eu-west-1");
	assert_string_equal(cfg->profile, "prod");
	assert_string_equal(cfg->endpoint_url, "http://127.0.0.1:5000");
	assert_string_equal(cfg->cloudtrail_endpoint_url,
	    "http://127.0.0.1:5001");
	assert_string_equal(cfg->ec2_endpoint_url,
	    "https://ec2.eu-west-1.amazonaws.com");
	assert_string_equal(cfg->sns_endpoint_url, "http://localhost:4566/");
	assert_string_equal(cfg->sts_endpoint_url,
	    "https://sts.eu-west-1.amazonaws.com");
	assert_string_equal(cfg->ca_file, "/etc/hosts");
	assert_string_equal(cfg->topic_arn,
	    "arn:aws:sns:eu-west-1:123456789012:sgguard-alerts");
	assert_string_equal(cfg->subject_prefix, "[prod sgguard]");
	assert_int_equal(cfg->ngroups, 2);

	g = &cfg->groups[0];
	assert_int_equal(g->line, 24);
	assert_string_equal(g->region, "us-east-1");
	assert_int_equal(g->nallow, 2);
	rule_format(&g->allow[0], buf, sizeof(buf));
	assert_string_equal(buf, "tcp 443 0.0.0.0/0");
	rule_format(&g->allow[1], buf, sizeof(buf));
	assert_string_equal(buf, "tcp 443 ::/0");
	assert_int_equal(g->nprincipals, 2);
	assert_string_equal(g->principals[0],
	    "arn:aws:iam::123456789012:role/NetworkAdmins");
	assert_string_equal(g->principals[1],
	    "arn:aws:sts::123456789012:assumed-role/Ops/*");

	g = &cfg->groups[1];
	assert_string_equal(g->id, "sg-12345678");
	assert_int_equal(g->line, 31);
	/* No region of its own: the [aws] one. */
	assert_string_equal(g->region, "eu-west-1");
	assert_int_equal(g->nallow, 1);
	rule_format(&g->allow[0], buf, sizeof(buf));
	assert_string_equal(buf, "icmp 8 10.0.0.0/8");
	assert_ptr_equal(config_find_group(cfg, "sg-12345678"), g);
	config_free(cfg);
}

static void
test_ca_file_not_regular(void **state)
{
	expect_error("[aws]\nca_file = /dev/null\n" GROUP, "t.ini:2: bad "
	    "ca_file \"/dev/null\": not a regular file; give a readable PEM "
	    "CA bundle");
}

static void
test_empty_values_are_defaults(void **state)
{
	struct sg_config *cfg = load(
	    "[sgguard]\nmode =\npoll_interval =\nlookback =\nstate_dir =\n"
	    "log_level =\n"
	    "[aws]\nregion =\nprofile =\nendpoint_url =\n"
	    "cloudtrail_endpoint_url =\nec2_endpoint_url =\n"
	    "sns_endpoint_url =\nsts_endpoint_url =\nca_file =\n"
	    "[notify]\ntopic_arn =\nsubject_prefix =\n"
	    GROUP "region =\n");

	assert_int_equal(cfg->mode, SG_MODE_ENFORCE);
	assert_int_equal(cfg->poll_interval, 60);
	assert_int_equal(cfg->lookback, 900);
	assert_null(cfg->state_dir);
	assert_false(cfg->log_level_set);
	assert_string_equal(cfg->region, "us-east-1");
	assert_null(cfg->profile);
	assert_null(cfg->endpoint_url);
	assert_null(cfg->ec2_endpoint_url);
	assert_null(cfg->ca_file);
	assert_null(cfg->topic_arn);
	assert_string_equal(cfg->subject_prefix, "[sgguard]");
	assert_string_equal(cfg->groups[0].region, "us-east-1");
	config_free(cfg);

	/* An empty value still counts as the key being set. */
	expect_error("[sgguard]\nmode =\nmode = audit\n" GROUP,
	    "t.ini:3: duplicate key 'mode' (first set at line 2): only allow "
	    "and allow_principal may repeat; keep one");
}

static void
test_integer_bounds(void **state)
{
	struct sg_config *cfg;

	cfg = load("[sgguard]\npoll_interval = 3600\nlookback = 60\n" GROUP);
	assert_int_equal(cfg->poll_interval, 3600);
	assert_int_equal(cfg->lookback, 60);
	config_free(cfg);
	cfg = load("[sgguard]\npoll_interval = 0005\n" GROUP);
	assert_int_equal(cfg->poll_interval, 5);
	config_free(cfg);
}

static void
test_layout_traps(void **state)
{
	struct sg_config *cfg;
	char line[300];

	/* Indentation is harmless: no continuation of the previous key. */
	cfg = load("[sgguard]\n  mode = audit\n\tpoll_interval = 30\n"
	    "    [group sg-12345678]\n    allow = tcp 22 10.0.0.0/8\n"
	    "      allow = tcp 23 10.0.0.0/8\n");
	assert_int_equal(cfg->mode, SG_MODE_AUDIT);
	assert_int_equal(cfg->poll_interval, 30);
	assert_int_equal(cfg->groups[0].nallow, 2);
	assert_int_equal(cfg->groups[0].line, 4);
	config_free(cfg);

	/* CRLF line ends, a UTF-8 BOM, no final newline. */
	cfg = load("\xef\xbb\xbf[sgguard]\r\nmode = audit\r\n"
	    "[group sg-12345678]\r\nallow = tcp 22 10.0.0.0/8");
	assert_int_equal(cfg->mode, SG_MODE_AUDIT);
	assert_int_equal(cfg->groups[0].nallow, 1);
	config_free(cfg);

	/* Inline ';' comments after white space; ':' as in configparser. */
	cfg = load("[sgguard] ; main\nmode = audit ; or enforce\n"
	    "poll_interval: 10\n"
	    "[group sg-12345678] # watched\n"
	    "allow_principal = arn:aws:iam::123456789012:role/a;b\n");
	assert_int_equal(cfg->mode, SG_MODE_AUDIT);
	assert_int_equal(cfg->poll_interval, 10);
	assert_string_equal(cfg->groups[0].principals[0],
	    "arn:aws:iam::123456789012:role/a;b");
	config_free(cfg);

	/* An empty group section is a group (all added rules reverted). */
	cfg = load("[group sg-12345678]\n[group sg-87654321]\n");
	assert_int_equal(cfg->ngroups, 2);
	assert_int_equal(cfg->groups[1].line, 2);
	config_free(cfg);

	/* Spaces inside the header are tolerated. */
	cfg = load("[ group   sg-12345678 ]\n[ aws ]\nregion = eu-north-1\n");
	assert_string_equal(cfg->groups[0].id, "sg-12345678");
	assert_string_equal(cfg->groups[0].region, "eu-north-1");
	config_free(cfg);

	/* 197 characters is the longest line. */
	memset(line, 0, sizeof(line));
	strcpy(line, "[sgguard]\nstate_dir = /");
	memset(line + strlen(line), 'x', 197 - 13);
	strcat(line, "\n" GROUP);
	cfg = load(line);
	assert_int_equal(strlen(cfg->state_dir), 197 - 12);
	config_free(cfg);
}

static void
test_long_line(void **state)
{
	char text[600], want[200];

	memset(text, 0, sizeof(text));
	/* inih would split it and read the rest as a new line: refuse. */
	strcpy(text, "[sgguard]\nstate_dir = /");
	memset(text + strlen(text), 'x', 198 - 13);
	strcat(text, "\n" GROUP);
	expect_error(text, "t.ini:2: line too long (198 characters; at most "
	    "197, not counting indentation)");

	strcpy(text, GROUP "allow_principal = arn:aws:iam::123456789012:role/");
	memset(text + strlen(text), 'a', 300);
	strcat(text, "\n");
	snprintf(want, sizeof(want), "t.ini:2: line too long (%zu characters; "
	    "at most 197, not counting indentation)",
	    strlen("allow_principal = arn:aws:iam::123456789012:role/") + 300);
	expect_error(text, want);
}

struct bad {
	const char	*text;
	const char	*err;
};

static void
run_bad(const struct bad *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_error(t[i].text, t[i].err);
}

static void
test_structure_errors(void **state)
{
	static const struct bad t[] = {
		{ "", "t.ini:1: no [group sg-ID] section: add one per security "
		    "group to watch, like [group sg-0123456789abcdef0]" },
		{ "; only a comment\n\n[sgguard]\nmode = audit\n\n",
		    "t.ini:5: no [group sg-ID] section: add one per security "
		    "group to watch, like [group sg-0123456789abcdef0]" },
		{ "[sgguard]\nmode = audit", "t.ini:2: no [group sg-ID] "
		    "section: add one per security group to watch, like "
		    "[group sg-0123456789abcdef0]" },
		{ "mode = audit\n" GROUP, "t.ini:1: key 'mode' is outside any "
		    "section: put it under [sgguard], [aws], [notify] or "
		    "[group sg-ID]" },
		{ GROUP "[bogus]\n", "t.ini:2: unknown section [bogus]: sections "
		    "are [sgguard], [aws], [notify] and [group sg-ID]" },
		{ "[groups tag:Protect=yes]\n", "t.ini:1: unknown section "
		    "[groups tag:Protect=yes]: sections are [sgguard], [aws], "
		    "[notify] and [group sg-ID]" },
		{ "[AWS]\n" GROUP, "t.ini:1: unknown section [AWS]: section "
		    "names are lower case, did you mean [aws]?" },
		{ "[sgguard\n" GROUP, "t.ini:1: section header without ']': "
		    "write it like [sgguard]" },
		{ "[sgguard] mode = audit\n" GROUP, "t.ini:1: unexpected text "
		    "after ']': put keys on their own lines" },
		{ "[sgguard]\n[aws]\n[sgguard]\n" GROUP, "t.ini:3: duplicate "
		    "section [sgguard] (first at line 1): merge the two" },
		{ GROUP "allow = tcp 22 any\n" GROUP, "t.ini:3: duplicate "
		    "section [group sg-0123456789abcdef0] (first at line 1): "
		    "merge the two" },
		{ "[group]\n", "t.ini:1: [group] needs a security group id, "
		    "like [group sg-0123456789abcdef0]" },
		{ "[group sg-123]\n", "t.ini:1: bad group id \"sg-123\": use "
		    "sg- followed by 8 or 17 lower-case hex digits, like "
		    "sg-0123456789abcdef0" },
		{ "[group sg-0123456789abcdef]\n", "t.ini:1: bad group id "
		    "\"sg-0123456789abcdef\": use sg- followed by 8 or 17 "
		    "lower-case hex digits, like sg-0123456789abcdef0" },
		{ "[group sg-0123456g]\n", "t.ini:1: bad group id "
		    "\"sg-0123456g\": use sg- followed by 8 or 17 lower-case "
		    "hex digits, like sg-0123456789abcdef0" },
		{ "[group 0123456789abcdef0]\n", "t.ini:1: bad group id "
		    "\"0123456789abcdef0\": use sg- followed by 8 or 17 "
		    "lower-case hex digits, like sg-0123456789abcdef0" },
		{ "[group sg-0123ABCD]\n", "t.ini:1: bad group id "
		    "\"sg-0123ABCD\": ids are lower case, did you mean "
		    "[group sg-0123abcd]?" },
		{ "[group sg-12345678 extra]\n", "t.ini:1: bad group id "
		    "\"sg-12345678 extra\": use sg- followed by 8 or 17 "
		    "lower-case hex digits, like sg-0123456789abcdef0" },
		{ GROUP "allow tcp 22 any\n", "t.ini:2: expected 'key = value', "
		    "a [section] or a comment" },
		{ GROUP "allow ; = x\n", "t.ini:2: expected 'key = value', a "
		    "[section] or a comment" },
		{ GROUP "= tcp 22 any\n", "t.ini:2: missing key name before "
		    "'='" },
		{ GROUP "]\n", "t.ini:2: expected 'key = value', a [section] "
		    "or a comment" },
	};

	run_bad(t, SG_ARRAY_LEN(t));
}

static void
test_key_errors(void **state)
{
	static const struct bad t[] = {
		{ "[sgguard]\nfoo = 1\n" GROUP, "t.ini:2: unknown key 'foo' in "
		    "[sgguard]: known keys are mode, poll_interval, lookback, "
		    "state_dir, log_level" },
		{ "[sgguard]\ndrift_interval = 15\n" GROUP, "t.ini:2: unknown "
		    "key 'drift_interval' in [sgguard]: known keys are mode, "
		    "poll_interval, lookback, state_dir, log_level" },
		{ "[aws]\naccess_key = AKIA\n" GROUP, "t.ini:2: unknown key "
		    "'access_key' in [aws]: known keys are region, profile, "
		    "endpoint_url, cloudtrail_endpoint_url, ec2_endpoint_url, "
		    "sns_endpoint_url, sts_endpoint_url, ca_file" },
		{ "[notify]\ntopic = x\n" GROUP, "t.ini:2: unknown key 'topic' "
		    "in [notify]: known keys are topic_arn, subject_prefix" },
		{ GROUP "allowed = tcp 22 any\n", "t.ini:2: unknown key "
		    "'allowed' in [group sg-0123456789abcdef0]: known keys are "
		    "region, allow, allow_principal" },
		{ GROUP "mode = audit\n", "t.ini:2: unknown key 'mode' in "
		    "[group sg-0123456789abcdef0]: known keys are region, "
		    "allow, allow_principal" },
		{ "[sgguard]\nMode = audit\n" GROUP, "t.ini:2: unknown key "
		    "'Mode' in [sgguard]: keys are lower case, did you mean "
		    "'mode'?" },
		{ "[sgguard]\nmode = audit\npoll_interval = 10\nmode = enforce\n"
		    GROUP, "t.ini:4: duplicate key 'mode' (first set at line "
		    "2): only allow and allow_principal may repeat; keep one" },
		{ "[aws]\nregion = us-east-1\n[sgguard]\n[aws]\n", "t.ini:4: "
		    "duplicate section [aws] (first at line 1): merge the two" },
		{ "[notify]\ntopic_arn = arn:aws:sns:us-east-1:123456789012:a\n"
		    "topic_arn = arn:aws:sns:us-east-1:123456789012:b\n" GROUP,
		    "t.ini:3: duplicate key 'topic_arn' (first set at line 2): "
		    "only allow and allow_principal may repeat; keep one" },
		{ GROUP "region = us-east-1\nallow = tcp 22 any\n"
		    "region = us-west-2\n", "t.ini:4: duplicate key 'region' "
		    "(first set at line 2): only allow and allow_principal may "
		    "repeat; keep one" },
	};

	run_bad(t, SG_ARRAY_LEN(t));
}

static void
test_value_errors(void **state)
{
	static const struct bad t[] = {
		{ "[sgguard]\nmode = enforcing\n" GROUP, "t.ini:2: bad mode "
		    "\"enforcing\": use enforce or audit" },
		{ "[sgguard]\nmode = Audit\n" GROUP, "t.ini:2: bad mode "
		    "\"Audit\": use enforce or audit" },
		{ "[sgguard]\nmode = audit # dry run\n" GROUP, "t.ini:2: bad "
		    "mode \"audit # dry run\": use enforce or audit (comments "
		    "after a value start with ';', not '#')" },
		{ "[sgguard]\npoll_interval = 4\n" GROUP, "t.ini:2: bad "
		    "poll_interval \"4\": use a whole number of seconds from 5 "
		    "to 3600" },
		{ "[sgguard]\npoll_interval = 3601\n" GROUP, "t.ini:2: bad "
		    "poll_interval \"3601\": use a whole number of seconds "
		    "from 5 to 3600" },
		{ "[sgguard]\npoll_interval = 60s\n" GROUP, "t.ini:2: bad "
		    "poll_interval \"60s\": use a whole number of seconds from "
		    "5 to 3600" },
		{ "[sgguard]\npoll_interval = -60\n" GROUP, "t.ini:2: bad "
		    "poll_interval \"-60\": use a whole number of seconds from "
		    "5 to 3600" },
		{ "[sgguard]\npoll_interval = +60\n" GROUP, "t.ini:2: bad "
		    "poll_interval \"+60\": use a whole number of seconds from "
		    "5 to 3600" },
		{ "[sgguard]\npoll_interval = 1e2\n" GROUP, "t.ini:2: bad "
		    "poll_interval \"1e2\": use a whole number of seconds from "
		    "5 to 3600" },
		{ "[sgguard]\npoll_interval = 6 0\n" GROUP, "t.ini:2: bad "
		    "poll_interval \"6 0\": use a whole number of seconds from "
		    "5 to 3600" },
		{ "[sgguard]\npoll_interval = 99999999999999999999999\n" GROUP,
		    "t.ini:2: bad poll_interval \"99999999999999999999999\": "
		    "use a whole number of seconds from 5 to 3600" },
		{ "[sgguard]\nlookback = 59\n" GROUP, "t.ini:2: bad lookback "
		    "\"59\": use a whole number of seconds from 60 to 86400" },
		{ "[sgguard]\nlookback = 86401\n" GROUP, "t.ini:2: bad lookback "
		    "\"86401\": use a whole number of seconds from 60 to "
		    "86400" },
		{ "[sgguard]\nlookback = 15m\n" GROUP, "t.ini:2: bad lookback "
		    "\"15m\": use a whole number of seconds from 60 to 86400" },
		{ "[sgguard]\nstate_dir = var/lib/sgguard\n" GROUP, "t.ini:2: "
		    "bad state_dir \"var/lib/sgguard\": use an absolute path "
		    "like /var/lib/sgguard" },
		{ "[sgguard]\nlog_level = verbose\n" GROUP, "t.ini:2: bad "
		    "log_level \"verbose\": use error, warning, info or "
		    "debug" },
		{ "[sgguard]\nlog_level = warn\n" GROUP, "t.ini:2: bad "
		    "log_level \"warn\": use error, warning, info or debug" },
		{ "[aws]\nregion = US-EAST-1\n" GROUP, "t.ini:2: bad region "
		    "\"US-EAST-1\": use a region code like us-east-1" },
		{ "[aws]\nregion = us_east_1\n" GROUP, "t.ini:2: bad region "
		    "\"us_east_1\": use a region code like us-east-1" },
		{ "[aws]\nregion = useast1\n" GROUP, "t.ini:2: bad region "
		    "\"useast1\": use a region code like us-east-1" },
		{ "[aws]\nregion = us-east-1-\n" GROUP, "t.ini:2: bad region "
		    "\"us-east-1-\": use a region code like us-east-1" },
		{ "[aws]\nregion = us--east-1\n" GROUP, "t.ini:2: bad region "
		    "\"us--east-1\": use a region code like us-east-1" },
		{ "[aws]\nregion = 1us-east\n" GROUP, "t.ini:2: bad region "
		    "\"1us-east\": use a region code like us-east-1" },
		{ "[aws]\nregion = us-east-1 eu-west-1\n" GROUP, "t.ini:2: bad "
		    "region \"us-east-1 eu-west-1\": use a region code like "
		    "us-east-1" },
		{ GROUP "region = Frankfurt\n", "t.ini:2: bad region "
		    "\"Frankfurt\": use a region code like us-east-1" },
		{ "[aws]\nprofile = my prod\n" GROUP, "t.ini:2: bad profile "
		    "\"my prod\": use the name of a profile in ~/.aws/config "
		    "(no spaces)" },
		{ "[aws]\nendpoint_url = localhost:5000\n" GROUP, "t.ini:2: bad "
		    "endpoint_url \"localhost:5000\": use a URL starting with "
		    "http:// or https://, like https://ec2.us-east-1.amazonaws"
		    ".com" },
		{ "[aws]\nec2_endpoint_url = ftp://x\n" GROUP, "t.ini:2: bad "
		    "ec2_endpoint_url \"ftp://x\": use a URL starting with "
		    "http:// or https://, like https://ec2.us-east-1.amazonaws"
		    ".com" },
		{ "[aws]\ncloudtrail_endpoint_url = https://\n" GROUP,
		    "t.ini:2: bad cloudtrail_endpoint_url \"https://\": use a "
		    "URL starting with http:// or https://, like "
		    "https://ec2.us-east-1.amazonaws.com" },
		{ "[aws]\nsns_endpoint_url = http:///x\n" GROUP, "t.ini:2: bad "
		    "sns_endpoint_url \"http:///x\": use a URL starting with "
		    "http:// or https://, like https://ec2.us-east-1.amazonaws"
		    ".com" },
		{ "[aws]\nsts_endpoint_url = http://a b\n" GROUP, "t.ini:2: bad "
		    "sts_endpoint_url \"http://a b\": use a URL starting with "
		    "http:// or https://, like https://ec2.us-east-1.amazonaws"
		    ".com" },
		{ "[aws]\nendpoint_url = HTTP://x\n" GROUP, "t.ini:2: bad "
		    "endpoint_url \"HTTP://x\": use a URL starting with http:// "
		    "or https://, like https://ec2.us-east-1.amazonaws.com" },
		{ "[aws]\nca_file = /nonexistent/sgguard-ca.pem\n" GROUP,
		    "t.ini:2: bad ca_file \"/nonexistent/sgguard-ca.pem\": No "
		    "such file or directory; give a readable PEM CA bundle" },
		{ "[aws]\nca_file = /\n" GROUP, "t.ini:2: bad ca_file \"/\": "
		    "not a regular file; give a readable PEM CA bundle" },
		{ "[notify]\ntopic_arn = sgguard-alerts\n" GROUP, "t.ini:2: bad "
		    "topic_arn \"sgguard-alerts\": use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:aws:sqs:us-east-1:123456789012:q\n"
		    GROUP, "t.ini:2: bad topic_arn "
		    "\"arn:aws:sqs:us-east-1:123456789012:q\": use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:aws:sns:us-east-1:12345678901:t\n"
		    GROUP, "t.ini:2: bad topic_arn "
		    "\"arn:aws:sns:us-east-1:12345678901:t\": use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:aws:sns:us-east-1:12345678901x:t\n"
		    GROUP, "t.ini:2: bad topic_arn "
		    "\"arn:aws:sns:us-east-1:12345678901x:t\": use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:aws:sns::123456789012:t\n" GROUP,
		    "t.ini:2: bad topic_arn \"arn:aws:sns::123456789012:t\": "
		    "use arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:aws:sns:us-east-1:123456789012:\n"
		    GROUP, "t.ini:2: bad topic_arn "
		    "\"arn:aws:sns:us-east-1:123456789012:\": use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:aws:sns:us-east-1:123456789012:a:b"
		    "\n" GROUP, "t.ini:2: bad topic_arn "
		    "\"arn:aws:sns:us-east-1:123456789012:a:b\": use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:AWS:sns:us-east-1:123456789012:t\n"
		    GROUP, "t.ini:2: bad topic_arn "
		    "\"arn:AWS:sns:us-east-1:123456789012:t\": use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts" },
		{ "[notify]\ntopic_arn = arn:aws:sns:us-east-1:123456789012:"
		    "t.fifo\n" GROUP, "t.ini:2: bad topic_arn "
		    "\"arn:aws:sns:us-east-1:123456789012:t.fifo\": FIFO topics "
		    "are not supported; use a standard SNS topic" },
		{ "[notify]\nsubject_prefix = [sgguard production alerts for "
		    "the ops team]\n" GROUP, "t.ini:2: bad subject_prefix "
		    "\"[sgguard production alerts for the ops team]\": use at most "
		    "40 printable ASCII characters (SNS subjects are short)" },
		{ "[notify]\nsubject_prefix = [s\xc3\xa9" "curit\xc3\xa9" "]\n" GROUP,
		    "t.ini:2: bad subject_prefix \"[s\xc3\xa9" "curit\xc3\xa9" "]\": "
		    "use at most 40 printable ASCII characters (SNS subjects "
		    "are short)" },
		{ GROUP "allow = tcp 22-\n", "t.ini:2: bad allow pattern "
		    "\"tcp 22-\": port range needs two numbers like 22-80" },
		{ GROUP "allow =\n", "t.ini:2: bad allow pattern \"\": empty "
		    "pattern: write PROTO PORTS SOURCE, like tcp 443 "
		    "0.0.0.0/0" },
		{ GROUP "allow = tcp 22 10.1.2.3/8\n", "t.ini:2: bad allow "
		    "pattern \"tcp 22 10.1.2.3/8\": 10.1.2.3/8 has host bits "
		    "set: did you mean 10.0.0.0/8?" },
		{ GROUP "allow = tcp 22 10.1.2.3\n", "t.ini:2: bad allow "
		    "pattern \"tcp 22 10.1.2.3\": 10.1.2.3 is missing /prefix: "
		    "write 10.1.2.3/32 for this one address" },
		{ GROUP "allow = tcp 22 10.0.0.0/8 # ssh\n", "t.ini:2: bad allow "
		    "pattern \"tcp 22 10.0.0.0/8 # ssh\": too many fields: "
		    "write PROTO PORTS SOURCE, like tcp 443 0.0.0.0/0 "
		    "(comments after a value start with ';', not '#')" },
		{ GROUP "allow = icmp 8-9 any\n", "t.ini:2: bad allow pattern "
		    "\"icmp 8-9 any\": bad icmp type \"8-9\": use TYPE or "
		    "TYPE/CODE with numbers 0..255 (like 8 or 3/4), or any" },
		{ GROUP "allow_principal = NetworkAdmins\n", "t.ini:2: bad "
		    "allow_principal \"NetworkAdmins\": use an IAM ARN like "
		    "arn:aws:iam::123456789012:role/NAME ('*' matches any "
		    "characters)" },
		{ GROUP "allow_principal =\n", "t.ini:2: bad allow_principal "
		    "\"\": use an IAM ARN like arn:aws:iam::123456789012:role/"
		    "NAME ('*' matches any characters)" },
		{ GROUP "allow_principal = arn:aws:iam::1:role/a b\n", "t.ini:2: "
		    "bad allow_principal \"arn:aws:iam::1:role/a b\": use an "
		    "IAM ARN like arn:aws:iam::123456789012:role/NAME ('*' "
		    "matches any characters)" },
	};

	run_bad(t, SG_ARRAY_LEN(t));
}

static void
test_first_error_wins(void **state)
{
	/* Errors later in the file are not looked at. */
	expect_error("[sgguard]\nmode = x\npoll_interval = 1\n[bogus]\n",
	    "t.ini:2: bad mode \"x\": use enforce or audit");
	/* A file error comes before "no group". */
	expect_error("[bogus]\n", "t.ini:1: unknown section [bogus]: sections "
	    "are [sgguard], [aws], [notify] and [group sg-ID]");
}

static void
test_principal_globs(void **state)
{
	struct sg_config *cfg = load(GROUP
	    "allow_principal = *\n"
	    "allow_principal = arn:aws:iam::*:role/Admin*\n"
	    "allow_principal = arn:aws:sts::123456789012:assumed-role/*\n");

	assert_int_equal(cfg->groups[0].nprincipals, 3);
	assert_string_equal(cfg->groups[0].principals[0], "*");
	assert_string_equal(cfg->groups[0].principals[1],
	    "arn:aws:iam::*:role/Admin*");
	config_free(cfg);
}

static void
test_topic_partitions(void **state)
{
	struct sg_config *cfg;

	cfg = load("[notify]\n"
	    "topic_arn = arn:aws-us-gov:sns:us-gov-west-1:123456789012:a_b-C9"
	    "\n" GROUP);
	assert_string_equal(cfg->topic_arn,
	    "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a_b-C9");
	config_free(cfg);
	cfg = load("[notify]\n"
	    "topic_arn = arn:aws-cn:sns:cn-north-1:123456789012:alerts\n"
	    GROUP);
	config_free(cfg);
}

static void
test_env_region(void **state)
{
	static const char *const both[] = { "AWS_REGION=eu-west-1",
	    "AWS_DEFAULT_REGION=eu-west-2", NULL };
	static const char *const dflt[] = { "AWS_DEFAULT_REGION=eu-west-2",
	    NULL };
	static const char *const empty[] = { "AWS_REGION=",
	    "AWS_DEFAULT_REGION=eu-west-2", NULL };
	static const char *const bad[] = { "AWS_REGION=Mars", NULL };
	struct sg_config *cfg;

	cfg = load_env(GROUP, both);
	assert_string_equal(cfg->region, "eu-west-1");
	assert_string_equal(cfg->groups[0].region, "eu-west-1");
	config_free(cfg);
	cfg = load_env(GROUP, dflt);
	assert_string_equal(cfg->region, "eu-west-2");
	config_free(cfg);
	/* An empty variable is an unset one. */
	cfg = load_env(GROUP, empty);
	assert_string_equal(cfg->region, "eu-west-2");
	config_free(cfg);
	/* The file wins over the environment. */
	cfg = load_env("[aws]\nregion = ap-south-1\n" GROUP, both);
	assert_string_equal(cfg->region, "ap-south-1");
	config_free(cfg);
	/* A group's own region wins over both. */
	cfg = load_env(GROUP "region = sa-east-1\n[group sg-12345678]\n",
	    both);
	assert_string_equal(cfg->groups[0].region, "sa-east-1");
	assert_string_equal(cfg->groups[1].region, "eu-west-1");
	config_free(cfg);
	/* A bad value in the environment is reported when it is used... */
	expect_error_env(GROUP, bad, "t.ini: bad AWS_REGION \"Mars\" in the "
	    "environment: use a region code like us-east-1, or set region "
	    "in [aws]");
	/* ...and not when the file overrides it. */
	cfg = load_env("[aws]\nregion = us-west-2\n" GROUP, bad);
	assert_string_equal(cfg->region, "us-west-2");
	config_free(cfg);
}

static void
test_env_profile_ca(void **state)
{
	static const char *const env[] = { "AWS_PROFILE=staging",
	    "AWS_CA_BUNDLE=/etc/hosts", NULL };
	static const char *const badca[] = {
	    "AWS_CA_BUNDLE=/nonexistent/ca.pem", NULL };
	struct sg_config *cfg;

	cfg = load_env(GROUP, env);
	assert_string_equal(cfg->profile, "staging");
	assert_string_equal(cfg->ca_file, "/etc/hosts");
	config_free(cfg);
	cfg = load_env("[aws]\nprofile = prod\nca_file = /etc/passwd\n" GROUP,
	    env);
	assert_string_equal(cfg->profile, "prod");
	assert_string_equal(cfg->ca_file, "/etc/passwd");
	config_free(cfg);
	expect_error_env(GROUP, badca, "t.ini: bad AWS_CA_BUNDLE "
	    "\"/nonexistent/ca.pem\" in the environment: No such file or "
	    "directory; fix or unset it, or set ca_file in [aws]");
	cfg = load_env("[aws]\nca_file = /etc/hosts\n" GROUP, badca);
	config_free(cfg);
}

static void
test_env_endpoints(void **state)
{
	static const char *const generic[] = {
	    "AWS_ENDPOINT_URL=http://env-all", NULL };
	static const char *const specific[] = {
	    "AWS_ENDPOINT_URL=http://env-all",
	    "AWS_ENDPOINT_URL_EC2=http://env-ec2",
	    "AWS_ENDPOINT_URL_CLOUDTRAIL=http://env-ct",
	    "AWS_ENDPOINT_URL_SNS=http://env-sns",
	    "AWS_ENDPOINT_URL_STS=http://env-sts", NULL };
	static const char *const ec2only[] = {
	    "AWS_ENDPOINT_URL_EC2=http://env-ec2", NULL };
	static const char *const bad[] = {
	    "AWS_ENDPOINT_URL_SNS=localhost:4566", NULL };
	struct sg_config *cfg;

	/* Environment only: generic fills every service. */
	cfg = load_env(GROUP, generic);
	assert_string_equal(cfg->endpoint_url, "http://env-all");
	assert_string_equal(cfg->cloudtrail_endpoint_url, "http://env-all");
	assert_string_equal(cfg->ec2_endpoint_url, "http://env-all");
	assert_string_equal(cfg->sns_endpoint_url, "http://env-all");
	assert_string_equal(cfg->sts_endpoint_url, "http://env-all");
	config_free(cfg);

	/* Per-service env beats the generic env. */
	cfg = load_env(GROUP, ec2only);
	assert_null(cfg->endpoint_url);
	assert_null(cfg->cloudtrail_endpoint_url);
	assert_string_equal(cfg->ec2_endpoint_url, "http://env-ec2");
	config_free(cfg);

	/* File generic beats env generic, loses to env per-service. */
	cfg = load_env("[aws]\nendpoint_url = http://file-all\n" GROUP,
	    specific);
	assert_string_equal(cfg->endpoint_url, "http://file-all");
	assert_string_equal(cfg->cloudtrail_endpoint_url, "http://env-ct");
	assert_string_equal(cfg->ec2_endpoint_url, "http://env-ec2");
	assert_string_equal(cfg->sns_endpoint_url, "http://env-sns");
	assert_string_equal(cfg->sts_endpoint_url, "http://env-sts");
	config_free(cfg);
	cfg = load_env("[aws]\nendpoint_url = http://file-all\n" GROUP,
	    generic);
	assert_string_equal(cfg->endpoint_url, "http://file-all");
	assert_string_equal(cfg->ec2_endpoint_url, "http://file-all");
	assert_string_equal(cfg->sts_endpoint_url, "http://file-all");
	config_free(cfg);

	/* File per-service beats everything. */
	cfg = load_env("[aws]\nec2_endpoint_url = http://file-ec2\n"
	    "endpoint_url = http://file-all\n" GROUP, specific);
	assert_string_equal(cfg->ec2_endpoint_url, "http://file-ec2");
	assert_string_equal(cfg->sns_endpoint_url, "http://env-sns");
	config_free(cfg);

	/* No environment: file per-service, then file generic. */
	cfg = load("[aws]\nsts_endpoint_url = http://file-sts\n"
	    "endpoint_url = http://file-all\n" GROUP);
	assert_string_equal(cfg->sts_endpoint_url, "http://file-sts");
	assert_string_equal(cfg->cloudtrail_endpoint_url, "http://file-all");
	assert_string_equal(cfg->endpoint_url, "http://file-all");
	config_free(cfg);

	expect_error_env(GROUP, bad, "t.ini: bad AWS_ENDPOINT_URL_SNS "
	    "\"localhost:4566\" in the environment: use a URL starting with "
	    "http:// or https://, or unset it");
	/* Not used, not checked. */
	cfg = load_env("[aws]\nsns_endpoint_url = http://x\n" GROUP, bad);
	config_free(cfg);
}

static void
test_env_ignored_for_the_rest(void **state)
{
	static const char *const env[] = { "SGGUARD_MODE=audit",
	    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
	    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	    NULL };
	struct sg_config *cfg = load_env(GROUP, env);
	char *out = summary(cfg);

	assert_int_equal(cfg->mode, SG_MODE_ENFORCE);
	/* Never a secret in the summary. */
	assert_null(strstr(out, "AKIA"));
	assert_null(strstr(out, "wJalr"));
	free(out);
	config_free(cfg);
	/* A NULL getenv is no environment. */
	{
		char err[128];
		struct sg_config *c2;

		assert_int_equal(config_load_string("x", GROUP, NULL, &c2, err,
		    sizeof(err)), 0);
		assert_string_equal(c2->region, "us-east-1");
		config_free(c2);
	}
}

static void
test_summary_minimal(void **state)
{
	struct sg_config *cfg = load(GROUP);
	char *out = summary(cfg);

	assert_string_equal(out,
	    "configuration OK: t.ini\n"
	    "mode: enforce; poll every 60 s, lookback 900 s\n"
	    "aws: region us-east-1, credentials from the default chain\n"
	    "notify: off (no topic_arn in [notify]; events are only logged)\n"
	    "groups: 1 in 1 region\n"
	    "  sg-0123456789abcdef0 (us-east-1): 0 allow, 0 allow_principal\n");
	free(out);
	config_free(cfg);
}

static void
test_summary_full(void **state)
{
	struct sg_config *cfg = load(
	    "[sgguard]\nmode = audit\npoll_interval = 30\nlookback = 600\n"
	    "state_dir = /srv/sgguard\nlog_level = warning\n"
	    "[aws]\nregion = eu-west-1\nprofile = prod\n"
	    "endpoint_url = http://127.0.0.1:5000\n"
	    "sts_endpoint_url = https://sts.eu-west-1.amazonaws.com\n"
	    "ca_file = /etc/hosts\n"
	    "[notify]\ntopic_arn = arn:aws:sns:eu-west-1:123456789012:alerts\n"
	    "subject_prefix = [prod]\n"
	    "[group sg-0123456789abcdef0]\nregion = us-east-1\n"
	    "allow = tcp 443 0.0.0.0/0\nallow = tcp 443 ::/0\n"
	    "allow_principal = arn:aws:iam::123456789012:role/Net\n"
	    "[group sg-12345678]\n"
	    "[group sg-87654321]\nregion = us-east-1\n");
	char *out = summary(cfg);

	assert_string_equal(out,
	    "configuration OK: t.ini\n"
	    "mode: audit (detect and notify, change nothing); poll every 30 s, "
	    "lookback 600 s\n"
	    "state_dir: /srv/sgguard\n"
	    "log_level: warning\n"
	    "aws: region eu-west-1, credentials from the default chain with "
	    "profile prod\n"
	    "endpoint: cloudtrail http://127.0.0.1:5000\n"
	    "endpoint: ec2 http://127.0.0.1:5000\n"
	    "endpoint: sns http://127.0.0.1:5000\n"
	    "endpoint: sts https://sts.eu-west-1.amazonaws.com\n"
	    "ca_file: /etc/hosts\n"
	    "notify: arn:aws:sns:eu-west-1:123456789012:alerts (subject "
	    "prefix \"[prod]\")\n"
	    "groups: 3 in 2 regions\n"
	    "  sg-0123456789abcdef0 (us-east-1): 2 allow, 1 allow_principal\n"
	    "  sg-12345678 (eu-west-1): 0 allow, 0 allow_principal\n"
	    "  sg-87654321 (us-east-1): 0 allow, 0 allow_principal\n");
	free(out);
	config_free(cfg);
}

static void
test_summary_same_endpoint(void **state)
{
	struct sg_config *cfg = load("[aws]\nendpoint_url = http://moto:5000\n"
	    GROUP);
	char *out = summary(cfg);

	assert_non_null(strstr(out, "\nendpoints: http://moto:5000 (every "
	    "service)\n"));
	assert_null(strstr(out, "endpoint: "));
	free(out);
	config_free(cfg);
}

static char *
write_temp(const char *data, size_t len)
{
	char *path = xstrdup("/tmp/test_config.XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd != -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_load_file(void **state)
{
	static const char good[] = "[sgguard]\nmode = audit\n" GROUP;
	static const char nul[] = "[sgguard]\nmode = audit\nlog\0level = x\n";
	struct sg_config *cfg;
	char err[512], want[512], *path;

	path = write_temp(good, sizeof(good) - 1);
	assert_int_equal(config_load(path, env_get, &cfg, err, sizeof(err)),
	    0);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->mode, SG_MODE_AUDIT);
	config_free(cfg);
	unlink(path);
	free(path);

	path = write_temp(nul, sizeof(nul) - 1);
	assert_int_equal(config_load(path, env_get, &cfg, err, sizeof(err)),
	    -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:3: NUL byte in the line: is this a "
	    "text file?", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	assert_int_equal(config_load("/nonexistent/sgguard.ini", env_get, &cfg,
	    err, sizeof(err)), -1);
	assert_null(cfg);
	assert_string_equal(err, "/nonexistent/sgguard.ini: cannot open: No "
	    "such file or directory");
	assert_int_equal(config_load("/", env_get, &cfg, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "/: cannot read: Is a directory");
}

static void
test_load_file_too_big(void **state)
{
	size_t len = 1024 * 1024 + 1;
	char *data = xmalloc(len), err[512], want[512], *path;
	struct sg_config *cfg;

	memset(data, '\n', len);
	path = write_temp(data, len);
	free(data);
	assert_int_equal(config_load(path, env_get, &cfg, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s: file too large (more than 1048576 "
	    "bytes): is this the right file?", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
}

static void
test_small_err_buffer(void **state)
{
	struct sg_config *cfg;
	char err[10];

	assert_int_equal(config_load_string("t.ini", "[bogus]\n", env_get,
	    &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "t.ini:1: ");
	assert_int_equal(config_load_string("t.ini", "[bogus]\n", env_get,
	    &cfg, NULL, 0), -1);
}

static void
test_many_groups(void **state)
{
	struct sg_buf b;
	struct sg_config *cfg;
	size_t i;

	buf_init(&b);
	for (i = 0; i < 300; i++)
		buf_printf(&b, "[group sg-%08zx]\nallow = tcp %zu any\n"
		    "allow_principal = arn:aws:iam::123456789012:role/r%zu\n",
		    i, i, i);
	cfg = load(b.data);
	assert_int_equal(cfg->ngroups, 300);
	assert_int_equal(cfg->groups[299].allow[0].from_port, 299);
	assert_int_equal(cfg->groups[299].line, 299 * 3 + 1);
	assert_non_null(config_find_group(cfg, "sg-0000012b"));
	config_free(cfg);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_ca_file_not_regular),
		cmocka_unit_test(test_empty_values_are_defaults),
		cmocka_unit_test(test_integer_bounds),
		cmocka_unit_test(test_layout_traps),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_principal_globs),
		cmocka_unit_test(test_topic_partitions),
		cmocka_unit_test(test_env_region),
		cmocka_unit_test(test_env_profile_ca),
		cmocka_unit_test(test_env_endpoints),
		cmocka_unit_test(test_env_ignored_for_the_rest),
		cmocka_unit_test(test_summary_minimal),
		cmocka_unit_test(test_summary_full),
		cmocka_unit_test(test_summary_same_endpoint),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_file_too_big),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_many_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
