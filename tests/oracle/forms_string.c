/* Oracle forms: string instructions MOVS CMPS STOS LODS SCAS at all sizes,
 * with and without REP/REPE/REPNE, DF 0 and 1, 64- and 32-bit addressing
 * (Intel SDM Vol. 2 "MOVS", "REP/REPE/REPZ/REPNE/REPNZ"; Vol. 1 7.3.9). */
#include <string.h>

#include "oracle/oracle.h"

enum { STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS };

static const char *const str_names[5] = {"movs", "cmps", "stos", "lods", "scas"};
static const u8 str_op[5] = {0xa4, 0xa6, 0xaa, 0xac, 0xae};
static const unsigned sizes[4] = {1, 2, 4, 8};

/* A pointer into the data area with room for n elements either way; with
 * 32-bit addressing only the low half matters, so the rest is random. */
static u64 pick_ptr(struct oracle_rng *r, u64 base, bool a32)
{
	u64 p = base + OR_DATA + 128 + rng_below(r, OR_DATA_SIZE - 256);

	return a32 ? (u32)p | rng_next(r) << 32 : p;
}

static void gen_string(const struct oracle_form *f, struct oracle_rng *r, u64 base,
		       struct oracle_case *c)
{
	static const u8 null_seg[4] = {0x26, 0x2e, 0x36, 0x3e};
	unsigned op = f->kind, size = f->size, n = 0;
	bool a32 = rng_chance(r, 25), rep = f->pfx != 0;
	struct enc e;

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	c->in.rflags = (c->in.rflags & ~FL_DF) | (rng_chance(r, 50) ? FL_DF : 0);
	c->in.gpr[R_SI] = pick_ptr(r, base, a32);
	c->in.gpr[R_DI] = pick_ptr(r, base, a32);
	if (rep) {
		n = rng_chance(r, 10) ? 0 : rng_below(r, 9);
		c->in.gpr[R_CX] = a32 ? n | rng_next(r) << 32 : n;
	}
	/* CMPS/SCAS: equal elements for a while, so REPE/REPNE stop inside. */
	if (op == STR_CMPS && rng_chance(r, 60)) {
		unsigned k = rng_below(r, n + 2) * size;
		u64 s = (u32)c->in.gpr[R_SI], d = (u32)c->in.gpr[R_DI];
		bool down = c->in.rflags & FL_DF;
		if (down) {
			s = s + size - k;
			d = d + size - k;
		}
		if (gen_mem_ok(base, s, k) && gen_mem_ok(base, d, k))
			memmove(c->mem + (s - base - OR_MEM), c->mem + (d - base - OR_MEM), k);
	}
	if (op == STR_SCAS && rng_chance(r, 50)) {
		u64 d = (u32)c->in.gpr[R_DI];
		int step = c->in.rflags & FL_DF ? -(int)size : (int)size;
		d += (u64)(s64)(step * (int)rng_below(r, n + 1));
		gen_reg_set(c, R_AX, size, true, gen_mem_get(c, base, d, size));
	}
	/* Sometimes a pointer runs into the unmapped guard page: #PF in the
	 * middle of a REP, with RCX/RSI/RDI showing the iterations done. */
	if (rng_chance(r, 6)) {
		bool src =
		    op == STR_LODS || ((op == STR_MOVS || op == STR_CMPS) && rng_chance(r, 50));
		u64 *p = &c->in.gpr[src ? R_SI : R_DI];
		u64 at = base + OR_GUARD;
		if (c->in.rflags & FL_DF)
			at += rng_below(r, 16);
		else
			at -= size * rng_below(r, n + 1) + rng_below(r, size);
		*p = a32 ? (u32)at | (*p & ~0xffffffffULL) : at;
		gen_note(c, "%s runs into the guard page", src ? "rsi" : "rdi");
	}
	if (rng_chance(r, 10))
		e.pfx[e.npfx++] = null_seg[rng_below(r, 4)];
	if (a32)
		e.pfx[e.npfx++] = 0x67;
	if (size == 2)
		e.pfx[e.npfx++] = 0x66;
	if (rep)
		e.pfx[e.npfx++] = f->pfx;
	e.rex_w = size == 8;
	e.opc[0] = (u8)(str_op[op] + (size > 1));
	e.nopc = 1;
	gen_note(c, "%s DF=%d count=%u", a32 ? "addr32" : "addr64", c->in.rflags & FL_DF ? 1 : 0,
		 n);
	gen_finish(c, &e, base, NULL);
}

void forms_string_register(struct form_list *l)
{
	for (unsigned op = 0; op < 5; op++) {
		for (unsigned s = 0; s < 4; s++) {
			unsigned size = sizes[s];
			for (unsigned p = 0; p < 3; p++) {
				static const u8 pfx[3] = {0, 0xf3, 0xf2};
				static const char *const pn[2][3] = {{"", "rep ", "rep(f2) "},
								     {"", "repe ", "repne "}};
				bool cmp = op == STR_CMPS || op == STR_SCAS;
				struct oracle_form *f;

				if (p == 2 && !cmp)
					continue;
				f = form_add(l, gen_string, "%s%s%c (%s%02x)", pn[cmp][p],
					     str_names[op], "bwdq"[s],
					     p == 0   ? ""
					     : p == 1 ? "f3 "
						      : "f2 ",
					     str_op[op] + (size > 1));
				f->kind = (u8)op, f->size = (u8)size, f->pfx = pfx[p];
			}
		}
	}
}
