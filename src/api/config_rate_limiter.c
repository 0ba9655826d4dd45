/* Firecracker's rate limiter objects ({"bandwidth": {size, one_time_burst,
 * refill_time}, "ops": {...}}) of drives, network interfaces and entropy:
 * one parser for all, and their form in GET /vm/config. */
#include <errno.h>
#include <stdio.h>

#include "api/config_file.h"
#include "api/config_json_priv.h"

/* JSON numbers are doubles here: integers are exact up to 2^53. */
#define RL_MAX (1ULL << 53)

/* o[key] unless absent or null, with *sub naming keys inside it as
 * "<e's prefix>key.<inner key>" (prefix: its storage). */
static const cJSON *rl_nested(const struct config_err *e, const cJSON *o, const char *key,
			      struct config_err *sub, char *prefix, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v || cJSON_IsNull(v))
		return NULL;
	snprintf(prefix, len, "%s%s.", e->prefix, key);
	*sub = *e;
	sub->prefix = prefix;
	return v;
}

/* A token bucket object at o[key], when present, into *out. */
static int rl_bucket(const struct config_err *e, const cJSON *o, const char *key,
		     struct bucket_config *out)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	struct bucket_config b = {0};
	struct config_err be;
	char prefix[160];
	const cJSON *v = rl_nested(e, o, key, &be, prefix, sizeof(prefix));

	if (!v)
		return 0;
	if (cfg_check_keys(&be, v, keys) < 0 ||
	    cfg_get_uint(&be, v, "size", true, 0, RL_MAX, &b.size) < 0 ||
	    cfg_get_uint(&be, v, "one_time_burst", false, 0, RL_MAX, &b.one_time_burst) < 0 ||
	    cfg_get_uint(&be, v, "refill_time", true, 0, RL_MAX, &b.refill_time_ms) < 0)
		return -EINVAL;
	/* size 0 is no bucket (Firecracker's way to remove one); a real one
	 * must refill. */
	if (b.size && !b.refill_time_ms)
		return cfg_fail(&be, "refill_time", "must be at least 1 (ms) when size is not 0");
	*out = b;
	return 1;
}

int config_get_rate_limiter(const struct config_err *e, const cJSON *o, const char *key,
			    struct rate_limit_config *inout)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	struct rate_limit_config rl = *inout;
	struct config_err re;
	char prefix[128];
	const cJSON *v = rl_nested(e, o, key, &re, prefix, sizeof(prefix));

	if (!v)
		return 0;
	if (cfg_check_keys(&re, v, keys) < 0 || rl_bucket(&re, v, "bandwidth", &rl.bandwidth) < 0 ||
	    rl_bucket(&re, v, "ops", &rl.ops) < 0)
		return -EINVAL;
	*inout = rl;
	return 0;
}

static bool rl_bucket_set(const struct bucket_config *b)
{
	return b->size || b->one_time_burst || b->refill_time_ms;
}

/* An integer written out exactly: cJSON prints numbers with 15 significant
 * digits, which would turn 2^53 into 9.00719925474099e+15. */
static void rl_add_u64(cJSON *o, const char *key, u64 v)
{
	char text[24];

	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	cJSON_AddRawToObject(o, key, text);
}

static void rl_bucket_json(cJSON *o, const char *key, const struct bucket_config *b)
{
	cJSON *j;

	if (!rl_bucket_set(b) || !(j = cJSON_AddObjectToObject(o, key)))
		return;
	rl_add_u64(j, "size", b->size);
	if (b->one_time_burst)
		rl_add_u64(j, "one_time_burst", b->one_time_burst);
	rl_add_u64(j, "refill_time", b->refill_time_ms);
}

void config_add_rate_limiter(cJSON *o, const char *key, const struct rate_limit_config *rl)
{
	cJSON *j;

	if (!rl_bucket_set(&rl->bandwidth) && !rl_bucket_set(&rl->ops)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	j = cJSON_AddObjectToObject(o, key);
	if (!j)
		return;
	rl_bucket_json(j, "bandwidth", &rl->bandwidth);
	rl_bucket_json(j, "ops", &rl->ops);
}
