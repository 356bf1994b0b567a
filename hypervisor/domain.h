/*
 * hypervisor/domain.h: domains and their virtual CPUs.
 */
#ifndef HV_DOMAIN_H
#define HV_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/hypercall.h>

#include "async.h"
#include "frame.h"
#include "guest_access.h"
#include "grant.h"
#include "guest_type.h"
#include "percpu.h"
#include "sched_policy.h"
#include "x86.h"

#define MAX_DOMAINS 64
#define DOMAIN_NAME_MAX 32
#define DOMAIN_MAX_VCPUS 1     /* the scheduler runs one CPU so far */


enum domain_state {
    DOMAIN_RUNNING,     /* runnable or running */
    DOMAIN_SHUTDOWN,    /* stopped itself; resources held until destroyed */
    DOMAIN_CRASHED,     /* stopped by a fault or a crash request; held for inspection */
};

/* A hypercall split into parts: where to pick up when the guest re-issues it. */
struct hc_continuation {
    bool active;
    uint64_t nr, rip, args[3];
    uint64_t progress;          /* items already done */
};

/* A virtual CPU: what every guest type has. The type-specific part is a member (pv). */
struct vcpu {
    struct pv_vcpu pv;          /* paravirtualized state (guest_type.h); entry.S reads it */
    struct trap_vcpu trap;      /* trap-and-emulate state, trap-mode domains only */
    const hypercall_fn *hc_table;       /* its domain's type->hc_table: entry.S calls it */
    uint64_t hc_count[HC_COUNT_SLOTS];  /* hypercalls made, by number (entry.S counts) */
    struct hako_vcpu_info *vcpu_info;   /* its slot in the shared-info page (direct map) */
    struct domain *dom;
    unsigned id;                /* index in dom->vcpu[] */
    unsigned stack_slot;        /* its hypervisor stack and async window (domain.c, async.c) */
    uint64_t stack_top;         /* top of its hypervisor stack; a cpu_regs frame sits below */
    uint64_t saved_rsp;         /* hypervisor stack pointer while switched out */
    uint64_t cr3;               /* machine address of its current top-level table: always
                                   a validated L4 of its domain (vcpu_update_cr3) */
    bool runnable;
    struct vcpu *rq_next;       /* run queue link */
    struct hc_continuation cont;
    uint64_t continuations;     /* hypercalls split so far */
    const uint64_t *mc_args;    /* the running multicall entry's arguments, else NULL */
    uint64_t mc_held[2];        /* array pages the running multicall holds (writable-type */
    unsigned nr_mc_held;        /* references) while an entry runs: for the audit */
    bool blocked;               /* waiting for an event (sched_op BLOCK or POLL) */
    bool polling;               /* ... for one of poll_ports (POLL) */
    uint32_t nr_poll_ports;
    uint32_t poll_ports[HAKO_SCHED_POLL_MAX];
    uint64_t poll_deadline_ns;  /* POLL timeout, 0 = none */
    uint64_t timer_deadline_ns; /* one-shot timer, 0 = off */
    uint64_t timer_period_ns;   /* periodic timer, 0 = off */
    uint64_t timer_next_ns;     /* next periodic expiry */
    struct sched_entity se;     /* scheduling state */
    struct async_state async;   /* asynchronous hypercall rings */
    uint64_t run_start_ns;      /* when it last started running */
    uint64_t time_filled_ns;    /* when its time record was last refreshed */
    uint32_t time_version;      /* the record's version counter (the guest's copy is
                                   never trusted) */
    uint64_t cpu_time_ns;       /* CPU time used */
    uint64_t stat_tlb_flushes, stat_invlpgs, stat_cr3_loads;  /* HAKO_COUNTER_* */
    struct guest_walk_cache fetch_walk[2];  /* recent instruction fetch walks (guest_fetch) */
    struct guest_walk_cache frame_walk[2][2]; /* recent frame reads, writes (guest_copy_cached) */
    struct guest_walk_cache batch_walk[2];  /* recent reads of mmu_update/mmuext_op batches */
    struct guest_selectors sel; /* ds es fs gs while switched out; null at creation */
    uint8_t fpu[512] __attribute__((aligned(16)));  /* fxsave area while switched out */
};


struct domain {
    uint16_t domid;
    bool privileged;            /* control domain */
    enum domain_state state;
    uint32_t shutdown_reason;   /* HAKO_SHUTDOWN_* once stopped */
    uint32_t shutdown_code;
    char name[DOMAIN_NAME_MAX];
    uint32_t si_flags;          /* HAKO_SIF_* it was built with */
    uint64_t nr_pages;          /* guest memory pages */
    uint64_t max_pages;         /* the most it may own */
    uint64_t p2m_va;            /* where the builder put the guest's p2m */
    uint64_t shinfo_mfn;        /* shared-info frame (the hypervisor holds a writable ref) */
    uint64_t console_mfn;       /* console page (hako/console.h), 0 = none (dom0) */
    uint32_t abi_minor;         /* ABI minor its kernel's note says it was built for */
    struct frame_list mem;      /* frames owned by the guest */
    struct frame_list hv_mem;   /* hypervisor frames held for this domain (incl. this page) */
    bool paused;                /* by the control domain */
    struct hako_shared_info *shinfo;    /* the shared-info page (direct map) */
    struct evtchn *evtchn;      /* HAKO_NR_EVENT_CHANNELS ports (one hypervisor page) */
    uint16_t virq_port[HAKO_NR_VIRQS];  /* port bound to each virq, 0 = none */
    struct grant_state grant;   /* its grant table and its mappings of others' (grant.c) */
    uint64_t stat_events;       /* events raised on this domain */
    uint64_t stat_traps[32];    /* guest exceptions by vector */
    uint64_t stat_emulated[HAKO_EMUL_SLOTS]; /* trap mode: instructions emulated, by
                                                HAKO_EMUL_* kind (0: refused) */
    const struct guest_type *type;      /* what kind of guest it runs (guest_type.h) */
    unsigned nr_vcpus;          /* vcpu[0 .. nr_vcpus) exist */
    struct vcpu vcpu[DOMAIN_MAX_VCPUS];
};

/* Every vCPU v of domain d. */
#define for_each_vcpu(d, v) for (struct vcpu *v = (d)->vcpu; v < (d)->vcpu + (d)->nr_vcpus; v++)

/* The frame on vCPU v's hypervisor stack that holds its guest registers. */
static inline struct cpu_regs *vcpu_regs(struct vcpu *v)
{
    return (struct cpu_regs *)(v->stack_top - sizeof(struct cpu_regs));
}

/* Point the fast upcall check at v's vcpu_info (callback registered) or at zero. */
void vcpu_update_upcall_word(struct vcpu *v);

/* Recompute whether v may run (domain running, not paused, not blocked) for the
 * scheduler. */
void vcpu_update_runnable(struct vcpu *v);

/* v has an event: unblock it if it waits for one. */
void vcpu_wake(struct vcpu *v);

/* Point v at the top-level table of its current mode; loads CR3 when v is running. */
void vcpu_update_cr3(struct vcpu *v);

/* Create an empty domain of guest type `type` (no memory yet) with one vCPU; NULL with
 * *err set on failure. */
struct domain *domain_create(uint16_t domid, const char *name, bool privileged,
                             const struct guest_type *type, int *err);

/* Free everything a domain holds: guest frames, hypervisor frames, its id; foreign
 * mappings it holds are dropped, and any other domain's mapping of its frames is
 * revoked (domctl refuses DESTROY before that can happen). Never current. */
void domain_destroy(struct domain *d);

/* Stop d with reason/code. When d is running here this does not return. */
void domain_shutdown(struct domain *d, uint32_t reason, uint32_t code);

/* Report why d crashed with a register dump, then stop it as crashed. */
void domain_crash(struct domain *d, const struct cpu_regs *regs, const char *why);

/* The domain with this id, or NULL. */
struct domain *domain_get(uint16_t domid);

/* The existing domain with the lowest id >= from, or NULL (for_each_domain). */
struct domain *domain_next(unsigned from);

/* Every existing domain in id order; the body must not destroy d. */
#define for_each_domain(d) \
    for (struct domain *d = domain_next(0); d; d = domain_next(d->domid + 1u))

/* Number of domains that exist (running or held). */
unsigned domain_count(void);

/* Print every register of a frame, naming the vector. */
void dump_regs(const struct cpu_regs *r);

/* In the idle context, nothing runnable: when dom0 is gone or stopped, destroy every
 * domain and end the machine with dom0's status; otherwise return. */
void domain_end_machine_if_done(void);

#endif /* HV_DOMAIN_H */
