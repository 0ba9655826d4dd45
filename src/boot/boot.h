/* Kernel loaders: detect the image format, place kernel, initrd/modules, command
 * line and boot tables in guest RAM, and produce the boot vCPU's entry state.
 * No BIOS and no real mode: Linux is entered in 64-bit mode, multiboot kernels
 * in 32-bit protected mode. */
#ifndef POPEK_BOOT_H
#define POPEK_BOOT_H

#include "core/config.h"
#include "core/guest_mem.h"
#include "core/x86_state.h"

enum boot_kind { BOOT_LINUX_BZIMAGE, BOOT_LINUX_ELF, BOOT_MULTIBOOT };

struct boot_result {
	enum boot_kind kind;
	struct x86_state entry;  /* boot vCPU state; other vCPUs start in INIT */
	gpa_t kernel_start, kernel_end;
	gpa_t initrd_start;
	u64 initrd_size;
	u64 rsdp;                /* ACPI RSDP address written into boot_params */
};

/* Loads cfg->kernel_path (bzImage >= 2.06, ELF64 vmlinux, or multiboot v1)
 * with cfg->initrd_path and cfg->cmdline into mem. rsdp is the address of
 * the ACPI RSDP already placed by the caller (0 if none). On failure logs one
 * error line naming the file and the problem and returns -errno; the guest
 * memory may then hold partial data (the caller discards the machine). */
int boot_load(struct guest_mem *mem, const struct vm_config *cfg, gpa_t rsdp,
	      struct boot_result *out);

/* Writes a stub at the reset vector (0xFFFF0) that resets the machine
 * through the ACPI reset register: without firmware, a guest that reboots
 * "through the BIOS" (Linux on hardware-reduced ACPI without EFI) jumps
 * there. Returns 0 or -errno. */
int boot_write_reset_stub(const struct guest_mem *mem);

#endif
