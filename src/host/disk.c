/* Raw disk image back-end: open with an OFD lock, vectored I/O, flush, discard. */
#include "host/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "popek/log.h"

/* The whole image, shared (read-only) or exclusive (read-write). */
int disk_lock(struct disk *d)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = d->readonly ? F_RDLCK : F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(d->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		if (d->readonly)
			log_error("--disk %s: the image is open read-write by another process "
				  "(another popek?)",
				  d->path);
		else
			log_error("--disk %s: the image is in use by another process (another "
				  "popek?): cannot open it read-write",
				  d->path);
		return -EBUSY;
	}
	log_error("--disk %s: cannot lock the image: %s", d->path, strerror(errno));
	return -errno;
}

void disk_unlock(struct disk *d)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	if (d->fd >= 0)
		fcntl(d->fd, F_OFD_SETLK, &fl);
}

static int disk_get_size(struct disk *d, const struct stat *st)
{
	if (S_ISREG(st->st_mode)) {
		d->size = (u64)st->st_size;
	} else if (S_ISBLK(st->st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
			log_error("--disk %s: cannot get the block device's size: %s", d->path,
				  strerror(errno));
			return -errno;
		}
	} else if (S_ISDIR(st->st_mode)) {
		log_error("--disk %s: is a directory, not a disk image", d->path);
		return -EISDIR;
	} else {
		log_error("--disk %s: not a regular file or block device", d->path);
		return -EINVAL;
	}
	if (d->size % DISK_SECTOR) {
		log_error("--disk %s: size %llu bytes is not a multiple of %u", d->path,
			  (unsigned long long)d->size, DISK_SECTOR);
		return -EINVAL;
	}
	if (!d->size) {
		log_error("--disk %s: the image is empty (0 bytes)", d->path);
		return -EINVAL;
	}
	return 0;
}

int disk_open_unlocked(struct disk *d, const char *path, bool readonly)
{
	struct stat st;
	int err;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->readonly = readonly;
	d->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0 && errno == EISDIR) {
		log_error("--disk %s: is a directory, not a disk image", path);
		return -EISDIR;
	}
	if (d->fd < 0) {
		err = -errno;
		if (!readonly && (errno == EACCES || errno == EROFS))
			log_error("--disk %s: cannot open read-write: %s (add ,ro for read-only)",
				  path, strerror(errno));
		else
			log_error("--disk %s: cannot open: %s", path, strerror(errno));
		return err;
	}
	if (fstat(d->fd, &st) < 0) {
		err = -errno;
		log_error("--disk %s: cannot stat: %s", path, strerror(errno));
		goto fail;
	}
	err = disk_get_size(d, &st);
	if (err < 0)
		goto fail;
	return 0;
fail:
	close(d->fd);
	d->fd = -1;
	return err;
}

int disk_open(struct disk *d, const char *path, bool readonly)
{
	int err = disk_open_unlocked(d, path, readonly);

	if (!err && (err = disk_lock(d)) < 0)
		disk_close(d);
	return err;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd); /* releases the OFD lock */
	d->fd = -1;
}

/* Advances a private copy of iov past done bytes. */
static int disk_iov_advance(struct iovec *iov, int n, size_t done, int *first)
{
	int i = *first;

	while (i < n && done >= iov[i].iov_len) {
		done -= iov[i].iov_len;
		i++;
	}
	if (i < n) {
		iov[i].iov_base = (u8 *)iov[i].iov_base + done;
		iov[i].iov_len -= done;
	}
	*first = i;
	return i < n;
}

static int disk_rw(struct disk *d, const struct iovec *iov_in, int n, u64 off, bool write)
{
	struct iovec iov[IOV_MAX];
	int first = 0;

	if (n < 0 || n > IOV_MAX)
		return -EINVAL;
	if (write && d->readonly)
		return -EROFS;
	memcpy(iov, iov_in, sizeof(iov[0]) * (size_t)n);
	while (first < n) {
		ssize_t r = write ? pwritev(d->fd, iov + first, n - first, (off_t)off)
				  : preadv(d->fd, iov + first, n - first, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			/* Skip empty segments; a real zero transfer is end of file. */
			if (iov[first].iov_len == 0) {
				first++;
				continue;
			}
			return -EIO;
		}
		off += (u64)r;
		if (!disk_iov_advance(iov, n, (size_t)r, &first))
			break;
	}
	return 0;
}

int disk_preadv(struct disk *d, const struct iovec *iov, int n, u64 off)
{
	return disk_rw(d, iov, n, off, false);
}

int disk_pwritev(struct disk *d, const struct iovec *iov, int n, u64 off)
{
	return disk_rw(d, iov, n, off, true);
}

int disk_flush(struct disk *d)
{
	if (fdatasync(d->fd) < 0)
		return -errno;
	return 0;
}

static bool disk_unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS || err == EINVAL || err == ENODEV;
}

int disk_discard(struct disk *d, u64 off, u64 len)
{
	if (d->readonly)
		return -EROFS;
	if (d->no_punch || !len)
		return 0;
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) <
	    0) {
		if (!disk_unsupported(errno))
			return -errno;
		d->no_punch = true; /* discard is a hint: doing nothing is correct */
	}
	return 0;
}

static int disk_write_zero_buf(struct disk *d, u64 off, u64 len)
{
	static const u8 zeros[64 * KiB];

	while (len) {
		size_t c = (size_t)MIN(len, sizeof(zeros));
		ssize_t r = pwrite(d->fd, zeros, c, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (u64)r;
		len -= (u64)r;
	}
	return 0;
}

int disk_write_zeroes(struct disk *d, u64 off, u64 len, bool may_unmap)
{
	if (d->readonly)
		return -EROFS;
	if (!len)
		return 0;
	if (may_unmap && !d->no_punch) {
		if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
			return 0;
		if (!disk_unsupported(errno))
			return -errno;
		d->no_punch = true;
	}
	if (!d->no_zero) {
		if (fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
			return 0;
		if (!disk_unsupported(errno))
			return -errno;
		d->no_zero = true;
	}
	return disk_write_zero_buf(d, off, len);
}
