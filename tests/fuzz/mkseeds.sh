#!/bin/sh
# mkseeds.sh - rebuild the seed corpus tests/fuzz/corpus/<target>/ (make fuzz-seeds).
#
# backup, bheader, payload, manifest: real backups of a small fake state made
# with the committed fake key (tests/fuzz/fake.key) by `clawstate backup`
# (docker layout, so the manifest records /home/node, not a path of this
# machine), their headers, their decrypted payloads (fuzzseed unwrap) and
# manifests and zstd streams of them (fuzzseed zstd: two frames, a skippable
# frame, a 128 MiB window), plus hostile backups from tests/hostile/mkhostile and headers
# edited by hand (other slot counts, versions, flags).  json5: hand-written
# documents.  journal: canonical journals (fuzzseed journals).  sqlite: small
# databases made by python3's sqlite3.  Every value is fake.
#
# Needs CS (the clawstate binary), MKHOSTILE and FUZZSEED; python3, tar.
set -eu
: "${CS:?}" "${MKHOSTILE:?}" "${FUZZSEED:?}"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$REPO/tests/fuzz/corpus
W=$(mktemp -d "${TMPDIR:-/tmp}/clawstate-fuzzseeds.XXXXXX")
trap 'rm -rf "$W"' EXIT
unset CLAWSTATE_VAULT CLAWSTATE_PASSPHRASE_FILE CLAWSTATE_KEY_FILE OPENCLAW_STATE_DIR \
	OPENCLAW_HOME XDG_STATE_HOME CLAWSTATE_TEST_KILL_AT CLAWSTATE_TEST_COUNT \
	CLAWSTATE_TEST_EACCES
HOME=$W/home
LC_ALL=C
export HOME LC_ALL
mkdir -p "$HOME"
# Inputs named found-* are reproducers of fixed bugs, added by hand: kept.
for t in backup bheader payload manifest json5 journal sqlite; do
	mkdir -p "$OUT/$t"
	find "$OUT/$t" -type f ! -name 'found-*' -delete
done
KEY=$W/fake.key
cp "$REPO/tests/fuzz/fake.key" "$KEY"
chmod 600 "$KEY"

# ---- a small fake state: config volume $W/c, workspace volume $W/ws ----
C=$W/c
WS=$W/ws
mkdir -p "$C/credentials/whatsapp/default" "$C/agents/main/agent" "$C/agents/main/sessions" \
	"$C/state" "$C/private" "$C/n" "$WS/memory"
cat >"$C/openclaw.json" <<'EOF'
// fake OpenClaw config for the fuzz seeds
{
  agents: { defaults: { workspace: "/home/node/.openclaw/workspace", }, },
  gateway: { port: 18789, auth: { token: 'FAKE-TOKEN-0000' } },
  channels: { whatsapp: { authDir: "\/home\/node\/.openclaw\/credentials\/whatsapp" } },
  hooks: [ "/home/node/bin/hook", 0x1F, +Infinity, NaN, .5e-3, ],
}
EOF
printf 'OPENAI_API_KEY=sk-FAKE-0000\n' >"$C/.env"
printf '{"noiseKey":{"private":"RkFLRQ==","public":"RkFLRQ=="},"me":{"id":"000@s.whatsapp.net"}}\n' \
	>"$C/credentials/whatsapp/default/creds.json"
printf '{"default":"fake-model"}\n' >"$C/agents/main/agent/models.json"
printf '{"main":{"sessionFile":"/home/node/.openclaw/agents/main/sessions/s1.jsonl","cwd":"/home/node/.openclaw/workspace"}}\n' \
	>"$C/agents/main/sessions/sessions.json"
printf '{"type":"session","cwd":"/home/node/.openclaw/workspace"}\n{"role":"user","content":"fake"}\n' \
	>"$C/agents/main/sessions/s1.jsonl"
python3 - "$C/state/tiny.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
PRAGMA page_size = 512;
CREATE TABLE files (path TEXT, note TEXT, n INTEGER);
INSERT INTO files VALUES ('/home/node/.openclaw/workspace/a.md', 'fake', 1);
INSERT INTO files VALUES ('/home/node', NULL, 2);
""")
db.commit()
db.close()
EOF
: >"$C/empty"
ln -s openclaw.json "$C/link"
ln "$C/.env" "$C/hard"
printf 'fake\n' >"$C/private/x"
chmod 700 "$C/private"
printf 'caf\n' >"$C/n/$(printf 'caf\303\251')"
printf 'latin1\n' >"$C/n/$(printf '\377-latin1')"
printf '# fake notes\n' >"$WS/notes.md"
printf 'fake memory\n' >"$WS/memory/2024-05-01.md"
setfattr -n user.fuzz -v fake "$C/openclaw.json" 2>/dev/null || true
find "$C" "$WS" -exec touch -h -d '2024-05-01 10:00:00' {} +

backup() { # VAULT NAME STATE WORKSPACE [CRED...]
	_v=$1 _n=$2 _s=$3 _w=$4
	shift 4
	"$CS" backup --vault "$_v" "$@" --layout docker --state "$_s" --workspace "$_w" \
		--progress=none -o "$W/$_n" >/dev/null
}

"$CS" init --vault "$W/v" --key-file "$KEY" >/dev/null
backup "$W/v" full "$C" "$WS" --key-file "$KEY"
mkdir -p "$W/c0" "$W/ws0"
backup "$W/v" empty "$W/c0" "$W/ws0" --key-file "$KEY"
# More than one 64 KiB stream message: an incompressible file.
mkdir -p "$W/c2" "$W/ws2"
python3 -c 'import random,sys; r=random.Random(4); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(70000)))' \
	>"$W/c2/blob.bin"
backup "$W/v" multi "$W/c2" "$W/ws2" --key-file "$KEY"
# A database whose index disagrees with its table (rows /home/node/... in the
# index, /home/nxde/... in the table): a dry run with a layout refuses it.
mkdir -p "$W/c3/state" "$W/ws3"
python3 - "$W/c3/state/damaged.sqlite" <<'EOF2'
import sqlite3, sys
p = sys.argv[1]
db = sqlite3.connect(p)
db.executescript("PRAGMA page_size = 512; CREATE TABLE t (n INTEGER, path TEXT, note TEXT);"
                 "INSERT INTO t VALUES (1, '/home/node/a', 'x'), (2, '/home/node/b', 'y');"
                 "CREATE INDEX ti ON t(path);")
root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ti'").fetchone()[0]
db.executescript("PRAGMA writable_schema = ON; DELETE FROM sqlite_master WHERE name = 'ti';")
db.close()
db = sqlite3.connect(p)
db.executescript("UPDATE t SET path = replace(path, 'node', 'nxde');"
                 "PRAGMA writable_schema = ON; INSERT INTO sqlite_master VALUES "
                 "('index', 'ti', 't', %d, 'CREATE INDEX ti ON t(path)');" % root)
db.close()
EOF2
backup "$W/v" damaged-db "$W/c3" "$W/ws3" --key-file "$KEY"
# A passphrase slot (interactive Argon2 parameters): for the header target only.
printf 'fake passphrase\n' >"$W/passphrase.txt"
chmod 600 "$W/passphrase.txt"
"$CS" init --vault "$W/vp" --passphrase-file "$W/passphrase.txt" --kdf interactive >/dev/null
backup "$W/vp" pass "$W/c0" "$W/ws0" --passphrase-file "$W/passphrase.txt"

for b in full empty multi damaged-db; do
	cp "$W/$b" "$OUT/backup/$b.backup"
	"$FUZZSEED" unwrap "$KEY" "$W/$b" "$OUT/payload/$b.tar"
	tar --warning=no-unknown-keyword -xOf "$OUT/payload/$b.tar" .clawstate-manifest.ndjson >"$OUT/manifest/$b.ndjson"
done
# The raw compressed-stream mode of fuzz_payload: frames around the small payload.
"$FUZZSEED" zstd "$OUT/payload/full.tar" "$OUT/payload/full"
"$FUZZSEED" zstd "$OUT/payload/empty.tar" "$OUT/payload/empty"
rm -f "$OUT/payload/empty-window27.zst" "$OUT/payload/empty-skippable.zst"
head -c 300 "$W/full" >"$OUT/backup/cut-header.backup"
head -c 1200 "$W/full" >"$OUT/backup/cut-stream.backup"

# Hostile backups: the cases that are small and reach different checks.
mkdir -p "$W/h"
for c in good good_names good_mtime_extreme dotdot symlink_then_file hardlink_outside \
	dup_file member_fifo extra_member_mid reordered size_bigger type_file_as_symlink \
	symlink_target_differs content_differs huge_member_size huge_pax_header \
	entries_claim_more no_newline manifest_cut_short manifest_not_first dup_key \
	json_bomb xattr_too_many nul_escape; do
	"$MKHOSTILE" "$KEY" /srv/outside "$c" "$W/h/$c"
	"$FUZZSEED" unwrap "$KEY" "$W/h/$c" "$W/h/$c.tar" || continue
	[ "$(wc -c <"$W/h/$c.tar")" -le 65536 ] || continue
	cp "$W/h/$c.tar" "$OUT/payload/hostile-$c.tar"
	tar --warning=no-unknown-keyword -xOf "$W/h/$c.tar" .clawstate-manifest.ndjson >"$OUT/manifest/hostile-$c.ndjson" \
		2>/dev/null || rm -f "$OUT/manifest/hostile-$c.ndjson"
done
cp "$W/h/good" "$OUT/backup/hostile-good.backup"
cp "$W/h/content_differs" "$OUT/backup/hostile-content_differs.backup"
find "$OUT/manifest" -size 0 -delete

# ---- headers: real ones, and edits the target's checksum fix lets through ----
python3 - "$W/full" "$W/pass" "$OUT/bheader" <<'EOF'
import hashlib, struct, sys
full = open(sys.argv[1], "rb").read()
pw = open(sys.argv[2], "rb").read()
out = sys.argv[3]
def hlen(b): return struct.unpack(">I", b[12:16])[0]
def seal(body):  # body without the checksum; fixes the length field, adds the checksum
    body = bytearray(body)
    body[12:16] = struct.pack(">I", len(body) + 32)
    return bytes(body) + hashlib.blake2b(bytes(body), digest_size=32).digest()
def write(name, data): open("%s/%s" % (out, name), "wb").write(data)
kf, pp = full[:hlen(full)], pw[:hlen(pw)]
FIXED, SLOT = 53, 208
write("keyfile.hdr", kf)
write("passphrase.hdr", pp)
write("keyfile-with-stream.hdr", full[:hlen(full) + 64])
tail = kf[FIXED + SLOT:-32]                  # sealed key + secretstream header
def slots(base, ss):
    b = bytearray(base[:FIXED]); b[52] = len(ss)
    return seal(bytes(b) + b"".join(ss) + tail)
ks, ps = kf[FIXED:FIXED + SLOT], pp[FIXED:FIXED + SLOT]
write("two-slots.hdr", slots(kf, [ps, ks]))
write("32-slots.hdr", slots(kf, [ks] * 32))
write("33-slots.hdr", slots(kf, [ks] * 33))
write("4-passphrase-slots.hdr", slots(kf, [ps] * 4 + [ks]))
v2 = bytearray(kf); v2[8:10] = b"\x00\x02"; write("version-2.hdr", bytes(v2))
v0 = bytearray(kf); v0[8:10] = b"\x00\x00"; write("version-0.hdr", bytes(v0))
fl = bytearray(kf); fl[10:12] = b"\x00\x01"; write("flags.hdr", bytes(fl))
big = bytearray(kf); big[12:16] = struct.pack(">I", 65537); write("length-too-big.hdr", bytes(big))
res = bytearray(kf); res[FIXED + 6] = 1; write("slot-reserved.hdr", seal(bytes(res[:-32])))
mem = bytearray(pp); mem[FIXED + 16:FIXED + 24] = struct.pack(">Q", (1 << 30) + 1)
write("argon-memory.hdr", seal(bytes(mem[:-32])))
ops = bytearray(pp); ops[FIXED + 8:FIXED + 16] = struct.pack(">Q", 17)
write("argon-passes.hdr", seal(bytes(ops[:-32])))
write("magic-only.hdr", kf[:8])
EOF

# ---- manifests: edge lines by hand ----
H='{"clawstate_manifest":1,"tool":"clawstate 0.1.0","format":1,"vault_id":"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a","seq":7,"tag":"fake","started":{"sec":1700000000,"nsec":1},"finished":{"sec":1700000001,"nsec":2},"state_dir":"/home/node/.openclaw","home":"/home/node","layout":"docker","uid":1000,"gid":1000,"root_mode":448,"root_mtime":{"sec":1700000000,"nsec":0},"entries":3,"files":1,"bytes":5,"partial":false}'
{
	echo "$H"
	echo '{"path_b64":"/w==","type":"dir","mode":448,"uid":0,"gid":0,"mtime":{"sec":-1,"nsec":999999999},"size":0,"class":"other"}'
	echo '{"path":"\u00ff/x","type":"file","mode":384,"uid":4294967295,"gid":0,"mtime":{"sec":9007199254740991,"nsec":0},"size":5,"blake2b":"0000000000000000000000000000000000000000000000000000000000000000","class":"secret","sqlite":true,"xattrs":{"user.a":"ZmFrZQ==","b64:dXNlci5i":""}}'
	echo '{"path":"l","type":"symlink","mode":511,"uid":0,"gid":0,"mtime":{"sec":0,"nsec":0},"size":0,"target_b64":"L2hvbWUvbm9kZQ==","class":"config"}'
} >"$OUT/manifest/edge.ndjson"
printf '%s\n' "$H" >"$OUT/manifest/header-only.ndjson"
printf '%s' "$H" | sed 's/"clawstate_manifest":1/"clawstate_manifest":2/' >"$OUT/manifest/version-2.ndjson"

# ---- JSON5 documents ----
J=$OUT/json5
cp "$C/openclaw.json" "$J/config.json5"
cp "$C/agents/main/sessions/sessions.json" "$J/sessions.json"
cp "$C/agents/main/sessions/s1.jsonl" "$J/transcript.jsonl"
printf '{"a":"/old/x","b":["/old","/older","\\/old\\/y"],"/old":"key stays"}' >"$J/swap.json"
printf "{a: '/home/alice/.openclaw/x', b: \"/home/alice\", c: '/srv/data/z', d: \"/home/alicex\"}" \
	>"$J/move.json5"
printf '{\n  // line comment\n  /* block\n comment */ "k": "v\\\n continued",\n  u: "\\u0041\\uD83D\\uDE00\\x41\\0",\n  s: '"'"'it\\'"'"'s'"'"',\n}\n' \
	>"$J/escapes.json5"
printf '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]' >"$J/nested.json"
printf '{"cwd":"/home/alice/.openclaw/workspace","x":{"cwd":"/home/alice"}}\n{"cwd":"/home/alice"}\n' \
	>"$J/cwd.jsonl"
printf '{"agents":{"defaults":{"workspace":"/home/alice/w"},"defaults":{"workspace":"\\/srv\\/data\\/w"}}}' \
	>"$J/get.json"
printf '\357\273\277{\342\200\250a\302\240:\3431\343\200\200}' >"$J/unicode-space.json5"
printf '{"a": "unterminated' >"$J/bad-unterminated.json"
printf '' >"$J/empty.json"

# ---- journals ----
"$FUZZSEED" journals "$OUT/journal"
head -c 120 "$OUT/journal/journal-full.txt" >"$OUT/journal/torn.txt"

# ---- SQLite databases ----
python3 - "$OUT/sqlite" <<'EOF'
import os, sqlite3, sys
out = sys.argv[1]
def make(name, script):
    path = os.path.join(out, name)
    db = sqlite3.connect(path)
    db.executescript("PRAGMA page_size = 512;" + script)
    db.commit()
    db.close()
make("plain.sqlite", """
CREATE TABLE t (path TEXT, n INTEGER, b BLOB);
INSERT INTO t VALUES ('/home/alice/.openclaw/x', 1, x'2f686f6d65');
INSERT INTO t VALUES ('/home/alice', 2, NULL);
INSERT INTO t VALUES ('/home/alicex', 3, NULL);""")
make("index-trigger.sqlite", """
CREATE TABLE t (id INTEGER PRIMARY KEY, path TEXT UNIQUE);
CREATE TABLE log (msg TEXT);
CREATE INDEX ti ON t(path);
CREATE TRIGGER tu AFTER UPDATE ON t BEGIN INSERT INTO log VALUES (new.path); END;
CREATE VIEW v AS SELECT path FROM t;
INSERT INTO t (path) VALUES ('/home/alice/a'), ('/home/alice/b');""")
make("without-rowid.sqlite", """
CREATE TABLE k (path TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
CREATE TABLE g (a TEXT, b TEXT GENERATED ALWAYS AS (a || '/x') VIRTUAL);
INSERT INTO k VALUES ('/home/alice/k', '/home/alice/v');
INSERT INTO g (a) VALUES ('/home/alice');""")
try:
    make("fts5.sqlite", """
CREATE VIRTUAL TABLE f USING fts5(body);
INSERT INTO f VALUES ('/home/alice/.openclaw/notes');""")
except sqlite3.OperationalError:
    pass
make("quoted-names.sqlite", """
CREATE TABLE "we""ird ta.ble" ("co""l" TEXT, [x y] TEXT);
INSERT INTO "we""ird ta.ble" VALUES ('/home/alice/q', '/home/alice');""")
wal = os.path.join(out, "wal.sqlite")
db = sqlite3.connect(wal)
db.executescript("PRAGMA page_size = 512; PRAGMA journal_mode = WAL;"
                 "CREATE TABLE t (p TEXT); INSERT INTO t VALUES ('/home/alice/w');")
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
for f in os.listdir(out):
    if f.endswith(("-wal", "-shm", "-journal")):
        os.remove(os.path.join(out, f))
EOF
cp "$C/state/tiny.sqlite" "$OUT/sqlite/tiny.sqlite"

for t in backup bheader payload manifest json5 journal sqlite; do
	printf '%-9s %3d files, %7d bytes\n' "$t" "$(ls "$OUT/$t" | wc -l)" \
		"$(cat "$OUT/$t"/* | wc -c)"
done
