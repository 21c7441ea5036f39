/* policy.h: the contract's "what counts as unauthorized", and the revert
 * plan. Pure: config + event in, decision out. */
#ifndef SG_POLICY_H
#define SG_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "event.h"
#include "rule.h"

enum sg_verdict {
	SG_VERDICT_IGNORE,		/* not ours to judge: see reason */
	SG_VERDICT_PRINCIPAL_ALLOWED,	/* made by an allow_principal */
	SG_VERDICT_RULES_ALLOWED,	/* every rule covered by `allow` */
	SG_VERDICT_REVERT,		/* revoke[] or nunparsed not empty */
};

/* Who sgguard itself is: its calls are never acted on. */
struct sg_self {
	const char *const *access_key_ids;	/* keys sgguard signed with */
	size_t		 naccess_key_ids;
};

struct sg_plan {
	enum sg_verdict		 verdict;
	char			 reason[256];	/* why, for the log */
	const struct sg_group_cfg *group;	/* NULL when not watched */
	const char		*matched_principal; /* the allow_principal glob */
	struct sg_rule		*revoke;	/* rules to remove */
	size_t			 nrevoke;
	struct sg_rule		*keep;		/* authorized rules of the call */
	size_t			 nkeep;
	/*
	 * Rules of the call sgguard could not read (event nbad_rules; the
	 * event's parse_warning says what they were). Never authorized,
	 * never revocable: with REVERT the caller reports them as failed.
	 */
	size_t			 nunparsed;
	/* An *Egress call: the caller applies the group's egress setting.
	 * Egress rules are covered only by egress patterns (none in the
	 * config grammar yet), so they are all in revoke[]. */
	bool			 egress;
};

/*
 * Decide on one parsed event. Checks in order: eventSource, errorCode,
 * rule-adding call (AuthorizeSecurityGroupIngress/Egress), sgguard's own
 * access key, watched group id in the event's region, allow_principal,
 * then each rule against `allow`. 0, or -1 only on out of memory (the
 * plan is then empty and IGNORE).
 */
int	 policy_decide(const struct sg_config *, const struct sg_event *,
	    const struct sg_self *, struct sg_plan *);
void	 policy_plan_free(struct sg_plan *);
/* The watched group of an event (same id, same region), or NULL; when
 * the id is watched in another region, *elsewhere (may be NULL) says
 * where. */
const struct sg_group_cfg *policy_find_group(const struct sg_config *,
	    const struct sg_event *, const struct sg_group_cfg **elsewhere);
/* The allow_principal glob that admits the event's principal (user ARN,
 * or an assumed role's issuer; invokedBy for a service), or NULL. *who
 * is the identity that matched. */
const char *policy_principal(const struct sg_group_cfg *,
	    const struct sg_event *, const char **who);
/* Was the call made with one of sgguard's own access keys? */
bool	 policy_is_self(const struct sg_event *, const struct sg_self *);
/* `*` matches any run of characters (including '/' and ':'); every other
 * character matches itself. */
bool	 policy_glob_match(const char *pattern, const char *text);
const char *policy_verdict_name(enum sg_verdict);

#endif
