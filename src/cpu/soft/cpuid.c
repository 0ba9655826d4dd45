/* CPUID: advertises exactly what the soft engine implements (Intel SDM
 * Vol. 2A CPUID; KVM's leaves per Linux Documentation/virt/kvm/x86/cpuid.rst). */
#include <string.h>

#include "core/machine.h"
#include "cpu/soft/lapic.h"
#include "cpu/soft/mem.h"
#include "cpu/soft/sys.h"

enum { EAX, EBX, ECX, EDX };

#define SOFT_MAX_BASIC 0x16u
#define SOFT_MAX_EXT   0x80000008u
#define SOFT_MAX_HV    0x40000010u
#define SOFT_SIGNATURE 0x000806f8u /* family 6, model 0x8f, stepping 8 (reset.c) */

/* Table key of leaf 7 subleaf 2 (the other leaves use subleaf 0). */
#define LEAF_7_2 0x70002u

struct cpuid_feature {
	u32 leaf;
	u8 reg, bit;
};

/* Every feature bit the soft engine sets, with the file that implements it.
 * A bit goes here only once its implementation exists. */
static const struct cpuid_feature soft_features[] = {
    {1, EDX, 0},           /* FPU: x87 (fpu_x87.c, fpu_env.c) */
    {1, EDX, 3},           /* PSE: 4 MiB pages, mmu.c */
    {1, EDX, 4},           /* TSC: RDTSC, tsc.c */
    {1, EDX, 5},           /* MSR: RDMSR/WRMSR, msr.c */
    {1, EDX, 6},           /* PAE: mmu.c, cr.c (PDPTE registers) */
    {1, EDX, 8},           /* CX8: CMPXCHG8B, interpreter (move.c grp9) */
    {1, EDX, 9},           /* APIC: lapic.c */
    {1, EDX, 11},          /* SEP: SYSENTER/SYSEXIT, fastsys.c */
    {1, EDX, 12},          /* MTRR: msr.c */
    {1, EDX, 13},          /* PGE: global pages, mmu.c/tlb.c */
    {1, EDX, 15},          /* CMOV: interpreter (move.c) */
    {1, EDX, 16},          /* PAT: msr.c (no effect on caching) */
    {1, EDX, 17},          /* PSE-36: mmu.c (4 MiB pages above 4 GiB) */
    {1, EDX, 19},          /* CLFSH: CLFLUSH, interpreter (grp15) */
    {1, EDX, 23},          /* MMX: simd.c (host-executed, see simd_host.c) */
    {1, EDX, 24},          /* FXSR: FXSAVE/FXRSTOR, interpreter (grp15) */
    {1, EDX, 25},          /* SSE: simd.c (host-executed, see simd_host.c) */
    {1, EDX, 26},          /* SSE2: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 0},           /* SSE3: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 1},           /* PCLMULQDQ: simd.c (host-executed) */
    {1, ECX, 9},           /* SSSE3: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 13},          /* CX16: CMPXCHG16B, interpreter (move.c grp9) */
    {1, ECX, 19},          /* SSE4.1: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 20},          /* SSE4.2: interpreter (sse_*.c, CRC32 in move.c) */
    {1, ECX, 21},          /* x2APIC: lapic.c (MSRs 0x800-0x8ff via msr.c) */
    {1, ECX, 22},          /* MOVBE: interpreter (move.c) */
    {1, ECX, 23},          /* POPCNT: interpreter (bit.c) */
    {1, ECX, 24},          /* TSC-deadline: lapic.c (MSR 0x6e0 via msr.c) */
    {1, ECX, 25},          /* AES-NI: simd.c (host-executed) */
    {1, ECX, 31},          /* hypervisor present */
    {6, EAX, 2},           /* ARAT: the LAPIC timer runs in HLT, lapic.c */
    {7, EBX, 9},           /* ERMS: REP MOVSB/STOSB fast path, interpreter (string.c) */
    {7, EDX, 4},           /* FSRM: same fast path for short copies (string.c) */
    {7, EDX, 26},          /* IBRS/IBPB: SPEC_CTRL/PRED_CMD as no-ops (no speculation), msr.c */
    {7, EDX, 29},          /* IA32_ARCH_CAPABILITIES: msr.c */
    {LEAF_7_2, EDX, 4},    /* BHI_CTRL: SPEC_CTRL.BHI_DIS_S accepted, msr.c */
    {0x80000001, ECX, 0},  /* LAHF/SAHF in 64-bit mode: interpreter (move.c) */
    {0x80000001, ECX, 5},  /* LZCNT (ABM): interpreter (bit.c, F3 0F BD) */
    {0x80000001, EDX, 11}, /* SYSCALL/SYSRET: fastsys.c */
    {0x80000001, EDX, 20}, /* NX: mmu.c (EFER.NXE, msr.c) */
    {0x80000001, EDX, 26}, /* 1 GiB pages: mmu.c */
    {0x80000001, EDX, 27}, /* RDTSCP: interpreter (grp7) + tsc.c, TSC_AUX in msr.c */
    {0x80000001, EDX, 29}, /* LM: IA-32e mode, cr.c/mmu.c/seg.c */
    {0x80000007, EDX, 8},  /* invariant TSC: tsc.c (1 GHz from CLOCK_MONOTONIC) */
};

static u32 feature_word(u32 leaf, unsigned reg)
{
	u32 v = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(soft_features); i++)
		if (soft_features[i].leaf == leaf && soft_features[i].reg == reg)
			v |= 1u << soft_features[i].bit;
	return v;
}

static unsigned nr_cpus(const struct soft_cpu *cpu)
{
	unsigned n = cpu->m ? cpu->m->cfg.nr_cpus : 1;

	return n ? n : 1;
}

/* log2 of the smallest power of two >= n. */
static unsigned order_of(unsigned n)
{
	unsigned o = 0;

	while ((1u << o) < n)
		o++;
	return o;
}

static void put_str(u32 *out, const char *s, const u8 *regs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		memcpy(&out[regs[i]], s + 4 * i, 4);
}

/* Deterministic cache parameters, leaf 4 (SDM Vol. 2A Table 3-8). */
static void cache_leaf(const struct soft_cpu *cpu, u32 sub, u32 out[4])
{
	static const struct {
		u8 type, level;
		u16 ways;
		u32 sets;
		bool shared;
	} caches[] = {
	    {1, 1, 8, 64, false},    /* L1d 32 KiB */
	    {2, 1, 8, 64, false},    /* L1i 32 KiB */
	    {3, 2, 16, 1024, false}, /* L2 1 MiB */
	    {3, 3, 16, 16384, true}, /* L3 16 MiB, shared by the package */
	};
	unsigned n = nr_cpus(cpu), cores = (1u << order_of(n)) - 1;

	if (sub >= ARRAY_SIZE(caches))
		return;
	out[EAX] = caches[sub].type | (caches[sub].level << 5) | (1u << 8) | (cores << 26) |
		   ((caches[sub].shared ? cores : 0) << 14);
	out[EBX] = 63 | ((u32)(caches[sub].ways - 1) << 22);
	out[ECX] = caches[sub].sets - 1;
}

static void leaf_basic(struct soft_cpu *cpu, u32 leaf, u32 sub, u32 out[4])
{
	static const u8 vendor_regs[3] = {EBX, EDX, ECX};
	unsigned n = nr_cpus(cpu);

	switch (leaf) {
	case 0:
		out[EAX] = SOFT_MAX_BASIC;
		put_str(out, "GenuineIntel", vendor_regs, 3);
		break;
	case 1:
		out[EAX] = SOFT_SIGNATURE;
		/* CLFLUSH line 8*8 bytes, logical processor ids, initial APIC id. */
		out[EBX] = (8u << 8) | ((1u << order_of(n)) << 16) | (cpu->id << 24);
		out[ECX] = feature_word(1, ECX);
		out[EDX] = feature_word(1, EDX) | (n > 1 ? 1u << 28 : 0); /* HTT */
		/* SIMD instructions run on the host's own units: offer only those it has. */
		{
			const u32 simd_ecx = 1u << 0 | 1u << 1 | 1u << 9 | 1u << 19 | 1u << 20 |
					     1u << 25;
			const u32 simd_edx = 1u << 0 | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26;
			u32 host_ecx, host_edx;

			soft_simd_cpuid(&host_ecx, &host_edx);
			out[ECX] &= ~simd_ecx | host_ecx;
			out[EDX] &= ~simd_edx | host_edx;
		}
		break;
	case 2:
		out[EAX] = 1; /* no descriptors: see leaf 4 */
		break;
	case 4:
		cache_leaf(cpu, sub, out);
		break;
	case 6:
		out[EAX] = feature_word(6, EAX);
		break;
	case 7:
		if (sub == 0) {
			out[EAX] = 2; /* highest subleaf */
			out[EBX] = feature_word(7, EBX);
			out[ECX] = feature_word(7, ECX);
			out[EDX] = feature_word(7, EDX);
		} else if (sub == 2) {
			out[EDX] = feature_word(LEAF_7_2, EDX);
		}
		break;
	case 0xb:
		/* x2APIC topology (SDM Vol. 3A 8.9.4): one thread per core, all
		 * cores in one package; EDX the x2APIC id. */
		out[ECX] = sub & 0xff;
		out[EDX] = cpu->id;
		if (sub == 0) {
			out[EAX] = 0;
			out[EBX] = 1;
			out[ECX] |= 1u << 8;
		} else if (sub == 1) {
			out[EAX] = order_of(n);
			out[EBX] = n;
			out[ECX] |= 2u << 8;
		}
		break;
	case 0x15:
		/* TSC = crystal * EBX / EAX: a 1 GHz crystal, ratio 1 (tsc.c). */
		out[EAX] = 1;
		out[EBX] = 1;
		out[ECX] = 1000000000u;
		break;
	case 0x16:
		out[EAX] = SOFT_TSC_KHZ / 1000;
		out[EBX] = SOFT_TSC_KHZ / 1000;
		out[ECX] = (u32)(SOFT_LAPIC_BUS_HZ / 1000000);
		break;
	}
}

static void leaf_ext(struct soft_cpu *cpu, u32 leaf, u32 out[4])
{
	static const char brand[48] = "popek soft x86-64 CPU";
	static const u8 regs[4] = {EAX, EBX, ECX, EDX};

	(void)cpu;
	switch (leaf) {
	case 0x80000000:
		out[EAX] = SOFT_MAX_EXT;
		break;
	case 0x80000001:
		out[ECX] = feature_word(leaf, ECX);
		out[EDX] = feature_word(leaf, EDX);
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		put_str(out, brand + 16 * (leaf - 0x80000002), regs, 4);
		break;
	case 0x80000006:
		out[ECX] =
		    (1024u << 16) | (8u << 12) | 64; /* L2 1 MiB, 16-way (8), 64-byte lines */
		break;
	case 0x80000007:
		out[EDX] = feature_word(leaf, EDX);
		break;
	case 0x80000008:
		out[EAX] = SOFT_MAXPHYADDR | (SOFT_VADDR_BITS << 8);
		break;
	}
}

static void leaf_hv(u32 leaf, u32 out[4])
{
	static const u8 sig_regs[3] = {EBX, ECX, EDX};

	switch (leaf) {
	case 0x40000000:
		out[EAX] = SOFT_MAX_HV;
		put_str(out, "KVMKVMKVM\0\0\0", sig_regs, 3);
		break;
	case 0x40000001:
		/* KVM_FEATURE_CLOCKSOURCE2 (3) and CLOCKSOURCE_STABLE_BIT (24): tsc.c. */
		out[EAX] = (1u << 3) | (1u << 24);
		break;
	case 0x40000010:
		out[EAX] = SOFT_TSC_KHZ;
		out[EBX] = (u32)(SOFT_LAPIC_BUS_HZ / 1000);
		break;
	}
}

void soft_cpuid(struct soft_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4])
{
	memset(out, 0, 4 * sizeof(u32));
	if (leaf >= 0x40000000 && leaf <= 0x4fffffff) {
		if (leaf <= SOFT_MAX_HV)
			leaf_hv(leaf, out);
		return;
	}
	if (leaf >= 0x80000000 && leaf <= SOFT_MAX_EXT) {
		leaf_ext(cpu, leaf, out);
		return;
	}
	/* Beyond the maximum: the highest basic leaf's data (SDM Vol. 2A CPUID). */
	if (leaf > SOFT_MAX_BASIC)
		leaf = SOFT_MAX_BASIC;
	leaf_basic(cpu, leaf, subleaf, out);
}
