/* x87 FPU (opcodes D8-DF): every computing instruction, register and memory
 * forms alike, runs as the same host instruction on the guest's x87 state
 * (loaded with FXRSTOR, saved back with FXSAVE), so stack, tags, condition
 * codes, rounding, precision control and exception behaviour are the CPU's
 * own (Intel SDM Vol. 1 ch. 8, Vol. 2 instruction pages). The control and
 * environment instructions are in fpu_env.c. */
#include <stddef.h>
#include <string.h>

#include "cpu/soft/fpu/fpu.h"

/* Host stubs, 4 bytes each: for opcode D8+op, the 64 register forms (ModRM
 * C0-FF) followed by the 8 memory forms, whose ModRM names [RAX]. */
#define X87_SLOTS 72
asm(".pushsection .text.x87_stubs,\"ax\",@progbits\n"
    ".balign 16\n"
    ".globl x87_stubs\n.hidden x87_stubs\n"
    "x87_stubs:\n"
    ".set x87_op, 0\n"
    ".rept 8\n"
    ".set x87_m, 0\n"
    ".rept 72\n"
    ".if x87_m < 64\n"
    ".byte 0xd8 + x87_op, 0xc0 + x87_m\n"
    ".else\n"
    ".byte 0xd8 + x87_op, (x87_m - 64) << 3\n"
    ".endif\n"
    "ret\n"
    "int3\n"
    ".set x87_m, x87_m + 1\n"
    ".endr\n"
    ".set x87_op, x87_op + 1\n"
    ".endr\n"
    ".popsection\n");

extern const u8 x87_stubs[];

/* Register forms the host may run, bit (ModRM - C0) per opcode: the SDM's
 * instructions plus the aliases every x86 CPU executes (FSTP1 D9 D8+i,
 * FCOM2/FCOMP3 DC D0+i, FXCH4 DD C8+i, FCOMP5 DE D0+i, FFREEP/FXCH7/FSTP8/9
 * DF C0-DF). DB E0-E4 and DF E0 are handled in C first. */
static const u64 x87_reg_valid[8] = {
    ~0ULL,
    0x1ffffULL | (0x3ffULL << 24) | (3ULL << 36) | (0x7fULL << 40) | (0xffffULL << 48),
    0xffffffffULL | (1ULL << 41),
    0xffffffffULL | (0xffffULL << 40),
    ~0ULL,
    (1ULL << 48) - 1,
    0xffffffULL | (1ULL << 25) | (0xffffffffULL << 32),
    0xffffffffULL | (0xffffULL << 40),
};

/* Memory forms: operand size in bytes by opcode and ModRM.reg (0: not a
 * computing form), and which of them store. */
static const u8 x87_mem_size[8][8] = {
    {4, 4, 4, 4, 4, 4, 4, 4},   {4, 0, 4, 4, 0, 0, 0, 0},   {4, 4, 4, 4, 4, 4, 4, 4},
    {4, 4, 4, 4, 0, 10, 0, 10}, {8, 8, 8, 8, 8, 8, 8, 8},   {8, 8, 8, 8, 0, 0, 0, 0},
    {2, 2, 2, 2, 2, 2, 2, 2},   {2, 2, 2, 2, 10, 8, 10, 8},
};
static const u8 x87_mem_store[8] = {0, 0x0c, 0, 0x8e, 0, 0x0e, 0, 0xce};

struct x87_frame {
	struct soft_fxstate g; /* guest x87 state in, result out */
	u8 host[512] __attribute__((aligned(16)));
	u8 mem[16]; /* memory operand, at [RAX] for the stub */
	u64 rflags; /* in: guest arithmetic flags (FCMOVcc); out: FCOMI's */
};

#define XF(f) [f] "i"(offsetof(struct x87_frame, f))

/* FXSAVE/FXRSTOR neither check nor raise pending x87 exceptions (SDM Vol.
 * 2A FXRSTOR), so a guest exception left pending by the stub never reaches
 * the host: the host state is restored before any waiting instruction. */
static __attribute__((noinline)) void x87_host_run(struct x87_frame *f, const void *stub)
{
	asm volatile("fxsave64 %c[host](%[f])\n\t"
		     "fxrstor64 %c[g](%[f])\n\t"
		     "lea -128(%%rsp), %%rsp\n\t"
		     "pushq %c[rflags](%[f])\n\t"
		     "popfq\n\t"
		     "call *%[stub]\n\t"
		     "pushfq\n\t"
		     "popq %c[rflags](%[f])\n\t"
		     "lea 128(%%rsp), %%rsp\n\t"
		     "fxsave64 %c[g](%[f])\n\t"
		     "fxrstor64 %c[host](%[f])\n\t"
		     :
		     : [f] "D"(f), [stub] "S"(stub), "a"(f->mem), XF(host), XF(g), XF(rflags)
		     : "memory", "cc");
}

#define ARITH_FLAGS                                                                                \
	(X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | X86_RFLAGS_SF |           \
	 X86_RFLAGS_OF)

static void x87_host_exec(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
	struct soft_fxstate *fx = &cpu->fx;
	struct x87_frame f;
	unsigned size = 0, idx, sub = in->reg & 7;
	bool store = false, fcomi;
	u16 exc;
	u64 ea = 0;

	if (in->mem) {
		size = x87_mem_size[op][sub];
		store = (x87_mem_store[op] >> sub) & 1;
		ea = simd_ea(cpu, in, 0);
		memset(f.mem, 0, sizeof(f.mem));
		if (!store)
			soft_read_buf(cpu, in->seg, ea, f.mem, size);
		idx = op * X87_SLOTS + 64 + sub;
	} else {
		idx = op * X87_SLOTS + (in->modrm & 0x3f);
	}
	/* Old exception flags are sticky; the stub starts from none so that
	 * nothing is pending on the host and the new ones can be told apart. */
	f.g = *fx;
	f.g.fsw &= ~(0x7f | FSW_ES | FSW_B);
	f.g.mxcsr = 0x1f80;
	f.rflags = (soft_flags_get(cpu) & ARITH_FLAGS) | X86_RFLAGS_FIXED;
	x87_host_run(&f, x87_stubs + 4 * idx);

	exc = f.g.fsw & 0x7f;
	/* SDM Vol. 1 8.5: with an unmasked exception other than precision a
	 * store to memory does not happen (checked on hardware). */
	if (store && !(exc & ~fx->fcw & 0x1f))
		soft_write_buf(cpu, in->seg, ea, f.mem, size);

	fx->fsw = (u16)((f.g.fsw & ~(0x7f | FSW_ES | FSW_B)) | (fx->fsw & 0x7f) | exc);
	fpu_update_es(fx);
	fx->ftw_abridged = f.g.ftw_abridged;
	memcpy(fx->st, f.g.st, sizeof(fx->st));
	/* Last-instruction pointers (SDM Vol. 1 8.1.8, 8.1.9). */
	fx->fop = (u16)(((in->opcode & 7) << 8) | in->modrm);
	fx->fip = cpu->insn_rip;
	if (in->mem)
		fx->fdp = ea;
	fcomi = (op == 3 || op == 7) && in->modrm >= 0xe8 && in->modrm < 0xf8;
	if (fcomi)
		soft_flags_set(cpu, f.rflags, ARITH_FLAGS);
}

void soft_exec_x87(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned op = in->opcode & 7;
	bool valid;

	/* SDM Vol. 3A Table 2-2: any x87 instruction with EM or TS is #NM. */
	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		soft_raise_noerr(cpu, EXC_NM);
	if (fpu_exec_control(cpu, in, op))
		return;
	if (in->mem)
		valid = x87_mem_size[op][in->reg & 7] != 0;
	else
		valid = (x87_reg_valid[op] >> (in->modrm & 0x3f)) & 1;
	/* FISTTP (DB/DD/DF /1) is SSE3: not on a host without it. */
	if (valid && in->mem && (in->reg & 7) == 1 && (op & 1) && !__builtin_cpu_supports("sse3"))
		valid = false;
	if (!valid)
		soft_raise_noerr(cpu, EXC_UD);
	fpu_check_pending(cpu);
	x87_host_exec(cpu, in, op);
}
