/*
 * guest-pv/events.h: the guest kernel's event-channel layer (see also kern.h).
 */
#ifndef GUEST_EVENTS_H
#define GUEST_EVENTS_H

#include <stdint.h>

#include <hako/start_info.h>

/* Register the upcall entry (callback) with the hypervisor. */
void events_init(const struct hako_start_info *si, uint64_t callback);

/* Bind virq to a port with handler fn; the port, or 0 on failure. */
unsigned events_bind_virq(unsigned virq, void (*fn)(unsigned port, void *arg), void *arg);

/* Run the handlers of every pending unmasked port (from the upcall). */
void events_dispatch(void);

/* Mask upcalls (the kernel's normal state). */
void events_mask_all(void);

/* Wait for an event with upcalls enabled; returns with them masked again. */
void events_idle(void);

/* Arm the one-shot timer for absolute system time deadline_ns (0 = cancel). */
long events_set_timer(uint64_t deadline_ns);

/* Events handled so far. */
uint64_t events_count(void);

#endif /* GUEST_EVENTS_H */
