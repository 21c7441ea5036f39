/* bench/parse_decide.c: CPU per event of sgguard's record parsing and
 * policy, the work of one LookupEvents page in the daemon's poller:
 * cloudtrail_parse_page, then event_parse + policy_decide of every entry
 * against a config from config_load_string.
 *
 *   parse_decide PAGE.json CONFIG.ini ITERATIONS
 *
 * Prints one line: "events=N ns_per_event=X revert=R allowed=A ignore=I"
 * measured with CLOCK_PROCESS_CPUTIME_ID. Under callgrind, run with a small
 * ITERATIONS and divide Ir by events (bench/run does this, subtracting a
 * run with ITERATIONS=0 to remove start-up and config loading). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudtrail.h"
#include "config.h"
#include "event.h"
#include "policy.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		exit(1);
	}
	if ((b = malloc((size_t)n + 1)) == NULL ||
	    fread(b, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	b[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return b;
}

static const char *
no_env(const char *name)
{
	(void)name;
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sg_config *cfg;
	struct timespec t0, t1;
	char err[512];
	size_t plen, clen, skipped, nev = 0;
	size_t counts[4] = { 0 };
	const char *self_keys[] = { "AKIASGGUARDSELF00000" };
	struct sg_self self = { self_keys, 1 };
	long iters;
	char *page, *conf;

	if (argc != 4) {
		fprintf(stderr, "usage: parse_decide PAGE CONFIG ITERATIONS\n");
		return 2;
	}
	page = slurp(argv[1], &plen);
	conf = slurp(argv[2], &clen);
	iters = strtol(argv[3], NULL, 10);
	if (config_load_string(argv[2], conf, no_env, &cfg, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "config: %s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (long it = 0; it < iters; it++) {
		struct sg_ct_page pg;

		if (cloudtrail_parse_page(page, plen, &pg, &skipped, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "page: %s\n", err);
			return 1;
		}
		for (size_t i = 0; i < pg.nentries; i++) {
			struct sg_event ev;
			struct sg_plan plan;

			if (event_parse(pg.entries[i].record,
			    pg.entries[i].record_len, &ev, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "event: %s\n", err);
				return 1;
			}
			if (policy_decide(cfg, &ev, &self, &plan) == -1)
				return 1;
			counts[plan.verdict & 3]++;
			policy_plan_free(&plan);
			event_free(&ev);
			nev++;
		}
		cloudtrail_page_free(&pg);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec);
	printf("events=%zu ns_per_event=%.1f revert=%zu allowed=%zu "
	    "ignore=%zu\n", nev, nev ? ns / (double)nev : 0.0,
	    counts[SG_VERDICT_REVERT],
	    counts[SG_VERDICT_PRINCIPAL_ALLOWED] +
	    counts[SG_VERDICT_RULES_ALLOWED], counts[SG_VERDICT_IGNORE]);
	config_free(cfg);
	free(page);
	free(conf);
	return 0;
}
