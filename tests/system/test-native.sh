#!/usr/bin/env bash
# tests/system/test-native.sh: the reference kernel's native image on the bare machine,
# no hypervisor (README "Native mode"): boot checks, the shell, usertests, and what has
# no native meaning saying so.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh
NATIVE=$BUILD/guest-pv-native.elf

# native_session TIMEOUT [cmdline...]: like session, for the native image.
native_session() {
  local timeout=$1; shift
  scripts/qemu-run.sh --console --timeout "$timeout" --mem 40M --native "$NATIVE" "$@" > "$OUT" 2>&1
  STATUS=$?
  tr -d '\r' < "$OUT" > "$OUT.clean" && mv "$OUT.clean" "$OUT"
}

native_session 300 <<'EOF'
echo hello from the native shell
usertests
echo usertests status $?
echo alpha beta gamma | cat | cat
echo first > /tmp/f
cat < /tmp/f
date
hako list
echo hako status $?
poweroff
EOF
expect_status 0 "native: poweroff exits 0"
expect_output "native: boots in ring 0 on the native backend" \
  '^hako PV guest kernel, ABI [0-9.]+, privileged operations: native$' 'boot checks: [0-9]+ run, 0 failed'
expect_no_output "native: no hypervisor anywhere" '^\(hv\)'
expect_output "native: the shell answers" 'hello from the native shell' 'alpha beta gamma' '(^|\$ )first$'
expect_output "native: usertests all pass" 'ALL TESTS PASSED' 'usertests status 0'
expect_no_output "native: usertests nothing fails" 'usertests: .*FAIL'
expect_output "native: the wall clock comes from the RTC" ' UTC 20[2-9][0-9]$'
expect_output "native: hako says there are no domains here" 'hako: not running on a hypervisor' 'hako status 1'
expect_no_output "native: the kernel never faults" 'kernel exception|crashed'

native_session 30 exit=3 < /dev/null
expect_status 3 "native: exit=3 after the boot checks powers off with status 3"
native_session 30 shutdown=crash < /dev/null
expect_status 126 "native: a crash shutdown gives status 126"
finish
