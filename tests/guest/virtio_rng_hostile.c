/* Guest program: a hostile virtio-rng driver (rng is on by default). Broken
 * chains on the request queue (buffer outside RAM, descriptor loop, huge
 * length, a device-readable buffer, indirect loop and indirect table outside
 * RAM; lib/virtio.c) must each put the device in DEVICE_NEEDS_RESET; after a
 * reset the device fills valid buffers with random bytes (5.4.6).
 * A request's only effect is on its buffer, which the guest sees: the broken
 * requests' buffers must come out unchanged (lib/virtio.c poisons and checks
 * them), and valid_use(), before and after, is the positive control. */
#include "virtio.h"

#define REQUESTQ 0

static struct virtio_dev rng;
static struct virtq *const q = &rng.q[REQUESTQ];
static u8 buf[2][256] __attribute__((aligned(64)));

static bool all_zero(const u8 *p, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void identity(void)
{
	u64 f = virtio_device_features(&rng);

	check(f >> VIRTIO_F_VERSION_1 & 1, "VERSION_1 offered");
	check(virtio_queue_max(&rng, REQUESTQ) >= VQ_SIZE, "the request queue holds %u entries",
	      VQ_SIZE);
	check_eq("no queue 1", virtio_queue_max(&rng, 1), 0);
}

/* One writable buffer, then a chain of two: both get random bytes. */
static void valid_use(const char *when)
{
	struct vq_used_elem u;

	memset(buf, 0, sizeof(buf));
	vq_desc_set(q, 0, (u64)buf[0], 64, VDESC_WRITE, 0);
	virtio_kick(&rng, REQUESTQ, 0);
	check(vq_wait_used(q, &u), "%s: a 64-byte request comes back", when);
	check(u.id == 0 && u.len > 0 && u.len <= 64, "%s: used id %u, %u bytes", when, u.id, u.len);
	check(!all_zero(buf[0], 64), "%s: the bytes are not all zero", when);

	vq_desc_set(q, 1, (u64)buf[1], 128, VDESC_WRITE | VDESC_NEXT, 2);
	vq_desc_set(q, 2, (u64)buf[1] + 128, 128, VDESC_WRITE, 0);
	virtio_kick(&rng, REQUESTQ, 1);
	check(vq_wait_used(q, &u), "%s: a two-buffer request comes back", when);
	check(u.id == 1 && u.len > 0 && u.len <= 256, "%s: used id %u, %u bytes", when, u.id,
	      u.len);
	check(!(virtio_rd(&rng, VREG_STATUS) & VSTAT_NEEDS_RESET), "%s: the device is healthy",
	      when);
}

void test_main(void)
{
	if (!check(virtio_find(&rng, VIRTIO_ID_RNG, 0), "a virtio-rng device is present"))
		return;
	identity();
	if (!check(virtio_init(&rng, 0, 1), "driver initialization"))
		return;
	valid_use("before");
	virtio_attack_queue(&rng, REQUESTQ, "requestq", (u64)buf[0], 64, true, NULL);
	valid_use("after the broken requests");
}
