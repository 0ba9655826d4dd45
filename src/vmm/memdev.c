/* Guest memory beyond RAM, laid out before the engine maps memory: the
 * hot-plug area of virtio-mem (with RAM, guest_mem_init_hotplug) and each
 * pmem file as a region of its own. The devices come later
 * (virtio/devices.c) and take the files over. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/log.h"
#include "vmm/vmm.h"

int machine_map_pmem(struct machine *m)
{
	for (unsigned i = 0; i < m->cfg.nr_pmem; i++) {
		const struct pmem_config *p = &m->cfg.pmem[i];
		struct stat sb;
		int fd = open(p->path, (p->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC), r;

		if (fd < 0) {
			log_error("pmem '%s': cannot open '%s': %s", p->id, p->path,
				  strerror(errno));
			return -errno;
		}
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
			log_error("pmem '%s': '%s' is not a regular file with data", p->id,
				  p->path);
			close(fd);
			return -EINVAL;
		}
		r = guest_mem_add_file(&m->mem, fd, (u64)sb.st_size, p->read_only);
		if (r < 0) {
			log_error(
			    "pmem '%s': cannot map '%s' into guest memory: %s", p->id, p->path,
			    r == -E2BIG ? "past the guest's physical address space" : strerror(-r));
			close(fd);
			return r;
		}
		m->pmem_fd[i] = fd;
		m->pmem_region[i] = (unsigned)r;
		m->nr_pmem_fds = i + 1;
	}
	return 0;
}

void machine_close_pmem(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_pmem_fds; i++)
		if (m->pmem_fd[i] >= 0)
			close(m->pmem_fd[i]);
	m->nr_pmem_fds = 0;
}
