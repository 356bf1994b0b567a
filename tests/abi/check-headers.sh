#!/usr/bin/env bash
# tests/abi/check-headers.sh: every public header must compile on its own as C99, C11
# and C++11 with -pedantic -Wall -Wextra -Werror, and can be included from assembler
# (for its constants). Prints PASS/FAIL per header and mode; exits non-zero if any fails.
set -u
cd "$(dirname "$0")/../.."
rc=0
for h in hypercall-abi/hako/*.h; do
  inc=${h#hypercall-abi/}
  for mode in "gcc -x c -std=c99" "gcc -x c -std=c11" "g++ -x c++ -std=c++11"; do
    if printf '#include <%s>\ntypedef int hako_header_check;\n' "$inc" |
        $mode -pedantic -Wall -Wextra -Werror -fsyntax-only -Ihypercall-abi - 2>/tmp/hdr.$$; then
      echo "PASS: header $inc alone ($mode)"
    else
      echo "FAIL: header $inc alone ($mode)"; sed 's/^/    /' /tmp/hdr.$$; rc=1
    fi
  done
  if printf '#include <%s>\n' "$inc" | gcc -x assembler-with-cpp -Ihypercall-abi -c - \
      -o /dev/null 2>/tmp/hdr.$$; then
    echo "PASS: header $inc from assembler"
  else
    echo "FAIL: header $inc from assembler"; sed 's/^/    /' /tmp/hdr.$$; rc=1
  fi
done
rm -f /tmp/hdr.$$
exit $rc
