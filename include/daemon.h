/* daemon.h: the guard loop and the options it runs with. */
#ifndef SG_DAEMON_H
#define SG_DAEMON_H

#include <stdbool.h>

#include "config.h"

/* What the command line says; NULL / false when not given. */
struct sg_options {
	const char	*config_path;
	const char	*state_dir;
	bool		 once;
	bool		 dry_run;
	int		 log_level;	/* -1: not given */
};

/* Exit statuses of the contract. */
#define SG_EXIT_OK	0
#define SG_EXIT_FAIL	1
#define SG_EXIT_USAGE	64
#define SG_EXIT_CONFIG	78

/* Signal handlers that only set flags; installed first thing, so a
 * SIGTERM at any moment ends in a clean exit 0. */
void	 daemon_signals_init(void);
/* The state directory in effect: --state-dir, else the file's state_dir,
 * else the first entry of $STATE_DIRECTORY, else /var/lib/sgguard. */
const char *daemon_state_dir(const struct sg_options *,
	    const struct sg_config *);
/* Run until told to stop (or one cycle with --once); returns an exit
 * status. Takes ownership of cfg. */
int	 daemon_run(const struct sg_options *, struct sg_config *cfg);

#endif
