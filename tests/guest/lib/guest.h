/* The guest test runtime's interface: port/MMIO/MSR helpers, traps, checks, output. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

/* popek's fixed layout (include/popek/layout.h), repeated here because
 * guest programs are freestanding. */
#define TESTDEV_PORT 0xE0       /* 0xE0-0xE3 scratch, 0xE4 reads 0x5A */
#define TESTDEV_MMIO 0xD1000000UL
#define TESTDEV_SCRATCH 0x000   /* 0x000-0x0FF scratch memory */
#define TESTDEV_COUNT 0x100     /* u64 access count */
#define TESTDEV_LEVEL 0x108     /* u32 write sets GSI 10's level */
#define TESTDEV_PULSE 0x110     /* u32 write pulses GSI 10 */
#define TESTDEV_GSI 10
#define LAPIC_BASE 0xFEE00000UL
#define IOAPIC_BASE 0xFEC00000UL
#define DEBUG_EXIT_PORT 0xF4

/* Segment selectors (without RPL) of the runtime's GDT (lib/runtime.c). */
#define SEL_KCODE 0x10
#define SEL_KDATA 0x18
#define SEL_UCODE32 0x20
#define SEL_UDATA 0x28
#define SEL_UCODE 0x30
#define SEL_TSS 0x40

/* MSRs (Intel SDM Vol. 4). */
#define MSR_APIC_BASE 0x1B
#define MSR_EFER 0xC0000080
#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_SFMASK 0xC0000084
#define MSR_KERNEL_GS_BASE 0xC0000102
#define EFER_SCE (1UL << 0)
#define EFER_LME (1UL << 8)
#define EFER_LMA (1UL << 10)

#define RFLAGS_CF (1UL << 0)
#define RFLAGS_TF (1UL << 8)
#define RFLAGS_IF (1UL << 9)
#define RFLAGS_DF (1UL << 10)
#define RFLAGS_IOPL (3UL << 12)
#define RFLAGS_AC (1UL << 18)

/* Page table entry bits (Intel SDM Vol. 3A 4.5). */
#define PTE_P (1UL << 0)
#define PTE_RW (1UL << 1)
#define PTE_US (1UL << 2)

/* LAPIC registers (Intel SDM Vol. 3A 11.4.1, Table 11-1). */
#define LAPIC_ID 0x20
#define LAPIC_VERSION 0x30
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LAPIC_IRR 0x200
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0
#define ICR_NMI (4u << 8)          /* delivery modes (SDM Vol. 3A 11.6.1) */
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)
#define ICR_BUSY (1u << 12)         /* delivery status: send pending */
#define ICR_ASSERT (1u << 14)
#define ICR_SELF (1u << 18)         /* destination shorthands */
#define ICR_ALL_BUT_SELF (3u << 18)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)

static inline void outb(u16 port, u8 v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)a; }
static inline u16 mmio_read16(u64 a) { return *(volatile u16 *)a; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline u64 mmio_read64(u64 a) { return *(volatile u64 *)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline void mmio_write16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline void mmio_write64(u64 a, u64 v) { *(volatile u64 *)a = v; }

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (u64)hi << 32;
}
static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
static inline void cpuid(u32 leaf, u32 sub, u32 r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (u64)hi << 32;
}
static inline u64 read_rflags(void) { u64 f; asm volatile("pushfq; popq %0" : "=r"(f)); return f; }
static inline u64 read_cr0(void) { u64 v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 read_cr2(void) { u64 v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr4(void) { u64 v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr4(u64 v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline void pause(void) { asm volatile("pause" ::: "memory"); }

/* What the IDT stubs save (lib/entry.S): GPRs, then the vector, the error
 * code (0 when the CPU pushes none) and the CPU's interrupt frame. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error, rip, cs, rflags, rsp, ss;
};
typedef void (*trap_fn)(struct trap_frame *f);

/* The last trap, as recorded by the common handler. */
struct trap_info {
	u64 count, vector, error, rip, cr2;
};
extern volatile struct trap_info last_trap;

/* CATCH("insns"): runs insns expecting an exception; the handler records it
 * and resumes after insns. catch_start/catch_end hold the addresses of the
 * first instruction and of the one after. Clobbers r11. Call trap_reset()
 * first and check last_trap.count after. */
extern volatile u64 trap_resume, catch_start, catch_end;
#define CATCH(insns)                                                                        \
	"lea 8f(%%rip), %%r11\n\tmov %%r11, catch_start(%%rip)\n\t"                         \
	"lea 9f(%%rip), %%r11\n\tmov %%r11, catch_end(%%rip)\n\tmov %%r11, trap_resume(%%rip)\n" \
	"8:\t" insns "\n9:\n\t"

void trap_reset(void);
/* Checks that exactly one trap came since trap_reset(), with this vector,
 * error code, RIP and CR2 (0 where the trap sets none). */
bool check_trap(const char *what, u64 vector, u64 error, u64 rip, u64 cr2);
void trap_set_handler(unsigned vector, trap_fn fn);
/* Runs rdmsr (write false) or wrmsr of v on msr; true if it raised #GP(0)
 * at that instruction. */
bool msr_access_faults(u32 msr, bool write, u64 v);
/* A handler that runs before anything is recorded in last_trap and before
 * trap_resume is looked at: for vectors that are no trap to a test, such as
 * lib/ring3.c's way back from ring 3. */
void trap_set_raw_handler(unsigned vector, trap_fn fn);

/* Output and results. */
void putchar_serial(char c);
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char *fmt, va_list ap);
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define check_eq(what, got, want)                                                         \
	({                                                                                 \
		u64 got_ = (u64)(got), want_ = (u64)(want);                                \
		check(got_ == want_, "%s (got %#lx, want %#lx)", what, got_, want_);       \
	})
void skip(const char *what, const char *why);
__attribute__((noreturn)) void guest_exit(bool pass);
__attribute__((noreturn)) void debug_exit(u8 v);

/* The test program's body; its checks decide PASS or FAIL. */
void test_main(void);

/* Memory and devices. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
u64 *paging_pte(u64 va);   /* splits va's 2 MiB page; returns its 4 KiB PTE */
void paging_flush(void);
bool testdev_present(void);
u32 lapic_read(u32 reg);
void lapic_write(u32 reg, u32 v);
void lapic_enable(void);
void lapic_eoi(void);
/* IOAPIC registers through IOREGSEL/IOWIN (82093AA datasheet 3.1, 3.2.4). */
#define IOREDTBL(pin) (0x10 + 2 * (pin))
u32 ioapic_read(u32 reg);
void ioapic_write(u32 reg, u32 v);
/* Spins with IF=1 until *count >= want or spins ran out. WAIT_LONG for an
 * interrupt that must come, WAIT_SHORT to see that no other one does. */
bool wait_count(volatile u64 *count, u64 want, u64 spins);
#define WAIT_LONG 1000000
#define WAIT_SHORT 20000

/* CPUID.0's vendor string ("GenuineIntel", "AuthenticAMD"); prints
 * "# vendor NAME", which the runner checks for NAME@intel and NAME@amd. */
const char *cpu_vendor(void);
static inline bool cpu_is_amd(void)
{
	return !strcmp(cpu_vendor(), "AuthenticAMD");
}

/* The value of "key=N" (decimal) on the multiboot command line, or def. */
u64 cmdline_u64(const char *key, u64 def);

/* SMP (lib/smp.c; Intel SDM Vol. 3A "MP Initialization Example"): CPU n
 * has APIC id n. Each CPU has its own TSS (selector SEL_TSS + 16 * cpu)
 * and stacks; the IDT, GDT and page tables are shared. */
#define SMP_MAX_CPUS 8
struct __attribute__((packed)) tss64 { /* 64-bit TSS, Intel SDM Vol. 3A 7.7 */
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
};
/* Loads the shared GDT and IDT and CPU cpu's TSS t (filled here). */
void cpu_tables_load(unsigned cpu, struct tss64 *t, void *ist1_top, void *rsp0_top);
/* This CPU's number, from its task register (0 before smp_start). */
static inline unsigned smp_cpu(void)
{
	u16 tr;
	asm volatile("str %0" : "=r"(tr));
	return tr >= SEL_TSS ? (unsigned)(tr - SEL_TSS) / 16 : 0;
}
typedef void (*smp_fn)(unsigned cpu);
/* Starts CPUs 1..n-1 with INIT-SIPI-SIPI; each runs fn(cpu) with its LAPIC
 * software-enabled and IF=0, then counts itself in smp_done and halts.
 * Returns how many CPUs run (the BSP included): n unless some never came. */
unsigned smp_start(unsigned n, smp_fn fn);
extern volatile u64 smp_done;
/* Sends an IPI: icr_lo to APIC id dest (ignored with a shorthand), then
 * waits until the LAPIC has sent it. */
void lapic_ipi(u32 dest, u32 icr_lo);

/* Ring 3 (lib/ring3.c). ring3_init() makes .user.text/.user.data user pages
 * (U/S = 1; ring3_run() calls it), ring3_run() enters CPL 3 at rip (in
 * .user.text) with RBX = rbx, a
 * user stack, RFLAGS = 2, and returns the user's RAX once the user code
 * jumps to ring3_exit, which INTs through RING3_EXIT_VECTOR (a DPL 3 gate
 * whose raw handler turns it into the return, counting no trap). For a
 * fault expected in ring 3, set trap_resume = (u64)ring3_exit first. */
#define RING3_EXIT_VECTOR 0x81
void ring3_init(void);
u64 ring3_run(const void *rip, u64 rbx);
extern char ring3_exit[];
extern u64 ring3_rflags; /* the user's RFLAGS at ring3_exit */

/* CPUID feature check for programs about an optional feature: true when
 * present. When absent the soft engine (which must offer it) fails the check
 * and another CPU (KVM shows the host's) gets a note, no verdict. */
bool cpu_feature(const char *name, bool present);

/* Saved by lib/entry.S at the multiboot entry, before anything changed. */
extern u32 mb_magic, mb_info, mb_entry_cr0, mb_entry_eflags;
extern char __image_start[], __image_end[];

#endif
