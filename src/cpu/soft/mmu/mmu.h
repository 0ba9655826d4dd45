/* Guest memory access for the soft engine: inline TLB-hit fast paths and the
 * MMU's internal entry points (mmu.c, seg.c). Include this instead of calling
 * soft_read()/soft_write() where speed matters: on a TLB hit in 64-bit mode a
 * read is a canonical check, a tag compare and a load. */
#ifndef POPEK_SOFT_MMU_H
#define POPEK_SOFT_MMU_H

#include <string.h>

#include "cpu/soft/cpu.h"

/* MAXPHYADDR advertised in CPUID 0x80000008 (Intel SDM Vol. 3A 4.1.4):
 * page-table address bits at and above it are reserved. */
#define SOFT_MAXPHYADDR 39
/* Linear-address width of 4-level paging. */
#define SOFT_VADDR_BITS 48

/* ---- out-of-line parts ---- */

/* Segment checks outside 64-bit mode (Intel SDM Vol. 3A 5.3): type, limit
 * (expand-down too) for size bytes at seg:off; raises #GP(0) or #SS(0).
 * seg < 0: off is already linear. Returns the 32-bit linear address. */
u64 soft_seg_linear(struct soft_cpu *cpu, int seg, u64 off, unsigned size, enum soft_access acc);
/* #GP(0), or #SS(0) when seg is SS: a non-canonical address in 64-bit mode. */
_Noreturn void soft_raise_noncanonical(struct soft_cpu *cpu, int seg);

/* Translation of linear address lin for an access of kind acc with
 * privilege priv (enum soft_priv: the TLB bank the access uses): sets A/D
 * bits, raises #PF (CR2 = lin). Returns the guest-physical address. Does
 * not touch the TLB. */
u64 soft_translate(struct soft_cpu *cpu, u64 lin, enum soft_access acc, unsigned priv);

/* Linear-address accesses of any length up to 4096 bytes: every page is
 * translated and checked before any byte moves; RAM through the TLB, other
 * addresses through the MMIO bus in naturally sized pieces. priv: enum
 * soft_priv. */
void soft_lin_read(struct soft_cpu *cpu, u64 lin, void *dst, unsigned len, enum soft_access acc,
		   unsigned priv);
void soft_lin_write(struct soft_cpu *cpu, u64 lin, const void *src, unsigned len, unsigned priv);
u64 soft_lin_read_slow(struct soft_cpu *cpu, u64 lin, unsigned size, unsigned priv);
void soft_lin_write_slow(struct soft_cpu *cpu, u64 lin, unsigned size, u64 value, unsigned priv);

/* Probes an access of len (<= 4096) bytes at seg:off of kind acc: every
 * segment and paging check, #GP/#SS/#PF as the access would raise them,
 * A/D bits as it would set them, but no data moves and no device is
 * touched (unlike soft_read_for_write() on MMIO). */
void soft_check_access(struct soft_cpu *cpu, int seg, u64 off, unsigned len, enum soft_access acc);

/* Host pointer for a locked read-modify-write of size bytes at seg:off,
 * after the checks and the D-bit update of a write. NULL when the access
 * crosses a page, is not RAM or hits a page holding decoded code: then use
 * soft_read_for_write() + soft_write() under a lock of your own. */
u8 *soft_rmw_ptr(struct soft_cpu *cpu, int seg, u64 off, unsigned size);

/* Host pointer to the code bytes at CS:off, with *avail set to how many
 * bytes can be read from it without crossing a page or the CS limit
 * (at least 1) and *gpa to the guest-physical address of the first byte.
 * Raises #GP/#PF as a fetch of that byte would. NULL when the page is not
 * RAM: use soft_fetch() then. */
const u8 *soft_fetch_ptr(struct soft_cpu *cpu, u64 off, unsigned *avail, gpa_t *gpa);

/* ---- inline helpers ---- */

static inline bool soft_canonical(u64 lin)
{
	return (u64)((s64)(lin << (64 - SOFT_VADDR_BITS)) >> (64 - SOFT_VADDR_BITS)) == lin;
}

static inline u64 soft_host_load(const u8 *p, unsigned size)
{
	u8 b;
	u16 w;
	u32 d;
	u64 q;

	/* Fixed-size memcpy compiles to one (atomic when aligned) move. */
	switch (size) {
	case 1:
		memcpy(&b, p, 1);
		return b;
	case 2:
		memcpy(&w, p, 2);
		return w;
	case 4:
		memcpy(&d, p, 4);
		return d;
	default:
		memcpy(&q, p, 8);
		return q;
	}
}

static inline void soft_host_store(u8 *p, unsigned size, u64 v)
{
	u8 b = (u8)v;
	u16 w = (u16)v;
	u32 d = (u32)v;

	switch (size) {
	case 1:
		memcpy(p, &b, 1);
		break;
	case 2:
		memcpy(p, &w, 2);
		break;
	case 4:
		memcpy(p, &d, 4);
		break;
	default:
		memcpy(p, &v, 8);
		break;
	}
}

/* Linear address of size bytes at seg:off for an access of kind acc, with
 * every segmentation check; raises #GP/#SS. */
static inline u64 soft_mem_linear(struct soft_cpu *cpu, int seg, u64 off, unsigned size,
				  enum soft_access acc)
{
	if (__builtin_expect(cpu->mode == SOFT_MODE_LONG64, 1)) {
		u64 lin = off;
		/* Intel SDM Vol. 3A 3.4.4: only FS and GS have a base in 64-bit mode. */
		if (seg >= X86_FS)
			lin += cpu->seg[seg].base;
		if (__builtin_expect(!soft_canonical(lin), 0))
			soft_raise_noncanonical(cpu, seg);
		return lin;
	}
	return soft_seg_linear(cpu, seg, off, size, acc);
}

static inline struct soft_tlb_entry *soft_tlb_slot(struct soft_cpu *cpu, u64 lin, unsigned priv)
{
	return &cpu->tlb.e[priv][soft_tlb_index(lin)];
}

/* True when a size-byte access at lin stays inside its page. */
static inline bool soft_in_page(u64 lin, unsigned size)
{
	return (lin & 0xfff) <= 4096 - size;
}

static inline u64 soft_lin_load(struct soft_cpu *cpu, u64 lin, unsigned size, unsigned priv)
{
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, priv);

	if (__builtin_expect(e->tag[SOFT_ACC_READ] == (lin & ~0xfffULL) && soft_in_page(lin, size),
			     1))
		return soft_host_load(e->host + (lin & 0xfff), size);
	return soft_lin_read_slow(cpu, lin, size, priv);
}

static inline void soft_lin_store(struct soft_cpu *cpu, u64 lin, unsigned size, u64 value,
				  unsigned priv)
{
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, priv);

	if (__builtin_expect(e->tag[SOFT_ACC_WRITE] == (lin & ~0xfffULL) && soft_in_page(lin, size),
			     1)) {
		soft_host_store(e->host + (lin & 0xfff), size, value);
		return;
	}
	soft_lin_write_slow(cpu, lin, size, value, priv);
}

/* soft_read()/soft_write() inline: size 1, 2, 4 or 8. */
static inline u64 soft_mem_read(struct soft_cpu *cpu, int seg, u64 off, unsigned size)
{
	u64 lin = soft_mem_linear(cpu, seg, off, size, SOFT_ACC_READ);

	return soft_lin_load(cpu, lin, size, cpu->dpriv);
}

static inline void soft_mem_write(struct soft_cpu *cpu, int seg, u64 off, unsigned size, u64 value)
{
	u64 lin = soft_mem_linear(cpu, seg, off, size, SOFT_ACC_WRITE);

	soft_lin_store(cpu, lin, size, value, cpu->dpriv);
}

#endif
