#!/bin/sh
# recover DIR after a restore to a new DIR was killed: the staging dir and lock
# beside the missing DIR are removed (exit 0); with nothing there, exit 1.
. "$TESTS/lib.sh"
S=$T/s/.openclaw
mkstate "$S" --keys 5 --media-mb 0 --no-chown
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
CLAWSTATE_TEST_KILL_AT=5 "$CS" restore "$T/b.cst" --to "$T/n" >/dev/null 2>&1
ls "$T" | grep -q '^n\.clawstate-stage-' || fail "the kill left no staging dir to recover"
expect 0 "" "$CS" recover "$T/n"
out_has "removed 1 unfinished staging dir"
absent "$T/n"
expect 1 "no such directory" "$CS" recover "$T/n"
