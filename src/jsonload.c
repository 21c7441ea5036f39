/*
 * jsonload.c: JSON text into jansson values without jansson's lexer.
 *
 * Why: a LookupEvents page of 50 records is ~180 KB of JSON to read (the
 * page, then each record held in it as a string). jansson reads every byte
 * through a stream callback and a string buffer, ~40 us per record here,
 * 2 ms a page. This lexer walks the buffer in place, copies a string only
 * when it has escapes, and hands the values to jansson, which stays the
 * document model every caller uses.
 *
 * The grammar and the refusals are json_loadb()'s (jansson 2.14, load.c),
 * rule by rule:
 *   - white space is space, tab, CR, LF; anything else outside a token is an
 *     error, and so is anything after the top-level value (jansson 2.14
 *     skips one NUL byte right after a number or true/false/null, a slip of
 *     its unget; here a NUL byte outside a string is always an error);
 *   - without JSON_DECODE_ANY the top level is an object or an array;
 *   - every byte of the input is valid UTF-8 (no overlong forms, no encoded
 *     surrogates, nothing past U+10FFFF); strings have no raw control
 *     characters; escapes are the eight of RFC 8259 and \uXXXX, a high
 *     surrogate must be followed by a low one and a low one never stands
 *     alone; \u0000 only with JSON_ALLOW_NUL, and never in a key;
 *   - numbers: no leading zeros, no bare '-', '.' or 'e' without digits;
 *     without '.', 'e' or 'E' an integer that must fit json_int_t, else a
 *     real that must not overflow;
 *   - JSON_REJECT_DUPLICATES refuses a repeated key, otherwise the last
 *     value wins;
 *   - nesting deeper than JSON_PARSER_MAX_DEPTH values is refused.
 * tests/fuzz/fuzz_jsonload.c holds every input to json_loadb as well.
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonload.h"

#define JL_FLAGS	(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | \
			 JSON_DECODE_ANY)

struct jl {
	const unsigned char	*start;
	const unsigned char	*p;
	const unsigned char	*end;
	size_t			 flags;
	int			 depth;
	char			*scratch;	/* decoded strings with escapes */
	size_t			 scap;
	json_error_t		*error;
	bool			 failed;
};

static void	jl_fail(struct jl *, const unsigned char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Record the first error, with jansson's line/column/position. */
static void
jl_fail(struct jl *l, const unsigned char *at, const char *fmt, ...)
{
	const unsigned char *q;
	json_error_t *e = l->error;
	va_list ap;
	int line = 1, col = 0;

	if (l->failed)
		return;
	l->failed = true;
	if (e == NULL)
		return;
	if (at > l->end)
		at = l->end;
	for (q = l->start; q < at; q++) {
		if (*q == '\n') {
			line++;
			col = 0;
		} else if ((*q & 0xc0) != 0x80) {
			col++;
		}
	}
	e->line = line;
	e->column = col;
	e->position = (int)(at - l->start);
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

/* Bytes that stand for themselves in a string: printable ASCII but the
 * quote and the backslash. */
static const unsigned char plain[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	[0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static inline void
skip_ws(struct jl *l)
{
	const unsigned char *p = l->p;

	while (p < l->end && (*p == ' ' || *p == '\n' || *p == '\r' ||
	    *p == '\t'))
		p++;
	l->p = p;
}

/* Length of the valid UTF-8 sequence (2..4 bytes) at p, 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	uint32_t v;
	size_t n, i;

	if (p[0] < 0xc2)
		return 0;
	if (p[0] < 0xe0) {
		n = 2;
		v = p[0] & 0x1f;
	} else if (p[0] < 0xf0) {
		n = 3;
		v = p[0] & 0x0f;
	} else if (p[0] < 0xf5) {
		n = 4;
		v = p[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return n;
}

/* Room for n bytes in the scratch buffer (its contents are dropped). */
static bool
scratch_reserve(struct jl *l, size_t n)
{
	char *b;
	size_t cap;

	if (n <= l->scap)
		return true;
	cap = l->scap ? l->scap : 256;
	while (cap < n)
		cap *= 2;
	free(l->scratch);
	if ((b = malloc(cap)) == NULL) {
		l->scratch = NULL;
		l->scap = 0;
		return false;
	}
	l->scratch = b;
	l->scap = cap;
	return true;
}

static int
hex4(const unsigned char *p, const unsigned char *end, uint32_t *v)
{
	int i, d;

	if (end - p < 4)
		return -1;
	*v = 0;
	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* v as UTF-8 at o; returns the bytes written (1 to 4). */
static size_t
put_utf8(unsigned char *o, uint32_t v)
{
	if (v < 0x80) {
		o[0] = (unsigned char)v;
		return 1;
	}
	if (v < 0x800) {
		o[0] = (unsigned char)(0xc0 | v >> 6);
		o[1] = (unsigned char)(0x80 | (v & 0x3f));
		return 2;
	}
	if (v < 0x10000) {
		o[0] = (unsigned char)(0xe0 | v >> 12);
		o[1] = (unsigned char)(0x80 | (v >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (v & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | v >> 18);
	o[1] = (unsigned char)(0x80 | (v >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (v >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (v & 0x3f));
	return 4;
}

/*
 * The string at l->p (on its opening quote). On success *s, *n is its
 * decoded text: in the input when it has no escapes, else in l->scratch
 * (valid until the next string). 0 / -1.
 */
static int
scan_string(struct jl *l, const char **s, size_t *n)
{
	const unsigned char *p = l->p + 1, *start = p, *end = l->end;
	const unsigned char *olim;
	unsigned char *o;
	uint32_t v, lo;
	size_t k;

	/* Fast path: no escape. */
	for (;;) {
		while (p < end && plain[*p])
			p++;
		if (p >= end) {
			jl_fail(l, p, "premature end of input in a string");
			return -1;
		}
		if (*p == '"') {
			*s = (const char *)start;
			*n = (size_t)(p - start);
			l->p = p + 1;
			return 0;
		}
		if (*p == '\\')
			break;
		if (*p < 0x20) {
			jl_fail(l, p, "control character 0x%x in a string",
			    *p);
			return -1;
		}
		if ((k = utf8_len(p, end)) == 0) {
			jl_fail(l, p, "invalid UTF-8 byte 0x%x", *p);
			return -1;
		}
		p += k;
	}

	/*
	 * Escapes: decode into the scratch buffer. Decoded text is never
	 * longer than its raw form (an escape of 2, 6 or 12 bytes gives 1 to
	 * 4), so the rest of the input is room enough; the buffer is sized at
	 * the first escaped string of the document and serves all the others.
	 */
	if (!scratch_reserve(l, (size_t)(end - start) + 4))
		goto oom;
	o = (unsigned char *)l->scratch;
	olim = o + l->scap - 4;
	memcpy(o, start, (size_t)(p - start));
	o += p - start;
	for (;;) {
		while (p < end && plain[*p])
			*o++ = *p++;
		if (p >= end) {
			jl_fail(l, p, "premature end of input in a string");
			return -1;
		}
		/* Cannot happen (o - scratch <= p - start): a guard only. */
		if (o > olim) {
			jl_fail(l, p, "string decoding overran");
			return -1;
		}
		if (*p == '"')
			break;
		if (*p < 0x20) {
			jl_fail(l, p, "control character 0x%x in a string",
			    *p);
			return -1;
		}
		if (*p >= 0x80) {
			if ((k = utf8_len(p, end)) == 0) {
				jl_fail(l, p, "invalid UTF-8 byte 0x%x", *p);
				return -1;
			}
			memcpy(o, p, k);
			o += k;
			p += k;
			continue;
		}
		/* An escape. */
		if (p + 1 >= end) {
			jl_fail(l, p, "premature end of input in a string");
			return -1;
		}
		switch (p[1]) {
		case '"': case '\\': case '/':
			*o++ = p[1];
			p += 2;
			continue;
		case 'b': *o++ = '\b'; p += 2; continue;
		case 'f': *o++ = '\f'; p += 2; continue;
		case 'n': *o++ = '\n'; p += 2; continue;
		case 'r': *o++ = '\r'; p += 2; continue;
		case 't': *o++ = '\t'; p += 2; continue;
		case 'u':
			break;
		default:
			jl_fail(l, p, "invalid escape '\\%c'",
			    p[1] >= 0x20 && p[1] < 0x7f ? p[1] : '?');
			return -1;
		}
		if (hex4(p + 2, end, &v) == -1) {
			jl_fail(l, p, "invalid \\u escape");
			return -1;
		}
		if (v >= 0xdc00 && v <= 0xdfff) {
			jl_fail(l, p, "invalid Unicode '\\u%04X'", (unsigned)v);
			return -1;
		}
		if (v >= 0xd800 && v <= 0xdbff) {
			if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
			    hex4(p + 8, end, &lo) == -1 || lo < 0xdc00 ||
			    lo > 0xdfff) {
				jl_fail(l, p, "invalid Unicode '\\u%04X' (no low "
				    "surrogate)", (unsigned)v);
				return -1;
			}
			v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		if (v == 0 && !(l->flags & JSON_ALLOW_NUL)) {
			jl_fail(l, p, "\\u0000 is not allowed without "
			    "JSON_ALLOW_NUL");
			return -1;
		}
		o += put_utf8(o, v);
		p += 6;
	}
	*s = l->scratch;
	*n = (size_t)(o - (unsigned char *)l->scratch);
	l->p = p + 1;
	return 0;
oom:
	jl_fail(l, p, "out of memory");
	return -1;
}

static json_t *
scan_number(struct jl *l)
{
	const unsigned char *p = l->p, *start = p, *end = l->end;
	bool neg = false, real = false;
	uint64_t u = 0, lim;
	char small[64], *buf, *dp;
	size_t n;
	double d;
	json_t *v;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9') {
		jl_fail(l, start, "invalid number");
		return NULL;
	}
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9') {
			jl_fail(l, start, "invalid number (leading zero)");
			return NULL;
		}
	} else {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && *p == '.') {
		real = true;
		p++;
		if (p >= end || *p < '0' || *p > '9') {
			jl_fail(l, start, "invalid number");
			return NULL;
		}
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9') {
			jl_fail(l, start, "invalid number");
			return NULL;
		}
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	l->p = p;

	if (!real) {
		const unsigned char *q = start + (neg ? 1 : 0);

		lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (; q < p; q++) {
			unsigned dig = (unsigned)(*q - '0');

			if (u > (lim - dig) / 10) {
				jl_fail(l, start, neg ?
				    "too big negative integer" :
				    "too big integer");
				return NULL;
			}
			u = u * 10 + dig;
		}
		v = json_integer(neg ? (json_int_t)(0 - u) : (json_int_t)u);
		if (v == NULL)
			jl_fail(l, start, "out of memory");
		return v;
	}

	/* strtod wants a C string and the locale's decimal point (jansson
	 * does the same swap). */
	n = (size_t)(p - start);
	buf = n < sizeof(small) ? small : malloc(n + 1);
	if (buf == NULL) {
		jl_fail(l, start, "out of memory");
		return NULL;
	}
	memcpy(buf, start, n);
	buf[n] = '\0';
	if ((dp = memchr(buf, '.', n)) != NULL)
		*dp = *localeconv()->decimal_point;
	d = strtod(buf, NULL);
	if (buf != small)
		free(buf);
	if (isinf(d)) {
		jl_fail(l, start, "real number overflow");
		return NULL;
	}
	if ((v = json_real(d)) == NULL)
		jl_fail(l, start, "out of memory");
	return v;
}

static json_t	*parse_value(struct jl *);

/* Skip white space; true when c follows (and is taken). */
static bool
take(struct jl *l, unsigned char c)
{
	skip_ws(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return true;
	}
	return false;
}

/* After a member: 1 when a ',' was taken (another member follows, white
 * space skipped), 0 when the close character was, -1 (recorded) else. */
static int
next_member(struct jl *l, unsigned char close, const char *expected)
{
	if (take(l, ',')) {
		skip_ws(l);
		return 1;
	}
	if (take(l, close))
		return 0;
	jl_fail(l, l->p, "%s expected", expected);
	return -1;
}

static json_t *
parse_object(struct jl *l)
{
	json_t *obj, *v;
	const char *k;
	char *kcopy = NULL;
	size_t klen;

	if ((obj = json_object()) == NULL) {
		jl_fail(l, l->p, "out of memory");
		return NULL;
	}
	l->p++;
	if (take(l, '}'))
		return obj;
	for (;;) {
		const unsigned char *kat = l->p;
		int more;

		if (l->p >= l->end || *l->p != '"') {
			jl_fail(l, l->p, "string or '}' expected");
			goto fail;
		}
		if (scan_string(l, &k, &klen) == -1)
			goto fail;
		if (memchr(k, '\0', klen) != NULL) {
			jl_fail(l, kat, "NUL byte in object key not "
			    "supported");
			goto fail;
		}
		if ((l->flags & JSON_REJECT_DUPLICATES) &&
		    json_object_getn(obj, k, klen) != NULL) {
			jl_fail(l, kat, "duplicate object key");
			goto fail;
		}
		/* A decoded key lives in the scratch buffer, which the
		 * value may reuse. */
		if (k == l->scratch) {
			if ((kcopy = malloc(klen + 1)) == NULL) {
				jl_fail(l, kat, "out of memory");
				goto fail;
			}
			memcpy(kcopy, k, klen);
			k = kcopy;
		}
		if (!take(l, ':')) {
			jl_fail(l, l->p, "':' expected");
			goto fail;
		}
		skip_ws(l);
		if ((v = parse_value(l)) == NULL)
			goto fail;
		if (json_object_setn_new_nocheck(obj, k, klen, v) == -1) {
			jl_fail(l, kat, "out of memory");
			goto fail;
		}
		free(kcopy);
		kcopy = NULL;
		if ((more = next_member(l, '}', "'}'")) == 0)
			return obj;
		if (more == -1)
			goto fail;
	}
fail:
	free(kcopy);
	json_decref(obj);
	return NULL;
}

static json_t *
parse_array(struct jl *l)
{
	json_t *arr, *v;

	if ((arr = json_array()) == NULL) {
		jl_fail(l, l->p, "out of memory");
		return NULL;
	}
	l->p++;
	if (take(l, ']'))
		return arr;
	for (;;) {
		int more;

		if ((v = parse_value(l)) == NULL)
			goto fail;
		if (json_array_append_new(arr, v) == -1) {
			jl_fail(l, l->p, "out of memory");
			goto fail;
		}
		if ((more = next_member(l, ']', "']'")) == 0)
			return arr;
		if (more == -1)
			goto fail;
	}
fail:
	json_decref(arr);
	return NULL;
}

static json_t *
literal(struct jl *l, const char *word, json_t *(*make)(void))
{
	size_t n = strlen(word);
	json_t *v;

	if ((size_t)(l->end - l->p) < n || memcmp(l->p, word, n) != 0) {
		jl_fail(l, l->p, "invalid token");
		return NULL;
	}
	l->p += n;
	if ((v = make()) == NULL)
		jl_fail(l, l->p, "out of memory");
	return v;
}

/* The value at l->p (white space already skipped). */
static json_t *
parse_value(struct jl *l)
{
	const char *s;
	size_t n;
	json_t *v;

	if (++l->depth > JSON_PARSER_MAX_DEPTH) {
		jl_fail(l, l->p, "maximum parsing depth reached");
		return NULL;
	}
	if (l->p >= l->end) {
		jl_fail(l, l->p, "premature end of input");
		return NULL;
	}
	switch (*l->p) {
	case '{':
		v = parse_object(l);
		break;
	case '[':
		v = parse_array(l);
		break;
	case '"':
		if (scan_string(l, &s, &n) == -1)
			return NULL;
		if ((v = json_stringn_nocheck(s, n)) == NULL)
			jl_fail(l, l->p, "out of memory");
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		v = scan_number(l);
		break;
	case 't':
		v = literal(l, "true", json_true);
		break;
	case 'f':
		v = literal(l, "false", json_false);
		break;
	case 'n':
		v = literal(l, "null", json_null);
		break;
	default:
		jl_fail(l, l->p, "invalid token");
		return NULL;
	}
	l->depth--;
	return v;
}

json_t *
sg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error)
{
	struct jl l;
	json_t *v = NULL;

	memset(&l, 0, sizeof(l));
	l.start = l.p = (const unsigned char *)(buf != NULL ? buf : "");
	l.end = l.start + (buf != NULL ? len : 0);
	l.flags = flags;
	l.error = error;
	if (error != NULL) {
		memset(error, 0, sizeof(*error));
		error->line = error->column = -1;
		snprintf(error->source, sizeof(error->source), "<buffer>");
	}
	if (flags & ~(size_t)JL_FLAGS) {
		jl_fail(&l, l.p, "unsupported flags");
		return NULL;
	}
	skip_ws(&l);
	if (!(flags & JSON_DECODE_ANY) &&
	    (l.p >= l.end || (*l.p != '[' && *l.p != '{'))) {
		jl_fail(&l, l.p, "'[' or '{' expected");
		goto out;
	}
	if ((v = parse_value(&l)) == NULL)
		goto out;
	skip_ws(&l);
	if (l.p != l.end) {
		jl_fail(&l, l.p, "end of file expected");
		json_decref(v);
		v = NULL;
	}
out:
	free(l.scratch);
	return v;
}
