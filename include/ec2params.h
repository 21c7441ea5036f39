/* ec2params.h: Query parameters of the EC2 calls that put rules back:
 * AuthorizeSecurityGroupIngress/Egress (restore = yes) and
 * ModifySecurityGroupRules (a modified rule back to its previous form).
 * Removing rules, ingress or egress, is ec2_revoke(). Pure.
 */
#ifndef SG_EC2PARAMS_H
#define SG_EC2PARAMS_H

#include <stddef.h>

#include "describe.h"
#include "util.h"

#define SG_AUTHORIZE_INGRESS_ACTION	"AuthorizeSecurityGroupIngress"
#define SG_AUTHORIZE_EGRESS_ACTION	"AuthorizeSecurityGroupEgress"
#define SG_MODIFY_RULES_ACTION		"ModifySecurityGroupRules"

/*
 * GroupId and IpPermissions.N (one source each, with its Description) for
 * rules[0..n), which must all be of one direction: the caller picks the
 * Ingress or Egress action by rules[0].rule.egress.
 */
void	 ec2params_authorize(const char *group_id,
	    const struct sg_group_rule *rules, size_t n, struct sg_kvlist *out);
/*
 * GroupId and SecurityGroupRule.N.SecurityGroupRuleId plus
 * SecurityGroupRule.N.SecurityGroupRule.{IpProtocol, FromPort, ToPort,
 * CidrIpv4 | CidrIpv6 | PrefixListId | ReferencedGroupId, Description}:
 * each rule (by rules[i].rule.rule_id) gets the form rules[i] describes.
 */
void	 ec2params_modify(const char *group_id,
	    const struct sg_group_rule *rules, size_t n, struct sg_kvlist *out);

#endif
