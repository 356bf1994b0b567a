/*
 * hypervisor/evtchn.h: event channels (ports), virtual IRQs and the shared-info bitmaps.
 */
#ifndef HV_EVTCHN_H
#define HV_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include <hako/events.h>
#include "hcall_list.h"

struct domain;
struct vcpu;

/* One port of a domain, packed to 4 bytes so a domain's 1024 ports fill one page. */
struct evtchn {
    uint32_t state : 2;         /* HAKO_EVTCHN_* */
    uint32_t remote_dom : 16;   /* UNBOUND: who may bind; INTERDOMAIN: the peer */
    uint32_t remote_port : 14;  /* INTERDOMAIN: the peer's port; VIRQ: the virq */
};
_Static_assert(sizeof(struct evtchn) == 4, "evtchn packs to 4 bytes");

/* Set once any domain has bound HAKO_VIRQ_CONSOLE (never cleared): while it is false
 * the scheduler need not look for a console port to poll. */
extern bool evtchn_console_virq_bound;

/* Give d its port table (hypervisor memory); false when out of memory. */
bool evtchn_init(struct domain *d);

/* Close every port of d (peers see their ends fall back to unbound). */
void evtchn_teardown(struct domain *d);

/* Mark port of d pending and notify its vCPU (upcall, unblock, end a poll). */
void evtchn_set_pending(struct domain *d, unsigned port);

/* Raise virq on d if a port is bound to it. */
void evtchn_send_virq(struct domain *d, unsigned virq);

/* event_channel_op for the calling domain d: cmd with struct *op (already copied in) or
 * with the port as the scalar; 0 or -HAKO_E*. */
long evtchn_op(struct domain *d, unsigned cmd, struct hako_evtchn *op);
long evtchn_port_op(struct domain *d, unsigned cmd, uint64_t port);

/* event_channel_op(SEND, port) for d: the hot path of event_channel_op. */
long evtchn_send(struct domain *d, uint64_t port);

/* True when any of ports[0..n) of d is pending. */
bool evtchn_any_pending(struct domain *d, const uint32_t *ports, unsigned n);

/* event_channel_op(cmd, arg) */
long hc_event_channel_op(HC_ARGS);

#endif /* HV_EVTCHN_H */
