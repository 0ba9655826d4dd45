/* libFuzzer harness for the kernel loaders: the input is a kernel image that
 * boot_load() must accept or refuse with an error, never crash on, and never
 * write outside guest RAM for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/boot.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct guest_mem *mem = fuzz_guest_mem(64 * MiB); /* mapping per input is slow */
	struct vm_config cfg;
	struct boot_result res;
	char path[64];
	int fd;

	fd = memfd_create("fuzz-kernel", 0);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(&cfg, 0, sizeof(cfg));
	cfg.kernel_path = path;
	cfg.cmdline = "console=ttyS0";
	cfg.mem_size = mem->ram_size;
	cfg.nr_cpus = 1;
	boot_load(mem, &cfg, 0xE0000, &res);
	close(fd);
	return 0;
}
