/* test_rule.c: allow patterns, concrete rules, coverage and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rule.h"
#include "util.h"

/* Parse a pattern that must be good. */
static struct sg_rule
pat(const char *text)
{
	struct sg_rule r;
	char err[256] = "";

	if (rule_pattern_parse(text, &r, err, sizeof(err)) == -1)
		fail_msg("pattern \"%s\" refused: %s", text, err);
	return r;
}

/* A concrete rule as event.c builds it from a record. */
static struct sg_rule
rule(const char *proto, int from, int to, const char *src)
{
	struct sg_rule r;

	memset(&r, 0, sizeof(r));
	if (rule_proto_parse(proto, &r.proto) == -1)
		fail_msg("protocol %s", proto);
	r.from_port = from;
	r.to_port = to;
	if (strncmp(src, "pl-", 3) == 0) {
		r.src = SG_SRC_PREFIX_LIST;
		sg_strlcpy(r.ref_id, src, sizeof(r.ref_id));
	} else if (strncmp(src, "sg-", 3) == 0) {
		r.src = SG_SRC_GROUP;
		sg_strlcpy(r.ref_id, src, sizeof(r.ref_id));
	} else if (rule_cidr_parse(src, &r) == -1)
		fail_msg("cidr %s", src);
	return r;
}

static void
expect_format(const struct sg_rule *r, const char *want)
{
	char buf[128];

	rule_format(r, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* Pattern text -> canonical text. */
static void
roundtrip(const char *in, const char *want)
{
	struct sg_rule r = pat(in), again;

	expect_format(&r, want);
	/* The canonical form parses back to the same pattern. */
	again = pat(want);
	assert_memory_equal(&r, &again, sizeof(r));
}

static void
test_pattern_forms(void **state)
{
	roundtrip("tcp 22 0.0.0.0/0", "tcp 22 0.0.0.0/0");
	roundtrip("tcp 1000-2000 10.0.0.0/8", "tcp 1000-2000 10.0.0.0/8");
	roundtrip("tcp any 10.0.0.0/8", "tcp any 10.0.0.0/8");
	roundtrip("tcp 0-65535 10.0.0.0/8", "tcp any 10.0.0.0/8");
	roundtrip("tcp 0 10.0.0.0/8", "tcp 0 10.0.0.0/8");
	roundtrip("tcp 65535 10.0.0.0/8", "tcp 65535 10.0.0.0/8");
	roundtrip("tcp 80-80 10.0.0.0/8", "tcp 80 10.0.0.0/8");
	roundtrip("udp 53 any", "udp 53 any");
	roundtrip("udp any pl-12345678", "udp any pl-12345678");
	roundtrip("tcp 443 sg-0123abcd", "tcp 443 sg-0123abcd");
	roundtrip("tcp 443 sg-0123456789abcdef0", "tcp 443 sg-0123456789abcdef0");
	roundtrip("tcp 443 pl-0123456789abcdef0", "tcp 443 pl-0123456789abcdef0");
	roundtrip("all any ::/0", "all any ::/0");
	roundtrip("-1 any 0.0.0.0/0", "all any 0.0.0.0/0");
	roundtrip("icmp 8/0 any", "icmp 8/0 any");
	roundtrip("icmp 8 any", "icmp 8 any");
	roundtrip("icmp any 0.0.0.0/0", "icmp any 0.0.0.0/0");
	roundtrip("icmpv6 128/0 ::/0", "icmpv6 128/0 ::/0");
	roundtrip("icmpv6 any 2001:db8::/32", "icmpv6 any 2001:db8::/32");
	roundtrip("6 22 10.0.0.0/8", "tcp 22 10.0.0.0/8");
	roundtrip("17 53 10.0.0.0/8", "udp 53 10.0.0.0/8");
	roundtrip("1 3/4 10.0.0.0/8", "icmp 3/4 10.0.0.0/8");
	roundtrip("58 any ::/0", "icmpv6 any ::/0");
	roundtrip("47 any 10.0.0.0/8", "47 any 10.0.0.0/8");
	roundtrip("0 any 10.0.0.0/8", "0 any 10.0.0.0/8");
	roundtrip("255 any 10.0.0.0/8", "255 any 10.0.0.0/8");
	roundtrip("all 22 any", "all 22 any");
	roundtrip("all 1000-2000 10.0.0.0/8", "all 1000-2000 10.0.0.0/8");
	/* "all 0-65535" is narrower than "all any": keep the numbers. */
	roundtrip("all 0-65535 any", "all 0-65535 any");
	roundtrip("TCP 22 10.0.0.0/8", "tcp 22 10.0.0.0/8");
	roundtrip("tcp ANY Any", "tcp any any");
	roundtrip("  tcp\t22   10.0.0.0/8  ", "tcp 22 10.0.0.0/8");
	roundtrip("tcp 22 10.1.2.3/32", "tcp 22 10.1.2.3/32");
	roundtrip("tcp 22 2001:db8::1/128", "tcp 22 2001:db8::1/128");
	roundtrip("tcp 22 2001:DB8:0:0::/64", "tcp 22 2001:db8::/64");
}

static void
test_pattern_fields(void **state)
{
	struct sg_rule r;

	r = pat("tcp any any");
	assert_int_equal(r.proto, SG_PROTO_TCP);
	assert_int_equal(r.from_port, 0);
	assert_int_equal(r.to_port, 65535);
	assert_int_equal(r.src, SG_SRC_ANY);
	assert_false(r.egress);

	r = pat("icmp 8 10.0.0.0/8");
	assert_int_equal(r.proto, SG_PROTO_ICMP);
	assert_int_equal(r.from_port, 8);
	assert_int_equal(r.to_port, -1);
	assert_int_equal(r.src, SG_SRC_CIDR4);
	assert_int_equal(r.prefixlen, 8);

	r = pat("icmp any any");
	assert_int_equal(r.from_port, -1);
	assert_int_equal(r.to_port, -1);

	r = pat("all any ::/0");
	assert_int_equal(r.proto, SG_PROTO_ALL);
	assert_int_equal(r.from_port, -1);
	assert_int_equal(r.to_port, -1);
	assert_int_equal(r.src, SG_SRC_CIDR6);
	assert_int_equal(r.prefixlen, 0);

	r = pat("47 any pl-12345678");
	assert_int_equal(r.proto, 47);
	assert_int_equal(r.from_port, -1);
	assert_int_equal(r.src, SG_SRC_PREFIX_LIST);
	assert_string_equal(r.ref_id, "pl-12345678");
}

struct bad {
	const char	*text;
	const char	*err;
};

static void
test_pattern_errors(void **state)
{
	static const struct bad bad[] = {
		{ "", "empty pattern: write PROTO PORTS SOURCE, like tcp 443 "
		    "0.0.0.0/0" },
		{ "   ", "empty pattern: write PROTO PORTS SOURCE, like tcp 443 "
		    "0.0.0.0/0" },
		{ "tcp 22", "missing SOURCE: write PROTO PORTS SOURCE, like tcp "
		    "443 0.0.0.0/0" },
		{ "tcp", "missing PORTS and SOURCE: write PROTO PORTS SOURCE, "
		    "like tcp 443 0.0.0.0/0" },
		{ "tcp 22-", "port range needs two numbers like 22-80" },
		{ "tcp 0.0.0.0/0", "bad ports \"0.0.0.0/0\": use a port like "
		    "443, a range like 1000-2000, or any" },
		{ "bogus", "unknown protocol \"bogus\": use tcp, udp, icmp, "
		    "icmpv6, all or a protocol number 0..255" },
		{ "47 22", "protocol 47 has no ports: write 47 any SOURCE" },
		{ "47 any", "missing SOURCE: write PROTO PORTS SOURCE, like tcp "
		    "443 0.0.0.0/0" },
		{ "tcp 22 10.0.0.0/8 x", "too many fields: write PROTO PORTS "
		    "SOURCE, like tcp 443 0.0.0.0/0" },
		{ "tcp 22 10.0.0.0/8 # ssh", "too many fields: write PROTO "
		    "PORTS SOURCE, like tcp 443 0.0.0.0/0" },
		{ "sctp 22 any", "unknown protocol \"sctp\": use tcp, udp, "
		    "icmp, icmpv6, all or a protocol number 0..255" },
		{ "256 any any", "unknown protocol \"256\": use tcp, udp, "
		    "icmp, icmpv6, all or a protocol number 0..255" },
		{ "-2 any any", "unknown protocol \"-2\": use tcp, udp, icmp, "
		    "icmpv6, all or a protocol number 0..255" },
		{ "tcp 22- any", "port range needs two numbers like 22-80" },
		{ "tcp -22 any", "port range needs two numbers like 22-80" },
		{ "tcp 80-22 any", "port range 80-22 is backwards: write "
		    "22-80" },
		{ "tcp 70000 any", "port out of range in \"70000\": ports are "
		    "0..65535" },
		{ "tcp 1-65536 any", "port out of range in \"1-65536\": ports "
		    "are 0..65535" },
		{ "tcp 99999999999999999999 any", "port out of range in "
		    "\"99999999999999999999\": ports are 0..65535" },
		{ "tcp ssh any", "bad ports \"ssh\": use a port like 443, a "
		    "range like 1000-2000, or any" },
		{ "tcp 22x any", "bad ports \"22x\": use a port like 443, a "
		    "range like 1000-2000, or any" },
		{ "tcp 1-2-3 any", "bad ports \"1-2-3\": use a port like 443, "
		    "a range like 1000-2000, or any" },
		{ "tcp +22 any", "bad ports \"+22\": use a port like 443, a "
		    "range like 1000-2000, or any" },
		{ "tcp 8/0 any", "bad ports \"8/0\": use a port like 443, a "
		    "range like 1000-2000, or any" },
		{ "all 22- any", "port range needs two numbers like 22-80" },
		{ "all 8/0 any", "bad ports \"8/0\": use a port like 443, a "
		    "range like 1000-2000, or any" },
		{ "icmp 8-10 any", "bad icmp type \"8-10\": use TYPE or "
		    "TYPE/CODE with numbers 0..255 (like 8 or 3/4), or any" },
		{ "icmp 256 any", "bad icmp type \"256\": use TYPE or TYPE/CODE "
		    "with numbers 0..255 (like 8 or 3/4), or any" },
		{ "icmp 8/256 any", "bad icmp code \"256\" in \"8/256\": use a "
		    "number 0..255 (like 3/4), or TYPE alone for every code" },
		{ "icmp 8/ any", "bad icmp code \"\" in \"8/\": use a number "
		    "0..255 (like 3/4), or TYPE alone for every code" },
		{ "icmp 256/0 any", "bad icmp type \"256/0\": use TYPE or "
		    "TYPE/CODE with numbers 0..255 (like 8 or 3/4), or any" },
		{ "icmp -1 any", "bad icmp type \"-1\": use TYPE or TYPE/CODE "
		    "with numbers 0..255 (like 8 or 3/4), or any" },
		{ "icmpv6 echo any", "bad icmpv6 type \"echo\": use TYPE or "
		    "TYPE/CODE with numbers 0..255 (like 8 or 3/4), or any" },
		{ "47 22 any", "protocol 47 has no ports: write 47 any any" },
		{ "0 1-2 10.0.0.0/8", "protocol 0 has no ports: write 0 any "
		    "10.0.0.0/8" },
		{ "tcp 22 10.1.2.3/8", "10.1.2.3/8 has host bits set: did you "
		    "mean 10.0.0.0/8?" },
		{ "tcp 22 10.1.2.3/31", "10.1.2.3/31 has host bits set: did "
		    "you mean 10.1.2.2/31?" },
		{ "tcp 22 2001:db8::1/64", "2001:db8::1/64 has host bits set: "
		    "did you mean 2001:db8::/64?" },
		{ "tcp 22 ::1/0", "::1/0 has host bits set: did you mean ::/0?" },
		{ "tcp 22 10.1.2.3", "10.1.2.3 is missing /prefix: write "
		    "10.1.2.3/32 for this one address" },
		{ "tcp 22 2001:db8::1", "2001:db8::1 is missing /prefix: write "
		    "2001:db8::1/128 for this one address" },
		{ "tcp 443 0.0.0.0", "0.0.0.0 is missing /prefix: write "
		    "0.0.0.0/0 for anywhere (or any as the source)" },
		{ "tcp 443 ::", ":: is missing /prefix: write ::/0 for "
		    "anywhere (or any as the source)" },
		{ "tcp 22 10.0.0.0/33", "bad prefix length \"/33\": use a "
		    "number 0..32" },
		{ "tcp 22 ::/129", "bad prefix length \"/129\": use a number "
		    "0..128" },
		{ "tcp 22 10.0.0.0/", "bad prefix length \"/\": use a number "
		    "0..32" },
		{ "tcp 22 10.0.0.0/8x", "bad prefix length \"/8x\": use a "
		    "number 0..32" },
		{ "tcp 22 10.0.0.0/-8", "bad prefix length \"/-8\": use a "
		    "number 0..32" },
		{ "tcp 22 10.0.0/8", "bad address \"10.0.0\": use a CIDR like "
		    "10.0.0.0/8 or 2001:db8::/32" },
		{ "tcp 22 300.0.0.0/8", "bad address \"300.0.0.0\": use a CIDR "
		    "like 10.0.0.0/8 or 2001:db8::/32" },
		{ "tcp 22 /8", "bad address \"\": use a CIDR like 10.0.0.0/8 "
		    "or 2001:db8::/32" },
		{ "tcp 22 fe80::1%eth0/64", "bad address \"fe80::1%eth0\": use "
		    "a CIDR like 10.0.0.0/8 or 2001:db8::/32" },
		{ "tcp 22 example.com", "bad source \"example.com\": use a CIDR "
		    "like 10.0.0.0/8 or ::/0, a prefix list pl-..., a security "
		    "group sg-..., or any" },
		{ "tcp 22 sg-123", "bad security group id \"sg-123\": use sg- "
		    "followed by 8 or 17 lower-case hex digits" },
		{ "tcp 22 sg-0123ABCD", "bad security group id \"sg-0123ABCD\": "
		    "use sg- followed by 8 or 17 lower-case hex digits" },
		{ "tcp 22 sg-0123456789abcdef", "bad security group id "
		    "\"sg-0123456789abcdef\": use sg- followed by 8 or 17 "
		    "lower-case hex digits" },
		{ "tcp 22 pl-xyz12345", "bad prefix list id \"pl-xyz12345\": "
		    "use pl- followed by 8 or 17 lower-case hex digits" },
		{ "tcp 22 pl-", "bad prefix list id \"pl-\": use pl- followed "
		    "by 8 or 17 lower-case hex digits" },
	};
	struct sg_rule r;
	char err[256];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		if (rule_pattern_parse(bad[i].text, &r, err, sizeof(err)) !=
		    -1)
			fail_msg("pattern \"%s\" accepted", bad[i].text);
		if (strcmp(err, bad[i].err) != 0)
			fail_msg("pattern \"%s\":\n got: %s\nwant: %s",
			    bad[i].text, err, bad[i].err);
	}
	/* A NULL or tiny err buffer is fine. */
	assert_int_equal(rule_pattern_parse("tcp", &r, NULL, 0), -1);
	assert_int_equal(rule_pattern_parse("tcp", &r, err, 4), -1);
	assert_string_equal(err, "mis");
	assert_int_equal(rule_pattern_parse(NULL, &r, err, sizeof(err)), -1);
}

static void
test_pattern_long_field(void **state)
{
	char text[400], err[256];
	struct sg_rule r;

	memset(text, 'a', sizeof(text));
	memcpy(text, "tcp 22 ", 7);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(rule_pattern_parse(text, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "field \"aaaaaaaaaaaaaaaaaaaa...\" is too "
	    "long");
}

static void
test_proto_parse(void **state)
{
	static const struct {
		const char	*text;
		int		 proto;
	} good[] = {
		{ "tcp", 6 }, { "TCP", 6 }, { "6", 6 }, { "udp", 17 },
		{ "17", 17 }, { "icmp", 1 }, { "1", 1 }, { "icmpv6", 58 },
		{ "58", 58 }, { "all", -1 }, { "-1", -1 }, { "0", 0 },
		{ "255", 255 }, { "47", 47 }, { "006", 6 },
	};
	static const char *const bad[] = {
		"", "256", "-2", "tcp6", "6x", " 6", "+6", "-", "icmp6",
		"1000000000000000000000",
	};
	size_t i;
	int p;

	for (i = 0; i < SG_ARRAY_LEN(good); i++) {
		p = 12345;
		assert_int_equal(rule_proto_parse(good[i].text, &p), 0);
		assert_int_equal(p, good[i].proto);
	}
	for (i = 0; i < SG_ARRAY_LEN(bad); i++)
		if (rule_proto_parse(bad[i], &p) != -1)
			fail_msg("protocol \"%s\" accepted", bad[i]);
	assert_int_equal(rule_proto_parse(NULL, &p), -1);
}

static void
test_cidr_parse(void **state)
{
	struct sg_rule r;
	char buf[64];

	/* Host bits from AWS are accepted and masked. */
	memset(&r, 0, sizeof(r));
	r.proto = SG_PROTO_TCP;
	r.from_port = 22;
	sg_strlcpy(r.rule_id, "sgr-1", sizeof(r.rule_id));
	assert_int_equal(rule_cidr_parse("10.1.2.3/8", &r), 0);
	assert_int_equal(r.src, SG_SRC_CIDR4);
	assert_int_equal(r.prefixlen, 8);
	rule_cidr_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8");
	/* Nothing else is touched. */
	assert_int_equal(r.proto, SG_PROTO_TCP);
	assert_int_equal(r.from_port, 22);
	assert_string_equal(r.rule_id, "sgr-1");

	assert_int_equal(rule_cidr_parse("2001:db8::1/32", &r), 0);
	assert_int_equal(r.src, SG_SRC_CIDR6);
	assert_int_equal(r.prefixlen, 32);
	rule_cidr_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");

	assert_int_equal(rule_cidr_parse("0.0.0.0/0", &r), 0);
	rule_cidr_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0/0");
	assert_int_equal(rule_cidr_parse("::/0", &r), 0);
	rule_cidr_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "::/0");
	assert_int_equal(rule_cidr_parse("203.0.113.7/32", &r), 0);
	rule_cidr_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "203.0.113.7/32");
	assert_int_equal(rule_cidr_parse("1.2.3.255/25", &r), 0);
	rule_cidr_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "1.2.3.128/25");

	assert_int_equal(rule_cidr_parse("10.0.0.1", &r), -1);
	assert_int_equal(rule_cidr_parse("10.0.0.0/33", &r), -1);
	assert_int_equal(rule_cidr_parse("::/129", &r), -1);
	assert_int_equal(rule_cidr_parse("10.0.0.0/", &r), -1);
	assert_int_equal(rule_cidr_parse("/8", &r), -1);
	assert_int_equal(rule_cidr_parse("", &r), -1);
	assert_int_equal(rule_cidr_parse("bogus/8", &r), -1);
	assert_int_equal(rule_cidr_parse("10.0.0.0/8 ", &r), -1);
	assert_int_equal(rule_cidr_parse(NULL, &r), -1);
}

static void
test_format_concrete(void **state)
{
	struct sg_rule r;
	char buf[128];

	r = rule("-1", -1, -1, "0.0.0.0/0");
	expect_format(&r, "all any 0.0.0.0/0");
	r = rule("icmp", -1, -1, "0.0.0.0/0");
	expect_format(&r, "icmp any 0.0.0.0/0");
	r = rule("icmp", 8, -1, "10.0.0.0/8");
	expect_format(&r, "icmp 8 10.0.0.0/8");
	r = rule("icmp", 3, 4, "10.0.0.0/8");
	expect_format(&r, "icmp 3/4 10.0.0.0/8");
	r = rule("tcp", 0, 65535, "sg-0123abcd");
	expect_format(&r, "tcp any sg-0123abcd");
	r = rule("udp", 53, 53, "pl-12345678");
	expect_format(&r, "udp 53 pl-12345678");
	r = rule("tcp", 22, 22, "10.1.2.3/8");
	expect_format(&r, "tcp 22 10.0.0.0/8");
	r = rule("50", -1, -1, "::/0");
	expect_format(&r, "50 any ::/0");
	/* A tcp rule without ports is every port. */
	r = rule("tcp", -1, -1, "::/0");
	expect_format(&r, "tcp any ::/0");
	/* Truncation never overruns. */
	r = rule("tcp", 1000, 2000, "2001:db8::/32");
	rule_format(&r, buf, 8);
	assert_string_equal(buf, "tcp 100");
	rule_cidr_format(&r, buf, 5);
	assert_string_equal(buf, "2001");
}

/* One row of a truth table. */
struct cov {
	const char	*pattern;
	const char	*proto;
	int		 from, to;
	const char	*src;
	bool		 covered;
};

static void
run_table(const struct cov *t, size_t n)
{
	struct sg_rule p, r;
	char rb[128];
	size_t i;

	for (i = 0; i < n; i++) {
		p = pat(t[i].pattern);
		r = rule(t[i].proto, t[i].from, t[i].to, t[i].src);
		if (rule_covers(&p, &r) != t[i].covered) {
			rule_format(&r, rb, sizeof(rb));
			fail_msg("row %zu: \"%s\" %s \"%s\"", i, t[i].pattern,
			    t[i].covered ? "should cover" : "should not cover",
			    rb);
		}
	}
}

static void
test_covers_ports(void **state)
{
	static const struct cov t[] = {
		{ "tcp 22 any", "tcp", 22, 22, "0.0.0.0/0", true },
		{ "tcp 22 any", "tcp", 23, 23, "0.0.0.0/0", false },
		{ "tcp 22 any", "tcp", 21, 22, "0.0.0.0/0", false },
		{ "tcp 22 any", "udp", 22, 22, "0.0.0.0/0", false },
		{ "tcp 22 any", "6", 22, 22, "0.0.0.0/0", true },
		{ "tcp 1000-2000 any", "tcp", 1000, 2000, "10.0.0.0/8", true },
		{ "tcp 1000-2000 any", "tcp", 1500, 1600, "10.0.0.0/8", true },
		{ "tcp 1000-2000 any", "tcp", 1000, 1000, "10.0.0.0/8", true },
		{ "tcp 1000-2000 any", "tcp", 2000, 2000, "10.0.0.0/8", true },
		{ "tcp 1000-2000 any", "tcp", 999, 1500, "10.0.0.0/8", false },
		{ "tcp 1000-2000 any", "tcp", 1500, 2001, "10.0.0.0/8", false },
		{ "tcp 1000-2000 any", "tcp", 0, 65535, "10.0.0.0/8", false },
		{ "tcp any any", "tcp", 0, 65535, "10.0.0.0/8", true },
		{ "tcp any any", "tcp", 443, 443, "10.0.0.0/8", true },
		{ "tcp any any", "tcp", -1, -1, "10.0.0.0/8", true },
		{ "tcp 0-65534 any", "tcp", -1, -1, "10.0.0.0/8", false },
		{ "tcp any any", "-1", -1, -1, "10.0.0.0/8", false },
		{ "tcp any any", "udp", 0, 65535, "10.0.0.0/8", false },
		{ "tcp any any", "icmp", -1, -1, "10.0.0.0/8", false },
		{ "udp 53 any", "udp", 53, 53, "10.0.0.0/8", true },
		{ "udp 53 any", "17", 53, 53, "10.0.0.0/8", true },
		{ "udp 53 any", "tcp", 53, 53, "10.0.0.0/8", false },
		{ "udp any any", "udp", 0, 65535, "10.0.0.0/8", true },
		/* Protocol numbers without ports match by number only. */
		{ "47 any any", "47", -1, -1, "10.0.0.0/8", true },
		{ "47 any any", "50", -1, -1, "10.0.0.0/8", false },
		{ "47 any any", "-1", -1, -1, "10.0.0.0/8", false },
		{ "47 any any", "tcp", 22, 22, "10.0.0.0/8", false },
	};

	run_table(t, SG_ARRAY_LEN(t));
}

static void
test_covers_all(void **state)
{
	static const struct cov t[] = {
		/* "all any" covers every protocol and port. */
		{ "all any any", "-1", -1, -1, "0.0.0.0/0", true },
		{ "all any any", "tcp", 0, 65535, "0.0.0.0/0", true },
		{ "all any any", "udp", 53, 53, "::/0", true },
		{ "all any any", "icmp", -1, -1, "0.0.0.0/0", true },
		{ "all any any", "47", -1, -1, "0.0.0.0/0", true },
		{ "-1 any 10.0.0.0/8", "tcp", 22, 22, "10.1.0.0/16", true },
		{ "-1 any 10.0.0.0/8", "tcp", 22, 22, "11.0.0.0/16", false },
		/* Only "all any ..." covers a protocol -1 rule. */
		{ "tcp any any", "-1", -1, -1, "0.0.0.0/0", false },
		{ "udp any any", "-1", -1, -1, "0.0.0.0/0", false },
		{ "icmp any any", "-1", -1, -1, "0.0.0.0/0", false },
		/* "all PORTS": tcp and udp in range, nothing else. */
		{ "all 22 any", "tcp", 22, 22, "0.0.0.0/0", true },
		{ "all 22 any", "udp", 22, 22, "0.0.0.0/0", true },
		{ "all 22 any", "tcp", 22, 23, "0.0.0.0/0", false },
		{ "all 22 any", "-1", -1, -1, "0.0.0.0/0", false },
		{ "all 22 any", "icmp", 22, -1, "0.0.0.0/0", false },
		{ "all 22 any", "47", -1, -1, "0.0.0.0/0", false },
		{ "all 1000-2000 any", "udp", 1200, 1300, "0.0.0.0/0", true },
		{ "all 0-65535 any", "tcp", 0, 65535, "0.0.0.0/0", true },
		{ "all 0-65535 any", "-1", -1, -1, "0.0.0.0/0", false },
	};

	run_table(t, SG_ARRAY_LEN(t));
}

static void
test_covers_icmp(void **state)
{
	static const struct cov t[] = {
		{ "icmp any any", "icmp", -1, -1, "0.0.0.0/0", true },
		{ "icmp any any", "icmp", 8, 0, "0.0.0.0/0", true },
		{ "icmp any any", "icmp", 8, -1, "0.0.0.0/0", true },
		{ "icmp any any", "icmpv6", 128, 0, "::/0", false },
		{ "icmp any any", "tcp", 8, 8, "0.0.0.0/0", false },
		{ "icmp 8 any", "icmp", 8, 0, "0.0.0.0/0", true },
		{ "icmp 8 any", "icmp", 8, 5, "0.0.0.0/0", true },
		{ "icmp 8 any", "icmp", 8, -1, "0.0.0.0/0", true },
		{ "icmp 8 any", "icmp", 0, 0, "0.0.0.0/0", false },
		/* -1 type in a rule is every type: wider than type 8. */
		{ "icmp 8 any", "icmp", -1, -1, "0.0.0.0/0", false },
		{ "icmp 8/0 any", "icmp", 8, 0, "0.0.0.0/0", true },
		{ "icmp 8/0 any", "icmp", 8, 1, "0.0.0.0/0", false },
		/* -1 code in a rule is every code: wider than code 0. */
		{ "icmp 8/0 any", "icmp", 8, -1, "0.0.0.0/0", false },
		{ "icmp 8/0 any", "icmp", -1, -1, "0.0.0.0/0", false },
		{ "icmp 3/4 any", "1", 3, 4, "0.0.0.0/0", true },
		{ "icmpv6 any ::/0", "icmpv6", -1, -1, "::/0", true },
		{ "icmpv6 any ::/0", "58", 128, 0, "2001:db8::/32", true },
		{ "icmpv6 128 ::/0", "icmpv6", 128, 0, "::/0", true },
		{ "icmpv6 128 ::/0", "icmpv6", 129, 0, "::/0", false },
		{ "icmpv6 any any", "icmp", -1, -1, "0.0.0.0/0", false },
	};

	run_table(t, SG_ARRAY_LEN(t));
}

static void
test_covers_sources(void **state)
{
	static const struct cov t[] = {
		/* IPv4 containment. */
		{ "tcp 22 10.0.0.0/8", "tcp", 22, 22, "10.1.2.0/24", true },
		{ "tcp 22 10.0.0.0/8", "tcp", 22, 22, "10.0.0.0/8", true },
		{ "tcp 22 10.0.0.0/8", "tcp", 22, 22, "10.255.255.255/32",
		    true },
		{ "tcp 22 10.0.0.0/8", "tcp", 22, 22, "10.0.0.0/7", false },
		{ "tcp 22 10.0.0.0/8", "tcp", 22, 22, "11.0.0.0/8", false },
		{ "tcp 22 10.0.0.0/8", "tcp", 22, 22, "0.0.0.0/0", false },
		{ "tcp 22 10.0.0.0/8", "tcp", 22, 22, "10.1.2.3/8", true },
		{ "tcp 22 10.1.2.0/24", "tcp", 22, 22, "10.1.2.128/25", true },
		{ "tcp 22 10.1.2.0/24", "tcp", 22, 22, "10.1.3.0/25", false },
		{ "tcp 22 192.168.1.7/32", "tcp", 22, 22, "192.168.1.7/32",
		    true },
		{ "tcp 22 192.168.1.7/32", "tcp", 22, 22, "192.168.1.6/31",
		    false },
		{ "tcp 22 0.0.0.0/0", "tcp", 22, 22, "0.0.0.0/0", true },
		{ "tcp 22 0.0.0.0/0", "tcp", 22, 22, "203.0.113.9/32", true },
		/* 0.0.0.0/0 is IPv4 only. */
		{ "tcp 22 0.0.0.0/0", "tcp", 22, 22, "::/0", false },
		{ "tcp 22 0.0.0.0/0", "tcp", 22, 22, "2001:db8::/32", false },
		{ "tcp 22 0.0.0.0/0", "tcp", 22, 22, "::ffff:10.0.0.0/104",
		    false },
		{ "tcp 22 0.0.0.0/0", "tcp", 22, 22, "pl-12345678", false },
		{ "tcp 22 0.0.0.0/0", "tcp", 22, 22, "sg-12345678", false },
		/* IPv6 containment. */
		{ "tcp 22 ::/0", "tcp", 22, 22, "::/0", true },
		{ "tcp 22 ::/0", "tcp", 22, 22, "2001:db8::1/128", true },
		{ "tcp 22 ::/0", "tcp", 22, 22, "0.0.0.0/0", false },
		{ "tcp 22 2001:db8::/32", "tcp", 22, 22, "2001:db8:1::/48",
		    true },
		{ "tcp 22 2001:db8::/32", "tcp", 22, 22, "2001:db8::/32", true },
		{ "tcp 22 2001:db8::/32", "tcp", 22, 22, "2001:db8::/31",
		    false },
		{ "tcp 22 2001:db8::/32", "tcp", 22, 22, "2001:db9::/48",
		    false },
		{ "tcp 22 2001:db8:0:1::/64", "tcp", 22, 22,
		    "2001:db8:0:1:ffff::/80", true },
		{ "tcp 22 2001:db8:0:1::/64", "tcp", 22, 22,
		    "2001:db8:0:2::/80", false },
		{ "tcp 22 2001:db8::1/128", "tcp", 22, 22, "2001:db8::1/128",
		    true },
		{ "tcp 22 2001:db8::1/128", "tcp", 22, 22, "2001:db8::/127",
		    false },
		/* Odd prefix lengths cut inside a byte. */
		{ "tcp 22 2001:db8:8000::/33", "tcp", 22, 22,
		    "2001:db8:c000::/34", true },
		{ "tcp 22 2001:db8:8000::/33", "tcp", 22, 22,
		    "2001:db8:4000::/34", false },
		/* any covers every source. */
		{ "tcp 22 any", "tcp", 22, 22, "::/0", true },
		{ "tcp 22 any", "tcp", 22, 22, "0.0.0.0/0", true },
		{ "tcp 22 any", "tcp", 22, 22, "pl-12345678", true },
		{ "tcp 22 any", "tcp", 22, 22, "sg-12345678", true },
		/* Prefix lists and groups: the same id only. */
		{ "tcp 22 pl-12345678", "tcp", 22, 22, "pl-12345678", true },
		{ "tcp 22 pl-12345678", "tcp", 22, 22, "pl-87654321", false },
		{ "tcp 22 pl-12345678", "tcp", 22, 22, "sg-12345678", false },
		{ "tcp 22 pl-12345678", "tcp", 22, 22, "10.0.0.0/8", false },
		{ "tcp 22 sg-0123abcd", "tcp", 22, 22, "sg-0123abcd", true },
		{ "tcp 22 sg-0123abcd", "tcp", 22, 22, "sg-0123abce", false },
		{ "tcp 22 sg-0123abcd", "tcp", 22, 22, "pl-0123abcd", false },
		{ "tcp 22 sg-0123abcd", "tcp", 22, 22, "0.0.0.0/0", false },
	};

	run_table(t, SG_ARRAY_LEN(t));
}

static void
test_covers_group_owner(void **state)
{
	struct sg_rule p = pat("tcp 22 sg-0123abcd");
	struct sg_rule r = rule("tcp", 22, 22, "sg-0123abcd");

	/* A group referenced with its owner is the same group. */
	sg_strlcpy(r.user_id, "123456789012", sizeof(r.user_id));
	assert_true(rule_covers(&p, &r));
	/* Direction is the caller's business. */
	r.egress = true;
	assert_true(rule_covers(&p, &r));
}

static void
test_equal(void **state)
{
	struct sg_rule a, b;

	a = rule("tcp", 22, 22, "10.0.0.0/8");
	b = rule("6", 22, 22, "10.1.2.3/8");
	sg_strlcpy(b.rule_id, "sgr-0123", sizeof(b.rule_id));
	assert_true(rule_equal(&a, &b));
	b.to_port = 23;
	assert_false(rule_equal(&a, &b));
	b = rule("tcp", 22, 22, "10.0.0.0/9");
	assert_false(rule_equal(&a, &b));
	b = rule("udp", 22, 22, "10.0.0.0/8");
	assert_false(rule_equal(&a, &b));
	b = rule("tcp", 22, 22, "10.0.0.0/8");
	b.egress = true;
	assert_false(rule_equal(&a, &b));

	/* Ports of protocol -1 and of port-less protocols are noise. */
	a = rule("-1", -1, -1, "::/0");
	b = rule("-1", 0, 65535, "::/0");
	assert_true(rule_equal(&a, &b));
	a = rule("47", -1, -1, "::/0");
	b = rule("47", 5, 6, "::/0");
	assert_true(rule_equal(&a, &b));
	b = rule("-1", -1, -1, "::/0");
	assert_false(rule_equal(&a, &b));
	a = rule("tcp", 22, 22, "::/0");
	b = rule("tcp", 22, 22, "0.0.0.0/0");
	assert_false(rule_equal(&a, &b));

	/* tcp without ports is 0-65535. */
	a = rule("tcp", -1, -1, "0.0.0.0/0");
	b = rule("tcp", 0, 65535, "0.0.0.0/0");
	assert_true(rule_equal(&a, &b));

	/* icmp: with every type the code does not matter. */
	a = rule("icmp", -1, -1, "0.0.0.0/0");
	b = rule("icmp", -1, 0, "0.0.0.0/0");
	assert_true(rule_equal(&a, &b));
	a = rule("icmp", 8, -1, "0.0.0.0/0");
	b = rule("icmp", 8, 0, "0.0.0.0/0");
	assert_false(rule_equal(&a, &b));
	b = rule("icmp", 8, -1, "0.0.0.0/0");
	assert_true(rule_equal(&a, &b));

	/* Referenced groups: owner compared only when both know it. */
	a = rule("tcp", 22, 22, "sg-0123abcd");
	b = rule("tcp", 22, 22, "sg-0123abcd");
	sg_strlcpy(b.user_id, "123456789012", sizeof(b.user_id));
	assert_true(rule_equal(&a, &b));
	sg_strlcpy(a.user_id, "210987654321", sizeof(a.user_id));
	assert_false(rule_equal(&a, &b));
	b = rule("tcp", 22, 22, "sg-0123abce");
	assert_false(rule_equal(&a, &b));
	a = rule("tcp", 22, 22, "pl-12345678");
	b = rule("tcp", 22, 22, "pl-12345678");
	assert_true(rule_equal(&a, &b));
	b = rule("tcp", 22, 22, "pl-12345679");
	assert_false(rule_equal(&a, &b));
	b = rule("tcp", 22, 22, "sg-12345678");
	assert_false(rule_equal(&a, &b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_forms),
		cmocka_unit_test(test_pattern_fields),
		cmocka_unit_test(test_pattern_errors),
		cmocka_unit_test(test_pattern_long_field),
		cmocka_unit_test(test_proto_parse),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_format_concrete),
		cmocka_unit_test(test_covers_ports),
		cmocka_unit_test(test_covers_all),
		cmocka_unit_test(test_covers_icmp),
		cmocka_unit_test(test_covers_sources),
		cmocka_unit_test(test_covers_group_owner),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
