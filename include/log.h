/* log.h: the one way sgguard reports anything.
 *
 * Under systemd (JOURNAL_STREAM names stderr) every message goes to the
 * journal with structured fields; otherwise one line per message on stderr:
 * "sgguard[PID]: LEVEL: message". That stderr line is also written when the
 * journal cannot receive (its socket is absent or refuses at log_init(), or
 * a send fails): no message is lost silently.
 *
 * Every message is made safe before output: control characters and invalid
 * UTF-8 are escaped, so one message is one line, and any registered secret
 * is replaced by "[REDACTED]".
 *
 * Test knob (unset in production):
 *   SGGUARD_TEST_JOURNAL_SOCKET   the socket log_init() checks instead of
 *                                 /run/systemd/journal/socket
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdarg.h>
#include <syslog.h>	/* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

/* MESSAGE_IDs: one fixed 128-bit id per message kind (journal catalog). */
#define SG_MSGID_STARTED	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f10"
#define SG_MSGID_STOPPED	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f11"
#define SG_MSGID_RELOADED	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f12"
#define SG_MSGID_CONFIG_ERROR	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f13"
#define SG_MSGID_REVERTED	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f20"
#define SG_MSGID_WOULD_REVERT	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f21"
#define SG_MSGID_AUTHORIZED	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f22"
#define SG_MSGID_REVERT_FAILED	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f23"
#define SG_MSGID_NOTIFY_FAILED	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f30"
#define SG_MSGID_AWS_ERROR	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f31"
#define SG_MSGID_CREDENTIALS	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f32"
#define SG_MSGID_STATE_ERROR	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f33"
#define SG_MSGID_BAD_RECORD	"6a1f3b0e2c9d4e51a7f08b3c5d2e9f34"

/* Optional structured fields; NULL members are left out. */
struct sg_log_fields {
	const char	*message_id;
	const char	*event_id;
	const char	*group_id;
	const char	*region;
	const char	*principal;
	const char	*action;	/* reverted, would-revert, authorized, failed */
};

/* A sink receives every message that passes the level filter, already
 * made safe. Tests use it; NULL restores the journal/stderr output. */
typedef void (*sg_log_sink)(int level, const struct sg_log_fields *,
    const char *msg, void *arg);

void	 log_init(void);
void	 log_set_level(int level);
int	 log_get_level(void);
int	 log_level_parse(const char *, int *level);	/* 0 / -1 */
const char *log_level_name(int level);
void	 log_set_sink(sg_log_sink, void *arg);

/* Secrets registered here never appear in any log output. */
void	 log_secret_add(const char *secret);
void	 log_secret_clear(void);
/* Take out of msg (size bytes in all) every registered secret, a secret's
 * first 8 or more characters, signature-shaped values and runs of 64 or
 * more hex digits; what every log message goes through. */
void	 log_redact(char *msg, size_t size);

void	 log_msg(int level, const struct sg_log_fields *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 log_vmsg(int level, const struct sg_log_fields *, const char *,
	    va_list) __attribute__((format(printf, 3, 0)));
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Make an untrusted string safe for one log line or notification line:
 * control characters become \n, \t, \xNN; invalid UTF-8 bytes become \xNN;
 * at most max output bytes (then "..."). Always NUL-terminates out. */
void	 log_sanitize(const char *in, char *out, size_t outsize);

#endif
