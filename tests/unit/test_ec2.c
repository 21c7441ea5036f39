/* test_ec2: what counts as EC2's answer to a write (a revoke, a modify, an
 * authorize), and which failures of a revoke are final. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ec2.h"

#define XMLNS	" xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\""

static int
answer(const char *doc, const char *action, int *unknown, bool *ret_false,
    char *why, size_t whylen)
{
	return ec2_parse_write_answer(doc, strlen(doc), action, unknown,
	    ret_false, why, whylen);
}

static void
test_write_answer_ok(void **state)
{
	char why[256];
	int unknown;
	bool ret_false;

	(void)state;
	assert_int_equal(answer("<RevokeSecurityGroupIngressResponse" XMLNS
	    "><requestId>r</requestId><return>true</return>"
	    "</RevokeSecurityGroupIngressResponse>",
	    "RevokeSecurityGroupIngress", &unknown, &ret_false, why,
	    sizeof(why)), 0);
	assert_int_equal(unknown, 0);
	assert_false(ret_false);
	/* Permissions EC2 did not find, and return=false: said, not errors
	 * (the caller reads the group). */
	assert_int_equal(answer("<RevokeSecurityGroupEgressResponse" XMLNS
	    "><requestId>r</requestId><return>false</return>"
	    "<unknownIpPermissionSet><item><ipProtocol>tcp</ipProtocol>"
	    "</item><item><ipProtocol>udp</ipProtocol></item>"
	    "</unknownIpPermissionSet></RevokeSecurityGroupEgressResponse>",
	    "RevokeSecurityGroupEgress", &unknown, &ret_false, why,
	    sizeof(why)), 0);
	assert_int_equal(unknown, 2);
	assert_true(ret_false);
	/* A <return> deeper down is not the call's. */
	assert_int_equal(answer("<ModifySecurityGroupRulesResponse><x>"
	    "<return>false</return></x><return>true</return>"
	    "</ModifySecurityGroupRulesResponse>", "ModifySecurityGroupRules",
	    &unknown, &ret_false, why, sizeof(why)), 0);
	assert_false(ret_false);
}

static void
test_write_answer_not_ec2s(void **state)
{
	static const struct {
		const char	*doc;
		const char	*why;
	} bad[] = {
		/* An EC2 error document served with HTTP 200 (a proxy). */
		{ "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
		    "</Error></Errors></Response>", "an answer that is not "
		    "EC2's to RevokeSecurityGroupIngress (<Response>, not "
		    "<RevokeSecurityGroupIngressResponse>)" },
		{ "<html><body>proxy</body></html>", "(<html>, not " },
		/* Another call's answer. */
		{ "<AuthorizeSecurityGroupIngressResponse><return>true</return>"
		    "</AuthorizeSecurityGroupIngressResponse>",
		    "(<AuthorizeSecurityGroupIngressResponse>, not " },
		{ "<RevokeSecurityGroupIngressResponse><requestId>r</requestId>"
		    "</RevokeSecurityGroupIngressResponse>", "without a true "
		    "or false <return>" },
		{ "<RevokeSecurityGroupIngressResponse><return>yes</return>"
		    "</RevokeSecurityGroupIngressResponse>", "without a true "
		    "or false <return>" },
		{ "", "an unreadable answer" },
		{ "<RevokeSecurityGroupIngressResponse><return>true",
		    "an unreadable answer" },
	};
	char why[256];
	int unknown;
	bool ret_false;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(answer(bad[i].doc,
		    "RevokeSecurityGroupIngress", &unknown, &ret_false, why,
		    sizeof(why)), -1);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%zu: \"%s\" lacks \"%s\"", i, why,
			    bad[i].why);
	}
}

static void
test_final_errors(void **state)
{
	struct sg_aws_error e;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.kind = SG_AWS_ERR_DENIED;
	assert_true(ec2_error_final(&e));
	e.kind = SG_AWS_ERR_BAD_RESPONSE;	/* not known: retried */
	assert_false(ec2_error_final(&e));
	e.kind = SG_AWS_ERR_SERVER;
	assert_false(ec2_error_final(&e));
	assert_true(ec2_code_is_gone("InvalidPermission.NotFound"));
	assert_true(ec2_code_is_gone("InvalidSecurityGroupRuleId.NotFound"));
	assert_false(ec2_code_is_gone("InvalidGroup.NotFound"));
	assert_false(ec2_code_is_gone(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_answer_ok),
		cmocka_unit_test(test_write_answer_not_ec2s),
		cmocka_unit_test(test_final_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
