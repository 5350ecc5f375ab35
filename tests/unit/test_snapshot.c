/* test_snapshot.c - snapshots of a small state tree: exact entries and counts, stat-cache
 * reuse and the ctime rule, SQLite capture of a live WAL database, warnings and partial
 * results, vault verification and tamper detection, map growth, and a crash mid-snapshot. */
#include "internal.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

static char root[] = "/tmp/cs-snap-XXXXXX";

/* snprintf that must not truncate (and tells the compiler we looked). */
#define FMT(buf, size, ...) do { \
	if (snprintf(buf, size, __VA_ARGS__) >= (int)(size)) { \
		check_failed++; \
		fprintf(stderr, "%s:%d: path too long\n", __FILE__, __LINE__); \
	} \
} while (0)
static char state[PATH_MAX], vdir[PATH_MAX];
static bool have_xattr;
static unsigned char keyfile[32];

/* ---- tree helpers ---- */

static void at(char *out, const char *rel)
{
	FMT(out, PATH_MAX, "%s/%s", state, rel);
}

static void put(const char *rel, const char *content, mode_t mode)
{
	char p[PATH_MAX];
	at(p, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void dir(const char *rel, mode_t mode)
{
	char p[PATH_MAX];
	at(p, rel);
	CHECK(mkdir(p, mode) == 0 || errno == EEXIST);
	CHECK(chmod(p, mode) == 0);
}

static void put_in(const char *d, const char *name)
{
	char p[PATH_MAX];
	FMT(p, sizeof(p), "%s/%s", d, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, name, strlen(name)) > 0);
	close(fd);
}

static void run_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "sql %s: %s\n", sql, msg ? msg : "?");
	CHECK(rc == SQLITE_OK);
	sqlite3_free(msg);
}

static void build_tree(void)
{
	char p[PATH_MAX], q[PATH_MAX];
	FMT(state, sizeof(state), "%s/home/.openclaw", root);
	FMT(p, sizeof(p), "%s/home", root);
	CHECK(mkdir(p, 0755) == 0);
	CHECK(mkdir(state, 0700) == 0);
	put(".env", "OPENAI_API_KEY=sk-test\n", 0600);
	dir("agents", 0700);
	dir("agents/main", 0700);
	dir("agents/main/agent", 0700);
	put("agents/main/agent/auth-profiles.json", "{\"profiles\":{}}\n", 0600);
	dir("agents/main/sessions", 0700);
	put("agents/main/sessions/s1.jsonl", "{\"cwd\":\"/home/u\"}\n", 0644);
	dir("credentials", 0700);
	dir("credentials/whatsapp", 0700);
	dir("credentials/whatsapp/default", 0700);
	put("credentials/whatsapp/default/creds.json", "{\"noiseKey\":{}}\n", 0600);
	put("credentials/whatsapp/default/pre-key-1.json", "{\"k\":1}\n", 0644);
	dir("logs", 0755);
	put("logs/gateway.log", "log line\n", 0644);
	dir("media", 0755);
	put("media/h\xc3\xa9llo.txt", "voice note\n", 0644);
	put("media/\xff.bin", "\x01\x02\x03", 0640);
	put("openclaw.json", "{\"gateway\":{\"auth\":{\"token\":\"x\"}}}\n", 0600);
	dir("state", 0700);
	dir("tmp", 0700);
	dir("tmp/openclaw-0", 0700);
	put("tmp/openclaw-0/gateway.1234abcd.lock", "{\"pid\":1}\n", 0600);
	put("tmp/openclaw-0/device-identity.1234abcd.lock.sqlite", "x", 0600);
	dir("workspace", 0755);
	put("workspace/MEMORY.md", "# notes\n", 0644);
	put("workspace/a.txt", "linked twice\n", 0644);
	at(p, "workspace/a.txt");
	at(q, "workspace/b.txt");
	CHECK(link(p, q) == 0);
	dir("workspace/empty", 0750);
	at(p, "workspace/link.md");
	CHECK(symlink("MEMORY.md", p) == 0);
	dir(".clawstate-stage-deadbeef", 0700);
	put(".clawstate-stage-deadbeef/junk", "never stored\n", 0600);

	at(p, "openclaw.json");
	have_xattr = setxattr(p, "user.test", "hello", 5, 0) == 0;
	if (!have_xattr)
		fprintf(stderr, "note: no user xattrs on this filesystem (%s)\n", strerror(errno));
	(void)setxattr(p, "trusted.clawstate-test", "root only", 9, 0); /* never stored */

	/* A WAL database, closed: the main file alone holds it. */
	sqlite3 *db = NULL;
	at(p, "state/openclaw.sqlite");
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	run_sql(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x TEXT);"
		    "INSERT INTO t VALUES('a'),('b'),('c');");
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(chmod(p, 0600) == 0);
}

/* ---- warnings ---- */

static char warned[16][512];
static int n_warned;

static void on_warn(void *ctx, const char *path, const char *reason)
{
	(void)ctx;
	if (n_warned < 16)
		snprintf(warned[n_warned], sizeof(warned[0]), "%s: %s", path, reason);
	n_warned++;
}

static bool warned_about(const char *s)
{
	for (int i = 0; i < n_warned && i < 16; i++)
		if (strstr(warned[i], s))
			return true;
	return false;
}

/* ---- vault helpers ---- */

static struct cs_cred *cred(void)
{
	struct cs_cred *c = NULL;
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, keyfile, sizeof(keyfile), &c, &check_err));
	return c;
}

static struct cs_vault *open_vault(const char *d)
{
	struct cs_vault *v = NULL;
	struct cs_cred *c = cred();
	CHECK_OK(cs_vault_open(d, CS_OPEN_WRITE, &v, &check_err));
	if (v)
		CHECK_OK(cs_vault_unlock(v, c, &check_err));
	cs_cred_free(c);
	return v;
}

static void make_vault(const char *d, size_t map_size)
{
	struct cs_cred *c = cred();
	struct cs_vault_create_opts o = {.dir = d, .cred = c, .map_size = map_size};
	CHECK_OK(cs_vault_create(&o, &check_err));
	cs_cred_free(c);
}

static const char *const excludes[] = {"logs/"};

static int snap(struct cs_vault *v, const char *sd, struct cs_snapshot_result *r)
{
	struct cs_snapshot_opts o = {.state_dir = sd, .tag = "unit", .excludes = excludes,
				     .n_excludes = 1, .home = "/home/u",
				     .report = {.warn = on_warn}};
	n_warned = 0;
	cs_error_clear(&check_err);
	return cs_snapshot_create(v, &o, r, &check_err);
}

static bool no_capture_leftovers(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	bool ok = true;
	if (!dd)
		return false;
	while ((de = readdir(dd)))
		if (!strncmp(de->d_name, ".sqlite-capture-", 16))
			ok = false;
	closedir(dd);
	return ok;
}

/* ---- expected entries of the tree, in walk order ---- */

struct want {
	const char *path;
	int type;
	uint32_t mode;
	const char *target;
	int cls;
};

static const struct want wanted[] = {
	{".env", CS_ENTRY_FILE, 0600, NULL, CS_CLASS_SECRET},
	{"agents", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_OTHER},
	{"agents/main", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_OTHER},
	{"agents/main/agent", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_OTHER},
	{"agents/main/agent/auth-profiles.json", CS_ENTRY_FILE, 0600, NULL, CS_CLASS_SECRET},
	{"agents/main/sessions", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_SESSION},
	{"agents/main/sessions/s1.jsonl", CS_ENTRY_FILE, 0644, NULL, CS_CLASS_SESSION},
	{"credentials", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_SECRET},
	{"credentials/whatsapp", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_SECRET},
	{"credentials/whatsapp/default", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_SECRET},
	{"credentials/whatsapp/default/creds.json", CS_ENTRY_FILE, 0600, NULL, CS_CLASS_SECRET},
	{"credentials/whatsapp/default/pre-key-1.json", CS_ENTRY_FILE, 0644, NULL,
	 CS_CLASS_SECRET},
	{"media", CS_ENTRY_DIR, 0755, NULL, CS_CLASS_MEDIA},
	{"media/h\xc3\xa9llo.txt", CS_ENTRY_FILE, 0644, NULL, CS_CLASS_MEDIA},
	{"media/\xff.bin", CS_ENTRY_FILE, 0640, NULL, CS_CLASS_MEDIA},
	{"openclaw.json", CS_ENTRY_FILE, 0600, NULL, CS_CLASS_SECRET},
	{"state", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_OTHER},
	{"state/openclaw.sqlite", CS_ENTRY_FILE, 0600, NULL, CS_CLASS_DATABASE},
	{"tmp", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_OTHER},
	{"tmp/openclaw-0", CS_ENTRY_DIR, 0700, NULL, CS_CLASS_OTHER},
	{"workspace", CS_ENTRY_DIR, 0755, NULL, CS_CLASS_WORKSPACE},
	{"workspace/MEMORY.md", CS_ENTRY_FILE, 0644, NULL, CS_CLASS_WORKSPACE},
	{"workspace/a.txt", CS_ENTRY_FILE, 0644, NULL, CS_CLASS_WORKSPACE},
	{"workspace/b.txt", CS_ENTRY_HARDLINK, 0644, "workspace/a.txt", CS_CLASS_WORKSPACE},
	{"workspace/empty", CS_ENTRY_DIR, 0750, NULL, CS_CLASS_WORKSPACE},
	{"workspace/link.md", CS_ENTRY_SYMLINK, 0777, "MEMORY.md", CS_CLASS_WORKSPACE},
};
#define N_WANTED (sizeof(wanted) / sizeof(wanted[0]))
#define N_FILES 11

struct seen {
	size_t n, mismatches;
	unsigned char memory_hash[32];
	bool xattr_ok, sqlite_flag;
};

static int check_one(void *ctx, const struct cs_entry *e)
{
	struct seen *s = ctx;
	const struct want *w = s->n < N_WANTED ? &wanted[s->n] : NULL;
	bool ok = w && !strcmp(e->path, w->path) && e->type == w->type && e->cls == w->cls &&
		  (w->type == CS_ENTRY_SYMLINK || e->mode == w->mode) &&
		  (w->target ? e->target && !strcmp(e->target, w->target) : e->target == NULL);
	if (!ok) {
		fprintf(stderr, "entry %zu: got %s type %d mode %o class %d target %s\n", s->n,
			e->path, e->type, e->mode, e->cls, e->target ? e->target : "-");
		s->mismatches++;
	}
	if (!strcmp(e->path, "workspace/MEMORY.md"))
		memcpy(s->memory_hash, e->hash, 32);
	if (!strcmp(e->path, "state/openclaw.sqlite"))
		s->sqlite_flag = e->is_sqlite == 1;
	if (!strcmp(e->path, "openclaw.json"))
		s->xattr_ok = have_xattr ? e->n_xattrs == 1 && !strcmp(e->xattrs[0].name, "user.test") &&
						   e->xattrs[0].len == 5 &&
						   !memcmp(e->xattrs[0].value, "hello", 5)
					 : e->n_xattrs == 0;
	s->n++;
	return 0;
}

static void check_entries(struct cs_vault *v, uint64_t seq, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	CHECK_OK(cs_snapshot_entries(v, seq, check_one, s, &check_err));
	CHECK(s->n == N_WANTED);
	CHECK(s->mismatches == 0);
	CHECK(s->sqlite_flag);
	CHECK(s->xattr_ok);
}

/* ---- reading a database capture back out of the vault ---- */

struct dbout {
	struct cs_vault *v;
	MDB_txn *txn;
	int fd;
	bool found;
};

static int extract_db(void *ctx, const struct cs_ventry *ve)
{
	struct dbout *o = ctx;
	unsigned char *buf = malloc(CS_CHUNK_MAX);
	if (strcmp(ve->e.path, "state/openclaw.sqlite") != 0 || !buf) {
		free(buf);
		return 0;
	}
	o->found = true;
	for (size_t i = 0; i < ve->n_chunks; i++) {
		CHECK_OK(cs_chunk_read(o->v, o->txn, &ve->chunks[i], buf, &check_err));
		CHECK(write(o->fd, buf, ve->chunks[i].len) == (ssize_t)ve->chunks[i].len);
	}
	free(buf);
	return 0;
}

static int count_rows(const char *path, unsigned char hdr[2])
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;
	int fd = open(path, O_RDONLY);
	unsigned char h[20];
	if (fd >= 0 && pread(fd, h, 20, 0) == 20) {
		hdr[0] = h[18];
		hdr[1] = h[19];
	}
	if (fd >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ---- the tests ---- */

static void test_refusals(struct cs_vault *v)
{
	struct cs_snapshot_result r;
	char p[PATH_MAX];
	FMT(p, sizeof(p), "%s/missing", root);
	CHECK_RC(snap(v, p, &r), CS_ERR_NOTFOUND);
	CHECK_RC(snap(v, root, &r), CS_ERR_USAGE); /* the vault is inside root */
	CHECK(strstr(check_err.what, "contain each other") != NULL);
	uint64_t seq = 0;
	CHECK_RC(cs_snapshot_resolve(v, "latest", &seq, &check_err), CS_ERR_NOTFOUND);
	CHECK_RC(cs_snapshot_resolve(v, "12x", &seq, &check_err), CS_ERR_USAGE);
	CHECK_RC(cs_snapshot_resolve(v, "-1", &seq, &check_err), CS_ERR_USAGE);
	CHECK_RC(cs_snapshot_resolve(v, "99999999999999999999999", &seq, &check_err),
		 CS_ERR_USAGE);
}

static int list_cb(void *ctx, const struct cs_snapshot_info *info)
{
	uint64_t *n = ctx;
	CHECK(info->seq == *n + 1);
	(*n)++;
	return 0;
}

static void test_main_vault(void)
{
	struct cs_snapshot_result r;
	struct cs_snapshot_info info;
	struct cs_verify_result vr;
	struct seen s1, s3;
	uint64_t seq = 0;
	char p[PATH_MAX];
	struct stat st;

	FMT(vdir, sizeof(vdir), "%s/vault", root);
	make_vault(vdir, 0);
	struct cs_vault *v = open_vault(vdir);
	if (!v)
		return;
	test_refusals(v);

	/* Let the tree's ctimes fall more than a second behind the first snapshot's start. */
	sleep(2);
	CHECK_OK(snap(v, state, &r));
	CHECK(r.seq == 1);
	CHECK(r.entries == N_WANTED);
	CHECK(r.files == N_FILES);
	CHECK(r.files_read == N_FILES);
	CHECK(r.files_reused == 0);
	CHECK(r.skipped == 0 && n_warned == 0);
	CHECK(r.chunks_new > 0 && r.bytes_new > 0 && r.bytes_read > 0);
	CHECK(no_capture_leftovers(vdir));
	check_entries(v, 1, &s1);

	CHECK_OK(cs_snapshot_get(v, 1, &info, &check_err));
	CHECK(info.seq == 1 && info.entries == N_WANTED && info.files == N_FILES && !info.partial);
	CHECK(!strcmp(info.state_dir, state) && !strcmp(info.home, "/home/u"));
	CHECK(!strcmp(info.layout, "host") && !strcmp(info.tag, "unit"));
	CHECK(!strcmp(info.tool_version, CS_VERSION_STRING) && info.format == CS_BACKUP_FORMAT);
	CHECK(info.uid == getuid());
	CHECK(info.finished_sec > info.started_sec ||
	      (info.finished_sec == info.started_sec && info.finished_nsec >= info.started_nsec));

	/* Nothing changed: a walk and no reads. */
	sleep(2);
	CHECK_OK(snap(v, state, &r));
	CHECK(r.seq == 2 && r.entries == N_WANTED && r.files == N_FILES);
	CHECK(r.files_read == 0);
	CHECK(r.files_reused == N_FILES);
	CHECK(r.bytes_read == 0 && r.chunks_new == 0);

	/* Same size, same mtime, new content: the ctime gives it away. */
	at(p, "workspace/MEMORY.md");
	CHECK(stat(p, &st) == 0);
	int fd = open(p, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "# NOTES\n", 8, 0) == 8);
	close(fd);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	CHECK(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == 0);
	sleep(2); /* so the next snapshot may reuse it again */
	CHECK_OK(snap(v, state, &r));
	CHECK(r.seq == 3);
	CHECK(r.files_read == 1);
	CHECK(r.files_reused == N_FILES - 1);
	check_entries(v, 3, &s3);
	CHECK(memcmp(s1.memory_hash, s3.memory_hash, 32) != 0);

	/* A live WAL database with commits only in its -wal: captured whole, siblings not
	 * stored, and the copy is a WAL database as the source is, complete without a
	 * -wal.  The main database file is unchanged: only its -wal can force the read. */
	sqlite3 *db = NULL;
	at(p, "state/openclaw.sqlite");
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	run_sql(db, "PRAGMA wal_autocheckpoint=0;");
	run_sql(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<100)"
		    " INSERT INTO t SELECT 'row' || i FROM n;");
	at(p, "state/openclaw.sqlite-wal");
	CHECK(stat(p, &st) == 0 && st.st_size > 0);
	CHECK_OK(snap(v, state, &r));
	CHECK(r.seq == 4 && r.entries == N_WANTED);
	CHECK(r.files_read == 1);
	CHECK(no_capture_leftovers(vdir));
	CHECK(sqlite3_close(db) == SQLITE_OK);

	MDB_txn *txn = NULL;
	char out[PATH_MAX];
	unsigned char hdr[2] = {0, 0};
	FMT(out, sizeof(out), "%s/captured.sqlite", root);
	struct dbout o = {v, NULL, open(out, O_WRONLY | O_CREAT | O_EXCL, 0600), false};
	CHECK(o.fd >= 0);
	CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
	o.txn = txn;
	CHECK_OK(cs_ventry_foreach(v, txn, 4, extract_db, &o, &check_err));
	mdb_txn_abort(txn);
	close(o.fd);
	CHECK(o.found);
	CHECK(count_rows(out, hdr) == 103);
	CHECK(hdr[0] == 2 && hdr[1] == 2);

	/* Unreadable file and a FIFO: reported, named, and the snapshot is partial. */
	put("credentials/whatsapp/default/session-x.json", "{}\n", 0600);
	at(p, "state/gateway.fifo");
	CHECK(mkfifo(p, 0600) == 0);
	setenv("CLAWSTATE_TEST_EACCES", "session-x", 1);
	CHECK_RC(snap(v, state, &r), CS_ERR_PARTIAL);
	unsetenv("CLAWSTATE_TEST_EACCES");
	CHECK(r.seq == 5 && r.skipped == 2 && n_warned == 2);
	CHECK(r.entries == N_WANTED);
	CHECK(warned_about("credentials/whatsapp/default/session-x.json: cannot open: Permission"));
	CHECK(warned_about("state/gateway.fifo: special file not stored"));
	CHECK(!strcmp(check_err.path, "credentials/whatsapp/default/session-x.json"));
	CHECK_OK(cs_snapshot_get(v, 5, &info, &check_err));
	CHECK(info.partial == 1);
	CHECK(unlink(p) == 0);

	CHECK_OK(cs_snapshot_resolve(v, "latest", &seq, &check_err));
	CHECK(seq == 5);
	CHECK_OK(cs_snapshot_resolve(v, "3", &seq, &check_err));
	CHECK(seq == 3);
	CHECK_RC(cs_snapshot_resolve(v, "6", &seq, &check_err), CS_ERR_NOTFOUND);
	uint64_t n = 0;
	CHECK_OK(cs_snapshot_list(v, list_cb, &n, &check_err));
	CHECK(n == 5);

	CHECK_OK(cs_verify_vault(v, &vr, &check_err));
	CHECK(vr.snapshots == 5);
	CHECK(vr.entries == 5 * N_WANTED);
	CHECK(vr.files == 4 * N_FILES + (N_FILES + 0));
	CHECK(vr.chunks >= N_FILES);

	/* One flipped byte in one chunk record. */
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	unsigned char key[32], *copy = NULL;
	size_t len = 0;
	CHECK_OK(cs_txn_begin(v, true, &txn, &check_err));
	CHECK(mdb_cursor_open(txn, v->db_chunks, &cur) == 0);
	CHECK(mdb_cursor_get(cur, &k, &d, MDB_FIRST) == 0);
	memcpy(key, k.mv_data, 32);
	len = d.mv_size;
	copy = malloc(len);
	memcpy(copy, d.mv_data, len);
	copy[len - 5] ^= 0x40;
	mdb_cursor_close(cur);
	CHECK_OK(cs_db_put(txn, v->db_chunks, key, 32, copy, len, 0, &check_err));
	CHECK_OK(cs_txn_commit(txn, &check_err));
	free(copy);
	CHECK_RC(cs_verify_vault(v, &vr, &check_err), CS_ERR_CORRUPT);
	CHECK(check_err.path[0] != '\0');
	CHECK(!strncmp(check_err.what, "snapshot ", 9) && strstr(check_err.what, ": chunk ") != NULL);
	fprintf(stderr, "note: tampered vault reports: %s: %s\n", check_err.path, check_err.what);
	cs_vault_close(v);
}

/* A vault whose map starts at 1 MiB takes a 30 MiB snapshot by growing. */
static void test_map_growth(void)
{
	char sd[PATH_MAX], vd[PATH_MAX], p[PATH_MAX];
	struct cs_snapshot_result r;
	struct cs_verify_result vr;
	FMT(sd, sizeof(sd), "%s/big", root);
	FMT(vd, sizeof(vd), "%s/vault-small", root);
	CHECK(mkdir(sd, 0700) == 0);
	FMT(p, sizeof(p), "%s/media.bin", sd);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	unsigned char *buf = malloc(1 << 20);
	CHECK(fd >= 0 && buf);
	for (int i = 0; i < 30 && buf; i++) {
		randombytes_buf(buf, 1 << 20);
		CHECK(write(fd, buf, 1 << 20) == 1 << 20);
	}
	free(buf);
	close(fd);
	make_vault(vd, 1 << 20);
	struct cs_vault *v = open_vault(vd);
	if (!v)
		return;
	CHECK_OK(snap(v, sd, &r));
	CHECK(r.files_read == 1 && r.bytes_read == 30u << 20 && r.bytes_new == 30u << 20);
	CHECK(v->map_size > 30u << 20);
	CHECK_OK(cs_verify_vault(v, &vr, &check_err));
	CHECK(vr.bytes == 30u << 20 && vr.files == 1);
	cs_vault_close(v);
}

/* The child side of test_crash: snapshot under CLAWSTATE_TEST_KILL_AT. */
static int crash_child(const char *vd, const char *sd)
{
	struct cs_snapshot_result r;
	struct cs_vault *v = open_vault(vd);
	if (!v)
		return 2;
	int rc = snap(v, sd, &r);
	cs_vault_close(v);
	return rc == CS_OK ? 0 : 1;
}

static int run_child(const char *vd, const char *sd, const char *env, const char *val)
{
	pid_t pid = fork();
	if (pid == 0) {
		setenv(env, val, 1);
		execl("/proc/self/exe", "test_snapshot", "--crash-child", vd, sd, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

/* Killed at the last commit (the snapshot record), after entry batches were committed:
 * the vault shows no new snapshot, and the next run clears the leftovers.  Runs 2 and 3
 * reuse every file, so they take the same steps and run 2's count is run 3's last step. */
static void test_crash(void)
{
	char sd[PATH_MAX], vd[PATH_MAX], p[PATH_MAX], cnt[PATH_MAX], num[32];
	struct cs_snapshot_result r;
	struct cs_verify_result vr;
	uint64_t seq = 0;
	FMT(sd, sizeof(sd), "%s/many", root);
	FMT(vd, sizeof(vd), "%s/vault-crash", root);
	FMT(cnt, sizeof(cnt), "%s/count", root);
	CHECK(mkdir(sd, 0700) == 0);
	for (int i = 0; i < 2500; i++) {
		FMT(p, sizeof(p), "%s/f%04d", sd, i);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		CHECK(fd >= 0 && write(fd, p, strlen(p)) > 0);
		close(fd);
	}
	make_vault(vd, 0);
	sleep(2);
	struct cs_vault *v = open_vault(vd);
	if (!v)
		return;
	CHECK_OK(snap(v, sd, &r));
	CHECK(r.entries == 2500 && r.files_read == 2500);
	cs_vault_close(v);

	int status = run_child(vd, sd, "CLAWSTATE_TEST_COUNT", cnt);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	FILE *f = fopen(cnt, "r");
	unsigned long points = 0;
	CHECK(f && fscanf(f, "%lu", &points) == 1);
	if (f)
		fclose(f);
	snprintf(num, sizeof(num), "%lu", points);
	status = run_child(vd, sd, "CLAWSTATE_TEST_KILL_AT", num);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	v = open_vault(vd);
	if (!v)
		return;
	CHECK_OK(cs_snapshot_resolve(v, "latest", &seq, &check_err));
	CHECK(seq == 2);
	/* The crashed run's entries sit under seq 3; a smaller tree now must not inherit them. */
	for (int i = 0; i < 2000; i++) {
		FMT(p, sizeof(p), "%s/f%04d", sd, i);
		CHECK(unlink(p) == 0);
	}
	CHECK_OK(snap(v, sd, &r));
	CHECK(r.seq == 3 && r.entries == 500 && r.files_reused == 500);
	CHECK_OK(cs_verify_vault(v, &vr, &check_err));
	CHECK(vr.snapshots == 3 && vr.entries == 5500);
	cs_vault_close(v);
}

/* The record codecs round-trip and refuse every truncation, trailing byte and bad field. */
static void test_codecs(void)
{
	struct cs_xattr x = {"user.a", (unsigned char *)"v", 1};
	struct cs_chunk_ref ch[2] = {{{1}, 10}, {{2}, 5}};
	struct cs_ventry ve = {.e = {.path = "credentials/x", .type = CS_ENTRY_FILE,
				     .mode = 0600, .uid = 1, .gid = 2, .mtime_sec = -5,
				     .mtime_nsec = 7, .size = 15, .cls = CS_CLASS_SECRET,
				     .n_xattrs = 1, .xattrs = &x},
			       .dev = 3, .ino = 4, .nlink = 1, .st_size = 15, .ctime_sec = 9,
			       .ctime_nsec = 999999999, .n_chunks = 2, .chunks = ch};
	struct cs_ventry out;
	unsigned char *buf = NULL;
	size_t len = 0;
	CHECK_OK(cs_ventry_encode(&ve, &buf, &len, &check_err));
	CHECK_OK(cs_ventry_decode(buf, len, &out, &check_err));
	CHECK(!strcmp(out.e.path, "credentials/x") && out.e.target == NULL);
	CHECK(out.e.mtime_sec == -5 && out.e.mtime_nsec == 7 && out.ctime_nsec == 999999999);
	CHECK(out.n_chunks == 2 && out.chunks[1].len == 5 && out.chunks[1].id[0] == 2);
	CHECK(out.e.n_xattrs == 1 && !strcmp(out.e.xattrs[0].name, "user.a"));
	CHECK(out.st_size == 15 && out.dev == 3 && out.e.cls == CS_CLASS_SECRET);
	cs_ventry_free(&out);
	int bad = 0;
	for (size_t n = 0; n < len; n++)
		if (cs_ventry_decode(buf, n, &out, &check_err) != CS_ERR_CORRUPT)
			bad++;
	CHECK(bad == 0);
	unsigned char *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	CHECK_RC(cs_ventry_decode(longer, len + 1, &out, &check_err), CS_ERR_CORRUPT);
	free(longer);
	buf[0] = 2;
	CHECK_RC(cs_ventry_decode(buf, len, &out, &check_err), CS_ERR_VERSION);
	buf[0] = 1;
	buf[1] = 9; /* type */
	CHECK_RC(cs_ventry_decode(buf, len, &out, &check_err), CS_ERR_CORRUPT);
	free(buf);

	ve.e.size = 16; /* chunks add up to 15 */
	CHECK_OK(cs_ventry_encode(&ve, &buf, &len, &check_err));
	CHECK_RC(cs_ventry_decode(buf, len, &out, &check_err), CS_ERR_CORRUPT);
	free(buf);
	ve.e.size = 15;
	ve.e.type = CS_ENTRY_SYMLINK; /* no target, and content */
	CHECK_OK(cs_ventry_encode(&ve, &buf, &len, &check_err));
	CHECK_RC(cs_ventry_decode(buf, len, &out, &check_err), CS_ERR_CORRUPT);
	free(buf);

	struct cs_vsnap vs = {.info = {.seq = 7, .started_sec = 100, .finished_sec = 101,
				       .entries = 3, .files = 2, .bytes = 9, .partial = 1},
			      .dk_id = 42, .n_entries = 3}, vo;
	strcpy(vs.info.tag, "t");
	strcpy(vs.info.state_dir, "/s");
	strcpy(vs.info.layout, "host");
	CHECK_OK(cs_vsnap_encode(&vs, &buf, &len, &check_err));
	CHECK_OK(cs_vsnap_decode(buf, len, &vo, &check_err));
	CHECK(vo.info.seq == 7 && vo.dk_id == 42 && vo.info.partial == 1 &&
	      !strcmp(vo.info.state_dir, "/s") && !strcmp(vo.info.tag, "t"));
	bad = 0;
	for (size_t n = 0; n < len; n++)
		if (cs_vsnap_decode(buf, n, &vo, &check_err) != CS_ERR_CORRUPT)
			bad++;
	CHECK(bad == 0);
	free(buf);
	vs.n_entries = 4; /* disagrees with info.entries */
	CHECK_OK(cs_vsnap_encode(&vs, &buf, &len, &check_err));
	CHECK_RC(cs_vsnap_decode(buf, len, &vo, &check_err), CS_ERR_CORRUPT);
	free(buf);
}

/* A directory that is a mount point is reported and not entered (needs CAP_SYS_ADMIN). */
static void test_mount_point(void)
{
	char sd[PATH_MAX], vd[PATH_MAX], p[PATH_MAX];
	struct cs_snapshot_result r;
	FMT(sd, sizeof(sd), "%s/mnt-state", root);
	FMT(vd, sizeof(vd), "%s/vault-mnt", root);
	FMT(p, sizeof(p), "%s/media", sd);
	CHECK(mkdir(sd, 0700) == 0 && mkdir(p, 0700) == 0);
	if (mount("cs-test", p, "tmpfs", 0, "size=1m") != 0) {
		fprintf(stderr, "note: mount point test skipped (%s)\n", strerror(errno));
		return;
	}
	FMT(p, sizeof(p), "%s/media/inside", sd);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	put_in(sd, "top.txt");
	make_vault(vd, 0);
	struct cs_vault *v = open_vault(vd);
	if (v) {
		CHECK_RC(snap(v, sd, &r), CS_ERR_PARTIAL);
		CHECK(r.entries == 1 && r.skipped == 1);
		CHECK(warned_about("media: mount point, not crossed"));
		cs_vault_close(v);
	}
	FMT(p, sizeof(p), "%s/media", sd);
	CHECK(umount(p) == 0);
}

static void rm_rf(const char *p)
{
	char cmd[PATH_MAX + 16];
	FMT(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", p);
}

int main(int argc, char **argv)
{
	CHECK_OK(cs_library_init(&check_err));
	for (size_t i = 0; i < sizeof(keyfile); i++)
		keyfile[i] = (unsigned char)(i * 7 + 1); /* the crash child needs the same key */
	if (argc == 4 && !strcmp(argv[1], "--crash-child"))
		return crash_child(argv[2], argv[3]);
	umask(022);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_codecs();
	build_tree();
	test_main_vault();
	test_mount_point();
	test_map_growth();
	test_crash();
	if (!check_failed)
		rm_rf(root);
	else
		fprintf(stderr, "left %s for inspection\n", root);
	TEST_DONE();
}
