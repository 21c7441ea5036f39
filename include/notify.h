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
};

/* SNS subjects: printable ASCII, fewer than 100 characters. */
#define SG_SUBJECT_MAX	99

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
