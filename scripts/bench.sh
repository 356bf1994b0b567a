#!/usr/bin/env bash
# scripts/bench.sh BUILD: run the benchmark kernels, then the host ring benchmark
# (tests/ringbench), and write BUILD/bench/results.csv (metric,config,value,unit).
# Each kernel runs twice in one go: under -icount shift=0, where rdtsc counts retired
# instructions (deterministic), and under plain TCG, where it counts host TSC ticks
# (wall-clock-like, noisy: compare ratios within one run only).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
out=$BUILD/bench
mkdir -p "$out"
csv=$out/results.csv
echo "metric,config,value,unit" > "$csv"
status=0
for k in "$BUILD"/tests/bench/bench-*.elf; do
  name=$(basename "$k" .elf)
  for config in icount tcg; do
    opt=(); [ "$config" = icount ] && opt=(--icount)
    scripts/qemu-run.sh --timeout 300 "${opt[@]}" "$BUILD/hako.elf" "$k" > "$out/$name.$config.log" 2>&1
    rc=$?
    if [ "$rc" != 0 ] || ! grep -q 'Test result: SUCCESS' "$out/$name.$config.log"; then
      echo "bench: $name ($config) failed, exit $rc; see $out/$name.$config.log" >&2
      status=1
      continue
    fi
    unit=insns; [ "$config" = tcg ] && unit=tsc
    tr -d '\r' < "$out/$name.$config.log" | sed -n 's/^(d0) BENCH //p' |
      awk -v config="$config" -v unit="$unit" '
        function ratio(f,   p) { split(f, p, "/"); return sprintf("%.4f", p[1] / p[2]) }
        { print $1 "," config "," $2 "," unit
          print $1 "," config "," ratio($4) ",syscalls/op"
          print $1 "," config "," ratio($5) ",tlbflush/op"
          print $1 "," config "," ratio($6) ",cr3load/op" }' >> "$csv"
  done
done

# Boot to the dom0 shell prompt: the reference guest says when its first process first
# reads the console ("ready for input: rdtsc N, M ms since the hypervisor started").
# Under icount rdtsc counts instructions; under TCG we also time the run from the host,
# QEMU's own start included.
for config in icount tcg; do
  opt=(); [ "$config" = icount ] && opt=(--icount)
  log=$out/boot.$config.log
  : > "$log"
  start=$(date +%s%N) host_ms=
  while IFS= read -r line; do
    printf '%s\n' "$line" >> "$log"
    case "$line" in
      *"ready for input:"*) host_ms=$(( ($(date +%s%N) - start) / 1000000 )) ;;
    esac
  done < <(printf 'poweroff\n' | scripts/qemu-run.sh --console --timeout 120 "${opt[@]}" \
             "$BUILD/hako.elf" "$BUILD/guest-pv.elf" 2>&1)
  rdtsc=$(sed -n 's/.*ready for input: rdtsc \([0-9]*\), \([0-9]*\) ms.*/\1 \2/p' "$log" | head -1)
  if [ -z "$rdtsc" ]; then
    echo "bench: boot to the prompt ($config) failed; see $log" >&2
    status=1
    continue
  fi
  set -- $rdtsc
  if [ "$config" = icount ]; then
    echo "boot.prompt,icount,$1,insns" >> "$csv"
  else
    echo "boot.prompt,tcg,$2,ms" >> "$csv"
    echo "boot.prompt,host,$host_ms,ms" >> "$csv"
  fi
done

# The table: instructions (icount), TSC ticks (TCG), and hardware transitions per op.
printf '\n%-16s %12s %12s %12s %12s %12s\n' metric "insns/op" "tcg tsc/op" "syscalls/op" \
  "tlbflush/op" "cr3load/op"
awk -F, '$4 == "insns" { i[$1] = $3; order[++n] = $1 }
         $2 == "tcg" && $4 == "tsc" { t[$1] = $3 }
         $2 == "icount" && $4 == "syscalls/op" { s[$1] = $3 }
         $2 == "icount" && $4 == "tlbflush/op" { f[$1] = $3 }
         $2 == "icount" && $4 == "cr3load/op" { c[$1] = $3 }
         END { for (k = 1; k <= n; k++) { m = order[k];
               printf "%-16s %12s %12s %12s %12s %12s\n", m, i[m], t[m], s[m], f[m], c[m] } }' "$csv"

# Targets from the issues, checked here and reported (never as a test).
awk -F, '$2 == "icount" && $4 == "insns" { v[$1] = $3 }
         END {
           if (("mmu.batch@64" in v) && ("mmu.batch@512" in v)) {
             slope = (512 * v["mmu.batch@512"] - 64 * v["mmu.batch@64"]) / 448
             over = v["mmu.batch@64"] - slope
             printf "\nmmu: marginal cost per PTE (slope 64..512) %.1f insns; at batch 64 the per-PTE cost is %.1f above it (target <= 15): %s\n", slope, over, over <= 15 ? "met" : "NOT met"
           }
           if ("evtchn.rtt" in v)
             printf "evtchn.rtt: %.0f insns per inter-domain event round trip (target < 1000): %s\n", v["evtchn.rtt"], v["evtchn.rtt"] < 1000 ? "met" : "NOT met"
           if (("hc.multicall@64" in v) && ("hc.handler.null" in v)) {
             over = v["hc.multicall@64"] - v["hc.handler.null"]
             printf "multicall: %.1f insns per op beyond the bare handler at batch 64 (target <= 15): %s\n", over, over <= 15 ? "met" : "NOT met"
           }
           if (("hc.async@64" in v) && ("hc.handler.null" in v)) {
             over = v["hc.async@64"] - v["hc.handler.null"]
             printf "async: %.1f insns per op beyond the bare handler at batch 64, guest ring work included (target <= 25): %s\n", over, over <= 25 ? "met" : "NOT met"
           }
           if ("boot.prompt" in v)
             printf "boot.prompt: %.1f M insns to the dom0 shell prompt (target < 50 M): %s\n", v["boot.prompt"] / 1e6, v["boot.prompt"] < 50e6 ? "met" : "NOT met"
           if ("hc.null" in v)
             printf "hc.null: %.1f insns per round trip (target <= 60): %s\n", v["hc.null"], v["hc.null"] <= 60 ? "met" : "NOT met"
         }' "$csv"

awk -F, '$1 == "boot.prompt" && $2 == "host" { h = $3 } $1 == "boot.prompt" && $2 == "tcg" { t = $3 }
         END { if (h != "") printf "boot.prompt: %d ms wall on TCG from starting QEMU (%d ms after the hypervisor started) (target < 2000 ms): %s\n", h, t, h < 2000 ? "met" : "NOT met" }' "$csv"

# Host ring benchmark: ring-io against ck_ring, rte_ring and Xen's ring.h on the host's
# two cores (not in QEMU); appends ring.spsc.* and ring.burst32.* rows (ops/s).
ringbench=$BUILD/tests/ringbench/ringbench
echo
if [ -x "$ringbench" ]; then
  timeout 600 "$ringbench" "$csv" || { echo "bench: ringbench failed" >&2; status=1; }
else
  echo "bench: $ringbench not built (make bench builds it)" >&2
  status=1
fi
echo "results: $csv"
exit $status
