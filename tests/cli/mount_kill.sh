#!/bin/sh
# A restore into a mount point killed at every test point (SIGKILL through
# CLAWSTATE_TEST_KILL_AT), then `clawstate recover DIR`: DIR, ignoring its
# top-level .clawstate-* entries, is exactly the complete old tree or the
# complete new one (root mode and owner included), never a mix; the old tree
# is kept unless --no-keep; nothing of the run is left but a kept old tree;
# the next restore works.  A damaged journal of a real run is refused (4) and
# changes nothing; put back, it is replayed.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for unshare -m and mount"
command -v unshare >/dev/null || skip "no unshare"
if [ -z "${CS_IN_NS:-}" ]; then
	unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs none '$T/probe'" 2>/dev/null ||
		skip "cannot mount a tmpfs in a private mount namespace here"
	exec env CS_IN_NS=1 unshare -m sh "$0"
fi

# A small state (few test points), names the journal must escape, an old and
# a new top-level entry of the same name (openclaw.json, workspace).
S=$T/src/.openclaw
mkdir -p "$S/credentials/wa" "$S/workspace/notes" "$S/agents/main"
echo '{"gateway":{"port":18789}}' >"$S/openclaw.json"
echo '{"k":"secret"}' >"$S/credentials/wa/creds.json"
echo note >"$S/workspace/notes/n.md"
echo agent >"$S/agents/main/a.json"
printf x >"$S/$(printf 'tab\tname')"
printf y >"$S/per%cent"
ln -s openclaw.json "$S/link"
chmod 0600 "$S/credentials/wa/creds.json"
find "$S" -exec touch -h -d @1710000000 {} +
chown -R 1000:1000 "$S"
chmod 0750 "$S"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"

top_digest() { digest "$1" --no-dir-mtime | grep -v "^b'\.clawstate-"; }
body_digest() { digest "$1" --no-dir-mtime | grep -v "^b'\.' "; }
ours() { ls -A "$1" | grep '^\.clawstate-' | tr '\n' ' '; }

mkold() {
	find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
	mkdir -p "$1/sub" "$1/workspace"
	echo old >"$1/openclaw.json"
	echo deeper >"$1/sub/y"
	printf x >"$1/$(printf 'new\nline')"
	printf x >"$1/$(printf '\377')"
	echo w >"$1/workspace/old-notes.md"
	find "$1" -mindepth 1 -exec touch -h -d @1700000000 {} +
	chown 0:0 "$1"
	chmod 0755 "$1"
}
mkdir -p "$T/vol" "$T/r"
mount --bind "$T/vol" "$T/r" || fail "bind mount"
mkold "$T/r"
top_digest "$T/r" >"$T/old.d"
body_digest "$T/r" >"$T/oldbody.d"
top_digest "$S" >"$T/new.d"
cmp -s "$T/old.d" "$T/new.d" && fail "old and new trees must differ"

which_tree() {
	top_digest "$1" >"$T/x.d"
	if cmp -s "$T/x.d" "$T/old.d"; then echo old; return; fi
	if cmp -s "$T/x.d" "$T/new.d"; then echo new; return; fi
	echo mixed
}

rm -f "$T/count"
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" restore "$T/b.cst" --to "$T/r" --replace
N=$(tr -dc 0-9 <"$T/count")
[ -n "$N" ] && [ "$N" -gt 20 ] || fail "implausible test point count '$N'"
[ "$(which_tree "$T/r")" = new ] || fail "uninterrupted restore did not give the new tree"
note "a restore --replace into the mount passes $N test points"

# kill_at K [--no-keep]: kill there, recover, check; prints old or new.
kill_at() {
	_k=$1
	shift
	mkold "$T/r"
	env CLAWSTATE_TEST_KILL_AT="$_k" "$CS" restore "$T/b.cst" --to "$T/r" --replace "$@" \
		>"$T/kout" 2>"$T/kerr"
	_rc=$?
	[ "$_rc" = 137 ] || { cat "$T/kerr" >&2; fail "kill at $_k: exit $_rc, want 137"; }
	"$CS" recover "$T/r" >"$T/rout" 2>"$T/rerr" ||
		{ cat "$T/rerr" >&2; fail "kill at $_k: recover failed"; }
	_state=$(which_tree "$T/r")
	case $_state in
	old)
		[ "$(ours "$T/r")" = "" ] || fail "kill at $_k: old tree, but left $(ours "$T/r")"
		;;
	new)
		if [ "$#" = 0 ]; then
			[ "$(ours "$T/r")" = ".clawstate-old-1 " ] ||
				fail "kill at $_k: new tree, but .clawstate-* is '$(ours "$T/r")'"
			body_digest "$T/r/.clawstate-old-1" >"$T/kept.d"
			cmp -s "$T/kept.d" "$T/oldbody.d" || fail "kill at $_k: kept old tree differs"
		else
			[ "$(ours "$T/r")" = "" ] || fail "kill at $_k (--no-keep): left $(ours "$T/r")"
		fi
		;;
	*)
		diff "$T/old.d" "$T/x.d" | head -n 20 >&2
		fail "kill at $_k: after recover the tree is $_state"
		;;
	esac
	echo "$_state"
}

FIRST_NEW=""
k=1
while [ "$k" -le "$N" ]; do
	state=$(kill_at "$k") || exit 1
	note "killed at point $k of $N, recovered: the $state tree"
	if [ "$state" = new ] && [ -z "$FIRST_NEW" ]; then
		FIRST_NEW=$k
	elif [ "$state" = old ] && [ -n "$FIRST_NEW" ]; then
		fail "kill at $k gave the old tree after $FIRST_NEW gave the new one"
	fi
	# The next restore works from whatever recover left.
	expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace --no-keep
	[ "$(which_tree "$T/r")" = new ] || fail "after kill at $k: the next restore failed"
	k=$((k + 1))
done
[ -n "$FIRST_NEW" ] && [ "$FIRST_NEW" -gt 1 ] || fail "no kill point gave the old tree, or none the new"
note "points 1..$((FIRST_NEW - 1)) roll back, $FIRST_NEW..$N roll forward"

# The same for the swap's points with --no-keep: the old tree is gone after recover.
k=$FIRST_NEW
while [ "$k" -le "$N" ]; do
	state=$(kill_at "$k" --no-keep) || exit 1
	[ "$state" = new ] || fail "kill at $k (--no-keep): $state"
	k=$((k + 1))
done
echo "ok every kill point of the swap, with --no-keep too"

# The replay itself killed at each of its points, then replayed again: the
# same new tree (a replay is idempotent whatever it got through).
mkold "$T/r"
env CLAWSTATE_TEST_KILL_AT="$FIRST_NEW" "$CS" restore "$T/b.cst" --to "$T/r" --replace >/dev/null 2>&1
rm -f "$T/count"
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" recover "$T/r"
R=$(tr -dc 0-9 <"$T/count")
[ -n "$R" ] && [ "$R" -gt 5 ] || fail "implausible replay test point count '$R'"
j=1
while [ "$j" -le "$R" ]; do
	mkold "$T/r"
	env CLAWSTATE_TEST_KILL_AT="$FIRST_NEW" "$CS" restore "$T/b.cst" --to "$T/r" --replace \
		>/dev/null 2>&1
	env CLAWSTATE_TEST_KILL_AT="$j" "$CS" recover "$T/r" >/dev/null 2>&1
	[ $? = 137 ] || fail "recover not killed at $j"
	expect 0 "" "$CS" recover "$T/r"
	[ "$(which_tree "$T/r")" = new ] || fail "replay killed at $j: then $(which_tree "$T/r")"
	[ "$(ours "$T/r")" = ".clawstate-old-1 " ] || fail "replay killed at $j: left $(ours "$T/r")"
	body_digest "$T/r/.clawstate-old-1" >"$T/kept.d"
	cmp -s "$T/kept.d" "$T/oldbody.d" || fail "replay killed at $j: kept old tree differs"
	j=$((j + 1))
done
echo "ok a replay killed at each of its $R points and replayed again"

# A real journal (killed right after it was put in place), damaged by one byte.
mkold "$T/r"
env CLAWSTATE_TEST_KILL_AT="$FIRST_NEW" "$CS" restore "$T/b.cst" --to "$T/r" --replace >/dev/null 2>&1
[ -f "$T/r/.clawstate-journal" ] || fail "no journal after a kill at $FIRST_NEW"
cp "$T/r/.clawstate-journal" "$T/journal.good"
"$PY" -c 'import sys
p = sys.argv[1]
b = open(p, "rb").read()
i = b.index(b"\nopenclaw.json\n") + 13
open(p, "wb").write(b[:i] + b"N" + b[i + 1:])' "$T/r/.clawstate-journal"
LINE=$(grep -n '^blake2b ' "$T/r/.clawstate-journal" | cut -d: -f1)
digest "$T/r" >"$T/before.d"
expect 4 "$T/r/.clawstate-journal: line $LINE: checksum mismatch (torn or damaged journal)" \
	"$CS" recover "$T/r"
digest "$T/r" >"$T/after.d"
cmp -s "$T/before.d" "$T/after.d" || fail "a damaged journal changed the dir"
cp "$T/journal.good" "$T/r/.clawstate-journal"
expect 0 "" "$CS" recover "$T/r"
out_has "finished the interrupted swap in $T/r"
out_has "old tree kept at $T/r/.clawstate-old-1"
[ "$(which_tree "$T/r")" = new ] || fail "replayed journal did not give the new tree"
[ "$(ours "$T/r")" = ".clawstate-old-1 " ] || fail "replay left $(ours "$T/r")"
echo "ok a damaged journal is refused (4) untouched; the intact one rolls forward"
exit 0
