/* Architectural register state of one x86-64 vCPU, engine-neutral: the loaders
 * produce it, engines load and store it, crash dumps and snapshots read it. */
#ifndef POPEK_X86_STATE_H
#define POPEK_X86_STATE_H

#include "popek/types.h"

enum x86_gpr {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

struct x86_regs {
	u64 gpr[16]; /* indexed by enum x86_gpr */
	u64 rip;
	u64 rflags;
};

/* A segment register with its hidden part, as in the descriptor
 * (Intel SDM Vol. 3A 3.4.5): type is the 4-bit type field. */
struct x86_seg {
	u64 base;
	u32 limit;     /* byte-granular (already scaled by G) */
	u16 selector;
	u8 type;
	u8 s, dpl, present, avl, l, db, g;
	u8 unusable;
};

struct x86_dtable {
	u64 base;
	u16 limit;
};

enum x86_segreg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS };

struct x86_sregs {
	struct x86_seg seg[6]; /* indexed by enum x86_segreg */
	struct x86_seg tr, ldt;
	struct x86_dtable gdt, idt;
	u64 cr0, cr2, cr3, cr4, cr8;
	u64 efer;
	u64 apic_base;
};

/* Full entry state handed from a loader to the boot vCPU. */
struct x86_state {
	struct x86_regs regs;
	struct x86_sregs sregs;
};

/* Control register and flag bits used across modules (Intel SDM Vol. 3A 2.5). */
#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_MP (1ULL << 1)
#define X86_CR0_EM (1ULL << 2)
#define X86_CR0_TS (1ULL << 3)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NE (1ULL << 5)
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_AM (1ULL << 18)
#define X86_CR0_NW (1ULL << 29)
#define X86_CR0_CD (1ULL << 30)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PSE (1ULL << 4)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_PGE (1ULL << 7)
#define X86_CR4_OSFXSR (1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define X86_CR4_UMIP (1ULL << 11)
#define X86_CR4_PCIDE (1ULL << 17)
#define X86_CR4_SMEP (1ULL << 20)
#define X86_CR4_SMAP (1ULL << 21)
#define X86_CR4_PKE (1ULL << 22)
#define X86_EFER_SCE (1ULL << 0)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_EFER_NXE (1ULL << 11)
#define X86_RFLAGS_CF (1ULL << 0)
#define X86_RFLAGS_FIXED (1ULL << 1)
#define X86_RFLAGS_PF (1ULL << 2)
#define X86_RFLAGS_AF (1ULL << 4)
#define X86_RFLAGS_ZF (1ULL << 6)
#define X86_RFLAGS_SF (1ULL << 7)
#define X86_RFLAGS_TF (1ULL << 8)
#define X86_RFLAGS_IF (1ULL << 9)
#define X86_RFLAGS_DF (1ULL << 10)
#define X86_RFLAGS_OF (1ULL << 11)
#define X86_RFLAGS_AC (1ULL << 18)
#define X86_RFLAGS_ID (1ULL << 21)

#endif
