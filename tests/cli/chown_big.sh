#!/bin/sh
# chown over 100,000 entries and a 300-deep chain: no recursion limit, no fd
# exhaustion (the walk holds a bounded number of fds: ulimit -n 128 here).
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to give files away"
S=$T/s
"$PY" - "$S" <<'EOP' || fail "tree generation failed"
import os, sys
root = sys.argv[1]
for d in range(10):
    p = os.path.join(root, "d%d" % d)
    os.makedirs(p)
    for i in range(9970):
        open(os.path.join(p, "f%d" % i), "w").close()
p = root
for i in range(300):
    p = os.path.join(p, "c")
    os.mkdir(p)
open(os.path.join(p, "leaf"), "w").close()
EOP
total=$(find "$S" | wc -l)
[ "$total" -ge 100000 ] || fail "only $total entries"
(ulimit -n 128 && exec "$CS" chown "$S" --owner 1000:1000) >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "chown failed"; }
changed=$(find "$S" -uid 1000 -gid 1000 | wc -l)
[ "$changed" = "$total" ] || fail "$changed of $total changed"
out_has "changed $total of $total entries"
echo "ok $total entries changed"
exit 0
