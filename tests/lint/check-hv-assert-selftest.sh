#!/usr/bin/env bash
# tests/lint/check-hv-assert-selftest.sh: prove that check-hv-assert.py can fail, and
# fails only for side effects. On copies of hypervisor/ it runs the checker once
# unmodified (must pass), then once per sample, each appended to a fresh copy of
# frame.c: a bad sample must give exit status 1 and a FAIL line naming its line and its
# kind of side effect; a good one (operators that only look alike) must still pass.
# Last, a tree with no HV_ASSERT at all must fail. Prints PASS/FAIL per run; exits
# non-zero if any fails.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
checker=$root/tests/lint/check-hv-assert.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

# A fresh copy of the hypervisor sources in $tmp/t.
fresh() {
  rm -rf "$tmp/t" && mkdir -p "$tmp/t" && cp -r "$root/hypervisor" "$tmp/t/"
}

fresh
if python3 "$checker" --root "$tmp/t" > "$tmp/out.txt" 2>&1; then
  echo "PASS: checker passes on an unmodified copy"
else
  echo "FAIL: checker fails on the unmodified tree (samples still run):"
  grep '^FAIL: ' "$tmp/out.txt" | sed 's/^/    /'; rc=1
fi

# bad NAME REASON SAMPLE: SAMPLE (its HV_ASSERT on its first line) appended to frame.c must
# fail with a FAIL line for that line whose reasons match the regex REASON.
bad() {
  fresh
  local f=$tmp/t/hypervisor/frame.c
  local line=$(($(wc -l < "$f") + 1))
  printf '%s\n' "$3" >> "$f"
  python3 "$checker" --root "$tmp/t" > "$tmp/out.txt" 2>&1
  local status=$?
  local want="^FAIL: hypervisor/frame\\.c:$line: HV_ASSERT\\(.*\\) may have side effects: .*$2"
  if [ "$status" = 1 ] && grep -qE "$want" "$tmp/out.txt"; then
    echo "PASS: checker catches $1"
  else
    echo "FAIL: checker catches $1: exit status $status, no FAIL line matching /$want/"
    sed 's/^/    /' "$tmp/out.txt" | head -5; rc=1
  fi
}

# good NAME SAMPLE: SAMPLE appended to frame.c must still pass.
good() {
  fresh
  printf '%s\n' "$2" >> "$tmp/t/hypervisor/frame.c"
  if python3 "$checker" --root "$tmp/t" > "$tmp/out.txt" 2>&1; then
    echo "PASS: checker accepts $1"
  else
    echo "FAIL: checker accepts $1:"; sed 's/^/    /' "$tmp/out.txt" | head -5; rc=1
  fi
}

bad "post-increment" "'\\+\\+'" '    HV_ASSERT(free_count++ < 10);'
bad "pre-decrement" "'--'" '    HV_ASSERT(--free_count > 0);'
bad "assignment" "assignment '='" '    HV_ASSERT((free_head = 0) == 0);'
bad "compound assignment" "assignment '\\+='" '    HV_ASSERT(free_count += 1);'
bad "shift assignment" "assignment '<<='" '    HV_ASSERT(free_count <<= 1);'
bad "assignment through ->" "assignment '\\|='" '    HV_ASSERT(frame_table->type |= 1);'
bad "call of an unlisted function" "call of frame_alloc\\(\\)" \
  '    HV_ASSERT(frame_alloc(OWNER_HV, NULL) != 0);'
bad "call through a pointer" "call through a pointer" '    HV_ASSERT((*check_fn)(free_count));'
bad "call through a member" "call of check\\(\\)" '    HV_ASSERT(ops->check(free_count));'
bad "side effect on a later line" "'\\+\\+'" "$(printf '    HV_ASSERT(free_count > 0 &&\n              free_head++ != 0);')"
good "comparisons, shifts, casts, sizeof, pure helpers, comments and strings" \
  "$(printf '%s\n' '    HV_ASSERT(a == b && c != d && e <= f && g >= h && (x << 1) < (y >> 2) &&' \
    '              (uint64_t)(p->q) + sizeof(struct frame_info) - -1 > 0 && !(m & ~3) &&' \
    '              pgt_level(t) == 4 && current_vcpu() /* x = y++ */ && "a=b"[0] != '"'='"');')"

# A tree without any use: nothing checked is a failure, not a pass.
fresh
for f in "$tmp"/t/hypervisor/*.[ch]; do sed -i 's/HV_ASSERT/HV_CHECK/g' "$f"; done
python3 "$checker" --root "$tmp/t" > "$tmp/out.txt" 2>&1
status=$?
if [ "$status" = 1 ] && grep -q '^FAIL: no HV_ASSERT use found' "$tmp/out.txt"; then
  echo "PASS: checker fails when it finds no use"
else
  echo "FAIL: checker fails when it finds no use: exit status $status"
  sed 's/^/    /' "$tmp/out.txt" | head -5; rc=1
fi
exit $rc
