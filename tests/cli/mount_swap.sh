#!/bin/sh
# Restoring into a mount point (a bind mount, a tmpfs; in a private mount
# namespace) stages inside it and swaps its top-level entries under a journal:
# the result is the backup's tree exactly, root included; the old tree is kept
# in DIR/.clawstate-old-<seq>/ (removed with --no-keep); an empty mount point
# needs no --replace; a target mounted over while it was staged beside is
# staged again inside.  recover: nothing to do (0), a damaged journal (4,
# nothing moved), a live lock (6).  A mount point inside the target is refused (6).
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for unshare -m and mount"
command -v unshare >/dev/null || skip "no unshare"
if [ -z "${CS_IN_NS:-}" ]; then
	unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs none '$T/probe'" 2>/dev/null ||
		skip "cannot mount a tmpfs in a private mount namespace here"
	exec env CS_IN_NS=1 unshare -m sh "$0"
fi

S=$T/home/alice/.openclaw
mkstate "$S" --keys 20 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"

# The tree without the top-level .clawstate-* entries (and without dir mtimes:
# creating entries changes them; the root's mtime is checked on its own).
top_digest() {
	digest "$1" --no-dir-mtime --skip-sqlite state/openclaw.sqlite | grep -v "^b'\.clawstate-"
}
# A tree without its root line (a kept old tree is a new dir of its own).
body_digest() { digest "$1" --no-dir-mtime | grep -v "^b'\.' "; }
mtime_ns() { "$PY" -c 'import os,sys; print(os.stat(sys.argv[1]).st_mtime_ns)' "$1"; }
ours() { ls -A "$1" | grep '^\.clawstate-' | tr '\n' ' '; }
top_digest "$S" >"$T/new.d"

# The old tree, with names the journal has to escape.
mkold() {
	mkdir -p "$1/sub" "$1/workspace"
	echo old >"$1/openclaw.json"
	echo deeper >"$1/sub/y"
	printf x >"$1/$(printf 'new\nline')"
	printf x >"$1/sp ace%25"
	printf x >"$1/$(printf '\377')"
	echo w >"$1/workspace/old-notes.md"
	find "$1" -type f -exec touch -d @1700000000 {} +
	chmod 0755 "$1"
}
mkdir -p "$T/vol" "$T/r"
mkold "$T/vol"
body_digest "$T/vol" >"$T/old.d"
mount --bind "$T/vol" "$T/r" || fail "bind mount"

expect 6 "target is not empty (use --replace)" "$CS" restore "$T/b.cst" --to "$T/r"
[ "$(ours "$T/r")" = "" ] || fail "a refused restore left $(ours "$T/r")"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace
out_has "old tree kept at $T/r/.clawstate-old-1"
top_digest "$T/r" >"$T/got.d"
cmp -s "$T/got.d" "$T/new.d" || { diff "$T/new.d" "$T/got.d" | head; fail "restored tree differs"; }
[ "$(mtime_ns "$T/r")" = "$(mtime_ns "$S")" ] || fail "root mtime $(mtime_ns "$T/r"), want $(mtime_ns "$S")"
[ "$(stat -c '%a %u:%g' "$T/r")" = "$(stat -c '%a %u:%g' "$S")" ] ||
	fail "root is $(stat -c '%a %u:%g' "$T/r"), want $(stat -c '%a %u:%g' "$S")"
body_digest "$T/r/.clawstate-old-1" >"$T/kept.d"
cmp -s "$T/kept.d" "$T/old.d" || { diff "$T/old.d" "$T/kept.d" | head; fail "kept old tree differs"; }
[ "$(stat -c %a "$T/r/.clawstate-old-1")" = 700 ] || fail "old-tree dir not 0700"
[ "$(ours "$T/r")" = ".clawstate-old-1 " ] || fail "left in the mount: $(ours "$T/r")"
for x in "$T"/r.clawstate-*; do [ -e "$x" ] && fail "left $x beside the mount"; done
echo "ok restore --replace into a bind mount: new tree, root metadata, old tree kept"

expect 0 "" "$CS" recover "$T/r"
out_has "nothing to recover in $T/r"
expect 0 "" "$CS" recover "$T/r" --json
out_has '{"dir":"'"$T/r"'","journal":false,"forward":false,"moved":0,"stale_stages":0,"old_path":null}'

expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace --no-keep
out_has "old tree removed (--no-keep)"
[ "$(ours "$T/r")" = ".clawstate-old-1 " ] || fail "--no-keep left $(ours "$T/r")"
top_digest "$T/r" >"$T/got.d"
cmp -s "$T/got.d" "$T/new.d" || fail "tree after --no-keep differs"
echo "ok --no-keep removes the old tree; an earlier kept one stays"

expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace --dry-run
[ "$(ours "$T/r")" = ".clawstate-old-1 " ] || fail "a dry run left $(ours "$T/r")"

# An empty mount point (a tmpfs: another filesystem) needs no --replace.
mkdir -p "$T/e"
mount -t tmpfs -o mode=0755 none "$T/e" || fail "tmpfs"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/e"
grep -q "old tree" "$T/out" && fail "an empty mount point has no old tree: $(cat "$T/out")"
top_digest "$T/e" >"$T/got.d"
cmp -s "$T/got.d" "$T/new.d" || fail "tree in the tmpfs differs"
[ "$(ours "$T/e")" = "" ] || fail "left in the tmpfs: $(ours "$T/e")"
echo "ok an empty tmpfs mount point restores without --replace"

# A docker output dir as the mount point: the root is 0755 and the invoker's.
mkdir -p "$T/d"
mount -t tmpfs -o mode=0711 none "$T/d" || fail "tmpfs"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/d" --layout docker --from-home /home/alice
[ "$(stat -c '%a %u:%g' "$T/d")" = "755 0:0" ] || fail "docker output root is $(stat -c '%a %u:%g' "$T/d")"
[ "$(ls -A "$T/d" | tr '\n' ' ')" = "config workspace " ] || fail "docker output holds $(ls -A "$T/d")"
[ "$(stat -c '%u:%g' "$T/d/config")" = "1000:1000" ] || fail "config volume not 1000:1000"
echo "ok a docker layout into a mount point: root 0755, the invoker's"

# A live lock inside: a restore runs there.
"$PY" -c 'import fcntl,os,sys,time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b"1:2 4242 1\n")
open(sys.argv[2], "w").close()
time.sleep(60)' "$T/r/.clawstate-stage-0badc0de.lock" "$T/locked" &
LOCKER=$!
for i in $(seq 50); do [ -e "$T/locked" ] && break; sleep 0.1; done
[ -e "$T/locked" ] || fail "locker did not start"
expect 6 "another restore to $T/r is running (pid 4242)" "$CS" recover "$T/r"
expect 6 "another restore to $T/r is running (pid 4242)" "$CS" restore "$T/b.cst" --to "$T/r" --replace
kill_job "$LOCKER"
expect 0 "" "$CS" recover "$T/r"
out_has "nothing to recover in $T/r"
[ "$(ours "$T/r")" = ".clawstate-old-1 " ] || fail "dead lock not removed: $(ours "$T/r")"
echo "ok a live lock is busy (6), a dead one is removed"

# A journal that does not parse: nothing is touched.
printf 'clawstate-journal 1\nstage nope\n' >"$T/r/.clawstate-journal"
chmod 600 "$T/r/.clawstate-journal" # as a restore makes it (others' are refused)
digest "$T/r" >"$T/before.d"
expect 4 "$T/r/.clawstate-journal: line 2: staging dir name does not start with .clawstate-stage-" \
	"$CS" recover "$T/r"
expect 4 "$T/r/.clawstate-journal: line 2:" "$CS" restore "$T/b.cst" --to "$T/r" --replace
digest "$T/r" >"$T/after.d"
cmp -s "$T/before.d" "$T/after.d" || fail "a bad journal changed the dir"
rm "$T/r/.clawstate-journal"
echo "ok a journal that does not parse: exit 4, nothing moved"

# A mount point among the top-level entries cannot be moved: refused.
mount -t tmpfs none "$T/r/workspace" || fail "tmpfs on workspace"
digest "$T/r" >"$T/before.d"
expect 6 "$T/r/workspace: a mount point inside the target; it cannot be moved" \
	"$CS" restore "$T/b.cst" --to "$T/r" --replace
digest "$T/r" >"$T/after.d"
cmp -s "$T/before.d" "$T/after.d" || fail "refused restore changed the dir"
umount "$T/r/workspace"
echo "ok a mount point inside the target is refused (6)"

# Mounted over while being staged beside: staged again inside the mount.
mkdir -p "$T/late"
mkold "$T/late"
mkfifo "$T/fifo"
"$CS" restore - --to "$T/late" --replace <"$T/fifo" >"$T/late.out" 2>"$T/late.err" &
RPID=$!
exec 3>"$T/fifo"
SIZE=$(stat -c %s "$T/b.cst")
head -c $((SIZE - 2000)) "$T/b.cst" >&3
for i in $(seq 100); do
	ls -d "$T"/late.clawstate-stage-* >/dev/null 2>&1 && break
	sleep 0.1
done
ls -d "$T"/late.clawstate-stage-* >/dev/null 2>&1 || fail "no staging dir beside the target"
mount -t tmpfs none "$T/late" || fail "tmpfs over late"
tail -c 2000 "$T/b.cst" >&3
exec 3>&-
wait "$RPID"
rc=$?
[ "$rc" = 0 ] || { cat "$T/late.err"; fail "restore mounted over: exit $rc"; }
top_digest "$T/late" >"$T/got.d"
cmp -s "$T/got.d" "$T/new.d" || fail "restaged tree differs"
[ "$(ours "$T/late")" = "" ] || fail "left in the mount: $(ours "$T/late")"
for x in "$T"/late.clawstate-*; do [ -e "$x" ] && fail "left $x beside the target"; done
umount "$T/late"
body_digest "$T/late" >"$T/got.d"
cmp -s "$T/got.d" "$T/old.d" || { diff "$T/old.d" "$T/got.d" | head; fail "the dir under the mount changed"; }
echo "ok a target mounted over during staging is staged again inside"
exit 0
