/* The translator's x86-64 emitter (src/cpu/soft/jit/emit.c): every form, for
 * registers that need REX, SIB or a forced displacement, decoded by Zydis (an
 * independent decoder) into Intel syntax and compared with what was meant;
 * hand-checked byte strings for a few where Zydis is missing. */
#include <string.h>

#include "cpu/soft/jit/emit.h"
#include "test.h"
#include "zydis_loader.h"

static u8 buf[64];

static void hex_of(const u8 *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 3 * i, "%02x ", b[i]);
	out[n ? 3 * n - 1 : 0] = 0;
}

/* Hand-checked encodings (Intel SDM Vol. 2A 2.1-2.2), on every host. */
static void test_emit_bytes(void)
{
	struct jit_emit e;
	char got[200];

#define BYTES(stmt, want)                                                                          \
	do {                                                                                       \
		jit_emit_init(&e, buf, sizeof(buf), 0);                                            \
		stmt;                                                                              \
		hex_of(buf, jit_emit_len(&e), got);                                                \
		if (strcmp(got, want))                                                             \
			printf("  %s: got %s, want %s\n", #stmt, got, want);                       \
		CHECK(!strcmp(got, want));                                                         \
	} while (0)
	BYTES(jit_mov_rm(&e, 8, JR_RAX, JR_R15, 0x10), "49 8b 47 10");
	BYTES(jit_mov_mr(&e, 8, JR_RSP, 0, JR_RCX), "48 89 0c 24");
	BYTES(jit_mov_rm(&e, 4, JR_R9, JR_R13, 0), "45 8b 4d 00");
	BYTES(jit_mov_mr(&e, 1, JR_RBX, 0x200, JR_RSI), "40 88 b3 00 02 00 00");
	BYTES(jit_mov_ri(&e, JR_RAX, 0x12345678), "b8 78 56 34 12");
	BYTES(jit_mov_ri(&e, JR_R8, ~0ULL), "49 c7 c0 ff ff ff ff");
	BYTES(jit_alu_mr(&e, JA_ADD, 8, JR_R15, 8, JR_RAX), "49 01 47 08");
	BYTES(jit_alu_ri(&e, JA_SUB, 8, JR_RSP, 8), "48 83 ec 08");
	BYTES(jit_push(&e, JR_R15), "41 57");
	BYTES(jit_ret(&e), "c3");
	BYTES(jit_incdec_m(&e, false, 4, JR_RDX, 0), "ff 02");
	BYTES(jit_incdec_m(&e, true, 8, JR_RDX, 0), "48 ff 0a");
	BYTES(jit_incdec_m(&e, true, 1, JR_RDX, 0), "fe 0a");
#undef BYTES
	/* A buffer too small: marked full, and nothing more is written. */
	jit_emit_init(&e, buf, 3, 0);
	jit_mov_ri(&e, JR_RAX, 1);
	CHECK(e.full);
	jit_ret(&e);
	CHECK(jit_emit_len(&e) < 3);
}

#ifdef HAVE_ZYDIS
static struct zy z;
static ZydisDecoder dec;
static ZydisFormatter fmt;

/* What Zydis makes of the bytes the statement emitted: its instructions in
 * Intel syntax, "; " between them, and they must use every byte. */
static void zydis_text(const u8 *b, size_t n, u64 addr, char *out, size_t outlen)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t off = 0, len = 0;

	out[0] = 0;
	while (off < n && len + 3 < outlen) {
		if (z.decode_full(&dec, b + off, n - off, &in, ops) != ZYAN_STATUS_SUCCESS) {
			snprintf(out + len, outlen - len, "(does not decode)");
			return;
		}
		if (off)
			len += (size_t)snprintf(out + len, outlen - len, "; ");
		z.fmt(&fmt, &in, ops, in.operand_count_visible, out + len, outlen - len,
		      addr + off, NULL);
		len = strlen(out);
		off += in.length;
	}
}

static void test_emit_vs_zydis(void)
{
	struct jit_emit e;
	char text[128];
	unsigned bad = 0, n = 0;
	int err = zy_open(&z, text, sizeof(text));

	if (err > 0) {
		TEST_SKIP("libZydis not installed (apt-get install libzydis-dev): %s", text);
		return;
	}
	CHECK_EQ(err, 0);
	if (err)
		return;
	CHECK_EQ(z.init(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64),
		 ZYAN_STATUS_SUCCESS);
	CHECK_EQ(z.fmt_init(&fmt, ZYDIS_FORMATTER_STYLE_INTEL), ZYAN_STATUS_SUCCESS);
#define SAME(stmt, want)                                                                           \
	do {                                                                                       \
		jit_emit_init(&e, buf, sizeof(buf), 0);                                            \
		stmt;                                                                              \
		zydis_text(buf, jit_emit_len(&e), (u64)(uintptr_t)buf, text, sizeof(text));       \
		n++;                                                                               \
		if (strcmp(text, want)) {                                                          \
			printf("  %s: Zydis reads \"%s\", want \"%s\"\n", #stmt, text, want);      \
			bad++;                                                                     \
		}                                                                                  \
	} while (0)
	SAME(jit_mov_rm(&e, 8, JR_RAX, JR_R15, 0x10), "mov rax, [r15+0x10]");
	SAME(jit_mov_rm(&e, 4, JR_R9, JR_R13, 0), "mov r9d, [r13]");
	SAME(jit_mov_rm(&e, 2, JR_RDX, JR_RBP, -4), "mov dx, [rbp-0x04]");
	SAME(jit_mov_rm(&e, 1, JR_RDI, JR_R12, 0x1000), "mov dil, [r12+0x1000]");
	SAME(jit_mov_mr(&e, 8, JR_RSP, 0, JR_RCX), "mov [rsp], rcx");
	SAME(jit_mov_mr(&e, 1, JR_RBX, 0x200, JR_RSI), "mov [rbx+0x200], sil");
	SAME(jit_mov_mr(&e, 2, JR_R11, -0x80, JR_R10), "mov [r11-0x80], r10w");
	SAME(jit_mov_mi(&e, 8, JR_R15, 0x20, -1), "mov qword ptr [r15+0x20], 0xFFFFFFFFFFFFFFFF");
	SAME(jit_mov_mi(&e, 4, JR_RDI, 4, 0x12345678), "mov dword ptr [rdi+0x04], 0x12345678");
	SAME(jit_mov_mi(&e, 2, JR_RSI, 0, 0x1234), "mov word ptr [rsi], 0x1234");
	SAME(jit_mov_mi(&e, 1, JR_R13, 1, 0x7f), "mov byte ptr [r13+0x01], 0x7F");
	SAME(jit_mov_ri(&e, JR_RAX, 0x12345678), "mov eax, 0x12345678");
	SAME(jit_mov_ri(&e, JR_R8, ~0ULL), "mov r8, 0xFFFFFFFFFFFFFFFF");
	SAME(jit_mov_ri(&e, JR_R14, 0x123456789abcdef0ULL), "mov r14, 0x123456789ABCDEF0");
	SAME(jit_mov_rr(&e, JR_R12, JR_RAX), "mov r12, rax");
	SAME(jit_mov_rr_sz(&e, 4, JR_RSI, JR_R11), "mov esi, r11d");
	SAME(jit_mov_rr_sz(&e, 4, JR_R14, JR_RDI), "mov r14d, edi");
	SAME(jit_lea(&e, JR_RCX, JR_RSP, 0x18), "lea rcx, [rsp+0x18]");
	SAME(jit_alu_mr(&e, JA_ADD, 8, JR_R15, 8, JR_RAX), "add [r15+0x08], rax");
	SAME(jit_alu_mr(&e, JA_CMP, 4, JR_RBX, 0, JR_R9), "cmp [rbx], r9d");
	SAME(jit_alu_mr(&e, JA_XOR, 1, JR_RSP, 2, JR_RSP), "xor [rsp+0x02], spl");
	SAME(jit_alu_rm(&e, JA_SUB, 2, JR_RAX, JR_R14, 0x7fffffff), "sub ax, [r14+0x7FFFFFFF]");
	SAME(jit_alu_rm(&e, JA_SBB, 8, JR_R11, JR_RBP, 0), "sbb r11, [rbp]");
	SAME(jit_alu_ri(&e, JA_AND, 8, JR_RSP, -16), "and rsp, 0xFFFFFFFFFFFFFFF0");
	SAME(jit_alu_ri(&e, JA_OR, 8, JR_R10, 0x1000), "or r10, 0x1000");
	SAME(jit_alu_ri(&e, JA_XOR, 4, JR_RAX, -1), "xor eax, 0xFFFFFFFF");
	SAME(jit_alu_ri(&e, JA_CMP, 4, JR_R9, 0x12345), "cmp r9d, 0x12345");
	SAME(jit_test_mr(&e, 8, JR_RBX, 0x28, JR_RAX), "test [rbx+0x28], rax");
	SAME(jit_test_mr(&e, 4, JR_R15, 0, JR_R8), "test [r15], r8d");
	SAME(jit_test_ri(&e, 8, JR_RCX, 0x80), "test rcx, 0x80");
	SAME(jit_test_ri(&e, 4, JR_R11, -2), "test r11d, 0xFFFFFFFE");
	SAME(jit_test_rr(&e, 8, JR_R9, JR_RSI), "test r9, rsi");
	SAME(jit_test_mi(&e, 8, JR_RDX, 0, 0x100), "test qword ptr [rdx], 0x100");
	SAME(jit_test_mi(&e, 4, JR_R13, 8, -1), "test dword ptr [r13+0x08], 0xFFFFFFFF");
	SAME(jit_movsxd_rm(&e, JR_R14, JR_RDX, 0), "movsxd r14, dword ptr [rdx]");
	SAME(jit_movsxd_rr(&e, JR_RSI, JR_R9), "movsxd rsi, r9d");
	SAME(jit_mov_ri8(&e, JR_RSI, 0x12), "mov sil, 0x12");
	SAME(jit_mov_ri8(&e, JR_R11, 0xff), "mov r11b, 0xFF");
	SAME(jit_movzx_rr(&e, 1, JR_R9, JR_RSI), "movzx r9d, sil");
	SAME(jit_movzx_rr(&e, 1, JR_RSI, JR_R14), "movzx esi, r14b");
	SAME(jit_movzx_rr(&e, 2, JR_RDI, JR_R8), "movzx edi, r8w");
	SAME(jit_imul_rr(&e, 8, JR_R13, JR_RSI), "imul r13, rsi");
	SAME(jit_shift_ri(&e, JS_ROL, 4, JR_RSI, 13), "rol esi, 0x0D");
	SAME(jit_shift_ri(&e, JS_ROR, 8, JR_R14, 7), "ror r14, 0x07");
	SAME(jit_imul_rr(&e, 4, JR_RDI, JR_R11), "imul edi, r11d");
	SAME(jit_cmov_rr(&e, JC_AE, 8, JR_RSI, JR_R15), "cmovnb rsi, r15");
	SAME(jit_cmov_rr(&e, JC_E, 4, JR_R8, JR_RDI), "cmovz r8d, edi");
	SAME(jit_setcc(&e, JC_B, JR_RDI), "setb dil");
	SAME(jit_setcc(&e, JC_NE, JR_R10), "setnz r10b");
	SAME(jit_alu_rr(&e, JA_CMP, 1, JR_RSI, JR_R9), "cmp sil, r9b");
	SAME(jit_alu_ri(&e, JA_AND, 1, JR_RDI, 0x7f), "and dil, 0x7F");
	SAME(jit_test_rr(&e, 1, JR_R8, JR_RDI), "test r8b, dil");
	SAME(jit_test_ri(&e, 1, JR_RSI, 0x80), "test sil, 0x80");
	SAME(jit_test_mi(&e, 1, JR_RDX, 0, 1), "test byte ptr [rdx], 0x01");
	SAME(jit_test_mr(&e, 1, JR_RDX, 0, JR_RSI), "test [rdx], sil");
	SAME(jit_mov_rr_sz(&e, 1, JR_R13, JR_RSI), "mov r13b, sil");
	SAME(jit_mov_rm(&e, 1, JR_RDI, JR_RDX, 0), "mov dil, [rdx]");
	SAME(jit_mov_mr(&e, 1, JR_RDX, 0, JR_RSI), "mov [rdx], sil");
	SAME(jit_alu_mi(&e, JA_CMP, 1, JR_RDX, 0, 0x20), "cmp byte ptr [rdx], 0x20");
	SAME(jit_alu_rm(&e, JA_CMP, 1, JR_RSI, JR_RDX, 0), "cmp sil, [rdx]");
	SAME(jit_test_rr(&e, 4, JR_RDI, JR_R15), "test edi, r15d");
	SAME(jit_alu_mi(&e, JA_ADC, 8, JR_R15, 0x100, 1), "adc qword ptr [r15+0x100], 0x01");
	SAME(jit_alu_mi(&e, JA_CMP, 4, JR_RAX, 0, 0x12345), "cmp dword ptr [rax], 0x12345");
	SAME(jit_alu_mi(&e, JA_SUB, 1, JR_R12, 0, 5), "sub byte ptr [r12], 0x05");
	SAME(jit_alu_mi(&e, JA_AND, 2, JR_RCX, 0, 0x7ff), "and word ptr [rcx], 0x7FF");
	SAME(jit_movzx_rm(&e, 1, JR_RDX, JR_RBX, 0x40), "movzx edx, byte ptr [rbx+0x40]");
	SAME(jit_movzx_rm(&e, 2, JR_R9, JR_R13, 0), "movzx r9d, word ptr [r13]");
	SAME(jit_lea_x(&e, 8, JR_RCX, JR_RCX, JR_RCX, 2, 0), "lea rcx, [rcx+rcx*2]");
	SAME(jit_lea_x(&e, 8, JR_RAX, JR_R13, JR_R9, 8, -8), "lea rax, [r13+r9*8-0x08]");
	SAME(jit_lea_x(&e, 8, JR_R10, JR_RBX, JR_RAX, 4, 0x1000), "lea r10, [rbx+rax*4+0x1000]");
	SAME(jit_lea_x(&e, 4, JR_R9, JR_R13, JR_R14, 1, 0), "lea r9d, [r13+r14*1]");
	SAME(jit_lea_x(&e, 8, JR_RSI, JR_NONE, JR_R13, 4, 0x104000), "lea rsi, [r13*4+0x104000]");
	SAME(jit_lea_x(&e, 4, JR_RAX, JR_NONE, JR_RDI, 8, -16), "lea eax, [rdi*8-0x10]");
	SAME(jit_lea_x(&e, 8, JR_R15, JR_R12, JR_NONE, 1, 0x40), "lea r15, [r12+0x40]");
	SAME(jit_lea_x(&e, 4, JR_RDX, JR_RBP, JR_NONE, 1, 0), "lea edx, [rbp]");
	SAME(jit_lea_x(&e, 8, JR_R8, JR_NONE, JR_NONE, 1, -5), "mov r8, 0xFFFFFFFFFFFFFFFB");
	SAME(jit_lea_x(&e, 4, JR_R8, JR_NONE, JR_NONE, 1, -5), "mov r8d, 0xFFFFFFFB");
	SAME(jit_alu_rr(&e, JA_XOR, 4, JR_RCX, JR_RDX), "xor ecx, edx");
	SAME(jit_alu_rr(&e, JA_ADD, 8, JR_R11, JR_RBX), "add r11, rbx");
	SAME(jit_shift_ri(&e, JS_SHR, 8, JR_RCX, 12), "shr rcx, 0x0C");
	SAME(jit_shift_ri(&e, JS_SHL, 4, JR_R8, 1), "shl r8d, 0x01");
	SAME(jit_shift_ri(&e, JS_SAR, 8, JR_RAX, 63), "sar rax, 0x3F");
	SAME(jit_incdec(&e, false, 4, JR_RAX), "inc eax");
	SAME(jit_incdec(&e, true, 8, JR_R14), "dec r14");
	SAME(jit_op8_ri(&e, 0xf6, 0, J8_AH, 0x40), "test ah, 0x40");
	SAME(jit_alu_ri(&e, JA_AND, 2, JR_RSI, 0x4500), "and si, 0x4500");
	SAME(jit_alu_ri(&e, JA_CMP, 2, JR_R9, -3), "cmp r9w, 0xFFFD");
	SAME(jit_alu_rr(&e, JA_SUB, 2, JR_R14, JR_RDI), "sub r14w, di");
	SAME(jit_test_ri(&e, 2, JR_RDI, 0x45), "test di, 0x45");
	SAME(jit_alu_mi(&e, JA_CMP, 2, JR_RDX_RAX, 0, 0x1234), "cmp word ptr [rdx+rax*1], 0x1234");
	SAME(jit_mov_rm(&e, 2, JR_R11, JR_RDX_RAX, 0), "mov r11w, [rdx+rax*1]");
	SAME(jit_notneg(&e, true, 2, JR_R10), "neg r10w");
	SAME(jit_incdec(&e, false, 2, JR_RSI), "inc si");
	SAME(jit_mul_r(&e, 8, JR_R9), "mul r9");
	SAME(jit_mul_r(&e, 4, JR_RSI), "mul esi");
	SAME(jit_op8_ri(&e, 0x80, JA_AND, J8_AH, 0x45), "and ah, 0x45");
	SAME(jit_op8_ri(&e, 0xc6, 0, J8_BH, 7), "mov bh, 0x07");
	SAME(jit_op8_rr(&e, 0x38, J8_AH, J8_CL), "cmp ah, cl");
	SAME(jit_op8_rr(&e, 0x8a, J8_AL, J8_CH), "mov ch, al");
	SAME(jit_op8_rr(&e, 0x84, J8_DH, J8_AH), "test dh, ah");
	SAME(jit_mov8_ri(&e, J8_CH, 0x80), "mov ch, 0x80");
	/* (Zydis names no size here: test_emit_bytes checks it.) */
	SAME(jit_incdec_m(&e, false, 4, JR_RDX, 0), "inc [rdx]");
	SAME(jit_incdec_m(&e, true, 8, JR_R13, 8), "dec [r13+0x08]");
	SAME(jit_shift_cl(&e, JS_SHR, 8, JR_RSI), "shr rsi, cl");
	SAME(jit_shift_cl(&e, JS_ROL, 8, JR_R13), "rol r13, cl");
	SAME(jit_shift_cl(&e, JS_SHL, 4, JR_R9), "shl r9d, cl");
	SAME(jit_notneg(&e, false, 4, JR_RDI), "not edi");
	SAME(jit_notneg(&e, true, 8, JR_R15), "neg r15");
	SAME(jit_movsx_rr(&e, 1, 4, JR_R9, JR_RSI), "movsx r9d, sil");
	SAME(jit_movsx_rr(&e, 1, 8, JR_RDI, JR_R14), "movsx rdi, r14b");
	SAME(jit_movsx_rr(&e, 2, 8, JR_RSI, JR_R8), "movsx rsi, r8w");
	SAME(jit_movsx_rr(&e, 2, 4, JR_R10, JR_RDI), "movsx r10d, di");
	SAME(jit_movsx_rm(&e, 1, 4, JR_RSI, JR_RDX, 0), "movsx esi, byte ptr [rdx]");
	SAME(jit_movsx_rm(&e, 2, 8, JR_R11, JR_RDX, 0), "movsx r11, word ptr [rdx]");
	SAME(jit_mov_mr(&e, 2, JR_RDX, 0, JR_R9), "mov [rdx], r9w");
	SAME(jit_mov_mi(&e, 2, JR_RDX, 0, 0x1234), "mov word ptr [rdx], 0x1234");
	SAME(jit_mov_rm_x(&e, JR_RDX, JR_RBX, JR_RCX, 0x660), "mov rdx, [rbx+rcx*1+0x660]");
	SAME(jit_mov_rm_x(&e, JR_R9, JR_R13, JR_R10, 0), "mov r9, [r13+r10*1]");
	SAME(jit_alu_rm_x(&e, JA_CMP, JR_RDX, JR_RBX, JR_RCX, 0x640), "cmp rdx, [rbx+rcx*1+0x640]");
	SAME(jit_alu_rm_x(&e, JA_ADD, JR_R8, JR_R12, JR_R11, -8), "add r8, [r12+r11*1-0x08]");
	/* A guest access: [rdx + rax] (JR_RDX_RAX) in every memory form. */
	SAME(jit_mov_rm(&e, 4, JR_R9, JR_RDX_RAX, 0), "mov r9d, [rdx+rax*1]");
	SAME(jit_mov_rm(&e, 1, JR_RSI, JR_RDX_RAX, 0), "mov sil, [rdx+rax*1]");
	SAME(jit_mov_mr(&e, 8, JR_RDX_RAX, 0, JR_R13), "mov [rdx+rax*1], r13");
	SAME(jit_mov_mr(&e, 2, JR_RDX_RAX, 0, JR_RDI), "mov [rdx+rax*1], di");
	SAME(jit_mov_mi(&e, 4, JR_RDX_RAX, 0, -7), "mov dword ptr [rdx+rax*1], 0xFFFFFFF9");
	SAME(jit_movzx_rm(&e, 2, JR_R11, JR_RDX_RAX, 0), "movzx r11d, word ptr [rdx+rax*1]");
	SAME(jit_movsx_rm(&e, 1, 8, JR_RBP, JR_RDX_RAX, 0), "movsx rbp, byte ptr [rdx+rax*1]");
	SAME(jit_movsxd_rm(&e, JR_R8, JR_RDX_RAX, 0), "movsxd r8, dword ptr [rdx+rax*1]");
	SAME(jit_imul_rm(&e, 4, JR_R14, JR_RDX_RAX, 0), "imul r14d, [rdx+rax*1]");
	SAME(jit_imul_rm(&e, 8, JR_RSI, JR_RDX_RAX, 0), "imul rsi, [rdx+rax*1]");
	SAME(jit_alu_mr(&e, JA_OR, 4, JR_RDX_RAX, 0, JR_R10), "or [rdx+rax*1], r10d");
	SAME(jit_alu_rm(&e, JA_CMP, 8, JR_R15, JR_RDX_RAX, 0), "cmp r15, [rdx+rax*1]");
	SAME(jit_alu_mi(&e, JA_ADD, 1, JR_RDX_RAX, 0, 3), "add byte ptr [rdx+rax*1], 0x03");
	SAME(jit_test_mr(&e, 2, JR_RDX_RAX, 0, JR_RCX), "test [rdx+rax*1], cx");
	SAME(jit_test_mi(&e, 8, JR_RDX_RAX, 0, 0x40), "test qword ptr [rdx+rax*1], 0x40");
	SAME(jit_push(&e, JR_RBX), "push rbx");
	SAME(jit_push(&e, JR_R15), "push r15");
	SAME(jit_pop(&e, JR_R9), "pop r9");
	SAME(jit_jmp_m(&e, JR_RSI, 0x30), "jmp [rsi+0x30]");
	SAME(jit_jmp_m(&e, JR_R13, 0), "jmp [r13]");
	SAME(jit_ret(&e), "ret");
	/* A call near the buffer is rel32; the text shows the absolute target. */
	snprintf(text, sizeof(text), "call 0x%016llX", (unsigned long long)(uintptr_t)(buf + 32));
	char want_call[64];
	strcpy(want_call, text);
	SAME(jit_call(&e, buf + 32, JR_RAX), want_call);
	SAME(jit_call(&e, (void *)0x7f0000000000ULL, JR_R11), "mov r11, 0x7F0000000000; call r11");
	/* Forward jumps patched to the current position. */
	jit_emit_init(&e, buf, sizeof(buf), 0);
	u8 *j = jit_jcc_fwd(&e, JC_NE);
	jit_ret(&e);
	jit_patch_here(&e, j);
	snprintf(want_call, sizeof(want_call), "jnz 0x%016llX; ret",
		 (unsigned long long)(uintptr_t)(buf + 7));
	zydis_text(buf, 7, (u64)(uintptr_t)buf, text, sizeof(text));
	if (strcmp(text, want_call))
		printf("  patched jnz: Zydis reads \"%s\", want \"%s\"\n", text, want_call);
	CHECK(!strcmp(text, want_call));
	/* RIP-relative forms (link sites' data): Zydis shows the absolute
	 * address, which must be where the data is. */
	for (unsigned k = 0; k < 4; k++) {
		static const char *const what[] = {"lea r9, [0x%016llX]",
						   "cmp rcx, [0x%016llX]; ret",
						   "mov r13, [0x%016llX]; ret",
						   "mov [0x%016llX], rdx; ret"};
		unsigned long long at = (unsigned long long)(uintptr_t)buf;
		char want[80];

		jit_emit_init(&e, buf, sizeof(buf), 0);
		if (k == 0) {
			jit_lea_rip(&e, JR_R9, buf);
		} else {
			u8 *d = k == 1	 ? jit_alu_r_rip(&e, JA_CMP, JR_RCX)
				: k == 2 ? jit_mov_r_rip(&e, JR_R13)
					 : jit_mov_rip_r(&e, JR_RDX);
			jit_ret(&e);
			jit_patch_data(&e, d, buf + 8); /* the data: just after the ret */
			at += 8;
		}
		snprintf(want, sizeof(want), what[k], at);
		zydis_text(buf, jit_emit_len(&e), (u64)(uintptr_t)buf, text, sizeof(text));
		n++;
		if (strcmp(text, want)) {
			printf("  RIP-relative %u: Zydis reads \"%s\", want \"%s\"\n", k, text, want);
			bad++;
		}
	}
#undef SAME
	printf("  %u encodings compared with Zydis, %u differ\n", n, bad);
	CHECK_EQ(bad, 0);
	dlclose(z.lib);
}
#else
static void test_emit_vs_zydis(void)
{
	TEST_SKIP("Zydis headers not installed (libzydis-dev)");
}
#endif

int main(void)
{
	TEST_RUN(test_emit_bytes);
	TEST_RUN(test_emit_vs_zydis);
	return test_done();
}
