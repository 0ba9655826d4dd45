/* The translator's code cache (src/cpu/soft/jit/cache.c): code written
 * through one mapping runs from the other; no page of it is writable and
 * executable at once; a full cache refuses, a flush makes room. */
#include <stdlib.h>
#include <string.h>

#include "cpu/soft/jit/cache.h"
#include "test.h"

/* The permissions /proc/self/maps shows for the mapping holding addr. */
static void perms_of(const void *addr, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long lo, hi;

	strcpy(out, "?");
	while (f && fgets(line, sizeof(line), f)) {
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (uintptr_t)addr >= lo &&
		    (uintptr_t)addr < hi) {
			strcpy(out, p);
			break;
		}
	}
	if (f)
		fclose(f);
}

typedef u64 fn0(void);

static void test_cache_runs_code(void)
{
	struct jit_cache c;
	struct jit_emit e;
	char rw[5], rx[5];
	fn0 *f, *g;

	CHECK_EQ(jit_cache_init(&c, 8192), 0);
	jit_cache_begin(&c, &e);
	jit_mov_ri(&e, JR_RAX, 0x1234567890ULL);
	jit_ret(&e);
	f = (fn0 *)jit_cache_commit(&c, &e);
	CHECK(f != NULL);
	if (f)
		CHECK_EQ(f(), 0x1234567890ULL);
	/* A second function after it; the first still runs. */
	jit_cache_begin(&c, &e);
	jit_mov_ri(&e, JR_RAX, 7);
	jit_ret(&e);
	g = (fn0 *)jit_cache_commit(&c, &e);
	CHECK(g != NULL && (u8 *)g > (u8 *)f);
	if (f && g)
		CHECK_EQ(f() + g(), 0x1234567890ULL + 7);
	/* W^X: the writable view cannot execute, the executable one cannot be written. */
	perms_of(c.rw, rw);
	perms_of(c.rx, rx);
	CHECK(!strcmp(rw, "rw-s"));
	CHECK(!strcmp(rx, "r-xs"));
	jit_cache_destroy(&c);
}

static void test_cache_full_and_flush(void)
{
	struct jit_cache c;
	struct jit_emit e;
	u8 junk[256];
	unsigned n = 0;

	memset(junk, 0x90, sizeof(junk));
	CHECK_EQ(jit_cache_init(&c, 4096), 0);
	for (;;) {
		jit_cache_begin(&c, &e);
		jit_emit_bytes(&e, junk, sizeof(junk));
		if (!jit_cache_commit(&c, &e))
			break;
		n++;
	}
	CHECK_EQ(n, 4096 / 256);
	jit_cache_flush(&c);
	CHECK_EQ(c.flushes, 1);
	jit_cache_begin(&c, &e);
	jit_ret(&e);
	CHECK(jit_cache_commit(&c, &e) == c.rx);
	jit_cache_destroy(&c);
}

int main(void)
{
	TEST_RUN(test_cache_runs_code);
	TEST_RUN(test_cache_full_and_flush);
	return test_done();
}
