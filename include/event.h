/* event.h: one CloudTrail record (the LookupEvents `CloudTrailEvent`
 * string) as a plain struct. Pure: JSON text in, struct out. */
#ifndef SG_EVENT_H
#define SG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rule.h"

enum sg_principal_type {
	SG_PRINCIPAL_UNKNOWN,
	SG_PRINCIPAL_IAM_USER,
	SG_PRINCIPAL_ASSUMED_ROLE,
	SG_PRINCIPAL_ROOT,
	SG_PRINCIPAL_AWS_SERVICE,
	SG_PRINCIPAL_FEDERATED_USER,
	SG_PRINCIPAL_OTHER,		/* IdentityCenterUser, AWSAccount, ... */
};

struct sg_event {
	/* Strings are never NULL after a successful parse ("" if absent);
	 * they are raw from the record: sanitise before output. */
	char		*event_id;
	char		*event_name;	/* AuthorizeSecurityGroupIngress, ... */
	char		*event_source;	/* ec2.amazonaws.com */
	char		*event_time_text; /* as recorded: 2024-08-01T12:23:55Z */
	time_t		 event_time;	/* 0 when absent or unreadable */
	char		*region;	/* awsRegion */
	char		*account;	/* recipientAccountId, else userIdentity.accountId */
	char		*error_code;	/* "" when the call succeeded */
	char		*error_message;

	enum sg_principal_type principal_type;
	char		*principal_type_text;	/* userIdentity.type as recorded */
	char		*principal_arn;		/* userIdentity.arn, "" if none */
	char		*issuer_arn;		/* sessionContext.sessionIssuer.arn */
	char		*invoked_by;		/* userIdentity.invokedBy */
	char		*access_key_id;		/* userIdentity.accessKeyId */
	char		*source_ip;		/* sourceIPAddress */
	char		*user_agent;

	char		*group_id;	/* requestParameters.groupId, else from responseElements */
	char		*group_name;	/* requestParameters.groupName, if given */
	bool		 egress;	/* an *Egress call */

	/*
	 * The rules the call added, one per source (an IpPermission with two
	 * CIDRs is two rules). When responseElements.securityGroupRuleSet is
	 * present its items are the list and carry rule_id; otherwise the
	 * list is rebuilt from requestParameters (ipPermissions or the
	 * legacy top-level cidrIp/ipProtocol/fromPort/toPort form).
	 */
	struct sg_rule	*rules;
	size_t		 nrules;
	bool		 rules_from_response;
	/*
	 * Rules the record names but sgguard could not read (bad protocol,
	 * port or CIDR, a source group given by name only, an unknown source
	 * kind, or a security-group rule call with no rule at all). They are
	 * not in rules[]; parse_warning says what they were.
	 */
	size_t		 nbad_rules;
	/* Everything that was odd but not fatal, "; "-separated, or "". */
	char		*parse_warning;
};

/*
 * Parse one record. 0, or -1 with a one-line reason (JSON error position,
 * not an object, or a missing eventID/eventName/eventSource) in err; on -1
 * the event holds nothing to free. Never crashes on any input. A record
 * with unreadable parts still parses: see nbad_rules and parse_warning.
 * Rules are read only for {Authorize,Revoke}SecurityGroup{Ingress,Egress}.
 */
int	 event_parse(const char *json, size_t len, struct sg_event *,
	    char *err, size_t errlen);
void	 event_free(struct sg_event *);
/* ISO 8601 UTC time as CloudTrail and IMDS write it
 * ("2024-08-01T12:23:55Z", optional fraction, "Z" or +HH:MM). 0 / -1. */
int	 event_time_parse(const char *, time_t *);
/* Is this one of the four security-group rule calls? */
bool	 event_is_rule_call(const char *event_name);

#endif
