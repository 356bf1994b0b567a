/*
 * guest-pv/kernel/ext2.h: the ext2 file system (revisions 0 and 1) on a block device,
 * through the buffer cache (bcache.h). Internal to the file layer: fs.c sees mounted
 * inodes only through struct inode_ops (fs.h), which ext2_vfs.c provides.
 *
 *   ext2_super.c  mounting (superblock and group checks), the superblock at sync, and
 *                 the block and inode bitmaps (allocation, freeing, exact counts)
 *   ext2_inode.c  on-disk inodes, the block map (direct, 1-, 2-, 3-indirect), file data
 *   ext2_dir.c    directory entries: find, add, remove, iterate, the first block
 *   ext2_vfs.c    in-memory inodes (struct ext2_node), the inode_ops, mount and sync
 *
 * The image is untrusted: every block number, inode number and directory record read
 * from it is checked before use; a bad one gives -HOS_EIO (-HOS_EINVAL at mount).
 * Everything is little-endian, as x86 is, so structures are read in place.
 */
#ifndef GUEST_EXT2_H
#define GUEST_EXT2_H

#include <stddef.h>
#include <stdint.h>

#include "bcache.h"
#include "fs.h"

#define EXT2_MAGIC          0xEF53
#define EXT2_SUPER_OFFSET   1024u       /* bytes from the start of the device */
#define EXT2_ROOT_INO       2u
#define EXT2_GOOD_OLD_FIRST_INO   11u
#define EXT2_GOOD_OLD_INODE_SIZE  128u
#define EXT2_NDIR_BLOCKS    12u
#define EXT2_IND_BLOCK      12u
#define EXT2_DIND_BLOCK     13u
#define EXT2_TIND_BLOCK     14u
#define EXT2_N_BLOCKS       15u

/* Features this driver handles (see ext2_super.c for what each means here). */
#define EXT2_FEATURE_COMPAT_EXT_ATTR        0x0008
#define EXT2_FEATURE_INCOMPAT_FILETYPE      0x0002
#define EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT2_FEATURE_RO_COMPAT_LARGE_FILE   0x0002
#define EXT2_FEATURE_RO_COMPAT_BTREE_DIR    0x0004
#define EXT2_INCOMPAT_SUPPORTED  EXT2_FEATURE_INCOMPAT_FILETYPE
#define EXT2_RO_COMPAT_SUPPORTED (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | \
                                  EXT2_FEATURE_RO_COMPAT_LARGE_FILE | \
                                  EXT2_FEATURE_RO_COMPAT_BTREE_DIR)

#define EXT2_INDEX_FL       0x00001000u /* i_flags: a hashed (htree) directory */

/* Directory entry file types (the filetype feature). */
#define EXT2_FT_UNKNOWN 0
#define EXT2_FT_REG_FILE 1
#define EXT2_FT_DIR     2
#define EXT2_FT_CHRDEV  3
#define EXT2_FT_BLKDEV  4
#define EXT2_FT_FIFO    5
#define EXT2_FT_SOCK    6
#define EXT2_FT_SYMLINK 7

/* i_mode types (the same values as HOS_S_IF*). */
#define EXT2_S_IFMT   0170000u
#define EXT2_S_IFSOCK 0140000u
#define EXT2_S_IFLNK  0120000u
#define EXT2_S_IFREG  0100000u
#define EXT2_S_IFBLK  0060000u
#define EXT2_S_IFDIR  0040000u
#define EXT2_S_IFCHR  0020000u
#define EXT2_S_IFIFO  0010000u

/* The superblock: the fields this driver reads or writes, then the rest kept as is. */
struct ext2_super {
    uint32_t s_inodes_count, s_blocks_count, s_r_blocks_count;
    uint32_t s_free_blocks_count, s_free_inodes_count;
    uint32_t s_first_data_block, s_log_block_size, s_log_frag_size;
    uint32_t s_blocks_per_group, s_frags_per_group, s_inodes_per_group;
    uint32_t s_mtime, s_wtime;
    uint16_t s_mnt_count, s_max_mnt_count, s_magic, s_state, s_errors, s_minor_rev_level;
    uint32_t s_lastcheck, s_checkinterval, s_creator_os, s_rev_level;
    uint16_t s_def_resuid, s_def_resgid;
    uint32_t s_first_ino;               /* revision 1 from here on */
    uint16_t s_inode_size, s_block_group_nr;
    uint32_t s_feature_compat, s_feature_incompat, s_feature_ro_compat;
    uint8_t  s_rest1[348 - 104];
    uint16_t s_min_extra_isize, s_want_extra_isize;
    uint8_t  s_rest2[1024 - 352];
};
_Static_assert(sizeof(struct ext2_super) == 1024, "superblock layout");

/* A block group descriptor (32 bytes). */
struct ext2_group_desc {
    uint32_t bg_block_bitmap, bg_inode_bitmap, bg_inode_table;
    uint16_t bg_free_blocks_count, bg_free_inodes_count, bg_used_dirs_count;
    uint16_t bg_flags;
    uint8_t  bg_reserved[12];
};
_Static_assert(sizeof(struct ext2_group_desc) == 32, "group descriptor layout");

/* The first 128 bytes of an on-disk inode (all of a revision 0 one). */
struct ext2_inode {
    uint16_t i_mode, i_uid;
    uint32_t i_size, i_atime, i_ctime, i_mtime, i_dtime;
    uint16_t i_gid, i_links_count;
    uint32_t i_blocks;                  /* 512-byte units, indirect blocks included */
    uint32_t i_flags, i_osd1;
    uint32_t i_block[EXT2_N_BLOCKS];
    uint32_t i_generation, i_file_acl;
    uint32_t i_size_high;               /* regular files with large_file (i_dir_acl) */
    uint32_t i_faddr;
    uint8_t  i_osd2[12];
};
_Static_assert(sizeof(struct ext2_inode) == 128, "inode layout");

/* A directory entry's fixed part; the name follows. */
struct ext2_dirent {
    uint32_t inode;
    uint16_t rec_len;
    uint8_t  name_len;
    uint8_t  file_type;                 /* the filetype feature; else name_len's high byte */
};
#define EXT2_DIRENT_HEADER 8u
/* Bytes a record with a name of len bytes needs. */
#define EXT2_DIRENT_LEN(len) ((EXT2_DIRENT_HEADER + (len) + 3u) & ~3u)

/* One mounted ext2 file system. */
struct ext2_fs {
    struct blkdev *dev;
    struct bcache *cache;
    uint32_t block_size;
    uint32_t ptrs_per_block;            /* block numbers per indirect block */
    uint32_t groups;
    uint32_t gdt_block;                 /* the first block of the group descriptor table */
    uint32_t inode_size;
    uint32_t first_ino;
    int read_only;                      /* ro_compat features this driver lacks */
    int filetype;                       /* directory entries carry file types */
    int super_dirty;                    /* sb changed since the last sync */
    struct ext2_node *nodes;            /* in-memory inodes (ext2_vfs.c) */
    struct ext2_fs *next_mount;         /* every mounted ext2 (ext2_vfs.c) */
    struct ext2_super sb;               /* the primary superblock, written at sync */
};

/* An in-memory ext2 inode: fs.c's struct inode first (mode, links, size and mtime kept
 * equal to the on-disk inode's), then the cached on-disk inode. */
struct ext2_node {
    struct inode vfs;
    struct ext2_fs *fs;
    struct ext2_node *next;             /* fs->nodes */
    struct ext2_inode di;
};

/* The ext2 node behind a struct inode whose ops are ext2's. */
static inline struct ext2_node *ext2_node_of(struct inode *ip)
{
    return (struct ext2_node *)ip;
}

/* ---- ext2_super.c ---------------------------------------------------------------- */
/* Read and check the superblock and group descriptors of d: a new fs in *out, 0,
 * -HOS_EINVAL for no or a corrupt or unsupported ext2, -HOS_EIO, -HOS_ENOMEM. */
long ext2_fs_open(struct blkdev *d, struct ext2_fs **out);
/* Write the superblock and every dirty buffer back and flush the device. */
long ext2_fs_sync(struct ext2_fs *fs);
/* Free the fs (no node may be left) after writing back what it can. */
void ext2_fs_close(struct ext2_fs *fs);
/* Is blk a block number data or indirect blocks may have? */
int ext2_block_ok(const struct ext2_fs *fs, uint32_t blk);
/* A free block, marked used, preferably in group goal_group: its number in *blk;
 * -HOS_ENOSPC, -HOS_EIO. The block's contents are not touched. */
long ext2_block_alloc(struct ext2_fs *fs, uint32_t goal_group, uint32_t *blk);
/* Mark a used block free: 0, -HOS_EIO (not a data block, or already free). */
long ext2_block_free(struct ext2_fs *fs, uint32_t blk);
/* A free inode number (>= first_ino), marked used, preferably in goal_group; is_dir
 * counts it in bg_used_dirs_count. -HOS_ENOSPC, -HOS_EIO. */
long ext2_inode_alloc(struct ext2_fs *fs, uint32_t goal_group, int is_dir, uint32_t *ino);
/* Mark a used inode free: 0, -HOS_EIO. */
long ext2_inode_free(struct ext2_fs *fs, uint32_t ino, int is_dir);
/* The group inode ino (valid) belongs to. */
uint32_t ext2_inode_group(const struct ext2_fs *fs, uint32_t ino);
/* Where inode ino (valid) is: its block in *blk and byte offset there in *off. */
long ext2_inode_location(struct ext2_fs *fs, uint32_t ino, uint32_t *blk, uint32_t *off);
/* Seconds since 1970 now (the kernel's real-time clock). */
uint32_t ext2_now(void);

/* ---- ext2_inode.c ---------------------------------------------------------------- */
/* Is ino a number inodes may have (1 .. s_inodes_count)? */
int ext2_ino_ok(const struct ext2_fs *fs, uint32_t ino);
/* Read the first 128 bytes of on-disk inode ino into di: 0, -HOS_EIO. */
long ext2_inode_read(struct ext2_fs *fs, uint32_t ino, struct ext2_inode *di);
/* Write di back as inode ino; fresh: a newly allocated inode (the bytes past 128 are
 * reset too). 0, -HOS_EIO. */
long ext2_inode_write(struct ext2_fs *fs, uint32_t ino, const struct ext2_inode *di,
                      int fresh);
/* Copy the cached inode's mode, link count, size and mtime to the fields fs.c reads. */
void ext2_node_refresh(struct ext2_node *n);
/* Write node's cached inode back (after changing di), refreshing those fields. */
long ext2_node_store(struct ext2_node *n);
/* The file size the inode says (64 bits for regular files with large_file). */
uint64_t ext2_inode_size(const struct ext2_inode *di);
/* Does the inode's i_block[] hold block numbers (not a fast symlink or device)? */
int ext2_inode_has_blocks(const struct ext2_fs *fs, const struct ext2_inode *di);
/* Physical block of logical block lblk of n in *pblk (0: a hole); with alloc, a hole
 * gets a new zeroed block (and the indirect blocks on the way). 0, -HOS_EFBIG past
 * what the map reaches, -HOS_ENOSPC, -HOS_EIO. */
long ext2_bmap(struct ext2_node *n, uint64_t lblk, int alloc, uint32_t *pblk);
/* Up to n bytes at off of a regular file into buf: bytes read, 0 at the end. */
long ext2_file_read(struct ext2_node *n, uint64_t off, void *buf, size_t len);
/* len bytes from buf at off, growing the file: bytes written (short when the disk
 * fills after some), -HOS_ENOSPC, -HOS_EFBIG, -HOS_EIO. */
long ext2_file_write(struct ext2_node *n, uint64_t off, const void *buf, size_t len);
/* Free every block of n (data, indirect, extended-attribute block if dropped) and make
 * it empty; keep_xattr leaves the extended attribute block alone. 0, -HOS_EIO. */
long ext2_free_blocks(struct ext2_node *n, int keep_xattr);

/* ---- ext2_dir.c ------------------------------------------------------------------ */
/* A directory entry as iteration returns it. */
struct ext2_entry {
    uint32_t ino;
    uint8_t file_type;                  /* EXT2_FT_*, EXT2_FT_UNKNOWN without filetype */
    uint32_t name_len;
    char name[256];                     /* NUL-terminated */
};
/* The entry at byte *pos of directory dp or the first used one after it (empty
 * records skipped) in *e, *pos moved past it: 1, 0 at the end, -HOS_EIO. */
long ext2_dir_next(struct ext2_node *dp, uint64_t *pos, struct ext2_entry *e);
/* The inode number name (len bytes) has in dp: 0 and *ino, -HOS_ENOENT, -HOS_EIO. */
long ext2_dir_find(struct ext2_node *dp, const char *name, size_t len, uint32_t *ino);
/* Add an entry name -> ino of file type ft (EXT2_FT_*) to dp, growing it by a block
 * when no record has room: 0, -HOS_ENOSPC, -HOS_EIO. */
long ext2_dir_add(struct ext2_node *dp, const char *name, size_t len, uint32_t ino,
                  uint8_t ft);
/* Remove the entry name from dp: 0, -HOS_ENOENT, -HOS_EIO. */
long ext2_dir_remove(struct ext2_node *dp, const char *name, size_t len);
/* 1 when dp holds nothing but "." and "..", 0 when it holds more, -HOS_EIO. */
long ext2_dir_is_empty(struct ext2_node *dp);
/* Give the new, empty directory dp its first block with "." and ".." (parent_ino). */
long ext2_dir_init(struct ext2_node *dp, uint32_t parent_ino);
/* The EXT2_FT_* of an i_mode. */
uint8_t ext2_mode_file_type(uint32_t mode);

/* ext2_vfs.c provides fs_mount_ext2, fs_umount and fs_sync (fs.h). */

#endif /* GUEST_EXT2_H */
