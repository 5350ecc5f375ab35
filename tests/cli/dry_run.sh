#!/bin/sh
# restore --dry-run checks everything, lists what it would write, writes nothing.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 30 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --dry-run
out_has "openclaw.json"
out_has "credentials/whatsapp/default/creds.json"
grep -q "nothing written" "$T/err" || fail "no dry-run summary"
absent "$T/r"
mkdir "$T/full"; echo keep >"$T/full/f"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/full" --replace --dry-run
[ "$(ls -A "$T/full")" = f ] || fail "dry run changed the target"
for x in "$T"/full.clawstate-*; do [ -e "$x" ] && fail "dry run left $x"; done
expect 0 "" "$CS" restore --snapshot latest --to "$T/r" --dry-run
absent "$T/r"
# The dry run checks the header, the slots and the whole manifest (it stops
# before the file contents): damage there fails it as it would fail the restore.
HLEN=$(od -An -tu1 -j12 -N4 "$T/b.cst" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
for off in 20 $((HLEN + 30)); do
	cp "$T/b.cst" "$T/bad.cst"
	"$PY" -c 'import sys
p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[o] ^= 1; open(p, "wb").write(b)' "$T/bad.cst" "$off"
	expect 4 "" "$CS" restore "$T/bad.cst" --to "$T/r" --dry-run
	absent "$T/r"
done
exit 0
