/* http.c: every HTTP exchange, on libcurl's multi interface.
 *
 * One CURLM drives all transfers from one thread; its connection cache is
 * shared by every transfer, finished easy handles are kept for reuse, and a
 * CURLSH shares TLS sessions and the DNS cache. http_perform() is only
 * http_submit() plus http_run() until that one transfer is done.
 *
 * Extra CA bundle: CURLOPT_CAINFO replaces the system bundle, and in curl
 * 7.88 CURLOPT_CAINFO_BLOB overrides CURLOPT_CAINFO. So the system bundle
 * (libcurl's built-in path, CURLINFO_CAINFO) and the extra file are
 * concatenated once at http_new() into one PEM blob in memory, set with
 * CURLOPT_CAINFO_BLOB: both are trusted, and nothing is written to disk.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define HTTP_CONNECT_TIMEOUT_MS	5000
#define HTTP_TOTAL_TIMEOUT_MS	30000
/* A LookupEvents page is at most 50 records of up to 256 KB each, JSON
 * escaped inside the page: about 14 MB at worst. */
#define HTTP_MAX_RESPONSE	(16u * 1024 * 1024)
#define HTTP_POOL_MAX		16	/* idle easy handles kept */
#define HTTP_MAX_HOST_CONNS	8	/* per host: AWS endpoints are few */
#define HTTP_MAX_TOTAL_CONNS	256
#define HTTP_MAX_CACHED_CONNS	128	/* idle connections kept open */
#define HTTP_CA_FILE_MAX	(16u * 1024 * 1024)

struct http_xfer {
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct sg_http_response	 resp;
	sg_http_done_fn		 done;
	void			*arg;
	size_t			 max_response;
	bool			 too_large;
	bool			 oom;
	char			 errbuf[CURL_ERROR_SIZE];
	struct http_xfer	*prev, *next;
};

struct sg_http {
	CURLM			*multi;
	CURLSH			*share;
	struct sg_http_opts	 opts;
	char			*ca_blob;	/* system + extra PEM or NULL */
	size_t			 ca_blob_len;
	CURL			*pool[HTTP_POOL_MAX];
	size_t			 npool;
	struct http_xfer	*xfers;		/* in flight */
	int			 nxfers;
};

static const char *const system_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt",	/* Debian, Ubuntu */
	"/etc/pki/tls/certs/ca-bundle.crt",	/* Fedora, RHEL */
	"/etc/ssl/cert.pem",			/* Alpine, BSD */
};

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Why the last http_new() failed, for http_new_error(). */
static char http_why[512];

const char *
http_new_error(void)
{
	return http_why[0] != '\0' ? http_why : "unknown error";
}

static int
read_file(const char *path, size_t max, struct sg_buf *out, char *why,
    size_t whylen)
{
	char chunk[8192];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		sg_errf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + n > max) {
			sg_errf(why, whylen, "%s: larger than %zu bytes", path,
			    max);
			fclose(f);
			return -1;
		}
		if (buf_append(out, chunk, n) == -1) {
			fclose(f);
			sg_errf(why, whylen, "%s: out of memory", path);
			return -1;
		}
	}
	if (ferror(f)) {
		sg_errf(why, whylen, "%s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Number of certificates in a PEM buffer, so a wrong ca_file is reported
 * at start-up rather than as a TLS failure on the first call. */
static int
pem_count_certs(const char *pem, size_t len)
{
	STACK_OF(X509_INFO) *infos;
	BIO *bio;
	int i, n = 0;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return -1;
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (infos == NULL)
		return 0;
	for (i = 0; i < sk_X509_INFO_num(infos); i++)
		if (sk_X509_INFO_value(infos, i)->x509 != NULL)
			n++;
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	return n;
}

/* The bundle libcurl uses when no CA option is set. */
static const char *
system_ca_bundle(void)
{
	const char *path = NULL;
	size_t i;
#if LIBCURL_VERSION_NUM >= 0x075400	/* CURLINFO_CAINFO: 7.84.0 */
	CURL *e;

	if ((e = curl_easy_init()) != NULL) {
		char *p = NULL;

		if (curl_easy_getinfo(e, CURLINFO_CAINFO, &p) == CURLE_OK &&
		    p != NULL && access(p, R_OK) == 0) {
			static char saved[PATH_MAX];

			sg_strlcpy(saved, p, sizeof(saved));
			path = saved;
		}
		curl_easy_cleanup(e);
	}
	if (path != NULL)
		return path;
#endif
	for (i = 0; i < SG_ARRAY_LEN(system_bundles); i++)
		if (access(system_bundles[i], R_OK) == 0)
			return system_bundles[i];
	return NULL;
}

/* The CA file's text and its number of certificates; -1 with why. */
static int
read_ca_file(const char *path, struct sg_buf *out, char *why, size_t whylen)
{
	int n;

	if (read_file(path, HTTP_CA_FILE_MAX, out, why, whylen) == -1)
		return -1;
	n = pem_count_certs(out->data != NULL ? out->data : "", out->len);
	if (n <= 0) {
		sg_errf(why, whylen, "%s: no PEM certificate in it", path);
		return -1;
	}
	return n;
}

int
http_ca_file_check(const char *path, char *why, size_t whylen)
{
	struct sg_buf b;
	int n;

	buf_init(&b);
	n = read_ca_file(path, &b, why, whylen);
	buf_free(&b);
	return n;
}

static int
http_load_ca(struct sg_http *h, const char *ca_file)
{
	struct sg_buf pem, extra;
	const char *sys;
	int n;

	buf_init(&pem);
	buf_init(&extra);
	if ((n = read_ca_file(ca_file, &extra, http_why,
	    sizeof(http_why))) == -1)
		goto fail;
	if ((sys = system_ca_bundle()) == NULL)
		log_warnx("no system CA bundle found; trusting only %s",
		    ca_file);
	else if (read_file(sys, HTTP_CA_FILE_MAX, &pem, http_why,
	    sizeof(http_why)) == -1)
		goto fail;
	if (buf_putc(&pem, '\n') == -1 ||
	    buf_append(&pem, extra.data, extra.len) == -1) {
		sg_errf(http_why, sizeof(http_why), "CA bundle: out of memory");
		goto fail;
	}
	buf_free(&extra);
	h->ca_blob_len = pem.len;
	h->ca_blob = buf_steal(&pem);
	log_debug("CA bundle: %s plus %d certificate(s) from %s",
	    sys ? sys : "(none)", n, ca_file);
	return 0;
fail:
	buf_free(&pem);
	buf_free(&extra);
	return -1;
}

struct sg_http *
http_new(const struct sg_http_opts *opts)
{
	static int curl_ready;
	struct sg_http *h;

	http_why[0] = '\0';
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			sg_errf(http_why, sizeof(http_why),
			    "curl_global_init failed");
			return NULL;
		}
		curl_ready = 1;
	}
	h = xcalloc(1, sizeof(*h));
	if (opts != NULL)
		h->opts = *opts;
	h->opts.ca_file = NULL;
	if (h->opts.connect_timeout_ms <= 0)
		h->opts.connect_timeout_ms = HTTP_CONNECT_TIMEOUT_MS;
	if (h->opts.total_timeout_ms <= 0)
		h->opts.total_timeout_ms = HTTP_TOTAL_TIMEOUT_MS;
	if (h->opts.max_response == 0)
		h->opts.max_response = HTTP_MAX_RESPONSE;
	if (opts != NULL && !sg_strempty(opts->ca_file) &&
	    http_load_ca(h, opts->ca_file) == -1) {
		free(h);
		return NULL;
	}

	if ((h->multi = curl_multi_init()) == NULL ||
	    (h->share = curl_share_init()) == NULL) {
		sg_errf(http_why, sizeof(http_why),
		    "libcurl: cannot create handles");
		goto fail;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)HTTP_MAX_HOST_CONNS);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)HTTP_MAX_TOTAL_CONNS);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	    (long)HTTP_MAX_CACHED_CONNS);
	/* One thread: the share needs no lock callbacks. */
	curl_share_setopt(h->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	return h;
fail:
	http_free(h);
	return NULL;
}

void
http_get_opts(const struct sg_http *h, struct sg_http_opts *out)
{
	*out = h->opts;
}

static void
wipe_slist(struct curl_slist *l)
{
	struct curl_slist *p;

	/* Headers carry the session token and the signature. */
	for (p = l; p != NULL; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void
xfer_unlink(struct sg_http *h, struct http_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	h->nxfers--;
}

/* Give an easy handle back to the pool, or close it. */
static void
easy_release(struct sg_http *h, CURL *e)
{
	if (e == NULL)
		return;
	if (h->npool < HTTP_POOL_MAX) {
		curl_easy_reset(e);
		h->pool[h->npool++] = e;
	} else
		curl_easy_cleanup(e);
}

static void
xfer_free(struct sg_http *h, struct http_xfer *x)
{
	wipe_slist(x->hdrs);
	easy_release(h, x->easy);
	http_response_free(&x->resp);
	free(x);
}

void
http_free(struct sg_http *h)
{
	struct http_xfer *x;
	size_t i;

	if (h == NULL)
		return;
	/* Transfers still in flight are dropped without their callbacks. */
	while ((x = h->xfers) != NULL) {
		curl_multi_remove_handle(h->multi, x->easy);
		xfer_unlink(h, x);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		xfer_free(h, x);
	}
	for (i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	if (h->share != NULL)
		curl_share_cleanup(h->share);
	free(h->ca_blob);
	free(h);
}

static size_t
xfer_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t n = size * nmemb;

	if (n > x->max_response - x->resp.body.len) {
		/* Returning short aborts the transfer: memory stays bounded. */
		x->too_large = true;
		return 0;
	}
	if (buf_append(&x->resp.body, data, n) == -1) {
		x->oom = true;
		return 0;
	}
	return n;
}

static void
header_value(const char *v, size_t len, char *out, size_t outsize)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
	    v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len >= outsize)
		len = outsize - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static size_t
xfer_header(char *line, size_t size, size_t nmemb, void *arg)
{
	static const char *const reqid_names[] = {
		"x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id",
	};
	struct http_xfer *x = arg;
	size_t n = size * nmemb, nl, i;
	const char *colon;

	/* A new status line starts a new response (100 Continue, proxy). */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->resp.date[0] = '\0';
		x->resp.request_id[0] = '\0';
		return n;
	}
	if ((colon = memchr(line, ':', n)) == NULL)
		return n;
	nl = (size_t)(colon - line);
	if (nl == 4 && strncasecmp(line, "date", 4) == 0) {
		header_value(colon + 1, n - nl - 1, x->resp.date,
		    sizeof(x->resp.date));
		return n;
	}
	for (i = 0; i < SG_ARRAY_LEN(reqid_names); i++)
		if (nl == strlen(reqid_names[i]) &&
		    strncasecmp(line, reqid_names[i], nl) == 0 &&
		    x->resp.request_id[0] == '\0')
			header_value(colon + 1, n - nl - 1, x->resp.request_id,
			    sizeof(x->resp.request_id));
	return n;
}

static CURL *
easy_get(struct sg_http *h)
{
	if (h->npool > 0)
		return h->pool[--h->npool];
	return curl_easy_init();
}

#define SETOPT(x, opt, val) do {					\
	if (curl_easy_setopt((x)->easy, (opt), (val)) != CURLE_OK) {	\
		log_warnx("libcurl: cannot set %s", #opt);		\
		return -1;						\
	}								\
} while (0)

static int
xfer_setup(struct sg_http *h, struct http_xfer *x,
    const struct sg_http_request *req)
{
	struct sg_buf line;
	struct curl_slist *l;
	bool has_ctype = false;
	long timeout;
	size_t i;

	SETOPT(x, CURLOPT_SHARE, h->share);
	SETOPT(x, CURLOPT_PRIVATE, x);
	SETOPT(x, CURLOPT_URL, req->url);
	SETOPT(x, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(x, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* A signed request must never be replayed at another address. */
	SETOPT(x, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(x, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(x, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_blob != NULL) {
		struct curl_blob blob = {
			h->ca_blob, h->ca_blob_len, CURL_BLOB_NOCOPY,
		};

		SETOPT(x, CURLOPT_CAINFO_BLOB, &blob);
	}
	SETOPT(x, CURLOPT_NOSIGNAL, 1L);
	SETOPT(x, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(x, CURLOPT_USERAGENT, "sgguard/" SGGUARD_VERSION);
	SETOPT(x, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
	timeout = req->timeout_ms > 0 ? req->timeout_ms :
	    h->opts.total_timeout_ms;
	SETOPT(x, CURLOPT_TIMEOUT_MS, timeout);
	SETOPT(x, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_response);
	SETOPT(x, CURLOPT_WRITEFUNCTION, xfer_write);
	SETOPT(x, CURLOPT_WRITEDATA, x);
	SETOPT(x, CURLOPT_HEADERFUNCTION, xfer_header);
	SETOPT(x, CURLOPT_HEADERDATA, x);
	SETOPT(x, CURLOPT_ERRORBUFFER, x->errbuf);

	if (req->method == NULL || strcmp(req->method, "GET") == 0)
		SETOPT(x, CURLOPT_HTTPGET, 1L);
	else {
		SETOPT(x, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len);
		SETOPT(x, CURLOPT_COPYPOSTFIELDS,
		    req->body_len > 0 ? (const char *)req->body : "");
		if (strcmp(req->method, "POST") != 0)
			SETOPT(x, CURLOPT_CUSTOMREQUEST, req->method);
	}

	buf_init(&line);
	for (i = 0; i < req->nheaders; i++) {
		const struct sg_kv *kv = &req->headers[i];

		if (strcasecmp(kv->name, "Content-Type") == 0)
			has_ctype = true;
		buf_reset(&line);
		/* "Name;" sends a header with an empty value. */
		if ((kv->value[0] == '\0' ?
		    buf_printf(&line, "%s;", kv->name) :
		    buf_printf(&line, "%s: %s", kv->name, kv->value)) == -1 ||
		    (l = curl_slist_append(x->hdrs, line.data)) == NULL) {
			buf_free_secure(&line);
			log_warnx("http: out of memory");
			return -1;
		}
		x->hdrs = l;
	}
	buf_free_secure(&line);
	/* No form Content-Type unless asked; no 100-continue round trip. */
	if (!has_ctype && req->method != NULL &&
	    strcmp(req->method, "GET") != 0 &&
	    (l = curl_slist_append(x->hdrs, "Content-Type:")) != NULL)
		x->hdrs = l;
	if ((l = curl_slist_append(x->hdrs, "Expect:")) != NULL)
		x->hdrs = l;
	SETOPT(x, CURLOPT_HTTPHEADER, x->hdrs);
	return 0;
}

#undef SETOPT

int
http_submit(struct sg_http *h, const struct sg_http_request *req,
    sg_http_done_fn done, void *arg)
{
	struct http_xfer *x;
	CURLMcode mc;

	x = xcalloc(1, sizeof(*x));
	x->done = done;
	x->arg = arg;
	x->max_response = h->opts.max_response;
	buf_init(&x->resp.body);
	if ((x->easy = easy_get(h)) == NULL) {
		log_warnx("libcurl: cannot create a transfer");
		free(x);
		return -1;
	}
	if (xfer_setup(h, x, req) == -1) {
		xfer_free(h, x);
		return -1;
	}
	if ((mc = curl_multi_add_handle(h->multi, x->easy)) != CURLM_OK) {
		log_warnx("libcurl: %s", curl_multi_strerror(mc));
		xfer_free(h, x);
		return -1;
	}
	x->next = h->xfers;
	if (h->xfers != NULL)
		h->xfers->prev = x;
	h->xfers = x;
	h->nxfers++;
	return 0;
}

static enum sg_http_result
map_result(CURLcode c, const struct http_xfer *x)
{
	switch (c) {
	case CURLE_OK:
		return SG_HTTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
		return SG_HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return SG_HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return SG_HTTP_ERR_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return SG_HTTP_ERR_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		return x->too_large ? SG_HTTP_ERR_TOO_LARGE : SG_HTTP_ERR_OTHER;
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2_STREAM:
		return SG_HTTP_ERR_PARTIAL;
	default:
		return SG_HTTP_ERR_OTHER;
	}
}

static void
xfer_finish(struct sg_http *h, struct http_xfer *x, CURLcode c)
{
	struct sg_http_response *r = &x->resp;
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	r->status = status;
	r->result = map_result(c, x);
	if (r->result == SG_HTTP_ERR_TOO_LARGE)
		snprintf(r->error, sizeof(r->error),
		    "response larger than %zu bytes", x->max_response);
	else if (x->oom)
		sg_strlcpy(r->error, "out of memory", sizeof(r->error));
	else if (c != CURLE_OK)
		sg_strlcpy(r->error, x->errbuf[0] != '\0' ? x->errbuf :
		    curl_easy_strerror(c), sizeof(r->error));
	curl_multi_remove_handle(h->multi, x->easy);
	xfer_unlink(h, x);
	if (x->done != NULL)
		x->done(r, x->arg);
	xfer_free(h, x);
}

/* Run the callbacks of finished transfers; returns how many. */
static int
http_collect(struct sg_http *h)
{
	struct http_xfer *x;
	CURLMsg *m;
	CURLcode c;
	CURL *e;
	char *p;
	int left, n = 0;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* m dies with remove_handle: copy what is needed first. */
		e = m->easy_handle;
		c = m->data.result;
		p = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
		if ((x = (struct http_xfer *)p) == NULL)
			continue;
		xfer_finish(h, x, c);
		n++;
	}
	return n;
}

int
http_run(struct sg_http *h, long timeout_ms)
{
	long start = mono_ms(), left;
	int running, done = 0;
	CURLMcode mc;

	for (;;) {
		if ((mc = curl_multi_perform(h->multi, &running)) != CURLM_OK)
			log_warnx("libcurl: %s", curl_multi_strerror(mc));
		done += http_collect(h);
		/* Return on any completion: the caller may have work now. */
		if (done > 0 || h->nxfers == 0)
			break;
		left = timeout_ms - (mono_ms() - start);
		if (left <= 0)
			break;
		/* Sleeps until a socket is ready or curl's next timer. */
		mc = curl_multi_poll(h->multi, NULL, 0,
		    left > INT_MAX ? INT_MAX : (int)left, NULL);
		if (mc != CURLM_OK) {
			log_warnx("libcurl: %s", curl_multi_strerror(mc));
			break;
		}
	}
	return h->nxfers;
}

int
http_cancel(struct sg_http *h, sg_http_done_fn done, void *arg)
{
	struct http_xfer *x, *next;
	int n = 0;

	for (x = h->xfers; x != NULL; x = next) {
		next = x->next;
		if (x->done != done || x->arg != arg)
			continue;
		curl_multi_remove_handle(h->multi, x->easy);
		xfer_unlink(h, x);
		xfer_free(h, x);
		n++;
	}
	return n;
}

struct perform_wait {
	struct sg_http_response	*out;
	bool			 done;
};

static void
perform_done(struct sg_http_response *r, void *arg)
{
	struct perform_wait *w = arg;

	*w->out = *r;
	buf_init(&r->body);	/* the caller owns the body now */
	w->done = true;
}

void
http_perform(struct sg_http *h, const struct sg_http_request *req,
    struct sg_http_response *resp)
{
	struct perform_wait w = { resp, false };

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body);
	if (http_submit(h, req, perform_done, &w) == -1) {
		resp->result = SG_HTTP_ERR_OTHER;
		sg_strlcpy(resp->error, "cannot start the transfer",
		    sizeof(resp->error));
		return;
	}
	/* Every transfer ends: curl enforces the timeouts. */
	while (!w.done)
		http_run(h, 1000);
}

void
http_response_free(struct sg_http_response *r)
{
	if (r != NULL)
		buf_free(&r->body);
}

const char *
http_result_name(enum sg_http_result r)
{
	switch (r) {
	case SG_HTTP_OK:
		return "ok";
	case SG_HTTP_ERR_CONNECT:
		return "connection failed";
	case SG_HTTP_ERR_TIMEOUT:
		return "timed out";
	case SG_HTTP_ERR_TLS:
		return "TLS error";
	case SG_HTTP_ERR_TOO_LARGE:
		return "response too large";
	case SG_HTTP_ERR_PARTIAL:
		return "incomplete response";
	case SG_HTTP_ERR_OTHER:
		break;
	}
	return "transfer failed";
}
