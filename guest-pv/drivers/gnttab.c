/*
 * guest-pv/drivers/gnttab.c: this kernel's grant table: one frame of 512 entries, named
 * to the hypervisor with SETUP_TABLE the first time a grant is made. Free refs are kept
 * on a list threaded through a private array; ref 0 is never handed out (0 reads as
 * "no ref" in the drivers' structures).
 */
#include "gnttab.h"

#include <hako/errno.h>
#include <hako/grant_table.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "klib.h"
#include "mm.h"
#include "physmap.h"

#define NR_REFS HAKO_GRANT_ENTRIES_PER_FRAME

static struct hako_grant_entry *table;          /* NULL until set up */
static uint16_t next_free[NR_REFS];             /* free list: ref -> next free ref */
static uint16_t free_head;                      /* 0 = none free */

/* Allocate the table frame and name it to the hypervisor. 0 or a negative HAKO_E*. */
static long gnttab_setup(void)
{
    uint64_t pfn = pfn_alloc();
    if (!pfn)
        return -HAKO_ENOMEM;
    memset(pfn_to_va(pfn), 0, PAGE_SIZE);
    static struct hako_gnttab_setup s __attribute__((aligned(8)));
    s = (struct hako_gnttab_setup){ .domid = HAKO_DOMID_SELF, .nr_frames = 1 };
    s.frames[0] = pv_mfn(pfn);
    long rc = hako_hypercall3(HAKO_HC_grant_table_op, HAKO_GNTTABOP_SETUP_TABLE,
                              (uint64_t)&s, 1);
    if (rc == 0)
        rc = s.status;
    if (rc) {
        pfn_free(pfn);
        return rc;
    }
    table = pfn_to_va(pfn);
    for (unsigned r = 1; r < NR_REFS; r++)
        next_free[r] = (uint16_t)(r + 1 < NR_REFS ? r + 1 : 0);
    free_head = 1;
    return 0;
}

long gnttab_grant(unsigned domid, uint64_t pfn, int readonly)
{
    long rc = table ? 0 : gnttab_setup();
    if (rc)
        return rc;
    if (!free_head)
        return -HAKO_ENOSPC;
    uint32_t ref = free_head;
    free_head = next_free[ref];
    struct hako_grant_entry *e = &table[ref];
    e->domid = (uint16_t)domid;
    e->frame = (uint32_t)pv_mfn(pfn);
    /* domid and frame first, then the flags that make the grant live (ABI.md 21.1). */
    __atomic_store_n(&e->flags,
                     (uint16_t)(HAKO_GTF_PERMIT_ACCESS | (readonly ? HAKO_GTF_READONLY : 0)),
                     __ATOMIC_RELEASE);
    return ref;
}

long gnttab_end(uint32_t ref)
{
    if (!table || ref == 0 || ref >= NR_REFS)
        return -HAKO_ERANGE;
    struct hako_grant_entry *e = &table[ref];
    uint16_t old = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    if (!(old & HAKO_GTF_PERMIT_ACCESS))
        return -HAKO_EINVAL;                    /* not granted: nothing to end */
    /* Fails while the hypervisor has READING/WRITING set: the peer maps the frame. */
    if ((old & (HAKO_GTF_READING | HAKO_GTF_WRITING)) ||
        !__atomic_compare_exchange_n(&e->flags, &old, 0, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return -HAKO_EBUSY;
    next_free[ref] = free_head;
    free_head = (uint16_t)ref;
    return 0;
}

long gnttab_read(uint32_t ref, uint16_t *flags, uint16_t *domid, uint64_t *frame)
{
    if (!table || ref >= NR_REFS)
        return -HAKO_ERANGE;
    *flags = __atomic_load_n(&table[ref].flags, __ATOMIC_ACQUIRE);
    *domid = table[ref].domid;
    *frame = table[ref].frame;
    return 0;
}
