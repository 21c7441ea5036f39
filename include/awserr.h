/* awserr.h: typed AWS errors, parsed from error bodies. Pure functions.
 *
 * Error bodies come in three shapes, all handled:
 *   JSON 1.x (CloudTrail):  {"__type":"prefix#Code","message":"..."}
 *   EC2 Query:  <Response><Errors><Error><Code/><Message/></Error></Errors>
 *               <RequestID/></Response>
 *   Query (SNS, STS): <ErrorResponse><Error><Type/><Code/><Message/></Error>
 *               <RequestId/></ErrorResponse>
 * Anything else (an HTML page from a proxy, a truncated or empty body) gives
 * an error classified by the HTTP status alone.
 */
#ifndef SG_AWSERR_H
#define SG_AWSERR_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

enum sg_aws_error_kind {
	SG_AWS_OK,
	SG_AWS_ERR_TRANSPORT,	/* no complete HTTP answer (see transport) */
	SG_AWS_ERR_THROTTLED,	/* slow down: retried with backoff */
	SG_AWS_ERR_SERVER,	/* 5xx: retried */
	SG_AWS_ERR_CLIENT,	/* other 4xx: the request is wrong */
	SG_AWS_ERR_AUTH,	/* key unknown, bad signature, expired token */
	SG_AWS_ERR_DENIED,	/* authenticated, but the policy says no */
	SG_AWS_ERR_NOT_FOUND,	/* *.NotFound, NotFound, ResourceNotFound... */
	SG_AWS_ERR_TOO_LARGE,	/* answer over the size cap */
	SG_AWS_ERR_CLOCK_SKEW,	/* our clock is off: see hint */
	SG_AWS_ERR_BAD_RESPONSE,/* redirect, 1xx, or an unusable answer */
	SG_AWS_ERR_CREDENTIALS,	/* no credentials to sign with */
	SG_AWS_ERR_LOCAL,	/* the request could not be built or signed */
};

struct sg_aws_error {
	enum sg_aws_error_kind	 kind;
	long			 http_status;	/* 0: no HTTP answer */
	/* SG_HTTP_OK unless kind is TRANSPORT or TOO_LARGE */
	enum sg_http_result	 transport;
	char			 code[128];	/* AWS error code, "" if none */
	char			 message[512];
	char			 request_id[128];
	char			 hint[192];	/* what to check, or "" */
};

const char *awserr_kind_name(enum sg_aws_error_kind);
/* The kind for an HTTP status and an AWS error code ("" or NULL: none);
 * the message only refines clock-skew detection. */
enum sg_aws_error_kind awserr_classify(long status, const char *code,
	    const char *message);
/* Is another attempt worth it: throttling, 5xx, and transport failures
 * other than TLS (a bad certificate does not fix itself). */
bool	 awserr_retryable(const struct sg_aws_error *);
/*
 * Parse an error body for an HTTP status. Fills code, message, request_id
 * (kept when already set, e.g. from a header), kind and hint. Returns 0 when
 * the body was an AWS error document, -1 when it was not (err still fully
 * filled, message describing the body).
 */
int	 awserr_parse(long status, const char *body, size_t len,
	    struct sg_aws_error *);
/* One attempt's outcome, from the HTTP layer's answer: transport failures,
 * 2xx (kind OK), and everything else through awserr_parse(). */
void	 awserr_from_http(const struct sg_http_response *,
	    struct sg_aws_error *);
/* "kind=throttled http=400 code=ThrottlingException message=..."
 * (sanitised, one line). */
void	 awserr_format(const struct sg_aws_error *, char *out, size_t outsize);

#endif
