/*
 * guest-pv/kernel/fs.c: the in-memory file system (ramfs): inodes, directories, paths and the
 * page-mapped data of regular files.
 *
 * A regular file's data lives in 4 KiB pages straight from pfn_alloc(): inode->index[]
 * holds up to FS_INDEX_SLOTS index pages, each an array of FS_PAGE_PTRS data pfns
 * (0 = a hole, read as zeros). Directories keep their entries in a list in creation
 * order; ".." is the `parent` pointer, which holds a reference on the parent.
 *
 * Lifetime: `links` counts directory entries naming an inode (0 or 1: there are no hard
 * links), `refs` counts in-memory users (open files, cwds). An inode is freed when both
 * are 0, so an unlinked file stays readable through its open files until the last close.
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
    struct inode *dir;          /* not referenced: used before anything can free it */
    char name[HOS_NAME_MAX + 1];
    int trailing_slash;         /* the path ended with '/': the target must be a dir */
};

static struct inode *root;
static uint64_t next_ino = 1;
static uint64_t file_pages;

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

/* Pages holding file data and the index pages that map it. */
uint64_t fs_file_pages(void)
{
    return file_pages;
}

/* Fill st from ip. */
void inode_stat(const struct inode *ip, struct hos_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->ino = ip->ino;
    st->mode = ip->mode;
    st->nlink = is_dir(ip) ? ip->links + 1 + ip->nsubdirs : ip->links;
    st->size = is_reg(ip) ? ip->size : 0;
    st->mtime_ns = ip->mtime_ns;
}

/* ---- file data --------------------------------------------------------------------- */

/* A zeroed page for file data or an index, or 0: memory is exhausted, or only the pages
 * the kernel keeps for itself (USER_RESERVE_PAGES) are left. */
static uint64_t file_page_alloc(void)
{
    return pfn_free_count() > USER_RESERVE_PAGES ? pfn_alloc() : 0;
}

/* The slot holding the data pfn of page pg of ip; with alloc, create a missing index
 * page. NULL for a hole (or when out of memory with alloc). */
static uint64_t *data_slot(struct inode *ip, uint64_t pg, int alloc)
{
    uint64_t top = pg / FS_PAGE_PTRS;
    if (top >= FS_INDEX_SLOTS)
        return NULL;
    if (!ip->index[top]) {
        if (!alloc)
            return NULL;
        uint64_t pfn = file_page_alloc();
        if (!pfn)
            return NULL;
        file_pages++;
        ip->index[top] = pfn;
    }
    uint64_t *index = pfn_to_va(ip->index[top]);
    return &index[pg % FS_PAGE_PTRS];
}

/* Copy up to n bytes at off of a regular file into buf: bytes copied, 0 at the end. */
long inode_read(struct inode *ip, uint64_t off, void *buf, size_t n)
{
    if (!is_reg(ip))
        return -HOS_EISDIR;
    if (off >= ip->size)
        return 0;
    if (n > ip->size - off)
        n = ip->size - off;
    if (n > (1ul << 30))
        n = 1ul << 30;
    char *dst = buf;
    size_t done = 0;
    while (done < n) {
        uint64_t pos = off + done, in_page = pos % PAGE_SIZE;
        size_t chunk = PAGE_SIZE - in_page;
        if (chunk > n - done)
            chunk = n - done;
        uint64_t *slot = data_slot(ip, pos / PAGE_SIZE, 0);
        if (slot && *slot)
            memcpy(dst + done, (char *)pfn_to_va(*slot) + in_page, chunk);
        else
            memset(dst + done, 0, chunk);
        done += chunk;
    }
    return (long)done;
}

/* Copy n bytes from buf to off of a regular file, growing it: bytes written (short when
 * memory runs out after some), -HOS_ENOSPC when only the kernel's reserve is left,
 * -HOS_ENOMEM, -HOS_EFBIG past FS_FILE_MAX. */
long inode_write(struct inode *ip, uint64_t off, const void *buf, size_t n)
{
    if (!is_reg(ip))
        return -HOS_EISDIR;
    if (n == 0)
        return 0;
    if (off >= FS_FILE_MAX)
        return -HOS_EFBIG;
    if (n > FS_FILE_MAX - off)
        n = FS_FILE_MAX - off;
    const char *src = buf;
    size_t done = 0;
    while (done < n) {
        uint64_t pos = off + done, in_page = pos % PAGE_SIZE;
        size_t chunk = PAGE_SIZE - in_page;
        if (chunk > n - done)
            chunk = n - done;
        uint64_t *slot = data_slot(ip, pos / PAGE_SIZE, 1);
        if (slot && !*slot && (*slot = file_page_alloc()) != 0)
            file_pages++;
        if (!slot || !*slot)
            break;
        memcpy((char *)pfn_to_va(*slot) + in_page, src + done, chunk);
        done += chunk;
    }
    if (done == 0)
        return pfn_free_count() > USER_RESERVE_PAGES ? -HOS_ENOMEM : -HOS_ENOSPC;
    if (off + done > ip->size)
        ip->size = off + done;
    ip->mtime_ns = ktime_ns();
    return (long)done;
}

/* Drop all data of a regular file (size 0). */
void inode_truncate(struct inode *ip)
{
    if (!is_reg(ip))
        return;
    for (unsigned top = 0; top < FS_INDEX_SLOTS; top++) {
        if (!ip->index[top])
            continue;
        uint64_t *index = pfn_to_va(ip->index[top]);
        for (unsigned i = 0; i < FS_PAGE_PTRS; i++) {
            if (index[i]) {
                pfn_free(index[i]);
                file_pages--;
            }
        }
        pfn_free(ip->index[top]);
        file_pages--;
        ip->index[top] = 0;
    }
    ip->size = 0;
    ip->mtime_ns = ktime_ns();
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

/* The inode name refers to in directory dp ("." and ".." included), or NULL. A removed
 * directory has no entries, not even "..". */
static struct inode *dir_lookup(struct inode *dp, const char *name)
{
    if (name_is(name, "."))
        return dp;
    if (dp->links == 0)
        return NULL;
    if (name_is(name, ".."))
        return dp->parent;
    struct dirent_node *e = dir_find(dp, name);
    return e ? e->ip : NULL;
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

/* Entry number pos of directory dp ("." and ".." first): 1, or 0 past the end. */
long dir_entry_at(struct inode *dp, uint64_t pos, struct hos_dirent *d)
{
    if (!is_dir(dp))
        return -HOS_ENOTDIR;
    const char *name;
    struct inode *ip;
    struct dirent_node *e = NULL;
    if (pos == 0) {
        name = ".", ip = dp;
    } else if (pos == 1) {
        name = "..", ip = dp->parent ? dp->parent : dp;
    } else {
        e = dp->entries;
        for (uint64_t i = 2; e && i < pos; i++)
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

/* Resolve all but the last component of path (absolute, or from cwd; NULL = root). */
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
    w->trailing_slash = path[len - 1] == '/';
    memcpy(w->name, ".", 2);                  /* "/" alone names the start directory */
    const char *p = path, *start;
    size_t n;
    while ((start = path_next(&p, &n))) {
        if (n > HOS_NAME_MAX)
            return -HOS_ENAMETOOLONG;
        memcpy(w->name, start, n);
        w->name[n] = 0;
        const char *rest = p;
        size_t rest_len;
        if (!path_next(&rest, &rest_len))
            break;                            /* the last component */
        struct inode *next = dir_lookup(dp, w->name);
        if (!next)
            return -HOS_ENOENT;
        if (!is_dir(next))
            return -HOS_ENOTDIR;
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
    struct inode *ip = dir_lookup(w.dir, w.name);
    if (!ip)
        return -HOS_ENOENT;
    if (w.trailing_slash && !is_dir(ip))
        return -HOS_ENOTDIR;
    *out = inode_get(ip);
    return 0;
}

/* Check that w names nothing yet and may get a new entry there. */
static long check_new_name(const struct walk *w)
{
    if (name_is(w->name, ".") || name_is(w->name, ".."))
        return -HOS_EEXIST;
    if (w->dir->links == 0)
        return -HOS_ENOENT;
    if (dir_find(w->dir, w->name))
        return -HOS_EEXIST;
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
    if ((r = check_new_name(&w)) < 0)
        return r;
    if (w.trailing_slash && (mode & HOS_S_IFMT) != HOS_S_IFDIR)
        return -HOS_EISDIR;
    struct inode *ip = inode_alloc(mode);
    if (!ip)
        return -HOS_ENOMEM;
    ip->dev = dev;
    if ((r = dir_link(w.dir, w.name, ip)) < 0) {
        kfree(ip);
        return r;
    }
    if (out)
        *out = inode_get(ip);
    return 0;
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

/* Remove a file, device or empty directory. */
long fs_unlink(struct inode *cwd, const char *path)
{
    struct walk w;
    long r = walk_parent(cwd, path, &w);
    if (r < 0)
        return r;
    if (name_is(w.name, ".") || name_is(w.name, "..")) {
        struct inode *target = dir_lookup(w.dir, w.name);
        if (target == root)
            return -HOS_EBUSY;
        return name_is(w.name, ".") ? -HOS_EINVAL : -HOS_ENOTEMPTY;
    }
    struct inode *dp = w.dir;
    struct dirent_node **pe = &dp->entries;
    while (*pe && !name_is((*pe)->name, w.name))
        pe = &(*pe)->next;
    struct dirent_node *e = *pe;
    if (!e)
        return -HOS_ENOENT;
    struct inode *ip = e->ip;
    if (w.trailing_slash && !is_dir(ip))
        return -HOS_ENOTDIR;
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

/* The absolute path of cwd into buf: its length without the NUL. */
long fs_getcwd(struct inode *cwd, char *buf, size_t size)
{
    if (!root)
        return -HOS_EIO;
    char tmp[HOS_PATH_MAX];
    size_t pos = sizeof(tmp);
    tmp[--pos] = 0;
    for (struct inode *ip = cwd ? cwd : root; ip != root; ip = ip->parent) {
        if (!is_dir(ip) || ip->links == 0 || !ip->parent)
            return -HOS_ENOENT;
        struct dirent_node *e = ip->parent->entries;
        while (e && e->ip != ip)
            e = e->next;
        if (!e)
            return -HOS_ENOENT;
        if (e->name_len + 1 > pos)
            return -HOS_ENAMETOOLONG;
        pos -= e->name_len;
        memcpy(tmp + pos, e->name, e->name_len);
        tmp[--pos] = '/';
    }
    if (pos == sizeof(tmp) - 1)
        tmp[--pos] = '/';
    size_t len = sizeof(tmp) - 1 - pos;
    if (!buf || len + 1 > size)
        return -HOS_ERANGE;
    memcpy(buf, tmp + pos, len + 1);
    return (long)len;
}
