#!/bin/sh
# restore --include PATH restores only those subtrees (with their parents).
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 30 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --include workspace --include credentials/whatsapp
[ -f "$T/r/workspace/MEMORY.md" ] || fail "workspace not restored"
cmp "$S/credentials/whatsapp/default/creds.json" "$T/r/credentials/whatsapp/default/creds.json" ||
	fail "creds.json differs"
[ -e "$T/r/openclaw.json" ] && fail "openclaw.json restored although not included"
[ -e "$T/r/media" ] && fail "media restored although not included"
[ -e "$T/r/agents" ] && fail "agents restored although not included"
digest "$S/workspace" --no-dir-mtime >"$T/a.d"
digest "$T/r/workspace" --no-dir-mtime >"$T/b.d"
cmp -s "$T/a.d" "$T/b.d" || { diff "$T/a.d" "$T/b.d" | head; fail "workspace differs"; }
no_stage "$T/r"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r2" --include agents/main/agent/auth-profiles.json
[ -f "$T/r2/agents/main/agent/auth-profiles.json" ] || fail "single file include"
[ -e "$T/r2/agents/main/sessions" ] && fail "sessions restored although not included"
expect 2 "" "$CS" restore "$T/b.cst" --to "$T/r" --include workspace --replace
# A path the backup does not hold is an error (1), named, and nothing is written.
expect 1 "clawstate: restore: no/such/dir: not in the backup" \
	"$CS" restore "$T/b.cst" --to "$T/r3" --include workspace --include no/such/dir
absent "$T/r3"
expect 1 "no/such/dir: not in the" "$CS" restore --snapshot latest --to "$T/r3" --include no/such/dir
absent "$T/r3"
exit 0
