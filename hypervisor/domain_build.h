/*
 * hypervisor/domain_build.h: build a domain's memory and initial state from a kernel ELF.
 */
#ifndef HV_DOMAIN_BUILD_H
#define HV_DOMAIN_BUILD_H

#include <stdint.h>

#include "domain.h"

#define BOOT_STACK_PAGES 4
#define MAX_UPPER_TABLES 72   /* L4 + L3s + L2s of the initial mapping (64 GiB mapped) */

struct domain_build_params {
    const void *image;          /* kernel ELF, in hypervisor memory */
    uint64_t image_len;
    uint64_t nr_pages;          /* memory to give the domain */
    const char *cmdline;        /* kernel command line (truncated to fit start info) */
    uint32_t si_flags;          /* HAKO_SIF_* */
};

/* Give d its memory, load the kernel, build the initial address space and start info,
 * and set its vCPU to enter the kernel. 0, or -HAKO_E* with *why set; on failure d holds
 * no guest memory and nothing was loaded. */
int domain_build(struct domain *d, const struct domain_build_params *p, const char **why);

#endif /* HV_DOMAIN_BUILD_H */
