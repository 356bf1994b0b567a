#!/usr/bin/env bash
# tests/system/test-storage.sh: files survive a power-off, in dom0 and in a domU. The
# disk image holds two ext2 file systems made by the host's mke2fs: dom0's in the first
# 32 MiB, and a domU's in the region at 64 MiB that `hako create disk=16M@64M` gives it.
# Two boots write and then read back; e2fsck -fn finds both file systems clean after
# each; the bytes of the disk outside both file systems never change; regions that
# cannot be had are refused.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh
work=$(mktemp -d)
trap 'rm -rf "$work" "$OUT"' EXIT
img=$work/disk.img
truncate -s 128M "$img"
/sbin/mke2fs -q -t ext2 -F "$img" 32M
/sbin/mke2fs -q -t ext2 -F -E offset=$((64 << 20)) "$img" 16M
SESSION_OPTS=(--disk "$img")

# The disk's bytes outside both file systems (32..64 MiB and 80..128 MiB).
outside() { { dd if="$img" bs=1M skip=32 count=32 status=none; dd if="$img" bs=1M skip=80 status=none; } | md5sum; }
# e2fsck -fn of the file system at offset MiB (size MiB): "clean" or its output.
fsck_at() {
  dd if="$img" of="$work/fs.img" bs=1M skip="$1" count="$2" status=none
  if /sbin/e2fsck -fn "$work/fs.img" > "$work/fsck.txt" 2>&1; then echo clean; else cat "$work/fsck.txt"; fi
}
before=$(outside)

# ---- first boot: write -----------------------------------------------------------
{ printf 'ls /disk\necho dom0-data-1 > /disk/hello\nmkdir /disk/dir\necho nested > /disk/dir/n\n'
  printf 'cat /bin/sh /bin/usertests /bin/hako > /disk/big\necho big-status $?\n'
  printf 'hako create name=st disk=16M@64M\nsleep 2\n'
  printf 'hako create name=clash disk=16M@64M\necho clash $?\n'
  printf 'hako create name=over disk=16M@0\necho over $?\n'
  printf 'hako create name=huge disk=1G\necho huge $?\n'
  printf 'hako console st\necho domu-data-1 > /disk/mine\nmkdir /disk/d\necho x > /disk/d/y\ncat /disk/mine\npoweroff\n\035'
  printf 'sleep 3\nhako console st\n\035hako destroy st\npoweroff\n'; } > "$work/in1"
session 240 < "$work/in1"
expect_status 0 "first boot powers off cleanly"
expect_output "dom0 mounts its disk" 'blkfront: xvda: 262144 sectors' 'lost\+found'
expect_output "a domU gets its region" 'blkback: d1 connected: sectors 131072\.\.163840'
expect_output "regions that cannot be had are refused" 'clash 1' 'over 1' 'huge 1'
expect_output "the domU writes its disk and powers off" '(^|\$ )domu-data-1$' \
  '\(hv\) d1 \(st\) stopped: poweroff, code 0'
expect_output "dom0 writes a big file" 'big-status 0'
expect_no_output "no block errors" 'blkfront: .*(disconnected|cannot)|refused'
expect_output_fsck() {
  local r; r=$(fsck_at "$1" "$2")
  [ "$r" = clean ] && result 1 "$3" || { echo "$r" | sed 's/^/    | /' | head -20; result 0 "$3"; }
}
expect_output_fsck 0 32 "e2fsck -fn: dom0's file system is clean after the first boot"
expect_output_fsck 64 16 "e2fsck -fn: the domU's file system is clean after the first boot"
# A file of 344 KiB (its last blocks double-indirect with 1 KiB blocks) as written.
big_ok() {
  dd if="$img" of="$work/fs.img" bs=1M count=32 status=none
  /sbin/debugfs -R "dump /$1 $work/$1" "$work/fs.img" > /dev/null 2>&1
  cmp -s "$work/$1" <(cat "$BUILD"/user/stripped/{sh,usertests,hako})
}
big_ok big; result $(( $? == 0 )) "dom0's big file on the disk is what it wrote"

# ---- second boot: read back -------------------------------------------------------
{ printf 'cat /disk/hello\ncat /disk/dir/n\nls /disk\ncat /disk/big > /disk/big2\nrm /disk/big\n'
  printf 'hako create name=st disk=16M@64M\nsleep 2\nhako console st\ncat /disk/mine\ncat /disk/d/y\nls /disk\n\035'
  printf 'sleep 2\nhako console st\n\035hako destroy st\npoweroff\n'; } > "$work/in2"
session 240 < "$work/in2"
expect_status 0 "second boot powers off cleanly"
expect_output "dom0's files survived the power-off" '(^|\$ )dom0-data-1$' '(^|\$ )nested$' '(^|\$ )big$'
expect_output "the domU's files survived the power-off" '(^|\$ )domu-data-1$' '(^|\$ )x$'
big_ok big2; result $(( $? == 0 )) "dom0 reads its big file back (copied to another)"
expect_output_fsck 0 32 "e2fsck -fn: dom0's file system is clean after the second boot"
expect_output_fsck 64 16 "e2fsck -fn: the domU's file system is clean after the second boot"
[ "$(outside)" = "$before" ] && result 1 "nothing outside the two file systems was written" ||
  result 0 "nothing outside the two file systems was written"
# Put the image where a debugging human can find it if something failed.
[ "$FAILS" = 0 ] || cp "$img" "${BUILD}/tests/logs/system/test-storage.img" 2>/dev/null
finish
