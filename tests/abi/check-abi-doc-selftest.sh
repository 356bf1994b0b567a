#!/usr/bin/env bash
# tests/abi/check-abi-doc-selftest.sh: prove that check-abi-doc.py can fail. On copies of
# ABI.md and hypercall-abi/ it runs the checker once unmodified (must pass), then once per
# mutation, each on a fresh copy, expecting exit status 1 and a new FAIL line of the
# mutation's kind. Prints PASS/FAIL per run; exits non-zero if any fails.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
checker=$root/tests/abi/check-abi-doc.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

# A fresh copy of the document and the headers in $tmp/t.
fresh() {
  rm -rf "$tmp/t" && mkdir -p "$tmp/t" && cp "$root/ABI.md" "$tmp/t/" &&
    cp -r "$root/hypercall-abi" "$tmp/t/"
}

fresh
if python3 "$checker" --root "$tmp/t" > "$tmp/base.txt" 2>&1; then
  echo "PASS: checker passes on an unmodified copy"
else
  echo "FAIL: checker fails on the unmodified tree (mutations still run):"
  grep '^FAIL: ' "$tmp/base.txt" | sed 's/^/    /'; rc=1
fi

# mutate KIND: apply mutation KIND to $tmp/t; prints a regex the new FAIL line must match.
mutate() {
  python3 - "$1" "$tmp/t" "$tmp/base.txt" <<'EOF'
import os, re, sys
kind, t, base = sys.argv[1:]
doc = os.path.join(t, 'ABI.md')
s = open(doc).read()
lines = s.split('\n')
passing = set(int(x) for x in re.findall(r'^PASS: ABI\.md example at line (\d+)',
                                          open(base).read(), re.M))

def line_of(pos):
    return s[:pos].count('\n') + 1

def block(tag):
    """(fence line, first body index) of the first passing block tagged tag, else the first."""
    fences = [i + 1 for i, l in enumerate(lines) if l.strip() == '```' + tag]
    good = [f for f in fences if f in passing] or fences
    if not good:
        sys.exit('no %s block' % tag)
    return good[0], good[0]

if kind == 'c':                     # misspell the first hako identifier of a c block
    fl, i = block('c')
    while not re.search(r'\b(hako|HAKO)_\w+', lines[i]):
        i += 1
    lines[i] = re.sub(r'\b((?:hako|HAKO)_\w+)', r'\1_misspelt', lines[i], count=1)
    print(r'^FAIL: ABI\.md example at line %d \(c\)' % fl)
elif kind == 'asm':                 # an unknown mnemonic on the first line of an asm block
    fl, i = block('asm')
    lines[i] = 'hako_selftest_no_such_insn ' + lines[i]
    print(r'^FAIL: ABI\.md example at line %d \(asm\)' % fl)
elif kind == 'size':                # a stated struct size, plus 8
    m = re.search(r'`struct (hako_\w+)[^`]*`\s*\(\s*(\d+)\s+bytes', s)
    s = s[:m.start(2)] + str(int(m.group(2)) + 8) + s[m.end(2):]
    print(r'^FAIL: ABI\.md:%d: sizeof\(struct %s\) == ' % (line_of(m.start(2)), m.group(1)))
    lines = s.split('\n')
elif kind == 'offset':              # the first row of the first offset table, plus 1
    i = next(i for i, l in enumerate(lines) if re.match(r'\s*\|\s*offset\s*\|\s*field\s*\|', l))
    i += 2
    m = re.match(r'(\s*\|\s*)(\d+)', lines[i])
    lines[i] = m.group(1) + str(int(m.group(2)) + 1) + lines[i][m.end():]
    print(r'^FAIL: ABI\.md:%d: offsetof\(struct \w+, \w+\) == %d' % (i + 1, int(m.group(2)) + 1))
elif kind == 'undocumented':        # a new constant inside a header's include guard
    hdir = os.path.join(t, 'hypercall-abi', 'hako')
    h = os.path.join(hdir, sorted(f for f in os.listdir(hdir) if f != 'compiler.h')[0])
    hl = open(h).read().split('\n')
    last = max(i for i, l in enumerate(hl) if l.startswith('#endif'))
    hl.insert(last, '#define HAKO_SELFTEST_UNDOCUMENTED 1')
    open(h, 'w').write('\n'.join(hl))
    print(r'^FAIL: hako/\S+\.h:\d+: HAKO_SELFTEST_UNDOCUMENTED is not documented')
elif kind == 'value':               # the first `HAKO_X` (V) value, plus 100
    m = re.search(r'`(HAKO_[A-Z0-9_]+)` \((\d+)\)', s)
    s = s[:m.start(2)] + str(int(m.group(2)) + 100) + s[m.end(2):]
    print(r'^FAIL: ABI\.md:%d: %s == %d' % (line_of(m.start(2)), m.group(1), int(m.group(2)) + 100))
    lines = s.split('\n')
elif kind == 'undefined':           # a name no header defines, in a new last paragraph
    lines += ['', 'Selftest: `HAKO_NOT_A_CONSTANT`.', '']
    print(r'^FAIL: ABI\.md:%d: HAKO_NOT_A_CONSTANT is not defined' % (len(lines) - 1))
elif kind == 'untagged':            # a code block without an info string, at the end
    lines += ['', '```', 'untagged', '```', '']
    print(r'^FAIL: ABI\.md:%d: code block without an info string' % (len(lines) - 3))
open(doc, 'w').write('\n'.join(lines))
EOF
}

# new_fail REGEX OUT: does OUT hold a FAIL record (FAIL line and its indented lines) that
# matches REGEX and is not in the unmodified run's output?
new_fail() {
  python3 - "$1" "$2" "$tmp/base.txt" <<'EOF'
import re, sys
def records(path):
    out = []
    for line in open(path):
        if line.startswith('    ') and out:
            out[-1] += line
        else:
            out.append(line)
    return out
regex, out, base = sys.argv[1:]
old = set(records(base))
sys.exit(0 if any(re.match(regex, r) and r not in old for r in records(out)) else 1)
EOF
}

for kind in c asm size offset undocumented value undefined untagged; do
  fresh
  if ! want=$(mutate "$kind" 2>"$tmp/err"); then
    echo "FAIL: checker catches $kind: could not apply the mutation"; sed 's/^/    /' "$tmp/err"
    rc=1; continue
  fi
  python3 "$checker" --root "$tmp/t" > "$tmp/out.txt" 2>&1
  status=$?
  if [ "$status" = 1 ] && new_fail "$want" "$tmp/out.txt"; then
    echo "PASS: checker catches $kind"
  else
    echo "FAIL: checker catches $kind: exit status $status, no new FAIL line matching /$want/"
    grep '^FAIL: ' "$tmp/out.txt" | head -5 | sed 's/^/    /'; rc=1
  fi
done
exit $rc
