/* driftmem.h: what the drift check remembers about rules it met before
 * their CloudTrail records came: reverted (the record is then attributed,
 * not acted on again), put back (the removal's record likewise), reported
 * in audit mode (not reported again), or waiting for the record. Kept in
 * the state directory so a restart does not forget it (see sgguard(8),
 * "Drift").
 *
 * Pure: no I/O; the clock is an argument.
 */
#ifndef SG_DRIFTMEM_H
#define SG_DRIFTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "describe.h"

/* At most this many marks are kept; the oldest go first. */
#define SG_DRIFT_MEMORY_MAX	1024

struct sg_drift_mark {
	struct sg_group_rule	 gr;
	char			 key[160];	/* ACCOUNT/REGION */
	time_t			 seen;		/* first met (wall clock) */
	bool			 reverted;	/* else still waiting */
	bool			 restored;	/* a baseline rule put back */
	bool			 audited;	/* reported in audit mode */
};

/*
 * The persisted form: {"version":1,"marks":[{"key","group","owner",
 * "seen","reverted","restored","audited","rule":{...}}]}, the rule as in
 * baselines.json. parse replaces *out (free() it): marks seen more than
 * keep seconds before now are dropped, as are any beyond
 * SG_DRIFT_MEMORY_MAX. 0, or -1 with a reason in err (*out empty).
 */
char	*driftmem_serialize(const struct sg_drift_mark *, size_t n);
int	 driftmem_parse(const char *json, size_t len, time_t now, time_t keep,
	    struct sg_drift_mark **out, size_t *n, char *err, size_t errlen);

#endif
