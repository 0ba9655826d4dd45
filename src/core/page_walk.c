/* Diagnostic page-table walk: 32-bit, PAE and 4-level paging (Intel SDM Vol. 3A ch. 4). */
#include "core/page_walk.h"

#include <string.h>

static bool walk_read(const struct guest_mem *mem, gpa_t gpa, unsigned size, u64 *val,
		      struct page_walk *out)
{
	*val = 0;
	if (guest_mem_read(mem, gpa, val, size) < 0) {
		out->why = "page-table entry outside guest RAM";
		return false;
	}
	out->entry_gpa[out->levels] = gpa;
	out->entry[out->levels] = *val;
	out->levels++;
	return true;
}

static void walk_long(const struct guest_mem *mem, u64 cr3, u64 lin, struct page_walk *out)
{
	const u64 addr_mask = 0x000ffffffffff000ULL;
	u64 table = cr3 & addr_mask, e;
	static const unsigned shifts[] = {39, 30, 21, 12};

	for (unsigned lvl = 0; lvl < 4; lvl++) {
		unsigned idx = (lin >> shifts[lvl]) & 0x1ff;
		if (!walk_read(mem, table + idx * 8, 8, &e, out))
			return;
		if (!(e & 1)) {
			out->why = "entry not present";
			return;
		}
		if ((lvl == 1 || lvl == 2) && (e & 0x80)) {
			u64 size = 1ULL << shifts[lvl];
			out->gpa = (e & addr_mask & ~(size - 1)) | (lin & (size - 1));
			out->ok = true;
			return;
		}
		table = e & addr_mask;
	}
	out->gpa = table | (lin & 0xfff);
	out->ok = true;
}

static void walk_pae(const struct guest_mem *mem, u64 cr3, u64 lin, struct page_walk *out)
{
	const u64 addr_mask = 0x000ffffffffff000ULL;
	u64 e;

	if (!walk_read(mem, (cr3 & 0xffffffe0) + ((lin >> 30) & 3) * 8, 8, &e, out))
		return;
	if (!(e & 1)) {
		out->why = "PDPTE not present";
		return;
	}
	if (!walk_read(mem, (e & addr_mask) + ((lin >> 21) & 0x1ff) * 8, 8, &e, out))
		return;
	if (!(e & 1)) {
		out->why = "PDE not present";
		return;
	}
	if (e & 0x80) {
		out->gpa = (e & addr_mask & ~0x1fffffULL) | (lin & 0x1fffff);
		out->ok = true;
		return;
	}
	if (!walk_read(mem, (e & addr_mask) + ((lin >> 12) & 0x1ff) * 8, 8, &e, out))
		return;
	if (!(e & 1)) {
		out->why = "PTE not present";
		return;
	}
	out->gpa = (e & addr_mask) | (lin & 0xfff);
	out->ok = true;
}

static void walk_32(const struct guest_mem *mem, const struct x86_sregs *s, u64 lin,
		    struct page_walk *out)
{
	u64 e;

	lin &= 0xffffffff;
	if (!walk_read(mem, (s->cr3 & 0xfffff000) + (lin >> 22) * 4, 4, &e, out))
		return;
	if (!(e & 1)) {
		out->why = "PDE not present";
		return;
	}
	if ((e & 0x80) && (s->cr4 & X86_CR4_PSE)) {
		out->gpa = (e & 0xffc00000) | ((e & 0x1fe000ULL) << 19) | (lin & 0x3fffff);
		out->ok = true;
		return;
	}
	if (!walk_read(mem, (e & 0xfffff000) + ((lin >> 12) & 0x3ff) * 4, 4, &e, out))
		return;
	if (!(e & 1)) {
		out->why = "PTE not present";
		return;
	}
	out->gpa = (e & 0xfffff000) | (lin & 0xfff);
	out->ok = true;
}

void page_walk(const struct guest_mem *mem, const struct x86_sregs *sregs, u64 lin,
	       struct page_walk *out)
{
	memset(out, 0, sizeof(*out));
	if (!(sregs->cr0 & X86_CR0_PG)) {
		out->gpa = lin;
		out->ok = true;
		return;
	}
	if (sregs->efer & X86_EFER_LMA)
		walk_long(mem, sregs->cr3, lin, out);
	else if (sregs->cr4 & X86_CR4_PAE)
		walk_pae(mem, sregs->cr3, lin, out);
	else
		walk_32(mem, sregs, lin, out);
}
