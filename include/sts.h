/* sts.h: credentials of another account, from STS AssumeRole.
 *
 * An [account NAME] section names role_arn (and maybe external_id); a
 * provider per account calls STS AssumeRole (Query API, Version
 * 2011-06-15) through an sg_aws client whose credentials callback is the
 * BASE provider (creds.h), at the regional endpoint of the [aws] region
 * (or the sts endpoint override of that client), and hands out the
 * temporary credentials it gets back for that account's calls.
 *
 * THE RE-ENTRANCY RULE. There are three ways in, and they differ on
 * purpose:
 *
 *   sts_refresh_start()  never blocks: when a refresh is due it submits
 *                   AssumeRole on the base client (aws_submit) and returns;
 *                   the answer lands in the provider from a later
 *                   aws_run() of that client (its completion callback only
 *                   updates the provider: no call, no wait). The daemon
 *                   starts every account's refresh at once before a cycle,
 *                   so the roles are assumed concurrently and one slow or
 *                   unreachable STS holds up no other account.
 *   sts_get()       may block: sts_refresh_start(), then aws_run() on the
 *                   base client until that answer is in (which also runs
 *                   the completion callbacks of any other call pending on
 *                   that client). Call it only from the top of a loop,
 *                   never from inside aws_run(): not from a credentials
 *                   callback, not from a completion callback.
 *   sts_callback()  the sg_creds_fn of the account's sg_aws client. It
 *                   never calls STS: it returns the cached credentials
 *                   while they are valid for more than CREDS_MIN_VALIDITY
 *                   seconds, else fails cleanly (kind CREDENTIALS) with a
 *                   message saying why (never fetched; still being
 *                   fetched; expired, and the last refresh's error).
 *
 * Why: aws.c invokes the credentials callback from call_start() inside
 * aws_run(), while the call being started is still marked waiting (and
 * already counted out of nwaiting). A blocking aws_call() from there
 * re-enters aws_run() on the base client: that runs the base client's
 * completion callbacks from the middle of the account client's aws_run(),
 * and any of them that drives the account client (aws_run/aws_call) finds
 * the half-started call still waiting and starts it a second time (two
 * transfers for one call, or the call completed and freed under the outer
 * call_start(): memory corruption); the
 * same happens at once if the STS client is the account client itself. It
 * would also stall every other call of the account client for as long as
 * STS takes (up to max_total_ms, with retries). Refreshing up front,
 * outside any credentials callback, avoids all of that. Credentials
 * refreshed at the start of a cycle stay usable by sts_callback() for at
 * least 840 s (sessions of an hour or more) or 165 s (900 s sessions) of
 * that cycle. sts_get() re-entered for the same provider while it waits
 * behaves like sts_callback().
 *
 * Free a provider only when no aws_run() of its client can follow (free
 * the client first: its calls are dropped without their callbacks).
 *
 * Timing. Credentials fetched at F expiring at E are refreshed from
 * creds_refresh_time(F, E) = E - min(CREDS_REFRESH_BEFORE, (E - F) / 4),
 * the rule of the base credentials too: 15 minutes before expiry,
 * or with a quarter of their lifetime left when that is shorter (a 900 s
 * session is refreshed after 675 s, not at once). A failed refresh keeps
 * the old credentials while they are valid for more than
 * CREDS_MIN_VALIDITY seconds (one warning per run of failures); after a
 * failed attempt STS is asked again at most every CREDS_RETRY_INTERVAL
 * seconds, with or without credentials in hand.
 *
 * The secret key and session token are registered with log_secret_add()
 * and never logged; the access key id is (it is in CloudTrail anyway).
 * source is "assume-role ROLE_ARN" (cut to fit).
 */
#ifndef SG_STS_H
#define SG_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "creds.h"

struct sg_aws;
struct sg_aws_error;

#define STS_DURATION_DEFAULT	3600
#define STS_DURATION_MIN	900
#define STS_DURATION_MAX	43200
#define STS_SESSION_NAME_MAX	64
#define STS_EXTERNAL_ID_MAX	1224
#define STS_ROLE_ARN_MAX	2048

struct sg_sts_opts {
	const char	*role_arn;	/* required */
	const char	*external_id;	/* NULL or "": none */
	/* NULL or "": sts_session_name() of gethostname(2). */
	const char	*session_name;
	int		 duration;	/* seconds; 0: STS_DURATION_DEFAULT */
	const char	*region;	/* STS region: the [aws] region */
	/* Signs AssumeRole with the base credentials (its callback is the
	 * base provider). Borrowed, must outlive the provider. */
	struct sg_aws	*aws;
	/* Credentials got are logged at debug, not info: the caller says
	 * what it uses (a role profile, creds.c). */
	bool		 quiet;
};

struct sg_sts_provider;

/* Copies what it needs from opts. NULL, logged, when an option is not
 * valid (role ARN, external id, session name, duration, region). */
struct sg_sts_provider *sts_provider_new(const struct sg_sts_opts *);
void	 sts_provider_free(struct sg_sts_provider *);

/*
 * Credentials valid at now: the cached ones, or fresh ones from STS when
 * a refresh is due (BLOCKS: see the rule above). 0 and *out filled, or -1
 * with one line in err that says what to fix. Wipe *out with creds_wipe.
 */
int	 sts_get(struct sg_sts_provider *, time_t now, struct sg_creds *out,
	    char *err, size_t errlen);
/* Submit AssumeRole when a refresh is due (nothing cached, the cache near
 * its end, or a failed attempt more than CREDS_RETRY_INTERVAL s ago);
 * never blocks. 1 while a call is in flight (begun now or before), 0 when
 * none is needed or allowed yet. */
int	 sts_refresh_start(struct sg_sts_provider *, time_t now);
/* An AssumeRole call of this provider is in flight. */
bool	 sts_in_flight(const struct sg_sts_provider *);
/* Cached credentials usable at now (what sts_callback() would give). */
bool	 sts_has_credentials(const struct sg_sts_provider *, time_t now);
/* AWS answered that the credentials signed with access_key_id have
 * expired (ExpiredToken) before the time STS gave: if they are the cached
 * ones, take them as gone and assume the role again at the next chance.
 * True when they were. */
bool	 sts_rejected(struct sg_sts_provider *, const char *access_key_id);
/* The sg_creds_fn for the account's client (arg: the provider). Never
 * blocks, never calls STS. */
int	 sts_callback(void *arg, time_t now, struct sg_creds *out, char *err,
	    size_t errlen);
/* When sts_get() will next call STS: 0 when it would now (nothing cached
 * yet), else the refresh time of the cached credentials, or the time of
 * the next retry after a failure. */
time_t	 sts_next_refresh(const struct sg_sts_provider *);
/* The role ARN, as configured. */
const char *sts_role_arn(const struct sg_sts_provider *);
/* STS requests made so far (tests). */
unsigned sts_requests(const struct sg_sts_provider *);

/* ---- pure functions, for tests, fuzzing and config checks ---- */

/*
 * An AssumeRoleResponse document: AssumeRoleResult/Credentials/
 * {AccessKeyId, SecretAccessKey, SessionToken, Expiration (ISO 8601)}.
 * 0 with *out filled (source left empty), or -1 with err set (an
 * ErrorResponse gives "STS error CODE: MESSAGE"); *out is wiped on
 * failure. Never logs, never registers secrets.
 */
int	 sts_parse_assume_role(const char *xml, size_t len,
	    struct sg_creds *out, char *err, size_t errlen);
/* The time from which credentials fetched at fetched, expiring at
 * expiration, should be refreshed (see Timing). */
time_t	 sts_refresh_time(time_t fetched, time_t expiration);
bool	 sts_needs_refresh(time_t fetched, time_t expiration, time_t now);
/* "sgguard-HOST": characters outside [A-Za-z0-9_+=,.@-] become '-', cut
 * to STS_SESSION_NAME_MAX; "sgguard" without a host name. outlen must be
 * at least STS_SESSION_NAME_MAX + 1. */
void	 sts_session_name(const char *hostname, char *out, size_t outlen);
/* arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME. 0, with the 12-digit
 * account copied into account (13 bytes) when not NULL; -1 with err. */
int	 sts_check_role_arn(const char *arn, char *account, char *err,
	    size_t errlen);
/* 2..1224 characters of [A-Za-z0-9_+=,.@:/-]. 0 / -1 with err. */
int	 sts_check_external_id(const char *, char *err, size_t errlen);
/* 2..64 characters of [A-Za-z0-9_+=,.@-]. 0 / -1 with err. */
int	 sts_check_session_name(const char *, char *err, size_t errlen);
/* The line sts_get() reports for a failed AssumeRole call: what went
 * wrong and what to fix, naming the role (AccessDenied: "sgguard's base
 * identity may not assume ROLE: check the role's trust policy and
 * sts:AssumeRole in sgguard's policy ..."). */
void	 sts_error_message(const struct sg_aws_error *, const char *role_arn,
	    bool have_external_id, const char *region, char *out,
	    size_t outlen);

#endif
