/* The KVM engine's internals shared by its files, and the speed check that
 * `--engine auto` uses to tell a usable /dev/kvm from a present-but-slow one. */
#ifndef POPEK_KVM_H
#define POPEK_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "cpu/engine.h"
#include "popek/layout.h"

/* KVM's private guest-physical pages on Intel (VMX): the real-mode TSS (3
 * pages) and the EPT identity page table (1 page). Both sit in the MMIO hole
 * just below the 4 GiB BIOS area, away from every device in layout.h. */
#define KVM_TSS_ADDR          0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

/* KVM's in-kernel LAPIC timer runs at 1 GHz (APIC_BUS_CYCLE_NS = 1). */
#define KVM_LAPIC_BUS_KHZ 1000000U

/* Kick scheme (see kvm_vcpu_kick): kick() sets kick_pending, then
 * run->immediate_exit, then sends KVM_KICK_SIGNAL to the thread if it is in
 * KVM_RUN. immediate_exit covers a kick that lands just before KVM_RUN, the
 * signal one that lands inside it (KVM_RUN returns -EINTR for any pending
 * signal that is not blocked). The handler does nothing. */
#define KVM_KICK_SIGNAL SIGUSR1

/* Per-vCPU exit counters, reported by stat() under these names. */
enum kvm_stat {
	KVM_STAT_EXITS, /* "exits": every return from KVM_RUN */
	KVM_STAT_IO,    /* "exits_io" */
	KVM_STAT_MMIO,  /* "exits_mmio" */
	KVM_STAT_HLT,   /* "exits_hlt" */
	KVM_STAT_INTR,  /* "exits_intr": kicks and other signals */
	KVM_STAT_SHUTDOWN,
	KVM_STAT_SYSTEM_EVENT,
	KVM_STAT_OTHER, /* errors and unexpected reasons */
	KVM_STAT_NR,
};

/* Options for kvm_vm_create_opts(); vm_create() uses the defaults. */
struct kvm_vm_opts {
	bool no_irqchip;   /* no in-kernel PIC/IOAPIC/LAPIC/PIT: HLT exits to us (tests) */
	bool no_ioeventfd; /* device notifications always exit (tests, POPEK_KVM_DISABLE) */
	bool no_irqfd;     /* interrupt lines always through KVM_IRQ_LINE (same) */
};

struct kvm_irq_line; /* kvm_fastpath.c: a level-triggered line raised through an irqfd */

struct engine_vm {
	struct machine *m;
	int kvm_fd, vm_fd;
	size_t run_size;          /* KVM_GET_VCPU_MMAP_SIZE */
	bool irqchip;             /* in-kernel PIC, IOAPIC, LAPICs and PIT exist */
	bool tsc_deadline;        /* KVM_CAP_TSC_DEADLINE_TIMER */
	u32 tsc_khz;              /* guest TSC frequency (KVM_GET_TSC_KHZ, or a loaded
				     snapshot's), 0 if unknown */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, fetched once */
	bool ioeventfd;           /* KVM_CAP_IOEVENTFD, in use */
	bool irqfd;               /* KVM_CAP_IRQFD and _RESAMPLE with the irqchip, in use */
	u64 snap_ns;              /* guest ns of the last save_vm or load_vm (kvm_snap_io.c) */
	/* Lines raised through irqfds (set before the vCPUs run, then read-only). */
	struct kvm_irq_line *lines[LAYOUT_IOAPIC_PINS];
};

struct engine_vcpu {
	struct engine_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run; /* mmap of vm->run_size bytes */
	bool io_incomplete;  /* last exit was I/O: KVM completes it on the next KVM_RUN */

	/* kick(): the lock orders "thread is inside KVM_RUN" against
	 * pthread_kill, so a signal is only ever sent to a thread in (or just
	 * entering or leaving) KVM_RUN, never to one serving a device. */
	pthread_mutex_t kick_lock;
	pthread_t thread;
	bool in_kvm_run;
	atomic_bool kick_pending;

	_Atomic u64 stats[KVM_STAT_NR];

	/* A debugger's hardware breakpoints (kvm_debug.c): per DR slot, its
	 * enum engine_debug_kind + 1 (0: unused) and address. */
	u8 dbg_kind[4];
	u64 dbg_addr[4];
};

/* kvm.c */
int kvm_vm_create_opts(struct machine *m, const struct kvm_vm_opts *opts, struct engine_vm **out);
/* Opens /dev/kvm and checks the API version; on failure writes why. */
int kvm_open_dev(char *why, size_t whylen);

/* kvm_debug.c: engine_ops.set_debug; KVM_EXIT_DEBUG into *exit. */
int kvm_vcpu_set_debug(struct engine_vcpu *vcpu, const struct engine_debug *d);
void kvm_vcpu_debug_exit(struct engine_vcpu *vcpu, struct vcpu_exit *exit);

/* kvm_vcpu.c: the engine_ops entries for vCPUs. */
int kvm_vcpu_create(struct engine_vm *vm, unsigned id, struct engine_vcpu **out);
void kvm_vcpu_destroy(struct engine_vcpu *vcpu);
int kvm_vcpu_run(struct engine_vcpu *vcpu, struct vcpu_exit *exit);
void kvm_vcpu_kick(struct engine_vcpu *vcpu);
u64 kvm_vcpu_stat(struct engine_vcpu *vcpu, const char *name);
/* Serves one KVM_EXIT_IO or KVM_EXIT_MMIO found in run (an area of run_size
 * bytes) on machine m. Returns 0, or -EIO with msg filled when KVM reported
 * an access that cannot be right (bad size, data outside the area). */
int kvm_exit_io(struct machine *m, struct kvm_run *run, size_t run_size, char *msg, size_t msglen);
int kvm_exit_mmio(struct machine *m, struct kvm_run *run, char *msg, size_t msglen);

/* kvm_fastpath.c: ioeventfd and irqfd (Documentation/virt/kvm/api.rst,
 * KVM_IOEVENTFD and KVM_IRQFD). */
/* Decides which fast paths the VM uses from KVM's capabilities and opts,
 * and logs it in one info line. */
void kvm_fastpath_init(struct engine_vm *vm, const struct kvm_vm_opts *opts);
/* Detaches every irqfd line (from m->loop too) and closes its eventfds. */
void kvm_fastpath_destroy(struct engine_vm *vm);
/* kvm_irq_set() for a line raised through an irqfd: returns false when gsi
 * is not one, and the caller uses KVM_IRQ_LINE. */
bool kvm_irqfd_set(struct engine_vm *vm, unsigned gsi, bool level);
int kvm_add_notify_fd(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd);
int kvm_del_notify_fd(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd);
int kvm_level_irq_fd(struct engine_vm *vm, unsigned gsi);

/* kvm_snap_io.c: the engine_ops snapshot hooks (engine.h). */
int kvm_save_vm(struct engine_vm *vm, struct x86_irqchip_state *ic, struct x86_clock_state *clock);
int kvm_load_vm(struct engine_vm *vm, const struct x86_irqchip_state *ic,
		const struct x86_clock_state *clock, char *why, size_t why_len);
int kvm_save_vcpu(struct engine_vcpu *vcpu, struct x86_vcpu_state *st);
int kvm_load_vcpu(struct engine_vcpu *vcpu, const struct x86_vcpu_state *st, char *why,
		  size_t why_len);

/* kvm_state.c */
int kvm_state_get(struct engine_vcpu *vcpu, struct x86_state *st);
int kvm_state_set(struct engine_vcpu *vcpu, const struct x86_state *st);
/* Sets the FPU/SSE control words to their reset values (FCW 0x37f, MXCSR 0x1f80). */
int kvm_state_fpu_reset(struct engine_vcpu *vcpu);

/* kvm_cpuid.c */
/* Fetches KVM_GET_SUPPORTED_CPUID into vm->cpuid. */
int kvm_cpuid_fetch(struct engine_vm *vm);
/* Builds and sets (KVM_SET_CPUID2) the CPUID of vCPU vcpu->id out of
 * n-CPU topology, the hypervisor leaves and the TSC frequency. */
int kvm_cpuid_setup(struct engine_vcpu *vcpu, unsigned nr_cpus);

/* kvm_speed.c */
struct kvm_speed {
	u64 loop_ps; /* picoseconds per `dec ecx; jnz` iteration (hardware: < 1000) */
	u64 exit_ns; /* nanoseconds per port-I/O exit round trip through user space */
};

/* Upper limits for a KVM that can run Linux: one loop iteration at 50 ns is
 * 1,000,000 iterations in 50 ms. Hardware takes well under 1 ns; the nested
 * KVM seen on some popek hosts takes ~1000 ns, because it passes every guest
 * instruction through KVM's x86 emulator (even an SSE load from RAM fails
 * there with KVM_INTERNAL_ERROR_EMULATION). */
#define KVM_SPEED_MAX_LOOP_PS 50000ULL
#define KVM_SPEED_MAX_EXIT_NS 100000ULL

/* Times a throwaway VM (one vCPU, 16 KiB, 32-bit flat code): a dec/jnz loop
 * and a run of OUT exits. Takes ~25 ms on a slow KVM, ~2 ms on hardware.
 * Returns 0 or -errno (with why filled). */
int kvm_measure_speed(struct kvm_speed *out, char *why, size_t whylen);

/* probe() plus kvm_measure_speed() against the limits above: true when KVM
 * can run real guests; otherwise why says what is missing or too slow,
 * e.g. "KVM too slow: 1040 ns per loop iteration (limit 50 ns)". */
bool kvm_engine_usable(char *why, size_t whylen);
/* The verdict on one measurement: true when within both limits, else false
 * with why saying which limit and by how much. */
bool kvm_speed_verdict(const struct kvm_speed *sp, char *why, size_t whylen);

/* Sets the reset MSRs both engines share (kvm_msrs.c). */
int kvm_msrs_reset(struct engine_vcpu *vcpu);

#endif
