/* KVM's interrupt controllers, PIT and clock to and from the engine-neutral
 * form (kvm_snapshot.h): pure conversions. */
#include "cpu/kvm/kvm_snapshot.h"

#include <errno.h>
#include <string.h>

#include "popek/layout.h"

/* ---- 8259A PIC ----------------------------------------------------------- */

/*
 * KVM's 8259A (arch/x86/kvm/i8259.c) against the neutral one, after the
 * Intel 8259A datasheet:
 *  - last_irr is the level last seen on each input (edge detection), the
 *    neutral lines.
 *  - init_state counts the ICWs still expected: 1 ICW2, 2 ICW3, 3 ICW4; the
 *    neutral icw_step names the ICW (2, 3, 4). KVM always expects ICW3: it
 *    has no single mode (ICW1 SNGL) and no ICW1 LTIM (levels come from the
 *    ELCR only), so those are refused.
 *  - read_reg_select is OCW3's RIS latched when RR is set ("Read Register
 *    Command"), the neutral read_isr; poll is OCW3's P, the same.
 */
int kvm_snap_pic_to(struct kvm_pic_state *k, const struct x86_pic_chip_state *c, const char *name,
		    char *why, size_t why_len)
{
	memset(k, 0, sizeof(*k));
	if (c->single)
		return snap_fail(why, why_len,
				 "PIC %s in single mode (ICW1 SNGL): KVM's 8259A always cascades",
				 name);
	if (c->ltim)
		return snap_fail(why, why_len,
				 "PIC %s level-triggered by ICW1 LTIM: KVM's 8259A "
				 "takes levels from the ELCR only",
				 name);
	k->last_irr = c->lines;
	k->irr = c->irr;
	k->imr = c->imr;
	k->isr = c->isr;
	k->priority_add = c->prio_add;
	k->irq_base = c->base;
	k->read_reg_select = c->read_isr;
	k->poll = c->poll;
	k->special_mask = c->special_mask;
	k->init_state = c->icw_step ? c->icw_step - 1 : 0;
	k->auto_eoi = c->auto_eoi;
	k->rotate_on_auto_eoi = c->rotate_aeoi;
	k->special_fully_nested_mode = c->sfnm;
	k->init4 = c->icw4_needed;
	k->elcr = c->elcr;
	k->elcr_mask = c->elcr_mask;
	return 0;
}

void kvm_snap_pic_from(struct x86_pic_chip_state *c, const struct kvm_pic_state *k)
{
	memset(c, 0, sizeof(*c));
	c->lines = k->last_irr;
	c->irr = k->irr;
	c->imr = k->imr;
	c->isr = k->isr;
	c->prio_add = k->priority_add;
	c->base = k->irq_base;
	c->read_isr = k->read_reg_select;
	c->poll = k->poll;
	c->special_mask = k->special_mask;
	/* An init_state above 3 becomes an ICW that does not exist, which
	 * irqchip_state_check refuses. */
	c->icw_step = k->init_state ? (u8)(k->init_state + 1) : 0;
	c->auto_eoi = k->auto_eoi;
	c->rotate_aeoi = k->rotate_on_auto_eoi;
	c->sfnm = k->special_fully_nested_mode;
	c->icw4_needed = k->init4;
	c->elcr = k->elcr;
	c->elcr_mask = k->elcr_mask;
}

/* ---- IOAPIC -------------------------------------------------------------- */

/* KVM's irr (ioapic.c) is the level of a level-triggered pin, but for an
 * edge pin only an edge not yet delivered; KVM_SET_IRQCHIP injects every
 * irr bit again. So edge pins go to KVM with irr clear (a line held high
 * after its edge was taken raises nothing more), and come back as lines
 * high only while their edge waits. The id is ID bits 27:24 on both sides. */
#define RTE_LEVEL (1ull << 15)

void kvm_snap_ioapic_to(struct kvm_ioapic_state *k, const struct x86_ioapic_state *io)
{
	memset(k, 0, sizeof(*k));
	k->base_address = LAYOUT_IOAPIC;
	k->ioregsel = io->ioregsel;
	k->id = io->id;
	for (unsigned i = 0; i < LAYOUT_IOAPIC_PINS; i++) {
		k->redirtbl[i].bits = io->rte[i];
		if (io->rte[i] & RTE_LEVEL)
			k->irr |= io->lines & (1u << i);
	}
}

void kvm_snap_ioapic_from(struct x86_ioapic_state *io, const struct kvm_ioapic_state *k)
{
	memset(io, 0, sizeof(*io));
	io->ioregsel = k->ioregsel;
	io->id = k->id;
	io->lines = k->irr & ((1u << LAYOUT_IOAPIC_PINS) - 1);
	for (unsigned i = 0; i < LAYOUT_IOAPIC_PINS; i++)
		io->rte[i] = k->redirtbl[i].bits;
}

/* ---- 8254 PIT ------------------------------------------------------------ */

/*
 * KVM's 8254 (arch/x86/kvm/i8254.c) against the neutral one, after the Intel
 * 8254 datasheet:
 *  - KVM counts from count_load_time (host CLOCK_MONOTONIC ns) whatever the
 *    gate: a gate's rising edge only restarts modes 1, 2, 3 and 5
 *    (pit_set_gate). So a KVM counter always runs (base_ticks 0, run_ns =
 *    host_ns - count_load_time), and a neutral counter the gate stops (mode
 *    0 or 4 held, 1 or 5 not yet triggered, 2 or 3 held high) goes to KVM
 *    as counting on from the ticks it had: what KVM does to its own guests.
 *  - A control word does not stop a KVM counter, which goes on with its old
 *    count in the new mode; the datasheet's counter waits for a new count
 *    ("Write Operations"). So a neutral counter with a control word and no
 *    count yet (armed false) is refused, and a KVM counter is armed.
 *  - After reset KVM has mode 0xff and count 0x10000 with no access mode
 *    (kvm_pit_reset): the neutral rw 0, mode 0, count 0.
 *  - KVM counts in binary even with the BCD bit set: BCD is refused.
 *  - Read and write states (RW_STATE_* of i8254.c, below) are the
 *    datasheet's byte pointers. KVM keeps the live read pointer (read_state)
 *    apart from the latch's (count_latched: the bytes of latched_count yet
 *    to read); the neutral form has one, read_msb, for both, and a latch
 *    command restarts it at the LSB. So a latch is carried when KVM's live
 *    pointer is at the LSB (the only case the neutral form can say), and
 *    the others refused.
 *  - Channel 0's next interrupt follows from the count: one-shot modes 0, 1
 *    and 4 fire at terminal count, modes 2 and 3 every count, mode 5 never
 *    (create_pit_timer). Interrupts KVM fired but the guest has not yet
 *    taken (its reinjection count) are not in kvm_pit_state2 and are lost.
 *  - KVM_SET_PIT2 restarts every counter at its full count whatever
 *    count_load_time says (kvm_vm_ioctl_set_pit2 calls pit_load_count): a
 *    loaded counter loses its phase, and channel 0 interrupts up to one
 *    count late. count_load_time is still filled, for KVMs that keep it.
 * Port 0x61: KVM keeps the speaker data bit (KVM_PIT_FLAGS_SPEAKER_DATA_ON)
 * and channel 2's gate, not bits 2-3 (parity and IOCHK checks), refused.
 */
#define RW_STATE_LSB       1
#define RW_STATE_MSB       2
#define RW_STATE_WORD0     3 /* LSB next, then MSB */
#define RW_STATE_WORD1     4 /* MSB next */
#define KVM_PIT_MODE_RESET 0xff

static u64 pit_ticks_ns(u64 ticks)
{
	return (u64)(((unsigned __int128)ticks * 1000000000ULL + X86_PIT_HZ - 1) / X86_PIT_HZ);
}

static int pit_channel_to(struct kvm_pit_channel_state *k, const struct x86_pit_channel_state *c,
			  unsigned ch, u64 host_ns, char *why, size_t why_len)
{
	memset(k, 0, sizeof(*k));
	k->gate = c->gate;
	k->count_load_time = (s64)host_ns;
	if (!c->rw) {
		if (c->mode || c->count || c->bcd || c->latch_left || c->status_latched)
			return snap_fail(why, why_len,
					 "PIT channel %u has state but no control word", ch);
		k->mode = KVM_PIT_MODE_RESET;
		k->count = 0x10000;
		return 0;
	}
	if (c->bcd)
		return snap_fail(why, why_len,
				 "PIT channel %u counts in BCD: KVM's 8254 counts in binary only",
				 ch);
	if (!c->armed)
		return snap_fail(why, why_len,
				 "PIT channel %u has a control word but no count "
				 "yet: KVM's 8254 would go on counting the old one",
				 ch);
	k->count = c->count;
	k->mode = c->mode;
	k->rw_mode = c->rw;
	k->count_load_time = (s64)(host_ns - c->run_ns - pit_ticks_ns(c->base_ticks));
	k->write_latch = c->write_lsb;
	k->write_state = c->rw != 3 ? c->rw : c->write_msb ? RW_STATE_WORD1 : RW_STATE_WORD0;
	if (c->rw != 3 && c->read_msb)
		return snap_fail(why, why_len, "PIT channel %u reads an MSB next in access mode %u",
				 ch, c->rw);
	k->read_state = c->rw != 3 ? c->rw : c->read_msb ? RW_STATE_WORD1 : RW_STATE_WORD0;
	k->latched_count = c->latch;
	if (c->latch_left) {
		/* rw 3: the latch's LSB then MSB with read_msb false, its MSB
		 * alone with read_msb true; the live pointer then at the LSB. */
		if (c->rw == 3 && c->read_msb != (c->latch_left == 1))
			return snap_fail(why, why_len,
					 "PIT channel %u has %u latched bytes with the %s next", ch,
					 c->latch_left, c->read_msb ? "MSB" : "LSB");
		k->count_latched = c->rw == 1           ? RW_STATE_LSB
				   : c->latch_left == 2 ? RW_STATE_WORD0
							: RW_STATE_MSB;
		if (c->rw == 3)
			k->read_state = RW_STATE_WORD0;
	}
	k->status_latched = c->status_latched;
	k->status = c->status;
	return 0;
}

static int pit_channel_from(struct x86_pit_channel_state *c, const struct kvm_pit_channel_state *k,
			    unsigned ch, u64 host_ns, char *why, size_t why_len)
{
	u8 rs = k->read_state;
	u64 t, p;

	memset(c, 0, sizeof(*c));
	c->gate = k->gate;
	if (!k->rw_mode) {
		if (k->count != 0x10000 || k->count_latched || k->status_latched)
			return snap_fail(why, why_len,
					 "PIT channel %u was loaded or latched "
					 "without a control word",
					 ch);
		return 0;
	}
	if (k->rw_mode > 3 || k->mode > 5 || !k->count || k->count > 0x10000)
		return snap_fail(why, why_len, "PIT channel %u: access mode %u, mode %u, count %u",
				 ch, k->rw_mode, k->mode, k->count);
	if (k->bcd)
		return snap_fail(why, why_len,
				 "PIT channel %u has its BCD bit set, and KVM counted in binary",
				 ch);
	c->count = k->count;
	c->mode = k->mode;
	c->rw = k->rw_mode;
	c->armed = c->running = true;
	c->run_ns = host_ns > (u64)k->count_load_time ? host_ns - (u64)k->count_load_time : 0;
	c->write_lsb = k->write_latch;
	c->latch = k->latched_count;
	c->status_latched = k->status_latched;
	c->status = k->status;
	if (c->rw != 3) {
		if (k->write_state != c->rw || rs != c->rw)
			return snap_fail(why, why_len,
					 "PIT channel %u has byte pointers %u/%u in access mode %u",
					 ch, rs, k->write_state, c->rw);
	} else {
		if ((k->write_state != RW_STATE_WORD0 && k->write_state != RW_STATE_WORD1) ||
		    (rs != RW_STATE_WORD0 && rs != RW_STATE_WORD1))
			return snap_fail(why, why_len,
					 "PIT channel %u has byte pointers %u/%u in access mode 3",
					 ch, rs, k->write_state);
		c->write_msb = k->write_state == RW_STATE_WORD1;
		c->read_msb = rs == RW_STATE_WORD1;
	}
	switch (k->count_latched) {
	case 0:
		break;
	case RW_STATE_LSB:
	case RW_STATE_MSB:
	case RW_STATE_WORD0:
		/* One byte left is the only byte of rw 1 or 2, or rw 3's MSB. */
		if ((k->count_latched == RW_STATE_LSB && c->rw != 1) ||
		    (k->count_latched == RW_STATE_MSB && c->rw == 1) ||
		    (k->count_latched == RW_STATE_WORD0 && c->rw != 3) ||
		    (c->rw == 3 && rs != RW_STATE_WORD0))
			return snap_fail(why, why_len,
					 "PIT channel %u latched its count under "
					 "another access mode, or amid a read",
					 ch);
		c->latch_left = k->count_latched == RW_STATE_WORD0 ? 2 : 1;
		c->read_msb = c->rw == 3 && c->latch_left == 1;
		break;
	default:
		return snap_fail(why, why_len, "PIT channel %u latch state %u", ch,
				 k->count_latched);
	}
	if (ch != 0)
		return 0;
	t = x86_pit_ticks(c);
	p = c->count;
	if (c->mode == 2 || c->mode == 3) {
		c->irq_tick = (t / p + 1) * p;
		c->irq_armed = true;
	} else if (c->mode != 5 && t < p) {
		c->irq_tick = p;
		c->irq_armed = true;
	}
	return 0;
}

int kvm_snap_pit_to(struct kvm_pit_state2 *k, const struct x86_irqchip_state *ic, u64 host_ns,
		    char *why, size_t why_len)
{
	memset(k, 0, sizeof(*k));
	if (ic->port61 & 0xc)
		return snap_fail(why, why_len,
				 "port 0x61 0x%02x enables parity or IOCHK checks, "
				 "which KVM's port 0x61 does not keep",
				 ic->port61);
	for (unsigned i = 0; i < 3; i++)
		if (pit_channel_to(&k->channels[i], &ic->pit[i], i, host_ns, why, why_len))
			return -EINVAL;
	if (ic->port61 & 2)
		k->flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	return 0;
}

int kvm_snap_pit_from(struct x86_irqchip_state *ic, const struct kvm_pit_state2 *k, u64 host_ns,
		      char *why, size_t why_len)
{
	if (k->flags & KVM_PIT_FLAGS_HPET_LEGACY)
		return snap_fail(why, why_len,
				 "the PIT is in HPET legacy mode; this machine has no HPET");
	for (unsigned i = 0; i < 3; i++)
		if (pit_channel_from(&ic->pit[i], &k->channels[i], i, host_ns, why, why_len))
			return -EINVAL;
	ic->port61 =
	    (k->channels[2].gate ? 1 : 0) | (k->flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON ? 2 : 0);
	return 0;
}

/* ---- all of them, and the clock ------------------------------------------ */

static const char *const pic_name[2] = {"master", "slave"};

int kvm_snap_irqchip_to(struct kvm_irqchip chips[3], struct kvm_pit_state2 *pit,
			const struct x86_irqchip_state *ic, u64 host_ns, char *why, size_t why_len)
{
	int err = irqchip_state_check(ic, why, why_len);

	if (err)
		return err;
	for (unsigned i = 0; i < 3; i++) {
		memset(&chips[i], 0, sizeof(chips[i]));
		chips[i].chip_id = i;
	}
	for (unsigned i = 0; i < 2; i++)
		if (kvm_snap_pic_to(&chips[i].chip.pic, &ic->pic[i], pic_name[i], why, why_len))
			return -EINVAL;
	kvm_snap_ioapic_to(&chips[KVM_IRQCHIP_IOAPIC].chip.ioapic, &ic->ioapic);
	return kvm_snap_pit_to(pit, ic, host_ns, why, why_len);
}

int kvm_snap_irqchip_from(struct x86_irqchip_state *ic, const struct kvm_irqchip chips[3],
			  const struct kvm_pit_state2 *pit, u64 host_ns, char *why, size_t why_len)
{
	memset(ic, 0, sizeof(*ic));
	for (unsigned i = 0; i < 2; i++)
		kvm_snap_pic_from(&ic->pic[i], &chips[i].chip.pic);
	kvm_snap_ioapic_from(&ic->ioapic, &chips[KVM_IRQCHIP_IOAPIC].chip.ioapic);
	if (kvm_snap_pit_from(ic, pit, host_ns, why, why_len))
		return -EINVAL;
	return irqchip_state_check(ic, why, why_len);
}

/* KVM_SET_CLOCK sets the kvmclock the guest reads, in ns since the VM was
 * created: the neutral guest time. flags 0: no realtime adjustment. */
void kvm_snap_clock_to(struct kvm_clock_data *k, u64 guest_ns)
{
	memset(k, 0, sizeof(*k));
	k->clock = guest_ns;
}

u64 kvm_snap_clock_from(const struct kvm_clock_data *k)
{
	return k->clock;
}

/* KVM's tsc_tolerance_ppm default (x86.c). */
#define KVM_TSC_TOLERANCE_PPM 250

int kvm_snap_tsc_rate_check(u32 want_khz, u32 cur_khz, bool can_scale, char *why, size_t why_len)
{
	u64 diff = want_khz > cur_khz ? want_khz - cur_khz : cur_khz - want_khz;

	if (!want_khz)
		return snap_fail(why, why_len, "the snapshot's TSC runs at 0 kHz");
	if (can_scale || diff * 1000000 <= (u64)cur_khz * KVM_TSC_TOLERANCE_PPM)
		return 0;
	return snap_fail(why, why_len,
			 "the snapshot's TSC runs at %u kHz; KVM's runs at %u kHz and this host "
			 "cannot scale it (no KVM_CAP_TSC_CONTROL)",
			 want_khz, cur_khz);
}
