#!/bin/sh
# state -> snapshot -> backup -> restore on the generated fixture while a live
# writer commits to the WAL database: the restored tree equals the source in
# content, type, mode, mtime (ns), owner, symlink targets, hardlink groups and
# user.* xattrs (dir mtimes aside); the database is checked logically: it passes
# integrity_check, holds every row committed before the snapshot started, and
# has no -wal/-shm after the restore.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S"
mkvault "$T/vault" "$T/key"

"$PY" "$TESTS/sqlite_writer.py" "$S/state/openclaw.sqlite" "$T/rows.log" &
W=$!
trap 'kill_job $W' EXIT
i=0
while [ "$(wc -l <"$T/rows.log" 2>/dev/null || echo 0)" -lt 20 ]; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "the sqlite writer did not start"
	sleep 0.05
done
[ -e "$S/state/openclaw.sqlite-wal" ] || fail "no -wal file while the writer runs"
LAST=$(tail -n 1 "$T/rows.log")
note "rows committed before the snapshot: up to id $LAST"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
out_has "backup written: $T/b.cst"
kill_job $W
trap - EXIT
AFTER=$(tail -n 1 "$T/rows.log")
note "the writer went on to id $AFTER"

expect 0 "" "$CS" verify "$T/b.cst"
out_has "backup ok"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r"
out_has "restored snapshot 1 to $T/r"
no_stage "$T/r"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite

DB=$T/r/state/openclaw.sqlite
[ -f "$DB" ] || fail "database not restored"
for x in -wal -shm -journal; do
	[ -e "$DB$x" ] && fail "restore left $DB$x"
done
[ "$(stat -c %a "$DB")" = 600 ] || fail "database mode $(stat -c %a "$DB")"
# Inspect a copy: opening a WAL database creates -wal/-shm beside it.
cp "$DB" "$T/check.sqlite"
"$PY" - "$T/check.sqlite" "$LAST" <<'PYEOF' || fail "database check"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
assert ok == "ok", ok
last = int(sys.argv[2])
have = {r[0] for r in db.execute("SELECT id FROM rows WHERE id <= ?", (last,))}
missing = [i for i in range(1, last + 1) if i not in have]
assert not missing, "rows missing: %s" % missing[:10]
n = db.execute("SELECT count(*) FROM config_machine_state").fetchone()[0]
assert n == 201, n
print("ok database: integrity ok, all %d rows present" % last)
PYEOF
exit 0
