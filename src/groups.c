/* groups.c: the watched groups (configured, and found by tag) and their
 * baselines (the rules each group is meant to have, kept in
 * baselines.json across restarts). */
#include "daemon_int.h"

#define BASELINE_FILE		"baselines.json"
/* Groups found by tag are looked for again this often (and at once when
 * CloudTrail shows a CreateSecurityGroup where a tag section looks). */
#define DISCOVERY_INTERVAL	300
/* DescribeSecurityGroupRules takes at most 200 group ids per call. */
#define DESCRIBE_BATCH		100

/* --- the watched groups ----------------------------------------------- */

const char *
account_key(const struct account *a, const char *region, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s/%s", a->label, region);
	return buf;
}

/* The account of a baseline: "" for the own account, else its name. */
const char *
baseline_account(const struct account *a)
{
	return a->cfg != NULL ? a->label : "";
}

/* account_key() of a baseline's account-region (its poller's key). */
static const char *
baseline_poller_key(const struct sg_group_baseline *b, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s/%s", b->account[0] != '\0' ? b->account :
	    "default", b->region);
	return buf;
}

/* The configured groups and those found by tag, as one list, and the
 * view of the configuration that policy_decide reads. */
void
groups_build(struct daemon *d)
{
	size_t i, n = d->cfg->ngroups + d->nfound;

	free(d->groups);
	free(d->group_acct);
	d->groups = xcalloc(n + 1, sizeof(*d->groups));
	d->group_acct = xcalloc(n + 1, sizeof(*d->group_acct));
	d->ngroups = 0;
	for (i = 0; i < d->cfg->ngroups; i++) {
		d->groups[d->ngroups] = d->cfg->groups[i];
		d->group_acct[d->ngroups++] = account_find(d,
		    d->cfg->groups[i].account);
	}
	for (i = 0; i < d->nfound; i++) {
		d->groups[d->ngroups] = d->found[i];
		d->group_acct[d->ngroups++] = d->found_acct[i];
	}
	d->view = *d->cfg;
	d->view.groups = d->groups;
	d->view.ngroups = d->ngroups;
}

/* Remember that a group stops being guarded now (see struct unguarded). */
void
unguarded_add(struct daemon *d, const char *key, const char *id)
{
	struct unguarded *u;
	time_t now = time(NULL);
	size_t i;

	/* Drop the expired ones, and an older entry of the same group. */
	for (i = 0; i < d->nunguarded; ) {
		u = &d->unguarded[i];
		if (now - u->until > 2L * d->cfg->lookback ||
		    (strcmp(u->id, id) == 0 && strcmp(u->key, key) == 0)) {
			memmove(u, u + 1, (d->nunguarded - i - 1) *
			    sizeof(*u));
			d->nunguarded--;
			continue;
		}
		i++;
	}
	if (d->nunguarded >= 1024)
		return;
	d->unguarded = xreallocarray(d->unguarded, d->nunguarded + 1,
	    sizeof(*d->unguarded));
	u = &d->unguarded[d->nunguarded++];
	memset(u, 0, sizeof(*u));
	sg_strlcpy(u->key, key, sizeof(u->key));
	sg_strlcpy(u->id, id, sizeof(u->id));
	u->until = now;
}

/* Was group id of account-region key guarded at time at, though it is
 * not any more? */
bool
was_guarded(struct daemon *d, const char *key, const char *id, time_t at)
{
	size_t i;

	for (i = 0; i < d->nunguarded; i++)
		if (strcmp(d->unguarded[i].key, key) == 0 &&
		    strcmp(d->unguarded[i].id, id) == 0 &&
		    at <= d->unguarded[i].until)
			return true;
	return false;
}

ssize_t
group_index(const struct daemon *d, const char *region, const char *id)
{
	size_t i;

	for (i = 0; i < d->ngroups; i++)
		if (strcmp(d->groups[i].id, id) == 0 &&
		    sg_streq(d->groups[i].region, region))
			return (ssize_t)i;
	return -1;
}

/* The query of one DescribeSecurityGroups page (next_token NULL: the
 * first). */
typedef void (*groups_query_fn)(const void *arg, const char *next_token,
    struct sg_kvlist *out);

/*
 * Every page of one DescribeSecurityGroups query, added to gs. 0, or -1
 * with why; err then holds EC2's answer when the call failed (kind
 * SG_AWS_OK: its answer could not be read, or sgguard is stopping).
 */
static int
list_groups(struct daemon *d, const struct account *a, const char *region,
    groups_query_fn query, const void *arg, struct sg_group_set *gs,
    struct sg_aws_error *err, char *why, size_t whylen)
{
	struct sg_buf body;
	char *token = NULL, *next;
	int rc = -1;

	memset(err, 0, sizeof(*err));
	sg_errf(why, whylen, "sgguard is stopping");
	buf_init(&body);
	while (!got_stop) {
		struct sg_kvlist q = { 0 };

		next = NULL;
		query(arg, token, &q);
		rc = ec2_call(d, a, region, "DescribeSecurityGroups", &q,
		    &body, err);
		kvlist_free(&q);
		if (rc == -1)
			awserr_format(err, why, whylen);
		else if (describe_groups_parse(body.data ? body.data : "",
		    body.len, gs, &next, why, whylen) == -1)
			rc = -1;
		free(token);
		if (rc == -1 || (token = next) == NULL)
			break;
		rc = -1;		/* a page to come: not done yet */
	}
	buf_free(&body);
	return rc;
}

static void
query_by_name(const void *name, const char *next_token, struct sg_kvlist *out)
{
	describe_group_by_name_params(name, out);	/* one page */
}

/*
 * A call that named its group by name alone (GroupName, the default VPC)
 * and whose record gives no id anywhere (no securityGroupRuleSet: older
 * records, some callers): ask EC2 which group that is, in the account and
 * region of the call, and set ev->group_id when it is a watched one. Only
 * looked up where a group is watched. 0, or -1 when EC2 could not be asked
 * (the event is then tried again next cycle).
 */
int
group_by_name(struct daemon *d, struct poller *p, struct sg_event *ev)
{
	struct sg_kvlist params = { 0 };
	struct sg_group_set gs = { 0 };
	struct sg_aws_error err;
	const char *region = ev->region, *hit = NULL;
	char why[512], name[128];
	size_t i;
	ssize_t gi;
	bool here = false;
	int rc = 0;

	for (i = 0; i < d->ngroups && !here; i++)
		here = d->group_acct[i] == p->acct &&
		    sg_streq(d->groups[i].region, region);
	log_sanitize(ev->group_name, name, sizeof(name));
	if (!here || describe_group_by_name_params(ev->group_name,
	    &params) == -1) {
		log_debug("event %s: group named \"%s\", no id: not looked "
		    "up (nothing watched in %s)", ev->event_id, name, p->key);
		kvlist_free(&params);
		return 0;
	}
	kvlist_free(&params);
	if (list_groups(d, p->acct, region, query_by_name, ev->group_name,
	    &gs, &err, why, sizeof(why)) == -1) {
		/* No such group (deleted since, or not in the default VPC):
		 * nothing watched can be meant. */
		if (sg_streq(err.code, "InvalidGroup.NotFound"))
			log_info("event %s: the group named \"%s\" in %s is not "
			    "there any more: not a watched group", ev->event_id,
			    name, p->key);
		else {
			if (!got_stop) {
				log_msg(LOG_WARNING, &(struct sg_log_fields){
				    .message_id = SG_MSGID_AWS_ERROR,
				    .event_id = ev->event_id,
				    .region = region },
				    "event %s: the call named its group \"%s\" "
				    "only; cannot look it up in %s (%s); trying "
				    "again next cycle", ev->event_id, name,
				    p->key, why);
				set_error(d, "DescribeSecurityGroups %s: %s",
				    region, why);
			}
			rc = -1;
		}
	} else {
		/* EC2 answers with the default VPC's group; a look-alike
		 * that also lists others is narrowed to the watched ones. */
		for (i = 0; i < gs.n; i++) {
			if (!sg_streq(gs.v[i].name, ev->group_name) ||
			    (gi = group_index(d, region,
			    gs.v[i].group_id)) == -1 ||
			    d->group_acct[gi] != p->acct)
				continue;
			if (hit != NULL && strcmp(hit, gs.v[i].group_id) != 0) {
				log_msg(LOG_WARNING, &(struct sg_log_fields){
				    .message_id = SG_MSGID_BAD_RECORD,
				    .event_id = ev->event_id,
				    .region = region },
				    "event %s: the call named its group \"%s\" "
				    "only, and watched groups %s and %s in %s "
				    "both have that name: not acted on",
				    ev->event_id, name, hit, gs.v[i].group_id,
				    p->key);
				hit = NULL;
				break;
			}
			hit = gs.v[i].group_id;
		}
		if (hit != NULL) {
			free(ev->group_id);
			ev->group_id = xstrdup(hit);
			log_info("event %s: the call named its group \"%s\" "
			    "only: that is %s", ev->event_id, name, hit);
		} else
			log_debug("event %s: group named \"%s\" in %s is not "
			    "watched", ev->event_id, name, p->key);
	}
	describe_groups_free(&gs);
	return rc;
}

static void
query_by_tag(const void *tag, const char *next_token, struct sg_kvlist *out)
{
	const struct sg_tag_cfg *t = tag;

	describe_groups_params(t->key, t->value, 1000, next_token, out);
}

/*
 * Look for the groups every tag section names, in each of its regions.
 * A search that fails keeps what the last one found there: a group never
 * drops out of the guard because an API call failed.
 */
void
discover(struct daemon *d)
{
	struct sg_group_cfg *found = NULL;
	struct account **facct = NULL;
	size_t nfound = 0, t, r, i, j;

	d->next_discovery = time(NULL) + DISCOVERY_INTERVAL;
	d->ntags_failed = 0;
	for (t = 0; t < d->cfg->ntags; t++) {
		const struct sg_tag_cfg *tag = &d->cfg->tags[t];
		struct account *a = account_find(d, tag->policy.account);

		for (r = 0; r < tag->nregions; r++) {
			const char *region = tag->regions[r];
			struct sg_group_set gs = { 0 };
			struct sg_aws_error err;
			char why[512];
			bool ok = a->ok && list_groups(d, a, region,
			    query_by_tag, tag, &gs, &err, why,
			    sizeof(why)) == 0;

			if (!ok) {
				d->tags_failed = xreallocarray(d->tags_failed,
				    d->ntags_failed + 1,
				    sizeof(*d->tags_failed));
				account_key(a, region,
				    d->tags_failed[d->ntags_failed++],
				    sizeof(*d->tags_failed));
			}
			if (!ok && a->ok && !got_stop) {
				log_msg(LOG_WARNING, &(struct sg_log_fields){
				    .message_id = SG_MSGID_AWS_ERROR,
				    .region = region },
				    "tag:%s=%s in %s (account %s): cannot list "
				    "groups (%s); keeping the groups found "
				    "before", tag->key, tag->value, region,
				    a->label, why);
				set_error(d, "DescribeSecurityGroups %s: %s",
				    region, why);
			}
			/* Keep the earlier finds of this tag and region. */
			for (i = 0; !ok && i < d->nfound; i++) {
				if (d->found[i].tag != tag ||
				    !sg_streq(d->found[i].region, region))
					continue;
				found = xreallocarray(found, nfound + 1,
				    sizeof(*found));
				facct = xreallocarray(facct, nfound + 1,
				    sizeof(*facct));
				found[nfound] = d->found[i];
				facct[nfound++] = d->found_acct[i];
			}
			for (i = 0; ok && i < gs.n; i++) {
				struct sg_group_cfg g;
				const char *gid = gs.v[i].group_id;
				bool dup = false;

				for (j = 0; j < d->cfg->ngroups; j++)
					if (strcmp(d->cfg->groups[j].id, gid) == 0)
						dup = true;	/* [group] wins */
				for (j = 0; j < nfound; j++)
					if (strcmp(found[j].id, gid) == 0 &&
					    sg_streq(found[j].region, region))
						dup = true;	/* first tag wins */
				if (dup || config_tag_group(tag, gid, region,
				    &g) == -1)
					continue;
				found = xreallocarray(found, nfound + 1,
				    sizeof(*found));
				facct = xreallocarray(facct, nfound + 1,
				    sizeof(*facct));
				found[nfound] = g;
				facct[nfound++] = a;
			}
			describe_groups_free(&gs);
		}
	}
	/* Say what changed. */
	for (i = 0; i < nfound; i++) {
		bool known = false;

		for (j = 0; j < d->nfound; j++)
			if (strcmp(d->found[j].id, found[i].id) == 0)
				known = true;
		if (!known)
			log_msg(LOG_INFO, &(struct sg_log_fields){
			    .group_id = found[i].id,
			    .region = found[i].region },
			    "tag:%s=%s: now guarding %s (%s)",
			    found[i].tag->key, found[i].tag->value,
			    found[i].id, found[i].region);
	}
	for (j = 0; j < d->nfound; j++) {
		bool still = false;

		for (i = 0; i < nfound; i++)
			if (strcmp(d->found[j].id, found[i].id) == 0)
				still = true;
		if (!still) {
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .group_id = d->found[j].id,
			    .region = d->found[j].region },
			    "tag:%s=%s: %s (%s) no longer carries the tag "
			    "(or is gone): no longer guarded",
			    d->found[j].tag->key, d->found[j].tag->value,
			    d->found[j].id, d->found[j].region);
			char key[160];

			unguarded_add(d, account_key(d->found_acct[j],
			    d->found[j].region, key, sizeof(key)),
			    d->found[j].id);
		}
	}
	free(d->found);
	free(d->found_acct);
	d->found = found;
	d->found_acct = facct;
	d->nfound = nfound;
	groups_build(d);
}

/* --- baselines -------------------------------------------------------- */

/* Is the group of baseline b guarded now? */
static bool
baseline_guarded(const struct daemon *d, const struct sg_group_baseline *b)
{
	size_t i;

	for (i = 0; i < d->ngroups; i++)
		if (sg_streq(d->groups[i].id, b->group_id) &&
		    sg_streq(d->groups[i].region, b->region) &&
		    sg_streq(baseline_account(d->group_acct[i]), b->account))
			return true;
	return false;
}

/* Did the last tag search fail in the account-region of baseline b? */
static bool
baseline_search_failed(const struct daemon *d,
    const struct sg_group_baseline *b)
{
	char key[160];
	size_t i;

	baseline_poller_key(b, key, sizeof(key));
	for (i = 0; i < d->ntags_failed; i++)
		if (strcmp(d->tags_failed[i], key) == 0)
			return true;
	return false;
}

/*
 * May the baseline of a group unguarded since "since" go? Once no window
 * can read a record of a change made before then: the cursor of its
 * account-region is past since + lookback (a deletion's record can come
 * that late). Without a cursor (its region no longer polled), 2 x
 * lookback after it stopped being guarded.
 */
static bool
baseline_expired(const struct daemon *d, const struct sg_group_baseline *b,
    time_t now)
{
	char key[160];
	time_t cursor;

	cursor = state_cursor(&d->state, baseline_poller_key(b, key,
	    sizeof(key)));
	if (cursor != 0)
		return cursor - d->cfg->lookback > b->unguarded_since;
	return now - b->unguarded_since > 2L * d->cfg->lookback;
}

/*
 * Mark the baselines of groups that are not guarded now with the time
 * they stopped being guarded, and drop them once no window can read a
 * deletion made before that (see unguarded_since, baseline_expired).
 * Run at the start of each cycle, before any record is read. Where the
 * last tag search failed, what it would have found is not known: those
 * account-regions' baselines are left as they are.
 */
void
baselines_mark_guarded(struct daemon *d)
{
	time_t now = time(NULL);
	size_t i = 0;

	if (d->cfg->ntags == 0)
		d->ntags_failed = 0;	/* no search left to fail */
	while (i < d->baselines.n) {
		struct sg_group_baseline *b = &d->baselines.v[i];

		if (baseline_guarded(d, b)) {
			if (b->unguarded_since != 0)
				d->baselines_dirty = true;
			b->unguarded_since = 0;
		} else if (baseline_search_failed(d, b)) {
			/* not known */
		} else if (b->unguarded_since == 0) {
			b->unguarded_since = now;
			d->baselines_dirty = true;
		} else if (baseline_expired(d, b, now)) {
			char key[160];

			log_debug("%s: baseline of %s dropped: not guarded "
			    "since %lld", baseline_poller_key(b, key,
			    sizeof(key)), b->group_id,
			    (long long)b->unguarded_since);
			baseline_remove(&d->baselines, b->account, b->region,
			    b->group_id);
			d->baselines_dirty = true;
			continue;
		}
		i++;
	}
}

/* Was the group of a DeleteSecurityGroup made at "at" guarded then, by
 * its baseline (which outlives a restart)? */
bool
baseline_was_guarded(const struct daemon *d, const struct account *a,
    const char *region, const char *id, time_t at)
{
	const struct sg_group_baseline *b = baseline_of(d, a, region, id);

	return b != NULL && (b->unguarded_since == 0 ||
	    at <= b->unguarded_since);
}

/*
 * Write a file of the state directory (baselines.json, drift.json) whose
 * content changed (*dirty): text, taken over. A failure is said once per
 * outage and tried again at every commit; what it is keeps in memory.
 */
void
side_file_save(struct daemon *d, const char *name, const char *what,
    char *text, bool *dirty, bool *unsaved)
{
	char err[512];

	if (state_write_file(d->state_dir, name, text, err, sizeof(err)) == 0) {
		*dirty = false;
		if (*unsaved)
			log_info("%s saved again in %s", what, d->state_dir);
		*unsaved = false;
	} else if (!*unsaved) {
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "cannot save the %s: %s; keeping it in memory and trying "
		    "again", what, err);
		*unsaved = true;
	}
	free(text);
}

void
baselines_save(struct daemon *d)
{
	if (d->baselines_dirty)
		side_file_save(d, BASELINE_FILE, "baselines",
		    baseline_serialize(&d->baselines), &d->baselines_dirty,
		    &d->baselines_unsaved);
}

void
baselines_load(struct daemon *d)
{
	char err[512];
	struct sg_buf b;
	int r;

	buf_init(&b);
	r = state_read_file(d->state_dir, BASELINE_FILE, &b, err,
	    sizeof(err));
	if (r == 0 && baseline_parse(b.data ? b.data : "", b.len,
	    &d->baselines, err, sizeof(err)) == -1)
		r = -1;
	if (r == -1) {
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "baselines in %s/%s are unusable (%s); taking new "
		    "snapshots", d->state_dir, BASELINE_FILE, err);
		baseline_set_free(&d->baselines);
	}
	buf_free(&b);
}

/* The current rules of some groups of one account-region. 0 / -1. */
int
read_rules(struct daemon *d, const struct account *a, const char *region,
    const char *const *ids, size_t n, struct sg_rule_set *out, char *why,
    size_t whylen)
{
	struct sg_aws_error err;
	struct sg_buf body;
	size_t off;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&body);
	for (off = 0; off < n && rc == 0; off += DESCRIBE_BATCH) {
		size_t batch = n - off < DESCRIBE_BATCH ? n - off :
		    DESCRIBE_BATCH;
		char *token = NULL;

		do {
			struct sg_kvlist p = { 0 };
			char *next = NULL;

			describe_rules_params(ids + off, batch, 1000, token,
			    &p);
			if (ec2_call(d, a, region, "DescribeSecurityGroupRules",
			    &p, &body, &err) == -1) {
				awserr_format(&err, why, whylen);
				rc = -1;
			} else if (describe_rules_parse(body.data ?
			    body.data : "", body.len, out, &next, why,
			    whylen) == -1)
				rc = -1;
			kvlist_free(&p);
			free(token);
			token = next;
		} while (rc == 0 && token != NULL && !got_stop);
		free(token);
	}
	buf_free(&body);
	if (rc == -1)
		describe_rules_free(out);
	return rc;
}

struct ids_query {
	const char	**ids;
	size_t		  n;
};

static void
query_by_ids(const void *arg, const char *next_token, struct sg_kvlist *out)
{
	const struct ids_query *q = arg;

	describe_groups_by_id_params(q->ids, q->n, 1000, next_token, out);
}

/*
 * Are the configured groups there? A group id with a typo, or a group in
 * another region or account than the file says, would otherwise be
 * "guarded" without a word: its rules read as none and no record ever
 * names it. One DescribeSecurityGroups per account-region (group-id
 * filter: the missing ones are simply not in the answer), at start-up and
 * reload; a warning per missing group. A call that fails says nothing
 * here (the baseline read that follows reports the same trouble).
 */
void
groups_check_exist(struct daemon *d)
{
	size_t p, i, k;

	for (p = 0; p < d->npollers; p++) {
		struct poller *pl = &d->pollers[p];
		int *lines;
		struct ids_query q = { 0 };
		struct sg_group_set gs = { 0 };
		struct sg_aws_error err;
		char why[512];
		bool ok;

		lines = xcalloc(d->cfg->ngroups + 1, sizeof(*lines));
		q.ids = xcalloc(d->cfg->ngroups + 1, sizeof(*q.ids));
		for (i = 0; i < d->cfg->ngroups && q.n < SG_DESCRIBE_MAX_VALUES;
		    i++) {
			const struct sg_group_cfg *g = &d->cfg->groups[i];

			if (account_find(d, g->account) != pl->acct ||
			    !sg_streq(g->region, pl->region))
				continue;
			lines[q.n] = g->line;
			q.ids[q.n++] = g->id;
		}
		ok = q.n > 0 && pl->acct->ok && list_groups(d, pl->acct,
		    pl->region, query_by_ids, &q, &gs, &err, why,
		    sizeof(why)) == 0;
		if (!ok && q.n > 0 && pl->acct->ok)
			log_debug("%s: cannot check that the watched groups "
			    "exist: %s", pl->key, why);
		for (i = 0; ok && i < q.n; i++) {
			for (k = 0; k < gs.n; k++)
				if (strcmp(gs.v[k].group_id, q.ids[i]) == 0)
					break;
			if (k < gs.n)
				continue;
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .message_id = SG_MSGID_AWS_ERROR,
			    .group_id = q.ids[i], .region = pl->region },
			    "%s: there is no group %s (%s:%d): nothing is "
			    "guarded for it; check its id, its region and "
			    "its account", pl->key, q.ids[i],
			    d->opts->config_path, lines[i]);
		}
		describe_groups_free(&gs);
		free(q.ids);
		free(lines);
	}
}

/* Snapshot every watched group without a baseline yet (all of them with
 * fresh = true: start and reload). Without the permission to read rules
 * the guard still works from CloudTrail alone; it says so once. */
void
baselines_snapshot(struct daemon *d, bool fresh)
{
	size_t p, i;

	for (p = 0; p < d->npollers; p++) {
		struct poller *pl = &d->pollers[p];
		const char **ids = xcalloc(d->ngroups + 1, sizeof(*ids));
		const struct sg_group_baseline *kept;
		struct sg_rule_set rules;
		char why[512];
		size_t n = 0;

		for (i = 0; i < d->ngroups; i++) {
			if (d->group_acct[i] != pl->acct ||
			    !sg_streq(d->groups[i].region, pl->region))
				continue;
			/* Kept from before, unless the group's baseline key
			 * changed meanwhile (then as at a reload). */
			if (!fresh && (kept = baseline_find(&d->baselines,
			    baseline_account(pl->acct), pl->region,
			    d->groups[i].id)) != NULL && kept->allow_only ==
			    (d->groups[i].baseline == SG_BASELINE_ALLOW))
				continue;
			ids[n++] = d->groups[i].id;
		}
		if (n == 0 || !pl->acct->ok) {
			free(ids);
			continue;
		}
		if (read_rules(d, pl->acct, pl->region, ids, n, &rules, why,
		    sizeof(why)) == -1) {
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .message_id = SG_MSGID_AWS_ERROR,
			    .region = pl->region },
			    "%s: cannot read the rules of %zu group%s (%s); "
			    "guarding from CloudTrail alone, without a "
			    "baseline: drift, restore and putting modified "
			    "rules back wait until they can be read",
			    pl->key, n, n == 1 ? "" : "s", why);
			set_error(d, "DescribeSecurityGroupRules %s: %s",
			    pl->key, why);
			free(ids);
			continue;
		}
		for (i = 0; i < d->ngroups; i++) {
			struct sg_group_baseline *b;
			size_t k;
			bool want = false;

			for (k = 0; k < n; k++)
				if (ids[k] == d->groups[i].id)
					want = true;
			if (!want)
				continue;
			b = baseline_get(&d->baselines,
			    baseline_account(pl->acct), pl->region,
			    d->groups[i].id);
			baseline_snapshot(b, &rules, d->groups[i].baseline ==
			    SG_BASELINE_SNAPSHOT);
			b->taken = time(NULL);
			b->allow_only = d->groups[i].baseline ==
			    SG_BASELINE_ALLOW;
			/* A rule the drift check is still judging (waiting
			 * for its record, or only reported in audit mode) is
			 * no intended rule: a snapshot at this moment (a
			 * reload) must not make it one. */
			for (k = 0; k < d->ndrift; k++) {
				const struct sg_drift_mark *m = &d->drift[k];

				if (m->reverted || m->restored ||
				    strcmp(m->key, pl->key) != 0 ||
				    strcmp(m->gr.group_id, d->groups[i].id) != 0)
					continue;
				if (baseline_forget(b, &m->gr.rule, 1) > 0)
					log_debug("%s: baseline of %s leaves out "
					    "a rule the drift check is judging",
					    pl->key, d->groups[i].id);
			}
			log_debug("%s: baseline of %s: %zu rule%s", pl->key,
			    d->groups[i].id, b->n, b->n == 1 ? "" : "s");
		}
		d->baselines_dirty = true;
		describe_rules_free(&rules);
		free(ids);
	}
	baselines_save(d);
}

struct sg_group_baseline *
baseline_of(const struct daemon *d, const struct account *a,
    const char *region, const char *gid)
{
	return baseline_find(&d->baselines, baseline_account(a), region, gid);
}
