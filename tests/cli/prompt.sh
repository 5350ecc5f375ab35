#!/bin/sh
# Without a credential file the passphrase is read from /dev/tty with echo off:
# init asks twice (a mismatch is exit 2 and creates nothing), the passphrase
# never appears in the terminal output, and an interrupt at the prompt puts
# the terminal's echo back.  Runs under script(1), which provides the tty.
. "$TESTS/lib.sh"
command -v script >/dev/null || skip "no script(1) to provide a terminal"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 10 --media-mb 0
# The prompt flushes type-ahead (TCSAFLUSH), so feed each line after a pause.
feed() { for l in "$@"; do sleep 0.7; printf '%s\n' "$l"; done; sleep 0.3; }
feed 'first-Secret-1' 'second-Secret-2' | script -qec "'$CS' init --vault '$T/v' --kdf interactive" /dev/null >"$T/tty.out" 2>&1
rc=$?
[ "$rc" = 2 ] || { cat "$T/tty.out"; fail "mismatched passphrases: exit $rc, want 2"; }
grep -qF "clawstate: init: $T/v: the passphrases do not match" "$T/tty.out" || fail "no mismatch message naming the vault"
[ -e "$T/v" ] && fail "a mismatch created the vault"
feed 'tty-Secret-3' 'tty-Secret-3' | script -qec "'$CS' init --vault '$T/v' --kdf interactive" /dev/null >"$T/tty.out" 2>&1 ||
	{ cat "$T/tty.out"; fail "init with a prompted passphrase"; }
grep -q "Repeat passphrase" "$T/tty.out" || fail "init did not ask twice"
grep -q "tty-Secret-3" "$T/tty.out" && fail "the passphrase was echoed"
feed 'tty-Secret-3' | script -qec "'$CS' snapshot --state '$S' --vault '$T/v'" /dev/null >"$T/tty.out" 2>&1 ||
	{ cat "$T/tty.out"; fail "snapshot with a prompted passphrase"; }
grep -q "snapshot 1:" "$T/tty.out" || fail "no snapshot summary"
feed 'wrong-one' | script -qec "'$CS' snapshots --vault '$T/v'" /dev/null >"$T/tty.out" 2>&1
rc=$?
[ "$rc" = 5 ] || { cat "$T/tty.out"; fail "wrong prompted passphrase: exit $rc, want 5"; }
echo "ok prompted passphrases: twice at init, not echoed, wrong one is 5"
# Ctrl-C at the prompt: the process dies of SIGINT with echo restored.
(sleep 0.7; printf '\003'; sleep 0.7) | script -qec "sh -c 'trap \"\" QUIT; trap \"echo interrupted\" INT; '$CS' snapshots --vault '$T/v'; echo rc=\$?; stty -a'" /dev/null >"$T/tty.out" 2>&1
grep -q "rc=130" "$T/tty.out" || { cat "$T/tty.out"; fail "interrupt at the prompt did not end the command"; }
tr ' ;' '\n\n' <"$T/tty.out" | grep -qx -- '-echo' && fail "echo left off after an interrupt"
tr ' ;' '\n\n' <"$T/tty.out" | grep -qx 'echo' || { cat "$T/tty.out"; fail "no stty output"; }
echo "ok echo restored after an interrupt"
exit 0
