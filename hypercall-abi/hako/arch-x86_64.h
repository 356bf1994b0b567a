/*
 * hako public ABI: x86-64 facts a guest kernel must know.
 * Standalone; no types beyond <stdint.h>.
 */
#ifndef HAKO_ARCH_X86_64_H
#define HAKO_ARCH_X86_64_H

#include "compiler.h"

/*
 * Virtual address space. The hypervisor owns L4 slots 256..271, i.e. the canonical
 * range [HAKO_HV_VA_START, HAKO_HV_VA_END). Every top-level table a guest runs on has
 * these slots filled by the hypervisor; a guest can never map or write there, and can
 * read only the m2p table (hako/memory.h) there.
 * Everything else (the whole lower half and the upper half above HAKO_HV_VA_END) is
 * the guest's to use.
 */
#define HAKO_HV_VA_START     0xFFFF800000000000ULL
#define HAKO_HV_VA_END       0xFFFF880000000000ULL
#define HAKO_HV_L4_FIRST     256u
#define HAKO_HV_L4_LAST      271u   /* inclusive */
#define HAKO_LOWER_HALF_END  0x0000800000000000ULL   /* first non-canonical address */

#define HAKO_PAGE_SHIFT      12
#define HAKO_PAGE_SIZE       4096u

/*
 * Segment selectors. The guest kernel runs in ring 3 on these; the hypervisor loads
 * them on entry and after every hypercall. Guests never load CS/SS themselves.
 */
#define HAKO_GUEST_CS64      0x2Bu   /* 64-bit code, DPL 3 */
#define HAKO_GUEST_DS        0x23u   /* data/stack, DPL 3 (SS; DS/ES may also hold 0) */

/* RFLAGS a guest starts with: IF=1, reserved bit 1, IOPL=0. */
#define HAKO_GUEST_RFLAGS    0x202u

#endif /* HAKO_ARCH_X86_64_H */
