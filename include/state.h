/* state.h: what sgguard remembers across restarts, in one JSON file
 * (state.json in the state directory), written atomically.
 *
 *  - a cursor per account-region: the end of the last window that was
 *    read completely; the next window starts at cursor - lookback;
 *  - the EventIds already handled whose events are still inside the
 *    re-read window (older ones can no longer come back);
 *  - notifications not yet published;
 *  - sgguard's own access key ids, with when each was last used, for as
 *    long as a call signed with them can still turn up in a window:
 *    temporary keys (instance role, assumed roles) change, and a restarted
 *    sgguard must still know the calls it made with the old ones.
 */
#ifndef SG_STATE_H
#define SG_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct sg_buf;

#define SG_STATE_FILE	"state.json"

struct sg_cursor {
	char		*key;		/* "ACCOUNT/REGION" */
	time_t		 time;
};

struct sg_pending {
	char		*event_id;
	char		*topic_arn;
	char		*subject;
	char		*message;
	int		 attempts;
	time_t		 next_attempt;	/* not before */
};

struct sg_handled {
	char		*event_id;	/* NULL: free slot */
	time_t		 event_time;
};

struct sg_state {
	struct sg_cursor *cursors;
	size_t		 ncursors;
	struct sg_handled *handled;	/* open-addressing hash set */
	size_t		 handled_cap;	/* power of two */
	size_t		 nhandled;
	struct sg_pending *pending;
	size_t		 npending;
	char		**own_keys;	/* access key ids sgguard signed with */
	time_t		*own_used;	/* when each was last used (coarse) */
	size_t		 nown;
	/* Handled events before this time have been forgotten (pruned):
	 * a window must not reach back before it, or it would act on them
	 * again (a raised lookback, a clock that went back). 0: none yet.
	 * Kept in state.json ("horizon"). */
	time_t		 horizon;
	bool		 dirty;		/* changed since the last commit */
};

/* How fresh an own key's "last used" is kept: it is written at most this
 * often, so an idle daemon does not rewrite its state every cycle. */
#define STATE_OWN_KEY_GRAIN	3600
/* Own keys are kept this much longer than the windows need them. */
#define STATE_OWN_KEY_SLACK	(2 * STATE_OWN_KEY_GRAIN)
#define STATE_OWN_KEYS_MAX	4096

void	 state_init(struct sg_state *);
void	 state_free(struct sg_state *);

/* Pure (de)serialisation. parse: 0, or -1 with a reason in err. */
int	 state_parse(const char *json, size_t len, struct sg_state *,
	    char *err, size_t errlen);
char	*state_serialize(const struct sg_state *);

/* The cursor of a key, or 0 when there is none. */
time_t	 state_cursor(const struct sg_state *, const char *key);
void	 state_set_cursor(struct sg_state *, const char *key, time_t);
bool	 state_is_handled(const struct sg_state *, const char *event_id);
void	 state_mark_handled(struct sg_state *, const char *event_id,
	    time_t event_time);
/* Forget handled events older than t: they are out of every window (and
 * the horizon moves up to t); and own keys last used before t -
 * STATE_OWN_KEY_SLACK. */
void	 state_prune(struct sg_state *, time_t t);
/* sgguard signed a call with this access key id at now. */
void	 state_own_key(struct sg_state *, const char *akid, time_t now);
/* Queue a notification (copies the strings). */
void	 state_add_pending(struct sg_state *, const char *event_id,
	    const char *topic_arn, const char *subject, const char *message,
	    time_t now);
void	 state_remove_pending(struct sg_state *, size_t index);

/*
 * Load dir/state.json. A missing file is a fresh start (0). An unreadable
 * or corrupt file is moved aside to state.json.corrupt-<time> with a
 * warning and the state starts empty (returns 1 so the caller can say it
 * protects from now - lookback). -1 only when the directory itself is
 * unusable; err says why.
 */
int	 state_load(const char *dir, struct sg_state *, time_t now,
	    char *err, size_t errlen);
/* Append dir/name to b (at most 64 MB): 0; 1 if there is no such
 * file; -1 with err. */
int	 state_read_file(const char *dir, const char *name, struct sg_buf *,
	    char *err, size_t errlen);
/* Replace dir/name with text (and a final newline) atomically: temp
 * file, fsync, rename, fsync the directory. 0, or -1 with err. */
int	 state_write_file(const char *dir, const char *name, const char *text,
	    char *err, size_t errlen);
/* Write atomically: temp file, fsync, rename, fsync the directory.
 * 0, or -1 with err (the state in memory stays as it was). */
int	 state_commit(const char *dir, struct sg_state *, char *err,
	    size_t errlen);

#endif
