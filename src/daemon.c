/* daemon.c: the guard loop. Read this file top to bottom to follow an
 * event from CloudTrail to the revoke and the SNS message:
 *
 *   daemon_run         set up, then one cycle every poll_interval (and a
 *                      drift check every drift_interval)
 *   cycle              every account-region polled concurrently:
 *     poller_start     LookupEvents [cursor - lookback, now], per event
 *     on_page          name, every page, at most 2 requests/s each
 *     poller_finish    the window's events, oldest first, not yet handled:
 *       handle_event     event_parse, then by kind:
 *         on_authorize     policy_decide -> ec2_revoke (ingress, egress)
 *         on_revoke        restore = yes: put baseline rules back
 *         on_modify        put a rule back to its previous form
 *         on_create/delete report groups appearing and going
 *                        -> notification queued in the state
 *                      then the cursor moves (see poller_finish)
 *     publish_pending  SNS Publish of queued notifications
 *     commit           state written atomically
 *   drift_check        DescribeSecurityGroupRules of the watched groups,
 *                      compared with their baselines: act before
 *                      CloudTrail has delivered the record
 *
 * Accounts: the credentials' own ("default") and every [account NAME],
 * whose calls are signed with keys from STS AssumeRole (refreshed before
 * each cycle, outside any call: see sts.h). Groups: every [group] plus
 * the groups that [groups tag:K=V] sections find.
 *
 * Signals only set flags; the loop acts on them between steps.
 *
 * groups.c holds the watched groups (configured and found by tag) and their
 * baselines; drift.c the drift check. daemon_int.h is what they share.
 */
#include "daemon_int.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#define DEFAULT_STATE_DIR	"/var/lib/sgguard"
/* CloudTrail keeps 90 days of history; an older cursor cannot help. */
#define MAX_WINDOW		(90L * 24 * 3600)
/* LookupEvents allows 2 requests per second per account and region; a
 * little under that, so network jitter never puts 3 in one second. */
#define LOOKUP_SPACING_MS	550
/* Pages of one event name in one window: past this (50 000 events), or
 * at a NextToken that came before, LookupEvents is not making progress
 * and the window is read again next cycle. */
#define LOOKUP_PAGES_MAX	1000
/* How far a saved cursor may be ahead of the clock before it counts as
 * the clock having gone back (seconds). */
#define CLOCK_SLACK		5
/* AWS's Date is believed this far behind ours (its signature limit). */
#define CLOCK_TRUST		900
/* A host clock ahead of AWS's by more is said, once. */
#define CLOCK_WARN		30
/* A stop request lets the call in flight finish for at most this long. */
#define STOP_GRACE_MS		3000
/* The longest a cycle waits for another account's first keys (STS
 * answers in well under a second; a throttled call is retried after 1 s). */
#define ACCOUNT_WAIT_MS		5000
/* Notifications that cannot be published are retried with backoff up to
 * an hour apart, and given up (logged) after a week. */
#define PUBLISH_BACKOFF_MAX	3600
#define PUBLISH_GIVE_UP		(7L * 24 * 3600)
/* A record this close to a snapshot may describe a change the snapshot
 * already swallowed (CloudTrail's eventTime, our clock and the read are
 * not one instant): judge it by the allow patterns alone. */
#define SNAPSHOT_SLACK		300
/* A revert still failing this long after its event is given up. */
#define RETRY_GIVE_UP		(24L * 3600)
/* Credential look-ups at start before giving up: 1+2+4+8+16 s apart. */
#define CREDS_START_TRIES	6

volatile sig_atomic_t got_stop, got_reload;

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
	long now;

	if (!d->watchdog)
		return;
	/* Called for every event and every wait: one datagram to PID 1 a
	 * second is plenty, or four per interval if that is shorter. */
	now = sg_mono_ms();
	if (d->watchdog_sent != 0 && now - d->watchdog_sent <
	    d->watchdog_every)
		return;
	d->watchdog_sent = now;
	sd_notify(0, "WATCHDOG=1");
}

static void
daemon_idle(void *arg)
{
	watchdog_ping(arg);
}

void
set_error(struct daemon *d, const char *fmt, ...)
{
	char full[1024], *cut;
	size_t max = sizeof(d->last_error) - 5;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(full, sizeof(full), fmt, ap);
	va_end(ap);
	/* It ends the STATUS= line and --once's last line: cut long ones
	 * at a word, marked, never inside a word such as [REDACTED]. */
	if (strlen(full) > max) {
		full[max] = '\0';
		if ((cut = strrchr(full, ' ')) != NULL && cut > full + max / 2)
			*cut = '\0';
		sg_strlcpy(full + strlen(full), " ...", sizeof(full) -
		    strlen(full));
	}
	sg_strlcpy(d->last_error, full, sizeof(d->last_error));
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
	    d->ngroups, d->ngroups == 1 ? "" : "s",
	    nregions, nregions == 1 ? "" : "s", when,
	    d->events_seen, d->events_seen == 1 ? "" : "s",
	    d->reverted, d->reverted == 1 ? "" : "s",
	    d->last_error[0] ? "; last error: " : "", d->last_error);
}

void
iso_time(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		sg_strlcpy(out, "-", size);
}

/* --- credentials, accounts and the AWS client ------------------------- */

/* sgguard's own access keys, kept in the state (state.h): its calls are
 * never acted on, also after a restart with other keys. Build it where it
 * is used: signing a call may add a key and move the array. */
static struct sg_self
self_of(const struct daemon *d)
{
	return (struct sg_self){
		.access_key_ids = (const char *const *)d->state.own_keys,
		.naccess_key_ids = d->state.nown,
	};
}

static bool
is_self(const struct daemon *d, const struct sg_event *ev)
{
	struct sg_self self = self_of(d);

	return policy_is_self(ev, &self);
}

static void
remember_key(struct daemon *d, const char *akid)
{
	state_own_key(&d->state, akid, time(NULL));
}

/* Hands credentials to every signature and remembers the access key, so
 * that sgguard's own calls are recognised in CloudTrail. */
static int
daemon_creds(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	struct daemon *d = arg;

	if (creds_get(d->creds, now, out, err, errlen) == -1)
		return -1;
	remember_key(d, out->access_key_id);
	return 0;
}

/* The same for an [account]: the cached assume-role keys, never a call
 * (this runs inside aws_run). */
int
account_creds(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	struct account *a = arg;

	if (sts_callback(a->sts, now, out, err, errlen) == -1)
		return -1;
	remember_key(a->d, out->access_key_id);
	return 0;
}

/* AWS answered that the temporary keys of a call have expired, before
 * the time their source gave: get new ones rather than use them until
 * that time (each call failing meanwhile). */
static void
keys_expired(struct daemon *d, const struct account *a,
    const struct sg_aws_response *resp)
{
	bool fresh;

	if (resp->err.kind != SG_AWS_ERR_AUTH ||
	    strncmp(resp->err.code, "ExpiredToken", 12) != 0 ||
	    resp->access_key_id[0] == '\0')
		return;
	fresh = a != NULL && a->sts != NULL ?
	    sts_rejected(a->sts, resp->access_key_id) :
	    creds_rejected(d->creds, resp->access_key_id);
	if (fresh)
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_CREDENTIALS },
		    "credentials: AWS says access key %s has expired (%s) "
		    "before its expiry time; getting new ones",
		    resp->access_key_id, resp->err.code);
}

/* Sign req with the account's credentials. */
void
account_sign(const struct account *a, struct sg_aws_request *req)
{
	if (a != NULL && a->sts != NULL) {
		req->creds = account_creds;
		req->creds_arg = (void *)a;
	}
}

static void
accounts_free(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->naccounts; i++)
		if (d->accounts[i].sts != NULL)
			sts_provider_free(d->accounts[i].sts);
	free(d->accounts);
	d->accounts = NULL;
	d->naccounts = 0;
}

static int
accounts_build(struct daemon *d)
{
	size_t i;

	accounts_free(d);
	d->accounts = xcalloc(d->cfg->naccounts + 1, sizeof(*d->accounts));
	d->accounts[0].d = d;
	d->accounts[0].label = "default";
	d->accounts[0].ok = true;
	for (i = 0; i < d->cfg->naccounts; i++) {
		struct account *a = &d->accounts[i + 1];
		struct sg_sts_opts so = {
			.role_arn = d->cfg->accounts[i].role_arn,
			.external_id = d->cfg->accounts[i].external_id,
			.region = d->cfg->region,
			.aws = d->aws,
		};

		a->d = d;
		a->cfg = &d->cfg->accounts[i];
		a->label = d->cfg->accounts[i].name;
		if ((a->sts = sts_provider_new(&so)) == NULL)
			return -1;
	}
	d->naccounts = d->cfg->naccounts + 1;
	return 0;
}

struct account *
account_find(struct daemon *d, const char *name)
{
	size_t i;

	if (name == NULL)
		return &d->accounts[0];
	for (i = 1; i < d->naccounts; i++)
		if (strcmp(d->accounts[i].label, name) == 0)
			return &d->accounts[i];
	return &d->accounts[0];
}

/*
 * Fresh assume-role keys for every account, outside any call (sts.h):
 * every refresh that is due is started at once and runs concurrently on
 * the base client. The cycle waits only for accounts that have no usable
 * keys and are not already known to fail (start-up, reload, keys that
 * ran out just now), and at most ACCOUNT_WAIT_MS (a --once run waits for
 * every answer); a refresh of keys still in use, or the retry of an
 * account in an outage, goes on in the background while the others are
 * guarded. A failing account is skipped this cycle, said once per outage.
 * True when an account came back from an outage this time.
 */
static bool
accounts_refresh(struct daemon *d)
{
	struct sg_creds c;
	char err[1024];
	long deadline, t;
	time_t now = time(NULL);
	bool wait, back = false;
	size_t i;

	for (i = 1; i < d->naccounts; i++)
		sts_refresh_start(d->accounts[i].sts, now);
	deadline = sg_mono_ms() + ACCOUNT_WAIT_MS;
	while (!got_stop) {
		wait = false;
		now = time(NULL);
		for (i = 1; i < d->naccounts; i++) {
			struct account *a = &d->accounts[i];

			if (sts_in_flight(a->sts) &&
			    !sts_has_credentials(a->sts, now) &&
			    (d->opts->once || !a->failing))
				wait = true;
		}
		t = sg_mono_ms();
		if (!wait || (!d->opts->once && t >= deadline))
			break;
		watchdog_ping(d);
		aws_run(d->aws, d->opts->once || deadline - t > 1000 ? 1000 :
		    deadline - t);
	}
	now = time(NULL);
	for (i = 1; i < d->naccounts; i++) {
		struct account *a = &d->accounts[i];

		a->ok = sts_callback(a->sts, now, &c, err, sizeof(err)) == 0;
		creds_wipe(&c);
		if (a->ok) {
			if (a->failing) {
				log_info("account %s: credentials from %s "
				    "again", a->label, a->cfg->role_arn);
				back = true;
			}
			a->failing = false;
			continue;
		}
		set_error(d, "account %s: %s", a->label, err);
		if (!a->failing)
			log_msg(LOG_ERR, &(struct sg_log_fields){
			    .message_id = SG_MSGID_CREDENTIALS },
			    "account %s: %s; its groups are not guarded until "
			    "this works", a->label, err);
		a->failing = true;
	}
	return back;
}

static void
clients_free(struct daemon *d)
{
	/* The client first: it drops the calls in flight (an AssumeRole
	 * among them) without their callbacks, so none can reach a freed
	 * provider. */
	if (d->aws != NULL)
		aws_free(d->aws);
	accounts_free(d);
	if (d->http != NULL)
		http_free(d->http);
	if (d->creds != NULL)
		creds_provider_free(d->creds);
	d->aws = NULL;
	d->http = NULL;
	d->creds = NULL;
}

/* The AWS clients of d->cfg. 0, or -1 with why in err. */
static int
clients_new(struct daemon *d, char *err, size_t errlen)
{
	struct sg_http_opts ho = { .ca_file = d->cfg->ca_file };
	struct sg_aws_opts ao = { 0 };
	struct sg_creds_opts co = {
		/* Only the file's: creds.c reads AWS_PROFILE itself, which
		 * must not skip environment keys as the file's profile does. */
		.profile = d->cfg->profile_line > 0 ? d->cfg->profile : NULL,
		.getenv = env_lookup,
		.ca_file = d->cfg->ca_file,
		.interrupt = &got_stop,
	};

	aws_opts_from_config(&ao, d->cfg);
	aws_apply_env_knobs(&ho, &ao);
	ao.creds = daemon_creds;
	ao.creds_arg = d;
	/* A role profile's AssumeRole: the same STS as [account] roles. */
	co.sts = &ao;
	co.region = d->cfg->region;
	if ((d->http = http_new(&ho)) == NULL ||
	    (d->creds = creds_provider_new(&co)) == NULL) {
		sg_errf(err, errlen, "%s", http_new_error());
		goto fail;
	}
	ao.http = d->http;
	if ((d->aws = aws_new(&ao)) == NULL) {
		sg_errf(err, errlen, "cannot make the AWS client");
		goto fail;
	}
	aws_set_interrupt(d->aws, &got_stop, STOP_GRACE_MS);
	/* A revoke can block for a minute of retries: keep the watchdog fed
	 * from inside every wait. */
	aws_set_idle(d->aws, daemon_idle, d);
	if (accounts_build(d) == -1) {
		sg_errf(err, errlen, "cannot set up the [account] sections' "
		    "STS clients");
		goto fail;
	}
	return 0;
fail:
	clients_free(d);
	return -1;
}

/*
 * EC2 that failed after all of a call's retries is not asked again in the
 * same account-region for the rest of the cycle (or drift check): each
 * further call would take as long to fail, one after another, and hold up
 * every other region's events. No answer or HTTP 5xx stops every call
 * there; throttling stops only calls of its kind (EC2 limits reads,
 * Describe*, apart from writes). What was not tried is retried next cycle
 * like any transient failure.
 */
/* The poller of an account-region (it holds the breaker), or NULL. */
static struct poller *
poller_find(struct daemon *d, const struct account *a, const char *region)
{
	size_t i;

	for (i = 0; i < d->npollers; i++)
		if (d->pollers[i].acct == a &&
		    sg_streq(d->pollers[i].region, region))
			return &d->pollers[i];
	return NULL;
}

/* When a call of this kind is not made now: true, with why in out. */
static bool
ec2_refused(const struct poller *b, bool write, char *out, size_t size)
{
	if (b == NULL || b->ec2_down[write][0] == '\0')
		return false;
	snprintf(out, size, "not tried: EC2 in %s failed earlier this cycle "
	    "(%s)", b->key, b->ec2_down[write]);
	return true;
}

static void
ec2_trip(struct poller *b, bool write, enum sg_aws_error_kind kind,
    const char *why)
{
	if (b == NULL)
		return;
	if (kind == SG_AWS_ERR_TRANSPORT || kind == SG_AWS_ERR_SERVER) {
		sg_strlcpy(b->ec2_down[0], why, sizeof(b->ec2_down[0]));
		sg_strlcpy(b->ec2_down[1], why, sizeof(b->ec2_down[1]));
	} else if (kind == SG_AWS_ERR_THROTTLED)
		sg_strlcpy(b->ec2_down[write], why, sizeof(b->ec2_down[write]));
}

void
ec2_breakers_reset(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->npollers; i++)
		d->pollers[i].ec2_down[0][0] = d->pollers[i].ec2_down[1][0] =
		    '\0';
}

/* One blocking EC2 call in an account; 0 or -1 with err filled. The
 * answer's body is handed over in body (may be NULL). */
int
ec2_call(struct daemon *d, const struct account *a, const char *region,
    const char *action, const struct sg_kvlist *params, struct sg_buf *body,
    struct sg_aws_error *err)
{
	struct sg_aws_request req = {
		.service = SG_AWS_EC2,
		.region = region,
		.action = action,
		.params = params->kv,
		.nparams = params->n,
	};
	struct sg_aws_response resp;
	struct poller *b = poller_find(d, a, region);
	bool write = strncmp(action, "Describe", 8) != 0;
	char line[sizeof(b->ec2_down[0])];
	int rc;

	memset(err, 0, sizeof(*err));
	if (ec2_refused(b, write, err->message, sizeof(err->message))) {
		err->kind = SG_AWS_ERR_TRANSPORT;
		return -1;
	}
	account_sign(a, &req);
	rc = aws_call(d->aws, &req, &resp);
	*err = resp.err;
	if (rc == -1)
		keys_expired(d, a, &resp);
	/* A write is done only when EC2 says so: a 2xx from anything else
	 * (a proxy's page, a cut body), or return=false, leaves it
	 * unknown, to be retried. */
	if (rc == 0 && write) {
		int unknown;
		bool ret_false;

		ec2_check_write(&resp, action, err, &unknown, &ret_false);
		if (ret_false) {
			err->kind = SG_AWS_ERR_BAD_RESPONSE;
			snprintf(err->message, sizeof(err->message), "HTTP %ld "
			    "with return=false; it may not have taken effect",
			    resp.http_status);
		}
		if (err->kind != SG_AWS_OK)
			rc = -1;
	}
	if (rc == 0 && body != NULL) {
		buf_free(body);
		*body = resp.body;
		buf_init(&resp.body);
	}
	if (rc == -1) {
		awserr_format(err, line, sizeof(line));
		ec2_trip(b, write, err->kind, line);
	}
	aws_response_free(&resp);
	return rc;
}

/*
 * EC2 found no rule of the form it was given (or said return=false):
 * gone already, or the recorded form does not match the rule. Read the
 * group to know. A rule still there failed (for good: the same form
 * would not match again); a read that fails leaves the revert to the
 * next cycle.
 */
static void
revoke_check(struct daemon *d, const struct account *a, const char *region,
    const char *group_id, const struct sg_rule *rules, size_t n, bool egress,
    struct sg_revoke_result *res)
{
	const char *ids[1] = { group_id };
	struct sg_rule_set now;
	char why[512];
	size_t i, j, still = 0;

	if (read_rules(d, a, region, ids, 1, &now, why, sizeof(why)) == -1) {
		for (i = 0; i < n; i++)
			res->ok[i] = false;
		res->status = SG_REVOKE_RETRY;
		res->kind = SG_AWS_ERR_TRANSPORT;
		snprintf(res->error, sizeof(res->error), "EC2 did not confirm "
		    "the revoke, and the group's rules could not be read to "
		    "check it: %.600s", why);
		return;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < now.n && res->ok[i]; j++)
			if (now.v[j].rule.egress == egress &&
			    rule_equal(&now.v[j].rule, &rules[i])) {
				res->ok[i] = false;
				still++;
			}
	describe_rules_free(&now);
	if (still == 0)
		return;
	res->gone = res->gone > (int)still ? res->gone - (int)still : 0;
	res->status = SG_REVOKE_FAILED;
	res->kind = SG_AWS_ERR_CLIENT;
	snprintf(res->error, sizeof(res->error), "EC2 found no rule of the "
	    "recorded form (unknownIpPermissionSet, InvalidPermission.NotFound "
	    "or return=false), yet %s still there: the record's form does not "
	    "match the rule; remove it by hand", still == 1 ? "it is" :
	    "they are");
}

/* ec2_revoke() in an account, behind the same breaker. */
void
account_revoke(struct daemon *d, const struct account *a, const char *region,
    const char *group_id, const struct sg_rule *rules, size_t n, bool egress,
    struct sg_revoke_result *res)
{
	struct poller *b = poller_find(d, a, region);

	memset(res, 0, sizeof(*res));
	if (n > 0 && ec2_refused(b, true, res->error, sizeof(res->error))) {
		res->n = n;
		res->ok = xcalloc(n, sizeof(*res->ok));
		res->status = SG_REVOKE_RETRY;
		res->kind = SG_AWS_ERR_TRANSPORT;
		return;
	}
	ec2_revoke(d->aws, a->sts != NULL ? account_creds : NULL, (void *)a,
	    region, group_id, rules, n, egress, res);
	if (res->status == SG_REVOKE_RETRY)
		ec2_trip(b, true, res->kind, res->error);
	if (res->status == SG_REVOKE_DONE && res->unconfirmed)
		revoke_check(d, a, region, group_id, rules, n, egress, res);
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
	p->ntokens = 0;
	p->server_time = 0;
	p->rewind = false;
	p->name_idx = 0;
	p->in_flight = p->done = p->failed = false;
	p->requests = 0;
}

static void
pollers_free(struct daemon *d)
{
	size_t i;

	if (d->npollers > 0) {
		free(d->pace);
		d->pace = xcalloc(d->npollers, sizeof(*d->pace));
		d->npace = d->npollers;
	}
	for (i = 0; i < d->npollers; i++) {
		sg_strlcpy(d->pace[i].key, d->pollers[i].key,
		    sizeof(d->pace[i].key));
		d->pace[i].next_send_ms = d->pollers[i].next_send_ms;
		poller_reset(&d->pollers[i]);
		free(d->pollers[i].entries);
		free(d->pollers[i].tokens);
		free(d->pollers[i].region);
	}
	free(d->pollers);
	d->pollers = NULL;
	d->npollers = 0;
}

static struct poller *
poller_get(struct daemon *d, struct account *a, const char *region)
{
	struct poller *p;
	size_t i;

	if ((p = poller_find(d, a, region)) != NULL)
		return p;
	d->pollers = xreallocarray(d->pollers, d->npollers + 1,
	    sizeof(*d->pollers));
	p = &d->pollers[d->npollers++];
	memset(p, 0, sizeof(*p));
	p->region = xstrdup(region);
	p->acct = a;
	p->d = d;
	account_key(a, region, p->key, sizeof(p->key));
	for (i = 0; i < d->npace; i++)
		if (strcmp(d->pace[i].key, p->key) == 0)
			p->next_send_ms = d->pace[i].next_send_ms;
	return p;
}

static void
poller_ask(struct poller *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nnames; i++)
		if (strcmp(p->names[i], name) == 0)
			return;
	if (p->nnames < SG_ARRAY_LEN(p->names))
		p->names[p->nnames++] = name;
}

/* What each group needs asked about, per account-region. */
static void
poller_wants(struct poller *p, const struct sg_group_cfg *g,
    const struct sg_config *cfg)
{
	poller_ask(p, "AuthorizeSecurityGroupIngress");
	/* A rule changed in place can open as much as a new one. */
	poller_ask(p, "ModifySecurityGroupRules");
	if (g->egress != SG_EGRESS_IGNORE)
		poller_ask(p, "AuthorizeSecurityGroupEgress");
	/* Revokes matter for restore and to follow allowed changes into
	 * the baseline, which drift compares with. */
	if (g->restore || cfg->drift_interval > 0) {
		poller_ask(p, "RevokeSecurityGroupIngress");
		if (g->egress != SG_EGRESS_IGNORE)
			poller_ask(p, "RevokeSecurityGroupEgress");
	}
	poller_ask(p, "DeleteSecurityGroup");
}

/* One poller per account-region of the watched groups and tag sections. */
static void
pollers_build(struct daemon *d)
{
	size_t i, r;

	pollers_free(d);
	for (i = 0; i < d->ngroups; i++)
		poller_wants(poller_get(d, d->group_acct[i],
		    d->groups[i].region), &d->groups[i], d->cfg);
	for (i = 0; i < d->cfg->ntags; i++) {
		const struct sg_tag_cfg *t = &d->cfg->tags[i];

		for (r = 0; r < t->nregions; r++) {
			struct poller *p = poller_get(d, account_find(d,
			    t->policy.account), t->regions[r]);

			poller_wants(p, &t->policy, d->cfg);
			poller_ask(p, "CreateSecurityGroup");
		}
	}
}

static void poller_send(struct poller *);

static void
poller_fail(struct poller *p, const char *what)
{
	char from[32];

	iso_time(p->start, from, sizeof(from));
	log_msg(LOG_ERR, &(struct sg_log_fields){
	    .message_id = SG_MSGID_AWS_ERROR, .region = p->region },
	    "CloudTrail LookupEvents in %s failed: %s; the window from %s "
	    "is read again next cycle", p->key, what, from);
	set_error(p->d, "LookupEvents %s: %s", p->region, what);
	p->failed = p->done = true;
}

/* Remember a NextToken of the current event name; false if it came
 * before (the pages would go round for ever). */
static bool
poller_new_token(struct poller *p, const char *token)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (; *token != '\0'; token++)
		h = (h ^ (unsigned char)*token) * 1099511628211ULL;
	for (i = 0; i < p->ntokens; i++)
		if (p->tokens[i] == h)
			return false;
	if (p->ntokens == p->tokcap) {
		p->tokcap = p->tokcap ? p->tokcap * 2 : 16;
		p->tokens = xreallocarray(p->tokens, p->tokcap,
		    sizeof(*p->tokens));
	}
	p->tokens[p->ntokens++] = h;
	return true;
}

static void
on_page(struct sg_aws_response *resp, void *arg)
{
	struct poller *p = arg;
	struct sg_ct_page page;
	char err[512];
	size_t skipped, i;

	p->in_flight = false;
	/* A call the aws layer retried (throttled, say) was last sent just
	 * now, not when it was submitted: space the next one from here, or
	 * it follows at once and the one after is throttled again. */
	if (resp->attempts > 1 && p->next_send_ms < sg_mono_ms() +
	    LOOKUP_SPACING_MS)
		p->next_send_ms = sg_mono_ms() + LOOKUP_SPACING_MS;
	if (resp->server_time > p->server_time)
		p->server_time = resp->server_time;
	if (resp->err.kind != SG_AWS_OK && got_stop) {
		/* A stop, not a failure: the cursor stays. */
		log_info("CloudTrail LookupEvents in %s cut short: sgguard is "
		    "stopping", p->key);
		p->failed = p->done = true;
		return;
	}
	if (resp->err.kind != SG_AWS_OK) {
		keys_expired(p->d, p->acct, resp);
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
	if (p->next_token == NULL) {
		p->ntokens = 0;
		if (++p->name_idx == p->nnames)
			p->done = true;
		return;
	}
	if (!poller_new_token(p, p->next_token)) {
		snprintf(err, sizeof(err), "%s page %zu has a NextToken an "
		    "earlier page had", p->names[p->name_idx], p->ntokens + 1);
		poller_fail(p, err);
	} else if (p->ntokens >= LOOKUP_PAGES_MAX) {
		snprintf(err, sizeof(err), "%s has more than %d pages (%d "
		    "events) in one window", p->names[p->name_idx],
		    LOOKUP_PAGES_MAX, LOOKUP_PAGES_MAX * 50);
		poller_fail(p, err);
	}
}

static void
poller_send(struct poller *p)
{
	struct sg_lookup q = {
		.event_name = p->names[p->name_idx],
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
	account_sign(p->acct, &req);
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

/* --- notifications ---------------------------------------------------- */

/*
 * Folded messages wait in the state's pending list as digest items,
 * "digest-item:REGION/GROUP:EVENT", so a crash loses none; publish_pending
 * sends all items of a group as one digest once the first is due.
 */
#define DIGEST_ITEM		"digest-item:"

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
digest_key(const char *region, const char *gid, char *out, size_t size)
{
	snprintf(out, size, DIGEST_ITEM "%s/%s:", region, gid);
}

/* Make every digest item of a group (all groups: gid NULL) due now. */
static void
digest_due(struct daemon *d, const char *key, time_t now)
{
	size_t i;

	for (i = 0; i < d->state.npending; i++)
		if (has_prefix(d->state.pending[i].event_id, key != NULL ? key :
		    DIGEST_ITEM) && d->state.pending[i].next_attempt > now) {
			d->state.pending[i].next_attempt = now;
			d->state.dirty = true;
		}
}

/* Queue one message, unless more than ten for this group within a minute
 * fold it into a digest. */
void
queue_notice(struct daemon *d, const struct sg_notice *n, const char *id,
    const char *action, const char *principal)
{
	struct sg_buf subject, body;
	const char *region = n->ev != NULL ? n->ev->region : n->region;
	const char *gid = n->ev != NULL ? n->ev->group_id : n->group_id;
	char key[160], item[4200], safe[4096];
	time_t now = time(NULL);
	enum sg_digest_verdict v;

	if (d->cfg->topic_arn == NULL)
		return;
	buf_init(&subject);
	buf_init(&body);
	v = digest_offer(&d->digest, region, gid, id, action, principal, now);
	if (v == SG_DIGEST_SEND) {
		notify_compose(n, d->cfg->subject_prefix, &subject, &body);
		state_add_pending(&d->state, id, d->cfg->topic_arn,
		    subject.data, body.data, now);
	} else {
		digest_key(region, gid, key, sizeof(key));
		notify_subject("DIGEST", gid, region, d->cfg->subject_prefix,
		    &subject);
		log_sanitize(principal != NULL ? principal : "", safe,
		    sizeof(safe));
		snprintf(item, sizeof(item), "%s%s", key, id);
		buf_printf(&body, "event: %s %s %s", id, action, safe);
		state_add_pending(&d->state, item, d->cfg->topic_arn,
		    subject.data, body.data, now + SG_DIGEST_WINDOW);
		if (v == SG_DIGEST_FLUSH)
			digest_due(d, key, now);
	}
	buf_free(&subject);
	buf_free(&body);
}

/* Close digests that fell due (all of them at the end of a run) and make
 * their items due. */
static void
flush_digests(struct daemon *d, bool all)
{
	struct sg_buf subject, body;
	time_t now = time(NULL);

	buf_init(&subject);
	buf_init(&body);
	while (digest_take(&d->digest, now, all, "", &subject, &body) == 1)
		;
	buf_free(&subject);
	buf_free(&body);
	if (all)
		digest_due(d, NULL, now);
}

/* Publish the digest that item i opens: every item of its group. */
static int
publish_digest(struct daemon *d, size_t i, struct sg_aws_error *err)
{
	const struct sg_pending *first = &d->state.pending[i];
	const char *rg = first->event_id + strlen(DIGEST_ITEM), *sep;
	char key[200], region_group[160];
	struct sg_buf body;
	size_t j, n = 0;
	int rc;

	/* key: "digest-item:REGION/GROUP:" */
	sep = strchr(rg, ':');
	snprintf(region_group, sizeof(region_group), "%.*s",
	    sep != NULL ? (int)(sep - rg) : (int)strlen(rg), rg);
	snprintf(key, sizeof(key), DIGEST_ITEM "%s:", region_group);
	for (j = i; j < d->state.npending; j++)
		if (has_prefix(d->state.pending[j].event_id, key))
			n++;
	buf_init(&body);
	/* The same first line as digest_format()'s. */
	buf_printf(&body, "digest: %zu notification%s folded: more than %d "
	    "for this group within %d seconds\n", n, n == 1 ? "" : "s",
	    SG_DIGEST_LIMIT, SG_DIGEST_WINDOW);
	if ((sep = strchr(region_group, '/')) != NULL)
		buf_printf(&body, "region: %.*s\ngroup_id: %s\n",
		    (int)(sep - region_group), region_group, sep + 1);
	for (j = i; j < d->state.npending; j++)
		if (has_prefix(d->state.pending[j].event_id, key))
			buf_printf(&body, "%s\n", d->state.pending[j].message);
	rc = sns_publish(d->aws, first->topic_arn, first->subject, body.data,
	    err);
	buf_free(&body);
	if (rc == 0)
		for (j = d->state.npending; j-- > i; )
			if (has_prefix(d->state.pending[j].event_id, key))
				state_remove_pending(&d->state, j);
	return rc;
}

static void
queue_notification(struct daemon *d, const struct sg_event *ev,
    const struct sg_plan *plan, enum sg_outcome outcome, const bool *ok,
    const char *error, const char *action)
{
	struct sg_notice n = {
		.ev = ev,
		.outcome = outcome,
		.revoked = plan->revoke,
		.nrevoked = plan->nrevoke,
		.ok = ok,
		.kept = plan->keep,
		.nkept = plan->nkeep,
		.nunparsed = plan->nunparsed,
		.error = error,
	};

	queue_notice(d, &n, ev->event_id, action, notify_principal(ev));
}

void
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

/* --- one event -------------------------------------------------------- */

enum handled { HANDLED, RETRY };

/* What a drift mark says drift did with its rule. */
enum drift_did { DRIFT_REVERTED, DRIFT_RESTORED, DRIFT_REPORTED };

/* Take out the drift entry of a rule drift reverted (put back; reported
 * in audit mode) in group_id, of account-region key (NULL: any); true if
 * there was one. */
static bool
drift_take(struct daemon *d, const char *key, const char *group_id,
    const struct sg_rule *r, enum drift_did did)
{
	size_t i;

	for (i = 0; i < d->ndrift; i++) {
		struct sg_drift_mark *dr = &d->drift[i];
		bool kind = did == DRIFT_RESTORED ? dr->restored :
		    did == DRIFT_REVERTED ? dr->reverted :
		    dr->audited && !dr->reverted && !dr->restored;

		if (!kind || (key != NULL && strcmp(dr->key, key) != 0) ||
		    strcmp(dr->gr.group_id, group_id) != 0)
			continue;
		/* An added rule's record names its id; a restored rule may
		 * have a new one by now, so content decides. */
		if (did != DRIFT_RESTORED && r->rule_id[0] != '\0' ?
		    strcmp(dr->gr.rule.rule_id, r->rule_id) != 0 :
		    !rule_equal(&dr->gr.rule, r))
			continue;
		/* A reported rule is still there (audit mode): its mark
		 * stays, so that the drift check does not report it again. */
		if (did == DRIFT_REPORTED)
			return true;
		memmove(dr, dr + 1, (d->ndrift - i - 1) * sizeof(*dr));
		d->ndrift--;
		d->drift_dirty = true;
		return true;
	}
	return false;
}

/* Who made a change the drift check already undid (or, in audit mode,
 * reported): logged, and one ATTRIBUTED message with the rules as
 * revoked: / would_revoke: (a rule added) or restored: (a baseline rule
 * removed). */
static void
drift_attributed(struct daemon *d, const struct sg_event *ev,
    const struct sg_log_fields *f, struct sg_rule *done, size_t n,
    enum drift_did did)
{
	static const char *const notes[] = {
		[DRIFT_REVERTED] = "reverted earlier by the drift check, "
		    "before CloudTrail delivered this record",
		[DRIFT_RESTORED] = "restored earlier by the drift check, "
		    "before CloudTrail delivered this record",
		[DRIFT_REPORTED] = "reported earlier by the drift check "
		    "(DRY-RUN), before CloudTrail delivered this record; "
		    "audit mode: nothing was changed",
	};
	struct sg_notice note = {
		.ev = ev,
		.outcome = SG_OUTCOME_ATTRIBUTED,
		.note = notes[did],
		.would = did == DRIFT_REPORTED,
	};
	char rules[1024];

	if (did == DRIFT_RESTORED) {
		note.restored = done;
		note.nrestored = n;
	} else {
		note.revoked = done;
		note.nrevoked = n;
	}
	rules_text(done, n, rules, sizeof(rules));
	log_msg(LOG_WARNING, f, "event %s: the %s drift %s on %s (%s) was made "
	    "by %s: %s", ev->event_id, did == DRIFT_RESTORED ? "removal" :
	    "change", did == DRIFT_RESTORED ? "undid" : did == DRIFT_REVERTED ?
	    "reverted" : "reported (audit mode)", ev->group_id, ev->region,
	    f->principal, rules);
	queue_notice(d, &note, ev->event_id, "attributed", f->principal);
}

/* Rules drift already reverted (in audit mode: reported, audit true) that
 * this record added: take them out of the plan and tell who made the
 * change. Returns how many. */
static size_t
attribute_drift(struct daemon *d, const struct sg_event *ev,
    struct sg_plan *plan, const struct sg_log_fields *f, bool audit)
{
	struct sg_rule done[64], told[64];
	size_t i, n = 0, nt = 0;

	for (i = 0; i < plan->nrevoke; ) {
		if (drift_take(d, NULL, ev->group_id, &plan->revoke[i],
		    DRIFT_REVERTED)) {
			if (n < SG_ARRAY_LEN(done))
				done[n++] = plan->revoke[i];
		} else if (audit && drift_take(d, NULL, ev->group_id,
		    &plan->revoke[i], DRIFT_REPORTED)) {
			if (nt < SG_ARRAY_LEN(told))
				told[nt++] = plan->revoke[i];
		} else {
			i++;
			continue;
		}
		memmove(&plan->revoke[i], &plan->revoke[i + 1],
		    (plan->nrevoke - i - 1) * sizeof(*plan->revoke));
		plan->nrevoke--;
	}
	if (n > 0)
		drift_attributed(d, ev, f, done, n, DRIFT_REVERTED);
	if (nt > 0)
		drift_attributed(d, ev, f, told, nt, DRIFT_REPORTED);
	return n + nt;
}

/*
 * Baseline rules this removal took away that the drift check has put back
 * already: out of back[] (n updated), and one ATTRIBUTED message naming
 * who removed them, instead of a second restore and a second
 * AUTO-MITIGATED.
 */
static void
attribute_restore(struct daemon *d, const struct poller *p,
    const struct sg_event *ev, struct sg_group_rule *back, size_t *n,
    const struct sg_log_fields *f)
{
	struct sg_rule done[64];
	size_t i, nd = 0;

	for (i = 0; i < *n; ) {
		if (!drift_take(d, p->key, ev->group_id, &back[i].rule,
		    DRIFT_RESTORED)) {
			i++;
			continue;
		}
		if (nd < SG_ARRAY_LEN(done))
			done[nd++] = back[i].rule;
		memmove(&back[i], &back[i + 1], (*n - i - 1) *
		    sizeof(*back));
		(*n)--;
	}
	if (nd > 0)
		drift_attributed(d, ev, f, done, nd, DRIFT_RESTORED);
}

/*
 * A revert that failed in part or whole: the log says which rules went
 * and which did not, as the FAILED message does; what went is counted
 * and leaves the baseline.
 */
static void
revert_failed(struct daemon *d, const struct sg_event *ev,
    const struct sg_plan *plan, const struct sg_revoke_result *res,
    struct sg_group_baseline *b, const struct sg_log_fields *f)
{
	struct sg_rule done[64], failed[64];
	char done_text[1024], failed_text[1024];
	size_t i, ndone = 0, nfailed = 0;

	/* Only the first ndone/nfailed are read; zeroed for the compiler,
	 * which cannot tell (gcc -O1 -Wmaybe-uninitialized). */
	memset(done, 0, sizeof(done));
	memset(failed, 0, sizeof(failed));

	for (i = 0; i < plan->nrevoke; i++) {
		bool ok = res->ok != NULL && i < res->n && res->ok[i];

		if (ok && ndone < SG_ARRAY_LEN(done))
			done[ndone++] = plan->revoke[i];
		else if (!ok && nfailed < SG_ARRAY_LEN(failed))
			failed[nfailed++] = plan->revoke[i];
	}
	rules_text(done, ndone, done_text, sizeof(done_text));
	rules_text(failed, nfailed, failed_text, sizeof(failed_text));
	if (nfailed > 0)
		log_msg(LOG_ERR, f, "event %s: could not revert [%s] on %s "
		    "(%s) added by %s: %s%s%s%s", ev->event_id, failed_text,
		    ev->group_id, ev->region, f->principal, res->error,
		    ndone > 0 ? "; reverted [" : "", done_text,
		    ndone > 0 ? "]" : "");
	else if (ndone > 0)
		log_msg(LOG_ERR, f, "event %s: reverted [%s] on %s (%s) added "
		    "by %s, but not all of the call: %s", ev->event_id,
		    done_text, ev->group_id, ev->region, f->principal,
		    res->error);
	else
		log_msg(LOG_ERR, f, "event %s: nothing could be reverted on "
		    "%s (%s) of the call by %s: %s", ev->event_id,
		    ev->group_id, ev->region, f->principal, res->error);
	set_error(d, "revert on %s failed: %s", ev->group_id, res->error);
	d->reverted += ndone;
	if (b != NULL && ndone > 0 && baseline_forget(b, done, ndone) > 0)
		d->baselines_dirty = true;
}

static enum handled
on_authorize(struct daemon *d, struct poller *p, struct sg_event *ev,
    struct sg_log_fields *f)
{
	struct sg_self self = self_of(d);
	const struct sg_group_cfg *g;
	struct sg_group_baseline *b;
	struct sg_plan plan;
	struct sg_revoke_result res;
	char rules[1024];
	enum handled h = HANDLED;
	bool audit;
	size_t i;

	if (policy_decide(&d->view, ev, &self, &plan) == -1)
		fatalx("out of memory");
	g = plan.group;
	/* Only an unwatched group has none, and that is IGNORE; said here
	 * so that no path below needs to know it. */
	if (g == NULL)
		plan.verdict = SG_VERDICT_IGNORE;
	b = g != NULL ? baseline_of(d, p->acct, ev->region, g->id) : NULL;
	if (plan.verdict == SG_VERDICT_PRINCIPAL_ALLOWED && b != NULL) {
		/* What an allowed principal adds becomes intended. */
		if (baseline_apply_event(b, ev, NULL, 0) > 0)
			d->baselines_dirty = true;
	}
	/*
	 * A rule the baseline held before this call was intended: re-adding
	 * it is no change to revert (and fighting a restore would be
	 * absurd). A snapshot taken after the call may have swallowed the
	 * very rule: then only the allow patterns count.
	 */
	for (i = 0; b != NULL && ev->event_time > b->taken + SNAPSHOT_SLACK &&
	    i < plan.nrevoke; ) {
		if (!baseline_holds(b, g->allow, g->nallow,
		    &plan.revoke[i])) {
			i++;
			continue;
		}
		plan.keep[plan.nkeep++] = plan.revoke[i];
		memmove(&plan.revoke[i], &plan.revoke[i + 1],
		    (plan.nrevoke - i - 1) * sizeof(*plan.revoke));
		plan.nrevoke--;
	}
	if (plan.verdict == SG_VERDICT_REVERT && plan.nrevoke == 0 &&
	    plan.nunparsed == 0) {
		plan.verdict = SG_VERDICT_RULES_ALLOWED;
		snprintf(plan.reason, sizeof(plan.reason), "the baseline "
		    "already held %s", plan.nkeep == 1 ? "the rule" :
		    "these rules");
	}
	if (plan.verdict == SG_VERDICT_REVERT && plan.egress &&
	    g->egress == SG_EGRESS_IGNORE) {
		plan.verdict = SG_VERDICT_IGNORE;
		snprintf(plan.reason, sizeof(plan.reason), "egress is ignored "
		    "on %s (egress = ignore)", g->id);
	}
	if (plan.verdict == SG_VERDICT_REVERT &&
	    attribute_drift(d, ev, &plan, f, d->audit || (plan.egress &&
	    g->egress == SG_EGRESS_AUDIT)) > 0 && plan.nrevoke == 0 &&
	    plan.nunparsed == 0) {
		policy_plan_free(&plan);
		return HANDLED;
	}

	switch (plan.verdict) {
	case SG_VERDICT_IGNORE:
		log_debug("event %s (%s): ignored: %s", ev->event_id,
		    ev->event_name, plan.reason);
		break;
	case SG_VERDICT_PRINCIPAL_ALLOWED:
	case SG_VERDICT_RULES_ALLOWED:
		f->message_id = SG_MSGID_AUTHORIZED;
		f->action = "authorized";
		log_msg(LOG_INFO, f, "event %s: %s on %s (%s) by %s is "
		    "authorized: %s", ev->event_id, ev->event_name, ev->group_id,
		    ev->region, f->principal, plan.reason);
		break;
	case SG_VERDICT_REVERT:
		rules_text(plan.revoke, plan.nrevoke, rules, sizeof(rules));
		audit = d->audit || (plan.egress &&
		    g->egress == SG_EGRESS_AUDIT);
		if (audit) {
			f->message_id = SG_MSGID_WOULD_REVERT;
			f->action = "would-revert";
			log_msg(LOG_WARNING, f, "event %s: would revert (%s) on "
			    "%s (%s), added by %s: %s", ev->event_id,
			    d->audit ? "audit mode" : "egress = audit",
			    ev->group_id, ev->region, f->principal, rules);
			queue_notification(d, ev, &plan, SG_OUTCOME_DRY_RUN,
			    NULL, NULL, "would-revert");
			break;
		}
		account_revoke(d, p->acct, ev->region, ev->group_id,
		    plan.revoke, plan.nrevoke, ev->egress, &res);
		/* A revert that keeps failing for a day would pin the
		 * cursor for good: say it failed, a person must look. */
		if (res.status == SG_REVOKE_RETRY && ev->event_time > 0 &&
		    time(NULL) - ev->event_time > RETRY_GIVE_UP)
			res.status = SG_REVOKE_FAILED;
		if (plan.nunparsed > 0 && res.status == SG_REVOKE_DONE) {
			/* Part of the call cannot be undone automatically. */
			res.status = SG_REVOKE_FAILED;
			snprintf(res.error, sizeof(res.error), "%zu rule%s of "
			    "this call could not be read and must be checked "
			    "by hand: %s", plan.nunparsed,
			    plan.nunparsed == 1 ? "" : "s", ev->parse_warning);
		}
		switch (res.status) {
		case SG_REVOKE_DONE:
			f->message_id = SG_MSGID_REVERTED;
			f->action = "reverted";
			log_msg(LOG_WARNING, f, "event %s: reverted %zu "
			    "rule%s on %s (%s) added by %s: %s%s", ev->event_id,
			    plan.nrevoke, plan.nrevoke == 1 ? "" : "s",
			    ev->group_id, ev->region, f->principal, rules,
			    res.group_gone ? " (the group no longer exists)" :
			    res.gone ? " (some were already gone)" : "");
			d->reverted += plan.nrevoke;
			/* Never intended: out of the baseline too, or a
			 * restore would put it back. */
			if (b != NULL && baseline_forget(b, plan.revoke,
			    plan.nrevoke) > 0)
				d->baselines_dirty = true;
			queue_notification(d, ev, &plan, SG_OUTCOME_REVERTED,
			    NULL, NULL, "reverted");
			break;
		case SG_REVOKE_FAILED:
			f->message_id = SG_MSGID_REVERT_FAILED;
			f->action = "failed";
			revert_failed(d, ev, &plan, &res, b, f);
			queue_notification(d, ev, &plan, SG_OUTCOME_FAILED,
			    res.ok, res.error, "failed");
			break;
		case SG_REVOKE_RETRY:
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .message_id = SG_MSGID_AWS_ERROR,
			    .event_id = ev->event_id,
			    .group_id = ev->group_id, .region = ev->region },
			    "event %s: revert on %s (%s) not done yet (%s); "
			    "trying again next cycle", ev->event_id,
			    ev->group_id, ev->region, res.error);
			set_error(d, "revert on %s delayed: %s",
			    ev->group_id, res.error);
			h = RETRY;
			break;
		}
		ec2_result_free(&res);
		break;
	}
	policy_plan_free(&plan);
	return h;
}

/* A Revoke*: an allowed principal's removal leaves the baseline; anyone
 * else's removal of baseline rules is undone with restore = yes. */
static enum handled
on_revoke(struct daemon *d, struct poller *p, struct sg_event *ev,
    const struct sg_record *rec, struct sg_log_fields *f)
{
	const struct sg_group_cfg *g;
	struct sg_group_baseline *b;
	struct sg_group_rule back[64];
	struct sg_aws_error err;
	struct sg_kvlist params = { 0 };
	char **ids = NULL, rules[1024], why[600];
	struct sg_rule shown[64];
	int nids = 0;
	size_t i, j, n = 0;
	enum handled h = HANDLED;

	if ((g = policy_find_group(&d->view, ev, NULL)) == NULL ||
	    (b = baseline_of(d, p->acct, ev->region, g->id)) == NULL)
		return HANDLED;
	if (ev->nrules == 0)
		nids = event_rule_ids(rec->json, rec->len, &ids);
	if (policy_principal(g, ev, NULL) != NULL) {
		if (baseline_apply_event(b, ev, (const char *const *)ids,
		    nids > 0 ? (size_t)nids : 0) > 0) {
			d->baselines_dirty = true;
			log_info("event %s: %s on %s (%s) by %s: the baseline "
			    "follows", ev->event_id, ev->event_name,
			    ev->group_id, ev->region, f->principal);
		}
		goto out;
	}
	if (!g->restore || (ev->egress && g->egress == SG_EGRESS_IGNORE))
		goto out;
	/* The baseline rules this call took away: by id, else by content. */
	for (i = 0; i < b->n && n < SG_ARRAY_LEN(back); i++) {
		const struct sg_group_rule *br = &b->rules[i];
		bool gone = false;

		if (br->rule.egress != ev->egress)
			continue;
		for (j = 0; j < ev->nrules && !gone; j++)
			gone = (ev->rules[j].rule_id[0] != '\0' &&
			    strcmp(ev->rules[j].rule_id, br->rule.rule_id) ==
			    0) || rule_equal(&ev->rules[j], &br->rule);
		for (j = 0; nids > 0 && j < (size_t)nids && !gone; j++)
			gone = strcmp(ids[j], br->rule.rule_id) == 0;
		if (gone)
			back[n++] = *br;
	}
	attribute_restore(d, p, ev, back, &n, f);
	if (n == 0)
		goto out;
	for (i = 0; i < n; i++)
		shown[i] = back[i].rule;
	rules_text(shown, n, rules, sizeof(rules));
	if (d->audit || (ev->egress && g->egress == SG_EGRESS_AUDIT)) {
		struct sg_notice note = { .ev = ev,
		    .outcome = SG_OUTCOME_DRY_RUN, .restored = shown,
		    .nrestored = n };

		f->message_id = SG_MSGID_WOULD_REVERT;
		f->action = "would-revert";
		log_msg(LOG_WARNING, f, "event %s: would restore (%s) on %s "
		    "(%s), removed by %s: %s", ev->event_id,
		    d->audit ? "audit mode" : "egress = audit", ev->group_id,
		    ev->region, f->principal, rules);
		queue_notice(d, &note, ev->event_id, "would-revert",
		    f->principal);
		goto out;
	}
	ec2params_authorize(g->id, back, n, &params);
	if (ec2_call(d, p->acct, ev->region, ev->egress ?
	    SG_AUTHORIZE_EGRESS_ACTION : SG_AUTHORIZE_INGRESS_ACTION, &params,
	    NULL, &err) == 0 || sg_streq(err.code,
	    "InvalidPermission.Duplicate")) {
		struct sg_notice note = { .ev = ev,
		    .outcome = SG_OUTCOME_REVERTED, .restored = shown,
		    .nrestored = n };

		f->message_id = SG_MSGID_REVERTED;
		f->action = "reverted";
		log_msg(LOG_WARNING, f, "event %s: restored %zu baseline "
		    "rule%s on %s (%s) removed by %s: %s", ev->event_id, n,
		    n == 1 ? "" : "s", ev->group_id, ev->region, f->principal,
		    rules);
		d->reverted += n;
		queue_notice(d, &note, ev->event_id, "reverted", f->principal);
	} else if (!ec2_error_final(&err)) {
		awserr_format(&err, why, sizeof(why));
		log_warnx("event %s: restore on %s (%s) not done yet (%s); "
		    "trying again next cycle", ev->event_id, ev->group_id,
		    ev->region, why);
		set_error(d, "restore on %s delayed: %s", ev->group_id,
		    why);
		h = RETRY;
	} else {
		struct sg_notice note = { .ev = ev,
		    .outcome = SG_OUTCOME_FAILED, .restored = shown,
		    .nrestored = n, .error = why };

		awserr_format(&err, why, sizeof(why));
		f->message_id = SG_MSGID_REVERT_FAILED;
		f->action = "failed";
		log_msg(LOG_ERR, f, "event %s: could not restore [%s] on %s "
		    "(%s) removed by %s: %s", ev->event_id, rules,
		    ev->group_id, ev->region, f->principal, why);
		set_error(d, "restore on %s failed: %s", ev->group_id,
		    why);
		queue_notice(d, &note, ev->event_id, "failed", f->principal);
	}
out:
	kvlist_free(&params);
	if (nids > 0)
		event_rule_ids_free(ids, (size_t)nids);
	return h;
}

/* A ModifySecurityGroupRules: an allowed principal's becomes the
 * baseline; anyone else's is put back to the previous form. */
static enum handled
on_modify(struct daemon *d, struct poller *p, struct sg_event *ev,
    const struct sg_record *rec, struct sg_log_fields *f)
{
	const struct sg_group_cfg *g;
	struct sg_group_baseline *b;
	struct sg_modify m;
	struct sg_modify_plan plan;
	struct sg_rule_set current;
	struct sg_rule revoked[64], restored[64], att_rev[64], att_res[64];
	struct sg_aws_error err;
	struct sg_kvlist params = { 0 };
	const char *gid_one[1], *glob, *who = NULL;
	char err1[512], why[600] = "", rules[1024];
	size_t i, nrev = 0, nres = 0, natt = 0;
	bool have_current, failed = false, egress_audit = false;
	enum handled h = HANDLED;

	if (event_parse_modify(rec->json, rec->len, &m, err1,
	    sizeof(err1)) == -1) {
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_BAD_RECORD,
		    .event_id = ev->event_id, .region = ev->region },
		    "event %s: unreadable ModifySecurityGroupRules record: %s",
		    ev->event_id, err1);
		return HANDLED;
	}
	if (sg_strempty(ev->group_id)) {
		free(ev->group_id);
		ev->group_id = xstrdup(m.group_id);
	}
	if ((g = policy_find_group(&d->view, ev, NULL)) == NULL ||
	    m.dry_run || m.refused) {
		event_modify_free(&m);
		return HANDLED;
	}
	b = baseline_of(d, p->acct, ev->region, g->id);
	gid_one[0] = g->id;
	have_current = read_rules(d, p->acct, ev->region, gid_one, 1,
	    &current, err1, sizeof(err1)) == 0;
	if ((glob = policy_principal(g, ev, &who)) != NULL) {
		if (b != NULL && baseline_apply_modify(b, &m, have_current ?
		    &current : NULL) > 0)
			d->baselines_dirty = true;
		f->message_id = SG_MSGID_AUTHORIZED;
		f->action = "authorized";
		log_msg(LOG_INFO, f, "event %s: %s on %s (%s) by %s is "
		    "authorized: %s %s matches allow_principal %s",
		    ev->event_id, ev->event_name, g->id, ev->region,
		    f->principal, who == ev->issuer_arn ? "session issuer" :
		    "principal", who, glob);
		goto out;
	}
	if (is_self(d, ev))
		goto out;
	modify_plan(&m, b, g->allow, g->nallow, have_current ? &current :
	    NULL, g->egress != SG_EGRESS_IGNORE, &plan);
	for (i = 0; i < plan.n; i++) {
		const struct sg_modify_step *s = &plan.steps[i];

		if (s->action == SG_MODIFY_RESTORE && nres < 64) {
			revoked[nrev++] = s->change.rule;
			restored[nres++] = s->previous.rule;
		} else if (s->action == SG_MODIFY_REVOKE && nrev < 64)
			revoked[nrev++] = s->change.rule;
	}
	/* Back in their baseline form because the drift check put them
	 * back: this record says who changed them, once. */
	for (i = 0; i < plan.n; i++) {
		struct sg_modify_step *s = &plan.steps[i];

		if (!s->back || natt >= SG_ARRAY_LEN(att_rev) ||
		    !drift_take(d, p->key, g->id, &s->change.rule,
		    DRIFT_REVERTED))
			continue;
		att_rev[natt] = s->change.rule;
		att_res[natt++] = s->previous.rule;
		s->reason[0] = '\0';		/* said below instead */
	}
	if (natt > 0) {
		struct sg_notice note = { .ev = ev,
		    .outcome = SG_OUTCOME_ATTRIBUTED, .revoked = att_rev,
		    .nrevoked = natt, .restored = att_res, .nrestored = natt,
		    .note = "put back earlier by the drift check, before "
		    "CloudTrail delivered this record" };

		rules_text(att_res, natt, rules, sizeof(rules));
		log_msg(LOG_WARNING, f, "event %s: the change drift put back "
		    "on %s (%s) was made by %s: %s", ev->event_id, g->id,
		    ev->region, f->principal, rules);
		queue_notice(d, &note, ev->event_id, "attributed",
		    f->principal);
	}
	for (i = 0; i < plan.n; i++)
		if ((plan.steps[i].action == SG_MODIFY_KEEP ||
		    plan.steps[i].action == SG_MODIFY_GONE) &&
		    plan.steps[i].reason[0] != '\0')
			log_info("event %s: %s on %s (%s) by %s: left as it is: "
			    "%s", ev->event_id, ev->event_name, g->id,
			    ev->region, f->principal, plan.steps[i].reason);
	if (nrev == 0 && plan.nunparsed == 0) {
		log_debug("event %s: modification on %s kept: every new form "
		    "is intended", ev->event_id, g->id);
		modify_plan_free(&plan);
		goto out;
	}
	rules_text(revoked, nrev, rules, sizeof(rules));
	for (i = 0; i < plan.n && !egress_audit; i++)
		egress_audit = plan.steps[i].egress &&
		    g->egress == SG_EGRESS_AUDIT &&
		    plan.steps[i].action != SG_MODIFY_KEEP;
	if (d->audit || egress_audit) {
		struct sg_notice note = { .ev = ev,
		    .outcome = SG_OUTCOME_DRY_RUN, .revoked = revoked,
		    .nrevoked = nrev, .restored = restored, .nrestored = nres,
		    .nunparsed = plan.nunparsed };

		f->message_id = SG_MSGID_WOULD_REVERT;
		f->action = "would-revert";
		log_msg(LOG_WARNING, f, "event %s: would put back (audit mode) "
		    "rules modified on %s (%s) by %s: %s", ev->event_id,
		    g->id, ev->region, f->principal, rules);
		queue_notice(d, &note, ev->event_id, "would-revert",
		    f->principal);
		modify_plan_free(&plan);
		goto out;
	}
	if (plan.nrestore > 0 && modify_plan_params(&plan, &params) > 0 &&
	    ec2_call(d, p->acct, ev->region, SG_MODIFY_RULES_ACTION, &params,
	    NULL, &err) == -1) {
		awserr_format(&err, why, sizeof(why));
		if (!ec2_error_final(&err))
			h = RETRY;
		failed = true;
	}
	for (i = 0; !failed && i < plan.n; i++) {
		const struct sg_modify_step *s = &plan.steps[i];
		struct sg_revoke_result res;

		if (s->action != SG_MODIFY_REVOKE)
			continue;
		account_revoke(d, p->acct, ev->region, g->id,
		    &s->change.rule, 1, s->egress, &res);
		if (res.status != SG_REVOKE_DONE) {
			sg_strlcpy(why, res.error, sizeof(why));
			failed = true;
			if (res.status == SG_REVOKE_RETRY)
				h = RETRY;
		}
		ec2_result_free(&res);
	}
	if (h == RETRY) {
		log_warnx("event %s: putting back %s (%s) not done yet (%s); "
		    "trying again next cycle", ev->event_id, g->id, ev->region,
		    why);
		set_error(d, "modify on %s delayed: %s", g->id, why);
	} else {
		struct sg_notice note = { .ev = ev,
		    .outcome = failed || plan.nunparsed > 0 ?
		    SG_OUTCOME_FAILED : SG_OUTCOME_REVERTED,
		    .revoked = revoked, .nrevoked = nrev,
		    .restored = restored, .nrestored = nres,
		    .nunparsed = plan.nunparsed,
		    .error = failed ? why : "some modified rules could not "
		    "be read" };

		f->message_id = note.outcome == SG_OUTCOME_FAILED ?
		    SG_MSGID_REVERT_FAILED : SG_MSGID_REVERTED;
		f->action = note.outcome == SG_OUTCOME_FAILED ? "failed" :
		    "reverted";
		log_msg(note.outcome == SG_OUTCOME_FAILED ? LOG_ERR :
		    LOG_WARNING, f, "event %s: %s rules modified on %s (%s) by "
		    "%s: %s%s%s", ev->event_id, note.outcome ==
		    SG_OUTCOME_FAILED ? "could not put back" : "put back",
		    g->id, ev->region, f->principal, rules,
		    failed ? ": " : "", failed ? why : "");
		if (!failed)
			d->reverted += nrev;
		else
			set_error(d, "modify on %s: %s", g->id, why);
		queue_notice(d, &note, ev->event_id, f->action, f->principal);
	}
	modify_plan_free(&plan);
out:
	kvlist_free(&params);
	if (have_current)
		describe_rules_free(&current);
	event_modify_free(&m);
	return h;
}

/* A new group where a tag section looks: find it at once, report it when
 * it is one to guard. */
static enum handled
on_create(struct daemon *d, struct poller *p, struct sg_event *ev,
    struct sg_log_fields *f)
{
	struct sg_notice note = { .ev = ev, .outcome = SG_OUTCOME_CREATED };
	ssize_t gi;

	if (sg_strempty(ev->group_id))
		return HANDLED;
	/* Found by its tag already (at start-up, after a creation inside
	 * the first window): still reported, once, like one found now. A
	 * [group] of the file is not news. */
	if ((gi = group_index(d, ev->region, ev->group_id)) >= 0) {
		if (d->groups[gi].tag == NULL)
			return HANDLED;
	} else {
		/* Tag sections' regions have their pollers already: no
		 * rebuild (this runs while the pollers are being walked). */
		discover(d);
		if ((gi = group_index(d, ev->region, ev->group_id)) < 0)
			return HANDLED;
		baselines_snapshot(d, false);
	}
	f->group_id = ev->group_id;
	log_msg(LOG_WARNING, f, "event %s: new group %s (%s) created by %s is "
	    "now guarded (tag:%s=%s)", ev->event_id, ev->group_id, ev->region,
	    f->principal, d->groups[gi].tag != NULL ? d->groups[gi].tag->key :
	    "", d->groups[gi].tag != NULL ? d->groups[gi].tag->value : "");
	queue_notice(d, &note, ev->event_id, "created", f->principal);
	return HANDLED;
}

static enum handled
on_delete(struct daemon *d, struct poller *p, struct sg_event *ev,
    struct sg_log_fields *f)
{
	struct sg_notice note = { .ev = ev, .outcome = SG_OUTCOME_DELETED };

	/* Guarded when the call was made: now, or until its tag search or
	 * a reload found it gone (its record can come minutes later). */
	if (policy_find_group(&d->view, ev, NULL) == NULL &&
	    !was_guarded(d, p->key, ev->group_id, ev->event_time) &&
	    !baseline_was_guarded(d, p->acct, ev->region, ev->group_id,
	    ev->event_time))
		return HANDLED;
	log_msg(LOG_WARNING, f, "event %s: guarded group %s (%s) was deleted "
	    "by %s", ev->event_id, ev->group_id, ev->region, f->principal);
	baseline_remove(&d->baselines, baseline_account(p->acct), ev->region,
	    ev->group_id);
	d->baselines_dirty = true;
	queue_notice(d, &note, ev->event_id, "deleted", f->principal);
	return HANDLED;
}

/*
 * Two account entries for one AWS account (an [account] whose role is in
 * the credentials' own account): their account-regions are polled apart
 * against one CloudTrail limit of 2 requests/s, and throttle each other.
 * Said once, when the id of a comes to be known.
 */
static void
same_account_check(struct daemon *d, const struct account *a)
{
	size_t i;

	for (i = 0; i < d->naccounts && !d->same_account_said; i++) {
		const struct account *o = &d->accounts[i];
		const char *oid = o->id[0] != '\0' ? o->id :
		    o->cfg != NULL ? o->cfg->account_id : "";

		if (o == a || !sg_streq(oid, a->id))
			continue;
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_CONFIG_ERROR },
		    "accounts %s and %s are both AWS account %s: their "
		    "regions are polled twice against one CloudTrail limit "
		    "of 2 requests/s, and throttle each other; guard its "
		    "groups under one of them", a->label, o->label, a->id);
		d->same_account_said = true;
	}
}

static enum handled
handle_event(struct daemon *d, struct poller *p, const struct sg_ct_entry *e)
{
	struct sg_record rec = { e->record, e->record_len };
	struct sg_log_fields f = { 0 };
	struct sg_event ev;
	char err[512];
	const char *name;
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
	/* LookupEvents of a region answers with that region's events: a
	 * record that does not say which (or not readably) is the
	 * poller's, said with the record's other repairs. */
	if (sg_strempty(ev.region)) {
		char *w;

		if (asprintf(&w, "%s%sawsRegion missing or unreadable: taken "
		    "as %s, where it was looked up", sg_strempty(
		    ev.parse_warning) ? "" : ev.parse_warning,
		    sg_strempty(ev.parse_warning) ? "" : "; ",
		    p->region) == -1)
			fatalx("out of memory");
		free(ev.parse_warning);
		ev.parse_warning = w;
		free(ev.region);
		ev.region = xstrdup(p->region);
	}
	f.event_id = ev.event_id;
	f.group_id = ev.group_id;
	f.region = ev.region;
	f.principal = notify_principal(&ev);
	name = ev.event_name;
	/* Learn the account's id for messages that have no record. */
	if (p->acct->id[0] == '\0' && strlen(ev.account) == 12 &&
	    strspn(ev.account, "0123456789") == 12) {
		sg_strlcpy(p->acct->id, ev.account, sizeof(p->acct->id));
		same_account_check(d, p->acct);
	}
	/* A group named by name alone, with no id in the record. */
	if (sg_strempty(ev.group_id) && !sg_strempty(ev.group_name) &&
	    sg_streq(ev.event_source, "ec2.amazonaws.com") &&
	    sg_strempty(ev.error_code) && !is_self(d, &ev) &&
	    (strncmp(name, "AuthorizeSecurityGroup", 22) == 0 ||
	    strncmp(name, "RevokeSecurityGroup", 19) == 0)) {
		if (group_by_name(d, p, &ev) == -1) {
			event_free(&ev);
			return RETRY;
		}
		f.group_id = ev.group_id;
	}

	/* Repaired text (bad UTF-8, control characters, cut strings) is
	 * worth a look on a watched group: someone may be hiding something.
	 * Not for a call that failed (a bad CIDR is often why it failed):
	 * it changed nothing and is not acted on. */
	if (!sg_strempty(ev.parse_warning) && !sg_strempty(ev.group_id) &&
	    sg_strempty(ev.error_code) &&
	    policy_find_group(&d->view, &ev, NULL) != NULL)
		log_msg(LOG_WARNING, &(struct sg_log_fields){
		    .message_id = SG_MSGID_BAD_RECORD, .event_id = ev.event_id,
		    .group_id = ev.group_id, .region = ev.region },
		    "event %s: parts of the CloudTrail record were unreadable "
		    "or had to be repaired: %s",
		    ev.event_id, ev.parse_warning);

	/* Failed calls change nothing; other sources are not ours. */
	if (!sg_streq(ev.event_source, "ec2.amazonaws.com") ||
	    !sg_strempty(ev.error_code))
		log_debug("event %s (%s): ignored: %s", ev.event_id, name,
		    sg_strempty(ev.error_code) ? "not an EC2 call" :
		    ev.error_code);
	else if (strcmp(name, "AuthorizeSecurityGroupIngress") == 0 ||
	    strcmp(name, "AuthorizeSecurityGroupEgress") == 0)
		h = on_authorize(d, p, &ev, &f);
	else if (is_self(d, &ev))
		log_debug("event %s (%s): own call", ev.event_id, name);
	else if (strcmp(name, "RevokeSecurityGroupIngress") == 0 ||
	    strcmp(name, "RevokeSecurityGroupEgress") == 0)
		h = on_revoke(d, p, &ev, &rec, &f);
	else if (strcmp(name, "ModifySecurityGroupRules") == 0)
		h = on_modify(d, p, &ev, &rec, &f);
	else if (strcmp(name, "CreateSecurityGroup") == 0)
		h = on_create(d, p, &ev, &f);
	else if (strcmp(name, "DeleteSecurityGroup") == 0)
		h = on_delete(d, p, &ev, &f);
	event_free(&ev);
	return h;
}

/* Write the state if it changed; a failure is said once per outage and
 * protection goes on from memory. */
static void
state_save(struct daemon *d)
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
	if (d->state_ok)
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "cannot save state: %s; going on from memory and trying "
		    "again every cycle", err);
	set_error(d, "cannot save state: %s", err);
	d->state_ok = false;
}

/* The drift memory after the state: a crash between the two keeps a mark
 * too many (harmless, it expires), never an event handled twice. */
static void
commit(struct daemon *d)
{
	baselines_save(d);
	state_save(d);
	drift_save(d);
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
	/*
	 * AWS's clock is the one CloudTrail stamps events with: a cursor
	 * past AWS's time (this clock runs ahead) would skip what it
	 * delivers late, and ahead by more than lookback every window would
	 * lie in AWS's future. Taken when within the 15 minutes AWS allows a
	 * signature (a Date further off is no AWS clock).
	 */
	if (p->server_time > 0 && p->server_time < cursor &&
	    p->server_time >= p->end - CLOCK_TRUST) {
		if (p->end - p->server_time > CLOCK_WARN && !d->clock_warned) {
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .message_id = SG_MSGID_AWS_ERROR,
			    .region = p->region }, "CloudTrail %s: this "
			    "host's clock is %lld s ahead of AWS's: check the "
			    "system clock (timedatectl); windows follow AWS's "
			    "clock meanwhile", p->key,
			    (long long)(p->end - p->server_time));
			d->clock_warned = true;
		}
		cursor = p->server_time;
	}
	if (cursor > state_cursor(&d->state, p->key) || p->rewind)
		state_set_cursor(&d->state, p->key, cursor);
}

/* A due notification failed: its next attempt, or the end of trying.
 * True when it stays queued at index i. */
static bool
publish_failed(struct daemon *d, size_t i, const char *why, time_t now)
{
	struct sg_pending *p = &d->state.pending[i];
	long delay;

	p->attempts++;
	/* 60 s after the first failed attempt, then doubling. */
	delay = 60L << (p->attempts < 7 ? p->attempts - 1 : 6);
	if (delay > PUBLISH_BACKOFF_MAX)
		delay = PUBLISH_BACKOFF_MAX;
	if ((long)p->attempts * PUBLISH_BACKOFF_MAX > PUBLISH_GIVE_UP) {
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_NOTIFY_FAILED,
		    .event_id = p->event_id },
		    "event %s: giving up on the notification to %s after %d "
		    "attempts: %s", p->event_id, p->topic_arn, p->attempts,
		    why);
		state_remove_pending(&d->state, i);
		return false;
	}
	log_msg(LOG_WARNING, &(struct sg_log_fields){
	    .message_id = SG_MSGID_NOTIFY_FAILED,
	    .event_id = p->event_id },
	    "event %s: notification to %s not published (%s); "
	    "trying again in %ld s", p->event_id, p->topic_arn, why, delay);
	p->next_attempt = now + delay;
	d->state.dirty = true;
	return true;
}

/*
 * Publish the queued notifications that are due. With early (a --once
 * run: there may be no later cycle soon), also those whose next attempt
 * is still ahead; such an extra try that fails leaves their schedule and
 * attempt count as they were, so the week before giving up stays a week.
 */
void
publish_pending(struct daemon *d, bool early)
{
	struct sg_aws_error err;
	char why[600];
	time_t now = time(NULL);
	size_t i = 0;
	bool ahead;

	flush_digests(d, false);
	while (i < d->state.npending && !got_stop && !d->sns_down) {
		struct sg_pending *p = &d->state.pending[i];

		ahead = p->next_attempt > now;
		if (ahead && !early) {
			i++;
			continue;
		}
		watchdog_ping(d);
		if (has_prefix(p->event_id, DIGEST_ITEM)) {
			if (publish_digest(d, i, &err) == 0) {
				log_info("digest published to %s",
				    d->cfg->topic_arn);
				commit(d);
				continue;
			}
			p = &d->state.pending[i];
		} else if (sns_publish(d->aws, p->topic_arn, p->subject,
		    p->message, &err) == 0) {
			log_msg(LOG_INFO, &(struct sg_log_fields){
			    .event_id = p->event_id },
			    "event %s: notification published to %s",
			    p->event_id, p->topic_arn);
			state_remove_pending(&d->state, i);
			commit(d);
			continue;
		}
		awserr_format(&err, why, sizeof(why));
		if (got_stop) {
			/* Cut short by the stop: not an attempt that failed;
			 * it stays queued, due, for the next start. */
			log_info("event %s: notification still queued: "
			    "sgguard is stopping", p->event_id);
			break;
		}
		set_error(d, "publish to SNS failed: %s", why);
		if (ahead) {
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .message_id = SG_MSGID_NOTIFY_FAILED,
			    .event_id = p->event_id },
			    "event %s: notification to %s not published (%s); "
			    "still queued", p->event_id, p->topic_arn, why);
			i++;
		} else if (publish_failed(d, i, why, now))
			i++;
		/* SNS gave no answer, or 5xx, or throttling, after all of the
		 * call's retries: the next one would wait as long. The rest
		 * stay queued for the next cycle. */
		if (err.kind == SG_AWS_ERR_TRANSPORT ||
		    err.kind == SG_AWS_ERR_SERVER ||
		    err.kind == SG_AWS_ERR_THROTTLED) {
			d->sns_down = true;
			break;
		}
	}
	commit(d);
}

/* --- the cycle -------------------------------------------------------- */

/* Set the cursor so that the next window starts where this one does
 * (never past this one's end). */
static void
window_pin(struct daemon *d, const struct poller *p)
{
	time_t c = p->start + d->cfg->lookback;

	state_set_cursor(&d->state, p->key, c < p->end ? c : p->end);
}

static void
cycle(struct daemon *d)
{
	time_t now, cursor, oldest;
	size_t i, left;
	long wait, t;
	long stop_at = 0;

	d->cycle_ok = true;
	d->last_error[0] = '\0';
	ec2_breakers_reset(d);
	d->sns_down = false;
	if (accounts_refresh(d)) {
		/* Back from an outage: read what could not be read then. */
		baselines_snapshot(d, false);
		d->next_discovery = 0;
	}
	if (d->cfg->ntags > 0 && time(NULL) >= d->next_discovery) {
		discover(d);
		pollers_build(d);
		baselines_snapshot(d, false);
	}
	/* Before any record is read: what start-up, a reload or the tag
	 * search above stopped guarding. */
	baselines_mark_guarded(d);
	now = time(NULL);
	for (i = 0; i < d->npollers; i++) {
		struct poller *p = &d->pollers[i];

		poller_reset(p);
		p->end = now;
		cursor = state_cursor(&d->state, p->key);
		/* No cursor yet: protect from now - lookback. */
		p->start = (cursor ? cursor : now) - d->cfg->lookback;
		if (cursor > now + CLOCK_SLACK) {
			/* Saved by a clock that was ahead of this one: it
			 * went back at least that far. Read that much more,
			 * and let the cursor come back to the present. */
			log_msg(LOG_WARNING, &(struct sg_log_fields){
			    .message_id = SG_MSGID_AWS_ERROR,
			    .region = p->region }, "CloudTrail %s: the cursor "
			    "is %lld s ahead of the clock (the clock went "
			    "back); the window reaches back that much more "
			    "than lookback", p->key,
			    (long long)(cursor - now));
			p->start = now - d->cfg->lookback - (cursor - now);
			p->rewind = true;
		}
		/* Never before what was handled and forgotten: it would
		 * be acted on again (lookback raised, the clock back). A
		 * poller without a cursor read nothing yet: none of its
		 * events was forgotten. */
		if (cursor != 0 && p->start < d->state.horizon) {
			log_debug("CloudTrail %s: the window starts at the "
			    "horizon %lld, not %lld: events before it were "
			    "handled and forgotten", p->key,
			    (long long)d->state.horizon, (long long)p->start);
			p->start = d->state.horizon;
		}
		if (p->start < now - MAX_WINDOW) {
			char from[32];

			/* Said once: the cursor follows the clamp, so the
			 * next cycles cut only a cycle's worth. */
			iso_time(p->start, from, sizeof(from));
			if (p->start < now - MAX_WINDOW - d->cfg->lookback)
				log_msg(LOG_WARNING, &(struct sg_log_fields){
				    .message_id = SG_MSGID_AWS_ERROR,
				    .region = p->region }, "CloudTrail %s: "
				    "events from %s on were not read, and "
				    "LookupEvents keeps %ld days: the older ones "
				    "are not read", p->key, from,
				    MAX_WINDOW / (24 * 3600));
			p->start = now - MAX_WINDOW;
			window_pin(d, p);
		}
		if (p->start > now)
			p->start = now;
		if (!p->acct->ok)
			p->done = p->failed = true;	/* said already */
		/* next_send_ms stays: the last call's spacing holds across
		 * cycles and (struct pace) a reload's rebuild. */
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
				break;
		}
		watchdog_ping(d);
		/* Nothing in flight: aws_run() would return at once, so wait
		 * for the next request's turn here (never spin). */
		if (aws_pending(d->aws) > 0)
			aws_run(d->aws, wait);
		else
			sleep_interruptible(wait);
	}
	d->last_poll = now;
	for (i = 0; i < d->npollers; i++) {
		struct poller *p = &d->pollers[i];

		/* (Stopped while fetching: only what was read in full.) */
		if (!p->failed && p->done)
			poller_finish(d, p);
		/* Not read to the end (a failure, a stop) before any window
		 * was: protection began at this window's start, and the
		 * next one must reach back to it, not slide forward. */
		if (state_cursor(&d->state, p->key) == 0)
			window_pin(d, p);
		log_debug("CloudTrail %s: window %lld..%lld, %zu request%s, "
		    "%zu event%s", p->key, (long long)p->start,
		    (long long)p->end, p->requests,
		    p->requests == 1 ? "" : "s", p->nentries,
		    p->nentries == 1 ? "" : "s");
		poller_reset(p);
	}
	/* Handled ids older than every window can never come back. */
	oldest = now - d->cfg->lookback;
	for (i = 0; i < d->state.ncursors; i++)
		if (d->state.cursors[i].time - d->cfg->lookback < oldest)
			oldest = d->state.cursors[i].time - d->cfg->lookback;
	/* No window reaches further back (a key that keeps failing, or is
	 * not polled any more, holds the rest no longer). */
	if (oldest < now - MAX_WINDOW)
		oldest = now - MAX_WINDOW;
	state_prune(&d->state, oldest);
	publish_pending(d, d->opts->once);
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

/* What is guarded, from the configuration: accounts' keys, groups found
 * by tag, pollers, baselines. */
static void
guard_setup(struct daemon *d, bool fresh)
{
	free(d->found);
	free(d->found_acct);
	d->found = NULL;
	d->found_acct = NULL;
	d->nfound = 0;
	accounts_refresh(d);
	groups_build(d);
	if (d->cfg->ntags > 0)
		discover(d);
	pollers_build(d);
	groups_check_exist(d);
	baselines_snapshot(d, fresh);
}

static void
reload(struct daemon *d)
{
	struct sg_config *ncfg = NULL, *old = d->cfg;
	struct unguarded *was;
	char err[1024];
	struct timespec ts;
	size_t i, nwas;

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
	/* What is guarded now, to tell what the new configuration drops. */
	was = xcalloc(d->ngroups + 1, sizeof(*was));
	for (i = 0; i < d->ngroups; i++) {
		account_key(d->group_acct[i], d->groups[i].region, was[i].key,
		    sizeof(was[i].key));
		sg_strlcpy(was[i].id, d->groups[i].id, sizeof(was[i].id));
	}
	nwas = d->ngroups;
	pollers_free(d);
	clients_free(d);
	d->cfg = ncfg;
	if (clients_new(d, err, sizeof(err)) == -1) {
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_CONFIG_ERROR },
		    "reload failed, keeping the running configuration: "
		    "cannot set up the AWS clients: %s", err);
		d->cfg = old;
		config_free(ncfg);
		if (clients_new(d, err, sizeof(err)) == -1)
			fatalx("cannot set up the AWS clients again: %s", err);
		guard_setup(d, false);
		sd_notify(0, "READY=1");
		free(was);
		return;
	}
	config_free(old);
	d->audit = d->opts->dry_run || d->cfg->mode == SG_MODE_AUDIT;
	if (d->opts->log_level == -1)
		log_set_level(d->cfg->log_level_set ? d->cfg->log_level :
		    LOG_INFO);
	guard_setup(d, true);
	for (i = 0; i < nwas; i++) {
		char key[160];
		size_t j;

		for (j = 0; j < d->ngroups; j++)
			if (strcmp(d->groups[j].id, was[i].id) == 0 &&
			    strcmp(account_key(d->group_acct[j],
			    d->groups[j].region, key, sizeof(key)),
			    was[i].key) == 0)
				break;
		if (j < d->ngroups)
			continue;
		log_info("%s: %s is no longer guarded (not in the reloaded "
		    "configuration, or its tag is gone)", was[i].key,
		    was[i].id);
		unguarded_add(d, was[i].key, was[i].id);
	}
	free(was);
	log_msg(LOG_INFO, &(struct sg_log_fields){
	    .message_id = SG_MSGID_RELOADED },
	    "configuration reloaded from %s: %zu group%s, mode %s",
	    d->opts->config_path, d->ngroups,
	    d->ngroups == 1 ? "" : "s", d->audit ? "audit" : "enforce");
	sd_notify(0, "READY=1");
}

static void
daemon_free(struct daemon *d)
{
	pollers_free(d);
	clients_free(d);
	state_free(&d->state);
	baseline_set_free(&d->baselines);
	digest_free(&d->digest);
	free(d->groups);
	free(d->group_acct);
	free(d->found);
	free(d->found_acct);
	free(d->drift);
	free(d->pace);
	free(d->unguarded);
	free(d->tags_failed);
	free(d->state_dir);
	config_free(d->cfg);
}

/*
 * One sgguard per state directory: a second one (sgguard --once run by
 * hand while the service is up, two units on one directory) would act on
 * every event a second time and notify twice. An exclusive flock(2) on
 * DIR/lock, held until exit (the kernel drops it when the process dies,
 * however it dies); the file holds the holder's pid for the message.
 * 0, or -1 when another process holds it, or when the lock is there but
 * cannot be opened (another user's, a directory): whether another
 * sgguard holds it is then unknown (said, with the fix). A directory
 * where the lock cannot even be made is not fatal: state then stays in
 * memory (state_load says so) and nothing else could share it either.
 */
static int
state_lock(const char *dir)
{
	char path[4096], pid[32];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/lock", dir) >=
	    sizeof(path))
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* flock(2) needs no write access: a lock that is there but not
	 * ours to write (a read-only directory, another user's 0644 file)
	 * still locks. */
	if (fd == -1 && (errno == EACCES || errno == EROFS || errno == EPERM))
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		struct stat st;
		int e = errno;

		if (lstat(path, &st) == 0 && e != EROFS) {
			log_msg(LOG_ERR, &(struct sg_log_fields){
			    .message_id = SG_MSGID_STATE_ERROR },
			    "cannot open the lock %s (%s; it is %s owned by "
			    "uid %ld): whether another sgguard uses this "
			    "state directory is unknown; when none does, "
			    "remove it (a run as another user, root's --once "
			    "say, left it)", path, strerror(e),
			    S_ISREG(st.st_mode) ? "a file" : "not a file",
			    (long)st.st_uid);
			return -1;
		}
		log_warn("cannot open %s; running without the lock that keeps "
		    "a second sgguard off this state directory", path);
		return 0;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			log_warn("cannot lock %s", path);
			close(fd);
			return 0;
		}
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_msg(LOG_ERR, &(struct sg_log_fields){
		    .message_id = SG_MSGID_STATE_ERROR },
		    "state directory %s is in use by another sgguard%s%s%s: "
		    "one directory, one sgguard (stop the other, e.g. "
		    "systemctl stop sgguard, or give this one its own "
		    "--state-dir)", dir, pid[0] != '\0' ? " (pid " : "", pid,
		    pid[0] != '\0' ? ")" : "");
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_debug("cannot write the pid into %s", path);
	/* fd stays open, and locked, until the process ends. */
	return 0;
}

int
daemon_run(const struct sg_options *opts, struct sg_config *cfg)
{
	struct daemon d;
	struct sg_creds c;
	uint64_t wd_usec;
	char err[2048], setup_error[sizeof(d.last_error)];
	long next_poll, next_drift = 0, now, wake;
	int r, rc, attempt;
	bool setup_ok;

	memset(&d, 0, sizeof(d));
	d.opts = opts;
	d.cfg = cfg;
	d.audit = opts->dry_run || cfg->mode == SG_MODE_AUDIT;
	d.state_dir = xstrdup(daemon_state_dir(opts, cfg));
	d.state_ok = true;
	d.watchdog = sd_watchdog_enabled(0, &wd_usec) > 0;
	d.watchdog_every = d.watchdog && wd_usec / 4000 < 1000 ?
	    (long)(wd_usec / 4000) : 1000;
	digest_init(&d.digest);

	if (mkdir(d.state_dir, 0700) == -1 && errno != EEXIST)
		log_warn("cannot create state directory %s", d.state_dir);
	if (state_lock(d.state_dir) == -1) {
		daemon_free(&d);
		return SG_EXIT_FAIL;
	}
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
	baselines_load(&d);
	drift_load(&d);

	if (clients_new(&d, err, sizeof(err)) == -1) {
		log_error("cannot set up the AWS clients: %s", err);
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
		if (got_stop && !opts->once) {
			/* Asked to stop while waiting: a stop, not a
			 * failure (systemctl stop must not fail the unit). */
			log_info("stopped while waiting for AWS credentials "
			    "(%s)", err);
			daemon_free(&d);
			return SG_EXIT_OK;
		}
		if (opts->once || attempt == CREDS_START_TRIES - 1) {
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
	/* Ready once the configuration, the state and the credentials are
	 * good: the set-up below may wait on other accounts' STS. */
	sd_notify(0, "READY=1");
	/* Baselines kept from an earlier run stay: changes made while
	 * sgguard was down are judged against them, not absorbed. What
	 * fails here (a tag search, a baseline read) counts for --once as
	 * much as what fails in the cycle. */
	d.cycle_ok = true;
	d.last_error[0] = '\0';
	guard_setup(&d, false);
	setup_ok = d.cycle_ok;
	sg_strlcpy(setup_error, d.last_error, sizeof(setup_error));

	log_msg(LOG_INFO, &(struct sg_log_fields){
	    .message_id = SG_MSGID_STARTED },
	    "sgguard %s started: %zu group%s in %zu region%s, mode %s, "
	    "poll every %d s, lookback %d s%s, state in %s", SGGUARD_VERSION,
	    d.ngroups, d.ngroups == 1 ? "" : "s", d.npollers,
	    d.npollers == 1 ? "" : "s", d.audit ? "audit" : "enforce",
	    cfg->poll_interval, cfg->lookback,
	    cfg->drift_interval > 0 ? ", drift check on" : "", d.state_dir);
	status_update(&d);

	next_poll = sg_mono_ms();
	for (;;) {
		now = sg_mono_ms();
		if (now >= next_poll) {
			next_poll = now + (long)d.cfg->poll_interval * 1000;
			cycle(&d);
			status_update(&d);
#ifdef __GLIBC__
			/* A cycle's pages and records are freed by now;
			 * give the pages back rather than keep them
			 * resident until the next busy cycle (~0.3 MB). */
			malloc_trim(0);
#endif
			if (opts->once || got_stop)
				break;
		}
		if (d.cfg->drift_interval > 0 && sg_mono_ms() >= next_drift) {
			next_drift = sg_mono_ms() +
			    (long)d.cfg->drift_interval * 1000;
			drift_check(&d);
			commit(&d);
		}
		/* Wake for the next poll or drift check, and for the
		 * watchdog at least twice per period. */
		while (!got_stop && !got_reload) {
			now = sg_mono_ms();
			wake = next_poll;
			if (d.cfg->drift_interval > 0 && next_drift < wake)
				wake = next_drift;
			if (now >= wake)
				break;
			if (d.watchdog && (long)(wd_usec / 2000) < wake - now)
				wake = now + (long)(wd_usec / 2000);
			/* Before a sleep of up to half the period: always. */
			d.watchdog_sent = 0;
			watchdog_ping(&d);
			/* An AssumeRole may still be on its way: take its
			 * answer while waiting (a second at a time, so a
			 * signal is seen soon). */
			if (aws_pending(d.aws) > 0)
				aws_run(d.aws, wake - now < 1000 ? wake - now :
				    1000);
			else
				sleep_interruptible(wake - now);
		}
		if (got_stop)
			break;
		if (got_reload) {
			reload(&d);
			next_poll = sg_mono_ms();
		}
	}

	sd_notify(0, "STOPPING=1");
	/* Nothing folded into a digest is lost at the end of a run. */
	flush_digests(&d, true);
	if (d.state.npending > 0 && opts->once && !got_stop)
		publish_pending(&d, false);
	commit(&d);
	rc = SG_EXIT_OK;
	if (opts->once && (!setup_ok || !d.cycle_ok || !d.state_ok))
		rc = SG_EXIT_FAIL;
	/* A --once that a signal cut short did not do its cycle (and left
	 * what is queued unsent): a script must not take that as done. A
	 * daemon stopped is a normal stop. */
	if (opts->once && got_stop) {
		rc = SG_EXIT_FAIL;
		sg_strlcpy(d.last_error, "stopped by a signal before the "
		    "cycle was done", sizeof(d.last_error));
	}
	log_msg(LOG_INFO, &(struct sg_log_fields){
	    .message_id = SG_MSGID_STOPPED },
	    "sgguard stopped: %lu event%s seen, %lu rule%s reverted",
	    d.events_seen, d.events_seen == 1 ? "" : "s", d.reverted,
	    d.reverted == 1 ? "" : "s");
	/* The one line that names why (the contract), last. */
	if (rc == SG_EXIT_FAIL)
		log_msg(LOG_ERR, NULL, "--once: not everything could be done: "
		    "%s", d.last_error[0] != '\0' ? d.last_error :
		    setup_error[0] != '\0' ? setup_error :
		    "the state could not be saved");
	daemon_free(&d);
	return rc;
}
