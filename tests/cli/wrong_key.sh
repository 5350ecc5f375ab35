#!/bin/sh
# A wrong passphrase exits 5 and creates nothing; so does a wrong key file.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 50 --media-mb 0
printf 'the right one\n' >"$T/pw"; printf 'not it\n' >"$T/wrong"; chmod 600 "$T/pw" "$T/wrong"
expect 0 "" "$CS" init --vault "$T/vault" --passphrase-file "$T/pw" --kdf interactive
expect 0 "" "$CS" backup --vault "$T/vault" --state "$S" -o "$T/b.cst" --passphrase-file "$T/pw"
expect 5 "" "$CS" restore "$T/b.cst" --to "$T/r" --passphrase-file "$T/wrong"
absent "$T/r"
expect 5 "" "$CS" verify "$T/b.cst" --passphrase-file "$T/wrong"
expect 5 "" "$CS" snapshot --vault "$T/vault" --state "$S" --passphrase-file "$T/wrong"
expect 5 "" "$CS" snapshots --vault "$T/vault" --passphrase-file "$T/wrong"
expect 5 "" "$CS" restore --snapshot latest --vault "$T/vault" --to "$T/r" --passphrase-file "$T/wrong"
absent "$T/r"
expect 5 "" "$CS" backup --vault "$T/vault" --snapshot latest -o "$T/b2.cst" --passphrase-file "$T/wrong"
[ -e "$T/b2.cst" ] && fail "a backup was written with a wrong passphrase"
ls -A "$T" | grep -q '^\.b2\.cst' && fail "a temp backup file was left"
# Still exactly one snapshot: the failed unlock committed nothing.
expect 0 "" "$CS" snapshots --vault "$T/vault" --passphrase-file "$T/pw" --json
[ "$(json "$T/out" 'len(d["snapshots"])')" = 1 ] || fail "snapshot count changed"
# A key file of the right size but the wrong bytes; a key file of the wrong size.
head -c 32 /dev/urandom >"$T/otherkey"; chmod 600 "$T/otherkey"
expect 5 "" "$CS" restore "$T/b.cst" --to "$T/r" --key-file "$T/otherkey"
absent "$T/r"
printf 'short' >"$T/badkey"; chmod 600 "$T/badkey"
expect 5 "" "$CS" verify "$T/b.cst" --key-file "$T/badkey"
# An empty passphrase file is refused as a usage error.
: >"$T/empty"; chmod 600 "$T/empty"
expect 2 "" "$CS" verify "$T/b.cst" --passphrase-file "$T/empty"
expect 1 "$T/nope" "$CS" verify "$T/b.cst" --passphrase-file "$T/nope"
expect 0 "" "$CS" verify "$T/b.cst" --passphrase-file "$T/pw"
exit 0
