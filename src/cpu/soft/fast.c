/* Specialized handlers for the most frequent instruction forms (register
 * operands of 32 or 64 bits, simple loads and stores in 64-bit mode), bound
 * in place of the generic ones by soft_fast_bind(). Each must behave exactly
 * like the generic handler it replaces (test_soft_fast checks this on
 * random encodings); they only skip work that the form makes unnecessary. */
#include "cpu/soft/interp.h"

static inline void wr32(struct soft_cpu *cpu, unsigned r, u64 v)
{
	cpu->gpr[r] = (u32)v;
}

/* dst/src register numbers of an ALU or MOV register form by direction. */
#define DST(in) ((in)->opcode & 2 ? (in)->reg : (in)->rm)
#define SRC(in) ((in)->opcode & 2 ? (in)->rm : (in)->reg)

/* ---- MOV ---- */

static void mov_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[DST(in)] = cpu->gpr[SRC(in)];
}

static void mov_rr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	wr32(cpu, DST(in), cpu->gpr[SRC(in)]);
}

/* 64-bit mode loads/stores; the general path handles everything unusual. */
static inline u64 ld(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	u64 off = soft_ea(cpu, in), lin = in->seg >= X86_FS ? off + cpu->seg[in->seg].base : off;
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, cpu->cpl == 3);

	/* A non-canonical address never matches a TLB tag: the slow path checks. */
	if (__builtin_expect(e->tag[SOFT_ACC_READ] == (lin & ~0xfffULL) && soft_in_page(lin, size),
			     1))
		return soft_host_load(e->host + (lin & 0xfff), size);
	return soft_mem_read(cpu, in->seg, off, size);
}

static inline void st(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size, u64 v)
{
	u64 off = soft_ea(cpu, in), lin = in->seg >= X86_FS ? off + cpu->seg[in->seg].base : off;
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, cpu->cpl == 3);

	if (__builtin_expect(e->tag[SOFT_ACC_WRITE] == (lin & ~0xfffULL) && soft_in_page(lin, size),
			     1)) {
		soft_host_store(e->host + (lin & 0xfff), size, v);
		return;
	}
	soft_mem_write(cpu, in->seg, off, size, v);
}

static void mov_load64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = ld(cpu, in, 8);
}

static void mov_load32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = ld(cpu, in, 4);
}

static void mov_store64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	st(cpu, in, 8, cpu->gpr[in->reg]);
}

static void mov_store32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	st(cpu, in, 4, cpu->gpr[in->reg]);
}

static void lea64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = soft_ea(cpu, in);
}

/* ---- ALU register forms ---- */

#define ALU_RR(name, size, expr, lazyop, write)                                                    \
	static void name(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                          \
		const u64 m = soft_size_mask(size);                                                \
		u64 d = cpu->gpr[DST(in)] & m, s = cpu->gpr[SRC(in)] & m, r = (expr)&m;            \
		soft_lazy_set(cpu, lazyop, size, d, s, r);                                         \
		if (write)                                                                         \
			cpu->gpr[DST(in)] = r;                                                     \
	}

ALU_RR(add_rr64, 8, d + s, SOFT_LAZY_ADD, 1)
ALU_RR(add_rr32, 4, d + s, SOFT_LAZY_ADD, 1)
ALU_RR(sub_rr64, 8, d - s, SOFT_LAZY_SUB, 1)
ALU_RR(sub_rr32, 4, d - s, SOFT_LAZY_SUB, 1)
ALU_RR(cmp_rr64, 8, d - s, SOFT_LAZY_SUB, 0)
ALU_RR(cmp_rr32, 4, d - s, SOFT_LAZY_SUB, 0)
ALU_RR(and_rr64, 8, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RR(and_rr32, 4, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RR(or_rr64, 8, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RR(or_rr32, 4, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RR(xor_rr64, 8, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RR(xor_rr32, 4, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RR(test_rr64, 8, d &s, SOFT_LAZY_LOGIC, 0)
ALU_RR(test_rr32, 4, d &s, SOFT_LAZY_LOGIC, 0)

/* ADC/SBB need the carry: the generic core. */
static void adcsbb_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size, d = DST(in);
	u64 r = soft_alu(cpu, (in->opcode >> 3) & 7, size, cpu->gpr[d], cpu->gpr[SRC(in)]);

	if (size == 8)
		cpu->gpr[d] = r;
	else
		wr32(cpu, d, r);
}

/* 81/83 with a register: op r, imm. */
#define ALU_RI(name, size, expr, lazyop, write)                                                    \
	static void name(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                          \
		const u64 m = soft_size_mask(size);                                                \
		u64 d = cpu->gpr[in->rm] & m, s = in->imm & m, r = (expr)&m;                       \
		soft_lazy_set(cpu, lazyop, size, d, s, r);                                         \
		if (write)                                                                         \
			cpu->gpr[in->rm] = r;                                                      \
	}

ALU_RI(add_ri64, 8, d + s, SOFT_LAZY_ADD, 1)
ALU_RI(add_ri32, 4, d + s, SOFT_LAZY_ADD, 1)
ALU_RI(sub_ri64, 8, d - s, SOFT_LAZY_SUB, 1)
ALU_RI(sub_ri32, 4, d - s, SOFT_LAZY_SUB, 1)
ALU_RI(cmp_ri64, 8, d - s, SOFT_LAZY_SUB, 0)
ALU_RI(cmp_ri32, 4, d - s, SOFT_LAZY_SUB, 0)
ALU_RI(and_ri64, 8, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RI(and_ri32, 4, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RI(or_ri64, 8, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RI(or_ri32, 4, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RI(xor_ri64, 8, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RI(xor_ri32, 4, d ^ s, SOFT_LAZY_LOGIC, 1)

/* op r, [mem] in 64-bit mode (03, 0B, 23, 2B, 33, 3B). */
#define ALU_RM(name, size, expr, lazyop, write)                                                    \
	static void name(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                          \
		const u64 m = soft_size_mask(size);                                                \
		u64 s = ld(cpu, in, size), d = cpu->gpr[in->reg] & m, r = (expr)&m;                \
		soft_lazy_set(cpu, lazyop, size, d, s, r);                                         \
		if (write)                                                                         \
			cpu->gpr[in->reg] = r;                                                     \
	}

ALU_RM(add_rm64, 8, d + s, SOFT_LAZY_ADD, 1)
ALU_RM(add_rm32, 4, d + s, SOFT_LAZY_ADD, 1)
ALU_RM(sub_rm64, 8, d - s, SOFT_LAZY_SUB, 1)
ALU_RM(sub_rm32, 4, d - s, SOFT_LAZY_SUB, 1)
ALU_RM(cmp_rm64, 8, d - s, SOFT_LAZY_SUB, 0)
ALU_RM(cmp_rm32, 4, d - s, SOFT_LAZY_SUB, 0)
ALU_RM(and_rm64, 8, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RM(and_rm32, 4, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RM(or_rm64, 8, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RM(or_rm32, 4, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RM(xor_rm64, 8, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RM(xor_rm32, 4, d ^ s, SOFT_LAZY_LOGIC, 1)

/* CMP [mem], r and CMP [mem], imm in 64-bit mode (39 and 81/83 /7). */
static void cmp_mr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 8), s = cpu->gpr[in->reg];

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 8, d, s, d - s);
}

static void cmp_mr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 4), s = (u32)cpu->gpr[in->reg];

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 4, d, s, (u32)(d - s));
}

static void cmp_mi64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 8);

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 8, d, in->imm, d - in->imm);
}

static void cmp_mi32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 4), s = (u32)in->imm;

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 4, d, s, (u32)(d - s));
}

/* ---- INC/DEC, IMUL, shifts, moves with extension ---- */

static void incdec_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size, r = in->rm;
	u64 v = (in->modrm >> 3) & 1 ? soft_alu_dec(cpu, size, cpu->gpr[r])
				     : soft_alu_inc(cpu, size, cpu->gpr[r]);

	cpu->gpr[r] = v; /* masked to 32 bits by the core for size 4 */
}

static void imul_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 r = soft_imul2(cpu, size, cpu->gpr[in->reg], cpu->gpr[in->rm]);

	cpu->gpr[in->reg] = r; /* masked by the core */
}

/* C1 /4 /5 /7 with a register: SHL/SHR/SAR r, imm8. */
static void shift_ri(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size, count = (unsigned)(in->imm & (size == 8 ? 63 : 31));

	cpu->gpr[in->rm] = soft_shift(cpu, (in->modrm >> 3) & 7, size, cpu->gpr[in->rm], count);
}

static void movzx_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned ss = in->opcode & 1 ? 2 : 1;

	/* Destination 32 or 64 bits: the zero-extended value either way. */
	cpu->gpr[in->reg] = soft_reg_get(cpu, in->rm, ss, in->rex);
}

static void movsxd_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = (u64)(s64)(s32)cpu->gpr[in->rm];
}

/* ---- stack and branches in 64-bit mode ---- */

static void push_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0);
	u64 sp = cpu->gpr[X86_RSP] - 8, v = cpu->gpr[r];
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, sp, cpu->cpl == 3);

	if (__builtin_expect(e->tag[SOFT_ACC_WRITE] == (sp & ~0xfffULL) && soft_in_page(sp, 8), 1))
		soft_host_store(e->host + (sp & 0xfff), 8, v);
	else
		soft_mem_write(cpu, X86_SS, sp, 8, v);
	cpu->gpr[X86_RSP] = sp;
}

static void pop_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0);
	u64 sp = cpu->gpr[X86_RSP], v;
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, sp, cpu->cpl == 3);

	if (__builtin_expect(e->tag[SOFT_ACC_READ] == (sp & ~0xfffULL) && soft_in_page(sp, 8), 1))
		v = soft_host_load(e->host + (sp & 0xfff), 8);
	else
		v = soft_mem_read(cpu, X86_SS, sp, 8);
	cpu->gpr[X86_RSP] = sp + 8;
	cpu->gpr[r] = v;
}

static void jcc64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (soft_cond(cpu, in->opcode & 15)) {
		u64 t = cpu->rip + in->imm;
		if (__builtin_expect(!soft_canonical(t), 0))
			soft_raise(cpu, EXC_GP, 0);
		cpu->rip = t;
	}
}

static void cmov_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 v = soft_cond(cpu, in->opcode & 15) ? cpu->gpr[in->rm] : cpu->gpr[in->reg];

	cpu->gpr[in->reg] = in->opsize == 8 ? v : (u32)v;
}

static void setcc_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_reg_set(cpu, in->rm, 1, in->rex, soft_cond(cpu, in->opcode & 15));
}

/* ---- binding ---- */

static soft_handler_fn *const alu_rr64[8] = {add_rr64, or_rr64,  adcsbb_rr, adcsbb_rr,
					     and_rr64, sub_rr64, xor_rr64,  cmp_rr64};
static soft_handler_fn *const alu_rr32[8] = {add_rr32, or_rr32,  adcsbb_rr, adcsbb_rr,
					     and_rr32, sub_rr32, xor_rr32,  cmp_rr32};
static soft_handler_fn *const alu_ri64[8] = {add_ri64, or_ri64,  NULL,     NULL,
					     and_ri64, sub_ri64, xor_ri64, cmp_ri64};
static soft_handler_fn *const alu_ri32[8] = {add_ri32, or_ri32,  NULL,     NULL,
					     and_ri32, sub_ri32, xor_ri32, cmp_ri32};
static soft_handler_fn *const alu_rm64[8] = {add_rm64, or_rm64,  NULL,     NULL,
					     and_rm64, sub_rm64, xor_rm64, cmp_rm64};
static soft_handler_fn *const alu_rm32[8] = {add_rm32, or_rm32,  NULL,     NULL,
					     and_rm32, sub_rm32, xor_rm32, cmp_rm32};

/* A specialized handler for in, or NULL. code64: decoded as 64-bit code
 * (the fast memory forms assume 64-bit mode, where no segment limits exist). */
static soft_handler_fn *fast_pick(const struct soft_insn *in, bool code64)
{
	const bool wide = in->size == 8, dword = in->size == 4, reg = in->has_modrm && !in->mem;
	const bool m64 = code64 && in->mem && in->addrsize == 8 && !in->lock;
	const unsigned op = in->opcode, regf = (in->modrm >> 3) & 7;

	if (in->map == SOFT_MAP_1B) {
		if (op < 0x40 && ((op & 7) == 1 || (op & 7) == 3)) {
			/* 01 03 09 0B ...: Ev,Gv / Gv,Ev of 32 or 64 bits */
			if (reg && (wide || dword))
				return (wide ? alu_rr64 : alu_rr32)[(op >> 3) & 7];
			if (m64 && (op & 2) && (wide || dword))
				return (wide ? alu_rm64 : alu_rm32)[(op >> 3) & 7];
			if (m64 && op == 0x39 && (wide || dword))
				return wide ? cmp_mr64 : cmp_mr32;
			return NULL;
		}
		switch (op) {
		case 0x81:
		case 0x83:
			if (reg && (wide || dword))
				return (wide ? alu_ri64 : alu_ri32)[regf];
			if (m64 && regf == 7 && (wide || dword))
				return wide ? cmp_mi64 : cmp_mi32;
			return NULL;
		case 0x85:
			if (reg && (wide || dword))
				return wide ? test_rr64 : test_rr32;
			return NULL;
		case 0x89:
		case 0x8b:
			if (reg && (wide || dword))
				return wide ? mov_rr64 : mov_rr32;
			if (m64 && (wide || dword))
				return op == 0x8b ? (wide ? mov_load64 : mov_load32)
						  : (wide ? mov_store64 : mov_store32);
			return NULL;
		case 0x8d:
			return code64 && wide ? lea64 : NULL;
		case 0x50 ... 0x57:
			return code64 && in->opsize == 8 ? push_r64 : NULL;
		case 0x58 ... 0x5f:
			return code64 && in->opsize == 8 ? pop_r64 : NULL;
		case 0x63:
			return code64 && reg && wide ? movsxd_rr64 : NULL;
		case 0x70 ... 0x7f:
			return code64 ? jcc64 : NULL;
		case 0xc1:
			if (reg && (wide || dword) && (regf == 4 || regf == 5 || regf == 7))
				return shift_ri;
			return NULL;
		case 0xff:
			return reg && (wide || dword) && regf < 2 ? incdec_r : NULL;
		}
		return NULL;
	}
	if (in->map != SOFT_MAP_0F)
		return NULL;
	switch (op) {
	case 0x40 ... 0x4f:
		return reg && (wide || dword) ? cmov_rr : NULL;
	case 0x80 ... 0x8f:
		return code64 ? jcc64 : NULL;
	case 0x90 ... 0x9f:
		return reg ? setcc_r : NULL;
	case 0xaf:
		return reg && (wide || dword) ? imul_rr : NULL;
	case 0xb6:
	case 0xb7:
		return reg && (wide || dword) ? movzx_rr : NULL;
	}
	return NULL;
}

void soft_fast_bind(struct soft_insn *in, unsigned code_size)
{
	soft_handler_fn *fn = fast_pick(in, code_size == 8);

	if (fn)
		in->exec = fn;
}
