/*
 * tests/unit/test_ringio.c: host cmocka tests for ring-io/ringio.h.
 *
 * Unit tests drive one side of a ring through the API and play the other side either
 * through the API too or by writing the shared header directly. Entry arrays are
 * malloc'ed at their exact size, so any access outside the ring is an ASan error.
 *
 *   - geometry, attach errors, full/empty, single and burst round trips, partial bursts,
 *     write/read without publishing, free-running indices across 2^32
 *   - event indices: ringio_event_crossed against a 64-bit reference (table and random),
 *     and the notify results of both sides against the same rule
 *   - hostile peers: impossible indices break the handle (sticky) with the right fault;
 *     a seeded random run of garbage indices, events and entries against a model of
 *     what each call may read, return and write
 *   - two threads: polled single/burst, and sleeping on semaphores through the event
 *     indices, single entries on an 8-slot ring (the most arm/publish races) and bursts
 *     (a lost wake-up fails after 10 s instead of hanging; every run has a 60 s
 *     watchdog); sequence numbers checked for loss, duplication, reordering and torn
 *     entries; a request/response pair
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/time.h> /* not <time.h>: -Ihypervisor has its own time.h */
#include <cmocka.h>

#include "../../ring-io/ringio.h"

#define N(a)      (sizeof(a) / sizeof((a)[0]))
#define TEST(name) static void name(void **state __attribute__((unused)))

/* Entries per polled stress test (the sleeping ones do 1/16 and 1/2, the pair 1/8).
 * The Makefile's unit-test build has ASan: there all four take about a second in total
 * on two cores; an uninstrumented build does more. */
#ifndef STRESS_N
#if defined(__SANITIZE_ADDRESS__)
#define STRESS_N 8000000u
#else
#define STRESS_N 20000000u
#endif
#endif

/* ---- helpers ------------------------------------------------------------------------ */

struct ring {
    struct ringio_hdr *hdr;
    unsigned char *ents;
    uint32_t order, esize, size;
};

static struct ring ring_new(uint32_t order, uint32_t esize, uint32_t start)
{
    struct ring r;
    r.order = order;
    r.esize = esize;
    r.size = 1u << order;
    r.hdr = aligned_alloc(64, sizeof(*r.hdr));
    assert_non_null(r.hdr);
    ringio_hdr_reset(r.hdr, start);
    r.ents = malloc(ringio_ents_bytes(order, esize));
    assert_non_null(r.ents);
    memset(r.ents, 0xa5, ringio_ents_bytes(order, esize));
    return r;
}

static void ring_free(struct ring *r)
{
    free(r->hdr);
    free(r->ents);
    r->hdr = NULL;
    r->ents = NULL;
}

static void attach_both(struct ring *r, struct ringio_prod *p, struct ringio_cons *c)
{
    assert_int_equal(ringio_prod_attach(p, r->hdr, r->ents, r->order, r->esize), 0);
    assert_int_equal(ringio_cons_attach(c, r->hdr, r->ents, r->order, r->esize), 0);
}

/* xorshift64*: deterministic across runs and hosts. */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}
static uint32_t rng_below(uint32_t n) { return (uint32_t)(rng() % n); }

/* Fill an entry of esize bytes from a value, and check one. */
static void fill(unsigned char *e, uint32_t esize, uint64_t v)
{
    for (uint32_t i = 0; i < esize; i++)
        e[i] = (unsigned char)((v >> (8 * (i % 8))) + i);
}
static int check(const unsigned char *e, uint32_t esize, uint64_t v)
{
    unsigned char want[64];
    fill(want, esize, v);
    return memcmp(e, want, esize) == 0;
}

/* ---- layout and set-up ------------------------------------------------------------- */

TEST(test_layout)
{
    assert_int_equal(sizeof(struct ringio_hdr), 256);
    assert_int_equal(offsetof(struct ringio_hdr, prod), 0);
    assert_int_equal(offsetof(struct ringio_hdr, prod_event), 64);
    assert_int_equal(offsetof(struct ringio_hdr, cons), 128);
    assert_int_equal(offsetof(struct ringio_hdr, cons_event), 192);

    assert_int_equal(ringio_ents_bytes(0, 1), 1);
    assert_int_equal(ringio_ents_bytes(10, 8), 8192);
    assert_int_equal(ringio_ents_bytes(30, 4), 4ull << 30);
    assert_int_equal(ringio_ents_bytes(31, 1), 0);
    assert_int_equal(ringio_ents_bytes(3, 0), 0);

    struct ringio_pair_layout l;
    assert_int_equal(ringio_pair_layout_init(&l, 3, 24, 2, 16), 0);
    assert_int_equal(l.req_hdr_off, 0);
    assert_int_equal(l.rsp_hdr_off, 256);
    assert_int_equal(l.req_ents_off, 512);
    assert_int_equal(l.rsp_ents_off, 512 + 192);      /* 8 * 24 = 192, a multiple of 64 */
    assert_int_equal(l.bytes, 512 + 192 + 64);
    assert_int_equal(ringio_pair_layout_init(&l, 0, 8, 0, 8), 0);
    assert_int_equal(l.rsp_ents_off, 512 + 64);       /* 8 bytes rounded up to a line */
    assert_int_equal(l.bytes, 512 + 64 + 8);
    assert_int_equal(ringio_pair_layout_init(&l, 31, 8, 0, 8), RINGIO_EINVAL);
    assert_int_equal(ringio_pair_layout_init(&l, 0, 8, 0, 0), RINGIO_EINVAL);

    /* One 4 KiB page: 512 + 2 * n * esize <= 4096. */
    assert_int_equal(ringio_pair_fit(4096, 64, 64), 4);  /* n <= 28 */
    assert_int_equal(ringio_pair_fit(4096, 8, 8), 7);    /* n <= 224 */
    assert_int_equal(ringio_pair_fit(4096, 112, 16), 4); /* 512 + 1792 + 256 */
    assert_int_equal(ringio_pair_fit(512, 8, 8), -1);
    assert_int_equal(ringio_pair_fit(512 + 64 + 8, 8, 8), 0);
}

TEST(test_reset)
{
    struct ring r = ring_new(2, 8, 0);
    memset(r.hdr, 0xff, sizeof(*r.hdr));
    ringio_hdr_reset(r.hdr, 0xfffffff0u);
    assert_int_equal(r.hdr->prod, 0xfffffff0u);
    assert_int_equal(r.hdr->cons, 0xfffffff0u);
    assert_int_equal(r.hdr->prod_event, 0xfffffff0u);
    assert_int_equal(r.hdr->cons_event, 0xfffffff0u);
    for (size_t i = 4; i < 64; i++)
        assert_int_equal(r.hdr->pad_prod[i - 4], 0);
    ringio_hdr_reset(r.hdr, UINT32_MAX);
    assert_int_equal(r.hdr->prod_event, UINT32_MAX);
    ring_free(&r);
}

TEST(test_attach_errors)
{
    struct ring r = ring_new(3, 8, 0);
    struct ringio_prod p;
    struct ringio_cons c;
    uint64_t v = 1;
    bool n = true;

    assert_int_equal(ringio_prod_attach(&p, NULL, r.ents, 3, 8), RINGIO_EINVAL);
    assert_true(ringio_prod_broken(&p));
    assert_int_equal(ringio_prod_fault(&p), RINGIO_FAULT_DISCONNECTED);
    assert_int_equal(ringio_produce_one(&p, &v, &n), RINGIO_BROKEN);
    assert_false(n);
    assert_int_equal(ringio_prod_attach(&p, r.hdr, NULL, 3, 8), RINGIO_EINVAL);
    assert_int_equal(ringio_prod_attach(&p, (struct ringio_hdr *)((char *)r.hdr + 8), r.ents,
                                        3, 8), RINGIO_EINVAL);
    assert_int_equal(ringio_prod_attach(&p, r.hdr, r.ents, 31, 8), RINGIO_EINVAL);
    assert_int_equal(ringio_prod_attach(&p, r.hdr, r.ents, 3, 0), RINGIO_EINVAL);
    assert_int_equal(ringio_cons_attach(&c, NULL, r.ents, 3, 8), RINGIO_EINVAL);
    assert_true(ringio_cons_broken(&c));
    assert_int_equal(ringio_consume_one(&c, &v, &n), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_attach(&c, r.hdr, r.ents, 31, 8), RINGIO_EINVAL);
    assert_int_equal(ringio_cons_attach(&c, r.hdr, r.ents, 3, 0), RINGIO_EINVAL);

    /* The largest order is accepted (the entry array is not touched by attach). */
    assert_int_equal(ringio_prod_attach(&p, r.hdr, r.ents, 30, 1), 0);
    assert_int_equal(ringio_prod_size(&p), 1u << 30);
    assert_int_equal(ringio_cons_attach(&c, r.hdr, r.ents, 30, 1), 0);
    assert_int_equal(ringio_cons_size(&c), 1u << 30);
    assert_int_equal(ringio_prod_space(&p), 1 << 30);
    assert_int_equal(ringio_cons_avail(&c), 0);

    /* Attaching to a header whose indices are already impossible. */
    r.hdr->prod = 100;
    r.hdr->cons = 91; /* 9 outstanding in a ring of 8 */
    assert_int_equal(ringio_prod_attach(&p, r.hdr, r.ents, 3, 8), RINGIO_BROKEN);
    assert_int_equal(ringio_prod_fault(&p), RINGIO_FAULT_CONS_INDEX);
    assert_int_equal(ringio_cons_attach(&c, r.hdr, r.ents, 3, 8), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_fault(&c), RINGIO_FAULT_PROD_INDEX);
    r.hdr->cons = 92; /* exactly full: fine */
    assert_int_equal(ringio_prod_attach(&p, r.hdr, r.ents, 3, 8), 0);
    assert_int_equal(ringio_prod_space(&p), 0);
    assert_int_equal(ringio_cons_attach(&c, r.hdr, r.ents, 3, 8), 0);
    assert_int_equal(ringio_cons_avail(&c), 8);
    r.hdr->cons = 101; /* consumer ahead of producer */
    assert_int_equal(ringio_prod_attach(&p, r.hdr, r.ents, 3, 8), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_attach(&c, r.hdr, r.ents, 3, 8), RINGIO_BROKEN);
    ring_free(&r);
}

/* ---- basic operation ------------------------------------------------------------------ */

static void full_empty_at(uint32_t start)
{
    struct ring r = ring_new(4, 8, start);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t v;

    assert_int_equal(ringio_cons_avail(&c), 0);
    assert_int_equal(ringio_consume_one(&c, &v, NULL), 0);
    assert_int_equal(ringio_prod_space(&p), 16);
    for (uint64_t i = 0; i < 16; i++) {
        assert_int_equal(ringio_produce_one(&p, &i, NULL), 1);
        assert_int_equal(ringio_prod_space(&p), (int)(15 - i));
    }
    assert_int_equal(r.hdr->prod, start + 16);
    v = 99;
    assert_int_equal(ringio_produce_one(&p, &v, NULL), 0); /* full */
    assert_int_equal(ringio_produce(&p, &v, 1, NULL), 0);
    assert_int_equal(ringio_cons_avail(&c), 16);
    for (uint64_t i = 0; i < 16; i++) {
        assert_int_equal(ringio_consume_one(&c, &v, NULL), 1);
        assert_int_equal(v, i);
    }
    assert_int_equal(r.hdr->cons, start + 16);
    assert_int_equal(ringio_consume_one(&c, &v, NULL), 0); /* empty */
    assert_int_equal(ringio_cons_avail(&c), 0);
    assert_int_equal(ringio_prod_space(&p), 16);
    assert_false(ringio_prod_broken(&p));
    assert_false(ringio_cons_broken(&c));
    ring_free(&r);
}

TEST(test_full_empty)
{
    full_empty_at(0);
    full_empty_at(UINT32_MAX - 7); /* fills across 2^32 */
    full_empty_at(UINT32_MAX);
}

/* Borrowing: peek stops at the end of the slot array and at what avail/space saw;
 * advance moves on (clamped); publish makes the borrowed entries visible as usual. */
TEST(test_borrow)
{
    struct ring r = ring_new(3, 8, UINT32_MAX - 2);     /* 8 slots, indices wrap 2^32 */
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    const uint32_t start = UINT32_MAX - 2;               /* slot 5 */
    bool notify;
    uint64_t v;

    assert_int_equal(ringio_prod_space(&p), 8);
    uint32_t n = 100;
    uint64_t *w = ringio_prod_peek(&p, &n);
    assert_int_equal(n, 3);                             /* slots 5..7, then the wrap */
    assert_ptr_equal(w, (uint64_t *)r.ents + 5);
    for (uint32_t i = 0; i < n; i++)
        w[i] = 100 + i;
    ringio_prod_advance(&p, 3);
    n = 100;
    w = ringio_prod_peek(&p, &n);
    assert_int_equal(n, 5);                             /* slots 0..4: the space left */
    assert_ptr_equal(w, (uint64_t *)r.ents);
    w[0] = 103;
    ringio_prod_advance(&p, 1);
    assert_int_equal(r.hdr->prod, start);               /* nothing posted before publish */
    assert_int_equal(ringio_prod_publish(&p, &notify), 0);
    assert_int_equal(r.hdr->prod, (uint32_t)(start + 4));

    n = 2;
    assert_int_equal(ringio_cons_avail(&c), 4);
    const uint64_t *e = ringio_cons_peek(&c, &n);
    assert_int_equal(n, 2);                             /* as many as asked */
    assert_int_equal(e[0], 100);
    assert_int_equal(e[1], 101);
    ringio_cons_advance(&c, 2);
    n = 100;
    e = ringio_cons_peek(&c, &n);
    assert_int_equal(n, 1);                             /* slot 7, then the wrap */
    assert_int_equal(e[0], 102);
    ringio_cons_advance(&c, 50);                        /* clamped to what there is */
    assert_int_equal(ringio_cons_avail(&c), 0);
    assert_int_equal(ringio_consume_one(&c, &v, NULL), 0);
    assert_int_equal(ringio_cons_publish(&c, &notify), 0);
    assert_int_equal(r.hdr->cons, (uint32_t)(start + 4));

    /* The consumer claims more than was produced: a broken ring lends nothing. */
    r.hdr->cons += 100;
    assert_int_equal(ringio_prod_space(&p), RINGIO_BROKEN);
    n = 8;
    ringio_prod_peek(&p, &n);
    assert_int_equal(n, 0);
    ring_free(&r);
}

TEST(test_order0)
{
    struct ring r = ring_new(0, 4, 7);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t v = i * 3, w = 0;
        assert_int_equal(ringio_produce_one(&p, &v, NULL), 1);
        assert_int_equal(ringio_produce_one(&p, &v, NULL), 0);
        assert_int_equal(ringio_consume(&c, &w, 5, NULL), 1);
        assert_int_equal(w, v);
        assert_int_equal(ringio_consume(&c, &w, 5, NULL), 0);
    }
    ring_free(&r);
}

/* Random single and burst traffic, one thread, various entry sizes and starts. */
static void roundtrip(uint32_t order, uint32_t esize, uint32_t start, uint32_t steps)
{
    struct ring r = ring_new(order, esize, start);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    unsigned char *buf = malloc((size_t)esize * (r.size + 3));
    assert_non_null(buf);
    uint64_t next_in = 0, next_out = 0;

    for (uint32_t s = 0; s < steps; s++) {
        uint32_t n = rng_below(r.size + 3);
        if (rng_below(2)) {
            for (uint32_t i = 0; i < n; i++)
                fill(buf + (size_t)i * esize, esize, next_in + i);
            uint32_t space = r.size - (uint32_t)(next_in - next_out);
            int got = n == 1 && rng_below(2) ? ringio_produce_one(&p, buf, NULL)
                                             : ringio_produce(&p, buf, n, NULL);
            assert_int_equal(got, n < space ? n : space);
            next_in += (uint64_t)got;
        } else {
            memset(buf, 0, (size_t)esize * (r.size + 3));
            uint32_t avail = (uint32_t)(next_in - next_out);
            int got = n == 1 && rng_below(2) ? ringio_consume_one(&c, buf, NULL)
                                             : ringio_consume(&c, buf, n, NULL);
            assert_int_equal(got, n < avail ? n : avail);
            for (int i = 0; i < got; i++)
                assert_true(check(buf + (size_t)i * esize, esize, next_out + (uint64_t)i));
            for (size_t i = (size_t)got * esize; i < (size_t)esize * (r.size + 3); i++)
                assert_int_equal(buf[i], 0); /* nothing written past the count */
            next_out += (uint64_t)got;
        }
        assert_int_equal(r.hdr->prod, (uint32_t)(start + next_in));
        assert_int_equal(r.hdr->cons, (uint32_t)(start + next_out));
    }
    free(buf);
    ring_free(&r);
}

TEST(test_roundtrip)
{
    static const uint32_t esizes[] = { 1, 3, 8, 16, 24, 64 };
    rng_seed(42);
    for (size_t e = 0; e < N(esizes); e++) {
        roundtrip(0, esizes[e], 0, 200);
        roundtrip(3, esizes[e], 5, 2000);
        roundtrip(6, esizes[e], UINT32_MAX - 100, 2000);
    }
}

/* Free-running indices: many laps of a small ring, starting just below 2^32. */
TEST(test_wraparound_u32)
{
    struct ring r = ring_new(3, 8, UINT32_MAX - 20);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t in[8], out[8], seq = 0, got = 0;
    for (int lap = 0; lap < 40; lap++) {
        uint32_t n = 1 + (uint32_t)lap % 8;
        for (uint32_t i = 0; i < n; i++)
            in[i] = seq + i;
        assert_int_equal(ringio_produce(&p, in, n, NULL), (int)n);
        seq += n;
        assert_int_equal(ringio_consume(&c, out, 8, NULL), (int)n);
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(out[i], got + i);
        got += n;
    }
    assert_int_equal(r.hdr->prod, (uint32_t)(UINT32_MAX - 20 + seq));
    assert_true(r.hdr->prod < 200); /* it did cross 2^32 */
    assert_false(ringio_cons_broken(&c));
    assert_false(ringio_prod_broken(&p));
    ring_free(&r);
}

/* Partial bursts, and bursts split by the end of the array (two copies each way). */
TEST(test_burst_partial)
{
    struct ring r = ring_new(3, 8, 0xfffffffdu); /* slot 5 */
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t in[12], out[12];
    for (uint64_t i = 0; i < 12; i++)
        in[i] = 100 + i;

    assert_int_equal(ringio_produce(&p, in, 12, NULL), 8); /* slots 5,6,7,0,..,4 */
    uint64_t *slots = (uint64_t *)(void *)r.ents;
    assert_int_equal(slots[5], 100);
    assert_int_equal(slots[7], 102);
    assert_int_equal(slots[0], 103);
    assert_int_equal(slots[4], 107);
    assert_int_equal(ringio_produce(&p, in, 12, NULL), 0);
    assert_int_equal(ringio_consume(&c, out, 3, NULL), 3);
    assert_int_equal(out[2], 102);
    assert_int_equal(ringio_produce(&p, in + 8, 4, NULL), 3);
    assert_int_equal(ringio_consume(&c, out, 12, NULL), 8); /* slots 0..7 in order 0.. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i], 103 + (uint64_t)i);
    for (int i = 5; i < 8; i++)
        assert_int_equal(out[i], 108 + (uint64_t)(i - 5));
    assert_int_equal(ringio_consume(&c, out, 12, NULL), 0);
    assert_int_equal(ringio_produce(&p, in, 0, NULL), 0);
    assert_int_equal(ringio_consume(&c, out, 0, NULL), 0);
    ring_free(&r);
}

/* write/read stage entries; only publish moves the shared index. */
TEST(test_write_read_publish)
{
    struct ring r = ring_new(2, 8, 10);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t v[4] = { 1, 2, 3, 4 }, w[4];
    bool n;

    assert_int_equal(ringio_prod_write(&p, v, 3), 3);
    assert_int_equal(r.hdr->prod, 10);
    assert_int_equal(ringio_cons_avail(&c), 0);
    assert_int_equal(ringio_prod_write(&p, v + 3, 1), 1);
    assert_int_equal(ringio_prod_write(&p, v, 1), 0); /* unpublished entries use slots */
    assert_int_equal(ringio_prod_space(&p), 0);
    assert_int_equal(ringio_prod_publish(&p, &n), 0);
    assert_true(n); /* initial prod_event = start: entry `start` was published */
    assert_int_equal(r.hdr->prod, 14);
    assert_int_equal(ringio_prod_publish(&p, &n), 0); /* nothing new */
    assert_false(n);

    assert_int_equal(ringio_cons_read(&c, w, 2), 2);
    assert_int_equal(w[1], 2);
    assert_int_equal(r.hdr->cons, 10);
    assert_int_equal(ringio_prod_space(&p), 0); /* not released yet */
    assert_int_equal(ringio_cons_read(&c, w, 4), 2);
    assert_int_equal(w[1], 4);
    assert_int_equal(ringio_cons_publish(&c, &n), 0);
    assert_true(n);
    assert_int_equal(r.hdr->cons, 14);
    assert_int_equal(ringio_prod_space(&p), 4);
    ring_free(&r);
}

/* ---- typed wrappers and pairs ------------------------------------------------------ */

struct msg {
    uint64_t id;
    uint32_t op;
    uint16_t len;
    uint8_t flags, pad;
};
RINGIO_TYPED(msgq, struct msg);

TEST(test_typed)
{
    struct ringio_hdr *hdr = aligned_alloc(64, sizeof(*hdr));
    struct msg *ents = malloc(sizeof(struct msg) * 8);
    struct msgq_prod p;
    struct msgq_cons c;
    ringio_hdr_reset(hdr, UINT32_MAX - 2);
    assert_int_equal(msgq_prod_attach(&p, hdr, ents, 3), 0);
    assert_int_equal(msgq_cons_attach(&c, hdr, ents, 3), 0);
    assert_int_equal(p.r.esize, sizeof(struct msg));

    struct msg m = { 7, 1, 2, 3, 0 }, out[8], batch[10];
    bool n;
    assert_int_equal(msgq_produce_one(&p, &m, &n), 1);
    assert_true(n);
    for (int i = 0; i < 10; i++)
        batch[i] = (struct msg){ (uint64_t)i, 2, 0, 0, 0 };
    assert_int_equal(msgq_produce(&p, batch, 10, NULL), 7);
    assert_int_equal(msgq_write(&p, batch, 1), 0);
    assert_int_equal(msgq_consume_one(&c, out, NULL), 1);
    assert_int_equal(out[0].id, 7);
    assert_int_equal(out[0].flags, 3);
    assert_int_equal(msgq_read(&c, out, 2), 2);
    assert_int_equal(ringio_cons_publish(&c.r, NULL), 0);
    assert_int_equal(msgq_write(&p, batch + 7, 3), 3);
    assert_int_equal(ringio_prod_publish(&p.r, NULL), 0);
    assert_int_equal(msgq_consume(&c, out, 8, NULL), 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i].id, (uint64_t)(i + 2));
    free(hdr);
    free(ents);
}

/* A request/response pair in one 4 KiB page: requests of 64 bytes, responses of 16. */
struct req { uint64_t id; uint64_t arg[7]; };
struct rsp { uint64_t id; int64_t status; };

TEST(test_pair_page)
{
    int order = ringio_pair_fit(4096, sizeof(struct req), sizeof(struct rsp));
    assert_int_equal(order, 5); /* 512 + 32 * 64 + 32 * 16 = 3072 */
    struct ringio_pair_layout l;
    assert_int_equal(ringio_pair_layout_init(&l, (uint32_t)order, sizeof(struct req),
                                             (uint32_t)order, sizeof(struct rsp)), 0);
    assert_true(l.bytes <= 4096);
    void *page = aligned_alloc(4096, 4096);
    memset(page, 0x5a, 4096);
    ringio_pair_reset(page, &l, 0);
    struct ringio_front f;
    struct ringio_back b;
    assert_int_equal(ringio_front_attach(&f, page, &l), 0);
    assert_int_equal(ringio_back_attach(&b, page, &l), 0);

    uint64_t sent = 0, answered = 0, received = 0;
    int back_kicks = 0, front_kicks = 0, rounds = 0;
    bool n;
    rng_seed(7);
    while (received < 1000) {
        rounds++;
        /* front: send a few requests, kick the back end only when it asked */
        struct req rq[8];
        uint32_t k = 1 + rng_below(8);
        for (uint32_t i = 0; i < k; i++)
            rq[i] = (struct req){ sent + i, { (sent + i) * 2, 0, 0, 0, 0, 0, 0 } };
        int m = ringio_produce(&f.req, rq, k, &n);
        assert_true(m >= 0);
        sent += (uint64_t)m;
        back_kicks += n;
        /* back: answer everything, then arm; kick the front end when it asked */
        struct req in;
        while (ringio_consume_one(&b.req, &in, NULL) == 1) {
            assert_int_equal(in.id, answered);
            assert_int_equal(in.arg[0], in.id * 2);
            struct rsp out = { in.id, -(int64_t)in.id };
            assert_int_equal(ringio_produce_one(&b.rsp, &out, &n), 1);
            front_kicks += n;
            answered++;
        }
        assert_int_equal(ringio_cons_arm(&b.req, 1), 0);
        /* front: collect responses, then arm */
        struct rsp rs[4];
        int got;
        while ((got = ringio_consume(&f.rsp, rs, N(rs), NULL)) > 0) {
            for (int i = 0; i < got; i++) {
                assert_int_equal(rs[i].id, received);
                assert_int_equal(rs[i].status, -(int64_t)received);
                received++;
            }
        }
        assert_int_equal(got, 0);
        assert_int_equal(ringio_cons_arm(&f.rsp, 1), 0);
    }
    /* Each side armed after draining, so each round kicked each side exactly once. */
    assert_int_equal(back_kicks, rounds);
    assert_int_equal(front_kicks, rounds);
    free(page);
}

/* ---- event indices ------------------------------------------------------------------- */

/* Reference: unwrap old, now and event onto a 64-bit line near `now`; then the move
 * published (or consumed) entry `event` iff old <= event < now. */
static bool crossed_ref(uint32_t event, uint32_t old, uint32_t now)
{
    int64_t n = (int64_t)1 << 40;
    int64_t o = n - (int64_t)(uint32_t)(now - old);             /* moves are < 2^31 */
    int64_t e = n - (int64_t)(int32_t)(uint32_t)(now - event);  /* event within 2^31 */
    return o <= e && e < n;
}

TEST(test_event_table)
{
    static const struct { uint32_t event, old, now; bool want; } t[] = {
        { 4, 4, 5, true },            /* the one entry published by this move */
        { 5, 4, 5, false },           /* the next entry: not yet */
        { 4, 4, 4, false },           /* no move */
        { 4, 5, 6, false },           /* published by an earlier move */
        { 0, 0, 10, true },           /* first entry of a burst */
        { 5, 0, 10, true },           /* inside a burst */
        { 9, 0, 10, true },           /* last entry of a burst */
        { 10, 0, 10, false },         /* just after it */
        { UINT32_MAX, 0, 10, false }, /* just before it */
        { UINT32_MAX, UINT32_MAX, 0, true },   /* across 2^32 */
        { 0, UINT32_MAX, 0, false },
        { UINT32_MAX - 3, UINT32_MAX - 3, 2, true },
        { UINT32_MAX, UINT32_MAX - 3, 2, true },
        { 0, UINT32_MAX - 3, 2, true },
        { 1, UINT32_MAX - 3, 2, true },
        { 2, UINT32_MAX - 3, 2, false },
        { UINT32_MAX - 4, UINT32_MAX - 3, 2, false },
        { 0x7ffffffeu, 0, 0x7fffffffu, true },
        { 0x7fffffffu, 0, 0x7fffffffu, false },
        { 0x80000000u, 0, 0x7fffffffu, false }, /* far ahead */
        { 100, 200, 300, false },     /* stale event far behind */
    };
    for (size_t i = 0; i < N(t); i++) {
        assert_int_equal(ringio_event_crossed(t[i].event, t[i].old, t[i].now), t[i].want);
        assert_int_equal(crossed_ref(t[i].event, t[i].old, t[i].now), t[i].want);
    }
    rng_seed(3);
    for (int i = 0; i < 200000; i++) {
        uint32_t old = (uint32_t)rng();
        uint32_t now = old + rng_below(1u << (1 + rng_below(30)));
        uint32_t event = rng_below(4) ? now + (uint32_t)(int32_t)(rng_below(1u << (1 + rng_below(30))) - (1u << rng_below(30)))
                                      : (uint32_t)rng();
        assert_int_equal(ringio_event_crossed(event, old, now), crossed_ref(event, old, now));
    }
}

/* Producer notifications follow the consumer's arm requests, through the API. */
TEST(test_notify_producer)
{
    struct ring r = ring_new(4, 8, UINT32_MAX - 5);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t v[16] = { 0 };
    bool n;

    /* Fresh ring: prod_event = start, so the first publish notifies. */
    assert_int_equal(ringio_produce_one(&p, v, &n), 1);
    assert_true(n);
    assert_int_equal(ringio_produce_one(&p, v, &n), 1);
    assert_false(n); /* nobody re-armed */
    assert_int_equal(ringio_consume(&c, v, 16, NULL), 2);
    assert_int_equal(ringio_cons_arm(&c, 1), 0); /* empty: the caller may sleep */
    assert_int_equal(ringio_produce(&p, v, 3, &n), 3);
    assert_true(n);
    assert_int_equal(ringio_produce(&p, v, 3, &n), 3);
    assert_false(n);
    /* Arming while entries are there: returns them, the producer does not notify. */
    assert_int_equal(ringio_cons_arm(&c, 1), 6);
    assert_int_equal(ringio_produce_one(&p, v, &n), 1);
    assert_false(n);
    assert_int_equal(ringio_consume(&c, v, 16, NULL), 7);
    /* want = 4: batches of 1 and 2 do not wake, the one reaching 4 does. */
    assert_int_equal(ringio_cons_arm(&c, 4), 0);
    assert_int_equal(ringio_produce_one(&p, v, &n), 1);
    assert_false(n);
    assert_int_equal(ringio_produce(&p, v, 2, &n), 2);
    assert_false(n);
    assert_int_equal(ringio_produce(&p, v, 5, &n), 5);
    assert_true(n);
    /* Exactly the want-th entry wakes: arm(4), then four single publishes. */
    assert_int_equal(ringio_consume(&c, v, 16, NULL), 8);
    assert_int_equal(ringio_cons_arm(&c, 4), 0);
    assert_int_equal(r.hdr->prod_event, r.hdr->cons + 3);
    for (int i = 1; i <= 4; i++) {
        assert_int_equal(ringio_produce_one(&p, v, &n), 1);
        assert_int_equal(n, i == 4);
    }
    assert_int_equal(ringio_consume(&c, v, 16, NULL), 4);
    assert_int_equal(ringio_cons_arm(&c, 1), 0);
    assert_int_equal(r.hdr->prod_event, r.hdr->cons);
    assert_int_equal(ringio_produce(&p, v, 8, NULL), 8);
    assert_int_equal(ringio_cons_arm(&c, 17), RINGIO_EINVAL);
    assert_int_equal(ringio_cons_arm(&c, 0), RINGIO_EINVAL);
    assert_int_equal(ringio_cons_arm(&c, 16), 8);
    /* Polling publish (notify NULL) neither reads nor reports events. */
    assert_int_equal(ringio_produce(&p, v, 1, NULL), 1);
    ring_free(&r);
}

/* Consumer notifications follow the producer's arm requests (waiting for space). */
TEST(test_notify_consumer)
{
    struct ring r = ring_new(3, 8, 0x7ffffffeu);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t v[8] = { 0 };
    bool n;

    assert_int_equal(ringio_produce(&p, v, 8, NULL), 8);
    assert_int_equal(ringio_produce_one(&p, v, NULL), 0);
    assert_int_equal(ringio_prod_arm(&p, 1), 0); /* full: may sleep */
    assert_int_equal(r.hdr->cons_event, r.hdr->cons); /* the next entry consumed */
    assert_int_equal(ringio_consume_one(&c, v, &n), 1);
    assert_true(n);
    assert_int_equal(ringio_consume_one(&c, v, &n), 1);
    assert_false(n);
    assert_int_equal(ringio_produce(&p, v, 2, NULL), 2);
    assert_int_equal(ringio_prod_arm(&p, 3), 0); /* wants 3 free */
    assert_int_equal(ringio_consume(&c, v, 2, &n), 2);
    assert_false(n);
    assert_int_equal(ringio_consume(&c, v, 2, &n), 2);
    assert_true(n);
    assert_int_equal(ringio_prod_arm(&p, 2), 4); /* enough already */
    /* Exactly the want-th freed slot wakes: fill, arm(3), three single consumes. */
    assert_int_equal(ringio_produce(&p, v, 4, NULL), 4);
    assert_int_equal(ringio_prod_arm(&p, 3), 0);
    assert_int_equal(r.hdr->cons_event, r.hdr->cons + 2);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(ringio_consume_one(&c, v, &n), 1);
        assert_int_equal(n, i == 3);
    }
    assert_int_equal(ringio_prod_arm(&p, 9), RINGIO_EINVAL);
    assert_int_equal(ringio_prod_arm(&p, 0), RINGIO_EINVAL);
    /* read + publish: one check for the whole batch */
    assert_int_equal(ringio_prod_arm(&p, 8), 3);
    assert_int_equal(ringio_cons_read(&c, v, 3), 3);
    assert_int_equal(ringio_cons_read(&c, v, 3), 2);
    assert_int_equal(ringio_cons_publish(&c, &n), 0);
    assert_true(n);
    ring_free(&r);
}

/* The notify flag of either side, for random events and moves, matches the rule. */
TEST(test_notify_random)
{
    rng_seed(11);
    for (int round = 0; round < 50; round++) {
        uint32_t start = (uint32_t)rng();
        struct ring r = ring_new(5, 8, start);
        struct ringio_prod p;
        struct ringio_cons c;
        attach_both(&r, &p, &c);
        uint64_t v[32] = { 0 };
        for (int s = 0; s < 500; s++) {
            bool n;
            uint32_t k = rng_below(33);
            if (rng_below(2)) {
                uint32_t ev = rng_below(3) ? r.hdr->prod + rng_below(40) : (uint32_t)rng();
                r.hdr->prod_event = ev;
                uint32_t old = r.hdr->prod;
                int m = ringio_produce(&p, v, k, &n);
                assert_true(m >= 0);
                assert_int_equal(n, m > 0 && crossed_ref(ev, old, old + (uint32_t)m));
            } else {
                uint32_t ev = rng_below(3) ? r.hdr->cons + rng_below(40) : (uint32_t)rng();
                r.hdr->cons_event = ev;
                uint32_t old = r.hdr->cons;
                int m = ringio_consume(&c, v, k, &n);
                assert_true(m >= 0);
                assert_int_equal(n, m > 0 && crossed_ref(ev, old, old + (uint32_t)m));
            }
        }
        ring_free(&r);
    }
}

/* ---- hostile peers ------------------------------------------------------------------ */

TEST(test_hostile_prod_index)
{
    struct ring r = ring_new(3, 8, 1000);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t v[16];

    r.hdr->prod = 1000 + 8; /* full: fine */
    assert_int_equal(ringio_cons_avail(&c), 8);
    assert_int_equal(ringio_consume(&c, v, 3, NULL), 3);
    r.hdr->prod = 1003 + 9; /* cons 1003 + 9 > size */
    assert_int_equal(ringio_cons_avail(&c), RINGIO_BROKEN);
    assert_true(ringio_cons_broken(&c));
    assert_int_equal(ringio_cons_fault(&c), RINGIO_FAULT_PROD_INDEX);
    /* sticky, even once the index looks sane again, and nothing is touched */
    r.hdr->prod = 1004;
    uint32_t cons_before = r.hdr->cons;
    assert_int_equal(ringio_consume(&c, v, 1, NULL), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_read(&c, v, 1), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_publish(&c, NULL), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_arm(&c, 1), RINGIO_BROKEN);
    assert_int_equal(r.hdr->cons, cons_before);
    ringio_cons_disconnect(&c);
    assert_int_equal(ringio_cons_fault(&c), RINGIO_FAULT_PROD_INDEX); /* first cause kept */

    /* Backwards, and far ahead, on fresh handles. */
    static const uint32_t bad[] = { 1002, 1004, 0, 1000 + 12, 1000 + 0x80000000u, 999 };
    for (size_t i = 0; i < N(bad); i++) {
        ringio_hdr_reset(r.hdr, 1000);
        attach_both(&r, &p, &c);
        r.hdr->prod = 1004;
        assert_int_equal(ringio_consume(&c, v, 1, NULL), 1); /* sees 4, takes 1 */
        r.hdr->prod = bad[i];
        int got = ringio_consume(&c, v, 16, NULL);
        if (bad[i] == 1004) { /* same index: fine */
            assert_int_equal(got, 3);
            continue;
        }
        assert_int_equal(got, RINGIO_BROKEN);
        assert_int_equal(ringio_cons_fault(&c), RINGIO_FAULT_PROD_INDEX);
    }
    ring_free(&r);
}

TEST(test_hostile_cons_index)
{
    struct ring r = ring_new(3, 8, UINT32_MAX - 1);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    const uint32_t s = UINT32_MAX - 1;
    uint64_t v[8] = { 0 };

    assert_int_equal(ringio_produce(&p, v, 5, NULL), 5);
    assert_int_equal(ringio_prod_write(&p, v, 2), 2); /* unpublished */
    r.hdr->cons = s + 5; /* consumed everything published: fine */
    assert_int_equal(ringio_prod_space(&p), 6);
    r.hdr->cons = s + 6; /* claims one that was written but never published */
    assert_int_equal(ringio_prod_space(&p), RINGIO_BROKEN);
    assert_int_equal(ringio_prod_fault(&p), RINGIO_FAULT_CONS_INDEX);
    uint32_t prod_before = r.hdr->prod;
    assert_int_equal(ringio_prod_publish(&p, NULL), RINGIO_BROKEN);
    assert_int_equal(ringio_produce_one(&p, v, NULL), RINGIO_BROKEN);
    assert_int_equal(ringio_prod_arm(&p, 1), RINGIO_BROKEN);
    assert_int_equal(r.hdr->prod, prod_before);

    /* Backwards. */
    ringio_hdr_reset(r.hdr, s);
    attach_both(&r, &p, &c);
    assert_int_equal(ringio_produce(&p, v, 8, NULL), 8);
    r.hdr->cons = s + 4;
    assert_int_equal(ringio_prod_space(&p), 4);
    r.hdr->cons = s + 3;
    assert_int_equal(ringio_prod_arm(&p, 1), RINGIO_BROKEN);
    assert_int_equal(ringio_prod_fault(&p), RINGIO_FAULT_CONS_INDEX);
    ring_free(&r);
}

/* After disconnect, no call touches shared memory: free it and let ASan watch. */
TEST(test_disconnect)
{
    struct ring r = ring_new(3, 8, 0);
    struct ringio_prod p;
    struct ringio_cons c;
    attach_both(&r, &p, &c);
    uint64_t v[8] = { 0 };
    bool n = true;
    assert_int_equal(ringio_produce(&p, v, 4, NULL), 4);
    assert_int_equal(ringio_prod_write(&p, v, 1), 1);
    assert_int_equal(ringio_cons_read(&c, v, 1), 1);
    ringio_prod_disconnect(&p);
    ringio_cons_disconnect(&c);
    ring_free(&r);
    assert_int_equal(ringio_prod_fault(&p), RINGIO_FAULT_DISCONNECTED);
    assert_int_equal(ringio_cons_fault(&c), RINGIO_FAULT_DISCONNECTED);
    assert_int_equal(ringio_produce(&p, v, 4, &n), RINGIO_BROKEN);
    assert_false(n);
    n = true;
    assert_int_equal(ringio_produce_one(&p, v, &n), RINGIO_BROKEN);
    assert_int_equal(ringio_prod_write(&p, v, 1), RINGIO_BROKEN);
    assert_int_equal(ringio_prod_publish(&p, &n), RINGIO_BROKEN);
    assert_false(n);
    assert_int_equal(ringio_prod_space(&p), RINGIO_BROKEN);
    assert_int_equal(ringio_prod_arm(&p, 1), RINGIO_BROKEN);
    n = true;
    assert_int_equal(ringio_consume(&c, v, 4, &n), RINGIO_BROKEN);
    assert_false(n);
    assert_int_equal(ringio_consume_one(&c, v, NULL), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_read(&c, v, 1), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_publish(&c, &n), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_avail(&c), RINGIO_BROKEN);
    assert_int_equal(ringio_cons_arm(&c, 1), RINGIO_BROKEN);
}

/*
 * The consumer against a producer that writes garbage. The test plays the producer by
 * writing hdr->prod (sometimes valid, sometimes not), entries, and even the consumer's
 * own hdr->cons and both events. A model predicts, for each call, whether it re-reads
 * hdr->prod (the handle caches the last valid value), whether the value it reads is
 * possible, what it returns and which bytes it copies.
 */
static void hostile_consumer_round(uint32_t order, uint32_t esize)
{
    uint32_t start = rng_below(4) ? (uint32_t)rng() : UINT32_MAX - rng_below(64);
    struct ring r = ring_new(order, esize, start);
    uint32_t size = r.size;
    size_t bytes = ringio_ents_bytes(order, esize);
    struct ringio_cons c;
    assert_int_equal(ringio_cons_attach(&c, r.hdr, r.ents, order, esize), 0);
    uint32_t cons = start, seen = start, pub = start; /* the model */
    bool broken = false;
    unsigned char *snap = malloc(bytes), *dst = malloc((size_t)esize * (size + 4) + 16);

    for (int step = 0; step < 400; step++) {
        /* The hostile producer's move. */
        switch (rng_below(8)) {
        case 0: r.hdr->prod = (uint32_t)rng(); break;                     /* anything */
        case 1: r.hdr->prod = cons + size + 1 + rng_below(8); break;      /* just too many */
        case 2: r.hdr->prod = seen - 1 - rng_below(4); break;             /* backwards */
        case 3: r.hdr->cons = (uint32_t)rng(); break;                     /* not its index */
        case 4: r.hdr->prod_event = (uint32_t)rng();
                r.hdr->cons_event = (uint32_t)rng(); break;
        default: r.hdr->prod = seen + rng_below(cons + size - seen + 1); break; /* valid */
        }
        for (uint32_t k = rng_below(4); k > 0; k--)
            r.ents[rng_below((uint32_t)bytes)] = (unsigned char)rng();
        memcpy(snap, r.ents, bytes);
        uint32_t prod_now = r.hdr->prod, cons_event = r.hdr->cons_event;

        /* The consumer's call, and the model's prediction. */
        uint32_t n = rng_below(size + 4), op = rng_below(6);
        bool rereads = op == 3 || op == 4 || (op <= 2 && seen - cons < (op == 0 ? 1 : n));
        bool impossible = (uint32_t)(prod_now - cons) > size ||
                          (uint32_t)(prod_now - cons) < (uint32_t)(seen - cons);
        memset(dst, 0xee, (size_t)esize * (size + 4) + 16);
        bool notify = false;
        int got;
        switch (op) {
        case 0: got = ringio_consume_one(&c, dst, &notify); n = 1; break;
        case 1: got = ringio_consume(&c, dst, n, &notify); break;
        case 2: got = ringio_cons_read(&c, dst, n); break;
        case 3: got = ringio_cons_avail(&c); break;
        case 4: got = ringio_cons_arm(&c, 1 + rng_below(size)); break;
        default: got = ringio_cons_publish(&c, &notify); break;
        }
        if (broken || (rereads && impossible)) {
            broken = true;
            assert_int_equal(got, RINGIO_BROKEN);
            assert_true(ringio_cons_broken(&c));
            assert_int_equal(ringio_cons_fault(&c), RINGIO_FAULT_PROD_INDEX);
            assert_false(notify);
            continue;
        }
        assert_false(ringio_cons_broken(&c));
        if (rereads)
            seen = prod_now;
        assert_true(got >= 0 && (uint32_t)got <= size);
        assert_true((uint32_t)(seen - cons) <= size);
        if (op == 3 || op == 4) {
            assert_int_equal(got, seen - cons);
            continue;
        }
        if (op == 5) {
            assert_int_equal(notify, pub != cons && crossed_ref(cons_event, pub, cons));
            if (pub != cons)
                assert_int_equal(r.hdr->cons, cons);
            pub = cons;
            continue;
        }
        uint32_t want = n < seen - cons ? n : seen - cons;
        assert_int_equal(got, want);
        for (uint32_t i = 0; i < want; i++)
            assert_memory_equal(dst + (size_t)i * esize,
                                snap + (size_t)((cons + i) & (size - 1)) * esize, esize);
        for (size_t i = (size_t)want * esize; i < (size_t)esize * (size + 4) + 16; i++)
            assert_int_equal(dst[i], 0xee);
        cons += want;
        if (op <= 1) { /* produce/consume publish what they moved */
            assert_int_equal(notify, pub != cons && crossed_ref(cons_event, pub, cons));
            if (pub != cons)
                assert_int_equal(r.hdr->cons, cons);
            pub = cons;
        }
    }
    free(snap);
    free(dst);
    ring_free(&r);
}

/* The producer against a consumer that writes garbage into hdr->cons and the rest. */
static void hostile_producer_round(uint32_t order, uint32_t esize)
{
    uint32_t start = rng_below(4) ? (uint32_t)rng() : UINT32_MAX - rng_below(64);
    struct ring r = ring_new(order, esize, start);
    uint32_t size = r.size;
    size_t bytes = ringio_ents_bytes(order, esize);
    struct ringio_prod p;
    assert_int_equal(ringio_prod_attach(&p, r.hdr, r.ents, order, esize), 0);
    uint32_t prod = start, pub = start, seen = start; /* the model; seen = consumer index */
    bool broken = false;
    unsigned char *snap = malloc(bytes), *src = malloc((size_t)esize * (size + 4));

    for (int step = 0; step < 400; step++) {
        switch (rng_below(8)) {
        case 0: r.hdr->cons = (uint32_t)rng(); break;
        case 1: r.hdr->cons = pub + 1 + rng_below(8); break;          /* past the published */
        case 2: r.hdr->cons = seen - 1 - rng_below(4); break;         /* backwards */
        case 3: r.hdr->prod = (uint32_t)rng(); break;                 /* not its index */
        case 4: r.hdr->prod_event = (uint32_t)rng();
                r.hdr->cons_event = (uint32_t)rng(); break;
        default: r.hdr->cons = seen + rng_below(pub - seen + 1); break; /* valid */
        }
        for (uint32_t k = rng_below(3); k > 0; k--)
            r.ents[rng_below((uint32_t)bytes)] = (unsigned char)rng();
        memcpy(snap, r.ents, bytes);
        uint32_t cons_now = r.hdr->cons, prod_event = r.hdr->prod_event;
        for (size_t i = 0; i < (size_t)esize * (size + 4); i++)
            src[i] = (unsigned char)rng();

        uint32_t n = rng_below(size + 4), op = rng_below(6);
        uint32_t free_cached = size - (prod - seen);
        bool rereads = op == 3 || op == 4 || (op <= 2 && free_cached < (op == 0 ? 1 : n));
        bool impossible = (uint32_t)(cons_now - seen) > (uint32_t)(pub - seen);
        bool notify = false;
        int got;
        switch (op) {
        case 0: got = ringio_produce_one(&p, src, &notify); n = 1; break;
        case 1: got = ringio_produce(&p, src, n, &notify); break;
        case 2: got = ringio_prod_write(&p, src, n); break;
        case 3: got = ringio_prod_space(&p); break;
        case 4: got = ringio_prod_arm(&p, 1 + rng_below(size)); break;
        default: got = ringio_prod_publish(&p, &notify); break;
        }
        if (broken || (rereads && impossible)) {
            broken = true;
            assert_int_equal(got, RINGIO_BROKEN);
            assert_int_equal(ringio_prod_fault(&p), RINGIO_FAULT_CONS_INDEX);
            assert_false(notify);
            assert_memory_equal(snap, r.ents, bytes); /* wrote nothing */
            continue;
        }
        if (rereads)
            seen = cons_now;
        assert_true(got >= 0 && (uint32_t)got <= size);
        if (op == 3 || op == 4) {
            assert_int_equal(got, size - (prod - seen));
            assert_memory_equal(snap, r.ents, bytes);
            continue;
        }
        if (op == 5) {
            assert_int_equal(notify, pub != prod && crossed_ref(prod_event, pub, prod));
            if (pub != prod)
                assert_int_equal(r.hdr->prod, prod);
            pub = prod;
            continue;
        }
        uint32_t space = size - (prod - seen);
        uint32_t want = n < space ? n : space;
        assert_int_equal(got, want);
        /* exactly the slots prod .. prod + want - 1 changed, to the source entries */
        for (uint32_t i = 0; i < want; i++) {
            size_t slot = (size_t)((prod + i) & (size - 1)) * esize;
            assert_memory_equal(r.ents + slot, src + (size_t)i * esize, esize);
            memcpy(snap + slot, src + (size_t)i * esize, esize);
        }
        assert_memory_equal(snap, r.ents, bytes);
        prod += want;
        if (op <= 1) { /* produce/consume publish what they moved */
            assert_int_equal(notify, pub != prod && crossed_ref(prod_event, pub, prod));
            if (pub != prod)
                assert_int_equal(r.hdr->prod, prod);
            pub = prod;
        }
    }
    free(snap);
    free(src);
    ring_free(&r);
}

TEST(test_hostile_random)
{
    rng_seed(0x5eed1234);
    for (int round = 0; round < 300; round++) {
        uint32_t order = rng_below(7), esize = 1 + rng_below(24);
        hostile_consumer_round(order, esize);
        hostile_producer_round(order, esize);
    }
}

/* ---- two threads -------------------------------------------------------------------- */

struct item {
    uint64_t seq;
    uint64_t check; /* a function of seq: a torn or stale entry shows */
};
#define CHECK(s) ((s) * 0x9e3779b97f4a7c15ull ^ 0xa5a5a5a5a5a5a5a5ull)

enum mode { POLL_ONE, POLL_BURST, SLEEP_ONE, SLEEP_BURST };
#define SLEEPS(m) ((m) == SLEEP_ONE || (m) == SLEEP_BURST)
#define BURSTS(m) ((m) == POLL_BURST || (m) == SLEEP_BURST)

struct stress {
    struct ringio_prod p;
    struct ringio_cons c;
    enum mode mode;
    uint64_t total;
    sem_t items, spaces;            /* notifications, SLEEP_* only */
    sem_t done;                     /* posted by each worker when it returns */
    volatile int stop;              /* a failing thread tells the other to give up */
    const char *error;
    uint64_t bad_seq, got, sleeps, kicks;
};

static void stress_fail(struct stress *s, const char *why)
{
    if (s->error == NULL)
        s->error = why;
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
}

static bool stopped(struct stress *s) { return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); }

/* <sched.h> is shadowed by hypervisor/sched.h on the unit-test include path. */
int sched_yield(void);

/*
 * A polling thread that keeps finding the ring full or empty pauses, and every 64 tries
 * yields the CPU: the threads are not pinned, and when the kernel puts both on one CPU a
 * pure spin would wait out a whole time slice for every lap of the ring.
 */
static void backoff(unsigned *fails)
{
    __builtin_ia32_pause();
    if ((++*fails & 63) == 0)
        sched_yield();
}

static struct timespec deadline_in(int secs)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    struct timespec t = { now.tv_sec + secs, now.tv_usec * 1000 };
    return t;
}

/* Wait for a notification, at most 10 s: a lost wake-up fails instead of hanging. */
static bool wait_kick(struct stress *s, sem_t *sem)
{
    struct timespec t = deadline_in(10);
    while (sem_timedwait(sem, &t) != 0) {
        if (errno == EINTR)
            continue;
        stress_fail(s, "lost wake-up: no notification within 10 s");
        return false;
    }
    return true;
}

static void *stress_producer(void *arg)
{
    struct stress *s = arg;
    struct item b[32];
    uint64_t seq = 0;
    uint64_t x = 0x1234567;
    unsigned fails = 0;
    while (seq < s->total && !stopped(s)) {
        uint32_t n = 1;
        if (BURSTS(s->mode)) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            n = 1 + (uint32_t)(x % 32);
        }
        if (n > s->total - seq)
            n = (uint32_t)(s->total - seq);
        for (uint32_t i = 0; i < n; i++)
            b[i] = (struct item){ seq + i, CHECK(seq + i) };
        bool kick = false;
        bool *notify = SLEEPS(s->mode) ? &kick : NULL;
        int got = n == 1 ? ringio_produce_one(&s->p, b, notify)
                         : ringio_produce(&s->p, b, n, notify);
        if (got < 0) {
            stress_fail(s, "producer: ring broken");
            break;
        }
        if (kick) {
            s->kicks++;
            sem_post(&s->items);
        }
        seq += (uint64_t)got;
        if (got == 0 && !SLEEPS(s->mode))
            backoff(&fails);
        if (got == 0 && SLEEPS(s->mode)) {
            /* full: ask for a notification when 8 slots are free, look again, sleep */
            int space = ringio_prod_arm(&s->p, 8);
            if (space < 0) {
                stress_fail(s, "producer: arm failed");
                break;
            }
            if (space < 8 && !wait_kick(s, &s->spaces))
                break;
        }
    }
    sem_post(&s->done);
    return NULL;
}

static void *stress_consumer(void *arg)
{
    struct stress *s = arg;
    struct item b[32];
    uint64_t next = 0;
    uint64_t x = 0x7654321;
    unsigned fails = 0;
    while (next < s->total && !stopped(s)) {
        uint32_t n = 1;
        if (BURSTS(s->mode)) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            n = 1 + (uint32_t)(x % 32);
        }
        bool kick = false;
        bool *notify = SLEEPS(s->mode) ? &kick : NULL;
        int got = n == 1 ? ringio_consume_one(&s->c, b, notify)
                         : ringio_consume(&s->c, b, n, notify);
        if (got < 0) {
            stress_fail(s, "consumer: ring broken");
            break;
        }
        if (kick)
            sem_post(&s->spaces);
        for (int i = 0; i < got; i++) {
            if (b[i].seq != next || b[i].check != CHECK(next)) {
                s->bad_seq = b[i].seq;
                stress_fail(s, "consumer: entry lost, duplicated, reordered or torn");
                break;
            }
            next++;
        }
        if (got == 0 && !SLEEPS(s->mode))
            backoff(&fails);
        if (got == 0 && SLEEPS(s->mode)) {
            int avail = ringio_cons_arm(&s->c, 1);
            if (avail < 0) {
                stress_fail(s, "consumer: arm failed");
                break;
            }
            if (avail == 0) {
                s->sleeps++;
                if (!wait_kick(s, &s->items))
                    break;
            }
        }
    }
    s->got = next;
    sem_post(&s->done);
    return NULL;
}

static void stress_run(enum mode mode, uint32_t order, uint32_t start, uint64_t total)
{
    struct ring r = ring_new(order, sizeof(struct item), start);
    struct stress *s = calloc(1, sizeof(*s));
    assert_int_equal(ringio_prod_attach(&s->p, r.hdr, r.ents, order, sizeof(struct item)), 0);
    assert_int_equal(ringio_cons_attach(&s->c, r.hdr, r.ents, order, sizeof(struct item)), 0);
    s->mode = mode;
    s->total = total;
    sem_init(&s->items, 0, 0);
    sem_init(&s->spaces, 0, 0);
    sem_init(&s->done, 0, 0);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    pthread_t tp, tc;
    assert_int_equal(pthread_create(&tc, NULL, stress_consumer, s), 0);
    assert_int_equal(pthread_create(&tp, NULL, stress_producer, s), 0);
    /* A watchdog instead of a hang: both workers must be done within 60 s. */
    struct timespec deadline = deadline_in(60);
    for (int w = 0; w < 2; w++)
        while (sem_timedwait(&s->done, &deadline) != 0 && errno == EINTR)
            ;
    if (!stopped(s) && s->got != total)
        stress_fail(s, "timed out (60 s): entries lost or a thread stuck");
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    gettimeofday(&t1, NULL);
    if (s->error != NULL)
        fail_msg("%s (at %llu of %llu, entry seq %llu)", s->error, (unsigned long long)s->got,
                 (unsigned long long)total, (unsigned long long)s->bad_seq);
    assert_int_equal(s->got, total);
    assert_int_equal(r.hdr->prod, (uint32_t)(start + total));
    assert_int_equal(r.hdr->cons, (uint32_t)(start + total));
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6;
    print_message("    %llu entries in %.2f s", (unsigned long long)total, secs);
    if (SLEEPS(mode))
        print_message("; the consumer slept %llu times, the producer kicked %llu times",
                      (unsigned long long)s->sleeps, (unsigned long long)s->kicks);
    print_message("\n");
    sem_destroy(&s->items);
    sem_destroy(&s->spaces);
    sem_destroy(&s->done);
    free(s);
    ring_free(&r);
}

TEST(test_stress_poll_single) { stress_run(POLL_ONE, 10, UINT32_MAX - 1000, STRESS_N); }
TEST(test_stress_poll_burst) { stress_run(POLL_BURST, 6, 0x7fffff00u, STRESS_N); }
TEST(test_stress_sleep_one) { stress_run(SLEEP_ONE, 3, 0xfffff000u, STRESS_N / 16); }
TEST(test_stress_sleep_burst) { stress_run(SLEEP_BURST, 6, UINT32_MAX - 5, STRESS_N / 2); }

/* A request/response pair on two threads: the back end echoes requests as responses. */
struct pair_stress {
    struct ringio_front f;
    struct ringio_back b;
    uint64_t total;
    volatile int stop;
    const char *error;
};

static void *pair_back(void *arg)
{
    struct pair_stress *s = arg;
    uint64_t next = 0;
    struct req in[16];
    unsigned fails = 0;
    while (next < s->total && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        int got = ringio_consume(&s->b.req, in, N(in), NULL);
        if (got < 0) {
            s->error = "back: broken";
            break;
        }
        if (got == 0)
            backoff(&fails);
        for (int i = 0; i < got; i++) {
            if (in[i].id != next || in[i].arg[6] != ~next) {
                s->error = "back: bad request";
                __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
                return NULL;
            }
            struct rsp out = { in[i].id, (int64_t)(in[i].id * 3) };
            int put;
            while ((put = ringio_produce_one(&s->b.rsp, &out, NULL)) == 0) {
                if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
                    return NULL;
                backoff(&fails);
            }
            if (put < 0) {
                s->error = "back: rsp broken";
                return NULL;
            }
            next++;
        }
    }
    return NULL;
}

TEST(test_stress_pair)
{
    struct ringio_pair_layout l;
    uint32_t order = (uint32_t)ringio_pair_fit(4096, sizeof(struct req), sizeof(struct rsp));
    assert_int_equal(ringio_pair_layout_init(&l, order, sizeof(struct req), order,
                                             sizeof(struct rsp)), 0);
    void *page = aligned_alloc(4096, 4096);
    ringio_pair_reset(page, &l, UINT32_MAX - 3);
    struct pair_stress *s = calloc(1, sizeof(*s));
    assert_int_equal(ringio_front_attach(&s->f, page, &l), 0);
    assert_int_equal(ringio_back_attach(&s->b, page, &l), 0);
    s->total = STRESS_N / 8;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pair_back, s), 0);
    uint64_t sent = 0, received = 0, spins = 0;
    unsigned fails = 0;
    struct timeval start, now;
    gettimeofday(&start, NULL);
    while (received < s->total && s->error == NULL) {
        if ((++spins & 0xffff) == 0) {
            gettimeofday(&now, NULL);
            if (now.tv_sec - start.tv_sec > 60) {
                s->error = "timed out (60 s): responses lost or the back end stuck";
                break;
            }
        }
        struct req rq[8];
        uint32_t k = 0;
        while (k < 8 && sent + k < s->total) {
            rq[k] = (struct req){ sent + k, { 0, 0, 0, 0, 0, 0, ~(sent + k) } };
            k++;
        }
        int m = ringio_produce(&s->f.req, rq, k, NULL);
        struct rsp rs[8];
        int got = m < 0 ? m : ringio_consume(&s->f.rsp, rs, N(rs), NULL);
        if (got < 0) {
            s->error = "front: broken";
            break;
        }
        sent += (uint64_t)m;
        if (m == 0 && got == 0)
            backoff(&fails);
        for (int i = 0; i < got && s->error == NULL; i++, received++)
            if (rs[i].id != received || rs[i].status != (int64_t)(received * 3))
                s->error = "front: response out of order";
    }
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    if (s->error)
        fail_msg("%s", s->error);
    assert_int_equal(received, s->total);
    free(s);
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_attach_errors),
        cmocka_unit_test(test_full_empty),
        cmocka_unit_test(test_order0),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_wraparound_u32),
        cmocka_unit_test(test_burst_partial),
        cmocka_unit_test(test_borrow),
        cmocka_unit_test(test_write_read_publish),
        cmocka_unit_test(test_typed),
        cmocka_unit_test(test_pair_page),
        cmocka_unit_test(test_event_table),
        cmocka_unit_test(test_notify_producer),
        cmocka_unit_test(test_notify_consumer),
        cmocka_unit_test(test_notify_random),
        cmocka_unit_test(test_hostile_prod_index),
        cmocka_unit_test(test_hostile_cons_index),
        cmocka_unit_test(test_disconnect),
        cmocka_unit_test(test_hostile_random),
        cmocka_unit_test(test_stress_poll_single),
        cmocka_unit_test(test_stress_poll_burst),
        cmocka_unit_test(test_stress_sleep_one),
        cmocka_unit_test(test_stress_sleep_burst),
        cmocka_unit_test(test_stress_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
