/* fuzz_jsonload.c: sg_json_loadb against jansson's json_loadb.
 *
 * The first byte picks the flags (bit 0 JSON_REJECT_DUPLICATES, bit 1
 * JSON_ALLOW_NUL, bit 2 JSON_DECODE_ANY), the rest is the text. Both
 * parsers must refuse it, or both accept it with json_equal values (types
 * included: an integer is never equal to a real). A refusal must say where
 * (line and column from 1, position within the input).
 *
 * One known difference: jansson 2.14 skips a NUL byte that directly follows
 * a number or true/false/null (its lexer "ungets" the NUL and then reads
 * past it), so it accepts "[1\0]"; sg_json_loadb refuses every NUL byte
 * outside a string. Inputs with such a NUL may be refused by sg_json_loadb
 * alone; everything else must agree.
 */
#include "fuzz.h"

#include <jansson.h>

#include "jsonload.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t bits[] = { JSON_REJECT_DUPLICATES, JSON_ALLOW_NUL,
	    JSON_DECODE_ANY };
	json_error_t e1, e2;
	json_t *a, *b;
	size_t flags = 0, i;
	bool slip = false;

	if (size < 1)
		return 0;
	for (i = 0; i < 3; i++)
		if (data[0] & (1u << i))
			flags |= bits[i];
	for (i = 2; i < size; i++)
		if (data[i] == '\0' && strchr("0123456789el", data[i - 1]) !=
		    NULL && data[i - 1] != '\0')
			slip = true;
	a = sg_json_loadb((const char *)data + 1, size - 1, flags, &e1);
	b = json_loadb((const char *)data + 1, size - 1, flags, &e2);
	if (a == NULL && b != NULL && slip) {
		json_decref(b);
		return 0;
	}
	FZ_CHECK((a == NULL) == (b == NULL), "sg_json_loadb %s, json_loadb "
	    "%s (%s)", a ? "accepted" : e1.text, b ? "accepted" : "refused",
	    b ? "" : e2.text);
	if (a != NULL) {
		FZ_CHECK(json_equal(a, b), "the two parsers read different "
		    "values");
	} else {
		FZ_CHECK(e1.line >= 1 && e1.column >= 0 && e1.position >= 0 &&
		    (size_t)e1.position <= size - 1 && e1.text[0] != '\0',
		    "refusal without a place: line %d column %d position %d",
		    e1.line, e1.column, e1.position);
	}
	json_decref(a);
	json_decref(b);
	return 0;
}
