#!/bin/sh
# ns.sh WORK CMD...: run CMD with WORK (created) on a private tmpfs, in a
# private mount namespace (unshare -m), with CS_CRASH_NS=1 so that the mount
# scenarios know they may bind-mount.  Without root or unshare, WORK is an
# ordinary dir under /dev/shm (a tmpfs where there is one) or WORK itself.
# The kills test process crashes, not power loss, so tmpfs is fine and fast.
set -u
WORK=$1
shift
mkdir -p "$WORK" || exit 1
if [ -z "${CS_CRASH_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare -m sh -c "mount -t tmpfs -o size=2g,mode=755 none '$WORK'" 2>/dev/null; then
	exec unshare -m sh -c 'mount -t tmpfs -o size=2g,mode=755 none "$0" && CS_CRASH_NS=1 exec "$@"' \
		"$WORK" "$@"
fi
exec "$@"
