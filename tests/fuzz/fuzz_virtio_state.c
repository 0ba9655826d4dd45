/* libFuzzer harness for loading a virtio device's saved state
 * (virtio_mmio_load, src/virtio/mmio_state.c) into a fresh virtio-balloon,
 * which has state of its own besides the transport's: the input is a le16
 * length, that many bytes of state, then a hostile driver's program
 * (tests/fuzz/harness.c) played against whatever state was accepted. A
 * refused state must leave the device untouched. */
#include <stdlib.h>

#include "core/snap_codec.h"
#include "harness.h"
#include "virtio/balloon.h"

static const struct fuzz_vm_dev fuzz_state_dev = {0};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_cursor cur = {data, size};
	struct virtio_balloon *b;
	struct snap_in in;
	struct fuzz_vm f;
	size_t len;
	const u8 *state;

	struct balloon_config bc = {0, 1, true, true, true}; /* every queue */

	fuzz_vm_init(&f);
	if (virtio_balloon_create(f.m, &bc, &b))
		abort();
	fuzz_vm_attach(&f, &fuzz_state_dev, b);
	state = fuzz_take_bytes(&cur, fuzz_take16(&cur), &len);
	snap_in_init(&in, state, len);
	if (virtio_mmio_load(f.vm, &in) < 0) {
		/* Nothing changed: still a device no driver has touched. */
		if (!in.why[0] || fuzz_vm_read(&f, 0x70, 4) || fuzz_vm_read(&f, 0x60, 4) ||
		    fuzz_vm_read(&f, 0x100, 4) || f.line)
			abort();
	}
	fuzz_vm_run_loop(&f);
	fuzz_vm_play(&f, &cur);
	virtio_balloon_destroy(b);
	fuzz_vm_fini(&f);
	return 0;
}
