/* PVH direct boot of an ELF vmlinux (Xen docs/misc/pvh.pandoc, hvm/start_info.h). */
#include <errno.h>
#include <string.h>

#include "boot/loader.h"
#include "popek/layout.h"
#include "popek/log.h"

/* struct hvm_start_info version 1 (xen/include/public/arch-x86/hvm/start_info.h),
 * its module list and memory map, all in the page that a bzImage boot uses
 * for the zero page. */
#define PVH_START_INFO LAYOUT_BOOT_PARAMS
#define PVH_MODLIST    (PVH_START_INFO + 0x40)
#define PVH_MEMMAP     (PVH_START_INFO + 0x80)
#define PVH_AREA_SIZE  0x200

#define SI_MAGIC          0x00
#define SI_VERSION        0x04
#define SI_FLAGS          0x08
#define SI_NR_MODULES     0x0c
#define SI_MODLIST_PADDR  0x10
#define SI_CMDLINE_PADDR  0x18
#define SI_RSDP_PADDR     0x20
#define SI_MEMMAP_PADDR   0x28
#define SI_MEMMAP_ENTRIES 0x30
#define MOD_ENTRY_SIZE    32 /* paddr, size, cmdline_paddr, reserved */
#define MEMMAP_ENTRY_SIZE 24 /* addr, size, type, reserved */

/* Builds start_info, the module list (the initrd as module 0) and the
 * memory map in one buffer covering [PVH_START_INFO, +PVH_AREA_SIZE). */
static void pvh_start_info(u8 *area, const struct guest_mem *mem, const struct boot_result *res)
{
	struct boot_e820_entry e820[BOOT_E820_MAX];
	unsigned n = boot_e820_build(mem, e820);
	u8 *si = area;

	memset(area, 0, PVH_AREA_SIZE);
	put_le32(si + SI_MAGIC, PVH_START_INFO_MAGIC);
	put_le32(si + SI_VERSION, 1);
	put_le64(si + SI_CMDLINE_PADDR, LAYOUT_CMDLINE);
	put_le64(si + SI_RSDP_PADDR, res->rsdp);
	if (res->initrd_size) {
		u8 *mod = area + (PVH_MODLIST - PVH_START_INFO);
		put_le32(si + SI_NR_MODULES, 1);
		put_le64(si + SI_MODLIST_PADDR, PVH_MODLIST);
		put_le64(mod, res->initrd_start);
		put_le64(mod + 8, res->initrd_size);
	}
	put_le64(si + SI_MEMMAP_PADDR, PVH_MEMMAP);
	put_le32(si + SI_MEMMAP_ENTRIES, n);
	for (unsigned i = 0; i < n; i++) {
		u8 *e = area + (PVH_MEMMAP - PVH_START_INFO) + i * MEMMAP_ENTRY_SIZE;
		put_le64(e, e820[i].addr);
		put_le64(e + 8, e820[i].size);
		put_le32(e + 16, e820[i].type);
	}
}

int pvh_load(struct guest_mem *mem, const struct vm_config *cfg, const struct boot_file *f,
	     const struct elf_image *img, struct boot_result *out)
{
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	u8 area[PVH_AREA_SIZE];
	int r;

	_Static_assert(PVH_MEMMAP - PVH_START_INFO + BOOT_E820_MAX * MEMMAP_ENTRY_SIZE <=
			   PVH_AREA_SIZE,
		       "PVH memory map does not fit its area");
	if (img->pvh_entry < img->lo || img->pvh_entry >= img->hi) {
		log_error("kernel '%s': PVH entry point %#x is outside its loaded segments",
			  f->path, img->pvh_entry);
		return -ENOEXEC;
	}
	r = elf_load(mem, f->path, f->data, img, LAYOUT_KERNEL, guest_mem_low_end(mem));
	if (r)
		return r;
	/* The kernel copies at most COMMAND_LINE_SIZE bytes; no header states it. */
	r = boot_cmdline_write(mem, "PVH boot", cmdline, LAYOUT_CMDLINE_MAX - 1, LAYOUT_CMDLINE);
	if (r)
		return r;
	if (cfg->initrd_path && cfg->initrd_path[0]) {
		r = boot_initrd_load(mem, cfg->initrd_path, img->hi, UINT64_MAX, &out->initrd_start,
				     &out->initrd_size);
		if (r)
			return r;
		if (!out->initrd_size)
			out->initrd_start = 0;
	}
	pvh_start_info(area, mem, out);
	if (guest_mem_write(mem, PVH_START_INFO, area, sizeof(area))) {
		log_error("PVH start info at %#llx is not in guest RAM",
			  (unsigned long long)PVH_START_INFO);
		return -EFAULT;
	}
	r = boot_entry_protected(mem, &out->entry, img->pvh_entry);
	if (r)
		return r;
	out->entry.regs.gpr[X86_RBX] = PVH_START_INFO;
	out->kind = BOOT_LINUX_ELF;
	out->kernel_start = img->lo;
	out->kernel_end = img->hi;
	return 0;
}
