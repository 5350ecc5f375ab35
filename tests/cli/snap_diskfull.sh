#!/bin/sh
# A full disk (a small tmpfs; needs root) under the vault during a snapshot,
# under a backup's output and under a restore target's parent: exit 1 with a
# reason naming the path ("No space left on device", not LMDB's "Input/output
# error" for its short write), earlier snapshots intact, no partial snapshot
# record, the vault still verifies; nothing left under the final names.
. "$TESTS/lib.sh"
M=$T/m
mkdir -p "$M" "$T/m2"
mount -t tmpfs -o size=8m tmpfs "$M" 2>/dev/null || skip "cannot mount a tmpfs here (not root?)"
trap 'umount "$M" 2>/dev/null; umount "$T/m2" 2>/dev/null' EXIT
S=$T/state
mkdir -p "$S"
head -c 3000000 /dev/urandom >"$S/a"
mkvault "$M/v" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
expect 0 "" "$CS" snapshots
cp "$T/out" "$T/list.before"

head -c 6000000 /dev/urandom >"$S/b"
expect 1 "$M/v: commit: No space left on device" "$CS" snapshot --state "$S"
expect 0 "" "$CS" snapshots
cmp -s "$T/out" "$T/list.before" || fail "a failed snapshot changed the snapshot list"
expect 0 "" "$CS" verify --vault "$M/v"
out_has "1 snapshot,"
# Once the tree fits again the vault takes the next snapshot.
rm -f "$S/b"
echo small >"$S/c"
expect 0 "" "$CS" snapshot --state "$S"
expect 0 "" "$CS" verify --vault "$M/v"
out_has "2 snapshots,"
rm -rf "$T/r"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r"
same_tree "$S" "$T/r" --no-dir-mtime

# A backup and a restore onto a full filesystem.
mount -t tmpfs -o size=2m tmpfs "$T/m2" || fail "second tmpfs"
head -c 4000000 /dev/urandom >"$S/d"
expect 0 "" "$CS" init --vault "$T/v2" --key-file "$T/key2"
expect 0 "" "$CS" snapshot --vault "$T/v2" --key-file "$T/key2" --state "$S"
expect 1 "$T/m2/b.cst: write: No space left on device" \
	"$CS" backup --vault "$T/v2" --key-file "$T/key2" --snapshot latest -o "$T/m2/b.cst"
[ -z "$(ls -A "$T/m2")" ] || fail "backup left $(ls -A "$T/m2") on the full filesystem"
mkdir "$T/m2/p"
expect 1 "not enough free space" \
	"$CS" restore --vault "$T/v2" --key-file "$T/key2" --snapshot latest --to "$T/m2/p/r"
[ -z "$(ls -A "$T/m2/p")" ] || fail "restore left $(ls -A "$T/m2/p") in the full parent"
exit 0
