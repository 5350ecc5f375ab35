#!/bin/sh
# restore --snapshot ID from the vault (a reader), verify --vault, latest and
# numbered ids, excludes, owners as recorded (root) or --owner.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 50 --media-mb 0.5
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S" --tag one
echo "second version" >"$S/workspace/MEMORY.md"
expect 0 "" "$CS" snapshot --state "$S" --exclude 'media/' --exclude '*.log' --tag two
expect 0 "" "$CS" verify --vault "$T/vault"
out_has "vault ok: 2 snapshots"
expect 0 "" "$CS" verify
out_has "vault ok"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r2"
[ -e "$T/r2/media" ] && fail "excluded subtree media/ restored"
[ -e "$T/r2/logs/gateway.log" ] && fail "excluded *.log restored"
[ -d "$T/r2/logs" ] || fail "the logs dir itself was not excluded by '*.log'"
[ "$(cat "$T/r2/workspace/MEMORY.md")" = "second version" ] || fail "latest is not snapshot 2"
expect 0 "" "$CS" restore --snapshot 1 --to "$T/r1"
[ -f "$T/r1/media/inbound/video-large.mp4" ] || fail "snapshot 1 lacks media"
cmp "$S/credentials/whatsapp/default/creds.json" "$T/r1/credentials/whatsapp/default/creds.json" || fail "creds differ"
expect 1 "" "$CS" restore --snapshot 3 --to "$T/r3"
absent "$T/r3"
if [ "$(id -u)" = 0 ]; then
	[ "$(stat -c %u:%g "$T/r1/openclaw.json")" = 1001:1001 ] || fail "recorded owner not kept as root"
	expect 0 "" "$CS" restore --snapshot 1 --to "$T/ro" --owner 1000:1000
	bad=$(find "$T/ro" \( ! -uid 1000 -o ! -gid 1000 \) | head -n 3)
	[ -z "$bad" ] || fail "--owner not applied to: $bad"
	[ "$(stat -c %a "$T/ro/credentials/whatsapp/default/creds.json")" = 600 ] || fail "mode lost with --owner"
fi
exit 0
