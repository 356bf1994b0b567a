/*
 * hypervisor/frame.c: machine frame table and O(1) frame allocator.
 * Invariant: free_count equals the length of the free list, and a frame is on at most
 * one list, the one matching its owner.
 */
#include "frame.h"

#include "panic.h"

struct frame_info *frame_table;
uint64_t frame_table_len;
static uint32_t free_head = FRAME_NONE;
static uint64_t free_count;

void frame_init(struct frame_info *table, uint64_t n)
{
    HV_ASSERT(n < FRAME_NONE);
    frame_table = table;
    frame_table_len = n;
    free_head = FRAME_NONE;
    free_count = 0;
    for (uint64_t i = 0; i < n; i++)
        frame_table[i] = (struct frame_info){ .next = FRAME_NONE, .owner = OWNER_RESERVED };
}

void frame_add_free_range(mfn_t first_mfn, uint64_t count)
{
    uint64_t first = mfn_x(first_mfn);
    if (first >= frame_table_len)
        return;
    if (count > frame_table_len - first)
        count = frame_table_len - first;
    /* Push in descending order so allocation hands out ascending frames. */
    for (uint64_t i = first + count; i-- > first;) {
        struct frame_info *f = &frame_table[i];
        if (f->owner == OWNER_FREE)
            continue;
        HV_ASSERT(f->owner == OWNER_RESERVED);
        *f = (struct frame_info){ .next = free_head, .owner = OWNER_FREE };
        free_head = (uint32_t)i;
        free_count++;
    }
}

mfn_t frame_alloc(uint16_t owner, struct frame_list *list)
{
    HV_ASSERT(owner <= OWNER_DOMID_MAX || owner == OWNER_HV);
    uint32_t mfn = free_head;
    if (mfn == FRAME_NONE)
        return INVALID_MFN;
    struct frame_info *f = &frame_table[mfn];
    HV_ASSERT(f->owner == OWNER_FREE && free_count > 0);
    free_head = f->next;
    free_count--;
    *f = (struct frame_info){ .next = list->head, .owner = owner };
    list->head = mfn;
    list->count++;
    return _mfn(mfn);
}

void frame_free_list(struct frame_list *list)
{
    uint32_t mfn = list->head;
    while (mfn != FRAME_NONE) {
        struct frame_info *f = &frame_table[mfn];
        uint32_t next = f->next;
        HV_ASSERT(f->owner != OWNER_FREE && f->owner != OWNER_RESERVED);
        *f = (struct frame_info){ .next = free_head, .owner = OWNER_FREE };
        free_head = mfn;
        free_count++;
        list->count--;
        mfn = next;
    }
    HV_ASSERT(list->count == 0);
    list->head = FRAME_NONE;
}

uint64_t frame_count(void)
{
    return frame_table_len;
}

uint64_t frame_free_count(void)
{
    return free_count;
}
