#!/bin/sh
# run.sh - run libFuzzer targets for SECONDS each on a scratch copy of their
# seed corpus (tests/fuzz/corpus/<target>/; new inputs stay in the scratch dir).
#
#   run.sh SECONDS TARGET...        (FUZZ_BUILD: the fuzz_* binaries, default build-fuzz)
#
# Per target one line: executions, rate, corpus growth, peak RSS, ok/FAIL.  A
# crash, leak, timeout or out-of-memory fails the target: its reproducer stays
# in $FUZZ_BUILD/artifacts/<target>/, and the path and the command that replays
# it are printed with the end of the log.  The last line is "N passed, N
# failed"; the exit code is 1 when a target failed.
set -u
[ $# -ge 2 ] || { echo "usage: run.sh SECONDS TARGET..." >&2; exit 2; }
secs=$1
shift
REPO=$(cd "$(dirname "$0")/../.." && pwd)
FB=${FUZZ_BUILD:-build-fuzz}
case $FB in /*) ;; *) FB=$REPO/$FB ;; esac
WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawstate-fuzzrun.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# Inputs larger than any seed needs to be: mutations stay fast.
max_len() {
	case $1 in
	bheader) echo 8192 ;;
	backup | payload) echo 131072 ;;
	manifest | sqlite) echo 65536 ;;
	*) echo 16384 ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
total=0
t0=$(date +%s)
for t in "$@"; do
	bin=$FB/fuzz_$t
	corpus=$WORK/corpus-$t
	art=$FB/artifacts/$t
	log=$WORK/$t.log
	mkdir -p "$corpus" "$art"
	if [ ! -x "$bin" ]; then
		echo "fuzz_$t: no binary $bin (make fuzz-build): FAIL"
		failed=$((failed + 1))
		continue
	fi
	cp "$REPO/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null
	seeds=$(ls "$corpus" | wc -l)
	dict=
	[ -f "$REPO/tests/fuzz/$t.dict" ] && dict=-dict=$REPO/tests/fuzz/$t.dict
	: >"$WORK/start"
	s0=$(date +%s)
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$art/" \
		$dict "$corpus" >"$log" 2>&1
	rc=$?
	s1=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
	after=$(ls "$corpus" | wc -l)
	line="fuzz_$t: $((s1 - s0)) s, ${execs:-?} executions (${rate:-?}/s), corpus $seeds -> $after, peak RSS ${rss:-?} MB"
	found=$(find "$art" -type f -newer "$WORK/start" ! -name 'slow-unit-*' | sort)
	if [ "$rc" = 0 ] && [ -z "$found" ]; then
		echo "$line: ok"
		passed=$((passed + 1))
		total=$((total + ${execs:-0}))
		continue
	fi
	echo "$line: FAIL (exit $rc)"
	grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error|INFO: a leak)' "$log" |
		head -n 5 | sed 's/^/  /'
	tail -n 40 "$log" | sed 's/^/  | /'
	for f in $found; do
		echo "  reproducer: $f"
		echo "  replay:     $bin $f"
	done
	failed=$((failed + 1))
done
echo "fuzz: $total executions in $(($(date +%s) - t0)) s over $passed passing targets"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
