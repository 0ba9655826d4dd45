/* The LAPIC's xAPIC register page form (core/vcpu_state.h): 32-bit registers at 16-byte strides. */
#include "core/vcpu_state.h"

/* Offsets outside the page or not 16-aligned name no register (SDM Vol. 3A
 * 10.4.1, Table 10-1): they read 0 and writes to them are dropped. */
static bool lapic_page_offset_ok(unsigned offset)
{
	return offset < X86_LAPIC_PAGE && !(offset & 0xF);
}

u32 x86_lapic_reg(const u8 *page, unsigned offset)
{
	if (!lapic_page_offset_ok(offset))
		return 0;
	return (u32)page[offset] | (u32)page[offset + 1] << 8 | (u32)page[offset + 2] << 16 |
	       (u32)page[offset + 3] << 24;
}

void x86_lapic_set_reg(u8 *page, unsigned offset, u32 value)
{
	if (!lapic_page_offset_ok(offset))
		return;
	for (unsigned i = 0; i < 4; i++)
		page[offset + i] = (u8)(value >> (8 * i));
}
