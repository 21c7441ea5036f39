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
#define TAG	"[groups tag:Protect=yes]\n"
#define ROLE	"arn:aws:iam::222233334444:role/sgguard"
#define NO_GROUP "no [group sg-ID] or [groups tag:KEY=VALUE] section: add " \
	"one per security group to watch, like [group sg-0123456789abcdef0], " \
	"or one per tag, like [groups tag:Protect=yes]"
#define SECTIONS "sections are [sgguard], [aws], [notify], [group sg-ID], " \
	"[groups tag:KEY=VALUE] and [account NAME]"
#define GROUP_KEYS "region, account, allow, allow_egress, allow_principal, " \
	"egress, restore, baseline"

/* ca_file must name a PEM certificate: main() writes this one to two
 * files, and "@CA@" / "@CA2@" in configurations, environments and
 * expected texts stand for their paths. */
static const char test_ca[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBqzCCAVGgAwIBAgIUaUHJdaqxlRi6w7514B2q+xsB6YgwCgYIKoZIzj0EAwIw\n"
	"KjEoMCYGA1UEAwwfc2dndWFyZCB0ZXN0IENBIChrZXkgZGlzY2FyZGVkKTAgFw0y\n"
	"NjExMjcyMjEwNTVaGA8yMTI2MTEwMzIyMTA1NVowKjEoMCYGA1UEAwwfc2dndWFy\n"
	"ZCB0ZXN0IENBIChrZXkgZGlzY2FyZGVkKTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
	"A0IABLS4YjrcgnfOVtDHleOd5CA0tKkLGU7nM6TgG2Yl6H212lvoqcSNHtMU/XUU\n"
	"w5x8qE6lWIyRAwA5Kn8U30+A+jGjUzBRMB0GA1UdDgQWBBRjDCWIhi2RFjyQ1mV3\n"
	"jao54hduTjAfBgNVHSMEGDAWgBRjDCWIhi2RFjyQ1mV3jao54hduTjAPBgNVHRMB\n"
	"Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIE679X4cpY/8MHJamcBDndnS1Y91\n"
	"hM8EeubsZQkpH0DCAiEAgZQl85due4CmaMjNcqoSbblyhN/vMjg0lWws2qjDyWE=\n"
	"-----END CERTIFICATE-----\n";
static char ca_dir[64], ca_path[96], ca_path2[96];

/* s with @CA@ and @CA2@ replaced (free it). */
static char *
subst(const char *s)
{
	struct sg_buf b;
	const char *p;

	buf_init(&b);
	for (p = s; *p != '\0'; p++) {
		if (strncmp(p, "@CA2@", 5) == 0) {
			buf_puts(&b, ca_path2);
			p += 4;
		} else if (strncmp(p, "@CA@", 4) == 0) {
			buf_puts(&b, ca_path);
			p += 3;
		} else
			buf_putc(&b, *p);
	}
	return buf_steal(&b);
}

/* The fake environment: NAME=VALUE strings, NULL-terminated. */
static const char *const *fake_env;

static const char *
env_get(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; fake_env != NULL && fake_env[i] != NULL; i++)
		if (strncmp(fake_env[i], name, n) == 0 &&
		    fake_env[i][n] == '=') {
			if (strcmp(fake_env[i] + n + 1, "@CA@") == 0)
				return ca_path;
			return fake_env[i] + n + 1;
		}
	return NULL;
}

static struct sg_config *
load_env(const char *text, const char *const *env)
{
	struct sg_config *cfg;
	char err[1024] = "", *t = subst(text);

	fake_env = env;
	if (config_load_string("t.ini", t, env_get, &cfg, err,
	    sizeof(err)) == -1)
		fail_msg("config refused: %s", err);
	free(t);
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
summary_dry_run(const struct sg_config *cfg, bool dry_run)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	fp = open_memstream(&out, &len);
	assert_non_null(fp);
	config_print_summary(cfg, dry_run, 0, fp);
	fclose(fp);
	return out;
}

static char *
summary(const struct sg_config *cfg)
{
	return summary_dry_run(cfg, false);
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
	"ca_file = @CA@\n"
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
	assert_string_equal(cfg->ca_file, ca_path);
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
	    "t.ini:3: duplicate key 'mode' (first set at line 2): only allow, "
	    "allow_egress and allow_principal may repeat; keep one");
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
		{ "", "t.ini:1: " NO_GROUP },
		{ "; only a comment\n\n[sgguard]\nmode = audit\n\n",
		    "t.ini:5: " NO_GROUP },
		{ "[sgguard]\nmode = audit", "t.ini:2: " NO_GROUP },
		{ "mode = audit\n" GROUP, "t.ini:1: key 'mode' is outside any "
		    "section: put it under [sgguard], [aws], [notify] or "
		    "[group sg-ID]" },
		{ GROUP "[bogus]\n", "t.ini:2: unknown section [bogus]: "
		    SECTIONS },
		{ "[grups tag:Protect=yes]\n", "t.ini:1: unknown section "
		    "[grups tag:Protect=yes]: " SECTIONS },
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
		    "state_dir, log_level, drift_interval" },
		{ "[sgguard]\nDrift_Interval = 15\n" GROUP, "t.ini:2: unknown "
		    "key 'Drift_Interval' in [sgguard]: keys are lower case, "
		    "did you mean 'drift_interval'?" },
		{ "[aws]\naccess_key = AKIA\n" GROUP, "t.ini:2: unknown key "
		    "'access_key' in [aws]: known keys are region, profile, "
		    "endpoint_url, cloudtrail_endpoint_url, ec2_endpoint_url, "
		    "sns_endpoint_url, sts_endpoint_url, ca_file" },
		{ "[notify]\ntopic = x\n" GROUP, "t.ini:2: unknown key 'topic' "
		    "in [notify]: known keys are topic_arn, subject_prefix" },
		{ GROUP "allowed = tcp 22 any\n", "t.ini:2: unknown key "
		    "'allowed' in [group sg-0123456789abcdef0]: known keys are "
		    GROUP_KEYS },
		{ GROUP "mode = audit\n", "t.ini:2: unknown key 'mode' in "
		    "[group sg-0123456789abcdef0]: known keys are " GROUP_KEYS },
		{ "[sgguard]\nMode = audit\n" GROUP, "t.ini:2: unknown key "
		    "'Mode' in [sgguard]: keys are lower case, did you mean "
		    "'mode'?" },
		{ "[sgguard]\nmode = audit\npoll_interval = 10\nmode = enforce\n"
		    GROUP, "t.ini:4: duplicate key 'mode' (first set at line "
		    "2): only allow, allow_egress and allow_principal may "
		    "repeat; keep one" },
		{ "[aws]\nregion = us-east-1\n[sgguard]\n[aws]\n", "t.ini:4: "
		    "duplicate section [aws] (first at line 1): merge the two" },
		{ "[notify]\ntopic_arn = arn:aws:sns:us-east-1:123456789012:a\n"
		    "topic_arn = arn:aws:sns:us-east-1:123456789012:b\n" GROUP,
		    "t.ini:3: duplicate key 'topic_arn' (first set at line 2): "
		    "only allow, allow_egress and allow_principal may repeat; "
		    "keep one" },
		{ GROUP "region = us-east-1\nallow = tcp 22 any\n"
		    "region = us-west-2\n", "t.ini:4: duplicate key 'region' "
		    "(first set at line 2): only allow, allow_egress and "
		    "allow_principal may repeat; keep one" },
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
		/* Typos that look like codes: the number is its own word. */
		{ "[aws]\nregion = eu-west1\n" GROUP, "t.ini:2: bad region "
		    "\"eu-west1\": use a region code like us-east-1" },
		{ "[aws]\nregion = eu-west-one\n" GROUP, "t.ini:2: bad region "
		    "\"eu-west-one\": use a region code like us-east-1" },
		{ "[aws]\nregion = eu1-west-1\n" GROUP, "t.ini:2: bad region "
		    "\"eu1-west-1\": use a region code like us-east-1" },
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
		    "characters; a service glob starts with '*', like "
		    "*.amazonaws.com)" },
		{ GROUP "allow_principal =\n", "t.ini:2: bad allow_principal "
		    "\"\": use an IAM ARN like arn:aws:iam::123456789012:role/"
		    "NAME ('*' matches any characters; a service glob starts "
		    "with '*', like *.amazonaws.com)" },
		{ GROUP "allow_principal = arn:aws:iam::1:role/a b\n", "t.ini:2: "
		    "bad allow_principal \"arn:aws:iam::1:role/a b\": use an "
		    "IAM ARN like arn:aws:iam::123456789012:role/NAME ('*' "
		    "matches any characters; a service glob starts with '*', "
		    "like *.amazonaws.com)" },
		/* ARNs that can never be a caller's. */
		{ GROUP "allow_principal = arn:aws:iam::12345678901:role/X\n",
		    "t.ini:2: bad allow_principal \"arn:aws:iam::12345678901:"
		    "role/X\": the account is 12 digits (or '*')" },
		{ GROUP "allow_principal = arn:aws:iam:123456789012:role/X\n",
		    "t.ini:2: bad allow_principal \"arn:aws:iam:123456789012:"
		    "role/X\": an ARN has six parts: arn:aws:iam::ACCOUNT:"
		    "RESOURCE" },
		{ GROUP "allow_principal = arn:aws:sts::123456789012:"
		    "assumed-role/Net\n", "t.ini:2: bad allow_principal "
		    "\"arn:aws:sts::123456789012:assumed-role/Net\": an "
		    "assumed-role ARN ends with the session: assumed-role/ROLE/"
		    "SESSION (for every session, write the role's ARN "
		    "arn:aws:iam::ACCOUNT:role/ROLE, or assumed-role/ROLE/*)" },
		{ GROUP "allow_principal = arn:aws:ec2::123456789012:role/X\n",
		    "t.ini:2: bad allow_principal \"arn:aws:ec2::123456789012:"
		    "role/X\": callers are iam or sts ARNs (arn:aws:iam::"
		    "ACCOUNT:role/NAME, arn:aws:sts::ACCOUNT:assumed-role/NAME/"
		    "SESSION)" },
		{ GROUP "allow_principal = arn:aws:iam:eu-west-1:123456789012:"
		    "role/X\n", "t.ini:2: bad allow_principal \"arn:aws:iam:"
		    "eu-west-1:123456789012:role/X\": IAM and STS ARNs have no "
		    "region: arn:aws:iam::ACCOUNT:..." },
		{ GROUP "allow_principal = arn:aws:iam::123456789012:group/X\n",
		    "t.ini:2: bad allow_principal \"arn:aws:iam::123456789012:"
		    "group/X\": an IAM caller is root, user/NAME or role/NAME" },
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
	expect_error("[bogus]\n", "t.ini:1: unknown section [bogus]: "
	    SECTIONS);
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
	/* Real codes of every shape pass. */
	{
		static const char *const codes[] = { "us-gov-west-1",
		    "us-isob-east-1", "eu-isoe-west-1", "ap-southeast-4",
		    "cn-northwest-1", "il-central-1", "mx-central-1" };
		size_t k;
		char text[128];

		for (k = 0; k < SG_ARRAY_LEN(codes); k++) {
			snprintf(text, sizeof(text), "[aws]\nregion = %s\n"
			    GROUP, codes[k]);
			cfg = load(text);
			assert_string_equal(cfg->region, codes[k]);
			config_free(cfg);
		}
	}
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
	    "AWS_CA_BUNDLE=@CA@", NULL };
	static const char *const badca[] = {
	    "AWS_CA_BUNDLE=/nonexistent/ca.pem", NULL };
	struct sg_config *cfg;

	cfg = load_env(GROUP, env);
	assert_string_equal(cfg->profile, "staging");
	assert_string_equal(cfg->ca_file, ca_path);
	config_free(cfg);
	cfg = load_env("[aws]\nprofile = prod\nca_file = @CA2@\n" GROUP,
	    env);
	assert_string_equal(cfg->profile, "prod");
	assert_string_equal(cfg->ca_file, ca_path2);
	config_free(cfg);
	expect_error_env(GROUP, badca, "t.ini: bad AWS_CA_BUNDLE "
	    "\"/nonexistent/ca.pem\" in the environment: No such file or "
	    "directory; fix or unset it, or set ca_file in [aws]");
	cfg = load_env("[aws]\nca_file = @CA@\n" GROUP, badca);
	config_free(cfg);
	/* Readable but no certificate in it: said at the line, not as an
	 * exit 1 at start-up. */
	expect_error("[aws]\nca_file = /etc/hostname\n" GROUP, "t.ini:2: bad "
	    "ca_file \"/etc/hostname\": /etc/hostname: no PEM certificate in "
	    "it; give a readable PEM CA bundle");
	{
		static const char *const notpem[] = {
		    "AWS_CA_BUNDLE=/etc/hostname", NULL };

		expect_error_env(GROUP, notpem, "t.ini: bad AWS_CA_BUNDLE "
		    "\"/etc/hostname\" in the environment: /etc/hostname: no "
		    "PEM certificate in it; fix or unset it, or set ca_file in "
		    "[aws]");
	}
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

/* --dry-run wins over mode = enforce: -t must not claim enforce. */
static void
test_summary_dry_run(void **state)
{
	struct sg_config *cfg = load(GROUP);
	char *out = summary_dry_run(cfg, true);

	assert_int_equal(cfg->mode, SG_MODE_ENFORCE);
	assert_non_null(strstr(out, "\nmode: audit (--dry-run: detect and "
	    "notify, change nothing); poll every 60 s, lookback 900 s\n"));
	assert_null(strstr(out, "enforce"));
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
	    "ca_file = @CA@\n"
	    "[notify]\ntopic_arn = arn:aws:sns:eu-west-1:123456789012:alerts\n"
	    "subject_prefix = [prod]\n"
	    "[group sg-0123456789abcdef0]\nregion = us-east-1\n"
	    "allow = tcp 443 0.0.0.0/0\nallow = tcp 443 ::/0\n"
	    "allow_principal = arn:aws:iam::123456789012:role/Net\n"
	    "[group sg-12345678]\n"
	    "[group sg-87654321]\nregion = us-east-1\n");
	char *out = summary(cfg);
	char *want = subst(
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
	    "ca_file: @CA@\n"
	    "notify: arn:aws:sns:eu-west-1:123456789012:alerts (subject "
	    "prefix \"[prod]\")\n"
	    "groups: 3 in 2 regions\n"
	    "  sg-0123456789abcdef0 (us-east-1): 2 allow, 1 allow_principal\n"
	    "  sg-12345678 (eu-west-1): 0 allow, 0 allow_principal\n"
	    "  sg-87654321 (us-east-1): 0 allow, 0 allow_principal\n");

	assert_string_equal(out, want);
	free(want);
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

/* Issue 6: the new keys, their defaults, errors and summary lines. */

static void
test_issue6_defaults(void **state)
{
	struct sg_config *cfg = load(GROUP);
	const struct sg_group_cfg *g = &cfg->groups[0];

	/* A config without the new keys behaves as before. */
	assert_int_equal(cfg->drift_interval, 0);
	assert_int_equal(cfg->ntags, 0);
	assert_null(cfg->tags);
	assert_int_equal(cfg->naccounts, 0);
	assert_null(cfg->accounts);
	assert_null(g->account);
	assert_int_equal(g->egress, SG_EGRESS_IGNORE);
	assert_false(g->restore);
	assert_int_equal(g->baseline, SG_BASELINE_SNAPSHOT);
	assert_int_equal(g->nallow_egress, 0);
	assert_null(g->tag);
	assert_null(config_find_account(cfg, "prod"));
	assert_null(config_find_account(cfg, NULL));
	assert_null(config_find_account(NULL, "prod"));
	config_free(cfg);
}

static void
test_drift_interval(void **state)
{
	static const char *const ok[] = { "0", "5", "15", "3600", "00", "" };
	static const int want[] = { 0, 5, 15, 3600, 0, 0 };
	static const char *const bad[] = { "1", "4", "3601", "-1", "15s",
	    "off", "1e2", "+5" };
	struct sg_config *cfg;
	char text[128], err[256];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(ok); i++) {
		snprintf(text, sizeof(text), "[sgguard]\ndrift_interval = %s\n"
		    GROUP, ok[i]);
		cfg = load(text);
		assert_int_equal(cfg->drift_interval, want[i]);
		config_free(cfg);
	}
	for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "[sgguard]\ndrift_interval = %s\n"
		    GROUP, bad[i]);
		snprintf(err, sizeof(err), "t.ini:2: bad drift_interval \"%s\": "
		    "use 0 (off) or a whole number of seconds from 5 to 3600",
		    bad[i]);
		expect_error(text, err);
	}
	expect_error("[sgguard]\ndrift_interval = 15\ndrift_interval = 30\n"
	    GROUP, "t.ini:3: duplicate key 'drift_interval' (first set at "
	    "line 2): only allow, allow_egress and allow_principal may "
	    "repeat; keep one");
}

static void
test_group_issue6_keys(void **state)
{
	struct sg_config *cfg = load(
	    "[group sg-0123456789abcdef0]\n"
	    "account = prod\n"
	    "egress = enforce\n"
	    "restore = yes\n"
	    "baseline = allow\n"
	    "allow = tcp 443 0.0.0.0/0\n"
	    "allow_egress = tcp 443 any\n"
	    "allow = tcp 22 10.0.0.0/8\n"
	    "allow_egress = udp 53 10.0.0.2/32\n"
	    "[account prod]\n"
	    "role_arn = " ROLE "\n");
	const struct sg_group_cfg *g = &cfg->groups[0];
	const struct sg_account_cfg *a;
	char buf[64];

	assert_string_equal(g->account, "prod");
	assert_int_equal(g->egress, SG_EGRESS_ENFORCE);
	assert_true(g->restore);
	assert_int_equal(g->baseline, SG_BASELINE_ALLOW);
	/* One array, file order, told apart by the egress flag. */
	assert_int_equal(g->nallow, 4);
	assert_int_equal(g->nallow_egress, 2);
	rule_format(&g->allow[0], buf, sizeof(buf));
	assert_string_equal(buf, "tcp 443 0.0.0.0/0");
	assert_false(g->allow[0].egress);
	rule_format(&g->allow[1], buf, sizeof(buf));
	assert_string_equal(buf, "tcp 443 any");
	assert_true(g->allow[1].egress);
	assert_false(g->allow[2].egress);
	rule_format(&g->allow[3], buf, sizeof(buf));
	assert_string_equal(buf, "udp 53 10.0.0.2/32");
	assert_true(g->allow[3].egress);
	assert_null(g->tag);
	a = config_find_account(cfg, g->account);
	assert_non_null(a);
	assert_ptr_equal(a, &cfg->accounts[0]);
	config_free(cfg);

	/* egress = audit needs no patterns; account = default is the own
	 * account, like no account at all. */
	cfg = load(GROUP "egress = audit\naccount = default\nrestore = no\n"
	    "baseline = snapshot\n");
	g = &cfg->groups[0];
	assert_int_equal(g->egress, SG_EGRESS_AUDIT);
	assert_null(g->account);
	assert_false(g->restore);
	assert_int_equal(g->baseline, SG_BASELINE_SNAPSHOT);
	assert_int_equal(g->nallow_egress, 0);
	config_free(cfg);

	/* Empty values are the defaults. */
	cfg = load(GROUP "egress =\naccount =\nrestore =\nbaseline =\n");
	g = &cfg->groups[0];
	assert_int_equal(g->egress, SG_EGRESS_IGNORE);
	assert_null(g->account);
	assert_false(g->restore);
	assert_int_equal(g->baseline, SG_BASELINE_SNAPSHOT);
	config_free(cfg);
}

static void
test_restore_values(void **state)
{
	static const char *const yes[] = { "yes", "YES", "Yes", "true",
	    "True", "on", "ON", "1" };
	static const char *const no[] = { "no", "NO", "false", "FALSE", "off",
	    "Off", "0" };
	static const char *const bad[] = { "y", "n", "2", "enabled", "yes!",
	    "00", "none" };
	struct sg_config *cfg;
	char text[128], err[256];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(yes); i++) {
		snprintf(text, sizeof(text), GROUP "restore = %s\n", yes[i]);
		cfg = load(text);
		assert_true(cfg->groups[0].restore);
		config_free(cfg);
	}
	for (i = 0; i < SG_ARRAY_LEN(no); i++) {
		snprintf(text, sizeof(text), GROUP "restore = %s\n", no[i]);
		cfg = load(text);
		assert_false(cfg->groups[0].restore);
		config_free(cfg);
	}
	for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), GROUP "restore = %s\n", bad[i]);
		snprintf(err, sizeof(err), "t.ini:2: bad restore \"%s\": use "
		    "yes or no", bad[i]);
		expect_error(text, err);
	}
}

static void
test_group_issue6_errors(void **state)
{
	static const struct bad t[] = {
		{ GROUP "egress = block\n", "t.ini:2: bad egress \"block\": use "
		    "enforce, audit or ignore" },
		{ GROUP "egress = Enforce\n", "t.ini:2: bad egress \"Enforce\": "
		    "use enforce, audit or ignore" },
		{ GROUP "egress = audit # for now\n", "t.ini:2: bad egress "
		    "\"audit # for now\": use enforce, audit or ignore "
		    "(comments after a value start with ';', not '#')" },
		{ GROUP "baseline = rules\n", "t.ini:2: bad baseline \"rules\": "
		    "use snapshot or allow" },
		{ GROUP "baseline = Snapshot\n", "t.ini:2: bad baseline "
		    "\"Snapshot\": use snapshot or allow" },
		{ GROUP "account = pr od\n", "t.ini:2: bad account \"pr od\": "
		    "use the NAME of an [account NAME] section (letters, "
		    "digits, - and _, at most 64)" },
		{ GROUP "account = " ROLE "\n", "t.ini:2: bad account \"" ROLE
		    "\": use the NAME of an [account NAME] section (letters, "
		    "digits, - and _, at most 64)" },
		{ GROUP "account = "
		    "a123456789b123456789c123456789d123456789e123456789f1234"
		    "56789g12345\n", "t.ini:2: bad account "
		    "\"a123456789b123456789c123456789d123456789e123456789f1234"
		    "56789g12345\": use the NAME of an [account NAME] section "
		    "(letters, digits, - and _, at most 64)" },
		{ GROUP "account = prod\n", "t.ini:2: unknown account 'prod': "
		    "add an [account prod] section" },
		{ GROUP "region = us-east-1\naccount = Prod\n[account prod]\n"
		    "role_arn = " ROLE "\n", "t.ini:3: unknown account 'Prod': "
		    "account names are case-sensitive, did you mean 'prod'?" },
		{ GROUP "allow_egress = tcp 443 any\n", "t.ini:2: allow_egress "
		    "has no effect while egress = ignore (the default): set "
		    "egress = enforce or egress = audit in this section" },
		{ GROUP "egress = ignore\nallow_egress = tcp 443 any\n"
		    "allow_egress = tcp 80 any\n", "t.ini:3: allow_egress has "
		    "no effect while egress = ignore (the default): set egress "
		    "= enforce or egress = audit in this section" },
		{ GROUP "egress = enforce\nallow_egress = tcp 443\n", "t.ini:3: "
		    "bad allow_egress pattern \"tcp 443\": missing SOURCE: "
		    "write PROTO PORTS SOURCE, like tcp 443 0.0.0.0/0" },
		{ GROUP "egress = enforce\negress = audit\n", "t.ini:3: "
		    "duplicate key 'egress' (first set at line 2): only allow, "
		    "allow_egress and allow_principal may repeat; keep one" },
		{ GROUP "restore = yes\nrestore = no\n", "t.ini:3: duplicate "
		    "key 'restore' (first set at line 2): only allow, "
		    "allow_egress and allow_principal may repeat; keep one" },
		{ GROUP "regions = us-east-1\n", "t.ini:2: unknown key "
		    "'regions' in [group sg-0123456789abcdef0]: a group is in "
		    "one region, did you mean 'region'?" },
		{ GROUP "Egress = audit\n", "t.ini:2: unknown key 'Egress' in "
		    "[group sg-0123456789abcdef0]: keys are lower case, did "
		    "you mean 'egress'?" },
		{ "[group tag:Protect=yes]\n", "t.ini:1: bad group id "
		    "\"tag:Protect=yes\": to watch the groups carrying a tag, "
		    "write [groups tag:Protect=yes]" },
	};

	run_bad(t, SG_ARRAY_LEN(t));
}

static void
test_tags(void **state)
{
	static const char *const env[] = { "AWS_REGION=eu-north-1", NULL };
	struct sg_config *cfg;
	const struct sg_tag_cfg *t;
	char buf[64];

	cfg = load(
	    "[aws]\nregion = eu-west-2\n"
	    TAG
	    "regions = us-east-1   eu-west-1\tap-southeast-2\n"
	    "account = prod\n"
	    "allow = tcp 443 0.0.0.0/0\n"
	    "allow_egress = tcp 443 any\n"
	    "allow_principal = arn:aws:iam::222233334444:role/Net\n"
	    "egress = audit\n"
	    "restore = on\n"
	    "baseline = allow\n"
	    "[groups tag:Protect=no]\n"
	    "[groups tag:aws:cloudformation:stack-name = web=prod ]\n"
	    "[account prod]\nrole_arn = " ROLE "\n");
	assert_int_equal(cfg->ngroups, 0);
	assert_int_equal(cfg->ntags, 3);
	t = &cfg->tags[0];
	assert_string_equal(t->key, "Protect");
	assert_string_equal(t->value, "yes");
	assert_int_equal(t->line, 3);
	assert_int_equal(t->nregions, 3);
	assert_string_equal(t->regions[0], "us-east-1");
	assert_string_equal(t->regions[1], "eu-west-1");
	assert_string_equal(t->regions[2], "ap-southeast-2");
	/* The policy is a group config template. */
	assert_string_equal(t->policy.id, "");
	assert_null(t->policy.region);
	assert_int_equal(t->policy.line, 3);
	assert_ptr_equal(t->policy.tag, t);
	assert_string_equal(t->policy.account, "prod");
	assert_int_equal(t->policy.nallow, 2);
	assert_int_equal(t->policy.nallow_egress, 1);
	rule_format(&t->policy.allow[1], buf, sizeof(buf));
	assert_string_equal(buf, "tcp 443 any");
	assert_true(t->policy.allow[1].egress);
	assert_int_equal(t->policy.nprincipals, 1);
	assert_string_equal(t->policy.principals[0],
	    "arn:aws:iam::222233334444:role/Net");
	assert_int_equal(t->policy.egress, SG_EGRESS_AUDIT);
	assert_true(t->policy.restore);
	assert_int_equal(t->policy.baseline, SG_BASELINE_ALLOW);

	/* Same key, another value: another section. Defaults. */
	t = &cfg->tags[1];
	assert_string_equal(t->key, "Protect");
	assert_string_equal(t->value, "no");
	assert_int_equal(t->nregions, 1);
	assert_string_equal(t->regions[0], "eu-west-2");
	assert_null(t->policy.account);
	assert_int_equal(t->policy.egress, SG_EGRESS_IGNORE);
	assert_false(t->policy.restore);
	assert_int_equal(t->policy.baseline, SG_BASELINE_SNAPSHOT);
	assert_int_equal(t->policy.nallow, 0);
	assert_ptr_equal(t->policy.tag, t);

	/* KEY ends at the first '='; white space around both dropped. */
	t = &cfg->tags[2];
	assert_string_equal(t->key, "aws:cloudformation:stack-name");
	assert_string_equal(t->value, "web=prod");
	config_free(cfg);

	/* The default region follows [aws] region, so the environment. */
	cfg = load_env(TAG "regions =\n", env);
	assert_int_equal(cfg->tags[0].nregions, 1);
	assert_string_equal(cfg->tags[0].regions[0], "eu-north-1");
	config_free(cfg);

	/* Spaces, UTF-8 and punctuation inside KEY and VALUE; a ';' or '#'
	 * not after white space is text. */
	cfg = load("[groups tag:Cost Center=\xc3\x89quipe r\xc3\xa9seau;#1]\n"
	    "[ groups   tag:k=v ]\n");
	assert_string_equal(cfg->tags[0].key, "Cost Center");
	assert_string_equal(cfg->tags[0].value,
	    "\xc3\x89quipe r\xc3\xa9seau;#1");
	assert_string_equal(cfg->tags[1].key, "k");
	config_free(cfg);
}

static void
test_tag_limits(void **state)
{
	struct sg_buf b;
	struct sg_config *cfg;
	char want[512];
	size_t i;

	/* 128 characters of key are fine, 129 are not. */
	buf_init(&b);
	buf_puts(&b, "[groups tag:");
	for (i = 0; i < 128; i++)
		buf_putc(&b, 'k');
	buf_puts(&b, "=v]\n");
	cfg = load(b.data);
	assert_int_equal(strlen(cfg->tags[0].key), 128);
	config_free(cfg);
	buf_reset(&b);
	buf_puts(&b, "[groups tag:");
	for (i = 0; i < 129; i++)
		buf_putc(&b, 'k');
	buf_puts(&b, "=v]\n");
	snprintf(want, sizeof(want), "t.ini:1: bad tag selector \"%.*s\": the "
	    "tag key is longer than 128 characters; write [groups "
	    "tag:KEY=VALUE], like [groups tag:Protect=yes]",
	    (int)(b.len - 8 - 2), b.data + 8);
	expect_error(b.data, want);

	/* Characters, not bytes: 90 two-byte characters are 90. */
	buf_reset(&b);
	buf_puts(&b, "[groups tag:");
	for (i = 0; i < 90; i++)
		buf_puts(&b, "\xc3\xa9");
	buf_puts(&b, "=v]\n");
	cfg = load(b.data);
	assert_int_equal(strlen(cfg->tags[0].key), 180);
	config_free(cfg);
	buf_free(&b);
}

static void
test_tag_errors(void **state)
{
	static const struct bad t[] = {
		{ "[groups]\n", "t.ini:1: [groups] needs a tag selector, like "
		    "[groups tag:Protect=yes]" },
		{ "[groups tag:Protect]\n", "t.ini:1: bad tag selector "
		    "\"tag:Protect\": no =VALUE (a tag key alone, matching any "
		    "value, is not supported); write [groups tag:KEY=VALUE], "
		    "like [groups tag:Protect=yes]" },
		{ "[groups Protect=yes]\n", "t.ini:1: bad tag selector "
		    "\"Protect=yes\": it does not start with \"tag:\"; write "
		    "[groups tag:KEY=VALUE], like [groups tag:Protect=yes]" },
		{ "[groups TAG:Protect=yes]\n", "t.ini:1: bad tag selector "
		    "\"TAG:Protect=yes\": it does not start with \"tag:\"; "
		    "write [groups tag:KEY=VALUE], like [groups "
		    "tag:Protect=yes]" },
		{ "[groups tag:=yes]\n", "t.ini:1: bad tag selector "
		    "\"tag:=yes\": the tag key is empty; write [groups "
		    "tag:KEY=VALUE], like [groups tag:Protect=yes]" },
		{ "[groups tag: =yes]\n", "t.ini:1: bad tag selector "
		    "\"tag: =yes\": the tag key is empty; write [groups "
		    "tag:KEY=VALUE], like [groups tag:Protect=yes]" },
		{ "[groups tag:Protect=]\n", "t.ini:1: bad tag selector "
		    "\"tag:Protect=\": the tag value is empty; write [groups "
		    "tag:KEY=VALUE], like [groups tag:Protect=yes]" },
		{ "[groups tag:Pro\x01tect=yes]\n", "t.ini:1: bad tag selector "
		    "\"tag:Pro\x01tect=yes\": the tag key has a control "
		    "character or invalid UTF-8; write [groups tag:KEY=VALUE], "
		    "like [groups tag:Protect=yes]" },
		{ "[groups tag:Protect=y\xffs]\n", "t.ini:1: bad tag selector "
		    "\"tag:Protect=y\xffs\": the tag value has a control "
		    "character or invalid UTF-8; write [groups tag:KEY=VALUE], "
		    "like [groups tag:Protect=yes]" },
		{ "[groups tag:Protect=\xc0\xaf]\n", "t.ini:1: bad tag selector "
		    "\"tag:Protect=\xc0\xaf\": the tag value has a control "
		    "character or invalid UTF-8; write [groups tag:KEY=VALUE], "
		    "like [groups tag:Protect=yes]" },
		{ "[groups sg-12345678]\n", "t.ini:1: bad tag selector "
		    "\"sg-12345678\": [groups] selects groups by tag; for one "
		    "group write [group sg-12345678]" },
		{ TAG "[groups tag:Protect=no]\n[groups tag:Protect=yes]\n",
		    "t.ini:3: duplicate section [groups tag:Protect=yes] (first "
		    "at line 1): merge the two" },
		{ TAG "[groups tag: Protect = yes ]\n", "t.ini:2: duplicate "
		    "section [groups tag:Protect=yes] (first at line 1): merge "
		    "the two" },
		{ "[Groups tag:Protect=yes]\n", "t.ini:1: unknown section "
		    "[Groups tag:Protect=yes]: section names are lower case, "
		    "did you mean [groups tag:Protect=yes]?" },
		{ "[groups tag:Name=a ;b]\n", "t.ini:1: ';' after white space "
		    "starts a comment, so this section header has no ']': "
		    "remove the white space before ';'" },
		{ TAG "region = us-east-1\n", "t.ini:2: unknown key 'region' in "
		    "[groups tag:Protect=yes]: a tag section lists its regions, "
		    "did you mean 'regions'?" },
		{ TAG "mode = audit\n", "t.ini:2: unknown key 'mode' in [groups "
		    "tag:Protect=yes]: known keys are regions, account, allow, "
		    "allow_egress, allow_principal, egress, restore, "
		    "baseline" },
		{ TAG "regions = us-east-1 eu-west-1 us-east-1\n", "t.ini:2: bad "
		    "regions \"us-east-1 eu-west-1 us-east-1\": us-east-1 is "
		    "listed twice" },
		{ TAG "regions = us-east-1 Frankfurt\n", "t.ini:2: bad regions "
		    "\"us-east-1 Frankfurt\": \"Frankfurt\" is not a region "
		    "code like us-east-1" },
		{ TAG "regions = us-east-1,eu-west-1\n", "t.ini:2: bad regions "
		    "\"us-east-1,eu-west-1\": separate regions with spaces, "
		    "like us-east-1 eu-west-1" },
		{ TAG "regions = us-east-1, eu-west-1\n", "t.ini:2: bad regions "
		    "\"us-east-1, eu-west-1\": separate regions with spaces, "
		    "like us-east-1 eu-west-1" },
		{ TAG "regions = us-east-1\nregions = eu-west-1\n", "t.ini:3: "
		    "duplicate key 'regions' (first set at line 2): only "
		    "allow, allow_egress and allow_principal may repeat; keep "
		    "one" },
		{ TAG "account = dev\n", "t.ini:2: unknown account 'dev': add an "
		    "[account dev] section" },
		{ TAG "allow_egress = all any any\n", "t.ini:2: allow_egress "
		    "has no effect while egress = ignore (the default): set "
		    "egress = enforce or egress = audit in this section" },
		{ TAG "egress = deny\n", "t.ini:2: bad egress \"deny\": use "
		    "enforce, audit or ignore" },
		{ TAG "restore = maybe\n", "t.ini:2: bad restore \"maybe\": use "
		    "yes or no" },
		{ TAG "allow = tcp 22 10.1.2.3/8\n", "t.ini:2: bad allow pattern "
		    "\"tcp 22 10.1.2.3/8\": 10.1.2.3/8 has host bits set: did "
		    "you mean 10.0.0.0/8?" },
		{ TAG "allow_principal = Admins\n", "t.ini:2: bad "
		    "allow_principal \"Admins\": use an IAM ARN like "
		    "arn:aws:iam::123456789012:role/NAME ('*' matches any "
		    "characters; a service glob starts with '*', like "
		    "*.amazonaws.com)" },
	};

	run_bad(t, SG_ARRAY_LEN(t));
}

static void
test_accounts(void **state)
{
	struct sg_config *cfg;
	const struct sg_account_cfg *a;

	cfg = load(GROUP "account = prod\n"
	    "[account prod]\n"
	    "role_arn = " ROLE "\n"
	    "external_id = Xy_+=,.@:/-9\n"
	    "[account Dev-2_b]\n"
	    "role_arn = arn:aws-us-gov:iam::555566667777:role/ops/team/sgguard"
	    "\n"
	    "[account unused]\n"
	    "role_arn = arn:aws-cn:iam::888899990000:role/a+b=c,d.e@f-g_h\n"
	    "external_id =\n");
	assert_int_equal(cfg->naccounts, 3);
	a = config_find_account(cfg, "prod");
	assert_ptr_equal(a, &cfg->accounts[0]);
	assert_string_equal(a->name, "prod");
	assert_string_equal(a->role_arn, ROLE);
	assert_string_equal(a->account_id, "222233334444");
	assert_string_equal(a->external_id, "Xy_+=,.@:/-9");
	assert_int_equal(a->line, 3);
	a = config_find_account(cfg, "Dev-2_b");
	assert_non_null(a);
	assert_string_equal(a->account_id, "555566667777");
	assert_null(a->external_id);
	/* Not referenced by any group: fine, it may be used later. */
	a = config_find_account(cfg, "unused");
	assert_string_equal(a->account_id, "888899990000");
	assert_null(a->external_id);
	assert_null(config_find_account(cfg, "Prod"));
	assert_null(config_find_account(cfg, "default"));
	config_free(cfg);

	/* The account section may come first; names up to 64. */
	cfg = load("[account "
	    "a123456789b123456789c123456789d123456789e123456789f123456789g123"
	    "]\nrole_arn = " ROLE "\n" GROUP "account = "
	    "a123456789b123456789c123456789d123456789e123456789f123456789g123"
	    "\n");
	assert_int_equal(strlen(cfg->accounts[0].name), 64);
	assert_ptr_equal(config_find_account(cfg, cfg->groups[0].account),
	    &cfg->accounts[0]);
	config_free(cfg);

	/* The longest external id that fits a line, the shortest. */
	cfg = load("[account a]\nrole_arn = " ROLE "\nexternal_id = ab\n"
	    GROUP);
	assert_string_equal(cfg->accounts[0].external_id, "ab");
	config_free(cfg);
}

static void
test_account_errors(void **state)
{
	static const struct bad t[] = {
		{ "[account]\n" GROUP, "t.ini:1: [account] needs a name, like "
		    "[account prod]" },
		{ "[account pr.od]\n" GROUP, "t.ini:1: bad account name "
		    "\"pr.od\": use letters, digits, - and _ (at most 64), like "
		    "[account prod]" },
		{ "[account prod dev]\n" GROUP, "t.ini:1: bad account name "
		    "\"prod dev\": use letters, digits, - and _ (at most 64), "
		    "like [account prod]" },
		{ "[account "
		    "a123456789b123456789c123456789d123456789e123456789f123456789"
		    "g1234]\n" GROUP, "t.ini:1: bad account name "
		    "\"a123456789b123456789c123456789d123456789e123456789f1234567"
		    "89g1234\": use letters, digits, - and _ (at most 64), like "
		    "[account prod]" },
		{ "[account default]\n" GROUP, "t.ini:1: [account default]: the "
		    "name default means the credentials' own account; pick "
		    "another name" },
		{ "[account prod]\nrole_arn = " ROLE "\n[account prod]\n" GROUP,
		    "t.ini:3: duplicate section [account prod] (first at line "
		    "1): merge the two" },
		{ "[ACCOUNT prod]\n" GROUP, "t.ini:1: unknown section [ACCOUNT "
		    "prod]: section names are lower case, did you mean "
		    "[account prod]?" },
		{ "[account prod]\n" GROUP, "t.ini:1: [account prod] has no "
		    "role_arn: add role_arn = arn:aws:iam::ACCOUNT:role/NAME, "
		    "the role sgguard assumes there" },
		{ "[account prod]\nrole_arn =\nexternal_id = abc\n" GROUP,
		    "t.ini:1: [account prod] has no role_arn: add role_arn = "
		    "arn:aws:iam::ACCOUNT:role/NAME, the role sgguard assumes "
		    "there" },
		{ "[account prod]\nrole_arn = " ROLE "\nrole_arn = " ROLE "\n"
		    GROUP, "t.ini:3: duplicate key 'role_arn' (first set at "
		    "line 2): only allow, allow_egress and allow_principal may "
		    "repeat; keep one" },
		{ "[account prod]\nregion = us-east-1\n" GROUP, "t.ini:2: "
		    "unknown key 'region' in [account prod]: known keys are "
		    "role_arn, external_id" },
		{ "[account prod]\nRole_Arn = " ROLE "\n" GROUP, "t.ini:2: "
		    "unknown key 'Role_Arn' in [account prod]: keys are lower "
		    "case, did you mean 'role_arn'?" },
		{ "[account prod]\nrole_arn = arn:aws:sts::222233334444:"
		    "assumed-role/sgguard/s1\n" GROUP, "t.ini:2: bad role_arn "
		    "\"arn:aws:sts::222233334444:assumed-role/sgguard/s1\": "
		    "that is a role session; use the role's ARN, like "
		    "arn:aws:iam::222233334444:role/sgguard" },
		{ "[account a]\nrole_arn = " ROLE "\n[account b]\nrole_arn = "
		    "arn:aws:iam::222233334444:role/other\n" GROUP, "t.ini:4: bad "
		    "role_arn \"arn:aws:iam::222233334444:role/other\": account "
		    "222233334444 is already [account a] (line 1): use one "
		    "[account] section per AWS account" },
		{ "[account prod]\nrole_arn = " ROLE "\nexternal_id = a\n" GROUP,
		    "t.ini:3: bad external_id (value not shown): 1 character; "
		    "use 2 to 1224 letters, digits and _+=,.@:/-" },
		{ "[account prod]\nrole_arn = " ROLE "\nexternal_id = s3cr3t!\n"
		    GROUP, "t.ini:3: bad external_id (value not shown): "
		    "character 7 is not allowed; use 2 to 1224 letters, digits "
		    "and _+=,.@:/-" },
		{ "[account prod]\nrole_arn = " ROLE "\nexternal_id = abc # id\n"
		    GROUP, "t.ini:3: bad external_id (value not shown): "
		    "character 4 is not allowed; use 2 to 1224 letters, digits "
		    "and _+=,.@:/- (comments after a value start with ';', "
		    "not '#')" },
	};
	static const char *const bad_arns[] = {
		"sgguard",
		"arn:aws:iam::222233334444:user/sgguard",
		"arn:aws:iam::22223333444:role/sgguard",
		"arn:aws:iam::2222333344445:role/sgguard",
		"arn:aws:iam::22223333444x:role/sgguard",
		"arn:aws:iam:us-east-1:222233334444:role/sgguard",
		"arn:aws:sts::222233334444:role/sgguard",
		"arn::iam::222233334444:role/sgguard",
		"arn:AWS:iam::222233334444:role/sgguard",
		"arn:aws:iam::222233334444:role/",
		"arn:aws:iam::222233334444:role",
		"arn:aws:iam::222233334444:role//sgguard",
		"arn:aws:iam::222233334444:role/a//sgguard",
		"arn:aws:iam::222233334444:role/a/",
		"arn:aws:iam::222233334444:role/sg guard",
		"arn:aws:iam::222233334444:role/sg*guard",
		"arn:aws:iam::222233334444:role/"
		    "a123456789b123456789c123456789d123456789e123456789f123456789"
		    "g1234",
		"ARN:aws:iam::222233334444:role/sgguard",
	};
	char text[512], want[512];
	size_t i;

	run_bad(t, SG_ARRAY_LEN(t));
	for (i = 0; i < SG_ARRAY_LEN(bad_arns); i++) {
		snprintf(text, sizeof(text), "[account prod]\nrole_arn = %s\n"
		    GROUP, bad_arns[i]);
		snprintf(want, sizeof(want), "t.ini:2: bad role_arn \"%s\": use "
		    "an IAM role ARN like arn:aws:iam::222233334444:role/"
		    "sgguard", bad_arns[i]);
		expect_error(text, want);
	}
}

static void
test_external_id_never_shown(void **state)
{
	struct sg_config *cfg;
	char err[512], *out;

	cfg = load("[account prod]\nrole_arn = " ROLE "\n"
	    "external_id = Very-Private-Id-42\n" GROUP);
	out = summary(cfg);
	assert_null(strstr(out, "Very-Private"));
	assert_non_null(strstr(out, "external id set"));
	free(out);
	config_free(cfg);
	fake_env = NULL;
	assert_int_equal(config_load_string("t.ini", "[account prod]\n"
	    "role_arn = " ROLE "\nexternal_id = Very-Private Id\n" GROUP,
	    env_get, &cfg, err, sizeof(err)), -1);
	assert_null(strstr(err, "Very-Private"));
}

static void
test_issue6_first_error(void **state)
{
	/* Errors found at the end are reported by line, the earliest. */
	expect_error("[account prod]\n" GROUP "account = dev\n",
	    "t.ini:1: [account prod] has no role_arn: add role_arn = "
	    "arn:aws:iam::ACCOUNT:role/NAME, the role sgguard assumes there");
	expect_error(GROUP "account = dev\n" TAG "allow_egress = tcp 1 any\n"
	    "[account prod]\n", "t.ini:2: unknown account 'dev': add an "
	    "[account dev] section");
	expect_error(GROUP "allow_egress = tcp 1 any\n[group sg-12345678]\n"
	    "account = dev\n", "t.ini:2: allow_egress has no effect while "
	    "egress = ignore (the default): set egress = enforce or egress = "
	    "audit in this section");
	/* An error while reading comes first, wherever it is. */
	expect_error(GROUP "account = dev\n[sgguard]\nmode = x\n",
	    "t.ini:4: bad mode \"x\": use enforce or audit");
	/* A tag section is a watched section: no "no group" error. */
	expect_error("[account prod]\nrole_arn = " ROLE "\n", "t.ini:2: "
	    NO_GROUP);
}

static void
test_tag_group(void **state)
{
	struct sg_config *cfg = load(
	    TAG "regions = us-east-1 eu-west-1\naccount = prod\n"
	    "allow = tcp 443 any\negress = enforce\n"
	    "[account prod]\nrole_arn = " ROLE "\n");
	const struct sg_tag_cfg *t = &cfg->tags[0];
	struct sg_group_cfg g;

	assert_int_equal(config_tag_group(t, "sg-0123456789abcdef0",
	    "eu-west-1", &g), 0);
	assert_string_equal(g.id, "sg-0123456789abcdef0");
	assert_ptr_equal(g.region, t->regions[1]);
	assert_ptr_equal(g.allow, t->policy.allow);
	assert_int_equal(g.nallow, 1);
	assert_string_equal(g.account, "prod");
	assert_int_equal(g.egress, SG_EGRESS_ENFORCE);
	assert_ptr_equal(g.tag, t);
	assert_int_equal(g.line, 1);
	/* The template is untouched. */
	assert_string_equal(t->policy.id, "");
	assert_null(t->policy.region);

	assert_int_equal(config_tag_group(t, "sg-0123456789abcdef0",
	    "eu-west-2", &g), -1);
	assert_int_equal(config_tag_group(t, "sg-0123", "us-east-1", &g), -1);
	assert_int_equal(config_tag_group(t, NULL, "us-east-1", &g), -1);
	assert_int_equal(config_tag_group(t, "sg-12345678", NULL, &g), -1);
	assert_int_equal(config_tag_group(NULL, "sg-12345678", "us-east-1",
	    &g), -1);
	/* config_find_group only knows [group] sections. */
	assert_null(config_find_group(cfg, "sg-0123456789abcdef0"));
	config_free(cfg);
}

static void
test_summary_issue6(void **state)
{
	struct sg_config *cfg = load(
	    "[sgguard]\ndrift_interval = 15\n"
	    "[aws]\nregion = eu-west-1\n"
	    "[group sg-0123456789abcdef0]\n"
	    "account = prod\negress = enforce\nrestore = yes\n"
	    "baseline = allow\nallow = tcp 443 0.0.0.0/0\n"
	    "allow_egress = tcp 443 any\n"
	    "allow_principal = arn:aws:iam::222233334444:role/Net\n"
	    "[group sg-12345678]\nrestore = true\n"
	    "[group sg-87654321]\nbaseline = allow\n"
	    "[group sg-abcdef01]\negress = audit\n"
	    "[group sg-abcdef02]\negress = ignore\nrestore = no\n"
	    "baseline = snapshot\naccount = default\n"
	    TAG "regions = us-east-1 eu-west-1\naccount = prod\n"
	    "allow = tcp 443 any\n"
	    "[groups tag:team=web]\negress = enforce\n"
	    "[account prod]\nrole_arn = " ROLE "\nexternal_id = abc123\n"
	    "[account dev]\nrole_arn = arn:aws:iam::555566667777:role/sgguard\n");
	char *out = summary(cfg);

	assert_string_equal(out,
	    "configuration OK: t.ini\n"
	    "mode: enforce; poll every 60 s, lookback 900 s\n"
	    "drift: rules of watched groups read every 15 s\n"
	    "aws: region eu-west-1, credentials from the default chain\n"
	    "account prod: role " ROLE ", external id set\n"
	    "account dev: role arn:aws:iam::555566667777:role/sgguard\n"
	    "notify: off (no topic_arn in [notify]; events are only logged)\n"
	    "groups: 5 in 1 region\n"
	    "  sg-0123456789abcdef0 (eu-west-1, account prod): 1 allow, "
	    "1 allow_egress, 1 allow_principal; egress enforce, restore yes, "
	    "baseline allow\n"
	    "  sg-12345678 (eu-west-1): 0 allow, 0 allow_principal; "
	    "restore yes\n"
	    "  sg-87654321 (eu-west-1): 0 allow, 0 allow_principal; "
	    "baseline allow\n"
	    "  sg-abcdef01 (eu-west-1): 0 allow, 0 allow_egress, "
	    "0 allow_principal; egress audit\n"
	    "  sg-abcdef02 (eu-west-1): 0 allow, 0 allow_principal\n"
	    "groups by tag: 2 sections\n"
	    "  tag:Protect=yes in us-east-1, eu-west-1 (account prod): "
	    "1 allow, 0 allow_principal\n"
	    "  tag:team=web in eu-west-1: 0 allow, 0 allow_egress, "
	    "0 allow_principal; egress enforce\n");
	free(out);
	config_free(cfg);

	/* Only a tag section: no "groups:" line; drift 0 prints nothing. */
	cfg = load("[sgguard]\ndrift_interval = 0\n" TAG);
	out = summary(cfg);
	assert_string_equal(out,
	    "configuration OK: t.ini\n"
	    "mode: enforce; poll every 60 s, lookback 900 s\n"
	    "aws: region us-east-1, credentials from the default chain\n"
	    "notify: off (no topic_arn in [notify]; events are only logged)\n"
	    "groups by tag: 1 section\n"
	    "  tag:Protect=yes in us-east-1: 0 allow, 0 allow_principal\n");
	free(out);
	config_free(cfg);
}

static void
test_many_tags(void **state)
{
	struct sg_buf b;
	struct sg_config *cfg;
	size_t i;

	buf_init(&b);
	for (i = 0; i < 200; i++)
		buf_printf(&b, "[groups tag:k%zu=v]\nregions = us-east-1 "
		    "eu-west-1\nallow = tcp %zu any\naccount = a%zu\n"
		    "[account a%zu]\nrole_arn = arn:aws:iam::%012zu:role/r\n",
		    i, i, i, i, i);
	cfg = load(b.data);
	assert_int_equal(cfg->ntags, 200);
	assert_int_equal(cfg->naccounts, 200);
	for (i = 0; i < 200; i++)
		assert_ptr_equal(cfg->tags[i].policy.tag, &cfg->tags[i]);
	assert_string_equal(cfg->tags[199].policy.account, "a199");
	assert_string_equal(config_find_account(cfg, "a199")->account_id,
	    "000000000199");
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
		cmocka_unit_test(test_summary_dry_run),
		cmocka_unit_test(test_summary_full),
		cmocka_unit_test(test_summary_same_endpoint),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_file_too_big),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_many_groups),
		cmocka_unit_test(test_issue6_defaults),
		cmocka_unit_test(test_drift_interval),
		cmocka_unit_test(test_group_issue6_keys),
		cmocka_unit_test(test_restore_values),
		cmocka_unit_test(test_group_issue6_errors),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_tag_limits),
		cmocka_unit_test(test_tag_errors),
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_account_errors),
		cmocka_unit_test(test_external_id_never_shown),
		cmocka_unit_test(test_issue6_first_error),
		cmocka_unit_test(test_tag_group),
		cmocka_unit_test(test_summary_issue6),
		cmocka_unit_test(test_many_tags),
	};

	FILE *f;
	int rc;

	snprintf(ca_dir, sizeof(ca_dir), "%s/sgguard-test-config-XXXXXX",
	    getenv("TMPDIR") != NULL && strlen(getenv("TMPDIR")) < 30 ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(ca_dir) == NULL)
		return 1;
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", ca_dir);
	snprintf(ca_path2, sizeof(ca_path2), "%s/ca2.pem", ca_dir);
	if ((f = fopen(ca_path, "w")) == NULL || fputs(test_ca, f) < 0 ||
	    fclose(f) != 0 || (f = fopen(ca_path2, "w")) == NULL ||
	    fputs(test_ca, f) < 0 || fclose(f) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(ca_path);
	unlink(ca_path2);
	rmdir(ca_dir);
	return rc;
}
