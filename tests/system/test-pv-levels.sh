#!/usr/bin/env bash
# tests/system/test-pv-levels.sh: the pv backend's three levels (README "Trap-and-emulate
# mode"): dom0 booted with privops=pv (one hypercall per operation) and privops=pv-batch
# (batches and multicalls, no ring) runs the shell and passes usertests, as the default
# pv-async does in test-shell; a domU made with hako create privops=pv-batch runs beside
# it; no frame leaks. usertests' fork, exec and exit exercise the released-frame paths
# (immediate at pv, pv-batch's multicall after the batch).
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh

for level in pv pv-batch; do
  session 300 "privops=$level" <<'EOF2'
echo hello from level
usertests
echo usertests status $?
echo one | cat | cat
hako create name=lv privops=pv-batch
echo create status $?
hako list
hako destroy lv
echo destroy status $?
poweroff
EOF2
  expect_status 0 "$level: poweroff exits 0"
  expect_output "$level: the kernel runs the $level backend" \
    "privileged operations: $level\$" 'boot checks: [0-9]+ run, 0 failed' 'hello from level'
  expect_output "$level: usertests all pass" 'ALL TESTS PASSED' 'usertests status 0'
  expect_no_output "$level: usertests nothing fails" 'usertests: .*FAIL'
  expect_output "$level: a pv-batch domU is created and destroyed beside it" \
    'create status 0' '^ *[0-9]+ +lv ' 'destroy status 0'
  expect_no_output "$level: no kernel fault, no failed page-table batch" \
    'kernel exception|crashed|pv: page-table batch|pv: cannot'
  line=$(grep -aE '^\(hv\) all domains destroyed' "$OUT")
  [ -n "$line" ] && echo "$line" | grep -qE '; ([0-9]+) frames free \(\1 before'
  result $([ $? = 0 ] && echo 1 || echo 0) "$level: no frame leaked (${line#(hv) })"
done
finish
