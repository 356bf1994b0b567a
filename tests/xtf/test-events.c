/*
 * tests/xtf/test-events.c: event channels, upcalls, BLOCK/POLL, time and timers, and the
 * failsafe callback (events.h, ABI.md 7.3 and 14). Every error path must return the
 * documented code; events must be delivered exactly as 14.2 describes (pending bit,
 * selector, upcall_pending, the upcall mask); timers must never fire early.
 */
#include "framework.h"

#include <hako/events.h>
#include <hako/traps.h>

#include "trap.h"

const char test_title[] = "events";

#define UL(x)  ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define EVT(cmd, arg)    HC3(HAKO_HC_event_channel_op, cmd, arg, 0)
#define TIMER(cmd, v)    HC3(HAKO_HC_set_timer_op, cmd, v, 0)
#define BLOCK()          HC3(HAKO_HC_sched_op, HAKO_SCHED_BLOCK, 0, 0)
#define RAISE_DEBUG()    HC3(HAKO_HC_debug_op, HAKO_DEBUG_RAISE_VIRQ, 0, 0)
#define VERSION()        HC3(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0)
#define CALLBACK(t, a)   HC3(HAKO_HC_set_callback, t, a, 0)
#define POLL(p, n, to)   hako_hypercall6(HAKO_HC_sched_op, HAKO_SCHED_POLL, UL(p), UL(n), UL(to), 0, 0)

#define EINVAL   (-HAKO_EINVAL)
#define EFAULT   (-HAKO_EFAULT)
#define ENOSYS   (-HAKO_ENOSYS)
#define ESRCH    (-HAKO_ESRCH)
#define EEXIST   (-HAKO_EEXIST)
#define ENOSPC   (-HAKO_ENOSPC)
#define ENOTCONN (-HAKO_ENOTCONN)

#define MS 1000000ull
#define FS_MARK 0xF5F5F5F5ul       /* rax the failsafe handler resumes with */

extern char guest_trap_entry[];

static struct hako_shared_info *sh;
static struct hako_vcpu_info *vi;

/* ---- shared-info helpers -------------------------------------------------------- */

#define LD(x)     __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define ST(x, v)  __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static int pending(long p) { return (LD(sh->evtchn_pending[p / 64]) >> (p % 64)) & 1; }
static int sel_bit(long p) { return (LD(vi->evtchn_pending_sel) >> (p / 64)) & 1; }
static void set_port_mask(long p, int on)
{
    if (on)
        __atomic_fetch_or(&sh->evtchn_mask[p / 64], 1ull << (p % 64), __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&sh->evtchn_mask[p / 64], ~(1ull << (p % 64)), __ATOMIC_SEQ_CST);
}

/* Mask upcalls and forget every pending event (all ports are ours). */
static void quiesce(void)
{
    ST(vi->evtchn_upcall_mask, 1);
    for (unsigned w = 0; w < HAKO_NR_EVENT_CHANNELS / 64; w++)
        ST(sh->evtchn_pending[w], 0);
    ST(vi->evtchn_pending_sel, 0);
    ST(vi->evtchn_upcall_pending, 0);
}

/* System time from vcpu_info with the version protocol of ABI.md 14.4. */
static uint64_t now_ns(void)
{
    const volatile struct hako_vcpu_time_info *ti = &vi->time;
    uint32_t v;
    uint64_t t;
    do {
        v = ti->version;
        __asm__ volatile("" ::: "memory");
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        uint64_t d = (((uint64_t)hi << 32) | lo) - ti->tsc_timestamp;
        int8_t sh_ = ti->tsc_shift;
        d = sh_ >= 0 ? d << sh_ : d >> -sh_;
        t = ti->system_time + (uint64_t)(((unsigned __int128)d * ti->tsc_to_system_mul) >> 32);
        __asm__ volatile("" ::: "memory");
    } while ((v & 1) || v != ti->version);
    return t;
}

/* ---- event_channel_op wrappers --------------------------------------------------- */

static struct hako_evtchn op __attribute__((aligned(16)));

static long ev_op(unsigned cmd, uint32_t port, uint16_t rdom, uint32_t rport, uint32_t virq)
{
    op = (struct hako_evtchn){ .port = port, .remote_port = rport, .remote_dom = rdom,
                               .virq = virq };
    long rc = EVT(cmd, &op);
    return rc ? rc : (cmd == HAKO_EVTCHNOP_STATUS ? 0 : (long)op.port);
}
#define ALLOC_UNBOUND(d)   ev_op(HAKO_EVTCHNOP_ALLOC_UNBOUND, 0, d, 0, 0)
#define BIND_INTER(d, p)   ev_op(HAKO_EVTCHNOP_BIND_INTERDOMAIN, 0, d, p, 0)
#define BIND_VIRQ(v)       ev_op(HAKO_EVTCHNOP_BIND_VIRQ, 0, 0, 0, v)

/* STATUS of port p must be exactly (state, rdom, rport, virq). */
static void expect_status(unsigned p, unsigned state, unsigned rdom, unsigned rport,
                          unsigned virq, const char *ctx)
{
    if (!XTF_EXPECT_RC(ev_op(HAKO_EVTCHNOP_STATUS, p, 0xAAAA, 0xAAAA, 0xAAAA), 0,
                       what("STATUS port %u (%s)", p, ctx)))
        return;
    XTF_CHECK(op.state == state && op.remote_dom == rdom && op.remote_port == rport &&
                  op.virq == virq && op.port == p,
              "STATUS port %u (%s): state %u dom %u rport %u virq %u, expected %u %u %u %u",
              p, ctx, op.state, op.remote_dom, op.remote_port, op.virq, state, rdom, rport, virq);
}

/* ---- the event / failsafe handler ------------------------------------------------ */

static volatile unsigned n_upcalls, n_failsafe;
static volatile uint32_t port_hits[HAKO_NR_EVENT_CHANNELS];
static volatile uint64_t port_seen_ns[HAKO_NR_EVENT_CHANNELS];
static volatile uint8_t mask_in_handler, reraise;
static struct hako_trap_frame last_ev, last_fs;

void guest_trap(struct guest_regs *regs, struct hako_trap_frame *f)
{
    (void)regs;
    if (f->vector == HAKO_TRAP_EVENT) {
        uint64_t t = now_ns();
        n_upcalls++;
        last_ev = *f;
        mask_in_handler = LD(vi->evtchn_upcall_mask);
        ST(vi->evtchn_upcall_pending, 0);
        uint64_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        while (sel) {
            unsigned w = (unsigned)__builtin_ctzll(sel);
            sel &= sel - 1;
            uint64_t bits = LD(sh->evtchn_pending[w]) & ~LD(sh->evtchn_mask[w]);
            while (bits) {
                unsigned b = (unsigned)__builtin_ctzll(bits);
                bits &= bits - 1;
                __atomic_fetch_and(&sh->evtchn_pending[w], ~(1ull << b), __ATOMIC_SEQ_CST);
                port_hits[w * 64 + b]++;
                port_seen_ns[w * 64 + b] = t;
            }
        }
        if (reraise) {              /* pending again when the handler irets */
            reraise = 0;
            RAISE_DEBUG();
        }
        return;
    }
    if (f->vector == HAKO_TRAP_FAILSAFE) {
        n_failsafe++;
        last_fs = *f;
        f->rax = FS_MARK;
        return;
    }
    kprintf("FAIL: unexpected trap vector %lu at rip %lx (error %lx, addr %lx)\n", f->vector,
            f->rip, f->error_code, f->fault_addr);
    HC3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, HAKO_SHUTDOWN_CRASH, 1);
}

/* long iret_to(frame): the iret hypercall with rsp = frame; returns rax when refused.
 * long unmask_version(&upcall_mask): clear the mask and call version(ABI) in one
 * translation block, so the upcall can only come on the way out of the hypercall. */
long iret_to(struct hako_trap_frame *f);
long unmask_version(volatile uint8_t *mask);
extern char iret_to_ret[], unmask_version_ret[];
__asm__(".pushsection .text\n"
        ".globl iret_to\n"
        "iret_to:\n"
        "    pushq %rbx\n    movq %rsp, %rbx\n    movq %rdi, %rsp\n"
        "    movl $9, %eax\n    syscall\n"
        ".globl iret_to_ret\n"
        "iret_to_ret:\n"
        "    movq %rbx, %rsp\n    popq %rbx\n    ret\n"
        ".globl unmask_version\n"
        "unmask_version:\n"
        "    movq %rdi, %rdx\n    xorl %edi, %edi\n    xorl %esi, %esi\n"
        "    movl $1, %eax\n    movb $0, (%rdx)\n    syscall\n"
        ".globl unmask_version_ret\n"
        "unmask_version_ret:\n"
        "    ret\n"
        ".popsection\n");
_Static_assert(HAKO_HC_iret == 9 && HAKO_HC_version == 1 && HAKO_VERSION_ABI == 0, "asm");

static uint8_t fs_stack[8192] __attribute__((aligned(16)));

/* ---- the test ------------------------------------------------------------------- */

static void test_errors(const struct hako_start_info *si, uint16_t me)
{
    static const uint64_t bad_cmds[] = { 7, 8, 0xff, ~0ul, 1ul << 32, (1ul << 32) | 2 };
    for (unsigned i = 0; i < sizeof(bad_cmds) / sizeof(bad_cmds[0]); i++)
        XTF_EXPECT_RC(EVT(bad_cmds[i], &op), ENOSYS, what("event_channel_op cmd %lx",
                                                          bad_cmds[i]));
    static uint8_t buf[64] __attribute__((aligned(16)));
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_STATUS, buf + 4), EINVAL, "STATUS, struct misaligned by 4");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_BIND_VIRQ, buf + 1), EINVAL, "BIND_VIRQ, odd struct");
    static const uint64_t bad_ptrs[] = { 0, 0x1000, HAKO_LOWER_HALF_END, 0x8000000000000000ul,
                                         HAKO_HV_VA_START, HAKO_LOWER_HALF_END - 8,
                                         0xFFFFFFFFFFFFFFF8ul };
    for (unsigned i = 0; i < sizeof(bad_ptrs) / sizeof(bad_ptrs[0]); i++)
        for (unsigned cmd = 0; cmd <= HAKO_EVTCHNOP_STATUS; cmd++)
            XTF_EXPECT_RC(EVT(cmd, bad_ptrs[i]), EFAULT, what("cmd %u struct at %lx", cmd,
                                                              bad_ptrs[i]));
    /* A readable but read-only struct (the initial L4) is refused: it is an OUT buffer. */
    uint64_t l4_0 = ((const volatile uint64_t *)si->pt_base_va)[0];
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_STATUS, si->pt_base_va), EFAULT, "STATUS into the RO L4");
    XTF_CHECK(((const volatile uint64_t *)si->pt_base_va)[0] == l4_0, "STATUS wrote the RO L4");

    XTF_EXPECT_RC(BIND_VIRQ(HAKO_NR_VIRQS), EINVAL, "BIND_VIRQ virq HAKO_NR_VIRQS");
    XTF_EXPECT_RC(BIND_VIRQ(0xFFFFFFFFu), EINVAL, "BIND_VIRQ virq ~0");
    XTF_EXPECT_RC(ALLOC_UNBOUND(63), ESRCH, "ALLOC_UNBOUND for domain 63");
    XTF_EXPECT_RC(ALLOC_UNBOUND(0xFFFF), ESRCH, "ALLOC_UNBOUND for domain 0xffff");
    XTF_EXPECT_RC(BIND_INTER(63, 1), ESRCH, "BIND_INTERDOMAIN to domain 63");
    XTF_EXPECT_RC(BIND_INTER(me, 0), EINVAL, "BIND_INTERDOMAIN to own port 0");
    XTF_EXPECT_RC(BIND_INTER(me, 1), EINVAL, "BIND_INTERDOMAIN to own free port 1");
    XTF_EXPECT_RC(BIND_INTER(me, 1024), EINVAL, "BIND_INTERDOMAIN to own port 1024");
    static const uint64_t bad_ports[] = { 0, HAKO_NR_EVENT_CHANNELS, 0xFFFF, 1ul << 32, ~0ul };
    for (unsigned i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
        uint64_t p = bad_ports[i];
        XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_SEND, p), EINVAL, what("SEND port %lx", p));
        XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_CLOSE, p), EINVAL, what("CLOSE port %lx", p));
        XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_UNMASK, p), EINVAL, what("UNMASK port %lx", p));
        if (p <= 0xFFFFFFFFu)
            XTF_EXPECT_RC(ev_op(HAKO_EVTCHNOP_STATUS, (uint32_t)p, 0, 0, 0), EINVAL,
                          what("STATUS port %lx", p));
    }
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_SEND, 5), EINVAL, "SEND on a free port");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_CLOSE, 5), EINVAL, "CLOSE of a free port");
    expect_status(5, HAKO_EVTCHN_FREE, 0, 0, 0, "free");

    /* Fill the table: exactly ports 1..1023 can be allocated, then ENOSPC. */
    unsigned n = 0;
    long rc;
    while ((rc = ALLOC_UNBOUND(me)) > 0 && n < 2000)
        n++;
    XTF_EXPECT_RC(rc, ENOSPC, "ALLOC_UNBOUND with every port in use");
    XTF_CHECK(n == HAKO_NR_EVENT_CHANNELS - 1, "%u ports could be allocated, expected 1023", n);
    XTF_EXPECT_RC(BIND_VIRQ(HAKO_VIRQ_DEBUG), ENOSPC, "BIND_VIRQ with every port in use");
    unsigned closed = 0;
    for (unsigned p = 1; p < HAKO_NR_EVENT_CHANNELS; p++)
        closed += EVT(HAKO_EVTCHNOP_CLOSE, p) == 0;
    XTF_CHECK(closed == n, "closed %u of %u allocated ports", closed, n);
}

static void test_channels(uint16_t me, unsigned *pa, unsigned *pb)
{
    long a = ALLOC_UNBOUND(me);
    if (!XTF_CHECK(a > 0 && a < HAKO_NR_EVENT_CHANNELS, "ALLOC_UNBOUND(self) gave %ld", a))
        return;
    expect_status((unsigned)a, HAKO_EVTCHN_UNBOUND, me, 0, 0, "unbound");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_SEND, a), ENOTCONN, "SEND on an unbound port");
    long b = BIND_INTER(me, (uint32_t)a);
    if (!XTF_CHECK(b > 0 && b < HAKO_NR_EVENT_CHANNELS && b != a, "BIND_INTERDOMAIN gave %ld", b))
        return;
    expect_status((unsigned)a, HAKO_EVTCHN_INTERDOMAIN, me, (unsigned)b, 0, "loopback end a");
    expect_status((unsigned)b, HAKO_EVTCHN_INTERDOMAIN, me, (unsigned)a, 0, "loopback end b");
    XTF_EXPECT_RC(BIND_INTER(me, (uint32_t)a), EINVAL, "BIND_INTERDOMAIN to a connected port");

    quiesce();
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_SEND, b), 0, "SEND b -> a");
    XTF_CHECK(pending(a) && !pending(b), "SEND b: pending a=%d b=%d", pending(a), pending(b));
    XTF_CHECK(sel_bit(a) && LD(vi->evtchn_upcall_pending) == 1,
              "SEND b: selector bit %d, upcall_pending %u", sel_bit(a), LD(vi->evtchn_upcall_pending));
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_SEND, a), 0, "SEND a -> b");
    XTF_CHECK(pending(b), "SEND a did not make b pending");

    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_CLOSE, a), 0, "CLOSE a");
    expect_status((unsigned)a, HAKO_EVTCHN_FREE, 0, 0, 0, "closed end");
    expect_status((unsigned)b, HAKO_EVTCHN_UNBOUND, me, 0, 0, "peer of a closed end");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_SEND, b), ENOTCONN, "SEND after the peer closed");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_CLOSE, a), EINVAL, "CLOSE a twice");
    /* b is unbound for us again: it can be bound anew. */
    long c = BIND_INTER(me, (uint32_t)b);
    if (!XTF_CHECK(c > 0 && c < HAKO_NR_EVENT_CHANNELS, "rebinding b gave %ld", c))
        return;
    expect_status((unsigned)b, HAKO_EVTCHN_INTERDOMAIN, me, (unsigned)c, 0, "rebound b");
    /* Sub-commands above 2^32 must not truncate to SEND/CLOSE/UNMASK. */
    XTF_EXPECT_RC(EVT((1ul << 32) | HAKO_EVTCHNOP_CLOSE, c), ENOSYS, "cmd (1<<32)|CLOSE");
    XTF_EXPECT_RC(EVT((1ul << 32) | HAKO_EVTCHNOP_SEND, c), ENOSYS, "cmd (1<<32)|SEND");
    XTF_EXPECT_RC(EVT((1ul << 32) | HAKO_EVTCHNOP_UNMASK, c), ENOSYS, "cmd (1<<32)|UNMASK");
    long st = ev_op(HAKO_EVTCHNOP_STATUS, (uint32_t)c, 0, 0, 0);
    if (st || op.state != HAKO_EVTCHN_INTERDOMAIN) {   /* the truncated CLOSE closed it */
        XTF_CHECK(0, "port %ld was closed by cmd (1<<32)|CLOSE", c);
        EVT(HAKO_EVTCHNOP_CLOSE, b);
        c = ALLOC_UNBOUND(me);
        b = BIND_INTER(me, (uint32_t)c);
    }
    *pa = (unsigned)c;
    *pb = (unsigned)b;
    quiesce();
}

/* BLOCK until port p was seen by the upcall handler more than `before` times. */
static void block_for(unsigned p, uint32_t before)
{
    while (port_hits[p] == before)
        BLOCK();
    ST(vi->evtchn_upcall_mask, 1);
}

void test_main(const struct hako_start_info *si)
{
    const uint16_t me = (uint16_t)si->domid;
    sh = (struct hako_shared_info *)si->shared_info_va;
    vi = &sh->vcpu_info[0];

    /* Entry state (ABI.md 4.3): masked, no port bound, a usable time record. */
    XTF_CHECK(LD(vi->evtchn_upcall_mask) == 1, "upcall mask at entry is %u", vi->evtchn_upcall_mask);
    unsigned nfree = 0;
    for (unsigned p = 1; p < HAKO_NR_EVENT_CHANNELS; p++)
        nfree += ev_op(HAKO_EVTCHNOP_STATUS, p, 0, 0, 0) == 0 && op.state == HAKO_EVTCHN_FREE;
    XTF_CHECK(nfree == HAKO_NR_EVENT_CHANNELS - 1, "%u ports free at entry", nfree);
    XTF_CHECK(!(vi->time.version & 1) && vi->time.tsc_to_system_mul,
              "time record: version %u mul %u", vi->time.version, vi->time.tsc_to_system_mul);
    /* The wall clock comes from QEMU's RTC (the host's time): after 2020, before 2200,
     * written once under an even version. */
    XTF_CHECK(sh->wc_version && !(sh->wc_version & 1) && sh->wc_sec > 1577836800ull &&
                  sh->wc_sec < 7258118400ull && sh->wc_nsec < 1000000000ull,
              "wall clock: version %u, %lu s %lu ns since 1970", sh->wc_version, sh->wc_sec,
              sh->wc_nsec);

    /* 1. Errors, and the port table filling up. */
    test_errors(si, me);

    /* 2. Port states and a loopback channel within this domain. */
    unsigned pa = 0, pb = 0;
    test_channels(me, &pa, &pb);
    long dp = BIND_VIRQ(HAKO_VIRQ_DEBUG);
    if (!XTF_CHECK(dp > 0 && dp < HAKO_NR_EVENT_CHANNELS && pa && pb, "BIND_VIRQ(DEBUG) gave %ld"
                   " (loopback %u/%u)", dp, pa, pb))
        return;
    expect_status((unsigned)dp, HAKO_EVTCHN_VIRQ, 0, 0, HAKO_VIRQ_DEBUG, "virq");
    XTF_EXPECT_RC(BIND_VIRQ(HAKO_VIRQ_DEBUG), EEXIST, "BIND_VIRQ(DEBUG) twice");
    long cp = BIND_VIRQ(HAKO_VIRQ_CONSOLE);
    if (si->flags & HAKO_SIF_PRIVILEGED)
        XTF_CHECK(cp > 0 && EVT(HAKO_EVTCHNOP_CLOSE, cp) == 0, "BIND_VIRQ(CONSOLE) in the "
                  "control domain gave %ld", cp);
    else
        XTF_EXPECT_RC(cp, -HAKO_EPERM, "BIND_VIRQ(CONSOLE) in an unprivileged domain");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_SEND, dp), EINVAL, "SEND on a virq port");
    XTF_EXPECT_RC(BIND_INTER(me, (uint32_t)dp), EINVAL, "BIND_INTERDOMAIN to a virq port");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_CLOSE, dp), 0, "CLOSE the virq port");
    dp = BIND_VIRQ(HAKO_VIRQ_DEBUG);
    XTF_CHECK(dp > 0 && dp < HAKO_NR_EVENT_CHANNELS, "BIND_VIRQ(DEBUG) after CLOSE gave %ld", dp);
    long tp = BIND_VIRQ(HAKO_VIRQ_TIMER);
    if (!XTF_CHECK(tp > 0 && tp < HAKO_NR_EVENT_CHANNELS && dp > 0, "BIND_VIRQ(TIMER) gave %ld", tp))
        return;

    /* 3. Upcalls. */
    XTF_EXPECT_RC(CALLBACK(HAKO_CALLBACK_EVENT, HAKO_LOWER_HALF_END), EINVAL,
                  "event callback at a non-canonical address");
    XTF_EXPECT_RC(CALLBACK(3, guest_trap_entry), ENOSYS, "set_callback type 3");
    XTF_EXPECT_RC(CALLBACK(HAKO_CALLBACK_EVENT, guest_trap_entry), 0, "register event callback");
    quiesce();
    unsigned u0 = n_upcalls, h0 = port_hits[dp];
    XTF_EXPECT_RC(RAISE_DEBUG(), 0, "debug_op RAISE_VIRQ (masked)");
    XTF_CHECK(pending(dp) && sel_bit(dp) && LD(vi->evtchn_upcall_pending) == 1,
              "masked raise: pending %d, selector %d, upcall_pending %u", pending(dp),
              sel_bit(dp), LD(vi->evtchn_upcall_pending));
    XTF_EXPECT_RC(VERSION(), HAKO_ABI_VERSION, "version with an event pending but masked");
    XTF_CHECK(n_upcalls == u0, "%u upcalls while the upcall mask was set", n_upcalls - u0);
    long v = unmask_version(&vi->evtchn_upcall_mask);
    XTF_EXPECT_RC(v, HAKO_ABI_VERSION, "version right after clearing the upcall mask");
    XTF_CHECK(n_upcalls == u0 + 1, "%u upcalls after unmasking, expected 1", n_upcalls - u0);
    XTF_CHECK(port_hits[dp] == h0 + 1, "the upcall did not see the debug port pending");
    XTF_CHECK(last_ev.vector == HAKO_TRAP_EVENT && last_ev.flags == 0 &&
                  last_ev.error_code == 0 && last_ev.fault_addr == 0,
              "upcall frame: vector %lu flags %lx error %lx addr %lx", last_ev.vector,
              last_ev.flags, last_ev.error_code, last_ev.fault_addr);
    XTF_CHECK(last_ev.rip == UL(unmask_version_ret) && last_ev.rax == HAKO_ABI_VERSION,
              "upcall frame rip %lx rax %lx, expected %lx (after the syscall) and %lx",
              last_ev.rip, last_ev.rax, UL(unmask_version_ret), (uint64_t)HAKO_ABI_VERSION);
    XTF_CHECK(mask_in_handler == 1, "upcall mask inside the handler is %u", mask_in_handler);
    XTF_CHECK(LD(vi->evtchn_upcall_mask) == 0, "iret from the upcall left the mask at %u",
              LD(vi->evtchn_upcall_mask));
    /* An event raised inside the handler is delivered at once by its iret. */
    quiesce();
    RAISE_DEBUG();
    reraise = 1;
    u0 = n_upcalls;
    last_ev.rip = 0;
    unmask_version(&vi->evtchn_upcall_mask);
    XTF_CHECK(n_upcalls == u0 + 2 && port_hits[dp] == h0 + 3 && last_ev.rip ==
                  UL(unmask_version_ret) && last_ev.rax == HAKO_ABI_VERSION && !last_ev.flags,
              "event raised in the handler: %u upcalls (expected 2), rip %lx rax %lx flags %lx",
              n_upcalls - u0, last_ev.rip, last_ev.rax, last_ev.flags);
    h0 += 2;

    /* A masked port raises no upcall; UNMASK of a pending port does. */
    quiesce();
    set_port_mask(dp, 1);
    XTF_EXPECT_RC(RAISE_DEBUG(), 0, "RAISE_VIRQ on a masked port");
    XTF_CHECK(pending(dp) && !sel_bit(dp) && LD(vi->evtchn_upcall_pending) == 0,
              "masked port: pending %d, selector %d, upcall_pending %u", pending(dp),
              sel_bit(dp), LD(vi->evtchn_upcall_pending));
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_UNMASK, dp), 0, "UNMASK a pending port");
    XTF_CHECK(!(LD(sh->evtchn_mask[dp / 64]) >> (dp % 64) & 1) && sel_bit(dp) &&
                  LD(vi->evtchn_upcall_pending) == 1,
              "after UNMASK: selector %d, upcall_pending %u", sel_bit(dp),
              LD(vi->evtchn_upcall_pending));
    u0 = n_upcalls;
    unmask_version(&vi->evtchn_upcall_mask);
    XTF_CHECK(n_upcalls == u0 + 1 && port_hits[dp] == h0 + 2,
              "upcall after UNMASK: %u upcalls, port seen %u times", n_upcalls - u0,
              port_hits[dp] - h0);
    /* Same with upcalls enabled: the upcall comes on the way out of UNMASK itself. */
    set_port_mask(dp, 1);
    u0 = n_upcalls;
    RAISE_DEBUG();
    XTF_CHECK(n_upcalls == u0, "raising a masked port caused an upcall");
    XTF_EXPECT_RC(EVT(HAKO_EVTCHNOP_UNMASK, dp), 0, "UNMASK with upcalls enabled");
    XTF_CHECK(n_upcalls == u0 + 1 && port_hits[dp] == h0 + 3,
              "UNMASK with upcalls enabled: %u upcalls", n_upcalls - u0);

    /* 4. BLOCK with an event already pending returns at once (and delivers it). */
    quiesce();
    RAISE_DEBUG();
    TIMER(HAKO_TIMER_ONESHOT, now_ns() + 500 * MS);     /* in case BLOCK sleeps */
    u0 = n_upcalls;
    uint64_t t0 = now_ns();
    XTF_EXPECT_RC(BLOCK(), 0, "BLOCK with an event pending");
    uint64_t t1 = now_ns();
    XTF_CHECK(t1 - t0 < 250 * MS, "BLOCK with an event pending took %lu us", (t1 - t0) / 1000);
    XTF_CHECK(n_upcalls == u0 + 1 && port_hits[dp] == h0 + 4 && LD(vi->evtchn_upcall_mask) == 0,
              "BLOCK with an event pending: %u upcalls, mask %u", n_upcalls - u0,
              LD(vi->evtchn_upcall_mask));
    TIMER(HAKO_TIMER_ONESHOT, 0);

    /* BLOCK until a one-shot timer, with no callback: the event stays pending. */
    XTF_EXPECT_RC(CALLBACK(HAKO_CALLBACK_EVENT, 0), 0, "remove the event callback");
    quiesce();
    t0 = now_ns();
    uint64_t dl = t0 + 5 * MS;
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_ONESHOT, dl), 0, "ONESHOT at now + 5 ms");
    XTF_EXPECT_RC(BLOCK(), 0, "BLOCK until the one-shot timer");
    t1 = now_ns();
    XTF_CHECK(t1 >= dl, "BLOCK returned %lu us before the timer deadline", (dl - t1) / 1000);
    XTF_CHECK(pending(tp) && sel_bit(tp) && LD(vi->evtchn_upcall_pending) == 1 &&
                  LD(vi->evtchn_upcall_mask) == 0,
              "after BLOCK: timer pending %d, selector %d, upcall_pending %u, mask %u",
              pending(tp), sel_bit(tp), LD(vi->evtchn_upcall_pending), LD(vi->evtchn_upcall_mask));
    XTF_EXPECT_RC(VERSION(), HAKO_ABI_VERSION, "version with an event pending, no callback");
    quiesce();
    XTF_EXPECT_RC(CALLBACK(HAKO_CALLBACK_EVENT, guest_trap_entry), 0, "re-register callback");

    /* 5. Time: monotonic, advancing across a block. */
    uint64_t prev = now_ns(), back = 0;
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t t = now_ns();
        back += t < prev;
        prev = t;
    }
    XTF_CHECK(back == 0, "system time went backwards %lu times in 1000 reads", back);
    XTF_CHECK(t1 - t0 >= 5 * MS, "time advanced only %lu us across a 5 ms block",
              (t1 - t0) / 1000);

    /* 6. Timers. */
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_PERIODIC, 1), EINVAL, "PERIODIC 1 ns");
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_PERIODIC, HAKO_TIMER_MIN_PERIOD - 1), EINVAL,
                  "PERIODIC HAKO_TIMER_MIN_PERIOD - 1");
    XTF_EXPECT_RC(TIMER(2, 0), ENOSYS, "set_timer_op cmd 2");
    XTF_EXPECT_RC(TIMER(~0ul, 0), ENOSYS, "set_timer_op cmd ~0");
    XTF_EXPECT_RC(TIMER(1ul << 32, 0), ENOSYS, "set_timer_op cmd 1 << 32");
    quiesce();
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_ONESHOT, 1), 0, "ONESHOT in the past");
    XTF_CHECK(pending(tp), "a one-shot timer in the past did not fire at once");
    quiesce();
    TIMER(HAKO_TIMER_ONESHOT, now_ns() + 5 * MS);
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_ONESHOT, 0), 0, "cancel the one-shot timer");
    uint32_t tport = (uint32_t)tp;
    XTF_EXPECT_RC(POLL(&tport, 1, now_ns() + 20 * MS), 0, "poll on a cancelled timer");
    XTF_CHECK(!pending(tp), "a cancelled one-shot timer fired");

    static const unsigned delays_ms[] = { 1, 5, 20, 1, 5, 20 };
    for (unsigned i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++) {
        quiesce();
        uint32_t h = port_hits[tp];
        dl = now_ns() + delays_ms[i] * MS;
        TIMER(HAKO_TIMER_ONESHOT, dl);
        block_for((unsigned)tp, h);
        int64_t late = (int64_t)(port_seen_ns[tp] - dl);
        kprintf("one-shot %2u ms: observed %ld us after the deadline\n", delays_ms[i],
                late / 1000);
        XTF_CHECK(late >= 0, "one-shot %u ms fired %ld us early", delays_ms[i], -late / 1000);
        XTF_CHECK(late <= (int64_t)(10 * MS), "one-shot %u ms fired %ld us late", delays_ms[i],
                  late / 1000);
    }

    quiesce();
    uint32_t h = port_hits[tp];
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_PERIODIC, 2 * MS), 0, "PERIODIC 2 ms");
    t0 = now_ns();
    while (now_ns() < t0 + 50 * MS)
        BLOCK();
    TIMER(HAKO_TIMER_PERIODIC, 0);
    ST(vi->evtchn_upcall_mask, 1);
    unsigned ticks = port_hits[tp] - h;
    kprintf("periodic 2 ms: %u events in 50 ms (expected about 25)\n", ticks);
    XTF_CHECK(ticks >= 13 && ticks <= 37, "periodic 2 ms timer: %u events in 50 ms", ticks);
    quiesce();
    XTF_EXPECT_RC(POLL(&tport, 1, now_ns() + 10 * MS), 0, "poll after stopping the periodic timer");
    /* A period so long that now + period wraps must not fire at once. */
    quiesce();
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_PERIODIC, -(1ul << 20)), 0, "PERIODIC 2^64 - 2^20 ns");
    XTF_EXPECT_RC(POLL(&tport, 1, now_ns() + 20 * MS), 0,
                  "a periodic timer of 2^64 - 2^20 ns fired within 20 ms");
    XTF_EXPECT_RC(TIMER(HAKO_TIMER_PERIODIC, ~0ul), 0, "PERIODIC 2^64 - 1 ns");
    XTF_EXPECT_RC(POLL(&tport, 1, now_ns() + 10 * MS), 0,
                  "a periodic timer of 2^64 - 1 ns fired within 10 ms");
    TIMER(HAKO_TIMER_PERIODIC, 0);

    /* 7. POLL. */
    quiesce();
    static uint32_t ports[HAKO_SCHED_POLL_MAX + 1] __attribute__((aligned(8)));
    XTF_EXPECT_RC(POLL(ports, 0, 0), EINVAL, "POLL count 0");
    XTF_EXPECT_RC(POLL(ports, HAKO_SCHED_POLL_MAX + 1, 0), EINVAL, "POLL count 129");
    XTF_EXPECT_RC(POLL(ports, ~0ul, 0), EINVAL, "POLL count ~0");
    XTF_EXPECT_RC(POLL(ports, (1ul << 32) | 1, 0), EINVAL, "POLL count (1<<32)|1");
    XTF_EXPECT_RC(POLL((char *)ports + 2, 1, 0), EINVAL, "POLL misaligned ports");
    XTF_EXPECT_RC(POLL(0, 1, 0), EFAULT, "POLL ports NULL");
    XTF_EXPECT_RC(POLL(HAKO_LOWER_HALF_END, 1, 0), EFAULT, "POLL ports non-canonical");
    XTF_EXPECT_RC(POLL(HAKO_HV_VA_START, 1, 0), EFAULT, "POLL ports in the hypervisor");
    XTF_EXPECT_RC(POLL(HAKO_LOWER_HALF_END - 4, 2, 0), EFAULT, "POLL ports running off the half");
    ports[HAKO_SCHED_POLL_MAX - 1] = pa;
    EVT(HAKO_EVTCHNOP_SEND, pb);
    t0 = now_ns();
    XTF_EXPECT_RC(POLL(ports, HAKO_SCHED_POLL_MAX, t0 + 500 * MS), 1, "POLL 128 ports, last pending");
    XTF_CHECK(now_ns() - t0 < 250 * MS, "POLL on a pending port did not return at once");
    ports[0] = pa;
    XTF_EXPECT_RC(POLL(ports, 1, 0), 1, "POLL a pending port, no timeout");
    quiesce();
    dl = now_ns() + 5 * MS;
    XTF_EXPECT_RC(POLL(ports, 1, dl), 0, "POLL until a 5 ms timeout");
    t1 = now_ns();
    XTF_CHECK(t1 >= dl, "POLL timed out %lu us early", (dl - t1) / 1000);
    XTF_EXPECT_RC(POLL(ports, 1, 1), 0, "POLL with a timeout in the past");
    set_port_mask(pa, 1);
    EVT(HAKO_EVTCHNOP_SEND, pb);
    XTF_EXPECT_RC(POLL(ports, 1, 0), 1, "POLL a masked pending port");
    set_port_mask(pa, 0);
    /* A masked port wakes its poller when it becomes pending. */
    quiesce();
    set_port_mask(tp, 1);
    dl = now_ns() + 5 * MS;
    TIMER(HAKO_TIMER_ONESHOT, dl);
    t0 = now_ns();
    XTF_EXPECT_RC(POLL(&tport, 1, t0 + 500 * MS), 1, "POLL a masked timer port");
    t1 = now_ns();
    XTF_CHECK(t1 >= dl && t1 < t0 + 250 * MS, "masked timer poll returned %ld us after the "
              "deadline", (int64_t)(t1 - dl) / 1000);
    set_port_mask(tp, 0);
    /* An unrelated unmasked event does not end a poll: 0 only at the timeout. */
    quiesce();
    TIMER(HAKO_TIMER_ONESHOT, now_ns() + 3 * MS);
    dl = now_ns() + 30 * MS;
    XTF_EXPECT_RC(POLL(ports, 1, dl), 0, "POLL on an idle port while a timer fires");
    t1 = now_ns();
    XTF_CHECK(t1 >= dl, "POLL returned 0 %lu us before its timeout (woken by another port)",
              (dl - t1) / 1000);
    XTF_CHECK(pending(tp) && LD(vi->evtchn_upcall_pending) == 1,
              "the timer during the poll: pending %d, upcall_pending %u", pending(tp),
              LD(vi->evtchn_upcall_pending));
    quiesce();

    /* 8. iret refusals: the failsafe callback, or the error. */
    struct hako_trap_frame *bad = (struct hako_trap_frame *)(fs_stack + sizeof(fs_stack) - 96);
    XTF_EXPECT_RC(CALLBACK(HAKO_CALLBACK_FAILSAFE, 0x8000000000000000ul), EINVAL,
                  "failsafe callback at a non-canonical address");
    XTF_EXPECT_RC(CALLBACK(HAKO_CALLBACK_FAILSAFE, guest_trap_entry), 0, "register failsafe");
    static const struct { uint64_t rip, flags; const char *what; } refused[] = {
        { HAKO_LOWER_HALF_END, 0, "non-canonical rip" },
        { HAKO_HV_VA_START, 0, "rip in the hypervisor" },
        { UL(iret_to_ret), 1ul << 5, "unknown flag bit" },
        { UL(iret_to_ret), HAKO_TF_USER, "TF_USER without a user base pointer" },
    };
    for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        *bad = (struct hako_trap_frame){ .rip = refused[i].rip, .flags = refused[i].flags,
                                         .rflags = 0x202, .rsp = UL(bad), .cs = HAKO_GUEST_CS64,
                                         .ss = HAKO_GUEST_DS };
        unsigned f0 = n_failsafe;
        long rc = iret_to(bad);
        XTF_EXPECT_RC(rc, FS_MARK, what("iret with %s, failsafe registered", refused[i].what));
        XTF_CHECK(n_failsafe == f0 + 1 && last_fs.vector == HAKO_TRAP_FAILSAFE &&
                      last_fs.error_code == HAKO_EINVAL && last_fs.rip == UL(iret_to_ret) &&
                      last_fs.rsp == UL(bad) && last_fs.flags == HAKO_TF_EVENTS_MASKED,
                  "failsafe (%s): %u calls, vector %lu error %lu rip %lx rsp %lx flags %lx",
                  refused[i].what, n_failsafe - f0, last_fs.vector, last_fs.error_code,
                  last_fs.rip, last_fs.rsp, last_fs.flags);
        XTF_CHECK(LD(vi->evtchn_upcall_mask) == 1, "failsafe iret changed the upcall mask");
    }
    XTF_EXPECT_RC(CALLBACK(HAKO_CALLBACK_FAILSAFE, 0), 0, "remove the failsafe callback");
    unsigned f0 = n_failsafe;
    *bad = (struct hako_trap_frame){ .rip = HAKO_LOWER_HALF_END, .rflags = 0x202, .rsp = UL(bad) };
    XTF_EXPECT_RC(iret_to(bad), EINVAL, "iret with a non-canonical rip, no failsafe");
    XTF_EXPECT_RC(iret_to((struct hako_trap_frame *)0x1000), EFAULT, "iret, frame unmapped");
    XTF_CHECK(n_failsafe == f0, "failsafe callback ran after it was removed");

    /* 9. Still working. */
    static const char msg[] = "[console still works]\n";
    XTF_EXPECT_RC(HC3(HAKO_HC_console_io, HAKO_CONSOLE_WRITE, msg, sizeof(msg) - 1),
                  sizeof(msg) - 1, "console write at the end");
    XTF_EXPECT_RC(VERSION(), HAKO_ABI_VERSION, "version at the end");
    XTF_EXPECT_RC(HC3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit at the end");
    XTF_CHECK(EVT(HAKO_EVTCHNOP_CLOSE, pa) == 0 && EVT(HAKO_EVTCHNOP_CLOSE, pb) == 0 &&
                  EVT(HAKO_EVTCHNOP_CLOSE, dp) == 0 && EVT(HAKO_EVTCHNOP_CLOSE, tp) == 0,
              "closing the test's ports");
}
