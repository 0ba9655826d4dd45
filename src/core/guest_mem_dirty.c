/* The dirty log of guest RAM (Diff snapshots, migration): one bit per 4 KiB
 * RAM page, set atomically from any thread, taken by the one that saves. */
#include <errno.h>
#include <stdlib.h>

#include "core/guest_mem.h"

u64 guest_mem_dirty_words(const struct guest_mem *mem)
{
	return (mem->map_size / 4096 + 63) / 64;
}

int guest_mem_dirty_start(struct guest_mem *mem)
{
	if (mem->dirty)
		return 0;
	mem->dirty = calloc(guest_mem_dirty_words(mem), sizeof(u64));
	return mem->dirty ? 0 : -ENOMEM;
}

/* Marks RAM pages [off, off + len) of the memory file's order. */
static void mark_off(const struct guest_mem *mem, u64 off, u64 len)
{
	u64 first = off / 4096, last = (off + len - 1) / 4096;

	for (u64 pg = first; pg <= last; pg++) {
		u64 bit = 1ULL << (pg % 64);
		u64 *w = &mem->dirty[pg / 64];

		if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
			__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST);
	}
}

void guest_mem_dirty_mark(const struct guest_mem *mem, gpa_t gpa, u64 len)
{
	if (!mem->dirty)
		return;
	if (!len)
		len = 1;
	/* A range past 2^64 ends there: its RAM part is still written. */
	u64 last = gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1;
	for (unsigned i = 0; i < mem->nr_mapped; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		u64 start, end;

		if (!guest_mem_in_file(mem, i))
			continue;
		/* The part of [gpa, last] inside r. */
		if (gpa >= r->gpa + r->size || last < r->gpa)
			continue;
		start = MAX(gpa, r->gpa);
		end = MIN(last, r->gpa + r->size - 1);
		mark_off(mem, (u64)(r->host - mem->base) + (start - r->gpa), end - start + 1);
	}
}

void guest_mem_dirty_mark_host(const struct guest_mem *mem, const void *p, u64 len)
{
	const u8 *b = p;

	if (!mem->dirty || !len || b < mem->base || b >= mem->base + mem->map_size ||
	    len > (u64)(mem->base + mem->map_size - b))
		return;
	mark_off(mem, (u64)(b - mem->base), len);
}

u64 guest_mem_dirty_take(struct guest_mem *mem, u64 *out)
{
	u64 n = 0, words = guest_mem_dirty_words(mem);

	for (u64 i = 0; i < words; i++) {
		if (mem->dirty && __atomic_load_n(&mem->dirty[i], __ATOMIC_RELAXED))
			out[i] |= __atomic_exchange_n(&mem->dirty[i], 0, __ATOMIC_SEQ_CST);
		n += (u64)__builtin_popcountll(out[i]);
	}
	return n;
}

void guest_mem_dirty_merge(const struct guest_mem *mem, const u64 *pages)
{
	for (u64 i = 0; mem->dirty && i < guest_mem_dirty_words(mem); i++)
		if (pages[i])
			__atomic_fetch_or(&mem->dirty[i], pages[i], __ATOMIC_SEQ_CST);
}
