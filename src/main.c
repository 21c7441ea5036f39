/* main.c: the command line of the contract, then daemon_run(). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "creds.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

#define DEFAULT_CONFIG	"/etc/sgguard.ini"

static const char *
env_lookup(const char *name)
{
	return getenv(name);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: sgguard [-c FILE] [--once] [--dry-run] [--state-dir DIR]\n"
"               [--log-level LEVEL] [-t|--check-config] [-V|--version] [-h|--help]\n"
"\n"
"Keeps AWS EC2 security groups as their owners intend: reads the security-\n"
"group calls recorded by CloudTrail, revokes rules added by principals that\n"
"are not allowed, and notifies through SNS.\n"
"\n"
"  -c, --config FILE     configuration file (default " DEFAULT_CONFIG ")\n"
"      --once            run one poll cycle, flush state, exit\n"
"      --dry-run         detect, log and notify; never change a group\n"
"      --state-dir DIR   state directory (default $STATE_DIRECTORY,\n"
"                        else /var/lib/sgguard)\n"
"      --log-level LEVEL error, warning, info (default) or debug\n"
"  -t, --check-config    validate the configuration, print a summary, exit\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n"
"\n"
"See sgguard(8) and sgguard.ini(5).\n");
}

/*
 * One error message, then exit 64 (EX_USAGE). Through the logger like every
 * other failure, so it has the contracted "sgguard[PID]: error: " form (or
 * goes to the journal); the hint stays on the same line.
 */
static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s; see 'sgguard --help'", msg);
	exit(SG_EXIT_USAGE);
}

int
main(int argc, char *argv[])
{
	enum { OPT_ONCE = 256, OPT_DRY_RUN, OPT_STATE_DIR, OPT_LOG_LEVEL };
	static const struct option longopts[] = {
		{ "config",	  required_argument, NULL, 'c' },
		{ "once",	  no_argument,	     NULL, OPT_ONCE },
		{ "dry-run",	  no_argument,	     NULL, OPT_DRY_RUN },
		{ "state-dir",	  required_argument, NULL, OPT_STATE_DIR },
		{ "log-level",	  required_argument, NULL, OPT_LOG_LEVEL },
		{ "check-config", no_argument,	     NULL, 't' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sg_options opts = { .config_path = DEFAULT_CONFIG,
	    .log_level = -1 };
	struct sg_config *cfg = NULL;
	char err[1024];
	int ch, check = 0, version = 0, help = 0;

	daemon_signals_init();
	log_init();
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:tVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (*optarg == '\0')
				usage_error("-c/--config needs a file name");
			opts.config_path = optarg;
			break;
		case OPT_ONCE:
			opts.once = true;
			break;
		case OPT_DRY_RUN:
			opts.dry_run = true;
			break;
		case OPT_STATE_DIR:
			if (*optarg == '\0')
				usage_error("--state-dir needs a directory");
			/* As the file's state_dir: a daemon runs in /, so a
			 * relative path would land somewhere unexpected. */
			if (*optarg != '/')
				usage_error("--state-dir needs an absolute path, "
				    "not \"%s\"", optarg);
			opts.state_dir = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &opts.log_level) == -1)
				usage_error("bad --log-level '%s': use error, "
				    "warning, info or debug", optarg);
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			version = 1;
			break;
		case 'h':
			help = 1;
			break;
		case ':':
			usage_error("option '%s' needs a value",
			    argv[optind - 1]);
		default: {
			/* getopt_long sets optopt to a long option's value
			 * (not a character) when it was given a value it
			 * takes none of: name what was typed instead. */
			const char *arg = argv[optind - 1];
			const char *eq = strchr(arg, '=');

			if (strncmp(arg, "--", 2) == 0 && eq != NULL &&
			    optopt != 0)
				usage_error("option '%.*s' takes no value",
				    (int)(eq - arg), arg);
			if (strncmp(arg, "--", 2) == 0 || optopt == 0)
				usage_error("unknown option '%s'", arg);
			usage_error("unknown option '-%c'", optopt);
		}
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (help) {
		usage(stdout);
		return SG_EXIT_OK;
	}
	if (version) {
		printf("sgguard %s\n", SGGUARD_VERSION);
		return SG_EXIT_OK;
	}
	if (check && opts.once)
		usage_error("--check-config and --once exclude each other");
	if (opts.log_level != -1)
		log_set_level(opts.log_level);

	if (config_load(opts.config_path, env_lookup, &cfg, err, sizeof(err)) ==
	    -1) {
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_CONFIG_ERROR }, "%s", err);
		return SG_EXIT_CONFIG;
	}
	if (check) {
		/* No network, but the shared files tell whether a profile
		 * named in the file can work: better here than at run time. */
		if (cfg->profile_line > 0 && creds_check_profile(cfg->profile,
		    env_lookup, err, sizeof(err)) == -1) {
			log_msg(LOG_ERR, &(struct sg_log_fields){
			    .message_id = SG_MSGID_CONFIG_ERROR },
			    "%s:%d: bad profile \"%s\": %s", cfg->path,
			    cfg->profile_line, cfg->profile, err);
			config_free(cfg);
			return SG_EXIT_CONFIG;
		}
		/* What the command line sets wins, here as in a run. */
		if (opts.log_level != -1) {
			cfg->log_level = opts.log_level;
			cfg->log_level_set = true;
		}
		if (opts.state_dir != NULL) {
			free(cfg->state_dir);
			cfg->state_dir = xstrdup(opts.state_dir);
		}
		/* One screen, unless asked for everything. */
		config_print_summary(cfg, opts.dry_run, opts.log_level ==
		    LOG_DEBUG ? 0 : 12, stdout);
		config_free(cfg);
		return SG_EXIT_OK;
	}
	if (opts.log_level == -1 && cfg->log_level_set)
		log_set_level(cfg->log_level);
	return daemon_run(&opts, cfg);
}
