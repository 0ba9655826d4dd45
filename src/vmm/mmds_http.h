/* The guest side of MMDS: HTTP/1.x requests from the guest (every byte
 * hostile) answered from the store as Firecracker's MMDS does: GET of a path
 * (IMDS text or JSON), PUT /latest/api/token for V2 session tokens. */
#ifndef POPEK_MMDS_HTTP_H
#define POPEK_MMDS_HTTP_H

#include <sys/types.h>

#include "vmm/mmds_store.h"

#define MMDS_HTTP_MAX_HEAD    4096 /* request line + header fields + blank line */
#define MMDS_HTTP_MAX_HEADERS 32
#define MMDS_HTTP_MAX_BODY    4096 /* the guest sends none; a larger one is refused */
#define MMDS_HTTP_MAX_PATH    1024
#define MMDS_TOKEN_PATH       "/latest/api/token"

/*
 * Answers the first request in in (len bytes of one connection's stream).
 * Returns the bytes it took (> 0, at most len) with the whole response in
 * *out (malloc'd, *out_len bytes and a NUL); 0 when the request is incomplete and
 * more bytes are needed (never once len >= MMDS_HTTP_MAX_HEAD +
 * MMDS_HTTP_MAX_BODY); or -ENOMEM. A malformed request gets a 400 answer
 * and takes all of in (the stream cannot be resynchronized).
 *   200: the value (Content-Type text/plain or, with Accept:
 *        application/json, application/json) or a new token;
 *   400: malformed request, bad token TTL, X-Forwarded-For on a PUT;
 *   401: V2 without a valid X-metadata-token (or X-aws-ec2-metadata-token);
 *   404: no such value, or a PUT elsewhere than MMDS_TOKEN_PATH;
 *   405: a method other than GET and PUT; 501: IMDS text of a non-string.
 */
ssize_t mmds_http_serve(struct mmds_store *s, const char *in, size_t len, u64 now_ms, char **out,
			size_t *out_len);

#endif
