/*
 * guest-pv/kernel/ext2_vfs.c: ext2 in the file layer: in-memory inodes (struct ext2_node,
 * one per inode number while referenced, kept on the fs's list), the inode_ops fs.c
 * calls for them, and mounting, unmounting and syncing.
 *
 * Every change to an inode is written to its inode-table buffer at once, so a sync only
 * has to write the superblock and the cache's dirty buffers. An inode whose link count
 * reaches 0 keeps its blocks until its last in-memory reference goes (an open file
 * stays readable), then release frees them and the inode. Errors there cannot be
 * reported to anyone: the node stays as an orphan that every sync tries again to free
 * (one left at unmount is what e2fsck finds after a crash).
 */
#include "ext2.h"

#include "kern.h"
#include "klib.h"

#define EXT2_LINK_MAX 32000u            /* directory links, as Linux's ext2 allows */

static const struct inode_ops ext2_inode_ops;
static struct ext2_fs *mounts;          /* every mounted ext2 */

/* Is the entry e "." or ".."? */
static int entry_is_dot(const struct ext2_entry *e)
{
    return e->name[0] == '.' && (e->name_len == 1 || (e->name_len == 2 && e->name[1] == '.'));
}

/* Is n a directory? */
static int node_is_dir(const struct ext2_node *n)
{
    return (n->di.i_mode & EXT2_S_IFMT) == EXT2_S_IFDIR;
}

/* A new node of fs for inode ino with cached inode di, referenced, on fs's list. */
static struct ext2_node *node_new(struct ext2_fs *fs, uint32_t ino, const struct ext2_inode *di)
{
    struct ext2_node *n = kmalloc(sizeof(*n));
    if (!n)
        return NULL;
    n->fs = fs;
    n->di = *di;
    n->vfs.ino = ino;
    n->vfs.ops = &ext2_inode_ops;
    n->vfs.refs = 1;
    ext2_node_refresh(n);
    n->next = fs->nodes;
    fs->nodes = n;
    return n;
}

/* The in-memory inode of ino, referenced, in *out: 0, -HOS_EIO (a bad number, or an
 * inode not in use or of no known type), -HOS_ENOMEM. */
static long node_get(struct ext2_fs *fs, uint32_t ino, struct inode **out)
{
    for (struct ext2_node *n = fs->nodes; n; n = n->next) {
        if (n->vfs.ino == ino) {
            *out = inode_get(&n->vfs);
            return 0;
        }
    }
    if (!ext2_ino_ok(fs, ino) || (ino < fs->first_ino && ino != EXT2_ROOT_INO))
        return -HOS_EIO;
    struct ext2_inode di;
    long r = ext2_inode_read(fs, ino, &di);
    if (r < 0)
        return r;
    if (di.i_links_count == 0 || ext2_mode_file_type(di.i_mode) == EXT2_FT_UNKNOWN)
        return -HOS_EIO;
    struct ext2_node *n = node_new(fs, ino, &di);
    if (!n)
        return -HOS_ENOMEM;
    *out = &n->vfs;
    return 0;
}

/* Take n off its fs's list and free it. */
static void node_free(struct ext2_node *n)
{
    struct ext2_node **p = &n->fs->nodes;
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p)
        *p = n->next;
    kfree(n);
}

/* Give an unlinked inode's blocks and number back to the bitmaps: 0, or an error (what
 * was not freed stays n's, so calling again goes on). */
static long orphan_free(struct ext2_node *n)
{
    long r = ext2_free_blocks(n, 0);
    if (r == 0) {
        n->di.i_dtime = ext2_now();
        r = ext2_node_store(n);
    }
    return r == 0 ? ext2_inode_free(n->fs, (uint32_t)n->vfs.ino, node_is_dir(n)) : r;
}

/* release: an unlinked inode is freed on disk, then n; one that cannot be freed now
 * (ENOMEM, EIO) stays on fs's list unreferenced, an orphan the next sync frees. */
static void ext2_release(struct inode *ip)
{
    struct ext2_node *n = ext2_node_of(ip);
    if (n->di.i_links_count == 0 && !n->fs->read_only && orphan_free(n) < 0)
        return;
    node_free(n);
}

/* Retry freeing fs's orphans (unreferenced nodes release could not free). */
static void orphans_reap(struct ext2_fs *fs)
{
    struct ext2_node **p = &fs->nodes;
    while (*p) {
        struct ext2_node *n = *p;
        if (n->vfs.refs == 0 && orphan_free(n) == 0) {
            *p = n->next;
            kfree(n);
        } else {
            p = &n->next;
        }
    }
}

/* lookup: the entry name of dp. */
static long ext2_lookup(struct inode *dp, const char *name, struct inode **out)
{
    struct ext2_node *dn = ext2_node_of(dp);
    uint32_t ino;
    long r = ext2_dir_find(dn, name, strlen(name), &ino);
    if (r < 0)
        return r;
    return node_get(dn->fs, ino, out);
}

/* A fresh on-disk inode of mode (one link, two for a directory), times now. */
static void inode_init(struct ext2_inode *di, uint32_t mode)
{
    memset(di, 0, sizeof(*di));
    di->i_mode = (uint16_t)mode;
    di->i_links_count = (mode & EXT2_S_IFMT) == EXT2_S_IFDIR ? 2 : 1;
    di->i_atime = di->i_ctime = di->i_mtime = ext2_now();
}

/* create: a new regular file or directory name in dp. */
static long ext2_create(struct inode *dp, const char *name, uint32_t mode, struct inode **out)
{
    struct ext2_node *dn = ext2_node_of(dp);
    struct ext2_fs *fs = dn->fs;
    size_t len = strlen(name);
    uint32_t type = mode & EXT2_S_IFMT, ino;
    if (fs->read_only)
        return -HOS_EROFS;
    if (type != EXT2_S_IFREG && type != EXT2_S_IFDIR)
        return -HOS_EINVAL;                 /* no device inodes on disk */
    long r = ext2_dir_find(dn, name, len, &ino);
    if (r == 0)
        return -HOS_EEXIST;
    if (r != -HOS_ENOENT)
        return r;
    int is_dir = type == EXT2_S_IFDIR;
    if (is_dir && dn->di.i_links_count >= EXT2_LINK_MAX)
        return -HOS_ENOSPC;
    if ((r = ext2_inode_alloc(fs, ext2_inode_group(fs, (uint32_t)dp->ino), is_dir, &ino)) < 0)
        return r;
    struct ext2_inode di;
    inode_init(&di, mode);
    struct ext2_node *n = NULL;
    if ((r = ext2_inode_write(fs, ino, &di, 1)) == 0 && !(n = node_new(fs, ino, &di)))
        r = -HOS_ENOMEM;
    if (r < 0) {
        ext2_inode_free(fs, ino, is_dir);
        return r;
    }
    if (is_dir)
        r = ext2_dir_init(n, (uint32_t)dp->ino);
    if (r == 0)
        r = ext2_dir_add(dn, name, len, ino, ext2_mode_file_type(mode));
    if (r == 0 && is_dir) {
        dn->di.i_links_count++;             /* the new directory's ".." */
        r = ext2_node_store(dn);
    }
    if (r < 0) {                            /* undone by release: blocks, then inode */
        n->di.i_links_count = 0;
        inode_put(&n->vfs);
        return r;
    }
    *out = &n->vfs;
    return 0;
}

/* unlink: remove the file or empty directory name from dp. */
static long ext2_unlink(struct inode *dp, const char *name, int want_dir)
{
    struct ext2_node *dn = ext2_node_of(dp);
    struct ext2_fs *fs = dn->fs;
    size_t len = strlen(name);
    uint32_t ino;
    struct inode *ip;
    if (fs->read_only)
        return -HOS_EROFS;
    long r = ext2_dir_find(dn, name, len, &ino);
    if (r == 0)
        r = node_get(fs, ino, &ip);
    if (r < 0)
        return r;
    struct ext2_node *n = ext2_node_of(ip);
    int is_dir = node_is_dir(n);
    if (want_dir && !is_dir)
        r = -HOS_ENOTDIR;
    else if (ino == EXT2_ROOT_INO || ip->covered)
        r = -HOS_EBUSY;
    else if (is_dir && (r = ext2_dir_is_empty(n)) >= 0)
        r = r ? 0 : -HOS_ENOTEMPTY;
    if (r == 0)
        r = ext2_dir_remove(dn, name, len);
    if (r == 0) {
        if (is_dir) {
            n->di.i_links_count = 0;        /* its entry and its "." */
            if (dn->di.i_links_count > 2)
                dn->di.i_links_count--;     /* its ".." */
            r = ext2_node_store(dn);
        } else if (n->di.i_links_count > 0) {
            n->di.i_links_count--;
        }
        n->di.i_ctime = ext2_now();
        long s = ext2_node_store(n);
        r = r ? r : s;
    }
    inode_put(ip);
    return r;
}

/* read: regular files only. */
static long ext2_read(struct inode *ip, uint64_t off, void *buf, size_t n)
{
    struct ext2_node *en = ext2_node_of(ip);
    uint32_t type = en->di.i_mode & EXT2_S_IFMT;
    if (type != EXT2_S_IFREG)
        return type == EXT2_S_IFDIR ? -HOS_EISDIR : -HOS_EINVAL;
    return ext2_file_read(en, off, buf, n);
}

/* write: regular files only, not on a read-only mount. */
static long ext2_write(struct inode *ip, uint64_t off, const void *buf, size_t n)
{
    struct ext2_node *en = ext2_node_of(ip);
    uint32_t type = en->di.i_mode & EXT2_S_IFMT;
    if (type != EXT2_S_IFREG)
        return type == EXT2_S_IFDIR ? -HOS_EISDIR : -HOS_EINVAL;
    if (en->fs->read_only)
        return -HOS_EROFS;
    return ext2_file_write(en, off, buf, n);
}

/* truncate: a regular file to size 0 (its extended attributes stay). */
static long ext2_truncate(struct inode *ip)
{
    struct ext2_node *en = ext2_node_of(ip);
    if ((en->di.i_mode & EXT2_S_IFMT) != EXT2_S_IFREG)
        return 0;
    if (en->fs->read_only)
        return -HOS_EROFS;
    return ext2_free_blocks(en, 1);
}

/* The HOS_S_IF* type of entry e (its inode read when the entry carries no type). */
static uint32_t entry_mode(struct ext2_fs *fs, const struct ext2_entry *e)
{
    static const uint32_t modes[] = {
        [EXT2_FT_REG_FILE] = EXT2_S_IFREG, [EXT2_FT_DIR] = EXT2_S_IFDIR,
        [EXT2_FT_CHRDEV] = EXT2_S_IFCHR, [EXT2_FT_BLKDEV] = EXT2_S_IFBLK,
        [EXT2_FT_FIFO] = EXT2_S_IFIFO, [EXT2_FT_SOCK] = EXT2_S_IFSOCK,
        [EXT2_FT_SYMLINK] = EXT2_S_IFLNK,
    };
    if (e->file_type != EXT2_FT_UNKNOWN && e->file_type <= EXT2_FT_SYMLINK)
        return modes[e->file_type];
    struct ext2_inode di;
    return ext2_inode_read(fs, e->ino, &di) == 0 ? di.i_mode & EXT2_S_IFMT : 0;
}

/* readdir: the entry at or after byte *pos - 2 of dp ("." and ".." and names too long
 * for a hos_dirent skipped). */
static long ext2_readdir(struct inode *dp, uint64_t *pos, struct hos_dirent *d)
{
    struct ext2_node *dn = ext2_node_of(dp);
    struct ext2_entry e;
    uint64_t off = *pos - 2;
    for (;;) {
        long r = ext2_dir_next(dn, &off, &e);
        if (r <= 0)
            return r;
        if (entry_is_dot(&e) || e.name_len > HOS_NAME_MAX)
            continue;
        memset(d, 0, sizeof(*d));
        d->ino = e.ino;
        d->mode = entry_mode(dn->fs, &e);
        d->name_len = e.name_len;
        memcpy(d->name, e.name, e.name_len + 1);
        *pos = off + 2;
        return 1;
    }
}

/* name_of: the name dp gives ip (for getcwd). */
static long ext2_name_of(struct inode *dp, const struct inode *ip, char *name)
{
    struct ext2_node *dn = ext2_node_of(dp);
    struct ext2_entry e;
    uint64_t off = 0;
    long r;
    while ((r = ext2_dir_next(dn, &off, &e)) == 1) {
        if (e.ino != ip->ino || entry_is_dot(&e))
            continue;
        if (e.name_len > HOS_NAME_MAX)
            return -HOS_ENAMETOOLONG;
        memcpy(name, e.name, e.name_len + 1);
        return 0;
    }
    return r < 0 ? r : -HOS_ENOENT;
}

static const struct inode_ops ext2_inode_ops = {
    .lookup = ext2_lookup,
    .create = ext2_create,
    .unlink = ext2_unlink,
    .read = ext2_read,
    .write = ext2_write,
    .truncate = ext2_truncate,
    .readdir = ext2_readdir,
    .name_of = ext2_name_of,
    .release = ext2_release,
};

/* Mount the ext2 file system on d at the ramfs directory path. */
long fs_mount_ext2(struct blkdev *d, const char *path)
{
    struct ext2_fs *fs;
    long r = ext2_fs_open(d, &fs);
    if (r < 0)
        return r;
    struct inode *root;
    if ((r = node_get(fs, EXT2_ROOT_INO, &root)) == -HOS_EIO)
        r = -HOS_EINVAL;
    if (r == 0 && !node_is_dir(ext2_node_of(root)))
        r = -HOS_EINVAL;
    if (r == 0 && (r = fs_attach(path, root)) == 0) {
        fs->next_mount = mounts;
        mounts = fs;
        return 0;
    }
    if (fs->nodes)
        inode_put(root);
    ext2_fs_close(fs);
    return r;
}

/* Undo fs_mount_ext2 at path after writing everything back. */
long fs_umount(const char *path)
{
    struct ext2_fs **p = mounts ? &mounts : NULL;
    struct inode *ip;
    long r = fs_lookup(NULL, path, &ip);
    if (r < 0)
        return r;
    if (ip->ops != &ext2_inode_ops || !ip->covered) {
        inode_put(ip);
        return -HOS_EINVAL;
    }
    struct ext2_node *n = ext2_node_of(ip);
    struct ext2_fs *fs = n->fs;
    orphans_reap(fs);
    int busy = ip->refs != 2;               /* the mount's and ours */
    for (struct ext2_node *o = fs->nodes; o; o = o->next)
        busy |= o != n && o->vfs.refs > 0;
    inode_put(ip);
    if (busy)
        return -HOS_EBUSY;
    if ((r = fs_detach(path, &ip)) < 0)
        return r;
    inode_put(ip);                          /* the last reference: the node goes */
    while (p && *p && *p != fs)
        p = &(*p)->next_mount;
    if (p && *p)
        *p = fs->next_mount;
    r = ext2_fs_sync(fs);
    while (fs->nodes) {                     /* orphans left: on disk as after a crash */
        struct ext2_node *o = fs->nodes;
        fs->nodes = o->next;
        kfree(o);
    }
    ext2_fs_close(fs);
    return r;
}

/* Write every mounted file system's changes back to its disk. */
long fs_sync(void)
{
    long first = 0;
    for (struct ext2_fs *fs = mounts; fs; fs = fs->next_mount) {
        orphans_reap(fs);
        long r = ext2_fs_sync(fs);
        if (r < 0 && first == 0)
            first = r;
    }
    return first;
}
