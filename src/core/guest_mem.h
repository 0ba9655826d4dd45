/* Guest RAM: one anonymous mapping split around the MMIO hole (and, after
 * RAM, the hot-plug area of virtio-mem), the files mapped for virtio-pmem,
 * and the only checked way to turn a guest physical address into a host
 * pointer. */
#ifndef POPEK_GUEST_MEM_H
#define POPEK_GUEST_MEM_H

#include "popek/types.h"

/* Region flags. A FILE region is a mapping of its own (a pmem file), not
 * part of the memory file, the dirty log or a migration's pages: its
 * bytes are the user's file. */
#define GUEST_MEM_FILE 1u
#define GUEST_MEM_READONLY 2u /* the guest's CPU writes are dropped (KVM: a read-only slot) */

#define GUEST_MEM_MAX_FILES 8 /* pmem devices */
#define GUEST_MEM_MAX_REGIONS (3 + GUEST_MEM_MAX_FILES)

struct guest_mem_region {
	gpa_t gpa;     /* first guest physical address */
	u64 size;      /* bytes */
	u8 *host;      /* host address of gpa */
	u32 flags;     /* GUEST_MEM_* */
};

/* Called after a device wrote guest RAM directly (DMA); gpa 0 and len 0:
 * somewhere, not said where. */
typedef void guest_mem_written_fn(void *opaque, gpa_t gpa, u64 len);

struct guest_mem {
	u8 *base;      /* RAM and the hot-plug area (munmap'ed by guest_mem_destroy) */
	u64 ram_size;  /* boot RAM bytes (the e820 map's; sum of the RAM regions) */
	u64 map_size;  /* ram_size + the hot-plug area: the memory file's size */
	unsigned nr_regions; /* RAM regions: regions[0..nr_regions) */
	unsigned nr_mapped;  /* every region guest_mem_ptr finds: RAM, hot-plug, files */
	/* Low RAM, RAM above 4 GiB, then the hot-plug area (if any), then the
	 * pmem files in the order they were added. */
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	int hotplug;   /* index of the hot-plug area in regions, or -1 */
	/* Set by an engine that caches guest code (the soft engine's
	 * translator) before any device runs; NULL: nobody listens. */
	guest_mem_written_fn *dma_written;
	void *dma_opaque;
	/* /proc/self/pagemap, opened by guest_mem_init (before any seccomp
	 * filter) so a snapshot skips the pages never touched. */
	bool has_pagemap;
	int pagemap_fd;
	bool file_backed; /* RAM maps a snapshot's memory file (guest_mem_map_file) */
	/* Dirty log (Diff snapshots, migration; guest_mem_dirty.c): bit n set
	 * when RAM page n (the memory file's page n, base + n * 4096) may have
	 * been written since the log was last taken. NULL: not logging. */
	u64 *dirty;
};

/* The dirty log (guest_mem_dirty.c). Who writes RAM marks what it wrote:
 * the engines for the guest's writes (the soft engine in its TLB's slow
 * path, KVM through its own log, folded in by dirty_log_sync), devices
 * through virtq_push and guest_mem_dma_written, the rest through
 * guest_mem_write or guest_mem_dirty. A page is marked after it is
 * written, so a page taken while a write is under way is marked again. */
int guest_mem_dirty_start(struct guest_mem *mem); /* 0 or -ENOMEM; idempotent */
void guest_mem_dirty_mark(const struct guest_mem *mem, gpa_t gpa, u64 len);
/* The same for host bytes inside RAM (a device's iovec); others ignored. */
void guest_mem_dirty_mark_host(const struct guest_mem *mem, const void *p, u64 len);
/* Words of a bitmap with one bit per page of the memory file (map_size /
 * 4096 bits: RAM, then the hot-plug area). */
u64 guest_mem_dirty_words(const struct guest_mem *mem);
/* Moves the log into out (ORs it in, leaves the log empty); returns the
 * number of pages set in out. */
u64 guest_mem_dirty_take(struct guest_mem *mem, u64 *out);
/* Sets in out (guest_mem_dirty_words words) the RAM pages that may hold
 * something but zeroes: what a Full snapshot writes, a migration sends first. */
void guest_mem_used_pages(const struct guest_mem *mem, u64 *out);
/* Puts pages taken back into the log (a save that failed). */
void guest_mem_dirty_merge(const struct guest_mem *mem, const u64 *pages);
/* Writes the RAM pages set in pages (guest_mem_dirty_words words) to fd at
 * their offsets in the memory file, which is made map_size bytes long with
 * every other page a hole (Firecracker's Diff memory file), and syncs it;
 * *written: bytes written. Returns 0 or -errno. */
int guest_mem_save_pages(const struct guest_mem *mem, int fd, const u64 *pages, u64 *written);

static inline void guest_mem_dirty(const struct guest_mem *mem, gpa_t gpa, u64 len)
{
	if (__builtin_expect(mem->dirty != NULL, 0))
		guest_mem_dirty_mark(mem, gpa, len);
}

/* Devices call this after writing guest RAM through guest_mem_ptr() (gpa
 * and len 0: somewhere; the dirty log then needs its own marks). */
static inline void guest_mem_dma_written(const struct guest_mem *mem, gpa_t gpa, u64 len)
{
	if (len)
		guest_mem_dirty(mem, gpa, len);
	if (mem->dma_written)
		mem->dma_written(mem->dma_opaque, gpa, len);
}

/* Maps ram_size bytes (lazily populated, MAP_NORESERVE) and lays them out:
 * low RAM up to LAYOUT_MMIO_HOLE_START, the rest from 4 GiB. ram_size must
 * be a multiple of 4 KiB and at least 2 MiB. Returns 0 or -errno
 * (-EINVAL for a bad size, -ENOMEM when the host cannot map it). */
int guest_mem_init(struct guest_mem *mem, u64 ram_size);
/* The same with a hot-plug area of hotplug_size bytes (a multiple of
 * 2 MiB, 0: none) mapped after RAM in the same mapping
 * and placed in guest physical memory at the first GUEST_MEM_HOTPLUG_ALIGN
 * boundary at or above 4 GiB and the end of RAM. Not in the e820 map: the
 * virtio-mem device hands it out. */
#define GUEST_MEM_HOTPLUG_ALIGN (1ULL << 30)
int guest_mem_init_hotplug(struct guest_mem *mem, u64 ram_size, u64 hotplug_size);
/* Maps size bytes of fd (from offset 0) as a region after every other,
 * at a GUEST_MEM_FILE_ALIGN boundary, its length rounded up to 2 MiB
 * (anonymous zeroes past the file's end, which never reach it). Shared
 * (the guest's writes reach the file) unless read_only: then private, the
 * CPU's writes dropped by the engines and a device's landing in private
 * pages. Must come before the engine maps memory. Returns the region's
 * index, or -E2BIG (too many files, or past the guest physical address
 * space), -EINVAL (size 0), or -errno of mmap. */
#define GUEST_MEM_FILE_ALIGN (128ULL << 20)
#define GUEST_MEM_MAX_GPA (1ULL << 39) /* the soft engine's MAXPHYADDR */
int guest_mem_add_file(struct guest_mem *mem, int fd, u64 size, bool read_only);
/* Marks RAM for transparent huge pages (a hint: without THP it stays 4 KiB
 * pages): the guest's first touch of its memory costs one host page fault
 * per 2 MiB instead of one per 4 KiB, and the host's TLB reaches 512 times
 * further into it (the soft engine's accesses, KVM's nested page tables).
 * Not with a balloon: khugepaged fills the holes it punches back in. */
void guest_mem_huge(struct guest_mem *mem);
void guest_mem_destroy(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) or NULL when any byte of that range is not
 * guest memory (MMIO hole, beyond every region, u64 overflow) or the range
 * spans two regions. len 0 is treated as 1. The pointer stays valid for the
 * machine's life. */
void *guest_mem_ptr(const struct guest_mem *mem, gpa_t gpa, u64 len);
/* The same, and *flags gets the region's GUEST_MEM_* flags (an engine's
 * TLB must not cache a write to a READONLY region). */
void *guest_mem_ptr_flags(const struct guest_mem *mem, gpa_t gpa, u64 len, u32 *flags);
/* Whether region i's pages are in the memory file (RAM, hot-plug area). */
static inline bool guest_mem_in_file(const struct guest_mem *mem, unsigned i)
{
	return !(mem->regions[i].flags & GUEST_MEM_FILE);
}

/* Copy helpers over guest_mem_ptr(); return 0 or -EFAULT. */
int guest_mem_read(const struct guest_mem *mem, gpa_t gpa, void *dst, u64 len);
int guest_mem_write(const struct guest_mem *mem, gpa_t gpa, const void *src, u64 len);

/* Snapshots' memory file (issue 12): RAM's bytes in guest order, low RAM
 * then the RAM above 4 GiB, then the hot-plug area, map_size bytes (the
 * pmem files are the user's). save makes fd exactly that
 * (pages of zeroes left as holes), syncs it, and counts the bytes written
 * in *written. map_file maps a file of that size in place of RAM, private
 * and lazily: a restore reads only the pages the guest touches, and the
 * guest's writes never reach the file. Both return 0 or -errno (map_file:
 * -EMSGSIZE when the file is not a regular file of map_size bytes). */
int guest_mem_save(const struct guest_mem *mem, int fd, u64 *written);
int guest_mem_map_file(struct guest_mem *mem, int fd);
/* The highest gpa + 1 of low RAM (where the MMIO hole or the end of RAM starts). */
u64 guest_mem_low_end(const struct guest_mem *mem);

#endif
