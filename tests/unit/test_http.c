/* Unit tests for the API's HTTP/1.1 request parser and response writer
 * (src/api/http.c): complete, partial and hostile request heads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "test.h"

static int parse(const char *s, struct http_request *req, char *err)
{
	err[0] = 0;
	return http_parse_head(s, strlen(s), HTTP_DEFAULT_BODY, req, err, 160);
}

static void test_get(void)
{
	const char *s = "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
	struct http_request req;
	char err[160];

	CHECK_EQ(parse(s, &req, err), strlen(s));
	CHECK_EQ(req.method, HTTP_GET);
	CHECK(!strcmp(req.method_name, "GET"));
	CHECK(!strcmp(req.path, "/"));
	CHECK_EQ(req.content_length, 0);
	CHECK(req.keep_alive);
	CHECK(!req.expect_continue);
}

static void test_put_with_body(void)
{
	const char *s = "PUT /drives/rootfs HTTP/1.1\r\nContent-Type: application/json\r\n"
			"content-length:  17 \r\n\r\n{\"a\": 1}";
	struct http_request req;
	char err[160];
	int r = parse(s, &req, err);

	CHECK_EQ(r, strchr(s, '{') - s);
	CHECK_EQ(req.method, HTTP_PUT);
	CHECK(!strcmp(req.path, "/drives/rootfs"));
	CHECK_EQ(req.content_length, 17);
}

/* Every proper prefix of a request asks for more; the whole is complete. */
static void test_partial(void)
{
	const char *s = "PATCH /vm HTTP/1.1\r\nContent-Length: 18\r\nExpect: 100-continue\r\n\r\n";
	struct http_request req;
	char err[160];

	for (size_t n = 0; n < strlen(s); n++) {
		int r = http_parse_head(s, n, HTTP_DEFAULT_BODY, &req, err, sizeof(err));
		if (r != 0) {
			printf("  prefix of %zu bytes: %d (%s)\n", n, r, err);
			test_state_g.failed_now = 1;
			break;
		}
	}
	CHECK_EQ(http_parse_head(s, strlen(s), HTTP_DEFAULT_BODY, &req, err, sizeof(err)), strlen(s));
	CHECK_EQ(req.method, HTTP_PATCH);
	CHECK(req.expect_continue);
	CHECK_EQ(req.content_length, 18);
}

static void test_variants(void)
{
	struct http_request req;
	char err[160];

	/* Bare LF line ends, HTTP/1.0 (closes by default). */
	CHECK(parse("GET /metrics HTTP/1.0\n\n", &req, err) > 0);
	CHECK(!req.keep_alive && !strcmp(req.path, "/metrics"));
	CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req, err) > 0);
	CHECK(req.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &req, err) > 0);
	CHECK(!req.keep_alive);
	/* Query dropped; absolute form reduced to its path. */
	CHECK(parse("GET /vm/config?x=1 HTTP/1.1\r\n\r\n", &req, err) > 0);
	CHECK(!strcmp(req.path, "/vm/config"));
	CHECK(parse("GET http://localhost/machine-config HTTP/1.1\r\n\r\n", &req, err) > 0);
	CHECK(!strcmp(req.path, "/machine-config"));
	/* Empty lines before the request line are skipped and counted. */
	CHECK_EQ(parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n", &req, err), 22);
	/* Unknown methods parse; the router answers them. */
	CHECK(parse("BREW / HTTP/1.1\r\n\r\n", &req, err) > 0);
	CHECK_EQ(req.method, HTTP_OTHER);
	/* Exactly the body limit is fine. */
	CHECK(parse("PUT /x HTTP/1.1\r\nContent-Length: 51200\r\n\r\n", &req, err) > 0);
	CHECK_EQ(req.content_length, HTTP_DEFAULT_BODY);
	/* A larger limit (--http-api-max-payload-size) lets more through. */
	CHECK(http_parse_head("PUT /x HTTP/1.1\r\nContent-Length: 2097152\r\n\r\n", 44,
			      2 * 1024 * 1024, &req, err, sizeof(err)) > 0);
	CHECK_EQ(req.content_length, 2 * 1024 * 1024);
	/* The same length twice is accepted. */
	CHECK(parse("PUT /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &req,
		    err) > 0);
}

static void expect_status(const char *s, int status, const char *why)
{
	struct http_request req;
	char err[160];
	int r = parse(s, &req, err);

	if (r != -status || !strstr(err, why)) {
		printf("  for '%.60s': got %d '%s', want %d '%s'\n", s, r, err, -status, why);
		test_state_g.failed_now = 1;
	}
}

static void test_refused(void)
{
	char big[HTTP_MAX_HEAD + 64], path[400];

	expect_status("PUT /x HTTP/1.1\r\nContent-Length: 51201\r\n\r\n", 413,
		      "Request payload with size 51201 is larger than the limit of 51200 allowed by "
		      "server.");
	expect_status("PUT /x HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413,
		      "larger than");
	expect_status("PUT /x HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", 400,
		      "malformed Content-Length");
	expect_status("PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400,
		      "malformed Content-Length");
	expect_status("PUT /x HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "empty Content-Length");
	expect_status("PUT /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
		      "conflicting Content-Length");
	expect_status("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
		      "Transfer-Encoding is not supported");
	expect_status("GET / HTTP/2.0\r\n\r\n", 400, "unsupported protocol version");
	expect_status("GET / HTTP/1.1 extra\r\n\r\n", 400, "unsupported protocol version");
	expect_status("GET /\r\n\r\n", 400, "malformed request line");
	expect_status("G(T / HTTP/1.1\r\n\r\n", 400, "malformed request method");
	expect_status("GET vm HTTP/1.1\r\n\r\n", 400, "must be a path");
	expect_status("GET /a\x01 HTTP/1.1\r\n\r\n", 400, "malformed request target");
	expect_status("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "malformed header field");
	expect_status("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "malformed header field name");
	expect_status("GET / HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n", 400, "folded");
	expect_status("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400, "control character");
	expect_status("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 400, "unsupported Expect");

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	snprintf(big, sizeof(big), "GET %.300s HTTP/1.1\r\n\r\n", path);
	expect_status(big, 400, "request path longer than 255 bytes");

	/* A head that never ends is refused once it reaches the limit. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	{
		struct http_request req;
		char err[160];
		CHECK_EQ(http_parse_head(big, HTTP_MAX_HEAD - 1, HTTP_DEFAULT_BODY, &req, err, sizeof(err)), 0);
		CHECK_EQ(http_parse_head(big, HTTP_MAX_HEAD, HTTP_DEFAULT_BODY, &req, err, sizeof(err)), -400);
		CHECK(strstr(err, "request head larger than 8192 bytes") != NULL);
	}
}

static void test_responses(void)
{
	char *out;
	size_t len;

	CHECK_EQ(http_format_response(204, NULL, 0, true, NULL, &out, &len), 0);
	CHECK(!strncmp(out, "HTTP/1.1 204 No Content\r\n", 25));
	CHECK(!memmem(out, len, "Content-Length", 14));
	CHECK(memmem(out, len, "Connection: keep-alive\r\n\r\n", 26) != NULL);
	CHECK(!memcmp(out + len - 4, "\r\n\r\n", 4));
	free(out);

	CHECK_EQ(http_format_response(400, "{\"fault_message\":\"x\"}", 21, false, NULL, &out, &len), 0);
	CHECK(!strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26));
	CHECK(memmem(out, len, "Content-Type: application/json\r\n", 32) != NULL);
	CHECK(memmem(out, len, "Content-Length: 21\r\n", 20) != NULL);
	CHECK(memmem(out, len, "Connection: close\r\n", 19) != NULL);
	CHECK(!memcmp(out + len - 21, "{\"fault_message\":\"x\"}", 21));
	free(out);

	CHECK_EQ(http_format_response(100, NULL, 0, true, NULL, &out, &len), 0);
	CHECK(len == 25 && !memcmp(out, "HTTP/1.1 100 Continue\r\n\r\n", 25));
	free(out);
	/* Extra header lines (the Deprecation header) go before the blank line. */
	CHECK_EQ(http_format_response(204, NULL, 0, true, "Deprecation: true\r\n", &out, &len), 0);
	CHECK(memmem(out, len, "\r\nDeprecation: true\r\n\r\n", 23) != NULL);
	free(out);
	CHECK(!strcmp(http_reason(413), "Payload Too Large"));
	CHECK(!strcmp(http_reason(404), "Not Found"));
}

int main(void)
{
	TEST_RUN(test_get);
	TEST_RUN(test_put_with_body);
	TEST_RUN(test_partial);
	TEST_RUN(test_variants);
	TEST_RUN(test_refused);
	TEST_RUN(test_responses);
	return test_done();
}
