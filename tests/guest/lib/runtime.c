/* Guest runtime: GDT/TSS/IDT setup, trap dispatch, serial printf, checks, exit. */
#include "guest.h"

/* Long-mode GDT (Intel SDM Vol. 3A 3.4.5, 7.2.3) with Linux's selectors
 * (arch/x86/include/asm/segment.h), in the order SYSRET expects, then one
 * 16-byte TSS descriptor per CPU (SEL_TSS + 16 * cpu), filled at run time.
 * Loaded by the 32-bit entry. */
u64 gdt[8 + 2 * SMP_MAX_CPUS] = {
	0,
	0x00CF9A000000FFFFULL, /* 0x08 kernel code, 32-bit (unused) */
	0x00AF9A000000FFFFULL, /* 0x10 kernel code, 64-bit */
	0x00CF92000000FFFFULL, /* 0x18 kernel data */
	0x00CFFA000000FFFFULL, /* 0x23 user code, 32-bit (unused) */
	0x00CFF2000000FFFFULL, /* 0x2b user data */
	0x00AFFA000000FFFFULL, /* 0x33 user code, 64-bit */
};

/* The BSP's TSS (lib/smp.c has the APs'): RSP0 for ring 3 -> 0, IST1 for
 * NMI, #DF and #MC so that they always get a good stack. */
static struct tss64 tss;
static u64 ist1_stack[1024] __attribute__((aligned(16)));
static u64 rsp0_stack[2048] __attribute__((aligned(16)));

static struct __attribute__((packed)) {
	u16 lo;
	u16 sel;
	u8 ist;
	u8 type;
	u16 mid;
	u32 hi;
	u32 reserved;
} idt[256];

extern char idt_stubs[];
extern u64 pd[];
static trap_fn handlers[256], raw_handlers[256];
static int failures;
static int print_owner = -1, print_depth; /* see print_lock() */
volatile struct trap_info last_trap;
volatile u64 trap_resume, catch_start, catch_end;

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (u8)*a - (u8)*b;
}

/* 16550: wait for THR empty (LSR bit 5), then write. */
void putchar_serial(char c)
{
	for (int i = 0; i < 100000 && !(inb(0x3fd) & 0x20); i++)
		pause();
	outb(0x3f8, (u8)c);
}

static void put_num(u64 v, unsigned base, bool neg, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (width-- > n)
		putchar_serial(pad);
	while (n)
		putchar_serial(buf[--n]);
}

/* %s %c %d %u %x %lx %ld %lu %p and %#x; optional 0-padded width. */
void vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool alt = false, lng = false;
		int width = 0;
		char pad = ' ';
		u64 v;

		if (*fmt != '%') {
			putchar_serial(*fmt);
			continue;
		}
		if (*++fmt == '#')
			alt = true, fmt++;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		if (*fmt == 'l')
			lng = true, fmt++;
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (*s)
				putchar_serial(*s++);
			break;
		}
		case 'c':
			putchar_serial((char)va_arg(ap, int));
			break;
		case 'd': {
			s64 d = lng ? va_arg(ap, s64) : va_arg(ap, int);
			put_num(d < 0 ? -(u64)d : (u64)d, 10, d < 0, width, pad);
			break;
		}
		case 'u':
			v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
			put_num(v, 10, false, width, pad);
			break;
		case 'p':
			alt = true, lng = true;
			/* fall through */
		case 'x':
			v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
			if (alt)
				putchar_serial('0'), putchar_serial('x');
			put_num(v, 16, false, width, pad);
			break;
		default:
			putchar_serial('%');
			putchar_serial(*fmt);
			if (!*fmt)
				return;
		}
	}
}

/* Keeps the lines of different CPUs apart. The owner may take it again (a
 * trap handler printing while its CPU prints), so it never deadlocks. */
static void print_lock(void)
{
	int me = (int)smp_cpu(), free = -1;

	if (__atomic_load_n(&print_owner, __ATOMIC_ACQUIRE) == me) {
		print_depth++;
		return;
	}
	while (!__atomic_compare_exchange_n(&print_owner, &free, me, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free = -1;
		pause();
	}
	print_depth = 1;
}

static void print_unlock(void)
{
	if (--print_depth == 0)
		__atomic_store_n(&print_owner, -1, __ATOMIC_RELEASE);
}

void printf(const char *fmt, ...)
{
	va_list ap;

	print_lock();
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	print_unlock();
}

bool check_trap(const char *what, u64 vector, u64 error, u64 rip, u64 cr2)
{
	return check(last_trap.count == 1 && last_trap.vector == vector &&
			     last_trap.error == error && last_trap.rip == rip && last_trap.cr2 == cr2,
		     "%s: %lu traps, vector %lu error %#lx rip %#lx cr2 %#lx (want 1, %lu, %#lx, %#lx, "
		     "%#lx)",
		     what, last_trap.count, last_trap.vector, last_trap.error, last_trap.rip,
		     last_trap.cr2, vector, error, rip, cr2);
}

bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	print_lock();
	printf(ok ? "ok - " : "not ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar_serial('\n');
	print_unlock();
	if (!ok)
		__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
	return ok;
}

void skip(const char *what, const char *why)
{
	printf("ok - %s # SKIP %s\n", what, why);
}

void debug_exit(u8 v)
{
	outb(DEBUG_EXIT_PORT, v);
	for (;;)
		asm volatile("cli; hlt");
}

/* PASS: v = 0x10, popek status 0x21; FAIL: v = 0x11, status 0x23. */
void guest_exit(bool pass)
{
	pass = pass && !__atomic_load_n(&failures, __ATOMIC_RELAXED);
	printf(pass ? "PASS\n" : "FAIL\n");
	debug_exit(pass ? 0x10 : 0x11);
}

void trap_reset(void)
{
	memset((void *)&last_trap, 0, sizeof(last_trap));
	trap_resume = 0;
}

void trap_set_handler(unsigned vector, trap_fn fn)
{
	handlers[vector & 255] = fn;
}

void trap_set_raw_handler(unsigned vector, trap_fn fn)
{
	raw_handlers[vector & 255] = fn;
}

void trap_handler(struct trap_frame *f);
void trap_handler(struct trap_frame *f)
{
	if (raw_handlers[f->vector]) {
		raw_handlers[f->vector](f); /* not a trap to a test: not recorded */
		return;
	}
	last_trap.cr2 = f->vector == 14 ? read_cr2() : 0;
	last_trap.vector = f->vector;
	last_trap.error = f->error;
	last_trap.rip = f->rip;
	last_trap.count++;
	if (f->vector < 32 && trap_resume) {
		f->rip = trap_resume;
		trap_resume = 0;
		return;
	}
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	printf("not ok - unexpected trap: vector %lu error %#lx rip %#lx cr2 %#lx\n", f->vector,
	       f->error, f->rip, last_trap.cr2);
	guest_exit(false);
}

struct __attribute__((packed)) dtable_ptr {
	u16 limit;
	u64 base;
};

void cpu_tables_load(unsigned cpu, struct tss64 *t, void *ist1_top, void *rsp0_top)
{
	u64 base = (u64)t;
	struct dtable_ptr p = {sizeof(gdt) - 1, (u64)gdt};
	struct dtable_ptr i = {sizeof(idt) - 1, (u64)idt};

	memset(t, 0, sizeof(*t));
	t->ist[0] = (u64)ist1_top;
	t->rsp[0] = (u64)rsp0_top;
	t->iomap_base = sizeof(*t);
	/* Available 64-bit TSS, type 9 (Intel SDM Vol. 3A 7.2.3, Figure 7-4). */
	gdt[8 + 2 * cpu] = (sizeof(*t) - 1) | (base & 0xFFFFFF) << 16 | 0x89ULL << 40 |
			   ((base >> 24) & 0xFF) << 56;
	gdt[9 + 2 * cpu] = base >> 32;
	asm volatile("lgdt %0; ltr %w1; lidt %2" ::"m"(p), "r"(SEL_TSS + 16 * cpu), "m"(i)
		     : "memory");
}

static void descriptors_init(void)
{
	u64 stubs = (u64)idt_stubs;

	for (int v = 0; v < 256; v++) {
		u64 a = stubs + 16 * v;
		idt[v].lo = (u16)a;
		idt[v].sel = SEL_KCODE;
		idt[v].ist = (v == 2 || v == 8 || v == 18) ? 1 : 0;
		idt[v].type = v == RING3_EXIT_VECTOR ? 0xEE : 0x8E; /* present, DPL 0 (3), int. gate */
		idt[v].mid = (u16)(a >> 16);
		idt[v].hi = (u32)(a >> 32);
	}
	cpu_tables_load(0, &tss, &ist1_stack[1024], &rsp0_stack[2048]);
}

/* Remap the 8259s to vectors 0x20-0x2F and mask them: firmware may have
 * left IRQ0 routed to vector 8, which would look like a #DF. */
static void pic_mask(void)
{
	static const u8 seq[][2] = {{0x20, 0x11}, {0xA0, 0x11}, {0x21, 0x20}, {0xA1, 0x28},
				    {0x21, 0x04}, {0xA1, 0x02}, {0x21, 0x01}, {0xA1, 0x01},
				    {0x21, 0xFF}, {0xA1, 0xFF}};
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		outb(seq[i][0], seq[i][1]);
}

static u64 page_tables[4][512] __attribute__((aligned(4096)));
static unsigned page_tables_used;

u64 *paging_pte(u64 va)
{
	u64 *pde = &pd[va >> 21], *pt;

	if (!(*pde & (1 << 7)))
		return &((u64 *)(*pde & ~0xFFFULL))[(va >> 12) & 511];
	if (page_tables_used == 4) {
		printf("not ok - paging_pte: out of page tables\n");
		guest_exit(false);
	}
	pt = page_tables[page_tables_used++];
	for (u64 i = 0; i < 512; i++)
		pt[i] = ((va >> 21) << 21) + (i << 12) + (PTE_P | PTE_RW);
	*pde = (u64)pt | PTE_P | PTE_RW | PTE_US;
	paging_flush();
	return &pt[(va >> 12) & 511];
}

void paging_flush(void)
{
	asm volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

/* The multiboot command line (flag bit 2, Multiboot Specification 3.3),
 * "path args", or "" when the loader gave none. */
static const char *cmdline(void)
{
	const u32 *info = (const u32 *)(u64)mb_info;

	return info && (info[0] & (1u << 2)) && info[4] ? (const char *)(u64)info[4] : "";
}

u64 cmdline_u64(const char *key, u64 def)
{
	const char *p = cmdline();
	size_t n = strlen(key);
	u64 v = 0;

	for (; *p; p++) {
		if ((p != cmdline() && p[-1] != ' ') || memcmp(p, key, n) || p[n] != '=')
			continue;
		for (p += n + 1; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (u64)(*p - '0');
		return v;
	}
	return def;
}

const char *cpu_vendor(void)
{
	static char name[13];
	u32 r[4];

	if (!name[0]) {
		cpuid(0, 0, r);
		memcpy(name, &r[1], 4);
		memcpy(name + 4, &r[3], 4);
		memcpy(name + 8, &r[2], 4);
		printf("# vendor %s\n", name);
	}
	return name;
}

bool msr_access_faults(u32 msr, bool write, u64 v)
{
	trap_reset();
	if (write)
		asm volatile(CATCH("wrmsr")::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32))
			     : "r11", "memory");
	else
		asm volatile(CATCH("rdmsr")::"c"(msr) : "rax", "rdx", "r11", "memory");
	return last_trap.count == 1 && last_trap.vector == 13 && last_trap.error == 0 &&
	       last_trap.rip == catch_start;
}

bool testdev_present(void)
{
	return inb(TESTDEV_PORT + 4) == 0x5A;
}

u32 lapic_read(u32 reg) { return mmio_read32(LAPIC_BASE + reg); }
void lapic_write(u32 reg, u32 v) { mmio_write32(LAPIC_BASE + reg, v); }
void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

u32 ioapic_read(u32 reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

void ioapic_write(u32 reg, u32 v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

/* Software-enable the xAPIC (Intel SDM Vol. 3A 11.4.7.2) with spurious
 * vector 0xFF and accept all priorities. */
void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x100 | 0xFF);
	lapic_write(LAPIC_TPR, 0);
}

/* The outb to port 0x80 (POST codes, ignored) every 256 spins forces a
 * VM exit: some hosts' KVM injects a pending interrupt only then. */
bool wait_count(volatile u64 *count, u64 want, u64 spins)
{
	sti();
	for (u64 i = 0; i < spins && *count < want; i++) {
		pause();
		if (!(i & 255))
			outb(0x80, 0);
	}
	cli();
	return *count >= want;
}

void runtime_start(void);
void runtime_start(void)
{
	descriptors_init();
	pic_mask();
	trap_reset();
	test_main();
	guest_exit(failures == 0);
}
