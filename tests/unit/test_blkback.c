/*
 * tests/unit/test_blkback.c: blkback_check and blkback_range_ok (guest-pv/drivers/
 * blkback_check.c), the validation every front end's request goes through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <hako/errno.h>

#include "blkback.h"

#define DISK 2048u

/* A valid READ of n segments, each a whole page, at sector. */
static struct hako_blkif_request req(unsigned n, uint64_t sector)
{
    struct hako_blkif_request r;
    memset(&r, 0, sizeof(r));
    r.op = HAKO_BLKIF_OP_READ;
    r.nr_segments = (uint8_t)n;
    r.sector = sector;
    for (unsigned i = 0; i < HAKO_BLKIF_MAX_SEGMENTS; i++)
        r.seg[i] = (struct hako_blkif_segment){ .gref = i + 1, .first_sect = 0, .last_sect = 7 };
    return r;
}

static long check(const struct hako_blkif_request *r, uint64_t *n)
{
    return blkback_check(r, DISK, HAKO_BLKIF_MAX_SEGMENTS, n);
}

static void test_valid(void **state)
{
    (void)state;
    uint64_t n;
    struct hako_blkif_request r = req(8, 0);
    assert_int_equal(check(&r, &n), 0);
    assert_int_equal(n, 64);
    r = req(2, DISK - 16);                      /* ends exactly at the end */
    assert_int_equal(check(&r, &n), 0);
    r.op = HAKO_BLKIF_OP_WRITE;
    r.seg[0].first_sect = 3;
    r.seg[1].first_sect = r.seg[1].last_sect = 5;
    assert_int_equal(check(&r, &n), 0);
    assert_int_equal(n, 5 + 1);
    memset(&r, 0, sizeof(r));
    r.op = HAKO_BLKIF_OP_FLUSH;
    assert_int_equal(check(&r, &n), 0);
    assert_int_equal(n, 0);
}

static void test_malformed(void **state)
{
    (void)state;
    uint64_t n;
    struct hako_blkif_request r = req(1, 0);
    r._pad0 = 1;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(1, 0), r._pad1 = 1;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(1, 0), r.seg[0]._pad0 = 1;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(1, 0), r.op = 3;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(0, 0);
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(9, 0);
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(8, 0);
    assert_int_equal(blkback_check(&r, DISK, 4, &n), -HAKO_EINVAL);   /* over the limit */
    r = req(1, 0), r.seg[0].first_sect = 5, r.seg[0].last_sect = 4;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(1, 0), r.seg[0].last_sect = 8;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(1, 0), r.op = HAKO_BLKIF_OP_FLUSH;                         /* with segments */
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(0, 8), r.op = HAKO_BLKIF_OP_FLUSH;                         /* with a sector */
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    assert_int_equal(n, 0);
}

static void test_out_of_range(void **state)
{
    (void)state;
    uint64_t n;
    struct hako_blkif_request r = req(1, DISK - 7);
    assert_int_equal(check(&r, &n), -HAKO_ERANGE);
    r = req(1, DISK);
    assert_int_equal(check(&r, &n), -HAKO_ERANGE);
    r = req(8, UINT64_MAX - 10);                /* the end overflows */
    assert_int_equal(check(&r, &n), -HAKO_ERANGE);
    assert_true(blkback_range_ok(0, DISK, DISK));
    assert_true(blkback_range_ok(DISK, 0, DISK));
    assert_false(blkback_range_ok(DISK + 1, 0, DISK));
    assert_false(blkback_range_ok(1, UINT64_MAX, DISK));
    assert_false(blkback_range_ok(UINT64_MAX, 2, UINT64_MAX));
}

/* Only the request's own segments count: slots past nr_segments are not looked at; a
 * refused request's *nsect is 0 whatever it would have moved; a bad segment anywhere
 * among them refuses the whole request. */
static void test_edges(void **state)
{
    (void)state;
    uint64_t n = 99;
    struct hako_blkif_request r = req(2, 0);
    r.seg[2]._pad0 = 0xFFFF, r.seg[3].first_sect = 7, r.seg[3].last_sect = 0;
    r.seg[7].last_sect = 200;
    assert_int_equal(check(&r, &n), 0);
    assert_int_equal(n, 16);
    r = req(8, 0), r.seg[7].last_sect = 8, n = 99;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    assert_int_equal(n, 0);
    r = req(8, 0), r.seg[5]._pad0 = 0x8000, n = 99;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    assert_int_equal(n, 0);
    r = req(8, DISK - 63), n = 99;              /* one sector too many */
    assert_int_equal(check(&r, &n), -HAKO_ERANGE);
    assert_int_equal(n, 0);
    r = req(8, DISK - 64);                      /* 64 sectors ending exactly at the end */
    assert_int_equal(check(&r, &n), 0);
    assert_int_equal(n, 64);
    r = req(1, DISK - 1), r.seg[0].first_sect = r.seg[0].last_sect = 7;
    assert_int_equal(check(&r, &n), 0);         /* the last sector alone */
    assert_int_equal(n, 1);
    r = req(1, UINT64_MAX), r.seg[0].first_sect = r.seg[0].last_sect = 0;
    assert_int_equal(check(&r, &n), -HAKO_ERANGE);
    r = req(1, 0), r.op = 0xFF;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    memset(&r, 0, sizeof(r)), r.op = HAKO_BLKIF_OP_FLUSH, r._pad1 = 1;
    assert_int_equal(check(&r, &n), -HAKO_EINVAL);
    r = req(1, 0);                              /* an empty disk has no sector at all */
    assert_int_equal(blkback_check(&r, 0, HAKO_BLKIF_MAX_SEGMENTS, &n), -HAKO_ERANGE);
    assert_true(blkback_range_ok(0, 0, 0));
    assert_false(blkback_range_ok(0, 1, 0));
    assert_true(blkback_range_ok(UINT64_MAX, 0, UINT64_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
