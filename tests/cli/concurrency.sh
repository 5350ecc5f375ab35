#!/bin/sh
# Writers and readers at once, with real clawstate processes (busy.sh holds
# the lock with flock(1) instead).  A writer is stopped (SIGSTOP, from
# tests/crash/faultshim.so at its N-th fdatasync, fsync or syncfs) while it
# holds its lock, so every case is deterministic; the only waits are bounded
# loops for "it is stopped now" and "it is blocked in flock now".
#  - two snapshots: the second exits 6 "vault busy (pid <the first>)"; with
#    --wait it blocks until the first is done, then succeeds;
#  - a snapshot and a backup --state, both ways round: the second exits 6, and
#    the busy backup leaves no file;
#  - readers while a snapshot is stopped at each of its commits: verify
#    --vault, snapshots, ls, backup --snapshot and restore --snapshot succeed
#    and see the vault as it was before that snapshot;
#  - a writer SIGKILLed while it holds the lock: the lock is stale, the next
#    writer proceeds; one refused meanwhile names the live holder, not the dead;
#  - migrate --state: the capture dir (TMPDIR) of a killed run is removed by
#    the next run, that of a run still going is left alone;
#  - two restores to one target (a dir, and a mount point when we can mount):
#    the second exits 6 "another restore to DIR is running (pid N)", recover
#    DIR too; the first then completes and the next one works.
. "$TESTS/lib.sh"
[ -d /proc/self ] || skip "no /proc"
. "$TESTS/crash/faultlib.sh"

# A failing check must not leave a stopped writer behind, holding its lock.
STARTED=""
trap 'for _p in $STARTED; do kill -KILL "$_p" 2>/dev/null; done' EXIT
pstate() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
# start_stopped NAME OP N CMD...: run CMD in the background, stopped at its
# N-th call of OP; its pid in $P, output in $T/NAME.out and $T/NAME.err.
start_stopped() {
	_name=$1
	_op=$2
	_n=$3
	shift 3
	env LD_PRELOAD="$PRE" CS_FAULT_OP="$_op" CS_FAULT_AT="$_n" CS_FAULT_ACTION=stop \
		"$@" >"$T/$_name.out" 2>"$T/$_name.err" &
	P=$!
	STARTED="$STARTED $P"
	_i=0
	while [ "$(pstate "$P")" != T ]; do
		_i=$((_i + 1))
		case $(pstate "$P") in
		Z | "") cat "$T/$_name.err" >&2; fail "$_name ended before its $_n-th $_op" ;;
		esac
		[ "$_i" -le 3000 ] || fail "$_name never stopped at its $_n-th $_op"
		sleep 0.01
	done
}
# finish PID NAME: let it go on; it must exit 0.
finish() {
	kill -CONT "$1"
	wait "$1"
	_rc=$?
	[ "$_rc" = 0 ] || { cat "$T/$2.err" >&2; fail "$2: exit $_rc after it went on"; }
}
# blocked_in_flock PID: wait until PID sleeps in flock(2) (where /proc says
# which system call; elsewhere: until it sleeps and has not exited).
FLOCK_NR=
case $(uname -m) in x86_64) FLOCK_NR=73 ;; aarch64) FLOCK_NR=32 ;; esac
blocked_in_flock() {
	_i=0
	while :; do
		case $(pstate "$1") in
		Z | "") fail "pid $1 ended while it should wait for the lock" ;;
		S)
			if [ -z "$FLOCK_NR" ] || [ ! -r "/proc/$1/syscall" ]; then break; fi
			[ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = "$FLOCK_NR" ] && break
			;;
		esac
		_i=$((_i + 1))
		[ "$_i" -le 3000 ] || fail "pid $1 is not waiting in flock"
		sleep 0.01
	done
}
nsnaps() { "$CS" snapshots --json >"$T/n.json" || fail "snapshots"; json "$T/n.json" 'len(d["snapshots"])'; }
cases=0

S=$T/home/alice/.openclaw
mkstate "$S" --keys 20 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"

# --- two snapshots; --wait ---------------------------------------------------------------
echo one >>"$S/workspace/MEMORY.md"
start_stopped a fdatasync 1 "$CS" snapshot --state "$S"
A=$P
expect 6 "$T/vault: vault busy (pid $A) (use --wait to wait for it)" "$CS" snapshot --state "$S"
"$CS" snapshot --state "$S" --wait >"$T/b.out" 2>"$T/b.err" &
B=$!
blocked_in_flock "$B"
[ "$(nsnaps)" = 1 ] || fail "a stopped snapshot is visible"
finish "$A" a
wait "$B" || { cat "$T/b.err" >&2; fail "snapshot --wait failed"; }
[ "$(nsnaps)" = 3 ] || fail "want 3 snapshots after the two"
expect 0 "" "$CS" verify --vault "$T/vault"
cases=$((cases + 2))
note "two snapshots: the second is busy (6) naming the first's pid; --wait waits, then succeeds"

# --- a snapshot and a backup --state, both ways round -----------------------------------------
echo two >>"$S/workspace/MEMORY.md"
start_stopped a fdatasync 1 "$CS" snapshot --state "$S"
A=$P
expect 6 "vault busy (pid $A) (use --wait to wait for it)" "$CS" backup --state "$S" -o "$T/bs.cst"
[ -e "$T/bs.cst" ] && fail "a busy backup --state wrote its file"
ls -a "$T" | grep -q '^\.bs\.cst\.clawstate-tmp-' && fail "a busy backup --state left a temp file"
finish "$A" a
echo three >>"$S/workspace/MEMORY.md"
# stopped at the fsync of its backup file, after the snapshot committed
start_stopped a fsync 1 "$CS" backup --state "$S" -o "$T/bs.cst"
A=$P
expect 6 "vault busy (pid $A)" "$CS" snapshot --state "$S"
[ -e "$T/bs.cst" ] && fail "a stopped backup shows its final name"
"$CS" backup --state "$S" -o "$T/bs2.cst" --wait >"$T/b.out" 2>"$T/b.err" &
B=$!
blocked_in_flock "$B"
finish "$A" a
wait "$B" || { cat "$T/b.err" >&2; fail "backup --state --wait failed"; }
expect 0 "" "$CS" verify "$T/bs.cst"
expect 0 "" "$CS" verify "$T/bs2.cst"
cases=$((cases + 3))
note "snapshot vs backup --state: each busy (6) while the other writes; --wait works for backup"

# --- readers during a write, stopped at each of its commits -----------------------------------
# A changed tree that commits chunks in two batches (8 MiB each) before the
# snapshot record, so readers meet the vault between batches too.
head -c 9000000 /dev/urandom >"$S/media/big.bin"
echo four >>"$S/workspace/MEMORY.md"
expect 0 "" "$CS" snapshots --json
cp "$T/out" "$T/list.before"
rm -rf "$T/ref"
expect 0 "" "$CS" restore --snapshot latest --to "$T/ref"
expect 0 "" "$CS" ls latest --json
cp "$T/out" "$T/ls.before"
LAST=$(json "$T/list.before" 'd["snapshots"][-1]["seq"]')
cp -a "$T/vault" "$T/vault.saved"
rm -f "$T/count"
expect 0 "" env LD_PRELOAD="$PRE" CS_FAULT_COUNT="$T/count" \
	"$CS" snapshot --vault "$T/vault.saved" --state "$S"
N=$(sed -n 's/^fdatasync //p' "$T/count")
[ -n "$N" ] && [ "$N" -ge 4 ] || fail "implausible fdatasync count '$N'"
rm -rf "$T/vault.saved"
k=1
while [ "$k" -le "$N" ]; do
	cp -a "$T/vault" "$T/vault.k"
	start_stopped w fdatasync "$k" "$CS" snapshot --vault "$T/vault.k" --state "$S"
	W=$P
	V="--vault $T/vault.k"
	# shellcheck disable=SC2086
	{
		expect 0 "" "$CS" verify $V
		out_has "$(json "$T/list.before" 'len(d["snapshots"])') snapshots,"
		expect 0 "" "$CS" snapshots $V --json
		cmp -s "$T/out" "$T/list.before" || fail "stopped at fdatasync $k: the list changed"
		expect 0 "" "$CS" ls latest $V --json
		cmp -s "$T/out" "$T/ls.before" || fail "stopped at fdatasync $k: latest lists differently"
		rm -rf "$T/rd" "$T/rd.cst"
		expect 0 "" "$CS" restore --snapshot latest $V --to "$T/rd"
		same_tree "$T/ref" "$T/rd" --no-dir-mtime
		expect 0 "" "$CS" backup --snapshot "$LAST" $V -o "$T/rd.cst"
		expect 0 "" "$CS" verify "$T/rd.cst"
	}
	finish "$W" w
	expect 0 "" "$CS" verify --vault "$T/vault.k"
	rm -rf "$T/vault.k"
	cases=$((cases + 1))
	k=$((k + 1))
done
note "readers during a snapshot stopped at each of its $N commits: all succeed, see the vault before it"

# --- a lock left by a killed writer -----------------------------------------------------------
echo five >>"$S/workspace/MEMORY.md"
start_stopped a fdatasync 1 "$CS" snapshot --state "$S"
A=$P
kill -KILL "$A"
wait "$A" 2>/dev/null
[ "$(tr -dc 0-9 <"$T/vault/writer.lock")" = "$A" ] || fail "the killed writer's pid is not in writer.lock"
start_stopped c fdatasync 1 "$CS" snapshot --state "$S"
C=$P
expect 6 "vault busy (pid $C)" "$CS" snapshot --state "$S"
finish "$C" c
expect 0 "" "$CS" snapshot --state "$S"
expect 0 "" "$CS" verify --vault "$T/vault"
cases=$((cases + 1))
note "a SIGKILLed writer's lock is stale: the next writer proceeds; a refused one names the live holder"

# --- migrate --state: a killed run's capture dir goes, a live one's stays -----------------------
# (its throwaway vault in TMPDIR, encrypted under a key that died with it)
TM=$T/tmpd
mkdir -p "$TM"
env TMPDIR="$TM" CLAWSTATE_TEST_KILL_AT=3 "$CS" migrate --state "$S" --layout docker --to "$T/mig1" \
	>/dev/null 2>&1
[ $? = 137 ] || fail "migrate not killed at its 3rd test point"
DEAD=$(ls "$TM")
[ -n "$DEAD" ] && [ -d "$TM/$DEAD" ] || fail "the killed migrate left no capture dir to test with"
start_stopped m1 syncfs 1 env TMPDIR="$TM" "$CS" migrate --state "$S" --layout docker --to "$T/mig2"
M1=$P
LIVE=$(ls "$TM" | grep -v -x "$DEAD")
[ -n "$LIVE" ] || fail "the stopped migrate has no capture dir"
expect 0 "" env TMPDIR="$TM" "$CS" migrate --state "$S" --layout docker --to "$T/mig3"
[ "$(ls "$TM")" = "$LIVE" ] || fail "capture dirs after a migrate: '$(ls "$TM" | tr '\n' ' ')', want only the live $LIVE"
finish "$M1" m1
[ -z "$(ls "$TM")" ] || fail "left in TMPDIR: $(ls "$TM")"
cases=$((cases + 1))
note "migrate --state: a killed run's capture dir is removed by the next one, a live run's is not"

# --- two restores to one target -------------------------------------------------------------
expect 0 "" "$CS" backup --snapshot latest -o "$T/b.cst"
two_restores() { # TARGET: a second restore and recover are busy while the first runs
	_r=$1
	start_stopped r1 syncfs 1 "$CS" restore "$T/b.cst" --to "$_r" --replace
	R1=$P
	expect 6 "another restore to $_r is running (pid $R1)" "$CS" restore "$T/b.cst" --to "$_r" --replace
	expect 6 "another restore to $_r is running (pid $R1)" "$CS" restore --snapshot latest --to "$_r" --replace
	expect 6 "another restore to $_r is running (pid $R1)" "$CS" recover "$_r"
	finish "$R1" r1
	expect 0 "" "$CS" restore "$T/b.cst" --to "$_r" --replace
	expect 0 "" "$CS" recover "$_r"
	out_has "nothing to recover in $_r"
	cases=$((cases + 1))
}
mkdir -p "$T/r"
echo old >"$T/r/old.txt"
two_restores "$T/r"
no_stage "$T/r"
if [ -n "${CS_IN_NS:-}" ]; then
	mkdir -p "$T/vol" "$T/m"
	mount --bind "$T/vol" "$T/m" || fail "bind mount"
	echo old >"$T/m/old.txt"
	two_restores "$T/m"
	note "two restores to a dir and to a mount point: the second is busy (6), recover too"
else
	note "two restores to a dir: the second is busy (6), recover too (no mount namespace: mount point case not run)"
fi
note "$cases concurrency cases"
exit 0
