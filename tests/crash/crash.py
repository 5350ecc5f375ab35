#!/usr/bin/env python3
"""crash.py - kill clawstate's writing commands with SIGKILL and check, after
every kill, that nothing stored was lost and nothing half-done is visible.

  crash.py --cs BIN --work DIR [--kills N] [--seed S] [--only NAME[,NAME]]
           [--clock-share F] [--quiet]

Scenarios (--only picks some): snapshot, backup (--snapshot latest -o FILE),
backup-state (--state -o FILE), restore (FILE --to DIR --replace),
migrate-docker (--state S --layout docker --to D --replace), migrate-host
(--state D/config --workspace D/workspace --layout host --to H --replace
--owner ...), mount (restore --replace into a bind mount, then recover or the
next restore) and recover (the replay of an interrupted mount swap, itself
killed).  mount and recover need root and a private mount namespace (run.sh /
crash.mk put us in one with unshare -m); without it they are skipped and say so.

Each kill is either at a test point (CLAWSTATE_TEST_KILL_AT=K, K drawn from
1..N with N from a counting run, CLAWSTATE_TEST_COUNT) or at a random
wall-clock moment (a delay drawn from 0..1.2 x a clean run's duration, then
SIGKILL).  Every draw comes from Random("SEED/SCENARIO/I"), and each kill is
printed with the seed, K and N (or the delay), so a test-point kill replays
with the command line printed beside it.

After every kill: the vault verifies (clawstate verify --vault) and lists every
earlier snapshot exactly as before (sha256 of `ls SEQ --json`), the snapshot
list is the old one or the old one plus one; a backup file exists under its
final name only when it verifies; a restore or migrate target is exactly the
complete old tree or the complete new one (tests/treedigest.py; new = a clean
run's output; top-level .clawstate-* ignored inside a mount target), and when
it is the new one the old tree is kept beside it.  Then the next run of the
same command must succeed and leave no DIR.clawstate-stage-*, no lock, no
temporary file and no SQLite capture behind, and must not have deleted the
old tree.  The totals per scenario end the output ("N kills survived").
"""
import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)

_spec = importlib.util.spec_from_file_location("treedigest", os.path.join(TESTS, "treedigest.py"))
treedigest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(treedigest)


class Failure(Exception):
    pass


def tree_digest(path, *opts):
    """treedigest.py's output for PATH, as a list of lines (None: absent)."""
    if not os.path.lexists(path):
        return None
    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["treedigest.py", *opts, path]
    try:
        with contextlib.redirect_stdout(out):
            treedigest.main()
    finally:
        sys.argv = argv
    return out.getvalue().splitlines()


def mask_root_mtime(lines):
    if lines is None:
        return None
    res = []
    for ln in lines:
        if ln.startswith("b'.' "):
            f = ln.split(" ")
            f[5] = "-"
            ln = " ".join(f)
        res.append(ln)
    return res


def mount_view(lines):
    """A mount target as the invariant sees it: top-level .clawstate-* left
    out, the root's mtime too (entries come and go in it)."""
    if lines is None:
        return None
    return [ln for ln in mask_root_mtime(lines) if not ln.startswith("b'.clawstate-")]


def body(lines):
    """A mount target's entries below the root, top-level .clawstate-* aside:
    what a kept old tree (DIR/.clawstate-old-N/) must hold."""
    return [ln for ln in mount_view(lines) if not ln.startswith("b'.' ")]


def subtree_view(lines, top):
    """The entries below DIR/TOP, named relative to it, from DIR's digest."""
    pre = "b'%s/" % top
    return [ln.replace(pre, "b'") for ln in lines or [] if ln.startswith(pre)]


def rmtree(path):
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
        os.unlink(path)
        return
    if not os.path.exists(path):
        return
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    os.chmod(path, 0o700)
    shutil.rmtree(path)


def siblings(path, tag):
    """Entries beside PATH named BASENAME.clawstate-TAG*."""
    d, b = os.path.split(path)
    pre = b + ".clawstate-" + tag
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.startswith(pre))


class H:
    """The environment: the binary, the work dir, a few runners."""

    def __init__(self, cs, work, verbose):
        self.cs = cs
        self.work = work
        self.verbose = verbose
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CLAWSTATE_", "OPENCLAW_", "CS_FAULT_"))}
        self.env["HOME"] = os.path.join(work, "home", "alice")
        self.env["LC_ALL"] = "C"
        self.env["TMPDIR"] = os.path.join(work, "tmp")
        os.makedirs(self.env["TMPDIR"], exist_ok=True)
        self.key = os.path.join(work, "key")

    def run(self, args, vault=None, extra=None, check=None, what=None):
        env = dict(self.env)
        if vault:
            env["CLAWSTATE_VAULT"] = vault
        env["CLAWSTATE_KEY_FILE"] = self.key
        if extra:
            env.update(extra)
        p = subprocess.run([self.cs] + list(args), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if check is not None and p.returncode != check:
            raise Failure("%s: exit %d, want %d: clawstate %s\n%s" % (
                what or "run", p.returncode, check, " ".join(args),
                p.stderr.decode(errors="replace")[-2000:]))
        return p

    def spawn(self, args, vault=None, extra=None):
        env = dict(self.env)
        if vault:
            env["CLAWSTATE_VAULT"] = vault
        env["CLAWSTATE_KEY_FILE"] = self.key
        if extra:
            env.update(extra)
        return subprocess.Popen([self.cs] + list(args), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def count(self, args, vault=None):
        """The number of test points a clean run passes."""
        cf = os.path.join(self.work, "count")
        if os.path.exists(cf):
            os.unlink(cf)
        self.run(args, vault, {"CLAWSTATE_TEST_COUNT": cf}, check=0, what="counting run")
        with open(cf) as f:
            n = int(f.read().strip() or 0)
        if n < 1:
            raise Failure("counting run passed no test point: %s" % " ".join(args))
        return n

    def timed(self, args, vault=None):
        t0 = time.monotonic()
        self.run(args, vault, check=0, what="timing run")
        return time.monotonic() - t0


# --- the vault checks ---------------------------------------------------------------

class VaultState:
    """What a vault held before a kill: the snapshot list and the sha256 of each
    snapshot's `ls SEQ --json`."""

    def __init__(self, h, vault):
        self.h = h
        self.vault = vault
        self.ls = {}

    def seqs(self):
        p = self.h.run(["snapshots", "--json"], self.vault, check=0, what="snapshots")
        return [s["seq"] for s in json.loads(p.stdout)["snapshots"]]

    def ls_digest(self, seq):
        p = self.h.run(["ls", str(seq), "--json"], self.vault, check=0, what="ls %d" % seq)
        return hashlib.sha256(p.stdout).hexdigest()

    def record(self):
        seqs = self.seqs()
        for s in seqs:
            if s not in self.ls:
                self.ls[s] = self.ls_digest(s)
        self.before = seqs

    def check(self, ctx):
        self.h.run(["verify", "--vault", self.vault], self.vault, check=0,
                   what=ctx + ": verify --vault")
        seqs = self.seqs()
        if seqs != self.before and seqs[:-1] != self.before:
            raise Failure("%s: snapshot list %s, was %s" % (ctx, seqs, self.before))
        for s in self.before:
            if self.ls_digest(s) != self.ls[s]:
                raise Failure("%s: snapshot %d lists differently after the kill" % (ctx, s))

    def no_leftovers(self, ctx):
        extra = sorted(set(os.listdir(self.vault)) - {"data.mdb", "lock.mdb", "writer.lock"})
        if extra:
            raise Failure("%s: the next vault write left %s in the vault dir" % (ctx, extra))


def backup_temps(out):
    d, b = os.path.split(out)
    return sorted(n for n in os.listdir(d) if n.startswith("." + b + ".clawstate-tmp-"))


# --- scenarios ----------------------------------------------------------------------------

class Scenario:
    name = ""
    needs_mount = False

    def __init__(self, h, fx):
        self.h = h
        self.fx = fx
        self.kills = 0
        self.clock_kills = 0
        self.clock_done = 0
        self.not_reached = 0

    def setup(self):
        pass

    def prepare(self, i):
        pass

    def args(self):
        raise NotImplementedError

    def vault(self):
        return None

    def npoints(self, i):
        """The number of test points; called after prepare(i), which it may
        redo when the counting run used up the prepared state."""
        return self.h.count(self.args(), self.vault())

    def main_args(self):
        return self.args()

    def replay(self, k):
        env = "CLAWSTATE_TEST_KILL_AT=%d" % k if k else ""
        return "%s %s %s" % (env, self.h.cs, " ".join(self.args()))

    def after_kill(self, ctx, rc):
        pass

    def follow_up(self, ctx):
        pass


class Fixture:
    """The trees every scenario starts from (built once)."""

    def __init__(self, h):
        self.h = h
        w = h.work
        self.state = os.path.join(w, "home", "alice", ".openclaw")
        subprocess.run([sys.executable, os.path.join(TESTS, "gen_fixture.py"), "--out",
                        self.state, "--keys", "10", "--media-mb", "0"], check=True,
                       capture_output=True)
        self.vault = os.path.join(w, "vault")
        h.run(["init", "--vault", self.vault, "--key-file", h.key], check=0, what="init")
        # Two different trees to restore: old (as first recorded) and new.
        self.b_old = os.path.join(w, "old.cst")
        h.run(["backup", "--state", self.state, "-o", self.b_old], self.vault, check=0,
              what="backup old")
        with open(os.path.join(self.state, "workspace", "MEMORY.md"), "a") as f:
            f.write("a line added after the old backup\n")
        os.makedirs(os.path.join(self.state, "workspace", "new-dir"))
        with open(os.path.join(self.state, "workspace", "new-dir", "n.md"), "w") as f:
            f.write("new\n")
        os.unlink(os.path.join(self.state, "cron", os.listdir(os.path.join(self.state, "cron"))[0]))
        self.b_new = os.path.join(w, "new.cst")
        h.run(["backup", "--state", self.state, "-o", self.b_new], self.vault, check=0,
              what="backup new")
        # A static copy for the migrations (the snapshot scenarios change .state).
        self.mstate = os.path.join(w, "home", "carol", ".openclaw")
        os.makedirs(os.path.dirname(self.mstate))
        h.run(["restore", self.b_new, "--to", self.mstate], self.vault, check=0,
              what="restore the migration source")


class SnapshotScenario(Scenario):
    """snapshot --state S into a vault; S changes before every kill."""
    name = "snapshot"
    max_snapshots = 10

    def setup(self):
        self.state = self.fx.state
        self.v = os.path.join(self.h.work, "v-" + self.name)
        self.fresh_vault()

    def fresh_vault(self):
        rmtree(self.v)
        self.h.run(["init", "--vault", self.v, "--key-file", self.h.key], check=0, what="init")
        self.h.run(["snapshot", "--state", self.state], self.v, check=0, what="first snapshot")
        self.vs = VaultState(self.h, self.v)

    def vault(self):
        return self.v

    def args(self):
        return ["snapshot", "--state", self.state]

    def mutate(self, i):
        ws = os.path.join(self.state, "workspace")
        with open(os.path.join(ws, "MEMORY.md"), "a") as f:
            f.write("change %d\n" % i)
        with open(os.path.join(ws, "memory-%d.md" % (i % 7)), "w") as f:
            f.write("note %d\n" % i * (1 + i % 50))

    def prepare(self, i):
        self.mutate(i)
        if len(self.vs.seqs()) >= self.max_snapshots:
            self.fresh_vault()
        self.vs.record()

    def npoints(self, i):
        # Count on a copy: the vault itself must still lack this snapshot.
        vc = self.v + ".count"
        rmtree(vc)
        shutil.copytree(self.v, vc)
        n = self.h.count(self.args(), vc)
        rmtree(vc)
        return n

    def after_kill(self, ctx, rc):
        self.vs.check(ctx)

    def follow_up(self, ctx):
        self.h.run(self.args(), self.v, check=0, what=ctx + ": the next snapshot")
        self.vs.no_leftovers(ctx)
        self.h.run(["verify", "--vault", self.v], self.v, check=0, what=ctx + ": verify")


class BackupScenario(Scenario):
    """backup --snapshot latest -o FILE."""
    name = "backup"

    def setup(self):
        self.out = os.path.join(self.h.work, "out", "b.cst")
        os.makedirs(os.path.dirname(self.out), exist_ok=True)
        self.v = self.fx.vault
        self.n = None

    def vault(self):
        return self.v

    def args(self):
        return ["backup", "--snapshot", "latest", "-o", self.out]

    def npoints(self, i):
        if self.n is None:
            self.n = self.h.count(self.args(), self.v)
            os.unlink(self.out)
        return self.n

    def prepare(self, i):
        if os.path.exists(self.out):
            os.unlink(self.out)

    def check_output(self, ctx):
        temps = backup_temps(self.out)
        if os.path.exists(self.out):
            self.h.run(["verify", self.out], check=0, what=ctx + ": verify the final name")
            if temps:
                raise Failure("%s: temporary files beside the complete file: %s" % (ctx, temps))
        elif len(temps) > 1:
            raise Failure("%s: %d temporary files (earlier ones not cleaned)" % (ctx, len(temps)))

    def after_kill(self, ctx, rc):
        self.check_output(ctx)

    def follow_up(self, ctx):
        self.h.run(self.args() + ["--force"], self.v, check=0, what=ctx + ": the next backup")
        self.h.run(["verify", self.out], check=0, what=ctx + ": verify the next backup")
        if backup_temps(self.out):
            raise Failure("%s: the next backup left %s" % (ctx, backup_temps(self.out)))


class BackupStateScenario(SnapshotScenario, BackupScenario):
    """backup --state S -o FILE: a snapshot, then the file."""
    name = "backup-state"

    def setup(self):
        SnapshotScenario.setup(self)
        self.out = os.path.join(self.h.work, "out", "bs.cst")
        os.makedirs(os.path.dirname(self.out), exist_ok=True)

    def args(self):
        return ["backup", "--state", self.state, "-o", self.out]

    def prepare(self, i):
        BackupScenario.prepare(self, i)
        SnapshotScenario.prepare(self, i)

    def npoints(self, i):
        n = SnapshotScenario.npoints(self, i)
        os.unlink(self.out)
        return n

    def after_kill(self, ctx, rc):
        self.vs.check(ctx)
        self.check_output(ctx)

    def follow_up(self, ctx):
        BackupScenario.follow_up(self, ctx)
        self.vs.no_leftovers(ctx)


class TreeScenario(Scenario):
    """A command that replaces the tree at self.target: old or new, never a mix."""
    view = staticmethod(lambda lines: lines)
    kept_view = staticmethod(lambda lines: lines)

    def make_old(self):
        raise NotImplementedError

    def clear(self):
        rmtree(self.target)
        for p in siblings(self.target, ""):
            rmtree(p)

    def setup(self):
        self.n = None
        self.clear()
        self.make_old()
        self.old = self.view(tree_digest(self.target))
        self.old_kept = self.kept_view(tree_digest(self.target))
        # Twice: the first capture of a WAL database makes its -wal and -shm in
        # the source dir (SQLite does), which changes that dir's mtime.
        self.h.run(self.main_args(), self.vault(), check=0, what=self.name + ": clean run")
        self.clear()
        self.make_old()
        self.h.run(self.main_args(), self.vault(), check=0, what=self.name + ": clean run")
        self.new = self.view(tree_digest(self.target))
        if self.old == self.new:
            raise Failure("%s: the old and the new tree must differ" % self.name)

    def npoints(self, i):
        if self.n is None:
            self.n = self.h.count(self.args(), self.vault())
            self.prepare(i)
        return self.n

    def prepare(self, i):
        self.clear()
        self.make_old()

    def which(self, path):
        d = self.view(tree_digest(path))
        if d == self.old:
            return "old"
        if d == self.new:
            return "new"
        return "absent" if d is None else "mixed"

    def old_kept_somewhere(self):
        for p in siblings(self.target, "old-") + siblings(self.target, "stage-"):
            if os.path.isdir(p) and not os.path.islink(p) and \
                    self.kept_view(tree_digest(p)) == self.old_kept:
                return p
        return None

    def after_kill(self, ctx, rc):
        st = self.which(self.target)
        if st == "new":
            if not self.old_kept_somewhere():
                raise Failure("%s: the target is new, but the old tree is nowhere" % ctx)
        elif st != "old":
            self.dump(ctx)
            raise Failure("%s: the target is %s" % (ctx, st))

    def dump(self, ctx):
        d = self.view(tree_digest(self.target)) or []
        for ln in sorted(set(d) ^ set(self.old))[:10]:
            print("  vs old: %s" % ln)
        for ln in sorted(set(d) ^ set(self.new))[:10]:
            print("  vs new: %s" % ln)

    def follow_up(self, ctx):
        self.h.run(self.args(), self.vault(), check=0, what=ctx + ": the next run")
        if self.which(self.target) != "new":
            self.dump(ctx)
            raise Failure("%s: after the next run the target is %s" % (ctx, self.which(self.target)))
        left = siblings(self.target, "stage-")
        if left:
            raise Failure("%s: the next run left %s" % (ctx, left))
        if not self.old_kept_somewhere():
            raise Failure("%s: after the next run the old tree is gone" % ctx)


class RestoreScenario(TreeScenario):
    """restore NEW.cst --to R --replace over R = OLD."""
    name = "restore"

    def setup(self):
        self.target = os.path.join(self.h.work, "r")
        TreeScenario.setup(self)

    def vault(self):
        return self.fx.vault

    def make_old(self):
        self.h.run(["restore", self.fx.b_old, "--to", self.target], self.vault(), check=0,
                   what="restore the old tree")

    def args(self):
        return ["restore", self.fx.b_new, "--to", self.target, "--replace"]


class MigrateDockerScenario(RestoreScenario):
    """migrate --state S --layout docker --to D --replace (paths rewritten)."""
    name = "migrate-docker"
    view = staticmethod(mask_root_mtime)
    kept_view = staticmethod(mask_root_mtime)

    def setup(self):
        self.target = os.path.join(self.h.work, "srv", "openclaw")
        os.makedirs(os.path.dirname(self.target), exist_ok=True)
        TreeScenario.setup(self)

    def args(self):
        # as non-root the container user's 1000:1000 cannot be given: one's own
        return ["migrate", "--state", self.fx.mstate, "--layout", "docker", "--to", self.target,
                "--replace", "--from-home", "/home/alice"] + (
                    [] if os.geteuid() == 0 else ["--owner", OWNER])

    def tmp_leftovers(self, ctx):
        left = [n for n in os.listdir(self.h.env["TMPDIR"]) if n.startswith("clawstate-")]
        if left:
            raise Failure("%s: the next run left %s in TMPDIR" % (ctx, left))

    def follow_up(self, ctx):
        TreeScenario.follow_up(self, ctx)
        self.tmp_leftovers(ctx)


class MigrateHostScenario(MigrateDockerScenario):
    """migrate --state D/config --workspace D/workspace --layout host --to H
    --replace --owner 1001:1001."""
    name = "migrate-host"
    view = staticmethod(lambda lines: lines)
    kept_view = staticmethod(lambda lines: lines)

    def setup(self):
        self.docker = os.path.join(self.h.work, "srv", "source")
        os.makedirs(os.path.dirname(self.docker), exist_ok=True)
        rmtree(self.docker)
        self.h.run(["migrate", "--state", self.fx.mstate, "--layout", "docker", "--to",
                    self.docker, "--from-home", "/home/alice"] + (
                        [] if os.geteuid() == 0 else ["--owner", OWNER]),
                   check=0, what="docker source")
        self.target = os.path.join(self.h.work, "home", "bob", ".openclaw")
        os.makedirs(os.path.dirname(self.target), exist_ok=True)
        TreeScenario.setup(self)

    def args(self):
        return ["migrate", "--state", os.path.join(self.docker, "config"), "--workspace",
                os.path.join(self.docker, "workspace"), "--layout", "host", "--to", self.target,
                "--replace", "--owner", OWNER]


class MountScenario(RestoreScenario):
    """restore NEW.cst --replace into a bind mount holding OLD: staged inside,
    swapped under a journal; after a kill, `recover DIR` or the next restore
    settles it to the old or the new tree."""
    name = "mount"
    needs_mount = True
    view = staticmethod(mount_view)
    kept_view = staticmethod(mount_view)

    def setup(self):
        self.vol = os.path.join(self.h.work, "vol")
        self.target = os.path.join(self.h.work, "mnt")
        os.makedirs(self.vol, exist_ok=True)
        os.makedirs(self.target, exist_ok=True)
        if subprocess.run(["mount", "--bind", self.vol, self.target]).returncode != 0:
            raise Failure("mount --bind failed")
        TreeScenario.setup(self)

    def clear(self):
        for n in os.listdir(self.target):
            rmtree(os.path.join(self.target, n))

    def make_old(self):
        self.h.run(["restore", self.fx.b_old, "--to", self.target, "--replace", "--no-keep"],
                   self.vault(), check=0, what="restore the old tree into the mount")

    def ours(self):
        return sorted(n for n in os.listdir(self.target) if n.startswith(".clawstate-"))

    def settle(self, ctx, i):
        """recover (even kills) or leave it to the next restore (odd ones)."""
        if i % 2 == 0:
            self.h.run(["recover", self.target], check=0, what=ctx + ": recover")
            self.check_settled(ctx + " (after recover)")

    def check_settled(self, ctx):
        st = self.which(self.target)
        if st == "old":
            if self.ours():
                raise Failure("%s: the old tree, but %s left" % (ctx, self.ours()))
        elif st == "new":
            kept = [n for n in self.ours() if n.startswith(".clawstate-old-")]
            if self.ours() != kept or not kept:
                raise Failure("%s: the new tree, but .clawstate-* is %s" % (ctx, self.ours()))
            d = tree_digest(self.target)
            if not any(subtree_view(d, k) == self.old_body for k in kept):
                for ln in sorted(set(subtree_view(d, kept[0])) ^ set(self.old_body))[:10]:
                    print("  differs: %s" % ln)
                raise Failure("%s: the kept old tree differs" % ctx)
        else:
            self.dump(ctx)
            raise Failure("%s: after settling the target is %s" % (ctx, st))

    def setup_old_body(self):
        self.old_body = body(tree_digest(self.target))

    def prepare(self, i):
        TreeScenario.prepare(self, i)
        if not hasattr(self, "old_body"):
            self.setup_old_body()

    def after_kill(self, ctx, rc):
        self.settle(ctx, self.i)

    def follow_up(self, ctx):
        self.h.run(self.args(), self.vault(), check=0, what=ctx + ": the next restore")
        if self.which(self.target) != "new":
            raise Failure("%s: after the next restore the target is %s" % (ctx, self.which(self.target)))
        bad = [n for n in self.ours() if not n.startswith(".clawstate-old-")]
        if bad:
            raise Failure("%s: the next restore left %s" % (ctx, bad))
        if siblings(self.target, "stage-"):
            raise Failure("%s: staging beside a mount target: %s" % (ctx, siblings(self.target, "")))


class RecoverScenario(MountScenario):
    """A restore into the mount killed inside its swap (a journal left), then
    recover killed at one of its own test points, then recover again: the
    complete new tree, the old one kept."""
    name = "recover"

    def setup(self):
        self.vol = os.path.join(self.h.work, "vol2")
        self.target = os.path.join(self.h.work, "mnt2")
        os.makedirs(self.vol, exist_ok=True)
        os.makedirs(self.target, exist_ok=True)
        if subprocess.run(["mount", "--bind", self.vol, self.target]).returncode != 0:
            raise Failure("mount --bind failed")
        TreeScenario.setup(self)
        self.prepare(0)
        self.setup_old_body()
        n = self.h.count(RestoreScenario.args(self), self.vault())
        # The swap is at the end: walk back from the last point while a kill
        # leaves a journal; note how many points each replay passes.
        self.journal_points = {}
        k = n
        while k > 0:
            self.prepare(0)
            self.kill_restore(k)
            if not os.path.exists(os.path.join(self.target, ".clawstate-journal")):
                if self.journal_points:
                    break
                k -= 1
                continue
            self.journal_points[k] = self.h.count(["recover", self.target])
            k -= 1
        if not self.journal_points:
            raise Failure("recover: no kill point of a mount restore leaves a journal")
        print("# recover: restore kill points %s leave a journal (replay points %s)" % (
            sorted(self.journal_points), [self.journal_points[x] for x in sorted(self.journal_points)]))

    def kill_restore(self, k):
        p = self.h.run(RestoreScenario.args(self), self.vault(),
                       {"CLAWSTATE_TEST_KILL_AT": str(k)})
        if p.returncode != -signal.SIGKILL:
            raise Failure("recover: the restore was not killed at %d (exit %d)" % (k, p.returncode))

    def prepare(self, i):
        TreeScenario.prepare(self, i)
        if i:
            rng = random.Random("%s/recover-swap/%d" % (self.seed, i))
            self.swap_k = rng.choice(sorted(self.journal_points))
            self.kill_restore(self.swap_k)

    def args(self):
        return ["recover", self.target]

    def main_args(self):
        return RestoreScenario.args(self)

    def npoints(self, i):
        return self.journal_points[self.swap_k]

    def replay(self, k):
        return "restore killed at %d, then CLAWSTATE_TEST_KILL_AT=%d %s recover %s" % (
            self.swap_k, k, self.h.cs, self.target)

    def after_kill(self, ctx, rc):
        self.h.run(["recover", self.target], check=0, what=ctx + ": recover again")
        self.check_settled(ctx + " (recovered again)")
        if self.which(self.target) != "new":
            raise Failure("%s: a journal in place must roll forward" % ctx)


# The host tree's owner: another user's as root, one's own otherwise.
OWNER = "1001:1001" if os.geteuid() == 0 else "%d:%d" % (os.getuid(), os.getgid())

SCENARIOS = [SnapshotScenario, BackupScenario, BackupStateScenario, RestoreScenario,
             MigrateDockerScenario, MigrateHostScenario, MountScenario, RecoverScenario]


def can_mount(work):
    if os.geteuid() != 0 or os.environ.get("CS_CRASH_NS") != "1":
        return False
    a = os.path.join(work, "probe-a")
    b = os.path.join(work, "probe-b")
    os.makedirs(a, exist_ok=True)
    os.makedirs(b, exist_ok=True)
    ok = subprocess.run(["mount", "--bind", a, b], stderr=subprocess.DEVNULL).returncode == 0
    if ok:
        subprocess.run(["umount", b])
    os.rmdir(a)
    os.rmdir(b)
    return ok


def one_kill(sc, i, seed, clock_share, verbose):
    rng = random.Random("%s/%s/%d" % (seed, sc.name, i))
    sc.i = i
    sc.seed = seed
    sc.prepare(i)
    clock = rng.random() < clock_share
    ctx = "%s kill %d (seed %s)" % (sc.name, i, seed)
    if not clock:
        n = sc.npoints(i)
        k = rng.randint(1, n)
        ctx += ": point %d/%d" % (k, n)
        p = sc.h.run(sc.args(), sc.vault(), {"CLAWSTATE_TEST_KILL_AT": str(k)})
        rc = p.returncode
        if rc == 0:
            # Work that killed runs made durable is not redone (chunks already
            # stored), so a run may pass fewer points than the count said.
            sc.not_reached += 1
            ctx += " not reached (exit 0)"
        elif rc != -signal.SIGKILL:
            raise Failure("%s: exit %d, want death by SIGKILL; replay: %s\n%s" % (
                ctx, rc, sc.replay(k), p.stderr.decode(errors="replace")[-2000:]))
        else:
            sc.kills += 1
    else:
        if not hasattr(sc, "t_clean"):
            sc.t_clean = None
        if sc.t_clean is None:
            sc.t_clean = max(0.002, measure(sc, i))
            sc.prepare(i)
        delay = rng.uniform(0, 1.2 * sc.t_clean)
        ctx += ": at %.4fs (a clean run takes %.4fs)" % (delay, sc.t_clean)
        p = sc.h.spawn(sc.args(), sc.vault())
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        _, err = p.communicate()
        rc = p.returncode
        if rc == -signal.SIGKILL:
            sc.clock_kills += 1
        elif rc == 0:
            sc.clock_done += 1
            ctx += " (finished first)"
        else:
            raise Failure("%s: exit %d\n%s" % (ctx, rc, err.decode(errors="replace")[-2000:]))
    sc.after_kill(ctx, rc)
    sc.follow_up(ctx)
    if verbose:
        print("ok %s" % ctx)
        sys.stdout.flush()
    return ctx


def measure(sc, i):
    """A clean run's duration (the shorter of two), from the state prepare(i) makes."""
    t = []
    for _ in range(2):
        sc.prepare(i)
        t.append(sc.h.timed(sc.args(), sc.vault()))
    return min(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cs", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kills", type=int, default=200, help="kills in all (spread over scenarios)")
    ap.add_argument("--seed", default=None)
    ap.add_argument("--only", default="")
    ap.add_argument("--clock-share", type=float, default=0.3)
    ap.add_argument("--quiet", action="store_true", help="no line per kill, totals only")
    a = ap.parse_args()
    a.verbose = not a.quiet
    seed = a.seed if a.seed not in (None, "") else str(random.SystemRandom().randrange(1 << 32))
    print("# crash.py: seed %s, %d kills asked for (replay: --seed %s)" % (seed, a.kills, seed))
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    # A private copy: a rebuild during a long run must not change the binary under test.
    cs = os.path.join(work, "clawstate")
    shutil.copy2(a.cs, cs)
    h = H(cs, work, a.verbose)
    mount_ok = can_mount(work)
    names = [x for x in a.only.split(",") if x]
    chosen = [c for c in SCENARIOS if not names or c.name in names]
    if names and len(chosen) != len(names):
        print("crash.py: unknown scenario in --only %s" % a.only, file=sys.stderr)
        return 2
    if not mount_ok:
        skipped = [c.name for c in chosen if c.needs_mount]
        chosen = [c for c in chosen if not c.needs_mount]
        if skipped:
            print("# skipped (need root and a private mount namespace): %s" % ", ".join(skipped))
    t0 = time.monotonic()
    fx = Fixture(h)
    scs = []
    for c in chosen:
        sc = c(h, fx)
        sc.seed = seed
        sc.setup()
        scs.append(sc)
    per = [a.kills // len(scs) + (1 if j < a.kills % len(scs) else 0) for j in range(len(scs))]
    print("# setup done in %.1fs" % (time.monotonic() - t0))
    try:
        for sc, want in zip(scs, per):
            t1 = time.monotonic()
            i = 0
            # A test-point kill may be "not reached" and a clock kill may land
            # after the end: go on until WANT processes really died of SIGKILL
            # (bounded, so a command that can no longer be killed fails).
            while sc.kills + sc.clock_kills < want:
                i += 1
                if i > 3 * want + 20:
                    raise Failure("%s: only %d kills in %d tries" % (
                        sc.name, sc.kills + sc.clock_kills, i - 1))
                one_kill(sc, i, seed, a.clock_share, a.verbose)
            print("%s: %d kills survived (%d at test points, %d at random moments; %d clock "
                  "runs finished first, %d points not reached) in %.1fs" % (
                      sc.name, sc.kills + sc.clock_kills, sc.kills, sc.clock_kills,
                      sc.clock_done, sc.not_reached, time.monotonic() - t1))
            sys.stdout.flush()
    except Failure as e:
        print("FAIL: %s" % e)
        print("work dir kept: %s" % work)
        return 1
    total = sum(sc.kills + sc.clock_kills for sc in scs)
    print("%d kills survived (%s) in %.0fs, seed %s" % (
        total, ", ".join("%s %d" % (sc.name, sc.kills + sc.clock_kills) for sc in scs),
        time.monotonic() - t0, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
