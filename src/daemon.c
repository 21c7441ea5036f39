/* daemon.c: the guard loop. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

#define DEFAULT_STATE_DIR	"/var/lib/sgguard"

const char *
daemon_state_dir(const struct sg_options *opts, const struct sg_config *cfg)
{
	static char first[4096];
	const char *env;
	size_t n;

	if (opts->state_dir != NULL)
		return opts->state_dir;
	if (cfg->state_dir != NULL)
		return cfg->state_dir;
	/* systemd may pass several directories separated by ':'. */
	if ((env = getenv("STATE_DIRECTORY")) != NULL && *env != '\0') {
		n = strcspn(env, ":");
		if (n < sizeof(first)) {
			memcpy(first, env, n);
			first[n] = '\0';
			return first;
		}
	}
	return DEFAULT_STATE_DIR;
}

int
daemon_run(const struct sg_options *opts, struct sg_config *cfg)
{
	log_error("the guard loop is not built yet (issue #3)");
	config_free(cfg);
	return SG_EXIT_FAIL;
}
