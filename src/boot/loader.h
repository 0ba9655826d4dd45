/* Internal interface between the loaders of src/boot/: files, e820, entry states. */
#ifndef POPEK_BOOT_LOADER_H
#define POPEK_BOOT_LOADER_H

#include "boot/boot.h"

/* ---- boot.c: files and placement -------------------------------------- */

/* A whole file read into host memory (kernels: they must be parsed). */
struct boot_file {
	const char *path;
	u8 *data;
	u64 size;
};

/* Reads path entirely with read(). role ("kernel", "initrd", "module") names
 * the file in error messages. Returns 0 or -errno after one log_error line. */
int boot_file_read(const char *role, const char *path, struct boot_file *f);
/* The same for a file of at most max bytes (a larger one is refused before
 * anything is read). */
int boot_file_read_max(const char *role, const char *path, u64 max, struct boot_file *f);
void boot_file_free(struct boot_file *f);

/* Opens a regular file and returns its size, for data that is read straight
 * into guest memory (initrd, modules). Logs and returns -errno on failure. */
int boot_file_open(const char *role, const char *path, int *fd, u64 *size);

/* Reads exactly size bytes of fd into [gpa, gpa+size) of guest memory. */
int boot_file_read_into(const struct guest_mem *mem, const char *role, const char *path, int fd,
			gpa_t gpa, u64 size);

/* Loads an initrd as high as possible, page-aligned, inside [lo, hi) and
 * below the end of low RAM. Returns 0 or -errno (logged). */
int boot_initrd_load(const struct guest_mem *mem, const char *path, gpa_t lo, gpa_t hi,
		     gpa_t *start, u64 *size);

/* Writes the NUL-terminated cmdline at gpa after checking that it is at most
 * max_len bytes (without the NUL). Logs and returns -E2BIG when too long. */
int boot_cmdline_write(const struct guest_mem *mem, const char *what, const char *cmdline,
		       u64 max_len, gpa_t gpa);

/* ---- e820.c: the memory map -------------------------------------------- */

#define E820_RAM      1
#define E820_RESERVED 2
#define BOOT_E820_MAX 8

struct boot_e820_entry {
	u64 addr, size;
	u32 type;
};

/* Fills out (BOOT_E820_MAX entries) with the guest's map: usable low memory
 * below the EBDA, reserved EBDA..1 MiB (ACPI tables), usable 1 MiB to the end
 * of low RAM, and usable RAM above 4 GiB if any. Returns the entry count. */
unsigned boot_e820_build(const struct guest_mem *mem, struct boot_e820_entry *out);

/* ---- entry.c: entry states --------------------------------------------- */

#define BOOT_SEL_CODE 0x10 /* __BOOT_CS, Documentation/arch/x86/boot.rst */
#define BOOT_SEL_DATA 0x18 /* __BOOT_DS */

/* 64-bit entry (boot.rst "64-bit Boot Protocol"): writes the GDT and identity
 * page tables for 0..4 GiB, then sets st to long mode at rip with RSI = rsi. */
int boot_entry_long(const struct guest_mem *mem, struct x86_state *st, u64 rip, u64 rsi);

/* 32-bit protected-mode entry, paging off (multiboot, PVH): writes the GDT
 * and sets st to flat 32-bit segments at eip. The caller sets EAX/EBX. */
int boot_entry_protected(const struct guest_mem *mem, struct x86_state *st, u32 eip);

/* ---- elf.c: pure ELF parser (fuzzable) and segment loader -------------- */

#define ELF_MAX_LOAD 16

struct elf_segment {
	u64 offset, filesz; /* bytes of the file: [offset, offset+filesz) */
	u64 paddr, vaddr, memsz;
};

struct elf_image {
	bool is64;
	u16 machine;      /* e_machine: EM_386 or EM_X86_64 are used */
	u64 entry;        /* e_entry as written (virtual or physical) */
	unsigned nr_load; /* PT_LOAD segments with memsz > 0 */
	struct elf_segment load[ELF_MAX_LOAD];
	u64 lo, hi;   /* lowest paddr and highest paddr + memsz */
	bool has_pvh; /* XEN_ELFNOTE_PHYS32_ENTRY found */
	u32 pvh_entry;
};

/* True when buf starts with the ELF magic. */
bool elf_is_elf(const u8 *buf, u64 len);

/* Checks the ELF header, program headers and notes of buf; every offset and
 * size is verified against len without overflow. Does not touch guest
 * memory. Returns 0 or -ENOEXEC after one log_error line naming path. */
int elf_parse(const char *path, const u8 *buf, u64 len, struct elf_image *img);

/* Physical address of e_entry: used as is when it lies in a segment's
 * physical range, else translated through the segment whose virtual range
 * holds it. Returns 0 or -ENOEXEC (logged). */
int elf_entry_paddr(const char *path, const struct elf_image *img, u64 *paddr);

/* Copies the PT_LOAD segments to their p_paddr and zeroes their bss, after
 * checking that every one lies inside RAM and inside [lo, hi). Returns 0 or
 * -ENOMEM/-EFAULT after one log_error line. */
int elf_load(const struct guest_mem *mem, const char *path, const u8 *buf,
	     const struct elf_image *img, u64 lo, u64 hi);

/* ---- linux.c: bzImage and boot_params ----------------------------------- */

/* The checked facts of a bzImage setup header (boot.rst "The Real-Mode Kernel
 * Header"). */
struct linux_header {
	u16 version;
	u64 setup_size; /* (setup_sects + 1) * 512: file offset of the kernel */
	u64 hdr_end;    /* file offset where the setup header ends */
	u8 loadflags;
	u16 xloadflags;
	u32 initrd_addr_max;
	u32 kernel_alignment;
	bool relocatable;
	u32 cmdline_size;
	u64 pref_address;
	u32 init_size;
};

#define LINUX_HDR_OFFSET  0x1f1 /* struct setup_header in boot_params */
#define LINUX_MIN_VERSION 0x0206

/* True when buf carries the "HdrS" signature at 0x202. */
bool linux_is_bzimage(const u8 *buf, u64 len);

/* Validates a bzImage: version >= 2.06, loaded high, 64-bit entry, sizes.
 * Pure (fuzzable). Returns 0 or -ENOEXEC after one log_error line. */
int linux_parse_bzimage(const char *path, const u8 *buf, u64 len, struct linux_header *h);

/* The loaders below fill out (whose rsdp the caller has set): they place
 * kernel, command line, initrd and boot tables in mem and set the entry state. */

/* Loads a bzImage file read into f and sets up its 64-bit entry. */
int linux_load_bzimage(struct guest_mem *mem, const struct vm_config *cfg,
		       const struct boot_file *f, struct boot_result *out);

/* Loads a parsed ELF vmlinux and enters startup_64 with a boot_params built
 * from scratch (for kernels without a PVH entry note). */
int linux_load_elf64(struct guest_mem *mem, const struct vm_config *cfg, const struct boot_file *f,
		     const struct elf_image *img, struct boot_result *out);

/* ---- unpack.c: the bzImage payload unpacked on the host (unpack.h) ------ */

/* Boots the bzImage f (header h) without its in-guest decompressor: unpacks
 * an LZ4, XZ, gzip or zstd payload on the host (unpack_payload) and enters
 * the vmlinux through its PVH note (no KASLR then). Logs at info level which
 * path it took and why. Returns 0 when loaded, -ENOTSUP when the
 * kernel is not of that kind, or another -errno: the caller then loads the
 * bzImage the normal way. */
int linux_load_unpacked(struct guest_mem *mem, const struct vm_config *cfg,
			const struct boot_file *f, const struct linux_header *h,
			struct boot_result *out);

/* ---- pvh.c: PVH boot ABI (Xen docs/misc/pvh.pandoc) ---------------------- */

#define PVH_START_INFO_MAGIC 0x336ec578

/* Loads a parsed ELF vmlinux that has a PVH entry note and enters it in
 * 32-bit protected mode with EBX = struct hvm_start_info. */
int pvh_load(struct guest_mem *mem, const struct vm_config *cfg, const struct boot_file *f,
	     const struct elf_image *img, struct boot_result *out);

/* ---- multiboot.c: Multiboot 0.6.96 -------------------------------------- */

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MULTIBOOT_SEARCH           8192

/* Offset of a valid multiboot header (magic and checksum) in the first
 * 8192 bytes of buf, or -1. */
s64 multiboot_find(const u8 *buf, u64 len);

/* Splits the next entry off a module list "a x,b y" where ",," stands for a
 * literal comma. Writes the unescaped entry to out (capacity at least
 * strlen(*list) + 1) and advances *list. Returns false at the end. */
bool multiboot_next_module(const char **list, char *out);

/* Loads a multiboot kernel whose header is at hdr_off in f, its modules
 * (cfg->initrd_path) and the multiboot information structure. */
int multiboot_load(struct guest_mem *mem, const struct vm_config *cfg, const struct boot_file *f,
		   u64 hdr_off, struct boot_result *out);

/* ---- little-endian accessors for headers in byte buffers ---------------- */

static inline u16 get_le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static inline u64 get_le64(const u8 *p)
{
	return (u64)get_le32(p) | (u64)get_le32(p + 4) << 32;
}

static inline void put_le16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static inline void put_le32(u8 *p, u32 v)
{
	put_le16(p, (u16)v);
	put_le16(p + 2, (u16)(v >> 16));
}

static inline void put_le64(u8 *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32(p + 4, (u32)(v >> 32));
}

/* MiB rounded up, for messages. */
static inline unsigned long long boot_mib(u64 bytes)
{
	return (unsigned long long)(bytes / MiB + (bytes % MiB != 0));
}

#endif
