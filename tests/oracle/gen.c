/* Generic test-case set-up shared by the instruction generators: random
 * registers, flags and data, random ModRM operands (register or memory with
 * every addressing form) placed inside the compared data area. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/oracle.h"

void gen_base_state(struct oracle_rng *r, u64 base, struct oracle_case *c)
{
	u64 *m = (u64 *)c->mem;

	c->len = 0;
	c->nexits = 0;
	c->sse = false;
	c->mmx = false;
	c->note[0] = 0;
	c->flags_strict = FL_ARITH;
	c->flags_warn = 0;
	c->gpr_warn = 0;
	c->xmm_tolerance = 0;
	c->gs_base = 0;
	c->mem_ign_off = -1;
	c->mem_ign_bits = 0;
	c->native_alt = false;
	for (unsigned i = 0; i < 16; i++)
		c->in.gpr[i] = rng_value(r);
	c->in.gpr[R_SP] = base + OR_STACK + 0x800 + 8 * rng_below(r, 64);
	c->in.rflags = 2 | (rng_next(r) & FL_ARITH) | (rng_chance(r, 25) ? FL_DF : 0);
	/* Four interleaved xorshift64 streams for the bulk bytes (the case
	 * generator's hot spot); the stack is random only around RSP. */
	u64 x[4] = {rng_next(r) | 1, rng_next(r) | 1, rng_next(r) | 1, rng_next(r) | 1};
	for (unsigned i = (MEM_STACK_OFF + 0x600) / 8; i < OR_MEM_SIZE / 8; i += 4) {
		for (unsigned k = 0; k < 4; k++) {
			x[k] ^= x[k] << 13;
			x[k] ^= x[k] >> 7;
			x[k] ^= x[k] << 17;
			m[i + k] = x[k];
		}
	}
	memset(c->mem + MEM_STACK_OFF, 0, 0x600);
	memset(c->mem + MEM_STACK_OFF + 0xc00, 0, OR_STACK_SIZE - 0xc00);
	/* Some zero and all-ones stretches, so memory operands see edge values. */
	if (rng_chance(r, 20))
		memset(c->mem + MEM_DATA_OFF + rng_below(r, OR_DATA_SIZE - 64),
		       rng_chance(r, 50) ? 0 : 0xff, 64);
}

u64 gen_data_ea(struct oracle_rng *r, u64 base, unsigned size, unsigned margin)
{
	u64 lo = base + OR_DATA + margin;
	u64 span = OR_DATA_SIZE - 2 * margin - size;

	/* Mostly naturally aligned; sometimes anywhere (misaligned, page-crossing). */
	u64 ea = lo + rng_below(r, (unsigned)span);
	if (rng_chance(r, 70) && size <= 16)
		ea = ALIGN_DOWN(ea, size ? size : 1);
	if (ea < lo)
		ea += size;
	return ea;
}

static int pick_reg(struct oracle_rng *r, u32 avoid)
{
	unsigned n = 0;
	int regs[16];

	for (int i = 0; i < 16; i++)
		if (!(avoid & (1U << i)))
			regs[n++] = i;
	return n ? regs[rng_below(r, n)] : -1;
}

void gen_mem_operand(struct oracle_rng *r, struct oracle_case *c, u64 ea, u32 avoid,
		     struct enc_mem *m, u64 base_lo)
{
	unsigned kind = rng_below(r, 100);
	u64 idxv = 0, scale;

	memset(m, 0, sizeof(*m));
	m->target = ea;
	m->base = m->index = -1;
	if (ea >= 1ULL << 31)
		kind = 17 + kind % 83; /* no disp32-only forms can reach it */
	if (kind < 8) {
		m->rip_rel = true;
		return;
	}
	if (kind < 12) {
		m->disp = (s32)ea; /* [disp32]: the region is below 2 GiB */
		m->disp_size = 4;
		return;
	}
	m->addr32 = ea < 1ULL << 32 && rng_chance(r, 15);
	m->scale = rng_below(r, 4);
	scale = 1ULL << m->scale;
	if (kind < 17) {
		/* [index*scale + disp32] */
		m->index = pick_reg(r, avoid | 1U << R_SP);
		if (m->index < 0)
			goto absolute;
		m->disp = (s32)rng_next(r);
		m->disp = (s32)(((u32)m->disp & ~(u32)(scale - 1)) | ((u32)ea & (u32)(scale - 1)));
		m->disp_size = 4;
		idxv = (ea - (u64)(s64)m->disp) >> m->scale;
		if (m->addr32)
			idxv =
			    (idxv & 0xffffffffULL >> m->scale) | (rng_next(r) << (32 - m->scale));
		else
			idxv |= m->scale ? rng_next(r) << (64 - m->scale) : 0;
		c->in.gpr[m->index] = idxv;
		return;
	}
	m->base = pick_reg(r, avoid | (rng_chance(r, 95) ? 1U << R_SP : 0));
	if (m->base < 0)
		goto absolute;
	if (m->base == R_SP) {
		/* RSP must stay a usable stack pointer (the guest pushes an
		 * exception frame there): [rsp+disp8] with RSP in the data area. */
		s64 d = (s8)rng_next(r);
		if ((s64)(ea - base_lo) - d < 128)
			d = MAX((s64)(ea - base_lo) - 128, -128);
		/* ... and below the guard page, or the frame push faults. */
		if ((s64)(ea - base_lo) - d > OR_MEM_SIZE)
			d = (s64)(ea - base_lo) - OR_MEM_SIZE;
		m->disp = (s32)d;
		m->disp_size = 1;
		m->addr32 = false;
		m->scale = 0;
		c->in.gpr[R_SP] = ea - (u64)d;
		return;
	}
	switch (rng_below(r, 3)) {
	case 0:
		m->disp_size = 0;
		break;
	case 1:
		m->disp_size = 1;
		m->disp = (s8)rng_next(r);
		break;
	default:
		m->disp_size = 4;
		m->disp = rng_chance(r, 50) ? (s32)rng_next(r) : (s16)rng_next(r);
		break;
	}
	if (rng_chance(r, 40)) {
		m->index = pick_reg(r, avoid | 1U << R_SP | 1U << m->base);
		if (m->index >= 0) {
			idxv = rng_chance(r, 50) ? rng_value(r) : (u64)(s64)(s8)rng_next(r);
			c->in.gpr[m->index] = idxv;
		}
	}
	if (m->base == R_SP && m->index < 0 && m->disp_size == 0)
		m->scale = 0;
	c->in.gpr[m->base] = ea - (u64)(s64)m->disp - idxv * scale;
	if (m->addr32)
		c->in.gpr[m->base] = (u32)c->in.gpr[m->base] | rng_next(r) << 32;
	return;
absolute:
	if (ea >= 1ULL << 31) {
		fprintf(stderr, "oracle: generator bug: no register to address 0x%llx\n",
			(unsigned long long)ea);
		abort();
	}
	m->base = m->index = -1;
	m->addr32 = false;
	m->scale = 0;
	m->disp = (s32)ea;
	m->disp_size = 4;
}

static bool enc_has_rex(const struct enc *e)
{
	if (e->rex_w || e->rex_force || e->reg >= 8)
		return true;
	if (!e->mem)
		return e->rm >= 8;
	return e->m.base >= 8 || e->m.index >= 8;
}

void gen_modrm(struct oracle_rng *r, u64 base, struct oracle_case *c, struct enc *e, unsigned size,
	       unsigned kinds, unsigned reg, u32 avoid, unsigned mem_size, struct gen_info *gi)
{
	if (size == 2)
		e->pfx[e->npfx++] = 0x66;
	if (size == 8)
		e->rex_w = true;
	if (size == 1 && rng_chance(r, 30))
		e->rex_force = true;
	e->modrm = true;
	e->reg = reg;
	if (kinds == RM_MEM || (kinds & RM_MEM && rng_chance(r, 55))) {
		u64 ea = gen_data_ea(r, base, mem_size, 48);
		/* A LOCKed access split across cache lines makes Linux stall the
		 * process for 10 ms (split_lock_mitigate): never do that natively.
		 * Aligned, also BTS's bit-offset chunks stay inside one line. */
		bool fault = !e->no_line_split && rng_chance(r, 3);
		if (e->no_line_split)
			ea = ALIGN_DOWN(ea, mem_size);
		if (fault)
			avoid |= 1U << R_SP; /* RSP must stay usable for the frame */
		if (fault && rng_chance(r, 65)) {
			/* Ends in (or lies in) the unmapped guard page: #PF, and
			 * nothing may be written to the part before it. */
			ea = base + OR_GUARD - rng_below(r, mem_size ? mem_size : 1);
		} else if (fault) {
			/* Non-canonical: #GP(0) (#SS(0) through RBP). */
			ea = (rng_chance(r, 50) ? 0x0000800000000000ULL : 0xffff000000000000ULL) +
			     (rng_next(r) & 0xffffffffULL);
		}
		/* GS override: the offset is the linear address minus GS.base. */
		bool gs = c->gs_ok && rng_chance(r, 5);
		u64 lin = ea;
		if (gs) {
			c->gs_base = rng_chance(r, 50) ? 16 * rng_below(r, 1U << 20) : rng_value(r);
			/* WRGSBASE takes canonical addresses only */
			c->gs_base = (u64)((s64)(c->gs_base << 16) >> 16);
			ea = lin - c->gs_base;
			avoid |= 1U << R_SP;
			e->pfx[e->npfx++] = 0x65;
		}
		e->mem = true;
		gen_mem_operand(r, c, ea, avoid, &e->m, base + OR_MEM);
		e->m.fault = fault;
		e->m.seg_base = gs ? c->gs_base : 0;
		gi->ea = lin;
		gi->mem = true;
	} else {
		e->mem = false;
		e->rm = rng_below(r, 16);
	}
	gi->mem = e->mem;
	gi->reg = reg;
	gi->rm = e->rm;
	if (!e->mem)
		gi->ea = 0;
	gi->rex = enc_has_rex(e);
	gi->addr_regs = 0;
	if (e->mem && e->m.base >= 0)
		gi->addr_regs |= 1U << e->m.base;
	if (e->mem && e->m.index >= 0)
		gi->addr_regs |= 1U << e->m.index;
}

bool gen_reg_is_addr(const struct gen_info *gi, unsigned reg, unsigned size)
{
	if (size == 1 && !gi->rex && reg >= 4 && reg < 8)
		reg -= 4;
	return gi->mem && (gi->addr_regs & (1U << reg));
}

/* The effective address the CPU will compute from the final inputs must be
 * the one the generator placed in the data area: a fixup that changed an
 * address register would otherwise make the native run write host memory. */
static void gen_check_ea(const struct oracle_case *c, const struct enc *e, u64 base)
{
	const struct enc_mem *m = &e->m;
	u64 ea;

	if (!e->modrm || !e->mem || m->rip_rel || m->no_access)
		return;
	ea = (u64)(s64)m->disp;
	if (m->base >= 0)
		ea += c->in.gpr[m->base];
	if (m->index >= 0)
		ea += c->in.gpr[m->index] << m->scale;
	if (m->addr32)
		ea = (u32)ea;
	u64 lin = ea + m->seg_base;
	if (ea != m->target ||
	    (!m->fault && (lin < base + OR_MEM || lin + 16 > base + OR_MEM + OR_MEM_SIZE))) {
		fprintf(stderr, "oracle: generator bug: memory operand 0x%llx, wanted 0x%llx\n",
			(unsigned long long)ea, (unsigned long long)m->target);
		abort();
	}
}

u64 gen_reg_get(const struct oracle_case *c, unsigned reg, unsigned size, bool rex)
{
	switch (size) {
	case 1:
		if (!rex && reg >= 4 && reg < 8)
			return c->in.gpr[reg - 4] >> 8 & 0xff;
		return c->in.gpr[reg] & 0xff;
	case 2:
		return c->in.gpr[reg] & 0xffff;
	case 4:
		return c->in.gpr[reg] & 0xffffffff;
	default:
		return c->in.gpr[reg];
	}
}

void gen_reg_set(struct oracle_case *c, unsigned reg, unsigned size, bool rex, u64 v)
{
	u64 *g;

	switch (size) {
	case 1:
		if (!rex && reg >= 4 && reg < 8) {
			g = &c->in.gpr[reg - 4];
			*g = (*g & ~0xff00ULL) | (v & 0xff) << 8;
		} else {
			g = &c->in.gpr[reg];
			*g = (*g & ~0xffULL) | (v & 0xff);
		}
		break;
	case 2:
		c->in.gpr[reg] = (c->in.gpr[reg] & ~0xffffULL) | (v & 0xffff);
		break;
	case 4: /* inputs keep random upper bits: only the result zero-extends */
		c->in.gpr[reg] = (c->in.gpr[reg] & ~0xffffffffULL) | (v & 0xffffffff);
		break;
	default:
		c->in.gpr[reg] = v;
		break;
	}
}

bool gen_mem_ok(u64 base, u64 ea, unsigned size)
{
	return ea >= base + OR_MEM && ea + size <= base + OR_MEM + OR_MEM_SIZE;
}

/* Operands placed to fault are outside the image: reads give 0, writes
 * are dropped. */
u64 gen_mem_get(const struct oracle_case *c, u64 base, u64 ea, unsigned size)
{
	u64 v = 0;

	if (!gen_mem_ok(base, ea, size))
		return 0;
	memcpy(&v, c->mem + (ea - base - OR_MEM), size);
	return v;
}

void gen_mem_set(struct oracle_case *c, u64 base, u64 ea, unsigned size, u64 v)
{
	if (!gen_mem_ok(base, ea, size))
		return;
	memcpy(c->mem + (ea - base - OR_MEM), &v, size);
}

u64 gen_rm_get(const struct oracle_case *c, u64 base, const struct gen_info *gi, unsigned size)
{
	if (gi->mem)
		return gen_mem_get(c, base, gi->ea, size);
	return gen_reg_get(c, gi->rm, size, gi->rex);
}

void gen_rm_set(struct oracle_case *c, u64 base, const struct gen_info *gi, unsigned size, u64 v)
{
	if (gi->mem)
		gen_mem_set(c, base, gi->ea, size, v);
	else
		gen_reg_set(c, gi->rm, size, gi->rex, v);
}

const char *gen_reg_name(unsigned reg, unsigned size, bool rex)
{
	static const char *const n64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
	static const char *const n32[16] = {"eax",  "ecx",  "edx",  "ebx", "esp",  "ebp",
					    "esi",  "edi",  "r8d",  "r9d", "r10d", "r11d",
					    "r12d", "r13d", "r14d", "r15d"};
	static const char *const n16[16] = {"ax",   "cx",   "dx",   "bx",  "sp",   "bp",
					    "si",   "di",   "r8w",  "r9w", "r10w", "r11w",
					    "r12w", "r13w", "r14w", "r15w"};
	static const char *const n8[16] = {"al",   "cl",   "dl",   "bl",  "spl",  "bpl",
					   "sil",  "dil",  "r8b",  "r9b", "r10b", "r11b",
					   "r12b", "r13b", "r14b", "r15b"};
	static const char *const n8h[4] = {"ah", "ch", "dh", "bh"};

	reg &= 15;
	switch (size) {
	case 1:
		return !rex && reg >= 4 && reg < 8 ? n8h[reg - 4] : n8[reg];
	case 2:
		return n16[reg];
	case 4:
		return n32[reg];
	default:
		return n64[reg];
	}
}

/* The guest pushes an exception frame at RSP; the host takes signals on
 * another stack. A fixup that gave RSP a random value would turn every
 * fault into a triple fault in the guest only: put RSP back on the stack. */
static void gen_check_rsp(struct oracle_case *c, const struct enc *e, u64 base)
{
	u64 sp = c->in.gpr[R_SP];

	if (e->modrm && e->mem && (e->m.base == R_SP || e->m.index == R_SP))
		return;
	if (sp < base + OR_MEM + 256 || sp > base + OR_MEM + OR_MEM_SIZE - 64)
		c->in.gpr[R_SP] = base + OR_STACK + 0x800;
}

void gen_note(struct oracle_case *c, const char *fmt, ...)
{
	size_t n = strlen(c->note);
	va_list ap;

	if (n + 1 >= sizeof(c->note))
		return;
	if (n && n + 3 < sizeof(c->note)) {
		strcpy(c->note + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(c->note + n, sizeof(c->note) - n, fmt, ap);
	va_end(ap);
}

void gen_expect_ud(struct oracle_case *c, const char *feature)
{
	char note[sizeof(c->note)];

	/* Every form with a feature has at least two opcode bytes. */
	if (c->len < 2) {
		fprintf(stderr, "oracle: a %u-byte instruction cannot stand UD2 in\n", c->len);
		abort();
	}
	c->native_code[0] = 0x0f;
	c->native_code[1] = 0x0b;
	memset(c->native_code + 2, 0x90, c->len - 2);
	c->native_alt = true;
	/* Nothing is undefined about an instruction that does not execute. */
	c->flags_strict = FL_ARITH;
	c->flags_warn = 0;
	c->gpr_warn = 0;
	c->xmm_tolerance = 0;
	/* First in the note, where a long operand note cannot cut it off. */
	memcpy(note, c->note, sizeof(note));
	c->note[0] = 0;
	gen_note(c, "the model has no %s: #UD", feature);
	if (note[0])
		gen_note(c, "%s", note);
}

void gen_finish(struct oracle_case *c, const struct enc *e, u64 base, const struct gen_info *gi)
{
	const struct enc_mem *m = &e->m;

	gen_check_rsp(c, e, base);
	gen_check_ea(c, e, base);
	enc_emit(e, base + OR_INSN, c);
	c->nexits = 1;
	c->exit_off[0] = (int)c->len;
	if (!gi || !e->modrm)
		return;
	if (!e->mem) {
		gen_note(c, "register operand (r/m=%s)", gen_reg_name(e->rm, 8, true));
		return;
	}
	if (m->rip_rel) {
		gen_note(c, "memory [rip%+d] ea=data%+lld%s", m->disp,
			 (long long)(m->target + m->seg_base - base - OR_DATA),
			 m->seg_base ? " (+gs.base)" : "");
		return;
	}
	if (m->seg_base)
		gen_note(c, "gs.base=0x%llx", (unsigned long long)m->seg_base);
	gen_note(c, "memory [%s%s%s*%u%+d]%s",
		 m->base >= 0 ? gen_reg_name((unsigned)m->base, 8, true) : "",
		 m->index >= 0 ? "+" : "",
		 m->index >= 0 ? gen_reg_name((unsigned)m->index, 8, true) : "", 1U << m->scale,
		 m->disp, m->addr32 ? " addr32" : "");
	if (m->fault)
		gen_note(c, "linear 0x%llx (placed to fault)",
			 (unsigned long long)(m->target + m->seg_base));
	else
		gen_note(c, "ea=data+0x%llx",
			 (unsigned long long)(m->target + m->seg_base - base - OR_DATA));
}

void gen_simple(const struct oracle_form *f, struct oracle_rng *r, u64 base, struct oracle_case *c)
{
	static const u8 null_seg[4] = {0x26, 0x2e, 0x36, 0x3e};
	struct gen_info gi;
	struct enc e;
	unsigned reg = f->digit >= 0 ? (unsigned)f->digit : rng_below(r, 16);
	u32 avoid = f->avoid;

	gen_base_state(r, base, c);
	memset(&e, 0, sizeof(e));
	if (rng_chance(r, 4))
		e.pfx[e.npfx++] = null_seg[rng_below(r, 4)]; /* ignored in 64-bit mode */
	if (f->lockable && rng_chance(r, 25)) {
		e.pfx[e.npfx++] = 0xf0;
		e.no_line_split = true;
	}
	/* XCHG with memory is locked without the prefix. */
	if (f->nopc == 1 && (f->opc[0] == 0x86 || f->opc[0] == 0x87))
		e.no_line_split = true;
	if (f->avoid_reg && f->digit < 0) {
		if (reg == R_SP) /* the fixup sets it: not the stack pointer */
			reg = R_BP;
		avoid |= 1U << reg;
	}
	gen_modrm(r, base, c, &e, f->size, f->rm, reg, avoid, f->mem_size ? f->mem_size : f->size,
		  &gi);
	if (f->pfx)
		e.pfx[e.npfx++] = f->pfx;
	memcpy(e.opc, f->opc, f->nopc);
	e.nopc = f->nopc;
	if (f->imm) {
		e.imm_size = f->imm;
		e.imm = rng_value(r) & (f->imm >= 8 ? ~0ULL : (1ULL << (8 * f->imm)) - 1);
	}
	c->flags_strict = f->flags_def;
	c->flags_warn = FL_ARITH & ~f->flags_def;
	if (f->fixup)
		f->fixup(f, r, base, c, &e, &gi);
	gen_finish(c, &e, base, &gi);
}
