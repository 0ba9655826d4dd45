/* Minimal unit-test harness. Each test file has a main() that calls
 * TEST_RUN(fn) per case and returns test_done(). Output lines
 * "PASS name", "FAIL name: why", "SKIP name: why" are counted by tests/run.sh;
 * test_done() ends the output with TEST_END_MARKER, and the runner counts a
 * binary whose output lacks it (it crashed or exited early) as a failure. */
#ifndef POPEK_TEST_H
#define POPEK_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The last line of a test binary that reached its end; tests/run.sh and
 * tests/e2e/test_oracle_long.sh look for it (so does tests/oracle/oracle_main.c,
 * which prints it without this header). */
#define TEST_END_MARKER "END-OF-TESTS"

struct test_state {
	int failed_now, skipped_now;
	int passed, failed, skipped;
	const char *name; /* the test TEST_RUN is running; NULL between tests */
};

static struct test_state test_state_g;

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

/* A CHECK that failed outside any TEST_RUN (in main, say) would otherwise be
 * forgotten by the next TEST_RUN: report it as a failure of its own. */
static inline void test_flush_stray_(void)
{
	if (test_state_g.name || !test_state_g.failed_now)
		return;
	printf("FAIL (outside a test): see checks above\n");
	test_state_g.failed++;
	test_state_g.failed_now = 0;
	fflush(stdout);
}

static inline void test_begin_(const char *name)
{
	test_flush_stray_();
	test_state_g.failed_now = 0;
	test_state_g.skipped_now = 0;
	test_state_g.name = name;
}

/* One verdict line per test: FAIL beats SKIP (a check that failed before
 * the test gave up still counts), and a skipped test prints no PASS. */
static inline void test_end_(void)
{
	if (test_state_g.failed_now) {
		printf("FAIL %s: see checks above\n", test_state_g.name);
		test_state_g.failed++;
	} else if (test_state_g.skipped_now) {
		test_state_g.skipped++;
	} else {
		printf("PASS %s\n", test_state_g.name);
		test_state_g.passed++;
	}
	test_state_g.failed_now = 0;
	test_state_g.name = NULL;
	fflush(stdout);
}

#define TEST_RUN(fn)                                                                               \
	do {                                                                                       \
		test_begin_(#fn);                                                                  \
		fn();                                                                              \
		test_end_();                                                                       \
	} while (0)

static inline void test_skip_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void test_skip_(const char *fmt, ...)
{
	va_list ap;

	/* One SKIP line per test, so the runner counts each test once. */
	if (test_state_g.name && test_state_g.skipped_now)
		printf("  also skipped: ");
	else
		printf("SKIP %s: ", test_state_g.name ? test_state_g.name : "(outside a test)");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (test_state_g.name)
		test_state_g.skipped_now = 1;
	else
		test_state_g.skipped++; /* no test_end_() will count it */
}

/* TEST_SKIP("why", ...): the current test cannot run on this host (a tool,
 * file or device is missing). Prints "SKIP name: why" and marks the test
 * skipped, so TEST_RUN prints no PASS for it; a CHECK that failed still makes
 * it FAIL. It does not leave the test: follow it with `return;`. Meant for
 * inside a TEST_RUN; a file that cannot run at all skips in one test. */
#define TEST_SKIP(...) test_skip_(__VA_ARGS__)

static inline int test_done(void)
{
	test_flush_stray_();
	printf(TEST_END_MARKER ": %d passed, %d failed, %d skipped\n", test_state_g.passed,
	       test_state_g.failed, test_state_g.skipped);
	fflush(stdout);
	return test_state_g.failed ? 1 : 0;
}

#endif
