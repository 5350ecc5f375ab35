#!/bin/sh
# A non-empty target is refused (6) without --replace; --replace swaps the new
# tree in and keeps the old one as DIR.clawstate-old-<seq>, then .1, .2...;
# --no-keep keeps nothing; an empty existing dir is simply filled.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 60 --media-mb 0
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" backup --state "$S" -o "$T/b.cst"
mkdir "$T/r"; echo old >"$T/r/only-in-old"; chmod 640 "$T/r/only-in-old"
digest "$T/r" >"$T/old.digest"
expect 6 "" "$CS" restore "$T/b.cst" --to "$T/r"
[ "$(ls -A "$T/r")" = only-in-old ] || fail "refused restore changed the target"
for x in "$T"/r.clawstate-*; do [ -e "$x" ] && fail "refused restore left $x"; done

expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace
out_has "old tree kept at $T/r.clawstate-old-1"
[ -d "$T/r.clawstate-old-1" ] || fail "no r.clawstate-old-1"
digest "$T/r.clawstate-old-1" >"$T/kept.digest"
cmp -s "$T/old.digest" "$T/kept.digest" || fail "the kept old tree differs from the old tree"
[ -e "$T/r/only-in-old" ] && fail "old file still in the target"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
no_stage "$T/r"

echo second >"$T/r/marker2"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace
out_has "old tree kept at $T/r.clawstate-old-1.1"
[ -e "$T/r.clawstate-old-1.1/marker2" ] || fail "second old tree not kept as .1"
[ -e "$T/r.clawstate-old-1/only-in-old" ] || fail "first old tree lost"

echo third >"$T/r/marker3"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/r" --replace --no-keep
out_has "old tree removed"
[ -e "$T/r.clawstate-old-1.2" ] && fail "--no-keep kept the old tree"
[ -e "$T/r/marker3" ] && fail "old file still in the target"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
# Only the allowed siblings exist next to the target.
ls -A "$T" | grep '^r\.' | grep -v -e '^r\.clawstate-old-1$' -e '^r\.clawstate-old-1\.1$' && fail "unexpected siblings"

# An existing empty dir is filled without --replace and nothing is kept.
mkdir "$T/e"
expect 0 "" "$CS" restore "$T/b.cst" --to "$T/e"
same_tree "$S" "$T/e" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
for x in "$T"/e.clawstate-*; do [ -e "$x" ] && fail "left $x"; done
# A file where the target should be is not a directory to replace.
echo x >"$T/f"
expect 6 "" "$CS" restore "$T/b.cst" --to "$T/f"
[ "$(cat "$T/f")" = x ] || fail "file target changed"
exit 0
