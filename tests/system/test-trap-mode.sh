#!/usr/bin/env bash
# tests/system/test-trap-mode.sh: the same kernel and user programs with privops=trap
# (ABI.md "Trap-and-emulate mode"): dom0's boot checks, shell and usertests on emulated
# privileged instructions, and dom0 running a trap-mode and a PV domU side by side.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh

# ---- dom0 in trap mode: boot checks, the shell, usertests ------------------------------
session 400 privops=trap <<'EOF'
echo hello from the trap-mode shell
usertests
echo usertests status $?
echo alpha beta gamma | cat | cat
echo first > /tmp/f
cat < /tmp/f
false
echo status $?
ps
poweroff
EOF
expect_status 0 "trap-mode dom0: poweroff exits 0"
expect_output "trap-mode dom0 boots on the trap backend" '^\(hv\) dom0: [0-9]+ MiB, trap,' \
  '^hako PV guest kernel, ABI [0-9.]+, privileged operations: trap$' 'boot checks: [0-9]+ run, 0 failed'
expect_output "trap-mode shell answers" 'hello from the trap-mode shell' 'alpha beta gamma' \
  '(^|\$ )first$' 'status 1'
expect_output "trap-mode usertests: all pass" 'ALL TESTS PASSED' 'usertests status 0'
expect_no_output "trap-mode usertests: nothing fails" 'usertests: .*FAIL'
expect_no_output "trap-mode kernel never faults" 'kernel exception|crashed'

# ---- a trap-mode and a PV domU side by side, from a dom0 of each kind ------------------
# ^] (0x1d) detaches; what a domU answered shows on the next attach (its ring keeps it).
for dom0_mode in trap pv; do
  { printf 'hako create name=tdom privops=trap\nhako create name=pdom\nsleep 3\nhako list\nhako top -n 1\n'
    printf 'hako create privops=native\necho badmode $?\n'
    printf 'hako console tdom\necho hello-from-tdom\n\035hako console pdom\necho hello-from-pdom\n\035'
    printf 'sleep 2\nhako console tdom\n\035hako console pdom\n\035'
    printf 'hako destroy tdom\nhako destroy pdom\npoweroff\n'; } > "$OUT.in"
  session 200 privops=$dom0_mode < "$OUT.in"
  rm -f "$OUT.in"
  expect_status 0 "$dom0_mode dom0 with a trap and a PV domU: poweroff exits 0"
  # The hypervisor prefixes each piece of a domU's console output with "(dN) ", and a
  # piece can end mid-line when another domain writes: join domain N's pieces first.
  for n in 1 2; do
    grep -a "^(d$n) " "$OUT" | sed "s/^(d$n) //" | tr -d '\n' > "$OUT.d$n"
  done
  grep -aq 'privileged operations: trap' "$OUT.d1" && grep -aq 'privileged operations: pv' "$OUT.d2" &&
    grep -aqE 'boot checks: [0-9]+ run, 0 failed' "$OUT.d1" &&
    grep -aqE 'boot checks: [0-9]+ run, 0 failed' "$OUT.d2"
  result $(( $? == 0 )) "$dom0_mode dom0: each domU runs its own backend"
  rm -f "$OUT.d1" "$OUT.d2"
  expect_output "$dom0_mode dom0: both domUs' shells answer" '^hello-from-tdom' '^hello-from-pdom'
  expect_output "$dom0_mode dom0: both domUs listed with their mode, and destroyed" \
    '^1 +tdom +running .* trap *$' '^2 +pdom +running .* pv *$' \
    '\(hv\) d1 \(tdom\) destroyed' '\(hv\) d2 \(pdom\) destroyed'
  expect_output "$dom0_mode dom0: hako top shows the trap-mode domU's emulated instructions" \
    'emulated/s'
  expect_output "$dom0_mode dom0: hako create privops=native is a usage error" \
    'hako: bad privops=native \(pv, pv-batch, pv-async or trap\)' 'badmode 2'
  line=$(grep -aE '^\(hv\) all domains destroyed' "$OUT")
  [ -n "$line" ] && echo "$line" | grep -qE '; ([0-9]+) frames free \(\1 before'
  result $(( $? == 0 )) "$dom0_mode dom0: every hypervisor frame returns ($line)"
done
# ---- a privops= word that names no backend: the kernel says so and stays paravirtual ---
boot "$DOM0" privops=bogus exit=0
expect_status 0 "privops=bogus: boots and exits 0"
expect_output "privops=bogus: the kernel stays paravirtual and says why" \
  'privileged operations: pv-async$' 'unknown privops= backend on the command line: running paravirtual'
finish
