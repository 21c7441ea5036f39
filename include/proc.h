/* proc.h: running a helper program and reading what it prints: the
 * `credential_process` of an AWS profile.
 *
 * The command line is split as botocore splits it (Python's shlex.split in
 * POSIX mode): no shell runs, words are separated by blanks, '...' is
 * literal, "..." takes \" and \\ as escapes, a backslash outside quotes
 * escapes the next character. The program is looked up in PATH when its
 * name has no '/'.
 *
 * proc_run() starts it with stdin from /dev/null, only stdin, stdout and
 * stderr open, an empty signal mask and default signal dispositions, in a
 * process group of its own; it collects stdout and stderr (each up to a
 * cap, the rest read and dropped) until both are closed and the program
 * has exited, or until the time limit or the interrupt flag, when the
 * whole group is killed (SIGKILL) and reaped. Nothing is left running.
 */
#ifndef SG_PROC_H
#define SG_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Split cmd into a NULL-terminated argv (free with proc_argv_free). 0, or
 * -1 with err: "no closing quotation", "nothing after a backslash",
 * "empty command". Pure. */
int	 proc_split(const char *cmd, char ***argv, char *err, size_t errlen);
void	 proc_argv_free(char **argv);

/* The file exec would run for name: name itself when it holds a '/',
 * else the first executable regular file NAME in path (a PATH value; NULL:
 * "/usr/local/bin:/usr/bin:/bin"). 0 with *out (free it), or -1 with err. */
int	 proc_find(const char *name, const char *path, char **out, char *err,
	    size_t errlen);

struct sg_proc_opts {
	long	 timeout_ms;		/* from start to exit */
	size_t	 out_max;		/* bytes of stdout kept */
	size_t	 err_max;		/* bytes of stderr kept */
	/* Non-NULL: when it becomes non-zero (a signal arrived) the program
	 * is killed and the run ends with interrupted set. */
	volatile sig_atomic_t *interrupt;
};

struct sg_proc_result {
	bool		 exited;	/* exited by itself: status is valid */
	int		 status;	/* its exit status */
	int		 signal;	/* killed by this signal (0: none) */
	bool		 timed_out;	/* killed at timeout_ms */
	bool		 interrupted;	/* killed for the interrupt flag */
	bool		 out_truncated;	/* printed more than out_max */
	struct sg_buf	 out;		/* stdout (free with buf_free_secure) */
	struct sg_buf	 err;		/* stderr */
};

/* Run path with argv (argv[0] as the program's name). 0 when it ran
 * (however it ended: see *res), -1 when it could not be started (err
 * says why). Free res with proc_result_free either way. */
int	 proc_run(const char *path, char *const argv[],
	    const struct sg_proc_opts *, struct sg_proc_result *res,
	    char *err, size_t errlen);
void	 proc_result_free(struct sg_proc_result *);

#endif
