/* Data movement: MOV (all forms), MOVZX/MOVSX/MOVSXD, LEA, XCHG, CMPXCHG,
 * CMPXCHG8B/16B, XADD, BSWAP, CMOVcc, SETcc, CBW family, LAHF/SAHF, XLAT,
 * MOVBE, CRC32, LES/LDS/LSS/LFS/LGS, MOVNTI (Intel SDM Vol. 2A-2C). */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vm.h"

/* 88-8B. */
void soft_op_mov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;

	if (in->opcode & 2)
		soft_greg_write(cpu, in, size, soft_rm_read(cpu, in, size));
	else
		soft_rm_write(cpu, in, size, soft_greg_read(cpu, in, size));
}

/* B0-BF: MOV r, imm; C6/C7 /0: MOV r/m, imm. */
void soft_op_mov_imm(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->opcode >= 0xc6) {
		soft_rm_write(cpu, in, in->size, in->imm);
		return;
	}
	soft_reg_set(cpu, (in->opcode & 7) | (in->rex & 1 ? 8 : 0), in->size, in->rex, in->imm);
}

/* A0-A3: MOV AL/rAX <-> moffs. */
void soft_op_mov_moffs(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;

	if (in->opcode & 2)
		soft_mem_write(cpu, in->seg, in->imm, size, soft_reg_get(cpu, X86_RAX, size, true));
	else
		soft_reg_set(cpu, X86_RAX, size, true, soft_mem_read(cpu, in->seg, in->imm, size));
}

/* 8C: MOV r/m, Sreg; 8E: MOV Sreg, r/m16 (MOV SS blocks interrupts for one
 * instruction; MOV CS is #UD). */
void soft_op_mov_sreg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned sr = (in->modrm >> 3) & 7;

	if (sr > X86_GS)
		soft_insn_ud(cpu, in);
	if (in->opcode == 0x8c) {
		u16 sel = cpu->seg[sr].selector;
		if (in->mem)
			soft_mem_write(cpu, in->seg, soft_ea(cpu, in), 2, sel);
		else
			soft_reg_set(cpu, in->rm, in->opsize, in->rex, sel);
		return;
	}
	if (sr == X86_CS)
		soft_insn_ud(cpu, in);
	soft_load_seg(cpu, (int)sr, (u16)soft_rm_read(cpu, in, 2));
	if (sr == X86_SS)
		cpu->intr_shadow = cpu->db_ss_shadow = 1;
}

/* 8D: LEA. */
void soft_op_lea(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_greg_write(cpu, in, in->opsize, soft_ea(cpu, in));
}

/* 0F B6/B7: MOVZX. */
void soft_op_movzx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned ss = in->opcode & 1 ? 2 : 1;

	soft_greg_write(cpu, in, in->opsize, soft_rm_read(cpu, in, ss));
}

/* 0F BE/BF: MOVSX. */
void soft_op_movsx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned ss = in->opcode & 1 ? 2 : 1;

	soft_greg_write(cpu, in, in->opsize, (u64)soft_sext(soft_rm_read(cpu, in, ss), ss));
}

/* 63: MOVSXD in 64-bit mode, ARPL elsewhere. */
void soft_op_movsxd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (cpu->mode != SOFT_MODE_LONG64) {
		soft_op_arpl(cpu, in);
		return;
	}
	unsigned ss = in->opsize == 2 ? 2 : 4;
	soft_greg_write(cpu, in, in->opsize, (u64)soft_sext(soft_rm_read(cpu, in, ss), ss));
}

static u64 xchg_fn(struct soft_cpu *cpu, u64 old, u64 arg, unsigned size, unsigned op)
{
	(void)cpu, (void)old, (void)size, (void)op;
	return arg;
}

/* 86/87: XCHG r/m, r (locked when memory, SDM Vol. 3A 8.1.2.1). */
void soft_op_xchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 r = soft_greg_read(cpu, in, size), old;

	if (in->mem) {
		old = soft_locked_rmw(cpu, in, size, xchg_fn, r, 0);
	} else {
		old = soft_reg_get(cpu, in->rm, size, in->rex);
		soft_reg_set(cpu, in->rm, size, in->rex, r);
	}
	soft_greg_write(cpu, in, size, old);
}

/* 90-97: XCHG rAX, r; 90 alone is NOP and F3 90 is PAUSE. */
void soft_op_xchg_acc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0), size = in->opsize;
	u64 a, b;

	if (r == 0)
		return;
	a = soft_reg_get(cpu, X86_RAX, size, true);
	b = soft_reg_get(cpu, r, size, true);
	soft_reg_set(cpu, X86_RAX, size, true, b);
	soft_reg_set(cpu, r, size, true, a);
}

static u64 cmpxchg_fn(struct soft_cpu *cpu, u64 old, u64 src, unsigned size, unsigned op)
{
	(void)op;
	u64 acc = soft_reg_get(cpu, X86_RAX, size, true);

	soft_alu(cpu, SOFT_ALU_CMP, size, acc, old);
	return old == acc ? src : old;
}

/* 0F B0/B1: CMPXCHG r/m, r. Intel writes the destination only when equal
 * and the accumulator only when not (checked on the host). */
void soft_op_cmpxchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 src = soft_greg_read(cpu, in, size), acc = soft_reg_get(cpu, X86_RAX, size, true), old;
	struct soft_rmw r;

	if (in->mem) {
		if (in->lock) {
			old = soft_locked_rmw(cpu, in, size, cmpxchg_fn, src, 0);
		} else {
			old = soft_rmw_begin(cpu, in, size, &r);
			soft_rmw_end(cpu, in, size, &r, cmpxchg_fn(cpu, old, src, size, 0));
		}
	} else {
		old = soft_reg_get(cpu, in->rm, size, in->rex);
		soft_alu(cpu, SOFT_ALU_CMP, size, acc, old);
		if (old == acc)
			soft_reg_set(cpu, in->rm, size, in->rex, src);
	}
	if (old != acc)
		soft_reg_set(cpu, X86_RAX, size, true, old);
}

static void set_zf(struct soft_cpu *cpu, bool zf)
{
	u64 f = soft_flags_get(cpu) & ~X86_RFLAGS_ZF;

	soft_flags_set_arith(cpu, f | (zf ? X86_RFLAGS_ZF : 0));
}

/* 0F C7 /1: CMPXCHG8B m64, or CMPXCHG16B m128 with REX.W (always atomic
 * here; 16B needs 16-byte alignment, SDM Vol. 2A "CMPXCHG8B/CMPXCHG16B"). */
static void cmpxchg8b16b(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool wide = in->opsize == 8;
	unsigned size = wide ? 16 : 8;
	u64 ea = soft_ea(cpu, in), half = wide ? ~0ULL : 0xffffffffULL;
	u64 exp_lo = cpu->gpr[X86_RAX] & half, exp_hi = cpu->gpr[X86_RDX] & half;
	u64 new_lo = cpu->gpr[X86_RBX] & half, new_hi = cpu->gpr[X86_RCX] & half;
	u64 cur_lo, cur_hi;
	bool eq;
	u8 *p;

	if (!in->mem)
		soft_insn_ud(cpu, in);
	/* The 16-byte form must be aligned, as a linear address. */
	if (wide &&
	    ((ea +
	      (cpu->mode != SOFT_MODE_LONG64 || in->seg >= X86_FS ? cpu->seg[in->seg].base : 0)) &
	     15))
		soft_raise(cpu, EXC_GP, 0);
	p = soft_rmw_ptr(cpu, in->seg, ea, size);
	if (p && ((uintptr_t)p & 63) + size <= 64) {
		if (wide) {
			unsigned __int128 exp = ((unsigned __int128)exp_hi << 64) | exp_lo;
			unsigned __int128 nv = ((unsigned __int128)new_hi << 64) | new_lo;
			/* lock cmpxchg16b: gcc needs libatomic for the builtin. */
			asm volatile("lock cmpxchg16b %1\n\tsete %0"
				     : "=q"(eq), "+m"(*(unsigned __int128 *)(void *)p), "+A"(exp)
				     : "b"((u64)nv), "c"((u64)(nv >> 64))
				     : "cc", "memory");
			cur_lo = (u64)exp;
			cur_hi = (u64)(exp >> 64);
			(void)exp;
		} else {
			u64 exp = exp_hi << 32 | exp_lo;
			eq = __atomic_compare_exchange_n((u64 *)(void *)p, &exp,
							 new_hi << 32 | new_lo, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			cur_lo = exp & half;
			cur_hi = exp >> 32;
		}
	} else {
		struct soft_vm *vm = cpu->vm;
		unsigned hsz = size / 2;
		u64 ea2 = in->addrsize == 8   ? ea + hsz
			  : in->addrsize == 4 ? (u32)(ea + hsz)
					      : (u16)(ea + hsz);
		soft_read_for_write(cpu, in->seg, ea, hsz);
		soft_read_for_write(cpu, in->seg, ea2, hsz);
		if (vm) {
			pthread_mutex_lock(&vm->atomic_lock);
			cpu->held_lock = &vm->atomic_lock;
		}
		cur_lo = soft_read_for_write(cpu, in->seg, ea, hsz);
		cur_hi = soft_read_for_write(cpu, in->seg, ea2, hsz);
		eq = cur_lo == exp_lo && cur_hi == exp_hi;
		soft_write(cpu, in->seg, ea, hsz, eq ? new_lo : cur_lo);
		soft_write(cpu, in->seg, ea2, hsz, eq ? new_hi : cur_hi);
		if (vm) {
			cpu->held_lock = NULL;
			pthread_mutex_unlock(&vm->atomic_lock);
		}
	}
	set_zf(cpu, eq);
	if (!eq) {
		soft_reg_set(cpu, X86_RAX, wide ? 8 : 4, true, cur_lo);
		soft_reg_set(cpu, X86_RDX, wide ? 8 : 4, true, cur_hi);
	}
}

/* 0F C7: group 9. */
void soft_op_grp9(struct soft_cpu *cpu, const struct soft_insn *in)
{
	switch ((in->modrm >> 3) & 7) {
	case 1:
		cmpxchg8b16b(cpu, in);
		break;
	case 6:
	case 7:
		if (in->mem) {
			soft_op_simd(cpu, in); /* XRSTORS/VMPTRLD...: #UD there */
			break;
		}
		soft_op_rdrand(cpu, in);
		break;
	case 3:
	case 4:
	case 5:
		soft_op_simd(cpu, in); /* XRSTORS, XSAVEC, XSAVES */
		break;
	default:
		soft_insn_ud(cpu, in);
	}
}

static u64 xadd_fn(struct soft_cpu *cpu, u64 old, u64 src, unsigned size, unsigned op)
{
	(void)op;
	return soft_alu(cpu, SOFT_ALU_ADD, size, old, src);
}

/* 0F C0/C1: XADD r/m, r. */
void soft_op_xadd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 src = soft_greg_read(cpu, in, size), old;
	struct soft_rmw r;

	if (!in->mem) {
		/* SRC <- DEST, then DEST <- sum: with one register, the sum wins. */
		old = soft_reg_get(cpu, in->rm, size, in->rex);
		soft_greg_write(cpu, in, size, old);
		soft_reg_set(cpu, in->rm, size, in->rex, xadd_fn(cpu, old, src, size, 0));
		return;
	}
	if (in->lock) {
		old = soft_locked_rmw(cpu, in, size, xadd_fn, src, 0);
	} else {
		old = soft_rmw_begin(cpu, in, size, &r);
		soft_rmw_end(cpu, in, size, &r, xadd_fn(cpu, old, src, size, 0));
	}
	soft_greg_write(cpu, in, size, old);
}

/* 0F C8-CF: BSWAP; the 16-bit form clears the low word on Intel. */
void soft_op_bswap(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0);
	u64 v = cpu->gpr[r];

	switch (in->opsize) {
	case 2:
		soft_reg_set(cpu, r, 2, true, 0);
		break;
	case 4:
		soft_reg_set(cpu, r, 4, true, __builtin_bswap32((u32)v));
		break;
	default:
		cpu->gpr[r] = __builtin_bswap64(v);
		break;
	}
}

/* 0F 40-4F: CMOVcc (reads the source always; a 32-bit destination is
 * zero-extended even when the condition is false). */
void soft_op_cmov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 v = soft_rm_read(cpu, in, size);

	if (!soft_cond(cpu, in->opcode & 15))
		v = soft_greg_read(cpu, in, size);
	soft_greg_write(cpu, in, size, v);
}

/* 0F 90-9F: SETcc r/m8. */
void soft_op_setcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_rm_write(cpu, in, 1, soft_cond(cpu, in->opcode & 15));
}

/* 98: CBW/CWDE/CDQE. */
void soft_op_cbw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize, half = size / 2;

	soft_reg_set(cpu, X86_RAX, size, true,
		     (u64)soft_sext(soft_reg_get(cpu, X86_RAX, half, true), half));
}

/* 99: CWD/CDQ/CQO. */
void soft_op_cwd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	bool neg = soft_reg_get(cpu, X86_RAX, size, true) & soft_sign_bit(size);

	soft_reg_set(cpu, X86_RDX, size, true, neg ? ~0ULL : 0);
}

/* 9E: SAHF, 9F: LAHF (SF ZF AF PF CF <-> AH). */
void soft_op_lahf_sahf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const u64 m = X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | X86_RFLAGS_PF | X86_RFLAGS_CF;
	u64 f = soft_flags_get(cpu);

	if (in->opcode == 0x9f) {
		soft_reg_set(cpu, 4, 1, false, (f & 0xff) | X86_RFLAGS_FIXED);
		return;
	}
	soft_flags_set_arith(cpu, (f & ~m) | ((cpu->gpr[X86_RAX] >> 8) & m));
}

/* D7: XLAT. */
void soft_op_xlat(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 a = cpu->gpr[X86_RBX] + (cpu->gpr[X86_RAX] & 0xff);

	if (in->addrsize == 4)
		a = (u32)a;
	else if (in->addrsize == 2)
		a = (u16)a;
	soft_reg_set(cpu, X86_RAX, 1, true, soft_mem_read(cpu, in->seg, a, 1));
}

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78) over size bytes of v. */
static u32 crc32c(u32 crc, u64 v, unsigned size)
{
	for (unsigned i = 0; i < size * 8; i++) {
		crc ^= (u32)(v >> i) & 1;
		crc = (crc >> 1) ^ (crc & 1 ? 0x82f63b78u : 0);
	}
	return crc;
}

/* 0F 38 F0/F1: MOVBE (memory only), or with F2 CRC32 (SSE4.2). */
void soft_op_movbe_crc32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 v;

	if (in->rep == 0xf2) {
		unsigned ss = in->opcode == 0xf0 ? 1 : size;
		u32 crc = (u32)cpu->gpr[in->reg];
		soft_greg_write(cpu, in, in->rex & 8 ? 8 : 4,
				crc32c(crc, soft_rm_read(cpu, in, ss), ss));
		return;
	}
	if (!in->mem || in->rep)
		soft_insn_ud(cpu, in);
	if (in->opcode == 0xf0) {
		v = soft_rm_read(cpu, in, size);
	} else {
		v = soft_greg_read(cpu, in, size);
	}
	v = size == 2   ? __builtin_bswap16((u16)v)
	    : size == 4 ? __builtin_bswap32((u32)v)
			: __builtin_bswap64(v);
	if (in->opcode == 0xf0)
		soft_greg_write(cpu, in, size, v);
	else
		soft_rm_write(cpu, in, size, v);
}

/* C4 LES, C5 LDS, 0F B2 LSS, 0F B4 LFS, 0F B5 LGS: r, m16:16/32/64. */
void soft_op_load_far(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 ea = soft_ea(cpu, in), off, ea2 = ea + size;
	int seg;

	if (in->map == SOFT_MAP_1B)
		seg = in->opcode == 0xc4 ? X86_ES : X86_DS;
	else
		seg = in->opcode == 0xb2 ? X86_SS : in->opcode == 0xb4 ? X86_FS : X86_GS;
	if (in->addrsize == 4)
		ea2 = (u32)ea2;
	else if (in->addrsize == 2)
		ea2 = (u16)ea2;
	off = soft_mem_read(cpu, in->seg, ea, size);
	soft_load_seg(cpu, seg, (u16)soft_mem_read(cpu, in->seg, ea2, 2));
	soft_greg_write(cpu, in, size, off);
}

/* 0F C3: MOVNTI m32/64, r. */
void soft_op_movnti(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->p66 || in->rep)
		soft_insn_ud(cpu, in);
	soft_rm_write(cpu, in, in->opsize, soft_greg_read(cpu, in, in->opsize));
}
