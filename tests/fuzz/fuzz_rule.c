/* fuzz_rule.c: `allow` patterns and concrete CIDRs.
 *
 * The input (up to the first NUL) is a pattern for rule_pattern_parse and
 * a CIDR for rule_cidr_parse. Properties:
 *   - format(parse(x)) parses again, to an equal pattern (every field a
 *     pattern has: protocol, ports, source kind, address, prefix, id),
 *     and formats to the same text: the notation is a fixed point;
 *   - a parsed pattern is normalised as rule.h says (ports in range,
 *     host bits zero);
 *   - a CIDR formats (rule_cidr_format) to text that parses to the same
 *     network, and a parsed CIDR rule is rule_equal to itself.
 */
#include "fuzz.h"

#include "rule.h"

static bool
fz_same_pattern(const struct sg_rule *a, const struct sg_rule *b)
{
	return a->proto == b->proto && a->from_port == b->from_port &&
	    a->to_port == b->to_port && a->src == b->src &&
	    a->prefixlen == b->prefixlen &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0 &&
	    strcmp(a->ref_id, b->ref_id) == 0 &&
	    strcmp(a->user_id, b->user_id) == 0 && a->egress == b->egress;
}

static bool
fz_host_bits_zero(const struct sg_rule *r)
{
	size_t bytes = r->src == SG_SRC_CIDR4 ? 4 : 16, i;
	int bits;

	for (i = 0; i < sizeof(r->addr); i++) {
		bits = r->prefixlen - (int)(i * 8);
		if (i >= bytes) {
			if (r->addr[i] != 0)
				return false;
		} else if (bits < 8 && (r->addr[i] &
		    (bits <= 0 ? 0xff : 0xff >> bits)) != 0)
			return false;
	}
	return true;
}

static void
fz_check_cidr(const struct sg_rule *r, const char *text)
{
	if (r->src == SG_SRC_CIDR4 || r->src == SG_SRC_CIDR6) {
		FZ_CHECK(r->prefixlen >= 0 &&
		    r->prefixlen <= (r->src == SG_SRC_CIDR4 ? 32 : 128),
		    "\"%s\": /%d", text, r->prefixlen);
		FZ_CHECK(fz_host_bits_zero(r), "\"%s\": host bits kept", text);
	}
}

static void
fz_check_normal(const struct sg_rule *r, const char *text)
{
	FZ_CHECK(r->proto >= -1 && r->proto <= 255, "\"%s\": proto %d", text,
	    r->proto);
	if (r->proto == 6 || r->proto == 17 ||
	    (r->proto == -1 && r->from_port >= 0))
		FZ_CHECK(r->from_port >= 0 && r->from_port <= r->to_port &&
		    r->to_port <= 65535, "\"%s\": ports %d-%d", text,
		    r->from_port, r->to_port);
	else if (r->proto == 1 || r->proto == 58)
		FZ_CHECK(r->from_port >= -1 && r->from_port <= 255 &&
		    r->to_port >= -1 && r->to_port <= 255 &&
		    (r->from_port >= 0 || r->to_port == -1),
		    "\"%s\": icmp %d/%d", text, r->from_port, r->to_port);
	else
		FZ_CHECK(r->from_port == -1 && r->to_port == -1,
		    "\"%s\": ports %d/%d without ports", text, r->from_port,
		    r->to_port);
	fz_check_cidr(r, text);
}

static void
fz_pattern(const char *text)
{
	struct sg_rule r, again;
	char f1[256], f2[256], err[256];

	if (rule_pattern_parse(text, &r, err, sizeof(err)) != 0) {
		FZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)),
		    "\"%s\" refused without a reason", text);
		return;
	}
	fz_check_normal(&r, text);
	rule_format(&r, f1, sizeof(f1));
	FZ_CHECK(rule_pattern_parse(f1, &again, err, sizeof(err)) == 0,
	    "\"%s\" formats as \"%s\", which does not parse: %s", text, f1,
	    err);
	FZ_CHECK(fz_same_pattern(&r, &again),
	    "\"%s\" formats as \"%s\", which parses to another pattern",
	    text, f1);
	rule_format(&again, f2, sizeof(f2));
	FZ_CHECK(strcmp(f1, f2) == 0, "\"%s\" formats as \"%s\", then \"%s\"",
	    text, f1, f2);
}

static void
fz_cidr(const char *text)
{
	struct sg_rule r, again;
	char f[128];

	memset(&r, 0, sizeof(r));
	if (rule_cidr_parse(text, &r) != 0)
		return;
	FZ_CHECK(r.src == SG_SRC_CIDR4 || r.src == SG_SRC_CIDR6,
	    "\"%s\": source %d", text, (int)r.src);
	fz_check_cidr(&r, text);
	FZ_CHECK(r.cidr_text[0] == '\0' || strcmp(r.cidr_text, text) == 0,
	    "\"%s\" kept as \"%s\"", text, r.cidr_text);
	FZ_CHECK(rule_equal(&r, &r), "\"%s\" differs from itself", text);
	rule_cidr_format(&r, f, sizeof(f));
	memset(&again, 0, sizeof(again));
	FZ_CHECK(rule_cidr_parse(f, &again) == 0, "\"%s\" formats as \"%s\", "
	    "which does not parse", text, f);
	FZ_CHECK(again.src == r.src && again.prefixlen == r.prefixlen &&
	    memcmp(again.addr, r.addr, sizeof(r.addr)) == 0,
	    "\"%s\" formats as \"%s\", another network", text, f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_dup(data, size);
	int proto;

	fz_pattern(text);
	fz_cidr(text);
	if (rule_proto_parse(text, &proto) == 0)
		FZ_CHECK(proto >= -1 && proto <= 255, "proto %d", proto);
	free(text);
	return 0;
}
