#!/bin/sh
# snapshot and backup --state of a docker-layout source (--layout docker: the
# config volume as --state, the workspace and media volumes beside it) record
# one state: the same entries as a host snapshot of the merged tree, the
# container's paths (layout docker, <container home>/.openclaw), and a restore
# without --layout gives the merged tree back.  Problems inside a volume are
# named by their path in the state (workspace/...); a live SQLite database in
# the workspace volume is captured consistently; wrong option combinations are
# usage errors.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 20 --media-mb 0.2
mkvault "$T/vault" "$T/key"

# The docker volumes, split by hand: config is everything but workspace/ (an
# empty workspace/ left as the mount point), the workspace volume its subtree.
D=$T/docker
mkdir -p "$D"
cp -a "$S" "$D/config" || fail "copy of the state"
rm -rf "$D/config/workspace"
mkdir "$D/config/workspace"
cp -a "$S/workspace" "$D/workspace" || fail "copy of the workspace"
touch -r "$S" "$D/config"
# And with media/ split out too: no mount point left for it at all.
D2=$T/docker2
mkdir -p "$D2"
cp -a "$D/config" "$D2/config" && cp -a "$D/workspace" "$D2/workspace" || fail "copy"
rm -rf "$D2/config/media"
cp -a "$S/media" "$D2/media" || fail "copy of the media"
touch -r "$S" "$D2/config"
# A copy for backup --state: opening the WAL database leaves a -shm in state/,
# so a second snapshot of the same volume sees another mtime of state/.
cp -a "$D2" "$T/docker3" || fail "copy"
# Inside the container the workspace volume is mounted at config/workspace.
mkdir -p "$T/inplace"
cp -a "$S" "$T/inplace/config" || fail "copy"

# entries SEQ FILE: the entry list of a snapshot, as JSON.
entries() {
	expect 0 "" "$CS" ls "$1" --json
	json "$T/out" 'json.dumps(d["entries"], sort_keys=True)' >"$2"
}
# last KEY: that field of the newest snapshot.
last() {
	expect 0 "" "$CS" snapshots --json >/dev/null
	json "$T/out" "d['snapshots'][-1]['$1']"
}

expect 0 "" "$CS" snapshot --state "$S"
entries 1 "$T/host.json"
[ "$(last layout)" = host ] || fail "host snapshot not recorded as host"
[ "$(last state_dir)" = "$S" ] || fail "host snapshot state dir: $(last state_dir)"
# A state dir named .openclaw names its home itself (whoever runs the snapshot).
[ "$(last home)" = "$(dirname "$S")" ] || fail "host snapshot home: $(last home)"

expect 0 "" "$CS" snapshot --layout docker --state "$D/config" --workspace "$D/workspace" --json
[ "$(json "$T/out" 'd["seq"]')" = 2 ] || fail "docker snapshot is not seq 2"
entries 2 "$T/docker.json"
cmp -s "$T/host.json" "$T/docker.json" || fail "docker entries differ from the host ones"
n=$(json "$T/out" 'len(d["entries"])')
note "docker snapshot: the same $n entries as the host snapshot"
[ "$(last layout)" = docker ] || fail "layout: $(last layout)"
[ "$(last state_dir)" = /home/node/.openclaw ] || fail "state_dir: $(last state_dir)"
[ "$(last home)" = /home/node ] || fail "home: $(last home)"
[ "$(last partial)" = False ] || fail "docker snapshot partial"
[ "$(last uid):$(last gid)" = "$(stat -c %u:%g "$D/config")" ] || fail "uid:gid not the config volume's"

expect 0 "" "$CS" snapshot --layout docker --state "$D2/config" --workspace "$D2/workspace" \
	--media "$D2/media" --container-home /home/openclaw
entries 3 "$T/docker2.json"
cmp -s "$T/host.json" "$T/docker2.json" || fail "docker entries (media split) differ from the host ones"
[ "$(last layout)" = docker ] || fail "layout: $(last layout)"
[ "$(last state_dir)" = /home/openclaw/.openclaw ] || fail "state_dir: $(last state_dir)"
[ "$(last home)" = /home/openclaw ] || fail "home: $(last home)"

# Restored as recorded (no --layout): the merged tree, exactly.
expect 0 "" "$CS" restore --snapshot 1 --to "$T/r1"
expect 0 "" "$CS" restore --snapshot 2 --to "$T/r2"
expect 0 "" "$CS" restore --snapshot 3 --to "$T/r3"
same_tree "$T/r1" "$T/r2"
same_tree "$T/r1" "$T/r3"
same_tree "$S" "$T/r2" --no-dir-mtime --skip-sqlite state/openclaw.sqlite

# backup --state of the docker source: the same round trip through a file.
D3=$T/docker3
expect 0 "" "$CS" backup --state "$D3/config" --layout docker --workspace "$D3/workspace" \
	--media "$D3/media" -o "$T/b.cst"
out_has "backup written: $T/b.cst (snapshot 4"
[ "$(last layout)" = docker ] || fail "backup --state: layout $(last layout)"
[ "$(last state_dir)" = /home/node/.openclaw ] || fail "backup --state: state_dir $(last state_dir)"
expect 0 "" "$CS" verify "$T/b.cst"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/rb"
same_tree "$T/r1" "$T/rb"

# An unreadable file inside the workspace volume: named by its path in the state.
expect 3 "workspace/SOUL.md" env CLAWSTATE_TEST_EACCES=SOUL.md "$CS" snapshot --layout docker \
	--state "$D/config" --workspace "$D/workspace"
[ "$(last partial)" = True ] || fail "snapshot with an unreadable file not partial"
expect 3 "workspace/SOUL.md" env CLAWSTATE_TEST_EACCES=SOUL.md "$CS" backup --layout docker \
	--state "$D/config" --workspace "$D/workspace" -o "$T/b2.cst"

# The same for real, as uid 1001 (root reads any file).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	U=$T/u
	mkdir -p "$U/home"
	cp -a "$D" "$U/d" || fail "copy"
	chown -R 1001:1001 "$U"
	chmod 000 "$U/d/workspace/SOUL.md"
	as1001() { setpriv --reuid 1001 --regid 1001 --clear-groups env HOME="$U/home" "$@"; }
	expect 0 "" as1001 "$CS" init --vault "$U/vault" --key-file "$U/key"
	expect 3 "workspace/SOUL.md: cannot open: Permission denied" as1001 "$CS" snapshot \
		--vault "$U/vault" --key-file "$U/key" --layout docker --state "$U/d/config" \
		--workspace "$U/d/workspace"
else
	note "not root or no setpriv: the real-permission part not run"
fi

# A mount inside the workspace volume is reported and not crossed.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs none '$T/probe'" 2>/dev/null; then
	mkdir -p "$D/workspace/nas"
	cat >"$T/inside.sh" <<EOS
mount -t tmpfs none '$D/workspace/nas' || exit 99
echo hidden >'$D/workspace/nas/on-the-mount'
'$CS' snapshot --layout docker --state '$D/config' --workspace '$D/workspace' >'$T/m.out' 2>'$T/m.err'
echo \$? >'$T/m.rc'
EOS
	unshare -m sh "$T/inside.sh" || fail "namespace script failed"
	[ "$(cat "$T/m.rc")" = 3 ] || { cat "$T/m.err"; fail "mount in the workspace: exit $(cat "$T/m.rc")"; }
	grep -qF "workspace/nas: mount point, not crossed" "$T/m.err" || fail "mount not named: $(cat "$T/m.err")"
	expect 0 "" "$CS" ls latest
	grep -q on-the-mount "$T/out" && fail "the mount in the workspace was crossed"
	echo "ok a mount inside the workspace volume is reported as workspace/nas"
	rmdir "$D/workspace/nas"
else
	note "no private mount namespace here: mount-inside-the-volume part not run"
fi

# A live SQLite database inside the workspace volume: captured through SQLite
# by its own path, consistent, with every row committed before the snapshot.
mkdir -p "$D/workspace/data"
"$PY" "$TESTS/sqlite_writer.py" "$D/workspace/data/live.sqlite" "$T/rows.log" --interval 0.001 &
W=$!
trap 'kill_job $W' EXIT
i=0
while [ "$(cat "$T/rows.log" 2>/dev/null | wc -l)" -lt 20 ]; do
	i=$((i + 1))
	[ $i -lt 500 ] || fail "sqlite_writer.py did not start"
	sleep 0.01
done
rows=$(tail -n 1 "$T/rows.log")
expect 0 "" "$CS" snapshot --layout docker --state "$D/config" --workspace "$D/workspace"
kill_job $W
trap - EXIT
expect 0 "" "$CS" ls latest --json
[ "$(json "$T/out" '[(e.get("sqlite"), e["class"]) for e in d["entries"] if e.get("path") == "workspace/data/live.sqlite"]')" = "[(True, 'database')]" ] ||
	fail "workspace/data/live.sqlite not captured as a database"
[ "$(json "$T/out" 'len([e for e in d["entries"] if e.get("path", "").startswith("workspace/data/live.sqlite-")])')" = 0 ] ||
	fail "the database's side files were stored"
expect 0 "" "$CS" restore --snapshot latest --to "$T/rdb"
"$PY" - "$T/rdb/workspace/data/live.sqlite" "$rows" <<'EOF' || fail "the captured database is not consistent"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
have = db.execute("SELECT count(*) FROM rows WHERE id <= ?", (int(sys.argv[2]),)).fetchone()[0]
print("# integrity %s, %d of the %s rows committed before" % (ok, have, sys.argv[2]))
sys.exit(0 if ok == "ok" and have == int(sys.argv[2]) else 1)
EOF

# Naming the volume at its mount point in the config volume is the same graft:
# allowed.
expect 0 "" "$CS" snapshot --layout docker --state "$T/inplace/config" --workspace "$T/inplace/config/workspace"
entries latest "$T/inplace.json"
cmp -s "$T/host.json" "$T/inplace.json" || fail "in-place workspace: entries differ"

# Usage errors: exit 2 before the vault is touched; no snapshot added.
expect 0 "" "$CS" snapshots --json
count=$(json "$T/out" 'len(d["snapshots"])')
C=$D/config
WS=$D/workspace
for cmd in snapshot "backup -o $T/never.cst"; do
	# shellcheck disable=SC2086
	expect 2 "--workspace needs --layout docker" "$CS" $cmd --state "$C" --workspace "$WS"
	expect 2 "--media needs --layout docker" "$CS" $cmd --state "$C" --layout host --media "$WS"
	expect 2 "--container-home needs --layout docker" "$CS" $cmd --state "$C" --container-home /home/node
	expect 2 "--layout docker needs --workspace DIR" "$CS" $cmd --state "$C" --layout docker
	expect 2 "--layout docker needs --workspace DIR" "$CS" $cmd --state "$C" --layout docker --media "$WS"
	expect 2 "--layout docker needs --state DIR" "$CS" $cmd --layout docker --workspace "$WS"
	expect 2 "--container-home must be an absolute path: 'home/node'" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$WS" --container-home home/node
	expect 2 "--container-home must not end in '/'" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$WS" --container-home /home/node/
	expect 2 "--container-home must not end in '/'" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$WS" --container-home /home/../node
	expect 2 "unknown layout 'podman' (host or docker)" "$CS" $cmd --state "$C" --layout podman
	expect 2 "must not contain each other" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$C/agents"
	expect 2 "must not contain each other" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$WS" --media "$WS/memory"
	expect 2 "must not contain each other" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$T/vault"
	expect 1 "no such workspace dir" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$T/nowhere"
	expect 1 "no such media dir" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$WS" --media "$T/nowhere"
	expect 1 "workspace dir: not a directory" \
		"$CS" $cmd --state "$C" --layout docker --workspace "$C/openclaw.json"
done
expect 2 "apply to a fresh snapshot (--state), not to --snapshot" \
	"$CS" backup --snapshot latest --layout docker --workspace "$WS" -o "$T/never.cst"
expect 2 "apply to a fresh snapshot (--state), not to --snapshot" \
	"$CS" backup --snapshot latest --container-home /home/node -o "$T/never.cst"
[ -e "$T/never.cst" ] && fail "a refused backup wrote its file"
expect 0 "" "$CS" snapshots --json
[ "$(json "$T/out" 'len(d["snapshots"])')" = "$count" ] || fail "a refused command added a snapshot"
exit 0
