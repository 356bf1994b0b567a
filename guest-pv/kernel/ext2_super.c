/*
 * guest-pv/kernel/ext2_super.c: ext2 mounting and space accounting: the superblock and
 * group descriptors are checked once at mount, so the rest of the driver may trust
 * their geometry; the block and inode bitmaps, the groups' free counts and the
 * superblock's totals change together here, so e2fsck finds them exact.
 *
 * Features: filetype (incompat) is handled; any other incompat feature refuses the
 * mount. sparse_super and large_file (ro_compat) are handled (backups are never
 * written; they hold no counts e2fsck compares); any other ro_compat feature mounts
 * read-only. Compat features need nothing: ext_attr blocks are only kept or released,
 * resize_inode's reserved blocks are marked used in the bitmaps, and dir_index
 * directories read as plain ones (ext2_dir.c clears the index flag when writing one).
 */
#include "ext2.h"

#include "kern.h"
#include "klib.h"

#define EXT2_CACHE_BYTES (256u * 1024u)     /* the buffer cache's bound, in bytes */

/* Seconds since 1970 now. */
uint32_t ext2_now(void)
{
    return (uint32_t)(krealtime_ns() / 1000000000ull);
}

/* Is blk a block number data or indirect blocks may have? */
int ext2_block_ok(const struct ext2_fs *fs, uint32_t blk)
{
    return blk > fs->sb.s_first_data_block && blk < fs->sb.s_blocks_count;
}

/* The group inode ino belongs to. */
uint32_t ext2_inode_group(const struct ext2_fs *fs, uint32_t ino)
{
    return (ino - 1) / fs->sb.s_inodes_per_group;
}

/* Group descriptor g in its buffer: *gd points into *bp (released by the caller). */
static long group_get(struct ext2_fs *fs, uint32_t g, struct buf **bp,
                      struct ext2_group_desc **gd)
{
    uint64_t byte = (uint64_t)g * sizeof(struct ext2_group_desc);
    long r = bcache_read(fs->cache, fs->gdt_block + byte / fs->block_size, bp);
    if (r < 0)
        return r == -HOS_EINVAL ? -HOS_EIO : r;
    *gd = (struct ext2_group_desc *)((*bp)->data + byte % fs->block_size);
    return 0;
}

/* Where inode ino (valid) is: its block in *blk and byte offset there in *off. */
long ext2_inode_location(struct ext2_fs *fs, uint32_t ino, uint32_t *blk, uint32_t *off)
{
    struct buf *b;
    struct ext2_group_desc *gd;
    long r = group_get(fs, ext2_inode_group(fs, ino), &b, &gd);
    if (r < 0)
        return r;
    uint64_t byte = (uint64_t)((ino - 1) % fs->sb.s_inodes_per_group) * fs->inode_size;
    *blk = gd->bg_inode_table + (uint32_t)(byte / fs->block_size);
    *off = (uint32_t)(byte % fs->block_size);
    bcache_release(fs->cache, b);
    return 0;
}

/* Blocks in group g (the last one may be short). */
static uint32_t group_blocks(const struct ext2_fs *fs, uint32_t g)
{
    uint32_t start = fs->sb.s_first_data_block + g * fs->sb.s_blocks_per_group;
    uint32_t left = fs->sb.s_blocks_count - start;
    return left < fs->sb.s_blocks_per_group ? left : fs->sb.s_blocks_per_group;
}

/* Check group descriptor g's blocks lie inside the file system. */
static int group_ok(const struct ext2_fs *fs, const struct ext2_group_desc *gd)
{
    uint64_t table_blocks = ((uint64_t)fs->sb.s_inodes_per_group * fs->inode_size +
                             fs->block_size - 1) / fs->block_size;
    return ext2_block_ok(fs, gd->bg_block_bitmap) && ext2_block_ok(fs, gd->bg_inode_bitmap) &&
           ext2_block_ok(fs, gd->bg_inode_table) &&
           gd->bg_inode_table + table_blocks <= fs->sb.s_blocks_count &&
           gd->bg_free_blocks_count <= fs->sb.s_blocks_per_group &&
           gd->bg_free_inodes_count <= fs->sb.s_inodes_per_group;
}

/* Check the superblock's geometry and features, and derive fs's fields from it:
 * 0 or -HOS_EINVAL. */
static long super_check(struct ext2_fs *fs, uint64_t dev_sectors)
{
    const struct ext2_super *sb = &fs->sb;
    if (sb->s_magic != EXT2_MAGIC || sb->s_rev_level > 1 || sb->s_log_block_size > 2)
        return -HOS_EINVAL;
    fs->block_size = 1024u << sb->s_log_block_size;
    fs->ptrs_per_block = fs->block_size / 4;
    uint64_t dev_blocks = dev_sectors / (fs->block_size / BLKDEV_SECTOR_SIZE);
    if (sb->s_first_data_block != (fs->block_size == 1024 ? 1u : 0u) ||
        sb->s_blocks_count <= sb->s_first_data_block + 1 || sb->s_blocks_count > dev_blocks)
        return -HOS_EINVAL;
    if (sb->s_blocks_per_group < 8 || sb->s_blocks_per_group > 8 * fs->block_size ||
        sb->s_blocks_per_group % 8 || sb->s_inodes_per_group == 0 ||
        sb->s_inodes_per_group > 8 * fs->block_size)
        return -HOS_EINVAL;
    uint32_t data_blocks = sb->s_blocks_count - sb->s_first_data_block;
    fs->groups = (data_blocks + sb->s_blocks_per_group - 1) / sb->s_blocks_per_group;
    if ((uint64_t)fs->groups * sb->s_inodes_per_group != sb->s_inodes_count)
        return -HOS_EINVAL;
    if (sb->s_rev_level == 0) {
        fs->inode_size = EXT2_GOOD_OLD_INODE_SIZE;
        fs->first_ino = EXT2_GOOD_OLD_FIRST_INO;
    } else {
        fs->inode_size = sb->s_inode_size;
        fs->first_ino = sb->s_first_ino;
        if (fs->inode_size < EXT2_GOOD_OLD_INODE_SIZE || fs->inode_size > fs->block_size ||
            (fs->inode_size & (fs->inode_size - 1)) || fs->first_ino < EXT2_GOOD_OLD_FIRST_INO)
            return -HOS_EINVAL;
        if (sb->s_feature_incompat & ~(uint32_t)EXT2_INCOMPAT_SUPPORTED)
            return -HOS_EINVAL;
        fs->read_only = (sb->s_feature_ro_compat & ~(uint32_t)EXT2_RO_COMPAT_SUPPORTED) != 0;
        fs->filetype = (sb->s_feature_incompat & EXT2_FEATURE_INCOMPAT_FILETYPE) != 0;
    }
    if (fs->first_ino >= sb->s_inodes_count || sb->s_free_blocks_count > sb->s_blocks_count ||
        sb->s_free_inodes_count > sb->s_inodes_count)
        return -HOS_EINVAL;
    fs->gdt_block = sb->s_first_data_block + 1;
    uint64_t gdt_blocks = ((uint64_t)fs->groups * sizeof(struct ext2_group_desc) +
                           fs->block_size - 1) / fs->block_size;
    if (fs->gdt_block + gdt_blocks > sb->s_blocks_count)
        return -HOS_EINVAL;
    return 0;
}

/* Check every group descriptor: 0, -HOS_EINVAL, or the cache's error. */
static long groups_check(struct ext2_fs *fs)
{
    for (uint32_t g = 0; g < fs->groups; g++) {
        struct buf *b;
        struct ext2_group_desc *gd;
        long r = group_get(fs, g, &b, &gd);
        if (r < 0)
            return r;
        int ok = group_ok(fs, gd);
        bcache_release(fs->cache, b);
        if (!ok)
            return -HOS_EINVAL;
    }
    return 0;
}

/* Read and check the superblock and group descriptors of d. */
long ext2_fs_open(struct blkdev *d, struct ext2_fs **out)
{
    if (!d || !d->rw || d->sectors < 4)
        return -HOS_EINVAL;
    struct ext2_fs *fs = kmalloc(sizeof(*fs));
    if (!fs)
        return -HOS_ENOMEM;
    fs->dev = d;
    long r = d->rw(d, 0, EXT2_SUPER_OFFSET / BLKDEV_SECTOR_SIZE,
                   sizeof(fs->sb) / BLKDEV_SECTOR_SIZE, &fs->sb);
    if (r == 0)
        r = super_check(fs, d->sectors);
    if (r == 0) {
        fs->cache = bcache_create(d, fs->block_size, EXT2_CACHE_BYTES / fs->block_size);
        r = fs->cache ? groups_check(fs) : -HOS_ENOMEM;
    }
    if (r < 0) {
        if (fs->cache)
            bcache_destroy(fs->cache);
        kfree(fs);
        return r;
    }
    *out = fs;
    return 0;
}

/* Copy the in-memory superblock into its buffer. */
static long super_store(struct ext2_fs *fs)
{
    struct buf *b;
    long r = bcache_read(fs->cache, EXT2_SUPER_OFFSET / fs->block_size, &b);
    if (r < 0)
        return r;
    memcpy(b->data + EXT2_SUPER_OFFSET % fs->block_size, &fs->sb, sizeof(fs->sb));
    bcache_mark_dirty(b);
    bcache_release(fs->cache, b);
    return 0;
}

/* Write the superblock and every dirty buffer back and flush the device. */
long ext2_fs_sync(struct ext2_fs *fs)
{
    if (fs->read_only)
        return 0;
    if (fs->super_dirty) {
        fs->sb.s_wtime = ext2_now();
        long r = super_store(fs);
        if (r < 0)
            return r;
        fs->super_dirty = 0;
    }
    return bcache_sync(fs->cache);
}

/* Free the fs after writing back what it can. */
void ext2_fs_close(struct ext2_fs *fs)
{
    if (!fs)
        return;
    ext2_fs_sync(fs);
    bcache_destroy(fs->cache);
    kfree(fs);
}

/* The first clear bit of bitmap from bit from up to (not including) bit end, or end. */
static uint32_t bitmap_find_clear(const uint8_t *map, uint32_t from, uint32_t end)
{
    for (uint32_t i = from; i < end; i++) {
        if (map[i / 8] == 0xff) {
            i |= 7;
            continue;
        }
        if (!(map[i / 8] & (1u << (i % 8))))
            return i;
    }
    return end;
}

/* A free block, marked used, preferably in group goal_group. */
long ext2_block_alloc(struct ext2_fs *fs, uint32_t goal_group, uint32_t *blk)
{
    if (fs->sb.s_free_blocks_count == 0)
        return -HOS_ENOSPC;
    for (uint32_t i = 0; i < fs->groups; i++) {
        uint32_t g = (goal_group + i) % fs->groups;
        struct buf *gb, *bb;
        struct ext2_group_desc *gd;
        long r = group_get(fs, g, &gb, &gd);
        if (r < 0)
            return r;
        if (gd->bg_free_blocks_count == 0) {
            bcache_release(fs->cache, gb);
            continue;
        }
        if ((r = bcache_read(fs->cache, gd->bg_block_bitmap, &bb)) < 0) {
            bcache_release(fs->cache, gb);
            return r;
        }
        uint32_t n = group_blocks(fs, g), bit = bitmap_find_clear(bb->data, 0, n);
        if (bit < n) {
            bb->data[bit / 8] |= (uint8_t)(1u << (bit % 8));
            bcache_mark_dirty(bb);
            gd->bg_free_blocks_count--;
            bcache_mark_dirty(gb);
            fs->sb.s_free_blocks_count--;
            fs->super_dirty = 1;
            *blk = fs->sb.s_first_data_block + g * fs->sb.s_blocks_per_group + bit;
        }
        bcache_release(fs->cache, bb);
        bcache_release(fs->cache, gb);
        if (bit < n)
            return ext2_block_ok(fs, *blk) ? 0 : -HOS_EIO;
    }
    return -HOS_ENOSPC;
}

/* Mark a used block free. */
long ext2_block_free(struct ext2_fs *fs, uint32_t blk)
{
    if (!ext2_block_ok(fs, blk))
        return -HOS_EIO;
    uint32_t rel = blk - fs->sb.s_first_data_block;
    uint32_t g = rel / fs->sb.s_blocks_per_group, bit = rel % fs->sb.s_blocks_per_group;
    struct buf *gb, *bb;
    struct ext2_group_desc *gd;
    long r = group_get(fs, g, &gb, &gd);
    if (r < 0)
        return r;
    if ((r = bcache_read(fs->cache, gd->bg_block_bitmap, &bb)) < 0) {
        bcache_release(fs->cache, gb);
        return r;
    }
    uint8_t mask = (uint8_t)(1u << (bit % 8));
    if (!(bb->data[bit / 8] & mask)) {
        r = -HOS_EIO;                       /* freeing a free block: a corrupt map */
    } else {
        bb->data[bit / 8] &= (uint8_t)~mask;
        bcache_mark_dirty(bb);
        gd->bg_free_blocks_count++;
        bcache_mark_dirty(gb);
        fs->sb.s_free_blocks_count++;
        fs->super_dirty = 1;
    }
    bcache_release(fs->cache, bb);
    bcache_release(fs->cache, gb);
    return r;
}

/* A free inode number, marked used, preferably in goal_group. */
long ext2_inode_alloc(struct ext2_fs *fs, uint32_t goal_group, int is_dir, uint32_t *ino)
{
    if (fs->sb.s_free_inodes_count == 0)
        return -HOS_ENOSPC;
    uint32_t ipg = fs->sb.s_inodes_per_group;
    for (uint32_t i = 0; i < fs->groups; i++) {
        uint32_t g = (goal_group + i) % fs->groups;
        struct buf *gb, *ib;
        struct ext2_group_desc *gd;
        long r = group_get(fs, g, &gb, &gd);
        if (r < 0)
            return r;
        uint32_t first_ino_bit = 0;      /* the reserved inodes (below first_ino) stay */
        if ((uint64_t)g * ipg + 1 < fs->first_ino)
            first_ino_bit = fs->first_ino - 1 - g * ipg;
        if (gd->bg_free_inodes_count == 0 || first_ino_bit >= ipg) {
            bcache_release(fs->cache, gb);
            continue;
        }
        if ((r = bcache_read(fs->cache, gd->bg_inode_bitmap, &ib)) < 0) {
            bcache_release(fs->cache, gb);
            return r;
        }
        uint32_t bit = bitmap_find_clear(ib->data, first_ino_bit, ipg);
        if (bit < ipg) {
            ib->data[bit / 8] |= (uint8_t)(1u << (bit % 8));
            bcache_mark_dirty(ib);
            gd->bg_free_inodes_count--;
            if (is_dir)
                gd->bg_used_dirs_count++;
            bcache_mark_dirty(gb);
            fs->sb.s_free_inodes_count--;
            fs->super_dirty = 1;
            *ino = g * ipg + bit + 1;
        }
        bcache_release(fs->cache, ib);
        bcache_release(fs->cache, gb);
        if (bit < ipg)
            return 0;
    }
    return -HOS_ENOSPC;
}

/* Mark a used inode free. */
long ext2_inode_free(struct ext2_fs *fs, uint32_t ino, int is_dir)
{
    if (ino < fs->first_ino || ino > fs->sb.s_inodes_count)
        return -HOS_EIO;
    uint32_t g = ext2_inode_group(fs, ino), bit = (ino - 1) % fs->sb.s_inodes_per_group;
    struct buf *gb, *ib;
    struct ext2_group_desc *gd;
    long r = group_get(fs, g, &gb, &gd);
    if (r < 0)
        return r;
    if ((r = bcache_read(fs->cache, gd->bg_inode_bitmap, &ib)) < 0) {
        bcache_release(fs->cache, gb);
        return r;
    }
    uint8_t mask = (uint8_t)(1u << (bit % 8));
    if (!(ib->data[bit / 8] & mask)) {
        r = -HOS_EIO;
    } else {
        ib->data[bit / 8] &= (uint8_t)~mask;
        bcache_mark_dirty(ib);
        gd->bg_free_inodes_count++;
        if (is_dir && gd->bg_used_dirs_count > 0)
            gd->bg_used_dirs_count--;
        bcache_mark_dirty(gb);
        fs->sb.s_free_inodes_count++;
        fs->super_dirty = 1;
    }
    bcache_release(fs->cache, ib);
    bcache_release(fs->cache, gb);
    return r;
}
