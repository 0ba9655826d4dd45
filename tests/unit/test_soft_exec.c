/* The soft engine end to end through soft_engine_ops on a hand-built machine:
 * small guest programs (assembled into this binary by the inline assembler)
 * in 64-bit, 32-bit protected and real mode print over port 0x3f8 and stop
 * with HLT or OUT to port 0xf4; one goes from 32-bit protected mode to long
 * mode, takes exceptions and LAPIC timer interrupts. */
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "cpu/engine.h"
#include "test.h"

/* ---- guest programs ------------------------------------------------------
 * Each is position independent (RIP-relative or loaded at a fixed base) and
 * copied to guest RAM by the test. */
#define GUEST(name) extern const u8 name##_start[], name##_end[]
GUEST(g64);
GUEST(g32);
GUEST(g16);
GUEST(gboot);

/* 64-bit: arithmetic, calls, strings, flags, a #DE handled through the
 * IDT, then "OK" and HLT. Loaded at 0x10000 with a 1:1 map of 1 GiB. */
asm(".pushsection .rodata\n"
    ".code64\n"
    "g64_start:\n"
    "	mov $0x3f8, %dx\n"
    "	lea g64_msg(%rip), %rsi\n"
    "	mov $6, %ecx\n"
    "	rep outsb\n"
    "	mov $10, %ecx\n"
    "	xor %eax, %eax\n"
    "1:	add %ecx, %eax\n"
    "	loop 1b\n"
    "	cmp $55, %eax\n"
    "	jne g64_fail\n"
    "	call g64_func\n"
    "	cmp $0x1234, %rbx\n"
    "	jne g64_fail\n"
    "	lea g64_msg(%rip), %rsi\n"
    "	lea g64_buf(%rip), %rdi\n"
    "	mov $6, %ecx\n"
    "	cld\n"
    "	rep movsb\n"
    "	lea g64_msg(%rip), %rsi\n"
    "	lea g64_buf(%rip), %rdi\n"
    "	mov $6, %ecx\n"
    "	repe cmpsb\n"
    "	jne g64_fail\n"
    "	mov $-1, %rax\n"
    "	mov $3, %ecx\n"
    "	mul %rcx\n"
    "	cmp $2, %rdx\n"
    "	jne g64_fail\n"
    "	mov $0x8000000000000000, %rax\n"
    "	bsr %rax, %rbx\n"
    "	cmp $63, %ebx\n"
    "	jne g64_fail\n"
    "	pushfq\n"
    "	stc\n"
    "	adc $0, %rbx\n"
    "	popfq\n"
    "	cmp $64, %rbx\n"
    "	jne g64_fail\n"
    /* IDT with a #DE handler that skips the 2-byte DIV */
    "	lea g64_idt(%rip), %rdi\n"
    "	lea g64_de(%rip), %rax\n"
    "	mov %ax, (%rdi)\n"
    "	movw $0x08, 2(%rdi)\n"
    "	movw $0x8e00, 4(%rdi)\n"
    "	shr $16, %rax\n"
    "	mov %eax, 6(%rdi)\n"
    "	movl $0, 12(%rdi)\n"
    "	lea g64_idtr(%rip), %rax\n"
    "	mov %rdi, 2(%rax)\n"
    "	lidt (%rax)\n"
    "	xor %ecx, %ecx\n"
    "	mov $7, %eax\n"
    "	xor %edx, %edx\n"
    "	div %ecx\n"
    "	cmp $0xde, %r15d\n"
    "	jne g64_fail\n"
    /* single-step: #DB after each of three NOPs, then the handler clears TF */
    "	lea g64_idt + 16(%rip), %rdi\n"
    "	lea g64_db(%rip), %rax\n"
    "	mov %ax, (%rdi)\n"
    "	movw $0x08, 2(%rdi)\n"
    "	movw $0x8e00, 4(%rdi)\n"
    "	shr $16, %rax\n"
    "	mov %eax, 6(%rdi)\n"
    "	movl $0, 12(%rdi)\n"
    "	xor %r12d, %r12d\n"
    "	pushfq\n"
    "	orq $0x100, (%rsp)\n"
    "	popfq\n"
    "	nop\n"
    "	nop\n"
    "	nop\n"
    "	nop\n"
    "	cmp $3, %r12d\n"
    "	jne g64_fail\n"
    "	mov $0x3f8, %dx\n"
    "	mov $'O', %al\n"
    "	out %al, %dx\n"
    "	mov $'K', %al\n"
    "	out %al, %dx\n"
    "	cli\n"
    "	hlt\n"
    "g64_fail:\n"
    "	mov $0x3f8, %dx\n"
    "	mov $'F', %al\n"
    "	out %al, %dx\n"
    "	cli\n"
    "	hlt\n"
    "g64_func:\n"
    "	push %rbp\n"
    "	mov %rsp, %rbp\n"
    "	mov $0x1234, %ebx\n"
    "	leave\n"
    "	ret\n"
    "g64_db:\n"
    "	inc %r12d\n"
    "	cmp $3, %r12d\n"
    "	jb 1f\n"
    "	andq $~0x100, 16(%rsp)\n"
    "1:	iretq\n"
    "g64_de:\n"
    "	mov $0xde, %r15d\n"
    "	addq $2, (%rsp)\n"
    "	iretq\n"
    "g64_msg: .ascii \"hello\\n\"\n"
    "g64_buf: .space 8\n"
    ".balign 8\n"
    "g64_idtr: .word 16 * 32 - 1\n"
    "	.quad 0\n"
    ".balign 16\n"
    "g64_idt: .space 16 * 32\n"
    "g64_end:\n"
    ".code64\n.popsection\n");

/* 32-bit protected mode, flat, loaded at 0x10000 (absolute addresses). */
asm(".pushsection .rodata\n"
    ".code32\n"
    "g32_start:\n"
    "	mov $0x3f8, %dx\n"
    "	mov $0x10000 + (g32_msg - g32_start), %esi\n"
    "	mov $4, %ecx\n"
    "	rep outsb\n"
    "	mov $5, %eax\n"
    "	mov $7, %ebx\n"
    "	imul %ebx, %eax\n"
    "	cmp $35, %eax\n"
    "	jne 2f\n"
    "	push $0x11\n"
    "	pop %ecx\n"
    "	cmp $0x11, %ecx\n"
    "	jne 2f\n"
    "	mov $0x80, %al\n"
    "	mov $0xf4, %dx\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "2:	mov $0x3f8, %dx\n"
    "	mov $'F', %al\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "g32_msg: .ascii \"p32\\n\"\n"
    "g32_end:\n"
    ".code64\n.popsection\n");

/* Real mode at 0000:7c00: prints, then enters 16-bit-addressed 32-bit
 * protected mode through a GDT at 0x7e00 and prints again. */
asm(".pushsection .rodata\n"
    ".code16\n"
    "g16_start:\n"
    "	xor %ax, %ax\n"
    "	mov %ax, %ds\n"
    "	mov %ax, %ss\n"
    "	mov $0x7000, %sp\n"
    "	mov $0x3f8, %dx\n"
    "	mov $0x7c00 + (g16_msg - g16_start), %si\n"
    "	mov $5, %cx\n"
    "	rep outsb\n"
    "	mov $0x1234, %bx\n"
    "	push %bx\n"
    "	pop %ax\n"
    "	cmp $0x1234, %ax\n"
    "	jne 9f\n"
    "	lgdtl 0x7c00 + (g16_gdtr - g16_start)\n"
    "	mov %cr0, %eax\n"
    "	or $1, %eax\n"
    "	mov %eax, %cr0\n"
    "	ljmpl $0x08, $0x7c00 + (g16_pm - g16_start)\n"
    "9:	mov $'F', %al\n"
    "	out %al, %dx\n"
    "	hlt\n"
    ".code32\n"
    "g16_pm:\n"
    "	mov $0x10, %ax\n"
    "	mov %ax, %ds\n"
    "	mov %ax, %ss\n"
    "	mov $0x3f8, %dx\n"
    "	mov $'P', %al\n"
    "	out %al, %dx\n"
    "	mov $'M', %al\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "g16_msg: .ascii \"real\\n\"\n"
    ".balign 8\n"
    "g16_gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff\n"
    "g16_gdtr: .word 23\n"
    "	.long 0x7c00 + (g16_gdt - g16_start)\n"
    "g16_end:\n"
    ".code64\n.popsection\n");

/* Multiboot-style: 32-bit protected mode without paging at 0x100000; builds
 * 1 GiB identity page tables at 0x1000, enables PAE + LME + PG, jumps to
 * 64-bit code, loads an IDT, takes a #GP and 3 LAPIC timer interrupts,
 * prints and exits through port 0xf4 with 0x21. */
asm(".pushsection .rodata\n"
    ".code32\n"
    "gboot_start:\n"
    "	mov $0x1000, %edi\n"
    "	xor %eax, %eax\n"
    "	mov $3072, %ecx\n"
    "	rep stosl\n"
    "	movl $0x2003, 0x1000\n"     /* PML4[0] -> PDPT */
    "	movl $0x00000083, 0x2000\n" /* PDPT[0]: 1 GiB page at 0 */
    "	movl $0xc0000083, 0x2018\n" /* PDPT[3]: 1 GiB page at 3 GiB (LAPIC) */
    "	mov $0x1000, %eax\n"
    "	mov %eax, %cr3\n"
    "	mov %cr4, %eax\n"
    "	or $0x20, %eax\n"
    "	mov %eax, %cr4\n"
    "	mov $0xc0000080, %ecx\n"
    "	rdmsr\n"
    "	or $0x100, %eax\n"
    "	wrmsr\n"
    "	mov %cr0, %eax\n"
    "	or $0x80000000, %eax\n"
    "	mov %eax, %cr0\n"
    "	lgdt 0x100000 + (gb_gdtr - gboot_start)\n"
    "	ljmp $0x08, $0x100000 + (gb_64 - gboot_start)\n"
    ".code64\n"
    "gb_64:\n"
    "	mov $0x10, %eax\n"
    "	mov %eax, %ds\n"
    "	mov %eax, %ss\n"
    "	mov $0x90000, %rsp\n"
    "	lea gb_idt(%rip), %rdi\n"
    "	lea gb_gp(%rip), %rax\n"
    "	lea 13*16(%rdi), %rbx\n"
    "	call gb_gate\n"
    "	lea gb_tick(%rip), %rax\n"
    "	lea 0x40*16(%rdi), %rbx\n"
    "	call gb_gate\n"
    "	lidt gb_idtr(%rip)\n"
    /* #GP: a non-canonical access, skipped by the handler (4-byte insn) */
    "	mov $0x8000000000000000, %rax\n"
    "	mov (%rax), %rbx\n"
    "	cmp $0x6d, %r14d\n"
    "	jne gb_fail\n"
    /* LAPIC timer: periodic, vector 0x40, 50 us */
    "	mov $0xfee00000, %rbx\n"
    "	movl $0x1ff, 0xf0(%rbx)\n"
    "	movl $0xb, 0x3e0(%rbx)\n"
    "	movl $0x20040, 0x320(%rbx)\n"
    "	movl $50000, 0x380(%rbx)\n"
    "	xor %r13d, %r13d\n"
    "	sti\n"
    "1:	hlt\n"
    "	cmp $3, %r13d\n"
    "	jb 1b\n"
    "	cli\n"
    "	movl $0x10000, 0x320(%rbx)\n"
    "	mov $0x3f8, %dx\n"
    "	mov $'L', %al\n"
    "	out %al, %dx\n"
    "	mov $'M', %al\n"
    "	out %al, %dx\n"
    "	mov $0xf4, %dx\n"
    "	mov $0x21, %al\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "gb_fail:\n"
    "	mov $0x3f8, %dx\n"
    "	mov $'F', %al\n"
    "	out %al, %dx\n"
    "	cli\n"
    "	hlt\n"
    "gb_gate:\n" /* rax handler, rbx gate */
    "	mov %ax, (%rbx)\n"
    "	movw $0x08, 2(%rbx)\n"
    "	movw $0x8e00, 4(%rbx)\n"
    "	shr $16, %rax\n"
    "	mov %eax, 6(%rbx)\n"
    "	movl $0, 12(%rbx)\n"
    "	ret\n"
    "gb_gp:\n"
    "	mov $0x6d, %r14d\n"
    "	add $8, %rsp\n" /* error code */
    "	addq $3, (%rsp)\n"
    "	iretq\n"
    "gb_tick:\n"
    "	inc %r13d\n"
    "	push %rax\n"
    "	mov $0xfee000b0, %eax\n"
    "	movl $0, (%rax)\n" /* EOI */
    "	pop %rax\n"
    "	iretq\n"
    ".balign 8\n"
    "gb_gdt: .quad 0, 0x00af9a000000ffff, 0x00cf92000000ffff\n"
    "gb_gdtr: .word 23\n"
    "	.long 0x100000 + (gb_gdt - gboot_start)\n"
    ".balign 8\n"
    "gb_idtr: .word 16 * 256 - 1\n"
    "	.quad 0x100000 + (gb_idt - gboot_start)\n"
    ".balign 16\n"
    "gb_idt: .space 16 * 256\n"
    "gboot_end:\n"
    ".code64\n.popsection\n");

/* 32-bit protected mode at 0x20000 with its own GDT (0x08 code, 0x10 data,
 * 0x18 16-bit code, 0x20 a non-conforming DPL 0 code segment for LAR):
 * descriptor-table stores, LAR/LSL/VERR/VERW/ARPL, ENTER/LEAVE, PUSHA/POPA,
 * BOUND, LDS, XLAT, CMPXCHG8B, BSWAP, 16-bit addressing, LOOP on CX, a far
 * call and return, and a trip through 16-bit protected mode. Prints "OK". */
GUEST(gsys);
asm(".pushsection .rodata\n"
    ".code32\n"
    "gsys_start:\n"
    "	lgdt 0x20000 + (gs_gdtr - gsys_start)\n"
    "	ljmp $0x08, $0x20000 + (1f - gsys_start)\n"
    "1:	mov $0x10, %ax\n"
    "	mov %ax, %ds\n"
    "	mov %ax, %es\n"
    "	mov %ax, %ss\n"
    "	mov $0x90000, %esp\n"
    /* SGDT: limit and base back */
    "	sgdt 0x30000\n"
    "	cmpw $39, 0x30000\n"
    "	jne gs_fail\n"
    "	cmpl $0x20000 + (gs_gdt - gsys_start), 0x30002\n"
    "	jne gs_fail\n"
    "	smsw %eax\n"
    "	test $1, %al\n"
    "	jz gs_fail\n"
    /* LAR/LSL on the data segment; VERR/VERW */
    "	mov $0x10, %ecx\n"
    "	lar %ecx, %eax\n"
    "	jnz gs_fail\n"
    "	and $0x00f0ff00, %eax\n"
    "	cmp $0x00c09300, %eax\n"
    "	jne gs_fail\n"
    "	lsl %ecx, %eax\n"
    "	jnz gs_fail\n"
    "	cmp $0xffffffff, %eax\n"
    "	jne gs_fail\n"
    "	verw %cx\n"
    "	jnz gs_fail\n"
    "	mov $0x08, %ecx\n"
    "	verw %cx\n"
    "	jz gs_fail\n"
    "	mov $0x48, %ecx\n"               /* beyond the GDT limit */
    "	lar %ecx, %eax\n"
    "	jz gs_fail\n"
    /* ARPL */
    "	mov $0x10, %ax\n"
    "	mov $0x13, %bx\n"
    "	arpl %bx, %ax\n"
    "	jnz gs_fail\n"
    "	cmp $0x13, %ax\n"
    "	jne gs_fail\n"
    /* ENTER with nesting, LEAVE */
    "	mov $0x1234, %ebp\n"
    "	enter $16, $2\n"
    "	lea 16(%esp), %eax\n"
    "	leave\n"
    "	cmp $0x1234, %ebp\n"
    "	jne gs_fail\n"
    "	cmp $0x90000, %esp\n"
    "	jne gs_fail\n"
    /* PUSHA/POPA */
    "	mov $1, %eax\n"
    "	mov $2, %ebx\n"
    "	pusha\n"
    "	xor %eax, %eax\n"
    "	xor %ebx, %ebx\n"
    "	popa\n"
    "	cmp $1, %eax\n"
    "	jne gs_fail\n"
    "	cmp $2, %ebx\n"
    "	jne gs_fail\n"
    /* BOUND inside the bounds */
    "	movl $-5, 0x30010\n"
    "	movl $5, 0x30014\n"
    "	mov $3, %eax\n"
    "	bound %eax, 0x30010\n"
    /* LDS */
    "	movl $0xabcd, 0x30020\n"
    "	movw $0x10, 0x30024\n"
    "	lds 0x30020, %esi\n"
    "	cmp $0xabcd, %esi\n"
    "	jne gs_fail\n"
    /* XLAT */
    "	movb $0x77, 0x30105\n"
    "	mov $0x30100, %ebx\n"
    "	mov $5, %al\n"
    "	xlat\n"
    "	cmp $0x77, %al\n"
    "	jne gs_fail\n"
    /* CMPXCHG8B (equal), BSWAP */
    "	movl $1, 0x30030\n"
    "	movl $2, 0x30034\n"
    "	mov $1, %eax\n"
    "	mov $2, %edx\n"
    "	mov $0x11, %ebx\n"
    "	mov $0x22, %ecx\n"
    "	lock cmpxchg8b 0x30030\n"
    "	jne gs_fail\n"
    "	cmpl $0x22, 0x30034\n"
    "	jne gs_fail\n"
    "	mov $0x11223344, %eax\n"
    "	bswap %eax\n"
    "	cmp $0x44332211, %eax\n"
    "	jne gs_fail\n"
    /* 16-bit addressing in 32-bit code: movsb with SI/DI/CX, loop on CX */
    "	movl $0x64636261, 0x8000\n"
    "	mov $0x8000, %esi\n"
    "	mov $0xffff9000, %edi\n"        /* upper half ignored with a 16-bit DI */
    "	mov $4, %ecx\n"
    "	addr16 rep movsb\n"
    "	cmpl $0x64636261, 0x9000\n"
    "	jne gs_fail\n"
    "	cmp $0xffff9004, %edi\n"
    "	jne gs_fail\n"
    "	mov $0x10003, %ecx\n"
    "	xor %eax, %eax\n"
    "2:	inc %eax\n"
    "	addr16 loop 2b\n"
    "	cmp $3, %eax\n"
    "	jne gs_fail\n"
    "	cmp $0x10000, %ecx\n"
    "	jne gs_fail\n"
    /* far call through the GDT and far return */
    "	lcall $0x08, $0x20000 + (gs_far - gsys_start)\n"
    "	cmp $0xfa, %eax\n"
    "	jne gs_fail\n"
    /* 16-bit protected mode and back */
    "	ljmp $0x18, $(gs_p16 - gsys_start)\n"
    "gs_back:\n"
    "	cmp $0x1616, %ebx\n"
    "	jne gs_fail\n"
    "	mov $0x3f8, %dx\n"
    "	mov $'O', %al\n"
    "	out %al, %dx\n"
    "	mov $'K', %al\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "gs_fail:\n"
    "	mov $0x3f8, %dx\n"
    "	mov $'F', %al\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "gs_far:\n"
    "	mov $0xfa, %eax\n"
    "	lret\n"
    ".code16\n"
    "gs_p16:\n"                          /* CS base 0x20000, 16-bit */
    "	mov $0x1616, %bx\n"
    "	push %bx\n"
    "	pop %cx\n"
    "	mov %cx, %bx\n"
    "	ljmpl $0x08, $0x20000 + (gs_back - gsys_start)\n"
    ".balign 8\n"
    "gs_gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff\n"
    "	.quad 0x00009a020000ffff\n"        /* 0x18: 16-bit code, base 0x20000 */
    "	.quad 0x00cf9a000000ffff\n"
    "gs_gdtr: .word 39\n"
    "	.long 0x20000 + (gs_gdt - gsys_start)\n"
    "gsys_end:\n"
    ".code64\n.popsection\n");

/* ---- the machine ---------------------------------------------------------- */

struct tmach {
	struct machine m;
	struct engine_vm *evm;
	struct engine_vcpu *vcpu;
	char out[256];
	unsigned outlen;
	int exit_value;
};

static u64 uart_read(void *opaque, u64 off, unsigned size)
{
	(void)opaque, (void)size;
	return off == 5 ? 0x60 : 0; /* LSR: transmitter empty */
}

static void uart_write(void *opaque, u64 off, unsigned size, u64 v)
{
	struct tmach *t = opaque;

	(void)size;
	if (off == 0 && t->outlen < sizeof(t->out) - 1)
		t->out[t->outlen++] = (char)v;
}

static u64 exit_read(void *opaque, u64 off, unsigned size)
{
	(void)opaque, (void)off, (void)size;
	return 0;
}

static void exit_write(void *opaque, u64 off, unsigned size, u64 v)
{
	struct tmach *t = opaque;

	(void)off, (void)size;
	t->exit_value = (int)v;
	soft_engine_ops.kick(t->vcpu);
}

static const struct bus_ops uart_ops = {"uart", uart_read, uart_write};
static const struct bus_ops exit_ops = {"exit", exit_read, exit_write};

static struct tmach *tm_new(void)
{
	struct tmach *t = calloc(1, sizeof(*t));

	t->exit_value = -1;
	CHECK_EQ(guest_mem_init(&t->m.mem, 64 * MiB), 0);
	pthread_mutex_init(&t->m.dev_lock, NULL);
	bus_init(&t->m.pio, "pio", &t->m.dev_lock);
	bus_init(&t->m.mmio, "mmio", &t->m.dev_lock);
	t->m.cfg.nr_cpus = 1;
	t->m.engine = &soft_engine_ops;
	CHECK_EQ(bus_register(&t->m.pio, 0x3f8, 8, &uart_ops, t), 0);
	CHECK_EQ(bus_register(&t->m.pio, 0xf4, 1, &exit_ops, t), 0);
	CHECK_EQ(soft_engine_ops.vm_create(&t->m, &t->evm), 0);
	CHECK_EQ(soft_engine_ops.map_ram(t->evm), 0);
	CHECK_EQ(soft_engine_ops.vcpu_create(t->evm, 0, &t->vcpu), 0);
	return t;
}

static void tm_free(struct tmach *t)
{
	soft_engine_ops.vcpu_destroy(t->vcpu);
	soft_engine_ops.vm_destroy(t->evm);
	guest_mem_destroy(&t->m.mem);
	free(t);
}

static void tm_load(struct tmach *t, gpa_t gpa, const u8 *start, const u8 *end)
{
	CHECK_EQ(guest_mem_write(&t->m.mem, gpa, start, (u64)(end - start)), 0);
}

/* Runs until HLT with IF=0, a debug exit, or a shutdown; returns the reason. */
static enum vcpu_exit_reason tm_run(struct tmach *t)
{
	struct vcpu_exit ex;

	for (int i = 0; i < 1000; i++) {
		CHECK_EQ(soft_engine_ops.run(t->vcpu, &ex), 0);
		if (ex.reason != VCPU_EXIT_KICKED || t->exit_value >= 0)
			return ex.reason;
	}
	return VCPU_EXIT_ERROR;
}

static struct x86_seg seg_flat(u16 sel, u8 type, bool l, bool db)
{
	return (struct x86_seg){.base = 0,
				.limit = 0xffffffff,
				.selector = sel,
				.type = type,
				.s = 1,
				.present = 1,
				.l = l,
				.db = db,
				.g = 1};
}

static struct x86_seg seg_real(u16 sel, u8 type)
{
	return (struct x86_seg){.base = (u64)sel << 4,
				.limit = 0xffff,
				.selector = sel,
				.type = type,
				.s = 1,
				.present = 1};
}

static void state_prot32(struct x86_state *st, u64 rip)
{
	memset(st, 0, sizeof(*st));
	st->regs.rip = rip;
	st->regs.rflags = 2;
	st->sregs.seg[X86_CS] = seg_flat(0x08, 0xb, false, true);
	for (int s = 0; s < 6; s++)
		if (s != X86_CS)
			st->sregs.seg[s] = seg_flat(0x10, 0x3, false, true);
	st->sregs.tr = (struct x86_seg){.type = 0xb, .present = 1, .limit = 0xffff};
	st->sregs.ldt = (struct x86_seg){.type = 0x2, .present = 1, .limit = 0xffff};
	st->sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	st->sregs.apic_base = 0xfee00900;
}

static void test_exec_64(void)
{
	struct tmach *t = tm_new();
	struct x86_state st;
	u64 pdpt = 0x2000;

	tm_load(t, 0x10000, g64_start, g64_end);
	/* PML4 at 0x1000 -> PDPT at 0x2000 with one 1 GiB page. */
	u64 e = pdpt | 3, big = 0x83;
	guest_mem_write(&t->m.mem, 0x1000, &e, 8);
	guest_mem_write(&t->m.mem, pdpt, &big, 8);
	u64 gdt[3] = {0, 0x00af9a000000ffffULL, 0x00cf92000000ffffULL};
	guest_mem_write(&t->m.mem, 0x500, gdt, sizeof(gdt));
	state_prot32(&st, 0x10000);
	st.sregs.seg[X86_CS] = seg_flat(0x08, 0xb, true, false);
	st.sregs.gdt = (struct x86_dtable){0x500, 23};
	st.sregs.cr0 |= X86_CR0_PG;
	st.sregs.cr3 = 0x1000;
	st.sregs.cr4 = X86_CR4_PAE;
	st.sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	st.regs.gpr[X86_RSP] = 0x80000;
	CHECK_EQ(soft_engine_ops.set_state(t->vcpu, &st), 0);
	CHECK_EQ(tm_run(t), VCPU_EXIT_HLT);
	t->out[t->outlen] = 0;
	CHECK(!strcmp(t->out, "hello\nOK"));
	if (strcmp(t->out, "hello\nOK")) {
		struct x86_state now;
		u64 stk[8];
		soft_engine_ops.get_state(t->vcpu, &now);
		guest_mem_read(&t->m.mem, now.regs.gpr[X86_RSP], stk, sizeof(stk));
		printf("  output: \"%s\" rip %#llx rsp %#llx r12 %#llx\n", t->out,
		       (unsigned long long)now.regs.rip, (unsigned long long)now.regs.gpr[X86_RSP],
		       (unsigned long long)now.regs.gpr[X86_R12]);
		for (int i = 0; i < 8; i++)
			printf("    [rsp+%d] %#llx\n", i * 8, (unsigned long long)stk[i]);
	}
	CHECK(soft_engine_ops.stat(t->vcpu, "instructions") > 50);
	CHECK_EQ(soft_engine_ops.stat(t->vcpu, "ud"), 0);
	tm_free(t);
}

static void test_exec_32(void)
{
	struct tmach *t = tm_new();
	struct x86_state st;

	tm_load(t, 0x10000, g32_start, g32_end);
	state_prot32(&st, 0x10000);
	st.regs.gpr[X86_RSP] = 0x80000;
	CHECK_EQ(soft_engine_ops.set_state(t->vcpu, &st), 0);
	tm_run(t);
	t->out[t->outlen] = 0;
	CHECK(!strcmp(t->out, "p32\n"));
	CHECK_EQ(t->exit_value, 0x80);
	tm_free(t);
}

static void test_exec_real(void)
{
	struct tmach *t = tm_new();
	struct x86_state st;

	tm_load(t, 0x7c00, g16_start, g16_end);
	memset(&st, 0, sizeof(st));
	st.regs.rip = 0x7c00;
	st.regs.rflags = 2;
	st.sregs.seg[X86_CS] = seg_real(0, 0xb);
	for (int s = 0; s < 6; s++)
		if (s != X86_CS)
			st.sregs.seg[s] = seg_real(0, 0x3);
	st.sregs.tr = (struct x86_seg){.type = 0xb, .present = 1, .limit = 0xffff};
	st.sregs.ldt = (struct x86_seg){.type = 0x2, .present = 1, .limit = 0xffff};
	st.sregs.idt = (struct x86_dtable){0, 0x3ff};
	st.sregs.cr0 = X86_CR0_ET;
	st.sregs.apic_base = 0xfee00900;
	CHECK_EQ(soft_engine_ops.set_state(t->vcpu, &st), 0);
	CHECK_EQ(tm_run(t), VCPU_EXIT_HLT);
	t->out[t->outlen] = 0;
	CHECK(!strcmp(t->out, "real\nPM"));
	if (strcmp(t->out, "real\nPM"))
		printf("  output: \"%s\"\n", t->out);
	tm_free(t);
}

static void test_exec_boot_to_long(void)
{
	struct tmach *t = tm_new();
	struct x86_state st;

	tm_load(t, 0x100000, gboot_start, gboot_end);
	state_prot32(&st, 0x100000);
	CHECK_EQ(soft_engine_ops.set_state(t->vcpu, &st), 0);
	tm_run(t);
	t->out[t->outlen] = 0;
	CHECK(!strcmp(t->out, "LM"));
	CHECK_EQ(t->exit_value, 0x21);
	if (t->exit_value != 0x21)
		printf("  output: \"%s\" exit %d\n", t->out, t->exit_value);
	tm_free(t);
}

static void test_exec_sys32(void)
{
	struct tmach *t = tm_new();
	struct x86_state st;

	tm_load(t, 0x20000, gsys_start, gsys_end);
	state_prot32(&st, 0x20000);
	st.regs.gpr[X86_RSP] = 0x90000;
	CHECK_EQ(soft_engine_ops.set_state(t->vcpu, &st), 0);
	CHECK_EQ(tm_run(t), VCPU_EXIT_HLT);
	t->out[t->outlen] = 0;
	CHECK(!strcmp(t->out, "OK"));
	if (strcmp(t->out, "OK")) {
		struct x86_state now;
		soft_engine_ops.get_state(t->vcpu, &now);
		printf("  output: \"%s\" rip %#llx\n", t->out, (unsigned long long)now.regs.rip);
		for (int r = 0; r < 8; r++)
			printf("    r%d %#llx\n", r, (unsigned long long)now.regs.gpr[r]);
	}
	CHECK_EQ(soft_engine_ops.stat(t->vcpu, "ud"), 0);
	tm_free(t);
}

int main(void)
{
	TEST_RUN(test_exec_64);
	TEST_RUN(test_exec_32);
	TEST_RUN(test_exec_real);
	TEST_RUN(test_exec_boot_to_long);
	TEST_RUN(test_exec_sys32);
	return test_done();
}
