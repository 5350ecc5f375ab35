#!/bin/sh
# Human output never hands a terminal what would drive it: in `ls`, a name with C1
# controls (U+0080..U+009F) or bidi overrides and isolates (U+202A..U+202E,
# U+2066..U+2069) shows them as \xNN byte escapes, and their raw bytes never appear;
# the characters just beside those ranges print as they are.
. "$TESTS/lib.sh"
S=$T/home/alice/.openclaw
mkdir -p "$S/workspace"
c1=$(printf 'csi-\302\233-nel-\302\205-end')                               # U+009B, U+0085
bidi=$(printf 'rlo-\342\200\256-lre-\342\200\252-lri-\342\201\246-pdi-\342\201\251') # U+202E..
edge=$(printf 'nbsp-\302\240-nnbsp-\342\200\257-end')                       # U+00A0, U+202F
printf 'c1\n' >"$S/workspace/$c1.md"
printf 'bidi\n' >"$S/workspace/$bidi.txt"
printf 'edge\n' >"$S/workspace/$edge.txt"
mkvault "$T/vault" "$T/key"
expect 0 "" "$CS" snapshot --state "$S"
expect 0 "" "$CS" ls
out_has 'workspace/csi-\xc2\x9b-nel-\xc2\x85-end.md'
out_has 'workspace/rlo-\xe2\x80\xae-lre-\xe2\x80\xaa-lri-\xe2\x81\xa6-pdi-\xe2\x81\xa9.txt'
out_has "workspace/$edge.txt"
for b in '\302\233' '\302\205' '\342\200\256' '\342\200\252' '\342\201\246' '\342\201\251'; do
	n=$(LC_ALL=C grep -c "$(printf "$b")" "$T/out")
	[ "$n" = 0 ] || fail "ls printed the raw bytes $b ($n lines)"
done
echo "ok no raw C1 or bidi bytes in ls"
