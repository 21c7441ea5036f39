/*
 * assume-role: temporary credentials of a role as sgguard gets them
 * (sts.h), at each time given, through one provider so caching and
 * refresh show:
 *
 *   assume-role [-d SECONDS] [-s SESSION] [-r REGION]
 *               [-c SERVICE:ACTION [-p NAME=VALUE ...]]
 *               ROLE_ARN [EXTERNAL_ID|- [T1 T2 ...]]
 *
 * The base credentials come from the environment (the same provider
 * chain as sgguard's: AWS_ACCESS_KEY_ID... first); the endpoint from
 * AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_<SERVICE>, the region from -r,
 * AWS_REGION or AWS_DEFAULT_REGION (us-east-1 without any), an extra CA
 * bundle from AWS_CA_BUNDLE; the test knobs of aws.h apply. EXTERNAL_ID
 * "-" or "" means none. A time is epoch seconds, "+N" (N seconds after
 * the tool started) or "now"; default: now.
 *
 * Per time: sts_get(), then one line "source=S akid=A expires=E
 * secret_sha256=H" (H: the first 8 hex digits of sha256(secret), never
 * the secret) or "error=MSG". With -c, each successful lookup is followed
 * by one call signed with the role's credentials, the way the daemon
 * makes them: through a second client whose credentials callback is
 * sts_callback(); it prints "call=OK http=N body=BODY" (BODY on one line)
 * or "call=ERROR kind=...". stderr ends with "sts_requests=N". Exits 1
 * when any lookup or call failed, 64 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "aws.h"
#include "creds.h"
#include "http.h"
#include "log.h"
#include "sts.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: assume-role [-d SECONDS] [-s SESSION] "
	    "[-r REGION] [-c SERVICE:ACTION [-p NAME=VALUE ...]] ROLE_ARN "
	    "[EXTERNAL_ID|- [T ...]]\n");
	exit(64);
}

static const char *
endpoint_env(enum sg_aws_service s)
{
	char name[64], *p;

	snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s",
	    aws_service_name(s));
	for (p = name; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return getenv(name);
}

static int
lookup(struct sg_sts_provider *p, time_t t)
{
	struct sg_creds c;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char err[2048], hex[2 * EVP_MAX_MD_SIZE + 1];

	if (sts_get(p, t, &c, err, sizeof(err)) == -1) {
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

static int
call(struct sg_aws *aws, const struct sg_aws_request *req)
{
	struct sg_aws_response resp;
	char line[2048];
	size_t i;
	int rv;

	rv = aws_call(aws, req, &resp);
	if (rv == 0) {
		for (i = 0; i < resp.body.len; i++)
			if (resp.body.data[i] == '\n' ||
			    resp.body.data[i] == '\r')
				resp.body.data[i] = ' ';
		printf("call=OK http=%ld body=%s\n", resp.http_status,
		    resp.body.data != NULL ? resp.body.data : "");
	} else {
		awserr_format(&resp.err, line, sizeof(line));
		printf("call=ERROR %s\n", line);
	}
	aws_response_free(&resp);
	return rv;
}

int
main(int argc, char **argv)
{
	struct sg_http_opts ho = { 0 };
	struct sg_aws_opts bo = { 0 }, ao;
	struct sg_creds_opts co = { 0 };
	struct sg_sts_opts so = { 0 };
	struct sg_aws_request req = { 0 };
	struct sg_creds_provider *base = NULL;
	struct sg_sts_provider *sts = NULL;
	struct sg_http *http = NULL;
	struct sg_aws *base_aws = NULL, *acct_aws = NULL;
	struct sg_kv *params;
	const char *level = getenv("ASSUME_ROLE_LOG_LEVEL");
	char *callspec = NULL, *colon, *end;
	long long *times, v;
	time_t start = time(NULL);
	int ch, i, lvl, ntimes = 0, rv = 0;
	size_t nparams = 0;

	log_init();
	if (level != NULL && log_level_parse(level, &lvl) == 0)
		log_set_level(lvl);
	params = xcalloc((size_t)argc + 1, sizeof(*params));
	while ((ch = getopt(argc, argv, "c:d:p:r:s:")) != -1) {
		switch (ch) {
		case 'c':
			callspec = optarg;
			break;
		case 'd':
			so.duration = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg)
				usage();
			break;
		case 'p':
			if ((end = strchr(optarg, '=')) == NULL)
				usage();
			*end = '\0';
			params[nparams].name = optarg;
			params[nparams++].value = end + 1;
			break;
		case 'r':
			so.region = optarg;
			break;
		case 's':
			so.session_name = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	so.role_arn = argv[0];
	if (argc >= 2 && strcmp(argv[1], "-") != 0)
		so.external_id = argv[1];
	times = xcalloc((size_t)argc + 1, sizeof(*times));
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "now") == 0)
			v = (long long)start;
		else if (argv[i][0] == '+') {
			v = strtoll(argv[i] + 1, &end, 10);
			if (*end != '\0' || end == argv[i] + 1)
				usage();
			v += (long long)start;
		} else {
			v = strtoll(argv[i], &end, 10);
			if (*end != '\0' || end == argv[i])
				usage();
		}
		times[ntimes++] = v;
	}
	if (ntimes == 0)
		times[ntimes++] = (long long)start;
	if (so.region == NULL && (so.region = getenv("AWS_REGION")) == NULL &&
	    (so.region = getenv("AWS_DEFAULT_REGION")) == NULL)
		so.region = "us-east-1";
	if (callspec != NULL) {
		if ((colon = strchr(callspec, ':')) == NULL)
			usage();
		*colon = '\0';
		if (aws_service_parse(callspec, &req.service) == -1)
			usage();
		req.action = colon + 1;
		req.region = so.region;
		req.params = params;
		req.nparams = nparams;
	}

	/* As the daemon: one HTTP client; the base client signs with the
	 * base chain, the account's with sts_callback. */
	ho.ca_file = getenv("AWS_CA_BUNDLE");
	bo.endpoint_url = getenv("AWS_ENDPOINT_URL");
	for (i = 0; i < SG_AWS_NSERVICES; i++)
		bo.endpoints[i] = endpoint_env((enum sg_aws_service)i);
	aws_apply_env_knobs(&ho, &bo);
	co.ca_file = ho.ca_file;
	if ((http = http_new(&ho)) == NULL ||
	    (base = creds_provider_new(&co)) == NULL) {
		printf("error=cannot set up the HTTP client: %s\n",
		    http_new_error());
		rv = 1;
		goto out;
	}
	bo.http = http;
	ao = bo;
	bo.creds = creds_callback;
	bo.creds_arg = base;
	if ((base_aws = aws_new(&bo)) == NULL) {
		printf("error=bad endpoint\n");
		rv = 1;
		goto out;
	}
	so.aws = base_aws;
	if ((sts = sts_provider_new(&so)) == NULL) {
		printf("error=bad options (see above)\n");
		rv = 1;
		goto out;
	}
	ao.creds = sts_callback;
	ao.creds_arg = sts;
	if ((acct_aws = aws_new(&ao)) == NULL) {
		printf("error=bad endpoint\n");
		rv = 1;
		goto out;
	}

	for (i = 0; i < ntimes; i++) {
		if (lookup(sts, (time_t)times[i]) == -1) {
			rv = 1;
			continue;
		}
		if (callspec != NULL && call(acct_aws, &req) == -1)
			rv = 1;
		fflush(stdout);
	}
	fprintf(stderr, "sts_requests=%u\n", sts_requests(sts));
out:
	fflush(stdout);
	aws_free(acct_aws);
	sts_provider_free(sts);
	aws_free(base_aws);
	creds_provider_free(base);
	http_free(http);
	free(params);
	free(times);
	log_secret_clear();
	return rv;
}
