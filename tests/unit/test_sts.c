/* test_sts.c: the AssumeRole parser, refresh timing, checks and messages
 * of sts.c, and the provider's offline paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "awserr.h"
#include "creds.h"
#include "http.h"
#include "log.h"
#include "sts.h"
#include "util.h"

#define ROLE	"arn:aws:iam::222233334444:role/sgguard"

/* A response as STS sends it (shape from the AWS STS API reference). */
static const char ok_doc[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "  <SourceIdentity>DevUser123</SourceIdentity>\n"
    "  <AssumedRoleUser>\n"
    "    <Arn>arn:aws:sts::222233334444:assumed-role/sgguard/sgguard-host1</Arn>\n"
    "    <AssumedRoleId>ARO123EXAMPLE123:sgguard-host1</AssumedRoleId>\n"
    "  </AssumedRoleUser>\n"
    "  <Credentials>\n"
    "    <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "    <SessionToken>\n"
    "     AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW\n"
    "    </SessionToken>\n"
    "    <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
    "  </Credentials>\n"
    "  <PackedPolicySize>6</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static struct sg_buf logged;

static void
sink(int level, const struct sg_log_fields *f, const char *msg, void *arg)
{
	buf_puts(&logged, msg);
	buf_putc(&logged, '\n');
}

static int
setup(void **state)
{
	buf_init(&logged);
	buf_puts(&logged, "");
	log_set_sink(sink, NULL);
	log_set_level(LOG_DEBUG);
	return 0;
}

static int
teardown(void **state)
{
	log_set_sink(NULL, NULL);
	log_secret_clear();
	buf_free(&logged);
	return 0;
}

static int
parse(const char *doc, struct sg_creds *c, char *err, size_t errlen)
{
	err[0] = '\0';
	return sts_parse_assume_role(doc, strlen(doc), c, err, errlen);
}

/* ok_doc with one substring replaced. */
static char *
edit(const char *from, const char *to)
{
	const char *at = strstr(ok_doc, from);
	struct sg_buf b;

	assert_non_null(at);
	buf_init(&b);
	buf_append(&b, ok_doc, (size_t)(at - ok_doc));
	buf_puts(&b, to);
	buf_puts(&b, at + strlen(from));
	return buf_steal(&b);
}

static void
expect_fail(const char *doc, const char *want)
{
	struct sg_creds c;
	char err[256];

	memset(&c, 0x55, sizeof(c));
	assert_int_equal(parse(doc, &c, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	/* Nothing half-filled is left behind. */
	assert_string_equal(c.access_key_id, "");
	assert_string_equal(c.secret_access_key, "");
	assert_string_equal(c.session_token, "");
}

static void
expect_edit_fail(const char *from, const char *to, const char *want)
{
	char *doc = edit(from, to);

	expect_fail(doc, want);
	free(doc);
}

/* ---- the parser ---- */

static void
test_parse_ok(void **state)
{
	struct sg_creds c;
	char err[256];

	assert_int_equal(parse(ok_doc, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(c.secret_access_key,
	    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	/* Surrounding white space is not part of a value. */
	assert_string_equal(c.session_token, "AQoDYXdzEPT//////////"
	    "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW");
	assert_int_equal(c.expiration, 1573306481);	/* 2019-11-09T13:34:41Z */
	assert_string_equal(c.source, "");
	/* The parser is pure: nothing logged. */
	assert_string_equal(logged.data, "");
}

static void
test_parse_expiration_forms(void **state)
{
	struct sg_creds c;
	char err[256], *doc;

	/* What moto sends: milliseconds. */
	doc = edit("2019-11-09T13:34:41Z", "2019-11-09T13:34:41.123Z");
	assert_int_equal(parse(doc, &c, err, sizeof(err)), 0);
	assert_int_equal(c.expiration, 1573306481);
	free(doc);
	doc = edit("2019-11-09T13:34:41Z", "2019-11-09T15:34:41+02:00");
	assert_int_equal(parse(doc, &c, err, sizeof(err)), 0);
	assert_int_equal(c.expiration, 1573306481);
	free(doc);
	/* No prefix games: a namespace prefix is dropped by xml.c. */
	doc = edit("<Expiration>2019-11-09T13:34:41Z</Expiration>",
	    "<s:Expiration xmlns:s=\"urn:x\">2019-11-09T13:34:41Z"
	    "</s:Expiration>");
	assert_int_equal(parse(doc, &c, err, sizeof(err)), 0);
	free(doc);
}

static void
test_parse_long_token(void **state)
{
	struct sg_creds c;
	char err[256], *tok, *doc;

	tok = malloc(4097);
	assert_non_null(tok);
	memset(tok, 'T', 4096);
	tok[4096] = '\0';
	doc = edit("     AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4"
	    "HIZ8j4FZTwdQW\n", tok);
	expect_fail(doc, "SessionToken is too long (4096 bytes, at most "
	    "4095)");
	free(doc);
	tok[4095] = '\0';
	doc = edit("     AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4"
	    "HIZ8j4FZTwdQW\n", tok);
	assert_int_equal(parse(doc, &c, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.session_token), 4095);
	free(doc);
	free(tok);
}

static void
test_parse_error_bodies(void **state)
{
	expect_fail("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
	    "2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code>"
	    "<Message>User: arn:aws:iam::123456789012:user/sgguard is not "
	    "authorized to perform: sts:AssumeRole on resource: " ROLE
	    "</Message></Error><RequestId>4b1c3a</RequestId></ErrorResponse>",
	    "STS error AccessDenied: User: arn:aws:iam::123456789012:user/"
	    "sgguard is not authorized to perform: sts:AssumeRole");
	expect_fail("<ErrorResponse><Error><Code>InvalidClientTokenId</Code>"
	    "<Message>The security token included in the request is "
	    "invalid.</Message></Error></ErrorResponse>",
	    "STS error InvalidClientTokenId: The security token");
	expect_fail("<ErrorResponse><Error/></ErrorResponse>",
	    "STS error unknown");
	/* EC2's error shape is not an AssumeRole answer. */
	expect_fail("<Response><Errors><Error><Code>AuthFailure</Code>"
	    "</Error></Errors></Response>", "the root element is <Response>");
}

static void
test_parse_garbage(void **state)
{
	struct sg_creds c;
	char err[256];

	expect_fail("", "empty answer");
	assert_int_equal(sts_parse_assume_role(NULL, 0, &c, err,
	    sizeof(err)), -1);
	expect_fail("{\"Credentials\":{}}", "not XML");
	expect_fail("<html><body>Bad gateway</body></html>",
	    "the root element is <html>");
	expect_fail("<AssumeRoleResponse><AssumeRoleResult>",
	    "not XML");
	expect_fail("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>"
	    "<AssumeRoleResponse/>", "DTD");
	/* Truncated in the middle of the secret. */
	expect_fail("<AssumeRoleResponse><AssumeRoleResult><Credentials>"
	    "<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccess",
	    "not XML");
	/* Binary junk. */
	expect_fail("\x01\x02\xff\xfe", "not XML");
}

static void
test_parse_missing_fields(void **state)
{
	expect_edit_fail("<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>",
	    "", "no AccessKeyId in AssumeRoleResult/Credentials");
	expect_edit_fail("<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYz"
	    "EXAMPLEKEY</SecretAccessKey>", "", "no SecretAccessKey");
	expect_edit_fail("<Expiration>2019-11-09T13:34:41Z</Expiration>", "",
	    "no Expiration");
	expect_edit_fail("<SessionToken>", "<Other>", "not XML");
	expect_fail("<AssumeRoleResponse><AssumeRoleResult><Credentials>"
	    "<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
	    "<SecretAccessKey>s3cr3tvalue</SecretAccessKey>"
	    "<Expiration>2019-11-09T13:34:41Z</Expiration>"
	    "</Credentials></AssumeRoleResult></AssumeRoleResponse>",
	    "no SessionToken");
	/* Credentials at the wrong place do not count. */
	expect_fail("<AssumeRoleResponse><Credentials>"
	    "<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
	    "<SecretAccessKey>s3cr3tvalue</SecretAccessKey>"
	    "<SessionToken>tok</SessionToken>"
	    "<Expiration>2019-11-09T13:34:41Z</Expiration>"
	    "</Credentials></AssumeRoleResponse>", "no AccessKeyId");
	expect_fail("<AssumeRoleResponse/>", "no AccessKeyId");
}

static void
test_parse_bad_values(void **state)
{
	expect_edit_fail("ASIAIOSFODNN7EXAMPLE</AccessKeyId>",
	    "</AccessKeyId>", "AccessKeyId is empty");
	expect_edit_fail("ASIAIOSFODNN7EXAMPLE", "ASIA OSFODNN7",
	    "AccessKeyId has a character that is not allowed at offset 4");
	expect_edit_fail("ASIAIOSFODNN7EXAMPLE", "ASIA&#10;X",
	    "AccessKeyId has a character");
	expect_edit_fail("ASIAIOSFODNN7EXAMPLE", "ASIA/X",
	    "AccessKeyId has a character");
	expect_edit_fail("wJalrXUtnFEMI/K7MDENG", "wJal\xc3\xa9X",
	    "SecretAccessKey has a character that is not allowed");
	expect_edit_fail("PT//////////w", "PT/ /w",
	    "SessionToken has a character");
	expect_edit_fail("2019-11-09T13:34:41Z", "2019-11-09 13:34:41",
	    "Expiration \"2019-11-09 13:34:41\" is not an ISO 8601 time");
	expect_edit_fail("2019-11-09T13:34:41Z", "tomorrow",
	    "is not an ISO 8601 time");
	/* Local time says nothing about when keys expire. */
	expect_edit_fail("2019-11-09T13:34:41Z", "2019-11-09T13:34:41",
	    "is not an ISO 8601 time");
	expect_edit_fail("<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>",
	    "<AccessKeyId>ASIAA</AccessKeyId><AccessKeyId>ASIAB"
	    "</AccessKeyId>", "AccessKeyId given twice");
	expect_edit_fail("ASIAIOSFODNN7EXAMPLE</AccessKeyId>",
	    "ASIA<b>X</b>Y</AccessKeyId>", "AccessKeyId has child elements");
}

/* ---- timing ---- */

static void
test_refresh_time(void **state)
{
	const time_t f = 1700000000;

	/* An hour or more: 15 minutes before expiry. */
	assert_int_equal(sts_refresh_time(f, f + 3600), f + 2700);
	assert_int_equal(sts_refresh_time(f, f + 43200), f + 43200 - 900);
	assert_int_equal(sts_refresh_time(f, f + 7200), f + 6300);
	/* Shorter: a quarter of the lifetime left. */
	assert_int_equal(sts_refresh_time(f, f + 900), f + 675);
	assert_int_equal(sts_refresh_time(f, f + 1800), f + 1350);
	assert_int_equal(sts_refresh_time(f, f + 3599), f + 3599 - 899);
	assert_int_equal(sts_refresh_time(f, f + 100), f);
	/* Expired or odd: at once. */
	assert_int_equal(sts_refresh_time(f, f), f);
	assert_int_equal(sts_refresh_time(f, f - 10), f);

	assert_false(sts_needs_refresh(f, f + 900, f));
	assert_false(sts_needs_refresh(f, f + 900, f + 674));
	assert_true(sts_needs_refresh(f, f + 900, f + 675));
	assert_true(sts_needs_refresh(f, f + 900, f + 2000));
	assert_false(sts_needs_refresh(f, f + 3600, f + 2699));
	assert_true(sts_needs_refresh(f, f + 3600, f + 2700));
	/* A clock that went back does not force a refresh. */
	assert_false(sts_needs_refresh(f, f + 3600, f - 500));
}

/* ---- checks ---- */

static void
test_session_name(void **state)
{
	char out[STS_SESSION_NAME_MAX + 1], err[128];
	char host[200];

	sts_session_name("web-1.example.com", out, sizeof(out));
	assert_string_equal(out, "sgguard-web-1.example.com");
	assert_int_equal(sts_check_session_name(out, err, sizeof(err)), 0);
	sts_session_name("", out, sizeof(out));
	assert_string_equal(out, "sgguard");
	sts_session_name(NULL, out, sizeof(out));
	assert_string_equal(out, "sgguard");
	sts_session_name("h\xc3\xa9st name/x:y", out, sizeof(out));
	assert_string_equal(out, "sgguard-h--st-name-x-y");
	assert_int_equal(sts_check_session_name(out, err, sizeof(err)), 0);
	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	sts_session_name(host, out, sizeof(out));
	assert_int_equal(strlen(out), 64);
	assert_memory_equal(out, "sgguard-aaa", 11);
	assert_int_equal(sts_check_session_name(out, err, sizeof(err)), 0);

	assert_int_equal(sts_check_session_name("a", err, sizeof(err)), -1);
	assert_int_equal(sts_check_session_name("a b", err, sizeof(err)), -1);
	assert_int_equal(sts_check_session_name(host, err, sizeof(err)), -1);
	assert_int_equal(sts_check_session_name("a_b+c=d,e.f@g-h", err,
	    sizeof(err)), 0);
}

static void
test_role_arn(void **state)
{
	static const char *const good[] = {
		ROLE,
		"arn:aws:iam::123456789012:role/service-role/Sg_Guard+=,.@-",
		"arn:aws-cn:iam::123456789012:role/a",
		"arn:aws-us-gov:iam::123456789012:role/p/q/r/name",
	};
	static const char *const bad[] = {
		"", "sgguard", "arn:aws:iam::22223333444:role/x",
		"arn:aws:iam::2222333344445:role/x",
		"arn:aws:iam:us-east-1:222233334444:role/x",
		"arn:aws:iam::222233334444:user/x",
		"arn:aws:sts::222233334444:assumed-role/x/y",
		"arn:aws:iam::222233334444:role/",
		"arn:aws:iam::222233334444:role/a b",
		"arn:aws:iam::222233334444:role/p q/name",
		"arn:AWS:iam::222233334444:role/x",
		"arn::iam::222233334444:role/x",
		"arn:aws:iam::222233334444:role/"
		    "a123456789a123456789a123456789a123456789a123456789a123456789"
		    "abcde",
	};
	char acct[13], err[256];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(good); i++)
		if (sts_check_role_arn(good[i], acct, err, sizeof(err)) != 0)
			fail_msg("%s refused: %s", good[i], err);
	assert_int_equal(sts_check_role_arn(ROLE, acct, err, sizeof(err)), 0);
	assert_string_equal(acct, "222233334444");
	for (i = 0; i < SG_ARRAY_LEN(bad); i++)
		if (sts_check_role_arn(bad[i], NULL, err, sizeof(err)) != -1)
			fail_msg("%s accepted", bad[i]);
	assert_int_equal(sts_check_role_arn(NULL, NULL, err, sizeof(err)), -1);
	assert_int_equal(sts_check_role_arn("arn:aws:iam::1:role/x", NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "is not an IAM role ARN (arn:aws:iam::"
	    "ACCOUNT:role/NAME)"));
}

static void
test_external_id(void **state)
{
	char err[256], big[1300];

	assert_int_equal(sts_check_external_id("sgguard-ext-1234", err,
	    sizeof(err)), 0);
	assert_int_equal(sts_check_external_id("a:b/c=d,e.f@g+h_i-j", err,
	    sizeof(err)), 0);
	assert_int_equal(sts_check_external_id("x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 to 1224 characters"));
	assert_int_equal(sts_check_external_id("has space", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "offset 3"));
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sts_check_external_id(big, err, sizeof(err)), -1);
	big[1224] = '\0';
	assert_int_equal(sts_check_external_id(big, err, sizeof(err)), 0);
}

/* ---- error messages ---- */

static void
msg_for(long status, const char *body, bool extid, char *out, size_t len)
{
	struct sg_aws_error e;

	memset(&e, 0, sizeof(e));
	awserr_parse(status, body, strlen(body), &e);
	sts_error_message(&e, ROLE, extid, "us-east-1", out, len);
}

static void
test_error_messages(void **state)
{
	struct sg_aws_error e;
	char m[1024];

	msg_for(403, "<ErrorResponse><Error><Type>Sender</Type><Code>"
	    "AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/"
	    "sgguard is not authorized to perform: sts:AssumeRole on "
	    "resource: " ROLE "</Message></Error></ErrorResponse>", false, m,
	    sizeof(m));
	assert_non_null(strstr(m, "sgguard's base identity may not assume "
	    ROLE ": check the role's trust policy and sts:AssumeRole in "
	    "sgguard's policy; if the trust policy requires an "
	    "sts:ExternalId, set external_id (AccessDenied: User: "));
	msg_for(403, "<ErrorResponse><Error><Code>AccessDenied</Code>"
	    "<Message>no</Message></Error></ErrorResponse>", true, m,
	    sizeof(m));
	assert_non_null(strstr(m, "sgguard's policy, and that external_id "
	    "matches the trust policy's sts:ExternalId condition"));

	msg_for(403, "<ErrorResponse><Error><Code>InvalidClientTokenId</Code>"
	    "<Message>The security token included in the request is invalid."
	    "</Message></Error></ErrorResponse>", false, m, sizeof(m));
	assert_non_null(strstr(m, "cannot assume " ROLE ": STS does not "
	    "accept sgguard's base access key: check that the base "
	    "credentials are current and active"));
	assert_non_null(strstr(m, "(InvalidClientTokenId: The security "
	    "token"));

	msg_for(403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code>"
	    "<Message>The request signature we calculated does not match"
	    "</Message></Error></ErrorResponse>", false, m, sizeof(m));
	assert_non_null(strstr(m, "check the secret access key"));

	msg_for(403, "<ErrorResponse><Error><Code>ExpiredToken</Code>"
	    "<Message>The security token included in the request is expired"
	    "</Message></Error></ErrorResponse>", false, m, sizeof(m));
	assert_non_null(strstr(m, "sgguard's base credentials have expired"));

	msg_for(403, "<ErrorResponse><Error><Code>RegionDisabledException"
	    "</Code><Message>STS is not activated in this region</Message>"
	    "</Error></ErrorResponse>", false, m, sizeof(m));
	assert_non_null(strstr(m, "STS is not activated in region us-east-1"));

	msg_for(400, "<ErrorResponse><Error><Code>ValidationError</Code>"
	    "<Message>The requested DurationSeconds exceeds the "
	    "MaxSessionDuration set for this role.</Message></Error>"
	    "</ErrorResponse>", false, m, sizeof(m));
	assert_non_null(strstr(m, "within the role's maximum session "
	    "duration (ValidationError: The requested DurationSeconds"));

	msg_for(500, "<html>oops</html>", false, m, sizeof(m));
	assert_non_null(strstr(m, "cannot assume " ROLE ": STS failed, will "
	    "try again (kind=server http=500"));

	memset(&e, 0, sizeof(e));
	e.kind = SG_AWS_ERR_CREDENTIALS;
	sg_strlcpy(e.message, "no AWS credentials: environment: not set",
	    sizeof(e.message));
	sts_error_message(&e, ROLE, false, "us-east-1", m, sizeof(m));
	assert_string_equal(m, "cannot assume " ROLE ": no base credentials "
	    "to call STS with: no AWS credentials: environment: not set");

	memset(&e, 0, sizeof(e));
	e.kind = SG_AWS_ERR_TRANSPORT;
	e.transport = SG_HTTP_ERR_CONNECT;
	sg_strlcpy(e.message, "connection refused", sizeof(e.message));
	sts_error_message(&e, ROLE, false, "eu-west-1", m, sizeof(m));
	assert_non_null(strstr(m, "no usable answer from STS in region "
	    "eu-west-1"));

	/* The AWS message is made safe for one log line. */
	msg_for(403, "<ErrorResponse><Error><Code>AccessDenied</Code>"
	    "<Message>line1\nline2</Message></Error></ErrorResponse>", false,
	    m, sizeof(m));
	assert_null(strchr(m, '\n'));
}

/* ---- the provider, offline ---- */

static int
no_creds(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	int *n = arg;

	(*n)++;
	snprintf(err, errlen, "no AWS credentials: environment: not set");
	return -1;
}

struct clients {
	struct sg_http	*http;
	struct sg_aws	*aws;
	int		 ncreds;
};

static void
clients_new(struct clients *c)
{
	struct sg_http_opts ho = { 0 };
	struct sg_aws_opts ao = { 0 };

	memset(c, 0, sizeof(*c));
	assert_non_null(c->http = http_new(&ho));
	ao.http = c->http;
	ao.creds = no_creds;
	ao.creds_arg = &c->ncreds;
	/* Never reached: the base credentials fail first. */
	ao.endpoint_url = "http://127.0.0.1:9";
	ao.max_attempts = 1;
	assert_non_null(c->aws = aws_new(&ao));
}

static void
clients_free(struct clients *c)
{
	aws_free(c->aws);
	http_free(c->http);
}

static void
test_provider_options(void **state)
{
	struct clients c;
	struct sg_sts_opts o = { .role_arn = ROLE, .region = "us-east-1" };
	struct sg_sts_provider *p;

	clients_new(&c);
	o.aws = c.aws;
	assert_non_null(p = sts_provider_new(&o));
	assert_string_equal(sts_role_arn(p), ROLE);
	assert_int_equal(sts_next_refresh(p), 0);
	assert_int_equal(sts_requests(p), 0);
	sts_provider_free(p);

	o.duration = 899;
	assert_null(sts_provider_new(&o));
	assert_non_null(strstr(logged.data, "session duration 899 s is not "
	    "within 900..43200"));
	o.duration = 43201;
	assert_null(sts_provider_new(&o));
	o.duration = 43200;
	assert_non_null(p = sts_provider_new(&o));
	sts_provider_free(p);
	o.duration = 0;

	o.role_arn = "arn:aws:iam::222233334444:user/sgguard";
	assert_null(sts_provider_new(&o));
	o.role_arn = ROLE;
	o.external_id = "x";
	assert_null(sts_provider_new(&o));
	o.external_id = "";
	o.session_name = "bad name";
	assert_null(sts_provider_new(&o));
	o.session_name = NULL;
	o.region = "US East";
	assert_null(sts_provider_new(&o));
	o.region = "us-east-1";
	o.aws = NULL;
	assert_null(sts_provider_new(&o));
	clients_free(&c);
}

static void
test_provider_callback_never_fetches(void **state)
{
	int (*cb)(void *, time_t, struct sg_creds *, char *, size_t) =
	    sts_callback;
	struct clients c;
	struct sg_sts_opts o = { .role_arn = ROLE, .region = "us-east-1" };
	struct sg_sts_provider *p;
	struct sg_creds cr;
	char err[1024];

	clients_new(&c);
	o.aws = c.aws;
	assert_non_null(p = sts_provider_new(&o));
	/* The callback shape of aws.h, and no STS request from it. */
	assert_int_equal(cb(p, 1700000000, &cr, err, sizeof(err)), -1);
	assert_string_equal(err, "no credentials from assume-role " ROLE
	    " yet (they are fetched before each cycle)");
	assert_int_equal(sts_requests(p), 0);
	assert_int_equal(c.ncreds, 0);
	sts_provider_free(p);
	clients_free(&c);
}

static void
test_provider_failure_paced(void **state)
{
	struct clients c;
	struct sg_sts_opts o = { .role_arn = ROLE, .region = "us-east-1",
	    .external_id = "sgguard-ext-1234" };
	struct sg_sts_provider *p;
	struct sg_creds cr;
	char err[1024];
	const time_t t = 1700000000;

	clients_new(&c);
	o.aws = c.aws;
	assert_non_null(p = sts_provider_new(&o));
	assert_int_equal(sts_get(p, t, &cr, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot assume " ROLE ": no base credentials "
	    "to call STS with: no AWS credentials: environment: not set");
	assert_int_equal(sts_requests(p), 1);
	assert_int_equal(c.ncreds, 1);
	assert_int_equal(sts_next_refresh(p), t + 60);
	/* Within a minute: the same error, no new attempt. */
	assert_int_equal(sts_get(p, t + 30, &cr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no base credentials to call STS with"));
	assert_non_null(strstr(err, "(next attempt in 30 s)"));
	assert_int_equal(sts_requests(p), 1);
	/* The callback reports the last error. */
	assert_int_equal(sts_callback(p, t + 31, &cr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no base credentials to call STS with"));
	assert_string_equal(cr.access_key_id, "");
	/* A minute later: tried again. */
	assert_int_equal(sts_get(p, t + 60, &cr, err, sizeof(err)), -1);
	assert_int_equal(sts_requests(p), 2);
	assert_int_equal(c.ncreds, 2);
	sts_provider_free(p);
	clients_free(&c);
}

/* sts_refresh_start() only submits: nothing is fetched until aws_run(),
 * one call per provider at most, several providers' calls at once. */
static void
test_provider_refresh_async(void **state)
{
	struct clients c;
	struct sg_sts_opts o = { .role_arn = ROLE, .region = "us-east-1" };
	struct sg_sts_provider *p, *q;
	struct sg_creds cr;
	char err[1024];
	const time_t t = 1700000000;

	clients_new(&c);
	o.aws = c.aws;
	assert_non_null(p = sts_provider_new(&o));
	o.role_arn = "arn:aws:iam::210987654321:role/sgguard";
	assert_non_null(q = sts_provider_new(&o));
	assert_false(sts_in_flight(p));
	assert_int_equal(sts_refresh_start(p, t), 1);
	assert_int_equal(sts_refresh_start(q, t), 1);
	assert_true(sts_in_flight(p));
	assert_true(sts_in_flight(q));
	assert_int_equal(aws_pending(c.aws), 2);
	/* Submitted, not started: no credentials asked for yet. */
	assert_int_equal(c.ncreds, 0);
	/* Asked again while in flight: the same call, not a second. */
	assert_int_equal(sts_refresh_start(p, t), 1);
	assert_int_equal(sts_requests(p), 1);
	assert_int_equal(aws_pending(c.aws), 2);
	assert_false(sts_has_credentials(p, t));
	assert_int_equal(sts_callback(p, t, &cr, err, sizeof(err)), -1);
	assert_string_equal(err, "no credentials from assume-role " ROLE
	    " yet (STS has not answered AssumeRole so far)");
	/* Both answers arrive through the client's loop. */
	while (aws_pending(c.aws) > 0)
		aws_run(c.aws, 1000);
	assert_false(sts_in_flight(p));
	assert_false(sts_in_flight(q));
	assert_int_equal(c.ncreds, 2);
	assert_int_equal(sts_callback(p, t, &cr, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot assume " ROLE ": no base credentials "
	    "to call STS with: no AWS credentials: environment: not set");
	assert_int_equal(sts_callback(q, t, &cr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot assume arn:aws:iam::210987654321:"
	    "role/sgguard: no base credentials"));
	/* Paced like sts_get(): nothing within a minute, then again. */
	assert_int_equal(sts_refresh_start(p, t + 59), 0);
	assert_int_equal(sts_requests(p), 1);
	assert_int_equal(sts_refresh_start(p, t + 60), 1);
	assert_int_equal(sts_requests(p), 2);
	/* The client first: the call in flight goes without its callback. */
	clients_free(&c);
	sts_provider_free(p);
	sts_provider_free(q);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parse_ok),
		T(test_parse_expiration_forms),
		T(test_parse_long_token),
		T(test_parse_error_bodies),
		T(test_parse_garbage),
		T(test_parse_missing_fields),
		T(test_parse_bad_values),
		T(test_refresh_time),
		T(test_session_name),
		T(test_role_arn),
		T(test_external_id),
		T(test_error_messages),
		T(test_provider_options),
		T(test_provider_callback_never_fetches),
		T(test_provider_failure_paced),
		T(test_provider_refresh_async),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
