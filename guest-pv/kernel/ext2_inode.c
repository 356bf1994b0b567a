/*
 * guest-pv/kernel/ext2_inode.c: ext2 inodes: reading and writing them in the inode table,
 * the block map (12 direct blocks, then single, double and triple indirect blocks),
 * file data, and freeing an inode's blocks.
 */
#include "ext2.h"

#include "kern.h"
#include "klib.h"

#define EXT2_XATTR_MAGIC  0xEA020000u   /* the header of an extended-attribute block */
#define EXT2_FILE_MAX     (1ull << 40)  /* i_blocks (32 bits of 512 bytes) stays exact */
#define EXT2_SMALL_FILE_MAX 0x7fffffffull  /* without large_file */

/* Is ino a number inodes may have? */
int ext2_ino_ok(const struct ext2_fs *fs, uint32_t ino)
{
    return ino >= 1 && ino <= fs->sb.s_inodes_count;
}

/* The inode-table block holding inode ino, held in *b, and ino's offset in it in *off:
 * 0, or -HOS_EIO for a number or table location the file system cannot have. */
static long inode_block(struct ext2_fs *fs, uint32_t ino, struct buf **b, uint32_t *off)
{
    if (!ext2_ino_ok(fs, ino))
        return -HOS_EIO;
    uint32_t blk;
    long r = ext2_inode_location(fs, ino, &blk, off);
    if (r == 0)
        r = bcache_read(fs->cache, blk, b);
    return r == -HOS_EINVAL ? -HOS_EIO : r;
}

/* Read the first 128 bytes of on-disk inode ino into di. */
long ext2_inode_read(struct ext2_fs *fs, uint32_t ino, struct ext2_inode *di)
{
    uint32_t off;
    struct buf *b;
    long r = inode_block(fs, ino, &b, &off);
    if (r < 0)
        return r;
    memcpy(di, b->data + off, sizeof(*di));
    bcache_release(fs->cache, b);
    return 0;
}

/* Write di back as inode ino; fresh also resets the bytes past the first 128. */
long ext2_inode_write(struct ext2_fs *fs, uint32_t ino, const struct ext2_inode *di,
                      int fresh)
{
    uint32_t off;
    struct buf *b;
    long r = inode_block(fs, ino, &b, &off);
    if (r < 0)
        return r;
    uint8_t *slot = b->data + off;
    memcpy(slot, di, sizeof(*di));
    if (fresh && fs->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
        uint32_t extra = fs->inode_size - EXT2_GOOD_OLD_INODE_SIZE;
        uint16_t want = fs->sb.s_want_extra_isize;
        memset(slot + EXT2_GOOD_OLD_INODE_SIZE, 0, extra);
        if (want < 4 || want > extra || (want & 3))
            want = extra < 32 ? (uint16_t)(extra & ~3u) : 32;
        memcpy(slot + EXT2_GOOD_OLD_INODE_SIZE, &want, sizeof(want));   /* i_extra_isize */
    }
    bcache_mark_dirty(b);
    bcache_release(fs->cache, b);
    return 0;
}

/* The file size the inode says. */
uint64_t ext2_inode_size(const struct ext2_inode *di)
{
    uint64_t size = di->i_size;
    if ((di->i_mode & EXT2_S_IFMT) == EXT2_S_IFREG)
        size |= (uint64_t)di->i_size_high << 32;
    return size;
}

/* Set the inode's size (i_size_high for regular files only). */
static void inode_set_size(struct ext2_inode *di, uint64_t size)
{
    di->i_size = (uint32_t)size;
    if ((di->i_mode & EXT2_S_IFMT) == EXT2_S_IFREG)
        di->i_size_high = (uint32_t)(size >> 32);
}

/* Does the inode's i_block[] hold block numbers? */
int ext2_inode_has_blocks(const struct ext2_fs *fs, const struct ext2_inode *di)
{
    uint32_t type = di->i_mode & EXT2_S_IFMT;
    if (type == EXT2_S_IFREG || type == EXT2_S_IFDIR)
        return 1;
    if (type != EXT2_S_IFLNK)
        return 0;                           /* devices keep their numbers there */
    uint32_t xattr_sectors = di->i_file_acl ? fs->block_size / 512 : 0;
    return di->i_blocks > xattr_sectors;    /* a slow symlink; fast ones hold text */
}

/* Copy the cached inode's mode, link count, size and mtime to the fields fs.c reads. */
void ext2_node_refresh(struct ext2_node *n)
{
    n->vfs.mode = n->di.i_mode;
    n->vfs.links = n->di.i_links_count;
    n->vfs.size = ext2_inode_size(&n->di);
    n->vfs.mtime_ns = (uint64_t)n->di.i_mtime * 1000000000ull;
}

/* Write n's cached inode back and refresh the fields fs.c reads. */
long ext2_node_store(struct ext2_node *n)
{
    ext2_node_refresh(n);
    return ext2_inode_write(n->fs, (uint32_t)n->vfs.ino, &n->di, 0);
}

/* A new block for n, zeroed in the cache and counted in i_blocks: *blk, or an error. */
static long block_alloc_zeroed(struct ext2_node *n, uint32_t *blk)
{
    struct ext2_fs *fs = n->fs;
    long r = ext2_block_alloc(fs, ext2_inode_group(fs, (uint32_t)n->vfs.ino), blk);
    if (r < 0)
        return r;
    struct buf *b;
    if ((r = bcache_zero(fs->cache, *blk, &b)) < 0) {
        ext2_block_free(fs, *blk);
        return r == -HOS_EINVAL ? -HOS_EIO : r;
    }
    bcache_release(fs->cache, b);
    n->di.i_blocks += fs->block_size / 512;
    return 0;
}

/* Which root slot of i_block[] maps lblk, how many indirect levels lie below it, and
 * lblk's index within that subtree: 0, or -HOS_EFBIG. */
static long map_root(const struct ext2_fs *fs, uint64_t lblk, unsigned *slot,
                     unsigned *depth, uint64_t *index)
{
    uint64_t p = fs->ptrs_per_block, span = 1;
    if (lblk < EXT2_NDIR_BLOCKS) {
        *slot = (unsigned)lblk, *depth = 0, *index = 0;
        return 0;
    }
    lblk -= EXT2_NDIR_BLOCKS;
    for (unsigned d = 1; d <= 3; d++) {
        span *= p;
        if (lblk < span) {
            *slot = EXT2_IND_BLOCK + d - 1, *depth = d, *index = lblk;
            return 0;
        }
        lblk -= span;
    }
    return -HOS_EFBIG;
}

/* Physical block of logical block lblk of n in *pblk (0: a hole); alloc fills holes. */
long ext2_bmap(struct ext2_node *n, uint64_t lblk, int alloc, uint32_t *pblk)
{
    struct ext2_fs *fs = n->fs;
    unsigned slot, depth;
    uint64_t index;
    long r = map_root(fs, lblk, &slot, &depth, &index);
    if (r < 0)
        return r;
    int inode_changed = 0;
    uint32_t blk = n->di.i_block[slot];
    if (!blk && alloc) {
        if ((r = block_alloc_zeroed(n, &blk)) < 0)
            return r;
        n->di.i_block[slot] = blk;
        inode_changed = 1;
    }
    if (blk && !ext2_block_ok(fs, blk))
        r = -HOS_EIO;
    uint64_t span = 1;
    for (unsigned d = 1; d < depth; d++)
        span *= fs->ptrs_per_block;
    for (unsigned level = depth; r == 0 && blk && level > 0; level--) {
        struct buf *b;
        if ((r = bcache_read(fs->cache, blk, &b)) < 0)
            break;
        uint32_t *entries = (uint32_t *)b->data;
        uint64_t i = (index / span) % fs->ptrs_per_block;
        uint32_t next = entries[i];
        if (!next && alloc) {
            if ((r = block_alloc_zeroed(n, &next)) == 0) {
                entries[i] = next;
                bcache_mark_dirty(b);
                inode_changed = 1;
            }
        } else if (next && !ext2_block_ok(fs, next)) {
            r = -HOS_EIO;
        }
        bcache_release(fs->cache, b);
        blk = next;
        span /= fs->ptrs_per_block;
    }
    if (inode_changed) {
        long s = ext2_node_store(n);
        if (r == 0)
            r = s;
    }
    if (r < 0)
        return r == -HOS_EINVAL ? -HOS_EIO : r;
    *pblk = blk;
    return 0;
}

/* Up to len bytes at off of a regular file into buf: bytes read, 0 at the end. */
long ext2_file_read(struct ext2_node *n, uint64_t off, void *buf, size_t len)
{
    struct ext2_fs *fs = n->fs;
    uint64_t size = n->vfs.size;
    if (off >= size)
        return 0;
    if (len > size - off)
        len = (size_t)(size - off);
    if (len > (1ul << 30))
        len = 1ul << 30;
    char *dst = buf;
    size_t done = 0;
    while (done < len) {
        uint64_t pos = off + done, in_block = pos % fs->block_size;
        size_t chunk = fs->block_size - in_block;
        if (chunk > len - done)
            chunk = len - done;
        uint32_t pblk;
        long r = ext2_bmap(n, pos / fs->block_size, 0, &pblk);
        struct buf *b = NULL;
        if (r == 0 && pblk && (r = bcache_read(fs->cache, pblk, &b)) == -HOS_EINVAL)
            r = -HOS_EIO;
        if (r < 0)
            return done ? (long)done : r;
        if (b)
            memcpy(dst + done, b->data + in_block, chunk);
        else
            memset(dst + done, 0, chunk);
        bcache_release(fs->cache, b);
        done += chunk;
    }
    return (long)done;
}

/* The largest size a file of fs may have. */
static uint64_t file_max(const struct ext2_fs *fs)
{
    uint64_t p = fs->ptrs_per_block;
    uint64_t blocks = EXT2_NDIR_BLOCKS + p + p * p + p * p * p;
    uint64_t max = blocks * fs->block_size;
    if (fs->sb.s_rev_level == 0 && max > EXT2_SMALL_FILE_MAX)
        max = EXT2_SMALL_FILE_MAX;
    return max < EXT2_FILE_MAX ? max : EXT2_FILE_MAX;
}

/* len bytes from buf at off, growing the file: bytes written, or an error. */
long ext2_file_write(struct ext2_node *n, uint64_t off, const void *buf, size_t len)
{
    struct ext2_fs *fs = n->fs;
    if (len == 0)
        return 0;
    uint64_t max = file_max(fs);
    if (off >= max)
        return -HOS_EFBIG;
    if (len > max - off)
        len = (size_t)(max - off);
    const char *src = buf;
    size_t done = 0;
    long err = 0;
    while (done < len) {
        uint64_t pos = off + done, in_block = pos % fs->block_size;
        size_t chunk = fs->block_size - in_block;
        if (chunk > len - done)
            chunk = len - done;
        uint32_t pblk;
        struct buf *b;
        long r = ext2_bmap(n, pos / fs->block_size, 1, &pblk);
        if (r == 0 && (r = bcache_read(fs->cache, pblk, &b)) == -HOS_EINVAL)
            r = -HOS_EIO;
        if (r < 0) {
            err = r;
            break;
        }
        memcpy(b->data + in_block, src + done, chunk);
        bcache_mark_dirty(b);
        bcache_release(fs->cache, b);
        done += chunk;
    }
    if (done == 0)
        return err;
    if (off + done > ext2_inode_size(&n->di)) {
        inode_set_size(&n->di, off + done);
        if (off + done > EXT2_SMALL_FILE_MAX &&
            !(fs->sb.s_feature_ro_compat & EXT2_FEATURE_RO_COMPAT_LARGE_FILE)) {
            fs->sb.s_feature_ro_compat |= EXT2_FEATURE_RO_COMPAT_LARGE_FILE;
            fs->super_dirty = 1;
        }
    }
    n->di.i_mtime = n->di.i_ctime = ext2_now();
    long r = ext2_node_store(n);
    return r < 0 ? r : (long)done;
}

static long free_tree(struct ext2_node *n, uint32_t blk, unsigned depth);

/* Free the tree *slot names (depth indirect levels) and clear *slot when it is gone or
 * was no block number at all; keep the first error in *first. Whether *slot changed. */
static int free_slot(struct ext2_node *n, uint32_t *slot, unsigned depth, long *first)
{
    long r = free_tree(n, *slot, depth);
    int drop = r == 0 || !ext2_block_ok(n->fs, *slot);
    if (drop)
        *slot = 0;
    if (r < 0 && *first == 0)
        *first = r;
    return drop;
}

/* Free block blk of n and, below it, depth levels of indirect blocks, taking each freed
 * block off n's i_blocks and out of the indirect block naming it: 0, or the first error
 * (freeing goes on past it; what could not be freed stays mapped, so a retry finds it). */
static long free_tree(struct ext2_node *n, uint32_t blk, unsigned depth)
{
    struct ext2_fs *fs = n->fs;
    if (!blk)
        return 0;
    if (!ext2_block_ok(fs, blk))
        return -HOS_EIO;
    long first = 0;
    if (depth > 0) {
        struct buf *b;
        long r = bcache_read(fs->cache, blk, &b);
        if (r < 0)
            return r == -HOS_EINVAL ? -HOS_EIO : r;
        uint32_t *entries = (uint32_t *)b->data;
        for (uint32_t i = 0; i < fs->ptrs_per_block; i++) {
            if (entries[i] && free_slot(n, &entries[i], depth - 1, &first))
                bcache_mark_dirty(b);
        }
        bcache_release(fs->cache, b);
        if (first)
            return first;
    }
    long r = ext2_block_free(fs, blk);
    uint32_t sectors = fs->block_size / 512;
    if (r == 0)
        n->di.i_blocks = n->di.i_blocks > sectors ? n->di.i_blocks - sectors : 0;
    return r;
}

/* Drop n's reference on its extended-attribute block, freeing it with the last one. A
 * block that cannot be read stays n's (a later call goes on); a bad one is dropped. */
static long xattr_release(struct ext2_node *n)
{
    struct ext2_fs *fs = n->fs;
    uint32_t blk = n->di.i_file_acl;
    if (!ext2_block_ok(fs, blk)) {
        n->di.i_file_acl = 0;
        return -HOS_EIO;
    }
    struct buf *b;
    long r = bcache_read(fs->cache, blk, &b);
    if (r < 0)
        return r == -HOS_EINVAL ? -HOS_EIO : r;
    n->di.i_file_acl = 0;
    uint32_t *header = (uint32_t *)b->data;       /* magic, refcount, blocks, hash */
    int valid = header[0] == EXT2_XATTR_MAGIC, last = !valid || header[1] <= 1;
    if (!last) {
        header[1]--;
        bcache_mark_dirty(b);
    }
    bcache_release(fs->cache, b);
    if (!valid)
        return -HOS_EIO;
    return last ? ext2_block_free(fs, blk) : 0;
}

/* Free every block of n and make it empty: 0, or the first error, after which n keeps
 * its size and the blocks not freed (a later call goes on). */
long ext2_free_blocks(struct ext2_node *n, int keep_xattr)
{
    struct ext2_fs *fs = n->fs;
    long first = 0, r;
    if (ext2_inode_has_blocks(fs, &n->di)) {
        for (unsigned i = 0; i < EXT2_N_BLOCKS; i++) {
            unsigned depth = i < EXT2_NDIR_BLOCKS ? 0 : i - EXT2_NDIR_BLOCKS + 1;
            free_slot(n, &n->di.i_block[i], depth, &first);
        }
        if (first == 0)
            n->di.i_blocks = 0;
    }
    if (first == 0 && n->di.i_file_acl) {
        if (keep_xattr) {
            n->di.i_blocks = fs->block_size / 512;
        } else {
            if ((first = xattr_release(n)) == 0)
                n->di.i_blocks = 0;
        }
    }
    if (first == 0)
        inode_set_size(&n->di, 0);
    n->di.i_mtime = n->di.i_ctime = ext2_now();
    r = ext2_node_store(n);
    return first ? first : r;
}
