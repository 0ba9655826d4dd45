/* 82093AA IOAPIC model (Intel 82093AA datasheet, sections 3.1-3.2). */
#include "cpu/soft/irqchip/ioapic.h"

#include <string.h>

/* Indirect registers behind IOREGSEL (datasheet 3.2). */
#define IOAPIC_REG_ID      0x00
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_ARB     0x02
#define IOAPIC_REG_RTE     0x10 /* 0x10 + 2 * pin: low half, + 1: high half */

/* Bits the guest may write: vector, delivery mode, destination mode,
 * polarity, trigger mode, mask, destination. Delivery status and Remote
 * IRR are read-only. */
#define IOAPIC_RTE_WRITABLE                                                                        \
	(0xFF000000000000FFull | 0x7FFull | (1ull << 11) | (1ull << 13) | (1ull << 15) |           \
	 (1ull << 16))

void soft_ioapic_reset(struct soft_ioapic *io)
{
	io->ioregsel = 0;
	for (unsigned i = 0; i < SOFT_IOAPIC_PINS; i++)
		io->rte[i] = SOFT_IOAPIC_RTE_MASKED;
}

void soft_ioapic_init(struct soft_ioapic *io, struct soft_apic_bus *bus, unsigned id)
{
	memset(io, 0, sizeof(*io));
	io->bus = bus;
	io->id = id & 0xF;
	soft_ioapic_reset(io);
}

/* Sends pin's interrupt message. Level pins set Remote IRR until the EOI. */
static void ioapic_deliver(struct soft_ioapic *io, unsigned pin)
{
	u64 rte = io->rte[pin];
	struct soft_apic_msg m = {
	    .dest = (u32)(rte >> 56),
	    .vector = (u8)rte,
	    .mode = (rte >> 8) & 7,
	    .logical = rte & SOFT_IOAPIC_RTE_DEST_LOGICAL,
	    .level = rte & SOFT_IOAPIC_RTE_LEVEL,
	    .assert = true,
	    .src = -1,
	    .defer = true, /* the caller holds the IOAPIC/PIC lock */
	};

	if (m.level)
		io->rte[pin] |= SOFT_IOAPIC_RTE_REMOTE_IRR;
	io->stat_delivered++;
	if (io->bus)
		soft_apic_bus_deliver(io->bus, &m);
}

/* Delivers a level pin if its line is up, it is unmasked and not in service. */
static void ioapic_check_level(struct soft_ioapic *io, unsigned pin)
{
	u64 rte = io->rte[pin];

	if (!(rte & SOFT_IOAPIC_RTE_LEVEL) || (rte & SOFT_IOAPIC_RTE_MASKED) ||
	    (rte & SOFT_IOAPIC_RTE_REMOTE_IRR) || !(io->lines & (1u << pin)))
		return;
	ioapic_deliver(io, pin);
}

void soft_ioapic_set_pin(struct soft_ioapic *io, unsigned pin, bool level)
{
	u32 bit;
	bool was;

	if (pin >= SOFT_IOAPIC_PINS)
		return;
	bit = 1u << pin;
	was = io->lines & bit;
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	if (io->rte[pin] & SOFT_IOAPIC_RTE_LEVEL) {
		ioapic_check_level(io, pin);
		return;
	}
	/* Edge: a masked pin loses the edge (datasheet 3.2.4, bit 16). */
	if (level && !was && !(io->rte[pin] & SOFT_IOAPIC_RTE_MASKED))
		ioapic_deliver(io, pin);
}

void soft_ioapic_eoi(struct soft_ioapic *io, u8 vector)
{
	for (unsigned pin = 0; pin < SOFT_IOAPIC_PINS; pin++) {
		u64 rte = io->rte[pin];

		if ((u8)rte != vector || !(rte & SOFT_IOAPIC_RTE_LEVEL) ||
		    !(rte & SOFT_IOAPIC_RTE_REMOTE_IRR))
			continue;
		io->rte[pin] &= ~SOFT_IOAPIC_RTE_REMOTE_IRR;
		ioapic_check_level(io, pin);
	}
}

static u32 ioapic_reg_read(const struct soft_ioapic *io, u32 reg)
{
	unsigned pin;

	switch (reg) {
	case IOAPIC_REG_ID:
		return io->id << 24;
	case IOAPIC_REG_VERSION:
		return SOFT_IOAPIC_VERSION;
	case IOAPIC_REG_ARB:
		return io->id << 24;
	}
	if (reg < IOAPIC_REG_RTE || reg >= IOAPIC_REG_RTE + 2 * SOFT_IOAPIC_PINS)
		return 0;
	pin = (reg - IOAPIC_REG_RTE) / 2;
	return (reg & 1) ? (u32)(io->rte[pin] >> 32) : (u32)io->rte[pin];
}

static void ioapic_rte_write(struct soft_ioapic *io, unsigned pin, bool high, u32 value)
{
	u64 old = io->rte[pin], v;

	if (high)
		v = (old & 0xFFFFFFFFull) | ((u64)value << 32);
	else
		v = (old & ~0xFFFFFFFFull) | value;
	v = (v & IOAPIC_RTE_WRITABLE) | (old & SOFT_IOAPIC_RTE_REMOTE_IRR);
	/* Remote IRR has no meaning for edge pins; Linux clears a stuck one by
	 * switching the pin to edge and back (arch/x86/kernel/apic/io_apic.c). */
	if (!(v & SOFT_IOAPIC_RTE_LEVEL))
		v &= ~SOFT_IOAPIC_RTE_REMOTE_IRR;
	io->rte[pin] = v;
	/* An unmasked level pin whose line is still up delivers now. */
	ioapic_check_level(io, pin);
}

u32 soft_ioapic_mmio_read(struct soft_ioapic *io, u64 offset, unsigned size)
{
	u32 v;

	if (offset == 0x00)
		v = io->ioregsel;
	else if (offset == 0x10)
		v = ioapic_reg_read(io, io->ioregsel);
	else
		return 0;
	if (size < 4)
		v &= (1u << (size * 8)) - 1;
	return v;
}

void soft_ioapic_mmio_write(struct soft_ioapic *io, u64 offset, unsigned size, u32 value)
{
	u32 reg;

	if (size < 4)
		value &= (1u << (size * 8)) - 1;
	if (offset == 0x00) {
		io->ioregsel = value & 0xFF;
		return;
	}
	if (offset != 0x10)
		return;
	reg = io->ioregsel;
	if (reg == IOAPIC_REG_ID) {
		io->id = (value >> 24) & 0xF;
		return;
	}
	if (reg < IOAPIC_REG_RTE || reg >= IOAPIC_REG_RTE + 2 * SOFT_IOAPIC_PINS)
		return; /* version and arbitration id are read-only */
	ioapic_rte_write(io, (reg - IOAPIC_REG_RTE) / 2, reg & 1, value);
}
