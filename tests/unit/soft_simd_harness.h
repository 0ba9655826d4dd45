/* Test harness shared by test_soft_sse.c and test_soft_x87.c: one soft vCPU
 * in 64-bit mode whose TLB maps a host buffer at its own address (so guest
 * and host see the same pointers), and a native runner that executes the
 * same instruction bytes on the host CPU from the same register state. The
 * host is the oracle: results, flags, MXCSR/FSW bits and exceptions
 * (#UD, #GP, #XM, #MF arrive as SIGILL, SIGSEGV, SIGFPE; the vector and
 * error code come from the signal context) must all match, and a faulting
 * instruction must leave the same state on both sides. The soft vCPU models
 * the host's vendor (vendor.h), so vendor-specific results match too. */
#ifndef POPEK_TEST_SOFT_SIMD_HARNESS_H
#define POPEK_TEST_SOFT_SIMD_HARNESS_H

#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vendor.h"

#define H_PAGES    16
#define H_MEM_SIZE (H_PAGES * 4096)

/* Register state in the layout the native runner below expects. */
struct h_state {
	u8 fx[512];  /* FXSAVE64 image: x87, MMX, XMM, MXCSR */
	u64 gpr[16]; /* offset 512 */
	u64 rflags;  /* offset 640 */
	/* offset 648: RSP before the call while the code runs, then how far
	 * the code moved RSP (h_run_native applies it to gpr[RSP]) */
	u64 rsp_scratch;
	u8 hostfx[512]; /* offset 656: the host's own state while the guest's runs */
} __attribute__((aligned(16)));

_Static_assert(__builtin_offsetof(struct h_state, gpr) == 512, "layout");
_Static_assert(__builtin_offsetof(struct h_state, rflags) == 640, "layout");
_Static_assert(__builtin_offsetof(struct h_state, rsp_scratch) == 648, "layout");
_Static_assert(__builtin_offsetof(struct h_state, hostfx) == 656, "layout");

/* h_native_exec(state, code): loads state, calls code (the instruction and
 * RET), stores the state back. RSP is never loaded from the state: the code
 * runs on the host stack, and rsp_scratch says how far it moved RSP. */
asm(".text\n"
    ".globl h_native_exec\n"
    ".type h_native_exec, @function\n"
    "h_native_exec:\n"
    "push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "push %rsi\n push %rdi\n"
    "fxsave64 656(%rdi)\n"
    "fxrstor64 0(%rdi)\n"
    "pushq 640(%rdi)\n popfq\n"
    "mov 512(%rdi), %rax\n mov 520(%rdi), %rcx\n mov 528(%rdi), %rdx\n"
    "mov 536(%rdi), %rbx\n mov 552(%rdi), %rbp\n mov 560(%rdi), %rsi\n"
    "mov 576(%rdi), %r8\n mov 584(%rdi), %r9\n mov 592(%rdi), %r10\n"
    "mov 600(%rdi), %r11\n mov 608(%rdi), %r12\n mov 616(%rdi), %r13\n"
    "mov 624(%rdi), %r14\n mov 632(%rdi), %r15\n"
    "mov %rsp, 648(%rdi)\n mov 568(%rdi), %rdi\n"
    "call *8(%rsp)\n"
    "pushfq\n push %rdi\n mov 16(%rsp), %rdi\n"
    "mov %rax, 512(%rdi)\n mov %rcx, 520(%rdi)\n mov %rdx, 528(%rdi)\n"
    "mov %rbx, 536(%rdi)\n mov %rbp, 552(%rdi)\n mov %rsi, 560(%rdi)\n"
    "mov %r8, 576(%rdi)\n mov %r9, 584(%rdi)\n mov %r10, 592(%rdi)\n"
    "mov %r11, 600(%rdi)\n mov %r12, 608(%rdi)\n mov %r13, 616(%rdi)\n"
    "mov %r14, 624(%rdi)\n mov %r15, 632(%rdi)\n"
    "popq 568(%rdi)\n popq 640(%rdi)\n"
    "mov %rsp, %rax\n sub 648(%rdi), %rax\n mov %rax, 648(%rdi)\n"
    "fxsave64 0(%rdi)\n"
    "fxrstor64 656(%rdi)\n"
    "pop %rdi\n pop %rsi\n"
    "pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "ret\n"
    ".size h_native_exec, .-h_native_exec\n");

void h_native_exec(struct h_state *s, const void *code);

struct harness {
	struct soft_cpu *cpu;
	u8 *mem;  /* H_MEM_SIZE bytes, guest linear address == host address */
	u8 *code; /* RWX page for the native instruction */
	u64 rng;
	u32 mxcsr_mask; /* the host's MXCSR_MASK, as its FXSAVE stores it */
};

/* What the signal handler saw at a native fault: the vector and error code
 * the CPU reported, the registers and the FXSAVE image at the fault. */
struct h_fault {
	int trapno;
	u64 err, rip, rsp, rflags;
	u64 gpr[16]; /* gpr[X86_RSP] unused: see rsp */
	u8 fx[512];
};

static sigjmp_buf h_sig_env;
static struct h_fault h_sig_fault;

static void h_sig_handler(int sig, siginfo_t *si, void *uc_)
{
	static const int map[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
				    REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
				    REG_R12, REG_R13, REG_R14, REG_R15};
	ucontext_t *uc = uc_;
	const greg_t *g = uc->uc_mcontext.gregs;

	(void)si;
	h_sig_fault.trapno = (int)g[REG_TRAPNO];
	h_sig_fault.err = (u64)g[REG_ERR];
	h_sig_fault.rip = (u64)g[REG_RIP];
	h_sig_fault.rsp = (u64)g[REG_RSP];
	h_sig_fault.rflags = (u64)g[REG_EFL];
	for (unsigned i = 0; i < 16; i++)
		h_sig_fault.gpr[i] = (u64)g[map[i]];
	/* The legacy (FXSAVE) part of the kernel's XSAVE image of the task. */
	if (uc->uc_mcontext.fpregs)
		memcpy(h_sig_fault.fx, uc->uc_mcontext.fpregs, 512);
	else
		memset(h_sig_fault.fx, 0, 512);
	siglongjmp(h_sig_env, sig);
}

/* MXCSR_MASK as this host's FXSAVE stores it (0 stands for 0xffbf, Intel
 * SDM Vol. 1 11.6.6): 0xffff on Intel, 0x2ffff on AMD with MXCSR.MM. */
static __attribute__((unused)) u32 h_host_mxcsr_mask(void)
{
	u8 img[512] __attribute__((aligned(16)));
	u32 mask;

	memset(img, 0, sizeof(img));
	asm volatile("fxsave64 %0" : "=m"(img));
	memcpy(&mask, img + 28, 4);
	return mask ? mask : 0xffbf;
}

static __attribute__((unused)) u64 h_rand(struct harness *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return h->rng;
}

static __attribute__((unused)) void h_init(struct harness *h)
{
	struct sigaction sa;
	struct soft_cpu *cpu;

	memset(h, 0, sizeof(*h));
	h->rng = 0x9e3779b97f4a7c15ULL;
	cpu = aligned_alloc(64, ALIGN_UP(sizeof(*cpu), 64));
	memset(cpu, 0, sizeof(*cpu));
	h->cpu = cpu;
	/* Below 2 GiB so that 32-bit code can address it too. */
	h->mem = mmap(NULL, H_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	h->code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (h->mem == MAP_FAILED || h->code == MAP_FAILED)
		abort();
	soft_tlb_init(&cpu->tlb, NULL);
	for (unsigned p = 0; p < H_PAGES; p++) {
		u8 *page = h->mem + 4096 * p;
		soft_tlb_fill(&cpu->tlb, (u64)(uintptr_t)page, SOFT_PRIV_SUP, page,
			      0x100000 + 4096ULL * p, true, true, false, false, 12, 0);
	}
	cpu->mode = SOFT_MODE_LONG64;
	cpu->cpl = 0;
	cpu->code_size = 8;
	cpu->stack_size = 8;
	cpu->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	cpu->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	cpu->seg[X86_CS].l = 1;
	cpu->rflags = X86_RFLAGS_FIXED;
	cpu->pending_vector = -1;
	cpu->undo_reg = -1;
	/* The host's vendor, as soft_reset() gives a machine by default; the
	 * FPU reset state (MXCSR_MASK) follows it. */
	soft_vendor_set(cpu, CPU_VENDOR_HOST);
	soft_fpu_reset(cpu);
	h->mxcsr_mask = h_host_mxcsr_mask();

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_sig_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
}

/* Switches the soft vCPU between 64-bit mode and flat 32-bit protected
 * mode (CS/DS/ES/SS base 0, limit 4 GiB). The native side always runs in
 * 64-bit mode: REX-free encodings mean the same there. */
static __attribute__((unused)) void h_set_mode32(struct harness *h, bool on)
{
	struct soft_cpu *cpu = h->cpu;

	for (unsigned i = 0; i < 6; i++) {
		struct x86_seg *sg = &cpu->seg[i];
		memset(sg, 0, sizeof(*sg));
		sg->limit = 0xffffffff;
		sg->type = i == X86_CS ? 0xb : 0x3;
		sg->s = 1;
		sg->present = 1;
		sg->db = on;
		sg->g = 1;
		sg->l = !on && i == X86_CS;
	}
	cpu->mode = on ? SOFT_MODE_PROT : SOFT_MODE_LONG64;
	cpu->code_size = on ? 4 : 8;
	cpu->stack_size = on ? 4 : 8;
	if (on)
		cpu->efer &= ~(X86_EFER_LMA | X86_EFER_LME);
	else
		cpu->efer |= X86_EFER_LMA | X86_EFER_LME;
}

/* Whether the CPU pushes an error code for vector v (SDM Vol. 3A 6.13). */
static __attribute__((unused)) bool h_vector_has_error(int v)
{
	return v == EXC_DF || (v >= EXC_TS && v <= EXC_PF) || v == EXC_AC || v == 21;
}

/* Runs bytes[0..n) natively on s. Returns the exception vector or -1. After
 * a fault s holds the registers and FXSAVE image at the fault, and
 * h_sig_fault.err the error code. */
static __attribute__((unused)) int h_run_native(struct harness *h, struct h_state *s,
						const u8 *bytes, unsigned n)
{
	u64 rsp_in = s->gpr[X86_RSP];
	int sig;

	memcpy(h->code, bytes, n);
	h->code[n] = 0xc3; /* RET */
	s->rflags = (s->rflags & 0x8d5) | X86_RFLAGS_FIXED;
	sig = sigsetjmp(h_sig_env, 1);
	if (sig == 0) {
		h_native_exec(s, h->code);
		s->gpr[X86_RSP] = rsp_in + s->rsp_scratch;
		return -1;
	}
	/* The signal left the guest's FP state loaded: put the host's back. */
	asm volatile("fxrstor64 %0" : : "m"(*(const u8(*)[512])s->hostfx));
	memcpy(s->gpr, h_sig_fault.gpr, sizeof(s->gpr));
	/* At the instruction RSP was the pre-call RSP - 8 (the return address). */
	s->gpr[X86_RSP] = rsp_in + (h_sig_fault.rsp - (s->rsp_scratch - 8));
	s->rflags = h_sig_fault.rflags;
	memcpy(s->fx, h_sig_fault.fx, 512);
	if (h_sig_fault.rip - (u64)(uintptr_t)h->code >= n)
		return 100 + h_sig_fault.trapno; /* not in the code: never equal */
	return h_sig_fault.trapno;
}

/* Copies s into the soft vCPU (FXSAVE image into cpu->fx). MXCSR_MASK stays
 * the engine's own: it is the modelled CPU's, not part of the state. */
static __attribute__((unused)) void h_load_soft(struct harness *h, const struct h_state *s)
{
	struct soft_cpu *cpu = h->cpu;
	u32 mask = cpu->fx.mxcsr_mask;

	memcpy(cpu->gpr, s->gpr, sizeof(cpu->gpr));
	cpu->rflags = (s->rflags & 0x8d5) | X86_RFLAGS_FIXED;
	cpu->lazy.op = 0;
	memcpy(&cpu->fx, s->fx, 512);
	cpu->fx.mxcsr_mask = mask;
}

/* Decodes and executes bytes on the soft vCPU through the interpreter's
 * dispatch. Returns the exception vector raised or -1; -2 if undecodable. */
static __attribute__((unused)) int h_run_soft(struct harness *h, const u8 *bytes, unsigned n)
{
	struct soft_cpu *cpu = h->cpu;
	struct soft_insn in;

	if (soft_decode(bytes, n, cpu->code_size, &in) != 0)
		return EXC_UD;
	soft_insn_bind(&in, cpu->code_size);
	cpu->insn_rip = 0x401000;
	cpu->rip = cpu->insn_rip + in.len;
	cpu->pending_vector = -1;
	cpu->undo_reg = -1;
	cpu->undo_flags = false;
	if (setjmp(cpu->fault_jmp)) {
		/* What the run loop's fault_cleanup (interp.c) undoes. */
		if (cpu->undo_reg >= 0)
			cpu->gpr[cpu->undo_reg] = cpu->undo_val;
		if (cpu->undo_flags) {
			cpu->lazy.op = SOFT_LAZY_NONE;
			cpu->rflags = cpu->undo_rflags;
		}
		return cpu->pending_vector;
	}
	in.exec(cpu, &in);
	return -1;
}

static u8 h_snap[H_MEM_SIZE], h_natmem[H_MEM_SIZE];
/* Optional: called with the native and soft memory before they are compared
 * (to blank fields that legitimately differ, like stored FPU IP). */
static void (*h_mem_fixup)(u8 *native, u8 *soft);
/* Statistics: cases compared, and how many of them ended in an exception. */
static unsigned h_ncases, h_nfaults;

static void h_print_bytes(const u8 *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		printf("%02x ", b[i]);
}

static int h_diff(const u8 *b, unsigned n, const char *what, const void *nat, const void *soft,
		  unsigned len)
{
	const u8 *x = nat, *y = soft;

	if (!memcmp(nat, soft, len))
		return 0;
	printf("  [");
	h_print_bytes(b, n);
	printf("] %s differs: native", what);
	for (unsigned i = 0; i < len; i++)
		printf("%s%02x", i % 8 ? "" : " ", x[len - 1 - i]);
	printf(" soft");
	for (unsigned i = 0; i < len; i++)
		printf("%s%02x", i % 8 ? "" : " ", y[len - 1 - i]);
	printf("\n");
	return 1;
}

/* Runs b natively and on the soft vCPU from init and compares everything
 * architectural: the exception (vector, error code) and, whether or not the
 * instruction faulted, all GPRs including RSP, RFLAGS, the x87/MMX and SSE
 * registers, MXCSR and memory. A faulting instruction must leave the same
 * state as the host's (its own input, but for #XM's MXCSR flags).
 * fsw_ignore: FSW bits whose value the SDM leaves undefined. Returns 0 when
 * equal; prints the differences otherwise. */
static __attribute__((unused)) int h_case(struct harness *h, const struct h_state *init,
					  const u8 *b, unsigned n, u16 fsw_ignore)
{
	struct soft_cpu *cpu = h->cpu;
	struct h_state nat = *init;
	int nv, sv, bad = 0;
	u16 nfsw, sfsw;
	u64 nfl, sfl;
	u32 nmx, smx;

	memcpy(h_snap, h->mem, H_MEM_SIZE);
	nv = h_run_native(h, &nat, b, n);
	memcpy(h_natmem, h->mem, H_MEM_SIZE);
	memcpy(h->mem, h_snap, H_MEM_SIZE);
	h_load_soft(h, init);
	sv = h_run_soft(h, b, n);
	if (nv == EXC_XM && sv == EXC_UD && !(cpu->cr4 & X86_CR4_OSXMMEXCPT))
		nv = EXC_UD; /* the host always has OSXMMEXCPT (SDM Vol. 3A 2.5) */
	h_ncases++;
	h_nfaults += nv >= 0;
	if (nv != sv) {
		printf("  [");
		h_print_bytes(b, n);
		printf("] exception: native %d soft %d\n", nv, sv);
		return 1;
	}
	if (nv >= 0 && h_vector_has_error(nv)) {
		u64 serr = cpu->pending_error;
		bad |= h_diff(b, n, "error code", &h_sig_fault.err, &serr, 8);
	}
	memcpy(&nfsw, nat.fx + 2, 2);
	nfsw &= ~fsw_ignore;
	sfsw = cpu->fx.fsw & ~fsw_ignore;
	memcpy(&nmx, nat.fx + 24, 4);
	smx = cpu->fx.mxcsr;
	if (nv == EXC_XM && (nmx & 0x18)) {
		/* Known deviation: after an unmasked overflow/underflow the CPU
		 * reports PE for the result at unbounded exponent range, which a
		 * masked host run cannot show. */
		nmx &= ~0x20u;
		smx &= ~0x20u;
	}
	bad |= h_diff(b, n, "FCW", nat.fx, &cpu->fx.fcw, 2);
	bad |= h_diff(b, n, "FSW", &nfsw, &sfsw, 2);
	bad |= h_diff(b, n, "FTW", nat.fx + 4, &cpu->fx.ftw_abridged, 1);
	for (unsigned i = 0; i < 8; i++) {
		char what[16];
		snprintf(what, sizeof(what), "ST%u", i);
		bad |= h_diff(b, n, what, nat.fx + 32 + 16 * i, cpu->fx.st[i], 10);
	}
	bad |= h_diff(b, n, nv == EXC_XM ? "MXCSR at #XM" : "MXCSR", &nmx, &smx, 4);
	for (unsigned i = 0; i < 16; i++) {
		char what[16];
		snprintf(what, sizeof(what), "XMM%u", i);
		bad |= h_diff(b, n, what, nat.fx + 160 + 16 * i, cpu->fx.xmm[i], 16);
	}
	for (unsigned i = 0; i < 16; i++) {
		char what[16];
		snprintf(what, sizeof(what), i == X86_RSP ? "RSP" : "GPR%u", i);
		bad |= h_diff(b, n, what, &nat.gpr[i], &cpu->gpr[i], 8);
	}
	nfl = nat.rflags & 0x8d5;
	sfl = soft_flags_get(cpu) & 0x8d5;
	bad |= h_diff(b, n, "RFLAGS", &nfl, &sfl, 8);
	if (h_mem_fixup)
		h_mem_fixup(h_natmem, h->mem);
	if (memcmp(h_natmem, h->mem, H_MEM_SIZE)) {
		unsigned i = 0;
		char what[48];
		while (h_natmem[i] == h->mem[i])
			i++;
		i &= ~15u;
		snprintf(what, sizeof(what), "memory at +%u%s", i,
			 nv >= 0 ? " after the fault" : "");
		bad |= h_diff(b, n, what, h_natmem + i, h->mem + i, 16);
	}
	return bad;
}

/* Parses "66 0f 58 c1" into bytes; returns the count. */
static __attribute__((unused)) unsigned h_hex(const char *hex, u8 *out)
{
	unsigned n = 0, v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (u8)v;
		hex += 2;
	}
	return n;
}

#endif
