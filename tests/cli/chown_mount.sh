#!/bin/sh
# chown never crosses a mount point under the tree: named, exit 3.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for unshare -m and mount"
command -v unshare >/dev/null || skip "no unshare"
unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs none '$T/probe'" 2>/dev/null ||
	skip "cannot mount a tmpfs in a private mount namespace here"
S=$T/s
mkdir -p "$S/sub" "$S/other"
echo x >"$S/other/f"
cat >"$T/inside.sh" <<EOS
mount -t tmpfs none '$S/sub' || exit 99
echo hidden >'$S/sub/on-the-mount'
chown 0:0 '$S/sub' '$S/sub/on-the-mount'
'$CS' chown '$S' --owner 1000:1000 >'$T/c.out' 2>'$T/c.err'
echo \$? >'$T/c.rc'
stat -c '%u:%g' '$S/sub' '$S/sub/on-the-mount' >'$T/mnt.own'
EOS
unshare -m sh "$T/inside.sh" || fail "namespace script failed"
[ "$(cat "$T/c.rc")" = 3 ] || { cat "$T/c.err"; fail "exit $(cat "$T/c.rc"), want 3"; }
grep -qF "sub: mount point, not crossed" "$T/c.err" || fail "mount point not named: $(cat "$T/c.err")"
[ "$(cat "$T/mnt.own" | tr '\n' ' ')" = "0:0 0:0 " ] || fail "the mount was changed: $(cat "$T/mnt.own")"
[ "$(stat -c '%u:%g' "$S/other/f")" = "1000:1000" ] || fail "rest of the tree not changed"
echo "ok mount point not crossed, rest changed"
exit 0
