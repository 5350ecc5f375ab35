#!/bin/sh
# Hostile backups: every case of tests/hostile/mkhostile.c (a valid header and
# stream around a crafted manifest and pax tar: "..", absolute paths, writes
# through symlinks, hardlinks out of the tree, device nodes, duplicates,
# manifest/tar disagreements, caps, malformed NDJSON...) gives its exact exit
# code and a message naming the entry, from verify, restore, restore --dry-run
# and restore --replace; and nothing beside the target changes: a snapshot of
# the parent dir (every path, type, mode, owner, size, mtime, link count, link
# text and content hash) is the same before and after.  "good*" cases are
# controls that must restore.
. "$TESTS/lib.sh"
MK=$(dirname "$CS")/tests/mkhostile
[ -x "$MK" ] || fail "$MK is not built (make unit)"

W=$T/w
OUT=$W/outside
head -c 32 /dev/urandom >"$T/key"
chmod 600 "$T/key"
KEY="--key-file $T/key"

mkdir -p "$OUT/sub" "$W/sentinel" "$W/old/sub"
echo victim >"$OUT/victim"
echo sentinel >"$W/sentinel/keep"
echo old >"$W/old/old.txt"
echo deeper >"$W/old/sub/y"
ln -s "$OUT" "$W/old/l"              # a symlink in the target to outside
ln "$OUT/victim" "$W/victim-link"    # link count of the victim is watched
touch -d @1600000000 "$W/old/old.txt" "$W/old/sub/y" "$W/old/sub" "$W/old" "$OUT" "$OUT/sub"

# state: every entry under $W except the parent's own times (a restore may add
# and remove its siblings there), with content hashes.
state() {
	(cd "$W" && find . -mindepth 1 \( -path ./new -o -path ./fresh \) -prune -o \
		-printf '%p %y %m %U:%G %s %n %T@ %l\n' | LC_ALL=C sort
	 cd "$W" && find . -type f ! -path './new/*' ! -path './fresh/*' -exec md5sum {} + |
		LC_ALL=C sort)
}
state >"$T/before"
rmtree() { chmod -R u+rwx "$@" 2>/dev/null; rm -rf "$@"; }  # 0500 dirs, not as root
check_same() { # what
	state >"$T/after"
	if ! cmp -s "$T/before" "$T/after"; then
		diff "$T/before" "$T/after" | head -n 20 >&2
		fail "$1: something beside the target changed"
	fi
	for x in "$W"/new.clawstate-* "$W"/old.clawstate-* "$W"/fresh.clawstate-*; do
		[ -e "$x" ] && fail "$1: leftover $x"
	done
	return 0
}

"$MK" --list >"$T/cases" || fail "mkhostile --list"
total=0
good=0

while IFS="|" read -r name code frag vcode vfrag; do
	total=$((total + 1))
	B=$T/$name.cst
	ASAN_OPTIONS=detect_leaks=0 "$MK" "$T/key" "$OUT" "$name" "$B" || fail "$name: mkhostile failed"
	expect "$vcode" "$vfrag" "$CS" verify $KEY "$B"
	expect "$code" "$frag" "$CS" restore $KEY "$B" --to "$W/new" --dry-run
	[ -e "$W/new" ] && fail "$name: --dry-run created the target"
	expect "$code" "$frag" "$CS" restore $KEY "$B" --to "$W/new"
	if [ "$code" = 0 ]; then
		good=$((good + 1))
		[ -d "$W/new" ] || fail "$name: no target after a successful restore"
		# every file of the control restored and readable; then gone again
		expect 0 "" "$CS" verify $KEY "$B"
		rmtree "$W/new"
		mkdir "$W/fresh"; echo x >"$W/fresh/f"
		expect 0 "" "$CS" restore $KEY "$B" --to "$W/fresh" --replace --no-keep
		rmtree "$W/fresh"
		check_same "$name"
		continue
	fi
	[ -e "$W/new" ] && fail "$name: a failed restore left the target"
	check_same "$name (new target)"
	expect "$code" "$frag" "$CS" restore $KEY "$B" --to "$W/old" --replace
	check_same "$name (--replace)"
	expect "$code" "$frag" "$CS" restore $KEY "$B" --to "$W/old" --replace --no-keep
	check_same "$name (--replace --no-keep)"
	rm -f "$B"
done <"$T/cases"

# Controls restored what they said: names that are not UTF-8, newlines, depth.
ASAN_OPTIONS=detect_leaks=0 "$MK" "$T/key" "$OUT" good_names "$T/gn.cst" || fail mkhostile
expect 0 "" "$CS" restore $KEY "$T/gn.cst" --to "$W/new"
[ "$(cat "$W/new/n/line
break")" = "newline in the name" ] || fail "name with a newline"
[ "$(cat "$W/new/n/back\\slash")" = backslash ] || fail "name with a backslash"
[ "$(cat "$(printf '%s/n/\377\376-latin1-\351' "$W/new")")" = "not UTF-8" ] || fail "non-UTF-8 name"
[ "$(readlink "$(printf '%s/n/\200link' "$W/new")")" = "$(printf '\377\376 target not UTF-8')" ] ||
	fail "non-UTF-8 symlink target"
rmtree "$W/new"
ASAN_OPTIONS=detect_leaks=0 "$MK" "$T/key" "$OUT" good "$T/g.cst" || fail mkhostile
expect 0 "" "$CS" restore $KEY "$T/g.cst" --to "$W/new"
[ "$(readlink "$W/new/e/abs")" = "$OUT" ] || fail "absolute symlink text"
[ "$(stat -c %i "$W/new/d/f")" = "$(stat -c %i "$W/new/d/h")" ] || fail "hardlink group"
[ "$(stat -c %a "$W/new/e/ro")" = 500 ] || fail "read-only dir mode"
rmtree "$W/new"
check_same "controls"
note "$total hostile-backup cases ($good controls) passed"
exit 0
