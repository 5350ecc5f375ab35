#!/bin/sh
# chown: owners and kept setuid/setgid bits, symlinks changed themselves (never
# their targets), --dry-run and --check change nothing, --from filters, usage.
. "$TESTS/lib.sh"
expect 2 "--owner UID:GID is required" "$CS" chown "$T"
expect 2 "no DIR given" "$CS" chown --owner 1:1
expect 2 "--owner wants UID:GID" "$CS" chown "$T" --owner 1000
expect 2 "--from wants" "$CS" chown "$T" --owner 1:1 --from 5,
expect 2 "do not go together" "$CS" chown "$T" --owner 1:1 --dry-run --check
expect 1 "open directory" "$CS" chown "$T/missing" --owner 1:1
[ "$(id -u)" = 0 ] || skip "needs root to give files away"
S=$T/s
mkdir -p "$S/sub/deeper" "$S/sg"
echo a >"$S/a"
echo b >"$S/sub/deeper/b"
echo secret >"$T/outside"
chown 0:0 "$T/outside"
chmod 0640 "$T/outside"
ln -s "$T/outside" "$S/sub/link"
echo x >"$S/sg/suid"
chown -R 0:0 "$S"
# after chown -R, which clears them
chmod 2775 "$S/sg"
chmod 4755 "$S/sg/suid"
chmod 2755 "$S/a"

digest "$S" >"$T/d0"
expect 0 "" "$CS" chown "$S" --owner 1000:1001 --dry-run
out_has "sub/link: 0:0 -> 1000:1001, symlink"
out_has "sg/suid: 0:0 -> 1000:1001, 4755 -> 4755"
out_has "would change 8 of 8 entries"
digest "$S" >"$T/d1"
cmp -s "$T/d0" "$T/d1" || fail "--dry-run changed the tree"
expect 3 "8 entries are not as wanted" "$CS" chown "$S" --owner 1000:1001 --check
out_has "differs: .: 0:0 -> 1000:1001"
digest "$S" >"$T/d1"
cmp -s "$T/d0" "$T/d1" || fail "--check changed the tree"
echo "ok dry-run and check changed nothing"

expect 0 "" "$CS" chown "$S" --owner 1000:1001
out_has "changed 8 of 8 entries"
[ "$(find "$S" ! -uid 1000 -o ! -gid 1001 | wc -l)" = 0 ] || fail "entries not changed: $(find "$S" ! -uid 1000)"
[ "$(stat -c '%u:%g %a' "$T/outside")" = "0:0 640" ] || fail "symlink target changed: $(stat -c '%u:%g %a' "$T/outside")"
[ "$(stat -c '%u:%g' "$S/sub/link")" = "1000:1001" ] || fail "link itself not changed"
[ "$(stat -c '%u:%g %a' "$S/sg")" = "1000:1001 2775" ] || fail "setgid dir: $(stat -c '%u:%g %a' "$S/sg")"
[ "$(stat -c '%u:%g %a' "$S/sg/suid")" = "1000:1001 4755" ] || fail "setuid file: $(stat -c '%u:%g %a' "$S/sg/suid")"
[ "$(stat -c '%u:%g %a' "$S/a")" = "1000:1001 2755" ] || fail "setgid file: $(stat -c '%u:%g %a' "$S/a")"
echo "ok owners, link itself, setuid/setgid kept, target untouched"
expect 0 "" "$CS" chown "$S" --owner 1000:1001 --check
out_has "ok: 8 entries as wanted"

# --from: only entries owned by the listed ids.
chown 1002:1002 "$S/a" "$S/sub/deeper/b"
chown 1003:7 "$S/sg/suid"
chmod 4755 "$S/sg/suid"
chown 1003:8 "$S/sub"
expect 0 "" "$CS" chown "$S" --owner 2000:2000 --from 1002,1003:7
out_has "changed 3 of 8 entries"
[ "$(stat -c '%u:%g' "$S/a")" = "2000:2000" ] || fail "--from: a"
[ "$(stat -c '%u:%g' "$S/sub/deeper/b")" = "2000:2000" ] || fail "--from: b"
[ "$(stat -c '%u:%g %a' "$S/sg/suid")" = "2000:2000 4755" ] || fail "--from: suid"
[ "$(stat -c '%u:%g' "$S/sub")" = "1003:8" ] || fail "--from touched sub (1003:8)"
[ "$(stat -c '%u:%g' "$S")" = "1000:1001" ] || fail "--from touched the root"
echo "ok --from filters"
exit 0
