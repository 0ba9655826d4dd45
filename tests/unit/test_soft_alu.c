/* Soft engine arithmetic cores against the host CPU: every ALU, shift,
 * rotate, multiply, divide and bit-scan operation at every operand size is
 * run natively (inline assembly) and through the soft engine's cores on the
 * same random operands and input flags; results and all six arithmetic
 * flags (including the ones the SDM calls undefined) must match. */
#include <cpuid.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test.h"
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vendor.h"

#define ARITH 0x8d5ULL

/* The red zone below RSP belongs to the compiler: step over it before pushing. */
#define NATIVE(body, ...)                                                                          \
	asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopf\n\t" body                       \
		     "\n\tpushf\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"                             \
		     : [d] "+r"(d), [fl] "+r"(fl)__VA_ARGS__                                       \
		     : [s] "r"(s), [c] "c"(c)                                                      \
		     : "cc", "memory")

typedef void native_fn(u64 *dst, u64 src, u64 count, u64 *flags);

#define NFN(name, body)                                                                            \
	static void name(u64 *dp, u64 s, u64 c, u64 *fp)                                           \
	{                                                                                          \
		u64 d = *dp, fl = *fp;                                                             \
		NATIVE(body);                                                                      \
		*dp = d;                                                                           \
		*fp = fl;                                                                          \
	}

/* Two-operand op at four sizes: d = d op s. */
#define BIN4(op)                                                                                   \
	NFN(n_##op##1, #op "b %b[s], %b[d]")                                                       \
	NFN(n_##op##2, #op "w %w[s], %w[d]")                                                       \
	NFN(n_##op##4, #op "l %k[s], %k[d]")                                                       \
	NFN(n_##op##8, #op "q %q[s], %q[d]")
#define UN4(op)                                                                                    \
	NFN(n_##op##1, #op "b %b[d]")                                                              \
	NFN(n_##op##2, #op "w %w[d]")                                                              \
	NFN(n_##op##4, #op "l %k[d]")                                                              \
	NFN(n_##op##8, #op "q %q[d]")
#define SH4(op)                                                                                    \
	NFN(n_##op##1, #op "b %%cl, %b[d]")                                                        \
	NFN(n_##op##2, #op "w %%cl, %w[d]")                                                        \
	NFN(n_##op##4, #op "l %%cl, %k[d]")                                                        \
	NFN(n_##op##8, #op "q %%cl, %q[d]")
#define BIN3(op)                                                                                   \
	NFN(n_##op##2, #op "w %w[s], %w[d]")                                                       \
	NFN(n_##op##4, #op "l %k[s], %k[d]")                                                       \
	NFN(n_##op##8, #op "q %q[s], %q[d]")
#define SHD3(op)                                                                                   \
	NFN(n_##op##2, #op "w %%cl, %w[s], %w[d]")                                                 \
	NFN(n_##op##4, #op "l %%cl, %k[s], %k[d]")                                                 \
	NFN(n_##op##8, #op "q %%cl, %q[s], %q[d]")

BIN4(add)
BIN4(or) BIN4(adc) BIN4(sbb) BIN4(and) BIN4(sub) BIN4(xor) BIN4(cmp) UN4(inc) UN4(dec) UN4(neg)
    SH4(rol) SH4(ror) SH4(rcl) SH4(rcr) SH4(shl) SH4(shr) SH4(sar) SHD3(shld) SHD3(shrd) BIN3(imul)
	BIN3(bsf) BIN3(bsr) BIN3(tzcnt) BIN3(lzcnt) BIN3(popcnt) BIN3(bt) BIN3(bts) BIN3(btr)
	    BIN3(btc)

#define ROW4(op)                                                                                   \
	{                                                                                          \
		n_##op##1, n_##op##2, n_##op##4, n_##op##8                                         \
	}
#define ROW3(op)                                                                                   \
	{                                                                                          \
		NULL, n_##op##2, n_##op##4, n_##op##8                                              \
	}

		static const unsigned sizes[4] = {1, 2, 4, 8};

static u64 rnd64(void)
{
	static const u64 special[] = {0,
				      1,
				      2,
				      0x7f,
				      0x80,
				      0xff,
				      0x7fff,
				      0x8000,
				      0xffff,
				      0x7fffffff,
				      0x80000000,
				      0xffffffff,
				      0x7fffffffffffffffULL,
				      0x8000000000000000ULL,
				      ~0ULL,
				      0x0f,
				      0x10,
				      0x99};
	u64 r = ((u64)rand() << 62) ^ ((u64)rand() << 31) ^ (u64)rand();

	switch (rand() % 4) {
	case 0:
		return special[rand() % ARRAY_SIZE(special)];
	case 1:
		return r & 0xff;
	default:
		return r;
	}
}

static struct soft_cpu *cpu_new(void)
{
	struct soft_cpu *cpu = aligned_alloc(_Alignof(struct soft_cpu), sizeof(*cpu));

	memset(cpu, 0, sizeof(*cpu)); /* aligned for the TLB's lines */
	cpu->rflags = X86_RFLAGS_FIXED;
	cpu->mode = SOFT_MODE_LONG64;
	/* The host is the oracle: model its vendor (test_soft_vendor covers the other). */
	soft_vendor_set(cpu, CPU_VENDOR_HOST);
	return cpu;
}

static unsigned iters(void)
{
	return getenv("POPEK_TEST_LONG") ? 200000 : 20000;
}

static int mismatch(const char *what, unsigned size, u64 a, u64 b, u64 c, u64 fin, u64 nr, u64 nf,
		    u64 sr, u64 sf)
{
	static const char *last;
	static int shown;

	if (what != last) {
		last = what;
		shown = 0;
	}
	if (shown++ < 4)
		printf(
		    "  %s/%u a=%#llx b=%#llx c=%llu fin=%#llx: native %#llx f %#llx, soft %#llx f "
		    "%#llx\n",
		    what, size, (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
		    (unsigned long long)fin, (unsigned long long)nr, (unsigned long long)nf,
		    (unsigned long long)sr, (unsigned long long)sf);
	return 1;
}

/* The bit-scan core the host's instruction bytes stand for: F3 0F BC/BD
 * (the tzcnt/lzcnt rows) are TZCNT/LZCNT only where CPUID announces BMI1 or
 * LZCNT, and BSF/BSR elsewhere (SDM Vol. 2B "TZCNT", "LZCNT"); a row then
 * checks the core the host really ran, and says so once. */
static unsigned host_scan_kind(unsigned kind)
{
	static int bmi1 = -1, lzcnt = -1;
	unsigned a, b, c, d;

	if (bmi1 < 0) {
		bmi1 = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 3));
		lzcnt = __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5));
		if (!bmi1)
			printf("  note: no BMI1 here: tzcnt is BSF; its row checks BSF\n");
		if (!lzcnt)
			printf("  note: no LZCNT here: lzcnt is BSR; its row checks BSR\n");
	}
	if (kind == 2 && !bmi1)
		return 0;
	if (kind == 3 && !lzcnt)
		return 1;
	return kind;
}

/* Runs native and soft for one op; kind selects the soft core. */
enum kind { K_ALU, K_INC, K_DEC, K_NEG, K_SHIFT, K_SHLD, K_SHRD, K_IMUL2, K_SCAN, K_BT };

static int run_case(struct soft_cpu *cpu, enum kind kind, unsigned sub, const char *name,
		    native_fn *nat, unsigned size, u64 a, u64 b, u64 c, u64 fin)
{
	u64 m = soft_size_mask(size), nd = a, nf = fin, sr = 0;
	unsigned cnt = (unsigned)(c & (size == 8 ? 63 : 31));

	nat(&nd, b, c, &nf);
	cpu->rflags = fin;
	cpu->lazy.op = 0;
	switch (kind) {
	case K_ALU:
		sr = soft_alu(cpu, sub, size, a, b);
		if (sub == SOFT_ALU_CMP)
			sr = a;
		break;
	case K_INC:
		sr = soft_alu_inc(cpu, size, a);
		break;
	case K_DEC:
		sr = soft_alu_dec(cpu, size, a);
		break;
	case K_NEG:
		sr = soft_alu_neg(cpu, size, a);
		break;
	case K_SHIFT:
		sr = soft_shift(cpu, sub, size, a, cnt);
		break;
	case K_SHLD:
	case K_SHRD:
		sr = soft_shxd(cpu, kind == K_SHLD, size, a, b, cnt);
		break;
	case K_IMUL2:
		sr = soft_imul2(cpu, size, a, b);
		break;
	case K_SCAN:
		sr = soft_bitscan(cpu, host_scan_kind(sub), size, b, a);
		break;
	case K_BT: {
		unsigned bitno = (unsigned)(b & (size * 8 - 1));
		u64 bitv = 1ULL << bitno;
		/* The cores behind BT: CF = the bit, the rest kept. */
		u64 f = soft_flags_get(cpu) & ~X86_RFLAGS_CF;
		soft_flags_set_arith(cpu, f | (((a >> bitno) & 1) ? X86_RFLAGS_CF : 0));
		sr = sub == 0 ? a : sub == 1 ? a | bitv : sub == 2 ? a & ~bitv : a ^ bitv;
		break;
	}
	}
	u64 sf = soft_flags_get(cpu);
	if ((nd & m) != (sr & m) || (nf & ARITH) != (sf & ARITH))
		return mismatch(name, size, a, b, c, fin, nd & m, nf & ARITH, sr & m, sf & ARITH);
	return 0;
}

struct optab {
	const char *name;
	enum kind kind;
	unsigned sub;
	native_fn *fn[4];
};

static const struct optab ops[] = {
    {"add", K_ALU, SOFT_ALU_ADD, ROW4(add)},
    {"or", K_ALU, SOFT_ALU_OR, ROW4(or)},
    {"adc", K_ALU, SOFT_ALU_ADC, ROW4(adc)},
    {"sbb", K_ALU, SOFT_ALU_SBB, ROW4(sbb)},
    {"and", K_ALU, SOFT_ALU_AND, ROW4(and)},
    {"sub", K_ALU, SOFT_ALU_SUB, ROW4(sub)},
    {"xor", K_ALU, SOFT_ALU_XOR, ROW4(xor)},
    {"cmp", K_ALU, SOFT_ALU_CMP, ROW4(cmp)},
    {"inc", K_INC, 0, ROW4(inc)},
    {"dec", K_DEC, 0, ROW4(dec)},
    {"neg", K_NEG, 0, ROW4(neg)},
    {"rol", K_SHIFT, 0, ROW4(rol)},
    {"ror", K_SHIFT, 1, ROW4(ror)},
    {"rcl", K_SHIFT, 2, ROW4(rcl)},
    {"rcr", K_SHIFT, 3, ROW4(rcr)},
    {"shl", K_SHIFT, 4, ROW4(shl)},
    {"shr", K_SHIFT, 5, ROW4(shr)},
    {"sar", K_SHIFT, 7, ROW4(sar)},
    {"shld", K_SHLD, 0, ROW3(shld)},
    {"shrd", K_SHRD, 0, ROW3(shrd)},
    {"imul2", K_IMUL2, 0, ROW3(imul)},
    {"bsf", K_SCAN, 0, ROW3(bsf)},
    {"bsr", K_SCAN, 1, ROW3(bsr)},
    {"tzcnt", K_SCAN, 2, ROW3(tzcnt)},
    {"lzcnt", K_SCAN, 3, ROW3(lzcnt)},
    {"popcnt", K_SCAN, 4, ROW3(popcnt)},
    {"bt", K_BT, 0, ROW3(bt)},
    {"bts", K_BT, 1, ROW3(bts)},
    {"btr", K_BT, 2, ROW3(btr)},
    {"btc", K_BT, 3, ROW3(btc)},
};

static void test_alu_vs_host(void)
{
	struct soft_cpu *cpu = cpu_new();
	unsigned bad = 0;

	srand(42);
	for (unsigned o = 0; o < ARRAY_SIZE(ops); o++) {
		unsigned opbad = 0;
		for (unsigned si = 0; si < 4; si++) {
			if (!ops[o].fn[si])
				continue;
			for (unsigned it = 0; it < iters(); it++) {
				u64 fin = ((u64)rand() & ARITH) | X86_RFLAGS_FIXED;
				u64 a = rnd64(), b = rnd64(), c = (u64)rand() % 70;
				opbad +=
				    (unsigned)run_case(cpu, ops[o].kind, ops[o].sub, ops[o].name,
						       ops[o].fn[si], sizes[si], a, b, c, fin);
			}
		}
		if (opbad)
			printf("  %s: %u mismatches\n", ops[o].name, opbad);
		bad += opbad;
	}
	CHECK_EQ(bad, 0);
	free(cpu);
}

/* MUL/IMUL/DIV/IDIV on the accumulator, skipping operands that fault. */
#define MD4(op)                                                                                    \
	static void m_##op(unsigned size, u64 *ax, u64 *dx, u64 s, u64 *fp)                        \
	{                                                                                          \
		u64 a = *ax, d = *dx, fl = *fp;                                                    \
		switch (size) {                                                                    \
		case 1:                                                                            \
			asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopf\n\t" #op        \
				     "b %b[s]\n\tpushf\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"      \
				     : "+a"(a), "+d"(d), [fl] "+r"(fl)                             \
				     : [s] "c"(s)                                                  \
				     : "cc", "memory");                                            \
			break;                                                                     \
		case 2:                                                                            \
			asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopf\n\t" #op        \
				     "w %w[s]\n\tpushf\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"      \
				     : "+a"(a), "+d"(d), [fl] "+r"(fl)                             \
				     : [s] "c"(s)                                                  \
				     : "cc", "memory");                                            \
			break;                                                                     \
		case 4:                                                                            \
			asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopf\n\t" #op        \
				     "l %k[s]\n\tpushf\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"      \
				     : "+a"(a), "+d"(d), [fl] "+r"(fl)                             \
				     : [s] "c"(s)                                                  \
				     : "cc", "memory");                                            \
			break;                                                                     \
		default:                                                                           \
			asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopf\n\t" #op        \
				     "q %q[s]\n\tpushf\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"      \
				     : "+a"(a), "+d"(d), [fl] "+r"(fl)                             \
				     : [s] "c"(s)                                                  \
				     : "cc", "memory");                                            \
			break;                                                                     \
		}                                                                                  \
		*ax = a;                                                                           \
		*dx = d;                                                                           \
		*fp = fl;                                                                          \
	}
MD4(mul)
MD4(imul) MD4(div) MD4(idiv)

    static void test_muldiv_vs_host(void)
{
	typedef void md_fn(unsigned, u64 *, u64 *, u64, u64 *);
	static md_fn *const fns[4] = {m_mul, m_imul, m_div, m_idiv};
	static const char *const names[4] = {"mul", "imul", "div", "idiv"};
	struct soft_cpu *cpu = cpu_new();
	unsigned bad = 0;

	srand(7);
	for (unsigned op = 0; op < 4; op++) {
		for (unsigned si = 0; si < 4; si++) {
			unsigned size = sizes[si];
			u64 m = soft_size_mask(size);
			for (unsigned it = 0; it < iters(); it++) {
				u64 fin = ((u64)rand() & ARITH) | X86_RFLAGS_FIXED;
				u64 ax = rnd64(),
				    dx = op >= 2 && rand() % 2 ? rnd64() % 4 : rnd64();
				u64 s = rnd64();
				u64 sax = ax, sdx = dx, nax = ax, ndx = dx, nf = fin;
				cpu->rflags = fin;
				cpu->lazy.op = 0;
				if (!soft_muldiv_core(cpu, op + 4, size, &sax, &sdx, s))
					continue; /* #DE: not run natively */
				fns[op](size, &nax, &ndx, s, &nf);
				u64 sf = soft_flags_get(cpu);
				u64 am = size == 1 ? 0xffff : m, dm = size == 1 ? 0 : m;
				if ((nax & am) != (sax & am) || (ndx & dm) != (sdx & dm) ||
				    (nf & ARITH) != (sf & ARITH)) {
					bad += (unsigned)mismatch(names[op], size, ax, s, dx, fin,
								  nax & am, nf & ARITH, sax & am,
								  sf & ARITH);
				}
			}
		}
	}
	CHECK_EQ(bad, 0);
	free(cpu);
}

static void test_cond(void)
{
	struct soft_cpu *cpu = cpu_new();
	unsigned bad = 0;

	srand(99);
	for (unsigned it = 0; it < iters() * 4; it++) {
		unsigned size = sizes[rand() % 4], op = (unsigned)rand() % 8;
		u64 a = rnd64(), b = rnd64();
		cpu->rflags = ((u64)rand() & ARITH) | X86_RFLAGS_FIXED;
		cpu->lazy.op = 0;
		soft_alu(cpu, op, size, a, b);
		struct soft_lazy saved = cpu->lazy;
		for (unsigned cc = 0; cc < 16; cc++) {
			cpu->lazy = saved;
			bool fast = soft_cond(cpu, cc);
			cpu->lazy = saved;
			u64 f = soft_flags_get(cpu);
			bool of = f & X86_RFLAGS_OF, cf = f & X86_RFLAGS_CF, zf = f & X86_RFLAGS_ZF;
			bool sf = f & X86_RFLAGS_SF, pf = f & X86_RFLAGS_PF, r;
			switch (cc >> 1) {
			case 0:
				r = of;
				break;
			case 1:
				r = cf;
				break;
			case 2:
				r = zf;
				break;
			case 3:
				r = cf || zf;
				break;
			case 4:
				r = sf;
				break;
			case 5:
				r = pf;
				break;
			case 6:
				r = sf != of;
				break;
			default:
				r = zf || sf != of;
				break;
			}
			if ((r ^ (cc & 1)) != fast)
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
	free(cpu);
}

/* ---- BCD instructions (invalid in 64-bit mode): the host runs them in a
 * compatibility-mode snippet on pages below 2 GiB (MAP_32BIT), entered by a
 * far return to a 32-bit user code segment and left by one back to this
 * code's own CS.
 *
 * The page, from its start: the 32-bit code; at 0x100 the 64-bit way back;
 * at 0x200 what the way back restores; the stack at the top. The way back
 * restores RSP and every callee-saved register from memory: the high halves
 * of GPRs are undefined after compatibility mode (AMD APM Vol. 1 3.1.2,
 * "GPR High 32 Bits Across Mode Switches"), so the compiler's live values
 * must not ride through it in registers. */

#define C32_BACK  0x100 /* 64-bit code: restore, jump back */
#define C32_SAVE  0x200 /* return address, RSP, RBX, RBP, R12-R15 */
#define C32_SIZE  0x4000
#define C32_STACK (C32_SIZE - 0x18)

struct compat32 {
	u8 *page; /* C32_SIZE bytes, MAP_32BIT */
	u16 cs32; /* a 32-bit user code segment (Linux: 0x23) */
	u16 cs64; /* the CS this code runs with (Linux: 0x33; Xen PV: 0xe033) */
};

/* A present DPL-3 code segment with L=0 and D=1 in the GDT, found with LAR
 * (SDM Vol. 2A LAR: bits 8-23 of the descriptor), or 0 when the kernel has
 * none, as with IA-32 emulation turned off. */
static u16 compat32_find_cs(void)
{
	for (u32 sel = 3; sel < 0x10000; sel += 8) {
		u32 ar;
		u8 ok;

		asm("lar %2, %0\n\tsetz %1" : "=r"(ar), "=q"(ok) : "r"(sel) : "cc");
		if (ok && (ar & 0x60f800) == 0x40f800)
			return (u16)sel;
	}
	return 0;
}

/* mov reg, [rip + to C32_SAVE + slot] (REX.W 8B /r, mod 00 rm 101). */
static unsigned c32_emit_load(u8 *p, unsigned k, unsigned reg, unsigned slot)
{
	s32 d = (s32)(C32_SAVE + 8 * slot) - (s32)(k + 7);

	p[k] = (u8)(0x48 | (reg >= 8 ? 4 : 0));
	p[k + 1] = 0x8b;
	p[k + 2] = (u8)((reg & 7) << 3 | 5);
	memcpy(p + k + 3, &d, 4);
	return k + 7;
}

/* 0: ready; 1: this host cannot run 32-bit user code (why says so). */
static int compat32_init(struct compat32 *c, char *why, size_t whylen)
{
	static const u8 regs[] = {X86_RSP, X86_RBX, X86_RBP, 12, 13, 14, 15};
	unsigned k = C32_BACK;
	s32 d;

	c->cs32 = compat32_find_cs();
	if (!c->cs32) {
		snprintf(why, whylen, "no 32-bit user code segment (IA-32 emulation off?)");
		return 1;
	}
	asm("mov %%cs, %0" : "=r"(c->cs64));
	c->page = mmap(NULL, C32_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (c->page == MAP_FAILED) {
		snprintf(why, whylen, "no memory below 2 GiB (MAP_32BIT)");
		return 1;
	}
	/* Slot 0 is the return address, 1.. the registers in regs[] order. */
	for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
		k = c32_emit_load(c->page, k, regs[i], 1 + i);
	d = (s32)C32_SAVE - (s32)(k + 6); /* jmp [rip + to slot 0] */
	c->page[k] = 0xff;
	c->page[k + 1] = 0x25;
	memcpy(c->page + k + 2, &d, 4);
	return 0;
}

/* Runs the 32-bit instruction bytes with EAX and EFLAGS in, returns both. */
static void run32(const struct compat32 *c, const u8 *insn, unsigned n, u32 *eax, u32 *flags)
{
	u8 *p = c->page;
	unsigned k = 0;
	u64 a = *eax, f = *flags;

	p[k++] = 0x52; /* push edx; popf */
	p[k++] = 0x9d;
	memcpy(p + k, insn, n);
	k += n;
	p[k++] = 0x9c; /* pushf; pop edx; lret (to cs64:C32_BACK) */
	p[k++] = 0x5a;
	p[k++] = 0xcb;
	/* Inputs sit in registers that are neither outputs nor clobbered, that
	 * is callee-saved ones, which the way back restores. */
	asm volatile("mov %%rbx, %c[save] + 16(%[p])\n\t"
		     "mov %%rbp, %c[save] + 24(%[p])\n\t"
		     "mov %%r12, %c[save] + 32(%[p])\n\t"
		     "mov %%r13, %c[save] + 40(%[p])\n\t"
		     "mov %%r14, %c[save] + 48(%[p])\n\t"
		     "mov %%r15, %c[save] + 56(%[p])\n\t"
		     "mov %%rsp, %c[save] + 8(%[p])\n\t"
		     "lea 1f(%%rip), %%rcx\n\t"
		     "mov %%rcx, %c[save](%[p])\n\t"
		     "lea %c[stack](%[p]), %%rsp\n\t"
		     /* the 32-bit LRET's frame: EIP, CS */
		     "lea %c[back](%[p]), %%rcx\n\t"
		     "movl %%ecx, (%%rsp)\n\t"
		     "movl %k[cs64], 4(%%rsp)\n\t"
		     /* LRETQ's: RIP, CS */
		     "push %[cs32]\n\t"
		     "push %[p]\n\t"
		     "lretq\n"
		     "1:"
		     : "+a"(a), "+d"(f)
		     : [p] "r"(p), [cs32] "r"((u64)c->cs32), [cs64] "r"((u32)c->cs64),
		       [save] "i"(C32_SAVE), [back] "i"(C32_BACK), [stack] "i"(C32_STACK)
		     : "rcx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	*eax = (u32)a;
	*flags = (u32)f;
}

static void test_bcd_vs_host(void)
{
	static const u8 forms[][2] = {{0x27, 0},  {0x2f, 0}, {0x37, 0},  {0x3f, 0},  {0xd4, 10},
				      {0xd4, 16}, {0xd4, 7}, {0xd5, 10}, {0xd5, 16}, {0xd5, 3}};
	struct soft_cpu *cpu;
	struct compat32 c32;
	unsigned bad = 0;
	char why[128];

	if (compat32_init(&c32, why, sizeof(why))) {
		/* test_bcd_defined still checks what the SDM defines. */
		TEST_SKIP("this host cannot run 32-bit code: %s", why);
		return;
	}
	cpu = cpu_new();
	cpu->mode = SOFT_MODE_PROT;
	srand(5);
	for (unsigned fi = 0; fi < ARRAY_SIZE(forms); fi++) {
		struct soft_insn in;
		unsigned n = forms[fi][0] >= 0xd4 ? 2 : 1;
		CHECK_EQ(soft_decode(forms[fi], n, 4, &in), 0);
		for (unsigned it = 0; it < 4096; it++) {
			u32 ax = (u32)((it & 0xff) | (rand() & 0xff) << 8);
			u32 fin = (u32)(((it >> 8) & 1 ? X86_RFLAGS_CF : 0) |
					((it >> 9) & 1 ? X86_RFLAGS_AF : 0) | (rand() & 0x8c4) | 2);
			u32 nax = ax, nf = fin;
			run32(&c32, forms[fi], n, &nax, &nf);
			cpu->gpr[X86_RAX] = ax;
			cpu->rflags = fin;
			cpu->lazy.op = 0;
			soft_op_bcd(cpu, &in);
			u32 sax = (u32)cpu->gpr[X86_RAX], sf = (u32)soft_flags_get(cpu);
			if ((nax & 0xffff) != (sax & 0xffff) || (nf & ARITH) != (sf & ARITH))
				bad += (unsigned)mismatch(forms[fi][0] == 0x27   ? "daa"
							  : forms[fi][0] == 0x2f ? "das"
							  : forms[fi][0] == 0x37 ? "aaa"
							  : forms[fi][0] == 0x3f ? "aas"
							  : forms[fi][0] == 0xd4 ? "aam"
										 : "aad",
							  forms[fi][1], ax, 0, 0, fin, nax & 0xffff,
							  nf & ARITH, sax & 0xffff, sf & ARITH);
		}
	}
	CHECK_EQ(bad, 0);
	munmap(c32.page, C32_SIZE);
	free(cpu);
}

/* ---- BCD results the SDM defines (Vol. 2A DAA, DAS, AAA, AAS, AAM, AAD
 * "Operation" and "Flags Affected"), on every host and for both vendor
 * models: AX and the defined flags from the manual's pseudocode. OF (all),
 * SF/ZF/PF (AAA, AAS) and AF/CF (AAM, AAD) are left out: undefined. */
struct bcd_want {
	u16 ax;
	u64 flags, defined;
};

static u64 szp8(u8 v)
{
	return (v ? 0 : X86_RFLAGS_ZF) | (v & 0x80 ? X86_RFLAGS_SF : 0) |
	       (__builtin_parity(v) ? 0 : X86_RFLAGS_PF);
}

static struct bcd_want bcd_manual(u8 op, u8 imm, u16 ax, u64 fin)
{
	const u64 szp = X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_PF;
	const u64 ac = X86_RFLAGS_AF | X86_RFLAGS_CF;
	bool cf = fin & X86_RFLAGS_CF, af = fin & X86_RFLAGS_AF, ncf = false, naf = false;
	u8 al = (u8)ax, ah = (u8)(ax >> 8), old_al = al;

	switch (op) {
	case 0x27: /* DAA */
	case 0x2f: /* DAS */
		if ((al & 0xf) > 9 || af) {
			ncf = cf || (op == 0x27 ? al > 0xf9 : al < 6);
			al = (u8)(op == 0x27 ? al + 6 : al - 6);
			naf = true;
		}
		if (old_al > 0x99 || cf) {
			al = (u8)(op == 0x27 ? al + 0x60 : al - 0x60);
			ncf = true;
		} else if (op == 0x27) {
			ncf = false;
		}
		return (struct bcd_want){(u16)(ah << 8 | al),
					 szp8(al) | (naf ? X86_RFLAGS_AF : 0) | (ncf ? X86_RFLAGS_CF : 0),
					 szp | ac};
	case 0x37: /* AAA: AX + 106H, then AL AND 0FH */
	case 0x3f: /* AAS: AX - 6, AH - 1, then AL AND 0FH */
		if ((al & 0xf) > 9 || af) {
			ax = (u16)(op == 0x37 ? ax + 0x106 : ax - 6 - 0x100);
			naf = ncf = true;
		}
		return (struct bcd_want){(u16)(ax & 0xff0f), naf ? ac : 0, ac};
	case 0xd4: /* AAM */
		ah = al / imm;
		al = al % imm;
		return (struct bcd_want){(u16)(ah << 8 | al), szp8(al), szp};
	default: /* D5 AAD */
		al = (u8)(al + ah * imm);
		return (struct bcd_want){al, szp8(al), szp};
	}
}

static void bcd_defined_for(enum cpu_vendor vendor)
{
	static const u8 forms[][2] = {{0x27, 0},  {0x2f, 0}, {0x37, 0},  {0x3f, 0},  {0xd4, 10},
				      {0xd4, 16}, {0xd4, 7}, {0xd5, 10}, {0xd5, 16}, {0xd5, 3}};
	struct soft_cpu *cpu = cpu_new();
	unsigned bad = 0;

	soft_vendor_set(cpu, vendor);
	cpu->mode = SOFT_MODE_PROT;
	for (unsigned fi = 0; fi < ARRAY_SIZE(forms); fi++) {
		struct soft_insn in;
		unsigned n = forms[fi][0] >= 0xd4 ? 2 : 1;
		CHECK_EQ(soft_decode(forms[fi], n, 4, &in), 0);
		for (unsigned it = 0; it < 4 * 65536; it++) {
			u16 ax = (u16)it;
			u64 fin = ((it >> 16) & 1 ? X86_RFLAGS_CF : 0) |
				  ((it >> 17) & 1 ? X86_RFLAGS_AF : 0) | X86_RFLAGS_FIXED;
			struct bcd_want w = bcd_manual(forms[fi][0], forms[fi][1], ax, fin);
			cpu->gpr[X86_RAX] = ax;
			cpu->rflags = fin;
			cpu->lazy.op = 0;
			soft_op_bcd(cpu, &in);
			u16 got = (u16)cpu->gpr[X86_RAX];
			u64 gf = soft_flags_get(cpu) & w.defined;
			if (got != w.ax || gf != w.flags) {
				if (bad++ < 4)
					printf("  %02x/%u ax=%#x fin=%#llx: got %#x f %#llx, manual %#x f "
					       "%#llx\n",
					       forms[fi][0], forms[fi][1], ax, (unsigned long long)fin, got,
					       (unsigned long long)gf, w.ax, (unsigned long long)w.flags);
			}
		}
	}
	CHECK_EQ(bad, 0);
	free(cpu);
}

static void test_bcd_defined_intel(void)
{
	bcd_defined_for(CPU_VENDOR_INTEL);
}

static void test_bcd_defined_amd(void)
{
	bcd_defined_for(CPU_VENDOR_AMD);
}

int main(void)
{
	TEST_RUN(test_alu_vs_host);
	TEST_RUN(test_muldiv_vs_host);
	TEST_RUN(test_cond);
	TEST_RUN(test_bcd_vs_host);
	TEST_RUN(test_bcd_defined_intel);
	TEST_RUN(test_bcd_defined_amd);
	return test_done();
}
