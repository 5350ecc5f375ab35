#!/bin/sh
# Without a credential and without a terminal every command that needs one
# fails fast with exit 2 (never hangs on a prompt), naming what it would have
# unlocked.  A missing vault is reported (exit 1) before the credential.
. "$TESTS/lib.sh"
command -v setsid >/dev/null || skip "no setsid"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 10 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
unset CLAWSTATE_KEY_FILE
M="no credential: use --passphrase-file, --key-file or a terminal"
expect 2 "clawstate: init: $T/v2: $M" timeout 10 setsid -w "$CS" init --vault "$T/v2" </dev/null
[ -e "$T/v2" ] && fail "init without credential created the vault"
V="$T/vault: $M"
expect 2 "clawstate: snapshot: $V" timeout 10 setsid -w "$CS" snapshot --state "$S" </dev/null
expect 2 "clawstate: snapshots: $V" timeout 10 setsid -w "$CS" snapshots </dev/null
expect 2 "clawstate: ls: $V" timeout 10 setsid -w "$CS" ls </dev/null
expect 2 "clawstate: backup: $V" timeout 10 setsid -w "$CS" backup --state "$S" -o "$T/b2.cst" </dev/null
[ -e "$T/b2.cst" ] && fail "backup without credential wrote its output"
expect 2 "clawstate: restore: $T/b.cst: $M" timeout 10 setsid -w "$CS" restore "$T/b.cst" --to "$T/r" </dev/null
absent "$T/r"
expect 2 "clawstate: restore: $V" timeout 10 setsid -w "$CS" restore --snapshot latest --to "$T/r" </dev/null
expect 2 "clawstate: verify: $T/b.cst: $M" timeout 10 setsid -w "$CS" verify "$T/b.cst" </dev/null
expect 2 "clawstate: verify: $V" timeout 10 setsid -w "$CS" verify --vault "$T/vault" </dev/null
expect 2 "clawstate: verify: stdin: $M" sh -c "setsid -w '$CS' verify - <'$T/b.cst'"
# No vault and no credential: "no vault here" (exit 1), not a credential error.
N="$T/none: no vault here"
expect 1 "clawstate: snapshot: $N" timeout 10 setsid -w "$CS" snapshot --vault "$T/none" --state "$S" </dev/null
expect 1 "clawstate: snapshots: $N" timeout 10 setsid -w "$CS" snapshots --vault "$T/none" </dev/null
expect 1 "clawstate: ls: $N" timeout 10 setsid -w "$CS" ls --vault "$T/none" </dev/null
expect 1 "clawstate: backup: $N" timeout 10 setsid -w "$CS" backup --vault "$T/none" -o "$T/b3.cst" </dev/null
expect 1 "clawstate: backup: $N" timeout 10 setsid -w "$CS" backup --snapshot 1 --vault "$T/none" -o "$T/b3.cst" </dev/null
expect 1 "clawstate: restore: $N" timeout 10 setsid -w "$CS" restore --snapshot 1 --vault "$T/none" --to "$T/r" </dev/null
expect 1 "clawstate: verify: $N" timeout 10 setsid -w "$CS" verify --vault "$T/none" </dev/null
expect 1 "clawstate: verify: $T/nofile" timeout 10 setsid -w "$CS" verify "$T/nofile" </dev/null
[ -e "$T/b3.cst" ] && fail "a backup without a vault wrote its output"
absent "$T/r"
# The credential may come from stdin, but not when the data does too.
expect 2 "cannot both come from stdin" "$CS" restore - --to "$T/r" --passphrase-file - <"$T/b.cst"
expect 2 "cannot both come from stdin" "$CS" restore - --to "$T/r" --key-file - <"$T/b.cst"
expect 2 "cannot both come from stdin" env CLAWSTATE_KEY_FILE=- "$CS" verify - <"$T/b.cst"
absent "$T/r"
expect 0 "" sh -c "'$CS' verify '$T/b.cst' --key-file - <'$T/key'"
# The explicit flag wins over the environment.
head -c 32 /dev/urandom >"$T/wrongkey"; chmod 600 "$T/wrongkey"
expect 0 "" env CLAWSTATE_KEY_FILE="$T/wrongkey" "$CS" verify "$T/b.cst" --key-file "$T/key"
expect 5 "" env CLAWSTATE_KEY_FILE="$T/key" "$CS" verify "$T/b.cst" --key-file "$T/wrongkey"
exit 0
