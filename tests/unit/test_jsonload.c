/* test_jsonload.c: sg_json_loadb reads what json_loadb reads.
 *
 * Every case runs through both: the same inputs accepted with json_equal
 * values, the same refused. Then the genuine CloudTrail samples (from
 * ../shared when present) and a LookupEvents page built from them, and the
 * places errors are reported at. tests/fuzz/fuzz_jsonload.c does the same
 * over generated inputs. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonload.h"

struct jcase {
	const char	*text;
	size_t		 len;		/* 0: strlen */
	size_t		 flags;
	bool		 ok;		/* what json_loadb (and we) do */
};

#define DUP	JSON_REJECT_DUPLICATES
#define NUL	JSON_ALLOW_NUL
#define ANY	JSON_DECODE_ANY

static const struct jcase cases[] = {
	{ "{}", 0, 0, true },
	{ "[]", 0, 0, true },
	{ " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", 0, 0, true },
	{ "{\"a\":{\"b\":{\"c\":[true,false,null]}}}", 0, 0, true },
	{ "[0,-0,1,-1,12345,1.5,-1.5e3,1E+2,1e-2,0.0]", 0, 0, true },
	{ "[9223372036854775807,-9223372036854775808]", 0, 0, true },
	{ "[9223372036854775808]", 0, 0, false },
	{ "[-9223372036854775809]", 0, 0, false },
	{ "[1e308,1e-400]", 0, 0, true },
	{ "[1e309]", 0, 0, false },
	{ "[-1e400]", 0, 0, false },
	{ "[01]", 0, 0, false },
	{ "[-]", 0, 0, false },
	{ "[1.]", 0, 0, false },
	{ "[.5]", 0, 0, false },
	{ "[1e]", 0, 0, false },
	{ "[1e+]", 0, 0, false },
	{ "[+1]", 0, 0, false },
	{ "[tru]", 0, 0, false },
	{ "[truex]", 0, 0, false },
	{ "[nul]", 0, 0, false },
	{ "[1,]", 0, 0, false },
	{ "[,1]", 0, 0, false },
	{ "{\"a\":1,}", 0, 0, false },
	{ "{\"a\" 1}", 0, 0, false },
	{ "{1:2}", 0, 0, false },
	{ "{'a':1}", 0, 0, false },
	{ "[1] x", 0, 0, false },
	{ "[1][2]", 0, 0, false },
	{ "", 0, 0, false },
	{ "   ", 0, 0, false },
	{ "[", 0, 0, false },
	{ "{\"a\":", 0, 0, false },
	{ "[\"abc", 0, 0, false },
	{ "\"top\"", 0, 0, false },
	{ "\"top\"", 0, ANY, true },
	{ "42", 0, ANY, true },
	{ "null", 0, ANY, true },
	{ "{\"a\":1,\"a\":2}", 0, 0, true },
	{ "{\"a\":1,\"a\":2}", 0, DUP, false },
	{ "{\"a\":1,\"\\u0061\":2}", 0, DUP, false },
	{ "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 0, 0, true },
	{ "[\"\\u00e9\\u20AC\\ud83d\\ude00\"]", 0, 0, true },
	{ "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]", 0, 0, true },
	{ "[\"\\x\"]", 0, 0, false },
	{ "[\"\\u12\"]", 0, 0, false },
	{ "[\"\\u12g4\"]", 0, 0, false },
	{ "[\"\\udc00\"]", 0, 0, false },
	{ "[\"\\ud800\"]", 0, 0, false },
	{ "[\"\\ud800\\u0041\"]", 0, 0, false },
	{ "[\"\\ud800\\udc00\"]", 0, 0, true },
	{ "[\"\\u0000\"]", 0, 0, false },
	{ "[\"a\\u0000b\"]", 0, NUL, true },
	{ "{\"k\\u0000\":1}", 0, NUL, false },
	{ "[\"tab\there\"]", 0, 0, false },
	{ "[\"\x7f\"]", 0, 0, true },
	{ "[\"\xc0\x80\"]", 0, 0, false },		/* overlong */
	{ "[\"\xe0\x80\x80\"]", 0, 0, false },		/* overlong */
	{ "[\"\xed\xa0\x80\"]", 0, 0, false },		/* surrogate */
	{ "[\"\xf4\x90\x80\x80\"]", 0, 0, false },	/* > U+10FFFF */
	{ "[\"\xc3\"]", 0, 0, false },			/* cut short */
	{ "[\"\x80\"]", 0, 0, false },			/* stray */
	{ "[\"\xff\"]", 0, 0, false },
	{ "\xef\xbb\xbf[]", 0, 0, false },		/* a BOM */
	{ "[\"a\0b\"]", 7, 0, false },			/* raw NUL */
	{ "[1]\0", 4, 0, false },
};

static void
check_case(const struct jcase *c, size_t i)
{
	size_t len = c->len ? c->len : strlen(c->text);
	json_error_t e1, e2;
	json_t *a = sg_json_loadb(c->text, len, c->flags, &e1);
	json_t *b = json_loadb(c->text, len, c->flags, &e2);

	/* The table says what jansson does: keep it honest too. */
	if ((b != NULL) != c->ok)
		fail_msg("case %zu (%s): json_loadb %s, the table says %s", i,
		    c->text, b ? "accepts" : "refuses", c->ok ? "ok" : "bad");
	if ((a != NULL) != c->ok)
		fail_msg("case %zu (%s): sg_json_loadb %s (%s)", i, c->text,
		    a ? "accepts" : "refuses", a ? "" : e1.text);
	if (a != NULL && !json_equal(a, b))
		fail_msg("case %zu (%s): values differ", i, c->text);
	if (a == NULL) {
		assert_true(e1.line >= 1);
		assert_true(e1.position >= 0 && (size_t)e1.position <= len);
		assert_true(e1.text[0] != '\0');
		assert_string_equal(e1.source, "<buffer>");
	}
	json_decref(a);
	json_decref(b);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], i);
}

/* Integers stay integers and reals reals (json_equal checks types too). */
static void
test_types(void **state)
{
	json_t *v = sg_json_loadb("[1,1.0,-0,\"x\",true,null]", 24, 0, NULL);

	(void)state;
	assert_non_null(v);
	assert_true(json_is_integer(json_array_get(v, 0)));
	assert_true(json_is_real(json_array_get(v, 1)));
	assert_true(json_is_integer(json_array_get(v, 2)));
	assert_int_equal(json_integer_value(json_array_get(v, 2)), 0);
	assert_string_equal(json_string_value(json_array_get(v, 3)), "x");
	assert_true(json_is_true(json_array_get(v, 4)));
	assert_true(json_is_null(json_array_get(v, 5)));
	json_decref(v);
	/* Later keys win without DUP; a NUL inside a string is kept. */
	v = sg_json_loadb("{\"a\":1,\"a\":\"x\\u0000y\"}", 22, NUL, NULL);
	assert_non_null(v);
	assert_int_equal(json_string_length(json_object_get(v, "a")), 3);
	assert_memory_equal(json_string_value(json_object_get(v, "a")),
	    "x\0y", 3);
	json_decref(v);
	/* Unknown flags are refused, not ignored. */
	assert_null(sg_json_loadb("[]", 2, JSON_DISABLE_EOF_CHECK, NULL));
}

/* Nesting: JSON_PARSER_MAX_DEPTH values deep is the limit, as in jansson. */
static void
test_depth(void **state)
{
	size_t d, n;
	char *s;

	(void)state;
	for (d = JSON_PARSER_MAX_DEPTH - 1; d <= JSON_PARSER_MAX_DEPTH + 1;
	    d++) {
		s = malloc(2 * d + 2);
		assert_non_null(s);
		memset(s, '[', d);
		n = d;
		s[n++] = '1';
		memset(s + n, ']', d);
		n += d;
		json_t *a = sg_json_loadb(s, n, 0, NULL);
		json_t *b = json_loadb(s, n, 0, NULL);
		assert_int_equal(a != NULL, b != NULL);
		assert_int_equal(a != NULL, d < JSON_PARSER_MAX_DEPTH);
		json_decref(a);
		json_decref(b);
		free(s);
	}
}

/* Where an error is: line and column from 1, as jansson counts them. */
static void
test_error_place(void **state)
{
	const char *t = "{\n  \"a\": [1,\n    2,,3]\n}";
	json_error_t e;

	(void)state;
	assert_null(sg_json_loadb(t, strlen(t), 0, &e));
	assert_int_equal(e.line, 3);
	assert_int_equal(e.column, 6);
	assert_int_equal(e.position, (int)(strstr(t, ",,") - t) + 1);
	assert_non_null(strstr(e.text, "invalid token"));
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1)) != NULL &&
	    fread(b, 1, (size_t)n, f) == (size_t)n) {
		b[n] = '\0';
		*len = (size_t)n;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

/* Every genuine sample file, then each record in it as compact text and as
 * the escaped string a LookupEvents page carries. */
static void
test_genuine_samples(void **state)
{
	const char *sd = getenv("SHARED_DIR");
	char dir[4096], path[8192];
	struct dirent *de;
	size_t nfiles = 0, nrec = 0;
	DIR *dh;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/data/cloudtrail-samples",
	    sd != NULL && *sd != '\0' ? sd : "../shared");
	if ((dh = opendir(dir)) == NULL) {
		print_message("shared data absent: %s\n", dir);
		skip();
	}
	while ((de = readdir(dh)) != NULL) {
		size_t len = 0, i;
		char *text;
		json_t *a, *b, *rec;

		if (strlen(de->d_name) < 6 || strcmp(de->d_name +
		    strlen(de->d_name) - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_non_null(text = slurp(path, &len));
		a = sg_json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
		b = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(b);
		if (a == NULL || !json_equal(a, b))
			fail_msg("%s read differently", path);
		nfiles++;
		if (json_is_object(b)) {	/* one record per file */
			json_t *one = json_array();

			json_array_append(one, b);
			json_decref(b);
			b = one;
		}
		json_array_foreach(b, i, rec) {
			char *c = json_dumps(rec, JSON_COMPACT);
			json_t *wrap = json_pack("{s:[{s:s}]}", "Events",
			    "CloudTrailEvent", c);
			char *page = json_dumps(wrap, JSON_COMPACT);
			json_t *x = sg_json_loadb(c, strlen(c),
			    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
			json_t *y = sg_json_loadb(page, strlen(page), 0, NULL);

			assert_non_null(x);
			assert_true(json_equal(x, rec));
			assert_non_null(y);
			assert_true(json_equal(y, wrap));
			json_decref(x);
			json_decref(y);
			json_decref(wrap);
			free(page);
			free(c);
			nrec++;
		}
		json_decref(a);
		json_decref(b);
		free(text);
	}
	closedir(dh);
	print_message("%zu sample files, %zu records\n", nfiles, nrec);
	assert_true(nfiles >= 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_error_place),
		cmocka_unit_test(test_genuine_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
