/* fuzz.h: helpers shared by the libFuzzer targets in tests/fuzz.
 *
 * Every target defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize). The same source builds two ways:
 *   - with clang -fsanitize=fuzzer,...: a libFuzzer binary (tests/fuzz/run);
 *   - with any C11 compiler plus regress_main.c: a plain regression binary
 *     that runs each file or directory given on the command line once.
 * A property that does not hold calls FZ_CHECK's abort(), which both
 * drivers report as a crash with the input that caused it.
 */
#ifndef SG_FUZZ_H
#define SG_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	 LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* A NUL-terminated heap copy of n bytes (which may hold NULs). */
static inline char *
fz_dup(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Split data at NUL bytes into at most max parts; the last part takes the
 * rest (NULs included). Parts point into data and are not terminated: use
 * fz_dup. Returns the number of parts (at least 1).
 */
static inline size_t
fz_split(const uint8_t *data, size_t size, const uint8_t **part,
    size_t *len, size_t max)
{
	size_t n = 0;
	const uint8_t *nul;

	while (n + 1 < max &&
	    (nul = memchr(data, '\0', size)) != NULL) {
		part[n] = data;
		len[n++] = (size_t)(nul - data);
		size -= (size_t)(nul - data) + 1;
		data = nul + 1;
	}
	part[n] = data;
	len[n++] = size;
	return n;
}

/* One line, no control characters (DEL included), as sanitised text is. */
static inline bool
fz_one_safe_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

#endif
