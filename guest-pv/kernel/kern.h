/*
 * guest-pv/kernel/kern.h: services the guest kernel's core (processes, events, memory) offers
 * to its other subsystems (file system, pipes, tty, console rings).
 *
 * Sleeping: subsystems never block. An operation that cannot proceed returns -HOS_EAGAIN
 * and names a wait channel (any stable pointer); the system-call layer sleeps the
 * calling process on it and retries. Whoever changes the state calls kwakeup(chan).
 */
#ifndef GUEST_KERN_H
#define GUEST_KERN_H

#include <stddef.h>
#include <stdint.h>

/* Wake every process sleeping on chan (safe to call from event handlers). */
void kwakeup(const void *chan);

/* Send signal sig to every process in process group pgid (the tty's ^C). */
void ksignal_group(int pgid, int sig);

/* Kernel heap (guest-pv/kernel/kmalloc.c): 16-byte aligned, zeroed; NULL when out of memory.
 * Large requests (>= 2048 bytes) get whole pages. */
void *kmalloc(size_t n);
void kfree(void *p);
/* Pages the heap holds now (for meminfo and leak checks). */
uint64_t kmalloc_pages(void);

/* Event channels (guest-pv/drivers/events.c): run fn(port, arg) in the kernel, with events
 * masked, whenever port is signalled. 0 or a negative hypervisor error. */
long events_bind(unsigned port, void (*fn)(unsigned port, void *arg), void *arg);
void events_unbind(unsigned port);
/* Signal a port. */
void events_notify(unsigned port);

/* Monotonic time since boot in ns, from the hypervisor's time record. */
uint64_t ktime_ns(void);
/* Real time (CLOCK_REALTIME) in ns since 1970: ktime_ns() plus the boot's wall clock. */
uint64_t krealtime_ns(void);

#endif /* GUEST_KERN_H */
