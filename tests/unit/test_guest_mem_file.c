/* A snapshot's memory file (core/guest_mem.h): RAM saved with the pages
 * never touched left as holes, mapped again privately and lazily, and a
 * file of the wrong size refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "test.h"

#define RAM (8 * MiB)

static int temp_file(void)
{
	char path[] = "/tmp/popek-memfile-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

static void test_save_and_map(void)
{
	struct guest_mem a, b;
	struct stat sb;
	u64 written = 0;
	u8 buf[16];
	int fd = temp_file();

	CHECK(fd >= 0);
	CHECK_EQ(guest_mem_init(&a, RAM), 0);
	CHECK_EQ(guest_mem_write(&a, 0x1000, "first page", 10), 0);
	CHECK_EQ(guest_mem_write(&a, 5 * MiB + 7, "later", 5), 0);
	CHECK_EQ(guest_mem_write(&a, 6 * MiB, "unread", 6), 0);
	memset(a.base + 0x3000, 0, 4096); /* touched, but zeroes: a hole too */
	CHECK_EQ(guest_mem_save(&a, fd, &written), 0);
	CHECK_EQ(written, 3 * 4096);
	CHECK_EQ(fstat(fd, &sb), 0);
	CHECK_EQ((u64)sb.st_size, RAM);
	CHECK((u64)sb.st_blocks * 512 < 1 * MiB); /* holes, not 8 MiB of zeroes */

	CHECK_EQ(guest_mem_init(&b, RAM), 0);
	CHECK_EQ(guest_mem_map_file(&b, fd), 0);
	CHECK_EQ(guest_mem_read(&b, 0x1000, buf, 10), 0);
	CHECK(!memcmp(buf, "first page", 10));
	CHECK_EQ(guest_mem_read(&b, 5 * MiB + 7, buf, 5), 0);
	CHECK(!memcmp(buf, "later", 5));
	/* Private: the restored guest's writes never reach the file. */
	CHECK_EQ(guest_mem_write(&b, 0x1000, "CHANGED", 7), 0);
	CHECK_EQ(pread(fd, buf, 10, 0x1000), 10);
	CHECK(!memcmp(buf, "first page", 10));
	/* A file-backed RAM is saved whole: the pages the restored guest never
	 * touched (6 MiB here) hold the file's bytes. */
	int fd2 = temp_file();
	CHECK_EQ(guest_mem_save(&b, fd2, &written), 0);
	CHECK_EQ(pread(fd2, buf, 6, 6 * MiB), 6);
	CHECK(!memcmp(buf, "unread", 6));
	close(fd2);
	guest_mem_destroy(&a);
	guest_mem_destroy(&b);
	close(fd);
}

static void test_wrong_size(void)
{
	struct guest_mem m;
	int fd = temp_file();

	CHECK_EQ(guest_mem_init(&m, RAM), 0);
	CHECK_EQ(ftruncate(fd, RAM / 2), 0);
	CHECK_EQ(guest_mem_map_file(&m, fd), -EMSGSIZE);
	guest_mem_destroy(&m);
	close(fd);
}

int main(void)
{
	TEST_RUN(test_save_and_map);
	TEST_RUN(test_wrong_size);
	return test_done();
}
