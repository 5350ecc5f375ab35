#!/bin/sh
# A snapshot of several entry batches (> 1000 entries) and chunk batches
# (> 8 MiB) killed at every test point, both the first snapshot of a vault and
# a later one: after each kill verify --vault passes, the snapshot list is
# unchanged, the next snapshot succeeds and its restore equals the tree.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
V=$T/vault
mkstate "$S" --keys 1500 --media-mb 12
mkvault "$V" "$T/key"

# kill_all ROUND: kill a snapshot of the current tree at each of its test points.
kill_all() {
	rm -f "$T/count"
	# Count on a copy of the vault, so the real one still lacks this snapshot.
	rm -rf "$T/vc"
	cp -a "$V" "$T/vc"
	expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" snapshot --vault "$T/vc" --state "$S"
	N=$(tr -dc 0-9 <"$T/count")
	[ -n "$N" ] && [ "$N" -ge 3 ] || fail "implausible count '$N'"
	k=1
	while [ $k -le "$N" ]; do
		expect 0 "" "$CS" snapshots
		cp "$T/out" "$T/list.before"
		env CLAWSTATE_TEST_KILL_AT=$k "$CS" snapshot --state "$S" >/dev/null 2>"$T/kerr"
		rc=$?
		if [ $rc = 0 ]; then
			# Chunks made durable by the killed runs are not written again, so a
			# run passes fewer points: one that got through has committed.
			note "$1: kill at $k of $N not reached: chunks of the killed runs reused"
			N=$((k - 1))
			break
		fi
		[ $rc = 137 ] || fail "$1: kill at $k of $N: exit $rc: $(cat "$T/kerr")"
		expect 0 "" "$CS" verify --vault "$V"
		expect 0 "" "$CS" snapshots
		cmp -s "$T/out" "$T/list.before" || fail "$1: kill at $k of $N changed the snapshot list"
		k=$((k + 1))
	done
	[ "$N" -ge 3 ] || fail "$1: only $N kills"
	expect 0 "" "$CS" snapshot --state "$S"
	expect 0 "" "$CS" verify --vault "$V"
	rm -rf "$T/r"
	expect 0 "" "$CS" restore --snapshot latest --to "$T/r"
	same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
	note "$1: survived $N kills"
}

kill_all first
# A later snapshot: some files changed, some new, one removed, the big file grown.
for i in 1 2 3 4 5 6 7 8 9; do
	echo "changed $i" >>"$S/workspace/MEMORY.md"
	echo "new $i" >"$S/workspace/new-$i.md"
done
head -c 3000000 /dev/urandom >>"$(find "$S/media" -type f | sort | tail -n 1)"
kill_all later
exit 0
