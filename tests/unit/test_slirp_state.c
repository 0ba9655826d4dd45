/* User-mode networking's own state in a snapshot (host/slirp.c): libslirp's
 * bytes saved with their version, taken back by another stack, and damaged
 * ones refused with a reason (libslirp's parser is untrusted input's next
 * stop). */
#include <string.h>

#include "host/slirp.h"
#include "test.h"

static struct net_backend *stack(void)
{
	struct net_config cfg = {.mode = NET_USER};
	struct net_backend *b = NULL;

	CHECK_EQ(slirp_backend_create(&cfg, NULL, NULL, &b), 0);
	return b;
}

/* Loads len bytes of p into b; returns its result and the reason. */
static int load(struct net_backend *b, const u8 *p, size_t len, char *why)
{
	struct snap_in in;
	int err;

	snap_in_init(&in, p, len);
	err = b->ops->load(b, &in);
	if (!err)
		err = snap_in_end(&in);
	strcpy(why, in.why);
	return err;
}

static void test_round_trip_and_damage(void)
{
	struct net_backend *a = stack(), *b = stack();
	struct snap_out o;
	char why[160];
	u8 *bad;
	u32 v;

	snap_out_init(&o);
	CHECK_EQ(a->ops->save(a, &o), 0);
	CHECK(o.len > 8);
	memcpy(&v, o.buf, 4);
	CHECK(v >= 1); /* libslirp's state version */
	memcpy(&v, o.buf + 4, 4);
	CHECK_EQ(v, o.len - 8);
	CHECK_EQ(load(b, o.buf, o.len, why), 0);

	bad = malloc(o.len + 16);
	memcpy(bad, o.buf, o.len);
	memset(bad, 0, 4); /* version 0 */
	CHECK(load(b, bad, o.len, why) < 0 && strstr(why, "libslirp state version 0"));
	memcpy(bad, o.buf, o.len);
	bad[3] = 0x7f; /* a version from the future */
	CHECK(load(b, bad, o.len, why) < 0 && strstr(why, "libslirp state version"));
	memcpy(bad, o.buf, o.len);
	v = (u32)o.len; /* longer than what follows */
	memcpy(bad + 4, &v, 4);
	CHECK(load(b, bad, o.len, why) < 0 && strstr(why, "bytes of libslirp state"));
	memcpy(bad, o.buf, o.len);
	v = (u32)(o.len - 8 - 1); /* one byte short: libslirp reads past it */
	memcpy(bad + 4, &v, 4);
	CHECK(load(b, bad, o.len - 1, why) < 0 && strstr(why, "refused"));
	memcpy(bad, o.buf, o.len);
	memset(bad + 8, 0x2a, o.len - 8); /* guestfwd sockets popek never made */
	CHECK(load(b, bad, o.len, why) < 0 && strstr(why, "refused"));
	CHECK(load(b, o.buf, 6, why) < 0); /* cut in the header */

	free(bad);
	snap_out_free(&o);
	a->ops->destroy(a);
	b->ops->destroy(b);
}

int main(void)
{
	TEST_RUN(test_round_trip_and_damage);
	return test_done();
}
