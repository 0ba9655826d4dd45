/* The native side of the oracle: runs a case's instruction bytes on the host
 * CPU through a generated stub in a fixed-address RWX region, catching
 * faults (SIGFPE, SIGILL, SIGSEGV, ...) as exception vectors. The signal
 * handler resumes at a recovery stub instead of siglongjmp'ing: that keeps
 * faults cheap under ASan, which unpoisons the whole stack on longjmp. */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "oracle/oracle.h"

#define NATIVE_MAGIC  0x6f7261636c65ULL /* "oracle" */
#define EXIT_FAULT    0xfe
#define ALTSTACK_SIZE (256 * 1024)

/* Lives at base + OR_CTL, so the signal handler finds it from the fault RIP. */
struct native_ctl {
	u64 magic;
	u64 host_rsp;
	u64 resume; /* the recovery stub the signal handler returns to */
	u64 in_gsbase, host_gsbase;
	u64 in_gpr[16], in_rflags;
	u64 out_gpr[16], out_rflags;
	u8 exit, sse;
	int sig;
	u64 trapno, err, rip, rsp, rflags, cr2, gregs[16];
	u8 fx_in[512] __attribute__((aligned(64)));
	u8 fx_out[512] __attribute__((aligned(64)));
	u8 fx_host[512] __attribute__((aligned(64)));
	u8 fx_fault[512] __attribute__((aligned(64)));
};

_Static_assert(sizeof(struct native_ctl) <= OR_REGION_SIZE - OR_CTL, "control block fits");

struct native_world {
	u8 *region;
	struct native_ctl *ctl;
	void (*entry)(void);
	u64 exit_stub[OR_MAX_EXITS];
	int dirty_lo, dirty_hi; /* code bytes the last case wrote, from OR_INSN */
	bool gs_ok;             /* RDGSBASE/WRGSBASE are enabled for user code */
	void *altstack;
	struct sigaction old[6];
};

static const int native_signals[6] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP, SIGSYS};

/* Byte emitter for the stub page. */
struct stub_buf {
	u8 *p;
	unsigned n;
};

static void sb_bytes(struct stub_buf *b, const u8 *bytes, unsigned n)
{
	memcpy(b->p + b->n, bytes, n);
	b->n += n;
}

static void sb_u8(struct stub_buf *b, u8 v)
{
	b->p[b->n++] = v;
}

static void sb_u32(struct stub_buf *b, u32 v)
{
	memcpy(b->p + b->n, &v, 4);
	b->n += 4;
}

/* ModRM mod=00 rm=100 + SIB base=101 index=none: [disp32] absolute. */
static void sb_abs(struct stub_buf *b, unsigned reg, u64 addr)
{
	sb_u8(b, (u8)(((reg & 7) << 3) | 4));
	sb_u8(b, 0x25);
	sb_u32(b, (u32)addr);
}

/* mov [addr], reg64 (store) or mov reg64, [addr] (load). */
static void sb_mov_abs(struct stub_buf *b, unsigned reg, u64 addr, bool load)
{
	sb_u8(b, (u8)(0x48 | (reg >= 8 ? 4 : 0)));
	sb_u8(b, load ? 0x8b : 0x89);
	sb_abs(b, reg, addr);
}

static void sb_fx(struct stub_buf *b, bool restore, u64 addr)
{
	sb_bytes(b, (const u8[]){0x48, 0x0f, 0xae}, 3);
	sb_abs(b, restore ? 1 : 0, addr);
}

static void sb_jmp(struct stub_buf *b, u64 target)
{
	u64 from = (u64)(b->p + b->n) + 5;

	sb_u8(b, 0xe9);
	sb_u32(b, (u32)(target - from));
}

#define CTL_ADDR(nw, field) ((u64)(nw)->ctl + offsetof(struct native_ctl, field))

/* cmp byte [sse], 0; je over the next fxsave/fxrstor (9 bytes) */
static void sb_skip_fx_unless_sse(struct native_world *nw, struct stub_buf *b)
{
	sb_bytes(b, (const u8[]){0x80, 0x3c, 0x25}, 3);
	sb_u32(b, (u32)CTL_ADDR(nw, sse));
	sb_u8(b, 0);
	sb_bytes(b, (const u8[]){0x74, 9}, 2);
}

/* Writes the prologue (the entry point), the common epilogue, the fault
 * recovery stub and one small stub per exit point that records which exit
 * was reached. */
static void native_build_stubs(struct native_world *nw)
{
	struct stub_buf b = {nw->region + OR_STUB, 0};
	static const u8 push_callee[] = {0x53, 0x55, 0x41, 0x54, 0x41,
					 0x55, 0x41, 0x56, 0x41, 0x57};
	static const u8 pop_callee[] = {0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b};
	u64 epilogue, tail;

	memset(b.p, 0xcc, 0x1000);
	nw->entry = (void (*)(void))(void *)b.p;
	sb_bytes(&b, push_callee, sizeof(push_callee));
	sb_mov_abs(&b, R_SP, CTL_ADDR(nw, host_rsp), false);
	sb_skip_fx_unless_sse(nw, &b);
	sb_fx(&b, false, CTL_ADDR(nw, fx_host));
	sb_skip_fx_unless_sse(nw, &b);
	sb_fx(&b, true, CTL_ADDR(nw, fx_in));
	if (nw->gs_ok) {
		/* rdgsbase rax; mov [host_gsbase], rax; mov rax, [in_gsbase]; wrgsbase rax */
		sb_bytes(&b, (const u8[]){0xf3, 0x48, 0x0f, 0xae, 0xc8}, 5);
		sb_mov_abs(&b, R_AX, CTL_ADDR(nw, host_gsbase), false);
		sb_mov_abs(&b, R_AX, CTL_ADDR(nw, in_gsbase), true);
		sb_bytes(&b, (const u8[]){0xf3, 0x48, 0x0f, 0xae, 0xd8}, 5);
	}
	/* push qword [in_rflags]; popfq */
	sb_u8(&b, 0xff);
	sb_abs(&b, 6, CTL_ADDR(nw, in_rflags));
	sb_u8(&b, 0x9d);
	for (unsigned r = 0; r < 16; r++)
		sb_mov_abs(&b, r, CTL_ADDR(nw, in_gpr) + 8 * r, true);
	sb_jmp(&b, (u64)nw->region + OR_INSN);

	b.n = ALIGN_UP(b.n, 64);
	epilogue = (u64)b.p + b.n;
	for (unsigned r = 0; r < 16; r++)
		sb_mov_abs(&b, r, CTL_ADDR(nw, out_gpr) + 8 * r, false);
	sb_mov_abs(&b, R_SP, CTL_ADDR(nw, host_rsp), true);
	sb_bytes(&b, (const u8[]){0x9c, 0x58}, 2); /* pushfq; pop rax */
	sb_mov_abs(&b, R_AX, CTL_ADDR(nw, out_rflags), false);
	sb_skip_fx_unless_sse(nw, &b);
	sb_fx(&b, false, CTL_ADDR(nw, fx_out));
	tail = (u64)b.p + b.n;
	sb_skip_fx_unless_sse(nw, &b);
	sb_fx(&b, true, CTL_ADDR(nw, fx_host));
	if (nw->gs_ok) {
		/* mov rax, [host_gsbase]; wrgsbase rax */
		sb_mov_abs(&b, R_AX, CTL_ADDR(nw, host_gsbase), true);
		sb_bytes(&b, (const u8[]){0xf3, 0x48, 0x0f, 0xae, 0xd8}, 5);
	}
	/* push 0x202; popfq: clean flags (DF, ID) for the C code */
	sb_u8(&b, 0x68);
	sb_u32(&b, 0x202);
	sb_u8(&b, 0x9d);
	sb_bytes(&b, pop_callee, sizeof(pop_callee));
	sb_u8(&b, 0xc3);

	/* After a fault the kernel's sigreturn lands here with the test's
	 * registers: back to the host stack, host FPU state and flags. */
	b.n = ALIGN_UP(b.n, 16);
	nw->ctl->resume = (u64)b.p + b.n;
	sb_mov_abs(&b, R_SP, CTL_ADDR(nw, host_rsp), true);
	sb_jmp(&b, tail);

	for (unsigned k = 0; k < OR_MAX_EXITS; k++) {
		b.n = ALIGN_UP(b.n, 16);
		nw->exit_stub[k] = (u64)b.p + b.n;
		/* mov byte [exit], k */
		sb_bytes(&b, (const u8[]){0xc6, 0x04, 0x25}, 3);
		sb_u32(&b, (u32)CTL_ADDR(nw, exit));
		sb_u8(&b, (u8)k);
		sb_jmp(&b, epilogue);
	}
}

/* Where the handler finds the region without global state: the first bytes
 * of the alternate signal stack it runs on. */
struct native_altstack_hdr {
	u64 magic;
	u64 region;
	const struct sigaction *old; /* the handlers before ours (ASan's) */
};

static void native_signal(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	greg_t *g = uc->uc_mcontext.gregs;
	u64 rip = (u64)g[REG_RIP];
	const struct native_altstack_hdr *hdr;
	struct native_ctl *ctl;
	stack_t ss;
	static const int map[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
				    REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
				    REG_R12, REG_R13, REG_R14, REG_R15};

	/* Only faults of the code under test are ours: anything else is a real
	 * crash, re-raised with the default action when the handler returns. */
	if (sigaltstack(NULL, &ss) != 0 || !ss.ss_sp) {
		signal(sig, SIG_DFL);
		return;
	}
	hdr = ss.ss_sp;
	if (hdr->magic != NATIVE_MAGIC || rip - hdr->region >= OR_STUB) {
		/* A real crash: put the previous handler (ASan's, or the
		 * default) back; the fault repeats when this one returns. */
		unsigned i;
		for (i = 0; i < ARRAY_SIZE(native_signals) && native_signals[i] != sig; i++)
			;
		if (hdr->magic == NATIVE_MAGIC && i < ARRAY_SIZE(native_signals))
			sigaction(sig, &hdr->old[i], NULL);
		else
			signal(sig, SIG_DFL);
		return;
	}
	ctl = (struct native_ctl *)(hdr->region + OR_CTL);
	ctl->sig = sig;
	ctl->trapno = (u64)g[REG_TRAPNO];
	ctl->err = (u64)g[REG_ERR];
	ctl->rip = rip;
	ctl->rsp = (u64)g[REG_RSP];
	ctl->rflags = (u64)g[REG_EFL];
	ctl->cr2 = (u64)si->si_addr;
	for (unsigned r = 0; r < 16; r++)
		ctl->gregs[r] = (u64)g[map[r]];
	if (uc->uc_mcontext.fpregs)
		memcpy(ctl->fx_fault, uc->uc_mcontext.fpregs, 512);
	else
		memset(ctl->fx_fault, 0, 512);
	ctl->exit = EXIT_FAULT;
	g[REG_RIP] = (greg_t)ctl->resume;
}

/* Maps the region at the first free 1 MiB-aligned address below 60 MiB
 * (guest RAM is 64 MiB and the guest maps the same address). */
static u8 *native_map_region(void)
{
	for (u64 a = 16 * MiB; a < 60 * MiB; a += OR_REGION_ALIGN) {
		void *p = mmap((void *)a, OR_REGION_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		/* The guard page: page-crossing accesses fault on it. */
		if (p == (void *)a && mprotect((u8 *)p + OR_GUARD, 0x1000, PROT_NONE) == 0)
			return p;
		if (p != MAP_FAILED)
			munmap(p, OR_REGION_SIZE);
	}
	return NULL;
}

int native_create(struct native_world **out)
{
	struct native_world *nw = calloc(1, sizeof(*nw));
	struct sigaction sa;
	stack_t ss;

	if (!nw)
		return -ENOMEM;
	nw->region = native_map_region();
	if (!nw->region) {
		free(nw);
		return -ENOMEM;
	}
	nw->ctl = (struct native_ctl *)(nw->region + OR_CTL);
	nw->ctl->magic = NATIVE_MAGIC;
	nw->gs_ok = getauxval(AT_HWCAP2) & 2; /* HWCAP2_FSGSBASE */
	native_build_stubs(nw);
	memset(nw->region + OR_CODE, 0xcc, 0x1000);

	nw->altstack =
	    mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nw->altstack == MAP_FAILED) {
		munmap(nw->region, OR_REGION_SIZE);
		free(nw);
		return -ENOMEM;
	}
	((struct native_altstack_hdr *)nw->altstack)->magic = NATIVE_MAGIC;
	((struct native_altstack_hdr *)nw->altstack)->region = (u64)nw->region;
	((struct native_altstack_hdr *)nw->altstack)->old = nw->old;
	ss.ss_sp = nw->altstack;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = native_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < ARRAY_SIZE(native_signals); i++)
		sigaction(native_signals[i], &sa, &nw->old[i]);
	*out = nw;
	return 0;
}

void native_destroy(struct native_world *nw)
{
	stack_t ss = {.ss_flags = SS_DISABLE};

	if (!nw)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(native_signals); i++)
		sigaction(native_signals[i], &nw->old[i], NULL);
	sigaltstack(&ss, NULL);
	munmap(nw->altstack, ALTSTACK_SIZE);
	munmap(nw->region, OR_REGION_SIZE);
	free(nw);
}

bool native_gs_ok(const struct native_world *nw)
{
	return nw->gs_ok;
}

u64 native_base(const struct native_world *nw)
{
	return (u64)nw->region;
}

void native_run(struct native_world *nw, const struct oracle_case *c, struct oracle_result *res)
{
	struct native_ctl *ctl = nw->ctl;
	u8 *code = nw->region + OR_CODE;

	/* Restore only what the last case wrote: stores into recently run
	 * code are expensive (self-modifying-code pipeline clears). */
	memset(code + OR_INSN + nw->dirty_lo, 0xcc, (size_t)(nw->dirty_hi - nw->dirty_lo));
	nw->dirty_lo = 0;
	nw->dirty_hi = (int)c->len;
	memcpy(code + OR_INSN, c->native_alt ? c->native_code : c->code, c->len);
	for (unsigned k = 0; k < c->nexits; k++) {
		u8 *p = code + OR_INSN + c->exit_off[k];
		nw->dirty_lo = MIN(nw->dirty_lo, c->exit_off[k]);
		nw->dirty_hi = MAX(nw->dirty_hi, c->exit_off[k] + 5);
		u32 rel = (u32)(nw->exit_stub[k] - ((u64)p + 5));
		p[0] = 0xe9;
		memcpy(p + 1, &rel, 4);
	}
	memcpy(nw->region + OR_MEM, c->mem, OR_MEM_SIZE);
	memcpy(ctl->in_gpr, c->in.gpr, sizeof(ctl->in_gpr));
	ctl->in_rflags = 0x202 | (c->in.rflags & (FL_ARITH | FL_DF));
	ctl->sse = c->sse;
	ctl->in_gsbase = c->gs_base;
	if (c->sse)
		memcpy(ctl->fx_in, c->in.fx, 512);
	ctl->exit = 0xff;

	memset(res, 0, sizeof(*res));
	res->mem = nw->region + OR_MEM;
	nw->entry();
	if (ctl->exit != EXIT_FAULT) {
		res->end = END_EXIT;
		res->exit = ctl->exit;
		memcpy(res->out.gpr, ctl->out_gpr, sizeof(res->out.gpr));
		res->out.rflags = ctl->out_rflags;
		if (c->sse)
			memcpy(res->out.fx, ctl->fx_out, 512);
		return;
	}
	res->end = END_EXCEPTION;
	res->vector = (int)ctl->trapno;
	res->fault_rip = ctl->rip;
	res->fault_rsp = ctl->rsp;
	res->fault_rflags = ctl->rflags;
	res->err = ctl->err;
	res->cr2 = ctl->cr2;
	res->has_err =
	    res->vector == 8 || (res->vector >= 10 && res->vector <= 14) || res->vector == 17;
	memcpy(res->out.gpr, ctl->gregs, sizeof(res->out.gpr));
	res->out.rflags = ctl->rflags;
	if (c->sse)
		memcpy(res->out.fx, ctl->fx_fault, 512);
}

u64 oracle_features_from_cpuid(u32 l1_ecx, u32 l1_edx, u32 l7_ebx, u32 e1_ecx)
{
	static const struct {
		u8 leaf, bit, feat; /* leaf: 0 = 1.ECX, 1 = 1.EDX, 2 = 7.EBX, 3 = 8000_0001.ECX */
	} bits[] = {
	    {0, 0, FEAT_SSE3},   {0, 1, FEAT_PCLMUL}, {0, 9, FEAT_SSSE3},  {0, 13, FEAT_CX16},
	    {0, 19, FEAT_SSE41}, {0, 20, FEAT_SSE42}, {0, 22, FEAT_MOVBE}, {0, 23, FEAT_POPCNT},
	    {0, 25, FEAT_AES},   {1, 15, FEAT_CMOV},  {1, 24, FEAT_FXSR},  {1, 25, FEAT_SSE},
	    {1, 26, FEAT_SSE2},  {1, 23, FEAT_MMX},   {2, 3, FEAT_BMI1},   {2, 8, FEAT_BMI2},
	    {2, 19, FEAT_ADX},   {3, 0, FEAT_LAHF64}, {3, 5, FEAT_LZCNT},
	};
	u32 regs[4] = {l1_ecx, l1_edx, l7_ebx, e1_ecx};
	u64 mask = 1ULL << FEAT_NONE;

	for (unsigned i = 0; i < ARRAY_SIZE(bits); i++)
		if (regs[bits[i].leaf] & (1U << bits[i].bit))
			mask |= 1ULL << bits[i].feat;
	return mask;
}

const char *oracle_feature_name(enum oracle_feature f)
{
	static const char *const names[FEAT_COUNT] = {
	    [FEAT_NONE] = "none",    [FEAT_CX16] = "cx16",    [FEAT_POPCNT] = "popcnt",
	    [FEAT_LZCNT] = "lzcnt",  [FEAT_BMI1] = "bmi1",    [FEAT_BMI2] = "bmi2",
	    [FEAT_ADX] = "adx",      [FEAT_MOVBE] = "movbe",  [FEAT_SSE] = "sse",
	    [FEAT_SSE2] = "sse2",    [FEAT_SSE3] = "sse3",    [FEAT_SSSE3] = "ssse3",
	    [FEAT_SSE41] = "sse4.1", [FEAT_SSE42] = "sse4.2", [FEAT_LAHF64] = "lahf_lm",
	    [FEAT_CMOV] = "cmov",    [FEAT_FXSR] = "fxsr",    [FEAT_PCLMUL] = "pclmulqdq",
	    [FEAT_AES] = "aes",      [FEAT_MMX] = "mmx",
	};
	return f < FEAT_COUNT && names[f] ? names[f] : "?";
}

u64 native_features(void)
{
	unsigned a, b, c, d, l1c = 0, l1d = 0, l7b = 0, e1c = 0;

	if (__get_cpuid(1, &a, &b, &c, &d)) {
		l1c = c;
		l1d = d;
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		l7b = b;
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		e1c = c;
	return oracle_features_from_cpuid(l1c, l1d, l7b, e1c);
}
