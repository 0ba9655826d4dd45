/* The VMM: the machine as a whole, above the devices, loaders and engines it
 * assembles (src/vmm). What main and the API use, and what the VMM's own
 * files share. Nothing below src/vmm includes this. */
#ifndef POPEK_VMM_H
#define POPEK_VMM_H

#include "core/machine.h"

/* Builds a machine from cfg: memory, buses, devices, ACPI, engine, vCPUs and
 * the loaded kernel. Logs one error line and returns -errno on failure, with
 * everything it made undone (build.c). */
int machine_create(const struct vm_config *cfg, struct machine **out);
/* Starts the vCPU threads and serves I/O until the guest stops; returns the
 * process exit status (see enum machine_stop_reason) (vcpu_loop.c). */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);

/*
 * Pause and resume (any thread but a vCPU's, e.g. the API's; lifecycle.c).
 * Pause kicks every vCPU and returns once each vCPU thread is parked between
 * two runs (or has not started yet: it parks before its first run), so no
 * guest instruction executes until resume. Devices on the event loop keep
 * serving host I/O. Guest time is not frozen: the engines' clocks follow
 * CLOCK_MONOTONIC, so after resume the guest sees the time that passed, as a
 * suspended laptop does. Both are idempotent. machine_pause returns 0, or
 * -ESHUTDOWN when the machine is stopping (a stop also releases parked vCPUs).
 */
int machine_pause(struct machine *m);
/* Asks every vCPU to park, without waiting (from a vCPU thread too). */
void machine_pause_nowait(struct machine *m);
void machine_resume(struct machine *m);
bool machine_paused(struct machine *m);

/* A snapshot of a paused machine (snapshot_create.c): its state to
 * state_path, its RAM to mem_path: all of it (Full), or with diff only the
 * pages written since the last snapshot (needs the dirty log; the file is
 * RAM-sized with holes elsewhere, applied onto its base by `popek snapshot
 * rebase`). 0, or -errno with one line in why (-EBUSY: not paused). The
 * machine stays paused. Restoring is machine_create with cfg->restore_path
 * (snapshot_restore.c). */
int machine_snapshot_create(struct machine *m, const char *state_path, const char *mem_path,
			    bool diff, char *why, size_t why_len);

/* The state file's bytes (malloc'ed in *buf) of a paused machine whose
 * virtio devices are quiesced (virtio_devices_quiesce); 0, or -errno with
 * one line in why. What a snapshot writes to its state file and a
 * migration sends last (snapshot_create.c). */
int machine_snapshot_encode(struct machine *m, u8 **buf, size_t *len, char *why, size_t why_len);
/* A state file with the machine section alone (what a migration's
 * destination builds the machine from); any time. 0 or -errno. */
int machine_snapshot_encode_machine(struct machine *m, u8 **buf, size_t *len);

/* `popek snapshot rebase`: the Diff memory file diff_path (its data; its
 * holes are the pages it does not hold) copied onto its base's memory file
 * base_path, which then is the memory of the Diff's state file
 * (snapshot_rebase.c). 0, or -errno after one error line. */
int snapshot_rebase(const char *base_path, const char *diff_path);

/* The dirty log (dirty_log.c; core/guest_mem.h): start it before the vCPUs
 * run or while paused; take it while paused (the engine's part is folded
 * in first): ORs the pages written since the last take into out
 * (guest_mem_dirty_words words) and returns how many out holds, or -errno.
 * give_back returns pages taken for a save that failed. */
int machine_dirty_start(struct machine *m);
s64 machine_dirty_take(struct machine *m, u64 *out);
void machine_dirty_give_back(struct machine *m, const u64 *pages);

/* ---- inside the VMM ---- */

/* Writes the one-line reason fmt into why (why_len bytes) and returns err:
 * `return vmm_fail(why, why_len, -EINVAL, "...", ...);` (vmm_fail.c). */
int vmm_fail(char *why, size_t why_len, int err, const char *fmt, ...) PRINTF_FMT(4, 5);

/* The hook machine_request_stop() calls (lifecycle.c). */
void vmm_kick_vcpus(struct machine *m);
/* On a vCPU thread between runs: waits while a pause is requested or a
 * debugger holds it. */
void machine_vcpu_park(struct machine_vcpu *v);
/* A debugger's all-stop resume that lets only some vCPUs go (gdb's vCont
 * with no action for the others): while held, vCPU id stays parked after
 * machine_resume(). Set while the machine is paused; lifecycle.c. */
void machine_vcpu_hold(struct machine *m, unsigned id, bool hold);

/* memdev.c: opens and maps each pmem file of m->cfg (before the engine
 * maps memory), one line and -errno on failure; close_pmem closes the
 * files no device took. */
int machine_map_pmem(struct machine *m);
void machine_close_pmem(struct machine *m);

/* machine_halt.c: the guest stopped for good (every vCPU stuck in a halt). */
void machine_vcpu_halted(struct machine *m, struct machine_vcpu *v); /* run() said HLT */
void machine_vcpu_running(struct machine_vcpu *v);                   /* any other exit */
int machine_halt_probe_start(struct machine *m);
void machine_halt_probe_stop(struct machine *m);

#endif
