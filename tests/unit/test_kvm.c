/* KVM engine tests: tiny hand-assembled guests against a fake bus device.
 * Skipped (exit 0) where /dev/kvm is absent or unusable. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/machine.h"
#include "cpu/kvm/kvm.h"
#include "cpu/reset_msrs.h"
#include "host/host_cpu.h"
#include "popek/layout.h"
#include "test.h"

#define CODE_GPA         0x1000
#define FAKE_MAX_LOG     64
#define FAKE_STOP_OFFSET 7 /* a write to port 0xE7 stops the machine */

/* The fake device: logs every access, reads give 0xA0 + offset + n. */
struct fake_access {
	bool write;
	u64 offset;
	unsigned size;
	u64 value;
};

struct fake_dev {
	struct machine *m;
	unsigned n;
	struct fake_access log[FAKE_MAX_LOG];
};

static u64 fake_read(void *opaque, u64 offset, unsigned size)
{
	struct fake_dev *d = opaque;
	u64 v = 0xA0 + offset + d->n;

	if (d->n < FAKE_MAX_LOG)
		d->log[d->n++] = (struct fake_access){false, offset, size, v};
	return v;
}

static void fake_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct fake_dev *d = opaque;

	if (d->n < FAKE_MAX_LOG)
		d->log[d->n++] = (struct fake_access){true, offset, size, value};
	if (offset == FAKE_STOP_OFFSET && size == 1)
		machine_request_stop(d->m, MACHINE_STOP_DEBUG_EXIT, (int)value);
}

static const struct bus_ops fake_ops = {"fake", fake_read, fake_write};

struct tvm {
	struct machine *m;
	struct engine_vm *vm;
	struct engine_vcpu *vcpu;
	struct fake_dev pio_dev, mmio_dev;
};

/* A machine of 2 MiB with the fake device at PORT_TESTDEV and
 * LAYOUT_TESTDEV_MMIO, one VM and vCPU 0 (of nr_cpus). */
static int tvm_create(struct tvm *t, bool irqchip, unsigned nr_cpus)
{
	struct kvm_vm_opts opts = {.no_irqchip = !irqchip};
	struct machine *m;

	memset(t, 0, sizeof(*t));
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	t->m = m;
	m->cfg.nr_cpus = nr_cpus;
	m->cfg.mem_size = 2 * MiB;
	m->engine = &kvm_engine_ops;
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->pio, "pio", &m->dev_lock);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	CHECK_EQ(event_loop_init(&m->loop), 0);
	CHECK_EQ(guest_mem_init(&m->mem, 2 * MiB), 0);
	t->pio_dev.m = t->mmio_dev.m = m;
	CHECK_EQ(bus_register(&m->pio, PORT_TESTDEV, 8, &fake_ops, &t->pio_dev), 0);
	CHECK_EQ(bus_register(&m->mmio, LAYOUT_TESTDEV_MMIO, LAYOUT_TESTDEV_SIZE, &fake_ops,
			      &t->mmio_dev),
		 0);
	if (kvm_vm_create_opts(m, &opts, &t->vm) < 0)
		return -EIO;
	m->evm = t->vm;
	if (kvm_engine_ops.map_ram(t->vm) < 0)
		return -EIO;
	if (kvm_engine_ops.vcpu_create(t->vm, 0, &t->vcpu) < 0)
		return -EIO;
	m->vcpus[0] = (struct machine_vcpu){.m = m, .id = 0, .ev = t->vcpu};
	m->nr_vcpus = 1;
	return 0;
}

static void tvm_destroy(struct tvm *t)
{
	struct machine *m = t->m;

	kvm_engine_ops.vcpu_destroy(t->vcpu);
	kvm_engine_ops.vm_destroy(t->vm);
	CHECK(m->irq.set == NULL);
	guest_mem_destroy(&m->mem);
	event_loop_destroy(&m->loop);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
}

static void tvm_load(struct tvm *t, gpa_t gpa, const void *code, size_t len)
{
	CHECK_EQ(guest_mem_write(&t->m->mem, gpa, code, len), 0);
}

/* Real mode at 0:CODE_GPA, from the vCPU's reset state. */
static void tvm_real_mode(struct tvm *t)
{
	struct x86_state st;

	CHECK_EQ(kvm_engine_ops.get_state(t->vcpu, &st), 0);
	st.sregs.seg[X86_CS].base = 0;
	st.sregs.seg[X86_CS].selector = 0;
	st.regs.rip = CODE_GPA;
	st.regs.gpr[X86_RSP] = 0x8000;
	CHECK_EQ(kvm_engine_ops.set_state(t->vcpu, &st), 0);
}

/* Flat 32-bit protected mode without paging (Intel SDM Vol. 3A 9.9.1). */
static void tvm_flat32_state(struct tvm *t, struct x86_state *st)
{
	struct x86_seg code = {.base = 0,
			       .limit = 0xffffffff,
			       .selector = 8,
			       .type = 11,
			       .s = 1,
			       .present = 1,
			       .db = 1,
			       .g = 1};
	struct x86_seg data = code;

	CHECK_EQ(kvm_engine_ops.get_state(t->vcpu, st), 0);
	data.selector = 0x10;
	data.type = 3;
	for (int i = X86_ES; i <= X86_GS; i++)
		st->sregs.seg[i] = data;
	st->sregs.seg[X86_CS] = code;
	st->sregs.cr0 |= X86_CR0_PE;
	st->regs.rip = CODE_GPA;
	st->regs.gpr[X86_RSP] = 0x8000;
}

/* Checks the exit reason and shows the engine's message when it is wrong. */
#define CHECK_EXIT(ex, want)                                                                       \
	do {                                                                                       \
		CHECK_EQ((ex).reason, want);                                                       \
		if ((ex).reason != (want))                                                         \
			printf("  exit message: %s\n", (ex).msg);                                  \
	} while (0)

static void check_access(const struct fake_dev *d, unsigned i, bool write, u64 off, unsigned size,
			 u64 value)
{
	CHECK(i < d->n);
	if (i >= d->n)
		return;
	CHECK_EQ(d->log[i].write, write);
	CHECK_EQ(d->log[i].offset, off);
	CHECK_EQ(d->log[i].size, size);
	CHECK_EQ(d->log[i].value, value);
}

static void test_kvm_pio_and_hlt(void)
{
	static const u8 code[] = {
	    0xb0, 0x41,                         /* mov al, 'A' */
	    0xe6, 0xe0,                         /* out 0xe0, al */
	    0xb8, 0x34, 0x12,                   /* mov ax, 0x1234 */
	    0xe7, 0xe2,                         /* out 0xe2, ax */
	    0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, /* mov eax, 0x12345678 */
	    0x66, 0xe7, 0xe4,                   /* out 0xe4, eax */
	    0xe4, 0xe1,                         /* in al, 0xe1 */
	    0xe5, 0xe0,                         /* in ax, 0xe0 */
	    0xf4,                               /* hlt */
	};
	struct vcpu_exit ex;
	struct x86_state st;
	struct tvm t;

	if (tvm_create(&t, false, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	tvm_real_mode(&t);
	CHECK_EQ(kvm_engine_ops.run(t.vcpu, &ex), 0);
	CHECK_EXIT(ex, VCPU_EXIT_HLT);
	CHECK_EQ(t.pio_dev.n, 5);
	check_access(&t.pio_dev, 0, true, 0, 1, 0x41);
	check_access(&t.pio_dev, 1, true, 2, 2, 0x1234);
	check_access(&t.pio_dev, 2, true, 4, 4, 0x12345678);
	check_access(&t.pio_dev, 3, false, 1, 1, 0xA0 + 1 + 3);
	check_access(&t.pio_dev, 4, false, 0, 2, 0xA0 + 0 + 4);
	CHECK_EQ(kvm_engine_ops.get_state(t.vcpu, &st), 0);
	CHECK_EQ(st.regs.gpr[X86_RAX], 0x123400A4); /* upper half from mov eax */
	CHECK_EQ(st.regs.rip, CODE_GPA + sizeof(code));
	CHECK_EQ(kvm_engine_ops.stat(t.vcpu, "exits_io"), 5);
	CHECK_EQ(kvm_engine_ops.stat(t.vcpu, "exits_hlt"), 1);
	CHECK_EQ(kvm_engine_ops.stat(t.vcpu, "exits"), 6);
	CHECK_EQ(kvm_engine_ops.stat(t.vcpu, "no_such_stat"), 0);
	tvm_destroy(&t);
}

static void test_kvm_string_io(void)
{
	static const u8 code[] = {
	    0xbe, 0x00, 0x20, /* mov si, 0x2000 */
	    0xb9, 0x04, 0x00, /* mov cx, 4 */
	    0xba, 0xe0, 0x00, /* mov dx, 0xe0 */
	    0xfc,             /* cld */
	    0xf3, 0x6e,       /* rep outsb */
	    0xbf, 0x00, 0x30, /* mov di, 0x3000 */
	    0xb9, 0x03, 0x00, /* mov cx, 3 */
	    0xba, 0xe2, 0x00, /* mov dx, 0xe2 */
	    0xf3, 0x6d,       /* rep insw */
	    0xf4,             /* hlt */
	};
	u16 in[3] = {0};
	struct vcpu_exit ex;
	struct tvm t;

	if (tvm_create(&t, false, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	tvm_load(&t, 0x2000, "WXYZ", 4);
	tvm_real_mode(&t);
	CHECK_EQ(kvm_engine_ops.run(t.vcpu, &ex), 0);
	CHECK_EXIT(ex, VCPU_EXIT_HLT);
	CHECK_EQ(t.pio_dev.n, 7);
	for (unsigned i = 0; i < 4; i++)
		check_access(&t.pio_dev, i, true, 0, 1, (u64) "WXYZ"[i]);
	for (unsigned i = 0; i < 3; i++)
		check_access(&t.pio_dev, 4 + i, false, 2, 2, 0xA0 + 2 + 4 + i);
	CHECK_EQ(guest_mem_read(&t.m->mem, 0x3000, in, sizeof(in)), 0);
	CHECK_EQ(in[0], 0xA6);
	CHECK_EQ(in[1], 0xA7);
	CHECK_EQ(in[2], 0xA8);
	tvm_destroy(&t);
}

/* MMIO of sizes 1, 2, 4 and 8 (MMX movq), an unclaimed read, and the end of
 * the run through a device that stops the machine (with the in-kernel irqchip).
 * Only instructions that KVM's own emulator knows are used: on a KVM without
 * hardware support every instruction goes through it (SSE movq does not). */
static void test_kvm_mmio_and_stop(void)
{
	static const u8 code[] = {
	    0xc7, 0x05, 0x04, 0x00, 0x00, 0xd1, 0x78,
	    0x56, 0x34, 0x12, /* mov dword [0xd1000004], 0x12345678 */
	    0x66, 0xc7, 0x05, 0x10, 0x00, 0x00, 0xd1,
	    0xcd, 0xab,                               /* mov word [0xd1000010], 0xabcd */
	    0xc6, 0x05, 0x12, 0x00, 0x00, 0xd1, 0x5a, /* mov byte [0xd1000012], 0x5a */
	    0x0f, 0x6f, 0x05, 0x00, 0x30, 0x00, 0x00, /* movq mm0, [0x3000] */
	    0x0f, 0x7f, 0x05, 0x18, 0x00, 0x00, 0xd1, /* movq [0xd1000018], mm0 */
	    0x8b, 0x1d, 0x00, 0x00, 0x00, 0xd2,       /* mov ebx, [0xd2000000] */
	    0xa1, 0x08, 0x00, 0x00, 0xd1,             /* mov eax, [0xd1000008] */
	    0xe6, 0xe7,                               /* out 0xe7, al: stop */
	    0xeb, 0xfe,                               /* jmp $ */
	};
	const u64 q = 0x1122334455667788ULL;
	struct vcpu_exit ex;
	struct x86_state st;
	struct tvm t;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	tvm_load(&t, 0x3000, &q, sizeof(q));
	tvm_flat32_state(&t, &st);
	st.sregs.cr0 &= ~(X86_CR0_EM | X86_CR0_TS);
	CHECK_EQ(kvm_engine_ops.set_state(t.vcpu, &st), 0);
	CHECK_EQ(kvm_engine_ops.run(t.vcpu, &ex), 0);
	CHECK_EXIT(ex, VCPU_EXIT_KICKED);
	CHECK(machine_stopping(t.m));
	CHECK_EQ(t.m->exit_status, 0xA0 + 8 + 4);
	CHECK_EQ(t.mmio_dev.n, 5);
	check_access(&t.mmio_dev, 0, true, 4, 4, 0x12345678);
	check_access(&t.mmio_dev, 1, true, 0x10, 2, 0xabcd);
	check_access(&t.mmio_dev, 2, true, 0x12, 1, 0x5a);
	check_access(&t.mmio_dev, 3, true, 0x18, 8, q);
	check_access(&t.mmio_dev, 4, false, 8, 4, 0xA0 + 8 + 4);
	CHECK_EQ(kvm_engine_ops.get_state(t.vcpu, &st), 0);
	CHECK_EQ(st.regs.gpr[X86_RBX], 0xffffffff);
	CHECK_EQ(st.regs.gpr[X86_RAX], 0xA0 + 8 + 4);
	/* The OUT was completed before run() returned: RIP is at `jmp $`. */
	CHECK_EQ(st.regs.rip, CODE_GPA + sizeof(code) - 2);
	CHECK_EQ(kvm_engine_ops.stat(t.vcpu, "exits_mmio"), 6);
	tvm_destroy(&t);
}

/* An IDT of limit 0: ud2 raises #UD, whose vector is beyond the limit, so
 * #GP, then #DF, then shutdown (Intel SDM Vol. 3A 7.15, interrupt 8). (int3
 * would do, but KVM's emulator cannot deliver protected-mode software
 * interrupts, and some KVMs emulate every instruction.) */
static void test_kvm_triple_fault(void)
{
	static const u8 code[] = {0x0f, 0x0b}; /* ud2 */
	struct vcpu_exit ex;
	struct x86_state st;
	struct tvm t;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	tvm_flat32_state(&t, &st);
	st.sregs.idt = (struct x86_dtable){0, 0};
	CHECK_EQ(kvm_engine_ops.set_state(t.vcpu, &st), 0);
	CHECK_EQ(kvm_engine_ops.run(t.vcpu, &ex), 0);
	CHECK_EXIT(ex, VCPU_EXIT_SHUTDOWN);
	CHECK_EQ(kvm_engine_ops.stat(t.vcpu, "exits_shutdown"), 1);
	tvm_destroy(&t);
}

/* 64-bit mode as the loaders enter it: identity-mapped 2 MiB pages at
 * LAYOUT_PML4, 8-byte MMIO through a register, and the stop port. */
static void test_kvm_long_mode(void)
{
	static const u8 code[] = {
	    0x48, 0xb8, 0x18, 0x00, 0x00,
	    0xd1, 0x00, 0x00, 0x00, 0x00, /* mov rax, 0xd1000018 */
	    0x48, 0xbb, 0x88, 0x77, 0x66,
	    0x55, 0x44, 0x33, 0x22, 0x11, /* mov rbx, 0x1122334455667788 */
	    0x48, 0x89, 0x18,             /* mov [rax], rbx */
	    0x48, 0x8b, 0x48, 0xe8,       /* mov rcx, [rax-0x18] */
	    0xe6, 0xe7,                   /* out 0xe7, al: stop */
	    0xeb, 0xfe,                   /* jmp $ */
	};
	struct vcpu_exit ex;
	struct x86_state st;
	struct tvm t;
	u64 e;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	e = LAYOUT_PDPT | 3;
	tvm_load(&t, LAYOUT_PML4, &e, 8);
	for (u64 i = 0; i < 4; i++) {
		e = (LAYOUT_PD + i * 0x1000) | 3;
		tvm_load(&t, LAYOUT_PDPT + i * 8, &e, 8);
		for (u64 j = 0; j < 512; j++) {
			e = ((i * 512 + j) << 21) | 0x83; /* present, writable, 2 MiB */
			tvm_load(&t, LAYOUT_PD + i * 0x1000 + j * 8, &e, 8);
		}
	}
	tvm_flat32_state(&t, &st);
	st.sregs.seg[X86_CS].l = 1;
	st.sregs.seg[X86_CS].db = 0;
	st.sregs.cr3 = LAYOUT_PML4;
	st.sregs.cr4 = X86_CR4_PAE;
	st.sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	st.sregs.efer = X86_EFER_LME;
	CHECK_EQ(kvm_engine_ops.set_state(t.vcpu, &st), 0);
	CHECK_EQ(kvm_engine_ops.run(t.vcpu, &ex), 0);
	CHECK_EXIT(ex, VCPU_EXIT_KICKED);
	CHECK_EQ(t.m->exit_status, 0x18);
	CHECK_EQ(t.mmio_dev.n, 2);
	check_access(&t.mmio_dev, 0, true, 0x18, 8, 0x1122334455667788ULL);
	check_access(&t.mmio_dev, 1, false, 0, 8, 0xA0 + 0 + 1);
	CHECK_EQ(kvm_engine_ops.get_state(t.vcpu, &st), 0);
	CHECK_EQ(st.regs.gpr[X86_RCX], 0xA1);
	CHECK_EQ(st.regs.rip, CODE_GPA + sizeof(code) - 2);
	CHECK(st.sregs.efer & X86_EFER_LMA);
	tvm_destroy(&t);
}

struct kicker {
	struct engine_vcpu *vcpu;
	unsigned delay_ms;
};

static void *kicker_thread(void *arg)
{
	struct kicker *k = arg;
	struct timespec ts = {0, (long)k->delay_ms * 1000000L};

	nanosleep(&ts, NULL);
	kvm_engine_ops.kick(k->vcpu);
	return NULL;
}

static u64 now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (u64)t.tv_sec * 1000 + (u64)t.tv_nsec / 1000000;
}

/* Runs the vCPU with a kick from another thread after delay_ms. */
static u64 run_kicked(struct tvm *t, unsigned delay_ms, struct vcpu_exit *ex)
{
	struct kicker k = {t->vcpu, delay_ms};
	pthread_t th;
	u64 t0 = now_ms();

	CHECK_EQ(pthread_create(&th, NULL, kicker_thread, &k), 0);
	CHECK_EQ(kvm_engine_ops.run(t->vcpu, ex), 0);
	pthread_join(th, NULL);
	return now_ms() - t0;
}

static void test_kvm_kick(void)
{
	static const u8 code[] = {0xeb, 0xfe}; /* jmp $ */
	struct vcpu_exit ex;
	struct x86_state st;
	struct tvm t;
	u64 ms;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	tvm_real_mode(&t);
	/* Kicked before it runs: returns at once. */
	kvm_engine_ops.kick(t.vcpu);
	CHECK_EQ(kvm_engine_ops.run(t.vcpu, &ex), 0);
	CHECK_EXIT(ex, VCPU_EXIT_KICKED);
	/* Kicked while spinning in the guest, twice: neither returns early. */
	for (int i = 0; i < 2; i++) {
		ms = run_kicked(&t, 50, &ex);
		CHECK_EXIT(ex, VCPU_EXIT_KICKED);
		CHECK(ms >= 45);
		CHECK(ms < 5000);
	}
	CHECK_EQ(kvm_engine_ops.get_state(t.vcpu, &st), 0);
	CHECK_EQ(st.regs.rip, CODE_GPA);
	CHECK(kvm_engine_ops.stat(t.vcpu, "exits_intr") >= 2);
	tvm_destroy(&t);
}

/* A kick also ends the in-kernel HLT of a vCPU with the in-kernel LAPIC. */
static void test_kvm_kick_in_kernel_hlt(void)
{
	static const u8 code[] = {0xfa, 0xf4, 0xeb, 0xfd}; /* cli; 1: hlt; jmp 1b */
	struct vcpu_exit ex;
	struct tvm t;
	u64 ms;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	tvm_real_mode(&t);
	ms = run_kicked(&t, 30, &ex);
	CHECK_EXIT(ex, VCPU_EXIT_KICKED);
	CHECK(ms >= 25);
	tvm_destroy(&t);
}

static void check_seg(const struct x86_seg *a, const struct x86_seg *b)
{
	CHECK_EQ(a->base, b->base);
	CHECK_EQ(a->limit, b->limit);
	CHECK_EQ(a->selector, b->selector);
	CHECK_EQ(a->type, b->type);
	CHECK_EQ(a->s, b->s);
	CHECK_EQ(a->dpl, b->dpl);
	CHECK_EQ(a->present, b->present);
	CHECK_EQ(a->l, b->l);
	CHECK_EQ(a->db, b->db);
	CHECK_EQ(a->g, b->g);
}

/* set_state then get_state gives back the 64-bit entry state a loader makes. */
static void test_kvm_state_roundtrip(void)
{
	struct x86_state in, out;
	struct tvm t;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_flat32_state(&t, &in);
	for (int i = X86_RAX; i <= X86_R15; i++)
		in.regs.gpr[i] = 0x1111111111111111ULL * (u64)(i + 1);
	in.regs.rip = 0x100200;
	in.regs.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_CF | X86_RFLAGS_ZF;
	in.sregs.seg[X86_CS].l = 1;
	in.sregs.seg[X86_CS].db = 0;
	in.sregs.seg[X86_FS].base = 0x7f0000001000ULL;
	in.sregs.gdt = (struct x86_dtable){LAYOUT_GDT, 31};
	in.sregs.idt = (struct x86_dtable){LAYOUT_IDT, 0};
	in.sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	in.sregs.cr3 = LAYOUT_PML4;
	in.sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR;
	in.sregs.cr2 = 0xdead000;
	in.sregs.efer = X86_EFER_LME | X86_EFER_SCE; /* LMA left for set_state to add */
	in.sregs.apic_base = 0;                      /* keep */
	CHECK_EQ(kvm_engine_ops.set_state(t.vcpu, &in), 0);
	CHECK_EQ(kvm_engine_ops.get_state(t.vcpu, &out), 0);
	for (int i = X86_RAX; i <= X86_R15; i++)
		CHECK_EQ(out.regs.gpr[i], in.regs.gpr[i]);
	CHECK_EQ(out.regs.rip, in.regs.rip);
	CHECK_EQ(out.regs.rflags, in.regs.rflags);
	for (int i = X86_ES; i <= X86_GS; i++)
		check_seg(&out.sregs.seg[i], &in.sregs.seg[i]);
	CHECK_EQ(out.sregs.gdt.base, LAYOUT_GDT);
	CHECK_EQ(out.sregs.gdt.limit, 31);
	CHECK_EQ(out.sregs.idt.base, LAYOUT_IDT);
	CHECK_EQ(out.sregs.idt.limit, 0);
	CHECK_EQ(out.sregs.cr0, in.sregs.cr0);
	CHECK_EQ(out.sregs.cr2, in.sregs.cr2);
	CHECK_EQ(out.sregs.cr3, in.sregs.cr3);
	CHECK_EQ(out.sregs.cr4, in.sregs.cr4);
	CHECK_EQ(out.sregs.efer, X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE);
	/* The BSP's LAPIC: enabled (bit 11), BSP (bit 8), at the default base. */
	CHECK_EQ(out.sregs.apic_base, LAYOUT_LAPIC | 0x900);
	tvm_destroy(&t);
}

/* The guest's own CPUID, run in real mode: KVM's hypervisor signature. */
static void test_kvm_cpuid_guest(void)
{
	static const u8 code[] = {
	    0x66, 0xb8, 0x00, 0x00, 0x00, 0x40, /* mov eax, 0x40000000 */
	    0x0f, 0xa2,                         /* cpuid */
	    0xf4,                               /* hlt */
	};
	struct vcpu_exit ex;
	struct x86_state st;
	char sig[13] = {0};
	struct tvm t;

	if (tvm_create(&t, false, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	tvm_load(&t, CODE_GPA, code, sizeof(code));
	tvm_real_mode(&t);
	CHECK_EQ(kvm_engine_ops.run(t.vcpu, &ex), 0);
	CHECK_EXIT(ex, VCPU_EXIT_HLT);
	CHECK_EQ(kvm_engine_ops.get_state(t.vcpu, &st), 0);
	memcpy(sig, &st.regs.gpr[X86_RBX], 4);
	memcpy(sig + 4, &st.regs.gpr[X86_RCX], 4);
	memcpy(sig + 8, &st.regs.gpr[X86_RDX], 4);
	CHECK(!memcmp(sig, "KVMKVMKVM\0\0\0", 12));
	CHECK(st.regs.gpr[X86_RAX] >= 0x40000001);
	tvm_destroy(&t);
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *c, u32 fn, u32 index)
{
	for (u32 i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

/* vCPU 1 of 2: APIC ids in leaves 1 and 0xB, waiting for SIPI, TSC leaves. */
static void test_kvm_cpuid_ap(void)
{
	struct kvm_mp_state mp;
	struct kvm_cpuid_entry2 *e;
	struct engine_vcpu *ap = NULL;
	struct kvm_cpuid2 *c;
	struct tvm t;

	if (tvm_create(&t, true, 2) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	CHECK_EQ(kvm_engine_ops.vcpu_create(t.vm, 1, &ap), 0);
	CHECK(kvm_engine_ops.vcpu_create(t.vm, 2, &(struct engine_vcpu *){NULL}) == -EINVAL);
	if (!ap) {
		tvm_destroy(&t);
		return;
	}
	CHECK_EQ(ioctl(ap->fd, KVM_GET_MP_STATE, &mp), 0);
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	c = calloc(1, sizeof(*c) + 512 * sizeof(c->entries[0]));
	c->nent = 512;
	CHECK_EQ(ioctl(ap->fd, KVM_GET_CPUID2, c), 0);
	e = find_leaf(c, 1, 0);
	CHECK(e && e->ebx >> 24 == 1);
	CHECK(e && (e->ecx & (1U << 31)));
	CHECK(e && ((e->ebx >> 16) & 0xff) == 2);
	e = find_leaf(c, 0xb, 0);
	CHECK(e && e->edx == 1 && e->ebx == 1);
	e = find_leaf(c, 0xb, 1);
	CHECK(e && e->edx == 1 && e->ebx == 2 && e->eax == 1);
	e = find_leaf(c, 0x40000000, 0);
	CHECK(e && e->ebx == 0x4b4d564b);
	if (t.vm->tsc_khz) {
		e = find_leaf(c, 0x40000010, 0);
		CHECK(e && e->eax == t.vm->tsc_khz);
		e = find_leaf(c, 0x15, 0);
		if (e) { /* Intel hosts: crystal (kHz) * EBX / EAX = TSC kHz, in 32 bits */
			u32 khz = (u32)((u32)(e->ecx / 1000) * e->ebx / e->eax);
			printf("  leaf 0x15: %u/%u crystal %u Hz -> %u kHz (KVM says %u)\n", e->ebx,
			       e->eax, e->ecx, khz, t.vm->tsc_khz);
			CHECK(khz + 1000 > t.vm->tsc_khz && khz < t.vm->tsc_khz + 1000);
		}
	}
	free(c);
	kvm_engine_ops.vcpu_destroy(ap);
	tvm_destroy(&t);
}

/* The in-kernel IOAPIC's IRR: a pin's bit follows its line while the pin
 * is masked (every pin is at reset: KVM's kvm_ioapic_reset). */
static u32 kvm_ioapic_irr(struct tvm *t)
{
	struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_IOAPIC};

	CHECK_EQ(ioctl(t->vm->vm_fd, KVM_GET_IRQCHIP, &chip), 0);
	return chip.chip.ioapic.irr;
}

/* Device lines reach the in-kernel IOAPIC on the pins popek's MADT gives
 * them. (A guest taking an interrupt from every line: tests/guest/gsi_routes.c.) */
static void test_kvm_irq_lines(void)
{
	struct tvm t;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		return;
	}
	CHECK(t.m->irq.set != NULL);
	CHECK_EQ(kvm_ioapic_irr(&t), 0);
	irq_set_level(&t.m->irq, GSI_TESTDEV, true);
	CHECK_EQ(kvm_ioapic_irr(&t), 1u << GSI_TESTDEV);
	irq_set_level(&t.m->irq, GSI_TESTDEV, false);
	CHECK_EQ(kvm_ioapic_irr(&t), 0);
	irq_set_level(&t.m->irq, 0, true); /* the PIT's IRQ0: pin 2 (MADT override) */
	CHECK_EQ(kvm_ioapic_irr(&t), 1u << 2);
	irq_set_level(&t.m->irq, 0, false);
	irq_set_level(&t.m->irq, 2, true); /* routed nowhere */
	irq_set_level(&t.m->irq, 23, true);
	CHECK_EQ(kvm_ioapic_irr(&t), 1u << 23);
	irq_set_level(&t.m->irq, 23, false);
	irq_set_level(&t.m->irq, 2, false);
	irq_pulse(&t.m->irq, GSI_UART0);
	irq_pulse(&t.m->irq, 200); /* out of range: dropped */
	CHECK_EQ(kvm_ioapic_irr(&t), 0);
	tvm_destroy(&t);
}

/* Guest RAM above 4 GiB gets a second memory slot. */
static void test_kvm_map_two_regions(void)
{
	struct machine *m = calloc(1, sizeof(*m));
	struct kvm_vm_opts opts = {.no_irqchip = true};
	struct engine_vm *vm = NULL;

	m->cfg.nr_cpus = 1;
	CHECK_EQ(guest_mem_init(&m->mem, LAYOUT_MMIO_HOLE_START + 2 * MiB), 0);
	CHECK_EQ(m->mem.nr_regions, 2);
	CHECK_EQ(kvm_vm_create_opts(m, &opts, &vm), 0);
	if (vm) {
		CHECK_EQ(kvm_engine_ops.map_ram(vm), 0);
		kvm_engine_ops.vm_destroy(vm);
	}
	guest_mem_destroy(&m->mem);
	free(m);
}

/* Exit data that cannot be right is refused, not followed. */
static void test_kvm_bad_exits(void)
{
	size_t size = 3 * 4096;
	struct kvm_run *run = calloc(1, size);
	struct fake_dev d = {0};
	struct machine *m = calloc(1, sizeof(*m));
	char msg[160];

	bus_init(&m->pio, "pio", NULL);
	bus_init(&m->mmio, "mmio", NULL);
	CHECK_EQ(bus_register(&m->pio, PORT_TESTDEV, 8, &fake_ops, &d), 0);
	CHECK_EQ(bus_register(&m->mmio, LAYOUT_TESTDEV_MMIO, 16, &fake_ops, &d), 0);
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_OUT;
	run->io.port = PORT_TESTDEV;
	run->io.size = 2;
	run->io.count = 2;
	run->io.data_offset = 4096;
	memcpy((u8 *)run + 4096, "\x01\x02\x03\x04", 4);
	CHECK_EQ(kvm_exit_io(m, run, size, msg, sizeof(msg)), 0);
	CHECK_EQ(d.n, 2);
	check_access(&d, 0, true, 0, 2, 0x0201);
	check_access(&d, 1, true, 0, 2, 0x0403);

	run->io.data_offset = size - 2; /* 4 bytes from 2 before the end */
	CHECK_EQ(kvm_exit_io(m, run, size, msg, sizeof(msg)), -EIO);
	CHECK(strstr(msg, "bad port access") != NULL);
	run->io.data_offset = 4096;
	run->io.count = 0xffffffff;
	CHECK_EQ(kvm_exit_io(m, run, size, msg, sizeof(msg)), -EIO);
	run->io.count = 1;
	run->io.size = 3;
	CHECK_EQ(kvm_exit_io(m, run, size, msg, sizeof(msg)), -EIO);
	run->io.size = 8;
	CHECK_EQ(kvm_exit_io(m, run, size, msg, sizeof(msg)), -EIO);
	run->io.size = 1;
	run->io.data_offset = ~0ULL;
	CHECK_EQ(kvm_exit_io(m, run, size, msg, sizeof(msg)), -EIO);
	CHECK_EQ(d.n, 2);

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = LAYOUT_TESTDEV_MMIO + 4;
	run->mmio.is_write = 1;
	run->mmio.len = 9;
	CHECK_EQ(kvm_exit_mmio(m, run, msg, sizeof(msg)), -EIO);
	CHECK(strstr(msg, "bad MMIO access") != NULL);
	run->mmio.len = 0;
	CHECK_EQ(kvm_exit_mmio(m, run, msg, sizeof(msg)), -EIO);
	run->mmio.len = 3; /* split into bytes */
	memcpy(run->mmio.data, "\x11\x22\x33", 3);
	CHECK_EQ(kvm_exit_mmio(m, run, msg, sizeof(msg)), 0);
	CHECK_EQ(d.n, 5);
	check_access(&d, 2, true, 4, 1, 0x11);
	check_access(&d, 4, true, 6, 1, 0x33);
	run->mmio.is_write = 0; /* unclaimed read: all ones */
	run->mmio.phys_addr = LAYOUT_TESTDEV_MMIO + 0x100;
	run->mmio.len = 4;
	CHECK_EQ(kvm_exit_mmio(m, run, msg, sizeof(msg)), 0);
	CHECK(!memcmp(run->mmio.data, "\xff\xff\xff\xff", 4));
	free(m);
	free(run);
}

static void test_kvm_speed(void)
{
	struct kvm_speed sp;
	char why[160] = "";
	bool usable;

	CHECK_EQ(kvm_measure_speed(&sp, why, sizeof(why)), 0);
	printf("  KVM speed: %llu ps per dec/jnz iteration, %llu ns per I/O exit\n",
	       (unsigned long long)sp.loop_ps, (unsigned long long)sp.exit_ns);
	CHECK(sp.loop_ps > 0);
	CHECK(sp.exit_ns > 0);
	/* The verdict on this very measurement (a second one could differ). */
	usable = kvm_speed_verdict(&sp, why, sizeof(why));
	printf("  verdict: %s (%s)\n", usable ? "usable" : "not usable", why);
	CHECK_EQ(usable, sp.loop_ps <= KVM_SPEED_MAX_LOOP_PS && sp.exit_ns <= KVM_SPEED_MAX_EXIT_NS);
	CHECK(usable ? strstr(why, "KVM usable") != NULL : strstr(why, "too slow") != NULL);
	/* Both limits, each alone, with made-up measurements. */
	struct kvm_speed slow_loop = {.loop_ps = KVM_SPEED_MAX_LOOP_PS + 1, .exit_ns = 1};
	struct kvm_speed slow_exit = {.loop_ps = 1, .exit_ns = KVM_SPEED_MAX_EXIT_NS + 1};
	struct kvm_speed fast = {.loop_ps = 1, .exit_ns = 1};
	CHECK(!kvm_speed_verdict(&slow_loop, why, sizeof(why)) && strstr(why, "per loop"));
	CHECK(!kvm_speed_verdict(&slow_exit, why, sizeof(why)) && strstr(why, "per I/O exit"));
	CHECK(kvm_speed_verdict(&fast, why, sizeof(why)));
}

/* The reset MSRs both engines share (src/cpu/reset_msrs.h) are what a new
 * vCPU reads, so the guest sees one machine on either engine. */
static void test_kvm_reset_msrs(void)
{
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + 3 * sizeof(msrs->entries[0]));
	struct tvm t;

	if (tvm_create(&t, true, 1) < 0) {
		CHECK(!"tvm_create");
		free(msrs);
		return;
	}
	msrs->nmsrs = 2;
	msrs->entries[0].index = RESET_MSR_MTRR_DEF_TYPE;
	msrs->entries[1].index = RESET_MSR_PAT;
	CHECK_EQ(ioctl(t.vcpu->fd, KVM_GET_MSRS, msrs), 2);
	CHECK_EQ(msrs->entries[0].data, RESET_MTRR_DEF_TYPE);
	CHECK_EQ(msrs->entries[1].data, RESET_PAT);
	if (host_cpu_vendor() == CPU_VENDOR_INTEL) {
		msrs->nmsrs = 1;
		msrs->entries[0].index = RESET_MSR_MISC_ENABLE;
		CHECK_EQ(ioctl(t.vcpu->fd, KVM_GET_MSRS, msrs), 1);
		CHECK(msrs->entries[0].data & 1); /* fast strings */
	}
	free(msrs);
	tvm_destroy(&t);
}

static bool kvm_present;

/* The KVM engine's probe either finds a usable /dev/kvm or says why not;
 * without one the test_kvm_* cases cannot run, and this test skips for them. */
static void test_kvm_probe(void)
{
	char why[160] = "";

	kvm_present = kvm_engine_ops.probe(why, sizeof(why));
	if (kvm_present)
		return;
	CHECK(why[0] != '\0');
	TEST_SKIP("the test_kvm_* cases need KVM: %s", why);
}

int main(void)
{
	TEST_RUN(test_kvm_probe);
	if (!kvm_present)
		return test_done();
	TEST_RUN(test_kvm_pio_and_hlt);
	TEST_RUN(test_kvm_string_io);
	TEST_RUN(test_kvm_mmio_and_stop);
	TEST_RUN(test_kvm_long_mode);
	TEST_RUN(test_kvm_triple_fault);
	TEST_RUN(test_kvm_kick);
	TEST_RUN(test_kvm_kick_in_kernel_hlt);
	TEST_RUN(test_kvm_state_roundtrip);
	TEST_RUN(test_kvm_cpuid_guest);
	TEST_RUN(test_kvm_cpuid_ap);
	TEST_RUN(test_kvm_irq_lines);
	TEST_RUN(test_kvm_map_two_regions);
	TEST_RUN(test_kvm_bad_exits);
	TEST_RUN(test_kvm_speed);
	TEST_RUN(test_kvm_reset_msrs);
	return test_done();
}
