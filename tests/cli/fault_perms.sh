#!/bin/sh
# Permissions and read-only filesystems (root ignores mode bits, so the mode
# cases run as uid 1001 through setpriv; the read-only ones use read-only bind
# mounts in a private mount namespace).  Each is exit 1 naming the path and
# the reason, or for an unreadable source file exit 3 naming it (the rest is
# kept, the entry left out); nothing stored before is lost.
. "$TESTS/lib.sh"
. "$TESTS/crash/faultlib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (setpriv to uid 1001, mounts)"
command -v setpriv >/dev/null || skip "no setpriv"
n=0
U=$T/u
mkdir -p "$U/home"
S=$U/home/.openclaw
mkstate "$S" --keys 10 --media-mb 0
chown -R 1001:1001 "$U"
as1001() { setpriv --reuid 1001 --regid 1001 --clear-groups env HOME="$U/home" "$@"; }
V=$U/v
K=$U/k
expect 0 "" as1001 "$CS" init --vault "$V" --key-file "$K"
expect 0 "" as1001 "$CS" snapshot --vault "$V" --key-file "$K" --state "$S"
expect 0 "" as1001 "$CS" snapshots --vault "$V" --key-file "$K"
cp "$T/out" "$T/list.before"
intact() {
	expect 0 "" as1001 "$CS" verify --vault "$V" --key-file "$K"
	expect 0 "" as1001 "$CS" snapshots --vault "$V" --key-file "$K"
	cmp -s "$T/out" "$T/list.before" || fail "$1: the snapshot list changed"
}

# --- the vault dir not writable (0500): the SQLite capture cannot be made ---------------------
chmod 500 "$V"
touch "$S/state/openclaw.sqlite"
expect 1 "$V: creating the SQLite capture file: Permission denied" \
	as1001 "$CS" snapshot --vault "$V" --key-file "$K" --state "$S"
chmod 700 "$V"
intact "vault dir 0500"
# --- the vault's data file read-only (0400) ---------------------------------------------------
chmod 400 "$V/data.mdb"
expect 1 "$V: open LMDB environment: Permission denied" \
	as1001 "$CS" snapshot --vault "$V" --key-file "$K" --state "$S"
chmod 600 "$V/data.mdb"
intact "data.mdb 0400"
n=$((n + 2))

# --- unreadable source files: snapshot, backup --state and migrate --state name them ----------
F=credentials/whatsapp/default/creds.json
chmod 000 "$S/$F"
expect 3 "$F: cannot open: Permission denied" as1001 "$CS" snapshot --vault "$V" --key-file "$K" --state "$S"
expect 3 "$F: cannot open: Permission denied" \
	as1001 "$CS" backup --vault "$V" --key-file "$K" --state "$S" -o "$U/b.cst"
expect 0 "" as1001 "$CS" verify --key-file "$K" "$U/b.cst"
expect 3 "$F: cannot open: Permission denied" as1001 "$CS" migrate --state "$S" --layout docker \
	--to "$U/d" --owner 1001:1001
grep -qF "1 entry of the source could not be read and was left out" "$T/err" || fail "migrate: no count"
[ -e "$U/d/config/$F" ] && fail "migrate: the unreadable file appeared"
chmod 600 "$S/$F"
expect 0 "" as1001 "$CS" snapshots --vault "$V" --key-file "$K"
cp "$T/out" "$T/list.before" # with the two partial snapshots
n=$((n + 3))

# --- an output dir the user may not enter ------------------------------------------------------
mkdir "$U/closed"
chmod 700 "$U/closed" # root's
expect 1 "$U/closed: open directory: Permission denied" \
	as1001 "$CS" backup --vault "$V" --key-file "$K" --snapshot latest -o "$U/closed/b.cst"
expect 1 "$U/closed: open directory: Permission denied" \
	as1001 "$CS" restore --vault "$V" --key-file "$K" --snapshot latest --to "$U/closed/r"
[ -z "$(ls -A "$U/closed")" ] || fail "something was made in the closed dir"
n=$((n + 2))

# --- read-only filesystems (bind mounts) -------------------------------------------------------
if [ -n "${CS_IN_NS:-}" ]; then
	expect 0 "" "$CS" backup --vault "$V" --key-file "$K" --snapshot latest -o "$T/b.cst"
	mkdir -p "$T/vro" "$T/p/r" "$T/pro"
	echo old >"$T/p/r/old.txt"
	mount --bind "$V" "$T/vro" && mount -o remount,ro,bind "$T/vro" || fail "ro bind mount"
	mount --bind "$T/p" "$T/pro" && mount -o remount,ro,bind "$T/pro" || fail "ro bind mount"
	expect 1 "$T/vro/writer.lock: open lock file: Read-only file system" \
		"$CS" snapshot --vault "$T/vro" --key-file "$K" --state "$S"
	# Readers open the environment read-write (they clear stale reader slots):
	# on a read-only filesystem that is a clear error, not a hang or a crash.
	expect 1 "$T/vro: open LMDB environment: Read-only file system" \
		"$CS" verify --vault "$T/vro" --key-file "$K"
	expect 1 "$T/pro/r: create staging lock: Read-only file system" \
		"$CS" restore "$T/b.cst" --key-file "$K" --to "$T/pro/r" --replace
	[ "$(ls -A "$T/p/r")" = old.txt ] || fail "ro target changed"
	expect 1 "$T/pro/x.cst: create temporary file: Read-only file system" \
		"$CS" backup --vault "$V" --key-file "$K" --snapshot latest -o "$T/pro/x.cst"
	expect 1 "$T/pro/d: create staging lock: Read-only file system" \
		"$CS" migrate --state "$S" --layout docker --to "$T/pro/d"
	[ "$(ls -A "$T/p")" = r ] || fail "ro parent changed: $(ls -A "$T/p")"
	umount "$T/vro" "$T/pro"
	intact "read-only mounts"
	n=$((n + 5))
fi
note "$n permission and read-only cases"
exit 0
