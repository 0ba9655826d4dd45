/* Segmentation: data-access checks, descriptor loads into segment
 * registers, LDTR/TR, descriptor tables, LAR/LSL/VERR/VERW and the TSS I/O
 * permission bitmap (Intel SDM Vol. 3A ch. 3 and 5, Vol. 1 19.5). */
#include <string.h>

#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "popek/log.h"

bool soft_seg_ok(const struct x86_seg *s, u64 off, unsigned size, enum soft_access acc, bool real)
{
	u64 last = off + size - 1;
	bool code = s->type & SEG_TYPE_CODE;

	if (last < off)
		return false;
	if (!real) {
		if (s->unusable)
			return false; /* null selector (SDM Vol. 3A 5.4.1) */
		if (acc == SOFT_ACC_WRITE && (code || !(s->type & SEG_TYPE_WRITABLE)))
			return false;
		if (acc == SOFT_ACC_READ && code && !(s->type & SEG_TYPE_READABLE))
			return false;
		if (!code && (s->type & SEG_TYPE_EXPDOWN)) {
			/* Expand-down (SDM Vol. 3A 5.3): valid offsets are limit+1 .. top. */
			u64 top = s->db ? 0xffffffffULL : 0xffffULL;
			return off > s->limit && last <= top;
		}
	}
	return last <= s->limit;
}

u64 soft_seg_linear(struct soft_cpu *cpu, int seg, u64 off, unsigned size, enum soft_access acc)
{
	const struct x86_seg *s;

	if (seg < 0)
		return off & 0xffffffffULL;
	s = &cpu->seg[seg];
	if (__builtin_expect(!soft_seg_ok(s, off, size, acc, cpu->mode == SOFT_MODE_REAL), 0))
		soft_raise(cpu, seg == X86_SS ? EXC_SS : EXC_GP, 0);
	return (s->base + off) & 0xffffffffULL;
}

_Noreturn void soft_raise_noncanonical(struct soft_cpu *cpu, int seg)
{
	soft_raise(cpu, seg == X86_SS ? EXC_SS : EXC_GP, 0);
}

static bool desc_addr(struct soft_cpu *cpu, u16 sel, unsigned len, u64 *addr)
{
	u64 base;
	u32 limit, off = sel & ~7u;

	if (sel & 4) {
		if (cpu->ldt.unusable || !(cpu->ldt.selector & 0xfffc))
			return false;
		base = cpu->ldt.base, limit = cpu->ldt.limit;
	} else {
		base = cpu->gdt.base, limit = cpu->gdt.limit;
	}
	if ((u64)off + len - 1 > limit)
		return false;
	*addr = base + off;
	return true;
}

bool soft_desc_read(struct soft_cpu *cpu, u16 sel, u64 *desc)
{
	u64 addr;

	if (!desc_addr(cpu, sel, 8, &addr))
		return false;
	*desc = soft_read_sys(cpu, addr, 8);
	return true;
}

bool soft_desc_read_hi(struct soft_cpu *cpu, u16 sel, u64 *hi)
{
	u64 addr;

	if (!desc_addr(cpu, sel, 16, &addr))
		return false;
	*hi = soft_read_sys(cpu, addr + 8, 8);
	return true;
}

void soft_desc_decode(u64 d, u16 sel, struct x86_seg *s)
{
	u32 limit = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));

	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
}

void soft_desc_set_accessed(struct soft_cpu *cpu, u16 sel, u64 desc)
{
	u64 addr;

	/* Only when clear: Linux maps its GDT read-only (and sets the bits). */
	if (!(desc & (1ULL << 44)) || (desc & (1ULL << 40)) || !desc_addr(cpu, sel, 8, &addr))
		return;
	soft_write_sys(cpu, addr + 5, 1, ((desc >> 40) & 0xff) | 1);
}

void soft_seg_set_null(struct x86_seg *s, u16 sel)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->dpl = sel & 3;
	s->unusable = 1;
}

void soft_set_cs(struct soft_cpu *cpu, u16 sel, u64 desc, unsigned cpl)
{
	soft_desc_decode(desc, (u16)((sel & ~3u) | cpl), &cpu->seg[X86_CS]);
	cpu->seg[X86_CS].type |= SEG_TYPE_ACCESSED;
	soft_mode_update(cpu);
}

void soft_seg_load_real(struct soft_cpu *cpu, int seg, u16 sel)
{
	struct x86_seg *s = &cpu->seg[seg];

	/* Real mode (SDM Vol. 3A 20.1.1): only selector and base change. */
	s->selector = sel;
	s->base = (u64)sel << 4;
	s->unusable = 0;
	s->present = 1;
}

u64 soft_tss_read(struct soft_cpu *cpu, u32 offset, unsigned size)
{
	if (cpu->tr.unusable || (u64)offset + size - 1 > cpu->tr.limit)
		soft_raise(cpu, EXC_TS, cpu->tr.selector & 0xfffc);
	return soft_read_sys(cpu, cpu->tr.base + offset, size);
}

void soft_load_seg(struct soft_cpu *cpu, int seg, u16 sel)
{
	u16 idx = sel & 0xfffc, rpl = sel & 3;
	unsigned cpl = cpu->cpl;
	struct x86_seg d;
	u64 desc;

	if (cpu->mode == SOFT_MODE_REAL || (cpu->rflags & RFLAGS_VM)) {
		soft_seg_load_real(cpu, seg, sel);
		return;
	}
	if (seg == X86_CS)
		soft_raise_noerr(cpu, EXC_UD); /* CS changes only by far transfers */
	if (!idx) {
		/* Null selector (SDM Vol. 3A 5.4.1): allowed in data registers;
		 * in SS only in 64-bit mode at CPL < 3 with RPL = CPL. */
		if (seg == X86_SS && !(cpu->mode == SOFT_MODE_LONG64 && cpl < 3 && rpl == cpl))
			soft_raise(cpu, EXC_GP, 0);
		soft_seg_set_null(&cpu->seg[seg], sel);
		if (seg == X86_SS)
			soft_mode_update(cpu);
		return;
	}
	if (!soft_desc_read(cpu, sel, &desc))
		soft_raise(cpu, EXC_GP, idx);
	soft_desc_decode(desc, sel, &d);
	if (seg == X86_SS) {
		if (rpl != cpl || d.dpl != cpl || !d.s || (d.type & SEG_TYPE_CODE) ||
		    !(d.type & SEG_TYPE_WRITABLE))
			soft_raise(cpu, EXC_GP, idx);
		if (!d.present)
			soft_raise(cpu, EXC_SS, idx);
	} else {
		bool code = d.type & SEG_TYPE_CODE;
		if (!d.s || (code && !(d.type & SEG_TYPE_READABLE)))
			soft_raise(cpu, EXC_GP, idx);
		if ((!code || !(d.type & SEG_TYPE_CONFORM)) && (d.dpl < cpl || d.dpl < rpl))
			soft_raise(cpu, EXC_GP, idx);
		if (!d.present)
			soft_raise(cpu, EXC_NP, idx);
	}
	soft_desc_set_accessed(cpu, sel, desc);
	d.type |= SEG_TYPE_ACCESSED;
	cpu->seg[seg] = d;
	if (seg == X86_SS)
		soft_mode_update(cpu);
}

/* Loads a system descriptor (LDT or TSS) for LLDT/LTR: 16 bytes in IA-32e mode. */
static void load_system_desc(struct soft_cpu *cpu, u16 sel, u64 desc, struct x86_seg *d)
{
	u64 hi;

	soft_desc_decode(desc, sel, d);
	if (cpu->efer & X86_EFER_LMA) {
		if (!soft_desc_read_hi(cpu, sel, &hi))
			soft_raise(cpu, EXC_GP, sel & 0xfffc);
		d->base |= (hi & 0xffffffffULL) << 32;
		if (!soft_canonical(d->base) || ((hi >> 40) & 0x1f))
			soft_raise(cpu, EXC_GP, sel & 0xfffc);
	}
	if (!d->present)
		soft_raise(cpu, EXC_NP, sel & 0xfffc);
}

void soft_lldt(struct soft_cpu *cpu, u16 sel)
{
	struct x86_seg d;
	u64 desc;

	if (cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
	if (!(sel & 0xfffc)) {
		soft_seg_set_null(&cpu->ldt, sel);
		return;
	}
	if ((sel & 4) || !soft_desc_read(cpu, sel, &desc))
		soft_raise(cpu, EXC_GP, sel & 0xfffc);
	if (((desc >> 40) & 0x1f) != SYS_LDT)
		soft_raise(cpu, EXC_GP, sel & 0xfffc);
	load_system_desc(cpu, sel, desc, &d);
	cpu->ldt = d;
}

void soft_ltr(struct soft_cpu *cpu, u16 sel)
{
	struct x86_seg d;
	unsigned type;
	u64 desc, addr;

	if (cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
	if (!(sel & 0xfffc) || (sel & 4) || !soft_desc_read(cpu, sel, &desc))
		soft_raise(cpu, EXC_GP, sel & 0xfffc);
	type = (desc >> 40) & 0x1f;
	if (type != SYS_TSS_AVAIL && !(type == SYS_TSS16_AVAIL && !(cpu->efer & X86_EFER_LMA)))
		soft_raise(cpu, EXC_GP, sel & 0xfffc);
	load_system_desc(cpu, sel, desc, &d);
	/* Mark the descriptor busy (SDM Vol. 3A 7.2.4). */
	addr = cpu->gdt.base + (sel & ~7u);
	soft_write_sys(cpu, addr + 5, 1, ((desc >> 40) & 0xff) | 2);
	d.type |= 2;
	cpu->tr = d;
}

void soft_load_dtable(struct soft_cpu *cpu, bool idt, u64 base, u16 limit)
{
	if (cpu->mode == SOFT_MODE_LONG64 && !soft_canonical(base))
		soft_raise(cpu, EXC_GP, 0);
	if (idt)
		cpu->idt = (struct x86_dtable){base, limit};
	else
		cpu->gdt = (struct x86_dtable){base, limit};
}

/* Common checks of LAR/LSL/VERR/VERW (SDM Vol. 2A): loads the descriptor
 * and applies the privilege rule; false on any failure. */
static bool desc_visible(struct soft_cpu *cpu, u16 sel, struct x86_seg *d, u64 *desc)
{
	if (!(sel & 0xfffc) || !soft_desc_read(cpu, sel, desc))
		return false;
	soft_desc_decode(*desc, sel, d);
	if (d->s && (d->type & SEG_TYPE_CODE) && (d->type & SEG_TYPE_CONFORM))
		return true;
	return d->dpl >= cpu->cpl && d->dpl >= (sel & 3);
}

bool soft_lar(struct soft_cpu *cpu, u16 sel, u32 *out)
{
	/* System types LAR accepts: legacy mode / IA-32e mode. */
	static const u16 legacy =
	    1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 9 | 1u << 11 | 1u << 12;
	static const u16 ia32e = 1u << 2 | 1u << 9 | 1u << 11 | 1u << 12;
	struct x86_seg d;
	u64 desc;

	if (!desc_visible(cpu, sel, &d, &desc))
		return false;
	if (!d.s && !(((cpu->efer & X86_EFER_LMA) ? ia32e : legacy) >> d.type & 1))
		return false;
	*out = (u32)(desc >> 32) & 0x00f0ff00u;
	return true;
}

bool soft_lsl(struct soft_cpu *cpu, u16 sel, u32 *out)
{
	static const u16 legacy = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 9 | 1u << 11;
	static const u16 ia32e = 1u << 2 | 1u << 9 | 1u << 11;
	struct x86_seg d;
	u64 desc;

	if (!desc_visible(cpu, sel, &d, &desc))
		return false;
	if (!d.s && !(((cpu->efer & X86_EFER_LMA) ? ia32e : legacy) >> d.type & 1))
		return false;
	*out = d.limit;
	return true;
}

bool soft_verr(struct soft_cpu *cpu, u16 sel, bool write)
{
	struct x86_seg d;
	u64 desc;

	if (!desc_visible(cpu, sel, &d, &desc) || !d.s)
		return false;
	if (write)
		return !(d.type & SEG_TYPE_CODE) && (d.type & SEG_TYPE_WRITABLE);
	return !(d.type & SEG_TYPE_CODE) || (d.type & SEG_TYPE_READABLE);
}

bool soft_io_allowed(struct soft_cpu *cpu, u16 port, unsigned size)
{
	unsigned iopl = (cpu->rflags >> 12) & 3;
	u64 byte;
	u16 iobase, bits;

	if (cpu->mode == SOFT_MODE_REAL)
		return true;
	if (!(cpu->rflags & RFLAGS_VM) && cpu->cpl <= iopl)
		return true;
	/* The I/O permission bitmap of a 32/64-bit TSS (SDM Vol. 1 19.5.2):
	 * every bit for the ports accessed must be clear, and every byte
	 * read must be within the TSS limit. */
	if (cpu->tr.unusable || !(cpu->tr.type & 8) || cpu->tr.limit < 103)
		return false;
	iobase = (u16)soft_read_sys(cpu, cpu->tr.base + 102, 2);
	byte = (u64)iobase + port / 8;
	if (byte + 1 > cpu->tr.limit)
		return false;
	bits = (u16)soft_read_sys(cpu, cpu->tr.base + byte, 2);
	return !((bits >> (port & 7)) & ((1u << size) - 1));
}

/* cpu.h placeholder: the instructions are soft_load_dtable/soft_ltr/soft_lldt (sys.h). */
void soft_lgdt_lidt_ltr_lldt(struct soft_cpu *cpu)
{
	log_warn("soft: soft_lgdt_lidt_ltr_lldt() is a placeholder; use sys.h");
	soft_raise_noerr(cpu, EXC_UD);
}
