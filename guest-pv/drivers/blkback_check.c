/*
 * guest-pv/drivers/blkback_check.c: validation of block requests from a front end,
 * which is hostile like any guest input: the request is a private copy by now (read from
 * the ring once); nothing in it is used before this check passes.
 */
#include "blkback.h"

#include <hako/errno.h>

#include "ringio.h"

int blkif_ring_layout(struct ringio_pair_layout *l)
{
    if (ringio_pair_layout_init(l, HAKO_BLKIF_RING_ORDER, sizeof(struct hako_blkif_request),
                                HAKO_BLKIF_RING_ORDER, sizeof(struct hako_blkif_response)) ||
        l->req_ents_off != HAKO_BLKIF_REQ_OFFSET || l->rsp_ents_off != HAKO_BLKIF_RSP_OFFSET)
        return -1;
    return 0;
}

int blkback_range_ok(uint64_t start, uint64_t n, uint64_t size)
{
    return start <= size && n <= size - start;
}

long blkback_check(const struct hako_blkif_request *r, uint64_t disk_sectors,
                   unsigned max_segments, uint64_t *nsect)
{
    *nsect = 0;
    if (r->_pad0 || r->_pad1)
        return -HAKO_EINVAL;
    if (r->op == HAKO_BLKIF_OP_FLUSH)
        return r->nr_segments == 0 && r->sector == 0 ? 0 : -HAKO_EINVAL;
    if (r->op != HAKO_BLKIF_OP_READ && r->op != HAKO_BLKIF_OP_WRITE)
        return -HAKO_EINVAL;
    if (r->nr_segments == 0 || r->nr_segments > max_segments ||
        r->nr_segments > HAKO_BLKIF_MAX_SEGMENTS)
        return -HAKO_EINVAL;
    uint64_t n = 0;
    for (unsigned i = 0; i < r->nr_segments; i++) {
        const struct hako_blkif_segment *s = &r->seg[i];
        if (s->_pad0 || s->first_sect > s->last_sect || s->last_sect > 7)
            return -HAKO_EINVAL;
        n += (uint64_t)(s->last_sect - s->first_sect) + 1;
    }
    if (!blkback_range_ok(r->sector, n, disk_sectors))
        return -HAKO_ERANGE;
    *nsect = n;
    return 0;
}
