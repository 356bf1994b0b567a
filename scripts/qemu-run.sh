#!/usr/bin/env bash
# scripts/qemu-run.sh: boot the hako hypervisor with a dom0 kernel under QEMU (TCG).
#
#   qemu-run.sh [--timeout SECONDS] [--reboot-loop] [--debug] [--mem SIZE] [--icount]
#               [--console] [--machine SPEC] [--cpu SPEC] [--disk IMAGE]
#               HYPERVISOR_ELF DOM0_ELF [HYPERVISOR_OPTIONS... --]
#               [DOM0 CMDLINE...]
#   qemu-run.sh [same options] --native KERNEL_ELF [CMDLINE...]
#
# --native: boot the reference kernel's native image on the bare machine, no hypervisor.
#
# --machine: QEMU's -M value (default microvm; e.g. microvm,rtc=off for a machine
# without a real-time clock). --cpu: QEMU's -cpu value (default max; e.g. max,-smap,-smep
# to run without SMAP and SMEP).
#
# --disk: give the machine a virtio-blk disk backed by the raw image IMAGE, on microvm's
# virtio-mmio bus. The machine then runs without ACPI, so that QEMU names the device on
# the command line (virtio_mmio.device=SIZE@BASE:IRQ), where the hypervisor finds it.
#
# --console (what `make run` uses): on a terminal, no timeout, ^C goes to the guest and
# Ctrl-A x quits QEMU; otherwise standard input is fed to the console followed by ^D
# (end of input), so `printf 'cmd\npoweroff\n' | make run` scripts a session.
#
# Exit status is the machine's: dom0's poweroff status (0..123), 124 reboot requested,
# 125 no result (QEMU died, timed out, or the machine reset/triple-faulted), 126 dom0
# crashed, 127 hypervisor panic. QEMU's isa-debug-exit turns the hypervisor's status v
# into process status 2v+1; every other QEMU exit is "no result".
set -u
timeout_s=60
reboot_loop=0
debug=0
mem=256M
icount=0
console=0
machine=microvm
cpu=max
native=0
disk=
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s=$2; shift 2 ;;
    --reboot-loop) reboot_loop=1; shift ;;
    --debug) debug=1; shift ;;
    --mem) mem=$2; shift 2 ;;
    --icount) icount=1; shift ;;
    --console) console=1; shift ;;
    --machine) machine=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --native) native=1; shift ;;
    --disk) disk=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -lt $((2 - native)) ]; then
  sed -n '2,26p' "$0" >&2
  exit 2
fi
if [ "$native" = 1 ]; then
  kernel=(-kernel "$1")               # the whole command line is the kernel's
  banner='hako PV guest kernel'
  shift
  cmdline="$*"
else
  kernel=(-kernel "$1" -initrd "$2")  # the hypervisor, dom0 as its boot module
  banner='hako hypervisor'
  shift 2
  cmdline="$*"
  case " $cmdline " in
    *" -- "*|"-- "*|*" --"|--) ;;
    *) cmdline="-- $cmdline" ;;     # everything given is dom0's command line
  esac
fi

interactive=0
if [ "$console" = 1 ] && [ -t 0 ]; then
  interactive=1
  timeout_s=0
  serial=(-chardev stdio,id=con,mux=on,signal=off -serial chardev:con -mon chardev=con)
else
  serial=(-serial stdio)
fi
drive=()
if [ -n "$disk" ]; then
  machine="$machine,acpi=off"
  drive=(-drive "id=disk0,file=$disk,format=raw,if=none" -device virtio-blk-device,drive=disk0)
fi
args=(-M "$machine" -accel tcg -cpu "$cpu" -m "$mem" -smp 1 -no-reboot -nodefaults
      -display none "${serial[@]}"
      -device isa-debug-exit,iobase=0xf4,iosize=4
      "${drive[@]}" "${kernel[@]}" -append "$cmdline")
[ "$icount" = 1 ] && args+=(-icount shift=0,sleep=off)
[ "$debug" = 1 ] && args+=(-s -S)

errlog=$(mktemp)
seen=$(mktemp)
trap 'rm -f "$errlog" "$seen"' EXIT

qemu() {
  if [ "$timeout_s" = 0 ]; then
    qemu-system-x86_64 "${args[@]}"
  else
    timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "${args[@]}"
  fi
}

run_once() {
  # QEMU's own diagnostics go to stderr (kept apart so they can be told from a result).
  local rc
  if [ "$console" = 1 ] && [ "$interactive" = 0 ]; then
    # Feed only once the hypervisor (or the native kernel) has set up the UART
    # (switching its FIFO on drops whatever is waiting), i.e. once its banner is out.
    : > "$seen"
    { for _ in $(seq 600); do grep -aq "$banner" "$seen" && break; sleep 0.05; done
      cat; printf '\004'; } | qemu 2> >(tee "$errlog" >&2) | tee "$seen"
    rc=${PIPESTATUS[1]}
  else
    qemu 2> >(tee "$errlog" >&2)
    rc=$?
  fi
  wait
  # Exit code 1 is both "the machine stopped with status 0" and QEMU failing to start;
  # QEMU says why on stderr in the second case.
  if [ "$rc" = 1 ] && grep -qE '^qemu(-system-x86_64)?: ' "$errlog" &&
     ! grep -q 'terminating on signal' "$errlog"; then
    echo "hako: QEMU failed to run the machine (see its message above)" >&2
    status=125
  elif [ $((rc % 2)) = 1 ] && [ "$rc" -lt 256 ]; then
    status=$(((rc - 1) / 2))
  else
    case "$rc" in
      124|137) echo "hako: QEMU timed out after ${timeout_s}s (hang?)" >&2 ;;
      0) echo "hako: QEMU exited without a result (machine reset or triple fault)" >&2 ;;
      *) echo "hako: QEMU failed (exit $rc)" >&2 ;;
    esac
    status=125
  fi
}

while :; do
  run_once
  if [ "$status" = 124 ] && [ "$reboot_loop" = 1 ]; then
    echo "hako: dom0 asked for a reboot; starting again" >&2
    continue
  fi
  break
done
case "$status" in
  126) echo "hako: dom0 crashed" >&2 ;;
  127) echo "hako: hypervisor panic" >&2 ;;
esac
exit "$status"
