#!/bin/sh
# host (uid 1001, /home/hostuser) -> docker (uid 1000, /home/node) -> host gives
# back the original tree exactly (content, modes, owners, mtimes; SQLite
# databases logically); the docker tree is 1000:1000 throughout with the same
# modes, no /home/hostuser left in the files the rewriter knows, JSON5 comments
# kept, and uid 1000 can read every file and create files in every dir.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "not root: needs root to own the fixture as 1001 and the output as 1000"
command -v setpriv >/dev/null || skip "no setpriv"
chmod 755 "$T"

# The fixture is built here but its paths say /home/hostuser: --from-home names that.
S=$T/h/.openclaw
mkstate "$S" --user hostuser --keys 30 --media-mb 0
H=/home/hostuser/.openclaw
printf '{\n  "version": 1,\n  "agents": { "main": { "allowlist": [ { "pattern": "%s/workspace/bin/*" } ] } },\n  "escaped": "\\/home\\/hostuser\\/.openclaw\\/workspace"\n}\n' "$H" >"$S/exec-approvals.json"
chmod 600 "$S/exec-approvals.json"
"$PY" - "$S/state/paths.sqlite" "$H" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); h = sys.argv[2]
db.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT, note TEXT, n INTEGER)")
db.execute('CREATE TABLE "odd ""name""" ("the dir" TEXT)')
rows = [(1, h + "/workspace/a.md", "see " + h, 7), (2, "/home/hostuser2/x", "other user", 8),
        (3, "/home/hostuser", "the home itself", 9), (4, "relative/path", None, 10)]
db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)", rows)
db.execute('INSERT INTO "odd ""name""" VALUES (?)', (h + "/media",))
db.commit(); db.close()
EOF
chmod 600 "$S/state/paths.sqlite"
ln -s "$H/workspace/MEMORY.md" "$S/workspace/memory-link"
printf 'notes: /home/hostuser/.openclaw/workspace and /home/hostuser/bin\nnot /home/hostuser2\n' \
	>"$S/workspace/notes.md"
chown -h 1001:1001 "$S/exec-approvals.json" "$S/state/paths.sqlite" "$S/workspace/memory-link" \
	"$S/workspace/notes.md"
touch -h -d @1714560000 "$S/exec-approvals.json" "$S/state/paths.sqlite" "$S/workspace/memory-link" \
	"$S/workspace/notes.md" "$S/workspace" "$S/state" "$S"

dump_db() { # DB: every row of every table, sorted
	"$PY" - "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
for (t,) in db.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name"):
    q = '"%s"' % t.replace('"', '""')
    for r in sorted(db.execute("SELECT * FROM " + q).fetchall(), key=repr):
        print(t, r)
EOF
}

# ---- dry run: every rewrite listed, nothing written ----
expect 0 "" "$CS" migrate --state "$S" --from-home /home/hostuser --layout docker --to "$T/d" --dry-run
absent "$T/d"
grep -qF "rewrite config/openclaw.json (line " "$T/out" || { cat "$T/out" >&2; fail "no config rewrite listed"; }
grep -qF ": $H/workspace -> /home/node/.openclaw/workspace" "$T/out" || fail "rewrite values not listed"
grep -qF "rewrite workspace/memory-link (symlink): $H/workspace/MEMORY.md -> /home/node/.openclaw/workspace/MEMORY.md" "$T/out" ||
	fail "symlink rewrite not listed"
grep -qF "config/state/paths.sqlite (files.path" "$T/out" || fail "sqlite rewrite not listed"

# ---- host -> docker ----
expect 0 "workspace/notes.md: mentions /home/hostuser 2 times; not rewritten" \
	"$CS" migrate --state "$S" --from-home /home/hostuser --layout docker --to "$T/d"
out_has "OPENCLAW_CONFIG_DIR=$T/d/config"
out_has "OPENCLAW_WORKSPACE_DIR=$T/d/workspace"
out_has "\"$T/d/config:/home/node/.openclaw\""
out_has "\"$T/d/workspace:/home/node/.openclaw/workspace\""
[ "$(stat -c %a:%u:%g "$T/d")" = "755:0:0" ] || fail "output dir: $(stat -c %a:%u:%g "$T/d")"
bad=$(find "$T/d/config" "$T/d/workspace" \( ! -uid 1000 -o ! -gid 1000 \) | head -n 3)
[ -z "$bad" ] || fail "not 1000:1000: $bad"
[ -d "$T/d/config/workspace" ] && [ -z "$(ls -A "$T/d/config/workspace")" ] ||
	fail "config/workspace is not an empty mount-point dir"
[ ! -e "$T/d/config/workspace.clawstate-old-0" ] || fail "stray old tree"

# Same modes, entry for entry (config/ holds everything but workspace/).
"$PY" - "$S" "$T/d" <<'EOF' || fail "modes differ"
import os, stat, sys
src, dst = sys.argv[1], sys.argv[2]
bad = 0
for root, dirs, files in os.walk(src):
    for n in dirs + files:
        p = os.path.join(root, n); rel = os.path.relpath(p, src)
        if n.endswith(("-wal", "-shm", "-journal")):
            continue  # a live database's side files: the capture holds their content
        q = os.path.join(dst, rel if rel.split("/")[0] == "workspace" else "config/" + rel)
        a, b = os.lstat(p), os.lstat(q)
        if stat.S_IMODE(a.st_mode) != stat.S_IMODE(b.st_mode) or stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
            print("mode differs:", rel, oct(a.st_mode), oct(b.st_mode)); bad += 1
if stat.S_IMODE(os.stat(src).st_mode) != stat.S_IMODE(os.stat(dst + "/config").st_mode):
    print("root mode differs"); bad += 1
sys.exit(1 if bad else 0)
EOF

# No old path left in the files the rewriter knows; comments and the rest kept.
C=$T/d/config
for f in "$C/openclaw.json" "$C/openclaw.json.bak" "$C/agents/main/sessions/sessions.json" \
	"$C/exec-approvals.json"; do
	grep -q "/home/hostuser" "$f" && fail "old home left in $f"
	grep -q "\\\\/home\\\\/hostuser" "$f" && fail "escaped old home left in $f"
done
for f in "$C"/agents/main/sessions/*.jsonl; do
	head -n 1 "$f" | grep -q '"cwd": "/home/node/.openclaw/workspace"' || fail "cwd not rewritten in $f"
done
grep -qF '"\/home\/node\/.openclaw\/workspace"' "$C/exec-approvals.json" || fail "escape style not kept"
grep -qF '// OpenClaw gateway configuration (test fixture; every secret is fake)' "$C/openclaw.json" ||
	fail "JSON5 comment lost"
grep -qF '  // trailing comma on purpose' "$C/openclaw.json" || fail "JSON5 comment lost"
sed 's#/home/hostuser/.openclaw#/home/node/.openclaw#g' "$S/openclaw.json" >"$T/want.json"
cmp -s "$T/want.json" "$C/openclaw.json" || { diff "$T/want.json" "$C/openclaw.json" | head >&2; fail "config bytes outside the paths changed"; }
[ "$(readlink "$T/d/workspace/memory-link")" = /home/node/.openclaw/workspace/MEMORY.md ] ||
	fail "symlink not re-pointed"
[ "$(readlink "$T/d/workspace/host-name")" = /etc/hostname ] || fail "outside symlink changed"
dump_db "$C/state/paths.sqlite" >"$T/db.docker"
grep -qF "(1, '/home/node/.openclaw/workspace/a.md', 'see /home/hostuser/.openclaw', 7)" "$T/db.docker" ||
	{ cat "$T/db.docker" >&2; fail "sqlite path not rewritten (or a non-prefix value was)"; }
grep -qF "(2, '/home/hostuser2/x', 'other user', 8)" "$T/db.docker" || fail "hostuser2 was rewritten"
grep -qF "(3, '/home/node', 'the home itself', 9)" "$T/db.docker" || fail "the home value not rewritten"
grep -qF "odd \"name\" ('/home/node/.openclaw/media',)" "$T/db.docker" || fail "quoted table not rewritten"
ls "$C/state" | grep -q 'paths.sqlite-' && fail "sqlite side files left in the output"
[ "$(stat -c %Y "$C/openclaw.json")" = "$(stat -c %Y "$S/openclaw.json")" ] || fail "rewritten file lost its mtime"

# ---- docker -> host ----
expect 0 "" "$CS" migrate --state "$T/d/config" --workspace "$T/d/workspace" --layout host \
	--home /home/hostuser --owner 1001:1001 --to "$T/back"
same_tree "$S" "$T/back" --skip-sqlite state/openclaw.sqlite --skip-sqlite state/paths.sqlite
dump_db "$S/state/paths.sqlite" >"$T/db.a"
dump_db "$T/back/state/paths.sqlite" >"$T/db.b"
cmp -s "$T/db.a" "$T/db.b" || { diff "$T/db.a" "$T/db.b" >&2; fail "paths.sqlite rows differ"; }
dump_db "$S/state/openclaw.sqlite" >"$T/db.a"
dump_db "$T/back/state/openclaw.sqlite" >"$T/db.b"
cmp -s "$T/db.a" "$T/db.b" || fail "openclaw.sqlite rows differ"
absent "$T/back.clawstate-old-0"

# ---- uid 1000 can use every file and dir of the docker layout ----
# (after the way back: the probe files change the dirs' mtimes)
as1000() { setpriv --reuid 1000 --regid 1000 --clear-groups "$@"; }
as1000 sh -c 'find "$1/config" "$1/workspace" -type f | while read -r f; do
	head -c 1 "$f" >/dev/null || echo "$f"; done' sh "$T/d" >"$T/unreadable" 2>&1
[ ! -s "$T/unreadable" ] || { head "$T/unreadable" >&2; fail "uid 1000 cannot read some files"; }
as1000 sh -c 'find "$1/config" "$1/workspace" -type d | while read -r d; do
	: >"$d/.probe-1000" && rm "$d/.probe-1000" || echo "$d"; done' sh "$T/d" >"$T/nowrite" 2>&1
[ ! -s "$T/nowrite" ] || { head "$T/nowrite" >&2; fail "uid 1000 cannot create files in some dirs"; }

# ---- an agent workspace outside the state dir is reported, not moved ----
cp -a "$S" "$T/outside"
sed -i 's#/home/hostuser/.openclaw/workspace-ops#/home/hostuser/projects/ops#' "$T/outside/openclaw.json"
expect 0 "config/openclaw.json: /home/node/projects/ops is outside the state dir /home/node/.openclaw: not moved with it" \
	"$CS" migrate --state "$T/outside" --from-home /home/hostuser --layout docker --to "$T/d3"

# ---- bad input: nothing written ----
cp -a "$S" "$T/bad"
printf '{ gateway: { port: 1 }\n  oops: [1, 2,, 3],\n}\n' >"$T/bad/openclaw.json"
expect 4 "openclaw.json: not valid JSON5 at line 2 column" \
	"$CS" migrate --state "$T/bad" --from-home /home/hostuser --layout docker --to "$T/d4"
absent "$T/d4"
expect 1 "uid 1001 is not mapped" \
	"$CS" migrate --state "$S" --layout docker --uid-map 5:6 --unmapped fail --to "$T/d5"
absent "$T/d5"
expect 2 "--home goes with --layout host" "$CS" migrate --state "$S" --layout docker --home /x --to "$T/d6"
expect 2 "missing --layout" "$CS" migrate --state "$S" --to "$T/d6"
expect 2 "--volumes: want" "$CS" migrate --state "$S" --layout docker --volumes workspace --to "$T/d6"
expect 2 "--container-home: want an absolute path" "$CS" migrate --state "$S" --layout docker --container-home rel --to "$T/d6"
absent "$T/d6"
