/* KVM engine: /dev/kvm probing, VM creation (in-kernel irqchip, PIT, RAM
 * slots, GSI routing, fast paths) and the engine_ops table. */
#include "cpu/kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/layout.h"
#include "popek/log.h"

/* Capabilities the engine cannot do without (Documentation/virt/kvm/api.rst). */
static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

int kvm_open_dev(char *why, size_t whylen)
{
	/* POPEK_KVM_DEVICE lets tests point popek at a missing device;
	 * POPEK_KVM_FD is /dev/kvm kept open by --jail (src/host/jail.h). */
	const char *path = getenv("POPEK_KVM_DEVICE") ? getenv("POPEK_KVM_DEVICE") : "/dev/kvm";
	const char *kept = getenv("POPEK_KVM_FD");
	int fd, ver, err;

	if (kept)
		fd = fcntl(atoi(kept), F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (why && whylen) {
			if (err == ENOENT || err == ENXIO || err == ENODEV)
				snprintf(why, whylen, "no %s", path);
			else
				snprintf(why, whylen, "%s: %s", path, strerror(err));
		}
		return -err;
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		if (why && whylen && ver < 0)
			snprintf(why, whylen, "%s: KVM_GET_API_VERSION: %s", kept ? "/dev/kvm" : path,
				 strerror(errno));
		else if (why && whylen)
			snprintf(why, whylen, "KVM API version %d", ver);
		close(fd);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kvm_required_caps); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			if (why && whylen)
				snprintf(why, whylen, "KVM lacks %s", kvm_required_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	return fd;
}

static bool kvm_probe(char *why, size_t whylen)
{
	int fd = kvm_open_dev(why, whylen);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Device interrupt lines: KVM_IRQ_LINE takes a GSI, routed by the table
 * kvm_vm_set_routing() installs, unless the line's device asked for an
 * irqfd (kvm_fastpath.c). Called from device threads. */
static void kvm_irq_set(void *opaque, unsigned gsi, bool level)
{
	struct engine_vm *vm = opaque;
	struct kvm_irq_level irq = {.irq = gsi, .level = level};

	if (kvm_irqfd_set(vm, gsi, level))
		return;
	if (!vm->irqchip || gsi >= LAYOUT_IOAPIC_PINS) {
		log_debug("kvm: dropped interrupt line %u (level %d)", gsi, level);
		return;
	}
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("kvm: KVM_IRQ_LINE gsi %u: %s", gsi, strerror(errno));
}

/* GSI routing that matches popek's MADT: ISA IRQs 0-15 go to the 8259 pair
 * and to the same IOAPIC pin, except that IRQ 0 (the PIT) is on pin 2 (the
 * interrupt source override, ACPI 6.5 section 5.2.12.5) and nothing is
 * routed as GSI 2; GSIs 16-23 go to the IOAPIC only. KVM's default table
 * would put IRQ 0 on pin 0, where a guest following the MADT never looks. */
static int kvm_vm_set_routing(struct engine_vm *vm)
{
	struct kvm_irq_routing *r;
	unsigned n = 0;
	int rc = 0;

	r = calloc(1, sizeof(*r) + 2 * LAYOUT_IOAPIC_PINS * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++) {
		struct kvm_irq_routing_entry *e;

		if (gsi == 2)
			continue;
		if (gsi < 16) {
			e = &r->entries[n++];
			e->gsi = gsi;
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip =
			    gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			e->u.irqchip.pin = gsi % 8;
		}
		e = &r->entries[n++];
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = gsi == 0 ? 2 : gsi;
	}
	r->nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		rc = -errno;
	free(r);
	return rc;
}

static void kvm_kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return -EINTR */
}

/* The kick signal's handler is process state: installed once, idempotently.
 * An existing handler (popek's or anyone's) interrupts KVM_RUN just as well;
 * only SIG_DFL (which would kill the process) and SIG_IGN are replaced.
 * SA_RESTART keeps the signal from breaking other system calls that devices
 * make on vCPU threads; it does not matter to KVM_RUN, which returns -EINTR
 * and is never restarted. */
static int kvm_install_kick_handler(void)
{
	struct sigaction sa, old;

	if (sigaction(KVM_KICK_SIGNAL, NULL, &old) < 0)
		return -errno;
	if (!(old.sa_flags & SA_SIGINFO) &&
	    (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = kvm_kick_handler;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(KVM_KICK_SIGNAL, &sa, NULL) < 0)
			return -errno;
	}
	return 0;
}

static void kvm_vm_destroy(struct engine_vm *vm)
{
	if (!vm)
		return;
	if (vm->m && vm->m->irq.opaque == vm) {
		vm->m->irq.set = NULL;
		vm->m->irq.opaque = NULL;
	}
	kvm_fastpath_destroy(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm);
}

/* One failed step of VM creation: logs it and returns -errno. */
static int kvm_fail(const char *what)
{
	int err = errno ? errno : EIO;

	log_error("kvm: %s: %s", what, strerror(err));
	return -err;
}

int kvm_vm_create_opts(struct machine *m, const struct kvm_vm_opts *opts, struct engine_vm **out)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	u64 idmap = KVM_IDENTITY_MAP_ADDR;
	struct engine_vm *vm;
	char why[128];
	int rc, size;

	*out = NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->m = m;
	vm->vm_fd = -1;
	vm->kvm_fd = kvm_open_dev(why, sizeof(why));
	if (vm->kvm_fd < 0) {
		rc = vm->kvm_fd;
		log_error("kvm: %s", why);
		goto fail;
	}
	rc = kvm_install_kick_handler();
	if (rc < 0) {
		log_error("kvm: cannot install the kick signal handler: %s", strerror(-rc));
		goto fail;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run)) {
		rc = kvm_fail("KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	vm->run_size = (size_t)size;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		rc = kvm_fail("KVM_CREATE_VM");
		goto fail;
	}
	/* Both must precede the first vCPU (api.rst 4.48, 4.62). */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
		rc = kvm_fail("KVM_SET_TSS_ADDR");
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
		rc = kvm_fail("KVM_SET_IDENTITY_MAP_ADDR");
		goto fail;
	}
	if (!opts->no_irqchip) {
		if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
			rc = kvm_fail("KVM_CREATE_IRQCHIP");
			goto fail;
		}
		rc = kvm_vm_set_routing(vm);
		if (rc < 0) {
			log_error("kvm: KVM_SET_GSI_ROUTING: %s", strerror(-rc));
			goto fail;
		}
		/* The PIT must come after the irqchip; the dummy speaker makes
		 * KVM own port 0x61 too. */
		if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
			rc = kvm_fail("KVM_CREATE_PIT2");
			goto fail;
		}
		vm->irqchip = true;
		vm->tsc_deadline =
		    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	}
	/* The guest TSC runs at the host's rate unless we ask otherwise (only
	 * to load a snapshot taken at another rate: kvm_snap_io.c). The VM fd
	 * answers only with KVM_CAP_VM_TSC_CONTROL; otherwise the first vCPU
	 * asks its own fd (kvm_vcpu_create). 0 while unknown. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_VM_TSC_CONTROL) > 0) {
		int khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);
		vm->tsc_khz = khz > 0 ? (u32)khz : 0;
	}
	rc = kvm_cpuid_fetch(vm);
	if (rc < 0)
		goto fail;
	kvm_fastpath_init(vm, opts);
	m->irq.set = kvm_irq_set;
	m->irq.opaque = vm;
	*out = vm;
	return 0;
fail:
	kvm_vm_destroy(vm);
	return rc;
}

static int kvm_vm_create(struct machine *m, struct engine_vm **out)
{
	const struct kvm_vm_opts opts = {0};

	return kvm_vm_create_opts(m, &opts, out);
}

/* Gives KVM guest memory as one memory slot per region (slot i: region
 * i): RAM and the hot-plug area logged when asked, a read-only pmem file
 * as a read-only slot (the guest's writes exit as MMIO, which nobody
 * claims, so they are dropped). */
static int set_slots(struct engine_vm *vm, u32 log_flag)
{
	const struct guest_mem *mem = &vm->m->mem;

	for (unsigned i = 0; i < mem->nr_mapped; i++) {
		const struct guest_mem_region *g = &mem->regions[i];
		u32 flags = guest_mem_in_file(mem, i) ? log_flag : 0;
		if (g->flags & GUEST_MEM_READONLY)
			flags |= KVM_MEM_READONLY;
		struct kvm_userspace_memory_region r = {
		    .slot = i,
		    .flags = flags,
		    .guest_phys_addr = g->gpa,
		    .memory_size = g->size,
		    .userspace_addr = (u64)(uintptr_t)g->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			int err = errno;
			log_error(
			    "kvm: KVM_SET_USER_MEMORY_REGION slot %u (gpa 0x%llx, %llu bytes): %s",
			    i, (unsigned long long)g->gpa, (unsigned long long)g->size,
			    strerror(err));
			return -err;
		}
	}
	return 0;
}

static int kvm_map_ram(struct engine_vm *vm)
{
	return set_slots(vm, vm->m->mem.dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0);
}

/* KVM logs the guest's writes (and its own, kvmclock's and steal time's)
 * per slot. */
static int kvm_dirty_log_start(struct engine_vm *vm)
{
	return set_slots(vm, KVM_MEM_LOG_DIRTY_PAGES);
}

/* KVM_GET_DIRTY_LOG hands over a slot's log and write-protects its pages
 * again, so the next write is logged anew. */
static int kvm_dirty_log_sync(struct engine_vm *vm)
{
	const struct guest_mem *mem = &vm->m->mem;

	for (unsigned i = 0; i < mem->nr_mapped; i++) {
		const struct guest_mem_region *g = &mem->regions[i];
		if (!guest_mem_in_file(mem, i))
			continue; /* a pmem file is the user's, never logged */
		u64 pages = g->size / 4096, *bits = calloc((pages + 63) / 64, sizeof(u64));
		struct kvm_dirty_log d = {.slot = i, .dirty_bitmap = bits};

		if (!bits)
			return -ENOMEM;
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0) {
			int err = errno;
			log_error("kvm: KVM_GET_DIRTY_LOG slot %u: %s", i, strerror(err));
			free(bits);
			return -err;
		}
		for (u64 p = 0; p < pages; p++)
			if (bits[p / 64] >> (p % 64) & 1)
				guest_mem_dirty_mark_host(mem, g->host + p * 4096, 4096);
		free(bits);
	}
	return 0;
}

const struct engine_ops kvm_engine_ops = {
    .name = "kvm",
    .probe = kvm_probe,
    .vm_create = kvm_vm_create,
    .map_ram = kvm_map_ram,
    .vm_destroy = kvm_vm_destroy,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_destroy = kvm_vcpu_destroy,
    .get_state = kvm_state_get,
    .set_state = kvm_state_set,
    .run = kvm_vcpu_run,
    .needs_halt_probe = true, /* a halted vCPU stays inside KVM_RUN */
    .kick = kvm_vcpu_kick,
    .stat = kvm_vcpu_stat,
    .save_vm = kvm_save_vm,
    .load_vm = kvm_load_vm,
    .save_vcpu = kvm_save_vcpu,
    .load_vcpu = kvm_load_vcpu,
    .dirty_log_start = kvm_dirty_log_start,
    .dirty_log_sync = kvm_dirty_log_sync,
    .set_debug = kvm_vcpu_set_debug,
    .fastpath = {.add_notify_fd = kvm_add_notify_fd,
		 .del_notify_fd = kvm_del_notify_fd,
		 .level_irq_fd = kvm_level_irq_fd},
};
