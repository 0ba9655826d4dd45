/* Engine fast paths for device notifications and interrupt lines: the
 * engine-neutral side, which forwards to the machine's fastpath_ops. */
#include "core/fastpath.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/machine.h"

int fastpath_add_notify(struct machine *m, gpa_t gpa, unsigned len, u64 datamatch)
{
	int fd, err;

	if (!m->fastpath_ops || !m->evm || !m->fastpath_ops->add_notify_fd)
		return -ENOTSUP;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = m->fastpath_ops->add_notify_fd(m->evm, gpa, len, datamatch, fd);
	if (err < 0) {
		close(fd);
		return err;
	}
	atomic_store(&m->fastpath.notify_fd, true);
	return fd;
}

void fastpath_del_notify(struct machine *m, gpa_t gpa, unsigned len, u64 datamatch, int fd)
{
	if (fd < 0)
		return;
	if (m->fastpath_ops && m->evm && m->fastpath_ops->del_notify_fd)
		m->fastpath_ops->del_notify_fd(m->evm, gpa, len, datamatch, fd);
	close(fd);
}

int fastpath_level_irq(struct machine *m, unsigned gsi)
{
	int err;

	if (!m->fastpath_ops || !m->evm || !m->fastpath_ops->level_irq_fd)
		return -ENOTSUP;
	err = m->fastpath_ops->level_irq_fd(m->evm, gsi);
	if (!err)
		atomic_store(&m->fastpath.level_irq_fd, true);
	return err;
}
