/* creds.h: AWS credentials, looked up in the order the AWS SDKs use:
 * environment, shared credentials/config files (profile), container
 * credentials, EC2 instance metadata (IMDSv2). */
#ifndef SG_CREDS_H
#define SG_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct sg_creds {
	char	 access_key_id[128];
	char	 secret_access_key[128];
	char	 session_token[4096];	/* "" when none */
	time_t	 expiration;		/* 0: does not expire */
	char	 source[32];		/* "environment", "profile NAME", ... */
};

/* Wipe a credentials struct (OPENSSL_cleanse). */
void	 creds_wipe(struct sg_creds *);

#endif
