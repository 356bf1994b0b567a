/*
 * tests/xtf/test-foreign.c: console pages, boot modules for domUs and foreign mappings
 * (HAKO_MMU_PT_UPDATE_FOREIGN), seen from dom0. Domains are built from the small kernel
 * in tests/xtf/domu (its "console" and "foreign" modes).
 *
 * Checked: CREATE's module errors (too big, bad pointer, no room: EINVAL/EFAULT/ENOMEM)
 * and its OUT values (console_mfn, console_port); binding the console port; every
 * PT_UPDATE_FOREIGN refusal (no such domain, own domid, frame not that domain's, not
 * present, bad pointer, not an L1, another domain's table, the domU's shared-info page
 * and L4); mapping the console page, reading what the domU wrote (its module's length
 * and hash), writing input it echoes back; DESTROY while mapped (EBUSY), after unmapping
 * by an update and after the L1 holding the mapping was devalidated (every frame back);
 * PT_UPDATE_FOREIGN in a multicall entry and in asynchronous submissions (plain ones, run
 * by the burst loop, and LINK ones) takes the foreign domain from args[3]; async rings
 * and multicall arrays in a foreign-mapped page are EFAULT; a domU trying
 * PT_UPDATE_FOREIGN gets EPERM; the audit is 0 throughout.
 *
 * The domU image comes from tests/xtf/domu/image.S, which the Makefile links into
 * test-domains.elf; this test needs the same (test-foreign.elf on that line) and
 * reports SKIP when it is missing.
 */
#include "framework.h"
#include "asyncone.h"
#include "domwait.h"
#include "privops.h"
#include "physmap.h"

#include <hako/async.h>
#include <hako/console.h>
#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/memory.h>

#include "mm.h"
#include "ringio.h"

const char test_title[] = "foreign mappings, console pages and domU modules";

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define DOMCTL(cmd, arg) HC3(HAKO_HC_domctl, cmd, arg, 0)
#define EVTCHN(cmd, arg) HC3(HAKO_HC_event_channel_op, cmd, arg, 0)
#define DEBUG_OP(cmd)    HC3(HAKO_HC_debug_op, cmd, 0, 0)
#define AUDIT_IS_0(when) XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_AUDIT), 0, "audit " when)
#define MS 1000000ul

extern const char domu_image_start[] __attribute__((weak));
extern const char domu_image_end[] __attribute__((weak));

#define DOMU_PAGES 256
#define CONS_VA  0xFFFFFFFFB0000000ull   /* where dom0 maps the console page */
#define CONS_VA2 0xFFFFFFFFB0200000ull   /* a second L1, devalidated on purpose */
#define CONS_VA3 0xFFFFFFFFB0400000ull   /* mapped through multicall and async entries */
#define RW_NX (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W | HAKO_PTE_NX)

static struct hako_shared_info *sh;
static uint32_t exc_port;
static uint64_t kl4;
static struct hako_domctl_create cr __attribute__((aligned(8)));
static struct hako_domctl_info info __attribute__((aligned(8)));
static char cmd_buf[64];
static uint8_t module[3 * 4096 + 123] __attribute__((aligned(8)));

/* ---- domains (time, events and GETINFO: domwait.h) ---------------------------------- */

/* A create request for the domU image with the test module. */
static void prepare(const char *cmdline, uint64_t pages)
{
    memset(&cr, 0, sizeof(cr));
    ksnprintf(cmd_buf, sizeof(cmd_buf), "%s", cmdline);
    cr.image_va = UL(domu_image_start);
    cr.image_len = (uint64_t)(domu_image_end - domu_image_start);
    cr.mem_pages = pages;
    cr.cmdline_va = UL(cmd_buf);
    ksnprintf(cr.name, sizeof(cr.name), "%s", cmdline);
    cr.module_va = UL(module);
    cr.module_len = sizeof(module);
}

static unsigned create(const char *cmdline)
{
    prepare(cmdline, DOMU_PAGES);
    long rc = DOMCTL(HAKO_DOMCTL_CREATE, &cr);
    if (!XTF_CHECK(rc > 0 && rc < 64 && rc == cr.domid, "create \"%s\": rc %ld (%s), domid %u",
                   cmdline, rc, xtf_errname(rc), cr.domid))
        return 0;
    return (unsigned)rc;
}

/* ---- foreign updates --------------------------------------------------------------- */

/* One mmu_update request with the foreign domain as 4th argument. */
static long mmu1(uint64_t ptr, uint64_t val, uint64_t domid)
{
    static struct hako_mmu_update req __attribute__((aligned(8)));
    static uint64_t done __attribute__((aligned(8)));
    req.ptr = ptr;
    req.val = val;
    done = 99;
    long rc = hako_hypercall6(HAKO_HC_mmu_update, UL(&req), 1, UL(&done), domid, 0, 0);
    if (!XTF_CHECK(done == (rc == 0 ? 1u : 0u), "mmu_update rc %ld but done %lu", rc, done))
        return -1000;
    return rc;
}

/* Machine address of the L1 entry for va in the kernel address space, creating the
 * tables on the way (the entry stays empty); 0 on failure. */
static uint64_t l1_entry(uint64_t va)
{
    if (mm_map(kl4, va, 0, 0) || mm_flush())
        return 0;
    return pv_entry_maddr(kl4, va, 1);
}

static void invlpg(uint64_t va)
{
    static struct hako_mmuext_op op __attribute__((aligned(8)));
    op = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_INVLPG_LOCAL, .arg1 = va };
    HC3(HAKO_HC_mmuext_op, &op, 1, 0);
}

/* The number after `key ` in s (hex when hex), or ~0. */
static uint64_t field(const char *s, const char *key, int hex)
{
    const char *p = s;
    size_t n = strlen(key);
    while (*p && strncmp(p, key, n))
        p++;
    if (!*p)
        return ~0ull;
    uint64_t v = 0;
    for (p += n; *p; p++) {
        unsigned dgt = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
                       : hex && *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10) : 99;
        if (dgt == 99)
            break;
        v = v * (hex ? 16 : 10) + dgt;
    }
    return v;
}

/* True when s contains sub. */
static int contains(const char *s, const char *sub)
{
    for (size_t n = strlen(sub); *s; s++)
        if (!strncmp(s, sub, n))
            return 1;
    return 0;
}

/* Read the out ring into buf until it holds `until` (or 5 s pass); bytes read. */
static size_t read_out(struct ringio_cons *c, uint32_t port, char *buf, size_t max,
                       const char *until)
{
    size_t len = 0;
    uint64_t end = now_ns() + 5000 * MS;
    buf[0] = 0;
    while (len < max - 1 && !contains(buf, until)) {
        port_test_and_clear(sh, port);
        int n = ringio_consume(c, buf + len, (uint32_t)(max - 1 - len), NULL);
        if (n < 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
        if (n == 0 && ringio_cons_arm(c, 1) == 0 && !poll_port(port, end))
            break;
    }
    return len;
}

static void test_module_errors(long free0)
{
    prepare("exit=0", DOMU_PAGES);
    cr.module_len = HAKO_DOMCTL_MODULE_MAX + 1;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_EINVAL, "CREATE module above 64 MiB");
    prepare("exit=0", DOMU_PAGES);
    cr.module_len = ~0ull;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_EINVAL, "CREATE module_len ~0");
    prepare("exit=0", DOMU_PAGES);
    cr.module_va = 0x1000;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_EFAULT, "CREATE module unmapped");
    prepare("exit=0", DOMU_PAGES);
    cr.module_va = HAKO_HV_VA_START;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_EFAULT, "CREATE module in the hypervisor");
    prepare("exit=0", DOMU_PAGES);
    cr.module_va = UL(module) + sizeof(module) - 8;
    cr.module_len = 64 << 20;                    /* runs off the end of our memory */
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_EFAULT, "CREATE module past our memory");
    prepare("exit=0", 18);                       /* layout fits (16), module does not */
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_ENOMEM, "CREATE module without room");
    prepare("exit=0", DOMU_PAGES);
    cr._pad1 = 1;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_EINVAL, "CREATE _pad1 != 0");
    prepare("exit=0", DOMU_PAGES);
    cr._reserved1 = 1;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, &cr), -HAKO_EINVAL, "CREATE _reserved1 != 0");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_NEXT, 1), -HAKO_ESRCH, "no domain left by refused creates");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free0, "refused creates leak no frame");
    /* module_len 0: no module, the pointer is not looked at. */
    prepare("exit=3", DOMU_PAGES);
    cr.module_va = 0x1000;
    cr.module_len = 0;
    long d = DOMCTL(HAKO_DOMCTL_CREATE, &cr);
    if (XTF_CHECK(d > 0, "CREATE without module: %ld", d)) {
        XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, (unsigned)d) && info.shutdown_code == 3, "domU without module did not exit 3");
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), 0, "DESTROY domU without module");
    }
}

static void test_console(const struct hako_start_info *si, long free0)
{
    unsigned d = create("console");
    if (!d)
        return;
    uint64_t cmfn = cr.console_mfn;
    uint32_t cport = cr.console_port;
    XTF_CHECK(cmfn != 0 && cport > 0 && cport < HAKO_NR_EVENT_CHANNELS,
              "console OUT values: mfn %lx port %u", cmfn, cport);
    struct hako_evtchn op = { .remote_dom = (uint16_t)d, .remote_port = cport };
    uint32_t lport = 0;
    if (XTF_EXPECT_RC(evtchn_struct(HAKO_EVTCHNOP_BIND_INTERDOMAIN, &op), 0, "bind console port"))
        lport = op.port;

    uint64_t e1 = l1_entry(CONS_VA), e2 = l1_entry(CONS_VA2);
    if (!XTF_CHECK(e1 && e2, "cannot build tables for the console window")) {
        DOMCTL(HAKO_DOMCTL_DESTROY, d);
        return;
    }
    uint64_t f = e1 | HAKO_MMU_PT_UPDATE_FOREIGN, page = cmfn << 12 | RW_NX;
    uint64_t own = pv_mfn(si->first_free_pfn) << 12 | RW_NX;

    /* Refusals: nothing changes. */
    XTF_EXPECT_RC(mmu1(f, page, 63), -HAKO_ESRCH, "FOREIGN domid 63 (none)");
    XTF_EXPECT_RC(mmu1(f, page, 0x10000), -HAKO_ESRCH, "FOREIGN domid 0x10000");
    XTF_EXPECT_RC(mmu1(f, page, ~0ull), -HAKO_ESRCH, "FOREIGN domid ~0");
    XTF_EXPECT_RC(mmu1(f, page, 0), -HAKO_EINVAL, "FOREIGN own domid");
    XTF_EXPECT_RC(mmu1(f, own, d), -HAKO_EINVAL, "FOREIGN frame of dom0 named as the domU's");
    XTF_EXPECT_RC(mmu1(f, 0x100ull << 12 | RW_NX, d), -HAKO_EINVAL, "FOREIGN hypervisor frame");
    XTF_EXPECT_RC(mmu1(f, (1ull << 40) | RW_NX, d), -HAKO_EINVAL, "FOREIGN frame beyond RAM");
    XTF_EXPECT_RC(mmu1(f, cmfn << 12, d), -HAKO_EINVAL, "FOREIGN not present");
    XTF_EXPECT_RC(mmu1(f, page & ~HAKO_PTE_U, d), -HAKO_EINVAL, "FOREIGN without U");
    XTF_EXPECT_RC(mmu1(f, page | 1ull << 7, d), -HAKO_EINVAL, "FOREIGN with PS");
    XTF_EXPECT_RC(mmu1(f | 4, page, d), -HAKO_EINVAL, "FOREIGN misaligned ptr");
    XTF_EXPECT_RC(mmu1(pv_entry_maddr(kl4, CONS_VA, 2) | 2, page, d), -HAKO_EINVAL,
                  "FOREIGN into an L2");
    XTF_EXPECT_RC(mmu1(pv_mfn(si->first_free_pfn) << 12 | 2, page, d), -HAKO_EINVAL,
                  "FOREIGN into a frame that is no table");
    XTF_EXPECT_RC(mmu1(cmfn << 12 | 2, page, d), -HAKO_EPERM, "FOREIGN into the domU's frame");
    AUDIT_IS_0("after refused foreign updates");

    /* Map it and read what the domU wrote. */
    XTF_EXPECT_RC(mmu1(f, page, d), 0, "FOREIGN map the console page");
    AUDIT_IS_0("with a foreign mapping");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), -HAKO_EBUSY, "DESTROY while mapped");
    struct hako_console_page *pg = (struct hako_console_page *)CONS_VA;
    struct ringio_cons out;
    struct ringio_prod in;
    static char buf[512];
    int ok = XTF_EXPECT_RC(ringio_cons_attach(&out, (struct ringio_hdr *)&pg->out, pg->out_data,
                                              HAKO_CONSOLE_OUT_ORDER, 1), 0, "attach out ring") &&
             XTF_EXPECT_RC(ringio_prod_attach(&in, (struct ringio_hdr *)&pg->in, pg->in_data,
                                              HAKO_CONSOLE_IN_ORDER, 1), 0, "attach in ring");
    if (ok) {
        read_out(&out, lport, buf, sizeof(buf), "\n");
        uint64_t sum = 0;
        for (size_t i = 0; i < sizeof(module); i++)
            sum = sum * 31 + module[i];
        kprintf("domU wrote: %s", buf);
        char want[64];
        ksnprintf(want, sizeof(want), "console d%u mod %lu %lx ", d, (unsigned long)sizeof(module), sum);
        XTF_CHECK(!strncmp(buf, want, strlen(want)), "console ring has \"%s\", want \"%s...\"", buf, want);
        /* The domU's special frames and tables are refused. */
        uint64_t shinfo = field(buf, "shinfo ", 1), l4 = field(buf, "l4 ", 1);
        XTF_EXPECT_RC(mmu1(e2 | 2, shinfo << 12 | RW_NX, d), -HAKO_EBUSY, "FOREIGN shared-info page");
        XTF_EXPECT_RC(mmu1(e2 | 2, shinfo << 12 | HAKO_PTE_P | HAKO_PTE_U, d), -HAKO_EBUSY,
                      "FOREIGN shared-info page read-only");
        XTF_EXPECT_RC(mmu1(e2 | 2, l4 << 12 | RW_NX, d), -HAKO_EBUSY, "FOREIGN the domU's L4");
        XTF_EXPECT_RC(mmu1(e2 | 2, l4 << 12 | HAKO_PTE_P | HAKO_PTE_U, d), -HAKO_EBUSY,
                      "FOREIGN the domU's L4 read-only");
        /* Input, echoed back; '.' ends the domU. */
        static const char msg[] = "echo me.";
        XTF_EXPECT_RC(ringio_produce(&in, msg, sizeof(msg) - 1, NULL), sizeof(msg) - 1, "write input");
        XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_SEND, lport), 0, "notify the domU");
        read_out(&out, lport, buf, sizeof(buf), ".");
        XTF_CHECK(strlen(buf) == strlen(msg) && !strncmp(buf, msg, strlen(msg)), "echo: \"%s\", want \"%s\"", buf, msg);
        XTF_CHECK(pg->out_dropped == 0, "domU dropped %lu bytes", pg->out_dropped);
    }
    XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d) && info.state == HAKO_DOMSTATE_SHUTDOWN && info.shutdown_code == 0,
              "console domU: state %u code %u", info.state, info.shutdown_code);
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), -HAKO_EBUSY, "DESTROY stopped domU while mapped");
    /* A second mapping, removed by devalidating its L1 (clearing the L2 entry). */
    XTF_EXPECT_RC(mmu1(e2 | 2, cmfn << 12 | HAKO_PTE_P | HAKO_PTE_U, d), 0, "FOREIGN map again read-only");
    AUDIT_IS_0("with two foreign mappings");
    XTF_EXPECT_RC(mmu1(e1, 0, 0), 0, "unmap the first mapping");
    invlpg(CONS_VA);
    AUDIT_IS_0("after unmapping");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), -HAKO_EBUSY, "DESTROY with one mapping left");
    XTF_EXPECT_RC(mmu1(pv_entry_maddr(kl4, CONS_VA2, 2), 0, 0), 0, "drop the second L1");
    AUDIT_IS_0("after the L1 went");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), 0, "DESTROY after unmapping");
    if (lport)
        XTF_EXPECT_RC(EVTCHN(HAKO_EVTCHNOP_CLOSE, lport), 0, "close the console port");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free0, "destroy returns every frame");
    AUDIT_IS_0("after destroy");
    /* The devalidated L1 still holds the stale foreign entry: validating it again must
     * refuse it (the frame is now free). */
    uint64_t l2e = pv_entry_maddr(kl4, CONS_VA2, 2);
    uint64_t l1mfn = (e2 >> 12);
    XTF_EXPECT_RC(mmu1(l2e, l1mfn << 12 | HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W, 0), -HAKO_EPERM,
                  "revalidating an L1 with a stale foreign entry");
    AUDIT_IS_0("at the end of the console test");
}

/* PT_UPDATE_FOREIGN inside a multicall entry and an asynchronous submission: the
 * foreign domain is the entry's args[3] (ABI.md 12.3), whichever path runs the entry (the
 * multicall full path; the asynchronous burst loop for a submission without flags, the
 * full path for one with LINK). */
static long async_foreign(struct hako_mmu_update *req, unsigned d, uint32_t flags)
{
    return xtf_async_once((struct hako_async_sqe){
        .op = HAKO_HC_mmu_update, .args = { UL(req), 1, 0, d }, .flags = flags });
}

static void test_batched_foreign(long free0)
{
    unsigned d = create("block");
    if (!d)
        return;
    uint64_t e3 = l1_entry(CONS_VA3);
    static struct hako_mmu_update req __attribute__((aligned(8)));
    req = (struct hako_mmu_update){ .ptr = e3 | HAKO_MMU_PT_UPDATE_FOREIGN,
                                    .val = cr.console_mfn << 12 | RW_NX };
    static struct hako_multicall_entry mc[1] __attribute__((aligned(8)));
    mc[0] = (struct hako_multicall_entry){ .op = HAKO_HC_mmu_update,
                                           .args = { UL(&req), 1, 0, d }, .result = 99 };
    if (XTF_CHECK(e3, "cannot build tables for the batch window")) {
        XTF_EXPECT_RC(HC3(HAKO_HC_multicall, mc, 1, 0), 1, "multicall with a foreign update");
        XTF_CHECK(mc[0].result == 0, "FOREIGN in a multicall entry (args[3] = d%u): %ld", d,
                  (long)mc[0].result);
        AUDIT_IS_0("after a foreign update in a multicall");
        XTF_EXPECT_RC(mmu1(e3, 0, 0), 0, "unmap it");
        XTF_EXPECT_RC(async_foreign(&req, d, HAKO_ASYNC_LINK), 0,
                      "FOREIGN in a LINK submission (args[3])");
        AUDIT_IS_0("after a foreign update in a LINK submission");
        XTF_EXPECT_RC(mmu1(e3, 0, 0), 0, "unmap it");
        XTF_EXPECT_RC(async_foreign(&req, d, 0), 0, "FOREIGN in a plain submission (args[3])");
        AUDIT_IS_0("after a foreign update in a plain submission");
        /* The domU's page, mapped writable here, is no memory of ours for the hypervisor
         * to hold: rings and multicall arrays there are refused as bad pointers. */
        XTF_EXPECT_RC(mmu1(req.ptr, req.val, d), 0, "FOREIGN map it (again) directly");
        static struct hako_async_setup s __attribute__((aligned(8)));
        s = (struct hako_async_setup){ .sq_va = CONS_VA3, .cq_va = CONS_VA3 + 2048 };
        XTF_EXPECT_RC(HC3(HAKO_HC_async_op, HAKO_ASYNC_SETUP, &s, 0), -HAKO_EFAULT,
                      "async rings in a foreign-mapped page");
        XTF_EXPECT_RC(HC3(HAKO_HC_multicall, CONS_VA3, 1, 0), -HAKO_EFAULT,
                      "multicall array in a foreign-mapped page");
        AUDIT_IS_0("after refused uses of a foreign-mapped page");
        XTF_EXPECT_RC(mmu1(e3, 0, 0), 0, "unmap it");
        invlpg(CONS_VA3);
    }
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), 0, "DESTROY the block domU");
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free0, "every frame back after the batch test");
    AUDIT_IS_0("after the batch test");
}

static void test_domu_foreign(void)
{
    unsigned d = create("foreign");
    if (d && XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, d), "foreign domU did not stop"))
        XTF_CHECK(info.state == HAKO_DOMSTATE_SHUTDOWN && info.shutdown_code == 0,
                  "domU's PT_UPDATE_FOREIGN was not refused with EPERM: state %u code %u",
                  info.state, info.shutdown_code);
    if (d)
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), 0, "DESTROY foreign domU");
}

void test_main(const struct hako_start_info *si)
{
    sh = (struct hako_shared_info *)si->shared_info_va;
    if (!(si->flags & HAKO_SIF_PRIVILEGED)) {
        xtf_skip("not the control domain");
        return;
    }
    const char *volatile img = domu_image_start;
    if (!img || domu_image_end == img) {
        xtf_skip("domU image not linked in (Makefile: link tests/xtf/domu/image.S.o into "
                 "test-foreign.elf)");
        return;
    }
    XTF_CHECK(si->console_va == 0 && si->console_pfn == 0 && si->console_port == 0,
              "dom0 has a console page: va %lx pfn %lu port %u", si->console_va, si->console_pfn,
              si->console_port);
    XTF_CHECK(si->mod_va == 0 && si->mod_len == 0, "dom0 has a module");
    mm_init(si);
    kl4 = mm_kernel_root();
    if (!(exc_port = bind_dom_exc()))
        return;
    for (size_t i = 0; i < sizeof(module); i++)
        module[i] = (uint8_t)(i * 7 + (i >> 9));
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
    AUDIT_IS_0("at the start");

    test_module_errors(free0);
    test_console(si, free0);
    test_batched_foreign(free0);
    test_domu_foreign();

    for (long d; (d = DOMCTL(HAKO_DOMCTL_NEXT, 1)) > 0;) {
        xtf_failure("d%ld still exists at the end", d);
        if (DOMCTL(HAKO_DOMCTL_DESTROY, d))
            break;
    }
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free0, "free frames back to the start");
    AUDIT_IS_0("at the end");
}
