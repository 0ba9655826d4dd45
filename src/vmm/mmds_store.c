/* The MMDS data store: one JSON document under a mutex, RFC 7396 merge
 * patches, RFC 6901 pointer look-ups, and a table of V2 session tokens. */
#include "vmm/mmds_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/config.h"
#include "core/snap_codec.h"

struct mmds_token {
	char hex[MMDS_TOKEN_CHARS];
	u64 expiry_ms; /* 0: free slot */
};

struct mmds_store {
	pthread_mutex_t lock;
	cJSON *doc; /* NULL until the first PUT */
	size_t limit;
	unsigned version;
	bool imds_compat;
	struct mmds_token tokens[MMDS_MAX_TOKENS];
};

int mmds_store_create(size_t limit, struct mmds_store **out)
{
	struct mmds_store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->limit = limit ? limit : CONFIG_MMDS_SIZE_LIMIT;
	s->version = 1;
	*out = s;
	return 0;
}

void mmds_store_destroy(struct mmds_store *s)
{
	if (!s)
		return;
	cJSON_Delete(s->doc);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void mmds_store_configure(struct mmds_store *s, unsigned version, bool imds_compat)
{
	pthread_mutex_lock(&s->lock);
	s->version = version == 2 ? 2 : 1;
	s->imds_compat = imds_compat;
	pthread_mutex_unlock(&s->lock);
}

unsigned mmds_store_version(struct mmds_store *s)
{
	unsigned v;

	pthread_mutex_lock(&s->lock);
	v = s->version;
	pthread_mutex_unlock(&s->lock);
	return v;
}

static int mmds_key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* Orders every object's members by key, as Firecracker's (serde_json's)
 * maps do, so that listings and JSON answers come out sorted. */
static int mmds_sort(cJSON *v)
{
	cJSON **kids, *it;
	size_t n = 0, i = 0;

	cJSON_ArrayForEach(it, v)
	{
		int err = mmds_sort(it);
		if (err < 0)
			return err;
		n++;
	}
	if (!cJSON_IsObject(v) || n < 2)
		return 0;
	kids = malloc(n * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	cJSON_ArrayForEach(it, v) kids[i++] = it;
	qsort(kids, n, sizeof(*kids), mmds_key_cmp);
	for (i = 0; i < n; i++) {
		kids[i]->prev = i ? kids[i - 1] : kids[n - 1]; /* cJSON: head->prev is the tail */
		kids[i]->next = i + 1 < n ? kids[i + 1] : NULL;
	}
	v->child = kids[0];
	free(kids);
	return 0;
}

/* Sorts doc and checks its size; on success it becomes the document (the
 * old one is freed), else doc is freed. Called with s->lock held. */
static int mmds_store_install(struct mmds_store *s, cJSON *doc)
{
	char *text;
	size_t len;

	if (!doc || mmds_sort(doc) < 0 || !(text = cJSON_PrintUnformatted(doc))) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	len = strlen(text);
	free(text);
	if (len > s->limit) {
		cJSON_Delete(doc);
		return -EFBIG;
	}
	cJSON_Delete(s->doc);
	s->doc = doc;
	return 0;
}

int mmds_store_put(struct mmds_store *s, const cJSON *doc)
{
	int err;

	pthread_mutex_lock(&s->lock);
	err = mmds_store_install(s, cJSON_Duplicate(doc, true));
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* RFC 7396 section 2: MergePatch(target, patch); returns the new target
 * (target consumed) or NULL when out of memory. */
static cJSON *mmds_merge(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, true);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
		if (!target)
			return NULL;
	}
	cJSON_ArrayForEach(p, patch)
	{
		cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
		cJSON *merged;

		if (cJSON_IsNull(p)) {
			cJSON_Delete(old);
			continue;
		}
		merged = mmds_merge(old, p);
		if (!merged || !cJSON_AddItemToObject(target, p->string, merged)) {
			cJSON_Delete(merged);
			cJSON_Delete(target);
			return NULL;
		}
	}
	return target;
}

int mmds_store_patch(struct mmds_store *s, const cJSON *patch)
{
	cJSON *doc;
	int err = -ENODATA;

	pthread_mutex_lock(&s->lock);
	if (s->doc) {
		doc = cJSON_Duplicate(s->doc, true);
		err = doc ? mmds_store_install(s, mmds_merge(doc, patch)) : -ENOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

char *mmds_store_json(struct mmds_store *s)
{
	char *text;

	pthread_mutex_lock(&s->lock);
	text = s->doc ? cJSON_PrintUnformatted(s->doc) : strdup("{}");
	pthread_mutex_unlock(&s->lock);
	return text;
}

int mmds_store_save(struct mmds_store *s, struct snap_out *o)
{
	char *text = NULL;
	bool has;
	u32 n;

	pthread_mutex_lock(&s->lock);
	has = s->doc != NULL;
	if (has)
		text = cJSON_PrintUnformatted(s->doc);
	pthread_mutex_unlock(&s->lock);
	if (has && !text)
		return -ENOMEM;
	n = text ? (u32)strlen(text) : 0;
	snap_put_bool(o, has);
	snap_put_u32(o, n);
	snap_put_bytes(o, text, n);
	free(text);
	return 0;
}

int mmds_store_load(struct mmds_store *s, struct snap_in *in)
{
	bool has = snap_get_bool(in);
	u32 n = snap_get_u32(in);
	cJSON *doc = NULL;
	char *text;
	int err;

	if (in->bad)
		return -EINVAL;
	if (n > in->len - in->pos)
		return snap_reject(in, "MMDS data: %u bytes, more than the section holds", n);
	if (!has && n)
		return snap_reject(in, "MMDS data of %u bytes marked absent", n);
	text = malloc((size_t)n + 1);
	if (!text)
		return snap_reject(in, "MMDS data: out of memory");
	snap_get_bytes(in, text, n);
	text[n] = 0;
	/* The whole of it one JSON value, as a PUT /mmds body is. */
	if (has && !(doc = cJSON_ParseWithOpts(text, NULL, true))) {
		free(text);
		return snap_reject(in, "MMDS data is not one JSON value");
	}
	free(text);
	if (snap_in_end(in) < 0) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	if (has) {
		err = mmds_store_install(s, doc);
	} else {
		cJSON_Delete(s->doc);
		s->doc = NULL;
		err = 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (err == -EFBIG)
		return snap_reject(in,
				   "MMDS data of %u bytes is above this process's limit of %zu "
				   "(--mmds-size-limit)",
				   n, s->limit);
	if (err < 0)
		return snap_reject(in, "MMDS data: out of memory");
	return 0;
}

/* One reference token of a JSON pointer (RFC 6901 section 4): the bytes up
 * to the next '/' with ~1 -> '/' and ~0 -> '~'. false for another '~'. */
static bool mmds_token_unescape(const char *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != '~') {
			out[o++] = p[i];
			continue;
		}
		if (i + 1 == n || (p[i + 1] != '0' && p[i + 1] != '1'))
			return false;
		out[o++] = p[++i] == '1' ? '/' : '~';
	}
	out[o] = 0;
	return true;
}

/* An array index: "0" or digits without a leading zero, in range. */
static const cJSON *mmds_index(const cJSON *arr, const char *tok)
{
	size_t idx = 0, n = strlen(tok);

	if (!n || n > 9 || (n > 1 && tok[0] == '0'))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return NULL;
		idx = idx * 10 + (size_t)(tok[i] - '0');
	}
	return idx < (size_t)cJSON_GetArraySize(arr) ? cJSON_GetArrayItem(arr, (int)idx) : NULL;
}

static const cJSON *mmds_lookup(const cJSON *doc, const char *path)
{
	size_t len = strlen(path);
	char *tok = malloc(len + 1);
	const cJSON *v = doc;

	if (!tok)
		return NULL;
	if (len && path[len - 1] == '/')
		len--;
	for (size_t i = 0; v && i < len;) {
		size_t j;

		if (path[i] != '/') {
			v = NULL;
			break;
		}
		for (j = ++i; j < len && path[j] != '/'; j++)
			;
		if (!mmds_token_unescape(path + i, j - i, tok))
			v = NULL;
		else if (cJSON_IsObject(v))
			v = cJSON_GetObjectItemCaseSensitive(v, tok);
		else if (cJSON_IsArray(v))
			v = mmds_index(v, tok);
		else
			v = NULL;
		i = j;
	}
	free(tok);
	return v;
}

/* IMDS text: a string as itself, an object as its keys one a line. */
static int mmds_imds_text(const cJSON *v, char **out)
{
	const cJSON *it;
	size_t len = 0;
	char *p;

	if (cJSON_IsString(v))
		return (*out = strdup(v->valuestring)) ? 0 : -ENOMEM;
	if (!cJSON_IsObject(v))
		return -ENOTSUP;
	cJSON_ArrayForEach(it, v) len += strlen(it->string) + 2;
	*out = p = malloc(len + 1);
	if (!p)
		return -ENOMEM;
	cJSON_ArrayForEach(it, v)
	{
		size_t n = strlen(it->string);

		if (p != *out)
			*p++ = '\n';
		memcpy(p, it->string, n);
		p += n;
		if (cJSON_IsObject(it))
			*p++ = '/';
	}
	*p = 0;
	return 0;
}

int mmds_store_get(struct mmds_store *s, const char *path, bool json, char **out)
{
	const cJSON *v;
	int err = -ENOENT;

	*out = NULL;
	pthread_mutex_lock(&s->lock);
	v = s->doc ? mmds_lookup(s->doc, path) : NULL;
	if (v && json && !s->imds_compat)
		err = (*out = cJSON_PrintUnformatted(v)) ? 0 : -ENOMEM;
	else if (v)
		err = mmds_imds_text(v, out);
	pthread_mutex_unlock(&s->lock);
	return err;
}

int mmds_store_token_new(struct mmds_store *s, u32 ttl, u64 now_ms, char *tok)
{
	static const char hex[] = "0123456789abcdef";
	u8 rnd[MMDS_TOKEN_CHARS / 2];
	struct mmds_token *slot;

	if (ttl < MMDS_TOKEN_TTL_MIN || ttl > MMDS_TOKEN_TTL_MAX)
		return -EINVAL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		tok[2 * i] = hex[rnd[i] >> 4];
		tok[2 * i + 1] = hex[rnd[i] & 15];
	}
	tok[MMDS_TOKEN_CHARS] = 0;
	pthread_mutex_lock(&s->lock);
	slot = &s->tokens[0];
	for (unsigned i = 0; i < MMDS_MAX_TOKENS; i++) {
		struct mmds_token *t = &s->tokens[i];
		if (t->expiry_ms <= now_ms) { /* free or expired */
			slot = t;
			break;
		}
		if (t->expiry_ms < slot->expiry_ms)
			slot = t;
	}
	memcpy(slot->hex, tok, MMDS_TOKEN_CHARS);
	slot->expiry_ms = now_ms + (u64)ttl * 1000;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

bool mmds_store_token_valid(struct mmds_store *s, const char *tok, size_t len, u64 now_ms)
{
	bool ok = false;

	if (len != MMDS_TOKEN_CHARS)
		return false;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < MMDS_MAX_TOKENS && !ok; i++) {
		const struct mmds_token *t = &s->tokens[i];
		u8 diff = 0;

		for (size_t j = 0; j < MMDS_TOKEN_CHARS; j++)
			diff |= (u8)(t->hex[j] ^ tok[j]);
		ok = !diff && t->expiry_ms > now_ms;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}
