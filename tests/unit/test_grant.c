/*
 * tests/unit/test_grant.c: host cmocka tests for hypervisor/grant.c, the grant-table
 * state machine: setup, claim and map, unmap, copy, and the destruction of either side.
 *
 * grant.c is included here whole, so its operations are called directly (the hypercall
 * wrapper, which needs a running vCPU, is not). Fake RAM of NFRAMES pages backs the frame
 * table; frames 16..511 belong to the granter G (1), 512..1023 to the mapper M (2),
 * 1024.. are free (hypervisor pages come from there). Each test starts with G's grant
 * table in TBL and M's validated L1 in L1M; pagetype.c does the reference counting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../hypervisor/grant.c"

#define NFRAMES 1536u
#define G       1u
#define M       2u
#define GDATA   100u         /* G's data frames */
#define GTABLE  200u         /* an L1 of G's (a page table) */
#define TBL     300u         /* G's grant-table frame */
#define MDATA   600u         /* M's data frames */
#define L1M     700u         /* M's validated L1 */
#define SHINFO  400u         /* G's shared-info frame (special) */

#define OK(x)     assert_int_equal((x), 0)
#define ERR(x, e) assert_int_equal((x), -HAKO_##e)
#define TEST(name) static void name(void **state __attribute__((unused)))

static uint8_t *ram;
static struct frame_info ftab[NFRAMES];
static struct domain *doms[3];
struct cpu_features cpu_has;

/* ---- what grant.c needs from the rest of the hypervisor ---- */

struct domain *domain_get(uint16_t domid) { return domid < 3 ? doms[domid] : NULL; }

struct domain *domain_next(unsigned from)
{
    for (unsigned i = from; i < 3; i++)
        if (doms[i])
            return doms[i];
    return NULL;
}

bool mmu_frame_is_special(const struct domain *d, mfn_t mfn)
{
    return mfn_x(mfn) == d->shinfo_mfn;
}

int guest_check(const struct vcpu *v, gva_t va, uint64_t len, bool write)
{
    (void)v, (void)va, (void)len, (void)write;
    return -HAKO_EFAULT;                /* the hypercall wrapper is not tested here */
}
int guest_copy_from(const struct vcpu *v, void *dst, gva_t va, uint64_t len)
{
    (void)v, (void)dst, (void)va, (void)len;
    return -HAKO_EFAULT;
}
int guest_copy_to(const struct vcpu *v, gva_t va, const void *src, uint64_t len)
{
    (void)v, (void)va, (void)src, (void)len;
    return -HAKO_EFAULT;
}

/* ---- fixture ---- */

static uint64_t *gte;              /* G's grant entries (TBL) */
static uint32_t scratch[NFRAMES][2];

static uint64_t *frame_ptr(uint64_t mfn) { return (uint64_t *)(ram + mfn * PAGE_SIZE); }
static uint64_t pte_maddr(unsigned idx) { return L1M * PAGE_SIZE + idx * 8u; }

/* Grant entry ref of G: frame to peer with flags (written in the documented order). */
static void grant(uint32_t ref, uint16_t peer, uint32_t frame, uint16_t flags)
{
    gte[ref] = (uint64_t)frame << 32 | (uint64_t)peer << 16;
    gte[ref] |= flags;
}
static uint16_t gflags(uint32_t ref) { return (uint16_t)gte[ref]; }

static struct domain *make_domain(uint16_t id, bool priv)
{
    struct domain *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->domid = id;
    d->privileged = priv;
    d->state = DOMAIN_RUNNING;
    d->hv_mem = (struct frame_list){ FRAME_NONE, 0 };
    return d;
}

static int setup(void **state)
{
    (void)state;
    ram = aligned_alloc(PAGE_SIZE, NFRAMES * PAGE_SIZE);
    assert_non_null(ram);
    memset(ram, 0, NFRAMES * PAGE_SIZE);
    test_directmap_base = (uintptr_t)ram;
    frame_init(ftab, NFRAMES), frame_add_free_range(_mfn(16), NFRAMES - 16);
    doms[0] = make_domain(0, true), doms[G] = make_domain(G, false), doms[M] = make_domain(M, false);
    struct frame_list lg = { FRAME_NONE, 0 }, lm = { FRAME_NONE, 0 };
    for (uint64_t m = 16; m < 1024; m++)
        assert_int_equal(mfn_x(frame_alloc(m < 512 ? G : M, m < 512 ? &lg : &lm)), m);
    pagetype_init(scratch, true), pagetype_tlb_flushed();
    doms[G]->shinfo_mfn = SHINFO;
    OK(pt_pin(_mfn(GTABLE), PGT_L1, G));
    OK(pt_pin(_mfn(L1M), PGT_L1, M));
    struct hako_gnttab_setup s = { .domid = HAKO_DOMID_SELF, .nr_frames = 1, .frames = { TBL } };
    OK(gnt_setup(doms[G], &s));
    gte = frame_ptr(TBL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 3; i++)
        free(doms[i]), doms[i] = NULL;
    free(ram);
    return 0;
}

static int map(uint32_t ref, unsigned idx, bool ro, uint32_t *handle)
{
    struct hako_gnttab_map op = { .pte_maddr = pte_maddr(idx), .ref = ref, .domid = G,
                                  .flags = ro ? HAKO_GNTMAP_READONLY : 0 };
    int rc = gnt_map(doms[M], &op);
    if (handle)
        *handle = op.handle;
    return rc;
}

static int unmap(uint32_t handle, unsigned idx)
{
    struct hako_gnttab_unmap op = { .pte_maddr = pte_maddr(idx), .handle = handle };
    return gnt_unmap(doms[M], &op);
}

/* The audit of G, with the references the hypervisor holds on its grant table. */
static unsigned audit_g(void)
{
    struct hv_ref refs[HAKO_GRANT_FRAMES_MAX];
    return pagetype_audit(G, refs, grant_refs(doms[G], refs, 0));
}

#define counts(mfn, tc, rc) do {                            \
        assert_int_equal(ftab[mfn].type_count, (tc));       \
        assert_int_equal(ftab[mfn].ref_count, (rc));        \
    } while (0)

/* ---- tests ---- */

TEST(test_setup_refusals_and_replace)
{
    struct hako_gnttab_setup s = { .domid = HAKO_DOMID_SELF, .nr_frames = 2,
                                   .frames = { TBL + 1, TBL + 1 } };
    ERR(gnt_setup(doms[G], &s), EINVAL);                    /* twice */
    s.nr_frames = 5;
    ERR(gnt_setup(doms[G], &s), EINVAL);
    s = (struct hako_gnttab_setup){ .domid = HAKO_DOMID_SELF, .nr_frames = 1, .frames = { MDATA } };
    ERR(gnt_setup(doms[G], &s), EPERM);                     /* M's frame */
    s.frames[0] = GTABLE;
    ERR(gnt_setup(doms[G], &s), EBUSY);                     /* a page table */
    s.frames[0] = SHINFO;
    ERR(gnt_setup(doms[G], &s), EBUSY);
    s = (struct hako_gnttab_setup){ .domid = G, .nr_frames = 1, .frames = { TBL } };
    ERR(gnt_setup(doms[M], &s), EPERM);                     /* not the control domain */
    s.domid = 9;
    ERR(gnt_setup(doms[0], &s), ESRCH);
    s = (struct hako_gnttab_setup){ .domid = HAKO_DOMID_SELF, ._pad1 = 1 };
    ERR(gnt_setup(doms[G], &s), EINVAL);
    counts(TBL, 1, 1);                                      /* the table's type held */
    s = (struct hako_gnttab_setup){ .domid = G, .nr_frames = 2, .frames = { TBL, TBL + 1 } };
    OK(gnt_setup(doms[0], &s));                             /* by the control domain */
    counts(TBL, 1, 1);
    counts(TBL + 1, 1, 1);
    struct hako_gnttab_query q = { .domid = HAKO_DOMID_SELF };
    OK(gnt_query(doms[G], &q));
    assert_int_equal(q.nr_frames, 2), assert_int_equal(q.max_frames, HAKO_GRANT_FRAMES_MAX);
    /* A table with a mapped grant stays. */
    grant(3, M, GDATA, HAKO_GTF_PERMIT_ACCESS);
    uint32_t h;
    OK(map(3, 0, false, &h));
    s.nr_frames = 0;
    ERR(gnt_setup(doms[G], &s), EBUSY);
    OK(unmap(h, 0));
    OK(gnt_setup(doms[G], &s));
    counts(TBL, 0, 0);
    counts(TBL + 1, 0, 0);
    OK(audit_g());
}

TEST(test_map_unmap_counts_and_flags)
{
    grant(5, M, GDATA, HAKO_GTF_PERMIT_ACCESS);
    uint32_t h1, h2;
    OK(map(5, 10, false, &h1));
    assert_int_equal(frame_ptr(L1M)[10] & ~0xFFFull & ~PTE_NX, (uint64_t)GDATA << 12);
    assert_true(frame_ptr(L1M)[10] & PTE_W);
    counts(GDATA, 1, 1);
    assert_int_equal(gflags(5), HAKO_GTF_PERMIT_ACCESS | HAKO_GTF_READING | HAKO_GTF_WRITING);
    assert_int_equal(pagetype_foreign_mapped(G), 1), assert_int_equal(pagetype_foreign_held(M), 1);
    OK(map(5, 11, true, &h2));                              /* a second, read-only */
    counts(GDATA, 1, 2);
    assert_int_equal(doms[G]->grant.mapped, 2);
    ERR(unmap(h2, 10), EINVAL);                             /* not where it was made */
    OK(unmap(h1, 10));
    assert_int_equal(gflags(5), HAKO_GTF_PERMIT_ACCESS | HAKO_GTF_READING);
    assert_int_equal(frame_ptr(L1M)[10], 0);
    ERR(unmap(h1, 10), EINVAL);                             /* twice */
    OK(unmap(h2, 11));
    assert_int_equal(gflags(5), HAKO_GTF_PERMIT_ACCESS);
    counts(GDATA, 0, 0);
    assert_int_equal(doms[G]->grant.mapped, 0), assert_int_equal(doms[M]->grant.nr_maps, 0);
    OK(audit_g()), OK(pagetype_audit(M, NULL, 0));
}

TEST(test_map_refusals_change_nothing)
{
    static struct frame_info snap[NFRAMES];
    grant(1, M, GDATA, HAKO_GTF_PERMIT_ACCESS | HAKO_GTF_READONLY);
    grant(2, 0, GDATA, HAKO_GTF_PERMIT_ACCESS);             /* for another domain */
    grant(3, M, GDATA, 0);                                  /* not live */
    grant(4, M, GDATA, HAKO_GTF_PERMIT_ACCESS | 0x100);     /* unknown bit */
    grant(6, M, GTABLE, HAKO_GTF_PERMIT_ACCESS);            /* a page table */
    grant(7, M, MDATA, HAKO_GTF_PERMIT_ACCESS);             /* not G's frame */
    grant(8, M, SHINFO, HAKO_GTF_PERMIT_ACCESS);
    grant(9, M, GDATA + 1, HAKO_GTF_PERMIT_ACCESS);
    memcpy(snap, ftab, sizeof(snap));
    uint64_t entries[16];
    memcpy(entries, gte, sizeof(entries));
    ERR(map(1, 0, false, NULL), EPERM);
    ERR(map(2, 0, true, NULL), EPERM);
    ERR(map(3, 0, true, NULL), ENOENT);
    ERR(map(4, 0, true, NULL), EINVAL);
    ERR(map(512, 0, true, NULL), EINVAL);                   /* beyond the table */
    ERR(map(6, 0, true, NULL), EBUSY);
    ERR(map(7, 0, true, NULL), EPERM);
    ERR(map(8, 0, true, NULL), EBUSY);
    struct hako_gnttab_map op = { .pte_maddr = pte_maddr(0), .ref = 9, .domid = G, .flags = 2 };
    ERR(gnt_map(doms[M], &op), EINVAL);                     /* unknown map flag */
    op = (struct hako_gnttab_map){ .pte_maddr = pte_maddr(0) + 4, .ref = 9, .domid = G };
    ERR(gnt_map(doms[M], &op), EINVAL);                     /* unaligned */
    op.pte_maddr = MDATA * PAGE_SIZE;
    ERR(gnt_map(doms[M], &op), EINVAL);                     /* not an L1 */
    op.pte_maddr = GTABLE * PAGE_SIZE;
    ERR(gnt_map(doms[M], &op), EPERM);                      /* G's L1, not M's */
    op = (struct hako_gnttab_map){ .pte_maddr = pte_maddr(0), .ref = 9, .domid = M };
    ERR(gnt_map(doms[M], &op), EINVAL);                     /* its own grant */
    op.domid = 7;
    ERR(gnt_map(doms[M], &op), ESRCH);
    doms[G]->state = DOMAIN_CRASHED;
    ERR(map(9, 0, true, NULL), ESRCH);
    doms[G]->state = DOMAIN_RUNNING;
    frame_ptr(L1M)[0] = (uint64_t)MDATA << 12 | PTE_P | PTE_U;   /* present (forged) */
    ERR(map(9, 0, true, NULL), EEXIST);
    frame_ptr(L1M)[0] = 0;
    assert_memory_equal(snap, ftab, sizeof(snap));
    assert_memory_equal(entries, gte, sizeof(entries));
    /* The entry changed under an existing mapping: refused. */
    uint32_t h;
    OK(map(9, 1, true, &h));
    grant(9, M, GDATA + 2, HAKO_GTF_PERMIT_ACCESS | HAKO_GTF_READING);
    ERR(map(9, 2, true, NULL), EBUSY);
    OK(unmap(h, 1));
    counts(GDATA + 1, 0, 0);
    counts(GDATA + 2, 0, 0);
    OK(audit_g());
}

TEST(test_maptrack_full)
{
    grant(1, M, GDATA, HAKO_GTF_PERMIT_ACCESS | HAKO_GTF_READONLY);
    uint64_t l1b = L1M + 1;
    OK(pt_pin(_mfn(l1b), PGT_L1, M));
    uint32_t h[HAKO_GRANT_MAPS_MAX];
    for (unsigned i = 0; i < HAKO_GRANT_MAPS_MAX; i++) {
        struct hako_gnttab_map op = { .pte_maddr = (i < 512 ? L1M : l1b) * PAGE_SIZE + (i % 512) * 8u,
                                      .ref = 1, .domid = G, .flags = HAKO_GNTMAP_READONLY };
        OK(gnt_map(doms[M], &op));
        h[i] = op.handle;
    }
    struct hako_gnttab_map op = { .pte_maddr = l1b * PAGE_SIZE, .ref = 1, .domid = G,
                                  .flags = HAKO_GNTMAP_READONLY };
    ERR(gnt_map(doms[M], &op), ENOSPC);
    for (unsigned i = 0; i < HAKO_GRANT_MAPS_MAX; i++)
        OK(unmap(h[i], i));
    counts(GDATA, 0, 0);
    assert_int_equal(gflags(1), HAKO_GTF_PERMIT_ACCESS | HAKO_GTF_READONLY);
}

TEST(test_copy)
{
    grant(1, M, GDATA, HAKO_GTF_PERMIT_ACCESS);
    grant(2, M, GDATA + 1, HAKO_GTF_PERMIT_ACCESS | HAKO_GTF_READONLY);
    memset(frame_ptr(MDATA), 0x5A, 64);
    struct hako_gnttab_copy c = { .src = { MDATA, HAKO_DOMID_SELF, 0 },
                                  .dst = { 1, G, 100 }, .len = 64,
                                  .flags = HAKO_GNTCOPY_DST_GREF };
    OK(gnt_copy(doms[M], &c));
    assert_memory_equal((uint8_t *)frame_ptr(GDATA) + 100, frame_ptr(MDATA), 64);
    c.dst.ref_or_frame = 2;
    ERR(gnt_copy(doms[M], &c), EPERM);                      /* read-only grant */
    c = (struct hako_gnttab_copy){ .src = { 2, G, 4000 }, .dst = { MDATA + 1, HAKO_DOMID_SELF, 0 },
                                   .len = 97, .flags = HAKO_GNTCOPY_SRC_GREF };
    ERR(gnt_copy(doms[M], &c), EINVAL);                     /* crosses the page */
    c.len = 96, c.src.offset = 0;
    OK(gnt_copy(doms[M], &c));
    c.dst.domid = M;
    ERR(gnt_copy(doms[M], &c), EINVAL);                     /* a frame side names SELF */
    c.dst = (struct hako_gnttab_copy_ptr){ GDATA, HAKO_DOMID_SELF, 0 };
    ERR(gnt_copy(doms[M], &c), EPERM);                      /* not M's frame */
    c.dst = (struct hako_gnttab_copy_ptr){ L1M, HAKO_DOMID_SELF, 0 };
    ERR(gnt_copy(doms[M], &c), EBUSY);                      /* M's own page table */
    c.flags = 4;
    ERR(gnt_copy(doms[M], &c), EINVAL);
    counts(GDATA, 0, 0);
    counts(GDATA + 1, 0, 0);
    counts(MDATA, 0, 0);
}

TEST(test_teardown_mapper_then_granter)
{
    grant(1, M, GDATA, HAKO_GTF_PERMIT_ACCESS);
    OK(map(1, 0, false, NULL));
    OK(map(1, 1, true, NULL));
    /* The mapper goes: the granter's flags and mapping count follow. */
    grant_teardown(doms[M]);
    pagetype_drop_foreign_held(M);
    assert_int_equal(gflags(1), HAKO_GTF_PERMIT_ACCESS);
    assert_int_equal(doms[G]->grant.mapped, 0);
    counts(GDATA, 0, 0);
    /* Mapped again, then the granter goes: the mapper's slots are forgotten. */
    uint32_t h;
    OK(map(1, 2, false, &h));
    assert_true(grant_only_grant_mappings(doms[G]));
    grant_teardown(doms[G]);
    pagetype_revoke_foreign(G);
    assert_int_equal(doms[M]->grant.nr_maps, 0);
    assert_int_equal(frame_ptr(L1M)[2], 0);
    ERR(unmap(h, 2), EINVAL);
    counts(GDATA, 0, 0);
    OK(pagetype_audit(M, NULL, 0));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_setup_refusals_and_replace),
        T(test_map_unmap_counts_and_flags),
        T(test_map_refusals_change_nothing),
        T(test_maptrack_full),
        T(test_copy),
        T(test_teardown_mapper_then_granter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
