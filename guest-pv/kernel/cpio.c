/*
 * guest-pv/kernel/cpio.c: load a cpio "newc" archive (the initrd) into the ramfs.
 *
 * An entry is a 110-byte ASCII header (magic "070701" or "070702", then 13 fields of 8
 * hex digits), the NUL-terminated name, padding to a multiple of 4, the data, padding
 * to a multiple of 4. The entry named "TRAILER!!!" ends the archive. Directories and
 * regular files are created (with missing parents); other types are skipped.
 *
 * The archive is hostile: every field is checked against the bytes that are really
 * there before it is used, and any fault stops the load with -HOS_EINVAL. Entries
 * loaded before the fault stay.
 */
#include "fs.h"

#include "klib.h"

#define NEWC_HEADER 110
#define NEWC_FIELDS 13

/* Field numbers in the header, after the magic. */
enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_DEVMAJOR, F_DEVMINOR,
       F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE, F_CHECK };

/* x rounded up to a multiple of 4. */
static size_t align4(size_t x)
{
    return (x + 3) & ~(size_t)3;
}

/* Parse 8 hex digits at s into *out: 0, or -HOS_EINVAL for anything else. */
static long parse_hex8(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return -HOS_EINVAL;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Check the magic and parse the fields of the header at h (NEWC_HEADER bytes). */
static long parse_header(const char *h, uint32_t f[NEWC_FIELDS])
{
    if (strncmp(h, "07070", 5) != 0 || (h[5] != '1' && h[5] != '2'))
        return -HOS_EINVAL;
    for (int i = 0; i < NEWC_FIELDS; i++)
        if (parse_hex8(h + 6 + 8 * i, &f[i]) < 0)
            return -HOS_EINVAL;
    return 0;
}

/* Turn an archive name into a root-relative path in out (HOS_PATH_MAX bytes): leading
 * "/", "./" and empty components dropped; ".." or an over-long component refused. An
 * empty result names the root itself. */
static long clean_name(const char *name, char *out)
{
    size_t o = 0, n;
    const char *p = name, *start;
    while ((start = path_next(&p, &n))) {
        if (n == 1 && start[0] == '.')
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.')
            return -HOS_EINVAL;
        if (n > HOS_NAME_MAX || o + n + 2 > HOS_PATH_MAX)
            return -HOS_EINVAL;
        if (o)
            out[o++] = '/';
        memcpy(out + o, start, n);
        o += n;
    }
    out[o] = 0;
    return 0;
}

/* Create every missing directory above the last component of path. */
static long make_parents(const char *path)
{
    char prefix[HOS_PATH_MAX];
    for (size_t i = 0; path[i]; i++) {
        if (path[i] != '/')
            continue;
        memcpy(prefix, path, i);
        prefix[i] = 0;
        long r = fs_mkdir(fs_root(), prefix, 0755);
        if (r < 0 && r != -HOS_EEXIST)
            return r;
    }
    return 0;
}

/* Create directory path (an existing directory is fine). */
static long load_dir(const char *path, unsigned mode)
{
    long r = fs_mkdir(fs_root(), path, mode);
    if (r == -HOS_EEXIST) {
        struct hos_stat st;
        r = fs_stat(fs_root(), path, &st);
        if (r == 0 && (st.mode & HOS_S_IFMT) != HOS_S_IFDIR)
            r = -HOS_EEXIST;
    }
    return r;
}

/* Create (or replace the contents of) regular file path with len bytes of data. A file
 * that cannot be written completely is removed again. */
static long load_file(const char *path, unsigned mode, const char *data, size_t len)
{
    struct file *f;
    long r = fs_open(fs_root(), path, HOS_O_WRONLY | HOS_O_CREAT | HOS_O_TRUNC, mode, &f);
    if (r < 0)
        return r;
    size_t done = 0;
    while (done < len) {
        r = file_write(f, data + done, len - done);
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    file_close(f);
    if (done < len) {
        fs_unlink(fs_root(), path);
        return r < 0 ? r : -HOS_ENOMEM;
    }
    return 0;
}

/* Populate the file system from a cpio "newc" archive: entries loaded, or a negative
 * error (-HOS_EINVAL for a malformed archive; entries before the fault stay). */
long fs_load_cpio(const void *buf, size_t len)
{
    const char *a = buf;
    size_t pos = 0;
    long loaded = 0;
    if (!a)
        return -HOS_EINVAL;
    for (;;) {
        uint32_t f[NEWC_FIELDS];
        if (len - pos < NEWC_HEADER || parse_header(a + pos, f) < 0)
            return -HOS_EINVAL;
        size_t namesize = f[F_NAMESIZE];
        size_t name_at = pos + NEWC_HEADER;
        if (namesize == 0 || namesize > HOS_PATH_MAX || namesize > len - name_at)
            return -HOS_EINVAL;
        const char *name = a + name_at;
        if (name[namesize - 1] != 0 || strlen(name) != namesize - 1)
            return -HOS_EINVAL;
        if (strncmp(name, "TRAILER!!!", namesize) == 0)
            return loaded;
        size_t data_at = align4(name_at + namesize);
        size_t filesize = f[F_FILESIZE];
        if (data_at > len || filesize > len - data_at)
            return -HOS_EINVAL;
        char path[HOS_PATH_MAX];
        if (clean_name(name, path) < 0)
            return -HOS_EINVAL;
        unsigned type = f[F_MODE] & HOS_S_IFMT, perm = f[F_MODE] & 07777;
        long r = 0;
        if (path[0] && (type == HOS_S_IFDIR || type == HOS_S_IFREG)) {
            r = make_parents(path);
            if (r == 0 && type == HOS_S_IFDIR)
                r = load_dir(path, perm);
            else if (r == 0)
                r = load_file(path, perm, a + data_at, filesize);
            if (r < 0)
                return r;
            loaded++;
        }
        pos = align4(data_at + filesize);
        if (pos > len)
            return -HOS_EINVAL;
    }
}
