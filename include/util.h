/* util.h: small helpers shared by every module: growable buffers, strings. */
#ifndef SG_UTIL_H
#define SG_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A name/value pair: HTTP headers, query parameters, form fields. */
struct sg_kv {
	const char	*name;
	const char	*value;
};

/* A list of name/value pairs that owns its strings (Query parameters). */
struct sg_kvlist {
	struct sg_kv	*kv;
	size_t		 n;
	size_t		 cap;
};

void	 kvlist_add(struct sg_kvlist *, const char *name, const char *value);
void	 kvlist_addf(struct sg_kvlist *, const char *value, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
void	 kvlist_free(struct sg_kvlist *);

/* A growable byte buffer, always NUL-terminated when data != NULL. */
struct sg_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct sg_buf *);
void	 buf_free(struct sg_buf *);
/* Wipe the contents (for buffers that held secrets) and free. */
void	 buf_free_secure(struct sg_buf *);
void	 buf_reset(struct sg_buf *);
int	 buf_reserve(struct sg_buf *, size_t extra);
int	 buf_append(struct sg_buf *, const void *, size_t);
int	 buf_puts(struct sg_buf *, const char *);
int	 buf_putc(struct sg_buf *, char);
int	 buf_printf(struct sg_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct sg_buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* Take ownership of the data (never NULL: "" for an empty buffer). */
char	*buf_steal(struct sg_buf *);

/* Allocation that cannot fail: aborts with a log line on out-of-memory. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/* Copy at most size-1 bytes and terminate; returns strlen(src). */
size_t	 sg_strlcpy(char *dst, const char *src, size_t size);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void	 sg_hex(const unsigned char *, size_t len, char *out);
/* Free a string that held a secret after wiping it; NULL is fine. */
void	 sg_free_secret(char *);
/* Trim ASCII white space at both ends, in place; returns s. */
char	*sg_trim(char *s);
bool	 sg_streq(const char *, const char *);	/* NULL-safe */
/* Format a one-line reason into err (NULL or errlen 0: nothing). */
void	 sg_errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Milliseconds of the monotonic clock: intervals and deadlines. */
long	 sg_mono_ms(void);
/* ISO 8601 date and time with a zone (Z or +-HH:MM), fractions dropped:
 * "2024-08-01T12:23:55Z", "2026-11-27T10:00:00.123+00:00". 0 / -1. */
int	 sg_iso8601_parse(const char *, time_t *);
bool	 sg_strempty(const char *);		/* NULL or "" */

#endif
