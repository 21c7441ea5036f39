/* rule.h: security-group rules and `allow` patterns ("PROTO PORTS SOURCE").
 *
 * One struct serves both: a pattern from the config and a concrete rule from
 * a CloudTrail record or an EC2 answer. Pure functions only.
 */
#ifndef SG_RULE_H
#define SG_RULE_H

#include <stdbool.h>
#include <stddef.h>

#define SG_PROTO_ALL	(-1)	/* "all", "-1": every protocol */
#define SG_PROTO_ICMP	1
#define SG_PROTO_TCP	6
#define SG_PROTO_UDP	17
#define SG_PROTO_ICMPV6	58

enum sg_source_kind {
	SG_SRC_ANY,		/* pattern only: any source */
	SG_SRC_CIDR4,
	SG_SRC_CIDR6,
	SG_SRC_PREFIX_LIST,	/* pl-... */
	SG_SRC_GROUP,		/* sg-... (+ optional owner user id) */
};

struct sg_rule {
	int		 proto;		/* SG_PROTO_ALL or 0..255 */
	/*
	 * tcp/udp: port range from..to (0..65535; a pattern's "any" is
	 * 0-65535). icmp/icmpv6: from = type, to = code, -1 = any.
	 * Other protocols and "all": -1/-1 (no ports).
	 */
	int		 from_port;
	int		 to_port;
	enum sg_source_kind src;
	unsigned char	 addr[16];	/* network address, host bits zero */
	int		 prefixlen;	/* 0..32 or 0..128 */
	/* The CIDR exactly as AWS reported it ("10.0.0.1/8" keeps its host
	 * bits): a revoke by IpPermissions must name it the same way. "" for
	 * patterns and non-CIDR sources. */
	char		 cidr_text[64];
	char		 ref_id[64];	/* pl-... or sg-... */
	char		 user_id[32];	/* owner of a referenced group, or "" */
	char		 rule_id[32];	/* sgr-... when known, else "" */
	bool		 egress;
};

/* Parse "PROTO PORTS SOURCE" (white space separated). 0, or -1 with a
 * one-line reason in err. */
int	 rule_pattern_parse(const char *text, struct sg_rule *, char *err,
	    size_t errlen);
/* Protocol name or number as CloudTrail/EC2 write it ("tcp", "6", "-1",
 * "icmpv6", "all"). 0 / -1. */
int	 rule_proto_parse(const char *, int *proto);
/* Parse a concrete rule's CIDR ("10.1.2.3/8" as a record may show it) into
 * addr/prefixlen/src; host bits are accepted and cleared. Nothing else of
 * the rule is touched. A bare address without /len is refused. 0 / -1. */
int	 rule_cidr_parse(const char *, struct sg_rule *);
/* Format as "PROTO PORTS SOURCE", the contract's notation. */
void	 rule_format(const struct sg_rule *, char *buf, size_t size);
/* The CIDR of a rule as text ("10.0.0.0/8", "::/0"). */
void	 rule_cidr_format(const struct sg_rule *, char *buf, size_t size);
/* Does pattern p cover rule r (protocol, port range, source containment)?
 * The egress flag is not compared. "all PORTS" covers tcp and udp rules in
 * that range only. */
bool	 rule_covers(const struct sg_rule *p, const struct sg_rule *r);
/* Do two concrete rules describe the same permission? */
bool	 rule_equal(const struct sg_rule *, const struct sg_rule *);

#endif
