/* daemon.c: the guard loop. Read this file top to bottom to follow an
 * event from CloudTrail to the revoke and the SNS message:
 *
 *   daemon_run         set up, then one cycle every poll_interval
 *   cycle              every account-region polled concurrently:
 *     poller_start     LookupEvents [cursor - lookback, now], per event
 *     on_page          name, every page, at most 2 requests/s each
 *     poller_finish    the window's events, oldest first, not yet handled:
 *       handle_event     event_parse -> policy_decide -> ec2_revoke
 *                        -> notification queued in the state
 *                      then the cursor moves (see poller_finish)
 *     publish_pending  SNS Publish of queued notifications
 *     commit           state written atomically
 *
 * Signals only set flags; the loop acts on them between steps.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "aws.h"
#include "cloudtrail.h"
#include "config.h"
#include "creds.h"
#include "daemon.h"
#include "ec2.h"
#include "event.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "policy.h"
#include "sns.h"
#include "state.h"
#include "util.h"

#define DEFAULT_STATE_DIR	"/var/lib/sgguard"
/* CloudTrail keeps 90 days of history; an older cursor cannot help. */
#define MAX_WINDOW		(90L * 24 * 3600)
/* LookupEvents allows 2 requests per second per account and region; a
 * little under that, so network jitter never puts 3 in one second. */
#define LOOKUP_SPACING_MS	550
/* A stop request lets the call in flight finish for at most this long. */
#define STOP_GRACE_MS		3000
/* Notifications that cannot be published are retried with backoff up to
 * an hour apart, and given up (logged) after a week. */
#define PUBLISH_BACKOFF_MAX	3600
#define PUBLISH_GIVE_UP		(7L * 24 * 3600)
/* Credential look-ups at start before giving up: 1+2+4+8+16 s apart. */
#define CREDS_START_TRIES	6
/* The access keys sgguard signed with: its own calls are never acted on. */
#define SELF_KEYS_MAX		16

/* The event names each poll asks for. */
static const char *const watched_events[] = {
	"AuthorizeSecurityGroupIngress",
};

static volatile sig_atomic_t got_stop, got_reload;

/* One account-region: its window, where its lookups are, what came back. */
struct poller {
	char			 key[128];	/* "ACCOUNT/REGION" */
	char			*region;
	time_t			 start, end;	/* the window, inclusive */
	size_t			 name_idx;	/* into watched_events */
	char			*next_token;
	long			 next_send_ms;	/* monotonic: rate limit */
	bool			 in_flight;
	bool			 done;
	bool			 failed;
	struct sg_ct_entry	*entries;
	size_t			 nentries;
	size_t			 cap;
	size_t			 requests;
	struct daemon		*d;
};

struct daemon {
	const struct sg_options	*opts;
	struct sg_config	*cfg;
	const char		*state_dir;
	bool			 audit;
	struct sg_state		 state;
	bool			 state_ok;	/* last commit worked */
	struct sg_http		*http;
	struct sg_creds_provider *creds;
	struct sg_aws		*aws;
	char			*self_keys[SELF_KEYS_MAX];
	size_t			 nself_keys;
	struct poller		*pollers;
	size_t			 npollers;
	bool			 cycle_ok;	/* every call of the cycle worked */
	/* For STATUS= and the end-of-run summary. */
	unsigned long		 events_seen;
	unsigned long		 reverted;
	time_t			 last_poll;
	char			 last_error[256];
	bool			 watchdog;
};

static const char *
env_lookup(const char *name)
{
	return getenv(name);
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_reload = 1;
	else
		got_stop = 1;
}

void
daemon_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking poll returns early on a signal. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Sleep up to ms, returning at once when a signal arrives. Signals are
 * blocked while the flags are checked so none is lost before the wait. */
static void
sleep_interruptible(long ms)
{
	sigset_t block, old;
	struct timespec ts;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!got_stop && !got_reload && ms > 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
		ppoll(NULL, 0, &ts, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void
watchdog_ping(struct daemon *d)
{
	if (d->watchdog)
		sd_notify(0, "WATCHDOG=1");
}

static void
daemon_idle(void *arg)
{
	watchdog_ping(arg);
}

static void
set_error(struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->last_error, sizeof(d->last_error), fmt, ap);
	va_end(ap);
	d->cycle_ok = false;
}

static void
status_update(struct daemon *d)
{
	char when[32] = "never";
	struct tm tm;
	size_t nregions = d->npollers;

	if (d->last_poll != 0 && gmtime_r(&d->last_poll, &tm) != NULL)
		strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	sd_notifyf(0, "STATUS=%s: %zu group%s in %zu region%s; last poll %s; "
	    "%lu event%s seen, %lu rule%s reverted since start%s%s",
	    d->audit ? "auditing" : "guarding",
	    d->cfg->ngroups, d->cfg->ngroups == 1 ? "" : "s",
	    nregions, nregions == 1 ? "" : "s", when,
	    d->events_seen, d->events_seen == 1 ? "" : "s",
	    d->reverted, d->reverted == 1 ? "" : "s",
	    d->last_error[0] ? "; last error: " : "", d->last_error);
}

/* --- credentials and the AWS client ---------------------------------- */

/* Hands credentials to every signature and remembers the access key, so
 * that sgguard's own calls are recognised in CloudTrail. */
static int
daemon_creds(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	struct daemon *d = arg;
	size_t i;

	if (creds_get(d->creds, now, out, err, errlen) == -1)
		return -1;
	for (i = 0; i < d->nself_keys; i++)
		if (strcmp(d->self_keys[i], out->access_key_id) == 0)
			return 0;
	if (d->nself_keys == SELF_KEYS_MAX) {
		free(d->self_keys[0]);
		memmove(d->self_keys, d->self_keys + 1,
		    (SELF_KEYS_MAX - 1) * sizeof(*d->self_keys));
		d->nself_keys--;
	}
	d->self_keys[d->nself_keys++] = xstrdup(out->access_key_id);
	return 0;
}

static void
clients_free(struct daemon *d)
{
	if (d->aws != NULL)
		aws_free(d->aws);
	if (d->http != NULL)
		http_free(d->http);
	if (d->creds != NULL)
		creds_provider_free(d->creds);
	d->aws = NULL;
	d->http = NULL;
	d->creds = NULL;
}

static int
clients_new(struct daemon *d)
{
	struct sg_http_opts ho = { .ca_file = d->cfg->ca_file };
	struct sg_aws_opts ao = { 0 };
	struct sg_creds_opts co = {
		.profile = d->cfg->profile,
		.getenv = env_lookup,
		.ca_file = d->cfg->ca_file,
	};

	aws_opts_from_config(&ao, d->cfg);
	aws_apply_env_knobs(&ho, &ao);
	ao.creds = daemon_creds;
	ao.creds_arg = d;
	if ((d->http = http_new(&ho)) == NULL ||
	    (d->creds = creds_provider_new(&co)) == NULL)
		goto fail;
	ao.http = d->http;
	if ((d->aws = aws_new(&ao)) == NULL)
		goto fail;
	aws_set_interrupt(d->aws, &got_stop, STOP_GRACE_MS);
	/* A revoke can block for a minute of retries: keep the watchdog fed
	 * from inside every wait. */
	aws_set_idle(d->aws, daemon_idle, d);
	return 0;
fail:
	clients_free(d);
	return -1;
}

/* --- pollers ---------------------------------------------------------- */

static void
poller_reset(struct poller *p)
{
	size_t i;

	for (i = 0; i < p->nentries; i++) {
		free(p->entries[i].event_id);
		free(p->entries[i].event_name);
		free(p->entries[i].record);
	}
	p->nentries = 0;
	free(p->next_token);
	p->next_token = NULL;
	p->name_idx = 0;
	p->in_flight = p->done = p->failed = false;
	p->requests = 0;
}

static void
pollers_free(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->npollers; i++) {
		poller_reset(&d->pollers[i]);
		free(d->pollers[i].entries);
		free(d->pollers[i].region);
	}
	free(d->pollers);
	d->pollers = NULL;
	d->npollers = 0;
}

/* One poller per distinct region of the watched groups; the account is
 * the credentials' own ("default"). */
static void
pollers_build(struct daemon *d)
{
	size_t i, j;

	pollers_free(d);
	d->pollers = xcalloc(d->cfg->ngroups, sizeof(*d->pollers));
	for (i = 0; i < d->cfg->ngroups; i++) {
		const char *region = d->cfg->groups[i].region;

		for (j = 0; j < d->npollers; j++)
			if (strcmp(d->pollers[j].region, region) == 0)
				break;
		if (j < d->npollers)
			continue;
		d->pollers[j].region = xstrdup(region);
		snprintf(d->pollers[j].key, sizeof(d->pollers[j].key),
		    "default/%s", region);
		d->pollers[j].d = d;
		d->npollers++;
	}
}

static void poller_send(struct poller *);

static void
poller_fail(struct poller *p, const char *what)
{
	log_msg(LOG_ERR, &(struct sg_log_fields){
	    .message_id = SG_MSGID_AWS_ERROR, .region = p->region },
	    "CloudTrail LookupEvents in %s failed: %s; the window from %lld "
	    "is read again next cycle", p->key, what, (long long)p->start);
	set_error(p->d, "LookupEvents %s: %.160s", p->region, what);
	p->failed = p->done = true;
}

static void
on_page(struct sg_aws_response *resp, void *arg)
{
	struct poller *p = arg;
	struct sg_ct_page page;
	char err[512];
	size_t skipped, i;

	p->in_flight = false;
	if (resp->err.kind != SG_AWS_OK) {
		awserr_format(&resp->err, err, sizeof(err));
		poller_fail(p, err);
		return;
	}
	if (cloudtrail_parse_page(resp->body.data ? resp->body.data : "",
	    resp->body.len, &page, &skipped, err, sizeof(err)) == -1) {
		poller_fail(p, err);
		return;
	}
	if (skipped > 0)
		log_warnx("CloudTrail %s: %zu entr%s without EventId, "
		    "EventTime or CloudTrailEvent skipped", p->key, skipped,
		    skipped == 1 ? "y" : "ies");
	if (p->nentries + page.nentries > p->cap) {
		p->cap = (p->nentries + page.nentries) * 2;
		p->entries = xreallocarray(p->entries, p->cap,
		    sizeof(*p->entries));
	}
	/* Take the entries over; the page keeps only its token. */
	for (i = 0; i < page.nentries; i++)
		p->entries[p->nentries++] = page.entries[i];
	page.nentries = 0;
	free(p->next_token);
	p->next_token = page.next_token;
	page.next_token = NULL;
	cloudtrail_page_free(&page);
	if (p->next_token == NULL && ++p->name_idx == SG_ARRAY_LEN(
	    watched_events))
		p->done = true;
}

static void
poller_send(struct poller *p)
{
	struct sg_lookup q = {
		.event_name = watched_events[p->name_idx],
		.start = p->start,
		.end = p->end,
		.next_token = p->next_token,
	};
	struct sg_aws_request req = {
		.service = SG_AWS_CLOUDTRAIL,
		.region = p->region,
		.action = "LookupEvents",
	};
	char *body = cloudtrail_lookup_body(&q);

	req.json = body;
	p->next_send_ms = sg_mono_ms() + LOOKUP_SPACING_MS;
	p->requests++;
	if (aws_submit(p->d->aws, &req, on_page, p) == -1)
		poller_fail(p, "the request could not be made");
	else
		p->in_flight = true;
	free(body);
}

/* Events oldest first; equal times in EventId order so runs repeat. */
static int
entry_cmp(const void *a, const void *b)
{
	const struct sg_ct_entry *x = a, *y = b;

	if (x->event_time != y->event_time)
		return x->event_time < y->event_time ? -1 : 1;
	return strcmp(x->event_id, y->event_id);
}

/* --- one event -------------------------------------------------------- */

enum handled { HANDLED, RETRY };

static void
queue_notification(struct daemon *d, const struct sg_event *ev,
    const struct sg_plan *plan, enum sg_outcome outcome, const bool *ok,
    const char *error)
{
	struct sg_buf subject, body;

	if (d->cfg->topic_arn == NULL)
		return;
	buf_init(&subject);
	buf_init(&body);
	notify_format(ev, plan, outcome, ok, error, d->cfg->subject_prefix,
	    &subject, &body);
	state_add_pending(&d->state, ev->event_id, d->cfg->topic_arn,
	    subject.data, body.data, time(NULL));
	buf_free(&subject);
	buf_free(&body);
}

static void
rules_text(const struct sg_rule *rules, size_t n, char *out, size_t size)
{
	char one[160];
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n && len + 1 < size; i++) {
		rule_format(&rules[i], one, sizeof(one));
		len += (size_t)snprintf(out + len, size - len, "%s%s",
		    i ? ", " : "", one);
	}
}

static enum handled
handle_event(struct daemon *d, struct poller *p, const struct sg_ct_entry *e)
{
	struct sg_self self = {
		.access_key_ids = (const char *const *)d->self_keys,
		.naccess_key_ids = d->nself_keys,
	};
	struct sg_log_fields f = { 0 };
	struct sg_event ev;
	struct sg_plan plan;
	struct sg_revoke_result res;
	char err[512], rules[1024];
	enum handled h = HANDLED;

	if (event_parse(e->record, e->record_len, &ev, err, sizeof(err)) ==
	    -1) {
		/* Retrying cannot make a broken record readable. */
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_BAD_RECORD, .event_id = e->event_id,
		    .region = p->region },
		    "event %s in %s: unreadable CloudTrail record: %s",
		    e->event_id, p->key, err);
		return HANDLED;
	}
	if (policy_decide(d->cfg, &ev, &self, &plan) == -1)
		fatalx("out of memory");
	f.event_id = ev.event_id;
	f.group_id = ev.group_id;
	f.region = ev.region;
	f.principal = notify_principal(&ev);
	/* Repaired text (bad UTF-8, control characters, cut strings) is
	 * worth a look on a watched group: someone may be hiding something. */
	if (!sg_strempty(ev.parse_warning) && plan.group != NULL)
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_BAD_RECORD, .event_id = ev.event_id,
		    .group_id = ev.group_id, .region = ev.region },
		    "event %s: parts of the CloudTrail record were repaired: %s",
		    ev.event_id, ev.parse_warning);

	switch (plan.verdict) {
	case SG_VERDICT_IGNORE:
		log_debug("event %s (%s): ignored: %s", ev.event_id,
		    ev.event_name, plan.reason);
		break;
	case SG_VERDICT_PRINCIPAL_ALLOWED:
	case SG_VERDICT_RULES_ALLOWED:
		f.message_id = SG_MSGID_AUTHORIZED;
		f.action = "authorized";
		log_msg(LOG_INFO, &f, "event %s: %s on %s (%s) by %s is "
		    "authorized: %s", ev.event_id, ev.event_name, ev.group_id,
		    ev.region, f.principal, plan.reason);
		break;
	case SG_VERDICT_REVERT:
		rules_text(plan.revoke, plan.nrevoke, rules, sizeof(rules));
		if (d->audit) {
			f.message_id = SG_MSGID_WOULD_REVERT;
			f.action = "would-revert";
			log_msg(LOG_WARNING, &f, "event %s: would revert (audit "
			    "mode) on %s (%s), added by %s: %s", ev.event_id,
			    ev.group_id, ev.region, f.principal, rules);
			queue_notification(d, &ev, &plan, SG_OUTCOME_DRY_RUN,
			    NULL, NULL);
			break;
		}
		ec2_revoke(d->aws, ev.region, ev.group_id, plan.revoke,
		    plan.nrevoke, ev.egress, &res);
		if (plan.nunparsed > 0 && res.status == SG_REVOKE_DONE) {
			/* Part of the call cannot be undone automatically. */
			res.status = SG_REVOKE_FAILED;
			snprintf(res.error, sizeof(res.error), "%zu rule%s of "
			    "this call could not be read and must be checked "
			    "by hand: %s", plan.nunparsed,
			    plan.nunparsed == 1 ? "" : "s", ev.parse_warning);
		}
		switch (res.status) {
		case SG_REVOKE_DONE:
			f.message_id = SG_MSGID_REVERTED;
			f.action = "reverted";
			log_msg(LOG_WARNING, &f, "event %s: reverted %zu "
			    "rule%s on %s (%s) added by %s: %s%s", ev.event_id,
			    plan.nrevoke, plan.nrevoke == 1 ? "" : "s",
			    ev.group_id, ev.region, f.principal, rules,
			    res.gone ? " (some were already gone)" : "");
			d->reverted += plan.nrevoke;
			queue_notification(d, &ev, &plan, SG_OUTCOME_REVERTED,
			    NULL, NULL);
			break;
		case SG_REVOKE_FAILED:
			f.message_id = SG_MSGID_REVERT_FAILED;
			f.action = "failed";
			log_msg(LOG_ERR, &f, "event %s: could not revert "
			    "[%s] on %s (%s) added by %s: %s", ev.event_id, rules,
			    ev.group_id, ev.region, f.principal, res.error);
			set_error(d, "revert on %s failed: %.160s",
			    ev.group_id, res.error);
			queue_notification(d, &ev, &plan, SG_OUTCOME_FAILED,
			    res.ok, res.error);
			break;
		case SG_REVOKE_RETRY:
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .message_id = SG_MSGID_AWS_ERROR,
			    .event_id = ev.event_id, .group_id = ev.group_id,
			    .region = ev.region },
			    "event %s: revert on %s (%s) not done yet (%s); "
			    "trying again next cycle", ev.event_id,
			    ev.group_id, ev.region, res.error);
			set_error(d, "revert on %s delayed: %.160s",
			    ev.group_id, res.error);
			h = RETRY;
			break;
		}
		ec2_result_free(&res);
		break;
	}
	policy_plan_free(&plan);
	event_free(&ev);
	return h;
}

static void
commit(struct daemon *d)
{
	char err[512];

	if (!d->state.dirty)
		return;
	if (state_commit(d->state_dir, &d->state, err, sizeof(err)) == 0) {
		if (!d->state_ok)
			log_info("state saved again in %s", d->state_dir);
		d->state_ok = true;
		return;
	}
	/* Keep protecting from memory; say it once per outage. */
	if (d->state_ok)
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "cannot save state: %s; going on from memory and trying "
		    "again every cycle", err);
	set_error(d, "cannot save state: %.200s", err);
	d->state_ok = false;
}

/*
 * All pages of a window are in: act on each event not handled yet, oldest
 * first, then move the cursor.
 *
 * The next window starts at cursor - lookback. The cursor becomes the end
 * of this window, so an event that CloudTrail delivers up to `lookback`
 * seconds late still falls inside a later window. An event whose revert
 * must be tried again pins the cursor at its time + lookback, so it stays
 * inside the window until it is handled. A failed lookup leaves the
 * cursor where it was.
 */
static void
poller_finish(struct daemon *d, struct poller *p)
{
	time_t cursor = p->end, pin;
	size_t i;

	if (p->nentries > 1)
		qsort(p->entries, p->nentries, sizeof(*p->entries),
		    entry_cmp);
	for (i = 0; i < p->nentries; i++) {
		const struct sg_ct_entry *e = &p->entries[i];

		if (got_stop)
			return;		/* the cursor stays: nothing is lost */
		watchdog_ping(d);
		if (i > 0 && strcmp(e->event_id, p->entries[i - 1].event_id) ==
		    0)
			continue;	/* pages can overlap */
		if (state_is_handled(&d->state, e->event_id))
			continue;
		d->events_seen++;
		if (handle_event(d, p, e) == RETRY) {
			pin = e->event_time + d->cfg->lookback;
			if (pin < cursor)
				cursor = pin;
			continue;
		}
		state_mark_handled(&d->state, e->event_id, e->event_time);
		/* Durable before the next event: a restart never acts twice
		 * nor loses a queued notification. */
		commit(d);
	}
	if (cursor > state_cursor(&d->state, p->key))
		state_set_cursor(&d->state, p->key, cursor);
}

/* --- notifications ---------------------------------------------------- */

static void
publish_pending(struct daemon *d)
{
	struct sg_aws_error err;
	char why[600];
	time_t now = time(NULL);
	size_t i = 0;
	long delay;

	while (i < d->state.npending && !got_stop) {
		struct sg_pending *p = &d->state.pending[i];

		if (p->next_attempt > now) {
			i++;
			continue;
		}
		watchdog_ping(d);
		if (sns_publish(d->aws, p->topic_arn, p->subject, p->message,
		    &err) == 0) {
			log_info("event %s: notification published to %s",
			    p->event_id, p->topic_arn);
			state_remove_pending(&d->state, i);
			commit(d);
			continue;
		}
		awserr_format(&err, why, sizeof(why));
		p->attempts++;
		delay = 60L << (p->attempts < 6 ? p->attempts : 6);
		if (delay > PUBLISH_BACKOFF_MAX)
			delay = PUBLISH_BACKOFF_MAX;
		set_error(d, "publish to SNS failed: %.180s", why);
		if ((long)p->attempts * PUBLISH_BACKOFF_MAX > PUBLISH_GIVE_UP) {
			log_msg(LOG_ERR, &(struct sg_log_fields){
			    .message_id = SG_MSGID_NOTIFY_FAILED,
			    .event_id = p->event_id },
			    "event %s: giving up on the notification to %s "
			    "after %d attempts: %s", p->event_id, p->topic_arn,
			    p->attempts, why);
			state_remove_pending(&d->state, i);
			continue;
		}
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_NOTIFY_FAILED,
		    .event_id = p->event_id },
		    "event %s: notification to %s not published (%s); "
		    "trying again in %ld s", p->event_id, p->topic_arn, why,
		    delay);
		p->next_attempt = now + delay;
		d->state.dirty = true;
		i++;
	}
	commit(d);
}

/* --- the cycle -------------------------------------------------------- */

static void
cycle(struct daemon *d)
{
	time_t now = time(NULL), cursor, oldest = now;
	size_t i, left;
	long wait, t;
	long stop_at = 0;

	d->cycle_ok = true;
	d->last_error[0] = '\0';
	for (i = 0; i < d->npollers; i++) {
		struct poller *p = &d->pollers[i];

		poller_reset(p);
		cursor = state_cursor(&d->state, p->key);
		/* No cursor yet: protect from now - lookback. */
		p->start = (cursor ? cursor : now) - d->cfg->lookback;
		if (p->start < now - MAX_WINDOW)
			p->start = now - MAX_WINDOW;
		if (p->start > now)
			p->start = now;
		p->end = now;
		p->next_send_ms = 0;
		if (p->start < oldest)
			oldest = p->start;
	}

	/* Every account-region at once, each at most 2 requests/s. */
	for (;;) {
		left = 0;
		wait = 1000;
		t = sg_mono_ms();
		for (i = 0; i < d->npollers; i++) {
			struct poller *p = &d->pollers[i];

			if (p->done)
				continue;
			left++;
			if (p->in_flight || got_stop)
				continue;
			if (t >= p->next_send_ms)
				poller_send(p);
			else if (p->next_send_ms - t < wait)
				wait = p->next_send_ms - t;
		}
		if (left == 0)
			break;
		if (got_stop) {
			/* Let the requests in flight finish, briefly. */
			if (stop_at == 0)
				stop_at = t + STOP_GRACE_MS;
			if (t >= stop_at || aws_pending(d->aws) == 0)
				return;
		}
		watchdog_ping(d);
		aws_run(d->aws, wait);
	}
	d->last_poll = now;
	for (i = 0; i < d->npollers; i++) {
		struct poller *p = &d->pollers[i];

		if (!p->failed)
			poller_finish(d, p);
		log_debug("CloudTrail %s: window %lld..%lld, %zu request%s, "
		    "%zu event%s", p->key, (long long)p->start,
		    (long long)p->end, p->requests,
		    p->requests == 1 ? "" : "s", p->nentries,
		    p->nentries == 1 ? "" : "s");
		poller_reset(p);
	}
	/* Handled ids older than every window can never come back. */
	oldest = now;
	for (i = 0; i < d->state.ncursors; i++)
		if (d->state.cursors[i].time - d->cfg->lookback < oldest)
			oldest = d->state.cursors[i].time - d->cfg->lookback;
	state_prune(&d->state, oldest);
	publish_pending(d);
	commit(d);
}

/* --- set-up, reload, run ---------------------------------------------- */

const char *
daemon_state_dir(const struct sg_options *opts, const struct sg_config *cfg)
{
	static char first[4096];
	const char *env;
	size_t n;

	if (opts->state_dir != NULL)
		return opts->state_dir;
	if (cfg->state_dir != NULL)
		return cfg->state_dir;
	/* systemd may pass several directories separated by ':'. */
	if ((env = getenv("STATE_DIRECTORY")) != NULL && *env != '\0') {
		n = strcspn(env, ":");
		if (n < sizeof(first)) {
			memcpy(first, env, n);
			first[n] = '\0';
			return first;
		}
	}
	return DEFAULT_STATE_DIR;
}

static void
reload(struct daemon *d)
{
	struct sg_config *ncfg = NULL, *old = d->cfg;
	char err[1024];
	struct timespec ts;

	got_reload = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	if (config_load(d->opts->config_path, env_lookup, &ncfg, err,
	    sizeof(err)) == -1) {
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_CONFIG_ERROR },
		    "reload failed, keeping the running configuration: %s",
		    err);
		sd_notify(0, "READY=1");
		return;
	}
	clients_free(d);
	d->cfg = ncfg;
	if (clients_new(d) == -1) {
		log_error("reload: cannot set up the AWS clients; keeping the "
		    "running configuration");
		d->cfg = old;
		config_free(ncfg);
		if (clients_new(d) == -1)
			fatalx("cannot set up the AWS clients again");
		sd_notify(0, "READY=1");
		return;
	}
	config_free(old);
	d->audit = d->opts->dry_run || d->cfg->mode == SG_MODE_AUDIT;
	if (d->opts->log_level == -1)
		log_set_level(d->cfg->log_level_set ? d->cfg->log_level :
		    LOG_INFO);
	pollers_build(d);
	log_msg(LOG_INFO, &(struct sg_log_fields){
	    .message_id = SG_MSGID_RELOADED },
	    "configuration reloaded from %s: %zu group%s, mode %s",
	    d->opts->config_path, d->cfg->ngroups,
	    d->cfg->ngroups == 1 ? "" : "s", d->audit ? "audit" : "enforce");
	sd_notify(0, "READY=1");
}

static void
daemon_free(struct daemon *d)
{
	size_t i;

	pollers_free(d);
	clients_free(d);
	state_free(&d->state);
	for (i = 0; i < d->nself_keys; i++)
		free(d->self_keys[i]);
	config_free(d->cfg);
}

int
daemon_run(const struct sg_options *opts, struct sg_config *cfg)
{
	struct daemon d;
	struct sg_creds c;
	uint64_t wd_usec;
	char err[2048];
	long next, now;
	int r, rc, attempt;

	memset(&d, 0, sizeof(d));
	d.opts = opts;
	d.cfg = cfg;
	d.audit = opts->dry_run || cfg->mode == SG_MODE_AUDIT;
	d.state_dir = daemon_state_dir(opts, cfg);
	d.state_ok = true;
	d.watchdog = sd_watchdog_enabled(0, &wd_usec) > 0;

	if (mkdir(d.state_dir, 0700) == -1 && errno != EEXIST)
		log_warn("cannot create state directory %s", d.state_dir);
	r = state_load(d.state_dir, &d.state, time(NULL), err, sizeof(err));
	if (r == -1) {
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "%s; protecting from now - lookback and keeping state in "
		    "memory until it can be saved", err);
		d.state_ok = false;
	} else if (r == 1)
		log_warnx("protecting from now - lookback (%d s)",
		    cfg->lookback);

	if (clients_new(&d) == -1) {
		daemon_free(&d);
		return SG_EXIT_FAIL;
	}
	/*
	 * Nothing can be guarded without credentials. At boot the instance
	 * role may not be served yet, so a daemon waits a little (about
	 * 30 s) before it fails; --once fails at once.
	 */
	for (attempt = 0;; attempt++) {
		if (creds_get(d.creds, time(NULL), &c, err, sizeof(err)) == 0)
			break;
		if (opts->once || got_stop || attempt == CREDS_START_TRIES - 1) {
			log_msg(LOG_ERR, &(struct sg_log_fields){
			    .message_id = SG_MSGID_CREDENTIALS }, "%s", err);
			daemon_free(&d);
			return SG_EXIT_FAIL;
		}
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_CREDENTIALS },
		    "%s; trying again in %d s", err, 1 << attempt);
		watchdog_ping(&d);
		sleep_interruptible(1000L << attempt);
	}
	creds_wipe(&c);
	pollers_build(&d);

	log_msg(LOG_INFO, &(struct sg_log_fields){
	    .message_id = SG_MSGID_STARTED },
	    "sgguard %s started: %zu group%s in %zu region%s, mode %s, "
	    "poll every %d s, lookback %d s, state in %s", SGGUARD_VERSION,
	    cfg->ngroups, cfg->ngroups == 1 ? "" : "s", d.npollers,
	    d.npollers == 1 ? "" : "s", d.audit ? "audit" : "enforce",
	    cfg->poll_interval, cfg->lookback, d.state_dir);
	sd_notify(0, "READY=1");
	status_update(&d);

	for (;;) {
		next = sg_mono_ms() + (long)d.cfg->poll_interval * 1000;
		cycle(&d);
		status_update(&d);
		if (opts->once || got_stop)
			break;
		/* Wake for the watchdog at least twice per interval. */
		while (!got_stop && !got_reload && (now = sg_mono_ms()) < next) {
			long ms = next - now;

			if (d.watchdog && (long)(wd_usec / 2000) < ms)
				ms = (long)(wd_usec / 2000);
			watchdog_ping(&d);
			sleep_interruptible(ms);
		}
		if (got_stop)
			break;
		if (got_reload)
			reload(&d);
	}

	sd_notify(0, "STOPPING=1");
	commit(&d);
	rc = SG_EXIT_OK;
	if (opts->once && (!d.cycle_ok || !d.state_ok))
		rc = SG_EXIT_FAIL;
	log_msg(LOG_INFO, &(struct sg_log_fields){
	    .message_id = SG_MSGID_STOPPED },
	    "sgguard stopped: %lu event%s seen, %lu rule%s reverted",
	    d.events_seen, d.events_seen == 1 ? "" : "s", d.reverted,
	    d.reverted == 1 ? "" : "s");
	daemon_free(&d);
	return rc;
}
