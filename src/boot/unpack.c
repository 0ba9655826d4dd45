/* Host-side unpacking of a bzImage's LZ4 payload into its ELF vmlinux, entered through PVH. */
#include <elf.h>
#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot/loader.h"
#include "popek/layout.h"
#include "popek/log.h"

/* boot.rst "Details of Header Fields": payload_offset is relative to the
 * protected-mode code (the file offset setup_size), protocol 2.08+. */
#define BP_PAYLOAD_OFFSET  0x248
#define BP_PAYLOAD_LENGTH  0x24c
#define LINUX_VERSION_PAYL 0x0208

/* The LZ4 "legacy frame" that the kernel's lz4 -l builds (lib/decompress_unlz4.c):
 * a magic word, then blocks of {u32 compressed size, data} each unpacking to at
 * most 8 MiB; a repeated magic word starts another frame. The build appends the
 * unpacked size as a u32 (scripts/Makefile.lib size_append). */
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8 * MiB)
#define UNPACK_MAX       (1024 * MiB)

int linux_unlz4(const u8 *in, u64 len, u8 **out, u64 *out_len)
{
	u64 size, pos = 4, done = 0;
	u8 *buf;

	*out = NULL;
	*out_len = 0;
	if (len < 12 || get_le32(in) != LZ4_LEGACY_MAGIC)
		return -EINVAL;
	size = get_le32(in + len - 4);
	len -= 4; /* the size trailer */
	if (!size || size > UNPACK_MAX)
		return -EINVAL;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	while (pos < len) {
		u64 csize;
		int n;

		if (len - pos < 4)
			goto bad;
		csize = get_le32(in + pos);
		pos += 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (!csize || csize > len - pos || csize > (u64)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			goto bad;
		n = LZ4_decompress_safe((const char *)in + pos, (char *)buf + done, (int)csize,
					(int)MIN(size - done, (u64)LZ4_LEGACY_BLOCK));
		if (n <= 0)
			goto bad;
		done += (u64)n;
		pos += csize;
	}
	if (done != size)
		goto bad;
	*out = buf;
	*out_len = size;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* True when pvh_load() will accept the command line and initrd for a
 * kernel ending at end (the checks of boot_cmdline_write and
 * boot_initrd_load, without their error messages: when this says no, the
 * normal bzImage path runs and reports the problem once). */
static bool unpacked_fits(const struct guest_mem *mem, const struct vm_config *cfg, u64 end)
{
	u64 hi = guest_mem_low_end(mem), lo = ALIGN_UP(end, 4096);
	struct stat st;

	if (cfg->cmdline && strlen(cfg->cmdline) > LAYOUT_CMDLINE_MAX - 1)
		return false;
	if (!cfg->initrd_path || !cfg->initrd_path[0])
		return true;
	if (stat(cfg->initrd_path, &st) || !S_ISREG(st.st_mode) || st.st_size < 0)
		return false;
	return (u64)st.st_size <= hi && ALIGN_DOWN(hi - (u64)st.st_size, 4096) >= lo;
}

int linux_load_unpacked(struct guest_mem *mem, const struct vm_config *cfg,
			const struct boot_file *f, const struct linux_header *h,
			struct boot_result *out)
{
	struct boot_file vmlinux = {.path = f->path};
	struct elf_image img;
	u64 off, len;
	int r;

	if (h->version < LINUX_VERSION_PAYL || h->hdr_end < BP_PAYLOAD_LENGTH + 4)
		return -ENOTSUP;
	off = h->setup_size + get_le32(f->data + BP_PAYLOAD_OFFSET);
	len = get_le32(f->data + BP_PAYLOAD_LENGTH);
	if (off > f->size || len > f->size - off)
		return -ENOTSUP;
	r = linux_unlz4(f->data + off, len, &vmlinux.data, &vmlinux.size);
	if (r)
		return r == -ENOMEM ? r : -ENOTSUP;
	/* Only a kernel this path is sure to place: an x86-64 ELF with a PVH
	 * entry that fits in low RAM; anything else boots the normal way. */
	r = -ENOTSUP;
	if (!elf_is_elf(vmlinux.data, vmlinux.size))
		goto out;
	if (elf_parse(f->path, vmlinux.data, vmlinux.size, &img))
		goto out;
	if (!img.is64 || img.machine != EM_X86_64 || !img.has_pvh ||
	    img.hi > guest_mem_low_end(mem) || img.lo < LAYOUT_KERNEL ||
	    !unpacked_fits(mem, cfg, img.hi))
		goto out;
	r = pvh_load(mem, cfg, &vmlinux, &img, out);
	if (!r)
		log_info("kernel '%s': LZ4 payload unpacked on the host (%llu MiB), PVH entry %#x",
			 f->path, boot_mib(vmlinux.size), img.pvh_entry);
out:
	free(vmlinux.data);
	return r;
}
