/* The soft engine's vCPU: architectural state and the internal contracts
 * between its parts (decoder/interpreter, MMU and system, FPU/SSE, APIC).
 * Everything here is private to src/cpu/soft/. */
#ifndef POPEK_SOFT_CPU_H
#define POPEK_SOFT_CPU_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>

#include "core/x86_state.h"
#include "cpu/soft/mmu/tlb.h"

struct machine;
struct soft_vm;
struct soft_lapic;
struct soft_dcache;
struct soft_lockstep;

/* Exception vectors (Intel SDM Vol. 3A 6.15). */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
	EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
	EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* Which x86 mode the vCPU is in; recomputed by soft_mode_update() after any
 * write to CR0, EFER, CS or RFLAGS.VM. */
enum soft_mode {
	SOFT_MODE_REAL,   /* CR0.PE = 0 */
	SOFT_MODE_PROT,   /* protected mode, 16- or 32-bit code per CS.db */
	SOFT_MODE_COMPAT, /* long mode, CS.l = 0 */
	SOFT_MODE_LONG64, /* long mode, CS.l = 1 */
};

/* x87 + SSE state kept in FXSAVE layout (Intel SDM Vol. 1 10.5.1) so that
 * FXSAVE/FXRSTOR/XSAVE are plain copies and snapshots need no conversion. */
struct soft_fxstate {
	u16 fcw, fsw;
	u8 ftw_abridged, rsvd1;
	u16 fop;
	u64 fip, fdp;
	u32 mxcsr, mxcsr_mask;
	u8 st[8][16];   /* 80-bit values in FXSAVE order: st[i] is ST(i); MMi = ST((i - TOP) & 7) */
	u8 xmm[16][16];
	u8 rsvd2[96];
} __attribute__((aligned(16)));

_Static_assert(sizeof(struct soft_fxstate) == 512, "FXSAVE area is 512 bytes");

struct soft_msrs {
	u64 star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 pat, misc_enable, mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
	u64 tsc_offset;            /* guest TSC = clock-derived TSC + offset */
	u64 kvm_system_time;       /* MSR_KVM_SYSTEM_TIME_NEW (kvmclock) */
	u64 kvm_wall_clock;
	u64 spec_ctrl;
	u64 arch_caps;                        /* IA32_ARCH_CAPABILITIES, read-only: sys/reset.c */
	u64 tsx_ctrl, misc_package_ctls;      /* when arch_caps names them (sys/msr.c) */
	u64 amd_hwcr, amd_nb_cfg, amd_de_cfg; /* AMD model only (msr_amd.c) */
};

/* Lazy arithmetic flags: the last flag-setting operation is recorded and
 * CF/PF/AF/ZF/SF/OF are computed only when read (soft_flags_get). */
struct soft_lazy {
	u32 op;      /* enum defined by the interpreter (flags.c); 0 = flags are in rflags */
	u8 size;     /* operand size in bytes */
	u64 dst, src, res;
};

struct soft_cpu {
	/* Architectural registers. */
	u64 gpr[16];
	u64 rip;
	u64 rflags;  /* non-arithmetic flags always; arithmetic ones when lazy.op == 0 */
	struct soft_lazy lazy;
	struct x86_seg seg[6];   /* enum x86_segreg */
	struct x86_seg tr, ldt;
	struct x86_dtable gdt, idt;
	u64 cr0, cr2, cr3, cr4, efer, xcr0;
	u32 pkru; /* protection-key rights for user pages (SDM Vol. 3A 2.7, 4.6.2) */
	struct soft_msrs msr;
	struct soft_fxstate fx;

	/* The modelled CPU (vendor.h): enum cpu_vendor, never CPU_VENDOR_HOST,
	 * and one bit per enum soft_quirk. Set by soft_reset() from the machine's
	 * configuration. */
	u8 vendor;
	u32 quirks;
	u8 f3_bitscan; /* bit 0: F3 0F BC is TZCNT, bit 1: F3 0F BD is LZCNT (bit.c) */

	/* Derived state (soft_mode_update). */
	enum soft_mode mode;
	u8 cpl;
	u8 code_size;   /* default operand/address size: 2, 4 or 8 */
	u8 stack_size;  /* SS.db: 2 or 4; 8 in 64-bit mode */
	u8 dpriv;       /* TLB bank of explicit data accesses (enum soft_priv): soft_priv_update() */
	u32 dbank_off;  /* its byte offset in tlb.e (the translator's inline TLB check) */

	/* Per-instruction state. */
	u64 insn_rip;        /* RIP of the instruction being executed */
	jmp_buf fault_jmp;   /* soft_raise() longjmps here */
	bool nmi_blocked;

	/* Pending exception delivery (set by soft_raise, consumed by the loop). */
	int pending_vector;  /* -1 none */
	u32 pending_error;
	bool pending_has_error;

	/* Reasons to stop at the next instruction boundary; together in one
	 * aligned qword, which translated code tests at once (jit/translate.c). */
	_Alignas(8) u8 intr_shadow; /* 1: STI or MOV SS shadow covers the next instruction */
	_Atomic bool kick;         /* set by kick(): leave run() soon */
	_Atomic bool attention;    /* another thread wants the run loop to look (IRQ, IPI, INIT) */
	_Atomic bool code_moved;   /* the code epoch moved (mmu/tlb.h): leave translated code */
	bool exec_stop;            /* end soft_exec's batch after this instruction */
	u8 stops_pad[3];

	/* Run state. */
	bool halted;               /* HLT executed, waiting for an interrupt */
	bool wait_for_sipi;        /* AP before INIT-SIPI, or after INIT */
	bool shutdown;             /* triple fault happened */
	bool sti_window;           /* exec_stop is STI's, which set IF (interp.c) */
	bool block_end;            /* exec_stop only ends the block (MOV CR3, INVLPG) */

	struct soft_tlb tlb;
	struct soft_lapic *lapic;
	struct soft_vm *vm;
	struct machine *m;
	unsigned id;               /* vCPU index = APIC id */

	/* Interpreter state (interp.c, engine.c). */
	u64 exec_end;              /* soft_exec's batch ends when stat_insns reaches it */
	/* While translated code runs: exec_end - stat_insns when it started
	 * (jit_left0), counted down by the code itself as its blocks retire (it
	 * leaves when not above 0); stat_insns gains jit_left0 - jit_left when
	 * it returns or faults. */
	s64 jit_left, jit_left0;
	u8 *jit_exit;              /* the link site translated code left by, or NULL */
	/* The decoded block the interpreter is executing, or NULL, and its
	 * first RIP: a fault counts the instructions before it from there.
	 * Translated code runs with run = SOFT_RUN_JIT and stores in run_done
	 * how many instructions of its block retired before each call that may
	 * fault. */
	const void *run;
	u64 run_rip;
	u32 run_done;
	pthread_mutex_t *held_lock; /* held across accesses that may fault: released on a fault */
	int undo_reg;              /* GPR to restore (to undo_val) if the instruction faults, or -1 */
	u64 undo_val;
	bool undo_flags;           /* restore RFLAGS to undo_rflags if the instruction faults */
	u64 undo_rflags;
	u64 dr[8];                 /* debug registers; DR4/DR5 unused (aliases) */
	/* Breakpoints enabled in DR7 (soft_debug_update): bit n for DRn. */
	u8 db_exec;                /* execute breakpoints */
	u8 db_data;                /* data breakpoints: their pages skip the TLB */
	u8 db_hits;                /* data breakpoints the instruction hit */
	bool db_ss_shadow;         /* MOV/POP SS: no #DB after this instruction */
	bool db_fault_rf;          /* the pending #DB is a fault that pushes RF (DR7.GD) */
	bool db_delivered;         /* the instruction delivered an event (exception.c) */
	u8 db_rep;                 /* how a REP instruction runs (SOFT_REP_*) */
	/* A debugger's own breakpoints (engine set_debug; cpu/engine.h), NULL:
	 * none; the guest never sees them. dbg_stop: why the vCPU stopped for
	 * it (enum engine_debug_kind + 1; 0: it did not). */
	const struct engine_debug *dbg;
	u8 dbg_stop;
	u64 dbg_stop_addr;
	struct soft_dcache *dcache; /* decoded-instruction cache (interp.c), NULL: none */

	u64 stat_insns;            /* instructions retired */
	u64 stat_tlb_misses;
	u64 stat_ud;               /* #UD raised for undefined/unimplemented opcodes */
	/* Accesses that cannot be repeated or undone: devices (port I/O,
	 * MMIO), the clock, random numbers, MSR writes, hypercalls. */
	u64 stat_side;
	struct soft_lockstep *lockstep; /* a lockstep check is logging writes (jit/lockstep.h) */
};

/* ---- Faults (exception.c) ---------------------------------------------
 * soft_raise aborts the current instruction: it records the exception and
 * longjmps to cpu->fault_jmp; the run loop then delivers it with
 * soft_deliver_exception(). Instructions must therefore finish all
 * accesses that can fault before they change architectural state. */
_Noreturn void soft_raise(struct soft_cpu *cpu, int vector, u32 error_code);
_Noreturn void soft_raise_noerr(struct soft_cpu *cpu, int vector);
/* Delivers the pending exception (or a hardware/software interrupt) through
 * the IVT/IDT: privilege and stack switch, IST, error code push, #DF on a
 * fault during delivery, shutdown (cpu->shutdown) on a triple fault. */
void soft_deliver_exception(struct soft_cpu *cpu);
enum soft_int_kind { SOFT_INT_HW, SOFT_INT_SOFTWARE /* INT n */, SOFT_INT_INT3, SOFT_INT_INTO,
		     SOFT_INT_ICEBP };
void soft_deliver_interrupt(struct soft_cpu *cpu, int vector, enum soft_int_kind kind);

/* ---- Debug registers (debug.c, Intel SDM Vol. 3B ch. 18) ----
 * With a breakpoint enabled, TF or RF set, soft_exec runs one instruction
 * at a time through soft_debug_step. */
/* Recomputes db_exec/db_data from DR7 (after MOV DR7, reset or a load);
 * a change of data breakpoints flushes the TLB. */
void soft_debug_update(struct soft_cpu *cpu);
/* cpu->db_rep: a REP string instruction runs up to a chunk of iterations
 * (BATCH). On the debug path it sets RF when it stops with iterations left
 * (RF), and stops after each iteration when a #DB trap may follow one (ONE:
 * TF, data breakpoints, a debugger's step) (SDM Vol. 3B 18.3.1.1-18.3.1.4). */
enum { SOFT_REP_BATCH, SOFT_REP_RF, SOFT_REP_ONE };
/* Whether the run loop must take the one-instruction debug path. */
static inline bool soft_debug_active(const struct soft_cpu *cpu)
{
	return cpu->db_exec | cpu->db_data || cpu->dbg ||
	       (cpu->rflags & (X86_RFLAGS_TF | (1ULL << 16)));
}
/* The debugger's checks around one instruction at linear address lin:
 * before it, whether a breakpoint stops the vCPU there (dbg_stop set);
 * after it, a step or a watchpoint hit. */
bool soft_debug_dbg_before(struct soft_cpu *cpu, u64 lin);
void soft_debug_dbg_after(struct soft_cpu *cpu);
/* The execute breakpoints at linear address lin (bit n for DRn). */
unsigned soft_debug_exec_hits(const struct soft_cpu *cpu, u64 lin);
/* A data access of len bytes at lin: records which data breakpoints it hit. */
void soft_debug_data(struct soft_cpu *cpu, u64 lin, unsigned len, bool write);
/* Whether the 4 KiB page at lin holds data a breakpoint watches (its
 * accesses must not be cached in the TLB). */
bool soft_debug_page_watched(const struct soft_cpu *cpu, u64 lin);
/* Sets DR6 for a #DB (B0-B3 replaced by hits; BD, BS kept) and makes it
 * pending. */
void soft_debug_raise_trap(struct soft_cpu *cpu, u64 dr6_bits);
/* DR7.GD: a MOV DR faults with #DB, DR6.BD set, GD cleared. */
void soft_debug_check_gd(struct soft_cpu *cpu);

/* ---- Memory (mmu.c, seg.c): all guest memory access goes through here ----
 * seg is enum x86_segreg (or -1 for a linear address). Each checks segment
 * limits/rights (or canonical form in 64-bit mode), translates through the
 * TLB/page tables with the CPL's rights, sets A/D bits, sends non-RAM to the
 * MMIO bus, and raises #GP/#SS/#PF/#AC as the SDM says. size: 1, 2, 4, 8. */
u64 soft_read(struct soft_cpu *cpu, int seg, u64 offset, unsigned size);
void soft_write(struct soft_cpu *cpu, int seg, u64 offset, unsigned size, u64 value);
/* Any length (10-byte x87, 16-byte SSE, 512-byte FXSAVE), checked as a whole
 * before any byte is written. */
void soft_read_buf(struct soft_cpu *cpu, int seg, u64 offset, void *dst, unsigned len);
void soft_write_buf(struct soft_cpu *cpu, int seg, u64 offset, const void *src, unsigned len);
/* Read-modify-write: checks the write permission up front, returns the old value. */
u64 soft_read_for_write(struct soft_cpu *cpu, int seg, u64 offset, unsigned size);
/* Supervisor-implicit linear accesses for descriptor tables, TSS, IDT. */
u64 soft_read_sys(struct soft_cpu *cpu, u64 linear, unsigned size);
void soft_write_sys(struct soft_cpu *cpu, u64 linear, unsigned size, u64 value);
/* Instruction fetch of len (<= 15) bytes at CS:offset. */
void soft_fetch(struct soft_cpu *cpu, u64 offset, void *dst, unsigned len);

/* ---- The lockstep check (jit/lockstep.h) -------------------------------
 * mmu.c, while cpu->lockstep is set: len bytes of RAM at host (guest-
 * physical gpa, within one page) are about to be written. */
void soft_lockstep_write(struct soft_cpu *cpu, u8 *host, u64 gpa, unsigned len);

/* ---- System (seg.c, cr.c, msr.c, cpuid.c, mode.c) ----------------------- */
void soft_mode_update(struct soft_cpu *cpu);

/* The TLB bank of an explicit data access at privilege level cpl (SDM Vol.
 * 3A 4.6: EFLAGS.AC = 1 lifts SMAP for explicit accesses at CPL < 3). */
static inline u8 soft_data_priv(const struct soft_cpu *cpu, unsigned cpl)
{
	if (cpl == 3)
		return SOFT_PRIV_USER;
	if ((cpu->cr4 & X86_CR4_SMAP) && (cpu->rflags & X86_RFLAGS_AC))
		return SOFT_PRIV_SUP_AC;
	return SOFT_PRIV_SUP;
}

/* Recomputes cpu->dpriv: after any change of CPL, CR4.SMAP or RFLAGS.AC
 * (soft_mode_update() and soft_flags_set() call it). */
static inline void soft_priv_update(struct soft_cpu *cpu)
{
	cpu->dpriv = soft_data_priv(cpu, cpu->cpl);
	cpu->dbank_off = (u32)sizeof(cpu->tlb.e[0]) * cpu->dpriv;
	cpu->tlb.read_key = (cpu->tlb.read_key & ~3ULL) | cpu->dpriv;
}
void soft_load_seg(struct soft_cpu *cpu, int seg, u16 selector); /* MOV/POP Sreg, LxS */
void soft_far_jump(struct soft_cpu *cpu, u16 selector, u64 offset, unsigned opsize);
void soft_far_call(struct soft_cpu *cpu, u16 selector, u64 offset, unsigned opsize);
void soft_far_ret(struct soft_cpu *cpu, unsigned opsize, u16 pop_bytes);
void soft_iret(struct soft_cpu *cpu, unsigned opsize);
void soft_syscall(struct soft_cpu *cpu);
void soft_sysret(struct soft_cpu *cpu, unsigned opsize);
void soft_sysenter(struct soft_cpu *cpu);
void soft_sysexit(struct soft_cpu *cpu, unsigned opsize);
u64 soft_read_cr(struct soft_cpu *cpu, int n);
void soft_write_cr(struct soft_cpu *cpu, int n, u64 value);  /* flushes TLB as needed */
void soft_write_xcr(struct soft_cpu *cpu, u32 index, u64 value);
void soft_rdmsr(struct soft_cpu *cpu, u32 index, u64 *value); /* #GP(0) if unknown */
void soft_wrmsr(struct soft_cpu *cpu, u32 index, u64 value);
void soft_cpuid(struct soft_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4]);
u64 soft_rdtsc(struct soft_cpu *cpu);
void soft_lgdt_lidt_ltr_lldt(struct soft_cpu *cpu); /* placeholder: see seg.c */
void soft_reset(struct soft_cpu *cpu);  /* power-on / INIT state (SDM Vol. 3A 9.1) */
void soft_bitscan_reset(struct soft_cpu *cpu); /* f3_bitscan from CPUID (bit.c) */

/* ---- Flags (flags.c) ---------------------------------------------------- */
u64 soft_flags_get(struct soft_cpu *cpu);            /* full RFLAGS */
void soft_flags_set(struct soft_cpu *cpu, u64 rflags, u64 writable_mask);

/* ---- Interpreter (interp.c) --------------------------------------------- */
/* Executes instructions until budget runs out, an interrupt window opens
 * with something pending, HLT, or a kick. Returns instructions executed. */
u64 soft_exec(struct soft_cpu *cpu, u64 budget);

/* ---- FPU/SSE (fpu_*.c, sse_*.c) ----------------------------------------- */
struct soft_insn;
/* Executes an x87 (D8-DF), MMX or SSE/SSE2/SSE3/SSSE3/SSE4 instruction that
 * the decoder classified as such; raises #UD/#NM/#MF/#XM as appropriate. */
void soft_exec_x87(struct soft_cpu *cpu, const struct soft_insn *in);
void soft_exec_simd(struct soft_cpu *cpu, const struct soft_insn *in);
void soft_fpu_reset(struct soft_cpu *cpu); /* FNINIT + MXCSR default */
void soft_fwait(struct soft_cpu *cpu);     /* 9B WAIT: #NM (MP&TS), pending #MF */
/* CPUID.1 ECX/EDX bits the FPU/SIMD code implements on this host: guest SIMD
 * instructions run on the host's own units, so each extension is offered
 * only when the host has it (EDX: FPU MMX FXSR SSE SSE2; ECX: SSE3
 * PCLMULQDQ SSSE3 SSE4.1 SSE4.2 AES). */
void soft_simd_cpuid(u32 *ecx, u32 *edx);

#endif
