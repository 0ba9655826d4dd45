/* A bzImage payload unpacked on the host: format dispatch, and the vmlinux entered by PVH. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "boot/loader.h"
#include "boot/unpack.h"
#include "popek/layout.h"
#include "popek/log.h"

/* boot.rst "Details of Header Fields": payload_offset is relative to the
 * protected-mode code (the file offset setup_size), protocol 2.08+. */
#define BP_PAYLOAD_OFFSET  0x248
#define BP_PAYLOAD_LENGTH  0x24c
#define LINUX_VERSION_PAYL 0x0208

/* Shorter than any real payload: a magic and the size word at least. */
#define UNPACK_MIN_LEN 16

/* The magic bytes each format starts with (boot.rst "payload_offset": "the
 * payload may be compressed. The format of both the compressed and
 * uncompressed data should be determined using the standard magic
 * numbers"). trailer: the size word follows the stream (size_append) rather
 * than ending it (gzip's ISIZE). */
static const struct unpack_codec {
	enum unpack_format format;
	const char *name;
	u8 magic[6];
	u8 magic_len;
	bool trailer;
	unpack_fn *unpack;
} unpack_codecs[] = {
    {UNPACK_LZ4, "LZ4", {0x02, 0x21, 0x4c, 0x18}, 4, true, unpack_lz4},
    {UNPACK_XZ, "XZ", {0xfd, '7', 'z', 'X', 'Z', 0x00}, 6, true, unpack_xz},
    /* 1f 8b, then CM = 8 (deflate), the only method gzip defines */
    {UNPACK_GZIP, "gzip", {0x1f, 0x8b, 0x08}, 3, false, unpack_gzip},
    {UNPACK_ZSTD, "zstd", {0x28, 0xb5, 0x2f, 0xfd}, 4, true, unpack_zstd},
};

static const struct unpack_codec *unpack_codec_of(const u8 *in, u64 len)
{
	for (size_t i = 0; i < ARRAY_SIZE(unpack_codecs); i++) {
		const struct unpack_codec *c = &unpack_codecs[i];

		if (len >= c->magic_len && !memcmp(in, c->magic, c->magic_len))
			return c;
	}
	return NULL;
}

enum unpack_format unpack_identify(const u8 *in, u64 len)
{
	const struct unpack_codec *c = unpack_codec_of(in, len);

	return c ? c->format : UNPACK_UNKNOWN;
}

const char *unpack_format_name(enum unpack_format format)
{
	for (size_t i = 0; i < ARRAY_SIZE(unpack_codecs); i++)
		if (unpack_codecs[i].format == format)
			return unpack_codecs[i].name;
	return "unknown";
}

int unpack_payload(const u8 *in, u64 len, u64 max, u8 **out, u64 *out_len,
		   enum unpack_format *format)
{
	const struct unpack_codec *c = unpack_codec_of(in, len);
	u64 size;
	u8 *buf;
	int r;

	*out = NULL;
	*out_len = 0;
	if (format)
		*format = c ? c->format : UNPACK_UNKNOWN;
	if (!c)
		return -ENOTSUP;
	if (len < UNPACK_MIN_LEN)
		return -EINVAL;
	size = get_le32(in + len - 4);
	if (!size)
		return -EINVAL;
	if (size > max)
		return -EFBIG;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	r = c->unpack(in, c->trailer ? len - 4 : len, buf, size);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = size;
	return 0;
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

static double unpack_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int linux_load_unpacked(struct guest_mem *mem, const struct vm_config *cfg,
			const struct boot_file *f, const struct linux_header *h,
			struct boot_result *out)
{
	struct boot_file vmlinux = {.path = f->path};
	enum unpack_format format;
	struct elf_image img;
	u64 off, len, max;
	double t;
	int r;

	if (h->version < LINUX_VERSION_PAYL || h->hdr_end < BP_PAYLOAD_LENGTH + 4)
		return -ENOTSUP;
	off = h->setup_size + get_le32(f->data + BP_PAYLOAD_OFFSET);
	len = get_le32(f->data + BP_PAYLOAD_LENGTH);
	if (off > f->size || len > f->size - off)
		return -ENOTSUP;
	/* A vmlinux larger than low RAM could not be placed anyway: that caps
	 * what a decompression bomb can make popek allocate and write. */
	max = MIN((u64)UNPACK_MAX, guest_mem_low_end(mem));
	t = unpack_now();
	r = unpack_payload(f->data + off, len, max, &vmlinux.data, &vmlinux.size, &format);
	t = unpack_now() - t;
	if (r) {
		/* Info only: the kernel's own decompressor still boots it. */
		if (r == -ENOTSUP)
			log_info("kernel '%s': payload format not unpacked on the host; the "
				 "kernel decompresses itself",
				 f->path);
		else if (r == -EFBIG)
			log_info(
			    "kernel '%s': %s payload unpacks to more than %llu MiB; the kernel "
			    "decompresses itself",
			    f->path, unpack_format_name(format), boot_mib(max));
		else
			log_info("kernel '%s': %s payload not unpacked on the host (%s); the "
				 "kernel decompresses itself",
				 f->path, unpack_format_name(format),
				 r == -ENOMEM ? "out of memory" : "truncated or corrupt");
		return r == -ENOMEM ? r : -ENOTSUP;
	}
	/* Only a kernel this path is sure to place: an x86-64 ELF with a PVH
	 * entry that fits in low RAM; anything else boots the normal way. */
	if (!elf_is_elf(vmlinux.data, vmlinux.size) ||
	    elf_parse(f->path, vmlinux.data, vmlinux.size, &img) || !img.is64 ||
	    img.machine != EM_X86_64 || !img.has_pvh || img.hi > guest_mem_low_end(mem) ||
	    img.lo < LAYOUT_KERNEL || !unpacked_fits(mem, cfg, img.hi)) {
		log_info("kernel '%s': the unpacked %s payload is not an x86-64 ELF with a PVH "
			 "entry that fits in guest RAM; the kernel decompresses itself",
			 f->path, unpack_format_name(format));
		r = -ENOTSUP;
		goto out;
	}
	r = pvh_load(mem, cfg, &vmlinux, &img, out);
	if (!r)
		log_info("kernel '%s': %s payload unpacked on the host (%llu MiB in %.2f s), "
			 "PVH entry %#x",
			 f->path, unpack_format_name(format), boot_mib(vmlinux.size), t,
			 img.pvh_entry);
out:
	free(vmlinux.data);
	return r;
}
