#!/bin/sh
# restore's ownership options: strict parsing (exit 2); as root no option keeps
# the archived ids exactly (never root where the archive had none); --uid-map /
# --gid-map change exactly the mapped entries (single ids and ranges);
# --unmapped fail exits 1 naming the id before anything is created; --unmapped
# owner falls back to --owner; --owner-by-name resolves on this host.
. "$TESTS/lib.sh"

# Parsing comes before any file is opened: no backup needed.
B0=$T/none.cst
expect 2 "--uid-map" "$CS" restore "$B0" --to "$T/x" --uid-map 1001:1000,
expect 2 "--uid-map" "$CS" restore "$B0" --to "$T/x" --uid-map 1000-1999:0,1500:7
expect 2 "4294967294" "$CS" restore "$B0" --to "$T/x" --gid-map 1-10:4294967290
expect 2 "--gid-map" "$CS" restore "$B0" --to "$T/x" --gid-map 4294967295:0
expect 2 "--unmapped" "$CS" restore "$B0" --to "$T/x" --uid-map 1:2 --unmapped maybe
expect 2 "needs --owner" "$CS" restore "$B0" --to "$T/x" --uid-map 1:2 --unmapped owner
expect 2 "needs --uid-map or --gid-map" "$CS" restore "$B0" --to "$T/x" --unmapped fail
expect 2 "needs --unmapped owner" "$CS" restore "$B0" --to "$T/x" --uid-map 1:2 --owner 3:3
expect 2 "no user 'no-such-user-cs'" "$CS" restore "$B0" --to "$T/x" --owner-by-name no-such-user-cs
expect 2 "exclude each other" "$CS" restore "$B0" --to "$T/x" --owner-by-name root --owner 0:0
absent "$T/x"

[ "$(id -u)" = 0 ] || skip "not root: the ownership cases need root to chown"

S=$T/home/hostuser/.openclaw
mkstate "$S" --keys 20 --media-mb 0   # every entry 1001:1001
# A few other owners, and one root-owned file the archive really has.
chown 2000:2000 "$S/workspace/SOUL.md"
chown 1500:1001 "$S/workspace/MEMORY.md"
chown -h 3000:1001 "$S/workspace/today.md"   # a symlink itself
chown 0:0 "$S/cron/jobs.json"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"

# path uid gid, one line per entry, the root as "."; SQLite's -wal/-shm are
# not part of a snapshot (the database is captured through its backup API).
owners() { (cd "$1" && find . -printf '%p %U %G\n' | grep -v -e '-wal ' -e '-shm ' | sort); }
# owners of the source with awk program $1 applied to u and g
mapped() { owners "$S" | awk "{ u = \$(NF-1); g = \$NF; $1; \$(NF-1) = u; \$NF = g; print }"; }
same_owners() { # DIR AWK-PROGRAM
	owners "$1" | awk '{ print }' >"$T/own.got"
	mapped "$2" >"$T/own.want"
	if ! cmp -s "$T/own.want" "$T/own.got"; then
		diff "$T/own.want" "$T/own.got" | head -n 20 >&2
		fail "owners of $1 differ from the expected ($2)"
	fi
	echo "ok owners of $1: $2"
}
count() { find "$1" "$2" "$3" | wc -l; }
N=$(owners "$S" | wc -l)

# No option as root: the archived ids, exactly; root only where it was root.
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r0"
same_owners "$T/r0" ""
[ "$(count "$T/r0" -uid 0)" = 1 ] || fail "root-owned entries that the archive did not have"
[ "$(count "$T/r0" -uid 1001)" = $((N - 4)) ] || fail "not every 1001 entry kept"

# Single ids: exactly the mapped entries change, the other ids stay.
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r1" --uid-map 1001:1000 --gid-map 1001:1000
same_owners "$T/r1" "if (u == 1001) u = 1000; if (g == 1001) g = 1000"
[ "$(count "$T/r1" -uid 1000)" = $((N - 4)) ] || fail "mapped uid count"
[ "$(count "$T/r1" -gid 1000)" = $((N - 2)) ] || fail "mapped gid count"
[ "$(count "$T/r1" -uid 1001)" = 0 ] || fail "a 1001 entry left"
[ "$(count "$T/r1" -uid 2000)" = 1 ] && [ "$(count "$T/r1" -uid 1500)" = 1 ] &&
	[ "$(count "$T/r1" -uid 3000)" = 1 ] && [ "$(count "$T/r1" -uid 0)" = 1 ] ||
	fail "unmapped ids changed"
same_tree "$T/r0" "$T/r1" --no-owner

# A range: 1000-1999 -> 101000-101999 (1500 too); 2000, 3000 and 0 stay.
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r2" --uid-map 1000-1999:101000 --gid-map 1001:1000
same_owners "$T/r2" "if (u >= 1000 && u <= 1999) u = u + 100000; if (g == 1001) g = 1000"
[ "$(count "$T/r2" -uid 101001)" = $((N - 4)) ] && [ "$(count "$T/r2" -uid 101500)" = 1 ] ||
	fail "range map counts"

# --unmapped fail: exit 1 naming the id and the entry; nothing created at all.
expect 1 "uid 2000 is not mapped" "$CS" restore "$T/b.cst" --to "$T/r3" \
	--uid-map 1001:1000,1500:1500,3000:3000,0:0 --unmapped fail
grep -qF "workspace/SOUL.md" "$T/err" || fail "the unmapped entry is not named"
absent "$T/r3"
no_stage "$T/r3"
expect 1 "gid 2000 is not mapped" "$CS" restore "$T/b.cst" --to "$T/r3" --dry-run \
	--gid-map 1001:1000,0:0 --unmapped fail
absent "$T/r3"
# A snapshot restore resolves the same way before writing.
expect 1 "uid 2000 is not mapped" "$CS" restore --snapshot latest --to "$T/r3" \
	--uid-map 1001:1000,1500:1500,3000:3000,0:0 --unmapped fail
absent "$T/r3"

# --unmapped owner: mapped ids change, every other id takes --owner's.
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r4" --uid-map 1001:1000 --gid-map 1001:1000 \
	--unmapped owner --owner 5000:5000
same_owners "$T/r4" "u = (u == 1001) ? 1000 : 5000; g = (g == 1001) ? 1000 : 5000"
[ "$(count "$T/r4" -uid 5000)" = 4 ] || fail "--unmapped owner count"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r4s" --uid-map 1001:1000 \
	--gid-map 1001:1000 --unmapped owner --owner 5000:5000
same_owners "$T/r4s" "u = (u == 1001) ? 1000 : 5000; g = (g == 1001) ? 1000 : 5000"

# --owner-by-name: the host's ids for the name, numerically, everywhere.
NU=$(id -u nobody) && NG=$(id -g nobody) || skip "no user nobody here"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r5" --owner-by-name nobody
same_owners "$T/r5" "u = $NU; g = $NG"
# An id with no account on this host is applied as it is.
getent passwd 48213 >/dev/null && skip "uid 48213 has an account here"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r6" --owner 48213:48213
same_owners "$T/r6" "u = 48213; g = 48213"
exit 0
