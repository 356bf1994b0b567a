/*
 * guest-pv/drivers/blkfront.c: the block front end: this kernel's disk over a blkif ring
 * (hypercall-abi/hako/blkif.h).
 *
 * Everything shared is ours: the ring page and NCTX request contexts of
 * HAKO_BLKIF_MAX_SEGMENTS data pages each, granted to the back end once at connect time
 * (persistent grants) and reused; callers' buffers are copied to and from them. rw
 * splits a transfer into requests of up to 32 KiB, keeps up to NCTX of them in flight,
 * and idles (privops->idle) until their responses arrive. Responses are matched by id
 * (the context number) and checked: an unknown or duplicate id is the back end's bug,
 * reported and ignored.
 */
#include "blkfront.h"

#include "user/hos.h"

#include <hako/console.h>
#include <hako/errno.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "blkback.h"
#include "blkdev.h"
#include "events.h"
#include "gnttab.h"
#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "ringio.h"

#define NCTX 4u
#define SECTORS_PER_PAGE (PAGE_SIZE / HAKO_BLKIF_SECTOR_SIZE)
#define CTX_SECTORS (HAKO_BLKIF_MAX_SEGMENTS * SECTORS_PER_PAGE)
#define TIMEOUT_NS 30000000000ull        /* a request unanswered this long: -HOS_EIO */
#define CONNECT_TIMEOUT_NS 5000000000ull

struct ctx {
    int busy;
    long status;
    uint32_t gref[HAKO_BLKIF_MAX_SEGMENTS];
    uint8_t *page[HAKO_BLKIF_MAX_SEGMENTS];
};

static struct {
    int connected, local;
    unsigned back_domid, port;
    struct ringio_front ring;
    struct ctx ctx[NCTX];
    struct blkdev dev;
} f;

/* Tell the back end about new requests. */
static void kick_back(void)
{
    if (f.local)
        blkback_kick_local();
    else
        events_notify(f.port);
}

static void vbd_event(unsigned port, void *arg) { (void)port, (void)arg; }

/* Take every published response; 0, or -HOS_EIO when the ring is broken. */
static long collect(void)
{
    struct hako_blkif_response r;
    int n;
    while ((n = ringio_consume(&f.ring.rsp, &r, 1, NULL)) == 1) {
        if (r.id >= NCTX || !f.ctx[r.id].busy) {
            kprintf("blkfront: response for unknown request %lu ignored\n",
                    (unsigned long)r.id);
            continue;
        }
        f.ctx[r.id].busy = 0;
        f.ctx[r.id].status = r.status;
    }
    return n < 0 ? -HOS_EIO : 0;
}

/* Wait until context k (or, k = NCTX, any context) is free. 0 or -HOS_EIO. */
static long wait_ctx(unsigned k)
{
    uint64_t deadline = ktime_ns() + TIMEOUT_NS;
    for (;;) {
        if (collect())
            return -HOS_EIO;
        for (unsigned i = 0; i < NCTX; i++)
            if ((k == NCTX || i == k) && !f.ctx[i].busy)
                return 0;
        if (ringio_cons_arm(&f.ring.rsp, 1) > 0)
            continue;                   /* raced with the back end */
        if (ktime_ns() > deadline) {
            kprintf("blkfront: the back end stopped answering: disk disconnected\n");
            f.connected = 0;
            return -HOS_EIO;
        }
        privops->idle();                /* the response's event (no timer of ours:
                                           the scheduler owns it) */
    }
}

/* Queue the request for context k: op on sectors [sector, sector + n) (n <= CTX_SECTORS). */
static long submit(unsigned k, uint8_t op, uint64_t sector, uint32_t n)
{
    struct hako_blkif_request r = { .id = k, .op = op, .sector = sector };
    for (uint32_t done = 0; done < n; r.nr_segments++) {
        uint32_t take = n - done < SECTORS_PER_PAGE ? n - done : SECTORS_PER_PAGE;
        r.seg[r.nr_segments] = (struct hako_blkif_segment){
            .gref = f.ctx[k].gref[r.nr_segments], .first_sect = 0,
            .last_sect = (uint8_t)(take - 1) };
        done += take;
    }
    bool notify = false;
    f.ctx[k].busy = 1;
    if (ringio_produce(&f.ring.req, &r, 1, &notify) != 1) {
        f.ctx[k].busy = 0;
        return -HOS_EIO;
    }
    if (notify || f.local)
        kick_back();
    return 0;
}

/* Copy n sectors between buf and context k's pages (into them when to_ctx). */
static void ctx_copy(unsigned k, uint8_t *buf, uint32_t n, int to_ctx)
{
    for (uint32_t s = 0; s < n; s += SECTORS_PER_PAGE) {
        uint32_t take = (n - s < SECTORS_PER_PAGE ? n - s : SECTORS_PER_PAGE) * 512;
        uint8_t *page = f.ctx[k].page[s / SECTORS_PER_PAGE], *b = buf + (uint64_t)s * 512;
        if (to_ctx)
            memcpy(page, b, take);
        else
            memcpy(b, page, take);
    }
}

/* A read a context carries: where its data goes. */
struct pending_read { uint8_t *dst; uint32_t n; };

/* Wait for context k's request, copy a read's data out: 0, or -HOS_EIO when the
 * request failed (its status) or the ring did. */
static long ctx_finish(unsigned k, struct pending_read *out)
{
    long rc = wait_ctx(k);
    if (rc == 0 && f.ctx[k].status)
        rc = -HOS_EIO;
    f.ctx[k].status = 0;
    if (rc == 0 && out->dst)
        ctx_copy(k, out->dst, out->n, 0);
    out->dst = NULL;
    return rc;
}

/* blkdev rw: up to NCTX requests in flight; reads are copied out as they complete. */
static long front_rw(struct blkdev *d, int write, uint64_t sector, uint32_t count, void *buf)
{
    (void)d;
    if (!f.connected)
        return -HOS_EIO;
    if (sector > f.dev.sectors || count > f.dev.sectors - sector)
        return -HOS_EINVAL;
    struct pending_read out[NCTX] = { { 0, 0 } };
    long rc = 0;
    uint8_t *p = buf;
    for (uint32_t done = 0; done < count;) {
        uint32_t n = count - done < CTX_SECTORS ? count - done : CTX_SECTORS;
        unsigned k = done / CTX_SECTORS % NCTX;
        if ((rc = ctx_finish(k, &out[k])) != 0)
            break;
        if (write)
            ctx_copy(k, p, n, 1);
        if ((rc = submit(k, write ? HAKO_BLKIF_OP_WRITE : HAKO_BLKIF_OP_READ,
                         sector + done, n)) != 0)
            break;
        if (!write)
            out[k] = (struct pending_read){ p, n };
        p += (uint64_t)n * 512;
        done += n;
    }
    /* Finish everything in flight (also after an error: the pages are reused). */
    for (unsigned k = 0; k < NCTX; k++) {
        long r = ctx_finish(k, &out[k]);
        if (rc == 0)
            rc = r;
    }
    return rc;
}

static long front_flush(struct blkdev *d)
{
    (void)d;
    if (!f.connected)
        return -HOS_EIO;
    struct pending_read none = { 0, 0 };
    long rc = ctx_finish(0, &none);
    if (rc == 0)
        rc = submit(0, HAKO_BLKIF_OP_FLUSH, 0, 0);
    return rc ? rc : ctx_finish(0, &none);
}

struct blkdev *blkdev_disk(void)
{
    return f.connected ? &f.dev : NULL;
}

/* Allocate the ring page (reset, attached as our front end) and the contexts' pages,
 * all granted to domid: 0 and the ring page's ref, or a negative HAKO_E* (what was
 * allocated stays: this happens once, at boot). */
static long ring_create(unsigned domid, uint32_t *ring_ref, void **ring_out)
{
    struct ringio_pair_layout l;
    uint64_t rpfn = pfn_alloc();
    if (!rpfn || blkif_ring_layout(&l))
        return -HAKO_ENOMEM;
    void *ring = pfn_to_va(rpfn);
    memset(ring, 0, PAGE_SIZE);
    long ref = gnttab_grant(domid, rpfn, 0);
    if (ref < 0)
        return ref;
    *ring_ref = (uint32_t)ref;
    for (unsigned k = 0; k < NCTX; k++)
        for (unsigned i = 0; i < HAKO_BLKIF_MAX_SEGMENTS; i++) {
            uint64_t pfn = pfn_alloc();
            long g = pfn ? gnttab_grant(domid, pfn, 0) : -HAKO_ENOMEM;
            if (g < 0)
                return g;
            f.ctx[k].gref[i] = (uint32_t)g;
            f.ctx[k].page[i] = pfn_to_va(pfn);
        }
    ringio_pair_reset(ring, &l, 0);
    if (ringio_front_attach(&f.ring, ring, &l))
        return -HAKO_EIO;
    *ring_out = ring;
    return 0;
}

/* The number after word= on the command line (e.g. "vbd=0"): 0 and *v, or -1. */
static int cmdline_number(const char *c, const char *word, uint64_t *v)
{
    size_t n = strlen(word);
    while (*c) {
        if (strncmp(c, word, n) == 0 && c[n] >= '0' && c[n] <= '9') {
            uint64_t x = 0;
            for (c += n; *c >= '0' && *c <= '9'; c++)
                x = x * 10 + (uint64_t)(*c - '0');
            *v = x;
            return *c == ' ' || *c == 0 ? 0 : -1;
        }
        while (*c && *c != ' ')
            c++;
        while (*c == ' ')
            c++;
    }
    return -1;
}

/* Connect to the back end named by the link area of our console page. */
static long connect_remote(const struct hako_start_info *si, unsigned back)
{
    if (!si->console_va)
        return -HAKO_ENOENT;
    volatile struct hako_vbd_link *link = &((struct hako_console_page *)si->console_va)->vbd;
    uint32_t ring_ref;
    void *ring;
    long rc = ring_create(back, &ring_ref, &ring);
    if (rc)
        return rc;
    struct hako_evtchn op __attribute__((aligned(8))) = { .remote_dom = (uint16_t)back };
    if (hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_ALLOC_UNBOUND, (uint64_t)&op))
        return -HAKO_ENOSPC;
    f.port = op.port;
    events_bind(f.port, vbd_event, NULL);
    f.back_domid = back;
    link->ring_ref = ring_ref;
    link->port = f.port;
    /* Our data pages are granted once; "vbd.nopersist" (for benchmarks) asks for a map
     * and an unmap per request instead. */
    link->features = cmdline_has(si->cmdline, "vbd.nopersist") ? 0 : HAKO_VBD_FEAT_PERSISTENT;
    __atomic_store_n(&link->front_state, HAKO_VBD_STATE_READY, __ATOMIC_RELEASE);
    events_notify(si->console_port);        /* the back end watches our console port */
    uint64_t deadline = ktime_ns() + CONNECT_TIMEOUT_NS;
    uint32_t st;
    while ((st = __atomic_load_n(&link->back_state, __ATOMIC_ACQUIRE)) != HAKO_VBD_STATE_CONNECTED &&
           st != HAKO_VBD_STATE_CLOSED && ktime_ns() < deadline) {
        privops->set_timer(ktime_ns() + 10000000ull);   /* at boot: no scheduler yet */
        privops->idle();
    }
    privops->set_timer(0);
    if (st != HAKO_VBD_STATE_CONNECTED) {
        __atomic_store_n(&link->front_state, HAKO_VBD_STATE_CLOSED, __ATOMIC_RELEASE);
        return st == HAKO_VBD_STATE_CLOSED ? link->error : -HAKO_ENOTCONN;
    }
    uint64_t sectors = link->sectors;          /* copied once */
    if (link->sector_size != HAKO_BLKIF_SECTOR_SIZE ||
        link->max_segments < HAKO_BLKIF_MAX_SEGMENTS)
        return -HAKO_EINVAL;
    f.dev.sectors = sectors;
    return 0;
}

/* Connect to this kernel's own back end (the control domain). */
static long connect_local(void)
{
    long rc = blkback_init();
    if (rc)
        return rc;
    uint32_t ring_ref;                  /* granted to ourselves: blkback reads our table */
    void *ring;
    if ((rc = ring_create(0, &ring_ref, &ring)) != 0 || (rc = blkback_connect_local(ring)) != 0)
        return rc;
    f.local = 1;
    f.dev.sectors = blkback_disk_sectors();
    return 0;
}

void blkfront_init(const struct hako_start_info *si)
{
    if (!privops->on_hypervisor)
        return;                         /* native: no back end to talk to */
    uint64_t back;
    long rc;
    if (si->flags & HAKO_SIF_PRIVILEGED)
        rc = connect_local();
    else if (cmdline_number(si->cmdline, "vbd=", &back) == 0 && back < 0x7FF0)
        rc = connect_remote(si, (unsigned)back);
    else
        return;
    if (rc == -HAKO_ENOENT)
        return;                         /* no disk */
    if (rc) {
        kprintf("blkfront: cannot connect the disk (%ld)\n", rc);
        return;
    }
    f.dev = (struct blkdev){ .name = "xvda", .sectors = f.dev.sectors, .rw = front_rw,
                             .flush = front_flush, .priv = &f };
    f.connected = 1;
    kprintf("blkfront: xvda: %lu sectors (%lu MiB)%s\n", (unsigned long)f.dev.sectors,
            (unsigned long)(f.dev.sectors >> 11), f.local ? ", the machine's disk" : "");
}
