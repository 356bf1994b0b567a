#!/usr/bin/env python3
"""gen-errnames.py ERRNO_H OUT: write OUT, a C table { HAKO_EX, "-EX" } per error code
that ERRNO_H defines, so the test framework names every code and can never miss one."""
import re
import sys

src, out = sys.argv[1:]
names = re.findall(r'^#define\s+HAKO_(E[A-Z0-9]+)\s+\d+', open(src).read(), re.M)
if not names:
    sys.exit('gen-errnames.py: no HAKO_E* codes in ' + src)
with open(out, 'w') as f:
    f.write('/* Generated from %s by scripts/gen-errnames.py: do not edit. */\n' % src)
    for n in names:
        f.write('{ HAKO_%s, "-%s" },\n' % (n, n))
