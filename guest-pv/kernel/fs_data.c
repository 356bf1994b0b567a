/*
 * guest-pv/kernel/fs_data.c: the data of the ramfs's regular files, and the dispatch of
 * file data operations to mounted file systems (inodes with ops).
 *
 * A regular file's data lives in 4 KiB pages straight from pfn_alloc(): inode->index[]
 * holds up to FS_INDEX_SLOTS index pages, each an array of FS_PAGE_PTRS data pfns
 * (0 = a hole, read as zeros).
 */
#include "fs.h"

#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "uvm.h"

static uint64_t file_pages;

/* Is ip a regular file? */
static int is_reg(const struct inode *ip)
{
    return (ip->mode & HOS_S_IFMT) == HOS_S_IFREG;
}

/* Pages holding file data and the index pages that map it. */
uint64_t fs_file_pages(void)
{
    return file_pages;
}

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
    if (ip->ops)
        return ip->ops->read(ip, off, buf, n);
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
    if (ip->ops)
        return ip->ops->write(ip, off, buf, n);
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

/* Drop all data of a regular file (size 0): 0, or a mounted file system's error. */
long inode_truncate(struct inode *ip)
{
    if (ip->ops)
        return ip->ops->truncate(ip);
    if (!is_reg(ip))
        return 0;
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
    return 0;
}
