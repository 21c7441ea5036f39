/* creds.c: the AWS credential provider chain (see creds.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <ini.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "aws.h"
#include "creds.h"
#include "http.h"
#include "log.h"
#include "proc.h"
#include "sts.h"
#include "util.h"

#define CREDS_FILE_MAX		(1024 * 1024)
#define CREDS_TOKEN_FILE_MAX	(16 * 1024)
#define CREDS_CONNECT_MS	1000
#define CREDS_REQUEST_MS	3000
#define CREDS_RESPONSE_MAX	(64 * 1024)
#define CREDS_PROCESS_MS	15000		/* a credential_process's time */
#define CREDS_PROCESS_ERR_MAX	4096		/* bytes of its stderr kept */
/* AssumeRole of a role profile, retries included: it blocks the call
 * that needs the keys. */
#define CREDS_STS_MS		10000
/* inih keeps 49 bytes of a section name: longer ones go by reference. */
#define CREDS_LONG_SECTION	40

#define CREDS_CONTAINER_HOST	"http://169.254.170.2"
#define CREDS_IMDS_ENDPOINT	"http://169.254.169.254"
#define CREDS_IMDS_ENDPOINT6	"http://[fd00:ec2::254]"
#define CREDS_IMDS_TTL		"21600"

/* The settings of an assume-role profile, by index (creds_role_keys). */
enum {
	CREDS_ROLE_ARN,
	CREDS_ROLE_SOURCE,	/* source_profile */
	CREDS_ROLE_CSOURCE,	/* credential_source */
	CREDS_ROLE_EXTID,
	CREDS_ROLE_SESSION,
	CREDS_ROLE_DURATION,
	CREDS_ROLE_MFA,
	CREDS_ROLE_N
};
static const char *const creds_role_keys[CREDS_ROLE_N] = {
	"role_arn", "source_profile", "credential_source", "external_id",
	"role_session_name", "duration_seconds", "mfa_serial",
};
/* A role profile's settings, each from the file that wins for it. */
struct creds_role {
	char	*v[CREDS_ROLE_N];
	char	 file[256];		/* where role_arn is */
};
/* Profiles a chain of source_profiles may pass through. */
#define CREDS_ROLE_DEPTH	8

/* What one source of the chain came up with. */
enum creds_res {
	CREDS_FOUND,
	CREDS_NONE,	/* not there: try the next source */
	CREDS_FAIL,	/* there but broken: stop, say why */
};

struct sg_creds_provider {
	char		*profile;
	sg_getenv_fn	 getenv;
	struct sg_http	*http;
	bool		 own_http;
	struct sg_creds	 cache;
	bool		 have_cache;
	time_t		 fetched;	/* now of the lookup that filled cache */
	bool		 have_attempt;
	time_t		 last_attempt;	/* paces lookups */
	bool		 warned;	/* kept stale ones, said so */
	bool		 rejected;	/* AWS called the cached ones expired */
	volatile sig_atomic_t *interrupt;	/* stops a credential_process */
	bool		 check_only;	/* creds_check_profile: run nothing */
	/* Role profiles: where STS is (copied from the options), the client
	 * made at first need, and the source keys while AssumeRole runs. */
	bool		 have_sts;
	char		*region;
	char		*sts_endpoint_url;
	char		*sts_endpoints[SG_AWS_NSERVICES];
	int		 sts_max_attempts;
	long		 sts_backoff_base_ms;
	long		 sts_backoff_cap_ms;
	long		 sts_max_total_ms;
	struct sg_aws	*sts_aws;
	struct sg_creds	 role_src;
	bool		 have_role_src;
};

static const char *
creds_real_getenv(const char *name)
{
	return getenv(name);
}

/* An environment variable, NULL when unset or empty (as the SDKs do). */
static const char *
creds_env(const struct sg_creds_provider *p, const char *name)
{
	const char *v = p->getenv(name);

	return sg_strempty(v) ? NULL : v;
}

void
creds_wipe(struct sg_creds *c)
{
	if (c != NULL)
		OPENSSL_cleanse(c, sizeof(*c));
}

/*
 * A fixed lead alone would refetch credentials that live 15 minutes or
 * less at every call (their refresh time is before their fetch): a
 * quarter of the lifetime caps it. sts.c uses this too.
 */
time_t
creds_refresh_time(time_t fetched, time_t expiration)
{
	time_t life = expiration - fetched, lead;

	if (life <= 0)
		return fetched;		/* already expired: refresh now */
	lead = life / 4;
	if (lead > CREDS_REFRESH_BEFORE)
		lead = CREDS_REFRESH_BEFORE;
	/* Never later than a minute before they stop being used (the last
	 * CREDS_MIN_VALIDITY seconds), so that a failed refresh still has
	 * them to fall back on. Only lifetimes under 8 minutes meet this
	 * floor (AWS hands out 15 minutes and more): they are fetched again
	 * whenever used, as they must be. */
	if (lead < 2 * CREDS_MIN_VALIDITY)
		lead = 2 * CREDS_MIN_VALIDITY;
	return expiration - lead > fetched ? expiration - lead : fetched;
}

bool
creds_needs_refresh(time_t fetched, time_t expiration, time_t now)
{
	if (expiration == 0)
		return false;
	return now >= creds_refresh_time(fetched, expiration);
}

/* Cached credentials worth using at now rather than failing. */
static bool
creds_usable(const struct sg_creds *c, time_t now)
{
	return c->expiration == 0 || c->expiration - now > CREDS_MIN_VALIDITY;
}

/* Trim in place, keeping s the pointer to free. */
static char *
creds_strip(char *s)
{
	char *t = sg_trim(s);

	memmove(s, t, strlen(t) + 1);
	return s;
}

/*
 * Key ids, secrets and tokens end up in HTTP headers: printable ASCII
 * without spaces only, so nothing can split a header.
 */
static int
creds_set_field(char *dst, size_t dstlen, const char *what, const char *v,
    char *err, size_t errlen)
{
	size_t i, n = strlen(v);

	if (n == 0) {
		sg_errf(err, errlen, "%s is empty", what);
		return -1;
	}
	if (n >= dstlen) {
		sg_errf(err, errlen, "%s is too long (%zu bytes, at most "
		    "%zu)", what, n, dstlen - 1);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= 0x20 || ch >= 0x7f) {
			sg_errf(err, errlen, "%s has a character that is "
			    "%s at offset %zu%s", what, ch == ' ' ? "a blank" :
			    "not printable ASCII", i, ch == ' ' && strchr(v +
			    i, ';') != NULL ? " (a ';' comment must be on a "
			    "line of its own, as for the AWS CLI)" : "");
			return -1;
		}
	}
	memcpy(dst, v, n + 1);
	return 0;
}

/* Fill c from the three strings (token may be NULL or ""). */
static int
creds_fill(struct sg_creds *c, const char *akid, const char *secret,
    const char *token, const char *akid_name, const char *secret_name,
    const char *token_name, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (creds_set_field(c->access_key_id, sizeof(c->access_key_id),
	    akid_name, akid, err, errlen) == -1 ||
	    creds_set_field(c->secret_access_key, sizeof(c->secret_access_key),
	    secret_name, secret, err, errlen) == -1)
		goto fail;
	if (!sg_strempty(token) && creds_set_field(c->session_token,
	    sizeof(c->session_token), token_name, token, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	creds_wipe(c);
	return -1;
}

/* ---- ISO 8601 ---- */

/* ---- JSON documents (container, IMDS) ---- */

static const char *
creds_json_str(json_t *doc, const char *key, bool *wrong_type)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL)
		return NULL;
	if (!json_is_string(v)) {
		*wrong_type = true;
		return NULL;
	}
	return json_string_value(v);
}

/* A credentials document as a JSON object, or NULL with why in err. */
static json_t *
creds_json_object(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc;

	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		sg_errf(err, errlen, "not JSON: %s at line %d column %d",
		    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(doc)) {
		sg_errf(err, errlen, "not a JSON object");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int
creds_parse_json(const char *json, size_t len, struct sg_creds *out,
    char *err, size_t errlen)
{
	static const char *const names[] = { "AccessKeyId", "SecretAccessKey",
	    "Token", "Expiration", "Code", "Message" };
	const char *v[SG_ARRAY_LEN(names)];
	json_t *doc;
	size_t i;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if ((doc = creds_json_object(json, len, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < SG_ARRAY_LEN(names); i++) {
		bool wrong = false;

		v[i] = creds_json_str(doc, names[i], &wrong);
		if (wrong) {
			sg_errf(err, errlen, "%s is not a string", names[i]);
			goto done;
		}
	}
	/* IMDS says whether the document holds credentials. */
	if (v[4] != NULL && strcmp(v[4], "Success") != 0) {
		char code[64], msg[160];

		log_sanitize(v[4], code, sizeof(code));
		log_sanitize(v[5] ? v[5] : "", msg, sizeof(msg));
		sg_errf(err, errlen, "Code is \"%s\", not \"Success\"%s%s",
		    code, v[5] ? ": " : "", msg);
		goto done;
	}
	for (i = 0; i < 4; i++) {
		if (v[i] == NULL && i != 2) {
			sg_errf(err, errlen, "no %s", names[i]);
			goto done;
		}
	}
	if (creds_fill(out, v[0], v[1], v[2], "AccessKeyId", "SecretAccessKey",
	    "Token", err, errlen) == -1)
		goto done;
	if (creds_parse_iso8601(v[3], &out->expiration) == -1) {
		char bad[64];

		log_sanitize(v[3], bad, sizeof(bad));
		sg_errf(err, errlen, "Expiration \"%s\" is not an ISO 8601 "
		    "UTC time", bad);
		creds_wipe(out);
		goto done;
	}
	if (out->expiration == 0)
		out->expiration = 1;	/* 0 would mean "never expires" */
	rv = 0;
done:
	json_decref(doc);
	return rv;
}

/*
 * What a credential_process prints (botocore's rules): Version 1,
 * AccessKeyId and SecretAccessKey; SessionToken and Expiration optional
 * (no Expiration: the keys do not expire); other members ignored.
 */
int
creds_parse_process(const char *json, size_t len, struct sg_creds *out,
    char *err, size_t errlen)
{
	static const char *const names[] = { "AccessKeyId", "SecretAccessKey",
	    "SessionToken", "Expiration" };
	const char *v[SG_ARRAY_LEN(names)];
	json_t *doc, *ver;
	size_t i;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if ((doc = creds_json_object(json, len, err, errlen)) == NULL)
		return -1;
	ver = json_object_get(doc, "Version");
	if (ver == NULL) {
		sg_errf(err, errlen, "no Version (must be 1)");
		goto done;
	}
	if (!(json_is_integer(ver) && json_integer_value(ver) == 1) &&
	    !(json_is_real(ver) && json_real_value(ver) == 1.0)) {
		sg_errf(err, errlen, "Version is not 1 (the only one there is)");
		goto done;
	}
	for (i = 0; i < SG_ARRAY_LEN(names); i++) {
		json_t *m = json_object_get(doc, names[i]);

		v[i] = NULL;
		if (m == NULL || (json_is_null(m) && i >= 2))
			continue;
		if (!json_is_string(m)) {
			sg_errf(err, errlen, "%s is not a string", names[i]);
			goto done;
		}
		v[i] = json_string_value(m);
	}
	for (i = 0; i < 2; i++) {
		if (v[i] == NULL) {
			sg_errf(err, errlen, "no %s", names[i]);
			goto done;
		}
	}
	if (creds_fill(out, v[0], v[1], v[2], "AccessKeyId", "SecretAccessKey",
	    "SessionToken", err, errlen) == -1)
		goto done;
	if (v[3] != NULL) {
		if (creds_parse_iso8601(v[3], &out->expiration) == -1) {
			char bad[64];

			log_sanitize(v[3], bad, sizeof(bad));
			sg_errf(err, errlen, "Expiration \"%s\" is not an ISO "
			    "8601 time", bad);
			creds_wipe(out);
			goto done;
		}
		if (out->expiration == 0)
			out->expiration = 1;	/* 0: "never expires" */
	}
	rv = 0;
done:
	json_decref(doc);
	return rv;
}

/* ---- shared credentials and config files ---- */

/*
 * One profile's settings in one file. inih is fed by creds_ini_reader,
 * which hands over values too long for inih's line buffer (Debian's: 200
 * bytes; session tokens are longer) as "\001N", an index into longs[]: the
 * handler swaps them back. So are values with a ';' after a blank, which
 * inih would cut as an inline comment: botocore's parser has none, and
 * keeps "--role ops ; x" whole. Everything else reaches inih as written.
 * A section given twice makes botocore refuse the whole file: so does
 * this reader (dup_section).
 */
struct creds_ini {
	/* reader */
	const char	*pos;
	int		 lineno;
	bool		 have_prev;	/* mirrors inih's prev_name */
	char		**longs;
	size_t		 nlongs;
	char		**sections;	/* as written, to find repeats */
	size_t		 nsections;
	char		*dup_section;	/* the first one given twice */
	int		 dup_line;
	/* handler */
	bool		 is_config;
	const char	*profile;
	bool		 found;
	int		 kind;		/* of the matching section seen */
	char		*akid;
	char		*secret;
	char		*token;
	const char	*dup;		/* a key given twice */
	const char	*unsup;		/* SSO, web identity */
	char		*process;	/* credential_process */
	char		*role[CREDS_ROLE_N];	/* role_arn and friends */
};

/* As inih: the first of chars, or an inline ';' comment after a space. */
static const char *
creds_ini_find(const char *s, const char *end, const char *chars)
{
	bool was_space = false;

	for (; s < end; s++) {
		if (chars != NULL && strchr(chars, *s) != NULL)
			break;
		if (was_space && *s == ';')
			break;
		was_space = isspace((unsigned char)*s);
	}
	return s;
}

/* Would inih cut s..end at an inline comment (a ';' after a blank)? */
static bool
creds_ini_has_comment(const char *s, const char *end)
{
	return creds_ini_find(s, end, NULL) != end;
}

/* Remember a section header; note the first one given twice. */
static void
creds_ini_section_seen(struct creds_ini *ini, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < ini->nsections; i++)
		if (strlen(ini->sections[i]) == n &&
		    memcmp(ini->sections[i], s, n) == 0) {
			if (ini->dup_section == NULL) {
				ini->dup_section = xstrndup(s, n);
				ini->dup_line = ini->lineno;
			}
			return;
		}
	ini->sections = xreallocarray(ini->sections, ini->nsections + 1,
	    sizeof(*ini->sections));
	ini->sections[ini->nsections++] = xstrndup(s, n);
}

static const char *
creds_ini_keep(struct creds_ini *ini, const char *s, size_t n,
    char ref[32])
{
	ini->longs = xreallocarray(ini->longs, ini->nlongs + 1,
	    sizeof(*ini->longs));
	ini->longs[ini->nlongs] = xstrndup(s, n);
	snprintf(ref, 32, "\001%zu", ini->nlongs++);
	return ref;
}

static char *
creds_ini_reader(char *str, int num, void *stream)
{
	struct creds_ini *ini = stream;
	const char *line, *eol, *start, *end, *sep;
	char ref[32];
	size_t len, room;
	bool fits;

	if (*ini->pos == '\0' || num < 64)
		return NULL;
	line = ini->pos;
	eol = strchr(line, '\n');
	len = eol != NULL ? (size_t)(eol - line) : strlen(line);
	ini->pos = line + len + (eol != NULL);
	ini->lineno++;
	room = (size_t)num;
	fits = len + 2 <= room;

	start = line;
	if (ini->lineno == 1 && len >= 3 &&
	    memcmp(line, "\xef\xbb\xbf", 3) == 0)
		start += 3;
	end = line + len;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	while (start < end && isspace((unsigned char)*start))
		start++;

	if (start == end || *start == ';' || *start == '#') {
		snprintf(str, room, "%s\n", start == end ? "" : ";");
	} else if (ini->have_prev && start > line) {
		/* A continuation line (Python configparser style). */
		if (fits && !creds_ini_has_comment(start, end))
			goto verbatim;
		snprintf(str, room, " %s\n",
		    creds_ini_keep(ini, start, (size_t)(end - start), ref));
	} else if (*start == '[') {
		const char *rb = creds_ini_find(start + 1, end, "]");

		ini->have_prev = false;
		if (rb != end && *rb == ']')
			creds_ini_section_seen(ini, start + 1,
			    (size_t)(rb - start - 1));
		if (rb == end || *rb != ']')
			snprintf(str, room, "[\n");	/* inih's error */
		else if (rb - start - 1 < CREDS_LONG_SECTION)
			snprintf(str, room, "%.*s\n", (int)(rb - start + 1),
			    start);
		else
			snprintf(str, room, "[%s]\n", creds_ini_keep(ini,
			    start + 1, (size_t)(rb - start - 1), ref));
	} else {
		sep = creds_ini_find(start, end, "=:");
		if (sep == end || (*sep != '=' && *sep != ':')) {
			snprintf(str, room, "?\n");	/* inih's error */
			return str;
		}
		ini->have_prev = true;
		if (fits && !creds_ini_has_comment(sep + 1, end))
			goto verbatim;
		if ((size_t)(sep - line) + 32 > room)
			snprintf(str, room, "?\n");	/* name too long */
		else
			snprintf(str, room, "%.*s=%s\n", (int)(sep - line),
			    line, creds_ini_keep(ini, sep + 1,
			    (size_t)(end - sep - 1), ref));
	}
	return str;
verbatim:
	memcpy(str, line, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/* The real text behind a value or section name; *tmp is to be freed. */
static const char *
creds_ini_resolve(const struct creds_ini *ini, const char *v, bool value,
    char **tmp)
{
	const char *s;
	unsigned long idx;
	char *end, *copy;

	*tmp = NULL;
	if (v[0] != '\001')
		return v;
	idx = strtoul(v + 1, &end, 10);
	if (*end != '\0' || idx >= ini->nlongs)
		return v;
	s = ini->longs[idx];
	*tmp = copy = xstrdup(s);
	if (!value)
		return copy;	/* section names as written, like inih's */
	return sg_trim(copy);	/* whole: no inline comments (botocore) */
}

/*
 * Does this section hold the profile? 0: no; 1: [NAME] or [default]; 2:
 * [profile NAME]. Names are compared exactly, as botocore does.
 */
static int
creds_ini_section(const struct creds_ini *ini, const char *section)
{
	char *copy, *name;
	size_t n;
	int match = 0;

	if (!ini->is_config)
		return strcmp(section, ini->profile) == 0;
	if (strcmp(section, "default") == 0)
		return strcmp(ini->profile, "default") == 0;
	if (strncmp(section, "profile", 7) != 0 ||
	    !isspace((unsigned char)section[7]))
		return 0;
	copy = xstrdup(section + 8);
	name = sg_trim(copy);
	n = strlen(name);
	/* botocore splits the header like a shell: quotes allowed. */
	if (n >= 2 && (name[0] == '"' || name[0] == '\'') &&
	    name[n - 1] == name[0]) {
		name[n - 1] = '\0';
		name++;
	}
	if (strcmp(name, ini->profile) == 0)
		match = 2;
	free(copy);
	return match;
}

/* Forget the profile's settings seen so far. */
static void
creds_ini_clear(struct creds_ini *ini)
{
	sg_free_secret(ini->akid);
	sg_free_secret(ini->secret);
	sg_free_secret(ini->token);
	free(ini->process);
	ini->akid = ini->secret = ini->token = ini->process = NULL;
	ini->dup = ini->unsup = NULL;
	for (size_t i = 0; i < CREDS_ROLE_N; i++) {
		free(ini->role[i]);
		ini->role[i] = NULL;
	}
}

static int
creds_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	/* Credential types sgguard lacks. */
	static const char *const unsupported[] = {
	    "web_identity_token_file", "sso_session", "sso_start_url",
	    "sso_account_id", "sso_role_name", "login_session" };
	static const struct {
		const char	*name;
		size_t		 off;
	} keys[] = {
		{ "aws_access_key_id", offsetof(struct creds_ini, akid) },
		{ "aws_secret_access_key", offsetof(struct creds_ini, secret) },
		{ "aws_session_token", offsetof(struct creds_ini, token) },
		/* botocore's older name for the session token */
		{ "aws_security_token", offsetof(struct creds_ini, token) },
	};
	struct creds_ini *ini = user;
	char *stmp, *vtmp;
	const char *sec, *val;
	char **slot;
	size_t i;
	int kind;

	if (name == NULL || value == NULL)
		return 1;
	sec = creds_ini_resolve(ini, section, false, &stmp);
	kind = creds_ini_section(ini, sec);
	free(stmp);
	if (kind == 0)
		return 1;
	/* [default] and [profile default]: the later one counts, whole. */
	if (ini->kind != 0 && kind != ini->kind)
		creds_ini_clear(ini);
	ini->kind = kind;
	ini->found = true;
	val = creds_ini_resolve(ini, value, true, &vtmp);
	for (i = 0; i < SG_ARRAY_LEN(keys); i++) {
		if (strcasecmp(name, keys[i].name) != 0)
			continue;
		slot = (char **)(void *)((char *)ini + keys[i].off);
		/* Twice, or continued on the next line: say so, not guess. */
		if (*slot != NULL) {
			if (ini->dup == NULL)
				ini->dup = keys[i].name;
		} else
			*slot = xstrdup(val);
		break;
	}
	for (i = 0; i < SG_ARRAY_LEN(unsupported); i++)
		if (strcasecmp(name, unsupported[i]) == 0 && ini->unsup == NULL)
			ini->unsup = unsupported[i];
	if (strcasecmp(name, "credential_process") == 0) {
		if (ini->process != NULL) {
			if (ini->dup == NULL)
				ini->dup = "credential_process";
		} else
			ini->process = xstrdup(val);
	}
	for (i = 0; i < CREDS_ROLE_N; i++) {
		if (strcasecmp(name, creds_role_keys[i]) != 0)
			continue;
		if (ini->role[i] != NULL) {
			if (ini->dup == NULL)
				ini->dup = creds_role_keys[i];
		} else
			ini->role[i] = xstrdup(val);
	}
	sg_free_secret(vtmp);
	return 1;
}

static void
creds_ini_free(struct creds_ini *ini)
{
	size_t i;

	for (i = 0; i < ini->nlongs; i++)
		sg_free_secret(ini->longs[i]);
	free(ini->longs);
	for (i = 0; i < ini->nsections; i++)
		free(ini->sections[i]);
	free(ini->sections);
	free(ini->dup_section);
	creds_ini_clear(ini);
	memset(ini, 0, sizeof(*ini));
}

/* Parse one file's text for the profile. 0 / -1 (err set). */
static int
creds_ini_parse(struct creds_ini *ini, const char *text, const char *fname,
    bool is_config, const char *profile, char *err, size_t errlen)
{
	int line;

	memset(ini, 0, sizeof(*ini));
	ini->is_config = is_config;
	ini->profile = profile;
	if (text == NULL)
		return 0;
	/* \001 marks references to long values: it must not come from the
	 * file itself (nor does any sane file hold control characters). */
	if (strchr(text, '\001') != NULL) {
		sg_errf(err, errlen, "%s: control character in file", fname);
		return -1;
	}
	ini->pos = text;
	line = ini_parse_stream(creds_ini_reader, ini, creds_ini_handler, ini);
	if (line != 0) {
		if (line > 0)
			sg_errf(err, errlen, "%s:%d: syntax error", fname,
			    line);
		else
			sg_errf(err, errlen, "%s: cannot parse (%d)", fname,
			    line);
		return -1;
	}
	if (ini->dup != NULL) {
		sg_errf(err, errlen, "%s: %s given twice (or continued on "
		    "a second line) in profile %s", fname, ini->dup, profile);
		return -1;
	}
	if (ini->dup_section != NULL) {
		char name[128];

		log_sanitize(ini->dup_section, name, sizeof(name));
		sg_errf(err, errlen, "%s:%d: section [%s] given twice (the AWS "
		    "CLI and SDKs refuse such a file)", fname, ini->dup_line,
		    name);
		return -1;
	}
	return 0;
}

/* Keys of the profile from one parsed file, if it has any. */
static int
creds_ini_take(const struct creds_ini *ini, const char *fname,
    const char *profile, struct sg_creds *out, char *err, size_t errlen)
{
	char what[3][320];

	if (ini->akid == NULL && ini->secret == NULL)
		return 1;
	if (ini->akid == NULL || ini->secret == NULL) {
		sg_errf(err, errlen, "%s: profile %s has %s but no %s", fname,
		    profile, ini->akid ? "aws_access_key_id" :
		    "aws_secret_access_key", ini->akid ?
		    "aws_secret_access_key" : "aws_access_key_id");
		return -1;
	}
	snprintf(what[0], sizeof(what[0]), "%s: aws_access_key_id", fname);
	snprintf(what[1], sizeof(what[1]), "%s: aws_secret_access_key", fname);
	snprintf(what[2], sizeof(what[2]), "%s: aws_session_token", fname);
	if (creds_fill(out, ini->akid, ini->secret, ini->token, what[0],
	    what[1], what[2], err, errlen) == -1)
		return -1;
	snprintf(out->source, sizeof(out->source), "profile %s", profile);
	return 0;
}

static void
creds_role_free(struct creds_role *role)
{
	for (size_t i = 0; i < CREDS_ROLE_N; i++) {
		free(role->v[i]);
		role->v[i] = NULL;
	}
}

/*
 * creds_parse_shared with file names for the messages. When it returns 3
 * and process is not NULL, *process is the command (free it) and err
 * names the file it is in; when it returns 4 and role is not NULL, *role
 * has the role settings (creds_role_free), and err names the file of
 * role_arn. as_source: the profile is another's source_profile, where
 * static keys win over its role_arn, as in botocore.
 */
static int
creds_shared(const char *cred_text, const char *cred_name,
    const char *config_text, const char *config_name, const char *profile,
    bool as_source, struct sg_creds *out, char **process,
    struct creds_role *role, char *err, size_t errlen)
{
	struct creds_ini c, f;
	bool keys, web;
	int rv = -1, r;
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	if (creds_ini_parse(&c, cred_text, cred_name, false, profile, err,
	    errlen) == -1 || creds_ini_parse(&f, config_text, config_name, true,
	    profile, err, errlen) == -1)
		goto done;
	if (!c.found && !f.found) {
		sg_errf(err, errlen, "not in %s or %s", cred_name,
		    config_name);
		rv = 1;
		goto done;
	}
	/*
	 * botocore tries an assume-role profile first (not one for web
	 * identity), then web identity and SSO: using anything else would act
	 * as someone else. Its settings merge key by key, the credentials
	 * file's winning.
	 */
	keys = c.akid || c.secret || f.akid || f.secret;
	web = sg_streq(c.unsup, "web_identity_token_file") ||
	    sg_streq(f.unsup, "web_identity_token_file");
	if ((c.role[CREDS_ROLE_ARN] || f.role[CREDS_ROLE_ARN]) && !web &&
	    !(as_source && keys)) {
		if (role != NULL) {
			for (i = 0; i < CREDS_ROLE_N; i++) {
				const char *v = c.role[i] ? c.role[i] :
				    f.role[i];

				role->v[i] = v != NULL ? xstrdup(v) : NULL;
			}
			sg_strlcpy(role->file, c.role[CREDS_ROLE_ARN] ?
			    cred_name : config_name, sizeof(role->file));
		}
		sg_errf(err, errlen, "%s", c.role[CREDS_ROLE_ARN] ?
		    cred_name : config_name);
		rv = 4;
		goto done;
	}
	if (c.unsup != NULL || f.unsup != NULL) {
		sg_errf(err, errlen, "%s: %s is not supported (static keys, "
		    "credential_process and role_arn are)", c.unsup ?
		    cred_name :
		    config_name,
		    c.unsup ? c.unsup : f.unsup);
		goto done;
	}
	/* Then the credentials file, credential_process, the config file. */
	if ((r = creds_ini_take(&c, cred_name, profile, out, err,
	    errlen)) != 1) {
		rv = r;
		goto done;
	}
	/* The credentials file's credential_process wins, as botocore
	 * lays that file over the config file. */
	if (c.process != NULL || f.process != NULL) {
		if (process != NULL)
			*process = xstrdup(c.process ? c.process : f.process);
		sg_errf(err, errlen, "%s", c.process ? cred_name :
		    config_name);
		rv = 3;
		goto done;
	}
	if ((r = creds_ini_take(&f, config_name, profile, out, err,
	    errlen)) != 1) {
		rv = r;
		goto done;
	}
	if (c.role[CREDS_ROLE_SOURCE] || f.role[CREDS_ROLE_SOURCE] ||
	    c.role[CREDS_ROLE_CSOURCE] || f.role[CREDS_ROLE_CSOURCE])
		sg_errf(err, errlen, "%s: %s without role_arn: no role to "
		    "assume", c.role[CREDS_ROLE_SOURCE] ||
		    c.role[CREDS_ROLE_CSOURCE] ? cred_name : config_name,
		    c.role[CREDS_ROLE_SOURCE] || f.role[CREDS_ROLE_SOURCE] ?
		    "source_profile" : "credential_source");
	else
		sg_errf(err, errlen, "no aws_access_key_id in %s or %s",
		    cred_name, config_name);
	rv = 2;
done:
	creds_ini_free(&c);
	creds_ini_free(&f);
	return rv;
}

int
creds_parse_shared(const char *cred_text, const char *config_text,
    const char *profile, struct sg_creds *out, char *err, size_t errlen)
{
	return creds_shared(cred_text, "credentials", config_text, "config",
	    profile, false, out, NULL, NULL, err, errlen);
}

/*
 * Read a whole small file. 0 with *out (wipe with sg_free_secret), 1 when
 * it does not exist, -1 on other errors (err set).
 */
static int
creds_read_file(const char *path, size_t max, char **out, char *err,
    size_t errlen)
{
	struct sg_buf b;
	struct stat st;
	char chunk[4096];
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		sg_errf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		sg_errf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	buf_init(&b);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			sg_errf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			sg_errf(err, errlen, "%s: larger than %zu bytes",
			    path, max);
			goto fail;
		}
		if (buf_append(&b, chunk, (size_t)n) == -1)
			fatalx("out of memory");
	}
	close(fd);
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
		sg_errf(err, errlen, "%s: NUL byte in file", path);
		buf_free_secure(&b);
		return -1;
	}
	*out = buf_steal(&b);
	return 0;
fail:
	close(fd);
	OPENSSL_cleanse(chunk, sizeof(chunk));
	buf_free_secure(&b);
	return -1;
}

/* A file path from the environment or HOME; NULL with why set. */
static char *
creds_path(const struct sg_creds_provider *p, const char *var,
    const char *dflt, char *why, size_t whylen)
{
	const char *v = creds_env(p, var), *home = creds_env(p, "HOME");
	char *path;

	if (v != NULL && strncmp(v, "~/", 2) != 0)
		return xstrdup(v);
	/* systemd's DynamicUser= may leave HOME unset: no default then. */
	if (home == NULL) {
		sg_errf(why, whylen, v ? "HOME not set to expand %s" :
		    "HOME not set, no ~/%s", v ? v : dflt);
		return NULL;
	}
	/* HOME=/ (a service) gives /.aws/..., not //.aws/... */
	if (asprintf(&path, "%s%s%s", home, home[0] != '\0' &&
	    home[strlen(home) - 1] == '/' ? "" : "/", v ? v + 2 : dflt) == -1)
		fatalx("out of memory");
	return path;
}

/* Read a shared file for the profile source. 0 / -1 (why set). */
static int
creds_shared_file(const struct sg_creds_provider *p, const char *var,
    const char *dflt, char **path, char **text, struct sg_buf *missing,
    char *why, size_t whylen)
{
	char pwhy[256];
	int r;

	*text = NULL;
	if ((*path = creds_path(p, var, dflt, pwhy, sizeof(pwhy))) == NULL) {
		buf_printf(missing, "%s%s", missing->len ? ", " : "", pwhy);
		*path = xstrdup(dflt);
		return 0;
	}
	r = creds_read_file(*path, CREDS_FILE_MAX, text, why, whylen);
	if (r == 1)
		buf_printf(missing, "%s%s not found", missing->len ? ", " : "",
		    *path);
	return r == -1 ? -1 : 0;
}

/* ---- HTTP helpers ---- */

static void
creds_http(struct sg_creds_provider *p, const char *method, const char *url,
    const struct sg_kv *h, size_t nh, struct sg_http_response *resp)
{
	struct sg_http_request req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = h;
	req.nheaders = nh;
	req.timeout_ms = CREDS_REQUEST_MS;
	memset(resp, 0, sizeof(*resp));
	http_perform(p->http, &req, resp);
}

/* "connection failed at URL (curl's words)" */
static void
creds_http_why(const struct sg_http_response *resp, const char *url,
    char *why, size_t whylen)
{
	const char *what;

	switch (resp->result) {
	case SG_HTTP_ERR_CONNECT:
		what = "cannot connect";
		break;
	case SG_HTTP_ERR_TIMEOUT:
		what = "timed out";
		break;
	case SG_HTTP_ERR_TLS:
		what = "TLS failure";
		break;
	case SG_HTTP_ERR_TOO_LARGE:
		what = "answer too large";
		break;
	case SG_HTTP_ERR_PARTIAL:
		what = "answer cut short";
		break;
	default:
		what = "request failed";
		break;
	}
	sg_errf(why, whylen, "%s at %s%s%s%s", what, url,
	    resp->error[0] ? " (" : "", resp->error, resp->error[0] ? ")" : "");
}

/* Bodies may hold tokens and keys: wipe them. */
static void
creds_resp_free(struct sg_http_response *resp)
{
	buf_free_secure(&resp->body);
	http_response_free(resp);
}

static const char *
creds_body(const struct sg_http_response *resp)
{
	return resp->body.data != NULL ? resp->body.data : "";
}

/* ---- the sources ---- */

static enum creds_res
creds_from_env(struct sg_creds_provider *p, struct sg_creds *out, char *why,
    size_t whylen)
{
	const char *akid = creds_env(p, "AWS_ACCESS_KEY_ID");
	const char *secret = creds_env(p, "AWS_SECRET_ACCESS_KEY");
	const char *token = creds_env(p, "AWS_SESSION_TOKEN");

	if (akid == NULL && secret == NULL) {
		sg_errf(why, whylen, "not set");
		return CREDS_NONE;
	}
	if (akid == NULL || secret == NULL) {
		sg_errf(why, whylen, "%s is set but %s is not",
		    akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return CREDS_FAIL;
	}
	if (creds_fill(out, akid, secret, token, "AWS_ACCESS_KEY_ID",
	    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", why, whylen) == -1)
		return CREDS_FAIL;
	sg_strlcpy(out->source, "environment", sizeof(out->source));
	return CREDS_FOUND;
}

/*
 * Run a profile's credential_process (cmd, from file) and read the keys it
 * prints. Found, or FAIL with why: a profile that names a program has no
 * other credentials to fall back to.
 */
static enum creds_res
creds_from_process(struct sg_creds_provider *p, const char *profile,
    const char *file, const char *cmd, struct sg_creds *out, char *why,
    size_t whylen)
{
	struct sg_proc_opts po = {
		.timeout_ms = CREDS_PROCESS_MS,
		.out_max = CREDS_RESPONSE_MAX,
		.err_max = CREDS_PROCESS_ERR_MAX,
		.interrupt = p->interrupt,
	};
	struct sg_proc_result res;
	char **argv = NULL, *path = NULL, perr[512], prog[128], msg[400];
	enum creds_res rv = CREDS_FAIL;

	memset(&res, 0, sizeof(res));
	if (proc_split(cmd, &argv, perr, sizeof(perr)) == -1) {
		sg_errf(why, whylen, "%s: credential_process: %s", file, perr);
		return CREDS_FAIL;
	}
	log_sanitize(argv[0], prog, sizeof(prog));
	if (proc_find(argv[0], creds_env(p, "PATH"), &path, perr,
	    sizeof(perr)) == -1) {
		sg_errf(why, whylen, "%s: credential_process: %s", file, perr);
		goto done;
	}
	if (p->check_only) {
		rv = CREDS_FOUND;	/* the program is there: enough */
		goto done;
	}
	if (proc_run(path, argv, &po, &res, perr, sizeof(perr)) == -1) {
		sg_errf(why, whylen, "%s: credential_process: %s", file, perr);
		goto done;
	}
	if (res.err.len > 0)
		log_sanitize(sg_trim(res.err.data), msg, sizeof(msg));
	else
		sg_strlcpy(msg, "nothing on stderr", sizeof(msg));
	if (res.interrupted)
		sg_errf(why, whylen, "%s: credential_process %s: stopped by "
		    "a signal to sgguard", file, prog);
	else if (res.timed_out)
		sg_errf(why, whylen, "%s: credential_process %s: still "
		    "running after %d s, killed", file, prog,
		    CREDS_PROCESS_MS / 1000);
	else if (!res.exited)
		sg_errf(why, whylen, "%s: credential_process %s: killed by "
		    "signal %d (%s)", file, prog, res.signal, msg);
	else if (res.status != 0)
		sg_errf(why, whylen, "%s: credential_process %s: exit status "
		    "%d (%s)", file, prog, res.status, msg);
	else if (res.out_truncated)
		sg_errf(why, whylen, "%s: credential_process %s: printed more "
		    "than %d KiB", file, prog, CREDS_RESPONSE_MAX / 1024);
	else if (creds_parse_process(res.out.data ? res.out.data : "",
	    res.out.len, out, perr, sizeof(perr)) == -1)
		sg_errf(why, whylen, "%s: credential_process %s: what it "
		    "printed: %s", file, prog, perr);
	else {
		snprintf(out->source, sizeof(out->source),
		    "profile %s (credential_process)", profile);
		rv = CREDS_FOUND;
	}
done:
	proc_result_free(&res);
	proc_argv_free(argv);
	free(path);
	return rv;
}

static enum creds_res creds_from_container(struct sg_creds_provider *,
    struct sg_creds *, char *, size_t);
static enum creds_res creds_from_imds(struct sg_creds_provider *,
    struct sg_creds *, char *, size_t);

/* The two shared files, as read for one lookup. */
struct creds_files {
	char	*cpath, *ctext;		/* credentials */
	char	*fpath, *ftext;		/* config */
};


/* The private client's credentials: the source keys of the role being
 * assumed (set only while creds_assume() runs). */
static int
creds_role_source(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	struct sg_creds_provider *p = arg;

	(void)now;
	if (!p->have_role_src) {
		sg_errf(err, errlen, "no source credentials for AssumeRole");
		return -1;
	}
	*out = p->role_src;
	return 0;
}

/* The provider's own client for AssumeRole, made at first need. */
static struct sg_aws *
creds_sts_client(struct sg_creds_provider *p, char *why, size_t whylen)
{
	struct sg_aws_opts ao;
	size_t i;

	if (p->sts_aws != NULL)
		return p->sts_aws;
	if (!p->have_sts || sg_strempty(p->region)) {
		sg_errf(why, whylen, "no [aws] region for STS");
		return NULL;
	}
	memset(&ao, 0, sizeof(ao));
	ao.http = p->http;
	ao.creds = creds_role_source;
	ao.creds_arg = p;
	ao.endpoint_url = p->sts_endpoint_url;
	for (i = 0; i < SG_AWS_NSERVICES; i++)
		ao.endpoints[i] = p->sts_endpoints[i];
	ao.max_attempts = p->sts_max_attempts;
	ao.backoff_base_ms = p->sts_backoff_base_ms;
	ao.backoff_cap_ms = p->sts_backoff_cap_ms;
	ao.max_total_ms = p->sts_max_total_ms;
	if ((p->sts_aws = aws_new(&ao)) == NULL) {
		sg_errf(why, whylen, "cannot make the STS client (see the "
		    "message before)");
		return NULL;
	}
	if (p->interrupt != NULL)
		aws_set_interrupt(p->sts_aws, p->interrupt, 500);
	return p->sts_aws;
}

/* AssumeRole with src as the caller: 0 with *out, -1 with why. */
static int
creds_assume(struct sg_creds_provider *p, const char *profile,
    const struct creds_role *role, int duration, const struct sg_creds *src,
    struct sg_creds *out, char *why, size_t whylen)
{
	struct sg_sts_provider *sp;
	struct sg_sts_opts so = {
		.role_arn = role->v[CREDS_ROLE_ARN],
		.external_id = role->v[CREDS_ROLE_EXTID],
		.session_name = role->v[CREDS_ROLE_SESSION],
		.duration = duration,
		.region = p->region,
		.quiet = true,
	};
	int rv;

	if ((so.aws = creds_sts_client(p, why, whylen)) == NULL)
		return -1;
	if ((sp = sts_provider_new(&so)) == NULL) {
		sg_errf(why, whylen, "%s: profile %s: cannot set up "
		    "AssumeRole (see the message before)", role->file,
		    profile);
		return -1;
	}
	/* Registered before anything could print them. */
	log_secret_add(src->secret_access_key);
	log_secret_add(src->session_token);
	p->role_src = *src;
	p->have_role_src = true;
	rv = sts_get(sp, time(NULL), out, why, whylen);
	creds_wipe(&p->role_src);
	p->have_role_src = false;
	sts_provider_free(sp);
	if (rv == 0)
		snprintf(out->source, sizeof(out->source),
		    "profile %s (role %s)", profile,
		    role->v[CREDS_ROLE_ARN]);
	return rv;
}

/*
 * Is a role profile's role usable as written? 0, with its duration (0:
 * the default) in *duration; -1 with why.
 */
static int
creds_role_check(const char *profile, const struct creds_role *role,
    int *duration, char *why, size_t whylen)
{
	const char *dur = role->v[CREDS_ROLE_DURATION];
	char perr[512], *end;
	long d;

	*duration = 0;
	if (role->v[CREDS_ROLE_MFA] != NULL) {
		sg_errf(why, whylen, "%s: profile %s: mfa_serial: the role "
		    "wants an MFA code at every refresh, which a daemon "
		    "cannot type", role->file, profile);
		return -1;
	}
	if (sts_check_role_arn(role->v[CREDS_ROLE_ARN], NULL, perr,
	    sizeof(perr)) == -1 || (role->v[CREDS_ROLE_EXTID] != NULL &&
	    sts_check_external_id(role->v[CREDS_ROLE_EXTID], perr,
	    sizeof(perr)) == -1) || (role->v[CREDS_ROLE_SESSION] != NULL &&
	    sts_check_session_name(role->v[CREDS_ROLE_SESSION], perr,
	    sizeof(perr)) == -1)) {
		sg_errf(why, whylen, "%s: profile %s: %s", role->file,
		    profile, perr);
		return -1;
	}
	if (dur != NULL) {
		errno = 0;
		d = strtol(dur, &end, 10);
		if (errno != 0 || end == dur || *end != '\0' ||
		    d < STS_DURATION_MIN || d > STS_DURATION_MAX) {
			sg_errf(why, whylen, "%s: profile %s: duration_seconds "
			    "\"%s\" is not a number of seconds from %d to %d",
			    role->file, profile, dur, STS_DURATION_MIN,
			    STS_DURATION_MAX);
			return -1;
		}
		*duration = (int)d;
	}
	if ((role->v[CREDS_ROLE_SOURCE] == NULL) ==
	    (role->v[CREDS_ROLE_CSOURCE] == NULL)) {
		sg_errf(why, whylen, "%s: profile %s: role_arn needs one of "
		    "source_profile and credential_source%s", role->file,
		    profile, role->v[CREDS_ROLE_SOURCE] != NULL ?
		    ", not both" : "");
		return -1;
	}
	return 0;
}

/* The keys a role's credential_source names. */
static enum creds_res
creds_role_csource(struct sg_creds_provider *p, const char *profile,
    const struct creds_role *role, struct sg_creds *out, char *why,
    size_t whylen)
{
	/* The chain's own sources, by botocore's names. */
	static const struct {
		const char	*name;
		enum creds_res	(*from)(struct sg_creds_provider *,
				    struct sg_creds *, char *, size_t);
	} sources[] = {
		{ "Environment", creds_from_env },
		{ "Ec2InstanceMetadata", creds_from_imds },
		{ "EcsContainer", creds_from_container },
	};
	const char *csrc = role->v[CREDS_ROLE_CSOURCE];
	char perr[512];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(sources); i++)
		if (strcmp(csrc, sources[i].name) == 0)
			break;
	if (i == SG_ARRAY_LEN(sources)) {
		sg_errf(why, whylen, "%s: profile %s: credential_source \"%s\" "
		    "is not Environment, Ec2InstanceMetadata or EcsContainer",
		    role->file, profile, csrc);
		return CREDS_FAIL;
	}
	if (p->check_only)
		return CREDS_FOUND;	/* no network, nothing fetched */
	if (sources[i].from(p, out, perr, sizeof(perr)) != CREDS_FOUND) {
		sg_errf(why, whylen, "%s: credential_source %s: %s",
		    role->file, csrc, perr);
		return CREDS_FAIL;
	}
	return CREDS_FOUND;
}

/*
 * May the role of profile names[n - 1] take its keys from src? botocore:
 * a profile may name itself (to use its own static keys); any other
 * return to a profile of the chain is a loop.
 */
static int
creds_role_next(const char *const *names, size_t n, const char *src,
    const struct creds_role *role, char *why, size_t whylen)
{
	struct sg_buf b;
	bool loop = false;
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], src) == 0 &&
		    (i + 1 < n || strcmp(src, names[n - 1]) != 0))
			loop = true;
	if (!loop && n < CREDS_ROLE_DEPTH)
		return 0;
	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s -> ", names[i]);
	sg_errf(why, whylen, "%s: profile %s: source_profile %s: %s (%s%s)",
	    role->file, names[n - 1], src, loop ? "a loop" :
	    "too long a chain", b.data, src);
	buf_free(&b);
	return -1;
}

/*
 * The keys of profile from the files: static, credential_process, or an
 * assumed role. For a role, the chain of source_profiles is followed down
 * to keys (static keys win over role_arn in a source, as in botocore),
 * then each role is assumed with the keys of the one below it. NONE when
 * the profile itself is not there or has no keys (the caller judges); a
 * source_profile must give keys.
 */
static enum creds_res
creds_profile_keys(struct sg_creds_provider *p, const struct creds_files *fl,
    const char *profile, struct sg_creds *out, char *why, size_t whylen)
{
	struct creds_role roles[CREDS_ROLE_DEPTH];
	const char *names[CREDS_ROLE_DEPTH];
	int durations[CREDS_ROLE_DEPTH];
	struct sg_creds keys, next;
	const char *cur = profile;
	enum creds_res res = CREDS_FAIL;
	char *cmd = NULL, file[256], perr[512];
	size_t n = 0, i;
	int r;

	memset(roles, 0, sizeof(roles));
	memset(&keys, 0, sizeof(keys));
	for (;;) {
		r = creds_shared(fl->ctext, fl->cpath, fl->ftext, fl->fpath,
		    cur, n > 0, &keys, &cmd, &roles[n], why, whylen);
		if (r == 4) {
			names[n] = cur;
			if (creds_role_check(cur, &roles[n], &durations[n],
			    why, whylen) == -1)
				break;
			n++;
			if (roles[n - 1].v[CREDS_ROLE_CSOURCE] != NULL) {
				res = creds_role_csource(p, cur, &roles[n - 1],
				    &keys, why, whylen);
				break;
			}
			cur = roles[n - 1].v[CREDS_ROLE_SOURCE];
			if (creds_role_next(names, n, cur, &roles[n - 1], why,
			    whylen) == -1)
				break;
			continue;
		}
		if (r == 0)
			res = CREDS_FOUND;
		else if (r == 3) {
			sg_strlcpy(file, why, sizeof(file));
			res = creds_from_process(p, cur, file, cmd, &keys, why,
			    whylen);
		} else if ((r == 1 || r == 2) && n == 0)
			res = CREDS_NONE;
		else if (r == 1 || r == 2) {
			sg_strlcpy(perr, why, sizeof(perr));
			sg_errf(why, whylen, "source_profile %s (of profile "
			    "%s): %s", cur, names[n - 1], perr);
		}
		break;
	}
	/* Bottom up: each role's keys call AssumeRole for the one above. */
	if (res == CREDS_FOUND && !p->check_only) {
		for (i = n; i-- > 0; ) {
			if (creds_assume(p, names[i], &roles[i], durations[i],
			    &keys, &next, why, whylen) == -1) {
				res = CREDS_FAIL;
				break;
			}
			creds_wipe(&keys);
			keys = next;
			creds_wipe(&next);
		}
	}
	if (res == CREDS_FOUND)
		*out = keys;
	creds_wipe(&keys);
	for (i = 0; i < CREDS_ROLE_DEPTH; i++)
		creds_role_free(&roles[i]);
	free(cmd);
	return res;
}

static enum creds_res
creds_from_profile(struct sg_creds_provider *p, const char *profile,
    bool named, struct sg_creds *out, char *why, size_t whylen)
{
	struct creds_files fl;
	struct sg_buf missing;
	enum creds_res res = CREDS_FAIL;

	memset(&fl, 0, sizeof(fl));
	buf_init(&missing);
	if (creds_shared_file(p, "AWS_SHARED_CREDENTIALS_FILE",
	    ".aws/credentials", &fl.cpath, &fl.ctext, &missing, why,
	    whylen) == -1 ||
	    creds_shared_file(p, "AWS_CONFIG_FILE", ".aws/config", &fl.fpath,
	    &fl.ftext, &missing, why, whylen) == -1)
		goto done;
	if (fl.ctext == NULL && fl.ftext == NULL) {
		sg_errf(why, whylen, "%s", missing.data);
		/* A profile asked for by name must be there. */
		res = named ? CREDS_FAIL : CREDS_NONE;
		goto done;
	}
	res = creds_profile_keys(p, &fl, profile, out, why, whylen);
	/* Not there, or no keys ([default] with only a region, say): the
	 * next source, unless the profile was asked for by name. */
	if (res == CREDS_NONE && named)
		res = CREDS_FAIL;
done:
	buf_free(&missing);
	free(fl.cpath);
	free(fl.fpath);
	sg_free_secret(fl.ctext);
	sg_free_secret(fl.ftext);
	return res;
}

/*
 * May a plain-http full URI be used? The SDKs allow loopback and the ECS
 * and EKS agent addresses only: anything else would send the
 * authorization token across a network in clear. Literal addresses and
 * "localhost" only, so no name lookup decides.
 */
static int
creds_container_url_ok(const char *url, char *why, size_t whylen)
{
	static const char *const allowed[] = { "169.254.170.2",
	    "169.254.170.23", "fd00:ec2::23" };
	const char *h, *e;
	char host[256];
	unsigned char a[16];
	size_t n, i;

	if (strncasecmp(url, "https://", 8) == 0)
		return 0;
	if (strncasecmp(url, "http://", 7) != 0) {
		sg_errf(why, whylen, "AWS_CONTAINER_CREDENTIALS_FULL_URI is "
		    "not an http or https URL");
		return -1;
	}
	h = url + 7;
	n = strcspn(h, "/?#");
	if (memchr(h, '@', n) != NULL)
		goto bad;
	if (*h == '[') {
		if ((e = memchr(h, ']', n)) == NULL)
			goto bad;
		h++;
	} else {
		e = h;
		while (e < h + n && *e != ':')
			e++;
	}
	if ((size_t)(e - h) >= sizeof(host) || e == h)
		goto bad;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return 0;
	if (inet_pton(AF_INET, host, a) == 1 && a[0] == 127)
		return 0;
	if (inet_pton(AF_INET6, host, a) == 1) {
		static const unsigned char lo6[16] = { [15] = 1 };

		if (memcmp(a, lo6, 16) == 0)
			return 0;
	}
	for (i = 0; i < SG_ARRAY_LEN(allowed); i++) {
		unsigned char b[16];
		int af = strchr(allowed[i], ':') ? AF_INET6 : AF_INET;

		if (inet_pton(af, host, a) == 1 &&
		    inet_pton(af, allowed[i], b) == 1 &&
		    memcmp(a, b, af == AF_INET ? 4 : 16) == 0)
			return 0;
	}
bad:
	sg_errf(why, whylen, "AWS_CONTAINER_CREDENTIALS_FULL_URI %s: plain "
	    "http is allowed only to loopback, 169.254.170.2, 169.254.170.23 "
	    "or [fd00:ec2::23]", url);
	return -1;
}

/* The Authorization value, or NULL for none. -1 on a bad token file. */
static int
creds_container_auth(struct sg_creds_provider *p, char **auth, char *why,
    size_t whylen)
{
	const char *file, *tok;
	char *text;
	size_t i;
	int r;

	*auth = NULL;
	file = creds_env(p, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	tok = creds_env(p, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	if (file != NULL) {
		/* Read every time: EKS Pod Identity rotates the file. */
		r = creds_read_file(file, CREDS_TOKEN_FILE_MAX, &text, why,
		    whylen);
		if (r == 1)
			sg_errf(why, whylen, "%s: no such file", file);
		if (r != 0)
			return -1;
		*auth = creds_strip(text);
	} else if (tok != NULL)
		*auth = xstrdup(tok);
	else
		return 0;
	for (i = 0; (*auth)[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)(*auth)[i];

		if (ch < 0x20 || ch == 0x7f) {
			sg_errf(why, whylen, "the container authorization "
			    "token has a control character");
			sg_free_secret(*auth);
			*auth = NULL;
			return -1;
		}
	}
	log_secret_add(*auth);
	return 0;
}

static enum creds_res
creds_from_container(struct sg_creds_provider *p, struct sg_creds *out,
    char *why, size_t whylen)
{
	const char *rel, *full;
	struct sg_http_response resp;
	struct sg_kv h[2];
	size_t nh = 0;
	char *url = NULL, *auth = NULL, perr[256];
	enum creds_res res = CREDS_FAIL;

	/* The relative URI wins when both are set, as in the SDKs. */
	rel = creds_env(p, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	full = creds_env(p, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	if (rel != NULL) {
		if (rel[0] != '/') {
			sg_errf(why, whylen, "AWS_CONTAINER_CREDENTIALS_"
			    "RELATIVE_URI does not start with /");
			return CREDS_FAIL;
		}
		if (asprintf(&url, "%s%s", CREDS_CONTAINER_HOST, rel) == -1)
			fatalx("out of memory");
	} else if (full != NULL) {
		if (creds_container_url_ok(full, why, whylen) == -1)
			return CREDS_FAIL;
		url = xstrdup(full);
	} else {
		sg_errf(why, whylen, "not configured");
		return CREDS_NONE;
	}
	if (creds_container_auth(p, &auth, why, whylen) == -1)
		goto done;
	h[nh++] = (struct sg_kv){ "Accept", "application/json" };
	if (auth != NULL)
		h[nh++] = (struct sg_kv){ "Authorization", auth };
	creds_http(p, "GET", url, h, nh, &resp);
	if (resp.result != SG_HTTP_OK)
		creds_http_why(&resp, url, why, whylen);
	else if (resp.status != 200)
		sg_errf(why, whylen, "%s answered HTTP %ld", url,
		    resp.status);
	else if (creds_parse_json(creds_body(&resp), resp.body.len, out, perr,
	    sizeof(perr)) == -1)
		sg_errf(why, whylen, "%s: bad credentials document: %s", url,
		    perr);
	else {
		sg_strlcpy(out->source, "container", sizeof(out->source));
		res = CREDS_FOUND;
	}
	creds_resp_free(&resp);
done:
	sg_free_secret(auth);
	free(url);
	return res;
}

/* IAM role names: letters, digits and +=,.@_- (at most 64). */
static bool
creds_role_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 128 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+=,.@_-") == n;
}

static enum creds_res
creds_from_imds(struct sg_creds_provider *p, struct sg_creds *out, char *why,
    size_t whylen)
{
	const char *dis = creds_env(p, "AWS_EC2_METADATA_DISABLED");
	const char *ep = creds_env(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode;
	struct sg_http_response resp;
	struct sg_kv h;
	char *base, *url = NULL, *token = NULL, *role = NULL, perr[256];
	size_t n;

	if (dis != NULL && strcasecmp(dis, "true") == 0) {
		sg_errf(why, whylen, "disabled (AWS_EC2_METADATA_DISABLED)");
		return CREDS_NONE;
	}
	mode = creds_env(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	if (ep == NULL)
		ep = mode != NULL && strcasecmp(mode, "IPv6") == 0 ?
		    CREDS_IMDS_ENDPOINT6 : CREDS_IMDS_ENDPOINT;
	base = xstrdup(ep);
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		base[n - 1] = '\0';

	/* IMDSv2 only: no token, no credentials (IMDSv1 is never tried). */
	if (asprintf(&url, "%s/latest/api/token", base) == -1)
		fatalx("out of memory");
	h = (struct sg_kv){ "X-aws-ec2-metadata-token-ttl-seconds",
	    CREDS_IMDS_TTL };
	creds_http(p, "PUT", url, &h, 1, &resp);
	if (resp.result != SG_HTTP_OK) {
		creds_http_why(&resp, base, why, whylen);
		goto fail;
	}
	if (resp.status == 403 || resp.status == 404 || resp.status == 405) {
		sg_errf(why, whylen, "%s refused an IMDSv2 token (HTTP %ld); "
		    "IMDSv1 is not used", base, resp.status);
		goto fail;
	}
	if (resp.status != 200) {
		sg_errf(why, whylen, "token request to %s answered HTTP %ld",
		    base, resp.status);
		goto fail;
	}
	token = creds_strip(xstrdup(creds_body(&resp)));
	creds_resp_free(&resp);
	if (token[0] == '\0' || strlen(token) > 1024 ||
	    strcspn(token, "\r\n") != strlen(token)) {
		sg_errf(why, whylen, "%s gave a malformed token", base);
		goto fail;
	}
	log_secret_add(token);
	h = (struct sg_kv){ "X-aws-ec2-metadata-token", token };

	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/",
	    base) == -1)
		fatalx("out of memory");
	creds_http(p, "GET", url, &h, 1, &resp);
	if (resp.result != SG_HTTP_OK) {
		creds_http_why(&resp, url, why, whylen);
		goto fail;
	}
	if (resp.status == 404) {
		sg_errf(why, whylen, "no IAM role attached to the instance "
		    "(%s: HTTP 404)", url);
		goto fail;
	}
	if (resp.status != 200) {
		sg_errf(why, whylen, "%s answered HTTP %ld", url,
		    resp.status);
		goto fail;
	}
	/* One role per instance profile: the first line. */
	role = xstrdup(creds_body(&resp));
	role[strcspn(role, "\r\n")] = '\0';
	creds_strip(role);
	creds_resp_free(&resp);
	if (!creds_role_ok(role)) {
		sg_errf(why, whylen, "%s gave no usable role name", url);
		goto fail;
	}

	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s",
	    base, role) == -1)
		fatalx("out of memory");
	creds_http(p, "GET", url, &h, 1, &resp);
	if (resp.result != SG_HTTP_OK) {
		creds_http_why(&resp, url, why, whylen);
		goto fail;
	}
	if (resp.status != 200) {
		sg_errf(why, whylen, "%s answered HTTP %ld", url,
		    resp.status);
		goto fail;
	}
	if (creds_parse_json(creds_body(&resp), resp.body.len, out, perr,
	    sizeof(perr)) == -1) {
		sg_errf(why, whylen, "%s: bad credentials document: %s", url,
		    perr);
		goto fail;
	}
	creds_resp_free(&resp);
	snprintf(out->source, sizeof(out->source), "instance-metadata %s",
	    role);
	free(base);
	free(url);
	free(role);
	sg_free_secret(token);
	return CREDS_FOUND;
fail:
	creds_resp_free(&resp);
	free(base);
	free(url);
	free(role);
	sg_free_secret(token);
	return CREDS_NONE;
}

/* ---- the chain ---- */

/* Walk the chain once. 0 with *out, -1 with err listing every source. */
static int
creds_resolve(struct sg_creds_provider *p, struct sg_creds *out, char *err,
    size_t errlen)
{
	const char *profile = p->profile;
	struct sg_buf tried;
	char why[768], label[160];
	enum creds_res res;
	bool named = true;
	int step = 0;

	/*
	 * A profile of the configuration file is an explicit choice, and the
	 * file wins over the environment: keys there are not looked at (nor
	 * listed as tried), as botocore drops its environment provider for an
	 * explicit profile. AWS_PROFILE is no such choice, in botocore
	 * neither: exported keys still come first then.
	 */
	if (profile != NULL) {
		step = 1;
		if (creds_env(p, "AWS_ACCESS_KEY_ID") != NULL ||
		    creds_env(p, "AWS_SECRET_ACCESS_KEY") != NULL)
			log_debug("credentials: the configuration names profile "
			    "%s: the environment's keys are not used as they "
			    "are (only as a role's credential_source = "
			    "Environment)", profile);
	} else if ((profile = creds_env(p, "AWS_PROFILE")) == NULL) {
		profile = "default";
		named = false;
	}
	buf_init(&tried);
	for (; step < 4; step++) {
		why[0] = '\0';
		switch (step) {
		case 0:
			sg_strlcpy(label, "environment", sizeof(label));
			res = creds_from_env(p, out, why, sizeof(why));
			break;
		case 1:
			snprintf(label, sizeof(label), "profile %s", profile);
			res = creds_from_profile(p, profile, named, out, why,
			    sizeof(why));
			break;
		case 2:
			sg_strlcpy(label, "container", sizeof(label));
			res = creds_from_container(p, out, why, sizeof(why));
			break;
		default:
			sg_strlcpy(label, "instance metadata", sizeof(label));
			res = creds_from_imds(p, out, why, sizeof(why));
			break;
		}
		if (res == CREDS_FOUND) {
			buf_free(&tried);
			return 0;
		}
		buf_printf(&tried, "%s%s: %s", tried.len ? "; " : "", label,
		    why);
		if (res == CREDS_FAIL)
			break;
	}
	creds_wipe(out);
	sg_errf(err, errlen, "no AWS credentials: %s", tried.data);
	buf_free(&tried);
	return -1;
}

static void	creds_sts_free(struct sg_creds_provider *);

struct sg_creds_provider *
creds_provider_new(const struct sg_creds_opts *opts)
{
	struct sg_creds_provider *p = xcalloc(1, sizeof(*p));
	struct sg_http_opts ho;

	p->getenv = opts->getenv ? opts->getenv : creds_real_getenv;
	p->interrupt = opts->interrupt;
	if (opts->sts != NULL) {
		const struct sg_aws_opts *a = opts->sts;
		size_t i;

		p->have_sts = true;
		if (!sg_strempty(opts->region))
			p->region = xstrdup(opts->region);
		if (!sg_strempty(a->endpoint_url))
			p->sts_endpoint_url = xstrdup(a->endpoint_url);
		for (i = 0; i < SG_AWS_NSERVICES; i++)
			if (!sg_strempty(a->endpoints[i]))
				p->sts_endpoints[i] = xstrdup(a->endpoints[i]);
		p->sts_max_attempts = a->max_attempts;
		p->sts_backoff_base_ms = a->backoff_base_ms;
		p->sts_backoff_cap_ms = a->backoff_cap_ms;
		p->sts_max_total_ms = a->max_total_ms > 0 &&
		    a->max_total_ms < CREDS_STS_MS ? a->max_total_ms :
		    CREDS_STS_MS;
	}
	if (!sg_strempty(opts->profile))
		p->profile = xstrdup(opts->profile);
	if (opts->http != NULL)
		p->http = opts->http;
	else {
		memset(&ho, 0, sizeof(ho));
		ho.connect_timeout_ms = CREDS_CONNECT_MS;
		ho.total_timeout_ms = CREDS_REQUEST_MS;
		ho.max_response = CREDS_RESPONSE_MAX;
		ho.ca_file = opts->ca_file;
		if ((p->http = http_new(&ho)) == NULL) {
			log_warnx("credentials: cannot make an HTTP client: "
			    "%s", http_new_error());
			creds_sts_free(p);
			free(p->profile);
			free(p);
			return NULL;
		}
		p->own_http = true;
	}
	return p;
}

/* What creds_provider_new() copied for role profiles, and their client
 * (before the HTTP client it runs on). */
static void
creds_sts_free(struct sg_creds_provider *p)
{
	size_t i;

	aws_free(p->sts_aws);
	p->sts_aws = NULL;
	free(p->region);
	free(p->sts_endpoint_url);
	for (i = 0; i < SG_AWS_NSERVICES; i++)
		free(p->sts_endpoints[i]);
}

void
creds_provider_free(struct sg_creds_provider *p)
{
	if (p == NULL)
		return;
	creds_sts_free(p);
	if (p->own_http)
		http_free(p->http);
	free(p->profile);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

static void
creds_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		sg_strlcpy(out, "never", outlen);
	else
		strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
creds_get(struct sg_creds_provider *p, time_t now, struct sg_creds *out,
    char *err, size_t errlen)
{
	static const struct sg_log_fields lf = {
		.message_id = SG_MSGID_CREDENTIALS };
	struct sg_creds fresh;
	char when[32], ferr[2048];

	if (p->have_cache && !p->rejected && !creds_needs_refresh(p->fetched,
	    p->cache.expiration, now))
		goto cached;
	/* Pace lookups while the cached ones still do. */
	if (p->have_cache && creds_usable(&p->cache, now) && p->have_attempt &&
	    now >= p->last_attempt &&
	    now - p->last_attempt < CREDS_RETRY_INTERVAL)
		goto cached;

	p->have_attempt = true;
	p->last_attempt = now;
	if (creds_resolve(p, &fresh, ferr, sizeof(ferr)) == 0 &&
	    fresh.expiration != 0 && fresh.expiration <= now) {
		creds_time(fresh.expiration, when, sizeof(when));
		snprintf(ferr, sizeof(ferr), "%s gave credentials that expired "
		    "at %s", fresh.source, when);
		creds_wipe(&fresh);
	}
	if (fresh.access_key_id[0] != '\0') {
		log_secret_add(fresh.secret_access_key);
		log_secret_add(fresh.session_token);
		creds_time(fresh.expiration, when, sizeof(when));
		if (!p->have_cache ||
		    strcmp(p->cache.source, fresh.source) != 0)
			log_msg(LOG_INFO, &lf, "credentials: using %s (access "
			    "key %s, expires %s)", fresh.source,
			    fresh.access_key_id, when);
		else
			log_debug("credentials: refreshed from %s (access key "
			    "%s, expires %s)", fresh.source,
			    fresh.access_key_id, when);
		p->cache = fresh;
		p->fetched = now;
		p->have_cache = true;
		p->warned = false;
		p->rejected = false;
		creds_wipe(&fresh);
		goto cached;
	}
	if (p->have_cache && creds_usable(&p->cache, now)) {
		if (!p->warned) {
			creds_time(p->cache.expiration, when, sizeof(when));
			log_msg(LOG_WARNING, &lf, "credentials: refresh "
			    "failed, still using those from %s (valid until "
			    "%s): %s",
			    p->cache.source, when, ferr);
			p->warned = true;
		}
		goto cached;
	}
	sg_errf(err, errlen, "%s", ferr);
	return -1;
cached:
	*out = p->cache;
	return 0;
}

bool
creds_rejected(struct sg_creds_provider *p, const char *access_key_id)
{
	/* Keys without an expiry (environment, files) do not go stale. */
	if (!p->have_cache || p->rejected || p->cache.expiration == 0 ||
	    strcmp(p->cache.access_key_id, access_key_id) != 0)
		return false;
	p->rejected = true;
	return true;
}

int
creds_callback(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	return creds_get(arg, now, out, err, errlen);
}

/*
 * The profile step of the chain as the daemon will take it, for -t: a
 * file that names a profile sgguard cannot use should fail the check, not
 * the first poll.
 */
int
creds_check_profile(const char *profile, sg_getenv_fn fn, char *why,
    size_t whylen)
{
	struct sg_creds_provider p;
	struct sg_creds c;
	enum creds_res res;

	memset(&p, 0, sizeof(p));
	p.getenv = fn != NULL ? fn : creds_real_getenv;
	p.check_only = true;
	why[0] = '\0';
	res = creds_from_profile(&p, profile, true, &c, why, whylen);
	creds_wipe(&c);
	return res == CREDS_FOUND ? 0 : -1;
}

int
creds_parse_iso8601(const char *s, time_t *out)
{
	return sg_iso8601_parse(s, out);
}
