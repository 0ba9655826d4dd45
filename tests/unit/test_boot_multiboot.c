/* Unit tests of the multiboot v1 loader: ELF and a.out-kludge kernels, modules, info, errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/loader.h"
#include "popek/layout.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

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

/* Runs boot_load on a kernel image with stderr captured into err. */
static int mb_run(const u8 *img, size_t len, const char *modules, const char *cmdline,
		  struct guest_mem *mem, struct boot_result *res, char **kpath, char *err,
		  size_t errsz)
{
	char tmpl[] = "/tmp/popek_test_err_XXXXXX";
	char *path = tmp_write("mb", img, len);
	struct vm_config cfg = {.kernel_path = path, .initrd_path = modules, .cmdline = cmdline};
	int fd = mkstemp(tmpl), saved, r;
	ssize_t n;

	if (guest_mem_init(mem, 64 * MiB))
		abort();
	/* Dirty the kernel area so that the loader has to zero the bss. */
	memset(guest_mem_ptr(mem, MiB, 64 * KiB), 0xcc, 64 * KiB);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	r = boot_load(mem, &cfg, 0, res);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, err, errsz - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(tmpl);
	if (kpath)
		*kpath = path;
	else
		tmp_remove(path);
	return r;
}

static u32 rd32(struct guest_mem *mem, gpa_t gpa)
{
	u8 *p = guest_mem_ptr(mem, gpa, 4);
	return p ? get_le32(p) : 0xdeadbeef;
}

static u64 rd64(struct guest_mem *mem, gpa_t gpa)
{
	u8 *p = guest_mem_ptr(mem, gpa, 8);
	return p ? get_le64(p) : 0xdeadbeefdeadbeefULL;
}

static const char *rdstr(struct guest_mem *mem, gpa_t gpa)
{
	const char *s = guest_mem_ptr(mem, gpa, 1);
	return s ? s : "(not in RAM)";
}

static void mb_header(u8 *p, u32 flags)
{
	put_le32(p, MULTIBOOT_HEADER_MAGIC);
	put_le32(p + 4, flags);
	put_le32(p + 8, -(MULTIBOOT_HEADER_MAGIC + flags));
}

/* ELF32 kernel: text at file 0x1000 loaded at 1 MiB (linked at 0xC0100000),
 * 0x2000 bytes of file, 0x3000 in memory; multiboot header at 0x1000. */
#define MB_ELF_LEN 0x3000
static void mb_elf_build(u8 *b, bool with_header)
{
	u8 *ph = b + 52;

	memset(b, 0, MB_ELF_LEN);
	memcpy(b, "\177ELF", 4);
	b[4] = 1; /* ELFCLASS32 */
	b[5] = 1;
	b[6] = 1;
	put_le16(b + 16, 2); /* ET_EXEC */
	put_le16(b + 18, 3); /* EM_386 */
	put_le32(b + 20, 1);
	put_le32(b + 24, 0xC0100010); /* virtual: translated through the segment */
	put_le32(b + 28, 52);
	put_le16(b + 40, 52);
	put_le16(b + 42, 32);
	put_le16(b + 44, 1);
	put_le32(ph, 1); /* PT_LOAD */
	put_le32(ph + 4, 0x1000);
	put_le32(ph + 8, 0xC0100000);
	put_le32(ph + 12, 0x100000);
	put_le32(ph + 16, 0x2000);
	put_le32(ph + 20, 0x3000);
	for (int i = 0x1000; i < MB_ELF_LEN; i++)
		b[i] = (u8)(i * 13);
	if (with_header)
		mb_header(b + 0x1000, 0x3);
}

static void check_protected_entry(const struct boot_result *res, u64 rip)
{
	const struct x86_sregs *s = &res->entry.sregs;

	CHECK_EQ(res->kind, BOOT_MULTIBOOT);
	CHECK_EQ(res->entry.regs.rip, rip);
	CHECK_EQ(res->entry.regs.gpr[X86_RAX], 0x2BADB002);
	CHECK_EQ(res->entry.regs.gpr[X86_RBX], LAYOUT_MB_INFO);
	CHECK_EQ(res->entry.regs.rflags, 2);
	CHECK_EQ(s->cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE);
	CHECK_EQ(s->efer, 0);
	CHECK_EQ(s->cr4, 0);
	CHECK(s->seg[X86_CS].type == 0xb && s->seg[X86_CS].db == 1 && s->seg[X86_CS].l == 0);
	CHECK(s->seg[X86_CS].base == 0 && s->seg[X86_CS].limit == 0xffffffff);
	for (int i = 0; i < 6; i++) {
		if (i == X86_CS)
			continue;
		CHECK(s->seg[i].type == 3 && s->seg[i].db == 1 && s->seg[i].present);
		CHECK(s->seg[i].base == 0 && s->seg[i].limit == 0xffffffff);
	}
	CHECK(s->tr.type == 11 && s->tr.present);
	CHECK(s->ldt.unusable);
}

/* ---- tests -------------------------------------------------------------- */

static void test_module_list_parser(void)
{
	char out[64];
	const char *p = "a b,c,,d e,,,f";

	CHECK(multiboot_next_module(&p, out) && !strcmp(out, "a b"));
	CHECK(multiboot_next_module(&p, out) && !strcmp(out, "c,d e,"));
	CHECK(multiboot_next_module(&p, out) && !strcmp(out, "f"));
	CHECK(!multiboot_next_module(&p, out));
	p = "one,";
	CHECK(multiboot_next_module(&p, out) && !strcmp(out, "one"));
	CHECK(!multiboot_next_module(&p, out));
	p = ",x";
	CHECK(multiboot_next_module(&p, out) && !strcmp(out, ""));
	CHECK(multiboot_next_module(&p, out) && !strcmp(out, "x"));
	p = "";
	CHECK(!multiboot_next_module(&p, out));
}

static void test_find_header(void)
{
	static u8 b[MULTIBOOT_SEARCH + 64];

	memset(b, 0, sizeof(b));
	CHECK_EQ(multiboot_find(b, sizeof(b)), -1);
	mb_header(b + 8188 - 8, 0); /* last possible 4-aligned spot */
	CHECK_EQ(multiboot_find(b, sizeof(b)), 8180);
	memset(b, 0, sizeof(b));
	mb_header(b + 8192, 0); /* beyond the first 8192 bytes */
	CHECK_EQ(multiboot_find(b, sizeof(b)), -1);
	mb_header(b + 6, 0); /* not 4-aligned */
	CHECK_EQ(multiboot_find(b, sizeof(b)), -1);
	mb_header(b + 12, 0);
	put_le32(b + 20, 1); /* bad checksum */
	CHECK_EQ(multiboot_find(b, sizeof(b)), -1);
	CHECK_EQ(multiboot_find(b, 10), -1);
}

static void test_multiboot_elf_modules(void)
{
	static u8 img[MB_ELF_LEN];
	static const u8 m1[5000] = {0x11, 0x22};
	static const u8 m2[3] = {7, 8, 9};
	char *p1 = tmp_write("mod", m1, sizeof(m1)), *p2 = tmp_write("mod,c", m2, sizeof(m2));
	char *list, *kpath, err[1024], want[256];
	struct guest_mem mem;
	struct boot_result res;
	u32 mods, mmap, mod1_start;
	const u8 *z;

	mb_elf_build(img, true);
	/* The comma in the second path is written ",,". */
	if (asprintf(&list, "%s arg1,/tmp/popek_test_mod,,c_%s x y", p1,
		     p2 + strlen("/tmp/popek_test_mod,c_")) < 0)
		abort();
	CHECK_EQ(
	    mb_run(img, sizeof(img), list, "console=ttyS0", &mem, &res, &kpath, err, sizeof(err)),
	    0);
	CHECK_EQ(err[0], 0);
	check_protected_entry(&res, 0x100010);
	CHECK_EQ(res.kernel_start, 0x100000);
	CHECK_EQ(res.kernel_end, 0x103000);
	CHECK(!memcmp(guest_mem_ptr(&mem, 0x100000, 0x2000), img + 0x1000, 0x2000));
	z = guest_mem_ptr(&mem, 0x102000, 0x1000);
	CHECK(z[0] == 0 && z[0xfff] == 0);

	CHECK_EQ(rd32(&mem, LAYOUT_MB_INFO), 0x24d); /* MEM CMDLINE MODS MMAP LOADER_NAME */
	CHECK_EQ(rd32(&mem, LAYOUT_MB_INFO + 4), 640);
	CHECK_EQ(rd32(&mem, LAYOUT_MB_INFO + 8), (64 * MiB - MiB) / KiB);
	snprintf(want, sizeof(want), "%s console=ttyS0", kpath);
	CHECK(!strcmp(rdstr(&mem, rd32(&mem, LAYOUT_MB_INFO + 16)), want));
	CHECK(!strcmp(rdstr(&mem, rd32(&mem, LAYOUT_MB_INFO + 64)), "popek"));

	CHECK_EQ(rd32(&mem, LAYOUT_MB_INFO + 20), 2);
	mods = rd32(&mem, LAYOUT_MB_INFO + 24);
	CHECK(mods >= LAYOUT_MB_AREA && mods < LAYOUT_EBDA_START);
	CHECK_EQ(rd32(&mem, mods), 0x103000);
	CHECK_EQ(rd32(&mem, mods + 4), 0x103000 + sizeof(m1));
	snprintf(want, sizeof(want), "%s arg1", p1);
	CHECK(!strcmp(rdstr(&mem, rd32(&mem, mods + 8)), want));
	CHECK(!memcmp(guest_mem_ptr(&mem, 0x103000, sizeof(m1)), m1, sizeof(m1)));
	mod1_start = rd32(&mem, mods + 16);
	CHECK_EQ(mod1_start, ALIGN_UP(0x103000 + sizeof(m1), 4096));
	CHECK_EQ(rd32(&mem, mods + 20), mod1_start + sizeof(m2));
	snprintf(want, sizeof(want), "%s x y", p2);
	CHECK(!strcmp(rdstr(&mem, rd32(&mem, mods + 24)), want));
	CHECK(!memcmp(guest_mem_ptr(&mem, mod1_start, sizeof(m2)), m2, sizeof(m2)));
	CHECK_EQ(res.initrd_start, 0x103000);
	CHECK_EQ(res.initrd_size, mod1_start + sizeof(m2) - 0x103000);

	CHECK_EQ(rd32(&mem, LAYOUT_MB_INFO + 44), 3 * 24);
	mmap = rd32(&mem, LAYOUT_MB_INFO + 48);
	CHECK(mmap >= LAYOUT_MB_AREA && mmap < LAYOUT_EBDA_START);
	CHECK_EQ(rd32(&mem, mmap), 20);
	CHECK_EQ(rd64(&mem, mmap + 4), 0);
	CHECK_EQ(rd64(&mem, mmap + 12), LAYOUT_EBDA_START);
	CHECK_EQ(rd32(&mem, mmap + 20), 1);
	CHECK_EQ(rd64(&mem, mmap + 24 + 4), LAYOUT_EBDA_START);
	CHECK_EQ(rd32(&mem, mmap + 24 + 20), 2);
	CHECK_EQ(rd64(&mem, mmap + 48 + 4), MiB);
	CHECK_EQ(rd64(&mem, mmap + 48 + 12), 63 * MiB);
	CHECK_EQ(rd32(&mem, mmap + 48 + 20), 1);
	/* 32-bit GDT at LAYOUT_GDT matching the segment registers. */
	CHECK_EQ(rd64(&mem, LAYOUT_GDT + 0x10), 0x00cf9b000000ffffULL);
	CHECK_EQ(rd64(&mem, LAYOUT_GDT + 0x18), 0x00cf93000000ffffULL);

	guest_mem_destroy(&mem);
	tmp_remove(kpath);
	tmp_remove(p1);
	tmp_remove(p2);
	free(list);
}

/* Raw binary with the a.out kludge: header at file offset 0x20. */
static void aout_build(u8 *b, size_t len, u32 load_end, u32 bss_end, u32 entry)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (u8)(i * 5 + 1);
	mb_header(b + 0x20, 0x10003);
	put_le32(b + 0x2c, 0x100020); /* header_addr */
	put_le32(b + 0x30, 0x100000); /* load_addr */
	put_le32(b + 0x34, load_end);
	put_le32(b + 0x38, bss_end);
	put_le32(b + 0x3c, entry);
}

static void test_multiboot_aout(void)
{
	static u8 img[0x800];
	struct guest_mem mem;
	struct boot_result res;
	char *kpath, err[1024];
	const u8 *z;

	aout_build(img, sizeof(img), 0, 0x102000, 0x100040);
	CHECK_EQ(mb_run(img, sizeof(img), NULL, NULL, &mem, &res, &kpath, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	check_protected_entry(&res, 0x100040);
	CHECK_EQ(res.kernel_start, 0x100000);
	CHECK_EQ(res.kernel_end, 0x102000);
	CHECK(!memcmp(guest_mem_ptr(&mem, 0x100000, sizeof(img)), img, sizeof(img)));
	z = guest_mem_ptr(&mem, 0x100800, 0x1800);
	CHECK(z[0] == 0 && z[0x17ff] == 0);
	CHECK_EQ(rd32(&mem, LAYOUT_MB_INFO), 0x245); /* no MODS */
	CHECK(!strcmp(rdstr(&mem, rd32(&mem, LAYOUT_MB_INFO + 16)), kpath));
	guest_mem_destroy(&mem);
	tmp_remove(kpath);

	/* load_end_addr: only the first 0x400 bytes are the image. */
	aout_build(img, sizeof(img), 0x100400, 0, 0x100040);
	CHECK_EQ(mb_run(img, sizeof(img), NULL, NULL, &mem, &res, NULL, err, sizeof(err)), 0);
	CHECK_EQ(res.kernel_end, 0x100400);
	CHECK(!memcmp(guest_mem_ptr(&mem, 0x100000, 0x400), img, 0x400));
	CHECK_EQ(*(u8 *)guest_mem_ptr(&mem, 0x100400, 1), 0xcc); /* untouched */
	guest_mem_destroy(&mem);
}

/* mb_elf_build's kernel moved to physical (and virtual) address at, len
 * bytes of memory (up to 0x2000 of them from the file). */
static void mb_elf_at(u8 *b, u32 at, u32 len)
{
	mb_elf_build(b, true);
	put_le32(b + 24, at + 0x10); /* entry */
	put_le32(b + 52 + 8, at);
	put_le32(b + 52 + 12, at);
	put_le32(b + 52 + 16, MIN(len, 0x2000u));
	put_le32(b + 52 + 20, len);
}

/* A kernel below 1 MiB (linked at 0x8000) is RAM like any other; its
 * modules still go above 1 MiB, clear of the low areas popek uses. */
static void test_multiboot_low(void)
{
	static u8 img[MB_ELF_LEN];
	static const u8 m1[100] = {0x5a};
	char *p1 = tmp_write("mod", m1, sizeof(m1)), err[1024];
	struct guest_mem mem;
	struct boot_result res;
	u32 mods;

	mb_elf_at(img, 0x8000, 0x3000);
	CHECK_EQ(mb_run(img, sizeof(img), p1, NULL, &mem, &res, NULL, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	check_protected_entry(&res, 0x8010);
	CHECK_EQ(res.kernel_start, 0x8000);
	CHECK_EQ(res.kernel_end, 0xb000);
	CHECK(!memcmp(guest_mem_ptr(&mem, 0x8000, 0x2000), img + 0x1000, 0x2000));
	CHECK_EQ(*(u8 *)guest_mem_ptr(&mem, 0xafff, 1), 0);
	CHECK_EQ(rd32(&mem, LAYOUT_MB_INFO + 20), 1);
	mods = rd32(&mem, LAYOUT_MB_INFO + 24);
	CHECK_EQ(rd32(&mem, mods), MiB);
	CHECK(!memcmp(guest_mem_ptr(&mem, MiB, sizeof(m1)), m1, sizeof(m1)));
	guest_mem_destroy(&mem);

	/* The largest that fits: from 0x7074 (after the info) to 0x30000. */
	mb_elf_at(img, 0x7078, 0x30000 - 0x7078);
	CHECK_EQ(mb_run(img, sizeof(img), NULL, NULL, &mem, &res, NULL, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	guest_mem_destroy(&mem);

	/* The a.out kludge at 0x8000 too. */
	aout_build(img, 0x800, 0, 0x9000, 0x8040);
	put_le32(img + 0x2c, 0x8020);
	put_le32(img + 0x30, 0x8000);
	CHECK_EQ(mb_run(img, 0x800, NULL, NULL, &mem, &res, NULL, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
	check_protected_entry(&res, 0x8040);
	CHECK(!memcmp(guest_mem_ptr(&mem, 0x8000, 0x800), img, 0x800));
	guest_mem_destroy(&mem);
	tmp_remove(p1);
}

/* Segments over what popek writes below 1 MiB for a multiboot kernel are
 * refused with a line naming it. */
static void test_multiboot_low_overlaps(void)
{
	static const struct {
		u32 at, len;
		const char *msg;
	} cases[] = {
	    {0x400, 0x1000,
	     "': multiboot segment [0x400, 0x1400) overlaps the boot GDT at "
	     "[0x500, 0x520)\n"},
	    {0x6000, 0x3000,
	     "': multiboot segment [0x6000, 0x9000) overlaps the multiboot "
	     "information at [0x7000, 0x7074)\n"},
	    {0x2f000, 0x2000,
	     "': multiboot segment [0x2f000, 0x31000) overlaps the multiboot "
	     "memory map, command line and module list at [0x30000, 0x9fc00)\n"},
	    {0x9f000, 0x1000,
	     "': multiboot segment [0x9f000, 0xa0000) overlaps the multiboot "
	     "memory map, command line and module list at [0x30000, 0x9fc00)\n"},
	    {0xe0000, 0x1000,
	     "': multiboot segment [0xe0000, 0xe1000) overlaps the EBDA, ACPI "
	     "tables and BIOS area (reserved in the e820 map) at [0x9fc00, "
	     "0x100000)\n"},
	    {0xff000, 0x3000,
	     "': multiboot segment [0xff000, 0x102000) overlaps the EBDA, ACPI "
	     "tables and BIOS area (reserved in the e820 map) at [0x9fc00, "
	     "0x100000)\n"},
	};
	static u8 img[MB_ELF_LEN];
	struct guest_mem mem;
	struct boot_result res;
	char err[1024];

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		mb_elf_at(img, cases[i].at, cases[i].len);
		CHECK_EQ(mb_run(img, sizeof(img), NULL, NULL, &mem, &res, NULL, err, sizeof(err)),
			 -ENOMEM);
		CHECK(strstr(err, cases[i].msg) != NULL);
		if (!strstr(err, cases[i].msg))
			printf("  got: %s", err);
		guest_mem_destroy(&mem);
	}
	/* The a.out kludge is checked the same way. */
	aout_build(img, 0x800, 0, 0, 0x7040);
	put_le32(img + 0x2c, 0x7020);
	put_le32(img + 0x30, 0x7000);
	CHECK_EQ(mb_run(img, 0x800, NULL, NULL, &mem, &res, NULL, err, sizeof(err)), -ENOMEM);
	CHECK(strstr(err, "': multiboot image [0x7000, 0x7800) overlaps the multiboot "
			  "information at [0x7000, 0x7074)\n") != NULL);
	guest_mem_destroy(&mem);
	/* Beyond RAM is still beyond RAM. */
	mb_elf_at(img, 0x3fff000, 0x2000);
	CHECK_EQ(mb_run(img, sizeof(img), NULL, NULL, &mem, &res, NULL, err, sizeof(err)), -ENOMEM);
	CHECK(strstr(err, "': ELF segment [0x3fff000, 0x4001000) is outside guest RAM [0, "
			  "0x4000000) with --mem 64M\n") != NULL);
	guest_mem_destroy(&mem);
}

static void test_multiboot_errors(void)
{
	static u8 img[0x800], elf[MB_ELF_LEN];
	struct guest_mem mem;
	struct boot_result res;
	char err[1024], *list;

#define EXPECT(r_, text_)                                                                          \
	do {                                                                                       \
		CHECK_EQ(mb_run(img, sizeof(img), NULL, NULL, &mem, &res, NULL, err, sizeof(err)), \
			 r_);                                                                      \
		CHECK(strstr(err, text_) != NULL);                                                 \
		if (!strstr(err, text_))                                                           \
			printf("  got: %s", err);                                                  \
		guest_mem_destroy(&mem);                                                           \
	} while (0)

	aout_build(img, sizeof(img), 0, 0, 0x100040);
	mb_header(img + 0x20, 0x10008);
	EXPECT(-ENOEXEC, "': multiboot header requires unsupported features (flags 0x10008)\n");

	aout_build(img, sizeof(img), 0, 0, 0x100040);
	put_le32(img + 0x28, 0); /* checksum */
	EXPECT(-ENOEXEC, "': not a Linux bzImage, ELF vmlinux or multiboot kernel\n");

	aout_build(img, sizeof(img), 0, 0, 0x100040);
	mb_header(img + 0x20, 0x3);
	EXPECT(-ENOEXEC, "': multiboot kernel is neither ELF nor uses the a.out kludge "
			 "(header flag 16)\n");

	aout_build(img, sizeof(img), 0, 0, 0x100040);
	put_le32(img + 0x2c, 0x100100); /* header_addr: file offset would be negative */
	EXPECT(-ENOEXEC, "': multiboot header_addr 0x100100 and load_addr 0x100000 do not match "
			 "the header's file offset 0x20\n");

	aout_build(img, sizeof(img), 0, 0x1000, 0x100040);
	EXPECT(-ENOEXEC, "': multiboot load_end_addr 0 / bss_end_addr 0x1000 are inconsistent");

	aout_build(img, sizeof(img), 0x101000, 0, 0x100040);
	EXPECT(-ENOEXEC, "': multiboot load_end_addr 0x101000 / bss_end_addr 0 are inconsistent");

	aout_build(img, sizeof(img), 0, 0, 0x100900);
	EXPECT(-ENOEXEC, "': multiboot entry point 0x100900 is outside the image "
			 "[0x100000, 0x100800)\n");

	aout_build(img, sizeof(img), 0, 0xf0000000, 0x100040);
	EXPECT(-ENOMEM, "': multiboot image [0x100000, 0xf0000000) is outside guest RAM "
			"[0, 0x4000000) with --mem 64M\n");

	/* Modules: missing file, empty path, too big. */
	aout_build(img, sizeof(img), 0, 0, 0x100040);
	CHECK_EQ(mb_run(img, sizeof(img), "/nonexistent/mod a,b", NULL, &mem, &res, NULL, err,
			sizeof(err)),
		 -ENOENT);
	CHECK(!strcmp(err, "popek: error: module '/nonexistent/mod': No such file or directory\n"));
	guest_mem_destroy(&mem);
	CHECK_EQ(mb_run(img, sizeof(img), " args", NULL, &mem, &res, NULL, err, sizeof(err)),
		 -EINVAL);
	CHECK(!strcmp(err, "popek: error: multiboot module list: empty module path in ' args'\n"));
	guest_mem_destroy(&mem);
	{
		static u8 big[40 * MiB];
		char *p = tmp_write("bigmod", big, sizeof(big));

		if (asprintf(&list, "%s,%s", p, p) < 0)
			abort();
		CHECK_EQ(mb_run(img, sizeof(img), list, NULL, &mem, &res, NULL, err, sizeof(err)),
			 -ENOMEM);
		CHECK(strstr(err, "' (40 MiB) does not fit below 0x4000000 with --mem 64M\n"));
		guest_mem_destroy(&mem);
		free(list);
		tmp_remove(p);
	}

	/* An ELF32 without a multiboot header is neither kind of kernel. */
	mb_elf_build(elf, false);
	CHECK_EQ(mb_run(elf, sizeof(elf), NULL, NULL, &mem, &res, NULL, err, sizeof(err)),
		 -ENOEXEC);
	CHECK(strstr(err, "': ELF file is not an x86-64 vmlinux (class 32, machine 3) and has "
			  "no multiboot header\n"));
	guest_mem_destroy(&mem);
	/* Multiboot ELF of another machine. */
	mb_elf_build(elf, true);
	put_le16(elf + 18, 40); /* EM_ARM */
	CHECK_EQ(mb_run(elf, sizeof(elf), NULL, NULL, &mem, &res, NULL, err, sizeof(err)),
		 -ENOEXEC);
	CHECK(strstr(err, "': multiboot ELF machine 40 is not x86\n"));
	guest_mem_destroy(&mem);
#undef EXPECT
}

/* Random header bytes never crash the loader. */
static void test_multiboot_mutations(void)
{
	static u8 base[0x800], img[0x800], elf_base[MB_ELF_LEN], elf[MB_ELF_LEN];
	struct guest_mem mem;
	struct boot_result res;
	char err[4096];
	unsigned seed = 777;

	aout_build(base, sizeof(base), 0, 0x102000, 0x100040);
	mb_elf_build(elf_base, true);
	for (int i = 0; i < 200; i++) {
		bool aout = i & 1;
		u8 *b = aout ? img : elf;
		size_t len = aout ? sizeof(img) : sizeof(elf);
		int r;

		memcpy(b, aout ? base : elf_base, len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			if (aout)
				b[0x24 + (seed >> 8) % 0x1c] = (u8)(seed >> 20);
			else
				b[(seed >> 8) % 0x54] = (u8)(seed >> 20);
		}
		if (aout) /* keep the checksum valid so that the header is found */
			put_le32(b + 0x28, -(MULTIBOOT_HEADER_MAGIC + get_le32(b + 0x24)));
		r = mb_run(b, len, NULL, NULL, &mem, &res, NULL, err, sizeof(err));
		CHECK(r == 0 || (r < 0 && err[0]));
		guest_mem_destroy(&mem);
	}
}

int main(void)
{
	TEST_RUN(test_module_list_parser);
	TEST_RUN(test_find_header);
	TEST_RUN(test_multiboot_elf_modules);
	TEST_RUN(test_multiboot_aout);
	TEST_RUN(test_multiboot_low);
	TEST_RUN(test_multiboot_low_overlaps);
	TEST_RUN(test_multiboot_errors);
	TEST_RUN(test_multiboot_mutations);
	return test_done();
}
