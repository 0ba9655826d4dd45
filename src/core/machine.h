/* The machine: guest memory, buses, interrupt lines, devices and vCPUs of one
 * VM. Everything mutable in popek hangs off a struct machine. */
#ifndef POPEK_MACHINE_H
#define POPEK_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/event_loop.h"
#include "core/fastpath.h"
#include "core/guest_mem.h"
#include "core/irq.h"
#include "popek/layout.h"

struct engine_ops;
struct engine_vm;
struct engine_vcpu;
struct machine_devices; /* src/dev/devices.h: the legacy device set */
struct machine_virtio;  /* src/virtio/devices.h: the virtio device set */
struct virtio_mmio;

enum machine_stop_reason {
	MACHINE_RUNNING = 0,
	MACHINE_STOP_POWEROFF, /* ACPI S5 or guest poweroff: exit 0 */
	MACHINE_STOP_RESET,    /* guest reboot: exit 0 */
	MACHINE_STOP_DEBUG_EXIT, /* port 0xf4: exit (v << 1) | 1 */
	MACHINE_STOP_CRASH,    /* triple fault/shutdown: exit 2 */
	MACHINE_STOP_ERROR,    /* popek error: exit 1 */
	MACHINE_STOP_USER,     /* signal or API stop: exit 0 */
};

struct machine_vcpu {
	struct machine *m;
	unsigned id;
	struct engine_vcpu *ev;
	pthread_t thread;
	bool thread_started;
	_Atomic u64 exits[4]; /* run() returns by enum vcpu_exit_reason, for metrics */
	_Atomic bool dead_halt; /* halted with interrupts disabled (machine_halt.c) */
	_Atomic u64 dead_round, dead_since; /* halt-probe rounds of the last report, of the first */
	_Atomic bool held; /* a debugger keeps it parked while the others run (machine_vcpu_hold) */
};

struct machine {
	struct vm_config cfg;
	struct guest_mem mem;
	pthread_mutex_t dev_lock; /* serializes all device callbacks */
	struct bus pio, mmio;
	struct irq_router irq;
	struct event_loop loop;

	_Atomic u64 halt_round; /* halt probes so far (src/vmm/machine_halt.c) */
	int halt_timer_fd;      /* -1: the engine reports stuck halts itself */
	/* The engine, opaque down here: the VMM (src/vmm) picks and drives it.
	 * What the ground floor needs of it are two hooks the VMM sets: */
	const struct engine_ops *engine;
	struct engine_vm *evm;
	const struct fastpath_ops *fastpath_ops; /* the engine's, for devices; NULL: none */
	void (*kick_vcpus)(struct machine *m);   /* every vCPU leaves run() soon */
	/* MMDS's guest requests (src/vmm/mmds_http.c, in host/slirp.h's
	 * slirp_serve_fn shape; opaque is cfg.mmds.store), set by the VMM
	 * before the devices when cfg.mmds is enabled; NULL: no MMDS. */
	ssize_t (*mmds_serve)(void *opaque, const char *in, size_t len, char **out,
			      size_t *out_len);
	/* A debugger attached (the GDB stub, src/api/gdb_stub.c): a vCPU that
	 * stopped for it (VCPU_EXIT_DEBUG; kind is enum engine_debug_kind)
	 * calls this on its own thread, then parks. NULL: none. */
	void (*debug_stopped)(void *opaque, unsigned vcpu, int kind, u64 addr);
	void *debug_opaque;
	enum cpu_vendor cpu_vendor; /* the vendor the guest sees: cfg's, "host" resolved */
	unsigned nr_vcpus;
	struct machine_vcpu vcpus[CONFIG_MAX_CPUS];

	struct machine_devices *devs;
	struct machine_virtio *virtio; /* src/virtio/devices.h */
	/* The pmem files, opened and mapped (guest_mem_add_file) before the
	 * engine maps memory; a virtio-pmem device takes its fd over (-1
	 * then). pmem_region[i]: cfg.pmem[i]'s index in mem.regions. */
	unsigned nr_pmem_fds;
	int pmem_fd[CONFIG_MAX_PMEM];
	unsigned pmem_region[CONFIG_MAX_PMEM];

	/* virtio-mmio slots in use, for the ACPI DSDT (filled by virtio_mmio_create). */
	unsigned nr_virtio_slots;
	struct {
		u64 base;
		u32 size;
		u32 gsi;
		struct virtio_mmio *dev; /* src/virtio/virtio.h */
	} virtio_slots[LAYOUT_VIRTIO_MMIO_MAX];

	_Atomic int stop_reason; /* enum machine_stop_reason */
	int exit_status;         /* process exit status once stopped */

	/* Pause/resume (machine_pause): vCPU threads park on pause_cond. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	_Atomic bool pause_requested;
	unsigned nr_parked;       /* vCPU threads parked (under pause_lock) */
	unsigned nr_vcpu_threads; /* vCPU threads in their run loop (under pause_lock) */
	u64 started_ns;           /* CLOCK_MONOTONIC at machine_run */
	u64 paused_since_ns;      /* while paused (under pause_lock) */
	_Atomic u64 paused_total_ns;

	struct metrics *metrics; /* src/vmm/metrics.h: interrupt counts; NULL: none */
	struct fastpath_stats fastpath; /* src/core/fastpath.h: ioeventfd/irqfd use */
};

/* From any thread (devices, signal handling, vCPUs): ask the machine to stop.
 * The first request wins; status is the process exit status. */
void machine_request_stop(struct machine *m, enum machine_stop_reason why, int status);
bool machine_stopping(const struct machine *m);

#endif
