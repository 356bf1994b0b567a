#!/usr/bin/env bash
# tests/system/test-boot.sh: the configuration `make run` boots, and dom0's ways of stopping.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh

# Exactly what `make run` does (same target, same script, same arguments).
make --no-print-directory -s run BUILD="$BUILD" > "$OUT" 2>&1 </dev/null
STATUS=$?
tr -d '\r' < "$OUT" > "$OUT.clean" && mv "$OUT.clean" "$OUT"
expect_status 0 "make run exits 0"
expect_output "hypervisor banner: version, memory, boot module" \
  '^\(hv\) hako hypervisor hako-[^ ]+ \(ABI [0-9]+\.[0-9]+\)' \
  '^\(hv\) memory: [0-9]+ MiB RAM in [0-9]+ ranges' '^\(hv\) module 0: [0-9a-f]+-[0-9a-f]+ \([0-9]+ bytes\)'
expect_output "dom0 banner through the console hypercall" \
  '^\(d0\) hako PV guest kernel, ABI' '^\(d0\) domain 0 \(control domain\): 8192 pages'
expect_output "dom0 boot environment checks all pass" '^\(d0\) boot checks: [0-9]+ run, 0 failed'
expect_output "dom0 powers off cleanly" '^\(hv\) d0 \(dom0\) stopped: poweroff, code 0' \
  '^\(hv\) machine exit status 0'
line=$(grep -aE '^\(hv\) all domains destroyed' "$OUT")
free_after=$(echo "$line" | sed -n 's/.*; \([0-9]*\) frames free (\([0-9]*\) before.*/\1/p')
free_before=$(echo "$line" | sed -n 's/.*; \([0-9]*\) frames free (\([0-9]*\) before.*/\2/p')
[ -n "$free_after" ] && [ "$free_after" = "$free_before" ]
result $(( $? == 0 )) "destroying dom0 returns every frame ($free_after of $free_before)"

boot "$DOM0" exit=3
expect_status 3 "dom0 poweroff status becomes the machine's exit status"

boot "$DOM0" -- exit=0 hello world -- not an option
expect_output "dom0 command line comes from the boot command line" \
  'command line "exit=0 hello world -- not an option"'

boot "$DOM0" dom0_mem=8M -- foo exit=0
expect_output "hypervisor option dom0_mem sets dom0's memory" '^\(d0\) domain 0 .*: 2048 pages \(8 MiB\)' \
  'command line "foo exit=0"'
expect_status 0 "dom0 with 8 MiB boots and passes its checks"

boot --machine microvm,rtc=off "$DOM0" exit=0
expect_status 0 "a machine without a real-time clock boots"
expect_output "without an RTC the wall clock is 0" 'wall clock 0 s since 1970 \(no RTC'

boot "$DOM0" shutdown=reboot
expect_status 124 "dom0 reboot request exits with status 124"
expect_output "reboot is reported" 'stopped: reboot'

boot "$DOM0" shutdown=crash
expect_status 126 "dom0 crash request exits with status 126"
expect_output "crash request dumps registers naming the domain" 'd0 \(dom0\) asked to crash, code 42' \
  'vector 256 \(hypercall\)' 'rip ffffffff8[0-9a-f]+' 'stopped: crash, code 42'
finish
