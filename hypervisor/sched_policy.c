/*
 * hypervisor/sched_policy.c: the credit scheduling decision (see sched_policy.h).
 *
 * Credit rules (all times in ns, 64-bit integer arithmetic only):
 * - Periods are aligned to the policy_init time: [t0 + k*PERIOD, t0 + (k+1)*PERIOD).
 *   policy_pick and policy_charge roll the period over once `now` reaches its end;
 *   periods in which nobody called in are skipped in one step with a single refill.
 * - Shares: a period is divided among the runnable entities in proportion to weight,
 *   water-filled for caps: a capped entity whose weighted share exceeds its cap limit
 *   (PERIOD * min(cap, 100) / 100) gets exactly that limit and the excess is divided
 *   among the others by weight, repeated until no further entity hits its limit. (Else
 *   the excess would be dropped, everyone else would end up "over", and "over" entities
 *   share the CPU round-robin, i.e. equally whatever their weights.)
 * - Refill at a period start: credit = share (0 when blocked) + carried credit, where the
 *   carried credit is the old credit clamped to [-SCHED_SLICE_NS, +SCHED_SLICE_NS]:
 *   - up to a slice of unused credit is kept so that an entity still waiting for its
 *     turn at the period end does not lose it (dropping it makes the whole set drift
 *     "over" when shares are small next to a slice, e.g. 64 entities); no more is hoarded;
 *   - debt is repaid up to a slice: slices are not cut at credit exhaustion, so a slice
 *     is the most an entity overruns its credit while others wait for the CPU; debt
 *     beyond that was run "over" while nobody else wanted the CPU, and is forgiven.
 *   period_used_ns restarts at 0 for everyone, except that a capped entity which ran
 *   past its cap limit in the period just ended (a late timer) starts the next one
 *   owing that excess (at most one limit), so caps hold on average.
 * - Wake-up mid-period: an entity that becomes runnable with no credit left is topped up
 *   to its share (computed as above, at that moment, itself included) minus
 *   period_used_ns when that is positive (one that still has credit keeps it: this keeps
 *   the frequent block/wake path cheap); its credit is never lowered (debt stays once the share is used up). So it competes as "under" at once instead of waiting for
 *   the refill (otherwise an entity that happens to be blocked at every refill could
 *   starve next to a busy one), and block/wake cycles cannot earn more "under" time in a
 *   period than that share. Others' credits are not reduced, so a period may hand out
 *   somewhat more than PERIOD in total; the refill evens this out.
 * - Pick: when exactly one entity is runnable and no period is due, that entity if it
 *   has cap room (O(1), the same decision as the scan). Otherwise scan round-robin
 *   starting after prev. The first runnable entity with cap room
 *   and credit > 0 ("under") wins; otherwise the first runnable one with cap room
 *   ("over", work-conserving). Cap room of a capped entity is its cap limit minus
 *   period_used_ns; uncapped entities always have room.
 * - Slice = min(SCHED_SLICE_NS, time to period end, cap room). When idling: the time to
 *   period end if some runnable capped entity waits for it, else 0.
 * - Charge: a run that crossed the period end is split there; the part before counts
 *   against the old period, the part after against the new one (after its refill),
 *   and time falling in skipped periods only counts in total_ns.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched_policy.h"

#include "panic.h"

/* The entity's weight, with 0 read as the default. */
static uint64_t weight_of(const struct sched_entity *e)
{
    return e->weight ? e->weight : SCHED_DEFAULT_WEIGHT;
}

/* a + b, saturating at UINT64_MAX. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#define period_elapsed policy_period_elapsed

/* Sum of the weights of the runnable entities on p's list. */
static uint64_t runnable_weight(const struct sched_policy *p)
{
    uint64_t sum = 0;
    for (const struct sched_entity *e = p->head; e; e = e->next)
        if (e->runnable)
            sum += weight_of(e);
    return sum;
}

#define cap_limit policy_cap_limit
#define cap_room policy_cap_room

/* Whether runnable e is held to its cap limit when pool ns go to weight wsum. */
static bool at_limit(const struct sched_entity *e, uint64_t pool, uint64_t wsum)
{
    return e->cap != 0 && cap_limit(e) * wsum < weight_of(e) * pool;
}

/* Water-fill one period (see top): the ns *pool left for the runnable entities not held
 * to their cap limit, and the sum *wsum of their weights. */
static void fill_period(const struct sched_policy *p, uint64_t *pool, uint64_t *wsum)
{
    uint64_t w_all = runnable_weight(p);
    *pool = SCHED_PERIOD_NS;
    *wsum = w_all;
    for (;;) {
        uint64_t held_ns = 0, held_w = 0;
        for (const struct sched_entity *e = p->head; e; e = e->next) {
            if (e->runnable && at_limit(e, *pool, *wsum)) {
                held_ns += cap_limit(e);
                held_w += weight_of(e);
            }
        }
        /* The held set only grows from one round to the next (the per-weight rate
         * rises), so an unchanged weight means a fixed point. */
        HV_ASSERT(held_ns <= SCHED_PERIOD_NS && held_w <= w_all);
        if (w_all - held_w == *wsum)
            return;
        *pool = SCHED_PERIOD_NS - held_ns;
        *wsum = w_all - held_w;
    }
}

/* Runnable e's credit for a whole period, from fill_period's pool and wsum. */
static uint64_t share_of(const struct sched_entity *e, uint64_t pool, uint64_t wsum)
{
    if (at_limit(e, pool, wsum))
        return cap_limit(e);
    HV_ASSERT(wsum >= weight_of(e));
    return pool * weight_of(e) / wsum;
}

/* Count ns of CPU time against e's credit and its use of the current period
 * (saturating: a branch each on the overflow flags, the common case falls through). */
static void account(struct sched_entity *e, uint64_t ns)
{
    int64_t credit;
    uint64_t used;
    if (__builtin_expect(ns > (uint64_t)INT64_MAX ||
                             __builtin_sub_overflow(e->credit_ns, (int64_t)ns, &credit), 0))
        credit = INT64_MIN;
    if (__builtin_expect(__builtin_add_overflow(e->period_used_ns, ns, &used), 0))
        used = UINT64_MAX;
    e->credit_ns = credit;
    e->period_used_ns = used;
}

/* If now is past the current period, start the one containing now and refill credits. */
static void roll_period(struct sched_policy *p, uint64_t now)
{
    uint64_t elapsed = period_elapsed(p, now);
    if (elapsed < SCHED_PERIOD_NS)
        return;
    uint64_t periods = elapsed / SCHED_PERIOD_NS;
    p->period_start_ns += periods * SCHED_PERIOD_NS;
    uint64_t pool, wsum;
    fill_period(p, &pool, &wsum);
    for (struct sched_entity *e = p->head; e; e = e->next) {
        int64_t carry = e->credit_ns;
        if (carry < -(int64_t)SCHED_SLICE_NS)
            carry = -(int64_t)SCHED_SLICE_NS;
        if (carry > (int64_t)SCHED_SLICE_NS)
            carry = (int64_t)SCHED_SLICE_NS;
        e->credit_ns = carry + (e->runnable ? (int64_t)share_of(e, pool, wsum) : 0);
        /* A capped entity that overran its cap (its slice ended late) pays the excess
         * back in the next period, so the cap holds on average. */
        uint64_t limit = cap_limit(e), over = e->period_used_ns - limit;
        e->period_used_ns = e->cap && periods == 1 && e->period_used_ns > limit
                                ? (over < limit ? over : limit) : 0;
    }
}

/* Start with no entities; the first period begins at now. */
void policy_init(struct sched_policy *p, uint64_t now)
{
    p->head = NULL;
    p->period_start_ns = now;
    p->nr_runnable = 0;
    p->last_woken = NULL;
}

/* Append e to the round-robin list, blocked and with fresh accounting. */
void policy_add(struct sched_policy *p, struct sched_entity *e)
{
    if (e->queued)
        return;
    if (e->weight == 0)
        e->weight = SCHED_DEFAULT_WEIGHT;
    e->runnable = false;
    e->queued = true;
    e->credit_ns = 0;
    e->period_used_ns = 0;
    e->total_ns = 0;
    e->next = NULL;
    struct sched_entity **link = &p->head;
    while (*link)
        link = &(*link)->next;
    *link = e;
}

/* Unlink e from the list; it is never picked again until re-added. */
void policy_remove(struct sched_policy *p, struct sched_entity *e)
{
    if (!e->queued)
        return;
    struct sched_entity **link = &p->head;
    while (*link && *link != e)
        link = &(*link)->next;
    HV_ASSERT(*link == e); /* queued means on this list */
    *link = e->next;
    e->next = NULL;
    e->queued = false;
    if (e->runnable)
        p->nr_runnable--;
    if (p->last_woken == e)
        p->last_woken = NULL;
}

/* e just became runnable with no credit left: top it up to its share (see above). */
void policy_topup(struct sched_policy *p, struct sched_entity *e)
{
    uint64_t pool, wsum;
    fill_period(p, &pool, &wsum);
    uint64_t share = share_of(e, pool, wsum);
    if (share > e->period_used_ns) {
        int64_t top = (int64_t)(share - e->period_used_ns);
        if (e->credit_ns < top)
            e->credit_ns = top;
    }
}

/* Charge e for ran_ns ending at now, splitting the time at a period end it crossed
 * (policy_charge in the header has the common case inline). */
void policy_charge_slow(struct sched_policy *p, struct sched_entity *e, uint64_t ran_ns,
                        uint64_t now)
{
    uint64_t elapsed = period_elapsed(p, now);
    if (elapsed < SCHED_PERIOD_NS) {
        account(e, ran_ns);
    } else {
        uint64_t after = elapsed - SCHED_PERIOD_NS;
        if (after > ran_ns)
            after = ran_ns;
        account(e, ran_ns - after);
        roll_period(p, now);
        uint64_t in_new = period_elapsed(p, now);
        account(e, after < in_new ? after : in_new);
    }
    e->total_ns = sat_add(e->total_ns, ran_ns);
}

/* Choose who runs at now and for how long (see header), rolling the period if due:
 * the round-robin scan (policy_pick in the header takes the O(1) case first). */
struct sched_entity *policy_pick_scan(struct sched_policy *p, uint64_t now,
                                      struct sched_entity *prev, uint64_t *slice_ns)
{
    uint64_t dummy;
    if (!slice_ns)
        slice_ns = &dummy;
    *slice_ns = 0;
    roll_period(p, now);
    if (!p->head)
        return NULL;

    /* Round-robin: start after prev when it is still on the list. */
    struct sched_entity *start = prev && prev->queued && prev->next ? prev->next : p->head;

    struct sched_entity *under = NULL, *over = NULL;
    bool capped_waiting = false;
    struct sched_entity *e = start;
    do {
        if (e->runnable) {
            if (cap_room(e) == 0)
                capped_waiting = true;
            else if (e->credit_ns > 0) {
                under = e;
                break;
            } else if (!over)
                over = e;
        }
        e = e->next ? e->next : p->head;
    } while (e != start);

    uint64_t to_end = SCHED_PERIOD_NS - period_elapsed(p, now);
    HV_ASSERT(to_end > 0 && to_end <= SCHED_PERIOD_NS);
    struct sched_entity *next = under ? under : over;
    if (!next) {
        *slice_ns = capped_waiting ? to_end : 0;
        return NULL;
    }
    uint64_t slice = SCHED_SLICE_NS;
    if (slice > to_end)
        slice = to_end;
    if (slice > cap_room(next))
        slice = cap_room(next);
    HV_ASSERT(slice > 0 && next->runnable && next->queued);
    *slice_ns = slice;
    return next;
}
