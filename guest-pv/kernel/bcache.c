/*
 * guest-pv/kernel/bcache.c: the buffer cache (see bcache.h): buffers found through a hash
 * of block numbers, kept on one LRU list, evicted from its cold end.
 */
#include "bcache.h"

#include "kern.h"
#include "klib.h"

#define BCACHE_BUCKETS 64u

struct bcache {
    struct blkdev *dev;
    uint32_t block_size;
    uint32_t sectors_per_block;
    uint32_t max_bufs;
    uint32_t count;
    uint64_t evict_writes;
    struct buf *lru_head, *lru_tail;    /* most recently used at the head */
    struct buf *hash[BCACHE_BUCKETS];
};

/* The hash chain block blockno lives on. */
static struct buf **bucket(struct bcache *c, uint64_t blockno)
{
    return &c->hash[(blockno ^ (blockno >> 7)) % BCACHE_BUCKETS];
}

/* Take b off the LRU list. */
static void lru_unlink(struct bcache *c, struct buf *b)
{
    if (b->lru_prev)
        b->lru_prev->lru_next = b->lru_next;
    else
        c->lru_head = b->lru_next;
    if (b->lru_next)
        b->lru_next->lru_prev = b->lru_prev;
    else
        c->lru_tail = b->lru_prev;
    b->lru_prev = b->lru_next = NULL;
}

/* Put b at the hot end of the LRU list. */
static void lru_push_head(struct bcache *c, struct buf *b)
{
    b->lru_prev = NULL;
    b->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = b;
    else
        c->lru_tail = b;
    c->lru_head = b;
}

/* Take b off its hash chain. */
static void hash_unlink(struct bcache *c, struct buf *b)
{
    struct buf **p = bucket(c, b->blockno);
    while (*p && *p != b)
        p = &(*p)->hash_next;
    if (*p)
        *p = b->hash_next;
    b->hash_next = NULL;
}

/* Transfer block blockno between the device and data: 0, -HOS_EINVAL past the end of
 * the device, or the device's error. */
static long block_io(struct bcache *c, int write, uint64_t blockno, void *data)
{
    uint64_t sector;
    if (__builtin_mul_overflow(blockno, (uint64_t)c->sectors_per_block, &sector) ||
        sector >= c->dev->sectors || c->dev->sectors - sector < c->sectors_per_block)
        return -HOS_EINVAL;
    return c->dev->rw(c->dev, write, sector, c->sectors_per_block, data);
}

/* Write b back if dirty: 0 or the device's error (b stays dirty then). */
static long buf_write_back(struct bcache *c, struct buf *b)
{
    if (!b->dirty)
        return 0;
    long r = block_io(c, 1, b->blockno, b->data);
    if (r < 0)
        return r;
    b->dirty = 0;
    return 0;
}

/* Free b's memory (it is on no list). */
static void buf_free(struct bcache *c, struct buf *b)
{
    kfree(b->data);
    kfree(b);
    c->count--;
}

/* Make room for one more buffer: evict unreferenced buffers from the cold end while the
 * cache is at its bound. 0, or the error of a write-back that failed (that buffer stays,
 * dirty). Referenced buffers are skipped; if every one is, the cache grows. */
static long make_room(struct bcache *c)
{
    struct buf *b = c->lru_tail;
    while (c->count >= c->max_bufs && b) {
        struct buf *prev = b->lru_prev;
        if (b->refs == 0) {
            if (b->dirty) {
                long r = buf_write_back(c, b);
                if (r < 0)
                    return r;
                c->evict_writes++;
            }
            lru_unlink(c, b);
            hash_unlink(c, b);
            buf_free(c, b);
        }
        b = prev;
    }
    return 0;
}

/* A cache of block_size-byte blocks of d holding at most max_bufs buffers. */
struct bcache *bcache_create(struct blkdev *d, uint32_t block_size, uint32_t max_bufs)
{
    if (!d || !d->rw || (block_size != 1024 && block_size != 2048 && block_size != 4096) ||
        max_bufs < 4)
        return NULL;
    struct bcache *c = kmalloc(sizeof(*c));
    if (!c)
        return NULL;
    c->dev = d;
    c->block_size = block_size;
    c->sectors_per_block = block_size / BLKDEV_SECTOR_SIZE;
    c->max_bufs = max_bufs;
    return c;
}

/* Write back what can be and free the cache. */
void bcache_destroy(struct bcache *c)
{
    if (!c)
        return;
    bcache_sync(c);
    while (c->lru_head) {
        struct buf *b = c->lru_head;
        lru_unlink(c, b);
        buf_free(c, b);
    }
    kfree(c);
}

/* The cached buffer of blockno, referenced and made most recent, or a new referenced
 * one whose contents the caller fills (*fresh = 1). */
static long buf_get(struct bcache *c, uint64_t blockno, struct buf **out, int *fresh)
{
    for (struct buf *b = *bucket(c, blockno); b; b = b->hash_next) {
        if (b->blockno == blockno) {
            b->refs++;
            lru_unlink(c, b);
            lru_push_head(c, b);
            *out = b;
            *fresh = 0;
            return 0;
        }
    }
    long r = make_room(c);
    if (r < 0)
        return r;
    struct buf *b = kmalloc(sizeof(*b));
    if (!b)
        return -HOS_ENOMEM;
    if (!(b->data = kmalloc(c->block_size))) {
        kfree(b);
        return -HOS_ENOMEM;
    }
    b->blockno = blockno;
    b->refs = 1;
    c->count++;
    *out = b;
    *fresh = 1;
    return 0;
}

/* Insert a freshly filled buffer into the cache's lists. */
static void buf_insert(struct bcache *c, struct buf *b)
{
    struct buf **head = bucket(c, b->blockno);
    b->hash_next = *head;
    *head = b;
    lru_push_head(c, b);
}

/* Block blockno, read from the device unless cached, referenced in *out. */
long bcache_read(struct bcache *c, uint64_t blockno, struct buf **out)
{
    struct buf *b;
    int fresh;
    long r = buf_get(c, blockno, &b, &fresh);
    if (r < 0)
        return r;
    if (fresh) {
        if ((r = block_io(c, 0, blockno, b->data)) < 0) {
            buf_free(c, b);
            return r;
        }
        buf_insert(c, b);
    }
    *out = b;
    return 0;
}

/* Block blockno zeroed and dirty (nothing read), referenced in *out. */
long bcache_zero(struct bcache *c, uint64_t blockno, struct buf **out)
{
    uint64_t sector;
    if (__builtin_mul_overflow(blockno, (uint64_t)c->sectors_per_block, &sector) ||
        sector >= c->dev->sectors || c->dev->sectors - sector < c->sectors_per_block)
        return -HOS_EINVAL;
    struct buf *b;
    int fresh;
    long r = buf_get(c, blockno, &b, &fresh);
    if (r < 0)
        return r;
    memset(b->data, 0, c->block_size);
    if (fresh)
        buf_insert(c, b);
    b->dirty = 1;
    *out = b;
    return 0;
}

/* Write b back before eviction or at the next sync. */
void bcache_mark_dirty(struct buf *b)
{
    if (b)
        b->dirty = 1;
}

/* Drop a reference; the buffer stays cached. */
void bcache_release(struct bcache *c, struct buf *b)
{
    (void)c;
    if (b && b->refs > 0)
        b->refs--;
}

/* Write back every dirty buffer, then flush the device. */
long bcache_sync(struct bcache *c)
{
    long first = 0;
    for (struct buf *b = c->lru_head; b; b = b->lru_next) {
        long r = buf_write_back(c, b);
        if (r < 0 && first == 0)
            first = r;
    }
    if (c->dev->flush) {
        long r = c->dev->flush(c->dev);
        if (r < 0 && first == 0)
            first = r;
    }
    return first;
}

/* The block size of c. */
uint32_t bcache_block_size(const struct bcache *c)
{
    return c->block_size;
}

/* Buffers c holds now. */
uint32_t bcache_count(const struct bcache *c)
{
    return c->count;
}

/* Dirty buffers written back because they were evicted. */
uint64_t bcache_evict_writes(const struct bcache *c)
{
    return c->evict_writes;
}
