/* Opcode -> handler tables of the interpreter (one-byte and 0F maps; the 0F 38
 * and 0F 3A maps go to the SIMD code except MOVBE/CRC32). */
#include "cpu/soft/exec/exec.h"

/* One opcode row per line reads best here. */
/* clang-format off */
#define ALU6(o) [(o) ... (o) + 3] = soft_op_alu, [(o) + 4 ... (o) + 5] = soft_op_alu_imm_acc

static soft_handler_fn *const tab_1b[256] = {
	ALU6(0x00), ALU6(0x08), ALU6(0x10), ALU6(0x18),
	ALU6(0x20), ALU6(0x28), ALU6(0x30), ALU6(0x38),
	[0x06] = soft_op_push_sreg, [0x07] = soft_op_pop_sreg,
	[0x0e] = soft_op_push_sreg,
	[0x16] = soft_op_push_sreg, [0x17] = soft_op_pop_sreg,
	[0x1e] = soft_op_push_sreg, [0x1f] = soft_op_pop_sreg,
	[0x27] = soft_op_bcd, [0x2f] = soft_op_bcd, [0x37] = soft_op_bcd, [0x3f] = soft_op_bcd,
	[0x40 ... 0x4f] = soft_op_incdec_reg,
	[0x50 ... 0x57] = soft_op_push_reg, [0x58 ... 0x5f] = soft_op_pop_reg,
	[0x60] = soft_op_pusha, [0x61] = soft_op_popa,
	[0x62] = soft_op_bound,
	[0x63] = soft_op_movsxd,
	[0x68] = soft_op_push_imm, [0x69] = soft_op_imul_imm,
	[0x6a] = soft_op_push_imm, [0x6b] = soft_op_imul_imm,
	[0x6c ... 0x6f] = soft_op_string,
	[0x70 ... 0x7f] = soft_op_jcc,
	[0x80 ... 0x83] = soft_op_grp1,
	[0x84 ... 0x85] = soft_op_test, [0x86 ... 0x87] = soft_op_xchg,
	[0x88 ... 0x8b] = soft_op_mov, [0x8c] = soft_op_mov_sreg, [0x8d] = soft_op_lea,
	[0x8e] = soft_op_mov_sreg, [0x8f] = soft_op_pop_rm,
	[0x90 ... 0x97] = soft_op_xchg_acc,
	[0x98] = soft_op_cbw, [0x99] = soft_op_cwd, [0x9a] = soft_op_call_far,
	[0x9b] = soft_op_wait, [0x9c] = soft_op_pushf, [0x9d] = soft_op_popf,
	[0x9e ... 0x9f] = soft_op_lahf_sahf,
	[0xa0 ... 0xa3] = soft_op_mov_moffs, [0xa4 ... 0xa7] = soft_op_string,
	[0xa8 ... 0xa9] = soft_op_test, [0xaa ... 0xaf] = soft_op_string,
	[0xb0 ... 0xbf] = soft_op_mov_imm,
	[0xc0 ... 0xc1] = soft_op_grp2, [0xc2 ... 0xc3] = soft_op_ret,
	[0xc4 ... 0xc5] = soft_op_load_far, [0xc6 ... 0xc7] = soft_op_mov_imm,
	[0xc8] = soft_op_enter, [0xc9] = soft_op_leave, [0xca ... 0xcb] = soft_op_ret_far,
	[0xcc ... 0xce] = soft_op_int, [0xcf] = soft_op_iret,
	[0xd0 ... 0xd3] = soft_op_grp2, [0xd4 ... 0xd5] = soft_op_bcd, [0xd6] = soft_op_salc,
	[0xd7] = soft_op_xlat, [0xd8 ... 0xdf] = soft_op_x87,
	[0xe0 ... 0xe3] = soft_op_loop, [0xe4 ... 0xe7] = soft_op_in_out,
	[0xe8] = soft_op_call_rel, [0xe9] = soft_op_jmp_rel, [0xea] = soft_op_jmp_far,
	[0xeb] = soft_op_jmp_rel, [0xec ... 0xef] = soft_op_in_out,
	[0xf1] = soft_op_int, [0xf4] = soft_op_hlt, [0xf5] = soft_op_flagop,
	[0xf6 ... 0xf7] = soft_op_grp3, [0xf8 ... 0xf9] = soft_op_flagop,
	[0xfa] = soft_op_cli, [0xfb] = soft_op_sti, [0xfc ... 0xfd] = soft_op_flagop,
	[0xfe] = soft_op_grp4, [0xff] = soft_op_grp5,
};

static soft_handler_fn *const tab_0f[256] = {
	[0x00] = soft_op_grp6, [0x01] = soft_op_grp7, [0x02 ... 0x03] = soft_op_lar_lsl,
	[0x05] = soft_op_syscall, [0x06] = soft_op_clts, [0x07] = soft_op_sysret,
	[0x08 ... 0x09] = soft_op_invd, [0x0b] = soft_op_ud, [0x0d] = soft_op_nop,
	[0x10 ... 0x17] = soft_op_simd, [0x18 ... 0x1f] = soft_op_nop,
	[0x20] = soft_op_mov_cr, [0x21] = soft_op_mov_dr, [0x22] = soft_op_mov_cr,
	[0x23] = soft_op_mov_dr,
	[0x28 ... 0x2f] = soft_op_simd,
	[0x30] = soft_op_wrmsr, [0x31] = soft_op_rdtsc, [0x32] = soft_op_rdmsr,
	[0x33] = soft_op_rdpmc, [0x34] = soft_op_sysenter, [0x35] = soft_op_sysexit,
	[0x40 ... 0x4f] = soft_op_cmov,
	[0x50 ... 0x7f] = soft_op_simd,
	[0x80 ... 0x8f] = soft_op_jcc, [0x90 ... 0x9f] = soft_op_setcc,
	[0xa0] = soft_op_push_sreg, [0xa1] = soft_op_pop_sreg, [0xa2] = soft_op_cpuid,
	[0xa3] = soft_op_bt, [0xa4 ... 0xa5] = soft_op_shxd,
	[0xa8] = soft_op_push_sreg, [0xa9] = soft_op_pop_sreg, [0xaa] = soft_op_rsm,
	[0xab] = soft_op_bt, [0xac ... 0xad] = soft_op_shxd, [0xae] = soft_op_grp15,
	[0xaf] = soft_op_imul_reg,
	[0xb0 ... 0xb1] = soft_op_cmpxchg, [0xb2] = soft_op_load_far, [0xb3] = soft_op_bt,
	[0xb4 ... 0xb5] = soft_op_load_far, [0xb6 ... 0xb7] = soft_op_movzx,
	[0xb8] = soft_op_popcnt, [0xb9] = soft_op_ud, [0xba] = soft_op_bt_imm,
	[0xbb] = soft_op_bt, [0xbc ... 0xbd] = soft_op_bsf_bsr,
	[0xbe ... 0xbf] = soft_op_movsx,
	[0xc0 ... 0xc1] = soft_op_xadd, [0xc2] = soft_op_simd, [0xc3] = soft_op_movnti,
	[0xc4 ... 0xc6] = soft_op_simd, [0xc7] = soft_op_grp9,
	[0xc8 ... 0xcf] = soft_op_bswap,
	[0xd0 ... 0xfe] = soft_op_simd, [0xff] = soft_op_ud,
};
/* clang-format on */

static void op_undefined(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_insn_ud(cpu, in);
}

void soft_insn_bind_generic(struct soft_insn *in)
{
	soft_handler_fn *fn = NULL;

	switch (in->map) {
	case SOFT_MAP_1B:
		fn = tab_1b[in->opcode];
		/* 90 is NOP (F3 90: PAUSE) unless REX.B makes it XCHG r8, rAX. */
		if (in->opcode == 0x90 && !(in->rex & 1))
			fn = in->rep == 0xf3 ? soft_op_pause : soft_op_nop;
		break;
	case SOFT_MAP_0F:
		fn = tab_0f[in->opcode];
		break;
	case SOFT_MAP_0F38:
		/* MOVBE, or CRC32 with F2 (SSE4.2); the rest is SIMD. */
		fn = (in->opcode == 0xf0 || in->opcode == 0xf1) && in->rep != 0xf3
			 ? soft_op_movbe_crc32
			 : soft_op_simd;
		break;
	default:
		fn = soft_op_simd;
		break;
	}
	in->exec = fn ? fn : op_undefined;
	/* Unconditional control transfers end a decoded block (interp.c): the
	 * bytes after them are often not code. */
	in->ends_block =
	    !fn || fn == soft_op_jmp_rel || fn == soft_op_call_rel || fn == soft_op_ret ||
	    fn == soft_op_ret_far || fn == soft_op_jmp_far || fn == soft_op_call_far ||
	    fn == soft_op_iret || fn == soft_op_int || fn == soft_op_hlt || fn == soft_op_syscall ||
	    fn == soft_op_sysret || fn == soft_op_sysenter || fn == soft_op_sysexit ||
	    fn == soft_op_ud ||
	    (fn == soft_op_grp5 && ((in->modrm >> 3) & 7) >= 2 && ((in->modrm >> 3) & 7) <= 5);
}

void soft_insn_bind(struct soft_insn *in, unsigned code_size)
{
	soft_insn_bind_generic(in);
	soft_fast_bind(in, code_size);
}
