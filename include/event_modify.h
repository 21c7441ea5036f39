/* event_modify.h: what event.c does not read from a CloudTrail record:
 * the rules a ModifySecurityGroupRules call changed, and the rule ids a
 * Revoke* call named. Pure: JSON text in, plain structs out.
 *
 * The Modify record keeps the Query API's shape and capitalised keys:
 *
 *   "requestParameters": {"ModifySecurityGroupRulesRequest": {
 *       "GroupId": "sg-...",
 *       "SecurityGroupRule": {                  (an array for several)
 *           "SecurityGroupRuleId": "sgr-...",
 *           "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22,
 *               "ToPort": 22, "CidrIpv4": "10.0.0.0/8",
 *               "Description": "..."},          (or CidrIpv6,
 *                                                PrefixListId,
 *                                                ReferencedGroupId)
 *           "tag": 1}}}                          (list index: ignored)
 *   "responseElements": {"ModifySecurityGroupRulesResponse":
 *       {"requestId": "...", "return": true}}
 */
#ifndef SG_EVENT_MODIFY_H
#define SG_EVENT_MODIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "describe.h"
#include "rule.h"

/* One rule of the call: its id and the form it was given. */
struct sg_modify_rule {
	char		 rule_id[32];
	/* The new form; rule.rule_id is rule_id. The record does not say
	 * the direction: rule.egress is false until the caller knows. */
	struct sg_rule	 rule;
	bool		 readable;	/* false: the new form could not be
					 * read (why in the warning) */
	bool		 has_description;
	char		 description[SG_DESCRIPTION_MAX];
};

struct sg_modify {
	char		 group_id[32];	/* "" when the record names none */
	struct sg_modify_rule *rules;	/* the items that name a rule id */
	size_t		 nrules;
	size_t		 nbad;		/* items without a usable rule id */
	bool		 dry_run;
	/* responseElements says return false: nothing changed. */
	bool		 refused;
	char		 warning[512];	/* "; "-separated, or "" */
};

/*
 * Read the Modify part of one record (eventName must be
 * ModifySecurityGroupRules). Item lists may be a single object, an array
 * or {"items":[...]}; keys are also accepted in lowerCamelCase. 0, or -1
 * with a one-line reason in err (not JSON, another event, no
 * ModifySecurityGroupRulesRequest); on -1 there is nothing to free.
 */
int	 event_parse_modify(const char *json, size_t len, struct sg_modify *,
	    char *err, size_t errlen);
void	 event_modify_free(struct sg_modify *);

/*
 * The rule ids a Revoke* record names in requestParameters
 * (securityGroupRuleIds.items[].securityGroupRuleId), for a call that
 * revoked by id with no revokedSecurityGroupRuleSet in its answer.
 * *idsp is a malloc'd array of malloc'd strings (free with
 * event_rule_ids_free). Returns the count, or -1 when not JSON.
 */
int	 event_rule_ids(const char *json, size_t len, char ***idsp);
void	 event_rule_ids_free(char **ids, size_t n);

#endif
