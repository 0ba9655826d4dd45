/* boot_load: reads the kernel, detects its format and dispatches; shared file helpers. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/loader.h"
#include "popek/layout.h"
#include "popek/log.h"

/* Biggest file read into host memory: no kernel comes close. */
#define BOOT_FILE_MAX (1ULL << 31)

int boot_file_open(const char *role, const char *path, int *fd, u64 *size)
{
	struct stat st;
	int r;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		r = -errno;
		log_error("%s '%s': %s", role, path, strerror(-r));
		return r;
	}
	if (fstat(*fd, &st) < 0) {
		r = -errno;
		log_error("%s '%s': %s", role, path, strerror(-r));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("%s '%s': not a regular file", role, path);
		r = -EINVAL;
		goto fail;
	}
	*size = (u64)st.st_size;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return r;
}

/* read() until size bytes arrived; a file that shrank is an error. */
static int boot_read_full(int fd, const char *role, const char *path, u8 *dst, u64 size)
{
	u64 done = 0;

	while (done < size) {
		size_t chunk = (size_t)MIN(size - done, 1ULL << 30);
		ssize_t n = read(fd, dst + done, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			log_error("%s '%s': %s", role, path, strerror(-r));
			return r;
		}
		if (n == 0) {
			log_error("%s '%s': file shrank while reading (%llu of %llu bytes)", role,
				  path, (unsigned long long)done, (unsigned long long)size);
			return -EIO;
		}
		done += (u64)n;
	}
	return 0;
}

int boot_file_read(const char *role, const char *path, struct boot_file *f)
{
	return boot_file_read_max(role, path, BOOT_FILE_MAX, f);
}

int boot_file_read_max(const char *role, const char *path, u64 max, struct boot_file *f)
{
	int fd, r;

	memset(f, 0, sizeof(*f));
	f->path = path;
	r = boot_file_open(role, path, &fd, &f->size);
	if (r)
		return r;
	if (f->size > max) {
		log_error("%s '%s' is too large (%llu MiB)", role, path, boot_mib(f->size));
		r = -EFBIG;
		goto out;
	}
	f->data = malloc(f->size ? f->size : 1);
	if (!f->data) {
		log_error("%s '%s': out of memory reading %llu bytes", role, path,
			  (unsigned long long)f->size);
		r = -ENOMEM;
		goto out;
	}
	r = boot_read_full(fd, role, path, f->data, f->size);
	if (r)
		boot_file_free(f);
out:
	close(fd);
	return r;
}

void boot_file_free(struct boot_file *f)
{
	free(f->data);
	f->data = NULL;
	f->size = 0;
}

int boot_file_read_into(const struct guest_mem *mem, const char *role, const char *path, int fd,
			gpa_t gpa, u64 size)
{
	u8 *dst;

	if (!size)
		return 0;
	dst = guest_mem_ptr(mem, gpa, size);
	if (!dst) {
		log_error("%s '%s': [%#llx, +%#llx) is not in guest RAM", role, path,
			  (unsigned long long)gpa, (unsigned long long)size);
		return -EFAULT;
	}
	return boot_read_full(fd, role, path, dst, size);
}

int boot_initrd_load(const struct guest_mem *mem, const char *path, gpa_t lo, gpa_t hi,
		     gpa_t *start, u64 *size)
{
	u64 low_end = guest_mem_low_end(mem);
	gpa_t at;
	int fd, r;

	r = boot_file_open("initrd", path, &fd, size);
	if (r)
		return r;
	hi = MIN(hi, low_end);
	lo = ALIGN_UP(lo, 4096);
	/* Highest page-aligned start with start + size <= hi, if >= lo. */
	if (*size > hi || ALIGN_DOWN(hi - *size, 4096) < lo) {
		log_error("initrd '%s' (%llu MiB) does not fit between the kernel's end at %#llx "
			  "and %#llx with --mem %lluM",
			  path, boot_mib(*size), (unsigned long long)lo, (unsigned long long)hi,
			  (unsigned long long)(mem->ram_size / MiB));
		close(fd);
		return -ENOMEM;
	}
	at = ALIGN_DOWN(hi - *size, 4096);
	r = boot_file_read_into(mem, "initrd", path, fd, at, *size);
	close(fd);
	if (r)
		return r;
	*start = at;
	return 0;
}

int boot_cmdline_write(const struct guest_mem *mem, const char *what, const char *cmdline,
		       u64 max_len, gpa_t gpa)
{
	u64 len = strlen(cmdline);

	max_len = MIN(max_len, LAYOUT_CMDLINE_MAX - 1);
	if (len > max_len) {
		log_error("command line is %llu bytes; %s accepts at most %llu",
			  (unsigned long long)len, what, (unsigned long long)max_len);
		return -E2BIG;
	}
	if (guest_mem_write(mem, gpa, cmdline, len + 1)) {
		log_error("command line area %#llx is not in guest RAM", (unsigned long long)gpa);
		return -EFAULT;
	}
	return 0;
}

/* An ELF vmlinux: the PVH entry when the kernel has one (no decompression,
 * 32-bit entry), else startup_64 with a boot_params. */
static int boot_load_vmlinux(struct guest_mem *mem, const struct vm_config *cfg,
			     const struct boot_file *f, struct boot_result *out)
{
	struct elf_image img;
	int r;

	r = elf_parse(f->path, f->data, f->size, &img);
	if (r)
		return r;
	if (!img.is64 || img.machine != EM_X86_64) {
		log_error("kernel '%s': ELF file is not an x86-64 vmlinux (class %d, machine %u) "
			  "and has no multiboot header",
			  f->path, img.is64 ? 64 : 32, img.machine);
		return -ENOEXEC;
	}
	if (img.has_pvh)
		return pvh_load(mem, cfg, f, &img, out);
	return linux_load_elf64(mem, cfg, f, &img, out);
}

int boot_write_reset_stub(const struct guest_mem *mem)
{
	const u8 stub[] = {
	    0xBA, PORT_ACPI_RESET & 0xFF, PORT_ACPI_RESET >> 8, /* mov dx, PORT_ACPI_RESET */
	    0xB0, ACPI_RESET_VALUE,                             /* mov al, ACPI_RESET_VALUE */
	    0xEE,                                               /* out dx, al */
	    0xFA, 0xF4, 0xEB, 0xFD,                             /* cli; hlt; jmp hlt */
	};

	return guest_mem_write(mem, LAYOUT_RESET_VECTOR, stub, sizeof(stub)) ? -EFAULT : 0;
}

int boot_load(struct guest_mem *mem, const struct vm_config *cfg, gpa_t rsdp,
	      struct boot_result *out)
{
	struct boot_file f;
	s64 mb;
	int r;

	memset(out, 0, sizeof(*out));
	out->rsdp = rsdp;
	if (!cfg->kernel_path) {
		log_error("no kernel given");
		return -EINVAL;
	}
	r = boot_file_read("kernel", cfg->kernel_path, &f);
	if (r)
		return r;
	if (!f.size) {
		log_error("kernel '%s' is empty", f.path);
		r = -ENOEXEC;
	} else if (linux_is_bzimage(f.data, f.size)) {
		r = linux_load_bzimage(mem, cfg, &f, out);
	} else if ((mb = multiboot_find(f.data, f.size)) >= 0) {
		r = multiboot_load(mem, cfg, &f, (u64)mb, out);
	} else if (elf_is_elf(f.data, f.size)) {
		r = boot_load_vmlinux(mem, cfg, &f, out);
	} else {
		if (f.size < 512)
			log_error("kernel '%s' is too short (%llu bytes): not a Linux bzImage, "
				  "ELF vmlinux or multiboot kernel",
				  f.path, (unsigned long long)f.size);
		else
			log_error("kernel '%s': not a Linux bzImage, ELF vmlinux or multiboot "
				  "kernel",
				  f.path);
		r = -ENOEXEC;
	}
	boot_file_free(&f);
	return r;
}
