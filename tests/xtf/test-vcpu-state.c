/*
 * tests/xtf/test-vcpu-state.c: the data segment selectors DS/ES/FS/GS and the x87/SSE
 * state belong to the vCPU (ABI.md 2, 4.3): no domain sees another's, none loses its
 * own across switches, and a new domain starts with null selectors and the reset FPU
 * state. Seen from dom0, with the `state` domU of tests/xtf/domu (vcpustate.h).
 *
 * Checked: dom0 entered in the reset state and its own distinct state (dom0_state)
 * loads; a `state` domU created while dom0 holds that state enters in the reset state
 * and keeps its own through ROUNDS event round trips with dom0, half of them with dom0
 * blocked in POLL and half with both yielding (dom0 is switched in at least once a
 * round); dom0's state is unchanged after every poll, yield, round, CREATE and DESTROY;
 * the domU powers off with code 0 after exactly that many events; destroying it
 * returns every frame. Then a second domU, created after the first is destroyed, again
 * enters in the reset state (nothing inherited from the destroyed vCPU or from dom0).
 * Finally the audit is clean and every frame is back.
 */
#include "framework.h"
#include "domwait.h"
#include "privops.h"
#include "vcpustate.h"

#include <hako/domctl.h>
#include <hako/events.h>

const char test_title[] = "vcpu-state";

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define DOMCTL(cmd, arg)   HC3(HAKO_HC_domctl, cmd, arg, 0)
#define EVTCHN(cmd, arg)   HC3(HAKO_HC_event_channel_op, cmd, arg, 0)
#define DEBUG_OP(cmd, arg) HC3(HAKO_HC_debug_op, cmd, arg, 0)
#define MS DOMWAIT_MS

extern const char domu_image_start[], domu_image_end[];
#define DOMU_PAGES 256
enum { ROUNDS = 200, ROUNDS_SECOND = 20 };

/* dom0's own state: distinct from null, from the reset state and from the domU's
 * (domu.c, domu_state: DS 0x2B ES 0x20 FS 0x22 GS 0x29, FCW 0x027F, MXCSR 0x1FA0,
 * seed 0xA5, one x87 register in use). */
static const struct vstate_spec dom0_state = { { 0x21, 0x2A, 0x23, 0x28 }, 0x0E7F, 0xBF80,
                                               0x5A, 3 };

static struct hako_shared_info *sh;
static uint32_t exc_port;                  /* VIRQ_DOM_EXC */
static struct vstate mine, seen;           /* dom0's state as loaded; a fresh read */
static struct hako_domctl_info info __attribute__((aligned(8)));

/* dom0's checkpoints during one domU's run, and how many found each kind changed. */
static struct { unsigned points, bad[3]; } own;

/* Compare dom0's live state with its own at a checkpoint; print the first difference
 * of each kind, and load its own state again so every checkpoint stands alone. */
static void check_own(const char *when)
{
    vstate_read(&seen);
    unsigned kinds = vstate_diff(&seen, &mine);
    own.points++;
    for (unsigned k = 0; k < 3; k++)
        if ((kinds & 1u << k) && !own.bad[k]++) {
            kprintf("dom0 %s: its %s changed\n", when, vstate_kinds(1u << k));
            vstate_print("dom0 saw", &seen);
        }
    if (kinds)
        vstate_load(&mine);
}

/* One check per kind: dom0's state stayed its own at every checkpoint around a domU. */
static void report_own(const char *name)
{
    for (unsigned k = 0; k < 3; k++)
        XTF_CHECK(!own.bad[k], "dom0's %s changed at %u of %u checkpoints while domU %s ran",
                  vstate_kinds(1u << k), own.bad[k], own.points, name);
}

/* Create a `state` domU making rounds round trips with dom0; its id (0 after reporting
 * why not) and in *port dom0's end of the channel. The port number goes on its command
 * line before it exists: hold the lowest free port across the create, then close it
 * and offer that same number to the new domain (the domU retries its bind). */
static unsigned create_state_domu(const char *name, unsigned rounds, uint32_t *port)
{
    static struct hako_domctl_create cr __attribute__((aligned(8)));
    static char cmd[64];
    struct hako_evtchn hold = { .remote_dom = 0 };
    if (!XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_ALLOC_UNBOUND, &hold), 0, "ALLOC_UNBOUND (hold)"))
        return 0;
    ksnprintf(cmd, sizeof(cmd), "state dom=0 port=%u n=%u", hold.port, rounds);
    memset(&cr, 0, sizeof(cr));
    cr.image_va = UL(domu_image_start);
    cr.image_len = (uint64_t)(domu_image_end - domu_image_start);
    cr.mem_pages = DOMU_PAGES;
    cr.cmdline_va = UL(cmd);
    ksnprintf(cr.name, sizeof(cr.name), "%s", name);
    long d = DOMCTL(HAKO_DOMCTL_CREATE, &cr);
    check_own("after CREATE");
    XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_CLOSE, hold.port), 0, "CLOSE the held port");
    if (!XTF_CHECK(d > 0 && d < 64, "create domU %s: %ld (%s)", name, d, xtf_errname(d)))
        return 0;
    struct hako_evtchn offer = { .remote_dom = (uint16_t)d };
    if (!XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_ALLOC_UNBOUND, &offer), 0, "offer a port") ||
        offer.port != hold.port) {
        xtf_error("offered port %u, not the held port %u", offer.port, hold.port);
        DOMCTL(HAKO_DOMCTL_DESTROY, d);
        return 0;
    }
    *port = offer.port;
    return (unsigned)d;
}

/* Round r: send, then wait for the reply blocked in POLL (odd r) or yielding to the
 * domU (even r), checking dom0's state after each wait; 1 when it came within 1 s. */
static int round_trip(uint32_t port, unsigned r)
{
    if (EVTCHN(HAKO_EVTCHNOP_SEND, port))
        return 0;
    uint64_t end = now_ns() + 1000 * MS;
    for (;;) {
        if (port_test_and_clear(sh, port))
            return 1;
        if (now_ns() > end)
            return 0;
        if (r & 1) {
            poll_port(port, end);
            check_own("after blocking");
        } else {
            hako_hypercall1(HAKO_HC_sched_op, HAKO_SCHED_YIELD);
            check_own("after yielding");
        }
    }
}

/* The round trips with domU d on port; how many completed. Each one means the domU ran
 * between dom0's send and its reply; dom0's own switches-in are counted too. */
static unsigned ping_pong(const char *name, unsigned rounds, uint32_t port)
{
    unsigned done = 0;
    if (!XTF_CHECK(poll_port(port, now_ns() + 5000 * MS) == 1, "no ready event from domU %s", name))
        return 0;
    port_test_and_clear(sh, port);
    check_own("after the ready event");
    long loads0 = DEBUG_OP(HAKO_DEBUG_COUNTER, HAKO_COUNTER_CR3_LOADS);
    while (done < rounds && round_trip(port, done)) {
        done++;
        check_own("after a round");
    }
    long loads = DEBUG_OP(HAKO_DEBUG_COUNTER, HAKO_COUNTER_CR3_LOADS) - loads0;
    kprintf("domU %s: %u round trips, dom0 switched in %ld times, %u dom0 checkpoints\n",
            name, done, loads, own.points);
    XTF_CHECK(done == rounds, "domU %s: only %u of %u round trips", name, done, rounds);
    XTF_CHECK(loads >= (long)done, "dom0 switched in %ld times in %u round trips", loads, done);
    return done;
}

/* Decode a stopped `state` domU's power-off code: one check per part of it. */
static void check_domu_code(const char *name, unsigned code)
{
    unsigned entry = code & VS_ALL, rounds = code >> STATE_CODE_ROUND_SHIFT & VS_ALL;
    XTF_CHECK(!entry, "domU %s entered with non-reset %s (want null selectors, FCW 37f, "
              "MXCSR 1f80, empty zero x87 and zero XMM registers)", name, vstate_kinds(entry));
    XTF_CHECK(!rounds, "domU %s saw its own %s change across domain switches", name,
              vstate_kinds(rounds));
    XTF_CHECK(!(code & (STATE_CODE_PROTOCOL | STATE_CODE_LOAD)),
              "domU %s could not run its test: code %u (64: event channel, 128: its state "
              "did not load)", name, code);
}

/* Run one `state` domU for rounds round trips while dom0 holds its own state; check
 * both sides, then destroy it and check every frame came back. */
static void run_state_domu(const char *name, unsigned rounds)
{
    memset(&own, 0, sizeof(own));
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES, 0);
    uint32_t port = 0;
    unsigned d = create_state_domu(name, rounds, &port);
    if (!d)
        return;
    unsigned done = ping_pong(name, rounds, port);
    if (XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d), "domU %s did not stop", name)) {
        XTF_CHECK(info.state == HAKO_DOMSTATE_SHUTDOWN &&
                  info.shutdown_reason == HAKO_SHUTDOWN_POWEROFF,
                  "domU %s: state %u reason %u code %u, expected a power-off", name, info.state,
                  info.shutdown_reason, info.shutdown_code);
        XTF_CHECK(info.events == done && info.cpu_time_ns > 0,
                  "domU %s: %lu events raised on it (want %u), %lu ns of CPU", name,
                  info.events, done, info.cpu_time_ns);
        check_domu_code(name, info.shutdown_code);
    }
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), 0, what("destroy domU %s", name));
    check_own("after DESTROY");
    XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_CLOSE, port), 0, "CLOSE the round-trip port");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES, 0), free0,
                  what("destroying domU %s returns every frame", name));
    report_own(name);
}

/* dom0 itself entered in the reset state; then it loads its own. 1 if it did. */
static int set_dom0_state(void)
{
    static struct vstate reset;
    vstate_make(&reset, &vstate_reset_spec);
    vstate_read(&seen);
    vstate_print("dom0 at entry", &seen);
    unsigned kinds = vstate_diff(&seen, &reset);
    XTF_CHECK(!kinds, "dom0 entered with non-reset %s", vstate_kinds(kinds));
    vstate_make(&mine, &dom0_state);
    vstate_load(&mine);
    vstate_read(&seen);
    vstate_print("dom0 loaded", &seen);
    kinds = vstate_diff(&seen, &mine);
    return XTF_CHECK(!kinds, "dom0's own %s did not read back as loaded", vstate_kinds(kinds));
}

void test_main(const struct hako_start_info *si)
{
    sh = (struct hako_shared_info *)si->shared_info_va;
    if (!(si->flags & HAKO_SIF_PRIVILEGED)) {
        xtf_skip("not the control domain");
        return;
    }
    if (!(exc_port = bind_dom_exc()))
        return;
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES, 0);
    if (!set_dom0_state())
        return;
    run_state_domu("state1", ROUNDS);
    run_state_domu("state2", ROUNDS_SECOND);   /* a new vCPU after one was destroyed */
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 1), -HAKO_ESRCH, "no domU left");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES, 0), free0, "free frames back to the start");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_AUDIT, 0), 0, "final audit");
}
