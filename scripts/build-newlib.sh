#!/usr/bin/env bash
# Build newlib (Debian's newlib-source) for freestanding x86-64 with the HOST
# gcc/binutils and install include/ + lib/{libc,libm}.a into OUTDIR.
#
#   scripts/build-newlib.sh OUTDIR        e.g. build/newlib
#
# Cached: OUTDIR/.stamp records the tarball's name, size and mtime plus the
# build flags; when it matches, this exits at once. The stamp is removed before
# a build starts and written only after include/ and lib/ are in place, so an
# interrupted build never looks complete. Consumers should depend on the stamp.
set -euo pipefail

# -Wa,--noexecstack: newlib's x86_64 memcpy/memset .S files lack .note.GNU-stack,
# which makes every final link warn about an executable stack.
TARGET_CFLAGS="-O2 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mcmodel=small -fno-stack-protector -g -Wa,--noexecstack"
# io-c99-formats: without it printf does not know %zu %jd %td %hhd (it prints
# "zu" and then consumes the wrong arguments).
CONFIGURE_FLAGS="--target=x86_64-elf --disable-multilib --disable-newlib-supplied-syscalls --disable-nls --enable-newlib-io-c99-formats"

die() { echo "build-newlib.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
[ "$OUT" != / ] || die "refusing OUTDIR=/"

find_tarball() {
    find /usr/src/newlib -maxdepth 1 -name 'newlib-*.tar.xz' 2>/dev/null | sort -V | tail -n 1
}
tarball=$(find_tarball)
if [ -z "$tarball" ]; then
    "$here/deps.sh" || die "dependencies missing (see above)"
    tarball=$(find_tarball)
    [ -n "$tarball" ] || die "no /usr/src/newlib/newlib-*.tar.xz even after deps.sh (is newlib-source installed?)"
fi

stamp_text() {
    stat -c 'tarball %n %s %Y' "$tarball"
    echo "cflags $TARGET_CFLAGS"
    echo "configure $CONFIGURE_FLAGS"
}
want=$(stamp_text)
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$want" ]; then
    exit 0
fi

# Serialise concurrent invocations (e.g. parallel make); re-check after the lock.
exec 9>"$OUT/.lock"
flock 9
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$want" ]; then
    exit 0
fi

for t in gcc ar as ld nm ranlib objcopy objdump readelf strip make tar xz flock; do
    command -v "$t" >/dev/null || die "'$t' not found; run scripts/deps.sh"
done

rm -f "$OUT/.stamp"
work="$OUT/.work"
log="$OUT/build.log"
rm -rf "$work"
mkdir -p "$work/build"
: >"$log"

# Long steps run in their own process group so that a signal to this script
# (kill PID, Ctrl-C) also stops make and its children instead of orphaning them.
child=
on_signal() {
    [ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null
    echo "build-newlib.sh: interrupted; $OUT is not stamped and will be rebuilt" >&2
    exit 130
}
trap on_signal INT TERM HUP
run() {
    setsid "$@" >>"$log" 2>&1 </dev/null &
    child=$!
    local rc=0
    wait "$child" || rc=$?
    child=
    return "$rc"
}

serial_from=1
fail() {
    # Show the 40 lines ending at make's first "***" error (after any serial
    # re-run), else the last 40 lines of the log.
    local first
    first=$(awk -v from="$serial_from" 'NR >= from && /\*\*\* / {print NR; exit}' "$log")
    if [ -n "$first" ]; then
        echo "build-newlib.sh: $1 failed; first error in $log:" >&2
        sed -n "$(( first > 40 ? first - 39 : 1 )),${first}p" "$log" >&2
    else
        echo "build-newlib.sh: $1 failed; last 40 lines of $log:" >&2
        tail -n 40 "$log" >&2
    fi
    echo "build-newlib.sh: work tree kept in $work" >&2
    exit 1
}

start=$(date +%s)
echo "build-newlib.sh: building $(basename "$tarball") into $OUT (log: $log)"

run tar -C "$work" -xJf "$tarball" || fail "unpacking $tarball"
src="$work/newlib-salsa"
[ -d "$src/newlib" ] || { echo "expected $src/newlib after unpacking" >>"$log"; fail "unpacking"; }
bld="$work/build"
prefix="$work/prefix"

gcc_inc=$(gcc -print-file-name=include)
# targ-include (generated newlib.h, _newlib_version.h) must precede libc/include,
# which only holds dummy copies of those two headers.
cc_target="$(command -v gcc) -nostdinc -isystem $bld/x86_64-elf/newlib/targ-include -isystem $src/newlib/libc/include -isystem $gcc_inc"

# shellcheck disable=SC2086
run env -C "$bld" "$src/configure" $CONFIGURE_FLAGS --prefix="$prefix" \
        CC_FOR_TARGET="$cc_target" \
        GCC_FOR_TARGET="$cc_target" \
        AR_FOR_TARGET="$(command -v ar)" \
        AS_FOR_TARGET="$(command -v as)" \
        LD_FOR_TARGET="$(command -v ld)" \
        NM_FOR_TARGET="$(command -v nm)" \
        RANLIB_FOR_TARGET="$(command -v ranlib)" \
        OBJCOPY_FOR_TARGET="$(command -v objcopy)" \
        OBJDUMP_FOR_TARGET="$(command -v objdump)" \
        READELF_FOR_TARGET="$(command -v readelf)" \
        STRIP_FOR_TARGET="$(command -v strip)" \
        CFLAGS_FOR_TARGET="$TARGET_CFLAGS" \
    || fail "configure"

if ! run make -C "$bld" -j"$(nproc)" all-target-newlib; then
    # Parallel output buries the first error; a serial re-run stops right at it.
    echo "=== parallel make failed; re-running serially ===" >>"$log"
    serial_from=$(wc -l <"$log")
    run make -C "$bld" all-target-newlib || fail "make all-target-newlib"
fi
run make -C "$bld" install-target-newlib || fail "make install-target-newlib"

inst="$prefix/x86_64-elf"
for f in include/newlib.h include/stdio.h lib/libc.a lib/libm.a; do
    [ -e "$inst/$f" ] || { echo "missing $inst/$f after install" >>"$log"; fail "install check"; }
done
grep -q '__NEWLIB__' "$inst/include/_newlib_version.h" \
    || { echo "installed _newlib_version.h is the dummy" >>"$log"; fail "install check"; }

# Move into place: old tree out of the way first, new one in, stamp last.
rm -rf "${OUT:?}/include" "${OUT:?}/lib"
mv "$inst/include" "$OUT/include"
mv "$inst/lib" "$OUT/lib"
rm -rf "$work"
printf '%s\n' "$want" >"$OUT/.stamp.tmp"
mv "$OUT/.stamp.tmp" "$OUT/.stamp"
echo "build-newlib.sh: done in $(( $(date +%s) - start )) s"
