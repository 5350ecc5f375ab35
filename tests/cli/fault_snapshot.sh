#!/bin/sh
# Failing system calls in a snapshot (tests/crash/faultshim.so): a failing
# commit (fdatasync, pwrite; EIO and ENOSPC) is exit 1 naming the vault and
# the error, the snapshot list and every earlier snapshot unchanged, the vault
# verifies and takes the next snapshot; a source file that cannot be read
# (EIO) is named and left out (exit 3, partial); short reads are no error.
# Then a seeded sample of every call class at any point (tests/crash/faults.py;
# `make faults` runs every point).
. "$TESTS/lib.sh"
. "$TESTS/crash/faultlib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 10 --media-mb 0
V=$T/vault
mkvault "$V" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
expect 0 "" "$CS" ls latest --json
cp "$T/out" "$T/ls1"
expect 0 "" "$CS" snapshots --json
cp "$T/out" "$T/list1"
unchanged() {
	expect 0 "" "$CS" verify --vault "$V"
	expect 0 "" "$CS" snapshots --json
	cmp -s "$T/out" "$T/list1" || fail "$1: the snapshot list changed"
	expect 0 "" "$CS" ls 1 --json
	cmp -s "$T/out" "$T/ls1" || fail "$1: snapshot 1 changed"
}
n=0
for f in "fdatasync 1 EIO Input/output error" "fdatasync 2 EIO Input/output error" \
	"pwrite 1 ENOSPC No space left on device" "pwrite 3 EIO Input/output error"; do
	set -- $f
	op=$1 at=$2 e=$3
	shift 3
	echo "change $op $at" >>"$S/workspace/MEMORY.md"
	expect 1 "$V: commit: $*" fault env CS_FAULT_OP="$op" CS_FAULT_AT="$at" CS_FAULT_ERRNO="$e" \
		CS_FAULT_PATH=data.mdb "$CS" snapshot --state "$S"
	unchanged "$op #$at $e"
	n=$((n + 1))
done
ls -A "$V" | grep -v -e '^data.mdb$' -e '^lock.mdb$' -e '^writer.lock$' && fail "leftovers in the vault"
# The pid in writer.lock cannot be written.
expect 1 "$V/writer.lock: write: Input/output error" \
	fault env CS_FAULT_OP=write CS_FAULT_PATH=writer.lock CS_FAULT_AT=1 "$CS" snapshot --state "$S"
unchanged "writer.lock"
# Writing the SQLite capture (a private copy in the vault dir) fails: a failed
# vault write (exit 1), not a database to leave out.
DB=state/openclaw.sqlite
for e in "EIO Input/output error" "ENOSPC No space left on device"; do
	set -- $e
	en=$1
	shift
	for op in pwrite fdatasync; do
		touch "$S/$DB" # changed: captured again
		want="$DB: SQLite capture: backup: the copy in the vault dir: $*"
		expect 1 "$want" fault env CS_FAULT_OP=$op CS_FAULT_AT=1 CS_FAULT_ERRNO="$en" \
			CS_FAULT_PATH=.sqlite-capture- "$CS" snapshot --state "$S"
		unchanged "capture $op $en"
		ls -A "$V" | grep -q sqlite-capture && fail "capture $op $en: the copy is left in the vault"
		n=$((n + 1))
	done
done
# A source file that fails to read: named, left out, the rest committed.
F=credentials/whatsapp/default/creds.json
expect 3 "$F: cannot read: Input/output error" \
	fault env CS_FAULT_OP=read CS_FAULT_PATH=creds.json CS_FAULT_AT=1 "$CS" snapshot --state "$S"
grep -qF "committed as partial: 1 entry skipped" "$T/err" || fail "not reported as partial"
expect 0 "" "$CS" ls latest
grep -qF "$F" "$T/out" && fail "the unreadable file is in the snapshot"
# Every read(2) short: the same snapshot as without.
echo short >>"$S/workspace/MEMORY.md"
expect 0 "" fault env CS_FAULT_OP=read CS_FAULT_ACTION=short CS_FAULT_AT=1- "$CS" snapshot --state "$S"
rm -rf "$T/r"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
expect 0 "" "$CS" verify --vault "$V"
n=$((n + 3))
note "$n exact snapshot faults"
# A seeded sample of the sweep (every class, any point, EIO and ENOSPC).
sweep snapshot-first,snapshot,backup-state 3
exit 0
