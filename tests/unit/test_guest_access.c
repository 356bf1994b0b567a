/*
 * tests/unit/test_guest_access.c: host cmocka tests for hypervisor/guest_access.c.
 *
 * Fake RAM is an aligned buffer of NFRAMES pages; test_directmap_base points at it so
 * physical address pa lives at ram + pa. The frame table covers exactly NFRAMES frames,
 * so anything at or above NFRAMES is "outside RAM". Page tables are built by hand in
 * frames handed out by a bump allocator; data pages use fixed mfns from DATA up. The
 * vCPU's root (vc.cr3) is typed as a validated L4 of its domain, as the hypervisor keeps
 * every vCPU's; only that root is ever walked.
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

#include "domain.h"
#include "frame.h"
#include "guest_access.h"
#include "mm.h"
#include "pagetype.h"

#define NFRAMES 1024u                 /* 4 MiB of fake RAM */
#define DATA    600u                  /* first data mfn; tables come from 1.. */
#define USR     (PTE_P | PTE_W | PTE_U)
#define RO      (PTE_P | PTE_U)

#define LOW_VA  0x0000000000400000ull  /* lower half */
#define KERN_VA 0xFFFFFFFF80000000ull  /* upper guest area */
#define TOP_VA  0xFFFFFFFFFFFFF000ull  /* last page of the address space */

static uint8_t *ram;
static struct frame_info ftab[NFRAMES];
static uint64_t next_table;
static struct domain dom;
static struct vcpu vc;
#define DOMID 3

/* Make mfn a validated top-level table of the test domain (as far as its type says). */
static void make_root(uint64_t mfn)
{
    ftab[mfn].owner = DOMID;
    ftab[mfn].type = PGT_L4;
    ftab[mfn].type_count = 1;
    ftab[mfn].ref_count = 1;
}

static uint64_t *table_of(uint64_t mfn) { return (uint64_t *)(ram + mfn * PAGE_SIZE); }
static uint8_t *page(uint64_t mfn) { return ram + mfn * PAGE_SIZE; }

static uint64_t alloc_table(void)
{
    assert_true(next_table < DATA);
    memset(table_of(next_table), 0, PAGE_SIZE);
    return next_table++;
}

static int setup(void **state)
{
    (void)state;
    ram = aligned_alloc(PAGE_SIZE, NFRAMES * PAGE_SIZE);
    assert_non_null(ram);
    memset(ram, 0, NFRAMES * PAGE_SIZE);
    test_directmap_base = (uintptr_t)ram;
    frame_init(ftab, NFRAMES);
    next_table = 1;
    memset(&dom, 0, sizeof(dom));
    memset(&vc, 0, sizeof(vc));
    dom.domid = DOMID;
    vc.dom = &dom;
    uint64_t root = alloc_table();
    make_root(root);
    vc.cr3 = (root << PAGE_SHIFT) | PTE_PWT | PTE_PCD; /* flag bits must be ignored */
    return 0;
}

static int teardown(void **state) { (void)state; free(ram); return 0; }

/* The entry for va at level (0 = L4 .. 3 = L1), creating tables down to it (all USR). */
static uint64_t *entry(uint64_t va, unsigned level)
{
    static const unsigned shift[4] = { 39, 30, 21, 12 };
    uint64_t *t = table_of((vc.cr3 & PTE_ADDR) >> PAGE_SHIFT);
    for (unsigned l = 0; l < level; l++) {
        uint64_t *e = &t[(va >> shift[l]) & 511];
        if (!(*e & PTE_P))
            *e = (alloc_table() << PAGE_SHIFT) | USR;
        t = table_of((*e & PTE_ADDR) >> PAGE_SHIFT);
    }
    return &t[(va >> shift[level]) & 511];
}

/* Map the 4 KiB page at va to mfn with leaf flags. */
static void map(uint64_t va, uint64_t mfn, uint64_t flags)
{
    *entry(va, 3) = (mfn << PAGE_SHIFT) | flags;
}

static int xlate(uint64_t va, bool write, uint64_t *pa)
{
    *pa = 0xDEADull;                              /* must survive a failed translation */
    return guest_translate(&vc, _gva(va), write, pa);
}

/* ---- guest_range_ok ---- */

#define TEST(name) static void name(void **state __attribute__((unused)))

TEST(test_range_len_zero_always_ok)
{
    /* ABI 6: a length of 0 is accepted without looking at the pointer. */
    assert_true(guest_range_ok(_gva(0), 0));
    assert_true(guest_range_ok(_gva(HAKO_HV_VA_END), 0));
    assert_true(guest_range_ok(_gva(UINT64_MAX), 0));
    assert_true(guest_range_ok(_gva(HAKO_LOWER_HALF_END), 0));   /* non-canonical */
    assert_true(guest_range_ok(_gva(HAKO_HV_VA_START), 0));      /* hypervisor hole */
    /* ...while one byte at the same places is checked. */
    assert_false(guest_range_ok(_gva(HAKO_LOWER_HALF_END), 1));
    assert_false(guest_range_ok(_gva(HAKO_HV_VA_START), 1));
}

TEST(test_range_wrap_rejected)
{
    assert_false(guest_range_ok(_gva(TOP_VA), 0x2000));
    assert_false(guest_range_ok(_gva(UINT64_MAX), 2));
    assert_false(guest_range_ok(_gva(1), UINT64_MAX));
    assert_false(guest_range_ok(_gva(0), UINT64_MAX));   /* spans everything incl. the hole */
}

TEST(test_range_lower_half_edge)
{
    assert_true(guest_range_ok(_gva(0), HAKO_LOWER_HALF_END));               /* whole half */
    assert_true(guest_range_ok(_gva(HAKO_LOWER_HALF_END - 0x1000), 0x1000)); /* up to the end */
    assert_false(guest_range_ok(_gva(HAKO_LOWER_HALF_END - 0x1000), 0x1001));
    assert_false(guest_range_ok(_gva(HAKO_LOWER_HALF_END - 1), 2));
    assert_false(guest_range_ok(_gva(HAKO_LOWER_HALF_END), 1));
    assert_false(guest_range_ok(_gva(0x0000900000000000ull), 0x10));
    /* From the lower half, across the non-canonical gap and the hole, into the upper area. */
    assert_false(guest_range_ok(_gva(HAKO_LOWER_HALF_END - 8),
                                HAKO_HV_VA_END + 16 - HAKO_LOWER_HALF_END));
}

TEST(test_range_hypervisor_hole)
{
    assert_false(guest_range_ok(_gva(HAKO_HV_VA_START), 1));
    assert_false(guest_range_ok(_gva(HAKO_HV_VA_START + 0x1000), 8));
    assert_false(guest_range_ok(_gva(HAKO_HV_VA_START - 8), 16));    /* from non-canonical */
    assert_false(guest_range_ok(_gva(HAKO_HV_VA_END - 8), 16));      /* straddles the hole end */
    assert_false(guest_range_ok(_gva(HAKO_HV_VA_END - 1), 1));
    assert_true(guest_range_ok(_gva(HAKO_HV_VA_END), 16));
    assert_true(guest_range_ok(_gva(KERN_VA), 0x10000));
}

TEST(test_range_top_of_address_space)
{
    assert_true(guest_range_ok(_gva(TOP_VA), 0x1000));                /* ends exactly at 2^64 */
    assert_true(guest_range_ok(_gva(UINT64_MAX), 1));
    assert_true(guest_range_ok(_gva(HAKO_HV_VA_END), 0ull - HAKO_HV_VA_END)); /* whole upper area */
    assert_false(guest_range_ok(_gva(HAKO_HV_VA_END - 1), 0ull - HAKO_HV_VA_END + 1));
}

/* ---- guest_translate ---- */

TEST(test_translate_user_page_with_offset)
{
    uint64_t pa;
    map(LOW_VA, DATA, USR);
    map(KERN_VA + 0x5000, DATA + 7, RO);
    assert_int_equal(xlate(LOW_VA + 0x123, false, &pa), 0);
    assert_int_equal(pa, DATA * PAGE_SIZE + 0x123);
    assert_int_equal(xlate(LOW_VA + 0xFFF, true, &pa), 0);
    assert_int_equal(pa, DATA * PAGE_SIZE + 0xFFF);
    assert_int_equal(xlate(KERN_VA + 0x5ABC, false, &pa), 0);
    assert_int_equal(pa, (DATA + 7) * PAGE_SIZE + 0xABC);
    /* Neighbouring pages are not mapped. */
    assert_int_equal(xlate(LOW_VA + 0x1000, false, &pa), -HAKO_EFAULT);
    assert_int_equal(xlate(KERN_VA + 0x4FFF, false, &pa), -HAKO_EFAULT);
}

/* Each bit the walk needs, cleared at each level in turn: which accesses still work. */
TEST(test_translate_needs_each_bit_at_every_level)
{
    static const struct {
        uint64_t bit, va;
        int read_rc, write_rc;
    } cases[] = {
        { PTE_P, KERN_VA, -HAKO_EFAULT, -HAKO_EFAULT },
        { PTE_U, LOW_VA, -HAKO_EFAULT, -HAKO_EFAULT },
        { PTE_W, KERN_VA, 0, -HAKO_EFAULT },              /* reading is still fine */
    };
    uint64_t pa;
    for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (unsigned level = 0; level < 4; level++) {
            uint64_t va = cases[c].va + ((uint64_t)level << 12);
            map(va, DATA + level, USR);
            assert_int_equal(xlate(va, true, &pa), 0);
            *entry(va, level) &= ~cases[c].bit;
            assert_int_equal(xlate(va, false, &pa), cases[c].read_rc);
            if (cases[c].read_rc == 0)
                assert_int_equal(pa, (DATA + level) * PAGE_SIZE);
            assert_int_equal(xlate(va, true, &pa), cases[c].write_rc);
            *entry(va, level) |= cases[c].bit;            /* restore for the next level */
        }
    }
}

TEST(test_translate_2mib_page)
{
    uint64_t pa, va = 0x40200000ull;
    /* 2 MiB page at pa 2 MiB; bit 12 (PAT for large pages) must not leak into pa. */
    *entry(va, 2) = 0x200000ull | (1ull << 12) | USR | PTE_PS;
    assert_int_equal(xlate(va + 0x12345, true, &pa), 0);
    assert_int_equal(pa, 0x212345);
    assert_int_equal(xlate(va + 0x1FFFFF, false, &pa), 0);
    assert_int_equal(pa, 0x3FFFFF);
    assert_int_equal(xlate(va + 0x200000, false, &pa), -HAKO_EFAULT); /* next 2 MiB */
}

TEST(test_translate_refuses_1gib_page)
{
    /* Validation never accepts PS in an L3 entry, so a walk that meets one is walking
     * something that was never validated: refused, not followed (it is how a forged
     * entry would have mapped machine address 0 to the guest). */
    uint64_t pa, va = 0xFFFFFFFFC0000000ull;
    *entry(va, 1) = 0x0ull | RO | PTE_PS;        /* 1 GiB page at pa 0 */
    assert_int_equal(xlate(va + 0x34567, false, &pa), -HAKO_EFAULT);
    assert_int_equal(xlate(va + 0x34567, true, &pa), -HAKO_EFAULT);
    assert_int_equal(pa, 0xDEAD);
}

/* Only a root that is a validated L4 of the vCPU's own domain at the moment of the access
 * is walked: the page below is mapped all the way, and each broken root property alone
 * makes every access fail without touching memory. */
TEST(test_root_must_be_a_validated_l4_of_the_domain)
{
    uint64_t pa, root = (vc.cr3 & PTE_ADDR) >> PAGE_SHIFT;
    uint8_t buf[8] = { 0 };
    map(LOW_VA, DATA, USR);
    page(DATA)[0] = 0x5A;
    assert_int_equal(xlate(LOW_VA, false, &pa), 0);
    struct frame_info saved = ftab[root];
    struct { const char *what; uint16_t owner, type; uint32_t type_count; } bad[] = {
        { "type count 0 (devalidated)", DOMID, PGT_L4, 0 },
        { "no type", DOMID, PGT_NONE, 0 },
        { "writable data", DOMID, PGT_WRITABLE, 1 },
        { "an L3", DOMID, PGT_L3, 1 },
        { "another domain's L4", DOMID + 1, PGT_L4, 1 },
        { "a hypervisor frame", OWNER_HV, PGT_L4, 1 },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ftab[root].owner = bad[i].owner;
        ftab[root].type = bad[i].type;
        ftab[root].type_count = bad[i].type_count;
        print_message("root: %s\n", bad[i].what);
        assert_int_equal(xlate(LOW_VA, false, &pa), -HAKO_EFAULT);
        assert_int_equal(guest_copy_from(&vc, buf, _gva(LOW_VA), 1), -HAKO_EFAULT);
        assert_int_equal(guest_check(&vc, _gva(LOW_VA), 1, false), -HAKO_EFAULT);
        assert_int_equal(guest_copy_to(&vc, _gva(LOW_VA), "x", 1), -HAKO_EFAULT);
        assert_int_equal(page(DATA)[0], 0x5A);
    }
    ftab[root] = saved;
    ftab[root].type |= PGT_PINNED;                 /* pinned is still an L4 */
    assert_int_equal(guest_copy_from(&vc, buf, _gva(LOW_VA), 1), 0);
    assert_int_equal(buf[0], 0x5A);
}

/* The root is read at every access, never remembered: after the vCPU moves to another
 * table the same address means what the new one says. */
TEST(test_root_is_read_at_each_access)
{
    uint64_t pa;
    map(LOW_VA, DATA, USR);
    uint64_t old_root = vc.cr3;
    uint64_t new_root = alloc_table();
    make_root(new_root);
    vc.cr3 = new_root << PAGE_SHIFT;
    assert_int_equal(xlate(LOW_VA, false, &pa), -HAKO_EFAULT);   /* not mapped there */
    map(LOW_VA, DATA + 1, USR);                                  /* builds in the new tree */
    assert_int_equal(xlate(LOW_VA, false, &pa), 0);
    assert_int_equal(pa, (DATA + 1) * PAGE_SIZE);
    vc.cr3 = old_root;
    assert_int_equal(xlate(LOW_VA, false, &pa), 0);
    assert_int_equal(pa, DATA * PAGE_SIZE);
}

TEST(test_translate_ps_bit_in_l1_is_a_4k_page)
{
    uint64_t pa;
    map(LOW_VA, DATA, USR | PTE_PS);             /* bit 7 at L1 is PAT, not a size */
    assert_int_equal(xlate(LOW_VA + 0x10, false, &pa), 0);
    assert_int_equal(pa, DATA * PAGE_SIZE + 0x10);
}

TEST(test_translate_ps_bit_in_l4_is_not_a_512gib_page)
{
    uint64_t pa;
    /* No 512 GiB pages: frame 0 (all zero) must be walked as an L3 table, not taken
     * as a page at pa 0 (which would give pa 0x10010, inside fake RAM). */
    *entry(0x10010, 0) = 0x0ull | USR | PTE_PS;
    assert_int_equal(xlate(0x10010, false, &pa), -HAKO_EFAULT);
}

TEST(test_translate_rejects_entries_outside_ram)
{
    uint64_t pa;
    map(LOW_VA, NFRAMES, USR);                         /* leaf just past RAM */
    assert_int_equal(xlate(LOW_VA, false, &pa), -HAKO_EFAULT);
    map(LOW_VA, NFRAMES - 1, USR);                     /* last frame of RAM is fine */
    assert_int_equal(xlate(LOW_VA, false, &pa), 0);
    assert_int_equal(pa, (NFRAMES - 1) * PAGE_SIZE);

    map(KERN_VA, DATA, USR);
    *entry(KERN_VA, 1) = ((uint64_t)(NFRAMES + 5) << PAGE_SHIFT) | USR; /* L3 -> non-RAM L2 */
    assert_int_equal(xlate(KERN_VA, false, &pa), -HAKO_EFAULT);
    *entry(KERN_VA, 0) = PTE_ADDR | USR;                                /* L4 -> far away */
    assert_int_equal(xlate(KERN_VA, false, &pa), -HAKO_EFAULT);

    *entry(0x40200000ull, 2) = 0x400000ull | USR | PTE_PS;  /* 2 MiB page at end of RAM */
    assert_int_equal(xlate(0x40200000ull, false, &pa), -HAKO_EFAULT);

    uint64_t good_cr3 = vc.cr3;
    vc.cr3 = (uint64_t)NFRAMES << PAGE_SHIFT;              /* cr3 itself outside RAM */
    assert_int_equal(xlate(LOW_VA, false, &pa), -HAKO_EFAULT);
    vc.cr3 = good_cr3;
}

TEST(test_translate_rejects_hole_and_noncanonical_even_if_mapped)
{
    uint64_t pa;
    /* Both addresses index L4 slot 256; map it so only the range check can refuse. */
    map(HAKO_HV_VA_START, DATA, USR);
    assert_int_equal(L4_INDEX(HAKO_LOWER_HALF_END), 256);
    assert_int_equal(xlate(HAKO_HV_VA_START, false, &pa), -HAKO_EFAULT);
    assert_int_equal(xlate(HAKO_LOWER_HALF_END, false, &pa), -HAKO_EFAULT);
    assert_int_equal(pa, 0xDEAD);                      /* *pa untouched on failure */
}

/* ---- copies ---- */

TEST(test_copy_from_across_mapped_pages)
{
    map(KERN_VA, DATA + 10, RO);          /* non-contiguous frames, reverse order */
    map(KERN_VA + 0x1000, DATA + 3, RO);
    memset(page(DATA + 10) + 0xFF0, 'a', 16);
    memset(page(DATA + 3), 'b', 16);
    char buf[32], want[32];
    memset(want, 'a', 16);
    memset(want + 16, 'b', 16);
    assert_int_equal(guest_copy_from(&vc, buf, _gva(KERN_VA + 0xFF0), 32), 0);
    assert_memory_equal(buf, want, 32);
}

TEST(test_copy_from_fails_when_second_page_unmapped)
{
    char buf[32];
    map(LOW_VA, DATA, USR);
    assert_int_equal(guest_copy_from(&vc, buf, _gva(LOW_VA + 0xFF0), 16), 0);
    assert_int_equal(guest_copy_from(&vc, buf, _gva(LOW_VA + 0xFF0), 17), -HAKO_EFAULT);
    map(LOW_VA + 0x1000, DATA + 1, PTE_P | PTE_W);    /* supervisor page */
    assert_int_equal(guest_copy_from(&vc, buf, _gva(LOW_VA + 0xFF0), 32), -HAKO_EFAULT);
}

TEST(test_copy_to_writes_right_bytes)
{
    map(KERN_VA, DATA, USR);
    map(KERN_VA + 0x1000, DATA + 1, USR);
    memset(page(DATA), 0x11, PAGE_SIZE);
    memset(page(DATA + 1), 0x22, PAGE_SIZE);
    char src[40];
    for (int i = 0; i < 40; i++)
        src[i] = (char)(0x80 + i);
    assert_int_equal(guest_copy_to(&vc, _gva(KERN_VA + 0xFE0), src, 40), 0);
    assert_memory_equal(page(DATA) + 0xFE0, src, 32);
    assert_memory_equal(page(DATA + 1), src + 32, 8);
    assert_int_equal(page(DATA)[0xFDF], 0x11);       /* nothing outside the range */
    assert_int_equal(page(DATA + 1)[8], 0x22);
}

TEST(test_copy_to_readonly_page_leaves_memory_untouched)
{
    map(LOW_VA, DATA, USR);                    /* writable */
    map(LOW_VA + 0x1000, DATA + 1, USR);       /* writable */
    map(LOW_VA + 0x2000, DATA + 2, RO);        /* read-only */
    memset(page(DATA), 0x33, 3 * PAGE_SIZE);
    static uint8_t before[3 * PAGE_SIZE], src[2 * PAGE_SIZE];
    memcpy(before, page(DATA), sizeof(before));
    memset(src, 0x77, sizeof(src));
    /* Starts in a writable page, ends in the read-only one. */
    assert_int_equal(guest_copy_to(&vc, _gva(LOW_VA + 0x800), src, 0x1900), -HAKO_EFAULT);
    assert_memory_equal(page(DATA), before, sizeof(before));
    /* Only the very last byte lands in the read-only page. */
    assert_int_equal(guest_copy_to(&vc, _gva(LOW_VA + 0x1FF0), src, 0x11), -HAKO_EFAULT);
    assert_memory_equal(page(DATA), before, sizeof(before));
    assert_int_equal(guest_copy_to(&vc, _gva(LOW_VA + 0x1FF0), src, 0x10), 0);
    assert_int_equal(page(DATA + 1)[0xFF0], 0x77);
    memcpy(page(DATA), before, sizeof(before));
    /* Read-only first page. */
    assert_int_equal(guest_copy_to(&vc, _gva(LOW_VA + 0x2800), src, 0x10), -HAKO_EFAULT);
    assert_memory_equal(page(DATA), before, sizeof(before));
    /* Unmapped third page after two writable ones. */
    map(KERN_VA, DATA, USR);
    map(KERN_VA + 0x1000, DATA + 1, USR);
    assert_int_equal(guest_copy_to(&vc, _gva(KERN_VA + 0x10), src, 0x2000), -HAKO_EFAULT);
    assert_memory_equal(page(DATA), before, sizeof(before));
    /* Same range minus its last byte fits the two writable pages. */
    assert_int_equal(guest_copy_to(&vc, _gva(KERN_VA + 0x10), src, 0x1FF0), 0);
    assert_int_equal(page(DATA)[0x10], 0x77);
}

TEST(test_copy_to_supervisor_page_in_middle_fails)
{
    map(KERN_VA, DATA, USR);
    map(KERN_VA + 0x1000, DATA + 1, PTE_P | PTE_W);  /* no U */
    map(KERN_VA + 0x2000, DATA + 2, USR);
    static uint8_t src[3 * PAGE_SIZE];
    memset(src, 0x5A, sizeof(src));
    assert_int_equal(guest_copy_to(&vc, _gva(KERN_VA), src, sizeof(src)), -HAKO_EFAULT);
    memset(src, 0, sizeof(src));
    assert_memory_equal(page(DATA), src, sizeof(src));          /* still all zero */
}

TEST(test_copy_at_top_of_address_space)
{
    map(TOP_VA, DATA, USR);
    char src[16] = "top-of-the-addr", buf[16];
    assert_int_equal(guest_copy_to(&vc, _gva(UINT64_MAX - 15), src, 16), 0);
    assert_memory_equal(page(DATA) + PAGE_SIZE - 16, src, 16);
    assert_int_equal(guest_copy_from(&vc, buf, _gva(UINT64_MAX - 15), 16), 0);
    assert_memory_equal(buf, src, 16);
    static uint8_t whole[PAGE_SIZE];
    memset(whole, 0xC3, sizeof(whole));
    assert_int_equal(guest_copy_to(&vc, _gva(TOP_VA), whole, PAGE_SIZE), 0);
    assert_memory_equal(page(DATA), whole, PAGE_SIZE);
    assert_int_equal(guest_copy_to(&vc, _gva(UINT64_MAX - 15), src, 17), -HAKO_EFAULT); /* wraps */
}

TEST(test_copy_bad_pointers_touch_nothing)
{
    /* Slot 256 is mapped user-writable so only the range check can stop the copies. */
    map(HAKO_HV_VA_START, DATA, USR);
    map(HAKO_LOWER_HALF_END, DATA + 1, USR);
    map(HAKO_LOWER_HALF_END - 0x1000, DATA + 2, USR);
    memset(page(DATA), 0x44, 3 * PAGE_SIZE);
    char src[16], buf[16], canary[16];
    memset(src, 0x99, sizeof(src));
    memset(buf, 0xEE, sizeof(buf));
    memcpy(canary, buf, sizeof(buf));
    static const uint64_t bad[] = {
        HAKO_HV_VA_START, HAKO_HV_VA_START + 0x100, HAKO_LOWER_HALF_END,
        HAKO_LOWER_HALF_END - 8, HAKO_HV_VA_END - 8,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(guest_copy_to(&vc, _gva(bad[i]), src, 16), -HAKO_EFAULT);
        assert_int_equal(guest_copy_from(&vc, buf, _gva(bad[i]), 16), -HAKO_EFAULT);
        assert_memory_equal(buf, canary, 16);
    }
    static uint8_t want[3 * PAGE_SIZE];
    memset(want, 0x44, sizeof(want));
    assert_memory_equal(page(DATA), want, sizeof(want));
}

TEST(test_copy_len_zero_succeeds_without_access)
{
    char buf[4] = "abc";
    assert_int_equal(guest_copy_from(&vc, buf, _gva(LOW_VA), 0), 0);     /* unmapped */
    assert_int_equal(guest_copy_to(&vc, _gva(KERN_VA), "x", 0), 0);
    assert_string_equal(buf, "abc");
    map(LOW_VA, DATA, RO);
    assert_int_equal(guest_copy_to(&vc, _gva(LOW_VA), "x", 0), 0);       /* read-only is fine */
    assert_int_equal(page(DATA)[0], 0);
    /* Even a hypervisor or non-canonical pointer: nothing is touched. */
    map(HAKO_HV_VA_START, DATA + 1, USR);
    assert_int_equal(guest_copy_to(&vc, _gva(HAKO_HV_VA_START), "x", 0), 0);
    assert_int_equal(guest_copy_from(&vc, buf, _gva(HAKO_LOWER_HALF_END), 0), 0);
    assert_int_equal(page(DATA + 1)[0], 0);
    assert_string_equal(buf, "abc");
}

/* ---- guest_fetch: the remembered walks are never stale ---- */

static int fetch1(uint64_t va, uint8_t *b) { return guest_fetch(&vc, b, _gva(va), 1); }

/* A fetch sees what a fresh walk would, however the tables changed since the last one:
 * each entry of the path changed in turn (another frame, a missing bit, a large page),
 * with the same address fetched before and after. */
TEST(test_fetch_follows_every_table_change)
{
    uint8_t b[16];
    map(KERN_VA, DATA, RO);
    page(DATA)[0x10] = 0xFA;
    page(DATA + 1)[0x10] = 0xFB;
    for (unsigned level = 0; level < 4; level++) {
        assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);
        assert_int_equal(b[0], 0xFA);
        assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);             /* remembered */
        assert_int_equal(b[0], 0xFA);
        uint64_t *e = entry(KERN_VA, level), saved = *e;
        *e &= ~PTE_U;                                                 /* a bit goes */
        assert_int_equal(fetch1(KERN_VA + 0x10, b), -HAKO_EFAULT);
        *e = saved & ~PTE_P;
        assert_int_equal(fetch1(KERN_VA + 0x10, b), -HAKO_EFAULT);
        *e = saved;
        assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);
        assert_int_equal(b[0], 0xFA);
    }
    /* the leaf moves to another frame; then a table below the root is replaced by a
     * copy that maps another frame */
    *entry(KERN_VA, 3) = ((DATA + 1) << PAGE_SHIFT) | RO;
    assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);
    assert_int_equal(b[0], 0xFB);
    uint64_t l1 = (*entry(KERN_VA, 2) & PTE_ADDR) >> PAGE_SHIFT, copy = alloc_table();
    memcpy(table_of(copy), table_of(l1), PAGE_SIZE);
    table_of(copy)[(KERN_VA >> 12) & 511] = (DATA << PAGE_SHIFT) | RO;
    *entry(KERN_VA, 2) = (copy << PAGE_SHIFT) | USR;
    assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);
    assert_int_equal(b[0], 0xFA);
    /* the L2 entry becomes a 2 MiB page (at pa 2 MiB), then goes back */
    uint64_t l2e = *entry(KERN_VA, 2);
    *entry(KERN_VA, 2) = 0x200000ull | RO | PTE_PS;
    ram[0x200010] = 0xF4;
    assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);
    assert_int_equal(b[0], 0xF4);
    assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);
    assert_int_equal(b[0], 0xF4);
    *entry(KERN_VA, 2) = l2e;
    assert_int_equal(fetch1(KERN_VA + 0x10, b), 0);
    assert_int_equal(b[0], 0xFA);
}

/* The root is checked at every fetch: another root, or the same one no longer a validated
 * L4 of the domain, is never answered from a remembered walk. */
TEST(test_fetch_checks_the_root_every_time)
{
    uint8_t b[1];
    uint64_t root = (vc.cr3 & PTE_ADDR) >> PAGE_SHIFT, old_cr3 = vc.cr3;
    map(LOW_VA, DATA, RO);
    page(DATA)[0] = 0x11;
    assert_int_equal(fetch1(LOW_VA, b), 0);
    ftab[root].type_count = 0;                                   /* devalidated */
    assert_int_equal(fetch1(LOW_VA, b), -HAKO_EFAULT);
    ftab[root].type_count = 1;
    ftab[root].owner = DOMID + 1;                                /* another domain's */
    assert_int_equal(fetch1(LOW_VA, b), -HAKO_EFAULT);
    ftab[root].owner = DOMID;
    assert_int_equal(fetch1(LOW_VA, b), 0);
    uint64_t new_root = alloc_table();
    make_root(new_root);
    vc.cr3 = new_root << PAGE_SHIFT;
    assert_int_equal(fetch1(LOW_VA, b), -HAKO_EFAULT);           /* not mapped there */
    map(LOW_VA, DATA + 1, RO);
    page(DATA + 1)[0] = 0x22;
    assert_int_equal(fetch1(LOW_VA, b), 0);
    assert_int_equal(b[0], 0x22);
    vc.cr3 = old_cr3;
    assert_int_equal(fetch1(LOW_VA, b), 0);
    assert_int_equal(b[0], 0x11);
}

/* Ranges: one page at most, never empty, only guest addresses; two pages fetched in
 * turn (an instruction across a page boundary) are both right. */
TEST(test_fetch_ranges_and_two_pages)
{
    uint8_t b[15];
    map(LOW_VA, DATA, RO);
    map(LOW_VA + PAGE_SIZE, DATA + 1, RO);
    for (unsigned i = 0; i < 15; i++) {
        page(DATA)[PAGE_SIZE - 15 + i] = (uint8_t)i;
        page(DATA + 1)[i] = (uint8_t)(0x80 + i);
    }
    assert_int_equal(guest_fetch(&vc, b, _gva(LOW_VA), 0), -HAKO_EFAULT);
    assert_int_equal(guest_fetch(&vc, b, _gva(LOW_VA + PAGE_SIZE - 7), 15), -HAKO_EFAULT);
    assert_int_equal(guest_fetch(&vc, b, _gva(HAKO_LOWER_HALF_END), 1), -HAKO_EFAULT);
    assert_int_equal(guest_fetch(&vc, b, _gva(0xFFFF800000000000ull), 1), -HAKO_EFAULT);
    for (unsigned round = 0; round < 3; round++) {
        assert_int_equal(guest_fetch(&vc, b, _gva(LOW_VA + PAGE_SIZE - 15), 15), 0);
        for (unsigned i = 0; i < 15; i++)
            assert_int_equal(b[i], i);
        assert_int_equal(guest_fetch(&vc, b, _gva(LOW_VA + PAGE_SIZE), 15), 0);
        for (unsigned i = 0; i < 15; i++)
            assert_int_equal(b[i], 0x80 + i);
    }
    map(LOW_VA + PAGE_SIZE, DATA + 2, RO | PTE_W);               /* remapped meanwhile */
    page(DATA + 2)[0] = 0x33;
    assert_int_equal(guest_fetch(&vc, b, _gva(LOW_VA + PAGE_SIZE), 1), 0);
    assert_int_equal(b[0], 0x33);
    map(LOW_VA + PAGE_SIZE, DATA + 2, PTE_P);                    /* supervisor only */
    assert_int_equal(guest_fetch(&vc, b, _gva(LOW_VA + PAGE_SIZE), 1), -HAKO_EFAULT);
    assert_int_equal(guest_fetch(&vc, b, _gva(LOW_VA + PAGE_SIZE - 15), 15), 0);
}

/* ---- guest_copy_cached: remembered walks for reads and for writes ---- */

/* A frame copy the way vtrap.c makes one: a read cache and a write cache. */
static int cf(gva_t va, void *buf, uint64_t len, bool write)
{
    return guest_copy_cached(&vc, vc.frame_walk[write], va, buf, len, write);
}

/* A frame copy sees what guest_copy_to/from would after every change: a write needs W
 * all the way (a read walk remembered for the page never lets a write through), each
 * entry of the path changed in turn is noticed, and a range across a page falls back
 * to the plain copy. */
TEST(test_copy_frame_follows_every_change)
{
    uint8_t b[8] = "frame!!", r[8];
    map(LOW_VA, DATA, RO);
    assert_int_equal(cf(_gva(LOW_VA + 8), r, 8, false), 0);
    assert_int_equal(cf(_gva(LOW_VA + 8), b, 8, true), -HAKO_EFAULT);
    assert_int_equal(page(DATA)[8], 0);                           /* read-only: untouched */
    map(LOW_VA, DATA, USR);
    for (unsigned level = 0; level < 4; level++) {
        assert_int_equal(cf(_gva(LOW_VA + 8), b, 8, true), 0);
        assert_int_equal(cf(_gva(LOW_VA + 8), b, 8, true), 0);  /* remembered */
        assert_int_equal(cf(_gva(LOW_VA + 8), r, 8, false), 0);
        assert_memory_equal(r, b, 8);
        uint64_t *e = entry(LOW_VA, level), saved = *e;
        *e &= ~PTE_W;                                             /* W goes at this level */
        assert_int_equal(cf(_gva(LOW_VA + 8), b, 8, true), -HAKO_EFAULT);
        assert_int_equal(cf(_gva(LOW_VA + 8), r, 8, false), 0);
        *e = saved & ~PTE_P;
        assert_int_equal(cf(_gva(LOW_VA + 8), r, 8, false), -HAKO_EFAULT);
        *e = saved;
    }
    map(LOW_VA, DATA + 1, USR);                                   /* the leaf moves */
    assert_int_equal(cf(_gva(LOW_VA + 8), b, 8, true), 0);
    assert_memory_equal(&page(DATA + 1)[8], b, 8);
    uint64_t root = (vc.cr3 & PTE_ADDR) >> PAGE_SHIFT;
    ftab[root].type_count = 0;                                    /* root devalidated */
    assert_int_equal(cf(_gva(LOW_VA + 8), r, 8, false), -HAKO_EFAULT);
    ftab[root].type_count = 1;
    map(LOW_VA + PAGE_SIZE, DATA + 2, USR);                       /* across two pages */
    assert_int_equal(cf(_gva(LOW_VA + PAGE_SIZE - 4), b, 8, true), 0);
    assert_memory_equal(&page(DATA + 1)[PAGE_SIZE - 4], b, 4);
    assert_memory_equal(&page(DATA + 2)[0], b + 4, 4);
    assert_int_equal(cf(_gva(HAKO_LOWER_HALF_END - 4), b, 8, true), -HAKO_EFAULT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_range_len_zero_always_ok),
        T(test_range_wrap_rejected),
        T(test_range_lower_half_edge),
        T(test_range_hypervisor_hole),
        T(test_range_top_of_address_space),
        T(test_translate_user_page_with_offset),
        T(test_translate_needs_each_bit_at_every_level),
        T(test_translate_2mib_page),
        T(test_translate_refuses_1gib_page),
        T(test_root_must_be_a_validated_l4_of_the_domain),
        T(test_root_is_read_at_each_access),
        T(test_translate_ps_bit_in_l1_is_a_4k_page),
        T(test_translate_ps_bit_in_l4_is_not_a_512gib_page),
        T(test_translate_rejects_entries_outside_ram),
        T(test_translate_rejects_hole_and_noncanonical_even_if_mapped),
        T(test_copy_from_across_mapped_pages),
        T(test_copy_from_fails_when_second_page_unmapped),
        T(test_copy_to_writes_right_bytes),
        T(test_copy_to_readonly_page_leaves_memory_untouched),
        T(test_copy_to_supervisor_page_in_middle_fails),
        T(test_copy_at_top_of_address_space),
        T(test_copy_bad_pointers_touch_nothing),
        T(test_copy_len_zero_succeeds_without_access),
        T(test_fetch_follows_every_table_change),
        T(test_fetch_checks_the_root_every_time),
        T(test_fetch_ranges_and_two_pages),
        T(test_copy_frame_follows_every_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
