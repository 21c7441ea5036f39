/* state.c: cursors, handled EventIds and pending notifications, kept in
 * one JSON file replaced atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_VERSION		1
#define STATE_MAX_BYTES		(64u * 1024 * 1024)

void
state_init(struct sg_state *st)
{
	memset(st, 0, sizeof(*st));
}

static void
pending_free(struct sg_pending *p)
{
	free(p->event_id);
	free(p->topic_arn);
	free(p->subject);
	free(p->message);
}

void
state_free(struct sg_state *st)
{
	size_t i;

	for (i = 0; i < st->ncursors; i++)
		free(st->cursors[i].key);
	for (i = 0; i < st->handled_cap; i++)
		free(st->handled[i].event_id);
	for (i = 0; i < st->npending; i++)
		pending_free(&st->pending[i]);
	for (i = 0; i < st->nown; i++)
		free(st->own_keys[i]);
	free(st->cursors);
	free(st->handled);
	free(st->pending);
	free(st->own_keys);
	free(st->own_used);
	state_init(st);
}

/* FNV-1a: the ids are random UUIDs, a simple hash spreads them well. */
static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct sg_handled *
handled_slot(const struct sg_handled *tab, size_t cap, const char *id)
{
	size_t i = (size_t)hash_str(id) & (cap - 1);

	while (tab[i].event_id != NULL && strcmp(tab[i].event_id, id) != 0)
		i = (i + 1) & (cap - 1);
	return (struct sg_handled *)&tab[i];
}

static void
handled_grow(struct sg_state *st)
{
	struct sg_handled *old = st->handled, *slot;
	size_t oldcap = st->handled_cap, i;

	st->handled_cap = oldcap ? oldcap * 2 : 64;
	st->handled = xcalloc(st->handled_cap, sizeof(*st->handled));
	for (i = 0; i < oldcap; i++) {
		if (old[i].event_id == NULL)
			continue;
		slot = handled_slot(st->handled, st->handled_cap,
		    old[i].event_id);
		*slot = old[i];
	}
	free(old);
}

bool
state_is_handled(const struct sg_state *st, const char *id)
{
	if (st->handled_cap == 0)
		return false;
	return handled_slot(st->handled, st->handled_cap, id)->event_id !=
	    NULL;
}

void
state_mark_handled(struct sg_state *st, const char *event_id,
    time_t event_time)
{
	const char *id = event_id;
	time_t t = event_time;

	struct sg_handled *slot;

	/* Keep the load factor under 1/2 so probes stay short. */
	if ((st->nhandled + 1) * 2 > st->handled_cap)
		handled_grow(st);
	slot = handled_slot(st->handled, st->handled_cap, id);
	if (slot->event_id == NULL) {
		slot->event_id = xstrdup(id);
		st->nhandled++;
	}
	slot->event_time = t;
	st->dirty = true;
}

/* Drop own key i (order is not kept). */
static void
own_key_drop(struct sg_state *st, size_t i)
{
	free(st->own_keys[i]);
	st->nown--;
	st->own_keys[i] = st->own_keys[st->nown];
	st->own_used[i] = st->own_used[st->nown];
	st->dirty = true;
}

void
state_own_key(struct sg_state *st, const char *akid, time_t now)
{
	size_t i, oldest = 0;

	if (akid == NULL || *akid == '\0')
		return;
	for (i = 0; i < st->nown; i++) {
		if (strcmp(st->own_keys[i], akid) != 0)
			continue;
		if (now >= st->own_used[i] + STATE_OWN_KEY_GRAIN) {
			st->own_used[i] = now;
			st->dirty = true;
		}
		return;
	}
	if (st->nown == STATE_OWN_KEYS_MAX) {
		for (i = 1; i < st->nown; i++)
			if (st->own_used[i] < st->own_used[oldest])
				oldest = i;
		own_key_drop(st, oldest);
	}
	st->own_keys = xreallocarray(st->own_keys, st->nown + 1,
	    sizeof(*st->own_keys));
	st->own_used = xreallocarray(st->own_used, st->nown + 1,
	    sizeof(*st->own_used));
	st->own_keys[st->nown] = xstrdup(akid);
	st->own_used[st->nown] = now;
	st->nown++;
	st->dirty = true;
}

void
state_prune(struct sg_state *st, time_t t)
{
	struct sg_handled *old = st->handled;
	size_t oldcap = st->handled_cap, i, keep = 0;

	for (i = 0; i < st->nown; )
		if (st->own_used[i] < t - STATE_OWN_KEY_SLACK)
			own_key_drop(st, i);
		else
			i++;

	if (t > st->horizon) {
		st->horizon = t;
		st->dirty = true;
	}
	for (i = 0; i < oldcap; i++)
		if (old[i].event_id != NULL && old[i].event_time >= t)
			keep++;
	if (keep == st->nhandled)
		return;
	/* Rebuild: deleting from a linear-probing table in place would
	 * break the probe chains. */
	st->handled = NULL;
	st->handled_cap = 0;
	st->nhandled = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].event_id == NULL)
			continue;
		if (old[i].event_time >= t)
			state_mark_handled(st, old[i].event_id,
			    old[i].event_time);
		free(old[i].event_id);
	}
	free(old);
	st->dirty = true;
}

time_t
state_cursor(const struct sg_state *st, const char *key)
{
	size_t i;

	for (i = 0; i < st->ncursors; i++)
		if (strcmp(st->cursors[i].key, key) == 0)
			return st->cursors[i].time;
	return 0;
}

void
state_set_cursor(struct sg_state *st, const char *key, time_t t)
{
	size_t i;

	st->dirty = true;
	for (i = 0; i < st->ncursors; i++)
		if (strcmp(st->cursors[i].key, key) == 0) {
			st->cursors[i].time = t;
			return;
		}
	st->cursors = xreallocarray(st->cursors, st->ncursors + 1,
	    sizeof(*st->cursors));
	st->cursors[st->ncursors].key = xstrdup(key);
	st->cursors[st->ncursors].time = t;
	st->ncursors++;
}

void
state_add_pending(struct sg_state *st, const char *event_id,
    const char *topic_arn, const char *subject, const char *message,
    time_t now)
{
	struct sg_pending *p;

	st->pending = xreallocarray(st->pending, st->npending + 1,
	    sizeof(*st->pending));
	p = &st->pending[st->npending++];
	p->event_id = xstrdup(event_id);
	p->topic_arn = xstrdup(topic_arn);
	p->subject = xstrdup(subject);
	p->message = xstrdup(message);
	p->attempts = 0;
	p->next_attempt = now;
	st->dirty = true;
}

void
state_remove_pending(struct sg_state *st, size_t i)
{
	if (i >= st->npending)
		return;
	pending_free(&st->pending[i]);
	memmove(&st->pending[i], &st->pending[i + 1],
	    (st->npending - i - 1) * sizeof(*st->pending));
	st->npending--;
	st->dirty = true;
}

char *
state_serialize(const struct sg_state *st)
{
	json_t *root, *cur, *handled, *pending, *own;
	char *text;
	size_t i;

	root = json_object();
	cur = json_object();
	handled = json_object();
	pending = json_array();
	own = json_object();
	for (i = 0; i < st->nown; i++)
		json_object_set_new(own, st->own_keys[i],
		    json_integer((json_int_t)st->own_used[i]));
	for (i = 0; i < st->ncursors; i++)
		json_object_set_new(cur, st->cursors[i].key,
		    json_integer((json_int_t)st->cursors[i].time));
	for (i = 0; i < st->handled_cap; i++)
		if (st->handled[i].event_id != NULL)
			json_object_set_new(handled, st->handled[i].event_id,
			    json_integer((json_int_t)st->handled[i].event_time));
	for (i = 0; i < st->npending; i++) {
		const struct sg_pending *p = &st->pending[i];
		json_array_append_new(pending, json_pack(
		    "{s:s, s:s, s:s, s:s, s:i, s:I}",
		    "event_id", p->event_id, "topic_arn", p->topic_arn,
		    "subject", p->subject, "message", p->message,
		    "attempts", p->attempts,
		    "next_attempt", (json_int_t)p->next_attempt));
	}
	json_object_set_new(root, "version", json_integer(STATE_VERSION));
	if (st->horizon != 0)
		json_object_set_new(root, "horizon",
		    json_integer((json_int_t)st->horizon));
	json_object_set_new(root, "cursors", cur);
	json_object_set_new(root, "handled", handled);
	json_object_set_new(root, "pending", pending);
	json_object_set_new(root, "own_keys", own);
	text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(root);
	if (text == NULL)
		fatalx("out of memory");
	return text;
}

int
state_parse(const char *json, size_t len, struct sg_state *st, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *root, *cur, *handled, *pending, *own, *v;
	const char *key;
	size_t i;

	state_init(st);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "not JSON (line %d, column %d: %s)",
		    jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root) ||
	    json_integer_value(json_object_get(root, "version")) !=
	    STATE_VERSION) {
		snprintf(err, errlen, "not a version %d state file",
		    STATE_VERSION);
		goto bad;
	}
	cur = json_object_get(root, "cursors");
	handled = json_object_get(root, "handled");
	pending = json_object_get(root, "pending");
	if (!json_is_object(cur) || !json_is_object(handled) ||
	    !json_is_array(pending)) {
		snprintf(err, errlen, "missing cursors, handled or pending");
		goto bad;
	}
	json_object_foreach(cur, key, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, errlen, "bad cursor for %s", key);
			goto bad;
		}
		state_set_cursor(st, key, (time_t)json_integer_value(v));
	}
	json_object_foreach(handled, key, v) {
		if (!json_is_integer(v)) {
			snprintf(err, errlen, "bad handled entry");
			goto bad;
		}
		state_mark_handled(st, key, (time_t)json_integer_value(v));
	}
	/* Optional: files from before it was kept have none. */
	v = json_object_get(root, "horizon");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		snprintf(err, errlen, "bad horizon");
		goto bad;
	}
	st->horizon = v != NULL ? (time_t)json_integer_value(v) : 0;
	/* Optional: files from before it was kept have none. */
	own = json_object_get(root, "own_keys");
	if (own != NULL && !json_is_object(own)) {
		snprintf(err, errlen, "own_keys is not an object");
		goto bad;
	}
	json_object_foreach(own, key, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, errlen, "bad own_keys entry");
			goto bad;
		}
		state_own_key(st, key, (time_t)json_integer_value(v));
	}
	json_array_foreach(pending, i, v) {
		const char *id, *arn, *subj, *msg;
		int attempts;
		json_int_t next;

		if (json_unpack(v, "{s:s, s:s, s:s, s:s, s:i, s:I}",
		    "event_id", &id, "topic_arn", &arn, "subject", &subj,
		    "message", &msg, "attempts", &attempts,
		    "next_attempt", &next) != 0) {
			snprintf(err, errlen, "bad pending notification %zu",
			    i + 1);
			goto bad;
		}
		state_add_pending(st, id, arn, subj, msg, (time_t)next);
		st->pending[st->npending - 1].attempts = attempts;
	}
	json_decref(root);
	st->dirty = false;
	return 0;
bad:
	json_decref(root);
	state_free(st);
	return -1;
}

static int
read_file(int fd, struct sg_buf *b, char *err, size_t errlen)
{
	char chunk[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		if (b->len + (size_t)n > STATE_MAX_BYTES) {
			snprintf(err, errlen, "larger than %u bytes",
			    STATE_MAX_BYTES);
			return -1;
		}
		if (buf_append(b, chunk, (size_t)n) == -1)
			fatalx("out of memory");
	}
}

int
state_read_file(const char *dir, const char *name, struct sg_buf *b,
    char *err, size_t errlen)
{
	char path[4096];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	r = read_file(fd, b, err, errlen);
	close(fd);
	return r;
}

int
state_load(const char *dir, struct sg_state *st, time_t now, char *err,
    size_t errlen)
{
	char path[4096], aside[4200], why[512];
	struct sg_buf b;
	struct stat sb;
	int fd, r;

	state_init(st);
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "state directory %s: %s", dir,
		    errno ? strerror(errno) : "not a directory");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, SG_STATE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT)
		return 0;
	buf_init(&b);
	if (fd == -1)
		snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
	else {
		r = read_file(fd, &b, why, sizeof(why));
		close(fd);
		if (r == 0 && state_parse(b.data ? b.data : "", b.len, st, why,
		    sizeof(why)) == 0) {
			buf_free(&b);
			return 0;
		}
	}
	buf_free(&b);
	/* Keep the bad file for a post-mortem, start afresh. */
	snprintf(aside, sizeof(aside), "%s.corrupt-%lld", path,
	    (long long)now);
	if (rename(path, aside) == -1)
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "state file %s is unusable (%s) and could not be moved "
		    "aside (%s); starting from an empty state", path, why,
		    strerror(errno));
	else
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "state file %s is unusable (%s); moved it to %s and "
		    "starting from an empty state", path, why, aside);
	state_init(st);
	return 1;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
state_write_file(const char *dir, const char *name, const char *text,
    char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	int fd, dfd, saved;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	if (write_all(fd, text, strlen(text)) == -1 ||
	    write_all(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(saved));
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		snprintf(err, errlen, "cannot replace %s: %s", path,
		    strerror(saved));
		return -1;
	}
	/* The rename is durable only once the directory is on disk. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (fsync(dfd) == -1 && errno != EINVAL) {
			saved = errno;
			close(dfd);
			snprintf(err, errlen, "cannot sync %s: %s", dir,
			    strerror(saved));
			return -1;
		}
		close(dfd);
	}
	return 0;
}

int
state_commit(const char *dir, struct sg_state *st, char *err, size_t errlen)
{
	char *text = state_serialize(st);
	int r;

	r = state_write_file(dir, SG_STATE_FILE, text, err, errlen);
	free(text);
	if (r == 0)
		st->dirty = false;
	return r;
}
