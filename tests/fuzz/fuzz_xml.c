/* fuzz_xml.c: AWS error bodies (EC2 XML, SNS/STS Query XML, JSON 1.x)
 * and the expat helper under them.
 *
 * Input: one byte choosing the HTTP status (and whether a request id came
 * in a header), then the body. Checked: awserr_parse fills every field
 * terminated, the message is one line, awserr_format is one safe line;
 * xml_parse reports paths that match the depth and the element name, and
 * never deeper than SG_XML_MAX_DEPTH; xml_find_text agrees with xml_parse
 * about well-formedness.
 */
#include "fuzz.h"

#include "awserr.h"
#include "xml.h"

struct fz_xml {
	int	 depth;		/* as tracked from the callbacks */
	size_t	 elements;
};

static void
fz_check_path(const char *path, const char *name, int depth)
{
	size_t pl = strlen(path), nl = strlen(name);
	int slashes = 0;
	const char *p;

	FZ_CHECK(depth >= 1 && depth <= SG_XML_MAX_DEPTH, "depth %d", depth);
	FZ_CHECK(pl < SG_XML_MAX_PATH, "path of %zu bytes", pl);
	FZ_CHECK(strchr(name, ':') == NULL, "prefix left in \"%s\"", name);
	FZ_CHECK(pl > nl && strcmp(path + pl - nl, name) == 0 &&
	    path[pl - nl - 1] == '/', "path %s does not end in /%s", path,
	    name);
	for (p = path; *p != '\0'; p++)
		slashes += *p == '/';
	/* A local name may not hold '/', so components are elements. */
	FZ_CHECK(slashes == depth, "path %s at depth %d", path, depth);
	FZ_CHECK(xml_path_match(path, path) && xml_path_match(path, name),
	    "path %s does not match itself or %s", path, name);
}

static int
fz_start(void *arg, const char *path, const char *name, int depth)
{
	struct fz_xml *x = arg;

	fz_check_path(path, name, depth);
	FZ_CHECK(depth == x->depth + 1, "start at %d after %d", depth,
	    x->depth);
	x->depth = depth;
	x->elements++;
	return 0;
}

static int
fz_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct fz_xml *x = arg;

	fz_check_path(path, name, depth);
	FZ_CHECK(depth == x->depth, "end at %d inside %d", depth, x->depth);
	FZ_CHECK(text != NULL && text[len] == '\0', "text unterminated");
	x->depth = depth - 1;
	return 0;
}

static void
fz_check_error(const struct sg_aws_error *e, long status)
{
	char line[2048];

	FZ_CHECK(memchr(e->code, '\0', sizeof(e->code)) &&
	    memchr(e->message, '\0', sizeof(e->message)) &&
	    memchr(e->request_id, '\0', sizeof(e->request_id)) &&
	    memchr(e->hint, '\0', sizeof(e->hint)), "unterminated field");
	FZ_CHECK(strpbrk(e->message, "\r\n") == NULL,
	    "message of more than one line: %s", e->message);
	FZ_CHECK(e->http_status == status, "status %ld", e->http_status);
	FZ_CHECK(e->kind != SG_AWS_OK, "an error body classified ok");
	FZ_CHECK(strcmp(awserr_kind_name(e->kind), "unknown") != 0,
	    "kind %d", (int)e->kind);
	awserr_format(e, line, sizeof(line));
	FZ_CHECK(fz_one_safe_line(line), "format: %s", line);
	(void)awserr_retryable(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 400, 403, 404, 500, 503, 401, 429,
	    200, 302, 418 };
	static const char *const patterns[] = { "Error/Code",
	    "/Response/Errors/Error/Message", "RequestId", "Code", "/a" };
	struct sg_aws_error e;
	struct sg_xml_handler h;
	struct fz_xml x;
	const char *body;
	char err[256], out[64];
	long status;
	size_t len, i;
	int rc, found;

	if (size < 1)
		return 0;
	status = statuses[data[0] % SG_ARRAY_LEN(statuses)];
	body = (const char *)data + 1;
	len = size - 1;

	memset(&e, 0, sizeof(e));
	if (data[0] & 0x80)
		sg_strlcpy(e.request_id, "req-from-header", sizeof(e.request_id));
	rc = awserr_parse(status, body, len, &e);
	fz_check_error(&e, status);
	if (rc == 0)
		FZ_CHECK(e.code[0] != '\0', "an error document without a code");
	if (data[0] & 0x80)
		FZ_CHECK(strcmp(e.request_id, "req-from-header") == 0,
		    "header request id replaced by %s", e.request_id);

	memset(&x, 0, sizeof(x));
	h.start = fz_start;
	h.end = fz_end;
	h.arg = &x;
	rc = xml_parse(body, len, &h, err, sizeof(err));
	if (rc == 0)
		FZ_CHECK(x.depth == 0, "document ended at depth %d", x.depth);
	else
		FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL &&
		    err[0] != '\0', "failure without a reason");
	for (i = 0; i < SG_ARRAY_LEN(patterns); i++) {
		found = xml_find_text(body, len, patterns[i], out, sizeof(out));
		/* Stopping early may skip a later error; finding nothing
		 * reads the whole document. */
		if (rc == -1)
			FZ_CHECK(found != 0, "find says well-formed, parse not");
		if (found == -1)
			FZ_CHECK(rc == -1, "parse says well-formed, find not");
		FZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL,
		    "found text unterminated");
	}
	return 0;
}
