/* Minimal unit-test harness. Each test file has a main() that calls
 * TEST_RUN(fn) per case and returns test_done(). Output lines
 * "PASS name", "FAIL name: why", "SKIP name: why" are counted by tests/run.sh. */
#ifndef POPEK_TEST_H
#define POPEK_TEST_H

#include <stdio.h>
#include <string.h>

struct test_state {
	int failed_now;
	int passed, failed;
	const char *file;
};

static struct test_state test_state_g = {0, 0, 0, NULL};

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("  check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
			test_state_g.failed_now = 1;                                               \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);     \
		if (a_ != b_) {                                                                    \
			printf("  check failed at %s:%d: %s == %s (0x%llx != 0x%llx)\n", __FILE__, \
			       __LINE__, #a, #b, a_, b_);                                          \
			test_state_g.failed_now = 1;                                               \
		}                                                                                  \
	} while (0)

#define TEST_RUN(fn)                                                                               \
	do {                                                                                       \
		test_state_g.failed_now = 0;                                                       \
		fn();                                                                              \
		if (test_state_g.failed_now) {                                                     \
			printf("FAIL %s: see checks above\n", #fn);                                \
			test_state_g.failed++;                                                     \
		} else {                                                                           \
			printf("PASS %s\n", #fn);                                                  \
			test_state_g.passed++;                                                     \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

static inline int test_done(void)
{
	return test_state_g.failed ? 1 : 0;
}

#endif
