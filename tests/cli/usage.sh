#!/bin/sh
# Usage errors exit 2 with a message saying why; help and version work.
. "$TESTS/lib.sh"
printf 'pw for usage tests\n' >"$T/pw"; chmod 600 "$T/pw"
expect 0 "" "$CS" --help
out_has "snapshot"
expect 0 "" "$CS" --version
out_has "clawstate 0.1.0"
expect 0 "" "$CS" help restore
out_has "usage: clawstate restore"
for c in init snapshot snapshots ls backup restore verify; do
	expect 0 "" "$CS" "$c" --help
	out_has "usage: clawstate $c"
done
expect 2 "" "$CS"
expect 2 "did you mean 'snapshot'" "$CS" snapshto
expect 2 "did you mean 'restore'" "$CS" restor
expect 2 "unknown command 're'" "$CS" re
expect 2 "unknown command 'version'; did you mean '--version'?" "$CS" version
expect 2 "did you mean '--version'?" "$CS" versoin
expect 2 "unknown command" "$CS" help nosuch
expect 2 "unknown option" "$CS" --vault x snapshot
expect 2 "unknown or ambiguous option '--bogus'" "$CS" snapshot --bogus
expect 2 "unknown option '--rep'" "$CS" restore b.cst --to x --rep
expect 2 "unknown option '--dry'" "$CS" restore b.cst --to x --dry
expect 2 "unexpected argument 'extra'" "$CS" snapshot extra
expect 2 "unexpected argument 'b'" "$CS" restore a b --to x
expect 2 "needs an argument" "$CS" restore b.cst --to
expect 2 "missing --to DIR" "$CS" restore b.cst
expect 2 "missing --to DIR" "$CS" restore --snapshot latest
expect 2 "name a backup FILE" "$CS" restore --to x
expect 2 "exclude each other" "$CS" restore b.cst --snapshot 1 --to x
expect 2 "cannot be combined with --replace" "$CS" restore b.cst --to x --replace --include workspace
expect 2 "--no-keep needs --replace" "$CS" restore b.cst --to x --no-keep
expect 2 "--owner" "$CS" restore b.cst --to x --owner 1001
expect 2 "--owner" "$CS" restore b.cst --to x --owner a:b
expect 2 "--owner" "$CS" restore b.cst --to x --owner -1:5
expect 2 "--owner" "$CS" restore b.cst --to x --owner 4294967295:0
expect 2 "--owner" "$CS" restore b.cst --to x --owner 1:99999999999999999999
expect 2 "not a relative path" "$CS" restore b.cst --to x --include /etc
expect 2 "not a snapshot id" "$CS" ls 1x
expect 2 "not a snapshot id" "$CS" ls -- -1
expect 2 "not a snapshot id" "$CS" ls 0
expect 2 "not a snapshot id" "$CS" backup --snapshot ' 1' -o x
expect 2 "not a snapshot id" "$CS" restore --snapshot latest2 --to x
expect 2 "--map-size" "$CS" init --vault "$T/v" --passphrase-file "$T/pw" --map-size 12abc
expect 2 "--map-size" "$CS" init --vault "$T/v" --passphrase-file "$T/pw" --map-size 0
expect 2 "--map-size" "$CS" init --vault "$T/v" --passphrase-file "$T/pw" --map-size 99999999999999999999
expect 2 "--map-size" "$CS" init --vault "$T/v" --passphrase-file "$T/pw" --map-size -5
expect 2 "unknown preset 'fast'" "$CS" init --vault "$T/v" --passphrase-file "$T/pw" --kdf fast
expect 2 "exclude each other" "$CS" init --vault "$T/v" --passphrase-file "$T/pw" --key-file "$T/k"
[ -e "$T/v" ] && fail "a usage error created the vault"
[ -e "$T/k" ] && fail "a usage error created the key file"
expect 2 "missing -o" "$CS" backup
expect 2 "exclude each other" "$CS" backup --state "$T" --snapshot 1 -o x
expect 2 "--exclude applies" "$CS" backup --snapshot 1 --exclude 'media/' -o x
expect 2 "--progress: unknown mode 'xml' (json, tty or none)" "$CS" snapshot --progress=xml
for c in snapshot backup restore verify; do
	expect 0 "" "$CS" "$c" --help
	out_has "--progress=MODE"
	grep -qE "none: no progress output|tty, none: no progress output" "$T/out" || fail "$c --help: --progress=none"
done
expect 0 "" "$CS" init --help
out_has "K/M/G/T suffixes"
expect 2 "both CLAWSTATE_PASSPHRASE_FILE and CLAWSTATE_KEY_FILE" \
	env CLAWSTATE_PASSPHRASE_FILE="$T/pw" CLAWSTATE_KEY_FILE="$T/k" "$CS" snapshots --vault "$T/v"
expect 2 "verify a backup FILE or a --vault" "$CS" verify b.cst --vault "$T/v"
expect 2 "--vault applies to --snapshot" "$CS" restore b.cst --vault "$T/v" --to x
exit 0
