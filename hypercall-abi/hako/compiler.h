/*
 * hako public ABI: compiler glue shared by every public header.
 * Standalone: needs only <stdint.h>. Works as C99, C11 and C++; assembler files may
 * include any public header for its constants (__ASSEMBLER__ hides the C parts).
 */
#ifndef HAKO_COMPILER_H
#define HAKO_COMPILER_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#if defined(__cplusplus)
#define HAKO_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define HAKO_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
/* C99: a negative array size fails the build. */
#define HAKO_SA_CAT2(a, b) a##b
#define HAKO_SA_CAT(a, b) HAKO_SA_CAT2(a, b)
#define HAKO_STATIC_ASSERT(cond, msg) \
    typedef char HAKO_SA_CAT(hako_static_assert_, __LINE__)[(cond) ? 1 : -1]
#endif

/* offsetof without <stddef.h> so headers stay freestanding-friendly. */
#define HAKO_OFFSETOF(type, member) __builtin_offsetof(type, member)

/* Alignment. Every structure a hypercall takes by pointer is aligned to at least 8
 * bytes (ABI.md 6), so one declared anywhere, the stack included, is accepted; ring
 * headers to 64. HAKO_ALIGNED(n) goes after the closing brace of a structure. */
#if defined(__GNUC__) || defined(__clang__)
#define HAKO_ALIGNED(n) __attribute__((aligned(n)))
#define HAKO_ALIGNOF(type) __alignof__(type)
#else
#error "hako public headers need a GNU C compatible compiler (aligned attribute)"
#endif

#endif /* HAKO_COMPILER_H */
