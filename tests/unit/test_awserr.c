/* test_awserr: AWS error bodies, classification, backoff, the XML helper
 * and the pure helpers of the aws layer. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws.h"
#include "log.h"
#include "awserr.h"
#include "util.h"
#include "xml.h"

static int
parse(long status, const char *body, struct sg_aws_error *e)
{
	memset(e, 0, sizeof(*e));
	return awserr_parse(status, body, body != NULL ? strlen(body) : 0, e);
}

/* ---- secrets echoed in an error body ---- */

#define ECHOED	"Zq9SeCrEtKeYvalue/abcDEF0123456789wxyzAB"

/* An AWS message that echoes a secret across the place where it is cut
 * to fit: no part of the secret is left (it goes before the cut). */
static void
secret_across_the_cut(void **state)
{
	struct sg_aws_error e;
	char body[2048], pad[600], out[1024];
	size_t cut;

	log_secret_add(ECHOED);
	for (cut = 490; cut < 512; cut += 7) {
		memset(pad, 'P', cut);
		pad[cut] = '\0';
		snprintf(body, sizeof(body), "{\"__type\":\"AccessDenied"
		    "Exception\",\"message\":\"%s%s tail\"}", pad, ECHOED);
		assert_int_equal(parse(400, body, &e), 0);
		assert_null(strstr(e.message, "Zq9S"));
		awserr_format(&e, out, sizeof(out));
		assert_null(strstr(out, "Zq9S"));
		snprintf(body, sizeof(body), "<Response><Errors><Error><Code>"
		    "AuthFailure</Code><Message>%s%s</Message></Error></Errors>"
		    "</Response>", pad, ECHOED);
		assert_int_equal(parse(401, body, &e), 0);
		assert_null(strstr(e.message, "Zq9S"));
	}
	/* Not an error document: the 120-character excerpt. */
	for (cut = 100; cut < 121; cut += 5) {
		memset(pad, 'x', cut);
		pad[cut] = '\0';
		snprintf(body, sizeof(body), "%s%s", pad, ECHOED);
		assert_int_equal(parse(502, body, &e), -1);
		assert_null(strstr(e.message, "Zq9S"));
		assert_non_null(strstr(e.message, "xxxx"));
	}
	log_secret_clear();
}

/* ---- JSON 1.1 (CloudTrail) ---- */

static void
json_throttling(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(400, "{\"__type\":\"com.amazonaws.cloudtrail."
	    "v20131101#ThrottlingException\",\"message\":\"Rate exceeded\"}",
	    &e), 0);
	assert_string_equal(e.code, "ThrottlingException");
	assert_string_equal(e.message, "Rate exceeded");
	assert_int_equal(e.kind, SG_AWS_ERR_THROTTLED);
	assert_int_equal(e.http_status, 400);
	assert_true(awserr_retryable(&e));
}

static void
json_plain_type_capital_message(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(400, "  {\"__type\":\"InvalidLookupAttributes"
	    "Exception\",\"Message\":\"You cannot specify more than one "
	    "lookup attribute.\"}\n", &e), 0);
	assert_string_equal(e.code, "InvalidLookupAttributesException");
	assert_string_equal(e.message,
	    "You cannot specify more than one lookup attribute.");
	assert_int_equal(e.kind, SG_AWS_ERR_CLIENT);
	assert_false(awserr_retryable(&e));
}

static void
json_code_with_colon(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(400, "{\"__type\":\"aws.protocoltests#"
	    "InvalidTimeRangeException:http://internal.amazon.com/coral/\","
	    "\"message\":\"bad\"}", &e), 0);
	assert_string_equal(e.code, "InvalidTimeRangeException");
}

static void
json_auth_denied_skew(void **state)
{
	struct sg_aws_error e;

	parse(400, "{\"__type\":\"com.amazon.coral.service#"
	    "UnrecognizedClientException\",\"message\":\"The security token "
	    "included in the request is invalid.\"}", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_AUTH);
	assert_string_equal(e.code, "UnrecognizedClientException");
	assert_non_null(strstr(e.hint, "access key"));

	parse(400, "{\"__type\":\"com.amazon.coral.service#"
	    "AccessDeniedException\",\"Message\":\"User: arn:aws:iam::"
	    "123456789012:user/x is not authorized to perform: "
	    "cloudtrail:LookupEvents\"}", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_DENIED);

	parse(400, "{\"__type\":\"InvalidSignatureException\",\"message\":"
	    "\"Signature expired: 20240101T000000Z is now earlier than "
	    "20240101T001000Z (20240101T002500Z - 15 min.)\"}", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_CLOCK_SKEW);
	assert_non_null(strstr(e.hint, "timedatectl"));

	parse(400, "{\"__type\":\"InvalidSignatureException\",\"message\":"
	    "\"The request signature we calculated does not match the "
	    "signature you provided.\"}", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_AUTH);

	parse(403, "{\"__type\":\"RequestExpired\",\"message\":\"Request "
	    "has expired.\"}", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_CLOCK_SKEW);

	parse(500, "{\"__type\":\"InternalFailure\"}", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
	assert_string_equal(e.message, "");
	assert_true(awserr_retryable(&e));

	parse(400, "{\"__type\":\"com.amazonaws.cloudtrail.v20131101#"
	    "TrailNotFoundException\",\"message\":\"Unknown trail\"}", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_NOT_FOUND);
}

static void
json_not_an_error(void **state)
{
	struct sg_aws_error e;

	/* Valid JSON, but no error code in it. */
	assert_int_equal(parse(400, "{\"message\":\"only a message\"}", &e),
	    -1);
	assert_string_equal(e.code, "");
	assert_int_equal(e.kind, SG_AWS_ERR_CLIENT);
	assert_non_null(strstr(e.message, "HTTP 400"));

	assert_int_equal(parse(500, "[1,2,3]", &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
	assert_int_equal(parse(400, "{\"__type\":5,\"message\":[]}", &e), -1);
	assert_string_equal(e.code, "");
	assert_int_equal(parse(400, "{\"__type\":\"\"}", &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_CLIENT);
}

/* ---- EC2 Query XML ---- */

static const char ec2_limit[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
    "<Message>Request limit exceeded.</Message></Error></Errors>"
    "<RequestID>5d4a4d4c-d1c6-4c4b-9c4b-8d0e5d3f6a7b</RequestID>"
    "</Response>";

static void
ec2_request_limit(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(503, ec2_limit, &e), 0);
	assert_string_equal(e.code, "RequestLimitExceeded");
	assert_string_equal(e.message, "Request limit exceeded.");
	assert_string_equal(e.request_id,
	    "5d4a4d4c-d1c6-4c4b-9c4b-8d0e5d3f6a7b");
	assert_int_equal(e.kind, SG_AWS_ERR_THROTTLED);
	assert_true(awserr_retryable(&e));
}

static void
ec2_codes(void **state)
{
	struct sg_aws_error e;

	parse(400, "<Response>\n  <Errors>\n    <Error>\n      <Code>"
	    "InvalidPermission.NotFound</Code>\n      <Message>The specified "
	    "rule does not exist in this security group.</Message>\n    "
	    "</Error>\n  </Errors>\n  <RequestID>abc</RequestID>\n"
	    "</Response>\n", &e);
	assert_string_equal(e.code, "InvalidPermission.NotFound");
	assert_string_equal(e.message,
	    "The specified rule does not exist in this security group.");
	assert_int_equal(e.kind, SG_AWS_ERR_NOT_FOUND);

	parse(400, "<Response><Errors><Error><Code>InvalidGroup.NotFound"
	    "</Code><Message>The security group 'sg-1a2b3c4d' does not exist"
	    "</Message></Error></Errors><RequestID>r</RequestID></Response>",
	    &e);
	assert_int_equal(e.kind, SG_AWS_ERR_NOT_FOUND);

	parse(403, "<Response><Errors><Error><Code>UnauthorizedOperation"
	    "</Code><Message>You are not authorized to perform this "
	    "operation.</Message></Error></Errors><RequestID>r</RequestID>"
	    "</Response>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_DENIED);
	assert_non_null(strstr(e.hint, "IAM policy"));

	parse(401, "<Response><Errors><Error><Code>AuthFailure</Code>"
	    "<Message>AWS was not able to validate the provided access "
	    "credentials</Message></Error></Errors><RequestID>r</RequestID>"
	    "</Response>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_AUTH);

	parse(400, "<Response><Errors><Error><Code>RequestExpired</Code>"
	    "<Message>Request has expired.</Message></Error></Errors>"
	    "<RequestID>r</RequestID></Response>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_CLOCK_SKEW);
	assert_false(awserr_retryable(&e));

	parse(400, "<Response><Errors><Error><Code>InvalidParameterValue"
	    "</Code><Message>Value () for parameter groupId is invalid."
	    "</Message></Error></Errors><RequestID>r</RequestID></Response>",
	    &e);
	assert_int_equal(e.kind, SG_AWS_ERR_CLIENT);

	parse(503, "<Response><Errors><Error><Code>Unavailable</Code>"
	    "<Message>The server is overloaded</Message></Error></Errors>"
	    "<RequestID>r</RequestID></Response>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
}

static void
ec2_first_error_wins(void **state)
{
	struct sg_aws_error e;

	parse(400, "<Response><Errors><Error><Code>First</Code><Message>one"
	    "</Message></Error><Error><Code>Second</Code><Message>two"
	    "</Message></Error></Errors><RequestID>r</RequestID></Response>",
	    &e);
	assert_string_equal(e.code, "First");
	assert_string_equal(e.message, "one");
}

/* ---- SNS and STS Query XML ---- */

static void
sns_errors(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(429, "<ErrorResponse xmlns=\"http://sns."
	    "amazonaws.com/doc/2010-03-31/\">\n  <Error>\n    <Type>Sender"
	    "</Type>\n    <Code>Throttled</Code>\n    <Message>Rate exceeded"
	    "</Message>\n  </Error>\n  <RequestId>9f7c1c5e-7a1b-5c3d-8e2f-"
	    "1a2b3c4d5e6f</RequestId>\n</ErrorResponse>\n", &e), 0);
	assert_string_equal(e.code, "Throttled");
	assert_string_equal(e.message, "Rate exceeded");
	assert_string_equal(e.request_id,
	    "9f7c1c5e-7a1b-5c3d-8e2f-1a2b3c4d5e6f");
	assert_int_equal(e.kind, SG_AWS_ERR_THROTTLED);

	parse(403, "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/"
	    "2010-03-31/\"><Error><Type>Sender</Type><Code>AuthorizationError"
	    "</Code><Message>User: arn:aws:iam::123456789012:user/x is not "
	    "authorized to perform: SNS:Publish on resource: arn:aws:sns:"
	    "us-east-1:123456789012:t</Message></Error><RequestId>r"
	    "</RequestId></ErrorResponse>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_DENIED);

	parse(404, "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound"
	    "</Code><Message>Topic does not exist</Message></Error><RequestId>"
	    "r</RequestId></ErrorResponse>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_NOT_FOUND);

	parse(500, "<ErrorResponse><Error><Type>Receiver</Type><Code>"
	    "InternalError</Code><Message>Internal error</Message></Error>"
	    "<RequestId>r</RequestId></ErrorResponse>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
}

static void
sts_errors(void **state)
{
	struct sg_aws_error e;

	parse(400, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
	    "2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>"
	    "ExpiredToken</Code>\n    <Message>The security token included "
	    "in the request is expired</Message>\n  </Error>\n  <RequestId>"
	    "4f1f8b2a-0000-4b1a-9c1d-000000000000</RequestId>\n"
	    "</ErrorResponse>\n", &e);
	assert_string_equal(e.code, "ExpiredToken");
	assert_int_equal(e.kind, SG_AWS_ERR_AUTH);
	assert_non_null(strstr(e.hint, "expired"));
	assert_string_equal(e.request_id,
	    "4f1f8b2a-0000-4b1a-9c1d-000000000000");

	parse(403, "<ErrorResponse><Error><Type>Sender</Type><Code>"
	    "SignatureDoesNotMatch</Code><Message>Signature expired: "
	    "20240101T000000Z is now earlier than 20240101T001000Z "
	    "(20240101T002500Z - 15 min.)</Message></Error><RequestId>r"
	    "</RequestId></ErrorResponse>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_CLOCK_SKEW);
	assert_non_null(strstr(e.hint, "timedatectl"));

	parse(403, "<ErrorResponse><Error><Type>Sender</Type><Code>"
	    "SignatureDoesNotMatch</Code><Message>The request signature we "
	    "calculated does not match the signature you provided. Check your "
	    "AWS Secret Access Key and signing method.</Message></Error>"
	    "<RequestId>r</RequestId></ErrorResponse>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_AUTH);

	/* AWS echoes the canonical request, session token included: only
	 * the first line is kept. */
	parse(403, "<ErrorResponse><Error><Type>Sender</Type><Code>"
	    "SignatureDoesNotMatch</Code><Message>The request signature we "
	    "calculated does not match the signature you provided.\n\nThe "
	    "Canonical String for this request should have been\n'POST\n/\n\n"
	    "host:sts.amazonaws.com\nx-amz-security-token:SECRETTOKEN\n'"
	    "</Message></Error><RequestId>r</RequestId></ErrorResponse>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_AUTH);
	assert_string_equal(e.message, "The request signature we calculated "
	    "does not match the signature you provided.");
	parse(400, "{\"__type\":\"InvalidSignatureException\",\"message\":"
	    "\"No match.\\n\\nThe Canonical String for this request should "
	    "have been\\n'x-amz-security-token:SECRETTOKEN'\"}", &e);
	assert_string_equal(e.message, "No match.");

	parse(403, "<ErrorResponse><Error><Type>Sender</Type><Code>"
	    "InvalidClientTokenId</Code><Message>The security token included "
	    "in the request is invalid.</Message></Error><RequestId>r"
	    "</RequestId></ErrorResponse>", &e);
	assert_int_equal(e.kind, SG_AWS_ERR_AUTH);
}

static void
xml_variants(void **state)
{
	struct sg_aws_error e;

	/* moto wraps Error in Errors inside ErrorResponse. */
	parse(403, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse>"
	    "<Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:"
	    "iam::123456789012:user/u is not authorized to perform: "
	    "ec2:DeleteSecurityGroup</Message><Type>Sender</Type></Error>"
	    "</Errors></ErrorResponse>", &e);
	assert_string_equal(e.code, "AccessDenied");
	assert_int_equal(e.kind, SG_AWS_ERR_DENIED);

	/* Namespace prefixes are dropped. */
	parse(400, "<a:ErrorResponse xmlns:a=\"urn:x\"><a:Error><a:Code>"
	    "Throttling</a:Code><a:Message>Rate exceeded</a:Message></a:Error>"
	    "<a:RequestId>q</a:RequestId></a:ErrorResponse>", &e);
	assert_string_equal(e.code, "Throttling");
	assert_string_equal(e.request_id, "q");
	assert_int_equal(e.kind, SG_AWS_ERR_THROTTLED);

	/* Entities are decoded by expat, CDATA kept. */
	parse(400, "<Response><Errors><Error><Code>X</Code><Message>a &lt; b "
	    "&amp; <![CDATA[c > d]]></Message></Error></Errors></Response>",
	    &e);
	assert_string_equal(e.message, "a < b & c > d");

	/* A request id from a header is kept. */
	memset(&e, 0, sizeof(e));
	sg_strlcpy(e.request_id, "from-header", sizeof(e.request_id));
	awserr_parse(503, ec2_limit, strlen(ec2_limit), &e);
	assert_string_equal(e.request_id, "from-header");
}

/* ---- garbage ---- */

static void
garbage_html(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(502, "<html>\r\n<head><title>502 Bad Gateway"
	    "</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
	    "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
	    &e), -1);
	assert_string_equal(e.code, "");
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
	assert_non_null(strstr(e.message, "HTTP 502"));
	assert_non_null(strstr(e.message, "<html> <head><title>502"));
	assert_null(strchr(e.message, '\n'));
	assert_true(awserr_retryable(&e));

	/* Not well-formed HTML. */
	assert_int_equal(parse(403, "<!DOCTYPE html><html><body><p>Forbidden"
	    "<br></body></html>", &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_DENIED);
	assert_string_equal(e.code, "");
}

static void
garbage_truncated(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(400, "{\"__type\":\"Thrott", &e), -1);
	assert_string_equal(e.code, "");
	assert_int_equal(e.kind, SG_AWS_ERR_CLIENT);

	/* Half an XML document: the code in it is not trusted. */
	assert_int_equal(parse(503, "<Response><Errors><Error><Code>"
	    "RequestLimitExceeded</Code><Message>Request limit", &e), -1);
	assert_string_equal(e.code, "");
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
	assert_string_equal(e.request_id, "");
}

static void
garbage_empty(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(500, "", &e), -1);
	assert_string_equal(e.message, "HTTP 500 with an empty body");
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
	assert_int_equal(parse(429, NULL, &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_THROTTLED);
	assert_int_equal(parse(400, " \r\n\t ", &e), -1);
	assert_string_equal(e.message, "HTTP 400 with an empty body");
	assert_int_equal(parse(418, "plain text", &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_CLIENT);
	/* A 2xx with a body is no error of this kind. */
	assert_int_equal(parse(200, "fine", &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_BAD_RESPONSE);
}

static void
garbage_binary(void **state)
{
	static const char bin[] = "\x00\x01\xff\xfe{<\x00\x80garbage\x1b[31m";
	struct sg_aws_error e;
	size_t i;

	memset(&e, 0, sizeof(e));
	assert_int_equal(awserr_parse(500, bin, sizeof(bin) - 1, &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
	for (i = 0; e.message[i] != '\0'; i++)
		assert_true((unsigned char)e.message[i] >= 0x20 &&
		    (unsigned char)e.message[i] != 0x7f);
}

static void
garbage_huge(void **state)
{
	struct sg_aws_error e;
	struct sg_buf b;
	size_t i;

	/* A 2 MiB message and a 1 KiB code: truncated, not overflowed. */
	buf_init(&b);
	buf_puts(&b, "{\"__type\":\"");
	for (i = 0; i < 1024; i++)
		buf_putc(&b, 'C');
	buf_puts(&b, "\",\"message\":\"");
	for (i = 0; i < 2 * 1024 * 1024; i++)
		buf_putc(&b, 'm');
	buf_puts(&b, "\"}");
	memset(&e, 0, sizeof(e));
	assert_int_equal(awserr_parse(400, b.data, b.len, &e), 0);
	assert_int_equal(strlen(e.code), sizeof(e.code) - 1);
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);

	/* 4 MiB of XML text in one element. */
	buf_reset(&b);
	buf_puts(&b, "<Response><Errors><Error><Code>Big</Code><Message>");
	for (i = 0; i < 4 * 1024 * 1024; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "</Message></Error></Errors></Response>");
	memset(&e, 0, sizeof(e));
	assert_int_equal(awserr_parse(400, b.data, b.len, &e), 0);
	assert_string_equal(e.code, "Big");
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);

	/* Deep nesting, both syntaxes. */
	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_puts(&b, "<a>");
	memset(&e, 0, sizeof(e));
	assert_int_equal(awserr_parse(500, b.data, b.len, &e), -1);
	assert_int_equal(e.kind, SG_AWS_ERR_SERVER);
	buf_reset(&b);
	buf_putc(&b, '{');
	for (i = 0; i < 100000; i++)
		buf_puts(&b, "[");
	memset(&e, 0, sizeof(e));
	assert_int_equal(awserr_parse(500, b.data, b.len, &e), -1);
	buf_free(&b);
}

static void
garbage_dtd_refused(void **state)
{
	struct sg_aws_error e;

	assert_int_equal(parse(400, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz "
	    "[<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n"
	    "<Response><Errors><Error><Code>&lol2;</Code></Error></Errors>"
	    "</Response>", &e), -1);
	assert_string_equal(e.code, "");
	assert_int_equal(e.kind, SG_AWS_ERR_CLIENT);
}

/* ---- classification ---- */

static void
classify_table(void **state)
{
	static const struct {
		long			 status;
		const char		*code;
		const char		*message;
		enum sg_aws_error_kind	 kind;
	} t[] = {
		{ 200, NULL, NULL, SG_AWS_OK },
		{ 204, "Anything", NULL, SG_AWS_OK },
		{ 400, "ThrottlingException", NULL, SG_AWS_ERR_THROTTLED },
		{ 400, "Throttling", NULL, SG_AWS_ERR_THROTTLED },
		{ 503, "RequestLimitExceeded", NULL, SG_AWS_ERR_THROTTLED },
		{ 429, "Throttled", NULL, SG_AWS_ERR_THROTTLED },
		{ 400, "TooManyRequestsException", NULL, SG_AWS_ERR_THROTTLED },
		{ 400, "RequestThrottled", NULL, SG_AWS_ERR_THROTTLED },
		{ 429, "SomethingNew", NULL, SG_AWS_ERR_THROTTLED },
		{ 429, NULL, NULL, SG_AWS_ERR_THROTTLED },
		{ 500, NULL, NULL, SG_AWS_ERR_SERVER },
		{ 502, "", NULL, SG_AWS_ERR_SERVER },
		{ 503, "ServiceUnavailable", NULL, SG_AWS_ERR_SERVER },
		{ 504, NULL, NULL, SG_AWS_ERR_SERVER },
		{ 400, "RequestTimeout", NULL, SG_AWS_ERR_SERVER },
		{ 400, "RequestExpired", NULL, SG_AWS_ERR_CLOCK_SKEW },
		{ 403, "RequestTimeTooSkewed", NULL, SG_AWS_ERR_CLOCK_SKEW },
		{ 403, "SignatureDoesNotMatch", "Signature expired: x is now "
		    "earlier than y", SG_AWS_ERR_CLOCK_SKEW },
		{ 403, "SignatureDoesNotMatch", "Signature not yet current: "
		    "x is still later than y", SG_AWS_ERR_CLOCK_SKEW },
		{ 400, "InvalidSignatureException", "Signature expired",
		    SG_AWS_ERR_CLOCK_SKEW },
		{ 403, "SignatureDoesNotMatch", "does not match",
		    SG_AWS_ERR_AUTH },
		{ 403, "SignatureDoesNotMatch", NULL, SG_AWS_ERR_AUTH },
		{ 401, "AuthFailure", NULL, SG_AWS_ERR_AUTH },
		{ 403, "InvalidClientTokenId", NULL, SG_AWS_ERR_AUTH },
		{ 400, "ExpiredTokenException", NULL, SG_AWS_ERR_AUTH },
		{ 403, "IncompleteSignature", NULL, SG_AWS_ERR_AUTH },
		{ 403, "MissingAuthenticationToken", NULL, SG_AWS_ERR_AUTH },
		{ 401, NULL, NULL, SG_AWS_ERR_AUTH },
		{ 403, "UnauthorizedOperation", NULL, SG_AWS_ERR_DENIED },
		{ 403, "AccessDenied", NULL, SG_AWS_ERR_DENIED },
		{ 400, "AccessDeniedException", NULL, SG_AWS_ERR_DENIED },
		{ 403, "AuthorizationError", NULL, SG_AWS_ERR_DENIED },
		{ 403, NULL, NULL, SG_AWS_ERR_DENIED },
		{ 400, "InvalidPermission.NotFound", NULL,
		    SG_AWS_ERR_NOT_FOUND },
		{ 400, "InvalidGroup.NotFound", NULL, SG_AWS_ERR_NOT_FOUND },
		{ 404, "NotFound", NULL, SG_AWS_ERR_NOT_FOUND },
		{ 400, "ResourceNotFoundException", NULL,
		    SG_AWS_ERR_NOT_FOUND },
		{ 404, NULL, NULL, SG_AWS_ERR_CLIENT },
		{ 400, "InvalidParameterValue", NULL, SG_AWS_ERR_CLIENT },
		{ 400, "InvalidPermission.Duplicate", NULL, SG_AWS_ERR_CLIENT },
		{ 302, NULL, NULL, SG_AWS_ERR_BAD_RESPONSE },
		{ 100, NULL, NULL, SG_AWS_ERR_BAD_RESPONSE },
		{ 0, NULL, NULL, SG_AWS_ERR_BAD_RESPONSE },
	};
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(t); i++) {
		enum sg_aws_error_kind k = awserr_classify(t[i].status,
		    t[i].code, t[i].message);

		if (k != t[i].kind)
			fail_msg("%zu: %ld %s: got %s, want %s", i,
			    t[i].status, t[i].code ? t[i].code : "(none)",
			    awserr_kind_name(k), awserr_kind_name(t[i].kind));
	}
}

static void
retryable_kinds(void **state)
{
	struct sg_aws_error e;

	memset(&e, 0, sizeof(e));
	e.kind = SG_AWS_ERR_TRANSPORT;
	e.transport = SG_HTTP_ERR_CONNECT;
	assert_true(awserr_retryable(&e));
	e.transport = SG_HTTP_ERR_TIMEOUT;
	assert_true(awserr_retryable(&e));
	e.transport = SG_HTTP_ERR_PARTIAL;
	assert_true(awserr_retryable(&e));
	e.transport = SG_HTTP_ERR_TLS;
	assert_false(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_TOO_LARGE;
	e.transport = SG_HTTP_ERR_TOO_LARGE;
	assert_false(awserr_retryable(&e));
	e.transport = SG_HTTP_OK;
	e.kind = SG_AWS_ERR_THROTTLED;
	assert_true(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_SERVER;
	assert_true(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_CLIENT;
	assert_false(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_AUTH;
	assert_false(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_DENIED;
	assert_false(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_CLOCK_SKEW;
	assert_false(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_NOT_FOUND;
	assert_false(awserr_retryable(&e));
	e.kind = SG_AWS_ERR_CREDENTIALS;
	assert_false(awserr_retryable(&e));
}

static void
from_http(void **state)
{
	struct sg_http_response r;
	struct sg_aws_error e;

	memset(&r, 0, sizeof(r));
	buf_init(&r.body);
	r.result = SG_HTTP_ERR_TIMEOUT;
	sg_strlcpy(r.error, "Operation timed out after 2001 milliseconds",
	    sizeof(r.error));
	awserr_from_http(&r, &e);
	assert_int_equal(e.kind, SG_AWS_ERR_TRANSPORT);
	assert_int_equal(e.transport, SG_HTTP_ERR_TIMEOUT);
	assert_non_null(strstr(e.message, "timed out"));
	assert_true(awserr_retryable(&e));

	r.result = SG_HTTP_ERR_TOO_LARGE;
	awserr_from_http(&r, &e);
	assert_int_equal(e.kind, SG_AWS_ERR_TOO_LARGE);
	assert_false(awserr_retryable(&e));

	r.result = SG_HTTP_OK;
	r.status = 200;
	awserr_from_http(&r, &e);
	assert_int_equal(e.kind, SG_AWS_OK);

	r.status = 302;
	awserr_from_http(&r, &e);
	assert_int_equal(e.kind, SG_AWS_ERR_BAD_RESPONSE);
	assert_non_null(strstr(e.message, "redirect"));
	assert_false(awserr_retryable(&e));

	r.status = 503;
	sg_strlcpy(r.request_id, "hdr-id", sizeof(r.request_id));
	buf_puts(&r.body, ec2_limit);
	awserr_from_http(&r, &e);
	assert_int_equal(e.kind, SG_AWS_ERR_THROTTLED);
	assert_string_equal(e.request_id, "hdr-id");
	assert_int_equal(e.http_status, 503);
	buf_free(&r.body);
}

static void
format_line(void **state)
{
	struct sg_aws_error e;
	char line[1024];

	memset(&e, 0, sizeof(e));
	e.kind = SG_AWS_ERR_CLIENT;
	e.http_status = 400;
	sg_strlcpy(e.code, "Bad\nCode", sizeof(e.code));
	sg_strlcpy(e.message, "line one\nline two\x1b[0m", sizeof(e.message));
	awserr_format(&e, line, sizeof(line));
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\x1b'));
	assert_string_equal(line, "kind=client http=400 code=Bad\\nCode "
	    "message=line one\\nline two\\x1b[0m");
	e.code[0] = '\0';
	awserr_format(&e, line, sizeof(line));
	assert_non_null(strstr(line, "code=- "));
}

/* ---- backoff ---- */

static void
backoff_bounds(void **state)
{
	int a;

	/* r = 0 is no wait; r = max is the ceiling itself. */
	for (a = 0; a < 8; a++)
		assert_int_equal(aws_backoff_ms(a, 100, 20000, 0), 0);
	assert_int_equal(aws_backoff_ms(0, 100, 20000, UINT32_MAX), 100);
	assert_int_equal(aws_backoff_ms(1, 100, 20000, UINT32_MAX), 200);
	assert_int_equal(aws_backoff_ms(2, 100, 20000, UINT32_MAX), 400);
	assert_int_equal(aws_backoff_ms(7, 100, 20000, UINT32_MAX), 12800);
	assert_int_equal(aws_backoff_ms(8, 100, 20000, UINT32_MAX), 20000);
	assert_int_equal(aws_backoff_ms(62, 100, 20000, UINT32_MAX), 20000);
	assert_int_equal(aws_backoff_ms(1000, 100, 20000, UINT32_MAX), 20000);
	assert_int_equal(aws_backoff_ms(-3, 100, 20000, UINT32_MAX), 100);
	/* Half of the range for half of r. */
	assert_int_equal(aws_backoff_ms(3, 100, 20000, 0x80000000u), 400);
	/* Degenerate settings: no wait rather than nonsense. */
	assert_int_equal(aws_backoff_ms(3, 0, 20000, UINT32_MAX), 0);
	assert_int_equal(aws_backoff_ms(3, 100, 0, UINT32_MAX), 0);
	/* A base over the cap is the cap. */
	assert_int_equal(aws_backoff_ms(0, 50000, 20000, UINT32_MAX), 20000);
	/* No overflow with absurd values. */
	assert_true(aws_backoff_ms(40, LONG_MAX / 2, LONG_MAX, UINT32_MAX) >
	    LONG_MAX / 2);
}

static void
backoff_spread(void **state)
{
	uint32_t x = 12345;
	long d, min = LONG_MAX, max = 0, sum = 0;
	int i, n = 20000;

	/* Full jitter: uniform over [0, ceiling], mean about half. */
	for (i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		d = aws_backoff_ms(4, 100, 20000, x);
		assert_true(d >= 0 && d <= 1600);
		min = d < min ? d : min;
		max = d > max ? d : max;
		sum += d;
	}
	assert_true(min < 20);
	assert_true(max > 1580);
	assert_true(sum / n > 740 && sum / n < 860);
}

/* ---- pure helpers of aws.c ---- */

static void
form_encoding(void **state)
{
	struct sg_buf b;
	struct sg_kv p[] = {
		{ "GroupId", "sg-0123456789abcdef0" },
		{ "IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0" },
		{ "Message", "a b/c~d_e.f-g*+\xc3\xa9=&%" },
		{ "Empty", "" },
	};

	buf_init(&b);
	assert_int_equal(aws_form_encode("a b/c~d_e.f-g*+\xc3\xa9=&%", &b), 0);
	/* urllib.parse.urlencode(), as botocore sends it. */
	assert_string_equal(b.data, "a+b%2Fc~d_e.f-g%2A%2B%C3%A9%3D%26%25");
	buf_reset(&b);
	assert_int_equal(aws_query_body("RevokeSecurityGroupIngress",
	    "2016-11-15", p, SG_ARRAY_LEN(p), &b), 0);
	assert_string_equal(b.data, "Action=RevokeSecurityGroupIngress&"
	    "Version=2016-11-15&GroupId=sg-0123456789abcdef0&"
	    "IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0&"
	    "Message=a+b%2Fc~d_e.f-g%2A%2B%C3%A9%3D%26%25&Empty=");
	buf_reset(&b);
	assert_int_equal(aws_query_body("GetCallerIdentity", "2011-06-15",
	    NULL, 0, &b), 0);
	assert_string_equal(b.data,
	    "Action=GetCallerIdentity&Version=2011-06-15");
	buf_free(&b);
}

static void
endpoints(void **state)
{
	char url[256];
	enum sg_aws_service s;

	assert_int_equal(aws_default_endpoint(SG_AWS_EC2, "us-east-1", url,
	    sizeof(url)), 0);
	assert_string_equal(url, "https://ec2.us-east-1.amazonaws.com/");
	assert_int_equal(aws_default_endpoint(SG_AWS_CLOUDTRAIL, "eu-west-1",
	    url, sizeof(url)), 0);
	assert_string_equal(url, "https://cloudtrail.eu-west-1.amazonaws.com/");
	assert_int_equal(aws_default_endpoint(SG_AWS_SNS, "ap-southeast-2",
	    url, sizeof(url)), 0);
	assert_string_equal(url, "https://sns.ap-southeast-2.amazonaws.com/");
	assert_int_equal(aws_default_endpoint(SG_AWS_STS, "us-gov-west-1",
	    url, sizeof(url)), 0);
	assert_string_equal(url, "https://sts.us-gov-west-1.amazonaws.com/");
	assert_int_equal(aws_default_endpoint(SG_AWS_EC2, "cn-north-1", url,
	    sizeof(url)), 0);
	assert_string_equal(url, "https://ec2.cn-north-1.amazonaws.com.cn/");
	/* A region can never steer the host name elsewhere. */
	assert_int_equal(aws_default_endpoint(SG_AWS_EC2, "evil.com/x", url,
	    sizeof(url)), -1);
	assert_int_equal(aws_default_endpoint(SG_AWS_EC2, "us-east-1.evil",
	    url, sizeof(url)), -1);
	assert_int_equal(aws_default_endpoint(SG_AWS_EC2, "", url,
	    sizeof(url)), -1);
	assert_int_equal(aws_default_endpoint(SG_AWS_EC2, "US-EAST-1", url,
	    sizeof(url)), -1);
	assert_int_equal(aws_default_endpoint(SG_AWS_EC2, "us-east-1", url,
	    10), -1);
	assert_int_equal(aws_default_endpoint(SG_AWS_NSERVICES, "us-east-1",
	    url, sizeof(url)), -1);

	assert_int_equal(aws_service_parse("ec2", &s), 0);
	assert_int_equal(s, SG_AWS_EC2);
	assert_int_equal(aws_service_parse("CloudTrail", &s), 0);
	assert_int_equal(s, SG_AWS_CLOUDTRAIL);
	assert_int_equal(aws_service_parse("s3", &s), -1);
	assert_string_equal(aws_service_name(SG_AWS_STS), "sts");
}

/* ---- the XML helper ---- */

struct collect {
	struct sg_buf	 out;
	int		 starts;
	int		 stop_at;
};

static int
collect_start(void *arg, const char *path, const char *name, int depth)
{
	struct collect *c = arg;

	c->starts++;
	return 0;
}

static int
collect_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct collect *c = arg;

	if (xml_path_match(path, "item/groupId")) {
		buf_append(&c->out, text, len);
		buf_putc(&c->out, ';');
		if (c->stop_at > 0 && --c->stop_at == 0)
			return 1;
	}
	if (strcmp(name, "fail") == 0)
		return -1;
	return 0;
}

static void
xml_helper(void **state)
{
	static const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<DescribeSecurityGroupRulesResponse xmlns=\"http://ec2.amazonaws."
	    "com/doc/2016-11-15/\">\n  <requestId>r-1</requestId>\n"
	    "  <securityGroupRuleSet>\n    <item><groupId>sg-1</groupId>"
	    "<fromPort>22</fromPort></item>\n    <item><groupId>sg-2</groupId>"
	    "</item>\n  </securityGroupRuleSet>\n"
	    "</DescribeSecurityGroupRulesResponse>\n";
	struct collect c = { .stop_at = 0 };
	struct sg_xml_handler h = { collect_start, collect_end, &c };
	char err[128], out[64];

	buf_init(&c.out);
	assert_int_equal(xml_parse(doc, strlen(doc), &h, err, sizeof(err)), 0);
	assert_string_equal(c.out.data, "sg-1;sg-2;");
	assert_int_equal(c.starts, 8);

	/* Stopping early is success. */
	buf_reset(&c.out);
	c.stop_at = 1;
	assert_int_equal(xml_parse(doc, strlen(doc), &h, err, sizeof(err)), 0);
	assert_string_equal(c.out.data, "sg-1;");

	/* A handler error is an error. */
	assert_int_equal(xml_parse("<a><fail/></a>", 14, &h, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "handler"));
	buf_free(&c.out);

	assert_int_equal(xml_find_text(doc, strlen(doc),
	    "/DescribeSecurityGroupRulesResponse/requestId", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "r-1");
	assert_int_equal(xml_find_text(doc, strlen(doc), "fromPort", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "22");
	assert_int_equal(xml_find_text(doc, strlen(doc), "toPort", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Truncated to fit. */
	assert_int_equal(xml_find_text(doc, strlen(doc), "item/groupId", out,
	    3), 1);
	assert_string_equal(out, "sg");
	assert_int_equal(xml_find_text("<a><b>x</a>", 11, "b", out,
	    sizeof(out)), -1);
	assert_int_equal(xml_find_text("", 0, "b", out, sizeof(out)), -1);

	assert_int_equal(xml_parse("<a>\n<b>\n</a>", 12, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "line 3"));
	assert_int_equal(xml_parse("<!DOCTYPE a><a/>", 16, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "DTD"));
}

static void
xml_paths(void **state)
{
	assert_true(xml_path_match("/A/B/Code", "Code"));
	assert_true(xml_path_match("/A/B/Code", "B/Code"));
	assert_true(xml_path_match("/A/B/Code", "/A/B/Code"));
	assert_false(xml_path_match("/A/B/Code", "/B/Code"));
	assert_false(xml_path_match("/A/B/XCode", "Code"));
	assert_false(xml_path_match("/A/B/Code", "A/B/Code/X"));
	assert_true(xml_path_match("/Code", "Code"));
	assert_false(xml_path_match("/A/BB/Code", "B/Code"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_throttling),
		cmocka_unit_test(json_plain_type_capital_message),
		cmocka_unit_test(json_code_with_colon),
		cmocka_unit_test(json_auth_denied_skew),
		cmocka_unit_test(json_not_an_error),
		cmocka_unit_test(ec2_request_limit),
		cmocka_unit_test(ec2_codes),
		cmocka_unit_test(ec2_first_error_wins),
		cmocka_unit_test(sns_errors),
		cmocka_unit_test(sts_errors),
		cmocka_unit_test(xml_variants),
		cmocka_unit_test(garbage_html),
		cmocka_unit_test(garbage_truncated),
		cmocka_unit_test(garbage_empty),
		cmocka_unit_test(garbage_binary),
		cmocka_unit_test(garbage_huge),
		cmocka_unit_test(garbage_dtd_refused),
		cmocka_unit_test(classify_table),
		cmocka_unit_test(retryable_kinds),
		cmocka_unit_test(from_http),
		cmocka_unit_test(format_line),
		cmocka_unit_test(backoff_bounds),
		cmocka_unit_test(backoff_spread),
		cmocka_unit_test(form_encoding),
		cmocka_unit_test(secret_across_the_cut),
		cmocka_unit_test(endpoints),
		cmocka_unit_test(xml_helper),
		cmocka_unit_test(xml_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
