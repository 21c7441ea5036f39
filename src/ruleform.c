/* ruleform.c: concrete rules from AWS's separate fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule.h"
#include "ruleform.h"
#include "util.h"

int
ruleform_int(const char *s, int *out)
{
	size_t i, n;

	if (s == NULL)
		return -1;
	i = s[0] == '-' ? 1 : 0;
	n = strlen(s + i);
	if (n == 0 || n > 6)
		return -1;
	for (; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	*out = (int)strtol(s, NULL, 10);
	return 0;
}

int
ruleform_proto_ports(struct sg_rule *r, const char *proto, const int *fromp,
    const int *top, char *why, size_t whysize)
{
	char name[16];
	size_t i, len;
	int from = fromp != NULL ? *fromp : -1, to = top != NULL ? *top : -1;

	if (proto == NULL || (len = strlen(proto)) == 0 ||
	    len >= sizeof(name)) {
		snprintf(why, whysize, "%s protocol", proto == NULL ||
		    *proto == '\0' ? "no" : "bad");
		return -1;
	}
	/* EC2 takes "TCP" as well as "tcp". */
	for (i = 0; i <= len; i++)
		name[i] = (proto[i] >= 'A' && proto[i] <= 'Z') ?
		    (char)(proto[i] - 'A' + 'a') : proto[i];
	if (rule_proto_parse(name, &r->proto) == -1) {
		snprintf(why, whysize, "unknown protocol \"%s\"", name);
		return -1;
	}
	switch (r->proto) {
	case SG_PROTO_TCP:
	case SG_PROTO_UDP:
		/* As event.c: no ports means every port, judged strictly. */
		if (fromp == NULL || top == NULL || (from == -1 && to == -1)) {
			from = 0;
			to = 65535;
		}
		if (from < 0 || from > 65535 || to < 0 || to > 65535 ||
		    from > to) {
			snprintf(why, whysize, "bad port range %d-%d", from,
			    to);
			return -1;
		}
		break;
	case SG_PROTO_ICMP:
	case SG_PROTO_ICMPV6:
		if (from < -1 || from > 255 || to < -1 || to > 255) {
			snprintf(why, whysize, "bad icmp type/code %d/%d",
			    from, to);
			return -1;
		}
		break;
	default:
		from = to = -1;
		break;
	}
	r->from_port = from;
	r->to_port = to;
	return 0;
}

int
ruleform_source(struct sg_rule *r, enum sg_source_kind kind,
    const char *value, const char *user_id, char *why, size_t whysize)
{
	struct sg_rule t;

	if (value == NULL || *value == '\0') {
		snprintf(why, whysize, "empty source");
		return -1;
	}
	switch (kind) {
	case SG_SRC_CIDR4:
	case SG_SRC_CIDR6:
		t = *r;
		if (rule_cidr_parse(value, &t) == -1 || t.src != kind ||
		    t.cidr_text[0] == '\0') {
			snprintf(why, whysize, "bad %s CIDR \"%.64s\"",
			    kind == SG_SRC_CIDR4 ? "IPv4" : "IPv6", value);
			return -1;
		}
		*r = t;
		r->ref_id[0] = r->user_id[0] = '\0';
		return 0;
	case SG_SRC_PREFIX_LIST:
	case SG_SRC_GROUP:
		if (strlen(value) >= sizeof(r->ref_id) ||
		    (user_id != NULL &&
		    strlen(user_id) >= sizeof(r->user_id))) {
			snprintf(why, whysize, "%s id too long",
			    kind == SG_SRC_GROUP ? "group" : "prefix list");
			return -1;
		}
		r->src = kind;
		memset(r->addr, 0, sizeof(r->addr));
		r->prefixlen = 0;
		r->cidr_text[0] = '\0';
		sg_strlcpy(r->ref_id, value, sizeof(r->ref_id));
		sg_strlcpy(r->user_id, kind == SG_SRC_GROUP && user_id != NULL ?
		    user_id : "", sizeof(r->user_id));
		return 0;
	case SG_SRC_ANY:
		break;
	}
	snprintf(why, whysize, "no source");
	return -1;
}
