#!/bin/sh
# A second writer exits 6 with "vault busy (pid N)"; --wait waits for the lock;
# readers never take it and never wait.
. "$TESTS/lib.sh"
command -v flock >/dev/null || skip "no flock(1)"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 20 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
[ -e "$T/vault/writer.lock" ] || fail "no writer.lock in the vault"
# Hold the writer lock the way another clawstate writer would (flock LOCK_EX).
flock -x "$T/vault/writer.lock" sleep 4 &
H=$!
trap 'kill_job $H' EXIT
sleep 0.5
expect 6 "vault busy (pid" "$CS" snapshot --state "$S"
grep -qF "$T/vault: vault busy (pid" "$T/err" || fail "busy message does not name the vault"
grep -qF "(use --wait to wait for it)" "$T/err" || fail "no --wait hint"
expect 6 "vault busy (pid" "$CS" backup --state "$S" -o "$T/b.cst"
grep -qF "(use --wait to wait for it)" "$T/err" || fail "no --wait hint"
[ -e "$T/b.cst" ] && fail "a busy backup wrote its output"
# Readers go on while the writer holds the lock.
expect 0 "" timeout 3 "$CS" snapshots
expect 0 "" timeout 3 "$CS" ls latest
expect 0 "" timeout 3 "$CS" verify --vault "$T/vault"
expect 0 "" timeout 3 "$CS" backup --snapshot latest -o "$T/b1.cst"
expect 0 "" timeout 3 "$CS" restore --snapshot latest --to "$T/r"
# --wait blocks until the holder lets go, then succeeds.
t0=$(date +%s)
expect 0 "" "$CS" snapshot --state "$S" --wait
t1=$(date +%s)
[ $((t1 - t0)) -ge 2 ] || fail "--wait did not wait ($((t1 - t0))s)"
wait $H
trap - EXIT
expect 0 "" "$CS" snapshots --json
[ "$(json "$T/out" 'len(d["snapshots"])')" = 2 ] || fail "want 2 snapshots"
exit 0
