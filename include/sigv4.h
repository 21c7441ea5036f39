/* sigv4.h: AWS Signature Version 4, pure functions.
 *
 * Time and credentials are inputs; there is no clock, network or global
 * state inside. Each stage of the spec is a function of its own so the
 * official test suite can check them one by one:
 *
 *   canonical request -> string to sign -> signing key -> signature
 *
 * Paths are normalised (RFC 3986 dot segments, repeated slashes) and
 * encoded twice, as every service but S3 expects.
 */
#ifndef SG_SIGV4_H
#define SG_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "creds.h"
#include "util.h"

struct sg_sigv4_request {
	const char		*method;	/* "GET", "POST" */
	const char		*path;		/* as sent: "/", "/a%20b/" */
	const char		*query;		/* raw, without '?'; NULL or "" */
	const struct sg_kv	*headers;	/* must contain Host */
	size_t			 nheaders;
	const void		*body;		/* NULL with body_len 0 */
	size_t			 body_len;
};

/*
 * Signing keys already derived, so a request costs one HMAC instead of
 * five. The caller owns it (the pure signer keeps no state of its own):
 * zero it to start, sigv4_cache_clear() to wipe it. Direct-mapped; a slot
 * is found by the SHA-256 of (secret, date, region, service), so a changed
 * secret or a new day can never reuse an old key. Holds no secret in
 * clear, only derived keys, which are wiped on clear.
 */
#define SG_SIGV4_CACHE_SLOTS	256
struct sg_sigv4_cache_slot {
	unsigned char		 id[32];
	unsigned char		 key[32];
	bool			 used;
};
struct sg_sigv4_cache {
	struct sg_sigv4_cache_slot slot[SG_SIGV4_CACHE_SLOTS];
	unsigned long		 hits;
	unsigned long		 misses;
};

struct sg_sigv4_params {
	const char		*region;
	const char		*service;
	time_t			 now;		/* request time, UTC */
	const struct sg_creds	*creds;
	bool			 normalize_path;	/* true but for S3 */
	bool			 sign_content_sha256;	/* add+sign x-amz-content-sha256 */
	bool			 omit_session_token;	/* token added unsigned */
	struct sg_sigv4_cache	*cache;		/* NULL: derive every time */
};

/* What the signer adds to the request. Every header here must be sent. */
struct sg_sigv4_result {
	char			 amz_date[17];		/* 20150830T123600Z */
	char			 content_sha256[65];	/* hex payload hash */
	char			 signature[65];		/* hex */
	char			*authorization;		/* Authorization value */
	struct sg_kv		 add[4];		/* headers to add */
	size_t			 nadd;
	char			*storage;		/* owns add[] strings */
};

/* "20150830T123600Z" and "20150830" for a time. */
void	 sigv4_amz_date(time_t, char out[17]);
/* URI-encode (RFC 3986 unreserved kept, %XX upper case). When keep_slash,
 * '/' is kept (paths). Appends to out. 0 / -1 on out of memory. */
int	 sigv4_uri_encode(const char *in, size_t len, bool keep_slash,
	    struct sg_buf *out);
/*
 * The canonical request, exactly as the spec builds it (no trailing
 * newline), and its signed-header list ("host;x-amz-date"). The headers the
 * signer adds (x-amz-date; x-amz-security-token unless omitted;
 * x-amz-content-sha256 when asked) are part of it.
 */
int	 sigv4_canonical_request(const struct sg_sigv4_request *,
	    const struct sg_sigv4_params *, struct sg_buf *out,
	    struct sg_buf *signed_headers);
/* "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256(canonical)>". */
int	 sigv4_string_to_sign(const char *canonical_request,
	    const struct sg_sigv4_params *, struct sg_buf *out);
/* HMAC chain "AWS4"+secret -> date -> region -> service -> aws4_request. */
void	 sigv4_signing_key(const char *secret, const char *date8,
	    const char *region, const char *service, unsigned char key[32]);
/* Sign: fills res (free with sigv4_result_free). 0 / -1. */
int	 sigv4_sign(const struct sg_sigv4_request *,
	    const struct sg_sigv4_params *, struct sg_sigv4_result *res);
void	 sigv4_result_free(struct sg_sigv4_result *);
/* Wipe every cached key (counters kept). */
void	 sigv4_cache_clear(struct sg_sigv4_cache *);

#endif
