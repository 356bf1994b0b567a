/*
 * guest-pv/kernel/fs.c: the in-memory file system (ramfs): inodes, directories, paths and
 * mount points.
 *
 * A regular file's data lives in pages (fs_data.c). Directories keep their entries in a list in creation
 * order; ".." is the `parent` pointer, which holds a reference on the parent.
 *
 * Lifetime: `links` counts directory entries naming an inode (0 or 1: there are no hard
 * links), `refs` counts in-memory users (open files, cwds). An inode is freed when both
 * are 0, so an unlinked file stays readable through its open files until the last close.
 *
 * Mounted file systems: an inode with ops belongs to one (ext2 at /disk); the inode,
 * data and directory functions here pass such inodes to their ops. A ramfs directory
 * with `mounted` set is covered: lookups that reach it continue at the mounted root,
 * and ".." of that root is ".." of the covered directory. Path walks hold a reference
 * on the directory they are in, since a mounted file system's inodes live only while
 * referenced.
 */
#include "fs.h"

#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "uvm.h"

struct dirent_node {
    struct dirent_node *next;
    struct inode *ip;
    uint32_t name_len;
    char name[HOS_NAME_MAX + 1];
};

/* The directory holding a path's last component, and that component. */
struct walk {
    struct inode *dir;          /* referenced: the caller puts it */
    char name[HOS_NAME_MAX + 1];
    int trailing_slash;         /* the path ended with '/': the target must be a dir */
};

static struct inode *root;
static uint64_t next_ino = 1;

/* ---- inodes ------------------------------------------------------------------------ */

/* Is ip a directory? */
static int is_dir(const struct inode *ip)
{
    return (ip->mode & HOS_S_IFMT) == HOS_S_IFDIR;
}

/* Is ip a regular file? */
static int is_reg(const struct inode *ip)
{
    return (ip->mode & HOS_S_IFMT) == HOS_S_IFREG;
}

/* A new unlinked, unreferenced inode of the given mode; NULL when out of memory. */
static struct inode *inode_alloc(uint32_t mode)
{
    struct inode *ip = kmalloc(sizeof(*ip));
    if (!ip)
        return NULL;
    ip->ino = next_ino++;
    ip->mode = mode;
    ip->mtime_ns = ktime_ns();
    return ip;
}

/* Release an inode nobody references or names any more; the directory whose reference
 * it held as "..", for the caller to drop (NULL: none). Callers loop rather than
 * recurse: a chain of removed directories can be thousands deep. */
static struct inode *inode_free(struct inode *ip)
{
    struct inode *parent = is_dir(ip) && ip->parent != ip ? ip->parent : NULL;
    if (is_reg(ip))
        inode_truncate(ip);
    kfree(ip);
    return parent;
}

/* Take a reference on ip; returns ip. */
struct inode *inode_get(struct inode *ip)
{
    if (ip)
        ip->refs++;
    return ip;
}

/* Drop a reference; the inode is freed when unreferenced and unlinked. */
void inode_put(struct inode *ip)
{
    if (ip && ip->ops) {                      /* a mounted file system's: it decides */
        if (ip->refs > 0 && --ip->refs == 0)
            ip->ops->release(ip);
        return;
    }
    while (ip && ip->refs > 0 && --ip->refs == 0 && ip->links == 0)
        ip = inode_free(ip);
}

/* An empty root directory, created on the first call. */
void fs_init(void)
{
    if (root)
        return;
    root = inode_alloc(HOS_S_IFDIR | 0755);
    if (!root)
        return;
    root->links = 1;            /* never unlinked */
    root->parent = root;
}

/* The root directory (no reference taken). */
struct inode *fs_root(void)
{
    return root;
}

/* Fill st from ip. */
void inode_stat(const struct inode *ip, struct hos_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->ino = ip->ino;
    st->mode = ip->mode;
    if (ip->ops)
        st->nlink = ip->links;                /* the on-disk count */
    else
        st->nlink = is_dir(ip) ? ip->links + 1 + ip->nsubdirs : ip->links;
    st->size = is_reg(ip) || ip->ops ? ip->size : 0;   /* a disk's directories: bytes */
    st->mtime_ns = ip->mtime_ns;
}

/* ---- directories ------------------------------------------------------------------- */

/* Is the component name exactly what? */
static int name_is(const char *name, const char *what)
{
    size_t n = strlen(what);
    return strncmp(name, what, n + 1) == 0;
}

/* The entry of dp called name, or NULL. */
static struct dirent_node *dir_find(struct inode *dp, const char *name)
{
    for (struct dirent_node *e = dp->entries; e; e = e->next)
        if (name_is(e->name, name))
            return e;
    return NULL;
}

/* The directory ".." of dp names, referenced in *out: from a mounted root, the covered
 * directory's parent. */
static long dir_parent(struct inode *dp, struct inode **out)
{
    while (dp->covered)
        dp = dp->covered;
    if (dp->ops)
        return dp->ops->lookup(dp, "..", out);
    if (!dp->parent)
        return -HOS_ENOENT;
    *out = inode_get(dp->parent);
    return 0;
}

/* What is mounted on ip, if anything, in place of ip (ip's reference passes to it). */
static struct inode *cross_mounts(struct inode *ip)
{
    while (ip->mounted) {
        struct inode *m = inode_get(ip->mounted);
        inode_put(ip);
        ip = m;
    }
    return ip;
}

/* The inode name refers to in directory dp ("." and ".." included), referenced in *out,
 * mount points crossed: 0, -HOS_ENOENT, or a mounted file system's error. A removed
 * directory has no entries, not even "..". */
static long dir_lookup(struct inode *dp, const char *name, struct inode **out)
{
    struct inode *ip;
    long r = 0;
    if (name_is(name, ".")) {
        ip = inode_get(dp);
    } else if (dp->links == 0) {
        return -HOS_ENOENT;
    } else if (name_is(name, "..")) {
        r = dir_parent(dp, &ip);
    } else if (dp->ops) {
        r = dp->ops->lookup(dp, name, &ip);
    } else {
        struct dirent_node *e = dir_find(dp, name);
        if (!e)
            return -HOS_ENOENT;
        ip = inode_get(e->ip);
    }
    if (r < 0)
        return r;
    *out = cross_mounts(ip);
    return 0;
}

/* The name under which directory dp holds ip into name (HOS_NAME_MAX + 1 bytes). */
static long dir_name_of(struct inode *dp, const struct inode *ip, char *name)
{
    if (dp->ops)
        return dp->ops->name_of(dp, ip, name);
    for (struct dirent_node *e = dp->entries; e; e = e->next) {
        if (e->ip == ip || (ip->covered && e->ip == ip->covered)) {
            memcpy(name, e->name, e->name_len + 1);
            return 0;
        }
    }
    return -HOS_ENOENT;
}

/* Link the fresh inode ip into dp as name: 0 or -HOS_ENOMEM (ip untouched then). */
static long dir_link(struct inode *dp, const char *name, struct inode *ip)
{
    struct dirent_node *e = kmalloc(sizeof(*e));
    if (!e)
        return -HOS_ENOMEM;
    e->ip = ip;
    e->name_len = (uint32_t)strlen(name);
    memcpy(e->name, name, e->name_len + 1);
    struct dirent_node **tail = &dp->entries;
    while (*tail)
        tail = &(*tail)->next;
    *tail = e;
    dp->nentries++;
    ip->links = 1;
    if (is_dir(ip)) {
        ip->parent = inode_get(dp);
        dp->nsubdirs++;
    }
    dp->mtime_ns = ktime_ns();
    return 0;
}

/* The entry of directory dp at cookie *pos ("." and ".." first, then the ramfs's entry
 * number or the mounted file system's cookie), *pos moved past it: 1, or 0 past the end. */
long dir_read(struct inode *dp, uint64_t *pos, struct hos_dirent *d)
{
    if (!is_dir(dp))
        return -HOS_ENOTDIR;
    if (*pos >= 2 && dp->ops)
        return dp->ops->readdir(dp, pos, d);
    const char *name;
    struct inode *ip, *held = NULL;
    if (*pos == 0) {
        name = ".", ip = dp;
    } else if (*pos == 1) {
        name = "..", ip = dp->parent ? dp->parent : dp;
        if ((dp->ops || dp->covered) && dp->links && dir_parent(dp, &held) == 0)
            ip = held;
    } else {
        struct dirent_node *e = dp->entries;
        for (uint64_t i = 2; e && i < *pos; i++)
            e = e->next;
        if (!e)
            return 0;
        name = e->name, ip = e->ip;
    }
    memset(d, 0, sizeof(*d));
    d->ino = ip->ino;
    d->mode = ip->mode & HOS_S_IFMT;
    d->name_len = (uint32_t)strlen(name);
    memcpy(d->name, name, d->name_len + 1);
    inode_put(held);
    (*pos)++;
    return 1;
}

/* ---- paths ------------------------------------------------------------------------- */

const char *path_next(const char **p, size_t *len)
{
    const char *start = *p, *end;
    while (*start == '/')
        start++;
    if (!*start)
        return NULL;
    for (end = start; *end && *end != '/'; end++)
        ;
    *p = end;
    *len = (size_t)(end - start);
    return start;
}

/* Resolve all but the last component of path (absolute, or from cwd; NULL = root): the
 * directory holding it, referenced, in w->dir. */
static long walk_parent(struct inode *cwd, const char *path, struct walk *w)
{
    if (!root)
        return -HOS_EIO;
    if (!path)
        return -HOS_EFAULT;
    size_t len = 0;
    while (len < HOS_PATH_MAX && path[len])
        len++;
    if (len == HOS_PATH_MAX)
        return -HOS_ENAMETOOLONG;
    if (len == 0)
        return -HOS_ENOENT;
    struct inode *dp = (path[0] == '/' || !cwd) ? root : cwd;
    if (!is_dir(dp))
        return -HOS_ENOTDIR;
    dp = inode_get(dp);
    w->trailing_slash = path[len - 1] == '/';
    memcpy(w->name, ".", 2);                  /* "/" alone names the start directory */
    const char *p = path, *start;
    size_t n;
    while ((start = path_next(&p, &n))) {
        if (n > HOS_NAME_MAX) {
            inode_put(dp);
            return -HOS_ENAMETOOLONG;
        }
        memcpy(w->name, start, n);
        w->name[n] = 0;
        const char *rest = p;
        size_t rest_len;
        if (!path_next(&rest, &rest_len))
            break;                            /* the last component */
        struct inode *next;
        long r = dir_lookup(dp, w->name, &next);
        inode_put(dp);
        if (r < 0)
            return r;
        if (!is_dir(next)) {
            inode_put(next);
            return -HOS_ENOTDIR;
        }
        dp = next;
    }
    w->dir = dp;
    return 0;
}

/* Resolve path (absolute, or relative to cwd; NULL cwd = root) to a referenced inode. */
long fs_lookup(struct inode *cwd, const char *path, struct inode **out)
{
    struct walk w;
    long r = walk_parent(cwd, path, &w);
    if (r < 0)
        return r;
    struct inode *ip;
    r = dir_lookup(w.dir, w.name, &ip);
    inode_put(w.dir);
    if (r < 0)
        return r;
    if (w.trailing_slash && !is_dir(ip)) {
        inode_put(ip);
        return -HOS_ENOTDIR;
    }
    *out = ip;
    return 0;
}

/* Check that w names nothing yet and may get a new entry there (a mounted file system
 * checks its own entries when it creates). */
static long check_new_name(const struct walk *w)
{
    if (name_is(w->name, ".") || name_is(w->name, ".."))
        return -HOS_EEXIST;
    if (w->dir->links == 0)
        return -HOS_ENOENT;
    if (!w->dir->ops && dir_find(w->dir, w->name))
        return -HOS_EEXIST;
    return 0;
}

/* Create a ramfs inode of mode as name in dp: 0 or a negative error, nothing left. */
static long ramfs_create(struct inode *dp, const char *name, uint32_t mode, unsigned dev,
                         struct inode **out)
{
    struct inode *ip = inode_alloc(mode);
    if (!ip)
        return -HOS_ENOMEM;
    ip->dev = dev;
    long r = dir_link(dp, name, ip);
    if (r < 0) {
        kfree(ip);
        return r;
    }
    if (out)
        *out = inode_get(ip);
    return 0;
}

/* Create an inode of mode at path: 0 or a negative error, nothing left behind. */
static long create_at(struct inode *cwd, const char *path, uint32_t mode, unsigned dev,
                      struct inode **out)
{
    struct walk w;
    long r = walk_parent(cwd, path, &w);
    if (r < 0)
        return r;
    if ((r = check_new_name(&w)) == 0 && w.trailing_slash &&
        (mode & HOS_S_IFMT) != HOS_S_IFDIR)
        r = -HOS_EISDIR;
    if (r == 0 && w.dir->ops) {
        struct inode *ip;
        if ((r = w.dir->ops->create(w.dir, w.name, mode, &ip)) == 0) {
            if (out)
                *out = ip;
            else
                inode_put(ip);
        }
    } else if (r == 0) {
        r = ramfs_create(w.dir, w.name, mode, dev, out);
    }
    inode_put(w.dir);
    return r;
}

/* Create directory path with permission bits mode. */
long fs_mkdir(struct inode *cwd, const char *path, unsigned mode)
{
    return create_at(cwd, path, HOS_S_IFDIR | (mode & 07777), 0, NULL);
}

/* Create a device inode (HOS_S_IFCHR) naming device dev (FS_DEV_*). */
long fs_mknod(struct inode *cwd, const char *path, unsigned mode, unsigned dev)
{
    return create_at(cwd, path, HOS_S_IFCHR | (mode & 07777), dev, NULL);
}

/* Look up path for open, creating a regular file under HOS_O_CREAT: a referenced inode. */
long fs_open_inode(struct inode *cwd, const char *path, int flags, unsigned mode,
                   struct inode **out)
{
    if (flags & HOS_O_CREAT) {
        long r = create_at(cwd, path, HOS_S_IFREG | (mode & 07777), 0, out);
        if (r != -HOS_EEXIST || (flags & HOS_O_EXCL))
            return r;
    }
    return fs_lookup(cwd, path, out);
}

/* Why "." or ".." of dp cannot be removed. */
static long unlink_dot_error(struct inode *dp, const char *name)
{
    struct inode *target;
    if (dir_lookup(dp, name, &target) == 0) {
        int busy = target == root || target->covered;
        inode_put(target);
        if (busy)
            return -HOS_EBUSY;
    }
    return name_is(name, ".") ? -HOS_EINVAL : -HOS_ENOTEMPTY;
}

/* Remove the ramfs entry name of dp (want_dir: it must be a directory). */
static long ramfs_unlink(struct inode *dp, const char *name, int want_dir)
{
    struct dirent_node **pe = &dp->entries;
    while (*pe && !name_is((*pe)->name, name))
        pe = &(*pe)->next;
    struct dirent_node *e = *pe;
    if (!e)
        return -HOS_ENOENT;
    struct inode *ip = e->ip;
    if (want_dir && !is_dir(ip))
        return -HOS_ENOTDIR;
    if (ip->mounted)
        return -HOS_EBUSY;
    if (is_dir(ip)) {
        if (ip->nentries)
            return -HOS_ENOTEMPTY;
        dp->nsubdirs--;
    }
    *pe = e->next;
    kfree(e);
    dp->nentries--;
    dp->mtime_ns = ktime_ns();
    ip->links = 0;
    if (ip->refs == 0)
        inode_put(inode_free(ip));
    return 0;
}

/* Remove a file, device or empty directory. */
long fs_unlink(struct inode *cwd, const char *path)
{
    struct walk w;
    long r = walk_parent(cwd, path, &w);
    if (r < 0)
        return r;
    if (name_is(w.name, ".") || name_is(w.name, ".."))
        r = unlink_dot_error(w.dir, w.name);
    else if (w.dir->ops)
        r = w.dir->ops->unlink(w.dir, w.name, w.trailing_slash);
    else
        r = ramfs_unlink(w.dir, w.name, w.trailing_slash);
    inode_put(w.dir);
    return r;
}

/* Status of the inode at path. */
long fs_stat(struct inode *cwd, const char *path, struct hos_stat *st)
{
    struct inode *ip;
    long r = fs_lookup(cwd, path, &ip);
    if (r < 0)
        return r;
    inode_stat(ip, st);
    inode_put(ip);
    return 0;
}

/* The directory at path, referenced, in *newcwd (the caller puts the old cwd). */
long fs_chdir(struct inode *cwd, const char *path, struct inode **newcwd)
{
    struct inode *ip;
    long r = fs_lookup(cwd, path, &ip);
    if (r < 0)
        return r;
    if (!is_dir(ip)) {
        inode_put(ip);
        return -HOS_ENOTDIR;
    }
    *newcwd = ip;
    return 0;
}

/* Prepend "/name" to the path being built backwards in tmp from *pos. */
static long path_prepend(char *tmp, size_t *pos, const char *name)
{
    size_t n = strlen(name);
    if (n + 1 > *pos)
        return -HOS_ENAMETOOLONG;
    *pos -= n;
    memcpy(tmp + *pos, name, n);
    tmp[--*pos] = '/';
    return 0;
}

/* The absolute path of cwd into buf: its length without the NUL. */
long fs_getcwd(struct inode *cwd, char *buf, size_t size)
{
    if (!root)
        return -HOS_EIO;
    char tmp[HOS_PATH_MAX], name[HOS_NAME_MAX + 1];
    size_t pos = sizeof(tmp);
    tmp[--pos] = 0;
    long r = 0;
    struct inode *ip = inode_get(cwd ? cwd : root);
    while (r == 0 && ip != root) {
        if (ip->covered) {                    /* a mounted root: go on from the mount point */
            struct inode *covered = inode_get(ip->covered);
            inode_put(ip);
            ip = covered;
            continue;
        }
        struct inode *parent;
        if (!is_dir(ip) || ip->links == 0 || (r = dir_parent(ip, &parent)) < 0) {
            r = r ? r : -HOS_ENOENT;
            break;
        }
        if ((r = dir_name_of(parent, ip, name)) == 0)
            r = path_prepend(tmp, &pos, name);
        inode_put(ip);
        ip = parent;
    }
    inode_put(ip);
    if (r < 0)
        return r;
    if (pos == sizeof(tmp) - 1)
        tmp[--pos] = '/';
    size_t len = sizeof(tmp) - 1 - pos;
    if (!buf || len + 1 > size)
        return -HOS_ERANGE;
    memcpy(buf, tmp + pos, len + 1);
    return (long)len;
}

/* ---- mount points ------------------------------------------------------------------ */

/* Attach the referenced root mroot over the ramfs directory at path (created if
 * missing): 0, or an error (the caller keeps its reference then). */
long fs_attach(const char *path, struct inode *mroot)
{
    long r = fs_mkdir(NULL, path, 0755);
    if (r < 0 && r != -HOS_EEXIST)
        return r;
    struct inode *dp;
    if ((r = fs_lookup(NULL, path, &dp)) < 0)
        return r;
    if (!is_dir(dp))
        r = -HOS_ENOTDIR;
    else if (dp->ops || dp == root || dp->covered)
        r = -HOS_EBUSY;                       /* only ramfs directories are mount points */
    if (r < 0) {
        inode_put(dp);
        return r;
    }
    dp->mounted = mroot;                      /* the caller's reference on mroot */
    mroot->covered = dp;                      /* fs_lookup's reference on dp */
    return 0;
}

/* Detach what is mounted at path: its root's reference (the mount's) in *mroot. */
long fs_detach(const char *path, struct inode **mroot)
{
    struct inode *ip;
    long r = fs_lookup(NULL, path, &ip);
    if (r < 0)
        return r;
    struct inode *dp = ip->covered;
    if (!dp) {
        inode_put(ip);
        return -HOS_EINVAL;
    }
    dp->mounted = NULL;
    ip->covered = NULL;
    inode_put(ip);                            /* fs_lookup's; the mount's goes to *mroot */
    *mroot = ip;
    inode_put(dp);
    return 0;
}
