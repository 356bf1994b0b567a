/*
 * guest-pv/kernel/fs.h: the guest kernel's file layer: an in-memory file system (fs.c), open
 * files (file.c), pipes (pipe.c), the console tty (tty.c) and the initrd loader (cpio.c).
 *
 * Conventions: every function returns 0 / a count, or a negative HOS_E* code; paths and
 * buffers are kernel memory (the system-call layer copies from and to user space), but
 * their contents are untrusted. Operations never block: -HOS_EAGAIN means "sleep on
 * file_wait_chan(f) and retry" (see kern.h). The kernel is single-threaded (events are
 * masked while it runs), so there is no locking; tty_input() may be called from an
 * event handler between any two system calls.
 */
#ifndef GUEST_FS_H
#define GUEST_FS_H

#include <stddef.h>
#include <stdint.h>

#include "user/hos.h"

/* ---- inodes (fs.c) --------------------------------------------------------------- */
#define FS_INDEX_SLOTS 32                      /* index pages per file */
#define FS_PAGE_PTRS   512                     /* pfns per index page */
/* Largest file: 32 index pages x 512 data pages x 4 KiB = 64 MiB. */
#define FS_FILE_MAX    ((uint64_t)FS_INDEX_SLOTS * FS_PAGE_PTRS * 4096)

/* Device numbers of HOS_S_IFCHR inodes. */
#define FS_DEV_CONSOLE 1
#define FS_DEV_DISK    2                       /* /dev/xvda (diskdev.c) */

struct dirent_node;
struct inode_ops;
struct blkdev;

/* Fields are private to the file layer; other code treats struct inode as opaque. */
struct inode {
    uint64_t ino;
    uint32_t mode;              /* HOS_S_IF* | permission bits */
    uint32_t links;             /* directory entries naming it (0 = unlinked) */
    uint32_t refs;              /* in-memory references: open files, cwds, callers */
    uint32_t dev;               /* HOS_S_IFCHR: FS_DEV_* */
    uint64_t size;              /* regular files: bytes */
    uint64_t mtime_ns;
    struct inode *parent;       /* directories: "..", counted in parent->refs */
    struct dirent_node *entries;/* directories: entries in creation order */
    uint32_t nentries, nsubdirs;
    uint64_t index[FS_INDEX_SLOTS]; /* regular files: pfns of index pages (0 = hole) */
    /* Mounted file systems (ext2 at /disk): */
    const struct inode_ops *ops;/* NULL: a ramfs inode; else the mounted file system's */
    struct inode *mounted;      /* a ramfs directory: the root mounted on it (referenced) */
    struct inode *covered;      /* a mounted root: the directory it covers (referenced) */
};

/* What the inodes of a mounted file system do (ext2_vfs.c); fs.c calls them for inodes
 * whose ops are set, and handles ".", mount points and ".." of a mounted root itself.
 * Names are single components (".." included, meaning the on-disk parent). Each
 * returns 0 / a count or a negative HOS_E* code, like the fs_* functions. */
struct inode_ops {
    /* The entry name of directory dp, referenced, in *out (-HOS_ENOENT: none). */
    long (*lookup)(struct inode *dp, const char *name, struct inode **out);
    /* A new entry name in dp, of mode (HOS_S_IFREG or HOS_S_IFDIR | permissions),
     * referenced in *out; -HOS_EEXIST when name exists. */
    long (*create)(struct inode *dp, const char *name, uint32_t mode, struct inode **out);
    /* Remove the file or empty directory name (want_dir: it must be a directory). */
    long (*unlink)(struct inode *dp, const char *name, int want_dir);
    long (*read)(struct inode *ip, uint64_t off, void *buf, size_t n);
    long (*write)(struct inode *ip, uint64_t off, const void *buf, size_t n);
    /* Drop all data of a regular file (other kinds: nothing). */
    long (*truncate)(struct inode *ip);
    /* The entry of dp at or after cookie *pos (>= 2; "." and ".." are fs.c's), *pos
     * moved past it: 1, 0 at the end. */
    long (*readdir)(struct inode *dp, uint64_t *pos, struct hos_dirent *d);
    /* The name (NUL-terminated, at most HOS_NAME_MAX) under which dp holds ip. */
    long (*name_of)(struct inode *dp, const struct inode *ip, char *name);
    /* The last reference to ip went: write it back (free it if unlinked) and free it. */
    void (*release)(struct inode *ip);
};

/* An empty root directory (call once at boot; tests may call it again after cleanup). */
void fs_init(void);
/* The root directory (no reference taken). */
struct inode *fs_root(void);
/* Take a reference on ip; returns ip. */
struct inode *inode_get(struct inode *ip);
/* Drop a reference; the inode is freed when unreferenced and unlinked. */
void inode_put(struct inode *ip);

/* Resolve path (absolute, or relative to cwd; NULL cwd = root) to a referenced inode. */
long fs_lookup(struct inode *cwd, const char *path, struct inode **out);
long fs_mkdir(struct inode *cwd, const char *path, unsigned mode);
/* Create a device inode (HOS_S_IFCHR) naming device dev (FS_DEV_*). */
long fs_mknod(struct inode *cwd, const char *path, unsigned mode, unsigned dev);
/* Remove a file, device or empty directory. */
long fs_unlink(struct inode *cwd, const char *path);
long fs_stat(struct inode *cwd, const char *path, struct hos_stat *st);
/* The directory at path, referenced, in *newcwd (the caller puts the old cwd). */
long fs_chdir(struct inode *cwd, const char *path, struct inode **newcwd);
/* The absolute path of cwd into buf; its length without the NUL, -HOS_ERANGE if too
 * small, -HOS_ENOENT when cwd was removed. */
long fs_getcwd(struct inode *cwd, char *buf, size_t size);
/* Pages holding file data and the index pages that map it. */
uint64_t fs_file_pages(void);
/* Mount the ext2 file system on d at the ramfs directory path (created if missing):
 * 0, -HOS_EINVAL (no usable ext2 there), -HOS_EIO, -HOS_EBUSY (path is in use as a
 * mount point or is the root), -HOS_ENOTDIR, -HOS_ENOMEM (ext2_vfs.c). */
long fs_mount_ext2(struct blkdev *d, const char *path);
/* Undo fs_mount_ext2 at path after writing everything back: 0, -HOS_EINVAL (nothing
 * mounted there), -HOS_EBUSY (its files are in use). */
long fs_umount(const char *path);
/* Write every mounted file system's changes back to its disk: 0 or the first error. */
long fs_sync(void);
/* Attach the referenced root mroot of a file system over the ramfs directory at path
 * (created if missing; the reference passes to the mount), or detach what is mounted
 * at path, its root's reference returned in *mroot (fs.c). */
long fs_attach(const char *path, struct inode *mroot);
long fs_detach(const char *path, struct inode **mroot);

/* Internal to the file layer (file.c, cpio.c): regular-file data and directories. */
long inode_read(struct inode *ip, uint64_t off, void *buf, size_t n);
long inode_write(struct inode *ip, uint64_t off, const void *buf, size_t n);
long inode_truncate(struct inode *ip);
void inode_stat(const struct inode *ip, struct hos_stat *st);
/* The entry of directory dp at cookie *pos ("." and ".." are 0 and 1), *pos moved past
 * it: 1, or 0 past the end. */
long dir_read(struct inode *dp, uint64_t *pos, struct hos_dirent *d);
/* The next component of the path at *p, slashes before it skipped: its start, its
 * length in *len, and *p moved just past it; NULL when no component is left. */
const char *path_next(const char **p, size_t *len);
/* Look up or create the last component of path for fs_open (see file.c). */
long fs_open_inode(struct inode *cwd, const char *path, int flags, unsigned mode,
                   struct inode **out);

/* ---- open files (file.c) --------------------------------------------------------- */
struct file;
struct pipe;

/* What one kind of open file does: inode files (file.c), pipe ends (pipe.c), the tty
 * (tty.c). A NULL entry is an operation the kind lacks; file.c answers it as noted. */
struct file_ops {
    long (*read)(struct file *f, void *buf, size_t n);          /* NULL: -HOS_EBADF */
    long (*write)(struct file *f, const void *buf, size_t n);   /* NULL: -HOS_EBADF */
    long (*lseek)(struct file *f, int64_t off, int whence);     /* NULL: -HOS_ESPIPE */
    void (*stat)(const struct file *f, struct hos_stat *st);    /* every kind has it */
    long (*readdir)(struct file *f, struct hos_dirent *d);      /* NULL: -HOS_ENOTDIR */
    void (*release)(struct file *f);        /* the last reference went; NULL: nothing */
    const void *(*wait_chan)(const struct file *f);  /* NULL: the description itself */
};

/* An open-file description, shared by the descriptors that dup/fork made of it. */
struct file {
    const struct file_ops *ops; /* the kind of file behind it */
    uint32_t refs;
    int flags;                  /* HOS_O_* given at open */
    uint64_t offset;            /* inode files: bytes, or the readdir position */
    struct inode *inode;        /* inode files */
    struct pipe *pipe;          /* pipe ends */
};

long fs_open(struct inode *cwd, const char *path, int flags, unsigned mode,
             struct file **out);
long file_read(struct file *f, void *buf, size_t n);
long file_write(struct file *f, const void *buf, size_t n);
long file_lseek(struct file *f, int64_t off, int whence);
long file_fstat(struct file *f, struct hos_stat *st);
long file_readdir(struct file *f, struct hos_dirent *d);
struct file *file_dup(struct file *f);
void file_close(struct file *f);
const void *file_wait_chan(const struct file *f);
/* A new description doing ops, with one reference; NULL when out of memory. */
struct file *file_alloc(const struct file_ops *ops, int flags);

/* ---- pipes (pipe.c) -------------------------------------------------------------- */
#define PIPE_SIZE 4096

long pipe_open(struct file **rd, struct file **wr);

/* ---- console tty (tty.c) --------------------------------------------------------- */
#define TTY_IN_SIZE   4096      /* completed input waiting for readers */
#define TTY_LINE_MAX  1024      /* the line being edited (cooked mode) */

/* Reset the line discipline: cooked, no foreground group, no input. */
void tty_init(void);
/* A new description of the console (all share one tty), O_RDWR; NULL when out of memory. */
struct file *tty_open(void);
/* Console bytes arrived (event context: never sleeps; buffers, echoes, wakes readers). */
void tty_input(const char *buf, size_t n);
/* Input bytes that fit now (a console driver takes no more than this). */
size_t tty_room(void);
void tty_set_fg(int pgid);
int tty_fg(void);
void tty_set_mode(int mode);
/* The console's operations (fs_open gives them to a /dev/console it opens). */
extern const struct file_ops tty_file_ops;
/* The disk's descriptions (diskdev.c). */
extern const struct file_ops disk_file_ops;
/* Provided by the kernel core: write bytes to the console. */
void tty_output(const char *buf, size_t n);
/* Provided by the kernel core: a reader took input, so the tty has room again; move in
 * (with tty_input) what the console holds back for lack of room. */
void tty_drained(void);

/* ---- initrd (cpio.c) ------------------------------------------------------------- */
/* Populate the file system from a cpio "newc" archive: entries loaded, or a negative
 * error (-HOS_EINVAL for a malformed archive; entries before the fault stay). */
long fs_load_cpio(const void *buf, size_t len);

#endif /* GUEST_FS_H */
