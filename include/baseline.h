/* baseline.h: the rules a group is meant to have, and drift from them.
 *
 * The baseline of a group is its rules when sgguard started or reloaded
 * (baseline = snapshot; none with baseline = allow), plus what allowed
 * principals added since, minus what they removed. The `allow` and
 * `allow_egress` patterns are not copied in: they are passed to the diff.
 * Rules are compared by content (protocol, ports, source with the owner of
 * a referenced group), since a revoke and re-add gives a rule a new id;
 * ids are kept to find a rule's previous form when it is modified.
 *
 * Pure: no I/O, no clock. Persisted by the caller as the JSON text of
 * baseline_serialize(), keyed by ACCOUNT/REGION/GROUP.
 */
#ifndef SG_BASELINE_H
#define SG_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "describe.h"
#include "event.h"
#include "event_modify.h"
#include "rule.h"

/* The baseline of one group. (Not "struct sg_baseline": config.h has an
 * enum of that name, and C shares one namespace for tags.) */
struct sg_group_baseline {
	char		*account;	/* [account NAME] or "" (own account) */
	char		*region;
	char		*group_id;
	struct sg_group_rule *rules;
	size_t		 n;
	size_t		 cap;
	/* When the snapshot was taken (set by the caller): a record older
	 * than this may describe a change the snapshot already swallowed. */
	time_t		 taken;
	/* Taken with baseline = allow (no rules of the group's own, only
	 * what allowed principals added since); else a snapshot. Kept in
	 * baselines.json ("mode"), so that a change of the group's baseline
	 * key takes effect at a restart as at a reload. */
	bool		 allow_only;
	/* 0 while the group is guarded; else since when it is not (its tag
	 * or section gone, found at a tag search, reload or start-up).
	 * Kept in baselines.json ("unguarded_since"), so that a group
	 * deleted while sgguard was stopped is still reported when its
	 * record comes; the baseline is dropped 2 x lookback later. */
	time_t		 unguarded_since;
};

/* Every baseline sgguard keeps, in one place for persistence. */
struct sg_baseline_set {
	struct sg_group_baseline *v;
	size_t		 n;
	size_t		 cap;
};

/* What drift found in one direction of one group. */
struct sg_drift_dir {
	/* Rules in neither the baseline nor an allow pattern: revoke. */
	struct sg_group_rule *unexpected;
	size_t		 nunexpected;
	/* Baseline rules changed in place (same id) into a form nothing
	 * covers: modified[i] is the rule now, was[i] its baseline form,
	 * to be put back with ModifySecurityGroupRules. */
	struct sg_group_rule *modified;
	struct sg_group_rule *was;
	size_t		 nmodified;
	/* Baseline rules no longer there: authorize again (restore = yes). */
	struct sg_group_rule *missing;
	size_t		 nmissing;
};

struct sg_drift {
	struct sg_drift_dir ingress;
	struct sg_drift_dir egress;	/* empty unless include_egress */
};

/* The set: find, find or add (empty), remove. Pointers into the set stay
 * valid until the next baseline_get or baseline_remove. account may be
 * NULL for "". */
struct sg_group_baseline *baseline_find(const struct sg_baseline_set *,
	    const char *account, const char *region, const char *group_id);
struct sg_group_baseline *baseline_get(struct sg_baseline_set *,
	    const char *account, const char *region, const char *group_id);
void	 baseline_remove(struct sg_baseline_set *, const char *account,
	    const char *region, const char *group_id);
void	 baseline_set_free(struct sg_baseline_set *);
/* "ACCOUNT/REGION/GROUP", the key of the persisted form. */
void	 baseline_key(const struct sg_group_baseline *, char *buf,
	    size_t size);

/*
 * Take the baseline from the group's current rules (the rules of b's group
 * in rules; other groups' are skipped), replacing what b held. With
 * snapshot false (baseline = allow) b becomes empty: only the patterns
 * and later changes by allowed principals count.
 */
void	 baseline_snapshot(struct sg_group_baseline *,
	    const struct sg_rule_set *rules, bool snapshot);
/* Add one rule unless an equal one (same direction) is there; an equal
 * rule takes over a new id. true if b changed. */
bool	 baseline_add(struct sg_group_baseline *, const struct sg_group_rule *);

/*
 * A call made by an allowed principal. ev: a parsed Authorize* or Revoke*
 * record of b's group that succeeded (others change nothing). Authorize
 * adds its rules; Revoke removes the rules it names, by id when known,
 * else by content. revoked_ids (may be NULL) are rules a Revoke removed by
 * id only, when the record carries no revokedSecurityGroupRuleSet (see
 * event_rule_ids()). Returns how many baseline rules were added or
 * removed.
 */
size_t	 baseline_apply_event(struct sg_group_baseline *,
	    const struct sg_event *, const char *const *revoked_ids,
	    size_t nids);
/*
 * A ModifySecurityGroupRules by an allowed principal: each readable rule
 * of the call replaces the baseline rule of the same id (a new description
 * replaces the old one only when the call names one). A rule the baseline
 * does not hold is added when current (the group's rules now, may be
 * NULL) tells its direction. Returns how many rules changed.
 */
size_t	 baseline_apply_modify(struct sg_group_baseline *,
	    const struct sg_modify *, const struct sg_rule_set *current);
/*
 * Follow new ids: a baseline rule whose id is gone but whose content is
 * in current under an id the baseline does not know takes that id (a
 * revoke and re-add, or an id sgguard never saw). Keeps the previous form
 * of a later modification findable. Returns how many ids changed.
 */
size_t	 baseline_adopt_ids(struct sg_group_baseline *,
	    const struct sg_rule_set *current);

/*
 * The drift of b's group: current holds its rules now (others' are
 * skipped). allow[0..nallow) are the group's patterns, each covering
 * rules of its own direction only (allow[i].egress: allow_egress). A
 * current rule is expected when a baseline rule or a pattern of its
 * direction covers it (equal or narrower). Egress rules are looked at
 * only with include_egress (egress = audit or enforce). Free with
 * baseline_drift_free.
 */
void	 baseline_diff(const struct sg_group_baseline *,
	    const struct sg_rule_set *current, const struct sg_rule *allow,
	    size_t nallow, bool include_egress, struct sg_drift *);
void	 baseline_drift_free(struct sg_drift *);
/* Drop the baseline rules equal (by content and direction) to any of
 * rules: an unauthorized rule a snapshot swallowed. Returns how many. */
size_t	 baseline_forget(struct sg_group_baseline *, const struct sg_rule *,
	    size_t n);
/* Is r in the baseline (equal to one of its rules) or covered by a
 * pattern of its own direction? What drift and CloudTrail judge by. */
bool	 baseline_holds(const struct sg_group_baseline *,
	    const struct sg_rule *allow, size_t nallow, const struct sg_rule *r);
/* Is r covered by a baseline rule or a pattern of its own direction?
 * (ModifySecurityGroupRules: "a form no baseline rule covers".) */
bool	 baseline_covers(const struct sg_group_baseline *,
	    const struct sg_rule *allow, size_t nallow,
	    const struct sg_rule *r);

/*
 * The persisted form: one JSON object, {"version":1,"baselines":{KEY:
 * {"rules":[...]}}}, each rule {"id","egress","proto","from","to", one of
 * "cidr"/"prefix_list"/"group" (+"user"), "description"}. parse replaces
 * the set's content; 0, or -1 with a reason in err (the set is then
 * empty): the caller takes fresh snapshots.
 */
char	*baseline_serialize(const struct sg_baseline_set *);
/* One rule of that form (group_id and owner_id are not in it): new
 * object (NULL: out of memory); parse: 0, or -1 with why. */
struct json_t *baseline_rule_json(const struct sg_group_rule *);
int	 baseline_rule_parse(const struct json_t *, struct sg_group_rule *,
	    char *why, size_t whysize);
int	 baseline_parse(const char *json, size_t len, struct sg_baseline_set *,
	    char *err, size_t errlen);

#endif
