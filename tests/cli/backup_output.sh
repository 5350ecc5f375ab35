#!/bin/sh
# A backup output that names a directory or sits in a missing directory is
# refused before any work, with or without --force, and nothing is written.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 5 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
mkdir "$T/outdir"
expect 6 "outdir: is a directory; name the backup file inside it" \
	"$CS" backup --snapshot latest -o "$T/outdir"
expect 6 "outdir: is a directory; name the backup file inside it" \
	"$CS" backup --snapshot latest -o "$T/outdir" --force
[ -z "$(ls -A "$T/outdir")" ] || fail "something was written into the directory"
expect 1 "nodir: the output's directory does not exist" \
	"$CS" backup --snapshot latest -o "$T/nodir/b.cst"
[ -e "$T/nodir" ] && fail "the missing directory was created"
ls -A "$T" | grep -q 'clawstate-tmp' && fail "temp file left"
exit 0
