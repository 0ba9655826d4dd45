/* CPUID: advertises exactly what the soft engine implements, in the form the
 * modelled vendor uses (Intel SDM Vol. 2A CPUID; AMD APM Vol. 3 Appendix E;
 * KVM's leaves per Linux Documentation/virt/kvm/x86/cpuid.rst). */
#include <string.h>

#include "core/machine.h"
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/pv/pv.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vendor.h"
#include "cpu/soft/vm.h"

enum { EAX, EBX, ECX, EDX };

#define SOFT_MAX_HV 0x40000010u

/* Table key of leaf 7 subleaf 2 (the other leaves use subleaf 0). */
#define LEAF_7_2 0x70002u

/* Which vendors' CPUID shows a feature bit. */
enum { V_BOTH, V_INTEL, V_AMD };

struct cpuid_feature {
	u32 leaf;
	u8 reg, bit, vendors;
};

/* Every feature bit the soft engine sets, with the file that implements it.
 * A bit goes here only once its implementation exists. The fourth column
 * limits a bit to one vendor's form of CPUID. */
static const struct cpuid_feature soft_features[] = {
    {1, EDX, 0, V_BOTH},   /* FPU: x87 (fpu_x87.c, fpu_env.c) */
    {1, EDX, 3, V_BOTH},   /* PSE: 4 MiB pages, mmu.c */
    {1, EDX, 4, V_BOTH},   /* TSC: RDTSC, tsc.c */
    {1, EDX, 5, V_BOTH},   /* MSR: RDMSR/WRMSR, msr.c */
    {1, EDX, 6, V_BOTH},   /* PAE: mmu.c, cr.c (PDPTE registers) */
    {1, EDX, 8, V_BOTH},   /* CX8: CMPXCHG8B, interpreter (move.c grp9) */
    {1, EDX, 9, V_BOTH},   /* APIC: lapic.c */
    {1, EDX, 11, V_BOTH},  /* SEP: SYSENTER/SYSEXIT, fastsys.c */
    {1, EDX, 12, V_BOTH},  /* MTRR: msr.c */
    {1, EDX, 13, V_BOTH},  /* PGE: global pages, mmu.c/tlb.c */
    {1, EDX, 15, V_BOTH},  /* CMOV: interpreter (move.c) */
    {1, EDX, 16, V_BOTH},  /* PAT: msr.c (no effect on caching) */
    {1, EDX, 17, V_BOTH},  /* PSE-36: mmu.c (4 MiB pages above 4 GiB) */
    {1, EDX, 19, V_BOTH},  /* CLFSH: CLFLUSH, interpreter (grp15) */
    {1, EDX, 23, V_BOTH},  /* MMX: simd.c (host-executed, see simd_host.c) */
    {1, EDX, 24, V_BOTH},  /* FXSR: FXSAVE/FXRSTOR, interpreter (grp15) */
    {1, EDX, 25, V_BOTH},  /* SSE: simd.c (host-executed, see simd_host.c) */
    {1, EDX, 26, V_BOTH},  /* SSE2: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 0, V_BOTH},   /* SSE3: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 1, V_BOTH},   /* PCLMULQDQ: simd.c (host-executed) */
    {1, ECX, 9, V_BOTH},   /* SSSE3: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 13, V_BOTH},  /* CX16: CMPXCHG16B, interpreter (move.c grp9) */
    {1, ECX, 17, V_BOTH},  /* PCID: cr.c (no INVPCID: Linux does without) */
    {1, ECX, 19, V_BOTH},  /* SSE4.1: simd.c (host-executed, see simd_host.c) */
    {1, ECX, 20, V_BOTH},  /* SSE4.2: interpreter (sse_*.c, CRC32 in move.c) */
    {1, ECX, 21, V_BOTH},  /* x2APIC: lapic.c (MSRs 0x800-0x8ff via msr.c) */
    {1, ECX, 22, V_BOTH},  /* MOVBE: interpreter (move.c) */
    {1, ECX, 23, V_BOTH},  /* POPCNT: interpreter (bit.c) */
    {1, ECX, 24, V_BOTH},  /* TSC-deadline: lapic.c (MSR 0x6e0 via msr.c) */
    {1, ECX, 25, V_BOTH},  /* AES-NI: simd.c (host-executed) */
    {1, ECX, 31, V_BOTH},  /* hypervisor present */
    {6, EAX, 2, V_BOTH},   /* ARAT: the LAPIC timer runs in HLT, lapic.c */
    {7, EBX, 7, V_BOTH},   /* SMEP: mmu.c (CR4.SMEP, cr.c) */
    {7, EBX, 9, V_BOTH},   /* ERMS: REP MOVSB/STOSB fast path, interpreter (string.c) */
    {7, EBX, 20, V_BOTH},  /* SMAP: mmu.c (CR4.SMAP, EFLAGS.AC), STAC/CLAC in system_desc.c */
    {7, ECX, 2, V_BOTH},   /* UMIP: SGDT SIDT SLDT SMSW STR at CPL > 0, system_desc.c */
    {7, ECX, 3, V_BOTH},   /* PKU: mmu.c (CR4.PKE), RDPKRU/WRPKRU in system_desc.c */
    {7, EDX, 4, V_BOTH},   /* FSRM: same fast path for short copies (string.c) */
    {7, EDX, 26, V_INTEL}, /* IBRS/IBPB: SPEC_CTRL/PRED_CMD as no-ops (no speculation), msr.c */
    {7, EDX, 29, V_INTEL}, /* IA32_ARCH_CAPABILITIES: msr.c */
    {LEAF_7_2, EDX, 4, V_INTEL},   /* BHI_CTRL: SPEC_CTRL.BHI_DIS_S accepted, msr.c */
    {0x80000001, ECX, 0, V_BOTH},  /* LAHF/SAHF in 64-bit mode: interpreter (move.c) */
    {0x80000001, ECX, 5, V_BOTH},  /* LZCNT (ABM): interpreter (bit.c, F3 0F BD) */
    {0x80000001, EDX, 11, V_BOTH}, /* SYSCALL/SYSRET: fastsys.c */
    {0x80000001, EDX, 20, V_BOTH}, /* NX: mmu.c (EFER.NXE, msr.c) */
    {0x80000001, EDX, 26, V_BOTH}, /* 1 GiB pages: mmu.c */
    {0x80000001, EDX, 27, V_BOTH}, /* RDTSCP: interpreter (grp7) + tsc.c, TSC_AUX in msr.c */
    {0x80000001, EDX, 29, V_BOTH}, /* LM: IA-32e mode, cr.c/mmu.c/seg.c */
    {0x80000007, EDX, 8, V_BOTH},  /* invariant TSC: tsc.c (1 GHz from CLOCK_MONOTONIC) */
    /* AMD's speculation controls and "not affected" bits (APM Vol. 3 E.4.7,
     * E.4.21): this CPU does not speculate, so Linux needs no retpolines,
     * return thunks or buffer clearing (each costs interpreted instructions). */
    {0x80000008, EBX, 12, V_AMD}, /* IBPB: PRED_CMD, msr.c */
    {0x80000008, EBX, 14, V_AMD}, /* IBRS: SPEC_CTRL, msr.c */
    {0x80000008, EBX, 15, V_AMD}, /* STIBP: SPEC_CTRL, msr.c */
    {0x80000008, EBX, 26, V_AMD}, /* SSB_NO */
    {0x80000008, EBX, 30, V_AMD}, /* IBPB_RET: IBPB also clears return predictions */
    {0x80000021, EAX, 0, V_AMD},  /* NoNestedDataBp */
    {0x80000021, EAX, 2, V_AMD},  /* LFENCE always serializing */
    {0x80000021, EAX, 6, V_AMD},  /* null selector clears base: seg.c */
    {0x80000021, EAX, 8, V_AMD},  /* Automatic IBRS: EFER.AIBRSE accepted, msr.c */
    {0x80000021, EAX, 29, V_AMD}, /* SRSO_NO */
    {0x80000021, ECX, 1, V_AMD},  /* TSA_SQ_NO */
    {0x80000021, ECX, 2, V_AMD},  /* TSA_L1_NO */
};

static u32 feature_word(const struct soft_cpu *cpu, u32 leaf, unsigned reg)
{
	unsigned mine = cpu->vendor == CPU_VENDOR_AMD ? V_AMD : V_INTEL;
	u32 v = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(soft_features); i++) {
		const struct cpuid_feature *f = &soft_features[i];
		if (f->leaf == leaf && f->reg == reg &&
		    (f->vendors == V_BOTH || f->vendors == mine))
			v |= 1u << f->bit;
	}
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

	bool amd = cpu->vendor == CPU_VENDOR_AMD;

	switch (leaf) {
	case 0:
		out[EAX] = soft_vendor_id(cpu)->max_basic;
		put_str(out, soft_vendor_id(cpu)->cpuid_name, vendor_regs, 3);
		break;
	case 1:
		out[EAX] = soft_vendor_id(cpu)->signature;
		/* CLFLUSH line 8*8 bytes, logical processor ids, initial APIC id. */
		out[EBX] = (8u << 8) | ((1u << order_of(n)) << 16) | (cpu->id << 24);
		out[ECX] = feature_word(cpu, 1, ECX);
		out[EDX] = feature_word(cpu, 1, EDX) | (n > 1 ? 1u << 28 : 0); /* HTT */
		/* A globally disabled APIC is not there (SDM Vol. 3A 10.4.3); AMD's
		 * copy in 0x8000_0001 follows (leaf_ext). */
		if (cpu->lapic && !(soft_lapic_get_base(cpu->lapic) & SOFT_APIC_BASE_EN))
			out[EDX] &= ~(1u << 9);
		/* SIMD instructions run on the host's own units: offer only those it has. */
		{
			const u32 simd_ecx =
			    1u << 0 | 1u << 1 | 1u << 9 | 1u << 19 | 1u << 20 | 1u << 25;
			const u32 simd_edx = 1u << 0 | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26;
			u32 host_ecx, host_edx;

			soft_simd_cpuid(&host_ecx, &host_edx);
			out[ECX] &= ~simd_ecx | host_ecx;
			out[EDX] &= ~simd_edx | host_edx;
		}
		break;
	case 2: /* Intel only, as leaf 4 (AMD describes caches in 0x8000_0005/6) */
		if (!amd)
			out[EAX] = 1; /* no descriptors: see leaf 4 */
		break;
	case 4:
		if (!amd)
			cache_leaf(cpu, sub, out);
		break;
	case 6:
		out[EAX] = feature_word(cpu, 6, EAX);
		break;
	case 7:
		if (sub == 0) {
			out[EAX] = 2; /* highest subleaf */
			out[EBX] = feature_word(cpu, 7, EBX);
			out[ECX] = feature_word(cpu, 7, ECX);
			if (cpu->cr4 & X86_CR4_PKE)
				out[ECX] |= 1u << 4; /* OSPKE: mirrors CR4.PKE */
			out[EDX] = feature_word(cpu, 7, EDX);
		} else if (sub == 2) {
			out[EDX] = feature_word(cpu, LEAF_7_2, EDX);
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

/* CPUID.1:EDX bits AMD repeats in 0x8000_0001 EDX (APM Vol. 3 E.4.2): FPU
 * to APIC (0-9), MTRR to PSE36 (12-17), MMX, FXSR. */
#define AMD_EXT_MIRROR 0x0183f3ffu

static void leaf_ext(struct soft_cpu *cpu, u32 leaf, u32 out[4])
{
	static const char brand[48] = "popek soft x86-64 CPU";
	static const u8 regs[4] = {EAX, EBX, ECX, EDX};
	bool amd = cpu->vendor == CPU_VENDOR_AMD;
	unsigned n = nr_cpus(cpu);
	u32 basic[4];

	switch (leaf) {
	case 0x80000000:
		out[EAX] = soft_vendor_id(cpu)->max_ext;
		if (amd)
			put_str(out, soft_vendor_id(cpu)->cpuid_name, (const u8[]){EBX, EDX, ECX},
				3);
		break;
	case 0x80000001:
		out[ECX] = feature_word(cpu, leaf, ECX);
		out[EDX] = feature_word(cpu, leaf, EDX);
		if (amd) {
			leaf_basic(cpu, 1, 0, basic);
			out[EAX] = basic[EAX];
			out[EDX] |= basic[EDX] & AMD_EXT_MIRROR;
			if (n > 1)
				out[ECX] |= 1u << 1; /* CmpLegacy: the HTT count is cores */
		}
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		put_str(out, brand + 16 * (leaf - 0x80000002), regs, 4);
		break;
	case 0x80000005:
		/* AMD L1 caches and TLBs: 32 KiB 8-way, 64-byte lines, one line
		 * per tag; fully associative 64-entry TLBs (APM Vol. 3 E.4.4). */
		if (amd) {
			out[EAX] = 0xff40ff40u;
			out[EBX] = 0xff40ff40u;
			out[ECX] = out[EDX] = (32u << 24) | (8u << 16) | (1u << 8) | 64;
		}
		break;
	case 0x80000006:
		/* L2 1 MiB, 16-way (encoded 8), 64-byte lines; AMD adds L3 in
		 * EDX: 16 MiB in 512 KiB units, 16-way. */
		out[ECX] = (1024u << 16) | (8u << 12) | 64;
		if (amd)
			out[EDX] = (32u << 18) | (8u << 12) | 64;
		break;
	case 0x80000007:
		out[EDX] = feature_word(cpu, leaf, EDX);
		break;
	case 0x80000008:
		out[EAX] = SOFT_MAXPHYADDR | (SOFT_VADDR_BITS << 8);
		out[EBX] = feature_word(cpu, leaf, EBX);
		/* AMD: cores in the package - 1 and the APIC id bits they take. */
		if (amd)
			out[ECX] = (n - 1) | (order_of(n) << 12);
		break;
	case 0x80000021:
		out[EAX] = feature_word(cpu, leaf, EAX);
		out[ECX] = feature_word(cpu, leaf, ECX);
		break;
	}
}

static void leaf_hv(const struct soft_cpu *cpu, u32 leaf, u32 out[4])
{
	static const u8 sig_regs[3] = {EBX, ECX, EDX};

	switch (leaf) {
	case 0x40000000:
		out[EAX] = SOFT_MAX_HV;
		put_str(out, "KVMKVMKVM\0\0\0", sig_regs, 3);
		break;
	case 0x40000001:
		/* kvmclock (tsc.c) and the PV features this VM offers (pv.h). */
		out[EAX] = soft_pv_features(cpu);
		break;
	case 0x40000010:
		out[EAX] = SOFT_TSC_KHZ;
		out[EBX] = (u32)(SOFT_LAPIC_BUS_HZ / 1000);
		break;
	}
}

static void cpuid_model(struct soft_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4])
{
	memset(out, 0, 4 * sizeof(u32));
	if (leaf >= 0x40000000 && leaf <= 0x4fffffff) {
		if (leaf <= SOFT_MAX_HV)
			leaf_hv(cpu, leaf, out);
		return;
	}
	if (leaf >= 0x80000000 && leaf <= soft_vendor_id(cpu)->max_ext) {
		leaf_ext(cpu, leaf, out);
		return;
	}
	/* Beyond the maximum Intel returns the highest basic leaf's data (SDM
	 * Vol. 2A CPUID), AMD zeros (APM Vol. 3 E.2). */
	if (leaf > soft_vendor_id(cpu)->max_basic) {
		if (cpu->vendor == CPU_VENDOR_AMD)
			return;
		leaf = soft_vendor_id(cpu)->max_basic;
	}
	leaf_basic(cpu, leaf, subleaf, out);
}

/* The model's answer, then a Firecracker CPU template's CPUID modifiers
 * (PUT /cpu-config), in order: each sets the bits of its mask in its
 * register for its leaf, and subleaf when flagged significant. */
void soft_cpuid(struct soft_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4])
{
	const struct vm_config *cfg;

	cpuid_model(cpu, leaf, subleaf, out);
	if (!cpu->vm || !cpu->vm->m) /* unit tests' bare vCPUs */
		return;
	cfg = &cpu->vm->m->cfg;
	for (unsigned i = 0; i < cfg->nr_cpuid_mods; i++) {
		const struct cpuid_mod *m = &cfg->cpuid_mods[i];
		if (m->leaf != leaf || (m->subleaf_significant && m->subleaf != subleaf))
			continue;
		out[m->reg & 3] = (out[m->reg & 3] & ~m->mask) | (m->value & m->mask);
	}
}
