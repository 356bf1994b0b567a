/*
 * guest-pv/drivers/blkback.c: the block back end (hypercall-abi/hako/blkif.h, ABI.md
 * "Block devices").
 *
 * A connection is one front end: this kernel's own (local: the whole disk, grants read
 * from our own table) or a domU's (its region of the disk; its ring and data pages
 * grant-mapped at slots of the MAP_VA window, the mapping holding the frames while the
 * device reads or writes them by DMA; with HAKO_VBD_FEAT_PERSISTENT the first PCACHE
 * data grants stay mapped until the connection closes, the rest are mapped per request). Requests are copied out of the ring once,
 * checked (blkback_check), then become virtio requests (virtio_blk.c); each completion
 * unmaps the request's grants and publishes its response. A connection never has more
 * requests taken than it has free response slots, so a front end that stops consuming
 * responses only stops itself. A front end that corrupts its ring indices is
 * disconnected.
 *
 * Invariant: a pending request (struct bb_req in use) holds one virtio slot, its grant
 * mappings, and one count of conn->inflight; all three go together in bb_complete.
 */
#include "blkback.h"

#include <hako/errno.h>
#include <hako/events.h>
#include <hako/grant_table.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "events.h"
#include "gnttab.h"
#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "physmap.h"
#include "privops.h"
#include "ringio.h"
#include "virtio_blk.h"

#define MAX_CONNS   16u                 /* the local front end and 15 domUs */
#define MAX_PENDING 12u                 /* requests at the device at once */
#define MAP_VA      0xFFFFFFFFB0400000ull /* grant-mapping slots, one page each */
#define MAP_SLOTS   480u                /* within one leaf table (HAKO_GRANT_MAPS_MAX
                                           limits what the hypervisor grants us) */
#define PCACHE      32u                 /* persistent mappings per connection */
#define LOG_LIMIT   8u                  /* refusals logged per connection */

struct conn {
    int used, local, closing;
    unsigned domid;
    uint64_t start, sectors;            /* its region of the disk */
    struct ringio_back ring;
    unsigned port;                      /* remote: ours, bound to the front's */
    int ring_slot;                      /* remote: MAP slot of the ring page */
    uint32_t ring_handle;
    unsigned inflight;
    uint64_t refused;                   /* requests refused (the first few are logged) */
    volatile struct hako_vbd_link *link; /* remote: in its console page */
    int offered;                        /* remote: offered, not connected yet */
    int persistent;                     /* remote: HAKO_VBD_FEAT_PERSISTENT */
    unsigned npc;                       /* persistent mappings: pc[0..npc) */
    struct { uint32_t gref, handle; int slot, ro; uint64_t mfn; } pc[PCACHE];
};

struct bb_req {
    struct vblk_req v;
    struct conn *c;
    uint64_t id;
    uint8_t op;
    unsigned nmap;
    int slot[HAKO_BLKIF_MAX_SEGMENTS];
    uint32_t handle[HAKO_BLKIF_MAX_SEGMENTS];
};

static struct conn conns[MAX_CONNS];
static struct bb_req pending[MAX_PENDING];
static uint8_t pending_used[MAX_PENDING];
static uint8_t slot_used[MAP_SLOTS];
static uint64_t map_l1;                 /* the leaf table of the MAP_VA window */
static uint64_t disk_sectors, own_fs_end;
static struct ringio_pair_layout layout;
static unsigned rr_next;                /* round robin over connections */

static void serve_all(void);
static void conn_teardown(struct conn *c);

/* A free MAP slot, or -1. */
static int slot_alloc(void)
{
    for (unsigned i = 0; i < MAP_SLOTS; i++)
        if (!slot_used[i]) {
            slot_used[i] = 1;
            return (int)i;
        }
    return -1;
}

static uint64_t slot_pte_maddr(int s)
{
    return pv_table_entry_maddr(map_l1, mm_index(MAP_VA + (uint64_t)s * PAGE_SIZE, 1));
}

/* Map grant ref of domid at MAP slot s (read-only when ro): 0 and *handle, or an error. */
static long grant_map(unsigned domid, uint32_t ref, int s, int ro, uint32_t *handle)
{
    static struct hako_gnttab_map m __attribute__((aligned(8)));
    m = (struct hako_gnttab_map){ .pte_maddr = slot_pte_maddr(s), .ref = ref,
                                  .domid = (uint16_t)domid,
                                  .flags = ro ? HAKO_GNTMAP_READONLY : 0 };
    long rc = hako_hypercall3(HAKO_HC_grant_table_op, HAKO_GNTTABOP_MAP, (uint64_t)&m, 1);
    if (rc == 0)
        rc = m.status;
    *handle = m.handle;
    return rc;
}

/* Undo grant_map of slot s. */
static void grant_unmap(int s, uint32_t handle)
{
    static struct hako_gnttab_unmap u __attribute__((aligned(8)));
    u = (struct hako_gnttab_unmap){ .pte_maddr = slot_pte_maddr(s), .handle = handle };
    long rc = hako_hypercall3(HAKO_HC_grant_table_op, HAKO_GNTTABOP_UNMAP, (uint64_t)&u, 1);
    if (rc || u.status)
        kprintf("blkback: unmapping a grant failed (%ld/%d)\n", rc, u.status);
    slot_used[s] = 0;
}

/* The machine frame now mapped at MAP slot s (read back from our own leaf table). */
static uint64_t slot_mfn(int s)
{
    volatile uint64_t *l1 = pfn_to_va(map_l1);
    return (l1[mm_index(MAP_VA + (uint64_t)s * PAGE_SIZE, 1)] & 0x000FFFFFFFFFF000ull) >> 12;
}

/* Resolve segment i of request q (READ when the device writes memory) to a machine
 * frame: a local grant is read from our own table, a remote one is mapped. */
static long resolve_segment(struct bb_req *q, const struct hako_blkif_segment *sg,
                            uint64_t *mfn)
{
    struct conn *c = q->c;
    int device_writes = q->op == HAKO_BLKIF_OP_READ;
    if (c->local) {
        uint16_t flags, domid;
        uint64_t frame;
        if (gnttab_read(sg->gref, &flags, &domid, &frame) || domid != 0 ||
            !(flags & HAKO_GTF_PERMIT_ACCESS) || (device_writes && (flags & HAKO_GTF_READONLY)))
            return -HAKO_EFAULT;
        *mfn = frame;
        return 0;
    }
    for (unsigned i = 0; i < c->npc; i++)
        if (c->pc[i].gref == sg->gref) {
            if (device_writes && c->pc[i].ro)
                return -HAKO_EFAULT;
            *mfn = c->pc[i].mfn;
            return 0;
        }
    int s = slot_alloc();
    if (s < 0)
        return -HAKO_EAGAIN;
    uint32_t h;
    if (c->persistent && c->npc < PCACHE) {     /* keep it: writable if the grant allows */
        int ro = 0;
        long rc = grant_map(c->domid, sg->gref, s, 0, &h);
        if (rc && !device_writes)
            rc = grant_map(c->domid, sg->gref, s, ro = 1, &h);
        if (rc == 0) {
            c->pc[c->npc].gref = sg->gref;
            c->pc[c->npc].handle = h;
            c->pc[c->npc].slot = s;
            c->pc[c->npc].ro = ro;
            *mfn = c->pc[c->npc++].mfn = slot_mfn(s);
            return 0;
        }
        if (rc != -HAKO_ENOSPC) {
            slot_used[s] = 0;
            return -HAKO_EFAULT;
        }                                       /* our maptrack is full: map per request */
    }
    long rc = grant_map(c->domid, sg->gref, s, !device_writes, &h);
    if (rc) {
        slot_used[s] = 0;
        return -HAKO_EFAULT;
    }
    q->slot[q->nmap] = s;
    q->handle[q->nmap++] = h;
    *mfn = slot_mfn(s);
    return 0;
}

/* Publish the response {id, op, status} on c's ring and tell the front end. */
static void respond(struct conn *c, uint64_t id, uint8_t op, long status)
{
    struct hako_blkif_response rsp = { .id = id, .op = op, .status = (int32_t)status };
    bool notify = false;
    if (ringio_produce(&c->ring.rsp, &rsp, 1, &notify) != 1)
        return;                         /* broken ring: the connection is being dropped */
    if (notify && !c->local)            /* the local front end polls after each idle */
        events_notify(c->port);
}

/* Log a refused request of c (the first LOG_LIMIT of them). */
static void log_refusal(struct conn *c, const struct hako_blkif_request *r, long status)
{
    if (++c->refused > LOG_LIMIT)
        return;
    kprintf("blkback: d%u: request %lu (op %u, sector %lu, %u segments) refused: %s\n",
            c->domid, (unsigned long)r->id, r->op, (unsigned long)r->sector, r->nr_segments,
            status == -HAKO_ERANGE ? "outside its disk" :
            status == -HAKO_EFAULT ? "bad grant" : "malformed");
}

/* The device finished q: unmap, respond, free, and serve whatever waits. */
static void bb_complete(struct vblk_req *v, long status)
{
    struct bb_req *q = (struct bb_req *)v;
    struct conn *c = q->c;
    for (unsigned i = 0; i < q->nmap; i++)
        grant_unmap(q->slot[i], q->handle[i]);
    q->nmap = 0;
    c->inflight--;
    if (status)
        kprintf("blkback: d%u: the disk failed request %lu\n", c->domid, (unsigned long)q->id);
    pending_used[q - pending] = 0;
    if (c->closing) {
        if (c->inflight == 0)
            conn_teardown(c);
    } else {
        respond(c, q->id, q->op, status);
    }
    serve_all();
}

/* Free what c holds: its persistent and ring mappings, its port; CLOSED in its link.
 * Only once no request of c's is at the device (their completions reference c). */
static void conn_teardown(struct conn *c)
{
    if (!c->local) {
        if (c->port) {
            events_unbind(c->port);
            c->port = 0;
        }
        for (unsigned i = 0; i < c->npc; i++)
            grant_unmap(c->pc[i].slot, c->pc[i].handle);
        c->npc = 0;
        if (c->ring_slot >= 0)
            grant_unmap(c->ring_slot, c->ring_handle);
        c->ring_slot = -1;
        if (c->link)
            __atomic_store_n(&c->link->back_state, HAKO_VBD_STATE_CLOSED, __ATOMIC_RELEASE);
    }
    c->used = 0;
}

/* Drop c's connection (its peer broke the ring, or it is going away): nothing more is
 * read from its ring; the rest goes when its last request completes (never waits, so
 * event handlers may call it). */
static void conn_close(struct conn *c)
{
    c->closing = 1;
    ringio_cons_disconnect(&c->ring.req);
    ringio_prod_disconnect(&c->ring.rsp);
    if (c->inflight == 0)
        conn_teardown(c);
}

/* Take c's next request and start it. 1 if one was taken, 0 if none is waiting (the
 * ring is armed), -1 when there is no room to start one. */
static int serve_one(struct conn *c)
{
    int free = -1;
    for (unsigned i = 0; i < MAX_PENDING && free < 0; i++)
        if (!pending_used[i])
            free = (int)i;
    if (free < 0)
        return -1;
    /* No response slot for one more: ask the front end to tell us when it consumes
     * (ring-io's event rule: it notifies only when asked). */
    int space = ringio_prod_space(&c->ring.rsp);
    if (space >= 0 && space <= (int)c->inflight)
        space = ringio_prod_arm(&c->ring.rsp, c->inflight + 1);
    if (space < 0) {
        kprintf("blkback: d%u: corrupt ring indices: disconnected\n", c->domid);
        conn_close(c);
        return 0;
    }
    if (space <= (int)c->inflight)
        return -1;
    struct hako_blkif_request r;
    int n = ringio_consume(&c->ring.req, &r, 1, NULL);
    if (n == 0 && ringio_cons_arm(&c->ring.req, 1) > 0)
        n = ringio_consume(&c->ring.req, &r, 1, NULL);
    if (n < 0) {
        kprintf("blkback: d%u: corrupt ring indices: disconnected\n", c->domid);
        conn_close(c);
        return 0;
    }
    if (n == 0)
        return 0;
    uint64_t nsect;
    long rc = blkback_check(&r, c->sectors, HAKO_BLKIF_MAX_SEGMENTS, &nsect);
    struct bb_req *q = &pending[free];
    *q = (struct bb_req){ .c = c, .id = r.id, .op = r.op };
    for (unsigned i = 0; rc == 0 && i < r.nr_segments; i++) {
        uint64_t mfn = 0;
        rc = resolve_segment(q, &r.seg[i], &mfn);
        q->v.maddr[i] = (mfn << 12) + (uint64_t)r.seg[i].first_sect * 512;
        q->v.len[i] = (uint32_t)(r.seg[i].last_sect - r.seg[i].first_sect + 1) * 512;
    }
    if (rc) {
        for (unsigned i = 0; i < q->nmap; i++)
            grant_unmap(q->slot[i], q->handle[i]);
        log_refusal(c, &r, rc == -HAKO_EAGAIN ? -HAKO_EFAULT : rc);
        respond(c, r.id, r.op, rc == -HAKO_EAGAIN ? -HAKO_EFAULT : rc);
        return 1;
    }
    q->v.type = r.op == HAKO_BLKIF_OP_READ ? VBLK_READ :
                r.op == HAKO_BLKIF_OP_WRITE ? VBLK_WRITE : VBLK_FLUSH;
    q->v.nseg = r.nr_segments;
    q->v.sector = c->start + r.sector;
    q->v.done = bb_complete;
    pending_used[free] = 1;
    c->inflight++;
    if ((rc = vblk_submit(&q->v)) != 0) {       /* cannot happen: slots match */
        pending_used[free] = 0;
        c->inflight--;
        for (unsigned i = 0; i < q->nmap; i++)
            grant_unmap(q->slot[i], q->handle[i]);
        respond(c, r.id, r.op, -HAKO_EIO);
    }
    return 1;
}

/* Serve every connection, round robin, until nothing waits or the device is full. */
static void serve_all(void)
{
    static int running;
    if (running)                        /* a completion inside serve_one's submit */
        return;
    running = 1;
    for (int progress = 1; progress;) {
        progress = 0;
        for (unsigned k = 0; k < MAX_CONNS; k++) {
            struct conn *c = &conns[(rr_next + k) % MAX_CONNS];
            if (!c->used || c->closing || c->offered)
                continue;
            if (serve_one(c) > 0)
                progress = 1;
        }
        rr_next++;
    }
    running = 0;
}

/* An event from a remote front end. */
static void remote_event(unsigned port, void *arg)
{
    (void)port, (void)arg;
    serve_all();
}

/* Completion of read_own_fs_end's read: its status into *arg. */
static void vblk_read_done(struct vblk_req *v, long status)
{
    *(long *)v->arg = status;
}

/* The first sector after this kernel's own file system, from the ext2 superblock at
 * byte 1024 of the disk (0 when the disk holds no ext2). Read synchronously at init. */
static uint64_t read_own_fs_end(void)
{
    uint64_t pfn = pfn_alloc();
    if (!pfn)
        return disk_sectors;            /* cannot tell: keep the whole disk */
    static struct vblk_req v;
    long status = 1;
    v = (struct vblk_req){ .type = VBLK_READ, .nseg = 1, .sector = 2,
                           .done = vblk_read_done, .arg = &status };
    v.maddr[0] = pv_mfn(pfn) << 12;
    v.len[0] = 1024;
    uint64_t end = disk_sectors;
    if (vblk_submit(&v) == 0) {
        vblk_drain();
        const uint8_t *sb = pfn_to_va(pfn);
        uint32_t blocks = *(const uint32_t *)(sb + 4), log = *(const uint32_t *)(sb + 24);
        uint16_t magic = *(const uint16_t *)(sb + 56);
        if (status == 0 && magic != 0xEF53)
            end = 0;
        else if (status == 0 && log <= 6)
            end = (uint64_t)blocks << (log + 1);    /* (1024 << log) / 512 per block */
    }
    pfn_free(pfn);
    return end;
}

long blkback_init(void)
{
    long rc = vblk_init();
    if (rc)
        return rc;
    disk_sectors = vblk_sectors();
    if (blkif_ring_layout(&layout))
        return -HAKO_EINVAL;
    if ((rc = mm_leaf_table(mm_kernel_root(), MAP_VA, &map_l1)) != 0)
        return rc;
    own_fs_end = read_own_fs_end();
    kprintf("blkback: disk of %lu sectors (%lu MiB), own file system in the first %lu\n",
            (unsigned long)disk_sectors, (unsigned long)(disk_sectors >> 11),
            (unsigned long)own_fs_end);
    return 0;
}

uint64_t blkback_disk_sectors(void)
{
    return disk_sectors;
}

/* A free connection, or NULL. */
static struct conn *conn_alloc(unsigned domid)
{
    for (unsigned i = 0; i < MAX_CONNS; i++)
        if (conns[i].used && conns[i].domid == domid)
            return NULL;
    for (unsigned i = 0; i < MAX_CONNS; i++)
        if (!conns[i].used) {
            conns[i] = (struct conn){ .used = 1, .domid = domid, .ring_slot = -1 };
            return &conns[i];
        }
    return NULL;
}

static struct conn *conn_of(unsigned domid)
{
    for (unsigned i = 0; i < MAX_CONNS; i++)
        if (conns[i].used && conns[i].domid == domid)
            return &conns[i];
    return NULL;
}

long blkback_connect_local(void *ring)
{
    if (!disk_sectors)
        return -HAKO_ENOENT;
    struct conn *c = conn_alloc(0);
    if (!c)
        return -HAKO_EEXIST;
    c->local = 1;
    c->sectors = disk_sectors;
    if (ringio_back_attach(&c->ring, ring, &layout)) {
        c->used = 0;
        return -HAKO_EIO;
    }
    return 0;
}

void blkback_kick_local(void)
{
    serve_all();
}

long blkback_pick_region(uint64_t n, uint64_t *start)
{
    if (!disk_sectors)
        return -HAKO_ENOENT;
    if (n == 0)
        return -HAKO_EINVAL;
    uint64_t at = *start == UINT64_MAX ? own_fs_end : *start;
    for (;;) {
        if (!blkback_range_ok(at, n, disk_sectors) || at < own_fs_end)
            return *start == UINT64_MAX ? -HAKO_ENOSPC : -HAKO_ERANGE;
        struct conn *hit = NULL;
        for (unsigned i = 0; i < MAX_CONNS && !hit; i++)
            if (conns[i].used && !conns[i].local && at < conns[i].start + conns[i].sectors &&
                conns[i].start < at + n)
                hit = &conns[i];
        if (!hit) {
            *start = at;
            return 0;
        }
        if (*start != UINT64_MAX)
            return -HAKO_ERANGE;
        at = hit->start + hit->sectors;     /* first fit: try after the region in the way */
    }
}

long blkback_offer(unsigned domid, volatile struct hako_vbd_link *link, uint64_t start,
                   uint64_t n)
{
    if (domid == 0 || !blkback_range_ok(start, n, disk_sectors))
        return -HAKO_EINVAL;
    struct conn *c = conn_alloc(domid);
    if (!c)
        return -HAKO_EEXIST;
    c->start = start;
    c->sectors = n;
    c->link = link;
    c->offered = 1;
    blkback_console_event(domid);           /* the front end may be ready already */
    return 0;
}

/* Refuse c's front end with error: CLOSED in the link, the connection freed. */
static void offer_fail(struct conn *c, long error)
{
    kprintf("blkback: d%u: cannot connect its disk (%ld)\n", c->domid, error);
    c->link->error = (int32_t)error;
    c->offered = 0;
    conn_close(c);
}

void blkback_console_event(unsigned domid)
{
    struct conn *c = conn_of(domid);
    if (!c || !c->offered ||
        __atomic_load_n(&c->link->front_state, __ATOMIC_ACQUIRE) != HAKO_VBD_STATE_READY)
        return;
    uint32_t ref = c->link->ring_ref, fport = c->link->port;   /* copied once */
    uint32_t features = c->link->features;
    if (features & ~HAKO_VBD_FEAT_KNOWN)
        return offer_fail(c, -HAKO_EINVAL);
    c->persistent = (features & HAKO_VBD_FEAT_PERSISTENT) != 0;
    int s = slot_alloc();
    if (s < 0)
        return offer_fail(c, -HAKO_ENOSPC);
    if (grant_map(domid, ref, s, 0, &c->ring_handle)) {
        slot_used[s] = 0;
        return offer_fail(c, -HAKO_EFAULT);
    }
    c->ring_slot = s;
    void *ring = (void *)(MAP_VA + (uint64_t)s * PAGE_SIZE);
    if (ringio_back_attach(&c->ring, ring, &layout))
        return offer_fail(c, -HAKO_EIO);
    struct hako_evtchn op __attribute__((aligned(8))) = {
        .remote_dom = (uint16_t)domid, .remote_port = fport,
    };
    if (hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_INTERDOMAIN,
                        (uint64_t)&op) || events_bind(op.port, remote_event, c))
        return offer_fail(c, -HAKO_ENOTCONN);
    c->port = op.port;
    c->link->sectors = c->sectors;
    c->link->max_segments = HAKO_BLKIF_MAX_SEGMENTS;
    c->link->sector_size = HAKO_BLKIF_SECTOR_SIZE;
    c->link->error = 0;
    __atomic_store_n(&c->link->back_state, HAKO_VBD_STATE_CONNECTED, __ATOMIC_RELEASE);
    c->offered = 0;
    kprintf("blkback: d%u connected: sectors %lu..%lu of the disk\n", domid,
            (unsigned long)c->start, (unsigned long)(c->start + c->sectors));
    events_notify(c->port);
    serve_all();
}

void blkback_disconnect(unsigned domid)
{
    struct conn *c = conn_of(domid);
    if (!c || c->local)
        return;
    conn_close(c);
    while (c->used)                     /* its requests at the device finish first */
        privops->idle();
}
