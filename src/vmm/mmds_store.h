/* MMDS, Firecracker's microVM metadata service: the JSON document behind the
 * API's /mmds (written by the API thread) and the guest's requests (read by
 * the network I/O threads), and the session tokens of version 2. */
#ifndef POPEK_MMDS_STORE_H
#define POPEK_MMDS_STORE_H

#include <cjson/cJSON.h>

#include "popek/types.h"

#define MMDS_TOKEN_TTL_MIN 1     /* seconds, as Firecracker */
#define MMDS_TOKEN_TTL_MAX 21600 /* 6 hours */
#define MMDS_TOKEN_CHARS   48    /* hex digits of a token (24 random bytes) */
#define MMDS_MAX_TOKENS    64    /* live tokens kept; a new one evicts the oldest */

struct mmds_store;

/* A store whose document may not exceed limit bytes as compact JSON (0:
 * CONFIG_MMDS_SIZE_LIMIT). Version 1 until configured. 0 or -ENOMEM. */
int mmds_store_create(size_t limit, struct mmds_store **out);
void mmds_store_destroy(struct mmds_store *s);

/* PUT /mmds/config's version (1 or 2) and imds_compat. */
void mmds_store_configure(struct mmds_store *s, unsigned version, bool imds_compat);
unsigned mmds_store_version(struct mmds_store *s);

/* PUT /mmds: doc replaces the document (copied). 0, -EFBIG when larger
 * than the limit (the document is then unchanged), or -ENOMEM. */
int mmds_store_put(struct mmds_store *s, const cJSON *doc);
/* PATCH /mmds: RFC 7396 merge patch of the document. 0, -ENODATA before the
 * first PUT, -EFBIG when the result would exceed the limit (unchanged). */
int mmds_store_patch(struct mmds_store *s, const cJSON *patch);
/* GET /mmds: the document as compact JSON ("{}" before the first PUT),
 * malloc'd; NULL when out of memory. */
char *mmds_store_json(struct mmds_store *s);

/* Snapshots (the MMDS 0 section, src/vmm/snapshot.h): bool there is a
 * document (a PUT was made), then the document as compact JSON, a u32
 * length and its bytes. V2 tokens are not saved: the guest asks for a new
 * one when the old is refused (401). save: 0 or -ENOMEM. load: replaces
 * the document with the saved one, all of in read; -EINVAL with the
 * reason in in (not JSON, above this store's limit, bytes left over), the
 * document then unchanged. */
struct snap_out;
struct snap_in;
int mmds_store_save(struct mmds_store *s, struct snap_out *o);
int mmds_store_load(struct mmds_store *s, struct snap_in *in);

/*
 * The guest's view of the value at path, a JSON pointer (RFC 6901) with an
 * optional trailing '/' ("" or "/" is the whole document). json: as JSON;
 * otherwise (and always with imds_compat) IMDS text: a string as itself, an
 * object as its keys one a line ("key/" for an object value). *out is
 * malloc'd. 0, -ENOENT (no such value), -ENOTSUP (IMDS text of a number,
 * boolean, array or null), -ENOMEM.
 */
int mmds_store_get(struct mmds_store *s, const char *path, bool json, char **out);

/* A new token (MMDS_TOKEN_CHARS hex digits and a NUL into tok) valid for
 * ttl seconds (MMDS_TOKEN_TTL_MIN..MAX, else -EINVAL) from now_ms. 0 or
 * -errno (-EIO: no randomness). */
int mmds_store_token_new(struct mmds_store *s, u32 ttl, u64 now_ms, char *tok);
/* tok (len bytes, not NUL-terminated) was issued and has not expired. */
bool mmds_store_token_valid(struct mmds_store *s, const char *tok, size_t len, u64 now_ms);

#endif
