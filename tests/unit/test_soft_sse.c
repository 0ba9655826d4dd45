/* Soft engine MMX/SSE..SSE4.2/AES tests: every opcode of the SIMD tables is
 * run with random operands (NaNs, infinities, denormals, boundary integers,
 * random rounding/FTZ/DAZ) in register and memory forms, natively and on the
 * soft vCPU, and everything architectural is compared. Plus FXSAVE/FXRSTOR,
 * LDMXCSR/STMXCSR, alignment #GP, unmasked #XM and the CR0/CR4 checks. */
#include "test.h"
#include "soft_simd_harness.h"
#include "cpu/soft/fpu/fpu.h"

static struct harness H;

static const u32 f32_special[] = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7fa00000,
    0xff812345, 0x00000001, 0x807fffff, 0x00800000, 0x3f800000, 0xbf800000, 0x7f7fffff,
    0x4f000000, 0xcf000000, 0x5f000000, 0x3effffff, 0x3f000000, 0x40490fdb,
};
static const u64 f64_special[] = {
    0,
    1ULL << 63,
    0x7ff0000000000000ULL,
    0xfff0000000000000ULL,
    0x7ff8000000000000ULL,
    0x7ff4000000000000ULL,
    0xfff0000000000001ULL,
    1,
    0x800fffffffffffffULL,
    0x0010000000000000ULL,
    0x3ff0000000000000ULL,
    0xbff0000000000000ULL,
    0x7fefffffffffffffULL,
    0x41e0000000000000ULL,
    0xc1e0000000000000ULL,
    0x43e0000000000000ULL,
    0x3fe0000000000000ULL,
    0x400921fb54442d18ULL,
    0x36a0000000000000ULL,
};

static u64 rand_lane(struct harness *h)
{
	u64 r = h_rand(h);

	switch (r % 5) {
	case 0:
	case 1:
		return h_rand(h);
	case 2:
		return f32_special[(r >> 8) % ARRAY_SIZE(f32_special)] |
		       (u64)f32_special[(r >> 20) % ARRAY_SIZE(f32_special)] << 32;
	case 3:
		return f64_special[(r >> 8) % ARRAY_SIZE(f64_special)];
	default: /* small integers and lengths */
		return (r >> 8) & 0x00ff00ff00ff00ffULL & h_rand(h);
	}
}

static void rand_bytes(struct harness *h, u8 *p, unsigned n)
{
	for (unsigned i = 0; i < n; i += 8) {
		u64 v = rand_lane(h);
		memcpy(p + i, &v, MIN(8u, n - i));
	}
}

/* A random state: XMM/MMX/x87 registers, MXCSR control (all masked), GPRs
 * with RBX/RDI pointing into the test memory. */
static void rand_state(struct harness *h, struct h_state *s)
{
	u16 fcw = 0x37f, fsw = (u16)((h_rand(h) & 7) << 11);
	u32 mxcsr = 0x1f80 | (u32)(h_rand(h) & 0x3f);

	memset(s, 0, sizeof(*s));
	mxcsr |= (u32)(h_rand(h) & 3) << 13;
	if (h_rand(h) & 1)
		mxcsr |= 0x8000; /* FTZ */
	if (h_rand(h) & 1)
		mxcsr |= 0x40; /* DAZ */
	memcpy(s->fx, &fcw, 2);
	memcpy(s->fx + 2, &fsw, 2);
	s->fx[4] = (u8)h_rand(h);
	for (unsigned i = 0; i < 8; i++)
		rand_bytes(h, s->fx + 32 + 16 * i, 10);
	memcpy(s->fx + 24, &mxcsr, 4);
	rand_bytes(h, s->fx + 160, 256);
	for (unsigned i = 0; i < 16; i++)
		s->gpr[i] = rand_lane(h);
	if (h_rand(h) & 1) { /* PCMPESTRx lengths, sometimes out of range */
		s->gpr[X86_RAX] = (u64)((s64)(h_rand(h) % 41) - 20);
		s->gpr[X86_RDX] = (u64)((s64)(h_rand(h) % 41) - 20);
	}
	s->gpr[X86_RSP] = 0;
	s->gpr[X86_RBX] = (u64)(uintptr_t)(h->mem + 4096 * (1 + h_rand(h) % 8) + 64);
	s->gpr[X86_RDI] = (u64)(uintptr_t)(h->mem + 4096 * 10 + h_rand(h) % 64);
	s->rflags = h_rand(h) & 0x8d5;
	rand_bytes(h, (u8 *)(uintptr_t)(s->gpr[X86_RBX] - 64), 192);
	rand_bytes(h, h->mem + 4096 * 10, 128);
}

static bool has_imm(unsigned map, unsigned op)
{
	return map == 3 || (map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 ||
					 (op >= 0xc4 && op <= 0xc6)));
}

/* A random encoding of (map, prefix class, opcode) in a register or
 * [RBX+disp8] form. ModRM.reg/rm never name 4 (RSP as a GPR operand). */
static bool g_no_rex; /* 32-bit code: no REX prefixes */

static unsigned gen(struct harness *h, unsigned map, unsigned pfx, unsigned op, bool mem, u8 *b)
{
	static const u8 grp_regs[3][4] = {{2, 4, 6, 6}, {2, 4, 6, 6}, {2, 6, 3, 7}};
	unsigned n = 0, reg, rm;
	u8 rex = (u8)(h_rand(h) & 0x0c);

	if (!mem)
		rex |= (u8)(h_rand(h) & 1);
	if (pfx)
		b[n++] = (u8[]){0, 0x66, 0xf3, 0xf2}[pfx];
	if ((h_rand(h) & 1) && !g_no_rex)
		b[n++] = 0x40 | rex;
	b[n++] = 0x0f;
	if (map == 2)
		b[n++] = 0x38;
	if (map == 3)
		b[n++] = 0x3a;
	b[n++] = (u8)op;
	do
		reg = h_rand(h) & 7;
	while (reg == 4);
	if (map == 1 && op >= 0x71 && op <= 0x73)
		reg = grp_regs[op - 0x71]
			      [h_rand(h) % (pfx == 1 && op == 0x73 ? 4 : 2 + (op != 0x73))];
	do
		rm = h_rand(h) & 7;
	while (rm == 4);
	if (mem) {
		static const s8 disp[] = {0, 16, 32, -16, 0, 16, 32, -16, 1, 8, 4, 12};
		b[n++] = (u8)(0x40 | reg << 3 | X86_RBX);
		b[n++] = (u8)disp[h_rand(h) % ARRAY_SIZE(disp)];
	} else {
		b[n++] = (u8)(0xc0 | reg << 3 | rm);
	}
	if (has_imm(map, op))
		b[n++] = (u8)h_rand(h);
	return n;
}

static void sweep_table(const struct simd_op (*tab)[256], unsigned map, unsigned iters)
{
	static const char *const maps[] = {"", "0f", "0f38", "0f3a"};
	struct h_state s;
	u8 b[16];

	for (unsigned pfx = 0; pfx < 4; pfx++) {
		for (unsigned op = 0; op < 256; op++) {
			const struct simd_op *d = &tab[pfx][op];
			int bad = 0;
			if (!d->fn)
				continue;
			for (unsigned i = 0; i < iters && bad < 3; i++) {
				bool mem =
				    (d->flags & SOP_MEM) || (!(d->flags & SOP_REG) && (i & 1));
				unsigned n = gen(&H, map, pfx, op, mem, b);
				rand_state(&H, &s);
				bad += h_case(&H, &s, b, n, 0);
			}
			if (bad) {
				printf("  ^ map %s prefix class %u opcode %02x\n", maps[map], pfx,
				       op);
				test_state_g.failed_now = 1;
			}
		}
	}
}

static void test_sse_sweep_0f(void)
{
	sweep_table(simd_tab_0f, 1, 200);
}

static void test_sse_sweep_0f38(void)
{
	sweep_table(simd_tab_0f38, 2, 200);
}

static void test_sse_sweep_0f3a(void)
{
	sweep_table(simd_tab_0f3a, 3, 400);
}

/* The same sweep with the soft vCPU in 32-bit protected mode (segmented
 * address computation, no REX, XMM0-7 only). */
static void test_sse_sweep_mode32(void)
{
	h_set_mode32(&H, true);
	g_no_rex = true;
	sweep_table(simd_tab_0f, 1, 40);
	sweep_table(simd_tab_0f38, 2, 40);
	sweep_table(simd_tab_0f3a, 3, 80);
	g_no_rex = false;
	h_set_mode32(&H, false);
}

/* Runs one hex-encoded instruction from a random state: both must agree. */
static void check_hex(const char *hex, unsigned iters)
{
	struct h_state s;
	u8 b[16];
	unsigned n = h_hex(hex, b);

	for (unsigned i = 0; i < iters; i++) {
		rand_state(&H, &s);
		if (h_case(&H, &s, b, n, 0)) {
			test_state_g.failed_now = 1;
			return;
		}
	}
}

/* Hand-picked encodings: REX forms, EMMS, 64-bit GPR forms, odd prefixes. */
static void test_sse_selected(void)
{
	static const char *const list[] = {
	    "0f 77", /* EMMS */
	    "48 0f 6e c3",
	    "48 0f 7e c3", /* MOVQ mm, rbx / rbx, mm */
	    "66 48 0f 6e c3",
	    "66 48 0f 7e c3",
	    "66 4d 0f 6e c3",
	    "66 4d 0f 7e c3",
	    "f3 48 0f 2a c3",
	    "f2 48 0f 2a c3",
	    "f3 48 0f 2d c3",
	    "f2 4c 0f 2c c3",
	    "66 0f 3a 16 c3 01",
	    "66 48 0f 3a 16 c3 01",
	    "66 48 0f 3a 22 c3 01",
	    "66 0f 3a 14 c3 0f",
	    "66 0f 3a 20 c3 0f",
	    "66 0f 3a 20 c7 03",
	    "66 48 0f 3a 17 c3 02",
	    "66 0f c5 c3 07",
	    "0f c5 c3 03",
	    "66 0f 3a 61 0b 1a",
	    "66 48 0f 3a 61 c1 0c",
	    "66 48 0f 3a 60 c1 44",
	    "66 f3 0f 10 c1",
	    "f2 f3 0f 58 c1",
	    "f3 66 0f 58 c1", /* last mandatory prefix wins */
	    "66 0f 73 db 05",
	    "66 0f 73 fb 11",
	    "0f 73 d3 40",
	    "66 0f 71 e3 11",
	    "66 0f 3a 0f c1 13",
	    "66 0f 3a 0f c1 20",
	    "0f 3a 0f c1 09",
	    "66 0f f7 c1",
	    "0f f7 c1",
	    "0f 12 c1",
	    "0f 16 c1",
	    "66 0f d6 c1",
	    "f3 0f d6 c1",
	    "f2 0f d6 c1",
	    "66 0f 38 f0 c1",
	    "0f 0d 03", /* not SIMD, must agree anyway */
	    "66 45 0f 3a 44 c7 11",
	    "66 0f 3a df c1 1b",
	    "66 44 0f 38 dc f9",
	};

	for (unsigned i = 0; i < ARRAY_SIZE(list); i++)
		check_hex(list[i], 50);
}

/* MXCSR with exceptions unmasked: the host faults with SIGFPE, the soft
 * vCPU raises #XM with the same MXCSR flags and no destination change. */
static void test_sse_unmasked(void)
{
	static const char *const list[] = {
	    "0f 58 c1",    "66 0f 5e c1",       "f3 0f 51 c1",       "f2 0f 5d c1",
	    "0f c2 c1 01", "0f 2f c1",          "66 0f 2e c1",       "f2 0f 2d c1",
	    "0f 5b c1",    "66 0f 5a c1",       "66 0f 3a 0a c1 00", "f2 0f 7c c1",
	    "0f 59 03",    "66 0f 7d c1",       "f2 0f d0 c1",       "0f 5d c1",
	    "66 0f 5f c1", "66 0f c2 c1 05",    "f3 0f 2a c3",       "f2 48 0f 2a c3",
	    "f3 0f 5a c1", "f2 0f 5a c1",       "66 0f 5b c1",       "0f 2d c1",
	    "66 0f e6 c1", "66 0f 3a 08 c1 03", "66 0f 3a 09 c1 0c", "0f 52 c1",
	    "0f 53 c1",    "66 0f 51 c1",
	};
	struct h_state s;
	u8 b[16];

	for (unsigned k = 0; k < ARRAY_SIZE(list); k++) {
		unsigned n = h_hex(list[k], b);
		for (unsigned i = 0; i < 500; i++) {
			u32 mx;
			rand_state(&H, &s);
			memcpy(&mx, s.fx + 24, 4);
			mx &= ~(u32)0x3f;
			mx &= ~((u32)(h_rand(&H) & 0x3f) << 7);
			memcpy(s.fx + 24, &mx, 4);
			if (h_case(&H, &s, b, n, 0)) {
				test_state_g.failed_now = 1;
				break;
			}
		}
	}
	/* Without CR4.OSXMMEXCPT the same is #UD. */
	H.cpu->cr4 &= ~X86_CR4_OSXMMEXCPT;
	{
		unsigned n = h_hex("0f 5e c1", b);
		u32 mx = 0x1f80 & ~0x200; /* ZE unmasked */
		float one = 1.0f;
		rand_state(&H, &s);
		memset(s.fx + 160, 0, 32);
		for (unsigned i = 0; i < 4; i++)
			memcpy(s.fx + 160 + 4 * i, &one, 4);
		memcpy(s.fx + 24, &mx, 4);
		h_load_soft(&H, &s);
		CHECK_EQ(h_run_soft(&H, b, n), EXC_UD);
		CHECK_EQ(H.cpu->fx.mxcsr & 0x3f, 0x4);
	}
	H.cpu->cr4 |= X86_CR4_OSXMMEXCPT;
}

/* CR0.EM / CR4.OSFXSR / CR0.TS checks (SDM Vol. 3A Table 2-2, 13.1). */
static void test_sse_state_checks(void)
{
	struct soft_cpu *cpu = H.cpu;
	struct h_state s;
	u8 b[16];
	unsigned addps = 0, paddb_mm = 0, fx = 0;
	u8 b2[16], b3[16];

	addps = h_hex("0f 58 c1", b);
	paddb_mm = h_hex("0f fc c1", b2);
	fx = h_hex("0f ae 03", b3);
	rand_state(&H, &s);
	h_load_soft(&H, &s);
	cpu->cr0 |= X86_CR0_TS;
	CHECK_EQ(h_run_soft(&H, b, addps), EXC_NM);
	CHECK_EQ(h_run_soft(&H, b2, paddb_mm), EXC_NM);
	CHECK_EQ(h_run_soft(&H, b3, fx), EXC_NM);
	cpu->cr0 &= ~X86_CR0_TS;
	cpu->cr0 |= X86_CR0_EM;
	CHECK_EQ(h_run_soft(&H, b, addps), EXC_UD);
	CHECK_EQ(h_run_soft(&H, b2, paddb_mm), EXC_UD);
	CHECK_EQ(h_run_soft(&H, b3, fx), EXC_NM);
	cpu->cr0 &= ~X86_CR0_EM;
	cpu->cr4 &= ~X86_CR4_OSFXSR;
	CHECK_EQ(h_run_soft(&H, b, addps), EXC_UD);
	CHECK_EQ(h_run_soft(&H, b2, paddb_mm), -1); /* MMX does not need OSFXSR */
	CHECK_EQ(h_run_soft(&H, b3, fx), -1);
	cpu->cr4 |= X86_CR4_OSFXSR;
	/* MMX waits for pending x87 exceptions (#MF with CR0.NE). */
	cpu->fx.fcw = 0x37e;
	cpu->fx.fsw = 0x0081;
	CHECK_EQ(h_run_soft(&H, b2, paddb_mm), EXC_MF);
	CHECK_EQ(h_run_soft(&H, b, addps), -1);
}

/* FXSAVE/FXRSTOR (both formats), LDMXCSR/STMXCSR against the host. The
 * last-instruction pointers (bytes 6-23) are the host's own: not compared. */
static void test_fxsave(void)
{
	static const char *const save[] = {"0f ae 03", "48 0f ae 03", "0f ae 5b 10"};
	static const char *const load[] = {"0f ae 0b", "48 0f ae 0b", "0f ae 53 08"};
	struct h_state s;
	u8 b[16];

	for (unsigned k = 0; k < ARRAY_SIZE(save); k++) {
		unsigned n = h_hex(save[k], b);
		for (unsigned i = 0; i < 20; i++) {
			u8 *area;
			rand_state(&H, &s);
			area = (u8 *)(uintptr_t)s.gpr[X86_RBX];
			memset(area, 0x5a, 512 + 32);
			memcpy(h_snap, H.mem, H_MEM_SIZE);
			struct h_state nat = s;
			CHECK_EQ(h_run_native(&H, &nat, b, n), -1);
			u8 native_img[512];
			memcpy(native_img, area, 512);
			memcpy(H.mem, h_snap, H_MEM_SIZE);
			h_load_soft(&H, &s);
			CHECK_EQ(h_run_soft(&H, b, n), -1);
			if (k == 2) {
				CHECK(!memcmp(native_img, area, 512));
				continue;
			}
			memset(native_img + 6, 0, 18);
			memset(area + 6, 0, 18);
			CHECK(!memcmp(native_img, area, 512));
		}
	}
	for (unsigned k = 0; k < ARRAY_SIZE(load); k++) {
		unsigned n = h_hex(load[k], b);
		for (unsigned i = 0; i < 50; i++) {
			struct h_state tmp;
			rand_state(&H, &s);
			rand_state(&H, &tmp);
			memcpy((u8 *)(uintptr_t)s.gpr[X86_RBX], tmp.fx, 512);
			if (k == 2) /* LDMXCSR: sometimes reserved bits -> #GP */
				memcpy((u8 *)(uintptr_t)s.gpr[X86_RBX] + 8,
				       (u32[]){(u32)(h_rand(&H) & (i & 1 ? 0xffff : 0x3ffff))}, 4);
			if (h_case(&H, &s, b, n, 0)) {
				test_state_g.failed_now = 1;
				break;
			}
		}
	}
	/* Misaligned FXSAVE is #GP(0) on both. */
	check_hex("0f ae 43 08", 5);
	check_hex("0f ae 4b 04", 5);
}

/* MXCSR_MASK is the modelled CPU's: with the host's vendor (the harness's
 * default) the engine's FXSAVE must store the host's, LDMXCSR and FXRSTOR
 * must accept exactly the MXCSR bits it names (else #GP(0)), and where it
 * names MXCSR.MM (bit 17, AMD APM Vol. 1 4.2.2) a misaligned legacy SSE
 * access with MM=1 does not fault. */
static void test_mxcsr_mask(void)
{
	static const char *const misaligned[] = {"0f 28 43 01", "0f 58 43 01", "66 0f 58 43 01",
						 "66 0f 7f 43 01", "66 0f 6f 43 0f"};
	struct h_state s, tmp;
	u8 b[16], *area;
	unsigned n;
	u32 mask;

	rand_state(&H, &s);
	area = (u8 *)(uintptr_t)s.gpr[X86_RBX];
	h_load_soft(&H, &s);
	n = h_hex("0f ae 03", b); /* fxsave [rbx] */
	CHECK_EQ(h_run_soft(&H, b, n), -1);
	memcpy(&mask, area + 28, 4);
	if (mask != H.mxcsr_mask) {
		printf("  FXSAVE's MXCSR_MASK: host 0x%x engine 0x%x\n", H.mxcsr_mask, mask);
		test_state_g.failed_now = 1;
	}
	for (unsigned bit = 0; bit < 32; bit++) {
		u32 mx = 0x1f80 | 1u << bit;
		int bad;

		rand_state(&H, &s);
		area = (u8 *)(uintptr_t)s.gpr[X86_RBX];
		memcpy(area, &mx, 4);
		n = h_hex("0f ae 13", b); /* ldmxcsr [rbx] */
		bad = h_case(&H, &s, b, n, 0);
		rand_state(&H, &s);
		rand_state(&H, &tmp);
		area = (u8 *)(uintptr_t)s.gpr[X86_RBX];
		memcpy(area, tmp.fx, 512);
		memcpy(area + 24, &mx, 4);
		n = h_hex("0f ae 0b", b); /* fxrstor [rbx] */
		bad |= h_case(&H, &s, b, n, 0);
		if (bad) {
			printf("  ^ MXCSR bit %u\n", bit);
			test_state_g.failed_now = 1;
		}
	}
	if (!(H.mxcsr_mask & 1u << 17))
		return; /* no MM here: the cases above showed LDMXCSR refusing it */
	for (unsigned k = 0; k < ARRAY_SIZE(misaligned); k++) {
		n = h_hex(misaligned[k], b);
		for (unsigned i = 0; i < 20; i++) {
			u32 mx;
			rand_state(&H, &s);
			memcpy(&mx, s.fx + 24, 4);
			mx |= 1u << 17;
			memcpy(s.fx + 24, &mx, 4);
			if (h_case(&H, &s, b, n, 0)) {
				printf("  ^ with MXCSR.MM=1\n");
				test_state_g.failed_now = 1;
				break;
			}
		}
	}
}

extern const u8 simd_stubs[], simd_stubs_end[];

/* The stub table holds exactly the stubs the enum names, 16 bytes each. */
static void test_sse_stub_table(void)
{
	CHECK_EQ(simd_stubs_end - simd_stubs, 16 * SS_COUNT);
	CHECK_EQ(simd_stubs[16 * SS_S_addps + 3], 0xc3); /* addps xmm1, xmm2; ret */
}

int main(void)
{
	h_init(&H);
	TEST_RUN(test_sse_stub_table);
	TEST_RUN(test_sse_selected);
	TEST_RUN(test_sse_sweep_0f);
	TEST_RUN(test_sse_sweep_0f38);
	TEST_RUN(test_sse_sweep_0f3a);
	TEST_RUN(test_sse_sweep_mode32);
	TEST_RUN(test_sse_unmasked);
	TEST_RUN(test_sse_state_checks);
	TEST_RUN(test_fxsave);
	TEST_RUN(test_mxcsr_mask);
	printf("  %u cases compared with the host, %u of them ended in an exception\n", h_ncases,
	       h_nfaults);
	return test_done();
}
