#!/bin/sh
# SIGKILL at EVERY durable step (CLAWSTATE_TEST_KILL_AT=1..N, N from
# CLAWSTATE_TEST_COUNT) of: restore --replace, restore --replace --no-keep,
# restore into a new dir, restore --snapshot --replace, a non-root restore
# --replace of a tree with 0000/0500 dirs, backup --snapshot, backup --state,
# and a snapshot big enough to commit chunks and entries in several batches.
# After each kill:
#  - restore: the target is the complete old tree or the complete new one, the
#    old tree is never lost, and the next restore cleans up and succeeds;
#  - backup: the final name exists only when it verifies, and the next backup
#    to that name leaves no temporary file behind;
#  - snapshot / backup --state: verify --vault passes, every earlier snapshot
#    lists exactly as before, the snapshot list is the old one or the old one
#    plus the new snapshot, and the next snapshot works and restores the tree.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw

# tree DIR: a small tree with every entry type and odd modes.
tree() {
	mkdir -p "$1/agents/main/sessions" "$1/credentials/whatsapp/default" "$1/media" \
		"$1/empty" "$1/locked/in" "$1/ro"
	echo '{"gateway":{"token":"t"}}' >"$1/openclaw.json"
	echo '{"creds":1}' >"$1/credentials/whatsapp/default/creds.json"
	for i in 1 2 3 4 5 6; do echo "key $i" >"$1/credentials/whatsapp/default/pre-key-$i.json"; done
	echo '{"cwd":"/home/alice"}' >"$1/agents/main/sessions/a.jsonl"
	head -c 300000 /dev/urandom >"$1/media/voice.ogg"
	ln -s ../openclaw.json "$1/agents/main/cfg"
	ln "$1/media/voice.ogg" "$1/media/voice-link.ogg"
	echo "name
with newline" >"$1/media/$(printf 'odd\nname')"
	echo inner >"$1/locked/in/f"
	echo ro >"$1/ro/f"
	chmod 600 "$1/credentials/whatsapp/default/creds.json"
	chmod 400 "$1/ro/f"
	chmod 500 "$1/ro"
	# 0000 only as root: a non-root snapshot could not read it (the non-root
	# restore below gets its 0000 dir from this root-made backup)
	if [ "$(id -u)" = 0 ]; then chmod 000 "$1/locked/in"; else chmod 500 "$1/locked/in"; fi
	chmod 700 "$1/locked"
}
tree "$S"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
SEQ=1

# sig DIR: types, modes, sizes, file mtimes, link text and content of every entry
# (directory mtimes aside: an interrupted run may have created and removed
# entries in them).
sig() {
	[ -e "$1" ] || { echo absent; return; }
	(cd "$1" && find . -printf '%p %y %m %s %l\n' | LC_ALL=C sort
	 cd "$1" && find . -type f -printf '%p %T@\n' | LC_ALL=C sort
	 cd "$1" && find . -type f -exec md5sum {} + | LC_ALL=C sort) 2>&1
}
sig "$S" >"$T/new.sig"
mkold() {
	chmod -R u+rwx "$T/r" "$T"/r.clawstate-* 2>/dev/null
	rm -rf "$T/r" "$T"/r.clawstate-*
	for x in "$T/r" "$T"/r.clawstate-*; do [ -e "$x" ] && fail "cannot clear $x"; done
	mkdir -p "$T/r/sub/deep"
	echo old >"$T/r/old.txt"
	echo deeper >"$T/r/sub/deep/y"
	touch -d @1600000000 "$T/r/old.txt" "$T/r/sub/deep/y"
	chmod 000 "$T/r/sub/deep"
}
mkold
sig "$T/r" >"$T/old.sig"
which_tree() {
	sig "$1" >"$T/x.sig"
	if cmp -s "$T/x.sig" "$T/old.sig"; then echo old
	elif cmp -s "$T/x.sig" "$T/new.sig"; then echo new
	elif [ ! -e "$1" ]; then echo absent
	else echo mixed; fi
}
old_kept() {
	for d in "$T"/r.clawstate-old-* "$T"/r.clawstate-stage-*; do
		[ -d "$d" ] && [ "$(which_tree "$d")" = old ] && return 0
	done
	return 1
}
CNT=$T/count
count() { # CMD...: prints the number of test points a full run passes (N=$(count ..) || exit 1)
	rm -f "$CNT"
	env CLAWSTATE_TEST_COUNT="$CNT" "$@" >"$T/out" 2>"$T/err" || {
		cat "$T/err" >&2
		fail "counting run failed: $*"
	}
	_n=$(tr -dc 0-9 <"$CNT")
	[ -n "$_n" ] && [ "$_n" -ge 3 ] || fail "implausible test point count '$_n': $*"
	echo "$_n"
}
killed() { # K CMD...: run CMD killed at point K; it must die of SIGKILL
	_k=$1
	shift
	env CLAWSTATE_TEST_KILL_AT="$_k" "$@" >"$T/out" 2>"$T/err"
	_rc=$?
	[ "$_rc" = 137 ] || { cat "$T/err" >&2; fail "kill at $_k: exit $_rc, want 137: $*"; }
}
kills=0

# --- restore --replace and --replace --no-keep, every point ---------------------------------
for mode in keep no-keep; do
	opt=--replace
	[ "$mode" = no-keep ] && opt="--replace --no-keep"
	mkold
	# shellcheck disable=SC2086
	N=$(count "$CS" restore "$T/b.cst" --to "$T/r" $opt) || exit 1
	k=1
	while [ "$k" -le "$N" ]; do
		mkold
		# shellcheck disable=SC2086
		killed "$k" "$CS" restore "$T/b.cst" --to "$T/r" $opt
		kills=$((kills + 1))
		st=$(which_tree "$T/r")
		case $st in
		old) ;;
		new) old_kept || [ "$mode" = no-keep ] || fail "restore $opt killed at $k/$N: the old tree is lost" ;;
		*) fail "restore $opt killed at $k/$N: target is $st" ;;
		esac
		# shellcheck disable=SC2086
		expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" $opt
		[ "$(which_tree "$T/r")" = new ] || fail "rerun after a kill at $k: target not new"
		no_stage "$T/r"
		[ "$mode" = keep ] && { old_kept || fail "rerun after a kill at $k: old tree lost"; }
		k=$((k + 1))
	done
	note "restore $opt: killed at each of $N points, every time old or new"
done

# --- restore into a new dir, every point ---------------------------------------------------
rm -rf "$T/n"
N=$(count "$CS" restore "$T/b.cst" --to "$T/n") || exit 1
k=1
while [ "$k" -le "$N" ]; do
	chmod -R u+rwx "$T/n" "$T"/n.clawstate-* 2>/dev/null
	rm -rf "$T/n" "$T"/n.clawstate-*
	killed "$k" "$CS" restore "$T/b.cst" --to "$T/n"
	kills=$((kills + 1))
	st=$(sig "$T/n")
	if [ "$st" != absent ]; then
		[ "$(which_tree "$T/n")" = new ] || fail "new-dir restore killed at $k/$N: half a tree"
	fi
	for x in "$T"/n.clawstate-old-*; do [ -e "$x" ] && fail "kill at $k: an old tree for a new target"; done
	expect 0 "" "$CS" restore "$T/b.cst" --to "$T/n" --replace --no-keep
	[ "$(which_tree "$T/n")" = new ] || fail "rerun after a kill at $k (new dir)"
	no_stage "$T/n"
	k=$((k + 1))
done
note "restore into a new dir: killed at each of $N points"

# --- restore --snapshot --replace, every point ----------------------------------------------
mkold
N=$(count "$CS" restore --snapshot latest --to "$T/r" --replace) || exit 1
k=1
while [ "$k" -le "$N" ]; do
	mkold
	killed "$k" "$CS" restore --snapshot latest --to "$T/r" --replace
	kills=$((kills + 1))
	st=$(which_tree "$T/r")
	case $st in
	old) ;;
	new) old_kept || fail "restore --snapshot killed at $k/$N: old tree lost" ;;
	*) fail "restore --snapshot killed at $k/$N: target is $st" ;;
	esac
	expect 0 "" "$CS" restore --snapshot latest --to "$T/r" --replace
	[ "$(which_tree "$T/r")" = new ] || fail "rerun after restore --snapshot kill at $k"
	no_stage "$T/r"
	expect 0 "" "$CS" verify --vault "$T/vault"
	k=$((k + 1))
done
note "restore --snapshot --replace: killed at each of $N points"

# --- non-root: a stale staging dir holding 0000 dirs must still be cleaned ------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	U=$T/u
	mkdir -p "$U"
	cp "$T/b.cst" "$T/key" "$U/"
	chown -R 1001:1001 "$U"
	AS="setpriv --reuid 1001 --regid 1001 --clear-groups"
	mkold_u() {
		$AS chmod -R u+rwx "$U/r" "$U"/r.clawstate-* 2>/dev/null
		$AS rm -rf "$U/r" "$U"/r.clawstate-*
		$AS mkdir -p "$U/r/x"
		$AS sh -c "echo old >'$U/r/x/f'"
	}
	mkold_u
	# shellcheck disable=SC2086
	CNT=$U/count
	N=$(count $AS "$CS" restore "$U/b.cst" --key-file "$U/key" --to "$U/r" --replace) || exit 1
	CNT=$T/count
	k=1
	while [ "$k" -le "$N" ]; do
		mkold_u
		# shellcheck disable=SC2086
		killed "$k" $AS "$CS" restore "$U/b.cst" --key-file "$U/key" --to "$U/r" --replace
		kills=$((kills + 1))
		# shellcheck disable=SC2086
		expect 0 "" $AS "$CS" restore "$U/b.cst" --key-file "$U/key" --to "$U/r" --replace
		[ "$(cat "$U/r/openclaw.json")" = '{"gateway":{"token":"t"}}' ] ||
			fail "non-root rerun after a kill at $k"
		[ "$(stat -c %a "$U/r/locked/in")" = 0 ] || fail "non-root: mode of locked/in"
		no_stage "$U/r"
		k=$((k + 1))
	done
	note "non-root restore --replace of 0000 dirs: killed at each of $N points, rerun cleaned up"
else
	note "not root: the non-root kill case is skipped"
fi

# --- backup --snapshot, every point --------------------------------------------------------
N=$(count "$CS" backup --snapshot latest -o "$T/probe.cst") || exit 1
k=1
while [ "$k" -le "$N" ]; do
	killed "$k" "$CS" backup --snapshot latest -o "$T/k.cst"
	kills=$((kills + 1))
	temps=$(ls -a "$T" | grep -c '^\.k\.cst\.clawstate-tmp-')
	if [ -e "$T/k.cst" ]; then
		expect 0 "" "$CS" verify "$T/k.cst"
		rm -f "$T/k.cst"
		[ "$temps" = 0 ] || fail "backup killed at $k/$N: a temp beside the final file"
	else
		# killed before the rename: this run's temp, and only it (earlier ones cleaned)
		[ "$temps" = 1 ] || fail "backup killed at $k/$N: $temps temp files"
	fi
	k=$((k + 1))
done
expect 0 "" "$CS" backup --snapshot latest -o "$T/k.cst"
expect 0 "" "$CS" verify "$T/k.cst"
ls -a "$T" | grep '^\.k\.cst\.clawstate-tmp-' && fail "the next backup left temp files behind"
note "backup: killed at each of $N points; the final name only ever complete; temps cleaned"

# --- snapshots: several chunk and entry batches, killed at every commit ---------------------
B=$T/big
mkdir -p "$B/many"
i=0
while [ "$i" -lt 1100 ]; do echo "file $i" >"$B/many/f$i"; i=$((i + 1)); done
head -c 1000000 /dev/urandom >"$B/m1"
expect 0 "" "$CS" snapshot --state "$B"
expect 0 "" "$CS" ls latest --json
cp "$T/out" "$T/ls.before"
FIRST=$(json "$T/out" 'd["seq"]')
# a changed tree, so that the next snapshot commits chunks in two batches (they
# go out at 8 MiB) and entries in three (1000 each) before its record
head -c 9000000 /dev/urandom >"$B/m3"
i=0
while [ "$i" -lt 1100 ]; do echo "new $i" >"$B/many/g$i"; i=$((i + 1)); done
# Every kill starts from the same vault (a copy), so that point K is the same
# step each time; the rerun then finds what the killed run left.
cp -a "$T/vault" "$T/vault.saved"
expect 0 "" "$CS" snapshots --json
json "$T/out" '[s["seq"] for s in d["snapshots"]]' >"$T/list.before"
N=$(count "$CS" snapshot --state "$B") || exit 1
k=1
while [ "$k" -le "$N" ]; do
	rm -rf "$T/vault"
	cp -a "$T/vault.saved" "$T/vault"
	killed "$k" "$CS" snapshot --state "$B"
	kills=$((kills + 1))
	expect 0 "" "$CS" verify --vault "$T/vault"
	expect 0 "" "$CS" snapshots --json
	json "$T/out" '[s["seq"] for s in d["snapshots"]]' >"$T/list.after"
	cmp -s "$T/list.before" "$T/list.after" || fail "snapshot killed at $k/$N: list changed"
	expect 0 "" "$CS" ls "$FIRST" --json
	cmp -s "$T/out" "$T/ls.before" || fail "snapshot killed at $k/$N: snapshot $FIRST changed"
	expect 0 "" "$CS" snapshot --state "$B"
	expect 0 "" "$CS" verify --vault "$T/vault"
	k=$((k + 1))
done
rm -rf "$T/bigr"
expect 0 "" "$CS" restore --snapshot latest --to "$T/bigr"
[ "$(sig "$T/bigr")" = "$(sig "$B")" ] || fail "the snapshot after the kills does not restore the tree"
rm -rf "$T/vault.saved" "$T/bigr"
note "snapshot (several batches): killed at each of $N commits, vault verified every time"

# --- backup --state (snapshot + backup), every point -----------------------------------------
echo "one more" >>"$S/openclaw.json"
N=$(count "$CS" backup --state "$S" -o "$T/probe2.cst") || exit 1
k=1
while [ "$k" -le "$N" ]; do
	echo "change $k" >>"$S/agents/main/sessions/a.jsonl"
	killed "$k" "$CS" backup --state "$S" -o "$T/s.cst"
	kills=$((kills + 1))
	expect 0 "" "$CS" verify --vault "$T/vault"
	if [ -e "$T/s.cst" ]; then
		expect 0 "" "$CS" verify "$T/s.cst"
		rm -f "$T/s.cst"
	fi
	k=$((k + 1))
done
expect 0 "" "$CS" backup --state "$S" -o "$T/s.cst"
ls -a "$T" | grep '^\.s\.cst\.clawstate-tmp-' && fail "backup --state left temp files behind"
note "backup --state: killed at each of $N points"
note "$kills kills survived"
exit 0
