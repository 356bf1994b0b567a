/*
 * tests/xtf/test-async.c: asynchronous hypercalls through a submission and a completion
 * ring (ring-io in guest memory): setup errors, doorbell and tick-driven draining,
 * LINK chains, NO_COMPLETION, refused operations, back-pressure from a full completion
 * ring, completion notification, and hostile rings (detached, never followed).
 */
#include <hako/async.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>

#include "framework.h"
#include "klib.h"
#include "ringio.h"

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

void test_main(const struct hako_start_info *si)
{
    struct hako_async_cqe c[16];
    const long ver = HAKO_ABI_VERSION;

    /* Setup errors. */
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
    uint64_t sq_mfn = ((const uint64_t *)si->p2m_va)[(UL(sq_mem) - si->virt_base) >> 12];
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
    uint64_t mcp_pfn = (UL(mcp) - si->virt_base) >> 12;
    uint64_t mcp_mfn = ((const uint64_t *)si->p2m_va)[mcp_pfn];
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

    /* Set up again, tear down, and the hypervisor still works. */
    XTF_EXPECT_RC(rings_up(), 0, "SETUP again");
    XTF_EXPECT_RC(async_op(HAKO_ASYNC_TEARDOWN, 0), 0, "TEARDOWN");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit after teardown");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_version, HAKO_VERSION_ABI), ver, "still works");
}
