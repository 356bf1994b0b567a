#!/usr/bin/env bash
# tests/system/test-console.sh: console input reaches dom0 through VIRQ_CONSOLE and the
# console read hypercall (the in-guest side is tests/xtf/test-console.c).
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh
printf 'hako\n' | scripts/qemu-run.sh --console --timeout 30 "$HV" "$BUILD/tests/xtf/pv/test-console.elf" \
  > "$OUT" 2>&1
STATUS=$?
tr -d '\r' < "$OUT" > "$OUT.clean" && mv "$OUT.clean" "$OUT"
expect_status 0 "console input test kernel exits 0"
expect_output "dom0 reads console input after VIRQ_CONSOLE" 'Test result: SUCCESS' \
  'console input: read [0-9]+ bytes through VIRQ_CONSOLE'
finish
