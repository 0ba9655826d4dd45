/* Zydis (Debian's libzydis-dev) for the tests that check our x86 decoding and
 * encoding against an independent decoder. Loaded with dlopen, so the tests
 * need no link flag and run (skipping honestly) where it is missing. */
#ifndef POPEK_TEST_ZYDIS_LOADER_H
#define POPEK_TEST_ZYDIS_LOADER_H

#include <dlfcn.h>
#include <stdio.h>

#if __has_include(<Zydis/Zydis.h>)
#include <Zydis/Zydis.h>
#define HAVE_ZYDIS 1

typedef ZyanStatus zy_init_fn(ZydisDecoder *, ZydisMachineMode, ZydisStackWidth);
typedef ZyanStatus zy_decode_fn(const ZydisDecoder *, ZydisDecoderContext *, const void *,
				ZyanUSize, ZydisDecodedInstruction *);
typedef ZyanStatus zy_decode_full_fn(const ZydisDecoder *, const void *, ZyanUSize,
				     ZydisDecodedInstruction *, ZydisDecodedOperand *);
typedef ZyanStatus zy_fmt_init_fn(ZydisFormatter *, ZydisFormatterStyle);
typedef ZyanStatus zy_fmt_fn(const ZydisFormatter *, const ZydisDecodedInstruction *,
			     const ZydisDecodedOperand *, ZyanU8, char *, ZyanUSize, ZyanU64,
			     void *);

struct zy {
	void *lib;
	zy_init_fn *init;
	zy_decode_fn *decode;
	zy_decode_full_fn *decode_full;
	zy_fmt_init_fn *fmt_init;
	zy_fmt_fn *fmt;
};

/* 0: loaded; 1: no libZydis on this host (the test skips); -1: a libZydis
 * that this build cannot use (the test fails: it would compare nothing). */
static inline int zy_open(struct zy *z, char *why, size_t whylen)
{
	ZyanU64 (*version)(void);

	z->lib = dlopen("libZydis.so.4.0", RTLD_NOW);
	if (!z->lib)
		z->lib = dlopen("libZydis.so", RTLD_NOW);
	if (!z->lib) {
		snprintf(why, whylen, "%s", dlerror());
		return 1;
	}
	version = (ZyanU64(*)(void))dlsym(z->lib, "ZydisGetVersion");
	z->init = (zy_init_fn *)dlsym(z->lib, "ZydisDecoderInit");
	z->decode = (zy_decode_fn *)dlsym(z->lib, "ZydisDecoderDecodeInstruction");
	z->decode_full = (zy_decode_full_fn *)dlsym(z->lib, "ZydisDecoderDecodeFull");
	z->fmt_init = (zy_fmt_init_fn *)dlsym(z->lib, "ZydisFormatterInit");
	z->fmt = (zy_fmt_fn *)dlsym(z->lib, "ZydisFormatterFormatInstruction");
	if (!version || !z->init || !z->decode || !z->decode_full || !z->fmt_init || !z->fmt) {
		snprintf(why, whylen, "libZydis lacks the Zydis 4 decoder API");
		return -1;
	}
	/* The structures are laid out as the headers built in here say. */
	if (ZYDIS_VERSION_MAJOR(version()) != ZYDIS_VERSION_MAJOR(ZYDIS_VERSION) ||
	    ZYDIS_VERSION_MINOR(version()) != ZYDIS_VERSION_MINOR(ZYDIS_VERSION)) {
		snprintf(why, whylen, "libZydis %u.%u, built against headers %u.%u",
			 ZYDIS_VERSION_MAJOR(version()), ZYDIS_VERSION_MINOR(version()),
			 ZYDIS_VERSION_MAJOR(ZYDIS_VERSION), ZYDIS_VERSION_MINOR(ZYDIS_VERSION));
		return -1;
	}
	return 0;
}
#endif

#endif
