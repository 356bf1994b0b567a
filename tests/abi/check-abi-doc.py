#!/usr/bin/env python3
"""check-abi-doc.py [--root DIR]: check ABI.md against the public headers.

Checks (each prints PASS:/FAIL: lines; exit status 1 if any FAIL):
  a. every fenced block is tagged c, asm or text; c and asm blocks compile;
  b. struct sizes, table offsets and member sizes stated in ABI.md match the headers,
     and every struct hako_* of the headers has its size stated;
  c. every header constant is documented, every HAKO_ name, struct and header ABI.md
     names exists, and the constant values ABI.md states are the headers' values.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

CFLAGS = ['-std=gnu11', '-ffreestanding', '-O2', '-Wall', '-Wextra', '-Werror',
          '-Wno-unused-variable', '-Wno-unused-but-set-variable', '-Wno-unused-parameter',
          '-Wno-unused-function', '-Wno-unused-label']
FENCE_OPEN = re.compile(r'^(\s*)(`{3,})\s*(.*?)\s*$')
EXAMPLE_COMMENT = re.compile(r'^<!--\s*example:\s*(?:(file)|given\s+(\S.*?))\s*-->$')
MENTION = re.compile(r'`struct\s+(hako_\w+)\b[^`]*`')          # `struct NAME ...`
SIZE_AFTER = re.compile(r'\s*(?:\(\s*|,\s*|\((?:\[[^\]]*\]\([^)]*\)|[^()`])*?,\s*)'
                        r'(\d+)\s+bytes\b')
BYTES = re.compile(r'\b(\d+)\s+bytes\b')
INLINE_AT = re.compile(r'`([^`]+)`\s+at\s+(?:offset\s+)?(\d+)(?![\w-]|\.\d)')
MEMBER = re.compile(r'^([\w\s*]*?)\s*\b([A-Za-z_]\w*)\s*((?:\[[^\]]*\])*)$')
VAL = r'(0x[0-9A-Fa-f]+|2\^\d+|bit \d+|\d+ [KMG]iB|\d+)'
VEND = r'(?![\w^]|\.\d)(?!\s*(?:ms|us|ns|s|bytes?|pages?|entries|bits?|[KMG]iB)\b)'
CMP = r'`(?:\w+\s*[<>]=?\s*)?(\w+)`'   # `NAME`, or `count > NAME` (a limit)
VALUE_FORMS = [re.compile(CMP + r'\s*\(\s*' + VAL + VEND + r'\s*[),;]'),
               re.compile(r'`(\w+)`\s*=\s*`?' + VAL + r'`?' + VEND),
               re.compile(r'`(\w+)`\s+(?:is\s+)?' + VAL + VEND)]
VALUE_BEFORE = re.compile(r'(?<![\w.^])' + VAL + r'\s+\(`(\w+)`\)')   # up to 256 (`NAME`)
VALUE_PAIR = re.compile(r'`(\w+)`\s*/\s*`(\w+)`\s*\(\s*' + VAL + r'\s*/\s*' + VAL + r'\s*\)')

failures = 0


def report(ok, msg, detail=''):
    """Print one PASS/FAIL line, with detail (compiler output) indented below a FAIL."""
    global failures
    print(('PASS: ' if ok else 'FAIL: ') + msg)
    if not ok:
        failures += 1
        for line in detail.rstrip('\n').splitlines():
            print('    ' + line)


def summary(before, msg):
    """Print PASS: msg when no FAIL was reported since the failure count was before."""
    if failures == before:
        report(True, msg)


def parse_doc(lines):
    """Split ABI.md into units in document order: ('para'|'table'|'fence'|'comment', line, data).
    A paragraph is a run of text lines (a heading or list item starts a new one); a table is
    a run of lines starting with '|'; a fence carries its info string, body and closed flag."""
    units, para, i = [], None, 0

    def flush():
        nonlocal para
        if para:
            units.append(('para', para[0], '\n'.join(para[1])))
        para = None
    while i < len(lines):
        line, ln = lines[i], i + 1
        m = FENCE_OPEN.match(line)
        if m:
            flush()
            indent, j, body = len(m.group(1)), i + 1, []
            while j < len(lines) and not re.match(r'^\s*`{3,}\s*$', lines[j]):
                body.append(re.sub(r'^ {0,%d}' % indent, '', lines[j]))
                j += 1
            units.append(('fence', ln, {'info': m.group(3), 'body': body,
                                        'closed': j < len(lines)}))
            i = j + 1
            continue
        if re.match(r'^\s*\|', line):
            flush()
            rows = []
            while i < len(lines) and re.match(r'^\s*\|', lines[i]):
                rows.append((i + 1, split_row(lines[i])))
                i += 1
            units.append(('table', ln, rows))
            continue
        if not line.strip() or line.lstrip().startswith('<!--'):
            flush()
            if line.strip():
                units.append(('comment', ln, line.strip()))
        elif line.startswith('#'):
            flush()
            units.append(('para', ln, line))
        else:
            if re.match(r'^\s*(?:[-*]|\d+\.)\s', line):
                flush()
            para = para or [ln, []]
            para[1].append(line)
        i += 1
    flush()
    return units


def split_row(line):
    """Cells of a markdown table row (a '\\|' inside a cell does not split it)."""
    return [c.strip() for c in re.split(r'(?<!\\)\|', line.strip().strip('|'))]


def text_units(units):
    """Yield (line, text) for every sentence of prose and every table cell."""
    for kind, ln, data in units:
        if kind == 'para':
            start = 0
            for m in re.finditer(r'(?<=[.!?])\s+(?=[A-Z*`(\[])', data):
                yield ln + data[:start].count('\n'), data[start:m.start()]
                start = m.end()
            yield ln + data[:start].count('\n'), data[start:]
        elif kind == 'table':
            for rln, cells in units_rows(data):
                yield from ((rln, cell) for cell in cells)


def units_rows(rows):
    """Table rows without the separator row (|---|---|)."""
    return [(ln, c) for ln, c in rows if not all(re.match(r'^:?-+:?$', x) for x in c if x)]


def read_headers(root):
    """Public headers: {name: text}, their #defines {NAME: (file, line, funclike, documentable)}
    and the structs they define {hako_x: (file, line)}."""
    hdir = os.path.join(root, 'hypercall-abi', 'hako')
    headers = {f: open(os.path.join(hdir, f)).read() for f in sorted(os.listdir(hdir))
               if f.endswith('.h')}
    defines, structs = {}, {}
    for f, text in headers.items():
        guards = set(re.findall(r'^\s*#\s*ifndef\s+(HAKO_\w+_H)\b', text, re.M))
        for m in re.finditer(r'^\s*#\s*define\s+(HAKO_\w+)(\()?', text, re.M):
            name, ln = m.group(1), text[:m.start()].count('\n') + 1
            documentable = name not in guards and f != 'compiler.h'
            defines.setdefault(name, ('hako/' + f, ln, bool(m.group(2)), documentable))
        for m in re.finditer(r'^\s*struct\s+(hako_\w+)\s*\{', text, re.M):
            structs[m.group(1)] = ('hako/' + f, text[:m.start()].count('\n') + 1)
    return headers, defines, structs


def gcc(args, src, root):
    """Compile src (stdin) with gcc args; return (ok, compiler output)."""
    p = subprocess.run(['gcc'] + args + ['-I' + os.path.join(root, 'hypercall-abi'),
                        '-c', '-o', '/dev/null', '-'], input=src, capture_output=True, text=True)
    return p.returncode == 0, p.stderr + p.stdout


def check_examples(units, headers, root):
    """a. Every fence is tagged c/asm/text; c blocks compile after the prelude (whole file,
    or wrapped in a function per their example comment); asm blocks assemble."""
    incs = ''.join('#include <hako/%s>\n' % h for h in headers)
    cpre = '#include <stdint.h>\n#include <stdbool.h>\n#include <stddef.h>\n' + incs
    nexample = 0
    for k, (kind, ln, data) in enumerate(units):
        if kind == 'comment' and data.startswith('<!-- example'):
            nxt = units[k + 1] if k + 1 < len(units) else None
            if not EXAMPLE_COMMENT.match(data):
                report(False, 'ABI.md:%d: malformed example comment (want <!-- example: file '
                       '--> or <!-- example: given DECLS -->)' % ln)
            elif not nxt or nxt[0] != 'fence' or nxt[1] != ln + 1:
                report(False, 'ABI.md:%d: example comment not directly before a code fence' % ln)
            elif nxt[2]['info'] != 'c':
                report(False, 'ABI.md:%d: example comment before a %r block (only c blocks '
                       'take one)' % (ln, nxt[2]['info']))
        if kind != 'fence':
            continue
        info, body = data['info'], '\n'.join(data['body']) + '\n'
        if not data['closed']:
            report(False, 'ABI.md:%d: code fence is never closed' % ln)
            continue
        if info not in ('c', 'asm', 'text'):
            report(False, 'ABI.md:%d: code block %s (tag each block c, asm or text)'
                   % (ln, 'without an info string' if not info else 'tagged %r' % info))
            continue
        if info == 'text':
            continue
        prev = units[k - 1] if k else None
        ctx = EXAMPLE_COMMENT.match(prev[2]) if prev and prev[0] == 'comment' \
            and prev[1] == ln - 1 else None
        if info == 'asm':
            ok, out = gcc(['-x', 'assembler-with-cpp'], incs + '#line %d "ABI.md"\n%s'
                          % (ln + 1, body), root)
        elif ctx and ctx.group(1):
            ok, out = gcc(['-x', 'c'] + CFLAGS, cpre + '#line %d "ABI.md"\n%s' % (ln + 1, body),
                          root)
        else:
            nexample += 1
            decls = ctx.group(2) if ctx else 'void'
            src = '%s#line %d "ABI.md"\nvoid abi_example_%d(%s)\n{\n#line %d "ABI.md"\n%s}\n' \
                % (cpre, ln - 1, nexample, decls, ln + 1, body)
            ok, out = gcc(['-x', 'c'] + CFLAGS, src, root)
        report(ok, 'ABI.md example at line %d (%s)%s' % (ln, info, '' if ok else
                                                         ': does not compile'), out)


def compile_facts(facts, headers, root):
    """Compile every fact (line, C expression, description) as a _Static_assert in one file;
    return ({fact index: [error messages]}, [errors not belonging to a fact])."""
    pre = '#include <stdint.h>\n#include <stddef.h>\n' + \
        ''.join('#include <hako/%s>\n' % h for h in headers)
    first = pre.count('\n') + 1
    src = pre + ''.join('_Static_assert(%s, "ABI.md:%d: %s");\n'
                        % (e, ln, re.sub(r'["\\]', "'", d)) for ln, e, d in facts)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'abi-facts.c')
        with open(path, 'w') as f:
            f.write(src)
        p = subprocess.run(['gcc', '-x', 'c', '-std=gnu11', '-fsyntax-only', '-Wall', '-Wextra',
                            '-I' + os.path.join(root, 'hypercall-abi'), path],
                           capture_output=True, text=True)
    per, other = {}, []
    for line in p.stderr.splitlines():
        m = re.match(r'^(.*?):(\d+):\d+: (?:fatal )?error: (.*)$', line)
        if m and m.group(1) == path and int(m.group(2)) >= first:
            per.setdefault(int(m.group(2)) - first, []).append('error: ' + m.group(3))
        elif m:
            other.append(line.replace(path, 'abi-facts.c'))
    if p.returncode != 0 and not per and not other:
        other.append(p.stderr.replace(path, 'abi-facts.c') or 'gcc failed')
    return per, other


def report_facts(title, facts, headers, root):
    """Compile facts and print one PASS for all, or one FAIL per wrong fact."""
    per, other = compile_facts(facts, headers, root)
    for i in sorted(per):
        ln, _, desc = facts[i]
        report(False, 'ABI.md:%d: %s' % (ln, desc), '\n'.join(per[i]))
    if other:
        report(False, '%s: compiling the facts failed outside any fact' % title, '\n'.join(other))
    if not per and not other:
        report(True, 'ABI.md %s (%d facts)' % (title, len(facts)))


def member_facts(struct, item, ln, prev):
    """Facts for one field item of struct at a stated offset (an int, or None: right after
    member prev); returns (member name, facts) or (None, error message)."""
    m = MEMBER.match(item.strip())
    if not m:
        return None, 'cannot read a member name in `%s`' % item
    typ, name, arr = m.group(1).strip(), m.group(2), m.group(3)
    s, facts = 'struct ' + struct, []
    msize = 'sizeof(((%s *)0)->%s)' % (s, name)
    if isinstance(prev, int):
        facts.append((ln, 'offsetof(%s, %s) == %d' % (s, name, prev),
                      'offsetof(%s, %s) == %d' % (s, name, prev)))
    else:
        facts.append((ln, 'offsetof(%s, %s) == offsetof(%s, %s) + sizeof(((%s *)0)->%s)'
                      % (s, name, s, prev, s, prev),
                      'offsetof(%s, %s) follows %s directly' % (s, name, prev)))
    if typ:
        facts.append((ln, '%s == sizeof(%s%s)' % (msize, typ, arr),
                      'sizeof(%s.%s) == sizeof(%s%s)' % (s, name, typ, arr)))
    return name, facts


def check_layout(units, headers, structs, root):
    """b. Sizes (`struct X` (N bytes ...), offset tables and "`field` at N" forms) as one
    compiled set of facts, and the coverage of header structs by stated sizes."""
    facts, sized, last_struct = [], set(), None
    for ln, text in text_units(units):
        ms = list(MENTION.finditer(text))
        for k, m in enumerate(ms):
            end = ms[k + 1].start() if k + 1 < len(ms) else len(text)
            sm = SIZE_AFTER.match(text, m.end())
            at = None
            if sm and sm.end() <= end:
                at = sm.start(1)
                n, nln = int(sm.group(1)), ln + text[:at].count('\n')
                facts.append((nln, 'sizeof(struct %s) == %d' % (m.group(1), n),
                              'sizeof(struct %s) == %d' % (m.group(1), n)))
                sized.add(m.group(1))
            for b in BYTES.finditer(text, m.end(), end):
                if b.start(1) != at:
                    report(False, 'ABI.md:%d: "%s" after `struct %s` is not attributed to it '
                           '(write `struct %s` (N bytes ...))' % (ln + text[:b.start()].count(
                               '\n'), b.group(0), m.group(1), m.group(1)))
    for kind, ln, data in units:
        if kind == 'para':
            ms = list(MENTION.finditer(data))
            last_struct = ms[-1].group(1) if ms else last_struct
            for a in INLINE_AT.finditer(data):
                before = [m for m in ms if m.end() <= a.start()]
                aln = ln + data[:a.start()].count('\n')
                if not before:
                    report(False, 'ABI.md:%d: "`%s` at %s" follows no `struct NAME` in its '
                           'paragraph' % (aln, a.group(1), a.group(2)))
                    continue
                name, fs = member_facts(before[-1].group(1), a.group(1), aln, int(a.group(2)))
                if name:
                    facts += fs
                else:
                    report(False, 'ABI.md:%d: %s' % (aln, fs))
        if kind != 'table' or [c.lower() for c in data[0][1][:2]] != ['offset', 'field']:
            continue
        if not last_struct:
            report(False, 'ABI.md:%d: offset table follows no `struct NAME`' % ln)
            continue
        for rln, cells in units_rows(data)[1:]:
            items = re.findall(r'`([^`]+)`', cells[1]) if len(cells) > 1 else []
            if not re.match(r'^\d+$', cells[0]) or not items:
                report(False, 'ABI.md:%d: offset table row of struct %s needs a decimal offset '
                       'and a backquoted field' % (rln, last_struct))
                continue
            prev = int(cells[0])
            for item in items:
                name, fs = member_facts(last_struct, item, rln, prev)
                if not name:
                    report(False, 'ABI.md:%d: %s' % (rln, fs))
                    break
                facts += fs
                prev = name
    report_facts('sizes and offsets', facts, headers, root)
    before = failures
    for s, (f, ln) in sorted(structs.items()):
        if s not in sized:
            report(False, '%s:%d: the size of struct %s is not stated in ABI.md (write '
                   '`struct %s` (N bytes))' % (f, ln, s, s))
    summary(before, 'every header struct has its size stated in ABI.md (%d structs)'
            % len(structs))


def value_expr(v):
    """C expression for a value written in ABI.md (decimal, hex, 2^K, bit K, N KiB/MiB/GiB)."""
    if v.startswith('bit '):
        return '(1ULL << %s)' % v[4:]
    if v.startswith('2^'):
        return '(1ULL << %s)' % v[2:]
    m = re.match(r'(\d+) ([KMG])iB', v)
    if m:
        return '(%sULL << %d)' % (m.group(1), {'K': 10, 'M': 20, 'G': 30}[m.group(2)])
    return v + 'ULL'


def check_constants(units, lines, defines, structs, root, headers):
    """c. Constants documented both ways, names ABI.md uses exist, and stated values."""
    text = '\n'.join(lines)
    prefixes, before = [], failures
    for kind, ln, data in units:
        if kind == 'para' and re.search(r'drops? the common prefix', data):
            for m in re.finditer(r'`([A-Z0-9_]+)`\s+is\s+`(HAKO_\w+)`', data):
                short, full = m.groups()
                if full.endswith(short) and len(full) > len(short):
                    prefixes.append(full[:-len(short)])
                else:
                    report(False, 'ABI.md:%d: "`%s` is `%s`" declares no prefix' % (
                        ln + data[:m.start()].count('\n'), short, full))
    summary(before, 'ABI.md declares %d short-name prefixes (%s)'
            % (len(prefixes), ', '.join(prefixes)))
    spans = [s for _, t in text_units(units) for s in re.findall(r'`([^`]+)`', t)]
    n, before = 0, failures
    for name, (f, ln, _, documentable) in sorted(defines.items()):
        if not documentable:
            continue
        n += 1
        if re.search(r'(?<!\w)%s(?!\w)' % name, text):
            continue
        shorts = [name[len(p):] for p in prefixes if name.startswith(p)]
        if not any(re.search(r'(?<![\w])%s(?!\w)' % s, sp) for s in shorts for sp in spans):
            report(False, '%s:%d: %s is not documented in ABI.md' % (f, ln, name))
    summary(before, 'every header constant is documented in ABI.md (%d constants)' % n)
    seen, before = {}, failures
    for i, line in enumerate(lines):
        for tok in re.findall(r'(?<!\w)HAKO_\w*\*?', line):
            ok = any(d.startswith(tok[:-1]) for d in defines) if tok.endswith('*') \
                else tok in defines
            if not ok and tok not in seen:
                report(False, 'ABI.md:%d: %s is not defined in any public header' % (i + 1, tok))
            seen[tok] = True
    summary(before, 'every HAKO_ name in ABI.md is defined in a header (%d names)' % len(seen))
    for regex, known, what, label in (
            (r'\bstruct\s+(hako_\w+)', structs, 'struct %s is not defined', 'struct'),
            (r'\bhako/([\w.-]+?\.h)\b', headers, 'hako/%s does not exist', 'header file')):
        names, before = set(), failures
        for m in re.finditer(regex, text):
            if m.group(1) not in known and m.group(1) not in names:
                report(False, 'ABI.md:%d: ' % (text[:m.start()].count('\n') + 1)
                       + what % m.group(1) + ' in the public headers')
            names.add(m.group(1))
        summary(before, 'every %s ABI.md names exists in the public headers (%d)'
                % (label, len(names)))

    def resolve(name):
        """The object-like header constant a documented name stands for, or None."""
        cands = [name] if name.startswith('HAKO_') else [p + name for p in prefixes]
        cands = [c for c in cands if c in defines and not defines[c][2]]
        return cands[0] if len(cands) == 1 else None
    claims = []
    for ln, t in text_units(units):
        for m in VALUE_PAIR.finditer(t):
            l2 = ln + t[:m.start()].count('\n')
            claims += [(l2, m.group(1), m.group(3)), (l2, m.group(2), m.group(4))]
        for form in VALUE_FORMS:
            claims += [(ln + t[:m.start()].count('\n'), m.group(1), m.group(2))
                       for m in form.finditer(t)]
        claims += [(ln + t[:m.start()].count('\n'), m.group(2), m.group(1))
                   for m in VALUE_BEFORE.finditer(t)]
    for kind, ln, data in units:
        if kind != 'table':
            continue
        head = [c.lower() for c in data[0][1]]
        vcol = next((i for i, c in enumerate(head) if c in ('value', 'number')), None)
        for rln, cells in units_rows(data)[1:] if vcol is not None else []:
            named = [c[1:-1] for c in cells if re.match(r'^`\w+`$', c)]
            if named and vcol < len(cells) and re.match(r'^(0x[0-9A-Fa-f]+|\d+)$', cells[vcol]):
                claims.append((rln, named[0], cells[vcol]))
    facts = []
    for ln, name, v in claims:
        full = resolve(name)
        fact = (ln, '(unsigned long long)(%s) == %s' % (full, value_expr(v)),
                '%s%s == %s' % (name, '' if full == name else ' (%s)' % full, v))
        if full and fact not in facts:
            facts.append(fact)
    report_facts('constant values', facts, headers, root)


def main():
    """Parse arguments, run every check, exit 1 if any failed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..')))
    root = os.path.abspath(ap.parse_args().root)
    lines = open(os.path.join(root, 'ABI.md'), encoding='utf-8').read().split('\n')
    headers, defines, structs = read_headers(root)
    units = parse_doc(lines)
    check_examples(units, headers, root)
    check_layout(units, headers, structs, root)
    check_constants(units, lines, defines, structs, root, headers)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
