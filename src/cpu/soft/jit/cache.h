/* The translator's code cache: one per vCPU, a fixed size, flushed whole
 * when full. Its memory is a memfd mapped twice, writable at one address and
 * executable at another, so no page is ever writable and executable at once
 * (W^X) and no mprotect() is needed while the guest runs. A data area (a
 * quarter of the code's size, writable, never executable) follows the
 * executable view, within reach of the code's RIP-relative loads. */
#ifndef POPEK_JIT_CACHE_H
#define POPEK_JIT_CACHE_H

#include "cpu/soft/jit/emit.h"

struct jit_cache {
	int fd;
	u8 *rw, *rx;  /* the two views of the same pages */
	size_t size, used;
	/* Data translated code reads and soft_exec() writes (link sites'
	 * fields): not executable, so writing it does not disturb the code. */
	u8 *data;
	size_t data_size, data_used;
	u64 flushes;
};

/* size: bytes, rounded up to whole pages. Returns 0 or -errno. Called
 * before the seccomp filters go on (memfd_create, mmap). */
int jit_cache_init(struct jit_cache *c, size_t size);
void jit_cache_destroy(struct jit_cache *c);
/* An emitter over the free space. */
void jit_cache_begin(struct jit_cache *c, struct jit_emit *e);
/* Keeps what e wrote (aligned to 16 bytes); returns its executable address,
 * or NULL when it did not fit (e->full): the caller may flush and retry. */
void *jit_cache_commit(struct jit_cache *c, const struct jit_emit *e);
/* Forgets all code; whoever holds pointers into it must drop them first. */
void jit_cache_flush(struct jit_cache *c);

#endif
