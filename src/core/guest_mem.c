/* Guest memory mappings (RAM, the hot-plug area, pmem files) and the
 * checked gpa -> host pointer translation. */
#include "core/guest_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "popek/layout.h"

/* RAM on a 2 MiB boundary, so that it can be backed by huge pages
 * (guest_mem_huge()). */
static void *ram_map(u64 size)
{
	const u64 align = 2 * MiB;
	u8 *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	u8 *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (u8 *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + align > a)
		munmap(a + size, (size_t)(p + align - a));
	return a;
}

void guest_mem_huge(struct guest_mem *mem)
{
	madvise(mem->base, mem->map_size, MADV_HUGEPAGE);
}

/* Whether fd's pagemap says a page in use is present: a kernel (or a
 * sandbox) that answers zeroes would otherwise make every page look
 * untouched, and a snapshot would leave RAM out. */
static bool pagemap_works(int fd)
{
	volatile u8 probe = 1; /* on this thread's stack: in RAM now */
	u64 entry = 0;
	off_t off = (off_t)((uintptr_t)&probe / 4096 * 8);

	return pread(fd, &entry, 8, off) == 8 && (entry >> 63) && probe;
}

int guest_mem_init(struct guest_mem *mem, u64 ram_size)
{
	return guest_mem_init_hotplug(mem, ram_size, 0);
}

/* The first gpa at or above every region's end and 4 GiB, aligned. */
static u64 next_gpa(const struct guest_mem *mem, u64 align)
{
	u64 end = LAYOUT_HIGH_RAM_START;

	for (unsigned i = 0; i < mem->nr_mapped; i++)
		end = MAX(end, mem->regions[i].gpa + mem->regions[i].size);
	return (end + align - 1) & ~(align - 1);
}

int guest_mem_init_hotplug(struct guest_mem *mem, u64 ram_size, u64 hotplug_size)
{
	u64 low;
	void *p;

	memset(mem, 0, sizeof(*mem));
	mem->hotplug = -1;
	if (ram_size < 2 * MiB || ram_size % (4 * KiB) || hotplug_size % (2 * MiB) ||
	    ram_size > GUEST_MEM_MAX_GPA || hotplug_size > GUEST_MEM_MAX_GPA)
		return -EINVAL;
	p = ram_map(ram_size + hotplug_size);
	if (!p)
		return -ENOMEM;
	mem->base = p;
	mem->ram_size = ram_size;
	mem->map_size = ram_size + hotplug_size;
	mem->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	mem->has_pagemap = mem->pagemap_fd >= 0;
	if (mem->has_pagemap && !pagemap_works(mem->pagemap_fd)) {
		close(mem->pagemap_fd);
		mem->has_pagemap = false;
	}
	low = MIN(ram_size, LAYOUT_MMIO_HOLE_START);
	mem->regions[0] = (struct guest_mem_region){0, low, mem->base, 0};
	mem->nr_regions = 1;
	if (ram_size > low) {
		mem->regions[1] = (struct guest_mem_region){
			LAYOUT_HIGH_RAM_START, ram_size - low, mem->base + low, 0};
		mem->nr_regions = 2;
	}
	mem->nr_mapped = mem->nr_regions;
	if (hotplug_size) {
		gpa_t at = next_gpa(mem, GUEST_MEM_HOTPLUG_ALIGN);

		if (at + hotplug_size > GUEST_MEM_MAX_GPA) {
			guest_mem_destroy(mem);
			mem->hotplug = -1;
			return -E2BIG;
		}
		mem->hotplug = (int)mem->nr_mapped;
		mem->regions[mem->nr_mapped++] =
		    (struct guest_mem_region){at, hotplug_size, mem->base + ram_size, 0};
	}
	return 0;
}

int guest_mem_add_file(struct guest_mem *mem, int fd, u64 size, bool read_only)
{
	u64 len = (size + 2 * MiB - 1) & ~(2 * MiB - 1);
	gpa_t at = next_gpa(mem, GUEST_MEM_FILE_ALIGN);
	u8 *p;

	if (!size)
		return -EINVAL;
	if (mem->nr_mapped == GUEST_MEM_MAX_REGIONS || len > GUEST_MEM_MAX_GPA ||
	    at + len > GUEST_MEM_MAX_GPA)
		return -E2BIG;
	/* Zeroes for the padding, then the file over its start. */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (mmap(p, size, PROT_READ | PROT_WRITE, (read_only ? MAP_PRIVATE : MAP_SHARED) | MAP_FIXED,
		 fd, 0) == MAP_FAILED) {
		int err = -errno;
		munmap(p, len);
		return err;
	}
	mem->regions[mem->nr_mapped] = (struct guest_mem_region){
	    at, len, p, GUEST_MEM_FILE | (read_only ? GUEST_MEM_READONLY : 0)};
	return (int)mem->nr_mapped++;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->nr_mapped; i++)
		if (mem->regions[i].flags & GUEST_MEM_FILE)
			munmap(mem->regions[i].host, mem->regions[i].size);
	if (mem->base)
		munmap(mem->base, mem->map_size);
	if (mem->has_pagemap)
		close(mem->pagemap_fd);
	free(mem->dirty);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr_flags(const struct guest_mem *mem, gpa_t gpa, u64 len, u32 *flags)
{
	if (!len)
		len = 1;
	for (unsigned i = 0; i < mem->nr_mapped; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		/* Written so that no addition can overflow: off < size, len <= size - off. */
		if (gpa < r->gpa)
			continue;
		u64 off = gpa - r->gpa;
		if (off >= r->size || len > r->size - off)
			continue;
		*flags = r->flags;
		return r->host + off;
	}
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, gpa_t gpa, u64 len)
{
	u32 flags;

	return guest_mem_ptr_flags(mem, gpa, len, &flags);
}

int guest_mem_read(const struct guest_mem *mem, gpa_t gpa, void *dst, u64 len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, gpa_t gpa, const void *src, u64 len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	guest_mem_dirty(mem, gpa, len);
	return 0;
}

u64 guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->regions[0].size;
}

/* True when the 4 KiB page at p holds only zeroes. */
static bool page_zero(const u8 *p)
{
	const u64 *q = (const u64 *)p;

	for (unsigned i = 0; i < 4096 / 8; i++)
		if (q[i])
			return false;
	return true;
}

static int write_all(int fd, const u8 *p, u64 len, u64 off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, MIN(len, 1ULL << 30), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (u64)n;
		len -= (u64)n;
	}
	return 0;
}

/* Pagemap entries (Documentation/admin-guide/mm/pagemap.rst): bit 63 the
 * page is in RAM, bit 62 in swap. An anonymous page with neither was never
 * written (or was discarded): it reads as zeroes. */
#define PAGEMAP_BATCH 512

/* Whether the page at off may hold data: from pagemap where it can tell,
 * else by reading it. map caches one batch of entries from map_off. */
static bool page_used(const struct guest_mem *mem, u64 off, u64 *map, u64 *map_off)
{
	if (mem->has_pagemap && !mem->file_backed) {
		u64 page = ((uintptr_t)mem->base + off) / 4096;

		if (*map_off == UINT64_MAX || page < *map_off || page >= *map_off + PAGEMAP_BATCH) {
			ssize_t n = pread(mem->pagemap_fd, map, PAGEMAP_BATCH * 8, (off_t)(page * 8));

			if (n != PAGEMAP_BATCH * 8)
				memset(map, 0xff, PAGEMAP_BATCH * 8); /* unknown: read the pages */
			*map_off = page;
		}
		if (!(map[page - *map_off] >> 62))
			return false;
	}
	return !page_zero(mem->base + off);
}

/* Makes fd a map_size file holding the pages keep() says (the rest holes),
 * written in runs, and syncs it. */
static int save_runs(const struct guest_mem *mem, int fd, u64 *written,
		     bool (*keep)(const struct guest_mem *mem, u64 off, void *ctx), void *ctx)
{
	u64 run = 0, len = 0;
	int err;

	*written = 0;
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)mem->map_size) < 0)
		return -errno;
	for (u64 off = 0; off <= mem->map_size; off += 4096) {
		if (off < mem->map_size && keep(mem, off, ctx)) {
			if (!len)
				run = off;
			len += 4096;
			continue;
		}
		if (!len)
			continue;
		err = write_all(fd, mem->base + run, len, run);
		if (err < 0)
			return err;
		*written += len;
		len = 0;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

struct pagemap_cache {
	u64 off, map[PAGEMAP_BATCH];
};

static bool keep_used(const struct guest_mem *mem, u64 off, void *ctx)
{
	struct pagemap_cache *c = ctx;

	return page_used(mem, off, c->map, &c->off);
}

int guest_mem_save(const struct guest_mem *mem, int fd, u64 *written)
{
	struct pagemap_cache c = {.off = UINT64_MAX};

	return save_runs(mem, fd, written, keep_used, &c);
}

void guest_mem_used_pages(const struct guest_mem *mem, u64 *out)
{
	struct pagemap_cache c = {.off = UINT64_MAX};

	for (u64 off = 0; off < mem->map_size; off += 4096)
		if (keep_used(mem, off, &c))
			out[off / 4096 / 64] |= 1ULL << (off / 4096 % 64);
}

static bool keep_marked(const struct guest_mem *mem, u64 off, void *ctx)
{
	const u64 *pages = ctx;

	(void)mem;
	return pages[off / 4096 / 64] >> (off / 4096 % 64) & 1;
}

int guest_mem_save_pages(const struct guest_mem *mem, int fd, const u64 *pages, u64 *written)
{
	return save_runs(mem, fd, written, keep_marked, (void *)pages);
}

int guest_mem_map_file(struct guest_mem *mem, int fd)
{
	struct stat sb;
	void *p;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) || (u64)sb.st_size != mem->map_size)
		return -EMSGSIZE;
	p = mmap(mem->base, mem->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	mem->file_backed = true;
	return 0;
}
