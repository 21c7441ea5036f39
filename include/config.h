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

struct sg_group_cfg {
	char		 id[32];	/* sg-... */
	char		*region;	/* its own, else [aws] region */
	struct sg_rule	*allow;
	size_t		 nallow;
	char		**principals;	/* allow_principal globs */
	size_t		 nprincipals;
	int		 line;		/* line of its [group ...] header */
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
	char		*endpoint_url;	/* or NULL */
	char		*cloudtrail_endpoint_url;
	char		*ec2_endpoint_url;
	char		*sns_endpoint_url;
	char		*sts_endpoint_url;
	char		*ca_file;	/* or NULL */

	/* [notify] */
	char		*topic_arn;	/* or NULL: no notifications */
	char		*subject_prefix;

	struct sg_group_cfg *groups;
	size_t		 ngroups;
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
/* The one-screen summary printed by -t/--check-config. */
void	 config_print_summary(const struct sg_config *, FILE *);
/* The group config for a group id, or NULL. */
const struct sg_group_cfg *config_find_group(const struct sg_config *,
	    const char *group_id);

#endif
