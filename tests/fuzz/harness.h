/* Shared pieces of the fuzz targets: a cursor over the input, one guest RAM
 * mapping per run, and a virtio-mmio machine that the input drives as a
 * hostile driver would (register accesses, guest memory, descriptor chains,
 * queue notifications), with the device's event loop served on the fuzzer's
 * own thread so that every run is deterministic. Linked into every
 * build/fuzz/fuzz_* binary by the Makefile (this file is not a target). */
#ifndef POPEK_FUZZ_HARNESS_H
#define POPEK_FUZZ_HARNESS_H

#include "core/machine.h"
#include "virtio/virtio.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

/* ---- the input --------------------------------------------------------- */

/* Reads past the end give zeros, so every input is a valid program. */
struct fuzz_cursor {
	const u8 *p;
	size_t left;
};

u8 fuzz_take8(struct fuzz_cursor *cur);
u16 fuzz_take16(struct fuzz_cursor *cur);
u32 fuzz_take32(struct fuzz_cursor *cur);
u64 fuzz_take64(struct fuzz_cursor *cur);
/* Up to want bytes of input (fewer at its end): sets *got, returns where. */
const u8 *fuzz_take_bytes(struct fuzz_cursor *cur, size_t want, size_t *got);

/* The run's guest RAM of size bytes, mapped on the first call and kept for
 * the whole run (aborts when it cannot be mapped). */
struct guest_mem *fuzz_guest_mem(u64 size);

/* ---- a virtio-mmio machine driven by the input -------------------------- */

/* Guest RAM and where the driver steps put things: queue q's rings at
 * q * FUZZ_VM_RING_STRIDE (descriptors, then avail at +0x800, used at
 * +0xc00: room for 128 entries), buffers in the data area; memory writes
 * reach the first FUZZ_VM_AREA bytes. */
#define FUZZ_VM_RAM         (2 * MiB)
#define FUZZ_VM_RING_STRIDE 0x2000
#define FUZZ_VM_DATA        0x8000
#define FUZZ_VM_DATA_SIZE   0x8000
#define FUZZ_VM_AREA        0x10000
#define FUZZ_VM_MAX_STEPS   256

#define FUZZ_DESC_F_NEXT     1
#define FUZZ_DESC_F_WRITE    2
#define FUZZ_DESC_F_INDIRECT 4

/* One descriptor as the driver writes it (virtio 1.2 section 2.7.5). */
struct fuzz_desc {
	gpa_t addr;
	u32 len;
	u16 flags; /* F_NEXT is set by fuzz_vm_add_chain for all but the last */
};

struct fuzz_vm;

/* What a device target adds to the generic steps. Any member may be NULL. */
struct fuzz_vm_dev {
	/* A device-specific step (structured requests, host-side actions);
	 * op is the step's opcode byte. */
	void (*step)(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 op);
	/* One used element the device pushed on queue q during a step; only
	 * for devices that never write guest buffers (the element is read
	 * back from guest RAM, which a written buffer may overlap). */
	void (*check_used)(struct fuzz_vm *f, unsigned q, u32 id, u32 len);
};

struct fuzz_vm {
	struct machine *m;
	struct virtio_mmio *vm;
	const struct fuzz_vm_dev *dev;
	void *opaque; /* the device target's state */
	unsigned nr_queues;
	bool line;                          /* level of the device's GSI */
	u16 next_desc[VIRTIO_MAX_QUEUES];   /* driver's next free descriptor */
	bool broken;                        /* NEEDS_RESET when the step began */
	u16 used_before[VIRTIO_MAX_QUEUES]; /* transport's used_idx then */
};

/* A machine with guest RAM (FUZZ_VM_RAM), an MMIO bus, an event loop (never
 * run by a thread) and an interrupt sink; create the device on f->m next. */
void fuzz_vm_init(struct fuzz_vm *f);
/* After the device was created in slot 0: finds its transport. */
void fuzz_vm_attach(struct fuzz_vm *f, const struct fuzz_vm_dev *dev, void *opaque);
/* After the device was destroyed. */
void fuzz_vm_fini(struct fuzz_vm *f);

/* Register accesses at offset off of the device's window (0x100+: config). */
u64 fuzz_vm_read(struct fuzz_vm *f, u32 off, unsigned size);
void fuzz_vm_write(struct fuzz_vm *f, u32 off, unsigned size, u64 value);
/* Writes n descriptors at the queue's next free slots as one chain (or,
 * with indirect, as a table at gpa table with one F_INDIRECT head) and
 * makes it available, as the transport sees the queue. Returns false when
 * the queue's rings are not in RAM. */
bool fuzz_vm_add_chain(struct fuzz_vm *f, unsigned q, const struct fuzz_desc *d, unsigned n,
		       bool indirect, gpa_t table);
/* QueueNotify q, then serves the event loop until it is idle. */
void fuzz_vm_notify(struct fuzz_vm *f, unsigned q);
/* Serves the handlers whose fds are ready until none is (aborts when the
 * device never lets the loop go idle). */
void fuzz_vm_run_loop(struct fuzz_vm *f);

/* Plays the input as up to FUZZ_VM_MAX_STEPS driver steps and checks the
 * transport's invariants after each (see harness.c for the encoding). */
void fuzz_vm_play(struct fuzz_vm *f, struct fuzz_cursor *cur);

#endif
