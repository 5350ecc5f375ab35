#!/bin/sh
# The committed hostile-input corpus, tests/hostile/corpus/ (README there):
# every NAME.cst runs through
#   verify FILE
#   restore FILE --to NEW --dry-run
#   restore FILE --to NEW
#   restore FILE --to EXISTING --replace
# and each must give the exact exit code of NAME.expect ("exit=", or
# "verify_exit=" for verify) with its message fragment on stderr, within
# "timeout=" seconds when the case sets one (absurd Argon2 slots: refused
# before any derivation).  A refused case leaves NEW absent with no
# NEW.clawstate-* beside it, and EXISTING unchanged with no EXISTING.clawstate-*;
# nothing anywhere under the watched tree changes (a listing of every path,
# type, mode, owner, size, link count, mtime, link text and content hash, taken
# before and compared after every case), the absolute target the corpus aims at
# never appears, and the corpus files themselves are left as they were.
# Controls (exit=0) must restore, to NEW and over a fresh EXISTING, to the same
# tree.  All mismatches are listed, not just the first.
. "$TESTS/lib.sh"
CORPUS=$TESTS/hostile/corpus
ABS_OUTSIDE=/nonexistent/clawstate-hostile # where the corpus's absolute targets point
DEFAULT_TIMEOUT=120
ls "$CORPUS"/*.expect >/dev/null 2>&1 || fail "no cases in $CORPUS"
[ -e "$ABS_OUTSIDE" ] && skip "$ABS_OUTSIDE exists here"

# Credentials: copies with mode 0600 (a checkout gives 0644, which draws a warning).
cp "$CORPUS/key" "$T/key" && cp "$CORPUS/passphrase" "$T/passphrase" || fail "credentials"
chmod 600 "$T/key" "$T/passphrase"

# The watched tree: targets live four levels down, so an entry that climbs
# out of the target with up to four ".." still lands somewhere watched.
R=$T/root
W=$R/a/b/c
OUT=$W/outside
mkdir -p "$OUT/sub" "$W/sentinel" "$W/existing/sub" "$T/s"
echo victim >"$OUT/victim"
echo sentinel >"$W/sentinel/keep"
echo old >"$W/existing/old.txt"
echo deeper >"$W/existing/sub/y"
ln -s ../outside "$W/existing/l"         # a symlink in the target to outside
ln "$OUT/victim" "$W/victim-link"        # the victim's link count is watched
touch -d @1600000000 "$W/existing/old.txt" "$W/existing/sub/y" "$W/existing/sub" \
	"$W/existing" "$OUT" "$OUT/sub"

# state: everything under $R but NEW, the controls' fresh target and the
# times of their parent (a restore adds and removes siblings there).
state() {
	(cd "$R" && find . -mindepth 1 \( -path ./a/b/c/new -o -path ./a/b/c/fresh \) -prune -o \
		! -path ./a/b/c -printf '%p %y %m %U:%G %s %n %T@ %l\n' | LC_ALL=C sort
	 stat -c '%n %F %a %u:%g' "$W"
	 cd "$R" && find . -type f ! -path './a/b/c/new/*' ! -path './a/b/c/fresh/*' \
		-exec md5sum {} + | LC_ALL=C sort)
}
rmtree() { chmod -R u+rwx "$@" 2>/dev/null; rm -rf "$@"; } # 0500 dirs, not as root

# tree DIR: one line per entry below DIR (path, mode, owner, size, mtime but
# for dirs, link text, content hash, hardlink group, user xattrs), walked by
# directory fds so paths of 4095 bytes under a long DIR still work.
tree() {
	"$PY" - "$1" <<'PYEOF'
import hashlib, os, stat, sys
seen = {}
def walk(dfd, rel):
    for name in sorted(os.listdir(dfd)):
        b = os.fsencode(name)
        p = rel + b"/" + b if rel else b
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        f = [repr(p), "%o" % st.st_mode, st.st_uid, st.st_gid]
        if stat.S_ISLNK(st.st_mode):
            f.append(repr(os.fsencode(os.readlink(name, dir_fd=dfd))))
            print(*f)
            continue
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
        xa = sorted((n, os.getxattr(fd, n).hex()) for n in os.listxattr(fd) if n.startswith("user."))
        if stat.S_ISDIR(st.st_mode):
            print(*f, xa)
            walk(fd, p)
        else:
            h = hashlib.sha256()
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                h.update(chunk)
            group = seen.setdefault((st.st_dev, st.st_ino), p) if st.st_nlink > 1 else b"-"
            print(*f, st.st_size, st.st_mtime_ns, h.hexdigest(), repr(group), xa)
        os.close(fd)
walk(os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY), b"")
PYEOF
}
state >"$T/before"
(cd "$CORPUS" && md5sum ./*) >"$T/corpus.md5"
digest "$W/existing" >"$T/existing.digest" || fail "digest of $W/existing"

problems=0
note_problem() {
	problems=$((problems + 1))
	echo "FAIL: $*" >&2
}

# run NAME CODE FRAGMENT TIMEOUT CMD...: exit code and stderr fragment.
runs=0
run() {
	_n=$1 _code=$2 _frag=$3 _to=$4
	shift 4
	runs=$((runs + 1))
	timeout "$_to" "$@" >"$T/s/out" 2>"$T/s/err"
	_got=$?
	if [ "$_got" != "$_code" ]; then
		note_problem "$_n: exit $_got, want $_code: $*"
		head -n 5 "$T/s/err" | sed 's/^/  stderr: /' >&2
		return 1
	fi
	if [ -n "$_frag" ] && ! grep -qF -- "$_frag" "$T/s/err"; then
		note_problem "$_n: stderr lacks '$_frag': $*"
		head -n 5 "$T/s/err" | sed 's/^/  stderr: /' >&2
		return 1
	fi
	return 0
}

leftovers() { # NAME DIR...: no DIR.clawstate-* (staging dirs, locks, old trees)
	_n=$1
	shift
	for _d in "$@"; do
		for _x in "$_d".clawstate-*; do
			[ -e "$_x" ] && note_problem "$_n: leftover $_x"
		done
	done
	return 0
}

unchanged() { # NAME WHAT
	state >"$T/after"
	if ! cmp -s "$T/before" "$T/after"; then
		note_problem "$1: something outside the target changed ($2)"
		diff "$T/before" "$T/after" | head -n 10 >&2
		state >"$T/before" # report each change once
	fi
	[ -e "$ABS_OUTSIDE" ] && note_problem "$1: $ABS_OUTSIDE was created ($2)"
	return 0
}

cases=0
controls=0
for e in "$CORPUS"/*.expect; do
	name=$(basename "$e" .expect)
	B=$CORPUS/$name.cst
	[ -f "$B" ] || { note_problem "$name: no $name.cst"; continue; }
	code= msg= vcode= vmsg= cred=key to=
	while IFS= read -r line; do
		case $line in
		exit=*) code=${line#exit=} ;;
		message=*) msg=${line#message=} ;;
		verify_exit=*) vcode=${line#verify_exit=} ;;
		verify_message=*) vmsg=${line#verify_message=} ;;
		cred=*) cred=${line#cred=} ;;
		timeout=*) to=${line#timeout=} ;;
		'#'* | '') ;;
		*) note_problem "$name.expect: unknown line: $line" ;;
		esac
	done <"$e"
	[ -n "$code" ] || { note_problem "$name.expect: no exit="; continue; }
	[ -n "$vcode" ] || { vcode=$code; vmsg=$msg; }
	case $cred in
	key) C="--key-file $T/key" ;;
	passphrase) C="--passphrase-file $T/passphrase" ;;
	*) note_problem "$name.expect: unknown cred $cred"; continue ;;
	esac
	to=${to:-$DEFAULT_TIMEOUT}
	cases=$((cases + 1))

	run "$name" "$vcode" "$vmsg" "$to" "$CS" verify $C "$B"
	run "$name" "$code" "$msg" "$to" "$CS" restore $C "$B" --to "$W/new" --dry-run
	[ -e "$W/new" ] && note_problem "$name: --dry-run created the target"
	leftovers "$name (--dry-run)" "$W/new"
	run "$name" "$code" "$msg" "$to" "$CS" restore $C "$B" --to "$W/new"
	if [ "$code" = 0 ]; then
		controls=$((controls + 1))
		[ -d "$W/new" ] || note_problem "$name: no target after a successful restore"
		mkdir "$W/fresh" && echo x >"$W/fresh/f"
		run "$name" 0 "" "$to" "$CS" restore $C "$B" --to "$W/fresh" --replace
		if [ -d "$W/new" ] && [ -d "$W/fresh" ]; then
			tree "$W/new" >"$T/s/new.tree" || note_problem "$name: listing $W/new"
			tree "$W/fresh" >"$T/s/fresh.tree" || note_problem "$name: listing $W/fresh"
			if ! cmp -s "$T/s/new.tree" "$T/s/fresh.tree"; then
				note_problem "$name: restore and restore --replace gave different trees"
				diff "$T/s/new.tree" "$T/s/fresh.tree" | head -n 10 >&2
			fi
		fi
		rmtree "$W/new" "$W/fresh" "$W"/fresh.clawstate-old-*
		leftovers "$name" "$W/new" "$W/fresh"
		unchanged "$name" "control"
		continue
	fi
	[ -e "$W/new" ] && note_problem "$name: a refused restore left the target"
	leftovers "$name" "$W/new"
	rmtree "$W/new"
	run "$name" "$code" "$msg" "$to" "$CS" restore $C "$B" --to "$W/existing" --replace
	leftovers "$name (--replace)" "$W/existing"
	unchanged "$name" "refused"
done

digest "$W/existing" >"$T/s/existing.digest" || fail "digest of $W/existing"
cmp -s "$T/existing.digest" "$T/s/existing.digest" || note_problem "EXISTING changed"
(cd "$CORPUS" && md5sum ./*) | cmp -s - "$T/corpus.md5" || note_problem "the corpus changed"
[ "$cases" -ge 40 ] || note_problem "only $cases cases"
[ "$problems" = 0 ] || fail "$problems problems in $cases corpus cases"
note "$cases corpus cases ($controls controls), $runs commands, all as expected"
exit 0
