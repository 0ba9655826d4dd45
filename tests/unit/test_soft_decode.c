/* Soft engine decoder tests: hand-checked encodings in 16/32/64-bit code, and
 * a comparison against Zydis (loaded with dlopen when installed, so that the
 * test needs no extra link flag) over many random byte strings. */
#include <stdlib.h>

#include "test.h"
#include "zydis_loader.h"
#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"

static int dec(unsigned code, const char *hex, struct soft_insn *in)
{
	u8 b[32];
	unsigned n = 0;

	while (hex[0] && hex[1]) {
		if (hex[0] == ' ') {
			hex++;
			continue;
		}
		unsigned v;
		sscanf(hex, "%2x", &v);
		b[n++] = (u8)v;
		hex += 2;
	}
	return soft_decode(b, n, code, in);
}

static void test_decode_simple64(void)
{
	struct soft_insn in;

	CHECK_EQ(dec(8, "90", &in), 0);
	CHECK_EQ(in.len, 1);
	/* mov rax, [rip+0x10] */
	CHECK_EQ(dec(8, "48 8b 05 10 00 00 00", &in), 0);
	CHECK_EQ(in.len, 7);
	CHECK_EQ(in.opsize, 8);
	CHECK(in.rip_rel);
	CHECK_EQ(in.disp, 0x10);
	CHECK_EQ(in.reg, 0);
	/* mov r9d, [r12 + r13*4 - 8] */
	CHECK_EQ(dec(8, "47 8b 4c ac f8", &in), 0);
	CHECK_EQ(in.len, 5);
	CHECK_EQ(in.opsize, 4);
	CHECK_EQ(in.reg, 9);
	CHECK_EQ(in.base, 12);
	CHECK_EQ(in.index, 13);
	CHECK_EQ(in.scale, 4);
	CHECK_EQ(in.disp, (u64)-8);
	CHECK_EQ(in.seg, X86_DS);
	/* mov rax, imm64 */
	CHECK_EQ(dec(8, "48 b8 88 77 66 55 44 33 22 11", &in), 0);
	CHECK_EQ(in.len, 10);
	CHECK_EQ(in.imm, 0x1122334455667788ULL);
	/* push imm8 sign-extended, 64-bit default */
	CHECK_EQ(dec(8, "6a ff", &in), 0);
	CHECK_EQ(in.opsize, 8);
	CHECK_EQ(in.imm, ~0ULL);
	/* push with 66: 16-bit */
	CHECK_EQ(dec(8, "66 50", &in), 0);
	CHECK_EQ(in.opsize, 2);
	/* jmp rel32 ignores 66 on Intel */
	CHECK_EQ(dec(8, "66 e9 00 01 00 00", &in), 0);
	CHECK_EQ(in.len, 6);
	CHECK_EQ(in.opsize, 8);
	/* mov rbp-based: default SS; fs override */
	CHECK_EQ(dec(8, "8b 45 00", &in), 0);
	CHECK_EQ(in.seg, X86_SS);
	CHECK_EQ(dec(8, "64 8b 45 00", &in), 0);
	CHECK_EQ(in.seg, X86_FS);
	CHECK_EQ(dec(8, "2e 8b 45 00", &in), 0); /* CS override ignored */
	CHECK_EQ(in.seg, X86_SS);
	/* REX followed by a legacy prefix is ignored */
	CHECK_EQ(dec(8, "48 66 89 c0", &in), 0);
	CHECK_EQ(in.opsize, 2);
	CHECK_EQ(in.rex, 0);
	/* [rbp] needs disp8; r13 base with mod 0 rm 5 via SIB is disp32 only */
	CHECK_EQ(dec(8, "41 8b 04 25 44 33 22 11", &in), 0);
	CHECK_EQ(in.base, -1);
	CHECK_EQ(in.index, -1);
	CHECK_EQ(in.disp, 0x11223344);
	/* invalid in 64-bit */
	CHECK_EQ(dec(8, "06", &in), -1);
	CHECK_EQ(dec(8, "c5 f8 77", &in), -1); /* VEX */
	/* lock on a register form, on a non-lockable opcode */
	CHECK_EQ(dec(8, "f0 01 c0", &in), -1);
	CHECK_EQ(dec(8, "f0 8b 00", &in), -1);
	CHECK_EQ(dec(8, "f0 01 00", &in), 0);
	CHECK_EQ(dec(8, "f0 83 38 01", &in), -1); /* CMP */
	/* MOV CR: mod ignored */
	CHECK_EQ(dec(8, "0f 20 00", &in), 0);
	CHECK_EQ(in.len, 3);
	CHECK(!in.mem);
	/* FF /2 forced 64, FF /6 default 64, FF /7 undefined */
	CHECK_EQ(dec(8, "ff d0", &in), 0);
	CHECK_EQ(in.opsize, 8);
	CHECK_EQ(dec(8, "ff 30", &in), 0);
	CHECK_EQ(in.opsize, 8);
	CHECK_EQ(dec(8, "ff 38", &in), -1);
	/* test imm for F7 /0 only */
	CHECK_EQ(dec(8, "f7 c0 01 00 00 00", &in), 0);
	CHECK_EQ(in.len, 6);
	CHECK_EQ(dec(8, "f7 d0", &in), 0);
	CHECK_EQ(in.len, 2);
	/* needs more bytes / too long */
	CHECK_EQ(dec(8, "48 8b", &in), -2);
	CHECK_EQ(dec(8, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", &in), 0);
	CHECK_EQ(dec(8, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", &in),
		 SOFT_DECODE_TOO_LONG);
}

static void test_decode_16_32(void)
{
	struct soft_insn in;

	/* mov ax, [bp+si+0x1234] in 16-bit code */
	CHECK_EQ(dec(2, "8b 82 34 12", &in), 0);
	CHECK_EQ(in.len, 4);
	CHECK_EQ(in.opsize, 2);
	CHECK_EQ(in.addrsize, 2);
	CHECK_EQ(in.base, X86_RBP);
	CHECK_EQ(in.index, X86_RSI);
	CHECK_EQ(in.seg, X86_SS);
	CHECK_EQ(in.disp, 0x1234);
	/* mov ax, [0x1234] */
	CHECK_EQ(dec(2, "a1 34 12", &in), 0);
	CHECK_EQ(in.len, 3);
	CHECK_EQ(in.imm, 0x1234);
	CHECK_EQ(dec(2, "8b 06 34 12", &in), 0);
	CHECK_EQ(in.base, -1);
	CHECK_EQ(in.seg, X86_DS);
	/* 32-bit addressing in 16-bit code via 67 */
	CHECK_EQ(dec(2, "67 66 8b 04 24", &in), 0);
	CHECK_EQ(in.len, 5);
	CHECK_EQ(in.opsize, 4);
	CHECK_EQ(in.addrsize, 4);
	CHECK_EQ(in.base, X86_RSP);
	CHECK_EQ(in.seg, X86_SS);
	/* far jmp ptr16:16 and ptr16:32 */
	CHECK_EQ(dec(2, "ea 00 7c 00 00", &in), 0);
	CHECK_EQ(in.len, 5);
	CHECK_EQ(in.imm, 0x7c00);
	CHECK_EQ(in.imm2, 0);
	CHECK_EQ(dec(4, "ea 78 56 34 12 08 00", &in), 0);
	CHECK_EQ(in.len, 7);
	CHECK_EQ(in.imm, 0x12345678);
	CHECK_EQ(in.imm2, 8);
	CHECK_EQ(dec(2, "66 ea 78 56 34 12 08 00", &in), 0);
	CHECK_EQ(in.len, 8);
	/* 32-bit: inc eax is 40; disp32 absolute */
	CHECK_EQ(dec(4, "40", &in), 0);
	CHECK_EQ(in.len, 1);
	CHECK_EQ(dec(4, "8b 05 00 10 00 00", &in), 0);
	CHECK(!in.rip_rel);
	CHECK_EQ(in.base, -1);
	/* LES in 32-bit code; VEX when mod=3 */
	CHECK_EQ(dec(4, "c4 00", &in), 0);
	CHECK_EQ(dec(4, "c4 c0 00", &in), -1);
	/* enter */
	CHECK_EQ(dec(4, "c8 10 00 01", &in), 0);
	CHECK_EQ(in.imm, 16);
	CHECK_EQ(in.imm2, 1);
	/* jcc rel16 in 16-bit code */
	CHECK_EQ(dec(2, "0f 84 fe ff", &in), 0);
	CHECK_EQ(in.len, 4);
	CHECK_EQ(in.imm, (u64)-2);
}

/* ---- Zydis oracle --------------------------------------------------------- */
#ifdef HAVE_ZYDIS

/* Opcodes that Zydis decodes but popek deliberately treats as #UD. */
static bool allowed_ud(const u8 *b, unsigned n, const ZydisDecodedInstruction *zi)
{
	(void)b, (void)n;
	if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return true; /* VEX, EVEX, XOP, 3DNow!, MVEX */
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_VMREAD:
	case ZYDIS_MNEMONIC_VMWRITE:
	case ZYDIS_MNEMONIC_GETSEC:
	case ZYDIS_MNEMONIC_XBEGIN:
	case ZYDIS_MNEMONIC_XABORT:
	case ZYDIS_MNEMONIC_FEMMS:
	case ZYDIS_MNEMONIC_EXTRQ:
	case ZYDIS_MNEMONIC_INSERTQ:
		return true;
	default:
		break;
	}
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_0F && (zi->opcode == 0xa6 || zi->opcode == 0xa7))
		return true; /* VIA PadLock */
	return false;
}

static void gen_random(u8 *b, unsigned n, bool code64)
{
	static const u8 prefixes[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26,
				      0x2e, 0x36, 0x3e, 0x64, 0x65};
	unsigned i = 0;

	for (unsigned k = 0; k < n; k++)
		b[k] = (u8)rand();
	while (i < 4 && rand() % 3 == 0)
		b[i++] = prefixes[rand() % sizeof(prefixes)];
	if (code64 && rand() % 2)
		b[i++] = (u8)(0x40 | (rand() & 15));
	switch (rand() % 8) {
	case 0:
	case 1:
	case 2:
		break;
	case 3:
	case 4:
	case 5:
		b[i] = 0x0f;
		break;
	case 6:
		b[i] = 0x0f;
		b[i + 1] = 0x38;
		break;
	default:
		b[i] = 0x0f;
		b[i + 1] = 0x3a;
		break;
	}
}

static void test_decode_vs_zydis(void)
{
	static const struct {
		unsigned code;
		ZydisMachineMode mode;
		ZydisStackWidth sw;
	} modes[] = {
	    {8, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64},
	    {4, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32},
	    {2, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16},
	};
	unsigned iters = getenv("POPEK_TEST_LONG") ? 2000000 : 200000;
	unsigned both = 0, len_bad = 0, ours_only = 0, zy_only = 0, reported = 0;
	struct zy z;
	char why_open[300];
	int err = zy_open(&z, why_open, sizeof(why_open));

	if (err > 0) {
		TEST_SKIP("libZydis not installed (apt-get install libzydis-dev): %s", why_open);
		return;
	}
	if (err < 0) {
		printf("  %s\n", why_open);
		CHECK(err == 0);
		dlclose(z.lib);
		return;
	}
	srand(1234);
	for (unsigned m = 0; m < ARRAY_SIZE(modes); m++) {
		ZydisDecoder d;
		CHECK_EQ(z.init(&d, modes[m].mode, modes[m].sw), ZYAN_STATUS_SUCCESS);
		for (unsigned it = 0; it < iters; it++) {
			ZydisDecodedInstruction zi;
			struct soft_insn in;
			u8 b[16];
			int r;
			ZyanStatus zs;

			gen_random(b, sizeof(b), modes[m].code == 8);
			r = soft_decode(b, 15, modes[m].code, &in);
			zs = z.decode(&d, NULL, b, 15, &zi);
			bool zok = ZYAN_SUCCESS(zs);
			const char *why = NULL;

			if (r == 0 && zok) {
				both++;
				if (in.len != zi.length) {
					len_bad++;
					why = "length";
				} else if (in.mem && zi.raw.disp.size &&
					   (s64)in.disp != zi.raw.disp.value) {
					why = "displacement";
					len_bad++;
				}
			} else if (zok && !allowed_ud(b, 15, &zi)) {
				zy_only++;
				why = "only zydis decodes it";
			} else if (r == 0 && !zok) {
				ours_only++; /* checked by the handlers (#UD at execution) */
				if (getenv("POPEK_DECODE_HIST") && in.map < 2)
					printf("  ours-only %u %02x /%u mod%u rep%02x p66%d\n",
					       in.map, in.opcode, (in.modrm >> 3) & 7, in.mod,
					       in.rep, in.p66);
			}
			if (why && reported++ < 40) {
				printf("  code%u %s: ours len %d r %d zydis len %u mnem %d:",
				       modes[m].code * 8, why, in.len, r, zi.length, zi.mnemonic);
				for (unsigned k = 0; k < 15; k++)
					printf(" %02x", b[k]);
				printf("\n");
			}
		}
	}
	printf("  zydis: %u agreed, %u mismatches, %u only ours, %u only zydis\n", both, len_bad,
	       ours_only, zy_only);
	CHECK_EQ(len_bad, 0);
	CHECK_EQ(zy_only, 0);
	dlclose(z.lib);
}

#else
static void test_decode_vs_zydis(void)
{
	TEST_SKIP("Zydis headers not installed when this was built (apt-get install libzydis-dev)");
}
#endif

int main(void)
{
	TEST_RUN(test_decode_simple64);
	TEST_RUN(test_decode_16_32);
	TEST_RUN(test_decode_vs_zydis);
	return test_done();
}
