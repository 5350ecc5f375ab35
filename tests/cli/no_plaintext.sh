#!/bin/sh
# Marker strings planted in API keys, WhatsApp creds and a file name appear
# nowhere in the vault files or in the backup file.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 100 --media-mb 0.1
printf 'correct horse battery staple\n' >"$T/pw"; chmod 600 "$T/pw"
export CLAWSTATE_PASSPHRASE_FILE="$T/pw"
expect 0 "" "$CS" init --vault "$T/vault" --kdf interactive
expect 0 "" "$CS" snapshot --state "$S" --vault "$T/vault"
expect 0 "" "$CS" backup --vault "$T/vault" --state "$S" -o "$T/b.cst"
"$PY" "$TESTS/gen_fixture.py" --markers >"$T/markers"
[ "$(wc -l <"$T/markers")" -ge 3 ] || fail "no markers"
while read -r m; do
	{ grep -rqaF -- "$m" "$S" || find "$S" -name "*$m*" | grep -q .; } ||
		fail "marker $m is not in the fixture (test broken)"
	if grep -rlaF -- "$m" "$T/vault" "$T/b.cst"; then
		fail "plaintext marker $m found"
	fi
	echo "ok marker $m absent"
done <"$T/markers"
find "$S" -name '*MARKER-NAME*' | grep -q . || fail "no file name carries the name marker"
# The SQLite capture left no plaintext copy in the vault dir.
extra=$(ls -A "$T/vault" | grep -i -e sqlite -e tmp -e capture)
[ -z "$extra" ] && echo "ok no temp files in the vault" || fail "left in the vault: $extra"
exit 0
