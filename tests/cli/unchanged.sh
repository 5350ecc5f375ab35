#!/bin/sh
# A snapshot of a tree unchanged since before the previous snapshot started
# reads no file content; a file rewritten in place with the same size and
# mtime (as Baileys does) is read again because its ctime moved.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 200 --media-mb 1
sleep 2   # ctimes must be older than the first snapshot's start minus a second
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S" --json
FILES=$(json "$T/out" 'd["files"]')
[ "$(json "$T/out" 'd["files_read"]')" = "$FILES" ] || fail "first snapshot did not read every file"
[ "$(json "$T/out" 'd["files_reused"]')" = 0 ] || fail "first snapshot reused files"
expect 0 "" "$CS" snapshot --state "$S" --json
[ "$(json "$T/out" 'd["files_read"]')" = 0 ] || fail "unchanged tree read $(json "$T/out" 'd["files_read"]') files"
[ "$(json "$T/out" 'd["bytes_read"]')" = 0 ] || fail "unchanged tree read bytes"
[ "$(json "$T/out" 'd["files_reused"]')" = "$FILES" ] || fail "not every file reused"
[ "$(json "$T/out" 'd["seq"]')" = 2 ] || fail "seq is not 2"
# Same size, same mtime, new content: only the ctime tells.
C=$S/credentials/whatsapp/default/creds.json
M=$(stat -c %y "$C")
"$PY" -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-2] ^= 1
open(p, "r+b").write(b)' "$C"
touch -m -d "$M" "$C"
sleep 1.2
expect 0 "" "$CS" snapshot --state "$S" --json
[ "$(json "$T/out" 'd["files_read"] >= 1')" = True ] || fail "in-place rewrite not re-read"
expect 0 "" "$CS" restore --snapshot latest --to "$T/r"
cmp "$C" "$T/r/credentials/whatsapp/default/creds.json" || fail "restored creds.json is stale"
exit 0
