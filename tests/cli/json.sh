#!/bin/sh
# --json prints exactly one JSON document with the documented fields; names
# that are not UTF-8 come base64-encoded as path_b64 (escaped in human ls);
# --progress=json makes stderr NDJSON ending in a result event; --progress=tty
# draws a bar even off a terminal, --progress=none prints no progress at all.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 30 --media-mb 0.5
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S" --tag "first one" --json
"$PY" - "$T/out" <<'PYEOF' || fail "snapshot --json"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("seq", "entries", "files", "files_read", "files_reused", "bytes_read", "bytes_new", "chunks_new", "skipped"):
    assert isinstance(d[k], int), (k, d.get(k))
assert d["seq"] == 1 and d["files"] > 30 and d["files_read"] == d["files"] and d["bytes_read"] > 500000, d
assert d["entries"] > d["files"], d
PYEOF
expect 0 "" "$CS" snapshot --state "$S"
out_has "snapshot 2:"
expect 0 "" "$CS" snapshots --json
"$PY" - "$T/out" "$S" "$(dirname "$S")" <<'PYEOF' || fail "snapshots --json"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert len(d["vault_id"]) == 32, d
s = d["snapshots"]
assert [x["seq"] for x in s] == [1, 2], s
for x in s:
    for k in ("seq", "started", "finished", "tag", "state_dir", "home", "layout", "uid", "gid", "entries", "files", "bytes", "partial"):
        assert k in x, (k, x)
    assert x["state_dir"] == os.path.realpath(sys.argv[2]), x["state_dir"]
    assert x["home"] == sys.argv[3], x["home"]  # the parent of a dir named .openclaw
    assert x["layout"] == "host" and x["partial"] is False
    assert x["finished"]["sec"] >= x["started"]["sec"] > 1600000000
    st = os.stat(sys.argv[2])
    assert (x["uid"], x["gid"]) == (st.st_uid, st.st_gid), x
assert s[0]["tag"] == "first one", s[0]
PYEOF
expect 0 "" "$CS" snapshots
out_has "first one"
expect 0 "" "$CS" ls 1 --json
"$PY" - "$T/out" "$S" <<'PYEOF' || fail "ls --json"
import base64, json, os, sys
d = json.load(open(sys.argv[1]))
assert d["seq"] == 1
paths = set()
for e in d["entries"]:
    if "path_b64" in e:
        assert "path" not in e
        paths.add(base64.b64decode(e["path_b64"]))
    else:
        paths.add(e["path"].encode())
assert b"workspace/raw-\xff\xfe-name.bin" in paths, "no path_b64 entry for the invalid name"
assert "workspace/caf\u00e9-na\u00efve.md".encode() in paths
byp = {(e.get("path") or "").encode(): e for e in d["entries"]}
c = byp[b"credentials/whatsapp/default/creds.json"]
assert c["type"] == "file" and c["mode"] == 0o600 and len(c["blake2b"]) == 64 and c["class"] == "secret", c
assert byp[b"workspace/today.md"]["type"] == "symlink" and byp[b"workspace/today.md"]["target"] == "memory/2024-05-01.md"
db = byp[b"state/openclaw.sqlite"]
assert db.get("sqlite") is True, db
assert b"state/openclaw.sqlite-wal" not in paths
kinds = {e["type"] for e in d["entries"]}
assert kinds >= {"file", "dir", "symlink", "hardlink"}, kinds
m = byp.get(b"workspace/MEMORY.md")
if os.listxattr(os.path.join(sys.argv[2], "workspace/MEMORY.md")):
    assert base64.b64decode(m["xattrs"]["user.openclaw.pinned"]) == b"yes", m
# every entry of the tree is listed (the DB siblings aside)
want = set()
for dp, dn, fn in os.walk(os.fsencode(sys.argv[2])):
    for n in dn + fn:
        want.add(os.path.relpath(os.path.join(dp, n), os.fsencode(sys.argv[2])))
want = {w for w in want if not w.endswith((b"-wal", b"-shm"))}
assert want <= paths, sorted(want - paths)[:5]
PYEOF
expect 0 "" "$CS" ls
grep -qF 'workspace/raw-\xff\xfe-name.bin' "$T/out" || fail "human ls does not escape the invalid name"
grep -qF 'today.md -> memory/2024-05-01.md' "$T/out" || fail "human ls lacks the symlink target"
expect 1 "" "$CS" ls 7
# --progress=json: every stderr line is a JSON event; the last is the result.
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst" --progress=json
"$PY" - "$T/err" <<'PYEOF' || fail "--progress=json"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert ev and ev[-1]["event"] == "result" and ev[-1]["ok"] is True and ev[-1]["exit"] == 0, ev[-1:]
assert ev[-1]["bytes_out"] > 0
for e in ev[:-1]:
    assert e["event"] in ("progress", "warning", "message"), e
    if e["event"] == "progress":
        assert isinstance(e["phase"], str) and isinstance(e["done"], int) and isinstance(e["total"], int), e
PYEOF
printf 'junk junk junk junk junk junk\n' >"$T/junk.cst"
expect 4 "" "$CS" verify "$T/junk.cst" --progress=json
"$PY" - "$T/err" <<'PYEOF' || fail "--progress=json error result"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = ev[-1]
assert r["event"] == "result" and r["ok"] is False and r["exit"] == 4 and r["error"]["what"], r
PYEOF
# tty: a bar (carriage returns, "[###...]") although stderr is a file here.
expect 0 "" "$CS" backup --snapshot latest -o "$T/b2.cst" --progress=tty
grep -q "$(printf '\r')" "$T/err" || fail "--progress=tty drew no bar"
# none (also the default off a terminal): stderr stays empty, stdout as usual.
for m in "--progress=none" ""; do
	expect 0 "" "$CS" verify "$T/b.cst" $m
	out_has "backup ok"
	[ -s "$T/err" ] && { cat "$T/err"; fail "progress output with '$m'"; }
	expect 0 "" "$CS" backup --snapshot latest -o "$T/b2.cst" --force $m
	grep -q "backup written" "$T/out" || fail "no backup summary with '$m'"
	[ -s "$T/err" ] && { cat "$T/err"; fail "progress output with '$m'"; }
done
exit 0
