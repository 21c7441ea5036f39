/* fuzz_config.c: config_load_string on arbitrary text, with an empty
 * environment.
 *
 * Checked: a failure is one line "NAME:LINE: message" (or "NAME: message");
 * a success has a region and a subject prefix, every [group] a valid id
 * and a region, and every allow pattern formats back to text that parses
 * to the same pattern. The summary of -t is printed (to /dev/null).
 */
#include "fuzz.h"

#include "config.h"
#include "rule.h"

static FILE *fz_null;

static const char *
fz_no_env(const char *name)
{
	(void)name;
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fz_null == NULL && (fz_null = fopen("/dev/null", "w")) == NULL)
		abort();
	return 0;
}

static void
fz_check_pattern(const struct sg_rule *r)
{
	struct sg_rule again;
	char text[256], err[256];

	rule_format(r, text, sizeof(text));
	FZ_CHECK(rule_pattern_parse(text, &again, err, sizeof(err)) == 0,
	    "allow pattern formatted as \"%s\" does not parse: %s", text, err);
	FZ_CHECK(again.proto == r->proto && again.from_port == r->from_port &&
	    again.to_port == r->to_port && again.src == r->src &&
	    again.prefixlen == r->prefixlen &&
	    memcmp(again.addr, r->addr, sizeof(r->addr)) == 0 &&
	    strcmp(again.ref_id, r->ref_id) == 0,
	    "allow pattern changed through \"%s\"", text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_config *cfg = NULL;
	char err[1024], *text;
	size_t i, j;

	if (fz_null == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	/* A C string: the file reader refuses NULs before this point. */
	text = fz_dup(data, size);
	if (config_load_string("fuzz.ini", text, fz_no_env, &cfg, err,
	    sizeof(err)) != 0) {
		FZ_CHECK(cfg == NULL, "failure returned a config");
		FZ_CHECK(strncmp(err, "fuzz.ini:", 9) == 0 &&
		    strchr(err, '\n') == NULL, "error \"%s\"", err);
		free(text);
		return 0;
	}
	/* Watched groups may come from [groups tag:...] sections as well,
	 * so ngroups may be 0. */
	FZ_CHECK(cfg != NULL && cfg->region != NULL &&
	    cfg->subject_prefix != NULL, "incomplete config");
	FZ_CHECK(cfg->poll_interval >= 5 && cfg->poll_interval <= 3600,
	    "poll_interval %d", cfg->poll_interval);
	for (i = 0; i < cfg->ngroups; i++) {
		const struct sg_group_cfg *g = &cfg->groups[i];

		FZ_CHECK(strncmp(g->id, "sg-", 3) == 0 &&
		    (strlen(g->id) == 11 || strlen(g->id) == 20),
		    "group id %s", g->id);
		FZ_CHECK(g->region != NULL, "group %s without region", g->id);
		FZ_CHECK(config_find_group(cfg, g->id) == g,
		    "group %s not found first", g->id);
		for (j = 0; j < g->nallow; j++)
			fz_check_pattern(&g->allow[j]);
		for (j = 0; j < g->nprincipals; j++)
			FZ_CHECK(g->principals[j] != NULL, "NULL principal");
	}
	config_print_summary(cfg, false, 0, fz_null);
	config_print_summary(cfg, true, 3, fz_null);
	config_free(cfg);
	free(text);
	return 0;
}
