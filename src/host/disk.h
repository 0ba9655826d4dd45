/* Raw disk images: a regular file or block device opened read-write or
 * read-only, locked against a second writer, and read/written by offset. */
#ifndef POPEK_DISK_H
#define POPEK_DISK_H

#include <sys/uio.h>

#include "popek/types.h"

#define DISK_SECTOR 512

struct disk {
	int fd;
	u64 size; /* bytes, a multiple of DISK_SECTOR */
	bool readonly;
	bool no_punch; /* fallocate(PUNCH_HOLE) is not supported here */
	bool no_zero;  /* fallocate(ZERO_RANGE) is not supported here */
	const char *path;
};

/*
 * Opens path (O_RDWR, or O_RDONLY when readonly) and takes an open file
 * description lock on the whole image: a write lock for read-write images,
 * a read lock for read-only ones, so that two popeks never write one image
 * and a read-only user never sees another one's writes. Refuses what is not
 * a regular file or block device, and sizes that are not a multiple of 512.
 * Logs one error line naming "--disk PATH" and returns -errno.
 * path must outlive the disk.
 */
int disk_open(struct disk *d, const char *path, bool readonly);
void disk_close(struct disk *d);
/* A live migration hands the image over between two popeks: the
 * destination opens it unlocked and takes the lock (disk_lock, which logs
 * and returns -EBUSY when another process holds it) once the source, its
 * guest stopped, dropped its own (disk_unlock). */
int disk_open_unlocked(struct disk *d, const char *path, bool readonly);
int disk_lock(struct disk *d);
void disk_unlock(struct disk *d);

/* Whole transfers at byte offset off (retrying short ones). Return 0 or
 * -errno (-EIO for an unexpected end of file, -EROFS on a read-only disk).
 * n is at most IOV_MAX. */
int disk_preadv(struct disk *d, const struct iovec *iov, int n, u64 off);
int disk_pwritev(struct disk *d, const struct iovec *iov, int n, u64 off);

/* Makes completed writes durable (fdatasync). */
int disk_flush(struct disk *d);

/* Drops [off, off+len): later reads may return anything (here: zeros, or
 * the old data when the file system cannot punch holes). */
int disk_discard(struct disk *d, u64 off, u64 len);

/* Makes [off, off+len) read as zeros; may_unmap allows freeing the space. */
int disk_write_zeroes(struct disk *d, u64 off, u64 len, bool may_unmap);

#endif
