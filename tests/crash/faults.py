#!/usr/bin/env python3
"""faults.py - make system calls of clawstate's writing commands fail, one at
a time, through the LD_PRELOAD shim faultshim.so, and check what each run
leaves.

  faults.py --cs BIN --shim faultshim.so --work DIR [--only NAME,..]
            [--errnos "EIO ENOSPC"] [--sample K] [--seed S] [--verbose]

For each scenario of crash.py (snapshot, backup, backup-state, restore,
migrate-docker, migrate-host, and mount inside a private mount namespace),
and snapshot-first (the first snapshot of a new vault, which reads every file), a
counting run (CS_FAULT_COUNT) gives the number of calls of each class (write,
pwrite, read, pread, fsync, fdatasync, syncfs, rename, renameat2, close of a written
fd); then the N-th call of that class fails with each errno, for every N (or K
of them drawn by the seed with --sample, the first and the last included),
and read(2) calls are also made short (half of what was asked); reads fail
with EIO only.  Each run must:

  - fail with exit 1 (exit 3, "partial", for a failing read of a source file
    that the snapshot names and leaves out), its stderr naming a path and the
    error (strerror text), or succeed (exit 0) with a complete result: the
    fault was harmless there (a close after the data was synced);
  - a short read is never an error: exit 0, complete result;
  - leave what was stored before intact, and no half-done result visible:
    the vault verifies and lists every earlier snapshot as before, a backup's
    final name exists only when it verifies, a target is the complete old or
    new tree (the old one kept when new) - the checks of crash.py after a kill;
  - and the next clean run succeeds and cleans up (crash.py's follow-up).

Ends with the faults injected per scenario and per class, and the list of
harmless (exit 0) faults by class.
"""
import argparse
import importlib.util
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("crash", os.path.join(HERE, "crash.py"))
crash = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash)
Failure = crash.Failure

CLASSES = ["write", "pwrite", "read", "pread", "fsync", "fdatasync", "syncfs", "rename", "renameat2",
           "close"]
STRERROR = {"EIO": "Input/output error", "ENOSPC": "No space left on device"}
READS_PARTIAL = ("snapshot-first", "snapshot", "backup-state", "migrate-docker", "migrate-host")


def asan_runtime(cs):
    """The libasan a sanitizer build links, to preload before the shim."""
    p = subprocess.run(["ldd", cs], capture_output=True, text=True)
    for ln in p.stdout.splitlines():
        if "libasan" in ln and "=>" in ln:
            return ln.split("=>")[1].split()[0]
    return None


class Injector:
    def __init__(self, h, shim):
        self.h = h
        self.preload = shim
        rt = asan_runtime(h.cs)
        if rt:
            self.preload = rt + " " + shim
        self.log = os.path.join(h.work, "fault.log")
        self.countf = os.path.join(h.work, "fault.count")

    def env(self, **kw):
        e = {"LD_PRELOAD": self.preload}
        for k, v in kw.items():
            e["CS_FAULT_" + k.upper()] = str(v)
        return e

    def counts(self, sc):
        """Calls per class of a clean run from sc's prepared state."""
        if os.path.exists(self.countf):
            os.unlink(self.countf)
        vault = sc.vault()
        copy = None
        if isinstance(sc, crash.SnapshotScenario):
            copy = vault + ".count"
            crash.rmtree(copy)
            shutil.copytree(vault, copy)
            vault = copy
        self.h.run(sc.args(), vault, self.env(count=self.countf), check=0,
                   what=sc.name + ": counting run under the shim")
        if copy:
            crash.rmtree(copy)
        if getattr(sc, "out", None) and os.path.exists(sc.out):
            os.unlink(sc.out)
        res = {}
        with open(self.countf) as f:
            for ln in f:
                c, n = ln.split()
                res[c] = int(n)
        return res


def names_path(line, fpath, sc):
    """Does the message LINE name a path: the faulted one, its dir or base
    name, or the command's vault, target, output or state dir?"""
    # A temp file (".clawstate-rw-*" beside a rewritten file) is named by
    # the file it stands for: its dir's last components then appear.
    parent = os.path.dirname(fpath).split("/")
    cands = [fpath, os.path.basename(fpath), os.path.dirname(fpath),
             "/".join(parent[-2:]) + "/" if len(parent) > 2 else ""]
    if os.path.basename(fpath).startswith(".sqlite-capture-"):
        # the private copy of a database: named by the database it copies
        cands.append("SQLite capture: ")
    if os.path.basename(fpath).startswith(".clawstate-rw-"):
        rel = os.path.dirname(fpath).split(".clawstate-stage-", 1)[-1].partition("/")[2]
        cands.append(rel + "/" if rel else ": ")
    for attr in ("v", "target", "out", "state"):
        x = getattr(sc, attr, None)
        if x:
            cands.append(x)
    if hasattr(sc, "fx"):
        cands += [sc.fx.vault, sc.fx.b_new, sc.h.key]
    cands = [c.replace(" (deleted)", "") for c in cands if c and c not in ("/", ".")]
    # Messages show bytes that are not printable ASCII UTF-8 as \xNN: compare
    # a name up to its first such byte.
    for c in list(cands):
        k = next((j for j, ch in enumerate(c) if not (" " <= ch < "\x7f")), None)
        if k is not None and k >= 4:
            cands.append(c[:k])
    return any(c in line for c in cands)


def one_fault(inj, sc, i, cls, n, err, action, stats):
    sc.i = i
    sc.prepare(i)
    if os.path.exists(inj.log):
        os.unlink(inj.log)
    ctx = "%s: %s #%d %s" % (sc.name, cls, n, action if action != "fail" else err)
    kw = {"op": cls, "at": n, "log": inj.log, "errno": err}
    if action != "fail":
        kw["action"] = action
    before_seqs = sc.vs.seqs() if hasattr(sc, "vs") else None
    p = sc.h.run(sc.args(), sc.vault(), inj.env(**kw))
    rc = p.returncode
    err_text = p.stderr.decode(errors="replace")
    fpath = ""
    if os.path.exists(inj.log):
        with open(inj.log, "rb") as f:
            fpath = os.fsdecode(f.readline().rstrip(b"\n").split(b" ", 1)[-1])
    if not fpath:
        stats["not reached"] = stats.get("not reached", 0) + 1
        ctx += " (not reached)"
    replay = "LD_PRELOAD=%s CS_FAULT_OP=%s CS_FAULT_AT=%d CS_FAULT_ERRNO=%s%s %s %s" % (
        inj.preload, cls, n, err, " CS_FAULT_ACTION=" + action if action != "fail" else "",
        sc.h.cs, " ".join(sc.args()))
    if fpath:
        ctx += " on %s" % fpath
    if rc < 0:
        raise Failure("%s: died of signal %d\nreplay: %s\n%s" % (ctx, -rc, replay, err_text[-2000:]))
    if action == "short" and rc != 0:
        raise Failure("%s: a short read is not an error, but exit %d\nreplay: %s\n%s" % (
            ctx, rc, replay, err_text[-2000:]))
    if rc not in (0, 1) and not (rc == 3 and cls in ("read", "pread") and sc.name in READS_PARTIAL):
        raise Failure("%s: exit %d, want 1 (or 0 when harmless)\nreplay: %s\n%s" % (
            ctx, rc, replay, err_text[-2000:]))
    if rc != 0:
        want = STRERROR[err]
        lines = [ln for ln in err_text.splitlines() if ln.startswith("clawstate: ")]
        # SQLite reports failing reads of a database it rewrites as "disk I/O
        # error" or even "database disk image is malformed", without the
        # errno: the path must still be named.
        sqlite_own = fpath.endswith((".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal")) \
            or os.path.basename(fpath).startswith(".sqlite-capture-")
        good = [ln for ln in lines if (want in ln or (sqlite_own and (
                    "malformed" in ln or "disk I/O error" in ln)))
                and names_path(ln, fpath, sc)]
        if not good:
            raise Failure("%s: exit %d without a message naming the path and '%s'\n"
                          "replay: %s\n%s" % (ctx, rc, want, replay, err_text[-2000:]))
        stats.setdefault("exit %d" % rc, 0)
        stats["exit %d" % rc] += 1
    sc.last_err = err_text
    if rc == 3 and isinstance(sc, crash.TreeScenario):
        # migrate --state: the source entry that could not be read was named
        # and left out (exit 3), and the rest swapped in: the old tree kept.
        if sc.which(sc.target) != "old" and not sc.old_kept_somewhere():
            raise Failure("%s: exit 3, and the old tree is nowhere" % ctx)
    else:
        sc.after_kill(ctx, rc)
    if rc == 0:
        # The run says it succeeded: its result must be complete.
        complete(sc, ctx, before_seqs)
        if action == "short":
            stats["short, exit 0"] = stats.get("short, exit 0", 0) + 1
        elif fpath:
            stats.setdefault("harmless", {}).setdefault(cls, set()).add(
                os.path.basename(fpath.replace(" (deleted)", "")).split(".clawstate-stage-")[0])
    sc.follow_up(ctx)
    return fpath != ""


def db_dumps(root):
    """Each SQLite database below ROOT as (integrity_check, its SQL dump)."""
    res = {}
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".clawstate-")]
        for n in files:
            if n.endswith(".sqlite"):
                p = os.path.join(dirpath, n)
                con = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
                try:
                    res[os.path.relpath(p, root)] = (
                        con.execute("PRAGMA integrity_check").fetchone()[0],
                        "\n".join(con.iterdump()))
                finally:
                    con.close()
    return res


SQLITE_LINE = re.compile(r"^b'[^']*\.sqlite' file ")


def same_but_databases(sc):
    """The target is the new tree but for databases that hold the same rows
    (a capture through another path may order pages differently): databases
    are compared logically, as the design says, not byte for byte."""
    d = sc.view(crash.tree_digest(sc.target)) or []
    strip = lambda lines: [ln for ln in lines if not SQLITE_LINE.match(ln)]
    return strip(d) == strip(sc.new) and db_dumps(sc.target) == sc.ref_dbs


_which = crash.TreeScenario.which


def which_logical(self, path):
    w = _which(self, path)
    if w == "mixed" and path == self.target and hasattr(self, "ref_dbs") and \
            same_but_databases(self):
        return "new"
    return w


crash.TreeScenario.which = which_logical


def complete(sc, ctx, before_seqs):
    if isinstance(sc, crash.SnapshotScenario):
        seqs = sc.vs.seqs()
        if len(seqs) != len(before_seqs) + 1:
            raise Failure("%s: exit 0 but no new snapshot" % ctx)
    if isinstance(sc, crash.BackupScenario):
        if not os.path.exists(sc.out):
            raise Failure("%s: exit 0 but no backup file" % ctx)
    if isinstance(sc, crash.TreeScenario):
        if isinstance(sc, crash.MountScenario):
            sc.check_settled(ctx)
        if sc.which(sc.target) != "new":
            raise Failure("%s: exit 0 but the target is %s" % (ctx, sc.which(sc.target)))


class MountFaults(crash.MountScenario):
    """A failed (not killed) restore into a mount point is settled at once
    (rolled back), unless the swap had begun: then its journal stays for a
    replay, the message says `clawstate recover DIR` finishes it, and that
    gives the complete new tree."""

    def after_kill(self, ctx, rc):
        hint = "clawstate recover %s finishes the swap" % self.target in self.last_err
        if os.path.exists(os.path.join(self.target, ".clawstate-journal")):
            if rc == 0:
                raise Failure("%s: exit 0 with a journal left" % ctx)
            if not hint:
                raise Failure("%s: a half-done swap, and the message does not say "
                              "so:\n%s" % (ctx, self.last_err[-1000:]))
        if hint:
            self.h.run(["recover", self.target], check=0, what=ctx + ": recover")
            ctx += " (recovered)"
        self.check_settled(ctx)


class SnapshotFirst(crash.SnapshotScenario):
    """The first snapshot of a new vault: every file is read (a later one
    reuses what did not change), so every read and write of a full snapshot
    meets a fault."""

    def fresh_vault(self):
        crash.rmtree(self.v)
        self.h.run(["init", "--vault", self.v, "--key-file", self.h.key], check=0, what="init")
        self.vs = crash.VaultState(self.h, self.v)

    def prepare(self, i):
        self.fresh_vault()
        self.vs.record()


def points(count, sample, rng):
    if not sample or count <= sample:
        return list(range(1, count + 1))
    pts = {1, count}
    while len(pts) < sample:
        pts.add(rng.randint(1, count))
    return sorted(pts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cs", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--errnos", default="EIO ENOSPC")
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    cs = os.path.join(work, "clawstate")
    shutil.copy2(a.cs, cs)
    shim = os.path.join(work, "faultshim.so")
    shutil.copy2(a.shim, shim)
    h = crash.H(cs, work, a.verbose)
    errnos = a.errnos.split()
    kinds = {"snapshot-first": SnapshotFirst, "snapshot": crash.SnapshotScenario,
             "backup": crash.BackupScenario,
             "backup-state": crash.BackupStateScenario, "restore": crash.RestoreScenario,
             "migrate-docker": crash.MigrateDockerScenario,
             "migrate-host": crash.MigrateHostScenario, "mount": MountFaults}
    names = [x for x in a.only.split(",") if x] or list(kinds)
    if not crash.can_mount(work) and "mount" in names:
        names.remove("mount")
        print("# skipped (needs root and a private mount namespace): mount")
    t0 = time.monotonic()
    fx = crash.Fixture(h)
    inj = Injector(h, shim)
    if inj.preload != shim:
        print("# sanitizer build: preloading %s" % inj.preload)
    total = 0
    harmless = {}
    try:
        for name in names:
            sc = kinds[name](h, fx)
            sc.name = name
            sc.seed = a.seed
            sc.setup()
            if isinstance(sc, crash.TreeScenario):
                sc.ref_dbs = db_dumps(sc.target)  # the clean run's output
            sc.i = 0
            sc.prepare(0)
            counts = inj.counts(sc)
            rng = random.Random("%s/%s" % (a.seed, name))
            stats = {}
            per = {}
            i = 0
            t1 = time.monotonic()
            for cls in CLASSES:
                c = counts.get(cls, 0)
                runs = [(e, "fail") for e in errnos]
                # a read fails with EIO (never ENOSPC), or comes back short
                if cls == "read":
                    runs = [("EIO", "fail"), ("EIO", "short")]
                elif cls == "pread":
                    runs = [("EIO", "fail")]
                for n in points(c, a.sample, rng):
                    if n > c:
                        break
                    for e, action in runs:
                        i += 1
                        if one_fault(inj, sc, i, cls, n, e, action, stats):
                            per[cls] = per.get(cls, 0) + 1
                            if a.verbose:
                                print("ok %s %s #%d/%d %s" % (name, cls, n, c, action if action != "fail" else e))
                        elif isinstance(sc, crash.SnapshotScenario):
                            # A snapshot reads again what changed since the last one
                            # (or within its second): later runs make fewer calls.
                            sc.prepare(i)
                            c = min(c, inj.counts(sc).get(cls, 0))
            n_inj = sum(per.values())
            total += n_inj
            for cls, where in stats.get("harmless", {}).items():
                harmless.setdefault(cls, set()).update(where)
            print("%s: %d faults injected (%s); %s; calls per class %s in %.1fs" % (
                name, n_inj, ", ".join("%s %d" % kv for kv in per.items()),
                ", ".join("%s %d" % (k, v) for k, v in sorted(stats.items()) if k != "harmless"),
                " ".join("%s=%d" % (k, v) for k, v in counts.items() if v), time.monotonic() - t1))
            sys.stdout.flush()
    except Failure as e:
        print("FAIL: %s" % e)
        print("work dir kept: %s" % work)
        return 1
    for cls, where in sorted(harmless.items()):
        print("# harmless (exit 0, complete result) %s faults on: %s" % (cls, ", ".join(sorted(where))))
    print("%d faults injected, every one handled, in %.0fs" % (total, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
