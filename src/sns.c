/* sns.c: one Publish per notification. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sns.h"
#include "xml.h"

int
sns_topic_region(const char *arn, char *out, size_t outsize)
{
	const char *p = arn, *region;
	size_t len;
	int i;

	/* arn : partition : sns : region : ... */
	if (strncmp(p, "arn:", 4) != 0)
		return -1;
	for (i = 0; i < 3; i++) {
		p = strchr(p, ':');
		if (p == NULL)
			return -1;
		p++;
		if (i == 1 && strncmp(p, "sns:", 4) != 0)
			return -1;
	}
	region = p;
	len = strcspn(region, ":");
	if (len == 0 || region[len] != ':' || len >= outsize)
		return -1;
	memcpy(out, region, len);
	out[len] = '\0';
	return 0;
}

int
sns_publish(struct sg_aws *aws, const char *topic_arn, const char *subject,
    const char *message, struct sg_aws_error *err)
{
	struct sg_kv params[] = {
		{ "TopicArn", topic_arn },
		{ "Subject", subject },
		{ "Message", message },
	};
	struct sg_aws_request req = {
		.service = SG_AWS_SNS,
		.action = "Publish",
		.params = params,
		.nparams = SG_ARRAY_LEN(params),
	};
	struct sg_aws_response resp;
	char region[64], msgid[128];
	int rc;

	if (sns_topic_region(topic_arn, region, sizeof(region)) == -1) {
		memset(err, 0, sizeof(*err));
		err->kind = SG_AWS_ERR_LOCAL;
		snprintf(err->message, sizeof(err->message),
		    "topic_arn %s is not an SNS topic ARN", topic_arn);
		return -1;
	}
	req.region = region;
	rc = aws_call(aws, &req, &resp);
	*err = resp.err;
	/* SNS's NotFound is the topic: no retry can fix a wrong ARN. */
	if (rc == -1 && strcmp(err->code, "NotFound") == 0 &&
	    err->hint[0] == '\0')
		snprintf(err->hint, sizeof(err->hint), "check [notify] "
		    "topic_arn: SNS has no such topic in that account and "
		    "region");
	if (rc == 0) {
		if (xml_find_text(resp.body.data ? resp.body.data : "",
		    resp.body.len, "PublishResult/MessageId", msgid,
		    sizeof(msgid)) == 1)
			log_debug("published to %s: message id %s", topic_arn,
			    msgid);
		else {
			/* SNS names the message it accepted; an answer
			 * without that id may not be SNS's at all. Publish
			 * again rather than lose the message (a duplicate
			 * is the lesser harm). */
			memset(err, 0, sizeof(*err));
			err->kind = SG_AWS_ERR_BAD_RESPONSE;
			err->http_status = resp.http_status;
			snprintf(err->message, sizeof(err->message),
			    "HTTP %ld without a PublishResult/MessageId; "
			    "taken as not published", resp.http_status);
			rc = -1;
		}
	}
	aws_response_free(&resp);
	return rc;
}
