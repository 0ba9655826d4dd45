/* The translator tier's contract with the rest of the soft engine: the
 * interpreter's entry into translated code (translate.h); emit.h, cache.h and
 * native.h are the tier's own. Files outside jit/ include this header only. */
#ifndef POPEK_JIT_JIT_H
#define POPEK_JIT_JIT_H

#include "cpu/soft/jit/lockstep.h"
#include "cpu/soft/jit/translate.h"

#endif
