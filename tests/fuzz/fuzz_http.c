/* libFuzzer harness for the API's HTTP request parser (src/api/http.c) and
 * router (src/api/api_routes.c) on a VM that has not started: the input is
 * one client's byte stream, parsed as the server does (head, then body,
 * then the next request), also split at every length to check that a
 * partial head never parses differently from the whole one.
 * Build: make build/fuzz/fuzz_http */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_routes.h"
#include "api/http.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static void fuzz_check_request(const struct http_request *req, int r, size_t len)
{
	size_t n = strnlen(req->path, sizeof(req->path));

	if ((size_t)r > len || (size_t)r != req->head_len || req->content_length > HTTP_DEFAULT_BODY)
		abort();
	if (n == sizeof(req->path) || req->path[0] != '/')
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)req->path[i] <= 0x20 || (unsigned char)req->path[i] >= 0x7f)
			abort();
}

static void fuzz_route(const struct http_request *req, const char *body)
{
	static struct vm_config cfg;
	static struct config_store st;
	struct api_vm vm;
	char *out = NULL, *resp;
	size_t len;
	int status = 0;

	memset(&cfg, 0, sizeof(cfg));
	config_store_init(&st);
	cfg.nr_cpus = 1;
	cfg.mem_size = 64 * MiB;
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.lock, NULL);
	pthread_cond_init(&vm.cond, NULL);
	vm.cfg = &cfg;
	vm.st = &st;
	vm.metrics_fd = -1;
	vm.quit = true; /* InstanceStart must not wait for a main thread */
	api_route(&vm, req, body, req->content_length, &status, &out);
	if (status != 200 && status != 204 && status != 400 && status != 404)
		abort();
	if ((status == 204) != (out == NULL))
		abort();
	if (http_format_response(status, out, out ? strlen(out) : 0, req->keep_alive, NULL, &resp,
				 &len) == 0)
		free(resp);
	free(out);
	pthread_cond_destroy(&vm.cond);
	pthread_mutex_destroy(&vm.lock);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	const char *p = (const char *)data;
	struct http_request req, part;
	char err[160];
	size_t off = 0;

	while (off < size) {
		int r = http_parse_head(p + off, size - off, HTTP_DEFAULT_BODY, &req, err, sizeof(err));
		if (r <= 0) {
			if (r < 0 && r != -400 && r != -413)
				abort();
			if (r == 0 && size - off >= HTTP_MAX_HEAD)
				abort();
			break;
		}
		fuzz_check_request(&req, r, size - off);
		/* Every shorter prefix is incomplete or refused, never another head. */
		for (size_t n = 0; n < (size_t)r; n += 1 + n / 8) {
			int pr = http_parse_head(p + off, n, HTTP_DEFAULT_BODY, &part, err, sizeof(err));
			if (pr > 0)
				abort();
		}
		if (size - off - (size_t)r < req.content_length)
			break;
		fuzz_route(&req, p + off + r);
		off += (size_t)r + req.content_length;
	}
	return 0;
}
