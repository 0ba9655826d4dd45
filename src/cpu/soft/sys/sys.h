/* System-level helpers of the soft engine (segmentation, descriptor tables,
 * control registers, TSS, time) beyond the cpu.h contract: the parts that
 * system_insn.c calls for LTR/LLDT/LGDT/LIDT/LAR/LSL/VERR/VERW/INVLPG/CLTS/
 * LMSW and IN/OUT permission checks, and what seg.c, exception.c and cr.c
 * share among themselves. All of these may raise (longjmp) like soft_read. */
#ifndef POPEK_SOFT_SYS_H
#define POPEK_SOFT_SYS_H

#include "cpu/soft/cpu.h"

/* Segment descriptor fields (Intel SDM Vol. 3A 3.4.5). */
#define SEG_TYPE_ACCESSED 0x1
#define SEG_TYPE_WRITABLE 0x2 /* data */
#define SEG_TYPE_READABLE 0x2 /* code */
#define SEG_TYPE_EXPDOWN  0x4 /* data */
#define SEG_TYPE_CONFORM  0x4 /* code */
#define SEG_TYPE_CODE     0x8

/* System descriptor types (SDM Vol. 3A Table 3-2). */
#define SYS_TSS16_AVAIL 0x1
#define SYS_LDT         0x2
#define SYS_TSS16_BUSY  0x3
#define SYS_CALLGATE16  0x4
#define SYS_TASKGATE    0x5
#define SYS_INTGATE16   0x6
#define SYS_TRAPGATE16  0x7
#define SYS_TSS_AVAIL   0x9 /* 32-bit TSS, or 64-bit TSS in IA-32e mode */
#define SYS_TSS_BUSY    0xb
#define SYS_CALLGATE    0xc
#define SYS_INTGATE     0xe
#define SYS_TRAPGATE    0xf

#define RFLAGS_RF   (1ULL << 16)
#define RFLAGS_VM   (1ULL << 17)
#define RFLAGS_VIF  (1ULL << 19)
#define RFLAGS_VIP  (1ULL << 20)
#define RFLAGS_NT   (1ULL << 14)
#define RFLAGS_IOPL (3ULL << 12)

/* ---- descriptors (seg.c) ---- */

/* Reads the 8-byte descriptor for selector sel from the GDT or LDT.
 * Returns false when the selector's index is beyond the table limit (or
 * the LDT is unusable): the caller raises its own fault. */
bool soft_desc_read(struct soft_cpu *cpu, u16 sel, u64 *desc);
/* Reads the upper 8 bytes of a 16-byte system descriptor (IA-32e mode). */
bool soft_desc_read_hi(struct soft_cpu *cpu, u16 sel, u64 *hi);
/* Decodes an 8-byte descriptor into the hidden part of a segment register. */
void soft_desc_decode(u64 desc, u16 sel, struct x86_seg *s);
/* Sets the accessed bit of the descriptor for sel in memory (if clear). */
void soft_desc_set_accessed(struct soft_cpu *cpu, u16 sel, u64 desc);
/* A null segment register for sel (unusable; RPL kept; dpl = rpl). */
void soft_seg_set_null(struct x86_seg *s, u16 sel);
/* Pure check of a data access of size bytes at off against the cached
 * descriptor s (type and limit; type ignored in real mode). */
bool soft_seg_ok(const struct x86_seg *s, u64 off, unsigned size, enum soft_access acc, bool real);
/* Reads size bytes at offset of the current TSS; #TS(TR) beyond its limit. */
u64 soft_tss_read(struct soft_cpu *cpu, u32 offset, unsigned size);

/* Protected-mode SS:ESP for privilege level dpl from the 16/32-bit TSS,
 * with the checks of SDM Vol. 3A 6.12.1 (#TS/#SS with EXT bit ext). */
void soft_tss_stack(struct soft_cpu *cpu, unsigned dpl, u32 ext, struct x86_seg *ss, u64 *sp,
		    u64 *ssdesc);
/* Pushes n values of size bytes (vals[0] first, at the highest address)
 * below sp on the stack ss (sp_mask 0xffff, 0xffffffff, or ~0 for a 64-bit
 * stack, where ss is unused) with privilege priv (enum soft_priv: explicit
 * accesses at the new CPL, soft_data_priv()); checks every byte before
 * writing any (#SS(ss_err)). Returns the new stack pointer. */
u64 soft_push_frame(struct soft_cpu *cpu, const struct x86_seg *ss, u64 sp, u64 sp_mask,
		    const u64 *vals, unsigned n, unsigned size, unsigned priv, u32 ss_err);

/* Loads CS with sel/desc (RPL replaced by cpl) and updates the mode. */
void soft_set_cs(struct soft_cpu *cpu, u16 sel, u64 desc, unsigned cpl);
/* Real-mode style load: selector and base = sel << 4 only. */
void soft_seg_load_real(struct soft_cpu *cpu, int seg, u16 sel);

/* ---- instructions that system_insn.c calls (seg.c) ---- */
void soft_lldt(struct soft_cpu *cpu, u16 sel);
void soft_ltr(struct soft_cpu *cpu, u16 sel);
/* LGDT/LIDT after the operand was read: #GP(0) for a non-canonical base. */
void soft_load_dtable(struct soft_cpu *cpu, bool idt, u64 base, u16 limit);
/* LAR/LSL/VERR/VERW: return false (ZF=0) when the selector fails the
 * checks, else true with *out = access rights (LAR: desc bits 8..23 of the
 * high dword, masked 0x00f0ff00) or the byte-granular limit (LSL). */
bool soft_lar(struct soft_cpu *cpu, u16 sel, u32 *out);
bool soft_lsl(struct soft_cpu *cpu, u16 sel, u32 *out);
bool soft_verr(struct soft_cpu *cpu, u16 sel, bool write);
/* I/O permission (SDM Vol. 1 19.5): true when CPL <= IOPL (protected mode)
 * or the TSS I/O bitmap allows every port of [port, port+size). Real mode:
 * always true. The caller raises #GP(0) on false. */
bool soft_io_allowed(struct soft_cpu *cpu, u16 port, unsigned size);

/* ---- control registers (cr.c) ---- */
void soft_clts(struct soft_cpu *cpu);
/* WRPKRU after its checks: sets PKRU and drops the TLB entries whose
 * rights came from a key whose AD/WD bits changed. */
void soft_pkru_write(struct soft_cpu *cpu, u32 v);
void soft_lmsw(struct soft_cpu *cpu, u16 value);
void soft_invlpg(struct soft_cpu *cpu, u64 lin);
/* Loads the PAE PDPTE registers from cr3; false on reserved bits. */
bool soft_mmu_load_pdptes(struct soft_cpu *cpu, u64 cr3);
/* CR8 / TPR fallback for when no LAPIC is attached. */
u64 soft_tpr_get(struct soft_cpu *cpu);
void soft_tpr_set(struct soft_cpu *cpu, u64 cr8);

/* ---- reset (reset.c) ---- */
/* soft_reset() (cpu.h) is power-on; soft_init() is the INIT signal: the
 * same registers, but MSRs, x87/SSE state and the TSC are kept. The caller
 * then sets wait_for_sipi for an AP. soft_sipi() starts an AP in real mode
 * at CS = vector << 8 (base vector << 12), IP = 0. */
void soft_init(struct soft_cpu *cpu);
void soft_sipi(struct soft_cpu *cpu, u8 vector);

/* ---- time (tsc.c) ---- */
/* Host CLOCK_MONOTONIC in ns. */
u64 soft_clock_ns(void);
/* Guest time in ns: soft_vm_now(cpu->vm) (vm.h: ns since VM start, shared
 * by all vCPUs, the LAPIC timers and the PIT), or soft_clock_ns() for a
 * CPU without a VM (unit tests). The guest TSC runs at 1 GHz:
 * TSC = soft_now_ns(cpu) + cpu->msr.tsc_offset; kvmclock time =
 * soft_now_ns(cpu) on every vCPU, whatever its TSC offset. */
u64 soft_now_ns(struct soft_cpu *cpu);
/* Sets the vCPU's TSC offset (guest TSC = soft_now_ns() + offset) and
 * what depends on it: the LAPIC's deadline timer, the kvmclock page. */
void soft_tsc_set_offset(struct soft_cpu *cpu, u64 offset);
/* The CR4 bits MOV CR4 accepts (cr.c). */
u64 soft_cr4_supported(void);
/* WRMSR IA32_TSC: the guest TSC reads value now. */
void soft_tsc_write(struct soft_cpu *cpu, u64 value);
/* kvmclock MSR writes (MSR_KVM_SYSTEM_TIME_NEW / MSR_KVM_WALL_CLOCK_NEW):
 * fill the guest structures. Return false when gpa is not in RAM. */
bool soft_kvmclock_enable(struct soft_cpu *cpu, u64 msr_value);
bool soft_kvm_wall_clock(struct soft_cpu *cpu, u64 gpa);
/* TSC frequency in kHz (CPUID 0x15/0x16/0x40000010); the LAPIC timer's
 * clock is SOFT_LAPIC_BUS_HZ (lapic.h). */
#define SOFT_TSC_KHZ 1000000u

/* Vendor-specific MSRs (msr_amd.c): whether index belongs to the other
 * vendor only (then RDMSR/WRMSR fault), and AMD's own: the read returns
 * true when it handled index; the write 0 when it did, -EINVAL when the
 * MSR refuses the value, -ENOENT for an index it does not know. */
bool soft_msr_vendor_lacks(const struct soft_cpu *cpu, u32 index);
bool soft_msr_amd_read(struct soft_cpu *cpu, u32 index, u64 *value);
int soft_msr_amd_write(struct soft_cpu *cpu, u32 index, u64 value);

#endif
