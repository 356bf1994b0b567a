/*
 * guest-pv/drivers/consring.h: the console ring of hypercall-abi/hako/console.h, both ends.
 *
 * Front end (a domU kernel): its console page from start info; output never blocks (a
 * full ring drops the bytes and counts them), input is read without waiting. The kernel
 * binds consring_front_port() with events_bind() to hear of new input.
 *
 * Back end (dom0's kernel): maps a domU's console page through a foreign mapping at
 * CONSRING_BACK_VA(domid), binds the domU's console port, and moves bytes both ways.
 *
 * Neither end is reentrant: callers serialize (one context at a time, e.g. with events
 * masked). Neither end ever trusts the peer's indices (ring-io checks them): a peer that
 * corrupts its ring is cut off (-HAKO_EIO from the read functions, nothing written).
 */
#ifndef GUEST_CONSRING_H
#define GUEST_CONSRING_H

#include <stddef.h>
#include <stdint.h>

#include <hako/start_info.h>

/* ---- front end (domU) ---- */

/* Attach to the console page described by si: 1 when attached, 0 when the domain has
 * none (dom0), -HAKO_EIO when its rings already hold impossible indices. */
int consring_front_init(const struct hako_start_info *si);

/* Queue up to n bytes of output; never blocks. Bytes that do not fit are dropped and
 * counted (consring_front_dropped, and out_dropped in the page). Returns n (dropped
 * bytes count as written: output is best effort), 0 when not attached. Notifies the
 * back end when it asked for it. */
size_t consring_front_write(const char *buf, size_t n);

/* Take up to n bytes of input without waiting: the bytes stored (0 = none yet; the back
 * end will then send an event when more arrive), or -HAKO_EIO when the ring is broken,
 * -HAKO_ENOENT when not attached. */
long consring_front_read(char *buf, size_t n);

/* The console port to bind for input events (0 when not attached). */
unsigned consring_front_port(void);

/* Output bytes dropped so far because the ring was full. */
uint64_t consring_front_dropped(void);

/* ---- back end (dom0) ---- */

/* The kernel window where the back end maps console pages: one page per domid
 * (0 < domid < CONSRING_BACK_SLOTS) from CONSRING_BACK_VA_BASE, 256 KiB in all, above
 * the kernel image and its linear map (which end well below it for any dom0 of up to
 * 768 MiB). The page tables for the window come from the kernel's own memory. */
#define CONSRING_BACK_VA_BASE 0xFFFFFFFFB0000000ull
#define CONSRING_BACK_SLOTS   64u
#define CONSRING_BACK_VA(domid) (CONSRING_BACK_VA_BASE + (uint64_t)(domid) * 4096u)

struct consring_back;

/* Map domid's console page (machine frame console_mfn, from CREATE) writable at
 * CONSRING_BACK_VA(domid), bind the domU's console port domu_port, and attach both
 * rings. NULL on any failure (bad domid, already attached, out of memory, mapping or
 * binding refused, impossible ring indices), with nothing left mapped or bound. */
struct consring_back *consring_back_attach(unsigned domid, uint64_t console_mfn,
                                           unsigned domu_port);

/* The back end attached to domid's console, or NULL (none, or domid out of range). */
struct consring_back *consring_back_of(uint64_t domid);

/* Take up to n bytes of the domU's output: the bytes stored (0 = none; an event comes
 * on consring_back_port() when more arrive), or -HAKO_EIO when the domU corrupted the
 * ring (detach it). */
long consring_back_read(struct consring_back *b, char *buf, size_t n);

/* Queue up to n bytes of input for the domU: the bytes queued (fewer when the ring is
 * full, 0 when broken). Notifies the domU when it asked for it. */
size_t consring_back_write(struct consring_back *b, const char *buf, size_t n);

/* The local port bound to the domU's console port (events_bind it for output events;
 * consring_back_attach already binds it to wake readers sleeping on b). */
unsigned consring_back_port(const struct consring_back *b);

/* What the domU says it dropped (informational, untrusted). */
uint64_t consring_back_dropped(const struct consring_back *b);

/* The domU's console page as mapped here (its block link area is shared, blkback.c). */
struct hako_console_page *consring_back_page(const struct consring_back *b);

/* Unbind and close the port, remove the foreign mapping (so the domain can be
 * destroyed), free b. */
void consring_back_detach(struct consring_back *b);

#endif /* GUEST_CONSRING_H */
