/* aws.h: signed AWS calls, the one path every AWS request takes.
 *
 * A call names a service, a region and an action. Query API services (EC2,
 * SNS, STS) get a form-encoded POST body "Action=...&Version=...&params";
 * CloudTrail gets a JSON 1.1 POST with X-Amz-Target. Every attempt fetches
 * credentials through a callback and is signed afresh (sigv4.h) with the
 * current time.
 *
 * Calls are asynchronous: aws_submit() queues one, aws_run() drives every
 * call in flight from one thread (sg_http's multi interface) and runs the
 * completion callbacks. aws_call() is aws_submit() plus aws_run() until that
 * call is done. Completion callbacks only ever run from inside aws_run().
 *
 * Throttling, 5xx answers and transport failures (but TLS) are retried:
 * at most max_attempts attempts, full-jitter exponential backoff
 * (aws_backoff_ms()), and never past max_total_ms from submission.
 *
 * Nothing of a request (headers, body, signature) is ever logged; error
 * bodies only at debug level, trimmed.
 *
 * Test knobs (aws_apply_env_knobs(); unset in production, where the
 * defaults below apply):
 *   SGGUARD_TEST_FAST=1                short timeouts and backoff for tests
 *   SGGUARD_AWS_MAX_ATTEMPTS           max_attempts
 *   SGGUARD_AWS_BACKOFF_BASE_MS        backoff_base_ms
 *   SGGUARD_AWS_BACKOFF_CAP_MS         backoff_cap_ms
 *   SGGUARD_AWS_MAX_TOTAL_MS           max_total_ms
 *   SGGUARD_AWS_THROTTLE_FLOOR_MS      throttle_floor_ms
 *   SGGUARD_HTTP_CONNECT_TIMEOUT_MS    sg_http_opts.connect_timeout_ms
 *   SGGUARD_HTTP_TIMEOUT_MS            sg_http_opts.total_timeout_ms
 *   SGGUARD_HTTP_MAX_RESPONSE          sg_http_opts.max_response (bytes)
 */
#ifndef SG_AWS_H
#define SG_AWS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "awserr.h"
#include "creds.h"
#include "http.h"
#include "util.h"

#define SG_AWS_MAX_ATTEMPTS	5
#define SG_AWS_BACKOFF_BASE_MS	500
#define SG_AWS_BACKOFF_CAP_MS	20000
#define SG_AWS_MAX_TOTAL_MS	60000
/* The least wait after throttling: AWS rate limits are per second. */
#define SG_AWS_THROTTLE_FLOOR_MS 1000

enum sg_aws_service {
	SG_AWS_CLOUDTRAIL,	/* JSON 1.1, CloudTrail_20131101 */
	SG_AWS_EC2,		/* Query, 2016-11-15 */
	SG_AWS_SNS,		/* Query, 2010-03-31 */
	SG_AWS_STS,		/* Query, 2011-06-15 */
	SG_AWS_NSERVICES
};

/*
 * Credentials for a signature at time now: fill out and return 0, or write
 * one line into err and return -1 (the call fails with kind CREDENTIALS).
 * Called once per attempt, so a provider can hand out refreshed keys.
 */
typedef int (*sg_creds_fn)(void *arg, time_t now, struct sg_creds *out,
    char *err, size_t errlen);

struct sg_config;

struct sg_aws_opts {
	struct sg_http		*http;		/* required; not owned */
	sg_creds_fn		 creds;		/* required */
	void			*creds_arg;
	/* Base URL for every service ("http://127.0.0.1:5000"), then one
	 * per service that wins over it; NULL: https://SERVICE.REGION.
	 * amazonaws.com (.com.cn in China). Paths are kept, queries are not
	 * allowed. */
	const char		*endpoint_url;
	const char		*endpoints[SG_AWS_NSERVICES];
	/* Retries; 0 takes the SG_AWS_* default above. */
	int			 max_attempts;
	long			 backoff_base_ms;
	long			 backoff_cap_ms;
	long			 max_total_ms;	/* submission to last answer */
	long			 throttle_floor_ms; /* 0: SG_AWS_THROTTLE_FLOOR_MS */
	/* Injectable for tests. NULL: a getrandom(2)-seeded generator. */
	uint32_t		(*random)(void *arg);
	void			*random_arg;
	/* Wall clock for signatures. NULL: time(NULL). */
	time_t			(*clock)(void *arg);
	void			*clock_arg;
};

struct sg_aws_request {
	enum sg_aws_service	 service;
	const char		*region;	/* "us-east-1" */
	const char		*action;	/* "DescribeSecurityGroups" */
	/* Query API services: parameters after Action and Version, in this
	 * order; names are sent as given ("IpPermissions.1.IpProtocol"). */
	const struct sg_kv	*params;
	size_t			 nparams;
	const char		*version;	/* NULL: the service's */
	/* JSON services: the request document; NULL: "{}". */
	const char		*json;
	/* Credentials for this call (another account's); NULL: the
	 * client's. Called from inside aws_run(): it must not block or call
	 * back into the same sg_aws (see sts.h). */
	sg_creds_fn		 creds;
	void			*creds_arg;
};

struct sg_aws_response {
	struct sg_aws_error	 err;		/* kind SG_AWS_OK on success */
	long			 http_status;	/* last attempt's; 0: none */
	struct sg_buf		 body;		/* last attempt's body */
	char			 request_id[128];
	time_t			 server_time;	/* Date header; 0: none */
	char			 access_key_id[32]; /* signed the last attempt */
	int			 attempts;
	long			 elapsed_ms;	/* submission to completion */
};

struct sg_aws;

/* The response is freed after the callback returns: keep the body with
 * buf_steal(). The callback may submit new calls, not free the sg_aws. */
typedef void (*sg_aws_done_fn)(struct sg_aws_response *, void *arg);

/* Copies what it needs from opts (URLs are parsed here). NULL on a bad
 * endpoint URL, logged. */
struct sg_aws *aws_new(const struct sg_aws_opts *);
/* Calls in flight are dropped without their callbacks. */
void	 aws_free(struct sg_aws *);
/* Endpoint overrides from the [aws] section of a configuration. */
void	 aws_opts_from_config(struct sg_aws_opts *, const struct sg_config *);
/* Apply the test knobs listed above from the environment. */
void	 aws_apply_env_knobs(struct sg_http_opts *, struct sg_aws_opts *);

/* Queue a call; everything in req is copied. Errors, even local ones,
 * are reported through done from aws_run(). -1 only for a request that
 * cannot be a call at all (unknown service, no action), logged. */
int	 aws_submit(struct sg_aws *, const struct sg_aws_request *,
	    sg_aws_done_fn done, void *arg);
/*
 * Drive calls for at most timeout_ms (0: do what is ready, never wait):
 * transfers, due retries, callbacks. Returns early once a callback has
 * run. Sleeps in curl_multi_poll() or until the next retry is due; never
 * busy-waits. Returns the number of calls not yet completed.
 */
int	 aws_run(struct sg_aws *, long timeout_ms);
/* A flag (set from a signal handler) that stops calls: once it is set,
 * calls waiting for a retry fail at once (kind LOCAL, "interrupted") and
 * calls in flight get grace_ms to finish before they are cancelled. */
void	 aws_set_interrupt(struct sg_aws *, volatile sig_atomic_t *flag,
	    long grace_ms);
/* A function run on every pass of aws_run(), at least once a second
 * while calls are pending: the daemon feeds its watchdog from it. */
void	 aws_set_idle(struct sg_aws *, void (*fn)(void *), void *arg);
/* Calls not yet completed (in flight or waiting for a retry). */
int	 aws_pending(const struct sg_aws *);
/* Blocking form of one call (runs other calls' callbacks meanwhile).
 * Always fills resp; free it with aws_response_free(). 0 on success
 * (resp->err.kind == SG_AWS_OK), -1 otherwise. */
int	 aws_call(struct sg_aws *, const struct sg_aws_request *,
	    struct sg_aws_response *resp);
void	 aws_response_free(struct sg_aws_response *);

/* Pure helpers, exported for tests. */
/* Full jitter: uniform in [0, min(cap, base * 2^attempt)], from a 32-bit
 * random value; attempt 0 is the wait before the second attempt. */
long	 aws_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t r);
/* Form encoding byte for byte as botocore sends Query bodies (Python's
 * urlencode): A-Z a-z 0-9 - _ . ~ kept, space as '+', every other byte as
 * %XX (upper case). Appends. 0 / -1. */
int	 aws_form_encode(const char *s, struct sg_buf *out);
/* The form body of a Query call: "Action=A&Version=V&k=v...". 0 / -1. */
int	 aws_query_body(const char *action, const char *version,
	    const struct sg_kv *, size_t n, struct sg_buf *out);
/* The AWS endpoint of a service in a region into out; -1 if the region
 * is not a valid region name. */
int	 aws_default_endpoint(enum sg_aws_service, const char *region,
	    char *out, size_t outsize);
const char *aws_service_name(enum sg_aws_service);
/* "ec2", "CloudTrail"... 0 / -1. */
int	 aws_service_parse(const char *, enum sg_aws_service *);

#endif
