/* libFuzzer harness for MMDS's guest-facing HTTP responder (src/vmm/
 * mmds_http.c) over a store with data, V2 tokens on: the input is one
 * connection's byte stream, answered request by request as the slirp
 * service does. Checks that each answer is a whole HTTP response with one
 * of the documented status codes, that progress is always made once the
 * stream is long enough, and that no prefix of a request is answered
 * differently from the whole (a shorter one is incomplete or refused).
 * Build: make build/fuzz/fuzz_mmds_http */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mmds_http.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static struct mmds_store *fuzz_store(void)
{
	static struct mmds_store *s;
	cJSON *doc;

	if (s)
		return s;
	if (mmds_store_create(0, &s) < 0)
		abort();
	doc = cJSON_Parse("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"n\":[1,\"x\"]}},"
			  "\"user-data\":\"u\",\"a~b/c\":{\"\":\"empty key\"},\"num\":4}");
	if (!doc || mmds_store_put(s, doc) < 0)
		abort();
	cJSON_Delete(doc);
	mmds_store_configure(s, 2, false);
	return s;
}

static void fuzz_check_answer(const char *out, size_t len)
{
	static const int ok[] = {200, 400, 401, 404, 405, 501};
	int status = 0;
	const char *body;
	size_t clen;
	bool known = false;

	if (!out || len < 17 || out[len] || strncmp(out, "HTTP/1.", 7) ||
	    sscanf(out + 9, "%3d", &status) != 1)
		abort();
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		known |= status == ok[i];
	body = strstr(out, "\r\n\r\n");
	if (!known || !body || !strstr(out, "Content-Length: "))
		abort();
	clen = strtoul(strstr(out, "Content-Length: ") + 16, NULL, 10);
	if (clen != len - (size_t)(body + 4 - out))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct mmds_store *s = fuzz_store();
	const char *p = (const char *)data;
	size_t off = 0;

	while (off < size) {
		char *out = NULL, *part = NULL;
		size_t len = 0, plen = 0;
		ssize_t n = mmds_http_serve(s, p + off, size - off, 1000, &out, &len);

		if (n < 0)
			abort(); /* only -ENOMEM, which a fuzzer does not hit */
		if (n == 0) {
			if (out || size - off >= MMDS_HTTP_MAX_HEAD + MMDS_HTTP_MAX_BODY)
				abort();
			break;
		}
		if ((size_t)n > size - off)
			abort();
		fuzz_check_answer(out, len);
		/* A well-formed request's prefixes are incomplete (0); a refused
		 * stream is taken whole, so only check answered requests. */
		if (strncmp(out + 9, "400", 3)) {
			for (size_t k = 0; k < (size_t)n; k += 1 + k / 4) {
				ssize_t pn = mmds_http_serve(s, p + off, k, 1000, &part, &plen);
				free(part);
				part = NULL;
				if (pn != 0)
					abort();
			}
		}
		free(out);
		off += (size_t)n;
	}
	return 0;
}
