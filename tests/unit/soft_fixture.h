/* Test fixture for the soft engine's system parts: a hand-built machine
 * (guest RAM, buses) and one struct soft_cpu, page-table builders for each
 * paging mode, and descriptor helpers. Included by test_soft_*.c. */
#ifndef POPEK_TEST_SOFT_FIXTURE_H
#define POPEK_TEST_SOFT_FIXTURE_H

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "test.h"

struct fx {
	struct machine m;
	struct soft_cpu cpu;
	u64 next_page; /* page-table allocator (guest-physical) */
};

/* A machine whose CPU models vendor (CPU_VENDOR_HOST: the host's, as a
 * test that compares with the host needs). */
static inline struct fx *fx_new_vendor(enum cpu_vendor vendor)
{
	struct fx *f = aligned_alloc(_Alignof(struct fx), sizeof(*f)); /* the TLB's lines */

	if (!f || !memset(f, 0, sizeof(*f)) || guest_mem_init(&f->m.mem, 16 * MiB) < 0)
		abort();
	pthread_mutex_init(&f->m.dev_lock, NULL);
	bus_init(&f->m.pio, "pio", &f->m.dev_lock);
	bus_init(&f->m.mmio, "mmio", &f->m.dev_lock);
	f->m.cfg.nr_cpus = 1;
	f->m.cfg.cpu_vendor = vendor;
	f->cpu.m = &f->m;
	soft_tlb_init(&f->cpu.tlb, NULL);
	soft_reset(&f->cpu);
	f->next_page = 0x100000; /* page tables from 1 MiB up */
	return f;
}

/* Tests of behaviour both vendors share. */
static inline struct fx *fx_new(void)
{
	return fx_new_vendor(CPU_VENDOR_HOST);
}

static inline void fx_free(struct fx *f)
{
	guest_mem_destroy(&f->m.mem);
	pthread_mutex_destroy(&f->m.dev_lock);
	free(f);
}

static inline u8 *fx_ptr(struct fx *f, u64 gpa)
{
	u8 *p = guest_mem_ptr(&f->m.mem, gpa, 1);

	if (!p)
		abort();
	return p;
}

static inline u64 fx_rd64(struct fx *f, u64 gpa)
{
	u64 v;

	memcpy(&v, fx_ptr(f, gpa), 8);
	return v;
}

static inline void fx_wr64(struct fx *f, u64 gpa, u64 v)
{
	memcpy(fx_ptr(f, gpa), &v, 8);
}

static inline u32 fx_rd32(struct fx *f, u64 gpa)
{
	u32 v;

	memcpy(&v, fx_ptr(f, gpa), 4);
	return v;
}

static inline void fx_wr32(struct fx *f, u64 gpa, u32 v)
{
	memcpy(fx_ptr(f, gpa), &v, 4);
}

static inline u64 fx_page(struct fx *f)
{
	u64 p = f->next_page;

	f->next_page += 4096;
	memset(fx_ptr(f, p), 0, 4096);
	return p;
}

#define PTE_P     1ULL
#define PTE_W     2ULL
#define PTE_U     4ULL
#define PTE_A     0x20ULL
#define PTE_D     0x40ULL
#define PTE_PS    0x80ULL
#define PTE_G     0x100ULL
#define PTE_NX    (1ULL << 63)
#define PTE_TABLE (PTE_P | PTE_W | PTE_U)

/* 4-level paging: maps lin to gpa with leaf flags at level 'shift' (12, 21
 * or 30: 4K, 2M, 1G). Returns the gpa of the leaf entry. */
static inline u64 fx_map4(struct fx *f, u64 cr3, u64 lin, u64 gpa, u64 flags, unsigned shift)
{
	u64 table = cr3 & ~0xfffULL;

	for (unsigned sh = 39; sh > shift; sh -= 9) {
		u64 ent = table + ((lin >> sh) & 0x1ff) * 8;
		u64 e = fx_rd64(f, ent);
		if (!(e & PTE_P)) {
			e = fx_page(f) | PTE_TABLE;
			fx_wr64(f, ent, e);
		}
		table = e & 0x000ffffffffff000ULL;
	}
	u64 leaf = table + ((lin >> shift) & 0x1ff) * 8;
	fx_wr64(f, leaf, gpa | flags | (shift > 12 ? PTE_PS : 0));
	return leaf;
}

/* PAE paging with the PDPT at pdpt (32-byte aligned). */
static inline u64 fx_map_pae(struct fx *f, u64 pdpt, u64 lin, u64 gpa, u64 flags, unsigned shift)
{
	u64 ent = pdpt + ((lin >> 30) & 3) * 8, e = fx_rd64(f, ent);

	if (!(e & PTE_P)) {
		e = fx_page(f) | PTE_P;
		fx_wr64(f, ent, e);
	}
	u64 pd = e & ~0xfffULL;
	ent = pd + ((lin >> 21) & 0x1ff) * 8;
	if (shift == 21) {
		fx_wr64(f, ent, gpa | flags | PTE_PS);
		return ent;
	}
	e = fx_rd64(f, ent);
	if (!(e & PTE_P)) {
		e = fx_page(f) | PTE_TABLE;
		fx_wr64(f, ent, e);
	}
	ent = (e & ~0xfffULL) + ((lin >> 12) & 0x1ff) * 8;
	fx_wr64(f, ent, gpa | flags);
	return ent;
}

/* 32-bit paging: 4K (shift 12) or 4M (shift 22, flags may hold PSE-36 bits). */
static inline u64 fx_map32(struct fx *f, u64 cr3, u32 lin, u32 gpa, u32 flags, unsigned shift)
{
	u64 ent = (cr3 & ~0xfffULL) + (lin >> 22) * 4;
	u32 e;

	if (shift == 22) {
		fx_wr32(f, ent, gpa | flags | (u32)PTE_PS);
		return ent;
	}
	e = fx_rd32(f, ent);
	if (!(e & PTE_P)) {
		e = (u32)fx_page(f) | (u32)PTE_TABLE;
		fx_wr32(f, ent, e);
	}
	ent = (e & ~0xfffu) + ((lin >> 12) & 0x3ff) * 4;
	fx_wr32(f, ent, gpa | flags);
	return ent;
}

/* A flat code/data segment descriptor (SDM Vol. 3A 3.4.5). */
static inline u64 fx_desc(u32 base, u32 limit, unsigned type, unsigned dpl, bool l, bool db, bool g)
{
	return (limit & 0xffffULL) | ((u64)(base & 0xffffff) << 16) | ((u64)type << 40) |
	       (1ULL << 44) | ((u64)dpl << 45) | (1ULL << 47) | ((u64)(limit >> 16 & 0xf) << 48) |
	       ((u64)l << 53) | ((u64)db << 54) | ((u64)g << 55) | ((u64)(base >> 24) << 56);
}

/* Puts the segment described by desc into register seg directly. */
static inline void fx_seg(struct soft_cpu *cpu, int seg, u16 sel, u64 desc)
{
	soft_desc_decode(desc, sel, &cpu->seg[seg]);
}

/* Protected mode (32-bit flat, CPL 0), GDT at gdt with 16 entries. */
static inline void fx_prot32(struct fx *f, u64 gdt)
{
	struct soft_cpu *cpu = &f->cpu;

	memset(fx_ptr(f, gdt), 0, 16 * 8);
	fx_wr64(f, gdt + 8, fx_desc(0, 0xfffff, 0xb, 0, false, true, true));  /* 0x08 code */
	fx_wr64(f, gdt + 16, fx_desc(0, 0xfffff, 0x3, 0, false, true, true)); /* 0x10 data */
	cpu->gdt = (struct x86_dtable){gdt, 16 * 8 - 1};
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
	fx_seg(cpu, X86_CS, 0x08, fx_desc(0, 0xfffff, 0xb, 0, false, true, true));
	for (int s = 0; s < 6; s++)
		if (s != X86_CS)
			fx_seg(cpu, s, 0x10, fx_desc(0, 0xfffff, 0x3, 0, false, true, true));
	soft_mode_update(cpu);
}

/* 64-bit mode at CPL 0 with 4-level paging rooted at a new PML4, NXE on,
 * and a GDT at gdt: 0x08 kernel code64, 0x10 kernel data, 0x18 user data,
 * 0x20 user code64 (order of SYSRET: STAR[63:48] = 0x10 -> 0x1b/0x23). */
static inline u64 fx_long(struct fx *f, u64 gdt)
{
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_page(f);

	memset(fx_ptr(f, gdt), 0, 16 * 8);
	fx_wr64(f, gdt + 0x08, fx_desc(0, 0xfffff, 0xb, 0, true, false, true));
	fx_wr64(f, gdt + 0x10, fx_desc(0, 0xfffff, 0x3, 0, false, true, true));
	fx_wr64(f, gdt + 0x18, fx_desc(0, 0xfffff, 0x3, 3, false, true, true));
	fx_wr64(f, gdt + 0x20, fx_desc(0, 0xfffff, 0xb, 3, true, false, true));
	cpu->gdt = (struct x86_dtable){gdt, 16 * 8 - 1};
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG | X86_CR0_WP;
	cpu->cr4 = X86_CR4_PAE;
	cpu->cr3 = pml4;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE | X86_EFER_SCE;
	fx_seg(cpu, X86_CS, 0x08, fx_desc(0, 0xfffff, 0xb, 0, true, false, true));
	for (int s = 0; s < 6; s++)
		if (s != X86_CS)
			fx_seg(cpu, s, 0x10, fx_desc(0, 0xfffff, 0x3, 0, false, true, true));
	soft_mode_update(cpu);
	soft_tlb_flush(cpu, false);
	return pml4;
}

/* Switches the fixture CPU to CPL 3 in 64-bit mode (user selectors). */
static inline void fx_user64(struct fx *f)
{
	struct soft_cpu *cpu = &f->cpu;

	fx_seg(cpu, X86_CS, 0x23, fx_desc(0, 0xfffff, 0xb, 3, true, false, true));
	fx_seg(cpu, X86_SS, 0x1b, fx_desc(0, 0xfffff, 0x3, 3, false, true, true));
	soft_mode_update(cpu);
}

/* FX_FAULTS puts a setjmp in the test function; a longjmp only ever comes
 * from inside stmt, so locals set outside it are not at risk. */
#pragma GCC diagnostic ignored "-Wclobbered"

/* Runs stmt and reports whether it raised (vector/error in cpu->pending_*). */
#define FX_FAULTS(cpu, stmt)                                                                       \
	({                                                                                         \
		volatile bool faulted_ = true;                                                     \
		(cpu)->pending_vector = -1;                                                        \
		if (setjmp((cpu)->fault_jmp) == 0) {                                               \
			stmt;                                                                      \
			faulted_ = false;                                                          \
		}                                                                                  \
		faulted_;                                                                          \
	})

#endif
