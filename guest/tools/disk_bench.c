/* Guest-side disk benchmark: sequential read and write throughput (1 MiB
 * blocks) and random 4 KiB read IOPS on a block device, with O_DIRECT so the
 * guest page cache does not hide the device. Usage: disk_bench DEV MIB SECS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/vda";
	long mib = argc > 2 ? atol(argv[2]) : 64;
	double secs = argc > 3 ? atof(argv[3]) : 5, t0, t;
	unsigned long long size = 0, ops = 0, seed = 88172645463325252ULL;
	void *buf;
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0 || posix_memalign(&buf, 4096, 1 << 20)) {
		perror(dev);
		return 1;
	}
	if ((unsigned long long)mib << 20 > size)
		mib = (long)(size >> 20);
	memset(buf, 0x5a, 1 << 20);

	t0 = now();
	for (long i = 0; i < mib; i++)
		if (pwrite(fd, buf, 1 << 20, (off_t)i << 20) != 1 << 20)
			return perror("write"), 1;
	fdatasync(fd);
	t = now() - t0;
	printf("RESULT seq_write_mibs %.1f\n", mib / t);

	t0 = now();
	for (long i = 0; i < mib; i++)
		if (pread(fd, buf, 1 << 20, (off_t)i << 20) != 1 << 20)
			return perror("read"), 1;
	t = now() - t0;
	printf("RESULT seq_read_mibs %.1f\n", mib / t);

	t0 = now();
	while ((t = now() - t0) < secs) {
		for (int k = 0; k < 64; k++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			off_t off = (off_t)(seed % (size / 4096)) * 4096;
			if (pread(fd, buf, 4096, off) != 4096)
				return perror("rand read"), 1;
			ops++;
		}
	}
	printf("RESULT rand_read_iops %.0f\n", ops / t);
	return 0;
}
