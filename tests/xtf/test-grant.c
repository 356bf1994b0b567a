/*
 * tests/xtf/test-grant.c: grant tables (ABI.md 21, hako/grant_table.h), seen from dom0,
 * with domUs built from tests/xtf/domu ("block" as granter, "gmap" as mapper).
 *
 * Checked: SETUP_TABLE of our own table (1..4 frames), QUERY_SIZE, every SETUP refusal
 * and the call's own errors. A granter domU (dom0 sets up its table in its memory and
 * writes its entries through a foreign mapping): MAP writable and read-only, the data
 * through both, READING/WRITING, ending a grant, every MAP/UNMAP refusal, an overwritten
 * mapping, the table's own frame granted, 256 mappings and the 257th, a mixed batch,
 * COPY in every direction and its refusals, DESTROY of the granter while we map its
 * grants (refused while a PT_UPDATE_FOREIGN mapping exists too), a stopped granter
 * (ESRCH). A mapper domU of our grant: its write arrives, READING|WRITING while it maps,
 * cleared when it is destroyed. 100 MAP/UNMAP cycles leak nothing; the audit is 0
 * throughout, and every frame is back at the end. The Makefile links the domU image into
 * the test kernels named in XTF_DOMU_USERS: without "grant" there the test reports SKIP.
 */
#include "framework.h"
#include "asyncone.h"
#include "domwait.h"
#include "privops.h"
#include "physmap.h"

#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/grant_table.h>
#include <hako/memory.h>

#include "mm.h"

const char test_title[] = "grant tables";

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define DOMCTL(cmd, arg) HC3(HAKO_HC_domctl, cmd, arg, 0)
#define DEBUG_OP(cmd)    HC3(HAKO_HC_debug_op, cmd, 0, 0)
#define GNT(cmd, ops, n) HC3(HAKO_HC_grant_table_op, cmd, ops, n)
#define AUDIT_IS_0(when) XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_AUDIT), 0, "audit " when)
#define MS 1000000ul

#define EPERM  (-HAKO_EPERM)
#define ENOENT (-HAKO_ENOENT)
#define ESRCH  (-HAKO_ESRCH)
#define EBUSY  (-HAKO_EBUSY)
#define EINVAL (-HAKO_EINVAL)

#define SELF     HAKO_DOMID_SELF
#define PERMIT   HAKO_GTF_PERMIT_ACCESS
#define RDONLY   HAKO_GTF_READONLY
#define READING  HAKO_GTF_READING
#define WRITING  HAKO_GTF_WRITING
#define MAP_RO   HAKO_GNTMAP_READONLY
#define P_U_W    (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W)
#define RW_NX    (P_U_W | HAKO_PTE_NX)
#define RO_NX    (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_NX)
#define M2P      ((const uint64_t *)HAKO_M2P_VA)
#define NO_DOM   63u                       /* a domid nobody has in this test */
#define HV_MFN   0x100ull                  /* the hypervisor image: nobody's frame */

extern const char domu_image_start[] __attribute__((weak));
extern const char domu_image_end[] __attribute__((weak));

#define DOMU_PAGES 256                     /* 1 MiB: its last L1 has free slots */
#define WIN  0xFFFFFFFFB0000000ull         /* one L1 of slots for grant mappings */
#define PWIN 0xFFFFFFFFB0200000ull         /* foreign mappings: 0 probe, 1 the domU's table */
#define SLOT_VA(i) (WIN + (uint64_t)(i) * 4096)

static const struct hako_start_info *si;
static struct hako_shared_info *sh;
static uint32_t exc_port;
static uint64_t kl4, win_l1, pwin_l1;       /* root pfn; maddrs of slot 0 of WIN, PWIN */
static struct hako_domctl_create cr __attribute__((aligned(8)));
static struct hako_domctl_info info __attribute__((aligned(8)));
static char cmd_buf[64];

/* Our frames (pfns): own table, copy source / sink / zeros, the frame the mapper gets. */
static uint64_t tbl[4], spfn, rpfn, zpfn, fpfn;
static uint64_t mfn(uint64_t pfn) { return pv_mfn(pfn); }
static uint64_t shinfo_mfn(void) { return mfn((si->shared_info_va - si->virt_base) >> 12); }

/* ---- helpers --------------------------------------------------------------------- */

/* A refused (or accepted) hostile request: check the code, print a one-line verdict. */
static int hostile_rc(const char *desc, long got, long expected, const char *expr, int line)
{
    int ok = xtf_expect_rc(got, expected, desc, expr, __FILE__, line);
    kprintf("[grant] %s -> %s %s\n", desc, xtf_errname(expected), ok ? "ok" : "FAILED");
    return ok;
}
#define HOSTILE(desc, expr, expected) \
    hostile_rc((desc), (long)(expr), (long)(expected), #expr, __LINE__)
#define VALID(desc, expr) XTF_EXPECT_RC((expr), 0, (desc))

/* The flags of entry ref of the table at gt are want. */
#define FLAGS_ARE(gt, ref, want, when) XTF_CHECK((gt)[ref].flags == (want), \
    "flags of ref %u %s: %x, want %x", (unsigned)(ref), (when), (gt)[ref].flags, (unsigned)(want))

static uint64_t pte_of(unsigned slot) { return win_l1 + slot * 8ull; }

/* An L1 entry of ours, read through the linear map. */
static uint64_t pte_read(uint64_t maddr)
{
    return ((volatile const uint64_t *)pfn_va(M2P[maddr >> 12]))[(maddr & 0xFFF) >> 3];
}

/* One mmu_update request; domid is the foreign domain of a FOREIGN one. */
static long mmu1(uint64_t ptr, uint64_t val, unsigned domid)
{
    static struct hako_mmu_update req __attribute__((aligned(8)));
    req = (struct hako_mmu_update){ .ptr = ptr, .val = val };
    return hako_hypercall6(HAKO_HC_mmu_update, UL(&req), 1, 0, domid, 0, 0);
}

static struct hako_gnttab_setup sop[2] __attribute__((aligned(8)));
static struct hako_gnttab_query qop[2] __attribute__((aligned(8)));
static struct hako_gnttab_map mops[HAKO_GNTTAB_BATCH_MAX + 1] __attribute__((aligned(8)));
static struct hako_gnttab_unmap uops[HAKO_GNTTAB_BATCH_MAX] __attribute__((aligned(8)));
static struct hako_gnttab_copy cop __attribute__((aligned(8)));

/* One operation: the call's own error, else the operation's status (read after it). */
#define CALL1(cmd, op) \
    ({ (op).status = 12345; long rc_ = GNT((cmd), &(op), 1); rc_ ? rc_ : (long)(op).status; })
#define SETUP_OP() CALL1(HAKO_GNTTABOP_SETUP_TABLE, sop[0])

static long setup(unsigned domid, unsigned n, const uint64_t *frames)
{
    sop[0] = (struct hako_gnttab_setup){ .domid = (uint16_t)domid, .nr_frames = n };
    for (unsigned i = 0; i < n; i++)
        sop[0].frames[i] = frames[i];
    return SETUP_OP();
}
#define SETUP1(...) (sop[0] = (struct hako_gnttab_setup){ .domid = SELF, __VA_ARGS__ }, SETUP_OP())

/* QUERY_SIZE; the table size in *nr. */
static long query(unsigned domid, uint32_t *nr)
{
    qop[0] = (struct hako_gnttab_query){ .domid = (uint16_t)domid, .nr_frames = 99,
                                         .max_frames = 99 };
    long rc = CALL1(HAKO_GNTTABOP_QUERY_SIZE, qop[0]);
    *nr = qop[0].nr_frames;
    return rc;
}

static void map_fill(unsigned i, uint64_t pte, uint32_t ref, unsigned domid, unsigned flags)
{
    mops[i] = (struct hako_gnttab_map){ .pte_maddr = pte, .ref = ref, .domid = (uint16_t)domid,
                                        .flags = (uint16_t)flags, .handle = ~0u };
}

static long one_map(uint64_t pte, uint32_t ref, unsigned domid, unsigned flags, uint32_t *handle)
{
    map_fill(0, pte, ref, domid, flags);
    long rc = CALL1(HAKO_GNTTABOP_MAP, mops[0]);
    if (handle)
        *handle = mops[0].handle;
    return rc;
}

static long one_unmap(uint64_t pte, uint32_t handle)
{
    uops[0] = (struct hako_gnttab_unmap){ .pte_maddr = pte, .handle = handle };
    return CALL1(HAKO_GNTTABOP_UNMAP, uops[0]);
}

#define GREF(ref, dom, off) \
    ((struct hako_gnttab_copy_ptr){ (uint32_t)(ref), (uint16_t)(dom), (uint16_t)(off) })
#define FRAME(mfn_, off) GREF((mfn_), SELF, (off))
#define SRC HAKO_GNTCOPY_SRC_GREF
#define DST HAKO_GNTCOPY_DST_GREF

static long copy1(struct hako_gnttab_copy_ptr src, struct hako_gnttab_copy_ptr dst,
                  unsigned len, unsigned flags)
{
    cop = (struct hako_gnttab_copy){ .src = src, .dst = dst, .len = (uint16_t)len,
                                     .flags = (uint16_t)flags };
    return CALL1(HAKO_GNTTABOP_COPY, cop);
}

/* Granter side (ABI.md 21.1): domid and frame, a barrier, then flags. */
typedef volatile struct hako_grant_entry gent_t;
static void set_grant(gent_t *e, unsigned domid, uint64_t frame, unsigned flags)
{
    e->domid = (uint16_t)domid;
    e->frame = (uint32_t)frame;
    __asm__ volatile("" ::: "memory");
    e->flags = (uint16_t)flags;
}

/* End a grant: swap flags to 0 unless READING/WRITING is set; 1 when it ended. */
static int end_grant(gent_t *e)
{
    uint16_t cur = __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST);
    if (cur & (READING | WRITING))
        return 0;
    return __atomic_compare_exchange_n(&e->flags, &cur, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* ---- a granter domU ----------------------------------------------------------------- */

enum { R_RW = 1, R_RO, R_OTHER, R_DEAD, R_BADFL, R_PT, R_NOTOWN, R_MOVE, R_CONS, R_MANY,
       R_CPY, R_CPYRO, R_TABLE };
#define NDATA 5                            /* data[0] its grant table, 1..4 granted */

struct domu {
    unsigned id;
    uint64_t cons, l1, data[NDATA];        /* console page, its last initial L1, free frames */
};
static gent_t *ugt = (gent_t *)(PWIN + 4096);   /* the domU's table, mapped here */

static unsigned create(const char *cmdline)
{
    memset(&cr, 0, sizeof(cr));
    ksnprintf(cmd_buf, sizeof(cmd_buf), "%s", cmdline);
    cr.image_va = UL(domu_image_start);
    cr.image_len = (uint64_t)(domu_image_end - domu_image_start);
    cr.mem_pages = DOMU_PAGES;
    cr.cmdline_va = UL(cmd_buf);
    ksnprintf(cr.name, sizeof(cr.name), "%s", cmdline);
    long rc = DOMCTL(HAKO_DOMCTL_CREATE, &cr);
    if (!XTF_CHECK(rc > 0 && rc < 64 && rc == cr.domid, "create \"%s\": rc %ld (%s)", cmdline,
                   rc, xtf_errname(rc)))
        return 0;
    return (unsigned)rc;
}

/* A frame of domain d that a read-only foreign mapping accepts: 0, or its error. */
static long probe(uint64_t frame, unsigned d)
{
    long rc = mmu1(pwin_l1 | HAKO_MMU_PT_UPDATE_FOREIGN, frame << 12 | RO_NX, d);
    if (!rc)
        mmu1(pwin_l1, 0, 0);
    return rc;
}

/* Find the domU's frames. The m2p gives candidates (the builder records the domU's
 * pfns there), a foreign mapping confirms each is the domU's: free memory (above the
 * console page, ABI.md 4.1: no module) and the last initial page table, 5 pfns below
 * the console page (4 stack pages between). */
static int find_domu(struct domu *u)
{
    static struct hako_machphys_mapping mp __attribute__((aligned(8)));
    if (HC3(HAKO_HC_memory_op, HAKO_MEM_MACHPHYS_MAPPING, &mp, 0) || u->cons >= mp.m2p_entries)
        return 0;
    uint64_t cpfn = M2P[u->cons];
    unsigned n = 0;
    if (cpfn >= DOMU_PAGES || cpfn < 10)
        return 0;
    for (uint64_t m = 0; m < mp.m2p_entries && (n < NDATA || !u->l1); m++) {
        uint64_t pfn = M2P[m];
        if (pfn >= DOMU_PAGES || m == u->cons || (pfn < si->nr_pages && mfn(pfn) == m))
            continue;
        if (pfn > cpfn && n < NDATA && probe(m, u->id) == 0)
            u->data[n++] = m;
        else if (pfn == cpfn - 5 && !u->l1 && probe(m, u->id) == EBUSY)
            u->l1 = m;
    }
    return n == NDATA && u->l1;
}

/* Create a domU (cmdline), give it a grant table in its own memory and map that here
 * (first trying SETUPs that must be refused, when refusals). */
static int granter_up(struct domu *u, const char *cmdline, int refusals)
{
    *u = (struct domu){ .id = create(cmdline) };
    if (!u->id)
        return 0;
    u->cons = cr.console_mfn;
    int found = find_domu(u);
    if (!XTF_CHECK(found, "cannot find the domU's frames (l1 %lx)", u->l1))
        return 0;
    uint64_t own = mfn(spfn);
    if (refusals) {
        HOSTILE("SETUP for the domU with a frame of ours", setup(u->id, 1, &own), EPERM);
        HOSTILE("SETUP for the domU with its page table", setup(u->id, 1, &u->l1), EBUSY);
        HOSTILE("SETUP for the domU with its console page", setup(u->id, 1, &u->cons), EBUSY);
    }
    uint32_t nr = 9;
    if (!VALID("SETUP_TABLE for the domU", setup(u->id, 1, &u->data[0])))
        return 0;
    long rc = query(u->id, &nr);
    if (!XTF_CHECK(rc == 0 && nr == 1, "QUERY_SIZE of the domU: %ld, %u", rc, nr) ||
        !VALID("map the domU's table", mmu1((pwin_l1 + 8) | HAKO_MMU_PT_UPDATE_FOREIGN,
                                            u->data[0] << 12 | RW_NX, u->id)))
        return 0;
    uint64_t d1 = u->data[1], d2 = u->data[2], d3 = u->data[3], d4 = u->data[4];
    set_grant(&ugt[R_RW], 0, d1, PERMIT), set_grant(&ugt[R_RO], 0, d1, PERMIT | RDONLY);
    set_grant(&ugt[R_OTHER], 7, d2, PERMIT), set_grant(&ugt[R_DEAD], 0, d2, 0);
    set_grant(&ugt[R_BADFL], 0, d2, PERMIT | 2), set_grant(&ugt[R_MOVE], 0, d2, PERMIT);
    set_grant(&ugt[R_PT], 0, u->l1, PERMIT | RDONLY), set_grant(&ugt[R_NOTOWN], 0, own, PERMIT);
    set_grant(&ugt[R_CONS], 0, u->cons, PERMIT | RDONLY);
    set_grant(&ugt[R_MANY], 0, d3, PERMIT | RDONLY);
    set_grant(&ugt[R_CPY], 0, d4, PERMIT), set_grant(&ugt[R_CPYRO], 0, d4, PERMIT | RDONLY);
    return 1;
}

static void granter_down(struct domu *u)
{
    if (!u->id)
        return;
    mmu1(pwin_l1 + 8, 0, 0);
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, u->id), 0, "DESTROY the granter");
    u->id = 0;
}

/* ---- SETUP_TABLE, QUERY_SIZE, the call's own errors ------------------------------- */

static void test_setup_self(void)
{
    uint64_t t[4] = { mfn(tbl[0]), mfn(tbl[1]), mfn(tbl[2]), mfn(tbl[3]) };
    uint32_t nr = 0;
    for (unsigned n = 1; n <= 4; n++) {
        VALID(what("SETUP_TABLE of our own with %u frames", n), setup(SELF, n, t));
        long rc = query(SELF, &nr);
        XTF_CHECK(rc == 0 && nr == n && qop[0].max_frames == HAKO_GRANT_FRAMES_MAX,
                  "QUERY_SIZE after %u frames: %ld, %u of %u", n, rc, nr, qop[0].max_frames);
    }
    HOSTILE("SETUP nr_frames 5", SETUP1(.nr_frames = 5, .frames = { t[0], t[1], t[2], t[3] }),
            EINVAL);
    uint64_t dup[3] = { t[0], t[1], t[0] };
    HOSTILE("SETUP a frame named twice", setup(SELF, 3, dup), EINVAL);
    HOSTILE("SETUP _pad0 != 0", SETUP1(.nr_frames = 1, .frames = { t[0] }, ._pad0 = 1), EINVAL);
    HOSTILE("SETUP _pad1 != 0", SETUP1(.nr_frames = 1, .frames = { t[0] }, ._pad1 = 1), EINVAL);
    uint64_t bad[2] = { t[0], HV_MFN };
    HOSTILE("SETUP a frame we do not own", setup(SELF, 2, bad), EPERM);
    bad[1] = mfn(kl4);
    HOSTILE("SETUP one of our page tables (the L4)", setup(SELF, 2, bad), EBUSY);
    bad[1] = shinfo_mfn();
    HOSTILE("SETUP our shared-info page", setup(SELF, 2, bad), EBUSY);
    HOSTILE("SETUP for a domain that does not exist", setup(NO_DOM, 1, t), ESRCH);
    XTF_CHECK(query(SELF, &nr) == 0 && nr == 4, "refused SETUPs changed the table");
    HOSTILE("QUERY_SIZE of a domain that does not exist", query(NO_DOM, &nr), ESRCH);
    qop[0] = (struct hako_gnttab_query){ .domid = SELF, ._pad0 = 1 };
    HOSTILE("QUERY_SIZE _pad0 != 0", CALL1(HAKO_GNTTABOP_QUERY_SIZE, qop[0]), EINVAL);
    /* The call's own errors. */
    sop[1] = sop[0] = (struct hako_gnttab_setup){ .domid = SELF, .nr_frames = 1, .frames = { t[0] } };
    qop[1] = qop[0] = (struct hako_gnttab_query){ .domid = SELF };
    memset(mops, 0, sizeof(mops));
    HOSTILE("SETUP_TABLE count 2", GNT(HAKO_GNTTABOP_SETUP_TABLE, sop, 2), EINVAL);
    HOSTILE("QUERY_SIZE count 2", GNT(HAKO_GNTTABOP_QUERY_SIZE, qop, 2), EINVAL);
    HOSTILE("cmd 99", GNT(99, mops, 1), -HAKO_ENOSYS);
    HOSTILE("MAP count 0", GNT(HAKO_GNTTABOP_MAP, mops, 0), EINVAL);
    HOSTILE("MAP count 65", GNT(HAKO_GNTTABOP_MAP, mops, 65), EINVAL);
    HOSTILE("MAP count 2^32 + 1", GNT(HAKO_GNTTABOP_MAP, mops, (1ull << 32) + 1), EINVAL);
    HOSTILE("MAP ops not 8-aligned", GNT(HAKO_GNTTABOP_MAP, (char *)mops + 4, 1), EINVAL);
    HOSTILE("MAP ops unmapped", GNT(HAKO_GNTTABOP_MAP, 0x1000, 1), -HAKO_EFAULT);
    HOSTILE("MAP ops in the hypervisor", GNT(HAKO_GNTTABOP_MAP, HAKO_HV_VA_START, 1), -HAKO_EFAULT);
    HOSTILE("QUERY_SIZE ops read-only (our L4)",
            GNT(HAKO_GNTTABOP_QUERY_SIZE, si->pt_base_va, 1), -HAKO_EFAULT);
    XTF_CHECK(query(SELF, &nr) == 0 && nr == 4, "refused calls changed the table");
    /* A multicall entry runs it (21.2); an asynchronous submission may not (17.3). */
    static struct hako_multicall_entry mc __attribute__((aligned(8)));
    qop[0] = (struct hako_gnttab_query){ .domid = SELF, .status = 12345 };
    mc = (struct hako_multicall_entry){ .op = HAKO_HC_grant_table_op, .result = 99,
                                        .args = { HAKO_GNTTABOP_QUERY_SIZE, UL(qop), 1 } };
    XTF_CHECK(HC3(HAKO_HC_multicall, &mc, 1, 0) == 1 && mc.result == 0 && qop[0].status == 0 &&
              qop[0].nr_frames == 4, "QUERY_SIZE in a multicall: result %ld", (long)mc.result);
    HOSTILE("grant_table_op as an asynchronous submission", xtf_async_once((struct hako_async_sqe){
            .op = HAKO_HC_grant_table_op, .args = { HAKO_GNTTABOP_QUERY_SIZE, UL(qop), 1 } }),
            EINVAL);
    VALID("SETUP nr_frames 0 removes our table", setup(SELF, 0, NULL));
    XTF_CHECK(query(SELF, &nr) == 0 && nr == 0, "QUERY_SIZE after removing is not 0");
    AUDIT_IS_0("after the SETUP tests");
}

/* ---- MAP and UNMAP ------------------------------------------------------------------ */

static void test_map(const struct domu *u)
{
    unsigned d = u->id;
    uint64_t a = pte_of(300), b = pte_of(301), c = pte_of(302);
    volatile uint64_t *va_a = (volatile uint64_t *)SLOT_VA(300);
    volatile const uint64_t *va_b = (volatile const uint64_t *)SLOT_VA(301);
    uint32_t ha = 0, hb = 0, h = 0;
    if (VALID("MAP a writable grant", one_map(a, R_RW, d, 0, &ha))) {
        uint64_t e = pte_read(a);
        XTF_CHECK(HAKO_PTE_MFN(e) == u->data[1] && (e & P_U_W) == P_U_W, "MAP's entry %lx", e);
        FLAGS_ARE(ugt, R_RW, PERMIT | READING | WRITING, "while mapped writable");
        *va_a = 0x5eed0001cafef00dull;
        if (VALID("MAP the same grant read-only", one_map(b, R_RW, d, MAP_RO, &hb))) {
            XTF_CHECK((pte_read(b) & P_U_W) == (HAKO_PTE_P | HAKO_PTE_U), "RO entry %lx", pte_read(b));
            XTF_CHECK(*va_b == 0x5eed0001cafef00dull, "read back %lx through the RO mapping", *va_b);
        }
        XTF_CHECK(!end_grant(&ugt[R_RW]) && (ugt[R_RW].flags & PERMIT), "grant ended while mapped");
        uint32_t bogus = ha + 1 == hb ? ha + 2 : ha + 1;
        HOSTILE("UNMAP a handle never made", one_unmap(a, bogus), EINVAL);
        HOSTILE("UNMAP handle ~0", one_unmap(a, ~0u), EINVAL);
        HOSTILE("UNMAP at another pte_maddr", one_unmap(c, ha), EINVAL);
        HOSTILE("UNMAP one mapping at the other's entry", one_unmap(a, hb), EINVAL);
        XTF_CHECK(HAKO_PTE_MFN(pte_read(a)) == u->data[1], "refused UNMAPs changed the entry");
        VALID("UNMAP the writable mapping", one_unmap(a, ha));
        XTF_CHECK(!(pte_read(a) & HAKO_PTE_P), "entry still present after UNMAP: %lx", pte_read(a));
        FLAGS_ARE(ugt, R_RW, PERMIT | READING, "with only the read-only mapping");
        HOSTILE("UNMAP twice", one_unmap(a, ha), EINVAL);
        VALID("UNMAP the read-only mapping", one_unmap(b, hb));
        FLAGS_ARE(ugt, R_RW, PERMIT, "after the last UNMAP");
        XTF_CHECK(end_grant(&ugt[R_RW]) && ugt[R_RW].flags == 0, "cannot end the unmapped grant");
        HOSTILE("MAP an ended grant", one_map(a, R_RW, d, 0, NULL), ENOENT);
        set_grant(&ugt[R_RW], 0, u->data[1], PERMIT);
    }
    if (VALID("MAP a READONLY grant read-only", one_map(a, R_RO, d, MAP_RO, &h))) {
        FLAGS_ARE(ugt, R_RO, PERMIT | RDONLY | READING, "while mapped");
        VALID("UNMAP it", one_unmap(a, h));
    }
    uint64_t scratch_pte = pv_entry_maddr(kl4, UL(pfn_va(zpfn)), 1);
    HOSTILE("MAP writable of a READONLY grant", one_map(a, R_RO, d, 0, NULL), EPERM);
    HOSTILE("MAP a grant for another domain", one_map(a, R_OTHER, d, 0, NULL), EPERM);
    HOSTILE("MAP a grant that is not live", one_map(a, R_DEAD, d, 0, NULL), ENOENT);
    HOSTILE("MAP ref 512 of a 1-frame table", one_map(a, 512, d, 0, NULL), EINVAL);
    HOSTILE("MAP ref ~0", one_map(a, ~0u, d, 0, NULL), EINVAL);
    HOSTILE("MAP an entry with unknown flag bits", one_map(a, R_BADFL, d, 0, NULL), EINVAL);
    HOSTILE("MAP with unknown MAP flags", one_map(a, R_RW, d, 2, NULL), EINVAL);
    HOSTILE("MAP naming ourselves as granter", one_map(a, R_RW, 0, 0, NULL), EINVAL);
    HOSTILE("MAP from a domain that does not exist", one_map(a, R_RW, NO_DOM, 0, NULL), ESRCH);
    HOSTILE("MAP at an unaligned pte_maddr", one_map(a + 4, R_RW, d, 0, NULL), EINVAL);
    HOSTILE("MAP at an L2 entry", one_map(pv_entry_maddr(kl4, WIN, 2), R_RW, d, 0, NULL), EINVAL);
    HOSTILE("MAP into a frame that is no table", one_map(mfn(zpfn) << 12, R_RW, d, 0, NULL), EINVAL);
    HOSTILE("MAP into the domU's L1", one_map(u->l1 << 12 | 300 * 8, R_RW, d, 0, NULL), EPERM);
    HOSTILE("MAP at a present L1 entry", one_map(scratch_pte, R_RW, d, 0, NULL), -HAKO_EEXIST);
    HOSTILE("MAP a grant of the domU's page table", one_map(a, R_PT, d, MAP_RO, NULL), EBUSY);
    HOSTILE("MAP a grant of the domU's console page", one_map(a, R_CONS, d, MAP_RO, NULL), EBUSY);
    HOSTILE("MAP a grant of a frame the domU does not own", one_map(a, R_NOTOWN, d, 0, NULL), EPERM);
    XTF_CHECK(!(pte_read(a) & HAKO_PTE_P) && ugt[R_RW].flags == PERMIT && ugt[R_RO].flags ==
              (PERMIT | RDONLY), "refused MAPs changed something: %lx %x", pte_read(a),
              ugt[R_RW].flags);
    /* We replace the mapping ourselves (21.3): it counts until UNMAP, which then
     * leaves the entry (now someone else's) alone. */
    if (VALID("MAP a grant we then overwrite", one_map(a, R_RW, d, 0, &h))) {
        VALID("overwrite the mapping with mmu_update", mmu1(a, 0, 0));
        FLAGS_ARE(ugt, R_RW, PERMIT | READING | WRITING, "after overwriting");
        VALID("map our own frame there", mmu1(a, mfn(zpfn) << 12 | RW_NX, 0));
        VALID("UNMAP the overwritten mapping", one_unmap(a, h));
        XTF_CHECK(HAKO_PTE_MFN(pte_read(a)) == mfn(zpfn) && ugt[R_RW].flags == PERMIT,
                  "UNMAP after overwriting: entry %lx, flags %x", pte_read(a), ugt[R_RW].flags);
        VALID("clear it", mmu1(a, 0, 0));
    }
    /* The table's own frame may be granted (21.1): the peer sees the entries. */
    set_grant(&ugt[R_TABLE], 0, u->data[0], PERMIT | RDONLY);
    if (VALID("MAP a grant of the grant table itself", one_map(a, R_TABLE, d, MAP_RO, &h))) {
        XTF_CHECK(((volatile const uint64_t *)SLOT_VA(300))[R_TABLE] ==
                  *(volatile const uint64_t *)&ugt[R_TABLE], "the table seen through its grant");
        VALID("UNMAP it", one_unmap(a, h));
    }
    if (VALID("MAP the grant whose frame will move", one_map(a, R_MOVE, d, 0, &h))) {
        ugt[R_MOVE].frame = (uint32_t)u->data[3];
        HOSTILE("MAP again after the entry's frame changed", one_map(b, R_MOVE, d, 0, NULL), EBUSY);
        ugt[R_MOVE].frame = (uint32_t)u->data[2];
        VALID("UNMAP it", one_unmap(a, h));
        FLAGS_ARE(ugt, R_MOVE, PERMIT, "after UNMAP");
    }
    AUDIT_IS_0("after the MAP tests");
}

/* 256 mappings at once, the 257th refused; a batch with good and bad entries. */
static void test_many(const struct domu *u)
{
    static uint32_t handles[HAKO_GRANT_MAPS_MAX];
    unsigned mapped = 0, unmapped = 0, k;
    for (unsigned b = 0; b < HAKO_GRANT_MAPS_MAX; b += 64) {
        for (k = 0; k < 64; k++)
            map_fill(k, pte_of(b + k), R_MANY, u->id, MAP_RO);
        long rc = GNT(HAKO_GNTTABOP_MAP, mops, 64);
        for (k = 0; k < 64; k++)
            mapped += !rc && !mops[k].status, handles[b + k] = mops[k].handle;
    }
    XTF_CHECK(mapped == HAKO_GRANT_MAPS_MAX, "%u of 256 mappings made", mapped);
    HOSTILE("the 257th simultaneous mapping",
            one_map(pte_of(HAKO_GRANT_MAPS_MAX), R_MANY, u->id, MAP_RO, NULL), -HAKO_ENOSPC);
    FLAGS_ARE(ugt, R_MANY, PERMIT | RDONLY | READING, "with 256 mappings");
    AUDIT_IS_0("with 256 grant mappings");
    for (unsigned b = 0; b < HAKO_GRANT_MAPS_MAX; b += 64) {
        for (k = 0; k < 64; k++)
            uops[k] = (struct hako_gnttab_unmap){ pte_of(b + k), handles[b + k], 1 };
        long rc = GNT(HAKO_GNTTABOP_UNMAP, uops, 64);
        for (k = 0; k < 64; k++)
            unmapped += !rc && !uops[k].status;
    }
    XTF_CHECK(unmapped == mapped, "%u of %u mappings unmapped", unmapped, mapped);
    FLAGS_ARE(ugt, R_MANY, PERMIT | RDONLY, "after 256 UNMAPs");

    /* Mixed batch: statuses are per entry, in order (entry 4 finds entry 0's mapping). */
    static const long want[5] = { 0, ENOENT, 0, EINVAL, -HAKO_EEXIST };
    map_fill(0, pte_of(310), R_RW, u->id, 0);
    map_fill(1, pte_of(311), R_DEAD, u->id, 0);
    map_fill(2, pte_of(312), R_RO, u->id, MAP_RO);
    map_fill(3, pte_of(313), 4096, u->id, 0);
    map_fill(4, pte_of(310), R_RO, u->id, MAP_RO);
    XTF_EXPECT_RC(GNT(HAKO_GNTTABOP_MAP, mops, 5), 0, "a mixed batch of 5 MAPs");
    for (unsigned i = 0; i < 5; i++)
        XTF_CHECK(mops[i].status == want[i], "batch MAP %u: status %d (%s), want %ld", i,
                  mops[i].status, xtf_errname(mops[i].status), want[i]);
    XTF_CHECK(HAKO_PTE_MFN(pte_read(pte_of(310))) == u->data[1] &&
              HAKO_PTE_MFN(pte_read(pte_of(312))) == u->data[1] &&
              !(pte_read(pte_of(311)) & HAKO_PTE_P) && !(pte_read(pte_of(313)) & HAKO_PTE_P),
              "batch: the good entries are not (only) the mapped ones");
    uops[0] = (struct hako_gnttab_unmap){ .pte_maddr = pte_of(310), .handle = mops[0].handle };
    uops[1] = (struct hako_gnttab_unmap){ .pte_maddr = pte_of(311), .handle = ~0u };
    uops[2] = (struct hako_gnttab_unmap){ .pte_maddr = pte_of(312), .handle = mops[2].handle };
    XTF_EXPECT_RC(GNT(HAKO_GNTTABOP_UNMAP, uops, 3), 0, "a mixed batch of 3 UNMAPs");
    XTF_CHECK(!uops[0].status && uops[1].status == EINVAL && !uops[2].status,
              "batch UNMAP statuses %d %d %d", uops[0].status, uops[1].status, uops[2].status);
    FLAGS_ARE(ugt, R_RW, PERMIT, "after the batch");
    FLAGS_ARE(ugt, R_RO, PERMIT | RDONLY, "after the batch");
    AUDIT_IS_0("after the batches");
}

/* ---- COPY ---------------------------------------------------------------------------- */

static void test_copy(const struct domu *u)
{
    unsigned d = u->id;
    uint8_t *s = pfn_va(spfn), *r = pfn_va(rpfn);
    uint64_t smfn = mfn(spfn), rmfn = mfn(rpfn), zmfn = mfn(zpfn), shinfo = shinfo_mfn();
    for (unsigned i = 0; i < 4096; i++)
        s[i] = (uint8_t)(i * 13 + 7);
    VALID("COPY frame -> gref", copy1(FRAME(smfn, 0), GREF(R_CPY, d, 0), 4096, DST));
    memset(r, 0, 4096);
    VALID("COPY gref -> frame", copy1(GREF(R_CPY, d, 0), FRAME(rmfn, 0), 4096, SRC));
    XTF_CHECK(!memcmp(r, s, 4096), "COPY frame -> gref -> frame changed the bytes");
    VALID("COPY gref -> gref", copy1(GREF(R_CPY, d, 100), GREF(R_RW, d, 200), 300, SRC | DST));
    memset(r, 0xEE, 4096);
    VALID("COPY from a READONLY grant", copy1(GREF(R_RO, d, 0), FRAME(rmfn, 0), 4096, SRC));
    XTF_CHECK(!memcmp(r + 200, s + 100, 300) && r[199] == 0 && r[500] == 0,
              "COPY gref -> gref: wrong bytes at 199..500 (%x %x %x)", r[199], r[200], r[500]);
    VALID("COPY of 0 bytes", copy1(GREF(R_CPY, d, 4095), FRAME(rmfn, 4095), 0, SRC));
    FLAGS_ARE(ugt, R_CPY, PERMIT, "after COPY");
    memcpy(s, r, 4096);                    /* r must not change below */
    HOSTILE("COPY to a READONLY grant", copy1(FRAME(zmfn, 0), GREF(R_CPYRO, d, 0), 8, DST), EPERM);
    HOSTILE("COPY src off+len > 4096", copy1(GREF(R_CPY, d, 4000), FRAME(rmfn, 0), 200, SRC), EINVAL);
    HOSTILE("COPY dst off+len > 4096", copy1(FRAME(zmfn, 0), GREF(R_CPY, d, 4095), 2, DST), EINVAL);
    HOSTILE("COPY len 4097", copy1(GREF(R_CPY, d, 0), FRAME(rmfn, 0), 4097, SRC), EINVAL);
    HOSTILE("COPY a frame side with domid not SELF",
            copy1(GREF(zmfn, d, 0), GREF(R_CPY, d, 0), 8, DST), EINVAL);
    HOSTILE("COPY from a frame not ours", copy1(FRAME(u->data[2], 0), FRAME(rmfn, 0), 8, 0), EPERM);
    HOSTILE("COPY into one of our page tables (the L4)",
            copy1(FRAME(zmfn, 0), FRAME(mfn(kl4), 0), 8, 0), EBUSY);
    HOSTILE("COPY into our shared-info page", copy1(FRAME(zmfn, 0), FRAME(shinfo, 4088), 8, 0), EBUSY);
    HOSTILE("COPY with unknown flags", copy1(GREF(R_CPY, d, 0), FRAME(rmfn, 0), 8, SRC | 4), EINVAL);
    HOSTILE("COPY a grant side naming us", copy1(GREF(R_CPY, 0, 0), FRAME(rmfn, 0), 8, SRC), EINVAL);
    HOSTILE("COPY a grant not live", copy1(GREF(R_DEAD, d, 0), FRAME(rmfn, 0), 8, SRC), ENOENT);
    HOSTILE("COPY from a grant of the domU's page table",
            copy1(GREF(R_PT, d, 0), FRAME(rmfn, 0), 8, SRC), EBUSY);
    XTF_CHECK(!memcmp(r, s, 4096), "a refused COPY wrote into our frame");
    AUDIT_IS_0("after the COPY tests");
}

/* The granter goes while we map its grants: DESTROY works (21.4), our entries go; but
 * not while we also map its table with PT_UPDATE_FOREIGN (21.3), not even when a grant
 * mapping we overwrote (it still counts, 21.3, but maps nothing) is there too. */
static void test_destroy_granter(struct domu *u)
{
    uint32_t h1 = 0, h2 = 0, h3 = 0;
    VALID("MAP before destroying the granter", one_map(pte_of(320), R_RW, u->id, 0, &h1));
    VALID("MAP RO before destroying the granter", one_map(pte_of(321), R_RO, u->id, MAP_RO, &h2));
    long rc = DOMCTL(HAKO_DOMCTL_DESTROY, u->id);
    HOSTILE("DESTROY with grant and PT_UPDATE_FOREIGN mappings", rc, EBUSY);
    if (rc && VALID("MAP one more", one_map(pte_of(322), R_RW, u->id, 0, &h3)) &&
        VALID("and overwrite it", mmu1(pte_of(322), 0, 0))) {
        rc = DOMCTL(HAKO_DOMCTL_DESTROY, u->id);
        HOSTILE("DESTROY with PT_UPDATE_FOREIGN and an overwritten grant mapping", rc, EBUSY);
    }
    if (rc) {                              /* not destroyed yet */
        VALID("unmap the domU's table", mmu1(pwin_l1 + 8, 0, 0));
        XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, u->id), 0, "DESTROY a granter whose grants we map");
    }
    u->id = 0;
    XTF_CHECK(!((pte_read(pte_of(320)) | pte_read(pte_of(321))) & HAKO_PTE_P),
              "our grant mappings survived their granter");
    HOSTILE("UNMAP a mapping of a destroyed granter", one_unmap(pte_of(320), h1), EINVAL);
    HOSTILE("UNMAP the other one", one_unmap(pte_of(321), h2), EINVAL);
    HOSTILE("UNMAP the overwritten one", one_unmap(pte_of(322), h3), EINVAL);
    AUDIT_IS_0("after destroying the granter");
}

/* A granter that has stopped (shut down, not destroyed): its grants are ESRCH. */
static void test_stopped_granter(void)
{
    struct domu u;
    if (granter_up(&u, "exit=0", 0) &&
        XTF_CHECK(dom_wait_stopped(sh, exc_port, &info, u.id), "the exit=0 domU did not stop")) {
        HOSTILE("MAP a grant of a stopped domain", one_map(pte_of(340), R_RW, u.id, 0, NULL), ESRCH);
        HOSTILE("COPY from a grant of a stopped domain",
                copy1(GREF(R_RW, u.id, 0), FRAME(mfn(rpfn), 0), 8, SRC), ESRCH);
    }
    granter_down(&u);
}

/* ---- a mapper domU ------------------------------------------------------------------ */

static void test_mapper(void)
{
    enum { R = 5 };
    gent_t *gt = pfn_va(tbl[0]);
    uint64_t t0 = mfn(tbl[0]), t1 = mfn(tbl[1]);
    memset(pfn_va(tbl[0]), 0, 4096);
    if (!VALID("SETUP_TABLE of our own for the mapper", setup(SELF, 1, &t0)))
        return;
    char cmdline[32];
    ksnprintf(cmdline, sizeof(cmdline), "gmap dom=0 ref=%u", R);
    unsigned d = create(cmdline);
    if (!d) {
        setup(SELF, 0, NULL);
        return;
    }
    volatile uint64_t *f = pfn_va(fpfn);
    uint64_t want = 0x6772616e74000000ull | R, end = now_ns() + 5000 * MS;
    set_grant(&gt[R], d, mfn(fpfn), PERMIT);
    info.state = HAKO_DOMSTATE_RUNNING;
    while (*f != want && now_ns() < end && !dom_getinfo(&info, d) &&
           info.state == HAKO_DOMSTATE_RUNNING) {
        poll_port(exc_port, now_ns() + 10 * MS);
        port_test_and_clear(sh, exc_port);
    }
    XTF_CHECK(*f == want, "the mapper's write did not arrive: %lx (state %u, code %u)", *f,
              info.state, info.shutdown_code);
    FLAGS_ARE(gt, R, PERMIT | READING | WRITING, "while the domU maps it");
    HOSTILE("SETUP replacing our table while its grant is mapped", setup(SELF, 1, &t1), EBUSY);
    XTF_CHECK(!end_grant(&gt[R]), "our grant ended while the domU maps it");
    AUDIT_IS_0("while a domU maps our grant");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, d), 0, "DESTROY the mapper");
    FLAGS_ARE(gt, R, PERMIT, "after the mapper went");
    XTF_CHECK(end_grant(&gt[R]) && gt[R].flags == 0, "cannot end the grant after the mapper went");
    VALID("SETUP nr_frames 0 after the mapper", setup(SELF, 0, NULL));
    AUDIT_IS_0("after the mapper");
}

/* 100 MAP/UNMAP cycles inside one domU's life leave the free frames where they were. */
static void test_cycles(void)
{
    long free1 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
    struct domu u;
    unsigned bad = 0;
    if (granter_up(&u, "block", 0)) {
        for (unsigned i = 0; i < 100; i++) {
            uint32_t h = 0;
            bad += one_map(pte_of(330), R_RW, u.id, 0, &h) != 0;
            bad += one_unmap(pte_of(330), h) != 0;
        }
        XTF_CHECK(bad == 0 && ugt[R_RW].flags == PERMIT, "100 MAP/UNMAP cycles: %u failed, flags %x",
                  bad, ugt[R_RW].flags);
    }
    granter_down(&u);
    XTF_EXPECT_RC(DEBUG_OP(HAKO_DEBUG_FREE_FRAMES), free1, "100 cycles and a domU leak no frame");
    AUDIT_IS_0("after the cycles");
}

void test_main(const struct hako_start_info *si_)
{
    si = si_;
    sh = (struct hako_shared_info *)si->shared_info_va;
    if (!(si->flags & HAKO_SIF_PRIVILEGED)) {
        xtf_skip("not the control domain");
        return;
    }
    const char *volatile img = domu_image_start;
    if (!img || domu_image_end == img) {
        xtf_skip("domU image not linked in (Makefile: add grant to XTF_DOMU_USERS)");
        return;
    }
    mm_init(si);
    kl4 = mm_kernel_root();
    if (!(exc_port = bind_dom_exc()))
        return;
    for (unsigned i = 0; i < 4; i++)
        tbl[i] = pfn_alloc();
    spfn = pfn_alloc(), rpfn = pfn_alloc(), zpfn = pfn_alloc(), fpfn = pfn_alloc();
    /* Empty L1 entries for the windows, the tables on the way created. */
    if (!mm_map(kl4, WIN, 0, 0) && !mm_map(kl4, PWIN, 0, 0) && !mm_flush())
        win_l1 = pv_entry_maddr(kl4, WIN, 1), pwin_l1 = pv_entry_maddr(kl4, PWIN, 1);
    if (!tbl[3] || !fpfn || !win_l1 || !pwin_l1) {
        xtf_error("cannot allocate frames or build the windows");
        return;
    }
    long free0 = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
    AUDIT_IS_0("at the start");

    test_setup_self();
    struct domu u;
    if (granter_up(&u, "block", 1)) {
        test_map(&u);
        test_many(&u);
        test_copy(&u);
        test_destroy_granter(&u);
    }
    granter_down(&u);
    test_stopped_granter();
    test_mapper();
    test_cycles();

    for (long d; (d = DOMCTL(HAKO_DOMCTL_NEXT, 1)) > 0;) {
        xtf_failure("d%ld still exists at the end", d);
        if (DOMCTL(HAKO_DOMCTL_DESTROY, d))
            break;
    }
    /* Our table is gone, so are our mappings and every domain: the free frames are back
     * to their value before any of them existed, but for our own grant bookkeeping, which
     * lives as long as we do (ABI.md 21.4): a page per table frame we had, one for our
     * mappings. */
    long free_end = DEBUG_OP(HAKO_DEBUG_FREE_FRAMES);
    long ours = HAKO_GRANT_FRAMES_MAX + 1;
    XTF_CHECK(free_end == free0 - ours, "free frames %ld at the end, %ld at the start: %ld "
              "frames held, not our %ld bookkeeping pages", free_end, free0, free0 - free_end,
              ours);
    AUDIT_IS_0("at the end");
}
