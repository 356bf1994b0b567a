/*
 * guest-pv/kernel/file.c: open-file descriptions. A struct file is what a file descriptor
 * points to; dup() and fork() share one (refcounted), so they share its offset. Its
 * ops say what is behind it: an inode of the ramfs or a mounted file system (here), one end of a pipe (pipe.c)
 * or the tty (tty.c); the file_* functions check what every kind shares and call them.
 */
#include "fs.h"

#include "kern.h"
#include "klib.h"

/* Was f opened for reading? */
static int can_read(const struct file *f)
{
    return (f->flags & HOS_O_ACCMODE) != HOS_O_WRONLY;
}

/* Was f opened for writing? */
static int can_write(const struct file *f)
{
    int acc = f->flags & HOS_O_ACCMODE;
    return acc == HOS_O_WRONLY || acc == HOS_O_RDWR;
}

/* HOS_S_IF* type of ip. */
static int inode_type(const struct inode *ip)
{
    return (int)(ip->mode & HOS_S_IFMT);
}

/* read for inode files: from the offset, moved past what was read (a directory:
 * inode_read says EISDIR). */
static long inode_file_read(struct file *f, void *buf, size_t n)
{
    long r = inode_read(f->inode, f->offset, buf, n);
    if (r > 0)
        f->offset += (uint64_t)r;
    return r;
}

/* write for inode files (regular: directories open read-only): at the offset, or at
 * the end with HOS_O_APPEND; the offset moves past what was written. */
static long inode_file_write(struct file *f, const void *buf, size_t n)
{
    if (f->flags & HOS_O_APPEND)
        f->offset = f->inode->size;
    long r = inode_write(f->inode, f->offset, buf, n);
    if (r > 0)
        f->offset += (uint64_t)r;
    return r;
}

/* lseek for inode files: the new offset, -HOS_EINVAL for a bad whence or a position
 * below 0 or past INT64_MAX. */
static long inode_file_lseek(struct file *f, int64_t off, int whence)
{
    int64_t base;
    switch (whence) {
    case HOS_SEEK_SET: base = 0; break;
    case HOS_SEEK_CUR: base = (int64_t)f->offset; break;
    case HOS_SEEK_END: base = (int64_t)f->inode->size; break;
    default: return -HOS_EINVAL;
    }
    int64_t pos;
    if (__builtin_add_overflow(base, off, &pos) || pos < 0)
        return -HOS_EINVAL;
    f->offset = (uint64_t)pos;
    return (long)pos;
}

/* stat for inode files: the inode's status. */
static void inode_file_stat(const struct file *f, struct hos_stat *st)
{
    inode_stat(f->inode, st);
}

/* readdir for inode files: the entry at the offset, which moves on; -HOS_ENOTDIR when
 * the inode is no directory. */
static long inode_file_readdir(struct file *f, struct hos_dirent *d)
{
    if (inode_type(f->inode) != HOS_S_IFDIR)
        return -HOS_ENOTDIR;
    return dir_read(f->inode, &f->offset, d);
}

/* release for inode files: drop the description's reference on the inode. */
static void inode_file_release(struct file *f)
{
    inode_put(f->inode);
}

/* Descriptions of ramfs inodes: regular files and directories. */
static const struct file_ops inode_file_ops = {
    .read = inode_file_read,
    .write = inode_file_write,
    .lseek = inode_file_lseek,
    .stat = inode_file_stat,
    .readdir = inode_file_readdir,
    .release = inode_file_release,
};

/* A new description doing ops, with one reference; NULL when out of memory. */
struct file *file_alloc(const struct file_ops *ops, int flags)
{
    struct file *f = kmalloc(sizeof(*f));
    if (!f)
        return NULL;
    f->ops = ops;
    f->refs = 1;
    f->flags = flags;
    return f;
}

/* Open path with HOS_O_* flags (mode for a created file): a new description in *out.
 * The description is allocated first, so running out of memory leaves nothing behind. */
long fs_open(struct inode *cwd, const char *path, int flags, unsigned mode,
             struct file **out)
{
    int acc = flags & HOS_O_ACCMODE;
    if (acc == HOS_O_ACCMODE || !out)
        return -HOS_EINVAL;
    if ((flags & HOS_O_CREAT) && (flags & HOS_O_DIRECTORY))
        return -HOS_EINVAL;                 /* open() makes no directories */
    struct file *f = file_alloc(&inode_file_ops, flags & (HOS_O_ACCMODE | HOS_O_APPEND));
    if (!f)
        return -HOS_ENOMEM;
    struct inode *ip;
    long r = fs_open_inode(cwd, path, flags, mode, &ip);
    if (r < 0) {
        kfree(f);
        return r;
    }
    int type = inode_type(ip);
    if ((flags & HOS_O_DIRECTORY) && type != HOS_S_IFDIR)
        r = -HOS_ENOTDIR;
    else if (type == HOS_S_IFDIR && (acc != HOS_O_RDONLY || (flags & HOS_O_TRUNC)))
        r = -HOS_EISDIR;
    else if (type == HOS_S_IFCHR && ip->dev != FS_DEV_CONSOLE && ip->dev != FS_DEV_DISK)
        r = -HOS_EIO;
    if (r < 0) {
        inode_put(ip);
        kfree(f);
        return r;
    }
    if (type == HOS_S_IFCHR) {              /* the console (a tty) or the disk */
        f->ops = ip->dev == FS_DEV_DISK ? &disk_file_ops : &tty_file_ops;
        inode_put(ip);
    } else {
        if ((flags & HOS_O_TRUNC) && type == HOS_S_IFREG && acc != HOS_O_RDONLY &&
            (r = inode_truncate(ip)) < 0) {
            inode_put(ip);
            kfree(f);
            return r;
        }
        f->inode = ip;
    }
    *out = f;
    return 0;
}

/* Read up to n bytes: bytes read, 0 at end of file, -HOS_EAGAIN when it would block. */
long file_read(struct file *f, void *buf, size_t n)
{
    if (!f || !can_read(f) || !f->ops->read)
        return -HOS_EBADF;
    return f->ops->read(f, buf, n);
}

/* Write n bytes: bytes written (pipes: maybe fewer), or a negative error. */
long file_write(struct file *f, const void *buf, size_t n)
{
    if (!f || !can_write(f) || !f->ops->write)
        return -HOS_EBADF;
    return f->ops->write(f, buf, n);
}

/* Move the offset (HOS_SEEK_*): the new offset; -HOS_ESPIPE for pipes and the tty. */
long file_lseek(struct file *f, int64_t off, int whence)
{
    if (!f)
        return -HOS_EBADF;
    if (!f->ops->lseek)
        return -HOS_ESPIPE;
    return f->ops->lseek(f, off, whence);
}

/* Status of what f refers to (pipes and the tty get a type and nothing else). */
long file_fstat(struct file *f, struct hos_stat *st)
{
    if (!f || !st)
        return -HOS_EBADF;
    f->ops->stat(f, st);
    return 0;
}

/* The next entry of a directory: 1, 0 at the end, -HOS_ENOTDIR. */
long file_readdir(struct file *f, struct hos_dirent *d)
{
    if (!f || !d)
        return -HOS_EBADF;
    if (!f->ops->readdir)
        return -HOS_ENOTDIR;
    return f->ops->readdir(f, d);
}

/* Another reference to f (dup, fork); returns f. */
struct file *file_dup(struct file *f)
{
    if (f)
        f->refs++;
    return f;
}

/* Drop a reference; the last one releases what the description holds. */
void file_close(struct file *f)
{
    if (!f || f->refs == 0 || --f->refs > 0)
        return;
    if (f->ops->release)
        f->ops->release(f);
    kfree(f);
}

/* What to sleep on after -HOS_EAGAIN from f. */
const void *file_wait_chan(const struct file *f)
{
    if (f && f->ops->wait_chan)
        return f->ops->wait_chan(f);
    return f;
}
