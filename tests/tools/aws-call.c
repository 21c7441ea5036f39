/* aws-call: one AWS call through sgguard's aws layer, for tests.
 *
 *   aws-call [-v] [-n COUNT] SERVICE REGION ACTION [Name=Value ...]
 *   aws-call [-v] [-n COUNT] cloudtrail REGION ACTION ['{json}']
 *
 * Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN only; the endpoint from AWS_ENDPOINT_URL (or
 * AWS_ENDPOINT_URL_<SERVICE>), an extra CA bundle from AWS_CA_BUNDLE, and
 * the test knobs of aws.h (SGGUARD_TEST_FAST, SGGUARD_AWS_*,
 * SGGUARD_HTTP_*) shorten timeouts and backoff.
 *
 * Prints "OK <http status>" and the body, or
 * "ERROR kind=<kind> http=<status> code=<code> message=<message>" and exits
 * 1. stderr gets "attempts=N elapsed_ms=N request_id=..." per call, and a
 * "hint: ..." line for errors that have one. -n submits the same call
 * COUNT times at once (one thread, aws_submit + aws_run) and prints one
 * line per call; -v logs at debug level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws.h"
#include "creds.h"
#include "http.h"
#include "log.h"
#include "util.h"

struct tool {
	int	 ncreds;	/* credentials callback runs */
	int	 count;		/* calls submitted */
	int	 failed;
	bool	 show_body;
};

static int
env_creds(void *arg, time_t now, struct sg_creds *out, char *err,
    size_t errlen)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	struct tool *t = arg;

	t->ncreds++;
	if (sg_strempty(id) || sg_strempty(secret)) {
		snprintf(err, errlen, "no credentials: AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY are not both set");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	sg_strlcpy(out->access_key_id, id, sizeof(out->access_key_id));
	sg_strlcpy(out->secret_access_key, secret,
	    sizeof(out->secret_access_key));
	if (!sg_strempty(token))
		sg_strlcpy(out->session_token, token,
		    sizeof(out->session_token));
	sg_strlcpy(out->source, "environment", sizeof(out->source));
	log_secret_add(secret);
	log_secret_add(token);
	return 0;
}

static void
done(struct sg_aws_response *r, void *arg)
{
	struct tool *t = arg;
	char line[2048];

	fprintf(stderr, "attempts=%d elapsed_ms=%ld request_id=%s\n",
	    r->attempts, r->elapsed_ms,
	    r->request_id[0] != '\0' ? r->request_id : "-");
	if (r->err.kind == SG_AWS_OK) {
		printf("OK %ld\n", r->http_status);
		if (t->show_body && r->body.len > 0) {
			fwrite(r->body.data, 1, r->body.len, stdout);
			if (r->body.data[r->body.len - 1] != '\n')
				putchar('\n');
		}
	} else {
		t->failed++;
		awserr_format(&r->err, line, sizeof(line));
		printf("ERROR %s\n", line);
		if (r->err.hint[0] != '\0')
			fprintf(stderr, "hint: %s\n", r->err.hint);
	}
	fflush(stdout);
}

static void
usage(void)
{
	fprintf(stderr, "usage: aws-call [-v] [-n COUNT] SERVICE REGION "
	    "ACTION [Name=Value ... | JSON]\n");
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

int
main(int argc, char **argv)
{
	struct sg_http_opts ho = { 0 };
	struct sg_aws_opts ao = { 0 };
	struct sg_aws_request req = { 0 };
	struct tool t = { 0 };
	struct sg_kv *params;
	struct sg_http *http;
	struct sg_aws *aws;
	int ch, i, count = 1;
	size_t n = 0;

	log_init();
	log_set_level(LOG_WARNING);
	while ((ch = getopt(argc, argv, "n:v")) != -1) {
		switch (ch) {
		case 'n':
			count = atoi(optarg);
			if (count < 1 || count > 10000)
				usage();
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	if (aws_service_parse(argv[0], &req.service) == -1) {
		fprintf(stderr, "aws-call: unknown service %s\n", argv[0]);
		return 64;
	}
	req.region = argv[1];
	req.action = argv[2];
	params = xcalloc((size_t)argc, sizeof(*params));
	if (req.service == SG_AWS_CLOUDTRAIL) {
		if (argc > 4)
			usage();
		req.json = argc == 4 ? argv[3] : NULL;
	} else {
		for (i = 3; i < argc; i++) {
			char *eq = strchr(argv[i], '=');

			if (eq == NULL)
				usage();
			*eq = '\0';
			params[n].name = argv[i];
			params[n++].value = eq + 1;
		}
		req.params = params;
		req.nparams = n;
	}

	ho.ca_file = getenv("AWS_CA_BUNDLE");
	ao.creds = env_creds;
	ao.creds_arg = &t;
	ao.endpoint_url = getenv("AWS_ENDPOINT_URL");
	for (i = 0; i < SG_AWS_NSERVICES; i++)
		ao.endpoints[i] = endpoint_env((enum sg_aws_service)i);
	aws_apply_env_knobs(&ho, &ao);
	if ((http = http_new(&ho)) == NULL) {
		printf("ERROR kind=local http=0 code=- message=cannot set up "
		    "the HTTP client: %s\n", http_new_error());
		free(params);
		return 1;
	}
	ao.http = http;
	if ((aws = aws_new(&ao)) == NULL) {
		printf("ERROR kind=local http=0 code=- message=bad endpoint\n");
		http_free(http);
		free(params);
		return 1;
	}

	t.show_body = count == 1;
	if (count == 1) {
		/* The blocking form, as start-up code uses it. */
		struct sg_aws_response resp;

		aws_call(aws, &req, &resp);
		done(&resp, &t);
		aws_response_free(&resp);
	} else {
		for (i = 0; i < count; i++)
			if (aws_submit(aws, &req, done, &t) == -1) {
				t.failed++;
				break;
			}
		while (aws_run(aws, 1000) > 0)
			;
	}
	fprintf(stderr, "credential_lookups=%d\n", t.ncreds);
	aws_free(aws);
	http_free(http);
	free(params);
	log_secret_clear();
	return t.failed > 0 ? 1 : 0;
}
