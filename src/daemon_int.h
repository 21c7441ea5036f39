/* daemon_int.h: what daemon.c, groups.c and drift.c share: the
 * daemon's state and the steps one file takes for another. Not an
 * interface: only these three files include it. */
#ifndef SG_DAEMON_INT_H
#define SG_DAEMON_INT_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "aws.h"
#include "baseline.h"
#include "cloudtrail.h"
#include "config.h"
#include "creds.h"
#include "daemon.h"
#include "describe.h"
#include "digest.h"
#include "driftmem.h"
#include "ec2.h"
#include "ec2params.h"
#include "event.h"
#include "event_modify.h"
#include "http.h"
#include "log.h"
#include "modify.h"
#include "notify.h"
#include "policy.h"
#include "sns.h"
#include "state.h"
#include "sts.h"
#include "util.h"
#include "xml.h"

/* A record's JSON text, for the parsers beyond event_parse(). */
struct sg_record {
	const char	*json;
	size_t		 len;
};

struct daemon;

/* One account: the credentials' own, or an [account NAME] (AssumeRole). */
struct account {
	struct daemon		*d;
	const struct sg_account_cfg *cfg;	/* NULL: own */
	const char		*label;		/* "default" or NAME */
	struct sg_sts_provider	*sts;		/* NULL: own */
	bool			 ok;		/* usable this cycle */
	bool			 failing;	/* said so already */
	char			 id[16];	/* 12 digits, once known */
	bool			 asked;		/* GetCallerIdentity tried */
};

/* One account-region: its window, where its lookups are, what came back. */
struct poller {
	char			 key[160];	/* "ACCOUNT/REGION" */
	struct account		*acct;
	char			*region;
	const char		*names[8];	/* event names to ask for */
	size_t			 nnames;
	time_t			 start, end;	/* the window, inclusive */
	time_t			 server_time;	/* AWS's Date, newest answer */
	bool			 rewind;	/* cursor was ahead of the clock */
	size_t			 name_idx;
	char			*next_token;
	uint64_t		*tokens;	/* hashes of this name's tokens */
	size_t			 ntokens, tokcap;
	long			 next_send_ms;	/* monotonic: rate limit */
	bool			 in_flight;
	bool			 done;
	bool			 failed;
	struct sg_ct_entry	*entries;
	size_t			 nentries;
	size_t			 cap;
	size_t			 requests;
	struct daemon		*d;
	/* EC2 of this account-region failed after all of a call's retries:
	 * why, for reads [0] (Describe*) and writes [1]; empty: fine. Calls
	 * of that kind fail at once for the rest of the cycle or drift check
	 * (ec2_breakers_reset()). */
	char			 ec2_down[2][256];
};

/* When an account-region may be asked again, kept across the pollers'
 * rebuild at a reload: LookupEvents' 2 calls/s do not start afresh. */
struct pace {
	char			 key[160];
	long			 next_send_ms;
};

/* A group that stopped being guarded (its tag gone, or a reload): a
 * DeleteSecurityGroup made while it still was, whose record comes later,
 * is still reported. */
struct unguarded {
	char			 key[160];	/* ACCOUNT/REGION */
	char			 id[32];
	time_t			 until;		/* guarded up to then */
};

struct daemon {
	const struct sg_options	*opts;
	struct sg_config	*cfg;
	/* Its own copy: the configuration it came from is freed by a
	 * reload, and the directory changes only at a restart. */
	char			*state_dir;
	struct pace		*pace;		/* of the pollers last freed */
	size_t			 npace;
	struct unguarded	*unguarded;	/* for 2 x lookback */
	size_t			 nunguarded;
	bool			 audit;
	/* Account-regions ("NAME/REGION") where the last tag search
	 * failed: what it would have found there is not known
	 * (baselines_mark_guarded waits for them). */
	char			(*tags_failed)[160];
	size_t			 ntags_failed;
	bool			 clock_warned;	/* said the clock is ahead */
	bool			 same_account_said; /* two entries, one account */
	struct sg_state		 state;
	bool			 state_ok;	/* last commit worked */
	struct sg_http		*http;
	struct sg_creds_provider *creds;
	struct sg_aws		*aws;
	struct account		*accounts;
	size_t			 naccounts;
	/* The watched groups: configured ones, then ones found by tag. The
	 * view is the configuration with these groups, for policy_decide. */
	struct sg_group_cfg	*groups;
	struct account		**group_acct;
	size_t			 ngroups;
	struct sg_group_cfg	*found;		/* by tag */
	struct account		**found_acct;
	size_t			 nfound;
	struct sg_config	 view;
	time_t			 next_discovery;
	struct poller		*pollers;
	size_t			 npollers;
	struct sg_baseline_set	 baselines;
	bool			 baselines_dirty;
	bool			 baselines_unsaved;	/* said so */
	struct sg_drift_mark	*drift;		/* driftmem.h */
	size_t			 ndrift;
	bool			 drift_dirty;	/* to be saved */
	bool			 drift_unsaved;	/* said so */
	struct sg_digest	 digest;
	bool			 cycle_ok;	/* every call of the cycle worked */
	bool			 sns_down;	/* Publish failed: wait a cycle */
	/* For STATUS= and the end-of-run summary. */
	unsigned long		 events_seen;
	unsigned long		 reverted;
	time_t			 last_poll;
	char			 last_error[256];
	bool			 watchdog;
	long			 watchdog_sent;	/* monotonic ms, 0: never */
	long			 watchdog_every; /* at most one ping per (ms) */
};

/* Set by the signal handlers (daemon.c). */
extern volatile sig_atomic_t got_stop, got_reload;

/* daemon.c */
void	 set_error(struct daemon *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 iso_time(time_t, char *out, size_t size);
void	 account_sign(const struct account *, struct sg_aws_request *);
int	 account_creds(void *arg, time_t now, struct sg_creds *out,
	    char *err, size_t errlen);
struct account *account_find(struct daemon *, const char *name);
int	 ec2_call(struct daemon *, const struct account *, const char *region,
	    const char *action, const struct sg_kvlist *params,
	    struct sg_buf *body, struct sg_aws_error *err);
void	 account_revoke(struct daemon *, const struct account *,
	    const char *region, const char *group_id,
	    const struct sg_rule *rules, size_t n, bool egress,
	    struct sg_revoke_result *res);
void	 ec2_breakers_reset(struct daemon *);
void	 queue_notice(struct daemon *, const struct sg_notice *,
	    const char *id, const char *action, const char *principal);
void	 rules_text(const struct sg_rule *, size_t n, char *out, size_t size);
void	 publish_pending(struct daemon *, bool early);

/* groups.c: the watched groups and their baselines */
const char *account_key(const struct account *, const char *region,
	    char *buf, size_t size);
const char *baseline_account(const struct account *);
void	 groups_build(struct daemon *);
ssize_t	 group_index(const struct daemon *, const char *region,
	    const char *id);
int	 group_by_name(struct daemon *, struct poller *, struct sg_event *);
void	 unguarded_add(struct daemon *, const char *key, const char *id);
bool	 was_guarded(struct daemon *, const char *key, const char *id,
	    time_t at);
void	 discover(struct daemon *);
void	 side_file_save(struct daemon *, const char *name, const char *what,
	    char *text, bool *dirty, bool *unsaved);
void	 baselines_save(struct daemon *);
void	 baselines_load(struct daemon *);
int	 read_rules(struct daemon *, const struct account *,
	    const char *region, const char *const *ids, size_t n,
	    struct sg_rule_set *out, char *why, size_t whylen);
void	 baselines_snapshot(struct daemon *, bool fresh);
void	 baselines_mark_guarded(struct daemon *);
bool	 baseline_was_guarded(const struct daemon *, const struct account *,
	    const char *region, const char *id, time_t at);
void	 groups_check_exist(struct daemon *);
struct sg_group_baseline *baseline_of(const struct daemon *,
	    const struct account *, const char *region, const char *gid);

/* drift.c */
void	 drift_check(struct daemon *);
void	 drift_load(struct daemon *);
void	 drift_save(struct daemon *);

#endif
