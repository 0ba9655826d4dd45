/* A small, bounded HTTP/1.1 request parser and response writer for the API
 * server (RFC 9110 semantics, RFC 9112 message syntax). */
#ifndef POPEK_HTTP_H
#define POPEK_HTTP_H

#include "popek/types.h"

#define HTTP_MAX_HEAD 8192        /* request line + header fields + blank line */
/* Bodies: Firecracker's default limit (--http-api-max-payload-size changes
 * it, up to HTTP_MAX_BODY_LIMIT); a larger Content-Length is refused. */
#define HTTP_DEFAULT_BODY    51200
#define HTTP_MAX_BODY_LIMIT  (256 * 1024 * 1024)
#define HTTP_MAX_PATH 256

enum http_method { HTTP_GET, HTTP_PUT, HTTP_PATCH, HTTP_POST, HTTP_DELETE, HTTP_OTHER };

struct http_request {
	enum http_method method;
	char method_name[16];
	char path[HTTP_MAX_PATH]; /* origin-form path, query dropped */
	size_t head_len;          /* bytes up to and including the blank line */
	size_t content_length;    /* body bytes that follow the head */
	bool keep_alive;          /* HTTP/1.1 default; "Connection: close" clears it */
	bool expect_continue;     /* "Expect: 100-continue": answer 100 before the body */
};

/*
 * Parses the request head at the start of buf (len bytes, need not be
 * NUL-terminated; bytes after the head are the body and are not looked at).
 * max_body is the largest Content-Length accepted.
 * Returns head_len (> 0) with req filled when the head is complete; 0 when
 * more bytes are needed (never once len >= HTTP_MAX_HEAD); or -status when
 * the request must be refused, with the reason in err (for fault_message):
 *   -400: malformed request line or header field, unsupported version,
 *         Transfer-Encoding (only Content-Length bodies), a head longer than
 *         HTTP_MAX_HEAD, a path longer than HTTP_MAX_PATH, a bad or
 *         conflicting Content-Length, an Expect other than 100-continue;
 *   -413: Content-Length above max_body (known before the body is read,
 *         so a server can answer at once and close); err is then
 *         Firecracker's text, "Request payload with size N is larger than the
 *         limit of L allowed by server.".
 * Both CRLF and bare LF line ends are accepted (RFC 9112 section 2.2).
 */
int http_parse_head(const char *buf, size_t len, size_t max_body, struct http_request *req,
		    char *err, size_t errlen);

/* Reason phrase of a status code ("OK", "No Content", ...). */
const char *http_reason(int status);

/* Formats a whole response (status line, Content-Type: application/json and
 * Content-Length when there is a body, Connection, then the header lines in
 * extra, each ending in CRLF, or NULL) into a malloc'd buffer. 204 and 1xx
 * carry no body. Returns 0 or -ENOMEM. */
int http_format_response(int status, const char *body, size_t body_len, bool keep_alive,
			 const char *extra, char **out, size_t *outlen);

#endif
