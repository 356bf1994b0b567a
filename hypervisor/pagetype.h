/*
 * hypervisor/pagetype.h: frame types, reference counts and page-table validation
 * (pure logic over the frame table and the direct map; host-testable).
 *
 * Model (ABI.md "Memory"): every frame a domain owns has one type at a time --
 * none, writable, or page table of level 1..4 -- and two counts in its frame_info:
 *   ref_count   references of any kind: entries of validated tables that map or point at
 *               the frame, pins, and references the hypervisor holds;
 *   type_count  references that rely on the type: writable leaf mappings (writable),
 *               entries of level N+1 tables pointing at it (level N), pins, base pointers.
 * A frame's type can change only while its type_count is 0. Becoming a page table means
 * every entry is checked and takes its own references ("validation"); when the last
 * type reference of a table goes, its entries drop theirs ("devalidation", recursive).
 * Invariants (checked by pagetype_audit): the counts equal what validated tables, pins
 * and hypervisor references say; no frame typed as a page table is mapped writable.
 */
#ifndef HV_PAGETYPE_H
#define HV_PAGETYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "types.h"

#define PGT_NONE      0u
#define PGT_WRITABLE  1u
#define PGT_L1        2u   /* PGT_L1 + n - 1 is level n */
#define PGT_L2        3u
#define PGT_L3        4u
#define PGT_L4        5u
#define PGT_TYPE_MASK 0xFu
#define PGT_PINNED    0x100u   /* the guest pinned this table */

/* Level (1..4) of a page-table type, or 0. */
static inline unsigned pgt_level(unsigned type)
{
    type &= PGT_TYPE_MASK;
    return type >= PGT_L1 && type <= PGT_L4 ? type - PGT_L1 + 1 : 0;
}

/* A reference the hypervisor itself holds on a domain's frame (for the audit). */
struct hv_ref {
    mfn_t mfn;
    unsigned type;       /* PGT_* the reference holds, or PGT_NONE for a plain reference */
};

/* A reference about to be dropped was never taken: a count is already 0, or an entry of
 * a validated table names no RAM frame. Only a table holding something validation never
 * accepted can cause it, so the domain that made the call is at fault, not the machine:
 * the hypervisor crashes the calling domain (and does not return when that is the one
 * running); anything else (the host tests) records it. The count is left as it is. */
void pagetype_count_error(mfn_t mfn, const char *what);

/* Give the audit its scratch space: two counters per frame of the frame table. */
void pagetype_init(uint32_t (*scratch)[2], bool nx_allowed);

/* Take a plain reference on mfn for domid: 0, or -HAKO_EPERM if it is not domid's. */
int get_page(mfn_t mfn, uint16_t domid);
void put_page(mfn_t mfn);

/* Take a type reference (the caller holds a plain one): 0, -HAKO_EBUSY when the frame
 * has another type in use, or a validation error. */
int get_page_type(mfn_t mfn, unsigned type, uint16_t domid);
void put_page_type(mfn_t mfn);

/* Both of the above, undone together on failure. */
int get_page_and_type_slow(mfn_t mfn, unsigned type, uint16_t domid);
void put_page_and_type_slow(mfn_t mfn);

/* The same, inline for the common case -- a frame of domid that already has that type in
 * use, with room in both counts: two increments, checked exactly as the full path checks
 * them. Everything else (first use of a type, a conflict, an error) takes the full path. */
static inline int get_page_and_type(mfn_t mfn, unsigned type, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    if (f && f->owner == domid && f->type_count != 0 && f->type_count != UINT32_MAX &&
        (f->type & PGT_TYPE_MASK) == type && f->ref_count != UINT32_MAX) {
        f->ref_count++;
        f->type_count++;
        return 0;
    }
    return get_page_and_type_slow(mfn, type, domid);
}

/* Inline while the type reference dropped is not the last one (no devalidation). */
static inline void put_page_and_type(mfn_t mfn)
{
    struct frame_info *f = frame_get(mfn);
    if (f && f->type_count > 1 && f->ref_count != 0) {
        f->type_count--;
        f->ref_count--;
        return;
    }
    put_page_and_type_slow(mfn);
}

/* Check a new entry for a level-`level` table of domid and take the references it
 * needs: 0, -HAKO_EINVAL (bad bits), -HAKO_EPERM (not the domain's frame), -HAKO_EBUSY
 * (type conflict). Not-present entries need nothing. */
int pte_get(unsigned level, uint64_t pte, uint16_t domid);
void pte_put(unsigned level, uint64_t pte);

/* Replace entry idx of table table_mfn (a validated table owned by domid) with val.
 * Sets *flush when a present entry changed, so the caller flushes the TLB before the
 * guest runs again. 0 or -HAKO_E*; on failure nothing changed. */
int pt_update(mfn_t table_mfn, unsigned idx, uint64_t val, uint16_t domid, bool *flush);

/*
 * Foreign mappings (HAKO_MMU_PT_UPDATE_FOREIGN): an L1 entry of domain domid that maps a
 * frame of another domain fdomid. It holds a plain reference (and a writable type
 * reference when writable) on the frame against its owner, and counts in
 * pagetype_foreign_mapped(fdomid) and pagetype_foreign_held(domid) until the entry is
 * replaced or its table is devalidated. Validation never accepts a foreign entry: a
 * table that is devalidated and validated again must have them mapped afresh.
 */
#define PGT_FOREIGN_DOMIDS 64   /* domids that can take part (>= MAX_DOMAINS) */

/* Replace entry idx of L1 table table_mfn (owned by domid) with val, a present leaf
 * naming a frame of fdomid that is not a page table. 0; -HAKO_EPERM the table is not
 * domid's; -HAKO_EINVAL not a validated L1, bad index, same or out-of-range domain, val
 * not present or with bad bits, frame not fdomid's; -HAKO_EBUSY the frame is a page
 * table (or cannot become writable); -HAKO_ENOSPC counts full. On failure nothing
 * changed. */
int pt_update_foreign(mfn_t table_mfn, unsigned idx, uint64_t val, uint16_t domid,
                      uint16_t fdomid, bool *flush);

/* Entries of other domains' tables mapping frames of domid / of domid's tables mapping
 * frames of other domains. */
uint32_t pagetype_foreign_mapped(uint16_t domid);
uint32_t pagetype_foreign_held(uint16_t domid);

/* Clear every foreign entry in domid's tables (teardown of domid), dropping the
 * references on the other domains' frames. */
void pagetype_drop_foreign_held(uint16_t domid);

/* Clear every entry of other domains' tables that maps a frame of domid (teardown of
 * domid while it is still mapped: no dangling mapping may survive it). */
void pagetype_revoke_foreign(uint16_t domid);

/* Pin / unpin a table for domid (type = PGT_L1..PGT_L4). */
int pt_pin(mfn_t mfn, unsigned type, uint16_t domid);
int pt_unpin(mfn_t mfn, uint16_t domid);

/* Drop every pin domid holds (domain teardown). */
void pt_unpin_all(uint16_t domid);

/*
 * TLB safety. Removing a writable mapping can leave a stale writable translation in the
 * TLB; that is harmless until the frame becomes a page table. And a frame that stops
 * being a page table may still be used by the CPU's paging-structure caches until the
 * next flush, so it must not become writable (or another level) before one. So the
 * hypervisor flushes this CPU's TLB before returning to the guest when a table was
 * created after a writable mapping went, or when any table was dropped (with one L1
 * reachable through several addresses, flushing only the edited address is not
 * enough). Every CR3 load counts as a flush.
 */
union pagetype_stale {
    struct {
        bool writable_dropped;  /* a writable leaf went away since the last TLB flush */
        bool table_created;     /* a frame became a page table since then */
        bool table_dropped;     /* a frame stopped being a page table since then: the
                                   CPU's paging-structure caches may still use it */
        bool foreign_dropped;   /* a mapping of another domain's frame went away since
                                   then: a stale translation must not outlive it (the
                                   frame may be freed and reused) */
    };
    uint32_t any;               /* all four: entry.S's CR3 loads clear it with one store */
};
extern union pagetype_stale pagetype_stale;

/* Device registers (devices.c): mfn is not RAM but a listed device's; domid may map it in
 * an L1 entry (the control domain), with PCD/PWT allowed. Such entries take and hold no
 * references and are skipped by the audit. */
bool pagetype_io_frame(mfn_t mfn);
bool pagetype_io_allowed(uint16_t domid, mfn_t mfn);

bool pagetype_flush_needed(void);
void pagetype_tlb_flushed(void);

/* Recount all references to domid's frames from its validated tables, pins, the
 * hypervisor references given and other domains' foreign mappings of them; returns how
 * many frames disagree with their counts (plus one for each foreign count, mapped and
 * held, that disagrees with the tables). */
unsigned pagetype_audit(uint16_t domid, const struct hv_ref *refs, unsigned nr_refs);

#endif /* HV_PAGETYPE_H */
