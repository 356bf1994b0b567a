/*
 * hypervisor/sched_policy.h: the scheduling decision (pure logic, host-testable with a
 * fake clock). sched.c does the switching; this file only decides who runs next and for
 * how long, from weights, caps, runnability and the CPU time each entity has used.
 *
 * Policy (credit scheduling, in the spirit of Xen's credit scheduler):
 * - Time is divided into accounting periods of SCHED_PERIOD_NS. At the start of each
 *   period every entity's credit is refilled in proportion to its weight among the
 *   runnable entities (unused credit is not hoarded beyond one period).
 * - Runnable entities with credit left ("under") run before those without ("over"),
 *   round-robin within each class; an "over" entity still runs when no "under" one
 *   wants the CPU (work-conserving), EXCEPT
 * - a capped entity (cap = percent of one CPU, 1..100) never runs more than cap% of a
 *   period, even if the CPU would otherwise idle; it waits for the next period.
 * - Blocked (not runnable) entities are never picked and cost nothing.
 * - Each decision also returns a time slice: at most SCHED_SLICE_NS, cut short at the
 *   end of the period and at the point where a capped entity's cap runs out.
 */
#ifndef HV_SCHED_POLICY_H
#define HV_SCHED_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define SCHED_PERIOD_NS   30000000ull   /* 30 ms accounting period */
#define SCHED_SLICE_NS    10000000ull   /* 10 ms longest slice */
#define SCHED_DEFAULT_WEIGHT 256

struct sched_entity {
    /* Set by the owner: */
    uint16_t weight;            /* 1..65535 */
    uint16_t cap;               /* percent of one CPU, 0 = uncapped, else 1..100 */
    /* Maintained by the policy: */
    bool runnable;
    bool queued;                /* on the policy's list */
    int64_t credit_ns;          /* credit left this period (may go negative) */
    uint64_t period_used_ns;    /* CPU time used in the current period */
    uint64_t total_ns;          /* CPU time used since added */
    struct sched_entity *next;  /* list link (all entities, in round-robin order) */
};

struct sched_policy {
    struct sched_entity *head;  /* every added entity */
    uint64_t period_start_ns;
    /* For the O(1) pick (policy_pick): how many queued entities are runnable, and the
     * queued entity that most recently became runnable (NULL after it was removed).
     * When exactly one is runnable and `last_woken` still is, it is that one. */
    unsigned nr_runnable;
    struct sched_entity *last_woken;
};

/* Start with no entities; the first period begins at now. */
void policy_init(struct sched_policy *p, uint64_t now);

/* Add e (not runnable yet) / remove it. weight 0 is taken as SCHED_DEFAULT_WEIGHT. */
void policy_add(struct sched_policy *p, struct sched_entity *e);
void policy_remove(struct sched_policy *p, struct sched_entity *e);

/* Out-of-line parts of the calls below (sched_policy.c); not for other callers. */
void policy_topup(struct sched_policy *p, struct sched_entity *e);
void policy_charge_slow(struct sched_policy *p, struct sched_entity *e, uint64_t ran_ns,
                        uint64_t now);
struct sched_entity *policy_pick_scan(struct sched_policy *p, uint64_t now,
                                      struct sched_entity *prev, uint64_t *slice_ns);

/* The fast paths are inline: they run on every block, wake and switch. */

/* Time elapsed in the current period (0 if the clock is before its start). */
static inline uint64_t policy_period_elapsed(const struct sched_policy *p, uint64_t now)
{
    return now > p->period_start_ns ? now - p->period_start_ns : 0;
}

/* The most e may run in one period: its cap limit, UINT64_MAX when uncapped. */
static inline uint64_t policy_cap_limit(const struct sched_entity *e)
{
    if (e->cap == 0)
        return UINT64_MAX;
    return SCHED_PERIOD_NS * (e->cap > 100 ? 100 : e->cap) / 100;
}

/* How much longer e may run this period under its cap; UINT64_MAX when uncapped. */
static inline uint64_t policy_cap_room(const struct sched_entity *e)
{
    if (e->cap == 0)
        return UINT64_MAX;
    uint64_t limit = policy_cap_limit(e);
    return e->period_used_ns >= limit ? 0 : limit - e->period_used_ns;
}

/* Mark e runnable (topping its credit up to its share, see sched_policy.c) or blocked. */
static inline void policy_set_runnable(struct sched_policy *p, struct sched_entity *e,
                                       bool runnable)
{
    if (e->runnable == runnable)
        return;
    e->runnable = runnable;
    if (!e->queued)
        return;
    if (!runnable) {
        p->nr_runnable--;
        return;
    }
    p->nr_runnable++;
    p->last_woken = e;
    if (e->credit_ns <= 0)
        policy_topup(p, e);     /* one still "under" keeps its credit: nothing to do */
}

/* Charge e for ran_ns of CPU time ending at now. */
static inline void policy_charge(struct sched_policy *p, struct sched_entity *e, uint64_t ran_ns,
                                 uint64_t now)
{
    int64_t credit;
    uint64_t used, total;
    /* Common case: inside the period, no counter near saturation. */
    if (__builtin_expect(policy_period_elapsed(p, now) < SCHED_PERIOD_NS &&
                             ran_ns <= (uint64_t)INT64_MAX &&
                             !__builtin_sub_overflow(e->credit_ns, (int64_t)ran_ns, &credit) &&
                             !__builtin_add_overflow(e->period_used_ns, ran_ns, &used) &&
                             !__builtin_add_overflow(e->total_ns, ran_ns, &total), 1)) {
        e->credit_ns = credit;
        e->period_used_ns = used;
        e->total_ns = total;
        return;
    }
    policy_charge_slow(p, e, ran_ns, now);
}

/* Choose who runs at `now` (starting a new period first if due), or NULL to idle;
 * *slice_ns = how long until the next decision is needed (also set when idling: the
 * time until a capped entity may run again, or 0 when nothing can ever run without an
 * event). `prev` is the entity that ran last (for round-robin order), may be NULL.
 * When a single entity is runnable (the common hand-off: one vCPU blocks right after
 * waking another) the decision takes O(1) and is the one the round-robin scan would
 * make: that entity, if its cap leaves it room. */
static inline struct sched_entity *policy_pick(struct sched_policy *p, uint64_t now,
                                               struct sched_entity *prev, uint64_t *slice_ns)
{
    uint64_t elapsed = policy_period_elapsed(p, now);
    struct sched_entity *one = p->last_woken;
    if (slice_ns && p->nr_runnable == 1 && one && one->runnable &&
        elapsed < SCHED_PERIOD_NS) {
        uint64_t room = policy_cap_room(one), slice = SCHED_PERIOD_NS - elapsed;
        if (room) {
            if (slice > SCHED_SLICE_NS)
                slice = SCHED_SLICE_NS;
            *slice_ns = slice < room ? slice : room;
            return one;
        }
    }
    return policy_pick_scan(p, now, prev, slice_ns);
}

#endif /* HV_SCHED_POLICY_H */
