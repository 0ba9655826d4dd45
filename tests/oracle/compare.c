/* Comparison of a native run (the expectation) with an engine run: end of
 * execution, GPRs, RFLAGS under the case's defined-flags mask, the data and
 * stack bytes, and for SSE cases XMM0-15 and MXCSR. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oracle/oracle.h"

#define FX_MXCSR 24
#define FX_XMM   160

static void addf(char *out, size_t outsz, const char *fmt, ...) PRINTF_FMT(3, 4);

static void addf(char *out, size_t outsz, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n + 1 >= outsz)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, outsz - n, fmt, ap);
	va_end(ap);
}

static void describe_end(const struct oracle_result *r, u64 base, char *out, size_t outsz)
{
	switch (r->end) {
	case END_EXIT:
		snprintf(out, outsz, "exit %d", r->exit);
		break;
	case END_EXCEPTION:
		snprintf(out, outsz, "exception %d at insn%+lld", r->vector,
			 (long long)(r->fault_rip - base - OR_INSN));
		break;
	default:
		snprintf(out, outsz, "%s", r->why);
		break;
	}
}

static const char *flag_names(u64 f, char *buf, size_t bufsz)
{
	static const struct {
		u64 bit;
		const char *name;
	} names[] = {{FL_CF, "CF"}, {FL_PF, "PF"}, {FL_AF, "AF"}, {FL_ZF, "ZF"}, {FL_SF, "SF"},
		     {FL_DF, "DF"}, {FL_OF, "OF"}, {FL_AC, "AC"}, {FL_ID, "ID"}};

	buf[0] = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (f & names[i].bit)
			addf(buf, bufsz, "%s%s", buf[0] ? "," : "", names[i].name);
	return buf;
}

/* RCPPS/RSQRTPS-style approximations: relative error within 1.5 * 2^-12
 * (Intel SDM Vol. 2B RCPPS) of the exact value, so two implementations may
 * differ by twice that. */
static bool approx_equal(const u8 *a, const u8 *b)
{
	for (unsigned i = 0; i < 4; i++) {
		float x, y;
		memcpy(&x, a + 4 * i, 4);
		memcpy(&y, b + 4 * i, 4);
		float d = x - y, ax = x < 0 ? -x : x;
		u32 xb, yb;
		memcpy(&xb, &x, 4);
		memcpy(&yb, &y, 4);
		if (xb == yb)
			continue;
		if ((xb & 0x7f800000) == 0x7f800000 || (yb & 0x7f800000) == 0x7f800000)
			return false; /* infinities and NaNs must match exactly */
		if (d < 0)
			d = -d;
		/* NaN and infinity mismatches fail this test too. */
		if (!(d <= ax * 0x1p-10f))
			return false;
	}
	return true;
}

static void compare_mem(const struct oracle_case *c, u64 base, const struct oracle_result *want,
			const struct oracle_result *got, struct oracle_verdict *v)
{
	u64 skip_lo = 0, skip_hi = 0;
	const char *area;
	unsigned i, off;

	/* An exception frame is pushed only in the guest (natively the signal
	 * frame is on another stack): ignore the bytes it covers. */
	if (want->end == END_EXCEPTION) {
		skip_hi = ALIGN_DOWN(want->fault_rsp, 16);
		skip_lo = skip_hi - 64;
	}
	if (memcmp(want->mem, got->mem, OR_MEM_SIZE) == 0)
		return;
	for (i = 0; i < OR_MEM_SIZE; i += 64) {
		/* Skip identical lines quickly; look closer at the others. */
		if (memcmp(want->mem + i, got->mem + i, 64) == 0)
			continue;
		for (unsigned j = i; j < i + 64; j++) {
			u64 a = base + OR_MEM + j;
			u8 ign = 0;
			if (a >= skip_lo && a < skip_hi)
				continue;
			if (c->mem_ign_off >= 0 && j >= (unsigned)c->mem_ign_off &&
			    j < (unsigned)c->mem_ign_off + 8)
				ign = (u8)(c->mem_ign_bits >> (8 * (j - (unsigned)c->mem_ign_off)));
			if ((want->mem[j] ^ got->mem[j]) & ~ign) {
				i = j;
				goto found;
			}
		}
	}
found:
	if (i == OR_MEM_SIZE)
		return;
	v->fail = true;
	off = i & ~7U;
	area = off < MEM_DATA_OFF ? "stack" : "data";
	addf(v->text, sizeof(v->text), " memory %s+0x%x: want", area,
	     off < MEM_DATA_OFF ? off - MEM_STACK_OFF : off - MEM_DATA_OFF);
	for (unsigned k = off; k < off + 8 && k < OR_MEM_SIZE; k++)
		addf(v->text, sizeof(v->text), " %02x", want->mem[k]);
	addf(v->text, sizeof(v->text), " got");
	for (unsigned k = off; k < off + 8 && k < OR_MEM_SIZE; k++)
		addf(v->text, sizeof(v->text), " %02x", got->mem[k]);
	addf(v->text, sizeof(v->text), " (was");
	for (unsigned k = off; k < off + 8 && k < OR_MEM_SIZE; k++)
		addf(v->text, sizeof(v->text), " %02x", c->mem[k]);
	addf(v->text, sizeof(v->text), ");");
}

static void compare_fx(const struct oracle_case *c, const struct oracle_result *want,
		       const struct oracle_result *got, struct oracle_verdict *v)
{
	u32 mw, mg;

	/* MMX: MM0-7 with their exponent bits, TOS (in FSW) and the tags. The
	 * SDM does not say what a faulting MMX instruction leaves there (this
	 * host has already set TOS to 0 when a store faults): only a warning. */
	if (c->mmx) {
		bool faulted = want->end == END_EXCEPTION;
		char *t = faulted ? v->wtext : v->text;
		size_t tsz = faulted ? sizeof(v->wtext) : sizeof(v->text);
		bool *flag = faulted ? &v->warn : &v->fail;
		u16 sw_w, sw_g;
		memcpy(&sw_w, want->out.fx + 2, 2);
		memcpy(&sw_g, got->out.fx + 2, 2);
		if ((sw_w ^ sw_g) & 0x3800 || want->out.fx[4] != got->out.fx[4]) {
			*flag = true;
			addf(t, tsz, " fsw.top/ftw: want %u/0x%02x got %u/0x%02x;", sw_w >> 11 & 7,
			     want->out.fx[4], sw_g >> 11 & 7, got->out.fx[4]);
		}
		for (unsigned i = 0; i < 8; i++) {
			const u8 *a = want->out.fx + 32 + 16 * i, *b = got->out.fx + 32 + 16 * i;
			u64 ma, mb;
			u16 ea, eb;
			if (memcmp(a, b, 10) == 0)
				continue;
			memcpy(&ma, a, 8), memcpy(&mb, b, 8);
			memcpy(&ea, a + 8, 2), memcpy(&eb, b + 8, 2);
			*flag = true;
			addf(t, tsz, " st%u: want %04x:%016llx got %04x:%016llx;", i, ea,
			     (unsigned long long)ma, eb, (unsigned long long)mb);
		}
	}
	memcpy(&mw, want->out.fx + FX_MXCSR, 4);
	memcpy(&mg, got->out.fx + FX_MXCSR, 4);
	if (mw != mg) {
		v->fail = true;
		addf(v->text, sizeof(v->text), " mxcsr: want 0x%x got 0x%x;", mw, mg);
	}
	for (unsigned i = 0; i < 16; i++) {
		const u8 *a = want->out.fx + FX_XMM + 16 * i, *b = got->out.fx + FX_XMM + 16 * i;
		u64 aw[2], bw[2];
		if (memcmp(a, b, 16) == 0)
			continue;
		if (c->xmm_tolerance & (1U << i) && approx_equal(a, b)) {
			v->warn = true;
			addf(v->wtext, sizeof(v->wtext), " xmm%u approximation differs;", i);
			continue;
		}
		memcpy(aw, a, 16);
		memcpy(bw, b, 16);
		v->fail = true;
		addf(v->text, sizeof(v->text), " xmm%u: want %016llx:%016llx got %016llx:%016llx;",
		     i, (unsigned long long)aw[1], (unsigned long long)aw[0],
		     (unsigned long long)bw[1], (unsigned long long)bw[0]);
	}
}

void oracle_compare(const struct oracle_case *c, u64 base, const struct oracle_result *want,
		    const struct oracle_result *got, struct oracle_verdict *v)
{
	u64 strict = c->flags_strict | FL_DF, warn = c->flags_warn & ~strict, diff;
	char a[160], b[160], fn[64];

	v->fail = v->warn = false;
	v->text[0] = 0;
	v->wtext[0] = 0;
	if (want->end != got->end || (want->end == END_EXIT && want->exit != got->exit) ||
	    (want->end == END_EXCEPTION && want->vector != got->vector)) {
		describe_end(want, base, a, sizeof(a));
		describe_end(got, base, b, sizeof(b));
		v->fail = true;
		snprintf(v->text, sizeof(v->text), " end: want %s, got %s;", a, b);
		return;
	}
	if (want->end == END_OTHER) {
		v->fail = true;
		snprintf(v->text, sizeof(v->text), " native run did not finish: %s;", want->why);
		return;
	}
	if (want->end == END_EXCEPTION) {
		addf(v->text, sizeof(v->text), " (both raised exception %d)", want->vector);
		if (want->fault_rip != got->fault_rip) {
			v->fail = true;
			addf(v->text, sizeof(v->text), " fault rip: want insn%+lld got insn%+lld;",
			     (long long)(want->fault_rip - base - OR_INSN),
			     (long long)(got->fault_rip - base - OR_INSN));
		}
		/* Linux reports error codes as the CPU pushed them, except that
		 * #PF codes carry the user bit, which a CPL0 guest does not set. */
		u64 emask = want->vector == 14 ? ~4ULL : ~0ULL;
		if (want->has_err && (want->err & emask) != (got->err & emask)) {
			v->fail = true;
			addf(v->text, sizeof(v->text), " error code: want 0x%llx got 0x%llx;",
			     (unsigned long long)want->err, (unsigned long long)got->err);
		}
		if (want->vector == 14 && want->cr2 != got->cr2) {
			v->fail = true;
			addf(v->text, sizeof(v->text), " cr2: want 0x%llx got 0x%llx;",
			     (unsigned long long)want->cr2, (unsigned long long)got->cr2);
		}
	}
	for (unsigned i = 0; i < 16; i++) {
		if (want->out.gpr[i] == got->out.gpr[i])
			continue;
		if (c->gpr_warn & (1U << i)) {
			v->warn = true;
			addf(v->wtext, sizeof(v->wtext),
			     " %s (undefined): host 0x%llx engine 0x%llx;",
			     gen_reg_name(i, 8, true), (unsigned long long)want->out.gpr[i],
			     (unsigned long long)got->out.gpr[i]);
			continue;
		}
		v->fail = true;
		addf(v->text, sizeof(v->text), " %s: want 0x%llx got 0x%llx;",
		     gen_reg_name(i, 8, true), (unsigned long long)want->out.gpr[i],
		     (unsigned long long)got->out.gpr[i]);
	}
	diff = want->out.rflags ^ got->out.rflags;
	if (diff & strict) {
		v->fail = true;
		addf(v->text, sizeof(v->text), " rflags: want 0x%llx got 0x%llx (differ: %s);",
		     (unsigned long long)(want->out.rflags & (strict | warn)),
		     (unsigned long long)(got->out.rflags & (strict | warn)),
		     flag_names(diff & strict, fn, sizeof(fn)));
	}
	if (diff & warn) {
		v->warn = true;
		addf(v->wtext, sizeof(v->wtext), " undefined flags %s: host 0x%llx engine 0x%llx;",
		     flag_names(diff & warn, fn, sizeof(fn)),
		     (unsigned long long)(want->out.rflags & warn),
		     (unsigned long long)(got->out.rflags & warn));
	}
	compare_mem(c, base, want, got, v);
	if (c->sse)
		compare_fx(c, want, got, v);
}

void oracle_describe_case(const struct oracle_case *c, char *out, size_t outsz)
{
	char fn[64];

	out[0] = 0;
	addf(out, outsz, "bytes");
	for (unsigned i = 0; i < c->len && i < OR_MAX_CODE; i++)
		addf(out, outsz, " %02x", c->code[i]);
	if (c->native_alt) {
		addf(out, outsz, " (the host ran");
		for (unsigned i = 0; i < c->len && i < OR_MAX_CODE; i++)
			addf(out, outsz, " %02x", c->native_code[i]);
		addf(out, outsz, ")");
	}
	if (c->note[0])
		addf(out, outsz, "; %s", c->note);
	addf(out, outsz, "\n    in: rflags=0x%llx (%s)", (unsigned long long)c->in.rflags,
	     flag_names(c->in.rflags & (FL_ARITH | FL_DF), fn, sizeof(fn)));
	for (unsigned i = 0; i < 16; i++)
		addf(out, outsz, "%s%s=0x%llx", i % 4 ? " " : "\n      ", gen_reg_name(i, 8, true),
		     (unsigned long long)c->in.gpr[i]);
	if (c->sse) {
		u32 mxcsr;
		memcpy(&mxcsr, c->in.fx + FX_MXCSR, 4);
		addf(out, outsz, "\n      mxcsr=0x%x", mxcsr);
		for (unsigned i = 0; i < 16; i++) {
			u64 w[2];
			memcpy(w, c->in.fx + FX_XMM + 16 * i, 16);
			addf(out, outsz, "%sxmm%u=%016llx:%016llx", i % 2 ? " " : "\n      ", i,
			     (unsigned long long)w[1], (unsigned long long)w[0]);
		}
	}
}
