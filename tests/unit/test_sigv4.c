/*
 * test_sigv4.c: SigV4 against the official AWS test suite, stage by stage
 * (canonical request, string to sign, signature, headers added), then the
 * building blocks one by one.
 *
 * The suite lives in $SHARED_DIR/data/sigv4-suite/v4 (default: ../shared
 * next to the repository). When it is absent every suite case says so and
 * is skipped: it never passes silently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sigv4.h"
#include "util.h"

#define SECRET_EXAMPLE	"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_20150830	((time_t)1440938160)	/* 2015-08-30T12:36:00Z */
#define EMPTY_SHA256	\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_HEADERS	32

/* ---- where the shared data is ---------------------------------------- */

/* snprintf that fails the test rather than truncate a path. */
static void pathf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
pathf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		fail_msg("path too long: %s", dst);
}

static bool
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * $SHARED_DIR, else ../shared next to the repository root, which is found
 * by walking up from this binary (build/tests/ or build/san/tests/).
 */
static const char *
shared_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX], probe[PATH_MAX + 32], *slash;
	const char *env = getenv("SHARED_DIR");
	ssize_t n;

	if (env != NULL && *env != '\0')
		return env;
	if (dir[0] != '\0')
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		while ((slash = strrchr(exe, '/')) != NULL && slash != exe) {
			*slash = '\0';
			pathf(probe, sizeof(probe), "%s/include/sigv4.h", exe);
			if (access(probe, F_OK) == 0) {
				pathf(dir, sizeof(dir), "%s/../shared", exe);
				return dir;
			}
		}
	}
	pathf(dir, sizeof(dir), "../shared");
	return dir;
}

static const char *
suite_dir(void)
{
	static char dir[PATH_MAX + 32];

	pathf(dir, sizeof(dir), "%s/data/sigv4-suite/v4", shared_dir());
	return dir;
}

/* Skip, loudly, when the suite is not there. */
#define REQUIRE_SUITE() do {						\
	if (!is_dir(suite_dir())) {					\
		printf("# shared data absent: %s\n", suite_dir());	\
		fflush(stdout);						\
		skip();							\
	}								\
} while (0)

static char *
read_file(const char *dir, const char *name, size_t *lenp)
{
	char path[PATH_MAX + 256];
	FILE *f;
	char *p;
	long len;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	p = malloc((size_t)len + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	p[len] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = (size_t)len;
	return p;
}

/* ---- request.txt ------------------------------------------------------ */

struct http_req {
	char		*method;
	char		*path;
	char		*query;		/* NULL: no '?' */
	struct sg_kv	 headers[MAX_HEADERS];
	char		*values[MAX_HEADERS];	/* owns headers[].value */
	size_t		 nheaders;
	const char	*body;
	size_t		 body_len;
	char		*text;		/* owns the rest */
};

/*
 * "METHOD target HTTP/1.1", header lines "Name:value", continuation lines
 * (starting with white space) kept in the value after a '\n' for the
 * signer to fold, a blank line, then the body, byte for byte.
 */
static void
parse_request(char *text, size_t len, struct http_req *r)
{
	char *line, *next, *colon, *sp, *q;
	size_t n;
	bool first = true;

	memset(r, 0, sizeof(*r));
	r->text = text;
	r->body = "";
	for (line = text; line < text + len; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = text + len;
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (first) {
			first = false;
			r->method = line;
			sp = strchr(line, ' ');
			assert_non_null(sp);
			*sp = '\0';
			r->path = sp + 1;
			/* The target may hold spaces: the version is last. */
			sp = strrchr(r->path, ' ');
			assert_non_null(sp);
			*sp = '\0';
			if ((q = strchr(r->path, '?')) != NULL) {
				*q = '\0';
				r->query = q + 1;
			}
			continue;
		}
		if (n == 0) {
			r->body = next;
			r->body_len = (size_t)(text + len - next);
			break;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			char *v;
			size_t vl;

			assert_true(r->nheaders > 0);
			v = r->values[r->nheaders - 1];
			vl = strlen(v);
			v = realloc(v, vl + 1 + n + 1);
			assert_non_null(v);
			v[vl] = '\n';
			memcpy(v + vl + 1, line, n + 1);
			r->values[r->nheaders - 1] = v;
			r->headers[r->nheaders - 1].value = v;
			continue;
		}
		colon = strchr(line, ':');
		assert_non_null(colon);
		assert_true(r->nheaders < MAX_HEADERS);
		*colon = '\0';
		r->headers[r->nheaders].name = line;
		r->values[r->nheaders] = strdup(colon + 1);
		assert_non_null(r->values[r->nheaders]);
		r->headers[r->nheaders].value = r->values[r->nheaders];
		r->nheaders++;
	}
	assert_non_null(r->method);
}

static void
free_request(struct http_req *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		free(r->values[i]);
	free(r->text);
}

/* ---- context.json ----------------------------------------------------- */

struct context {
	struct sg_creds		creds;
	struct sg_sigv4_params	params;
	char			region[64];
	char			service[64];
	bool			sign_body;
};

static bool
json_flag(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return v != NULL && json_is_true(v);
}

static void
load_context(const char *dir, struct context *c)
{
	char path[PATH_MAX + 32];
	json_error_t err;
	json_t *root, *cr;
	const char *akid, *secret, *token, *region, *service, *ts;
	struct tm tm;

	pathf(path, sizeof(path), "%s/context.json", dir);
	if ((root = json_load_file(path, 0, &err)) == NULL)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	memset(c, 0, sizeof(*c));
	cr = json_object_get(root, "credentials");
	akid = json_string_value(json_object_get(cr, "access_key_id"));
	secret = json_string_value(json_object_get(cr, "secret_access_key"));
	token = json_string_value(json_object_get(cr, "token"));
	region = json_string_value(json_object_get(root, "region"));
	service = json_string_value(json_object_get(root, "service"));
	ts = json_string_value(json_object_get(root, "timestamp"));
	assert_non_null(akid);
	assert_non_null(secret);
	assert_non_null(region);
	assert_non_null(service);
	assert_non_null(ts);
	sg_strlcpy(c->creds.access_key_id, akid, sizeof(c->creds.access_key_id));
	sg_strlcpy(c->creds.secret_access_key, secret,
	    sizeof(c->creds.secret_access_key));
	if (token != NULL)
		sg_strlcpy(c->creds.session_token, token,
		    sizeof(c->creds.session_token));
	sg_strlcpy(c->region, region, sizeof(c->region));
	sg_strlcpy(c->service, service, sizeof(c->service));

	memset(&tm, 0, sizeof(tm));
	assert_int_equal(sscanf(ts, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec), 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;

	c->params.region = c->region;
	c->params.service = c->service;
	c->params.now = timegm(&tm);
	c->params.creds = &c->creds;
	/* "normalize" absent means the default, which is true. */
	c->params.normalize_path = json_object_get(root, "normalize") == NULL ||
	    json_flag(root, "normalize");
	c->sign_body = json_flag(root, "sign_body");
	c->params.sign_content_sha256 = c->sign_body;
	c->params.omit_session_token = json_flag(root, "omit_session_token");
	json_decref(root);
}

/* ---- the official suite ----------------------------------------------- */

static const char *const suite_cases[] = {
	"get-header-key-duplicate",
	"get-header-value-multiline",
	"get-header-value-order",
	"get-header-value-trim",
	"get-relative-normalized",
	"get-relative-relative-normalized",
	"get-relative-relative-unnormalized",
	"get-relative-unnormalized",
	"get-slash-dot-slash-normalized",
	"get-slash-dot-slash-unnormalized",
	"get-slash-normalized",
	"get-slash-pointless-dot-normalized",
	"get-slash-pointless-dot-unnormalized",
	"get-slash-unnormalized",
	"get-slashes-normalized",
	"get-slashes-unnormalized",
	"get-space-normalized",
	"get-space-unnormalized",
	"get-unreserved",
	"get-utf8",
	"get-vanilla",
	"get-vanilla-empty-query-key",
	"get-vanilla-query",
	"get-vanilla-query-order-encoded",
	"get-vanilla-query-order-key-case",
	"get-vanilla-query-unreserved",
	"get-vanilla-utf8-query",
	"get-vanilla-with-session-token",
	"post-header-key-case",
	"post-header-key-sort",
	"post-header-value-case",
	"post-sts-header-after",
	"post-sts-header-before",
	"post-vanilla",
	"post-vanilla-empty-query-value",
	"post-vanilla-query",
	"post-x-www-form-urlencoded",
	"post-x-www-form-urlencoded-parameters",
};

static const char *
find_header(const struct http_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void
test_suite_case(void **state)
{
	const char *name = *state;
	char dir[PATH_MAX + 128];
	struct context ctx;
	struct http_req req, signed_req;
	struct sg_sigv4_request rq;
	struct sg_sigv4_result res;
	struct sg_buf creq, sh, sts;
	char *text, *expect;
	size_t len, i;

	REQUIRE_SUITE();
	pathf(dir, sizeof(dir), "%s/%s", suite_dir(), name);
	if (!is_dir(dir))
		fail_msg("suite case missing: %s", dir);

	load_context(dir, &ctx);
	text = read_file(dir, "request.txt", &len);
	parse_request(text, len, &req);

	memset(&rq, 0, sizeof(rq));
	rq.method = req.method;
	rq.path = req.path;
	rq.query = req.query;
	rq.headers = req.headers;
	rq.nheaders = req.nheaders;
	/* Without sign_body the harness hashes no body (SOURCE.txt). */
	if (ctx.sign_body) {
		rq.body = req.body;
		rq.body_len = req.body_len;
	}

	/* Stage 1: the canonical request. */
	buf_init(&creq);
	buf_init(&sh);
	assert_int_equal(sigv4_canonical_request(&rq, &ctx.params, &creq,
	    &sh), 0);
	expect = read_file(dir, "header-canonical-request.txt", NULL);
	assert_string_equal(creq.data, expect);
	free(expect);

	/* Stage 2: the string to sign, from the expected canonical request
	 * too, so a failure here is this stage's own. */
	buf_init(&sts);
	expect = read_file(dir, "header-canonical-request.txt", NULL);
	assert_int_equal(sigv4_string_to_sign(expect, &ctx.params, &sts), 0);
	free(expect);
	expect = read_file(dir, "header-string-to-sign.txt", NULL);
	assert_string_equal(sts.data, expect);
	free(expect);

	/* Stage 3: the signature. */
	assert_int_equal(sigv4_sign(&rq, &ctx.params, &res), 0);
	expect = read_file(dir, "header-signature.txt", NULL);
	assert_string_equal(res.signature, expect);
	free(expect);

	/* Stage 4: what goes on the wire is header-signed-request.txt. */
	text = read_file(dir, "header-signed-request.txt", &len);
	parse_request(text, len, &signed_req);
	assert_int_equal(signed_req.nheaders, req.nheaders + res.nadd);
	for (i = 0; i < res.nadd; i++) {
		const char *v = find_header(&signed_req, res.add[i].name);

		if (v == NULL)
			fail_msg("%s: not in the signed request",
			    res.add[i].name);
		assert_string_equal(res.add[i].value, v);
	}
	assert_string_equal(res.authorization,
	    find_header(&signed_req, "Authorization"));

	sigv4_result_free(&res);
	free_request(&signed_req);
	free_request(&req);
	buf_free(&creq);
	buf_free(&sh);
	buf_free(&sts);
}

/* Every directory of the suite is in the table above, and nothing else. */
static void
test_suite_inventory(void **state)
{
	DIR *d;
	struct dirent *e;
	size_t found = 0, i;
	bool known;

	REQUIRE_SUITE();
	assert_int_equal(SG_ARRAY_LEN(suite_cases), 38);
	d = opendir(suite_dir());
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		known = false;
		for (i = 0; i < SG_ARRAY_LEN(suite_cases); i++)
			if (strcmp(e->d_name, suite_cases[i]) == 0)
				known = true;
		if (!known)
			fail_msg("suite case %s is not tested", e->d_name);
		found++;
	}
	closedir(d);
	assert_int_equal(found, SG_ARRAY_LEN(suite_cases));
}

/* ---- helpers for the direct tests ------------------------------------- */

static struct sg_creds test_creds = {
	.access_key_id = "AKIDEXAMPLE",
	.secret_access_key = SECRET_EXAMPLE,
};

static struct sg_sigv4_params
params(bool normalize)
{
	struct sg_sigv4_params p = {
		.region = "us-east-1",
		.service = "service",
		.now = T_20150830,
		.creds = &test_creds,
		.normalize_path = normalize,
	};

	return p;
}

static const struct sg_kv host_only[] = {
	{ "Host", "example.amazonaws.com" },
};

/* Line `line` (0-based) of the canonical request; caller frees. */
static char *
canon_line(const char *path, const char *query, const struct sg_kv *h,
    size_t nh, const struct sg_sigv4_params *pa, int line)
{
	struct sg_sigv4_request rq = {
		.method = "GET", .path = path, .query = query,
		.headers = h, .nheaders = nh,
	};
	struct sg_buf out, sh;
	char *p, *e, *r;

	buf_init(&out);
	buf_init(&sh);
	if (sigv4_canonical_request(&rq, pa, &out, &sh) == -1)
		fail_msg("canonical request failed for %s?%s", path,
		    query ? query : "");
	for (p = out.data; line > 0; line--) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	e = strchr(p, '\n');
	r = e != NULL ? strndup(p, (size_t)(e - p)) : strdup(p);
	assert_non_null(r);
	buf_free(&out);
	buf_free(&sh);
	return r;
}

static void
check_path(const char *in, bool normalize, const char *want)
{
	struct sg_sigv4_params pa = params(normalize);
	char *got = canon_line(in, NULL, host_only, 1, &pa, 1);

	if (strcmp(got, want) != 0)
		fail_msg("path \"%s\" (%s): got \"%s\", want \"%s\"", in,
		    normalize ? "normalised" : "S3", got, want);
	free(got);
}

static void
check_query(const char *in, const char *want)
{
	struct sg_sigv4_params pa = params(true);
	char *got = canon_line("/", in, host_only, 1, &pa, 2);

	if (strcmp(got, want) != 0)
		fail_msg("query \"%s\": got \"%s\", want \"%s\"", in, got,
		    want);
	free(got);
}

/* The CanonicalHeaders block and SignedHeaders of a request. */
static void
headers_of(const struct sg_kv *h, size_t nh,
    const struct sg_sigv4_params *pa, struct sg_buf *block,
    struct sg_buf *signed_h)
{
	struct sg_sigv4_request rq = {
		.method = "POST", .path = "/", .headers = h, .nheaders = nh,
	};
	struct sg_buf out;
	char *p, *end;

	buf_init(&out);
	assert_int_equal(sigv4_canonical_request(&rq, pa, &out, signed_h), 0);
	/* Skip method, URI and query lines; the block ends at "\n\n". */
	p = strchr(out.data, '\n') + 1;
	p = strchr(p, '\n') + 1;
	p = strchr(p, '\n') + 1;
	end = strstr(p, "\n\n");
	assert_non_null(end);
	buf_append(block, p, (size_t)(end - p) + 1);
	buf_free(&out);
}

/* ---- direct tests ----------------------------------------------------- */

static void
test_amz_date(void **state)
{
	char d[17];

	sigv4_amz_date(T_20150830, d);
	assert_string_equal(d, "20150830T123600Z");
	sigv4_amz_date(0, d);
	assert_string_equal(d, "19700101T000000Z");
	sigv4_amz_date((time_t)951782400, d);	/* leap day 2000 */
	assert_string_equal(d, "20000229T000000Z");
}

static void
test_uri_encode(void **state)
{
	static const char unreserved[] = "-._~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	struct sg_buf b;

	buf_init(&b);
	assert_int_equal(sigv4_uri_encode(unreserved, strlen(unreserved),
	    false, &b), 0);
	assert_string_equal(b.data, unreserved);

	buf_reset(&b);
	assert_int_equal(sigv4_uri_encode("a b/c+d*e%f", 11, false, &b), 0);
	assert_string_equal(b.data, "a%20b%2Fc%2Bd%2Ae%25f");

	buf_reset(&b);
	assert_int_equal(sigv4_uri_encode("/a b/c", 6, true, &b), 0);
	assert_string_equal(b.data, "/a%20b/c");

	/* Upper-case hex, every byte of UTF-8, an embedded NUL by length. */
	buf_reset(&b);
	assert_int_equal(sigv4_uri_encode("\xe1\x88\xb4\xff", 4, false, &b),
	    0);
	assert_string_equal(b.data, "%E1%88%B4%FF");
	buf_reset(&b);
	assert_int_equal(sigv4_uri_encode("a\0b", 3, false, &b), 0);
	assert_string_equal(b.data, "a%00b");

	/* Reserved characters are all encoded. */
	buf_reset(&b);
	assert_int_equal(sigv4_uri_encode("!$&'()=,;:@?#[]", 15, true, &b),
	    0);
	assert_string_equal(b.data,
	    "%21%24%26%27%28%29%3D%2C%3B%3A%40%3F%23%5B%5D");

	/* It appends; an empty input still leaves a terminated string. */
	buf_reset(&b);
	buf_puts(&b, "x=");
	assert_int_equal(sigv4_uri_encode("", 0, false, &b), 0);
	assert_int_equal(sigv4_uri_encode("~ ", 2, false, &b), 0);
	assert_string_equal(b.data, "x=~%20");
	buf_free(&b);

	buf_init(&b);
	assert_int_equal(sigv4_uri_encode("", 0, false, &b), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

static void
test_path_normalized(void **state)
{
	check_path("", true, "/");
	check_path("/", true, "/");
	check_path("//", true, "/");
	check_path("/a/b/../c", true, "/a/c");
	check_path("/a/./b/", true, "/a/b/");
	check_path("/a//b///c", true, "/a/b/c");
	check_path("//a//", true, "/a/");
	check_path("/../a", true, "/a");
	check_path("/../../..", true, "/");
	check_path("/a/b/..", true, "/a");	/* AWS signers: no '/' added */
	check_path("/a/b/../", true, "/a/");
	check_path("/a/.", true, "/a");
	check_path("/a//../b", true, "/b");	/* "" segments go first */
	check_path("/.../..a/a../.b", true, "/.../..a/a../.b");
	check_path("/%2E%2E/a", true, "/%252E%252E/a");	/* not a dot */
	/* Double encoding: the wire form is encoded once more. */
	check_path("/a%20b", true, "/a%2520b");
	check_path("/a b", true, "/a%20b");
	check_path("/a%2Fb", true, "/a%252Fb");
	check_path("/\xe1\x88\xb4", true, "/%E1%88%B4");
	check_path("/a+b=c:d@e", true, "/a%2Bb%3Dc%3Ad%40e");
}

static void
test_path_single_encoding(void **state)
{
	/* S3 style: not normalised, encoded once. */
	check_path("", false, "/");
	check_path("//a/./b/../", false, "//a/./b/../");
	check_path("/a%20b", false, "/a%20b");
	check_path("/a b", false, "/a%20b");
	check_path("/a%2fb", false, "/a%2Fb");	/* an encoded '/' stays so */
	check_path("/%41%7e", false, "/A~");
	check_path("/%zz%4", false, "/%25zz%254");
	check_path("/a+b=c", false, "/a%2Bb%3Dc");
	check_path("/\xe1\x88\xb4", false, "/%E1%88%B4");
}

static void
test_path_must_be_absolute(void **state)
{
	struct sg_sigv4_request rq = {
		.method = "GET", .path = "a/b",
		.headers = host_only, .nheaders = 1,
	};
	struct sg_sigv4_params pa = params(true);
	struct sg_buf out, sh;

	buf_init(&out);
	buf_init(&sh);
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), -1);
	rq.path = "http://example.com/";
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), -1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	buf_free(&sh);
}

static void
test_query_sort_repeated_empty(void **state)
{
	check_query(NULL, "");
	check_query("", "");
	check_query("b=2&a=1&a=0&c&=x&a", "=x&a=&a=0&a=1&b=2&c=");
	/* Repeated name: by value; empty value before any other. */
	check_query("k=b&k=a&k=&k=a", "k=&k=a&k=a&k=b");
	/* Empty pieces carry no parameter. */
	check_query("&&a=1&&", "a=1");
	check_query("=", "=");
	check_query("a=", "a=");
	/* Case matters and upper case sorts first (byte order). */
	check_query("a=1&B=2&A=3", "A=3&B=2&a=1");
}

static void
test_query_encoding(void **state)
{
	/* Decoded then encoded again: lower-case hex becomes upper case,
	 * encoded unreserved characters are plain, '+' is a '+'. */
	check_query("x=%2f%7E%41", "x=%2F~A");
	check_query("q=a+b", "q=a%2Bb");
	check_query("q=a%20b", "q=a%20b");
	check_query("a=b=c", "a=b%3Dc");
	check_query("%E1%88%B4=\xe1\x88\xb4", "%E1%88%B4=%E1%88%B4");
	check_query("p=%zz&p=%", "p=%25&p=%25zz");
	check_query("sp ace=a/b", "sp%20ace=a%2Fb");
	/* Sorted on the encoded name: ':' is %3A, which sorts before '0'
	 * although ':' comes after '0' decoded. */
	check_query("0=a&:=b", "%3A=b&0=a");
}

static void
test_header_folding(void **state)
{
	static const struct sg_kv h[] = {
		{ "Host", "example.amazonaws.com" },
		{ "My-Header", "  a   b\t\tc  " },
		{ "X-Multi", "v1\r\n  v2\n\tv3" },
		{ "x-dup", " 2 " },
		{ "Empty", "" },
		{ "Blank", " \t " },
		{ "X-DUP", "1" },
		{ "X-Dup", "3   3" },
		{ "Content-Type", "application/x-amz-json-1.1" },
	};
	struct sg_sigv4_params pa = params(true);
	struct sg_buf block, sh;

	buf_init(&block);
	buf_init(&sh);
	headers_of(h, SG_ARRAY_LEN(h), &pa, &block, &sh);
	assert_string_equal(block.data,
	    "blank:\n"
	    "content-type:application/x-amz-json-1.1\n"
	    "empty:\n"
	    "host:example.amazonaws.com\n"
	    "my-header:a b c\n"
	    "x-amz-date:20150830T123600Z\n"
	    "x-dup:2,1,3 3\n"
	    "x-multi:v1 v2 v3\n");
	assert_string_equal(sh.data,
	    "blank;content-type;empty;host;my-header;x-amz-date;x-dup;"
	    "x-multi");
	buf_free(&block);
	buf_free(&sh);
}

static void
test_header_refusals(void **state)
{
	static const struct sg_kv no_host[] = { { "X-A", "1" } };
	static const struct sg_kv has_auth[] = {
		{ "Host", "h" }, { "authorization", "x" },
	};
	static const struct sg_kv has_date[] = {
		{ "Host", "h" }, { "X-AMZ-DATE", "20150830T123600Z" },
	};
	static const struct sg_kv has_token[] = {
		{ "Host", "h" }, { "X-Amz-Security-Token", "t" },
	};
	static const struct sg_kv bad_name[] = {
		{ "Host", "h" }, { "My Header", "v" },
	};
	static const struct sg_kv has_sha[] = {
		{ "Host", "h" }, { "x-amz-content-sha256", EMPTY_SHA256 },
	};
	struct sg_creds tc = test_creds;
	struct sg_sigv4_params pa = params(true);
	struct sg_sigv4_request rq = { .method = "GET", .path = "/" };
	struct sg_buf out, sh;

	buf_init(&out);
	buf_init(&sh);
#define REFUSED(hs) do {						\
	rq.headers = hs;						\
	rq.nheaders = SG_ARRAY_LEN(hs);					\
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), -1); \
} while (0)
	REFUSED(no_host);
	REFUSED(has_auth);
	REFUSED(has_date);
	REFUSED(bad_name);
	/* With a session token the signer adds the header itself. */
	sg_strlcpy(tc.session_token, "tok", sizeof(tc.session_token));
	pa.creds = &tc;
	REFUSED(has_token);
	pa.creds = &test_creds;
	rq.headers = has_token;
	rq.nheaders = 2;
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), 0);
	buf_reset(&out);
	buf_reset(&sh);
	pa.sign_content_sha256 = true;
	REFUSED(has_sha);
	pa.sign_content_sha256 = false;
#undef REFUSED
	/* A method must be a token. */
	rq.headers = host_only;
	rq.nheaders = 1;
	rq.method = "GET /";
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), -1);
	/* A body pointer is needed for a body length. */
	rq.method = "POST";
	rq.body_len = 3;
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), -1);
	assert_int_equal(out.len, 0);
	assert_int_equal(sh.len, 0);
	buf_free(&out);
	buf_free(&sh);
}

/* Documented AWS example: "Examples of how to derive a signing key". */
static void
test_signing_key_example(void **state)
{
	unsigned char key[32];
	char hex[65];

	sigv4_signing_key(SECRET_EXAMPLE, "20120215", "us-east-1", "iam", key);
	sg_hex(key, sizeof(key), hex);
	assert_string_equal(hex,
	    "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
	/* Every input matters. */
	sigv4_signing_key(SECRET_EXAMPLE, "20120216", "us-east-1", "iam", key);
	sg_hex(key, sizeof(key), hex);
	assert_string_not_equal(hex,
	    "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static void
test_string_to_sign(void **state)
{
	struct sg_sigv4_params pa = params(true);
	struct sg_buf b;

	buf_init(&b);
	assert_int_equal(sigv4_string_to_sign("", &pa, &b), 0);
	assert_string_equal(b.data,
	    "AWS4-HMAC-SHA256\n20150830T123600Z\n"
	    "20150830/us-east-1/service/aws4_request\n" EMPTY_SHA256);
	buf_reset(&b);
	pa.region = "us/east";
	assert_int_equal(sigv4_string_to_sign("", &pa, &b), -1);
	buf_free(&b);
}

/* The signature of get-vanilla with pa; returns it in sig. */
static void
sign_vanilla(const struct sg_sigv4_params *pa, char sig[65])
{
	struct sg_sigv4_request rq = {
		.method = "GET", .path = "/", .headers = host_only,
		.nheaders = 1,
	};
	struct sg_sigv4_result res;

	assert_int_equal(sigv4_sign(&rq, pa, &res), 0);
	memcpy(sig, res.signature, 65);
	sigv4_result_free(&res);
}

/* The signing-key cache: a hit signs exactly as a fresh derivation, and
 * each of secret, date, region and service is part of the key's identity. */
static void
test_signing_key_cache(void **state)
{
	static struct sg_sigv4_cache cache;
	static const char vanilla[] =
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
	struct sg_sigv4_params pa = params(true), plain;
	struct sg_creds other = test_creds;
	char got[65], want[65];
	size_t i, used;

	(void)state;
	memset(&cache, 0, sizeof(cache));
	pa.cache = &cache;
	sign_vanilla(&pa, got);
	assert_string_equal(got, vanilla);
	assert_int_equal(cache.misses, 1);
	assert_int_equal(cache.hits, 0);
	sign_vanilla(&pa, got);
	assert_string_equal(got, vanilla);
	assert_int_equal(cache.hits, 1);

	/* Each changed input misses and signs as without a cache. */
	other.secret_access_key[0] ^= 1;
	for (i = 0; i < 4; i++) {
		unsigned long misses = cache.misses;

		pa = params(true);
		if (i == 0)
			pa.creds = &other;
		else if (i == 1)
			pa.now += 86400;
		else if (i == 2)
			pa.region = "eu-west-1";
		else
			pa.service = "iam";
		plain = pa;
		sign_vanilla(&plain, want);
		assert_string_not_equal(want, vanilla);
		pa.cache = &cache;
		sign_vanilla(&pa, got);
		assert_string_equal(got, want);
		assert_int_equal(cache.misses, misses + 1);
	}
	/* Back to the first tuple: still cached. */
	pa = params(true);
	pa.cache = &cache;
	sign_vanilla(&pa, got);
	assert_string_equal(got, vanilla);
	assert_int_equal(cache.hits, 2);

	for (i = 0, used = 0; i < SG_SIGV4_CACHE_SLOTS; i++)
		used += cache.slot[i].used;
	assert_true(used >= 2 && used <= 5);
	sigv4_cache_clear(&cache);
	for (i = 0; i < SG_SIGV4_CACHE_SLOTS; i++) {
		assert_false(cache.slot[i].used);
		for (size_t k = 0; k < 32; k++)
			assert_int_equal(cache.slot[i].key[k], 0);
	}
	sign_vanilla(&pa, got);
	assert_string_equal(got, vanilla);
	assert_int_equal(cache.misses, 6);
}

/* get-vanilla of the suite, written out: runs without the shared data. */
static void
test_authorization_value(void **state)
{
	struct sg_sigv4_request rq = {
		.method = "GET", .path = "/", .headers = host_only,
		.nheaders = 1,
	};
	struct sg_sigv4_params pa = params(true);
	struct sg_sigv4_result res, copy;

	assert_int_equal(sigv4_sign(&rq, &pa, &res), 0);
	assert_string_equal(res.amz_date, "20150830T123600Z");
	assert_string_equal(res.content_sha256, EMPTY_SHA256);
	assert_string_equal(res.authorization,
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
	    "service/aws4_request, SignedHeaders=host;x-amz-date, "
	    "Signature="
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	assert_int_equal(res.nadd, 2);
	assert_string_equal(res.add[0].name, "X-Amz-Date");
	assert_string_equal(res.add[0].value, "20150830T123600Z");
	assert_string_equal(res.add[1].name, "Authorization");
	assert_string_equal(res.add[1].value, res.authorization);
	/* add[] does not point into the struct itself: copies stay valid. */
	copy = res;
	memset(&res, 0xa5, sizeof(res.amz_date));
	assert_string_equal(copy.add[0].value, "20150830T123600Z");
	sigv4_result_free(&copy);
	assert_null(copy.storage);
	assert_null(copy.authorization);
	assert_int_equal(copy.nadd, 0);

	/* No credentials, no signature. */
	pa.creds = NULL;
	assert_int_equal(sigv4_sign(&rq, &pa, &res), -1);
	assert_null(res.authorization);
}

static const char *
added(const struct sg_sigv4_result *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->nadd; i++)
		if (strcmp(res->add[i].name, name) == 0)
			return res->add[i].value;
	return NULL;
}

static void
test_session_token(void **state)
{
	struct sg_creds tc = test_creds;
	struct sg_sigv4_request rq = {
		.method = "GET", .path = "/", .headers = host_only,
		.nheaders = 1,
	};
	struct sg_sigv4_params pa = params(true);
	struct sg_sigv4_result res;
	struct sg_buf out, sh;

	/* Without a token: no header, nothing signed. */
	assert_int_equal(sigv4_sign(&rq, &pa, &res), 0);
	assert_null(added(&res, "X-Amz-Security-Token"));
	sigv4_result_free(&res);

	/* With one: added and signed (suite get-vanilla-with-session-token). */
	sg_strlcpy(tc.session_token,
	    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
	    sizeof(tc.session_token));
	pa.creds = &tc;
	assert_int_equal(sigv4_sign(&rq, &pa, &res), 0);
	assert_string_equal(added(&res, "X-Amz-Security-Token"),
	    tc.session_token);
	assert_non_null(strstr(res.authorization,
	    "SignedHeaders=host;x-amz-date;x-amz-security-token,"));
	assert_string_equal(res.signature,
	    "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
	sigv4_result_free(&res);
	buf_init(&out);
	buf_init(&sh);
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), 0);
	assert_non_null(strstr(out.data, "\nx-amz-security-token:6e86291e"));
	assert_string_equal(sh.data, "host;x-amz-date;x-amz-security-token");

	/* Omitted: still sent, but neither signed nor in the canonical form
	 * (suite post-sts-header-after). */
	pa.omit_session_token = true;
	assert_int_equal(sigv4_sign(&rq, &pa, &res), 0);
	assert_string_equal(added(&res, "X-Amz-Security-Token"),
	    tc.session_token);
	assert_non_null(strstr(res.authorization,
	    "SignedHeaders=host;x-amz-date,"));
	assert_string_equal(res.signature,
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	sigv4_result_free(&res);
	buf_reset(&out);
	buf_reset(&sh);
	assert_int_equal(sigv4_canonical_request(&rq, &pa, &out, &sh), 0);
	assert_null(strstr(out.data, "x-amz-security-token"));
	assert_string_equal(sh.data, "host;x-amz-date");
	buf_free(&out);
	buf_free(&sh);
}

static void
test_content_sha256(void **state)
{
	static const char body[] = "Param1=value1";
	struct sg_sigv4_request rq = {
		.method = "POST", .path = "/", .headers = host_only,
		.nheaders = 1, .body = body, .body_len = strlen(body),
	};
	struct sg_sigv4_params pa = params(true);
	struct sg_sigv4_result res;
	const char *hash =
	    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";

	/* The payload hash is always the body's; the header only on request. */
	assert_int_equal(sigv4_sign(&rq, &pa, &res), 0);
	assert_string_equal(res.content_sha256, hash);
	assert_null(added(&res, "X-Amz-Content-SHA256"));
	sigv4_result_free(&res);

	pa.sign_content_sha256 = true;
	assert_int_equal(sigv4_sign(&rq, &pa, &res), 0);
	assert_string_equal(added(&res, "X-Amz-Content-SHA256"), hash);
	assert_non_null(strstr(res.authorization,
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
	sigv4_result_free(&res);
}

int
main(void)
{
	struct CMUnitTest tests[SG_ARRAY_LEN(suite_cases) + 32];
	size_t n = 0, i;

	memset(tests, 0, sizeof(tests));
	tests[n].name = "suite inventory: 38 cases, all tested";
	tests[n++].test_func = test_suite_inventory;
	for (i = 0; i < SG_ARRAY_LEN(suite_cases); i++) {
		tests[n].name = suite_cases[i];
		tests[n].test_func = test_suite_case;
		tests[n++].initial_state = (void *)(uintptr_t)suite_cases[i];
	}
#define T(f) do { tests[n].name = #f; tests[n++].test_func = f; } while (0)
	T(test_amz_date);
	T(test_uri_encode);
	T(test_path_normalized);
	T(test_path_single_encoding);
	T(test_path_must_be_absolute);
	T(test_query_sort_repeated_empty);
	T(test_query_encoding);
	T(test_header_folding);
	T(test_header_refusals);
	T(test_signing_key_example);
	T(test_string_to_sign);
	T(test_authorization_value);
	T(test_signing_key_cache);
	T(test_session_token);
	T(test_content_sha256);
#undef T
	return _cmocka_run_group_tests("sigv4", tests, n, NULL, NULL);
}
