/* http.h: the one place that talks to libcurl.
 *
 * Requests are submitted with a completion callback and driven by
 * http_run(), which runs every transfer in flight from one thread (libcurl's
 * multi interface). http_perform() is the blocking form for callers that
 * need one answer now (start-up, credentials). Connections are reused.
 *
 * TLS peer and host verification are always on; an extra CA bundle can be
 * added. Proxies come from the environment (libcurl's usual variables).
 * Redirects are never followed: a signed request must not be replayed
 * elsewhere.
 */
#ifndef SG_HTTP_H
#define SG_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct sg_http_opts {
	long		 connect_timeout_ms;	/* 0: 5000 */
	long		 total_timeout_ms;	/* 0: 30000 */
	size_t		 max_response;		/* 0: 8 MiB */
	const char	*ca_file;		/* extra CA bundle or NULL */
};

struct sg_http_request {
	const char		*method;	/* GET, PUT, POST */
	const char		*url;
	const struct sg_kv	*headers;
	size_t			 nheaders;
	const void		*body;
	size_t			 body_len;
	long			 timeout_ms;	/* 0: the client's total timeout */
};

enum sg_http_result {
	SG_HTTP_OK,		/* an HTTP answer arrived (any status) */
	SG_HTTP_ERR_CONNECT,	/* DNS, refused, reset, proxy */
	SG_HTTP_ERR_TIMEOUT,
	SG_HTTP_ERR_TLS,	/* certificate or handshake */
	SG_HTTP_ERR_TOO_LARGE,	/* body over max_response */
	SG_HTTP_ERR_PARTIAL,	/* connection closed mid-body */
	SG_HTTP_ERR_OTHER,
};

struct sg_http_response {
	enum sg_http_result	 result;
	long			 status;	/* HTTP status, 0 if none */
	struct sg_buf		 body;
	char			 error[256];	/* transport error text */
	char			 date[64];	/* the Date header, if any */
	char			 request_id[128]; /* x-amzn-requestid etc. */
};

struct sg_http;

typedef void (*sg_http_done_fn)(struct sg_http_response *, void *arg);

/* NULL on failure (a ca_file that cannot be read or holds no certificate,
 * libcurl refusing): http_new_error() then says why, in one line. */
struct sg_http *http_new(const struct sg_http_opts *);
const char *http_new_error(void);
/* Number of PEM certificates in the CA bundle at path (> 0), or -1 with
 * why ("PATH: no PEM certificate in it", "PATH: No such file ..."). */
int	 http_ca_file_check(const char *path, char *why, size_t whylen);
void	 http_free(struct sg_http *);
/* The options in effect, defaults filled in (ca_file NULL). */
void	 http_get_opts(const struct sg_http *, struct sg_http_opts *);
/* Queue a request; everything in req is copied. done runs from
 * http_run() and owns nothing: the response is freed after it returns
 * (steal the body with buf_steal() to keep it). 0 / -1. */
int	 http_submit(struct sg_http *, const struct sg_http_request *,
	    sg_http_done_fn done, void *arg);
/* Drive transfers for at most timeout_ms (0: do what is ready and return,
 * never busy-waits). Returns the number of transfers still in flight. */
int	 http_run(struct sg_http *, long timeout_ms);
/* Drop the transfers submitted with this done and arg, without calling
 * done. Returns how many were dropped. */
int	 http_cancel(struct sg_http *, sg_http_done_fn done, void *arg);
/* Blocking form: one request, one response (free with
 * http_response_free). Always returns with resp->result set. */
void	 http_perform(struct sg_http *, const struct sg_http_request *,
	    struct sg_http_response *resp);
void	 http_response_free(struct sg_http_response *);
const char *http_result_name(enum sg_http_result);

#endif
