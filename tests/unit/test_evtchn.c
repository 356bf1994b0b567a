/*
 * tests/unit/test_evtchn.c: host cmocka tests for hypervisor/evtchn.c (ports, virqs,
 * the two-level pending bitmaps in the shared-info page).
 *
 * Fake RAM of NFRAMES pages backs the frame allocator (evtchn_init takes one hypervisor
 * frame per domain). The test owns its domains: doms[id] for id 0 (privileged), 1, 2,
 * and NOEVT (exists, but without a port table or shared page). domain_get and vcpu_wake
 * are defined here: vcpu_wake counts wake-ups per domain in wakes[].
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <hako/errno.h>
#include <hako/events.h>

#include "domain.h"
#include "evtchn.h"
#include "frame.h"
#include "mm.h"

#define NFRAMES  32u
#define NDOM     4u
#define NOEVT    3u          /* a domain with no port table / shared page */
#define UNKNOWN  9u          /* no such domain */
#define NP       HAKO_NR_EVENT_CHANNELS

#define OK(x)     assert_int_equal((x), 0)
#define ERR(x, e) assert_int_equal((x), -HAKO_##e)
#define N(a)      (sizeof(a) / sizeof((a)[0]))
#define TEST(name) static void name(void **state __attribute__((unused)))

static uint8_t *ram;
static struct frame_info ftab[NFRAMES];
static struct domain *doms[NDOM];
static unsigned wakes[NDOM];
static unsigned bad_wakes;

/* ---- what evtchn.c needs from the rest of the hypervisor ---- */

struct domain *domain_get(uint16_t domid)
{
    return domid < NDOM ? doms[domid] : NULL;
}

/* devices.c: every device index exists here; its routing is not modelled. */
int devices_irq_bind(unsigned index, bool bind)
{
    (void)index, (void)bind;
    return 0;
}

void vcpu_wake(struct vcpu *v)
{
    for (unsigned i = 0; i < NDOM; i++)
        if (doms[i] && &doms[i]->vcpu[0] == v) {
            wakes[i]++;
            return;
        }
    bad_wakes++;
}

/* ---- fixture ---- */

static struct domain *make_domain(uint16_t id, bool priv, bool with_evtchn)
{
    struct domain *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->domid = id;
    d->privileged = priv;
    d->hv_mem = (struct frame_list){ FRAME_NONE, 0 };
    d->vcpu[0].dom = d;
    if (with_evtchn) {
        d->shinfo = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
        assert_non_null(d->shinfo);
        memset(d->shinfo, 0, PAGE_SIZE);
        d->vcpu[0].vcpu_info = &d->shinfo->vcpu_info[0];
        assert_true(evtchn_init(d));
        assert_non_null(d->evtchn);
    }
    return d;
}

static void free_domain(unsigned id)
{
    struct domain *d = doms[id];
    if (!d)
        return;
    frame_free_list(&d->hv_mem);
    free(d->shinfo);
    free(d);
    doms[id] = NULL;
}

static int setup(void **state)
{
    (void)state;
    ram = aligned_alloc(PAGE_SIZE, NFRAMES * PAGE_SIZE);
    assert_non_null(ram);
    memset(ram, 0xA5, NFRAMES * PAGE_SIZE);     /* evtchn_init must clear its page */
    test_directmap_base = (uintptr_t)ram;
    frame_init(ftab, NFRAMES);
    frame_add_free_range(_mfn(1), NFRAMES - 1);
    doms[0] = make_domain(0, true, true);
    doms[1] = make_domain(1, false, true);
    doms[2] = make_domain(2, false, true);
    doms[NOEVT] = make_domain(NOEVT, false, false);
    memset(wakes, 0, sizeof(wakes));
    bad_wakes = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(bad_wakes, 0);
    for (unsigned i = 0; i < NDOM; i++)
        free_domain(i);
    free(ram);
    return 0;
}

/* ---- helpers ---- */

static long alloc_unbound(struct domain *d, unsigned remote)
{
    struct hako_evtchn op = { .remote_dom = (uint16_t)remote, .port = 0xdeadbeef };
    long rc = evtchn_op(d, HAKO_EVTCHNOP_ALLOC_UNBOUND, &op);
    return rc ? rc : (long)op.port;
}

static long bind_inter(struct domain *d, unsigned remote, uint32_t rport)
{
    struct hako_evtchn op = { .remote_dom = (uint16_t)remote, .remote_port = rport,
                              .port = 0xdeadbeef };
    long rc = evtchn_op(d, HAKO_EVTCHNOP_BIND_INTERDOMAIN, &op);
    return rc ? rc : (long)op.port;
}

static long bind_virq(struct domain *d, uint32_t virq)
{
    struct hako_evtchn op = { .virq = virq, .port = 0xdeadbeef };
    long rc = evtchn_op(d, HAKO_EVTCHNOP_BIND_VIRQ, &op);
    return rc ? rc : (long)op.port;
}

static struct hako_evtchn status(struct domain *d, uint32_t port)
{
    struct hako_evtchn op = { .port = port, .remote_port = 0x5555, .remote_dom = 0x5555,
                              .state = 0x5555, .virq = 0x5555 };
    OK(evtchn_op(d, HAKO_EVTCHNOP_STATUS, &op));
    return op;
}

static long send(struct domain *d, uint64_t p) { return evtchn_port_op(d, HAKO_EVTCHNOP_SEND, p); }
static long closep(struct domain *d, uint64_t p) { return evtchn_port_op(d, HAKO_EVTCHNOP_CLOSE, p); }
static long unmask(struct domain *d, uint64_t p) { return evtchn_port_op(d, HAKO_EVTCHNOP_UNMASK, p); }

static bool bit(const uint64_t *w, unsigned p) { return (w[p / 64] >> (p % 64)) & 1; }
static bool pending(struct domain *d, unsigned p) { return bit(d->shinfo->evtchn_pending, p); }
static void mask(struct domain *d, unsigned p) { d->shinfo->evtchn_mask[p / 64] |= 1ull << (p % 64); }
static uint64_t sel(struct domain *d) { return d->shinfo->vcpu_info[0].evtchn_pending_sel; }
static uint8_t upcall(struct domain *d) { return d->shinfo->vcpu_info[0].evtchn_upcall_pending; }

/* The guest handled its events: clears pending bits, selector and upcall flag. */
static void guest_ack(struct domain *d)
{
    memset(d->shinfo->evtchn_pending, 0, sizeof(d->shinfo->evtchn_pending));
    d->shinfo->vcpu_info[0].evtchn_pending_sel = 0;
    d->shinfo->vcpu_info[0].evtchn_upcall_pending = 0;
}

/* An interdomain channel a:pa <-> b:pb; returns pa, sets *pb. */
static unsigned connect(struct domain *a, struct domain *b, unsigned *pb)
{
    long offered = alloc_unbound(b, a->domid);
    assert_true(offered > 0);
    long pa = bind_inter(a, b->domid, (uint32_t)offered);
    assert_true(pa > 0);
    *pb = (unsigned)offered;
    return (unsigned)pa;
}

#define check_entry(d, p, st, rd, rp) do {                          \
        const struct evtchn *e_ = &(d)->evtchn[p];                  \
        assert_int_equal(e_->state, (st));                          \
        assert_int_equal(e_->remote_dom, (rd));                     \
        assert_int_equal(e_->remote_port, (rp));                    \
    } while (0)

/* ---- port allocation ---- */

TEST(test_alloc_lowest_free_first_and_reuse)
{
    struct domain *d = doms[1];
    assert_int_equal(alloc_unbound(d, 0), 1);
    assert_int_equal(alloc_unbound(d, 0), 2);
    assert_int_equal(alloc_unbound(d, 2), 3);
    OK(closep(d, 2));
    assert_int_equal(alloc_unbound(d, 0), 2);     /* the hole first */
    assert_int_equal(alloc_unbound(d, 0), 4);
    assert_int_equal(d->evtchn[0].state, HAKO_EVTCHN_FREE);
}

TEST(test_alloc_fills_1023_ports_then_enospc)
{
    struct domain *d = doms[1], *peer = doms[2];
    for (unsigned p = 1; p < NP; p++)
        assert_int_equal(alloc_unbound(d, 2), p);
    assert_int_equal(d->evtchn[0].state, HAKO_EVTCHN_FREE);    /* port 0 never used */
    ERR(alloc_unbound(d, 2), ENOSPC);
    ERR(bind_virq(d, HAKO_VIRQ_DEBUG), ENOSPC);
    assert_int_equal(d->virq_port[HAKO_VIRQ_DEBUG], 0);
    /* a refused bind leaves the peer's offer alone */
    long off = alloc_unbound(peer, 1);
    assert_int_equal(off, 1);
    ERR(bind_inter(d, 2, 1), ENOSPC);
    check_entry(peer, 1, HAKO_EVTCHN_UNBOUND, 1, 0);
    /* reusable after close, lowest first */
    OK(closep(d, 700));
    OK(closep(d, 500));
    assert_int_equal(bind_inter(d, 2, 1), 500);
    check_entry(peer, 1, HAKO_EVTCHN_INTERDOMAIN, 1, 500);
    assert_int_equal(bind_virq(d, HAKO_VIRQ_DEBUG), 700);
    ERR(alloc_unbound(d, 2), ENOSPC);
    OK(closep(d, NP - 1));
    assert_int_equal(alloc_unbound(d, 0), NP - 1);
}

/* ---- ALLOC_UNBOUND / BIND_INTERDOMAIN ---- */

TEST(test_alloc_unbound_unknown_domain)
{
    ERR(alloc_unbound(doms[1], UNKNOWN), ESRCH);
    ERR(alloc_unbound(doms[1], 0xFFFF), ESRCH);
    ERR(alloc_unbound(doms[1], NDOM), ESRCH);
    assert_int_equal(alloc_unbound(doms[1], NOEVT), 1);    /* exists: may be offered */
    assert_int_equal(alloc_unbound(doms[1], 1), 2);        /* to itself */
    struct hako_evtchn s = status(doms[1], 1);
    assert_int_equal(s.state, HAKO_EVTCHN_UNBOUND);
    assert_int_equal(s.remote_dom, NOEVT);
}

TEST(test_bind_interdomain)
{
    struct domain *a = doms[1], *b = doms[2], *c = doms[0];
    long offered = alloc_unbound(b, 1);           /* b offers port 1 to a */
    long other = alloc_unbound(b, 0);             /* b offers port 2 to c */
    assert_int_equal(offered, 1);
    assert_int_equal(other, 2);
    ERR(bind_inter(a, 2, 2), EINVAL);             /* offered to someone else */
    ERR(bind_inter(a, 2, 3), EINVAL);             /* free port */
    ERR(bind_inter(a, 2, 0), EINVAL);
    ERR(bind_inter(a, 2, NP), EINVAL);
    ERR(bind_inter(a, 2, 0xFFFFFFFF), EINVAL);
    ERR(bind_inter(a, 2, 1u << 14 | 1), EINVAL);  /* would alias port 1 in 14 bits */
    ERR(bind_inter(a, UNKNOWN, 1), ESRCH);
    ERR(bind_inter(a, NOEVT, 1), ESRCH);
    for (unsigned p = 0; p < NP; p++)
        assert_int_equal(a->evtchn[p].state, HAKO_EVTCHN_FREE);  /* failures took nothing */
    long pa = bind_inter(a, 2, 1);
    assert_int_equal(pa, 1);
    check_entry(a, 1, HAKO_EVTCHN_INTERDOMAIN, 2, 1);
    check_entry(b, 1, HAKO_EVTCHN_INTERDOMAIN, 1, 1);
    ERR(bind_inter(a, 2, 1), EINVAL);             /* already connected */
    ERR(bind_inter(c, 2, 1), EINVAL);
    assert_int_equal(bind_inter(c, 2, 2), 1);
    check_entry(c, 1, HAKO_EVTCHN_INTERDOMAIN, 2, 2);
    check_entry(b, 2, HAKO_EVTCHN_INTERDOMAIN, 0, 1);
    /* the ends point at each other through STATUS too */
    struct hako_evtchn s = status(a, 1);
    assert_int_equal(s.state, HAKO_EVTCHN_INTERDOMAIN);
    assert_int_equal(s.remote_dom, 2);
    assert_int_equal(s.remote_port, 1);
    s = status(b, 1);
    assert_int_equal(s.remote_dom, 1);
    assert_int_equal(s.remote_port, 1);
}

TEST(test_bind_interdomain_to_self_loops)
{
    struct domain *d = doms[1];
    assert_int_equal(alloc_unbound(d, 1), 1);
    assert_int_equal(bind_inter(d, 1, 1), 2);
    check_entry(d, 1, HAKO_EVTCHN_INTERDOMAIN, 1, 2);
    check_entry(d, 2, HAKO_EVTCHN_INTERDOMAIN, 1, 1);
    OK(send(d, 2));
    assert_true(pending(d, 1) && !pending(d, 2));
    assert_int_equal(wakes[1], 1);
    OK(closep(d, 1));
    check_entry(d, 2, HAKO_EVTCHN_UNBOUND, 1, 0);
    ERR(send(d, 2), ENOTCONN);
    assert_false(pending(d, 1));                  /* close cleared the closed port's bit */
}

/* ---- BIND_VIRQ ---- */

TEST(test_bind_virq)
{
    struct domain *u = doms[1], *priv = doms[0];
    static const uint32_t bad[] = { HAKO_NR_VIRQS, HAKO_NR_VIRQS + 1, 1u << 14, 0xFFFFFFFF };
    for (size_t i = 0; i < N(bad); i++)
        ERR(bind_virq(u, bad[i]), EINVAL);
    ERR(bind_virq(u, HAKO_VIRQ_CONSOLE), EPERM);
    ERR(bind_virq(u, HAKO_VIRQ_DOM_EXC), EPERM);
    assert_int_equal(bind_virq(u, HAKO_VIRQ_DEBUG), 1);
    assert_int_equal(bind_virq(u, HAKO_VIRQ_TIMER), 2);
    ERR(bind_virq(u, HAKO_VIRQ_DEBUG), EEXIST);
    ERR(bind_virq(u, HAKO_VIRQ_TIMER), EEXIST);
    assert_int_equal(u->virq_port[HAKO_VIRQ_DEBUG], 1);
    assert_int_equal(u->virq_port[HAKO_VIRQ_TIMER], 2);
    assert_int_equal(u->virq_port[HAKO_VIRQ_CONSOLE], 0);
    check_entry(u, 1, HAKO_EVTCHN_VIRQ, 0, HAKO_VIRQ_DEBUG);
    assert_int_equal(bind_virq(priv, HAKO_VIRQ_CONSOLE), 1);
    assert_int_equal(bind_virq(priv, HAKO_VIRQ_DOM_EXC), 2);
    ERR(bind_virq(priv, HAKO_VIRQ_CONSOLE), EEXIST);
    for (unsigned p = 3; p < NP; p++)
        assert_int_equal(u->evtchn[p].state, HAKO_EVTCHN_FREE);

    /* raising: delivered on the bound port; unbound or bad virqs do nothing */
    evtchn_send_virq(u, HAKO_VIRQ_DEBUG);
    assert_true(pending(u, 1));
    assert_int_equal(wakes[1], 1);
    evtchn_send_virq(u, HAKO_VIRQ_CONSOLE);
    evtchn_send_virq(u, HAKO_NR_VIRQS);
    evtchn_send_virq(u, 0xFFFFFFFF);
    assert_int_equal(u->shinfo->evtchn_pending[0], 2);
    assert_int_equal(wakes[1], 1);
    assert_int_equal(u->stat_events, 1);
    evtchn_send_virq(doms[2], HAKO_VIRQ_DEBUG);   /* nothing bound there */
    assert_int_equal(doms[2]->shinfo->evtchn_pending[0], 0);
    assert_int_equal(wakes[2], 0);
}

/* ---- STATUS ---- */

TEST(test_status_every_state)
{
    struct domain *a = doms[1], *b = doms[2];
    struct hako_evtchn s = status(a, 5);
    assert_int_equal(s.state, HAKO_EVTCHN_FREE);
    assert_int_equal(s.remote_dom, 0);
    assert_int_equal(s.remote_port, 0);
    assert_int_equal(s.virq, 0);
    assert_int_equal(s.port, 5);

    assert_int_equal(alloc_unbound(a, 2), 1);
    s = status(a, 1);
    assert_int_equal(s.state, HAKO_EVTCHN_UNBOUND);
    assert_int_equal(s.remote_dom, 2);
    assert_int_equal(s.remote_port, 0);
    assert_int_equal(s.virq, 0);

    assert_int_equal(bind_inter(b, 1, 1), 1);
    s = status(a, 1);
    assert_int_equal(s.state, HAKO_EVTCHN_INTERDOMAIN);
    assert_int_equal(s.remote_dom, 2);
    assert_int_equal(s.remote_port, 1);
    assert_int_equal(s.virq, 0);

    assert_int_equal(bind_virq(a, HAKO_VIRQ_DEBUG), 2);
    s = status(a, 2);
    assert_int_equal(s.state, HAKO_EVTCHN_VIRQ);
    assert_int_equal(s.remote_dom, 0);
    assert_int_equal(s.remote_port, 0);
    assert_int_equal(s.virq, HAKO_VIRQ_DEBUG);

    static const uint32_t bad[] = { 0, NP, NP + 1, 0xFFFFFFFF };
    for (size_t i = 0; i < N(bad); i++) {
        struct hako_evtchn op = { .port = bad[i] };
        ERR(evtchn_op(a, HAKO_EVTCHNOP_STATUS, &op), EINVAL);
    }
}

/* ---- SEND / UNMASK ---- */

TEST(test_send_delivers_to_peer)
{
    struct domain *a = doms[1], *b = doms[2];
    unsigned pb, pa = connect(a, b, &pb);
    assert_int_equal(pa, 1);
    assert_int_equal(pb, 1);
    for (unsigned i = 0; i < 70; i++)             /* move b's end into word 1 */
        assert_true(alloc_unbound(b, 0) > 0);
    OK(closep(b, 70));
    unsigned pb2, pa2 = connect(a, b, &pb2);
    assert_int_equal(pb2, 70);

    OK(send(a, pa2));
    assert_true(pending(b, 70));
    assert_int_equal(sel(b), 1ull << 1);
    assert_int_equal(upcall(b), 1);
    assert_int_equal(wakes[2], 1);
    assert_int_equal(wakes[1], 0);
    assert_int_equal(b->stat_events, 1);
    assert_false(pending(a, pa2));                /* nothing on the sender's side */
    assert_int_equal(upcall(a), 0);

    OK(send(a, pa2));                             /* still pending: no second wake */
    assert_int_equal(wakes[2], 1);
    assert_int_equal(b->stat_events, 2);

    OK(send(a, pa));                              /* another word, selector bit new */
    assert_true(pending(b, 1));
    assert_int_equal(sel(b), 3);
    assert_int_equal(wakes[2], 2);

    guest_ack(b);
    OK(send(b, pb));                              /* the other direction */
    assert_true(pending(a, pa));
    assert_int_equal(upcall(a), 1);
    assert_int_equal(wakes[1], 1);
    OK(send(a, pa));
    assert_int_equal(wakes[2], 3);
}

TEST(test_send_same_word_after_ack_of_other_port)
{
    /* a second port in a word whose selector bit is still set raises no new upcall */
    struct domain *a = doms[1], *b = doms[2];
    unsigned pb1, pa1 = connect(a, b, &pb1);
    unsigned pb2, pa2 = connect(a, b, &pb2);
    OK(send(a, pa1));
    assert_int_equal(wakes[2], 1);
    OK(send(a, pa2));
    assert_true(pending(b, pb1) && pending(b, pb2));
    assert_int_equal(wakes[2], 1);
}

TEST(test_send_masked_then_unmask)
{
    struct domain *a = doms[1], *b = doms[2];
    unsigned pb, pa = connect(a, b, &pb);
    mask(b, pb);
    OK(send(a, pa));
    assert_true(pending(b, pb));
    assert_int_equal(sel(b), 0);
    assert_int_equal(upcall(b), 0);
    assert_int_equal(wakes[2], 0);
    OK(unmask(b, pb));
    assert_false(bit(b->shinfo->evtchn_mask, pb));
    assert_int_equal(sel(b), 1);
    assert_int_equal(upcall(b), 1);
    assert_int_equal(wakes[2], 1);
    OK(unmask(b, pb));                            /* selector already set: no new wake */
    assert_int_equal(wakes[2], 1);
    /* unmask of a port that is not pending only clears the mask */
    guest_ack(b);
    mask(b, pb);
    OK(unmask(b, pb));
    assert_int_equal(upcall(b), 0);
    assert_int_equal(sel(b), 0);
    assert_int_equal(wakes[2], 1);
    /* unmask of any in-range port is allowed, whatever its state */
    mask(b, 1000);
    OK(unmask(b, 1000));
    assert_false(bit(b->shinfo->evtchn_mask, 1000));
    ERR(unmask(b, 0), EINVAL);
    ERR(unmask(b, NP), EINVAL);
    ERR(unmask(b, UINT64_MAX), EINVAL);
}

TEST(test_send_errors_and_unknown_cmds)
{
    struct domain *a = doms[1], *b = doms[2];
    assert_int_equal(alloc_unbound(a, 2), 1);
    assert_int_equal(bind_virq(a, HAKO_VIRQ_DEBUG), 2);
    ERR(send(a, 1), ENOTCONN);
    ERR(send(a, 2), EINVAL);
    ERR(send(a, 3), EINVAL);                      /* free */
    static const uint64_t bad[] = { 0, NP, NP + 1, 1ull << 32 | 1, 1ull << 63 | 1, UINT64_MAX };
    for (size_t i = 0; i < N(bad); i++) {
        ERR(send(a, bad[i]), EINVAL);
        ERR(closep(a, bad[i]), EINVAL);
        ERR(unmask(a, bad[i]), EINVAL);
    }
    static const unsigned cmds[] = { HAKO_EVTCHNOP_ALLOC_UNBOUND, HAKO_EVTCHNOP_STATUS,
                                     7, 100, 0xFFFFFFFF };
    for (size_t i = 0; i < N(cmds); i++) {
        ERR(evtchn_port_op(a, cmds[i], 1), ENOSYS);
        ERR(evtchn_port_op(a, cmds[i], 0), ENOSYS);   /* ENOSYS before port checks */
    }
    static const unsigned ops[] = { HAKO_EVTCHNOP_SEND, HAKO_EVTCHNOP_CLOSE,
                                    HAKO_EVTCHNOP_UNMASK, 7, 0xFFFFFFFF };
    for (size_t i = 0; i < N(ops); i++) {
        struct hako_evtchn op = { .port = 1, .remote_dom = 2 };
        ERR(evtchn_op(a, ops[i], &op), ENOSYS);
    }
    check_entry(a, 1, HAKO_EVTCHN_UNBOUND, 2, 0);
    assert_int_equal(b->stat_events, 0);
    assert_int_equal(wakes[2], 0);
}

/* ---- CLOSE / teardown ---- */

TEST(test_close_peer_falls_back_to_unbound)
{
    struct domain *a = doms[1], *b = doms[2];
    unsigned pb, pa = connect(a, b, &pb);
    OK(send(b, pb));
    assert_true(pending(a, pa));
    OK(closep(a, pa));
    assert_false(pending(a, pa));
    check_entry(a, pa, HAKO_EVTCHN_FREE, 0, 0);
    check_entry(b, pb, HAKO_EVTCHN_UNBOUND, 1, 0);
    struct hako_evtchn s = status(b, pb);
    assert_int_equal(s.state, HAKO_EVTCHN_UNBOUND);
    assert_int_equal(s.remote_dom, 1);
    ERR(send(b, pb), ENOTCONN);
    ERR(send(a, pa), EINVAL);
    /* the closer may connect again to the port now offered to it */
    assert_int_equal(bind_inter(a, 2, pb), pa);
    check_entry(b, pb, HAKO_EVTCHN_INTERDOMAIN, 1, pa);
    OK(closep(b, pb));
    check_entry(a, pa, HAKO_EVTCHN_UNBOUND, 2, 0);
    ERR(closep(b, pb), EINVAL);                   /* already free */
    OK(closep(a, pa));                            /* closing an unbound port */
    ERR(closep(a, pa), EINVAL);
    ERR(closep(a, 500), EINVAL);
}

TEST(test_close_leaves_unrelated_peer_port)
{
    /* a stale-looking entry: the peer's port was reused, so close must not touch it */
    struct domain *a = doms[1], *b = doms[2];
    unsigned pb, pa = connect(a, b, &pb);
    b->evtchn[pb] = (struct evtchn){ .state = HAKO_EVTCHN_INTERDOMAIN, .remote_dom = 0,
                                     .remote_port = 7 };
    OK(closep(a, pa));
    check_entry(b, pb, HAKO_EVTCHN_INTERDOMAIN, 0, 7);
    /* same peer domain, another of our ports */
    pa = connect(a, b, &pb);
    b->evtchn[pb].remote_port = pa + 1;
    OK(closep(a, pa));
    check_entry(b, pb, HAKO_EVTCHN_INTERDOMAIN, 1, pa + 1);
}

TEST(test_close_virq_frees_it)
{
    struct domain *d = doms[0];
    assert_int_equal(bind_virq(d, HAKO_VIRQ_CONSOLE), 1);
    evtchn_send_virq(d, HAKO_VIRQ_CONSOLE);
    assert_true(pending(d, 1));
    OK(closep(d, 1));
    assert_false(pending(d, 1));
    assert_int_equal(d->virq_port[HAKO_VIRQ_CONSOLE], 0);
    unsigned before = wakes[0];
    evtchn_send_virq(d, HAKO_VIRQ_CONSOLE);       /* nothing bound: dropped */
    assert_false(pending(d, 1));
    assert_int_equal(wakes[0], before);
    assert_int_equal(alloc_unbound(d, 1), 1);     /* port reused for something else */
    assert_int_equal(bind_virq(d, HAKO_VIRQ_CONSOLE), 2);
    assert_int_equal(d->virq_port[HAKO_VIRQ_CONSOLE], 2);
}

TEST(test_teardown_closes_everything)
{
    struct domain *a = doms[0], *d = doms[1], *b = doms[2];
    unsigned pa, pd1 = connect(d, a, &pa);
    unsigned pdb, pb = connect(b, d, &pdb);       /* b:pb -> d:pdb (d offered it) */
    (void)pdb;
    long pv = bind_virq(d, HAKO_VIRQ_DEBUG);
    long pu = alloc_unbound(d, 2);
    long pself = alloc_unbound(d, 1);
    long pself2 = bind_inter(d, 1, (uint32_t)pself);
    long offered_to_d = alloc_unbound(a, 1);
    assert_true(pv > 0 && pu > 0 && pself > 0 && pself2 > 0 && offered_to_d > 0);
    OK(send(a, pa));
    evtchn_teardown(d);
    for (unsigned p = 0; p < NP; p++)
        assert_int_equal(d->evtchn[p].state, HAKO_EVTCHN_FREE);
    for (unsigned v = 0; v < HAKO_NR_VIRQS; v++)
        assert_int_equal(d->virq_port[v], 0);
    for (unsigned w = 0; w < NP / 64; w++)
        assert_int_equal(d->shinfo->evtchn_pending[w], 0);
    /* Ends that named the destroyed domain now name nobody: no later domain with the
     * same id can bind them. */
    check_entry(a, pa, HAKO_EVTCHN_UNBOUND, HAKO_DOMID_NONE, 0);
    check_entry(b, pb, HAKO_EVTCHN_UNBOUND, HAKO_DOMID_NONE, 0);
    check_entry(a, (unsigned)offered_to_d, HAKO_EVTCHN_UNBOUND, HAKO_DOMID_NONE, 0);
    ERR(send(a, pa), ENOTCONN);
    ERR(send(b, pb), ENOTCONN);
    (void)pd1;
    evtchn_teardown(d);                           /* twice: nothing left */
    evtchn_teardown(doms[NOEVT]);                 /* no port table at all */
}

TEST(test_send_to_vanished_peer)
{
    /* a peer that disappeared without teardown (defensive path): ENOTCONN, no crash */
    struct domain *a = doms[1];
    unsigned pb;
    unsigned pa = connect(a, doms[2], &pb);
    struct domain *saved = doms[2];
    doms[2] = NULL;
    ERR(send(a, pa), ENOTCONN);
    OK(closep(a, pa));
    doms[2] = saved;
    check_entry(saved, pb, HAKO_EVTCHN_INTERDOMAIN, 1, pa);   /* could not be reached */
}

/* ---- polling ---- */

TEST(test_poll_wakes_on_masked_port)
{
    struct domain *a = doms[1], *b = doms[2];
    unsigned pb1, pa1 = connect(a, b, &pb1);
    unsigned pb2, pa2 = connect(a, b, &pb2);
    mask(b, pb1);
    mask(b, pb2);
    b->vcpu[0].polling = true;
    b->vcpu[0].blocked = true;
    b->vcpu[0].nr_poll_ports = 2;
    b->vcpu[0].poll_ports[0] = 900;
    b->vcpu[0].poll_ports[1] = pb1;
    OK(send(a, pa2));                             /* not polled: masked, no wake */
    assert_int_equal(wakes[2], 0);
    OK(send(a, pa1));                             /* polled: wakes though masked */
    assert_int_equal(wakes[2], 1);
    assert_int_equal(upcall(b), 0);
    b->vcpu[0].polling = false;
    guest_ack(b);
    OK(send(a, pa1));                             /* not polling any more */
    assert_int_equal(wakes[2], 1);
    /* nr_poll_ports == 0 never ends a poll */
    guest_ack(b);
    b->vcpu[0].polling = true;
    b->vcpu[0].nr_poll_ports = 0;
    OK(send(a, pa1));
    assert_int_equal(wakes[2], 1);
}

TEST(test_any_pending_ignores_out_of_range)
{
    struct domain *d = doms[1];
    memset(d->shinfo->evtchn_pending, 0xFF, sizeof(d->shinfo->evtchn_pending));
    static const uint32_t bad[] = { 0, NP, NP + 1, 1u << 14, 0x80000000u, 0xFFFFFFFF };
    assert_false(evtchn_any_pending(d, bad, N(bad)));
    assert_false(evtchn_any_pending(d, bad, 0));
    uint32_t some[] = { 0, NP, 1023 };
    assert_true(evtchn_any_pending(d, some, 3));
    assert_false(evtchn_any_pending(d, some, 2));
    memset(d->shinfo->evtchn_pending, 0, sizeof(d->shinfo->evtchn_pending));
    uint32_t one[] = { 5, 63, 64, 1023 };
    assert_false(evtchn_any_pending(d, one, 4));
    d->shinfo->evtchn_pending[1] = 1;              /* port 64 */
    assert_true(evtchn_any_pending(d, one, 4));
    assert_false(evtchn_any_pending(d, one, 2));
}

/* ---- a hostile shared page ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

TEST(test_hostile_shared_page)
{
    struct domain *evil = doms[1], *a = doms[0], *b = doms[2];
    unsigned pa, pe1 = connect(evil, a, &pa);
    unsigned pev, pb = connect(b, evil, &pev);    /* b:pb -> evil:pev (evil offered it) */
    long pv = bind_virq(evil, HAKO_VIRQ_DEBUG);
    assert_true(pv > 0);
    rng_state = 0x9E3779B97F4A7C15ull;
    uint8_t *page = (uint8_t *)evil->shinfo;
    static uint8_t snap_a[PAGE_SIZE], snap_b[PAGE_SIZE], ev_a[PAGE_SIZE], ev_b[PAGE_SIZE];
    static uint8_t ev_evil[PAGE_SIZE];
    for (unsigned round = 0; round < 200; round++) {
        for (unsigned i = 0; i < PAGE_SIZE; i += 8) {
            uint64_t r = rnd();
            memcpy(page + i, &r, 8);
        }
        guest_ack(a);
        memcpy(snap_a, a->shinfo, PAGE_SIZE), memcpy(snap_b, b->shinfo, PAGE_SIZE);
        memcpy(ev_a, a->evtchn, PAGE_SIZE), memcpy(ev_b, b->evtchn, PAGE_SIZE);
        memcpy(ev_evil, evil->evtchn, PAGE_SIZE);
        unsigned wa = wakes[0], wb = wakes[2];
        /* everything the evil guest can do to itself */
        for (unsigned p = 0; p < NP + 2; p++) {
            (void)unmask(evil, p);
            struct hako_evtchn op = { .port = p };
            (void)evtchn_op(evil, HAKO_EVTCHNOP_STATUS, &op);
        }
        evtchn_send_virq(evil, HAKO_VIRQ_DEBUG);
        evil->vcpu[0].polling = true;
        evil->vcpu[0].nr_poll_ports = 3;
        evil->vcpu[0].poll_ports[0] = (uint32_t)rnd();
        evil->vcpu[0].poll_ports[1] = (uint32_t)rnd() % NP;
        evil->vcpu[0].poll_ports[2] = (uint32_t)pv;
        evtchn_send_virq(evil, HAKO_VIRQ_DEBUG);
        evil->vcpu[0].polling = false;
        OK(send(b, pb));                          /* events into the garbage page */
        /* nobody else saw anything; port tables unchanged */
        assert_memory_equal(snap_a, a->shinfo, PAGE_SIZE);
        assert_memory_equal(snap_b, b->shinfo, PAGE_SIZE);
        assert_memory_equal(ev_a, a->evtchn, PAGE_SIZE);
        assert_memory_equal(ev_b, b->evtchn, PAGE_SIZE);
        assert_memory_equal(ev_evil, evil->evtchn, PAGE_SIZE);
        assert_int_equal(wakes[0], wa);
        assert_int_equal(wakes[2], wb);
        assert_true(pending(evil, (unsigned)pv) && pending(evil, pev));
        /* SEND out of the evil domain still works exactly */
        OK(send(evil, pe1));
        assert_true(pending(a, pa));
        assert_int_equal(upcall(a), 1);
        assert_int_equal(sel(a), 1ull << (pa / 64));
        assert_int_equal(wakes[0], wa + 1);
        guest_ack(a);
        assert_memory_equal(snap_a, a->shinfo, PAGE_SIZE);    /* nothing else */
    }
    /* garbage in the receiver's page: SEND sets the bit and never touches other domains */
    memset(a->shinfo, 0xFF, PAGE_SIZE);
    memcpy(snap_b, b->shinfo, PAGE_SIZE);
    OK(send(evil, pe1));
    assert_true(pending(a, pa));
    assert_memory_equal(snap_b, b->shinfo, PAGE_SIZE);
    assert_int_equal(bad_wakes, 0);
}

/* ---- randomized state machine with a reference model ---- */

#define RD 3u                      /* domains 0..2 take part */
#define HOT 24u                    /* most ports are picked from 1..HOT */

struct mport { unsigned state, rdom, rport; };
static struct mport model[RD][NP];
static unsigned mvirq[RD][HAKO_NR_VIRQS];
struct mshared { uint64_t pending[NP / 64], mask[NP / 64], sel; uint8_t upcall; };
static struct mshared mshin[RD];
static unsigned mwakes[RD];

static bool mexists(unsigned id) { return id < NDOM && doms[id]; }

static unsigned m_alloc(unsigned d)
{
    for (unsigned p = 1; p < NP; p++)
        if (model[d][p].state == HAKO_EVTCHN_FREE)
            return p;
    return 0;
}

static bool mbit(const uint64_t *w, unsigned p) { return (w[p / 64] >> (p % 64)) & 1; }
static void mset(uint64_t *w, unsigned p) { w[p / 64] |= 1ull << (p % 64); }
static void mclr(uint64_t *w, unsigned p) { w[p / 64] &= ~(1ull << (p % 64)); }

static void m_raise(unsigned d, unsigned p)
{
    struct mshared *s = &mshin[d];
    bool was = mbit(s->pending, p);
    mset(s->pending, p);
    struct vcpu *v = &doms[d]->vcpu[0];
    if (v->polling)
        for (unsigned i = 0; i < v->nr_poll_ports; i++)
            if (v->poll_ports[i] > 0 && v->poll_ports[i] < NP && mbit(s->pending, v->poll_ports[i])) {
                mwakes[d]++;
                break;
            }
    if (was || mbit(s->mask, p))
        return;
    if (!((s->sel >> (p / 64)) & 1)) {
        s->sel |= 1ull << (p / 64);
        s->upcall = 1;
        if (!v->polling)            /* a poll ends only on its own ports */
            mwakes[d]++;
    }
}

static void m_close(unsigned d, unsigned p)
{
    struct mport *e = &model[d][p];
    if (e->state == HAKO_EVTCHN_INTERDOMAIN && e->rdom < RD) {
        struct mport *pe = &model[e->rdom][e->rport];
        if (pe->state == HAKO_EVTCHN_INTERDOMAIN && pe->rdom == d && pe->rport == p)
            *pe = (struct mport){ HAKO_EVTCHN_UNBOUND, d, 0 };
    } else if (e->state == HAKO_EVTCHN_VIRQ) {
        mvirq[d][e->rport] = 0;
    }
    *e = (struct mport){ 0, 0, 0 };
    mclr(mshin[d].pending, p);
}

static void check_model(unsigned step)
{
    for (unsigned d = 0; d < RD; d++) {
        struct domain *dd = doms[d];
        for (unsigned p = 0; p < NP; p++) {
            const struct evtchn *e = &dd->evtchn[p];
            const struct mport *m = &model[d][p];
            if (e->state != m->state || e->remote_dom != m->rdom || e->remote_port != m->rport)
                fail_msg("step %u: d%u port %u is %u/%u/%u, model %u/%u/%u", step, d, p,
                         e->state, e->remote_dom, e->remote_port, m->state, m->rdom, m->rport);
            /* invariants, independent of the model */
            if (p == 0 && e->state != HAKO_EVTCHN_FREE)
                fail_msg("step %u: d%u uses port 0", step, d);
            if (e->state == HAKO_EVTCHN_INTERDOMAIN) {
                struct domain *peer = domain_get((uint16_t)e->remote_dom);
                if (!peer || !peer->evtchn || e->remote_port == 0 || e->remote_port >= NP)
                    fail_msg("step %u: d%u port %u: dangling peer", step, d, p);
                const struct evtchn *pe = &peer->evtchn[e->remote_port];
                if (pe->state != HAKO_EVTCHN_INTERDOMAIN || pe->remote_dom != d ||
                    pe->remote_port != p)
                    fail_msg("step %u: d%u port %u: peer d%u:%u does not point back", step,
                             d, p, e->remote_dom, e->remote_port);
            }
            if (e->state == HAKO_EVTCHN_VIRQ &&
                (e->remote_port >= HAKO_NR_VIRQS || dd->virq_port[e->remote_port] != p))
                fail_msg("step %u: d%u port %u: virq %u not recorded", step, d, p,
                         e->remote_port);
        }
        for (unsigned v = 0; v < HAKO_NR_VIRQS; v++) {
            unsigned p = dd->virq_port[v];
            if (p != mvirq[d][v])
                fail_msg("step %u: d%u virq %u on port %u, model %u", step, d, v, p, mvirq[d][v]);
            if (p && (p >= NP || dd->evtchn[p].state != HAKO_EVTCHN_VIRQ ||
                      dd->evtchn[p].remote_port != v))
                fail_msg("step %u: d%u virq %u -> port %u not a VIRQ port", step, d, v, p);
        }
        const struct hako_shared_info *s = dd->shinfo;
        if (memcmp(s->evtchn_pending, mshin[d].pending, sizeof(mshin[d].pending)) ||
            memcmp(s->evtchn_mask, mshin[d].mask, sizeof(mshin[d].mask)) ||
            s->vcpu_info[0].evtchn_pending_sel != mshin[d].sel ||
            s->vcpu_info[0].evtchn_upcall_pending != mshin[d].upcall)
            fail_msg("step %u: d%u shared page differs from the model", step, d);
        if (wakes[d] != mwakes[d])
            fail_msg("step %u: d%u woken %u times, model %u", step, d, wakes[d], mwakes[d]);
    }
}

static unsigned pick_port(void)
{
    unsigned r = (unsigned)(rnd() % 100);
    if (r < 85)
        return 1 + (unsigned)(rnd() % HOT);
    if (r < 90)
        return 0;
    if (r < 95)
        return (unsigned)(rnd() % NP);
    return (unsigned)rnd();
}

TEST(test_random_state_machine)
{
    rng_state = 0x2545F4914F6CDD1Dull;
    memset(model, 0, sizeof(model)), memset(mvirq, 0, sizeof(mvirq));
    memset(mshin, 0, sizeof(mshin)), memset(mwakes, 0, sizeof(mwakes));
    unsigned okc[16] = { 0 }, sends_ok = 0, closes_peer = 0;
    for (unsigned step = 0; step < 40000; step++) {
        unsigned d = (unsigned)(rnd() % RD);
        struct domain *dd = doms[d];
        unsigned op = (unsigned)(rnd() % 13);
        long rc = 0, want = 0;
        switch (op) {
        case 0: case 1: {                         /* ALLOC_UNBOUND */
            unsigned rdom = (unsigned)(rnd() % (RD + 2));   /* RD = NOEVT, RD+1 unknown */
            if (rdom == RD + 1)
                rdom = UNKNOWN;
            rc = alloc_unbound(dd, rdom);
            unsigned p = m_alloc(d);
            want = !mexists(rdom) ? -HAKO_ESRCH : !p ? -HAKO_ENOSPC : (long)p;
            if (want > 0)
                model[d][p] = (struct mport){ HAKO_EVTCHN_UNBOUND, rdom, 0 };
            break;
        }
        case 2: case 3: {                         /* BIND_INTERDOMAIN */
            unsigned rdom = (unsigned)(rnd() % (RD + 2));
            if (rdom == RD + 1)
                rdom = UNKNOWN;
            uint32_t rport = pick_port();
            if (rdom < RD && rnd() % 10 < 6)      /* mostly a port that was offered to d */
                for (unsigned p = 1; p < NP; p++)
                    if (model[rdom][p].state == HAKO_EVTCHN_UNBOUND && model[rdom][p].rdom == d) {
                        rport = p;
                        break;
                    }
            rc = bind_inter(dd, rdom, rport);
            if (!mexists(rdom) || rdom >= RD)
                want = -HAKO_ESRCH;
            else if (rport == 0 || rport >= NP || model[rdom][rport].state != HAKO_EVTCHN_UNBOUND ||
                     model[rdom][rport].rdom != d)
                want = -HAKO_EINVAL;
            else if (!m_alloc(d))
                want = -HAKO_ENOSPC;
            else {
                unsigned p = m_alloc(d);
                want = p;
                model[d][p] = (struct mport){ HAKO_EVTCHN_INTERDOMAIN, rdom, rport };
                model[rdom][rport] = (struct mport){ HAKO_EVTCHN_INTERDOMAIN, d, p };
            }
            break;
        }
        case 4: {                                 /* BIND_VIRQ */
            uint32_t virq = (uint32_t)(rnd() % (HAKO_NR_VIRQS + 1));
            rc = bind_virq(dd, virq);
            unsigned p = m_alloc(d);
            if (virq >= HAKO_NR_VIRQS)
                want = -HAKO_EINVAL;
            else if ((virq == HAKO_VIRQ_CONSOLE || virq == HAKO_VIRQ_DOM_EXC ||
                      virq >= HAKO_VIRQ_DEVICE0) && !dd->privileged)
                want = -HAKO_EPERM;
            else if (mvirq[d][virq])
                want = -HAKO_EEXIST;
            else if (!p)
                want = -HAKO_ENOSPC;
            else {
                want = p;
                model[d][p] = (struct mport){ HAKO_EVTCHN_VIRQ, 0, virq };
                mvirq[d][virq] = p;
            }
            break;
        }
        case 5: {                                 /* STATUS */
            uint32_t p = pick_port();
            struct hako_evtchn st = { .port = p };
            rc = evtchn_op(dd, HAKO_EVTCHNOP_STATUS, &st);
            if (p == 0 || p >= NP) {
                want = -HAKO_EINVAL;
                break;
            }
            const struct mport *m = &model[d][p];
            assert_int_equal(st.state, m->state);
            assert_int_equal(st.remote_dom, m->state == HAKO_EVTCHN_VIRQ ? 0 : m->rdom);
            assert_int_equal(st.remote_port, m->state == HAKO_EVTCHN_INTERDOMAIN ? m->rport : 0);
            assert_int_equal(st.virq, m->state == HAKO_EVTCHN_VIRQ ? m->rport : 0);
            break;
        }
        case 6: case 7: {                         /* SEND */
            uint64_t p = pick_port();
            rc = send(dd, p);
            if (p == 0 || p >= NP)
                want = -HAKO_EINVAL;
            else if (model[d][p].state == HAKO_EVTCHN_UNBOUND)
                want = -HAKO_ENOTCONN;
            else if (model[d][p].state != HAKO_EVTCHN_INTERDOMAIN)
                want = -HAKO_EINVAL;
            else {
                m_raise(model[d][p].rdom, model[d][p].rport);
                sends_ok++;
            }
            break;
        }
        case 8: {                                 /* CLOSE */
            uint64_t p = pick_port();
            rc = closep(dd, p);
            if (p == 0 || p >= NP || model[d][p].state == HAKO_EVTCHN_FREE)
                want = -HAKO_EINVAL;
            else {
                closes_peer += model[d][p].state == HAKO_EVTCHN_INTERDOMAIN;
                m_close(d, (unsigned)p);
            }
            break;
        }
        case 9: {                                 /* UNMASK */
            uint64_t p = pick_port();
            rc = unmask(dd, p);
            if (p == 0 || p >= NP) {
                want = -HAKO_EINVAL;
                break;
            }
            struct mshared *s = &mshin[d];
            mclr(s->mask, (unsigned)p);
            if (mbit(s->pending, (unsigned)p) && !((s->sel >> (p / 64)) & 1)) {
                s->sel |= 1ull << (p / 64);
                s->upcall = 1;
                if (!doms[d]->vcpu[0].polling)
                    mwakes[d]++;
            }
            break;
        }
        case 10: {                                /* the guest plays with its page */
            unsigned p = (unsigned)(rnd() % (HOT + 1)), what = (unsigned)(rnd() % 5);
            struct hako_shared_info *s = dd->shinfo;
            if (what == 0)
                mset(mshin[d].mask, p), s->evtchn_mask[p / 64] |= 1ull << (p % 64);
            else if (what == 1)
                mclr(mshin[d].mask, p), s->evtchn_mask[p / 64] &= ~(1ull << (p % 64));
            else if (what == 2)
                mclr(mshin[d].pending, p), s->evtchn_pending[p / 64] &= ~(1ull << (p % 64));
            else if (what == 3) {
                guest_ack(dd);
                memset(mshin[d].pending, 0, sizeof(mshin[d].pending));
                mshin[d].sel = 0, mshin[d].upcall = 0;
            } else {
                uint64_t g = rnd();               /* garbage in the selector */
                s->vcpu_info[0].evtchn_pending_sel = g, mshin[d].sel = g;
            }
            break;
        }
        case 11: {                                /* polling on or off, virqs */
            struct vcpu *v = &dd->vcpu[0];
            v->polling = rnd() & 1;
            v->nr_poll_ports = (uint32_t)(rnd() % 4);
            for (unsigned i = 0; i < v->nr_poll_ports; i++)
                v->poll_ports[i] = pick_port();
            unsigned virq = (unsigned)(rnd() % (HAKO_NR_VIRQS + 1));
            evtchn_send_virq(dd, virq);
            if (virq < HAKO_NR_VIRQS && mvirq[d][virq])
                m_raise(d, mvirq[d][virq]);
            break;
        }
        default:                                  /* destroy-and-recreate: teardown */
            if (rnd() % 20)
                continue;
            evtchn_teardown(dd);
            for (unsigned p = 1; p < NP; p++)
                if (model[d][p].state != HAKO_EVTCHN_FREE)
                    m_close(d, p);
            /* Unbound ports elsewhere that name the destroyed domain now name nobody. */
            for (unsigned o = 0; o < RD; o++)
                for (unsigned p = 1; o != d && p < NP; p++)
                    if (model[o][p].state == HAKO_EVTCHN_UNBOUND && model[o][p].rdom == d)
                        model[o][p].rdom = HAKO_DOMID_NONE;
            break;
        }
        if (op <= 9 && rc != want)
            fail_msg("step %u: d%u op %u returned %ld, model %ld", step, d, op, rc, want);
        if (op <= 9 && rc >= 0)
            okc[op]++;
        check_model(step);
    }
    for (unsigned op = 0; op <= 9; op++)          /* every operation did succeed often */
        assert_true(okc[op] > 100);
    print_message("ok per op:");
    for (unsigned op = 0; op <= 9; op++)
        print_message(" %u", okc[op]);
    print_message("; sends %u, interdomain closes %u\n", sends_ok, closes_peer);
    assert_true(sends_ok > 500 && closes_peer > 100);
    assert_int_equal(bad_wakes, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_alloc_lowest_free_first_and_reuse), T(test_alloc_fills_1023_ports_then_enospc),
        T(test_alloc_unbound_unknown_domain), T(test_bind_interdomain),
        T(test_bind_interdomain_to_self_loops), T(test_bind_virq), T(test_status_every_state),
        T(test_send_delivers_to_peer), T(test_send_same_word_after_ack_of_other_port),
        T(test_send_masked_then_unmask), T(test_send_errors_and_unknown_cmds),
        T(test_close_peer_falls_back_to_unbound), T(test_close_leaves_unrelated_peer_port),
        T(test_close_virq_frees_it), T(test_teardown_closes_everything),
        T(test_send_to_vanished_peer), T(test_poll_wakes_on_masked_port),
        T(test_any_pending_ignores_out_of_range), T(test_hostile_shared_page),
        T(test_random_state_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
