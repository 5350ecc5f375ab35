#!/bin/sh
# demo.sh - the main job end to end on a generated OpenClaw state dir (make demo):
# init -> snapshot -> snapshot again -> backup -> verify -> restore into a fresh
# dir, printing each command and what it did, then a verification summary.
# Everything happens in a new work directory, which is printed and kept at the
# end so the vault, the backup file and the restored tree can be looked at.
set -u
BUILD=${BUILD:-build}
TESTS=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$TESTS/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
CS=$BUILD/clawstate
PY=${PYTHON:-python3}
[ -x "$CS" ] || { echo "demo: $CS is not built (run make)" >&2; exit 1; }

D=$(mktemp -d "${TMPDIR:-/tmp}/clawstate-demo.XXXXXX") || exit 1
trap 'echo; echo "demo: interrupted; the work directory $D is kept (rm -rf $D removes it)"; exit 130' INT TERM
cd "$D" || exit 1
echo "demo: work directory $D (kept at the end)"
# Keep the demo away from the user's real vault, state dir and credentials.
unset CLAWSTATE_VAULT CLAWSTATE_PASSPHRASE_FILE CLAWSTATE_KEY_FILE OPENCLAW_STATE_DIR \
	OPENCLAW_HOME XDG_STATE_HOME
HOME=$D/home
export HOME

say() { printf '\n== %s\n' "$*"; }
run() {
	echo "\$ clawstate $*"
	"$CS" "$@" >cmd.out 2>&1
	rc=$?
	sed 's/^/  /' cmd.out
	[ "$rc" = 0 ] || { echo "  (exit $rc)"; ok=0; }
}
ok=1

say "A sample OpenClaw state dir (WhatsApp session, API keys, SQLite, workspace, media)"
"$PY" "$TESTS/gen_fixture.py" --out home/alice/.openclaw --keys 800 --media-mb 4 2>&1 | sed 's/^/  /'
# Counted the way a snapshot counts: every entry below the root (the root
# itself is not one), a file per inode (further hardlink names are entries but
# not files), sizes in apparent bytes.
entries=$(find home/alice/.openclaw -mindepth 1 | wc -l)
find home/alice/.openclaw -type f -printf '%i %s\n' | sort -u | awk -v e="$entries" '
	{ n++; s += $2 }
	END {
		split("KiB MiB GiB TiB", u, " ")
		if (s < 1024) h = s " B"
		else { v = s / 1024; i = 1; while (v >= 1024 && i < 4) { v /= 1024; i++ }
			h = sprintf("%.1f %s", v, u[i]) }
		printf "  %d entries, %d files, %s of file data\n", e, n, h
	}'
# Snapshots reuse files whose ctime is older than the previous snapshot's
# start minus a second; let the fresh fixture age a little.
sleep 2
S=home/alice/.openclaw

say "Create a vault, unlocked by a new key file (a passphrase works the same way)"
run init --vault vault --key-file demo.key

say "Snapshot the state dir into the vault"
run snapshot --state "$S" --vault vault --key-file demo.key

say "Change one file and snapshot again: unchanged files are reused without reading"
echo "- the user now prefers coffee" >>"$S/workspace/MEMORY.md"
run snapshot --state "$S" --vault vault --key-file demo.key
run snapshots --vault vault --key-file demo.key

say "Write an encrypted backup file of the latest snapshot"
run backup --snapshot latest --vault vault --key-file demo.key -o state.cst
echo "  $(ls -l state.cst | awk '{print $1, $5}') state.cst"

say "Verify it (decrypt and check everything, write nothing)"
echo "\$ clawstate verify state.cst --key-file demo.key"
"$CS" verify state.cst --key-file demo.key >verify.out 2>&1
vrc=$?
sed 's/^/  /' verify.out

say "Restore it into a fresh directory (staged beside it, checked, then swapped in)"
mkdir restored
run restore state.cst --to restored/.openclaw --key-file demo.key

say "Verification summary"
"$PY" "$TESTS/treedigest.py" --no-dir-mtime --skip-sqlite state/openclaw.sqlite "$S" >a.digest
"$PY" "$TESTS/treedigest.py" --no-dir-mtime --skip-sqlite state/openclaw.sqlite restored/.openclaw >b.digest 2>/dev/null
if cmp -s a.digest b.digest; then same=yes; else same=no; ok=0; fi
echo "  tree digests equal (content, modes, mtimes, owners, links; dir mtimes aside): $same"
db=no
if [ -f restored/.openclaw/state/openclaw.sqlite ]; then
	cp restored/.openclaw/state/openclaw.sqlite check.sqlite
	db=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' check.sqlite 2>&1)
fi
[ "$db" = ok ] || ok=0
echo "  restored SQLite database integrity_check: $db"
if [ "$vrc" = 0 ]; then v=ok; else v="FAILED (exit $vrc)"; ok=0; fi
echo "  verify: $v"
leak=none
for m in $("$PY" "$TESTS/gen_fixture.py" --markers); do
	grep -rqaF "$m" vault state.cst && leak="$m FOUND" && ok=0
done
echo "  planted secrets visible in the vault or backup file: $leak"
echo
echo "demo: the work directory is kept for you to look at: $D"
echo "  (vault/, state.cst, demo.key, home/alice/.openclaw, restored/.openclaw)"
echo "  remove it with: rm -rf $D"
if [ "$ok" = 1 ]; then
	echo "demo: all good"
	exit 0
fi
echo "demo: something did not match (see above)"
exit 1
