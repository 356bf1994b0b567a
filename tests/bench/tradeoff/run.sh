#!/usr/bin/env bash
# tests/bench/tradeoff/run.sh BUILD CSV: the PV trade-off benchmark (make bench runs it
# from scripts/bench.sh). Boots the reference kernel in each of the five modes (native:
# no hypervisor; trap, pv, pv-batch, pv-async: privops=<mode> on hako), runs the user
# program `tradeoff` (tradeoff.c) from the shell, and appends to CSV, per workload and
# mode, the rows tradeoff.<workload>.<mode>:
#   icount  insns        instructions per op (guest and hypervisor together)
#   icount  ratio        that against native
#   icount  syscalls/op exceptions/op cr3load/op tlbflush/op hypercalls/op
#   tcg     ns           median over TRADEOFF_ROUNDS boots (default 5, modes interleaved)
#                        of each boot's median wall-clock ns per op
#   tcg     ratio        that against native
# Then prints the table, checks the targets (reported, never a test), and draws
# BUILD/bench/tradeoff.svg from the CSV. Exit status 1 when a boot fails.
set -u
BUILD=$1
csv=$2
cd "$(dirname "$0")/../../.."
out=$BUILD/bench/tradeoff
mkdir -p "$out"
modes="native trap pv pv-batch pv-async"
rounds=${TRADEOFF_ROUNDS:-5}
status=0

# Boot mode under config (icount or tcg), run tradeoff, keep its lines in log.
boot() {
  local mode=$1 config=$2 log=$3 opt=()
  [ "$config" = icount ] && opt=(--icount)
  if [ "$mode" = native ]; then
    printf 'tradeoff\npoweroff\n' | scripts/qemu-run.sh --console --timeout 900 "${opt[@]}" \
      --mem 40M --native "$BUILD/guest-pv-native.elf" > "$log.full" 2>&1
  else
    printf 'tradeoff\npoweroff\n' | scripts/qemu-run.sh --console --timeout 900 "${opt[@]}" \
      "$BUILD/hako.elf" "$BUILD/guest-pv.elf" "privops=$mode" > "$log.full" 2>&1
  fi
  sed -n 's/.*\(TRADEOFF[ -].*\)/\1/p' "$log.full" | tr -d '\r' > "$log"
  if ! grep -q '^TRADEOFF-END' "$log"; then
    echo "tradeoff: $mode ($config) did not finish; see $log.full" >&2
    status=1
  fi
}

for mode in $modes; do
  boot "$mode" icount "$out/$mode.icount.log"
done
for r in $(seq 1 "$rounds"); do
  for mode in $modes; do
    boot "$mode" tcg "$out/$mode.tcg.$r.log"
  done
done

# Rows: fields of a TRADEOFF line are name ops med_ticks min_ticks med_ns sc exc cr3 fl hc.
awk -v modes="$modes" -v rounds="$rounds" -v dir="$out" '
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  BEGIN {
    nm = split(modes, m, " ")
    for (k = 1; k <= nm; k++) {
      f = dir "/" m[k] ".icount.log"
      while ((getline line < f) > 0) {
        split(line, x, " ")
        if (x[1] != "TRADEOFF") continue
        w = x[2]; if (!(w in seen)) { seen[w] = 1; order[++nw] = w }
        ins[w, m[k]] = x[4]; sc[w, m[k]] = x[7]; ex[w, m[k]] = x[8]
        c3[w, m[k]] = x[9]; fl[w, m[k]] = x[10]; hc[w, m[k]] = x[11]
      }
      close(f)
      for (r = 1; r <= rounds; r++) {
        f = dir "/" m[k] ".tcg." r ".log"
        while ((getline line < f) > 0) {
          split(line, x, " ")
          if (x[1] != "TRADEOFF") continue
          ns[x[2], m[k], ++nns[x[2], m[k]]] = x[6]
        }
        close(f)
      }
    }
    for (i = 1; i <= nw; i++) {
      w = order[i]
      for (k = 1; k <= nm; k++) {
        n = nns[w, m[k]]
        if (n) { delete a; for (j = 1; j <= n; j++) a[j] = ns[w, m[k], j]; tns[w, m[k]] = median(a, n) }
      }
      for (k = 1; k <= nm; k++) {
        key = w SUBSEP m[k]; id = "tradeoff." w "." m[k]
        if (key in ins) {
          printf "%s,icount,%s,insns\n", id, ins[key]
          if (ins[w, "native"] > 0) printf "%s,icount,%.4f,ratio\n", id, ins[key] / ins[w, "native"]
          printf "%s,icount,%s,syscalls/op\n%s,icount,%s,exceptions/op\n", id, sc[key], id, ex[key]
          printf "%s,icount,%s,cr3load/op\n%s,icount,%s,tlbflush/op\n", id, c3[key], id, fl[key]
          printf "%s,icount,%s,hypercalls/op\n", id, hc[key]
        }
        if (key in tns) {
          printf "%s,tcg,%s,ns\n", id, tns[key]
          if (tns[w, "native"] > 0) printf "%s,tcg,%.4f,ratio\n", id, tns[key] / tns[w, "native"]
        }
      }
    }
  }' > "$out/rows.csv"
cat "$out/rows.csv" >> "$csv"

# The table: instructions per op and the ratio to native (icount), the TCG ratio, and the
# transitions per op (syscalls into ring 0 / exceptions / CR3 loads / TLB flushes).
echo
echo "The PV trade-off (tests/bench/tradeoff): per operation, guest and hypervisor together"
awk -F, -v modes="$modes" '
  # One block: per workload and mode, the value of config/unit per op and its ratio.
  function table(title, config, unit,   i, k, w, id) {
    printf "%-10s", title
    for (k = 1; k <= nm; k++) printf " %18s", m[k]
    printf "\n"
    for (i = 1; i <= n; i++) {
      w = order[i]; printf "%-10s", w
      for (k = 1; k <= nm; k++) {
        id = "tradeoff." w "." m[k] "," config
        if ((id "," unit) in v) printf " %10d %6.2fx", v[id "," unit], v[id ",ratio"]
        else printf " %18s", "-"
      }
      printf "\n"
    }
  }
  { v[$1 "," $2 "," $4] = $3; split($1, p, "."); if (p[1] == "tradeoff" && !(p[2] in seen)) { seen[p[2]] = 1; order[++n] = p[2] } }
  END {
    nm = split(modes, m, " ")
    table("icount", "icount", "insns")
    printf "\n"
    table("tcg ns", "tcg", "ns")
    printf "\n%-10s", "sc/exc/cr3/fl"
    for (k = 1; k <= nm; k++) printf " %18s", m[k]
    printf "\n"
    for (i = 1; i <= n; i++) {
      w = order[i]; printf "%-10s   ", w
      for (k = 1; k <= nm; k++) {
        id = "tradeoff." w "." m[k]
        if ((id ",icount,insns") in v)
          printf " %18s", sprintf("%.1f/%.1f/%.1f/%.1f", v[id ",icount,syscalls/op"], v[id ",icount,exceptions/op"], v[id ",icount,cr3load/op"], v[id ",icount,tlbflush/op"])
        else printf " %18s", "-"
      }
      printf "\n"
    }
  }' "$out/rows.csv"

# The targets (issue 13), from the icount rows.
echo
awk -F, '
  $2 == "icount" && $4 == "insns" { split($1, p, "."); v[p[2], p[3]] = $3; w[p[2]] = 1 }
  $2 == "tcg" && $4 == "ns" { split($1, p, "."); tn[p[2], p[3]] = $3 }
  function ratio(a, b) { return b > 0 ? a / b : 0 }
  END {
    split("getpid fork_exec ctxsw pagefault mmap1m", t, " ")
    for (i = 1; i <= 5; i++) if ((t[i], "pv") in v)
      printf "target: pv within 2x of native on %s: %.2fx: %s\n", t[i], ratio(v[t[i], "pv"], v[t[i], "native"]), (ratio(v[t[i], "pv"], v[t[i], "native"]) <= 2 ? "met" : "MISSED")
    split("fork_exit mmap1m", t, " ")
    for (i = 1; i <= 2; i++) if ((t[i], "pv-batch") in v) {
      ri = ratio(v[t[i], "pv"], v[t[i], "pv-batch"]); rt = ratio(tn[t[i], "pv"], tn[t[i], "pv-batch"])
      printf "target: pv-batch at least 1.3x faster than pv on %s: %.2fx in instructions (%s), %.2fx in TCG time (%s)\n", t[i], ri, (ri >= 1.3 ? "met" : "MISSED"), rt, (rt >= 1.3 ? "met" : "MISSED")
    }
    # icount is deterministic: compare exactly, and say by how much
    slower = ""; faster = 0; gains = ""
    for (x in w) if (((x, "pv-async") in v) && ((x, "pv-batch") in v)) {
      if (v[x, "pv-async"] > v[x, "pv-batch"]) slower = slower " " x
      if (v[x, "pv-async"] < v[x, "pv-batch"]) {
        faster++
        gains = gains sprintf(" %s %.2f%%", x, 100 * (1 - v[x, "pv-async"] / v[x, "pv-batch"]))
      }
    }
    printf "target: pv-async no slower than pv-batch on any workload: %s\n", (slower == "" ? "met" : "MISSED on" slower)
    printf "target: pv-async faster than pv-batch on at least two workloads: %d (%s ): %s\n", faster, gains, (faster >= 2 ? "met" : "MISSED")
    notslower = ""
    for (x in w) if (((x, "trap") in v) && ((x, "pv") in v) && v[x, "trap"] <= v[x, "pv"]) notslower = notslower " " x
    printf "target: trap slower than pv on every workload: %s\n", (notslower == "" ? "met" : "not on" notslower)
  }' "$out/rows.csv"

if python3 tests/bench/tradeoff/svg.py "$csv" "$BUILD/bench/tradeoff.svg"; then
  echo "picture: $BUILD/bench/tradeoff.svg"
else
  status=1
fi
exit $status
