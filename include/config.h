/* config.h: /etc/sgguard.ini, parsed with inih and validated. */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rule.h"

enum sg_mode {
	SG_MODE_ENFORCE,
	SG_MODE_AUDIT,
};

/* What to do about egress changes of a group ([group]/[groups] egress =). */
enum sg_egress_mode {
	SG_EGRESS_IGNORE = 0,	/* default: not acted on (as before issue 6) */
	SG_EGRESS_AUDIT,	/* detect, log and notify; never revoke */
	SG_EGRESS_ENFORCE,	/* like ingress: revoke what allow_egress
				 * does not cover (mode = audit still wins) */
};

/* What counts as a group's authorized rules ([group]/[groups] baseline =). */
enum sg_baseline {
	SG_BASELINE_SNAPSHOT = 0, /* default: rules present at start/reload,
				   * plus the allow/allow_egress patterns */
	SG_BASELINE_ALLOW,	/* only the allow/allow_egress patterns */
};

struct sg_tag_cfg;

/*
 * One watched group ([group sg-ID]), and the policy template of a tag
 * section (struct sg_tag_cfg.policy: id "" and region NULL there).
 *
 * allow[] holds the `allow` AND the `allow_egress` patterns, in file
 * order, told apart by allow[i].egress (true for allow_egress). A rule is
 * covered only by a pattern of its own direction (policy.c compares the
 * flag), so code that only wants ingress patterns skips egress ones.
 * nallow counts both; nallow_egress how many of them are egress.
 */
struct sg_group_cfg {
	char		 id[32];	/* sg-... ("" in a tag template) */
	char		*region;	/* its own, else [aws] region (NULL in a
					 * tag template: see sg_tag_cfg) */
	struct sg_rule	*allow;
	size_t		 nallow;
	char		**principals;	/* allow_principal globs */
	size_t		 nprincipals;
	int		 line;		/* line of its [group ...] header */

	/* Issue 6. Zero (memset) is the default of every field. */
	char		*account;	/* [account NAME] name, or NULL: the
					 * credentials' own account */
	enum sg_egress_mode egress;	/* default SG_EGRESS_IGNORE */
	bool		 restore;	/* default false */
	enum sg_baseline baseline;	/* default SG_BASELINE_SNAPSHOT */
	size_t		 nallow_egress;	/* allow[] entries with egress set */
	/* The [groups tag:...] section it comes from: NULL for a [group]
	 * section; the tag itself in its template and in config_tag_group()
	 * copies. */
	const struct sg_tag_cfg *tag;
};

/*
 * [groups tag:KEY=VALUE]: every group carrying the tag, in each region of
 * regions[]. The policy (account, egress, restore, baseline, allow,
 * allow_egress, allow_principal) is a group config, so a group found by
 * the tag is judged like a configured one: see config_tag_group().
 */
struct sg_tag_cfg {
	char		*key;		/* tag key, 1..128 characters */
	char		*value;		/* tag value, 1..256 characters; never
					 * NULL in this version (tag:KEY alone,
					 * "any value", is refused) */
	char		**regions;	/* at least one, no duplicates; default
					 * the [aws] region */
	size_t		 nregions;
	struct sg_group_cfg policy;	/* id "", region NULL; account etc. */
	int		 line;		/* line of its [groups ...] header */
};

/* [account NAME]: another AWS account, reached with sts:AssumeRole. */
struct sg_account_cfg {
	char		 name[65];	/* letters, digits, '-', '_'; 1..64 */
	char		*role_arn;	/* arn:PARTITION:iam::ACCOUNT:role/... */
	char		 account_id[13]; /* the 12 digits of role_arn */
	char		*external_id;	/* or NULL; never print it */
	int		 line;		/* line of its [account ...] header */
};

struct sg_config {
	char		*path;
	enum sg_mode	 mode;
	int		 poll_interval;	/* seconds, 5..3600 */
	int		 lookback;	/* seconds */
	char		*state_dir;	/* from the file, or NULL */
	int		 log_level;	/* LOG_* */
	bool		 log_level_set;	/* given in the file */

	/* [aws]; environment values already merged (file wins). */
	char		*region;	/* never NULL after config_load */
	char		*profile;	/* or NULL */
	int		 profile_line;	/* of profile = in the file; 0: from
					 * AWS_PROFILE, or none */
	char		*endpoint_url;	/* or NULL */
	char		*cloudtrail_endpoint_url;
	char		*ec2_endpoint_url;
	char		*sns_endpoint_url;
	char		*sts_endpoint_url;
	char		*ca_file;	/* or NULL */

	/* [notify] */
	char		*topic_arn;	/* or NULL: no notifications */
	char		*subject_prefix;

	struct sg_group_cfg *groups;	/* [group sg-ID] sections */
	size_t		 ngroups;

	/* Issue 6. A config has at least one group or tag section. */
	int		 drift_interval; /* seconds, 0 (off, default) or
					  * 5..3600 */
	struct sg_tag_cfg *tags;	/* [groups tag:KEY=VALUE], file order */
	size_t		 ntags;
	struct sg_account_cfg *accounts; /* [account NAME], file order */
	size_t		 naccounts;
};

/* Environment lookup, injectable so the core stays testable: getenv(3) or
 * a test's table. */
typedef const char *(*sg_getenv_fn)(const char *name);

/*
 * Load and validate a config file. On success returns 0 and *out. On
 * failure returns -1 and writes one line "FILE:LINE: message" (no newline)
 * into err; the caller exits 78.
 */
int	 config_load(const char *path, sg_getenv_fn, struct sg_config **out,
	    char *err, size_t errlen);
/* Same, from a string (tests, fuzzing); name is used in messages. */
int	 config_load_string(const char *name, const char *text, sg_getenv_fn,
	    struct sg_config **out, char *err, size_t errlen);
void	 config_free(struct sg_config *);
/* The one-screen summary printed by -t/--check-config; dry_run: --dry-run
 * was given, which makes the mode audit whatever the file says. */
/* At most max_groups lines of groups (0: all), the rest counted. */
void	 config_print_summary(const struct sg_config *, bool dry_run,
	    size_t max_groups, FILE *);
/* The group config for a group id, or NULL. Only [group] sections: a
 * group found through a tag section is not in cfg->groups. */
const struct sg_group_cfg *config_find_group(const struct sg_config *,
	    const char *group_id);
/* The [account NAME] section of that name, or NULL (also for NULL). */
const struct sg_account_cfg *config_find_account(const struct sg_config *,
	    const char *name);
/*
 * A group found through a tag section, as a group config: *out becomes a
 * shallow copy of tag->policy with id and region set (region points at
 * the tag's own entry, so it must be one of tag->regions). Every pointer
 * in *out borrows from the config: valid until config_free, never freed
 * through *out. 0, or -1 for a bad group id or a region not listed.
 */
int	 config_tag_group(const struct sg_tag_cfg *, const char *group_id,
	    const char *region, struct sg_group_cfg *out);

#endif
