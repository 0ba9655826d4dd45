/* MMDS without a guest (src/vmm/mmds_store.c, mmds_http.c): PUT, merge
 * PATCH and the size limit, pointer look-ups in both formats, and the guest's
 * HTTP requests with Firecracker's status codes, V2 tokens and hostile input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_mmds.h"
#include "vmm/mmds_http.h"
#include "test.h"

static struct mmds_store *store_with(const char *json, size_t limit)
{
	struct mmds_store *s = NULL;
	cJSON *doc = cJSON_Parse(json);

	CHECK_EQ(mmds_store_create(limit, &s), 0);
	CHECK(doc);
	CHECK_EQ(mmds_store_put(s, doc), 0);
	cJSON_Delete(doc);
	return s;
}

static const char *doc1 = "{\"name\":{\"second\":\"Doe\",\"first\":\"John\"},\"age\":43,"
			  "\"phones\":[\"+40\",\"+44\"],\"latest\":{\"meta-data\":{\"ami-id\":"
			  "\"ami-1\"}},\"a/b\":\"slash\",\"t~\":\"tilde\"}";

static bool get_is(struct mmds_store *s, const char *path, bool json, const char *want)
{
	char *out = NULL;
	int err = mmds_store_get(s, path, json, &out);
	bool ok = !err && out && !strcmp(out, want);

	if (!ok)
		printf("  get %s: %d '%s' (want '%s')\n", path, err, out ? out : "", want);
	free(out);
	return ok;
}

static void test_store_get(void)
{
	struct mmds_store *s = store_with(doc1, 0);
	char *out = NULL;

	CHECK(get_is(s, "/name", false, "first\nsecond"));
	CHECK(get_is(s, "/name/", false, "first\nsecond"));
	CHECK(get_is(s, "", false, "a/b\nage\nlatest/\nname/\nphones\nt~"));
	CHECK(get_is(s, "/", false, "a/b\nage\nlatest/\nname/\nphones\nt~"));
	CHECK(get_is(s, "/name/first", false, "John"));
	CHECK(get_is(s, "/name", true, "{\"first\":\"John\",\"second\":\"Doe\"}"));
	CHECK(get_is(s, "/name/first", true, "\"John\""));
	CHECK(get_is(s, "/phones/1", false, "+44"));
	CHECK(get_is(s, "/phones", true, "[\"+40\",\"+44\"]"));
	CHECK(get_is(s, "/age", true, "43"));
	CHECK(get_is(s, "/a~1b", false, "slash"));
	CHECK(get_is(s, "/t~0", false, "tilde"));
	CHECK_EQ(mmds_store_get(s, "/age", false, &out), -ENOTSUP);
	CHECK_EQ(mmds_store_get(s, "/phones", false, &out), -ENOTSUP);
	CHECK_EQ(mmds_store_get(s, "/nope", false, &out), -ENOENT);
	CHECK_EQ(mmds_store_get(s, "/phones/01", false, &out), -ENOENT);
	CHECK_EQ(mmds_store_get(s, "/phones/2", false, &out), -ENOENT);
	CHECK_EQ(mmds_store_get(s, "/phones/-1", false, &out), -ENOENT);
	CHECK_EQ(mmds_store_get(s, "/t~2", false, &out), -ENOENT);
	CHECK_EQ(mmds_store_get(s, "/name/first/x", false, &out), -ENOENT);
	CHECK_EQ(mmds_store_get(s, "name", false, &out), -ENOENT);
	CHECK(!out);
	mmds_store_configure(s, 1, true); /* imds_compat: text whatever asked */
	CHECK(get_is(s, "/name", true, "first\nsecond"));
	mmds_store_destroy(s);
}

static void test_store_patch_limit(void)
{
	struct mmds_store *s = NULL;
	cJSON *p;
	char *json;

	CHECK_EQ(mmds_store_create(60, &s), 0);
	json = mmds_store_json(s);
	CHECK(json && !strcmp(json, "{}"));
	free(json);
	p = cJSON_Parse("{\"a\":1}");
	CHECK_EQ(mmds_store_patch(s, p), -ENODATA); /* before the first PUT */
	CHECK_EQ(mmds_store_put(s, p), 0);
	cJSON_Delete(p);
	/* RFC 7396 appendix A style: replace, delete with null, merge objects. */
	p = cJSON_Parse("{\"a\":{\"x\":\"1\"},\"b\":\"2\"}");
	CHECK_EQ(mmds_store_patch(s, p), 0);
	cJSON_Delete(p);
	p = cJSON_Parse("{\"a\":{\"y\":\"3\",\"x\":null},\"b\":null}");
	CHECK_EQ(mmds_store_patch(s, p), 0);
	cJSON_Delete(p);
	json = mmds_store_json(s);
	CHECK(json && !strcmp(json, "{\"a\":{\"y\":\"3\"}}"));
	free(json);
	/* Over 60 bytes as compact JSON: refused, document unchanged. */
	p = cJSON_Parse(
	    "{\"big\":\"012345678901234567890123456789012345678901234567890123456789\"}");
	CHECK_EQ(mmds_store_patch(s, p), -EFBIG);
	CHECK_EQ(mmds_store_put(s, p), -EFBIG);
	cJSON_Delete(p);
	json = mmds_store_json(s);
	CHECK(json && !strcmp(json, "{\"a\":{\"y\":\"3\"}}"));
	free(json);
	mmds_store_destroy(s);
}

/* Sends req, checks the status line's code and that body ends the answer. */
static char *serve(struct mmds_store *s, const char *req, u64 now, int status, const char *body)
{
	char *out = NULL, want[32];
	size_t len = 0;
	ssize_t n = mmds_http_serve(s, req, strlen(req), now, &out, &len);

	CHECK_EQ(n, strlen(req));
	snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
	if (!out || strncmp(out, want, strlen(want)) ||
	    (body && (len < strlen(body) || strcmp(out + len - strlen(body), body)))) {
		printf("  %s-> %.*s\n", req, (int)len, out ? out : "");
		test_state_g.failed_now = 1;
	}
	return out;
}

static void test_http_v1(void)
{
	struct mmds_store *s = store_with(doc1, 0);
	char *out, *o2 = NULL;
	size_t len;

	free(serve(s, "GET /latest/meta-data/ami-id HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200,
		   "\r\n\r\nami-1"));
	free(serve(s, "GET /latest//meta-data HTTP/1.1\r\n\r\n", 0, 200, "\r\n\r\nami-id"));
	free(serve(s, "GET /name?x=1 HTTP/1.1\r\nAccept: application/json\r\n\r\n", 0, 200,
		   "{\"first\":\"John\",\"second\":\"Doe\"}"));
	out = serve(s, "GET /name HTTP/1.1\nAccept: application/json\n\n", 0, 200, NULL);
	CHECK(out && strstr(out, "Content-Type: application/json\r\n"));
	free(out);
	free(serve(s, "GET /nope HTTP/1.1\r\n\r\n", 0, 404, "Resource not found: /nope."));
	free(serve(s, "GET /age HTTP/1.1\r\n\r\n", 0, 501, "unsupported type."));
	out = serve(s, "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", 0, 405, NULL);
	CHECK(out && strstr(out, "Allow: GET, PUT\r\n"));
	free(out);
	free(serve(s, "PUT /other HTTP/1.1\r\n\r\n", 0, 404, NULL));
	/* V1 serves with or without a token, valid or not. */
	free(serve(s, "GET /name/first HTTP/1.1\r\nX-metadata-token: bogus\r\n\r\n", 0, 200,
		   "John"));
	/* Incomplete: more bytes needed, nothing consumed. */
	CHECK_EQ(mmds_http_serve(s, "GET / HTTP/1.1\r\n", 16, 0, &o2, &len), 0);
	CHECK_EQ(
	    mmds_http_serve(s, "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 39, 0, &o2, &len),
	    0);
	CHECK(!o2);
	mmds_store_destroy(s);
}

static void test_http_v2_tokens(void)
{
	struct mmds_store *s = store_with(doc1, 0);
	char req[256], *out, *tok;

	mmds_store_configure(s, 2, false);
	free(serve(s, "GET /name/first HTTP/1.1\r\n\r\n", 1000, 401, "session token."));
	free(serve(s, "GET /name/first HTTP/1.1\r\nX-metadata-token: abc\r\n\r\n", 1000, 401,
		   "MMDS token not valid."));
	free(serve(s, "PUT /latest/api/token HTTP/1.1\r\n\r\n", 1000, 400, "lifetime."));
	free(serve(s, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 0\r\n\r\n",
		   1000, 400, "between 1 and 21600."));
	free(serve(s,
		   "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 21601\r\n\r\n",
		   1000, 400, "between 1 and 21600."));
	free(serve(s, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: x1\r\n\r\n",
		   1000, 400, NULL));
	free(serve(s,
		   "PUT /latest/api/token HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n"
		   "X-metadata-token-ttl-seconds: 5\r\n\r\n",
		   1000, 400, "X-Forwarded-For"));
	out = serve(s, "PUT /latest/api/token HTTP/1.1\r\nx-metadata-token-ttl-seconds: 2\r\n\r\n",
		    1000, 200, NULL);
	CHECK(out && strstr(out, "\r\nx-metadata-token-ttl-seconds: 2\r\n"));
	tok = out ? strstr(out, "\r\n\r\n") : NULL;
	CHECK(tok && strlen(tok + 4) == MMDS_TOKEN_CHARS);
	if (tok) {
		snprintf(req, sizeof(req),
			 "GET /name/first HTTP/1.1\r\nX-aws-ec2-metadata-token: %s\r\n\r\n",
			 tok + 4);
		free(serve(s, req, 2999, 200, "\r\n\r\nJohn"));
		free(serve(s, req, 3000, 401, "MMDS token not valid.")); /* expired */
	}
	free(out);
	mmds_store_destroy(s);
}

static void test_http_hostile(void)
{
	static const char *const bad[] = {
	    "GET\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GE(T / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
	    "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
	    "GET / HTTP/1.1\r\n folded\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	    "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "GET / HTTP/1.1\r\nA: \x01\r\n\r\n",
	    "GET /\x7f HTTP/1.1\r\n\r\n",
	};
	struct mmds_store *s = store_with(doc1, 0);
	char *big = malloc(MMDS_HTTP_MAX_HEAD + 64), *out = NULL;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		free(serve(s, bad[i], 0, 400, NULL));
	free(serve(s, "GET * HTTP/1.1\r\n\r\n", 0, 400, "Invalid URI."));
	/* 33 header fields: one too many. */
	strcpy(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 33; i++)
		strcat(big, "A: b\r\n");
	strcat(big, "\r\n");
	free(serve(s, big, 0, 400, NULL));
	/* No end of head within MMDS_HTTP_MAX_HEAD bytes: refused, all taken. */
	memset(big, 'a', MMDS_HTTP_MAX_HEAD + 64);
	CHECK_EQ(mmds_http_serve(s, big, MMDS_HTTP_MAX_HEAD + 64, 0, &out, &len),
		 MMDS_HTTP_MAX_HEAD + 64);
	CHECK(out && !strncmp(out, "HTTP/1.1 400 ", 13));
	free(out);
	/* A path longer than MMDS_HTTP_MAX_PATH. */
	strcpy(big, "GET /");
	memset(big + 5, 'p', MMDS_HTTP_MAX_PATH);
	strcpy(big + 5 + MMDS_HTTP_MAX_PATH, " HTTP/1.1\r\n\r\n");
	free(serve(s, big, 0, 400, "Invalid URI."));
	/* Two pipelined requests: the first is answered, the second waits. */
	CHECK_EQ(mmds_http_serve(s, "GET /age HTTP/1.0\r\n\r\nGET /", 27, 0, &out, &len), 21);
	CHECK(out && !strncmp(out, "HTTP/1.0 501 ", 13));
	free(out);
	free(big);
	mmds_store_destroy(s);
}

/* Loads a config document; returns its result with the message in err. */
static int load(const char *json, struct vm_config *cfg, struct config_store *st, char *err)
{
	memset(cfg, 0, sizeof(*cfg));
	config_store_init(st);
	err[0] = 0;
	return config_json_load(json, strlen(json), cfg, st, err, 600);
}

#define NETS                                                                                       \
	"\"network-interfaces\": [{\"iface_id\": \"eth0\", \"mode\": \"user\"}, "                  \
	"{\"iface_id\": \"eth1\", \"mode\": \"user\"}], "

/* The config file's mmds-config (and PUT /mmds/config's checks). */
static void test_config_section(void)
{
	static const struct {
		const char *mmds, *err;
	} bad[] = {
	    {"{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"169.254.0.5\"}",
	     "mmds-config.ipv4_address: The MMDS IPv4 address is not link local."},
	    {"{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"169.254.255.1\"}",
	     "mmds-config.ipv4_address: The MMDS IPv4 address is not link local."},
	    {"{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"169.254.1\"}",
	     "mmds-config.ipv4_address: must be an IPv4 address like 169.254.169.254"},
	    {"{\"network_interfaces\": [\"eth0\"], \"version\": 2}",
	     "mmds-config.version: must be \"V1\" or \"V2\""},
	    {"{\"network_interfaces\": \"eth0\"}",
	     "mmds-config.network_interfaces: must be a list of iface_id strings"},
	    {"{\"network_interfaces\": [1]}",
	     "mmds-config.network_interfaces: must be a list of iface_id strings"},
	    {"{\"version\": \"V1\"}",
	     "mmds-config.network_interfaces: missing (a list of iface_id is required)"},
	    {"{\"network_interfaces\": [\"eth0\"], \"imds_compat\": 1}",
	     "mmds-config.imds_compat: must be a boolean"},
	    {"{\"network_interfaces\": [\"eth0\"], \"network_interfaces\": [\"eth1\"]}",
	     "mmds-config.network_interfaces: given twice"},
	    {"[]", "mmds-config: must be a JSON object"},
	};
	struct vm_config cfg;
	struct config_store st;
	char err[600], doc[512], *text;
	cJSON *o, *net;

	CHECK_EQ(load("{" NETS "\"mmds-config\": {\"network_interfaces\": [\"eth1\"], \"version\": "
		      "\"V2\", \"ipv4_address\": \"169.254.170.2\", \"imds_compat\": true}}",
		      &cfg, &st, err),
		 0);
	CHECK(cfg.mmds.enabled);
	CHECK_EQ(cfg.mmds.version, 2);
	CHECK_EQ(cfg.mmds.addr, 0xA9FEAA02u);
	CHECK(cfg.mmds.imds_compat);
	CHECK(!cfg.nets[0].mmds && cfg.nets[1].mmds);
	o = config_to_json(&cfg, &st, false);
	text = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "mmds-config"));
	CHECK(text && !strcmp(text, "{\"version\":\"V2\",\"network_interfaces\":[\"eth1\"],"
				    "\"ipv4_address\":\"169.254.170.2\",\"imds_compat\":true}"));
	free(text);
	cJSON_Delete(o);
	/* Replacing a named interface keeps it named. */
	net = cJSON_Parse("{\"iface_id\": \"eth1\", \"mode\": \"user\"}");
	{
		struct config_err e = {err, sizeof(err), ""};
		CHECK_EQ(config_set_net(net, "eth1", &cfg, &e), 0);
	}
	cJSON_Delete(net);
	CHECK(cfg.nets[1].mmds);
	/* Defaults: V1 at 169.254.169.254. */
	CHECK_EQ(
	    load("{" NETS "\"mmds-config\": {\"network_interfaces\": [\"eth0\"]}}", &cfg, &st, err),
	    0);
	CHECK_EQ(cfg.mmds.version, 1);
	CHECK_EQ(cfg.mmds.addr, CONFIG_MMDS_ADDR);
	CHECK(!cfg.mmds.imds_compat);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc), "{" NETS "\"mmds-config\": %s}", bad[i].mmds);
		CHECK_EQ(load(doc, &cfg, &st, err), -EINVAL);
		if (strcmp(err, bad[i].err)) {
			printf("  %s: '%s'\n", bad[i].mmds, err);
			test_state_g.failed_now = 1;
		}
	}
}

int main(void)
{
	TEST_RUN(test_store_get);
	TEST_RUN(test_store_patch_limit);
	TEST_RUN(test_http_v1);
	TEST_RUN(test_http_v2_tokens);
	TEST_RUN(test_http_hostile);
	TEST_RUN(test_config_section);
	return test_done();
}
