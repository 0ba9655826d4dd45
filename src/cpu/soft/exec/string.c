/* String instructions MOVS CMPS STOS LODS SCAS INS OUTS, with REP/REPE/REPNE,
 * any address size and DF (Intel SDM Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ",
 * Vol. 1 7.3.9). A REP instruction runs a bounded number of iterations per
 * execution and then restarts itself (RIP stays on it), so interrupts are
 * taken between iterations as on hardware; on the debug path, one iteration
 * when a #DB trap may follow it (cpu.h db_rep). REP MOVS/STOS forward copies
 * run a page at a time on host memory when the TLB has both pages. */
#include <string.h>

#include "cpu/soft/exec/exec.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vendor.h"

#define REP_CHUNK 4096 /* iterations (or bytes on the fast path) per execution */

struct str_ctx {
	unsigned size; /* element size */
	unsigned as;   /* address size */
	u64 amask;
	s64 delta;   /* +size or -size by DF */
	int src_seg; /* DS or the override */
};

static u64 idx_get(const struct soft_cpu *cpu, const struct str_ctx *c, int r)
{
	return cpu->gpr[r] & c->amask;
}

static void idx_step(struct soft_cpu *cpu, const struct str_ctx *c, int r, s64 n)
{
	soft_reg_set(cpu, (unsigned)r, c->as, true, cpu->gpr[r] + (u64)(c->delta * n));
}

/* One iteration of the string operation. Returns false when a REPE/REPNE
 * condition ends the loop (CMPS/SCAS). */
static bool str_once(struct soft_cpu *cpu, const struct soft_insn *in, const struct str_ctx *c)
{
	unsigned size = c->size;
	u64 v, w;

	switch (in->opcode) {
	case 0xa4: /* MOVS */
	case 0xa5:
		v = soft_mem_read(cpu, c->src_seg, idx_get(cpu, c, X86_RSI), size);
		soft_mem_write(cpu, X86_ES, idx_get(cpu, c, X86_RDI), size, v);
		idx_step(cpu, c, X86_RSI, 1);
		idx_step(cpu, c, X86_RDI, 1);
		return true;
	case 0xa6: /* CMPS: flags of [rSI] - [rDI] */
	case 0xa7:
		v = soft_mem_read(cpu, c->src_seg, idx_get(cpu, c, X86_RSI), size);
		w = soft_mem_read(cpu, X86_ES, idx_get(cpu, c, X86_RDI), size);
		soft_alu(cpu, SOFT_ALU_CMP, size, v, w);
		idx_step(cpu, c, X86_RSI, 1);
		idx_step(cpu, c, X86_RDI, 1);
		break;
	case 0xaa: /* STOS */
	case 0xab:
		soft_mem_write(cpu, X86_ES, idx_get(cpu, c, X86_RDI), size,
			       soft_reg_get(cpu, X86_RAX, size, true));
		idx_step(cpu, c, X86_RDI, 1);
		return true;
	case 0xac: /* LODS */
	case 0xad:
		v = soft_mem_read(cpu, c->src_seg, idx_get(cpu, c, X86_RSI), size);
		soft_reg_set(cpu, X86_RAX, size, true, v);
		idx_step(cpu, c, X86_RSI, 1);
		return true;
	case 0xae: /* SCAS: flags of rAX - [rDI] */
	case 0xaf:
		w = soft_mem_read(cpu, X86_ES, idx_get(cpu, c, X86_RDI), size);
		soft_alu(cpu, SOFT_ALU_CMP, size, soft_reg_get(cpu, X86_RAX, size, true), w);
		idx_step(cpu, c, X86_RDI, 1);
		break;
	case 0x6c: /* INS: the port is read before the store can fault; as on hardware */
	case 0x6d:
		soft_read_for_write(cpu, X86_ES, idx_get(cpu, c, X86_RDI), size);
		v = soft_io_in(cpu, (u16)cpu->gpr[X86_RDX], size);
		soft_mem_write(cpu, X86_ES, idx_get(cpu, c, X86_RDI), size, v);
		idx_step(cpu, c, X86_RDI, 1);
		return true;
	default: /* 6E/6F OUTS */
		v = soft_mem_read(cpu, c->src_seg, idx_get(cpu, c, X86_RSI), size);
		soft_io_out(cpu, (u16)cpu->gpr[X86_RDX], size, v);
		idx_step(cpu, c, X86_RSI, 1);
		return true;
	}
	/* CMPS/SCAS under REPE (F3) stop when ZF=0, under REPNE (F2) when ZF=1. */
	if (in->rep == 0xf3)
		return soft_cond(cpu, 4);
	if (in->rep == 0xf2)
		return !soft_cond(cpu, 4);
	return true;
}

/* Host pointer for len bytes at seg:off if the TLB holds the page for acc
 * (the segment checks are done for the whole range); NULL otherwise. */
static u8 *str_host(struct soft_cpu *cpu, int seg, u64 off, unsigned len, enum soft_access acc)
{
	u64 lin = soft_mem_linear(cpu, seg, off, len, acc);
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, cpu->dpriv);

	if (e->tag[acc] != (lin & ~0xfffULL) || !soft_in_page(lin, len))
		return NULL;
	return e->host + (lin & 0xfff);
}

/* REP MOVS/STOS, DF=0: up to one page of elements at once. Returns the
 * number of elements done (0: take the slow path for one iteration). */
static u64 str_fast(struct soft_cpu *cpu, const struct soft_insn *in, const struct str_ctx *c,
		    u64 count)
{
	u64 di = idx_get(cpu, c, X86_RDI), si = idx_get(cpu, c, X86_RSI), n, bytes;
	bool movs = in->opcode <= 0xa5;
	u8 *d, *s = NULL;

	n = MIN(count, (4096 - (di & 0xfff)) / c->size);
	n = MIN(n, (c->amask - di) / c->size + 1); /* no address-size wrap */
	if (movs) {
		n = MIN(n, (4096 - (si & 0xfff)) / c->size);
		n = MIN(n, (c->amask - si) / c->size + 1);
	}
	if (!n)
		return 0;
	bytes = n * c->size;
	d = str_host(cpu, X86_ES, di, (unsigned)bytes, SOFT_ACC_WRITE);
	if (!d)
		return 0;
	if (movs) {
		s = str_host(cpu, c->src_seg, si, (unsigned)bytes, SOFT_ACC_READ);
		if (!s)
			return 0;
		if (d > s && d < s + bytes) {
			/* Forward overlap replicates the pattern, element by element. */
			for (u64 i = 0; i < n; i++)
				memmove(d + i * c->size, s + i * c->size, c->size);
		} else {
			memmove(d, s, bytes);
		}
		idx_step(cpu, c, X86_RSI, (s64)n);
	} else {
		u64 v = soft_reg_get(cpu, X86_RAX, c->size, true);
		if (c->size == 1)
			memset(d, (int)v, bytes);
		else
			for (u64 i = 0; i < n; i++)
				soft_host_store(d + i * c->size, c->size, v);
	}
	idx_step(cpu, c, X86_RDI, (s64)n);
	return n;
}

void soft_op_string(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct str_ctx c;
	u64 count, done = 0;
	bool io = in->opcode < 0x70;

	c.size = in->size;
	c.as = in->addrsize;
	c.amask = soft_size_mask(c.as);
	c.delta = cpu->rflags & X86_RFLAGS_DF ? -(s64)c.size : (s64)c.size;
	c.src_seg = in->seg;
	if (io)
		soft_io_check(cpu, (u16)cpu->gpr[X86_RDX], c.size);
	if (!in->rep) {
		str_once(cpu, in, &c);
		return;
	}
	/* With a 32-bit address size Intel writes RCX (zero-extended) even when
	 * no iteration runs; AMD writes the registers only in an iteration
	 * (SQ_STR_A32_LAZY_WRITE)... */
	if (c.as == 4 && !soft_quirk(cpu, SQ_STR_A32_LAZY_WRITE)) {
		cpu->gpr[X86_RCX] = (u32)cpu->gpr[X86_RCX];
		/* ...and for MOVS/STOS the index registers too (CMPS, SCAS and
		 * LODS leave them alone: checked against the host). */
		if (in->opcode == 0xa4 || in->opcode == 0xa5)
			cpu->gpr[X86_RSI] = (u32)cpu->gpr[X86_RSI];
		if (in->opcode >= 0xa4 && in->opcode <= 0xab && in->opcode != 0xa6 &&
		    in->opcode != 0xa7)
			cpu->gpr[X86_RDI] = (u32)cpu->gpr[X86_RDI];
	}
	count = idx_get(cpu, &c, X86_RCX);
	/* A fault in the middle of REP CMPS/SCAS leaves RCX/RSI/RDI advanced;
	 * Intel restores the flags from before the instruction, AMD keeps
	 * those of the last completed iteration (SQ_REP_CMP_FAULT_NEW_FLAGS). */
	bool cmp = (in->opcode & 0xf6) == 0xa6;
	if (cmp && count && !soft_quirk(cpu, SQ_REP_CMP_FAULT_NEW_FLAGS)) {
		cpu->undo_rflags = soft_flags_get(cpu);
		cpu->undo_flags = true;
	}
	/* The debug path may want one iteration at a time (cpu.h db_rep). */
	const u64 chunk = cpu->db_rep == SOFT_REP_ONE ? 1 : REP_CHUNK;
	bool fast_ok =
	    c.delta > 0 && chunk > 1 &&
	    (in->opcode == 0xa4 || in->opcode == 0xa5 || in->opcode == 0xaa || in->opcode == 0xab);
	while (count) {
		u64 n = fast_ok ? str_fast(cpu, in, &c, count) : 0;
		bool go = true;
		if (!n) {
			go = str_once(cpu, in, &c);
			n = 1;
		}
		count -= n;
		done += n * (fast_ok ? c.size : 1);
		soft_reg_set(cpu, X86_RCX, c.as, true, count);
		if (!go)
			break;
		if (count && done >= chunk) {
			cpu->rip = cpu->insn_rip; /* continue later: interrupt window */
			/* Its breakpoint does not fire again as it resumes, not
			 * even after an event's IRET (SDM Vol. 3B 18.3.1.1). */
			if (cpu->db_rep)
				cpu->rflags |= RFLAGS_RF;
			break;
		}
	}
	cpu->undo_flags = false;
}
