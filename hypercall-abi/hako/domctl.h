/*
 * hako public ABI: domain control, for the control domain (HAKO_SIF_PRIVILEGED) only.
 * domctl(cmd, arg) from any other domain returns -HAKO_EPERM. See ABI.md "Domain control".
 */
#ifndef HAKO_DOMCTL_H
#define HAKO_DOMCTL_H

#include "compiler.h"

#define HAKO_DOMCTL_CREATE     0  /* arg = IN/OUT struct hako_domctl_create *; returns domid */
#define HAKO_DOMCTL_DESTROY    1  /* arg = domid: free a domain (not the caller);
                                     -HAKO_EBUSY while another domain maps its frames */
#define HAKO_DOMCTL_PAUSE      2  /* arg = domid: stop scheduling it */
#define HAKO_DOMCTL_UNPAUSE    3  /* arg = domid */
#define HAKO_DOMCTL_GETINFO    4  /* arg = IN/OUT struct hako_domctl_info * */
#define HAKO_DOMCTL_NEXT       5  /* arg = domid: returns the lowest existing domid >= arg,
                                     or -HAKO_ESRCH: iterate to list domains */
#define HAKO_DOMCTL_SET_SCHED  6  /* arg = IN struct hako_domctl_sched * */

#define HAKO_DOMCTL_IMAGE_MAX  (16u << 20)  /* largest kernel image CREATE accepts */
#define HAKO_DOMCTL_MODULE_MAX (64u << 20)  /* largest boot module (initrd) CREATE accepts */
#define HAKO_DOMAIN_NAME_MAX   32

/* Size of struct hako_domctl_create that CREATE reads and writes: the whole structure
 * (128 bytes) for a caller whose kernel's ABI note says 0.5 or later; only the first 88
 * bytes (the fields up to _reserved, the ABI 0.4 layout) for a kernel built for 0.4. */
#define HAKO_DOMCTL_CREATE_SIZE_V04 88u

/* Size of struct hako_domctl_info that GETINFO writes: the whole structure (920 bytes)
 * for a caller whose kernel's ABI note says 0.8 or later; HAKO_DOMCTL_INFO_SIZE_V07 for
 * 0.6 and 0.7; only the first 464 bytes (the ABI 0.5 layout, without hc_counts) for a
 * kernel built for 0.5 or earlier. */
#define HAKO_DOMCTL_INFO_SIZE_V05 464u
/* Size of struct hako_domctl_info for a caller built for ABI 0.6 or 0.7: the first 720
 * bytes (up to hc_counts), without mode and emulated (ABI 0.8, 920 bytes in all). */
#define HAKO_DOMCTL_INFO_SIZE_V07 720u
/* Hypercall numbers hako_domctl_info.hc_counts has a slot for (every number a minor of
 * this major may define). */
#define HAKO_DOMCTL_HC_SLOTS 32

/* hako_domctl_info.mode: how the domain's kernel asks for privileged work. */
#define HAKO_DOMMODE_PV    0    /* hypercalls (the paravirtual interface) */
#define HAKO_DOMMODE_TRAP  1    /* trap-and-emulate (privops=trap, ABI.md 20) */

/* hako_domctl_info.emulated[]: a trap-mode domain's instructions, by kind, that the
 * hypervisor emulated, and (slot HAKO_EMUL_REFUSED) the ones it refused. A PV domain's
 * read 0. Numbers are stable; a later minor may add kinds up to HAKO_EMUL_SLOTS - 1. */
#define HAKO_EMUL_REFUSED    0   /* refused: the kernel got the instruction's own fault */
#define HAKO_EMUL_CLI_STI    1   /* cli, sti */
#define HAKO_EMUL_HLT        2   /* hlt, and sti; hlt (one step) */
#define HAKO_EMUL_CR_READ    3   /* mov from crN */
#define HAKO_EMUL_CR_WRITE   4   /* mov to crN */
#define HAKO_EMUL_INVLPG     5   /* invlpg */
#define HAKO_EMUL_WBINVD     6   /* wbinvd */
#define HAKO_EMUL_MSR_READ   7   /* rdmsr */
#define HAKO_EMUL_MSR_WRITE  8   /* wrmsr */
#define HAKO_EMUL_DESC       9   /* lgdt lidt sgdt sidt ltr str lldt smsw lmsw */
#define HAKO_EMUL_PORT_IN    10  /* in */
#define HAKO_EMUL_PORT_OUT   11  /* out */
#define HAKO_EMUL_PTE_STORE  12  /* mov, xchg, cmpxchg into a page table */
#define HAKO_EMUL_IRET       13  /* iretq */
#define HAKO_EMUL_SYSRET     14  /* sysretq */
#define HAKO_EMUL_CPUID      15  /* cpuid (only where CPUID faulting is used, ABI.md 20.4) */
#define HAKO_EMUL_KINDS      16  /* kinds this minor defines: 0 .. HAKO_EMUL_KINDS - 1 */
#define HAKO_EMUL_SLOTS      24  /* slots emulated[] has (every kind a minor may define) */

/* hako_domctl_info.state */
#define HAKO_DOMSTATE_RUNNING   0   /* may run (running, runnable or blocked) */
#define HAKO_DOMSTATE_PAUSED    1
#define HAKO_DOMSTATE_SHUTDOWN  2   /* stopped itself; see shutdown_reason/code */
#define HAKO_DOMSTATE_CRASHED   3   /* stopped by a fault or crash request */

#ifndef __ASSEMBLER__
struct hako_domctl_create {
    uint64_t image_va;      /* IN: kernel ELF image in the caller's memory */
    uint64_t image_len;     /* IN: bytes, 1..HAKO_DOMCTL_IMAGE_MAX */
    uint64_t mem_pages;     /* IN: memory for the new domain (its console page and boot
                               module included) */
    uint64_t cmdline_va;    /* IN: NUL-terminated command line (< 1024 bytes), 0 = empty */
    char     name[HAKO_DOMAIN_NAME_MAX]; /* IN: NUL-terminated name */
    uint16_t weight;        /* IN: scheduling weight 1..65535, 0 = default (256) */
    uint16_t cap;           /* IN: CPU cap in percent of one CPU, 0 = none, else 1..100 */
    uint16_t domid;         /* OUT: the new domain's id */
    uint16_t _pad0;         /* IN: zero */
    uint64_t _reserved[2];  /* IN: zero */
    /* ---- ABI 0.5 (read and written only for callers built for 0.5 or later) ---- */
    uint64_t module_va;     /* IN: boot module (initrd) in the caller's memory */
    uint64_t module_len;    /* IN: its bytes, 0 = none (module_va is then ignored), at
                               most HAKO_DOMCTL_MODULE_MAX */
    uint64_t console_mfn;   /* OUT: machine frame of the new domain's console page */
    uint32_t console_port;  /* OUT: the new domain's console port, unbound and offered to
                               the caller: bind it with EVTCHNOP_BIND_INTERDOMAIN */
    uint32_t _pad1;         /* IN: zero */
    uint64_t _reserved1;    /* IN: zero */
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_create, domid) == 68, "create domid offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_create, module_va) ==
                   HAKO_DOMCTL_CREATE_SIZE_V04, "create module_va offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_create, module_len) == 96,
                   "create module_len offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_create, console_mfn) == 104,
                   "create console_mfn offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_create, console_port) == 112,
                   "create console_port offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_create, _reserved1) == 120,
                   "create _reserved1 offset");
HAKO_STATIC_ASSERT(sizeof(struct hako_domctl_create) == 128, "hako_domctl_create size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_domctl_create) == 8, "hako_domctl_create align");

struct hako_domctl_info {
    uint16_t domid;         /* IN */
    uint16_t state;         /* OUT: HAKO_DOMSTATE_* */
    uint16_t weight;        /* OUT */
    uint16_t cap;           /* OUT */
    uint32_t flags;         /* OUT: HAKO_SIF_* it was built with */
    uint32_t shutdown_reason; /* OUT: when stopped */
    uint32_t shutdown_code;   /* OUT */
    uint32_t _pad0;
    uint64_t nr_pages;      /* OUT: memory */
    uint64_t cpu_time_ns;   /* OUT: CPU time used */
    uint64_t events;        /* OUT: events raised on it */
    uint64_t hypercalls[16]; /* OUT: hypercalls made, by number (0..15 only: see hc_counts) */
    uint64_t traps[32];     /* OUT: exceptions taken, by vector */
    char     name[HAKO_DOMAIN_NAME_MAX]; /* OUT */
    /* ---- ABI 0.6 (written only for callers built for 0.6 or later) ---- */
    uint64_t hc_counts[HAKO_DOMCTL_HC_SLOTS]; /* OUT: hypercalls made, by number (all) */
    /* ---- ABI 0.8 (written only for callers built for 0.8 or later) ---- */
    uint32_t mode;          /* OUT: HAKO_DOMMODE_* */
    uint32_t _pad1;         /* OUT: zero */
    uint64_t emulated[HAKO_EMUL_SLOTS]; /* OUT: trap mode: instructions, by HAKO_EMUL_* */
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_info, hc_counts) ==
                   HAKO_DOMCTL_INFO_SIZE_V05, "info hc_counts offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_info, mode) ==
                   HAKO_DOMCTL_INFO_SIZE_V07, "info mode offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_domctl_info, emulated) == 728,
                   "info emulated offset");
HAKO_STATIC_ASSERT(HAKO_EMUL_KINDS <= HAKO_EMUL_SLOTS, "a slot for every kind");
HAKO_STATIC_ASSERT(sizeof(struct hako_domctl_info) == 920, "hako_domctl_info size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_domctl_info) == 8, "hako_domctl_info align");

struct hako_domctl_sched {
    uint16_t domid;         /* IN */
    uint16_t weight;        /* IN: 1..65535 */
    uint16_t cap;           /* IN: 0..100 */
    uint16_t _pad0;         /* IN: zero */
} HAKO_ALIGNED(8);          /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_domctl_sched) == 8, "hako_domctl_sched size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_domctl_sched) == 8, "hako_domctl_sched align");
#endif

#endif /* HAKO_DOMCTL_H */
