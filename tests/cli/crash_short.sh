#!/bin/sh
# The short form of the crash-kill harness (tests/crash/crash.py, long form
# `make crash`): SIGKILL snapshot, backup, backup --state, restore --replace,
# migrate to docker and back to a host layout, a restore into a mount point
# and recover, at test points drawn by a seed and at random moments, checking
# after every kill that the vault verifies, earlier snapshots are intact, a
# target is the complete old or the complete new tree, a backup's final name
# is only ever complete, and the next run cleans up.  At least 200 kills.
# CRASH_SEED=S replays a run (the seed is printed); CRASH_SHORT_KILLS=N.
. "$TESTS/lib.sh"
command -v "$PY" >/dev/null || skip "no python3"
KILLS=${CRASH_SHORT_KILLS:-320}
# a sanitizer build runs each command several times slower: the minimum
ldd "$CS" 2>/dev/null | grep -q libasan && KILLS=${CRASH_SHORT_KILLS:-200}
SEED=${CRASH_SEED:-20261203}
sh "$TESTS/crash/ns.sh" "$T/w" "$PY" "$TESTS/crash/crash.py" --cs "$CS" --work "$T/w/crash" \
	--kills "$KILLS" --seed "$SEED" >"$T/crash.log" 2>&1
rc=$?
cat "$T/crash.log"
[ "$rc" = 0 ] || fail "crash.py failed (exit $rc); replay with CRASH_SEED=$SEED"
grep -q "^[0-9]* kills survived" "$T/crash.log" || fail "no total"
total=$(sed -n 's/^\([0-9]*\) kills survived.*/\1/p' "$T/crash.log")
[ "$total" -ge 200 ] || fail "only $total kills"
if [ "$(id -u)" = 0 ]; then
	for s in snapshot backup backup-state restore migrate-docker migrate-host mount recover; do
		grep -q "^$s: [0-9]* kills survived" "$T/crash.log" || fail "no kills of $s"
	done
fi
exit 0
