#!/usr/bin/env bash
# ring-io/check-header.sh: ringio.h compiles alone, and with every function used
# (header-check.c), as C99, C11 and C++11 with -pedantic -Wall -Wextra -Werror plus
# conversion and shadowing warnings, and freestanding with the hypervisor's and the
# guest kernel's flags, where the only symbol it may need from outside is memcpy.
# Prints PASS/FAIL per mode; exits non-zero if any fails.
set -u
cd "$(dirname "$0")"
gcc_inc=$(gcc -print-file-name=include)
warn="-pedantic -Wall -Wextra -Werror -Wconversion -Wsign-conversion -Wshadow -Wcast-qual"
free="-std=gnu11 -O2 -ffreestanding -fno-stack-protector -mno-red-zone -mgeneral-regs-only \
 -nostdinc -isystem $gcc_inc"
tmp=$(mktemp -d /tmp/ringio-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rc=0
check() { # name, command...
  local name=$1; shift
  if "$@" > "$tmp/log" 2>&1; then
    echo "PASS: ringio.h $name"
  else
    echo "FAIL: ringio.h $name"; sed 's/^/    /' "$tmp/log"; rc=1
  fi
}
for mode in "gcc -x c -std=c99" "gcc -x c -std=c11" "g++ -x c++ -std=c++11" "g++ -x c++ -std=c++17"; do
  check "alone ($mode)" sh -c "printf '#include \"ringio.h\"\ntypedef int ringio_header_check;\n' |
    $mode $warn -fsyntax-only -I. -"
  check "all functions ($mode)" $mode $warn -O2 -c header-check.c -o "$tmp/o.o"
done
undefined_only_memcpy() {
  "$@" -c header-check.c -o "$tmp/f.o" &&
  ! nm -u "$tmp/f.o" | grep -v ' memcpy$' | grep -q .
}
check "freestanding (hypervisor flags)" undefined_only_memcpy gcc $free $warn -fpie
check "freestanding (guest kernel flags)" undefined_only_memcpy gcc $free $warn \
  -mcmodel=kernel -fno-pic -fno-pie
exit $rc
