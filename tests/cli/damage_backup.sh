#!/bin/sh
# Byte-level damage to a real backup, swept over offsets:
#  - every header byte flipped: magic -> 4 "not a clawstate backup", version ->
#    7 (newer) or 4 (0), anything else -> 4 (header checksum or length);
#  - every header byte past the length flipped WITH the checksum recomputed
#    (tampering): 4 or 5 by region (vault id and slot key material: the slot
#    does not open, 5; slot kind/role/reserved/Argon2 fields: 4; sealed file key:
#    4 "sealed file key"; seq/created/epoch and the secretstream header: 4
#    "backup stream damaged at message 1", since the header is message 1's AD);
#  - the first, middle and last byte of every stream message flipped: 4 naming
#    the message;
#  - truncation at every length through the header and around every message
#    boundary: 4 "truncated"; bytes appended: 4;
#  - a future format version: 7, even with the rest of the header garbage or cut;
#  - absurd Argon2 parameters with a recomputed checksum: 4, fast (no derivation);
#  - a wrong key file, a short key file, a passphrase for a key-file backup: 5;
#  - a sample of each through restore (target stays absent, nothing beside it)
#    and through a pipe.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkdir -p "$S/media" "$S/credentials"
head -c 300000 /dev/urandom >"$S/media/noise.bin"   # ~5 stream messages
echo '{"creds":1}' >"$S/credentials/creds.json"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
expect 0 "" "$CS" verify "$T/b.cst"

"$PY" - "$CS" "$T" <<'EOF' || exit 1
import os, subprocess, sys, time, hashlib
CS, T = sys.argv[1], sys.argv[2]
good = open(T + "/b.cst", "rb").read()
HLEN = int.from_bytes(good[12:16], "big")
NSLOT = good[52]
assert NSLOT == 1 and HLEN == 397, (NSLOT, HLEN)
MSG = 65536 + 17
SLOT = 53                     # one 208-byte slot
SEALED = SLOT + 208           # 80 bytes
SSHDR = SEALED + 80           # 24 bytes
SUM = SSHDR + 24              # 32 bytes
assert SUM + 32 == HLEN
nmsg = (len(good) - HLEN + MSG - 1) // MSG
env = dict(os.environ, CLAWSTATE_KEY_FILE=T + "/key")
bad = T + "/bad.cst"
runs = 0
fails = []

def run(data, want_rc, frag=None, args=None, stdin=False, what=""):
    global runs
    runs += 1
    with open(bad, "wb") as f:
        f.write(data)
    cmd = [CS] + (args or ["verify", "-" if stdin else bad])
    inp = open(bad, "rb") if stdin else subprocess.DEVNULL
    p = subprocess.run(cmd, env=env, stdin=inp, capture_output=True)
    if stdin:
        inp.close()
    err = p.stderr.decode("utf-8", "replace")
    ok = p.returncode in (want_rc if isinstance(want_rc, tuple) else (want_rc,))
    if ok and frag and frag not in err:
        ok = False
    if not ok:
        fails.append("%s: exit %d, want %s %r: %s" % (what, p.returncode, want_rc, frag, err.strip()))
    return p.returncode, err

def flip(data, off, x=0x5a):
    b = bytearray(data)
    b[off] ^= x
    return bytes(b)

def resum(b):
    b = bytearray(b)
    b[SUM:SUM + 32] = hashlib.blake2b(bytes(b[:SUM]), digest_size=32).digest()
    return bytes(b)

# 1. every header byte, no checksum fix
for off in range(HLEN):
    d = flip(good, off)
    if off < 8:
        run(d, 4, "not a clawstate backup", what="flip %d" % off)
    elif off < 10:
        v = int.from_bytes(d[8:10], "big")
        if v > 1:
            run(d, 7, "backup format version %d is newer than supported (1)" % v, what="flip %d" % off)
        else:
            run(d, 4, "backup format version 0 is invalid", what="flip %d" % off)
    elif 12 <= off < 16:
        run(d, 4, None, what="flip %d (length)" % off)
    else:
        run(d, 4, "header checksum mismatch", what="flip %d" % off)

# 2. tampering: every byte from the vault id to the end of the secretstream
#    header, checksum recomputed
for off in range(16, SUM):
    d = resum(flip(good, off))
    if off < 32:
        run(d, 5, "wrong passphrase or key file", what="tamper vault id %d" % off)
    elif off < 52:
        run(d, 4, "backup stream damaged at message 1", what="tamper seq/created/epoch %d" % off)
    elif off == 52:
        run(d, 4, "key slots", what="tamper slot count")
    elif off < SLOT + 4:
        run(d, 5, "wrong passphrase or key file", what="tamper slot id %d" % off)
    elif off == SLOT + 4:
        run(d, 4, "unknown kind", what="tamper slot kind")
    elif off == SLOT + 5:
        run(d, 4, "unknown role", what="tamper slot role")
    elif off < SLOT + 8:
        run(d, 4, "reserved bytes set", what="tamper slot reserved %d" % off)
    elif off < SLOT + 16:
        run(d, 4, "key slot 1 asks for too many passes" if off == SLOT + 8 else "key slot 1",
            what="tamper slot opslimit %d" % off)
    elif off < SLOT + 24:
        run(d, 4, "key slot 1", what="tamper slot memlimit %d" % off)
    elif off < SEALED:
        run(d, 5, "wrong passphrase or key file", what="tamper slot salt/wrapped %d" % off)
    elif off < SSHDR:
        run(d, 4, "the sealed file key does not open with the vault key", what="tamper sealed key %d" % off)
    else:
        run(d, 4, "backup stream damaged at message 1", what="tamper stream header %d" % off)

# 3. payload: first, middle and last byte of every message
for m in range(nmsg):
    start = HLEN + m * MSG
    end = min(start + MSG, len(good))
    last = end == len(good)
    for off in (start, (start + end) // 2, end - 1):
        frag = ("backup truncated, extended or damaged at message %d" if last
                else "backup stream damaged at message %d") % (m + 1)
        run(flip(good, off), 4, frag, what="payload flip %d (message %d)" % (off, m + 1))
# the same bit flipped twice is the original: the sweep did not just break the file
run(flip(flip(good, HLEN + 5), HLEN + 5), 0, what="double flip")

# 4. truncations: through the header, around every message boundary, at the end
lens = set(range(0, HLEN + 40))
for m in range(nmsg + 1):
    b = HLEN + m * MSG
    lens.update(x for x in (b - 17, b - 16, b - 1, b, b + 1, b + 17, b + 18) if 0 <= x < len(good))
lens.update((len(good) - 1, len(good) - 16, len(good) - 17))
for n in sorted(lens):
    if n >= len(good):
        continue
    d = good[:n]
    if n < 8:
        run(d, 4, "not a clawstate backup" if n < 8 else None, what="truncate %d" % n)
    else:
        run(d, 4, "truncated", what="truncate %d" % n)
# appended bytes, after the final message
for extra in (b"\0", b"x" * 17, good[HLEN:HLEN + MSG]):
    run(good + extra, 4, None, what="append %d" % len(extra))
# a duplicated and a dropped message
run(good[:HLEN + MSG] + good[HLEN:], 4, "backup stream damaged at message 2", what="duplicated message")
run(good[:HLEN] + good[HLEN + MSG:], 4, "message 1", what="dropped message")

# 5. a future format version: 7, before anything else is looked at
for v in (2, 7, 0xffff):
    d = bytearray(good); d[8:10] = v.to_bytes(2, "big")
    run(bytes(d), 7, "backup format version %d is newer than supported (1)" % v, what="version %d" % v)
    run(bytes(d[:16]), 7, "newer than supported", what="version %d, cut to 16 bytes" % v)
    d[16:HLEN] = os.urandom(HLEN - 16)
    run(bytes(d), 7, "newer than supported", what="version %d, garbage header" % v)
    run(bytes(d), 7, "newer than supported", stdin=True, what="version %d through a pipe" % v)

# 6. a sample through restore (and a pipe): the target must stay absent
samples = [(flip(good, 3), 4), (resum(flip(good, SEALED + 5)), 4), (flip(good, HLEN + 100), 4),
           (flip(good, len(good) - 1), 4), (good[:HLEN + MSG], 4), (good[:len(good) - 1], 4),
           (resum(flip(good, SLOT + 100)), 5)]
for i, (d, want) in enumerate(samples):
    tgt = "%s/r%d" % (T, i)
    run(d, want, None, args=["restore", bad, "--to", tgt], what="restore sample %d" % i)
    run(d, want, None, args=["restore", "-", "--to", tgt], stdin=True, what="restore sample %d, pipe" % i)
    run(d, want, None, stdin=True, what="verify sample %d, pipe" % i)
    left = [x for x in os.listdir(T) if x.startswith("r%d" % i)]
    if left:
        fails.append("restore sample %d left %s" % (i, left))

print("# %d damaged inputs checked (%d header bytes, %d stream messages)" % (runs, HLEN, nmsg))
for f in fails[:40]:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if fails else 0)
EOF

# Absurd Argon2 parameters in a passphrase slot, checksum recomputed: refused
# before any derivation (fast), exit 4.  A passphrase vault at the minimum cost.
printf 'a passphrase\n' >"$T/pw"
expect 0 "" "$CS" init --vault "$T/pv" --passphrase-file "$T/pw" --kdf interactive
expect 0 "" "$CS" backup --vault "$T/pv" --passphrase-file "$T/pw" --state "$S" -o "$T/p.cst"
"$PY" - "$CS" "$T" <<'EOF' || exit 1
import hashlib, subprocess, sys, time
CS, T = sys.argv[1], sys.argv[2]
good = open(T + "/p.cst", "rb").read()
SLOT, SUM = 53, 53 + 208 + 80 + 24
fails = []
cases = [  # (opslimit, memlimit, fragment)
    (2**32, 2**40, "key slot 1 asks for too much memory (1048576 MiB, at most 1024)"),
    (2**63, 64 << 20, "key slot 1 asks for too many passes (9223372036854775808, at most 16)"),
    (17, 64 << 20, "key slot 1 asks for too many passes (17, at most 16)"),
    (3, (1 << 30) + 1024, "key slot 1 asks for too much memory"),
    (2**64 - 1, 2**64 - 1, "key slot 1 asks for too much memory"),
    (0, 64 << 20, "Argon2id parameters below the minimum"),
    (3, 1024, "Argon2id parameters below the minimum"),
]
for ops, mem, frag in cases:
    b = bytearray(good)
    b[SLOT + 8:SLOT + 16] = ops.to_bytes(8, "big")
    b[SLOT + 16:SLOT + 24] = mem.to_bytes(8, "big")
    b[SUM:SUM + 32] = hashlib.blake2b(bytes(b[:SUM]), digest_size=32).digest()
    open(T + "/argon.cst", "wb").write(b)
    for args in (["verify", T + "/argon.cst"], ["restore", T + "/argon.cst", "--to", T + "/ra"]):
        t0 = time.time()
        p = subprocess.run([CS] + args + ["--passphrase-file", T + "/pw"], capture_output=True)
        dt = time.time() - t0
        err = p.stderr.decode()
        if p.returncode != 4 or frag not in err:
            fails.append("ops=%d mem=%d %s: exit %d: %s" % (ops, mem, args[0], p.returncode, err.strip()))
        if dt > 1.0:
            fails.append("ops=%d mem=%d: took %.1fs (derived a key?)" % (ops, mem, dt))
    import os
    if os.path.exists(T + "/ra"):
        fails.append("restore created the target")
for f in fails:
    print("FAIL:", f, file=sys.stderr)
print("# %d absurd Argon2 slots refused" % len(cases))
sys.exit(1 if fails else 0)
EOF

# Wrong credentials: 5, nothing created.
head -c 32 /dev/urandom >"$T/other"
head -c 31 /dev/urandom >"$T/short"
expect 5 "wrong passphrase or key file" "$CS" verify "$T/b.cst" --key-file "$T/other"
expect 5 "wrong passphrase or key file" "$CS" restore "$T/b.cst" --to "$T/rk" --key-file "$T/other"
absent "$T/rk"
expect 5 "" "$CS" restore "$T/b.cst" --to "$T/rk" --key-file "$T/short"
absent "$T/rk"
expect 5 "wrong passphrase or key file" "$CS" restore "$T/b.cst" --to "$T/rk" --passphrase-file "$T/pw"
absent "$T/rk"
expect 5 "wrong passphrase or key file" "$CS" restore - --to "$T/rk" --key-file "$T/other" <"$T/b.cst"
absent "$T/rk"
# and the passphrase backup with a wrong passphrase
printf 'not it\n' >"$T/pw2"
expect 5 "wrong passphrase or key file" "$CS" restore "$T/p.cst" --to "$T/rk" --passphrase-file "$T/pw2"
absent "$T/rk"
exit 0
