#!/bin/sh
# bench.sh - make bench: time and peak RSS of snapshot, backup, verify and
# restore of a state dir holding one large file (1 GiB by default, BENCH_MB to
# change), with a key-file slot so no Argon2 memory is counted.  Prints
# figures only; it never fails on speed.  Needs about 4x the size in free disk.
set -u
BUILD=${BUILD:-build}
TESTS=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$TESTS/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
CS=$BUILD/clawstate
PY=${PYTHON:-python3}
MB=${BENCH_MB:-1024}
[ -x "$CS" ] || { echo "bench: $CS is not built (run make)" >&2; exit 1; }

BASE=${TMPDIR:-/tmp}
need_kb=$((MB * 1024 * 4 + 200000))
free_kb=$(df -Pk "$BASE" | awk 'NR == 2 {print $4}')
if [ "$free_kb" -lt "$need_kb" ]; then
	echo "bench: needs $((need_kb / 1024)) MiB free in $BASE, has $((free_kb / 1024)) MiB; set TMPDIR or BENCH_MB"
	exit 0
fi
D=$(mktemp -d "$BASE/clawstate-bench.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT INT TERM
unset CLAWSTATE_VAULT CLAWSTATE_PASSPHRASE_FILE OPENCLAW_STATE_DIR OPENCLAW_HOME XDG_STATE_HOME
HOME=$D/home
export HOME
export CLAWSTATE_KEY_FILE=$D/key CLAWSTATE_VAULT=$D/vault

# measure LABEL CMD...: wall time, peak RSS (GNU time's maximum resident set,
# which counts the LMDB map's file pages too) and the peak anonymous memory
# (RssAnon sampled from /proc every 20 ms: the heap, buffers, keys).
measure() {
	label=$1
	shift
	t0=$(date +%s.%N)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$D/rss" "$@" >"$D/out" 2>"$D/err" &
	else
		"$@" >"$D/out" 2>"$D/err" &
	fi
	pid=$!
	anon=0
	hwm=0
	while kill -0 "$pid" 2>/dev/null; do
		target=$pid
		kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
		[ -n "$kids" ] && target=${kids%% *}
		set -- $(awk '/^RssAnon:/ {a = $2} /^VmHWM:/ {h = $2} END {print a + 0, h + 0}' \
			"/proc/$target/status" 2>/dev/null)
		[ "${1:-0}" -gt "$anon" ] && anon=$1
		[ "${2:-0}" -gt "$hwm" ] && hwm=$2
		sleep 0.02
	done
	wait "$pid"
	rc=$?
	t1=$(date +%s.%N)
	rss=$hwm
	[ -s "$D/rss" ] && rss=$(tail -n 1 "$D/rss")
	rm -f "$D/rss"
	awk -v l="$label" -v a="$t0" -v b="$t1" -v r="$rss" -v an="$anon" -v mb="$MB" -v rc="$rc" 'BEGIN {
		s = b - a; if (s <= 0) s = 0.001
		printf "%-26s %8.2f s %9.1f MiB/s %9.1f MiB %9.1f MiB%s\n", l, s, mb / s, r / 1024,
			an / 1024, rc == 0 ? "" : sprintf("  (exit %d)", rc) }'
	[ "$rc" = 0 ] || sed 's/^/    /' "$D/err" | tail -n 5
	echo "$rss $anon" >>"$D/peaks"
}

echo "bench: one ${MB} MiB file plus a small OpenClaw state dir, in $D"
"$PY" "$TESTS/gen_fixture.py" --out "$D/state" --keys 800 --media-mb "$MB" --no-chown 2>/dev/null ||
	{ echo "bench: fixture failed"; exit 1; }
sleep 2
"$CS" init --key-file "$D/key" >/dev/null || { echo "bench: init failed"; exit 1; }
printf '%-26s %10s %15s %13s %13s\n' step time throughput "peak RSS" "peak anon"
measure "snapshot (first)" "$CS" snapshot --state "$D/state"
measure "snapshot (unchanged)" "$CS" snapshot --state "$D/state"
measure "backup --snapshot latest" "$CS" backup --snapshot latest -o "$D/b.cst"
measure "verify FILE" "$CS" verify "$D/b.cst"
measure "restore FILE" "$CS" restore "$D/b.cst" --to "$D/restored"
rm -rf "$D/restored"
measure "restore --snapshot" "$CS" restore --snapshot latest --to "$D/restored"
measure "verify --vault" "$CS" verify --vault "$D/vault"
echo
echo "sizes: state $(du -sm "$D/state" | cut -f1) MiB, vault $(du -sm "$D/vault" | cut -f1) MiB, backup $(($(stat -c %s "$D/b.cst") / 1048576)) MiB"
peak=$(awk '$1 > m {m = $1} END {print m + 0}' "$D/peaks")
peak_anon=$(awk '$2 > m {m = $2} END {print m + 0}' "$D/peaks")
echo "largest peak RSS: $((peak / 1024)) MiB; largest anonymous (heap) peak: $((peak_anon / 1024)) MiB"
echo "(the design asks for < 64 MiB beyond the key derivation; RSS also counts the LMDB"
echo " map's file pages, which the kernel can drop at any time)"
exit 0
