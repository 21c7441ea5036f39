/* proc.c: running a helper program (see proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

#define PROC_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
/* Longest wait between two looks at the interrupt flag. */
#define PROC_TICK_MS		200

/* ---- splitting, as shlex.split(s) (posix=True, no comments) ---- */

static bool
proc_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
proc_split(const char *cmd, char ***argv, char *err, size_t errlen)
{
	struct sg_buf word;
	char **v = NULL;
	size_t n = 0;
	bool in_word = false;
	const char *s;
	char quote = '\0';

	*argv = NULL;
	buf_init(&word);
	for (s = cmd;; s++) {
		if (quote == '\'') {
			if (*s == '\0')
				goto unclosed;
			if (*s == '\'')
				quote = '\0';
			else
				buf_putc(&word, *s);
			continue;
		}
		if (quote == '"') {
			if (*s == '\0')
				goto unclosed;
			if (*s == '"')
				quote = '\0';
			else if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				buf_putc(&word, *++s);
			else
				buf_putc(&word, *s);
			continue;
		}
		if (*s == '\0' || proc_blank(*s)) {
			if (in_word) {
				v = xreallocarray(v, n + 2, sizeof(*v));
				v[n++] = buf_steal(&word);
				v[n] = NULL;
				buf_init(&word);
				in_word = false;
			}
			if (*s == '\0')
				break;
			continue;
		}
		in_word = true;
		if (*s == '\'' || *s == '"')
			quote = *s;
		else if (*s == '\\') {
			if (s[1] == '\0') {
				sg_errf(err, errlen, "nothing after a backslash "
				    "at its end");
				goto fail;
			}
			buf_putc(&word, *++s);
		} else
			buf_putc(&word, *s);
	}
	if (n == 0) {
		sg_errf(err, errlen, "empty command");
		goto fail;
	}
	*argv = v;
	return 0;
unclosed:
	sg_errf(err, errlen, "no closing quotation (%c)", quote);
fail:
	buf_free(&word);
	proc_argv_free(v);
	return -1;
}

void
proc_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* ---- finding the program ---- */

/* 0 when path is an executable regular file, else an errno value. */
static int
proc_runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) == 0 ? 0 : errno;
}

int
proc_find(const char *name, const char *path, char **out, char *err,
    size_t errlen)
{
	const char *dir, *end;
	char *cand;
	int e, first = ENOENT;

	*out = NULL;
	if (name[0] == '\0') {
		sg_errf(err, errlen, "empty program name");
		return -1;
	}
	if (strchr(name, '/') != NULL) {
		if ((e = proc_runnable(name)) != 0) {
			sg_errf(err, errlen, "%s: %s", name, strerror(e));
			return -1;
		}
		*out = xstrdup(name);
		return 0;
	}
	if (path == NULL)
		path = PROC_DEFAULT_PATH;
	for (dir = path;; dir = end + 1) {
		end = strchr(dir, ':');
		if (end == NULL)
			end = dir + strlen(dir);
		/* An empty entry is the working directory, as for execvp. */
		if (asprintf(&cand, "%.*s%s%s", (int)(end - dir), dir,
		    end > dir ? "/" : "", name) == -1)
			fatalx("out of memory");
		if ((e = proc_runnable(cand)) == 0) {
			*out = cand;
			return 0;
		}
		if (e != ENOENT && e != ENOTDIR && first == ENOENT)
			first = e;
		free(cand);
		if (*end == '\0')
			break;
	}
	if (first == ENOENT)
		sg_errf(err, errlen, "%s: not found in PATH (%s)", name, path);
	else
		sg_errf(err, errlen, "%s: %s", name, strerror(first));
	return -1;
}

/* ---- running ---- */

void
proc_result_free(struct sg_proc_result *res)
{
	buf_free_secure(&res->out);
	buf_free_secure(&res->err);
	memset(res, 0, sizeof(*res));
}

/* Read what is there; false at end of file (or a read error). */
static bool
proc_drain(int fd, struct sg_buf *b, size_t max, bool *truncated)
{
	char chunk[4096];
	ssize_t n;
	size_t keep;

	n = read(fd, chunk, sizeof(chunk));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	keep = b->len < max ? max - b->len : 0;
	if (keep > (size_t)n)
		keep = (size_t)n;
	if (keep > 0)
		buf_append(b, chunk, keep);
	if (keep < (size_t)n && truncated != NULL)
		*truncated = true;
	explicit_bzero(chunk, sizeof(chunk));
	return true;
}

static void
proc_status(struct sg_proc_result *res, int st)
{
	if (WIFEXITED(st)) {
		res->exited = true;
		res->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st))
		res->signal = WTERMSIG(st);
}

/* Kill the program's process group and reap the program. */
static void
proc_kill(pid_t pid, struct sg_proc_result *res)
{
	int st;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	res->signal = SIGKILL;
}

static int
proc_spawn(const char *path, char *const argv[], int outw, int errw,
    pid_t *pid, char *err, size_t errlen)
{
	static const int reset[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP,
	    SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	size_t i;
	int devnull, rc;

	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		sg_errf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (i = 0; i < SG_ARRAY_LEN(reset); i++)
		sigaddset(&dfl, reset[i]);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, devnull, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, outw, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errw, STDERR_FILENO);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(pid, path, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(devnull);
	if (rc != 0) {
		sg_errf(err, errlen, "cannot run %s: %s", path, strerror(rc));
		return -1;
	}
	return 0;
}

int
proc_run(const char *path, char *const argv[], const struct sg_proc_opts *o,
    struct sg_proc_result *res, char *err, size_t errlen)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, st;
	struct pollfd pfd[2];
	long deadline, left;
	pid_t pid;
	int i, n;

	memset(res, 0, sizeof(*res));
	buf_init(&res->out);
	buf_init(&res->err);
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1) {
		sg_errf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (proc_spawn(path, argv, outp[1], errp[1], &pid, err, errlen) == -1)
		goto fail;
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	pfd[0].fd = outp[0];
	pfd[1].fd = errp[0];
	pfd[0].events = pfd[1].events = POLLIN;
	deadline = sg_mono_ms() + o->timeout_ms;
	for (;;) {
		if (o->interrupt != NULL && *o->interrupt) {
			res->interrupted = true;
			proc_kill(pid, res);
			break;
		}
		if ((left = deadline - sg_mono_ms()) <= 0) {
			res->timed_out = true;
			proc_kill(pid, res);
			break;
		}
		if (o->interrupt != NULL && left > PROC_TICK_MS)
			left = PROC_TICK_MS;
		if (pfd[0].fd == -1 && pfd[1].fd == -1) {
			/* Both closed: wait for the exit itself. Rarely
			 * more than an instant; looked at every 20 ms. */
			n = waitpid(pid, &st, WNOHANG);
			if (n == pid) {
				proc_status(res, st);
				break;
			}
			if (n == -1 && errno != EINTR) {
				sg_errf(err, errlen, "waitpid: %s",
				    strerror(errno));
				proc_kill(pid, res);
				goto fail;
			}
			poll(NULL, 0, left < 20 ? (int)left : 20);
			continue;
		}
		n = poll(pfd, 2, (int)left);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			sg_errf(err, errlen, "poll: %s", strerror(errno));
			proc_kill(pid, res);
			goto fail;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (!proc_drain(pfd[i].fd, i == 0 ? &res->out :
			    &res->err, i == 0 ? o->out_max : o->err_max,
			    i == 0 ? &res->out_truncated : NULL)) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				*(i == 0 ? &outp[0] : &errp[0]) = -1;
			}
		}
	}
	if (outp[0] != -1)
		close(outp[0]);
	if (errp[0] != -1)
		close(errp[0]);
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		if (outp[i] != -1)
			close(outp[i]);
		if (errp[i] != -1)
			close(errp[i]);
	}
	return -1;
}
