/*
 * tests/unit/test_frame.c: host cmocka tests for hypervisor/frame.c.
 *
 * Every test starts from a fresh frame_init() of a static table. Cases that must panic
 * run in a forked child: the host panic() stub aborts, so the child has to die with
 * SIGABRT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "frame.h" /* hypervisor/frame.h */

#define NFRAMES 64u
#define BIG     200u

static struct frame_info table[BIG];

static int setup(void **state)
{
    (void)state;
    memset(table, 0xA5, sizeof(table)); /* garbage that frame_init must overwrite */
    frame_init(table, NFRAMES);
    return 0;
}

static struct frame_list empty_list(void)
{
    return (struct frame_list){ FRAME_NONE, 0 };
}

/* Walk list, checking each frame's owner; returns the number of frames on it. */
static uint64_t walk_list(const struct frame_list *l, uint16_t owner)
{
    uint64_t n = 0;
    for (uint32_t m = l->head; m != FRAME_NONE; m = frame_get(_mfn(m))->next) {
        assert_non_null(frame_get(_mfn(m)));
        assert_int_equal(frame_get(_mfn(m))->owner, owner);
        assert_true(++n <= frame_count()); /* catches a cycle */
    }
    return n;
}

static uint64_t count_owner(uint16_t owner)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < frame_count(); i++)
        n += frame_get(_mfn(i))->owner == owner;
    return n;
}

/* Run fn(arg) in a child; true when the child died of SIGABRT (i.e. panicked). */
static bool child_panics(void (*fn)(uintptr_t), uintptr_t arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGABRT, SIG_DFL);
        fn(arg);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/* ---- tests ---- */

static void test_init_makes_all_reserved_and_none_free(void **state)
{
    (void)state;
    assert_int_equal(frame_count(), NFRAMES);
    assert_int_equal(frame_free_count(), 0);
    for (uint64_t i = 0; i < NFRAMES; i++) {
        struct frame_info *f = frame_get(_mfn(i));
        assert_ptr_equal(f, &table[i]);
        assert_int_equal(f->owner, OWNER_RESERVED);
        assert_int_equal(f->next, FRAME_NONE);
        assert_int_equal(f->type, 0);
        assert_int_equal(f->type_count, 0);
        assert_int_equal(f->ref_count, 0);
    }
    struct frame_list l = empty_list();
    assert_true(mfn_eq(frame_alloc(0, &l), INVALID_MFN));
    assert_int_equal(l.count, 0);
    assert_int_equal(l.head, FRAME_NONE);
}

static void test_reinit_discards_previous_state(void **state)
{
    (void)state;
    struct frame_list l = empty_list();
    frame_add_free_range(_mfn(0), NFRAMES);
    assert_false(mfn_eq(frame_alloc(1, &l), INVALID_MFN));
    frame_init(table, 10);
    assert_int_equal(frame_count(), 10);
    assert_int_equal(frame_free_count(), 0);
    assert_int_equal(count_owner(OWNER_RESERVED), 10);
    assert_null(frame_get(_mfn(10)));
}

static void test_add_free_range_frees_exactly_the_range(void **state)
{
    (void)state;
    frame_add_free_range(_mfn(10), 5);
    assert_int_equal(frame_free_count(), 5);
    for (uint64_t i = 0; i < NFRAMES; i++)
        assert_int_equal(frame_get(_mfn(i))->owner,
                         i >= 10 && i < 15 ? OWNER_FREE : OWNER_RESERVED);
}

static void test_add_free_range_clips_past_end(void **state)
{
    (void)state;
    frame_add_free_range(_mfn(NFRAMES - 3), 100);
    assert_int_equal(frame_free_count(), 3);
    assert_int_equal(count_owner(OWNER_FREE), 3);
    /* Entries beyond the table must not have been written. */
    assert_int_equal(table[NFRAMES].owner, 0xA5A5);
    frame_add_free_range(_mfn(0), UINT64_MAX); /* count overflowing first+count */
    assert_int_equal(frame_free_count(), NFRAMES);
    assert_int_equal(table[NFRAMES].owner, 0xA5A5);
}

static void test_add_free_range_outside_table_is_ignored(void **state)
{
    (void)state;
    frame_add_free_range(_mfn(NFRAMES), 5);
    frame_add_free_range(_mfn(UINT64_MAX), UINT64_MAX);
    frame_add_free_range(_mfn(3), 0);
    assert_int_equal(frame_free_count(), 0);
    assert_int_equal(count_owner(OWNER_RESERVED), NFRAMES);
    assert_int_equal(table[NFRAMES].owner, 0xA5A5);
}

static void test_add_free_range_overlap_is_idempotent(void **state)
{
    (void)state;
    frame_add_free_range(_mfn(4), 8);   /* 4..11 */
    frame_add_free_range(_mfn(4), 8);   /* again */
    frame_add_free_range(_mfn(8), 8);   /* 8..15, half new */
    assert_int_equal(frame_free_count(), 12);
    assert_int_equal(count_owner(OWNER_FREE), 12);
    /* The free list holds each frame once: allocating gives each of 4..15 once. */
    struct frame_list l = empty_list();
    bool seen[NFRAMES] = { false };
    for (int i = 0; i < 12; i++) {
        uint32_t m = mfn_x(frame_alloc(7, &l));
        assert_true(m >= 4 && m < 16);
        assert_false(seen[m]);
        seen[m] = true;
    }
    assert_true(mfn_eq(frame_alloc(7, &l), INVALID_MFN));
    assert_int_equal(frame_free_count(), 0);
}

static void test_alloc_returns_ascending_sets_owner_and_count(void **state)
{
    (void)state;
    struct frame_list l = empty_list();
    frame_add_free_range(_mfn(20), 10);
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t mfn = mfn_x(frame_alloc(42, &l));
        assert_int_equal(mfn, 20 + i);
        assert_int_equal(frame_get(_mfn(mfn))->owner, 42);
        assert_int_equal(l.head, mfn);
        assert_int_equal(l.count, i + 1);
        assert_int_equal(frame_free_count(), 10 - (i + 1));
    }
    assert_int_equal(walk_list(&l, 42), 5);
    /* The list is newest-first: 24, 23, ..., 20. */
    uint32_t m = l.head;
    for (uint32_t want = 24; want + 1 > 20; want--, m = frame_get(_mfn(m))->next)
        assert_int_equal(m, want);
    assert_int_equal(m, FRAME_NONE);
}

static void test_frame_get_bounds(void **state)
{
    (void)state;
    assert_ptr_equal(frame_get(_mfn(0)), &table[0]);
    assert_ptr_equal(frame_get(_mfn(NFRAMES - 1)), &table[NFRAMES - 1]);
    assert_null(frame_get(_mfn(NFRAMES)));
    assert_null(frame_get(INVALID_MFN));
    assert_null(frame_get(_mfn(UINT64_MAX)));
    assert_null(frame_get(_mfn(1ull << 32)));
}

static void test_alloc_until_empty_returns_invalid_mfn(void **state)
{
    (void)state;
    struct frame_list l = empty_list();
    frame_add_free_range(_mfn(0), NFRAMES);
    for (uint32_t i = 0; i < NFRAMES; i++)
        assert_int_equal(mfn_x(frame_alloc(OWNER_HV, &l)), i);
    assert_int_equal(frame_free_count(), 0);
    uint32_t head = l.head;
    assert_true(mfn_eq(frame_alloc(OWNER_HV, &l), INVALID_MFN));
    assert_true(mfn_eq(frame_alloc(OWNER_HV, &l), INVALID_MFN));
    assert_int_equal(l.count, NFRAMES);   /* a failed alloc leaves the list alone */
    assert_int_equal(l.head, head);
    assert_int_equal(frame_free_count(), 0);
    assert_int_equal(count_owner(OWNER_HV), NFRAMES);
}

static void test_free_list_returns_all_frames_and_empties_list(void **state)
{
    (void)state;
    struct frame_list l = empty_list();
    frame_add_free_range(_mfn(0), 16);
    for (int i = 0; i < 10; i++)
        assert_false(mfn_eq(frame_alloc(3, &l), INVALID_MFN));
    assert_int_equal(frame_free_count(), 6);
    frame_free_list(&l);
    assert_int_equal(l.head, FRAME_NONE);
    assert_int_equal(l.count, 0);
    assert_int_equal(frame_free_count(), 16);
    assert_int_equal(count_owner(3), 0);
    assert_int_equal(count_owner(OWNER_FREE), 16);
    /* The frames really are reusable: all 16 can be allocated again, each once. */
    bool seen[16] = { false };
    for (int i = 0; i < 16; i++) {
        uint32_t m = mfn_x(frame_alloc(4, &l));
        assert_true(m < 16);
        assert_false(seen[m]);
        seen[m] = true;
    }
    assert_true(mfn_eq(frame_alloc(4, &l), INVALID_MFN));
}

static void test_free_list_of_empty_list_is_noop(void **state)
{
    (void)state;
    struct frame_list l = empty_list();
    frame_add_free_range(_mfn(0), 4);
    frame_free_list(&l);
    assert_int_equal(l.head, FRAME_NONE);
    assert_int_equal(l.count, 0);
    assert_int_equal(frame_free_count(), 4);
}

static void test_interleaved_owner_lists_keep_exact_counts(void **state)
{
    (void)state;
    struct frame_list a = empty_list(), b = empty_list();
    frame_add_free_range(_mfn(0), NFRAMES);
    for (int i = 0; i < 30; i++) {
        assert_false(mfn_eq(frame_alloc(1, &a), INVALID_MFN));
        if (i % 3 == 0)
            assert_false(mfn_eq(frame_alloc(2, &b), INVALID_MFN));
    }
    assert_int_equal(a.count, 30);
    assert_int_equal(b.count, 10);
    assert_int_equal(walk_list(&a, 1), 30);
    assert_int_equal(walk_list(&b, 2), 10);
    assert_int_equal(frame_free_count(), NFRAMES - 40);

    frame_free_list(&a);
    assert_int_equal(a.count, 0);
    assert_int_equal(b.count, 10);
    assert_int_equal(walk_list(&b, 2), 10);   /* b's chain survived a's release */
    assert_int_equal(count_owner(1), 0);
    assert_int_equal(count_owner(2), 10);
    assert_int_equal(frame_free_count(), NFRAMES - 10);

    for (int i = 0; i < 5; i++)
        assert_false(mfn_eq(frame_alloc(2, &b), INVALID_MFN));
    assert_int_equal(walk_list(&b, 2), 15);
    assert_int_equal(b.count, 15);
    assert_int_equal(frame_free_count(), NFRAMES - 15);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_random_alloc_free_sequence_matches_model(void **state)
{
    (void)state;
    enum { NOWN = 4, LO = 10, HI = 190 };
    static const uint16_t owners[NOWN] = { 0, 5, OWNER_DOMID_MAX, OWNER_HV };
    uint16_t model[BIG];       /* expected owner of each frame */
    struct frame_list lists[NOWN];
    uint64_t model_count[NOWN] = { 0 };

    frame_init(table, BIG);
    for (unsigned i = 0; i < BIG; i++)
        model[i] = i >= LO && i < HI ? OWNER_FREE : OWNER_RESERVED;
    frame_add_free_range(_mfn(LO), HI - LO);
    for (unsigned k = 0; k < NOWN; k++)
        lists[k] = empty_list();

    for (int step = 0; step < 5000; step++) {
        unsigned k = rng() % NOWN, op = rng() % 100;
        uint64_t model_free = 0;
        for (unsigned i = 0; i < BIG; i++)
            model_free += model[i] == OWNER_FREE;
        if (op < 80) {
            uint32_t m = mfn_x(frame_alloc(owners[k], &lists[k]));
            if (model_free == 0) {
                assert_int_equal(m, FRAME_NONE);
                continue;
            }
            assert_true(m < BIG);
            assert_int_equal(model[m], OWNER_FREE);
            model[m] = owners[k];
            model_count[k]++;
        } else if (op < 95) {
            frame_free_list(&lists[k]);
            for (unsigned i = 0; i < BIG; i++)
                if (model[i] == owners[k])
                    model[i] = OWNER_FREE;
            model_count[k] = 0;
        } else {
            /* Release part of a reserved edge; frames already free stay free. */
            bool low = rng() % 2;
            uint64_t first = low ? rng() % LO : HI + rng() % (BIG - HI);
            uint64_t n = rng() % 6;
            if (low && first + n > LO)
                n = LO - first;                 /* never reach into [LO, HI) */
            bool owned = false;                 /* edge frames may be allocated by now */
            for (uint64_t i = first; i < first + n && i < BIG; i++)
                owned |= model[i] != OWNER_FREE && model[i] != OWNER_RESERVED;
            if (owned)
                continue;
            frame_add_free_range(_mfn(first), n);
            for (uint64_t i = first; i < first + n && i < BIG; i++)
                if (model[i] == OWNER_RESERVED)
                    model[i] = OWNER_FREE;
        }
        uint64_t free_now = 0;
        for (unsigned i = 0; i < BIG; i++) {
            assert_int_equal(frame_get(_mfn(i))->owner, model[i]);
            free_now += model[i] == OWNER_FREE;
        }
        assert_int_equal(frame_free_count(), free_now);
        for (unsigned j = 0; j < NOWN; j++) {
            assert_int_equal(lists[j].count, model_count[j]);
            if (step % 97 == 0)
                assert_int_equal(walk_list(&lists[j], owners[j]), model_count[j]);
        }
    }
    /* Release everything: the pool must hold every non-reserved frame again. */
    for (unsigned k = 0; k < NOWN; k++)
        frame_free_list(&lists[k]);
    assert_int_equal(frame_free_count(), BIG - count_owner(OWNER_RESERVED));
    assert_int_equal(count_owner(OWNER_FREE), frame_free_count());
}

static void alloc_for_owner(uintptr_t owner)
{
    struct frame_list l = empty_list();
    mfn_x(frame_alloc((uint16_t)owner, &l));
}

static void test_alloc_with_invalid_owner_panics(void **state)
{
    (void)state;
    frame_add_free_range(_mfn(0), NFRAMES);
    assert_true(child_panics(alloc_for_owner, OWNER_FREE));
    assert_true(child_panics(alloc_for_owner, OWNER_RESERVED));
    assert_true(child_panics(alloc_for_owner, OWNER_DOMID_MAX + 1));
    /* The child's attempts did not affect the parent's allocator. */
    assert_int_equal(frame_free_count(), NFRAMES);
}

static void test_alloc_with_valid_owner_does_not_panic(void **state)
{
    (void)state;
    frame_add_free_range(_mfn(0), NFRAMES);
    assert_false(child_panics(alloc_for_owner, 0));
    assert_false(child_panics(alloc_for_owner, OWNER_DOMID_MAX));
    assert_false(child_panics(alloc_for_owner, OWNER_HV));
}

static void add_range_over_owned(uintptr_t unused)
{
    (void)unused;
    struct frame_list l = empty_list();
    frame_add_free_range(_mfn(0), 4);
    mfn_x(frame_alloc(1, &l));             /* frame 0 now owned by domain 1 */
    frame_add_free_range(_mfn(0), 8);     /* must not silently steal it */
}

static void test_add_free_range_over_owned_frame_panics(void **state)
{
    (void)state;
    assert_true(child_panics(add_range_over_owned, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_makes_all_reserved_and_none_free, setup),
        cmocka_unit_test_setup(test_reinit_discards_previous_state, setup),
        cmocka_unit_test_setup(test_add_free_range_frees_exactly_the_range, setup),
        cmocka_unit_test_setup(test_add_free_range_clips_past_end, setup),
        cmocka_unit_test_setup(test_add_free_range_outside_table_is_ignored, setup),
        cmocka_unit_test_setup(test_add_free_range_overlap_is_idempotent, setup),
        cmocka_unit_test_setup(test_alloc_returns_ascending_sets_owner_and_count, setup),
        cmocka_unit_test_setup(test_frame_get_bounds, setup),
        cmocka_unit_test_setup(test_alloc_until_empty_returns_invalid_mfn, setup),
        cmocka_unit_test_setup(test_free_list_returns_all_frames_and_empties_list, setup),
        cmocka_unit_test_setup(test_free_list_of_empty_list_is_noop, setup),
        cmocka_unit_test_setup(test_interleaved_owner_lists_keep_exact_counts, setup),
        cmocka_unit_test_setup(test_random_alloc_free_sequence_matches_model, setup),
        cmocka_unit_test_setup(test_alloc_with_invalid_owner_panics, setup),
        cmocka_unit_test_setup(test_alloc_with_valid_owner_does_not_panic, setup),
        cmocka_unit_test_setup(test_add_free_range_over_owned_frame_panics, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
