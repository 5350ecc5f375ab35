#!/bin/sh
# chown --secure-modes: exactly 0600/0700 on the closed list, every other mode
# kept; a file with a hard link outside the tree is skipped unless --hardlinks.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to give files away"
S=$T/s
mkdir -p "$S/credentials/whatsapp/default" "$S/agents/main/agent" "$S/agents/main/sessions" \
	"$S/identity" "$S/devices" "$S/workspace/notes"
for f in credentials/whatsapp/default/creds.json agents/main/agent/auth-profiles.json \
	agents/main/sessions/sessions.json .env openclaw.json openclaw.json.bak.1 \
	identity/device.json devices/paired.json exec-approvals.json workspace/notes/a.md \
	workspace/run.sh other.json; do
	echo x >"$S/$f"
	chmod 0664 "$S/$f"
done
chmod 0755 "$S/workspace/run.sh"
chmod 0775 "$S/workspace" "$S/agents/main/sessions"
chmod 0777 "$S/credentials/whatsapp"
expect 0 "" "$CS" chown "$S" --owner 1000:1000 --secure-modes
modes() { (cd "$S" && find . -printf '%P %m %U:%G\n' | sort); }
modes >"$T/got"
cat >"$T/want" <<'EOW'
 700 1000:1000
.env 600 1000:1000
agents 700 1000:1000
agents/main 700 1000:1000
agents/main/agent 700 1000:1000
agents/main/agent/auth-profiles.json 600 1000:1000
agents/main/sessions 775 1000:1000
agents/main/sessions/sessions.json 664 1000:1000
credentials 700 1000:1000
credentials/whatsapp 700 1000:1000
credentials/whatsapp/default 700 1000:1000
credentials/whatsapp/default/creds.json 600 1000:1000
devices 700 1000:1000
devices/paired.json 600 1000:1000
exec-approvals.json 600 1000:1000
identity 700 1000:1000
identity/device.json 600 1000:1000
openclaw.json 600 1000:1000
openclaw.json.bak.1 600 1000:1000
other.json 664 1000:1000
workspace 775 1000:1000
workspace/notes 755 1000:1000
workspace/notes/a.md 664 1000:1000
workspace/run.sh 755 1000:1000
EOW
diff "$T/want" "$T/got" || fail "--secure-modes modes differ"
echo "ok --secure-modes modes exact"
expect 0 "" "$CS" chown "$S" --owner 1000:1000 --secure-modes --check

# Hard links: two names inside the tree are fine; a third name outside is not.
echo in >"$S/workspace/both"
ln "$S/workspace/both" "$S/workspace/both2"
echo out >"$S/workspace/shared"
ln "$S/workspace/shared" "$T/outside-name"
chown 0:0 "$S/workspace/both" "$S/workspace/shared"
expect 3 "workspace/shared: has 1 link outside the tree" "$CS" chown "$S" --owner 1000:1000
[ "$(stat -c '%u:%g' "$T/outside-name")" = "0:0" ] || fail "outside hard link changed"
[ "$(stat -c '%u:%g' "$S/workspace/both2")" = "1000:1000" ] || fail "inside hard links not changed"
expect 0 "" "$CS" chown "$S" --owner 1000:1000 --hardlinks
[ "$(stat -c '%u:%g' "$T/outside-name")" = "1000:1000" ] || fail "--hardlinks did not change it"
echo "ok hard links with outside names skipped unless --hardlinks"
exit 0
