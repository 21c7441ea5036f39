/* modify.h: what to do about a ModifySecurityGroupRules call by someone
 * not allowed. Pure: the parsed call, the group's baseline, patterns and
 * current rules in; one step per modified rule out.
 *
 * A rule changed into a form that a baseline rule or an allow pattern of
 * its direction covers is kept. Any other is put back to its previous
 * form, taken from the baseline by rule id; when the baseline does not
 * know the rule, its previous form is unknown and the rule is revoked
 * instead (the safe side: it grants nothing sgguard has seen authorized).
 */
#ifndef SG_MODIFY_H
#define SG_MODIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "baseline.h"
#include "describe.h"
#include "event_modify.h"
#include "rule.h"
#include "util.h"

enum sg_modify_action {
	SG_MODIFY_KEEP,		/* covered, already back, or egress ignored */
	SG_MODIFY_RESTORE,	/* modify it back to `previous` */
	SG_MODIFY_REVOKE,	/* previous form unknown: revoke the rule */
	SG_MODIFY_GONE,		/* the rule no longer exists: nothing to do */
};

struct sg_modify_step {
	enum sg_modify_action action;
	struct sg_modify_rule change;	/* from the record */
	struct sg_group_rule previous;	/* RESTORE: the form to put back,
					 * with the rule's id */
	bool		 egress;	/* the rule's direction ... */
	bool		 egress_known;	/* ... when baseline or current knew
					 * it; a REVOKE without it needs the
					 * rule read first */
	char		 reason[192];	/* why, for the log and the message */
	/* KEEP because the rule is already back in its baseline form
	 * (previous): put back by someone else, the drift check say. */
	bool		 back;
};

struct sg_modify_plan {
	char		 group_id[32];
	struct sg_modify_step *steps;	/* one per rule of the call */
	size_t		 n;
	size_t		 nkeep;
	size_t		 nrestore;
	size_t		 nrevoke;
	size_t		 ngone;
	/* Items of the call without a rule id (sg_modify.nbad): nothing
	 * sgguard can act on; the caller reports them as failed. */
	size_t		 nunparsed;
};

/*
 * Plan the answer to one call (m from event_parse_modify). b is the
 * group's baseline (NULL: none). allow[0..nallow) the group's patterns,
 * each for rules of its own direction. current (may be NULL, better not)
 * holds the group's rules as read after the call: it gives the direction
 * of rules the baseline does not know, and tells which rules are gone or
 * already back. Egress rules are kept untouched unless include_egress.
 * Free with modify_plan_free.
 */
void	 modify_plan(const struct sg_modify *m,
	    const struct sg_group_baseline *b, const struct sg_rule *allow,
	    size_t nallow, const struct sg_rule_set *current,
	    bool include_egress, struct sg_modify_plan *plan);
void	 modify_plan_free(struct sg_modify_plan *);
/* ModifySecurityGroupRules parameters for the RESTORE steps (none: out
 * untouched). Returns how many rules they name. */
size_t	 modify_plan_params(const struct sg_modify_plan *,
	    struct sg_kvlist *out);
const char *modify_action_name(enum sg_modify_action);

#endif
