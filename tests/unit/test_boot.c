/* Unit tests of the Linux loaders: bzImage (payload unpacked or not), ELF vmlinux, e820, entry. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/loader.h"
#include "payload_fixture.h"
#include "popek/layout.h"
#include "test.h"

#define KERNEL_PAYLOAD (64 * KiB)
#define RSDP_ADDR      0xE0000ULL

/* ---- helpers ------------------------------------------------------------ */

/* Writes len bytes to a new temporary file; returns its malloc'ed path. */
static char *tmp_write(const char *tag, const void *data, size_t len)
{
	char *path;
	int fd;

	if (asprintf(&path, "/tmp/popek_test_%s_XXXXXX", tag) < 0)
		abort();
	fd = mkstemp(path);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

static void tmp_remove(char *path)
{
	if (path)
		unlink(path);
	free(path);
}

/* Runs boot_load with stderr captured into err (NUL-terminated). */
static int load_capture(struct guest_mem *mem, const struct vm_config *cfg, struct boot_result *res,
			char *err, size_t errsz)
{
	char tmpl[] = "/tmp/popek_test_err_XXXXXX";
	int fd = mkstemp(tmpl), saved, r;
	ssize_t n;

	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	r = boot_load(mem, cfg, RSDP_ADDR, res);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, err, errsz - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(tmpl);
	return r;
}

static u64 rd64(struct guest_mem *mem, gpa_t gpa)
{
	u8 *p = guest_mem_ptr(mem, gpa, 8);
	return p ? get_le64(p) : 0xdeadbeefdeadbeefULL;
}

static u32 rd32(struct guest_mem *mem, gpa_t gpa)
{
	u8 *p = guest_mem_ptr(mem, gpa, 4);
	return p ? get_le32(p) : 0xdeadbeef;
}

/* A synthetic bzImage: setup_sects 4, a HdrS header as the Debian 6.1 kernel
 * has it, and a patterned payload of KERNEL_PAYLOAD bytes. */
struct bz_opts {
	u16 version;
	u32 init_size;
	u32 initrd_addr_max;
	u32 cmdline_size;
	u16 xloadflags;
};

static const struct bz_opts bz_default = {0x020f, 8 * MiB, 0x7fffffff, 0x7ff, 0x7f};

static u8 *bz_build(const struct bz_opts *o, size_t *len)
{
	size_t setup = 5 * 512;
	u8 *b = calloc(1, setup + KERNEL_PAYLOAD);

	b[0x1f1] = 4;
	put_le32(b + 0x1f4, KERNEL_PAYLOAD / 16);
	put_le16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	put_le16(b + 0x206, o->version);
	b[0x211] = 0x01; /* LOADED_HIGH */
	put_le32(b + 0x214, 0x100000);
	put_le32(b + 0x22c, o->initrd_addr_max);
	put_le32(b + 0x230, 2 * MiB);
	b[0x234] = 1;
	b[0x235] = 21;
	put_le16(b + 0x236, o->xloadflags);
	put_le32(b + 0x238, o->cmdline_size);
	put_le64(b + 0x258, 16 * MiB);
	put_le32(b + 0x260, o->init_size);
	for (size_t i = 0; i < KERNEL_PAYLOAD; i++)
		b[setup + i] = (u8)(i * 7 + 3);
	*len = setup + KERNEL_PAYLOAD;
	return b;
}

/* Builds and loads a bzImage; returns boot_load's result. */
static int bz_load(const struct bz_opts *o, size_t cut, u64 ram, const char *initrd,
		   const char *cmdline, struct guest_mem *mem, struct boot_result *res, char *err,
		   size_t errsz)
{
	size_t len;
	u8 *img = bz_build(o, &len);
	char *path = tmp_write("bz", img, len - cut);
	struct vm_config cfg = {.kernel_path = path, .initrd_path = initrd, .cmdline = cmdline};
	int r;

	if (guest_mem_init(mem, ram))
		abort();
	r = load_capture(mem, &cfg, res, err, errsz);
	tmp_remove(path);
	free(img);
	return r;
}

static void check_e820_low(struct guest_mem *mem, gpa_t table, unsigned stride, u64 low_end)
{
	CHECK_EQ(rd64(mem, table), 0);
	CHECK_EQ(rd64(mem, table + 8), LAYOUT_EBDA_START);
	CHECK_EQ(rd32(mem, table + 16), E820_RAM);
	CHECK_EQ(rd64(mem, table + stride), LAYOUT_EBDA_START);
	CHECK_EQ(rd64(mem, table + stride + 8), MiB - LAYOUT_EBDA_START);
	CHECK_EQ(rd32(mem, table + stride + 16), E820_RESERVED);
	CHECK_EQ(rd64(mem, table + 2 * stride), MiB);
	CHECK_EQ(rd64(mem, table + 2 * stride + 8), low_end - MiB);
	CHECK_EQ(rd32(mem, table + 2 * stride + 16), E820_RAM);
}

static void check_long_mode(const struct x86_state *st)
{
	const struct x86_sregs *s = &st->sregs;

	CHECK_EQ(s->cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE | X86_CR0_PG);
	CHECK_EQ(s->cr4, X86_CR4_PAE);
	CHECK_EQ(s->cr3, LAYOUT_PML4);
	CHECK_EQ(s->efer, X86_EFER_LME | X86_EFER_LMA);
	CHECK_EQ(st->regs.rflags, 2);
	CHECK_EQ(st->regs.gpr[X86_RSP], LAYOUT_BOOT_STACK);
	CHECK_EQ(s->seg[X86_CS].selector, 0x10);
	CHECK(s->seg[X86_CS].l == 1 && s->seg[X86_CS].db == 0 && s->seg[X86_CS].type == 0xb);
	CHECK(s->seg[X86_CS].present && s->seg[X86_CS].s && s->seg[X86_CS].g);
	for (int i = 0; i < 6; i++) {
		if (i == X86_CS)
			continue;
		CHECK_EQ(s->seg[i].selector, 0x18);
		CHECK_EQ(s->seg[i].type, 3);
		CHECK_EQ(s->seg[i].limit, 0xffffffff);
		CHECK(s->seg[i].present && s->seg[i].db && !s->seg[i].unusable);
	}
	CHECK(s->tr.type == 11 && s->tr.present && !s->tr.s && !s->tr.unusable);
	CHECK_EQ(s->tr.limit, 0x67);
	CHECK(s->ldt.unusable);
	CHECK_EQ(s->gdt.base, LAYOUT_GDT);
	CHECK_EQ(s->gdt.limit, 31);
}

/* GDT and page tables as written in guest memory. */
static void check_long_tables(struct guest_mem *mem)
{
	CHECK_EQ(rd64(mem, LAYOUT_GDT), 0);
	CHECK_EQ(rd64(mem, LAYOUT_GDT + 0x10), 0x00af9b000000ffffULL);
	CHECK_EQ(rd64(mem, LAYOUT_GDT + 0x18), 0x00cf93000000ffffULL);
	CHECK_EQ(rd64(mem, LAYOUT_PML4), LAYOUT_PDPT | 3);
	CHECK_EQ(rd64(mem, LAYOUT_PML4 + 8), 0);
	for (u64 i = 0; i < 4; i++)
		CHECK_EQ(rd64(mem, LAYOUT_PDPT + i * 8), (LAYOUT_PD + i * 4096) | 3);
	CHECK_EQ(rd64(mem, LAYOUT_PDPT + 32), 0);
	CHECK_EQ(rd64(mem, LAYOUT_PD), 0x83);
	CHECK_EQ(rd64(mem, LAYOUT_PD + 8), 0x200083);
	CHECK_EQ(rd64(mem, LAYOUT_PD + 2047 * 8), 0xffe00083ULL);
}

/* ---- bzImage ------------------------------------------------------------ */

static void test_bzimage_good(void)
{
	static const u8 initrd_data[3 * 4096 + 5] = {1, 2, 3};
	char *initrd = tmp_write("initrd", initrd_data, sizeof(initrd_data));
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];
	size_t len;
	u8 *img = bz_build(&bz_default, &len);
	u8 *bp;
	int r;

	r = bz_load(&bz_default, 0, 64 * MiB, initrd, "console=ttyS0 quiet", &mem, &res, err,
		    sizeof(err));
	CHECK_EQ(r, 0);
	CHECK_EQ(err[0], 0);
	CHECK_EQ(res.kind, BOOT_LINUX_BZIMAGE);
	CHECK_EQ(res.kernel_start, MiB);
	CHECK_EQ(res.kernel_end, MiB + KERNEL_PAYLOAD);
	CHECK(!memcmp(guest_mem_ptr(&mem, MiB, KERNEL_PAYLOAD), img + 5 * 512, KERNEL_PAYLOAD));
	/* Initrd: as high as possible, page-aligned. */
	CHECK_EQ(res.initrd_size, sizeof(initrd_data));
	CHECK_EQ(res.initrd_start, ALIGN_DOWN(64 * MiB - sizeof(initrd_data), 4096));
	CHECK(!memcmp(guest_mem_ptr(&mem, res.initrd_start, sizeof(initrd_data)), initrd_data,
		      sizeof(initrd_data)));
	CHECK_EQ(res.rsdp, RSDP_ADDR);

	bp = guest_mem_ptr(&mem, LAYOUT_BOOT_PARAMS, 4096);
	CHECK(!memcmp(bp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1)); /* header copied */
	CHECK(!memcmp(bp + 0x202, "HdrS", 4));
	CHECK_EQ(get_le16(bp + 0x206), 0x020f);
	CHECK_EQ(bp[0x210], 0xff);
	CHECK_EQ(bp[0x211], 0x81);
	CHECK_EQ(get_le32(bp + 0x214), MiB);
	CHECK_EQ(get_le32(bp + 0x218), res.initrd_start);
	CHECK_EQ(get_le32(bp + 0x21c), sizeof(initrd_data));
	CHECK_EQ(get_le32(bp + 0x228), LAYOUT_CMDLINE);
	CHECK_EQ(get_le32(bp + 0x0c8), 0);
	CHECK_EQ(get_le32(bp + 0x260), 8 * MiB);
	CHECK_EQ(get_le64(bp + 0x070), RSDP_ADDR);
	CHECK_EQ(get_le32(bp + 0x26c), 0); /* nothing past the header */
	CHECK(!strcmp((char *)guest_mem_ptr(&mem, LAYOUT_CMDLINE, 1), "console=ttyS0 quiet"));
	CHECK_EQ(bp[0x1e8], 3);
	check_e820_low(&mem, LAYOUT_BOOT_PARAMS + 0x2d0, 20, 64 * MiB);

	CHECK_EQ(res.entry.regs.rip, MiB + 0x200);
	CHECK_EQ(res.entry.regs.gpr[X86_RSI], LAYOUT_BOOT_PARAMS);
	check_long_mode(&res.entry);
	check_long_tables(&mem);
	guest_mem_destroy(&mem);
	tmp_remove(initrd);
	free(img);
}

static void test_bzimage_no_cmdline_no_initrd(void)
{
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];

	CHECK_EQ(bz_load(&bz_default, 0, 32 * MiB, NULL, NULL, &mem, &res, err, sizeof(err)), 0);
	CHECK_EQ(*(char *)guest_mem_ptr(&mem, LAYOUT_CMDLINE, 1), 0);
	CHECK_EQ(rd32(&mem, LAYOUT_BOOT_PARAMS + 0x218), 0);
	CHECK_EQ(rd32(&mem, LAYOUT_BOOT_PARAMS + 0x21c), 0);
	CHECK_EQ(res.initrd_size, 0);
	guest_mem_destroy(&mem);
}

static void test_bzimage_truncated(void)
{
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];

	CHECK_EQ(bz_load(&bz_default, 100, 64 * MiB, NULL, NULL, &mem, &res, err, sizeof(err)),
		 -ENOEXEC);
	CHECK(strstr(err, "' is truncated: 67996 bytes, its header says 68096\n") != NULL);
	guest_mem_destroy(&mem);
	/* Only the setup sectors. */
	CHECK_EQ(bz_load(&bz_default, KERNEL_PAYLOAD, 64 * MiB, NULL, NULL, &mem, &res, err,
			 sizeof(err)),
		 -ENOEXEC);
	CHECK(strstr(err, "' is truncated: 2560 bytes, its header says 68096\n") != NULL);
	guest_mem_destroy(&mem);
}

static void test_bzimage_old_protocol(void)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];

	o.version = 0x0205;
	CHECK_EQ(bz_load(&o, 0, 64 * MiB, NULL, NULL, &mem, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "boot protocol 2.05 is older than 2.06\n") != NULL);
	guest_mem_destroy(&mem);
	o.version = 0x020b;
	CHECK_EQ(bz_load(&o, 0, 64 * MiB, NULL, NULL, &mem, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "(boot protocol 2.11) has no 64-bit entry point") != NULL);
	guest_mem_destroy(&mem);
	o = bz_default;
	o.xloadflags = 0x2;
	CHECK_EQ(bz_load(&o, 0, 64 * MiB, NULL, NULL, &mem, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "XLF_KERNEL_64 not set in xloadflags") != NULL);
	guest_mem_destroy(&mem);
}

static void test_bzimage_too_big_for_ram(void)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];

	o.init_size = 0x3378000;
	CHECK_EQ(bz_load(&o, 0, 32 * MiB, NULL, NULL, &mem, &res, err, sizeof(err)), -ENOMEM);
	CHECK(strstr(err, "needs RAM up to 0x4378000 (68 MiB) to decompress (pref_address "
			  "0x1000000 + init_size 0x3378000) but low RAM ends at 0x2000000 with "
			  "--mem 32M") != NULL);
	guest_mem_destroy(&mem);
}

static void test_bzimage_cmdline_too_long(void)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];

	o.cmdline_size = 16;
	CHECK_EQ(bz_load(&o, 0, 64 * MiB, NULL, "0123456789abcdef", &mem, &res, err, sizeof(err)),
		 0);
	guest_mem_destroy(&mem);
	CHECK_EQ(bz_load(&o, 0, 64 * MiB, NULL, "0123456789abcdefg", &mem, &res, err, sizeof(err)),
		 -E2BIG);
	CHECK(strstr(err, "command line is 17 bytes; kernel '/tmp/popek_test_bz_") != NULL);
	CHECK(strstr(err, "' accepts at most 16\n") != NULL);
	guest_mem_destroy(&mem);
}

static void test_initrd_limits(void)
{
	static u8 big[8 * MiB + 4096];
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct boot_result res;
	char err[1024], *initrd;

	/* 32 MiB RAM, kernel footprint ends at 16 + 8 MiB: exactly 8 MiB fit. */
	initrd = tmp_write("initrd", big, 8 * MiB);
	CHECK_EQ(bz_load(&o, 0, 32 * MiB, initrd, NULL, &mem, &res, err, sizeof(err)), 0);
	CHECK_EQ(res.initrd_start, 24 * MiB);
	guest_mem_destroy(&mem);
	tmp_remove(initrd);

	initrd = tmp_write("initrd", big, sizeof(big));
	CHECK_EQ(bz_load(&o, 0, 32 * MiB, initrd, NULL, &mem, &res, err, sizeof(err)), -ENOMEM);
	CHECK(strstr(err, "' (9 MiB) does not fit between the kernel's end at 0x1800000 and "
			  "0x2000000 with --mem 32M\n") != NULL);
	guest_mem_destroy(&mem);

	/* initrd_addr_max bounds the top; the kernel's init_size the bottom. */
	o.initrd_addr_max = 0x1dfffff;
	CHECK_EQ(bz_load(&o, 0, 64 * MiB, initrd, NULL, &mem, &res, err, sizeof(err)), -ENOMEM);
	CHECK(strstr(err, "and 0x1e00000 with --mem 64M") != NULL);
	guest_mem_destroy(&mem);
	o.initrd_addr_max = 0x27fffff;
	CHECK_EQ(bz_load(&o, 0, 64 * MiB, initrd, NULL, &mem, &res, err, sizeof(err)), 0);
	CHECK_EQ(res.initrd_start, ALIGN_DOWN(0x2800000 - sizeof(big), 4096));
	CHECK(res.initrd_start + res.initrd_size <= 0x2800000);
	guest_mem_destroy(&mem);

	/* A guest bigger than the MMIO hole: initrd_addr_max (2 GiB) wins. */
	CHECK_EQ(bz_load(&bz_default, 0, 5 * GiB, initrd, NULL, &mem, &res, err, sizeof(err)), 0);
	CHECK_EQ(res.initrd_start, ALIGN_DOWN(2 * GiB - sizeof(big), 4096));
	guest_mem_destroy(&mem);
	tmp_remove(initrd);

	CHECK_EQ(bz_load(&bz_default, 0, 64 * MiB, "/nonexistent/initrd.img", NULL, &mem, &res, err,
			 sizeof(err)),
		 -ENOENT);
	CHECK(!strcmp(err, "popek: error: initrd '/nonexistent/initrd.img': No such file or "
			   "directory\n"));
	guest_mem_destroy(&mem);
}

static void test_e820_high_ram(void)
{
	struct boot_e820_entry e[BOOT_E820_MAX];
	struct guest_mem mem;
	unsigned n;

	CHECK_EQ(guest_mem_init(&mem, 5 * GiB), 0);
	n = boot_e820_build(&mem, e);
	CHECK_EQ(n, 4);
	CHECK(e[0].addr == 0 && e[0].size == LAYOUT_EBDA_START && e[0].type == E820_RAM);
	CHECK(e[1].addr == LAYOUT_EBDA_START && e[1].addr + e[1].size == MiB &&
	      e[1].type == E820_RESERVED);
	CHECK(e[2].addr == MiB && e[2].size == 3 * GiB - MiB && e[2].type == E820_RAM);
	CHECK(e[3].addr == 4 * GiB && e[3].size == 2 * GiB && e[3].type == E820_RAM);
	guest_mem_destroy(&mem);
}

static void test_not_a_kernel(void)
{
	static const char text[] = "#!/bin/sh\necho this is not a kernel\n";
	static u8 zeros[4096];
	struct vm_config cfg = {0};
	struct guest_mem mem;
	struct boot_result res;
	char err[1024], *path;

	CHECK_EQ(guest_mem_init(&mem, 16 * MiB), 0);
	path = tmp_write("text", text, sizeof(text) - 1);
	cfg.kernel_path = path;
	CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "' is too short (36 bytes): not a Linux bzImage, ELF vmlinux or "
			  "multiboot kernel\n") != NULL);
	tmp_remove(path);

	path = tmp_write("zeros", zeros, sizeof(zeros));
	cfg.kernel_path = path;
	CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "': not a Linux bzImage, ELF vmlinux or multiboot kernel\n") != NULL);
	tmp_remove(path);

	path = tmp_write("empty", "", 0);
	cfg.kernel_path = path;
	CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "' is empty\n") != NULL);
	tmp_remove(path);

	cfg.kernel_path = "/nonexistent/vmlinuz";
	CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), -ENOENT);
	CHECK(!strcmp(err, "popek: error: kernel '/nonexistent/vmlinuz': No such file or "
			   "directory\n"));
	cfg.kernel_path = "/tmp";
	CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, "popek: error: kernel '/tmp': not a regular file\n"));
	guest_mem_destroy(&mem);
}

/* ---- ELF vmlinux -------------------------------------------------------- */

#define ELF_TEXT_VADDR 0xffffffff81000000ULL
#define ELF_TEXT_PADDR 0x1000000ULL
#define ELF_TEXT_SIZE  0x3000
#define ELF_BSS        0x5000

/* ELF64 vmlinux with one text segment at 16 MiB (vaddr in the kernel map),
 * a bss, and optionally a PVH note. */
static u8 *elf64_build(bool pvh, u64 paddr, size_t *len)
{
	size_t text_off = 0x1000, note_off = 0x200;
	u8 *b = calloc(1, text_off + ELF_TEXT_SIZE);
	u8 *ph = b + 64;

	memcpy(b, "\177ELF", 4);
	b[4] = 2; /* ELFCLASS64 */
	b[5] = 1;
	b[6] = 1;
	put_le16(b + 16, 2);  /* ET_EXEC */
	put_le16(b + 18, 62); /* EM_X86_64 */
	put_le32(b + 20, 1);
	put_le64(b + 24, ELF_TEXT_VADDR + 0x40); /* startup_64, virtual */
	put_le64(b + 32, 64);
	put_le16(b + 52, 64);
	put_le16(b + 54, 56);
	put_le16(b + 56, pvh ? 2 : 1);
	put_le32(ph, 1); /* PT_LOAD */
	put_le32(ph + 4, 5);
	put_le64(ph + 8, text_off);
	put_le64(ph + 16, ELF_TEXT_VADDR);
	put_le64(ph + 24, paddr);
	put_le64(ph + 32, ELF_TEXT_SIZE);
	put_le64(ph + 40, ELF_TEXT_SIZE + ELF_BSS);
	if (pvh) {
		u8 *n = b + note_off;
		ph += 56;
		put_le32(ph, 4); /* PT_NOTE */
		put_le64(ph + 8, note_off);
		put_le64(ph + 32, 2 * 20 + 12);
		/* A note of another type first, then XEN_ELFNOTE_PHYS32_ENTRY. */
		put_le32(n, 4);
		put_le32(n + 4, 4);
		put_le32(n + 8, 6);
		memcpy(n + 12, "Xen", 4);
		memcpy(n + 16, "lnx", 4);
		n += 20;
		put_le32(n, 4);
		put_le32(n + 4, 8);
		put_le32(n + 8, 18);
		memcpy(n + 12, "Xen", 4);
		put_le64(n + 16, paddr + 0x850);
	}
	for (size_t i = 0; i < ELF_TEXT_SIZE; i++)
		b[text_off + i] = (u8)(i ^ 0x5a);
	*len = text_off + ELF_TEXT_SIZE;
	return b;
}

static int elf_load_file(const u8 *img, size_t len, u64 ram, const char *initrd,
			 struct guest_mem *mem, struct boot_result *res, char *err, size_t errsz)
{
	char *path = tmp_write("vmlinux", img, len);
	struct vm_config cfg = {.kernel_path = path, .initrd_path = initrd, .cmdline = "ro"};
	int r;

	if (guest_mem_init(mem, ram))
		abort();
	/* Dirty the bss so that the loader has to zero it. */
	memset(guest_mem_ptr(mem, ELF_TEXT_PADDR, ELF_TEXT_SIZE + ELF_BSS), 0xcc,
	       ELF_TEXT_SIZE + ELF_BSS);
	r = load_capture(mem, &cfg, res, err, errsz);
	tmp_remove(path);
	return r;
}

static void test_elf_pvh(void)
{
	static const u8 initrd_data[5000] = {9};
	char *initrd = tmp_write("initrd", initrd_data, sizeof(initrd_data));
	struct guest_mem mem;
	struct boot_result res;
	const struct x86_sregs *s = &res.entry.sregs;
	char err[1024];
	size_t len;
	u8 *img = elf64_build(true, ELF_TEXT_PADDR, &len), *si, *z;

	CHECK_EQ(elf_load_file(img, len, 64 * MiB, initrd, &mem, &res, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	CHECK_EQ(res.kind, BOOT_LINUX_ELF);
	CHECK_EQ(res.kernel_start, ELF_TEXT_PADDR);
	CHECK_EQ(res.kernel_end, ELF_TEXT_PADDR + ELF_TEXT_SIZE + ELF_BSS);
	CHECK(!memcmp(guest_mem_ptr(&mem, ELF_TEXT_PADDR, ELF_TEXT_SIZE), img + 0x1000,
		      ELF_TEXT_SIZE));
	z = guest_mem_ptr(&mem, ELF_TEXT_PADDR + ELF_TEXT_SIZE, ELF_BSS);
	CHECK(z[0] == 0 && z[ELF_BSS - 1] == 0);

	CHECK_EQ(res.entry.regs.rip, ELF_TEXT_PADDR + 0x850);
	CHECK_EQ(res.entry.regs.gpr[X86_RBX], LAYOUT_BOOT_PARAMS);
	CHECK_EQ(res.entry.regs.rflags, 2);
	CHECK_EQ(s->cr0 & (X86_CR0_PE | X86_CR0_PG | X86_CR0_NE), X86_CR0_PE);
	CHECK_EQ(s->cr4, 0);
	CHECK_EQ(s->efer, 0);
	CHECK(s->seg[X86_CS].db == 1 && s->seg[X86_CS].l == 0 && s->seg[X86_CS].type == 0xb);
	CHECK_EQ(s->seg[X86_CS].limit, 0xffffffff);
	CHECK(s->seg[X86_SS].db == 1 && s->seg[X86_SS].type == 3);
	CHECK(s->tr.type == 11 && s->tr.limit == 0x67 && s->tr.base == 0);
	CHECK_EQ(rd64(&mem, LAYOUT_GDT + 0x10), 0x00cf9b000000ffffULL);
	CHECK_EQ(rd64(&mem, LAYOUT_GDT + 0x18), 0x00cf93000000ffffULL);

	si = guest_mem_ptr(&mem, LAYOUT_BOOT_PARAMS, 56);
	CHECK_EQ(get_le32(si), 0x336ec578);
	CHECK_EQ(get_le32(si + 4), 1);
	CHECK_EQ(get_le32(si + 12), 1);
	CHECK_EQ(get_le64(si + 24), LAYOUT_CMDLINE);
	CHECK_EQ(get_le64(si + 32), RSDP_ADDR);
	CHECK(!strcmp((char *)guest_mem_ptr(&mem, LAYOUT_CMDLINE, 1), "ro"));
	CHECK_EQ(rd64(&mem, get_le64(si + 16)), res.initrd_start);
	CHECK_EQ(rd64(&mem, get_le64(si + 16) + 8), sizeof(initrd_data));
	CHECK_EQ(res.initrd_start, ALIGN_DOWN(64 * MiB - sizeof(initrd_data), 4096));
	CHECK_EQ(get_le32(si + 48), 3);
	check_e820_low(&mem, get_le64(si + 40), 24, 64 * MiB);
	guest_mem_destroy(&mem);
	tmp_remove(initrd);
	free(img);
}

static void test_elf_startup64(void)
{
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];
	size_t len;
	u8 *img = elf64_build(false, ELF_TEXT_PADDR, &len), *bp;

	CHECK_EQ(elf_load_file(img, len, 64 * MiB, NULL, &mem, &res, err, sizeof(err)), 0);
	CHECK_EQ(res.kind, BOOT_LINUX_ELF);
	CHECK_EQ(res.entry.regs.rip, ELF_TEXT_PADDR + 0x40); /* e_entry translated */
	CHECK_EQ(res.entry.regs.gpr[X86_RSI], LAYOUT_BOOT_PARAMS);
	check_long_mode(&res.entry);
	check_long_tables(&mem);
	bp = guest_mem_ptr(&mem, LAYOUT_BOOT_PARAMS, 4096);
	CHECK_EQ(get_le16(bp + 0x1fe), 0xaa55);
	CHECK(!memcmp(bp + 0x202, "HdrS", 4));
	CHECK_EQ(get_le16(bp + 0x206), 0x020f);
	CHECK_EQ(bp[0x210], 0xff);
	CHECK_EQ(get_le32(bp + 0x228), LAYOUT_CMDLINE);
	CHECK_EQ(get_le32(bp + 0x218), 0);
	CHECK_EQ(get_le64(bp + 0x070), RSDP_ADDR);
	CHECK_EQ(bp[0x1e8], 3);
	check_e820_low(&mem, LAYOUT_BOOT_PARAMS + 0x2d0, 20, 64 * MiB);
	guest_mem_destroy(&mem);
	free(img);
}

static void test_elf_errors(void)
{
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];
	size_t len;
	u8 *img = elf64_build(true, 128 * MiB, &len);

	CHECK_EQ(elf_load_file(img, len, 256 * MiB, NULL, &mem, &res, err, sizeof(err)), 0);
	guest_mem_destroy(&mem);
	CHECK_EQ(elf_load_file(img, len, 64 * MiB, NULL, &mem, &res, err, sizeof(err)), -ENOMEM);
	CHECK(strstr(err, "': ELF segment [0x8000000, 0x8008000) is outside guest RAM "
			  "[0x100000, 0x4000000) with --mem 64M\n") != NULL);
	guest_mem_destroy(&mem);
	free(img);

	/* Segment data beyond the end of the file. */
	img = elf64_build(false, ELF_TEXT_PADDR, &len);
	CHECK_EQ(elf_load_file(img, len - 1, 64 * MiB, NULL, &mem, &res, err, sizeof(err)),
		 -ENOEXEC);
	CHECK(strstr(err, "': ELF segment 0 is malformed") != NULL);
	guest_mem_destroy(&mem);
	/* Program headers beyond the end of the file. */
	put_le64(img + 32, len - 8);
	CHECK_EQ(elf_load_file(img, len, 64 * MiB, NULL, &mem, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "': bad ELF program header table (1 entries of 56 bytes at ") != NULL);
	guest_mem_destroy(&mem);
	/* Another machine, and no multiboot header. */
	put_le64(img + 32, 64);
	put_le16(img + 18, 3);
	CHECK_EQ(elf_load_file(img, len, 64 * MiB, NULL, &mem, &res, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "ELF file is not an x86-64 vmlinux (class 64, machine 3) and has no "
			  "multiboot header") != NULL);
	guest_mem_destroy(&mem);
	free(img);
}

/* Mutates header bytes of the synthetic images and checks that loading
 * never crashes (ASan/UBSan watch) and either succeeds or fails cleanly. */
static void test_mutations(void)
{
	struct guest_mem mem;
	struct boot_result res;
	char err[4096];
	size_t bz_len, elf_len;
	u8 *bz = bz_build(&bz_default, &bz_len), *elf = elf64_build(true, ELF_TEXT_PADDR, &elf_len);
	unsigned seed = 12345;

	CHECK_EQ(guest_mem_init(&mem, 32 * MiB), 0);
	for (int i = 0; i < 300; i++) {
		bool use_bz = i & 1;
		size_t len = use_bz ? bz_len : elf_len, hdr = use_bz ? 0x300 : 0x300;
		u8 *img = malloc(len);
		char *path;
		struct vm_config cfg = {0};
		int r;

		memcpy(img, use_bz ? bz : elf, len);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245 + 12345;
			img[(use_bz ? 0x1f1 : 0) + (seed >> 8) % (hdr - 0x1f1 * use_bz)] =
			    (u8)(seed >> 20);
		}
		path = tmp_write("mut", img, len);
		cfg.kernel_path = path;
		r = load_capture(&mem, &cfg, &res, err, sizeof(err));
		CHECK(r == 0 || (r < 0 && err[0]));
		tmp_remove(path);
		free(img);
	}
	guest_mem_destroy(&mem);
	free(bz);
	free(elf);
}

/* ---- bzImage with a compressed payload, unpacked on the host ------------ */

/* A bzImage (bz_build's header) whose payload field points 0x100 bytes into
 * the protected-mode code at payload (plen bytes). */
static u8 *bz_with_payload(const u8 *payload, size_t plen, size_t *blen)
{
	size_t setup = 5 * 512;
	u8 *bz = bz_build(&bz_default, &(size_t){0});

	*blen = setup + 0x100 + plen;
	bz = realloc(bz, *blen);
	memset(bz + setup, 0x90, 0x100);
	memcpy(bz + setup + 0x100, payload, plen);
	put_le32(bz + 0x1f4, (u32)((*blen - setup) / 16));
	put_le32(bz + 0x248, 0x100);
	put_le32(bz + 0x24c, (u32)plen);
	return bz;
}

/* Loads the bzImage bz with POPEK_LOG=info (the unpack path's reports)
 * into a fresh 64 MiB guest; returns boot_load's result. */
static int bz_load_info(const u8 *bz, size_t blen, struct vm_config *cfg, struct guest_mem *mem,
			struct boot_result *res, char *err, size_t errsz)
{
	char *path = tmp_write("bzpay", bz, blen);
	int r;

	cfg->kernel_path = path;
	if (guest_mem_init(mem, 64 * MiB))
		abort();
	setenv("POPEK_LOG", "info", 1);
	r = load_capture(mem, cfg, res, err, errsz);
	unsetenv("POPEK_LOG");
	tmp_remove(path);
	cfg->kernel_path = NULL;
	return r;
}

/* The normal bzImage path: the image as it is at 1 MiB, entered at
 * startup_64 with the initrd. */
static void check_bzimage_path(struct guest_mem *mem, const struct boot_result *res, const u8 *bz,
			       size_t blen, u64 initrd_size)
{
	size_t setup = 5 * 512;

	CHECK_EQ(res->kind, BOOT_LINUX_BZIMAGE);
	CHECK_EQ(res->rsdp, RSDP_ADDR);
	CHECK_EQ(res->entry.regs.rip, MiB + 0x200);
	CHECK_EQ(res->entry.regs.gpr[X86_RSI], LAYOUT_BOOT_PARAMS);
	CHECK_EQ(res->entry.regs.gpr[X86_RBX], 0);
	CHECK(!memcmp(guest_mem_ptr(mem, MiB, blen - setup), bz + setup, blen - setup));
	CHECK_EQ(res->initrd_size, initrd_size);
	check_long_mode(&res->entry);
}

/* A bzImage whose payload is the PVH ELF of elf64_build() compressed as
 * the kernel's build does (LZ4, XZ, gzip, zstd): booted through PVH with
 * the initrd and command line, reported once at info level (nothing at the
 * default level); a corrupt payload falls back to the normal bzImage path,
 * reported at info level only. */
static void test_bzimage_unpacked(void)
{
	static const u8 initrd_data[5000] = {9};
	char *initrd = tmp_write("initrd", initrd_data, sizeof(initrd_data));
	size_t elen, plen, blen;
	u8 *elf = elf64_build(true, ELF_TEXT_PADDR, &elen);
	struct vm_config cfg = {.initrd_path = initrd, .cmdline = "console=ttyS0 ro"};
	struct guest_mem mem;
	struct boot_result res;
	char err[1024], want[128];

	for (size_t i = 0; i < ARRAY_SIZE(payload_formats); i++) {
		enum unpack_format f = payload_formats[i];
		const char *name = unpack_format_name(f);
		u8 *p = payload_build(f, elf, elen, &plen), *bz, *si;

		bz = bz_with_payload(p, plen, &blen);
		CHECK_EQ(bz_load_info(bz, blen, &cfg, &mem, &res, err, sizeof(err)), 0);
		snprintf(want, sizeof(want), "': %s payload unpacked on the host (1 MiB in ", name);
		CHECK(strstr(err, want) && strstr(err, "), PVH entry 0x1000850\n"));
		CHECK(!strchr(err, '\n') || !strchr(strchr(err, '\n') + 1, '\n')); /* one line */
		CHECK_EQ(res.kind, BOOT_LINUX_ELF);
		CHECK_EQ(res.rsdp, RSDP_ADDR);
		CHECK_EQ(res.entry.regs.rip, ELF_TEXT_PADDR + 0x850);
		CHECK_EQ(res.entry.regs.gpr[X86_RBX], LAYOUT_BOOT_PARAMS);
		CHECK(!memcmp(guest_mem_ptr(&mem, ELF_TEXT_PADDR, ELF_TEXT_SIZE), elf + 0x1000,
			      ELF_TEXT_SIZE));
		si = guest_mem_ptr(&mem, LAYOUT_BOOT_PARAMS, 56);
		CHECK_EQ(get_le32(si), PVH_START_INFO_MAGIC);
		CHECK(!strcmp((char *)guest_mem_ptr(&mem, get_le64(si + 24), 1), cfg.cmdline));
		CHECK_EQ(rd64(&mem, get_le64(si + 16)), res.initrd_start);
		CHECK_EQ(rd64(&mem, get_le64(si + 16) + 8), sizeof(initrd_data));
		CHECK(!memcmp(guest_mem_ptr(&mem, res.initrd_start, sizeof(initrd_data)),
			      initrd_data, sizeof(initrd_data)));
		guest_mem_destroy(&mem);

		/* Silent at the default level. */
		cfg.kernel_path = tmp_write("bzpay", bz, blen);
		CHECK_EQ(guest_mem_init(&mem, 64 * MiB), 0);
		CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), 0);
		CHECK_EQ(err[0], 0);
		CHECK_EQ(res.kind, BOOT_LINUX_ELF);
		guest_mem_destroy(&mem);

		/* A missing initrd is reported once (by the normal path), not twice. */
		cfg.initrd_path = "/nonexistent/initrd";
		CHECK_EQ(guest_mem_init(&mem, 64 * MiB), 0);
		CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), -ENOENT);
		CHECK(!strcmp(err, "popek: error: initrd '/nonexistent/initrd': No such file or "
				   "directory\n"));
		guest_mem_destroy(&mem);
		cfg.initrd_path = initrd;
		tmp_remove((char *)cfg.kernel_path);
		cfg.kernel_path = NULL;
		free(bz);

		/* A corrupt stream (a block size for LZ4, which has no check):
		 * the bzImage as it is, entered at startup_64. */
		if (f == UNPACK_LZ4)
			put_le32(p + 4, 0x7fffffff);
		else
			p[plen / 2] ^= 0xff;
		bz = bz_with_payload(p, plen, &blen);
		CHECK_EQ(bz_load_info(bz, blen, &cfg, &mem, &res, err, sizeof(err)), 0);
		snprintf(want, sizeof(want),
			 "': %s payload not unpacked on the host (truncated or corrupt); the "
			 "kernel decompresses itself\n",
			 name);
		CHECK(strstr(err, want) != NULL);
		check_bzimage_path(&mem, &res, bz, blen, sizeof(initrd_data));
		guest_mem_destroy(&mem);
		free(bz);
		free(p);
	}
	tmp_remove(initrd);
	free(elf);
}

/* Payloads the host path leaves to the kernel, which then boots the normal
 * way: an unknown format (bzip2), a zstd bomb unpacking to more than the
 * guest's low RAM, a payload that is no PVH ELF, and a payload field
 * pointing past the file. */
static void test_bzimage_not_unpacked(void)
{
	static const char bzip2[] = "BZh91AY&SY\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a";
	struct vm_config cfg = {.cmdline = "console=ttyS0"};
	size_t big = 65 * MiB, plen, blen;
	u8 *zeros = calloc(1, big), *p, *bz;
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];

	bz = bz_with_payload((const u8 *)bzip2, sizeof(bzip2), &blen);
	CHECK_EQ(bz_load_info(bz, blen, &cfg, &mem, &res, err, sizeof(err)), 0);
	CHECK(strstr(err, "': payload format not unpacked on the host; the kernel decompresses "
			  "itself\n"));
	check_bzimage_path(&mem, &res, bz, blen, 0);
	guest_mem_destroy(&mem);
	free(bz);

	p = payload_build(UNPACK_ZSTD, zeros, big, &plen);
	CHECK(plen < 64 * KiB);
	bz = bz_with_payload(p, plen, &blen);
	CHECK_EQ(bz_load_info(bz, blen, &cfg, &mem, &res, err, sizeof(err)), 0);
	CHECK(strstr(err, "': zstd payload unpacks to more than 64 MiB; the kernel decompresses "
			  "itself\n"));
	check_bzimage_path(&mem, &res, bz, blen, 0);
	guest_mem_destroy(&mem);
	free(bz);
	free(p);

	p = payload_build(UNPACK_XZ, zeros, MiB, &plen);
	bz = bz_with_payload(p, plen, &blen);
	CHECK_EQ(bz_load_info(bz, blen, &cfg, &mem, &res, err, sizeof(err)), 0);
	CHECK(strstr(err, "': the unpacked XZ payload is not an x86-64 ELF with a PVH entry that "
			  "fits in guest RAM; the kernel decompresses itself\n"));
	check_bzimage_path(&mem, &res, bz, blen, 0);
	guest_mem_destroy(&mem);

	put_le32(bz + 0x24c, (u32)plen + 1); /* one byte past the file's end */
	CHECK_EQ(bz_load_info(bz, blen, &cfg, &mem, &res, err, sizeof(err)), 0);
	CHECK(!strstr(err, "unpack"));
	check_bzimage_path(&mem, &res, bz, blen, 0);
	guest_mem_destroy(&mem);
	free(bz);
	free(p);
	free(zeros);
}

/* ---- the real Debian kernel --------------------------------------------- */

static void test_boot_debian_kernel(void)
{
	const char *path = "build/guest/vmlinuz";
	struct vm_config cfg = {.kernel_path = path, .cmdline = "console=ttyS0 panic=-1"};
	struct guest_mem mem;
	struct boot_result res;
	struct boot_file f;
	char err[1024];
	u64 setup;
	u8 *bp;

	if (access(path, R_OK) != 0) {
		TEST_SKIP("%s not built (make guest)", path);
		return;
	}
	CHECK_EQ(guest_mem_init(&mem, 256 * MiB), 0);
	CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	CHECK_EQ(boot_file_read("kernel", path, &f), 0);
	setup = ((u64)(f.data[0x1f1] ? f.data[0x1f1] : 4) + 1) * 512;
	bp = guest_mem_ptr(&mem, LAYOUT_BOOT_PARAMS, 4096);
	if (get_le32(f.data + setup + get_le32(f.data + 0x248)) == 0x184C2102) {
		/* The cloud kernel's LZ4 payload: unpacked on the host, PVH entry. */
		CHECK_EQ(res.kind, BOOT_LINUX_ELF);
		CHECK_EQ(get_le32(bp), PVH_START_INFO_MAGIC);
		CHECK_EQ(res.entry.regs.gpr[X86_RBX], LAYOUT_BOOT_PARAMS);
		CHECK(!strcmp((char *)guest_mem_ptr(&mem, get_le64(bp + 24), 1), cfg.cmdline));
		CHECK(res.kernel_end - res.kernel_start > f.size - setup);
		boot_file_free(&f);
		guest_mem_destroy(&mem);
		return;
	}
	CHECK(get_le16(bp + 0x206) >= 0x020f);
	CHECK(get_le16(bp + 0x236) & 1); /* XLF_KERNEL_64 */
	CHECK_EQ(res.kernel_end - res.kernel_start, f.size - setup);
	CHECK(!memcmp(guest_mem_ptr(&mem, MiB, f.size - setup), f.data + setup, f.size - setup));
	CHECK_EQ(get_le32(bp + 0x228), LAYOUT_CMDLINE);
	CHECK(!strcmp((char *)guest_mem_ptr(&mem, get_le32(bp + 0x228), 1), cfg.cmdline));
	CHECK_EQ(res.entry.regs.gpr[X86_RSI], LAYOUT_BOOT_PARAMS);
	CHECK_EQ(res.entry.regs.rip, MiB + 0x200);
	check_long_mode(&res.entry);
	boot_file_free(&f);
	guest_mem_destroy(&mem);
}

/* The ELF vmlinux that the guest build extracts from the same package:
 * entered through its PVH note. */
static void test_boot_debian_vmlinux(void)
{
	const char *path = "build/guest/vmlinux";
	struct vm_config cfg = {.kernel_path = path, .cmdline = "console=ttyS0"};
	struct guest_mem mem;
	struct boot_result res;
	struct elf_image img;
	struct boot_file f;
	char err[1024];

	if (access(path, R_OK) != 0) {
		TEST_SKIP("%s not built (make guest)", path);
		return;
	}
	CHECK_EQ(guest_mem_init(&mem, 256 * MiB), 0);
	CHECK_EQ(load_capture(&mem, &cfg, &res, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	CHECK_EQ(boot_file_read("kernel", path, &f), 0);
	CHECK_EQ(elf_parse(path, f.data, f.size, &img), 0);
	CHECK(img.has_pvh);
	CHECK_EQ(res.kind, BOOT_LINUX_ELF);
	CHECK_EQ(res.entry.regs.rip, img.pvh_entry);
	CHECK_EQ(res.entry.regs.gpr[X86_RBX], LAYOUT_BOOT_PARAMS);
	CHECK_EQ(rd32(&mem, LAYOUT_BOOT_PARAMS), PVH_START_INFO_MAGIC);
	for (unsigned i = 0; i < img.nr_load; i++)
		CHECK(!memcmp(guest_mem_ptr(&mem, img.load[i].paddr, img.load[i].filesz),
			      f.data + img.load[i].offset, img.load[i].filesz));
	boot_file_free(&f);
	guest_mem_destroy(&mem);
}

/* The reset vector stub: mov dx, 0x602; mov al, 1; out dx, al; then halt. */
static void test_reset_stub(void)
{
	struct guest_mem mem;
	const u8 *p;

	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	CHECK_EQ(boot_write_reset_stub(&mem), 0);
	p = guest_mem_ptr(&mem, LAYOUT_RESET_VECTOR, 16);
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ(p[0], 0xBA);
		CHECK_EQ(p[1] | p[2] << 8, PORT_ACPI_RESET);
		CHECK_EQ(p[3], 0xB0);
		CHECK_EQ(p[4], ACPI_RESET_VALUE);
		CHECK_EQ(p[5], 0xEE);
		CHECK_EQ(p[7], 0xF4);
	}
	CHECK(LAYOUT_ACPI_END <= LAYOUT_MPTABLE && LAYOUT_RESET_VECTOR + 16 <= 0x100000);
	guest_mem_destroy(&mem);
}

int main(void)
{
	TEST_RUN(test_reset_stub);
	TEST_RUN(test_bzimage_good);
	TEST_RUN(test_bzimage_no_cmdline_no_initrd);
	TEST_RUN(test_bzimage_truncated);
	TEST_RUN(test_bzimage_old_protocol);
	TEST_RUN(test_bzimage_too_big_for_ram);
	TEST_RUN(test_bzimage_cmdline_too_long);
	TEST_RUN(test_initrd_limits);
	TEST_RUN(test_e820_high_ram);
	TEST_RUN(test_not_a_kernel);
	TEST_RUN(test_elf_pvh);
	TEST_RUN(test_elf_startup64);
	TEST_RUN(test_elf_errors);
	TEST_RUN(test_mutations);
	TEST_RUN(test_bzimage_unpacked);
	TEST_RUN(test_bzimage_not_unpacked);
	TEST_RUN(test_boot_debian_kernel);
	TEST_RUN(test_boot_debian_vmlinux);
	return test_done();
}
