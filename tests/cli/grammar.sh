#!/bin/sh
# Human output counts in the singular for one thing ("1 entry, 1 file read")
# and the plural otherwise, in every command's summary line.
. "$TESTS/lib.sh"
S=$T/st
mkdir -p "$S"
echo one >"$S/only.txt"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
out_has "snapshot 1: 1 entry, 1 file read, 0 reused"
expect 0 "" "$CS" verify --vault "$T/vault"
out_has "vault ok: 1 snapshot, 1 entry, 1 chunk,"
expect 0 "" "$CS" backup --snapshot latest -o "$T/b.cst"
out_has "(snapshot 1, 1 entry, "
expect 0 "" "$CS" verify "$T/b.cst"
out_has "backup ok: snapshot 1, 1 entry, 1 file, "
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r"
out_has "restored snapshot 1 to $T/r: 1 entry, 1 file, "
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r2" --dry-run
grep -qF "would restore snapshot 1 to $T/r2: 1 entry, 1 file, " "$T/err" || fail "dry-run summary"
echo two >"$S/second.txt"
expect 3 "committed as partial: 1 entry skipped" env CLAWSTATE_TEST_EACCES=second "$CS" snapshot --state "$S"
out_has "snapshot 2: 1 entry, "
out_has ", 1 skipped (partial)"
mkdir "$S/d"
expect 0 "" "$CS" snapshot --state "$S"
out_has "snapshot 3: 3 entries, "
expect 0 "" "$CS" verify --vault "$T/vault"
out_has "vault ok: 3 snapshots, "
exit 0
