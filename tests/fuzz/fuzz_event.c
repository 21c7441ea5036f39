/* fuzz_event.c: the per-event path without network, on one record.
 *
 * event_parse -> policy_decide (a fixed config, built once with
 * config_load_string) and policy_find_group as the daemon calls it ->
 * notify_format for every outcome. Checked on the way: a parsed event has
 * no NULL string; the plan splits the event's rules into keep + revoke,
 * its verdict follows from them, and its group is the one
 * policy_find_group finds; the subject is printable ASCII under SNS's 100
 * characters and every body line is "key: value" without control
 * characters.
 */
#include "fuzz.h"

#include "config.h"
#include "event.h"
#include "notify.h"
#include "policy.h"
#include "rule.h"
#include "util.h"

/* Watched groups the seeds name (tests/fuzz/make-corpus rewrites sample
 * records to them), with every kind of pattern and principal glob. */
static const char fz_config_text[] =
    "[sgguard]\n"
    "mode = enforce\n"
    "[aws]\n"
    "region = us-east-1\n"
    "[notify]\n"
    "topic_arn = arn:aws:sns:us-east-1:123456789012:sgguard-alerts\n"
    "subject_prefix = [sgguard fuzz]\n"
    "[group sg-0123456789abcdef0]\n"
    "allow = tcp 443 0.0.0.0/0\n"
    "allow = tcp 443 ::/0\n"
    "allow = tcp 22 10.0.0.0/8\n"
    "allow = udp 1000-2000 192.168.0.0/16\n"
    "allow = icmp 8 any\n"
    "allow = icmpv6 any 2001:db8::/32\n"
    "allow = all 5432 172.16.0.0/12\n"
    "allow = tcp any pl-0123456789abcdef0\n"
    "allow = all any sg-0fedcba9876543210\n"
    "allow = 47 any 10.1.0.0/16\n"
    "allow_principal = arn:aws:iam::123456789012:role/NetworkAdmins\n"
    "allow_principal = arn:aws:sts::*:assumed-role/Deploy*/*\n"
    "allow_principal = *.amazonaws.com\n"
    "[group sg-12345678]\n"
    "region = eu-west-1\n"
    "allow = tcp 80 any\n"
    "[group sg-89abcdef]\n"
    "region = us-east-1\n";

static struct sg_config *fz_cfg;

static const char *
fz_no_env(const char *name)
{
	(void)name;
	return NULL;
}

static const char *const fz_self_keys[] = { "AKIASGGUARDSELF00001" };
static const struct sg_self fz_self = { fz_self_keys, 1 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	if (config_load_string("fuzz.ini", fz_config_text, fz_no_env, &fz_cfg,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_event: built-in config: %s\n", err);
		abort();
	}
	return 0;
}

static void
fz_check_event(const struct sg_event *ev)
{
	const char *const s[] = { ev->event_id, ev->event_name,
	    ev->event_source, ev->event_time_text, ev->region, ev->account,
	    ev->error_code, ev->error_message, ev->principal_type_text,
	    ev->principal_arn, ev->issuer_arn, ev->invoked_by,
	    ev->access_key_id, ev->source_ip, ev->user_agent, ev->group_id,
	    ev->group_name, ev->parse_warning };
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(s); i++)
		FZ_CHECK(s[i] != NULL, "string %zu of the event", i);
	FZ_CHECK(*ev->event_id != '\0' && *ev->event_name != '\0' &&
	    *ev->event_source != '\0', "required field empty");
	FZ_CHECK(ev->nrules == 0 || ev->rules != NULL, "rules without storage");
	for (i = 0; i < ev->nrules; i++) {
		const struct sg_rule *r = &ev->rules[i];

		FZ_CHECK(r->proto >= -1 && r->proto <= 255, "proto %d",
		    r->proto);
		FZ_CHECK(r->src != SG_SRC_ANY, "a concrete rule with source any");
		FZ_CHECK(memchr(r->cidr_text, '\0', sizeof(r->cidr_text)) &&
		    memchr(r->ref_id, '\0', sizeof(r->ref_id)) &&
		    memchr(r->user_id, '\0', sizeof(r->user_id)) &&
		    memchr(r->rule_id, '\0', sizeof(r->rule_id)),
		    "unterminated rule text");
	}
}

static void
fz_check_plan(const struct sg_event *ev, const struct sg_plan *plan)
{
	switch (plan->verdict) {
	case SG_VERDICT_IGNORE:
	case SG_VERDICT_PRINCIPAL_ALLOWED:
		FZ_CHECK(plan->nrevoke == 0 && plan->nkeep == 0,
		    "%s with rules", policy_verdict_name(plan->verdict));
		break;
	case SG_VERDICT_RULES_ALLOWED:
		FZ_CHECK(plan->nrevoke == 0 && plan->nunparsed == 0 &&
		    plan->nkeep == ev->nrules, "rules-allowed: %zu/%zu/%zu",
		    plan->nkeep, plan->nrevoke, plan->nunparsed);
		break;
	case SG_VERDICT_REVERT:
		FZ_CHECK(plan->nrevoke + plan->nkeep == ev->nrules &&
		    plan->nunparsed == ev->nbad_rules &&
		    (plan->nrevoke > 0 || plan->nunparsed > 0),
		    "revert: %zu+%zu of %zu, %zu unparsed", plan->nkeep,
		    plan->nrevoke, ev->nrules, plan->nunparsed);
		break;
	default:
		break;
	}
	if (plan->verdict != SG_VERDICT_IGNORE)
		FZ_CHECK(plan->group != NULL &&
		    sg_streq(plan->group->id, ev->group_id),
		    "decision without the event's group");
	FZ_CHECK(memchr(plan->reason, '\0', sizeof(plan->reason)) != NULL,
	    "reason unterminated");
	FZ_CHECK(plan->egress == ev->egress, "egress flag lost");
}

static void
fz_check_message(const struct sg_buf *subject, const struct sg_buf *body)
{
	const char *p, *eol;

	FZ_CHECK(subject->data != NULL, "no subject");
	FZ_CHECK(subject->len == strlen(subject->data) &&
	    subject->len <= SG_SUBJECT_MAX, "subject of %zu bytes",
	    subject->len);
	for (p = subject->data; *p != '\0'; p++)
		FZ_CHECK(*p >= 0x20 && *p < 0x7f, "subject byte 0x%02x",
		    (unsigned char)*p);
	FZ_CHECK(body->data != NULL && body->len == strlen(body->data),
	    "body length");
	for (p = body->data; *p != '\0'; p = eol + 1) {
		eol = strchr(p, '\n');
		FZ_CHECK(eol != NULL, "last body line unterminated");
		FZ_CHECK(memchr(p, ':', (size_t)(eol - p)) != NULL,
		    "body line without key: %.*s", (int)(eol - p), p);
		for (; p < eol; p++)
			FZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f,
			    "control byte 0x%02x in the body",
			    (unsigned char)*p);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sg_outcome outcomes[] = { SG_OUTCOME_REVERTED,
	    SG_OUTCOME_DRY_RUN, SG_OUTCOME_FAILED };
	struct sg_event ev;
	struct sg_plan plan;
	const struct sg_group_cfg *g, *elsewhere;
	struct sg_buf subject, body;
	bool *ok = NULL;
	char err[256];
	size_t i;

	if (fz_cfg == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if (event_parse((const char *)data, size, &ev, err, sizeof(err)) != 0) {
		FZ_CHECK(err[0] != '\0' && fz_one_safe_line(err),
		    "bad error text \"%s\"", err);
		return 0;
	}
	fz_check_event(&ev);
	FZ_CHECK(policy_decide(fz_cfg, &ev, &fz_self, &plan) == 0,
	    "policy_decide failed");
	fz_check_plan(&ev, &plan);
	/* The daemon looks the group up on its own too, without wanting to
	 * know where else the id is watched. */
	g = policy_find_group(fz_cfg, &ev, NULL);
	FZ_CHECK(policy_find_group(fz_cfg, &ev, &elsewhere) == g &&
	    (g == NULL || elsewhere == NULL || elsewhere != g),
	    "policy_find_group answers differ");
	if (plan.group != NULL)
		FZ_CHECK(g == plan.group, "policy_find_group and policy_decide "
		    "disagree about %s", ev.group_id);

	buf_init(&subject);
	buf_init(&body);
	if (plan.nrevoke > 0) {
		ok = calloc(plan.nrevoke, sizeof(*ok));
		FZ_CHECK(ok != NULL, "out of memory");
		for (i = 0; i < plan.nrevoke; i++)
			ok[i] = (i + size) % 3 != 0;
	}
	for (i = 0; i < SG_ARRAY_LEN(outcomes); i++) {
		notify_format(&ev, &plan, outcomes[i], ok,
		    i == 2 ? ev.error_message : NULL, fz_cfg->subject_prefix,
		    &subject, &body);
		fz_check_message(&subject, &body);
	}
	/* No prefix, no revoked_ok: the other branches. */
	notify_format(&ev, &plan, SG_OUTCOME_FAILED, NULL, "revoke failed\n",
	    NULL, &subject, &body);
	fz_check_message(&subject, &body);
	FZ_CHECK(notify_principal(&ev) != NULL, "no principal");

	free(ok);
	buf_free(&subject);
	buf_free(&body);
	policy_plan_free(&plan);
	event_free(&ev);
	return 0;
}
