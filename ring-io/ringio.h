/*
 * ring-io/ringio.h: single-producer/single-consumer rings in shared memory.
 *
 * One header, freestanding: it includes only <stdint.h>, <stddef.h> and <stdbool.h>,
 * calls no library function (copies are __builtin_memcpy, which the compiler turns into
 * moves or, for large variable sizes, a call to memcpy, which every hako environment
 * provides), and compiles as C99/C11 and C++11 with -pedantic -Wall -Wextra -Werror.
 * The same code runs in the hypervisor, guest kernels, guest user space and host
 * programs.
 *
 * A ring is a shared header (struct ringio_hdr: four free-running 32-bit indices, each
 * on its own cache line) plus an array of 2^order entries of a fixed size chosen by the
 * user. Each side keeps a private handle (struct ringio_prod / struct ringio_cons) that
 * holds the ring's geometry and its own copy of every index: nothing that the peer can
 * write is ever used as a size, an offset or a count without being checked first.
 *
 *   - The consumer copies entries out into caller storage, exactly once, before the
 *     caller can look at them; there is no API that hands out a pointer into the ring.
 *   - A producer index that claims more entries than the ring holds, or that moves
 *     backwards, makes the consumer's handle "broken" (sticky; every call then returns
 *     RINGIO_BROKEN without touching shared memory). Likewise a consumer index that
 *     claims more than was published, or moves backwards, breaks the producer's handle.
 *   - Notifications use event indices: a side that wants to be woken writes the index
 *     of the entry whose publication (or consumption) should wake it; the other side
 *     notifies only when a publish moved its index past that entry.
 *
 * The layout, every index and every barrier rule are documented in ring-io/README.md.
 * Barriers are C11-style __atomic operations; the comments name each one (P1..P4 on
 * the producer side, C1..C4 on the consumer side) and the barrier it pairs with.
 */
#ifndef RINGIO_H
#define RINGIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ------------------------------------------------------------------- */

#define RINGIO_CACHE_LINE 64u  /* each shared index has a line of its own */
#define RINGIO_MAX_ORDER  30u  /* at most 2^30 entries, so counts fit an int */
#define RINGIO_HDR_SIZE   256u /* sizeof(struct ringio_hdr) */

/* Return values. Counts are >= 0; errors are negative. */
#define RINGIO_BROKEN (-1) /* the peer broke the protocol, or the ring was disconnected */
#define RINGIO_EINVAL (-2) /* bad argument from the caller (never caused by the peer) */

/* Why a handle is broken (ringio_prod_fault / ringio_cons_fault). */
enum ringio_fault {
    RINGIO_FAULT_NONE = 0,
    RINGIO_FAULT_PROD_INDEX = 1,   /* producer index claims > size entries, or went back */
    RINGIO_FAULT_CONS_INDEX = 2,   /* consumer index passed what was published, or went back */
    RINGIO_FAULT_DISCONNECTED = 3  /* disconnected locally (ringio_*_disconnect) */
};

/* ---- shared memory ---------------------------------------------------------------- */

/*
 * The shared ring header: 256 bytes, 64-byte aligned, followed (anywhere the two sides
 * agree on) by the entry array. Each index is written by one side only:
 *
 *   prod        producer  number of entries ever published (free-running, wraps at 2^32)
 *   prod_event  consumer  "notify me when entry prod_event is published" (prod passes it)
 *   cons        consumer  number of entries ever consumed (their slots may be reused)
 *   cons_event  producer  "notify me when entry cons_event is consumed" (cons passes it)
 *
 * Entry i (a free-running index) lives in slot i & (size - 1).
 */
struct ringio_hdr {
    uint32_t prod;
    uint8_t pad_prod[RINGIO_CACHE_LINE - 4];
    uint32_t prod_event;
    uint8_t pad_prod_event[RINGIO_CACHE_LINE - 4];
    uint32_t cons;
    uint8_t pad_cons[RINGIO_CACHE_LINE - 4];
    uint32_t cons_event;
    uint8_t pad_cons_event[RINGIO_CACHE_LINE - 4];
};

typedef char ringio_check_hdr_size[sizeof(struct ringio_hdr) == RINGIO_HDR_SIZE ? 1 : -1];
typedef char ringio_check_hdr_lines[offsetof(struct ringio_hdr, cons_event) ==
                                    3 * RINGIO_CACHE_LINE ? 1 : -1];

/* ---- private handles ---------------------------------------------------------------- */

/* The producer's private state. Never placed in shared memory. */
struct ringio_prod {
    struct ringio_hdr *hdr;   /* shared header */
    unsigned char *ents;      /* shared entry array, (mask + 1) * esize bytes */
    uint32_t mask;            /* size - 1 */
    uint32_t esize;           /* bytes per entry */
    uint32_t prod;            /* next entry to write (written but unpublished included) */
    uint32_t pub;             /* last value stored to hdr->prod */
    uint32_t cons;            /* last validated value of hdr->cons */
    uint32_t fault;           /* enum ringio_fault; sticky once set */
};

/* The consumer's private state. Never placed in shared memory. */
struct ringio_cons {
    struct ringio_hdr *hdr;
    unsigned char *ents;
    uint32_t mask;
    uint32_t esize;
    uint32_t cons;            /* next entry to read (read but unpublished included) */
    uint32_t pub;             /* last value stored to hdr->cons */
    uint32_t prod;            /* last validated value of hdr->prod */
    uint32_t fault;
};

/* ---- the event-index rule --------------------------------------------------------- */

/*
 * True when an index that moved from `old` to `now` (fewer than 2^31 steps, modulo 2^32)
 * passed `event`, that is old <= event < now in free-running arithmetic: the peer asked
 * to be woken when entry `event` was published (or consumed), and this move did it.
 */
static inline bool ringio_event_crossed(uint32_t event, uint32_t old, uint32_t now)
{
    return (uint32_t)(now - event - 1u) < (uint32_t)(now - old);
}

/* ---- set-up ----------------------------------------------------------------------- */

/*
 * Put a fresh header in shared memory: both indices at `start` (normally 0; tests use
 * values near UINT32_MAX), both events at `start` too (the first publish notifies).
 * Done by whichever side allocates the ring, before the peer can see it.
 */
static inline void ringio_hdr_reset(struct ringio_hdr *hdr, uint32_t start)
{
    unsigned char *b = (unsigned char *)hdr;
    for (size_t i = 0; i < sizeof(*hdr); i++)
        b[i] = 0;
    hdr->prod = start;
    hdr->cons = start;
    hdr->prod_event = start;
    hdr->cons_event = start;
    __atomic_thread_fence(__ATOMIC_RELEASE); /* before the ring is handed to the peer */
}

/* Bytes of entry array for 2^order entries of esize bytes (0 if that overflows). */
static inline size_t ringio_ents_bytes(uint32_t order, uint32_t esize)
{
    if (order > RINGIO_MAX_ORDER || esize == 0 || (size_t)esize > (SIZE_MAX >> order))
        return 0;
    return (size_t)esize << order;
}

static inline int ringio_impl_check_geometry(const struct ringio_hdr *hdr, const void *ents,
                                             uint32_t order, uint32_t esize)
{
    if (hdr == NULL || ents == NULL || ((uintptr_t)hdr & (RINGIO_CACHE_LINE - 1)) != 0)
        return RINGIO_EINVAL;
    if (ringio_ents_bytes(order, esize) == 0)
        return RINGIO_EINVAL;
    return 0;
}

/* A handle that attach refused: broken from the start, never touches memory. */
static inline void ringio_impl_prod_detached(struct ringio_prod *p)
{
    p->hdr = NULL;
    p->ents = NULL;
    p->mask = p->esize = p->prod = p->pub = p->cons = 0;
    p->fault = RINGIO_FAULT_DISCONNECTED;
}
static inline void ringio_impl_cons_detached(struct ringio_cons *c)
{
    c->hdr = NULL;
    c->ents = NULL;
    c->mask = c->esize = c->cons = c->pub = c->prod = 0;
    c->fault = RINGIO_FAULT_DISCONNECTED;
}

/*
 * Attach the producer side to a ring of 2^order entries of esize bytes. The current
 * shared indices become the starting point; if they are already impossible (more than
 * 2^order entries outstanding) the handle starts broken and RINGIO_BROKEN is returned.
 * On RINGIO_EINVAL (NULL pointer, header not 64-byte aligned, order > RINGIO_MAX_ORDER,
 * esize 0, or an array size that overflows size_t) the handle is left disconnected.
 */
static inline int ringio_prod_attach(struct ringio_prod *p, struct ringio_hdr *hdr, void *ents,
                                     uint32_t order, uint32_t esize)
{
    int rc = ringio_impl_check_geometry(hdr, ents, order, esize);
    if (rc != 0) {
        ringio_impl_prod_detached(p);
        return rc;
    }
    p->hdr = hdr;
    p->ents = (unsigned char *)ents;
    p->mask = (uint32_t)((1ull << order) - 1u);
    p->esize = esize;
    p->prod = p->pub = __atomic_load_n(&hdr->prod, __ATOMIC_RELAXED);
    p->cons = __atomic_load_n(&hdr->cons, __ATOMIC_ACQUIRE); /* P2, see ringio_impl_prod_sync */
    p->fault = RINGIO_FAULT_NONE;
    if ((uint32_t)(p->prod - p->cons) > p->mask + 1u) {
        p->cons = p->prod; /* keep the private invariant prod - cons <= size */
        p->fault = RINGIO_FAULT_CONS_INDEX;
        return RINGIO_BROKEN;
    }
    return 0;
}

/* Attach the consumer side; same rules as ringio_prod_attach. */
static inline int ringio_cons_attach(struct ringio_cons *c, struct ringio_hdr *hdr, void *ents,
                                     uint32_t order, uint32_t esize)
{
    int rc = ringio_impl_check_geometry(hdr, ents, order, esize);
    if (rc != 0) {
        ringio_impl_cons_detached(c);
        return rc;
    }
    c->hdr = hdr;
    c->ents = (unsigned char *)ents;
    c->mask = (uint32_t)((1ull << order) - 1u);
    c->esize = esize;
    c->cons = c->pub = __atomic_load_n(&hdr->cons, __ATOMIC_RELAXED);
    c->prod = c->cons;
    c->fault = RINGIO_FAULT_NONE;
    uint32_t prod = __atomic_load_n(&hdr->prod, __ATOMIC_ACQUIRE); /* C1 */
    if ((uint32_t)(prod - c->cons) > c->mask + 1u) {
        c->fault = RINGIO_FAULT_PROD_INDEX;
        return RINGIO_BROKEN;
    }
    c->prod = prod;
    return 0;
}

/* ---- state ------------------------------------------------------------------------ */

static inline uint32_t ringio_prod_size(const struct ringio_prod *p) { return p->mask + 1u; }
static inline uint32_t ringio_cons_size(const struct ringio_cons *c) { return c->mask + 1u; }
static inline bool ringio_prod_broken(const struct ringio_prod *p) { return p->fault != 0; }
static inline bool ringio_cons_broken(const struct ringio_cons *c) { return c->fault != 0; }
static inline enum ringio_fault ringio_prod_fault(const struct ringio_prod *p)
{
    return (enum ringio_fault)p->fault;
}
static inline enum ringio_fault ringio_cons_fault(const struct ringio_cons *c)
{
    return (enum ringio_fault)c->fault;
}

/*
 * Stop using the ring: afterwards every call on this handle returns RINGIO_BROKEN and
 * touches no shared memory, so the caller may unmap or revoke it. Use after the handle
 * reported RINGIO_BROKEN, or to cut off a peer for any other reason. Idempotent.
 */
static inline void ringio_prod_disconnect(struct ringio_prod *p)
{
    if (p->fault == RINGIO_FAULT_NONE)
        p->fault = RINGIO_FAULT_DISCONNECTED;
}
static inline void ringio_cons_disconnect(struct ringio_cons *c)
{
    if (c->fault == RINGIO_FAULT_NONE)
        c->fault = RINGIO_FAULT_DISCONNECTED;
}

/* ---- producer ----------------------------------------------------------------------- */

/*
 * Read and validate the consumer's index. It may only move forward, and never past
 * what this producer has published: cons in [p->cons, p->pub], modulo 2^32.
 *
 * P2 (acquire load of hdr->cons) pairs with C2 (the consumer's release store of
 * hdr->cons): the consumer's copies out of the slots it released happen before our
 * writes into them.
 */
static inline bool ringio_impl_prod_check(struct ringio_prod *p, uint32_t cons)
{
    if ((uint32_t)(cons - p->cons) > (uint32_t)(p->pub - p->cons)) {
        p->fault = RINGIO_FAULT_CONS_INDEX;
        return false;
    }
    p->cons = cons;
    return true;
}
static inline bool ringio_impl_prod_sync(struct ringio_prod *p)
{
    return ringio_impl_prod_check(p, __atomic_load_n(&p->hdr->cons, __ATOMIC_ACQUIRE)); /* P2 */
}

/* Free slots now (re-reads the consumer index), or RINGIO_BROKEN. */
static inline int ringio_prod_space(struct ringio_prod *p)
{
    if (p->fault != 0 || !ringio_impl_prod_sync(p))
        return RINGIO_BROKEN;
    return (int)(p->mask + 1u - (p->prod - p->cons));
}

/* Copy in up to n entries without publishing them; esize is p->esize (or a constant). */
__attribute__((always_inline))
static inline int ringio_impl_write(struct ringio_prod *p, const void *src, uint32_t n,
                                    uint32_t esize)
{
    if (p->fault != 0)
        return RINGIO_BROKEN;
    uint32_t size = p->mask + 1u;
    uint32_t space = size - (p->prod - p->cons);
    if (space < n) { /* the cached consumer index says no: look again */
        if (!ringio_impl_prod_sync(p))
            return RINGIO_BROKEN;
        space = size - (p->prod - p->cons);
        if (n > space)
            n = space;
    }
    uint32_t slot = p->prod & p->mask;
    uint32_t first = size - slot < n ? size - slot : n;
    const unsigned char *s = (const unsigned char *)src;
    __builtin_memcpy(p->ents + (size_t)slot * esize, s, (size_t)first * esize);
    if (n > first)
        __builtin_memcpy(p->ents, s + (size_t)first * esize, (size_t)(n - first) * esize);
    p->prod += n;
    return (int)n;
}

/*
 * Publish every entry written so far. With notify == NULL (the consumer polls) this is
 * one release store. Otherwise *notify is set to whether the consumer asked to be
 * woken at an index this publish crossed; the caller then sends its event.
 *
 * P1 (release store of hdr->prod) pairs with C1 (the consumer's acquire load of
 * hdr->prod): our entry writes happen before the consumer's copies of them.
 * P3 (seq_cst exchange of hdr->prod, then seq_cst load of hdr->prod_event) pairs with
 * C3 (the consumer's seq_cst store of hdr->prod_event, then seq_cst load of hdr->prod):
 * in the single total order of seq_cst operations one of the two stores comes first, so
 * either we see the new event (and notify) or the consumer sees the new entries (and
 * does not sleep). P3 also provides P1's release ordering.
 */
static inline int ringio_prod_publish(struct ringio_prod *p, bool *notify)
{
    if (notify != NULL)
        *notify = false;
    if (p->fault != 0)
        return RINGIO_BROKEN;
    uint32_t old = p->pub, now = p->prod;
    if (old == now)
        return 0;
    p->pub = now;
    if (notify == NULL) {
        __atomic_store_n(&p->hdr->prod, now, __ATOMIC_RELEASE); /* P1 */
    } else {
        (void)__atomic_exchange_n(&p->hdr->prod, now, __ATOMIC_SEQ_CST); /* P3 (and P1) */
        uint32_t event = __atomic_load_n(&p->hdr->prod_event, __ATOMIC_SEQ_CST); /* P3 */
        *notify = ringio_event_crossed(event, old, now);
    }
    return 0;
}

/* Write up to n entries and publish them: one index update, one notification check. */
__attribute__((always_inline))
static inline int ringio_impl_produce(struct ringio_prod *p, const void *src, uint32_t n,
                                      uint32_t esize, bool *notify)
{
    int done = ringio_impl_write(p, src, n, esize);
    if (done < 0) {
        if (notify != NULL)
            *notify = false;
        return done;
    }
    ringio_prod_publish(p, notify);
    return done;
}

/* Copy in up to n entries (p->esize bytes each) without publishing; returns the count. */
static inline int ringio_prod_write(struct ringio_prod *p, const void *src, uint32_t n)
{
    return ringio_impl_write(p, src, n, p->esize);
}

/* Produce up to n entries: returns how many (0 when full) or RINGIO_BROKEN. */
static inline int ringio_produce(struct ringio_prod *p, const void *src, uint32_t n,
                                 bool *notify)
{
    return ringio_impl_produce(p, src, n, p->esize, notify);
}

/* Produce one entry: 1, 0 when full, or RINGIO_BROKEN. */
static inline int ringio_produce_one(struct ringio_prod *p, const void *src, bool *notify)
{
    return ringio_impl_produce(p, src, 1, p->esize, notify);
}

/*
 * Ask to be notified once at least `want` slots are free (1 <= want <= size), then look
 * again. Returns the free slots seen after arming: if that is >= want, do not wait.
 * Otherwise wait for the consumer's notification, then call again.
 *
 * P4 (seq_cst store of hdr->cons_event, then seq_cst load of hdr->cons) pairs with C4
 * in ringio_cons_publish; the load is also an acquire (P2).
 */
static inline int ringio_prod_arm(struct ringio_prod *p, uint32_t want)
{
    if (p->fault != 0)
        return RINGIO_BROKEN;
    if (want == 0 || want > p->mask + 1u)
        return RINGIO_EINVAL;
    /* free >= want  <=>  cons >= prod - size + want  <=>  entry prod - size + want - 1
     * has been consumed */
    __atomic_store_n(&p->hdr->cons_event, p->prod - (p->mask + 1u) + want - 1u,
                     __ATOMIC_SEQ_CST);
    if (!ringio_impl_prod_check(p, __atomic_load_n(&p->hdr->cons, __ATOMIC_SEQ_CST))) /* P4 */
        return RINGIO_BROKEN;
    return (int)(p->mask + 1u - (p->prod - p->cons));
}

/* ---- consumer ----------------------------------------------------------------------- */

/*
 * Validate a producer index read from shared memory. It may only move forward, and by
 * no more than the free slots: prod in [c->prod, c->cons + size], modulo 2^32. (So it
 * claims at most `size` entries, and never fewer than were already seen.)
 *
 * C1 (acquire load of hdr->prod) pairs with P1: the producer's writes of the entries
 * below the index we read happen before our copies of them.
 */
static inline bool ringio_impl_cons_check(struct ringio_cons *c, uint32_t prod)
{
    if ((uint32_t)(prod - c->prod) > (uint32_t)(c->cons + c->mask + 1u - c->prod)) {
        c->fault = RINGIO_FAULT_PROD_INDEX;
        return false;
    }
    c->prod = prod;
    return true;
}
static inline bool ringio_impl_cons_sync(struct ringio_cons *c)
{
    return ringio_impl_cons_check(c, __atomic_load_n(&c->hdr->prod, __ATOMIC_ACQUIRE)); /* C1 */
}

/* Entries available now (re-reads the producer index), or RINGIO_BROKEN. */
static inline int ringio_cons_avail(struct ringio_cons *c)
{
    if (c->fault != 0 || !ringio_impl_cons_sync(c))
        return RINGIO_BROKEN;
    return (int)(c->prod - c->cons);
}

/* Copy out up to n entries into dst, without releasing their slots. */
__attribute__((always_inline))
static inline int ringio_impl_read(struct ringio_cons *c, void *dst, uint32_t n, uint32_t esize)
{
    if (c->fault != 0)
        return RINGIO_BROKEN;
    uint32_t avail = c->prod - c->cons;
    if (avail < n) { /* the cached producer index says no: look again */
        if (!ringio_impl_cons_sync(c))
            return RINGIO_BROKEN;
        avail = c->prod - c->cons;
        if (n > avail)
            n = avail;
    }
    uint32_t size = c->mask + 1u;
    uint32_t slot = c->cons & c->mask;
    uint32_t first = size - slot < n ? size - slot : n;
    unsigned char *d = (unsigned char *)dst;
    /* The only reads of entry memory: each byte once, into the caller's storage. */
    __builtin_memcpy(d, c->ents + (size_t)slot * esize, (size_t)first * esize);
    if (n > first)
        __builtin_memcpy(d + (size_t)first * esize, c->ents, (size_t)(n - first) * esize);
    c->cons += n;
    return (int)n;
}

/*
 * Release the slots of every entry read so far. notify as in ringio_prod_publish: NULL
 * when the producer never waits for space.
 *
 * C2 (release store of hdr->cons) pairs with P2: our copies out of the slots happen
 * before the producer's next writes into them.
 * C4 (seq_cst exchange of hdr->cons, then seq_cst load of hdr->cons_event) pairs with
 * P4 in ringio_prod_arm: either we see the producer's event or it sees our index.
 */
static inline int ringio_cons_publish(struct ringio_cons *c, bool *notify)
{
    if (notify != NULL)
        *notify = false;
    if (c->fault != 0)
        return RINGIO_BROKEN;
    uint32_t old = c->pub, now = c->cons;
    if (old == now)
        return 0;
    c->pub = now;
    if (notify == NULL) {
        __atomic_store_n(&c->hdr->cons, now, __ATOMIC_RELEASE); /* C2 */
    } else {
        (void)__atomic_exchange_n(&c->hdr->cons, now, __ATOMIC_SEQ_CST); /* C4 (and C2) */
        uint32_t event = __atomic_load_n(&c->hdr->cons_event, __ATOMIC_SEQ_CST); /* C4 */
        *notify = ringio_event_crossed(event, old, now);
    }
    return 0;
}

__attribute__((always_inline))
static inline int ringio_impl_consume(struct ringio_cons *c, void *dst, uint32_t n,
                                      uint32_t esize, bool *notify)
{
    int done = ringio_impl_read(c, dst, n, esize);
    if (done < 0) {
        if (notify != NULL)
            *notify = false;
        return done;
    }
    ringio_cons_publish(c, notify);
    return done;
}

/* Copy out up to n entries (c->esize bytes each) without releasing; returns the count. */
static inline int ringio_cons_read(struct ringio_cons *c, void *dst, uint32_t n)
{
    return ringio_impl_read(c, dst, n, c->esize);
}

/*
 * Borrowing: work on entries in place instead of copying them. peek returns the slot of
 * the next entry and lowers *n to the entries that follow it contiguously in the slot
 * array, as far as the last ringio_cons_avail / ringio_prod_space saw (0 on a broken
 * ring). The slots are shared memory a hostile peer can still write: read each field of
 * a borrowed entry once. advance(k) moves past k of them (clamped to what peek could
 * give); publish then releases or posts them as after a read or write.
 */
static inline const void *ringio_cons_peek(const struct ringio_cons *c, uint32_t *n)
{
    uint32_t slot = c->cons & c->mask, avail = c->fault ? 0 : c->prod - c->cons;
    uint32_t run = c->mask + 1u - slot;
    if (*n > avail)
        *n = avail;
    if (*n > run)
        *n = run;
    return c->ents + (size_t)slot * c->esize;
}

static inline void ringio_cons_advance(struct ringio_cons *c, uint32_t k)
{
    uint32_t avail = c->fault ? 0 : c->prod - c->cons;
    c->cons += k < avail ? k : avail;
}

static inline void *ringio_prod_peek(const struct ringio_prod *p, uint32_t *n)
{
    uint32_t slot = p->prod & p->mask, size = p->mask + 1u;
    uint32_t space = p->fault ? 0 : size - (p->prod - p->cons), run = size - slot;
    if (*n > space)
        *n = space;
    if (*n > run)
        *n = run;
    return p->ents + (size_t)slot * p->esize;
}

static inline void ringio_prod_advance(struct ringio_prod *p, uint32_t k)
{
    uint32_t space = p->fault ? 0 : p->mask + 1u - (p->prod - p->cons);
    p->prod += k < space ? k : space;
}

/* Consume up to n entries into dst: returns how many (0 when empty) or RINGIO_BROKEN. */
static inline int ringio_consume(struct ringio_cons *c, void *dst, uint32_t n, bool *notify)
{
    return ringio_impl_consume(c, dst, n, c->esize, notify);
}

/* Consume one entry: 1, 0 when empty, or RINGIO_BROKEN. */
static inline int ringio_consume_one(struct ringio_cons *c, void *dst, bool *notify)
{
    return ringio_impl_consume(c, dst, 1, c->esize, notify);
}

/*
 * Ask to be notified once at least `want` entries are available (1 <= want <= size),
 * then look again. Returns the entries available after arming: if >= want, do not wait.
 *
 * C3 (seq_cst store of hdr->prod_event, then seq_cst load of hdr->prod) pairs with P3;
 * the load is also an acquire (C1).
 */
static inline int ringio_cons_arm(struct ringio_cons *c, uint32_t want)
{
    if (c->fault != 0)
        return RINGIO_BROKEN;
    if (want == 0 || want > c->mask + 1u)
        return RINGIO_EINVAL;
    /* avail >= want  <=>  entry cons + want - 1 has been published */
    __atomic_store_n(&c->hdr->prod_event, c->cons + want - 1u, __ATOMIC_SEQ_CST);
    if (!ringio_impl_cons_check(c, __atomic_load_n(&c->hdr->prod, __ATOMIC_SEQ_CST))) /* C3 */
        return RINGIO_BROKEN;
    return (int)(c->prod - c->cons);
}

/* ---- request/response pairs --------------------------------------------------------- */

/*
 * A pair is one shared area holding a request ring (front end produces, back end
 * consumes) and a response ring (back end produces, front end consumes):
 *
 *   0                  request ring header   (256 bytes)
 *   256                response ring header  (256 bytes)
 *   512                request entries       (2^req_order * req_esize bytes)
 *   rsp_ents_off       response entries      (2^rsp_order * rsp_esize bytes),
 *                      rsp_ents_off = 512 + request bytes rounded up to 64
 *   bytes              end of the area
 *
 * The two sides compute the same layout from the same four numbers (agreed out of
 * band, never read from the shared area).
 */
struct ringio_pair_layout {
    uint32_t req_order, req_esize;
    uint32_t rsp_order, rsp_esize;
    size_t req_hdr_off, rsp_hdr_off;
    size_t req_ents_off, rsp_ents_off;
    size_t bytes;
};

static inline int ringio_pair_layout_init(struct ringio_pair_layout *l, uint32_t req_order,
                                          uint32_t req_esize, uint32_t rsp_order,
                                          uint32_t rsp_esize)
{
    size_t req = ringio_ents_bytes(req_order, req_esize);
    size_t rsp = ringio_ents_bytes(rsp_order, rsp_esize);
    /* On error the layout is all zero, which every attach refuses (esize 0). */
    l->req_order = l->req_esize = l->rsp_order = l->rsp_esize = 0;
    l->req_hdr_off = l->rsp_hdr_off = l->req_ents_off = l->rsp_ents_off = l->bytes = 0;
    if (req == 0 || rsp == 0)
        return RINGIO_EINVAL;
    size_t req_pad = (req + RINGIO_CACHE_LINE - 1u) & ~(size_t)(RINGIO_CACHE_LINE - 1u);
    if (req_pad < req || req_pad > SIZE_MAX - 2u * RINGIO_HDR_SIZE - rsp)
        return RINGIO_EINVAL;
    l->req_order = req_order;
    l->req_esize = req_esize;
    l->rsp_order = rsp_order;
    l->rsp_esize = rsp_esize;
    l->req_hdr_off = 0;
    l->rsp_hdr_off = RINGIO_HDR_SIZE;
    l->req_ents_off = 2u * RINGIO_HDR_SIZE;
    l->rsp_ents_off = l->req_ents_off + req_pad;
    l->bytes = l->rsp_ents_off + rsp;
    return 0;
}

/*
 * The largest order such that two rings of 2^order entries (req_esize and rsp_esize
 * bytes) fit in `bytes` (for example one 4096-byte page), or -1 if none does.
 */
static inline int ringio_pair_fit(size_t bytes, uint32_t req_esize, uint32_t rsp_esize)
{
    struct ringio_pair_layout l;
    int best = -1;
    for (uint32_t order = 0; order <= RINGIO_MAX_ORDER; order++) {
        if (ringio_pair_layout_init(&l, order, req_esize, order, rsp_esize) != 0 || l.bytes > bytes)
            break;
        best = (int)order;
    }
    return best;
}

/* Fresh headers for both rings of a pair (done by the side that allocates the area). */
static inline void ringio_pair_reset(void *area, const struct ringio_pair_layout *l,
                                     uint32_t start)
{
    unsigned char *a = (unsigned char *)area;
    ringio_hdr_reset((struct ringio_hdr *)(void *)(a + l->req_hdr_off), start);
    ringio_hdr_reset((struct ringio_hdr *)(void *)(a + l->rsp_hdr_off), start);
}

/* The front end produces requests and consumes responses. */
struct ringio_front {
    struct ringio_prod req;
    struct ringio_cons rsp;
};

/* The back end consumes requests and produces responses. */
struct ringio_back {
    struct ringio_cons req;
    struct ringio_prod rsp;
};

static inline int ringio_front_attach(struct ringio_front *f, void *area,
                                      const struct ringio_pair_layout *l)
{
    unsigned char *a = (unsigned char *)area;
    int r1 = ringio_prod_attach(&f->req, (struct ringio_hdr *)(void *)(a + l->req_hdr_off),
                                a + l->req_ents_off, l->req_order, l->req_esize);
    int r2 = ringio_cons_attach(&f->rsp, (struct ringio_hdr *)(void *)(a + l->rsp_hdr_off),
                                a + l->rsp_ents_off, l->rsp_order, l->rsp_esize);
    return r1 < r2 ? r1 : r2;
}

static inline int ringio_back_attach(struct ringio_back *b, void *area,
                                     const struct ringio_pair_layout *l)
{
    unsigned char *a = (unsigned char *)area;
    int r1 = ringio_cons_attach(&b->req, (struct ringio_hdr *)(void *)(a + l->req_hdr_off),
                                a + l->req_ents_off, l->req_order, l->req_esize);
    int r2 = ringio_prod_attach(&b->rsp, (struct ringio_hdr *)(void *)(a + l->rsp_hdr_off),
                                a + l->rsp_ents_off, l->rsp_order, l->rsp_esize);
    return r1 < r2 ? r1 : r2;
}

/* ---- typed wrappers ----------------------------------------------------------------- */

/*
 * RINGIO_TYPED(name, type) defines struct name_prod and struct name_cons (each wrapping
 * a generic handle as member `r`) and typed functions whose entry size is the constant
 * sizeof(type), so single-entry copies compile to plain moves:
 *
 *   int name_prod_attach(struct name_prod *, struct ringio_hdr *, type *ents, order)
 *   int name_cons_attach(struct name_cons *, struct ringio_hdr *, type *ents, order)
 *   int name_write(struct name_prod *, const type *src, uint32_t n)
 *   int name_produce(struct name_prod *, const type *src, uint32_t n, bool *notify)
 *   int name_produce_one(struct name_prod *, const type *src, bool *notify)
 *   int name_read(struct name_cons *, type *dst, uint32_t n)
 *   int name_consume(struct name_cons *, type *dst, uint32_t n, bool *notify)
 *   int name_consume_one(struct name_cons *, type *dst, bool *notify)
 *
 * Everything else (publish, arm, space, avail, broken, disconnect) takes &h->r.
 */
#define RINGIO_TYPED(name, type)                                                           \
    struct name##_prod { struct ringio_prod r; };                                          \
    struct name##_cons { struct ringio_cons r; };                                          \
    static inline int name##_prod_attach(struct name##_prod *p, struct ringio_hdr *hdr,    \
                                         type *ents, uint32_t order)                       \
    {                                                                                      \
        return ringio_prod_attach(&p->r, hdr, ents, order, (uint32_t)sizeof(type));        \
    }                                                                                      \
    static inline int name##_cons_attach(struct name##_cons *c, struct ringio_hdr *hdr,    \
                                         type *ents, uint32_t order)                       \
    {                                                                                      \
        return ringio_cons_attach(&c->r, hdr, ents, order, (uint32_t)sizeof(type));        \
    }                                                                                      \
    static inline int name##_write(struct name##_prod *p, const type *src, uint32_t n)     \
    {                                                                                      \
        return ringio_impl_write(&p->r, src, n, (uint32_t)sizeof(type));                   \
    }                                                                                      \
    static inline int name##_produce(struct name##_prod *p, const type *src, uint32_t n,   \
                                     bool *notify)                                         \
    {                                                                                      \
        return ringio_impl_produce(&p->r, src, n, (uint32_t)sizeof(type), notify);         \
    }                                                                                      \
    static inline int name##_produce_one(struct name##_prod *p, const type *src,           \
                                         bool *notify)                                     \
    {                                                                                      \
        return ringio_impl_produce(&p->r, src, 1, (uint32_t)sizeof(type), notify);         \
    }                                                                                      \
    static inline int name##_read(struct name##_cons *c, type *dst, uint32_t n)            \
    {                                                                                      \
        return ringio_impl_read(&c->r, dst, n, (uint32_t)sizeof(type));                    \
    }                                                                                      \
    static inline int name##_consume(struct name##_cons *c, type *dst, uint32_t n,         \
                                     bool *notify)                                         \
    {                                                                                      \
        return ringio_impl_consume(&c->r, dst, n, (uint32_t)sizeof(type), notify);         \
    }                                                                                      \
    static inline int name##_consume_one(struct name##_cons *c, type *dst, bool *notify)   \
    {                                                                                      \
        return ringio_impl_consume(&c->r, dst, 1, (uint32_t)sizeof(type), notify);         \
    }                                                                                      \
    typedef char name##_ringio_typed_ok /* the caller's semicolon ends this */

#ifdef __cplusplus
}
#endif

#endif /* RINGIO_H */
