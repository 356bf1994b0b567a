/*
 * guest-pv/kernel/ext2_dir.c: ext2 directories: blocks of variable-length records, each
 * an inode number (0 = unused), a record length tiling the block, a name length, a file
 * type (with the filetype feature) and the name. Every record is checked as it is
 * reached; a bad one makes the operation -HOS_EIO. New entries go into the slack of an
 * existing record, or into a new block at the end; removing one merges it into the
 * record before it. Hashed (dir_index) directories read as plain ones, and a change
 * clears their index flag, which makes them plain ones (e2fsck agrees).
 */
#include "ext2.h"

#include "kern.h"
#include "klib.h"

/* What a record walk's callback says: go on, stop (done), or an error (< 0). */
#define WALK_NEXT 0
#define WALK_STOP 1

/* One record, as the walk hands it to the callback. */
struct rec {
    struct buf *buf;
    uint32_t off;                   /* in the block */
    uint32_t prev_off;              /* the record before it in the block; = off: none */
    struct ext2_dirent *de;
    uint32_t name_len;
    uint64_t lblk;                  /* the directory's logical block */
};

typedef long (*rec_fn)(struct ext2_node *dp, struct rec *r, void *ctx);

/* The EXT2_FT_* of an i_mode. */
uint8_t ext2_mode_file_type(uint32_t mode)
{
    switch (mode & EXT2_S_IFMT) {
    case EXT2_S_IFREG:  return EXT2_FT_REG_FILE;
    case EXT2_S_IFDIR:  return EXT2_FT_DIR;
    case EXT2_S_IFCHR:  return EXT2_FT_CHRDEV;
    case EXT2_S_IFBLK:  return EXT2_FT_BLKDEV;
    case EXT2_S_IFIFO:  return EXT2_FT_FIFO;
    case EXT2_S_IFSOCK: return EXT2_FT_SOCK;
    case EXT2_S_IFLNK:  return EXT2_FT_SYMLINK;
    default:            return EXT2_FT_UNKNOWN;
    }
}

/* Check the record at off of a directory block: its name length in *name_len, 0 or
 * -HOS_EIO (too short, misaligned, past the block, a name past the record, a bad
 * inode number). */
static long rec_check(const struct ext2_fs *fs, const uint8_t *block, uint32_t off,
                      uint32_t *name_len)
{
    if (fs->block_size - off < EXT2_DIRENT_LEN(1))
        return -HOS_EIO;
    const struct ext2_dirent *de = (const struct ext2_dirent *)(block + off);
    uint32_t len = de->name_len;
    if (!fs->filetype)
        len |= (uint32_t)de->file_type << 8;
    if (de->rec_len < EXT2_DIRENT_LEN(1) || de->rec_len % 4 ||
        de->rec_len > fs->block_size - off || len > 255 ||
        EXT2_DIRENT_LEN(len) > de->rec_len || (de->inode && !ext2_ino_ok(fs, de->inode)))
        return -HOS_EIO;
    *name_len = len;
    return 0;
}

/* Blocks of directory dp: 0 and *n, or -HOS_EIO for a size that is no whole number. */
static long dir_blocks(struct ext2_node *dp, uint64_t *n)
{
    uint64_t size = dp->vfs.size;
    if (size % dp->fs->block_size)
        return -HOS_EIO;
    *n = size / dp->fs->block_size;
    return 0;
}

/* Call fn on every record of dp from logical block first on (holes skipped): WALK_STOP
 * when fn stopped the walk, WALK_NEXT when it ran to the end, or an error. */
static long walk(struct ext2_node *dp, uint64_t first, rec_fn fn, void *ctx)
{
    struct ext2_fs *fs = dp->fs;
    uint64_t nblocks;
    long r = dir_blocks(dp, &nblocks);
    for (uint64_t lblk = first; r == 0 && lblk < nblocks; lblk++) {
        uint32_t pblk;
        struct rec rec = { .lblk = lblk };
        if ((r = ext2_bmap(dp, lblk, 0, &pblk)) < 0 || !pblk)
            continue;
        if ((r = bcache_read(fs->cache, pblk, &rec.buf)) < 0)
            break;
        for (uint32_t off = 0, prev = 0; r == 0 && off < fs->block_size;) {
            if ((r = rec_check(fs, rec.buf->data, off, &rec.name_len)) < 0)
                break;
            rec.off = off;
            rec.prev_off = prev;
            rec.de = (struct ext2_dirent *)(rec.buf->data + off);
            uint32_t next = off + rec.de->rec_len;
            r = fn(dp, &rec, ctx);
            prev = off;
            off = next;
        }
        bcache_release(fs->cache, rec.buf);
    }
    if (r == -HOS_EINVAL)
        r = -HOS_EIO;
    return r;
}

/* The record's name. */
static const char *rec_name(const struct rec *r)
{
    return (const char *)r->de + EXT2_DIRENT_HEADER;
}

/* Does the used record r carry the name (len bytes)? */
static int rec_is(const struct rec *r, const char *name, size_t len)
{
    return r->de->inode && r->name_len == len && memcmp(rec_name(r), name, len) == 0;
}

/* ---- iteration ---------------------------------------------------------------------- */

struct next_ctx {
    uint64_t pos;
    struct ext2_entry *e;
};

/* Stop at the first used record at or past the position. */
static long next_fn(struct ext2_node *dp, struct rec *r, void *ctx)
{
    struct next_ctx *c = ctx;
    uint64_t at = r->lblk * dp->fs->block_size + r->off;
    if (at < c->pos || !r->de->inode)
        return WALK_NEXT;
    c->e->ino = r->de->inode;
    c->e->file_type = dp->fs->filetype ? r->de->file_type : EXT2_FT_UNKNOWN;
    c->e->name_len = r->name_len;
    memcpy(c->e->name, rec_name(r), r->name_len);
    c->e->name[r->name_len] = 0;
    c->pos = at + r->de->rec_len;
    return WALK_STOP;
}

/* The entry at or after byte *pos of dp in *e, *pos moved past it. */
long ext2_dir_next(struct ext2_node *dp, uint64_t *pos, struct ext2_entry *e)
{
    struct next_ctx c = { .pos = *pos, .e = e };
    long r = walk(dp, *pos / dp->fs->block_size, next_fn, &c);
    if (r < 0)
        return r;
    if (r == WALK_NEXT)
        return 0;
    *pos = c.pos;
    return 1;
}

/* ---- lookup ------------------------------------------------------------------------- */

struct find_ctx {
    const char *name;
    size_t len;
    uint32_t ino;
};

/* Stop at the record named c->name. */
static long find_fn(struct ext2_node *dp, struct rec *r, void *ctx)
{
    (void)dp;
    struct find_ctx *c = ctx;
    if (!rec_is(r, c->name, c->len))
        return WALK_NEXT;
    c->ino = r->de->inode;
    return WALK_STOP;
}

/* The inode number name has in dp. */
long ext2_dir_find(struct ext2_node *dp, const char *name, size_t len, uint32_t *ino)
{
    struct find_ctx c = { .name = name, .len = len };
    long r = walk(dp, 0, find_fn, &c);
    if (r < 0)
        return r;
    if (r == WALK_NEXT)
        return -HOS_ENOENT;
    *ino = c.ino;
    return 0;
}

/* Stop at a used record other than "." and "..". */
static long nonempty_fn(struct ext2_node *dp, struct rec *r, void *ctx)
{
    (void)dp, (void)ctx;
    return r->de->inode && !rec_is(r, ".", 1) && !rec_is(r, "..", 2) ? WALK_STOP : WALK_NEXT;
}

/* 1 when dp holds nothing but "." and "..". */
long ext2_dir_is_empty(struct ext2_node *dp)
{
    long r = walk(dp, 0, nonempty_fn, NULL);
    return r < 0 ? r : r == WALK_NEXT;
}

/* ---- changes ------------------------------------------------------------------------ */

/* dp changed: new times, no hash index any more, the inode written back. */
static long dir_changed(struct ext2_node *dp)
{
    dp->di.i_mtime = dp->di.i_ctime = ext2_now();
    dp->di.i_flags &= ~EXT2_INDEX_FL;
    return ext2_node_store(dp);
}

/* Fill a record at rec with rec_len bytes naming ino. */
static void rec_fill(const struct ext2_fs *fs, struct ext2_dirent *de, uint32_t rec_len,
                     const char *name, size_t len, uint32_t ino, uint8_t ft)
{
    de->inode = ino;
    de->rec_len = (uint16_t)rec_len;
    de->name_len = (uint8_t)len;
    de->file_type = fs->filetype ? ft : 0;
    memcpy((char *)de + EXT2_DIRENT_HEADER, name, len);
}

struct add_ctx {
    const char *name;
    size_t len;
    uint32_t ino;
    uint8_t ft;
};

/* Put the entry into the first record with room for it. */
static long add_fn(struct ext2_node *dp, struct rec *r, void *ctx)
{
    struct add_ctx *c = ctx;
    uint32_t need = EXT2_DIRENT_LEN(c->len);
    uint32_t used = r->de->inode ? EXT2_DIRENT_LEN(r->name_len) : 0;
    if (r->de->rec_len - used < need)
        return WALK_NEXT;
    struct ext2_dirent *de = r->de;
    uint32_t rec_len = de->rec_len;
    if (used) {                             /* split: the old record keeps what it uses */
        de->rec_len = (uint16_t)used;
        de = (struct ext2_dirent *)((uint8_t *)de + used);
        rec_len -= used;
    }
    rec_fill(dp->fs, de, rec_len, c->name, c->len, c->ino, c->ft);
    bcache_mark_dirty(r->buf);
    return WALK_STOP;
}

/* Add name -> ino to dp. */
long ext2_dir_add(struct ext2_node *dp, const char *name, size_t len, uint32_t ino,
                  uint8_t ft)
{
    struct ext2_fs *fs = dp->fs;
    if (len == 0 || len > 255)
        return -HOS_EINVAL;
    struct add_ctx c = { .name = name, .len = len, .ino = ino, .ft = ft };
    long r = walk(dp, 0, add_fn, &c);
    if (r < 0)
        return r;
    if (r == WALK_NEXT) {                   /* no room: a new block at the end */
        uint64_t nblocks;
        uint32_t pblk;
        struct buf *b;
        if ((r = dir_blocks(dp, &nblocks)) < 0 || (r = ext2_bmap(dp, nblocks, 1, &pblk)) < 0)
            return r;
        if ((r = bcache_read(fs->cache, pblk, &b)) < 0)
            return r == -HOS_EINVAL ? -HOS_EIO : r;
        rec_fill(fs, (struct ext2_dirent *)b->data, fs->block_size, name, len, ino, ft);
        bcache_mark_dirty(b);
        bcache_release(fs->cache, b);
        dp->di.i_size = (uint32_t)((nblocks + 1) * fs->block_size);
    }
    return dir_changed(dp);
}

struct remove_ctx {
    const char *name;
    size_t len;
};

/* Drop the record named c->name: merged into the one before it, or marked unused. */
static long remove_fn(struct ext2_node *dp, struct rec *r, void *ctx)
{
    (void)dp;
    struct remove_ctx *c = ctx;
    if (!rec_is(r, c->name, c->len))
        return WALK_NEXT;
    if (r->prev_off != r->off) {
        struct ext2_dirent *prev = (struct ext2_dirent *)(r->buf->data + r->prev_off);
        prev->rec_len = (uint16_t)(prev->rec_len + r->de->rec_len);
    } else {
        r->de->inode = 0;
    }
    bcache_mark_dirty(r->buf);
    return WALK_STOP;
}

/* Remove the entry name from dp. */
long ext2_dir_remove(struct ext2_node *dp, const char *name, size_t len)
{
    struct remove_ctx c = { .name = name, .len = len };
    long r = walk(dp, 0, remove_fn, &c);
    if (r < 0)
        return r;
    if (r == WALK_NEXT)
        return -HOS_ENOENT;
    return dir_changed(dp);
}

/* Give the new directory dp its first block with "." and "..". */
long ext2_dir_init(struct ext2_node *dp, uint32_t parent_ino)
{
    struct ext2_fs *fs = dp->fs;
    uint32_t pblk;
    struct buf *b;
    long r = ext2_bmap(dp, 0, 1, &pblk);
    if (r < 0)
        return r;
    if ((r = bcache_read(fs->cache, pblk, &b)) < 0)
        return r == -HOS_EINVAL ? -HOS_EIO : r;
    struct ext2_dirent *dot = (struct ext2_dirent *)b->data;
    uint32_t dot_len = EXT2_DIRENT_LEN(1);
    rec_fill(fs, dot, dot_len, ".", 1, (uint32_t)dp->vfs.ino, EXT2_FT_DIR);
    rec_fill(fs, (struct ext2_dirent *)(b->data + dot_len), fs->block_size - dot_len, "..", 2,
             parent_ino, EXT2_FT_DIR);
    bcache_mark_dirty(b);
    bcache_release(fs->cache, b);
    dp->di.i_size = fs->block_size;
    return ext2_node_store(dp);
}
