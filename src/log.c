/* log.c: journal or stderr output, level filter, sanitising, redaction. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

#define LOG_MSG_MAX	4096
/* A secret is recognised by this many of its first characters. */
#define LOG_SECRET_HEAD	8
#define LOG_SECRETS_MAX	32

static int		 log_level = LOG_INFO;
static int		 log_to_journal;
static sg_log_sink	 log_sink;
static void		*log_sink_arg;
static char		*log_secrets[LOG_SECRETS_MAX];
static size_t		 log_secret_next;

/* Where sd_journal_sendv() sends; libsystemd has it built in. */
#define JOURNAL_SOCKET	"/run/systemd/journal/socket"

static const struct {
	const char	*name;
	int		 level;
} levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

/*
 * The socket the journal is checked at. SGGUARD_TEST_JOURNAL_SOCKET moves
 * it for the test suite, so that "no journal" can be tested on a host that
 * has one; unset in production. Only the check moves: sd_journal_sendv()
 * always sends to JOURNAL_SOCKET.
 */
static const char *
journal_socket(void)
{
	const char *p = getenv("SGGUARD_TEST_JOURNAL_SOCKET");

	return p != NULL && *p != '\0' ? p : JOURNAL_SOCKET;
}

/* journal_socket() as log_init() found it: looked up once, not per
 * message. */
static const char	*journal_path = JOURNAL_SOCKET;

/*
 * Can the journal receive? sd_journal_sendv() returns 0, as if sent, when
 * its socket does not exist (libsystemd 252 "fails silently" on ENOENT),
 * so JOURNAL_STREAM alone could lose every message. Connecting a datagram
 * socket proves that the path exists, is a datagram socket and that
 * someone is bound to it; it sends nothing.
 */
static int
journal_reachable(const char *path)
{
	struct sockaddr_un sa;
	size_t len = strlen(path);
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, len + 1);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

void
log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	/* "DEVICE:INODE" of the journal's stream, strictly parsed. */
	log_to_journal = 0;
	if (js == NULL || *js < '0' || *js > '9')
		return;
	errno = 0;
	dev = strtoull(js, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return;
	journal_path = journal_socket();
	if (fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino &&
	    journal_reachable(journal_path))
		log_to_journal = 1;
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *s, int *level)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(levels); i++)
		if (strcmp(s, levels[i].name) == 0) {
			*level = levels[i].level;
			return 0;
		}
	return -1;
}

const char *
log_level_name(int level)
{
	/* Syslog priorities between ours read as the next milder one. */
	if (level <= LOG_ERR)
		return "error";
	if (level == LOG_WARNING)
		return "warning";
	if (level <= LOG_INFO)
		return "info";
	return "debug";
}

void
log_set_sink(sg_log_sink sink, void *arg)
{
	log_sink = sink;
	log_sink_arg = arg;
}

void
log_secret_add(const char *secret)
{
	size_t i;

	/* Short strings would redact ordinary words; real secrets are long. */
	if (secret == NULL || strlen(secret) < LOG_SECRET_HEAD)
		return;
	for (i = 0; i < LOG_SECRETS_MAX; i++)
		if (log_secrets[i] != NULL && strcmp(log_secrets[i], secret) == 0)
			return;
	/* Oldest out: credentials rotate; the newest ones are what is in use. */
	sg_free_secret(log_secrets[log_secret_next]);
	log_secrets[log_secret_next] = xstrdup(secret);
	log_secret_next = (log_secret_next + 1) % LOG_SECRETS_MAX;
}

void
log_secret_clear(void)
{
	size_t i;

	for (i = 0; i < LOG_SECRETS_MAX; i++) {
		sg_free_secret(log_secrets[i]);
		log_secrets[i] = NULL;
	}
	log_secret_next = 0;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	/* C1 controls and the line/paragraph separators also break lines. */
	if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
		return 0;
	return len;
}

void
log_sanitize(const char *in, char *out, size_t outsize)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = strlen(in), o = 0, l;
	char tmp[8];

	if (outsize == 0)
		return;
	while (n > 0) {
		l = utf8_len(p, n);
		if (l == 1 && *p >= 0x20 && *p != 0x7f) {
			tmp[0] = (char)*p;
			tmp[1] = '\0';
		} else if (l > 1) {
			memcpy(tmp, p, l);
			tmp[l] = '\0';
		} else {
			l = 1;
			if (*p == '\n')
				strcpy(tmp, "\\n");
			else if (*p == '\t')
				strcpy(tmp, "\\t");
			else if (*p == '\r')
				strcpy(tmp, "\\r");
			else
				snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		}
		if (o + strlen(tmp) + 4 > outsize) {
			if (outsize >= 4) {
				o = o + 3 < outsize ? o : outsize - 4;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, strlen(tmp));
		o += strlen(tmp);
		p += l;
		n -= l;
	}
	out[o < outsize ? o : outsize - 1] = '\0';
}

/* Put repl over msg[at, at + n) (msg holds size bytes in all). */
static void
splice(char *msg, size_t size, size_t at, size_t n, const char *repl)
{
	size_t rl = strlen(repl), tail = strlen(msg + at + n);

	if (at + rl >= size)
		rl = size - at - 1;
	if (at + rl + tail >= size)
		tail = size - at - rl - 1;
	memmove(msg + at + rl, msg + at + n, tail);
	memcpy(msg + at, repl, rl);
	msg[at + rl + tail] = '\0';
}

/* How many hex digits start at p. */
static size_t
hex_run(const char *p)
{
	size_t n = 0;

	while (isxdigit((unsigned char)p[n]))
		n++;
	return n;
}

/*
 * Replace every registered secret, and anything shaped like a SigV4
 * signature or credential header value, by [REDACTED]. A secret cut short
 * by some earlier truncation still goes when 8 or more of its first
 * characters are there; so does any run of 64 or more hex digits (what a
 * signature is) that nothing else names.
 */
void
log_redact(char *msg, size_t size)
{
	static const char *const markers[] = {
		"Signature=", "X-Amz-Signature=", "x-amz-security-token:",
		"X-Amz-Security-Token:", "X-Amz-Security-Token=",
		"aws_secret_access_key", "SecretAccessKey",
	};
	static const char repl[] = "[REDACTED]";
	size_t i, sl, rl = sizeof(repl) - 1, at, n;
	char head[LOG_SECRET_HEAD + 1], *p;

	for (i = 0; i < LOG_SECRETS_MAX; i++) {
		if (log_secrets[i] == NULL)
			continue;
		sl = strlen(log_secrets[i]);
		memcpy(head, log_secrets[i], LOG_SECRET_HEAD);
		head[LOG_SECRET_HEAD] = '\0';
		at = 0;
		while ((p = strstr(msg + at, head)) != NULL) {
			at = (size_t)(p - msg);
			for (n = LOG_SECRET_HEAD; n < sl && p[n] ==
			    log_secrets[i][n]; n++)
				;
			splice(msg, size, at, n, repl);
			at += rl;
		}
	}
	for (p = msg; *p != '\0'; ) {
		n = hex_run(p);
		if (n >= 64) {
			at = (size_t)(p - msg);
			splice(msg, size, at, n, repl);
			p = msg + at + rl;
		} else
			p += n > 0 ? n : 1;
	}
	for (i = 0; i < SG_ARRAY_LEN(markers); i++) {
		char *start = msg;
		while ((p = strstr(start, markers[i])) != NULL) {
			char *v = p + strlen(markers[i]), *e;
			while (*v == ' ' || *v == '"' || *v == ':' || *v == '=')
				v++;
			e = v;
			while (*e != '\0' && *e != ',' && *e != ' ' &&
			    *e != '"' && *e != '&' && *e != ';')
				e++;
			if (e > v && (size_t)(e - v) >= rl)
				splice(msg, size, (size_t)(v - msg),
				    (size_t)(e - v), repl);
			start = v;
			if (*start == '\0')
				break;
			start++;
		}
	}
}

static void
stderr_send(int level, const char *msg)
{
	fprintf(stderr, "sgguard[%ld]: %s: %s\n", (long)getpid(),
	    log_level_name(level), msg);
}

static void
journal_send(int level, const struct sg_log_fields *f, const char *msg)
{
	struct iovec iov[10];
	char *bufs[10];
	int n = 0, i;

#define FIELD(fmt, val) do {						\
	if (asprintf(&bufs[n], fmt, val) >= 0) {			\
		iov[n].iov_base = bufs[n];				\
		iov[n].iov_len = strlen(bufs[n]);			\
		n++;							\
	}								\
} while (0)
	FIELD("MESSAGE=%s", msg);
	FIELD("PRIORITY=%d", level);
	FIELD("SYSLOG_IDENTIFIER=%s", "sgguard");
	if (f != NULL) {
		char safe[512];
#define SAFE_FIELD(name, val) do {					\
	if ((val) != NULL) {						\
		log_sanitize((val), safe, sizeof(safe));		\
		log_redact(safe, sizeof(safe));			\
		FIELD(name "=%s", safe);				\
	}								\
} while (0)
		SAFE_FIELD("MESSAGE_ID", f->message_id);
		SAFE_FIELD("SGGUARD_EVENT_ID", f->event_id);
		SAFE_FIELD("SGGUARD_GROUP_ID", f->group_id);
		SAFE_FIELD("SGGUARD_REGION", f->region);
		SAFE_FIELD("SGGUARD_PRINCIPAL", f->principal);
		SAFE_FIELD("SGGUARD_ACTION", f->action);
#undef SAFE_FIELD
	}
#undef FIELD
	/*
	 * A refused send, or a socket gone since log_init() (which
	 * sd_journal_sendv() reports as success), must not lose the message.
	 * Checking after the send, not before, errs towards repeating a
	 * message on stderr rather than dropping it.
	 */
	if (sd_journal_sendv(iov, n) < 0 ||
	    access(journal_path, F_OK) == -1)
		stderr_send(level, msg);
	for (i = 0; i < n; i++)
		free(bufs[i]);
}

void
log_vmsg(int level, const struct sg_log_fields *f, const char *fmt,
    va_list ap)
{
	char raw[LOG_MSG_MAX], msg[LOG_MSG_MAX];
	int saved = errno;

	if (level > log_level)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_sanitize(raw, msg, sizeof(msg));
	log_redact(msg, sizeof(msg));
	if (log_sink != NULL)
		log_sink(level, f, msg, log_sink_arg);
	else if (log_to_journal)
		journal_send(level, f, msg);
	else
		stderr_send(level, msg);
	errno = saved;
}

void
log_msg(int level, const struct sg_log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, f, fmt, ap);
	va_end(ap);
}

#define LOG_SIMPLE(name, level)						\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vmsg(level, NULL, fmt, ap);					\
	va_end(ap);							\
}
LOG_SIMPLE(log_error, LOG_ERR)
LOG_SIMPLE(log_warnx, LOG_WARNING)
LOG_SIMPLE(log_info, LOG_INFO)
LOG_SIMPLE(log_debug, LOG_DEBUG)
#undef LOG_SIMPLE

static void
log_with_errno(int level, const char *fmt, va_list ap)
{
	char tmp[LOG_MSG_MAX];
	int saved = errno;

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	log_msg(level, NULL, "%s: %s", tmp, strerror(saved));
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_with_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_with_errno(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
