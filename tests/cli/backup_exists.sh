#!/bin/sh
# An existing backup output is exit 6 and stays untouched; --force replaces it.
# -o - to a terminal is refused.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 20 --media-mb 0
mkvault "$T/vault" "$T/key"
echo "not a backup" >"$T/b.cst"
expect 6 "" "$CS" backup --state "$S" -o "$T/b.cst"
[ "$(cat "$T/b.cst")" = "not a backup" ] || fail "existing output changed"
ls -A "$T" | grep -q 'clawstate-tmp' && fail "temp file left"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst" --force
expect 0 "" "$CS" verify "$T/b.cst"
[ "$(stat -c %a "$T/b.cst")" = 600 ] || fail "backup mode is $(stat -c %a "$T/b.cst")"
expect 6 "" "$CS" backup --snapshot latest -o "$T/b.cst"
expect 0 "" "$CS" backup --snapshot 1 -o "$T/b1.cst"
out_has "snapshot 1"
expect 1 "" "$CS" backup --snapshot 99 -o "$T/b99.cst"
[ -e "$T/b99.cst" ] && fail "backup of a missing snapshot wrote a file"
# A dangling symlink as the output name is not followed.
ln -s "$T/elsewhere" "$T/link.cst"
expect 6 "" "$CS" backup --snapshot latest -o "$T/link.cst"
[ -e "$T/elsewhere" ] && fail "backup wrote through a symlink"
if command -v script >/dev/null; then
	script -qec "'$CS' backup --snapshot latest -o -" /dev/null >"$T/tty.out" 2>&1
	rc=$?
	[ "$rc" = 2 ] || fail "-o - on a terminal: exit $rc, want 2"
	grep -q "refusing to write a backup to a terminal" "$T/tty.out" || fail "-o - on a tty not refused"
	echo "ok -o - on a terminal refused"
fi
exit 0
