/* ELF32/ELF64 executable parser (program headers, PVH note) and segment loader. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/loader.h"
#include "popek/log.h"

#define ELF_MAX_PHDRS            128
#define XEN_ELFNOTE_PHYS32_ENTRY 18 /* xen/include/public/elfnote.h */

bool elf_is_elf(const u8 *buf, u64 len)
{
	return len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG);
}

/* One program header of either class, widened to 64 bits. */
struct elf_phdr {
	u32 type;
	u64 offset, vaddr, paddr, filesz, memsz;
};

static void elf_read_phdr(const u8 *p, bool is64, struct elf_phdr *ph)
{
	if (is64) {
		ph->type = get_le32(p);
		ph->offset = get_le64(p + 8);
		ph->vaddr = get_le64(p + 16);
		ph->paddr = get_le64(p + 24);
		ph->filesz = get_le64(p + 32);
		ph->memsz = get_le64(p + 40);
	} else {
		ph->type = get_le32(p);
		ph->offset = get_le32(p + 4);
		ph->vaddr = get_le32(p + 8);
		ph->paddr = get_le32(p + 12);
		ph->filesz = get_le32(p + 16);
		ph->memsz = get_le32(p + 20);
	}
}

/* True when [off, off+size) lies inside a buffer of len bytes. */
static bool elf_in_file(u64 off, u64 size, u64 len)
{
	return off <= len && size <= len - off;
}

/* Walks the notes of one PT_NOTE segment (ELF gABI "Note Section"): namesz,
 * descsz, type, then name and desc, each padded to 4 bytes. */
static void elf_scan_notes(const u8 *p, u64 len, struct elf_image *img)
{
	u64 off = 0;

	while (len - off >= 12) {
		u64 namesz = get_le32(p + off), descsz = get_le32(p + off + 4);
		u32 type = get_le32(p + off + 8);
		u64 name = off + 12;
		u64 desc = name + ALIGN_UP(namesz, 4); /* all terms < 2^34: no overflow */

		if (desc > len || ALIGN_UP(descsz, 4) > len - desc)
			return;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(p + name, "Xen", 4) && (descsz == 4 || descsz == 8)) {
			u64 entry = descsz == 4 ? get_le32(p + desc) : get_le64(p + desc);
			if (entry <= 0xffffffff) {
				img->has_pvh = true;
				img->pvh_entry = (u32)entry;
			}
		}
		off = desc + ALIGN_UP(descsz, 4);
	}
}

static int elf_parse_header(const char *path, const u8 *buf, u64 len, struct elf_image *img,
			    u64 *phoff, u64 *phnum)
{
	u64 phentsize;

	if (len < EI_NIDENT || !elf_is_elf(buf, len)) {
		log_error("kernel '%s': not an ELF file", path);
		return -ENOEXEC;
	}
	if (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64) {
		log_error("kernel '%s': unknown ELF class %u", path, buf[EI_CLASS]);
		return -ENOEXEC;
	}
	img->is64 = buf[EI_CLASS] == ELFCLASS64;
	if (len < (img->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) {
		log_error("kernel '%s': ELF header truncated (%llu bytes)", path,
			  (unsigned long long)len);
		return -ENOEXEC;
	}
	if (buf[EI_DATA] != ELFDATA2LSB || buf[EI_VERSION] != EV_CURRENT) {
		log_error("kernel '%s': not a little-endian ELF version 1 file", path);
		return -ENOEXEC;
	}
	if (get_le16(buf + 16) != ET_EXEC) {
		log_error("kernel '%s': ELF type %u is not an executable (ET_EXEC)", path,
			  get_le16(buf + 16));
		return -ENOEXEC;
	}
	img->machine = get_le16(buf + 18);
	if (img->is64) {
		img->entry = get_le64(buf + 24);
		*phoff = get_le64(buf + 32);
		phentsize = get_le16(buf + 54);
		*phnum = get_le16(buf + 56);
	} else {
		img->entry = get_le32(buf + 24);
		*phoff = get_le32(buf + 28);
		phentsize = get_le16(buf + 42);
		*phnum = get_le16(buf + 44);
	}
	if (phentsize != (img->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || !*phnum ||
	    *phnum > ELF_MAX_PHDRS || !elf_in_file(*phoff, *phnum * phentsize, len)) {
		log_error("kernel '%s': bad ELF program header table (%llu entries of %llu bytes "
			  "at %#llx)",
			  path, (unsigned long long)*phnum, (unsigned long long)phentsize,
			  (unsigned long long)*phoff);
		return -ENOEXEC;
	}
	return 0;
}

int elf_parse(const char *path, const u8 *buf, u64 len, struct elf_image *img)
{
	u64 phoff, phnum, phentsize;
	int r;

	memset(img, 0, sizeof(*img));
	r = elf_parse_header(path, buf, len, img, &phoff, &phnum);
	if (r)
		return r;
	phentsize = img->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	img->lo = UINT64_MAX;
	for (u64 i = 0; i < phnum; i++) {
		struct elf_phdr ph;

		elf_read_phdr(buf + phoff + i * phentsize, img->is64, &ph);
		if (ph.type == PT_NOTE && elf_in_file(ph.offset, ph.filesz, len))
			elf_scan_notes(buf + ph.offset, ph.filesz, img);
		if (ph.type != PT_LOAD || !ph.memsz)
			continue;
		if (ph.filesz > ph.memsz || !elf_in_file(ph.offset, ph.filesz, len) ||
		    ph.paddr + ph.memsz < ph.paddr) {
			log_error("kernel '%s': ELF segment %llu is malformed (offset %#llx, "
				  "filesz %#llx, memsz %#llx, paddr %#llx; file is %llu bytes)",
				  path, (unsigned long long)i, (unsigned long long)ph.offset,
				  (unsigned long long)ph.filesz, (unsigned long long)ph.memsz,
				  (unsigned long long)ph.paddr, (unsigned long long)len);
			return -ENOEXEC;
		}
		if (img->nr_load == ELF_MAX_LOAD) {
			log_error("kernel '%s': more than %d ELF PT_LOAD segments", path,
				  ELF_MAX_LOAD);
			return -ENOEXEC;
		}
		img->load[img->nr_load++] =
		    (struct elf_segment){ph.offset, ph.filesz, ph.paddr, ph.vaddr, ph.memsz};
		img->lo = MIN(img->lo, ph.paddr);
		img->hi = MAX(img->hi, ph.paddr + ph.memsz);
	}
	if (!img->nr_load) {
		log_error("kernel '%s': ELF file has no loadable segment", path);
		return -ENOEXEC;
	}
	return 0;
}

int elf_entry_paddr(const char *path, const struct elf_image *img, u64 *paddr)
{
	const struct elf_segment *s;

	for (unsigned i = 0; i < img->nr_load; i++) {
		s = &img->load[i];
		if (img->entry >= s->paddr && img->entry - s->paddr < s->memsz) {
			*paddr = img->entry;
			return 0;
		}
	}
	for (unsigned i = 0; i < img->nr_load; i++) {
		s = &img->load[i];
		if (img->entry >= s->vaddr && img->entry - s->vaddr < s->memsz) {
			*paddr = s->paddr + (img->entry - s->vaddr);
			return 0;
		}
	}
	log_error("kernel '%s': ELF entry point %#llx is outside every loadable segment", path,
		  (unsigned long long)img->entry);
	return -ENOEXEC;
}

int elf_load(const struct guest_mem *mem, const char *path, const u8 *buf,
	     const struct elf_image *img, u64 lo, u64 hi)
{
	for (unsigned i = 0; i < img->nr_load; i++) {
		const struct elf_segment *s = &img->load[i];
		u8 *dst = guest_mem_ptr(mem, s->paddr, s->memsz);

		/* paddr + memsz cannot overflow: elf_parse checked it. */
		if (s->paddr < lo || s->paddr + s->memsz > hi || !dst) {
			log_error("kernel '%s': ELF segment [%#llx, %#llx) is outside guest RAM "
				  "[%#llx, %#llx) with --mem %lluM",
				  path, (unsigned long long)s->paddr,
				  (unsigned long long)(s->paddr + s->memsz), (unsigned long long)lo,
				  (unsigned long long)MIN(hi, guest_mem_low_end(mem)),
				  (unsigned long long)(mem->ram_size / MiB));
			return -ENOMEM;
		}
		memcpy(dst, buf + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}
