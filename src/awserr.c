/* awserr.c: AWS error bodies to typed errors (jansson, expat). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "awserr.h"
#include "log.h"
#include "util.h"
#include "xml.h"

/* botocore's throttling codes, plus SNS's Throttled. */
static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded",
	"BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException", "Throttled",
};

/* Transient server-side failures, whatever the status says. */
static const char *const server_codes[] = {
	"InternalError", "InternalFailure", "InternalServerError",
	"InternalErrorException", "InternalServiceError",
	"ServiceUnavailable", "ServiceUnavailableException", "Unavailable",
	"RequestTimeout", "RequestTimeoutException", "IDPCommunicationError",
};

static const char *const skew_codes[] = {
	"RequestExpired", "RequestTimeTooSkewed", "RequestInTheFuture",
};

/* Signature failures that are clock skew when the message says so. */
static const char *const sig_codes[] = {
	"SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure",
};

static const char *const auth_codes[] = {
	"SignatureDoesNotMatch", "IncompleteSignature",
	"IncompleteSignatureException", "InvalidClientTokenId",
	"UnrecognizedClientException", "AuthFailure", "InvalidAccessKeyId",
	"MissingAuthenticationToken", "MissingAuthenticationTokenException",
	"InvalidSignatureException", "ExpiredToken", "ExpiredTokenException",
	"InvalidToken", "TokenRefreshRequired",
};

static const char *const denied_codes[] = {
	"UnauthorizedOperation", "AccessDenied", "AccessDeniedException",
	"AuthorizationError", "UnauthorizedAccess", "NotAuthorized",
	"OptInRequired", "Forbidden", "KMSAccessDenied",
};

static bool
in_list(const char *code, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

#define IN(code, list) in_list((code), (list), SG_ARRAY_LEN(list))

static bool
ends_with(const char *s, const char *suffix)
{
	size_t sl = strlen(s), xl = strlen(suffix);

	return sl >= xl && strcmp(s + sl - xl, suffix) == 0;
}

static bool
is_not_found(const char *code)
{
	return strcmp(code, "NotFound") == 0 || ends_with(code, ".NotFound") ||
	    ends_with(code, "NotFoundException");
}

static bool
mentions_time(const char *message)
{
	static const char *const words[] = {
		"expired", "not yet current", "skew", "clock",
	};
	size_t i;

	if (message == NULL)
		return false;
	for (i = 0; i < SG_ARRAY_LEN(words); i++)
		if (strcasestr(message, words[i]) != NULL)
			return true;
	return false;
}

enum sg_aws_error_kind
awserr_classify(long status, const char *code, const char *message)
{
	if (status >= 200 && status <= 299)
		return SG_AWS_OK;
	if (code != NULL && *code != '\0') {
		if (IN(code, throttle_codes))
			return SG_AWS_ERR_THROTTLED;
		if (IN(code, skew_codes) ||
		    (IN(code, sig_codes) && mentions_time(message)))
			return SG_AWS_ERR_CLOCK_SKEW;
		if (IN(code, auth_codes))
			return SG_AWS_ERR_AUTH;
		if (IN(code, denied_codes))
			return SG_AWS_ERR_DENIED;
		if (is_not_found(code))
			return SG_AWS_ERR_NOT_FOUND;
		if (IN(code, server_codes))
			return SG_AWS_ERR_SERVER;
	}
	if (status == 429)
		return SG_AWS_ERR_THROTTLED;
	if (status >= 500 && status <= 599)
		return SG_AWS_ERR_SERVER;
	if (status == 401)
		return SG_AWS_ERR_AUTH;
	if (status == 403)
		return SG_AWS_ERR_DENIED;
	if (status >= 400 && status <= 499)
		return SG_AWS_ERR_CLIENT;
	return SG_AWS_ERR_BAD_RESPONSE;
}

bool
awserr_retryable(const struct sg_aws_error *e)
{
	switch (e->kind) {
	case SG_AWS_ERR_THROTTLED:
	case SG_AWS_ERR_SERVER:
		return true;
	case SG_AWS_ERR_TRANSPORT:
		return e->transport != SG_HTTP_ERR_TLS;
	default:
		return false;
	}
}

const char *
awserr_kind_name(enum sg_aws_error_kind k)
{
	switch (k) {
	case SG_AWS_OK:			return "ok";
	case SG_AWS_ERR_TRANSPORT:	return "transport";
	case SG_AWS_ERR_THROTTLED:	return "throttled";
	case SG_AWS_ERR_SERVER:		return "server";
	case SG_AWS_ERR_CLIENT:		return "client";
	case SG_AWS_ERR_AUTH:		return "auth";
	case SG_AWS_ERR_DENIED:		return "denied";
	case SG_AWS_ERR_NOT_FOUND:	return "not_found";
	case SG_AWS_ERR_TOO_LARGE:	return "too_large";
	case SG_AWS_ERR_CLOCK_SKEW:	return "clock_skew";
	case SG_AWS_ERR_BAD_RESPONSE:	return "bad_response";
	case SG_AWS_ERR_CREDENTIALS:	return "credentials";
	case SG_AWS_ERR_LOCAL:		return "local";
	}
	return "unknown";
}

static void
set_hint(struct sg_aws_error *e)
{
	const char *h = NULL;

	switch (e->kind) {
	case SG_AWS_ERR_CLOCK_SKEW:
		h = "check the system clock (timedatectl)";
		break;
	case SG_AWS_ERR_AUTH:
		h = strncmp(e->code, "ExpiredToken", 12) == 0 ?
		    "the temporary credentials have expired" :
		    "check the access key id, secret access key and session "
		    "token in use";
		break;
	case SG_AWS_ERR_DENIED:
		h = "the IAM policy of these credentials does not allow "
		    "this action";
		break;
	case SG_AWS_ERR_THROTTLED:
		h = "AWS is throttling these requests";
		break;
	case SG_AWS_ERR_TRANSPORT:
		h = e->transport == SG_HTTP_ERR_TLS ?
		    "check ca_file and the system CA bundle (TLS "
		    "verification is never disabled)" :
		    "check network access to the endpoint (DNS, proxy "
		    "variables, firewall)";
		break;
	case SG_AWS_ERR_TOO_LARGE:
		h = "the answer exceeded the response size limit";
		break;
	default:
		break;
	}
	e->hint[0] = '\0';
	if (h != NULL)
		sg_strlcpy(e->hint, h, sizeof(e->hint));
}

/* Copy a value trimmed of white space, truncated to fit. */
static void
copy_trimmed(char *out, size_t outsize, const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= outsize)
		len = outsize - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/*
 * The message of an error document: trimmed, its first line only (see
 * first_line()), secrets taken out before it is cut to fit, so that no
 * part of one can survive the cut.
 */
static void
copy_message(char *out, size_t outsize, const char *s, size_t len)
{
	/* [REDACTED] may be longer than what it stands for. */
	size_t size = len + 64;
	char *full = xmalloc(size);

	memcpy(full, s, len);
	full[len] = '\0';
	full[strcspn(full, "\r\n")] = '\0';
	log_redact(full, size);
	copy_trimmed(out, outsize, full, strlen(full));
	sg_free_secret(full);
}

/*
 * Keep the first line of a message only. SignatureDoesNotMatch messages
 * go on with "The Canonical String for this request should have been",
 * which holds every signed header, the session token included.
 */
static void
first_line(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
	sg_trim(s);
}

/* "aws.protocoltests#FooError:http://internal/" -> "FooError". */
static void
set_json_code(struct sg_aws_error *e, const char *type)
{
	const char *hash = strrchr(type, '#'), *colon;

	if (hash != NULL)
		type = hash + 1;
	colon = strchr(type, ':');
	copy_trimmed(e->code, sizeof(e->code), type,
	    colon != NULL ? (size_t)(colon - type) : strlen(type));
}

static int
parse_json(const char *body, size_t len, struct sg_aws_error *e)
{
	static const char *const code_keys[] = { "__type", "code", "Code" };
	static const char *const msg_keys[] = {
		"message", "Message", "errorMessage",
	};
	json_error_t jerr;
	json_t *root, *v;
	size_t i;

	if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	for (i = 0; i < SG_ARRAY_LEN(code_keys) && e->code[0] == '\0'; i++)
		if ((v = json_object_get(root, code_keys[i])) != NULL &&
		    json_is_string(v))
			set_json_code(e, json_string_value(v));
	for (i = 0; i < SG_ARRAY_LEN(msg_keys) && e->message[0] == '\0'; i++)
		if ((v = json_object_get(root, msg_keys[i])) != NULL &&
		    json_is_string(v))
			copy_message(e->message, sizeof(e->message),
			    json_string_value(v), json_string_length(v));
	first_line(e->message);
	json_decref(root);
	return e->code[0] != '\0' ? 0 : -1;
}

struct xml_err {
	struct sg_aws_error	*e;
	bool			 have_id;
};

static int
xml_err_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct xml_err *x = arg;
	struct sg_aws_error *e = x->e;

	/* The first Error wins: EC2 may list several. */
	if (e->code[0] == '\0' && xml_path_match(path, "Error/Code"))
		copy_trimmed(e->code, sizeof(e->code), text, len);
	else if (e->message[0] == '\0' && xml_path_match(path,
	    "Error/Message")) {
		copy_message(e->message, sizeof(e->message), text, len);
		first_line(e->message);
	}
	else if (!x->have_id && depth == 2 && (strcmp(name, "RequestId") == 0 ||
	    strcmp(name, "RequestID") == 0))
		copy_trimmed(e->request_id, sizeof(e->request_id), text, len);
	return 0;
}

static int
parse_xml(const char *body, size_t len, struct sg_aws_error *e)
{
	struct xml_err x = { e, e->request_id[0] != '\0' };
	struct sg_xml_handler h = { NULL, xml_err_end, &x };
	char why[128];

	if (xml_parse(body, len, &h, why, sizeof(why)) == -1) {
		/* Half a document is not trusted, even if a code was seen. */
		e->code[0] = e->message[0] = '\0';
		if (!x.have_id)
			e->request_id[0] = '\0';
		return -1;
	}
	return e->code[0] != '\0' ? 0 : -1;
}

/* A short, one-line, printable excerpt of an unusable body. */
static void
describe_body(long status, const char *body, size_t len,
    struct sg_aws_error *e)
{
	/* The excerpt is 120 characters, read from enough more of the body
	 * that a secret across the cut is seen whole and taken out. */
	enum { EXCERPT = 120, AHEAD = 4096 };
	char raw[EXCERPT + AHEAD + 64], safe[256];
	size_t i, o = 0;
	bool space = false, more;

	for (i = 0; i < len && o < EXCERPT + AHEAD; i++) {
		if (isspace((unsigned char)body[i])) {
			space = o > 0;
			continue;
		}
		if (space && o < EXCERPT + AHEAD - 1)
			raw[o++] = ' ';
		space = false;
		/* NUL would end the excerpt: show it escaped instead. */
		raw[o++] = body[i] != '\0' ? body[i] : '\1';
	}
	raw[o] = '\0';
	if (o == 0) {
		snprintf(e->message, sizeof(e->message),
		    "HTTP %ld with an empty body", status);
		return;
	}
	log_redact(raw, sizeof(raw));
	more = i < len || strlen(raw) > EXCERPT;
	if (strlen(raw) > EXCERPT)
		raw[EXCERPT] = '\0';
	log_sanitize(raw, safe, sizeof(safe));
	snprintf(e->message, sizeof(e->message),
	    "HTTP %ld without an AWS error document: %s%s", status, safe,
	    more ? "..." : "");
}

int
awserr_parse(long status, const char *body, size_t len,
    struct sg_aws_error *e)
{
	size_t i = 0;
	int rc = -1;

	e->http_status = status;
	e->code[0] = e->message[0] = '\0';
	if (body == NULL)
		len = 0;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i < len && body[i] == '{')
		rc = parse_json(body + i, len - i, e);
	else if (i < len && body[i] == '<')
		rc = parse_xml(body + i, len - i, e);
	if (rc == -1) {
		e->code[0] = '\0';
		describe_body(status, body, len, e);
	}
	e->kind = awserr_classify(status, e->code, e->message);
	/* A body without an error code on a 2xx is still no success here. */
	if (e->kind == SG_AWS_OK)
		e->kind = SG_AWS_ERR_BAD_RESPONSE;
	set_hint(e);
	return rc;
}

void
awserr_from_http(const struct sg_http_response *r, struct sg_aws_error *e)
{
	memset(e, 0, sizeof(*e));
	e->http_status = r->status;
	e->transport = r->result;
	sg_strlcpy(e->request_id, r->request_id, sizeof(e->request_id));
	if (r->result != SG_HTTP_OK) {
		e->kind = r->result == SG_HTTP_ERR_TOO_LARGE ?
		    SG_AWS_ERR_TOO_LARGE : SG_AWS_ERR_TRANSPORT;
		snprintf(e->message, sizeof(e->message), "%s: %s",
		    http_result_name(r->result),
		    r->error[0] != '\0' ? r->error : "no detail");
		set_hint(e);
		return;
	}
	if (r->status >= 200 && r->status <= 299) {
		e->kind = SG_AWS_OK;
		return;
	}
	if (r->status >= 300 && r->status <= 399) {
		/* Never followed: the request was signed for this host. */
		e->kind = SG_AWS_ERR_BAD_RESPONSE;
		snprintf(e->message, sizeof(e->message),
		    "unexpected redirect (HTTP %ld), not followed", r->status);
		return;
	}
	awserr_parse(r->status, r->body.data, r->body.len, e);
}

void
awserr_format(const struct sg_aws_error *e, char *out, size_t outsize)
{
	char code[sizeof(e->code) * 2], msg[sizeof(e->message) * 2];
	char hint[sizeof(e->hint) * 2];

	log_sanitize(e->code, code, sizeof(code));
	log_sanitize(e->message, msg, sizeof(msg));
	log_sanitize(e->hint, hint, sizeof(hint));
	/* The hint is what an operator acts on ("check the system clock
	 * (timedatectl): it is 1800 s ahead of AWS's"): always say it. */
	snprintf(out, outsize, "kind=%s http=%ld code=%s message=%s%s%s",
	    awserr_kind_name(e->kind), e->http_status,
	    code[0] != '\0' ? code : "-", msg,
	    hint[0] != '\0' ? "; hint: " : "", hint);
}
