/* libFuzzer harness for virtio-rng (src/virtio/rng.c) behind the real
 * virtio-mmio transport: the input is a hostile driver's program of register
 * accesses, guest memory writes, descriptor chains and notifications
 * (tests/fuzz/harness.c), played against a fresh device each run. */
#include <stdlib.h>

#include "harness.h"
#include "virtio/rng.h"

/* The device has no step of its own: its whole interface is the request
 * queue, whose buffers it fills with random bytes (so used elements cannot
 * be read back reliably: a buffer may cover the used ring). */
static const struct fuzz_vm_dev fuzz_rng_dev = {0};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_cursor cur = {data, size};
	struct virtio_rng *r;
	struct fuzz_vm f;

	fuzz_vm_init(&f);
	if (virtio_rng_create(f.m, &(struct rate_limit_config){0}, &r))
		abort();
	fuzz_vm_attach(&f, &fuzz_rng_dev, r);
	fuzz_vm_play(&f, &cur);
	virtio_rng_destroy(r);
	fuzz_vm_fini(&f);
	return 0;
}
