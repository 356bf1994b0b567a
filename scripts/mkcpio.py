#!/usr/bin/env python3
"""scripts/mkcpio.py: build a cpio "newc" archive (the initrd format of the hako guest OS).

    mkcpio.py -o OUT [--file PATH HOST_FILE MODE]... [--dir PATH MODE]...
                     [--tree PATH HOST_DIR]...

--file  puts HOST_FILE into the archive as PATH with permission bits MODE (octal)
--dir   adds an (empty) directory PATH with permission bits MODE
--tree  adds every file and directory below HOST_DIR under PATH (files 0755 when the
        host file is executable, else 0644; directories 0755)

Paths are stored relative ("bin/sh", no leading "/" or "./"); every parent directory
gets its own entry (mode 0755) before what it contains. The output is deterministic:
entries sorted by path, mtime, uid and gid 0, inode numbers counted from 1, so the same
inputs always give the same bytes. The archive ends with the usual TRAILER!!! entry.
"""
import argparse
import os
import stat
import sys

NEWC_MAGIC = b"070701"
TRAILER = "TRAILER!!!"


def normalize(path):
    """Return path without leading '/' or './' and without empty or '.' components."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"bad archive path {path!r}")
    return "/".join(parts)


def pad4(length):
    """Return the NUL bytes that pad length up to a multiple of 4."""
    return b"\0" * (-length % 4)


def newc_entry(ino, mode, nlink, name, data):
    """Return one newc header + name + data, each padded to 4 bytes."""
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = NEWC_MAGIC + b"".join(b"%08X" % f for f in fields)
    out = header + encoded + pad4(len(header) + len(encoded))
    return out + data + pad4(len(data))


def collect(args):
    """Return {archive path: (kind, mode, host file or None)} for all requested entries."""
    entries = {}

    def add(path, kind, mode, host):
        path = normalize(path)
        if path in entries and entries[path] != (kind, mode, host):
            raise ValueError(f"{path} given twice with different contents")
        entries[path] = (kind, mode, host)

    for path, host, mode in args.file or []:
        if not os.path.isfile(host):
            raise ValueError(f"{host}: not a file")
        add(path, "file", int(mode, 8) & 0o7777, host)
    for path, mode in args.dir or []:
        add(path, "dir", int(mode, 8) & 0o7777, None)
    for path, host_dir in args.tree or []:
        if not os.path.isdir(host_dir):
            raise ValueError(f"{host_dir}: not a directory")
        add(path, "dir", 0o755, None)
        for root, dirs, files in os.walk(host_dir):
            rel = os.path.relpath(root, host_dir)
            base = path if rel == "." else f"{path}/{rel}"
            for d in dirs:
                add(f"{base}/{d}", "dir", 0o755, None)
            for f in files:
                host = os.path.join(root, f)
                executable = os.stat(host).st_mode & stat.S_IXUSR
                add(f"{base}/{f}", "file", 0o755 if executable else 0o644, host)

    # Parent directories of everything, so an unpacker never has to invent them.
    for path in list(entries):
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in entries:
                entries[parent] = ("dir", 0o755, None)
            elif entries[parent][0] != "dir":
                raise ValueError(f"{parent} is a file and a directory")
    return entries


def build(entries):
    """Return the archive's bytes: entries sorted by path components, then the trailer."""
    out = bytearray()
    for ino, path in enumerate(sorted(entries, key=lambda p: p.split("/")), start=1):
        kind, mode, host = entries[path]
        if kind == "dir":
            out += newc_entry(ino, stat.S_IFDIR | mode, 2, path, b"")
        else:
            with open(host, "rb") as f:
                data = f.read()
            out += newc_entry(ino, stat.S_IFREG | mode, 1, path, data)
    out += newc_entry(0, 0, 1, TRAILER, b"")
    return bytes(out)


def main():
    """Parse the command line, write the archive atomically; exit 1 on bad input."""
    parser = argparse.ArgumentParser(description="build a deterministic cpio newc archive")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--file", nargs=3, action="append", metavar=("PATH", "HOST_FILE", "MODE"))
    parser.add_argument("--dir", nargs=2, action="append", metavar=("PATH", "MODE"))
    parser.add_argument("--tree", nargs=2, action="append", metavar=("PATH", "HOST_DIR"))
    args = parser.parse_args()
    try:
        archive = build(collect(args))
    except (ValueError, OSError) as e:
        print(f"mkcpio.py: {e}", file=sys.stderr)
        return 1
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(archive)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
