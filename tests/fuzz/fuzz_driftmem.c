/* fuzz_driftmem.c: drift.json.
 *
 * driftmem_parse on the input (a fixed clock; marks are kept 30 minutes
 * for inputs of odd length, ten years for even ones, so both ageing out
 * and keeping are exercised); when it is accepted, what
 * driftmem_serialize writes must parse again to the same marks, and
 * serialising that gives the same text. A refusal says why and leaves
 * nothing behind.
 */
#include "fuzz.h"

#include "driftmem.h"
#include "rule.h"

static void
fz_same(const struct sg_drift_mark *a, const struct sg_drift_mark *b,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		FZ_CHECK(strcmp(a[i].key, b[i].key) == 0 &&
		    strcmp(a[i].gr.group_id, b[i].gr.group_id) == 0 &&
		    strcmp(a[i].gr.owner_id, b[i].gr.owner_id) == 0 &&
		    strcmp(a[i].gr.rule.rule_id, b[i].gr.rule.rule_id) == 0 &&
		    a[i].gr.rule.egress == b[i].gr.rule.egress &&
		    rule_equal(&a[i].gr.rule, &b[i].gr.rule) &&
		    a[i].seen == b[i].seen && a[i].reverted == b[i].reverted &&
		    a[i].restored == b[i].restored &&
		    a[i].audited == b[i].audited, "mark %zu changed", i);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_drift_mark *v, *again;
	char err[256], *t1, *t2;
	size_t n, n2;
	time_t now = 1800000000, keep = size % 2 ? 1800 : 10L * 365 * 86400;

	err[0] = '\0';
	if (driftmem_parse((const char *)data, size, now, keep, &v, &n, err,
	    sizeof(err)) != 0) {
		FZ_CHECK(err[0] != '\0', "refused without a reason");
		FZ_CHECK(v == NULL && n == 0, "refused, yet %zu marks", n);
		return 0;
	}
	FZ_CHECK(n <= SG_DRIFT_MEMORY_MAX, "%zu marks kept", n);
	t1 = driftmem_serialize(v, n);
	/* Nothing kept has aged out by the same clock. */
	FZ_CHECK(driftmem_parse(t1, strlen(t1), now, keep, &again, &n2, err,
	    sizeof(err)) == 0, "own output refused: %s\n%s", err, t1);
	FZ_CHECK(n2 == n, "%zu marks, %zu after a round trip", n, n2);
	fz_same(v, again, n);
	t2 = driftmem_serialize(again, n2);
	FZ_CHECK(strcmp(t1, t2) == 0, "serialisation not stable:\n%s\n%s", t1,
	    t2);
	free(t1);
	free(t2);
	free(v);
	free(again);
	return 0;
}
