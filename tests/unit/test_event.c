/* test_event.c: event_parse on genuine CloudTrail records (read from
 * $SHARED_DIR, never copied here), on hand-written records of every rule
 * shape, and on hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "rule.h"
#include "util.h"

#define SAMPLES	"data/cloudtrail-samples"

/* --- helpers ------------------------------------------------------- */

static const char *
shared_dir(void)
{
	const char *d = getenv("SHARED_DIR");

	return (d != NULL && *d != '\0') ? d : "../shared";
}

/* The sample parsed as JSON, or skip the test saying what is missing. */
static json_t *
sample(const char *name)
{
	char path[4096];
	json_error_t jerr;
	json_t *j;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s/%s", shared_dir(), SAMPLES, name);
	if ((fp = fopen(path, "r")) == NULL) {
		print_message("shared data absent: %s\n", path);
		skip();
	}
	fclose(fp);
	j = json_load_file(path, 0, &jerr);
	if (j == NULL)
		fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
	return j;
}

/* Parse a JSON value (one record) through its text, as the daemon does. */
static void
parse_json(const json_t *rec, struct sg_event *ev)
{
	char err[256];
	char *text;

	assert_non_null(rec);
	text = json_dumps(rec, JSON_COMPACT);
	assert_non_null(text);
	if (event_parse(text, strlen(text), ev, err, sizeof(err)) != 0)
		fail_msg("event_parse: %s", err);
	free(text);
}

/* Hand-written records use ' for " to stay readable. */
static char *
q(const char *s)
{
	char *t = xstrdup(s), *p;

	for (p = t; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static int
parse_q(const char *s, struct sg_event *ev, char *err, size_t errlen)
{
	char *t = q(s);
	int rc;

	rc = event_parse(t, strlen(t), ev, err, errlen);
	free(t);
	return rc;
}

static void
must_parse(const char *s, struct sg_event *ev)
{
	char err[256];

	if (parse_q(s, ev, err, sizeof(err)) != 0)
		fail_msg("event_parse: %s", err);
}

static void
must_fail(const char *s, const char *errpart)
{
	struct sg_event ev;
	char err[256];

	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)),
	    -1);
	if (strstr(err, errpart) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, errpart);
	assert_null(strchr(err, '\n'));
}

static void
assert_cidr(const struct sg_rule *r, int proto, int from, int to,
    enum sg_source_kind kind, const char *cidr, const char *rule_id)
{
	char buf[64];

	assert_int_equal(r->proto, proto);
	assert_int_equal(r->from_port, from);
	assert_int_equal(r->to_port, to);
	assert_int_equal(r->src, kind);
	rule_cidr_format(r, buf, sizeof(buf));
	assert_string_equal(buf, cidr);
	assert_string_equal(r->rule_id, rule_id);
}

static void
assert_ref(const struct sg_rule *r, int proto, int from, int to,
    enum sg_source_kind kind, const char *ref, const char *user,
    const char *rule_id)
{
	assert_int_equal(r->proto, proto);
	assert_int_equal(r->from_port, from);
	assert_int_equal(r->to_port, to);
	assert_int_equal(r->src, kind);
	assert_string_equal(r->ref_id, ref);
	assert_string_equal(r->user_id, user);
	assert_string_equal(r->rule_id, rule_id);
}

/* Every string of a parsed event is set. */
static void
assert_complete(const struct sg_event *ev)
{
	const char *const s[] = {
		ev->event_id, ev->event_name, ev->event_source,
		ev->event_time_text, ev->region, ev->account, ev->error_code,
		ev->error_message, ev->principal_type_text, ev->principal_arn,
		ev->issuer_arn, ev->invoked_by, ev->access_key_id,
		ev->source_ip, ev->user_agent, ev->group_id, ev->group_name,
		ev->parse_warning,
	};
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(s); i++)
		assert_non_null(s[i]);
	assert_true(ev->nrules == 0 || ev->rules != NULL);
}

#define HEAD(name) \
	"{'eventVersion':'1.09','eventID':'11111111-2222-3333-4444-555555555555'," \
	"'eventName':'" name "','eventSource':'ec2.amazonaws.com'," \
	"'eventTime':'2025-01-02T03:04:05Z','awsRegion':'eu-west-1'," \
	"'sourceIPAddress':'198.51.100.7','userAgent':'test-agent/1.0'," \
	"'recipientAccountId':'111122223333',"
#define ALICE \
	"'userIdentity':{'type':'IAMUser','principalId':'AIDAEXAMPLE'," \
	"'arn':'arn:aws:iam::111122223333:user/alice','accountId':'111122223333'," \
	"'accessKeyId':'AKIAEXAMPLEALICE','userName':'alice'},"
#define INGRESS	HEAD("AuthorizeSecurityGroupIngress") ALICE
#define NO_RESPONSE	"'responseElements':{'requestId':'r-1','_return':true}}"

/* --- genuine samples ----------------------------------------------- */

static void
test_sample_stratus(void **state)
{
	json_t *arr = sample("AuthorizeSecurityGroupIngress__stratus__1.json");
	struct sg_event ev;

	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 1);
	parse_json(json_array_get(arr, 0), &ev);
	assert_complete(&ev);
	assert_string_equal(ev.event_id,
	    "9fd68588-ecbf-4528-a345-199fa6bb0821");
	assert_string_equal(ev.event_name, "AuthorizeSecurityGroupIngress");
	assert_string_equal(ev.event_source, "ec2.amazonaws.com");
	assert_string_equal(ev.event_time_text, "2024-08-01T12:23:55Z");
	assert_int_equal(ev.event_time, 1722515035);
	assert_string_equal(ev.region, "us-northeast-1r");
	assert_string_equal(ev.account, "032092706103");
	assert_string_equal(ev.error_code, "");
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_IAM_USER);
	assert_string_equal(ev.principal_type_text, "IAMUser");
	assert_string_equal(ev.principal_arn,
	    "arn:aws:iam::032092706103:user/christophe");
	assert_string_equal(ev.issuer_arn, "");
	assert_string_equal(ev.invoked_by, "");
	assert_string_equal(ev.access_key_id, "AKIAXW7UJ577KFYIAHIM");
	assert_string_equal(ev.source_ip, "253.243.215.253");
	assert_string_equal(ev.user_agent,
	    "stratus-red-team_1004a4ff-b486-4981-a84b-6322905f37cc");
	assert_string_equal(ev.group_id, "sg-003dc7f1f1c686164");
	assert_false(ev.egress);
	assert_true(ev.rules_from_response);
	assert_int_equal(ev.nbad_rules, 0);
	assert_int_equal(ev.nrules, 1);
	/* The sanitizer's "208.236.235.254/0" has host bits: /0 is all. */
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 22, 22, SG_SRC_CIDR4,
	    "0.0.0.0/0", "sgr-09b3e3d2ca1edf2a2");
	assert_false(ev.rules[0].egress);
	assert_string_equal(ev.parse_warning, "");
	event_free(&ev);
	json_decref(arr);
}

/* Without the answer's rule set the legacy top-level form is the rule. */
static void
test_sample_stratus_legacy_request(void **state)
{
	json_t *arr = sample("AuthorizeSecurityGroupIngress__stratus__1.json");
	json_t *rec = json_array_get(arr, 0);
	struct sg_event ev;

	json_object_del(json_object_get(rec, "responseElements"),
	    "securityGroupRuleSet");
	parse_json(rec, &ev);
	assert_false(ev.rules_from_response);
	assert_int_equal(ev.nbad_rules, 0);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 22, 22, SG_SRC_CIDR4,
	    "0.0.0.0/0", "");
	assert_string_equal(ev.group_id, "sg-003dc7f1f1c686164");
	event_free(&ev);
	json_decref(arr);
}

static void
test_sample_elastic_ingress(void **state)
{
	json_t *rec = sample(
	    "AuthorizeSecurityGroupIngress__elastic-integrations__1.json");
	struct sg_event ev;

	parse_json(rec, &ev);
	assert_complete(&ev);
	assert_string_equal(ev.event_id,
	    "c409b898-91e4-44d5-a994-68741a8a0212");
	assert_string_equal(ev.event_name, "AuthorizeSecurityGroupIngress");
	assert_int_equal(ev.event_time, 1728915098);
	assert_string_equal(ev.region, "us-east-1");
	assert_string_equal(ev.account, "000000000");
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_IAM_USER);
	assert_string_equal(ev.principal_arn,
	    "arn:aws:iam::000000000:user/test@elastic.co");
	assert_string_equal(ev.access_key_id, "ACCESSKEYID");
	assert_string_equal(ev.source_ip, "216.160.83.56");
	assert_non_null(strstr(ev.user_agent,
	    "md/command#ec2.authorize-security-group-ingress"));
	assert_string_equal(ev.group_id, "sg-0f63fecfa17ef4fee");
	assert_false(ev.egress);
	assert_true(ev.rules_from_response);
	assert_int_equal(ev.nrules, 1);
	assert_int_equal(ev.nbad_rules, 0);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 22, 22, SG_SRC_CIDR4,
	    "203.0.113.0/24", "sgr-027eb7c59241731e0");
	assert_string_equal(ev.parse_warning, "");
	event_free(&ev);

	/* The same rule rebuilt from requestParameters.ipPermissions. */
	json_object_del(json_object_get(rec, "responseElements"),
	    "securityGroupRuleSet");
	parse_json(rec, &ev);
	assert_false(ev.rules_from_response);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 22, 22, SG_SRC_CIDR4,
	    "203.0.113.0/24", "");
	event_free(&ev);
	json_decref(rec);
}

static void
test_sample_elastic_egress(void **state)
{
	json_t *rec = sample(
	    "AuthorizeSecurityGroupEgress__elastic-integrations__1.json");
	struct sg_event ev;

	parse_json(rec, &ev);
	assert_complete(&ev);
	assert_string_equal(ev.event_id,
	    "72a37ea2-cbf9-47bf-9ae0-0149d8acbbbc");
	assert_string_equal(ev.event_name, "AuthorizeSecurityGroupEgress");
	assert_int_equal(ev.event_time, 1730318075);
	assert_string_equal(ev.region, "us-east-1");
	assert_string_equal(ev.account, "000000000");
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_ASSUMED_ROLE);
	assert_string_equal(ev.principal_arn,
	    "arn:aws:sts::000000000:assumed-role/ec2-instance-role/"
	    "i-06815aa7cf7d21f8f");
	assert_string_equal(ev.issuer_arn,
	    "arn:aws:iam::000000000:role/ec2-instance-role");
	assert_string_equal(ev.group_id, "sg-038ccc3a1f7b05f42");
	assert_true(ev.egress);
	assert_true(ev.rules_from_response);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 4444, 4444, SG_SRC_CIDR4,
	    "73.21.4.36/32", "sgr-02bdc373eac599585");
	assert_true(ev.rules[0].egress);
	event_free(&ev);

	json_object_del(json_object_get(rec, "responseElements"),
	    "securityGroupRuleSet");
	parse_json(rec, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_true(ev.rules[0].egress);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 4444, 4444, SG_SRC_CIDR4,
	    "73.21.4.36/32", "");
	event_free(&ev);
	json_decref(rec);
}

/* An EventBridge envelope with "..." redactions: read as far as it goes. */
static void
test_sample_streamalert(void **state)
{
	json_t *arr = sample(
	    "AuthorizeSecurityGroupIngress__streamalert__1.json");
	const json_t *detail;
	struct sg_event ev;

	assert_int_equal(json_array_size(arr), 2);

	detail = json_object_get(json_object_get(json_array_get(arr, 0),
	    "data"), "detail");
	parse_json(detail, &ev);
	assert_complete(&ev);
	assert_string_equal(ev.event_id, "...");
	assert_string_equal(ev.event_name, "AuthorizeSecurityGroupIngress");
	assert_string_equal(ev.region, "...");
	assert_string_equal(ev.account, "12345");
	assert_int_equal(ev.event_time, 1507741352);
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_IAM_USER);
	assert_string_equal(ev.principal_arn, "...");
	assert_string_equal(ev.issuer_arn, "");
	assert_string_equal(ev.user_agent, "console.ec2.amazonaws.com");
	assert_string_equal(ev.group_id, "...");
	assert_false(ev.rules_from_response);
	assert_int_equal(ev.nbad_rules, 0);
	assert_int_equal(ev.nrules, 2);
	assert_cidr(&ev.rules[0], SG_PROTO_ALL, -1, -1, SG_SRC_CIDR4,
	    "0.0.0.0/0", "");
	assert_cidr(&ev.rules[1], SG_PROTO_ALL, -1, -1, SG_SRC_CIDR6,
	    "::/0", "");
	event_free(&ev);

	detail = json_object_get(json_object_get(json_array_get(arr, 1),
	    "data"), "detail");
	parse_json(detail, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_ALL, -1, -1, SG_SRC_CIDR4,
	    "10.0.0.0/8", "");
	event_free(&ev);
	json_decref(arr);
}

/* Every record of a LookupEvents page: none is a security-group call. */
static void
test_sample_lookup_page(void **state)
{
	json_t *page = sample("LookupEvents__cloudryer__1.json");
	const json_t *events, *e, *rec;
	struct sg_event ev;
	char err[256];
	const char *s;
	size_t i;

	events = json_object_get(page, "Events");
	assert_int_equal(json_array_size(events), 12);
	json_array_foreach(events, i, e) {
		rec = json_object_get(e, "CloudTrailEvent");
		assert_true(json_is_string(rec));
		s = json_string_value(rec);
		if (event_parse(s, strlen(s), &ev, err, sizeof(err)) != 0)
			fail_msg("event %zu: %s", i, err);
		assert_complete(&ev);
		assert_string_equal(ev.event_id, json_string_value(
		    json_object_get(e, "EventId")));
		assert_string_equal(ev.event_name, json_string_value(
		    json_object_get(e, "EventName")));
		assert_string_equal(ev.access_key_id, json_string_value(
		    json_object_get(e, "AccessKeyId")));
		assert_string_equal(ev.event_source, "ec2.amazonaws.com");
		assert_string_equal(ev.region, "us-east-1");
		assert_string_equal(ev.account, "450502852875");
		assert_string_equal(ev.source_ip, "AWS Internal");
		assert_string_equal(ev.error_code, "");
		/* sessionIssuer is {} on these. */
		assert_string_equal(ev.issuer_arn, "");
		assert_true(ev.principal_type == SG_PRINCIPAL_ROOT ||
		    ev.principal_type == SG_PRINCIPAL_IAM_USER);
		assert_true(ev.event_time > 1666000000 &&
		    ev.event_time < 1668100000);
		assert_int_equal(ev.nrules, 0);
		assert_int_equal(ev.nbad_rules, 0);
		assert_false(ev.egress);
		assert_string_equal(ev.group_id, "");
		assert_string_equal(ev.parse_warning, "");
		if (i == 0) {
			assert_string_equal(ev.event_name, "StopInstances");
			assert_int_equal(ev.principal_type,
			    SG_PRINCIPAL_ROOT);
			assert_string_equal(ev.principal_arn,
			    "arn:aws:iam::450502852875:root");
			assert_int_equal(ev.event_time, 1668031516);
		}
		if (i == 1)
			assert_string_equal(ev.principal_arn,
			    "arn:aws:iam::450502852875:user/ziv");
		event_free(&ev);
	}
	json_decref(page);
}

/* --- hand-written shapes -------------------------------------------- */

static void
test_ipv4_multi_cidr(void **state)
{
	struct sg_event ev;

	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':[{'ipProtocol':'tcp','fromPort':443,"
	    "'toPort':443,'groups':{},'ipRanges':{'items':["
	    "{'cidrIp':'192.0.2.0/24','description':'office'},"
	    "{'cidrIp':'198.51.100.9/32'}]},'ipv6Ranges':{},"
	    "'prefixListIds':{}}]}}," NO_RESPONSE, &ev);
	assert_complete(&ev);
	assert_string_equal(ev.event_id,
	    "11111111-2222-3333-4444-555555555555");
	assert_string_equal(ev.region, "eu-west-1");
	assert_string_equal(ev.account, "111122223333");
	assert_string_equal(ev.group_id, "sg-0123456789abcdef0");
	assert_false(ev.rules_from_response);
	assert_int_equal(ev.nrules, 2);
	assert_int_equal(ev.nbad_rules, 0);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 443, 443, SG_SRC_CIDR4,
	    "192.0.2.0/24", "");
	assert_cidr(&ev.rules[1], SG_PROTO_TCP, 443, 443, SG_SRC_CIDR4,
	    "198.51.100.9/32", "");
	assert_string_equal(ev.parse_warning, "");
	event_free(&ev);
}

static void
test_two_permissions_mixed_sources(void **state)
{
	struct sg_event ev;

	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':["
	    "{'ipProtocol':'udp','fromPort':53,'toPort':53,"
	    "'ipv6Ranges':{'items':[{'cidrIpv6':'2001:db8:1234::/48'}]}},"
	    "{'ipProtocol':'tcp','fromPort':5432,'toPort':5433,"
	    "'prefixListIds':{'items':[{'prefixListId':"
	    "'pl-0123456789abcdef0','description':'db'}]},"
	    "'groups':{'items':[{'groupId':'sg-0fedcba9876543210',"
	    "'userId':'444455556666'},{'groupId':'sg-12345678',"
	    "'userId':777788889999}]}}]}}," NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 4);
	assert_int_equal(ev.nbad_rules, 0);
	assert_cidr(&ev.rules[0], SG_PROTO_UDP, 53, 53, SG_SRC_CIDR6,
	    "2001:db8:1234::/48", "");
	assert_ref(&ev.rules[1], SG_PROTO_TCP, 5432, 5433, SG_SRC_PREFIX_LIST,
	    "pl-0123456789abcdef0", "", "");
	assert_ref(&ev.rules[2], SG_PROTO_TCP, 5432, 5433, SG_SRC_GROUP,
	    "sg-0fedcba9876543210", "444455556666", "");
	/* userId as a JSON number. */
	assert_ref(&ev.rules[3], SG_PROTO_TCP, 5432, 5433, SG_SRC_GROUP,
	    "sg-12345678", "777788889999", "");
	event_free(&ev);
}

static void
test_protocol_all(void **state)
{
	struct sg_event ev;

	/* No ports at all for -1; "all" arrives as -1 too. */
	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':[{'ipProtocol':'-1','groups':{},"
	    "'ipRanges':{'items':[{'cidrIp':'10.0.0.0/8'}]}}]}},"
	    NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_ALL, -1, -1, SG_SRC_CIDR4,
	    "10.0.0.0/8", "");
	event_free(&ev);

	/* Ports given with -1 are meaningless and dropped. */
	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':[{'ipProtocol':-1,'fromPort':0,"
	    "'toPort':65535,'ipRanges':{'items':[{'cidrIp':'10.0.0.0/8'}]}"
	    "}]}}," NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_ALL, -1, -1, SG_SRC_CIDR4,
	    "10.0.0.0/8", "");
	event_free(&ev);
}

static void
test_icmp(void **state)
{
	struct sg_event ev;

	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':["
	    "{'ipProtocol':'icmp','fromPort':8,'toPort':0,"
	    "'ipRanges':{'items':[{'cidrIp':'192.0.2.0/24'}]}},"
	    "{'ipProtocol':'icmp','fromPort':-1,'toPort':-1,"
	    "'ipRanges':{'items':[{'cidrIp':'192.0.2.0/24'}]}},"
	    "{'ipProtocol':'icmp','fromPort':3,'toPort':-1,"
	    "'ipRanges':{'items':[{'cidrIp':'192.0.2.0/24'}]}},"
	    "{'ipProtocol':'58','fromPort':128,'toPort':-1,"
	    "'ipv6Ranges':{'items':[{'cidrIpv6':'::/0'}]}},"
	    "{'ipProtocol':'icmpv6','fromPort':'-1','toPort':'-1',"
	    "'ipv6Ranges':{'items':[{'cidrIpv6':'2001:db8::/32'}]}}"
	    "]}}," NO_RESPONSE, &ev);
	assert_int_equal(ev.nbad_rules, 0);
	assert_int_equal(ev.nrules, 5);
	assert_cidr(&ev.rules[0], SG_PROTO_ICMP, 8, 0, SG_SRC_CIDR4,
	    "192.0.2.0/24", "");
	assert_cidr(&ev.rules[1], SG_PROTO_ICMP, -1, -1, SG_SRC_CIDR4,
	    "192.0.2.0/24", "");
	assert_cidr(&ev.rules[2], SG_PROTO_ICMP, 3, -1, SG_SRC_CIDR4,
	    "192.0.2.0/24", "");
	assert_cidr(&ev.rules[3], SG_PROTO_ICMPV6, 128, -1, SG_SRC_CIDR6,
	    "::/0", "");
	assert_cidr(&ev.rules[4], SG_PROTO_ICMPV6, -1, -1, SG_SRC_CIDR6,
	    "2001:db8::/32", "");
	event_free(&ev);

	/* Out of range type: unreadable, but the record still parses. */
	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':[{'ipProtocol':'icmp','fromPort':300,"
	    "'toPort':0,'ipRanges':{'items':[{'cidrIp':'192.0.2.0/24'}]}}"
	    "]}}," NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 0);
	assert_int_equal(ev.nbad_rules, 1);
	assert_non_null(strstr(ev.parse_warning, "icmp"));
	event_free(&ev);
}

static void
test_protocol_forms(void **state)
{
	static const char *const protos[] = {
		"'6'", "6", "'tcp'", "'TCP'",
	};
	struct sg_event ev;
	char rec[1024];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(protos); i++) {
		snprintf(rec, sizeof(rec), INGRESS
		    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
		    "'ipPermissions':{'items':[{'ipProtocol':%s,"
		    "'fromPort':'22','toPort':22.0,'ipRanges':{'items':["
		    "{'cidrIp':'192.0.2.1/32'}]}}]}}," NO_RESPONSE, protos[i]);
		must_parse(rec, &ev);
		assert_int_equal(ev.nbad_rules, 0);
		assert_int_equal(ev.nrules, 1);
		assert_cidr(&ev.rules[0], SG_PROTO_TCP, 22, 22, SG_SRC_CIDR4,
		    "192.0.2.1/32", "");
		event_free(&ev);
	}

	/* Some other protocol (GRE) carries no ports. */
	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':[{'ipProtocol':'47',"
	    "'ipRanges':{'items':[{'cidrIp':'192.0.2.1/32'}]}}]}},"
	    NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], 47, -1, -1, SG_SRC_CIDR4, "192.0.2.1/32",
	    "");
	event_free(&ev);
}

static void
test_legacy_form(void **state)
{
	struct sg_event ev;

	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{},'cidrIp':'0.0.0.0/0','ipProtocol':'tcp',"
	    "'fromPort':'3389','toPort':'3389'}," NO_RESPONSE, &ev);
	assert_false(ev.rules_from_response);
	assert_int_equal(ev.nbad_rules, 0);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 3389, 3389, SG_SRC_CIDR4,
	    "0.0.0.0/0", "");
	event_free(&ev);

	/* A source group by name only: known to exist, not readable. */
	must_parse(INGRESS
	    "'requestParameters':{'groupName':'default','ipPermissions':{},"
	    "'sourceSecurityGroupName':'admins',"
	    "'sourceSecurityGroupOwnerId':'111122223333'}," NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 0);
	assert_int_equal(ev.nbad_rules, 1);
	assert_string_equal(ev.group_id, "");
	assert_string_equal(ev.group_name, "default");
	assert_non_null(strstr(ev.parse_warning, "by name only"));
	event_free(&ev);
}

static void
test_group_name_only_source(void **state)
{
	struct sg_event ev;

	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-0123456789abcdef0',"
	    "'ipPermissions':{'items':[{'ipProtocol':'tcp','fromPort':22,"
	    "'toPort':22,'groups':{'items':[{'groupName':'bastion'}]},"
	    "'ipRanges':{'items':[{'cidrIp':'192.0.2.0/24'}]}}]}},"
	    NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_int_equal(ev.nbad_rules, 1);
	assert_non_null(strstr(ev.parse_warning, "by name only"));
	event_free(&ev);
}

/* CloudFormation names the target group; the answer has the id and
 * every kind of source. */
/* Numbers where CloudTrail writes a region and a group id: neither is
 * taken as one (the daemon takes the region it looked the record up in;
 * the answer's rule set names the group), and both are said. */
static void
test_numbers_not_ids(void **state)
{
	struct sg_event ev;

	must_parse("{'eventVersion':'1.09','eventID':'e-1',"
	    "'eventName':'AuthorizeSecurityGroupIngress',"
	    "'eventSource':'ec2.amazonaws.com',"
	    "'eventTime':'2025-01-02T03:04:05Z','awsRegion':5,"
	    "'recipientAccountId':'111122223333'," ALICE
	    "'requestParameters':{'groupId':5,'ipPermissions':{'items':[{"
	    "'ipProtocol':'tcp','fromPort':22,'toPort':22,'ipRanges':{"
	    "'items':[{'cidrIp':'0.0.0.0/0'}]}}]}},"
	    "'responseElements':{'requestId':'r','_return':true,"
	    "'securityGroupRuleSet':{'items':[{'groupId':"
	    "'sg-0aaaabbbbccccdddd','securityGroupRuleId':"
	    "'sgr-0000000000000000a','isEgress':false,'ipProtocol':'tcp',"
	    "'fromPort':22,'toPort':22,'cidrIpv4':'0.0.0.0/0'}]}}}", &ev);
	assert_string_equal(ev.region, "");
	assert_string_equal(ev.group_id, "sg-0aaaabbbbccccdddd");
	assert_non_null(strstr(ev.parse_warning,
	    "awsRegion is a number, not a region"));
	assert_non_null(strstr(ev.parse_warning,
	    "requestParameters.groupId is a number, not a group id"));
	assert_int_equal(ev.nrules, 1);
	event_free(&ev);
}

static void
test_cloudformation_response(void **state)
{
	struct sg_event ev;

	must_parse(HEAD("AuthorizeSecurityGroupIngress")
	    "'userIdentity':{'type':'AssumedRole',"
	    "'arn':'arn:aws:sts::111122223333:assumed-role/cfn-deploy/"
	    "AWSCloudFormation','accountId':'111122223333',"
	    "'accessKeyId':'ASIAEXAMPLECFN','invokedBy':"
	    "'cloudformation.amazonaws.com','sessionContext':{"
	    "'sessionIssuer':{'type':'Role','arn':"
	    "'arn:aws:iam::111122223333:role/cfn-deploy'}}},"
	    "'requestParameters':{'groupName':'web-sg','ipPermissions':{"
	    "'items':[{'ipProtocol':'tcp','fromPort':80,'toPort':80,"
	    "'ipRanges':{'items':[{'cidrIp':'0.0.0.0/0'}]}}]}},"
	    "'responseElements':{'requestId':'r','_return':true,"
	    "'securityGroupRuleSet':{'items':["
	    "{'groupOwnerId':'111122223333','groupId':'sg-0aaaabbbbccccdddd',"
	    "'securityGroupRuleId':'sgr-0000000000000000a','isEgress':false,"
	    "'ipProtocol':'tcp','fromPort':80,'toPort':80,"
	    "'cidrIpv4':'0.0.0.0/0'},"
	    "{'groupId':'sg-0aaaabbbbccccdddd','securityGroupRuleId':"
	    "'sgr-0000000000000000b','isEgress':false,'ipProtocol':'-1',"
	    "'fromPort':-1,'toPort':-1,'cidrIpv6':'2001:db8::/64'},"
	    "{'groupId':'sg-0aaaabbbbccccdddd','securityGroupRuleId':"
	    "'sgr-0000000000000000c','isEgress':false,'ipProtocol':'udp',"
	    "'fromPort':1000,'toPort':2000,'prefixListId':'pl-12345678'},"
	    "{'groupId':'sg-0aaaabbbbccccdddd','securityGroupRuleId':"
	    "'sgr-0000000000000000d','isEgress':false,'ipProtocol':'tcp',"
	    "'fromPort':443,'toPort':443,'referencedGroupInfo':{"
	    "'groupId':'sg-0eeeeffff00001111','userId':'444455556666'}}"
	    "]}}}", &ev);
	assert_complete(&ev);
	assert_string_equal(ev.group_id, "sg-0aaaabbbbccccdddd");
	assert_string_equal(ev.group_name, "web-sg");
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_ASSUMED_ROLE);
	assert_string_equal(ev.issuer_arn,
	    "arn:aws:iam::111122223333:role/cfn-deploy");
	assert_string_equal(ev.invoked_by, "cloudformation.amazonaws.com");
	assert_true(ev.rules_from_response);
	assert_int_equal(ev.nbad_rules, 0);
	assert_int_equal(ev.nrules, 4);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 80, 80, SG_SRC_CIDR4,
	    "0.0.0.0/0", "sgr-0000000000000000a");
	assert_cidr(&ev.rules[1], SG_PROTO_ALL, -1, -1, SG_SRC_CIDR6,
	    "2001:db8::/64", "sgr-0000000000000000b");
	assert_ref(&ev.rules[2], SG_PROTO_UDP, 1000, 2000, SG_SRC_PREFIX_LIST,
	    "pl-12345678", "", "sgr-0000000000000000c");
	assert_ref(&ev.rules[3], SG_PROTO_TCP, 443, 443, SG_SRC_GROUP,
	    "sg-0eeeeffff00001111", "444455556666", "sgr-0000000000000000d");
	assert_string_equal(ev.parse_warning, "");
	event_free(&ev);
}

static void
test_principals(void **state)
{
	struct sg_event ev;

	must_parse(HEAD("AuthorizeSecurityGroupIngress")
	    "'userIdentity':{'type':'Root','principalId':'111122223333',"
	    "'arn':'arn:aws:iam::111122223333:root','accountId':"
	    "'111122223333','accessKeyId':'ASIAROOT'},"
	    "'requestParameters':{'groupId':'sg-12345678','cidrIp':"
	    "'10.0.0.0/8','ipProtocol':'tcp','fromPort':22,'toPort':22},"
	    NO_RESPONSE, &ev);
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_ROOT);
	assert_string_equal(ev.principal_type_text, "Root");
	assert_string_equal(ev.principal_arn,
	    "arn:aws:iam::111122223333:root");
	assert_string_equal(ev.access_key_id, "ASIAROOT");
	event_free(&ev);

	/* A service acting on its own: no ARN, no account in the record. */
	must_parse("{'eventID':'e-2','eventName':"
	    "'AuthorizeSecurityGroupIngress','eventSource':"
	    "'ec2.amazonaws.com','eventTime':'2025-01-02T03:04:05Z',"
	    "'awsRegion':'us-east-1','userIdentity':{'type':'AWSService',"
	    "'invokedBy':'elasticloadbalancing.amazonaws.com'},"
	    "'requestParameters':{'groupId':'sg-12345678','cidrIp':"
	    "'10.0.0.0/8','ipProtocol':'tcp','fromPort':22,'toPort':22}}",
	    &ev);
	assert_complete(&ev);
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_AWS_SERVICE);
	assert_string_equal(ev.principal_arn, "");
	assert_string_equal(ev.invoked_by,
	    "elasticloadbalancing.amazonaws.com");
	assert_string_equal(ev.account, "");
	assert_string_equal(ev.source_ip, "");
	assert_int_equal(ev.nrules, 1);
	event_free(&ev);

	must_parse(HEAD("AuthorizeSecurityGroupIngress")
	    "'userIdentity':{'type':'FederatedUser','arn':"
	    "'arn:aws:sts::111122223333:federated-user/bob','accountId':"
	    "'111122223333','sessionContext':{'sessionIssuer':{'type':"
	    "'IAMUser','arn':'arn:aws:iam::111122223333:user/bob'}}},"
	    "'requestParameters':{'groupId':'sg-12345678'}}", &ev);
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_FEDERATED_USER);
	assert_string_equal(ev.issuer_arn,
	    "arn:aws:iam::111122223333:user/bob");
	/* A rule call that names no rule is noted as one unreadable. */
	assert_int_equal(ev.nrules, 0);
	assert_int_equal(ev.nbad_rules, 1);
	assert_non_null(strstr(ev.parse_warning, "names no rule"));
	event_free(&ev);

	/* Account from userIdentity when recipientAccountId is missing. */
	must_parse("{'eventID':'e-3','eventName':'DescribeInstances',"
	    "'eventSource':'ec2.amazonaws.com','userIdentity':{'type':"
	    "'IdentityCenterUser','accountId':123456789012}}", &ev);
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_OTHER);
	assert_string_equal(ev.principal_type_text, "IdentityCenterUser");
	assert_string_equal(ev.account, "123456789012");
	assert_int_equal(ev.event_time, 0);
	assert_non_null(strstr(ev.parse_warning, "eventTime"));
	assert_int_equal(ev.nbad_rules, 0);
	event_free(&ev);

	must_parse("{'eventID':'e-4','eventName':'DescribeInstances',"
	    "'eventSource':'ec2.amazonaws.com','eventTime':"
	    "'2025-01-02T03:04:05Z'}", &ev);
	assert_int_equal(ev.principal_type, SG_PRINCIPAL_UNKNOWN);
	assert_string_equal(ev.principal_type_text, "");
	assert_string_equal(ev.parse_warning, "");
	event_free(&ev);
}

static void
test_failed_call(void **state)
{
	struct sg_event ev;

	must_parse(INGRESS
	    "'errorCode':'Client.InvalidPermission.Duplicate',"
	    "'errorMessage':'the specified rule already exists',"
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'tcp','fromPort':22,'toPort':22,"
	    "'ipRanges':{'items':[{'cidrIp':'0.0.0.0/0'}]}}]}},"
	    "'responseElements':null}", &ev);
	assert_string_equal(ev.error_code,
	    "Client.InvalidPermission.Duplicate");
	assert_string_equal(ev.error_message,
	    "the specified rule already exists");
	assert_int_equal(ev.nrules, 1);
	event_free(&ev);
}

static void
test_egress_hand_written(void **state)
{
	struct sg_event ev;

	must_parse(HEAD("AuthorizeSecurityGroupEgress") ALICE
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'udp','fromPort':53,'toPort':53,"
	    "'ipRanges':{'items':[{'cidrIp':'8.8.8.8/32'}]}}]}},"
	    NO_RESPONSE, &ev);
	assert_true(ev.egress);
	assert_int_equal(ev.nrules, 1);
	assert_true(ev.rules[0].egress);
	assert_cidr(&ev.rules[0], SG_PROTO_UDP, 53, 53, SG_SRC_CIDR4,
	    "8.8.8.8/32", "");
	event_free(&ev);

	/* A revoke answer names what was removed, with ids. */
	must_parse(HEAD("RevokeSecurityGroupIngress") ALICE
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'tcp','fromPort':22,'toPort':22,"
	    "'groups':{'items':[{'groupId':'sg-87654321'}]}}]}},"
	    "'responseElements':{'_return':true,'revokedSecurityGroupRuleSet':"
	    "{'items':[{'groupId':'sg-12345678','securityGroupRuleId':"
	    "'sgr-0123456789abcdef0','isEgress':false,'ipProtocol':'tcp',"
	    "'fromPort':22,'toPort':22,'referencedGroupId':'sg-87654321'}]}}}",
	    &ev);
	assert_false(ev.egress);
	assert_true(ev.rules_from_response);
	assert_int_equal(ev.nrules, 1);
	assert_ref(&ev.rules[0], SG_PROTO_TCP, 22, 22, SG_SRC_GROUP,
	    "sg-87654321", "", "sgr-0123456789abcdef0");
	event_free(&ev);

	/* A revoke: rules read, the call is not adding. */
	must_parse(HEAD("RevokeSecurityGroupEgress") ALICE
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'-1','ipRanges':{'items':[{'cidrIp':"
	    "'0.0.0.0/0'}]}}]}}," NO_RESPONSE, &ev);
	assert_true(ev.egress);
	assert_int_equal(ev.nrules, 1);
	event_free(&ev);
}

static void
test_partly_unreadable(void **state)
{
	struct sg_event ev;

	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'tcp','fromPort':22,'toPort':22,"
	    "'ipRanges':{'items':[{'cidrIp':'300.1.2.3/8'},{'cidrIp':"
	    "'192.0.2.0/24'},{'cidrIp':'::/0'},{'nothing':1},5]}},"
	    "{'ipProtocol':'tcp','fromPort':70000,'toPort':22,'ipRanges':{"
	    "'items':[{'cidrIp':'192.0.2.0/24'}]}},"
	    "{'ipProtocol':'tcp','fromPort':23,'toPort':22,'ipRanges':{"
	    "'items':[{'cidrIp':'192.0.2.0/24'}]}},"
	    "{'ipProtocol':'bogus','ipRanges':{'items':[{'cidrIp':"
	    "'192.0.2.0/24'},{'cidrIp':'192.0.2.0/25'}]}},"
	    "{'ipProtocol':'tcp','fromPort':1,'toPort':2},"
	    "'not an object'"
	    "]}}," NO_RESPONSE, &ev);
	assert_complete(&ev);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 22, 22, SG_SRC_CIDR4,
	    "192.0.2.0/24", "");
	/* 4 bad CIDRs, bad range, inverted range, 2 of a bad protocol,
	 * a permission with no source, an item that is no object. */
	assert_int_equal(ev.nbad_rules, 10);
	assert_non_null(strstr(ev.parse_warning, "unknown protocol"));
	assert_non_null(strstr(ev.parse_warning, "bad port range"));
	event_free(&ev);

	/* tcp without ports: widest range, noted. */
	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'tcp','ipRanges':{'items':[{'cidrIp':"
	    "'192.0.2.0/24'}]}}]}}," NO_RESPONSE, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_cidr(&ev.rules[0], SG_PROTO_TCP, 0, 65535, SG_SRC_CIDR4,
	    "192.0.2.0/24", "");
	assert_non_null(strstr(ev.parse_warning, "without ports"));
	event_free(&ev);

	/* A response item with no source is unreadable; others are kept. */
	must_parse(INGRESS
	    "'requestParameters':{'groupId':'sg-12345678'},"
	    "'responseElements':{'securityGroupRuleSet':{'items':["
	    "{'groupId':'sg-12345678','securityGroupRuleId':'sgr-1',"
	    "'isEgress':'no','ipProtocol':'tcp','fromPort':1,'toPort':1,"
	    "'referencedVpcInfo':{'vpcId':'vpc-1'}},"
	    "{'groupId':'sg-12345678','securityGroupRuleId':'sgr-2',"
	    "'ipProtocol':'tcp','fromPort':2,'toPort':2,"
	    "'cidrIpv4':'192.0.2.0/24'}]}}}", &ev);
	assert_true(ev.rules_from_response);
	assert_int_equal(ev.nrules, 1);
	assert_int_equal(ev.nbad_rules, 1);
	assert_string_equal(ev.rules[0].rule_id, "sgr-2");
	assert_non_null(strstr(ev.parse_warning, "sgr-1"));
	event_free(&ev);
}

static void
test_time_parse(void **state)
{
	static const struct {
		const char	*text;
		long long	 t;
	} good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2024-08-01T12:23:55Z", 1722515035 },
		{ "2024-08-01T12:23:55.123Z", 1722515035 },
		{ "2024-08-01T14:23:55+02:00", 1722515035 },
		{ "2024-08-01T10:23:55-0200", 1722515035 },
		{ "2024-02-29T23:59:59Z", 1709251199 },
		{ "2000-03-01T00:00:00Z", 951868800 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
	};
	static const char *const bad[] = {
		"", "2024", "2024-08-01", "2024-08-01 12:23:55Z",
		"2024-08-01T12:23:55", "2024-13-01T00:00:00Z",
		"2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
		"2024-08-01T24:00:00Z", "2024-08-01T12:60:00Z",
		"2024-08-01T12:23:55ZZ", "2024-08-01T12:23:55.Z",
		"2024-08-01T12:23:55+2", "+024-08-01T12:23:55Z",
		"2024-08-01T12:23:55Z\n", "2024-8-01T12:23:55Z",
	};
	time_t t;
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(good); i++) {
		t = 12345;
		if (event_time_parse(good[i].text, &t) != 0)
			fail_msg("refused %s", good[i].text);
		assert_int_equal((long long)t, good[i].t);
	}
	for (i = 0; i < SG_ARRAY_LEN(bad); i++)
		if (event_time_parse(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(event_time_parse(NULL, &t), -1);
}

/* --- hostile input -------------------------------------------------- */

static void
test_not_a_record(void **state)
{
	struct sg_event ev;
	char err[256];

	must_fail("hello", "not JSON: line 1 column");
	must_fail("{\"eventID\":", "not JSON");
	must_fail("", "not JSON");
	must_fail("[]", "an array");
	must_fail("[{\"eventID\":\"x\"}]", "an array");
	must_fail("42", "not JSON");
	must_fail("{}", "no eventID");
	must_fail("{\"eventID\":\"e\",\"eventName\":\"X\"}", "no eventSource");
	must_fail("{\"eventID\":5,\"eventName\":\"X\",\"eventSource\":\"s\"}",
	    "eventID is not a string");
	must_fail("{\"eventID\":\"e\",\"eventName\":null,\"eventSource\":"
	    "\"s\"}", "no eventName");
	must_fail("{\"eventID\":\"e\",\"eventName\":\"\",\"eventSource\":"
	    "\"s\"}", "empty eventName");
	must_fail("{\"eventID\":\"e\",\"eventName\":\"X\",\"eventSource\":"
	    "{}}", "eventSource is not a string");
	/* Two values for one key: refused rather than guessed. */
	must_fail("{\"eventID\":\"e\",\"eventName\":\"X\",\"eventSource\":"
	    "\"s\",\"eventName\":\"Y\"}", "duplicate");
	/* A newline in the JSON error text stays out of the one line. */
	must_fail("{\"a\"\n:\n\x01}", "not JSON: line 3");

	assert_int_equal(event_parse(NULL, 0, &ev, err, sizeof(err)), -1);
	/* A tiny err buffer is fine. */
	assert_int_equal(event_parse("x", 1, &ev, err, 4), -1);
	assert_int_equal(strlen(err), 3);
	assert_int_equal(event_parse("x", 1, &ev, NULL, 0), -1);
	event_free(&ev);
}

/* Every prefix of a record fails cleanly; the whole one parses. */
static void
test_truncated(void **state)
{
	char *rec = q(INGRESS
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'tcp','fromPort':22,'toPort':22,"
	    "'ipRanges':{'items':[{'cidrIp':'0.0.0.0/0'}]}}]}},"
	    "'responseElements':{'securityGroupRuleSet':{'items':[{"
	    "'securityGroupRuleId':'sgr-1','ipProtocol':'tcp','fromPort':22,"
	    "'toPort':22,'cidrIpv4':'0.0.0.0/0'}]}}}");
	size_t len = strlen(rec), n;
	struct sg_event ev;
	char err[256];

	for (n = 0; n < len; n++) {
		assert_int_equal(event_parse(rec, n, &ev, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "not JSON"));
	}
	assert_int_equal(event_parse(rec, len, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.nrules, 1);
	event_free(&ev);
	free(rec);
}

static void
test_wrong_types(void **state)
{
	static const char *const recs[] = {
		"{'eventID':'e','eventName':'AuthorizeSecurityGroupIngress',"
		"'eventSource':'ec2.amazonaws.com','userIdentity':'alice',"
		"'requestParameters':[],'responseElements':'x',"
		"'eventTime':17,'awsRegion':{},'errorCode':[1],"
		"'userAgent':true}",
		"{'eventID':'e','eventName':'AuthorizeSecurityGroupIngress',"
		"'eventSource':'ec2.amazonaws.com','userIdentity':{'type':5,"
		"'arn':null,'sessionContext':[],'accessKeyId':{}},"
		"'requestParameters':{'groupId':[],'ipPermissions':'x'}}",
		"{'eventID':'e','eventName':'AuthorizeSecurityGroupIngress',"
		"'eventSource':'ec2.amazonaws.com','requestParameters':{"
		"'groupId':'sg-1','ipPermissions':{'items':{}},'cidrIp':5,"
		"'ipProtocol':[],'fromPort':{}}}",
		"{'eventID':'e','eventName':'AuthorizeSecurityGroupIngress',"
		"'eventSource':'ec2.amazonaws.com','requestParameters':{"
		"'groupId':'sg-1','ipPermissions':{'items':[null,[],1,{"
		"'ipProtocol':'tcp','fromPort':'2x','toPort':[],'ipRanges':5,"
		"'groups':{'items':[5,null,'x',{'groupId':7},{'userId':{}}]},"
		"'prefixListIds':{'items':[{'prefixListId':''}]}}]}}}",
		"{'eventID':'e','eventName':'AuthorizeSecurityGroupIngress',"
		"'eventSource':'ec2.amazonaws.com','responseElements':{"
		"'securityGroupRuleSet':{'items':[null,5,{},{'groupId':5,"
		"'securityGroupRuleId':{},'ipProtocol':null},{'ipProtocol':"
		"'tcp','fromPort':1e300,'toPort':-1e300,'cidrIpv4':'x'},{"
		"'ipProtocol':'tcp','fromPort':1,'toPort':1,"
		"'referencedGroupInfo':'sg-1'}]}}}",
		"{'eventID':'e','eventName':'AuthorizeSecurityGroupIngress',"
		"'eventSource':'ec2.amazonaws.com','requestParameters':{"
		"'ipPermissions':{'items':[{'ipProtocol':'tcp','fromPort':"
		"9223372036854775807,'toPort':-9223372036854775807,"
		"'ipRanges':{'items':[{'cidrIp':'1.2.3.4/32'}]}}]}}}",
	};
	struct sg_event ev;
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(recs); i++) {
		must_parse(recs[i], &ev);
		assert_complete(&ev);
		assert_int_equal(ev.nrules, 0);
		assert_true(ev.nbad_rules > 0);
		assert_string_not_equal(ev.parse_warning, "");
		event_free(&ev);
	}
}

static void
test_huge_strings(void **state)
{
	const size_t big = 1024 * 1024;
	struct sg_buf b;
	struct sg_event ev;
	char err[256];
	size_t i;

	/* 1 MB user agent (multi-byte, so the cut must respect UTF-8). */
	buf_init(&b);
	buf_puts(&b, "{\"eventID\":\"e\",\"eventName\":\"X\",\"eventSource\":"
	    "\"ec2.amazonaws.com\",\"userAgent\":\"ab");
	for (i = 0; i < big / 3; i++)
		buf_puts(&b, "\xe2\x82\xac");
	buf_puts(&b, "\",\"awsRegion\":\"");
	for (i = 0; i < big; i++)
		buf_putc(&b, 'r');
	buf_puts(&b, "\"}");
	assert_int_equal(event_parse(b.data, b.len, &ev, err, sizeof(err)), 0);
	/* Cut before the euro sign that straddles byte 4096. */
	assert_int_equal(strlen(ev.user_agent), 4094);
	assert_int_equal((strlen(ev.user_agent) - 2) % 3, 0);
	assert_true(strlen(ev.region) == 4096);
	assert_non_null(strstr(ev.parse_warning, "userAgent cut"));
	event_free(&ev);
	buf_free(&b);

	/* A 1 MB CIDR is just an unreadable rule. */
	buf_init(&b);
	buf_puts(&b, "{\"eventID\":\"e\",\"eventName\":"
	    "\"AuthorizeSecurityGroupIngress\",\"eventSource\":\"s\","
	    "\"requestParameters\":{\"groupId\":\"sg-1\",\"cidrIp\":\"1");
	for (i = 0; i < big; i++)
		buf_putc(&b, '0');
	buf_puts(&b, "/8\",\"ipProtocol\":\"tcp\",\"fromPort\":1,"
	    "\"toPort\":1}}");
	assert_int_equal(event_parse(b.data, b.len, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.nrules, 0);
	assert_int_equal(ev.nbad_rules, 1);
	event_free(&ev);
	buf_free(&b);

	/* Thousands of rules: capped, the rest counted as unreadable. */
	buf_init(&b);
	buf_puts(&b, "{\"eventID\":\"e\",\"eventName\":"
	    "\"AuthorizeSecurityGroupIngress\",\"eventSource\":\"s\","
	    "\"requestParameters\":{\"groupId\":\"sg-1\",\"ipPermissions\":{"
	    "\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":1,\"toPort\":1,"
	    "\"ipRanges\":{\"items\":[");
	for (i = 0; i < 5000; i++)
		buf_printf(&b, "%s{\"cidrIp\":\"10.%zu.%zu.0/24\"}",
		    i ? "," : "", i / 256, i % 256);
	buf_puts(&b, "]}}]}}}");
	assert_int_equal(event_parse(b.data, b.len, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.nrules, 4096);
	assert_int_equal(ev.nbad_rules, 5000 - 4096);
	assert_true(strlen(ev.parse_warning) < 1200);
	event_free(&ev);
	buf_free(&b);
}

static void
test_deep_nesting(void **state)
{
	const size_t depth = 100000;
	struct sg_buf b;
	struct sg_event ev;
	char err[256];
	size_t i;

	buf_init(&b);
	for (i = 0; i < depth; i++)
		buf_putc(&b, '[');
	assert_int_equal(event_parse(b.data, b.len, &ev, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not JSON"));
	buf_free(&b);

	/* Deep but within jansson's limit, in a field we read. */
	buf_init(&b);
	buf_puts(&b, "{\"eventID\":\"e\",\"eventName\":\"X\",\"eventSource\":"
	    "\"s\",\"userAgent\":");
	for (i = 0; i < 1000; i++)
		buf_puts(&b, "{\"a\":");
	buf_puts(&b, "1");
	for (i = 0; i < 1000; i++)
		buf_putc(&b, '}');
	buf_putc(&b, '}');
	assert_int_equal(event_parse(b.data, b.len, &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent, "");
	assert_non_null(strstr(ev.parse_warning, "userAgent"));
	event_free(&ev);
	buf_free(&b);
}

#define MINI(ua) "{\"eventID\":\"e\",\"eventName\":\"X\",\"eventSource\":" \
	"\"s\",\"eventTime\":\"2025-01-01T00:00:00Z\",\"userAgent\":\"" ua "\"}"

static void
test_control_and_unicode(void **state)
{
	static const char nul_tail[] = "{\"eventID\":\"e\",\"eventName\":"
	    "\"X\",\"eventSource\":\"s\",\"userAgent\":\"\x01\"}\0junk";
	struct sg_event ev;
	char err[256];
	const char *s;

	/* Escaped controls arrive raw (output sanitises them). */
	s = MINI("a\\u0001b\\nc");
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent, "a\001b\nc");
	assert_string_equal(ev.parse_warning, "");
	event_free(&ev);

	/* A NUL escape cannot shorten a string unseen. */
	s = MINI("a\\u0000b");
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent, "a?b");
	event_free(&ev);

	/* A valid surrogate pair. */
	s = MINI("\\ud83d\\ude00");
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent, "\xf0\x9f\x98\x80");
	event_free(&ev);

	/* Unpaired surrogates: the record is kept, the text repaired. */
	s = MINI("x\\ud800y\\udc00z\\uD800");
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent,
	    "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd");
	assert_non_null(strstr(ev.parse_warning, "3 invalid"));
	event_free(&ev);

	/* Raw control characters and invalid UTF-8 inside strings. */
	s = MINI("a\tb\001c\xff" "d\xc0\xaf" "e\xed\xa0\x80" "f");
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent, "a\tb\001c\xef\xbf\xbd" "d"
	    "\xef\xbf\xbd\xef\xbf\xbd" "e\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd" "f");
	event_free(&ev);

	/* An escaped quote before a raw control stays inside the string. */
	s = MINI("q\\\"\x01\\\\");
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent, "q\"\001\\");
	event_free(&ev);

	/* A raw NUL in the buffer. */
	assert_int_equal(event_parse(MINI("a\0b"), sizeof(MINI("a\0b")) - 1,
	    &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.user_agent, "a?b");
	event_free(&ev);

	/* A raw NUL outside strings never ends the record early, even
	 * when the repair pass runs. */
	assert_int_equal(event_parse(nul_tail, sizeof(nul_tail) - 1, &ev,
	    err, sizeof(err)), -1);

	/* Broken beyond repair: the first error is reported. */
	s = "{\"eventID\":\"e\xff\",}";
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not JSON: line 1"));
	/* Truncated escapes. */
	s = "{\"eventID\":\"\\ud8";
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)),
	    -1);
	s = "{\"eventID\":\"\\";
	assert_int_equal(event_parse(s, strlen(s), &ev, err, sizeof(err)),
	    -1);
}

/* Random damage to a good record: never a crash, always a clean answer
 * (run under ASan/UBSan by make test-san). */
static void
test_mutations(void **state)
{
	char *rec = q(HEAD("AuthorizeSecurityGroupIngress")
	    "'userIdentity':{'type':'AssumedRole','arn':'arn:aws:sts::1:"
	    "assumed-role/r/s','sessionContext':{'sessionIssuer':{'arn':"
	    "'arn:aws:iam::1:role/r'}}},"
	    "'requestParameters':{'groupId':'sg-12345678','ipPermissions':{"
	    "'items':[{'ipProtocol':'icmp','fromPort':8,'toPort':0,"
	    "'ipRanges':{'items':[{'cidrIp':'10.0.0.0/8'}]},'ipv6Ranges':{"
	    "'items':[{'cidrIpv6':'fd00::/8'}]},'groups':{'items':[{"
	    "'groupId':'sg-1','userId':'1'}]},'prefixListIds':{'items':[{"
	    "'prefixListId':'pl-1'}]}}]},'cidrIp':'1.2.3.4/32'},"
	    "'responseElements':{'securityGroupRuleSet':{'items':[{"
	    "'securityGroupRuleId':'sgr-1','ipProtocol':'-1','fromPort':-1,"
	    "'toPort':-1,'cidrIpv6':'::/0','isEgress':true}]}}}");
	static const char junk[] = "{}[]\":,\\u0-1e9 \x01\xff\x80tfn";
	size_t len = strlen(rec), i, k, pos;
	unsigned int seed = 12345;
	struct sg_event ev;
	char err[256];
	char *m;

	m = xmalloc(len + 1);
	for (i = 0; i < 20000; i++) {
		memcpy(m, rec, len + 1);
		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			pos = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			m[pos] = junk[(seed >> 8) % (sizeof(junk) - 1)];
		}
		if (event_parse(m, len, &ev, err, sizeof(err)) == 0) {
			assert_complete(&ev);
			event_free(&ev);
		} else {
			assert_string_not_equal(err, "");
			assert_null(ev.event_id);
		}
	}
	free(m);
	free(rec);
}

static void
test_rule_call_names(void **state)
{
	assert_true(event_is_rule_call("AuthorizeSecurityGroupIngress"));
	assert_true(event_is_rule_call("RevokeSecurityGroupEgress"));
	assert_false(event_is_rule_call("ModifySecurityGroupRules"));
	assert_false(event_is_rule_call("authorizesecuritygroupingress"));
	assert_false(event_is_rule_call(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_stratus),
		cmocka_unit_test(test_sample_stratus_legacy_request),
		cmocka_unit_test(test_sample_elastic_ingress),
		cmocka_unit_test(test_sample_elastic_egress),
		cmocka_unit_test(test_sample_streamalert),
		cmocka_unit_test(test_sample_lookup_page),
		cmocka_unit_test(test_ipv4_multi_cidr),
		cmocka_unit_test(test_two_permissions_mixed_sources),
		cmocka_unit_test(test_protocol_all),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_protocol_forms),
		cmocka_unit_test(test_legacy_form),
		cmocka_unit_test(test_group_name_only_source),
		cmocka_unit_test(test_cloudformation_response),
		cmocka_unit_test(test_numbers_not_ids),
		cmocka_unit_test(test_principals),
		cmocka_unit_test(test_failed_call),
		cmocka_unit_test(test_egress_hand_written),
		cmocka_unit_test(test_partly_unreadable),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_not_a_record),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_huge_strings),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_control_and_unicode),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_rule_call_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
