/*
 * tests/unit/test_sched_policy.c: host cmocka tests for hypervisor/sched_policy.c.
 *
 * A fake clock drives the policy the way sched.c will: pick at `now`, run the entity
 * (or idle) for the returned slice, charge it, advance the clock. Every step checks the
 * slice rules (never longer than SCHED_SLICE_NS, never across a period end, only
 * runnable entities picked, idle only when no uncapped entity is runnable) and keeps
 * its own per-period accounting so that caps are checked independently of the policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sched_policy.h" /* hypervisor/sched_policy.h */

#define MS     1000000ull
#define SEC    1000000000ull
#define PERIOD SCHED_PERIOD_NS
#define SLICE  SCHED_SLICE_NS
#define MAXE   64

struct sim {
    struct sched_policy p;
    struct sched_entity e[MAXE];
    int n;
    uint64_t t0, now;
    struct sched_entity *prev;
    uint64_t ran[MAXE];       /* CPU time seen by the driver */
    uint64_t idle_ns;
    uint64_t per_used[MAXE];  /* driver's own use count in the period `per_idx` */
    uint64_t per_idx;
    uint64_t picks;
};

static struct sim S;

/* Fresh policy at t0 with n added entities of the given weight, all blocked. */
static void sim_init(struct sim *s, uint64_t t0, int n, uint16_t weight)
{
    memset(s, 0, sizeof(*s));
    s->t0 = s->now = t0;
    s->n = n;
    policy_init(&s->p, t0);
    for (int i = 0; i < n; i++) {
        s->e[i].weight = weight;
        policy_add(&s->p, &s->e[i]);
    }
}

static int idx(struct sim *s, struct sched_entity *e)
{
    assert_true(e >= s->e && e < s->e + s->n);
    return (int)(e - s->e);
}

static uint64_t period_end(struct sim *s)
{
    return s->t0 + ((s->now - s->t0) / PERIOD + 1) * PERIOD;
}

/* Independent cap limit for entity i, UINT64_MAX when uncapped. */
static uint64_t cap_limit(struct sim *s, int i)
{
    return s->e[i].cap ? PERIOD * s->e[i].cap / 100 : UINT64_MAX;
}

/* Pick at now and check the slice rules; returns the entity (or NULL) and its slice. */
static struct sched_entity *sim_pick(struct sim *s, uint64_t *slice)
{
    *slice = 12345; /* must be overwritten */
    struct sched_entity *e = policy_pick(&s->p, s->now, s->prev, slice);
    s->picks++;
    assert_true(*slice <= SLICE || (!e && *slice <= PERIOD));
    assert_true(s->now + *slice <= period_end(s));
    uint64_t pi = (s->now - s->t0) / PERIOD;
    if (pi != s->per_idx) {
        memset(s->per_used, 0, sizeof(s->per_used));
        s->per_idx = pi;
    }
    if (e) {
        int i = idx(s, e);
        assert_true(e->runnable);
        assert_true(e->queued);
        assert_true(*slice > 0);
        assert_true(s->per_used[i] < cap_limit(s, i));
    } else {
        for (int i = 0; i < s->n; i++) {
            if (!s->e[i].queued || !s->e[i].runnable)
                continue;
            assert_int_not_equal(s->e[i].cap, 0); /* never idle next to an uncapped one */
            assert_true(s->per_used[i] >= cap_limit(s, i));
            assert_int_not_equal(*slice, 0);
        }
    }
    return e;
}

/* Run e for ran ns (or idle when e is NULL) and charge it. */
static void sim_run(struct sim *s, struct sched_entity *e, uint64_t ran)
{
    s->now += ran;
    if (!e) {
        s->idle_ns += ran;
        return;
    }
    int i = idx(s, e);
    s->ran[i] += ran;
    s->per_used[i] += ran;
    assert_true(s->per_used[i] <= cap_limit(s, i));
    policy_charge(&s->p, e, ran, s->now);
    s->prev = e;
}

/* One full decision: pick, run the whole slice. Returns the entity picked. */
static struct sched_entity *sim_step(struct sim *s)
{
    uint64_t slice;
    struct sched_entity *e = sim_pick(s, &slice);
    assert_true(e || slice > 0); /* the callers keep something runnable */
    sim_run(s, e, slice);
    return e;
}

/* Step until now reaches until. */
static void sim_until(struct sim *s, uint64_t until)
{
    while (s->now < until)
        sim_step(s);
}

static void sim_reset_counts(struct sim *s)
{
    memset(s->ran, 0, sizeof(s->ran));
    s->idle_ns = 0;
}

/* Entity i's share of the time since the last reset, in units of 0.01 %. */
static uint64_t share_bp(struct sim *s, int i, uint64_t span)
{
    return s->ran[i] * 10000 / span;
}

#define assert_share(s, i, span, pct, tol_pct)                                   \
    assert_in_range(share_bp((s), (i), (span)), (pct) * 100 - (tol_pct) * 100, \
                    (pct) * 100 + (tol_pct) * 100)

/* ---- tests ---- */

static void test_single_entity_gets_everything(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 1, 256);
    policy_set_runnable(&s->p, &s->e[0], true);
    sim_until(s, 3 * SEC);
    assert_int_equal(s->ran[0], 3 * SEC);
    assert_int_equal(s->idle_ns, 0);
    assert_int_equal(s->e[0].total_ns, 3 * SEC);
}

static void test_two_equal_weights_split_evenly(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 777, 2, 256);
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, 777 + 3 * SEC);
    assert_share(s, 0, 3 * SEC, 50, 2);
    assert_share(s, 1, 3 * SEC, 50, 2);
    assert_int_equal(s->idle_ns, 0);
}

static void test_weights_two_to_one(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 0);
    s->e[0].weight = 512;
    s->e[1].weight = 256;
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, 3 * SEC);
    assert_share(s, 0, 3 * SEC, 67, 3);
    assert_share(s, 1, 3 * SEC, 33, 3);
}

static void test_weight_zero_means_default(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 0);
    assert_int_equal(s->e[0].weight, SCHED_DEFAULT_WEIGHT);
    s->e[1].weight = SCHED_DEFAULT_WEIGHT;
    s->e[0].weight = 0; /* the owner may also write 0 later */
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, 3 * SEC);
    assert_share(s, 0, 3 * SEC, 50, 2);
}

static void test_added_entity_is_blocked_until_set_runnable(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 1, 256);
    uint64_t slice = 1;
    assert_null(policy_pick(&s->p, 0, NULL, &slice));
    assert_int_equal(slice, 0);
    policy_set_runnable(&s->p, &s->e[0], true);
    assert_ptr_equal(policy_pick(&s->p, 0, NULL, &slice), &s->e[0]);
    assert_int_equal(slice, SLICE);
}

static void test_blocked_never_picked_share_goes_to_others(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 3, 256);
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, 3 * SEC);
    assert_int_equal(s->ran[2], 0);
    assert_share(s, 0, 3 * SEC, 50, 2);
    assert_share(s, 1, 3 * SEC, 50, 2);
    /* Blocking one of three mid-run: the other two split its time. */
    policy_set_runnable(&s->p, &s->e[2], true);
    sim_until(s, 6 * SEC);
    policy_set_runnable(&s->p, &s->e[1], false);
    sim_reset_counts(s);
    sim_until(s, 9 * SEC);
    assert_int_equal(s->ran[1], 0);
    assert_share(s, 0, 3 * SEC, 50, 2);
    assert_share(s, 2, 3 * SEC, 50, 2);
    assert_int_equal(s->idle_ns, 0);
}

static void test_entity_woken_mid_run_gets_its_share(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 256);
    policy_set_runnable(&s->p, &s->e[0], true);
    sim_until(s, 1 * SEC + 7 * MS); /* mid-period */
    assert_int_equal(s->ran[1], 0);
    policy_set_runnable(&s->p, &s->e[1], true);
    uint64_t woke = s->now;
    /* It runs promptly, without waiting for the next refill. */
    while (s->ran[1] == 0)
        sim_step(s);
    assert_true(s->now - woke <= 2 * SLICE);
    sim_reset_counts(s);
    uint64_t from = s->now;
    sim_until(s, from + 3 * SEC);
    assert_share(s, 1, s->now - from, 50, 3);
}

static void test_wake_while_busy_peer_has_full_credit_no_starvation(void **state)
{
    (void)state;
    /* e1 is blocked at every refill (so gets no share there) and wakes mid-period next
     * to a busy e0 that holds the whole period's credit: it must still run at once. */
    struct sim *s = &S;
    sim_init(s, 0, 2, 256);
    policy_set_runnable(&s->p, &s->e[0], true);
    for (int per = 0; per < 100; per++) {
        uint64_t start = s->t0 + (uint64_t)per * PERIOD;
        sim_until(s, start + 10 * MS);
        policy_set_runnable(&s->p, &s->e[1], true);
        sim_until(s, start + 20 * MS);
        policy_set_runnable(&s->p, &s->e[1], false);
        sim_until(s, start + PERIOD);
    }
    assert_int_equal(s->ran[1], 100 * 10 * MS);
}

static void test_zero_credit_is_over(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 256);
    policy_set_runnable(&s->p, &s->e[0], true); /* alone: tops up to 30 ms */
    policy_set_runnable(&s->p, &s->e[1], true); /* 15 ms */
    policy_charge(&s->p, &s->e[0], 30 * MS, 29 * MS);
    assert_int_equal(s->e[0].credit_ns, 0);
    uint64_t slice;
    /* The scan starts at e0 (after prev e1), but e0 has no credit left. */
    assert_ptr_equal(policy_pick(&s->p, 29 * MS, &s->e[1], &slice), &s->e[1]);
    assert_int_equal(slice, 1 * MS);
}

static void test_over_entities_round_robin(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 4, 256);
    for (int i = 0; i < 4; i++)
        policy_set_runnable(&s->p, &s->e[i], true);
    for (int i = 0; i < 4; i++)
        s->e[i].credit_ns = -(int64_t)(i + 1); /* everyone "over" (white-box set-up) */
    policy_set_runnable(&s->p, &s->e[3], false);
    uint64_t slice;
    struct sched_entity *prev = &s->e[0];
    for (int k = 1; k <= 7; k++) {
        prev = policy_pick(&s->p, 1000, prev, &slice);
        assert_ptr_equal(prev, &s->e[k % 3]); /* e1, e2, e0, ...; blocked e3 skipped */
        assert_int_equal(slice, SLICE);
    }
}

static void test_wake_keeps_debt_once_share_is_used(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 256);
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true); /* 15 ms */
    policy_charge(&s->p, &s->e[1], 25 * MS, 25 * MS);
    assert_int_equal(s->e[1].credit_ns, -10 * (int64_t)MS);
    uint64_t slice;
    assert_non_null(policy_pick(&s->p, 30 * MS, NULL, &slice)); /* refill: -10 + 15 */
    assert_int_equal(s->e[1].credit_ns, 5 * (int64_t)MS);
    policy_charge(&s->p, &s->e[1], 20 * MS, 50 * MS);
    assert_int_equal(s->e[1].credit_ns, -15 * (int64_t)MS);
    policy_set_runnable(&s->p, &s->e[1], false);
    policy_set_runnable(&s->p, &s->e[1], true);
    assert_int_equal(s->e[1].credit_ns, -15 * (int64_t)MS);
}

static void test_block_wake_cycles_earn_no_extra_credit(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 256);
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, PERIOD);
    int64_t c = s->e[1].credit_ns;
    for (int i = 0; i < 10; i++) {
        policy_set_runnable(&s->p, &s->e[1], false);
        policy_set_runnable(&s->p, &s->e[1], true);
        policy_set_runnable(&s->p, &s->e[1], true);
    }
    assert_true(s->e[1].credit_ns <= (c > (int64_t)(PERIOD / 2) ? c : (int64_t)(PERIOD / 2)));
    sim_until(s, 3 * SEC);
    assert_share(s, 1, 3 * SEC, 50, 2);
}

static void test_cap_alone_gets_cap_and_cpu_idles(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 1, 256);
    s->e[0].cap = 25;
    policy_set_runnable(&s->p, &s->e[0], true);
    sim_until(s, 3 * SEC);
    assert_in_range(share_bp(s, 0, 3 * SEC), 2250, 2750);
    assert_in_range(s->idle_ns, 3 * SEC * 70 / 100, 3 * SEC * 80 / 100);
    /* The idle decision lasts exactly until the period ends. */
    uint64_t slice;
    sim_until(s, 3 * SEC + PERIOD / 4);
    assert_null(policy_pick(&s->p, s->now, s->prev, &slice));
    assert_int_equal(slice, PERIOD - PERIOD / 4);
    assert_ptr_equal(policy_pick(&s->p, s->now + slice, s->prev, &slice), &s->e[0]);
}

/* A capped entity whose slice ended late (the timer fired after its cap room ran out)
 * owes the excess in the next period: over many late periods it still gets its cap. */
static void test_cap_overrun_is_paid_back(void **state)
{
    (void)state;
    struct sched_policy p;
    struct sched_entity e = { .weight = 256, .cap = 25 };
    uint64_t now = 0, ran = 0, slice;
    policy_init(&p, 0);
    policy_add(&p, &e);
    policy_set_runnable(&p, &e, true);
    for (int period = 0; period < 100; period++) {
        uint64_t start = (uint64_t)period * PERIOD;
        now = start;
        struct sched_entity *got;
        while ((got = policy_pick(&p, now, &e, &slice)) == &e) {
            uint64_t run = slice + PERIOD / 10;     /* every slice ends 3 ms late */
            if (now + run > start + PERIOD)
                run = start + PERIOD - now;
            policy_charge(&p, &e, run, now + run);
            now += run, ran += run;
            if (now >= start + PERIOD)
                break;
        }
    }
    /* 25 % of 100 periods, within one period's worth of late slices. */
    assert_in_range(ran, 100 * PERIOD / 4 - PERIOD / 10, 100 * PERIOD / 4 + 2 * PERIOD / 10);
}

static void test_cap_next_to_uncapped_busy(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 256);
    s->e[0].cap = 25;
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, 3 * SEC);
    assert_in_range(share_bp(s, 0, 3 * SEC), 2250, 2750);
    assert_share(s, 1, 3 * SEC, 75, 3);
    assert_int_equal(s->idle_ns, 0);
}

static void test_capped_excess_is_shared_by_weight(void **state)
{
    (void)state;
    /* C's weighted share (50 %) exceeds its 10 % cap; the other 90 % go 2:1 to A and B,
     * not 1:1 as they would if the excess were left to the "over" round-robin. */
    struct sim *s = &S;
    sim_init(s, 0, 4, 0);
    s->e[0].weight = 200;
    s->e[1].weight = 100;
    s->e[2].weight = 300;
    s->e[2].cap = 10;
    s->e[3].weight = 50000; /* held to its cap too; blocked for the first part */
    s->e[3].cap = 5;
    for (int i = 0; i < 3; i++)
        policy_set_runnable(&s->p, &s->e[i], true);
    sim_until(s, 6 * SEC);
    assert_share(s, 0, 6 * SEC, 60, 3);
    assert_share(s, 1, 6 * SEC, 30, 3);
    assert_in_range(share_bp(s, 2, 6 * SEC), 900, 1000);
    policy_set_runnable(&s->p, &s->e[3], true);
    sim_reset_counts(s);
    sim_until(s, 12 * SEC);
    assert_share(s, 0, 6 * SEC, 57, 3);
    assert_share(s, 1, 6 * SEC, 28, 3);
    assert_in_range(share_bp(s, 2, 6 * SEC), 900, 1000);
    assert_in_range(share_bp(s, 3, 6 * SEC), 450, 500);
    assert_int_equal(s->idle_ns, 0);
}

static void test_cap_above_fair_share_gets_weighted_share(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 2, 0);
    s->e[0].weight = 1;
    s->e[0].cap = 50;
    s->e[1].weight = 1000;
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, 30 * SEC);
    /* Fair share is 1/1001 (~0.1 %), far below the 50 % cap; not starved either. */
    assert_in_range(share_bp(s, 0, 30 * SEC), 5, 20);
    assert_int_equal(s->idle_ns, 0);
}

static void test_cap_holds_across_block_and_wake(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 1, 256);
    s->e[0].cap = 40;
    policy_set_runnable(&s->p, &s->e[0], true);
    for (int i = 0; i < 200; i++) {
        uint64_t slice;
        struct sched_entity *e = sim_pick(s, &slice);
        sim_run(s, e, e ? slice / 3 + 1 : slice); /* blocks early, wakes at once */
        if (e) {
            policy_set_runnable(&s->p, e, false);
            policy_set_runnable(&s->p, e, true);
        }
    }
    assert_true(s->ran[0] <= (s->now / PERIOD + 1) * PERIOD * 40 / 100);
}

static void test_all_blocked_returns_null_with_zero_slice(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 3, 256);
    uint64_t slice = 99;
    assert_null(policy_pick(&s->p, 5 * MS, NULL, &slice));
    assert_int_equal(slice, 0);
    for (int i = 0; i < 3; i++)
        policy_set_runnable(&s->p, &s->e[i], true);
    sim_until(s, SEC);
    for (int i = 0; i < 3; i++)
        policy_set_runnable(&s->p, &s->e[i], false);
    slice = 99;
    assert_null(policy_pick(&s->p, s->now, s->prev, &slice));
    assert_int_equal(slice, 0);
    /* A blocked capped entity does not make the CPU wait for the period either. */
    s->e[0].cap = 10;
    assert_null(policy_pick(&s->p, s->now + 1, s->prev, &slice));
    assert_int_equal(slice, 0);
    /* Empty policy. */
    struct sched_policy empty;
    policy_init(&empty, 0);
    slice = 99;
    assert_null(policy_pick(&empty, 0, NULL, &slice));
    assert_int_equal(slice, 0);
}

static void test_slices_bounded_and_never_cross_period(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 123456789, 3, 256);
    s->e[1].cap = 20;
    for (int i = 0; i < 3; i++)
        policy_set_runnable(&s->p, &s->e[i], true);
    uint64_t cut_at_end = 0, cut_at_cap = 0;
    for (int i = 0; i < 3000; i++) {
        uint64_t slice;
        struct sched_entity *e = sim_pick(s, &slice); /* checks bound and boundary */
        if (e && s->now + slice == period_end(s) && slice < SLICE)
            cut_at_end++;
        if (e == &s->e[1] && slice < SLICE && s->now + slice != period_end(s))
            cut_at_cap++;
        /* Odd run lengths (early blocking) put the clock off any grid. */
        uint64_t ran = e && i % 3 == 0 ? slice - slice / 7 : slice;
        sim_run(s, e, ran);
    }
    assert_true(cut_at_end > 0);
    assert_true(cut_at_cap > 0);
}

static void test_late_charge_is_split_at_period_end(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 1, 256);
    s->e[0].cap = 50;
    policy_set_runnable(&s->p, &s->e[0], true);
    uint64_t slice;
    assert_ptr_equal(policy_pick(&s->p, 25 * MS, NULL, &slice), &s->e[0]);
    assert_int_equal(slice, 5 * MS);
    /* The timer fired late: ran 9 ms, 4 of them in the next period. */
    policy_charge(&s->p, &s->e[0], 9 * MS, 34 * MS);
    assert_int_equal(s->e[0].period_used_ns, 4 * MS);
    assert_int_equal(s->e[0].total_ns, 9 * MS);
    assert_ptr_equal(policy_pick(&s->p, 34 * MS, &s->e[0], &slice), &s->e[0]);
    assert_int_equal(slice, 10 * MS);
    policy_charge(&s->p, &s->e[0], 10 * MS, 44 * MS);
    assert_ptr_equal(policy_pick(&s->p, 44 * MS, &s->e[0], &slice), &s->e[0]);
    assert_int_equal(slice, 1 * MS); /* cap room: 15 - 14 ms */
}

static void test_long_idle_gap_and_years_of_uptime(void **state)
{
    (void)state;
    struct sim *s = &S;
    uint64_t year = 365ull * 24 * 3600 * SEC;
    sim_init(s, 50 * year, 2, 65535);
    s->e[1].cap = 100;
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_until(s, s->now + SEC);
    policy_set_runnable(&s->p, &s->e[0], false);
    policy_set_runnable(&s->p, &s->e[1], false);
    s->now += 3 * year + 12345; /* nothing ran for years */
    policy_set_runnable(&s->p, &s->e[0], true);
    policy_set_runnable(&s->p, &s->e[1], true);
    sim_reset_counts(s);
    uint64_t from = s->now;
    sim_until(s, from + 3 * SEC);
    assert_share(s, 0, s->now - from, 50, 2);
    assert_share(s, 1, s->now - from, 50, 2);
    assert_true(s->e[0].credit_ns <= (int64_t)(PERIOD + SLICE));
    assert_true(s->e[0].credit_ns >= -(int64_t)(PERIOD + SLICE));
}

static void test_remove_mid_period(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 3, 256);
    for (int i = 0; i < 3; i++)
        policy_set_runnable(&s->p, &s->e[i], true);
    sim_until(s, SEC);
    while (sim_step(s) != &s->e[1])
        ;
    assert_true((s->now - s->t0) % PERIOD != 0); /* mid-period */
    policy_remove(&s->p, &s->e[1]); /* it is also prev: the scan must cope */
    assert_false(s->e[1].queued);
    assert_null(s->e[1].next);
    assert_ptr_equal(s->e[0].next, &s->e[2]);
    policy_remove(&s->p, &s->e[1]); /* twice is harmless */
    sim_reset_counts(s);
    uint64_t from = s->now;
    sim_until(s, from + 3 * SEC);
    assert_int_equal(s->ran[1], 0);
    assert_share(s, 0, s->now - from, 50, 2);
    assert_share(s, 2, s->now - from, 50, 2);
    /* Removing the head, then re-adding at the tail. */
    policy_remove(&s->p, &s->e[0]);
    assert_ptr_equal(s->p.head, &s->e[2]);
    policy_add(&s->p, &s->e[0]);
    policy_add(&s->p, &s->e[0]); /* twice is harmless */
    assert_ptr_equal(s->e[2].next, &s->e[0]);
    assert_null(s->e[0].next);
    assert_false(s->e[0].runnable); /* re-added blocked */
    policy_set_runnable(&s->p, &s->e[0], true);
    sim_reset_counts(s);
    from = s->now;
    sim_until(s, from + 3 * SEC);
    assert_share(s, 0, s->now - from, 50, 3);
}

static void test_round_robin_three_equal_short_horizon(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, 3, 256);
    for (int i = 0; i < 3; i++)
        policy_set_runnable(&s->p, &s->e[i], true);
    uint64_t waited[3] = { 0, 0, 0 };
    for (int step = 0; step < 900; step++) {
        struct sched_entity *e = sim_step(s);
        assert_non_null(e);
        for (int i = 0; i < 3; i++) {
            waited[i] = e == &s->e[i] ? 0 : waited[i] + 1;
            assert_true(waited[i] <= 2);
        }
    }
    assert_int_equal(s->ran[0], s->ran[1]);
    assert_int_equal(s->ran[1], s->ran[2]);
}

static void test_sixty_four_entities(void **state)
{
    (void)state;
    struct sim *s = &S;
    sim_init(s, 0, MAXE, 256);
    for (int i = 0; i < MAXE; i++)
        policy_set_runnable(&s->p, &s->e[i], true);
    uint64_t span = 64 * SEC;
    sim_until(s, span);
    assert_int_equal(s->idle_ns, 0);
    for (int i = 0; i < MAXE; i++)
        assert_in_range(s->ran[i], span / MAXE * 9 / 10, span / MAXE * 11 / 10);
    /* Mixed weights: entity i has weight i+1. */
    uint64_t wsum = 0;
    for (int i = 0; i < MAXE; i++) {
        s->e[i].weight = (uint16_t)(i + 1);
        wsum += (uint64_t)i + 1;
    }
    sim_reset_counts(s);
    uint64_t from = s->now;
    sim_until(s, from + 6 * span);
    for (int i = 0; i < MAXE; i++) {
        uint64_t want = (s->now - from) * (uint64_t)(i + 1) / wsum;
        assert_in_range(s->ran[i], want * 8 / 10, want * 12 / 10 + SLICE);
    }
}

/* Deterministic xorshift64. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static void test_random_invariants(void **state)
{
    (void)state;
    struct sim *s = &S;
    for (int round = 0; round < 40; round++) {
        int n = 1 + (int)rnd(12);
        sim_init(s, rnd(1ull << 50), n, 0);
        for (int i = 0; i < n; i++) {
            s->e[i].weight = (uint16_t)(rnd(4) == 0 ? 1 + rnd(65535) : 1 + rnd(512));
            s->e[i].cap = (uint16_t)(rnd(2) ? 0 : 1 + rnd(100));
            if (rnd(4))
                policy_set_runnable(&s->p, &s->e[i], true);
        }
        for (int step = 0; step < 3000; step++) {
            if (rnd(8) == 0) {
                int i = (int)rnd((uint64_t)n);
                policy_set_runnable(&s->p, &s->e[i], !s->e[i].runnable);
            }
            uint64_t slice;
            struct sched_entity *e = sim_pick(s, &slice); /* idle/cap/runnable checks */
            if (!e && slice == 0) {
                s->now += rnd(rnd(2) ? 5 * PERIOD : 1000);
                policy_set_runnable(&s->p, &s->e[rnd((uint64_t)n)], true);
                continue;
            }
            uint64_t ran = e && rnd(4) == 0 ? 1 + rnd(slice) : slice;
            sim_run(s, e, ran); /* checks the cap per period */
            if (e && ran < slice)
                policy_set_runnable(&s->p, e, false); /* blocked mid-slice */
            for (int i = 0; i < n; i++) {
                assert_true(s->e[i].credit_ns <= (int64_t)(PERIOD + SLICE));
                assert_true(s->e[i].credit_ns >= -(int64_t)(PERIOD + SLICE));
                assert_true(s->e[i].period_used_ns <= PERIOD);
                assert_int_equal(s->e[i].total_ns, s->ran[i]);
            }
        }
    }
}

/* The O(1) pick (one runnable entity, the block/wake hand-off) makes exactly the
 * decision of the round-robin scan, and the runnable count it relies on stays right
 * through adds, removals and blocking. Random block/wake/remove sequences; before every
 * decision the scan is asked too (it changes nothing when no period is due, the only
 * case the O(1) path takes). */
static void test_o1_pick_matches_scan(void **state)
{
    (void)state;
    struct sim *s = &S;
    for (int round = 0; round < 40; round++) {
        int n = 1 + (int)rnd(6);
        sim_init(s, rnd(1ull << 40), n, 0);
        for (int i = 0; i < n; i++) {
            s->e[i].weight = (uint16_t)(1 + rnd(512));
            s->e[i].cap = (uint16_t)(rnd(2) ? 0 : 1 + rnd(100));
        }
        for (int step = 0; step < 2000; step++) {
            int i = (int)rnd((uint64_t)n);
            switch (rnd(6)) {
            case 0:
                if (s->e[i].queued)
                    policy_remove(&s->p, &s->e[i]);
                else {
                    policy_add(&s->p, &s->e[i]);    /* fresh accounting: for the sim too */
                    s->per_used[i] = 0;
                }
                break;
            case 1:
            case 2:
                policy_set_runnable(&s->p, &s->e[i], !s->e[i].runnable);
                break;
            default:    /* the hand-off: the one that ran blocks, another wakes */
                if (s->prev)
                    policy_set_runnable(&s->p, s->prev, false);
                policy_set_runnable(&s->p, &s->e[i], true);
                break;
            }
            unsigned runnable = 0;
            for (int j = 0; j < n; j++)
                runnable += s->e[j].queued && s->e[j].runnable;
            assert_int_equal(s->p.nr_runnable, runnable);
            bool due = s->now - s->p.period_start_ns >= PERIOD;
            uint64_t scan_slice = 0, slice = 0;
            struct sched_entity *scan = due ? NULL : policy_pick_scan(&s->p, s->now, s->prev,
                                                                       &scan_slice);
            struct sched_entity *e = sim_pick(s, &slice);
            if (!due) {
                assert_ptr_equal(e, scan);
                assert_int_equal(slice, scan_slice);
            }
            if (!e && slice == 0) {
                s->now += 1 + rnd(1000);
                continue;
            }
            sim_run(s, e, e && rnd(2) ? 1 + rnd(slice) : slice);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_entity_gets_everything),
        cmocka_unit_test(test_two_equal_weights_split_evenly),
        cmocka_unit_test(test_weights_two_to_one),
        cmocka_unit_test(test_weight_zero_means_default),
        cmocka_unit_test(test_added_entity_is_blocked_until_set_runnable),
        cmocka_unit_test(test_blocked_never_picked_share_goes_to_others),
        cmocka_unit_test(test_entity_woken_mid_run_gets_its_share),
        cmocka_unit_test(test_wake_while_busy_peer_has_full_credit_no_starvation),
        cmocka_unit_test(test_zero_credit_is_over),
        cmocka_unit_test(test_over_entities_round_robin),
        cmocka_unit_test(test_wake_keeps_debt_once_share_is_used),
        cmocka_unit_test(test_block_wake_cycles_earn_no_extra_credit),
        cmocka_unit_test(test_cap_alone_gets_cap_and_cpu_idles),
        cmocka_unit_test(test_cap_overrun_is_paid_back),
        cmocka_unit_test(test_cap_next_to_uncapped_busy),
        cmocka_unit_test(test_capped_excess_is_shared_by_weight),
        cmocka_unit_test(test_cap_above_fair_share_gets_weighted_share),
        cmocka_unit_test(test_cap_holds_across_block_and_wake),
        cmocka_unit_test(test_all_blocked_returns_null_with_zero_slice),
        cmocka_unit_test(test_slices_bounded_and_never_cross_period),
        cmocka_unit_test(test_late_charge_is_split_at_period_end),
        cmocka_unit_test(test_long_idle_gap_and_years_of_uptime),
        cmocka_unit_test(test_remove_mid_period),
        cmocka_unit_test(test_round_robin_three_equal_short_horizon),
        cmocka_unit_test(test_sixty_four_entities),
        cmocka_unit_test(test_random_invariants),
        cmocka_unit_test(test_o1_pick_matches_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
