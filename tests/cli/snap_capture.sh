#!/bin/sh
# A live SQLite writer during snapshot and backup --state: the capture is
# consistent (integrity_check ok, every row committed before the run started is
# there), and no .sqlite-capture-* plaintext copy stays in the vault dir, even
# when the snapshot is killed at any test point (including "capture", while the
# complete copy is still under its name): the next writer removes it.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
V=$T/vault
mkstate "$S" --keys 20 --media-mb 0.2
mkvault "$V" "$T/key"
"$PY" "$TESTS/sqlite_writer.py" "$S/state/live.sqlite" "$T/rows.log" --interval 0.001 &
W=$!
trap 'kill_job $W' EXIT
i=0
while [ ! -s "$T/rows.log" ]; do
	i=$((i + 1))
	[ $i -lt 500 ] || fail "sqlite_writer.py did not start"
	sleep 0.01
done

captures() { ls -A "$V" | grep -c '^\.sqlite-capture-'; }

# rows_ok DIR LASTID: DIR/state/live.sqlite passes integrity_check and holds rows 1..LASTID.
rows_ok() {
	"$PY" - "$1/state/live.sqlite" "$2" <<'EOF' || fail "capture of live.sqlite in $1 is not consistent"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
last = int(sys.argv[2])
have = db.execute("SELECT count(*) FROM rows WHERE id <= ?", (last,)).fetchone()[0]
print("# integrity %s, %d of the %d rows committed before" % (ok, have, last))
sys.exit(0 if ok == "ok" and have == last else 1)
EOF
}

last=$(tail -n 1 "$T/rows.log")
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" snapshot --state "$S"
N=$(tr -dc 0-9 <"$T/count")
[ -n "$N" ] && [ "$N" -ge 3 ] || fail "implausible count '$N'"
[ "$(captures)" = 0 ] || fail "capture left after a clean snapshot"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r0"
rows_ok "$T/r0" "$last"

left=0
k=1
while [ $k -le "$N" ]; do
	expect 0 "" "$CS" snapshots
	cp "$T/out" "$T/list.before"
	env CLAWSTATE_TEST_KILL_AT=$k "$CS" snapshot --state "$S" >/dev/null 2>&1
	rc=$?
	[ $rc = 137 ] || [ $rc = 0 ] || fail "snapshot kill at $k: exit $rc"
	c=$(captures)
	[ "$c" = 0 ] || left=$((left + 1))
	# Readers never touch the vault dir's files; only the next writer sweeps.
	expect 0 "" "$CS" verify --vault "$V"
	last=$(tail -n 1 "$T/rows.log")
	expect 0 "" "$CS" snapshot --state "$S"
	[ "$(captures)" = 0 ] || fail "kill at $k: capture still there after the next snapshot"
	k=$((k + 1))
done
note "$N kill points, $left left a capture behind, each removed by the next snapshot"
[ $left -ge 1 ] || fail "no kill point left a capture (the \"capture\" test point is gone?)"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r1"
rows_ok "$T/r1" "$last"

# backup --state: the same capture, into the backup.
last=$(tail -n 1 "$T/rows.log")
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
[ "$(captures)" = 0 ] || fail "capture left after backup --state"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r2"
rows_ok "$T/r2" "$last"

# A kill at the capture point of backup --state: swept by the next writer too.
rm -f "$T/count"
expect 0 "" env CLAWSTATE_TEST_COUNT="$T/count" "$CS" backup --state "$S" -o "$T/b2.cst"
N=$(tr -dc 0-9 <"$T/count")
k=1
while [ $k -le "$N" ]; do
	rm -f "$T/b3.cst"
	env CLAWSTATE_TEST_KILL_AT=$k "$CS" backup --state "$S" -o "$T/b3.cst" >/dev/null 2>&1
	rc=$?
	[ $rc = 137 ] || [ $rc = 0 ] || fail "backup --state kill at $k: exit $rc"
	if [ "$(captures)" != 0 ]; then
		expect 0 "" "$CS" snapshot --state "$S"
		[ "$(captures)" = 0 ] || fail "backup kill at $k: capture not swept"
		note "backup --state killed at $k of $N left a capture; the next snapshot removed it"
		break
	fi
	k=$((k + 1))
done
[ $k -le "$N" ] || fail "no kill point of backup --state left a capture"
exit 0
