#!/usr/bin/env python3
"""treedigest.py - print a full, comparable digest of a directory tree.

  treedigest.py [--no-dir-mtime] [--skip-sqlite REL]... [--no-owner] DIR

One line per entry, sorted by path bytes ("." is the root itself):
  path type mode uid gid mtime_ns size sha256 target hardlink-group xattrs
Paths and targets are printed with Python's bytes repr so any name is safe.
The hardlink group is the first path (in sort order) of the same inode.

--no-dir-mtime   leave directory mtimes out (creating entries changes them)
--skip-sqlite R  leave the SQLite database at relative path R and its -wal,
                 -shm and -journal siblings out: databases are compared
                 logically (integrity_check, rows), not byte for byte
--no-owner       leave uid/gid out (a non-root restore cannot keep them)
"""
import argparse
import hashlib
import os
import stat
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def user_xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return "-"
    out = []
    for n in sorted(x for x in names if x.startswith("user.")):
        try:
            out.append("%s=%s" % (n, os.getxattr(path, n, follow_symlinks=False).hex()))
        except OSError:
            out.append("%s=?" % n)
    return ",".join(out) or "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-dir-mtime", action="store_true")
    ap.add_argument("--no-owner", action="store_true")
    ap.add_argument("--skip-sqlite", action="append", default=[])
    ap.add_argument("dir")
    a = ap.parse_args()
    root = os.fsencode(a.dir)
    skip = set()
    for s in a.skip_sqlite:
        s = os.fsencode(s)
        skip.update({s, s + b"-wal", s + b"-shm", s + b"-journal"})

    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            entries.append(os.path.relpath(full, root))
    entries.append(b".")
    entries.sort()

    first_of_inode = {}
    lines = []
    for rel in entries:
        if rel in skip:
            continue
        full = os.path.join(root, rel) if rel != b"." else root
        st = os.lstat(full)
        m = st.st_mode
        if stat.S_ISDIR(m):
            kind = "dir"
        elif stat.S_ISREG(m):
            kind = "file"
        elif stat.S_ISLNK(m):
            kind = "symlink"
        else:
            kind = "special"
        mtime = st.st_mtime_ns
        if kind == "dir" and a.no_dir_mtime:
            mtime = "-"
        size = st.st_size if kind in ("file", "symlink") else "-"
        digest = sha256(full) if kind == "file" else "-"
        target = repr(os.readlink(full)) if kind == "symlink" else "-"
        group = "-"
        if kind == "file" and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            group = repr(first_of_inode.setdefault(key, rel))
        mode = "%04o" % stat.S_IMODE(m) if kind != "symlink" else "-"
        owner = "- -" if a.no_owner else "%d %d" % (st.st_uid, st.st_gid)
        lines.append("%r %s %s %s %s %s %s %s %s %s" % (
            rel, kind, mode, owner, mtime, size, digest, target, group, user_xattrs(full)))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
