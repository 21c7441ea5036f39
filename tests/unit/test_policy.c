/* test_policy.c: policy_decide, one contract clause per test, and
 * policy_glob_match including hostile patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "event.h"
#include "policy.h"
#include "rule.h"
#include "util.h"

#define GROUP_A	"sg-0123456789abcdef0"
#define GROUP_B	"sg-0aaaabbbbccccdddd"
#define MALLORY	"arn:aws:iam::111122223333:user/mallory"

/* --- fixtures ------------------------------------------------------- */

static struct sg_config	 cfg;
static struct sg_event	 ev;
static struct sg_rule	 ev_rules[16];
static struct sg_plan	 plan;

static int
setup(void **state)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.region = xstrdup("us-east-1");
	memset(&ev, 0, sizeof(ev));
	ev.event_id = (char *)"11111111-2222-3333-4444-555555555555";
	ev.event_name = (char *)"AuthorizeSecurityGroupIngress";
	ev.event_source = (char *)"ec2.amazonaws.com";
	ev.event_time_text = (char *)"2025-01-02T03:04:05Z";
	ev.region = (char *)"eu-west-1";
	ev.account = (char *)"111122223333";
	ev.error_code = (char *)"";
	ev.error_message = (char *)"";
	ev.principal_type = SG_PRINCIPAL_IAM_USER;
	ev.principal_type_text = (char *)"IAMUser";
	ev.principal_arn = (char *)MALLORY;
	ev.issuer_arn = (char *)"";
	ev.invoked_by = (char *)"";
	ev.access_key_id = (char *)"AKIAMALLORY";
	ev.source_ip = (char *)"198.51.100.7";
	ev.user_agent = (char *)"aws-cli/2";
	ev.group_id = (char *)GROUP_A;
	ev.group_name = (char *)"";
	ev.parse_warning = (char *)"";
	ev.rules = ev_rules;
	memset(&plan, 0, sizeof(plan));
	return 0;
}

static int
teardown(void **state)
{
	size_t i, j;

	for (i = 0; i < cfg.ngroups; i++) {
		free(cfg.groups[i].region);
		free(cfg.groups[i].allow);
		for (j = 0; j < cfg.groups[i].nprincipals; j++)
			free(cfg.groups[i].principals[j]);
		free(cfg.groups[i].principals);
	}
	free(cfg.groups);
	free(cfg.region);
	policy_plan_free(&plan);
	return 0;
}

/* Watch a group. allow and principals are NULL-terminated lists; region
 * NULL means the [aws] default. */
static struct sg_group_cfg *
watch(const char *id, const char *region, const char *const *allow,
    const char *const *principals)
{
	struct sg_group_cfg *g;
	char err[256];
	size_t i;

	cfg.groups = xreallocarray(cfg.groups, cfg.ngroups + 1,
	    sizeof(*cfg.groups));
	g = &cfg.groups[cfg.ngroups++];
	memset(g, 0, sizeof(*g));
	sg_strlcpy(g->id, id, sizeof(g->id));
	g->region = region != NULL ? xstrdup(region) : NULL;
	for (i = 0; allow != NULL && allow[i] != NULL; i++) {
		g->allow = xreallocarray(g->allow, i + 1, sizeof(*g->allow));
		if (rule_pattern_parse(allow[i], &g->allow[i], err,
		    sizeof(err)) != 0)
			fail_msg("pattern %s: %s", allow[i], err);
		g->nallow = i + 1;
	}
	for (i = 0; principals != NULL && principals[i] != NULL; i++) {
		g->principals = xreallocarray(g->principals, i + 1,
		    sizeof(*g->principals));
		g->principals[i] = xstrdup(principals[i]);
		g->nprincipals = i + 1;
	}
	return g;
}

/* Add a concrete rule to the event, written as a pattern would be. */
static struct sg_rule *
add_rule(const char *text, const char *rule_id)
{
	struct sg_rule *r;
	char err[256];

	assert_true(ev.nrules < SG_ARRAY_LEN(ev_rules));
	r = &ev_rules[ev.nrules++];
	if (rule_pattern_parse(text, r, err, sizeof(err)) != 0)
		fail_msg("rule %s: %s", text, err);
	sg_strlcpy(r->rule_id, rule_id, sizeof(r->rule_id));
	r->egress = ev.egress;
	return r;
}

static void
decide(enum sg_verdict want, const char *reason_part)
{
	policy_plan_free(&plan);
	assert_int_equal(policy_decide(&cfg, &ev, NULL, &plan), 0);
	if (plan.verdict != want)
		fail_msg("verdict %s, want %s (%s)",
		    policy_verdict_name(plan.verdict),
		    policy_verdict_name(want), plan.reason);
	if (reason_part != NULL && strstr(plan.reason, reason_part) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", plan.reason,
		    reason_part);
}

static const char *const OPEN_443[] = { "tcp 443 0.0.0.0/0", NULL };

/* --- the clauses of "What counts as unauthorized" -------------------- */

static void
test_not_ec2(void **state)
{
	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 22 0.0.0.0/0", "");
	ev.event_source = (char *)"vpc-lattice.amazonaws.com";
	decide(SG_VERDICT_IGNORE,
	    "not an EC2 call (eventSource vpc-lattice.amazonaws.com)");
	assert_null(plan.group);
	assert_int_equal(plan.nrevoke, 0);
}

static void
test_failed_call_ignored(void **state)
{
	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 22 0.0.0.0/0", "");
	ev.error_code = (char *)"Client.UnauthorizedOperation";
	decide(SG_VERDICT_IGNORE,
	    "failed call (errorCode Client.UnauthorizedOperation)");
	assert_int_equal(plan.nrevoke, 0);
}

static void
test_not_adding_ignored(void **state)
{
	static const char *const names[] = {
		"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
		"ModifySecurityGroupRules", "CreateSecurityGroup",
		"RunInstances",
	};
	size_t i;

	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 22 0.0.0.0/0", "");
	for (i = 0; i < SG_ARRAY_LEN(names); i++) {
		ev.event_name = (char *)names[i];
		decide(SG_VERDICT_IGNORE, "not a rule-adding call");
		assert_non_null(strstr(plan.reason, names[i]));
	}
}

static void
test_unwatched_ignored(void **state)
{
	watch(GROUP_B, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 22 0.0.0.0/0", "");
	decide(SG_VERDICT_IGNORE, "group " GROUP_A " is not watched");
	assert_null(plan.group);

	/* CloudFormation without the answer's rule set: no id to go by. */
	ev.group_id = (char *)"";
	ev.group_name = (char *)"web-sg";
	decide(SG_VERDICT_IGNORE, "no group id in the record, group name "
	    "web-sg");
	ev.group_name = (char *)"";
	decide(SG_VERDICT_IGNORE, "no group id in the record");
}

static void
test_wrong_region_ignored(void **state)
{
	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 22 0.0.0.0/0", "");
	ev.region = (char *)"us-east-1";
	decide(SG_VERDICT_IGNORE, "group " GROUP_A " is watched in "
	    "eu-west-1, the call was in us-east-1");
	assert_null(plan.group);
	ev.region = (char *)"";
	decide(SG_VERDICT_IGNORE, "the call was in no region");
	/* Region names are exact. */
	ev.region = (char *)"EU-WEST-1";
	decide(SG_VERDICT_IGNORE, "watched in eu-west-1");
	ev.region = (char *)"eu-west-1";
	decide(SG_VERDICT_REVERT, NULL);
}

static void
test_region_default_and_duplicates(void **state)
{
	/* No region of its own: the [aws] region (us-east-1). */
	watch(GROUP_A, NULL, NULL, NULL);
	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 443 0.0.0.0/0", "");
	ev.region = (char *)"us-east-1";
	decide(SG_VERDICT_REVERT, NULL);
	assert_ptr_equal(plan.group, &cfg.groups[0]);
	/* The same id in another region is another group. */
	ev.region = (char *)"eu-west-1";
	decide(SG_VERDICT_RULES_ALLOWED, NULL);
	assert_ptr_equal(plan.group, &cfg.groups[1]);
}

static void
test_own_call_ignored(void **state)
{
	const char *const keys[] = { "ASIAOLDSGGUARDKEY", "AKIAMALLORY" };
	const char *const other[] = { "", NULL, "ASIAOTHER" };
	struct sg_self self = { keys, 2 }, self2 = { other, 3 };

	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 22 0.0.0.0/0", "");
	assert_int_equal(policy_decide(&cfg, &ev, &self, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_IGNORE);
	assert_non_null(strstr(plan.reason, "own call"));
	policy_plan_free(&plan);

	/* Empty and NULL entries match nothing, not even an empty key. */
	assert_int_equal(policy_decide(&cfg, &ev, &self2, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_REVERT);
	policy_plan_free(&plan);
	ev.access_key_id = (char *)"";
	assert_int_equal(policy_decide(&cfg, &ev, &self2, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_REVERT);
}

static void
test_iam_user_allowed(void **state)
{
	const char *const pr[] = {
		"arn:aws:iam::*:role/NetworkAdmins",
		"arn:aws:iam::*:user/net-*",
		NULL,
	};
	const struct sg_group_cfg *g;

	g = watch(GROUP_A, "eu-west-1", NULL, pr);
	add_rule("tcp 22 0.0.0.0/0", "sgr-0000000000000000a");
	ev.principal_arn = (char *)"arn:aws:iam::111122223333:user/net-ops";
	decide(SG_VERDICT_PRINCIPAL_ALLOWED, NULL);
	assert_string_equal(plan.reason, "principal arn:aws:iam::"
	    "111122223333:user/net-ops matches allow_principal "
	    "arn:aws:iam::*:user/net-*");
	assert_ptr_equal(plan.matched_principal, g->principals[1]);
	assert_ptr_equal(plan.group, g);
	assert_int_equal(plan.nrevoke, 0);
	assert_int_equal(plan.nkeep, 0);

	/* ARNs are case-sensitive. */
	ev.principal_arn = (char *)"arn:aws:iam::111122223333:user/NET-ops";
	decide(SG_VERDICT_REVERT, NULL);
	assert_null(plan.matched_principal);
}

static void
test_assumed_role_allowed_by_issuer(void **state)
{
	const char *const pr[] = { "arn:aws:iam::*:role/NetworkAdmins",
	    NULL };

	watch(GROUP_A, "eu-west-1", NULL, pr);
	add_rule("tcp 22 0.0.0.0/0", "");
	ev.principal_type = SG_PRINCIPAL_ASSUMED_ROLE;
	ev.principal_arn = (char *)"arn:aws:sts::111122223333:assumed-role/"
	    "NetworkAdmins/jane";
	ev.issuer_arn = (char *)"arn:aws:iam::111122223333:role/"
	    "NetworkAdmins";
	decide(SG_VERDICT_PRINCIPAL_ALLOWED, "session issuer "
	    "arn:aws:iam::111122223333:role/NetworkAdmins matches "
	    "allow_principal arn:aws:iam::*:role/NetworkAdmins");

	/* Another role with a session named like the allowed role. */
	ev.principal_arn = (char *)"arn:aws:sts::111122223333:assumed-role/"
	    "Dev/NetworkAdmins";
	ev.issuer_arn = (char *)"arn:aws:iam::111122223333:role/Dev";
	decide(SG_VERDICT_REVERT, NULL);

	/* Only assumed roles count by their issuer. */
	ev.principal_type = SG_PRINCIPAL_FEDERATED_USER;
	ev.principal_arn = (char *)"arn:aws:sts::111122223333:"
	    "federated-user/jane";
	ev.issuer_arn = (char *)"arn:aws:iam::111122223333:role/"
	    "NetworkAdmins";
	decide(SG_VERDICT_REVERT, NULL);
}

static void
test_assumed_role_allowed_by_session_arn(void **state)
{
	const char *const pr[] = {
	    "arn:aws:sts::111122223333:assumed-role/NetworkAdmins/*", NULL };

	watch(GROUP_A, "eu-west-1", NULL, pr);
	add_rule("tcp 22 0.0.0.0/0", "");
	ev.principal_type = SG_PRINCIPAL_ASSUMED_ROLE;
	ev.principal_arn = (char *)"arn:aws:sts::111122223333:assumed-role/"
	    "NetworkAdmins/jane";
	ev.issuer_arn = (char *)"arn:aws:iam::111122223333:role/"
	    "NetworkAdmins";
	decide(SG_VERDICT_PRINCIPAL_ALLOWED, "principal arn:aws:sts::");
}

static void
test_aws_service(void **state)
{
	const char *const arn_glob[] = { "arn:*", NULL };
	const char *const svc_glob[] = { "*elasticloadbalancing.amazonaws.com",
	    NULL };
	const char *const star[] = { "*", NULL };

	add_rule("tcp 80 0.0.0.0/0", "");
	ev.principal_type = SG_PRINCIPAL_AWS_SERVICE;
	ev.principal_arn = (char *)"";
	ev.invoked_by = (char *)"elasticloadbalancing.amazonaws.com";

	/* An ARN glob never admits a caller without an ARN. */
	watch(GROUP_A, "eu-west-1", NULL, arn_glob);
	decide(SG_VERDICT_REVERT, NULL);
	teardown(state);
	setup(state);
	add_rule("tcp 80 0.0.0.0/0", "");
	ev.principal_type = SG_PRINCIPAL_AWS_SERVICE;
	ev.principal_arn = (char *)"";
	ev.invoked_by = (char *)"elasticloadbalancing.amazonaws.com";

	watch(GROUP_A, "eu-west-1", NULL, svc_glob);
	decide(SG_VERDICT_PRINCIPAL_ALLOWED, "principal "
	    "elasticloadbalancing.amazonaws.com matches");
	ev.invoked_by = (char *)"ec2.amazonaws.com";
	decide(SG_VERDICT_REVERT, NULL);

	/* invokedBy does not stand in for a caller that has an ARN. */
	teardown(state);
	setup(state);
	add_rule("tcp 80 0.0.0.0/0", "");
	watch(GROUP_A, "eu-west-1", NULL, svc_glob);
	ev.invoked_by = (char *)"elasticloadbalancing.amazonaws.com";
	decide(SG_VERDICT_REVERT, NULL);

	/* "*" admits everyone, services included. */
	teardown(state);
	setup(state);
	add_rule("tcp 80 0.0.0.0/0", "");
	watch(GROUP_A, "eu-west-1", NULL, star);
	ev.principal_type = SG_PRINCIPAL_AWS_SERVICE;
	ev.principal_arn = (char *)"";
	ev.invoked_by = (char *)"elasticloadbalancing.amazonaws.com";
	decide(SG_VERDICT_PRINCIPAL_ALLOWED, NULL);
}

static void
test_not_allowed_revert(void **state)
{
	const char *const pr[] = { "arn:aws:iam::*:role/NetworkAdmins",
	    NULL };

	watch(GROUP_A, "eu-west-1", OPEN_443, pr);
	add_rule("tcp 22 0.0.0.0/0", "sgr-0000000000000000a");
	decide(SG_VERDICT_REVERT, "1 of 1 rules not covered");
	assert_int_equal(plan.nrevoke, 1);
	assert_int_equal(plan.nkeep, 0);
	assert_int_equal(plan.nunparsed, 0);
	assert_string_equal(plan.revoke[0].rule_id, "sgr-0000000000000000a");
	assert_true(rule_equal(&plan.revoke[0], &ev_rules[0]));
	assert_false(plan.egress);
}

static void
test_mixed_call(void **state)
{
	const char *const allow[] = {
		"tcp 443 0.0.0.0/0",
		"tcp 22 10.0.0.0/8",
		"udp 1000-2000 192.0.2.0/24",
		NULL,
	};

	watch(GROUP_A, "eu-west-1", allow, NULL);
	add_rule("tcp 443 0.0.0.0/0", "sgr-0000000000000000a");
	add_rule("tcp 22 0.0.0.0/0", "sgr-0000000000000000b");
	add_rule("tcp 22 10.1.2.0/24", "sgr-0000000000000000c");
	add_rule("udp 1500-1600 192.0.2.128/25", "sgr-0000000000000000d");
	add_rule("udp 1500-2001 192.0.2.128/25", "sgr-0000000000000000e");
	add_rule("tcp 22 8.0.0.0/7", "");
	decide(SG_VERDICT_REVERT, "3 of 6 rules not covered");
	assert_int_equal(plan.nkeep, 3);
	assert_string_equal(plan.keep[0].rule_id, "sgr-0000000000000000a");
	assert_string_equal(plan.keep[1].rule_id, "sgr-0000000000000000c");
	assert_string_equal(plan.keep[2].rule_id, "sgr-0000000000000000d");
	assert_int_equal(plan.nrevoke, 3);
	assert_string_equal(plan.revoke[0].rule_id, "sgr-0000000000000000b");
	assert_string_equal(plan.revoke[1].rule_id, "sgr-0000000000000000e");
	/* Without a rule id the rule itself is the plan. */
	assert_string_equal(plan.revoke[2].rule_id, "");
	assert_true(rule_equal(&plan.revoke[2], &ev_rules[5]));
}

static void
test_all_rules_allowed(void **state)
{
	const char *const allow[] = { "tcp 443 0.0.0.0/0", "tcp 443 ::/0",
	    NULL };

	watch(GROUP_A, "eu-west-1", allow, NULL);
	add_rule("tcp 443 0.0.0.0/0", "sgr-1");
	decide(SG_VERDICT_RULES_ALLOWED, "the rule is covered");
	add_rule("tcp 443 ::/0", "sgr-2");
	decide(SG_VERDICT_RULES_ALLOWED, "all rules are covered");
	assert_int_equal(plan.nkeep, 2);
	assert_int_equal(plan.nrevoke, 0);
	assert_non_null(plan.group);
}

static void
test_ipv6_vs_ipv4(void **state)
{
	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	add_rule("tcp 443 ::/0", "");
	decide(SG_VERDICT_REVERT, NULL);
	teardown(state);
	setup(state);

	{
		const char *const v6[] = { "tcp 443 2001:db8::/32", NULL };

		watch(GROUP_A, "eu-west-1", v6, NULL);
		add_rule("tcp 443 2001:db8:1::/48", "");
		add_rule("tcp 443 2001:db9::/48", "");
		add_rule("tcp 443 0.0.0.0/0", "");
		/* The IPv4 address with the bytes of 2001:0db8. */
		add_rule("tcp 443 32.1.13.184/32", "");
		decide(SG_VERDICT_REVERT, "3 of 4");
		assert_int_equal(plan.nkeep, 1);
	}
}

static void
test_prefix_list_and_group_sources(void **state)
{
	const char *const allow[] = {
		"tcp 5432 pl-0123456789abcdef0",
		"tcp 8080-8090 sg-0fedcba9876543210",
		"all any sg-12345678",
		NULL,
	};
	struct sg_rule *r;

	watch(GROUP_A, "eu-west-1", allow, NULL);
	add_rule("tcp 5432 pl-0123456789abcdef0", "sgr-1");
	add_rule("tcp 5432 pl-0123456789abcdef1", "sgr-2");
	r = add_rule("tcp 8081 sg-0fedcba9876543210", "sgr-3");
	sg_strlcpy(r->user_id, "444455556666", sizeof(r->user_id));
	add_rule("tcp 8081 sg-0fedcba9876543211", "sgr-4");
	add_rule("all any sg-12345678", "sgr-5");
	/* A prefix list is not a CIDR, and a group is not a prefix list. */
	add_rule("tcp 5432 0.0.0.0/0", "sgr-6");
	add_rule("tcp 8081 pl-0fedcba9876543210", "sgr-7");
	decide(SG_VERDICT_REVERT, "4 of 7");
	assert_int_equal(plan.nkeep, 3);
	assert_string_equal(plan.keep[0].rule_id, "sgr-1");
	assert_string_equal(plan.keep[1].rule_id, "sgr-3");
	assert_string_equal(plan.keep[1].user_id, "444455556666");
	assert_string_equal(plan.keep[2].rule_id, "sgr-5");
	assert_string_equal(plan.revoke[0].rule_id, "sgr-2");
	assert_string_equal(plan.revoke[1].rule_id, "sgr-4");
	assert_string_equal(plan.revoke[2].rule_id, "sgr-6");
	assert_string_equal(plan.revoke[3].rule_id, "sgr-7");
}

static void
test_icmp(void **state)
{
	const char *const allow[] = {
		"icmp 8 10.0.0.0/8",		/* echo, any code */
		"icmp 3/4 0.0.0.0/0",		/* frag needed only */
		"icmpv6 any ::/0",
		NULL,
	};

	watch(GROUP_A, "eu-west-1", allow, NULL);
	add_rule("icmp 8/0 10.1.0.0/16", "sgr-1");
	add_rule("icmp 8 10.1.0.0/16", "sgr-2");
	add_rule("icmp 3/4 203.0.113.0/24", "sgr-3");
	add_rule("icmpv6 128 2001:db8::/32", "sgr-4");
	add_rule("icmp any 10.0.0.0/8", "sgr-5");	/* every type */
	add_rule("icmp 3/3 0.0.0.0/0", "sgr-6");
	add_rule("icmp 0/0 10.0.0.0/8", "sgr-7");
	add_rule("icmpv6 any 0.0.0.0/0", "sgr-8");	/* v6 proto, v4 CIDR */
	decide(SG_VERDICT_REVERT, "4 of 8");
	assert_int_equal(plan.nkeep, 4);
	assert_string_equal(plan.keep[0].rule_id, "sgr-1");
	assert_string_equal(plan.keep[1].rule_id, "sgr-2");
	assert_string_equal(plan.keep[2].rule_id, "sgr-3");
	assert_string_equal(plan.keep[3].rule_id, "sgr-4");
	assert_string_equal(plan.revoke[0].rule_id, "sgr-5");
	assert_string_equal(plan.revoke[1].rule_id, "sgr-6");
	assert_string_equal(plan.revoke[2].rule_id, "sgr-7");
	assert_string_equal(plan.revoke[3].rule_id, "sgr-8");
}

static void
test_protocol_all_needs_all_any(void **state)
{
	const char *const wide[] = {
		"tcp any 0.0.0.0/0",
		"udp any 0.0.0.0/0",
		"icmp any 0.0.0.0/0",
		"all 0-65535 0.0.0.0/0",
		NULL,
	};
	const char *const all[] = { "all any 10.0.0.0/8", NULL };

	watch(GROUP_A, "eu-west-1", wide, NULL);
	add_rule("all any 10.0.0.0/8", "sgr-1");
	add_rule("tcp 22 10.0.0.0/8", "sgr-2");
	decide(SG_VERDICT_REVERT, "1 of 2");
	assert_string_equal(plan.revoke[0].rule_id, "sgr-1");
	teardown(state);
	setup(state);

	watch(GROUP_A, "eu-west-1", all, NULL);
	add_rule("all any 10.1.0.0/16", "sgr-1");
	add_rule("tcp 22 10.0.0.0/8", "sgr-2");
	add_rule("47 any 10.0.0.0/8", "sgr-3");
	add_rule("all any 0.0.0.0/0", "sgr-4");
	decide(SG_VERDICT_REVERT, "1 of 4");
	assert_string_equal(plan.revoke[0].rule_id, "sgr-4");
}

static void
test_unreadable_rules(void **state)
{
	const char *const pr[] = { "arn:aws:iam::*:user/alice", NULL };

	watch(GROUP_A, "eu-west-1", OPEN_443, pr);
	/* Nothing readable at all: still a revert (reported as failed). */
	ev.nbad_rules = 1;
	decide(SG_VERDICT_REVERT, "0 of 0 readable rules not covered by any "
	    "allow pattern, 1 unreadable");
	assert_int_equal(plan.nrevoke, 0);
	assert_int_equal(plan.nunparsed, 1);

	/* Readable rules authorized, one unreadable: not authorized. */
	add_rule("tcp 443 0.0.0.0/0", "sgr-1");
	decide(SG_VERDICT_REVERT, "1 unreadable");
	assert_int_equal(plan.nkeep, 1);
	assert_int_equal(plan.nrevoke, 0);

	/* An allowed principal may add what sgguard cannot read. */
	ev.principal_arn = (char *)"arn:aws:iam::111122223333:user/alice";
	decide(SG_VERDICT_PRINCIPAL_ALLOWED, NULL);
	assert_int_equal(plan.nunparsed, 0);
}

static void
test_egress(void **state)
{
	const char *const allow[] = { "tcp 443 0.0.0.0/0", NULL };

	watch(GROUP_A, "eu-west-1", allow, NULL);
	ev.event_name = (char *)"AuthorizeSecurityGroupEgress";
	ev.egress = true;
	add_rule("tcp 443 0.0.0.0/0", "sgr-1");
	add_rule("tcp 4444 73.21.4.36/32", "sgr-2");
	/* `allow` patterns are ingress: every egress rule is in the plan;
	 * the caller applies the group's egress setting. */
	decide(SG_VERDICT_REVERT, "2 of 2");
	assert_true(plan.egress);
	assert_true(plan.revoke[0].egress);
	assert_string_equal(plan.revoke[1].rule_id, "sgr-2");

	/* An egress pattern (should the grammar grow one) covers them. */
	cfg.groups[0].allow[0].egress = true;
	decide(SG_VERDICT_REVERT, "1 of 2");
	assert_string_equal(plan.keep[0].rule_id, "sgr-1");

	/* And an egress pattern never covers an ingress rule. */
	ev.event_name = (char *)"AuthorizeSecurityGroupIngress";
	ev.egress = false;
	ev_rules[0].egress = ev_rules[1].egress = false;
	decide(SG_VERDICT_REVERT, "2 of 2");
	assert_false(plan.egress);
}

/* A zeroed event (not from event_parse) is ignored, not a crash. */
static void
test_empty_event(void **state)
{
	struct sg_event z;

	watch(GROUP_A, "eu-west-1", OPEN_443, NULL);
	memset(&z, 0, sizeof(z));
	assert_int_equal(policy_decide(&cfg, &z, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_IGNORE);
	policy_plan_free(&plan);
	z.event_source = (char *)"ec2.amazonaws.com";
	assert_int_equal(policy_decide(&cfg, &z, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_IGNORE);
	policy_plan_free(&plan);
	z.event_name = (char *)"AuthorizeSecurityGroupIngress";
	assert_int_equal(policy_decide(&cfg, &z, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_IGNORE);
	assert_string_equal(plan.reason, "no group id in the record");
	policy_plan_free(&plan);
	z.group_id = (char *)GROUP_A;
	assert_int_equal(policy_decide(&cfg, &z, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_IGNORE);
	assert_non_null(strstr(plan.reason, "no region"));
}

static void
test_plan_free_and_names(void **state)
{
	struct sg_plan p;

	memset(&p, 0, sizeof(p));
	policy_plan_free(&p);
	policy_plan_free(&p);
	policy_plan_free(NULL);
	assert_string_equal(policy_verdict_name(SG_VERDICT_IGNORE), "ignore");
	assert_string_equal(policy_verdict_name(SG_VERDICT_PRINCIPAL_ALLOWED),
	    "principal-allowed");
	assert_string_equal(policy_verdict_name(SG_VERDICT_RULES_ALLOWED),
	    "rules-allowed");
	assert_string_equal(policy_verdict_name(SG_VERDICT_REVERT), "revert");
	assert_string_equal(policy_verdict_name((enum sg_verdict)42),
	    "unknown");
}

/* --- end to end: a genuine record, and a config file ----------------- */

static json_t *
sample(const char *name)
{
	const char *d = getenv("SHARED_DIR");
	char path[4096];
	json_error_t jerr;
	json_t *j;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/data/cloudtrail-samples/%s",
	    (d != NULL && *d != '\0') ? d : "../shared", name);
	if ((fp = fopen(path, "r")) == NULL) {
		print_message("shared data absent: %s\n", path);
		skip();
	}
	fclose(fp);
	if ((j = json_load_file(path, 0, &jerr)) == NULL)
		fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
	return j;
}

static void
test_sample_stratus(void **state)
{
	const char *const allow22[] = { "tcp 22 0.0.0.0/0", NULL };
	const char *const pr[] = { "arn:aws:iam::*:user/christophe", NULL };
	json_t *arr = sample("AuthorizeSecurityGroupIngress__stratus__1.json");
	struct sg_event sev;
	char err[256], *text;

	text = json_dumps(json_array_get(arr, 0), JSON_COMPACT);
	assert_int_equal(event_parse(text, strlen(text), &sev, err,
	    sizeof(err)), 0);
	free(text);
	json_decref(arr);

	watch("sg-003dc7f1f1c686164", "us-northeast-1r", OPEN_443, NULL);
	assert_int_equal(policy_decide(&cfg, &sev, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_REVERT);
	assert_int_equal(plan.nrevoke, 1);
	assert_string_equal(plan.revoke[0].rule_id, "sgr-09b3e3d2ca1edf2a2");
	policy_plan_free(&plan);

	teardown(state);
	setup(state);
	watch("sg-003dc7f1f1c686164", "us-northeast-1r", allow22, NULL);
	assert_int_equal(policy_decide(&cfg, &sev, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_RULES_ALLOWED);
	policy_plan_free(&plan);

	teardown(state);
	setup(state);
	watch("sg-003dc7f1f1c686164", "us-northeast-1r", NULL, pr);
	assert_int_equal(policy_decide(&cfg, &sev, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_PRINCIPAL_ALLOWED);
	policy_plan_free(&plan);

	/* The sample's own region is not the group's. */
	teardown(state);
	setup(state);
	watch("sg-003dc7f1f1c686164", "us-east-1", OPEN_443, NULL);
	assert_int_equal(policy_decide(&cfg, &sev, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_IGNORE);
	event_free(&sev);
}

static const char *
no_env(const char *name)
{
	return NULL;
}

static void
test_with_config_file(void **state)
{
	static const char text[] =
	    "[aws]\n"
	    "region = eu-west-1\n"
	    "[group " GROUP_A "]\n"
	    "allow = tcp 443 0.0.0.0/0\n"
	    "allow = tcp 443 ::/0\n"
	    "allow_principal = arn:aws:iam::*:role/NetworkAdmins\n";
	struct sg_config *c = NULL;
	char err[512];

	if (config_load_string("test.ini", text, no_env, &c, err,
	    sizeof(err)) != 0)
		fail_msg("config: %s", err);
	add_rule("tcp 443 ::/0", "sgr-1");
	add_rule("tcp 80 ::/0", "sgr-2");
	assert_int_equal(policy_decide(c, &ev, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_REVERT);
	assert_int_equal(plan.nkeep, 1);
	assert_int_equal(plan.nrevoke, 1);
	assert_string_equal(plan.revoke[0].rule_id, "sgr-2");
	assert_ptr_equal(plan.group, config_find_group(c, GROUP_A));
	policy_plan_free(&plan);

	ev.principal_type = SG_PRINCIPAL_ASSUMED_ROLE;
	ev.issuer_arn = (char *)"arn:aws:iam::111122223333:role/NetworkAdmins";
	assert_int_equal(policy_decide(c, &ev, NULL, &plan), 0);
	assert_int_equal(plan.verdict, SG_VERDICT_PRINCIPAL_ALLOWED);
	policy_plan_free(&plan);
	config_free(c);
}

/* --- glob ----------------------------------------------------------- */

static void
test_glob(void **state)
{
	static const struct {
		const char	*pat, *text;
		bool		 match;
	} cases[] = {
		{ "", "", true },
		{ "", "a", false },
		{ "*", "", true },
		{ "*", "arn:aws:iam::1:role/a/b", true },
		{ "**", "x", true },
		{ "a", "a", true },
		{ "a", "A", false },
		{ "a", "ab", false },
		{ "ab", "a", false },
		{ "a*", "a", true },
		{ "*a", "ba", true },
		{ "*a", "ab", false },
		{ "*ab", "aab", true },
		{ "a*b*c", "axxbyyc", true },
		{ "a*b*c", "axxbyyd", false },
		{ "a*b*c", "abcbc", true },
		{ "?", "x", false },
		{ "?", "?", true },
		{ "[a]", "a", false },
		{ "arn:aws:iam::*:role/NetworkAdmins",
		  "arn:aws:iam::123456789012:role/NetworkAdmins", true },
		{ "arn:aws:iam::*:role/NetworkAdmins",
		  "arn:aws:iam::123456789012:role/NetworkAdmins2", false },
		/* A role path is not skipped unless the pattern says so. */
		{ "arn:aws:iam::*:role/NetworkAdmins",
		  "arn:aws:iam::1:role/ops/NetworkAdmins", false },
		{ "arn:aws:iam::*:role/*NetworkAdmins",
		  "arn:aws:iam::1:role/ops/NetworkAdmins", true },
		{ "arn:aws:iam::*NetworkAdmins",
		  "arn:aws:iam::1:role/a:b/NetworkAdmins", true },
		{ "arn:aws:iam::123456789012:*",
		  "arn:aws:iam::123456789012:user/a/b:c", true },
		{ "arn:aws:iam::123456789012:*",
		  "arn:aws:iam::210987654321:user/a", false },
		{ "*/admin-*", "arn:aws:iam::1:user/ops/admin-jo", true },
		/* sgguard.ini(5)'s IAM Identity Center glob: the role path has
		 * the instance's region, except for us-east-1. */
		{ "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/"
		  "*AWSReservedSSO_NetworkAdmin_*",
		  "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/"
		  "AWSReservedSSO_NetworkAdmin_0123456789abcdef", true },
		{ "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/"
		  "*AWSReservedSSO_NetworkAdmin_*",
		  "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/"
		  "eu-west-1/AWSReservedSSO_NetworkAdmin_0123456789abcdef", true },
		{ "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/"
		  "*AWSReservedSSO_NetworkAdmin_*",
		  "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/"
		  "AWSReservedSSO_ReadOnly_0123456789abcdef", false },
		/* The old documented form missed the us-east-1 shape. */
		{ "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/*/"
		  "AWSReservedSSO_NetworkAdmin_*",
		  "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/"
		  "AWSReservedSSO_NetworkAdmin_0123456789abcdef", false },
	};
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(cases); i++)
		if (policy_glob_match(cases[i].pat, cases[i].text) !=
		    cases[i].match)
			fail_msg("\"%s\" vs \"%s\": want %s", cases[i].pat,
			    cases[i].text, cases[i].match ? "match" :
			    "no match");
	assert_false(policy_glob_match(NULL, "a"));
	assert_false(policy_glob_match("a", NULL));
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Backtracking matchers take exponential time here; ours is linear in
 * pattern times text. */
static void
test_glob_pathological(void **state)
{
	const size_t tlen = 100000, plen = 2000;
	char *text, *pat;
	double t0;
	size_t i;

	text = xmalloc(tlen + 1);
	memset(text, 'a', tlen);
	text[tlen] = '\0';
	pat = xmalloc(plen + 2);
	for (i = 0; i < plen; i += 2) {
		pat[i] = '*';
		pat[i + 1] = 'a';
	}
	pat[plen] = 'b';
	pat[plen + 1] = '\0';

	t0 = now();
	assert_false(policy_glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
	assert_false(policy_glob_match(pat, text));
	assert_true(policy_glob_match(pat + plen - 20, text) == false);
	text[tlen - 1] = 'b';
	assert_true(policy_glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
	assert_true(policy_glob_match(pat, text));
	if (now() - t0 > 5.0)
		fail_msg("glob took %.1f s", now() - t0);
	free(pat);
	free(text);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_not_ec2),
		T(test_failed_call_ignored),
		T(test_not_adding_ignored),
		T(test_unwatched_ignored),
		T(test_wrong_region_ignored),
		T(test_region_default_and_duplicates),
		T(test_own_call_ignored),
		T(test_iam_user_allowed),
		T(test_assumed_role_allowed_by_issuer),
		T(test_assumed_role_allowed_by_session_arn),
		T(test_aws_service),
		T(test_not_allowed_revert),
		T(test_mixed_call),
		T(test_all_rules_allowed),
		T(test_ipv6_vs_ipv4),
		T(test_prefix_list_and_group_sources),
		T(test_icmp),
		T(test_protocol_all_needs_all_any),
		T(test_unreadable_rules),
		T(test_egress),
		T(test_empty_event),
		T(test_plan_free_and_names),
		T(test_sample_stratus),
		T(test_with_config_file),
		T(test_glob),
		T(test_glob_pathological),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
