/* Oracle forms: shifts and rotates (by 1, CL, imm8), SHLD/SHRD, the bit
 * tests BT BTS BTR BTC, the bit scans BSF BSR TZCNT LZCNT POPCNT, and BSWAP
 * (Intel SDM Vol. 2 "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "BT", "BSF"). */
#include <string.h>

#include "oracle/oracle.h"

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL6, SH_SAR };
enum { CNT_1, CNT_CL, CNT_IMM };

static const char *const sh_names[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
static const unsigned sizes[4] = {1, 2, 4, 8};

/* A shift count: mostly interesting small values, sometimes any byte. */
static unsigned pick_count(struct oracle_rng *r, unsigned bits)
{
	switch (rng_below(r, 4)) {
	case 0:
		return rng_below(r, 3);
	case 1:
		return bits - 1 + rng_below(r, 3);
	case 2:
		return (unsigned)(rng_next(r) & 0xff);
	default:
		return rng_below(r, bits + 1);
	}
}

/* Which flags the SDM defines for this shift/rotate and masked count. */
static void shift_flags(struct oracle_case *c, unsigned op, unsigned size, unsigned count)
{
	unsigned bits = 8 * size, n = count & (size == 8 ? 63 : 31);
	u64 def;

	if (n == 0) {
		def = FL_ARITH; /* flags unaffected */
	} else if (op <= SH_RCR) {
		/* Rotates touch only CF and OF; OF only for 1-bit rotates. */
		def = FL_ARITH & ~(n == 1 ? 0 : FL_OF);
	} else {
		def = FL_ARITH & ~FL_AF & ~(n == 1 ? 0 : FL_OF);
		/* CF is undefined for SHL/SHR counts >= the operand size. */
		if (op != SH_SAR && n >= bits)
			def &= ~FL_CF;
	}
	c->flags_strict = def;
	c->flags_warn = FL_ARITH & ~def;
}

static void fix_shift(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		      struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	unsigned count = 1;

	(void)base;
	(void)gi;
	if (f->kind == CNT_CL) {
		count = pick_count(r, 8 * f->size);
		c->in.gpr[R_CX] = (c->in.gpr[R_CX] & ~0xffULL) | count;
	} else if (f->kind == CNT_IMM) {
		count = pick_count(r, 8 * f->size);
		e->imm = count;
	}
	shift_flags(c, (unsigned)f->digit, f->size, count);
}

static void fix_shxd(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		     struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	unsigned bits = 8 * f->size, count = pick_count(r, bits), n;
	u64 def;

	(void)base;
	(void)gi;
	/* 16-bit counts above 16 give undefined results: not generated. */
	if (f->size == 2 && (count & 31) > 16)
		count &= 15;
	if (f->kind == CNT_CL)
		c->in.gpr[R_CX] = (c->in.gpr[R_CX] & ~0xffULL) | count;
	else
		e->imm = count;
	n = count & (f->size == 8 ? 63 : 31);
	def = n == 0 ? FL_ARITH : FL_ARITH & ~FL_AF & ~(n == 1 ? 0 : FL_OF);
	c->flags_strict = def;
	c->flags_warn = FL_ARITH & ~def;
}

/* BT* r/m, reg: a memory operand's bit offset is a signed register value
 * that may reach outside the operand: keep it within the data margin. */
static void fix_bt(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		   struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	(void)base;
	(void)e;
	if (f->kind != 1 || !gi->mem)
		return;
	s64 off = (s64)rng_below(r, 2 * 8 * 40) - 8 * 40;
	if (rng_chance(r, 30))
		off = (s64)rng_below(r, 8 * f->size);
	gen_reg_set(c, gi->reg, 8, true, (u64)off);
}

/* Source operands with zeros and single bits; bsf: BSF/BSR semantics. */
static void scan_inputs(struct oracle_rng *r, u64 base, struct oracle_case *c,
			const struct gen_info *gi, unsigned size, bool bsf)
{
	u64 src;

	if (rng_chance(r, 20))
		gen_rm_set(c, base, gi, size, 0);
	else if (rng_chance(r, 20))
		gen_rm_set(c, base, gi, size, 1ULL << rng_below(r, 8 * size));
	src = gen_rm_get(c, base, gi, size);
	/* BSF/BSR of zero: "the content of the destination is undefined". */
	if (bsf && src == 0)
		c->gpr_warn |= 1U << gi->reg;
}

static void fix_scan(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		     struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	(void)e;
	scan_inputs(r, base, c, gi, f->size, f->kind == 1);
}

/* F3 0F BC is TZCNT only on a CPU whose CPUID announces BMI1, F3 0F BD is
 * LZCNT only on one that announces LZCNT (CPUID.80000001H:ECX[5]); on any
 * other the prefix is ignored and they run as BSF/BSR (SDM Vol. 2B "TZCNT",
 * "LZCNT"; APM Vol. 3 "TZCNT", "LZCNT"). The engine runs the case's bytes;
 * the host stands in for the modelled CPU, so for a model without the
 * feature it runs the same instruction without the F3 (0F BC/BD, padded
 * with a NOP to the same length), whatever it makes of the F3 form. */
static void fix_f3_scan(const struct oracle_form *f, struct oracle_rng *r, u64 base,
			struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	const bool tz = f->opc[1] == 0xbc;
	const enum oracle_feature feat = tz ? FEAT_BMI1 : FEAT_LZCNT;
	const u64 bit = 1ULL << feat;
	struct enc bsx = *e;
	unsigned len;

	if (c->model_features & bit) {
		scan_inputs(r, base, c, gi, f->size, false);
		if (!(c->host_features & bit))
			gen_note(c, "the model has %s and this host has not: it cannot stand in",
				 oracle_feature_name(feat));
		return;
	}
	scan_inputs(r, base, c, gi, f->size, true);
	c->flags_strict = FL_ZF;
	c->flags_warn = FL_ARITH & ~FL_ZF;
	bsx.npfx = 0;
	for (unsigned i = 0; i < e->npfx; i++)
		if (e->pfx[i] != 0xf3)
			bsx.pfx[bsx.npfx++] = e->pfx[i];
	enc_emit(e, base + OR_INSN, c);
	len = c->len;
	enc_emit(&bsx, base + OR_INSN, c); /* RIP-relative: from its own end */
	memcpy(c->native_code, c->code, c->len);
	memset(c->native_code + c->len, 0x90, len - c->len);
	c->native_alt = true;
	gen_note(c, "the model has no %s: %s", oracle_feature_name(feat), tz ? "bsf" : "bsr");
}

static void add_shifts(struct form_list *l)
{
	static const u8 opc[3][2] = {{0xd0, 0xd1}, {0xd2, 0xd3}, {0xc0, 0xc1}};
	static const char *const cnt[3] = {"1", "cl", "imm8"};

	for (unsigned op = 0; op < 8; op++) {
		for (unsigned k = 0; k < 3; k++) {
			for (unsigned s = 0; s < 4; s++) {
				unsigned size = sizes[s];
				struct oracle_form *f;

				f = form_add(l, gen_simple, "%s rm%u,%s (%02x /%u%s)", sh_names[op],
					     8 * size, cnt[k], opc[k][size > 1], op,
					     op == SH_SAL6 ? ", alias" : "");
				f->size = (u8)size, f->opc[0] = opc[k][size > 1], f->nopc = 1;
				f->digit = (s8)op, f->kind = (u8)k, f->fixup = fix_shift;
				f->imm = k == CNT_IMM ? 1 : 0;
				f->avoid = k == CNT_CL ? 1U << R_CX : 0;
			}
		}
	}
}

static void add_shxd(struct form_list *l)
{
	for (unsigned s = 1; s < 4; s++) {
		unsigned size = sizes[s];
		for (unsigned right = 0; right < 2; right++) {
			for (unsigned k = CNT_CL; k <= CNT_IMM; k++) {
				u8 op = (u8)((right ? 0xac : 0xa4) + (k == CNT_CL));
				struct oracle_form *f;

				f = form_add(l, gen_simple, "%s rm%u,r%u,%s (0f %02x)",
					     right ? "shrd" : "shld", 8 * size, 8 * size,
					     k == CNT_CL ? "cl" : "imm8", op);
				f->size = (u8)size, f->opc[0] = 0x0f, f->opc[1] = op, f->nopc = 2;
				f->kind = (u8)k, f->fixup = fix_shxd, f->imm = k == CNT_IMM;
				f->avoid = k == CNT_CL ? 1U << R_CX : 0;
			}
		}
	}
}

static void add_bits(struct form_list *l)
{
	static const char *const bt[4] = {"bt", "bts", "btr", "btc"};
	static const struct {
		const char *name;
		u8 pfx, op, kind;
		u64 flags;
		enum oracle_feature feat;
		oracle_fixup_fn *fixup;
	} scans[] = {
	    {"bsf", 0, 0xbc, 1, FL_ZF, FEAT_NONE, fix_scan},
	    {"bsr", 0, 0xbd, 1, FL_ZF, FEAT_NONE, fix_scan},
	    /* run on every model: TZCNT or BSF, LZCNT or BSR (fix_f3_scan) */
	    {"tzcnt", 0xf3, 0xbc, 2, FL_ZF | FL_CF, FEAT_NONE, fix_f3_scan},
	    {"lzcnt", 0xf3, 0xbd, 2, FL_ZF | FL_CF, FEAT_NONE, fix_f3_scan},
	    {"popcnt", 0xf3, 0xb8, 2, FL_ARITH, FEAT_POPCNT, fix_scan},
	};

	for (unsigned s = 1; s < 4; s++) {
		unsigned size = sizes[s], bits = 8 * size;
		struct oracle_form *f;

		for (unsigned op = 0; op < 4; op++) {
			f = form_add(l, gen_simple, "%s rm%u,r%u (0f %02x)", bt[op], bits, bits,
				     0xa3 + 8 * op);
			f->size = (u8)size, f->opc[0] = 0x0f, f->opc[1] = (u8)(0xa3 + 8 * op);
			f->nopc = 2, f->kind = 1, f->fixup = fix_bt, f->avoid_reg = true;
			f->flags_def = FL_CF | FL_ZF, f->lockable = op != 0;
			f = form_add(l, gen_simple, "%s rm%u,imm8 (0f ba /%u)", bt[op], bits,
				     4 + op);
			f->size = (u8)size, f->opc[0] = 0x0f, f->opc[1] = 0xba, f->nopc = 2;
			f->digit = (s8)(4 + op), f->imm = 1, f->flags_def = FL_CF | FL_ZF;
			f->lockable = op != 0;
		}
		for (unsigned i = 0; i < ARRAY_SIZE(scans); i++) {
			f = form_add(l, gen_simple, "%s r%u,rm%u (%s0f %02x)", scans[i].name, bits,
				     bits, scans[i].pfx ? "f3 " : "", scans[i].op);
			f->size = (u8)size, f->pfx = scans[i].pfx, f->opc[0] = 0x0f;
			f->opc[1] = scans[i].op, f->nopc = 2, f->kind = scans[i].kind;
			f->fixup = scans[i].fixup, f->flags_def = scans[i].flags;
			f->feature = scans[i].feat;
		}
	}
}

/* BSWAP r32/r64 (0f c8+r); the 16-bit form is undefined and not tested. */
static void gen_bswap(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		      struct oracle_case *c)
{
	struct enc e;

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	e.rex_w = f->size == 8;
	e.rm = rng_below(r, 16);
	e.rex_force = rng_chance(r, 20);
	e.opc[0] = 0x0f;
	e.opc[1] = (u8)(0xc8 + (e.rm & 7));
	e.nopc = 2;
	gen_finish(c, &e, base, NULL);
}

void forms_shift_register(struct form_list *l)
{
	struct oracle_form *f;

	add_shifts(l);
	add_shxd(l);
	add_bits(l);
	f = form_add(l, gen_bswap, "bswap r32 (0f c8+r)");
	f->size = 4;
	f = form_add(l, gen_bswap, "bswap r64 (rex.w 0f c8+r)");
	f->size = 8;
}
