/*
 * tests/xtf/domu/domu.c: a tiny unprivileged guest for tests/xtf/test-domains.c, which
 * carries this kernel's image and creates domains from it. The first word of the
 * command line chooses what it does:
 *   ping dom=D port=P n=N  bind D's port P (offered to us with ALLOC_UNBOUND), send once
 *                          ("ready"), then N times: block for the event, clear it, send
 *                          back; power off with code 0 (2 if binding failed)
 *   spin                   busy loop forever (CPU share tests)
 *   yield                  yield forever (domain switch benchmark)
 *   fuzz seed=S n=N        make N hypercalls with random numbers and hostile arguments,
 *                          then power off with the audit's discrepancy count (0 = good);
 *                          it may well crash or block itself on the way: that is allowed
 *   block                  block forever on an event that never comes
 *   crash                  write to an unmapped address with no page-fault handler
 *   domctl                 try domain control; power off with code 0 only if every call
 *                          returned -HAKO_EPERM, else code 1
 *   console                (tests/xtf/test-foreign.c) write "console dD mod LEN SUM
 *                          shinfo MFN l4 MFN\n" to the console page's out ring (SUM:
 *                          hash of the boot module, MFNs in hex), then echo every byte
 *                          of the in ring back to the out ring; power off with code 0
 *                          after echoing a '.' (99: no console page)
 *   foreign                try HAKO_MMU_PT_UPDATE_FOREIGN onto dom0; power off with
 *                          code 0 if it returned -HAKO_EPERM, else 1
 *   state dom=D port=P n=N (tests/xtf/test-vcpu-state.c) check that its DS/ES/FS/GS are
 *                          null and its x87/SSE state the reset one at entry, load its
 *                          own (vcpustate.h, domu_state), bind P like ping and send
 *                          "ready", then N rounds: block for D's event, yield twice,
 *                          send back, checking its state after each step; prints what it
 *                          saw and powers off with a STATE_CODE_* code (0: all as
 *                          expected; bits 0..2 the VS_* kinds the entry state was off
 *                          in, bits 3..5 those that changed in the rounds)
 *   gmap dom=D ref=R       (tests/xtf/test-grant.c) map grant R of domain D writable
 *                          (grant_table_op MAP) at the free L1 slot just above its
 *                          initial mapping, retrying while the grant is not live yet
 *                          (ENOENT), write 0x6772616e74000000 | R at offset 0 of the
 *                          page, then block forever like `block`; if it cannot, power
 *                          off with code 100 + the error (96: no free slot)
 *   exit=N                 power off with code N at once
 * Anything else powers off with code 99.
 */
#include <hako/console.h>
#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/grant_table.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>
#include <hako/physdev.h>
#include <hako/start_info.h>

#include "../evwait.h"
#include "../vcpustate.h"
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


/* Bind port= of dom= from the command line (offered to us with ALLOC_UNBOUND); dom0
 * may offer it just after creating us, so retry while it is not offered. The local
 * port, or 0 after printing why not. */
static unsigned bind_peer(void)
{
    struct hako_evtchn op __attribute__((aligned(8))) = {
        .remote_dom = (uint16_t)arg("dom", 0), .remote_port = (uint32_t)arg("port", 0),
    };
    long rc;
    for (unsigned tries = 0;; tries++) {
        rc = HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_INTERDOMAIN, &op, 0);
        if (rc != -HAKO_EINVAL || tries == 10000)
            break;
        privops->yield();
    }
    if (rc)
        kprintf("bind to d%u port %u failed: %ld\n", op.remote_dom, op.remote_port, rc);
    return rc ? 0 : op.port;
}

static void ping(const struct hako_start_info *si)
{
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    long n = arg("n", 1);
    unsigned port = bind_peer();
    if (!port)
        poweroff(2);
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

/* ---- test-vcpu-state: selectors and x87/SSE state kept per vCPU ---- */

/* The domU's own state: distinct from null, from the reset state and from dom0's
 * (test-vcpu-state.c). */
static const struct vstate_spec domu_state = { { 0x2B, 0x20, 0x22, 0x29 }, 0x027F, 0x1FA0,
                                               0xA5, 1 };

/* One `state` run: the state we hold, a scratch snapshot, kinds that changed under us
 * (on the stack: the image stays small). */
struct state_run {
    struct vstate own, seen;
    unsigned changed;
};

/* Compare the live state with our own; print what differed the first time each kind
 * does, and load our own again so every check stands alone. */
static void state_check(struct state_run *r, long round, const char *when)
{
    vstate_read(&r->seen);
    unsigned kinds = vstate_diff(&r->seen, &r->own);
    if (kinds & ~r->changed) {
        kprintf("state: round %ld, %s: %s changed\n", round, when, vstate_kinds(kinds));
        vstate_print("state: saw", &r->seen);
    }
    r->changed |= kinds;
    if (kinds)
        vstate_load(&r->own);
}

/* Check the entry state (read by kernel_main), load our own, and keep checking it over
 * n rounds of blocking for dom0's event, yielding and sending back. */
static void __attribute__((noreturn)) state(const struct hako_start_info *si,
                                            const struct vstate *entry)
{
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    struct state_run r = { .changed = 0 };
    vstate_print("state: at entry", entry);
    vstate_make(&r.seen, &vstate_reset_spec);
    unsigned code = vstate_diff(entry, &r.seen);
    if (code)
        kprintf("state: entry state is not the reset one in: %s\n", vstate_kinds(code));
    vstate_make(&r.own, &domu_state);
    vstate_load(&r.own);
    state_check(&r, -1, "loaded");
    if (r.changed)
        code |= STATE_CODE_LOAD;
    r.changed = 0;
    long n = arg("n", 1), i = 0;
    long loads0 = HC3(HAKO_HC_debug_op, HAKO_DEBUG_COUNTER, HAKO_COUNTER_CR3_LOADS, 0);
    unsigned port = bind_peer();
    if (!port || HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, port, 0))
        code |= STATE_CODE_PROTOCOL;
    for (; i < n && !(code & STATE_CODE_PROTOCOL); i++) {
        wait_port(sh, port);
        state_check(&r, i, "after blocking");
        for (unsigned y = 0; y < 2; y++) {
            privops->yield();
            state_check(&r, i, "after yielding");
        }
        if (HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, port, 0))
            code |= STATE_CODE_PROTOCOL;
        state_check(&r, i, "after sending");
    }
    long loads = HC3(HAKO_HC_debug_op, HAKO_DEBUG_COUNTER, HAKO_COUNTER_CR3_LOADS, 0) - loads0;
    code |= r.changed << STATE_CODE_ROUND_SHIFT;
    kprintf("state: %ld of %ld rounds, switched in %ld times; changed under it: %s; code %u\n",
            i, n, loads, vstate_kinds(r.changed), code);
    poweroff(code);
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
    /* The terminal is the control domain's: raw output and input are refused too. */
    static char byte[1];
    if (HC3(HAKO_HC_console_io, HAKO_CONSOLE_WRITE_RAW, UL(byte), 1) != -HAKO_EPERM ||
        HC3(HAKO_HC_console_io, HAKO_CONSOLE_READ, UL(byte), 1) != -HAKO_EPERM) {
        kprintf("console_io WRITE_RAW/READ from a domU not refused with EPERM\n");
        bad++;
    }
    /* The machine's devices are the control domain's (ABI.md 22). */
    static struct hako_physdev_info dev __attribute__((aligned(8)));
    if (HC3(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_DEVICE_INFO, UL(&dev), 0) != -HAKO_EPERM) {
        kprintf("physdev_op DEVICE_INFO from a domU not refused with EPERM\n");
        bad++;
    }
    poweroff(bad ? 1 : 0);
}

/* ---- test-foreign: the console ring, and PT_UPDATE_FOREIGN refused ---- */

/* The page through byte offsets (hako/console.h), which keeps this image small. */
#define CP_OFF(f) HAKO_OFFSETOF(struct hako_console_page, f)
#define CP_U32(off) ((uint32_t *)(cp + (off)))
static uint8_t *cp;
static uint32_t out_prod, in_cons;

/* Put bytes in the out ring (dropping what does not fit), publish, notify. */
static __attribute__((noinline)) void ring_put(const char *s, int n, unsigned port)
{
    for (; n-- > 0; s++)
        if (out_prod - __atomic_load_n(CP_U32(CP_OFF(out.cons)), __ATOMIC_ACQUIRE) <
            HAKO_CONSOLE_OUT_SIZE)
            cp[CP_OFF(out_data) + out_prod++ % HAKO_CONSOLE_OUT_SIZE] = (uint8_t)*s;
    __atomic_store_n(CP_U32(CP_OFF(out.prod)), out_prod, __ATOMIC_SEQ_CST);
    HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, port, 0);  /* ENOTCONN: nobody yet */
}

static __attribute__((noinline, noreturn)) void console(const struct hako_start_info *si)
{
    static uint32_t port[1];
    uint64_t sum = 0, *pending = ((struct hako_shared_info *)si->shared_info_va)->evtchn_pending;
    cp = (uint8_t *)si->console_va;
    port[0] = si->console_port;
    for (uint64_t i = 0; i < si->mod_len; i++)
        sum = sum * 31 + ((const uint8_t *)si->mod_va)[i];
    char line[128];
    ring_put(line, ksnprintf(line, sizeof(line), "console d%u mod %lu %lx shinfo %lx l4 %lx\n",
                             si->domid, si->mod_len, sum,
                             ((uint64_t *)si->p2m_va)[(si->shared_info_va - si->virt_base) >> 12],
                             ((uint64_t *)si->p2m_va)[si->pt_first_pfn]),
             port[0]);
    for (;;) {
        __atomic_fetch_and(&pending[port[0] / 64], ~(1ull << (port[0] % 64)), __ATOMIC_SEQ_CST);
        uint32_t p = __atomic_load_n(CP_U32(CP_OFF(in.prod)), __ATOMIC_SEQ_CST);
        if (p == in_cons) {
            __atomic_store_n(CP_U32(CP_OFF(in.prod_event)), in_cons, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(CP_U32(CP_OFF(in.prod)), __ATOMIC_SEQ_CST) == in_cons)
                hako_hypercall6(HAKO_HC_sched_op, HAKO_SCHED_POLL, UL(port), 1, 0, 0, 0);
        }
        while (in_cons != p && p - in_cons <= HAKO_CONSOLE_IN_SIZE) {
            char ch = (char)cp[CP_OFF(in_data) + in_cons++ % HAKO_CONSOLE_IN_SIZE];
            __atomic_store_n(CP_U32(CP_OFF(in.cons)), in_cons, __ATOMIC_RELEASE);
            ring_put(&ch, 1, port[0]);
            if (ch == '.')
                poweroff(0);
        }
    }
}

/* ---- test-grant: map a grant of another domain and write through it ---- */

static void __attribute__((noreturn)) grant_map(const struct hako_start_info *si)
{
    /* The last initial L1 covers the 2 MiB region holding the last mapped page; the
     * slot above that page is free unless the mapping ends on a 2 MiB boundary. */
    uint64_t va = si->virt_base + (si->nr_mapped_pages << 12);
    if (!(va & 0x1FFFFFull))
        poweroff(96);
    uint64_t l1_pfn = si->pt_first_pfn + si->nr_pt_frames - 1;
    static struct hako_gnttab_map op __attribute__((aligned(8)));
    uint32_t ref = (uint32_t)arg("ref", 0);
    long rc;
    for (unsigned tries = 0;; tries++) {
        op = (struct hako_gnttab_map){
            .pte_maddr = ((const uint64_t *)si->p2m_va)[l1_pfn] << 12 | HAKO_PT_INDEX(va, 1) * 8,
            .ref = ref, .domid = (uint16_t)arg("dom", 0), .status = 1 };
        rc = HC3(HAKO_HC_grant_table_op, HAKO_GNTTABOP_MAP, &op, 1);
        if (!rc)
            rc = op.status;
        if (rc != -HAKO_ENOENT || tries == 10000)
            break;
        privops->yield();
    }
    if (rc) {
        kprintf("gmap: MAP of d%u ref %u failed: %ld\n", op.domid, ref, rc);
        poweroff(100 + (unsigned)(rc < 0 && rc > -100 ? -rc : 99));
    }
    *(volatile uint64_t *)va = 0x6772616e74000000ull | ref;
    kprintf("gmap: d%u ref %u mapped at %lx, handle %u, written\n", op.domid, ref, va, op.handle);
    for (;;)
        HC3(HAKO_HC_sched_op, HAKO_SCHED_BLOCK, 0, 0);
}

/* xorshift64: the fuzzer's deterministic randomness. */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* An argument a hostile guest might pass: edge values, addresses of its own memory
 * (writable, read-only page tables, unmapped), the hypervisor's range, machine frames
 * it owns or not, and page-table entries built from them. */
static uint64_t hostile_arg(const struct hako_start_info *si)
{
    static uint64_t scratch[64] __attribute__((aligned(64)));
    const uint64_t *p2m = (const uint64_t *)si->p2m_va;
    uint64_t own_mfn = p2m[rnd() % si->nr_pages];
    switch (rnd() % 16) {
    case 0: return 0;
    case 1: return ~0ull;
    case 2: return rnd() % 8;
    case 3: return rnd();
    case 4: return (uint64_t)scratch + (rnd() % 8) * 8;
    case 5: return si->pt_base_va + (rnd() % 4096);
    case 6: return si->virt_base + (rnd() % (si->nr_pages << 12));
    case 7: return 0xFFFF800000000000ull + (rnd() % (1ull << 32));
    case 8: return 0x0000800000000000ull - (rnd() % 64);
    case 9: return own_mfn;
    case 10: return own_mfn << 12 | (rnd() % 512) * 8;          /* an entry address */
    case 11: return own_mfn << 12 | (rnd() & 0x8000000000000FFFull);  /* a PTE */
    case 12: return 0x100ull << 12 | 7;                          /* the hypervisor image */
    case 13: return (uint64_t)1 << (rnd() % 64);
    case 14: return si->shared_info_va + (rnd() % 4096);
    default: return rnd() % 2048;
    }
}

static void fuzz(const struct hako_start_info *si)
{
    rnd_state = 0x9E3779B97F4A7C15ull * (uint64_t)(arg("seed", 1) + 1);
    long n = arg("n", 1000);
    for (long i = 0; i < n; i++) {
        uint64_t nr = rnd() % 20, a[6];
        for (unsigned k = 0; k < 6; k++)
            a[k] = hostile_arg(si);
        /* Calls that stop, block or leave for good prove nothing here; their argument
         * checking has its own tests. Only a yield may run of sched_op, no iret. */
        if ((nr == HAKO_HC_sched_op && a[0] != HAKO_SCHED_YIELD) || nr == HAKO_HC_iret)
            continue;
        /* Remapping its own code, stack or tables just ends the run: spare those. */
        if (nr == HAKO_HC_update_va_mapping && a[0] >= si->virt_base &&
            a[0] < si->virt_base + (si->first_free_pfn << 12))
            continue;
        if (nr == HAKO_HC_mmuext_op && rnd() % 4)
            continue;                        /* base-pointer switches: rarely */
        hako_hypercall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    long audit = HC3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0);
    kprintf("fuzz: %ld hypercalls survived, audit %ld\n", n, audit);
    poweroff(audit == 0 ? 0 : 1);
}

void kernel_main(const struct hako_start_info *si)
{
    struct vstate entry;                /* for `state`: read before anything can change it */
    vstate_read(&entry);
    cmdline = si->cmdline;
    kprintf("domU d%u up: \"%s\", %lu pages\n", si->domid, cmdline, si->nr_pages);
    if (si->flags & HAKO_SIF_PRIVILEGED)
        poweroff(98);                   /* must never be built privileged */
    if (cmdline_has(cmdline, "ping"))
        ping(si);
    if (cmdline_has(cmdline, "spin"))
        for (volatile uint64_t n = 0;; n++)
            ;
    if (cmdline_has(cmdline, "fuzz"))
        fuzz(si);
    if (cmdline_has(cmdline, "yield"))
        for (;;)
            privops->yield();
    if (cmdline_has(cmdline, "block"))
        for (;;)                        /* nothing is bound: no event can ever come */
            HC3(HAKO_HC_sched_op, HAKO_SCHED_BLOCK, 0, 0);
    if (cmdline_has(cmdline, "gmap"))
        grant_map(si);
    if (cmdline_has(cmdline, "crash")) {
        *(volatile uint64_t *)0x1000 = 1;   /* unmapped, and no trap table */
        poweroff(97);
    }
    if (cmdline_has(cmdline, "domctl"))
        try_domctl();
    if (cmdline_has(cmdline, "state"))
        state(si, &entry);
    if (cmdline_has(cmdline, "console") && si->console_va)
        console(si);
    if (cmdline_has(cmdline, "foreign")) {
        static struct hako_mmu_update req __attribute__((aligned(8)));
        req.ptr = ((const uint64_t *)si->p2m_va)[si->pt_first_pfn] << 12 | 2;
        req.val = req.ptr | HAKO_PTE_U;          /* any present entry */
        poweroff(hako_hypercall6(HAKO_HC_mmu_update, UL(&req), 1, 0, 0, 0, 0) == -HAKO_EPERM ? 0 : 1);
    }
    long code = arg("exit", -1);
    poweroff(code >= 0 && code <= 255 ? (unsigned)code : 99);
}
