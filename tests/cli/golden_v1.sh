#!/bin/sh
# The golden v1 fixtures (tests/fixtures/v1/, made by make-v1.sh with the
# release that wrote vault schema 1 / backup format 1) still open: the backup
# verifies and restores to the recorded tree (tree.digest: content, types,
# modes, mtimes in ns incl. dirs and the root, hardlinks, symlink, user.*
# xattrs, owners when root); its SQLite database passes integrity_check and
# holds the recorded rows; the vault verifies, lists the recorded snapshot and
# entries, restores the same tree, and takes a new snapshot (a write to an old
# vault) that verifies and restores too.
. "$TESTS/lib.sh"
G=$TESTS/fixtures/v1
DB=state/openclaw.sqlite
for x in key.golden backup-v1.golden tree.digest db.rows snapshots.json ls.json; do
	[ -f "$G/$x" ] || fail "missing fixture $G/$x"
done
# git keeps no 0600: use a private copy of the key (a group-readable key warns).
KEY=$T/key
cp "$G/key.golden" "$KEY"
chmod 600 "$KEY"
[ "$(od -An -tx1 "$KEY" | tr -d ' \n')" = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f ] ||
	fail "key.golden is not the fixture key 0x00..0x1f"
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1

# same_as_golden DIR [--no-owner]: DIR's digest equals tree.digest (owners
# masked out with --no-owner: a non-root restore cannot keep them).
same_as_golden() {
	_d=$1
	shift
	digest "$_d" --skip-sqlite "$DB" "$@" >"$T/digest.got" || fail "digest of $_d"
	if [ "${1:-}" = --no-owner ]; then
		"$PY" - "$G/tree.digest" >"$T/digest.want" <<'PYEOF' || fail "masking owners"
import re, sys
# path type mode uid gid rest...; the path is a bytes repr and may hold spaces.
pat = re.compile(r"""^(b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*") (\S+) (\S+) (\S+) (\S+) (.*)$""")
for line in open(sys.argv[1], encoding="ascii"):
    m = pat.match(line.rstrip("\n"))
    assert m, line
    print("%s %s %s - - %s" % (m.group(1), m.group(2), m.group(3), m.group(6)))
PYEOF
	else
		cp "$G/tree.digest" "$T/digest.want"
	fi
	if ! cmp -s "$T/digest.want" "$T/digest.got"; then
		diff "$T/digest.want" "$T/digest.got" | head -n 30 >&2
		fail "$_d differs from the golden tree $*"
	fi
	echo "ok $_d equals tree.digest $*"
	for _x in -wal -shm -journal; do
		[ -e "$_d/$DB$_x" ] && fail "restore left $DB$_x"
	done
	"$PY" - "$_d/$DB" "$G/db.rows" <<'PYEOF' || fail "database in $_d"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
ok = db.execute("PRAGMA integrity_check").fetchall()
assert ok == [("ok",)], ok
rows = []
for r in db.execute("SELECT id, key, updated, hex(data), typeof(data) FROM sessions ORDER BY id"):
    rows.append("sessions|" + "|".join("NULL" if x is None else str(x) for x in r))
for r in db.execute("SELECT k, v FROM kv ORDER BY k"):
    rows.append("kv|" + "|".join(r))
want = open(sys.argv[2], encoding="utf-8").read().splitlines()
assert rows == want, (rows, want)
print("ok database: integrity ok, %d rows as recorded" % len(rows))
PYEOF
}

# json_matches GOT WANT: every field WANT records is in GOT with the same value
# (fields a later release adds are allowed); lists must match element by element.
json_matches() {
	"$PY" - "$1" "$2" <<'PYEOF' || fail "$1 does not match $2"
import json, sys
got, want = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
def cmp(g, w, where):
    if isinstance(w, dict):
        assert isinstance(g, dict), where
        for k in w:
            assert k in g, "%s: field %r missing" % (where, k)
            cmp(g[k], w[k], "%s.%s" % (where, k))
    elif isinstance(w, list):
        assert isinstance(g, list) and len(g) == len(w), "%s: %d items, want %d" % (where, len(g), len(w))
        for i, (a, b) in enumerate(zip(g, w)):
            cmp(a, b, "%s[%d]" % (where, i))
    else:
        assert g == w and type(g) == type(w), "%s: %r, want %r" % (where, g, w)
cmp(got, want, "$")
print("ok %s matches %s" % tuple(sys.argv[1:3]))
PYEOF
}

VID=$(json "$G/snapshots.json" 'd["vault_id"]')

# --- the backup file ------------------------------------------------------------------------
"$PY" - "$G/backup-v1.golden" "$VID" <<'PYEOF' || fail "backup header"
import sys
h = open(sys.argv[1], "rb").read(53)
assert h[:8] == b"CLAWSTB\0", h[:8]
assert int.from_bytes(h[8:10], "big") == 1, "format version %d" % int.from_bytes(h[8:10], "big")
assert h[16:32].hex() == sys.argv[2], "header vault id %s" % h[16:32].hex()
assert int.from_bytes(h[32:40], "big") == 1, "seq"
print("ok backup header: format 1, vault %s, snapshot 1" % sys.argv[2])
PYEOF
expect 0 "" "$CS" verify "$G/backup-v1.golden" --key-file "$KEY"
out_has "backup ok: snapshot 1, 22 entries, 13 files, 5.1 MiB verified"
head -c 32 /dev/zero >"$T/zero.key"
chmod 600 "$T/zero.key"
expect 5 "wrong passphrase or key file" "$CS" verify "$G/backup-v1.golden" --key-file "$T/zero.key"

# Restores need user.* xattrs (workspace/MEMORY.md carries one).
: >"$T/xattr-probe"
if ! "$PY" -c 'import os,sys; os.setxattr(sys.argv[1], "user.probe", b"1")' "$T/xattr-probe" 2>/dev/null; then
	skip "the filesystem of $T keeps no user.* xattrs; the golden restores need them (verify passed)"
fi
OWN=
[ "$ROOT" = 1 ] || OWN=--no-owner

expect 0 "" "$CS" restore "$G/backup-v1.golden" --key-file "$KEY" --to "$T/r"
out_has "restored snapshot 1 to $T/r: 22 entries, 13 files"
no_stage "$T/r"
same_as_golden "$T/r" $OWN

# As root, also restore as a user (uid 1001): the owners are not applied.
if [ "$ROOT" = 1 ] && command -v setpriv >/dev/null 2>&1; then
	N=$T/nr
	mkdir -p "$N"
	cp "$G/backup-v1.golden" "$N/b"
	cp "$KEY" "$N/key"
	chown -R 1001:1001 "$N"
	expect 0 "" setpriv --reuid 1001 --regid 1001 --clear-groups \
		"$CS" restore "$N/b" --key-file "$N/key" --to "$N/r"
	out_has "note: not root, so the recorded owners (0:0) were not applied"
	same_as_golden "$N/r" --no-owner
	bad=$(find "$N/r" \( ! -uid 1001 -o ! -gid 1001 \) | head -n 3)
	[ -z "$bad" ] || fail "non-root restore: not owned by the user: $bad"
else
	note "not root: the restore as another user is skipped"
fi

# --- the vault ------------------------------------------------------------------------------
V=$T/v
mkdir "$V"
if [ -f "$G/vault-v1.tar.zst" ]; then
	zstd -dc "$G/vault-v1.tar.zst" | tar -xpf - -C "$V" || fail "untar the golden vault"
else
	tar -xpf "$G/vault-v1.tar" -C "$V" || fail "untar the golden vault"
fi
[ -f "$V/data.mdb" ] || fail "the golden vault has no data.mdb"
expect 0 "" "$CS" verify --vault "$V" --key-file "$KEY"
out_has "vault ok: 1 snapshot, 22 entries, 13 chunks, 5.1 MiB verified"
expect 0 "" "$CS" snapshots --vault "$V" --key-file "$KEY" --json
cp "$T/out" "$T/snapshots.json"
json_matches "$T/snapshots.json" "$G/snapshots.json"
[ "$(json "$T/snapshots.json" '[s["seq"] for s in d["snapshots"]]')" = "[1]" ] || fail "snapshot seqs"
[ "$(json "$T/snapshots.json" 'd["snapshots"][0]["state_dir"]')" = /tmp/clawstate-fixture-v1/.openclaw ] ||
	fail "recorded state_dir"
[ "$(json "$T/snapshots.json" 'd["snapshots"][0]["home"]')" = /tmp/clawstate-fixture-v1 ] || fail "recorded home"
expect 0 "" "$CS" ls 1 --vault "$V" --key-file "$KEY" --json
cp "$T/out" "$T/ls.json"
json_matches "$T/ls.json" "$G/ls.json"

expect 0 "" "$CS" restore --snapshot 1 --vault "$V" --key-file "$KEY" --to "$T/r2"
same_as_golden "$T/r2" $OWN
expect 0 "" "$CS" backup --snapshot 1 --vault "$V" --key-file "$KEY" -o "$T/again.bak"
expect 0 "" "$CS" verify "$T/again.bak" --key-file "$KEY"
out_has "backup ok: snapshot 1, 22 entries, 13 files, 5.1 MiB verified"

# A write to the old vault: snapshot the restored tree. Its content is the
# same, so every chunk must be found again under its stored id (13 chunks):
# the chunker and the keyed chunk ids are part of the format (FORMAT.md §5,
# "changing them would end deduplication against existing vaults").
# workspace/big-log.txt is cut into more than one chunk. One new chunk is
# allowed: the SQLite capture's header records the SQLite library version.
expect 0 "" "$CS" snapshot --vault "$V" --key-file "$KEY" --state "$T/r" --tag after-v1 --progress=none
out_has "snapshot 2: 22 entries"
expect 0 "" "$CS" verify --vault "$V" --key-file "$KEY"
out_has "vault ok: 2 snapshots, 44 entries"
chunks=$(sed -n 's/^vault ok: .*, \([0-9]*\) chunks,.*/\1/p' "$T/out")
[ -n "$chunks" ] && [ "$chunks" -le 14 ] ||
	fail "unchanged content made new chunks in the old vault ($chunks chunks, want 13, or 14 with a new SQLite): chunk boundaries or ids changed"
expect 0 "" "$CS" snapshots --vault "$V" --key-file "$KEY" --json
cp "$T/out" "$T/snapshots2.json"
[ "$(json "$T/snapshots2.json" '[s["seq"] for s in d["snapshots"]]')" = "[1, 2]" ] || fail "snapshot seqs after the write"
"$PY" - "$T/snapshots2.json" "$G/snapshots.json" <<'PYEOF' || fail "snapshot 1 changed"
import json, sys
got, want = (json.load(open(p)) for p in sys.argv[1:3])
assert got["vault_id"] == want["vault_id"]
for k, v in want["snapshots"][0].items():
    assert got["snapshots"][0][k] == v, (k, got["snapshots"][0][k], v)
print("ok snapshot 1 unchanged by the write")
PYEOF
expect 0 "" "$CS" restore --snapshot 2 --vault "$V" --key-file "$KEY" --to "$T/r3"
same_as_golden "$T/r3" $OWN
expect 0 "" "$CS" restore --snapshot 1 --vault "$V" --key-file "$KEY" --to "$T/r4"
same_as_golden "$T/r4" $OWN
exit 0
