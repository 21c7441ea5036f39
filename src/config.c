/* config.c: /etc/sgguard.ini, parsed with inih and validated.
 *
 * inih does the parsing, but Debian's build has traps: lines longer than
 * INI_MAX_LINE are split silently, the handler gets no line number, empty
 * sections are never reported, and an indented line continues the previous
 * key. So inih reads through config_reader(), which numbers lines, refuses
 * over-long ones, strips leading white space (no continuations), and
 * handles [section] headers itself. The first error stops the parse.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "rule.h"
#include "util.h"

#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_PREFIX_MAX	40	/* SNS subjects stay under 100 */
#define CONFIG_DEFAULT_REGION	"us-east-1"
#define CONFIG_DEFAULT_PREFIX	"[sgguard]"
#define CONFIG_NKEYS		34	/* entries of config_keys[] */
#define CONFIG_TAG_KEY_MAX	128	/* AWS tag limits, in characters */
#define CONFIG_TAG_VALUE_MAX	256
#define CONFIG_ACCOUNT_MAX	64	/* [account NAME] */
#define CONFIG_EXTID_MIN	2	/* sts:AssumeRole ExternalId */
#define CONFIG_EXTID_MAX	1224
#define CONFIG_OWN_ACCOUNT	"default" /* account = default: the own one */

/* The sections that appear once come before SEC_GROUP (sec_line[]). */
enum config_sec {
	SEC_NONE,
	SEC_SGGUARD,
	SEC_AWS,
	SEC_NOTIFY,
	SEC_GROUP,
	SEC_GROUPS,		/* [groups tag:KEY=VALUE] */
	SEC_ACCOUNT,		/* [account NAME] */
};

static const char *const config_sec_names[] = {
	[SEC_SGGUARD] = "sgguard",
	[SEC_AWS] = "aws",
	[SEC_NOTIFY] = "notify",
};

struct config_parse;
typedef int (*config_setter)(struct config_parse *, const char *);

struct config_key {
	enum config_sec	 sec;
	const char	*name;
	bool		 repeat;
	config_setter	 set;
};

/* Per group, tag or account section: the line where each key was first
 * set (duplicates of keys that may appear once are refused). */
struct config_glines {
	int	 key_line[CONFIG_NKEYS];
};

struct config_parse {
	const char		*name;		/* file name for messages */
	const char		*pos;		/* next unread byte */
	const char		*end;
	int			 lineno;	/* the line inih is on */
	sg_getenv_fn		 env_fn;
	struct sg_config	*cfg;

	enum config_sec		 sec;
	int			 sec_line[SEC_GROUP];
	int			 key_line[CONFIG_NKEYS]; /* other sections */
	struct config_glines	*glines;	/* parallel to cfg->groups */
	struct config_glines	*tlines;	/* parallel to cfg->tags */
	struct config_glines	*alines;	/* parallel to cfg->accounts */
	const char		*value;		/* the value being set */

	bool			 failed;
	char			*err;
	size_t			 errlen;
};

static int	config_set_mode(struct config_parse *, const char *);
static int	config_set_poll(struct config_parse *, const char *);
static int	config_set_lookback(struct config_parse *, const char *);
static int	config_set_state_dir(struct config_parse *, const char *);
static int	config_set_log_level(struct config_parse *, const char *);
static int	config_set_drift(struct config_parse *, const char *);
static int	config_set_region(struct config_parse *, const char *);
static int	config_set_profile(struct config_parse *, const char *);
static int	config_set_endpoint(struct config_parse *, const char *);
static int	config_set_ct_endpoint(struct config_parse *, const char *);
static int	config_set_ec2_endpoint(struct config_parse *, const char *);
static int	config_set_sns_endpoint(struct config_parse *, const char *);
static int	config_set_sts_endpoint(struct config_parse *, const char *);
static int	config_set_ca_file(struct config_parse *, const char *);
static int	config_set_topic_arn(struct config_parse *, const char *);
static int	config_set_prefix(struct config_parse *, const char *);
static int	config_set_group_region(struct config_parse *, const char *);
static int	config_set_allow(struct config_parse *, const char *);
static int	config_set_principal(struct config_parse *, const char *);
static int	config_set_account(struct config_parse *, const char *);
static int	config_set_allow_egress(struct config_parse *, const char *);
static int	config_set_egress(struct config_parse *, const char *);
static int	config_set_restore(struct config_parse *, const char *);
static int	config_set_baseline(struct config_parse *, const char *);
static int	config_set_regions(struct config_parse *, const char *);
static int	config_set_role_arn(struct config_parse *, const char *);
static int	config_set_external_id(struct config_parse *, const char *);

static const struct config_key config_keys[] = {
	{ SEC_SGGUARD, "mode", false, config_set_mode },
	{ SEC_SGGUARD, "poll_interval", false, config_set_poll },
	{ SEC_SGGUARD, "lookback", false, config_set_lookback },
	{ SEC_SGGUARD, "state_dir", false, config_set_state_dir },
	{ SEC_SGGUARD, "log_level", false, config_set_log_level },
	{ SEC_SGGUARD, "drift_interval", false, config_set_drift },
	{ SEC_AWS, "region", false, config_set_region },
	{ SEC_AWS, "profile", false, config_set_profile },
	{ SEC_AWS, "endpoint_url", false, config_set_endpoint },
	{ SEC_AWS, "cloudtrail_endpoint_url", false, config_set_ct_endpoint },
	{ SEC_AWS, "ec2_endpoint_url", false, config_set_ec2_endpoint },
	{ SEC_AWS, "sns_endpoint_url", false, config_set_sns_endpoint },
	{ SEC_AWS, "sts_endpoint_url", false, config_set_sts_endpoint },
	{ SEC_AWS, "ca_file", false, config_set_ca_file },
	{ SEC_NOTIFY, "topic_arn", false, config_set_topic_arn },
	{ SEC_NOTIFY, "subject_prefix", false, config_set_prefix },
	{ SEC_GROUP, "region", false, config_set_group_region },
	{ SEC_GROUP, "account", false, config_set_account },
	{ SEC_GROUP, "allow", true, config_set_allow },
	{ SEC_GROUP, "allow_egress", true, config_set_allow_egress },
	{ SEC_GROUP, "allow_principal", true, config_set_principal },
	{ SEC_GROUP, "egress", false, config_set_egress },
	{ SEC_GROUP, "restore", false, config_set_restore },
	{ SEC_GROUP, "baseline", false, config_set_baseline },
	/* A tag section: the same policy keys, regions instead of region. */
	{ SEC_GROUPS, "regions", false, config_set_regions },
	{ SEC_GROUPS, "account", false, config_set_account },
	{ SEC_GROUPS, "allow", true, config_set_allow },
	{ SEC_GROUPS, "allow_egress", true, config_set_allow_egress },
	{ SEC_GROUPS, "allow_principal", true, config_set_principal },
	{ SEC_GROUPS, "egress", false, config_set_egress },
	{ SEC_GROUPS, "restore", false, config_set_restore },
	{ SEC_GROUPS, "baseline", false, config_set_baseline },
	{ SEC_ACCOUNT, "role_arn", false, config_set_role_arn },
	{ SEC_ACCOUNT, "external_id", false, config_set_external_id },
};
_Static_assert(SG_ARRAY_LEN(config_keys) == CONFIG_NKEYS,
    "CONFIG_NKEYS must match config_keys[]");

static void
config_error(struct config_parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error as "FILE:LINE: message"; line 0 leaves it out. */
static void
config_error(struct config_parse *ps, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err == NULL || ps->errlen == 0)
		return;
	if (line > 0)
		snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->name, line, msg);
	else
		snprintf(ps->err, ps->errlen, "%s: %s", ps->name, msg);
}

/*
 * A bad value: `bad KEY "VALUE": what to do`. A '#' after white space is
 * not a comment for inih; say so, it is the likely cause.
 */
static int
config_bad(struct config_parse *ps, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
config_comment_hint(const char *v)
{
	const char *h = strchr(v, '#');

	return h != NULL && h > v && (h[-1] == ' ' || h[-1] == '\t') ?
	    " (comments after a value start with ';', not '#')" : "";
}

static int
config_bad(struct config_parse *ps, const char *key, const char *fmt, ...)
{
	const char *v = ps->value != NULL ? ps->value : "";
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	config_error(ps, ps->lineno, "bad %s \"%s\": %s%s", key, v, why,
	    config_comment_hint(v));
	return -1;
}

/* Strict decimal in min..max: digits only, no sign, no junk, no overflow. */
static int
config_int(const char *s, long min, long max, int *out)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = (int)v;
	return 0;
}

static bool
config_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

static bool
config_group_id_ok(const char *s)
{
	size_t n;

	if (strncmp(s, "sg-", 3) != 0)
		return false;
	n = strlen(s + 3);
	return (n == 8 || n == 17) && config_lower_hex(s + 3, n);
}

/* Region code: lower-case letters, digits and single dashes (us-east-1). */
static bool
config_region_ok(const char *s)
{
	size_t i, n = strlen(s), digits;
	const char *last;

	if (n < 3 || n > 32 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '-' ||
	    strchr(s, '-') == NULL || strstr(s, "--") != NULL)
		return false;
	/* Every region code is words and a number: us-east-1,
	 * us-gov-west-1, ap-southeast-4 (so eu-west1 is a typo). */
	last = strrchr(s, '-');
	digits = strspn(last + 1, "0123456789");
	if (digits == 0 || digits > 2 || last[1 + digits] != '\0')
		return false;
	for (i = 0; s + i < last; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return true;
}

static bool
config_printable(const char *s, bool space_ok)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
			if (!(space_ok && *s == ' '))
				return false;
		}
	return true;
}

static bool
config_url_ok(const char *s)
{
	size_t skip;

	if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	return s[skip] != '\0' && s[skip] != '/' && config_printable(s, false);
}

/* arn:PARTITION:sns:REGION:ACCOUNT:NAME, ACCOUNT 12 digits. */
static bool
config_topic_ok(const char *s)
{
	const char *f[6], *p = s;
	char region[40];
	size_t len[6], i;

	for (i = 0; i < 6; i++) {
		f[i] = p;
		if (i < 5) {
			if ((p = strchr(p, ':')) == NULL)
				return false;
			len[i] = (size_t)(p - f[i]);
			p++;
		} else
			len[i] = strlen(p);
	}
	if (len[0] != 3 || strncmp(f[0], "arn", 3) != 0 || len[1] == 0 ||
	    len[2] != 3 || strncmp(f[2], "sns", 3) != 0 || len[4] != 12 ||
	    len[5] == 0 || len[5] > 256)
		return false;
	for (i = 0; i < len[1]; i++)
		if (!((f[1][i] >= 'a' && f[1][i] <= 'z') || f[1][i] == '-'))
			return false;
	if (len[3] >= sizeof(region))
		return false;
	memcpy(region, f[3], len[3]);
	region[len[3]] = '\0';
	if (!config_region_ok(region))
		return false;
	for (i = 0; i < 12; i++)
		if (f[4][i] < '0' || f[4][i] > '9')
			return false;
	for (i = 0; i < len[5]; i++)
		if (!((f[5][i] >= 'a' && f[5][i] <= 'z') ||
		    (f[5][i] >= 'A' && f[5][i] <= 'Z') ||
		    (f[5][i] >= '0' && f[5][i] <= '9') || f[5][i] == '-' ||
		    f[5][i] == '_'))
			return false;
	return true;
}

/*
 * Tag text: valid UTF-8 without control characters (C0, DEL, C1); spaces
 * are fine. *nchars is the number of characters (code points), which is
 * what AWS's tag limits count.
 */
static bool
config_tag_text_ok(const char *s, size_t *nchars)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;
	size_t n = 0;
	int more, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return false;
			p++;
			n++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			c = *p & 0x1f;
			more = 1;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			c = *p & 0x0f;
			more = 2;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			c = *p & 0x07;
			more = 3;
		} else
			return false;
		for (i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
		if ((more == 2 && c < 0x800) || (more == 3 && c < 0x10000) ||
		    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff ||
		    (c >= 0x80 && c <= 0x9f))
			return false;
		p += more + 1;
		n++;
	}
	*nchars = n;
	return true;
}

/* [account NAME] and account = NAME: letters, digits, '-', '_'. */
static bool
config_account_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > CONFIG_ACCOUNT_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return false;
	return true;
}

/* IAM role names and sts:AssumeRole external ids: [\w+=,.@-] (ids also
 * ':' and '/'). */
static bool
config_iam_char(char c, bool extid)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("_+=,.@-", c) != NULL ||
	    (extid && (c == ':' || c == '/'));
}

/*
 * arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME: PARTITION lower-case
 * letters and '-', ACCOUNT 12 digits, PATH segments printable ASCII
 * without spaces, NAME 1..64 of [\w+=,.@-]. account (13 bytes) gets the
 * 12 digits.
 */
static bool
config_role_arn_ok(const char *s, char *account)
{
	const char *p, *name;
	size_t i, n = strlen(s);

	if (n < 20 || n > 2048 || strncmp(s, "arn:", 4) != 0)
		return false;
	for (p = s + 4; *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '-'))
			return false;
	if (p == s + 4 || strncmp(p, ":iam::", 6) != 0)
		return false;
	p += 6;
	for (i = 0; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	if (strncmp(p + 12, ":role/", 6) != 0)
		return false;
	memcpy(account, p, 12);
	account[12] = '\0';
	p += 18;
	if ((name = strrchr(p, '/')) != NULL) {
		/* The path between role/ and /NAME: non-empty segments, no
		 * spaces or controls. */
		if (name == p || *p == '/')
			return false;
		for (; p < name; p++)
			if ((unsigned char)*p < 0x21 ||
			    (unsigned char)*p > 0x7e || (*p == '/' &&
			    p[1] == '/'))
				return false;
		name++;
	} else
		name = p;
	n = strlen(name);
	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!config_iam_char(name[i], false))
			return false;
	return true;
}

/* Can we read path as a file? 0, or -1 with why (strerror or a reason). */
static int
config_readable(const char *path, const char **why)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return -1;
	}
	return 0;
}

/* Replace *slot with a copy of v; "" means "not set" (the default). */
static void
config_setstr(char **slot, const char *v)
{
	free(*slot);
	*slot = *v != '\0' ? xstrdup(v) : NULL;
}

static struct sg_group_cfg *
config_cur_group(struct config_parse *ps)
{
	return &ps->cfg->groups[ps->cfg->ngroups - 1];
}

static struct sg_tag_cfg *
config_cur_tag(struct config_parse *ps)
{
	return &ps->cfg->tags[ps->cfg->ntags - 1];
}

static struct sg_account_cfg *
config_cur_account(struct config_parse *ps)
{
	return &ps->cfg->accounts[ps->cfg->naccounts - 1];
}

/* The policy being read: a [group]'s own, or a tag section's template. */
static struct sg_group_cfg *
config_cur_policy(struct config_parse *ps)
{
	if (ps->sec == SEC_GROUPS)
		return &config_cur_tag(ps)->policy;
	return config_cur_group(ps);
}

static int
config_set_mode(struct config_parse *ps, const char *v)
{
	if (*v == '\0' || strcmp(v, "enforce") == 0)
		ps->cfg->mode = SG_MODE_ENFORCE;
	else if (strcmp(v, "audit") == 0)
		ps->cfg->mode = SG_MODE_AUDIT;
	else
		return config_bad(ps, "mode", "use enforce or audit");
	return 0;
}

static int
config_set_poll(struct config_parse *ps, const char *v)
{
	if (*v == '\0')
		ps->cfg->poll_interval = 60;
	else if (config_int(v, 5, 3600, &ps->cfg->poll_interval) == -1)
		return config_bad(ps, "poll_interval", "use a whole number of "
		    "seconds from 5 to 3600");
	return 0;
}

static int
config_set_lookback(struct config_parse *ps, const char *v)
{
	if (*v == '\0')
		ps->cfg->lookback = 900;
	else if (config_int(v, 60, 86400, &ps->cfg->lookback) == -1)
		return config_bad(ps, "lookback", "use a whole number of "
		    "seconds from 60 to 86400");
	return 0;
}

static int
config_set_state_dir(struct config_parse *ps, const char *v)
{
	/* Under systemd the working directory is /: relative means surprise. */
	if (*v != '\0' && (v[0] != '/' || !config_printable(v, true)))
		return config_bad(ps, "state_dir", "use an absolute path like "
		    "/var/lib/sgguard");
	config_setstr(&ps->cfg->state_dir, v);
	return 0;
}

static int
config_set_log_level(struct config_parse *ps, const char *v)
{
	if (*v == '\0') {
		ps->cfg->log_level = LOG_INFO;
		ps->cfg->log_level_set = false;
		return 0;
	}
	if (log_level_parse(v, &ps->cfg->log_level) == -1)
		return config_bad(ps, "log_level", "use error, warning, info "
		    "or debug");
	ps->cfg->log_level_set = true;
	return 0;
}

static int
config_set_drift(struct config_parse *ps, const char *v)
{
	int n;

	if (*v == '\0') {
		ps->cfg->drift_interval = 0;
		return 0;
	}
	if (config_int(v, 0, 3600, &n) == -1 || (n > 0 && n < 5))
		return config_bad(ps, "drift_interval", "use 0 (off) or a "
		    "whole number of seconds from 5 to 3600");
	ps->cfg->drift_interval = n;
	return 0;
}

static int
config_set_region(struct config_parse *ps, const char *v)
{
	if (*v != '\0' && !config_region_ok(v))
		return config_bad(ps, "region", "use a region code like "
		    "us-east-1");
	config_setstr(&ps->cfg->region, v);
	return 0;
}

static int
config_set_profile(struct config_parse *ps, const char *v)
{
	if (!config_printable(v, false))
		return config_bad(ps, "profile", "use the name of a profile in "
		    "~/.aws/config (no spaces)");
	config_setstr(&ps->cfg->profile, v);
	/* Only a profile of the file beats environment keys; -t points
	 * here when it cannot work. */
	ps->cfg->profile_line = ps->cfg->profile != NULL ? ps->lineno : 0;
	return 0;
}

static int
config_set_url(struct config_parse *ps, const char *key, char **slot,
    const char *v)
{
	if (*v != '\0' && !config_url_ok(v))
		return config_bad(ps, key, "use a URL starting with http:// or "
		    "https://, like https://ec2.us-east-1.amazonaws.com");
	config_setstr(slot, v);
	return 0;
}

static int
config_set_endpoint(struct config_parse *ps, const char *v)
{
	return config_set_url(ps, "endpoint_url", &ps->cfg->endpoint_url, v);
}

static int
config_set_ct_endpoint(struct config_parse *ps, const char *v)
{
	return config_set_url(ps, "cloudtrail_endpoint_url",
	    &ps->cfg->cloudtrail_endpoint_url, v);
}

static int
config_set_ec2_endpoint(struct config_parse *ps, const char *v)
{
	return config_set_url(ps, "ec2_endpoint_url",
	    &ps->cfg->ec2_endpoint_url, v);
}

static int
config_set_sns_endpoint(struct config_parse *ps, const char *v)
{
	return config_set_url(ps, "sns_endpoint_url",
	    &ps->cfg->sns_endpoint_url, v);
}

static int
config_set_sts_endpoint(struct config_parse *ps, const char *v)
{
	return config_set_url(ps, "sts_endpoint_url",
	    &ps->cfg->sts_endpoint_url, v);
}

static int
config_set_ca_file(struct config_parse *ps, const char *v)
{
	const char *why;

	char pem[512];

	if (*v != '\0' && config_readable(v, &why) == -1)
		return config_bad(ps, "ca_file", "%s; give a readable PEM CA "
		    "bundle", why);
	/* Found now, not as an exit 1 (and restarts) at start-up. */
	if (*v != '\0' && http_ca_file_check(v, pem, sizeof(pem)) == -1)
		return config_bad(ps, "ca_file", "%s; give a readable PEM CA "
		    "bundle", pem);
	config_setstr(&ps->cfg->ca_file, v);
	return 0;
}

static int
config_set_topic_arn(struct config_parse *ps, const char *v)
{
	size_t n = strlen(v);

	if (n > 5 && strcmp(v + n - 5, ".fifo") == 0)
		return config_bad(ps, "topic_arn", "FIFO topics are not "
		    "supported; use a standard SNS topic");
	if (*v != '\0' && !config_topic_ok(v))
		return config_bad(ps, "topic_arn", "use "
		    "arn:aws:sns:REGION:ACCOUNT:NAME, like "
		    "arn:aws:sns:us-east-1:123456789012:sgguard-alerts");
	config_setstr(&ps->cfg->topic_arn, v);
	return 0;
}

static int
config_set_prefix(struct config_parse *ps, const char *v)
{
	if (strlen(v) > CONFIG_PREFIX_MAX || !config_printable(v, true))
		return config_bad(ps, "subject_prefix", "use at most %d "
		    "printable ASCII characters (SNS subjects are short)",
		    CONFIG_PREFIX_MAX);
	config_setstr(&ps->cfg->subject_prefix, v);
	return 0;
}

static int
config_set_group_region(struct config_parse *ps, const char *v)
{
	struct sg_group_cfg *g = config_cur_group(ps);

	if (*v != '\0' && !config_region_ok(v))
		return config_bad(ps, "region", "use a region code like "
		    "us-east-1");
	config_setstr(&g->region, v);
	return 0;
}

/* allow and allow_egress: one array, told apart by the egress flag. */
static int
config_add_pattern(struct config_parse *ps, const char *v, bool egress)
{
	struct sg_group_cfg *g = config_cur_policy(ps);
	struct sg_rule r;
	char why[256];

	if (rule_pattern_parse(v, &r, why, sizeof(why)) == -1)
		return config_bad(ps, egress ? "allow_egress pattern" :
		    "allow pattern", "%s", why);
	r.egress = egress;
	g->allow = xreallocarray(g->allow, g->nallow + 1, sizeof(*g->allow));
	g->allow[g->nallow++] = r;
	if (egress)
		g->nallow_egress++;
	return 0;
}

static int
config_set_allow(struct config_parse *ps, const char *v)
{
	return config_add_pattern(ps, v, false);
}

static int
config_set_allow_egress(struct config_parse *ps, const char *v)
{
	return config_add_pattern(ps, v, true);
}

/*
 * An ARN glob that can never match a caller (a principal is
 * arn:PARTITION:iam::ACCOUNT:root|user/...|role/... or
 * arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION|federated-user/...)
 * is a typo that would revert the allowed team's changes without a word.
 * Only the parts before a '*' are judged: a glob may span them. NULL when
 * fine, else why.
 */
static const char *
config_principal_arn_why(const char *v)
{
	const char *f[6], *p = v, *star = strchr(v, '*');
	size_t i, n;

	for (i = 0; i < 6; i++) {
		f[i] = p;
		if (i == 5)
			break;
		if ((p = strchr(p, ':')) == NULL)
			return star != NULL ? NULL : "an ARN has six parts: "
			    "arn:aws:iam::ACCOUNT:RESOURCE";
		p++;
	}
	/* f[1] partition .. f[5] resource; each ends at the next ':'. */
	if (star != NULL && star < f[5])
		return NULL;
	n = (size_t)(f[3] - f[2] - 1);
	if (!((n == 3 && strncmp(f[2], "iam", 3) == 0) ||
	    (n == 3 && strncmp(f[2], "sts", 3) == 0)))
		return "callers are iam or sts ARNs "
		    "(arn:aws:iam::ACCOUNT:role/NAME, arn:aws:sts::ACCOUNT:"
		    "assumed-role/NAME/SESSION)";
	if (f[4] - f[3] != 1)
		return "IAM and STS ARNs have no region: arn:aws:iam::ACCOUNT:"
		    "...";
	n = (size_t)(f[5] - f[4] - 1);
	if (n != 12 || strspn(f[4], "0123456789") != 12)
		return "the account is 12 digits (or '*')";
	if (star != NULL)
		return NULL;
	if (strncmp(f[2], "iam", 3) == 0) {
		if (strcmp(f[5], "root") != 0 &&
		    strncmp(f[5], "user/", 5) != 0 &&
		    strncmp(f[5], "role/", 5) != 0)
			return "an IAM caller is root, user/NAME or role/NAME";
	} else if (strncmp(f[5], "assumed-role/", 13) == 0) {
		if (strchr(f[5] + 13, '/') == NULL)
			return "an assumed-role ARN ends with the session: "
			    "assumed-role/ROLE/SESSION (for every session, "
			    "write the role's ARN arn:aws:iam::ACCOUNT:role/"
			    "ROLE, or assumed-role/ROLE/*)";
	} else if (strncmp(f[5], "federated-user/", 15) != 0)
		return "an STS caller is assumed-role/ROLE/SESSION or "
		    "federated-user/NAME";
	return NULL;
}

static int
config_set_principal(struct config_parse *ps, const char *v)
{
	struct sg_group_cfg *g = config_cur_policy(ps);
	const char *why;

	/* userIdentity ARNs always start with arn:; anything else never
	 * matches and is most likely a bare role name. */
	if (!config_printable(v, false) || (strncmp(v, "arn:", 4) != 0 &&
	    v[0] != '*'))
		return config_bad(ps, "allow_principal", "use an IAM ARN like "
		    "arn:aws:iam::123456789012:role/NAME ('*' matches any "
		    "characters; a service glob starts with '*', like "
		    "*.amazonaws.com)");
	if (strncmp(v, "arn:", 4) == 0 &&
	    (why = config_principal_arn_why(v)) != NULL)
		return config_bad(ps, "allow_principal", "%s", why);
	g->principals = xreallocarray(g->principals, g->nprincipals + 1,
	    sizeof(*g->principals));
	g->principals[g->nprincipals++] = xstrdup(v);
	return 0;
}

/* account = NAME: checked against the [account] sections at the end, as
 * they may come later in the file. "default" is the own account. */
static int
config_set_account(struct config_parse *ps, const char *v)
{
	struct sg_group_cfg *g = config_cur_policy(ps);

	if (*v != '\0' && !config_account_name_ok(v))
		return config_bad(ps, "account", "use the NAME of an [account "
		    "NAME] section (letters, digits, - and _, at most %d)",
		    CONFIG_ACCOUNT_MAX);
	if (strcmp(v, CONFIG_OWN_ACCOUNT) == 0)
		v = "";
	config_setstr(&g->account, v);
	return 0;
}

static int
config_set_egress(struct config_parse *ps, const char *v)
{
	struct sg_group_cfg *g = config_cur_policy(ps);

	if (*v == '\0' || strcmp(v, "ignore") == 0)
		g->egress = SG_EGRESS_IGNORE;
	else if (strcmp(v, "audit") == 0)
		g->egress = SG_EGRESS_AUDIT;
	else if (strcmp(v, "enforce") == 0)
		g->egress = SG_EGRESS_ENFORCE;
	else
		return config_bad(ps, "egress", "use enforce, audit or ignore");
	return 0;
}

static int
config_set_restore(struct config_parse *ps, const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	struct sg_group_cfg *g = config_cur_policy(ps);
	size_t i;

	if (*v == '\0') {
		g->restore = false;
		return 0;
	}
	for (i = 0; i < SG_ARRAY_LEN(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			g->restore = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			g->restore = false;
			return 0;
		}
	}
	return config_bad(ps, "restore", "use yes or no");
}

static int
config_set_baseline(struct config_parse *ps, const char *v)
{
	struct sg_group_cfg *g = config_cur_policy(ps);

	if (*v == '\0' || strcmp(v, "snapshot") == 0)
		g->baseline = SG_BASELINE_SNAPSHOT;
	else if (strcmp(v, "allow") == 0)
		g->baseline = SG_BASELINE_ALLOW;
	else
		return config_bad(ps, "baseline", "use snapshot or allow");
	return 0;
}

static void
config_free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* regions = us-east-1 eu-west-1: white space separated, no duplicates. */
static int
config_set_regions(struct config_parse *ps, const char *v)
{
	struct sg_tag_cfg *t = config_cur_tag(ps);
	char *copy, *tok, *save = NULL, **list = NULL;
	size_t n = 0, i;
	int rc = 0;

	copy = xstrdup(v);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (!config_region_ok(tok)) {
			if (strchr(tok, ',') != NULL)
				rc = config_bad(ps, "regions", "separate "
				    "regions with spaces, like us-east-1 "
				    "eu-west-1");
			else
				rc = config_bad(ps, "regions", "\"%s\" is not "
				    "a region code like us-east-1", tok);
			break;
		}
		for (i = 0; i < n; i++)
			if (strcmp(list[i], tok) == 0)
				break;
		if (i < n) {
			rc = config_bad(ps, "regions", "%s is listed twice",
			    tok);
			break;
		}
		list = xreallocarray(list, n + 1, sizeof(*list));
		list[n++] = xstrdup(tok);
	}
	free(copy);
	if (rc == -1) {
		config_free_list(list, n);
		return -1;
	}
	/* Empty: the default, the [aws] region (filled in at the end). */
	config_free_list(t->regions, t->nregions);
	t->regions = list;
	t->nregions = n;
	return 0;
}

static int
config_set_role_arn(struct config_parse *ps, const char *v)
{
	struct sg_account_cfg *a = config_cur_account(ps);
	char id[13];
	size_t i;

	if (*v == '\0') {
		/* The default is none: reported at the end as missing. */
		config_setstr(&a->role_arn, v);
		a->account_id[0] = '\0';
		return 0;
	}
	if (!config_role_arn_ok(v, id)) {
		if (strstr(v, ":assumed-role/") != NULL)
			return config_bad(ps, "role_arn", "that is a role "
			    "session; use the role's ARN, like "
			    "arn:aws:iam::222233334444:role/sgguard");
		return config_bad(ps, "role_arn", "use an IAM role ARN like "
		    "arn:aws:iam::222233334444:role/sgguard");
	}
	/* Two names for one account would watch its groups twice. */
	for (i = 0; i + 1 < ps->cfg->naccounts; i++)
		if (strcmp(ps->cfg->accounts[i].account_id, id) == 0)
			return config_bad(ps, "role_arn", "account %s is "
			    "already [account %s] (line %d): use one [account] "
			    "section per AWS account", id,
			    ps->cfg->accounts[i].name,
			    ps->cfg->accounts[i].line);
	config_setstr(&a->role_arn, v);
	memcpy(a->account_id, id, sizeof(a->account_id));
	return 0;
}

/* Not a secret to AWS, but kept out of messages and the summary all the
 * same: errors say where it is wrong, not what it is. */
static int
config_set_external_id(struct config_parse *ps, const char *v)
{
	struct sg_account_cfg *a = config_cur_account(ps);
	size_t n = strlen(v), i;

	for (i = 0; i < n; i++)
		if (!config_iam_char(v[i], true)) {
			config_error(ps, ps->lineno, "bad external_id (value not "
			    "shown): character %zu is not allowed; use %d to %d "
			    "letters, digits and _+=,.@:/-%s", i + 1,
			    CONFIG_EXTID_MIN, CONFIG_EXTID_MAX,
			    config_comment_hint(v));
			return -1;
		}
	if (n > 0 && (n < CONFIG_EXTID_MIN || n > CONFIG_EXTID_MAX)) {
		config_error(ps, ps->lineno, "bad external_id (value not shown): "
		    "%zu character%s; use %d to %d letters, digits and "
		    "_+=,.@:/-", n, n == 1 ? "" : "s", CONFIG_EXTID_MIN,
		    CONFIG_EXTID_MAX);
		return -1;
	}
	sg_free_secret(a->external_id);
	a->external_id = n > 0 ? xstrdup(v) : NULL;
	return 0;
}

static const char *
config_sec_label(struct config_parse *ps, char *buf, size_t size)
{
	if (ps->sec == SEC_GROUP)
		snprintf(buf, size, "[group %s]", config_cur_group(ps)->id);
	else if (ps->sec == SEC_GROUPS)
		snprintf(buf, size, "[groups tag:%s=%s]", config_cur_tag(ps)->key,
		    config_cur_tag(ps)->value);
	else if (ps->sec == SEC_ACCOUNT)
		snprintf(buf, size, "[account %s]", config_cur_account(ps)->name);
	else
		snprintf(buf, size, "[%s]", config_sec_names[ps->sec]);
	return buf;
}

static void
config_unknown_key(struct config_parse *ps, const char *name)
{
	struct sg_buf known;
	const char *hint = NULL;
	char label[512];
	size_t i;

	buf_init(&known);
	for (i = 0; i < SG_ARRAY_LEN(config_keys); i++) {
		if (config_keys[i].sec != ps->sec)
			continue;
		if (strcasecmp(config_keys[i].name, name) == 0)
			hint = config_keys[i].name;
		buf_printf(&known, "%s%s", known.len ? ", " : "",
		    config_keys[i].name);
	}
	config_sec_label(ps, label, sizeof(label));
	/* The one key that differs between [group] and [groups]. */
	if (ps->sec == SEC_GROUPS && strcmp(name, "region") == 0)
		config_error(ps, ps->lineno, "unknown key 'region' in %s: a tag "
		    "section lists its regions, did you mean 'regions'?", label);
	else if (ps->sec == SEC_GROUP && strcmp(name, "regions") == 0)
		config_error(ps, ps->lineno, "unknown key 'regions' in %s: a "
		    "group is in one region, did you mean 'region'?", label);
	else if (hint != NULL)
		config_error(ps, ps->lineno, "unknown key '%s' in %s: keys are "
		    "lower case, did you mean '%s'?", name, label, hint);
	else
		config_error(ps, ps->lineno, "unknown key '%s' in %s: known "
		    "keys are %s", name, label, known.data != NULL ?
		    known.data : "");
	buf_free(&known);
}

/* inih calls this for every "key = value"; the section is ours. */
static int
config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct config_parse *ps = arg;
	const struct config_key *k = NULL;
	int *line;
	size_t i;

	if (ps->failed)
		return 0;
	if (ps->sec == SEC_NONE) {
		config_error(ps, ps->lineno, "key '%s' is outside any section: "
		    "put it under [sgguard], [aws], [notify] or "
		    "[group sg-ID]", name);
		return 0;
	}
	for (i = 0; i < SG_ARRAY_LEN(config_keys); i++)
		if (config_keys[i].sec == ps->sec &&
		    strcmp(config_keys[i].name, name) == 0) {
			k = &config_keys[i];
			break;
		}
	if (k == NULL) {
		config_unknown_key(ps, name);
		return 0;
	}
	switch (ps->sec) {
	case SEC_GROUP:
		line = &ps->glines[ps->cfg->ngroups - 1].key_line[i];
		break;
	case SEC_GROUPS:
		line = &ps->tlines[ps->cfg->ntags - 1].key_line[i];
		break;
	case SEC_ACCOUNT:
		line = &ps->alines[ps->cfg->naccounts - 1].key_line[i];
		break;
	default:
		line = &ps->key_line[i];
		break;
	}
	if (*line != 0 && !k->repeat) {
		config_error(ps, ps->lineno, "duplicate key '%s' (first set at "
		    "line %d): only allow, allow_egress and allow_principal may "
		    "repeat; keep one", name, *line);
		return 0;
	}
	if (*line == 0)
		*line = ps->lineno;
	ps->value = value;
	if (k->set(ps, value) == -1)
		return 0;
	ps->value = NULL;
	return 1;
}

static void
config_group_section(struct config_parse *ps, const char *id)
{
	struct sg_config *cfg = ps->cfg;
	struct sg_group_cfg *g;
	char lower[32];
	size_t i;

	if (*id == '\0') {
		config_error(ps, ps->lineno, "[group] needs a security group "
		    "id, like [group sg-0123456789abcdef0]");
		return;
	}
	if (strncmp(id, "tag:", 4) == 0) {
		config_error(ps, ps->lineno, "bad group id \"%s\": to watch the "
		    "groups carrying a tag, write [groups %s]", id, id);
		return;
	}
	if (!config_group_id_ok(id)) {
		for (i = 0; i < sizeof(lower) - 1 && id[i] != '\0'; i++)
			lower[i] = (id[i] >= 'A' && id[i] <= 'Z') ?
			    (char)(id[i] - 'A' + 'a') : id[i];
		lower[i] = '\0';
		if (strlen(id) < sizeof(lower) && config_group_id_ok(lower))
			config_error(ps, ps->lineno, "bad group id \"%s\": "
			    "ids are lower case, did you mean [group %s]?",
			    id, lower);
		else
			config_error(ps, ps->lineno, "bad group id \"%s\": use "
			    "sg- followed by 8 or 17 lower-case hex digits, "
			    "like sg-0123456789abcdef0", id);
		return;
	}
	for (i = 0; i < cfg->ngroups; i++)
		if (strcmp(cfg->groups[i].id, id) == 0) {
			config_error(ps, ps->lineno, "duplicate section "
			    "[group %s] (first at line %d): merge the two",
			    id, cfg->groups[i].line);
			return;
		}
	cfg->groups = xreallocarray(cfg->groups, cfg->ngroups + 1,
	    sizeof(*cfg->groups));
	ps->glines = xreallocarray(ps->glines, cfg->ngroups + 1,
	    sizeof(*ps->glines));
	memset(&ps->glines[cfg->ngroups], 0, sizeof(*ps->glines));
	g = &cfg->groups[cfg->ngroups++];
	memset(g, 0, sizeof(*g));
	sg_strlcpy(g->id, id, sizeof(g->id));
	g->line = ps->lineno;
	ps->sec = SEC_GROUP;
}

static int
config_bad_selector(struct config_parse *ps, const char *sel, const char *why)
{
	config_error(ps, ps->lineno, "bad tag selector \"%s\": %s; write "
	    "[groups tag:KEY=VALUE], like [groups tag:Protect=yes]", sel, why);
	return -1;
}

/*
 * [groups tag:KEY=VALUE]. KEY ends at the first '=' (so it cannot hold
 * one; VALUE can); white space around either is dropped. A key alone
 * ("any value") is refused: a forgotten value would silently widen what
 * is guarded (Protect=no as well as Protect=yes).
 */
static void
config_tags_section(struct config_parse *ps, const char *sel)
{
	struct sg_config *cfg = ps->cfg;
	struct sg_tag_cfg *t;
	char *copy, *key, *value, *eq;
	size_t nk, nv, i;

	if (*sel == '\0') {
		config_error(ps, ps->lineno, "[groups] needs a tag selector, "
		    "like [groups tag:Protect=yes]");
		return;
	}
	if (config_group_id_ok(sel)) {
		config_error(ps, ps->lineno, "bad tag selector \"%s\": [groups] "
		    "selects groups by tag; for one group write [group %s]",
		    sel, sel);
		return;
	}
	if (strncmp(sel, "tag:", 4) != 0) {
		config_bad_selector(ps, sel, "it does not start with "
		    "\"tag:\"");
		return;
	}
	copy = xstrdup(sel + 4);
	if ((eq = strchr(copy, '=')) == NULL) {
		config_bad_selector(ps, sel, "no =VALUE (a tag key alone, "
		    "matching any value, is not supported)");
		goto out;
	}
	*eq = '\0';
	key = sg_trim(copy);
	value = sg_trim(eq + 1);
	if (*key == '\0')
		config_bad_selector(ps, sel, "the tag key is empty");
	else if (*value == '\0')
		config_bad_selector(ps, sel, "the tag value is empty");
	else if (!config_tag_text_ok(key, &nk))
		config_bad_selector(ps, sel, "the tag key has a control "
		    "character or invalid UTF-8");
	else if (!config_tag_text_ok(value, &nv))
		config_bad_selector(ps, sel, "the tag value has a control "
		    "character or invalid UTF-8");
	else if (nk > CONFIG_TAG_KEY_MAX)
		config_bad_selector(ps, sel, "the tag key is longer than 128 "
		    "characters");
	else if (nv > CONFIG_TAG_VALUE_MAX)
		config_bad_selector(ps, sel, "the tag value is longer than 256 "
		    "characters");
	if (ps->failed)
		goto out;
	for (i = 0; i < cfg->ntags; i++)
		if (strcmp(cfg->tags[i].key, key) == 0 &&
		    sg_streq(cfg->tags[i].value, value)) {
			config_error(ps, ps->lineno, "duplicate section "
			    "[groups tag:%s=%s] (first at line %d): merge the "
			    "two", key, value, cfg->tags[i].line);
			goto out;
		}
	cfg->tags = xreallocarray(cfg->tags, cfg->ntags + 1,
	    sizeof(*cfg->tags));
	ps->tlines = xreallocarray(ps->tlines, cfg->ntags + 1,
	    sizeof(*ps->tlines));
	memset(&ps->tlines[cfg->ntags], 0, sizeof(*ps->tlines));
	t = &cfg->tags[cfg->ntags++];
	memset(t, 0, sizeof(*t));
	t->key = xstrdup(key);
	t->value = xstrdup(value);
	t->line = t->policy.line = ps->lineno;
	ps->sec = SEC_GROUPS;
 out:
	free(copy);
}

/* [account NAME] */
static void
config_account_section(struct config_parse *ps, const char *name)
{
	struct sg_config *cfg = ps->cfg;
	struct sg_account_cfg *a;
	size_t i;

	if (*name == '\0') {
		config_error(ps, ps->lineno, "[account] needs a name, like "
		    "[account prod]");
		return;
	}
	if (!config_account_name_ok(name)) {
		config_error(ps, ps->lineno, "bad account name \"%s\": use "
		    "letters, digits, - and _ (at most %d), like [account prod]",
		    name, CONFIG_ACCOUNT_MAX);
		return;
	}
	if (strcmp(name, CONFIG_OWN_ACCOUNT) == 0) {
		config_error(ps, ps->lineno, "[account %s]: the name %s means "
		    "the credentials' own account; pick another name", name,
		    name);
		return;
	}
	for (i = 0; i < cfg->naccounts; i++)
		if (strcmp(cfg->accounts[i].name, name) == 0) {
			config_error(ps, ps->lineno, "duplicate section "
			    "[account %s] (first at line %d): merge the two",
			    name, cfg->accounts[i].line);
			return;
		}
	cfg->accounts = xreallocarray(cfg->accounts, cfg->naccounts + 1,
	    sizeof(*cfg->accounts));
	ps->alines = xreallocarray(ps->alines, cfg->naccounts + 1,
	    sizeof(*ps->alines));
	memset(&ps->alines[cfg->naccounts], 0, sizeof(*ps->alines));
	a = &cfg->accounts[cfg->naccounts++];
	memset(a, 0, sizeof(*a));
	sg_strlcpy(a->name, name, sizeof(a->name));
	a->line = ps->lineno;
	ps->sec = SEC_ACCOUNT;
}

/* Is name "WORD" or "WORD <rest>"? *rest is what follows, trimmed. */
static bool
config_sec_prefix(char *name, const char *word, bool icase, char **rest)
{
	size_t n = strlen(word);

	if ((icase ? strncasecmp(name, word, n) : strncmp(name, word, n)) != 0
	    || (name[n] != '\0' && name[n] != ' ' && name[n] != '\t'))
		return false;
	*rest = sg_trim(name + n);
	return true;
}

/* inih's find_chars_or_comment(): the first of c, or a ';' after white
 * space (an inline comment), or the end. */
static char *
config_find_or_comment(char *s, char c)
{
	bool was_space = false;

	for (; *s != '\0' && *s != c && !(was_space && *s == ';'); s++)
		was_space = *s == ' ' || *s == '\t';
	return s;
}

/* A trimmed line starting with '['. */
static void
config_section(struct config_parse *ps, char *line)
{
	static const char *const words[] = { "group", "groups", "account" };
	char *close, *name, *rest;
	int s;

	if ((close = strchr(line, ']')) == NULL) {
		config_error(ps, ps->lineno, "section header without ']': "
		    "write it like [sgguard]");
		return;
	}
	/* inih would take " ;..." as a comment and miss the ']'. */
	if (config_find_or_comment(line + 1, ']') != close) {
		config_error(ps, ps->lineno, "';' after white space starts a "
		    "comment, so this section header has no ']': remove the "
		    "white space before ';'");
		return;
	}
	*close = '\0';
	rest = close + 1;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		config_error(ps, ps->lineno, "unexpected text after ']': put "
		    "keys on their own lines");
		return;
	}
	name = sg_trim(line + 1);
	ps->sec = SEC_NONE;
	if (config_sec_prefix(name, "group", false, &rest)) {
		config_group_section(ps, rest);
		return;
	}
	if (config_sec_prefix(name, "groups", false, &rest)) {
		config_tags_section(ps, rest);
		return;
	}
	if (config_sec_prefix(name, "account", false, &rest)) {
		config_account_section(ps, rest);
		return;
	}
	for (s = SEC_SGGUARD; s < SEC_GROUP; s++) {
		if (strcmp(name, config_sec_names[s]) != 0)
			continue;
		if (ps->sec_line[s] != 0) {
			config_error(ps, ps->lineno, "duplicate section [%s] "
			    "(first at line %d): merge the two", name,
			    ps->sec_line[s]);
			return;
		}
		ps->sec_line[s] = ps->lineno;
		ps->sec = (enum config_sec)s;
		return;
	}
	for (s = SEC_SGGUARD; s < SEC_GROUP; s++)
		if (strcasecmp(name, config_sec_names[s]) == 0) {
			config_error(ps, ps->lineno, "unknown section [%s]: "
			    "section names are lower case, did you mean [%s]?",
			    name, config_sec_names[s]);
			return;
		}
	for (s = 0; s < (int)SG_ARRAY_LEN(words); s++)
		if (config_sec_prefix(name, words[s], true, &rest)) {
			config_error(ps, ps->lineno, "unknown section [%s]: "
			    "section names are lower case, did you mean "
			    "[%s%s%s]?", name, words[s], *rest != '\0' ? " " :
			    "", rest);
			return;
		}
	config_error(ps, ps->lineno, "unknown section [%s]: sections are "
	    "[sgguard], [aws], [notify], [group sg-ID], [groups "
	    "tag:KEY=VALUE] and [account NAME]", name);
}

/* Does a key line have '=' or ':' before any inline comment, as inih
 * wants? Same scan as inih's find_chars_or_comment(). */
static bool
config_has_separator(const char *s)
{
	bool was_space = false;

	for (; *s != '\0'; s++) {
		if (*s == '=' || *s == ':')
			return true;
		if (was_space && *s == ';')
			return false;
		was_space = *s == ' ' || *s == '\t';
	}
	return false;
}

/*
 * inih's fgets-like reader. Gives inih one trimmed line at a time (so it
 * never sees indentation, and never continues a key), numbers lines, and
 * deals with what inih would get wrong or report without a reason.
 */
static char *
config_reader(char *str, int num, void *arg)
{
	struct config_parse *ps = arg;
	const char *eol;
	char *line, *t;
	size_t len;

	if (ps->failed || ps->pos >= ps->end)
		return NULL;
	eol = memchr(ps->pos, '\n', (size_t)(ps->end - ps->pos));
	if (eol == NULL)
		eol = ps->end;
	len = (size_t)(eol - ps->pos);
	line = xstrndup(ps->pos, len);
	ps->pos = eol < ps->end ? eol + 1 : eol;
	ps->lineno++;
	if (strlen(line) != len) {
		config_error(ps, ps->lineno, "NUL byte in the line: is this a "
		    "text file?");
		goto fail;
	}
	if (ps->lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		memmove(line, line + 3, len - 2);	/* UTF-8 BOM */
	t = sg_trim(line);
	memmove(line, t, strlen(t) + 1);
	len = strlen(line);
	/* inih wants room for "\r\n\0" (see INI_MAX_LINE). */
	if (num < 4 || len > (size_t)num - 3) {
		config_error(ps, ps->lineno, "line too long (%zu characters; "
		    "at most %d, not counting indentation)", len,
		    num < 4 ? 0 : num - 3);
		goto fail;
	}
	memcpy(str, line, len + 1);	/* config_section() cuts line up */
	if (line[0] == '[')
		config_section(ps, line);
	else if (line[0] != '\0' && line[0] != ';' && line[0] != '#') {
		if (!config_has_separator(line))
			config_error(ps, ps->lineno, "expected 'key = value', "
			    "a [section] or a comment");
		else if (line[0] == '=' || line[0] == ':')
			config_error(ps, ps->lineno, "missing key name before "
			    "'%c'", line[0]);
	}
	if (ps->failed)
		goto fail;
	free(line);
	return str;
 fail:
	free(line);
	return NULL;
}

static const char *
config_env(struct config_parse *ps, const char *name)
{
	const char *v;

	if (ps->env_fn == NULL || (v = ps->env_fn(name)) == NULL || *v == '\0')
		return NULL;
	return v;
}

/* The file wins; then the environment. Validated like the file's. */
static int
config_env_url(struct config_parse *ps, char **slot, const char *env)
{
	const char *v;

	if (*slot != NULL || (v = config_env(ps, env)) == NULL)
		return 0;
	if (!config_url_ok(v)) {
		config_error(ps, 0, "bad %s \"%s\" in the environment: use a "
		    "URL starting with http:// or https://, or unset it", env,
		    v);
		return -1;
	}
	*slot = xstrdup(v);
	return 0;
}

static size_t
config_key_index(enum config_sec sec, const char *name)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(config_keys); i++)
		if (config_keys[i].sec == sec &&
		    strcmp(config_keys[i].name, name) == 0)
			return i;
	abort();	/* a name from this file */
}

/* The earliest of the errors that span sections, by line. */
struct config_late {
	int	 line;
	char	 msg[512];
};

static void
config_late(struct config_late *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
config_late(struct config_late *l, int line, const char *fmt, ...)
{
	va_list ap;

	if (l->line != 0 && l->line <= line)
		return;
	l->line = line;
	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
}

/* A group's or tag section's policy against the rest of the file. */
static void
config_check_policy(struct config_parse *ps, const struct sg_group_cfg *g,
    const struct config_glines *lines, enum config_sec sec,
    struct config_late *late)
{
	const struct sg_config *cfg = ps->cfg;
	size_t i;
	int line;

	if (g->account != NULL && config_find_account(cfg, g->account) == NULL) {
		line = lines->key_line[config_key_index(sec, "account")];
		for (i = 0; i < cfg->naccounts; i++)
			if (strcasecmp(cfg->accounts[i].name, g->account) == 0)
				break;
		if (i < cfg->naccounts)
			config_late(late, line, "unknown account '%s': account "
			    "names are case-sensitive, did you mean '%s'?",
			    g->account, cfg->accounts[i].name);
		else
			config_late(late, line, "unknown account '%s': add an "
			    "[account %s] section", g->account, g->account);
	}
	if (g->nallow_egress > 0 && g->egress == SG_EGRESS_IGNORE)
		config_late(late, lines->key_line[config_key_index(sec,
		    "allow_egress")], "allow_egress has no effect while egress "
		    "= ignore (the default): set egress = enforce or egress = "
		    "audit in this section");
}

/* Merge the environment, fill defaults and check what spans sections. */
static int
config_finish(struct config_parse *ps)
{
	static const struct {
		const char	*env;
		size_t		 off;
	} services[] = {
		{ "AWS_ENDPOINT_URL_CLOUDTRAIL",
		    offsetof(struct sg_config, cloudtrail_endpoint_url) },
		{ "AWS_ENDPOINT_URL_EC2",
		    offsetof(struct sg_config, ec2_endpoint_url) },
		{ "AWS_ENDPOINT_URL_SNS",
		    offsetof(struct sg_config, sns_endpoint_url) },
		{ "AWS_ENDPOINT_URL_STS",
		    offsetof(struct sg_config, sts_endpoint_url) },
	};
	struct sg_config *cfg = ps->cfg;
	struct config_late late = { 0, "" };
	const char *v, *env, *why;
	char **slot;
	size_t i;

	for (i = 0; i < cfg->ngroups; i++)
		config_check_policy(ps, &cfg->groups[i], &ps->glines[i],
		    SEC_GROUP, &late);
	for (i = 0; i < cfg->ntags; i++)
		config_check_policy(ps, &cfg->tags[i].policy, &ps->tlines[i],
		    SEC_GROUPS, &late);
	for (i = 0; i < cfg->naccounts; i++)
		if (cfg->accounts[i].role_arn == NULL)
			config_late(&late, cfg->accounts[i].line, "[account %s] "
			    "has no role_arn: add role_arn = "
			    "arn:aws:iam::ACCOUNT:role/NAME, the role sgguard "
			    "assumes there", cfg->accounts[i].name);
	if (late.line != 0) {
		config_error(ps, late.line, "%s", late.msg);
		return -1;
	}
	if (cfg->ngroups == 0 && cfg->ntags == 0) {
		config_error(ps, ps->lineno > 0 ? ps->lineno : 1, "no [group "
		    "sg-ID] or [groups tag:KEY=VALUE] section: add one per "
		    "security group to watch, like [group "
		    "sg-0123456789abcdef0], or one per tag, like [groups "
		    "tag:Protect=yes]");
		return -1;
	}

	if (cfg->region == NULL) {
		env = "AWS_REGION";
		if ((v = config_env(ps, env)) == NULL)
			v = config_env(ps, env = "AWS_DEFAULT_REGION");
		if (v != NULL && !config_region_ok(v)) {
			config_error(ps, 0, "bad %s \"%s\" in the environment: "
			    "use a region code like us-east-1, or set region "
			    "in [aws]", env, v);
			return -1;
		}
		cfg->region = xstrdup(v != NULL ? v : CONFIG_DEFAULT_REGION);
	}
	if (cfg->profile == NULL && (v = config_env(ps, "AWS_PROFILE")) != NULL)
		cfg->profile = xstrdup(v);
	if (cfg->ca_file == NULL &&
	    (v = config_env(ps, "AWS_CA_BUNDLE")) != NULL) {
		char pem[512];

		why = NULL;
		if (config_readable(v, &why) == -1 ||
		    http_ca_file_check(v, pem, sizeof(pem)) == -1) {
			config_error(ps, 0, "bad AWS_CA_BUNDLE \"%s\" in the "
			    "environment: %s; fix or unset it, or set ca_file "
			    "in [aws]", v, why != NULL ? why : pem);
			return -1;
		}
		cfg->ca_file = xstrdup(v);
	}

	/* Most specific first, the file before the environment at a level. */
	for (i = 0; i < SG_ARRAY_LEN(services); i++) {
		slot = (char **)((char *)cfg + services[i].off);
		if (config_env_url(ps, slot, services[i].env) == -1)
			return -1;
		if (*slot == NULL && cfg->endpoint_url != NULL)
			*slot = xstrdup(cfg->endpoint_url);
	}
	if (config_env_url(ps, &cfg->endpoint_url, "AWS_ENDPOINT_URL") == -1)
		return -1;
	for (i = 0; i < SG_ARRAY_LEN(services); i++) {
		slot = (char **)((char *)cfg + services[i].off);
		if (*slot == NULL && cfg->endpoint_url != NULL)
			*slot = xstrdup(cfg->endpoint_url);
	}

	if (cfg->subject_prefix == NULL)
		cfg->subject_prefix = xstrdup(CONFIG_DEFAULT_PREFIX);
	for (i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i].region == NULL)
			cfg->groups[i].region = xstrdup(cfg->region);
	for (i = 0; i < cfg->ntags; i++) {
		struct sg_tag_cfg *t = &cfg->tags[i];

		if (t->nregions == 0) {
			t->regions = xcalloc(1, sizeof(*t->regions));
			t->regions[t->nregions++] = xstrdup(cfg->region);
		}
		t->policy.tag = t;	/* the array no longer moves */
	}
	return 0;
}

int
config_load_string(const char *name, const char *text, sg_getenv_fn getenv_fn,
    struct sg_config **out, char *err, size_t errlen)
{
	struct config_parse ps;
	struct sg_config *cfg;
	int rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(name);
	cfg->mode = SG_MODE_ENFORCE;
	cfg->poll_interval = 60;
	cfg->lookback = 900;
	cfg->log_level = LOG_INFO;

	memset(&ps, 0, sizeof(ps));
	ps.name = name;
	ps.pos = text;
	ps.end = text + strlen(text);
	ps.env_fn = getenv_fn;
	ps.cfg = cfg;
	ps.err = err;
	ps.errlen = errlen;

	rc = ini_parse_stream(config_reader, &ps, config_handler, &ps);
	/* Our reader and handler explain every error they see; this is
	 * inih finding one we did not foresee. */
	if (rc != 0 && !ps.failed)
		config_error(&ps, rc > 0 ? rc : 0,
		    "syntax error: expected 'key = value', a [section] or a "
		    "comment");
	if (!ps.failed)
		config_finish(&ps);
	free(ps.glines);
	free(ps.tlines);
	free(ps.alines);
	if (ps.failed) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int
config_load(const char *path, sg_getenv_fn getenv_fn, struct sg_config **out,
    char *err, size_t errlen)
{
	struct sg_buf b;
	char chunk[8192];
	ssize_t n;
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		int e = errno;

		/* The unit's DynamicUser= owns nothing: the file must be
		 * readable by others. */
		snprintf(err, errlen, "%s: cannot open: %s%s", path,
		    strerror(e), e == EACCES ? " (the service runs as a "
		    "dynamic user: make the file readable by all, mode "
		    "0644; it holds no secrets)" : "");
		return -1;
	}
	buf_init(&b);
	if (buf_puts(&b, "") == -1)
		fatalx("out of memory");
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > CONFIG_FILE_MAX) {
			snprintf(err, errlen, "%s: file too large (more than "
			    "%d bytes): is this the right file?", path,
			    CONFIG_FILE_MAX);
			goto fail;
		}
		if (buf_append(&b, chunk, (size_t)n) == -1)
			fatalx("out of memory");
	}
	close(fd);
	/* A NUL would end the text early: report it at its line. */
	if (memchr(b.data, '\0', b.len) != NULL) {
		const char *p;
		int line = 1;

		for (p = b.data; *p != '\0'; p++)
			if (*p == '\n')
				line++;
		snprintf(err, errlen, "%s:%d: NUL byte in the line: is this a "
		    "text file?", path, line);
		buf_free(&b);
		return -1;
	}
	rc = config_load_string(path, b.data, getenv_fn, out, err, errlen);
	buf_free(&b);
	return rc;
 fail:
	close(fd);
	buf_free(&b);
	return -1;
}

static void
config_free_policy(struct sg_group_cfg *g)
{
	free(g->region);
	free(g->allow);
	config_free_list(g->principals, g->nprincipals);
	free(g->account);
}

void
config_free(struct sg_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->ngroups; i++)
		config_free_policy(&cfg->groups[i]);
	free(cfg->groups);
	for (i = 0; i < cfg->ntags; i++) {
		free(cfg->tags[i].key);
		free(cfg->tags[i].value);
		config_free_list(cfg->tags[i].regions, cfg->tags[i].nregions);
		config_free_policy(&cfg->tags[i].policy);
	}
	free(cfg->tags);
	for (i = 0; i < cfg->naccounts; i++) {
		free(cfg->accounts[i].role_arn);
		sg_free_secret(cfg->accounts[i].external_id);
	}
	free(cfg->accounts);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->region);
	free(cfg->profile);
	free(cfg->endpoint_url);
	free(cfg->cloudtrail_endpoint_url);
	free(cfg->ec2_endpoint_url);
	free(cfg->sns_endpoint_url);
	free(cfg->sts_endpoint_url);
	free(cfg->ca_file);
	free(cfg->topic_arn);
	free(cfg->subject_prefix);
	free(cfg);
}

const struct sg_group_cfg *
config_find_group(const struct sg_config *cfg, const char *id)
{
	size_t i;

	if (cfg == NULL || id == NULL)
		return NULL;
	for (i = 0; i < cfg->ngroups; i++)
		if (strcmp(cfg->groups[i].id, id) == 0)
			return &cfg->groups[i];
	return NULL;
}

const struct sg_account_cfg *
config_find_account(const struct sg_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->naccounts; i++)
		if (strcmp(cfg->accounts[i].name, name) == 0)
			return &cfg->accounts[i];
	return NULL;
}

int
config_tag_group(const struct sg_tag_cfg *t, const char *id,
    const char *region, struct sg_group_cfg *out)
{
	size_t i;

	if (t == NULL || id == NULL || region == NULL ||
	    !config_group_id_ok(id))
		return -1;
	for (i = 0; i < t->nregions; i++)
		if (strcmp(t->regions[i], region) == 0)
			break;
	if (i == t->nregions)
		return -1;
	*out = t->policy;
	sg_strlcpy(out->id, id, sizeof(out->id));
	out->region = t->regions[i];
	out->tag = t;
	return 0;
}

static size_t
config_nregions(const struct sg_config *cfg)
{
	size_t i, j, n = 0;

	for (i = 0; i < cfg->ngroups; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(cfg->groups[i].region,
			    cfg->groups[j].region) == 0)
				break;
		if (j == i)
			n++;
	}
	return n;
}

/* ": 2 allow, 1 allow_egress, 0 allow_principal; egress enforce, ..."
 * allow_egress only when egress is looked at; settings only when not the
 * default, so configs without the issue-6 keys print as before. */
static void
config_print_policy(const struct sg_group_cfg *g, FILE *fp)
{
	static const char *const egress[] = {
		[SG_EGRESS_IGNORE] = "ignore",
		[SG_EGRESS_AUDIT] = "audit",
		[SG_EGRESS_ENFORCE] = "enforce",
	};
	const char *sep = "; ";

	fprintf(fp, ": %zu allow, ", g->nallow - g->nallow_egress);
	if (g->egress != SG_EGRESS_IGNORE)
		fprintf(fp, "%zu allow_egress, ", g->nallow_egress);
	fprintf(fp, "%zu allow_principal", g->nprincipals);
	if (g->egress != SG_EGRESS_IGNORE) {
		fprintf(fp, "%segress %s", sep, egress[g->egress]);
		sep = ", ";
	}
	if (g->restore) {
		fprintf(fp, "%srestore yes", sep);
		sep = ", ";
	}
	if (g->baseline == SG_BASELINE_ALLOW)
		fprintf(fp, "%sbaseline allow", sep);
	fputc('\n', fp);
}

void
config_print_summary(const struct sg_config *cfg, bool dry_run,
    size_t max_groups, FILE *fp)
{
	const char *svc[4] = { "cloudtrail", "ec2", "sns", "sts" };
	const char *url[4];
	size_t i, nreg;
	bool same;

	url[0] = cfg->cloudtrail_endpoint_url;
	url[1] = cfg->ec2_endpoint_url;
	url[2] = cfg->sns_endpoint_url;
	url[3] = cfg->sts_endpoint_url;

	fprintf(fp, "configuration OK: %s\n", cfg->path);
	/* --dry-run wins over the file: say so, and say why. */
	fprintf(fp, "mode: %s; poll every %d s, lookback %d s\n",
	    dry_run ? "audit (--dry-run: detect and notify, change nothing)" :
	    cfg->mode == SG_MODE_AUDIT ? "audit (detect and notify, change "
	    "nothing)" : "enforce", cfg->poll_interval, cfg->lookback);
	if (cfg->drift_interval > 0)
		fprintf(fp, "drift: rules of watched groups read every %d s\n",
		    cfg->drift_interval);
	if (cfg->state_dir != NULL)
		fprintf(fp, "state_dir: %s\n", cfg->state_dir);
	if (cfg->log_level_set)
		fprintf(fp, "log_level: %s\n", log_level_name(cfg->log_level));
	fprintf(fp, "aws: region %s, credentials from the default chain",
	    cfg->region);
	if (cfg->profile != NULL)
		fprintf(fp, " with profile %s", cfg->profile);
	fputc('\n', fp);
	same = url[0] != NULL;
	for (i = 1; i < 4; i++)
		if (!sg_streq(url[i], url[0]))
			same = false;
	if (same)
		fprintf(fp, "endpoints: %s (every service)\n", url[0]);
	else
		for (i = 0; i < 4; i++)
			if (url[i] != NULL)
				fprintf(fp, "endpoint: %s %s\n", svc[i], url[i]);
	if (cfg->ca_file != NULL)
		fprintf(fp, "ca_file: %s\n", cfg->ca_file);
	/* The external id is "set", never shown. */
	for (i = 0; i < cfg->naccounts; i++)
		fprintf(fp, "account %s: role %s%s\n", cfg->accounts[i].name,
		    cfg->accounts[i].role_arn, cfg->accounts[i].external_id !=
		    NULL ? ", external id set" : "");
	if (cfg->topic_arn != NULL)
		fprintf(fp, "notify: %s (subject prefix \"%s\")\n",
		    cfg->topic_arn, cfg->subject_prefix);
	else
		fprintf(fp, "notify: off (no topic_arn in [notify]; events "
		    "are only logged)\n");
	if (cfg->ngroups > 0) {
		nreg = config_nregions(cfg);
		fprintf(fp, "groups: %zu in %zu region%s\n", cfg->ngroups,
		    nreg, nreg == 1 ? "" : "s");
	}
	for (i = 0; i < cfg->ngroups; i++) {
		const struct sg_group_cfg *g = &cfg->groups[i];

		/* One screen: the first ones, then how many more. */
		if (max_groups > 0 && cfg->ngroups > max_groups &&
		    i == max_groups - 2) {
			fprintf(fp, "  ... and %zu more (all of them: "
			    "sgguard -t --log-level debug)\n",
			    cfg->ngroups - i);
			break;
		}
		fprintf(fp, "  %s (%s", g->id, g->region);
		if (g->account != NULL)
			fprintf(fp, ", account %s", g->account);
		fputc(')', fp);
		config_print_policy(g, fp);
	}
	if (cfg->ntags > 0)
		fprintf(fp, "groups by tag: %zu section%s\n", cfg->ntags,
		    cfg->ntags == 1 ? "" : "s");
	for (i = 0; i < cfg->ntags; i++) {
		const struct sg_tag_cfg *t = &cfg->tags[i];
		size_t j;

		fprintf(fp, "  tag:%s=%s in ", t->key, t->value);
		for (j = 0; j < t->nregions; j++)
			fprintf(fp, "%s%s", j > 0 ? ", " : "", t->regions[j]);
		if (t->policy.account != NULL)
			fprintf(fp, " (account %s)", t->policy.account);
		config_print_policy(&t->policy, fp);
	}
}
