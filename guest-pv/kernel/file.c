/*
 * guest-pv/kernel/file.c: open-file descriptions. A struct file is what a file descriptor
 * points to; dup() and fork() share one (refcounted), so they share its offset. The
 * type says what is behind it: an inode of the ramfs, one end of a pipe, or the tty.
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

/* A new description of type t with one reference; NULL when out of memory. */
struct file *file_alloc(enum file_type t, int flags)
{
    struct file *f = kmalloc(sizeof(*f));
    if (!f)
        return NULL;
    f->type = t;
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
    struct file *f = file_alloc(FILE_INODE, flags & (HOS_O_ACCMODE | HOS_O_APPEND));
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
    else if (type == HOS_S_IFCHR && ip->dev != FS_DEV_CONSOLE)
        r = -HOS_EIO;
    if (r < 0) {
        inode_put(ip);
        kfree(f);
        return r;
    }
    if (type == HOS_S_IFCHR) {              /* the console: a tty description */
        inode_put(ip);
        f->type = FILE_TTY;
    } else {
        f->inode = ip;
        if ((flags & HOS_O_TRUNC) && type == HOS_S_IFREG && acc != HOS_O_RDONLY)
            inode_truncate(ip);
    }
    *out = f;
    return 0;
}

/* Read up to n bytes: bytes read, 0 at end of file, -HOS_EAGAIN when it would block. */
long file_read(struct file *f, void *buf, size_t n)
{
    if (!f || !can_read(f))
        return -HOS_EBADF;
    switch (f->type) {
    case FILE_INODE: {                      /* a directory: inode_read says EISDIR */
        long r = inode_read(f->inode, f->offset, buf, n);
        if (r > 0)
            f->offset += (uint64_t)r;
        return r;
    }
    case FILE_PIPE_READ:
        return pipe_read(f->pipe, buf, n);
    case FILE_TTY:
        return tty_read(buf, n);
    default:
        return -HOS_EBADF;
    }
}

/* Write n bytes: bytes written (pipes: maybe fewer), or a negative error. */
long file_write(struct file *f, const void *buf, size_t n)
{
    if (!f || !can_write(f))
        return -HOS_EBADF;
    switch (f->type) {
    case FILE_INODE: {                      /* regular: directories open read-only */
        if (f->flags & HOS_O_APPEND)
            f->offset = f->inode->size;
        long r = inode_write(f->inode, f->offset, buf, n);
        if (r > 0)
            f->offset += (uint64_t)r;
        return r;
    }
    case FILE_PIPE_WRITE:
        return pipe_write(f->pipe, buf, n);
    case FILE_TTY:
        return tty_write(buf, n);
    default:
        return -HOS_EBADF;
    }
}

/* Move the offset (HOS_SEEK_*): the new offset; -HOS_ESPIPE for pipes and the tty. */
long file_lseek(struct file *f, int64_t off, int whence)
{
    if (!f)
        return -HOS_EBADF;
    if (f->type != FILE_INODE)
        return -HOS_ESPIPE;
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

/* Status of what f refers to (pipes and the tty get a type and nothing else). */
long file_fstat(struct file *f, struct hos_stat *st)
{
    if (!f || !st)
        return -HOS_EBADF;
    if (f->type == FILE_INODE) {
        inode_stat(f->inode, st);
        return 0;
    }
    memset(st, 0, sizeof(*st));
    st->nlink = 1;
    st->mode = f->type == FILE_TTY ? (HOS_S_IFCHR | 0620) : (HOS_S_IFIFO | 0600);
    return 0;
}

/* The next entry of a directory: 1, 0 at the end, -HOS_ENOTDIR. */
long file_readdir(struct file *f, struct hos_dirent *d)
{
    if (!f || !d)
        return -HOS_EBADF;
    if (f->type != FILE_INODE || inode_type(f->inode) != HOS_S_IFDIR)
        return -HOS_ENOTDIR;
    long r = dir_entry_at(f->inode, f->offset, d);
    if (r > 0)
        f->offset++;
    return r;
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
    switch (f->type) {
    case FILE_INODE:
        inode_put(f->inode);
        break;
    case FILE_PIPE_READ:
    case FILE_PIPE_WRITE:
        pipe_close_end(f->pipe, f->type == FILE_PIPE_WRITE);
        break;
    default:
        break;
    }
    kfree(f);
}

/* What to sleep on after -HOS_EAGAIN from f. */
const void *file_wait_chan(const struct file *f)
{
    if (f && (f->type == FILE_PIPE_READ || f->type == FILE_PIPE_WRITE))
        return f->pipe;
    if (f && f->type == FILE_TTY)
        return tty_wait_chan();
    return f;
}
