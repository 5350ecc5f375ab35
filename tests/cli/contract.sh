#!/bin/sh
# The command-line contract smoke test (../shared/contract-smoke.sh beside the
# repo); skipped when that file is not there (e.g. a clone on its own).
. "$TESTS/lib.sh"
SMOKE=$TESTS/../../shared/contract-smoke.sh
[ -f "$SMOKE" ] || skip "no $SMOKE"
command -v bash >/dev/null || skip "no bash"
# The smoke runs one check as sh -c "diff <(...) <(...)": process substitution
# is bash syntax, which dash (Debian's sh) rejects, so give it a sh that is bash.
mkdir -p "$T/shim"
ln -sf "$(command -v bash)" "$T/shim/sh"
PATH="$T/shim:$PATH" bash "$SMOKE" "$CS" || fail "contract smoke failed"
