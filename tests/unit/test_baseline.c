/* test_baseline.c: baselines: snapshot, changes by allowed principals
 * (from real-shaped CloudTrail records), drift, and the persisted form. */
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
#include "rule.h"
#include "util.h"

#define GROUP_A	"sg-0123456789abcdef0"
#define GROUP_B	"sg-0fedcba9876543210"
#define REGION	"eu-west-1"

/* --- helpers --------------------------------------------------------- */

/* A rule of a group from the contract's notation. */
static struct sg_group_rule
gr(const char *group, const char *id, bool egress, const char *text,
    const char *desc)
{
	struct sg_group_rule g;
	char err[256];

	memset(&g, 0, sizeof(g));
	if (rule_pattern_parse(text, &g.rule, err, sizeof(err)) == -1)
		fail_msg("pattern %s: %s", text, err);
	g.rule.egress = egress;
	sg_strlcpy(g.rule.rule_id, id, sizeof(g.rule.rule_id));
	sg_strlcpy(g.group_id, group, sizeof(g.group_id));
	sg_strlcpy(g.description, desc != NULL ? desc : "",
	    sizeof(g.description));
	return g;
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

static void
add(struct sg_rule_set *set, const char *group, const char *id, bool egress,
    const char *text)
{
	struct sg_group_rule g = gr(group, id, egress, text, NULL);

	describe_rules_add(set, &g);
}

static bool
has(const struct sg_group_baseline *b, const char *id, const char *text,
    bool egress)
{
	struct sg_rule r = pat(text, egress);
	size_t i;

	for (i = 0; i < b->n; i++)
		if (rule_equal(&b->rules[i].rule, &r) &&
		    (id == NULL || strcmp(b->rules[i].rule.rule_id, id) == 0))
			return true;
	return false;
}

/* The group's rules at start: an office SSH rule, HTTPS for everyone, the
 * default egress rule, and one rule of another group. */
static void
start_rules(struct sg_rule_set *set)
{
	add(set, GROUP_A, "sgr-0000000000000000a", false, "tcp 22 10.0.0.0/8");
	add(set, GROUP_A, "sgr-0000000000000000b", false, "tcp 443 0.0.0.0/0");
	add(set, GROUP_A, "sgr-0000000000000000e", true, "all any 0.0.0.0/0");
	add(set, GROUP_B, "sgr-0000000000000000z", false,
	    "tcp 5432 10.0.0.0/8");
}

/* --- the set --------------------------------------------------------- */

static void
test_set_find_get_remove(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_group_baseline *b;
	char key[128];

	assert_null(baseline_find(&set, "prod", REGION, GROUP_A));
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	assert_non_null(b);
	assert_int_equal(set.n, 1);
	assert_ptr_equal(baseline_get(&set, "prod", REGION, GROUP_A), b);
	/* Same group id elsewhere is another baseline. */
	baseline_get(&set, "prod", "us-east-1", GROUP_A);
	baseline_get(&set, NULL, REGION, GROUP_A);
	assert_int_equal(set.n, 3);
	b = baseline_find(&set, "", REGION, GROUP_A);
	assert_non_null(b);
	baseline_key(b, key, sizeof(key));
	assert_string_equal(key, "/" REGION "/" GROUP_A);
	baseline_key(baseline_find(&set, "prod", "us-east-1", GROUP_A), key,
	    sizeof(key));
	assert_string_equal(key, "prod/us-east-1/" GROUP_A);
	baseline_remove(&set, "prod", REGION, GROUP_A);
	assert_int_equal(set.n, 2);
	assert_null(baseline_find(&set, "prod", REGION, GROUP_A));
	assert_non_null(baseline_find(&set, "prod", "us-east-1", GROUP_A));
	baseline_remove(&set, "nobody", REGION, GROUP_A);
	assert_int_equal(set.n, 2);
	baseline_set_free(&set);
	assert_int_equal(set.n, 0);
}

static void
test_snapshot(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_rule_set cur = { 0 };
	struct sg_group_baseline *b;

	start_rules(&cur);
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	baseline_snapshot(b, &cur, true);
	assert_int_equal(b->n, 3);
	assert_true(has(b, "sgr-0000000000000000a", "tcp 22 10.0.0.0/8",
	    false));
	assert_true(has(b, "sgr-0000000000000000e", "all any 0.0.0.0/0", true));
	/* Direction counts: the egress rule is no ingress rule. */
	assert_false(has(b, NULL, "all any 0.0.0.0/0", false));
	assert_false(has(b, NULL, "tcp 5432 10.0.0.0/8", false));
	/* A reload takes the rules anew. */
	baseline_snapshot(b, &cur, true);
	assert_int_equal(b->n, 3);
	/* baseline = allow: nothing but the patterns. */
	baseline_snapshot(b, &cur, false);
	assert_int_equal(b->n, 0);
	describe_rules_free(&cur);
	baseline_set_free(&set);
}

/* --- changes by allowed principals ----------------------------------- */

/* Records shaped as CloudTrail writes them (and the local AWS too). */
#define RECORD_HEAD(name)						\
	"{\"eventVersion\":\"1.10\",\"userIdentity\":{\"type\":" \
	"\"AssumedRole\",\"arn\":\"arn:aws:sts::123456789012:assumed-role/" \
	"NetworkAdmins/alice\",\"accountId\":\"123456789012\"}," \
	"\"eventTime\":\"2026-11-27T10:00:00Z\",\"eventSource\":" \
	"\"ec2.amazonaws.com\",\"eventName\":\"" name "\",\"awsRegion\":" \
	"\"" REGION "\",\"sourceIPAddress\":\"198.51.100.7\","		\
	"\"userAgent\":\"aws-cli/2.15\",\"eventID\":"			\
	"\"6c3b4a2e-1f0d-4e5c-9b8a-7d6e5f4a3b2c\",\"recipientAccountId\":" \
	"\"123456789012\","

static const char authorize_rec[] =
    RECORD_HEAD("AuthorizeSecurityGroupIngress")
    "\"requestParameters\":{\"groupId\":\"" GROUP_A "\",\"ipPermissions\":"
    "{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":8443,\"toPort\":8443,"
    "\"groups\":{},\"ipRanges\":{\"items\":[{\"cidrIp\":\"192.0.2.0/24\"}]},"
    "\"ipv6Ranges\":{},\"prefixListIds\":{}}]}},"
    "\"responseElements\":{\"requestId\":\"r1\",\"_return\":true,"
    "\"securityGroupRuleSet\":{\"items\":[{\"groupOwnerId\":\"123456789012\","
    "\"groupId\":\"" GROUP_A "\",\"securityGroupRuleId\":"
    "\"sgr-0000000000000000c\",\"isEgress\":false,\"ipProtocol\":\"tcp\","
    "\"fromPort\":8443,\"toPort\":8443,\"cidrIpv4\":\"192.0.2.0/24\"}]}}}";

static const char revoke_rec[] =
    RECORD_HEAD("RevokeSecurityGroupIngress")
    "\"requestParameters\":{\"groupId\":\"" GROUP_A "\",\"ipPermissions\":{},"
    "\"securityGroupRuleIds\":{\"items\":[{\"securityGroupRuleId\":"
    "\"sgr-0000000000000000b\"}]}},"
    "\"responseElements\":{\"requestId\":\"r2\",\"_return\":true,"
    "\"revokedSecurityGroupRuleSet\":{\"items\":[{\"securityGroupRuleId\":"
    "\"sgr-0000000000000000b\",\"groupId\":\"" GROUP_A "\",\"isEgress\":"
    "false,\"ipProtocol\":\"tcp\",\"fromPort\":443,\"toPort\":443,"
    "\"cidrIpv4\":\"0.0.0.0/0\"}]}}}";

/* Revoked by permission: no ids anywhere. */
static const char revoke_perm_rec[] =
    RECORD_HEAD("RevokeSecurityGroupEgress")
    "\"requestParameters\":{\"groupId\":\"" GROUP_A "\",\"ipPermissions\":"
    "{\"items\":[{\"ipProtocol\":\"-1\",\"groups\":{},\"ipRanges\":"
    "{\"items\":[{\"cidrIp\":\"0.0.0.0/0\"}]},\"ipv6Ranges\":{},"
    "\"prefixListIds\":{}}]}},"
    "\"responseElements\":{\"requestId\":\"r3\",\"_return\":true}}";

/* Revoked by id, and the answer does not say what went. */
static const char revoke_ids_rec[] =
    RECORD_HEAD("RevokeSecurityGroupIngress")
    "\"requestParameters\":{\"groupId\":\"" GROUP_A "\",\"ipPermissions\":{},"
    "\"securityGroupRuleIds\":{\"items\":[{\"securityGroupRuleId\":"
    "\"sgr-0000000000000000a\"},{\"securityGroupRuleId\":"
    "\"sgr-0000000000000dead\"}]}},"
    "\"responseElements\":{\"requestId\":\"r4\",\"_return\":true}}";

static const char failed_rec[] =
    RECORD_HEAD("RevokeSecurityGroupIngress")
    "\"errorCode\":\"Client.UnauthorizedOperation\",\"errorMessage\":\"no\","
    "\"requestParameters\":{\"groupId\":\"" GROUP_A "\",\"ipPermissions\":"
    "{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,"
    "\"ipRanges\":{\"items\":[{\"cidrIp\":\"10.0.0.0/8\"}]}}]}},"
    "\"responseElements\":null}";

static void
parse_event(const char *json, struct sg_event *ev)
{
	char err[256];

	if (event_parse(json, strlen(json), ev, err, sizeof(err)) == -1)
		fail_msg("event_parse: %s", err);
}

static void
test_apply_events(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_rule_set cur = { 0 };
	struct sg_group_baseline *b, *other;
	struct sg_event ev;
	char **ids;
	int nids;

	start_rules(&cur);
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	baseline_snapshot(b, &cur, true);
	other = baseline_get(&set, "prod", REGION, GROUP_B);
	baseline_snapshot(other, &cur, true);
	b = baseline_find(&set, "prod", REGION, GROUP_A);

	parse_event(authorize_rec, &ev);
	assert_int_equal(baseline_apply_event(b, &ev, NULL, 0), 1);
	assert_true(has(b, "sgr-0000000000000000c", "tcp 8443 192.0.2.0/24",
	    false));
	assert_string_equal(b->rules[b->n - 1].group_id, GROUP_A);
	/* The same record again (read twice in overlapping windows). */
	assert_int_equal(baseline_apply_event(b, &ev, NULL, 0), 0);
	assert_int_equal(b->n, 4);
	/* Not the other group's business. */
	assert_int_equal(baseline_apply_event(other, &ev, NULL, 0), 0);
	assert_int_equal(other->n, 1);
	event_free(&ev);

	parse_event(revoke_rec, &ev);
	assert_int_equal(baseline_apply_event(b, &ev, NULL, 0), 1);
	assert_false(has(b, NULL, "tcp 443 0.0.0.0/0", false));
	event_free(&ev);

	/* Removed by content: the default egress rule. */
	parse_event(revoke_perm_rec, &ev);
	assert_int_equal(ev.nrules, 1);
	assert_int_equal(baseline_apply_event(b, &ev, NULL, 0), 1);
	assert_false(has(b, NULL, "all any 0.0.0.0/0", true));
	event_free(&ev);

	/* Removed by id only: the ids come from requestParameters. */
	parse_event(revoke_ids_rec, &ev);
	assert_int_equal(ev.nrules, 0);
	nids = event_rule_ids(revoke_ids_rec, strlen(revoke_ids_rec), &ids);
	assert_int_equal(nids, 2);
	assert_string_equal(ids[0], "sgr-0000000000000000a");
	assert_int_equal(baseline_apply_event(b, &ev,
	    (const char *const *)ids, (size_t)nids), 1);
	assert_false(has(b, NULL, "tcp 22 10.0.0.0/8", false));
	event_rule_ids_free(ids, (size_t)nids);
	event_free(&ev);
	assert_int_equal(b->n, 1);

	/* A failed call changed nothing. */
	baseline_snapshot(b, &cur, true);
	parse_event(failed_rec, &ev);
	assert_int_equal(baseline_apply_event(b, &ev, NULL, 0), 0);
	assert_int_equal(b->n, 3);
	event_free(&ev);

	describe_rules_free(&cur);
	baseline_set_free(&set);
}

static const char modify_rec[] =
    RECORD_HEAD("ModifySecurityGroupRules")
    "\"requestParameters\":{\"ModifySecurityGroupRulesRequest\":{\"GroupId\":"
    "\"" GROUP_A "\",\"SecurityGroupRule\":[{\"SecurityGroupRuleId\":"
    "\"sgr-0000000000000000a\",\"SecurityGroupRule\":{\"IpProtocol\":\"tcp\","
    "\"FromPort\":22,\"ToPort\":22,\"CidrIpv4\":\"10.20.0.0/16\","
    "\"Description\":\"vpn only\"},\"tag\":1},{\"SecurityGroupRuleId\":"
    "\"sgr-0000000000000000e\",\"SecurityGroupRule\":{\"IpProtocol\":\"tcp\","
    "\"FromPort\":443,\"ToPort\":443,\"CidrIpv4\":\"0.0.0.0/0\"},\"tag\":2},"
    "{\"SecurityGroupRuleId\":\"sgr-0000000000000000n\",\"SecurityGroupRule\":"
    "{\"IpProtocol\":\"udp\",\"FromPort\":123,\"ToPort\":123,\"CidrIpv4\":"
    "\"10.0.0.0/8\"},\"tag\":3}]}},"
    "\"responseElements\":{\"ModifySecurityGroupRulesResponse\":{\"xmlns\":"
    "\"http://ec2.amazonaws.com/doc/2016-11-15/\",\"requestId\":\"r5\","
    "\"return\":true}}}";

static void
test_apply_modify(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_rule_set cur = { 0 }, now = { 0 };
	struct sg_group_baseline *b;
	struct sg_modify m;
	char err[256];

	start_rules(&cur);
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	baseline_snapshot(b, &cur, true);
	b->rules[0].description[0] = '\0';
	assert_int_equal(event_parse_modify(modify_rec, strlen(modify_rec), &m,
	    err, sizeof(err)), 0);

	/* Without the current rules the unknown rule's direction is not
	 * known: it is left for the next read. */
	assert_int_equal(baseline_apply_modify(b, &m, NULL), 2);
	assert_true(has(b, "sgr-0000000000000000a", "tcp 22 10.20.0.0/16",
	    false));
	assert_false(has(b, NULL, "tcp 22 10.0.0.0/8", false));
	assert_string_equal(b->rules[0].description, "vpn only");
	/* The egress rule stays egress in its new form. */
	assert_true(has(b, "sgr-0000000000000000e", "tcp 443 0.0.0.0/0", true));
	assert_false(has(b, NULL, "tcp 443 0.0.0.0/0", false) &&
	    !has(b, "sgr-0000000000000000b", "tcp 443 0.0.0.0/0", false));
	assert_int_equal(b->n, 3);
	/* Applied again: nothing new. */
	assert_int_equal(baseline_apply_modify(b, &m, NULL), 0);

	/* With them, the rule sgguard never saw joins in its direction. */
	add(&now, GROUP_A, "sgr-0000000000000000n", true, "udp 123 10.0.0.0/8");
	assert_int_equal(baseline_apply_modify(b, &m, &now), 1);
	assert_true(has(b, "sgr-0000000000000000n", "udp 123 10.0.0.0/8",
	    true));

	/* A refused call or another group's changes nothing. */
	m.refused = true;
	baseline_snapshot(b, &cur, true);
	assert_int_equal(baseline_apply_modify(b, &m, &now), 0);
	m.refused = false;
	sg_strlcpy(m.group_id, GROUP_B, sizeof(m.group_id));
	assert_int_equal(baseline_apply_modify(b, &m, &now), 0);
	assert_true(has(b, "sgr-0000000000000000a", "tcp 22 10.0.0.0/8",
	    false));

	event_modify_free(&m);
	describe_rules_free(&now);
	describe_rules_free(&cur);
	baseline_set_free(&set);
}

static void
test_adopt_ids(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_rule_set cur = { 0 }, now = { 0 };
	struct sg_group_baseline *b;

	start_rules(&cur);
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	baseline_snapshot(b, &cur, true);
	/* The SSH rule was revoked and added again: a new id. */
	add(&now, GROUP_A, "sgr-000000000000000a2", false, "tcp 22 10.0.0.0/8");
	add(&now, GROUP_A, "sgr-0000000000000000b", false, "tcp 443 0.0.0.0/0");
	add(&now, GROUP_B, "sgr-000000000000000e2", true, "all any 0.0.0.0/0");
	assert_int_equal(baseline_adopt_ids(b, &now), 1);
	assert_true(has(b, "sgr-000000000000000a2", "tcp 22 10.0.0.0/8",
	    false));
	/* Another group's rule lends no id. */
	assert_true(has(b, "sgr-0000000000000000e", "all any 0.0.0.0/0", true));
	assert_int_equal(baseline_adopt_ids(b, &now), 0);
	assert_int_equal(baseline_adopt_ids(b, NULL), 0);
	describe_rules_free(&now);
	describe_rules_free(&cur);
	baseline_set_free(&set);
}

/* --- drift ----------------------------------------------------------- */

static void
test_diff(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_rule_set cur = { 0 }, now = { 0 };
	struct sg_group_baseline *b;
	struct sg_rule allow[2];
	struct sg_drift d;

	start_rules(&cur);
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	baseline_snapshot(b, &cur, true);
	allow[0] = pat("tcp 80 0.0.0.0/0", false);
	allow[1] = pat("tcp 587 0.0.0.0/0", true);	/* allow_egress */
	/* The default egress rule would cover every egress rule to
	 * 0.0.0.0/0: make it narrower for this test. */
	assert_string_equal(b->rules[2].rule.rule_id, "sgr-0000000000000000e");
	b->rules[2].rule = pat("tcp 443 0.0.0.0/0", true);
	sg_strlcpy(b->rules[2].rule.rule_id, "sgr-0000000000000000e",
	    sizeof(b->rules[2].rule.rule_id));

	/* Unchanged SSH rule; HTTPS modified in place to a range; the
	 * default egress rule gone; new: RDP (unexpected), HTTP (allowed),
	 * SSH from a part of the office (new: unexpected too), SMTP
	 * out (unexpected egress), submission out (allowed egress), and
	 * port 80 out, which the ingress pattern does not cover. */
	add(&now, GROUP_A, "sgr-0000000000000000a", false, "tcp 22 10.0.0.0/8");
	add(&now, GROUP_A, "sgr-0000000000000000b", false,
	    "tcp 443-444 0.0.0.0/0");
	add(&now, GROUP_A, "sgr-0000000000000000x", false,
	    "tcp 3389 0.0.0.0/0");
	add(&now, GROUP_A, "sgr-0000000000000000y", false, "tcp 80 0.0.0.0/0");
	add(&now, GROUP_A, "sgr-0000000000000000z", false,
	    "tcp 22 10.1.0.0/16");
	add(&now, GROUP_A, "sgr-0000000000000000f", true, "tcp 25 0.0.0.0/0");
	add(&now, GROUP_A, "sgr-0000000000000000g", true, "tcp 587 0.0.0.0/0");
	add(&now, GROUP_A, "sgr-0000000000000000h", true, "tcp 80 0.0.0.0/0");
	add(&now, GROUP_B, "sgr-0000000000000000q", false, "tcp 23 0.0.0.0/0");

	baseline_diff(b, &now, allow, 2, false, &d);
	/* A new rule narrower than a baseline rule is still new: the
	 * baseline holds rules, it does not vouch for what they cover. */
	assert_int_equal(d.ingress.nunexpected, 2);
	assert_string_equal(d.ingress.unexpected[0].rule.rule_id,
	    "sgr-0000000000000000x");
	assert_string_equal(d.ingress.unexpected[1].rule.rule_id,
	    "sgr-0000000000000000z");
	assert_int_equal(d.ingress.nmodified, 1);
	assert_string_equal(d.ingress.modified[0].rule.rule_id,
	    "sgr-0000000000000000b");
	assert_int_equal(d.ingress.modified[0].rule.to_port, 444);
	assert_int_equal(d.ingress.was[0].rule.to_port, 443);
	assert_string_equal(d.ingress.was[0].rule.rule_id,
	    "sgr-0000000000000000b");
	/* Brought back by the modify-back: not also missing. */
	assert_int_equal(d.ingress.nmissing, 0);
	/* egress = ignore: nothing about egress. */
	assert_int_equal(d.egress.nunexpected + d.egress.nmissing +
	    d.egress.nmodified, 0);
	baseline_drift_free(&d);

	baseline_diff(b, &now, allow, 2, true, &d);
	assert_int_equal(d.ingress.nunexpected, 2);
	assert_int_equal(d.egress.nunexpected, 2);
	assert_string_equal(d.egress.unexpected[0].rule.rule_id,
	    "sgr-0000000000000000f");
	assert_string_equal(d.egress.unexpected[1].rule.rule_id,
	    "sgr-0000000000000000h");
	assert_int_equal(d.egress.nmissing, 1);
	assert_string_equal(d.egress.missing[0].rule.rule_id,
	    "sgr-0000000000000000e");
	assert_int_equal(d.egress.nmodified, 0);
	baseline_drift_free(&d);
	assert_null(d.egress.missing);

	describe_rules_free(&now);
	describe_rules_free(&cur);
	baseline_set_free(&set);
}

static void
test_diff_content_not_id(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_rule_set cur = { 0 }, now = { 0 };
	struct sg_group_baseline *b;
	struct sg_drift d;

	start_rules(&cur);
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	baseline_snapshot(b, &cur, true);

	/* Revoked and added again (new ids): nothing drifted. */
	add(&now, GROUP_A, "sgr-000000000000000a2", false, "tcp 22 10.0.0.0/8");
	add(&now, GROUP_A, "sgr-000000000000000b2", false, "tcp 443 0.0.0.0/0");
	add(&now, GROUP_A, "sgr-000000000000000e2", true, "all any 0.0.0.0/0");
	baseline_diff(b, &now, NULL, 0, true, &d);
	assert_int_equal(d.ingress.nunexpected + d.ingress.nmissing +
	    d.ingress.nmodified + d.egress.nunexpected + d.egress.nmissing +
	    d.egress.nmodified, 0);
	baseline_drift_free(&d);

	/* HTTPS narrowed in place to one network: covered, so kept, but
	 * its baseline form is missing (restore puts it back). */
	describe_rules_free(&now);
	add(&now, GROUP_A, "sgr-0000000000000000a", false, "tcp 22 10.0.0.0/8");
	add(&now, GROUP_A, "sgr-0000000000000000b", false,
	    "tcp 443 192.0.2.0/24");
	add(&now, GROUP_A, "sgr-0000000000000000e", true, "all any 0.0.0.0/0");
	baseline_diff(b, &now, NULL, 0, true, &d);
	assert_int_equal(d.ingress.nunexpected, 0);
	assert_int_equal(d.ingress.nmodified, 0);
	assert_int_equal(d.ingress.nmissing, 1);
	assert_int_equal(d.ingress.missing[0].rule.to_port, 443);
	assert_string_equal(d.ingress.missing[0].rule.cidr_text, "");
	baseline_drift_free(&d);

	/* Everything removed, and the baseline = allow case. */
	baseline_diff(b, NULL, NULL, 0, true, &d);
	assert_int_equal(d.ingress.nmissing, 2);
	assert_int_equal(d.egress.nmissing, 1);
	baseline_drift_free(&d);
	baseline_snapshot(b, &cur, false);
	baseline_diff(b, &cur, NULL, 0, false, &d);
	assert_int_equal(d.ingress.nunexpected, 2);
	assert_int_equal(d.ingress.nmissing, 0);
	baseline_drift_free(&d);

	describe_rules_free(&now);
	describe_rules_free(&cur);
	baseline_set_free(&set);
}

static void
test_covers_direction(void **state)
{
	struct sg_baseline_set set = { 0 };
	struct sg_rule_set cur = { 0 };
	struct sg_group_baseline *b;
	struct sg_rule allow = pat("tcp 25 0.0.0.0/0", false), r;

	start_rules(&cur);
	b = baseline_get(&set, "prod", REGION, GROUP_A);
	baseline_snapshot(b, &cur, true);
	/* The egress "all any 0.0.0.0/0" never vouches for ingress. */
	r = pat("tcp 3389 0.0.0.0/0", false);
	assert_false(baseline_covers(b, NULL, 0, &r));
	r.egress = true;
	assert_true(baseline_covers(b, NULL, 0, &r));
	r = pat("tcp 25 0.0.0.0/0", false);
	assert_true(baseline_covers(NULL, &allow, 1, &r));
	r.egress = true;
	assert_true(baseline_covers(b, &allow, 1, &r));
	assert_false(baseline_covers(NULL, &allow, 1, &r));
	describe_rules_free(&cur);
	baseline_set_free(&set);
}

/* --- restore parameters ---------------------------------------------- */

static void
test_authorize_params(void **state)
{
	/* botocore: authorize_security_group_egress(GroupId=A,
	 * IpPermissions=[...]) with one source per permission. */
	static const char *const want[] = {
		"GroupId=" GROUP_A,
		"IpPermissions.1.IpProtocol=tcp",
		"IpPermissions.1.FromPort=22",
		"IpPermissions.1.ToPort=22",
		"IpPermissions.1.IpRanges.1.CidrIp=10.1.2.3/16",
		"IpPermissions.1.IpRanges.1.Description=office",
		"IpPermissions.2.IpProtocol=-1",
		"IpPermissions.2.Groups.1.GroupId=" GROUP_B,
		"IpPermissions.2.Groups.1.UserId=210987654321",
		"IpPermissions.2.Groups.1.Description=peers",
		"IpPermissions.3.IpProtocol=udp",
		"IpPermissions.3.FromPort=53",
		"IpPermissions.3.ToPort=53",
		"IpPermissions.3.PrefixListIds.1.PrefixListId="
		    "pl-0123456789abcdef0",
		"IpPermissions.4.IpProtocol=icmpv6",
		"IpPermissions.4.FromPort=-1",
		"IpPermissions.4.ToPort=-1",
		"IpPermissions.4.Ipv6Ranges.1.CidrIpv6=::/0",
		"IpPermissions.4.Ipv6Ranges.1.Description=ping6",
	};
	struct sg_group_rule r[4];
	struct sg_kvlist l = { 0 };
	char got[256];
	size_t i;

	r[0] = gr(GROUP_A, "sgr-1", false, "tcp 22 10.0.0.0/8", "office");
	rule_cidr_parse("10.1.2.3/16", &r[0].rule);
	r[1] = gr(GROUP_A, "sgr-2", false, "all any " GROUP_B, "peers");
	sg_strlcpy(r[1].rule.user_id, "210987654321",
	    sizeof(r[1].rule.user_id));
	r[2] = gr(GROUP_A, "sgr-3", false, "udp 53 pl-0123456789abcdef0", NULL);
	r[3] = gr(GROUP_A, "sgr-4", false, "icmpv6 any ::/0", "ping6");
	ec2params_authorize(GROUP_A, r, 4, &l);
	for (i = 0; i < l.n && i < SG_ARRAY_LEN(want); i++) {
		snprintf(got, sizeof(got), "%s=%s", l.kv[i].name,
		    l.kv[i].value);
		assert_string_equal(got, want[i]);
	}
	assert_int_equal(l.n, SG_ARRAY_LEN(want));
	kvlist_free(&l);
}

/* --- persisted form -------------------------------------------------- */

static void
fill_set(struct sg_baseline_set *set)
{
	struct sg_group_baseline *b;
	struct sg_group_rule g;

	b = baseline_get(set, "prod", REGION, GROUP_A);
	g = gr(GROUP_A, "sgr-0000000000000000a", false, "tcp 22 10.0.0.0/8",
	    "office \"HQ\" \xc3\xa9t\xc3\xa9");
	rule_cidr_parse("10.1.2.3/8", &g.rule);
	baseline_add(b, &g);
	g = gr(GROUP_A, "sgr-0000000000000000b", false,
	    "tcp 443 2001:db8::/32", NULL);
	baseline_add(b, &g);
	g = gr(GROUP_A, "sgr-0000000000000000c", false,
	    "udp 53 pl-0123456789abcdef0", NULL);
	baseline_add(b, &g);
	g = gr(GROUP_A, "sgr-0000000000000000d", false, "all any " GROUP_B,
	    "peers");
	sg_strlcpy(g.rule.user_id, "210987654321", sizeof(g.rule.user_id));
	baseline_add(b, &g);
	g = gr(GROUP_A, "", true, "icmp 3/4 0.0.0.0/0", NULL);
	baseline_add(b, &g);
	/* An account name with '/' still splits right; an empty one too. */
	baseline_get(set, "odd/name", "us-east-1", GROUP_B)->allow_only = true;
	baseline_get(set, "odd/name", "us-east-1", GROUP_B)->unguarded_since =
	    1800000000;
	b = baseline_get(set, NULL, "us-east-1", GROUP_A);
	g = gr(GROUP_A, "sgr-0000000000000000e", true, "all any 0.0.0.0/0",
	    NULL);
	baseline_add(b, &g);
}

static void
test_roundtrip(void **state)
{
	struct sg_baseline_set set = { 0 }, back = { 0 };
	struct sg_group_baseline *a, *b;
	char *text, *again, err[256];
	size_t i, j;

	fill_set(&set);
	text = baseline_serialize(&set);
	assert_non_null(strstr(text, "\"prod/" REGION "/" GROUP_A "\""));
	assert_non_null(strstr(text, "\"cidr\": \"10.1.2.3/8\""));
	assert_int_equal(baseline_parse(text, strlen(text), &back, err,
	    sizeof(err)), 0);
	assert_int_equal(back.n, set.n);
	for (i = 0; i < set.n; i++) {
		a = &set.v[i];
		b = baseline_find(&back, a->account, a->region, a->group_id);
		assert_non_null(b);
		assert_int_equal(b->n, a->n);
		assert_int_equal(b->allow_only, a->allow_only);
		for (j = 0; j < a->n; j++) {
			assert_true(rule_equal(&a->rules[j].rule,
			    &b->rules[j].rule));
			assert_string_equal(a->rules[j].rule.rule_id,
			    b->rules[j].rule.rule_id);
			/* As reported when known; else formatted. */
			if (a->rules[j].rule.cidr_text[0] != '\0')
				assert_string_equal(a->rules[j].rule.cidr_text,
				    b->rules[j].rule.cidr_text);
			assert_string_equal(a->rules[j].rule.user_id,
			    b->rules[j].rule.user_id);
			assert_string_equal(a->rules[j].description,
			    b->rules[j].description);
			assert_string_equal(b->rules[j].group_id,
			    a->group_id);
		}
	}
	assert_non_null(baseline_find(&back, "odd/name", "us-east-1",
	    GROUP_B));
	assert_true(baseline_find(&back, "odd/name", "us-east-1",
	    GROUP_B)->allow_only);
	assert_non_null(strstr(text, "\"mode\": \"allow\""));
	/* Since when a group is not guarded: kept; absent while it is. */
	assert_int_equal(baseline_find(&back, "odd/name", "us-east-1",
	    GROUP_B)->unguarded_since, 1800000000);
	assert_int_equal(baseline_find(&back, "", "us-east-1",
	    GROUP_A)->unguarded_since, 0);
	assert_non_null(strstr(text, "\"unguarded_since\": 1800000000"));
	/* A file from before "mode": snapshots. */
	{
		struct sg_baseline_set old = { 0 };
		const char *j1 = "{\"version\":1,\"baselines\":{\"/us-east-1/"
		    GROUP_A "\":{\"rules\":[],\"taken\":5}}}";

		assert_int_equal(baseline_parse(j1, strlen(j1), &old, err,
		    sizeof(err)), 0);
		assert_false(old.v[0].allow_only);
		baseline_set_free(&old);
	}
	/* Stable: the same text again. */
	again = baseline_serialize(&back);
	assert_string_equal(text, again);
	free(again);
	free(text);
	baseline_set_free(&back);
	baseline_set_free(&set);
}

static void
test_parse_refused(void **state)
{
	static const struct {
		const char	*json;
		const char	*why;
	} bad[] = {
		{ "[]", "version" },
		{ "{\"version\":2,\"baselines\":{}}", "version 1" },
		{ "{\"version\":1}", "baselines" },
		{ "{\"version\":1,\"baselines\":{\"sg-1\":{\"rules\":[]}}}",
		    "bad key" },
		{ "{\"version\":1,\"baselines\":{\"a/r/\":{\"rules\":[]}}}",
		    "bad key" },
		{ "{\"version\":1,\"baselines\":{\"a/r/g\":{}}}", "rules" },
		{ "{\"version\":1,\"baselines\":{\"a/r/g\":{\"rules\":[{\"id\":"
		    "\"x\",\"egress\":false,\"proto\":6,\"from\":1,"
		    "\"to\":2}]}}}", "exactly one" },
		{ "{\"version\":1,\"baselines\":{\"a/r/g\":{\"rules\":[{\"id\":"
		    "\"x\",\"egress\":false,\"proto\":6,\"from\":1,\"to\":2,"
		    "\"cidr\":\"10.0.0.0/8\",\"group\":\"sg-12345678\"}]}}}",
		    "exactly one" },
		{ "{\"version\":1,\"baselines\":{\"a/r/g\":{\"rules\":[{\"id\":"
		    "\"x\",\"egress\":false,\"proto\":300,\"from\":1,\"to\":2,"
		    "\"cidr\":\"10.0.0.0/8\"}]}}}", "out of range" },
		{ "{\"version\":1,\"baselines\":{\"a/r/g\":{\"rules\":[{\"id\":"
		    "\"x\",\"egress\":false,\"proto\":6,\"from\":9,\"to\":2,"
		    "\"cidr\":\"10.0.0.0/8\"}]}}}", "bad port range" },
		{ "{\"version\":1,\"baselines\":{\"a/r/g\":{\"rules\":[{\"id\":"
		    "\"x\",\"egress\":\"no\",\"proto\":6,\"from\":1,\"to\":2,"
		    "\"cidr\":\"10.0.0.0/8\"}]}}}", "needs id" },
		{ "{\"version\":1,\"baselines\":{\"a/r/g\":{\"rules\":[{\"id\":"
		    "\"x\",\"egress\":false,\"proto\":6,\"from\":1,\"to\":2,"
		    "\"cidr\":\"10.0.0.0\"}]}}}", "CIDR" },
		{ "{\"version\":1,\"version\":1,\"baselines\":{}}",
		    "not JSON" },
		{ "{\"version\":1,\"baselines\":", "not JSON" },
	};
	struct sg_baseline_set set = { 0 };
	char err[256], *text;
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
		fill_set(&set);
		if (baseline_parse(bad[i].json, strlen(bad[i].json), &set, err,
		    sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].json);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" does not say %s", bad[i].json,
			    err, bad[i].why);
		assert_int_equal(set.n, 0);
	}
	/* An empty file of the right kind is fine. */
	text = (char *)"{\"version\":1,\"baselines\":{}}";
	assert_int_equal(baseline_parse(text, strlen(text), &set, err,
	    sizeof(err)), 0);
	assert_int_equal(set.n, 0);
	baseline_set_free(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_find_get_remove),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_apply_events),
		cmocka_unit_test(test_apply_modify),
		cmocka_unit_test(test_adopt_ids),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_content_not_id),
		cmocka_unit_test(test_covers_direction),
		cmocka_unit_test(test_authorize_params),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
