/* The code cache's two mappings of one memfd (W^X), the data area right
 * after the executable one, and their bump allocators. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/soft/jit/cache.h"

int jit_cache_init(struct jit_cache *c, size_t size)
{
	int err;

	c->size = ALIGN_UP(size, 4096);
	c->data_size = ALIGN_UP(c->size / 4, 4096);
	c->used = c->data_used = 0;
	c->flushes = 0;
	c->rw = c->rx = c->data = MAP_FAILED;
	c->fd = memfd_create("popek-jit", MFD_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	if (ftruncate(c->fd, (off_t)c->size) < 0)
		goto fail;
	c->rw = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->rw == MAP_FAILED)
		goto fail;
	/* One reservation for both, so that code reaches its data RIP-relative. */
	u8 *area = mmap(NULL, c->size + c->data_size, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		goto fail;
	c->rx = mmap(area, c->size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, c->fd, 0);
	c->data = mmap(area + c->size, c->data_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (c->rx == MAP_FAILED || c->data == MAP_FAILED) {
		err = -errno;
		munmap(area, c->size + c->data_size);
		c->rx = c->data = MAP_FAILED;
		jit_cache_destroy(c);
		return err;
	}
	return 0;
fail:
	err = -errno;
	jit_cache_destroy(c);
	return err;
}

void jit_cache_destroy(struct jit_cache *c)
{
	if (c->rw != MAP_FAILED && c->rw)
		munmap(c->rw, c->size);
	if (c->rx != MAP_FAILED && c->rx)
		munmap(c->rx, c->size);
	if (c->data != MAP_FAILED && c->data)
		munmap(c->data, c->data_size);
	if (c->fd >= 0)
		close(c->fd);
	c->rw = c->rx = c->data = MAP_FAILED;
	c->fd = -1;
}

void jit_cache_begin(struct jit_cache *c, struct jit_emit *e)
{
	jit_emit_init(e, c->rw + c->used, c->size - c->used, c->rx - c->rw);
	e->data = c->data + c->data_used;
	e->data_end = c->data + c->data_size;
}

void *jit_cache_commit(struct jit_cache *c, const struct jit_emit *e)
{
	size_t len = jit_emit_len(e);
	u8 *code = c->rx + c->used;

	if (e->full || !len)
		return NULL;
	/* x86 keeps instruction fetch coherent with stores to the same
	 * physical page, through either mapping (Intel SDM Vol. 3A 8.1.3): the
	 * call into the new code is enough. */
	c->used = MIN(c->size, ALIGN_UP(c->used + len, 16));
	c->data_used = (size_t)(e->data - c->data);
	return code;
}

void jit_cache_flush(struct jit_cache *c)
{
	c->used = c->data_used = 0;
	c->flushes++;
}
