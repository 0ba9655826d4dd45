/* Engine fast paths (src/core/fastpath.h): the virtio-mmio transport's
 * ioeventfd and irqfd use against a fake engine, then KVM's ioeventfd and
 * resampling irqfd with tiny guests (skipped where /dev/kvm is unusable). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/fastpath.h"
#include "cpu/kvm/kvm.h"
#include "virtio_fake_driver.h"

#define NOTIFY_GPA (LAYOUT_VIRTIO_MMIO_BASE + 0x50) /* slot 0's QueueNotify */
#define CODE_GPA   0x1000
#define NR_QUEUES  2

/* A virtio device that only counts notifications per queue. */
struct count_dev {
	_Atomic unsigned notified[NR_QUEUES];
};

static int count_activate(void *opaque, u64 features)
{
	(void)opaque;
	(void)features;
	return 0;
}

static void count_notify(void *opaque, unsigned q)
{
	struct count_dev *d = opaque;

	if (q < NR_QUEUES)
		d->notified[q]++;
}

static const struct virtio_dev_ops count_ops = {
    .name = "count",
    .device_id = 0x3f,
    .nr_queues = NR_QUEUES,
    .queue_max = 16,
    .activate = count_activate,
    .notify = count_notify,
};

/* Waits up to 2 s for *v to reach want. */
static bool wait_for(_Atomic unsigned *v, unsigned want)
{
	for (int i = 0; i < 2000 && *v < want; i++)
		fd_sleep_ms(1);
	return *v >= want;
}

/* ---- The transport against a fake engine ---- */

struct fake_reg {
	gpa_t gpa;
	unsigned len;
	u64 datamatch;
	int fd;
};

struct fake_engine {
	struct fake_reg added[8], deleted[8];
	unsigned nr_added, nr_deleted;
	unsigned level_gsi;
	int add_err;
};

/* The fake engine_vm is the fake_engine itself. */
static int fake_add(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd)
{
	struct fake_engine *f = (struct fake_engine *)vm;

	if (f->add_err)
		return f->add_err;
	if (f->nr_added < ARRAY_SIZE(f->added))
		f->added[f->nr_added++] = (struct fake_reg){gpa, len, datamatch, fd};
	return 0;
}

static int fake_del(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd)
{
	struct fake_engine *f = (struct fake_engine *)vm;

	if (f->nr_deleted < ARRAY_SIZE(f->deleted))
		f->deleted[f->nr_deleted++] = (struct fake_reg){gpa, len, datamatch, fd};
	return 0;
}

static int fake_level(struct engine_vm *vm, unsigned gsi)
{
	((struct fake_engine *)vm)->level_gsi = gsi;
	return 0;
}

static const struct fastpath_ops fake_fastpath = {
    .add_notify_fd = fake_add,
    .del_notify_fd = fake_del,
    .level_irq_fd = fake_level,
};
static const struct fastpath_ops bare_fastpath = {0}; /* as the soft engine */

static void signal_fd(int fd, u64 n)
{
	CHECK_EQ(write(fd, &n, sizeof(n)), sizeof(n));
}

/* One eventfd per queue at QueueNotify with the queue index as datamatch;
 * a signal reaches notify() through the event loop with the transport's
 * checks; plain MMIO writes still work; destroy undoes it all. */
static void test_transport_ioeventfd(void)
{
	struct fake_engine fe = {0};
	struct count_dev dev = {0};
	struct virtio_mmio *vm = NULL;
	struct fd_machine fm;
	struct fd_driver d;

	fd_machine_init(&fm);
	fm.m->fastpath_ops = &fake_fastpath;
	fm.m->evm = (struct engine_vm *)&fe;
	CHECK_EQ(virtio_mmio_create(fm.m, &count_ops, &dev, &vm), 0);
	CHECK_EQ(fe.nr_added, NR_QUEUES);
	for (unsigned q = 0; q < fe.nr_added; q++) {
		CHECK_EQ(fe.added[q].gpa, NOTIFY_GPA);
		CHECK_EQ(fe.added[q].len, 4);
		CHECK_EQ(fe.added[q].datamatch, q);
		CHECK(fe.added[q].fd >= 0);
	}
	CHECK_EQ(fe.level_gsi, LAYOUT_VIRTIO_GSI_BASE);
	CHECK(fm.m->fastpath.notify_fd);
	CHECK(fm.m->fastpath.level_irq_fd);
	fd_machine_start(&fm);

	/* Before DRIVER_OK a signal is dropped, as an MMIO write would be. */
	signal_fd(fe.added[0].fd, 1);
	fd_sleep_ms(20);
	CHECK_EQ(dev.notified[0], 0);
	fd_driver_init(&d, &fm, 0, 0, NR_QUEUES, 16);

	signal_fd(fe.added[1].fd, 1);
	CHECK(wait_for(&dev.notified[1], 1));
	signal_fd(fe.added[1].fd, 3); /* three writes coalesced: one notify */
	CHECK(wait_for(&dev.notified[1], 2));
	fd_kick(&d, 0); /* the MMIO path, synchronous */
	CHECK_EQ(dev.notified[0], 1);
	fd_sleep_ms(20);
	CHECK_EQ(dev.notified[0], 1);
	CHECK_EQ(dev.notified[1], 2);
	CHECK_EQ(fm.m->fastpath.notifies, 1 + 1 + 3);

	/* A broken device ignores both paths. */
	virtio_mmio_lock(vm);
	virtio_mmio_needs_reset(vm, "test");
	virtio_mmio_unlock(vm);
	signal_fd(fe.added[0].fd, 1);
	fd_kick(&d, 0);
	fd_sleep_ms(20);
	CHECK_EQ(dev.notified[0], 1);

	fd_machine_stop(&fm);
	virtio_mmio_destroy(vm);
	CHECK_EQ(fe.nr_deleted, NR_QUEUES);
	for (unsigned q = 0; q < fe.nr_deleted; q++) {
		CHECK_EQ(fe.deleted[q].gpa, NOTIFY_GPA);
		CHECK_EQ(fe.deleted[q].datamatch, q);
		CHECK_EQ(fe.deleted[q].fd, fe.added[q].fd);
		CHECK(fcntl(fe.deleted[q].fd, F_GETFD) < 0); /* closed */
	}
	fd_machine_fini(&fm);
}

/* The event loop has room for one more fd only: queue 0 gets its
 * ioeventfd, queue 1 (after one warning) keeps the MMIO path. */
static void test_transport_loop_full(void)
{
	struct fake_engine fe = {0};
	struct count_dev dev = {0};
	struct virtio_mmio *vm = NULL;
	int fillers[EVENT_LOOP_MAX];
	struct fd_machine fm;
	struct fd_driver d;
	unsigned n = 0;

	fd_machine_init(&fm);
	fm.m->fastpath_ops = &fake_fastpath;
	fm.m->evm = (struct engine_vm *)&fe;
	while (fm.m->loop.nr < EVENT_LOOP_MAX - 1) {
		fillers[n] = eventfd(0, EFD_CLOEXEC);
		CHECK_EQ(event_loop_add(&fm.m->loop, fillers[n], NULL, NULL), 0);
		n++;
	}
	CHECK_EQ(virtio_mmio_create(fm.m, &count_ops, &dev, &vm), 0);
	CHECK_EQ(fe.nr_added, NR_QUEUES);
	CHECK_EQ(fe.nr_deleted, 1);
	CHECK_EQ(fe.deleted[0].datamatch, 1);
	fd_machine_start(&fm);
	fd_driver_init(&d, &fm, 0, 0, NR_QUEUES, 16);
	signal_fd(fe.added[0].fd, 1);
	CHECK(wait_for(&dev.notified[0], 1));
	fd_kick(&d, 1);
	CHECK_EQ(dev.notified[1], 1);
	fd_machine_stop(&fm);
	virtio_mmio_destroy(vm);
	CHECK_EQ(fe.nr_deleted, 2);
	for (unsigned i = 0; i < n; i++)
		close(fillers[i]);
	fd_machine_fini(&fm);
}

/* No engine, an engine without the ops, or one that refuses: the transport
 * falls back to MMIO writes and says nothing is in use. */
static void test_transport_fallback(void)
{
	static const struct fastpath_ops *engines[] = {NULL, &bare_fastpath, &fake_fastpath};
	struct fake_engine fe = {.add_err = -ENOTSUP};

	for (unsigned i = 0; i < ARRAY_SIZE(engines); i++) {
		struct count_dev dev = {0};
		struct virtio_mmio *vm = NULL;
		struct fd_machine fm;
		struct fd_driver d;

		fd_machine_init(&fm);
		fm.m->fastpath_ops = engines[i];
		fm.m->evm = engines[i] ? (struct engine_vm *)&fe : NULL;
		CHECK_EQ(fastpath_add_notify(fm.m, NOTIFY_GPA, 4, 0), -ENOTSUP);
		CHECK_EQ(virtio_mmio_create(fm.m, &count_ops, &dev, &vm), 0);
		CHECK(!fm.m->fastpath.notify_fd);
		CHECK_EQ(fe.nr_added, 0);
		fd_driver_init(&d, &fm, 0, 0, NR_QUEUES, 16);
		fd_kick(&d, 1);
		CHECK_EQ(dev.notified[1], 1);
		virtio_mmio_destroy(vm);
		CHECK_EQ(fe.nr_deleted, 0);
		fd_machine_fini(&fm);
	}
	{
		struct fd_machine fm;

		fd_machine_init(&fm);
		fm.m->fastpath_ops = &bare_fastpath;
		fm.m->evm = (struct engine_vm *)&fe;
		CHECK_EQ(fastpath_level_irq(fm.m, 11), -ENOTSUP);
		CHECK(!fm.m->fastpath.level_irq_fd);
		fd_machine_fini(&fm);
	}
}

/* ---- KVM ---- */

/* Port PORT_TESTDEV + n: 0 "ready" (raises the device's interrupt), 1 "in
 * the handler" (reads 1 when the handler should acknowledge), 2 "may I
 * stop" (sleeps, reads 1 once enough time passed since the last handler),
 * 3 InterruptStatus seen by the handler, 7 ends run() (a kick: the event
 * loop keeps serving the eventfds). Called with the device lock held. */
struct kvm_rig {
	struct fd_machine fm;
	struct engine_vcpu *vcpu;
	struct virtio_mmio *vm;
	struct count_dev dev;
	unsigned handler_calls, quiet_polls;
	u32 isr_seen[4]; /* InterruptStatus in the handler, by call */
	bool stopped;
};

static u64 rig_pio_read(void *opaque, u64 offset, unsigned size)
{
	struct kvm_rig *r = opaque;

	(void)size;
	if (offset == 1) {
		r->quiet_polls = 0;
		return ++r->handler_calls >= 2; /* the first call leaves the line high */
	}
	if (offset == 2) {
		fd_sleep_ms(10); /* the vCPU is out of the guest; the loop serves resamples */
		return r->handler_calls >= 2 && ++r->quiet_polls >= 20;
	}
	return 0;
}

static void rig_pio_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct kvm_rig *r = opaque;

	(void)size;
	if (offset == 0)
		virtio_mmio_signal_config(r->vm); /* raises the level-triggered GSI */
	if (offset == 3 && r->handler_calls < ARRAY_SIZE(r->isr_seen))
		r->isr_seen[r->handler_calls] = (u32)value;
	if (offset == 7) {
		r->stopped = true;
		kvm_engine_ops.kick(r->vcpu);
	}
}

static const struct bus_ops rig_pio_ops = {"rig", rig_pio_read, rig_pio_write};

/* A 16 MiB KVM machine (with opts) with the count device in virtio slot 0,
 * at DRIVER_OK with NR_QUEUES queues, and vCPU 0 in flat 32-bit mode at
 * CODE_GPA with a GDT at 0x500. */
static int rig_create(struct kvm_rig *r, const struct kvm_vm_opts *opts)
{
	/* 0x08 32-bit code, 0x10 64-bit code, 0x18 data (Linux's selectors). */
	static const u64 gdt[] = {0, 0x00cf9a000000ffffULL, 0x00af9a000000ffffULL,
				  0x00cf92000000ffffULL};
	struct machine *m;
	struct x86_state st;
	struct fd_driver d;

	memset(r, 0, sizeof(*r));
	fd_machine_init(&r->fm);
	m = r->fm.m;
	m->irq.set = NULL;
	m->cfg.nr_cpus = 1;
	m->engine = &kvm_engine_ops;
	m->fastpath_ops = &kvm_engine_ops.fastpath;
	bus_init(&m->pio, "pio", &m->dev_lock);
	CHECK_EQ(bus_register(&m->pio, PORT_TESTDEV, 8, &rig_pio_ops, r), 0);
	if (kvm_vm_create_opts(m, opts, &m->evm) < 0 || kvm_engine_ops.map_ram(m->evm) < 0 ||
	    kvm_engine_ops.vcpu_create(m->evm, 0, &r->vcpu) < 0)
		return -EIO;
	m->vcpus[0] = (struct machine_vcpu){.m = m, .id = 0, .ev = r->vcpu};
	m->nr_vcpus = 1;
	CHECK_EQ(virtio_mmio_create(m, &count_ops, &r->dev, &r->vm), 0);
	fd_driver_init(&d, &r->fm, 0, 0, NR_QUEUES, 16);
	CHECK_EQ(guest_mem_write(&m->mem, 0x500, gdt, sizeof(gdt)), 0);

	CHECK_EQ(kvm_engine_ops.get_state(r->vcpu, &st), 0);
	for (int i = X86_ES; i <= X86_GS; i++)
		st.sregs.seg[i] = (struct x86_seg){.limit = 0xffffffff,
						   .selector = 0x18,
						   .type = 3,
						   .s = 1,
						   .present = 1,
						   .db = 1,
						   .g = 1};
	st.sregs.seg[X86_CS] = (struct x86_seg){
	    .limit = 0xffffffff, .selector = 8, .type = 11, .s = 1, .present = 1, .db = 1, .g = 1};
	st.sregs.gdt = (struct x86_dtable){0x500, sizeof(gdt) - 1};
	st.sregs.cr0 |= X86_CR0_PE;
	st.regs.rip = CODE_GPA;
	st.regs.gpr[X86_RSP] = 0x8000;
	CHECK_EQ(kvm_engine_ops.set_state(r->vcpu, &st), 0);
	return 0;
}

static void rig_destroy(struct kvm_rig *r)
{
	struct machine *m = r->fm.m;

	fd_machine_stop(&r->fm);
	if (r->vm)
		virtio_mmio_destroy(r->vm);
	if (r->vcpu)
		kvm_engine_ops.vcpu_destroy(r->vcpu);
	if (m->evm)
		kvm_engine_ops.vm_destroy(m->evm);
	fd_machine_fini(&r->fm);
}

static void rig_run(struct kvm_rig *r, const u8 *code, size_t len)
{
	struct vcpu_exit ex;

	CHECK_EQ(guest_mem_write(&r->fm.m->mem, CODE_GPA, code, len), 0);
	fd_machine_start(&r->fm);
	CHECK_EQ(kvm_engine_ops.run(r->vcpu, &ex), 0);
	CHECK_EQ(ex.reason, VCPU_EXIT_KICKED);
	if (ex.reason != VCPU_EXIT_KICKED) {
		struct x86_state st;

		kvm_engine_ops.get_state(r->vcpu, &st);
		printf("  exit: %s at rip %#llx\n", ex.msg, (unsigned long long)st.regs.rip);
	}
	CHECK(r->stopped);
}

/* QueueNotify writes on KVM: the queue indexes through ioeventfds, the rest
 * (another value, another size) through MMIO exits; each write is
 * delivered once. With no_ioeventfd all of them exit. */
static void check_kvm_notify(bool ioeventfd)
{
	static const u8 code[] = {
	    0xc7, 0x05, 0x50, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00, /* [QueueNotify] = 0 */
	    0xc7, 0x05, 0x50, 0x00, 0x00, 0xd0, 0x01, 0x00, 0x00, 0x00, /* = 1 */
	    0xc7, 0x05, 0x50, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x01, 0x00, /* = 0x10000: queue 0 */
	    0xc7, 0x05, 0x50, 0x00, 0x00, 0xd0, 0x05, 0x00, 0x00, 0x00, /* = 5: no queue */
	    0x66, 0xc7, 0x05, 0x50, 0x00, 0x00, 0xd0, 0x01, 0x00,       /* word = 1: ignored */
	    0xe6, 0xe7,                                                 /* out 0xe7, al: stop */
	    0xeb, 0xfe,                                                 /* jmp $ */
	};
	struct kvm_vm_opts opts = {.no_ioeventfd = !ioeventfd};
	struct kvm_rig r;

	if (rig_create(&r, &opts) < 0) {
		CHECK(!"rig_create");
		rig_destroy(&r);
		return;
	}
	CHECK_EQ(r.fm.m->fastpath.notify_fd, ioeventfd);
	rig_run(&r, code, sizeof(code));
	CHECK(wait_for(&r.dev.notified[0], 2));
	CHECK(wait_for(&r.dev.notified[1], 1));
	fd_sleep_ms(50);
	CHECK_EQ(r.dev.notified[0], 2);
	CHECK_EQ(r.dev.notified[1], 1);
	CHECK_EQ(r.fm.m->fastpath.notifies, ioeventfd ? 2 : 0);
	CHECK_EQ(kvm_engine_ops.stat(r.vcpu, "exits_mmio"), ioeventfd ? 3 : 5);
	rig_destroy(&r);
}

static void test_kvm_ioeventfd(void)
{
	check_kvm_notify(true);
}

static void test_kvm_notify_without_ioeventfd(void)
{
	check_kvm_notify(false);
}

/* 64-bit code. The handler at 0x1100 for vector 0x40 reports
 * InterruptStatus (port 0xE3), asks the host (port 0xE1) whether to
 * acknowledge, and if so writes it to InterruptACK; then EOI. */
static const u8 irq_handler[] = {
    0x50, 0x53, 0x51,                   /* push rax; push rbx; push rcx */
    0xbb, 0x60, 0x00, 0x00, 0xd0,       /* mov ebx, ISR */
    0x8b, 0x0b,                         /* mov ecx, [rbx] */
    0x89, 0xc8,                         /* mov eax, ecx */
    0xe7, 0xe3,                         /* out 0xe3, eax: report it */
    0xe4, 0xe1,                         /* in al, 0xe1 */
    0x84, 0xc0,                         /* test al, al */
    0x74, 0x03,                         /* jz eoi */
    0x89, 0x4b, 0x04,                   /* mov [rbx+4], ecx: ACK */
    0xbb, 0xb0, 0x00, 0xe0, 0xfe,       /* eoi: mov ebx, LAPIC EOI */
    0xc7, 0x03, 0x00, 0x00, 0x00, 0x00, /* mov dword [rbx], 0 */
    0x59, 0x5b, 0x58,                   /* pop rcx; pop rbx; pop rax */
    0x48, 0xcf,                         /* iretq */
};

/* Masks the 8259s, enables the LAPIC, routes GSI 11 (slot 0)
 * level-triggered to vector 0x40, asks the host to raise it, then polls
 * port 0xE2 with IF=1 until the host lets it stop. */
static const u8 irq_main[] = {
    0xb0, 0xff,                               /* mov al, 0xff */
    0xe6, 0x21,                               /* out 0x21, al: mask the 8259s, */
    0xe6, 0xa1,                               /* out 0xa1, al: which GSI 11 reaches too */
    0xbb, 0xf0, 0x00, 0xe0, 0xfe,             /* mov ebx, LAPIC SVR */
    0xc7, 0x03, 0xff, 0x01, 0x00, 0x00,       /* mov dword [rbx], 0x1ff */
    0xbb, 0x00, 0x00, 0xc0, 0xfe,             /* mov ebx, IOREGSEL */
    0xc7, 0x03, 0x27, 0x00, 0x00, 0x00,       /* RTE 11 high */
    0xc7, 0x43, 0x10, 0x00, 0x00, 0x00, 0x00, /* IOWIN = 0: APIC 0 */
    0xc7, 0x03, 0x26, 0x00, 0x00, 0x00,       /* RTE 11 low */
    0xc7, 0x43, 0x10, 0x40, 0x80, 0x00, 0x00, /* vector 0x40, level, unmasked */
    0xe6, 0xe0,                               /* out 0xe0: raise */
    0xfb,                                     /* sti */
    0xe4, 0xe2,                               /* 1: in al, 0xe2 */
    0x84, 0xc0,                               /* test al, al */
    0x74, 0xfa,                               /* jz 1b */
    0xe6, 0xe7,                               /* out 0xe7: stop */
    0xeb, 0xfe,                               /* jmp $ */
};

/* Switches the rig's vCPU to 64-bit mode: identity-mapped 2 MiB pages for
 * the low 4 GiB, the 64-bit code segment and an IDT of 16-byte gates with
 * vector 0x40 at 0x1100. */
static void rig_long_mode(struct kvm_rig *r)
{
	u8 gate[16] = {0x00, 0x11, 0x10, 0x00, 0x00, 0x8e}; /* 0x1100, selector 0x10 */
	struct machine *m = r->fm.m;
	struct x86_state st;
	u64 e = LAYOUT_PDPT | 3;

	CHECK_EQ(guest_mem_write(&m->mem, LAYOUT_PML4, &e, 8), 0);
	for (u64 i = 0; i < 4; i++) {
		e = (LAYOUT_PD + i * 0x1000) | 3;
		CHECK_EQ(guest_mem_write(&m->mem, LAYOUT_PDPT + i * 8, &e, 8), 0);
		for (u64 j = 0; j < 512; j++) {
			e = ((i * 512 + j) << 21) | 0x83; /* present, writable, 2 MiB */
			CHECK_EQ(guest_mem_write(&m->mem, LAYOUT_PD + i * 0x1000 + j * 8, &e, 8),
				 0);
		}
	}
	CHECK_EQ(guest_mem_write(&m->mem, 0x600 + 0x40 * 16, gate, sizeof(gate)), 0);
	CHECK_EQ(kvm_engine_ops.get_state(r->vcpu, &st), 0);
	st.sregs.seg[X86_CS].selector = 0x10;
	st.sregs.seg[X86_CS].l = 1;
	st.sregs.seg[X86_CS].db = 0;
	st.sregs.idt = (struct x86_dtable){0x600, 0x41 * 16 - 1};
	st.sregs.cr3 = LAYOUT_PML4;
	st.sregs.cr4 = X86_CR4_PAE;
	st.sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	st.sregs.efer = X86_EFER_LME;
	CHECK_EQ(kvm_engine_ops.set_state(r->vcpu, &st), 0);
}

/* A level-triggered virtio interrupt on KVM. The handler leaves it
 * unacknowledged the first time, so it must come again after the EOI (with
 * irqfd: the resample eventfd finds the line still high and raises it
 * again); the second time it is acknowledged before the EOI and must not
 * come again. */
static void check_kvm_level_irq(bool irqfd)
{
	struct kvm_vm_opts opts = {.no_irqfd = !irqfd};
	bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	struct kvm_rig r;
	u64 isr = 1;

	if (rig_create(&r, &opts) < 0) {
		CHECK(!"rig_create");
		rig_destroy(&r);
		return;
	}
	CHECK_EQ(r.fm.m->fastpath.level_irq_fd, irqfd);
	rig_long_mode(&r);
	CHECK_EQ(guest_mem_write(&r.fm.m->mem, 0x1100, irq_handler, sizeof(irq_handler)), 0);
	rig_run(&r, irq_main, sizeof(irq_main));
	CHECK_EQ(r.isr_seen[0], 2); /* configuration change */
	CHECK_EQ(r.isr_seen[1], 2); /* again: it was not acknowledged */
	if (pvm) {
		/* kvm_pvm may deliver once more after the EOI although the line
		 * was lowered (tests/guest/kvm_pvm_limits.txt, ioapic_level):
		 * that one must find nothing to do. */
		CHECK(r.handler_calls == 2 || r.handler_calls == 3);
		CHECK_EQ(r.isr_seen[2], 0);
	} else {
		CHECK_EQ(r.handler_calls, 2);
	}
	CHECK(bus_read(&r.fm.m->mmio, LAYOUT_VIRTIO_MMIO_BASE + 0x60, 4, &isr));
	CHECK_EQ(isr, 0);
	CHECK_EQ(r.fm.m->fastpath.irq_raises, irqfd ? 1 : 0);
	if (irqfd && !pvm)
		CHECK_EQ(r.fm.m->fastpath.irq_resamples, 1);
	else if (irqfd)
		CHECK(r.fm.m->fastpath.irq_resamples >= 1);
	else
		CHECK_EQ(r.fm.m->fastpath.irq_resamples, 0);
	rig_destroy(&r);
}

static void test_kvm_irqfd_resample(void)
{
	check_kvm_level_irq(true);
}

static void test_kvm_level_irq_without_irqfd(void)
{
	check_kvm_level_irq(false);
}

/* POPEK_KVM_DISABLE turns either fast path off; unknown words are ignored. */
static void test_kvm_disable_env(void)
{
	static const struct {
		const char *env;
		bool ioeventfd, irqfd;
	} cases[] = {
	    {"", true, true},
	    {"ioeventfd", false, true},
	    {"irqfd,ioeventfd", false, false},
	    {"irqfdx,ioeventfd2,,irq", true, true},
	};
	struct kvm_vm_opts opts = {0};

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct machine *m = calloc(1, sizeof(*m));
		struct engine_vm *vm = NULL;

		m->cfg.nr_cpus = 1;
		setenv("POPEK_KVM_DISABLE", cases[i].env, 1);
		CHECK_EQ(kvm_vm_create_opts(m, &opts, &vm), 0);
		if (vm) {
			CHECK_EQ(vm->ioeventfd, cases[i].ioeventfd);
			CHECK_EQ(vm->irqfd, cases[i].irqfd);
			/* Not a usable line: no route, out of range. */
			if (vm->irqfd) {
				CHECK_EQ(kvm_level_irq_fd(vm, 2), -EINVAL);
				CHECK_EQ(kvm_level_irq_fd(vm, LAYOUT_IOAPIC_PINS), -EINVAL);
			} else {
				CHECK_EQ(kvm_level_irq_fd(vm, 11), -ENOTSUP);
			}
			kvm_engine_ops.vm_destroy(vm);
		}
		free(m);
	}
	unsetenv("POPEK_KVM_DISABLE");
}

static bool kvm_present;

/* Without a usable /dev/kvm the test_kvm_* cases cannot run: this test skips for them. */
static void test_kvm_probe(void)
{
	char why[160] = "";

	kvm_present = kvm_engine_ops.probe(why, sizeof(why));
	if (!kvm_present)
		TEST_SKIP("the test_kvm_* cases need KVM: %s", why);
}

int main(void)
{
	unsetenv("POPEK_KVM_DISABLE");
	TEST_RUN(test_transport_ioeventfd);
	TEST_RUN(test_transport_loop_full);
	TEST_RUN(test_transport_fallback);
	TEST_RUN(test_kvm_probe);
	if (!kvm_present)
		return test_done();
	TEST_RUN(test_kvm_ioeventfd);
	TEST_RUN(test_kvm_notify_without_ioeventfd);
	TEST_RUN(test_kvm_irqfd_resample);
	TEST_RUN(test_kvm_level_irq_without_irqfd);
	TEST_RUN(test_kvm_disable_env);
	return test_done();
}
