#!/usr/bin/env bash
# tests/newlib/check.sh: newlib built by scripts/build-newlib.sh links into a freestanding
# x86-64 image with our system-call stubs (what guest user programs will need).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
NL=$BUILD/newlib
out=$BUILD/tests/newlib
mkdir -p "$out"
if [ ! -f "$NL/.stamp" ]; then
  echo "FAIL: newlib is not built ($NL/.stamp missing)"
  exit 1
fi
if gcc -std=gnu11 -O2 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mcmodel=small \
      -fno-stack-protector -Wall -Wextra -Werror -nostdinc -isystem "$NL/include" \
      -isystem "$(gcc -print-file-name=include)" -c tests/newlib/link-check.c -o "$out/link-check.o" &&
   ld -static -nostdlib -Ttext-segment=0x400000 -e _start -o "$out/link-check.elf" \
      "$out/link-check.o" -L"$NL/lib" --start-group -lc -lm "$(gcc -print-libgcc-file-name)" \
      --end-group &&
   nm "$out/link-check.elf" | grep -qw _dtoa_r; then
  echo "PASS: newlib libc/libm link into a freestanding image (printf with %f)"
else
  echo "FAIL: newlib link check"
  exit 1
fi
