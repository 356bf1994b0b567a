#!/usr/bin/env bash
# tests/system/test-crash.sh: a faulting guest stops with a register dump naming the
# domain, vector, rip and error code; the hypervisor survives and exits 126.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh

check_fault() {
  local word=$1 vector=$2 name=$3 extra=$4
  boot "$DOM0" "fault=$word"
  expect_status 126 "fault=$word: dom0 crash exits with status 126"
  expect_output "fault=$word: dump names domain, vector $vector, rip, error code" \
    '^\(hv\) d0 \(dom0\) crashed: unhandled exception' \
    "vector $vector \($name" 'error code 0x[0-9a-f]+' 'rip ffffffff8[0-9a-f]+ cs 002b' \
    'rax [0-9a-f]{16}' "$extra"
  expect_output "fault=$word: hypervisor cleans up after the crash" \
    'stopped: crash' 'all domains destroyed' 'machine exit status 126'
  expect_no_output "fault=$word: no hypervisor panic" 'PANIC'
}

check_fault ud 6 '#UD' 'r15 [0-9a-f]{16}'
check_fault pf 14 '#PF' 'cr2 ffff800000000000'
check_fault gp 13 '#GP' 'rflags [0-9a-f]{16}'

# A fault the guest has a handler for, but with no usable stack for the trap frame: only
# the domain stops, with a clear message.
boot "$DOM0" fault=badstack
expect_status 126 "fault with a bad guest stack: dom0 crash exits with status 126"
expect_output "fault with a bad guest stack: clear message and dump" \
  'd0 \(dom0\) crashed: cannot write a trap frame on the guest kernel stack' \
  'vector 6 \(#UD' 'rsp 0000000000001000' 'machine exit status 126'
expect_no_output "fault with a bad guest stack: no hypervisor panic" 'PANIC'

# The same with the stack at the top of the kernel's top-level table (mapped read-only,
# as every table): the frame is never written there, whichever way hako writes it.
boot "$DOM0" fault=rostack
expect_status 126 "fault with the stack on a page table: dom0 crash exits with status 126"
expect_output "fault with the stack on a page table: refused like a bad stack" \
  'd0 \(dom0\) crashed: cannot write a trap frame on the guest kernel stack' \
  'vector 6 \(#UD' 'machine exit status 126'
expect_no_output "fault with the stack on a page table: no hypervisor panic" 'PANIC'

# A user-mode syscall whose trap frame cannot be written below the kernel stack (set on
# the read-only page of the kernel's top-level table by test-mmu-attacks): the fast path
# faults writing it (cr2 in that page), falls back to the full path, and the domain stops
# at the user's rip and rsp with the same message.
boot "$BUILD/tests/xtf/pv/test-mmu-attacks.elf" privops=pv crash=syscall-stack
expect_status 126 "user syscall with a read-only kernel stack: dom0 crash exits with status 126"
expect_output "user syscall with a read-only kernel stack: refused like a bad stack" \
  'd0 \(dom0\) crashed: cannot write a trap frame on the guest kernel stack' \
  'rip 0000000000400013 cs 002b' 'rsp 0000000000402000' 'cr2 ffffffff8[0-9a-f]+fa0' \
  'machine exit status 126'
expect_no_output "user syscall with a read-only kernel stack: no hypervisor panic" 'PANIC'

# A hypercall from the last bytes of the lower half cannot be returned from (sysret or
# iret to a non-canonical address would fault in ring 0): the domain stops instead, also
# when an event upcall is due at that moment.
boot "$DOM0" fault=syscall-end
expect_status 126 "hypercall returning to a non-canonical address: dom0 crash, status 126"
expect_output "hypercall returning to a non-canonical address: clear message" \
  'd0 \(dom0\) crashed: hypercall returns to a non-canonical address' 'rip 0000800000000000'
expect_no_output "hypercall returning to a non-canonical address: no hypervisor panic" 'PANIC'

# A fault in the hypervisor itself is a panic: register dump, status 127.
boot "$DOM0" hv_selftest=fault --
expect_status 127 "hypervisor exception stops the machine with status 127"
expect_output "hypervisor panic dumps registers" 'PANIC: exception in the hypervisor' \
  'vector 13 \(#GP' 'rip ffff8000001[0-9a-f]+ cs 0008' 'error code 0x0'
expect_no_output "the guest never ran after the panic" '^\(d0\)'
finish
