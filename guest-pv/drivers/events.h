/*
 * guest-pv/drivers/events.h: the guest kernel's event-channel layer (see also kern.h).
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

#endif /* GUEST_EVENTS_H */
