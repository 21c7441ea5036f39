/* cloudtrail.h: LookupEvents, the request body and the answer page.
 * Pure: plain data in, plain data out; the poller in daemon.c sends. */
#ifndef SG_CLOUDTRAIL_H
#define SG_CLOUDTRAIL_H

#include <stddef.h>
#include <time.h>

#define SG_CT_TARGET \
	"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
#define SG_CT_MAX_RESULTS	50

struct sg_lookup {
	const char	*event_name;	/* the one EventName attribute */
	time_t		 start;		/* inclusive */
	time_t		 end;		/* inclusive */
	const char	*next_token;	/* NULL on the first page */
};

/* One entry of Events[]: the record itself stays a string until the
 * caller parses it with event_parse(). */
struct sg_ct_entry {
	char		*event_id;
	char		*event_name;
	time_t		 event_time;
	char		*record;	/* CloudTrailEvent */
	size_t		 record_len;
};

struct sg_ct_page {
	struct sg_ct_entry *entries;
	size_t		 nentries;
	char		*next_token;	/* NULL on the last page */
};

/* The JSON body of one LookupEvents call (caller frees). */
char	*cloudtrail_lookup_body(const struct sg_lookup *);
/* Parse one answer. 0, or -1 with a one-line reason. An entry without an
 * EventId or CloudTrailEvent is skipped and counted in *skipped. */
int	 cloudtrail_parse_page(const char *json, size_t len,
	    struct sg_ct_page *, size_t *skipped, char *err, size_t errlen);
void	 cloudtrail_page_free(struct sg_ct_page *);

#endif
