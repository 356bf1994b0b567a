#!/usr/bin/env python3
"""check-hv-assert.py [--root DIR]: HV_ASSERT arguments have no side effects.

HV_ASSERT(cond) (hypervisor/panic.h) is the check only: cond must change nothing, so that
what the hypervisor does never depends on whether a condition is asserted. Every use in
DIR/hypervisor/*.c and *.h (comments and literals aside) is refused when cond holds
  - ++ or --;
  - an assignment operator: = += -= *= /= %= &= |= ^= <<= >>= (== != <= >= are fine);
  - a call of anything but the pure helpers in PURE (a name, an array element or (*p)
    followed by an argument list; sizeof is an operator, not a call).
Prints one FAIL line per offending use, or one PASS line for all; exit status 1 on any
FAIL, and when no use is found at all (a check that sees nothing proves nothing).
"""
import argparse
import glob
import os
import re
import sys

# Functions (and function-like macros) that read state and change none, allowed in cond.
PURE = {
    'current_vcpu',     # percpu.h: reads %gs:0
    'pgt_level',        # pagetype.h: arithmetic on a type
    'weight_of',        # sched_policy.c: reads an entity's weight
}
NOT_CALLS = {'sizeof', '_Alignof', '__alignof__'}   # operators that take parentheses
ASSIGN = {'=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>='}
STEP = {'++', '--'}
TOKEN = re.compile(r'\s*(<<=|>>=|->|\+\+|--|==|!=|<=|>=|&&|\|\||<<|>>|[-+*/%&|^]='
                   r'|[A-Za-z_]\w*|\d[\w.]*|\S)')
USE = re.compile(r'\bHV_ASSERT\s*\(')
DEFINE = re.compile(r'#\s*define\s+HV_ASSERT\b')


def blank(src):
    """src with comments, string and character literals replaced by spaces (newlines kept,
    so offsets and line numbers stay those of the file)."""
    pat = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pat.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), src)


def argument(src, open_paren):
    """The text between the parenthesis at open_paren and its match, or None if unclosed."""
    depth = 0
    for i in range(open_paren, len(src)):
        if src[i] == '(':
            depth += 1
        elif src[i] == ')':
            depth -= 1
            if depth == 0:
                return src[open_paren + 1:i]
    return None


def side_effects(cond):
    """Reasons cond may change something: one string per offending operator or call."""
    toks = TOKEN.findall(cond)
    why = []
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ''
        if t in STEP:
            why.append("'%s'" % t)
        elif t in ASSIGN:
            why.append("assignment '%s'" % t)
        elif nxt == '(' and re.match(r'[A-Za-z_]\w*$', t) and t not in NOT_CALLS:
            if t not in PURE:
                why.append('call of %s()' % t)
        elif nxt == '(' and t == ']':
            why.append('call through an array element')
        elif nxt == '(' and t == ')':
            depth, j = 0, i                     # find the group this ) closes
            while j >= 0:
                depth += toks[j] == ')'
                depth -= toks[j] == '('
                if depth == 0:
                    break
                j -= 1
            if j + 1 < len(toks) and toks[j + 1] == '*':
                why.append('call through a pointer')
    return why


def check(root):
    """Check every use under root/hypervisor; returns (uses, failures)."""
    uses = failures = 0
    for path in sorted(glob.glob(os.path.join(root, 'hypervisor', '*.[ch]'))):
        rel = os.path.relpath(path, root)
        src = blank(open(path, encoding='utf-8').read())
        for m in USE.finditer(src):
            line_start = src.rfind('\n', 0, m.start()) + 1
            if DEFINE.search(src[line_start:m.start() + len('HV_ASSERT')]):
                continue                        # the macro's own definition
            line = src.count('\n', 0, m.start()) + 1
            cond = argument(src, m.end() - 1)
            uses += 1
            if cond is None:
                print('FAIL: %s:%d: HV_ASSERT( without its closing parenthesis' % (rel, line))
                failures += 1
                continue
            why = side_effects(cond)
            if why:
                print('FAIL: %s:%d: HV_ASSERT(%s) may have side effects: %s'
                      % (rel, line, ' '.join(cond.split()), ', '.join(why)))
                failures += 1
    return uses, failures


def main():
    """Parse arguments, check every use, exit 1 on any failure or when none was found."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..')))
    uses, failures = check(os.path.abspath(ap.parse_args().root))
    if uses == 0:
        print('FAIL: no HV_ASSERT use found under hypervisor/')
        sys.exit(1)
    if failures == 0:
        print('PASS: HV_ASSERT arguments have no side effects (%d uses)' % uses)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
