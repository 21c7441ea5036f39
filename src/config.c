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
#include "log.h"
#include "rule.h"
#include "util.h"

#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_PREFIX_MAX	40	/* SNS subjects stay under 100 */
#define CONFIG_DEFAULT_REGION	"us-east-1"
#define CONFIG_DEFAULT_PREFIX	"[sgguard]"
#define CONFIG_NKEYS		18	/* entries of config_keys[] */

enum config_sec {
	SEC_NONE,
	SEC_SGGUARD,
	SEC_AWS,
	SEC_NOTIFY,
	SEC_GROUP,
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

/* Per group: the line of each key that may appear once. */
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

static const struct config_key config_keys[] = {
	{ SEC_SGGUARD, "mode", false, config_set_mode },
	{ SEC_SGGUARD, "poll_interval", false, config_set_poll },
	{ SEC_SGGUARD, "lookback", false, config_set_lookback },
	{ SEC_SGGUARD, "state_dir", false, config_set_state_dir },
	{ SEC_SGGUARD, "log_level", false, config_set_log_level },
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
	{ SEC_GROUP, "allow", true, config_set_allow },
	{ SEC_GROUP, "allow_principal", true, config_set_principal },
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

static int
config_bad(struct config_parse *ps, const char *key, const char *fmt, ...)
{
	const char *v = ps->value != NULL ? ps->value : "", *h;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	h = strchr(v, '#');
	config_error(ps, ps->lineno, "bad %s \"%s\": %s%s", key, v, why,
	    h != NULL && h > v && (h[-1] == ' ' || h[-1] == '\t') ?
	    " (comments after a value start with ';', not '#')" : "");
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
	size_t i, n = strlen(s);

	if (n < 3 || n > 32 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '-' ||
	    strchr(s, '-') == NULL || strstr(s, "--") != NULL)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
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

/* Can we read path as a file? 0, or -1 with why (strerror or a reason). */
static int
config_readable(const char *path, const char **why)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
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

	if (*v != '\0' && config_readable(v, &why) == -1)
		return config_bad(ps, "ca_file", "%s; give a readable PEM CA "
		    "bundle", why);
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

static int
config_set_allow(struct config_parse *ps, const char *v)
{
	struct sg_group_cfg *g = config_cur_group(ps);
	struct sg_rule r;
	char why[256];

	if (rule_pattern_parse(v, &r, why, sizeof(why)) == -1)
		return config_bad(ps, "allow pattern", "%s", why);
	g->allow = xreallocarray(g->allow, g->nallow + 1, sizeof(*g->allow));
	g->allow[g->nallow++] = r;
	return 0;
}

static int
config_set_principal(struct config_parse *ps, const char *v)
{
	struct sg_group_cfg *g = config_cur_group(ps);

	/* userIdentity ARNs always start with arn:; anything else never
	 * matches and is most likely a bare role name. */
	if (!config_printable(v, false) || (strncmp(v, "arn:", 4) != 0 &&
	    v[0] != '*'))
		return config_bad(ps, "allow_principal", "use an IAM ARN like "
		    "arn:aws:iam::123456789012:role/NAME ('*' matches any "
		    "characters)");
	g->principals = xreallocarray(g->principals, g->nprincipals + 1,
	    sizeof(*g->principals));
	g->principals[g->nprincipals++] = xstrdup(v);
	return 0;
}

static const char *
config_sec_label(struct config_parse *ps, char *buf, size_t size)
{
	if (ps->sec == SEC_GROUP)
		snprintf(buf, size, "[group %s]", config_cur_group(ps)->id);
	else
		snprintf(buf, size, "[%s]", config_sec_names[ps->sec]);
	return buf;
}

static void
config_unknown_key(struct config_parse *ps, const char *name)
{
	struct sg_buf known;
	const char *hint = NULL;
	char label[64];
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
	if (hint != NULL)
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
	if (!k->repeat) {
		line = ps->sec == SEC_GROUP ?
		    &ps->glines[ps->cfg->ngroups - 1].key_line[i] :
		    &ps->key_line[i];
		if (*line != 0) {
			config_error(ps, ps->lineno, "duplicate key '%s' (first "
			    "set at line %d): only allow and allow_principal "
			    "may repeat; keep one", name, *line);
			return 0;
		}
		*line = ps->lineno;
	}
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

/* A trimmed line starting with '['. */
static void
config_section(struct config_parse *ps, char *line)
{
	char *close, *name, *rest;
	int s;

	if ((close = strchr(line, ']')) == NULL) {
		config_error(ps, ps->lineno, "section header without ']': "
		    "write it like [sgguard]");
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
	if (strncmp(name, "group", 5) == 0 &&
	    (name[5] == '\0' || name[5] == ' ' || name[5] == '\t')) {
		config_group_section(ps, sg_trim(name + 5));
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
	config_error(ps, ps->lineno, "unknown section [%s]: sections are "
	    "[sgguard], [aws], [notify] and [group sg-ID]", name);
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
	const char *v, *env, *why;
	char **slot;
	size_t i;

	if (cfg->ngroups == 0) {
		config_error(ps, ps->lineno > 0 ? ps->lineno : 1, "no [group "
		    "sg-ID] section: add one per security group to watch, "
		    "like [group sg-0123456789abcdef0]");
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
		if (config_readable(v, &why) == -1) {
			config_error(ps, 0, "bad AWS_CA_BUNDLE \"%s\" in the "
			    "environment: %s; fix or unset it, or set ca_file "
			    "in [aws]", v, why);
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
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
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

void
config_free(struct sg_config *cfg)
{
	size_t i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->ngroups; i++) {
		struct sg_group_cfg *g = &cfg->groups[i];

		free(g->region);
		free(g->allow);
		for (j = 0; j < g->nprincipals; j++)
			free(g->principals[j]);
		free(g->principals);
	}
	free(cfg->groups);
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

void
config_print_summary(const struct sg_config *cfg, FILE *fp)
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
	fprintf(fp, "mode: %s; poll every %d s, lookback %d s\n",
	    cfg->mode == SG_MODE_AUDIT ? "audit (detect and notify, change "
	    "nothing)" : "enforce", cfg->poll_interval, cfg->lookback);
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
	if (cfg->topic_arn != NULL)
		fprintf(fp, "notify: %s (subject prefix \"%s\")\n",
		    cfg->topic_arn, cfg->subject_prefix);
	else
		fprintf(fp, "notify: off (no topic_arn in [notify]; events "
		    "are only logged)\n");
	nreg = config_nregions(cfg);
	fprintf(fp, "groups: %zu in %zu region%s\n", cfg->ngroups, nreg,
	    nreg == 1 ? "" : "s");
	for (i = 0; i < cfg->ngroups; i++) {
		const struct sg_group_cfg *g = &cfg->groups[i];

		fprintf(fp, "  %s (%s): %zu allow, %zu allow_principal\n",
		    g->id, g->region, g->nallow, g->nprincipals);
	}
}
