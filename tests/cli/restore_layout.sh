#!/bin/sh
# restore --layout: a host backup restores straight into the docker layout (three
# volumes, another container home), that tree snapshotted as a docker-layout
# source and backed up restores into the host layout again, equal to the start.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "not root: the fixture is owned by 1001"

S=$T/src/.openclaw
mkstate "$S" --user hostuser --keys 20 --media-mb 1
# Digest before the first capture: opening the WAL database makes SQLite touch
# state/ (its -shm), which the backup has from before.
digest "$S" --skip-sqlite state/openclaw.sqlite >"$T/src.digest" || fail "digest"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/host.cst"

# The recorded home is the parent of .openclaw here, not /home/hostuser: a config whose
# workspace lies elsewhere is warned about.
expect 0 "agents.defaults.workspace is /home/hostuser/.openclaw/workspace, outside the old home" \
	"$CS" restore "$T/host.cst" --layout docker --to "$T/w" --dry-run
absent "$T/w"

expect 0 "" "$CS" restore "$T/host.cst" --layout docker --from-home /home/hostuser \
	--container-home /home/openclaw --volumes config,workspace,media --owner 4000:4000 --to "$T/d"
out_has "\"$T/d/media:/home/openclaw/.openclaw/media\""
for v in config workspace media; do
	[ -d "$T/d/$v" ] || fail "no $v volume"
done
[ -d "$T/d/config/media" ] && [ -z "$(ls -A "$T/d/config/media")" ] || fail "no media mount point"
[ "$(stat -c %u:%g "$T/d/config/media")" = 4000:4000 ] || fail "mount point owner"
[ -e "$T/d/config/workspace/SOUL.md" ] && fail "workspace content inside config/"
[ "$(ls "$T/d/media" | wc -l)" -gt 0 ] || fail "media volume empty"
bad=$(find "$T/d/config" "$T/d/workspace" "$T/d/media" ! -uid 4000 | head -n 3)
[ -z "$bad" ] || fail "not 4000: $bad"
grep -q '/home/openclaw/.openclaw/workspace' "$T/d/config/openclaw.json" || fail "config not rewritten"
grep -q '/home/hostuser' "$T/d/config/openclaw.json" && fail "old home left in config"

# Read the docker tree back as one state and restore it into the host layout.
expect 0 "" "$CS" snapshot --state "$T/d/config" --layout docker --workspace "$T/d/workspace" \
	--media "$T/d/media" --container-home /home/openclaw
expect 0 "" "$CS" backup --snapshot latest -o "$T/docker.cst"
expect 0 "" "$CS" restore "$T/docker.cst" --layout host --home /home/hostuser --owner 1001:1001 \
	--to "$T/back"
digest "$T/back" --skip-sqlite state/openclaw.sqlite >"$T/back.digest" || fail "digest"
cmp -s "$T/src.digest" "$T/back.digest" || { diff "$T/src.digest" "$T/back.digest" >&2; fail "trees differ"; }

# A second restore into the same docker target replaces it and keeps the old one.
expect 0 "" "$CS" restore "$T/host.cst" --layout docker --from-home /home/hostuser --to "$T/d" --replace
out_has "OPENCLAW_WORKSPACE_DIR=$T/d/workspace"
[ -d "$T/d.clawstate-old-1/media" ] || fail "old docker tree not kept"
[ ! -d "$T/d/media" ] || fail "media volume without --volumes media"
[ -d "$T/d/config/media" ] || fail "media not inside config"
[ "$(stat -c %u:%g "$T/d/config/openclaw.json")" = 1000:1000 ] || fail "docker default owner"
