/* The translator tier: a decoded block the interpreter found hot becomes host
 * code. This first step keeps every instruction's semantics in its
 * interpreter handler (in->exec) and only removes the dispatch around it: the
 * block's instructions are called one after another with their decoded
 * forms and RIPs as constants, leaving the block where the interpreter would
 * (RIP not the next instruction's, or cpu->exec_stop). Later steps replace
 * calls by host instructions (ARCHITECTURE.md, the soft engine's translator). */
#ifndef POPEK_JIT_TRANSLATE_H
#define POPEK_JIT_TRANSLATE_H

#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"
#include "cpu/soft/jit/cache.h"

/* Translated code: runs from the block's first instruction at cpu->rip and
 * returns how many of its instructions retired. A fault leaves through
 * soft_raise()'s longjmp, as from the interpreter. */
typedef u64 jit_block_fn(struct soft_cpu *cpu);

/* Translates the n decoded instructions in[] (64-bit code, one straight-line
 * block; in[] must stay where it is while the code is used). Returns NULL
 * when the cache has no room (the caller flushes it and may retry). */
jit_block_fn *jit_translate(struct jit_cache *c, const struct soft_insn *in, unsigned n);

#endif
