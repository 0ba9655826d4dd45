/* Every fixed guest-physical address and port of the popek machine, in one place. */
#ifndef POPEK_LAYOUT_H
#define POPEK_LAYOUT_H

/* Guest RAM: [0, min(ram, MMIO_HOLE_START)) and, for larger guests, the rest
 * from 4 GiB up. The hole holds all MMIO devices. */
#define LAYOUT_MMIO_HOLE_START 0xC0000000ULL
#define LAYOUT_MMIO_HOLE_END 0x100000000ULL
#define LAYOUT_HIGH_RAM_START 0x100000000ULL

/* Low memory used by the loaders (Documentation/arch/x86/boot.rst). */
#define LAYOUT_GDT 0x0500ULL           /* boot GDT, 4 entries */
#define LAYOUT_IDT 0x0520ULL           /* empty IDT for entry (limit 0) */
#define LAYOUT_BOOT_PARAMS 0x7000ULL   /* Linux zero page */
#define LAYOUT_MB_INFO 0x7000ULL       /* multiboot info (instead of zero page) */
#define LAYOUT_PML4 0x9000ULL          /* identity page tables: PML4 */
#define LAYOUT_PDPT 0xA000ULL          /* one PDPT */
#define LAYOUT_PD 0xB000ULL            /* 4 PDs (0xB000-0xEFFF): 4 GiB of 2 MiB pages */
#define LAYOUT_CMDLINE 0x20000ULL      /* kernel command line */
#define LAYOUT_CMDLINE_MAX 0x10000ULL  /* 64 KiB */
#define LAYOUT_MB_AREA 0x30000ULL      /* multiboot mmap, strings, module list */
#define LAYOUT_EBDA_START 0x9FC00ULL   /* reserved from here up to 1 MiB */
#define LAYOUT_ACPI_START 0xE0000ULL   /* RSDP, then all ACPI tables */
#define LAYOUT_ACPI_END 0xF0000ULL
#define LAYOUT_MPTABLE 0xF0000ULL      /* MP table, only with acpi=off (no ACPI tables) */
#define LAYOUT_RESET_VECTOR 0xFFFF0ULL /* F000:FFF0, where a BIOS reboot jumps */
#define LAYOUT_KERNEL 0x100000ULL      /* protected-mode kernel load address */
#define LAYOUT_BOOT_STACK 0x8FF0ULL    /* initial RSP for the 64-bit entry */

/* MMIO devices in the hole. */
#define LAYOUT_VIRTIO_MMIO_BASE 0xD0000000ULL /* device n at base + n*size */
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
#define LAYOUT_VIRTIO_MMIO_MAX 13
#define LAYOUT_VIRTIO_GSI_BASE 11      /* device n uses GSI 11 + n (up to 23) */
#define LAYOUT_TESTDEV_MMIO 0xD1000000ULL /* test device for guest programs */
#define LAYOUT_TESTDEV_SIZE 0x1000ULL
#define LAYOUT_IOAPIC 0xFEC00000ULL
#define LAYOUT_LAPIC 0xFEE00000ULL
#define LAYOUT_IOAPIC_PINS 24

/* Ports. */
#define PORT_PIC_MASTER 0x20
#define PORT_PIT 0x40
#define PORT_I8042_DATA 0x60
#define PORT_SYSTEM_CONTROL_B 0x61
#define PORT_I8042_CMD 0x64
#define PORT_RTC 0x70
#define PORT_PIC_SLAVE 0xA0
#define PORT_DEBUG_EXIT 0xF4           /* QEMU isa-debug-exit compatible */
#define PORT_UART0 0x3F8
#define PORT_FW_CFG 0x510              /* selector; data at 0x511 */
#define PORT_ACPI_SLEEP_CTL 0x600      /* FADT SLEEP_CONTROL_REG (1 byte) */
#define PORT_ACPI_SLEEP_STS 0x601      /* FADT SLEEP_STATUS_REG (1 byte) */
#define PORT_ACPI_RESET 0x602          /* FADT RESET_REG (1 byte) */
#define ACPI_RESET_VALUE 0x01
#define PORT_TESTDEV 0xE0              /* test device ports 0xE0-0xE7 */

/* Interrupt lines (GSIs, = ISA IRQs below 16). */
#define GSI_PIT 0  /* routed to IOAPIC pin 2 by the MADT override */
#define GSI_I8042_KBD 1 /* i8042 keyboard port (ISA IRQ 1) */
#define GSI_UART0 4
#define GSI_RTC 8
#define GSI_ACPI_SCI 9
#define GSI_TESTDEV 10 /* test device line for guest programs */

#endif
