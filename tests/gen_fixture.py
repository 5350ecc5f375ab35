#!/usr/bin/env python3
"""gen_fixture.py - build a realistic OpenClaw state dir for the tests.

Deterministic for a given --seed (contents, names and timestamps; ctimes are
whatever the kernel gives).  Python 3 standard library only.

  gen_fixture.py --out DIR [--seed N] [--keys N] [--media-mb M] [--user NAME]

What it makes (DESIGN §1): openclaw.json (JSON5: comments, trailing commas,
unquoted keys, absolute /home/<user>/.openclaw/... paths) and a .bak copy,
.env and agents/main/agent/{auth-profiles,models}.json with fake API keys,
sessions.json and .jsonl transcripts with a first-line cwd, the WhatsApp
(Baileys) auth dir with creds.json in BufferJSON shape and >= --keys key files
named with @ -- __ . = +, state/openclaw.sqlite in WAL mode, workspace/ with
markdown and a .git dir, media/ with a large file of --media-mb MiB, a
relative, an absolute (outside) and a dangling symlink, a hardlinked pair,
non-ASCII and invalid-UTF-8 names, an empty dir, modes 0600/0700/0644/0755,
owner 1001:1001 when run as root, a user.* xattr where supported.

Marker strings the no-plaintext tests grep for are printed by --markers.
"""
import argparse
import base64
import json
import os
import random
import sqlite3
import sys

MARKER_APIKEY = "MARKER-APIKEY-7f3a"
MARKER_CREDS = "MARKER-CREDS-91c2"
MARKER_NAME = "MARKER-NAME-5d1e"
MARKERS = [MARKER_APIKEY, MARKER_CREDS, MARKER_NAME]

BASE_TIME = 1714557600  # 2024-05-01 10:00:00 UTC


class Fixture:
    def __init__(self, root, seed, user):
        self.root = os.path.abspath(root)
        self.rng = random.Random(seed)
        self.user = user
        self.home = "/home/%s/.openclaw" % user
        self.tick = 0
        self.times = []  # (relpath bytes, ns)

    def p(self, rel):
        return os.path.join(os.fsencode(self.root), os.fsencode(rel) if isinstance(rel, str) else rel)

    def stamp(self, rel):
        # Distinct, deterministic mtimes with a nanosecond part.
        self.tick += 1
        ns = (BASE_TIME + self.tick * 37) * 10**9 + (self.tick * 7919) % 10**9
        self.times.append((rel, ns))

    def mkdir(self, rel, mode=0o700):
        os.makedirs(self.p(rel), exist_ok=True)
        os.chmod(self.p(rel), mode)

    def write(self, rel, data, mode=0o600):
        if isinstance(data, str):
            data = data.encode()
        path = self.p(rel)
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d, mode=0o700)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        self.stamp(rel)

    def b64(self, n):
        return base64.b64encode(self.rng.randbytes(n)).decode()

    def buf(self, n):
        return {"type": "Buffer", "data": self.b64(n)}


def gen_config(fx):
    h = fx.home
    text = """// OpenClaw gateway configuration (test fixture; every secret is fake)
{
  /* Gateway: local mode, token auth */
  gateway: {
    mode: "local",
    port: 18789,
    bind: 'loopback',
    auth: { mode: "token", token: "gw_%(m)s_%(t1)s", },
  },
  agents: {
    defaults: {
      workspace: "%(h)s/workspace",
      model: { primary: "anthropic/claude-sonnet-4", },
    },
    list: [
      { id: "main", default: true, workspace: "%(h)s/workspace", agentDir: "%(h)s/agents/main/agent", },
      { id: "ops", workspace: "%(h)s/workspace-ops", agentDir: "%(h)s/agents/ops/agent", },
    ],
  },
  channels: {
    whatsapp: { enabled: true, dmPolicy: "pairing", allowFrom: ["+4915112345678",], },
    telegram: { enabled: true, botToken: "7123456789:AA%(m)s%(t2)s", },
  },
  env: {
    OPENAI_API_KEY: "sk-proj-%(m)s-%(t3)s",
  },
  plugins: {
    installs: { "voice-call": { source: "npm", installPath: "%(h)s/extensions/voice-call", }, },
  },
  // trailing comma on purpose
}
""" % {"m": MARKER_APIKEY, "h": h, "t1": fx.b64(24), "t2": fx.b64(18), "t3": fx.b64(30)}
    fx.write("openclaw.json", text, 0o600)
    fx.write("openclaw.json.bak", text.replace("18789", "18790"), 0o600)
    fx.write(".env", "OPENAI_API_KEY=sk-proj-%s-%s\nANTHROPIC_API_KEY=sk-ant-api03-%s-%s\n"
             "TELEGRAM_BOT_TOKEN=7123456789:%s\n" % (MARKER_APIKEY, fx.b64(30), MARKER_APIKEY,
                                                      fx.b64(60), fx.b64(26)), 0o600)


def gen_agents(fx):
    h = fx.home
    fx.mkdir("agents", 0o700)
    fx.mkdir("agents/main", 0o700)
    fx.mkdir("agents/main/agent", 0o700)
    prof = {"version": 1, "profiles": {
        "anthropic:default": {"type": "api_key", "provider": "anthropic",
                              "key": "sk-ant-api03-%s-%s" % (MARKER_APIKEY, fx.b64(40))},
        "openai:work": {"type": "oauth", "provider": "openai", "access": "eyJ" + fx.b64(90),
                        "refresh": "rt_" + MARKER_APIKEY + fx.b64(20), "expires": 1893456000000}}}
    fx.write("agents/main/agent/auth-profiles.json", json.dumps(prof, indent=2), 0o600)
    models = {"providers": {"openrouter": {"baseUrl": "https://openrouter.ai/api/v1",
                                           "apiKey": "sk-or-v1-" + MARKER_APIKEY + fx.b64(20)}}}
    fx.write("agents/main/agent/models.json", json.dumps(models, indent=2), 0o600)
    fx.mkdir("agents/main/sessions", 0o700)
    sessions = {}
    for i in range(4):
        sid = "%08x-%04x-4%03x-8%03x-%012x" % tuple(fx.rng.getrandbits(b) for b in (32, 16, 12, 12, 48))
        sessions["agent:main:whatsapp:dm:+49151%07d" % i] = {
            "sessionId": sid, "updatedAt": (BASE_TIME + i * 3600) * 1000,
            "sessionFile": "%s/agents/main/sessions/%s.jsonl" % (h, sid),
            "workspaceDir": "%s/workspace" % h, "chatType": "direct"}
        lines = [json.dumps({"type": "session", "version": 3, "id": sid,
                             "timestamp": "2024-05-01T10:%02d:00.000Z" % i, "cwd": "%s/workspace" % h})]
        for j in range(fx.rng.randint(5, 30)):
            role = "user" if j % 2 == 0 else "assistant"
            lines.append(json.dumps({"type": "message", "id": "m%d" % j, "message": {
                "role": role, "content": [{"type": "text", "text": "note %d: %s" % (j, fx.b64(40))}]}}))
        fx.write("agents/main/sessions/%s.jsonl" % sid, "\n".join(lines) + "\n", 0o600)
    fx.write("agents/main/sessions/sessions.json", json.dumps(sessions, indent=2), 0o600)
    fx.mkdir("agents/ops", 0o700)
    fx.mkdir("agents/ops/agent", 0o700)
    fx.write("agents/ops/agent/models.json", "{}\n", 0o600)


def key_names(fx, n):
    """n Baileys key file names (':' -> '-', '/' -> '__' as its fixFileName does)."""
    phones = ["49151%07d" % fx.rng.randrange(10**7) for _ in range(40)]
    groups = ["1203630%011d@g.us" % fx.rng.randrange(10**11) for _ in range(12)]
    weights = [("pre", 45), ("session", 20), ("sender", 15), ("sync", 10), ("misc", 10)]
    quota = {k: n * w // 100 for k, w in weights}
    quota["pre"] += n - sum(quota.values())
    names = set()

    def make(kind, i):
        ph = phones[i % len(phones)]
        if kind == "pre":
            return "pre-key-%d.json" % (i + 1)
        if kind == "session":
            if i % 3 == 0:
                return "session-%s@lid.%d.json" % (ph[::-1], i // len(phones))
            return "session-%s.%d.json" % (ph, i // len(phones))
        if kind == "sender":
            return "sender-key-%s--%s--%d.json" % (groups[i % len(groups)], phones[i % 37], i // 37)
        if kind == "sync":
            kid = base64.b64encode(fx.rng.randbytes(6)).decode().replace("/", "__")
            if i % 5 == 0:
                kid = "AAAA__" + kid
            return "app-state-sync-key-%s%s=.json" % (kid, "+" if i % 2 else "")
        if i < 5:
            return "app-state-sync-version-%s.json" % ("critical_block", "critical_unblock_low",
                                                       "regular", "regular_high", "regular_low")[i]
        k = i // len(phones)
        sfx = "" if k == 0 else ".%d" % k
        return ("lid-mapping-%s%s.json" % (ph, sfx), "lid-mapping-%s_reverse%s.json" % (ph, sfx),
                "device-list-%s%s.json" % (ph, sfx), "sender-key-memory-1203630%011d@g.us.json" % i)[i % 4]

    for kind, _ in weights:
        i = 0
        start = len(names)
        while len(names) - start < quota[kind]:
            names.add(make(kind, i))
            i += 1
    return sorted(names)


def gen_whatsapp(fx, nkeys):
    d = "credentials/whatsapp/default"
    fx.mkdir("credentials", 0o700)
    fx.mkdir("credentials/whatsapp", 0o700)
    fx.mkdir(d, 0o700)
    creds = {"noiseKey": {"private": fx.buf(32), "public": fx.buf(32)},
             "pairingEphemeralKeyPair": {"private": fx.buf(32), "public": fx.buf(32)},
             "signedIdentityKey": {"private": fx.buf(32), "public": fx.buf(32)},
             "signedPreKey": {"keyPair": {"private": fx.buf(32), "public": fx.buf(32)},
                              "signature": fx.buf(64), "keyId": 1},
             "registrationId": fx.rng.randrange(1, 16380), "advSecretKey": fx.b64(32),
             "me": {"id": "4915112345678:12@s.whatsapp.net", "name": MARKER_CREDS,
                    "lid": "123456789012345:12@lid"},
             "account": {"details": fx.b64(80), "accountSignatureKey": fx.buf(32),
                         "accountSignature": fx.buf(64), "deviceSignature": fx.buf(64)},
             "signalIdentities": [{"identifier": {"name": "4915112345678:12@s.whatsapp.net",
                                                  "deviceId": 0}, "identifierKey": fx.buf(33)}],
             "platform": "smba", "nextPreKeyId": nkeys + 1, "firstUnuploadedPreKeyId": nkeys + 1,
             "routingInfo": fx.buf(24), "myAppStateKeyId": "AAAAAJ" + MARKER_CREDS}
    fx.write(d + "/creds.json", json.dumps(creds), 0o600)
    names = key_names(fx, nkeys)
    assert len(names) >= nkeys, (len(names), nkeys)
    for name in names:
        if name.startswith("pre-key-"):
            body = {"private": fx.buf(32), "public": fx.buf(32)}
        elif name.startswith("session-"):
            body = {"_sessions": {fx.b64(33): {"registrationId": fx.rng.randrange(1 << 14),
                                                "currentRatchet": {"rootKey": fx.b64(32)},
                                                "chains": {fx.b64(33): {"chainKey": {"counter": 0}}}}},
                    "version": "v1"}
        elif name.startswith("sender-key-"):
            body = [{"senderKeyId": fx.rng.randrange(1 << 31), "senderChainKey": {"iteration": 0,
                     "seed": fx.buf(32)}, "senderSigningKey": {"public": fx.buf(33)}}]
        else:
            body = {"keyData": fx.buf(32), "fingerprint": {"rawId": fx.rng.randrange(1 << 31)},
                    "timestamp": str(BASE_TIME * 1000)}
        # Baileys writes its key files with the default umask: 0644.
        fx.write(d + "/" + name, json.dumps(body), 0o644)
    # A key file whose name carries a marker: names must not leak either.
    fx.write(d + "/lid-mapping-%s.json" % MARKER_NAME, json.dumps({"lid": "x"}), 0o644)
    return len(names) + 1


def gen_sqlite(fx):
    fx.mkdir("state", 0o700)
    path = fx.p("state/openclaw.sqlite")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE config_machine_state (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, writer TEXT, payload BLOB)")
    db.execute("INSERT INTO config_machine_state VALUES ('gateway.token', ?)",
               ("tok_%s_%s" % (MARKER_APIKEY, fx.b64(20)),))
    for i in range(200):
        db.execute("INSERT INTO config_machine_state VALUES (?, ?)", ("k%04d" % i, fx.b64(60)))
    db.commit()
    db.close()
    os.chmod(path, 0o600)
    fx.stamp("state/openclaw.sqlite")


def gen_workspace(fx):
    fx.mkdir("workspace", 0o755)
    for name, body in (("AGENTS.md", "# Agents\n\nBe helpful.\n"), ("SOUL.md", "# Soul\n\nCalm.\n"),
                       ("MEMORY.md", "# Memory\n\n- user likes tea\n")):
        fx.write("workspace/" + name, body, 0o644)
    fx.mkdir("workspace/memory", 0o755)
    for i in range(10):
        fx.write("workspace/memory/2024-05-%02d.md" % (i + 1),
                 "# Day %d\n\n%s\n" % (i + 1, fx.b64(300)), 0o644)
    fx.mkdir("workspace/skills", 0o755)
    fx.mkdir("workspace/skills/weather", 0o755)
    fx.write("workspace/skills/weather/SKILL.md", "---\nname: weather\n---\nAsk wttr.in.\n", 0o644)
    fx.write("workspace/skills/weather/run.sh", "#!/bin/sh\necho sunny\n", 0o755)
    fx.mkdir("workspace/skills/empty", 0o755)  # an empty dir
    # A .git dir made of plain files, as git would leave it.
    g = "workspace/.git"
    fx.mkdir(g, 0o755)
    fx.write(g + "/HEAD", "ref: refs/heads/main\n", 0o644)
    fx.write(g + "/config", "[core]\n\trepositoryformatversion = 0\n\tbare = false\n", 0o644)
    fx.write(g + "/description", "Unnamed repository\n", 0o644)
    for sub in ("refs", "refs/heads", "refs/tags", "objects", "objects/info", "objects/pack", "hooks"):
        fx.mkdir(g + "/" + sub, 0o755)
    for _ in range(6):
        h = "%040x" % fx.rng.getrandbits(160)
        fx.mkdir(g + "/objects/" + h[:2], 0o755)
        fx.write(g + "/objects/%s/%s" % (h[:2], h[2:]), fx.rng.randbytes(200), 0o444)
    fx.write(g + "/refs/heads/main", "%040x\n" % fx.rng.getrandbits(160), 0o644)
    fx.write(g + "/hooks/pre-commit.sample", "#!/bin/sh\nexit 0\n", 0o755)
    # Hardlinked pair, symlinks, awkward names.
    fx.write("workspace/memory/pinned.md", "# Pinned\n\nkeep\n", 0o644)
    os.link(fx.p("workspace/memory/pinned.md"), fx.p("workspace/memory/pinned-link.md"))
    os.symlink("memory/2024-05-01.md", fx.p("workspace/today.md"))
    fx.stamp("workspace/today.md")
    os.symlink("/etc/hostname", fx.p("workspace/host-name"))
    fx.stamp("workspace/host-name")
    os.symlink("memory/does-not-exist.md", fx.p("workspace/dangling.md"))
    fx.stamp("workspace/dangling.md")
    fx.write("workspace/caf\u00e9-na\u00efve.md", "non-ascii name\n", 0o644)
    fx.write(b"workspace/raw-\xff\xfe-name.bin", b"invalid utf-8 name\n", 0o644)
    try:
        os.setxattr(fx.p("workspace/MEMORY.md"), "user.openclaw.pinned", b"yes")
    except OSError:
        pass


def gen_media(fx, media_mb):
    fx.mkdir("media", 0o755)
    fx.mkdir("media/inbound", 0o755)
    for i in range(6):
        fx.write("media/inbound/img-%03d.jpg" % i, b"\xff\xd8\xff\xe0" + fx.rng.randbytes(20000 + i * 1000), 0o644)
    fx.write("media/inbound/voice-001.ogg", b"OggS" + fx.rng.randbytes(50000), 0o644)
    if media_mb > 0:
        path = fx.p("media/inbound/video-large.mp4")
        with open(path, "wb") as f:
            left = int(media_mb * 1024 * 1024)
            while left > 0:
                n = min(left, 4 << 20)
                f.write(fx.rng.randbytes(n))
                left -= n
        os.chmod(path, 0o644)
        fx.stamp("media/inbound/video-large.mp4")


def gen_misc(fx):
    fx.mkdir("cron", 0o700)
    fx.write("cron/jobs.json", json.dumps({"version": 1, "jobs": [{"id": "daily", "schedule": "0 9 * * *"}]}), 0o600)
    fx.mkdir("identity", 0o700)
    fx.write("identity/device.json", json.dumps({"deviceId": fx.b64(16), "privateKey": fx.b64(32)}), 0o600)
    fx.mkdir("devices", 0o700)
    fx.write("devices/paired.json", json.dumps({"devices": []}), 0o600)
    fx.mkdir("logs", 0o755)
    fx.write("logs/gateway.log", "".join("2024-05-01T10:%02d:00Z info tick %d\n" % (i % 60, i) for i in range(500)), 0o644)


def finish(fx, chown):
    # Times last, deepest first, so creating children does not disturb them.
    for rel, ns in fx.times:
        os.utime(fx.p(rel), ns=(ns, ns), follow_symlinks=False)
    dirs = []
    for dirpath, dirnames, _ in os.walk(os.fsencode(fx.root)):
        for d in dirnames:
            dirs.append(os.path.join(dirpath, d))
    dirs.sort(key=lambda d: -d.count(b"/"))
    for i, d in enumerate(dirs + [os.fsencode(fx.root)]):
        ns = (BASE_TIME + 100000 + i) * 10**9 + 123456789
        os.utime(d, ns=(ns, ns), follow_symlinks=False)
    if chown:
        for dirpath, dirnames, filenames in os.walk(os.fsencode(fx.root)):
            for n in dirnames + filenames:
                os.lchown(os.path.join(dirpath, n), 1001, 1001)
        os.lchown(os.fsencode(fx.root), 1001, 1001)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="state dir to create (must not exist)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keys", type=int, default=800, help="WhatsApp key files (default 800)")
    ap.add_argument("--media-mb", type=float, default=2, help="size of the large media file")
    ap.add_argument("--user", default="alice", help="user name in the embedded /home paths")
    ap.add_argument("--no-chown", action="store_true", help="keep the creator as owner")
    ap.add_argument("--markers", action="store_true", help="print the marker strings and exit")
    a = ap.parse_args()
    if a.markers:
        print("\n".join(MARKERS))
        return 0
    if not a.out:
        ap.error("--out is required")
    if os.path.lexists(a.out):
        ap.error("%s exists" % a.out)
    os.umask(0o022)
    os.makedirs(a.out, mode=0o700)
    os.chmod(a.out, 0o700)
    fx = Fixture(a.out, a.seed, a.user)
    gen_config(fx)
    gen_agents(fx)
    nkeys = gen_whatsapp(fx, a.keys)
    gen_sqlite(fx)
    gen_workspace(fx)
    gen_media(fx, a.media_mb)
    gen_misc(fx)
    finish(fx, os.geteuid() == 0 and not a.no_chown)
    print("fixture %s: %d WhatsApp key files, media %s MiB" % (a.out, nkeys, a.media_mb), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
