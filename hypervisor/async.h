/*
 * hypervisor/async.h: asynchronous hypercall rings of a vCPU.
 */
#ifndef HV_ASYNC_H
#define HV_ASYNC_H

#include <stdbool.h>
#include <stdint.h>

#include <hako/async.h>

#include "ringio.h"
#include "hcall_list.h"

#define ASYNC_MAX_PAGES 18   /* header + 1024 submissions of 64 bytes, from any 64-byte line */
#define ASYNC_RINGS 2        /* 0: submissions, 1: completions */
#define ASYNC_DRAIN_ON_ENTRY HAKO_ASYNC_TICK_MAX     /* run when the vCPU enters for another reason */
#define ASYNC_DRAIN_ON_DOORBELL HAKO_ASYNC_ENTER_MAX /* run by one ENTER */

struct vcpu;
struct hv_ref;

struct async_state {
    bool active;
    bool chain_cancelled;            /* a linked entry failed: the rest of its chain is cancelled */
    struct ringio_cons sq;
    struct ringio_prod cq;
    uint64_t mfn[ASYNC_RINGS][ASYNC_MAX_PAGES];   /* frames held (writable type) */
    unsigned nr_pages[ASYNC_RINGS];
};

/* Run up to max pending submissions of v (nothing when it has no rings or is in user
 * mode); returns the completions posted, or -HAKO_EIO when the rings were found
 * corrupted and detached. */
long async_drain(struct vcpu *v, unsigned max);

/* Forget v's rings, releasing their frames. */
void async_teardown(struct vcpu *v);

/* Add the references v's rings hold to refs[] (for the audit); returns the new count. */
unsigned async_refs(struct vcpu *v, struct hv_ref *refs, unsigned n);

/* async_op(cmd, arg): set up, enter or tear down the caller's rings. */
long hc_async_op(HC_ARGS);

#endif /* HV_ASYNC_H */
