/* test_modify.c: ModifySecurityGroupRules records (the shape the local
 * AWS recorder writes and public CloudTrail consumers read), the plan
 * that answers them, and the ModifySecurityGroupRules parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "describe.h"
#include "ec2params.h"
#include "event.h"
#include "event_modify.h"
#include "modify.h"
#include "rule.h"
#include "util.h"

#define GROUP_A	"sg-0123456789abcdef0"
#define GROUP_B	"sg-0fedcba9876543210"
#define RULE_1	"sgr-0aaaaaaaaaaaaaaa1"
#define RULE_2	"sgr-0bbbbbbbbbbbbbbb2"
#define RULE_3	"sgr-0ccccccccccccccc3"

#define HEAD								\
	"{\"eventVersion\":\"1.10\",\"userIdentity\":{\"type\":\"IAMUser\"," \
	"\"arn\":\"arn:aws:iam::111122223333:user/mallory\",\"accountId\":" \
	"\"111122223333\",\"accessKeyId\":\"AKIAEXAMPLEMALLORY1\"}," \
	"\"eventTime\":\"2026-11-27T10:00:00Z\",\"eventSource\":" \
	"\"ec2.amazonaws.com\",\"eventName\":\"ModifySecurityGroupRules\"," \
	"\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"203.0.113.9\"," \
	"\"userAgent\":\"aws-cli/2.15\","
#define TAIL								\
	",\"responseElements\":{\"ModifySecurityGroupRulesResponse\":"	\
	"{\"xmlns\":\"http://ec2.amazonaws.com/doc/2016-11-15/\"," \
	"\"requestId\":\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\",\"return\":" \
	"true}},\"requestID\":\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\"," \
	"\"eventID\":\"9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9\",\"readOnly\":" \
	"false,\"eventType\":\"AwsApiCall\",\"managementEvent\":true,"	\
	"\"recipientAccountId\":\"111122223333\",\"eventCategory\":" \
	"\"Management\"}"

/* One rule: the recorder writes the item as an object, with "tag". */
static const char rec_one[] = HEAD
    "\"requestParameters\":{\"ModifySecurityGroupRulesRequest\":{\"GroupId\":"
    "\"" GROUP_A "\",\"SecurityGroupRule\":{\"SecurityGroupRuleId\":"
    "\"" RULE_1 "\",\"SecurityGroupRule\":{\"IpProtocol\":\"tcp\","
    "\"FromPort\":22,\"ToPort\":22,\"CidrIpv4\":\"0.0.0.0/0\","
    "\"Description\":\"opened\"},\"tag\":1}}}" TAIL;

/* Two rules: an array. */
static const char rec_two[] = HEAD
    "\"requestParameters\":{\"ModifySecurityGroupRulesRequest\":{\"GroupId\":"
    "\"" GROUP_A "\",\"SecurityGroupRule\":[{\"SecurityGroupRuleId\":"
    "\"" RULE_1 "\",\"SecurityGroupRule\":{\"IpProtocol\":\"tcp\","
    "\"FromPort\":22,\"ToPort\":22,\"CidrIpv4\":\"0.0.0.0/0\","
    "\"Description\":\"opened\"},\"tag\":1},{\"SecurityGroupRuleId\":"
    "\"" RULE_2 "\",\"SecurityGroupRule\":{\"IpProtocol\":\"-1\","
    "\"ReferencedGroupId\":\"" GROUP_B "\"},\"tag\":2}]}}" TAIL;

static void
parse(const char *json, struct sg_modify *m)
{
	char err[256];

	if (event_parse_modify(json, strlen(json), m, err, sizeof(err)) == -1)
		fail_msg("event_parse_modify: %s", err);
}

static struct sg_rule
pat(const char *text, bool egress)
{
	struct sg_rule r;
	char err[256];

	if (rule_pattern_parse(text, &r, err, sizeof(err)) == -1)
		fail_msg("pattern %s: %s", text, err);
	r.egress = egress;
	return r;
}

static struct sg_group_rule
gr(const char *id, bool egress, const char *text, const char *desc)
{
	struct sg_group_rule g;

	memset(&g, 0, sizeof(g));
	g.rule = pat(text, egress);
	sg_strlcpy(g.rule.rule_id, id, sizeof(g.rule.rule_id));
	sg_strlcpy(g.group_id, GROUP_A, sizeof(g.group_id));
	sg_strlcpy(g.description, desc != NULL ? desc : "",
	    sizeof(g.description));
	return g;
}

/* --- the record ------------------------------------------------------ */

static void
test_parse_one(void **state)
{
	struct sg_modify m;
	struct sg_rule want = pat("tcp 22 0.0.0.0/0", false);
	struct sg_event ev;
	char err[256];

	parse(rec_one, &m);
	assert_string_equal(m.group_id, GROUP_A);
	assert_int_equal(m.nrules, 1);
	assert_int_equal(m.nbad, 0);
	assert_false(m.dry_run);
	assert_false(m.refused);
	assert_string_equal(m.warning, "");
	assert_string_equal(m.rules[0].rule_id, RULE_1);
	assert_string_equal(m.rules[0].rule.rule_id, RULE_1);
	assert_true(m.rules[0].readable);
	assert_true(rule_equal(&m.rules[0].rule, &want));
	assert_true(m.rules[0].has_description);
	assert_string_equal(m.rules[0].description, "opened");
	event_modify_free(&m);
	assert_null(m.rules);

	/* event.c reads the rest of the same record as usual. */
	assert_int_equal(event_parse(rec_one, strlen(rec_one), &ev, err,
	    sizeof(err)), 0);
	assert_string_equal(ev.event_name, "ModifySecurityGroupRules");
	assert_int_equal(ev.nrules, 0);
	event_free(&ev);
}

static void
test_parse_two(void **state)
{
	struct sg_modify m;

	parse(rec_two, &m);
	assert_int_equal(m.nrules, 2);
	assert_string_equal(m.rules[1].rule_id, RULE_2);
	assert_true(m.rules[1].readable);
	assert_int_equal(m.rules[1].rule.proto, SG_PROTO_ALL);
	assert_int_equal(m.rules[1].rule.src, SG_SRC_GROUP);
	assert_string_equal(m.rules[1].rule.ref_id, GROUP_B);
	assert_false(m.rules[1].has_description);
	event_modify_free(&m);
}

static void
test_parse_other_forms(void **state)
{
	/* {"items":[...]} lists, lowerCamel keys, string ports, a
	 * numeric protocol, IPv6 and prefix lists. */
	static const char rec[] = HEAD
	    "\"requestParameters\":{\"modifySecurityGroupRulesRequest\":"
	    "{\"groupId\":\"" GROUP_A "\",\"securityGroupRule\":{\"items\":["
	    "{\"securityGroupRuleId\":\"" RULE_1 "\",\"securityGroupRule\":"
	    "{\"ipProtocol\":6,\"fromPort\":\"8000\",\"toPort\":\"8080\","
	    "\"cidrIpv6\":\"2001:db8::/32\"}},{\"SecurityGroupRuleId\":"
	    "\"" RULE_2 "\",\"SecurityGroupRule\":{\"IpProtocol\":\"UDP\","
	    "\"FromPort\":53,\"ToPort\":53.0,\"PrefixListId\":"
	    "\"pl-0123456789abcdef0\"}}]}}}" TAIL;
	struct sg_modify m;
	struct sg_rule want;

	parse(rec, &m);
	assert_int_equal(m.nrules, 2);
	assert_int_equal(m.nbad, 0);
	want = pat("tcp 8000-8080 2001:db8::/32", false);
	assert_true(m.rules[0].readable);
	assert_true(rule_equal(&m.rules[0].rule, &want));
	want = pat("udp 53 pl-0123456789abcdef0", false);
	assert_true(m.rules[1].readable);
	assert_true(rule_equal(&m.rules[1].rule, &want));
	event_modify_free(&m);
}

static void
test_parse_unreadable(void **state)
{
	static const char rec[] = HEAD
	    "\"requestParameters\":{\"ModifySecurityGroupRulesRequest\":"
	    "{\"GroupId\":\"" GROUP_A "\",\"DryRun\":false,"
	    "\"SecurityGroupRule\":["
	    "{\"SecurityGroupRule\":{\"IpProtocol\":\"tcp\",\"FromPort\":1,"
	    "\"ToPort\":1,\"CidrIpv4\":\"0.0.0.0/0\"}},"
	    "{\"SecurityGroupRuleId\":\"" RULE_1 "\",\"SecurityGroupRule\":"
	    "{\"IpProtocol\":\"tcp\",\"FromPort\":80,\"ToPort\":22,"
	    "\"CidrIpv4\":\"0.0.0.0/0\"}},"
	    "{\"SecurityGroupRuleId\":\"" RULE_2 "\",\"SecurityGroupRule\":"
	    "{\"IpProtocol\":\"tcp\",\"FromPort\":80,\"ToPort\":80,"
	    "\"CidrIpv4\":\"0.0.0.0/0\",\"CidrIpv6\":\"::/0\"}},"
	    "{\"SecurityGroupRuleId\":\"" RULE_3 "\"},"
	    "{\"SecurityGroupRuleId\":42},"
	    "\"junk\"]}}" TAIL;
	struct sg_modify m;

	parse(rec, &m);
	/* Items with an id are kept, unreadable: they still get reverted. */
	assert_int_equal(m.nrules, 3);
	assert_int_equal(m.nbad, 3);
	assert_false(m.rules[0].readable);
	assert_false(m.rules[1].readable);
	assert_false(m.rules[2].readable);
	assert_string_equal(m.rules[2].rule_id, RULE_3);
	assert_non_null(strstr(m.warning, RULE_1 ": bad port range 80-22"));
	assert_non_null(strstr(m.warning, RULE_2 ": more than one source"));
	assert_non_null(strstr(m.warning, RULE_3 ": no SecurityGroupRule"));
	assert_non_null(strstr(m.warning, "item 1: no usable"));
	event_modify_free(&m);
}

static void
test_parse_flags_and_errors(void **state)
{
	static const char dry[] = HEAD
	    "\"requestParameters\":{\"ModifySecurityGroupRulesRequest\":"
	    "{\"GroupId\":\"" GROUP_A "\"},\"dryRun\":true},"
	    "\"responseElements\":{\"ModifySecurityGroupRulesResponse\":"
	    "{\"return\":false}},\"eventID\":\"e\"}";
	static const char other[] =
	    "{\"eventName\":\"AuthorizeSecurityGroupIngress\","
	    "\"requestParameters\":{\"groupId\":\"sg-12345678\"}}";
	static const char none[] =
	    "{\"eventName\":\"ModifySecurityGroupRules\","
	    "\"requestParameters\":{\"groupId\":\"sg-12345678\"}}";
	struct sg_modify m;
	char err[256];

	parse(dry, &m);
	assert_true(m.dry_run);
	assert_true(m.refused);
	assert_int_equal(m.nrules, 0);
	assert_int_equal(m.nbad, 1);
	assert_non_null(strstr(m.warning, "names no rule"));
	event_modify_free(&m);

	assert_int_equal(event_parse_modify("{", 1, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(event_parse_modify(other, strlen(other), &m, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "not a ModifySecurityGroupRules record");
	assert_int_equal(event_parse_modify(none, strlen(none), &m, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "ModifySecurityGroupRulesRequest"));
	assert_int_equal(event_parse_modify(NULL, 0, &m, err, sizeof(err)),
	    -1);
}

static void
test_rule_ids(void **state)
{
	/* As the recorder writes a RevokeSecurityGroupIngress by ids. */
	static const char rec[] =
	    "{\"eventName\":\"RevokeSecurityGroupIngress\","
	    "\"requestParameters\":{\"groupId\":\"" GROUP_A "\","
	    "\"ipPermissions\":{},\"securityGroupRuleIds\":{\"items\":["
	    "{\"securityGroupRuleId\":\"" RULE_1 "\"},{\"securityGroupRuleId\":"
	    "\"" RULE_2 "\"},{\"securityGroupRuleId\":7},{}]}}}";
	static const char none[] =
	    "{\"eventName\":\"RevokeSecurityGroupIngress\","
	    "\"requestParameters\":{\"groupId\":\"" GROUP_A "\"}}";
	char **ids;
	int n;

	n = event_rule_ids(rec, strlen(rec), &ids);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], RULE_1);
	assert_string_equal(ids[1], RULE_2);
	event_rule_ids_free(ids, (size_t)n);
	assert_int_equal(event_rule_ids(none, strlen(none), &ids), 0);
	assert_null(ids);
	assert_int_equal(event_rule_ids("nope", 4, &ids), -1);
}

/* --- the plan -------------------------------------------------------- */

struct fixture {
	struct sg_baseline_set	 set;
	struct sg_group_baseline *b;
	struct sg_rule_set	 now;
	struct sg_rule		 allow[2];
	struct sg_modify	 m;
	struct sg_modify_plan	 plan;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct sg_group_rule g;

	f->b = baseline_get(&f->set, "", "us-east-1", GROUP_A);
	g = gr(RULE_1, false, "tcp 22 10.0.0.0/8", "office");
	baseline_add(f->b, &g);
	g = gr(RULE_2, true, "tcp 443 0.0.0.0/0", NULL);
	baseline_add(f->b, &g);
	f->allow[0] = pat("tcp 8443 0.0.0.0/0", false);
	f->allow[1] = pat("udp 123 0.0.0.0/0", true);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	baseline_set_free(&f->set);
	describe_rules_free(&f->now);
	event_modify_free(&f->m);
	modify_plan_free(&f->plan);
	free(f);
	return 0;
}

/* A call changing id to text, and the group read afterwards. */
static void
change(struct fixture *f, const char *id, const char *text, bool egress_now)
{
	struct sg_group_rule g;

	f->m.rules = xreallocarray(f->m.rules, f->m.nrules + 1,
	    sizeof(*f->m.rules));
	memset(&f->m.rules[f->m.nrules], 0, sizeof(*f->m.rules));
	sg_strlcpy(f->m.rules[f->m.nrules].rule_id, id,
	    sizeof(f->m.rules[0].rule_id));
	if (text != NULL) {
		f->m.rules[f->m.nrules].rule = pat(text, false);
		f->m.rules[f->m.nrules].readable = true;
	}
	sg_strlcpy(f->m.rules[f->m.nrules].rule.rule_id, id,
	    sizeof(f->m.rules[0].rule.rule_id));
	f->m.nrules++;
	sg_strlcpy(f->m.group_id, GROUP_A, sizeof(f->m.group_id));
	g = gr(id, egress_now, text != NULL ? text : "tcp 1 1.1.1.1/32", NULL);
	describe_rules_add(&f->now, &g);
}

static void
test_plan_restore(void **state)
{
	/* botocore: modify_security_group_rules(GroupId=A,
	 * SecurityGroupRules=[{SecurityGroupRuleId: RULE_1,
	 * SecurityGroupRule: {IpProtocol: tcp, FromPort: 22, ToPort: 22,
	 * CidrIpv4: 10.0.0.0/8, Description: office}}]) */
	static const char *const want[] = {
		"GroupId=" GROUP_A,
		"SecurityGroupRule.1.SecurityGroupRuleId=" RULE_1,
		"SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp",
		"SecurityGroupRule.1.SecurityGroupRule.FromPort=22",
		"SecurityGroupRule.1.SecurityGroupRule.ToPort=22",
		"SecurityGroupRule.1.SecurityGroupRule.CidrIpv4=10.0.0.0/8",
		"SecurityGroupRule.1.SecurityGroupRule.Description=office",
	};
	struct fixture *f = *state;
	struct sg_kvlist l = { 0 };
	struct sg_group_rule g;
	char got[256];
	size_t i;

	/* The record, and the group as read after it. */
	parse(rec_one, &f->m);
	g = gr(RULE_1, false, "tcp 22 0.0.0.0/0", "opened");
	describe_rules_add(&f->now, &g);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.nrestore, 1);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_RESTORE);
	assert_true(f->plan.steps[0].egress_known);
	assert_false(f->plan.steps[0].egress);
	assert_string_equal(f->plan.steps[0].previous.rule.rule_id, RULE_1);
	assert_string_equal(f->plan.steps[0].reason,
	    RULE_1 " back to tcp 22 10.0.0.0/8");
	assert_string_equal(modify_action_name(f->plan.steps[0].action),
	    "restore");
	assert_int_equal(modify_plan_params(&f->plan, &l), 1);
	for (i = 0; i < l.n && i < SG_ARRAY_LEN(want); i++) {
		snprintf(got, sizeof(got), "%s=%s", l.kv[i].name,
		    l.kv[i].value);
		assert_string_equal(got, want[i]);
	}
	assert_int_equal(l.n, SG_ARRAY_LEN(want));
	kvlist_free(&l);
}

static void
test_plan_keep_covered(void **state)
{
	struct fixture *f = *state;

	/* Narrower than its baseline form; an allowed port. */
	change(f, RULE_1, "tcp 22 10.20.0.0/16", false);
	change(f, RULE_3, "tcp 8443 0.0.0.0/0", false);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.nkeep, 2);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_KEEP);
	assert_non_null(strstr(f->plan.steps[0].reason, "covered"));
	assert_int_equal(f->plan.steps[1].action, SG_MODIFY_KEEP);
	/* Nothing to send. */
	{
		struct sg_kvlist l = { 0 };

		assert_int_equal(modify_plan_params(&f->plan, &l), 0);
		assert_int_equal(l.n, 0);
	}
}

static void
test_plan_revoke_unknown(void **state)
{
	struct fixture *f = *state;

	/* Not in the baseline: no previous form. The egress pattern does
	 * not cover an ingress rule. */
	change(f, RULE_3, "udp 123 0.0.0.0/0", false);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.nrevoke, 1);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_REVOKE);
	assert_true(f->plan.steps[0].egress_known);
	assert_false(f->plan.steps[0].egress);
	assert_non_null(strstr(f->plan.steps[0].reason,
	    "previous form unknown"));
	modify_plan_free(&f->plan);

	/* Without the group's rules the direction is unknown too. */
	modify_plan(&f->m, f->b, f->allow, 2, NULL, false, &f->plan);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_REVOKE);
	assert_false(f->plan.steps[0].egress_known);
}

static void
test_plan_gone_and_back(void **state)
{
	struct fixture *f = *state;
	struct sg_group_rule g;

	change(f, RULE_1, "tcp 22 0.0.0.0/0", false);
	/* Read afterwards: the rule is back as it was (someone fixed it). */
	describe_rules_free(&f->now);
	g = gr(RULE_1, false, "tcp 22 10.0.0.0/8", "office");
	describe_rules_add(&f->now, &g);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_KEEP);
	assert_non_null(strstr(f->plan.steps[0].reason, "already back"));
	modify_plan_free(&f->plan);

	/* Read afterwards: the rule is gone. */
	describe_rules_free(&f->now);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.ngone, 1);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_GONE);
}

/* Changed again after the call, into another form: that later call's
 * record decides; this one's change is not put back over it. */
static void
test_plan_changed_again(void **state)
{
	struct fixture *f = *state;
	struct sg_group_rule g;

	change(f, RULE_1, "tcp 22 0.0.0.0/0", false);
	describe_rules_free(&f->now);
	g = gr(RULE_1, false, "tcp 8443 10.0.0.0/8", NULL);
	describe_rules_add(&f->now, &g);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.nrestore, 0);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_KEEP);
	assert_string_equal(f->plan.steps[0].reason, RULE_1 " was changed "
	    "again since (now tcp 8443 10.0.0.0/8): the record of that change "
	    "decides");
	modify_plan_free(&f->plan);
	/* Still in this call's form: put back. */
	describe_rules_free(&f->now);
	g = gr(RULE_1, false, "tcp 22 0.0.0.0/0", NULL);
	describe_rules_add(&f->now, &g);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_RESTORE);
}

static void
test_plan_egress(void **state)
{
	struct fixture *f = *state;

	change(f, RULE_2, "tcp 25 0.0.0.0/0", true);
	/* egress = ignore: left alone. */
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	assert_int_equal(f->plan.nkeep, 1);
	assert_non_null(strstr(f->plan.steps[0].reason, "egress is ignored"));
	modify_plan_free(&f->plan);
	/* audit/enforce: judged in the egress direction. */
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, true, &f->plan);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_RESTORE);
	assert_true(f->plan.steps[0].egress);
	assert_true(f->plan.steps[0].change.rule.egress);
	modify_plan_free(&f->plan);
	event_modify_free(&f->m);
	memset(&f->m, 0, sizeof(f->m));
	describe_rules_free(&f->now);
	/* A form the egress baseline covers is kept. */
	change(f, RULE_2, "tcp 443 198.51.100.0/24", true);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, true, &f->plan);
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_KEEP);
}

static void
test_plan_unreadable_and_unparsed(void **state)
{
	struct fixture *f = *state;

	change(f, RULE_1, NULL, false);
	f->m.nbad = 2;
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, false, &f->plan);
	/* A form sgguard cannot read is covered by nothing. */
	assert_int_equal(f->plan.steps[0].action, SG_MODIFY_RESTORE);
	assert_int_equal(f->plan.nunparsed, 2);
}

/* The whole path: record -> plan -> parameters, two rules, one kept. */
static void
test_plan_from_record(void **state)
{
	static const char *const want[] = {
		"GroupId=" GROUP_A,
		"SecurityGroupRule.1.SecurityGroupRuleId=" RULE_2,
		"SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp",
		"SecurityGroupRule.1.SecurityGroupRule.FromPort=443",
		"SecurityGroupRule.1.SecurityGroupRule.ToPort=443",
		"SecurityGroupRule.1.SecurityGroupRule.CidrIpv4=0.0.0.0/0",
		"SecurityGroupRule.1.SecurityGroupRule.Description=",
	};
	struct fixture *f = *state;
	struct sg_kvlist l = { 0 };
	struct sg_group_rule g;
	char got[256];
	size_t i;

	/* RULE_1 -> tcp 22 0.0.0.0/0 and RULE_2 (egress 443) -> all to a
	 * group; allow_egress has nothing for that. */
	parse(rec_two, &f->m);
	g = gr(RULE_1, false, "tcp 22 0.0.0.0/0", NULL);
	describe_rules_add(&f->now, &g);
	g = gr(RULE_2, true, "all any " GROUP_B, NULL);
	describe_rules_add(&f->now, &g);
	f->allow[0] = pat("tcp 22 0.0.0.0/0", false);
	modify_plan(&f->m, f->b, f->allow, 2, &f->now, true, &f->plan);
	assert_int_equal(f->plan.nkeep, 1);
	assert_int_equal(f->plan.nrestore, 1);
	assert_int_equal(modify_plan_params(&f->plan, &l), 1);
	for (i = 0; i < l.n && i < SG_ARRAY_LEN(want); i++) {
		snprintf(got, sizeof(got), "%s=%s", l.kv[i].name,
		    l.kv[i].value);
		assert_string_equal(got, want[i]);
	}
	assert_int_equal(l.n, SG_ARRAY_LEN(want));
	kvlist_free(&l);
}

static void
test_modify_params_sources(void **state)
{
	struct sg_group_rule r[3];
	struct sg_kvlist l = { 0 };

	r[0] = gr(RULE_1, false, "icmp 8 2001:db8::/32", NULL);
	r[1] = gr(RULE_2, false, "udp 53 pl-0123456789abcdef0", "dns");
	r[2] = gr(RULE_3, false, "all any " GROUP_B, NULL);
	ec2params_modify(GROUP_A, r, 3, &l);
	assert_int_equal(l.n, 1 + 6 + 6 + 4);
	assert_string_equal(l.kv[2].value, "icmp");
	assert_string_equal(l.kv[4].name,
	    "SecurityGroupRule.1.SecurityGroupRule.ToPort");
	assert_string_equal(l.kv[4].value, "-1");
	assert_string_equal(l.kv[5].name,
	    "SecurityGroupRule.1.SecurityGroupRule.CidrIpv6");
	assert_string_equal(l.kv[5].value, "2001:db8::/32");
	assert_string_equal(l.kv[11].name,
	    "SecurityGroupRule.2.SecurityGroupRule.PrefixListId");
	assert_string_equal(l.kv[12].value, "dns");
	assert_string_equal(l.kv[14].value, "-1");
	assert_string_equal(l.kv[15].name,
	    "SecurityGroupRule.3.SecurityGroupRule.ReferencedGroupId");
	assert_string_equal(l.kv[15].value, GROUP_B);
	kvlist_free(&l);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_one),
		cmocka_unit_test(test_parse_two),
		cmocka_unit_test(test_parse_other_forms),
		cmocka_unit_test(test_parse_unreadable),
		cmocka_unit_test(test_parse_flags_and_errors),
		cmocka_unit_test(test_rule_ids),
		T(test_plan_restore),
		T(test_plan_keep_covered),
		T(test_plan_revoke_unknown),
		T(test_plan_gone_and_back),
		T(test_plan_changed_again),
		T(test_plan_egress),
		T(test_plan_unreadable_and_unparsed),
		T(test_plan_from_record),
		cmocka_unit_test(test_modify_params_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
