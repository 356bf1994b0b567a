#!/usr/bin/env bash
# tests/system/test-bad-images.sh: the domain builder refuses malformed dom0 images with
# a clear message, never half-loaded, and the hypervisor stops with status 127.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$OUT"' EXIT

refused() {
  local name=$1 image=$2 why=$3; shift 3
  boot "$image" "$@"
  expect_status 127 "$name: refused, hypervisor stops with status 127"
  expect_output "$name: clear reason" "dom0 kernel refused: $why" 'PANIC: cannot build dom0'
  expect_no_output "$name: guest never ran" '^\(d0\)'
}

printf 'this is not an ELF file at all, just text\n%.0s' {1..20} > "$tmp/text"
refused "text file" "$tmp/text" "bad ELF magic"
head -c 200 "$DOM0" > "$tmp/trunc-hdr"
refused "truncated in the program headers" "$tmp/trunc-hdr" ".+"
# Cut inside the last loadable segment's file bytes.
read -r off fsz < <(readelf -lW "$DOM0" | awk '$1 == "LOAD" { o = $2; f = $5 } END { print o, f }')
head -c $((off + fsz / 2)) "$DOM0" > "$tmp/trunc-half"
refused "truncated in the segments" "$tmp/trunc-half" ".+"
refused "the hypervisor itself (no hako note, hypervisor range)" "$HV" ".+"
refused "a host program (not ET_EXEC for hako)" /bin/true ".+"
# Room for the kernel's pages but not for its boot layout (start info, p2m, tables...).
read -r lo hi < <(readelf -lW "$DOM0" | awk '$1 == "LOAD" { if (!lo) lo = $3; v = $3; m = $6 }
  END { print lo, v, m }' | { read -r lo v m; echo "$lo $(printf '%d' $((v + m)))"; })
kpages=$(( (hi - lo + 4095) / 4096 ))
refused "memory too small for the boot layout" "$DOM0" "memory too small" dom0_mem=$(( (kpages + 2) * 4 ))K --
refused "image larger than the memory" "$DOM0" "image too large" dom0_mem=8K --

boot "$DOM0" dom0_mem=lots --
expect_status 127 "bad dom0_mem option stops the hypervisor"
expect_output "bad dom0_mem option is explained" 'PANIC: bad dom0_mem option'

# QEMU itself failing (here: no such dom0 file) must never look like a clean power-off.
boot "$tmp/does-not-exist"
expect_status 125 "QEMU failing to start reports 'no result' (125), not status 0"

# No boot module at all: run QEMU directly without -initrd.
timeout 30 qemu-system-x86_64 -M microvm -accel tcg -cpu max -m 256M -no-reboot -nodefaults \
  -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
  -kernel "$HV" > "$OUT" 2>&1
STATUS=$(( ($? - 1) / 2 ))
expect_status 127 "no boot module: hypervisor stops with status 127"
expect_output "no boot module is explained" 'PANIC: no boot module'
finish
