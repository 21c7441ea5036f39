/* ruleform.h: a concrete rule from the separate fields AWS reports it in
 * (DescribeSecurityGroupRules items, ModifySecurityGroupRules records, the
 * baseline file): protocol text, ports, one source.
 *
 * Normalised the way event.c normalises CloudTrail rules, so rule_equal()
 * and rule_covers() treat a rule alike whichever way it came in. Pure.
 */
#ifndef SG_RULEFORM_H
#define SG_RULEFORM_H

#include <stddef.h>

#include "rule.h"

/*
 * Protocol and ports into r (proto, from_port, to_port; nothing else).
 * proto as EC2 writes it, any case: "tcp", "6", "-1", "icmpv6". fromp
 * and top are NULL when absent. tcp/udp without ports, or with -1/-1, is
 * taken as 0-65535; icmp types and codes are -1..255; every other
 * protocol gets -1/-1. 0, or -1 with a reason in why.
 */
int	 ruleform_proto_ports(struct sg_rule *r, const char *proto,
	    const int *fromp, const int *top, char *why, size_t whysize);
/*
 * The one source of r. CIDR kinds take the CIDR as reported (kept in
 * cidr_text); prefix lists and groups take the id, groups also the owner's
 * account id (user_id, NULL or "" when unknown). 0, or -1 with why.
 */
int	 ruleform_source(struct sg_rule *r, enum sg_source_kind,
	    const char *value, const char *user_id, char *why, size_t whysize);
/* A decimal integer as XML text gives it: optional '-', 1..6 digits,
 * nothing else. 0 / -1. */
int	 ruleform_int(const char *s, int *out);

#endif
