# lib.sh - helpers for the command-line cases in tests/cli/ (sourced, POSIX sh).
# run.sh gives each case CS (the binary), T (a private temp dir) and TESTS.
set -u
: "${CS:?CS must name the clawstate binary}" "${T:?T must name a temp dir}"
TESTS=${TESTS:-$(cd "$(dirname "$0")/.." && pwd)}
PY=${PYTHON:-python3}

# Nothing from the caller's environment may reach a vault or state dir.
unset CLAWSTATE_VAULT CLAWSTATE_PASSPHRASE_FILE CLAWSTATE_KEY_FILE OPENCLAW_STATE_DIR \
	OPENCLAW_HOME XDG_STATE_HOME CLAWSTATE_TEST_KILL_AT CLAWSTATE_TEST_COUNT \
	CLAWSTATE_TEST_EACCES
HOME=$T/home
LC_ALL=C
export HOME LC_ALL
mkdir -p "$HOME"

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }
skip() { echo "SKIP: $*"; exit 0; }

# expect CODE FRAGMENT CMD...  Run CMD: its exit code must be CODE and its
# stderr must contain FRAGMENT ("" = anything).  Output stays in $T/out, $T/err.
expect() {
	_want=$1
	_frag=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	_got=$?
	if [ "$_got" != "$_want" ]; then
		echo "FAIL: exit $_got, want $_want: $*" >&2
		head -n 20 "$T/err" | sed 's/^/  stderr: /' >&2
		head -n 10 "$T/out" | sed 's/^/  stdout: /' >&2
		exit 1
	fi
	if [ -n "$_frag" ] && ! grep -qF -- "$_frag" "$T/err"; then
		echo "FAIL: stderr lacks '$_frag': $*" >&2
		head -n 20 "$T/err" | sed 's/^/  stderr: /' >&2
		exit 1
	fi
	echo "ok [$_want${_frag:+ \"$_frag\"}] $*"
}

# out_has FRAGMENT: the last expect's stdout contains FRAGMENT.
out_has() {
	grep -qF -- "$1" "$T/out" || { head -n 20 "$T/out" | sed 's/^/  stdout: /' >&2; fail "stdout lacks '$1'"; }
}

# mkstate DIR [gen_fixture options]: a generated OpenClaw state dir.
mkstate() {
	_dir=$1
	shift
	"$PY" "$TESTS/gen_fixture.py" --out "$_dir" "$@" || fail "gen_fixture.py failed"
}

# mkvault DIR KEYFILE: a vault unlocked by a new key file; both exported.
mkvault() {
	expect 0 "" "$CS" init --vault "$1" --key-file "$2"
	CLAWSTATE_VAULT=$1
	CLAWSTATE_KEY_FILE=$2
	export CLAWSTATE_VAULT CLAWSTATE_KEY_FILE
}

digest() { # DIR [treedigest options]
	_d=$1
	shift
	"$PY" "$TESTS/treedigest.py" "$@" "$_d"
}

# same_tree A B [treedigest options]: full digests equal.
same_tree() {
	_a=$1
	_b=$2
	shift 2
	digest "$_a" "$@" >"$T/digest.a" || fail "digest of $_a"
	digest "$_b" "$@" >"$T/digest.b" || fail "digest of $_b"
	if ! cmp -s "$T/digest.a" "$T/digest.b"; then
		diff "$T/digest.a" "$T/digest.b" | head -n 30 >&2
		fail "trees differ: $_a $_b"
	fi
	echo "ok same tree: $_a $_b"
}

# no_leftovers DIR: nothing of a restore beside DIR (stage dirs, locks).
no_stage() {
	for _x in "$1".clawstate-stage-*; do
		[ -e "$_x" ] && fail "leftover staging entry $_x"
	done
	return 0
}

# absent DIR: DIR and every DIR.clawstate-* sibling are absent.
absent() {
	[ -e "$1" ] && fail "$1 exists"
	for _x in "$1".clawstate-*; do
		[ -e "$_x" ] && fail "leftover $_x"
	done
	return 0
}

# json FILE PYTHON-EXPR: evaluate EXPR with d = the parsed document; prints it.
json() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# kill_job PID: stop a background helper we started.
kill_job() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
