#!/bin/sh
# chown on a hostile tree: nothing outside DIR changes owner or mode.  Hardlinks
# of any non-directory (socket, FIFO, symlink, file) to an outside inode are
# skipped; a hardlink renamed between dirs during the walk (so its one name is
# counted twice) is skipped; symlinks at every depth, a dir swapped for a
# symlink during the walk, special files, newlines in names, a dir without x,
# a 320-deep chain, --secure-modes with credentials -> outside, a bind mount.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to give files away"
command -v python3 >/dev/null || skip "no python3 (for a unix socket)"
O=$T/outside
S=$T/s
mkdir -p "$O/od" "$S"
echo secret >"$O/f"
mkfifo "$O/fifo"
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$O/sock"
ln -s /etc/passwd "$O/sl"
echo r >"$O/reg"
chown -h 0:0 "$O" "$O"/*
chmod 0640 "$O/f" "$O/reg" "$O/fifo"
chmod 0750 "$O/od"
chmod 0755 "$O/sock"
outside_is() { # the outside tree's owners and modes, one line
	stat -c '%n %u:%g %a' "$O" "$O"/* | sed "s|$O|O|"
}
outside_is >"$T/o0"
same_outside() {
	outside_is >"$T/o1"
	cmp -s "$T/o0" "$T/o1" || { diff "$T/o0" "$T/o1" >&2; fail "$1: outside changed"; }
}

# 1. Hardlinks to outside inodes of every kind.
mkdir -p "$S/h"
ln "$O/fifo" "$S/h/fifo"
ln "$O/sock" "$S/h/sock"
ln "$O/sl" "$S/h/sl"
ln "$O/reg" "$S/h/reg"
mkfifo "$S/h/inner"          # a FIFO with both names in the tree is changed
ln "$S/h/inner" "$S/h/inner2"
expect 3 "h/sock: has 1 link outside the tree" "$CS" chown "$S" --owner 1000:1001
for n in fifo sl reg; do grep -qF "h/$n: has 1 link outside the tree" "$T/err" || fail "no warning for h/$n"; done
same_outside "hardlinks"
[ "$(stat -c '%u:%g' "$S/h/inner")" = "1000:1001" ] || fail "in-tree hardlinked FIFO not changed"
echo "ok hardlinks of socket, FIFO, symlink, file to outside skipped"
rm -rf "$S/h"

# 2. One name renamed back and forth between a/ and z/ during the walk: seen
# in both, it must not pass for "all links found" (before the fix, about one
# run in 25 gave the outside file away).
mkdir -p "$S/r/a" "$S/r/z"
i=0
while [ $i -lt 2000 ]; do mkdir "$S/r/m$i" "$S/r/zz$i"; i=$((i + 1)); done
ln "$O/reg" "$S/r/a/x"
(while :; do mv "$S/r/a/x" "$S/r/z/x" 2>/dev/null; mv "$S/r/z/x" "$S/r/a/x" 2>/dev/null; done) &
pid=$!
for run in 1 2 3 4 5 6 7 8; do
	"$CS" chown "$S/r" --owner 200$run:200$run >/dev/null 2>"$T/rerr"
	same_outside "rename race run $run"
done
kill $pid
wait $pid 2>/dev/null
rm -rf "$S/r"
echo "ok hardlink renamed during the walk never changed outside"

# 3. Symlinks at every depth, special files, newlines, no x, deep chain.
mkdir -p "$S/a/b/c" "$S/nox"
ln -s "$O" "$S/l0"
ln -s "$O/f" "$S/a/l1"
ln -s "$O/od" "$S/a/b/l2"
ln -s "$O/f" "$S/a/b/c/l3"
ln -s ../../../outside "$S/a/b/rel"
mkfifo "$S/a/fifo"
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$S/a/sock"
mknod "$S/a/null" c 1 3
nl='
'
mkdir "$S/new${nl}line"
echo n >"$S/new${nl}line/f${nl}x"
echo n >"$S/nox/f"
chmod 0600 "$S/nox"
p=$S/deep
i=0
while [ $i -lt 320 ]; do p=$p/d; i=$((i + 1)); done
mkdir -p "$p"
echo leaf >"$p/leaf"
ln -s "$O/f" "$p/l"
chown -hR 0:0 "$S"
timeout 10 "$CS" chown "$S" --owner 1000:1001 >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "exit $? on the tree of symlinks and special files"; }
same_outside "symlinks and special files"
[ "$(find "$S" ! -uid 1000 -o ! -gid 1001 | wc -l)" = 0 ] || fail "not changed: $(find "$S" ! -uid 1000)"
[ "$(stat -c '%u:%g %a' "$S/nox")" = "1000:1001 600" ] || fail "nox: $(stat -c '%u:%g %a' "$S/nox")"
[ "$(stat -c '%u:%g' "$S/new${nl}line/f${nl}x")" = "1000:1001" ] || fail "newline name"
[ "$(stat -c '%u:%g' "$p/leaf")" = "1000:1001" ] || fail "deep leaf"
[ "$(stat -c '%t,%T' "$S/a/null")" = "1,3" ] || fail "device node changed"
echo "ok symlinks at every depth, FIFO, socket, device, newline, no-x, 320 deep"

# 4. --secure-modes: the secret trees and files are symlinks to outside.
mkdir -p "$S/agents/a1/agent"
ln -s "$O" "$S/credentials"
ln -s "$O/od" "$S/identity"
ln -s "$O/f" "$S/.env"
ln -s "$O/f" "$S/openclaw.json"
ln -s "$O/f" "$S/agents/a1/agent/auth.json"
expect 0 "" "$CS" chown "$S" --owner 1002:1002 --secure-modes
same_outside "--secure-modes"
[ "$(stat -c '%u:%g' "$S/credentials")" = "1002:1002" ] || fail "credentials link itself"
[ "$(stat -c '%a' "$S")" = "700" ] || fail "root not 0700"
echo "ok --secure-modes through symlinks changed nothing outside"

# 5. sub swapped between a real dir and a symlink to outside during the walk.
W=$T/w
mkdir -p "$W/sub/in"
i=0
while [ $i -lt 1500 ]; do mkdir "$W/a$i"; i=$((i + 1)); done
(while :; do
	mv "$W/sub" "$W/sub.r" 2>/dev/null
	ln -sfn "$O" "$W/sub"
	rm -f "$W/sub"
	mv "$W/sub.r" "$W/sub" 2>/dev/null
done) &
pid=$!
for run in 1 2 3; do
	"$CS" chown "$W" --owner 300$run:300$run >/dev/null 2>"$T/werr"
	same_outside "swap race run $run"
done
kill $pid
wait $pid 2>/dev/null
echo "ok dir swapped for a symlink during the walk never followed"

# 6. A bind mount of the outside dir inside the tree.
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	mkdir -p "$S/mnt"
	unshare -m sh -c "mount --bind '$O' '$S/mnt' && '$CS' chown '$S' --owner 1003:1003 >'$T/m.out' 2>'$T/m.err'; echo \$? >'$T/m.rc'" ||
		fail "namespace script failed"
	[ "$(cat "$T/m.rc")" = 3 ] || { cat "$T/m.err"; fail "bind mount: exit $(cat "$T/m.rc"), want 3"; }
	grep -qF "mnt: mount point, not crossed" "$T/m.err" || fail "bind mount not named"
	same_outside "bind mount"
	echo "ok bind mount not crossed"
else
	note "no unshare -m here: bind mount part skipped"
fi
exit 0
