#!/usr/bin/env bash
# tests/run.sh BUILD: run every hako test and finish with "N passed, N failed".
#   1. public headers compile alone; ABI.md checked against them (tests/abi)
#   2. hypervisor source rules: HV_ASSERT has no side effects (tests/lint)
#   3. host unit tests, cmocka               (build/tests/unit/test_*)
#   4. in-guest XTF-style test kernels       (build/tests/xtf/<backend>/test-*.elf, one result line)
#   5. system tests that boot QEMU           (tests/system/test-*.sh)
#   6. newlib links for the guest target     (tests/newlib)
# Every QEMU run has a timeout; only an explicit result counts as a pass.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
export BUILD
passed=0 failed=0 skipped=0
# Logs go to one subdirectory per kind of test, so a system test and an XTF kernel of the
# same name (test-console) never share a file; each run starts with none.
log=$BUILD/tests/logs
rm -rf "$log"
mkdir -p "$log"/abi "$log"/lint "$log"/unit "$log"/xtf "$log"/system "$log"/newlib

# Count PASS:/FAIL:/SKIP: lines from a test program's output.
count_lines() {
  local out=$1
  passed=$((passed + $(grep -c '^PASS: ' "$out")))
  failed=$((failed + $(grep -c '^FAIL: ' "$out")))
  skipped=$((skipped + $(grep -c '^SKIP: ' "$out")))
  grep -E '^(FAIL|SKIP): ' "$out" | sed 's/^/  /'
}

# Run a checker that prints PASS:/FAIL: lines into log $1; a checker that exits non-zero
# without printing a FAIL: line (it crashed, or was not found) counts as one failure.
run_checker() {
  local out=$1; shift
  "$@" > "$out" 2>&1
  local rc=$?
  count_lines "$out"
  if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' "$out"; then
    failed=$((failed + 1))
    echo "  FAIL: $* exited $rc without a result (see $out)"
  fi
}

echo "== public headers and ABI.md"
run_checker "$log/abi/headers.txt" tests/abi/check-headers.sh
run_checker "$log/abi/abi-doc.txt" python3 tests/abi/check-abi-doc.py
run_checker "$log/abi/abi-doc-selftest.txt" bash tests/abi/check-abi-doc-selftest.sh

echo "== hypervisor source rules"
run_checker "$log/lint/hv-assert.txt" python3 tests/lint/check-hv-assert.py
run_checker "$log/lint/hv-assert-selftest.txt" bash tests/lint/check-hv-assert-selftest.sh

echo "== unit tests (cmocka)"
for t in "$BUILD"/tests/unit/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  "$t" > "$log/unit/$name.txt" 2>&1
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/unit/$name.txt" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/unit/$name.txt" | tail -1)
  p=${p:-0} f=${f:-0}
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed before reporting
  passed=$((passed + p)) failed=$((failed + f))
  echo "  $name: $p passed, $f failed"
  [ "$f" = 0 ] || grep -E '^\[  (FAILED|ERROR)|Assertion|ERROR|panic' "$log/unit/$name.txt" | head -20 | sed 's/^/    /'
done

echo "== in-guest test kernels (XTF style)"
# Each test kernel is built once per privops backend its source names in an "XTF-ENVS:"
# line (build/tests/xtf/<backend>/), and booted with privops=<backend>.
for k in "$BUILD"/tests/xtf/*/test-*.elf; do
  [ -f "$k" ] || continue
  name=$(basename "$k" .elf)
  env=$(basename "$(dirname "$k")")
  mkdir -p "$log/xtf/$env"
  # A test runs once per QEMU CPU model its source names in an "XTF-CPUS:" line
  # (default: max), each reported and logged on its own; its command line says which
  # (xtf-cpu=MODEL), so the kernel can check CPUID agrees.
  cpus=$(sed -n 's/.*XTF-CPUS: *//p' "tests/xtf/$name.c" 2>/dev/null | head -1)
  # A test that drives a disk names its size in sectors ("XTF-DISK: N"): it gets a fresh
  # raw image of that size as the machine's virtio-blk disk.
  sectors=$(sed -n 's/.*XTF-DISK: *//p' "tests/xtf/$name.c" 2>/dev/null | head -1)
  disk=()
  if [ -n "$sectors" ]; then
    truncate -s 0 "$log/xtf/$env/$name.img" && truncate -s $((sectors * 512)) "$log/xtf/$env/$name.img"
    printf 'hako xtf disk\n' | dd of="$log/xtf/$env/$name.img" conv=notrunc status=none
    disk=(--disk "$log/xtf/$env/$name.img")
  fi
  for cpu in ${cpus:-max}; do
    label=$env/$name
    [ -n "$cpus" ] && label="$env/$name[$cpu]"
    logf="$log/xtf/$env/$name${cpus:+.$cpu}.txt"
    # Console input for the kernels that read it (test-console); the rest ignore it.
    printf 'hako\n' | scripts/qemu-run.sh --console --timeout 60 --cpu "$cpu" "${disk[@]}" "$BUILD/hako.elf" "$k" \
      "privops=$env xtf-cpu=$cpu" > "$logf" 2>&1
    rc=$?
    result=$(grep -ao 'Test result: [A-Z]*' "$logf" | tail -1)
    case "$result:$rc" in
      "Test result: SUCCESS:0") echo "PASS: $label"; passed=$((passed + 1)) ;;
      "Test result: SKIP:0") echo "SKIP: $label"; skipped=$((skipped + 1)) ;;
      *) echo "FAIL: $label (${result:-no result line}, exit status $rc)"; failed=$((failed + 1))
         grep -a -E 'FAIL|ERROR|PANIC|crashed' "$logf" | head -20 | sed 's/^/    /' ;;
    esac
  done
done
# The framework itself: a kernel that makes no check must not pass.
logf="$log/xtf/selftest-nocheck.txt"
scripts/qemu-run.sh --timeout 60 "$BUILD/hako.elf" "$BUILD/tests/xtf/selftest/nocheck.elf" \
  < /dev/null > "$logf" 2>&1
rc=$?
if grep -aq 'Test result: ERROR' "$logf" && [ "$rc" != 0 ]; then
  echo "PASS: xtf framework reports ERROR for a test with no checks"; passed=$((passed + 1))
else
  echo "FAIL: xtf framework: a test with no checks got $(grep -ao 'Test result: [A-Z]*' "$logf" | tail -1), exit status $rc"
  failed=$((failed + 1))
fi

echo "== system tests (QEMU)"
for s in tests/system/test-*.sh; do
  name=$(basename "$s" .sh)
  bash "$s" > "$log/system/$name.txt" 2>&1
  rc=$?
  count_lines "$log/system/$name.txt"
  n=$(grep -cE '^(PASS|FAIL|SKIP): ' "$log/system/$name.txt")
  if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' "$log/system/$name.txt"; then
    echo "FAIL: $name exited $rc without reporting a failure"; failed=$((failed + 1))
  fi
  echo "  $name: $n checks"
done

echo "== newlib"
bash tests/newlib/check.sh > "$log/newlib/check.txt" 2>&1
count_lines "$log/newlib/check.txt"

echo "logs: $log"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
