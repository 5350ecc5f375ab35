#!/bin/sh
# migrate --state X --to X (an in-place conversion): the source is captured
# first and swapped out as the kept old tree.  When the capture had to leave
# entries out, --no-keep is overridden so that nothing is lost.  A target
# inside the source is refused.
. "$TESTS/lib.sh"
S=$T/h/.openclaw
mkstate "$S" --keys 5 --media-mb 0 --no-chown
digest "$S" --skip-sqlite state/openclaw.sqlite --no-dir-mtime >"$T/before" || fail "digest"
CLAWSTATE_TEST_EACCES=credentials/ expect 3 "the old tree is kept despite --no-keep" \
	"$CS" migrate --state "$S" --layout host --to "$S" --replace --no-keep
[ -d "$S.clawstate-old-0/credentials/whatsapp" ] || fail "old tree not kept"
digest "$S.clawstate-old-0" --skip-sqlite state/openclaw.sqlite --no-dir-mtime >"$T/old" || fail "digest"
cmp -s "$T/before" "$T/old" || fail "the kept old tree is not the source"
[ ! -e "$S/credentials/whatsapp/default/creds.json" ] || fail "an unreadable file was restored?"
expect 2 "the target is inside the source" \
	"$CS" migrate --state "$S.clawstate-old-0" --layout docker --to "$S.clawstate-old-0/out"
absent "$S.clawstate-old-0/out"
