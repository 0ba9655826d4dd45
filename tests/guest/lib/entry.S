/* Guest runtime entry: multiboot v1 header, 32-bit entry, long mode switch, IDT stubs. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x3            /* page-aligned modules, memory info (spec 3.1.2) */
#define MB_BOOT_MAGIC 0x2BADB002 /* EAX at entry (spec 3.2) */

/* Multiboot header (Multiboot Specification 0.6.96, 3.1.1): in the first
 * 8 KiB of the file, 4-byte aligned. The linker script puts it first. */
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
	.globl pd
pd:	.skip 4 * 4096          /* 4 PDs: 0-4 GiB in 2 MiB pages */
	.skip 16384
	.globl boot_stack_top
boot_stack_top:

	.section .data
	.globl mb_magic, mb_info, mb_entry_cr0, mb_entry_eflags
mb_magic:	.long 0
mb_info:	.long 0
mb_entry_cr0:	.long 0
mb_entry_eflags: .long 0
gdt_ptr32:
	.word 10 * 8 - 1
	.long gdt

	.section .rodata
bad_magic_msg:
	.asciz "not ok - multiboot magic in EAX\nFAIL\n"

	.text
	.code32
	.globl _start
_start:
	/* Multiboot state (spec 3.2): EAX magic, EBX info, flat 32-bit
	 * segments, PE=1 PG=0, IF=0. ESP is undefined: set it first and
	 * save the state before touching it. */
	movl $boot_stack_top, %esp
	pushfl
	popl mb_entry_eflags
	cli
	cld
	movl %eax, mb_magic
	movl %ebx, mb_info
	movl %cr0, %ecx
	movl %ecx, mb_entry_cr0
	/* ELF loaders zero .bss (memsz > filesz); do it again rather than
	 * trust every loader. Nothing in .bss is live yet. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	cmpl $MB_BOOT_MAGIC, mb_magic
	jne bad_magic

	/* Identity map 0-4 GiB with 2 MiB pages (Intel SDM Vol. 3A 4.5).
	 * Non-leaf entries allow user access; leaves decide (P|RW|PS). */
	movl $pdpt + 7, pml4
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $pd + 7, %eax
	movl %eax, pdpt(,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, pd(,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax           /* bits 32+ of (ecx << 21) */
	movl %eax, pd + 4(,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax          /* PAE */
	movl %eax, %cr4
	movl $0xC0000080, %ecx   /* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80010021, %eax    /* PG, WP, NE, PE (Intel SDM Vol. 3A 9.8.5) */
	movl %eax, %cr0
	lgdt gdt_ptr32
	ljmp $0x10, $long_entry

bad_magic:
	movl $bad_magic_msg, %esi
3:	movb (%esi), %bl
	testb %bl, %bl
	jz 5f
	movw $0x3fd, %dx
4:	inb %dx, %al
	testb $0x20, %al
	jz 4b
	movw $0x3f8, %dx
	movb %bl, %al
	outb %al, %dx
	incl %esi
	jmp 3b
5:	movb $0x11, %al
	outb %al, $0xf4
6:	hlt
	jmp 6b

	.code64
long_entry:
	movw $0x18, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	call runtime_start
7:	hlt
	jmp 7b

/* 256 IDT stubs, 16 bytes apart. Vectors with a CPU error code (Intel SDM
 * Vol. 3A 6.15: 8, 10-14, 17, 21, 29, 30) do not push a dummy one. */
	.align 16
	.globl idt_stubs
idt_stubs:
	vec = 0
	.rept 256
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	vec = vec + 1
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi          /* 22 qwords from an aligned frame: aligned */
	cld
	call trap_handler
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
