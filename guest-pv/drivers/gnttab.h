/*
 * guest-pv/drivers/gnttab.h: this kernel's grant table (hypercall-abi/hako/grant_table.h):
 * one frame of entries set up at first use, refs handed out and taken back here.
 * Not reentrant (the kernel's single-threaded rule).
 */
#ifndef GUEST_GNTTAB_H
#define GUEST_GNTTAB_H

#include <stdint.h>

/* Grant domid access to this domain's frame pfn (read-only when readonly): the ref, or
 * a negative HAKO_E* (-HAKO_ENOSPC when every entry is in use). */
long gnttab_grant(unsigned domid, uint64_t pfn, int readonly);

/* End grant ref: 0, -HAKO_EINVAL when not granted, or -HAKO_EBUSY while the peer still maps it (the grant stays). */
long gnttab_end(uint32_t ref);

/* The entry of ref (for a back end in this same kernel, which resolves its own grants
 * without the hypervisor): 0 and *flags, *domid, *frame; -HAKO_ERANGE past the table. */
long gnttab_read(uint32_t ref, uint16_t *flags, uint16_t *domid, uint64_t *frame);

#endif /* GUEST_GNTTAB_H */
