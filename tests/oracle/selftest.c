/* Self-test of the oracle's native side: a few instructions with known
 * results, so that a broken stub cannot make every comparison vacuous. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/oracle.h"

struct known {
	const char *what;
	u8 code[8];
	unsigned len;
	int taken; /* Jcc: exit offset of the taken target, else 0 */
	u64 rax, rcx, rflags;
	int want_exit; /* -1: an exception */
	int want_vector;
	u64 want_rax, want_flags_arith;
	int rsp_delta; /* expected RSP change */
};

static const struct known knowns[] = {
    {"add rax,rcx",
     {0x48, 0x01, 0xc8},
     3,
     0,
     0x7fffffffffffffffULL,
     1,
     0,
     0,
     0,
     0x8000000000000000ULL,
     FL_OF | FL_SF | FL_AF | FL_PF,
     0},
    {"sub eax,ecx",
     {0x29, 0xc8},
     2,
     0,
     0xffffffff00000001ULL,
     2,
     0,
     0,
     0,
     0xffffffffULL,
     FL_CF | FL_SF | FL_AF | FL_PF,
     0},
    {"adc al,cl (CF in)",
     {0x10, 0xc8},
     2,
     0,
     0xff,
     0,
     FL_CF,
     0,
     0,
     0,
     FL_CF | FL_ZF | FL_AF | FL_PF,
     0},
    {"div ecx by zero", {0xf7, 0xf1}, 2, 0, 5, 0, 0, -1, 0, 5, 0, 0},
    {"ud2", {0x0f, 0x0b}, 2, 0, 1, 0, 0, -1, 6, 1, 0, 0},
    {"push rax", {0x50}, 1, 0, 0x1234, 0, 0, 0, 0, 0x1234, 0, -8},
    {"jz taken", {0x74, 0x10}, 2, 0x12, 0, 0, FL_ZF, 1, 0, 0, FL_ZF, 0},
    {"jz not taken", {0x74, 0x10}, 2, 0x12, 0, 0, 0, 0, 0, 0, 0, 0},
};

static int selftest_one(struct native_world *nw, const struct known *k, struct oracle_case *cp,
			struct oracle_result *resp, char *why, size_t whylen);

int oracle_selftest(struct native_world *nw, char *why, size_t whylen)
{
	struct oracle_case *c = calloc(1, sizeof(*c));
	struct oracle_result *res = calloc(1, sizeof(*res));
	int err = 0;

	if (!c || !res) {
		snprintf(why, whylen, "out of memory");
		err = -1;
	}
	for (unsigned i = 0; !err && i < ARRAY_SIZE(knowns); i++)
		err = selftest_one(nw, &knowns[i], c, res, why, whylen);
	free(c);
	free(res);
	return err;
}

static int selftest_one(struct native_world *nw, const struct known *k, struct oracle_case *c,
			struct oracle_result *res, char *why, size_t whylen)
{
	u64 base = native_base(nw), rsp = base + OR_STACK + 0x800;

	memset(c, 0, sizeof(*c));
	memcpy(c->code, k->code, k->len);
	c->len = k->len;
	c->nexits = k->taken ? 2 : 1;
	c->exit_off[0] = (int)k->len;
	c->exit_off[1] = k->taken;
	c->in.gpr[R_AX] = k->rax;
	c->in.gpr[R_CX] = k->rcx;
	c->in.gpr[R_SP] = rsp;
	c->in.rflags = 2 | k->rflags;
	native_run(nw, c, res);
	if (k->want_exit < 0) {
		if (res->end != END_EXCEPTION || res->vector != k->want_vector ||
		    res->fault_rip != base + OR_INSN || res->out.gpr[R_AX] != k->want_rax) {
			snprintf(why, whylen, "%s: want exception %d at the instruction", k->what,
				 k->want_vector);
			return -1;
		}
		return 0;
	}
	if (res->end != END_EXIT || res->exit != k->want_exit ||
	    res->out.gpr[R_AX] != k->want_rax ||
	    (res->out.rflags & FL_ARITH) != k->want_flags_arith ||
	    res->out.gpr[R_SP] != rsp + (u64)(s64)k->rsp_delta) {
		snprintf(why, whylen,
			 "%s: end %d exit %d rax 0x%llx flags 0x%llx rsp%+lld (want exit %d rax "
			 "0x%llx flags 0x%llx)",
			 k->what, res->end, res->exit, (unsigned long long)res->out.gpr[R_AX],
			 (unsigned long long)(res->out.rflags & FL_ARITH),
			 (long long)(res->out.gpr[R_SP] - rsp), k->want_exit,
			 (unsigned long long)k->want_rax, (unsigned long long)k->want_flags_arith);
		return -1;
	}
	if (k->rsp_delta && memcmp(res->mem + (rsp - 8 - base - OR_MEM), &k->rax, 8) != 0) {
		snprintf(why, whylen, "%s: stack not written", k->what);
		return -1;
	}
	return 0;
}
