/*
 * hako public ABI: the start-info page handed to a guest kernel at boot.
 * See ABI.md "Boot protocol" for the initial address space and register state.
 */
#ifndef HAKO_START_INFO_H
#define HAKO_START_INFO_H

#include "compiler.h"

#define HAKO_START_INFO_MAGIC 0x6f6b6168u   /* "hako" read as a little-endian uint32 */
#define HAKO_CMDLINE_MAX      1024u         /* bytes, including the terminating NUL */

/* start_info.flags */
#define HAKO_SIF_PRIVILEGED   (1u << 0)     /* control domain: may use domain-control operations */
#define HAKO_SIF_INITDOMAIN   (1u << 1)     /* the first domain, built by the hypervisor at boot */

#ifndef __ASSEMBLER__
struct hako_start_info {
    uint32_t magic;             /* HAKO_START_INFO_MAGIC */
    uint16_t abi_major;         /* ABI of the hypervisor that built the domain */
    uint16_t abi_minor;
    uint32_t domid;             /* this domain's id (0 for dom0) */
    uint32_t flags;             /* HAKO_SIF_* */
    uint64_t nr_pages;          /* pages of memory the domain owns (pfns 0..nr_pages-1) */
    uint64_t virt_base;         /* VA of pseudo-physical frame 0 */
    uint64_t nr_mapped_pages;   /* pfns [0, nr_mapped_pages) are mapped at virt_base + pfn*4096 */
    uint64_t p2m_va;            /* VA of uint64_t p2m[nr_pages]: pfn -> machine frame number */
    uint64_t pt_base_va;        /* VA of the initial L4 table (mapped read-only) */
    uint64_t pt_first_pfn;      /* the initial page tables occupy pfns */
    uint64_t nr_pt_frames;      /*   [pt_first_pfn, pt_first_pfn + nr_pt_frames) */
    uint64_t shared_info_va;    /* VA of the shared-info page (read-write) */
    uint64_t stack_va;          /* lowest VA of the boot stack */
    uint64_t stack_size;        /* bytes; rsp starts at stack_va + stack_size */
    uint64_t first_free_pfn;    /* pfns [first_free_pfn, nr_pages) are unused by the layout */
    uint64_t mod_va;            /* VA of a boot module (initrd) for this domain, 0 if none */
    uint64_t mod_len;           /* its length in bytes */
    uint32_t cmdline_len;       /* strlen(cmdline) */
    uint32_t _pad0;             /* zero */
    /* ABI 0.5: the console page (hako/console.h) of a domain created with
     * HAKO_DOMCTL_CREATE; all three are 0 for dom0, which uses console_io instead. */
    uint64_t console_va;        /* VA of the console page (mapped read-write), 0 = none */
    uint64_t console_pfn;       /* its pfn */
    uint32_t console_port;      /* this domain's event-channel port for it, unbound,
                                   offered to the domain that created it */
    uint32_t _pad1;             /* zero */
    uint64_t _reserved[5];      /* zero; future minors carve fields out of here */
    char     cmdline[HAKO_CMDLINE_MAX]; /* NUL-terminated kernel command line */
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, nr_pages) == 16, "nr_pages offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, first_free_pfn) == 96, "first_free_pfn offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, cmdline_len) == 120, "cmdline_len offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, console_va) == 128, "console_va offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, console_pfn) == 136, "console_pfn offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, console_port) == 144, "console_port offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, _reserved) == 152, "_reserved offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_start_info, cmdline) == 192, "cmdline offset");
HAKO_STATIC_ASSERT(sizeof(struct hako_start_info) == 192 + 1024, "hako_start_info size");
#endif


#endif /* HAKO_START_INFO_H */
