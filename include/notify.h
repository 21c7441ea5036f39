/* notify.h: the text of a notification (contract: "Notification").
 * Pure: event + plan + outcome in, subject and body out. */
#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

#include <stdbool.h>

#include "event.h"
#include "policy.h"
#include "util.h"

enum sg_outcome {
	SG_OUTCOME_REVERTED,	/* AUTO-MITIGATED */
	SG_OUTCOME_DRY_RUN,	/* DRY-RUN: audit mode */
	SG_OUTCOME_FAILED,	/* FAILED: at least one revoke failed */
	SG_OUTCOME_ATTRIBUTED,	/* who made a change drift already undid */
	SG_OUTCOME_CREATED,	/* a group that a tag section watches */
	SG_OUTCOME_DELETED,	/* a watched group */
};

/* Everything one message says. ev may be NULL (drift found a change
 * before CloudTrail delivered its record): group_id, region and account
 * then say where. */
struct sg_notice {
	const struct sg_event	*ev;
	const char		*group_id;
	const char		*region;
	const char		*account;
	const char		*event_time;	/* when ev is NULL */
	enum sg_outcome		 outcome;
	const struct sg_rule	*revoked;	/* revoked:/would_revoke:/failed: */
	size_t			 nrevoked;
	const bool		*ok;		/* FAILED: per revoked rule */
	const struct sg_rule	*restored;	/* restored: (put back) */
	size_t			 nrestored;
	const struct sg_rule	*kept;
	size_t			 nkept;
	size_t			 nunparsed;
	const char		*error;		/* FAILED: last "error:" line */
	const char		*note;		/* a last "note:" line */
	/* ATTRIBUTED for rules only reported (audit mode): would_revoke:
	 * lines, as DRY-RUN has. */
	bool			 would;
};

/* "<prefix> WORD <group> (<region>)": printable ASCII, under 100
 * characters; the prefix gives way first. */
void	 notify_subject(const char *word, const char *group_id,
	    const char *region, const char *subject_prefix,
	    struct sg_buf *subject);
void	 notify_compose(const struct sg_notice *, const char *subject_prefix,
	    struct sg_buf *subject, struct sg_buf *body);

/* SNS subjects: printable ASCII, fewer than 100 characters. */
#define SG_SUBJECT_MAX	99
/* Rule lines of one kind listed at most (then a count). */
#define SG_NOTIFY_RULES_MAX	200

/*
 * Compose one message. revoked_ok[i] tells whether plan->revoke[i] was
 * removed (only read for SG_OUTCOME_FAILED; NULL means none was). error
 * (FAILED only, may be NULL) is the reason, written as a last "error:"
 * line. Every value is made safe: one line each, control characters and
 * invalid UTF-8 escaped, long values cut.
 */
void	 notify_format(const struct sg_event *, const struct sg_plan *,
	    enum sg_outcome, const bool *revoked_ok, const char *error,
	    const char *subject_prefix, struct sg_buf *subject,
	    struct sg_buf *body);
/* The principal as shown to people: the ARN, else invokedBy, else the
 * identity type. */
const char *notify_principal(const struct sg_event *);

#endif
