#!/usr/bin/env bash
# tests/system/test-blk-hostile.sh: dom0's block back end against hostile front ends.
# Four domUs run tests/xtf/blkhostile (dom0's /boot/xtf-blkhostile.elf) with 1 MiB disks:
# "evil" at the first free place (32 MiB, after dom0's own file system), "evil2" at
# 40 MiB with corrupt=rsp, "evil3" at 48 MiB with corrupt=attach (its ring is broken
# before it asks to connect: it must be refused), "evil4" at 56 MiB with persist
# (persistent grants: the back end's cache of mappings). Each sends out-of-range, overflowing, malformed and badly
# granted requests, valid round trips, a flood of more requests than response slots,
# then corrupt ring indices (evil, evil2, evil4), and reports one "Test result:" line, read here from its
# hypervisor console. Checked as well: dom0 logged the refusals and the
# disconnects and its shell still works; after power-off, the image's bytes outside the
# two regions are what they were (the gaps hold random bytes, so any stray write shows);
# the valid writes landed at their place inside the regions.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh
work=$(mktemp -d)
trap 'rm -rf "$work" "$OUT"' EXIT
img=$work/disk.img
MiB=$((1 << 20))
truncate -s 64M "$img"
/sbin/mke2fs -q -t ext2 -F "$img" 32M
# Random bytes in the gaps around the regions: 33..40 MiB and 41..64 MiB (but 56..57).
head -c $((7 * MiB)) /dev/urandom | dd of="$img" bs=1M seek=33 conv=notrunc status=none
head -c $((15 * MiB)) /dev/urandom | dd of="$img" bs=1M seek=41 conv=notrunc status=none
head -c $((7 * MiB)) /dev/urandom | dd of="$img" bs=1M seek=57 conv=notrunc status=none
SESSION_OPTS=(--disk "$img")

# Everything but the regions evil, evil2 and evil4 write (evil3's, never connected, is
# compared too). dom0's own file system from 64 KiB on: a later dom0 that mounts it may
# update its superblock; writes wrapping around from a region
# (sector + start overflowing) would land just below 32 MiB.
outside() {
  { dd if="$img" bs=64K skip=1 count=511 status=none
    dd if="$img" bs=1M skip=33 count=7 status=none
    dd if="$img" bs=1M skip=41 count=15 status=none
    dd if="$img" bs=1M skip=57 status=none; } | md5sum
}
# The first 19 bytes of sector N of the image.
sector_head() { dd if="$img" bs=512 skip="$1" count=1 status=none | head -c 19; }
before=$(outside)

# Wait (up to 90 s) until all four domUs printed their result on the hypervisor console, then
# attach to each console: its ring kept the output.
done_both() {
  [ "$(grep -acE '^\(d[0-9]+\) Test result: ' "$OUT" 2>/dev/null)" -ge 4 ]
}
{ printf 'hako create /boot/xtf-blkhostile.elf disk=1M name=evil\n'
  printf 'hako create /boot/xtf-blkhostile.elf disk=1M@40M name=evil2 cmdline="corrupt=rsp"\n'
  printf 'hako create /boot/xtf-blkhostile.elf disk=1M@48M name=evil3 cmdline="corrupt=attach"\n'
  printf 'hako create /boot/xtf-blkhostile.elf disk=1M@56M name=evil4 cmdline="persist"\n'
  for _ in $(seq 900); do done_both && break; sleep 0.1; done
  printf 'hako console evil\n\035'
  printf 'hako console evil2\n\035'
  printf 'hako console evil3\n\035'
  printf 'hako console evil4\n\035'
  printf 'hako list\nblkbench readat 65636\n'
  printf 'hako destroy evil\nhako destroy evil2\nhako destroy evil3\nhako destroy evil4\necho alive\npoweroff\n'; } | session 180
expect_status 0 "dom0 powers off cleanly after the hostile domUs"

id1=$(sed -n 's/^hako: created domain \([0-9]*\) (evil).*/\1/p' "$OUT" | head -1)
id2=$(sed -n 's/^hako: created domain \([0-9]*\) (evil2).*/\1/p' "$OUT" | head -1)
id3=$(sed -n 's/^hako: created domain \([0-9]*\) (evil3).*/\1/p' "$OUT" | head -1)
id4=$(sed -n 's/^hako: created domain \([0-9]*\) (evil4).*/\1/p' "$OUT" | head -1)
[ -n "$id1" ] && [ -n "$id2" ] && [ -n "$id3" ] && [ -n "$id4" ]
result $(( $? == 0 )) "the hostile domUs are created (d${id1:-?}, d${id2:-?}, d${id3:-?}, d${id4:-?})"
id1=${id1:-X} id2=${id2:-X} id3=${id3:-X} id4=${id4:-X}

# What `hako console NAME` showed: the lines between connected and detached that are not
# the hypervisor's own (prefixed "(dN) " or "(hv) ").
console_of() {
  sed -n "/hako: connected to domain $1;/,/^hako: detached from domain $1\$/p" "$OUT" |
    grep -avE '^\((d[0-9]+|hv)\) '
}
for d in "$id1 evil" "$id2 evil2" "$id3 evil3" "$id4 evil4"; do
  set -- $d
  # Its result as it printed it to the hypervisor console. (What `hako console` shows of
  # its ring is printed too, but not checked: once in a few runs an attach showed an empty
  # ring, a console bug not yet found; see the closing note of 2026-12-07.)
  if grep -aqE "^\(d$1\) Test result: SUCCESS\$" "$OUT"; then
    result 1 "$2 (d$1): Test result: SUCCESS"
  else
    console_of "$1" | sed 's/^/    console| /' | head -30
    result 0 "$2 (d$1): Test result: SUCCESS"
  fi
done
grep -aq "^(d$id4) blkhostile: connected to d0, 2048 sectors, port [0-9]*, persistent grants\$" "$OUT"
result $(( $? == 0 )) "evil4 ran with persistent grants"
expect_output "the regions are where they were asked for" \
  "blkback: d$id1 connected: sectors 65536\.\.67584 " "blkback: d$id2 connected: sectors 81920\.\.83968 " \
  "blkback: d$id4 connected: sectors 114688\.\.116736 "
expect_output "dom0 logged the refusals" \
  "blkback: d$id1: request [0-9]+ .* refused: outside its disk" \
  "blkback: d$id1: request [0-9]+ .* refused: malformed" \
  "blkback: d$id2: request [0-9]+ .* refused: outside its disk" \
  "blkback: d$id4: request [0-9]+ .* refused: outside its disk"
expect_output "dom0 disconnected them on their corrupt ring indices" \
  "blkback: d$id1: corrupt ring indices: disconnected" "blkback: d$id2: corrupt ring indices: disconnected" \
  "blkback: d$id4: corrupt ring indices: disconnected"
expect_output "dom0 refused a ring with impossible indices at connect" \
  "blkback: d$id3: cannot connect its disk \(-5\)"
expect_no_output "no connection for it" "blkback: d$id3 connected"
expect_output "dom0 reads its disk afterwards (evil's pattern at sector 65636)" \
  'readat 65636: 4096 bytes: blkhostile s=001'
expect_output "dom0 destroys them and its shell still works" \
  "\(hv\) d$id1 \(evil\) destroyed" "\(hv\) d$id2 \(evil2\) destroyed" \
  "\(hv\) d$id3 \(evil3\) destroyed" "\(hv\) d$id4 \(evil4\) destroyed" '(^|\$ )alive$'
expect_no_output "no block errors of dom0's own" 'blkback: d0:|blkfront: .*(disconnected|cannot)|the disk failed'
expect_no_output "the kernel never faults" 'kernel exception|crashed|panic'
line=$(grep -aE '^\(hv\) all domains destroyed' "$OUT")
[ -n "$line" ] && echo "$line" | grep -qE '; ([0-9]+) frames free \(\1 before'
result $(( $? == 0 )) "every hypervisor frame returns ($line)"

# ---- the image, after power-off ---------------------------------------------------
after=$(outside)
[ "$after" = "$before" ]
result $(( $? == 0 )) "no byte outside the written regions changed (dom0's file system, the gaps, evil3's region)"
ok=1
for base in 65536 81920 114688; do
  for s in 100 163 300 312 2040 2047; do
    want=$(printf 'blkhostile s=%05d\n' "$s")
    got=$(sector_head $((base + s)))
    [ "$got" = "$want" ] || { echo "    sector $base+$s: '$got', wanted '$want'"; ok=0; }
  done
done
result $ok "the valid writes are in the regions, at their sectors"
[ "$FAILS" = 0 ] || cp "$img" "${BUILD}/tests/logs/system/test-blk-hostile.img" 2>/dev/null
finish
