/* The interpreter's internal contract: operand access helpers shared by the
 * instruction group files (alu.c, shift.c, ...), the lazy-flags encoding and
 * the handler declarations that interp.c binds to opcodes. */
#ifndef POPEK_SOFT_EXEC_H
#define POPEK_SOFT_EXEC_H

#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/vendor.h"

typedef void soft_handler_fn(struct soft_cpu *cpu, const struct soft_insn *in);

/* ---- Lazy flags (flags.c): values of struct soft_lazy.op ----------------
 * dst/src/res are the operands and result masked to size bytes. */
enum soft_lazy_op {
	SOFT_LAZY_NONE = 0, /* flags are in cpu->rflags */
	SOFT_LAZY_ADD,      /* res = dst + src */
	SOFT_LAZY_ADC,      /* res = dst + src + 1 (ADC with CF=1; CF=0 is ADD) */
	SOFT_LAZY_SUB,      /* res = dst - src (CMP, NEG with dst 0) */
	SOFT_LAZY_SBB,      /* res = dst - src - 1 */
	SOFT_LAZY_LOGIC,    /* AND OR XOR TEST: CF=OF=AF=0 */
	SOFT_LAZY_INC,      /* res = dst + 1; src holds the preserved CF */
	SOFT_LAZY_DEC,      /* res = dst - 1; src holds the preserved CF */
	SOFT_LAZY_SHIFT,    /* SHL/SHR/SAR: ZF SF PF of res, src = CF | AF | OF as in RFLAGS */
	SOFT_LAZY_MUL,      /* MUL/IMUL: SF PF of res, ZF=0, src = CF | OF << 11, AF=0 */
	SOFT_LAZY_HOST,     /* the host's flags after the same operation, as the
			     * translator saves them: res bits 8-15 = RFLAGS bits 0-7
			     * (LAHF: SF ZF AF PF CF), bit 0 = OF (SETO) */
};

#define SOFT_FLAGS_ARITH                                                                           \
	(X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | X86_RFLAGS_SF |           \
	 X86_RFLAGS_OF)

static inline void soft_lazy_set(struct soft_cpu *cpu, unsigned op, unsigned size, u64 dst, u64 src,
				 u64 res)
{
	cpu->lazy.op = op;
	cpu->lazy.size = (u8)size;
	cpu->lazy.dst = dst;
	cpu->lazy.src = src;
	cpu->lazy.res = res;
}

/* CF alone, cheaply (INC/DEC/ADC/SBB/RCL need it). */
bool soft_flags_cf(const struct soft_cpu *cpu);
/* Condition code cc (0-15, the low nibble of Jcc/SETcc/CMOVcc). */
bool soft_cond(struct soft_cpu *cpu, unsigned cc);

static inline s64 soft_sext(u64 v, unsigned size);
static inline u64 soft_sign_bit(unsigned size);

/* Jcc after CMP/SUB/TEST/AND is the hot case: answers cc from the recorded
 * operation without computing RFLAGS (Intel SDM Vol. 1 Appendix B). Sets *r
 * and returns true, or returns false when the flags must be computed.
 * Inline so that a handler with a constant cc keeps only its own case. */
static inline bool soft_cond_quick(const struct soft_cpu *cpu, unsigned cc, bool *r)
{
	const struct soft_lazy *lz = &cpu->lazy;
	bool v;

	if (lz->op == SOFT_LAZY_SUB) {
		u64 d = lz->dst, s = lz->src;

		switch (cc >> 1) {
		case 1: /* CF */
			v = d < s;
			break;
		case 2: /* ZF */
			v = d == s;
			break;
		case 3: /* CF | ZF */
			v = d <= s;
			break;
		case 6: /* SF != OF */
			v = soft_sext(d, lz->size) < soft_sext(s, lz->size);
			break;
		case 7: /* ZF | SF != OF */
			v = soft_sext(d, lz->size) <= soft_sext(s, lz->size);
			break;
		default:
			return false;
		}
	} else if (lz->op == SOFT_LAZY_LOGIC) {
		/* CF = OF = 0 */
		u64 res = lz->res;
		bool neg = res & soft_sign_bit(lz->size);

		switch (cc >> 1) {
		case 0:
		case 1:
			v = false;
			break;
		case 2:
		case 3:
			v = res == 0;
			break;
		case 4:
		case 6:
			v = neg;
			break;
		case 7:
			v = res == 0 || neg;
			break;
		default:
			return false;
		}
	} else {
		return false;
	}
	*r = v ^ (cc & 1);
	return true;
}

/* soft_cond() with the hot cases inline. */
static inline bool soft_cond_fast(struct soft_cpu *cpu, unsigned cc)
{
	bool r;

	if (__builtin_expect(soft_cond_quick(cpu, cc, &r), 1))
		return r;
	return soft_cond(cpu, cc);
}
/* Sets the six arithmetic flags to f (others untouched), dropping the lazy state. */
void soft_flags_set_arith(struct soft_cpu *cpu, u64 f);
/* The arithmetic flags as SOFT_LAZY_HOST keeps them (LAHF's AH in bits
 * 8-15, OF in bit 0), from whatever form they are in: for translated code
 * that wants them back in the host's RFLAGS. */
u64 soft_flags_host_word(struct soft_cpu *cpu);
/* ZF, SF and PF of res (size bytes), as bits of RFLAGS. */
u64 soft_flags_szp(u64 res, unsigned size);

/* ---- Arithmetic cores (alu.c, shift.c, muldiv.c), also used by tests --- */
enum soft_alu_op {
	SOFT_ALU_ADD,
	SOFT_ALU_OR,
	SOFT_ALU_ADC,
	SOFT_ALU_SBB,
	SOFT_ALU_AND,
	SOFT_ALU_SUB,
	SOFT_ALU_XOR,
	SOFT_ALU_CMP,
};
/* Computes dst op src (size bytes), sets the flags, returns the result. */
u64 soft_alu(struct soft_cpu *cpu, unsigned op, unsigned size, u64 dst, u64 src);
u64 soft_alu_inc(struct soft_cpu *cpu, unsigned size, u64 dst);
u64 soft_alu_dec(struct soft_cpu *cpu, unsigned size, u64 dst);
u64 soft_alu_neg(struct soft_cpu *cpu, unsigned size, u64 src);
/* Group 2 (op = ModRM.reg: ROL ROR RCL RCR SHL SHR SAL SAR) with the count
 * already masked as the CPU does (5 bits, 6 with REX.W). */
u64 soft_shift(struct soft_cpu *cpu, unsigned op, unsigned size, u64 val, unsigned count);
/* SHLD (left) / SHRD: dst shifted, filled from src. */
u64 soft_shxd(struct soft_cpu *cpu, bool left, unsigned size, u64 dst, u64 src, unsigned count);

/* IMUL r, r/m (, imm): the truncated signed product; CF=OF if it did not fit. */
u64 soft_imul2(struct soft_cpu *cpu, unsigned size, u64 a, u64 b);
/* Group 3 /4../7 (MUL IMUL DIV IDIV) on *ax (AX for size 1, else rAX) and
 * *dx (rDX), in and out. Returns false for #DE (registers untouched). */
bool soft_muldiv_core(struct soft_cpu *cpu, unsigned op, unsigned size, u64 *ax, u64 *dx, u64 src);
/* kind: 0 BSF, 1 BSR, 2 TZCNT, 3 LZCNT, 4 POPCNT. Returns the destination
 * value (dst itself when BSF/BSR see a zero source) and sets the flags. */
u64 soft_bitscan(struct soft_cpu *cpu, unsigned kind, unsigned size, u64 src, u64 dst);

/* ---- Register and operand access ------------------------------------- */
static inline u64 soft_size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static inline u64 soft_sign_bit(unsigned size)
{
	return 1ULL << (size * 8 - 1);
}

static inline s64 soft_sext(u64 v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (s64)(v << sh) >> sh;
}

/* SHL/SAL (op 4, 6), SHR (5), SAR (7) of val (masked to size bytes) by
 * count (1..63, already masked): the result, with lazy flags (Intel SDM
 * Vol. 2B "SAL/SAR/SHL/SHR"; OF for counts above 1 as Intel processors do).
 * Inline so that the fast handlers (fast.c) fold op and size; soft_shift()
 * (shift.c) calls it for these ops. */
static inline u64 soft_shift_sh(struct soft_cpu *cpu, unsigned op, unsigned size, u64 val,
				unsigned count)
{
	const unsigned bits = size * 8;
	const u64 m = soft_size_mask(size);
	u64 res;
	bool cf, of;

	switch (op) {
	case 4: /* SHL */
	case 6: /* SAL */
		if (count < bits) {
			res = (val << count) & m;
			cf = (val >> (bits - count)) & 1;
		} else {
			res = 0;
			cf = count == bits ? val & 1 : 0;
		}
		of = ((val >> (bits - 1)) ^ (val >> (bits - 2))) & 1;
		break;
	case 5: /* SHR */
		if (count < bits) {
			res = val >> count;
			cf = (val >> (count - 1)) & 1;
		} else {
			res = 0;
			cf = count == bits ? (val >> (bits - 1)) & 1 : 0;
		}
		of = (val >> (bits - 1)) & 1;
		break;
	default: { /* SAR */
		s64 sv = soft_sext(val, size);
		if (count < bits) {
			res = (u64)(sv >> count) & m;
			cf = ((u64)sv >> (count - 1)) & 1;
		} else {
			res = sv < 0 ? m : 0;
			cf = sv < 0;
		}
		of = false;
		break;
	}
	}
	u64 af = 0;
	if (soft_quirk(cpu, SQ_SHIFT_OF_FROM_RESULT)) {
		/* AMD: OF as a one-bit shift would give it, read off the result
		 * (left: MSB ^ CF; right: the top two bits), and AF set. */
		of = op == 5 || op == 7 ? ((res >> (bits - 1)) ^ (res >> (bits - 2))) & 1
				       : ((res >> (bits - 1)) & 1) ^ cf;
		af = X86_RFLAGS_AF;
	}
	soft_lazy_set(cpu, SOFT_LAZY_SHIFT, size, 0,
		      (cf ? X86_RFLAGS_CF : 0) | (of ? X86_RFLAGS_OF : 0) | af, res);
	return res;
}

/* Register r of size bytes; without REX, byte registers 4-7 are AH-BH. */
static inline u64 soft_reg_get(const struct soft_cpu *cpu, unsigned r, unsigned size, bool rex)
{
	switch (size) {
	case 1:
		if (!rex && r >= 4 && r < 8)
			return (cpu->gpr[r - 4] >> 8) & 0xff;
		return cpu->gpr[r] & 0xff;
	case 2:
		return cpu->gpr[r] & 0xffff;
	case 4:
		return cpu->gpr[r] & 0xffffffff;
	default:
		return cpu->gpr[r];
	}
}

/* Writes keep the upper bits for 8/16-bit sizes and zero them for 32-bit
 * (Intel SDM Vol. 1 3.4.1.1). */
static inline void soft_reg_set(struct soft_cpu *cpu, unsigned r, unsigned size, bool rex, u64 v)
{
	switch (size) {
	case 1:
		if (!rex && r >= 4 && r < 8)
			cpu->gpr[r - 4] = (cpu->gpr[r - 4] & ~0xff00ULL) | ((v & 0xff) << 8);
		else
			cpu->gpr[r] = (cpu->gpr[r] & ~0xffULL) | (v & 0xff);
		break;
	case 2:
		cpu->gpr[r] = (cpu->gpr[r] & ~0xffffULL) | (v & 0xffff);
		break;
	case 4:
		cpu->gpr[r] = (u32)v;
		break;
	default:
		cpu->gpr[r] = v;
		break;
	}
}

static inline u64 soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 ea = (u64)in->disp;

	if (in->base >= 0)
		ea += cpu->gpr[in->base];
	if (in->index >= 0)
		ea += cpu->gpr[in->index] * in->scale;
	if (in->rip_rel)
		ea += cpu->rip;
	if (in->addrsize == 4)
		ea = (u32)ea;
	else if (in->addrsize == 2)
		ea = (u16)ea;
	return ea;
}

/* The ModRM r/m operand (register or memory) of size bytes. */
static inline u64 soft_rm_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	if (in->mem)
		return soft_mem_read(cpu, in->seg, soft_ea(cpu, in), size);
	return soft_reg_get(cpu, in->rm, size, in->rex);
}

static inline void soft_rm_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
				 u64 v)
{
	if (in->mem)
		soft_mem_write(cpu, in->seg, soft_ea(cpu, in), size, v);
	else
		soft_reg_set(cpu, in->rm, size, in->rex, v);
}

/* ModRM.reg as a general register. */
static inline u64 soft_greg_read(const struct soft_cpu *cpu, const struct soft_insn *in,
				 unsigned size)
{
	return soft_reg_get(cpu, in->reg, size, in->rex);
}

static inline void soft_greg_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
				   u64 v)
{
	soft_reg_set(cpu, in->reg, size, in->rex, v);
}

/* Read-modify-write of the r/m operand: soft_rmw_begin() checks write
 * access and returns the old value; soft_rmw_end() stores the new one. Not
 * atomic: LOCK-prefixed forms use soft_locked_*() below. */
struct soft_rmw {
	u8 *host; /* RAM fast path, or NULL */
	u64 ea;
	bool mem;
};

u64 soft_rmw_slow_begin(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
			struct soft_rmw *r);

static inline u64 soft_rmw_begin(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
				 struct soft_rmw *r)
{
	if (!in->mem) {
		r->mem = false;
		return soft_reg_get(cpu, in->rm, size, in->rex);
	}
	r->mem = true;
	r->ea = soft_ea(cpu, in);
	u64 lin = soft_mem_linear(cpu, in->seg, r->ea, size, SOFT_ACC_WRITE);
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, cpu->dpriv);
	if (__builtin_expect(e->tag[SOFT_ACC_WRITE] == (lin & ~0xfffULL) && soft_in_page(lin, size),
			     1)) {
		r->host = e->host + (lin & 0xfff);
		return soft_host_load(r->host, size);
	}
	return soft_rmw_slow_begin(cpu, in, size, r);
}

static inline void soft_rmw_end(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
				const struct soft_rmw *r, u64 v)
{
	if (!r->mem)
		soft_reg_set(cpu, in->rm, size, in->rex, v);
	else if (r->host)
		soft_host_store(r->host, size, v);
	else
		soft_write(cpu, in->seg, r->ea, size, v);
}

/* LOCK-prefixed (or implicitly locked) read-modify-write of the memory
 * operand: calls fn(cpu, old, arg) -> new until it can store atomically
 * (compare-and-swap on guest RAM; a VM-wide mutex for MMIO or page-crossing
 * operands). fn may set flags: it runs again on a retry. Returns the old value. */
typedef u64 soft_rmw_fn(struct soft_cpu *cpu, u64 old, u64 arg, unsigned size, unsigned op);
u64 soft_locked_rmw(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
		    soft_rmw_fn *fn, u64 arg, unsigned op);

/* Stack (stack.c): push/pop of size bytes with the SS address size. */
void soft_push(struct soft_cpu *cpu, unsigned size, u64 v);
u64 soft_pop(struct soft_cpu *cpu, unsigned size);
/* Value that a pop would return, without moving RSP (pop-to-memory, POPF). */
u64 soft_peek(struct soft_cpu *cpu, unsigned size, unsigned offset);
void soft_rsp_add(struct soft_cpu *cpu, s64 delta);

/* Branches (branch.c): sets RIP to target truncated to the operand size
 * (raises #GP for a non-canonical target in 64-bit mode, or one beyond the
 * CS limit elsewhere). */
void soft_jump(struct soft_cpu *cpu, u64 target, unsigned opsize);

/* Ends the soft_exec() batch when an instruction opened an interrupt window
 * (IF went from 0 to 1) or set TF, so that the run loop looks at pending
 * interrupts / single-steps. Instructions that change the mode or CS end
 * their decoded block anyway (ends_block) and need no stop. */
static inline void soft_stop_if_window(struct soft_cpu *cpu, u64 old_rflags)
{
	/* TF and RF (IRET) need the debug path (soft_debug_active). */
	if ((!(old_rflags & X86_RFLAGS_IF) && (cpu->rflags & X86_RFLAGS_IF)) ||
	    (cpu->rflags & (X86_RFLAGS_TF | (1ULL << 16))))
		cpu->exec_stop = true;
}

/* #UD for an undefined or unimplemented form: counts it in cpu->stat_ud
 * and logs the first one of each opcode (interp.c). */
_Noreturn void soft_insn_ud(struct soft_cpu *cpu, const struct soft_insn *in);
/* #UD that is the instruction's defined behaviour (UD2, UD0, UD1). */
_Noreturn void soft_insn_ud_defined(struct soft_cpu *cpu);

/* Port I/O (io.c): privilege (CPL/IOPL, TSS bitmap) checks and the bus. */
u64 soft_io_in(struct soft_cpu *cpu, u16 port, unsigned size);
void soft_io_out(struct soft_cpu *cpu, u16 port, unsigned size, u64 v);
void soft_io_check(struct soft_cpu *cpu, u16 port, unsigned size);

/* Binds in->exec to the handler of its opcode (interp_tables.c), or to a
 * specialized one for frequent forms (fast.c); code_size as decoded. */
void soft_insn_bind(struct soft_insn *in, unsigned code_size);
void soft_insn_bind_generic(struct soft_insn *in); /* without fast.c (tests) */
void soft_fast_bind(struct soft_insn *in, unsigned code_size);
/* Decoded-instruction cache (interp.c): allocated per vCPU, freed with it. */
struct soft_dcache *soft_dcache_new(void);
void soft_dcache_free(struct soft_dcache *dc);
/* Turns the translator on for this cache with a code cache of cache_size
 * bytes (jit/). Before the seccomp filters go on. Returns 0 or -errno. */
int soft_dcache_jit(struct soft_dcache *dc, size_t cache_size);
/* Blocks translated and code cache flushes so far. */
u64 soft_dcache_jit_blocks(const struct soft_dcache *dc);
u64 soft_dcache_jit_flushes(const struct soft_dcache *dc);
u64 soft_dcache_jit_links(const struct soft_dcache *dc); /* links made (jit/translate.h) */
u64 soft_dcache_jit_ind_fills(const struct soft_dcache *dc); /* indirect-table entries made */
/* Turns the lockstep check on (jit/lockstep.h; turn: the VM's). Returns 0 or
 * -ENOMEM. */
struct soft_lockstep_turn;
int soft_dcache_lockstep(struct soft_dcache *dc, struct soft_lockstep_turn *turn);
/* The lockstep check's message when it found a difference, else NULL. */
const char *soft_dcache_lockstep_failed(const struct soft_dcache *dc);
/* Translated runs it checked, and left unchecked (jit/lockstep.h). */
void soft_dcache_lockstep_counts(const struct soft_dcache *dc, u64 *checked, u64 *unchecked);
/* Starts sampling guest RIPs into prof (profile.h); NULL stops. */
struct soft_profile;
void soft_dcache_set_profile(struct soft_dcache *dc, struct soft_profile *prof);

/* ---- Handlers, by file ----------------------------------------------- */
/* alu.c */
soft_handler_fn soft_op_alu, soft_op_alu_imm_acc, soft_op_grp1, soft_op_test, soft_op_grp3,
    soft_op_incdec_reg, soft_op_grp4, soft_op_bcd, soft_op_salc, soft_op_flagop;
/* shift.c */
soft_handler_fn soft_op_grp2, soft_op_shxd;
/* muldiv.c */
void soft_muldiv(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op);
soft_handler_fn soft_op_imul_reg, soft_op_imul_imm;
/* bit.c */
soft_handler_fn soft_op_bt, soft_op_bt_imm, soft_op_bsf_bsr, soft_op_popcnt;
/* string.c */
soft_handler_fn soft_op_string;
/* stack.c */
soft_handler_fn soft_op_push_reg, soft_op_pop_reg, soft_op_push_imm, soft_op_pop_rm, soft_op_pushf,
    soft_op_popf, soft_op_pusha, soft_op_popa, soft_op_enter, soft_op_leave, soft_op_push_sreg,
    soft_op_pop_sreg;
void soft_push_rm(struct soft_cpu *cpu, const struct soft_insn *in);
/* branch.c */
soft_handler_fn soft_op_jcc, soft_op_jmp_rel, soft_op_call_rel, soft_op_ret, soft_op_loop,
    soft_op_jmp_far, soft_op_call_far, soft_op_ret_far, soft_op_grp5, soft_op_bound;
/* move.c */
soft_handler_fn soft_op_mov, soft_op_mov_imm, soft_op_mov_moffs, soft_op_mov_sreg, soft_op_lea,
    soft_op_movzx, soft_op_movsx, soft_op_movsxd, soft_op_xchg, soft_op_xchg_acc, soft_op_cmpxchg,
    soft_op_grp9, soft_op_xadd, soft_op_bswap, soft_op_cmov, soft_op_setcc, soft_op_cbw,
    soft_op_cwd, soft_op_lahf_sahf, soft_op_xlat, soft_op_movbe_crc32, soft_op_load_far,
    soft_op_movnti;
/* system_insn.c */
soft_handler_fn soft_op_hlt, soft_op_cli, soft_op_sti, soft_op_in_out, soft_op_cpuid, soft_op_rdtsc,
    soft_op_rdmsr, soft_op_wrmsr, soft_op_mov_cr, soft_op_mov_dr, soft_op_clts, soft_op_int,
    soft_op_iret, soft_op_syscall, soft_op_sysret, soft_op_sysenter, soft_op_sysexit, soft_op_nop,
    soft_op_ud, soft_op_invd, soft_op_grp15, soft_op_pause, soft_op_x87, soft_op_simd,
    soft_op_rdpmc, soft_op_rsm, soft_op_wait, soft_op_rdrand;
/* system_desc.c */
soft_handler_fn soft_op_grp6, soft_op_grp7, soft_op_lar_lsl, soft_op_arpl;

#endif
