#!/bin/sh
# run.sh - run every unit test binary in $BUILD/tests/ and every command-line
# case tests/cli/*.sh, then print failures with their output and the closing
# line "N passed, N failed, N skipped" (exit 1 if anything failed).
#
# Unit binaries print their own "N passed, N failed" (check.h); those counts are
# added up.  A command-line case is one check: exit 0 = pass, unless it printed
# a line starting "SKIP" (lib.sh's skip: it could not run here), which is
# listed as "skip" and counted apart, not as a failure.  Each case runs
# with CS=<the binary>, T=<a private temp dir>, TESTS=<this dir>, under a
# timeout.  ONLY=substring runs the matching tests only; KEEP=1 keeps the logs
# and temp dirs (the path is printed).
set -u
BUILD=${BUILD:-build}
TESTS=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$TESTS/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
CS=$BUILD/clawstate
CASE_TIMEOUT=${CASE_TIMEOUT:-300}
export CS TESTS REPO BUILD

passed=0
failed=0
skipped=0
failures=""
WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawstate-tests.XXXXXX") || exit 1
chmod 755 "$WORK"   # cases running as another uid (setpriv) need to reach their dirs
trap 'if [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi' EXIT
[ "${KEEP:-0}" = 1 ] && echo "keeping logs and temp dirs in $WORK"
trap 'exit 130' INT TERM

record_failure() { # name logfile
	failures="$failures $1"
	{
		echo "==== FAIL: $1"
		tail -n 60 "$2"
		echo
	} >>"$WORK/failures.txt"
}

if [ ! -x "$CS" ]; then
	echo "run.sh: $CS is not built (run make)" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

start=$(date +%s)
for bin in "$BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	name=unit/$(basename "$bin")
	if [ -n "${ONLY:-}" ]; then
		case $name in *"$ONLY"*) ;; *) continue ;; esac
	fi
	log=$WORK/$(basename "$bin").log
	t0=$(date +%s)
	(cd "$WORK" && timeout "$CASE_TIMEOUT" "$bin") >"$log" 2>&1
	rc=$?
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$summary" ]; then
		p=${summary%% passed*}
		f=${summary#*passed, }
		f=${f%% failed}
	else
		p=0
		f=0
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1 # crashed, timed out or failed without saying so
		echo "(exit status $rc)" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		record_failure "$name" "$log"
		echo "FAIL $name ($p passed, $f failed, $(($(date +%s) - t0))s)"
	else
		echo "ok   $name ($p checks, $(($(date +%s) - t0))s)"
	fi
done

for case in "$TESTS"/cli/*.sh; do
	[ -f "$case" ] || continue
	name=cli/$(basename "$case" .sh)
	if [ -n "${ONLY:-}" ]; then
		case $name in *"$ONLY"*) ;; *) continue ;; esac
	fi
	T=$WORK/$(basename "$case" .sh)
	mkdir -p "$T"
	chmod 755 "$T"
	log=$WORK/$(basename "$case" .sh).log
	shell=sh
	head -n 1 "$case" | grep -q bash && shell=bash
	t0=$(date +%s)
	(cd "$T" && T=$T timeout "$CASE_TIMEOUT" "$shell" "$case") >"$log" 2>&1 </dev/null
	rc=$?
	if [ "$rc" = 0 ]; then
		skip=$(grep -m1 '^SKIP' "$log" || true)
		if [ -n "$skip" ]; then
			skipped=$((skipped + 1))
			skip=${skip#SKIP}
			skip=${skip#:}
			echo "skip $name ($(($(date +%s) - t0))s) -${skip:- (no reason given)}"
		else
			passed=$((passed + 1))
			echo "ok   $name ($(($(date +%s) - t0))s)"
		fi
	else
		failed=$((failed + 1))
		[ "$rc" = 124 ] && echo "(timed out after ${CASE_TIMEOUT}s)" >>"$log"
		record_failure "$name" "$log"
		echo "FAIL $name (exit $rc, $(($(date +%s) - t0))s)"
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
done

if [ -s "$WORK/failures.txt" ]; then
	echo
	cat "$WORK/failures.txt"
	echo "failed:$failures"
fi
echo "time: $(($(date +%s) - start))s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
