/* digest.c: folding notification storms into one message per group and
 * minute. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "log.h"
#include "util.h"

/* SNS subjects: printable ASCII, fewer than 100 characters. */
#define DIGEST_SUBJECT_MAX	99
/* Per-line value bounds: 200 lines stay far below SNS's 256 KB. */
#define DIGEST_ID_MAX		128
#define DIGEST_ACTION_MAX	32
#define DIGEST_PRINCIPAL_MAX	512

void
digest_init(struct sg_digest *d)
{
	memset(d, 0, sizeof(*d));
}

static void
digest_items_free(struct sg_digest_group *g)
{
	size_t i;

	for (i = 0; i < g->nitems; i++) {
		free(g->items[i].event_id);
		free(g->items[i].action);
		free(g->items[i].principal);
	}
	free(g->items);
	g->items = NULL;
	g->nitems = g->cap = 0;
	g->opened = 0;
}

static void
digest_group_free(struct sg_digest_group *g)
{
	digest_items_free(g);
	free(g->region);
	free(g->group_id);
	memset(g, 0, sizeof(*g));
}

void
digest_free(struct sg_digest *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		digest_group_free(&d->groups[i]);
	free(d->groups);
	memset(d, 0, sizeof(*d));
}

/* Messages sent for the group in (now - WINDOW, now]. A time after now
 * (a clock that stepped back) counts: the safe side is folding. */
static size_t
digest_recent(const struct sg_digest_group *g, time_t now)
{
	size_t i, n = 0;

	for (i = 0; i < g->nsent; i++)
		if (g->sent[i] > now - SG_DIGEST_WINDOW)
			n++;
	return n;
}

static void
digest_mark_sent(struct sg_digest_group *g, time_t now)
{
	g->sent[g->next] = now;
	g->next = (g->next + 1) % SG_DIGEST_LIMIT;
	if (g->nsent < SG_DIGEST_LIMIT)
		g->nsent++;
}

/* Forget groups with nothing open and nothing sent in the window: the
 * table stays as small as the set of groups that are busy now. */
static void
digest_prune(struct sg_digest *d, time_t now)
{
	size_t i = 0;

	while (i < d->n) {
		if (d->groups[i].nitems == 0 &&
		    digest_recent(&d->groups[i], now) == 0) {
			digest_group_free(&d->groups[i]);
			d->groups[i] = d->groups[--d->n];
		} else
			i++;
	}
}

static struct sg_digest_group *
digest_group(struct sg_digest *d, const char *region, const char *group_id)
{
	struct sg_digest_group *g;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->groups[i].region, region) == 0 &&
		    strcmp(d->groups[i].group_id, group_id) == 0)
			return &d->groups[i];
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->groups = xreallocarray(d->groups, d->cap,
		    sizeof(*d->groups));
	}
	g = &d->groups[d->n++];
	memset(g, 0, sizeof(*g));
	g->region = xstrdup(region);
	g->group_id = xstrdup(group_id);
	return g;
}

static bool
digest_due(const struct sg_digest_group *g, time_t now)
{
	return g->nitems > 0 && (g->nitems >= SG_DIGEST_MAX_ITEMS ||
	    now >= g->opened + SG_DIGEST_WINDOW);
}

enum sg_digest_verdict
digest_offer(struct sg_digest *d, const char *region, const char *group_id,
    const char *event_id, const char *action, const char *principal,
    time_t now)
{
	struct sg_digest_group *g;
	struct sg_digest_item *it;

	region = region != NULL ? region : "";
	group_id = group_id != NULL ? group_id : "";
	digest_prune(d, now);
	g = digest_group(d, region, group_id);
	/* An open digest takes everything until it is sent, so a reader
	 * never gets single messages and a digest out of order. */
	if (g->nitems == 0 && digest_recent(g, now) < SG_DIGEST_LIMIT) {
		digest_mark_sent(g, now);
		return SG_DIGEST_SEND;
	}
	if (g->nitems == 0)
		g->opened = now;
	if (g->nitems == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->items = xreallocarray(g->items, g->cap, sizeof(*g->items));
	}
	it = &g->items[g->nitems++];
	it->event_id = xstrdup(event_id != NULL ? event_id : "");
	it->action = xstrdup(action != NULL ? action : "");
	it->principal = xstrdup(principal != NULL ? principal : "");
	return digest_due(g, now) ? SG_DIGEST_FLUSH : SG_DIGEST_FOLD;
}

/* Printable ASCII only, at most max bytes in b. */
static void
digest_subject_append(struct sg_buf *b, const char *s, size_t max)
{
	for (; *s != '\0' && b->len < max; s++)
		buf_putc(b, (*s >= 0x20 && *s < 0x7f) ? *s : '?');
}

/* One word of an event line: sanitised, spaces made visible. */
static void
digest_word(const char *in, char *out, size_t size)
{
	char *p;

	log_sanitize(in, out, size);
	if (*out == '\0')
		sg_strlcpy(out, "-", size);
	for (p = out; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
}

static void
digest_format(const struct sg_digest_group *g, const char *prefix,
    struct sg_buf *subject, struct sg_buf *body)
{
	char tail[160], id[DIGEST_ID_MAX], act[DIGEST_ACTION_MAX];
	char who[DIGEST_PRINCIPAL_MAX], safe[160];
	size_t i, room;

	/* As notify_format: the prefix gives way to group and region. */
	buf_reset(subject);
	buf_reset(body);
	snprintf(tail, sizeof(tail), "DIGEST %s (%s)", g->group_id, g->region);
	room = DIGEST_SUBJECT_MAX > strlen(tail) + 1 ?
	    DIGEST_SUBJECT_MAX - strlen(tail) - 1 : 0;
	if (!sg_strempty(prefix) && room > 0) {
		digest_subject_append(subject, prefix, room);
		buf_putc(subject, ' ');
	}
	digest_subject_append(subject, tail, DIGEST_SUBJECT_MAX);

	buf_printf(body, "digest: %zu notifications folded: more than %d for "
	    "this group within %d seconds\n", g->nitems, SG_DIGEST_LIMIT,
	    SG_DIGEST_WINDOW);
	log_sanitize(g->region, safe, sizeof(safe));
	buf_printf(body, "region: %s\n", safe);
	log_sanitize(g->group_id, safe, sizeof(safe));
	buf_printf(body, "group_id: %s\n", safe);
	for (i = 0; i < g->nitems; i++) {
		digest_word(g->items[i].event_id, id, sizeof(id));
		digest_word(g->items[i].action, act, sizeof(act));
		log_sanitize(g->items[i].principal, who, sizeof(who));
		buf_printf(body, "event: %s %s %s\n", id, act,
		    *who != '\0' ? who : "unknown");
	}
}

int
digest_take(struct sg_digest *d, time_t now, bool all,
    const char *subject_prefix, struct sg_buf *subject, struct sg_buf *body)
{
	struct sg_digest_group *g = NULL;
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (d->groups[i].nitems == 0 ||
		    (!all && !digest_due(&d->groups[i], now)))
			continue;
		if (g == NULL || d->groups[i].opened < g->opened)
			g = &d->groups[i];
	}
	if (g == NULL)
		return 0;
	digest_format(g, subject_prefix, subject, body);
	digest_items_free(g);
	digest_mark_sent(g, now);
	return 1;
}

bool
digest_next_due(const struct sg_digest *d, time_t *when)
{
	const struct sg_digest_group *g;
	time_t due;
	bool found = false;
	size_t i;

	for (i = 0; i < d->n; i++) {
		g = &d->groups[i];
		if (g->nitems == 0)
			continue;
		due = g->nitems >= SG_DIGEST_MAX_ITEMS ? g->opened :
		    g->opened + SG_DIGEST_WINDOW;
		if (!found || due < *when)
			*when = due;
		found = true;
	}
	return found;
}

size_t
digest_pending(const struct sg_digest *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		n += d->groups[i].nitems;
	return n;
}
