/* modify.c: the answer to a ModifySecurityGroupRules call. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "describe.h"
#include "ec2params.h"
#include "event_modify.h"
#include "modify.h"
#include "rule.h"
#include "util.h"

static void	 modify_reason(struct sg_modify_step *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
modify_reason(struct sg_modify_step *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

const char *
modify_action_name(enum sg_modify_action a)
{
	switch (a) {
	case SG_MODIFY_KEEP:
		return "keep";
	case SG_MODIFY_RESTORE:
		return "restore";
	case SG_MODIFY_REVOKE:
		return "revoke";
	case SG_MODIFY_GONE:
		return "gone";
	}
	return "unknown";
}

/* The baseline rule with this id, or NULL. */
static const struct sg_group_rule *
modify_baseline_rule(const struct sg_group_baseline *b, const char *id)
{
	size_t i;

	for (i = 0; b != NULL && i < b->n; i++)
		if (strcmp(b->rules[i].rule.rule_id, id) == 0)
			return &b->rules[i];
	return NULL;
}

static void
modify_step(struct sg_modify_step *s, const struct sg_modify_rule *mr,
    const struct sg_group_baseline *b, const struct sg_rule *allow,
    size_t nallow, const struct sg_rule_set *current, const char *group_id,
    bool include_egress)
{
	const struct sg_group_rule *prev, *now;
	char text[128];

	memset(s, 0, sizeof(*s));
	s->change = *mr;
	prev = modify_baseline_rule(b, mr->rule_id);
	now = describe_rules_find(current, mr->rule_id);
	if (now != NULL && now->group_id[0] != '\0' &&
	    strcmp(now->group_id, group_id) != 0)
		now = NULL;
	if (prev != NULL || now != NULL) {
		s->egress_known = true;
		s->egress = prev != NULL ? prev->rule.egress : now->rule.egress;
		s->change.rule.egress = s->egress;
	}
	if (current != NULL && now == NULL) {
		s->action = SG_MODIFY_GONE;
		modify_reason(s, "%s no longer exists", mr->rule_id);
		return;
	}
	if (s->egress_known && s->egress && !include_egress) {
		s->action = SG_MODIFY_KEEP;
		modify_reason(s, "%s is an egress rule: egress is ignored",
		    mr->rule_id);
		return;
	}
	/*
	 * Coverage is judged in the rule's own direction; a rule of unknown
	 * direction must be covered in both to be kept.
	 */
	if (mr->readable) {
		struct sg_rule in = s->change.rule, out = s->change.rule;

		in.egress = false;
		out.egress = true;
		if (s->egress_known ?
		    baseline_covers(b, allow, nallow, &s->change.rule) :
		    baseline_covers(b, allow, nallow, &in) &&
		    baseline_covers(b, allow, nallow, &out)) {
			rule_format(&s->change.rule, text, sizeof(text));
			s->action = SG_MODIFY_KEEP;
			modify_reason(s, "%s now %s: covered by the baseline "
			    "or an allow pattern", mr->rule_id, text);
			return;
		}
	}
	/*
	 * Changed again since this call, into yet another form (not back to
	 * its baseline one): a later call did it, and its own record decides
	 * (kept if its principal is allowed, put back if not). Putting this
	 * call's change back now would undo that one, an allowed change
	 * among them.
	 */
	if (now != NULL && mr->readable &&
	    !rule_equal(&now->rule, &s->change.rule) &&
	    (prev == NULL || !rule_equal(&now->rule, &prev->rule))) {
		rule_format(&now->rule, text, sizeof(text));
		s->action = SG_MODIFY_KEEP;
		modify_reason(s, "%s was changed again since (now %s): the "
		    "record of that change decides", mr->rule_id, text);
		return;
	}
	if (prev != NULL) {
		s->previous = *prev;
		if (now != NULL && rule_equal(&now->rule, &prev->rule)) {
			s->action = SG_MODIFY_KEEP;
			s->back = true;
			modify_reason(s, "%s is already back in its baseline "
			    "form", mr->rule_id);
			return;
		}
		rule_format(&prev->rule, text, sizeof(text));
		s->action = SG_MODIFY_RESTORE;
		modify_reason(s, "%s back to %s", mr->rule_id, text);
		return;
	}
	s->action = SG_MODIFY_REVOKE;
	modify_reason(s, "%s: previous form unknown (not in the baseline), "
	    "revoking the rule instead", mr->rule_id);
}

void
modify_plan(const struct sg_modify *m, const struct sg_group_baseline *b,
    const struct sg_rule *allow, size_t nallow,
    const struct sg_rule_set *current, bool include_egress,
    struct sg_modify_plan *plan)
{
	struct sg_modify_step *s;
	size_t i;

	memset(plan, 0, sizeof(*plan));
	sg_strlcpy(plan->group_id, m->group_id, sizeof(plan->group_id));
	plan->nunparsed = m->nbad;
	if (m->nrules == 0)
		return;
	plan->steps = xcalloc(m->nrules, sizeof(*plan->steps));
	for (i = 0; i < m->nrules; i++) {
		s = &plan->steps[plan->n++];
		modify_step(s, &m->rules[i], b, allow, nallow, current,
		    m->group_id, include_egress);
		switch (s->action) {
		case SG_MODIFY_KEEP:
			plan->nkeep++;
			break;
		case SG_MODIFY_RESTORE:
			plan->nrestore++;
			break;
		case SG_MODIFY_REVOKE:
			plan->nrevoke++;
			break;
		case SG_MODIFY_GONE:
			plan->ngone++;
			break;
		}
	}
}

void
modify_plan_free(struct sg_modify_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->steps);
	memset(plan, 0, sizeof(*plan));
}

size_t
modify_plan_params(const struct sg_modify_plan *plan, struct sg_kvlist *out)
{
	struct sg_group_rule *forms;
	size_t i, n = 0;

	if (plan->nrestore == 0)
		return 0;
	forms = xcalloc(plan->nrestore, sizeof(*forms));
	for (i = 0; i < plan->n; i++)
		if (plan->steps[i].action == SG_MODIFY_RESTORE)
			forms[n++] = plan->steps[i].previous;
	ec2params_modify(plan->group_id, forms, n, out);
	free(forms);
	return n;
}
