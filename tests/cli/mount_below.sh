#!/bin/sh
# A target with mount points below it (a docker output dir whose config/ and
# workspace/ are mounted volumes) is refused with --replace, exit 6 naming the
# mount point: swapping the dir would carry the mounts away into the old tree
# and put the new tree on the parent filesystem.  Nothing moves.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for unshare -m and mount"
command -v unshare >/dev/null || skip "no unshare"
if [ -z "${CS_IN_NS:-}" ]; then
	unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs none '$T/probe'" 2>/dev/null ||
		skip "cannot mount a tmpfs in a private mount namespace here"
	exec env CS_IN_NS=1 unshare -m sh "$0"
fi

S=$T/h/.openclaw
mkstate "$S" --keys 5 --media-mb 0
D=$T/srv
mkdir -p "$D/config" "$D/workspace"
mount -t tmpfs none "$D/config" || fail "mount"
mount -t tmpfs none "$D/workspace" || fail "mount"
echo keep >"$D/config/openclaw.json"
echo keep >"$D/workspace/AGENTS.md"
digest "$D" >"$T/before"
expect 6 "$D/config: a mount point inside the target would be moved away with the old tree" \
	"$CS" migrate --state "$S" --layout docker --to "$D" --replace
digest "$D" >"$T/after"
cmp -s "$T/before" "$T/after" || fail "the target changed"
grep -q " $D/config " /proc/self/mountinfo || fail "the mount moved"
absent "$D.clawstate-old-0"
# Restoring into the mount point itself is the way.
expect 0 "" "$CS" migrate --state "$S" --layout host --to "$D/config" --replace
[ -f "$D/config/.clawstate-old-0/openclaw.json" ] || fail "old content not kept inside the mount"

# A bind mount of the same filesystem below the target (same st_dev): refused,
# and what it shows from outside is never removed, also with --no-keep.
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
mkdir -p "$T/precious" "$T/tgt/workspace"
echo keep >"$T/precious/f"
echo old >"$T/tgt/openclaw.json"
mount --bind "$T/precious" "$T/tgt/workspace" || fail "bind"
expect 6 "$T/tgt/workspace: a mount point inside the target" \
	"$CS" restore "$T/b.cst" --to "$T/tgt" --replace --no-keep
[ "$(cat "$T/precious/f")" = keep ] || fail "the bind-mounted data was touched"
[ "$(cat "$T/tgt/openclaw.json")" = old ] || fail "the target changed"
umount "$T/tgt/workspace"

# A file bind-mounted among the top-level entries of a mount-point target:
# refused before anything moves.
mkdir -p "$T/vol" "$T/r"
mount --bind "$T/vol" "$T/r" || fail "bind"
mkdir "$T/r/agents"
echo a >"$T/r/agents/a"
echo cfg >"$T/r/openclaw.json"
echo host >"$T/host.json"
mount --bind "$T/host.json" "$T/r/openclaw.json" || fail "bind"
expect 6 "$T/r/openclaw.json: a mount point inside the target" \
	"$CS" restore "$T/b.cst" --to "$T/r" --replace
[ -f "$T/r/agents/a" ] && [ ! -e "$T/r/.clawstate-journal" ] || fail "entries moved before the refusal"
umount "$T/r/openclaw.json"

# A journal another user could have planted is never replayed.
: >"$T/r/.clawstate-journal"
chown 1234 "$T/r/.clawstate-journal"
expect 4 "the journal is not this user's own (owner uid 1234" "$CS" recover "$T/r"
[ -f "$T/r/agents/a" ] || fail "recover acted on a foreign journal"
rm "$T/r/.clawstate-journal"
