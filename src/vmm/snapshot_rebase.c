/* `popek snapshot rebase BASE DIFF` (issue 12): a Diff snapshot's memory
 * file applied onto its base's, as Firecracker's snapshot-editor does. A Diff
 * memory file is RAM-sized with the pages it holds as data and every other
 * page a hole (guest_mem_save_pages), so the file system's SEEK_DATA and
 * SEEK_HOLE say which pages to copy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "popek/log.h"
#include "vmm/vmm.h"

#define COPY_CHUNK (1u << 20)

static int open_file(const char *what, const char *path, int flags, struct stat *sb)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		log_error("%s memory file '%s': %s", what, path,
			  errno == EISDIR ? "not a regular file" : strerror(errno));
		return -1;
	}
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		log_error("%s memory file '%s': not a regular file", what, path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Copies [off, off + len) of the diff onto the base. */
static int copy_range(int from, int to, u64 off, u64 len, u8 *buf)
{
	while (len) {
		size_t n = (size_t)MIN(len, COPY_CHUNK);
		ssize_t r = pread(from, buf, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		for (ssize_t done = 0, w; done < r; done += w) {
			w = pwrite(to, buf + done, (size_t)(r - done), (off_t)(off + (u64)done));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w <= 0)
				return w < 0 ? -errno : -EIO;
		}
		off += (u64)r;
		len -= (u64)r;
	}
	return 0;
}

/* Copies the diff's data regions; *copied: bytes. */
static int copy_data(int from, int to, u64 size, u64 *copied)
{
	u8 *buf = malloc(COPY_CHUNK);
	int err = 0;

	*copied = 0;
	if (!buf)
		return -ENOMEM;
	for (u64 off = 0; off < size && !err;) {
		off_t data = lseek(from, (off_t)off, SEEK_DATA), hole;

		if (data < 0) {
			err = errno == ENXIO ? 0 : -errno; /* ENXIO: only holes from off on */
			break;
		}
		hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0) {
			err = -errno;
			break;
		}
		err = copy_range(from, to, (u64)data, (u64)(hole - data), buf);
		*copied += (u64)(hole - data);
		off = (u64)hole;
	}
	free(buf);
	return err;
}

int snapshot_rebase(const char *base_path, const char *diff_path)
{
	struct stat bs, ds;
	int base, diff, err = -EINVAL;
	u64 copied = 0;

	base = open_file("base", base_path, O_RDWR, &bs);
	if (base < 0)
		return -EINVAL;
	diff = open_file("diff", diff_path, O_RDONLY, &ds);
	if (diff < 0)
		goto out_base;
	if (bs.st_dev == ds.st_dev && bs.st_ino == ds.st_ino) {
		log_error("diff memory file '%s' is the base memory file", diff_path);
		goto out;
	}
	if (bs.st_size != ds.st_size) {
		log_error("diff memory file '%s' is %llu bytes, the base '%s' %llu: not the same "
			  "VM's memory",
			  diff_path, (unsigned long long)ds.st_size, base_path,
			  (unsigned long long)bs.st_size);
		goto out;
	}
	/* A file system that does not report holes would make the whole diff
	 * data, and copy its holes' zeroes over the base's pages. */
	if (lseek(diff, 0, SEEK_HOLE) == ds.st_size && (u64)ds.st_blocks * 512 < (u64)ds.st_size) {
		log_error(
		    "diff memory file '%s': its file system does not report holes (SEEK_HOLE); "
		    "copy it to one that does (ext4, xfs, btrfs, tmpfs)",
		    diff_path);
		goto out;
	}
	err = copy_data(diff, base, (u64)ds.st_size, &copied);
	if (!err && fdatasync(base) < 0)
		err = -errno;
	if (err < 0)
		log_error("rebase of '%s' onto '%s': %s", diff_path, base_path, strerror(-err));
	else
		fprintf(stderr, "popek: '%s' now holds '%s' (%llu KiB copied)\n", base_path,
			diff_path, (unsigned long long)(copied / KiB));
out:
	close(diff);
out_base:
	close(base);
	return err;
}
