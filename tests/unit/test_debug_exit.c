/* Unit tests of the debug-exit port: stop reason and exact status. */
#include "dev/debug_exit.h"
#include "popek/layout.h"
#include "test.h"

struct stops {
	unsigned n;
	int why, status;
};

static void fake_stop(void *opaque, enum machine_stop_reason why, int status)
{
	struct stops *s = opaque;

	s->n++;
	s->why = why;
	s->status = status;
}

static void setup(struct bus *pio, pthread_mutex_t *lock, struct debug_exit *d, struct stops *s)
{
	struct dev_stop stop = {fake_stop, s};

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(lock, NULL);
	bus_init(pio, "pio", lock);
	CHECK_EQ(debug_exit_init(d, pio, &stop), 0);
}

static void test_byte_writes(void)
{
	struct debug_exit d;
	pthread_mutex_t lock;
	struct bus pio;
	struct stops s;

	setup(&pio, &lock, &d, &s);
	CHECK(bus_write(&pio, PORT_DEBUG_EXIT, 1, 0x00));
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.why, MACHINE_STOP_DEBUG_EXIT);
	CHECK_EQ(s.status, 1);
	CHECK(bus_write(&pio, PORT_DEBUG_EXIT, 1, 0x10));
	CHECK_EQ(s.status, 0x21);
	CHECK(bus_write(&pio, PORT_DEBUG_EXIT, 1, 0xFF));
	CHECK_EQ(s.status, 0x1FF); /* the OS keeps 0xFF */
}

static void test_wide_writes(void)
{
	struct debug_exit d;
	pthread_mutex_t lock;
	struct bus pio;
	struct stops s;
	u64 v = 1;

	setup(&pio, &lock, &d, &s);
	CHECK(bus_write(&pio, PORT_DEBUG_EXIT, 2, 0x1234));
	CHECK_EQ(s.status, 0x2469);
	CHECK(bus_write(&pio, PORT_DEBUG_EXIT, 4, 0xFFFFFFFF));
	CHECK_EQ(s.status, 0x7FFFFFFF); /* kept positive; low byte 0xFF */
	CHECK_EQ(s.n, 2);
	CHECK(bus_write(&pio, PORT_DEBUG_EXIT + 1, 1, 0x10)); /* not at 0xF4 */
	CHECK_EQ(s.n, 2);
	CHECK(bus_read(&pio, PORT_DEBUG_EXIT, 1, &v));
	CHECK_EQ(v, 0);
}

int main(void)
{
	TEST_RUN(test_byte_writes);
	TEST_RUN(test_wide_writes);
	return test_done();
}
