/* creds.h: AWS credentials, looked up in the order the AWS SDKs use:
 * environment, shared credentials/config files (profile), container
 * credentials, EC2 instance metadata (IMDSv2).
 *
 * Sources, first hit wins:
 *  1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).
 *     Only one of the pair set is an error. Skipped when opts.profile is
 *     set: a profile named in the configuration file is an explicit
 *     choice, and the file wins over the environment (botocore drops its
 *     environment provider for an explicit profile too). AWS_PROFILE does
 *     not skip them, as in botocore: exported keys still come first.
 *  2. Profile: opts.profile, else AWS_PROFILE, else "default", in
 *     AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials, sections
 *     [NAME]), then AWS_CONFIG_FILE (default ~/.aws/config, sections
 *     [profile NAME] and [default]). In botocore's order: static keys of
 *     the credentials file, then credential_process (either file; the
 *     credentials file's wins), then static keys of the config file.
 *     Before all of these, a profile with role_arn (settings merged key
 *     by key, the credentials file's winning) is a role assumed with
 *     STS AssumeRole (sts.h) on the provider's own client, blocking, at
 *     most CREDS_STS_MS: the caller's keys come from source_profile
 *     (static keys first there, then credential_process, then its own
 *     role_arn: chains are followed, a loop is an error; a profile may
 *     name itself to use its own keys) or credential_source
 *     (Environment, Ec2InstanceMetadata, EcsContainer). external_id,
 *     role_session_name and duration_seconds are passed; mfa_serial is
 *     an error (no one can type a code).
 *     credential_process is run without a shell (see proc.h), at most
 *     CREDS_PROCESS_MS, and must print Version 1 JSON (see
 *     creds_parse_process); its keys are refreshed like container ones
 *     when it gives an Expiration. A profile that was
 *     named (opts.profile or AWS_PROFILE) and is in neither file, or has
 *     no keys there (only source_profile, say), is an error; so is
 *     a profile that asks for a credential type sgguard does not
 *     implement (sso_*, web identity), and one whose
 *     credential_process or role fails:
 *     falling through to the instance role would act as someone else.
 *     Unnamed, a "default" without keys falls through. A section without
 *     any key counts as absent. Section names match exactly; of [default]
 *     and [profile default] the later one counts. Without HOME the
 *     default paths are not looked at.
 *  3. Container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (at
 *     http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (https,
 *     or http to loopback / 169.254.170.2 / 169.254.170.23 / fd00:ec2::23),
 *     Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at
 *     every fetch) else AWS_CONTAINER_AUTHORIZATION_TOKEN. Once
 *     configured, a failure is final (no fall through to the instance).
 *  4. IMDSv2 unless AWS_EC2_METADATA_DISABLED=true, at
 *     AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254.
 *     IMDSv1 is never used: a token PUT answered 403/404/405 means no
 *     instance credentials.
 *
 * Temporary credentials (credential_process, container, IMDS) fetched at F expiring at E are
 * refreshed from creds_refresh_time(F, E): CREDS_REFRESH_BEFORE seconds
 * before they expire, or with a quarter of their lifetime left when that
 * is shorter, so short-lived ones are not fetched again for every call,
 * but never with less than 2 * CREDS_MIN_VALIDITY seconds left (sts.c
 * uses the same rule). A failed refresh is retried at most every
 * CREDS_RETRY_INTERVAL seconds while the cached ones stay in use, as long
 * as they are valid for more than CREDS_MIN_VALIDITY seconds.
 *
 * Every secret key, session token and authorization token loaded is
 * registered with log_secret_add().
 */
#ifndef SG_CREDS_H
#define SG_CREDS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct sg_aws_opts;
struct sg_http;

struct sg_creds {
	char	 access_key_id[128];
	char	 secret_access_key[128];
	char	 session_token[4096];	/* "" when none */
	time_t	 expiration;		/* 0: does not expire */
	/* "environment", "profile NAME", "container",
	 * "instance-metadata ROLE" */
	char	 source[128];
};

#define CREDS_REFRESH_BEFORE	(15 * 60)	/* at most, s before Expiration */
#define CREDS_RETRY_INTERVAL	60		/* s between lookups */
#define CREDS_MIN_VALIDITY	60		/* s left to keep using */

/* Same type as config.h's: getenv(3) or a test's table. */
typedef const char *(*sg_getenv_fn)(const char *name);

struct sg_creds_opts {
	/* [aws] profile of the file or NULL (then AWS_PROFILE is read
	 * here): only a profile of the file skips environment keys. */
	const char	*profile;
	sg_getenv_fn	 getenv;	/* NULL: getenv(3) */
	/* NULL (recommended): the provider makes its own client with short
	 * timeouts (1 s connect, 3 s per request), so a host that is not on
	 * EC2 fails fast and a blocking fetch never runs inside another
	 * client's http_run(). Otherwise borrowed, not freed. */
	struct sg_http	*http;
	const char	*ca_file;	/* extra CA bundle, own client */
	/* Non-NULL: set by a signal, stops a running credential_process
	 * (and an AssumeRole of a role profile). */
	volatile sig_atomic_t *interrupt;
	/* Role profiles (role_arn): AssumeRole goes to STS in region, at the
	 * endpoints of sts, with its retry settings (nothing else of it is
	 * read; copied). NULL: such profiles cannot be used. */
	const struct sg_aws_opts *sts;
	const char	*region;
};

struct sg_creds_provider;

/* Copies what it needs from opts (strings too). NULL only on a failure to
 * make the HTTP client (logged). */
struct sg_creds_provider *creds_provider_new(const struct sg_creds_opts *);
void	 creds_provider_free(struct sg_creds_provider *);

/*
 * Credentials valid at now: the cached ones, or freshly looked up. 0 and
 * *out filled, or -1 with one line in err naming every source tried and
 * why it gave nothing ("no AWS credentials: environment: not set; ...").
 * Wipe *out with creds_wipe when done.
 */
int	 creds_get(struct sg_creds_provider *, time_t now,
	    struct sg_creds *out, char *err, size_t errlen);
/* creds_get with the provider as void *arg: the aws layer's callback. */
int	 creds_callback(void *arg, time_t now, struct sg_creds *out,
	    char *err, size_t errlen);
/* AWS answered that the temporary credentials signed with access_key_id
 * have expired (ExpiredToken) before their Expiration: if they are the
 * cached ones, the next creds_get() looks for new ones (at the usual
 * pace). True when they were. */
bool	 creds_rejected(struct sg_creds_provider *, const char *access_key_id);

/*
 * The time from which credentials fetched at fetched, expiring at
 * expiration, should be fetched again: expiration - max(2 *
 * CREDS_MIN_VALIDITY, min(CREDS_REFRESH_BEFORE, (expiration - fetched) /
 * 4)), and never before fetched. The one rule of every refreshable
 * source.
 */
time_t	 creds_refresh_time(time_t fetched, time_t expiration);
/* True when credentials fetched at fetched, expiring at expiration (0:
 * never), should be fetched again at now. */
bool	 creds_needs_refresh(time_t fetched, time_t expiration, time_t now);

/*
 * Can profile, named in the configuration file, give credentials? The
 * shared files are found and read as the chain does (fn: NULL for
 * getenv(3)); no network, nothing run, registered or kept. 0 when the
 * profile has static keys, or a credential_process whose program is
 * found; -1 when it is in neither file, has no keys, names no runnable
 * program, or asks for what sgguard does not support, with why ("not in
 * FILE or FILE", "FILE: sso_session is not supported", ...). A role profile is checked
 * to its sources (settings, loops); STS is not called.
 */
int	 creds_check_profile(const char *profile, sg_getenv_fn fn,
	    char *why, size_t whylen);

/* Pure parsers, for tests and fuzzing. 0 / -1 with err set. */

/* A container or IMDS credentials document: AccessKeyId, SecretAccessKey,
 * Token (optional), Expiration (required); Code, when present, must be
 * "Success". Does not set source. */
int	 creds_parse_json(const char *json, size_t len, struct sg_creds *out,
	    char *err, size_t errlen);
/*
 * Static keys of profile from the text of the credentials file and of the
 * config file (either may be NULL: no such file). The credentials file
 * wins when it has keys for the profile. Returns 1 when the profile is in
 * neither text (out untouched, err says so), 2 when it is there but has
 * no keys (nor any unsupported credential setting), 3 when its keys come
 * from a credential_process (err names the file), 4 when it is a role to
 * assume (err names the file of role_arn), 0 when found (source set to
 * "profile NAME"), -1 on error.
 */
int	 creds_parse_shared(const char *cred_text, const char *config_text,
	    const char *profile, struct sg_creds *out, char *err,
	    size_t errlen);
/* What a credential_process printed: {"Version": 1, "AccessKeyId",
 * "SecretAccessKey", "SessionToken" (optional), "Expiration" (optional,
 * ISO 8601; absent: never expires)}. Does not set source. */
int	 creds_parse_process(const char *json, size_t len,
	    struct sg_creds *out, char *err, size_t errlen);
/* "2026-11-27T10:00:00Z", fractional seconds, "+00:00"/"-05:30" offsets.
 * 0 / -1. */
int	 creds_parse_iso8601(const char *, time_t *);

/* Wipe a credentials struct (OPENSSL_cleanse). */
void	 creds_wipe(struct sg_creds *);

#endif
