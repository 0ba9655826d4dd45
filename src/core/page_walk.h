/* Read-only walk of the guest's page tables for diagnostics (crash dumps):
 * it sets no accessed bits and raises nothing. Engines translate with their
 * own MMU; this one only explains. */
#ifndef POPEK_PAGE_WALK_H
#define POPEK_PAGE_WALK_H

#include "core/guest_mem.h"
#include "core/x86_state.h"

struct page_walk {
	unsigned levels;      /* entries read (0 when paging is off) */
	u64 entry_gpa[5];     /* where each entry was read */
	u64 entry[5];         /* its value */
	bool ok;              /* translation succeeded */
	gpa_t gpa;            /* result when ok */
	const char *why;      /* reason when not ok */
};

/* Translates linear address lin with the paging mode given by sregs. */
void page_walk(const struct guest_mem *mem, const struct x86_sregs *sregs, u64 lin,
	       struct page_walk *out);

#endif
