/* sts.c: temporary credentials of another account from STS AssumeRole
 * (see sts.h, and its re-entrancy rule). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws.h"
#include "awserr.h"
#include "creds.h"
#include "log.h"
#include "sts.h"
#include "util.h"
#include "xml.h"

#define STS_ERR_MAX	1024

/* What a role session name and an external id may hold ([\w+=,.@-] and
 * [\w+=,.@:/-] in botocore's model; \w is ASCII there). */
#define STS_WORD	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789_"
#define STS_NAME_CHARS	STS_WORD "+=,.@-"
#define STS_EXTID_CHARS	STS_WORD "+=,.@:/-"

struct sg_sts_provider {
	char		*role_arn;
	char		*external_id;	/* NULL: none */
	char		*session_name;
	int		 duration;
	char		*region;
	struct sg_aws	*aws;
	bool		 quiet;
	char		 source[sizeof(((struct sg_creds *)0)->source)];

	struct sg_creds	 cache;
	bool		 have_cache;
	time_t		 fetched;	/* now of the fetch that filled cache */
	bool		 failed;	/* the last attempt failed */
	time_t		 failed_at;
	bool		 warned;	/* kept the old ones, said so */
	bool		 in_flight;	/* an AssumeRole call is pending */
	bool		 waiting;	/* inside sts_get(), waiting for it */
	bool		 rejected;	/* AWS called the cached ones expired */
	time_t		 call_now;	/* now of the call in flight */
	unsigned	 requests;
	char		 last_err[STS_ERR_MAX];
};

static void
sts_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		sg_strlcpy(out, "never", outlen);
	else
		strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- validation ---- */

static bool
sts_only(const char *s, size_t n, const char *allowed)
{
	return strspn(s, allowed) >= n;
}

int
sts_check_role_arn(const char *arn, char *account, char *err, size_t errlen)
{
	const char *p, *q, *name;
	size_t n, i;

	if (sg_strempty(arn)) {
		sg_errf(err, errlen, "role_arn is empty");
		return -1;
	}
	n = strlen(arn);
	if (n > STS_ROLE_ARN_MAX)
		goto bad;
	if (strncmp(arn, "arn:", 4) != 0)
		goto bad;
	/* Partition: aws, aws-cn, aws-us-gov, aws-iso... */
	p = arn + 4;
	for (q = p; (*q >= 'a' && *q <= 'z') || *q == '-'; q++)
		;
	if (q == p || q - p > 32 || strncmp(q, ":iam::", 6) != 0)
		goto bad;
	p = q + 6;
	for (i = 0; i < 12; i++)
		if (!isdigit((unsigned char)p[i]))
			goto bad;
	if (strncmp(p + 12, ":role/", 6) != 0)
		goto bad;
	if (account != NULL) {
		memcpy(account, p, 12);
		account[12] = '\0';
	}
	p += 18;
	/* [PATH/]NAME: the path printable ASCII, the name [\w+=,.@-]{1,64}. */
	name = strrchr(p, '/');
	name = name != NULL ? name + 1 : p;
	for (q = p; q < name; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			goto bad;
	n = strlen(name);
	if (n == 0 || n > 64 || !sts_only(name, n, STS_NAME_CHARS))
		goto bad;
	return 0;
bad:
	sg_errf(err, errlen, "role_arn \"%.*s\" is not an IAM role ARN "
	    "(arn:aws:iam::ACCOUNT:role/NAME)", 160, arn);
	return -1;
}

int
sts_check_external_id(const char *id, char *err, size_t errlen)
{
	size_t n = id != NULL ? strlen(id) : 0;

	if (n < 2 || n > STS_EXTERNAL_ID_MAX) {
		sg_errf(err, errlen, "external_id must have 2 to %d characters "
		    "(it has %zu)", STS_EXTERNAL_ID_MAX, n);
		return -1;
	}
	if (!sts_only(id, n, STS_EXTID_CHARS)) {
		sg_errf(err, errlen, "external_id may hold only letters, "
		    "digits and _+=,.@:/- (offset %zu)",
		    strspn(id, STS_EXTID_CHARS));
		return -1;
	}
	return 0;
}

int
sts_check_session_name(const char *s, char *err, size_t errlen)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n < 2 || n > STS_SESSION_NAME_MAX ||
	    !sts_only(s, n, STS_NAME_CHARS)) {
		sg_errf(err, errlen, "role session name must have 2 to %d "
		    "characters of letters, digits and _+=,.@-",
		    STS_SESSION_NAME_MAX);
		return -1;
	}
	return 0;
}

void
sts_session_name(const char *hostname, char *out, size_t outlen)
{
	char name[STS_SESSION_NAME_MAX + 1];
	const char *h = hostname;

	sg_strlcpy(name, "sgguard", sizeof(name));
	if (!sg_strempty(h)) {
		size_t n = strlen(name);

		name[n++] = '-';
		for (; *h != '\0' && n < STS_SESSION_NAME_MAX; h++)
			name[n++] = strchr(STS_NAME_CHARS, *h) != NULL ?
			    *h : '-';
		name[n] = '\0';
	}
	sg_strlcpy(out, name, outlen);
}

/* ---- timing ---- */

/* The rule of every refreshable source lives in creds.c. */
time_t
sts_refresh_time(time_t fetched, time_t expiration)
{
	return creds_refresh_time(fetched, expiration);
}

bool
sts_needs_refresh(time_t fetched, time_t expiration, time_t now)
{
	return now >= sts_refresh_time(fetched, expiration);
}

/* Worth using at now rather than failing. */
static bool
sts_usable(const struct sg_creds *c, time_t now)
{
	return c->expiration - now > CREDS_MIN_VALIDITY;
}

/* ---- the AssumeRole response ---- */

enum sts_field {
	F_AKID,
	F_SECRET,
	F_TOKEN,
	F_EXPIRATION,
	F_CODE,
	F_MESSAGE,
	F_N
};

static const struct {
	const char	*path;
	const char	*name;
} sts_fields[F_N] = {
	[F_AKID] = { "/AssumeRoleResponse/AssumeRoleResult/Credentials/"
	    "AccessKeyId", "AccessKeyId" },
	[F_SECRET] = { "/AssumeRoleResponse/AssumeRoleResult/Credentials/"
	    "SecretAccessKey", "SecretAccessKey" },
	[F_TOKEN] = { "/AssumeRoleResponse/AssumeRoleResult/Credentials/"
	    "SessionToken", "SessionToken" },
	[F_EXPIRATION] = { "/AssumeRoleResponse/AssumeRoleResult/Credentials/"
	    "Expiration", "Expiration" },
	[F_CODE] = { "/ErrorResponse/Error/Code", "Code" },
	[F_MESSAGE] = { "/ErrorResponse/Error/Message", "Message" },
};

struct sts_doc {
	char	*v[F_N];
	bool	 error_doc;
	char	 why[192];
};

static int
sts_doc_start(void *arg, const char *path, const char *name, int depth)
{
	struct sts_doc *d = arg;
	size_t i, n;
	const char *slash;

	if (depth == 1) {
		if (strcmp(name, "AssumeRoleResponse") == 0)
			return 0;
		if (strcmp(name, "ErrorResponse") == 0) {
			d->error_doc = true;
			return 0;
		}
		snprintf(d->why, sizeof(d->why), "not an AssumeRoleResponse "
		    "(the root element is <%.64s>)", name);
		return -1;
	}
	/* A value with elements inside is not a value. */
	slash = strrchr(path, '/');
	n = (size_t)(slash - path);
	for (i = 0; i < F_N; i++)
		if (strlen(sts_fields[i].path) == n &&
		    strncmp(sts_fields[i].path, path, n) == 0) {
			snprintf(d->why, sizeof(d->why), "%s has child "
			    "elements", sts_fields[i].name);
			return -1;
		}
	return 0;
}

static int
sts_doc_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct sts_doc *d = arg;
	size_t i;

	for (i = 0; i < F_N; i++) {
		if (strcmp(path, sts_fields[i].path) != 0)
			continue;
		if (d->v[i] != NULL) {
			snprintf(d->why, sizeof(d->why), "%s given twice",
			    sts_fields[i].name);
			return -1;
		}
		while (len > 0 && isspace((unsigned char)*text)) {
			text++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)text[len - 1]))
			len--;
		d->v[i] = xstrndup(text, len);
		break;
	}
	return 0;
}

/* Key ids, secrets and tokens go into HTTP headers: printable ASCII
 * without spaces, so nothing can split a header. */
static int
sts_set_field(char *dst, size_t dstlen, const char *what, const char *v,
    const char *allowed, char *err, size_t errlen)
{
	size_t i, n = strlen(v);

	if (n == 0) {
		sg_errf(err, errlen, "%s is empty", what);
		return -1;
	}
	if (n >= dstlen) {
		sg_errf(err, errlen, "%s is too long (%zu bytes, at most %zu)",
		    what, n, dstlen - 1);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= 0x20 || ch >= 0x7f ||
		    (allowed != NULL && strchr(allowed, ch) == NULL)) {
			sg_errf(err, errlen, "%s has a character that is not "
			    "allowed at offset %zu", what, i);
			return -1;
		}
	}
	memcpy(dst, v, n + 1);
	return 0;
}

int
sts_parse_assume_role(const char *xml, size_t len, struct sg_creds *out,
    char *err, size_t errlen)
{
	struct sts_doc d;
	struct sg_xml_handler h = { sts_doc_start, sts_doc_end, &d };
	char xerr[192], code[128], msg[384], bad[64];
	size_t i;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	if (xml == NULL || len == 0) {
		sg_errf(err, errlen, "empty answer");
		return -1;
	}
	if (xml_parse(xml, len, &h, xerr, sizeof(xerr)) == -1) {
		if (d.why[0] != '\0')
			sg_errf(err, errlen, "%s", d.why);
		else
			sg_errf(err, errlen, "not XML: %s", xerr);
		goto done;
	}
	if (d.error_doc) {
		log_sanitize(d.v[F_CODE] ? d.v[F_CODE] : "unknown", code,
		    sizeof(code));
		log_sanitize(d.v[F_MESSAGE] ? d.v[F_MESSAGE] : "", msg,
		    sizeof(msg));
		sg_errf(err, errlen, "STS error %s%s%s", code,
		    msg[0] != '\0' ? ": " : "", msg);
		goto done;
	}
	for (i = F_AKID; i <= F_EXPIRATION; i++)
		if (d.v[i] == NULL) {
			sg_errf(err, errlen, "no %s in AssumeRoleResult/"
			    "Credentials", sts_fields[i].name);
			goto done;
		}
	if (sts_set_field(out->access_key_id, sizeof(out->access_key_id),
	    "AccessKeyId", d.v[F_AKID], STS_WORD, err, errlen) == -1 ||
	    sts_set_field(out->secret_access_key,
	    sizeof(out->secret_access_key), "SecretAccessKey", d.v[F_SECRET],
	    NULL, err, errlen) == -1 ||
	    sts_set_field(out->session_token, sizeof(out->session_token),
	    "SessionToken", d.v[F_TOKEN], NULL, err, errlen) == -1)
		goto done;
	if (sg_iso8601_parse(d.v[F_EXPIRATION], &out->expiration) == -1) {
		log_sanitize(d.v[F_EXPIRATION], bad, sizeof(bad));
		sg_errf(err, errlen, "Expiration \"%s\" is not an ISO 8601 "
		    "time", bad);
		goto done;
	}
	if (out->expiration <= 0)
		out->expiration = 1;	/* 0 would mean "never expires" */
	rv = 0;
done:
	if (rv == -1)
		creds_wipe(out);
	for (i = 0; i < F_N; i++)
		sg_free_secret(d.v[i]);
	return rv;
}

/* ---- error messages ---- */

void
sts_error_message(const struct sg_aws_error *e, const char *role_arn,
    bool have_external_id, const char *region, char *out, size_t outlen)
{
	const char *code = e->code;
	char msg[384], line[768];

	log_sanitize(e->message, msg, sizeof(msg));
	if (region == NULL)
		region = "?";

	if (e->kind == SG_AWS_ERR_CREDENTIALS) {
		sg_errf(out, outlen, "cannot assume %s: no base credentials "
		    "to call STS with: %s", role_arn, msg);
		return;
	}
	if (strcmp(code, "InvalidClientTokenId") == 0 ||
	    strcmp(code, "UnrecognizedClientException") == 0) {
		sg_errf(out, outlen, "cannot assume %s: STS does not accept "
		    "sgguard's base access key: check that the base "
		    "credentials are current and active (for temporary keys, "
		    "that the session token goes with them) and that region "
		    "%s is enabled for the base account (%s: %s)", role_arn,
		    region, code, msg);
		return;
	}
	if (e->kind == SG_AWS_ERR_CLOCK_SKEW) {
		sg_errf(out, outlen, "cannot assume %s: STS says the request "
		    "time is off: %s (%s: %s)", role_arn, e->hint[0] != '\0' ?
		    e->hint : "check the system clock", code, msg);
		return;
	}
	if (strcmp(code, "SignatureDoesNotMatch") == 0) {
		sg_errf(out, outlen, "cannot assume %s: STS rejected the "
		    "signature made with sgguard's base credentials: check "
		    "the secret access key that goes with the access key "
		    "(%s: %s)", role_arn, code, msg);
		return;
	}
	if (strcmp(code, "ExpiredToken") == 0 ||
	    strcmp(code, "ExpiredTokenException") == 0) {
		sg_errf(out, outlen, "cannot assume %s: sgguard's base "
		    "credentials have expired: renew them (%s: %s)", role_arn,
		    code, msg);
		return;
	}
	if (strcmp(code, "RegionDisabledException") == 0) {
		sg_errf(out, outlen, "cannot assume %s: STS is not activated "
		    "in region %s for sgguard's base account: activate it "
		    "(IAM, Account settings) or set sts_endpoint_url (%s: %s)",
		    role_arn, region, code, msg);
		return;
	}
	if (strcmp(code, "ValidationError") == 0) {
		sg_errf(out, outlen, "cannot assume %s: STS refused the "
		    "request: check role_arn, external_id and that the session "
		    "duration is within the role's maximum session duration "
		    "(%s: %s)", role_arn, code, msg);
		return;
	}
	/* After the codes above: RegionDisabledException is a 403 too. */
	if (strcmp(code, "AccessDenied") == 0 ||
	    e->kind == SG_AWS_ERR_DENIED) {
		sg_errf(out, outlen, "sgguard's base identity may not assume "
		    "%s: check the role's trust policy and sts:AssumeRole in "
		    "sgguard's policy%s (%s: %s)", role_arn, have_external_id ?
		    ", and that external_id matches the trust policy's "
		    "sts:ExternalId condition" :
		    "; if the trust policy requires an sts:ExternalId, set "
		    "external_id", code[0] != '\0' ? code : "denied", msg);
		return;
	}
	awserr_format(e, line, sizeof(line));
	switch (e->kind) {
	case SG_AWS_ERR_TRANSPORT:
	case SG_AWS_ERR_TOO_LARGE:
		sg_errf(out, outlen, "cannot assume %s: no usable answer from "
		    "STS in region %s (%s)", role_arn, region, line);
		break;
	case SG_AWS_ERR_THROTTLED:
	case SG_AWS_ERR_SERVER:
		sg_errf(out, outlen, "cannot assume %s: STS failed, will try "
		    "again (%s)", role_arn, line);
		break;
	default:
		sg_errf(out, outlen, "cannot assume %s: AssumeRole failed (%s)",
		    role_arn, line);
		break;
	}
}

/* ---- the provider ---- */

struct sg_sts_provider *
sts_provider_new(const struct sg_sts_opts *o)
{
	struct sg_sts_provider *p;
	char session[STS_SESSION_NAME_MAX + 1], err[256], url[256];
	int duration = o->duration != 0 ? o->duration : STS_DURATION_DEFAULT;

	if (o->aws == NULL) {
		log_warnx("assume-role: no AWS client for STS");
		return NULL;
	}
	if (sts_check_role_arn(o->role_arn, NULL, err, sizeof(err)) == -1 ||
	    (!sg_strempty(o->external_id) &&
	    sts_check_external_id(o->external_id, err, sizeof(err)) == -1) ||
	    (!sg_strempty(o->session_name) &&
	    sts_check_session_name(o->session_name, err, sizeof(err)) == -1)) {
		log_warnx("assume-role: %s", err);
		return NULL;
	}
	if (duration < STS_DURATION_MIN || duration > STS_DURATION_MAX) {
		log_warnx("assume-role %s: session duration %d s is not "
		    "within %d..%d", o->role_arn, duration, STS_DURATION_MIN,
		    STS_DURATION_MAX);
		return NULL;
	}
	if (aws_default_endpoint(SG_AWS_STS, o->region, url,
	    sizeof(url)) == -1) {
		log_warnx("assume-role %s: \"%s\" is not a region name",
		    o->role_arn, o->region != NULL ? o->region : "");
		return NULL;
	}
	if (!sg_strempty(o->session_name))
		sg_strlcpy(session, o->session_name, sizeof(session));
	else {
		char hostname[256];

		if (gethostname(hostname, sizeof(hostname)) == -1)
			hostname[0] = '\0';
		hostname[sizeof(hostname) - 1] = '\0';
		sts_session_name(hostname, session, sizeof(session));
	}

	p = xcalloc(1, sizeof(*p));
	p->role_arn = xstrdup(o->role_arn);
	if (!sg_strempty(o->external_id)) {
		p->external_id = xstrdup(o->external_id);
		/* Not a secret as such, but nothing logs it either. */
	}
	p->session_name = xstrdup(session);
	p->duration = duration;
	p->region = xstrdup(o->region);
	p->aws = o->aws;
	p->quiet = o->quiet;
	snprintf(p->source, sizeof(p->source), "assume-role %s", p->role_arn);
	return p;
}

void
sts_provider_free(struct sg_sts_provider *p)
{
	if (p == NULL)
		return;
	free(p->role_arn);
	free(p->external_id);
	free(p->session_name);
	free(p->region);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

const char *
sts_role_arn(const struct sg_sts_provider *p)
{
	return p->role_arn;
}

unsigned
sts_requests(const struct sg_sts_provider *p)
{
	return p->requests;
}

time_t
sts_next_refresh(const struct sg_sts_provider *p)
{
	time_t t = 0;

	if (p->have_cache)
		t = sts_refresh_time(p->fetched, p->cache.expiration);
	if (p->failed && p->failed_at + CREDS_RETRY_INTERVAL > t)
		t = p->failed_at + CREDS_RETRY_INTERVAL;
	return t;
}

/* What an AssumeRole answer gives: 0 with *out, -1 with err. */
static int
sts_read_answer(struct sg_sts_provider *p, struct sg_aws_response *resp,
    time_t now, struct sg_creds *out, char *err, size_t errlen)
{
	char perr[256], when[32];

	memset(out, 0, sizeof(*out));
	if (resp->err.kind != SG_AWS_OK) {
		sts_error_message(&resp->err, p->role_arn,
		    p->external_id != NULL, p->region, err, errlen);
		return -1;
	}
	if (sts_parse_assume_role(resp->body.data, resp->body.len, out, perr,
	    sizeof(perr)) == -1) {
		sg_errf(err, errlen, "cannot assume %s: STS answered HTTP %ld "
		    "with an unusable document: %s", p->role_arn,
		    resp->http_status, perr);
		return -1;
	}
	sg_strlcpy(out->source, p->source, sizeof(out->source));
	/* Before anything could print them. */
	log_secret_add(out->secret_access_key);
	log_secret_add(out->session_token);
	if (!sts_usable(out, now)) {
		sts_time(out->expiration, when, sizeof(when));
		sg_errf(err, errlen, "cannot assume %s: STS gave credentials "
		    "that expire at %s, %lld s from now: check the system "
		    "clock (timedatectl)", p->role_arn, when,
		    (long long)(out->expiration - now));
		creds_wipe(out);
		return -1;
	}
	return 0;
}

/* The outcome of a call begun at now that ended at done. */
static void
sts_settle(struct sg_sts_provider *p, int ok, struct sg_creds *fresh,
    const char *ferr, time_t now, time_t done)
{
	static const struct sg_log_fields lf = {
		.message_id = SG_MSGID_CREDENTIALS };
	char when[32];

	if (ok == 0) {
		sts_time(fresh->expiration, when, sizeof(when));
		if (!p->have_cache && !p->quiet)
			log_msg(LOG_INFO, &lf, "credentials: using %s (session "
			    "%s, access key %s, expires %s)", p->source,
			    p->session_name, fresh->access_key_id, when);
		else
			log_debug("credentials: refreshed %s (access key %s, "
			    "expires %s)", p->source, fresh->access_key_id,
			    when);
		creds_wipe(&p->cache);
		p->cache = *fresh;
		p->have_cache = true;
		p->fetched = now;
		p->rejected = false;
		p->failed = false;
		p->warned = false;
		p->last_err[0] = '\0';
		return;
	}
	p->failed = true;
	/* From when it failed, not when it began: a call can take a minute
	 * of retries. */
	p->failed_at = done;
	sg_strlcpy(p->last_err, ferr, sizeof(p->last_err));
	if (p->have_cache && sts_usable(&p->cache, done)) {
		if (!p->warned) {
			sts_time(p->cache.expiration, when, sizeof(when));
			log_msg(LOG_WARNING, &lf, "credentials: refresh "
			    "failed, still using those from %s (valid until "
			    "%s): %s", p->source, when, ferr);
			p->warned = true;
		}
		return;
	}
	if (p->have_cache) {
		/* Expired for good: nothing left worth keeping. */
		time_t exp = p->cache.expiration;

		sts_time(exp, when, sizeof(when));
		creds_wipe(&p->cache);
		p->have_cache = false;
		sg_errf(p->last_err, sizeof(p->last_err), "the credentials "
		    "of %s expire%s at %s and could not be refreshed: %s",
		    p->source, exp <= done ? "d" : "", when, ferr);
	}
}

/* The cached credentials, or an error that says why there are none. */
static int
sts_cached(struct sg_sts_provider *p, time_t now, struct sg_creds *out,
    char *err, size_t errlen)
{
	if (p->have_cache && sts_usable(&p->cache, now)) {
		/* Keep them redacted even if many others were registered
		 * since (log.c keeps a bounded ring). */
		log_secret_add(p->cache.secret_access_key);
		log_secret_add(p->cache.session_token);
		*out = p->cache;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if (p->have_cache) {
		char when[32];

		sts_time(p->cache.expiration, when, sizeof(when));
		sg_errf(err, errlen, "the credentials of %s expire at %s and "
		    "were not refreshed%s%s", p->source, when,
		    p->last_err[0] != '\0' ? ": " : "", p->last_err);
	} else if (p->last_err[0] != '\0')
		sg_errf(err, errlen, "%s", p->last_err);
	else if (p->in_flight)
		sg_errf(err, errlen, "no credentials from %s yet (STS has not "
		    "answered AssumeRole so far)", p->source);
	else
		sg_errf(err, errlen, "no credentials from %s yet (they are "
		    "fetched before each cycle)", p->source);
	return -1;
}

/* After a failure, STS is asked again at most every RETRY_INTERVAL. */
static bool
sts_paced(const struct sg_sts_provider *p, time_t now)
{
	return p->failed && now >= p->failed_at &&
	    now - p->failed_at < CREDS_RETRY_INTERVAL;
}

/* aws_run() delivers the AssumeRole answer here. */
static void
sts_answer(struct sg_aws_response *resp, void *arg)
{
	struct sg_sts_provider *p = arg;
	struct sg_creds fresh;
	char ferr[STS_ERR_MAX];
	time_t done = p->call_now + resp->elapsed_ms / 1000;
	int ok;

	ferr[0] = '\0';
	ok = sts_read_answer(p, resp, p->call_now, &fresh, ferr,
	    sizeof(ferr));
	buf_free_secure(&resp->body);
	p->in_flight = false;
	sts_settle(p, ok, &fresh, ferr, p->call_now, done);
	creds_wipe(&fresh);
}

int
sts_refresh_start(struct sg_sts_provider *p, time_t now)
{
	struct sg_kv params[4];
	struct sg_aws_request req;
	char dur[16];
	size_t n = 0;

	if (p->in_flight)
		return 1;
	if (p->have_cache && !p->rejected &&
	    !sts_needs_refresh(p->fetched, p->cache.expiration, now))
		return 0;
	if (sts_paced(p, now))
		return 0;

	snprintf(dur, sizeof(dur), "%d", p->duration);
	params[n++] = (struct sg_kv){ "RoleArn", p->role_arn };
	params[n++] = (struct sg_kv){ "RoleSessionName", p->session_name };
	params[n++] = (struct sg_kv){ "DurationSeconds", dur };
	if (p->external_id != NULL)
		params[n++] = (struct sg_kv){ "ExternalId", p->external_id };
	req = (struct sg_aws_request){
		.service = SG_AWS_STS,
		.region = p->region,
		.action = "AssumeRole",
		.params = params,
		.nparams = n,
	};
	p->requests++;
	p->call_now = now;
	if (aws_submit(p->aws, &req, sts_answer, p) == -1) {
		char ferr[STS_ERR_MAX];

		sg_errf(ferr, sizeof(ferr), "cannot assume %s: the AssumeRole "
		    "request could not be made", p->role_arn);
		sts_settle(p, -1, NULL, ferr, now, now);
		return 0;
	}
	p->in_flight = true;
	return 1;
}

bool
sts_in_flight(const struct sg_sts_provider *p)
{
	return p->in_flight;
}

bool
sts_has_credentials(const struct sg_sts_provider *p, time_t now)
{
	return p->have_cache && !p->rejected && sts_usable(&p->cache, now);
}

bool
sts_rejected(struct sg_sts_provider *p, const char *access_key_id)
{
	if (!p->have_cache || p->rejected ||
	    strcmp(p->cache.access_key_id, access_key_id) != 0)
		return false;
	p->rejected = true;
	return true;
}

int
sts_get(struct sg_sts_provider *p, time_t now, struct sg_creds *out,
    char *err, size_t errlen)
{
	/* Re-entered while waiting for our own STS call: never nest. */
	if (p->waiting)
		return sts_cached(p, now, out, err, errlen);
	if (sts_refresh_start(p, now) == 0 && sts_paced(p, now) &&
	    !sts_has_credentials(p, now)) {
		memset(out, 0, sizeof(*out));
		sg_errf(err, errlen, "%s (next attempt in %lld s)",
		    p->last_err, (long long)(p->failed_at +
		    CREDS_RETRY_INTERVAL - now));
		return -1;
	}
	p->waiting = true;
	while (p->in_flight)
		aws_run(p->aws, 1000);
	p->waiting = false;
	return sts_cached(p, now, out, err, errlen);
}

int
sts_callback(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	return sts_cached(arg, now, out, err, errlen);
}
