/*
 * tests/ringbench/ringbench.c: host benchmark of ring-io against Concurrency Kit's
 * ck_ring, DPDK's rte_ring and Xen's io/ring.h, all in one run.
 *
 *   ringbench [-r ROUNDS] [-q] [CSV]
 *
 * Set-up, the same for every implementation: 1024 slots of 8 bytes (a 64-bit sequence
 * number; ck and rte store it as a void *), produced by the main thread pinned to the
 * first allowed CPU and consumed by one consumer thread pinned to the second, both
 * spinning (with pause) when the ring is full or empty. The consumer checks every value
 * (no loss, duplicate or reordering). The consumer thread lives as long as the program
 * and spins between runs, so neither vCPU goes idle (the host moves and deschedules idle
 * vCPUs). If pinning is impossible (one CPU, or the call fails) the output says so and
 * the threads run unpinned.
 *
 * A run moves n entries; ops/s = n / (time from handing the consumer its job to its last
 * entry). n is calibrated per implementation and mode for runs of about 5 ms (-q: 2 ms);
 * the calibration runs are the warm-up. Short runs are rarely preempted, and a run during
 * which another task preempted either thread (an involuntary context switch in getrusage)
 * is run again, up to 3 runs in all. The measurement is ROUNDS rounds (default 151, cut
 * short at 45 s): each runs every implementation in both modes once, in an order rotated
 * every round, so that drift hits all of them alike. For each implementation and mode the
 * output gives the median ops/s, the min, the max and the spread (interquartile range /
 * median); a ratio is the median of the per-round ratios (both sides measured within the
 * same round). When an implementation that a ratio involves has a spread above 10%, the
 * output says that the ratio is not meaningful this run. The cache-line round trip
 * between the two threads is measured before, after and before every round, and printed:
 * on a virtual machine it depends on where the host places the vCPUs, and it moves every
 * result (by 4x and more here), the ratios too.
 *
 *   single   one entry per call on both sides.
 *   burst32  up to 32 entries per call on both sides; partial bursts are accepted.
 *
 * Implementations:
 *   ringio       ring-io typed wrappers, polling (notify == NULL).
 *   ck           ck_ring_enqueue_spsc / ck_ring_dequeue_spsc. ck has no burst call:
 *                burst32 is a loop of up to 32 single calls (capacity 1023).
 *   rte          rte_ring_init on our own memory (no EAL), RING_F_SP_ENQ|RING_F_SC_DEQ,
 *                rte_ring_sp_enqueue / _sc_dequeue and the _burst calls (capacity 1023).
 *   xenring      Xen's macros on a 64-byte sring header + 1024 entries. A Xen ring frees
 *                a request slot only through a response, so the back end copies each
 *                request out (RING_COPY_REQUEST) and answers it in the same slot, and the
 *                front end reaps (and checks) responses whenever it runs out of slots:
 *                that is how a Xen front end and back end use the ring.
 *   ringio_evt   ring-io driven by events: every publish checks the peer's event index
 *                (notify != NULL: a seq_cst exchange and a load), and a side that finds
 *                the ring empty (consumer) or full (producer) arms its event, looks
 *                again, and if still blocked waits for a notification instead of
 *                polling the ring. A notification is a doorbell, a counter on its own
 *                cache line that the waiter spins on: an event channel without a
 *                hypervisor, so this measures the protocol, not a wake-up's cost.
 *   xenring_evt  the same with Xen's RING_PUSH_*_AND_CHECK_NOTIFY and
 *                RING_FINAL_CHECK_FOR_* (the front end waits for responses).
 *
 * With a CSV path, appends "ring.spsc.<impl>,host,<median ops/s>,ops/s" and
 * "ring.burst32.<impl>,host,<median ops/s>,ops/s" rows, each followed by
 * "ring.<mode>.<impl>.spread,host,<spread as a fraction>,ratio".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../../ring-io/ringio.h"

#if __has_include(<ck_ring.h>)
#include <ck_ring.h>
#define HAVE_CK 1
#endif
#if __has_include(<rte_ring.h>) && defined(RTE_CACHE_LINE_SIZE)
#include <rte_ring.h>
#define HAVE_RTE 1
#endif
#if __has_include(<xen/io/ring.h>)
/* What xenctrl.h provides on x86-64 (Xen's own user-space definitions). */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#define xen_barrier() __asm__ __volatile__("" ::: "memory")
#define xen_mb()      __asm__ __volatile__("lock addl $0, -32(%%rsp)" ::: "memory")
#define xen_rmb()     xen_barrier()
#define xen_wmb()     xen_barrier()
#include <xen/io/ring.h>
#define HAVE_XEN 1
#endif

#define SLOTS_ORDER 10u
#define SLOTS       (1u << SLOTS_ORDER)
#define BURST       32u
#define ALIGNED     __attribute__((aligned(128)))

static inline void relax(void) { __builtin_ia32_pause(); }

/* ---- the implementations ------------------------------------------------------------ */

/* Each gives a reset (a fresh ring before every run) and two thread bodies. The bodies
 * return the number of bad values seen (consumer) or 0, and add to the notify counter. */
struct impl {
    const char *name;
    const char *skip; /* why it is not run, or NULL */
    void (*reset)(void);
    uint64_t (*produce)(uint64_t n, unsigned burst);
    uint64_t (*consume)(uint64_t n, unsigned burst);
};

static uint64_t notifies[2]; /* [0] producer side, [1] consumer side; summed per run */

/* Doorbells for the _evt variants: [0] wakes the producer, [1] the consumer. */
static struct { uint64_t count; char pad[120]; } bells[2] ALIGNED;

static inline void ring_bell(int who)
{
    __atomic_fetch_add(&bells[who].count, 1, __ATOMIC_RELEASE);
}
static inline uint64_t bell_seen(int who)
{
    return __atomic_load_n(&bells[who].count, __ATOMIC_ACQUIRE);
}
/* Called after arming found the ring still blocked: wait for the peer's notification. */
static inline void bell_wait(int who, uint64_t seen)
{
    while (__atomic_load_n(&bells[who].count, __ATOMIC_ACQUIRE) == seen)
        relax();
}

/* ---- ring-io ---- */
RINGIO_TYPED(u64q, uint64_t);

static struct ringio_hdr *rio_hdr;
static uint64_t *rio_ents;
static struct u64q_prod rio_p ALIGNED;
static struct u64q_cons rio_c ALIGNED;

static void rio_reset(void)
{
    if (rio_hdr == NULL) {
        rio_hdr = aligned_alloc(4096, sizeof(*rio_hdr));
        rio_ents = aligned_alloc(4096, SLOTS * sizeof(uint64_t));
    }
    memset(rio_ents, 0, SLOTS * sizeof(uint64_t));
    ringio_hdr_reset(rio_hdr, 0);
    if (u64q_prod_attach(&rio_p, rio_hdr, rio_ents, SLOTS_ORDER) != 0 ||
        u64q_cons_attach(&rio_c, rio_hdr, rio_ents, SLOTS_ORDER) != 0)
        abort();
}

/* evt: check events on publish and notify the peer; when blocked, arm and wait. */
static inline __attribute__((always_inline)) uint64_t
rio_produce_body(uint64_t n, unsigned burst, bool evt)
{
    uint64_t seq = 0, kicks = 0;
    uint64_t buf[BURST];
    bool kick = false;
    while (seq < n) {
        int got;
        if (burst == 1) {
            got = u64q_produce_one(&rio_p, &seq, evt ? &kick : NULL);
        } else {
            unsigned k = n - seq < burst ? (unsigned)(n - seq) : burst;
            for (unsigned i = 0; i < k; i++)
                buf[i] = seq + i;
            got = u64q_produce(&rio_p, buf, k, evt ? &kick : NULL);
        }
        if (got < 0)
            abort();
        seq += (uint64_t)got;
        if (evt && kick) {
            kicks++;
            ring_bell(1);
        }
        if (got == 0) {
            if (evt) {
                uint64_t seen = bell_seen(0);
                int space = ringio_prod_arm(&rio_p.r, 1);
                if (space < 0)
                    abort();
                if (space == 0)
                    bell_wait(0, seen);
            } else {
                relax();
            }
        }
    }
    return kicks;
}

static inline __attribute__((always_inline)) uint64_t
rio_consume_body(uint64_t n, unsigned burst, bool evt, uint64_t *bad)
{
    uint64_t next = 0, kicks = 0;
    uint64_t buf[BURST];
    bool kick = false;
    while (next < n) {
        int got = burst == 1 ? u64q_consume_one(&rio_c, buf, evt ? &kick : NULL)
                             : u64q_consume(&rio_c, buf, burst, evt ? &kick : NULL);
        if (got < 0)
            abort();
        for (int i = 0; i < got; i++)
            *bad += buf[i] != next++;
        if (evt && kick) {
            kicks++;
            ring_bell(0);
        }
        if (got == 0) {
            if (evt) {
                uint64_t seen = bell_seen(1);
                int avail = ringio_cons_arm(&rio_c.r, 1);
                if (avail < 0)
                    abort();
                if (avail == 0)
                    bell_wait(1, seen);
            } else {
                relax();
            }
        }
    }
    return kicks;
}

static uint64_t rio_produce(uint64_t n, unsigned burst)
{
    return burst == 1 ? rio_produce_body(n, 1, false) : rio_produce_body(n, BURST, false);
}
static uint64_t rio_consume(uint64_t n, unsigned burst)
{
    uint64_t bad = 0;
    if (burst == 1)
        rio_consume_body(n, 1, false, &bad);
    else
        rio_consume_body(n, BURST, false, &bad);
    return bad;
}
static uint64_t rio_evt_produce(uint64_t n, unsigned burst)
{
    uint64_t k = burst == 1 ? rio_produce_body(n, 1, true) : rio_produce_body(n, BURST, true);
    __atomic_fetch_add(&notifies[0], k, __ATOMIC_RELAXED);
    return 0;
}
static uint64_t rio_evt_consume(uint64_t n, unsigned burst)
{
    uint64_t bad = 0;
    uint64_t k = burst == 1 ? rio_consume_body(n, 1, true, &bad)
                            : rio_consume_body(n, BURST, true, &bad);
    __atomic_fetch_add(&notifies[1], k, __ATOMIC_RELAXED);
    return bad;
}

/* ---- Concurrency Kit ---- */
#ifdef HAVE_CK
static ck_ring_t ck_r ALIGNED;
static ck_ring_buffer_t ck_buf[SLOTS] ALIGNED;

static void ck_reset(void)
{
    memset(ck_buf, 0, sizeof(ck_buf));
    ck_ring_init(&ck_r, SLOTS);
}

static uint64_t ck_produce(uint64_t n, unsigned burst)
{
    uint64_t seq = 0;
    while (seq < n) {
        unsigned k = n - seq < burst ? (unsigned)(n - seq) : burst, i = 0;
        while (i < k && ck_ring_enqueue_spsc(&ck_r, ck_buf, (void *)(uintptr_t)(seq + i)))
            i++;
        seq += i;
        if (i == 0)
            relax();
    }
    return 0;
}

static uint64_t ck_consume(uint64_t n, unsigned burst)
{
    uint64_t next = 0, bad = 0;
    while (next < n) {
        unsigned i = 0;
        void *v;
        while (i < burst && ck_ring_dequeue_spsc(&ck_r, ck_buf, &v)) {
            bad += (uint64_t)(uintptr_t)v != next++;
            i++;
        }
        if (i == 0)
            relax();
    }
    return bad;
}
#endif

/* ---- DPDK ---- */
#ifdef HAVE_RTE
static struct rte_ring *rte_r;
static const char *rte_skip;

static void rte_setup(void)
{
    ssize_t sz = rte_ring_get_memsize(SLOTS);
    if (sz < 0) {
        rte_skip = "rte_ring_get_memsize failed";
        return;
    }
    size_t bytes = ((size_t)sz + 4095) & ~(size_t)4095;
    rte_r = aligned_alloc(4096, bytes);
    if (rte_r == NULL || rte_ring_init(rte_r, "ringbench", SLOTS,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ) != 0)
        rte_skip = "rte_ring_init on our own memory failed (without EAL)";
}

static void rte_reset(void)
{
    if (rte_ring_init(rte_r, "ringbench", SLOTS, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0)
        abort();
}

static uint64_t rte_produce(uint64_t n, unsigned burst)
{
    uint64_t seq = 0;
    void *buf[BURST];
    while (seq < n) {
        if (burst == 1) {
            if (rte_ring_sp_enqueue(rte_r, (void *)(uintptr_t)seq) == 0)
                seq++;
            else
                relax();
            continue;
        }
        unsigned k = n - seq < burst ? (unsigned)(n - seq) : burst;
        for (unsigned i = 0; i < k; i++)
            buf[i] = (void *)(uintptr_t)(seq + i);
        unsigned got = rte_ring_sp_enqueue_burst(rte_r, buf, k, NULL);
        seq += got;
        if (got == 0)
            relax();
    }
    return 0;
}

static uint64_t rte_consume(uint64_t n, unsigned burst)
{
    uint64_t next = 0, bad = 0;
    void *buf[BURST];
    while (next < n) {
        if (burst == 1) {
            if (rte_ring_sc_dequeue(rte_r, buf) == 0)
                bad += (uint64_t)(uintptr_t)buf[0] != next++;
            else
                relax();
            continue;
        }
        unsigned got = rte_ring_sc_dequeue_burst(rte_r, buf, burst, NULL);
        for (unsigned i = 0; i < got; i++)
            bad += (uint64_t)(uintptr_t)buf[i] != next++;
        if (got == 0)
            relax();
    }
    return bad;
}
#endif

/* ---- Xen ---- */
#ifdef HAVE_XEN
struct xreq { uint64_t v; };
struct xrsp { uint64_t v; };
DEFINE_RING_TYPES(xb, struct xreq, struct xrsp);
#define XEN_BYTES (64 + SLOTS * 8) /* __RING_SIZE() of this is exactly SLOTS */

static xb_sring_t *xen_s;
static xb_front_ring_t xen_front ALIGNED;
static xb_back_ring_t xen_back ALIGNED;

static void xen_reset(void)
{
    if (xen_s == NULL)
        xen_s = aligned_alloc(4096, 3 * 4096);
    memset(xen_s, 0, XEN_BYTES);
    SHARED_RING_INIT(xen_s);
    FRONT_RING_INIT(&xen_front, xen_s, XEN_BYTES);
    BACK_RING_INIT(&xen_back, xen_s, XEN_BYTES);
    if (RING_SIZE(&xen_front) != SLOTS)
        abort();
}

/* Front end: push requests; when short of slots, reap the responses. */
static inline __attribute__((always_inline)) uint64_t
xen_produce_body(uint64_t n, unsigned burst, bool evt, uint64_t *bad)
{
    uint64_t seq = 0, reaped = 0, kicks = 0;
    while (seq < n) {
        unsigned want = n - seq < burst ? (unsigned)(n - seq) : burst;
        unsigned space = RING_FREE_REQUESTS(&xen_front);
        if (space < want) {
            RING_IDX rp = xen_front.sring->rsp_prod;
            xen_rmb(); /* responses after the index */
            if (RING_RESPONSE_PROD_OVERFLOW(&xen_front, rp))
                abort();
            for (RING_IDX i = xen_front.rsp_cons; i != rp; i++) {
                struct xrsp r;
                RING_COPY_RESPONSE(&xen_front, i, &r);
                *bad += r.v != reaped++;
            }
            xen_front.rsp_cons = rp;
            space = RING_FREE_REQUESTS(&xen_front);
            if (space == 0) {
                if (evt) {
                    int more;
                    uint64_t seen = bell_seen(0);
                    RING_FINAL_CHECK_FOR_RESPONSES(&xen_front, more);
                    if (!more)
                        bell_wait(0, seen);
                } else {
                    relax();
                }
                continue;
            }
        }
        unsigned k = want < space ? want : space;
        for (unsigned i = 0; i < k; i++)
            RING_GET_REQUEST(&xen_front, xen_front.req_prod_pvt++)->v = seq++;
        if (evt) {
            int notify;
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&xen_front, notify);
            if (notify) {
                kicks++;
                ring_bell(1);
            }
        } else {
            RING_PUSH_REQUESTS(&xen_front);
        }
    }
    return kicks;
}

/* Back end: copy requests out, answer each in place. */
static inline __attribute__((always_inline)) uint64_t
xen_consume_body(uint64_t n, unsigned burst, bool evt, uint64_t *bad)
{
    uint64_t next = 0, kicks = 0;
    while (next < n) {
        RING_IDX rp = xen_back.sring->req_prod;
        xen_rmb(); /* requests after the index */
        if (RING_REQUEST_PROD_OVERFLOW(&xen_back, rp))
            abort();
        unsigned avail = rp - xen_back.req_cons;
        if (avail == 0) {
            if (evt) {
                int more;
                uint64_t seen = bell_seen(1);
                RING_FINAL_CHECK_FOR_REQUESTS(&xen_back, more);
                if (!more)
                    bell_wait(1, seen);
            } else {
                relax();
            }
            continue;
        }
        unsigned k = avail < burst ? avail : burst;
        for (unsigned i = 0; i < k; i++) {
            struct xreq q;
            RING_COPY_REQUEST(&xen_back, xen_back.req_cons, &q);
            xen_back.req_cons++;
            *bad += q.v != next++;
            RING_GET_RESPONSE(&xen_back, xen_back.rsp_prod_pvt++)->v = q.v;
        }
        if (evt) {
            int notify;
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&xen_back, notify);
            if (notify) {
                kicks++;
                ring_bell(0);
            }
        } else {
            RING_PUSH_RESPONSES(&xen_back);
        }
    }
    return kicks;
}

static uint64_t xen_produce(uint64_t n, unsigned burst)
{
    uint64_t bad = 0;
    if (burst == 1)
        xen_produce_body(n, 1, false, &bad);
    else
        xen_produce_body(n, BURST, false, &bad);
    return bad;
}
static uint64_t xen_consume(uint64_t n, unsigned burst)
{
    uint64_t bad = 0;
    if (burst == 1)
        xen_consume_body(n, 1, false, &bad);
    else
        xen_consume_body(n, BURST, false, &bad);
    return bad;
}
static uint64_t xen_evt_produce(uint64_t n, unsigned burst)
{
    uint64_t bad = 0;
    uint64_t k = burst == 1 ? xen_produce_body(n, 1, true, &bad)
                            : xen_produce_body(n, BURST, true, &bad);
    __atomic_fetch_add(&notifies[0], k, __ATOMIC_RELAXED);
    return bad;
}
static uint64_t xen_evt_consume(uint64_t n, unsigned burst)
{
    uint64_t bad = 0;
    uint64_t k = burst == 1 ? xen_consume_body(n, 1, true, &bad)
                            : xen_consume_body(n, BURST, true, &bad);
    __atomic_fetch_add(&notifies[1], k, __ATOMIC_RELAXED);
    return bad;
}
#endif

/* ---- the harness ------------------------------------------------------------------------ */

enum { IMPL_RINGIO, IMPL_CK, IMPL_RTE, IMPL_XEN, IMPL_RINGIO_EVT, IMPL_XEN_EVT, NIMPL };

static struct impl impls[NIMPL] = {
    [IMPL_RINGIO] = { "ringio", NULL, rio_reset, rio_produce, rio_consume },
#ifdef HAVE_CK
    [IMPL_CK] = { "ck", NULL, ck_reset, ck_produce, ck_consume },
#else
    [IMPL_CK] = { "ck", "ck_ring.h not found (Debian libck-dev)", NULL, NULL, NULL },
#endif
#ifdef HAVE_RTE
    [IMPL_RTE] = { "rte", NULL, rte_reset, rte_produce, rte_consume },
#else
    [IMPL_RTE] = { "rte", "rte_ring.h not found (Debian libdpdk-dev)", NULL, NULL, NULL },
#endif
#ifdef HAVE_XEN
    [IMPL_XEN] = { "xenring", NULL, xen_reset, xen_produce, xen_consume },
#else
    [IMPL_XEN] = { "xenring", "xen/io/ring.h not found (Debian libxen-dev)", NULL, NULL, NULL },
#endif
    [IMPL_RINGIO_EVT] = { "ringio_evt", NULL, rio_reset, rio_evt_produce, rio_evt_consume },
#ifdef HAVE_XEN
    [IMPL_XEN_EVT] = { "xenring_evt", NULL, xen_reset, xen_evt_produce, xen_evt_consume },
#else
    [IMPL_XEN_EVT] = { "xenring_evt", "xen/io/ring.h not found", NULL, NULL, NULL },
#endif
};

/* The polled implementations ringio is compared with (its peers). */
static bool is_polled_peer(int impl)
{
    return impl == IMPL_CK || impl == IMPL_RTE || impl == IMPL_XEN;
}

#define MODES             2
#define MAX_ROUNDS        201
#define DEFAULT_ROUNDS    151
#define MIN_ROUNDS        5     /* the time budget never cuts the measurement below this */
#define RUN_SECONDS       0.005 /* length of one run (short: rarely preempted) */
#define QUICK_SECONDS     0.002 /* the same with -q */
#define CALIBRATE_SECONDS 0.01  /* a calibration run at least this long sets a run's size */
#define BUDGET_SECONDS    45.0  /* no new round starts that would end after this much */
#define SPREAD_LIMIT      0.10  /* a wider spread makes a ratio involving it meaningless */
#define ATTEMPTS          3     /* runs of one implementation per round until one is not
                                 * preempted by another task */

static const unsigned mode_burst[MODES] = { 1, BURST };
static const char *const mode_name[MODES] = { "spsc", "burst32" };

/* One implementation in one mode: the run size and what each measured round gave. */
struct cell {
    uint64_t n;                 /* entries per run, from calibration */
    double ops[MAX_ROUNDS];     /* ops/s of round r, in round order */
    int preempted_runs;         /* measured runs that another task preempted */
    int preempted_rounds;       /* rounds whose value still comes from such a run */
    uint64_t entries;           /* moved by all measured runs */
    uint64_t notifications[2];  /* producer side, consumer side, over all measured runs */
};
static struct cell cells[NIMPL][MODES];

static int cpus[2] = { -1, -1 }; /* producer's and consumer's CPU, -1: not pinned */
static bool consumer_unpinned;   /* pinning the consumer thread failed */

/* Seconds from a to b. */
static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Seconds on the monotonic clock since an arbitrary origin. */
static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Pin the calling thread to cpu (nothing for -1); 0 or an error number. */
static int pin(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The consumer thread: started once, pinned once, and spinning between jobs so that its
 * vCPU never goes idle (the host moves and deschedules idle vCPUs). The main thread,
 * pinned to the other CPU, is the producer of every run: it sets a job's fields, bumps
 * `posted`, does its side, and waits for `finished` to reach the same generation. */
enum job { JOB_CONSUME, JOB_PONG, JOB_EXIT };
static struct {
    uint64_t posted ALIGNED; /* written by the main thread */
    enum job job;
    const struct impl *im;
    uint64_t n;              /* entries to consume, or round trips to answer */
    unsigned burst;
    uint64_t finished ALIGNED; /* written by the consumer thread, like what follows */
    uint64_t bad;
    long preemptions;
    struct timespec end;
} worker;
static pthread_t consumer;

/* Round trip of one cache line between the two pinned threads: the host decides where
 * our two vCPUs run, and every result scales with this. */
static uint64_t pp_flag ALIGNED;
#define PP_TRIPS       200000u /* before and after the measurement */
#define PP_ROUND_TRIPS 2000u   /* before every round: a millisecond or less */

/* Involuntary context switches of the calling thread so far: another task preempted it. */
static long preemptions_so_far(void)
{
    struct rusage usage;
    return getrusage(RUSAGE_THREAD, &usage) == 0 ? usage.ru_nivcsw : 0;
}

/* The answering side of pingpong_ns: `trips` round trips on pp_flag. */
static void pong(uint64_t trips)
{
    for (uint64_t i = 1; i < 2 * trips; i += 2) {
        while (__atomic_load_n(&pp_flag, __ATOMIC_ACQUIRE) != i)
            ;
        __atomic_store_n(&pp_flag, i + 1, __ATOMIC_RELEASE);
    }
}

/* Body of the consumer thread: run each posted job until JOB_EXIT. */
static void *consumer_thread(void *unused)
{
    (void)unused;
    if (pin(cpus[1]) != 0)
        __atomic_store_n(&consumer_unpinned, true, __ATOMIC_RELAXED);
    for (uint64_t seen = 0;;) {
        uint64_t posted;
        while ((posted = __atomic_load_n(&worker.posted, __ATOMIC_ACQUIRE)) == seen) {
            if (cpus[1] < 0)
                sched_yield(); /* unpinned: the producer may need this CPU */
            else
                relax();
        }
        seen = posted;
        switch (worker.job) {
        case JOB_CONSUME: {
            long before = preemptions_so_far();
            worker.bad = worker.im->consume(worker.n, worker.burst);
            clock_gettime(CLOCK_MONOTONIC, &worker.end);
            worker.preemptions = preemptions_so_far() - before;
            break;
        }
        case JOB_PONG:
            pong(worker.n);
            break;
        case JOB_EXIT:
            return NULL;
        }
        __atomic_store_n(&worker.finished, seen, __ATOMIC_RELEASE);
    }
}

/* Start the consumer thread; exits the program when it cannot. */
static void start_consumer(void)
{
    int err = pthread_create(&consumer, NULL, consumer_thread, NULL);
    if (err != 0) {
        fprintf(stderr, "ringbench: pthread_create: %s\n", strerror(err));
        exit(1);
    }
}

/* Hand the consumer thread `job` (its other fields already set); its generation number. */
static uint64_t post_job(enum job job)
{
    worker.job = job;
    return __atomic_add_fetch(&worker.posted, 1, __ATOMIC_RELEASE);
}

/* Wait until the consumer thread has finished the job of generation `gen`. */
static void wait_job(uint64_t gen)
{
    while (__atomic_load_n(&worker.finished, __ATOMIC_ACQUIRE) != gen)
        relax();
}

/* Stop the consumer thread and wait for it. */
static void stop_consumer(void)
{
    post_job(JOB_EXIT);
    pthread_join(consumer, NULL);
}

/* What one run measured. */
struct outcome {
    double ops;     /* entries per second, or -1 after a wrong value */
    bool preempted; /* another task took the CPU of one of the two threads meanwhile */
};

/* One run of n entries on a fresh ring, produced here and consumed by the consumer thread;
 * ops/s counts from posting the job to the last entry consumed. */
static struct outcome run_once(const struct impl *im, uint64_t n, unsigned burst)
{
    im->reset();
    worker.im = im;
    worker.n = n;
    worker.burst = burst;
    long before = preemptions_so_far();
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    uint64_t gen = post_job(JOB_CONSUME);
    uint64_t bad = im->produce(n, burst);
    long preemptions = preemptions_so_far() - before;
    wait_job(gen);
    bad += worker.bad;
    if (bad != 0) {
        fprintf(stderr, "ringbench: %s: %llu wrong values\n", im->name,
                (unsigned long long)bad);
        return (struct outcome){ .ops = -1 };
    }
    return (struct outcome){
        .ops = (double)n / seconds_between(&start, &worker.end),
        .preempted = preemptions + worker.preemptions != 0,
    };
}

/* Mean nanoseconds of one cache-line round trip between the two threads over `trips`, or
 * 0 when they are not pinned (sharing one CPU, each trip would wait for a time slice). */
static double pingpong_ns(unsigned trips)
{
    if (cpus[0] < 0)
        return 0;
    struct timespec a, b;
    pp_flag = 0;
    worker.n = trips;
    uint64_t gen = post_job(JOB_PONG);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint64_t i = 0; i < 2 * (uint64_t)trips; i += 2) {
        __atomic_store_n(&pp_flag, i + 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&pp_flag, __ATOMIC_ACQUIRE) != i + 2)
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    wait_job(gen);
    return seconds_between(&a, &b) * 1e9 / trips;
}

/* Entries that make a run of im last about `seconds`, from runs growing until one lasts
 * CALIBRATE_SECONDS (these runs are the warm-up: page faults, caches, CPU frequency);
 * 0 when a run saw a wrong value. */
static uint64_t calibrate(const struct impl *im, unsigned burst, double seconds)
{
    uint64_t n = 1u << 14;
    for (;;) {
        double ops = run_once(im, n, burst).ops;
        if (ops < 0)
            return 0;
        if ((double)n / ops >= CALIBRATE_SECONDS)
            return (uint64_t)(ops * seconds) + 1;
        n *= 4;
    }
}

/* Choose two distinct allowed CPUs, check that a thread can be pinned to each, and leave
 * the calling (producer) thread pinned to the first; when that is impossible, say why
 * and leave cpus[] at -1 (the threads run unpinned). */
static void pick_cpus(void)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
        printf("  threads NOT pinned: sched_getaffinity: %s\n", strerror(errno));
        return;
    }
    int found[2], count = 0;
    for (int c = 0; c < CPU_SETSIZE && count < 2; c++)
        if (CPU_ISSET(c, &allowed))
            found[count++] = c;
    if (count < 2) {
        printf("  threads NOT pinned: %d CPU allowed (%ld online); producer and consumer "
               "share it, so the numbers measure the scheduler more than the rings\n",
               count, sysconf(_SC_NPROCESSORS_ONLN));
        return;
    }
    for (int k = 1; k >= 0; k--) {
        int err = pin(found[k]);
        if (err != 0) {
            printf("  threads NOT pinned: pinning to cpu %d failed: %s\n", found[k],
                   strerror(err));
            pthread_setaffinity_np(pthread_self(), sizeof(allowed), &allowed);
            return;
        }
    }
    cpus[0] = found[0];
    cpus[1] = found[1];
}

/* Order for qsort: ascending doubles. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The value a fraction q (0..1) of the way through sorted[0..count-1], interpolated. */
static double quantile(const double *sorted, int count, double q)
{
    double pos = q * (count - 1);
    int below = (int)pos;
    if (below + 1 >= count)
        return sorted[count - 1];
    return sorted[below] + (pos - below) * (sorted[below + 1] - sorted[below]);
}

/* What a set of samples says: the median, the extremes, and the spread, the interquartile
 * range relative to the median (robust to one run the host interrupted). */
struct stats {
    double median, min, max, q1, q3, spread;
};

/* Summary of samples[0..count-1] (count >= 1; the samples are left in order). */
static struct stats summarize(const double *samples, int count)
{
    double sorted[MAX_ROUNDS];
    memcpy(sorted, samples, (size_t)count * sizeof(double));
    qsort(sorted, (size_t)count, sizeof(double), cmp_double);
    struct stats s = {
        .median = quantile(sorted, count, 0.5),
        .min = sorted[0],
        .max = sorted[count - 1],
        .q1 = quantile(sorted, count, 0.25),
        .q3 = quantile(sorted, count, 0.75),
    };
    s.spread = s.median > 0 ? (s.q3 - s.q1) / s.median : 0;
    return s;
}

/* Summary of the per-round ratios cells[a][m] / cells[b][m] over `rounds` rounds: each
 * round ran both close together in time, so this cancels drift between rounds. */
static struct stats paired_ratio(int a, int b, int m, int rounds)
{
    double ratios[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        ratios[r] = cells[a][m].ops[r] / cells[b][m].ops[r];
    return summarize(ratios, rounds);
}

/* Print subject / reference in mode m as the median of the per-round ratios (with their
 * quartiles) and the ratio of the medians, then either a verdict or, when an implementation
 * in the `involved` mask (bits by impl index) has an ops/s spread above SPREAD_LIMIT, a
 * warning that the ratio is not meaningful this run. */
static void print_ratio(int m, int subject, int reference, unsigned involved, int rounds,
                        const struct stats st[NIMPL][MODES])
{
    struct stats paired = paired_ratio(subject, reference, m, rounds);
    printf("%s: %s / %s = %.2f (median of %d per-round ratios, quartiles %.2f..%.2f, "
           "spread %.0f%%; ratio of the medians %.2f)", mode_name[m], impls[subject].name,
           impls[reference].name, paired.median, rounds, paired.q1, paired.q3,
           paired.spread * 100, st[subject][m].median / st[reference][m].median);
    bool noisy = false;
    for (int i = 0; i < NIMPL; i++)
        if ((involved & (1u << i)) && impls[i].skip == NULL &&
            st[i][m].spread > SPREAD_LIMIT) {
            printf("%s%s %.0f%%", noisy ? ", " : "\n  WARNING: ops/s spread above the "
                   "limit (", impls[i].name, st[i][m].spread * 100);
            noisy = true;
        }
    if (noisy)
        printf(" > %.0f%%): this ratio is NOT MEANINGFUL this run\n", SPREAD_LIMIT * 100);
    else
        printf(": %s\n", paired.median >= 1 ? "matches or beats" : "slower");
}

/* Round `round`'s value of implementation i in mode m: the first of up to ATTEMPTS runs
 * that no other task preempted, else the fastest of them; -1 after a wrong value. */
static double measure_cell(int i, int m)
{
    struct cell *c = &cells[i][m];
    double fastest = 0;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        notifies[0] = notifies[1] = 0;
        struct outcome run = run_once(&impls[i], c->n, mode_burst[m]);
        c->entries += c->n;
        c->notifications[0] += notifies[0];
        c->notifications[1] += notifies[1];
        if (run.ops < 0 || !run.preempted)
            return run.ops;
        c->preempted_runs++;
        if (run.ops > fastest)
            fastest = run.ops;
    }
    c->preempted_rounds++;
    return fastest;
}

/* Measure every available implementation in every mode once, in an order rotated by
 * round; false after a wrong value. */
static bool measure_round(int round)
{
    bool ok = true;
    for (int j = 0; j < NIMPL * MODES; j++) {
        int slot = (j + round) % (NIMPL * MODES);
        int i = slot / MODES, m = slot % MODES;
        if (impls[i].skip != NULL)
            continue;
        cells[i][m].ops[round] = measure_cell(i, m);
        ok &= cells[i][m].ops[round] >= 0;
    }
    return ok;
}

/* Print mode m's table: median, extremes, spread, (paired) ratio to the best polled peer,
 * preempted runs and, for the _evt variants, notifications. */
static void print_table(int m, int rounds, int best_peer, const struct stats st[NIMPL][MODES])
{
    printf("\n%s (%s): ops/s over %d rounds\n", mode_name[m],
           m == 0 ? "one entry per call" : "up to 32 entries per call", rounds);
    printf("%-12s %12s %12s %12s %7s %8s %10s   %s\n", "impl", "median", "min", "max",
           "spread", "vs best", "preempted", "notifications per 1000 entries (prod/cons)");
    for (int i = 0; i < NIMPL; i++) {
        if (impls[i].skip != NULL) {
            printf("%-12s %12s\n", impls[i].name, "skipped");
            continue;
        }
        const struct stats *s = &st[i][m];
        const struct cell *c = &cells[i][m];
        printf("%-12s %12.0f %12.0f %12.0f %6.1f%% %8.2f %6d/%-3d", impls[i].name, s->median,
               s->min, s->max, s->spread * 100,
               best_peer >= 0 ? paired_ratio(i, best_peer, m, rounds).median : 0,
               c->preempted_runs, c->preempted_rounds);
        if (strstr(impls[i].name, "_evt") != NULL)
            printf("   %.2f/%.2f", (double)c->notifications[0] * 1000 / (double)c->entries,
                   (double)c->notifications[1] * 1000 / (double)c->entries);
        printf("%s\n", s->spread > SPREAD_LIMIT ? "   <- spread too wide" : "");
    }
    printf("spread: interquartile range / median. vs best: median over the rounds of ops/s / "
           "ops/s of the\nbest polled peer (%s) in the same round. preempted: runs another "
           "task preempted (each\nrun again, up to %d runs in all) / rounds whose value still "
           "comes from one.\n", best_peer >= 0 ? impls[best_peer].name : "none", ATTEMPTS);
}

/* Append mode m's rows to the CSV: the median ops/s and the spread of each implementation. */
static void write_csv(FILE *f, const struct stats st[NIMPL][MODES])
{
    for (int m = 0; m < MODES; m++)
        for (int i = 0; i < NIMPL; i++)
            if (impls[i].skip == NULL) {
                fprintf(f, "ring.%s.%s,host,%.0f,ops/s\n", mode_name[m], impls[i].name,
                        st[i][m].median);
                fprintf(f, "ring.%s.%s.spread,host,%.4f,ratio\n", mode_name[m],
                        impls[i].name, st[i][m].spread);
            }
}

/* Print the usage line and exit with status 2. */
static void usage(void)
{
    fprintf(stderr, "usage: ringbench [-r ROUNDS (1..%d)] [-q] [CSV]\n", MAX_ROUNDS);
    exit(2);
}

int main(int argc, char **argv)
{
    int rounds = DEFAULT_ROUNDS;
    double run_seconds = RUN_SECONDS;
    const char *csv = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "-q") == 0)
            run_seconds = QUICK_SECONDS;
        else if (argv[i][0] == '-')
            usage();
        else
            csv = argv[i];
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);

#ifdef HAVE_RTE
    rte_setup();
    if (rte_skip != NULL)
        impls[IMPL_RTE].skip = rte_skip;
#endif
    printf("ring benchmark: %u slots of 8 bytes; %d rounds, each running every "
           "implementation in both modes for ~%.0f ms, in a rotating order\n",
           SLOTS, rounds, run_seconds * 1000);
    pick_cpus();
    if (cpus[0] >= 0)
        printf("  producer (main thread) pinned to cpu %d, consumer to cpu %d\n", cpus[0],
               cpus[1]);
    start_consumer();
    for (int i = 0; i < NIMPL; i++)
        if (impls[i].skip != NULL)
            printf("  %s: skipped: %s\n", impls[i].name, impls[i].skip);
    double rtt_before = pingpong_ns(PP_TRIPS);

    bool ok = true;
    for (int i = 0; i < NIMPL; i++)
        for (int m = 0; m < MODES && impls[i].skip == NULL; m++) {
            cells[i][m].n = calibrate(&impls[i], mode_burst[m], run_seconds);
            ok &= cells[i][m].n != 0;
        }
    if (!ok) {
        stop_consumer();
        return 1;
    }

    double start = now_seconds();
    double rtt_round[MAX_ROUNDS];
    int done = 0;
    while (done < rounds) {
        double round_start = now_seconds();
        rtt_round[done] = pingpong_ns(PP_ROUND_TRIPS);
        ok &= measure_round(done);
        done++;
        double now = now_seconds();
        if (done >= MIN_ROUNDS && done < rounds &&
            now + (now - round_start) - start > BUDGET_SECONDS) {
            printf("  stopped after %d of %d rounds: the next would pass the %.0f s budget\n",
                   done, rounds, BUDGET_SECONDS);
            break;
        }
    }
    double rtt_after = pingpong_ns(PP_TRIPS);
    stop_consumer();
    struct stats rtt = summarize(rtt_round, done);
    if (cpus[0] >= 0) {
        printf("cache-line round trip between the two threads: %.0f ns before, %.0f ns "
               "after, %.0f..%.0f ns before the rounds (set by where the host runs our "
               "vCPUs; every number below scales with it)\n", rtt_before, rtt_after, rtt.min,
               rtt.max);
        if (rtt.max > 2 * rtt.min)
            printf("  the round trip changed more than 2x during the measurement: the host "
                   "moved our vCPUs, so expect wide spreads\n");
    }
    if (consumer_unpinned)
        printf("WARNING: the consumer thread could not be pinned and ran unpinned\n");

    struct stats st[NIMPL][MODES];
    for (int i = 0; i < NIMPL; i++)
        for (int m = 0; m < MODES && impls[i].skip == NULL; m++)
            st[i][m] = summarize(cells[i][m].ops, done);

    for (int m = 0; m < MODES; m++) {
        int best_peer = -1;
        unsigned polled = 1u << IMPL_RINGIO;
        for (int i = 0; i < NIMPL; i++)
            if (is_polled_peer(i) && impls[i].skip == NULL) {
                polled |= 1u << i;
                if (best_peer < 0 || st[i][m].median > st[best_peer][m].median)
                    best_peer = i;
            }
        print_table(m, done, best_peer, st);
        if (best_peer >= 0)
            print_ratio(m, IMPL_RINGIO, best_peer, polled, done, st);
        if (impls[IMPL_XEN_EVT].skip == NULL)
            print_ratio(m, IMPL_RINGIO_EVT, IMPL_XEN_EVT,
                        1u << IMPL_RINGIO_EVT | 1u << IMPL_XEN_EVT, done, st);
    }

    if (csv != NULL) {
        FILE *f = fopen(csv, "a");
        if (f == NULL) {
            perror(csv);
            return 1;
        }
        write_csv(f, st);
        fclose(f);
    }
    return ok ? 0 : 1;
}
