/*
 * hako public ABI: grant tables, how one domain lets another map or copy some of its
 * frames. See ABI.md "Grant tables" (ABI 0.9).
 *
 * The granting domain keeps its grant table in frames of its own memory, named to the
 * hypervisor with HAKO_GNTTABOP_SETUP_TABLE. Entry r of the table (8 bytes, entry r % 512
 * of frame r / 512) grants one frame to one peer:
 *   to grant:  write domid and frame, then a write barrier, then flags (PERMIT_ACCESS,
 *              READONLY if the peer may only read);
 *   to end:    compare-and-swap flags from what they are (without READING/WRITING) to 0;
 *              if READING or WRITING is set the peer still maps it and the grant stays.
 * The hypervisor sets READING (any mapping) and WRITING (a writable one) while the peer
 * maps the grant and clears them when its last mapping goes; it never writes anything
 * else in the table.
 */
#ifndef HAKO_GRANT_TABLE_H
#define HAKO_GRANT_TABLE_H

#include "compiler.h"

#define HAKO_GRANT_ENTRIES_PER_FRAME 512
#define HAKO_GRANT_FRAMES_MAX        4       /* so refs 0..2047 */
#define HAKO_GRANT_MAPS_MAX          256     /* grant mappings one domain may hold at once */
#define HAKO_GNTTAB_BATCH_MAX        64      /* operations per grant_table_op call */
#define HAKO_DOMID_SELF              0x7FF0u /* "the calling domain" where a domid is asked */

/* hako_grant_entry.flags */
#define HAKO_GTF_PERMIT_ACCESS (1u << 0)     /* granter: the grant is live */
#define HAKO_GTF_READONLY      (1u << 2)     /* granter: the peer may only read the frame */
#define HAKO_GTF_READING       (1u << 3)     /* hypervisor: the peer maps the grant */
#define HAKO_GTF_WRITING       (1u << 4)     /* hypervisor: ... writable */
#define HAKO_GTF_KNOWN         0x1Du         /* every other bit must be 0 */

#ifndef __ASSEMBLER__
struct hako_grant_entry {
    uint16_t flags;     /* HAKO_GTF_*; written last when granting */
    uint16_t domid;     /* the one peer allowed to use the grant */
    uint32_t frame;     /* the granted frame: a machine frame number of the granter's */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_grant_entry) == 8, "grant entry size");
#endif

/* grant_table_op(cmd, ops, count): count operations of one kind, each with its own
 * status. Returns 0 when every operation was attempted (look at the statuses), or a
 * negative error for the call as a whole: -HAKO_ENOSYS unknown cmd, -HAKO_EINVAL count
 * 0 or above HAKO_GNTTAB_BATCH_MAX (1 for SETUP_TABLE and QUERY_SIZE) or ops not
 * 8-aligned, -HAKO_EFAULT the array is not readable and writable. */
#define HAKO_GNTTABOP_SETUP_TABLE 0  /* struct hako_gnttab_setup */
#define HAKO_GNTTABOP_QUERY_SIZE  1  /* struct hako_gnttab_query */
#define HAKO_GNTTABOP_MAP         2  /* struct hako_gnttab_map[count] */
#define HAKO_GNTTABOP_UNMAP       3  /* struct hako_gnttab_unmap[count] */
#define HAKO_GNTTABOP_COPY        4  /* struct hako_gnttab_copy[count] */

/* hako_gnttab_map.flags */
#define HAKO_GNTMAP_READONLY (1u << 0)       /* map without write access */

/* hako_gnttab_copy.flags */
#define HAKO_GNTCOPY_SRC_GREF (1u << 0)      /* src names a grant of src.domid, not a frame */
#define HAKO_GNTCOPY_DST_GREF (1u << 1)      /* dst names a grant of dst.domid, not a frame */

#ifndef __ASSEMBLER__
/* SETUP_TABLE: make frames[0..nr_frames) (the target domain's, in this order) its grant
 * table, replacing the one it had (whose grants must not be mapped); nr_frames 0 removes
 * it. domid: HAKO_DOMID_SELF, or (control domain only) another domain. */
struct hako_gnttab_setup {
    uint16_t domid;                              /* IN */
    uint16_t _pad0;                              /* IN: 0 */
    uint32_t nr_frames;                          /* IN: 0..HAKO_GRANT_FRAMES_MAX */
    uint64_t frames[HAKO_GRANT_FRAMES_MAX];      /* IN: machine frame numbers */
    int32_t  status;                             /* OUT: 0 or -HAKO_E* */
    uint32_t _pad1;                              /* IN: 0 */
} HAKO_ALIGNED(8);          /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_gnttab_setup) == 48, "gnttab_setup size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_gnttab_setup) == 8, "gnttab_setup align");

/* QUERY_SIZE: the size of a domain's grant table. */
struct hako_gnttab_query {
    uint16_t domid;                              /* IN: HAKO_DOMID_SELF or a domain */
    uint16_t _pad0;                              /* IN: 0 */
    uint32_t nr_frames;                          /* OUT */
    uint32_t max_frames;                         /* OUT: HAKO_GRANT_FRAMES_MAX */
    int32_t  status;                             /* OUT */
} HAKO_ALIGNED(8);          /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_gnttab_query) == 16, "gnttab_query size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_gnttab_query) == 8, "gnttab_query align");

/* MAP: map grant ref of domid at the caller's L1 entry at machine address pte_maddr
 * (not present now); handle names the mapping for UNMAP. */
struct hako_gnttab_map {
    uint64_t pte_maddr;                          /* IN: 8-aligned */
    uint32_t ref;                                /* IN */
    uint16_t domid;                              /* IN: the granter */
    uint16_t flags;                              /* IN: HAKO_GNTMAP_* */
    uint32_t handle;                             /* OUT */
    int32_t  status;                             /* OUT */
} HAKO_ALIGNED(8);          /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_gnttab_map) == 24, "gnttab_map size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_gnttab_map) == 8, "gnttab_map align");

/* UNMAP: end mapping handle, made at pte_maddr; the entry there is cleared if it still
 * maps the granted frame. */
struct hako_gnttab_unmap {
    uint64_t pte_maddr;                          /* IN */
    uint32_t handle;                             /* IN */
    int32_t  status;                             /* OUT */
} HAKO_ALIGNED(8);          /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_gnttab_unmap) == 16, "gnttab_unmap size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_gnttab_unmap) == 8, "gnttab_unmap align");

/* One side of a COPY: a grant (ref of domid) or a frame of the caller (frame, domid
 * HAKO_DOMID_SELF), and a byte offset in it. */
struct hako_gnttab_copy_ptr {
    uint32_t ref_or_frame;
    uint16_t domid;
    uint16_t offset;                             /* 0..4095 */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_gnttab_copy_ptr) == 8, "gnttab_copy_ptr size");

/* COPY: len bytes from src to dst; neither range may leave its page. */
struct hako_gnttab_copy {
    struct hako_gnttab_copy_ptr src;             /* IN */
    struct hako_gnttab_copy_ptr dst;             /* IN */
    uint16_t len;                                /* IN: 0..4096 */
    uint16_t flags;                              /* IN: HAKO_GNTCOPY_* */
    int32_t  status;                             /* OUT */
} HAKO_ALIGNED(8);          /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_gnttab_copy) == 24, "gnttab_copy size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_gnttab_copy) == 8, "gnttab_copy align");
#endif

#endif /* HAKO_GRANT_TABLE_H */
