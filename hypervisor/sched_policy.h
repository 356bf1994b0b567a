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
};

/* Start with no entities; the first period begins at now. */
void policy_init(struct sched_policy *p, uint64_t now);

/* Add e (not runnable yet) / remove it. weight 0 is taken as SCHED_DEFAULT_WEIGHT. */
void policy_add(struct sched_policy *p, struct sched_entity *e);
void policy_remove(struct sched_policy *p, struct sched_entity *e);

/* Mark e runnable or blocked. */
void policy_set_runnable(struct sched_policy *p, struct sched_entity *e, bool runnable);

/* Charge e for ran_ns of CPU time ending at now. */
void policy_charge(struct sched_policy *p, struct sched_entity *e, uint64_t ran_ns, uint64_t now);

/* Choose who runs at `now` (starting a new period first if due), or NULL to idle;
 * *slice_ns = how long until the next decision is needed (also set when idling: the
 * time until a capped entity may run again, or 0 when nothing can ever run without an
 * event). `prev` is the entity that ran last (for round-robin order), may be NULL. */
struct sched_entity *policy_pick(struct sched_policy *p, uint64_t now,
                                 struct sched_entity *prev, uint64_t *slice_ns);

#endif /* HV_SCHED_POLICY_H */
