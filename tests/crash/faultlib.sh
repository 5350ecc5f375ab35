# faultlib.sh - sourced by tests/cli/fault_*.sh and concurrency.sh after lib.sh.
# As root it first re-runs the case in a private mount namespace (unshare -m;
# CS_IN_NS=1 there), where it may mount tmpfs and bind mounts.  It finds (or
# builds) tests/crash/faultshim.so and sets PRE, the LD_PRELOAD value: under a
# sanitizer build libasan must come first, so it is put before the shim.
# fault ENV... CMD...: run CMD with the shim preloaded.
if [ -z "${CS_IN_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare -m sh -c "mkdir -p '$T/probe' && mount -t tmpfs none '$T/probe'" 2>/dev/null; then
	exec env CS_IN_NS=1 unshare -m sh "$0"
fi
SHIM=${BUILD:-$TESTS/../build}/tests/faultshim.so
if [ ! -f "$SHIM" ]; then
	SHIM=$T/faultshim.so
	${CC:-cc} -shared -fPIC -O2 -o "$SHIM" "$TESTS/crash/faultshim.c" -ldl ||
		skip "cannot build faultshim.so"
fi
PRE=$SHIM
ASAN_RT=$(ldd "$CS" 2>/dev/null | sed -n 's/.*libasan[^ ]* => \([^ ]*\).*/\1/p' | head -n 1)
[ -n "$ASAN_RT" ] && PRE="$ASAN_RT $SHIM"
fault() {
	env LD_PRELOAD="$PRE" "$@"
}
# sweep NAMES SAMPLE: tests/crash/faults.py on those scenarios, SAMPLE points
# per call class, on a tmpfs when we may mount one (fsync on a disk is slow).
sweep() {
	mkdir -p "$T/sweep"
	if [ -n "${CS_IN_NS:-}" ] && mount -t tmpfs -o size=1g none "$T/sweep"; then
		_ns=1
	else
		_ns=
	fi
	CS_CRASH_NS=$_ns "$PY" "$TESTS/crash/faults.py" --cs "$CS" --shim "$SHIM" --work "$T/sweep/w" \
		--only "$1" --sample "$2" --seed "${FAULT_SEED:-1}" >"$T/sweep.log" 2>&1
	_rc=$?
	cat "$T/sweep.log"
	[ -n "$_ns" ] && umount -R "$T/sweep"
	[ "$_rc" = 0 ] || fail "faults.py sweep failed (FAULT_SEED=${FAULT_SEED:-1})"
	rm -rf "$T/sweep"
}
