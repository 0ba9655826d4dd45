/* Oracle forms: flag instructions, LAHF/SAHF, the stack (PUSH POP PUSHF
 * POPF), branches (Jcc JMP CALL RET LOOP JRCXZ), opcodes that are #UD in
 * 64-bit mode, and the ADX/BMI1/BMI2 extensions (Intel SDM Vol. 2). */
#include <string.h>

#include "oracle/oracle.h"

#define SLOT 5 /* bytes an exit point needs (the native side's jmp rel32) */

enum {
	BR_JCC8,
	BR_JCC32,
	BR_JMP8,
	BR_JMP32,
	BR_CALL,
	BR_RET,
	BR_RETN,
	BR_JRCXZ,
	BR_LOOP,
	BR_LOOPE,
	BR_LOOPNE,
	BR_CALL_RM,
	BR_JMP_RM
};

/* POPF: a stack value with only the user-settable flags a CPL3 host and a
 * CPL0 guest treat alike (no IF, IOPL, TF, AC, NT). */
static void fix_popf(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		     struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	u64 v = 2 | (rng_next(r) & (FL_ARITH | FL_DF | (f->size == 8 ? FL_ID : 0)));

	(void)e;
	(void)gi;
	gen_mem_set(c, base, c->in.gpr[R_SP], f->size, v);
	c->flags_strict = FL_ARITH | FL_DF | (f->size == 8 ? FL_ID : 0);
}

/* PUSHF stores IF=1 natively and IF=0 in the guest: ignore that bit. */
static void fix_pushf(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		      struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	(void)r;
	(void)e;
	(void)gi;
	c->mem_ign_off = (int)(c->in.gpr[R_SP] - f->size - base - OR_MEM);
	c->mem_ign_bits = FL_IF;
}

/* LEAVE/ENTER: RBP in the stack area (ENTER's nesting copies [RBP-8*i]). */
static void fix_frame(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		      struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	(void)gi;
	c->in.gpr[R_BP] = base + OR_STACK + 0x700 + rng_below(r, 0x200);
	if (f->opc[0] == 0xc8) /* ENTER size, level: a small frame, nesting 0-4 or any */
		e->imm = rng_below(r, 64) |
			 (u64)(rng_chance(r, 80) ? rng_below(r, 5) : rng_below(r, 256)) << 16;
	if (f->opc[0] == 0xc9 && f->size == 2) /* LEAVE o16 pops BP from [RBP] */
		c->in.gpr[R_BP] &= ~1ULL;
}

/* XLAT: AL = [RBX + AL] (with 67: [EBX + AL]). */
static void fix_xlat(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		     struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	u64 p = base + OR_DATA + rng_below(r, OR_DATA_SIZE - 256);

	(void)gi;
	if (f->kind == 4) {
		e->pfx[e->npfx++] = 0x67;
		p |= rng_next(r) << 32;
	}
	c->in.gpr[R_BX] = p;
}

static void add_frame_misc(struct form_list *l)
{
	struct oracle_form *f;

	for (unsigned size = 2; size <= 8; size += 6) {
		f = form_add(l, gen_plain, "leave o%u (c9)", 8 * size);
		f->size = (u8)size, f->opc[0] = 0xc9, f->nopc = 1, f->fixup = fix_frame;
		f = form_add(l, gen_plain, "enter imm16,imm8 o%u (c8)", 8 * size);
		f->size = (u8)size, f->opc[0] = 0xc8, f->nopc = 1, f->imm = 3, f->fixup = fix_frame;
	}
	for (unsigned a = 4; a <= 8; a += 4) {
		f = form_add(l, gen_plain, "xlat (%sd7)", a == 4 ? "67 " : "");
		f->size = 4, f->opc[0] = 0xd7, f->nopc = 1, f->kind = (u8)a, f->fixup = fix_xlat;
	}
	f = form_add(l, gen_plain, "int3 (cc)");
	f->size = 4, f->opc[0] = 0xcc, f->nopc = 1;
	f = form_add(l, gen_plain, "pause (f3 90)");
	f->size = 4, f->pfx = 0xf3, f->opc[0] = 0x90, f->nopc = 1;
	static const char *const fence[3] = {"lfence", "mfence", "sfence"};
	for (unsigned i = 0; i < 3; i++) {
		f = form_add(l, gen_plain, "%s (0f ae %02x)", fence[i], 0xe8 + 8 * i);
		f->size = 4, f->opc[0] = 0x0f, f->opc[1] = 0xae, f->opc[2] = (u8)(0xe8 + 8 * i);
		f->nopc = 3;
	}
	/* Hints never fault, even on an unmapped or non-canonical address. */
	f = form_add(l, gen_simple, "prefetch/nop hint m8 (0f 18 /r)");
	f->size = 4, f->opc[0] = 0x0f, f->opc[1] = 0x18, f->nopc = 2, f->rm = RM_MEM;
	f->mem_size = 1;
	f = form_add(l, gen_simple, "clflush m8 (0f ae /7)");
	f->size = 4, f->opc[0] = 0x0f, f->opc[1] = 0xae, f->nopc = 2, f->digit = 7;
	f->rm = RM_MEM, f->mem_size = 1;
}

static void add_flags_stack(struct form_list *l)
{
	static const struct {
		const char *name;
		u8 op;
	} fl[] = {{"clc", 0xf8}, {"stc", 0xf9}, {"cmc", 0xf5},
		  {"cld", 0xfc}, {"std", 0xfd}, {"nop", 0x90}};
	struct oracle_form *f;

	for (unsigned i = 0; i < ARRAY_SIZE(fl); i++) {
		f = form_add(l, gen_plain, "%s (%02x)", fl[i].name, fl[i].op);
		f->size = 4, f->opc[0] = fl[i].op, f->nopc = 1;
	}
	for (unsigned size = 2; size <= 8; size *= 2) {
		f = form_add(l, gen_simple, "nop rm%u (0f 1f /0)", 8 * size);
		f->size = (u8)size, f->opc[0] = 0x0f, f->opc[1] = 0x1f, f->nopc = 2, f->digit = 0;
	}
	f = form_add(l, gen_plain, "lahf (9f)");
	f->size = 4, f->opc[0] = 0x9f, f->nopc = 1, f->feature = FEAT_LAHF64;
	f = form_add(l, gen_plain, "sahf (9e)");
	f->size = 4, f->opc[0] = 0x9e, f->nopc = 1, f->feature = FEAT_LAHF64;
	for (unsigned size = 2; size <= 8; size += 6) {
		unsigned bits = 8 * size;
		f = form_add(l, gen_plain, "push r%u (50+r)", bits);
		f->size = (u8)size, f->opc[0] = 0x50, f->nopc = 1, f->kind = 1;
		f = form_add(l, gen_plain, "pop r%u (58+r)", bits);
		f->size = (u8)size, f->opc[0] = 0x58, f->nopc = 1, f->kind = 1;
		f = form_add(l, gen_plain, "push imm8 o%u (6a)", bits);
		f->size = (u8)size, f->opc[0] = 0x6a, f->nopc = 1, f->imm = 1;
		f = form_add(l, gen_plain, "push imm%u o%u (68)", size == 2 ? 16 : 32, bits);
		f->size = (u8)size, f->opc[0] = 0x68, f->nopc = 1, f->imm = size == 2 ? 2 : 4;
		f = form_add(l, gen_simple, "push rm%u (ff /6)", bits);
		f->size = (u8)size, f->opc[0] = 0xff, f->nopc = 1, f->digit = 6;
		f->avoid = 1U << R_SP;
		f = form_add(l, gen_simple, "pop rm%u (8f /0)", bits);
		f->size = (u8)size, f->opc[0] = 0x8f, f->nopc = 1, f->digit = 0;
		f->avoid = 1U << R_SP;
		f = form_add(l, gen_plain, "pushf o%u (9c)", bits);
		f->size = (u8)size, f->opc[0] = 0x9c, f->nopc = 1, f->fixup = fix_pushf;
		f = form_add(l, gen_plain, "popf o%u (9d)", bits);
		f->size = (u8)size, f->opc[0] = 0x9d, f->nopc = 1, f->fixup = fix_popf;
	}
}

/* A branch target offset (from OR_INSN) clear of the instruction and of the
 * fall-through exit slot, reachable with rel8. */
static int pick_target(struct oracle_rng *r, unsigned len)
{
	if (rng_chance(r, 50))
		return -(int)SLOT - (int)rng_below(r, 110);
	return (int)(len + SLOT + rng_below(r, 110));
}

static void gen_branch(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		       struct oracle_case *c)
{
	static const u8 op8[] = {
	    [BR_JRCXZ] = 0xe3, [BR_LOOP] = 0xe2, [BR_LOOPE] = 0xe1, [BR_LOOPNE] = 0xe0};
	struct gen_info gi;
	struct enc e;
	unsigned cc = rng_below(r, 16), len;
	u64 insn = base + OR_INSN;
	int t;

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	switch (f->kind) {
	case BR_JCC8:
	case BR_JMP8:
	case BR_JRCXZ:
	case BR_LOOP:
	case BR_LOOPE:
	case BR_LOOPNE:
		if (f->size == 4)
			e.pfx[e.npfx++] = 0x67; /* ECX instead of RCX */
		e.opc[0] = f->kind == BR_JCC8   ? (u8)(0x70 + cc)
			   : f->kind == BR_JMP8 ? 0xeb
						: op8[f->kind];
		e.nopc = 1;
		e.imm_size = 1;
		if (f->kind >= BR_JRCXZ && rng_chance(r, 60))
			c->in.gpr[R_CX] =
			    (c->in.gpr[R_CX] & (rng_chance(r, 50) ? ~0ULL << 32 : 0)) |
			    rng_below(r, 3);
		break;
	case BR_JCC32:
		e.opc[0] = 0x0f, e.opc[1] = (u8)(0x80 + cc), e.nopc = 2, e.imm_size = 4;
		break;
	case BR_JMP32:
	case BR_CALL:
		e.opc[0] = f->kind == BR_CALL ? 0xe8 : 0xe9, e.nopc = 1, e.imm_size = 4;
		break;
	case BR_RET:
	case BR_RETN:
		e.opc[0] = f->kind == BR_RET ? 0xc3 : 0xc2, e.nopc = 1;
		e.imm_size = f->kind == BR_RETN ? 2 : 0;
		e.imm = rng_below(r, 80);
		break;
	default: /* CALL/JMP r/m64 (ff /2, ff /4): never through RSP itself */
		gen_modrm(r, base, c, &e, 4, RM_ANY, f->kind == BR_CALL_RM ? 2 : 4, 1U << R_SP, 8,
			  &gi);
		if (!e.mem && e.rm == R_SP)
			e.rm = gi.rm = R_BX;
		e.opc[0] = 0xff, e.nopc = 1;
		break;
	}
	if (f->kind == BR_JCC8 || f->kind == BR_JCC32)
		gen_note(c, "condition %x", cc);
	enc_emit(&e, insn, c); /* for the length */
	len = c->len;
	t = pick_target(r, len);
	if (e.imm_size == 1 || e.imm_size == 4)
		e.imm = (u64)(s64)(t - (int)len) & (e.imm_size == 1 ? 0xff : 0xffffffff);
	if (f->kind == BR_RET || f->kind == BR_RETN)
		gen_mem_set(c, base, c->in.gpr[R_SP], 8, insn + (u64)(s64)t);
	if (f->kind >= BR_CALL_RM)
		gen_rm_set(c, base, &gi, 8, insn + (u64)(s64)t);
	gen_finish(c, &e, base, f->kind >= BR_CALL_RM ? &gi : NULL);
	c->nexits = 2;
	c->exit_off[1] = t;
}

static void add_branches(struct form_list *l)
{
	static const struct {
		const char *name;
		unsigned kind, size;
	} br[] = {
	    {"jcc rel8 (70+cc)", BR_JCC8, 8},   {"jcc rel32 (0f 80+cc)", BR_JCC32, 8},
	    {"jmp rel8 (eb)", BR_JMP8, 8},      {"jmp rel32 (e9)", BR_JMP32, 8},
	    {"call rel32 (e8)", BR_CALL, 8},    {"ret (c3)", BR_RET, 8},
	    {"ret imm16 (c2)", BR_RETN, 8},     {"jrcxz (e3)", BR_JRCXZ, 8},
	    {"jecxz (67 e3)", BR_JRCXZ, 4},     {"loop rcx (e2)", BR_LOOP, 8},
	    {"loop ecx (67 e2)", BR_LOOP, 4},   {"loope (e1)", BR_LOOPE, 8},
	    {"loopne (e0)", BR_LOOPNE, 8},      {"call rm64 (ff /2)", BR_CALL_RM, 8},
	    {"jmp rm64 (ff /4)", BR_JMP_RM, 8},
	};

	for (unsigned i = 0; i < ARRAY_SIZE(br); i++) {
		struct oracle_form *f = form_add(l, gen_branch, "%s", br[i].name);
		f->kind = (u8)br[i].kind, f->size = (u8)br[i].size;
	}
}

/* Opcodes that raise #UD in 64-bit mode (Intel SDM Vol. 2 Appendix A.2.5,
 * "i64"), UD0/UD1/UD2, LOCK where it is not allowed, LEA with a register. */
static void gen_ud(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		   struct oracle_case *c)
{
	gen_base_state(r, base, c);
	memcpy(c->code, f->opc, f->nopc);
	c->len = f->nopc;
	/* Bytes that complete a ModRM/immediate if the decoder wants them. */
	for (unsigned i = 0; i < 6; i++)
		c->code[c->len++] = (u8)(0xc0 + rng_below(r, 64));
	c->nexits = 1;
	c->exit_off[0] = (int)c->len;
}

static void add_ud(struct form_list *l)
{
	static const struct {
		const char *name;
		u8 b[3];
		u8 n;
	} ud[] = {
	    {"push es", {0x06}, 1},
	    {"pop es", {0x07}, 1},
	    {"push cs", {0x0e}, 1},
	    {"push ss", {0x16}, 1},
	    {"pop ss", {0x17}, 1},
	    {"push ds", {0x1e}, 1},
	    {"pop ds", {0x1f}, 1},
	    {"daa", {0x27}, 1},
	    {"das", {0x2f}, 1},
	    {"aaa", {0x37}, 1},
	    {"aas", {0x3f}, 1},
	    {"pusha", {0x60}, 1},
	    {"popa", {0x61}, 1},
	    {"grp1 82", {0x82}, 1},
	    {"call far", {0x9a}, 1},
	    {"into", {0xce}, 1},
	    {"aam", {0xd4}, 1},
	    {"aad", {0xd5}, 1},
	    {"salc", {0xd6}, 1},
	    {"jmp far", {0xea}, 1},
	    {"ud2", {0x0f, 0x0b}, 2},
	    {"ud1", {0x0f, 0xb9}, 2},
	    {"ud0", {0x0f, 0xff}, 2},
	    {"lock nop", {0xf0, 0x90}, 2},
	    {"lock mov", {0xf0, 0x89}, 2},
	    {"lock add reg", {0xf0, 0x01}, 2},
	    {"lea reg,reg", {0x8d}, 1},
	    {"lock cmp mem", {0xf0, 0x39, 0x03}, 3},
	};

	for (unsigned i = 0; i < ARRAY_SIZE(ud); i++) {
		struct oracle_form *f = form_add(l, gen_ud, "#UD %s (%02x%s)", ud[i].name,
						 ud[i].b[0], ud[i].n > 1 ? " ..." : "");
		memcpy(f->opc, ud[i].b, 3);
		f->nopc = ud[i].n;
	}
}

/* VEX-encoded GPR instructions (BMI1/BMI2): kind bit 0: ModRM.reg is the
 * destination and vvvv a source; arg: opcode map (2 = 0F38, 3 = 0F3A). */
static void fix_vex(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		    struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	(void)base;
	e->vex = true;
	e->vex_map = f->arg;
	e->vex_pp = f->kind;
	e->vex_w = f->size == 8;
	e->vex_v = rng_below(r, 16);
	e->rex_w = false;
	e->npfx = 0; /* no 66 with VEX */
	/* BEXTR/BZHI control: small start/length bytes */
	if (rng_chance(r, 50) && !gen_reg_is_addr(gi, e->vex_v, 8))
		c->in.gpr[e->vex_v] =
		    (c->in.gpr[e->vex_v] & ~0xffffULL) | rng_below(r, 72) | rng_below(r, 72) << 8;
}

static void add_ext(struct form_list *l)
{
	static const struct {
		const char *name;
		u8 pp, map, op;
		s8 digit;
		u64 flags;
		enum oracle_feature feat;
		u8 imm;
	} vex[] = {
	    {"andn", 0, 2, 0xf2, -1, FL_SF | FL_ZF | FL_CF | FL_OF, FEAT_BMI1, 0},
	    {"bextr", 0, 2, 0xf7, -1, FL_ZF | FL_CF | FL_OF, FEAT_BMI1, 0},
	    {"blsr", 0, 2, 0xf3, 1, FL_SF | FL_ZF | FL_CF | FL_OF, FEAT_BMI1, 0},
	    {"blsmsk", 0, 2, 0xf3, 2, FL_SF | FL_ZF | FL_CF | FL_OF, FEAT_BMI1, 0},
	    {"blsi", 0, 2, 0xf3, 3, FL_SF | FL_ZF | FL_CF | FL_OF, FEAT_BMI1, 0},
	    {"bzhi", 0, 2, 0xf5, -1, FL_SF | FL_ZF | FL_CF | FL_OF, FEAT_BMI2, 0},
	    {"pdep", 3, 2, 0xf5, -1, FL_ARITH, FEAT_BMI2, 0},
	    {"pext", 2, 2, 0xf5, -1, FL_ARITH, FEAT_BMI2, 0},
	    {"mulx", 3, 2, 0xf6, -1, FL_ARITH, FEAT_BMI2, 0},
	    {"sarx", 2, 2, 0xf7, -1, FL_ARITH, FEAT_BMI2, 0},
	    {"shlx", 1, 2, 0xf7, -1, FL_ARITH, FEAT_BMI2, 0},
	    {"shrx", 3, 2, 0xf7, -1, FL_ARITH, FEAT_BMI2, 0},
	    {"rorx", 3, 3, 0xf0, -1, FL_ARITH, FEAT_BMI2, 1},
	};
	struct oracle_form *f;

	for (unsigned size = 4; size <= 8; size += 4) {
		for (unsigned i = 0; i < ARRAY_SIZE(vex); i++) {
			f = form_add(l, gen_simple, "%s r%u (vex %s %02x%s)", vex[i].name, 8 * size,
				     vex[i].map == 2 ? "0f38" : "0f3a", vex[i].op,
				     vex[i].digit >= 0 ? " /d" : "");
			f->size = (u8)size, f->opc[0] = vex[i].op, f->nopc = 1;
			f->digit = vex[i].digit, f->flags_def = vex[i].flags;
			f->feature = vex[i].feat, f->fixup = fix_vex, f->imm = vex[i].imm;
			f->kind = vex[i].pp, f->arg = vex[i].map;
			if (!strcmp(vex[i].name, "mulx"))
				f->avoid = 1U << R_DX;
		}
		f = form_add(l, gen_simple, "adcx r%u,rm%u (66 0f 38 f6)", 8 * size, 8 * size);
		f->size = (u8)size, f->pfx = 0x66, f->opc[0] = 0x0f, f->opc[1] = 0x38;
		f->opc[2] = 0xf6, f->nopc = 3, f->feature = FEAT_ADX;
		f = form_add(l, gen_simple, "adox r%u,rm%u (f3 0f 38 f6)", 8 * size, 8 * size);
		f->size = (u8)size, f->pfx = 0xf3, f->opc[0] = 0x0f, f->opc[1] = 0x38;
		f->opc[2] = 0xf6, f->nopc = 3, f->feature = FEAT_ADX;
	}
}

void forms_misc_register(struct form_list *l)
{
	add_flags_stack(l);
	add_frame_misc(l);
	add_branches(l);
	add_ud(l);
	add_ext(l);
}
