/*
 * sigv4-sign: sign requests read as JSON lines on stdin, for differential
 * tests against other signers (tests/integration/test_sigv4_botocore.py).
 *
 * In, one object per line:
 *   {"method","path","query","headers":[[name,value],...],
 *    "body_b64"? | "body"?, "region","service","time":epoch,
 *    "akid","secret","token"?,
 *    "normalize"? (default true), "sign_content_sha256"? (default false),
 *    "omit_session_token"? (default false)}
 * Out, one object per line, in the same order:
 *   {"authorization": "...", "canonical_request": "..."}
 * or {"error": "..."} for a line that could not be signed; the exit status
 * is then 1.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "sigv4.h"
#include "util.h"

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with optional padding; -1 on anything else. */
static int
b64_decode(const char *s, struct sg_buf *out)
{
	unsigned int acc = 0;
	int bits = 0, v;

	for (; *s != '\0' && *s != '='; s++) {
		if ((v = b64_value((unsigned char)*s)) < 0)
			return -1;
		acc = (acc << 6 | (unsigned int)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_putc(out, (char)(acc >> bits & 0xff)) == -1)
				return -1;
		}
	}
	while (*s == '=')
		s++;
	return *s == '\0' ? 0 : -1;
}

static bool
flag(json_t *o, const char *k, bool dflt)
{
	json_t *v = json_object_get(o, k);

	return v == NULL ? dflt : json_is_true(v);
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Sign one request; the reply object, or NULL with *err set. */
static json_t *
sign_one(json_t *in, const char **err)
{
	struct sg_sigv4_request rq;
	struct sg_sigv4_params pa;
	struct sg_sigv4_result res;
	struct sg_creds creds;
	struct sg_kv *headers = NULL;
	struct sg_buf body, creq, sh;
	json_t *hs, *h, *out = NULL;
	size_t i, n;

	memset(&rq, 0, sizeof(rq));
	memset(&pa, 0, sizeof(pa));
	memset(&creds, 0, sizeof(creds));
	buf_init(&body);
	buf_init(&creq);
	buf_init(&sh);

	*err = "bad request object";
	if (!json_is_object(in) || str(in, "method") == NULL ||
	    str(in, "path") == NULL || str(in, "region") == NULL ||
	    str(in, "service") == NULL || str(in, "akid") == NULL ||
	    str(in, "secret") == NULL ||
	    !json_is_integer(json_object_get(in, "time")))
		goto done;
	if (strlen(str(in, "akid")) >= sizeof(creds.access_key_id) ||
	    strlen(str(in, "secret")) >= sizeof(creds.secret_access_key) ||
	    (str(in, "token") != NULL &&
	    strlen(str(in, "token")) >= sizeof(creds.session_token)))
		goto done;
	sg_strlcpy(creds.access_key_id, str(in, "akid"),
	    sizeof(creds.access_key_id));
	sg_strlcpy(creds.secret_access_key, str(in, "secret"),
	    sizeof(creds.secret_access_key));
	if (str(in, "token") != NULL)
		sg_strlcpy(creds.session_token, str(in, "token"),
		    sizeof(creds.session_token));

	hs = json_object_get(in, "headers");
	n = json_is_array(hs) ? json_array_size(hs) : 0;
	headers = xcalloc(n, sizeof(*headers));
	for (i = 0; i < n; i++) {
		h = json_array_get(hs, i);
		headers[i].name = json_string_value(json_array_get(h, 0));
		headers[i].value = json_string_value(json_array_get(h, 1));
		if (json_array_size(h) != 2 || headers[i].name == NULL ||
		    headers[i].value == NULL)
			goto done;
	}

	*err = "bad body";
	if (str(in, "body_b64") != NULL) {
		if (b64_decode(str(in, "body_b64"), &body) == -1)
			goto done;
	} else if (str(in, "body") != NULL) {
		if (buf_puts(&body, str(in, "body")) == -1)
			goto done;
	}

	rq.method = str(in, "method");
	rq.path = str(in, "path");
	rq.query = str(in, "query");
	rq.headers = headers;
	rq.nheaders = n;
	rq.body = body.data;
	rq.body_len = body.len;
	pa.region = str(in, "region");
	pa.service = str(in, "service");
	pa.now = (time_t)json_integer_value(json_object_get(in, "time"));
	pa.creds = &creds;
	pa.normalize_path = flag(in, "normalize", true);
	pa.sign_content_sha256 = flag(in, "sign_content_sha256", false);
	pa.omit_session_token = flag(in, "omit_session_token", false);

	*err = "sigv4_canonical_request failed";
	if (sigv4_canonical_request(&rq, &pa, &creq, &sh) == -1)
		goto done;
	*err = "sigv4_sign failed";
	if (sigv4_sign(&rq, &pa, &res) == -1)
		goto done;
	out = json_pack("{s:s, s:s}", "authorization", res.authorization,
	    "canonical_request", creq.data);
	sigv4_result_free(&res);
	*err = "json_pack failed";
done:
	OPENSSL_cleanse(&creds, sizeof(creds));
	free(headers);
	buf_free(&body);
	buf_free(&creq);
	buf_free(&sh);
	return out;
}

int
main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	json_error_t jerr;
	json_t *in, *out;
	const char *err;
	char *text;
	int rc = 0;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (len == 0 || (len == 1 && line[0] == '\n'))
			continue;
		in = json_loadb(line, (size_t)len, 0, &jerr);
		out = in != NULL ? sign_one(in, &err) : NULL;
		if (in == NULL)
			err = jerr.text;
		if (out == NULL) {
			out = json_pack("{s:s}", "error", err);
			rc = 1;
		}
		json_decref(in);
		if (out == NULL || (text = json_dumps(out, JSON_COMPACT |
		    JSON_ENSURE_ASCII)) == NULL) {
			fprintf(stderr, "sigv4-sign: out of memory\n");
			return 2;
		}
		puts(text);
		free(text);
		json_decref(out);
	}
	free(line);
	if (fflush(stdout) == EOF || ferror(stdin))
		return 2;
	return rc;
}
