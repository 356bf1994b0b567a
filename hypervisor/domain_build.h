/*
 * hypervisor/domain_build.h: build a domain's memory and initial state from a kernel ELF.
 */
#ifndef HV_DOMAIN_BUILD_H
#define HV_DOMAIN_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"
#include "types.h"

#define BOOT_STACK_PAGES 4
#define MAX_UPPER_TABLES 72   /* L4 + L3s + L2s of the initial mapping (64 GiB mapped) */

struct domain_build_params {
    const void *image;          /* kernel ELF, in hypervisor memory */
    uint64_t image_len;
    uint64_t nr_pages;          /* memory to give the domain */
    const char *cmdline;        /* kernel command line (truncated to fit start info) */
    uint32_t si_flags;          /* HAKO_SIF_* */
    bool console;               /* give it a console page (domains created by domctl) */
    uint64_t module_len;        /* bytes of boot module to make room for, 0 = none */
    mfn_t module_mfn;           /* OUT: first frame of the module (the rest follow on the
                                   domain's frame list), INVALID_MFN when none */
    mfn_t si_mfn;               /* OUT: the start-info frame (for console_port, which the
                                   caller fills in once the port exists) */
};

/* Give d its memory, load the kernel, build the initial address space and start info
 * (with a zeroed console page and room for the boot module when asked: the caller copies
 * the module into its frames), and set its vCPU to enter the kernel. 0, or -HAKO_E* with
 * *why set; on failure d holds no guest memory and nothing was loaded. */
int domain_build(struct domain *d, struct domain_build_params *p, const char **why);

#endif /* HV_DOMAIN_BUILD_H */
