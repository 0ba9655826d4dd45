/* Boot vCPU entry states: boot GDT, identity page tables, long and protected mode. */
#include <errno.h>
#include <string.h>

#include "boot/loader.h"
#include "popek/log.h"
#include "popek/layout.h"

#define GDT_ENTRIES 4

/* Page table entry bits (Intel SDM Vol. 3A 4.5). */
#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define APIC_BASE_BSP    (1ULL << 8)
#define APIC_BASE_ENABLE (1ULL << 11)

/* Flat 4 GiB segment with a code or data type (Intel SDM Vol. 3A 3.4.5). */
static struct x86_seg entry_flat(u16 sel, u8 type, bool long_code)
{
	return (struct x86_seg){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .s = 1,
	    .present = 1,
	    .l = long_code,
	    .db = !long_code,
	    .g = 1,
	};
}

/* The 8-byte descriptor of a code/data segment, so that the GDT in guest
 * memory always matches the hidden parts handed to the engine. */
static u64 entry_desc(const struct x86_seg *s)
{
	u64 limit = s->g ? s->limit >> 12 : s->limit;
	u64 d = 0;

	d |= limit & 0xffff;
	d |= (s->base & 0xffffff) << 16;
	d |= (u64)(s->type & 0xf) << 40;
	d |= (u64)(s->s & 1) << 44;
	d |= (u64)(s->dpl & 3) << 45;
	d |= (u64)(s->present & 1) << 47;
	d |= ((limit >> 16) & 0xf) << 48;
	d |= (u64)(s->avl & 1) << 52;
	d |= (u64)(s->l & 1) << 53;
	d |= (u64)(s->db & 1) << 54;
	d |= (u64)(s->g & 1) << 55;
	d |= ((s->base >> 24) & 0xff) << 56;
	return d;
}

/* Common part: segments, a 4-entry GDT (null, unused, __BOOT_CS, __BOOT_DS)
 * written at LAYOUT_GDT, an empty IDT, TR and LDT. boot.rst only requires
 * selectors 0x10/0x18; multiboot and PVH leave the selectors unspecified,
 * so the same slots hold 32-bit segments for them. */
static int entry_common(const struct guest_mem *mem, struct x86_state *st, bool long_mode)
{
	struct x86_sregs *sr = &st->sregs;
	u8 gdt[GDT_ENTRIES * 8];

	memset(st, 0, sizeof(*st));
	sr->seg[X86_CS] = entry_flat(BOOT_SEL_CODE, 0xb, long_mode);
	sr->seg[X86_DS] = entry_flat(BOOT_SEL_DATA, 0x3, false);
	sr->seg[X86_ES] = sr->seg[X86_DS];
	sr->seg[X86_FS] = sr->seg[X86_DS];
	sr->seg[X86_GS] = sr->seg[X86_DS];
	sr->seg[X86_SS] = sr->seg[X86_DS];

	memset(gdt, 0, sizeof(gdt));
	put_le64(gdt + BOOT_SEL_CODE, entry_desc(&sr->seg[X86_CS]));
	put_le64(gdt + BOOT_SEL_DATA, entry_desc(&sr->seg[X86_DS]));
	if (guest_mem_write(mem, LAYOUT_GDT, gdt, sizeof(gdt)))
		return -EFAULT;
	sr->gdt = (struct x86_dtable){LAYOUT_GDT, sizeof(gdt) - 1};
	sr->idt = (struct x86_dtable){LAYOUT_IDT, 0};

	/* VMX guest-state checks (Intel SDM Vol. 3C 26.3.1.2) require a usable
	 * TR: a busy TSS (type 11, 64-bit in long mode, 32-bit otherwise). Only
	 * its hidden part matters until the kernel loads its own TR, so it has
	 * no GDT slot. pvh.pandoc asks for base 0, limit 0x67. */
	sr->tr = (struct x86_seg){.limit = 0x67, .type = 11, .present = 1};
	sr->ldt = (struct x86_seg){.type = 2, .unusable = 1};

	/* pvh.pandoc: only PE among the writable CR0 bits; ET is read-only 1. */
	sr->cr0 = X86_CR0_PE | X86_CR0_ET;
	sr->apic_base = LAYOUT_LAPIC | APIC_BASE_BSP | APIC_BASE_ENABLE;
	st->regs.rflags = X86_RFLAGS_FIXED;
	st->regs.gpr[X86_RSP] = LAYOUT_BOOT_STACK;
	return 0;
}

/* Identity map of 0..4 GiB: one PML4 entry, four PDPT entries, four PDs of
 * 2 MiB pages (Intel SDM Vol. 3A 4.5, Table 4-17). */
static int entry_page_tables(const struct guest_mem *mem)
{
	u8 *pml4 = guest_mem_ptr(mem, LAYOUT_PML4, 4096);
	u8 *pdpt = guest_mem_ptr(mem, LAYOUT_PDPT, 4096);
	u8 *pd = guest_mem_ptr(mem, LAYOUT_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	put_le64(pml4, LAYOUT_PDPT | PTE_P | PTE_RW);
	for (u64 i = 0; i < 4; i++)
		put_le64(pdpt + i * 8, (LAYOUT_PD + i * 4096) | PTE_P | PTE_RW);
	for (u64 i = 0; i < 4 * 512; i++)
		put_le64(pd + i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
	return 0;
}

int boot_entry_long(const struct guest_mem *mem, struct x86_state *st, u64 rip, u64 rsi)
{
	int r = entry_common(mem, st, true);

	if (!r)
		r = entry_page_tables(mem);
	if (r) {
		log_error("boot tables at %#llx-%#llx are not in guest RAM",
			  (unsigned long long)LAYOUT_GDT, (unsigned long long)LAYOUT_PD + 4 * 4096);
		return r;
	}
	st->sregs.cr0 |= X86_CR0_NE | X86_CR0_PG;
	st->sregs.cr3 = LAYOUT_PML4;
	st->sregs.cr4 = X86_CR4_PAE;
	st->sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	st->regs.rip = rip;
	st->regs.gpr[X86_RSI] = rsi;
	return 0;
}

int boot_entry_protected(const struct guest_mem *mem, struct x86_state *st, u32 eip)
{
	int r = entry_common(mem, st, false);

	if (r) {
		log_error("boot GDT at %#llx is not in guest RAM", (unsigned long long)LAYOUT_GDT);
		return r;
	}
	st->regs.rip = eip;
	return 0;
}
