/* For a device target's oracle: whether the request it is about to add
 * will be the only one the device sees, so that what the device does next
 * is its answer to that request alone. Linked into every fuzz target with
 * harness.c (this file is not a target). */
#ifndef POPEK_FUZZ_HARNESS_ALONE_H
#define POPEK_FUZZ_HARNESS_ALONE_H

#include "harness.h"

/* True when the device runs (DRIVER_OK, not NEEDS_RESET), queue q is ready
 * with room for a chain of two descriptors (a queue of one would chain a
 * descriptor to itself), nothing is pending on it (the available index in
 * guest memory is the device's next), and none of its rings shares a byte
 * with [buf, buf + len), where the request and its answer go. */
bool fuzz_vm_alone(struct fuzz_vm *f, unsigned q, gpa_t buf, u64 len);

#endif
