/* Guest program for tests/e2e/test_virtio_fastpath.sh: a virtio-rng driver
 * that takes its level-triggered interrupt through the IOAPIC, as Linux's
 * virtio_mmio does. Each request is announced by writing the queue index to
 * QueueNotify (KVM: an ioeventfd), one by writing 0x10000 (another value:
 * always an MMIO exit, still queue 0), and one interrupt is left
 * unacknowledged once so that it must come again after the EOI (KVM: the
 * irqfd's resample). Prints "virtio_fastpath: notify_index_writes=N" for
 * the script to compare with popek's metrics. Built with tests/guest/lib. */
#include "guest.h"

#define VIRTIO_BASE  0xD0000000UL /* include/popek/layout.h */
#define VIRTIO_SIZE  0x1000UL
#define VIRTIO_SLOTS 13
#define VIRTIO_GSI0  11

/* virtio-mmio registers (virtio 1.2 section 4.2.2). */
#define R_MAGIC            0x000
#define R_DEVICE_ID        0x008
#define R_DRV_FEATURES     0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL        0x030
#define R_QUEUE_NUM        0x038
#define R_QUEUE_READY      0x044
#define R_QUEUE_NOTIFY     0x050
#define R_INT_STATUS       0x060
#define R_INT_ACK          0x064
#define R_STATUS           0x070
#define R_QUEUE_DESC       0x080
#define R_QUEUE_DRIVER     0x090
#define R_QUEUE_DEVICE     0x0a0

#define S_ACK         1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define VIRTIO_ID_RNG 4
#define D_WRITE       2

#define VEC           0x60
#define RTE_LEVEL     (1u << 15)
#define RTE_MASKED    (1u << 16)
#define ROUNDS        24
#define QSIZE         8
#define WAIT_REQ_TSC  4000000000ULL /* ~2 s at 2 GHz */

static struct {
	struct {
		u64 addr;
		u32 len;
		u16 flags, next;
	} desc[QSIZE];
	u8 pad0[4096 - 16 * QSIZE];
	volatile u16 avail_flags, avail_idx, avail_ring[QSIZE], used_event;
	u8 pad1[4096 - 6 - 2 * QSIZE];
	volatile u16 used_flags, used_idx;
	volatile struct {
		u32 id, len;
	} used_ring[QSIZE];
} vq __attribute__((aligned(4096)));

static u8 buf[64];
static u64 dev;
static unsigned gsi;
static volatile u64 irqs, spurious, held;
static volatile bool hold_next;

static u32 rd(u32 reg)
{
	return mmio_read32(dev + reg);
}

static void wr(u32 reg, u32 v)
{
	mmio_write32(dev + reg, v);
}

/* As vm_interrupt() in Linux's virtio_mmio.c: read, acknowledge, EOI. With
 * hold_next the first interrupt is left unacknowledged: the line stays high
 * and the interrupt must come again after the EOI. */
static void on_irq(struct trap_frame *f)
{
	u32 isr = rd(R_INT_STATUS);

	(void)f;
	if (!isr) {
		spurious++;
	} else if (hold_next) {
		hold_next = false;
		held++;
	} else {
		wr(R_INT_ACK, isr);
		irqs++;
	}
	lapic_eoi();
}

static bool find_rng(void)
{
	for (unsigned i = 0; i < VIRTIO_SLOTS; i++) {
		u64 base = VIRTIO_BASE + i * VIRTIO_SIZE;
		if (mmio_read32(base + R_MAGIC) == 0x74726976 &&
		    mmio_read32(base + R_DEVICE_ID) == VIRTIO_ID_RNG) {
			dev = base;
			gsi = VIRTIO_GSI0 + i;
			return true;
		}
	}
	return false;
}

/* Driver initialization (virtio 1.2 section 3.1.1): VERSION_1 only (no
 * EVENT_IDX: every used buffer interrupts), one queue. */
static bool init_device(void)
{
	u64 a = (u64)&vq;

	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, 0);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, 1); /* VERSION_1 (bit 32) */
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		return false;
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, QSIZE);
	wr(R_QUEUE_DESC, (u32)a);
	wr(R_QUEUE_DESC + 4, (u32)(a >> 32));
	wr(R_QUEUE_DRIVER, (u32)(a + 4096));
	wr(R_QUEUE_DRIVER + 4, (u32)((a + 4096) >> 32));
	wr(R_QUEUE_DEVICE, (u32)(a + 8192));
	wr(R_QUEUE_DEVICE + 4, (u32)((a + 8192) >> 32));
	wr(R_QUEUE_READY, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return rd(R_STATUS) == (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Posts buf as one device-writable buffer and notifies with value v; waits
 * (IF=1) for the used element and its interrupt. */
static bool request(u32 v)
{
	u16 slot = vq.avail_idx % QSIZE, want = (u16)(vq.used_idx + 1);
	u64 irqs_before = irqs, t0;

	vq.desc[0].addr = (u64)buf;
	vq.desc[0].len = 16;
	vq.desc[0].flags = D_WRITE;
	vq.avail_ring[slot] = 0;
	asm volatile("" ::: "memory");
	vq.avail_idx++;
	wr(R_QUEUE_NOTIFY, v);
	t0 = rdtsc();
	sti();
	while ((vq.used_idx != want || irqs == irqs_before) && rdtsc() - t0 < WAIT_REQ_TSC)
		pause();
	cli();
	return vq.used_idx == want && vq.used_ring[(u16)(want - 1) % QSIZE].len == 16 &&
	       irqs == irqs_before + 1;
}

void test_main(void)
{
	unsigned ok = 0, index_writes = 0;

	if (!check(find_rng(), "a virtio-rng device is present"))
		return;
	if (!check(init_device(), "driver initialization"))
		return;
	trap_set_handler(VEC, on_irq);
	lapic_enable();
	ioapic_write(IOREDTBL(gsi) + 1, (lapic_read(LAPIC_ID) >> 24) << 24);
	ioapic_write(IOREDTBL(gsi), VEC | RTE_LEVEL);

	for (unsigned r = 0; r < ROUNDS; r++, index_writes++)
		ok += request(0);
	check_eq("requests announced with the queue index: each used, one interrupt each", ok,
		 ROUNDS);
	check(request(0x10000), "a request announced with 0x10000 (queue 0) is served too");
	hold_next = true;
	index_writes++;
	check(request(0), "an interrupt left unacknowledged comes again after the EOI");
	check_eq("and was held once", held, 1);
	wait_count(&irqs, irqs + 1, WAIT_SHORT);
	check_eq("no interrupt without a used buffer", irqs, ROUNDS + 2);
	check(rd(R_INT_STATUS) == 0, "InterruptStatus 0 at the end");
	ioapic_write(IOREDTBL(gsi), RTE_MASKED);
	/* kvm_pvm may deliver a level interrupt once more after its EOI
	 * (tests/guest/kvm_pvm_limits.txt); such a one finds nothing to do. */
	printf("virtio_fastpath: notify_index_writes=%u spurious=%lu\n", index_writes, spurious);
}
