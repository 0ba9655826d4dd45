/* The typed JSON getters of config_json.c, shared with the parsers of
 * nested objects in their own files (config_rate_limiter.c). Each names
 * the key in e's message as "<prefix><key>: <problem>". */
#ifndef POPEK_CONFIG_JSON_PRIV_H
#define POPEK_CONFIG_JSON_PRIV_H

#include "api/config_file.h"

/* Writes the message naming key (or the object itself when key is NULL)
 * and returns -EINVAL. */
int cfg_fail(const struct config_err *e, const char *key, const char *fmt, ...) PRINTF_FMT(3, 4);
/* "null", "a number", ... for messages. */
const char *cfg_type_name(const cJSON *v);
/* o must be an object whose keys are all in allowed (NULL-terminated),
 * each once. */
int cfg_check_keys(const struct config_err *e, const cJSON *o, const char *const *allowed);
/* 1 when key is there (stored in *out), 0 when absent or null and not
 * required, -EINVAL otherwise: an integer in [min, max]. */
int cfg_get_uint(const struct config_err *e, const cJSON *o, const char *key, bool required,
		 u64 min, u64 max, u64 *out);
/* Firecracker's ids (drive_id, iface_id, pmem id): letters, digits and
 * underscores, and equal to path_id, the API path's {id}, unless NULL. */
int cfg_check_id(const struct config_err *e, const char *key, const char *id,
		 const char *path_id);
/* The same for true or false. */
int cfg_get_bool(const struct config_err *e, const cJSON *o, const char *key, bool required,
		 bool *out);
/* The same for a non-empty string shorter than size, without control bytes. */
int cfg_get_str(const struct config_err *e, const cJSON *o, const char *key, bool required,
		char *out, size_t size);

#endif
