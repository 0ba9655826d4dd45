/* Differential CPU oracle: shared types of the generators, the native
 * runner, the guest runner and the comparison. */
#ifndef POPEK_ORACLE_H
#define POPEK_ORACLE_H

#include "popek/types.h"

/*
 * One fixed region, mapped at the same address in the host process and in
 * the guest (identity-paged), so that every address an instruction computes
 * or stores is identical in both worlds and all 16 GPRs compare exactly.
 */
#define OR_CODE         0x0000 /* code page; the instruction under test at OR_INSN */
#define OR_INSN         0x0400
#define OR_WINDOW_LO    0x0300 /* [LO, HI) of the code page may hold case code */
#define OR_WINDOW_HI    0x0600
#define OR_STUB         0x1000 /* native prologue/epilogues; guest: exception handlers */
#define OR_STACK        0x2000 /* the stack (compared) */
#define OR_STACK_SIZE   0x1000
#define OR_DATA         0x3000 /* memory operands live here (compared) */
#define OR_DATA_SIZE    0x2000
#define OR_GUARD        0x5000   /* not mapped in either world: page-crossing faults */
#define OR_MEM          OR_STACK /* the compared image: stack then data */
#define OR_MEM_SIZE     (OR_STACK_SIZE + OR_DATA_SIZE)
#define MEM_STACK_OFF   (OR_STACK - OR_MEM)
#define MEM_DATA_OFF    (OR_DATA - OR_MEM)
#define OR_CTL          0x6000 /* native control block; guest: FXSAVE in/out areas */
#define OR_GUEST_FX_IN  (OR_CTL + 0x000)
#define OR_GUEST_FX_OUT (OR_CTL + 0x200)
#define OR_REGION_SIZE  0x9000
#define OR_REGION_ALIGN 0x100000 /* region bases are 1 MiB aligned */

#define OR_MAX_EXITS 4
#define OR_MAX_CODE  48

#define FL_CF    0x001ULL
#define FL_PF    0x004ULL
#define FL_AF    0x010ULL
#define FL_ZF    0x040ULL
#define FL_SF    0x080ULL
#define FL_TF    0x100ULL
#define FL_IF    0x200ULL
#define FL_DF    0x400ULL
#define FL_OF    0x800ULL
#define FL_AC    (1ULL << 18)
#define FL_ID    (1ULL << 21)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };

/* CPUID-advertised features a form may need (bit numbers of a u64 mask). */
enum oracle_feature {
	FEAT_NONE = 0,
	FEAT_CX16,
	FEAT_POPCNT,
	FEAT_LZCNT,
	FEAT_BMI1,
	FEAT_BMI2,
	FEAT_ADX,
	FEAT_MOVBE,
	FEAT_SSE,
	FEAT_SSE2,
	FEAT_SSE3,
	FEAT_SSSE3,
	FEAT_SSE41,
	FEAT_SSE42,
	FEAT_LAHF64,
	FEAT_CMOV,
	FEAT_FXSR,
	FEAT_PCLMUL,
	FEAT_AES,
	FEAT_MMX,
	FEAT_COUNT
};

/* The architectural state the oracle sets and compares (FXSAVE image for SSE). */
struct oracle_state {
	u64 gpr[16];
	u64 rflags;
	u8 fx[512] __attribute__((aligned(16)));
};

/* One test case: code bytes at OR_INSN, inputs, and what counts as defined. */
struct oracle_case {
	u8 code[OR_MAX_CODE];
	unsigned len;
	unsigned nexits;            /* exit 0 is always the fall-through at len */
	int exit_off[OR_MAX_EXITS]; /* offsets from OR_INSN where execution may end */
	bool sse;                   /* load/compare the FXSAVE image */
	bool mmx;                   /* also compare the x87/MMX part of it */
	struct oracle_state in;
	u8 mem[OR_MEM_SIZE]; /* initial data + stack */
	u64 flags_strict;    /* RFLAGS bits compared as failures */
	u64 flags_warn;      /* RFLAGS bits (undefined) compared as warnings */
	u32 gpr_warn;        /* GPRs whose value is undefined: warnings only */
	u32 xmm_tolerance;   /* bit i: XMMi compared with approximation tolerance */
	u64 gs_base;         /* GS.base for GS-prefixed memory operands */
	bool gs_ok;          /* the host can set GS.base (FSGSBASE); set by main */
	int mem_ign_off;     /* >= 0: offset in mem of a u64 whose bits ... */
	u64 mem_ign_bits;    /* ... mem_ign_bits differ between the worlds (PUSHF IF) */
	char note[96];       /* what the generator chose (reg/mem, addressing) */
	/* The CPU the host stands in for: what the engine's CPUID announces, and
	 * the host's own (1 << enum oracle_feature); both set by main. */
	u64 model_features, host_features;
	/* The host runs native_code (same length and exits) instead of code:
	 * the modelled CPU reads code differently from this host. */
	bool native_alt;
	u8 native_code[OR_MAX_CODE];
};

enum oracle_end { END_EXIT, END_EXCEPTION, END_OTHER };

struct oracle_result {
	enum oracle_end end;
	int exit;   /* END_EXIT: index into exit_off */
	int vector; /* END_EXCEPTION */
	u64 fault_rip, fault_rsp, fault_rflags;
	u64 err;
	u64 cr2; /* #PF: the faulting linear address */
	bool has_err;
	char why[160]; /* END_OTHER: description */
	struct oracle_state out;
	const u8 *mem; /* OR_MEM_SIZE bytes after the run */
};

struct oracle_rng {
	u64 s;
};

/* ---- forms (forms_*.c) ------------------------------------------------ */
struct oracle_form;
struct enc;
struct gen_info;
typedef void oracle_gen_fn(const struct oracle_form *f, struct oracle_rng *r, u64 base,
			   struct oracle_case *c);
/* Adjusts a generated case (operand values, flags masks) before encoding. */
typedef void oracle_fixup_fn(const struct oracle_form *f, struct oracle_rng *r, u64 base,
			     struct oracle_case *c, struct enc *e, struct gen_info *gi);

struct oracle_form {
	char name[64];
	oracle_gen_fn *gen;
	u8 size; /* operand size (1, 2, 4, 8), or 16 for XMM forms */
	u8 opc[3];
	u8 nopc;
	u8 pfx;        /* mandatory prefix: 0, 0x66, 0xF2, 0xF3 */
	s8 digit;      /* ModRM.reg opcode extension, or -1 */
	u8 imm;        /* immediate bytes */
	u8 kind;       /* generator-specific */
	u8 rm;         /* RM_REG | RM_MEM: allowed r/m operand kinds */
	u32 arg;       /* generator-specific */
	u64 flags_def; /* defined arithmetic flags */
	/* The CPUID feature the encoding needs: on a CPU that does not announce
	 * it, the encoding raises #UD (each instruction's "#UD If CPUID..." in
	 * Intel SDM Vol. 2; AMD APM Vol. 3). An encoding that means something
	 * else there (F3 0F BC/BD: BSF/BSR) says FEAT_NONE and sorts that out in
	 * its own fixup. */
	enum oracle_feature feature;
	oracle_fixup_fn *fixup;
	u32 avoid;      /* registers not to use for addressing (implicit operands) */
	bool avoid_reg; /* nor the ModRM.reg register (the fixup sets it) */
	bool lockable;  /* LOCK is valid with a memory destination */
	u8 mem_size;    /* memory operand bytes if not size */
	bool run;       /* selected for this run (oracle_main.c) */
	bool expect_ud; /* the engine does not announce feature: every case must #UD */
};

#define RM_REG 1
#define RM_MEM 2
#define RM_ANY (RM_REG | RM_MEM)

struct form_list {
	struct oracle_form *v;
	unsigned n, cap;
};

struct oracle_form *form_add(struct form_list *l, oracle_gen_fn *gen, const char *fmt, ...)
    PRINTF_FMT(3, 4);
void forms_alu_register(struct form_list *l);
void forms_shift_register(struct form_list *l);
void forms_move_register(struct form_list *l);
void forms_misc_register(struct form_list *l);
void forms_string_register(struct form_list *l);
void forms_sse_register(struct form_list *l);
void forms_mmx_register(struct form_list *l);

/* SSE/MMX generator (forms_sse.c): random XMM/MMX state and MXCSR, ModRM
 * operands; kind is one of enum sse_kind, arg 1 for MMX forms. */
enum sse_kind { K_NONE, K_CMP, K_ROUND, K_STR, K_TOL, K_IMM7, K_PLAIN };
void gen_sse(const struct oracle_form *f, struct oracle_rng *r, u64 base, struct oracle_case *c);

/* ---- random values (encode.c) ------------------------------------------ */
u64 rng_next(struct oracle_rng *r);
static inline unsigned rng_below(struct oracle_rng *r, unsigned n)
{
	return (unsigned)(((rng_next(r) >> 32) * n) >> 32);
}
static inline bool rng_chance(struct oracle_rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}
/* A value biased to the edges (0, 1, -1, sign boundaries, powers of two). */
u64 rng_value(struct oracle_rng *r);

/* ---- encoding (encode.c) ------------------------------------------------ */
struct enc_mem {
	int base, index; /* GPR numbers, -1 for none */
	unsigned scale;  /* 0-3 */
	s32 disp;
	unsigned disp_size; /* 0, 1, 4 */
	bool rip_rel;       /* disp computed from target at emit time */
	bool addr32;        /* 0x67 prefix */
	u64 target;         /* effective address */
	bool no_access;     /* LEA, NOP r/m: the address is not accessed */
	bool fault;         /* deliberately at the guard page or non-canonical */
	u64 seg_base;       /* GS.base when GS-prefixed (target is the offset) */
};

struct enc {
	u8 pfx[4];
	unsigned npfx;
	bool rex_w, rex_force;
	bool vex; /* VEX3 (C4) instead of legacy/REX: map from opc[0..] */
	unsigned vex_map, vex_pp, vex_v, vex_w;
	u8 opc[3];
	unsigned nopc;
	bool modrm;
	unsigned reg; /* ModRM.reg (register or digit), 0-15 */
	bool mem;
	unsigned rm; /* register r/m, 0-15 */
	struct enc_mem m;
	u64 imm;
	unsigned imm_size;
	bool no_line_split; /* keep the memory operand inside one cache line */
};

/* Emits e at code offset 0 (address insn_addr) into c->code; sets c->len. */
int enc_emit(const struct enc *e, u64 insn_addr, struct oracle_case *c);

/* ---- generic case set-up (gen.c) --------------------------------------- */
struct gen_info {
	bool mem;
	unsigned reg, rm;
	bool rex; /* a REX prefix is present (byte registers 4-7 are SPL..DIL) */
	u64 ea;
	u32 addr_regs; /* base/index registers of the memory operand */
};

/* Whether writing register reg of size bytes would change the address. */
bool gen_reg_is_addr(const struct gen_info *gi, unsigned reg, unsigned size);

/* Random GPRs, random arithmetic flags (DF sometimes), random data, RSP
 * inside the stack area; all flags strict by default. */
void gen_base_state(struct oracle_rng *r, u64 base, struct oracle_case *c);
/* Chooses a random memory operand at ea (in the data area) avoiding the
 * registers in avoid, and sets the base/index registers to reach it;
 * base_lo is the lowest address RSP may point to when it is the base. */
void gen_mem_operand(struct oracle_rng *r, struct oracle_case *c, u64 ea, u32 avoid,
		     struct enc_mem *m, u64 base_lo);
/* Random ea in the data area such that [ea - margin, ea + size + margin) fits. */
u64 gen_data_ea(struct oracle_rng *r, u64 base, unsigned size, unsigned margin);
/* Fills e's operand-size prefix/REX.W for size, the opcode, and a random r/m
 * operand (kinds), with ModRM.reg = reg. Returns the choice in gi. */
void gen_modrm(struct oracle_rng *r, u64 base, struct oracle_case *c, struct enc *e, unsigned size,
	       unsigned kinds, unsigned reg, u32 avoid, unsigned mem_size, struct gen_info *gi);
u64 gen_reg_get(const struct oracle_case *c, unsigned reg, unsigned size, bool rex);
void gen_reg_set(struct oracle_case *c, unsigned reg, unsigned size, bool rex, u64 v);
bool gen_mem_ok(u64 base, u64 ea, unsigned size);
u64 gen_mem_get(const struct oracle_case *c, u64 base, u64 ea, unsigned size);
void gen_mem_set(struct oracle_case *c, u64 base, u64 ea, unsigned size, u64 v);
u64 gen_rm_get(const struct oracle_case *c, u64 base, const struct gen_info *gi, unsigned size);
void gen_rm_set(struct oracle_case *c, u64 base, const struct gen_info *gi, unsigned size, u64 v);
/* No ModRM: [66][REX.W] opcode [imm]; kind 1: opcode + register. */
void gen_plain(const struct oracle_form *f, struct oracle_rng *r, u64 base, struct oracle_case *c);
/* The generic ModRM form: prefixes, random operands, immediate, fixup. */
void gen_simple(const struct oracle_form *f, struct oracle_rng *r, u64 base, struct oracle_case *c);
/* Appends to the case's note (shown with a failing case). */
void gen_note(struct oracle_case *c, const char *fmt, ...) PRINTF_FMT(2, 3);
/* The case's instruction needs a feature the modelled CPU does not announce
 * (named feature): it must raise #UD and change nothing. The host stands in
 * with UD2 at the same address (c->native_code); every flag is compared. */
void gen_expect_ud(struct oracle_case *c, const char *feature);
/* Finishes: emits e, records a note and the fall-through exit. */
void gen_finish(struct oracle_case *c, const struct enc *e, u64 base, const struct gen_info *gi);
const char *gen_reg_name(unsigned reg, unsigned size, bool rex);

/* ---- the two worlds ----------------------------------------------------- */
struct native_world;
struct guest_world;

int native_create(struct native_world **out);
void native_destroy(struct native_world *nw);
u64 native_base(const struct native_world *nw);
/* Whether the host lets user code set GS.base (WRGSBASE, Linux >= 5.9). */
bool native_gs_ok(const struct native_world *nw);
void native_run(struct native_world *nw, const struct oracle_case *c, struct oracle_result *res);
/* Host CPUID features (mask of 1 << enum oracle_feature). */
u64 native_features(void);
/* Feature mask from CPUID leaves 1 (ECX, EDX), 7.0 (EBX) and 0x80000001 (ECX). */
u64 oracle_features_from_cpuid(u32 l1_ecx, u32 l1_edx, u32 l7_ebx, u32 e1_ecx);
const char *oracle_feature_name(enum oracle_feature f);

/* Returns 0, or -errno with a reason in why when the engine cannot run. */
int guest_create(u64 base, struct guest_world **out, char *why, size_t whylen);
void guest_destroy(struct guest_world *gw);
void guest_run(struct guest_world *gw, const struct oracle_case *c, struct oracle_result *res);
/* Features the engine advertises, by running CPUID in the guest. */
int guest_features(struct guest_world *gw, u64 *mask);

/* Known-answer test of the native side (selftest.c); 0 or -1 with why. */
int oracle_selftest(struct native_world *nw, char *why, size_t whylen);

/* ---- comparison (compare.c) --------------------------------------------- */
struct oracle_verdict {
	bool fail, warn;
	char text[1024]; /* failures */
	char wtext[512]; /* differences in undefined results */
};
void oracle_compare(const struct oracle_case *c, u64 base, const struct oracle_result *want,
		    const struct oracle_result *got, struct oracle_verdict *v);
void oracle_describe_case(const struct oracle_case *c, char *out, size_t outsz);

#endif
