/* describe.h: reading security groups and their rules with EC2
 * DescribeSecurityGroupRules and DescribeSecurityGroups.
 *
 * Pure: Query parameters out, XML answers in, plain structs back. The
 * caller makes the calls (action names below) and follows NextToken.
 */
#ifndef SG_DESCRIBE_H
#define SG_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>

#include "rule.h"
#include "util.h"

#define SG_DESCRIBE_RULES_ACTION	"DescribeSecurityGroupRules"
#define SG_DESCRIBE_GROUPS_ACTION	"DescribeSecurityGroups"
/* EC2 refuses a call naming more filter values (FilterLimitExceeded:
 * "The maximum number of filter values specified on a single call is
 * 200"); each value is at most 255 characters. */
#define SG_DESCRIBE_MAX_VALUES		200
#define SG_DESCRIBE_MAX_VALUE_LEN	255
/* MaxResults of both calls: 5..1000 (service model). */
#define SG_DESCRIBE_MIN_RESULTS		5
#define SG_DESCRIBE_MAX_RESULTS		1000
/* EC2 rule descriptions are at most 255 characters. */
#define SG_DESCRIPTION_MAX		256

/* One rule of one group, as DescribeSecurityGroupRules reports it. */
struct sg_group_rule {
	char		 group_id[32];
	char		 owner_id[32];	/* groupOwnerId, or "" */
	struct sg_rule	 rule;		/* rule_id and egress always set */
	char		 description[SG_DESCRIPTION_MAX]; /* "" if none */
};

/* Rules of one or more groups, accumulated over pages. */
struct sg_rule_set {
	struct sg_group_rule *v;
	size_t		 n;
	size_t		 cap;
	/* Items that could not be read (bad protocol, ports or source, no
	 * id): not in v; warning says what they were. A drift check must
	 * not take a group with unread rules as complete. */
	size_t		 nbad;
	char		 warning[512];
};

/* One group found by DescribeSecurityGroups. */
struct sg_found_group {
	char		 group_id[32];
	char		 vpc_id[32];	/* "" for EC2-Classic */
	char		 owner_id[32];
	char		 name[256];
	struct sg_kvlist tags;		/* key -> value, as reported */
};

struct sg_group_set {
	struct sg_found_group *v;
	size_t		 n;
	size_t		 cap;
	size_t		 nbad;		/* items without a usable groupId */
};

/*
 * Parameters of DescribeSecurityGroupRules for the rules of groups
 * (Filter.1.Name=group-id, Filter.1.Value.N). max_results 0 leaves
 * MaxResults out (EC2 then returns everything); other values are clamped
 * to 5..1000. next_token NULL or "" for the first page; later pages repeat
 * the same groups. 0, or -1 (nothing added) when n is 0 or above
 * SG_DESCRIBE_MAX_VALUES or a value is empty or too long.
 */
int	 describe_rules_params(const char *const *group_ids, size_t n,
	    int max_results, const char *next_token, struct sg_kvlist *out);
/* Same, for rules by id (Filter security-group-rule-id): rules that no
 * longer exist are simply not in the answer. */
int	 describe_rules_by_id_params(const char *const *rule_ids, size_t n,
	    int max_results, const char *next_token, struct sg_kvlist *out);
/*
 * Read one DescribeSecurityGroupRulesResponse page: its rules are added to
 * set, *next_token is the token of the next page (malloc'd) or NULL on the
 * last page. 0, or -1 with a reason in err (not well-formed XML, an EC2
 * error document, another answer); on -1 set is as it was and *next_token
 * is NULL.
 */
int	 describe_rules_parse(const char *doc, size_t len, struct sg_rule_set *,
	    char **next_token, char *err, size_t errlen);
/* Append one rule (copied). */
void	 describe_rules_add(struct sg_rule_set *, const struct sg_group_rule *);
/* The rule with this id, or NULL. */
const struct sg_group_rule *describe_rules_find(const struct sg_rule_set *,
	    const char *rule_id);
void	 describe_rules_free(struct sg_rule_set *);

/*
 * Parameters of DescribeSecurityGroups for the groups carrying a tag:
 * Filter.1.Name=tag:KEY with Filter.1.Value.1=VALUE, or, when value is
 * NULL (any value), Filter.1.Name=tag-key with Filter.1.Value.1=KEY.
 * max_results and next_token as above. 0, or -1 (nothing added) when the
 * key is empty or a filter value longer than SG_DESCRIBE_MAX_VALUE_LEN.
 */
int	 describe_groups_params(const char *tag_key, const char *tag_value,
	    int max_results, const char *next_token, struct sg_kvlist *out);
/*
 * Parameters of DescribeSecurityGroups for the groups of ids, which must
 * exist (Filter.1.Name=group-id, Filter.1.Value.N: a group that does not
 * exist is simply not in the answer, where GroupId.N would fail the whole
 * call). max_results and next_token as above; 0, or -1 as
 * describe_rules_params.
 */
int	 describe_groups_by_id_params(const char *const *ids, size_t n,
	    int max_results, const char *next_token, struct sg_kvlist *out);
/*
 * Parameters of DescribeSecurityGroups for the group a call named by name
 * alone (GroupName.1=NAME: in EC2 that names a group of the default VPC,
 * the only place where a call may name a group so). No paging: EC2 takes
 * no MaxResults beside names. 0, or -1 when name is empty or longer than
 * SG_DESCRIBE_MAX_VALUE_LEN.
 */
int	 describe_group_by_name_params(const char *name, struct sg_kvlist *out);
/* Read one DescribeSecurityGroupsResponse page, as describe_rules_parse. */
int	 describe_groups_parse(const char *doc, size_t len,
	    struct sg_group_set *, char **next_token, char *err,
	    size_t errlen);
/* The value of a tag of a found group, or NULL when it has no such tag. */
const char *describe_group_tag(const struct sg_found_group *, const char *key);
void	 describe_groups_free(struct sg_group_set *);

#endif
