#!/bin/sh
# A damaged backup exits 4 (7 for a newer format version) and leaves the
# target absent: flipped bytes in the header past magic+version, in a key
# slot, in the first stream message (the manifest), late in the payload, and
# truncations.  verify says the same.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 100 --media-mb 1
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
SIZE=$(stat -c %s "$T/b.cst")
# header length: u32 BE at offset 12
HLEN=$(od -An -tu1 -j12 -N4 "$T/b.cst" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
note "backup: $SIZE bytes, header $HLEN bytes"
[ "$HLEN" -gt 60 ] && [ "$HLEN" -lt "$SIZE" ] || fail "implausible header length $HLEN"

# flip FILE OFFSET: xor one byte with 0x5a
flip() {
	"$PY" -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 0x5a; open(p, "wb").write(b)' "$1" "$2"
}
n=0
for off in 10 13 20 40 48 52 60 $((53 + 40)) $((HLEN - 100)) $((HLEN - 1)) $((HLEN + 30)) \
	$((HLEN + 200)) $((SIZE / 2)) $((SIZE - 50)) $((SIZE - 1)); do
	n=$((n + 1))
	cp "$T/b.cst" "$T/bad.cst"
	flip "$T/bad.cst" "$off"
	expect 4 "" "$CS" restore "$T/bad.cst" --to "$T/r$n"
	absent "$T/r$n"
	expect 4 "" "$CS" verify "$T/bad.cst"
done
for len in 4 30 $((HLEN - 1)) $HLEN $((HLEN + 100)) $((SIZE / 2)) $((SIZE - 17)) $((SIZE - 1)); do
	n=$((n + 1))
	head -c "$len" "$T/b.cst" >"$T/short.cst"
	expect 4 "" "$CS" restore "$T/short.cst" --to "$T/r$n"
	absent "$T/r$n"
	expect 4 "" "$CS" verify "$T/short.cst"
done
# Trailing garbage after the final message is tampering too.
cp "$T/b.cst" "$T/long.cst"; printf 'extra' >>"$T/long.cst"
expect 4 "" "$CS" verify "$T/long.cst"
# Not a backup at all.
printf 'hello world, not a backup at all\n' >"$T/junk.cst"
expect 4 "not a clawstate backup" "$CS" verify "$T/junk.cst"
# A newer format version is 7, before any checksum.
cp "$T/b.cst" "$T/v2.cst"
"$PY" -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[8] = 0; b[9] = 2; open(p, "wb").write(b)' "$T/v2.cst"
expect 7 "" "$CS" restore "$T/v2.cst" --to "$T/rv"
absent "$T/rv"
# A damaged target-side run leaves an existing target untouched.
mkdir "$T/keep"; echo precious >"$T/keep/file"
cp "$T/b.cst" "$T/bad.cst"; flip "$T/bad.cst" $((SIZE - 50))
expect 4 "" "$CS" restore "$T/bad.cst" --to "$T/keep" --replace
[ "$(cat "$T/keep/file")" = precious ] || fail "target changed"
[ "$(ls -A "$T/keep")" = file ] || fail "target gained entries"
for x in "$T"/keep.clawstate-*; do [ -e "$x" ] && fail "leftover $x"; done
expect 0 "" "$CS" verify "$T/b.cst"
exit 0
