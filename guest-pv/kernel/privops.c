/*
 * guest-pv/kernel/privops.c: which privops backend this boot uses. Every backend is
 * linked into the one kernel image; the boot word privops=<name> picks one (the same
 * word makes the hypervisor create the domain in that mode, ABI.md "Trap-and-emulate
 * mode"), and without it the kernel is paravirtual (pv-async: batches and the
 * asynchronous ring; privops=pv is one hypercall per operation, pv-batch no ring). The native image (arch/native/)
 * boots with no hypervisor and has chosen privops_native before kernel_main.
 */
#include "klib.h"
#include "privops.h"

static const struct privops *const backends[] = { &privops_pv, &privops_pv_batch,
                                                  &privops_pv_async, &privops_trap };

/* Until privops_select runs (the first thing at boot) the kernel is paravirtual, with
 * everything the interface offers (pv-async). */
const struct privops *privops = &privops_pv_async;

/* Pick the backend the command line's privops=<name> word names (pv-async without one);
 * 0, or -1 when a privops= word names no backend (the kernel then stays pv-async). */
int privops_select(const char *cmdline)
{
    char word[32];
    if (!privops->on_hypervisor)        /* booted with no hypervisor: nothing to pick */
        return 0;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        ksnprintf(word, sizeof word, "privops=%s", backends[i]->name);
        if (cmdline_has(cmdline, word)) {
            privops = backends[i];
            return 0;
        }
    }
    for (const char *c = cmdline; *c; c++)
        if ((c == cmdline || c[-1] == ' ') && strncmp(c, "privops=", 8) == 0)
            return -1;
    return 0;
}
