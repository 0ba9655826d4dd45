/* Oracle forms: MMX (and the SSE/SSE2/SSSE3 additions on MM registers) and
 * EMMS, compared through FXSAVE with MM0-7, TOS and the tag word (Intel SDM
 * Vol. 1 9.5: MMX instructions set TOS to 0 and all tags valid). */
#include <stdio.h>
#include <string.h>

#include "oracle/oracle.h"

struct mmx_def {
	const char *name;
	u8 map, op;
	s8 digit;
	u8 rm, msize, imm, size, kind;
	enum oracle_feature feat;
};

#define MB(n, op)                                                                                  \
	{                                                                                          \
		n, 1, op, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_MMX                                    \
	}
#define MS(n, op)                                                                                  \
	{                                                                                          \
		n, 1, op, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE                                    \
	}
#define M2(n, op)                                                                                  \
	{                                                                                          \
		n, 1, op, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE2                                   \
	}
#define M38(n, op)                                                                                 \
	{                                                                                          \
		n, 2, op, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSSE3                                  \
	}
#define MI(n, op, d)                                                                               \
	{                                                                                          \
		n, 1, op, d, RM_REG, 8, 1, 4, K_NONE, FEAT_MMX                                     \
	}

static const struct mmx_def mmx_defs[] = {
    MB("punpcklbw", 0x60),
    MB("punpcklwd", 0x61),
    MB("punpckldq", 0x62),
    MB("packsswb", 0x63),
    MB("pcmpgtb", 0x64),
    MB("pcmpgtw", 0x65),
    MB("pcmpgtd", 0x66),
    MB("packuswb", 0x67),
    MB("punpckhbw", 0x68),
    MB("punpckhwd", 0x69),
    MB("punpckhdq", 0x6a),
    MB("packssdw", 0x6b),
    MB("movq mm,mm/m64 load", 0x6f),
    MB("movq mm/m64,mm store", 0x7f),
    MB("pcmpeqb", 0x74),
    MB("pcmpeqw", 0x75),
    MB("pcmpeqd", 0x76),
    MB("psrlw", 0xd1),
    MB("psrld", 0xd2),
    MB("psrlq", 0xd3),
    MB("pmullw", 0xd5),
    MB("psubusb", 0xd8),
    MB("psubusw", 0xd9),
    MB("pand", 0xdb),
    MB("paddusb", 0xdc),
    MB("paddusw", 0xdd),
    MB("pandn", 0xdf),
    MB("psraw", 0xe1),
    MB("psrad", 0xe2),
    MB("pmulhw", 0xe5),
    MB("psubsb", 0xe8),
    MB("psubsw", 0xe9),
    MB("por", 0xeb),
    MB("paddsb", 0xec),
    MB("paddsw", 0xed),
    MB("pxor", 0xef),
    MB("psllw", 0xf1),
    MB("pslld", 0xf2),
    MB("psllq", 0xf3),
    MB("pmaddwd", 0xf5),
    MB("psubb", 0xf8),
    MB("psubw", 0xf9),
    MB("psubd", 0xfa),
    MB("paddb", 0xfc),
    MB("paddw", 0xfd),
    MB("paddd", 0xfe),
    {"movd mm,rm32", 1, 0x6e, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_MMX},
    {"movq mm,rm64", 1, 0x6e, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_MMX},
    {"movd rm32,mm", 1, 0x7e, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_MMX},
    {"movq rm64,mm", 1, 0x7e, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_MMX},
    MI("psrlw imm", 0x71, 2),
    MI("psraw imm", 0x71, 4),
    MI("psllw imm", 0x71, 6),
    MI("psrld imm", 0x72, 2),
    MI("psrad imm", 0x72, 4),
    MI("pslld imm", 0x72, 6),
    MI("psrlq imm", 0x73, 2),
    MI("psllq imm", 0x73, 6),
    {"emms", 1, 0x77, -1, RM_REG, 8, 0, 4, K_PLAIN, FEAT_MMX},
    {"pshufw", 1, 0x70, -1, RM_ANY, 8, 1, 4, K_NONE, FEAT_SSE},
    {"pinsrw mm", 1, 0xc4, -1, RM_ANY, 2, 1, 4, K_NONE, FEAT_SSE},
    {"pextrw r32,mm", 1, 0xc5, -1, RM_REG, 8, 1, 4, K_NONE, FEAT_SSE},
    {"pmovmskb r32,mm", 1, 0xd7, -1, RM_REG, 8, 0, 4, K_NONE, FEAT_SSE},
    {"movntq", 1, 0xe7, -1, RM_MEM, 8, 0, 4, K_NONE, FEAT_SSE},
    MS("pminub", 0xda),
    MS("pmaxub", 0xde),
    MS("pavgb", 0xe0),
    MS("pavgw", 0xe3),
    MS("pmulhuw", 0xe4),
    MS("pminsw", 0xea),
    MS("pmaxsw", 0xee),
    MS("psadbw", 0xf6),
    M2("paddq", 0xd4),
    M2("pmuludq", 0xf4),
    M2("psubq", 0xfb),
    M38("pshufb", 0x00),
    M38("phaddw", 0x01),
    M38("phaddd", 0x02),
    M38("phaddsw", 0x03),
    M38("pmaddubsw", 0x04),
    M38("phsubw", 0x05),
    M38("phsubd", 0x06),
    M38("phsubsw", 0x07),
    M38("psignb", 0x08),
    M38("psignw", 0x09),
    M38("psignd", 0x0a),
    M38("pmulhrsw", 0x0b),
    M38("pabsb", 0x1c),
    M38("pabsw", 0x1d),
    M38("pabsd", 0x1e),
    {"palignr mm", 3, 0x0f, -1, RM_ANY, 8, 1, 4, K_NONE, FEAT_SSSE3},
};

void forms_mmx_register(struct form_list *l)
{
	static const char *const maps[4] = {"", "0f", "0f 38", "0f 3a"};

	for (unsigned i = 0; i < ARRAY_SIZE(mmx_defs); i++) {
		const struct mmx_def *d = &mmx_defs[i];
		struct oracle_form *f;

		f = form_add(l, gen_sse, "%s (mmx, %s%s %02x%s)", d->name,
			     d->size == 8 ? "rex.w " : "", maps[d->map], d->op,
			     d->digit >= 0 ? " /d" : "");
		f->opc[0] = 0x0f;
		f->nopc = 2;
		if (d->map == 1) {
			f->opc[1] = d->op;
		} else {
			f->opc[1] = d->map == 2 ? 0x38 : 0x3a;
			f->opc[2] = d->op;
			f->nopc = 3;
		}
		f->digit = d->digit, f->rm = d->rm, f->mem_size = d->msize, f->imm = d->imm;
		f->size = d->size, f->kind = d->kind, f->feature = d->feat;
		f->arg = 1;
		f->flags_def = FL_ARITH;
	}
}
