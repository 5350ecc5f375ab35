#!/bin/sh
# Full filesystems that snap_diskfull.sh does not cover (small tmpfs mounts in
# a private mount namespace; needs root): a restore target whose filesystem
# runs out of inodes, one whose bytes run out while the tree is staged (the
# restore stopped after its free-space check, the disk filled, then resumed),
# a mount-point target out of inodes, a vault dir that cannot take the SQLite
# capture, migrate's capture dir (TMPDIR) full, and a backup over `ulimit -f`
# (SIGXFSZ ignored: EFBIG).  Each is exit 1 naming the path and the error; the
# old tree, the vault and the final names are as before; nothing of the run
# is left; with room again the same command works.
. "$TESTS/lib.sh"
. "$TESTS/crash/faultlib.sh"
[ -n "${CS_IN_NS:-}" ] || skip "needs root and a private mount namespace for small tmpfs mounts"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 10 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
small() { # DIR OPTIONS: a fresh small tmpfs at DIR
	umount "$1" 2>/dev/null
	mkdir -p "$1"
	mount -t tmpfs -o "$2" none "$1" || fail "mount tmpfs $2"
}
mkold() { # DIR: an old tree, times fixed so its digest is stable
	mkdir -p "$1/sub"
	echo old >"$1/old.txt"
	echo deeper >"$1/sub/y"
	find "$1" -exec touch -h -d @1700000000 {} +
}
n=0

# --- a target's filesystem out of inodes -------------------------------------------------
small "$T/f1" size=8m,nr_inodes=40
mkold "$T/f1/r"
digest "$T/f1/r" >"$T/old.d"
expect 1 ": No space left on device" "$CS" restore "$T/b.cst" --to "$T/f1/r" --replace
digest "$T/f1/r" >"$T/x.d"
cmp -s "$T/x.d" "$T/old.d" || fail "inodes: the old tree changed"
[ "$(ls -A "$T/f1")" = r ] || fail "inodes: left $(ls -A "$T/f1")"
n=$((n + 1))

# --- bytes run out while staging ---------------------------------------------------------------
small "$T/f2" size=4m
mkold "$T/f2/r"
digest "$T/f2/r" >"$T/old.d"
env LD_PRELOAD="$PRE" CS_FAULT_OP=write CS_FAULT_PATH=.clawstate-stage- \
	CS_FAULT_AT=3 CS_FAULT_ACTION=stop "$CS" restore "$T/b.cst" --to "$T/f2/r" --replace \
	>"$T/p.out" 2>"$T/p.err" &
P=$!
trap 'kill -KILL "$P" 2>/dev/null' EXIT # never leave it stopped
i=0
until [ "$(sed 's/^.*) //' "/proc/$P/stat" 2>/dev/null | cut -d' ' -f1)" = T ]; do
	i=$((i + 1))
	[ "$i" -le 3000 ] || fail "the restore never stopped"
	[ -d "/proc/$P" ] || { cat "$T/p.err"; fail "the restore ended before it stopped"; }
	sleep 0.01
done
dd if=/dev/zero of="$T/f2/filler" bs=64k 2>/dev/null # fills it: ENOSPC ends dd
kill -CONT "$P"
wait "$P"
rc=$?
trap - EXIT
[ "$rc" = 1 ] || { cat "$T/p.err"; fail "staging on a full disk: exit $rc, want 1"; }
grep -q ": No space left on device" "$T/p.err" || { cat "$T/p.err"; fail "staging: no ENOSPC message"; }
digest "$T/f2/r" >"$T/x.d"
cmp -s "$T/x.d" "$T/old.d" || fail "staging: the old tree changed"
[ "$(ls -A "$T/f2" | tr '\n' ' ')" = "filler r " ] || fail "staging: left $(ls -A "$T/f2")"
rm -f "$T/f2/filler"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/f2/r" --replace
same_tree "$S" "$T/f2/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
n=$((n + 1))

# --- a mount-point target out of inodes: staged inside it, rolled back -------------------------
small "$T/f3" size=8m,nr_inodes=40
mkold "$T/f3"
expect 1 ": No space left on device" "$CS" restore "$T/b.cst" --to "$T/f3" --replace
[ "$(ls -A "$T/f3" | tr '\n' ' ')" = "old.txt sub " ] || fail "mount target: left $(ls -A "$T/f3")"
n=$((n + 1))

# --- the vault dir cannot take the SQLite capture (no inode left) ----------------------------------
small "$T/f4" size=16m,nr_inodes=8
V=$T/f4/v
expect 0 "" "$CS" init --vault "$V" --key-file "$T/key4"
expect 0 "" "$CS" snapshot --vault "$V" --key-file "$T/key4" --state "$S"
expect 0 "" "$CS" snapshots --vault "$V" --key-file "$T/key4"
cp "$T/out" "$T/list.before"
while touch "$T/f4/i$n-$(ls "$T/f4" | wc -l)" 2>/dev/null; do :; done
touch "$S/state/openclaw.sqlite" # changed: captured again
expect 1 "$V: creating the SQLite capture file: No space left on device" \
	"$CS" snapshot --vault "$V" --key-file "$T/key4" --state "$S"
expect 0 "" "$CS" snapshots --vault "$V" --key-file "$T/key4"
cmp -s "$T/out" "$T/list.before" || fail "vault full: the snapshot list changed"
expect 0 "" "$CS" verify --vault "$V" --key-file "$T/key4"
rm -f "$T"/f4/i*
expect 0 "" "$CS" snapshot --vault "$V" --key-file "$T/key4" --state "$S"
n=$((n + 1))

# --- migrate --state: the capture dir (TMPDIR) is full ------------------------------------------
small "$T/f5" size=64k
mkdir -p "$T/srv"
mkold "$T/srv/oc"
digest "$T/srv/oc" >"$T/old.d"
expect 1 "No space left on device" env TMPDIR="$T/f5" "$CS" migrate --state "$S" --layout docker \
	--to "$T/srv/oc" --replace
digest "$T/srv/oc" >"$T/x.d"
cmp -s "$T/x.d" "$T/old.d" || fail "TMPDIR full: the target changed"
[ -z "$(ls -A "$T/f5")" ] || fail "TMPDIR full: left $(ls -A "$T/f5")"
[ "$(ls -A "$T/srv")" = oc ] || fail "TMPDIR full: left $(ls -A "$T/srv")"
n=$((n + 1))

# --- a backup over the file size limit (SIGXFSZ ignored: EFBIG) ------------------------------------
mkdir -p "$T/o"
(
	ulimit -f 40
	trap '' XFSZ
	exec "$CS" backup --snapshot latest -o "$T/o/big.cst"
) >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] || { cat "$T/err"; fail "ulimit -f: exit $rc, want 1"; }
grep -qF "$T/o/big.cst: write: File too large" "$T/err" || { cat "$T/err"; fail "ulimit -f: message"; }
[ -z "$(ls -A "$T/o")" ] || fail "ulimit -f: left $(ls -A "$T/o")"
n=$((n + 1))
umount "$T/f1" "$T/f2" "$T/f3" "$T/f4" "$T/f5"
note "$n full-disk cases"
exit 0
