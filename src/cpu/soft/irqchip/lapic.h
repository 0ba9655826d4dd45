/* The soft engine's local APIC (Intel SDM Vol. 3A ch. 10): xAPIC page, x2APIC MSRs, timer, IPIs. */
#ifndef POPEK_SOFT_LAPIC_H
#define POPEK_SOFT_LAPIC_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/config.h"
#include "popek/types.h"

/*
 * Time: every function that needs it takes now_ns, the guest time in ns since
 * VM start (CLOCK_MONOTONIC based). The guest TSC is now_ns + tsc_offset.
 *
 * The APIC timer's input clock (the "bus clock" before the divider). At 1 GHz
 * one timer tick is one ns. cpuid.c reports it in leaf 0x40000010 EBX (in
 * kHz) and, if it describes CPUID 0x15, as the core crystal clock (Linux then
 * takes its LAPIC timer period from it instead of calibrating).
 */
#define SOFT_LAPIC_BUS_HZ  1000000000ULL
#define SOFT_LAPIC_VERSION 0x50014u /* max LVT entry 5 (no CMCI), version 0x14 */
/* soft_lapic_pending_vector()'s answer when the 8259A (ExtINT) has the CPU's
 * attention; the real vector is what soft_lapic_ack() returns. */
#define SOFT_LAPIC_EXTINT 0x100
/* Periodic timers shorter than this are stretched (a guest cannot make the
 * timer fire on every instruction batch). */
#define SOFT_LAPIC_MIN_PERIOD_NS 10000ULL

/* IA32_APIC_BASE bits (SDM 10.4.4). */
#define SOFT_APIC_BASE_BSP     (1ULL << 8)
#define SOFT_APIC_BASE_EXTD    (1ULL << 10)
#define SOFT_APIC_BASE_EN      (1ULL << 11)
#define SOFT_APIC_BASE_DEFAULT 0xFEE00000ULL

/* MSRs the system code forwards here (soft_lapic_msr_read/write). */
#define SOFT_MSR_APIC_BASE    0x1Bu
#define SOFT_MSR_TSC_DEADLINE 0x6E0u
#define SOFT_MSR_X2APIC_FIRST 0x800u
#define SOFT_MSR_X2APIC_LAST  0x8FFu

/* Delivery modes of ICR, LVT and IOAPIC entries (SDM 10.6.1, 10.5.1). */
enum soft_apic_dm {
	SOFT_APIC_DM_FIXED = 0,
	SOFT_APIC_DM_LOWEST = 1,
	SOFT_APIC_DM_SMI = 2,
	SOFT_APIC_DM_NMI = 4,
	SOFT_APIC_DM_INIT = 5,
	SOFT_APIC_DM_SIPI = 6,
	SOFT_APIC_DM_EXTINT = 7,
};

/* ICR destination shorthands (SDM 10.6.1, bits 19:18). */
enum soft_apic_shorthand {
	SOFT_APIC_SH_NONE = 0,
	SOFT_APIC_SH_SELF = 1,
	SOFT_APIC_SH_ALL = 2,
	SOFT_APIC_SH_ALL_BUT_SELF = 3,
};

/* One interrupt message on the APIC bus (an IPI or an IOAPIC delivery). */
struct soft_apic_msg {
	u32 dest; /* APIC id (physical) or logical destination */
	u8 vector;
	u8 mode;      /* enum soft_apic_dm */
	u8 shorthand; /* enum soft_apic_shorthand */
	bool logical; /* destination mode: logical */
	bool level;   /* trigger mode: level (TMR bit set, EOI broadcast) */
	bool assert;  /* ICR level bit: false only for INIT level de-assert */
	bool x2apic;  /* 32-bit destination format (x2APIC ICR); else 8-bit */
	int src;      /* sending APIC id for shorthands; -1 for the IOAPIC */
	bool defer;   /* sender holds the IOAPIC/PIC lock: queue kicks and INITs
			 on the bus for soft_apic_bus_flush() */
};

/* What the VM provides: the vCPUs behind the APICs. Never called with a
 * LAPIC, IOAPIC or PIC lock held (deliveries made under the IOAPIC/PIC lock
 * are queued and flushed after it is dropped), so they may take the vCPU's
 * own locks; they must not take the machine's device lock. */
struct soft_apic_cpu_ops {
	/* INIT reached vCPU id (its LAPIC is already reset to the INIT state,
	 * SDM 10.4.7.3): reset the CPU and make it wait for a SIPI. */
	void (*init)(void *opaque, unsigned id);
	/* Startup IPI: start vCPU id at vector << 12 if it waits for a SIPI. */
	void (*sipi)(void *opaque, unsigned id, u8 vector);
	/* Something became pending for vCPU id, which may be halted or in
	 * another thread's run loop: wake it so it looks. */
	void (*kick)(void *opaque, unsigned id);
};

/* What the IOAPIC/PIC side provides (filled by soft_irq_route_init). */
struct soft_apic_irq_ops {
	/* EOI broadcast of a level-triggered vector to the IOAPIC (SDM 10.8.5). */
	void (*eoi)(void *opaque, u8 vector);
	/* INTA cycle on the 8259A pair for an ExtINT delivery: returns the vector. */
	int (*extint_ack)(void *opaque);
};

/* The APIC bus: all LAPICs of one VM and the callbacks around them. */
struct soft_apic_bus {
	struct soft_lapic *_Atomic lapic[CONFIG_MAX_CPUS]; /* indexed by APIC id */
	const struct soft_apic_cpu_ops *cpu;
	void *cpu_opaque;
	const struct soft_apic_irq_ops *irq;
	void *irq_opaque;
	_Atomic u64 deferred_kicks; /* bit per APIC id (CONFIG_MAX_CPUS <= 64) */
	_Atomic u64 deferred_inits;
};

_Static_assert(CONFIG_MAX_CPUS <= 64, "deferred kick masks hold 64 vCPUs");

enum {
	SOFT_LVT_TIMER,
	SOFT_LVT_THERMAL,
	SOFT_LVT_PERF,
	SOFT_LVT_LINT0,
	SOFT_LVT_LINT1,
	SOFT_LVT_ERROR,
	SOFT_LVT_NR
};

/* One local APIC. All fields are protected by lock (taken by every function
 * below); never hold two LAPIC locks at once. */
struct soft_lapic {
	pthread_mutex_t lock;
	struct soft_apic_bus *bus;
	u32 id;           /* APIC id = vCPU index; fixed */
	_Atomic u64 base; /* IA32_APIC_BASE (atomic: soft_lapic_is_mmio reads it unlocked) */
	u32 tpr, ldr, dfr, svr;
	u32 esr, esr_pending; /* ESR as last latched; errors since then */
	u32 isr[8], tmr[8], irr[8];
	u32 icr_lo, icr_hi;
	u32 lvt[SOFT_LVT_NR];
	u32 timer_initial, timer_dcr;
	u64 timer_start_ns;    /* when the current count was (re)loaded */
	u64 timer_period_ns;   /* initial count * divider (0: stopped) */
	u64 timer_deadline_ns; /* next expiry, UINT64_MAX when unarmed */
	u64 tsc_deadline;      /* IA32_TSC_DEADLINE as written (guest TSC) */
	u64 tsc_offset;        /* guest TSC = now_ns + tsc_offset */
	bool pic_intr;         /* the 8259A's INTR output on LINT0 (BSP only) */
	bool extint_req;       /* ExtINT message from the IOAPIC not yet acknowledged */
	/* NMI messages the vCPU has not taken yet (a count: see engine.c). */
	_Atomic unsigned nmi_pending;
};

/* ---- The bus ------------------------------------------------------------ */
void soft_apic_bus_init(struct soft_apic_bus *bus, const struct soft_apic_cpu_ops *cpu,
			void *cpu_opaque);
/* Sends msg to every LAPIC it names (lowest priority: to the first one).
 * Fixed and lowest-priority vectors below 16 are dropped (SDM 10.5.2). */
void soft_apic_bus_deliver(struct soft_apic_bus *bus, const struct soft_apic_msg *msg);
/* Queues a kick of APIC id for the next flush. */
void soft_apic_bus_defer_kick(struct soft_apic_bus *bus, unsigned id);
/* Runs the queued INIT and kick callbacks; call after dropping the lock
 * under which deferred deliveries were made. */
void soft_apic_bus_flush(struct soft_apic_bus *bus);

/* ---- One LAPIC ---------------------------------------------------------- */
/* Power-on state (SDM 10.4.7.1) for APIC id; attaches l to bus. id 0 is the
 * BSP: its LINT0 is left in ExtINT mode (virtual wire, as firmware would). */
int soft_lapic_init(struct soft_lapic *l, struct soft_apic_bus *bus, unsigned id);
/* Detaches from the bus and frees the lock. */
void soft_lapic_destroy(struct soft_lapic *l);
/* Power-on reset (APIC_BASE back to its default, xAPIC mode). */
void soft_lapic_reset(struct soft_lapic *l);
/* INIT reset: like power-on but keeps the id and IA32_APIC_BASE (SDM 10.4.7.3). */
void soft_lapic_init_reset(struct soft_lapic *l);

/* The xAPIC page: true when gpa is in it and the APIC is enabled in xAPIC
 * mode (then the MMU sends the access to soft_lapic_mmio_*, not the bus). */
bool soft_lapic_is_mmio(struct soft_lapic *l, u64 gpa);
/* offset: from the page start (0..0xFFF). Reads of any size return the
 * bytes of the 32-bit register; writes other than 4-byte aligned are dropped. */
u64 soft_lapic_mmio_read(struct soft_lapic *l, u64 offset, unsigned size, u64 now_ns);
void soft_lapic_mmio_write(struct soft_lapic *l, u64 offset, unsigned size, u64 value, u64 now_ns);
/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs 0x800-0x8FF.
 * Returns 0, or -1 when the access must raise #GP(0). */
int soft_lapic_msr_read(struct soft_lapic *l, u32 index, u64 now_ns, u64 *value);
int soft_lapic_msr_write(struct soft_lapic *l, u32 index, u64 value, u64 now_ns);
/* IA32_APIC_BASE directly (for get/set_state): set checks it as WRMSR
 * would (reserved bits, SDM 10.12.5 transitions) and returns 0 or -1. Do not
 * call set with 0 for "unknown": that disables the APIC. */
u64 soft_lapic_get_base(struct soft_lapic *l);
int soft_lapic_set_base(struct soft_lapic *l, u64 value);
/* The guest TSC offset changed (WRMSR IA32_TSC): re-arms a TSC deadline. */
void soft_lapic_set_tsc_offset(struct soft_lapic *l, u64 tsc_offset);

/* TPR (8 bits); CR8 is TPR[7:4] (SDM 10.8.6.1). */
u8 soft_lapic_get_tpr(struct soft_lapic *l);
void soft_lapic_set_tpr(struct soft_lapic *l, u8 tpr);
u64 soft_lapic_get_cr8(struct soft_lapic *l);
void soft_lapic_set_cr8(struct soft_lapic *l, u64 cr8);

/* Accepts a fixed interrupt (as an IOAPIC/IPI delivery would): sets IRR
 * (and TMR when level_trigger) and kicks the vCPU. False when the APIC
 * refused it (disabled, or an illegal vector). */
bool soft_lapic_set_irq(struct soft_lapic *l, u8 vector, bool level_trigger);
/* The highest vector the CPU should take now (IRR above PPR), SOFT_LAPIC_EXTINT
 * when the PIC interrupts through LINT0/ExtINT, or -1. Ignores RFLAGS.IF:
 * the caller checks IF and the interrupt shadow. */
int soft_lapic_pending_vector(struct soft_lapic *l);
/* The interrupt acknowledge cycle: moves the highest deliverable vector from
 * IRR to ISR and returns it; for ExtINT asks the PIC; returns the spurious
 * vector (SVR[7:0]) when nothing is deliverable any more (SDM 10.9). */
int soft_lapic_ack(struct soft_lapic *l);
/* Takes the NMIs (IPI or LVT NMI deliveries) that arrived since the last
 * call: their number. The vCPU decides how many it keeps (engine.c). */
unsigned soft_lapic_take_nmis(struct soft_lapic *l);
bool soft_lapic_nmi_pending(struct soft_lapic *l);
/* The 8259A's INTR output level (wired to the BSP's LINT0). Returns true
 * when the vCPU must be woken for it; the caller kicks (it holds the PIC
 * lock, see soft_apic_bus_defer_kick). */
bool soft_lapic_set_pic_intr(struct soft_lapic *l, bool level);

/* PV EOI (KVM's apic_sync_pv_eoi_to_guest(), src/cpu/soft/pv/pv.c): whether
 * the guest may end the interrupt in service by clearing a bit in its memory
 * instead of writing EOI: one vector in ISR, it edge-triggered, nothing in
 * IRR. soft_lapic_eoi() is the EOI the guest so made (as a write of the EOI
 * register, SDM 10.8.5). */
bool soft_lapic_pv_eoi_ok(struct soft_lapic *l);
void soft_lapic_eoi(struct soft_lapic *l);

/* Timer: the next expiry in guest ns (UINT64_MAX: none), and firing of
 * expired timers (call from the vCPU's own thread; it does not kick). */
u64 soft_lapic_next_deadline(struct soft_lapic *l);
void soft_lapic_tick(struct soft_lapic *l, u64 now_ns);

#endif
