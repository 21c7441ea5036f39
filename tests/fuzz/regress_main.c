/* regress_main.c: run a fuzz target without libFuzzer.
 *
 * Linked with one fuzz_*.c, this is a plain program that feeds every file
 * named on the command line (directories: every file inside, sorted) to
 * LLVMFuzzerTestOneInput once. Any C11 compiler builds it, so the seed
 * corpus is a regression test wherever clang's libFuzzer is missing:
 *   tests/fuzz/run --plain
 * A failed property aborts, like it does under libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets without an initializer get this one (weak: theirs wins). */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
run_file(const char *path, size_t *count)
{
	unsigned char *data = NULL, *p;
	size_t len = 0, cap = 0, n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(data, cap)) == NULL) {
				fclose(fp);
				free(data);
				fprintf(stderr, "%s: out of memory\n", path);
				return -1;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(fp);
		free(data);
		return -1;
	}
	fclose(fp);
	/* An exact-size copy, so ASan sees reads past the input's end. */
	p = malloc(len ? len : 1);
	if (p == NULL) {
		free(data);
		return -1;
	}
	memcpy(p, data, len);
	free(data);
	fprintf(stderr, "running %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(p, len);
	free(p);
	(*count)++;
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_path(const char *path, size_t *count)
{
	struct dirent *de;
	struct stat st;
	char **names = NULL, **np, full[4096];
	size_t n = 0, i;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, count);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((np = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (np[n] = strdup(de->d_name)) == NULL) {
			closedir(d);
			fprintf(stderr, "out of memory\n");
			exit(2);
		}
		names = np;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if (run_path(full, count) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int i, rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) == -1)
			rc = 1;
	printf("%s: %zu inputs run\n", argv[0], count);
	return rc;
}
