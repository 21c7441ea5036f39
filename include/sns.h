/* sns.h: SNS Publish. */
#ifndef SG_SNS_H
#define SG_SNS_H

#include "aws.h"

/* The region of a topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME) into
 * out; -1 when it is not such an ARN. Pure. */
int	 sns_topic_region(const char *topic_arn, char *out, size_t outsize);
/* Publish one message to the topic, in the topic's region. 0, or -1 with
 * err filled (err->kind tells whether a later retry may help). */
int	 sns_publish(struct sg_aws *, const char *topic_arn,
	    const char *subject, const char *message,
	    struct sg_aws_error *err);

#endif
