/*
 * tests/unit/test_pagetype.c: host cmocka tests for hypervisor/pagetype.c (frame types,
 * reference counts, page-table validation).
 *
 * Fake RAM is NFRAMES pages; test_directmap_base points at it. Frame ownership:
 *   0..15 reserved; 16..1535 domain 1 except FOREIGN_IN (domain 2); 1536..1599 domain 2;
 *   1600..1663 the hypervisor; 1664.. free. Domain 1 tables come from a bump allocator
 *   at 16..255, data frames from DATA, BIG and BIG2 are 2 MiB-aligned runs of 512.
 * hv_stubs.c's paging_copy_hv_slots writes HV_MARK(slot) into L4 slots 256..271.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <hako/arch-x86_64.h>
#include <hako/errno.h>

#include "frame.h"
#include "mm.h"
#include "pagetype.h"

#define NFRAMES    2048u
#define D1         1
#define D2         2
#define DATA       256u      /* domain 1 data frames 256..511 */
#define BIG        512u      /* 512..1023, all domain 1 */
#define BIG2       1024u     /* 1024..1535, domain 1 except FOREIGN_IN */
#define FOREIGN_IN 1300u
#define FOREIGN    1536u     /* domain 2 */
#define HVF        1600u     /* hypervisor */
#define FREEF      1700u     /* free */
#define RW         (PTE_P | PTE_W | PTE_U)
#define RO         (PTE_P | PTE_U)
#define HV_MARK(i) (0xdead00000000ull | ((uint64_t)(i) << 12) | PTE_P)

static uint8_t *ram;
static struct frame_info ftab[NFRAMES], snap[NFRAMES];
static uint32_t scratch[NFRAMES][2];
static uint64_t next_tbl;

static uint64_t *tbl(uint64_t mfn) { return (uint64_t *)(ram + mfn * PAGE_SIZE); }
static struct frame_info *fi(uint64_t mfn) { return &ftab[mfn]; }
static uint64_t pte(uint64_t mfn, uint64_t flags) { return (mfn << PAGE_SHIFT) | flags; }

static uint64_t new_tbl(void)
{
    assert_true(next_tbl < DATA);
    return memset(tbl(next_tbl), 0, PAGE_SIZE), next_tbl++;
}

static uint16_t owner_of(uint64_t mfn)
{
    if (mfn == FOREIGN_IN || (mfn >= FOREIGN && mfn < HVF))
        return D2;
    return mfn < FOREIGN ? D1 : OWNER_HV;
}

static int setup(void **state)
{
    (void)state;
    ram = aligned_alloc(PAGE_SIZE, NFRAMES * PAGE_SIZE);
    assert_non_null(ram);
    memset(ram, 0, NFRAMES * PAGE_SIZE), test_directmap_base = (uintptr_t)ram;
    frame_init(ftab, NFRAMES), frame_add_free_range(_mfn(16), NFRAMES - 16);
    struct frame_list lists[3] = { { FRAME_NONE, 0 }, { FRAME_NONE, 0 }, { FRAME_NONE, 0 } };
    for (uint64_t mfn = 16; mfn < 1664; mfn++) {
        uint16_t o = owner_of(mfn);
        assert_int_equal(mfn_x(frame_alloc(o, &lists[o == OWNER_HV ? 0 : o])), mfn);
    }
    pagetype_init(scratch, true), pagetype_tlb_flushed();
    return next_tbl = 16, 0;
}

static int teardown(void **state) { (void)state; free(ram); return 0; }

static void take_snap(void) { memcpy(snap, ftab, sizeof(snap)); }

/* Every frame's owner, type and counts equal the snapshot. */
#define check_snap() check_snap_(__LINE__)
static void check_snap_(int line)
{
    for (unsigned m = 0; m < NFRAMES; m++)
        if (memcmp(&ftab[m], &snap[m], sizeof(ftab[m])))
            fail_msg("line %d: mfn %u: type %#x/%#x type_count %u/%u ref_count %u/%u "
                     "(now/snapshot)", line, m, ftab[m].type, snap[m].type,
                     ftab[m].type_count, snap[m].type_count, ftab[m].ref_count,
                     snap[m].ref_count);
}

/* Every frame untyped and unreferenced (the snapshot is overwritten). */
#define check_all_clear() do {                                                  \
        for (unsigned m_ = 0; m_ < NFRAMES; m_++)                               \
            snap[m_] = (struct frame_info){ ftab[m_].next, ftab[m_].owner, 0, 0, 0 }; \
        check_snap();                                                           \
    } while (0)

#define counts(mfn, ty, tc, rc) do {                    \
        assert_int_equal(fi(mfn)->type, (ty));           \
        assert_int_equal(fi(mfn)->type_count, (tc));     \
        assert_int_equal(fi(mfn)->ref_count, (rc));      \
    } while (0)

#define OK(x)     assert_int_equal((x), 0)
#define ERR(x, e) assert_int_equal((x), -HAKO_##e)
#define N(a)      (sizeof(a) / sizeof((a)[0]))
#define TEST(name) static void name(void **state __attribute__((unused)))

/* Fresh tables t[0] (L4) .. t[3] (L1), entry 0 of each pointing at the next. */
static void chain(uint64_t t[4])
{
    for (unsigned i = 0; i < 4; i++)
        t[i] = new_tbl();
    for (unsigned i = 0; i < 3; i++)
        tbl(t[i])[0] = pte(t[i + 1], RW);
}

/* A target for a present entry at `level`: a data frame for L1, an empty table above. */
static uint64_t target(unsigned level) { return level == 1 ? DATA : new_tbl(); }

/* ---- get_page ---- */

TEST(test_get_page_ownership)
{
    take_snap(); OK(get_page(_mfn(DATA), D1)); counts(DATA, PGT_NONE, 0, 1);
    OK(get_page(_mfn(DATA), D1)); counts(DATA, PGT_NONE, 0, 2); put_page(_mfn(DATA));
    put_page(_mfn(DATA));
    check_snap();
    static const uint64_t bad[] = { FOREIGN, FOREIGN_IN, HVF, FREEF, 0, 15, NFRAMES,
                                    NFRAMES + 1, 1ull << 40, UINT64_MAX };
    for (size_t i = 0; i < N(bad); i++) {
        ERR(get_page(_mfn(bad[i]), D1), EPERM);
        ERR(get_page_and_type(_mfn(bad[i]), PGT_WRITABLE, D1), EPERM);
    }
    ERR(get_page(_mfn(DATA), D2), EPERM); OK(get_page(_mfn(FOREIGN), D2)); put_page(_mfn(FOREIGN));
    check_snap();
}

/* ---- pte_get: bits ---- */

TEST(test_pte_not_present_takes_nothing)
{
    take_snap();
    const uint64_t junk[] = { 0, ~PTE_P, pte(FOREIGN, RW & ~PTE_P) | PTE_PCD | (1ull << 52),
                              pte(DATA, PTE_W | PTE_U | PTE_PS), pte(NFRAMES, PTE_U) };
    for (unsigned level = 1; level <= 4; level++)
        for (size_t i = 0; i < N(junk); i++) {
            OK(pte_get(level, junk[i], D1)); check_snap(); pte_put(level, junk[i]);
            check_snap();
        }
}

TEST(test_pte_disallowed_bits_each_level)
{
    const uint64_t bad[] = { PTE_PWT, PTE_PCD, PTE_G, 1ull << 52, 1ull << 58, 1ull << 59,
                             1ull << 62 };
    for (unsigned level = 1; level <= 4; level++) {
        uint64_t t = target(level), good = pte(t, RW);
        take_snap();
        for (size_t i = 0; i < N(bad); i++)
            ERR(pte_get(level, good | bad[i], D1), EINVAL);
        if (level != 2)     /* bit 7: PAT at L1, 1 GiB / 512 GiB page at L3 / L4 */
            ERR(pte_get(level, good | PTE_PS, D1), EINVAL);
        check_snap();
        OK(pte_get(level, good, D1));   /* the control */
        assert_int_equal(fi(t)->ref_count, 1);
        pte_put(level, good); check_snap();
    }
}

TEST(test_pte_allowed_bits_each_level)
{
    const uint64_t ok[] = { 0, PTE_A, PTE_D, PTE_A | PTE_D, 1ull << 9, 1ull << 10,
                            1ull << 11, 7ull << 9, PTE_NX, PTE_W };
    for (unsigned level = 1; level <= 4; level++) {
        uint64_t t = target(level);
        take_snap();
        for (size_t i = 0; i < N(ok); i++) {
            OK(pte_get(level, pte(t, RO) | ok[i], D1));
            assert_int_equal(fi(t)->ref_count, 1);
            assert_int_equal(fi(t)->type, level == 1 ? (ok[i] & PTE_W ? PGT_WRITABLE : PGT_NONE)
                                                     : PGT_L1 + level - 2);
            pte_put(level, pte(t, RO) | ok[i]); check_snap();
        }
        /* Bit 51 is an address bit: allowed as a bit, but the frame is outside RAM. */
        ERR(pte_get(level, pte(t, RW) | (1ull << 51), D1), EPERM); check_snap();
    }
}

TEST(test_pte_user_bit_required)
{
    for (unsigned level = 1; level <= 4; level++) {
        uint64_t t = target(level);
        take_snap(); ERR(pte_get(level, pte(t, PTE_P | PTE_W), D1), EINVAL);
        ERR(pte_get(level, pte(t, PTE_P | PTE_A | PTE_D), D1), EINVAL); check_snap();
    }
    ERR(pte_get(2, pte(BIG, PTE_P | PTE_PS), D1), EINVAL); check_snap();
}

TEST(test_pte_nx_only_when_allowed)
{
    for (unsigned level = 1; level <= 4; level++) {
        uint64_t t = target(level);
        take_snap(); pagetype_init(scratch, false);
        ERR(pte_get(level, pte(t, RW) | PTE_NX, D1), EINVAL); check_snap();
        OK(pte_get(level, pte(t, RW), D1)); pte_put(level, pte(t, RW));
        pagetype_init(scratch, true); OK(pte_get(level, pte(t, RW) | PTE_NX, D1));
        pte_put(level, pte(t, RW) | PTE_NX); check_snap();
    }
    pagetype_init(scratch, false);
    ERR(pte_get(2, pte(BIG, RO | PTE_PS) | PTE_NX, D1), EINVAL);
    pagetype_init(scratch, true);
}

/* ---- leaf references ---- */

TEST(test_leaf_ro_plain_rw_typed)
{
    take_snap(); OK(pte_get(1, pte(DATA, RO), D1)); counts(DATA, PGT_NONE, 0, 1);
    OK(pte_get(1, pte(DATA, RW), D1)); counts(DATA, PGT_WRITABLE, 1, 2);
    OK(pte_get(1, pte(DATA, RW | PTE_A | PTE_D), D1)); counts(DATA, PGT_WRITABLE, 2, 3);
    pte_put(1, pte(DATA, RW)); counts(DATA, PGT_WRITABLE, 1, 2); pte_put(1, pte(DATA, RW));
    counts(DATA, PGT_NONE, 0, 1); pte_put(1, pte(DATA, RO)); check_snap();
}

TEST(test_leaf_rw_of_table_is_busy)
{
    for (unsigned type = PGT_L1; type <= PGT_L4; type++) {
        uint64_t t = new_tbl();
        OK(pt_pin(_mfn(t), type, D1)); take_snap(); ERR(pte_get(1, pte(t, RW), D1), EBUSY);
        check_snap();
        OK(pte_get(1, pte(t, RO), D1));     /* read-only is fine */
        assert_int_equal(fi(t)->ref_count, snap[t].ref_count + 1);
        assert_int_equal(fi(t)->type_count, snap[t].type_count);
        pte_put(1, pte(t, RO)); check_snap();
    }
}

/* ---- non-leaf entries ---- */

TEST(test_nonleaf_validates_next_level)
{
    uint64_t l1 = new_tbl(), l2 = new_tbl(), l3 = new_tbl();
    tbl(l1)[0] = pte(DATA, RW); tbl(l1)[1] = pte(DATA + 1, RO); tbl(l2)[3] = pte(l1, RW);
    tbl(l3)[300] = pte(l2, RO); take_snap(); OK(pte_get(4, pte(l3, RW), D1));
    counts(l3, PGT_L3, 1, 1); counts(l2, PGT_L2, 1, 1); counts(l1, PGT_L1, 1, 1);
    counts(DATA, PGT_WRITABLE, 1, 1); counts(DATA + 1, PGT_NONE, 0, 1);
    OK(pte_get(4, pte(l3, RO), D1));       /* second ref: only counts */
    counts(l3, PGT_L3, 2, 2); counts(l2, PGT_L2, 1, 1);
    ERR(pte_get(2, pte(l3, RW), D1), EBUSY);   /* l3 as an L1: no */
    ERR(pte_get(3, pte(l1, RW), D1), EBUSY);   /* l1 as an L2: no */
    pte_put(4, pte(l3, RW)); counts(l1, PGT_L1, 1, 1); pte_put(4, pte(l3, RO));
    check_snap();
}

TEST(test_nonleaf_error_propagates_all_counts_restored)
{
    uint64_t t[4], l4, l3, l2, l1a, l1b = new_tbl();
    chain(t); l4 = t[0], l3 = t[1], l2 = t[2], l1a = t[3];
    tbl(l2)[1] = pte(BIG, RW | PTE_PS); tbl(l2)[2] = pte(l1b, RW);
    tbl(l2)[3] = pte(l1a, RO); tbl(l1a)[0] = pte(DATA, RW); tbl(l1a)[1] = pte(DATA + 1, RO);
    for (unsigned i = 0; i < 10; i++)
        tbl(l1b)[i] = pte(DATA + i, i & 1 ? RO : RW);
    const struct { uint64_t e; int rc, alone_rc; } bad[] = {
        { pte(DATA + 2, RW | PTE_PCD), -HAKO_EINVAL, -HAKO_EINVAL },
        { pte(FOREIGN, RO), -HAKO_EPERM, -HAKO_EPERM },
        { pte(l2, RW), -HAKO_EBUSY, 0 },      /* the L2 being validated, writable */
        { pte(l1a, RW), -HAKO_EBUSY, 0 },     /* an L1 validated just before */
    };
    for (size_t k = 0; k < N(bad); k++) {
        tbl(l1b)[511] = bad[k].e; take_snap();
        /* l1b alone: l2 and l1a are not tables then, so mapping them writable is fine. */
        assert_int_equal(pte_get(2, pte(l1b, RW), D1), bad[k].alone_rc);
        if (!bad[k].alone_rc)
            pte_put(2, pte(l1b, RW));
        check_snap();
        assert_int_equal(pte_get(3, pte(l2, RW), D1), bad[k].rc); check_snap();
        assert_int_equal(pte_get(4, pte(l3, RW), D1), bad[k].rc); check_snap();
        assert_int_equal(pt_pin(_mfn(l4), PGT_L4, D1), bad[k].rc); check_snap();
        assert_int_not_equal(tbl(l4)[256], HV_MARK(256));
    }
    tbl(l1b)[511] = 0;
    OK(pt_pin(_mfn(l4), PGT_L4, D1));              /* the control */
    counts(l1a, PGT_L1, 2, 2); counts(DATA, PGT_WRITABLE, 2, 2);
    counts(BIG + 77, PGT_WRITABLE, 1, 1);
}

/* ---- 2 MiB entries ---- */

TEST(test_ps_2m_aligned_owned)
{
    take_snap(); OK(pte_get(2, pte(BIG, RO | PTE_PS), D1));
    for (unsigned k = 0; k < 512; k++)
        counts(BIG + k, PGT_NONE, 0, 1);
    counts(BIG - 1, PGT_NONE, 0, 0); counts(BIG + 512, PGT_NONE, 0, 0);
    pte_put(2, pte(BIG, RO | PTE_PS)); check_snap();
    OK(pte_get(2, pte(BIG, RW | PTE_PS | PTE_A | PTE_D), D1));
    for (unsigned k = 0; k < 512; k++)
        counts(BIG + k, PGT_WRITABLE, 1, 1);
    counts(BIG + 512, PGT_NONE, 0, 0); pte_put(2, pte(BIG, RW | PTE_PS | PTE_A | PTE_D));
    check_snap();
}

TEST(test_ps_2m_foreign_or_busy_frame_restores)
{
    take_snap(); ERR(pte_get(2, pte(BIG2, RO | PTE_PS), D1), EPERM); check_snap();
    ERR(pte_get(2, pte(BIG2, RW | PTE_PS), D1), EPERM); check_snap();
    ERR(pte_get(2, pte(0, RO | PTE_PS), D1), EPERM);        /* reserved */
    ERR(pte_get(2, pte(NFRAMES, RO | PTE_PS), D1), EPERM);  /* no RAM */
    ERR(pte_get(2, pte(1536, RO | PTE_PS), D1), EPERM);     /* dom2+hv */
    check_snap();
    const unsigned pos[] = { 0, 200, 511 };
    for (size_t i = 0; i < 3; i++) {           /* one frame typed as a table inside */
        OK(pt_pin(_mfn(BIG + pos[i]), PGT_L1, D1)); take_snap();
        ERR(pte_get(2, pte(BIG, RW | PTE_PS), D1), EBUSY); check_snap();
        OK(pte_get(2, pte(BIG, RO | PTE_PS), D1)); pte_put(2, pte(BIG, RO | PTE_PS));
        check_snap(); OK(pt_unpin(_mfn(BIG + pos[i]), D1));
    }
}

TEST(test_ps_2m_misaligned_or_bad_bits)
{
    take_snap();
    const uint64_t bad[] = { pte(BIG + 1, RO | PTE_PS), pte(BIG + 256, RW | PTE_PS),
                             pte(BIG + 511, RO | PTE_PS), pte(BIG, RO | PTE_PS | PTE_PCD),
                             pte(BIG, RO | PTE_PS | PTE_PWT), pte(BIG, RO | PTE_PS | PTE_G),
                             pte(BIG, RO | PTE_PS) | (1ull << 52) };
    for (size_t i = 0; i < N(bad); i++)     /* BIG + 1: bit 12, the PAT bit of a 2 MiB page */
        ERR(pte_get(2, bad[i], D1), EINVAL);
    check_snap();
}

/* ---- types changing ---- */

TEST(test_writable_mapped_frame_cannot_become_table)
{
    uint64_t l1 = new_tbl(), x = new_tbl(), l2 = new_tbl();
    tbl(l1)[7] = pte(x, RW); tbl(l2)[0] = pte(x, RW); OK(pt_pin(_mfn(l1), PGT_L1, D1));
    counts(x, PGT_WRITABLE, 1, 1); take_snap();
    for (unsigned type = PGT_L1; type <= PGT_L4; type++)
        ERR(pt_pin(_mfn(x), type, D1), EBUSY);
    ERR(pt_pin(_mfn(l2), PGT_L2, D1), EBUSY); check_snap();
    bool fl = false;
    OK(pt_update(_mfn(l1), 7, pte(x, RO), D1, &fl)); assert_true(fl); counts(x, PGT_NONE, 0, 1);
    OK(pt_pin(_mfn(x), PGT_L1, D1)); counts(x, PGT_L1 | PGT_PINNED, 1, 2);
    ERR(pt_update(_mfn(l1), 8, pte(x, RW), D1, &fl), EBUSY); OK(tbl(l1)[8]);
    OK(pt_pin(_mfn(l2), PGT_L2, D1)); counts(x, PGT_L1 | PGT_PINNED, 2, 3);
}

TEST(test_retype_table_in_use)
{
    uint64_t l2 = new_tbl(), l1 = new_tbl(), l3 = new_tbl();
    tbl(l1)[0] = pte(DATA, RW); tbl(l2)[0] = pte(l1, RW);
    tbl(l3)[0] = pte(l1, RW);                 /* would need l1 as an L2 */
    OK(pt_pin(_mfn(l2), PGT_L2, D1));   /* l1 typed L1, not pinned */
    take_snap(); ERR(pt_pin(_mfn(l1), PGT_L2, D1), EBUSY);
    ERR(get_page_and_type(_mfn(l1), PGT_L3, D1), EBUSY);
    ERR(get_page_and_type(_mfn(l1), PGT_WRITABLE, D1), EBUSY);
    ERR(pte_get(1, pte(l1, RW), D1), EBUSY); ERR(pt_pin(_mfn(l3), PGT_L3, D1), EBUSY);
    check_snap();
    OK(pt_pin(_mfn(l1), PGT_L1, D1));          /* same type: just counts */
    counts(l1, PGT_L1 | PGT_PINNED, 2, 2); take_snap();
    ERR(pt_pin(_mfn(l1), PGT_L2, D1), EBUSY);                    /* pinned, and wrong type */
    ERR(get_page_and_type(_mfn(l1), PGT_L2, D1), EBUSY); check_snap();
}

TEST(test_self_referencing_loops_refused)
{
    uint64_t t[4], l4, l3, l2, l1;
    chain(t); l4 = t[0], l3 = t[1], l2 = t[2], l1 = t[3]; tbl(l1)[0] = pte(DATA, RW);
    const struct { uint64_t t; unsigned i; } loops[] = { { l4, 5 }, { l3, 9 }, { l2, 4 },
                                                         { l1, 3 } };
    for (size_t k = 0; k < 4; k++) {         /* each table pointing back at the L4 */
        tbl(loops[k].t)[loops[k].i] = pte(l4, RW); take_snap();
        ERR(pt_pin(_mfn(l4), PGT_L4, D1), EBUSY); check_snap(); tbl(loops[k].t)[loops[k].i] = 0;
    }
    tbl(l3)[9] = pte(l3, RO);                /* an L3 pointing at itself */
    take_snap(); ERR(pt_pin(_mfn(l3), PGT_L3, D1), EBUSY); ERR(pt_pin(_mfn(l4), PGT_L4, D1), EBUSY);
    check_snap(); tbl(l3)[9] = 0;
    tbl(l2)[9] = pte(l2, RO);                /* an L2 pointing at itself */
    ERR(pt_pin(_mfn(l2), PGT_L2, D1), EBUSY); check_snap(); tbl(l2)[9] = 0;
    tbl(l1)[9] = pte(l1, RO);                /* an L1 mapping itself read-only: fine */
    OK(pt_pin(_mfn(l4), PGT_L4, D1)); counts(l1, PGT_L1, 1, 2);
    /* The same loops through pt_update on the validated tree. */
    bool fl = false;
    take_snap(); ERR(pt_update(_mfn(l4), 6, pte(l4, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l3), 6, pte(l3, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l3), 6, pte(l4, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l2), 6, pte(l4, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l2), 6, pte(l2, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l1), 6, pte(l1, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l1), 6, pte(l4, RW), D1, &fl), EBUSY); check_snap(); assert_false(fl);
    OK(tbl(l4)[6] | tbl(l3)[6] | tbl(l2)[6] | tbl(l1)[6]);
}

/* ---- pt_update ---- */

TEST(test_pt_update_replaces_and_counts_exact)
{
    uint64_t l4 = new_tbl(), l3 = new_tbl(), l2 = new_tbl(), l1 = new_tbl(), l1b = new_tbl(),
             l3b = new_tbl();
    tbl(l4)[0] = pte(l3, RW); tbl(l3)[0] = pte(l2, RW); tbl(l2)[0] = pte(l1, RW);
    tbl(l1)[0] = pte(DATA, RO); tbl(l1b)[0] = pte(DATA + 2, RW); OK(pt_pin(_mfn(l4), PGT_L4, D1));
    bool fl = false;
    OK(pt_update(_mfn(l1), 0, pte(DATA + 1, RW), D1, &fl));
    assert_int_equal(tbl(l1)[0], pte(DATA + 1, RW));
    counts(DATA, PGT_NONE, 0, 0); counts(DATA + 1, PGT_WRITABLE, 1, 1);
    OK(pt_update(_mfn(l1), 0, pte(DATA + 1, RO), D1, &fl));   /* same frame */
    counts(DATA + 1, PGT_NONE, 0, 1); OK(pagetype_audit(D1, NULL, 0));
    OK(pt_update(_mfn(l2), 0, pte(l1b, RW), D1, &fl));        /* swap the L1 */
    counts(l1, PGT_NONE, 0, 0); counts(DATA + 1, PGT_NONE, 0, 0); counts(l1b, PGT_L1, 1, 1);
    counts(DATA + 2, PGT_WRITABLE, 1, 1);
    OK(pt_update(_mfn(l2), 0, pte(BIG, RW | PTE_PS), D1, &fl)); /* L1 -> 2 MiB */
    counts(l1b, PGT_NONE, 0, 0); counts(DATA + 2, PGT_NONE, 0, 0);
    counts(BIG + 511, PGT_WRITABLE, 1, 1);
    OK(pt_update(_mfn(l2), 0, pte(BIG, RO | PTE_PS), D1, &fl)); counts(BIG, PGT_NONE, 0, 1);
    counts(BIG + 300, PGT_NONE, 0, 1); OK(pagetype_audit(D1, NULL, 0));
    OK(pt_update(_mfn(l4), 0, pte(l3b, RW), D1, &fl));        /* drop the tree */
    counts(l3, PGT_NONE, 0, 0); counts(l2, PGT_NONE, 0, 0);
    counts(BIG + 300, PGT_NONE, 0, 0); counts(l3b, PGT_L3, 1, 1);
    OK(pagetype_audit(D1, NULL, 0)); OK(pt_update(_mfn(l4), 0, 0, D1, &fl));
    OK(pt_unpin(_mfn(l4), D1));
    check_all_clear();
}

TEST(test_pt_update_flush_only_when_present_entry_changes)
{
    uint64_t l1 = new_tbl();
    bool fl = false;
    OK(pt_pin(_mfn(l1), PGT_L1, D1));
    OK(pt_update(_mfn(l1), 0, pte(DATA, RW), D1, &fl)); assert_false(fl);   /* none -> present */
    OK(pt_update(_mfn(l1), 1, pte(FOREIGN, PTE_U), D1, &fl)); assert_false(fl);   /* np -> np */
    OK(pt_update(_mfn(l1), 1, 0, D1, &fl)); assert_false(fl);
    ERR(pt_update(_mfn(l1), 0, pte(DATA, RW | PTE_PCD), D1, &fl), EINVAL); assert_false(fl);
    OK(pt_update(_mfn(l1), 0, pte(DATA + 1, RW), D1, &fl)); /* present changed */
    assert_true(fl); fl = false;
    OK(pt_update(_mfn(l1), 0, pte(DATA + 1, RO), D1, &fl)); /* W dropped */
    assert_true(fl); fl = false;
    OK(pt_update(_mfn(l1), 0, 0, D1, &fl)); assert_true(fl);                 /* present -> none */
    OK(pt_update(_mfn(l1), 0, pte(DATA, RO), D1, &fl)); assert_true(fl);     /* never cleared */
}

extern unsigned pagetype_count_errors;   /* hv_stubs.c: pagetype_count_error calls */
extern uint64_t test_io_lo, test_io_hi;  /* hv_stubs.c: the device frames, */
extern uint16_t test_io_domid;           /* and who may map them */

/* Device registers (outside RAM): only the allowed domain maps them, uncached if it
 * likes, with no counts taken, dropped without a count error, skipped by the audit. */
TEST(test_io_entries)
{
    const uint64_t io = NFRAMES + 100;
    test_io_lo = io, test_io_hi = io + 1, test_io_domid = D1;
    uint64_t l1 = new_tbl(), l1b = new_tbl();
    bool fl = false;
    unsigned e0 = pagetype_count_errors;
    OK(pt_pin(_mfn(l1), PGT_L1, D1));
    OK(pt_update(_mfn(l1), 0, pte(io, RW | PTE_PCD | PTE_PWT), D1, &fl));
    ERR(pt_update(_mfn(l1), 1, pte(io + 1, RW), D1, &fl), EPERM);   /* not a device */
    ERR(pt_update(_mfn(l1), 1, pte(io, RW | PTE_PS), D1, &fl), EINVAL);
    OK(pagetype_audit(D1, NULL, 0));
    OK(pt_pin(_mfn(FOREIGN + 5), PGT_L1, D2));
    ERR(pt_update(_mfn(FOREIGN + 5), 0, pte(io, RW), D2, &fl), EPERM);  /* not allowed */
    tbl(l1b)[3] = pte(io, RO | PTE_PCD);              /* in a table validated whole */
    OK(pt_pin(_mfn(l1b), PGT_L1, D1));
    OK(pt_update(_mfn(l1), 0, 0, D1, &fl));
    OK(pt_unpin(_mfn(l1b), D1)), OK(pt_unpin(_mfn(l1), D1)), OK(pt_unpin(_mfn(FOREIGN + 5), D2));
    assert_int_equal(pagetype_count_errors, e0);
    test_io_lo = test_io_hi = 0;
    check_all_clear();
}

/* The L1 cases pt_update does itself (own frames, counts moving by one) and the edges
 * where it must leave the work to the general path: the same counts either way. */
TEST(test_pt_update_plain_l1_edges)
{
    uint64_t l1 = new_tbl(), l1b = new_tbl();
    bool fl = false;
    OK(pt_pin(_mfn(l1), PGT_L1, D1)); OK(pt_pin(_mfn(l1b), PGT_L1, D1));
    OK(pt_update(_mfn(l1), 0, pte(DATA, RW), D1, &fl)); counts(DATA, PGT_WRITABLE, 1, 1);
    OK(pt_update(_mfn(l1), 1, pte(DATA, RW), D1, &fl)); counts(DATA, PGT_WRITABLE, 2, 2);
    OK(pt_update(_mfn(l1), 2, pte(DATA, RO), D1, &fl)); counts(DATA, PGT_WRITABLE, 2, 3);
    OK(pt_update(_mfn(l1), 0, pte(DATA, RW | PTE_A), D1, &fl));     /* same frame, A set */
    counts(DATA, PGT_WRITABLE, 2, 3);
    OK(pt_update(_mfn(l1), 1, 0, D1, &fl)); counts(DATA, PGT_WRITABLE, 1, 2);
    OK(pt_update(_mfn(l1), 0, pte(DATA, RO), D1, &fl)); counts(DATA, PGT_NONE, 0, 2);  /* last W */
    /* A frame that is a table cannot be mapped writable; read-only it can. */
    ERR(pt_update(_mfn(l1), 3, pte(l1b, RW), D1, &fl), EBUSY); counts(l1b, PGT_L1 | PGT_PINNED, 1, 1);
    OK(pt_update(_mfn(l1), 3, pte(l1b, RO), D1, &fl)); counts(l1b, PGT_L1 | PGT_PINNED, 1, 2);
    /* Counts at their limit: refused, nothing changed. */
    take_snap();
    fi(DATA + 1)->ref_count = UINT32_MAX;
    take_snap(); ERR(pt_update(_mfn(l1), 4, pte(DATA + 1, RO), D1, &fl), ENOSPC); check_snap();
    fi(DATA + 1)->ref_count = 1, fi(DATA + 1)->type = PGT_WRITABLE;
    fi(DATA + 1)->type_count = UINT32_MAX;
    take_snap(); ERR(pt_update(_mfn(l1), 4, pte(DATA + 1, RW), D1, &fl), ENOSPC); check_snap();
    fi(DATA + 1)->ref_count = 0, fi(DATA + 1)->type = PGT_NONE, fi(DATA + 1)->type_count = 0;
    OK(tbl(l1)[4]);
    /* An entry whose counts were never taken (forged): replacing it reports the error. */
    unsigned e0 = pagetype_count_errors;
    tbl(l1)[5] = pte(DATA + 2, RW);
    OK(pt_update(_mfn(l1), 5, pte(DATA + 3, RW), D1, &fl));
    assert_int_equal(pagetype_count_errors - e0, 2);     /* the type and the reference */
    counts(DATA + 2, PGT_NONE, 0, 0); counts(DATA + 3, PGT_WRITABLE, 1, 1);
    OK(pagetype_audit(D1, NULL, 0));
    OK(pt_update(_mfn(l1), 5, 0, D1, &fl)); OK(pt_update(_mfn(l1), 2, 0, D1, &fl));
    OK(pt_update(_mfn(l1), 0, 0, D1, &fl)); OK(pt_update(_mfn(l1), 3, 0, D1, &fl));
    OK(pt_unpin(_mfn(l1), D1)); OK(pt_unpin(_mfn(l1b), D1));
    check_all_clear();
}

TEST(test_pt_update_refusals_change_nothing)
{
    uint64_t l4 = new_tbl(), l3 = new_tbl(), l1 = new_tbl(), raw = new_tbl();
    tbl(l4)[0] = pte(l3, RW); tbl(l1)[0] = pte(DATA, RW); OK(pt_pin(_mfn(l4), PGT_L4, D1));
    OK(pt_pin(_mfn(l1), PGT_L1, D1)); OK(pt_pin(_mfn(FOREIGN), PGT_L1, D2));
    static uint64_t before[3][512];
    memcpy(before[0], tbl(l4), PAGE_SIZE), memcpy(before[1], tbl(l1), PAGE_SIZE);
    memcpy(before[2], tbl(FOREIGN), PAGE_SIZE), take_snap();
    bool fl = false;
    for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++) {
        assert_int_equal(tbl(l4)[i], HV_MARK(i));
        ERR(pt_update(_mfn(l4), i, 0, D1, &fl), EPERM);
        ERR(pt_update(_mfn(l4), i, pte(l3, RW), D1, &fl), EPERM);
    }
    const uint64_t not_mine[] = { FOREIGN, HVF, 0, FREEF, NFRAMES, UINT64_MAX >> 12 };
    for (size_t i = 0; i < N(not_mine); i++)
        ERR(pt_update(_mfn(not_mine[i]), 0, pte(DATA, RO), D1, &fl), EPERM);
    ERR(pt_update(_mfn(raw), 0, pte(DATA, RO), D1, &fl), EINVAL);  /* untyped */
    ERR(pt_update(_mfn(DATA), 0, pte(DATA + 1, RO), D1, &fl), EINVAL); /* W */
    ERR(pt_update(_mfn(l1), 512, 0, D1, &fl), EINVAL);
    ERR(pt_update(_mfn(l1), 513, pte(DATA, RO), D1, &fl), EINVAL);
    ERR(pt_update(_mfn(l1), UINT32_MAX, 0, D1, &fl), EINVAL);
    ERR(pt_update(_mfn(l1), 0, pte(FOREIGN_IN, RW), D1, &fl), EPERM);
    ERR(pt_update(_mfn(l1), 0, pte(l4, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l1), 0, pte(DATA, RW | PTE_G), D1, &fl), EINVAL);
    ERR(pt_update(_mfn(l4), 1, pte(l1, RW), D1, &fl), EBUSY);
    ERR(pt_update(_mfn(l4), 0, pte(l3, RW | PTE_PS), D1, &fl), EINVAL); check_snap();
    assert_false(fl);
    assert_memory_equal(before[0], tbl(l4), PAGE_SIZE);
    assert_memory_equal(before[1], tbl(l1), PAGE_SIZE);
    assert_memory_equal(before[2], tbl(FOREIGN), PAGE_SIZE);
    OK(pt_update(_mfn(l4), 255, pte(l3, RO), D1, &fl));   /* around the hv slots */
    OK(pt_update(_mfn(l4), 272, pte(l3, RO), D1, &fl)); counts(l3, PGT_L3, 3, 3);
}

TEST(test_pt_update_ad_only_change_keeps_counts)
{
    uint64_t l2 = new_tbl(), l1 = new_tbl();
    tbl(l2)[0] = pte(l1, RW); tbl(l2)[1] = pte(BIG, RW | PTE_PS);
    tbl(l1)[0] = pte(DATA, RW); OK(pt_pin(_mfn(l2), PGT_L2, D1)); take_snap();
    const struct { uint64_t t; unsigned i; uint64_t v; } upd[] = {
        { l1, 0, pte(DATA, RW | PTE_A | PTE_D) }, { l1, 0, pte(DATA, RW) },
        { l2, 0, pte(l1, RW | PTE_A) }, { l2, 1, pte(BIG, RW | PTE_PS | PTE_D) },
    };
    for (size_t k = 0; k < 4; k++) {
        bool fl = false;
        OK(pt_update(_mfn(upd[k].t), upd[k].i, upd[k].v, D1, &fl)); assert_true(fl);
        assert_int_equal(tbl(upd[k].t)[upd[k].i], upd[k].v);
        check_snap();
    }
    assert_int_equal(tbl(l1)[0], pte(DATA, RW));   /* l1 was never devalidated */
}

/* ---- devalidation, pins ---- */

TEST(test_devalidation_releases_whole_tree)
{
    uint64_t l4 = new_tbl(), l3 = new_tbl(), l3b = new_tbl(), l2 = new_tbl(), l2b = new_tbl();
    uint64_t l1 = new_tbl();
    for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++)
        tbl(l4)[i] = pte(FOREIGN, RW | PTE_PCD);   /* guest junk: skipped, overwritten */
    tbl(l4)[0] = pte(l3, RW); tbl(l4)[255] = pte(l3, RO); tbl(l4)[511] = pte(l3b, RW);
    tbl(l3)[0] = pte(l2, RW); tbl(l3b)[256] = pte(l2b, RW); tbl(l2)[0] = pte(l1, RW);
    tbl(l2)[1] = pte(BIG, RW | PTE_PS); tbl(l2)[2] = pte(l1, RO);
    tbl(l1)[0] = pte(DATA, RW); tbl(l1)[1] = pte(DATA, RO); tbl(l1)[2] = pte(l1, RO);
    tbl(l1)[3] = pte(l4, RO); OK(pt_pin(_mfn(l4), PGT_L4, D1));
    for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++)
        assert_int_equal(tbl(l4)[i], HV_MARK(i));
    counts(l4, PGT_L4 | PGT_PINNED, 1, 2); counts(l3, PGT_L3, 2, 2);
    counts(l3b, PGT_L3, 1, 1); counts(l2, PGT_L2, 1, 1); counts(l2b, PGT_L2, 1, 1);
    counts(l1, PGT_L1, 2, 3); counts(DATA, PGT_WRITABLE, 1, 2);
    counts(BIG + 5, PGT_WRITABLE, 1, 1);
    OK(get_page_and_type(_mfn(l4), PGT_L4, D1));   /* a base pointer */
    struct hv_ref base = { _mfn(l4), PGT_L4 };
    OK(pagetype_audit(D1, &base, 1)); OK(pt_unpin(_mfn(l4), D1)); counts(l4, PGT_L4, 1, 2);
    assert_int_equal(tbl(l4)[HAKO_HV_L4_FIRST], HV_MARK(HAKO_HV_L4_FIRST));
    OK(pagetype_audit(D1, &base, 1)); put_page_and_type(_mfn(l4));
    check_all_clear();
    for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++)
        OK(tbl(l4)[i]);
    assert_true(tbl(l4)[0] == pte(l3, RW) && tbl(l4)[511] == pte(l3b, RW)); /* guest's stay */
    assert_int_equal(tbl(l3b)[256], pte(l2b, RW));  /* only L4 hv slots are special */
}

TEST(test_pin_unpin)
{
    uint64_t l2 = new_tbl(), l1 = new_tbl();
    tbl(l2)[0] = pte(l1, RW); tbl(l1)[0] = pte(DATA, RW); take_snap();
    OK(pt_pin(_mfn(l2), PGT_L2, D1)); counts(l2, PGT_L2 | PGT_PINNED, 1, 1);
    counts(l1, PGT_L1, 1, 1);
    struct frame_info pinned[NFRAMES];
    memcpy(pinned, ftab, sizeof(pinned)), ERR(pt_pin(_mfn(l2), PGT_L2, D1), EEXIST);
    assert_memory_equal(pinned, ftab, sizeof(pinned)); OK(pt_unpin(_mfn(l2), D1)); check_snap();
    ERR(pt_unpin(_mfn(l2), D1), EINVAL); ERR(pt_unpin(_mfn(DATA), D1), EINVAL); check_snap();
    /* Another domain's table. */
    OK(pt_pin(_mfn(FOREIGN), PGT_L1, D2)); take_snap(); ERR(pt_unpin(_mfn(FOREIGN), D1), EPERM);
    ERR(pt_pin(_mfn(FOREIGN), PGT_L1, D1), EPERM);
    ERR(pt_pin(_mfn(FOREIGN + 1), PGT_L1, D1), EPERM);
    const uint64_t nope[] = { HVF, 0, FREEF, NFRAMES, UINT64_MAX };
    for (size_t i = 0; i < N(nope); i++) {
        ERR(pt_pin(_mfn(nope[i]), PGT_L1, D1), EPERM); ERR(pt_unpin(_mfn(nope[i]), D1), EPERM);
    }
    check_snap(); OK(pt_unpin(_mfn(FOREIGN), D2)); counts(FOREIGN, PGT_NONE, 0, 0);
    /* Pinning a table already in use only adds a reference; unpinning keeps it typed. */
    OK(pt_pin(_mfn(l2), PGT_L2, D1)); OK(pt_pin(_mfn(l1), PGT_L1, D1));
    counts(l1, PGT_L1 | PGT_PINNED, 2, 2); OK(pt_unpin(_mfn(l1), D1)); counts(l1, PGT_L1, 1, 1);
    OK(pt_unpin(_mfn(l2), D1));
    check_all_clear();
}

TEST(test_unpin_all)
{
    uint64_t l4 = new_tbl(), l3 = new_tbl(), l2 = new_tbl(), l1 = new_tbl(), l4b = new_tbl();
    tbl(l4)[0] = pte(l3, RW); tbl(l3)[0] = pte(l2, RW); tbl(l2)[0] = pte(l1, RW);
    tbl(l1)[0] = pte(DATA, RW); tbl(l4b)[1] = pte(l3, RO); OK(pt_pin(_mfn(l4), PGT_L4, D1));
    OK(pt_pin(_mfn(l2), PGT_L2, D1)); OK(pt_pin(_mfn(l1), PGT_L1, D1));
    OK(pt_pin(_mfn(l4b), PGT_L4, D1));
    OK(get_page_and_type(_mfn(l4b), PGT_L4, D1));   /* base pointer */
    OK(pt_pin(_mfn(FOREIGN), PGT_L2, D2));
    pt_unpin_all(D1);
    for (uint64_t m = 0; m < NFRAMES; m++)
        if (m != FOREIGN)
            OK(fi(m)->type & PGT_PINNED);
    counts(FOREIGN, PGT_L2 | PGT_PINNED, 1, 1); counts(l4, PGT_NONE, 0, 0);
    counts(l4b, PGT_L4, 1, 1); counts(l3, PGT_L3, 1, 1); counts(l1, PGT_L1, 1, 1);
    struct hv_ref base = { _mfn(l4b), PGT_L4 };
    OK(pagetype_audit(D1, &base, 1)); put_page_and_type(_mfn(l4b));
    pt_unpin_all(D2);
    check_all_clear();
}

TEST(test_tlb_safety_flags)
{
    uint64_t l1 = new_tbl(), l1b = new_tbl(), x = new_tbl();
    bool fl = false;
    tbl(l1)[0] = pte(x, RW);
    OK(pt_pin(_mfn(l1), PGT_L1, D1)); pagetype_tlb_flushed(); assert_false(pagetype_flush_needed());
    OK(pt_pin(_mfn(l1b), PGT_L1, D1)); assert_false(pagetype_flush_needed());  /* table made only */
    pagetype_tlb_flushed();
    OK(pt_update(_mfn(l1), 0, pte(x, RO), D1, &fl));                          /* writable gone */
    assert_false(pagetype_flush_needed());
    OK(pt_pin(_mfn(x), PGT_L1, D1)); assert_true(pagetype_flush_needed());   /* ...then a table */
    pagetype_tlb_flushed(); assert_false(pagetype_flush_needed());
    OK(pt_unpin(_mfn(l1b), D1)); assert_true(pagetype_flush_needed());      /* a table dropped */
    pagetype_tlb_flushed();
    ERR(pt_pin(_mfn(l1), PGT_L2, D1), EBUSY); assert_false(pagetype_flush_needed());
}

/* ---- audit ---- */

TEST(test_audit_clean_and_detects_corruption)
{
    uint64_t l4 = new_tbl(), l3 = new_tbl(), l2 = new_tbl(), l1 = new_tbl();
    tbl(l4)[0] = pte(l3, RW); tbl(l3)[0] = pte(l2, RW); tbl(l2)[0] = pte(l1, RW);
    tbl(l2)[1] = pte(BIG, RO | PTE_PS); tbl(l1)[0] = pte(DATA, RW);
    tbl(l1)[1] = pte(DATA + 1, RO); OK(pt_pin(_mfn(l4), PGT_L4, D1));
    OK(pt_pin(_mfn(l1), PGT_L1, D1));
    OK(get_page_and_type(_mfn(l4), PGT_L4, D1));
    OK(get_page_and_type(_mfn(DATA + 5), PGT_WRITABLE, D1));
    struct hv_ref refs[3] = { { _mfn(l4), PGT_L4 }, { _mfn(DATA + 5), PGT_WRITABLE },
                              { _mfn(DATA), PGT_NONE } };
    OK(pagetype_audit(D1, refs, 2)); OK(pagetype_audit(D2, NULL, 0));
    assert_true(pagetype_audit(D1, refs, 1) > 0);          /* missing hv ref */
    assert_true(pagetype_audit(D1, refs + 1, 1) > 0);
    assert_true(pagetype_audit(D1, refs, 3) > 0);          /* one too many */
    refs[0].type = PGT_L3;                                 /* wrongly typed */
    assert_true(pagetype_audit(D1, refs, 2) > 0);
    refs[0].type = PGT_L4, fi(DATA)->ref_count++;
    assert_true(pagetype_audit(D1, refs, 2) > 0);
    fi(DATA)->ref_count--, fi(l2)->type_count++;
    assert_true(pagetype_audit(D1, refs, 2) > 0);
    fi(l2)->type_count--; OK(pagetype_audit(D1, refs, 2));
    const uint64_t behind[] = { pte(DATA + 2, RO), pte(DATA + 2, RW), pte(l2, RO),
                                pte(FOREIGN, RO), pte(HVF, RW), pte(NFRAMES, RO) };
    for (size_t i = 0; i < N(behind); i++) {
        tbl(l1)[9] = behind[i];                  /* written behind the API's back */
        assert_true(pagetype_audit(D1, refs, 2) > 0);
    }
    /* A table mapped writable with counts made to match: only the type check sees it. */
    tbl(l1)[9] = pte(l2, RW); fi(l2)->ref_count++; fi(l2)->type_count++;
    assert_true(pagetype_audit(D1, refs, 2) > 0);
    fi(l2)->ref_count--; fi(l2)->type_count--; tbl(l1)[9] = 0;
    tbl(l2)[1] = pte(BIG, RW | PTE_PS);          /* 2 MiB entry made writable */
    assert_true(pagetype_audit(D1, refs, 2) > 0);
    tbl(l2)[1] = pte(BIG, RO | PTE_PS), fi(l1)->type = PGT_L1;   /* pin flag lost */
    assert_true(pagetype_audit(D1, refs, 2) > 0);
    fi(l1)->type = PGT_L1 | PGT_PINNED; OK(pagetype_audit(D1, refs, 2));
}

/* ---- random sequence ---- */

#define NPOOL 20
static uint64_t rng;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; return rng ^= rng << 17; }

/* No frame typed as a table (in use) is mapped writable by a validated L1 or L2. */
static void check_no_writable_tables(void)
{
    for (uint64_t m = 0; m < NFRAMES; m++) {
        unsigned lvl = pgt_level(fi(m)->type);
        if (fi(m)->owner != D1 || !fi(m)->type_count || (lvl != 1 && lvl != 2))
            continue;
        for (unsigned i = 0; i < 512; i++) {
            uint64_t e = tbl(m)[i], t = (e & PTE_ADDR) >> PAGE_SHIFT;
            if (!(e & PTE_P) || !(e & PTE_W) || (lvl == 2 && !(e & PTE_PS)))
                continue;
            for (unsigned k = 0; k < (lvl == 1 ? 1u : 512u); k++)
                if (t + k < NFRAMES && pgt_level(fi(t + k)->type) && fi(t + k)->type_count)
                    fail_msg("table %u mapped writable by L%u %u[%u]", (unsigned)(t + k),
                             lvl, (unsigned)m, i);
        }
    }
}

static uint64_t rand_val(unsigned level, const uint64_t *pool)
{
    uint64_t r = rnd(), mfn;
    if (r % 10 == 0)
        return rnd() & ~PTE_P;
    unsigned c = (r >> 8) % 20;   /* pool table, data, 2 MiB run, other owners */
    mfn = c < 12 ? pool[(r >> 16) % NPOOL] : c < 16 ? DATA + (r >> 16) % 8
        : c < 18 ? (c == 16 ? BIG : BIG2) : (c == 18 ? FOREIGN : HVF);
    uint64_t v = pte(mfn, RO) | ((r >> 24) & 1 ? PTE_W : 0) | ((r >> 25) & 1 ? PTE_A : 0) |
                 ((r >> 26) & 1 ? PTE_D : 0);
    if (level == 2 && (c == 16 || c == 17 || (r >> 27) % 8 == 0))
        v |= PTE_PS;
    if ((r >> 32) % 30 == 0)
        v |= PTE_PCD;
    if ((r >> 40) % 30 == 0)
        v &= ~PTE_U;
    return v;
}

TEST(test_random_sequence_keeps_invariants)
{
    uint64_t pool[NPOOL];
    rng = 0x9E3779B97F4A7C15ull;                 /* fixed seed: the same run every time */
    for (unsigned i = 0; i < NPOOL; i++)
        pool[i] = new_tbl();
    uint8_t *pool_mem = (uint8_t *)tbl(pool[0]);
    static uint8_t before[NPOOL * PAGE_SIZE];
    static const unsigned idxs[] = { 0, 1, 2, 3, 255, 256, 271, 511 };
    struct hv_ref refs[4];
    unsigned nrefs = 0, ok_update[5] = { 0 }, ok_pin[5] = { 0 }, failed = 0, links = 0;
    for (unsigned step = 0; step < 4000; step++) {
        take_snap(), memcpy(before, pool_mem, sizeof(before));
        uint64_t t = pool[rnd() % NPOOL];
        unsigned op = rnd() % 10;
        int rc = 0;
        if (op < 5) {
            unsigned idx = idxs[rnd() % 8], lvl = pgt_level(fi(t)->type);
            uint64_t val = rand_val(lvl ? lvl : 1 + rnd() % 4, pool);
            bool fl = false;
            rc = pt_update(_mfn(t), idx, val, D1, &fl);
            if (rc == 0) {
                assert_int_equal(tbl(t)[idx], val);
                ok_update[lvl]++, links += lvl > 1 && (val & PTE_P) && !(val & PTE_PS);
            }
        } else if (op < 7) {
            unsigned type = PGT_L1 + rnd() % 4;
            if ((rc = pt_pin(_mfn(t), type, D1)) == 0)
                ok_pin[pgt_level(type)]++;
        } else if (op == 7) {
            rc = pt_unpin(_mfn(t), D1);
        } else if (op == 8 && nrefs < 4) {
            if ((rc = get_page_and_type(_mfn(t), PGT_L4, D1)) == 0)
                refs[nrefs++] = (struct hv_ref){ _mfn(t), PGT_L4 };
        } else if (nrefs) {
            unsigned k = rnd() % nrefs;
            put_page_and_type(refs[k].mfn), refs[k] = refs[--nrefs];
        }
        if (rc) {                                /* a failure changed nothing */
            failed++, check_snap();
            assert_memory_equal(before, pool_mem, sizeof(before));
        }
        if (pagetype_audit(D1, refs, nrefs))
            fail_msg("audit failed after step %u (op %u, rc %d)", step, op, rc);
        check_no_writable_tables();
    }
    for (unsigned l = 1; l <= 4; l++)            /* the sequence did exercise every level */
        assert_true(ok_update[l] > 20 && ok_pin[l] > 5);
    assert_true(links > 50 && failed > 500);
    pt_unpin_all(D1);
    while (nrefs)
        put_page_and_type(refs[--nrefs].mfn);
    check_all_clear();
}

/* ---- foreign mappings (HAKO_MMU_PT_UPDATE_FOREIGN) ---- */

#define FOREIGN_COUNTS(mapped2, held1) do {                              \
        assert_int_equal(pagetype_foreign_mapped(D2), (mapped2));        \
        assert_int_equal(pagetype_foreign_held(D1), (held1));            \
        assert_int_equal(pagetype_foreign_mapped(D1), 0);                \
        assert_int_equal(pagetype_foreign_held(D2), 0);                  \
    } while (0)

TEST(test_foreign_map_counts_against_owner)
{
    bool fl = false;
    uint64_t l1 = new_tbl();
    OK(pt_pin(_mfn(l1), PGT_L1, D1));
    take_snap();
    OK(pt_update_foreign(_mfn(l1), 3, pte(FOREIGN, RW), D1, D2, &fl));
    counts(FOREIGN, PGT_WRITABLE, 1, 1); FOREIGN_COUNTS(1, 1); assert_false(fl);
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    OK(pt_update_foreign(_mfn(l1), 4, pte(FOREIGN_IN, RO), D1, D2, &fl));   /* inside D1's range */
    counts(FOREIGN_IN, PGT_NONE, 0, 1); FOREIGN_COUNTS(2, 2);
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    /* Replaced by a normal update: the reference goes back to its owner's frame. */
    pagetype_tlb_flushed();
    OK(pt_update(_mfn(l1), 3, pte(DATA, RO), D1, &fl)); assert_true(fl);
    counts(FOREIGN, PGT_NONE, 0, 0); FOREIGN_COUNTS(1, 1);
    assert_true(pagetype_flush_needed());          /* a stale translation must go */
    OK(pt_update(_mfn(l1), 3, 0, D1, &fl));
    /* Re-mapping the same entry with the same value keeps the counts. */
    OK(pt_update_foreign(_mfn(l1), 4, pte(FOREIGN_IN, RO), D1, D2, &fl));
    counts(FOREIGN_IN, PGT_NONE, 0, 1); FOREIGN_COUNTS(1, 1);
    /* Foreign over foreign. */
    OK(pt_update_foreign(_mfn(l1), 4, pte(FOREIGN + 1, RW), D1, D2, &fl));
    counts(FOREIGN_IN, PGT_NONE, 0, 0); counts(FOREIGN + 1, PGT_WRITABLE, 1, 1);
    FOREIGN_COUNTS(1, 1);
    OK(pt_update(_mfn(l1), 4, 0, D1, &fl)); FOREIGN_COUNTS(0, 0);
    check_snap();
    OK(pt_unpin(_mfn(l1), D1)); check_all_clear();
}

TEST(test_foreign_refusals_change_nothing)
{
    bool fl = false;
    uint64_t l1 = new_tbl(), l2 = new_tbl();
    OK(pt_pin(_mfn(l1), PGT_L1, D1)); OK(pt_pin(_mfn(l2), PGT_L2, D1));
    uint64_t d2tbl = FOREIGN + 10;                       /* a table of domain 2 */
    memset(tbl(d2tbl), 0, PAGE_SIZE); OK(pt_pin(_mfn(d2tbl), PGT_L1, D2));
    tbl(l1)[7] = 0;
    take_snap();
    ERR(pt_update_foreign(_mfn(FOREIGN), 0, pte(FOREIGN + 1, RW), D1, D2, &fl), EPERM); /* D2's */
    ERR(pt_update_foreign(_mfn(DATA), 0, pte(FOREIGN, RW), D1, D2, &fl), EINVAL); /* no table */
    ERR(pt_update_foreign(_mfn(l2), 0, pte(FOREIGN, RW), D1, D2, &fl), EINVAL);   /* an L2 */
    ERR(pt_update_foreign(_mfn(l1), 512, pte(FOREIGN, RW), D1, D2, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW), D1, D1, &fl), EINVAL);   /* self */
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW), D1, PGT_FOREIGN_DOMIDS, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW), D1, 0xFFFF, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW) & ~PTE_P, D1, D2, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, 0, D1, D2, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW & ~PTE_U), D1, D2, &fl), EINVAL); /* no U */
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW | PTE_PS), D1, D2, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW | PTE_PCD), D1, D2, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW | PTE_G), D1, D2, &fl), EINVAL);
    static const uint64_t not_d2[] = { DATA, FOREIGN_IN + 1, HVF, FREEF, 0, NFRAMES, 1ull << 39 };
    for (size_t i = 0; i < N(not_d2); i++)
        ERR(pt_update_foreign(_mfn(l1), 0, pte(not_d2[i], RO), D1, D2, &fl), EINVAL);
    ERR(pt_update_foreign(_mfn(l1), 0, pte(d2tbl, RO), D1, D2, &fl), EBUSY);          /* a table */
    ERR(pt_update_foreign(_mfn(l1), 0, pte(d2tbl, RW), D1, D2, &fl), EBUSY);
    check_snap(); FOREIGN_COUNTS(0, 0); assert_false(fl);
    /* A foreign writable mapping keeps the frame from becoming domain 2's table. */
    OK(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN + 11, RW), D1, D2, &fl));
    memset(tbl(FOREIGN + 11), 0, PAGE_SIZE);
    ERR(pt_pin(_mfn(FOREIGN + 11), PGT_L1, D2), EBUSY);
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    OK(pt_update(_mfn(l1), 0, 0, D1, &fl));
    OK(pt_unpin(_mfn(l1), D1)); OK(pt_unpin(_mfn(l2), D1)); OK(pt_unpin(_mfn(d2tbl), D2));
    check_all_clear();
}

TEST(test_foreign_dropped_by_devalidation_and_teardown)
{
    bool fl = false;
    uint64_t t[4];
    chain(t);
    OK(pt_pin(_mfn(t[0]), PGT_L4, D1));
    take_snap();
    /* Devalidation of the L1 (its L2 entry removed) drops the foreign reference. */
    OK(pt_update_foreign(_mfn(t[3]), 9, pte(FOREIGN, RW), D1, D2, &fl));
    OK(pt_update_foreign(_mfn(t[3]), 10, pte(FOREIGN, RO), D1, D2, &fl));
    counts(FOREIGN, PGT_WRITABLE, 1, 2); FOREIGN_COUNTS(2, 2);
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    pagetype_tlb_flushed();
    OK(pt_update(_mfn(t[2]), 0, 0, D1, &fl));
    counts(FOREIGN, PGT_NONE, 0, 0); counts(t[3], PGT_NONE, 0, 0); FOREIGN_COUNTS(0, 0);
    assert_true(pagetype_flush_needed());
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    /* The stale entries stay in the frame: validating it again refuses them. */
    ERR(pt_update(_mfn(t[2]), 0, pte(t[3], RW), D1, &fl), EPERM);
    counts(t[3], PGT_NONE, 0, 0); FOREIGN_COUNTS(0, 0);
    tbl(t[3])[9] = tbl(t[3])[10] = 0;
    OK(pt_update(_mfn(t[2]), 0, pte(t[3], RW), D1, &fl));
    check_snap();
    /* Teardown of the mapping domain: its foreign entries are cleared and dropped. */
    OK(pt_update_foreign(_mfn(t[3]), 9, pte(FOREIGN, RW), D1, D2, &fl));
    OK(pt_update_foreign(_mfn(t[3]), 11, pte(FOREIGN + 5, RO), D1, D2, &fl));
    OK(pt_update(_mfn(t[3]), 12, pte(DATA, RW), D1, &fl));      /* its own mapping stays */
    pagetype_drop_foreign_held(D1);
    assert_int_equal(tbl(t[3])[9], 0); assert_int_equal(tbl(t[3])[11], 0);
    counts(FOREIGN, PGT_NONE, 0, 0); counts(FOREIGN + 5, PGT_NONE, 0, 0); FOREIGN_COUNTS(0, 0);
    counts(DATA, PGT_WRITABLE, 1, 1);
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    /* Teardown of the mapped domain: every mapping of its frames is revoked. */
    OK(pt_update_foreign(_mfn(t[3]), 9, pte(FOREIGN, RW), D1, D2, &fl));
    pagetype_revoke_foreign(D1);                        /* nothing of D1 is mapped */
    FOREIGN_COUNTS(1, 1);
    pagetype_tlb_flushed();
    pagetype_revoke_foreign(D2);
    assert_int_equal(tbl(t[3])[9], 0); counts(FOREIGN, PGT_NONE, 0, 0); FOREIGN_COUNTS(0, 0);
    assert_true(pagetype_flush_needed());
    counts(DATA, PGT_WRITABLE, 1, 1);
    OK(pt_update(_mfn(t[3]), 12, 0, D1, &fl));
    check_snap();
    OK(pt_unpin(_mfn(t[0]), D1)); check_all_clear();
}

TEST(test_audit_counts_foreign_references)
{
    bool fl = false;
    uint64_t l1 = new_tbl();
    OK(pt_pin(_mfn(l1), PGT_L1, D1));
    OK(pt_update_foreign(_mfn(l1), 0, pte(FOREIGN, RW), D1, D2, &fl));
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    fi(FOREIGN)->ref_count++;                          /* one reference too many */
    assert_true(pagetype_audit(D2, NULL, 0) > 0); OK(pagetype_audit(D1, NULL, 0));
    fi(FOREIGN)->ref_count--;
    fi(FOREIGN)->type_count--;                         /* writable but type count short */
    assert_true(pagetype_audit(D2, NULL, 0) > 0);
    fi(FOREIGN)->type_count++;
    fi(FOREIGN)->type = PGT_NONE;                      /* mapped writable but untyped */
    assert_true(pagetype_audit(D1, NULL, 0) > 0); assert_true(pagetype_audit(D2, NULL, 0) > 0);
    fi(FOREIGN)->type = PGT_WRITABLE;
    uint64_t e = tbl(l1)[0];
    tbl(l1)[0] = 0;                                    /* counts say mapped, tables say not */
    assert_true(pagetype_audit(D1, NULL, 0) > 0); assert_true(pagetype_audit(D2, NULL, 0) > 0);
    tbl(l1)[0] = e;
    OK(pagetype_audit(D1, NULL, 0)); OK(pagetype_audit(D2, NULL, 0));
    OK(pt_update(_mfn(l1), 0, 0, D1, &fl)); OK(pt_unpin(_mfn(l1), D1)); check_all_clear();
}

/* ---- the inline common case of get/put_page_and_type ---- */

/* A frame whose type is in use takes and drops references inline; at either count's
 * limit, on an owner or type mismatch, and for the last type reference (devalidation)
 * the result and the counts are those of the full path. */
TEST(test_page_and_type_inline_paths)
{
    uint64_t d = DATA + 7;
    take_snap();
    OK(get_page_and_type(_mfn(d), PGT_WRITABLE, D1)); counts(d, PGT_WRITABLE, 1, 1); /* full path */
    OK(get_page_and_type(_mfn(d), PGT_WRITABLE, D1)); counts(d, PGT_WRITABLE, 2, 2); /* inline */
    ERR(get_page_and_type(_mfn(d), PGT_L1, D1), EBUSY); counts(d, PGT_WRITABLE, 2, 2);
    ERR(get_page_and_type(_mfn(d), PGT_WRITABLE, D2), EPERM); counts(d, PGT_WRITABLE, 2, 2);
    OK(get_page(_mfn(d), D1)); counts(d, PGT_WRITABLE, 2, 3);     /* a plain reference too */
    fi(d)->ref_count = UINT32_MAX;
    ERR(get_page_and_type(_mfn(d), PGT_WRITABLE, D1), ENOSPC);
    counts(d, PGT_WRITABLE, 2, UINT32_MAX);
    fi(d)->ref_count = 3, fi(d)->type_count = UINT32_MAX;
    ERR(get_page_and_type(_mfn(d), PGT_WRITABLE, D1), ENOSPC);
    counts(d, PGT_WRITABLE, UINT32_MAX, 3);
    fi(d)->type_count = 2;
    put_page_and_type(_mfn(d)); counts(d, PGT_WRITABLE, 1, 2);                        /* inline */
    put_page_and_type(_mfn(d)); counts(d, PGT_NONE, 0, 1);                            /* the last */
    put_page(_mfn(d));
    check_snap();

    /* A table's last type reference through the inline entry point devalidates it. */
    uint64_t t[4];
    chain(t);
    tbl(t[3])[0] = pte(DATA, RW);
    take_snap();
    OK(get_page_and_type(_mfn(t[0]), PGT_L4, D1));
    OK(get_page_and_type(_mfn(t[0]), PGT_L4, D1)); counts(t[0], PGT_L4, 2, 2);
    counts(DATA, PGT_WRITABLE, 1, 1);
    put_page_and_type(_mfn(t[0])); counts(t[0], PGT_L4, 1, 1); counts(DATA, PGT_WRITABLE, 1, 1);
    assert_int_equal(tbl(t[0])[256], HV_MARK(256));
    put_page_and_type(_mfn(t[0])); counts(t[0], PGT_NONE, 0, 0);
    assert_int_equal(tbl(t[0])[256], 0);               /* hypervisor slots cleared */
    check_snap();
}

/* Entries validation never accepted, written straight into validated tables (what a
 * hypervisor write through a stale tree would leave): dropping them must report a count
 * error (the hypervisor then crashes the caller) and never take a count below zero or
 * touch another frame, while the valid entries beside them are released exactly. */
TEST(test_forged_entries_report_count_errors)
{
    uint64_t l2 = new_tbl(), l1 = new_tbl(), l1b = new_tbl();
    tbl(l2)[0] = pte(l1, RW); tbl(l1)[0] = pte(DATA, RW); tbl(l1)[1] = pte(DATA + 1, RO);
    take_snap();
    OK(pt_pin(_mfn(l2), PGT_L2, D1)); OK(pt_pin(_mfn(l1b), PGT_L1, D1));
    counts(DATA, PGT_WRITABLE, 1, 1); counts(DATA + 1, PGT_NONE, 0, 1);
    unsigned e0 = pagetype_count_errors;
    tbl(l1)[5] = 3;                                   /* P|W: mfn 0, never referenced */
    tbl(l1)[6] = pte(NFRAMES + 5, RO);                /* beyond RAM */
    tbl(l1)[7] = pte(FOREIGN + 3, RO);                /* another domain's, never counted */
    tbl(l2)[9] = pte(DATA + 2, RW);                   /* an "L1" that is plain data */
    tbl(l1b)[0] = pte(DATA, RW);                      /* a second writable ref not taken */
    OK(pt_unpin(_mfn(l2), D1));
    assert_int_equal(pagetype_count_errors - e0, 1 + 1 + 1 + 2);   /* mfn 0 is nobody's */
    counts(0, PGT_NONE, 0, 0); counts(FOREIGN + 3, PGT_NONE, 0, 0);
    counts(DATA + 2, PGT_NONE, 0, 0);
    counts(DATA, PGT_NONE, 0, 0); counts(DATA + 1, PGT_NONE, 0, 0);   /* valid ones gone */
    assert_int_equal(pagetype_foreign_mapped(D2), 0);
    assert_int_equal(pagetype_foreign_held(D1), 0);
    e0 = pagetype_count_errors;
    OK(pt_unpin(_mfn(l1b), D1));                            /* DATA's counts are already 0 */
    assert_int_equal(pagetype_count_errors - e0, 2);
    counts(DATA, PGT_NONE, 0, 0); counts(l1b, PGT_NONE, 0, 0);
    put_page(_mfn(DATA)); put_page_type(_mfn(DATA));              /* direct underflows too */
    assert_int_equal(pagetype_count_errors - e0, 4);
    check_snap();
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_page_ownership), T(test_pte_not_present_takes_nothing),
        T(test_pte_disallowed_bits_each_level), T(test_pte_allowed_bits_each_level),
        T(test_pte_user_bit_required), T(test_pte_nx_only_when_allowed),
        T(test_leaf_ro_plain_rw_typed), T(test_leaf_rw_of_table_is_busy),
        T(test_nonleaf_validates_next_level),
        T(test_nonleaf_error_propagates_all_counts_restored), T(test_ps_2m_aligned_owned),
        T(test_ps_2m_foreign_or_busy_frame_restores), T(test_ps_2m_misaligned_or_bad_bits),
        T(test_writable_mapped_frame_cannot_become_table), T(test_retype_table_in_use),
        T(test_self_referencing_loops_refused), T(test_pt_update_replaces_and_counts_exact),
        T(test_pt_update_flush_only_when_present_entry_changes),
        T(test_pt_update_refusals_change_nothing),
        T(test_pt_update_ad_only_change_keeps_counts),
        T(test_devalidation_releases_whole_tree), T(test_pin_unpin), T(test_unpin_all),
        T(test_tlb_safety_flags), T(test_audit_clean_and_detects_corruption),
        T(test_random_sequence_keeps_invariants),
        T(test_foreign_map_counts_against_owner), T(test_foreign_refusals_change_nothing),
        T(test_foreign_dropped_by_devalidation_and_teardown),
        T(test_audit_counts_foreign_references), T(test_page_and_type_inline_paths),
        T(test_forged_entries_report_count_errors),
        T(test_pt_update_plain_l1_edges),
        T(test_io_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
