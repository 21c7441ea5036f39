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
notify_format(const struct sg_event *ev, const struct sg_plan *plan,
    enum sg_outcome outcome, const bool *revoked_ok, const char *error,
    const char *subject_prefix, struct sg_buf *subject, struct sg_buf *body)
{
	static const char *const words[] = {
		[SG_OUTCOME_REVERTED] = "AUTO-MITIGATED",
		[SG_OUTCOME_DRY_RUN] = "DRY-RUN",
		[SG_OUTCOME_FAILED] = "FAILED",
	};
	char tail[160];
	size_t i, room;

	/* The group and region are what a reader needs; if anything must
	 * give way to the 99-character limit it is the prefix. */
	buf_reset(subject);
	buf_reset(body);
	snprintf(tail, sizeof(tail), "%s %s (%s)", words[outcome],
	    ev->group_id, ev->region);
	room = SG_SUBJECT_MAX > strlen(tail) + 1 ?
	    SG_SUBJECT_MAX - strlen(tail) - 1 : 0;
	if (!sg_strempty(subject_prefix) && room > 0) {
		subject_append(subject, subject_prefix, room);
		buf_putc(subject, ' ');
	}
	subject_append(subject, tail, SG_SUBJECT_MAX);
	if (subject->data == NULL)
		buf_puts(subject, "");

	line(body, "event_id", ev->event_id);
	line(body, "event_name", ev->event_name);
	line(body, "event_time", ev->event_time_text);
	line(body, "account", ev->account);
	line(body, "region", ev->region);
	line(body, "group_id", ev->group_id);
	line(body, "principal", notify_principal(ev));
	line(body, "source_ip", ev->source_ip);
	line(body, "user_agent", ev->user_agent);
	for (i = 0; i < plan->nrevoke; i++) {
		const char *key = "revoked";

		if (outcome == SG_OUTCOME_DRY_RUN)
			key = "would_revoke";
		else if (outcome == SG_OUTCOME_FAILED &&
		    (revoked_ok == NULL || !revoked_ok[i]))
			key = "failed";
		rule_line(body, key, &plan->revoke[i]);
	}
	/* Rules the record names but sgguard could not read cannot be
	 * revoked by it: a person has to look. */
	for (i = 0; i < plan->nunparsed; i++)
		line(body, "failed", "unreadable rule (see error)");
	for (i = 0; i < plan->nkeep; i++)
		rule_line(body, "kept", &plan->keep[i]);
	if (outcome == SG_OUTCOME_FAILED && !sg_strempty(error))
		line(body, "error", error);
}
