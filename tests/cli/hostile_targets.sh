#!/bin/sh
# Odd restore targets and siblings: a target that is a symlink (to a dir, to a
# file, dangling; also with a trailing slash) is refused with exit 6 and
# nothing at or beside the link's destination changes; a target whose parent
# is a symlink works; a dir holding only a dotfile is not empty; existing
# DIR.clawstate-old-* names (dir, file, symlink to elsewhere) are skipped;
# foreign things under a stage-lock name are left alone; --to the state dir
# itself and --to inside it; restore --snapshot into the vault or an ancestor
# of it is refused (exit 2) and never deletes the vault; a non-root restore
# removes old trees with 0000/0300 dirs (--no-keep).
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkdir -p "$S/agents/main" "$S/credentials"
echo '{"a":1}' >"$S/openclaw.json"
echo secret >"$S/credentials/creds.json"
echo hi >"$S/agents/main/x"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
SEQ=1

W=$T/w
mkdir -p "$W/elsewhere" "$W/realparent"
echo precious >"$W/elsewhere/p"
echo file >"$W/afile"
touch -d @1600000000 "$W/elsewhere/p" "$W/elsewhere"
state() { (cd "$W" && find . -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort); }

# --- a symlink as the target --------------------------------------------------------------
ln -s elsewhere "$W/tl"
ln -s afile "$W/tf"
ln -s nowhere "$W/td"
state >"$T/before"
for t in tl tl/ tf td; do
	for opt in "" --replace "--replace --no-keep" --dry-run; do
		# shellcheck disable=SC2086
		expect 6 "target is a symlink; not replaced" "$CS" restore "$T/b.cst" --to "$W/$t" $opt
	done
done
state >"$T/after"
cmp -s "$T/before" "$T/after" || { diff "$T/before" "$T/after" >&2; fail "a symlink target changed something"; }
for x in "$W"/*.clawstate-*; do [ -e "$x" ] && fail "leftover $x"; done

# --- a symlink in the parent is resolved (the siblings go to the real parent) --------------
ln -s realparent "$W/lp"
expect 0 "" "$CS" restore "$T/b.cst" --to "$W/lp/r"
[ -f "$W/realparent/r/openclaw.json" ] || fail "restore through a parent symlink"
[ -L "$W/lp" ] || fail "the parent symlink was replaced"

# --- only a dotfile is not empty -----------------------------------------------------------
mkdir "$W/dot"
echo x >"$W/dot/.hidden"
expect 6 "target is not empty (use --replace)" "$CS" restore "$T/b.cst" --to "$W/dot"
[ "$(ls -A "$W/dot")" = .hidden ] || fail "dot target changed"
expect 0 "" "$CS" restore "$T/b.cst" --to "$W/dot" --replace
[ -f "$W/dot.clawstate-old-$SEQ/.hidden" ] || fail "the dotfile tree was not kept"
[ -f "$W/dot/openclaw.json" ] || fail "dot target not restored"

# --- existing old names: a dir, a file, a symlink to elsewhere -----------------------------
mkdir -p "$W/o/sub" "$W/o.clawstate-old-$SEQ"
echo old >"$W/o/sub/f"
echo mine >"$W/o.clawstate-old-$SEQ/keep"
echo file >"$W/o.clawstate-old-$SEQ.1"
ln -s elsewhere "$W/o.clawstate-old-$SEQ.2"
expect 0 "" "$CS" restore "$T/b.cst" --to "$W/o" --replace
out_has "old tree kept at $W/o.clawstate-old-$SEQ.3"
[ "$(cat "$W/o.clawstate-old-$SEQ.3/sub/f")" = old ] || fail "old tree not at .3"
[ "$(cat "$W/o.clawstate-old-$SEQ/keep")" = mine ] || fail "existing old dir touched"
[ "$(cat "$W/o.clawstate-old-$SEQ.1")" = file ] || fail "existing old file touched"
[ "$(readlink "$W/o.clawstate-old-$SEQ.2")" = elsewhere ] || fail "existing old symlink touched"
[ "$(ls -A "$W/elsewhere")" = p ] || fail "elsewhere changed"

# --- foreign things under stage and lock names are left alone -------------------------------
mkdir -p "$W/f" "$W/f.clawstate-stage-deadbeef"
echo mine >"$W/f.clawstate-stage-deadbeef/keep"       # a stage dir without a lock
ln -s "$W/elsewhere/p" "$W/f.clawstate-stage-0badf00d.lock"  # a symlink as a lock
mkfifo "$W/f.clawstate-stage-feedf00d.lock"            # a FIFO as a lock
mkdir "$W/f.clawstate-stage-cafef00d.lock"             # a dir as a lock
expect 0 "" "$CS" restore "$T/b.cst" --to "$W/f" --replace
[ "$(cat "$W/f.clawstate-stage-deadbeef/keep")" = mine ] || fail "foreign stage dir touched"
[ -L "$W/f.clawstate-stage-0badf00d.lock" ] || fail "symlink lock removed"
[ -p "$W/f.clawstate-stage-feedf00d.lock" ] || fail "FIFO lock removed"
[ -d "$W/f.clawstate-stage-cafef00d.lock" ] || fail "dir lock removed"
[ "$(cat "$W/elsewhere/p")" = precious ] || fail "the symlink lock's target changed"

# --- --to the state dir itself, and inside it ------------------------------------------------
echo changed >"$S/openclaw.json"
expect 0 "" "$CS" restore "$T/b.cst" --to "$S" --replace
[ "$(cat "$S/openclaw.json")" = '{"a":1}' ] || fail "state dir not restored"
[ "$(cat "$S.clawstate-old-$SEQ/openclaw.json")" = changed ] || fail "old state not kept"
expect 0 "" "$CS" restore "$T/b.cst" --to "$S/restored"
[ -f "$S/restored/openclaw.json" ] || fail "restore inside the state dir"
expect 0 "" "$CS" snapshot --state "$S"
rm -rf "$S/restored"

# --- restore --snapshot must not swap out, delete or write into its own vault ---------------
mkdir -p "$T/h2/st"
echo x >"$T/h2/st/f"
mkdir -p "$T/h2/.local"
expect 0 "" "$CS" init --vault "$T/h2/.local/v" --key-file "$T/key2"
expect 0 "" "$CS" snapshot --vault "$T/h2/.local/v" --key-file "$T/key2" --state "$T/h2/st"
for t in "$T/h2" "$T/h2/.local" "$T/h2/.local/v" "$T/h2/.local/v/inside"; do
	expect 2 "the target and the vault ($T/h2/.local/v) must not contain each other" \
		"$CS" restore --snapshot latest --vault "$T/h2/.local/v" --key-file "$T/key2" \
		--to "$t" --replace --no-keep
done
expect 0 "" "$CS" verify --vault "$T/h2/.local/v" --key-file "$T/key2"
[ -f "$T/h2/st/f" ] || fail "the tree around the vault changed"

# --- non-root: old trees with dirs it cannot enter are still removed -------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	N=$T/nr
	mkdir -p "$N"
	cp "$T/b.cst" "$T/key" "$N/"
	mkdir -p "$N/t/locked/inner" "$N/t/wonly/x"
	echo x >"$N/t/locked/inner/f"
	chown -R 1001:1001 "$N"
	chmod 000 "$N/t/locked"
	chmod 300 "$N/t/wonly"
	chmod 000 "$N/t/wonly/x"
	expect 0 "" setpriv --reuid 1001 --regid 1001 --clear-groups \
		"$CS" restore "$N/b.cst" --key-file "$N/key" --to "$N/t" --replace --no-keep
	out_has "old tree removed (--no-keep)"
	[ -f "$N/t/openclaw.json" ] || fail "non-root restore"
	for x in "$N"/t.clawstate-*; do [ -e "$x" ] && fail "leftover $x"; done
else
	note "not root: the non-root removal case is skipped"
fi
exit 0
