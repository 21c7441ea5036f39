/* aws.c: signed AWS calls with retries, on sg_http's multi interface.
 *
 * A call lives in one of three places: a->calls while waiting for its
 * next attempt or while an attempt is in flight, then a->done once it has
 * an outcome, until aws_run() runs its callback. HTTP completions only
 * record outcomes and schedule retries; attempts start and user callbacks
 * run from aws_run() alone, so nothing re-enters the caller from inside the
 * HTTP layer (the credentials provider may use the same sg_http).
 */
#include <sys/queue.h>
#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "aws.h"
#include "config.h"
#include "log.h"
#include "sigv4.h"
#include "util.h"

#define AWS_REGION_MAX	63

static const struct aws_service {
	const char	*name;		/* endpoint prefix and signing name */
	const char	*version;	/* Query API version; NULL: JSON */
	const char	*target_prefix;	/* JSON: X-Amz-Target prefix */
} services[SG_AWS_NSERVICES] = {
	[SG_AWS_CLOUDTRAIL] = { "cloudtrail", NULL,
	    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101." },
	[SG_AWS_EC2] = { "ec2", "2016-11-15", NULL },
	[SG_AWS_SNS] = { "sns", "2010-03-31", NULL },
	[SG_AWS_STS] = { "sts", "2011-06-15", NULL },
};

static const char ctype_query[] =
    "application/x-www-form-urlencoded; charset=utf-8";
static const char ctype_json[] = "application/x-amz-json-1.1";

struct aws_endpoint {
	char	*url;		/* as given to curl */
	char	*host;		/* Host header: host[:port] */
	char	*path;		/* as sent, and signed */
};

enum call_state {
	CALL_WAITING,	/* next attempt due at due_ms */
	CALL_INFLIGHT,
	CALL_DONE,	/* outcome known, callback not yet run */
};

struct aws_call {
	struct sg_aws		*aws;
	TAILQ_ENTRY(aws_call)	 entry;
	enum call_state		 state;
	enum sg_aws_service	 service;
	char			*region;
	char			*action;
	char			*target;	/* JSON: X-Amz-Target */
	struct sg_buf		 body;
	struct aws_endpoint	 ep;
	int			 attempts;
	long			 start_ms;
	long			 due_ms;
	struct sg_aws_response	 resp;
	sg_aws_done_fn		 done;
	void			*arg;
	sg_creds_fn		 creds;		/* the request's, else the client's */
	void			*creds_arg;
};

TAILQ_HEAD(aws_calls, aws_call);

struct sg_aws {
	struct sg_http		*http;
	long			 http_timeout_ms;
	sg_creds_fn		 creds;
	void			*creds_arg;
	struct aws_endpoint	 ep[SG_AWS_NSERVICES];	/* url NULL: AWS */
	int			 max_attempts;
	long			 base_ms;
	long			 cap_ms;
	long			 max_total_ms;
	long			 throttle_floor_ms;
	uint32_t		(*random)(void *);
	void			*random_arg;
	time_t			(*clock)(void *);
	void			*clock_arg;
	uint64_t		 rng;
	struct aws_calls	 calls;		/* waiting or in flight */
	struct aws_calls	 done;		/* callbacks due */
	int			 ncalls;	/* not yet delivered */
	int			 ninflight;
	int			 nwaiting;
	void			(*idle)(void *);	/* each pass of aws_run */
	void			*idle_arg;
	volatile sig_atomic_t	*intr;		/* stop flag, or NULL */
	long			 intr_grace_ms;
	long			 intr_since;	/* when it was seen set */
	struct sg_sigv4_cache	*keys;		/* signing keys derived */
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	/* An interruption only shortens the wait: the caller loops. */
	nanosleep(&ts, NULL);
}

/* splitmix64: jitter needs spread, not secrecy. */
static uint32_t
default_random(void *arg)
{
	struct sg_aws *a = arg;
	uint64_t z;

	z = (a->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static time_t
default_clock(void *arg)
{
	return time(NULL);
}

const char *
aws_service_name(enum sg_aws_service s)
{
	return (unsigned)s < SG_AWS_NSERVICES ? services[s].name : "unknown";
}

int
aws_service_parse(const char *name, enum sg_aws_service *out)
{
	size_t i;

	for (i = 0; i < SG_AWS_NSERVICES; i++)
		if (strcasecmp(name, services[i].name) == 0) {
			*out = (enum sg_aws_service)i;
			return 0;
		}
	return -1;
}

long
aws_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t r)
{
	uint64_t span;
	long ceiling;

	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	if (attempt < 0)
		attempt = 0;
	ceiling = cap_ms;
	if (attempt < 62 && base_ms <= (cap_ms >> attempt))
		ceiling = base_ms << attempt;
	/* Multiply-shift maps r onto [0, ceiling] without modulo bias; in
	 * two halves so that no product overflows. */
	span = (uint64_t)ceiling + 1;
	return (long)((span >> 32) * r + (((span & 0xffffffffu) * r) >> 32));
}

int
aws_form_encode(const char *s, struct sg_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char esc[3];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~' || *p == ' ') {
			/* Space as '+', like urlencode(): moto rebuilds the
			 * body that way before checking the signature. */
			if (buf_putc(out, *p == ' ' ? '+' : (char)*p) == -1)
				return -1;
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[*p >> 4];
		esc[2] = hex[*p & 0xf];
		if (buf_append(out, esc, 3) == -1)
			return -1;
	}
	return 0;
}

int
aws_query_body(const char *action, const char *version,
    const struct sg_kv *params, size_t n, struct sg_buf *out)
{
	size_t i;

	if (buf_puts(out, "Action=") == -1 ||
	    aws_form_encode(action, out) == -1 ||
	    buf_puts(out, "&Version=") == -1 ||
	    aws_form_encode(version, out) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_putc(out, '&') == -1 ||
		    aws_form_encode(params[i].name, out) == -1 ||
		    buf_putc(out, '=') == -1 ||
		    aws_form_encode(params[i].value != NULL ?
		    params[i].value : "", out) == -1)
			return -1;
	return 0;
}

static bool
region_valid(const char *r)
{
	size_t i, n;

	if (r == NULL || (n = strlen(r)) == 0 || n > AWS_REGION_MAX ||
	    !islower((unsigned char)r[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)r[i]) &&
		    !isdigit((unsigned char)r[i]) && r[i] != '-')
			return false;
	return true;
}

int
aws_default_endpoint(enum sg_aws_service s, const char *region, char *out,
    size_t outsize)
{
	int n;

	if ((unsigned)s >= SG_AWS_NSERVICES || !region_valid(region))
		return -1;
	n = snprintf(out, outsize, "https://%s.%s.amazonaws.com%s/",
	    services[s].name, region,
	    strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

static void
endpoint_free(struct aws_endpoint *ep)
{
	free(ep->url);
	free(ep->host);
	free(ep->path);
	ep->url = ep->host = ep->path = NULL;
}

static void
endpoint_copy(struct aws_endpoint *dst, const struct aws_endpoint *src)
{
	dst->url = xstrdup(src->url);
	dst->host = xstrdup(src->host);
	dst->path = xstrdup(src->path);
}

/* Split a base URL into what curl gets and what is signed: both come
 * from one parse, so the signed Host and path are the ones sent. */
static int
endpoint_parse(const char *url, struct aws_endpoint *ep, char *err,
    size_t errlen)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL, *user = NULL, *full = NULL;
	CURLU *u;
	int rc = -1;

	memset(ep, 0, sizeof(*ep));
	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "not a URL");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "scheme must be http or https");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "no query or user name allowed");
		goto out;
	}
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
		snprintf(err, errlen, "not a URL");
		goto out;
	}
	/* As botocore does: the port is named unless it is the default. */
	if (port != NULL && !((strcmp(scheme, "http") == 0 &&
	    strcmp(port, "80") == 0) || (strcmp(scheme, "https") == 0 &&
	    strcmp(port, "443") == 0))) {
		if (asprintf(&ep->host, "%s:%s", host, port) == -1)
			fatalx("out of memory");
	} else
		ep->host = xstrdup(host);
	ep->url = xstrdup(full);
	ep->path = xstrdup(path[0] != '\0' ? path : "/");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(user);
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}

struct sg_aws *
aws_new(const struct sg_aws_opts *o)
{
	struct sg_http_opts ho;
	struct sg_aws *a;
	char err[128];
	const char *url;
	size_t i;

	if (o->http == NULL || o->creds == NULL) {
		log_warnx("aws: no HTTP client or credentials provider");
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->keys = xcalloc(1, sizeof(*a->keys));
	TAILQ_INIT(&a->calls);
	TAILQ_INIT(&a->done);
	a->http = o->http;
	http_get_opts(a->http, &ho);
	a->http_timeout_ms = ho.total_timeout_ms;
	a->creds = o->creds;
	a->creds_arg = o->creds_arg;
	a->max_attempts = o->max_attempts > 0 ? o->max_attempts :
	    SG_AWS_MAX_ATTEMPTS;
	a->base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms :
	    SG_AWS_BACKOFF_BASE_MS;
	a->cap_ms = o->backoff_cap_ms > 0 ? o->backoff_cap_ms :
	    SG_AWS_BACKOFF_CAP_MS;
	a->max_total_ms = o->max_total_ms > 0 ? o->max_total_ms :
	    SG_AWS_MAX_TOTAL_MS;
	a->throttle_floor_ms = o->throttle_floor_ms > 0 ?
	    o->throttle_floor_ms : SG_AWS_THROTTLE_FLOOR_MS;
	a->random = o->random != NULL ? o->random : default_random;
	a->random_arg = o->random != NULL ? o->random_arg : a;
	a->clock = o->clock != NULL ? o->clock : default_clock;
	a->clock_arg = o->clock_arg;
	if (getrandom(&a->rng, sizeof(a->rng), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(a->rng))
		a->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	for (i = 0; i < SG_AWS_NSERVICES; i++) {
		url = !sg_strempty(o->endpoints[i]) ? o->endpoints[i] :
		    o->endpoint_url;
		if (sg_strempty(url))
			continue;
		if (endpoint_parse(url, &a->ep[i], err, sizeof(err)) == -1) {
			log_warnx("%s endpoint %s: %s", services[i].name, url,
			    err);
			aws_free(a);
			return NULL;
		}
	}
	return a;
}

static void	call_http_done(struct sg_http_response *, void *);

static void
call_free(struct aws_call *c)
{
	free(c->region);
	free(c->action);
	free(c->target);
	buf_free(&c->body);
	endpoint_free(&c->ep);
	aws_response_free(&c->resp);
	free(c);
}

void
aws_free(struct sg_aws *a)
{
	struct aws_call *c;
	size_t i;

	if (a == NULL)
		return;
	/* Transfers in flight point at their calls: cancel them (so the
	 * sg_aws must be freed before its sg_http). */
	while ((c = TAILQ_FIRST(&a->calls)) != NULL) {
		TAILQ_REMOVE(&a->calls, c, entry);
		if (c->state == CALL_INFLIGHT)
			http_cancel(a->http, call_http_done, c);
		call_free(c);
	}
	while ((c = TAILQ_FIRST(&a->done)) != NULL) {
		TAILQ_REMOVE(&a->done, c, entry);
		call_free(c);
	}
	for (i = 0; i < SG_AWS_NSERVICES; i++)
		endpoint_free(&a->ep[i]);
	sigv4_cache_clear(a->keys);
	free(a->keys);
	free(a);
}

void
aws_opts_from_config(struct sg_aws_opts *o, const struct sg_config *cfg)
{
	o->endpoint_url = cfg->endpoint_url;
	o->endpoints[SG_AWS_CLOUDTRAIL] = cfg->cloudtrail_endpoint_url;
	o->endpoints[SG_AWS_EC2] = cfg->ec2_endpoint_url;
	o->endpoints[SG_AWS_SNS] = cfg->sns_endpoint_url;
	o->endpoints[SG_AWS_STS] = cfg->sts_endpoint_url;
}

static void
knob(const char *name, long *out)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n <= 0) {
		log_warnx("%s=%s: not a positive number, ignored", name, v);
		return;
	}
	*out = n;
}

void
aws_apply_env_knobs(struct sg_http_opts *ho, struct sg_aws_opts *ao)
{
	const char *fast = getenv("SGGUARD_TEST_FAST");
	long v;

	if (fast != NULL && strcmp(fast, "1") == 0) {
		ho->connect_timeout_ms = 1000;
		ho->total_timeout_ms = 2000;
		ao->backoff_base_ms = 10;
		ao->backoff_cap_ms = 100;
		ao->max_total_ms = 10000;
	}
	knob("SGGUARD_HTTP_CONNECT_TIMEOUT_MS", &ho->connect_timeout_ms);
	knob("SGGUARD_HTTP_TIMEOUT_MS", &ho->total_timeout_ms);
	v = (long)ho->max_response;
	knob("SGGUARD_HTTP_MAX_RESPONSE", &v);
	ho->max_response = (size_t)v;
	v = ao->max_attempts;
	knob("SGGUARD_AWS_MAX_ATTEMPTS", &v);
	ao->max_attempts = v > INT_MAX ? INT_MAX : (int)v;
	knob("SGGUARD_AWS_BACKOFF_BASE_MS", &ao->backoff_base_ms);
	knob("SGGUARD_AWS_BACKOFF_CAP_MS", &ao->backoff_cap_ms);
	knob("SGGUARD_AWS_MAX_TOTAL_MS", &ao->max_total_ms);
	knob("SGGUARD_AWS_THROTTLE_FLOOR_MS", &ao->throttle_floor_ms);
}

/* The call has its outcome: queue its callback for aws_run(). */
static void
call_finish(struct sg_aws *a, struct aws_call *c)
{
	c->state = CALL_DONE;
	c->resp.attempts = c->attempts;
	c->resp.elapsed_ms = sg_mono_ms() - c->start_ms;
	TAILQ_REMOVE(&a->calls, c, entry);
	TAILQ_INSERT_TAIL(&a->done, c, entry);
}

static void
call_fail(struct sg_aws *a, struct aws_call *c, enum sg_aws_error_kind kind,
    const char *msg)
{
	memset(&c->resp.err, 0, sizeof(c->resp.err));
	c->resp.err.kind = kind;
	sg_strlcpy(c->resp.err.message, msg, sizeof(c->resp.err.message));
	call_finish(a, c);
}

/* Turn the Date header into a measure of our clock's error. */
static void
skew_hint(struct sg_aws_response *r, time_t now)
{
	struct sg_aws_error *e = &r->err;
	long d;

	if (r->server_time <= 0)
		return;
	d = (long)(now - r->server_time);
	snprintf(e->hint, sizeof(e->hint), "check the system clock "
	    "(timedatectl): it is %ld s %s AWS's", d < 0 ? -d : d,
	    d < 0 ? "behind" : "ahead of");
}

static void
call_http_done(struct sg_http_response *hr, void *arg)
{
	struct aws_call *c = arg;
	struct sg_aws *a = c->aws;
	struct sg_aws_response *r = &c->resp;
	char line[1024];
	long now = sg_mono_ms(), delay;
	time_t t;

	a->ninflight--;
	awserr_from_http(hr, &r->err);
	r->http_status = hr->status;
	buf_free(&r->body);
	r->body = hr->body;
	buf_init(&hr->body);
	sg_strlcpy(r->request_id, r->err.request_id, sizeof(r->request_id));
	r->server_time = 0;
	if (hr->date[0] != '\0' && (t = curl_getdate(hr->date, NULL)) > 0)
		r->server_time = t;
	if (r->err.kind == SG_AWS_ERR_CLOCK_SKEW)
		skew_hint(r, a->clock(a->clock_arg));
	if (r->err.kind == SG_AWS_OK) {
		call_finish(a, c);
		return;
	}

	awserr_format(&r->err, line, sizeof(line));
	if (awserr_retryable(&r->err) && c->attempts < a->max_attempts) {
		delay = aws_backoff_ms(c->attempts - 1, a->base_ms, a->cap_ms,
		    a->random(a->random_arg));
		/* AWS rate limits are per second: a throttled call retried
		 * sooner is throttled again. */
		if (r->err.kind == SG_AWS_ERR_THROTTLED &&
		    delay < a->throttle_floor_ms)
			delay = a->throttle_floor_ms;
		if (now + delay - c->start_ms < a->max_total_ms) {
			log_debug("%s %s %s: attempt %d of %d failed (%s); "
			    "retrying in %ld ms", services[c->service].name,
			    c->region, c->action, c->attempts,
			    a->max_attempts, line, delay);
			c->state = CALL_WAITING;
			c->due_ms = now + delay;
			a->nwaiting++;
			return;
		}
	}
	log_debug("%s %s %s: attempt %d failed (%s)",
	    services[c->service].name, c->region, c->action, c->attempts, line);
	call_finish(a, c);
}

/* Fetch credentials, sign, hand to the HTTP layer. */
static void
call_start(struct sg_aws *a, struct aws_call *c, long now_ms)
{
	/* Host, Content-Type, X-Amz-Target, signer's add[4], Authorization */
	struct sg_kv hdrs[3 + 4 + 1];
	struct sg_sigv4_request sreq;
	struct sg_sigv4_params sp;
	struct sg_sigv4_result res;
	struct sg_http_request hreq;
	struct sg_creds cr;
	char err[2048];
	size_t nh = 0, nbase, i;
	long left;
	time_t now;

	c->attempts++;
	now = a->clock(a->clock_arg);
	memset(&cr, 0, sizeof(cr));
	memset(&res, 0, sizeof(res));
	err[0] = '\0';
	if (c->creds(c->creds_arg, now, &cr, err, sizeof(err)) == -1) {
		call_fail(a, c, SG_AWS_ERR_CREDENTIALS,
		    err[0] != '\0' ? err : "no credentials");
		goto out;
	}

	/* Which key signed it: an ExpiredToken answer names these. */
	sg_strlcpy(c->resp.access_key_id, cr.access_key_id,
	    sizeof(c->resp.access_key_id));
	hdrs[nh++] = (struct sg_kv){ "Host", c->ep.host };
	hdrs[nh++] = (struct sg_kv){ "Content-Type",
	    c->target != NULL ? ctype_json : ctype_query };
	if (c->target != NULL)
		hdrs[nh++] = (struct sg_kv){ "X-Amz-Target", c->target };
	nbase = nh;
	sreq = (struct sg_sigv4_request){
		.method = "POST",
		.path = c->ep.path,
		.query = NULL,
		.headers = hdrs,
		.nheaders = nbase,
		.body = c->body.data,
		.body_len = c->body.len,
	};
	sp = (struct sg_sigv4_params){
		.region = c->region,
		.service = services[c->service].name,
		.now = now,
		.creds = &cr,
		.normalize_path = true,
		.sign_content_sha256 = false,
		.omit_session_token = false,
		.cache = a->keys,
	};
	if (sigv4_sign(&sreq, &sp, &res) == -1) {
		call_fail(a, c, SG_AWS_ERR_LOCAL, "cannot sign the request");
		goto out;
	}
	for (i = 0; i < res.nadd && i < SG_ARRAY_LEN(res.add); i++)
		hdrs[nh++] = res.add[i];
	hdrs[nh++] = (struct sg_kv){ "Authorization", res.authorization };

	/* No attempt may run past the call's total time. */
	left = a->max_total_ms - (now_ms - c->start_ms);
	hreq = (struct sg_http_request){
		.method = "POST",
		.url = c->ep.url,
		.headers = hdrs,
		.nheaders = nh,
		.body = c->body.data,
		.body_len = c->body.len,
		.timeout_ms = left < a->http_timeout_ms ?
		    (left > 1 ? left : 1) : 0,
	};
	if (http_submit(a->http, &hreq, call_http_done, c) == -1) {
		call_fail(a, c, SG_AWS_ERR_LOCAL, "cannot start the transfer");
		goto out;
	}
	c->state = CALL_INFLIGHT;
	a->ninflight++;
out:
	sigv4_result_free(&res);
	OPENSSL_cleanse(&cr, sizeof(cr));
}

int
aws_submit(struct sg_aws *a, const struct sg_aws_request *req,
    sg_aws_done_fn done, void *arg)
{
	const struct aws_service *svc;
	struct aws_call *c;
	char url[256], err[128];
	const char *p;
	int rc;

	if ((unsigned)req->service >= SG_AWS_NSERVICES ||
	    sg_strempty(req->action)) {
		log_warnx("aws: a call needs a known service and an action");
		return -1;
	}
	/* The action goes into a header: letters and digits only. */
	for (p = req->action; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p)) {
			log_warnx("aws: bad action name");
			return -1;
		}
	svc = &services[req->service];

	c = xcalloc(1, sizeof(*c));
	c->aws = a;
	c->service = req->service;
	c->region = xstrdup(req->region != NULL ? req->region : "");
	c->creds = req->creds != NULL ? req->creds : a->creds;
	c->creds_arg = req->creds != NULL ? req->creds_arg : a->creds_arg;
	c->action = xstrdup(req->action);
	c->done = done;
	c->arg = arg;
	c->start_ms = c->due_ms = sg_mono_ms();
	buf_init(&c->body);
	buf_init(&c->resp.body);
	c->state = CALL_WAITING;
	TAILQ_INSERT_TAIL(&a->calls, c, entry);
	a->ncalls++;
	a->nwaiting++;

	if (svc->version == NULL) {
		if (asprintf(&c->target, "%s%s", svc->target_prefix,
		    req->action) == -1)
			fatalx("out of memory");
		rc = buf_puts(&c->body, req->json != NULL ? req->json : "{}");
	} else
		rc = aws_query_body(req->action, req->version != NULL ?
		    req->version : svc->version, req->params, req->nparams,
		    &c->body);
	if (rc == -1) {
		a->nwaiting--;
		call_fail(a, c, SG_AWS_ERR_LOCAL, "out of memory");
		return 0;
	}
	if (!region_valid(c->region)) {
		a->nwaiting--;
		call_fail(a, c, SG_AWS_ERR_LOCAL, "invalid region name");
		return 0;
	}
	if (a->ep[req->service].url != NULL)
		endpoint_copy(&c->ep, &a->ep[req->service]);
	else if (aws_default_endpoint(req->service, c->region, url,
	    sizeof(url)) == -1 ||
	    endpoint_parse(url, &c->ep, err, sizeof(err)) == -1) {
		a->nwaiting--;
		call_fail(a, c, SG_AWS_ERR_LOCAL, "cannot build the endpoint");
	}
	return 0;
}

/* Start every attempt that is due. Rescans after each start: the
 * credentials provider may drive the HTTP layer, which can change the
 * list. Returns when the next one is due, or -1 if none waits. */
static struct aws_call *
first_due(struct sg_aws *a, long now)
{
	struct aws_call *c;

	TAILQ_FOREACH(c, &a->calls, entry)
		if (c->state == CALL_WAITING && c->due_ms <= now)
			return c;
	return NULL;
}

void
aws_set_idle(struct sg_aws *a, void (*fn)(void *), void *arg)
{
	a->idle = fn;
	a->idle_arg = arg;
}

void
aws_set_interrupt(struct sg_aws *a, volatile sig_atomic_t *flag,
    long grace_ms)
{
	a->intr = flag;
	a->intr_grace_ms = grace_ms;
	a->intr_since = 0;
}

/* Once the stop flag is up no retry starts, and a transfer in flight has
 * grace_ms to finish before it is cancelled: stopping stays prompt. */
static void
aws_interrupt_check(struct sg_aws *a, long now)
{
	struct aws_call *c, *n;

	if (a->intr == NULL || *a->intr == 0)
		return;
	if (a->intr_since == 0)
		a->intr_since = now;
	for (c = TAILQ_FIRST(&a->calls); c != NULL; c = n) {
		n = TAILQ_NEXT(c, entry);
		if (c->state == CALL_WAITING) {
			a->nwaiting--;
			call_fail(a, c, SG_AWS_ERR_LOCAL,
			    "interrupted: sgguard is stopping");
		} else if (c->state == CALL_INFLIGHT &&
		    now - a->intr_since >= a->intr_grace_ms) {
			http_cancel(a->http, call_http_done, c);
			a->ninflight--;
			call_fail(a, c, SG_AWS_ERR_LOCAL,
			    "interrupted: sgguard is stopping");
		}
	}
}

static long
aws_start_due(struct sg_aws *a, long now)
{
	struct aws_call *c;
	long next;

	while ((c = first_due(a, now)) != NULL) {
		a->nwaiting--;
		call_start(a, c, now);
	}
	next = -1;
	TAILQ_FOREACH(c, &a->calls, entry)
		if (c->state == CALL_WAITING &&
		    (next == -1 || c->due_ms < next))
			next = c->due_ms;
	return next;
}

static int
aws_deliver(struct sg_aws *a)
{
	struct aws_call *c;
	int n = 0;

	while ((c = TAILQ_FIRST(&a->done)) != NULL) {
		TAILQ_REMOVE(&a->done, c, entry);
		a->ncalls--;
		if (c->done != NULL)
			c->done(&c->resp, c->arg);
		call_free(c);
		n++;
	}
	return n;
}

int
aws_run(struct sg_aws *a, long timeout_ms)
{
	long start = sg_mono_ms(), now, next, left, wait;

	for (;;) {
		now = sg_mono_ms();
		if (a->idle != NULL)
			a->idle(a->idle_arg);
		aws_interrupt_check(a, now);
		next = aws_start_due(a, now);
		left = timeout_ms - (now - start);
		if (left < 0)
			left = 0;
		wait = left;
		if (next >= 0 && next - now < wait)
			wait = next > now ? next - now : 0;
		if (!TAILQ_EMPTY(&a->done))
			wait = 0;
		if (a->intr_since != 0 && wait > 100)
			wait = 100;
		if (a->ninflight > 0)
			http_run(a->http, wait);
		else if (a->nwaiting > 0 && wait > 0)
			sleep_ms(wait);
		if (aws_deliver(a) > 0 || left == 0)
			break;
		if (a->ninflight == 0 && a->nwaiting == 0)
			break;
	}
	return a->ncalls;
}

int
aws_pending(const struct sg_aws *a)
{
	return a->ncalls;
}

struct call_wait {
	struct sg_aws_response	*out;
	bool			 done;
};

static void
call_wait_done(struct sg_aws_response *r, void *arg)
{
	struct call_wait *w = arg;

	*w->out = *r;
	buf_init(&r->body);	/* the caller owns the body now */
	w->done = true;
}

int
aws_call(struct sg_aws *a, const struct sg_aws_request *req,
    struct sg_aws_response *resp)
{
	struct call_wait w = { resp, false };

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body);
	if (aws_submit(a, req, call_wait_done, &w) == -1) {
		resp->err.kind = SG_AWS_ERR_LOCAL;
		sg_strlcpy(resp->err.message, "invalid request",
		    sizeof(resp->err.message));
		return -1;
	}
	while (!w.done)
		aws_run(a, 1000);
	return resp->err.kind == SG_AWS_OK ? 0 : -1;
}

void
aws_response_free(struct sg_aws_response *r)
{
	if (r != NULL)
		buf_free(&r->body);
}
