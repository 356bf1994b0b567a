/*
 * tests/ringbench/ringbench.c: host benchmark of ring-io against Concurrency Kit's
 * ck_ring, DPDK's rte_ring and Xen's io/ring.h, all in one run.
 *
 *   ringbench [-r RUNS] [-q] [CSV]
 *
 * Set-up, the same for every implementation: 1024 slots of 8 bytes (a 64-bit sequence
 * number; ck and rte store it as a void *), one producer thread pinned to the first
 * allowed CPU and one consumer thread pinned to the second, both spinning (with pause)
 * when the ring is full or empty. The consumer checks every value (no loss, duplicate
 * or reordering). A run moves N entries; ops/s = N / (time from the start barrier to the
 * consumer's last entry). After a warm-up, every implementation is run RUNS times
 * (default 7), interleaved in a rotating order, and the median is reported. The cache-line round trip between the two
 * threads is measured before and after and printed: on a virtual machine it depends on
 * where the host places the vCPUs, and it moves every result (by 4x and more here).
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
 * With a CSV path, appends "ring.spsc.<impl>,host,<ops/s>,ops/s" and
 * "ring.burst32.<impl>,host,<ops/s>,ops/s" rows.
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

static int cpus[2] = { -1, -1 };

struct run {
    const struct impl *im;
    uint64_t n;
    unsigned burst;
    pthread_barrier_t start;
    struct timespec t0, t1;
    uint64_t bad;
};

static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *producer_thread(void *arg)
{
    struct run *r = arg;
    pin(cpus[0]);
    pthread_barrier_wait(&r->start);
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    uint64_t bad = r->im->produce(r->n, r->burst);
    __atomic_fetch_add(&r->bad, bad, __ATOMIC_RELAXED);
    return NULL;
}

static void *consumer_thread(void *arg)
{
    struct run *r = arg;
    pin(cpus[1]);
    pthread_barrier_wait(&r->start);
    uint64_t bad = r->im->consume(r->n, r->burst);
    clock_gettime(CLOCK_MONOTONIC, &r->t1);
    __atomic_fetch_add(&r->bad, bad, __ATOMIC_RELAXED);
    return NULL;
}

/* One run: ops/s, or a negative value when the consumer saw a wrong value. */
static double run_once(const struct impl *im, uint64_t n, unsigned burst)
{
    struct run r = { .im = im, .n = n, .burst = burst };
    im->reset();
    pthread_barrier_init(&r.start, NULL, 2);
    pthread_t tp, tc;
    if (pthread_create(&tc, NULL, consumer_thread, &r) != 0 ||
        pthread_create(&tp, NULL, producer_thread, &r) != 0) {
        perror("ringbench: pthread_create");
        exit(1);
    }
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    pthread_barrier_destroy(&r.start);
    if (r.bad != 0) {
        fprintf(stderr, "ringbench: %s: %llu wrong values\n", im->name,
                (unsigned long long)r.bad);
        return -1;
    }
    double secs = (double)(r.t1.tv_sec - r.t0.tv_sec) + (double)(r.t1.tv_nsec - r.t0.tv_nsec) / 1e9;
    return (double)n / secs;
}

/* Round trip of one cache line between the two pinned threads: the host decides where
 * our two vCPUs run, and every result above scales with this. */
static uint64_t pp_flag ALIGNED;
#define PP_ROUNDS 200000u

static void *pong_thread(void *arg)
{
    (void)arg;
    pin(cpus[1]);
    for (uint64_t i = 1; i < 2 * PP_ROUNDS; i += 2) {
        while (__atomic_load_n(&pp_flag, __ATOMIC_ACQUIRE) != i)
            ;
        __atomic_store_n(&pp_flag, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static double pingpong_ns(void)
{
    pthread_t t;
    struct timespec a, b;
    pp_flag = 0;
    if (pthread_create(&t, NULL, pong_thread, NULL) != 0)
        return 0;
    pin(cpus[0]);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint64_t i = 0; i < 2 * PP_ROUNDS; i += 2) {
        __atomic_store_n(&pp_flag, i + 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&pp_flag, __ATOMIC_ACQUIRE) != i + 2)
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / PP_ROUNDS;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void pick_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return;
    int k = 0;
    for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
        if (CPU_ISSET(c, &set))
            cpus[k++] = c;
    if (k < 2)
        cpus[0] = cpus[1] = -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: ringbench [-r RUNS] [-q] [CSV]\n");
    exit(2);
}

#define MAXRUNS 21

int main(int argc, char **argv)
{
    int runs = 7;
    bool quick = false;
    const char *csv = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "-q") == 0)
            quick = true;
        else if (argv[i][0] == '-')
            usage();
        else
            csv = argv[i];
    }
    if (runs < 1 || runs > MAXRUNS)
        usage();

    struct impl impls[] = {
        { "ringio", NULL, rio_reset, rio_produce, rio_consume },
#ifdef HAVE_CK
        { "ck", NULL, ck_reset, ck_produce, ck_consume },
#else
        { "ck", "ck_ring.h not found (Debian libck-dev)", NULL, NULL, NULL },
#endif
#ifdef HAVE_RTE
        { "rte", NULL, rte_reset, rte_produce, rte_consume },
#else
        { "rte", "rte_ring.h not found (Debian libdpdk-dev)", NULL, NULL, NULL },
#endif
#ifdef HAVE_XEN
        { "xenring", NULL, xen_reset, xen_produce, xen_consume },
#else
        { "xenring", "xen/io/ring.h not found (Debian libxen-dev)", NULL, NULL, NULL },
#endif
        { "ringio_evt", NULL, rio_reset, rio_evt_produce, rio_evt_consume },
#ifdef HAVE_XEN
        { "xenring_evt", NULL, xen_reset, xen_evt_produce, xen_evt_consume },
#else
        { "xenring_evt", "xen/io/ring.h not found", NULL, NULL, NULL },
#endif
    };
    enum { NIMPL = sizeof(impls) / sizeof(impls[0]) };
#ifdef HAVE_RTE
    rte_setup();
    if (rte_skip != NULL)
        impls[2].skip = rte_skip;
#endif

    pick_cpus();
    static const unsigned bursts[2] = { 1, BURST };
    static const char *const mode_name[2] = { "spsc", "burst32" };
    const uint64_t n[2] = { quick ? 2000000u : 10000000u, quick ? 10000000u : 40000000u };
    double res[NIMPL][2][MAXRUNS];
    double med[NIMPL][2];
    uint64_t kicks[NIMPL][2][2];
    memset(kicks, 0, sizeof(kicks));

    printf("ring benchmark: %u slots of 8 bytes, producer on cpu %d, consumer on cpu %d, "
           "median of %d runs (%llu single / %llu burst entries per run)\n",
           SLOTS, cpus[0], cpus[1], runs, (unsigned long long)n[0], (unsigned long long)n[1]);
    if (cpus[0] < 0)
        printf("  (fewer than two CPUs allowed: threads not pinned)\n");
    double rtt0 = pingpong_ns();
    for (int i = 0; i < NIMPL; i++)
        if (impls[i].skip != NULL)
            printf("  %s: skipped: %s\n", impls[i].name, impls[i].skip);
    fflush(stdout);

    int failed = 0;
    for (int i = 0; i < NIMPL; i++) /* warm-up: page faults, caches, CPU frequency */
        if (impls[i].skip == NULL)
            (void)run_once(&impls[i], n[0] / 10, 1);
    for (int m = 0; m < 2; m++)
        for (int r = 0; r < runs; r++)
            for (int j = 0; j < NIMPL; j++) {
                int i = (j + r) % NIMPL; /* rotate the order: no implementation always first */
                if (impls[i].skip != NULL)
                    continue;
                notifies[0] = notifies[1] = 0;
                res[i][m][r] = run_once(&impls[i], n[m], bursts[m]);
                kicks[i][m][0] += notifies[0];
                kicks[i][m][1] += notifies[1];
                if (res[i][m][r] < 0)
                    failed = 1;
            }

    double rtt1 = pingpong_ns();
    printf("cache-line round trip between the two threads: %.0f ns before, %.0f ns after "
           "(set by where the host runs our vCPUs; every number below scales with it)\n",
           rtt0, rtt1);
    printf("\n%-12s %14s %9s %14s %9s   %s\n", "impl", "single ops/s", "vs ringio",
           "burst32 ops/s", "vs ringio", "notifications per run (prod/cons, single; burst)");
    for (int i = 0; i < NIMPL; i++) {
        if (impls[i].skip != NULL) {
            printf("%-12s %14s\n", impls[i].name, "skipped");
            continue;
        }
        for (int m = 0; m < 2; m++) {
            qsort(res[i][m], (size_t)runs, sizeof(double), cmp_double);
            med[i][m] = res[i][m][runs / 2];
        }
        printf("%-12s %14.0f %9.2f %14.0f %9.2f", impls[i].name, med[i][0], med[i][0] / med[0][0],
               med[i][1], med[i][1] / med[0][1]);
        if (strstr(impls[i].name, "_evt") != NULL)
            printf("   %llu/%llu; %llu/%llu", (unsigned long long)(kicks[i][0][0] / (unsigned)runs),
                   (unsigned long long)(kicks[i][0][1] / (unsigned)runs),
                   (unsigned long long)(kicks[i][1][0] / (unsigned)runs),
                   (unsigned long long)(kicks[i][1][1] / (unsigned)runs));
        printf("\n");
    }

    /* ringio (polled) against the best polled other, ringio_evt against xenring_evt. */
    for (int m = 0; m < 2; m++) {
        int best = -1;
        for (int i = 1; i <= 3; i++)
            if (impls[i].skip == NULL && (best < 0 || med[i][m] > med[best][m]))
                best = i;
        if (best >= 0)
            printf("%s: ringio / best other (%s) = %.2f: %s\n", mode_name[m], impls[best].name,
                   med[0][m] / med[best][m], med[0][m] >= med[best][m] ? "matches or beats" :
                   "slower");
        if (impls[5].skip == NULL)
            printf("%s: ringio_evt / xenring_evt = %.2f\n", mode_name[m],
                   med[4][m] / med[5][m]);
    }

    if (csv != NULL) {
        FILE *f = fopen(csv, "a");
        if (f == NULL) {
            perror(csv);
            return 1;
        }
        for (int m = 0; m < 2; m++)
            for (int i = 0; i < NIMPL; i++)
                if (impls[i].skip == NULL)
                    fprintf(f, "ring.%s.%s,host,%.0f,ops/s\n", mode_name[m], impls[i].name,
                            med[i][m]);
        fclose(f);
    }
    return failed;
}
