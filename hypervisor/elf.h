/*
 * hypervisor/elf.h: validation of a guest kernel ELF image (pure logic, host-testable).
 * Includes only hypercall-abi/ and freestanding compiler headers.
 */
#ifndef HV_ELF_H
#define HV_ELF_H

#include <stdint.h>

#define ELF_MAX_SEGMENTS 16

/* ELF p_flags bits, copied through to elf_segment.flags. */
#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u

struct elf_segment {
    uint64_t vaddr;   /* first byte (any alignment) */
    uint64_t memsz;   /* bytes in memory, > 0 */
    uint64_t offset;  /* file offset of the file-backed part */
    uint64_t filesz;  /* bytes copied from the file; the rest up to memsz is zeroed */
    uint32_t flags;   /* ELF_PF_* */
};

/* A window of guest virtual addresses, [lo, hi), hi > lo (hi == 0 means 2^64). */
struct elf_window {
    uint64_t lo, hi;
};

struct elf_limits {
    struct elf_window windows[2]; /* every PT_LOAD must lie wholly inside one window */
    unsigned nr_windows;
    uint64_t max_total_memsz;     /* sum of page-rounded memsz over all PT_LOADs */
    uint16_t abi_major;           /* hypervisor ABI: note major must equal it, */
    uint16_t abi_minor;           /*   note minor must be <= it */
};

struct elf_image {
    uint64_t entry;
    uint64_t va_lo;               /* lowest PT_LOAD vaddr rounded down to 4 KiB */
    uint64_t va_hi;               /* highest PT_LOAD end rounded up to 4 KiB (0 = 2^64) */
    unsigned nr_segments;
    struct elf_segment seg[ELF_MAX_SEGMENTS]; /* PT_LOADs sorted by vaddr */
    uint32_t note_abi_major;      /* from the hako ABI note */
    uint32_t note_abi_minor;
};

/*
 * Validate img[0..len) as a hako guest kernel and describe it in *out.
 * Returns 0, or -HAKO_EINVAL (malformed/unsupported), -HAKO_ERANGE (outside limits),
 * -HAKO_E2BIG (too large / too many segments), with *why set to a static message.
 * Never reads outside img[0..len); *out is only meaningful on success.
 */
int elf_parse(const void *img, uint64_t len, const struct elf_limits *lim,
              struct elf_image *out, const char **why);

#endif /* HV_ELF_H */
