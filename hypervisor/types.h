/*
 * hypervisor/types.h: distinct types for the three kinds of number that cross module
 * boundaries and are easy to mix up (the TYPE_SAFE idea from Xen):
 *   mfn_t  a machine frame number (an index into the frame table);
 *   pfn_t  a guest pseudo-physical frame number (what the guest's p2m and the m2p hold);
 *   gva_t  a guest virtual address (a pointer the guest passed, or one it faulted on).
 * Each wraps one uint64_t: the compiler refuses one in place of another or of a plain
 * integer, and under the SysV ABI it is passed and returned in a register exactly like
 * the integer (the code GCC makes differs at most in register choice and block order).
 * Wrap with _mfn(x), unwrap with mfn_x(m) where arithmetic is done (likewise _pfn/pfn_x,
 * _gva/gva_x). Public headers (hypercall-abi/) keep plain fixed-width integers: these
 * are the hypervisor's own.
 */
#ifndef HV_TYPES_H
#define HV_TYPES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct { uint64_t m; } mfn_t;
typedef struct { uint64_t p; } pfn_t;
typedef struct { uint64_t va; } gva_t;
_Static_assert(sizeof(mfn_t) == 8 && sizeof(pfn_t) == 8 && sizeof(gva_t) == 8,
               "each is one register wide, like the integer it wraps");

/* The machine frame number x / the raw number of m. */
static inline mfn_t _mfn(uint64_t x) { return (mfn_t){ x }; }
static inline uint64_t mfn_x(mfn_t m) { return m.m; }

/* True when a and b name the same machine frame. */
static inline bool mfn_eq(mfn_t a, mfn_t b) { return a.m == b.m; }

/* The frame n frames after m (for runs of frames, such as a 2 MiB page). */
static inline mfn_t mfn_add(mfn_t m, uint64_t n) { return (mfn_t){ m.m + n }; }

/* The pseudo-physical frame number x / the raw number of p. */
static inline pfn_t _pfn(uint64_t x) { return (pfn_t){ x }; }
static inline uint64_t pfn_x(pfn_t p) { return p.p; }

/* The guest virtual address x / the raw address of va. */
static inline gva_t _gva(uint64_t x) { return (gva_t){ x }; }
static inline uint64_t gva_x(gva_t va) { return va.va; }

#endif /* HV_TYPES_H */
