#!/bin/sh
# An interrupted backup leaves nothing under the final name; an interrupted
# snapshot leaves the vault as it was (or with the whole new snapshot).
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 40 --media-mb 0.5
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
rm -f "$T/count"
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" backup --snapshot latest -o "$T/probe.cst"
N=$(tr -dc 0-9 <"$T/count")
[ -n "$N" ] && [ "$N" -ge 2 ] || fail "implausible count '$N'"
for k in 1 $((N / 2)) $((N - 1)) "$N"; do
	[ "$k" -ge 1 ] || continue
	env CLAWSTATE_TEST_KILL_AT="$k" "$CS" backup --snapshot latest -o "$T/b.cst" >/dev/null 2>&1
	[ $? = 137 ] || fail "backup kill at $k: not killed"
	if [ -e "$T/b.cst" ]; then
		# Only the very last points (after the rename) may leave the complete file.
		expect 0 "" "$CS" verify "$T/b.cst"
		rm -f "$T/b.cst"
	fi
	note "backup killed at $k of $N: nothing half-written under the final name"
done
expect 0 "" "$CS" backup --snapshot latest -o "$T/b.cst"
expect 0 "" "$CS" verify "$T/b.cst"

echo changed >>"$S/workspace/MEMORY.md"
rm -f "$T/count"
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" snapshot --state "$S"
N=$(tr -dc 0-9 <"$T/count")
note "a snapshot of one changed file passes $N test points"
for k in 1 $((N / 2)) $((N - 1)); do
	[ "$k" -ge 1 ] || continue
	echo "changed again at $k" >>"$S/workspace/MEMORY.md"
	env CLAWSTATE_TEST_KILL_AT="$k" "$CS" snapshot --state "$S" >/dev/null 2>&1
	rc=$?
	[ $rc = 137 ] || [ $rc = 0 ] || fail "snapshot kill at $k: exit $rc"
	expect 0 "" "$CS" verify --vault "$T/vault"
	expect 0 "" "$CS" snapshot --state "$S"
done
expect 0 "" "$CS" snapshots --json
note "snapshots after the kills: $(json "$T/out" '[s["seq"] for s in d["snapshots"]]')"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
exit 0
