/*
 * hypervisor/frame.h: machine frame table and allocator (pure logic, host-testable).
 *
 * Every machine frame below frame_count() has a struct frame_info. A frame is owned by
 * exactly one of: the free pool, the hypervisor, a domain (owner = domid), or nobody
 * (reserved: firmware, MMIO holes, the hypervisor image). Free frames and each owner's
 * frames are threaded through frame_info.next so allocation and freeing are O(1).
 */
#ifndef HV_FRAME_H
#define HV_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#define FRAME_NONE        0xFFFFFFFFu
#define OWNER_FREE        0xFFFFu
#define OWNER_RESERVED    0xFFFEu
#define OWNER_HV          0xFFFDu
#define OWNER_DOMID_MAX   0x7FEFu

/* No frame: what frame_alloc returns when none is free (FRAME_NONE as an mfn). */
#define INVALID_MFN       ((mfn_t){ FRAME_NONE })

struct frame_info {
    uint32_t next;        /* next frame in the free list / owner's list, FRAME_NONE ends */
    uint16_t owner;       /* OWNER_* or a domid */
    uint16_t type;        /* page type (memory virtualization); 0 = none */
    uint32_t type_count;  /* references that rely on the type */
    uint32_t ref_count;   /* references of any kind */
};
_Static_assert(sizeof(struct frame_info) == 16, "frame_info size");

/* A list of frames with one owner (the hypervisor's or a domain's). */
struct frame_list {
    uint32_t head;
    uint64_t count;
};

/* Take over table[0..nr_frames) with every frame reserved; no frame is free yet. */
void frame_init(struct frame_info *table, uint64_t nr_frames);

/* Release frames [first, first+count) (clipped to the table) into the free pool. */
void frame_add_free_range(mfn_t first, uint64_t count);

/* Allocate one frame for owner, linking it into list; returns its mfn or INVALID_MFN. */
mfn_t frame_alloc(uint16_t owner, struct frame_list *list);

/* Return every frame of list to the free pool; the list becomes empty. */
void frame_free_list(struct frame_list *list);

/* Number of frames in the table / currently free. */
uint64_t frame_count(void);
uint64_t frame_free_count(void);

/* The table itself, for frame_get (inline: it is on every reference count's path). */
extern struct frame_info *frame_table;
extern uint64_t frame_table_len;

/* The frame_info of mfn, or NULL when mfn is outside the table. */
static inline struct frame_info *frame_get(mfn_t mfn)
{
    return mfn_x(mfn) < frame_table_len ? &frame_table[mfn_x(mfn)] : NULL;
}

#endif /* HV_FRAME_H */
