#!/bin/sh
# init refuses what snapshot would refuse later, before asking for a credential:
# a vault inside the state dir (or containing it) is exit 2, with the state dir
# resolved as snapshot resolves it (--state, OPENCLAW_STATE_DIR, OPENCLAW_HOME,
# ~/.openclaw); an existing vault is exit 6 "a vault exists here".
. "$TESTS/lib.sh"
head -c 32 /dev/urandom >"$T/key"; chmod 600 "$T/key"
D=$HOME/.openclaw
mkdir -p "$D"
M="which snapshot refuses"
# The default state dir, ~/.openclaw; also through "..", and not yet existing below.
expect 2 "clawstate: init: $D/vault: inside the state dir $D, $M" \
	"$CS" init --vault "$D/vault" --key-file "$T/key"
expect 2 "inside the state dir $D" "$CS" init --vault "$D/x/../y/v" --key-file "$T/key"
expect 2 "clawstate: init: $HOME: contains the state dir $D, $M" \
	"$CS" init --vault "$HOME" --key-file "$T/new.key"
[ -e "$D/vault" ] || [ -e "$D/y" ] && fail "a refused init created the vault"
[ -e "$T/new.key" ] && fail "a refused init created the key file"
# The same dir reached through a symlink, and relative to the working dir.
ln -s "$D" "$T/link"
expect 2 "inside the state dir $D" "$CS" init --vault "$T/link/v" --key-file "$T/key"
expect 2 "inside the state dir $D" sh -c "cd '$D' && '$CS' init --vault v --key-file '$T/key'"
# OPENCLAW_HOME, OPENCLAW_STATE_DIR and --state, in snapshot's order.
mkdir -p "$T/oh/.openclaw" "$T/sd"
expect 2 "inside the state dir $T/oh/.openclaw" \
	env OPENCLAW_HOME="$T/oh" "$CS" init --vault "$T/oh/.openclaw/v" --key-file "$T/key"
expect 2 "inside the state dir $T/sd" \
	env OPENCLAW_STATE_DIR="$T/sd" OPENCLAW_HOME="$T/oh" "$CS" init --vault "$T/sd/v" --key-file "$T/key"
expect 2 "inside the state dir $T/sd" "$CS" init --state "$T/sd" --vault "$T/sd/a/b" --key-file "$T/key"
# With the state dir named elsewhere, a vault under ~/.openclaw is fine, and
# snapshot of that state dir works with it.
mkdir -p "$T/st/workspace"; echo notes >"$T/st/workspace/MEMORY.md"
expect 0 "" env OPENCLAW_STATE_DIR="$T/st" "$CS" init --vault "$D/vault" --key-file "$T/key"
expect 0 "" "$CS" snapshot --vault "$D/vault" --key-file "$T/key" --state "$T/st"
# ...and snapshot of the default state dir refuses it, as init said it would.
expect 2 "must not contain each other" "$CS" snapshot --vault "$D/vault" --key-file "$T/key"
# An existing vault: exit 6 before any credential is read or created.
expect 6 "clawstate: init: $D/vault: a vault exists here" \
	"$CS" init --vault "$D/vault" --state "$T/st" --key-file "$T/other.key"
[ -e "$T/other.key" ] && fail "init on an existing vault created a key file"
if command -v setsid >/dev/null; then
	expect 6 "a vault exists here" timeout 10 setsid -w "$CS" init --vault "$D/vault" --state "$T/st" </dev/null
fi
expect 0 "" "$CS" verify --vault "$D/vault" --key-file "$T/key"
exit 0
