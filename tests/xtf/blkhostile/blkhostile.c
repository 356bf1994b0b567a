/*
 * tests/xtf/blkhostile/blkhostile.c: a hostile block front end (hypercall-abi/hako/
 * blkif.h), run as a domU of the reference dom0 (guest-pv), which ships it as
 * /boot/xtf-blkhostile.elf: `hako create /boot/xtf-blkhostile.elf disk=1M name=evil`
 * (tests/system/test-blk-hostile.sh). Not one of the XTF kernels tests/run.sh boots as
 * dom0 (its name has no test- prefix).
 *
 * It connects as blkif.h says (grant table, ring page granted writable to the back end
 * named by vbd= on its command line, an unbound port for it, the link area of its
 * console page, an event on its console port), then sends requests the back end must
 * refuse, each checked for its one response and status: sectors outside its disk or
 * overflowing (-ERANGE), malformed ones (-EINVAL: op, segment counts, sector bounds,
 * padding, FLUSH with data), unusable grants (-EFAULT: not granted, past the table,
 * granted to another domain, read-only for a READ, a bad one after a good one); valid
 * writes and reads of its own region must round-trip. Then more requests than response
 * slots while it consumes no response (none may be lost or overwritten, each gets
 * exactly one, and the back end must ask to be woken when it waits for slots), and
 * finally impossible ring indices (request prod, or with "corrupt=rsp" on the command
 * line response cons), which must make the back end close the connection (back_state
 * CLOSED) and give back every grant mapping. With "corrupt=attach" the ring holds
 * impossible indices from the start: the connection must be refused (CLOSED, -EIO).
 * With "persist" it offers persistent grants (HAKO_VBD_FEAT_PERSISTENT): the same
 * checks then go through the back end's cache of data-grant mappings.
 *
 * Its output goes to its console ring (what `hako console evil` shows) and to the
 * hypervisor console (the serial log, prefixed "(dN) "). The ring (2 KiB, read only when
 * someone attaches) always keeps room for the final "checks" and "Test result:" lines.
 */
#include "framework.h"
#include "domwait.h"
#include "privops.h"

#include <hako/blkif.h>
#include <hako/console.h>
#include <hako/errno.h>
#include <hako/events.h>
#include <hako/grant_table.h>

#include "ringio.h"

const char test_title[] = "hostile block front end";

#define UL(x) ((unsigned long)(x))
#define MS 1000000ull
#define EINVAL (-HAKO_EINVAL)
#define ERANGE (-HAKO_ERANGE)
#define EFAULT (-HAKO_EFAULT)
#define TIMEOUT 1000                    /* do_req: no response in time */

/* Our shared memory: the grant table, the ring, NDATA data pages (plus scratch). */
#define NDATA 12
static uint8_t gtab_page[4096] __attribute__((aligned(4096)));
static uint8_t ring_page[4096] __attribute__((aligned(4096)));
static uint8_t data[NDATA][4096] __attribute__((aligned(4096)));

/* Grant refs: the ring, data pages 0..7 writable, page 8 read-only, page 9 granted to
 * another domain, an entry never granted, one past the table. */
#define REF_RING 1u
#define REF_DATA(i) (2u + (i))          /* data[i], i < 8, writable to the back end */
#define REF_RO 10u                      /* data[8], read-only to the back end */
#define REF_OTHER 11u                   /* data[9], writable to OTHER_DOM */
#define REF_NONE 12u                    /* flags 0 */
#define REF_PAST 600u                   /* the table has 512 entries */
#define OTHER_DOM 5u

static const struct hako_start_info *si;
static struct hako_shared_info *sh;
static volatile struct hako_vbd_link *link;
static struct ringio_front ring;
static struct ringio_pair_layout layout;
static uint32_t vbd_port, back;
static uint64_t sectors;
static uint64_t next_id = 1;
static int persist;                     /* "persist": HAKO_VBD_FEAT_PERSISTENT */

/* ---- output: the console ring, and the hypervisor console ----------------------- */

#define CP_U32(off) ((volatile uint32_t *)((uint8_t *)si->console_va + (off)))
static uint32_t out_prod;
static void (*hv_write)(const char *, size_t);
static struct privops tee_ops;

static int tee_final;                   /* the framework's summary lines are next */
#define TEE_RESERVE 160u                /* ring bytes kept for them (and a note) */

static void tee_write(const char *buf, size_t len)
{
    struct hako_console_page *cp = (struct hako_console_page *)si->console_va;
    static int cut;
    static const char note[] = "[more output on the hypervisor console]\n";
    hv_write(buf, len);
    for (size_t i = 0; i < len; i++) {
        uint32_t used = out_prod - __atomic_load_n(&cp->out.cons, __ATOMIC_ACQUIRE);
        if (!tee_final && (cut || used + TEE_RESERVE > HAKO_CONSOLE_OUT_SIZE)) {
            for (const char *n = note; !cut && *n; n++)
                cp->out_data[out_prod++ % HAKO_CONSOLE_OUT_SIZE] = (uint8_t)*n;
            cut = 1;
            break;
        }
        if (used < HAKO_CONSOLE_OUT_SIZE)
            cp->out_data[out_prod++ % HAKO_CONSOLE_OUT_SIZE] = (uint8_t)buf[i];
    }
    __atomic_store_n(&cp->out.prod, out_prod, __ATOMIC_SEQ_CST);
    hako_hypercall3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, si->console_port, 0);
}

/* ---- set-up ---------------------------------------------------------------------- */

static uint64_t mfn_of(const void *va)
{
    return ((const uint64_t *)si->p2m_va)[((uint64_t)va - si->virt_base) >> 12];
}

static void grant(uint32_t ref, const void *page, unsigned domid, int ro)
{
    struct hako_grant_entry *e = (struct hako_grant_entry *)gtab_page + ref;
    e->domid = (uint16_t)domid;
    e->frame = (uint32_t)mfn_of(page);
    __atomic_store_n(&e->flags, (uint16_t)(HAKO_GTF_PERMIT_ACCESS | (ro ? HAKO_GTF_READONLY : 0)),
                     __ATOMIC_RELEASE);
}

static uint16_t gflags(uint32_t ref)
{
    return __atomic_load_n(&((struct hako_grant_entry *)gtab_page)[ref].flags, __ATOMIC_ACQUIRE);
}

/* The number after "vbd=" on the command line: 0 and *v, or -1. */
static int cmdline_vbd(uint32_t *v)
{
    for (const char *c = si->cmdline; *c; c++) {
        if ((c != si->cmdline && c[-1] != ' ') || strncmp(c, "vbd=", 4) || c[4] < '0' || c[4] > '9')
            continue;
        uint32_t x = 0;
        for (c += 4; *c >= '0' && *c <= '9'; c++)
            x = x * 10 + (uint32_t)(*c - '0');
        *v = x;
        return 0;
    }
    return -1;
}

static uint32_t back_state(void)
{
    return __atomic_load_n(&link->back_state, __ATOMIC_ACQUIRE);
}

/* Wait until back_state is not NONE (or timeout_ms pass); the state seen. */
static uint32_t wait_back_state(uint32_t not, uint64_t timeout_ms)
{
    uint64_t end = now_ns() + timeout_ms * MS;
    uint32_t st;
    while ((st = back_state()) == not && now_ns() < end) {
        poll_port(vbd_port, now_ns() + 10 * MS);
        port_test_and_clear(sh, vbd_port);
    }
    return st;
}

/* Connect as blkif.h says. 0; 1 when the connection was meant to be refused (and that
 * was checked); -1 after an XTF error. */
static int connect(void)
{
    if (cmdline_vbd(&back)) {
        xtf_error("no vbd= on the command line (\"%s\"): create it with disk=", si->cmdline);
        return -1;
    }
    static struct hako_gnttab_setup s __attribute__((aligned(8)));
    s = (struct hako_gnttab_setup){ .domid = HAKO_DOMID_SELF, .nr_frames = 1 };
    s.frames[0] = mfn_of(gtab_page);
    long rc = hako_hypercall3(HAKO_HC_grant_table_op, HAKO_GNTTABOP_SETUP_TABLE, UL(&s), 1);
    if (rc || s.status) {
        xtf_error("SETUP_TABLE: %ld/%d", rc, s.status);
        return -1;
    }
    if (ringio_pair_layout_init(&layout, HAKO_BLKIF_RING_ORDER, sizeof(struct hako_blkif_request),
                                HAKO_BLKIF_RING_ORDER, sizeof(struct hako_blkif_response)) ||
        layout.rsp_ents_off != HAKO_BLKIF_RSP_OFFSET) {
        xtf_error("ring layout disagrees with blkif.h");
        return -1;
    }
    ringio_pair_reset(ring_page, &layout, 0);
    if (ringio_front_attach(&ring, ring_page, &layout)) {
        xtf_error("ringio_front_attach");
        return -1;
    }
    /* "corrupt=attach": impossible indices before the back end ever looks. */
    int at_attach = cmdline_has(si->cmdline, "corrupt=attach");
    if (at_attach)
        __atomic_store_n((uint32_t *)ring_page, 1000u, __ATOMIC_SEQ_CST);
    grant(REF_RING, ring_page, back, 0);
    for (unsigned i = 0; i < 8; i++)
        grant(REF_DATA(i), data[i], back, 0);
    grant(REF_RO, data[8], back, 1);
    grant(REF_OTHER, data[9], OTHER_DOM, 0);
    struct hako_evtchn op = { .remote_dom = (uint16_t)back };
    if ((rc = evtchn_struct(HAKO_EVTCHNOP_ALLOC_UNBOUND, &op)) != 0) {
        xtf_error("ALLOC_UNBOUND for d%u: %ld", back, rc);
        return -1;
    }
    vbd_port = op.port;
    link = &((struct hako_console_page *)si->console_va)->vbd;
    link->ring_ref = REF_RING;
    link->port = vbd_port;
    /* A map per request (every grant checked each time), or with "persist" on the
     * command line, persistent grants (the back end's cache of mappings). */
    link->features = persist ? HAKO_VBD_FEAT_PERSISTENT : 0;
    __atomic_store_n(&link->front_state, HAKO_VBD_STATE_READY, __ATOMIC_RELEASE);
    hako_hypercall3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, si->console_port, 0);
    uint32_t st = wait_back_state(HAKO_VBD_STATE_NONE, 10000);
    if (at_attach) {
        XTF_CHECK(st == HAKO_VBD_STATE_CLOSED && link->error == -HAKO_EIO,
                  "request prod 1000 at connect: back_state %u, error %d (want CLOSED, -EIO)",
                  st, link->error);
        XTF_CHECK(!(gflags(REF_RING) & (HAKO_GTF_READING | HAKO_GTF_WRITING)),
                  "the refused ring page is still mapped by the back end");
        kprintf("blkhostile: back_state %u, error %d for a ring broken at connect\n", st,
                link->error);
        return 1;
    }
    if (st != HAKO_VBD_STATE_CONNECTED) {
        xtf_error("back end did not connect: back_state %u, error %d", st, link->error);
        return -1;
    }
    sectors = link->sectors;
    XTF_CHECK(link->sector_size == HAKO_BLKIF_SECTOR_SIZE &&
              link->max_segments >= HAKO_BLKIF_MAX_SEGMENTS && sectors >= 1024,
              "link after CONNECTED: sectors %lu, sector_size %u, max_segments %u",
              sectors, link->sector_size, link->max_segments);
    kprintf("blkhostile: connected to d%u, %lu sectors, port %u%s\n", back, sectors, vbd_port,
            persist ? ", persistent grants" : "");
    return 0;
}

/* ---- requests ---------------------------------------------------------------------- */

/* Publish request r; notify as the ring's event rule says. 1, or 0 when it did not fit. */
static int post(const struct hako_blkif_request *r)
{
    bool notify = false;
    int n = ringio_produce(&ring.req, r, 1, &notify);
    if (notify)
        hako_hypercall3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, vbd_port, 0);
    return n == 1;
}

/* Wait up to timeout_ms for a response: 1 and *rsp, 0 timeout, -1 broken ring. */
static int get_rsp(struct hako_blkif_response *rsp, uint64_t timeout_ms, int notify_rule)
{
    uint64_t end = now_ns() + timeout_ms * MS;
    for (;;) {
        bool notify = false;
        int n = ringio_consume(&ring.rsp, rsp, 1, &notify);
        if (notify && notify_rule)
            hako_hypercall3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, vbd_port, 0);
        if (n != 0)
            return n;
        if (ringio_cons_arm(&ring.rsp, 1) > 0)
            continue;
        if (now_ns() >= end)
            return 0;
        poll_port(vbd_port, now_ns() + 10 * MS < end ? now_ns() + 10 * MS : end);
        port_test_and_clear(sh, vbd_port);
    }
}

/* Send r (with a fresh id) and wait for its response: its status, or TIMEOUT. */
static long do_req(struct hako_blkif_request *r)
{
    r->id = next_id++;
    if (!post(r))
        return TIMEOUT;
    struct hako_blkif_response rsp;
    if (get_rsp(&rsp, 5000, 1) != 1)
        return TIMEOUT;
    if (rsp.id != r->id || rsp.op != r->op || (rsp._pad0[0] | rsp._pad0[1] | rsp._pad0[2])) {
        xtf_failure("response id %lu op %u for request id %lu op %u", rsp.id, rsp.op, r->id, r->op);
        return TIMEOUT;
    }
    return rsp.status;
}

/* A request: op on sector, n whole-page segments of data pages first.. (writable refs). */
static struct hako_blkif_request rq(uint8_t op, uint64_t sector, unsigned n, unsigned first)
{
    struct hako_blkif_request r;
    memset(&r, 0, sizeof(r));
    r.op = op;
    r.sector = sector;
    r.nr_segments = (uint8_t)n;
    for (unsigned i = 0; i < n && i < HAKO_BLKIF_MAX_SEGMENTS; i++)
        r.seg[i] = (struct hako_blkif_segment){ .gref = REF_DATA((first + i) % 8),
                                                .first_sect = 0, .last_sect = 7 };
    return r;
}

#define READ  HAKO_BLKIF_OP_READ
#define WRITE HAKO_BLKIF_OP_WRITE
#define FLUSH HAKO_BLKIF_OP_FLUSH
#define EXPECT(r, status, ...) XTF_EXPECT_RC(do_req(&(r)), status, what(__VA_ARGS__))

/* Fill sector s of the pattern into buf: "blkhostile s=NNNNN\n", then bytes s + i. */
static void pattern(uint8_t *buf, uint64_t s)
{
    for (unsigned i = 0; i < 512; i++)
        buf[i] = (uint8_t)(s + i);
    ksnprintf((char *)buf, 20, "blkhostile s=%05lu", (unsigned long)s);
    buf[18] = '\n';
}

/* Sectors outside the region: refused, and dom0 logs "outside its disk" for them. */
static void out_of_range(void)
{
    struct hako_blkif_request r = rq(READ, sectors, 1, 0);
    EXPECT(r, ERANGE, "READ at the first sector past the disk");
    r = rq(WRITE, sectors - 7, 1, 0);
    EXPECT(r, ERANGE, "WRITE of 8 sectors at the disk's last 7");
    r = rq(WRITE, sectors - 1, 8, 0);
    EXPECT(r, ERANGE, "WRITE of 64 sectors at the last sector");
    r = rq(WRITE, 1ull << 40, 1, 0);
    EXPECT(r, ERANGE, "WRITE far past the disk");
    r = rq(READ, UINT64_MAX - 3, 1, 0);
    EXPECT(r, ERANGE, "READ whose end overflows (sector UINT64_MAX - 3)");
    r = rq(WRITE, UINT64_MAX, 8, 0);
    EXPECT(r, ERANGE, "WRITE at sector UINT64_MAX");
    r = rq(WRITE, UINT64_MAX - 63, 8, 0);
    EXPECT(r, ERANGE, "WRITE ending exactly at 2^64");
}

static void malformed(void)
{
    struct hako_blkif_request r = rq(3, 0, 1, 0);
    EXPECT(r, EINVAL, "op 3");
    r = rq(0xFF, 0, 1, 0);
    EXPECT(r, EINVAL, "op 255");
    r = rq(READ, 0, 0, 0);
    EXPECT(r, EINVAL, "READ with 0 segments");
    r = rq(WRITE, 0, 8, 0);
    r.nr_segments = 9;
    EXPECT(r, EINVAL, "WRITE with 9 segments");
    r = rq(READ, 0, 8, 0);
    r.nr_segments = 255;
    EXPECT(r, EINVAL, "READ with 255 segments");
    r = rq(READ, 0, 2, 0);
    r.seg[1].first_sect = 5, r.seg[1].last_sect = 4;
    EXPECT(r, EINVAL, "first_sect > last_sect");
    r = rq(READ, 0, 1, 0);
    r.seg[0].last_sect = 8;
    EXPECT(r, EINVAL, "last_sect 8");
    r = rq(WRITE, 0, 1, 0);
    r.seg[0].first_sect = r.seg[0].last_sect = 200;
    EXPECT(r, EINVAL, "first_sect = last_sect = 200");
    r = rq(READ, 0, 1, 0);
    r._pad0 = 1;
    EXPECT(r, EINVAL, "request _pad0 nonzero");
    r = rq(READ, 0, 1, 0);
    r._pad1 = 0x80000000u;
    EXPECT(r, EINVAL, "request _pad1 nonzero");
    r = rq(WRITE, 0, 3, 0);
    r.seg[2]._pad0 = 1;
    EXPECT(r, EINVAL, "segment 2 _pad0 nonzero");
    r = rq(FLUSH, 0, 1, 0);
    EXPECT(r, EINVAL, "FLUSH with a segment");
    r = rq(FLUSH, 8, 0, 0);
    EXPECT(r, EINVAL, "FLUSH with a sector");
    r = rq(FLUSH, 0, 0, 0);
    EXPECT(r, 0, "a plain FLUSH");
}

static void bad_grants(void)
{
    struct hako_blkif_request r = rq(READ, 0, 1, 0);
    r.seg[0].gref = REF_NONE;
    EXPECT(r, EFAULT, "READ into a ref never granted");
    r.seg[0].gref = REF_PAST;
    EXPECT(r, EFAULT, "READ into a ref past the table");
    r.seg[0].gref = 0xFFFFFFFFu;
    EXPECT(r, EFAULT, "READ into ref 0xFFFFFFFF");
    r.seg[0].gref = REF_OTHER;
    EXPECT(r, EFAULT, "READ into a page granted to d%u", OTHER_DOM);
    r.op = WRITE;
    EXPECT(r, EFAULT, "WRITE from a page granted to d%u", OTHER_DOM);
    r = rq(READ, 0, 1, 0);
    r.seg[0].gref = REF_RO;
    EXPECT(r, EFAULT, "READ into a page granted read-only (the device would write it)");
    r = rq(READ, 0, 4, 0);
    r.seg[3].gref = REF_NONE;           /* three good grants mapped first */
    EXPECT(r, EFAULT, "READ whose 4th segment is not granted");
    r = rq(WRITE, 0, 8, 0);
    r.seg[7].gref = REF_PAST;
    EXPECT(r, EFAULT, "WRITE whose 8th segment is past the table");
    /* None of them may stay mapped by the back end (with persistent grants, the good
     * ones it mapped may stay, until it disconnects). */
    unsigned busy = 0;
    for (uint32_t ref = REF_DATA(0); ref <= REF_OTHER; ref++)
        busy += (!persist || ref >= REF_RO) &&
                (gflags(ref) & (HAKO_GTF_READING | HAKO_GTF_WRITING)) != 0;
    XTF_CHECK(busy == 0, "%u data grants still mapped after refused requests", busy);
}

/* Valid transfers of its own region: written, read back into other pages, compared. */
static void round_trip(void)
{
    /* 64 sectors at 100 from data[0..7], read back into the same pages (cleared). */
    for (unsigned s = 0; s < 64; s++)
        pattern(data[s / 8] + s % 8 * 512, 100 + s);
    struct hako_blkif_request r = rq(WRITE, 100, 8, 0);
    EXPECT(r, 0, "WRITE of 64 sectors at 100");
    for (unsigned i = 0; i < 8; i++)
        memset(data[i], 0xEE, 4096);
    r = rq(READ, 100, 8, 0);
    EXPECT(r, 0, "READ of 64 sectors at 100");
    unsigned bad = 0;
    uint8_t want[512];
    for (unsigned s = 0; s < 64; s++) {
        pattern(want, 100 + s);
        bad += memcmp(data[s / 8] + s % 8 * 512, want, 512) != 0;
    }
    XTF_CHECK(bad == 0, "%u of 64 sectors read back differ from what was written", bad);

    /* Mixed segments: sectors 2..5 of page 0, all of page 1, sector 7 of page 2 = 13
     * sectors at 300; read back as one 13-sector run spread differently. */
    for (unsigned s = 0; s < 13; s++) {
        uint8_t *dst = s < 4 ? data[0] + (2 + s) * 512 : s < 12 ? data[1] + (s - 4) * 512 :
                       data[2] + 7 * 512;
        pattern(dst, 300 + s);
    }
    r = rq(WRITE, 300, 3, 0);
    r.seg[0].first_sect = 2, r.seg[0].last_sect = 5;
    r.seg[2].first_sect = 7;
    EXPECT(r, 0, "WRITE of 13 sectors in mixed segments at 300");
    memset(data[3], 0, 4096), memset(data[4], 0, 4096);
    r = rq(READ, 300, 2, 3);
    r.seg[0].first_sect = 3;            /* sectors 3..7 of page 3: 5, then 8 of page 4 */
    EXPECT(r, 0, "READ of 13 sectors in mixed segments at 300");
    bad = 0;
    for (unsigned s = 0; s < 13; s++) {
        pattern(want, 300 + s);
        bad += memcmp(s < 5 ? data[3] + (3 + s) * 512 : data[4] + (s - 5) * 512, want, 512) != 0;
    }
    XTF_CHECK(bad == 0, "%u of 13 mixed-segment sectors read back differ", bad);

    /* The last 8 sectors of the disk: exactly at its end is allowed. A WRITE from the
     * read-only grant (the device only reads it). */
    for (unsigned s = 0; s < 8; s++)
        pattern(data[8] + s * 512, sectors - 8 + s);
    r = rq(WRITE, sectors - 8, 1, 0);
    r.seg[0].gref = REF_RO;
    EXPECT(r, 0, "WRITE of the disk's last 8 sectors from a read-only grant");
    r = rq(READ, 0, 1, 0);
    r.seg[0].gref = REF_RO;             /* persistent: now mapped read-only in the cache */
    EXPECT(r, EFAULT, "READ into the read-only grant after a WRITE from it");
    memset(data[5], 0, 4096);
    r = rq(READ, sectors - 8, 1, 5);
    EXPECT(r, 0, "READ of the disk's last 8 sectors");
    XTF_CHECK(memcmp(data[5], data[8], 4096) == 0, "the disk's last 8 sectors read back differ");
    r = rq(FLUSH, 0, 0, 0);
    EXPECT(r, 0, "FLUSH after the writes");
}

/* More requests than response slots, consuming none until all are in: 64 requests
 * (alternately a 1-sector READ and a bad op) into a ring of 32 responses. */
static void flood(void)
{
    enum { N = 64, SLOTS = 1u << HAKO_BLKIF_RING_ORDER };
    static uint8_t seen[N];
    uint64_t base = next_id;
    next_id += N;
    struct hako_blkif_request r;
    volatile uint32_t *rsp_prod = (volatile uint32_t *)(ring_page + 256);
    volatile uint32_t *rsp_cons = (volatile uint32_t *)(ring_page + 256 + 128);
    volatile uint32_t *req_cons = (volatile uint32_t *)(ring_page + 128);
    uint32_t cons0 = *rsp_cons, req0 = *req_cons;   /* everything before was answered */
    unsigned posted = 0;
    for (; posted < SLOTS; posted++) {
        r = posted % 2 ? rq(7, 0, 1, 0) : rq(READ, 16 + posted, 1, posted % 8);
        r.id = base + posted;
        if (!post(&r))
            break;
    }
    XTF_CHECK(posted == SLOTS, "only %u of %u requests fit an empty ring", posted, SLOTS);
    /* Wait until the back end has answered them all (the response ring is full). */
    uint64_t end = now_ns() + 5000 * MS;
    while (*rsp_prod - cons0 < SLOTS && now_ns() < end) {
        poll_port(vbd_port, now_ns() + 10 * MS);
        port_test_and_clear(sh, vbd_port);
    }
    XTF_CHECK(*rsp_prod - cons0 == SLOTS, "%u of %u responses published (response ring not filled)",
              *rsp_prod - cons0, SLOTS);
    /* 32 more: the request ring has room (they were all taken), the response ring not. */
    for (; posted < N; posted++) {
        r = posted % 2 ? rq(7, 0, 1, 0) : rq(READ, 16 + posted, 1, posted % 8);
        r.id = base + posted;
        if (!post(&r))
            break;
    }
    XTF_CHECK(posted == N, "only %u of %u requests posted", posted, N);
    hako_hypercall3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, vbd_port, 0);
    end = now_ns() + 500 * MS;
    while (now_ns() < end)
        poll_port(vbd_port, end), port_test_and_clear(sh, vbd_port);
    uint32_t taken = *req_cons - req0;
    XTF_CHECK(*rsp_prod - cons0 == SLOTS && taken == SLOTS,
              "with no response consumed: %u responses published (at most %u fit), %u requests taken",
              *rsp_prod - cons0, SLOTS, taken);
    /* Consume everything, notifying only when the ring's event rule says so. */
    unsigned got = 0, dup = 0, wrong = 0, stalled = 0;
    while (got < N) {
        struct hako_blkif_response rsp;
        int n = get_rsp(&rsp, 2000, 1);
        if (n == 0 && !stalled) {
            stalled = 1;                /* the back end never asked: wake it anyway */
            xtf_failure("flood: stalled after %u responses: the back end waits for response "
                        "slots without arming cons_event", got);
            hako_hypercall3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, vbd_port, 0);
            continue;
        }
        if (n != 1)
            break;
        got++;
        uint64_t k = rsp.id - base;
        if (k >= N) {
            wrong++;
            continue;
        }
        dup += seen[k]++ != 0;
        long want = k % 2 ? EINVAL : 0;
        wrong += rsp.status != want || rsp.op != (k % 2 ? 7 : READ);
    }
    unsigned missing = 0;
    for (unsigned k = 0; k < N; k++)
        missing += seen[k] == 0;
    XTF_CHECK(got == N && dup == 0 && missing == 0 && wrong == 0,
              "flood: %u responses for %u requests: %u duplicated, %u missing, %u wrong", got, N,
              dup, missing, wrong);
    struct hako_blkif_response extra;
    XTF_CHECK(get_rsp(&extra, 300, 1) == 0, "flood: a response more than requests");
}

/* Impossible ring indices: the back end must close the connection. By default the
 * request ring's prod runs 1000 past its cons; with "corrupt=rsp" on the command line
 * the response ring's cons runs 1000 past its prod instead (then one more request). */
static void corrupt(void)
{
    int rsp = cmdline_has(si->cmdline, "corrupt=rsp");
    if (rsp) {
        volatile uint32_t *rsp_prod = (volatile uint32_t *)(ring_page + 256);
        __atomic_store_n((volatile uint32_t *)(ring_page + 256 + 128), *rsp_prod + 1000,
                         __ATOMIC_SEQ_CST);
        struct hako_blkif_request r = rq(FLUSH, 0, 0, 0);
        r.id = next_id++;
        post(&r);
    } else {
        volatile uint32_t *req_cons = (volatile uint32_t *)(ring_page + 128);
        __atomic_store_n((volatile uint32_t *)ring_page, *req_cons + 1000, __ATOMIC_SEQ_CST);
    }
    hako_hypercall3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_SEND, vbd_port, 0);
    uint32_t st = wait_back_state(HAKO_VBD_STATE_CONNECTED, 5000);
    XTF_CHECK(st == HAKO_VBD_STATE_CLOSED, "%s: back_state %u, not CLOSED",
              rsp ? "response cons = prod + 1000" : "request prod = cons + 1000", st);
    /* Closed means unmapped: the ring's grant and every data grant are free to end. */
    uint64_t end = now_ns() + 2000 * MS;
    while ((gflags(REF_RING) & (HAKO_GTF_READING | HAKO_GTF_WRITING)) && now_ns() < end)
        poll_port(vbd_port, now_ns() + 10 * MS);
    unsigned busy = 0;
    for (uint32_t ref = REF_RING; ref <= REF_OTHER; ref++)
        busy += (gflags(ref) & (HAKO_GTF_READING | HAKO_GTF_WRITING)) != 0;
    XTF_CHECK(busy == 0, "after CLOSED, %u of our grants are still mapped by the back end", busy);
    kprintf("blkhostile: back_state %u after corrupt %s indices\n", st, rsp ? "response" : "request");
}

void test_main(const struct hako_start_info *start)
{
    si = start;
    sh = (struct hako_shared_info *)si->shared_info_va;
    if (si->flags & HAKO_SIF_PRIVILEGED || !si->console_va) {
        xtf_skip("not a domU with a console page (run it with hako create ... disk=1M)");
        return;
    }
    persist = cmdline_has(si->cmdline, "persist");
    out_prod = __atomic_load_n(&((struct hako_console_page *)si->console_va)->out.prod,
                               __ATOMIC_ACQUIRE);
    tee_ops = *privops;
    hv_write = tee_ops.console_write;
    tee_ops.console_write = tee_write;
    privops = &tee_ops;
    kprintf("--- xtf test: %s (d%u) ---\n", test_title, si->domid);
    if (connect() == 0) {
        out_of_range();
        malformed();
        bad_grants();
        round_trip();
        flood();
        corrupt();
    }
    tee_final = 1;
}
