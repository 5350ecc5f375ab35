#!/bin/sh
# Failing system calls while a backup file is written (tests/crash/faultshim.so):
# each is exit 1 naming the file and the error; the final name is absent
# (or, when only the directory's fsync after the rename failed, complete);
# no temporary file is left; a read error on the vault is no integrity error.
# Then a seeded sample of every call class at any point (faults.py).
. "$TESTS/lib.sh"
. "$TESTS/crash/faultlib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 10 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
O=$T/o/b.cst
mkdir -p "$T/o"
nothing_left() {
	[ -e "$O" ] && fail "$1: a file under the final name"
	[ -z "$(ls -A "$T/o")" ] || fail "$1: left $(ls -A "$T/o")"
}
n=0
for c in "write 1 EIO $O: write: Input/output error" \
	"write 3 ENOSPC $O: write: No space left on device" \
	"fsync 1 EIO $O: fsync: Input/output error" \
	"fsync 1 ENOSPC $O: fsync: No space left on device" \
	"renameat2 1 EIO $O: rename: Input/output error"; do
	set -- $c
	op=$1 at=$2 e=$3
	shift 3
	expect 1 "$*" fault env CS_FAULT_OP="$op" CS_FAULT_AT="$at" CS_FAULT_ERRNO="$e" \
		CS_FAULT_PATH=/o/ "$CS" backup --snapshot latest -o "$O"
	nothing_left "$op #$at $e"
	n=$((n + 1))
done
# After the rename (the file synced and complete): its close (the temp's
# flock is held until the rename) and the directory's fsync.  The name may
# not be durable, so that is still an error, but what is there is whole.
expect 1 "$O: close: Input/output error" \
	fault env CS_FAULT_OP=close CS_FAULT_AT=1 CS_FAULT_PATH=/o/ "$CS" backup --snapshot latest -o "$O"
expect 0 "" "$CS" verify "$O"
rm -f "$O"
nothing_left "close"
expect 1 "$T/o: fsync: Input/output error" \
	fault env CS_FAULT_OP=fsync CS_FAULT_AT=2 CS_FAULT_PATH=/o "$CS" backup --snapshot latest -o "$O"
expect 0 "" "$CS" verify "$O"
rm -f "$O"
nothing_left "fsync of the dir"
# Reading the vault fails: an I/O error (1), not a damaged vault (4).
expect 1 "Input/output error" fault env CS_FAULT_OP=pread CS_FAULT_AT=1 CS_FAULT_PATH=data.mdb \
	"$CS" backup --snapshot latest -o "$O"
nothing_left "pread of the vault"
# backup --state: a failing output write after the snapshot committed keeps the snapshot.
expect 0 "" "$CS" snapshots --json
before=$(json "$T/out" 'len(d["snapshots"])')
echo more >>"$S/workspace/MEMORY.md"
expect 1 "$O: write: Input/output error" fault env CS_FAULT_OP=write CS_FAULT_AT=1 CS_FAULT_PATH=/o/ \
	"$CS" backup --state "$S" -o "$O"
nothing_left "backup --state"
expect 0 "" "$CS" snapshots --json
[ "$(json "$T/out" 'len(d["snapshots"])')" = $((before + 1)) ] || fail "the committed snapshot is gone"
expect 0 "" "$CS" verify --vault "$T/vault"
# Short reads everywhere: the same backup.
expect 0 "" fault env CS_FAULT_OP=read CS_FAULT_ACTION=short CS_FAULT_AT=1- "$CS" backup --snapshot latest -o "$O"
expect 0 "" "$CS" verify "$O"
n=$((n + 5))
note "$n exact backup faults"
sweep backup 6
exit 0
