/* ec2params.c: parameters of the calls that put rules back. */
#include <stdio.h>
#include <string.h>

#include "describe.h"
#include "ec2.h"
#include "ec2params.h"
#include "rule.h"
#include "util.h"

/* The Query name of a rule's source list inside an IpPermission. */
static const char *
ec2params_source_list(enum sg_source_kind kind)
{
	switch (kind) {
	case SG_SRC_CIDR4:
		return "IpRanges";
	case SG_SRC_CIDR6:
		return "Ipv6Ranges";
	case SG_SRC_PREFIX_LIST:
		return "PrefixListIds";
	case SG_SRC_GROUP:
		return "Groups";
	case SG_SRC_ANY:
		break;
	}
	return NULL;
}

void
ec2params_authorize(const char *group_id, const struct sg_group_rule *rules,
    size_t n, struct sg_kvlist *out)
{
	const char *list;
	size_t i;

	kvlist_add(out, "GroupId", group_id);
	for (i = 0; i < n; i++) {
		ec2_permission_params((int)i + 1, &rules[i].rule, out);
		/* Restored with its description, as it was. */
		list = ec2params_source_list(rules[i].rule.src);
		if (list != NULL && rules[i].description[0] != '\0')
			kvlist_addf(out, rules[i].description,
			    "IpPermissions.%zu.%s.1.Description", i + 1, list);
	}
}

void
ec2params_modify(const char *group_id, const struct sg_group_rule *rules,
    size_t n, struct sg_kvlist *out)
{
	const struct sg_rule *r;
	char num[16], cidr[80];
	size_t i, k;

	kvlist_add(out, "GroupId", group_id);
	for (i = 0; i < n; i++) {
		r = &rules[i].rule;
		k = i + 1;
		kvlist_addf(out, r->rule_id,
		    "SecurityGroupRule.%zu.SecurityGroupRuleId", k);
		kvlist_addf(out, ec2_proto_text(r->proto, num, sizeof(num)),
		    "SecurityGroupRule.%zu.SecurityGroupRule.IpProtocol", k);
		/* As ec2_permission_params: ports but for "all". */
		if (r->proto != SG_PROTO_ALL) {
			snprintf(num, sizeof(num), "%d", r->from_port);
			kvlist_addf(out, num,
			    "SecurityGroupRule.%zu.SecurityGroupRule.FromPort",
			    k);
			snprintf(num, sizeof(num), "%d", r->to_port);
			kvlist_addf(out, num,
			    "SecurityGroupRule.%zu.SecurityGroupRule.ToPort",
			    k);
		}
		if (r->cidr_text[0] != '\0')
			sg_strlcpy(cidr, r->cidr_text, sizeof(cidr));
		else
			rule_cidr_format(r, cidr, sizeof(cidr));
		switch (r->src) {
		case SG_SRC_CIDR4:
			kvlist_addf(out, cidr,
			    "SecurityGroupRule.%zu.SecurityGroupRule.CidrIpv4",
			    k);
			break;
		case SG_SRC_CIDR6:
			kvlist_addf(out, cidr,
			    "SecurityGroupRule.%zu.SecurityGroupRule.CidrIpv6",
			    k);
			break;
		case SG_SRC_PREFIX_LIST:
			kvlist_addf(out, r->ref_id, "SecurityGroupRule.%zu."
			    "SecurityGroupRule.PrefixListId", k);
			break;
		case SG_SRC_GROUP:
			/* The request form has no owner field: the id is
			 * enough, group ids being unique. */
			kvlist_addf(out, r->ref_id, "SecurityGroupRule.%zu."
			    "SecurityGroupRule.ReferencedGroupId", k);
			break;
		case SG_SRC_ANY:
			break;
		}
		/* Always sent, "" included: the form is replaced whole. */
		kvlist_addf(out, rules[i].description,
		    "SecurityGroupRule.%zu.SecurityGroupRule.Description", k);
	}
}
