/* HTTP/1.1 request heads in, responses out (RFC 9112), with hard size limits:
 * every byte comes from an untrusted client. */
#include "api/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int http_fail(char *err, size_t errlen, int status, const char *fmt, ...) PRINTF_FMT(4, 5);

static int http_fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -status;
}

/* RFC 9110 section 5.6.2: token characters. */
static bool http_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Length of the head (through the empty line), or 0 if not within len. */
static size_t http_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The next line of [*p, end) without its line end; false past the end. */
static bool http_next_line(const char **p, const char *end, const char **line, size_t *n)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return false;
	*line = *p;
	*n = (size_t)(nl - *p);
	if (*n && (*p)[*n - 1] == '\r')
		(*n)--;
	*p = nl + 1;
	return true;
}

static const struct {
	const char *name;
	enum http_method m;
} http_methods[] = {
    {"GET", HTTP_GET},   {"PUT", HTTP_PUT},       {"PATCH", HTTP_PATCH},
    {"POST", HTTP_POST}, {"DELETE", HTTP_DELETE},
};

static int http_request_line(const char *s, size_t n, struct http_request *req, bool *v11,
			     char *err, size_t errlen)
{
	const char *sp1 = memchr(s, ' ', n), *sp2, *target;
	size_t mlen, tlen, vlen;

	if (!sp1)
		return http_fail(err, errlen, 400, "malformed request line");
	mlen = (size_t)(sp1 - s);
	sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
	if (!mlen || mlen >= sizeof(req->method_name) || !sp2)
		return http_fail(err, errlen, 400, "malformed request line");
	for (size_t i = 0; i < mlen; i++)
		if (!http_tchar(s[i]))
			return http_fail(err, errlen, 400, "malformed request method");
	memcpy(req->method_name, s, mlen);
	req->method_name[mlen] = 0;
	req->method = HTTP_OTHER;
	for (unsigned i = 0; i < ARRAY_SIZE(http_methods); i++)
		if (!strcmp(req->method_name, http_methods[i].name))
			req->method = http_methods[i].m;

	vlen = n - (size_t)(sp2 + 1 - s);
	if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1'))
		return http_fail(err, errlen, 400,
				 "unsupported protocol version (HTTP/1.0 or 1.1)");
	*v11 = sp2[8] == '1';

	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	/* Absolute form (RFC 9112 section 3.2.2): drop scheme and authority. */
	if (tlen > 7 && !strncasecmp(target, "http://", 7)) {
		const char *slash = memchr(target + 7, '/', tlen - 7);
		if (!slash)
			return http_fail(err, errlen, 400, "malformed request target");
		tlen -= (size_t)(slash - target);
		target = slash;
	}
	for (size_t i = 0; i < tlen; i++) {
		if (target[i] == '?' || target[i] == '#') {
			tlen = i;
			break;
		}
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
			return http_fail(err, errlen, 400, "malformed request target");
	}
	if (!tlen || target[0] != '/')
		return http_fail(err, errlen, 400,
				 "request target must be a path starting with '/'");
	if (tlen >= sizeof(req->path))
		return http_fail(err, errlen, 400, "request path longer than %d bytes",
				 HTTP_MAX_PATH - 1);
	memcpy(req->path, target, tlen);
	req->path[tlen] = 0;
	return 0;
}

/* Content-Length (RFC 9110 section 8.6): digits only; repeated values must agree. */
static int http_content_length(const char *v, size_t n, size_t max_body, struct http_request *req,
			       bool *seen, char *err, size_t errlen)
{
	const u64 cap = 1ULL << 60; /* larger values are all "too large" */
	u64 len = 0;

	if (!n)
		return http_fail(err, errlen, 400, "empty Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return http_fail(err, errlen, 400, "malformed Content-Length");
		if (len > cap) /* keep going only to reject non-digits */
			continue;
		len = len * 10 + (u64)(v[i] - '0');
	}
	if (*seen && len != req->content_length)
		return http_fail(err, errlen, 400, "conflicting Content-Length fields");
	if (len > max_body)
		return http_fail(err, errlen, 413,
				 "Request payload with size %llu is larger than the limit of %zu "
				 "allowed by server.",
				 (unsigned long long)len, max_body);
	*seen = true;
	req->content_length = (size_t)len;
	return 0;
}

/* Does the comma-separated list v (n bytes) contain token tok? */
static bool http_list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		size_t a = i, b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b - a == tl && !strncasecmp(v + a, tok, tl))
			return true;
		i = j + 1;
	}
	return false;
}

static int http_field(const char *s, size_t n, size_t max_body, struct http_request *req,
		      bool *seen_length, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t nlen, vlen;

	if (n && (s[0] == ' ' || s[0] == '\t'))
		return http_fail(err, errlen, 400, "folded header lines are not accepted");
	if (!colon || colon == s)
		return http_fail(err, errlen, 400, "malformed header field");
	nlen = (size_t)(colon - s);
	for (size_t i = 0; i < nlen; i++)
		if (!http_tchar(s[i]))
			return http_fail(err, errlen, 400, "malformed header field name");
	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (size_t i = 0; i < vlen; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			return http_fail(err, errlen, 400, "control character in a header field");

#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(s, name, nlen))
	if (IS("Content-Length"))
		return http_content_length(v, vlen, max_body, req, seen_length, err, errlen);
	if (IS("Transfer-Encoding"))
		return http_fail(err, errlen, 400,
				 "Transfer-Encoding is not supported: send a Content-Length body");
	if (IS("Connection")) {
		if (http_list_has(v, vlen, "close"))
			req->keep_alive = false;
		else if (http_list_has(v, vlen, "keep-alive"))
			req->keep_alive = true;
	} else if (IS("Expect")) {
		if (vlen != 12 || strncasecmp(v, "100-continue", 12))
			return http_fail(err, errlen, 400, "unsupported Expect field");
		req->expect_continue = true;
	}
#undef IS
	return 0;
}

int http_parse_head(const char *buf, size_t len, size_t max_body, struct http_request *req,
		    char *err, size_t errlen)
{
	const char *p, *end, *line;
	bool v11 = true, seen_length = false;
	size_t skip = 0, head, n;
	int r;

	/* Empty lines before the request line are ignored (RFC 9112 section 2.2). */
	while (skip < len && skip < HTTP_MAX_HEAD && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	head = http_head_end(buf + skip, MIN(len, (size_t)HTTP_MAX_HEAD) - skip);
	if (!head) {
		if (len >= HTTP_MAX_HEAD)
			return http_fail(err, errlen, 400, "request head larger than %d bytes",
					 HTTP_MAX_HEAD);
		return 0;
	}
	memset(req, 0, sizeof(*req));
	p = buf + skip;
	end = p + head;
	if (!http_next_line(&p, end, &line, &n) || !n)
		return http_fail(err, errlen, 400, "empty request");
	r = http_request_line(line, n, req, &v11, err, errlen);
	if (r < 0)
		return r;
	req->keep_alive = v11;
	while (http_next_line(&p, end, &line, &n) && n) {
		r = http_field(line, n, max_body, req, &seen_length, err, errlen);
		if (r < 0)
			return r;
	}
	req->head_len = skip + head;
	return (int)req->head_len;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

int http_format_response(int status, const char *body, size_t body_len, bool keep_alive,
			 const char *extra, char **out, size_t *outlen)
{
	bool has_body = status >= 200 && status != 204 && status != 304;
	char head[512];
	int n;

	if (!has_body)
		body_len = 0;
	if (status < 200)
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n\r\n", status,
			     http_reason(status));
	else if (!has_body)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: popek\r\nConnection: %s\r\n%.200s\r\n", status,
			     http_reason(status), keep_alive ? "keep-alive" : "close",
			     extra ? extra : "");
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: popek\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\nConnection: %s\r\n%.200s\r\n",
			     status, http_reason(status), body_len,
			     keep_alive ? "keep-alive" : "close", extra ? extra : "");
	*out = malloc((size_t)n + body_len);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, head, (size_t)n);
	if (body_len)
		memcpy(*out + n, body, body_len);
	*outlen = (size_t)n + body_len;
	return 0;
}
