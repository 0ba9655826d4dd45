/* Live migration's stream (vmm/migrate_wire.h): the checks a destination
 * makes of what a source sends, and the addresses both accept. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "vmm/migrate_wire.h"
#include "vmm/snapshot.h"

static void test_pages_valid(void)
{
	const u64 npages = 1000;
	u64 h[2];

#define RUN(first, count) (h[0] = (first), h[1] = (count), h)
	CHECK(mig_pages_valid(RUN(0, 1), 16 + 4096, npages));
	CHECK(mig_pages_valid(RUN(999, 1), 16 + 4096, npages));
	CHECK(mig_pages_valid(RUN(744, 256), 16 + 256 * 4096, npages));
	CHECK(!mig_pages_valid(RUN(0, 0), 16, npages));                 /* empty */
	CHECK(!mig_pages_valid(RUN(1000, 1), 16 + 4096, npages));       /* past RAM */
	CHECK(!mig_pages_valid(RUN(999, 2), 16 + 2 * 4096, npages));    /* runs past it */
	CHECK(!mig_pages_valid(RUN(0, 257), 16 + 257 * 4096, npages));  /* over a batch */
	CHECK(!mig_pages_valid(RUN(0, 2), 16 + 4096, npages));          /* short */
	CHECK(!mig_pages_valid(RUN(0, 1), 16 + 2 * 4096, npages));      /* long */
	CHECK(!mig_pages_valid(RUN(UINT64_MAX, 1), 16 + 4096, npages)); /* wraps */
	CHECK(!mig_pages_valid(RUN(1, UINT64_MAX), 16, npages));
	CHECK(!mig_pages_valid(RUN(1, 1ULL << 52), 16, npages)); /* count * 4096 wraps */
#undef RUN
}

static void test_frame_bounds(void)
{
	CHECK_EQ(mig_frame_max(MIG_HELLO), SNAP_STATE_MAX);
	CHECK_EQ(mig_frame_max(MIG_PAGES), 16 + MIG_BATCH_PAGES * 4096ULL);
	CHECK_EQ(mig_frame_max(MIG_STATE), 4 + SNAP_STATE_MAX);
	CHECK_EQ(mig_frame_max(MIG_DONE), 4 + MIG_DONE_MAX);
	CHECK_EQ(mig_frame_max(0), 0);
	CHECK_EQ(mig_frame_max(5), 0);
}

/* What a socket pair carries from one end to the other. */
static void test_frames_over_socket(void)
{
	int sv[2];
	struct mig_frame f;
	u64 head[2] = {7, 1};
	u8 page[4096], got[4096];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(page, 0xA5, sizeof(page));
	CHECK_EQ(mig_send_greeting(sv[0]), 0);
	CHECK_EQ(mig_recv_greeting(sv[1]), 0);
	CHECK_EQ(mig_send_frame(sv[0], MIG_PAGES, head, sizeof(head), page, sizeof(page)), 0);
	CHECK_EQ(mig_recv_header(sv[1], &f), 0);
	CHECK_EQ(f.type, MIG_PAGES);
	CHECK_EQ(f.len, sizeof(head) + sizeof(page));
	CHECK_EQ(mig_recv_all(sv[1], head, sizeof(head)), 0);
	CHECK_EQ(mig_recv_all(sv[1], got, sizeof(got)), 0);
	CHECK(!memcmp(got, page, sizeof(page)));

	/* A frame over its bound, of an unknown type, another greeting. */
	f = (struct mig_frame){.type = MIG_PAGES, .len = mig_frame_max(MIG_PAGES) + 1};
	CHECK_EQ(mig_send_all(sv[0], &f, sizeof(f)), 0);
	CHECK_EQ(mig_recv_header(sv[1], &f), -EPROTO);
	f = (struct mig_frame){.type = 9, .len = 0};
	CHECK_EQ(mig_send_all(sv[0], &f, sizeof(f)), 0);
	CHECK_EQ(mig_recv_header(sv[1], &f), -EPROTO);
	CHECK_EQ(mig_send_all(sv[0], "POPEKMIGxxxxxxxx", 16), 0);
	CHECK_EQ(mig_recv_greeting(sv[1]), -EPROTO);

	/* The peer going away in the middle. */
	CHECK_EQ(mig_send_all(sv[0], "abc", 3), 0);
	close(sv[0]);
	CHECK_EQ(mig_recv_all(sv[1], got, 8), -ECONNRESET);
	close(sv[1]);
}

static void test_addresses(void)
{
	char why[200];

	CHECK_EQ(mig_connect("ftp:x", why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "not unix:PATH") != NULL);
	CHECK_EQ(mig_connect("tcp:127.0.0.1", why, sizeof(why)), -EINVAL); /* no port */
	CHECK_EQ(mig_connect("tcp:127.0.0.1:0", why, sizeof(why)), -EINVAL);
	CHECK_EQ(mig_connect("tcp:127.0.0.1:65536", why, sizeof(why)), -EINVAL);
	CHECK_EQ(mig_connect("tcp:127.0.0.1:8x", why, sizeof(why)), -EINVAL);
	CHECK_EQ(mig_connect("tcp:some.host.name:80", why, sizeof(why)), -EINVAL); /* no lookups */
	CHECK_EQ(mig_connect("unix:", why, sizeof(why)), -EINVAL);
	CHECK(mig_connect("unix:/nonexistent/popek-mig", why, sizeof(why)) < 0);
	CHECK(strstr(why, "cannot connect") != NULL);
	CHECK_EQ(mig_listen("udp:1"), -EINVAL);
	CHECK_EQ(mig_listen("tcp:[::1"), -EINVAL);
}

int main(void)
{
	TEST_RUN(test_pages_valid);
	TEST_RUN(test_frame_bounds);
	TEST_RUN(test_frames_over_socket);
	TEST_RUN(test_addresses);
	return test_done();
}
