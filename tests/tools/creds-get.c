/*
 * creds-get: look up AWS credentials as sgguard does, from the real
 * environment, at each time given (epoch seconds; default: now), through
 * one provider so caching and refresh show:
 *
 *   creds-get [--profile P] [T1 T2 ...]
 *
 * One line per time: "source=S akid=A expires=E secret_sha256=H" (H: the
 * first 8 hex digits of sha256(secret), never the secret) or "error=MSG".
 * Exits 1 when any lookup failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "creds.h"
#include "log.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: creds-get [--profile P] [EPOCH ...]\n");
	exit(64);
}

static int
lookup(struct sg_creds_provider *p, time_t t)
{
	struct sg_creds c;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char err[2048], hex[2 * EVP_MAX_MD_SIZE + 1];

	if (creds_get(p, t, &c, err, sizeof(err)) == -1) {
		printf("error=%s\n", err);
		return -1;
	}
	if (EVP_Digest(c.secret_access_key, strlen(c.secret_access_key), md,
	    &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("sha256 failed");
	sg_hex(md, mdlen, hex);
	hex[8] = '\0';
	printf("source=%s akid=%s expires=%lld secret_sha256=%s\n", c.source,
	    c.access_key_id, (long long)c.expiration, hex);
	creds_wipe(&c);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sg_creds_opts opts;
	struct sg_creds_provider *p;
	const char *level = getenv("CREDS_GET_LOG_LEVEL");
	long long *times;
	int i, lvl, rv = 0, ntimes = 0;
	char *end;

	log_init();
	if (level != NULL && log_level_parse(level, &lvl) == 0)
		log_set_level(lvl);
	memset(&opts, 0, sizeof(opts));
	times = xcalloc((size_t)argc + 1, sizeof(*times));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--profile") == 0) {
			if (++i == argc)
				usage();
			opts.profile = argv[i];
			continue;
		}
		times[ntimes++] = strtoll(argv[i], &end, 10);
		if (*end != '\0' || end == argv[i])
			usage();
	}
	if (ntimes == 0)
		times[ntimes++] = (long long)time(NULL);
	/* NULL http: the provider's own client, as the daemon uses it. */
	if ((p = creds_provider_new(&opts)) == NULL)
		return 1;
	for (i = 0; i < ntimes; i++) {
		if (lookup(p, (time_t)times[i]) == -1)
			rv = 1;
		fflush(stdout);
	}
	creds_provider_free(p);
	free(times);
	return rv;
}
