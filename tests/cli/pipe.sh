#!/bin/sh
# backup -o - piped into restore -: a stream end to end, same tree.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 100 --media-mb 1
mkvault "$T/vault" "$T/key"
{ "$CS" backup --state "$S" -o - 2>"$T/b.err"; echo $? >"$T/b.rc"; } |
	"$CS" restore - --to "$T/r" >"$T/r.out" 2>"$T/r.err"
rc=$?
[ "$(cat "$T/b.rc")" = 0 ] || { cat "$T/b.err"; fail "backup -o - failed"; }
[ "$rc" = 0 ] || { cat "$T/r.err"; fail "restore - failed"; }
grep -q "backup written: stdout" "$T/b.err" || fail "backup summary not on stderr"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
"$CS" backup --snapshot latest -o - | "$CS" verify - >"$T/v.out" 2>&1 || { cat "$T/v.out"; fail "verify -"; }
grep -q "backup ok" "$T/v.out" || fail "verify - output"
# A truncated stream is an integrity failure, target absent.
"$CS" backup --snapshot latest -o - | head -c 100000 >"$T/trunc"
expect 4 "" sh -c "'$CS' restore - --to '$T/r2' <'$T/trunc'"
absent "$T/r2"
expect 2 "cannot both come from stdin" sh -c "'$CS' restore - --to '$T/r3' --passphrase-file - <'$T/trunc'"
exit 0
