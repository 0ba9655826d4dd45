/* Soft engine x87 tests: all 512 register encodings of D8-DF and all 64
 * memory encodings (including the environment instructions, 16- and 32-bit
 * forms) run from random x87 states (every TOP/tag combination, NaNs,
 * denormals, unnormals, pseudo-NaNs, integer boundaries, BCD, rounding and
 * precision control, masked and unmasked exceptions) natively and on the
 * soft vCPU; the results, FSW, tags, EFLAGS, memory and exceptions (#UD,
 * #MF) must be identical. Plus #NM, WAIT and the reset state. */
#include "test.h"
#include "soft_simd_harness.h"
#include "cpu/soft/fpu/fpu.h"

static struct harness H;

/* A random 80-bit value from the interesting classes. */
static void rand_f80(struct harness *h, u8 *p)
{
	u64 r = h_rand(h), mant = h_rand(h);
	u16 exp;

	switch (r % 12) {
	case 0: /* zero */
		mant = 0;
		exp = 0;
		break;
	case 1: /* denormal or pseudo-denormal */
		exp = 0;
		if (r & 0x100)
			mant &= ~(1ULL << 63);
		break;
	case 2: /* unnormal */
		mant &= ~(1ULL << 63);
		exp = (u16)(1 + (r >> 16) % 0x7ffe);
		break;
	case 3: /* infinity / NaN / pseudo-NaN / pseudo-infinity */
		exp = 0x7fff;
		if (r & 0x100)
			mant = 1ULL << 63;
		else if (r & 0x200)
			mant |= 1ULL << 63;
		break;
	case 4: /* near the limits of the formats */
		mant |= 1ULL << 63;
		exp = (u16[]){1,      0x7ffe,      0x3c01,      0x43fe,     0x3f81,
			      0x407e, 0x3fff + 63, 0x3fff + 31, 0x3fff + 15}[(r >> 16) % 9];
		break;
	case 5: /* small integers and halves (FRNDINT, FIST, FBSTP) */
		mant = (mant | (1ULL << 63)) & ~((1ULL << (63 - (r >> 16) % 20)) - 1);
		exp = (u16)(0x3fff + (r >> 24) % 20);
		break;
	default: /* ordinary numbers around 1 */
		mant |= 1ULL << 63;
		exp = (u16)(0x3fff - 40 + (r >> 16) % 80);
		break;
	}
	if (r & 0x80000)
		exp |= 0x8000;
	memcpy(p, &mant, 8);
	memcpy(p + 8, &exp, 2);
}

static void rand_mem_operand(struct harness *h, u8 *p)
{
	u64 r = h_rand(h);

	for (unsigned i = 0; i < 32; i += 8) {
		u64 v = h_rand(h);
		memcpy(p + i, &v, 8);
	}
	switch (r % 6) {
	case 0:
		rand_f80(h, p);
		break;
	case 1: { /* float/double specials */
		static const u32 f[] = {0, 0x80000000, 0x7f800000, 0x7fc00000, 0x7fa00000,
					1, 0x00800000, 0x3f800000, 0x4f000000, 0xcf000000};
		static const u64 d[] = {
		    0, 0x7ff0000000000000ULL, 0x7ff8000000000000ULL, 0x7ff4000000000000ULL,
		    1, 0x3ff0000000000000ULL, 0xc3e0000000000000ULL, 0x0010000000000000ULL};
		u32 fv = f[(r >> 8) % ARRAY_SIZE(f)];
		u64 dv = d[(r >> 16) % ARRAY_SIZE(d)];
		if (r & 0x1000)
			memcpy(p, &fv, 4);
		else
			memcpy(p, &dv, 8);
		break;
	}
	case 2: { /* packed BCD, valid digits */
		for (unsigned i = 0; i < 9; i++)
			p[i] = (u8)(((h_rand(h) % 10) << 4) | (h_rand(h) % 10));
		p[9] = (r & 0x100) ? 0x80 : 0;
		break;
	}
	case 3: { /* integer boundaries */
		static const u64 iv[] = {0,
					 1,
					 0x7fff,
					 0x8000,
					 0xffff,
					 0x7fffffff,
					 0x80000000,
					 0xffffffff,
					 0x8000000000000000ULL,
					 0x7fffffffffffffffULL};
		u64 v = iv[(r >> 8) % ARRAY_SIZE(iv)];
		memcpy(p, &v, 8);
		break;
	}
	default:
		break;
	}
}

/* Random x87 state; SSE parts random too. Pending-exception state is kept
 * consistent (ES = B = some unmasked flag set), sometimes pending. */
static void rand_state(struct harness *h, struct h_state *s)
{
	u64 r = h_rand(h);
	u16 fcw = (u16)(0x1040 | (r & 0x0f00) | 0x3f), fsw;

	memset(s, 0, sizeof(*s));
	if ((r & 0xf000) == 0) /* sometimes unmasked exceptions */
		fcw = (u16)((fcw & ~0x3f) | ((r >> 16) & 0x3f));
	if (((fcw >> 8) & 3) == 1) /* precision control 01 is reserved */
		fcw |= 0x200;
	fsw = (u16)(h_rand(h) & 0x7f7f);
	if ((r >> 24) & 7) /* only rarely leave an unmasked exception pending */
		fsw &= (u16)(~0x7f | (fcw & 0x3f));
	if (fsw & ~fcw & 0x3f)
		fsw |= FSW_ES | FSW_B;
	memcpy(s->fx, &fcw, 2);
	memcpy(s->fx + 2, &fsw, 2);
	s->fx[4] = (u8)h_rand(h);
	if (h_rand(h) & 1)
		s->fx[4] = (h_rand(h) & 1) ? 0xff : 0;
	for (unsigned i = 0; i < 8; i++)
		rand_f80(h, s->fx + 32 + 16 * i);
	memcpy(s->fx + 24, (u32[]){0x1f80}, 4);
	for (unsigned i = 0; i < 16; i++)
		s->gpr[i] = h_rand(h);
	s->gpr[X86_RSP] = 0;
	s->gpr[X86_RBX] = (u64)(uintptr_t)(h->mem + 4096 * (1 + h_rand(h) % 8) + 512);
	s->rflags = h_rand(h) & 0x8d5;
	rand_mem_operand(h, (u8 *)(uintptr_t)s->gpr[X86_RBX]);
	rand_mem_operand(h, (u8 *)(uintptr_t)s->gpr[X86_RBX] + 32);
}

static void check_bytes(const u8 *b, unsigned n, unsigned iters)
{
	struct h_state s;

	for (unsigned i = 0; i < iters; i++) {
		rand_state(&H, &s);
		if (h_case(&H, &s, b, n, 0)) {
			test_state_g.failed_now = 1;
			return;
		}
	}
}

static void test_x87_register_forms(void)
{
	for (unsigned op = 0xd8; op <= 0xdf; op++) {
		for (unsigned modrm = 0xc0; modrm <= 0xff; modrm++) {
			u8 b[2] = {(u8)op, (u8)modrm};
			check_bytes(b, 2, 150);
		}
	}
}

/* Stored FPU IP/operand pointers are the host's natively: blank them. */
static unsigned g_env_off, g_env_len;

static void env_fixup(u8 *native, u8 *soft)
{
	memset(native + g_env_off, 0, g_env_len);
	memset(soft + g_env_off, 0, g_env_len);
}

static void test_x87_memory_forms(void)
{
	struct h_state s;

	for (unsigned op = 0xd8; op <= 0xdf; op++) {
		for (unsigned reg = 0; reg < 8; reg++) {
			for (unsigned o16 = 0; o16 < 2; o16++) {
				bool env = (op == 0xd9 || op == 0xdd) && (reg == 6);
				u8 b[4];
				unsigned n = 0;
				int bad = 0;
				if (o16)
					b[n++] = 0x66;
				b[n++] = (u8)op;
				b[n++] = (u8)(0x40 | reg << 3 | X86_RBX);
				b[n++] = 0x10;
				h_mem_fixup = env ? env_fixup : NULL;
				for (unsigned i = 0; i < 300 && !bad; i++) {
					rand_state(&H, &s);
					g_env_off = (unsigned)(s.gpr[X86_RBX] + 0x10 -
							       (u64)(uintptr_t)H.mem) +
						    (o16 ? 6 : 12);
					g_env_len = o16 ? 6 : 12;
					bad = h_case(&H, &s, b, n, 0);
				}
				h_mem_fixup = NULL;
				if (bad) {
					printf("  ^ %02x /%u%s\n", op, reg, o16 ? " (16-bit)" : "");
					test_state_g.failed_now = 1;
				}
			}
		}
	}
}

/* FLDENV/FRSTOR from images written by FNSTENV/FNSAVE of random states. */
static void test_x87_env_roundtrip(void)
{
	static const char *const pairs[][2] = {
	    {"d9 73 10", "d9 63 10"},
	    {"66 d9 73 10", "66 d9 63 10"},
	    {"dd 73 10", "dd 63 10"},
	    {"66 dd 73 10", "66 dd 63 10"},
	};
	struct h_state s;
	u8 b[8], b2[8];

	for (unsigned k = 0; k < ARRAY_SIZE(pairs); k++) {
		unsigned n = h_hex(pairs[k][0], b), n2 = h_hex(pairs[k][1], b2);
		for (unsigned i = 0; i < 300; i++) {
			struct h_state nat;
			rand_state(&H, &s);
			nat = s;
			/* Native store of a random state makes the image... */
			if (h_run_native(&H, &nat, b, n) != -1)
				continue;
			/* ...that both then load, from another random state. */
			rand_state(&H, &s);
			s.gpr[X86_RBX] = nat.gpr[X86_RBX];
			if (h_case(&H, &s, b2, n2, 0)) {
				test_state_g.failed_now = 1;
				break;
			}
		}
	}
}

/* #NM for EM/TS, FWAIT with MP+TS, #MF from WAIT, reset state. */
static void test_x87_checks(void)
{
	struct soft_cpu *cpu = H.cpu;
	struct h_state s;
	u8 fld1[2] = {0xd9, 0xe8}, fnstsw[2] = {0xdf, 0xe0}, wait[1] = {0x9b};

	rand_state(&H, &s);
	h_load_soft(&H, &s);
	cpu->fx.fsw = 0;
	cpu->cr0 |= X86_CR0_EM;
	CHECK_EQ(h_run_soft(&H, fld1, 2), EXC_NM);
	CHECK_EQ(h_run_soft(&H, wait, 1), -1);
	cpu->cr0 &= ~X86_CR0_EM;
	cpu->cr0 |= X86_CR0_TS;
	CHECK_EQ(h_run_soft(&H, fnstsw, 2), EXC_NM);
	CHECK_EQ(h_run_soft(&H, wait, 1), EXC_NM);
	cpu->cr0 &= ~X86_CR0_MP;
	CHECK_EQ(h_run_soft(&H, wait, 1), -1);
	cpu->cr0 |= X86_CR0_MP;
	cpu->cr0 &= ~X86_CR0_TS;
	/* A pending unmasked exception: WAIT and FLD1 fault natively and here;
	 * FNSTSW does not wait. */
	for (unsigned i = 0; i < 50; i++) {
		u16 fcw = 0x37e, fsw = 0x8081;
		rand_state(&H, &s);
		memcpy(s.fx, &fcw, 2);
		memcpy(s.fx + 2, &fsw, 2);
		if (h_case(&H, &s, wait, 1, 0) || h_case(&H, &s, fld1, 2, 0) ||
		    h_case(&H, &s, fnstsw, 2, 0))
			test_state_g.failed_now = 1;
	}
	/* FXSAVE-layout reset state: FNINIT's plus MXCSR 1F80. */
	soft_fpu_reset(cpu);
	CHECK_EQ(cpu->fx.fcw, 0x37f);
	CHECK_EQ(cpu->fx.fsw, 0);
	CHECK_EQ(cpu->fx.ftw_abridged, 0);
	CHECK_EQ(cpu->fx.mxcsr, 0x1f80);
	CHECK_EQ(fpu_full_tag(&cpu->fx), 0xffff);
}

/* A short program: the soft vCPU runs it one instruction at a time, the
 * host in one go; the final states must agree. */
static void test_x87_sequence(void)
{
	static const char *const prog[] = {
	    "db e3",    /* fninit */
	    "dd 03",    /* fld qword [rbx] */
	    "d9 fa",    /* fsqrt */
	    "d9 eb",    /* fldpi */
	    "de c9",    /* fmulp */
	    "d9 fe",    /* fsin */
	    "dd 5b 08", /* fstp qword [rbx+8] */
	    "df 6b 10", /* fild qword [rbx+16] */
	    "d9 f4",    /* fxtract */
	    "db 7b 20", /* fstp tbyte [rbx+32] */
	    "df 73 30", /* fbstp [rbx+48] */
	};
	struct h_state s, nat;
	u8 code[128];
	unsigned n = 0;
	int bad = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(prog); i++)
		n += h_hex(prog[i], code + n);
	for (unsigned it = 0; it < 200 && !bad; it++) {
		rand_state(&H, &s);
		memcpy(h_snap, H.mem, H_MEM_SIZE);
		nat = s;
		CHECK_EQ(h_run_native(&H, &nat, code, n), -1);
		memcpy(h_natmem, H.mem, H_MEM_SIZE);
		memcpy(H.mem, h_snap, H_MEM_SIZE);
		h_load_soft(&H, &s);
		for (unsigned i = 0; i < ARRAY_SIZE(prog); i++) {
			u8 b[8];
			unsigned k = h_hex(prog[i], b);
			CHECK_EQ(h_run_soft(&H, b, k), -1);
		}
		bad |= memcmp(h_natmem, H.mem, H_MEM_SIZE) != 0;
		bad |= memcmp(nat.fx + 32, H.cpu->fx.st, 128) != 0;
		bad |= memcmp(nat.fx + 2, &H.cpu->fx.fsw, 2) != 0;
	}
	CHECK(!bad);
}

int main(void)
{
	h_init(&H);
	TEST_RUN(test_x87_checks);
	TEST_RUN(test_x87_register_forms);
	TEST_RUN(test_x87_memory_forms);
	TEST_RUN(test_x87_env_roundtrip);
	TEST_RUN(test_x87_sequence);
	printf("  %u cases compared with the host, %u of them ended in an exception\n", h_ncases,
	       h_nfaults);
	return test_done();
}
