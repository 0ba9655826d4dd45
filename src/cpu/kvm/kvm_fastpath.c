/* KVM fast paths: device notifications through ioeventfds and level-triggered
 * interrupt lines through irqfds with a resample eventfd.
 *
 * Why resample: the virtio-mmio lines are level-triggered IOAPIC pins (the
 * DSDT says so; the line is high while InterruptStatus is non-zero). A plain
 * irqfd only pulses its GSI, and a pulse that arrives while the guest still
 * handles the previous interrupt (Remote IRR set) is lost, together with
 * the work it announced. With KVM_IRQFD_FLAG_RESAMPLE a write to the irqfd
 * raises the line and KVM keeps it high; the guest's EOI lowers it and
 * signals the resample eventfd; the event loop then raises it again if the
 * device still holds it high (InterruptStatus still non-zero). So a raise is
 * never lost. A device lowering its line (InterruptACK) cannot lower KVM's
 * line before that EOI: at worst the guest sees one spurious interrupt (its
 * handler finds InterruptStatus 0), which Linux tolerates. Such a line must
 * never be driven through KVM_IRQ_LINE as well: KVM ORs the two sources.
 * (Documentation/virt/kvm/api.rst, KVM_IRQFD and KVM_IOEVENTFD.) */
#include "cpu/kvm/kvm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/log.h"

struct kvm_irq_line {
	struct engine_vm *vm;
	unsigned gsi;
	int fd;            /* irqfd: a write raises the line */
	int resample_fd;   /* KVM signals it after an EOI lowered the line */
	atomic_bool level; /* as the device last set it */
};

/* POPEK_KVM_DISABLE="ioeventfd,irqfd" turns fast paths off, so that tests
 * can run the ordinary paths on a KVM that has both. */
static bool kvm_env_disables(const char *what)
{
	const char *s = getenv("POPEK_KVM_DISABLE");
	size_t n = strlen(what);

	while (s && *s) {
		size_t len = strcspn(s, ",");
		if (len == n && !strncmp(s, what, n))
			return true;
		s += len + (s[len] == ',');
	}
	return false;
}

static bool kvm_has_cap(struct engine_vm *vm, int cap)
{
	return ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

void kvm_fastpath_init(struct engine_vm *vm, const struct kvm_vm_opts *opts)
{
	const char *notify = "ioeventfd", *irq = "irqfd";

	if (opts->no_ioeventfd || kvm_env_disables("ioeventfd"))
		notify = "MMIO exits (ioeventfd turned off)";
	else if (!kvm_has_cap(vm, KVM_CAP_IOEVENTFD))
		notify = "MMIO exits (no KVM_CAP_IOEVENTFD)";
	else
		vm->ioeventfd = true;
	if (opts->no_irqfd || kvm_env_disables("irqfd"))
		irq = "KVM_IRQ_LINE (irqfd turned off)";
	else if (!vm->irqchip)
		irq = "nowhere (no in-kernel irqchip)";
	else if (!kvm_has_cap(vm, KVM_CAP_IRQFD) || !kvm_has_cap(vm, KVM_CAP_IRQFD_RESAMPLE))
		irq = "KVM_IRQ_LINE (no KVM_CAP_IRQFD_RESAMPLE)";
	else
		vm->irqfd = true;
	log_info("kvm: virtio notifications via %s, interrupts via %s", notify, irq);
}

static int kvm_ioeventfd(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd,
			 u32 flags)
{
	struct kvm_ioeventfd io = {
	    .datamatch = datamatch,
	    .addr = gpa,
	    .len = len,
	    .fd = fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | flags, /* MMIO: no PIO flag */
	};

	if (!vm->ioeventfd)
		return -ENOTSUP;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

int kvm_add_notify_fd(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd)
{
	return kvm_ioeventfd(vm, gpa, len, datamatch, fd, 0);
}

int kvm_del_notify_fd(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd)
{
	return kvm_ioeventfd(vm, gpa, len, datamatch, fd, KVM_IOEVENTFD_FLAG_DEASSIGN);
}

static void kvm_irq_line_raise(struct kvm_irq_line *l)
{
	u64 one = 1;

	if (write(l->fd, &one, sizeof(one)) < 0) {
		/* only EAGAIN at a counter of 2^64-2: KVM reads it at once */
	}
}

/* The event loop: the guest's EOI lowered the line; raise it again if the
 * device still holds it high. The level is stored before the device's own
 * raise, so a raise racing with this either sees its write land after the
 * EOI or is seen here. */
static void kvm_on_resample(void *opaque, int fd, u32 events)
{
	struct kvm_irq_line *l = opaque;
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	if (atomic_load(&l->level)) {
		atomic_fetch_add_explicit(&l->vm->m->fastpath.irq_resamples, 1,
					  memory_order_relaxed);
		kvm_irq_line_raise(l);
	}
}

bool kvm_irqfd_set(struct engine_vm *vm, unsigned gsi, bool level)
{
	struct kvm_irq_line *l = gsi < LAYOUT_IOAPIC_PINS ? vm->lines[gsi] : NULL;

	if (!l)
		return false;
	atomic_store(&l->level, level);
	if (level) {
		atomic_fetch_add_explicit(&vm->m->fastpath.irq_raises, 1, memory_order_relaxed);
		kvm_irq_line_raise(l);
	}
	/* Lowering waits for the guest's EOI (see the top of this file). */
	return true;
}

static int kvm_irqfd_ioctl(struct kvm_irq_line *l, u32 flags)
{
	struct kvm_irqfd irqfd = {
	    .fd = (u32)l->fd,
	    .gsi = l->gsi,
	    .flags = flags,
	    .resamplefd = (u32)l->resample_fd,
	};

	return ioctl(l->vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

static void kvm_irq_line_free(struct kvm_irq_line *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->resample_fd >= 0)
		close(l->resample_fd);
	free(l);
}

int kvm_level_irq_fd(struct engine_vm *vm, unsigned gsi)
{
	struct kvm_irq_line *l;
	int err;

	if (!vm->irqfd)
		return -ENOTSUP;
	/* GSI 2 has no route (kvm_vm_set_routing). */
	if (gsi >= LAYOUT_IOAPIC_PINS || gsi == 2)
		return -EINVAL;
	if (vm->lines[gsi])
		return -EBUSY;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->vm = vm;
	l->gsi = gsi;
	l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->fd < 0 || l->resample_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = kvm_irqfd_ioctl(l, KVM_IRQFD_FLAG_RESAMPLE);
	if (err < 0)
		goto fail;
	err = event_loop_add(&vm->m->loop, l->resample_fd, kvm_on_resample, l);
	if (err < 0) {
		kvm_irqfd_ioctl(l, KVM_IRQFD_FLAG_DEASSIGN);
		goto fail;
	}
	vm->lines[gsi] = l;
	return 0;
fail:
	kvm_irq_line_free(l);
	return err;
}

void kvm_fastpath_destroy(struct engine_vm *vm)
{
	for (unsigned gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++) {
		struct kvm_irq_line *l = vm->lines[gsi];

		if (!l)
			continue;
		vm->lines[gsi] = NULL;
		event_loop_remove(&vm->m->loop, l->resample_fd);
		kvm_irqfd_ioctl(l, KVM_IRQFD_FLAG_DEASSIGN);
		kvm_irq_line_free(l);
	}
}
