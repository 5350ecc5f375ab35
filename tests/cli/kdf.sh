#!/bin/sh
# Each Argon2id preset once: init, then a snapshot and a backup restore that
# unlock with it.  sensitive needs about 1 GiB of memory and a few seconds.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkstate "$S" --keys 10 --media-mb 0
printf 'a long passphrase for the kdf test\n' >"$T/pw"; chmod 600 "$T/pw"
export CLAWSTATE_PASSPHRASE_FILE="$T/pw"
for k in interactive moderate sensitive; do
	t0=$(date +%s)
	expect 0 "" "$CS" init --vault "$T/v-$k" --kdf "$k"
	out_has "$k"
	expect 0 "" "$CS" backup --vault "$T/v-$k" --state "$S" -o "$T/$k.cst"
	note "$k: init + unlock took $(($(date +%s) - t0))s"
done
expect 0 "" "$CS" restore "$T/sensitive.cst" --to "$T/r"
same_tree "$S" "$T/r" --no-dir-mtime --skip-sqlite state/openclaw.sqlite
expect 0 "" "$CS" init --vault "$T/v-default"
out_has "moderate"
exit 0
