#!/bin/sh
# Odd state trees under snapshot/backup/restore:
#  - names with newlines, backslashes, tabs, invalid UTF-8, 255 bytes, leading
#    dashes; symlink loops (a->b->a, self, l -> .), dangling and absolute
#    symlinks: stored as they are, exit 0, restored identical;
#  - a FIFO (never opened: no hang), a socket, a device node (root): exit 3,
#    each named, the rest stored;
#  - a tree deeper than 256 levels and a path longer than 4095 bytes: exit 3
#    naming them, the rest restores;
#  - unreadable dirs and files (as uid 1001): exit 3 naming each;
#  - a file rewritten while the snapshot reads it: exit 3 "changed while being
#    read" or a consistent copy, never a torn one.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkdir -p "$S/names" "$S/links"
cd "$S/names" || exit 1
echo a >"$(printf 'new\nline')"
echo b >'back\slash'
echo c >"$(printf 'tab\there')"
echo d >"$(printf 'bad\377\376utf8')"
echo e >"$(printf '\351t\351 latin1')"
echo f >'-leading-dash'
echo g >' leading space'
echo h >"$(printf 'caf\303\251 \342\202\254')"
echo i >"$(printf '%0255d' 0)"
mkdir "$(printf 'dir\nwith\nnewlines')"
echo j >"$(printf 'dir\nwith\nnewlines')/inside"
cd "$S/links" || exit 1
ln -s b a
ln -s a b
ln -s self self
ln -s . dot
ln -s .. up
ln -s /etc/passwd abs
ln -s /nonexistent/x dangling
ln -s "$(printf 'target\nwith newline')" nl
cd "$T" || exit 1
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/names.cst"
expect 0 "" "$CS" restore "$T/names.cst" --to "$T/r1"
same_tree "$S" "$T/r1" --no-dir-mtime
expect 0 "" "$CS" restore --snapshot latest --to "$T/r1s"
same_tree "$S" "$T/r1s" --no-dir-mtime
rm -rf "$T/r1" "$T/r1s"

# Special files: named, not stored, never opened (a FIFO open would hang).
mkfifo "$S/fifo"
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$S/sock"
if [ "$(id -u)" = 0 ]; then mknod "$S/null" c 1 3; fi
expect 3 "fifo: special file not stored" timeout 20 "$CS" snapshot --state "$S"
grep -qF "sock: special file not stored" "$T/err" || fail "socket not named"
if [ "$(id -u)" = 0 ]; then grep -qF "null: special file not stored" "$T/err" || fail "device not named"; fi
expect 3 "fifo" timeout 20 "$CS" backup --state "$S" -o "$T/special.cst"
expect 0 "" "$CS" restore "$T/special.cst" --to "$T/r2"
rm -f "$S/fifo" "$S/sock" "$S/null"
same_tree "$S" "$T/r2" --no-dir-mtime
rm -rf "$T/r2"

# Deeper than 256 levels, and a path over 4095 bytes.
D=$S/deep
mkdir -p "$D"
p=$D
i=1
while [ "$i" -le 260 ]; do p=$p/d; i=$((i + 1)); done
mkdir -p "$p"
echo bottom >"$p/f"
comp=$(printf '%0200d' 0)
L=$S/long
q=$L
i=1
while [ "$i" -le 21 ]; do q=$q/$comp; i=$((i + 1)); done
mkdir -p "$q" || fail "mkdir -p of a long path"
expect 3 "nested deeper than 256 levels, not stored" "$CS" snapshot --state "$S"
grep -qF "path longer than 4095 bytes, not stored" "$T/err" || fail "long path not named"
expect 3 "nested deeper than 256 levels" "$CS" backup --state "$S" -o "$T/deep.cst"
expect 0 "" "$CS" restore "$T/deep.cst" --to "$T/r3"
# deep is level 1, so deep + 255 d's is level 256: the last one stored
[ -d "$T/r3/deep/$(printf 'd/%.0s' $(seq 1 254))d" ] || fail "level 256 not restored"
[ -e "$T/r3/deep/$(printf 'd/%.0s' $(seq 1 255))d" ] && fail "level 257 restored"
# long/ + 20 components is 4024 bytes, stored; the 21st would make 4225
[ -d "$T/r3/long/$(printf "$comp/%.0s" $(seq 1 19))$comp" ] || fail "the 4024-byte path not restored"
[ -e "$T/r3/long/$(printf "$comp/%.0s" $(seq 1 20))$comp" ] && fail "a path over 4095 bytes restored"
rm -rf "$T/r3" "$D" "$L"

# Unreadable entries, for real (root reads everything): as uid 1001.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	U=$T/u
	mkdir -p "$U/st/open" "$U/st/closed/x" "$U/st/wonly"
	echo ok >"$U/st/open/f"
	echo secret >"$U/st/open/nope"
	echo y >"$U/st/closed/x/y"
	chown -R 1001:1001 "$U"
	chmod 000 "$U/st/open/nope" "$U/st/closed"
	chmod 300 "$U/st/wonly"
	as1001() { setpriv --reuid 1001 --regid 1001 --clear-groups env HOME="$U" "$@"; }
	expect 0 "" as1001 "$CS" init --vault "$U/v" --key-file "$U/k"
	expect 3 "open/nope" as1001 "$CS" snapshot --vault "$U/v" --key-file "$U/k" --state "$U/st"
	grep -qF "closed" "$T/err" || fail "unreadable dir not named"
	grep -qF "wonly" "$T/err" || fail "unlistable dir not named"
	expect 3 "open/nope" as1001 "$CS" backup --vault "$U/v" --key-file "$U/k" --state "$U/st" -o "$U/b.cst"
	expect 0 "" as1001 "$CS" restore "$U/b.cst" --key-file "$U/k" --to "$U/r"
	[ "$(cat "$U/r/open/f")" = ok ] || fail "readable file not restored"
	[ -e "$U/r/open/nope" ] && fail "unreadable file restored"
else
	note "not root: the unreadable-entries case is skipped"
fi

# A file rewritten (truncated, then written) while the snapshot reads it.
mkdir -p "$S/busy"
"$PY" - "$S/busy/creds.json" <<'EOF' &
import os, sys, time
p = sys.argv[1]
end = time.time() + 8
n = 0
fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
open(p + ".ready", "w").close()
while time.time() < end and os.path.exists(p + ".ready"):
    c = bytes([ord("a") + n % 26]) * 65536
    os.ftruncate(fd, 0)
    for k in range(64):               # 4 MiB, one letter per version
        os.pwrite(fd, c, k * 65536)
    n += 1
EOF
W=$!
while [ ! -e "$S/busy/creds.json.ready" ]; do sleep 0.05; done
sleep 0.3
changed=0
for i in 1 2 3; do
	"$CS" snapshot --state "$S" >"$T/out" 2>"$T/err"
	rc=$?
	case $rc in
	3) grep -qF "busy/creds.json: changed while being read, not stored" "$T/err" ||
		{ cat "$T/err" >&2; fail "exit 3 without naming the changing file"; }
	   changed=$((changed + 1)) ;;
	0) ;;
	*) cat "$T/err" >&2; fail "snapshot of a changing file: exit $rc" ;;
	esac
	expect 0 "" "$CS" ls latest --json
	if grep -qF '"busy/creds.json"' "$T/out"; then
		rm -rf "$T/r4"
		expect 0 "" "$CS" restore --snapshot latest --to "$T/r4" --include busy
		"$PY" -c 'import sys
b = open(sys.argv[1], "rb").read()
sys.exit(0 if len(set(b)) <= 1 else 1)' "$T/r4/busy/creds.json" ||
			fail "a torn copy of a file that changed during the snapshot was stored"
	fi
done
rm -f "$S/busy/creds.json.ready"
kill_job "$W"
note "changing file: $changed of 3 snapshots reported it, the others stored a consistent copy"
expect 0 "" "$CS" verify --vault "$T/vault"
exit 0
