/* policy.c: the contract's "what counts as unauthorized", and the plan of
 * which rules to revoke. Pure: no I/O, no clock, no globals. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "policy.h"
#include "rule.h"
#include "util.h"

static void	 policy_reason(struct sg_plan *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
policy_reason(struct sg_plan *plan, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(plan->reason, sizeof(plan->reason), fmt, ap);
	va_end(ap);
}

/* Events are built by event_parse, but a NULL never reaches printf. */
static const char *
policy_str(const char *s)
{
	return s != NULL ? s : "";
}

const char *
policy_verdict_name(enum sg_verdict v)
{
	switch (v) {
	case SG_VERDICT_IGNORE:
		return "ignore";
	case SG_VERDICT_PRINCIPAL_ALLOWED:
		return "principal-allowed";
	case SG_VERDICT_RULES_ALLOWED:
		return "rules-allowed";
	case SG_VERDICT_REVERT:
		return "revert";
	}
	return "unknown";
}

/*
 * `*` matches any run, every other byte itself. On a mismatch only the
 * last star is moved forward, so the work is at most
 * strlen(pattern) * strlen(text) whatever the pattern ("*a*a*a*b").
 */
bool
policy_glob_match(const char *p, const char *t)
{
	const char *star = NULL, *mark = NULL;

	if (p == NULL || t == NULL)
		return false;
	while (*t != '\0') {
		if (*p == '*') {
			star = ++p;
			mark = t;
		} else if (*p == *t) {
			p++;
			t++;
		} else if (star != NULL) {
			p = star;
			t = ++mark;
		} else
			return false;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool
policy_adds_rules(const char *name)
{
	return sg_streq(name, "AuthorizeSecurityGroupIngress") ||
	    sg_streq(name, "AuthorizeSecurityGroupEgress");
}

bool
policy_is_self(const struct sg_event *ev, const struct sg_self *self)
{
	size_t i;

	if (self == NULL || sg_strempty(ev->access_key_id))
		return false;
	for (i = 0; i < self->naccess_key_ids; i++)
		if (sg_streq(self->access_key_ids[i], ev->access_key_id))
			return true;
	return false;
}

static const char *
policy_group_region(const struct sg_config *cfg, const struct sg_group_cfg *g)
{
	if (g->region != NULL)
		return g->region;
	return cfg->region != NULL ? cfg->region : "";
}

/*
 * The watched group of the event: same id and same region (ids are
 * unique per region only). *elsewhere is set to a group with the id in
 * another region, for the reason.
 */
const struct sg_group_cfg *
policy_find_group(const struct sg_config *cfg, const struct sg_event *ev,
    const struct sg_group_cfg **elsewhere)
{
	const struct sg_group_cfg *other = NULL, *found = NULL;
	size_t i;

	for (i = 0; i < cfg->ngroups && found == NULL; i++) {
		if (!sg_streq(cfg->groups[i].id, ev->group_id))
			continue;
		if (sg_streq(policy_group_region(cfg, &cfg->groups[i]),
		    ev->region))
			found = &cfg->groups[i];
		else if (other == NULL)
			other = &cfg->groups[i];
	}
	if (elsewhere != NULL)
		*elsewhere = other;
	return found;
}

/*
 * The allow_principal glob the caller matches, or NULL; *who is what
 * matched. The caller's ARN counts, and for assumed roles the role's ARN
 * (sessionIssuer), since the session name is the caller's choice. A
 * caller with no ARN (AWSService) counts by invokedBy, but only against
 * globs that are not ARNs: an ARN glob never admits a service.
 */
const char *
policy_principal(const struct sg_group_cfg *g, const struct sg_event *ev,
    const char **who)
{
	const char *glob;
	size_t i;

	for (i = 0; i < g->nprincipals; i++) {
		glob = g->principals[i];
		if (sg_strempty(glob))
			continue;
		if (!sg_strempty(ev->principal_arn) &&
		    policy_glob_match(glob, ev->principal_arn)) {
			if (who != NULL)
				*who = ev->principal_arn;
			return glob;
		}
		if (ev->principal_type == SG_PRINCIPAL_ASSUMED_ROLE &&
		    !sg_strempty(ev->issuer_arn) &&
		    policy_glob_match(glob, ev->issuer_arn)) {
			if (who != NULL)
				*who = ev->issuer_arn;
			return glob;
		}
		if (sg_strempty(ev->principal_arn) &&
		    !sg_strempty(ev->invoked_by) &&
		    strncmp(glob, "arn:", 4) != 0 &&
		    policy_glob_match(glob, ev->invoked_by)) {
			if (who != NULL)
				*who = ev->invoked_by;
			return glob;
		}
	}
	return NULL;
}

/*
 * Is the rule covered by an `allow` pattern of its own direction? The
 * patterns of the config grammar are ingress ("tcp 443 0.0.0.0/0" reads as
 * "may be reached on 443"); letting them open the way out as well would
 * authorize egress nobody wrote down, so an egress rule is covered only by
 * an egress pattern.
 */
static bool
policy_covered(const struct sg_group_cfg *g, const struct sg_rule *r)
{
	size_t i;

	for (i = 0; i < g->nallow; i++)
		if (g->allow[i].egress == r->egress &&
		    rule_covers(&g->allow[i], r))
			return true;
	return false;
}

void
policy_plan_free(struct sg_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->revoke);
	free(plan->keep);
	memset(plan, 0, sizeof(*plan));
}

int
policy_decide(const struct sg_config *cfg, const struct sg_event *ev,
    const struct sg_self *self, struct sg_plan *plan)
{
	const struct sg_group_cfg *g, *elsewhere;
	const char *glob, *who = NULL;
	size_t i;

	memset(plan, 0, sizeof(*plan));
	plan->verdict = SG_VERDICT_IGNORE;
	plan->egress = ev->egress;

	if (!sg_streq(ev->event_source, "ec2.amazonaws.com")) {
		policy_reason(plan, "not an EC2 call (eventSource %s)",
		    policy_str(ev->event_source));
		return 0;
	}
	if (!sg_strempty(ev->error_code)) {
		policy_reason(plan, "failed call (errorCode %s)",
		    ev->error_code);
		return 0;
	}
	if (!policy_adds_rules(ev->event_name)) {
		policy_reason(plan, "not a rule-adding call (%s)",
		    policy_str(ev->event_name));
		return 0;
	}
	if (policy_is_self(ev, self)) {
		policy_reason(plan, "own call (access key %s)",
		    ev->access_key_id);
		return 0;
	}
	if (sg_strempty(ev->group_id)) {
		policy_reason(plan, "no group id in the record%s%s",
		    sg_strempty(ev->group_name) ? "" : ", group name ",
		    sg_strempty(ev->group_name) ? "" : ev->group_name);
		return 0;
	}
	if ((g = policy_find_group(cfg, ev, &elsewhere)) == NULL) {
		if (elsewhere != NULL)
			policy_reason(plan, "group %s is watched in %s, the "
			    "call was in %s", ev->group_id,
			    policy_group_region(cfg, elsewhere),
			    sg_strempty(ev->region) ? "no region" : ev->region);
		else
			policy_reason(plan, "group %s is not watched",
			    ev->group_id);
		return 0;
	}
	plan->group = g;

	if ((glob = policy_principal(g, ev, &who)) != NULL) {
		plan->verdict = SG_VERDICT_PRINCIPAL_ALLOWED;
		plan->matched_principal = glob;
		policy_reason(plan, "%s %s matches allow_principal %s",
		    who == ev->issuer_arn ? "session issuer" : "principal",
		    who, glob);
		return 0;
	}

	if (ev->nrules > 0) {
		plan->revoke = calloc(ev->nrules, sizeof(*plan->revoke));
		plan->keep = calloc(ev->nrules, sizeof(*plan->keep));
		if (plan->revoke == NULL || plan->keep == NULL) {
			policy_plan_free(plan);
			plan->verdict = SG_VERDICT_IGNORE;
			policy_reason(plan, "out of memory");
			return -1;
		}
	}
	for (i = 0; i < ev->nrules; i++) {
		if (policy_covered(g, &ev->rules[i]))
			plan->keep[plan->nkeep++] = ev->rules[i];
		else
			plan->revoke[plan->nrevoke++] = ev->rules[i];
	}
	plan->nunparsed = ev->nbad_rules;

	if (plan->nrevoke == 0 && plan->nunparsed == 0) {
		plan->verdict = SG_VERDICT_RULES_ALLOWED;
		policy_reason(plan, "%s covered by allow patterns",
		    plan->nkeep == 1 ? "the rule is" : "all rules are");
		return 0;
	}
	plan->verdict = SG_VERDICT_REVERT;
	if (plan->nunparsed == 0)
		policy_reason(plan, "%zu of %zu rules not covered by any allow "
		    "pattern", plan->nrevoke, ev->nrules);
	else
		policy_reason(plan, "%zu of %zu readable rules not covered by "
		    "any allow pattern, %zu unreadable", plan->nrevoke,
		    ev->nrules, plan->nunparsed);
	return 0;
}
