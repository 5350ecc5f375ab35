#!/bin/sh
# Slots that are each within the Argon2id caps but together ask for more than
# four slots' worth of work are refused before any derivation: unlocking tries
# every slot, so 32 slots at the cap would otherwise cost 32 derivations.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 5 --media-mb 0
printf 'a passphrase\n' >"$T/pw"
expect 0 "" "$CS" init --vault "$T/pv" --passphrase-file "$T/pw" --kdf interactive
expect 0 "" "$CS" backup --vault "$T/pv" --passphrase-file "$T/pw" --state "$S" -o "$T/p.cst"
"$PY" - "$T" <<'PYEOF' || fail "could not build the crafted header"
import hashlib, sys
T = sys.argv[1]
b = open(T + "/p.cst", "rb").read()
FIXED, SLOT, SEALED, SSH, SUM = 53, 208, 80, 24, 32
assert b[52] == 1
slot = bytearray(b[FIXED:FIXED + SLOT])
rest = b[FIXED + SLOT:FIXED + SLOT + SEALED + SSH]
n = 5
slots = b""
for i in range(n):
    s = bytearray(slot)
    s[0:4] = (i + 1).to_bytes(4, "big")
    s[8:16] = (16).to_bytes(8, "big")          # passes: at the cap
    s[16:24] = (1 << 30).to_bytes(8, "big")    # memory: at the cap
    slots += bytes(s)
hlen = FIXED + n * SLOT + SEALED + SSH + SUM
h = bytearray(b[:FIXED])
h[12:16] = hlen.to_bytes(4, "big")
h[52] = n
h = bytes(h) + slots + rest
h += hashlib.blake2b(h, digest_size=32).digest()
open(T + "/many.cst", "wb").write(h + b[FIXED + SLOT + SEALED + SSH + SUM:])
PYEOF
t0=$(date +%s)
expect 4 "key slots ask for too much Argon2id work together" \
	"$CS" verify "$T/many.cst" --passphrase-file "$T/pw"
expect 4 "key slots ask for too much Argon2id work together" \
	"$CS" restore "$T/many.cst" --to "$T/r" --passphrase-file "$T/pw"
[ $(($(date +%s) - t0)) -le 3 ] || fail "refusal took too long (derived a key?)"
absent "$T/r"
exit 0
