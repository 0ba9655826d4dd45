/* The vCPU engine interface: what the machine asks of a CPU engine (kvm or
 * soft). Engines call back into the machine only through its buses
 * (m->pio, m->mmio), its guest memory (m->mem) and machine_request_stop(). */
#ifndef POPEK_ENGINE_H
#define POPEK_ENGINE_H

#include "core/fastpath.h"
#include "core/irqchip_state.h"
#include "core/vcpu_state.h"
#include "core/x86_state.h"

struct machine;
struct engine_vm;   /* engine-private */
struct engine_vcpu; /* engine-private */

enum vcpu_exit_reason {
	VCPU_EXIT_KICKED,   /* kick() was called (stop/pause requested): check and re-run */
	VCPU_EXIT_HLT,      /* only another vCPU can wake it (HLT with IF=0, wait for SIPI) */
	VCPU_EXIT_SHUTDOWN, /* triple fault or shutdown: the guest crashed */
	VCPU_EXIT_ERROR,    /* the engine failed (message in vcpu_exit.msg) */
	VCPU_EXIT_DEBUG,    /* a debugger's breakpoint, watchpoint or step (vcpu_exit.debug) */
};

/* A debugger's own breakpoints (the GDB stub), apart from the guest's
 * debug registers, which it never sees or changes. Addresses are linear. */
#define ENGINE_DEBUG_MAX_BP    64
#define ENGINE_DEBUG_MAX_WATCH 4
enum engine_debug_kind { ENGINE_DEBUG_STEP, ENGINE_DEBUG_BREAK, ENGINE_DEBUG_WATCH };
struct engine_debug {
	bool step; /* stop after one instruction */
	unsigned nr_bp;
	u64 bp[ENGINE_DEBUG_MAX_BP]; /* stop before the instruction at each */
	unsigned nr_watch;
	struct {
		u64 addr;
		u32 len;    /* 1 to 8 bytes */
		bool read;  /* stop after an instruction that read or ... */
		bool write; /* ... wrote one of its bytes */
	} watch[ENGINE_DEBUG_MAX_WATCH];
};

struct vcpu_exit {
	enum vcpu_exit_reason reason;
	char msg[160];
	struct {
		enum engine_debug_kind kind;
		u64 addr; /* BREAK: the breakpoint; WATCH: the watched address hit */
	} debug;
};

struct engine_ops {
	const char *name; /* "kvm", "soft" */

	/* Whether this engine can run here; on false writes why (e.g.
	 * "no /dev/kvm") into why. Cheap; no side effects left behind. */
	bool (*probe)(char *why, size_t whylen);

	/* Creates the VM for machine m and installs m->irq.set so devices'
	 * interrupt lines reach the engine's interrupt controllers. */
	int (*vm_create)(struct machine *m, struct engine_vm **out);
	/* Makes every region of m->mem guest RAM. Called once after vm_create. */
	int (*map_ram)(struct engine_vm *vm);
	void (*vm_destroy)(struct engine_vm *vm);

	/* vCPU id is also its APIC id; vCPU 0 is the boot CPU, the others wait
	 * for INIT/SIPI from the guest. */
	int (*vcpu_create)(struct engine_vm *vm, unsigned id, struct engine_vcpu **out);
	void (*vcpu_destroy)(struct engine_vcpu *vcpu);
	int (*get_state)(struct engine_vcpu *vcpu, struct x86_state *st);
	int (*set_state)(struct engine_vcpu *vcpu, const struct x86_state *st);

	/* Optional (NULL: nothing to do). Called once on the thread that will
	 * run the vCPU, before that thread's seccomp filter is installed: opens
	 * what the engine reads per thread (the soft engine: the thread's
	 * scheduler statistics, for steal time). */
	void (*thread_start)(struct engine_vcpu *vcpu);
	/* Runs the vCPU on the calling thread until one exit; devices are
	 * served inside. Returns 0 with *exit filled, or -errno. */
	int (*run)(struct engine_vcpu *vcpu, struct vcpu_exit *exit);
	/* Whether run() reports a vCPU stuck in a halt (VCPU_EXIT_HLT) only when
	 * kicked, so the machine must kick periodically to notice a guest that
	 * has stopped for good (src/vmm/machine_halt.c). */
	bool needs_halt_probe;
	/* From any thread: makes run() return VCPU_EXIT_KICKED soon (or
	 * VCPU_EXIT_HLT for a vCPU stuck in a halt). */
	void (*kick)(struct engine_vcpu *vcpu);
	/* Count of a named per-engine statistic, e.g. "instructions"; 0 if none. */
	u64 (*stat)(struct engine_vcpu *vcpu, const char *name);

	/* Snapshots (issue 12), in the engine-neutral forms of core/vcpu_state.h
	 * and core/irqchip_state.h. Called only while no vCPU is inside run()
	 * (paused, or not started). save_vm reports the guest's clock: its ns
	 * and the rate every vCPU's TSC runs at; load_vm sets the clock to the
	 * saved one (or refuses a TSC rate it cannot run), then loads the
	 * interrupt controllers, before any load_vcpu. A load returns 0 or
	 * -errno with a one-line reason in why, naming what this engine
	 * cannot represent. */
	int (*save_vm)(struct engine_vm *vm, struct x86_irqchip_state *ic,
		       struct x86_clock_state *clock);
	int (*load_vm)(struct engine_vm *vm, const struct x86_irqchip_state *ic,
		       const struct x86_clock_state *clock, char *why, size_t why_len);
	int (*save_vcpu)(struct engine_vcpu *vcpu, struct x86_vcpu_state *st);
	int (*load_vcpu)(struct engine_vcpu *vcpu, const struct x86_vcpu_state *st, char *why,
			 size_t why_len);

	/* Dirty log (Diff snapshots, migration; core/guest_mem.h). Called only
	 * while no vCPU is inside run(). dirty_log_start: from now on, mark in
	 * the machine's log (guest_mem_dirty_start already called) every page
	 * the guest writes. dirty_log_sync: fold what the engine tracked
	 * itself into that log, and track again from here (the log is about
	 * to be taken). 0 or -errno. */
	int (*dirty_log_start)(struct engine_vm *vm);
	int (*dirty_log_sync)(struct engine_vm *vm);

	/* Optional (NULL: no debugger on this engine). Replaces the vCPU's
	 * debugger state (NULL: none); while one is set, run() returns
	 * VCPU_EXIT_DEBUG where it says, even for a breakpoint at the address
	 * it resumes from (gdb steps over its breakpoints itself, with the
	 * breakpoint removed; another vCPU parked on one reports it again).
	 * Called while the vCPU is not in run(). */
	int (*set_debug)(struct engine_vcpu *vcpu, const struct engine_debug *d);
	/* Optional host fast paths (KVM's ioeventfd and irqfd): src/core/fastpath.h. */
	struct fastpath_ops fastpath;
};

extern const struct engine_ops kvm_engine_ops;
extern const struct engine_ops soft_engine_ops;

#endif
