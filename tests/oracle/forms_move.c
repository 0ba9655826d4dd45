/* Oracle forms: data movement: MOV (all encodings incl. moffs and imm64),
 * MOVZX MOVSX MOVSXD, CBW/CWDE/CDQE, CWD/CDQ/CQO, XCHG, XADD, CMPXCHG,
 * CMPXCHG8B/16B, CMOVcc, SETcc, LEA, MOVBE (Intel SDM Vol. 2). */
#include <string.h>

#include "oracle/oracle.h"

static const unsigned sizes[4] = {1, 2, 4, 8};
static const char *const cc_names[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
					 "s", "ns", "p", "np", "l", "ge", "le", "g"};

static u64 size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

void gen_plain(const struct oracle_form *f, struct oracle_rng *r, u64 base, struct oracle_case *c)
{
	struct enc e;

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	if (f->pfx)
		e.pfx[e.npfx++] = f->pfx;
	if (f->size == 2)
		e.pfx[e.npfx++] = 0x66;
	e.rex_w = f->size == 8;
	e.rex_force = rng_chance(r, 15);
	memcpy(e.opc, f->opc, f->nopc);
	e.nopc = f->nopc;
	if (f->kind == 1) {
		e.rm = rng_below(r, 16);
		e.opc[e.nopc - 1] = (u8)(e.opc[e.nopc - 1] + (e.rm & 7));
		gen_note(c, "register %s",
			 gen_reg_name(e.rm, f->size, e.rex_force || e.rm >= 8 || e.rex_w));
	}
	e.imm_size = f->imm;
	e.imm = rng_value(r) & size_mask(f->imm);
	c->flags_strict = f->flags_def;
	c->flags_warn = FL_ARITH & ~f->flags_def;
	if (f->fixup)
		f->fixup(f, r, base, c, &e, NULL);
	gen_finish(c, &e, base, NULL);
}

/* MOV AL/AX/EAX/RAX <-> moffs (a0-a3): a 64-bit (or, with 67, 32-bit) address. */
static void gen_moffs(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		      struct oracle_case *c)
{
	struct enc e;
	bool a32 = rng_chance(r, 25);

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	if (a32)
		e.pfx[e.npfx++] = 0x67;
	if (f->size == 2)
		e.pfx[e.npfx++] = 0x66;
	e.rex_w = f->size == 8;
	e.opc[0] = f->opc[0];
	e.nopc = 1;
	e.imm = gen_data_ea(r, base, f->size, 16);
	e.imm_size = a32 ? 4 : 8;
	gen_note(c, "moffs%s data+0x%llx", a32 ? "32" : "64",
		 (unsigned long long)(e.imm - base - OR_DATA));
	gen_finish(c, &e, base, NULL);
}

static void fix_cc(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		   struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	unsigned cc = rng_below(r, 16);

	(void)f;
	(void)base;
	(void)gi;
	e->opc[e->nopc - 1] = (u8)((e->opc[e->nopc - 1] & 0xf0) | cc);
	gen_note(c, "condition %s", cc_names[cc]);
}

/* CMPXCHG: half the time the accumulator equals the destination. */
static void fix_cmpxchg(const struct oracle_form *f, struct oracle_rng *r, u64 base,
			struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	(void)e;
	if (rng_chance(r, 50))
		gen_reg_set(c, R_AX, f->size, true, gen_rm_get(c, base, gi, f->size));
}

/* CMPXCHG8B/16B: half the time rDX:rAX equals the memory operand. */
static void fix_cmpxchg_wide(const struct oracle_form *f, struct oracle_rng *r, u64 base,
			     struct oracle_case *c, struct enc *e, struct gen_info *gi)
{
	unsigned half = f->mem_size / 2;

	(void)e;
	if (!rng_chance(r, 50))
		return;
	gen_reg_set(c, R_AX, half, true, gen_mem_get(c, base, gi->ea, half));
	gen_reg_set(c, R_DX, half, true, gen_mem_get(c, base, gi->ea + half, half));
}

/* LEA with any base/index/scale/displacement: nothing is accessed, so the
 * registers keep their random values (kind: address size 4 or 8). */
static void gen_lea(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		    struct oracle_case *c)
{
	struct enc e;
	struct gen_info gi;

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	gen_modrm(r, base, c, &e, f->size, RM_MEM, rng_below(r, 16), 0, 1, &gi);
	e.opc[0] = 0x8d;
	e.nopc = 1;
	e.m.no_access = true;
	e.m.addr32 = f->kind == 4;
	if (!e.m.rip_rel && rng_chance(r, 50)) {
		/* Re-randomize the address registers: LEA is pure arithmetic. */
		if (e.m.base >= 0)
			c->in.gpr[e.m.base] = rng_value(r);
		if (e.m.index >= 0)
			c->in.gpr[e.m.index] = rng_value(r);
		if (e.m.disp_size)
			e.m.disp = e.m.disp_size == 1 ? (s8)rng_next(r) : (s32)rng_next(r);
	}
	gen_finish(c, &e, base, &gi);
}

static struct oracle_form *add_rm(struct form_list *l, unsigned size, u8 o0, u8 o1, u8 o2,
				  unsigned nopc, const char *fmt, unsigned a, unsigned b)
{
	struct oracle_form *f = form_add(l, gen_simple, fmt, a, b);

	f->size = (u8)size;
	f->opc[0] = o0, f->opc[1] = o1, f->opc[2] = o2, f->nopc = (u8)nopc;
	f->flags_def = FL_ARITH;
	return f;
}

static void add_mov(struct form_list *l)
{
	struct oracle_form *f;

	for (unsigned s = 0; s < 4; s++) {
		unsigned size = sizes[s], w = size > 1, bits = 8 * size;

		add_rm(l, size, (u8)(0x88 + w), 0, 0, 1, "mov rm%u,r%u (88/89)", bits, bits);
		add_rm(l, size, (u8)(0x8a + w), 0, 0, 1, "mov r%u,rm%u (8a/8b)", bits, bits);
		f = add_rm(l, size, (u8)(0xc6 + w), 0, 0, 1, "mov rm%u,imm%u (c6/c7 /0)", bits,
			   size == 8 ? 32 : bits);
		f->digit = 0, f->imm = (u8)(size == 8 ? 4 : size);
		f = form_add(l, gen_plain, "mov r%u,imm%u (%s+r)", bits, bits, w ? "b8" : "b0");
		f->size = (u8)size, f->opc[0] = w ? 0xb8 : 0xb0, f->nopc = 1, f->kind = 1;
		f->imm = (u8)size;
		for (unsigned store = 0; store < 2; store++) {
			f = form_add(l, gen_moffs, "mov %s (%02x, moffs)",
				     store ? "moffs,acc" : "acc,moffs", 0xa0 + 2 * store + w);
			f->size = (u8)size, f->opc[0] = (u8)(0xa0 + 2 * store + w);
		}
	}
}

static void add_extend(struct form_list *l)
{
	struct oracle_form *f;

	for (unsigned d = 1; d < 4; d++) {
		unsigned dst = sizes[d];
		for (unsigned src = 1; src <= 2; src++) {
			if (src >= dst && dst != 2)
				continue;
			for (unsigned sx = 0; sx < 2; sx++) {
				u8 op = (u8)((sx ? 0xbe : 0xb6) + (src == 2));
				f = form_add(l, gen_simple, "%s r%u,rm%u (0f %02x)",
					     sx ? "movsx" : "movzx", 8 * dst, 8 * src, op);
				f->size = (u8)dst, f->opc[0] = 0x0f, f->opc[1] = op, f->nopc = 2;
				f->mem_size = (u8)src;
			}
		}
	}
	f = add_rm(l, 8, 0x63, 0, 0, 1, "movsxd r%u,rm%u (rex.w 63)", 64, 32);
	f->mem_size = 4;
	f = add_rm(l, 4, 0x63, 0, 0, 1, "movsxd r%u,rm%u (63, no rex.w)", 32, 32);

	static const char *const cbw[3] = {"cbw", "cwde", "cdqe"}, *const cwd[3] = {"cwd", "cdq",
										    "cqo"};
	for (unsigned s = 1; s < 4; s++) {
		f = form_add(l, gen_plain, "%s (98)", cbw[s - 1]);
		f->size = (u8)sizes[s], f->opc[0] = 0x98, f->nopc = 1;
		f = form_add(l, gen_plain, "%s (99)", cwd[s - 1]);
		f->size = (u8)sizes[s], f->opc[0] = 0x99, f->nopc = 1;
	}
}

static void add_exchange(struct form_list *l)
{
	struct oracle_form *f;

	for (unsigned s = 0; s < 4; s++) {
		unsigned size = sizes[s], w = size > 1, bits = 8 * size;

		f = add_rm(l, size, (u8)(0x86 + w), 0, 0, 1, "xchg rm%u,r%u (86/87)", bits, bits);
		f->lockable = true;
		f = add_rm(l, size, 0x0f, (u8)(0xc0 + w), 0, 2, "xadd rm%u,r%u (0f c0/c1)", bits,
			   bits);
		f->lockable = true;
		f = add_rm(l, size, 0x0f, (u8)(0xb0 + w), 0, 2, "cmpxchg rm%u,r%u (0f b0/b1)", bits,
			   bits);
		f->lockable = true, f->fixup = fix_cmpxchg, f->avoid = 1U << R_AX;
		if (size > 1) {
			f = form_add(l, gen_plain, "xchg %s,r%u (90+r)",
				     gen_reg_name(R_AX, size, 0), bits);
			f->size = (u8)size, f->opc[0] = 0x90, f->nopc = 1, f->kind = 1;
		}
	}
	f = add_rm(l, 4, 0x0f, 0xc7, 0, 2, "cmpxchg8b m%u (0f c7 /1)", 64, 0);
	f->digit = 1, f->rm = RM_MEM, f->mem_size = 8, f->lockable = true;
	f->fixup = fix_cmpxchg_wide, f->avoid = 1U << R_AX | 1U << R_DX, f->flags_def = FL_ARITH;
	f = add_rm(l, 8, 0x0f, 0xc7, 0, 2, "cmpxchg16b m%u (rex.w 0f c7 /1)", 128, 0);
	f->digit = 1, f->rm = RM_MEM, f->mem_size = 16, f->lockable = true;
	f->fixup = fix_cmpxchg_wide, f->avoid = 1U << R_AX | 1U << R_DX;
	f->feature = FEAT_CX16;
}

static void add_cond(struct form_list *l)
{
	struct oracle_form *f;

	for (unsigned s = 1; s < 4; s++) {
		unsigned bits = 8 * sizes[s];
		f = add_rm(l, sizes[s], 0x0f, 0x40, 0, 2, "cmovcc r%u,rm%u (0f 40+cc)", bits, bits);
		f->fixup = fix_cc, f->feature = FEAT_CMOV;
	}
	f = add_rm(l, 1, 0x0f, 0x90, 0, 2, "setcc rm%u (0f 90+cc)", 8, 0);
	f->fixup = fix_cc;
}

static void add_lea_movbe(struct form_list *l)
{
	struct oracle_form *f;

	for (unsigned s = 1; s < 4; s++) {
		for (unsigned a = 4; a <= 8; a += 4) {
			f = form_add(l, gen_lea, "lea r%u,m (8d, %u-bit address)", 8 * sizes[s],
				     8 * a);
			f->size = (u8)sizes[s], f->kind = (u8)a;
		}
		f = add_rm(l, sizes[s], 0x0f, 0x38, 0xf0, 3, "movbe r%u,m%u (0f 38 f0)",
			   8 * sizes[s], 8 * sizes[s]);
		f->rm = RM_MEM, f->feature = FEAT_MOVBE;
		f = add_rm(l, sizes[s], 0x0f, 0x38, 0xf1, 3, "movbe m%u,r%u (0f 38 f1)",
			   8 * sizes[s], 8 * sizes[s]);
		f->rm = RM_MEM, f->feature = FEAT_MOVBE;
	}
}

void forms_move_register(struct form_list *l)
{
	add_mov(l);
	add_extend(l);
	add_exchange(l);
	add_cond(l);
	add_lea_movbe(l);
}
