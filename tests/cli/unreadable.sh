#!/bin/sh
# An unreadable file is never skipped silently: snapshot and backup exit 3 and
# name it; the snapshot is committed and marked partial.  Simulated with the
# CLAWSTATE_TEST_EACCES seam, and for real as uid 1001 (root ignores modes).
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 30 --media-mb 0
mkvault "$T/vault" "$T/key"
F=credentials/whatsapp/default/creds.json
expect 3 "$F" env CLAWSTATE_TEST_EACCES=creds.json "$CS" snapshot --state "$S" --json
[ "$(json "$T/out" 'd["partial"]')" = True ] || fail "snapshot --json does not say partial"
[ "$(json "$T/out" 'd["skipped"] >= 1')" = True ] || fail "skipped not counted"
expect 0 "" "$CS" snapshots --json
[ "$(json "$T/out" 'd["snapshots"][-1]["partial"]')" = True ] || fail "snapshot not marked partial"
expect 0 "" "$CS" ls latest
grep -qF "$F" "$T/out" && fail "the unreadable file is listed in the snapshot"
expect 3 "$F" env CLAWSTATE_TEST_EACCES=creds.json "$CS" backup --state "$S" -o "$T/b.cst"
[ -f "$T/b.cst" ] || fail "partial backup not written"
expect 0 "" "$CS" verify "$T/b.cst"
expect 0 "" "$CS" snapshot --state "$S"

if [ "$(id -u)" != 0 ]; then
	skip "not root: the real-permission half needs root to switch to uid 1001"
fi
command -v setpriv >/dev/null || skip "no setpriv: real-permission half skipped"
U=$T/u
mkdir -p "$U/home"
S2=$U/home/.openclaw
mkstate "$S2" --keys 30 --media-mb 0   # owned by 1001:1001 (made as root)
chown -R 1001:1001 "$U"
chmod 000 "$S2/workspace/SOUL.md"
chmod 000 "$S2/workspace/skills/weather"
as1001() { setpriv --reuid 1001 --regid 1001 --clear-groups env HOME="$U/home" "$@"; }
expect 0 "" as1001 "$CS" init --vault "$U/vault" --key-file "$U/key"
expect 3 "workspace/SOUL.md" as1001 "$CS" snapshot --state "$S2" --vault "$U/vault" --key-file "$U/key"
grep -qF "workspace/skills/weather" "$T/err" || fail "unreadable dir not named"
expect 3 "workspace/SOUL.md" as1001 "$CS" backup --state "$S2" --vault "$U/vault" --key-file "$U/key" -o "$U/b.cst"
exit 0
