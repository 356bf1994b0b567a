/*
 * tests/xtf/domu/domu.c: a tiny unprivileged guest for tests/xtf/test-domains.c, which
 * carries this kernel's image and creates domains from it. The first word of the
 * command line chooses what it does:
 *   ping dom=D port=P n=N  bind D's port P (offered to us with ALLOC_UNBOUND), send once
 *                          ("ready"), then N times: block for the event, clear it, send
 *                          back; power off with code 0 (2 if binding failed)
 *   spin                   busy loop forever (CPU share tests)
 *   yield                  yield forever (domain switch benchmark)
 *   block                  block forever on an event that never comes
 *   crash                  write to an unmapped address with no page-fault handler
 *   domctl                 try domain control; power off with code 0 only if every call
 *                          returned -HAKO_EPERM, else code 1
 *   exit=N                 power off with code N at once
 * Anything else powers off with code 99.
 */
#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/start_info.h>

#include "../evwait.h"
#include "klib.h"
#include "privops.h"

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))

static const char *cmdline;

/* The number after "key=" in the command line (a word of its own), or dflt. */
static long arg(const char *key, long dflt)
{
    size_t n = strlen(key);
    for (const char *c = cmdline; *c; c++) {
        if ((c != cmdline && c[-1] != ' ') || strncmp(c, key, n) || c[n] != '=')
            continue;
        long v = 0;
        for (c += n + 1; *c >= '0' && *c <= '9'; c++)
            v = v * 10 + (*c - '0');
        return v;
    }
    return dflt;
}

static void __attribute__((noreturn)) poweroff(unsigned code)
{
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, code);
}


static void ping(const struct hako_start_info *si)
{
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    struct hako_evtchn op __attribute__((aligned(8))) = {
        .remote_dom = (uint16_t)arg("dom", 0), .remote_port = (uint32_t)arg("port", 0),
    };
    long n = arg("n", 1), rc;
    /* dom0 may offer the port just after creating us: retry while it is not offered. */
    for (unsigned tries = 0;; tries++) {
        rc = HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_INTERDOMAIN, &op, 0);
        if (rc != -HAKO_EINVAL || tries == 10000)
            break;
        privops->yield();
    }
    if (rc) {
        kprintf("bind to d%u port %u failed: %ld\n", op.remote_dom, op.remote_port, rc);
        poweroff(2);
    }
    unsigned port = op.port;
    if (HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, port, 0))
        poweroff(3);
    for (long i = 0; i < n; i++) {
        wait_port(sh, port);
        if (HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, port, 0))
            poweroff(3);
    }
    kprintf("ping: %ld round trips on port %u\n", n, port);
    poweroff(0);
}

/* Every domain-control command must be refused to an unprivileged domain. */
static void try_domctl(void)
{
    static struct hako_domctl_create c __attribute__((aligned(8)));
    static struct hako_domctl_info info __attribute__((aligned(8)));
    static struct hako_domctl_sched s __attribute__((aligned(8))) = { .weight = 1 };
    static const char img[64] = "\177ELF";
    c.image_va = UL(img);
    c.image_len = sizeof(img);
    c.mem_pages = 16;
    const struct { unsigned long cmd, arg; const char *name; } calls[] = {
        { HAKO_DOMCTL_GETINFO, UL(&info), "GETINFO" },
        { HAKO_DOMCTL_CREATE, UL(&c), "CREATE" },
        { HAKO_DOMCTL_DESTROY, 0, "DESTROY dom0" },
        { HAKO_DOMCTL_PAUSE, 0, "PAUSE dom0" },
        { HAKO_DOMCTL_UNPAUSE, 0, "UNPAUSE dom0" },
        { HAKO_DOMCTL_NEXT, 0, "NEXT" },
        { HAKO_DOMCTL_SET_SCHED, UL(&s), "SET_SCHED" },
        { 99, 0, "unknown command" },
    };
    unsigned bad = 0;
    for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        long rc = HC3(HAKO_HC_domctl, calls[i].cmd, calls[i].arg, 0);
        if (rc != -HAKO_EPERM) {
            kprintf("domctl %s returned %ld, expected -EPERM\n", calls[i].name, rc);
            bad++;
        }
    }
    poweroff(bad ? 1 : 0);
}

void kernel_main(const struct hako_start_info *si)
{
    cmdline = si->cmdline;
    kprintf("domU d%u up: \"%s\", %lu pages\n", si->domid, cmdline, si->nr_pages);
    if (si->flags & HAKO_SIF_PRIVILEGED)
        poweroff(98);                   /* must never be built privileged */
    if (cmdline_has(cmdline, "ping"))
        ping(si);
    if (cmdline_has(cmdline, "spin"))
        for (volatile uint64_t n = 0;; n++)
            ;
    if (cmdline_has(cmdline, "yield"))
        for (;;)
            privops->yield();
    if (cmdline_has(cmdline, "block"))
        for (;;)                        /* nothing is bound: no event can ever come */
            HC3(HAKO_HC_sched_op, HAKO_SCHED_BLOCK, 0, 0);
    if (cmdline_has(cmdline, "crash")) {
        *(volatile uint64_t *)0x1000 = 1;   /* unmapped, and no trap table */
        poweroff(97);
    }
    if (cmdline_has(cmdline, "domctl"))
        try_domctl();
    long code = arg("exit", -1);
    poweroff(code >= 0 && code <= 255 ? (unsigned)code : 99);
}
