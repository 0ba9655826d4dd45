/* Debug registers: breakpoint matching, DR6 and DR7.GD (Intel SDM Vol. 3B
 * 18.2-18.3). The one-instruction path that uses them is in exec/interp.c. */
#include "cpu/engine.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"

#define DR6_BD (1ULL << 13)
#define DR7_GD (1ULL << 13)

/* DR7's R/W field of breakpoint n: 0 execute, 1 write, 2 I/O, 3 read/write. */
static unsigned dr7_rw(u64 dr7, unsigned n)
{
	return (dr7 >> (16 + 4 * n)) & 3;
}

/* Bytes covered by breakpoint n: LEN 00=1, 01=2, 10=8, 11=4 (18.2.5). */
static u64 dr7_len(u64 dr7, unsigned n)
{
	static const u8 len[4] = {1, 2, 8, 4};

	return len[(dr7 >> (18 + 4 * n)) & 3];
}

void soft_debug_update(struct soft_cpu *cpu)
{
	u64 dr7 = cpu->dr[7];
	u8 exec = 0, data = 0;

	for (unsigned n = 0; n < 4; n++) {
		if (!((dr7 >> (2 * n)) & 3)) /* neither Ln nor Gn */
			continue;
		switch (dr7_rw(dr7, n)) {
		case 0:
			exec |= 1u << n;
			break;
		case 1:
		case 3:
			data |= 1u << n;
			break;
		default:
			break; /* I/O breakpoints (CR4.DE) are not modelled */
		}
	}
	cpu->db_exec = exec;
	/* The debugger's watchpoints are data breakpoints too (bits 4-7). */
	for (unsigned n = 0; cpu->dbg && n < cpu->dbg->nr_watch && n < 4; n++)
		data |= 0x10u << n;
	/* Pages a breakpoint watches must take the slow path: drop what the
	 * TLB holds now (soft_debug_page_watched keeps them out after). */
	if (data || cpu->db_data)
		soft_tlb_flush(cpu, false);
	cpu->db_data = data;
}

/* Data breakpoint slot n as [start, start + len): 0-3 the guest's DR0-DR3
 * (aligned to their length), 4-7 the debugger's watchpoints; false when
 * the slot is not enabled (db_data). */
static bool data_slot(const struct soft_cpu *cpu, unsigned n, u64 *start, u64 *len)
{
	if (!(cpu->db_data & (1u << n)))
		return false;
	if (n < 4) {
		*len = dr7_len(cpu->dr[7], n);
		*start = cpu->dr[n] & ~(*len - 1);
	} else {
		*start = cpu->dbg->watch[n - 4].addr;
		*len = cpu->dbg->watch[n - 4].len;
	}
	return true;
}

/* Whether slot n watches reads too, or writes. */
static bool slot_sees(const struct soft_cpu *cpu, unsigned n, bool write)
{
	if (n < 4)
		return write || dr7_rw(cpu->dr[7], n) == 3;
	return write ? cpu->dbg->watch[n - 4].write : cpu->dbg->watch[n - 4].read;
}

unsigned soft_debug_exec_hits(const struct soft_cpu *cpu, u64 lin)
{
	unsigned hit = 0;

	for (unsigned n = 0; n < 4; n++)
		if ((cpu->db_exec & (1u << n)) && cpu->dr[n] == lin)
			hit |= 1u << n;
	return hit;
}

void soft_debug_data(struct soft_cpu *cpu, u64 lin, unsigned len, bool write)
{
	u64 start, blen;

	for (unsigned n = 0; n < 8; n++) {
		/* The access [lin, lin+len) overlaps [start, start+blen). */
		if (!data_slot(cpu, n, &start, &blen) || !slot_sees(cpu, n, write) ||
		    lin >= start + blen || start >= lin + len)
			continue;
		if (n < 4) {
			cpu->db_hits |= 1u << n;
		} else if (!cpu->dbg_stop) {
			cpu->dbg_stop = ENGINE_DEBUG_WATCH + 1;
			cpu->dbg_stop_addr = start;
		}
	}
}

bool soft_debug_page_watched(const struct soft_cpu *cpu, u64 lin)
{
	u64 page = lin & ~0xfffULL, start, blen;

	for (unsigned n = 0; n < 8; n++)
		if (data_slot(cpu, n, &start, &blen) &&
		    ((start & ~0xfffULL) == page || ((start + blen - 1) & ~0xfffULL) == page))
			return true;
	return false;
}

void soft_debug_raise_trap(struct soft_cpu *cpu, u64 dr6_bits)
{
	/* B0-B3 say what this #DB is about; BD and BS stay until software
	 * clears them (18.2.3). */
	cpu->dr[6] = (cpu->dr[6] & ~0xfULL) | dr6_bits;
	cpu->pending_vector = EXC_DB;
	cpu->pending_error = 0;
	cpu->pending_has_error = false;
}

void soft_debug_check_gd(struct soft_cpu *cpu)
{
	if (!(cpu->dr[7] & DR7_GD))
		return;
	/* A fault: RIP stays on the MOV DR; GD is cleared so that the
	 * handler can use the debug registers (18.2.4). */
	cpu->dr[6] |= DR6_BD;
	cpu->dr[7] &= ~DR7_GD;
	cpu->db_fault_rf = true;
	soft_raise(cpu, EXC_DB, 0);
}

bool soft_debug_dbg_before(struct soft_cpu *cpu, u64 lin)
{
	if (!cpu->dbg)
		return false;
	for (unsigned i = 0; i < cpu->dbg->nr_bp; i++)
		if (cpu->dbg->bp[i] == lin) {
			cpu->dbg_stop = ENGINE_DEBUG_BREAK + 1;
			cpu->dbg_stop_addr = lin;
			return true;
		}
	return false;
}

void soft_debug_dbg_after(struct soft_cpu *cpu)
{
	if (cpu->dbg && cpu->dbg->step && !cpu->dbg_stop)
		cpu->dbg_stop = ENGINE_DEBUG_STEP + 1;
}
