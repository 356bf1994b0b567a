#!/usr/bin/env bash
# tests/bench/blk/run.sh BUILD CSV: the block benchmark (issue 14). On a fresh 128 MiB
# disk image (ext2 in the first 32 MiB, as make run's), 4 KiB raw reads and writes,
# sequential and random, one at a time, through /dev/xvda:
#   dom0      dom0's own front end over its local ring to blkback (the disk direct)
#   domu      a domU's front end through grants and event channels (persistent grants)
#   domu-map  the same with vbd.nopersist: a grant map and unmap per request
# Rows blk.<pattern>.<path> (MiB/s, config tcg) and blk.<pattern>.<path>.lat (us);
# the table compares each domU path with dom0 (target: domu >= 70% of dom0 sequential).
set -uo pipefail
BUILD=${1:-build}
csv=${2:-$BUILD/bench/results.csv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
img=$work/disk.img
truncate -s 128M "$img"
/sbin/mke2fs -q -t ext2 -F "$img" 32M
N=512
ops() {  # ops START: the four patterns on /dev/xvda from sector START
  for p in "seq read" "seq write" "rand read" "rand write"; do
    printf 'blkbench %s n=%d start=%d span=32768\n' "$p" "$N" "$1"
  done
}
{
  ops 65536
  for path in domu domu-map; do
    extra=; [ "$path" = domu-map ] && extra=' cmdline=vbd.nopersist'
    printf 'hako create name=%s disk=16M%s\nsleep 2\nhako console %s\n' "$path" "$extra" "$path"
    ops 0
    printf 'echo done-%s\n\035sleep 15\nhako console %s\n\035hako destroy %s\n' "$path" "$path" "$path"
  done
  printf 'poweroff\n'
} > "$work/in"
scripts/qemu-run.sh --console --timeout 300 --disk "$img" "$BUILD/hako.elf" \
  "$BUILD/guest-pv.elf" < "$work/in" > "$work/out" 2>&1
tr -d '\r' < "$work/out" > "$work/log"
# BLK lines in order: 4 for dom0, then 4 (twice: echoed on reattach) per domU path.
awk -v csv="$csv" '
  /created domain [0-9]+ \(/ { path = $5; gsub(/[(),]/, "", path) }
  /BLK (seq|rand) (read|write) / {
    sub(/.*BLK /, "")
    split($0, f, " ")
    pat = f[1] f[2]; p = (path == "" ? "dom0" : path)
    key = pat "." p
    if (key in seen) next
    seen[key] = 1
    for (i = 3; i <= 8; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    printf "blk.%s,tcg,%s,MiB/s\n", key, v["MiB/s"] >> csv
    printf "blk.%s.lat,tcg,%s,us\n", key, v["lat_us"] >> csv
    mib[key] = v["MiB/s"]; lat[key] = v["lat_us"]
  }
  END {
    printf "\nblock I/O, 4 KiB one at a time, TCG wall clock (MiB/s, latency us)\n"
    printf "%-10s %12s %12s %12s %12s %10s\n", "pattern", "dom0", "domu", "domu-map", "domu/dom0", "lat dom0/domu"
    n = split("seqread seqwrite randread randwrite", pats, " ")
    ok = 1
    for (i = 1; i <= n; i++) {
      d = pats[i] ".dom0"; u = pats[i] ".domu"; m = pats[i] ".domu-map"
      r = (d in mib && mib[d] > 0 && u in mib) ? mib[u] / mib[d] : -1
      printf "%-10s %12s %12s %12s %11.0f%% %6s/%s\n", pats[i], mib[d], mib[u], mib[m], r * 100, lat[d], lat[u]
      if (pats[i] ~ /^seq/ && r < 0.7) ok = 0
      if (r < 0) missing = 1
    }
    if (missing) { print "blk: some results are missing"; exit 1 }
    printf "target: domU sequential throughput >= 70%% of dom0: %s\n", ok ? "met" : "NOT met"
  }' "$work/log" || { sed 's/^/    | /' "$work/log" | tail -30; exit 1; }
