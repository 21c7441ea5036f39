/* fuzz_state.c: state.json.
 *
 * state_parse on the input; when it is accepted, state_serialize must give
 * text that state_parse accepts again, to the same state (same cursors,
 * handled ids and pending notifications), and serialising that gives the
 * same text: what sgguard writes it can always read back. Then the
 * in-memory operations the daemon applies to a loaded state (lookups,
 * prune, remove) must keep the handled set consistent.
 */
#include "fuzz.h"

#include "state.h"

static size_t
fz_count_handled(const struct sg_state *st)
{
	size_t i, n = 0;

	for (i = 0; i < st->handled_cap; i++)
		if (st->handled[i].event_id != NULL) {
			FZ_CHECK(state_is_handled(st, st->handled[i].event_id),
			    "%s stored but not found", st->handled[i].event_id);
			n++;
		}
	FZ_CHECK(n == st->nhandled, "nhandled %zu, %zu stored", st->nhandled,
	    n);
	FZ_CHECK(st->handled_cap == 0 || (st->handled_cap &
	    (st->handled_cap - 1)) == 0, "capacity %zu", st->handled_cap);
	FZ_CHECK(st->nhandled * 2 <= st->handled_cap || st->nhandled == 0,
	    "load factor %zu/%zu", st->nhandled, st->handled_cap);
	return n;
}

static void
fz_same_state(const struct sg_state *a, const struct sg_state *b)
{
	size_t i;

	FZ_CHECK(a->ncursors == b->ncursors && a->nhandled == b->nhandled &&
	    a->npending == b->npending, "counts differ after a round trip");
	for (i = 0; i < a->ncursors; i++)
		FZ_CHECK(state_cursor(b, a->cursors[i].key) ==
		    a->cursors[i].time, "cursor %s", a->cursors[i].key);
	for (i = 0; i < a->handled_cap; i++)
		if (a->handled[i].event_id != NULL)
			FZ_CHECK(state_is_handled(b, a->handled[i].event_id),
			    "handled %s lost", a->handled[i].event_id);
	for (i = 0; i < a->npending; i++) {
		const struct sg_pending *p = &a->pending[i], *q = &b->pending[i];

		FZ_CHECK(strcmp(p->event_id, q->event_id) == 0 &&
		    strcmp(p->topic_arn, q->topic_arn) == 0 &&
		    strcmp(p->subject, q->subject) == 0 &&
		    strcmp(p->message, q->message) == 0 &&
		    p->attempts == q->attempts &&
		    p->next_attempt == q->next_attempt,
		    "pending %zu changed", i);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_state st, again;
	char err[256], *t1, *t2;
	time_t cut;
	size_t n;

	if (state_parse((const char *)data, size, &st, err, sizeof(err)) != 0) {
		FZ_CHECK(err[0] != '\0', "refused without a reason");
		FZ_CHECK(st.cursors == NULL && st.handled == NULL &&
		    st.pending == NULL, "refused state holds data");
		return 0;
	}
	FZ_CHECK(!st.dirty, "freshly loaded state is dirty");
	n = fz_count_handled(&st);

	t1 = state_serialize(&st);
	FZ_CHECK(state_parse(t1, strlen(t1), &again, err, sizeof(err)) == 0,
	    "own output refused: %s\n%s", err, t1);
	fz_same_state(&st, &again);
	fz_same_state(&again, &st);
	t2 = state_serialize(&again);
	FZ_CHECK(strcmp(t1, t2) == 0, "serialisation not stable:\n%s\n%s",
	    t1, t2);
	free(t1);
	free(t2);
	state_free(&again);

	/* What the daemon does next with a loaded state. */
	cut = size > 0 ? (time_t)data[size / 2] * 1000000 : 0;
	state_prune(&st, cut);
	FZ_CHECK(fz_count_handled(&st) <= n, "prune added entries");
	state_mark_handled(&st, "fuzz-event", cut);
	FZ_CHECK(state_is_handled(&st, "fuzz-event"), "mark lost");
	fz_count_handled(&st);
	state_set_cursor(&st, "123456789012/us-east-1", cut);
	FZ_CHECK(state_cursor(&st, "123456789012/us-east-1") == cut,
	    "cursor lost");
	while (st.npending > 0)
		state_remove_pending(&st, st.npending / 2);
	state_free(&st);
	return 0;
}
