#!/bin/sh
# Failing system calls in a restore --replace (tests/crash/faultshim.so): each
# is exit 1 naming the path and the error, the target still the complete old
# tree and nothing of the run left beside it (or, when only the rename of the
# exchanged old tree failed, the complete new tree with the old one kept);
# a read error on the backup is exit 1, not an integrity failure (4); short
# reads, from a file or a pipe, are no error.  A mount-point target: a swap
# that fails once journaled says `clawstate recover DIR` finishes it, and it
# does.  Then a seeded sample of every class at any point (faults.py) for
# restore and both migrations.
. "$TESTS/lib.sh"
. "$TESTS/crash/faultlib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 10 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
R=$T/r
mkold() {
	rm -rf "$R" "$R".clawstate-*
	mkdir -p "$R/sub"
	echo old >"$R/old.txt"
	echo deeper >"$R/sub/y"
	find "$R" -exec touch -h -d @1700000000 {} +
}
mkold
digest "$R" >"$T/old.d"
old_intact() {
	digest "$R" >"$T/x.d"
	cmp -s "$T/x.d" "$T/old.d" || fail "$1: the old tree changed"
	for x in "$R".clawstate-*; do [ -e "$x" ] && fail "$1: left $x"; done
	return 0
}
F=credentials/whatsapp/default/creds.json
n=0
for c in "write creds.json 1 EIO $F: write: Input/output error" \
	"write creds.json 1 ENOSPC $F: write: No space left on device" \
	"close creds.json 1 EIO $F: close: Input/output error" \
	"fsync .lock 1 EIO .lock: fsync: Input/output error" \
	"syncfs stage 1 EIO $R: syncfs: Input/output error" \
	"syncfs stage 1 ENOSPC $R: syncfs: No space left on device" \
	"renameat2 stage 1 EIO $R: rename the staged tree into place: Input/output error" \
	"read b.cst 2 EIO $T/b.cst: read: Input/output error"; do
	set -- $c
	op=$1 p=$2 at=$3 e=$4
	shift 4
	mkold
	expect 1 "$*" fault env CS_FAULT_OP="$op" CS_FAULT_PATH="$p" CS_FAULT_AT="$at" \
		CS_FAULT_ERRNO="$e" "$CS" restore "$T/b.cst" --to "$R" --replace
	old_intact "$op $p #$at $e"
	n=$((n + 1))
done
# restore --snapshot: the vault cannot be read.
mkold
expect 1 "Input/output error" fault env CS_FAULT_OP=pread CS_FAULT_PATH=data.mdb CS_FAULT_AT=1 \
	"$CS" restore --snapshot latest --to "$R" --replace
old_intact "pread of the vault"
# The exchange done, the rename of the old tree to its kept name fails: the
# new tree is in place, the old one is kept (under the stage name, or renamed
# by the cleanup), and the next restore finishes the naming.
mkold
expect 1 "$R: rename the old tree: Input/output error" fault env CS_FAULT_OP=renameat2 \
	CS_FAULT_AT=2 "$CS" restore "$T/b.cst" --to "$R" --replace
same_tree "$S" "$R" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
kept=""
for x in "$R".clawstate-old-* "$R".clawstate-stage-*; do
	[ -d "$x" ] || continue
	digest "$x" >"$T/x.d"
	cmp -s "$T/x.d" "$T/old.d" && kept=$x
done
[ -n "$kept" ] || fail "the old tree is nowhere after a failed rename of it"
expect 0 "" "$CS" restore "$T/b.cst" --to "$R" --replace
no_stage "$R"
[ -d "$kept" ] || ls "$R".clawstate-old-* >/dev/null || fail "the next restore lost the old tree"
# A new dir: nothing at all is left.
rm -rf "$T/n"
expect 1 "$F: write: Input/output error" fault env CS_FAULT_OP=write CS_FAULT_PATH=creds.json \
	CS_FAULT_AT=1 "$CS" restore "$T/b.cst" --to "$T/n"
absent "$T/n"
# Short reads from the file and from a pipe.
mkold
expect 0 "" fault env CS_FAULT_OP=read CS_FAULT_ACTION=short CS_FAULT_AT=1- "$CS" restore "$T/b.cst" --to "$R" --replace
same_tree "$S" "$R" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
rm -rf "$T/p"
cat "$T/b.cst" | fault env CS_FAULT_OP=read CS_FAULT_ACTION=short CS_FAULT_AT=1- \
	"$CS" restore - --to "$T/p" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "short reads from a pipe"; }
same_tree "$S" "$T/p" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
n=$((n + 5))

if [ -n "${CS_IN_NS:-}" ]; then
	M=$T/m
	mkdir -p "$T/vol" "$M"
	mount --bind "$T/vol" "$M" || fail "bind mount"
	mkold_m() {
		find "$M" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
		echo old >"$M/old.txt"
	}
	# Before the journal: rolled back at once.
	mkold_m
	expect 1 "$M: put the journal in place: Input/output error" fault env CS_FAULT_OP=renameat2 \
		CS_FAULT_AT=1 "$CS" restore "$T/b.cst" --to "$M" --replace
	[ "$(ls -A "$M")" = old.txt ] || fail "mount: not rolled back: $(ls -A "$M")"
	# After it: half swapped, and the message says how to finish.
	for at in 2 5; do
		mkold_m
		expect 1 "Input/output error; clawstate recover $M finishes the swap" fault env \
			CS_FAULT_OP=renameat2 CS_FAULT_AT=$at "$CS" restore "$T/b.cst" --to "$M" --replace
		[ -f "$M/.clawstate-journal" ] || fail "mount: no journal after a failed swap"
		expect 0 "" "$CS" recover "$M"
		out_has "finished the interrupted swap in $M"
		digest "$M" --no-dir-mtime --skip-sqlite state/openclaw.sqlite | grep -v "^b'\.clawstate-" |
			grep -v "^b'\.' " >"$T/x.d"
		digest "$S" --no-dir-mtime --skip-sqlite state/openclaw.sqlite | grep -v "^b'\.' " >"$T/s.d"
		cmp -s "$T/x.d" "$T/s.d" || { diff "$T/x.d" "$T/s.d" | head; fail "mount: recover after a failed swap: not the new tree"; }
		[ "$(cat "$M/.clawstate-old-1/old.txt")" = old ] || fail "mount: the old tree is not kept"
		n=$((n + 1))
	done
	n=$((n + 1))
fi
note "$n exact restore faults"
sweep restore,migrate-docker,migrate-host${CS_IN_NS:+,mount} 3
exit 0
