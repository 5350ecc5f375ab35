#!/bin/sh
# An interrupted restore (SIGKILL at the N-th write/fsync/rename, through
# CLAWSTATE_TEST_KILL_AT) leaves the target either the complete old tree or
# the complete new one, never a mix; the old tree is never lost; the next
# restore cleans up the staging dir and succeeds.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 40 --media-mb 0.3
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
digest "$S" --no-dir-mtime --skip-sqlite state/openclaw.sqlite >"$T/new.d"

mkold() {
	rm -rf "$T/r" "$T"/r.clawstate-*
	mkdir -p "$T/r/sub"
	echo old >"$T/r/old.txt"
	echo deeper >"$T/r/sub/y"
	touch -d @1700000000 "$T/r/old.txt" "$T/r/sub/y"
}
mkold
digest "$T/r" --no-dir-mtime >"$T/old.d"

# which_tree DIR: prints old, new or mixed.
which_tree() {
	if [ ! -e "$1" ]; then echo absent; return; fi
	digest "$1" --no-dir-mtime >"$T/x.d"
	if cmp -s "$T/x.d" "$T/old.d"; then echo old; return; fi
	digest "$1" --no-dir-mtime --skip-sqlite state/openclaw.sqlite >"$T/x.d"
	if cmp -s "$T/x.d" "$T/new.d"; then echo new; return; fi
	echo mixed
}
# old_kept: some sibling (old-* or a stage dir holding it after the exchange) is the old tree.
old_kept() {
	for d in "$T"/r.clawstate-old-* "$T"/r.clawstate-stage-*; do
		[ -d "$d" ] && [ "$(which_tree "$d")" = old ] && return 0
	done
	return 1
}

rm -f "$T/count"
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" restore "$T/b.cst" --to "$T/r" --replace
N=$(tr -dc 0-9 <"$T/count")
[ -n "$N" ] && [ "$N" -gt 3 ] || fail "implausible test point count '$N'"
note "a restore --replace passes $N test points"
# Spread over the whole run, dense at the end where the swap happens.
POINTS=$( (printf '%s\n' 1 2 3 $((N / 4)) $((N / 2)) $((3 * N / 4)); seq $((N - 12)) "$N") |
	awk -v n="$N" '$1 >= 1 && $1 <= n' | sort -n | uniq)
for k in $POINTS; do
	mkold
	env CLAWSTATE_TEST_KILL_AT="$k" "$CS" restore "$T/b.cst" --to "$T/r" --replace >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" = 137 ] || { cat "$T/err"; fail "kill at $k: exit $rc, want 137 (SIGKILL)"; }
	state=$(which_tree "$T/r")
	note "killed at point $k of $N: target is the $state tree"
	case $state in
	old) ;;
	new) old_kept || fail "kill at $k: target is new but the old tree is nowhere" ;;
	*) fail "kill at $k: target is $state" ;;
	esac
	expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace
	[ "$(which_tree "$T/r")" = new ] || fail "after kill at $k: rerun did not give the new tree"
	no_stage "$T/r"
	old_kept || fail "after kill at $k and a rerun: the old tree was lost"
done

# Interrupted restore into a new directory: nothing or everything at the target.
rm -rf "$T/n" "$T"/n.clawstate-*
rm -f "$T/count"
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" restore "$T/b.cst" --to "$T/n"
M=$(tr -dc 0-9 <"$T/count")
for k in 1 $((M / 2)) $((M - 1)) "$M"; do
	[ "$k" -ge 1 ] || continue
	rm -rf "$T/n" "$T"/n.clawstate-*
	env CLAWSTATE_TEST_KILL_AT="$k" "$CS" restore "$T/b.cst" --to "$T/n" >/dev/null 2>&1
	[ $? = 137 ] || fail "kill at $k (new target): not killed"
	if [ -e "$T/n" ]; then
		digest "$T/n" --no-dir-mtime --skip-sqlite state/openclaw.sqlite >"$T/x.d"
		cmp -s "$T/x.d" "$T/new.d" || fail "kill at $k: half tree at a new target"
		expect 0 "" "$CS" restore "$T/b.cst" --to "$T/n" --replace --no-keep
	else
		expect 0 "" "$CS" restore "$T/b.cst" --to "$T/n"
	fi
	no_stage "$T/n"
done
exit 0
