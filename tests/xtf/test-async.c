/*
 * tests/xtf/test-async.c: asynchronous hypercalls through a submission and a completion
 * ring (ring-io in guest memory): setup errors, doorbell and tick-driven draining,
 * LINK chains, NO_COMPLETION, refused operations, back-pressure from a full completion
 * ring, completion notification, and hostile rings (detached, never followed); nothing
 * is drained while the vCPU runs in user mode, however many ticks come.
 */
#include <hako/async.h>
#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>

#include "domwait.h"
#include "framework.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "physmap.h"
#include "ringio.h"
#include "trap.h"

const char test_title[] = "async hypercalls";

#define UL(x) ((unsigned long)(x))
#define SQ_ORDER 4   /* 16 submissions */
#define CQ_ORDER 2   /* 4 completions: small, to show back-pressure */

static uint8_t sq_mem[HAKO_ASYNC_RING_HDR + (64 << SQ_ORDER)] __attribute__((aligned(4096)));
static uint8_t cq_mem[HAKO_ASYNC_RING_HDR + (16 << CQ_ORDER)] __attribute__((aligned(4096)));
static struct hako_async_setup setup __attribute__((aligned(8)));
static struct ringio_prod sq;
static struct ringio_cons cq;

static long async_op(unsigned long cmd, unsigned long arg)
{
    return hako_hypercall2(HAKO_HC_async_op, cmd, arg);
}

/* async_op calls this domain has made, from GETINFO's hc_counts (ABI 0.6). */
static uint64_t async_ops_made(void)
{
    static struct hako_domctl_info info __attribute__((aligned(8)));
    memset(&info, 0, sizeof(info));
    if (hako_hypercall3(HAKO_HC_domctl, HAKO_DOMCTL_GETINFO, UL(&info), 0))
        return ~0ull;
    return info.hc_counts[HAKO_HC_async_op];
}

/* Fresh rings, registered with the hypervisor; 0 or its error. */
static long rings_up(void)
{
    ringio_hdr_reset((struct ringio_hdr *)sq_mem, 0);
    ringio_hdr_reset((struct ringio_hdr *)cq_mem, 0);
    ringio_prod_attach(&sq, (struct ringio_hdr *)sq_mem, sq_mem + HAKO_ASYNC_RING_HDR,
                       SQ_ORDER, sizeof(struct hako_async_sqe));
    ringio_cons_attach(&cq, (struct ringio_hdr *)cq_mem, cq_mem + HAKO_ASYNC_RING_HDR,
                       CQ_ORDER, sizeof(struct hako_async_cqe));
    setup = (struct hako_async_setup){ .sq_va = UL(sq_mem), .cq_va = UL(cq_mem),
                                       .sq_order = SQ_ORDER, .cq_order = CQ_ORDER };
    return async_op(HAKO_ASYNC_SETUP, UL(&setup));
}

/* Queue (not yet publish) one submission. */
static void submit(uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t user, uint32_t flags)
{
    struct hako_async_sqe e = { .op = op, .args = { a0, a1, a2 }, .user_data = user,
                                .flags = flags };
    bool notify;
    if (ringio_produce(&sq, &e, 1, &notify) != 1)
        xtf_error("submission ring full");
}

/* Take up to n completions; returns how many. */
static int reap(struct hako_async_cqe *out, unsigned n)
{
    bool notify;
    return ringio_consume(&cq, out, n, &notify);
}

/* ---- no draining in user mode (ABI.md 17) ------------------------------------------
 * A user program (au_*, copied to USER_CODE) with its argument block at USER_CODE +
 * 0x1000 and read-only views of the submission ring's header at + 0x2000 and the
 * completion ring's at + 0x3000: it reads the submission ring's cons and the completion
 * ring's prod, spins for spin_tsc TSC ticks, reads them again and comes back with a
 * user syscall. */
#define USER_CODE 0x400000ul
struct user_spin {
    uint64_t spin_tsc;                 /* IN */
    uint32_t sq_cons[2], cq_prod[2];   /* OUT: at the start and at the end of the spin */
};
_Static_assert(__builtin_offsetof(struct user_spin, sq_cons) == 8 &&
               __builtin_offsetof(struct user_spin, cq_prod) == 16 &&
               __builtin_offsetof(struct hako_ring_hdr, cons) == 128 &&
               __builtin_offsetof(struct hako_ring_hdr, prod) == 0, "offsets used by au_*");
extern const char au_start[], au_end[];
__asm__(".pushsection .text\n"
        "au_start:\n"
        "    movl au_start+0x2000+128(%rip), %eax\n"     /* sq cons */
        "    movl %eax, au_start+0x1000+8(%rip)\n"
        "    movl au_start+0x3000(%rip), %eax\n"         /* cq prod */
        "    movl %eax, au_start+0x1000+16(%rip)\n"
        "    rdtsc\n    shlq $32, %rdx\n    orq %rax, %rdx\n    movq %rdx, %rcx\n"
        "1:  pause\n"
        "    rdtsc\n    shlq $32, %rdx\n    orq %rax, %rdx\n    subq %rcx, %rdx\n"
        "    cmpq au_start+0x1000(%rip), %rdx\n"
        "    jb 1b\n"
        "    movl au_start+0x2000+128(%rip), %eax\n"
        "    movl %eax, au_start+0x1000+12(%rip)\n"
        "    movl au_start+0x3000(%rip), %eax\n"
        "    movl %eax, au_start+0x1000+20(%rip)\n"
        "    syscall\n"
        "    ud2\n"
        "au_end:\n"
        ".popsection\n");

extern char guest_trap_entry[];
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f);
static struct kjmp back_from_user;
static volatile int in_user_run;

/* The user program's syscall (or any exception) ends its run: back to run_user_spin. */
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f)
{
    (void)g;
    if (in_user_run && f->vector == HAKO_TRAP_SYSCALL && (f->flags & HAKO_TF_USER)) {
        in_user_run = 0;
        kjmp_jump(&back_from_user, 1);
    }
    kprintf("unexpected trap: vector %lu rip %lx addr %lx flags %lx\n", f->vector, f->rip,
            f->fault_addr, f->flags);
    xtf_error("unexpected exception");
    kprintf("%u checks, %u failed\nTest result: ERROR\n", xtf_checks, xtf_failures);
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, 2);
}

/* The pfn of a page of this kernel's image. */
static uint64_t image_pfn(const struct hako_start_info *si, const void *va)
{
    return (UL(va) - si->virt_base) >> 12;
}

/* The machine frame of a page of the kernel image. */
static uint64_t image_mfn(const struct hako_start_info *si, const void *va)
{
    return pv_mfn(image_pfn(si, va));
}

/* A user address space with the program, its argument block (*args, through the linear
 * map) and the two ring headers, entered by run_user_spin; 0 if it cannot be built. */
static int build_user_spin(const struct hako_start_info *si, struct user_spin **args)
{
    static uint8_t kstack[8192] __attribute__((aligned(16)));
    static struct hako_trap_info traps[HAKO_TRAP_VECTORS] __attribute__((aligned(16)));
    uint64_t code = pfn_alloc(), data = pfn_alloc(), l4 = mm_new_root();
    if (!code || !data || !l4) {
        xtf_error("out of memory for the user address space");
        return 0;
    }
    memcpy(pfn_to_va(code), au_start, (size_t)(au_end - au_start));
    *args = pfn_to_va(data);
    for (unsigned v = 0; v < HAKO_TRAP_VECTORS; v++)
        traps[v] = (struct hako_trap_info){ .vector = (uint8_t)v, .handler = UL(guest_trap_entry) };
    return XTF_EXPECT_RC(mm_map(l4, USER_CODE, code, PTE_USER_RX), 0,
                         "map the program") &&
           XTF_EXPECT_RC(mm_map(l4, USER_CODE + 0x1000, data, PTE_USER_RW), 0,
                         "map its argument block") &&
           XTF_EXPECT_RC(mm_map(l4, USER_CODE + 0x2000, image_pfn(si, sq_mem), PTE_KERNEL_RO), 0,
                         "map the submission ring's header read-only") &&
           XTF_EXPECT_RC(mm_map(l4, USER_CODE + 0x3000, image_pfn(si, cq_mem), PTE_KERNEL_RO), 0,
                         "map the completion ring's header read-only") &&
           XTF_EXPECT_RC(mm_flush(), 0, "apply the user mappings") &&
           XTF_EXPECT_RC(privops->set_trap_table(traps, HAKO_TRAP_VECTORS), 0, "trap table") &&
           XTF_EXPECT_RC(privops->set_syscall_entry(UL(guest_trap_entry)), 0, "syscall callback") &&
           XTF_EXPECT_RC(privops->set_user_context(UL(kstack + sizeof(kstack)), l4),
                         0, "user base pointer and kernel stack");
}

/* Run the user program once (events masked there, so no upcall takes it out early);
 * 1 when it came back with its syscall. */
static int run_user_spin(void)
{
    static struct hako_trap_frame uf __attribute__((aligned(16)));
    uf = (struct hako_trap_frame){ .rip = USER_CODE, .rsp = USER_CODE + 0x2000,
                                   .rflags = HAKO_GUEST_RFLAGS,
                                   .flags = HAKO_TF_USER | HAKO_TF_EVENTS_MASKED };
    if (kjmp_save(&back_from_user))
        return 1;
    in_user_run = 1;
    long rc = privops->resume(&uf);
    in_user_run = 0;
    xtf_error("iret to user mode refused: %ld (%s)", rc, xtf_errname(rc));
    return 0;
}

/* Submissions queued without ENTER are not run while the vCPU spins in user mode across
 * many timer ticks (a periodic timer raising VIRQ_TIMER every 2 ms; the number of events
 * raised shows how many came), not even to post a completion; back in kernel mode a tick
 * drains them. A kernel-mode tick between queueing and entering user mode may drain
 * them first (legitimately): then the run is tried again. */
static void check_no_drain_in_user_mode(const struct hako_start_info *si)
{
    static struct hako_domctl_info info __attribute__((aligned(8)));
    struct hako_evtchn timer = { .virq = HAKO_VIRQ_TIMER };
    struct hako_async_cqe c[4];
    struct user_spin *args;
    const unsigned queued = 3;
    if (!build_user_spin(si, &args) ||
        !XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_BIND_VIRQ, &timer), 0, "bind VIRQ_TIMER") ||
        !XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_set_timer_op, HAKO_TIMER_PERIODIC, 2 * DOMWAIT_MS),
                       0, "a periodic timer, 2 ms"))
        return;
    uint64_t t0 = now_ns(), c0 = hako_rdtsc();
    while (now_ns() - t0 < 2 * DOMWAIT_MS)
        ;
    args->spin_tsc = (hako_rdtsc() - c0) * 20;           /* about 40 ms */
    int clean = 0;
    for (unsigned attempt = 0; attempt < 5 && !clean; attempt++) {
        if (!XTF_EXPECT_RC(rings_up(), 0, "SETUP for the user-mode run"))
            return;
        for (unsigned i = 0; i < queued; i++)
            submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 500 + i, 0);
        dom_getinfo(&info, si->domid);
        uint64_t events0 = info.events;
        if (!run_user_spin())
            return;
        dom_getinfo(&info, si->domid);
        uint64_t ticks = info.events - events0;
        clean = args->sq_cons[0] == 0 && args->cq_prod[0] == 0;
        if (!clean) {
            kprintf("user-mode run %u: a kernel-mode tick drained the ring first; again\n",
                    attempt);
            XTF_EXPECT_RC(async_op(HAKO_ASYNC_TEARDOWN, 0), 0, "TEARDOWN before trying again");
            continue;
        }
        XTF_CHECK(args->sq_cons[1] == 0 && args->cq_prod[1] == 0,
                  "in user mode across %lu timer events the hypervisor drained the rings: "
                  "submission cons %u -> %u, completion prod %u -> %u (want no change)", ticks,
                  args->sq_cons[0], args->sq_cons[1], args->cq_prod[0], args->cq_prod[1]);
        if (ticks < 5)
            xtf_error("only %lu timer events while in user mode: the check is weak", ticks);
        kprintf("user mode spun across %lu timer events: submission cons %u, completion "
                "prod %u at the end\n", ticks, args->sq_cons[1], args->cq_prod[1]);
    }
    if (!clean)
        xtf_error("every user-mode run found the ring drained before it started");
    uint64_t spins = 0;
    while (ringio_cons_avail(&cq) < (int)queued && spins < 2000000000ull)
        spins++;                                          /* kernel mode: a tick drains */
    int n = reap(c, 4);
    int ok = n == (int)queued;
    for (int i = 0; ok && i < n; i++)
        ok = c[i].user_data == 500u + (unsigned)i && c[i].result == HAKO_ABI_VERSION;
    XTF_CHECK(ok, "back in kernel mode a tick drains the %u submissions: %d completions",
              queued, n);
    XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_set_timer_op, HAKO_TIMER_PERIODIC, 0), 0,
                  "stop the timer");
    XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_CLOSE, timer.port), 0,
                  "close VIRQ_TIMER");
    XTF_EXPECT_RC(privops->set_user_context(0, 0), 0, "drop the user base pointer");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_TEARDOWN, 0), 0, "TEARDOWN after the user-mode run");
}

void test_main(const struct hako_start_info *si)
{
    mm_init(si);
    struct hako_async_cqe c[16];
    const long ver = HAKO_ABI_VERSION;

    /* Setup errors. */
    uint64_t made = async_ops_made();
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), -HAKO_ENOENT, "ENTER before SETUP");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_TEARDOWN, 0), -HAKO_ENOENT, "TEARDOWN before SETUP");
    XTF_EXPECT_RC(async_op(7, 0), -HAKO_ENOSYS, "unknown async_op command");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, UL(&setup) + 4), -HAKO_EINVAL, "misaligned setup");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, 0x1000), -HAKO_EFAULT, "unmapped setup");
    setup = (struct hako_async_setup){ .sq_va = UL(sq_mem), .cq_va = UL(cq_mem),
                                       .sq_order = 11, .cq_order = CQ_ORDER };
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, UL(&setup)), -HAKO_EINVAL, "order above the max");
    setup.sq_order = SQ_ORDER;
    setup._reserved[1] = 1;
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, UL(&setup)), -HAKO_EINVAL, "reserved field set");
    setup._reserved[1] = 0;
    setup.sq_va = UL(sq_mem) + 32;
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, UL(&setup)), -HAKO_EINVAL, "ring not 64-byte aligned");
    setup.sq_va = si->pt_base_va;                 /* the read-only initial page tables */
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, UL(&setup)), -HAKO_EFAULT, "ring in page tables");
    setup.sq_va = 0xFFFF800000000000ul;
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, UL(&setup)), -HAKO_EINVAL, "ring in the hypervisor");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit after refusals");
    uint64_t now = async_ops_made();
    XTF_CHECK(now - made == 10, "GETINFO counts the 10 refused async_op calls (%lu)",
              (unsigned long)(now - made));

    /* A batch through one doorbell. */
    XTF_EXPECT_RC(rings_up(), 0, "SETUP");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_SETUP, UL(&setup)), -HAKO_EEXIST, "SETUP twice");
    for (unsigned i = 0; i < 4; i++)
        submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 100 + i, 0);
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), 4, "ENTER runs 4 submissions");
    int n = reap(c, 16);
    int ok = n == 4;
    for (int i = 0; i < n; i++)
        ok &= c[i].user_data == 100u + (unsigned)i && c[i].result == ver;
    XTF_CHECK(ok, "4 completions in order with their user data (got %d)", n);

    /* LINK chains, NO_COMPLETION, refused operations. */
    submit(999, 0, 0, 0, 1, HAKO_ASYNC_LINK);                     /* fails */
    submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 2, HAKO_ASYNC_LINK);  /* cancelled */
    submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 3, 0);        /* cancelled, ends chain */
    submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 4, HAKO_ASYNC_NO_COMPLETION);
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), 3, "chain: 3 completions (one silent entry)");
    n = reap(c, 16);
    XTF_CHECK(n == 3 && c[0].result == -HAKO_ENOSYS && c[1].result == -HAKO_ECANCELED &&
                  c[2].result == -HAKO_ECANCELED && c[2].user_data == 3,
              "broken chain: %d completions, results %ld %ld %ld", n, (long)c[0].result,
              (long)c[1].result, (long)c[2].result);
    submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 5, 0);
    submit(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0, 6, 0);
    submit(HAKO_HC_iret, 0, 0, 0, 7, 0);
    submit(HAKO_HC_async_op, HAKO_ASYNC_ENTER, 0, 0, 8, 0);
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), 4, "ENTER with refused operations");
    n = reap(c, 16);
    XTF_CHECK(n == 4 && c[0].result == ver && c[1].result == -HAKO_EINVAL &&
                  c[2].result == -HAKO_EINVAL && c[3].result == -HAKO_EINVAL,
              "sched_op, iret and async_op are refused asynchronously (%ld %ld %ld)",
              (long)c[1].result, (long)c[2].result, (long)c[3].result);

    /* Back-pressure: 8 submissions, room for 4 completions. */
    for (unsigned i = 0; i < 8; i++)
        submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 200 + i, 0);
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), 4, "a full completion ring holds the rest back");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), 0, "nothing more while it is full");
    n = reap(c, 16);
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), 4, "the rest after reaping");
    n += reap(c + 4, 12);
    ok = n == 8;
    for (int i = 0; i < n; i++)
        ok &= c[i].user_data == 200u + (unsigned)i;
    XTF_CHECK(ok, "no completion lost or reordered under back-pressure (%d)", n);

    /* Completion notification and draining without a doorbell. */
    static struct hako_evtchn vq __attribute__((aligned(8))) = { .virq = HAKO_VIRQ_ASYNC };
    XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, UL(&vq)), 0,
                  "bind VIRQ_ASYNC");
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    ringio_cons_arm(&cq, 1);                       /* wake me at the next completion */
    submit(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 300, 0);
    uint64_t spins = 0;
    while (ringio_cons_avail(&cq) == 0 && spins < 2000000000ull)
        spins++;                                   /* no hypercall: the timer tick drains */
    n = reap(c, 16);
    XTF_CHECK(n == 1 && c[0].user_data == 300, "drained at a timer tick, no doorbell (%d)", n);
    XTF_CHECK(sh->evtchn_pending[vq.port / 64] & (1ull << (vq.port % 64)),
              "VIRQ_ASYNC raised for the armed completion");

    /* A frame of a registered ring cannot become a page table. */
    uint64_t sq_mfn = image_mfn(si, sq_mem);
    struct hako_mmuext_op pin = { .cmd = HAKO_MMUEXT_PIN_L1_TABLE, .arg1 = sq_mfn };
    XTF_EXPECT_RC(hako_hypercall3(HAKO_HC_mmuext_op, UL(&pin), 1, 0), -HAKO_EBUSY,
                  "pinning a ring frame as a page table");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit with rings");

    /* A multicall whose array page is turned into a page table by the submissions its
     * own ENTER entry runs: the hypervisor holds that page while it stores results, so
     * the pin must fail with EBUSY (not reach validation). */
    static union {
        struct hako_multicall_entry e[4];
        uint8_t whole_page[4096];               /* nothing else may share the page */
    } mcpage __attribute__((aligned(4096)));
    struct hako_multicall_entry *mcp = mcpage.e;
    uint64_t mcp_mfn = image_mfn(si, mcp);
    uint64_t ro = mcp_mfn << 12 | HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_NX;
    submit(HAKO_HC_update_va_mapping, UL(mcp), ro, HAKO_UVMF_INVLPG, 400, 0);
    static struct hako_mmuext_op pinp __attribute__((aligned(8)));
    pinp = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_PIN_L1_TABLE, .arg1 = mcp_mfn };
    submit(HAKO_HC_mmuext_op, UL(&pinp), 1, 0, 401, 0);
    mcp[0] = (struct hako_multicall_entry){ .op = HAKO_HC_async_op, .args = { HAKO_ASYNC_ENTER } };
    long mr = hako_hypercall2(HAKO_HC_multicall, UL(mcp), 1);
    n = reap(c, 16);
    XTF_CHECK(n == 2 && c[0].result == 0 && c[1].result == -HAKO_EBUSY,
              "pinning a multicall's own array page from inside it: %d completions, %ld %ld",
              n, (long)c[0].result, (long)c[1].result);
    XTF_CHECK(mr == 1 || mr == -HAKO_EFAULT, "that multicall returned %ld", mr);
    XTF_EXPECT_RC(hako_hypercall3(HAKO_HC_update_va_mapping, UL(mcp),
                                  ro | HAKO_PTE_W, HAKO_UVMF_INVLPG), 0, "array page writable again");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit after that");

    /* A hostile producer index: more entries than the ring holds. */
    ((struct ringio_hdr *)sq_mem)->prod += 1000;
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), -HAKO_EIO, "impossible index: detached");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_ENTER, 0), -HAKO_ENOENT, "the rings are gone");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit after detach");

    check_no_drain_in_user_mode(si);

    /* Set up again, tear down, and the hypervisor still works. */
    XTF_EXPECT_RC(rings_up(), 0, "SETUP again");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_TEARDOWN, 0), 0, "TEARDOWN");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit after teardown");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_version, HAKO_VERSION_ABI), ver, "still works");
}
