/*
 * guest-pv/drivers/consring.c: console rings (hypercall-abi/hako/console.h), front end for a
 * domU kernel and back end for dom0's kernel. Both ends use ring-io, which copies every
 * byte out once and validates every index the peer writes.
 *
 * Back-end window: CONSRING_BACK_VA(domid) = 0xFFFFFFFFB0000000 + domid * 4096 for
 * domids 1..63 (see consring.h). The mapping is made with HAKO_MMU_PT_UPDATE_FOREIGN
 * (the domU's frame, writable, no-execute); the page tables on the way are created with
 * mm_map and stay (they are reused by the next attach of that slot).
 */
#include "consring.h"

#include "blkback.h"

#include <hako/console.h>
#include <hako/errno.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>

#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "ringio.h"

/* The page's ring headers (hako/ring.h) are worked with ring-io: the same layout. */
_Static_assert(sizeof(struct ringio_hdr) == sizeof(struct hako_ring_hdr) &&
               __builtin_offsetof(struct ringio_hdr, prod_event) ==
                   __builtin_offsetof(struct hako_ring_hdr, prod_event) &&
               __builtin_offsetof(struct ringio_hdr, cons) ==
                   __builtin_offsetof(struct hako_ring_hdr, cons) &&
               __builtin_offsetof(struct ringio_hdr, cons_event) ==
                   __builtin_offsetof(struct hako_ring_hdr, cons_event),
               "ring-io's header is hako_ring_hdr");

/* ---- front end ----------------------------------------------------------------------- */

static struct {
    struct hako_console_page *page;     /* NULL: not attached */
    unsigned port;
    uint64_t dropped;
    struct ringio_prod out;
    struct ringio_cons in;
} front;

/* Attach ring-io handles to the two rings of a console page (producer of one, consumer
 * of the other); 0 or -HAKO_EIO with both handles disconnected. */
static int attach_rings(struct ringio_prod *p, struct ringio_hdr *ph, uint8_t *pdata,
                        uint32_t porder, struct ringio_cons *c, struct ringio_hdr *chdr,
                        uint8_t *cdata, uint32_t corder)
{
    if (ringio_prod_attach(p, ph, pdata, porder, 1) || ringio_cons_attach(c, chdr, cdata, corder, 1)) {
        ringio_prod_disconnect(p);
        ringio_cons_disconnect(c);
        return -HAKO_EIO;
    }
    return 0;
}

int consring_front_init(const struct hako_start_info *si)
{
    if (!si->console_va || !si->console_port)
        return 0;
    struct hako_console_page *pg = (struct hako_console_page *)si->console_va;
    int rc = attach_rings(&front.out, (struct ringio_hdr *)&pg->out, pg->out_data,
                          HAKO_CONSOLE_OUT_ORDER, &front.in, (struct ringio_hdr *)&pg->in,
                          pg->in_data, HAKO_CONSOLE_IN_ORDER);
    if (rc)
        return rc;
    front.page = pg;
    front.port = si->console_port;
    /* Ask for an event at the first input byte. */
    ringio_cons_arm(&front.in, 1);
    return 1;
}

size_t consring_front_write(const char *buf, size_t n)
{
    if (!front.page)
        return 0;
    size_t done = 0;
    bool notify = false, any = false;
    while (done < n) {
        uint32_t chunk = n - done > HAKO_CONSOLE_OUT_SIZE ? HAKO_CONSOLE_OUT_SIZE
                                                          : (uint32_t)(n - done);
        int k = ringio_produce(&front.out, buf + done, chunk, &notify);
        any |= notify;
        if (k <= 0)
            break;                      /* full (or broken): drop the rest */
        done += (size_t)k;
    }
    if (done < n) {
        front.dropped += n - done;
        /* Informational for the back end; it never trusts it. */
        __atomic_store_n(&front.page->out_dropped, front.dropped, __ATOMIC_RELAXED);
    }
    if (any)
        events_notify(front.port);
    return n;
}

long consring_front_read(char *buf, size_t n)
{
    if (!front.page)
        return -HAKO_ENOENT;
    uint32_t want = n > HAKO_CONSOLE_IN_SIZE ? HAKO_CONSOLE_IN_SIZE : (uint32_t)n;
    if (want == 0)
        return 0;
    bool notify = false;
    int k = ringio_consume(&front.in, buf, want, &notify);
    if (k == 0 && ringio_cons_arm(&front.in, 1) > 0)       /* raced with the back end */
        k = ringio_consume(&front.in, buf, want, &notify);
    if (k < 0)
        return -HAKO_EIO;
    if (notify)
        events_notify(front.port);      /* the back end waits for room */
    return k;
}

unsigned consring_front_port(void)
{
    return front.page ? front.port : 0;
}

uint64_t consring_front_dropped(void)
{
    return front.dropped;
}

/* ---- back end ------------------------------------------------------------------------ */

struct consring_back {
    unsigned domid;
    unsigned port;                      /* ours, bound to the domU's console port */
    struct hako_console_page *page;     /* at CONSRING_BACK_VA(domid) */
    struct ringio_cons out;
    struct ringio_prod in;
};

static struct consring_back *attached[CONSRING_BACK_SLOTS];

/* Event on the back end's port: wake whoever sleeps on the attachment; the domU's
 * block front end also signals here that its link area changed (hako/blkif.h). */
static void back_event(unsigned port, void *arg)
{
    (void)port;
    kwakeup(arg);
    blkback_console_event(((struct consring_back *)arg)->domid);
}

struct consring_back *consring_back_attach(unsigned domid, uint64_t console_mfn,
                                           unsigned domu_port)
{
    if (domid == 0 || domid >= CONSRING_BACK_SLOTS || attached[domid] || !console_mfn ||
        !domu_port || domu_port >= HAKO_NR_EVENT_CHANNELS)
        return NULL;
    struct consring_back *b = kmalloc(sizeof(*b));
    if (!b)
        return NULL;
    uint64_t va = CONSRING_BACK_VA(domid), root = mm_kernel_root(), l1;
    /* Build the tables down to the L1 (the entry stays empty), then the foreign leaf. */
    if (mm_map(root, va, 0, 0) || mm_flush() || !mm_table(root, va, 1, &l1) ||
        privops->map_foreign(l1, mm_index(va, 1), console_mfn, domid)) {
        kfree(b);
        return NULL;
    }
    struct hako_evtchn op __attribute__((aligned(8))) = {
        .remote_dom = (uint16_t)domid, .remote_port = domu_port,
    };
    b->domid = domid;
    b->page = (struct hako_console_page *)va;
    if (hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_INTERDOMAIN,
                        (unsigned long)&op))
        goto unmap;
    b->port = op.port;
    if (attach_rings(&b->in, (struct ringio_hdr *)&b->page->in, b->page->in_data,
                     HAKO_CONSOLE_IN_ORDER, &b->out, (struct ringio_hdr *)&b->page->out,
                     b->page->out_data, HAKO_CONSOLE_OUT_ORDER) ||
        events_bind(b->port, back_event, b))
        goto close;
    ringio_cons_arm(&b->out, 1);        /* an event at the next output byte */
    attached[domid] = b;
    return b;
close:
    hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_CLOSE, b->port);
unmap:
    privops->map_page(va, 0, 0);
    kfree(b);
    return NULL;
}

struct consring_back *consring_back_of(uint64_t domid)
{
    return domid < CONSRING_BACK_SLOTS ? attached[domid] : NULL;
}

long consring_back_read(struct consring_back *b, char *buf, size_t n)
{
    uint32_t want = n > HAKO_CONSOLE_OUT_SIZE ? HAKO_CONSOLE_OUT_SIZE : (uint32_t)n;
    if (want == 0)
        return 0;
    bool notify = false;
    int k = ringio_consume(&b->out, buf, want, &notify);
    if (k == 0 && ringio_cons_arm(&b->out, 1) > 0)         /* raced with the domU */
        k = ringio_consume(&b->out, buf, want, &notify);
    if (k < 0)
        return -HAKO_EIO;
    if (notify)
        events_notify(b->port);
    return k;
}

size_t consring_back_write(struct consring_back *b, const char *buf, size_t n)
{
    uint32_t want = n > HAKO_CONSOLE_IN_SIZE ? HAKO_CONSOLE_IN_SIZE : (uint32_t)n;
    bool notify = false;
    int k = ringio_produce(&b->in, buf, want, &notify);
    if (notify)
        events_notify(b->port);
    return k > 0 ? (size_t)k : 0;
}

unsigned consring_back_port(const struct consring_back *b)
{
    return b->port;
}

uint64_t consring_back_dropped(const struct consring_back *b)
{
    return __atomic_load_n(&b->page->out_dropped, __ATOMIC_RELAXED);
}

struct hako_console_page *consring_back_page(const struct consring_back *b)
{
    return b->page;
}

void consring_back_detach(struct consring_back *b)
{
    ringio_cons_disconnect(&b->out);
    ringio_prod_disconnect(&b->in);
    events_unbind(b->port);
    hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_CLOSE, b->port);
    /* A normal update of the entry drops the foreign reference. */
    privops->map_page(CONSRING_BACK_VA(b->domid), 0, 0);
    attached[b->domid] = NULL;
    kfree(b);
}
