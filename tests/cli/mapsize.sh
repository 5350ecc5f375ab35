#!/bin/sh
# A vault created with a tiny LMDB map grows on demand and keeps working.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 300 --media-mb 3
expect 0 "" "$CS" init --vault "$T/vault" --key-file "$T/key" --map-size 256K
export CLAWSTATE_VAULT="$T/vault" CLAWSTATE_KEY_FILE="$T/key"
expect 0 "" "$CS" snapshot --state "$S"
SZ=$(stat -c %s "$T/vault/data.mdb")
[ "$SZ" -gt 262144 ] || fail "data.mdb is only $SZ bytes: the map never grew?"
echo more >"$S/workspace/new.md"
head -c 2000000 /dev/urandom >"$S/media/more.bin"
expect 0 "" "$CS" snapshot --state "$S"
expect 0 "" "$CS" verify --vault "$T/vault"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
exit 0
