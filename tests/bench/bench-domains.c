/*
 * tests/bench/bench-domains.c: inter-domain costs, dom0 against a domU built from the
 * test domU kernel (tests/xtf/domu).
 *   evtchn.rtt  dom0 sends on an interdomain channel, the domU (blocked) wakes, sends
 *               back, dom0 (blocked) wakes: instructions per round trip, everything
 *               included (both guests and the hypervisor).
 *   dom.switch  dom0 and a domU yield to each other: instructions per domain switch
 *               (each includes the yield hypercall that caused it).
 * Output lines are the same as bench-core's ("BENCH metric value per-op syscalls
 * flushes cr3"); transitions are known by construction (see each comment).
 */
#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "bench.h"
#include "evwait.h"
#include "framework.h"
#include "klib.h"
#include "privops.h"

const char test_title[] = "bench-domains";

extern const char domu_image_start[], domu_image_end[];

#define RTT_ROUNDS 2000
#define SWITCHES   2000


/* Create a domU running the test kernel with this command line; its domid or < 0. */
static long create(const char *cmdline)
{
    static struct hako_domctl_create c __attribute__((aligned(8)));
    memset(&c, 0, sizeof(c));
    c.image_va = (uint64_t)domu_image_start;
    c.image_len = (uint64_t)(domu_image_end - domu_image_start);
    c.mem_pages = 256;
    c.cmdline_va = (uint64_t)cmdline;
    memcpy(c.name, "bench", 6);
    return hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_CREATE, (uint64_t)&c);
}


void test_main(const struct hako_start_info *si)
{
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    char cmd[96];

    /* evtchn.rtt. Our lowest free port is predictable, so the domU can be told it. */
    static struct hako_evtchn st __attribute__((aligned(8)));
    unsigned port = 1;
    for (;; port++) {
        st.port = port;
        if (hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_STATUS, (uint64_t)&st) ||
            st.state == HAKO_EVTCHN_FREE)
            break;
    }
    ksnprintf(cmd, sizeof(cmd), "ping dom=0 port=%u n=%u", port, RTT_ROUNDS + 1);
    long d = create(cmd);
    if (d < 0) {
        xtf_error("cannot create the ping domU: %ld", d);
        return;
    }
    st = (struct hako_evtchn){ .remote_dom = (uint16_t)d };
    if (hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_ALLOC_UNBOUND, (uint64_t)&st) ||
        st.port != port) {
        xtf_error("cannot offer port %u to d%ld (got %u)", port, d, st.port);
        return;
    }
    wait_port(sh, port);                                /* the domU's "ready" */
    hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, port);
    wait_port(sh, port);                                /* one warm-up round */
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < RTT_ROUNDS; i++) {
        hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, port);
        wait_port(sh, port);
    }
    uint64_t t1 = rdtsc();
    /* Per round trip: dom0 SEND + BLOCK, domU BLOCK return + SEND + BLOCK: 4 syscalls
     * (the BLOCKs return through the switch); 2 domain switches = 2 CR3 loads. */
    report("evtchn.rtt", t1 - t0, RTT_ROUNDS, 4 * RTT_ROUNDS, 0, 2 * RTT_ROUNDS);
    hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_DESTROY, (uint64_t)d);
    hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_CLOSE, port);

    /* dom.switch: both yield; each of our yields switches to the domU and back. */
    d = create("yield");
    if (d < 0) {
        xtf_error("cannot create the yield domU: %ld", d);
        return;
    }
    for (unsigned i = 0; i < 10; i++)
        privops->yield();
    t0 = rdtsc();
    for (unsigned i = 0; i < SWITCHES / 2; i++)
        privops->yield();
    t1 = rdtsc();
    report("dom.switch", t1 - t0, SWITCHES, SWITCHES, 0, SWITCHES);
    hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_DESTROY, (uint64_t)d);
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit");
}
