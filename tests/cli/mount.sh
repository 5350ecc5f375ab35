#!/bin/sh
# A mount point inside the state dir is not crossed: reported, exit 3.  A
# restore target that is a mount point is restored into (staged inside it;
# tests/cli/mount_swap.sh and mount_kill.sh test the swap itself).
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for unshare -m and mount"
command -v unshare >/dev/null || skip "no unshare"
unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs none '$T/probe'" 2>/dev/null ||
	skip "cannot mount a tmpfs in a private mount namespace here"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 20 --media-mb 0
mkvault "$T/vault" "$T/key"
mkdir -p "$S/media/nas" "$T/mnt"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
cat >"$T/inside.sh" <<EOS
mount -t tmpfs none '$S/media/nas' || exit 99
echo hidden >'$S/media/nas/on-the-mount'
'$CS' snapshot --state '$S' --json >'$T/snap.json' 2>'$T/snap.err'
echo \$? >'$T/snap.rc'
mount -t tmpfs none '$T/mnt' || exit 99
'$CS' restore '$T/b.cst' --to '$T/mnt' >'$T/rest.out' 2>'$T/rest.err'
echo \$? >'$T/rest.rc'
ls -A '$T/mnt' | grep '^\.clawstate-' >'$T/mnt.ls'
ls '$T/mnt/credentials' >'$T/mnt.creds'
EOS
unshare -m sh "$T/inside.sh" || fail "namespace script failed"
[ "$(cat "$T/snap.rc")" = 3 ] || { cat "$T/snap.err"; fail "snapshot over a mount: exit $(cat "$T/snap.rc"), want 3"; }
grep -qF "media/nas" "$T/snap.err" || fail "mount point not named: $(cat "$T/snap.err")"
echo "ok snapshot exit 3 naming media/nas"
expect 0 "" "$CS" ls latest
grep -q on-the-mount "$T/out" && fail "the mount was crossed"
[ "$(cat "$T/rest.rc")" = 0 ] || { cat "$T/rest.err"; fail "restore onto a mount point: exit $(cat "$T/rest.rc"), want 0"; }
[ -s "$T/mnt.ls" ] && fail "restore left in the mount point: $(cat "$T/mnt.ls")"
[ -s "$T/mnt.creds" ] || fail "nothing restored into the mount point"
echo "ok restore onto an empty mount point, nothing of the run left"
for x in "$T"/mnt.clawstate-*; do [ -e "$x" ] && fail "left $x"; done
exit 0
