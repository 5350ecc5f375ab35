#!/bin/sh
# run.sh - `make valgrind`: the fast unit test binaries and a command-line
# round trip under valgrind memcheck (tests/valgrind/README.md).  Every run
# must exit as expected with no memcheck error and no definitely or
# indirectly lost byte.  Prints one line per run and ends with
#   valgrind: N runs, E errors, L leaks
# (exit 1 when anything is not zero or an exit code is wrong).
#
# BUILD=DIR names the build to test (make valgrind passes its -O1 build);
# VALGRIND_CORPUS=1 adds verify and restore of every case of
# tests/hostile/corpus/ (354 more runs, about 20 minutes on two cores).
# ONLY=substring runs only the matching runs under valgrind (the other
# command-line steps run natively, the other unit tests not at all); KEEP=1
# keeps the logs.
set -u
TESTS=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$TESTS/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
CS=$BUILD/clawstate
PY=${PYTHON:-python3}
SUPP=$TESTS/valgrind/clawstate.supp
command -v valgrind >/dev/null || { echo "valgrind: not installed (make deps)" >&2; exit 1; }
[ -x "$CS" ] || { echo "valgrind: $CS is not built" >&2; exit 1; }

# A mount-point restore needs a private mount namespace: as root, the whole
# run moves into one (its mounts go with it); otherwise that part is left out.
if [ -z "${CS_VG_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	probe=$(mktemp -d "${TMPDIR:-/tmp}/clawstate-valgrind-probe.XXXXXX") || exit 1
	if unshare -m sh -c "mount -t tmpfs none '$probe'" 2>/dev/null; then
		rmdir "$probe"
		exec env CS_VG_NS=1 unshare -m sh "$0" "$@"
	fi
	rmdir "$probe"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawstate-valgrind.XXXXXX") || exit 1
chmod 755 "$WORK"
trap 'umount "$WORK/t/m" 2>/dev/null; if [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi' EXIT
trap 'exit 130' INT TERM
[ "${KEEP:-0}" = 1 ] && echo "keeping logs in $WORK"
T=$WORK/t
LOGS=$WORK/logs
mkdir -p "$T" "$LOGS"
# Nothing from the caller's environment reaches a vault or state dir.
unset CLAWSTATE_VAULT CLAWSTATE_PASSPHRASE_FILE CLAWSTATE_KEY_FILE OPENCLAW_STATE_DIR \
	OPENCLAW_HOME XDG_STATE_HOME CLAWSTATE_TEST_KILL_AT CLAWSTATE_TEST_COUNT \
	CLAWSTATE_TEST_EACCES
HOME=$T/home
LC_ALL=C
export HOME LC_ALL
mkdir -p "$HOME"

runs=0 errors=0 leaks=0 bad=0
failures=""

# vg NAME WANT CMD...: CMD under memcheck (in $VG_CWD, default $T); its exit
# code must be WANT.  Output goes to $LOGS/NAME.log.{out,err}.
vg() {
	_name=$1 _want=$2
	shift 2
	if [ -n "${ONLY:-}" ]; then # the others still run, natively: later runs need them
		case $_name in
		*"$ONLY"*) ;;
		*)
			case $_name in unit/*) return 0 ;; esac
			(cd "${VG_CWD:-$T}" && exec "$@") >/dev/null 2>&1 </dev/null
			return 0
			;;
		esac
	fi
	_log=$LOGS/$(echo "$_name" | tr / _).log
	_t0=$(date +%s)
	(cd "${VG_CWD:-$T}" && exec valgrind --tool=memcheck --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes \
		--suppressions="$SUPP" --log-file="$_log" "$@") >"$_log.out" 2>"$_log.err" </dev/null
	_rc=$?
	_dt=$(($(date +%s) - _t0))
	runs=$((runs + 1))
	_e=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$_log" | tail -n 1)
	_d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$_log" | tr -d , | tail -n 1)
	_i=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$_log" | tr -d , | tail -n 1)
	_e=${_e:-?} _d=${_d:-0} _i=${_i:-0}
	# leaks: loss records of definitely or indirectly lost blocks; the error
	# summary counts them too, so errors are the rest
	_lk=$(grep -c 'are definitely lost\|are indirectly lost' "$_log")
	_ok=1
	if [ "$_e" = "?" ]; then
		_ok=0 # valgrind did not finish (killed, or could not start)
		_e=1
	else
		_e=$((_e - _lk))
	fi
	errors=$((errors + _e))
	leaks=$((leaks + _lk))
	[ "$_e" = 0 ] && [ "$_lk" = 0 ] || _ok=0
	if [ "$_rc" != "$_want" ]; then
		_ok=0
		bad=$((bad + 1))
	fi
	if [ "$_ok" = 1 ]; then
		echo "ok   $_name (${_dt}s)"
	else
		echo "FAIL $_name (exit $_rc, want $_want; $_e errors, $_lk leaks of $((_d + _i)) B; ${_dt}s)"
		failures="$failures $_name"
		{
			echo "==== $_name: $*"
			grep -v '^==[0-9]*== *$' "$_log" | head -n 60
			tail -n 5 "$_log.err" | sed 's/^/  stderr: /'
			echo
		} >>"$WORK/failures.txt"
	fi
	return 0
}



start=$(date +%s)

# ---- unit tests: all but test_stage and test_snapshot (README.md) ----
for t in fsutil journal json5 migrate owner_map pathrewrite walk chunker rewrite_tree \
	backup vault; do
	bin=$BUILD/tests/test_$t
	[ -x "$bin" ] || { echo "valgrind: $bin is not built" >&2; exit 1; }
	mkdir -p "$T/unit-$t"
	VG_CWD=$T/unit-$t
	vg "unit/test_$t" 0 "$bin"
done
VG_CWD=$T

# ---- a command-line round trip on a small generated state ----
S=$T/home/alice/.openclaw
"$PY" "$TESTS/gen_fixture.py" --out "$S" --keys 20 --media-mb 0.1 >"$LOGS/fixture.out" 2>&1 ||
	{ echo "valgrind: gen_fixture.py failed" >&2; exit 1; }
mkdir -p "$T/home/bob"
V=$T/vault
K=$T/key
KF="--key-file $K"
vg cli/init 0 "$CS" init --vault "$V" $KF
vg cli/snapshot 0 "$CS" snapshot --vault "$V" --state "$S" $KF
echo "a change" >>"$S/workspace/MEMORY.md" 2>/dev/null || echo "a change" >"$S/workspace/new.md"
vg cli/snapshot-again 0 "$CS" snapshot --vault "$V" --state "$S" --tag second $KF
vg cli/snapshots 0 "$CS" snapshots --vault "$V" --json $KF
vg cli/ls 0 "$CS" ls 1 --vault "$V" $KF
vg cli/ls-json 0 "$CS" ls latest --vault "$V" --json $KF
vg cli/backup 0 "$CS" backup --vault "$V" --snapshot latest -o "$T/b.cst" $KF
vg cli/backup-state 0 "$CS" backup --vault "$V" --state "$S" -o "$T/b2.cst" $KF
vg cli/verify 0 "$CS" verify "$T/b.cst" $KF
vg cli/verify-vault 0 "$CS" verify --vault "$V" $KF
vg cli/restore-dry-run 0 "$CS" restore "$T/b.cst" --to "$T/r" --dry-run $KF
vg cli/restore 0 "$CS" restore "$T/b.cst" --to "$T/r" $KF
vg cli/restore-replace 0 "$CS" restore "$T/b2.cst" --to "$T/r" --replace --no-keep $KF
vg cli/restore-snapshot 0 "$CS" restore --snapshot 1 --vault "$V" --to "$T/r2" $KF
vg cli/restore-docker 0 "$CS" restore "$T/b.cst" --to "$T/rd" --layout docker \
	--from-home /home/alice $KF
vg cli/migrate-docker 0 "$CS" migrate --state "$S" --layout docker --to "$T/d" \
	--from-home /home/alice
vg cli/migrate-host 0 "$CS" migrate --state "$T/d/config" --workspace "$T/d/workspace" \
	--layout host --to "$T/h" --home "$T/home/bob"
vg cli/chown 0 "$CS" chown "$T/h" --owner 1000:1000 --secure-modes
vg cli/chown-check 0 "$CS" chown "$T/h" --owner 1000:1000 --check
# a restore killed half way (natively) leaves a staging dir for recover
CLAWSTATE_TEST_KILL_AT=40 "$CS" restore "$T/b.cst" --to "$T/r3" $KF >/dev/null 2>&1
ls -d "$T"/r3.clawstate-stage-* >/dev/null 2>&1 || echo "valgrind: the killed restore left nothing"
vg cli/recover 0 "$CS" recover "$T/r3"
vg cli/recover-nothing 0 "$CS" recover "$T/r"
# a passphrase vault at the cheapest Argon2 preset
printf 'a fake passphrase\n' >"$T/pw"
chmod 600 "$T/pw"
vg cli/init-passphrase 0 "$CS" init --vault "$T/pv" --passphrase-file "$T/pw" --kdf interactive
vg cli/backup-passphrase 0 "$CS" backup --vault "$T/pv" --state "$S" -o "$T/p.cst" \
	--passphrase-file "$T/pw"

# ---- a mount point: swap under a journal, and recover after a kill ----
if [ -n "${CS_VG_NS:-}" ]; then
	mkdir -p "$T/vol" "$T/m"
	mount --bind "$T/vol" "$T/m"
	echo old >"$T/m/old.txt"
	vg mount/restore 0 "$CS" restore "$T/b.cst" --to "$T/m" --replace $KF
	CLAWSTATE_TEST_COUNT=$T/count "$CS" restore "$T/b2.cst" --to "$T/m" --replace --no-keep \
		$KF >/dev/null 2>&1
	n=$(tr -dc 0-9 <"$T/count")
	# kill (natively) at the last test point that leaves a journal: the swap
	k=$n
	while [ "$k" -gt 1 ]; do
		CLAWSTATE_TEST_KILL_AT=$k "$CS" restore "$T/b2.cst" --to "$T/m" --replace \
			--no-keep $KF >/dev/null 2>&1
		[ -e "$T/m/.clawstate-journal" ] && break
		"$CS" recover "$T/m" >/dev/null 2>&1
		k=$((k - 1))
	done
	[ -e "$T/m/.clawstate-journal" ] || echo "valgrind: no killed swap left a journal"
	vg mount/recover 0 "$CS" recover "$T/m" --json
	umount "$T/m"
else
	echo "skip mount/* (needs root and a private mount namespace)"
fi

# ---- hostile inputs from the corpus ----
C=$TESTS/hostile/corpus
cp "$C/key" "$T/ckey" && cp "$C/passphrase" "$T/cpass" && chmod 600 "$T/ckey" "$T/cpass"
vg hostile/dotdot 4 "$CS" restore "$C/dotdot.cst" --to "$T/x" --key-file "$T/ckey"
vg hostile/symlink_then_file 4 "$CS" restore "$C/symlink_then_file.cst" --to "$T/x" \
	--key-file "$T/ckey"
vg hostile/trunc_msg1_mid 4 "$CS" verify "$C/trunc_msg1_mid.cst" --key-file "$T/ckey"
vg hostile/flip_payload_msg2 4 "$CS" restore "$C/flip_payload_msg2.cst" --to "$T/x" \
	--key-file "$T/ckey"
vg hostile/wrong_key_file 5 "$CS" verify "$C/wrong_key_file.cst" --key-file "$T/ckey"
vg hostile/argon_memory 4 "$CS" verify "$C/argon_memory.cst" --passphrase-file "$T/cpass"
vg hostile/json_bomb 4 "$CS" verify "$C/json_bomb.cst" --key-file "$T/ckey"
vg hostile/good_names 0 "$CS" restore "$C/good_names.cst" --to "$T/gn" --key-file "$T/ckey"

# ---- VALGRIND_CORPUS=1: verify and restore every corpus case (long: ~20 min) ----
if [ "${VALGRIND_CORPUS:-0}" = 1 ]; then
	for e in "$C"/*.expect; do
		n=$(basename "$e" .expect)
		code=$(sed -n 's/^exit=//p' "$e")
		vcode=$(sed -n 's/^verify_exit=//p' "$e")
		cr="--key-file $T/ckey"
		grep -q '^cred=passphrase' "$e" && cr="--passphrase-file $T/cpass"
		vg "corpus/$n/verify" "${vcode:-$code}" "$CS" verify "$C/$n.cst" $cr
		vg "corpus/$n/restore" "$code" "$CS" restore "$C/$n.cst" --to "$T/c-$n" $cr
		rm -rf "$T/c-$n"
	done
fi

if [ -s "$WORK/failures.txt" ]; then
	echo
	cat "$WORK/failures.txt"
	echo "failed:$failures"
fi
echo "time: $(($(date +%s) - start))s"
echo "valgrind: $runs runs, $errors errors, $leaks leaks"
[ "$errors" = 0 ] && [ "$leaks" = 0 ] && [ "$bad" = 0 ]
