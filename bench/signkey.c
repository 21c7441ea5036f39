/* bench/signkey.c: what the SigV4 signing key costs and what its cache
 * saves. Times sigv4_signing_key alone (4 HMAC-SHA256), a whole sigv4_sign
 * of a LookupEvents request deriving the key every time (no cache), and
 * the same with the daemon's per (secret, date, region, service) cache.
 *   signkey ITERATIONS -> "signing_key_ns=X sign_ns=Y sign_cached_ns=Z" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "sigv4.h"
#include "util.h"

static double
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* n signatures of rq; returns a bit of each so none is optimised away. */
static unsigned
sign_loop(const struct sg_sigv4_request *rq,
    const struct sg_sigv4_params *pa, long n)
{
	unsigned sink = 0;

	for (long i = 0; i < n; i++) {
		struct sg_sigv4_result r;

		if (sigv4_sign(rq, pa, &r) == -1)
			exit(1);
		sink += (unsigned char)r.signature[0];
		sigv4_result_free(&r);
	}
	return sink;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	static struct sg_creds c;
	unsigned char key[32];
	const char *body = "{\"LookupAttributes\":[{\"AttributeKey\":"
	    "\"EventName\",\"AttributeValue\":\"AuthorizeSecurityGroupIngress\"}],"
	    "\"StartTime\":1790000000,\"EndTime\":1790000900,\"MaxResults\":50}";
	struct sg_kv hdr[] = {
		{ "Host", "cloudtrail.us-east-1.amazonaws.com" },
		{ "Content-Type", "application/x-amz-json-1.1" },
		{ "X-Amz-Target", "com.amazonaws.cloudtrail.v20131101."
		    "CloudTrail_20131101.LookupEvents" },
	};
	struct sg_sigv4_request rq = { "POST", "/", NULL, hdr, 3, body,
	    strlen(body) };
	struct sg_sigv4_params pa = { "us-east-1", "cloudtrail", 1790000000,
	    &c, true, false, false, NULL };
	static struct sg_sigv4_cache cache;
	double t0, t1, t2, t3;
	unsigned sink = 0;

	strcpy(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
	strcpy(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		sigv4_signing_key(c.secret_access_key, "20260921", "us-east-1",
		    "cloudtrail", key);
		sink += key[0];
	}
	t1 = now_ns();
	sink += sign_loop(&rq, &pa, n);
	t2 = now_ns();
	pa.cache = &cache;
	sink += sign_loop(&rq, &pa, n);
	t3 = now_ns();
	printf("signing_key_ns=%.0f sign_ns=%.0f sign_cached_ns=%.0f "
	    "hits=%lu misses=%lu (%u)\n", (t1 - t0) / n, (t2 - t1) / n,
	    (t3 - t2) / n, cache.hits, cache.misses, sink & 1);
	return 0;
}
