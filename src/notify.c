/* notify.c: subject and body of the notification for one event. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "notify.h"
#include "rule.h"

/* Long enough for any real ARN or user agent, short enough that a hostile
 * record cannot bloat a message towards SNS's 256 KB limit. */
#define VALUE_MAX	2048

const char *
notify_principal(const struct sg_event *ev)
{
	if (!sg_strempty(ev->principal_arn))
		return ev->principal_arn;
	if (!sg_strempty(ev->invoked_by))
		return ev->invoked_by;
	if (!sg_strempty(ev->principal_type_text))
		return ev->principal_type_text;
	return "unknown";
}

/* Subjects are printable ASCII only: anything else becomes '?'. */
static void
subject_append(struct sg_buf *b, const char *s, size_t max)
{
	for (; *s != '\0' && b->len < max; s++)
		buf_putc(b, (*s >= 0x20 && *s < 0x7f) ? *s : '?');
}

static void
line(struct sg_buf *b, const char *key, const char *value)
{
	char safe[VALUE_MAX];

	log_sanitize(value != NULL ? value : "", safe, sizeof(safe));
	buf_printf(b, "%s: %s\n", key, safe);
}

static void
rule_line(struct sg_buf *b, const char *key, const struct sg_rule *r)
{
	char text[256];

	rule_format(r, text, sizeof(text));
	line(b, key, text);
}

void
notify_subject(const char *word, const char *group, const char *region,
    const char *subject_prefix, struct sg_buf *subject)
{
	char tail[160];
	size_t room;

	/* The group and region are what a reader needs; if anything must
	 * give way to the 99-character limit it is the prefix. */
	buf_reset(subject);
	snprintf(tail, sizeof(tail), "%s %s (%s)", word,
	    group != NULL ? group : "", region != NULL ? region : "");
	room = SG_SUBJECT_MAX > strlen(tail) + 1 ?
	    SG_SUBJECT_MAX - strlen(tail) - 1 : 0;
	if (!sg_strempty(subject_prefix) && room > 0) {
		subject_append(subject, subject_prefix, room);
		buf_putc(subject, ' ');
	}
	subject_append(subject, tail, SG_SUBJECT_MAX);
	if (subject->data == NULL)
		buf_puts(subject, "");
}

void
notify_compose(const struct sg_notice *n, const char *subject_prefix,
    struct sg_buf *subject, struct sg_buf *body)
{
	static const char *const words[] = {
		[SG_OUTCOME_REVERTED] = "AUTO-MITIGATED",
		[SG_OUTCOME_DRY_RUN] = "DRY-RUN",
		[SG_OUTCOME_FAILED] = "FAILED",
		[SG_OUTCOME_ATTRIBUTED] = "ATTRIBUTED",
		[SG_OUTCOME_CREATED] = "CREATED",
		[SG_OUTCOME_DELETED] = "DELETED",
	};
	const struct sg_event *ev = n->ev;
	const char *group = ev != NULL ? ev->group_id : n->group_id;
	const char *region = ev != NULL ? ev->region : n->region;
	size_t i;

	buf_reset(body);
	notify_subject(words[n->outcome], group, region, subject_prefix,
	    subject);

	if (ev != NULL) {
		line(body, "event_id", ev->event_id);
		line(body, "event_name", ev->event_name);
		line(body, "event_time", ev->event_time_text);
		line(body, "account", ev->account);
		line(body, "region", ev->region);
		line(body, "group_id", ev->group_id);
		line(body, "principal", notify_principal(ev));
		line(body, "source_ip", ev->source_ip);
		line(body, "user_agent", ev->user_agent);
	} else {
		/* Found by reading the group's rules: no record yet. */
		line(body, "event_id", "-");
		line(body, "event_name", "drift");
		line(body, "event_time", n->event_time);
		line(body, "account", n->account);
		line(body, "region", n->region);
		line(body, "group_id", n->group_id);
		line(body, "principal", "unknown (no CloudTrail record yet)");
		line(body, "source_ip", "-");
		line(body, "user_agent", "-");
	}
	for (i = 0; i < n->nrevoked; i++) {
		const char *key = "revoked";

		/* SNS takes 256 KB: a hostile record with thousands of
		 * sources must not make the message undeliverable. */
		if (i == SG_NOTIFY_RULES_MAX) {
			buf_printf(body, "note: %zu more rules not listed\n",
			    n->nrevoked - i);
			break;
		}

		if (n->outcome == SG_OUTCOME_DRY_RUN ||
		    (n->outcome == SG_OUTCOME_ATTRIBUTED && n->would))
			key = "would_revoke";
		else if (n->outcome == SG_OUTCOME_FAILED &&
		    (n->ok == NULL || !n->ok[i]))
			key = "failed";
		rule_line(body, key, &n->revoked[i]);
	}
	for (i = 0; i < n->nrestored && i < SG_NOTIFY_RULES_MAX; i++)
		rule_line(body, n->outcome == SG_OUTCOME_DRY_RUN ?
		    "would_restore" : n->outcome == SG_OUTCOME_FAILED ?
		    "failed" : "restored", &n->restored[i]);
	/* Rules the record names but sgguard could not read cannot be
	 * revoked by it: a person has to look. */
	for (i = 0; i < n->nunparsed && i < SG_NOTIFY_RULES_MAX; i++)
		line(body, "failed", "unreadable rule (see error)");
	for (i = 0; i < n->nkept && i < SG_NOTIFY_RULES_MAX; i++)
		rule_line(body, "kept", &n->kept[i]);
	if (n->outcome == SG_OUTCOME_FAILED && !sg_strempty(n->error))
		line(body, "error", n->error);
	if (!sg_strempty(n->note))
		line(body, "note", n->note);
}

void
notify_format(const struct sg_event *ev, const struct sg_plan *plan,
    enum sg_outcome outcome, const bool *revoked_ok, const char *error,
    const char *subject_prefix, struct sg_buf *subject, struct sg_buf *body)
{
	struct sg_notice n = {
		.ev = ev,
		.outcome = outcome,
		.revoked = plan->revoke,
		.nrevoked = plan->nrevoke,
		.ok = revoked_ok,
		.kept = plan->keep,
		.nkept = plan->nkeep,
		.nunparsed = plan->nunparsed,
		.error = error,
	};

	notify_compose(&n, subject_prefix, subject, body);
}
