/* Multiboot v1 loader (Multiboot Specification 0.6.96), as QEMU's -kernel does it. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/loader.h"
#include "popek/layout.h"
#include "popek/log.h"

/* Header flags (spec 3.1.2). Bits 0-15 are requirements the loader must
 * honour or refuse; bits 16-31 are optional. */
#define MBH_PAGE_ALIGN  (1u << 0) /* modules page-aligned: always done */
#define MBH_MEMORY_INFO (1u << 1) /* mem_* fields: always given */
#define MBH_VIDEO_MODE  (1u << 2) /* ignored, as QEMU does */
#define MBH_AOUT_KLUDGE (1u << 16)
#define MBH_SUPPORTED   (MBH_PAGE_ALIGN | MBH_MEMORY_INFO | MBH_VIDEO_MODE)

/* Information structure (spec 3.3). */
#define MBI_FLAGS            0
#define MBI_MEM_LOWER        4
#define MBI_MEM_UPPER        8
#define MBI_CMDLINE          16
#define MBI_MODS_COUNT       20
#define MBI_MODS_ADDR        24
#define MBI_MMAP_LENGTH      44
#define MBI_MMAP_ADDR        48
#define MBI_BOOT_LOADER_NAME 64
#define MBI_SIZE             116
#define MBI_F_MEM            (1u << 0)
#define MBI_F_CMDLINE        (1u << 2)
#define MBI_F_MODS           (1u << 3)
#define MBI_F_MMAP           (1u << 6)
#define MBI_F_LOADER_NAME    (1u << 9)
#define MB_MOD_SIZE          16 /* mod_start, mod_end, string, reserved */
#define MB_MMAP_SIZE         24 /* size (=20, not counting itself), base, length, type */

s64 multiboot_find(const u8 *buf, u64 len)
{
	u64 end = MIN(len, MULTIBOOT_SEARCH);

	for (u64 off = 0; off + 12 <= end; off += 4) {
		u32 magic = get_le32(buf + off), flags = get_le32(buf + off + 4);

		if (magic == MULTIBOOT_HEADER_MAGIC &&
		    (u32)(magic + flags + get_le32(buf + off + 8)) == 0)
			return (s64)off;
	}
	return -1;
}

bool multiboot_next_module(const char **list, char *out)
{
	const char *p = *list;
	size_t o = 0;

	if (!*p)
		return false;
	while (*p) {
		if (*p == ',' && p[1] == ',') {
			out[o++] = ',';
			p += 2;
		} else if (*p == ',') {
			p++;
			break;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = 0;
	*list = p;
	return true;
}

/* What a kernel occupies once loaded. */
struct mb_kernel {
	u64 start, end, entry;
};

/* What popek writes below 1 MiB for a multiboot kernel (layout.h). The rest
 * of low RAM is the kernel's to load into: the spec sets no lower bound on
 * load_addr (3.1.3) or an ELF segment's address; the modules go above 1 MiB. */
static const struct {
	u64 start, end;
	const char *what;
} mb_low_use[] = {
    {LAYOUT_GDT, LAYOUT_IDT, "the boot GDT"},
    {LAYOUT_MB_INFO, LAYOUT_MB_INFO + MBI_SIZE, "the multiboot information"},
    {LAYOUT_MB_AREA, LAYOUT_EBDA_START, "the multiboot memory map, command line and module list"},
    {LAYOUT_EBDA_START, LAYOUT_KERNEL,
     "the EBDA, ACPI tables and BIOS area (reserved in the e820 map)"},
};

/* Refuses [start, end) (a segment, or the a.out image) when it overlaps
 * what popek places in low memory, naming it. */
static int mb_check_low(const char *path, const char *what, u64 start, u64 end)
{
	for (unsigned i = 0; i < ARRAY_SIZE(mb_low_use); i++) {
		if (start >= mb_low_use[i].end || end <= mb_low_use[i].start)
			continue;
		log_error("kernel '%s': multiboot %s [%#llx, %#llx) overlaps %s at [%#llx, %#llx)",
			  path, what, (unsigned long long)start, (unsigned long long)end,
			  mb_low_use[i].what, (unsigned long long)mb_low_use[i].start,
			  (unsigned long long)mb_low_use[i].end);
		return -ENOMEM;
	}
	return 0;
}

/* The a.out kludge (spec 3.1.3): addresses come from the header, the file
 * is copied from the offset that corresponds to load_addr. */
static int mb_load_aout(const struct guest_mem *mem, const struct boot_file *f, u64 hdr,
			struct mb_kernel *k)
{
	const u8 *h = f->data + hdr;
	u64 header_addr, load_addr, load_end, bss_end, text_off, load_size;

	if (f->size - hdr < 32) {
		log_error("kernel '%s': multiboot a.out header at %#llx is truncated", f->path,
			  (unsigned long long)hdr);
		return -ENOEXEC;
	}
	header_addr = get_le32(h + 12);
	load_addr = get_le32(h + 16);
	load_end = get_le32(h + 20);
	bss_end = get_le32(h + 24);
	k->entry = get_le32(h + 28);
	if (header_addr < load_addr || header_addr - load_addr > hdr) {
		log_error("kernel '%s': multiboot header_addr %#llx and load_addr %#llx do not "
			  "match the header's file offset %#llx",
			  f->path, (unsigned long long)header_addr, (unsigned long long)load_addr,
			  (unsigned long long)hdr);
		return -ENOEXEC;
	}
	text_off = hdr - (header_addr - load_addr);
	load_size = load_end ? load_end - load_addr : f->size - text_off;
	if ((load_end && load_end < load_addr) || load_size > f->size - text_off ||
	    (bss_end && bss_end < load_addr + load_size)) {
		log_error("kernel '%s': multiboot load_end_addr %#llx / bss_end_addr %#llx are "
			  "inconsistent with load_addr %#llx and the file size %llu",
			  f->path, (unsigned long long)load_end, (unsigned long long)bss_end,
			  (unsigned long long)load_addr, (unsigned long long)f->size);
		return -ENOEXEC;
	}
	k->start = load_addr;
	k->end = bss_end ? bss_end : load_addr + load_size;
	if (k->end > guest_mem_low_end(mem) || !guest_mem_ptr(mem, k->start, k->end - k->start)) {
		log_error("kernel '%s': multiboot image [%#llx, %#llx) is outside guest RAM "
			  "[0, %#llx) with --mem %lluM",
			  f->path, (unsigned long long)k->start, (unsigned long long)k->end,
			  (unsigned long long)guest_mem_low_end(mem),
			  (unsigned long long)(mem->ram_size / MiB));
		return -ENOMEM;
	}
	if (mb_check_low(f->path, "image", k->start, k->end))
		return -ENOMEM;
	guest_mem_write(mem, load_addr, f->data + text_off, load_size);
	memset(guest_mem_ptr(mem, k->start, k->end - k->start) + load_size, 0,
	       k->end - k->start - load_size);
	return 0;
}

static int mb_load_elf(const struct guest_mem *mem, const struct boot_file *f, struct mb_kernel *k)
{
	struct elf_image img;
	int r;

	r = elf_parse(f->path, f->data, f->size, &img);
	if (r)
		return r;
	if (!(img.is64 ? img.machine == EM_X86_64 : img.machine == EM_386)) {
		log_error("kernel '%s': multiboot ELF machine %u is not x86", f->path, img.machine);
		return -ENOEXEC;
	}
	r = elf_entry_paddr(f->path, &img, &k->entry);
	for (unsigned i = 0; i < img.nr_load && !r; i++)
		r = mb_check_low(f->path, "segment", img.load[i].paddr,
				 img.load[i].paddr + img.load[i].memsz);
	if (!r)
		r = elf_load(mem, f->path, f->data, &img, 0, guest_mem_low_end(mem));
	k->start = img.lo;
	k->end = img.hi;
	return r;
}

/* A bump allocator over [LAYOUT_MB_AREA, LAYOUT_EBDA_START) for the
 * memory map, module list and strings. */
struct mb_area {
	const struct guest_mem *mem;
	gpa_t next;
};

static int mb_put(struct mb_area *a, const void *data, u64 len, gpa_t *at)
{
	gpa_t start = ALIGN_UP(a->next, 8);

	if (start > LAYOUT_EBDA_START || len > LAYOUT_EBDA_START - start ||
	    guest_mem_write(a->mem, start, data, len)) {
		log_error("multiboot information (command lines, module list) does not fit in "
			  "[%#llx, %#llx)",
			  (unsigned long long)LAYOUT_MB_AREA,
			  (unsigned long long)LAYOUT_EBDA_START);
		return -E2BIG;
	}
	*at = start;
	a->next = start + len;
	return 0;
}

static int mb_put_str(struct mb_area *a, const char *s, u32 *at)
{
	gpa_t g = 0;
	int r = mb_put(a, s, strlen(s) + 1, &g);

	*at = (u32)g;
	return r;
}

/* Loads one module "path args" page-aligned at *next and fills its entry. */
static int mb_load_module(const struct guest_mem *mem, struct mb_area *a, const char *entry,
			  char *path, u64 *next, u8 *mod)
{
	u64 size, at = ALIGN_UP(*next, 4096), low_end = guest_mem_low_end(mem);
	u32 str;
	int fd, r;

	strcpy(path, entry);
	path[strcspn(path, " ")] = 0;
	if (!path[0]) {
		log_error("multiboot module list: empty module path in '%s'", entry);
		return -EINVAL;
	}
	r = boot_file_open("module", path, &fd, &size);
	if (r)
		return r;
	if (at > low_end || size > low_end - at) {
		log_error("module '%s' (%llu MiB) does not fit below %#llx with --mem %lluM", path,
			  boot_mib(size), (unsigned long long)low_end,
			  (unsigned long long)(mem->ram_size / MiB));
		close(fd);
		return -ENOMEM;
	}
	r = boot_file_read_into(mem, "module", path, fd, at, size);
	close(fd);
	if (!r)
		r = mb_put_str(a, entry, &str);
	if (r)
		return r;
	put_le32(mod, (u32)at);
	put_le32(mod + 4, (u32)(at + size));
	put_le32(mod + 8, str);
	*next = at + size;
	return 0;
}

/* Modules from cfg->initrd_path, placed after the kernel (and above 1 MiB:
 * a low kernel's end is followed by the areas of mb_low_use); their list
 * goes to the MB area. Sets the MODS fields of info. */
static int mb_load_modules(const struct guest_mem *mem, struct mb_area *a, const char *list,
			   u64 kernel_end, u8 *info, struct boot_result *out)
{
	size_t cap = strlen(list) + 1;
	char *entry = malloc(cap), *path = malloc(cap);
	u64 count = 0, next = MAX(kernel_end, LAYOUT_KERNEL), mods_size;
	const char *p = list;
	u8 *mods = NULL;
	gpa_t mods_at;
	int r = -ENOMEM;

	if (!entry || !path)
		goto out;
	while (multiboot_next_module(&p, entry))
		count++;
	mods_size = count * MB_MOD_SIZE;
	mods = calloc(1, mods_size);
	if (!mods)
		goto out;
	p = list;
	for (u64 i = 0; i < count && multiboot_next_module(&p, entry); i++) {
		r = mb_load_module(mem, a, entry, path, &next, mods + i * MB_MOD_SIZE);
		if (r)
			goto out;
	}
	r = mb_put(a, mods, mods_size, &mods_at);
	if (r)
		goto out;
	put_le32(info + MBI_FLAGS, get_le32(info + MBI_FLAGS) | MBI_F_MODS);
	put_le32(info + MBI_MODS_COUNT, (u32)count);
	put_le32(info + MBI_MODS_ADDR, (u32)mods_at);
	out->initrd_start = get_le32(mods);
	out->initrd_size = next - out->initrd_start;
out:
	free(mods);
	free(path);
	free(entry);
	return r;
}

/* The information structure (spec 3.3) with MEM, CMDLINE, MODS, MMAP and
 * BOOT_LOADER_NAME. The kernel's command line is "path args", as QEMU and
 * GRUB pass it. */
static int mb_info_build(const struct guest_mem *mem, const struct vm_config *cfg, u64 kernel_end,
			 struct boot_result *out)
{
	struct boot_e820_entry e820[BOOT_E820_MAX];
	unsigned n = boot_e820_build(mem, e820);
	struct mb_area a = {mem, LAYOUT_MB_AREA};
	u8 info[MBI_SIZE], mmap[BOOT_E820_MAX * MB_MMAP_SIZE];
	const char *args = cfg->cmdline ? cfg->cmdline : "";
	u32 cmdline, name;
	gpa_t mmap_at;
	char *kcmd;
	int r;

	memset(info, 0, sizeof(info));
	put_le32(info + MBI_FLAGS, MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MMAP | MBI_F_LOADER_NAME);
	put_le32(info + MBI_MEM_LOWER, 640);
	put_le32(info + MBI_MEM_UPPER, (u32)((guest_mem_low_end(mem) - LAYOUT_KERNEL) / KiB));
	for (unsigned i = 0; i < n; i++) {
		u8 *e = mmap + i * MB_MMAP_SIZE;
		put_le32(e, MB_MMAP_SIZE - 4);
		put_le64(e + 4, e820[i].addr);
		put_le64(e + 12, e820[i].size);
		put_le32(e + 20, e820[i].type);
	}
	r = mb_put(&a, mmap, n * MB_MMAP_SIZE, &mmap_at);
	if (r)
		return r;
	put_le32(info + MBI_MMAP_LENGTH, n * MB_MMAP_SIZE);
	put_le32(info + MBI_MMAP_ADDR, (u32)mmap_at);

	if (asprintf(&kcmd, "%s%s%s", cfg->kernel_path, args[0] ? " " : "", args) < 0)
		return -ENOMEM;
	r = mb_put_str(&a, kcmd, &cmdline);
	free(kcmd);
	if (!r)
		r = mb_put_str(&a, "popek", &name);
	if (r)
		return r;
	put_le32(info + MBI_CMDLINE, cmdline);
	put_le32(info + MBI_BOOT_LOADER_NAME, name);

	if (cfg->initrd_path && cfg->initrd_path[0]) {
		r = mb_load_modules(mem, &a, cfg->initrd_path, kernel_end, info, out);
		if (r)
			return r;
	}
	if (guest_mem_write(mem, LAYOUT_MB_INFO, info, sizeof(info)))
		return -EFAULT;
	return 0;
}

int multiboot_load(struct guest_mem *mem, const struct vm_config *cfg, const struct boot_file *f,
		   u64 hdr_off, struct boot_result *out)
{
	u32 flags = get_le32(f->data + hdr_off + 4);
	struct mb_kernel k;
	int r;

	if (flags & 0xffff & ~MBH_SUPPORTED) {
		log_error("kernel '%s': multiboot header requires unsupported features "
			  "(flags %#x)",
			  f->path, flags);
		return -ENOEXEC;
	}
	if (flags & MBH_VIDEO_MODE)
		log_info("kernel '%s': multiboot video mode request ignored", f->path);
	if (flags & MBH_AOUT_KLUDGE) {
		r = mb_load_aout(mem, f, hdr_off, &k);
	} else if (elf_is_elf(f->data, f->size)) {
		r = mb_load_elf(mem, f, &k);
	} else {
		log_error("kernel '%s': multiboot kernel is neither ELF nor uses the a.out kludge "
			  "(header flag 16)",
			  f->path);
		r = -ENOEXEC;
	}
	if (r)
		return r;
	if (k.entry < k.start || k.entry >= k.end) {
		log_error("kernel '%s': multiboot entry point %#llx is outside the image "
			  "[%#llx, %#llx)",
			  f->path, (unsigned long long)k.entry, (unsigned long long)k.start,
			  (unsigned long long)k.end);
		return -ENOEXEC;
	}
	out->kind = BOOT_MULTIBOOT;
	out->kernel_start = k.start;
	out->kernel_end = k.end;
	r = mb_info_build(mem, cfg, k.end, out);
	if (!r)
		r = boot_entry_protected(mem, &out->entry, (u32)k.entry);
	if (r)
		return r;
	out->entry.regs.gpr[X86_RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
	out->entry.regs.gpr[X86_RBX] = LAYOUT_MB_INFO;
	return 0;
}
