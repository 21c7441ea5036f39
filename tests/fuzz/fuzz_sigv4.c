/* fuzz_sigv4.c: SigV4 canonicalisation of arbitrary requests.
 *
 * Input: one flags byte, then an HTTP request in the test suite's
 * request.txt form: "METHOD TARGET VERSION", header lines "Name:value"
 * (a line starting with white space continues the previous value), an
 * empty line, the body. TARGET is split at the first '?' into path and
 * query. So the seeds are the suite's requests with one byte in front.
 *
 * Flags: 1 normalise the path, 2 sign x-amz-content-sha256, 4 omit the
 * session token from the signature, 8 credentials with a session token,
 * 16 hash the body (else the empty payload), 32 no query at all (NULL).
 *
 * When sigv4_canonical_request accepts the request, its output must have
 * the spec's shape: METHOD, an absolute URI of unreserved bytes and %XX,
 * a query of encoded name=value pairs sorted and '&'-joined, one
 * "name:value" line per signed header in sorted order with no line
 * break inside a value, the signed-header list (lower case, sorted,
 * ';'-joined, with host and x-amz-date), and a 64-digit hex hash. Then
 * string to sign and the full signature must succeed too.
 */
#include "fuzz.h"

#include "sigv4.h"
#include "util.h"

#define FZ_MAX_HEADERS	64

struct fz_request {
	char		*text;		/* owns method, path, query, names */
	char		*values[FZ_MAX_HEADERS];
	struct sg_kv	 headers[FZ_MAX_HEADERS];
	size_t		 nheaders;
	const char	*method;
	const char	*path;
	const char	*query;
	const char	*body;
	size_t		 body_len;
};

static void
fz_request_free(struct fz_request *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		free(r->values[i]);
	free(r->text);
}

static void
fz_append_value(struct fz_request *r, const char *line)
{
	char **v = &r->values[r->nheaders - 1];
	size_t a = strlen(*v), b = strlen(line);
	char *n = malloc(a + 1 + b + 1);

	FZ_CHECK(n != NULL, "out of memory");
	memcpy(n, *v, a);
	n[a] = '\n';
	memcpy(n + a + 1, line, b + 1);
	free(*v);
	*v = n;
	r->headers[r->nheaders - 1].value = n;
}

/* Split the text in place (it is a NUL-terminated copy of the input, the
 * body kept by length so it may hold NULs). */
static void
fz_request_parse(struct fz_request *r, const uint8_t *data, size_t size)
{
	char *p, *eol, *end, *sp, *q, *colon;
	bool first = true;

	memset(r, 0, sizeof(*r));
	r->text = fz_dup(data, size);
	end = r->text + size;
	r->method = r->path = "";
	r->body = "";
	for (p = r->text; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		if (first) {
			first = false;
			r->method = p;
			if ((sp = strchr(p, ' ')) == NULL)
				continue;
			*sp = '\0';
			r->path = sp + 1;
			if ((sp = strrchr(sp + 1, ' ')) != NULL)
				*sp = '\0';
			if ((q = strchr(r->path, '?')) != NULL) {
				*q = '\0';
				r->query = q + 1;
			}
			continue;
		}
		if (*p == '\0') {
			if (eol < end) {
				r->body = eol + 1;
				r->body_len = (size_t)(end - eol - 1);
			}
			break;
		}
		if ((*p == ' ' || *p == '\t') && r->nheaders > 0) {
			fz_append_value(r, p);
			continue;
		}
		if (r->nheaders == FZ_MAX_HEADERS)
			continue;
		if ((colon = strchr(p, ':')) != NULL)
			*colon = '\0';
		r->values[r->nheaders] = strdup(colon != NULL ? colon + 1 : "");
		FZ_CHECK(r->values[r->nheaders] != NULL, "out of memory");
		r->headers[r->nheaders].name = p;
		r->headers[r->nheaders].value = r->values[r->nheaders];
		r->nheaders++;
	}
}

static bool
fz_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

/* Only unreserved bytes, %XX with upper-case hex, and the given extras. */
static bool
fz_encoded(const char *s, size_t n, const char *extra)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		if (fz_unreserved((unsigned char)s[i]) ||
		    (s[i] != '\0' && strchr(extra, s[i]) != NULL))
			continue;
		if (s[i] != '%' || i + 2 >= n || s[i + 1] == '\0' ||
		    s[i + 2] == '\0' || strchr(hex, s[i + 1]) == NULL ||
		    strchr(hex, s[i + 2]) == NULL)
			return false;
		i += 2;
	}
	return true;
}

/* Next line of the canonical request: its start and length. */
static const char *
fz_line(const char **p, size_t *n)
{
	const char *s = *p, *nl = strchr(s, '\n');

	*n = nl != NULL ? (size_t)(nl - s) : strlen(s);
	*p = nl != NULL ? nl + 1 : s + *n;
	return s;
}

/* Compare two byte strings given by pointer and length, as strcmp would
 * compare them as C strings. */
static int
fz_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

static void
fz_check_query(const char *l, size_t n)
{
	const char *pair, *end, *eq, *pn = NULL, *pv = NULL;
	size_t pnl = 0, pvl = 0, nl, vl;
	int c;

	FZ_CHECK(fz_encoded(l, n, "=&"), "query %.*s", (int)n, l);
	for (pair = l; n > 0 && pair <= l + n; pair = end + 1) {
		if ((end = memchr(pair, '&', (size_t)(l + n - pair))) == NULL)
			end = l + n;
		eq = memchr(pair, '=', (size_t)(end - pair));
		FZ_CHECK(end > pair && eq != NULL, "query pair without '=': "
		    "%.*s", (int)n, l);
		nl = (size_t)(eq - pair);
		vl = (size_t)(end - eq - 1);
		FZ_CHECK(memchr(eq + 1, '=', vl) == NULL, "raw '=' in a value");
		if (pn != NULL) {
			c = fz_cmp(pn, pnl, pair, nl);
			FZ_CHECK(c < 0 || (c == 0 &&
			    fz_cmp(pv, pvl, eq + 1, vl) <= 0),
			    "query not sorted: %.*s", (int)n, l);
		}
		pn = pair;
		pnl = nl;
		pv = eq + 1;
		pvl = vl;
	}
}

static void
fz_check_canonical(const struct fz_request *rq, const char *creq,
    const char *signed_headers)
{
	const char *p = creq, *l, *name, *semi, *prev = NULL;
	size_t n, len, prevlen = 0;
	bool host = false, date = false;

	FZ_CHECK(signed_headers[0] != '\0', "no signed headers");
	/* HTTPMethod */
	l = fz_line(&p, &n);
	FZ_CHECK(n == strlen(rq->method) && memcmp(l, rq->method, n) == 0,
	    "method line");
	/* CanonicalURI */
	l = fz_line(&p, &n);
	FZ_CHECK(n > 0 && l[0] == '/' && fz_encoded(l, n, "/"),
	    "URI %.*s", (int)n, l);
	/* CanonicalQueryString */
	l = fz_line(&p, &n);
	fz_check_query(l, n);
	/* CanonicalHeaders: a line per signed header, in the same order,
	 * names lower case, sorted and unique. */
	for (name = signed_headers; *name != '\0'; name = semi + (*semi == ';')) {
		if ((semi = strchr(name, ';')) == NULL)
			semi = name + strlen(name);
		len = (size_t)(semi - name);
		FZ_CHECK(len > 0, "empty name in %s", signed_headers);
		FZ_CHECK(strcspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ:\n") >= len,
		    "bad header name in %s", signed_headers);
		if (prev != NULL)
			FZ_CHECK(fz_cmp(prev, prevlen, name, len) < 0,
			    "headers not sorted or repeated: %s",
			    signed_headers);
		host |= len == 4 && memcmp(name, "host", 4) == 0;
		date |= len == 10 && memcmp(name, "x-amz-date", 10) == 0;
		l = fz_line(&p, &n);
		FZ_CHECK(n > len && memcmp(l, name, len) == 0 && l[len] == ':',
		    "header line %.*s for %.*s", (int)n, l, (int)len, name);
		prev = name;
		prevlen = len;
	}
	FZ_CHECK(host && date, "host or x-amz-date unsigned: %s",
	    signed_headers);
	l = fz_line(&p, &n);
	FZ_CHECK(n == 0, "no empty line after the headers");
	/* SignedHeaders */
	l = fz_line(&p, &n);
	FZ_CHECK(n == strlen(signed_headers) &&
	    memcmp(l, signed_headers, n) == 0, "signed headers line");
	/* HashedPayload, the last line. */
	l = fz_line(&p, &n);
	FZ_CHECK(n == 64 && strspn(l, "0123456789abcdef") == 64 && *p == '\0',
	    "payload hash line");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char token[] = "FwoGZXIvYXdzEFUaDFUZZTOKEN+/=";
	struct fz_request r;
	struct sg_sigv4_request rq;
	struct sg_sigv4_params pa;
	struct sg_sigv4_result res;
	struct sg_creds creds;
	struct sg_buf creq, sh, sts, enc;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0];
	fz_request_parse(&r, data + 1, size - 1);

	memset(&creds, 0, sizeof(creds));
	sg_strlcpy(creds.access_key_id, "AKIDEXAMPLE",
	    sizeof(creds.access_key_id));
	sg_strlcpy(creds.secret_access_key,
	    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	    sizeof(creds.secret_access_key));
	if (flags & 8)
		sg_strlcpy(creds.session_token, token,
		    sizeof(creds.session_token));
	memset(&pa, 0, sizeof(pa));
	pa.region = "us-east-1";
	pa.service = "service";
	pa.now = 1440938160;	/* 2015-08-30T12:36:00Z, the suite's time */
	pa.creds = &creds;
	pa.normalize_path = flags & 1;
	pa.sign_content_sha256 = flags & 2;
	pa.omit_session_token = flags & 4;

	memset(&rq, 0, sizeof(rq));
	rq.method = r.method;
	rq.path = r.path;
	rq.query = (flags & 32) ? NULL : r.query;
	rq.headers = r.headers;
	rq.nheaders = r.nheaders;
	if (flags & 16) {
		rq.body = r.body;
		rq.body_len = r.body_len;
	}

	buf_init(&creq);
	buf_init(&sh);
	buf_init(&sts);
	buf_init(&enc);
	if (sigv4_canonical_request(&rq, &pa, &creq, &sh) == 0) {
		FZ_CHECK(creq.data != NULL && sh.data != NULL, "empty output");
		fz_check_canonical(&r, creq.data, sh.data);
		FZ_CHECK(sigv4_string_to_sign(creq.data, &pa, &sts) == 0,
		    "string to sign refused");
		FZ_CHECK(sigv4_sign(&rq, &pa, &res) == 0, "sign refused");
		FZ_CHECK(strlen(res.signature) == 64 && res.authorization !=
		    NULL && strstr(res.authorization, sh.data) != NULL,
		    "signature result");
		{
			/* A cached key signs exactly like a derived one, the
			 * first time (miss) and the second (hit). */
			static struct sg_sigv4_cache cache;
			struct sg_sigv4_result r2;

			pa.cache = &cache;
			for (int k = 0; k < 2; k++) {
				FZ_CHECK(sigv4_sign(&rq, &pa, &r2) == 0,
				    "cached sign refused");
				FZ_CHECK(strcmp(r2.signature,
				    res.signature) == 0, "cached key signs "
				    "differently");
				sigv4_result_free(&r2);
			}
			pa.cache = NULL;
		}
		sigv4_result_free(&res);
	} else {
		FZ_CHECK(creq.len == 0 && sh.len == 0,
		    "failure left output behind");
		FZ_CHECK(sigv4_sign(&rq, &pa, &res) == -1, "sign accepted a "
		    "request canonicalisation refused");
	}
	FZ_CHECK(sigv4_uri_encode(r.path, strlen(r.path), true, &enc) == 0,
	    "encode failed");
	FZ_CHECK(fz_encoded(enc.data, enc.len, "/"), "encoded path %s",
	    enc.data);
	buf_free(&creq);
	buf_free(&sh);
	buf_free(&sts);
	buf_free(&enc);
	fz_request_free(&r);
	return 0;
}
