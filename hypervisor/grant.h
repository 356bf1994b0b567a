/*
 * hypervisor/grant.h: grant tables (ABI.md 21). A domain's table lives in frames of its
 * own (the hypervisor holds their writable type); the hypervisor keeps, per granter, how
 * often each grant is mapped (active) and, per mapper, the mappings it made (maptrack).
 */
#ifndef HV_GRANT_H
#define HV_GRANT_H

#include <hako/grant_table.h>

#include <stdbool.h>
#include <stdint.h>

#include "hcall_list.h"
#include "pagetype.h"
#include "types.h"

struct domain;

/* How a granter's grant is in use by its peer: mappings, read-only and writable, and the
 * frame they map (fixed while any exists). */
struct grant_active {
    uint16_t ro_maps, rw_maps;
    uint32_t frame;
};

/* One mapping a domain made of another's grant (used = 0: a free slot). */
struct grant_map {
    uint64_t pte_maddr;
    uint32_t ref;
    uint16_t granter;
    uint8_t readonly, used;
};

struct grant_state {
    uint32_t nr_frames;                          /* the table: frames[0..nr_frames) */
    uint64_t frames[HAKO_GRANT_FRAMES_MAX];
    struct grant_active *active[HAKO_GRANT_FRAMES_MAX]; /* one hypervisor page per table
                                                           frame, allocated on first use */
    struct grant_map *maptrack;                  /* HAKO_GRANT_MAPS_MAX slots (one page) */
    uint32_t nr_maps;                            /* maptrack slots in use */
    uint32_t mapped;                             /* mappings of this domain's grants */
};

/* grant_table_op(cmd, ops, count) */
long hc_grant_table_op(HC_ARGS);

/* The references the hypervisor holds on d's grant-table frames, appended to refs[n..];
 * returns the new n (for the audit). */
unsigned grant_refs(const struct domain *d, struct hv_ref *refs, unsigned n);

/* True when every entry of another domain's that maps one of d's frames is a grant
 * mapping (domctl DESTROY; a scan of every L1 table when any exists). */
bool grant_only_grant_mappings(const struct domain *d);

/* d is being destroyed: end its mappings of others' grants (the granters' READING and
 * WRITING follow), forget other domains' mappings of its grants, drop the references on
 * its table. Before pagetype_drop_foreign_held / pagetype_revoke_foreign. */
void grant_teardown(struct domain *d);

#endif /* HV_GRANT_H */
