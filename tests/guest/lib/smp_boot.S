/* AP start-up code for lib/smp.c: a real-mode trampoline that smp_start()
 * copies below 1 MiB, then the 32-bit and 64-bit steps into the runtime. */

	.text
	.code16
/* Entered at CS = vector << 8, IP = 0 after a startup IPI (Intel SDM Vol.
 * 3A "MP Initialization Example"), in real mode with IF=0. Position
 * independent: only CS-relative data, then far jumps to absolute addresses. */
	.globl smp_tramp, smp_tramp_gdtr, smp_tramp_end
smp_tramp:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl smp_tramp_gdtr - smp_tramp
	movl %cr0, %eax
	orl $1, %eax             /* PE */
	movl %eax, %cr0
	ljmpl $0x08, $ap_entry32 /* the runtime GDT's 32-bit code segment */
	.align 8
smp_tramp_gdtr:                  /* filled by smp_start(): the runtime GDT */
	.word 0
	.long 0
smp_tramp_end:

	.code32
/* The same path to long mode as lib/entry.S, with the BSP's control
 * registers (Intel SDM Vol. 3A 9.8.5). */
ap_entry32:
	movw $0x18, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl smp_boot_cr4, %eax
	movl %eax, %cr4
	movl smp_boot_cr3, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx
	movl smp_boot_efer, %eax
	xorl %edx, %edx
	wrmsr
	movl smp_boot_cr0, %eax
	movl %eax, %cr0
	ljmp $0x10, $ap_entry64

	.code64
ap_entry64:
	movw $0x18, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq smp_boot_rsp(%rip), %rsp
	call smp_ap_main
1:	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
