/* digest.h: more than 10 notifications for one group within a minute are
 * folded into one digest message.
 *
 * Per group (region + group id) the times of the last messages sent are
 * kept. A notification goes out on its own while fewer than
 * SG_DIGEST_LIMIT messages for the group went out in the last
 * SG_DIGEST_WINDOW seconds; otherwise it opens (or joins) the group's
 * digest, which is sent SG_DIGEST_WINDOW seconds after it opened, or at
 * once when it holds SG_DIGEST_MAX_ITEMS events. A sent digest counts as
 * one message in the window. So a storm on one group yields at most 10
 * messages in any minute (unless digests fill up, or at the final flush
 * at shutdown), and every event is named in exactly one message.
 *
 * Pure: the caller passes the time (seconds of any steady clock).
 */
#ifndef SG_DIGEST_H
#define SG_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util.h"

#define SG_DIGEST_WINDOW	60	/* seconds */
#define SG_DIGEST_LIMIT		10	/* messages per group per window */
#define SG_DIGEST_MAX_ITEMS	200	/* events in one digest (size bound) */

enum sg_digest_verdict {
	SG_DIGEST_SEND,		/* send this notification as usual */
	SG_DIGEST_FOLD,		/* folded into the group's digest: don't */
	SG_DIGEST_FLUSH,	/* folded, and the digest is due now:
				 * digest_take() it and send it */
};

struct sg_digest_item {
	char	*event_id;
	char	*action;	/* reverted, would-revert, failed, ... */
	char	*principal;
};

struct sg_digest_group {
	char	*region;
	char	*group_id;
	time_t	 sent[SG_DIGEST_LIMIT];	/* ring of recent send times */
	size_t	 nsent;			/* entries used, <= LIMIT */
	size_t	 next;			/* ring position to write */
	struct sg_digest_item *items;	/* the open digest */
	size_t	 nitems;
	size_t	 cap;
	time_t	 opened;		/* when the digest opened */
};

struct sg_digest {
	struct sg_digest_group *groups;
	size_t	 n;
	size_t	 cap;
};

void	 digest_init(struct sg_digest *);
void	 digest_free(struct sg_digest *);
/*
 * One notification for a group is ready at now. The strings are copied
 * when it is folded. action is the contract's SGGUARD_ACTION word.
 */
enum sg_digest_verdict digest_offer(struct sg_digest *, const char *region,
	    const char *group_id, const char *event_id, const char *action,
	    const char *principal, time_t now);
/*
 * The next digest due at now (all: every open digest, for shutdown and
 * --once): 1 with subject and body written and that digest closed (its
 * send counted at now), 0 when none is due. Subject:
 * "<prefix> DIGEST <group id> (<region>)", printable ASCII, under 100
 * characters. Body: region, group_id and count lines, then one
 * "event: EVENT_ID ACTION PRINCIPAL" line per folded event.
 */
int	 digest_take(struct sg_digest *, time_t now, bool all,
	    const char *subject_prefix, struct sg_buf *subject,
	    struct sg_buf *body);
/* When the earliest open digest falls due (*when), for the main loop to
 * wake up then: true, or false when no digest is open. */
bool	 digest_next_due(const struct sg_digest *, time_t *when);
/* How many events wait in open digests. */
size_t	 digest_pending(const struct sg_digest *);

#endif
