/* Base integer types and guest address types shared by every module. */
#ifndef POPEK_TYPES_H
#define POPEK_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/* Guest physical and guest virtual addresses. Turned into host pointers only by
 * guest_mem_ptr() (src/core/guest_mem.h), which checks range and overflow. */
typedef u64 gpa_t;
typedef u64 gva_t;

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((u64)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define UNUSED __attribute__((unused))
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

#endif
