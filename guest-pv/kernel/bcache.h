/*
 * guest-pv/kernel/bcache.h: a buffer cache of file-system blocks (1, 2 or 4 KiB) over a
 * block device (drivers/blkdev.h).
 *
 * A buffer is referenced while a caller uses it (bcache_read / bcache_zero hand out one
 * reference; bcache_release drops it) and stays cached afterwards. The cache holds at
 * most max_bufs buffers: a new one evicts the least recently used unreferenced buffer,
 * writing it back first when it is dirty. When every buffer is referenced the cache
 * grows past the bound rather than fail (file systems hold a handful at a time) and
 * shrinks back on later evictions. Errors are negative HOS_E* codes; nothing panics.
 * Single-threaded like the rest of the file layer (fs.h).
 */
#ifndef GUEST_BCACHE_H
#define GUEST_BCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"
#include "user/hos.h"

struct bcache;

/* One cached block. Callers read and write data[0..block_size) while they hold it. */
struct buf {
    uint64_t blockno;
    uint8_t *data;
    /* The rest is the cache's. */
    uint32_t refs;
    int dirty;
    struct buf *hash_next;          /* the bucket's chain */
    struct buf *lru_prev, *lru_next;/* every buffer; most recently used first */
};

/* A cache of block_size-byte blocks (1024, 2048 or 4096) of d holding at most
 * max_bufs buffers (at least 4); NULL for a bad size or when out of memory. */
struct bcache *bcache_create(struct blkdev *d, uint32_t block_size, uint32_t max_bufs);
/* Write back everything (errors ignored: see bcache_sync) and free the cache; every
 * buffer must have been released. */
void bcache_destroy(struct bcache *c);
/* Block blockno, read from the device unless cached, referenced in *out: 0,
 * -HOS_EINVAL past the end of the device, -HOS_EIO, -HOS_ENOMEM. */
long bcache_read(struct bcache *c, uint64_t blockno, struct buf **out);
/* Block blockno filled with zeros (it is about to be overwritten: nothing is read),
 * dirty, referenced in *out; errors as bcache_read. */
long bcache_zero(struct bcache *c, uint64_t blockno, struct buf **out);
/* The holder changed b's data: write it back before it is evicted or at the next sync. */
void bcache_mark_dirty(struct buf *b);
/* Drop a reference taken by bcache_read / bcache_zero (NULL is ignored). */
void bcache_release(struct bcache *c, struct buf *b);
/* Write back every dirty buffer, then flush the device: 0 or the first error (the
 * buffers that failed stay dirty). */
long bcache_sync(struct bcache *c);
/* The block size, buffers now held, and buffers written back by evictions so far. */
uint32_t bcache_block_size(const struct bcache *c);
uint32_t bcache_count(const struct bcache *c);
uint64_t bcache_evict_writes(const struct bcache *c);

#endif /* GUEST_BCACHE_H */
