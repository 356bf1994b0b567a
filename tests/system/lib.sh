# tests/system/lib.sh: helpers for system tests that boot hako under QEMU.
# A test sources this, calls boot/expect_* and ends with `finish`.
BUILD=${BUILD:-build}
HV=$BUILD/hako.elf
DOM0=$BUILD/guest-pv.elf
OUT=$(mktemp)
STATUS=0
FAILS=0
trap 'rm -f "$OUT"' EXIT

# boot [qemu-run options] KERNEL [cmdline...]: run the hypervisor with KERNEL as dom0.
boot() {
  local opts=()
  while [ "${1:-}" != "${1#--}" ]; do opts+=("$1" "$2"); shift 2; done
  local kernel=$1; shift
  scripts/qemu-run.sh --timeout 30 "${opts[@]}" "$HV" "$kernel" "$@" > "$OUT" 2>&1
  STATUS=$?
  tr -d '\r' < "$OUT" > "$OUT.clean" && mv "$OUT.clean" "$OUT"
}

# session TIMEOUT [cmdline...]: feed stdin to dom0's console (then ^D) and record the
# output, as a person would with `make run`. SESSION_OPTS: more qemu-run.sh options
# (e.g. --disk IMAGE).
SESSION_OPTS=()
session() {
  local timeout=$1; shift
  scripts/qemu-run.sh --console --timeout "$timeout" "${SESSION_OPTS[@]}" "$HV" "$DOM0" "$@" > "$OUT" 2>&1
  STATUS=$?
  tr -d '\r' < "$OUT" > "$OUT.clean" && mv "$OUT.clean" "$OUT"
}

# Report one check as PASS/FAIL; on failure show the console output.
result() {
  local ok=$1 name=$2
  if [ "$ok" = 1 ]; then
    echo "PASS: $name"
  else
    echo "FAIL: $name"
    FAILS=$((FAILS + 1))
    sed 's/^/    | /' "$OUT" | tail -25
  fi
}

# expect_status N NAME: the machine exited with status N.
expect_status() {
  [ "$STATUS" = "$1" ] && result 1 "$2" || { echo "    status $STATUS, wanted $1"; result 0 "$2"; }
}

# expect_output NAME PATTERN...: every extended regex appears in the console output.
expect_output() {
  local name=$1; shift
  local p
  for p in "$@"; do
    if ! grep -aqE -- "$p" "$OUT"; then
      echo "    missing: $p"
      result 0 "$name"
      return
    fi
  done
  result 1 "$name"
}

# expect_no_output NAME PATTERN: the regex does not appear.
expect_no_output() {
  if grep -aqE -- "$2" "$OUT"; then echo "    unexpected: $2"; result 0 "$1"; else result 1 "$1"; fi
}

finish() {
  [ "$FAILS" = 0 ]
}
