#!/usr/bin/env bash
# tests/system/test-abi-minimal.sh: boot the porter's minimal guest (tests/abi/minimal),
# written from ABI.md alone; every step it reports must pass and it must power off with 0.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh

# It includes the public headers and nothing else.
others=$(grep -h '^#include' tests/abi/minimal/*.c tests/abi/minimal/*.S | grep -v '<hako/[a-z0-9_-]*\.h>')
[ -z "$others" ]
result $(( $? == 0 )) "minimal guest includes only public headers${others:+ (not: $others)}"

boot "$BUILD/tests/abi/minimal.elf"
for s in boot version mapping unmap trap timer multicall multicall-stop async user-setup \
    user audit shutdown; do
  expect_output "minimal guest: $s" "^\(d0\) minimal: $s ok$"
done
expect_no_output "minimal guest: no step failed" 'minimal: .* FAIL'
expect_status 0 "minimal guest powers off with status 0"
finish
