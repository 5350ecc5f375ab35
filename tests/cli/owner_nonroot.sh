#!/bin/sh
# restore as a user (uid 1001): with no ownership option the archived owners
# that cannot be applied are one summary warning and exit 0; with an option
# whose chown is refused the tree is still restored, one warning names the
# first entry, and the exit code is 3.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "not root: needs root to make an archive of other owners and switch to uid 1001"
command -v setpriv >/dev/null || skip "no setpriv"

S=$T/home/hostuser/.openclaw
mkstate "$S" --keys 20 --media-mb 0   # every entry 1001:1001
chown 2000:2000 "$S/workspace/SOUL.md"
chown 0:0 "$S/cron/jobs.json"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"

U=$T/u
mkdir -p "$U"
cp "$T/b.cst" "$T/key" "$U/"
chown -R 1001:1001 "$U"
chmod 755 "$T"
as1001() { setpriv --reuid 1001 --regid 1001 --clear-groups env HOME="$U" "$@"; }

expect 0 "owners not applied (not root): 2 entries keep the restoring user's ids" \
	as1001 "$CS" restore "$U/b.cst" --key-file "$U/key" --to "$U/r"
[ "$(wc -l <"$T/err")" = 1 ] || { cat "$T/err" >&2; fail "not one warning line"; }
bad=$(find "$U/r" \( ! -uid 1001 -o ! -gid 1001 \) | head -n 3)
[ -z "$bad" ] || fail "not owned by the restoring user: $bad"
same_tree "$S" "$U/r" --no-owner --no-dir-mtime --skip-sqlite state/openclaw.sqlite

# An option the user may not apply: restored all the same, exit 3.
expect 3 "owner not set" as1001 "$CS" restore "$U/b.cst" --key-file "$U/key" --to "$U/r2" --owner 0:0
[ "$(wc -l <"$T/err")" = 1 ] || { cat "$T/err" >&2; fail "not one warning line"; }
same_tree "$S" "$U/r2" --no-owner --no-dir-mtime --skip-sqlite state/openclaw.sqlite
no_stage "$U/r2"
exit 0
