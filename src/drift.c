/* drift.c: the drift check. Every drift_interval seconds the watched
 * groups' rules are read (DescribeSecurityGroupRules) and compared with
 * their baselines, so a rule added by hand goes before CloudTrail has
 * delivered its record; the record, when it comes, names who did it. */
#include "daemon_int.h"

/* The drift memory's file in the state directory (driftmem.h). */
#define DRIFT_FILE		"drift.json"

/* --- drift ------------------------------------------------------------ */

/* How long a mark is kept: a record comes within lookback. */
static time_t
drift_keep(const struct daemon *d)
{
	return 2L * d->cfg->lookback;
}

static struct sg_drift_mark *
drift_find(struct daemon *d, const char *key, const struct sg_group_rule *gr)
{
	size_t i;

	for (i = 0; i < d->ndrift; i++)
		if (strcmp(d->drift[i].key, key) == 0 &&
		    strcmp(d->drift[i].gr.group_id, gr->group_id) == 0 &&
		    rule_equal(&d->drift[i].gr.rule, &gr->rule))
			return &d->drift[i];
	return NULL;
}

static struct sg_drift_mark *
drift_add(struct daemon *d, const char *key, const struct sg_group_rule *gr)
{
	struct sg_drift_mark *dr;

	d->drift_dirty = true;
	if (d->ndrift == SG_DRIFT_MEMORY_MAX) {
		memmove(d->drift, d->drift + 1, (d->ndrift - 1) *
		    sizeof(*d->drift));
		d->ndrift--;
	}
	d->drift = xreallocarray(d->drift, d->ndrift + 1, sizeof(*d->drift));
	dr = &d->drift[d->ndrift++];
	memset(dr, 0, sizeof(*dr));
	dr->gr = *gr;
	sg_strlcpy(dr->key, key, sizeof(dr->key));
	dr->seen = time(NULL);
	return dr;
}

/* The entry of a rule drift has met (found or new). */
static struct sg_drift_mark *
drift_note(struct daemon *d, const char *key, const struct sg_group_rule *gr)
{
	struct sg_drift_mark *x = drift_find(d, key, gr);

	return x != NULL ? x : drift_add(d, key, gr);
}

/* Past every window: its record, if any, came or never will. */
static bool
drift_expired(const struct daemon *d, const struct sg_drift_mark *dr,
    time_t now)
{
	return now - dr->seen > drift_keep(d);
}

/* Ask STS who the credentials are (no permission needed), once. */
static void
account_ask_id(struct account *a)
{
	struct sg_aws_request req = {
		.service = SG_AWS_STS,
		.region = a->d->cfg->region,
		.action = "GetCallerIdentity",
	};
	struct sg_aws_response resp;
	char id[32];

	if (a->asked)
		return;
	a->asked = true;
	account_sign(a, &req);
	if (aws_call(a->d->aws, &req, &resp) == 0 &&
	    xml_find_text(resp.body.data ? resp.body.data : "", resp.body.len,
	    "GetCallerIdentityResult/Account", id, sizeof(id)) == 1 &&
	    strlen(id) == 12)
		sg_strlcpy(a->id, id, sizeof(a->id));
	aws_response_free(&resp);
}

/* The account a drift message names: the group's owner as EC2 reports
 * it, else the id its records carry, else the account's name. */
static const char *
account_text(struct account *a, const struct sg_group_rule *gr)
{
	if (gr->owner_id[0] != '\0')
		return gr->owner_id;
	if (a->id[0] == '\0' && a->cfg != NULL)
		sg_strlcpy(a->id, a->cfg->account_id, sizeof(a->id));
	if (a->id[0] == '\0')
		account_ask_id(a);
	return a->id[0] != '\0' ? a->id : a->label;
}

/* The plain rules of up to 64 group rules into out (64 long). */
static size_t
rules_of(struct sg_rule *out, const struct sg_group_rule *in, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 64; i++)
		out[i] = in[i].rule;
	return i;
}

/*
 * One drift repair (put modified rules back, restore missing ones): the
 * call, then the log line and the message, or a warning (done and fail
 * are the log's phrases). With dup_ok a rule already there counts as
 * restored. Takes params over.
 */
static bool
drift_fix(struct daemon *d, struct poller *p, const struct sg_group_cfg *g,
    const char *action, struct sg_kvlist *params,
    const struct sg_notice *note, const char *done, const char *fail,
    bool dup_ok)
{
	struct sg_aws_error err;
	char why[512];
	bool ok;

	ok = ec2_call(d, p->acct, p->region, action, params, NULL, &err) ==
	    0 || (dup_ok && sg_streq(err.code, "InvalidPermission.Duplicate"));
	if (ok) {
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_REVERTED, .group_id = g->id,
		    .region = p->region, .action = "reverted" },
		    "drift on %s (%s): %s", g->id, p->region, done);
		queue_notice(d, note, "drift", "reverted", "unknown");
	} else {
		awserr_format(&err, why, sizeof(why));
		log_warnx("drift on %s (%s): cannot %s: %s", g->id, p->region,
		    fail, why);
	}
	kvlist_free(params);
	return ok;
}

/*
 * One group's drift. Without allow_principal nobody may change the group,
 * so what is unexpected goes at once; otherwise the record decides, and
 * drift acts only on what is still unattributed after `lookback`.
 */
static void
drift_group(struct daemon *d, struct poller *p, const struct sg_group_cfg *g,
    const struct sg_group_baseline *b, const struct sg_rule_set *rules)
{
	struct sg_drift dr;
	const struct sg_drift_dir *dirs[2];
	char now_text[32], list[1024];
	time_t now = time(NULL);
	size_t k, i;
	bool wait = g->nprincipals > 0;

	iso_time(now, now_text, sizeof(now_text));
	baseline_diff(b, rules, g->allow, g->nallow,
	    g->egress != SG_EGRESS_IGNORE, &dr);
	dirs[0] = &dr.ingress;
	dirs[1] = &dr.egress;
	for (k = 0; k < 2; k++) {
		const struct sg_drift_dir *dd = dirs[k];
		struct sg_rule now_rules[64];
		struct sg_group_rule act[64];
		size_t n = 0;
		bool audit = d->audit || (k == 1 &&
		    g->egress == SG_EGRESS_AUDIT);

		for (i = 0; i < dd->nunexpected && n < 64; i++) {
			struct sg_drift_mark *known = drift_find(d, p->key,
			    &dd->unexpected[i]);

			/* Acted on, or reported while in audit mode (a
			 * switch to enforce acts on it). */
			if (known != NULL && (known->reverted ||
			    (known->audited && audit)))
				continue;
			if (wait) {
				known = drift_note(d, p->key,
				    &dd->unexpected[i]);
				if (now - known->seen < d->cfg->lookback)
					continue;	/* the record decides */
			}
			act[n] = dd->unexpected[i];
			now_rules[n++] = dd->unexpected[i].rule;
		}
		if (n > 0) {
			struct sg_notice note = {
				.group_id = g->id, .region = p->region,
				.account = account_text(p->acct, &act[0]),
				.event_time = now_text,
				.outcome = audit ? SG_OUTCOME_DRY_RUN :
				    SG_OUTCOME_REVERTED,
				.revoked = now_rules, .nrevoked = n,
				.note = wait ? "not attributed by CloudTrail "
				    "within lookback" : "found by the drift "
				    "check; who made it follows if CloudTrail "
				    "delivers a record of it",
			};
			struct sg_revoke_result res;
			struct sg_log_fields f = { .group_id = g->id,
			    .region = p->region, .principal = "unknown" };

			rules_text(now_rules, n, list, sizeof(list));
			if (audit) {
				f.message_id = SG_MSGID_WOULD_REVERT;
				f.action = "would-revert";
				log_msg(LOG_WARNING, &f, "drift on %s (%s): "
				    "would revert %s", g->id, p->region, list);
				queue_notice(d, &note, "drift", f.action,
				    "unknown");
				/* Reported once; nothing to attribute. */
				for (i = 0; i < n; i++)
					drift_note(d, p->key, &act[i])->audited =
					    true;
				d->drift_dirty = true;
				continue;
			}
			account_revoke(d, p->acct, p->region, g->id,
			    now_rules, n, k == 1, &res);
			if (res.status == SG_REVOKE_DONE) {
				f.message_id = SG_MSGID_REVERTED;
				f.action = "reverted";
				log_msg(LOG_WARNING, &f, "drift on %s (%s): "
				    "reverted %zu rule%s before CloudTrail "
				    "delivered the record: %s", g->id,
				    p->region, n, n == 1 ? "" : "s", list);
				d->reverted += n;
				queue_notice(d, &note, "drift", f.action,
				    "unknown");
				for (i = 0; i < n; i++)
					drift_note(d, p->key, &act[i])->reverted =
					    true;
				d->drift_dirty = true;
			} else {
				log_msg(LOG_ERR, &(struct sg_log_fields){
				    .message_id = SG_MSGID_REVERT_FAILED,
				    .group_id = g->id, .region = p->region,
				    .action = "failed" },
				    "drift on %s (%s): could not revert %s: %s",
				    g->id, p->region, list, res.error);
				set_error(d, "drift revert on %s: %s",
				    g->id, res.error);
			}
			ec2_result_free(&res);
		}
		/* Changed in place, or gone: put back (same waiting rule). */
		if (!wait && !audit && dd->nmodified > 0) {
			struct sg_rule was[64], now_r[64];
			struct sg_notice note = {
				.group_id = g->id, .region = p->region,
				.account = account_text(p->acct,
				    &dd->modified[0]),
				.event_time = now_text,
				.outcome = SG_OUTCOME_REVERTED,
				.revoked = now_r,
				.nrevoked = rules_of(now_r, dd->modified,
				    dd->nmodified),
				.restored = was,
				.nrestored = rules_of(was, dd->was,
				    dd->nmodified),
				.note = "modified rules put back by the drift "
				    "check",
			};
			struct sg_kvlist params = { 0 };
			char done[1200];

			rules_text(was, note.nrestored, list, sizeof(list));
			snprintf(done, sizeof(done), "put %zu modified rule%s "
			    "back: %s", dd->nmodified, dd->nmodified == 1 ? "" :
			    "s", list);
			ec2params_modify(g->id, dd->was, dd->nmodified,
			    &params);
			/* The modification's record is still to come: it
			 * names who, once (the modified form, by rule id). */
			if (drift_fix(d, p, g, SG_MODIFY_RULES_ACTION,
			    &params, &note, done, "put modified rules back",
			    false)) {
				for (i = 0; i < dd->nmodified; i++) {
					struct sg_group_rule gr =
					    dd->modified[i];

					sg_strlcpy(gr.group_id, g->id,
					    sizeof(gr.group_id));
					drift_note(d, p->key, &gr)->reverted =
					    true;
				}
				d->drift_dirty = true;
			}
		}
		if (!wait && !audit && g->restore && dd->nmissing > 0 &&
		    rules->nbad == 0) {
			struct sg_rule back[64];
			struct sg_notice note = {
				.group_id = g->id, .region = p->region,
				.account = account_text(p->acct,
				    &dd->missing[0]),
				.event_time = now_text,
				.outcome = SG_OUTCOME_REVERTED,
				.restored = back,
				.nrestored = rules_of(back, dd->missing,
				    dd->nmissing),
				.note = "baseline rules put back by the drift "
				    "check",
			};
			struct sg_kvlist params = { 0 };
			char done[1200];

			rules_text(back, note.nrestored, list, sizeof(list));
			snprintf(done, sizeof(done), "restored %zu baseline "
			    "rule%s: %s", dd->nmissing, dd->nmissing == 1 ? "" :
			    "s", list);
			ec2params_authorize(g->id, dd->missing, dd->nmissing,
			    &params);
			if (!drift_fix(d, p, g, k == 1 ?
			    SG_AUTHORIZE_EGRESS_ACTION :
			    SG_AUTHORIZE_INGRESS_ACTION, &params, &note, done,
			    "restore baseline rules", true))
				continue;
			/* The removal's record is still to come. */
			for (i = 0; i < dd->nmissing; i++) {
				struct sg_group_rule gr = dd->missing[i];

				/* Baseline rules need not name their group. */
				sg_strlcpy(gr.group_id, g->id,
				    sizeof(gr.group_id));
				drift_note(d, p->key, &gr)->restored = true;
			}
			d->drift_dirty = true;
		}
	}
	baseline_drift_free(&dr);
}

/* Read the rules of every guarded group with a baseline and act on drift.
 * Forget waiting rules that are gone or older than every window. */
void
drift_check(struct daemon *d)
{
	time_t now = time(NULL);
	size_t pi, i, k;

	ec2_breakers_reset(d);
	for (pi = 0; pi < d->npollers && !got_stop; pi++) {
		struct poller *p = &d->pollers[pi];
		const char **ids;
		struct sg_rule_set rules;
		char why[512];
		size_t n = 0;

		if (!p->acct->ok)
			continue;
		ids = xcalloc(d->ngroups + 1, sizeof(*ids));
		for (i = 0; i < d->ngroups; i++)
			if (d->group_acct[i] == p->acct &&
			    sg_streq(d->groups[i].region, p->region) &&
			    baseline_of(d, p->acct, p->region,
			    d->groups[i].id) != NULL)
				ids[n++] = d->groups[i].id;
		if (n == 0 || read_rules(d, p->acct, p->region, ids, n, &rules,
		    why, sizeof(why)) == -1) {
			if (n > 0)
				log_warnx("drift check of %s skipped: %s",
				    p->key, why);
			free(ids);
			continue;
		}
		for (i = 0; i < d->ngroups; i++) {
			struct sg_group_baseline *b;

			if (d->group_acct[i] != p->acct ||
			    !sg_streq(d->groups[i].region, p->region) ||
			    (b = baseline_of(d, p->acct, p->region,
			    d->groups[i].id)) == NULL)
				continue;
			if (baseline_adopt_ids(b, &rules) > 0)
				d->baselines_dirty = true;
			drift_group(d, p, &d->groups[i], b, &rules);
		}
		/* A waiting rule no longer there needs nothing more. */
		for (k = 0; k < d->ndrift; ) {
			struct sg_drift_mark *dr = &d->drift[k];
			bool present = false;

			for (i = 0; i < rules.n && !present; i++)
				present = strcmp(rules.v[i].group_id,
				    dr->gr.group_id) == 0 &&
				    rule_equal(&rules.v[i].rule, &dr->gr.rule);
			/* (rules were read before this check's repairs: a
			 * rule it restored is not in them yet.) */
			if ((strcmp(dr->key, p->key) == 0 && !dr->reverted &&
			    !dr->restored && !present) ||
			    drift_expired(d, dr, now)) {
				memmove(dr, dr + 1, (d->ndrift - k - 1) *
				    sizeof(*dr));
				d->ndrift--;
				d->drift_dirty = true;
				continue;
			}
			k++;
		}
		describe_rules_free(&rules);
		free(ids);
	}
	publish_pending(d, false);
}

/* --- kept across restarts ------------------------------------------ */

/* The marks of an earlier run (those still within a window). A bad file
 * is logged and the memory starts empty, as it did before it was kept. */
void
drift_load(struct daemon *d)
{
	struct sg_drift_mark *v;
	struct sg_buf b;
	char err[512];
	size_t n;
	int r;

	buf_init(&b);
	r = state_read_file(d->state_dir, DRIFT_FILE, &b, err, sizeof(err));
	if (r == 0 && driftmem_parse(b.data ? b.data : "", b.len, time(NULL),
	    drift_keep(d), &v, &n, err, sizeof(err)) == 0) {
		free(d->drift);
		d->drift = v;
		d->ndrift = n;
	} else if (r != 1)
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "drift memory in %s/%s is unusable (%s); late records of "
		    "what drift did before are handled as new", d->state_dir,
		    DRIFT_FILE, err);
	buf_free(&b);
}

void
drift_save(struct daemon *d)
{
	if (d->drift_dirty)
		side_file_save(d, DRIFT_FILE, "drift memory",
		    driftmem_serialize(d->drift, d->ndrift), &d->drift_dirty,
		    &d->drift_unsaved);
}
