/* ec2.h: removing rules with RevokeSecurityGroupIngress/Egress. */
#ifndef SG_EC2_H
#define SG_EC2_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "rule.h"
#include "util.h"

enum sg_revoke_status {
	SG_REVOKE_DONE,		/* every rule removed or already gone */
	SG_REVOKE_FAILED,	/* for good: e.g. UnauthorizedOperation */
	SG_REVOKE_RETRY,	/* transient after retries: try next cycle */
};

struct sg_revoke_result {
	enum sg_revoke_status	 status;
	bool			*ok;		/* per rule: removed or gone */
	size_t			 n;
	int			 gone;		/* were already gone */
	/* EC2 did not confirm that the rules it was given went: it found
	 * none such (unknownIpPermissionSet, InvalidPermission.NotFound)
	 * or answered return=false. They may be gone already, or the
	 * recorded form may not match the rule: the caller checks. */
	bool			 unconfirmed;
	bool			 group_gone;	/* InvalidGroup.NotFound */
	char			 error[768];	/* why, when not DONE */
	enum sg_aws_error_kind	 kind;		/* of that failure */
};

/*
 * The Query parameters of one revoke call: by SecurityGroupRuleId.N when
 * every rule carries its id (by_id), else by IpPermissions.N with one
 * source each, exactly as the rules were reported. Pure.
 */
void	 ec2_revoke_params(const char *group_id, const struct sg_rule *,
	    size_t n, bool by_id, struct sg_kvlist *out);
/* "tcp", "udp", "icmp", "icmpv6", "-1" or the number, as EC2 takes it;
 * buf holds the number when needed. Pure. */
const char *ec2_proto_text(int proto, char *buf, size_t size);
/* IpPermissions.n.* of one rule with one source (protocol, ports for
 * tcp/udp/icmp, the CIDR as reported, prefix list or group + user id),
 * exactly as ec2_revoke_params writes them. Pure. */
void	 ec2_permission_params(int n, const struct sg_rule *,
	    struct sg_kvlist *out);
/* Is a failed EC2 change final (denied, invalid, group gone)? Anything
 * else (network, throttling, 5xx, an unreadable answer, clock, credentials,
 * a stop) says nothing about the rule: try again next cycle. */
bool	 ec2_error_final(const struct sg_aws_error *);
/* Does an EC2 error code mean "the rule is not there (any more)"? */
bool	 ec2_code_is_gone(const char *code);
/*
 * Is doc EC2's answer to the write action (root <ACTIONResponse>, a true
 * or false <return>)? 0 with *unknown (entries of unknownIpPermissionSet)
 * and *ret_false; -1 with why ("an answer that is not EC2's to ..."): an
 * HTTP 2xx from something else (a proxy, a cut body) leaves the outcome
 * unknown. Pure.
 */
int	 ec2_parse_write_answer(const char *doc, size_t len, const char *action,
	    int *unknown, bool *ret_false, char *why, size_t whylen);
/* The same for a call's answer: when it is HTTP 2xx but not EC2's own,
 * err (the call's, as aws_call() set it) becomes a bad response, whose
 * outcome is unknown. */
void	 ec2_check_write(const struct sg_aws_response *, const char *action,
	    struct sg_aws_error *err, int *unknown, bool *ret_false);
/* Revoke rules of one group; fills res (free with ec2_result_free).
 * creds (NULL: the client's) signs for another account. Blocking: other
 * calls in flight keep running meanwhile. */
void	 ec2_revoke(struct sg_aws *, sg_creds_fn creds, void *creds_arg,
	    const char *region, const char *group_id, const struct sg_rule *,
	    size_t n, bool egress, struct sg_revoke_result *res);
void	 ec2_result_free(struct sg_revoke_result *);

#endif
