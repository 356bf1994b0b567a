/*
 * tests/xtf/test-domains.c: domain control, event channels between domains, and the
 * credit scheduler, seen from dom0. Domains are built from the small kernel in
 * tests/xtf/domu (carried in this image), whose command line says what it does.
 *
 * Checked: domctl argument errors; create and list (NEXT/GETINFO); event ping-pong with
 * a domU (round-trip time printed); a capped busy domU gets its cap (+-10%) next to an
 * uncapped one, which gets most of the rest; blocked and paused domUs use no CPU; a
 * crashing domU is held as CRASHED with its memory and dom0 hears of it (VIRQ_DOM_EXC);
 * an unprivileged domU gets -EPERM for domctl; POLL ends only on its ports or timeout;
 * 100 create/destroy cycles and a full domain table (-ENOSPC) leak no frame; everything
 * is destroyed at the end with the free-frame count back where it started.
 */
#include "framework.h"
#include "domwait.h"
#include "privops.h"

#include <hako/domctl.h>
#include <hako/events.h>

const char test_title[] = "domains";

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define DOMCTL(cmd, arg) HC3(HAKO_HC_domctl, cmd, arg, 0)
#define EVTCHN(cmd, arg) HC3(HAKO_HC_event_channel_op, cmd, arg, 0)
#define DEBUG_OP(cmd)    HC3(HAKO_HC_debug_op, cmd, 0, 0)
#define MS 1000000ul

#define EFAULT (-HAKO_EFAULT)
#define EINVAL (-HAKO_EINVAL)
#define ENOSYS (-HAKO_ENOSYS)
#define ESRCH  (-HAKO_ESRCH)
#define ENOMEM (-HAKO_ENOMEM)
#define E2BIG  (-HAKO_E2BIG)

extern const char domu_image_start[], domu_image_end[];
#define DOMU_LEN ((uint64_t)(domu_image_end - domu_image_start))
#define DOMU_PAGES 256
/* Table fillers are small, but leave the domU image room to grow: a domain needs 12
 * pages besides its kernel (start info, shared info, p2m, 4 page tables, 4 stack pages,
 * console page), so 16 pages held a 4-page kernel at most. */
#define FILLER_PAGES 24

static struct hako_shared_info *sh;
static uint32_t idle_port, exc_port;   /* never pending; VIRQ_DOM_EXC */

/* Read-only structures (OUT buffers the hypervisor must refuse to write). */
static const struct hako_domctl_create ro_create __attribute__((aligned(8))) = {
    .mem_pages = DOMU_PAGES,
};
static const struct hako_domctl_info ro_info __attribute__((aligned(8)));
static char long_cmdline[HAKO_CMDLINE_MAX + 16];
static char garbage[4096] __attribute__((aligned(8)));
static char patched[256 << 10] __attribute__((aligned(8)));

/* ---- time, events ---------------------------------------------------------------- */

/* Sleep (blocked, not spinning) for ns. */
static void sleep_ns(uint64_t ns)
{
    uint64_t end = now_ns() + ns;
    while (now_ns() < end)
        poll_port(idle_port, end);
}

/* ---- domains ------------------------------------------------------------------------ */

static struct hako_domctl_info info __attribute__((aligned(8)));

static uint64_t cpu_ns(unsigned domid)
{
    return dom_getinfo(&info, domid) ? ~0ull : info.cpu_time_ns;
}

static struct hako_domctl_create cr __attribute__((aligned(8)));
static char cmd_buf[128];

/* A create request for the domU image: cmdline, name, pages, cap. */
static void prepare(const char *cmdline, const char *name, uint64_t pages, unsigned cap)
{
    memset(&cr, 0, sizeof(cr));
    ksnprintf(cmd_buf, sizeof(cmd_buf), "%s", cmdline);
    cr.image_va = UL(domu_image_start);
    cr.image_len = DOMU_LEN;
    cr.mem_pages = pages;
    cr.cmdline_va = UL(cmd_buf);
    ksnprintf(cr.name, sizeof(cr.name), "%s", name);
    cr.cap = (uint16_t)cap;
}

/* Create a domU; its id, or 0 after reporting a failure. */
static unsigned create(const char *cmdline, const char *name, unsigned cap)
{
    prepare(cmdline, name, DOMU_PAGES, cap);
    long rc = DOMCTL(HAKO_DOMCTL_CREATE, &cr);
    if (!XTF_CHECK(rc > 0 && rc < 64 && rc == cr.domid, "create %s (\"%s\"): rc %ld (%s), domid %u",
                   name, cmdline, rc, xtf_errname(rc), cr.domid))
        return 0;
    return (unsigned)rc;
}

static void destroy(unsigned domid)
{
    if (domid)
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, domid), 0, what("destroy d%u", domid));
}

/* Run a domU until it stops; check it powered off with code. */
static void expect_exit(const char *cmdline, unsigned code)
{
    unsigned d = create(cmdline, cmdline, 0);
    if (!d)
        return;
    if (XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d), "domU \"%s\" did not stop within 5 s", cmdline))
        XTF_CHECK(info.state == HAKO_DOMSTATE_SHUTDOWN &&
                  info.shutdown_reason == HAKO_SHUTDOWN_POWEROFF && info.shutdown_code == code,
                  "domU \"%s\": state %u reason %u code %u, expected shutdown/poweroff/%u",
                  cmdline, info.state, info.shutdown_reason, info.shutdown_code, code);
    destroy(d);
}

/* Per mille of elapsed that cpu is, and "12.3" formatting of it. */
static uint64_t permille(uint64_t cpu, uint64_t elapsed)
{
    return elapsed ? cpu * 1000 / elapsed : 0;
}
#define PM(x) (x) / 10, (x) % 10

/* ---- the tests -------------------------------------------------------------------- */

static void test_errors(void)
{
    static struct hako_domctl_sched s __attribute__((aligned(8)));
    char *p = (char *)&cr;
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);

    XTF_EXPECT_RC(DOMCTL(7, 0), ENOSYS, "unknown domctl 7");
    XTF_EXPECT_RC(DOMCTL(0x100000000ull, 0), ENOSYS, "unknown domctl 2^32");
    XTF_EXPECT_RC(DOMCTL(~0ull, &cr), ENOSYS, "unknown domctl ~0");

    /* Pointers: bad, misaligned, read-only OUT buffers. */
    const uint64_t bad[] = { 0, 0x1000, 0x0000800000000000ull, HAKO_HV_VA_START,
                             0xFFFFFFFFFFFFFFF8ull };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, bad[i]), EFAULT, what("CREATE at %lx", bad[i]));
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, bad[i]), EFAULT, what("GETINFO at %lx", bad[i]));
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_SET_SCHED, bad[i]), EFAULT, what("SET_SCHED at %lx", bad[i]));
    }
    prepare("exit=0", "misaligned", DOMU_PAGES, 0);
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, p + 4), EINVAL, "CREATE misaligned");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, UL(&info) + 2), EINVAL, "GETINFO misaligned");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_SET_SCHED, UL(&s) + 1), EINVAL, "SET_SCHED misaligned");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &ro_create), EFAULT, "CREATE with read-only arg");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, &ro_info), EFAULT, "GETINFO into read-only buffer");

    /* CREATE field checks: each request differs from a valid one in one field. */
#define BAD_CREATE(field_edit, rc, desc) do { \
        prepare("exit=0", "bad", DOMU_PAGES, 0); field_edit; \
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), rc, "CREATE " desc); } while (0)
    BAD_CREATE(cr.image_len = 0, EINVAL, "image_len 0");
    BAD_CREATE(cr.image_len = HAKO_DOMCTL_IMAGE_MAX + 1, EINVAL, "image_len IMAGE_MAX+1");
    BAD_CREATE(cr.image_len = ~0ull, EINVAL, "image_len ~0");
    BAD_CREATE(cr.mem_pages = 0, EINVAL, "mem_pages 0");
    BAD_CREATE(cr.cap = 101, EINVAL, "cap 101");
    BAD_CREATE(cr.cap = 0xFFFF, EINVAL, "cap 65535");
    BAD_CREATE(cr._pad0 = 1, EINVAL, "_pad0 != 0");
    BAD_CREATE(cr._reserved[1] = 1, EINVAL, "_reserved[1] != 0");
    BAD_CREATE(memset(cr.name, 'n', sizeof(cr.name)), EINVAL, "name without NUL");
    BAD_CREATE(cr.image_va = 0, EFAULT, "image_va NULL");
    BAD_CREATE(cr.image_va = HAKO_HV_VA_START, EFAULT, "image_va in the hypervisor");
    BAD_CREATE(cr.cmdline_va = 0x1000, EFAULT, "cmdline_va unmapped");
    memset(long_cmdline, 'a', sizeof(long_cmdline) - 1);
    BAD_CREATE(cr.cmdline_va = UL(long_cmdline), EINVAL, "cmdline of 1039 bytes");
    BAD_CREATE(cr.mem_pages = 1ull << 40, ENOMEM, "mem_pages 2^40");
    /* The builder's errors come back unchanged. */
    memset(garbage, 0x5A, sizeof(garbage));
    BAD_CREATE((cr.image_va = UL(garbage), cr.image_len = sizeof(garbage)), EINVAL,
               "garbage image (bad ELF magic)");
    BAD_CREATE(cr.image_len = 64, EINVAL, "image cut after the ELF header");
    if (XTF_CHECK(DOMU_LEN <= sizeof(patched), "domU image is %lu bytes", DOMU_LEN)) {
        memcpy(patched, domu_image_start, DOMU_LEN);
        patched[18] = 3;                        /* e_machine = EM_386 */
        BAD_CREATE(cr.image_va = UL(patched), EINVAL, "image for another machine");
    }
    if (DOMU_LEN <= sizeof(patched)) {
        uint64_t *ph = (uint64_t *)(patched + *(uint64_t *)(patched + 32));
        memcpy(patched, domu_image_start, DOMU_LEN);
        ph[2] = HAKO_HV_VA_START;               /* first PT_LOAD's p_vaddr */
        BAD_CREATE(cr.image_va = UL(patched), -HAKO_ERANGE, "segment in the hypervisor range");
    }
    BAD_CREATE(cr.mem_pages = 1, E2BIG, "1 page: kernel does not fit");
    BAD_CREATE(cr.mem_pages = 10, ENOMEM, "10 pages: no room for the boot layout");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 1), ESRCH, "no domain left behind by refused creates");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free0, "refused creates leak no frame");

    /* Self and nonexistent targets. */
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, 0), EINVAL, "DESTROY self");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_PAUSE, 0), EINVAL, "PAUSE self");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_UNPAUSE, 0), EINVAL, "UNPAUSE self");
    const uint64_t none[] = { 1, 63, 64, 0xFFFF, 0x10000, ~0ull };
    for (unsigned i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, none[i]), ESRCH, what("DESTROY %lx", none[i]));
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_PAUSE, none[i]), ESRCH, what("PAUSE %lx", none[i]));
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_UNPAUSE, none[i]), ESRCH, what("UNPAUSE %lx", none[i]));
        if (none[i] <= 0xFFFF)          /* GETINFO's domid is 16 bits */
            XTF_EXPECT_RC(dom_getinfo(&info, (unsigned)none[i]), ESRCH, what("GETINFO %lx", none[i]));
    }
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 1), ESRCH, "NEXT 1 (dom0 alone)");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 64), ESRCH, "NEXT 64");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, ~0ull), ESRCH, "NEXT ~0");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 0), 0, "NEXT 0 finds dom0");

    /* SET_SCHED. */
    s = (struct hako_domctl_sched){ .domid = 5, .weight = 256 };
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_SET_SCHED, &s), ESRCH, "SET_SCHED nonexistent d5");
    s = (struct hako_domctl_sched){ .domid = 0, .weight = 0 };
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_SET_SCHED, &s), EINVAL, "SET_SCHED weight 0");
    s = (struct hako_domctl_sched){ .domid = 0, .weight = 256, .cap = 101 };
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_SET_SCHED, &s), EINVAL, "SET_SCHED cap 101");
    s = (struct hako_domctl_sched){ .domid = 0, .weight = 256, ._pad0 = 1 };
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_SET_SCHED, &s), EINVAL, "SET_SCHED _pad0 != 0");
    if (XTF_EXPECT_RC(dom_getinfo(&info, 0), 0, "GETINFO dom0"))
        XTF_CHECK(info.domid == 0 && info.state == HAKO_DOMSTATE_RUNNING &&
                  (info.flags & HAKO_SIF_PRIVILEGED) && !memcmp(info.name, "dom0", 5) &&
                  info.weight == 256 && info.cap == 0 && info.nr_pages == (32 << 20) / 4096,
                  "dom0 info: state %u flags %x name %s weight %u cap %u pages %lu",
                  info.state, info.flags, info.name, info.weight, info.cap, info.nr_pages);
    /* A PV domain: mode PV, and the trap-mode counters (ABI 0.8) all 0. */
    int zero = info.mode == HAKO_DOMMODE_PV && info._pad1 == 0;
    for (unsigned k = 0; k < HAKO_EMUL_SLOTS; k++)
        zero &= info.emulated[k] == 0;
    XTF_CHECK(zero, "dom0 (PV) info: mode %u pad %u, emulated[] all 0", info.mode, info._pad1);
}

static void test_list(void)
{
    prepare("block", "lister", 300, 0);
    cr.weight = 512;
    long d = DOMCTL(HAKO_DOMCTL_CREATE, &cr);
    if (!XTF_CHECK(d > 0 && d < 64 && cr.domid == d, "create: rc %ld domid %u", d, cr.domid))
        return;
    unsigned id = (unsigned)d;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 0), 0, "NEXT 0");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 1), id, "NEXT 1 lists the domU");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, id), id, "NEXT id lists the domU");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, id + 1), ESRCH, "NEXT id+1 ends the list");
    if (XTF_EXPECT_RC(dom_getinfo(&info, id), 0, "GETINFO domU"))
        XTF_CHECK(info.domid == id && !memcmp(info.name, "lister", 7) && info.nr_pages == 300 &&
                  info.state == HAKO_DOMSTATE_RUNNING && info.weight == 512 && info.cap == 0 &&
                  info.flags == 0,
                  "domU info: name %s pages %lu state %u weight %u cap %u flags %x", info.name,
                  info.nr_pages, info.state, info.weight, info.cap, info.flags);
    static struct hako_domctl_sched s __attribute__((aligned(8))) = { .weight = 7, .cap = 40 };
    s.domid = (uint16_t)id;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_SET_SCHED, &s), 0, "SET_SCHED weight 7 cap 40");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_PAUSE, id), 0, "PAUSE domU");
    if (XTF_EXPECT_RC(dom_getinfo(&info, id), 0, "GETINFO domU"))
        XTF_CHECK(info.weight == 7 && info.cap == 40 && info.state == HAKO_DOMSTATE_PAUSED,
                  "domU after SET_SCHED+PAUSE: weight %u cap %u state %u", info.weight, info.cap,
                  info.state);
    destroy(id);
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 1), ESRCH, "NEXT 1 after destroy");
    XTF_EXPECT_RC(dom_getinfo(&info, id), ESRCH, "GETINFO destroyed domU");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, id), ESRCH, "DESTROY twice");
    prepare("exit=0", "", DOMU_PAGES, 0);
    d = DOMCTL(HAKO_DOMCTL_CREATE, &cr);
    XTF_CHECK(d > 0, "create after destroy: rc %ld", d);
    if (d > 0 && XTF_EXPECT_RC(dom_getinfo(&info, (unsigned)d), 0, "GETINFO unnamed"))
        XTF_CHECK(!memcmp(info.name, "domU", 5) && info.weight == 256,
                  "unnamed domain: name \"%s\", weight %u (want \"domU\", 256)", info.name,
                  info.weight);
    if (d > 0)
        destroy((unsigned)d);
}

static void test_ping(void)
{
    enum { ROUNDS = 100 };
    /* The port goes on the domU's command line, but can only be offered once the domU
     * exists: hold a port number (offered to ourselves) across the create, then close it
     * and offer the lowest free port, which is that one, to the new domain. The domU
     * retries its bind until the offer is there. */
    struct hako_evtchn op = { .remote_dom = 0 };
    if (!XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_ALLOC_UNBOUND, &op), 0, "ALLOC_UNBOUND (hold)"))
        return;
    unsigned port = op.port;
    char cmd[64];
    ksnprintf(cmd, sizeof(cmd), "ping dom=0 port=%u n=%u", port, ROUNDS);
    unsigned d = create(cmd, "ping", 0);
    XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_CLOSE, port), 0, "CLOSE the held port");
    if (!d)
        return;
    op = (struct hako_evtchn){ .remote_dom = (uint16_t)d };
    if (!XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_ALLOC_UNBOUND, &op), 0, "ALLOC_UNBOUND for domU") ||
        op.port != port) {
        xtf_error("offered port %u, not the lowest free port %u", op.port, port);
        destroy(d);
        return;
    }
    if (XTF_CHECK(poll_port(port, now_ns() + 5000 * MS) == 1, "no ready event from the domU")) {
        struct hako_evtchn st = { .port = port };
        XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_STATUS, &st), 0, "STATUS of the ping port");
        XTF_CHECK(st.state == HAKO_EVTCHN_INTERDOMAIN && st.remote_dom == d && st.remote_port,
                  "ping port: state %u remote d%u:%u", st.state, st.remote_dom, st.remote_port);
        port_test_and_clear(sh, port);
        unsigned done = 0;
        uint64_t t0 = now_ns();
        for (; done < ROUNDS; done++) {
            if (EVTCHN(HAKO_EVTCHNOP_SEND, port) != 0 || poll_port(port, now_ns() + 1000 * MS) != 1)
                break;
            port_test_and_clear(sh, port);
        }
        uint64_t t1 = now_ns();
        if (XTF_CHECK(done == ROUNDS, "ping-pong stalled after %u of %u round trips", done, ROUNDS))
            kprintf("event ping-pong: %u round trips, average %lu ns\n", done, (t1 - t0) / done);
        if (XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d), "ping domU did not stop"))
            XTF_CHECK(info.state == HAKO_DOMSTATE_SHUTDOWN && info.shutdown_code == 0 &&
                      info.events == ROUNDS,
                      "ping domU: state %u code %u, %lu events raised (want %u)", info.state,
                      info.shutdown_code, info.events, ROUNDS);
    }
    destroy(d);
    /* Destroying the peer leaves dom0's end unbound: sends fail, the port can be closed. */
    struct hako_evtchn st = { .port = port };
    XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_STATUS, &st), 0, "STATUS after peer destroyed");
    XTF_CHECK(st.state == HAKO_EVTCHN_UNBOUND, "port state %u after peer destroyed", st.state);
    XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_SEND, port), -HAKO_ENOTCONN, "SEND to destroyed peer");
    XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_CLOSE, port), 0, "CLOSE the ping port");
}

/* Blocked, capped, uncapped and paused domains: who gets the CPU while dom0 sleeps. */
static void test_sched(void)
{
    unsigned blk = create("block", "blocker", 0);
    unsigned capd = create("spin", "spin-cap25", 25);
    unsigned free = create("spin", "spin-free", 0);
    if (!blk || !capd || !free)
        goto out;
    sleep_ns(100 * MS);                         /* everyone booted; blocker blocked */
    uint64_t b0 = cpu_ns(blk), c0 = cpu_ns(capd), f0 = cpu_ns(free), t0 = now_ns();
    sleep_ns(1500 * MS);
    uint64_t b1 = cpu_ns(blk), c1 = cpu_ns(capd), f1 = cpu_ns(free), t1 = now_ns();
    uint64_t el = t1 - t0, cs = permille(c1 - c0, el), fs = permille(f1 - f0, el);
    kprintf("CPU over %lu ms: capped(25%%) %lu.%lu%%, uncapped %lu.%lu%%, blocked %lu ns\n",
            el / MS, PM(cs), PM(fs), b1 - b0);
    XTF_CHECK(cs >= 225 && cs <= 275, "capped domU got %lu.%lu%% of the CPU, cap 25%% (+-10%%)",
              PM(cs));
    XTF_CHECK(fs >= 800 * (1000 - cs) / 1000 && cs + fs <= 1010,
              "uncapped domU got %lu.%lu%% next to the capped one's %lu.%lu%%", PM(fs), PM(cs));
    XTF_CHECK(b0 > 0 && b1 == b0, "blocked domU ran: cpu_time %lu -> %lu ns", b0, b1);
    XTF_CHECK(dom_getinfo(&info, blk) == 0 && info.state == HAKO_DOMSTATE_RUNNING,
              "blocked domU state %u, expected RUNNING", info.state);

    /* Pause the uncapped one: it stops; the capped one still keeps to its cap alone. */
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_PAUSE, free), 0, "PAUSE spinning domU");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_PAUSE, free), 0, "PAUSE it again");
    XTF_CHECK(dom_getinfo(&info, free) == 0 && info.state == HAKO_DOMSTATE_PAUSED, "state %u, expected PAUSED",
              info.state);
    f0 = cpu_ns(free), c0 = cpu_ns(capd), t0 = now_ns();
    sleep_ns(1500 * MS);
    f1 = cpu_ns(free), c1 = cpu_ns(capd), t1 = now_ns();
    cs = permille(c1 - c0, t1 - t0);
    kprintf("paused domU: %lu ns in %lu ms; capped domU alone: %lu.%lu%%\n", f1 - f0,
            (t1 - t0) / MS, PM(cs));
    XTF_CHECK(f1 == f0, "paused domU ran %lu ns", f1 - f0);
    XTF_CHECK(cs >= 225 && cs <= 275, "capped domU alone got %lu.%lu%%, cap 25%% (+-10%%)", PM(cs));
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_UNPAUSE, free), 0, "UNPAUSE spinning domU");
    XTF_CHECK(dom_getinfo(&info, free) == 0 && info.state == HAKO_DOMSTATE_RUNNING,
              "state %u after UNPAUSE", info.state);
    f0 = cpu_ns(free), t0 = now_ns();
    sleep_ns(300 * MS);
    f1 = cpu_ns(free), t1 = now_ns();
    fs = permille(f1 - f0, t1 - t0);
    kprintf("unpaused domU: %lu.%lu%%\n", PM(fs));
    XTF_CHECK(fs >= 500, "unpaused domU got only %lu.%lu%% of the CPU", PM(fs));
out:
    destroy(blk);
    destroy(capd);
    destroy(free);
}

static void test_stops(void)
{
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
    port_test_and_clear(sh, exc_port);                   /* before: the crash may come at once */
    unsigned d = create("crash", "crasher", 0);
    if (d) {
        long held = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
        XTF_CHECK(poll_port(exc_port, now_ns() + 5000 * MS) == 1, "no VIRQ_DOM_EXC for the crash");
        if (XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d), "crashing domU did not stop"))
            XTF_CHECK(info.state == HAKO_DOMSTATE_CRASHED &&
                      info.shutdown_reason == HAKO_SHUTDOWN_CRASH && info.shutdown_code == 14 &&
                      info.traps[14] == 1 && info.nr_pages == DOMU_PAGES,
                      "crashed domU: state %u reason %u code %u, %lu page faults, %lu pages",
                      info.state, info.shutdown_reason, info.shutdown_code, info.traps[14],
                      info.nr_pages);
        XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), held, "crashed domU keeps its frames");
        XTF_CHECK(free0 - held >= DOMU_PAGES, "domU holds %ld frames", free0 - held);
        destroy(d);
        XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free0, "destroy frees all its frames");
    }
    d = create("domctl", "domctl", 0);
    if (d && XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d), "domctl domU did not stop"))
        XTF_CHECK(info.state == HAKO_DOMSTATE_SHUTDOWN && info.shutdown_code == 0 &&
                  info.hypercalls[HAKO_HC_domctl] == 8,
                  "domctl domU: state %u code %u (1: some call was not -EPERM), %lu domctls",
                  info.state, info.shutdown_code, info.hypercalls[HAKO_HC_domctl]);
    destroy(d);
    expect_exit("exit=42", 42);
    expect_exit("exit=0", 0);
}

/* POLL returns 1 for a polled port, else 0 only at its timeout (hypercall.h), even when
 * an event for another port arrives meanwhile. */
static void test_poll(void)
{
    struct hako_evtchn op = { .virq = HAKO_VIRQ_TIMER };
    if (!XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_BIND_VIRQ, &op), 0, "BIND_VIRQ TIMER"))
        return;
    uint32_t tport = op.port;
    uint64_t t0 = now_ns();
    XTF_EXPECT_RC(poll_port(idle_port, t0 - 1), 0, "POLL with a past timeout");
    XTF_EXPECT_RC(HC3(HAKO_HC_set_timer_op, HAKO_TIMER_ONESHOT, now_ns() + 20 * MS, 0), 0, "timer");
    XTF_EXPECT_RC(poll_port(tport, now_ns() + 1000 * MS), 1, "POLL on the timer port");
    XTF_CHECK(now_ns() - t0 >= 20 * MS, "timer fired after %lu ns, set for 20 ms", now_ns() - t0);
    port_test_and_clear(sh, tport);
    /* An unrelated event, notified afresh (selector and upcall flag clear). */
    __atomic_store_n(&sh->vcpu_info[0].evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sh->vcpu_info[0].evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    XTF_EXPECT_RC(HC3(HAKO_HC_set_timer_op, HAKO_TIMER_ONESHOT, now_ns() + 20 * MS, 0), 0, "timer");
    t0 = now_ns();
    long r = poll_port(idle_port, t0 + 200 * MS);
    uint64_t t1 = now_ns();
    XTF_CHECK(r == 0 && t1 - t0 >= 200 * MS,
              "POLL(idle port, 200 ms) returned %ld after %lu ms (an event on another port came at 20 ms)",
              r, (t1 - t0) / MS);
    XTF_CHECK(port_test_and_clear(sh, tport), "timer port not pending after the poll");
    XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_CLOSE, tport), 0, "CLOSE timer port");
}

static void test_leaks(void)
{
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
    unsigned i, ok = 0;
    for (i = 0; i < 100; i++) {
        unsigned d = create(i % 10 ? "block" : "exit=7", "cycle", 0);
        if (!d)
            break;
        if (i % 10 == 0)                       /* every tenth runs to its end first */
            XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d) && info.shutdown_code == 7, "cycle %u: domU did not exit", i);
        else if (i % 10 == 5)                  /* another runs a little first */
            sleep_ns(5 * MS);
        ok += DOMCTL(HAKO_DOMCTL_DESTROY, d) == 0;
    }
    XTF_CHECK(ok == 100, "%u of 100 create/destroy cycles succeeded", ok);
    /* Fill the domain table (64 ids, dom0 included), then empty it again. */
    unsigned n = 0;
    long rc;
    for (;;) {
        prepare("block", "filler", FILLER_PAGES, 0);
        if ((rc = DOMCTL(HAKO_DOMCTL_CREATE, &cr)) <= 0)
            break;
        n++;
    }
    XTF_CHECK(n == 63 && rc == -HAKO_ENOSPC, "table full after %u domUs with %ld (%s), want 63, -ENOSPC",
              n, rc, xtf_errname(rc));
    for (long d; (d = DOMCTL(HAKO_DOMCTL_NEXT, 1)) > 0 && n; n--)
        DOMCTL(HAKO_DOMCTL_DESTROY, d);
    long free1 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
    kprintf("100 create/destroy cycles: free frames %ld -> %ld\n", free0, free1);
    XTF_EXPECT_RC(free1, free0, "create/destroy x100 leaks no frame");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_AUDIT), 0, "audit after the cycles");
}

/* Hypercall fuzzing: domUs make thousands of random hypercalls with hostile arguments.
 * Whatever they do to themselves, the hypervisor and dom0 carry on, a fuzzer that
 * finishes finds its reference counts consistent, and destroying them returns every
 * frame. */
static void test_fuzz(void)
{
    long free0 = hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_FREE_FRAMES);
    unsigned finished = 0, stopped = 0;
    for (unsigned seed = 1; seed <= 8; seed++) {
        char cmd[64];
        ksnprintf(cmd, sizeof(cmd), "fuzz seed=%u n=20000", seed);
        unsigned d = create(cmd, "fuzz", 0);
        if (!d)
            continue;
        if (dom_wait_stopped(sh, exc_port, &info, d)) {
            stopped++;
            if (info.state == HAKO_DOMSTATE_SHUTDOWN) {
                finished++;
                XTF_CHECK(info.shutdown_code == 0,
                          "fuzzer seed %u finished with an inconsistent audit", seed);
            }
        }
        destroy(d);                     /* running, blocked, stopped or crashed alike */
    }
    kprintf("fuzz: 8 domUs, %u stopped by themselves, %u finished all their calls\n",
            stopped, finished);
    XTF_CHECK(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_FREE_FRAMES) == free0,
              "fuzzing leaked frames");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "dom0 audit after fuzzing");
}

void test_main(const struct hako_start_info *si)
{
    sh = (struct hako_shared_info *)si->shared_info_va;
    if (!(si->flags & HAKO_SIF_PRIVILEGED)) {
        xtf_skip("not the control domain");
        return;
    }
    struct hako_evtchn op = { .remote_dom = 0 };
    if (evtchn_struct(HAKO_EVTCHNOP_ALLOC_UNBOUND, &op)) {
        xtf_error("cannot allocate an idle port");
        return;
    }
    idle_port = op.port;
    if (!(exc_port = bind_dom_exc()))
        return;
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);

    test_errors();
    test_list();
    test_ping();
    test_sched();
    test_stops();
    test_poll();
    test_leaks();
    test_fuzz();

    for (long d; (d = DOMCTL(HAKO_DOMCTL_NEXT, 1)) > 0;) {
        xtf_failure("d%ld still exists at the end", d);
        DOMCTL(HAKO_DOMCTL_DESTROY, d);
    }
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free0, "free frames back to the start");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_AUDIT), 0, "final audit");
}
