/*
 * sigv4.c: AWS Signature Version 4 for the Authorization header.
 *
 * Pure: the time, the credentials and the request are inputs; nothing here
 * reads a clock, does I/O or keeps state between calls (the signing-key
 * cache is the caller's, passed in with the parameters). The stages follow
 * the published algorithm so that each can be checked against the official
 * test suite: canonical request, string to sign, signing key, signature.
 *
 * Where the published text is vague, the behaviour of the AWS reference
 * signers (aws-c-auth, which the official suite comes from, and botocore)
 * is followed; each such choice is noted where it is made.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"

#define SIGV4_ALGORITHM	"AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR	"aws4_request"

/* One header on its way into the canonical form. */
struct cheader {
	char	*name;		/* lower case */
	char	*value;		/* trimmed, white space folded */
	size_t	 order;		/* position in the request: keeps repeats in order */
};

/* One query parameter, both halves already encoded. */
struct cparam {
	char	*name;
	char	*value;
};

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

/* HTTP white space, plus what an obs-fold line break leaves behind. */
static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Compare ASCII case-insensitively without the locale (strcasecmp uses it). */
static bool
name_eq(const char *a, const char *b)
{
	unsigned char ca, cb;

	do {
		ca = (unsigned char)*a++;
		cb = (unsigned char)*b++;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return false;
	} while (ca != '\0');
	return true;
}

/* RFC 7230 token characters: anything else cannot be a header name. */
static bool
is_token(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9'))
			continue;
		if (strchr("!#$%&'*+-.^_`|~", *p) == NULL)
			return false;
	}
	return true;
}

/* A credential scope part: no '/' (the separator), no space or control. */
static bool
is_scope_part(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL || *p == '\0')
		return false;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == ',')
			return false;
	return true;
}

static void
put_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	/* gmtime_r, not gmtime: no shared static buffer, no TZ lookup. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900) {
		out[0] = '\0';
		return;
	}
	put_digits(out, tm.tm_year + 1900, 4);
	put_digits(out + 4, tm.tm_mon + 1, 2);
	put_digits(out + 6, tm.tm_mday, 2);
	out[8] = 'T';
	put_digits(out + 9, tm.tm_hour, 2);
	put_digits(out + 11, tm.tm_min, 2);
	put_digits(out + 13, tm.tm_sec, 2);
	out[15] = 'Z';
	out[16] = '\0';
}

static int
encode_byte(unsigned char c, bool keep_slash, struct sg_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];

	if (is_unreserved(c) || (keep_slash && c == '/'))
		return buf_putc(out, (char)c);
	e[0] = '%';
	e[1] = hex[c >> 4];
	e[2] = hex[c & 0xf];
	return buf_append(out, e, sizeof(e));
}

int
sigv4_uri_encode(const char *in, size_t len, bool keep_slash,
    struct sg_buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i, start = out->len;

	/* Worst case every byte becomes %XX: one reservation, no regrowth. */
	if (len > (SIZE_MAX - 1) / 3 || buf_reserve(out, 3 * len) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if (encode_byte(p[i], keep_slash, out) == -1) {
			out->len = start;
			return -1;
		}
	}
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return 0;
}

/*
 * Percent-decode len bytes into out. A '%' not followed by two hex digits
 * stays a literal '%'; '+' is a plain character (RFC 3986 gives it no
 * meaning in a URI, and AWS signers encode spaces as %20).
 */
static int
uri_decode(const char *in, size_t len, struct sg_buf *out)
{
	size_t i;
	int hi, lo;

	if (buf_reserve(out, len) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if (in[i] == '%' && len - i >= 3 &&
		    (hi = hex_value((unsigned char)in[i + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)in[i + 2])) >= 0) {
			if (buf_putc(out, (char)(hi << 4 | lo)) == -1)
				return -1;
			i += 2;
		} else if (buf_putc(out, in[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * Remove dot segments and empty segments ("//"), keeping a trailing slash
 * when the path had one. This is what aws-c-auth and botocore do: "." and
 * "" segments vanish, ".." drops the segment before it (never above the
 * root), and the result keeps a final '/' only if the input ended in one,
 * so "/a/b/.." gives "/a" (RFC 3986 alone would give "/a/").
 */
static int
normalize_path(const char *path, struct sg_buf *out)
{
	const char *p = path, *seg, *end;
	size_t base = out->len, seglen, i;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		seg = p;
		while (*p != '\0' && *p != '/')
			p++;
		seglen = (size_t)(p - seg);
		if (seglen == 0 || (seglen == 1 && seg[0] == '.'))
			continue;
		if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
			/* Drop the last "/segment" written, if any. */
			for (i = out->len; i > base && out->data[i - 1] != '/';
			    i--)
				;
			if (i > base)
				out->len = i - 1;
			if (out->data != NULL)
				out->data[out->len] = '\0';
			continue;
		}
		if (buf_putc(out, '/') == -1 ||
		    buf_append(out, seg, seglen) == -1)
			return -1;
	}
	end = path + strlen(path);
	if (out->len == base)
		return buf_putc(out, '/');
	if (end > path && end[-1] == '/')
		return buf_putc(out, '/');
	return 0;
}

/*
 * CanonicalURI. Every service but S3 signs the path as it goes on the wire,
 * normalised, then encoded once more ("%20" is signed as "%2520"). S3 signs
 * the path encoded exactly once and not normalised: the wire path is
 * decoded and re-encoded, so a correctly encoded path comes out unchanged
 * and a raw one ("/a b") is encoded as S3 will see it. An encoded slash
 * ("%2F") stays encoded there: it is part of a name, not a separator.
 */
static int
canonical_uri(const char *path, bool normalize, struct sg_buf *out)
{
	struct sg_buf tmp;
	const char *p;
	int hi, lo, rc;

	if (sg_strempty(path))
		return buf_putc(out, '/');
	if (path[0] != '/')
		return -1;	/* origin-form only: "/..." */

	if (normalize) {
		buf_init(&tmp);
		rc = normalize_path(path, &tmp) == -1 ||
		    sigv4_uri_encode(tmp.data, tmp.len, true, out) == -1 ? -1 : 0;
		buf_free(&tmp);
		return rc;
	}
	for (p = path; *p != '\0'; p++) {
		if (p[0] == '%' && (hi = hex_value((unsigned char)p[1])) >= 0 &&
		    (lo = hex_value((unsigned char)p[2])) >= 0) {
			/* Decoded, so '/' here is "%2F" again. */
			if (encode_byte((unsigned char)(hi << 4 | lo), false,
			    out) == -1)
				return -1;
			p += 2;
		} else if (encode_byte((unsigned char)*p, true, out) == -1)
			return -1;
	}
	return 0;
}

static int
cparam_cmp(const void *a, const void *b)
{
	const struct cparam *x = a, *y = b;
	int c;

	/* Byte order of the encoded forms, name first, then value. */
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->value, y->value);
}

/* Decode one query component and encode it again per the spec. */
static char *
requote(const char *s, size_t len)
{
	struct sg_buf dec, enc;
	char *r = NULL;

	buf_init(&dec);
	buf_init(&enc);
	/* sigv4_uri_encode leaves enc.data allocated even when empty. */
	if (uri_decode(s, len, &dec) == 0 &&
	    sigv4_uri_encode(dec.data, dec.len, false, &enc) == 0)
		r = buf_steal(&enc);
	buf_free(&dec);
	buf_free(&enc);
	return r;
}

/*
 * CanonicalQueryString: split on '&', each name and value decoded and then
 * encoded per the spec, a parameter without '=' has an empty value, sorted
 * by encoded name then encoded value. Empty pieces ("a=1&&b=2", a trailing
 * '&') carry no parameter and are skipped, as aws-c-auth does.
 */
static int
canonical_query(const char *query, struct sg_buf *out)
{
	struct cparam *params = NULL;
	const char *p, *piece, *eq, *end;
	size_t n = 0, max = 1, i;
	int rc = -1;

	if (sg_strempty(query))
		return 0;
	for (p = query; *p != '\0'; p++)
		if (*p == '&')
			max++;
	if ((params = calloc(max, sizeof(*params))) == NULL)
		return -1;

	for (piece = query; *piece != '\0'; piece = *end ? end + 1 : end) {
		if ((end = strchr(piece, '&')) == NULL)
			end = piece + strlen(piece);
		if (end == piece)
			continue;
		eq = memchr(piece, '=', (size_t)(end - piece));
		params[n].name = requote(piece,
		    (size_t)((eq != NULL ? eq : end) - piece));
		params[n].value = eq != NULL ?
		    requote(eq + 1, (size_t)(end - eq - 1)) : requote("", 0);
		n++;
		if (params[n - 1].name == NULL || params[n - 1].value == NULL)
			goto done;
	}
	qsort(params, n, sizeof(*params), cparam_cmp);
	for (i = 0; i < n; i++) {
		if ((i > 0 && buf_putc(out, '&') == -1) ||
		    buf_puts(out, params[i].name) == -1 ||
		    buf_putc(out, '=') == -1 ||
		    buf_puts(out, params[i].value) == -1)
			goto done;
	}
	rc = 0;
done:
	for (i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
	return rc;
}

/*
 * Trimall: drop leading and trailing white space and fold every inner run
 * into one space. Line breaks count as white space, so an obs-fold
 * continuation ("v1\r\n  v2") becomes "v1 v2".
 */
static char *
fold_value(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	char *r, *q;
	bool gap = false;

	if ((r = malloc(strlen(v) + 1)) == NULL)
		return NULL;
	q = r;
	while (is_space(*p))
		p++;
	for (; *p != '\0'; p++) {
		if (is_space(*p)) {
			gap = true;
			continue;
		}
		if (gap)
			*q++ = ' ';
		gap = false;
		*q++ = (char)*p;
	}
	*q = '\0';
	return r;
}

static char *
lower_dup(const char *s)
{
	char *r, *q;

	if ((r = strdup(s)) == NULL)
		return NULL;
	for (q = r; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + ('a' - 'A'));
	return r;
}

static int
cheader_cmp(const void *a, const void *b)
{
	const struct cheader *x = a, *y = b;
	int c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	/* qsort is not stable: repeats keep their request order this way. */
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool
session_token_present(const struct sg_sigv4_params *pa)
{
	return pa->creds != NULL && pa->creds->session_token[0] != '\0';
}

/*
 * Refuse what would make the signature meaningless: no Host, a header name
 * that is not a token, or a header the signer itself adds (it would then be
 * sent twice, with the signed copy unknown to the server).
 */
static int
check_headers(const struct sg_sigv4_request *rq,
    const struct sg_sigv4_params *pa)
{
	bool host = false;
	size_t i;

	if (rq->nheaders > 0 && rq->headers == NULL)
		return -1;
	for (i = 0; i < rq->nheaders; i++) {
		const char *n = rq->headers[i].name;

		if (n == NULL || rq->headers[i].value == NULL || !is_token(n))
			return -1;
		if (name_eq(n, "host"))
			host = true;
		if (name_eq(n, "authorization") || name_eq(n, "x-amz-date"))
			return -1;
		if (session_token_present(pa) &&
		    name_eq(n, "x-amz-security-token"))
			return -1;
		if (pa->sign_content_sha256 &&
		    name_eq(n, "x-amz-content-sha256"))
			return -1;
	}
	return host ? 0 : -1;
}

static int
sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(p != NULL ? p : "", len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		return -1;
	sg_hex(md, 32, out);
	return 0;
}

static int
payload_hash(const struct sg_sigv4_request *rq, char out[65])
{
	if (rq->body == NULL && rq->body_len != 0)
		return -1;
	return sha256_hex(rq->body, rq->body_len, out);
}

/* CanonicalHeaders (each line ends in '\n') and SignedHeaders. */
static int
canonical_headers(const struct sg_sigv4_request *rq,
    const struct sg_sigv4_params *pa, const char *amz_date,
    const char *content_sha256, struct sg_buf *out, struct sg_buf *signed_h)
{
	struct cheader *h;
	size_t n = 0, max = rq->nheaders + 3, i;
	int rc = -1;

	if ((h = calloc(max, sizeof(*h))) == NULL)
		return -1;
	for (i = 0; i < rq->nheaders; i++, n++) {
		h[n].name = lower_dup(rq->headers[i].name);
		h[n].value = fold_value(rq->headers[i].value);
		h[n].order = n;
	}
	/* The headers the signer adds are signed like any other. */
	h[n].name = strdup("x-amz-date");
	h[n].value = strdup(amz_date);
	h[n].order = n;
	n++;
	if (session_token_present(pa) && !pa->omit_session_token) {
		h[n].name = strdup("x-amz-security-token");
		h[n].value = fold_value(pa->creds->session_token);
		h[n].order = n;
		n++;
	}
	if (pa->sign_content_sha256) {
		h[n].name = strdup("x-amz-content-sha256");
		h[n].value = strdup(content_sha256);
		h[n].order = n;
		n++;
	}
	for (i = 0; i < n; i++)
		if (h[i].name == NULL || h[i].value == NULL)
			goto done;

	qsort(h, n, sizeof(*h), cheader_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
			/* A repeated header: values joined by ',' in order. */
			if (buf_putc(out, ',') == -1 ||
			    buf_puts(out, h[i].value) == -1)
				goto done;
			continue;
		}
		if ((i > 0 && (buf_putc(out, '\n') == -1 ||
		    buf_putc(signed_h, ';') == -1)) ||
		    buf_puts(signed_h, h[i].name) == -1 ||
		    buf_puts(out, h[i].name) == -1 ||
		    buf_putc(out, ':') == -1 ||
		    buf_puts(out, h[i].value) == -1)
			goto done;
	}
	if (buf_putc(out, '\n') == -1)
		goto done;
	rc = 0;
done:
	for (i = 0; i < max; i++) {
		free(h[i].name);
		sg_free_secret(h[i].value);	/* one may be the token */
	}
	free(h);
	return rc;
}

static bool
is_method(const char *m)
{
	return m != NULL && is_token(m);
}

/*
 * The canonical request, appended to out; the signed-header list appended
 * to signed_headers. On failure both are left as they were.
 */
int
sigv4_canonical_request(const struct sg_sigv4_request *rq,
    const struct sg_sigv4_params *pa, struct sg_buf *out,
    struct sg_buf *signed_headers)
{
	struct sg_buf uri, query, headers, sh;
	char amz_date[17], hash[65];
	size_t out_len = out->len, sh_len = signed_headers->len;
	int rc = -1;

	if (!is_method(rq->method) || check_headers(rq, pa) == -1)
		return -1;
	sigv4_amz_date(pa->now, amz_date);
	if (amz_date[0] == '\0' || payload_hash(rq, hash) == -1)
		return -1;

	buf_init(&uri);
	buf_init(&query);
	buf_init(&headers);
	buf_init(&sh);
	if (buf_puts(&uri, "") == -1 || buf_puts(&query, "") == -1 ||
	    buf_puts(&sh, "") == -1 ||
	    canonical_uri(rq->path, pa->normalize_path, &uri) == -1 ||
	    canonical_query(rq->query, &query) == -1 ||
	    canonical_headers(rq, pa, amz_date, hash, &headers, &sh) == -1)
		goto done;

	if (buf_printf(out,
	    "%s\n"	/* HTTPMethod */
	    "%s\n"	/* CanonicalURI */
	    "%s\n"	/* CanonicalQueryString */
	    "%s\n"	/* CanonicalHeaders, each line ending in '\n' */
	    "%s\n"	/* SignedHeaders */
	    "%s",	/* HashedPayload: hex SHA-256 of the body */
	    rq->method, uri.data, query.data, headers.data, sh.data,
	    hash) == -1)
		goto done;
	if (buf_puts(signed_headers, sh.data) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1) {
		out->len = out_len;
		if (out->data != NULL)
			out->data[out_len] = '\0';
		signed_headers->len = sh_len;
		if (signed_headers->data != NULL)
			signed_headers->data[sh_len] = '\0';
	}
	buf_free(&uri);
	buf_free(&query);
	buf_free_secure(&headers);
	buf_free(&sh);
	return rc;
}

int
sigv4_string_to_sign(const char *canonical_request,
    const struct sg_sigv4_params *pa, struct sg_buf *out)
{
	char amz_date[17], hash[65];

	if (canonical_request == NULL || !is_scope_part(pa->region) ||
	    !is_scope_part(pa->service))
		return -1;
	sigv4_amz_date(pa->now, amz_date);
	if (amz_date[0] == '\0' ||
	    sha256_hex(canonical_request, strlen(canonical_request), hash) == -1)
		return -1;
	return buf_printf(out,
	    SIGV4_ALGORITHM "\n"	/* Algorithm */
	    "%s\n"		/* RequestDateTime */
	    "%.8s/%s/%s/" SIGV4_TERMINATOR "\n"	/* CredentialScope */
	    "%s",		/* HashedCanonicalRequest */
	    amz_date, amz_date, pa->region, pa->service, hash);
}

static int
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[32])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX ||
	    HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out,
	    &outlen) == NULL || outlen != 32)
		return -1;
	return 0;
}

/* kSecret -> kDate -> kRegion -> kService -> kSigning, every step wiped. */
static int
signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char key[32])
{
	struct sg_buf k0;
	unsigned char kdate[32], kregion[32], kservice[32];
	int rc = -1;

	buf_init(&k0);
	if (buf_puts(&k0, "AWS4") == -1 || buf_puts(&k0, secret) == -1)
		goto done;
	if (hmac_sha256(k0.data, k0.len, date8, strlen(date8), kdate) == -1 ||
	    hmac_sha256(kdate, 32, region, strlen(region), kregion) == -1 ||
	    hmac_sha256(kregion, 32, service, strlen(service), kservice) == -1 ||
	    hmac_sha256(kservice, 32, SIGV4_TERMINATOR,
	    strlen(SIGV4_TERMINATOR), key) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		OPENSSL_cleanse(key, 32);
	buf_free_secure(&k0);
	OPENSSL_cleanse(kdate, sizeof(kdate));
	OPENSSL_cleanse(kregion, sizeof(kregion));
	OPENSSL_cleanse(kservice, sizeof(kservice));
	return rc;
}

/* The slot identity: SHA-256 over the four inputs, each NUL-terminated so
 * no two different tuples run together. */
static int
cache_id(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char id[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (md == NULL)
		return -1;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, secret, strlen(secret) + 1) == 1 &&
	    EVP_DigestUpdate(md, date8, strlen(date8) + 1) == 1 &&
	    EVP_DigestUpdate(md, region, strlen(region) + 1) == 1 &&
	    EVP_DigestUpdate(md, service, strlen(service) + 1) == 1 &&
	    EVP_DigestFinal_ex(md, id, &n) == 1 && n == 32;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* The signing key from the cache, derived (and stored) on a miss. */
static int
cached_signing_key(struct sg_sigv4_cache *cache, const char *secret,
    const char *date8, const char *region, const char *service,
    unsigned char key[32])
{
	struct sg_sigv4_cache_slot *s;
	unsigned char id[32];

	if (cache == NULL)
		return signing_key(secret, date8, region, service, key);
	if (cache_id(secret, date8, region, service, id) == -1)
		return -1;
	s = &cache->slot[(id[0] | (unsigned)id[1] << 8) %
	    SG_SIGV4_CACHE_SLOTS];
	if (s->used && CRYPTO_memcmp(s->id, id, sizeof(id)) == 0) {
		cache->hits++;
		memcpy(key, s->key, 32);
		return 0;
	}
	cache->misses++;
	if (signing_key(secret, date8, region, service, key) == -1)
		return -1;
	memcpy(s->id, id, sizeof(id));
	memcpy(s->key, key, 32);
	s->used = true;
	return 0;
}

void
sigv4_cache_clear(struct sg_sigv4_cache *cache)
{
	if (cache == NULL)
		return;
	/* Zeroes every slot: keys, ids and the used flags. */
	OPENSSL_cleanse(cache->slot, sizeof(cache->slot));
}

void
sigv4_signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char key[32])
{
	/* On failure the key is all zeros: it signs nothing AWS accepts. */
	(void)signing_key(secret, date8, region, service, key);
}

/* Copy s into the storage at *off; returns where it landed. */
static const char *
store(char *storage, size_t *off, const char *s)
{
	char *p = storage + *off;
	size_t n = strlen(s) + 1;

	memcpy(p, s, n);
	*off += n;
	return p;
}

static size_t
storage_len(const struct sg_sigv4_result *res)
{
	const char *end = res->storage;
	size_t i;

	for (i = 0; i < res->nadd; i++) {
		const char *v = res->add[i].value;

		if (v >= res->storage && v + strlen(v) + 1 > end)
			end = v + strlen(v) + 1;
	}
	return (size_t)(end - res->storage);
}

int
sigv4_sign(const struct sg_sigv4_request *rq,
    const struct sg_sigv4_params *pa, struct sg_sigv4_result *res)
{
	struct sg_buf creq, sh, sts, auth;
	unsigned char key[32], sig[32];
	char date8[9];
	const struct sg_creds *c = pa->creds;
	const char *token;
	size_t need, off = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (c == NULL || !is_scope_part(c->access_key_id) ||
	    c->secret_access_key[0] == '\0')
		return -1;
	sigv4_amz_date(pa->now, res->amz_date);
	if (res->amz_date[0] == '\0' ||
	    payload_hash(rq, res->content_sha256) == -1)
		return -1;

	buf_init(&creq);
	buf_init(&sh);
	buf_init(&sts);
	buf_init(&auth);
	if (sigv4_canonical_request(rq, pa, &creq, &sh) == -1 ||
	    sigv4_string_to_sign(creq.data, pa, &sts) == -1)
		goto done;
	memcpy(date8, res->amz_date, 8);
	date8[8] = '\0';
	if (cached_signing_key(pa->cache, c->secret_access_key, date8,
	    pa->region, pa->service, key) == -1)
		goto done;
	rc = hmac_sha256(key, sizeof(key), sts.data, sts.len, sig);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == -1)
		goto done;
	rc = -1;
	sg_hex(sig, sizeof(sig), res->signature);

	if (buf_printf(&auth, SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/"
	    SIGV4_TERMINATOR ", SignedHeaders=%s, Signature=%s",
	    c->access_key_id, res->amz_date, pa->region, pa->service, sh.data,
	    res->signature) == -1)
		goto done;

	/* Everything add[] points at lives in storage: res can be copied. */
	token = session_token_present(pa) ? c->session_token : NULL;
	need = sizeof(res->amz_date) + sizeof(res->content_sha256) +
	    auth.len + 1 + (token != NULL ? strlen(token) + 1 : 0);
	if ((res->storage = malloc(need)) == NULL)
		goto done;
	res->add[res->nadd].name = "X-Amz-Date";
	res->add[res->nadd++].value = store(res->storage, &off, res->amz_date);
	/* Sent even when omit_session_token kept it out of the signature. */
	if (token != NULL) {
		res->add[res->nadd].name = "X-Amz-Security-Token";
		res->add[res->nadd++].value = store(res->storage, &off, token);
	}
	if (pa->sign_content_sha256) {
		res->add[res->nadd].name = "X-Amz-Content-SHA256";
		res->add[res->nadd++].value = store(res->storage, &off,
		    res->content_sha256);
	}
	res->add[res->nadd].name = "Authorization";
	res->add[res->nadd++].value = store(res->storage, &off, auth.data);
	res->authorization = buf_steal(&auth);
	rc = 0;
done:
	OPENSSL_cleanse(sig, sizeof(sig));
	buf_free_secure(&creq);	/* it holds the session token */
	buf_free(&sh);
	buf_free(&sts);
	buf_free(&auth);
	if (rc == -1)
		sigv4_result_free(res);
	return rc;
}

void
sigv4_result_free(struct sg_sigv4_result *res)
{
	if (res->storage != NULL) {
		/* It holds the session token. */
		OPENSSL_cleanse(res->storage, storage_len(res));
		free(res->storage);
	}
	free(res->authorization);
	memset(res, 0, sizeof(*res));
}
