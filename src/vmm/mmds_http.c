/* MMDS's guest-facing HTTP responder: a bounded request parser (RFC 9112
 * syntax) and Firecracker's answers, status codes and plain-text errors. */
#include "vmm/mmds_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One parsed request; strings point into the caller's buffer (not
 * NUL-terminated: each has its length). */
struct mmds_req {
	const char *method, *target;
	size_t method_len, target_len;
	bool http10;
	bool json;               /* Accept: application/json */
	const char *token, *ttl; /* header values, or NULL */
	size_t token_len, ttl_len;
	const char *ttl_name; /* the TTL header's name as the guest spelt it */
	size_t ttl_name_len;
	bool forwarded; /* X-Forwarded-For present */
	size_t content_length;
};

struct mmds_resp {
	int status;
	const char *type; /* Content-Type */
	char *body;       /* malloc'd, or NULL for msg */
	const char *msg;
	char extra[96]; /* more header lines, each ending "\r\n" */
};

static const char *mmds_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 501:
		return "Not Implemented";
	default:
		return "Internal Server Error";
	}
}

static bool mmds_is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c);
}

static bool mmds_name_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(name, want, n);
}

/* Parses one header field line [p, e) (no line end) into r. */
static bool mmds_parse_field(const char *p, const char *e, struct mmds_req *r)
{
	const char *colon = memchr(p, ':', (size_t)(e - p));
	const char *v;
	size_t n, vn;

	if (!colon || colon == p)
		return false;
	n = (size_t)(colon - p);
	for (size_t i = 0; i < n; i++)
		if (!mmds_is_tchar(p[i]))
			return false;
	for (v = colon + 1; v < e && (*v == ' ' || *v == '\t'); v++)
		;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	vn = (size_t)(e - v);
	for (size_t i = 0; i < vn; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return false;
	if (mmds_name_is(p, n, "Accept")) {
		r->json = vn >= 16 && !strncasecmp(v, "application/json", 16);
	} else if (mmds_name_is(p, n, "X-metadata-token") ||
		   mmds_name_is(p, n, "X-aws-ec2-metadata-token")) {
		r->token = v;
		r->token_len = vn;
	} else if (mmds_name_is(p, n, "X-metadata-token-ttl-seconds") ||
		   mmds_name_is(p, n, "X-aws-ec2-metadata-token-ttl-seconds")) {
		r->ttl = v;
		r->ttl_len = vn;
		r->ttl_name = p;
		r->ttl_name_len = n;
	} else if (mmds_name_is(p, n, "X-Forwarded-For")) {
		r->forwarded = true;
	} else if (mmds_name_is(p, n, "Content-Length")) {
		size_t cl = 0;
		if (!vn || vn > 9)
			return false;
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				return false;
			cl = cl * 10 + (size_t)(v[i] - '0');
		}
		if (cl > MMDS_HTTP_MAX_BODY)
			return false;
		r->content_length = cl;
	} else if (mmds_name_is(p, n, "Transfer-Encoding")) {
		return false; /* bodies are Content-Length only */
	}
	return true;
}

/* Parses the head in [in, in + head): true when well formed. */
static bool mmds_parse_head(const char *in, size_t head, struct mmds_req *r)
{
	const char *end = in + head, *p = in, *eol, *sp1, *sp2;
	unsigned fields = 0;

	eol = memchr(p, '\n', head);
	if (!eol)
		return false;
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1)
		return false;
	r->method = p;
	r->method_len = (size_t)(sp1 - p);
	for (size_t i = 0; i < r->method_len; i++)
		if (!mmds_is_tchar(p[i]))
			return false;
	r->target = sp1 + 1;
	r->target_len = (size_t)(sp2 - sp1 - 1);
	for (size_t i = 0; i < r->target_len; i++)
		if ((unsigned char)r->target[i] <= 0x20 || (unsigned char)r->target[i] >= 0x7f)
			return false;
	{
		size_t vn = (size_t)(eol - sp2 - 1);
		const char *v = sp2 + 1;
		if (vn && v[vn - 1] == '\r')
			vn--;
		if (vn != 8 || memcmp(v, "HTTP/1.", 7) || (v[7] != '0' && v[7] != '1'))
			return false;
		r->http10 = v[7] == '0';
	}
	for (p = eol + 1; p < end; p = eol + 1) {
		const char *le;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return false;
		le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (le == p)
			return eol + 1 == end; /* the blank line ends the head */
		if (++fields > MMDS_HTTP_MAX_HEADERS || *p == ' ' || *p == '\t' ||
		    !mmds_parse_field(p, le, r))
			return false; /* obsolete line folding is refused too */
	}
	return false;
}

/* The bytes of the head (through the blank line), 0 if not all there. */
static size_t mmds_head_len(const char *in, size_t len)
{
	size_t max = len < MMDS_HTTP_MAX_HEAD ? len : MMDS_HTTP_MAX_HEAD;

	for (size_t i = 0; i < max; i++) {
		if (in[i] != '\n')
			continue;
		if (i + 1 < max && in[i + 1] == '\n')
			return i + 2;
		if (i + 2 < max && in[i + 1] == '\r' && in[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The path of the target (query dropped), "//" runs collapsed, NUL-terminated
 * into out (MMDS_HTTP_MAX_PATH bytes). false when not origin-form or too long. */
static bool mmds_path(const struct mmds_req *r, char *out)
{
	size_t o = 0;

	if (!r->target_len || r->target[0] != '/')
		return false;
	for (size_t i = 0; i < r->target_len && r->target[i] != '?' && r->target[i] != '#'; i++) {
		if (r->target[i] == '/' && o && out[o - 1] == '/')
			continue;
		if (o + 1 >= MMDS_HTTP_MAX_PATH)
			return false;
		out[o++] = r->target[i];
	}
	out[o] = 0;
	return true;
}

static void mmds_put_token(struct mmds_store *s, const struct mmds_req *r, const char *path,
			   u64 now_ms, struct mmds_resp *w)
{
	char tok[MMDS_TOKEN_CHARS + 1];
	u32 ttl = 0;
	bool num = r->ttl_len > 0 && r->ttl_len <= 10;

	w->status = 400;
	if (r->forwarded) {
		w->msg = "Invalid header. Reason: Unsupported header name. Key: X-Forwarded-For";
		return;
	}
	if (strcmp(path, MMDS_TOKEN_PATH)) {
		w->status = 404;
		return;
	}
	if (!r->ttl) {
		w->msg = "Token time to live value not found. Use `X-metadata-token-ttl-seconds` "
			 "or `X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's "
			 "lifetime.";
		return;
	}
	for (size_t i = 0; num && i < r->ttl_len; i++) {
		num = r->ttl[i] >= '0' && r->ttl[i] <= '9';
		if (num && (u64)ttl * 10 + (u64)(r->ttl[i] - '0') > 0xFFFFFFFFu)
			num = false;
		else if (num)
			ttl = ttl * 10 + (u32)(r->ttl[i] - '0');
	}
	if (!num) {
		w->msg = "Invalid header. Reason: Invalid value.";
		return;
	}
	if (ttl < MMDS_TOKEN_TTL_MIN || ttl > MMDS_TOKEN_TTL_MAX) {
		w->body = malloc(160);
		if (w->body)
			snprintf(
			    w->body, 160,
			    "Invalid time to live value provided for token: %u. Please provide "
			    "a value between %u and %u.",
			    ttl, MMDS_TOKEN_TTL_MIN, MMDS_TOKEN_TTL_MAX);
		return;
	}
	if (mmds_store_token_new(s, ttl, now_ms, tok) < 0) {
		w->status = 500;
		w->msg = "Failed to generate a token.";
		return;
	}
	w->status = 200;
	w->body = strdup(tok);
	snprintf(w->extra, sizeof(w->extra), "%.*s: %u\r\n", (int)r->ttl_name_len, r->ttl_name,
		 ttl);
}

static void mmds_get(struct mmds_store *s, const struct mmds_req *r, const char *path, u64 now_ms,
		     struct mmds_resp *w)
{
	int err;

	if (mmds_store_version(s) == 2) {
		w->status = 401;
		if (!r->token) {
			w->msg = "No MMDS token provided. Use `X-metadata-token` or "
				 "`X-aws-ec2-metadata-token` header to specify the session token.";
			return;
		}
		if (!mmds_store_token_valid(s, r->token, r->token_len, now_ms)) {
			w->msg = "MMDS token not valid.";
			return;
		}
	}
	err = mmds_store_get(s, path, r->json, &w->body);
	w->status = !err ? 200 : err == -ENOENT ? 404 : err == -ENOTSUP ? 501 : 500;
	if (!err && r->json)
		w->type = "application/json";
	else if (err == -ENOTSUP)
		w->msg = "Cannot retrieve value. The value has an unsupported type.";
	else if (err && err != -ENOENT)
		w->msg = "Out of memory.";
}

static int mmds_format(const struct mmds_req *r, const char *target, struct mmds_resp *w,
		       char **out, size_t *out_len)
{
	char nf[MMDS_HTTP_MAX_PATH + 32];
	const char *body = w->body ? w->body : w->msg ? w->msg : "";
	size_t blen, cap;
	int n;

	if (w->status == 404 && !w->body) {
		snprintf(nf, sizeof(nf), "Resource not found: %s.", target);
		body = nf;
	}
	blen = strlen(body);
	cap = blen + 256 + 1;
	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	n = snprintf(*out, cap,
		     "HTTP/1.%c %d %s\r\nServer: popek MMDS\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n%s\r\n",
		     r && r->http10 ? '0' : '1', w->status, mmds_reason(w->status),
		     w->status == 200 && w->type ? w->type : "text/plain", blen, w->extra);
	if (n < 0 || (size_t)n + blen >= cap) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	memcpy(*out + n, body, blen);
	(*out)[n + blen] = 0; /* for callers that print it */
	*out_len = (size_t)n + blen;
	return 0;
}

ssize_t mmds_http_serve(struct mmds_store *s, const char *in, size_t len, u64 now_ms, char **out,
			size_t *out_len)
{
	struct mmds_req r = {0};
	struct mmds_resp w = {0};
	char path[MMDS_HTTP_MAX_PATH];
	size_t head = mmds_head_len(in, len);
	ssize_t used;
	int err;

	*out = NULL;
	*out_len = 0;
	if (!head && len < MMDS_HTTP_MAX_HEAD)
		return 0;
	if (!head || !mmds_parse_head(in, head, &r)) {
		w.status = 400;
		w.msg = "Invalid request.";
		used = (ssize_t)len;
		path[0] = 0;
		goto answer;
	}
	if (len - head < r.content_length)
		return 0;
	used = (ssize_t)(head + r.content_length);
	w.type = "text/plain";
	if (!mmds_path(&r, path)) {
		w.status = 400;
		w.msg = "Invalid URI.";
		path[0] = 0;
	} else if (r.method_len == 3 && !memcmp(r.method, "GET", 3)) {
		mmds_get(s, &r, path, now_ms, &w);
	} else if (r.method_len == 3 && !memcmp(r.method, "PUT", 3)) {
		mmds_put_token(s, &r, path, now_ms, &w);
	} else {
		w.status = 405;
		w.msg = "Not allowed HTTP method.";
		snprintf(w.extra, sizeof(w.extra), "Allow: GET, PUT\r\n");
	}
answer:
	err = mmds_format(w.status == 400 && !r.method ? NULL : &r, path, &w, out, out_len);
	free(w.body);
	return err < 0 ? err : used;
}
