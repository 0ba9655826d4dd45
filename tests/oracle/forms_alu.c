/* Oracle forms: the eight ALU operations in every encoding, TEST, INC DEC
 * NEG NOT, MUL IMUL (1-, 2-, 3-operand), DIV IDIV, at all operand sizes
 * (Intel SDM Vol. 2 "ADD" ... "XOR"; flags per Vol. 1 Appendix A). */
#include <string.h>

#include "oracle/oracle.h"

static const char *const alu_names[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
static const unsigned sizes[4] = {1, 2, 4, 8};

#define LOGIC_FLAGS (FL_ARITH & ~FL_AF) /* AND OR XOR TEST: AF undefined */

static u64 size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static s64 sext(u64 v, unsigned size)
{
	unsigned sh = 64 - 8 * size;

	return (s64)(v << sh) >> sh;
}

/* AL/AX/EAX/RAX, imm: no ModRM (opcode 04, 05, 0C, ..., A8, A9). */
static void gen_acc(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		    struct oracle_case *c)
{
	struct enc e;

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	if (f->size == 2)
		e.pfx[e.npfx++] = 0x66;
	e.rex_w = f->size == 8;
	e.rex_force = rng_chance(r, 20);
	e.opc[0] = f->opc[0];
	e.nopc = 1;
	e.imm_size = f->size == 1 ? 1 : f->size == 2 ? 2 : 4;
	e.imm = rng_value(r) & size_mask(e.imm_size);
	if (rng_chance(r, 20)) /* make the operands meet: equal, or one zero */
		c->in.gpr[R_AX] = rng_chance(r, 50) ? (u64)sext(e.imm, e.imm_size) : 0;
	c->flags_strict = f->flags_def;
	c->flags_warn = FL_ARITH & ~f->flags_def;
	gen_finish(c, &e, base, NULL);
}

/* Sometimes makes the two ALU operands equal (ZF, borrow edges). */
static void fix_alu(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		    struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	unsigned size = f->size;

	if (e->imm_size || !rng_chance(r, 15) || gen_reg_is_addr(gi, gi->reg, size))
		return;
	gen_reg_set(c, gi->reg, size, gi->rex, gen_rm_get(c, base, gi, size));
}

/* DIV: mostly no #DE (divisor non-zero, high half below the divisor). */
static void fix_div(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		    struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	unsigned size = f->size;
	u64 m = size_mask(size), d = gen_rm_get(c, base, gi, size), hi;

	(void)e;
	if (d == 0 && rng_chance(r, 85)) {
		d = (rng_value(r) & m) | 1;
		gen_rm_set(c, base, gi, size, d);
		d = gen_rm_get(c, base, gi, size);
	}
	if (!rng_chance(r, 80) || d == 0)
		return;
	hi = (rng_next(r) & m) % d;
	if (size == 1)
		c->in.gpr[R_AX] = (c->in.gpr[R_AX] & ~0xff00ULL) | hi << 8;
	else
		gen_reg_set(c, R_DX, size, true, hi);
}

/* IDIV: mostly a dividend q * d + rem whose quotient q fits the size. */
static void fix_idiv(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		     struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	unsigned size = f->size, bits = 8 * size;
	u64 m = size_mask(size);
	s64 d = sext(gen_rm_get(c, base, gi, size), size), q, rem;
	__int128 n;

	(void)e;
	if (d == 0 && rng_chance(r, 85)) {
		gen_rm_set(c, base, gi, size, (rng_value(r) & m) | 1);
		d = sext(gen_rm_get(c, base, gi, size), size);
	}
	if (!rng_chance(r, 80) || d == 0)
		return;
	q = sext(rng_value(r), size);
	rem = (s64)(rng_next(r) % (d == INT64_MIN ? (u64)INT64_MAX : (u64)(d < 0 ? -d : d)));
	n = (__int128)q * d;
	n += n < 0 ? -(__int128)rem : (__int128)rem;
	if (size == 1) {
		c->in.gpr[R_AX] = (c->in.gpr[R_AX] & ~0xffffULL) | ((u64)n & 0xffff);
		return;
	}
	/* Either DX or AX may be the divisor itself; the CPU sees what we set. */
	gen_reg_set(c, R_AX, size, true, (u64)n & m);
	gen_reg_set(c, R_DX, size, true, (u64)(n >> bits) & m);
}

static void add_alu(struct form_list *l)
{
	for (unsigned op = 0; op < 8; op++) {
		u64 fl = (op == 1 || op == 4 || op == 6) ? LOGIC_FLAGS : FL_ARITH;
		bool lk = op != 7;
		for (unsigned s = 0; s < 4; s++) {
			unsigned size = sizes[s], w = size > 1, bits = 8 * size;
			struct oracle_form *f;

			f = form_add(l, gen_simple, "%s rm%u,r%u (%02x)", alu_names[op], bits, bits,
				     op * 8 + w);
			f->size = (u8)size, f->opc[0] = (u8)(op * 8 + w), f->nopc = 1;
			f->flags_def = fl, f->lockable = lk, f->fixup = fix_alu;
			f = form_add(l, gen_simple, "%s r%u,rm%u (%02x)", alu_names[op], bits, bits,
				     op * 8 + 2 + w);
			f->size = (u8)size, f->opc[0] = (u8)(op * 8 + 2 + w), f->nopc = 1;
			f->flags_def = fl, f->fixup = fix_alu;
			f = form_add(l, gen_acc, "%s %s,imm (%02x)", alu_names[op],
				     gen_reg_name(R_AX, size, false), op * 8 + 4 + w);
			f->size = (u8)size, f->opc[0] = (u8)(op * 8 + 4 + w), f->flags_def = fl;
			f = form_add(l, gen_simple, "%s rm%u,imm%u (%02x /%u)", alu_names[op], bits,
				     size == 8 ? 32 : bits, size == 1 ? 0x80 : 0x81, op);
			f->size = (u8)size, f->opc[0] = size == 1 ? 0x80 : 0x81, f->nopc = 1;
			f->digit = (s8)op, f->imm = (u8)(size == 8 ? 4 : size), f->flags_def = fl;
			f->lockable = lk;
			if (size == 1)
				continue;
			f = form_add(l, gen_simple, "%s rm%u,imm8 (83 /%u)", alu_names[op], bits,
				     op);
			f->size = (u8)size, f->opc[0] = 0x83, f->nopc = 1, f->digit = (s8)op;
			f->imm = 1, f->flags_def = fl, f->lockable = lk;
		}
	}
}

static void add_test_and_group3(struct form_list *l)
{
	static const char *const g3[8] = {"test", "test", "not", "neg",
					  "mul",  "imul", "div", "idiv"};
	static const u64 g3_flags[8] = {LOGIC_FLAGS,   LOGIC_FLAGS,   FL_ARITH, FL_ARITH,
					FL_CF | FL_OF, FL_CF | FL_OF, 0,        0};

	for (unsigned s = 0; s < 4; s++) {
		unsigned size = sizes[s], w = size > 1, bits = 8 * size;
		struct oracle_form *f;

		f = form_add(l, gen_simple, "test rm%u,r%u (%02x)", bits, bits, 0x84 + w);
		f->size = (u8)size, f->opc[0] = (u8)(0x84 + w), f->nopc = 1;
		f->flags_def = LOGIC_FLAGS, f->fixup = fix_alu;
		f = form_add(l, gen_acc, "test %s,imm (%02x)", gen_reg_name(R_AX, size, false),
			     0xa8 + w);
		f->size = (u8)size, f->opc[0] = (u8)(0xa8 + w), f->flags_def = LOGIC_FLAGS;
		for (unsigned op = 0; op < 8; op++) {
			f = form_add(l, gen_simple, "%s rm%u%s (%02x /%u%s)", g3[op], bits,
				     op < 2 ? ",imm" : "", 0xf6 + w, op, op == 1 ? ", alias" : "");
			f->size = (u8)size, f->opc[0] = (u8)(0xf6 + w), f->nopc = 1;
			f->digit = (s8)op, f->flags_def = g3_flags[op];
			f->lockable = op == 2 || op == 3;
			if (op < 2)
				f->imm = (u8)(size == 8 ? 4 : size);
			if (op >= 4)
				f->avoid = 1U << R_AX | 1U << R_DX;
			if (op == 6)
				f->fixup = fix_div;
			if (op == 7)
				f->fixup = fix_idiv;
		}
		for (unsigned op = 0; op < 2; op++) {
			f = form_add(l, gen_simple, "%s rm%u (%02x /%u)", op ? "dec" : "inc", bits,
				     0xfe + w, op);
			f->size = (u8)size, f->opc[0] = (u8)(0xfe + w), f->nopc = 1;
			f->digit = (s8)op, f->lockable = true;
		}
	}
}

static void add_imul(struct form_list *l)
{
	for (unsigned s = 1; s < 4; s++) {
		unsigned size = sizes[s], bits = 8 * size;
		struct oracle_form *f;

		f = form_add(l, gen_simple, "imul r%u,rm%u (0f af)", bits, bits);
		f->size = (u8)size, f->opc[0] = 0x0f, f->opc[1] = 0xaf, f->nopc = 2;
		f->flags_def = FL_CF | FL_OF;
		f = form_add(l, gen_simple, "imul r%u,rm%u,imm%u (69)", bits, bits,
			     size == 2 ? 16 : 32);
		f->size = (u8)size, f->opc[0] = 0x69, f->nopc = 1, f->imm = size == 2 ? 2 : 4;
		f->flags_def = FL_CF | FL_OF;
		f = form_add(l, gen_simple, "imul r%u,rm%u,imm8 (6b)", bits, bits);
		f->size = (u8)size, f->opc[0] = 0x6b, f->nopc = 1, f->imm = 1;
		f->flags_def = FL_CF | FL_OF;
	}
}

void forms_alu_register(struct form_list *l)
{
	add_alu(l);
	add_test_and_group3(l);
	add_imul(l);
}
