/*
 * hako public ABI (0.10): the split block device protocol between a block front end (a
 * domain's disk driver) and a block back end (the domain that owns the real disk,
 * normally dom0). See ABI.md "Block devices".
 *
 * The front end owns everything shared: the ring page and the data pages, all of its
 * own memory, granted to the back end's domain (hako/grant_table.h). They find each
 * other through the link area of the console page (struct hako_vbd_link, hako/console.h):
 *   1. the back end offers a disk (a command-line convention of the toolstack: the
 *      reference one passes "vbd=<back end domid>");
 *   2. the front end fills a ring page (ringio pair layout below, all indices 0),
 *      grants it writable, allocates an unbound event channel for the back end, writes
 *      ring_ref, port and features, then a write barrier, then front_state = READY, and sends an
 *      event on its console port;
 *   3. the back end reads state first, then the fields once, maps the ring, binds the
 *      port, writes sectors, max_segments and sector_size, a write barrier, then
 *      back_state = CONNECTED and sends an event on the vbd port; or back_state = CLOSED
 *      with error set.
 *
 * The ring page is a request/response pair in the ring-io layout (ABI.md "Shared rings"):
 * request ring header at 0, response ring header at 256, 2^HAKO_BLKIF_RING_ORDER
 * requests of 88 bytes from 512, 2^HAKO_BLKIF_RING_ORDER responses of 16 bytes from
 * HAKO_BLKIF_RSP_OFFSET. Both directions notify over the vbd event channel.
 */
#ifndef HAKO_BLKIF_H
#define HAKO_BLKIF_H

#include "compiler.h"

#define HAKO_BLKIF_SECTOR_SIZE   512u
#define HAKO_BLKIF_MAX_SEGMENTS  8u      /* data pages per request */
#define HAKO_BLKIF_RING_ORDER    5u      /* 32 requests and 32 responses in flight */
#define HAKO_BLKIF_REQ_OFFSET    512u    /* byte offset of request slot 0 in the ring page */
#define HAKO_BLKIF_RSP_OFFSET    3328u   /* byte offset of response slot 0 (512 + 32 * 88) */

/* hako_blkif_request.op */
#define HAKO_BLKIF_OP_READ   0u   /* device -> segments */
#define HAKO_BLKIF_OP_WRITE  1u   /* segments -> device */
#define HAKO_BLKIF_OP_FLUSH  2u   /* every write completed before it is durable; no
                                     segments, sector 0 */

/* hako_vbd_link.features (front end: what it allows the back end) */
#define HAKO_VBD_FEAT_PERSISTENT 1u   /* the back end may keep data grants mapped from one
                                         request to the next, until it disconnects (the
                                         front end reuses a fixed set of data pages) */
#define HAKO_VBD_FEAT_KNOWN      1u   /* other bits: zero */

/* hako_vbd_link.front_state / back_state */
#define HAKO_VBD_STATE_NONE      0u   /* nothing published yet */
#define HAKO_VBD_STATE_READY     1u   /* front: ring_ref and port are valid */
#define HAKO_VBD_STATE_CONNECTED 2u   /* back: sectors, max_segments, sector_size valid;
                                         requests are served */
#define HAKO_VBD_STATE_CLOSED    3u   /* back: refused or ended (error says why); front:
                                         will send nothing more */

#ifndef __ASSEMBLER__
/* One data page of a request: sectors first_sect..last_sect (0..7, first <= last) of the
 * frame granted by gref. A request's bytes are its segments' sectors in order. */
struct hako_blkif_segment {
    uint32_t gref;              /* grant ref (front end's table, to the back end) */
    uint8_t  first_sect;        /* 0..7 */
    uint8_t  last_sect;         /* first_sect..7 */
    uint16_t _pad0;             /* zero */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_blkif_segment) == 8, "blkif_segment size");

struct hako_blkif_request {
    uint64_t id;                /* the front end's; echoed in the response */
    uint8_t  op;                /* HAKO_BLKIF_OP_* */
    uint8_t  nr_segments;       /* READ/WRITE: 1..HAKO_BLKIF_MAX_SEGMENTS; FLUSH: 0 */
    uint16_t _pad0;             /* zero */
    uint32_t _pad1;             /* zero */
    uint64_t sector;            /* first 512-byte sector of the virtual disk */
    struct hako_blkif_segment seg[HAKO_BLKIF_MAX_SEGMENTS];
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_blkif_request, sector) == 16, "request sector");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_blkif_request, seg) == 24, "request seg");
HAKO_STATIC_ASSERT(sizeof(struct hako_blkif_request) == 88, "blkif_request size");

struct hako_blkif_response {
    uint64_t id;                /* the request's */
    uint8_t  op;                /* the request's */
    uint8_t  _pad0[3];          /* zero */
    int32_t  status;            /* 0, or -HAKO_EINVAL malformed request, -HAKO_ERANGE
                                   sectors outside the disk, -HAKO_EFAULT a grant the
                                   back end could not use, -HAKO_EIO the device failed */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_blkif_response) == 16, "blkif_response size");
HAKO_STATIC_ASSERT(HAKO_BLKIF_REQ_OFFSET + (1u << HAKO_BLKIF_RING_ORDER) * 88u ==
                   HAKO_BLKIF_RSP_OFFSET, "response slots follow the requests");
HAKO_STATIC_ASSERT(HAKO_BLKIF_RSP_OFFSET + (1u << HAKO_BLKIF_RING_ORDER) * 16u <= 4096u,
                   "the ring fits a page");

/* The link area in the console page (hako/console.h): each field is written by one side
 * only, state last (after a write barrier); the reader loads state with acquire order,
 * then copies the fields once. */
struct hako_vbd_link {
    uint32_t front_state;       /* front: HAKO_VBD_STATE_* */
    uint32_t ring_ref;          /* front: grant ref of the ring page (writable) */
    uint32_t port;              /* front: its unbound event channel for the back end */
    uint32_t features;          /* front: HAKO_VBD_FEAT_* */
    uint32_t back_state;        /* back: HAKO_VBD_STATE_* */
    int32_t  error;             /* back: CLOSED: negative HAKO_E* reason */
    uint64_t sectors;           /* back: capacity of the virtual disk */
    uint16_t max_segments;      /* back: HAKO_BLKIF_MAX_SEGMENTS */
    uint16_t sector_size;       /* back: HAKO_BLKIF_SECTOR_SIZE */
    uint8_t  _reserved[28];     /* zero */
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_vbd_link, features) == 12, "vbd features");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_vbd_link, back_state) == 16, "vbd back_state");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_vbd_link, sectors) == 24, "vbd sectors");
HAKO_STATIC_ASSERT(sizeof(struct hako_vbd_link) == 64, "hako_vbd_link size");
#endif /* __ASSEMBLER__ */

#endif /* HAKO_BLKIF_H */
