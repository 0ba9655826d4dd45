/* System and miscellaneous instructions: HLT, CLI/STI, IN/OUT, CPUID,
 * RDTSC, RDMSR/WRMSR, MOV CR/DR, CLTS, INT n/INT3/INTO/INT1, IRET,
 * SYSCALL/SYSRET/SYSENTER/SYSEXIT, caches and fences, NOPs, UD0/1/2,
 * RDRAND/RDSEED, group 15 and the x87/SIMD hand-off (Intel SDM Vol. 2, 3A). */
#include <sys/random.h>

#include "core/machine.h"
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/sys/sys.h"

#define CR4_TSD      (1ULL << 2)
#define CR4_DE       (1ULL << 3)
#define CR4_PCE      (1ULL << 8)
#define CR4_FSGSBASE (1ULL << 16)

/* #GP(0) unless CPL 0 (real mode counts as CPL 0). */
static void need_cpl0(struct soft_cpu *cpu)
{
	if (cpu->cpl != 0)
		soft_raise(cpu, EXC_GP, 0);
}

static unsigned iopl_of(const struct soft_cpu *cpu)
{
	return (unsigned)((cpu->rflags & RFLAGS_IOPL) >> 12);
}

/* F4: HLT. */
void soft_op_hlt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	need_cpl0(cpu);
	cpu->halted = true;
	cpu->exec_stop = true;
}

/* FA: CLI, FB: STI (CPL <= IOPL; no VME/PVI). STI delays interrupts by one
 * instruction when it sets IF (SDM Vol. 2B "STI"). */
void soft_op_cli(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if (cpu->mode != SOFT_MODE_REAL && cpu->cpl > iopl_of(cpu))
		soft_raise(cpu, EXC_GP, 0);
	cpu->rflags &= ~X86_RFLAGS_IF;
}

void soft_op_sti(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if (cpu->mode != SOFT_MODE_REAL && cpu->cpl > iopl_of(cpu))
		soft_raise(cpu, EXC_GP, 0);
	if (!(cpu->rflags & X86_RFLAGS_IF)) {
		cpu->rflags |= X86_RFLAGS_IF;
		cpu->intr_shadow = 1;
		cpu->exec_stop = true;
		cpu->sti_window = true;
	}
}

/* ---- port I/O ---- */

void soft_io_check(struct soft_cpu *cpu, u16 port, unsigned size)
{
	if (!soft_io_allowed(cpu, port, size))
		soft_raise(cpu, EXC_GP, 0);
}

u64 soft_io_in(struct soft_cpu *cpu, u16 port, unsigned size)
{
	u64 v = ~0ULL;

	cpu->stat_side++;
	bus_read(&cpu->m->pio, port, size, &v);
	return v & soft_size_mask(size);
}

void soft_io_out(struct soft_cpu *cpu, u16 port, unsigned size, u64 v)
{
	/* A device that stops the machine or raises an interrupt kicks the
	 * vCPU (cpu->kick / cpu->attention): no need to end the batch here. */
	cpu->stat_side++;
	bus_write(&cpu->m->pio, port, size, v & soft_size_mask(size));
}

/* E4-E7 (imm8 port), EC-EF (DX port). */
void soft_op_in_out(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size == 1 ? 1 : in->opsize == 2 ? 2 : 4;
	u16 port = in->opcode & 8 ? (u16)cpu->gpr[X86_RDX] : (u16)in->imm;

	soft_io_check(cpu, port, size);
	if (in->opcode & 2)
		soft_io_out(cpu, port, size, cpu->gpr[X86_RAX]);
	else
		soft_reg_set(cpu, X86_RAX, size, true, soft_io_in(cpu, port, size));
}

/* ---- identification, time, MSRs ---- */

void soft_op_cpuid(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u32 out[4] = {0, 0, 0, 0};

	(void)in;
	soft_cpuid(cpu, (u32)cpu->gpr[X86_RAX], (u32)cpu->gpr[X86_RCX], out);
	cpu->gpr[X86_RAX] = out[0];
	cpu->gpr[X86_RBX] = out[1];
	cpu->gpr[X86_RCX] = out[2];
	cpu->gpr[X86_RDX] = out[3];
}

static void edx_eax(struct soft_cpu *cpu, u64 v)
{
	cpu->gpr[X86_RAX] = (u32)v;
	cpu->gpr[X86_RDX] = v >> 32;
}

/* 0F 31: RDTSC (soft_rdtsc checks CR4.TSD). */
void soft_op_rdtsc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	edx_eax(cpu, soft_rdtsc(cpu));
}

/* 0F 33: RDPMC. No performance counters are offered: #GP(0). */
void soft_op_rdpmc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_raise(cpu, EXC_GP, 0);
}

void soft_op_rdmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 v = 0;

	(void)in;
	need_cpl0(cpu);
	soft_rdmsr(cpu, (u32)cpu->gpr[X86_RCX], &v);
	edx_eax(cpu, v);
}

void soft_op_wrmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	need_cpl0(cpu);
	soft_wrmsr(cpu, (u32)cpu->gpr[X86_RCX], (cpu->gpr[X86_RDX] << 32) | (u32)cpu->gpr[X86_RAX]);
	cpu->exec_stop = true; /* EFER, APIC base, TSC deadline... */
}

/* ---- control and debug registers ---- */

/* 0F 20/22: MOV r, CRn / MOV CRn, r (the register size is 64 bits in
 * 64-bit mode, else 32; SDM Vol. 2B "MOV-Move to/from Control Registers"). */
void soft_op_mov_cr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned n = in->reg, size = cpu->mode == SOFT_MODE_LONG64 ? 8 : 4;

	if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
		soft_insn_ud(cpu, in);
	need_cpl0(cpu);
	if (in->opcode == 0x20) {
		soft_reg_set(cpu, in->rm, size, true, soft_read_cr(cpu, (int)n));
	} else {
		soft_write_cr(cpu, (int)n, soft_reg_get(cpu, in->rm, size, true));
		cpu->exec_stop = true; /* paging or mode may have changed */
		cpu->block_end = n == 3; /* (only paging: the batch may go on) */
	}
}

/* 0F 21/23: MOV DRn; DR4/DR5 alias DR6/DR7 unless CR4.DE. Breakpoints
 * take effect from the next instruction (sys/debug.c). */
void soft_op_mov_dr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned n = in->reg, size = cpu->mode == SOFT_MODE_LONG64 ? 8 : 4;
	u64 v;

	if (n > 7)
		soft_insn_ud(cpu, in);
	if (n == 4 || n == 5) {
		if (cpu->cr4 & CR4_DE)
			soft_insn_ud(cpu, in);
		n += 2;
	}
	need_cpl0(cpu);
	soft_debug_check_gd(cpu);
	if (in->opcode == 0x21) {
		soft_reg_set(cpu, in->rm, size, true, cpu->dr[n]);
		return;
	}
	v = soft_reg_get(cpu, in->rm, size, true);
	if ((n == 6 || n == 7) && (v >> 32))
		soft_raise(cpu, EXC_GP, 0);
	if (n == 6)
		v = (v & 0x0000f00fULL) | 0xffff0ff0ULL;
	else if (n == 7)
		v = (v & ~0xd800ULL) | 0x400;
	cpu->dr[n] = v;
	if (n != 6) {
		soft_debug_update(cpu);
		cpu->exec_stop = true; /* the next instruction may need the debug path */
	}
}

void soft_op_clts(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	need_cpl0(cpu);
	soft_clts(cpu);
}

/* ---- interrupts and fast system calls ---- */

/* CC INT3, CD INT n, CE INTO, F1 INT1. Delivery happens here, as a trap
 * (the saved RIP is the next instruction). */
void soft_op_int(struct soft_cpu *cpu, const struct soft_insn *in)
{
	switch (in->opcode) {
	case 0xcc:
		soft_deliver_interrupt(cpu, EXC_BP, SOFT_INT_INT3);
		break;
	case 0xcd:
		soft_deliver_interrupt(cpu, (int)(in->imm & 0xff), SOFT_INT_SOFTWARE);
		break;
	case 0xce:
		if (!soft_cond(cpu, 0))
			return;
		soft_deliver_interrupt(cpu, EXC_OF, SOFT_INT_INTO);
		break;
	default:
		soft_deliver_interrupt(cpu, EXC_DB, SOFT_INT_ICEBP);
		break;
	}
	/* Delivery may have ended in a shutdown (triple fault). */
	if (cpu->shutdown)
		cpu->exec_stop = true;
}

/* CF: IRET/IRETD/IRETQ. */
void soft_op_iret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 old = cpu->rflags;

	soft_iret(cpu, in->opsize);
	soft_stop_if_window(cpu, old);
}

/* 0F 05: SYSCALL; fastsys.c checks the modes each vendor allows. */
void soft_op_syscall(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 old = cpu->rflags;

	(void)in;
	soft_syscall(cpu);
	soft_stop_if_window(cpu, old);
}

/* 0F 07: SYSRET. */
void soft_op_sysret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 old = cpu->rflags;

	soft_sysret(cpu, in->opsize);
	soft_stop_if_window(cpu, old);
}

void soft_op_sysenter(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 old = cpu->rflags;

	(void)in;
	soft_sysenter(cpu);
	soft_stop_if_window(cpu, old);
}

void soft_op_sysexit(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 old = cpu->rflags;

	soft_sysexit(cpu, in->opsize);
	soft_stop_if_window(cpu, old);
}

/* ---- no-ops, caches, undefined ---- */

/* NOP forms: 0F 1F /0, hint NOPs 0F 18-1F, PREFETCHW 0F 0D, ENDBR. */
void soft_op_nop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)cpu, (void)in;
}

/* F3 90: PAUSE. */
void soft_op_pause(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	__builtin_ia32_pause();
	cpu->exec_stop = true; /* a spin-wait: let the run loop look around */
}

/* 0F 0B UD2, 0F B9 UD1, 0F FF UD0. */
void soft_op_ud(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_insn_ud_defined(cpu);
}

/* 0F 08 INVD, 0F 09 WBINVD: caches are coherent here. */
void soft_op_invd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	need_cpl0(cpu);
}

/* 0F AA: RSM outside SMM. */
void soft_op_rsm(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_insn_ud(cpu, in);
}

/* 9B: WAIT/FWAIT (#NM, pending x87 exceptions: the x87 code's soft_fwait). */
void soft_op_wait(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_fwait(cpu);
}

/* 0F C7 /6 RDRAND, /7 RDSEED (register forms): CF=1 and the other flags
 * cleared on success (SDM Vol. 2B "RDRAND"). F3 0F C7 /7 is RDPID. */
void soft_op_rdrand(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 v = 0;

	if (in->rep == 0xf3 && ((in->modrm >> 3) & 7) == 7) {
		soft_reg_set(cpu, in->rm, cpu->mode == SOFT_MODE_LONG64 ? 8 : 4, true,
			     (u32)cpu->msr.tsc_aux);
		return;
	}
	if (in->rep)
		soft_insn_ud(cpu, in);
	cpu->stat_side++;
	if (getrandom(&v, in->opsize, 0) != (ssize_t)in->opsize) {
		soft_reg_set(cpu, in->rm, in->opsize, in->rex, 0);
		soft_flags_set_arith(cpu, 0); /* CF=0: "no random number available" */
		return;
	}
	soft_reg_set(cpu, in->rm, in->opsize, in->rex, v);
	soft_flags_set_arith(cpu, X86_RFLAGS_CF);
}

/* F3 0F AE /0../3 (registers): RDFSBASE RDGSBASE WRFSBASE WRGSBASE. */
static void fsgsbase(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
	int seg = op & 1 ? X86_GS : X86_FS;
	unsigned size = in->opsize == 8 ? 8 : 4;
	u64 v;

	if (cpu->mode != SOFT_MODE_LONG64 || !(cpu->cr4 & CR4_FSGSBASE))
		soft_insn_ud(cpu, in);
	if (op < 2) {
		soft_reg_set(cpu, in->rm, size, true, cpu->seg[seg].base);
		return;
	}
	v = soft_reg_get(cpu, in->rm, size, true);
	if (!soft_canonical(v))
		soft_raise(cpu, EXC_GP, 0);
	cpu->seg[seg].base = v;
}

/* 0F AE: group 15. Fences and cache-line flushes are done here; the
 * FXSAVE/FXRSTOR/LDMXCSR/STMXCSR/XSAVE family belongs to the SIMD code. */
void soft_op_grp15(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned op = (in->modrm >> 3) & 7;

	if (!in->mem) {
		if (in->rep == 0xf3 && op < 4) {
			fsgsbase(cpu, in, op);
			return;
		}
		if (in->rep || in->p66 || op < 5)
			soft_insn_ud(cpu, in);
		/* LFENCE, MFENCE, SFENCE: the host's TSO covers LFENCE/SFENCE;
		 * MFENCE also orders stores before later loads across vCPUs. */
		if (op == 6)
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return;
	}
	if (op == 7 || (op == 6 && in->p66)) {
		/* CLFLUSH, CLFLUSHOPT, CLWB: coherent memory; only the checks of
		 * a one-byte read, with no access (SDM Vol. 2A "CLFLUSH"). */
		u64 lin = soft_mem_linear(cpu, in->seg, soft_ea(cpu, in), 1, SOFT_ACC_READ);
		soft_translate(cpu, lin, SOFT_ACC_READ, cpu->dpriv);
		return;
	}
	soft_op_simd(cpu, in);
}

/* ---- x87 and SIMD hand-off ---- */

void soft_op_x87(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_exec_x87(cpu, in);
}

void soft_op_simd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_exec_simd(cpu, in);
}
