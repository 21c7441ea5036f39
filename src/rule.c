/* rule.c: security-group rules and `allow` patterns ("PROTO PORTS SOURCE").
 *
 * Patterns come from the operator and are parsed strictly, with a reason a
 * person can act on. Concrete rules come from AWS and are parsed leniently
 * (CIDRs may carry host bits). Coverage is decided on the parsed form only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rule.h"
#include "util.h"

#define RULE_TOKEN_MAX	128

static const struct {
	const char	*name;
	int		 proto;
} rule_protos[] = {
	{ "all", SG_PROTO_ALL },
	{ "icmp", SG_PROTO_ICMP },
	{ "tcp", SG_PROTO_TCP },
	{ "udp", SG_PROTO_UDP },
	{ "icmpv6", SG_PROTO_ICMPV6 },
};

static bool
rule_has_ports(int proto)
{
	return proto == SG_PROTO_TCP || proto == SG_PROTO_UDP;
}

static bool
rule_is_icmp(int proto)
{
	return proto == SG_PROTO_ICMP || proto == SG_PROTO_ICMPV6;
}

/* Strict unsigned decimal: digits only, no sign, no junk, at most max. */
static int
rule_number(const char *s, size_t len, long max, long *out)
{
	long v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

static bool
rule_all_digits(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int
rule_proto_parse(const char *s, int *proto)
{
	size_t i;
	long v;

	if (s == NULL)
		return -1;
	/* EC2 takes protocol names in any case; so do we. */
	for (i = 0; i < SG_ARRAY_LEN(rule_protos); i++)
		if (strcasecmp(s, rule_protos[i].name) == 0) {
			*proto = rule_protos[i].proto;
			return 0;
		}
	if (strcmp(s, "-1") == 0) {
		*proto = SG_PROTO_ALL;
		return 0;
	}
	if (rule_number(s, strlen(s), 255, &v) == -1)
		return -1;
	*proto = (int)v;
	return 0;
}

static const char *
rule_proto_name(int proto, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(rule_protos); i++)
		if (rule_protos[i].proto == proto)
			return rule_protos[i].name;
	if (proto < 0)
		return "all";
	snprintf(buf, size, "%d", proto);
	return buf;
}

/* Is s "PREFIX" + 8 or 17 lower-case hex digits (sg-, pl-)? */
static bool
rule_aws_id(const char *s, const char *prefix)
{
	size_t plen = strlen(prefix), n, i;

	if (strncmp(s, prefix, plen) != 0)
		return false;
	n = strlen(s + plen);
	if (n != 8 && n != 17)
		return false;
	for (i = plen; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Zero the bits of addr (len bytes) beyond prefixlen; true if any was set. */
static bool
rule_mask(unsigned char *addr, size_t len, int prefixlen)
{
	unsigned char keep;
	bool had = false;
	size_t i;
	int bits;

	for (i = 0; i < len; i++) {
		bits = prefixlen - (int)(i * 8);
		keep = bits >= 8 ? 0xff :
		    bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
		if (addr[i] & ~keep)
			had = true;
		addr[i] &= keep;
	}
	return had;
}

/*
 * Parse "ADDR/LEN". In a pattern (strict) host bits are an error, because
 * "10.1.2.3/8" usually means the operator meant something narrower; rules
 * from AWS may carry them and are masked for comparison.
 */
static int
rule_cidr(const char *s, struct sg_rule *r, bool strict, char *err,
    size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 8], net[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	const char *slash;
	size_t hlen;
	long plen;
	int af, max;

	memset(addr, 0, sizeof(addr));
	slash = strchr(s, '/');
	hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host)) {
		sg_errf(err, errlen, "bad address \"%.*s\": use a CIDR like "
		    "10.0.0.0/8 or 2001:db8::/32", (int)(hlen < 64 ? hlen : 64),
		    s);
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		af = AF_INET6;
		max = 128;
	} else {
		sg_errf(err, errlen, "bad address \"%s\": use a CIDR like "
		    "10.0.0.0/8 or 2001:db8::/32", host);
		return -1;
	}
	if (slash == NULL) {
		static const unsigned char zero[16];

		/* 0.0.0.0 and :: alone mean "anywhere" far more often than
		 * that one address. */
		if (memcmp(addr, zero, af == AF_INET ? 4 : 16) == 0)
			sg_errf(err, errlen, "%s is missing /prefix: write "
			    "%s/0 for anywhere (or any as the source)", host,
			    host);
		else
			sg_errf(err, errlen, "%s is missing /prefix: write "
			    "%s/%d for this one address", host, host, max);
		return -1;
	}
	if (rule_number(slash + 1, strlen(slash + 1), max, &plen) == -1) {
		sg_errf(err, errlen, "bad prefix length \"/%s\": use a number "
		    "0..%d", slash + 1, max);
		return -1;
	}
	if (rule_mask(addr, af == AF_INET ? 4 : 16, (int)plen) && strict) {
		if (inet_ntop(af, addr, net, sizeof(net)) == NULL)
			net[0] = '\0';
		sg_errf(err, errlen, "%s has host bits set: did you mean "
		    "%s/%ld?", s, net, plen);
		return -1;
	}
	r->src = af == AF_INET ? SG_SRC_CIDR4 : SG_SRC_CIDR6;
	memcpy(r->addr, addr, sizeof(r->addr));
	r->prefixlen = (int)plen;
	return 0;
}

int
rule_cidr_parse(const char *s, struct sg_rule *r)
{
	if (s == NULL || rule_cidr(s, r, false, NULL, 0) == -1)
		return -1;
	/* Kept verbatim: EC2 must be told the CIDR the way it stored it. */
	if (strlen(s) < sizeof(r->cidr_text))
		sg_strlcpy(r->cidr_text, s, sizeof(r->cidr_text));
	else
		r->cidr_text[0] = '\0';
	return 0;
}

/* The PORTS field of a tcp/udp pattern (also `all` with ports). */
static int
rule_parse_ports(const char *s, struct sg_rule *r, char *err, size_t errlen)
{
	const char *dash;
	long from, to;

	if (strcasecmp(s, "any") == 0) {
		r->from_port = 0;
		r->to_port = 65535;
		return 0;
	}
	dash = strchr(s, '-');
	if (dash == NULL) {
		if (rule_number(s, strlen(s), 65535, &from) == -1)
			goto bad;
		r->from_port = r->to_port = (int)from;
		return 0;
	}
	if (dash == s || dash[1] == '\0') {
		sg_errf(err, errlen, "port range needs two numbers like 22-80");
		return -1;
	}
	if (rule_number(s, (size_t)(dash - s), 65535, &from) == -1 ||
	    rule_number(dash + 1, strlen(dash + 1), 65535, &to) == -1)
		goto bad;
	if (from > to) {
		sg_errf(err, errlen, "port range %ld-%ld is backwards: write "
		    "%ld-%ld", from, to, to, from);
		return -1;
	}
	r->from_port = (int)from;
	r->to_port = (int)to;
	return 0;
 bad:
	if (rule_all_digits(s, dash != NULL ? (size_t)(dash - s) : strlen(s)) &&
	    (dash == NULL || rule_all_digits(dash + 1, strlen(dash + 1))))
		sg_errf(err, errlen, "port out of range in \"%s\": ports are "
		    "0..65535", s);
	else
		sg_errf(err, errlen, "bad ports \"%s\": use a port like 443, "
		    "a range like 1000-2000, or any", s);
	return -1;
}

/* The PORTS field of an icmp/icmpv6 pattern: TYPE, TYPE/CODE or any. */
static int
rule_parse_icmp(const char *s, struct sg_rule *r, const char *pname,
    char *err, size_t errlen)
{
	const char *slash;
	long type, code = -1;

	if (strcasecmp(s, "any") == 0) {
		r->from_port = r->to_port = -1;
		return 0;
	}
	slash = strchr(s, '/');
	if (rule_number(s, slash != NULL ? (size_t)(slash - s) : strlen(s),
	    255, &type) == -1) {
		sg_errf(err, errlen, "bad %s type \"%s\": use TYPE or "
		    "TYPE/CODE with numbers 0..255 (like 8 or 3/4), or any",
		    pname, s);
		return -1;
	}
	if (slash != NULL &&
	    rule_number(slash + 1, strlen(slash + 1), 255, &code) == -1) {
		sg_errf(err, errlen, "bad %s code \"%s\" in \"%s\": use a "
		    "number 0..255 (like 3/4), or TYPE alone for every code",
		    pname, slash + 1, s);
		return -1;
	}
	r->from_port = (int)type;
	r->to_port = (int)code;
	return 0;
}

/* The SOURCE field: CIDR, pl-..., sg-... or any. */
static int
rule_parse_source(const char *s, struct sg_rule *r, char *err, size_t errlen)
{
	if (strcasecmp(s, "any") == 0) {
		r->src = SG_SRC_ANY;
		return 0;
	}
	if (strncmp(s, "pl-", 3) == 0 || strncmp(s, "sg-", 3) == 0) {
		if (!rule_aws_id(s, strncmp(s, "pl-", 3) == 0 ? "pl-" :
		    "sg-")) {
			sg_errf(err, errlen, "bad %s id \"%s\": use %.3s "
			    "followed by 8 or 17 lower-case hex digits",
			    s[0] == 'p' ? "prefix list" : "security group", s,
			    s);
			return -1;
		}
		r->src = s[0] == 'p' ? SG_SRC_PREFIX_LIST : SG_SRC_GROUP;
		sg_strlcpy(r->ref_id, s, sizeof(r->ref_id));
		return 0;
	}
	if (strchr(s, '/') != NULL || strchr(s, ':') != NULL ||
	    isdigit((unsigned char)s[0]))
		return rule_cidr(s, r, true, err, errlen);
	sg_errf(err, errlen, "bad source \"%s\": use a CIDR like 10.0.0.0/8 "
	    "or ::/0, a prefix list pl-..., a security group sg-..., or any",
	    s);
	return -1;
}

int
rule_pattern_parse(const char *text, struct sg_rule *r, char *err,
    size_t errlen)
{
	char tok[3][RULE_TOKEN_MAX], pbuf[16];
	const char *p = text, *start;
	size_t n = 0, len;
	const char *pname;

	memset(r, 0, sizeof(*r));
	r->from_port = r->to_port = -1;
	if (text == NULL)
		p = "";
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		len = (size_t)(p - start);
		if (n == 3) {
			n++;
			break;
		}
		if (len >= RULE_TOKEN_MAX) {
			sg_errf(err, errlen, "field \"%.20s...\" is too long",
			    start);
			return -1;
		}
		memcpy(tok[n], start, len);
		tok[n][len] = '\0';
		n++;
	}
	if (n == 0) {
		sg_errf(err, errlen, "empty pattern: write PROTO PORTS SOURCE, "
		    "like tcp 443 0.0.0.0/0");
		return -1;
	}
	if (n > 3) {
		sg_errf(err, errlen, "too many fields: write PROTO PORTS "
		    "SOURCE, like tcp 443 0.0.0.0/0");
		return -1;
	}
	/* Check what is there before saying what is missing. */
	if (rule_proto_parse(tok[0], &r->proto) == -1) {
		sg_errf(err, errlen, "unknown protocol \"%s\": use tcp, udp, "
		    "icmp, icmpv6, all or a protocol number 0..255", tok[0]);
		return -1;
	}
	pname = rule_proto_name(r->proto, pbuf, sizeof(pbuf));
	if (n == 1) {
		sg_errf(err, errlen, "missing PORTS and SOURCE: write PROTO "
		    "PORTS SOURCE, like tcp 443 0.0.0.0/0");
		return -1;
	}
	if (rule_has_ports(r->proto)) {
		if (rule_parse_ports(tok[1], r, err, errlen) == -1)
			return -1;
	} else if (rule_is_icmp(r->proto)) {
		if (rule_parse_icmp(tok[1], r, pname, err, errlen) == -1)
			return -1;
	} else if (r->proto == SG_PROTO_ALL) {
		/*
		 * "all PORTS" (ports other than any) reads as "these ports
		 * on any protocol that has ports": it covers tcp and udp
		 * rules inside the range, never a protocol -1 rule (which
		 * opens every port) nor icmp. It is stored as proto -1 with
		 * from_port >= 0; "all any" keeps -1/-1 and covers all.
		 */
		if (strcasecmp(tok[1], "any") != 0 &&
		    rule_parse_ports(tok[1], r, err, errlen) == -1)
			return -1;
	} else if (strcasecmp(tok[1], "any") != 0) {
		sg_errf(err, errlen, "protocol %s has no ports: write %s any "
		    "%s", pname, pname, n == 3 ? tok[2] : "SOURCE");
		return -1;
	}
	if (n == 2) {
		sg_errf(err, errlen, "missing SOURCE: write PROTO PORTS "
		    "SOURCE, like tcp 443 0.0.0.0/0");
		return -1;
	}
	return rule_parse_source(tok[2], r, err, errlen);
}

void
rule_cidr_format(const struct sg_rule *r, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (size == 0)
		return;
	switch (r->src) {
	case SG_SRC_CIDR4:
	case SG_SRC_CIDR6:
		if (inet_ntop(r->src == SG_SRC_CIDR4 ? AF_INET : AF_INET6,
		    r->addr, a, sizeof(a)) == NULL)
			sg_strlcpy(a, "?", sizeof(a));
		snprintf(buf, size, "%s/%d", a, r->prefixlen);
		break;
	case SG_SRC_PREFIX_LIST:
	case SG_SRC_GROUP:
		sg_strlcpy(buf, r->ref_id, size);
		break;
	default:
		sg_strlcpy(buf, "any", size);
		break;
	}
}

void
rule_format(const struct sg_rule *r, char *buf, size_t size)
{
	char pbuf[16], ports[32], src[INET6_ADDRSTRLEN + 8];
	const char *pname;

	pname = rule_proto_name(r->proto, pbuf, sizeof(pbuf));
	if (r->proto == SG_PROTO_ALL && r->from_port >= 0) {
		/* Never "any" here: "all any" means something wider. */
		if (r->from_port == r->to_port || r->to_port < 0)
			snprintf(ports, sizeof(ports), "%d", r->from_port);
		else
			snprintf(ports, sizeof(ports), "%d-%d", r->from_port,
			    r->to_port);
	} else if (rule_has_ports(r->proto)) {
		if (r->from_port < 0 ||
		    (r->from_port == 0 && r->to_port == 65535))
			sg_strlcpy(ports, "any", sizeof(ports));
		else if (r->from_port == r->to_port || r->to_port < 0)
			snprintf(ports, sizeof(ports), "%d", r->from_port);
		else
			snprintf(ports, sizeof(ports), "%d-%d", r->from_port,
			    r->to_port);
	} else if (rule_is_icmp(r->proto) && r->from_port >= 0) {
		if (r->to_port < 0)
			snprintf(ports, sizeof(ports), "%d", r->from_port);
		else
			snprintf(ports, sizeof(ports), "%d/%d", r->from_port,
			    r->to_port);
	} else
		sg_strlcpy(ports, "any", sizeof(ports));
	rule_cidr_format(r, src, sizeof(src));
	snprintf(buf, size, "%s %s %s", pname, ports, src);
}

/* Port range of a tcp/udp rule; -1 (absent) means every port. */
static void
rule_range(const struct sg_rule *r, int *from, int *to)
{
	*from = r->from_port < 0 ? 0 : r->from_port;
	*to = r->to_port < 0 ? 65535 : r->to_port;
}

static bool
rule_ports_cover(const struct sg_rule *p, const struct sg_rule *r)
{
	int pf, pt, rf, rt;

	if (!rule_has_ports(r->proto))
		return false;
	rule_range(p, &pf, &pt);
	rule_range(r, &rf, &rt);
	return pf <= rf && rt <= pt;
}

static bool
rule_proto_covers(const struct sg_rule *p, const struct sg_rule *r)
{
	if (p->proto == SG_PROTO_ALL) {
		if (p->from_port < 0)
			return true;
		return rule_ports_cover(p, r);	/* "all PORTS": tcp/udp */
	}
	if (p->proto != r->proto)
		return false;
	if (rule_has_ports(p->proto))
		return rule_ports_cover(p, r);
	if (rule_is_icmp(p->proto)) {
		/* -1 is "every type"/"every code", in rules as in patterns. */
		if (p->from_port < 0)
			return true;
		if (r->from_port != p->from_port)
			return false;
		return p->to_port < 0 || r->to_port == p->to_port;
	}
	return true;
}

static bool
rule_prefix_covers(const unsigned char *pa, int plen, const unsigned char *ra,
    int rlen, size_t bytes)
{
	unsigned char masked[16];

	if (rlen < plen)
		return false;
	memcpy(masked, ra, bytes);
	rule_mask(masked, bytes, plen);
	return memcmp(masked, pa, bytes) == 0;
}

static bool
rule_source_covers(const struct sg_rule *p, const struct sg_rule *r)
{
	switch (p->src) {
	case SG_SRC_ANY:
		return true;
	case SG_SRC_CIDR4:
		return r->src == SG_SRC_CIDR4 && rule_prefix_covers(p->addr,
		    p->prefixlen, r->addr, r->prefixlen, 4);
	case SG_SRC_CIDR6:
		return r->src == SG_SRC_CIDR6 && rule_prefix_covers(p->addr,
		    p->prefixlen, r->addr, r->prefixlen, 16);
	case SG_SRC_PREFIX_LIST:
	case SG_SRC_GROUP:
		return r->src == p->src && strcmp(r->ref_id, p->ref_id) == 0;
	}
	return false;
}

bool
rule_covers(const struct sg_rule *p, const struct sg_rule *r)
{
	/* Direction is not looked at: whether ingress patterns apply to an
	 * egress rule is the caller's policy. */
	return rule_proto_covers(p, r) && rule_source_covers(p, r);
}

bool
rule_equal(const struct sg_rule *a, const struct sg_rule *b)
{
	int af, at, bf, bt;

	if (a->proto != b->proto || a->egress != b->egress || a->src != b->src)
		return false;
	if (rule_has_ports(a->proto)) {
		rule_range(a, &af, &at);
		rule_range(b, &bf, &bt);
		if (af != bf || at != bt)
			return false;
	} else if (rule_is_icmp(a->proto)) {
		if (a->from_port != b->from_port)
			return false;
		/* With every type, the code means nothing. */
		if (a->from_port >= 0 && a->to_port != b->to_port)
			return false;
	}
	/* Ports of other protocols (and -1) are ignored by EC2. */
	switch (a->src) {
	case SG_SRC_CIDR4:
	case SG_SRC_CIDR6:
		return a->prefixlen == b->prefixlen &&
		    memcmp(a->addr, b->addr, a->src == SG_SRC_CIDR4 ? 4 : 16) ==
		    0;
	case SG_SRC_PREFIX_LIST:
		return strcmp(a->ref_id, b->ref_id) == 0;
	case SG_SRC_GROUP:
		if (strcmp(a->ref_id, b->ref_id) != 0)
			return false;
		/* The owner is optional in records; compare when both have it. */
		return a->user_id[0] == '\0' || b->user_id[0] == '\0' ||
		    strcmp(a->user_id, b->user_id) == 0;
	case SG_SRC_ANY:
		return true;
	}
	return false;
}
