#!/usr/bin/env bash
# Install the Debian packages hako needs to build and test (`deps.sh bench`: and to
# benchmark). Idempotent: when everything is installed it makes no apt calls, prints
# nothing and exits 0.
# As root it installs what is missing; otherwise it says what to install.
set -euo pipefail

# Not needed: bzip2 (newlib-source ships a .tar.xz) and texinfo (newlib's
# all-target-newlib/install-target-newlib never run makeinfo; tested without it).
PACKAGES="gcc g++ make binutils python3 qemu-system-x86 newlib-source libcmocka-dev gdb cpio xz-utils e2fsprogs"
# `deps.sh bench` adds what the host ring benchmark (tests/ringbench, `make bench` only)
# compares ring-io with: Concurrency Kit, DPDK and Xen's headers. libdpdk-dev alone pulls
# in ~220 packages (~32 MB download, ~160 MB installed), so `make run`/`make test` do not.
BENCH_PACKAGES="libck-dev libdpdk-dev libxen-dev pkg-config"
if [ "${1:-}" = bench ]; then
    PACKAGES="$PACKAGES $BENCH_PACKAGES"
elif [ $# -gt 0 ]; then
    echo "usage: deps.sh [bench]" >&2
    exit 2
fi

read -r -a pkgs <<<"$PACKAGES"

missing_pkgs() {
    # One dpkg-query for all packages; unknown packages print nothing on stdout.
    local installed p
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null \
                | awk '$(NF-2) == "install" && $NF == "installed" {print $1}') || true
    for p in "${pkgs[@]}"; do
        grep -qx -- "$p" <<<"$installed" || printf '%s ' "$p"
    done
}

missing=$(missing_pkgs)
[ -z "$missing" ] && exit 0
read -r -a missing_arr <<<"$missing"

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: ${missing_arr[*]}" >&2
    echo "deps.sh: install them as root with:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing_arr[*]}" >&2
    exit 1
fi

log=$(mktemp /tmp/hako-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! apt-get update >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: apt-get update failed" >&2
    exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing_arr[@]}" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "deps.sh: apt-get install failed for: ${missing_arr[*]}" >&2
    exit 1
fi

still=$(missing_pkgs)
if [ -n "$still" ]; then
    echo "deps.sh: still not installed after apt-get install: $still" >&2
    exit 1
fi
for p in "${missing_arr[@]}"; do echo "deps.sh: installed $p"; done
