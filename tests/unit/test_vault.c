/* test_vault.c - credentials, vault create/open/unlock, key-slot caps, the
 * writer lock, map growth, and the chunk store (dedup, tamper detection). */
#include "internal.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[] = "/tmp/cs-vault-XXXXXX";

static void path_in(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", root, name);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A credential read through a pipe, the way --passphrase-file - gets it. */
static int cred_via_pipe(int kind, const void *data, size_t len, struct cs_cred **out)
{
	int p[2];
	if (pipe(p) < 0)
		return CS_ERR_IO;
	if (len && write(p[1], data, len) != (ssize_t)len)
		return CS_ERR_IO;
	close(p[1]);
	int rc = cs_cred_read_fd(kind, p[0], "pipe", out, &check_err);
	close(p[0]);
	return rc;
}

static struct cs_cred *pass(const char *s)
{
	struct cs_cred *c = NULL;
	CHECK_OK(cs_cred_from_buffer(CS_CRED_PASSPHRASE, s, strlen(s), &c, &check_err));
	return c;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (stat(p, &st) < 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void test_cred(void)
{
	struct cs_cred *c = NULL;
	CHECK_OK(cred_via_pipe(CS_CRED_PASSPHRASE, "secret\r\n", 8, &c));
	CHECK(c && c->len == 6 && memcmp(c->secret, "secret", 6) == 0);
	cs_cred_free(c);
	CHECK_OK(cred_via_pipe(CS_CRED_PASSPHRASE, "two\n\n", 5, &c));
	CHECK(c && c->len == 4 && memcmp(c->secret, "two\n", 4) == 0); /* only one stripped */
	cs_cred_free(c);
	CHECK_RC(cred_via_pipe(CS_CRED_PASSPHRASE, "\n", 1, &c), CS_ERR_USAGE);
	CHECK(strcmp(check_err.what, "empty passphrase") == 0);
	CHECK_RC(cred_via_pipe(CS_CRED_PASSPHRASE, "", 0, &c), CS_ERR_USAGE);
	CHECK(c == NULL);

	static char big[4100];
	memset(big, 'x', sizeof big);
	big[4096] = '\n';
	CHECK_OK(cred_via_pipe(CS_CRED_PASSPHRASE, big, 4097, &c));
	CHECK(c && c->len == 4096);
	cs_cred_free(c);
	CHECK_RC(cred_via_pipe(CS_CRED_PASSPHRASE, big, 4097 + 2, &c), CS_ERR_USAGE);
	big[4096] = 'x';
	CHECK_RC(cred_via_pipe(CS_CRED_PASSPHRASE, big, 4097, &c), CS_ERR_USAGE);

	unsigned char k[33] = {0};
	CHECK_RC(cred_via_pipe(CS_CRED_KEYFILE, k, 31, &c), CS_ERR_KEY);
	CHECK(strcmp(check_err.what, "key file must hold 32 bytes") == 0);
	CHECK_RC(cred_via_pipe(CS_CRED_KEYFILE, k, 33, &c), CS_ERR_KEY);
	CHECK_OK(cred_via_pipe(CS_CRED_KEYFILE, k, 32, &c));
	CHECK(c && c->kind == CS_CRED_KEYFILE && c->len == 32);
	cs_cred_free(c);
	cs_cred_free(NULL);

	char kf[PATH_MAX];
	struct stat st;
	path_in(kf, "key");
	CHECK_OK(cs_keyfile_create(kf, &check_err));
	CHECK(stat(kf, &st) == 0 && st.st_size == 32 && (st.st_mode & 0777) == 0600);
	CHECK_RC(cs_keyfile_create(kf, &check_err), CS_ERR_EXISTS);
	int fd = open(kf, O_RDONLY);
	CHECK_OK(cs_cred_read_fd(CS_CRED_KEYFILE, fd, kf, &c, &check_err));
	close(fd);
	cs_cred_free(c);

	CHECK(cs_kdf_parse("interactive") == CS_KDF_INTERACTIVE);
	CHECK(cs_kdf_parse("moderate") == CS_KDF_MODERATE);
	CHECK(cs_kdf_parse("sensitive") == CS_KDF_SENSITIVE);
	CHECK(cs_kdf_parse("fast") == -1);
}

static void test_passphrase_vault(void)
{
	char dir[PATH_MAX], other[PATH_MAX];
	struct cs_cred *good = pass("correct horse"), *bad = pass("wrong horse");
	struct cs_vault *v = NULL;
	path_in(dir, "pv/nested/vault"); /* parents are made too */
	struct cs_vault_create_opts o = {.dir = dir, .cred = good, .kdf = CS_KDF_INTERACTIVE};
	CHECK_OK(cs_vault_create(&o, &check_err));
	CHECK(mode_of(dir, ".") == 0700);
	CHECK(mode_of(dir, "data.mdb") == 0600);
	CHECK(mode_of(dir, "lock.mdb") == 0600);
	CHECK(mode_of(dir, "writer.lock") == 0600);
	CHECK_RC(cs_vault_create(&o, &check_err), CS_ERR_EXISTS);
	CHECK(strstr(check_err.what, "a vault exists here") != NULL);

	CHECK_OK(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err));
	if (!v)
		goto out;
	CHECK(!v->writable && v->lock_fd < 0 && v->master == NULL && v->epoch == 1);
	char hex[33];
	cs_vault_id_hex(v, hex);
	CHECK(strlen(hex) == 32);
	CHECK_RC(cs_vault_unlock(v, bad, &check_err), CS_ERR_KEY);
	CHECK(strstr(check_err.what, "wrong passphrase or key file") != NULL);
	CHECK(v->master == NULL);
	unsigned char kb[32] = {1};
	struct cs_cred *kc = NULL;
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, kb, 32, &kc, &check_err));
	CHECK_RC(cs_vault_unlock(v, kc, &check_err), CS_ERR_KEY);
	cs_cred_free(kc);
	CHECK_OK(cs_vault_unlock(v, good, &check_err));
	CHECK(v->master != NULL);

	/* meta records as documented */
	MDB_txn *txn = NULL;
	MDB_val d;
	CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
	CHECK_OK(cs_db_get(txn, v->db_meta, "schema", 6, &d, &check_err));
	CHECK(d.mv_size == 4 && cs_rd32(d.mv_data) == CS_VAULT_SCHEMA);
	CHECK_OK(cs_db_get(txn, v->db_meta, "next_slot", 9, &d, &check_err));
	CHECK(d.mv_size == 4 && cs_rd32(d.mv_data) == 2);
	CHECK_OK(cs_db_get(txn, v->db_meta, "created", 7, &d, &check_err));
	CHECK(d.mv_size == 8 && cs_rd64(d.mv_data) > 1600000000ULL);
	CHECK_OK(cs_db_get(txn, v->db_meta, "tool", 4, &d, &check_err));
	CHECK(d.mv_size == 15 && memcmp(d.mv_data, "clawstate 0.1.0", 15) == 0);
	unsigned char sid[4];
	cs_be32(sid, 1);
	CHECK_OK(cs_db_get(txn, v->db_keyslots, sid, 4, &d, &check_err));
	CHECK(d.mv_size == CS_SLOT_ENCODED_BYTES);
	CHECK_RC(cs_db_get(txn, v->db_keyslots, "nope", 4, &d, &check_err), CS_ERR_NOTFOUND);
	mdb_txn_abort(txn);
	cs_vault_close(v);
	v = NULL;

	/* a non-empty directory is refused and left alone */
	path_in(other, "notempty");
	CHECK(mkdir(other, 0755) == 0);
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s/keep", other);
	int fd = open(f, O_CREAT | O_WRONLY | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	o.dir = other;
	CHECK_RC(cs_vault_create(&o, &check_err), CS_ERR_EXISTS);
	CHECK(access(f, F_OK) == 0 && mode_of(other, "writer.lock") == (mode_t)-1);
	/* an empty existing one is used, and tightened to 0700 */
	path_in(other, "empty");
	CHECK(mkdir(other, 0755) == 0);
	CHECK_OK(cs_vault_create(&o, &check_err));
	CHECK(mode_of(other, ".") == 0700);
	/* a bad preset fails before anything stays behind */
	path_in(other, "badkdf");
	o.kdf = 42;
	CHECK_RC(cs_vault_create(&o, &check_err), CS_ERR_USAGE);
	CHECK(access(other, F_OK) < 0 && errno == ENOENT);

	path_in(other, "nothing");
	CHECK_RC(cs_vault_open(other, CS_OPEN_READ, &v, &check_err), CS_ERR_NOTFOUND);
	CHECK(strcmp(check_err.what, "no vault here") == 0 && v == NULL);
out:
	cs_vault_close(v);
	cs_cred_free(good);
	cs_cred_free(bad);
}

static struct cs_cred *keyfile_cred(const char *name, char *dir)
{
	char kf[PATH_MAX];
	struct cs_cred *c = NULL;
	path_in(kf, name);
	CHECK_OK(cs_keyfile_create(kf, &check_err));
	int fd = open(kf, O_RDONLY);
	CHECK_OK(cs_cred_read_fd(CS_CRED_KEYFILE, fd, kf, &c, &check_err));
	close(fd);
	snprintf(dir, PATH_MAX, "%s/%s.vault", root, name);
	return c;
}

static void test_keyfile_vault(void)
{
	char dir[PATH_MAX], dir2[PATH_MAX];
	struct cs_cred *c = keyfile_cred("kv", dir), *other = keyfile_cred("kv2", dir2);
	struct cs_vault *v = NULL;
	struct cs_vault_create_opts o = {.dir = dir, .cred = c};
	CHECK_OK(cs_vault_create(&o, &check_err));
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	if (v) {
		CHECK(v->writable && v->lock_fd >= 0);
		CHECK_RC(cs_vault_unlock(v, other, &check_err), CS_ERR_KEY);
		struct cs_cred *p = pass("a passphrase");
		CHECK_RC(cs_vault_unlock(v, p, &check_err), CS_ERR_KEY);
		CHECK(strstr(check_err.what, "no passphrase slot") != NULL);
		cs_cred_free(p);
		CHECK_OK(cs_vault_unlock(v, c, &check_err));
	}
	cs_vault_close(v);
	cs_cred_free(c);
	cs_cred_free(other);
}

static void put_slot(const char *dir, const struct cs_slot *s)
{
	struct cs_vault *v = NULL;
	MDB_txn *txn = NULL;
	unsigned char enc[CS_SLOT_ENCODED_BYTES], sid[4];
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	cs_slot_encode(s, enc);
	cs_be32(sid, s->id);
	CHECK_OK(cs_txn_begin(v, true, &txn, &check_err));
	CHECK_OK(cs_db_put(txn, v->db_keyslots, sid, 4, enc, sizeof enc, 0, &check_err));
	CHECK_OK(cs_txn_commit(txn, &check_err));
	cs_vault_close(v);
}

static void test_slot_caps(void)
{
	char dir[PATH_MAX];
	struct cs_cred *good = pass("pw"), *kc = keyfile_cred("caps", dir);
	struct cs_master *m = cs_master_new();
	struct cs_slot s, hostile;
	unsigned char vid[16] = {7};
	struct cs_vault *v = NULL;

	/* slot round trip and AD binding */
	cs_master_generate(m);
	CHECK_OK(cs_slot_create(vid, 3, good, CS_KDF_INTERACTIVE, m, &s, &check_err));
	unsigned char enc[CS_SLOT_ENCODED_BYTES];
	struct cs_slot back;
	cs_slot_encode(&s, enc);
	CHECK_OK(cs_slot_decode(enc, sizeof enc, &back, &check_err));
	CHECK(memcmp(&back, &s, sizeof s) == 0);
	CHECK_RC(cs_slot_decode(enc, sizeof enc - 1, &back, &check_err), CS_ERR_CORRUPT);
	struct cs_master *m2 = cs_master_new();
	CHECK_OK(cs_slot_open(vid, &s, good, m2, &check_err));
	CHECK(memcmp(m, m2, CS_MASTER_BYTES) == 0);
	vid[0] = 8; /* another vault */
	CHECK_RC(cs_slot_open(vid, &s, good, m2, &check_err), CS_ERR_KEY);
	vid[0] = 7;
	back = s;
	back.opslimit = s.opslimit + 1; /* edited cost no longer opens */
	CHECK_RC(cs_slot_open(vid, &back, good, m2, &check_err), CS_ERR_KEY);
	back = s;
	back.id = 4;
	CHECK_RC(cs_slot_open(vid, &back, good, m2, &check_err), CS_ERR_KEY);

	/* hostile costs are refused before any derivation */
	hostile = s;
	hostile.memlimit = 2ULL << 30;
	double t0 = now();
	CHECK_RC(cs_slot_check(&hostile, &check_err), CS_ERR_CORRUPT);
	CHECK_RC(cs_slot_open(vid, &hostile, good, m2, &check_err), CS_ERR_CORRUPT);
	CHECK(strstr(check_err.what, "2048 MiB") != NULL);
	hostile = s;
	hostile.opslimit = 100;
	CHECK_RC(cs_slot_open(vid, &hostile, good, m2, &check_err), CS_ERR_CORRUPT);
	CHECK(strstr(check_err.what, "100 passes") != NULL);
	CHECK(now() - t0 < 0.05);
	hostile = s;
	hostile.kind = 9;
	CHECK_RC(cs_slot_check(&hostile, &check_err), CS_ERR_CORRUPT);
	hostile = s;
	hostile.role = 7;
	CHECK_RC(cs_slot_check(&hostile, &check_err), CS_ERR_CORRUPT);
	hostile = s;
	hostile.kind = CS_CRED_KEYFILE; /* key-file slot with Argon2 costs */
	CHECK_RC(cs_slot_check(&hostile, &check_err), CS_ERR_CORRUPT);

	/* ... also when the hostile slot sits in a vault beside a good one */
	struct cs_vault_create_opts o = {.dir = dir, .cred = kc};
	CHECK_OK(cs_vault_create(&o, &check_err));
	hostile = s;
	hostile.id = 2;
	hostile.opslimit = 100;
	put_slot(dir, &hostile);
	CHECK_OK(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err));
	if (v) {
		t0 = now();
		CHECK_RC(cs_vault_unlock(v, good, &check_err), CS_ERR_CORRUPT);
		CHECK(now() - t0 < 0.05);
		CHECK_RC(cs_vault_unlock(v, kc, &check_err), CS_ERR_CORRUPT);
		cs_vault_close(v);
	}
	hostile.opslimit = s.opslimit;
	hostile.memlimit = 2ULL << 30;
	put_slot(dir, &hostile);
	CHECK_OK(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err));
	if (v) {
		t0 = now();
		CHECK_RC(cs_vault_unlock(v, good, &check_err), CS_ERR_CORRUPT);
		CHECK(now() - t0 < 0.05);
		cs_vault_close(v);
	}
	cs_master_free(m);
	cs_master_free(m2);
	cs_cred_free(good);
	cs_cred_free(kc);
}

static void test_lock_busy(void)
{
	char dir[PATH_MAX];
	struct cs_cred *c = keyfile_cred("lock", dir);
	struct cs_vault_create_opts o = {.dir = dir, .cred = c};
	struct cs_vault *v = NULL;
	int up[2], down[2];
	CHECK_OK(cs_vault_create(&o, &check_err));
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct cs_vault *cv = NULL;
		char b = 0;
		int rc = cs_vault_open(dir, CS_OPEN_WRITE, &cv, &check_err);
		b = rc == CS_OK ? 'y' : 'n';
		if (write(up[1], &b, 1) != 1 || read(down[0], &b, 1) != 1)
			_exit(2);
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		cs_vault_close(cv);
		_exit(0);
	}
	char b = 0;
	CHECK(read(up[0], &b, 1) == 1 && b == 'y');
	CHECK_RC(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err), CS_ERR_BUSY);
	char want[64];
	snprintf(want, sizeof want, "vault busy (pid %ld)", (long)pid);
	CHECK(strstr(check_err.what, "vault busy (pid") != NULL);
	CHECK(strcmp(check_err.what, want) == 0);
	CHECK(cs_exit_code(CS_ERR_BUSY) == 6);
	/* readers never wait for the writer */
	CHECK_OK(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err));
	CHECK_OK(cs_vault_unlock(v, c, &check_err));
	cs_vault_close(v);
	v = NULL;
	/* --wait: blocks until the child lets go */
	CHECK(write(down[1], "g", 1) == 1);
	double t0 = now();
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE | CS_OPEN_WAIT, &v, &check_err));
	CHECK(now() - t0 > 0.1);
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cs_vault_close(v);
	/* a holder that died releases the lock */
	pid = fork();
	if (pid == 0) {
		struct cs_vault *cv = NULL;
		if (cs_vault_open(dir, CS_OPEN_WRITE, &cv, &check_err) != CS_OK)
			_exit(2);
		raise(SIGKILL);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	v = NULL;
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	cs_vault_close(v);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	cs_cred_free(c);
}

/* ---- chunks ------------------------------------------------------------------ */

static void fill_random(unsigned char *buf, size_t len, uint32_t seed)
{
	unsigned char s[randombytes_SEEDBYTES] = {0};
	cs_be32(s, seed);
	randombytes_buf_deterministic(buf, len, s);
}

static struct cs_vault *open_unlocked(const char *dir, int flags, const struct cs_cred *c)
{
	struct cs_vault *v = NULL;
	CHECK_OK(cs_vault_open(dir, flags, &v, &check_err));
	if (v && cs_vault_unlock(v, c, &check_err) != CS_OK) {
		CHECK(!"unlock");
		cs_vault_close(v);
		v = NULL;
	}
	return v;
}

static size_t count_chunks(struct cs_vault *v)
{
	MDB_txn *txn = NULL;
	MDB_stat st = {0};
	CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
	if (txn) {
		CHECK(mdb_stat(txn, v->db_chunks, &st) == 0);
		mdb_txn_abort(txn);
	}
	return st.ms_entries;
}

#define N_BIG 20
#define BIG (1u << 20)

static void test_map_growth(void)
{
	char dir[PATH_MAX];
	struct cs_cred *c = keyfile_cred("grow", dir);
	struct cs_vault_create_opts o = {.dir = dir, .cred = c, .map_size = 1u << 20};
	struct cs_chunk_ref refs[N_BIG + 1];
	struct cs_chunk_writer *w = NULL;
	unsigned char *buf = malloc(BIG), *back = malloc(BIG);
	uint64_t dk = 0;
	bool is_new = false;

	CHECK_OK(cs_vault_create(&o, &check_err));
	struct cs_vault *v = open_unlocked(dir, CS_OPEN_WRITE, c);
	if (!v)
		goto out;
	CHECK(v->map_size == 1u << 20);
	CHECK_OK(cs_datakey_create(v, &dk, &check_err));
	CHECK_OK(cs_chunk_writer_new(v, dk, &w, &check_err));
	for (uint32_t i = 0; i < N_BIG && w; i++) {
		fill_random(buf, BIG, i);
		CHECK_OK(cs_chunk_writer_add(w, buf, BIG, &refs[i], &is_new, &check_err));
		CHECK(is_new);
	}
	/* text compresses: stored zstd, and smaller */
	for (size_t i = 0; i < BIG; i++)
		buf[i] = "clawstate compresses this line well\n"[i % 36];
	CHECK_OK(cs_chunk_writer_add(w, buf, BIG, &refs[N_BIG], &is_new, &check_err));
	CHECK_OK(cs_chunk_writer_flush(w, &check_err));
	cs_chunk_writer_free(w);
	w = NULL;
	CHECK(v->map_size >= 32u << 20);
	CHECK(count_chunks(v) == N_BIG + 1);
	cs_vault_close(v);

	/* a fresh reader sees the grown map and every chunk intact */
	v = open_unlocked(dir, CS_OPEN_READ, c);
	if (!v)
		goto out;
	CHECK(v->map_size >= 32u << 20);
	MDB_txn *txn = NULL;
	CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
	for (uint32_t i = 0; i < N_BIG && txn; i++) {
		fill_random(buf, BIG, i);
		CHECK_OK(cs_chunk_read(v, txn, &refs[i], back, &check_err));
		CHECK(memcmp(buf, back, BIG) == 0);
	}
	for (size_t i = 0; i < BIG; i++)
		buf[i] = "clawstate compresses this line well\n"[i % 36];
	CHECK_OK(cs_chunk_read(v, txn, &refs[N_BIG], back, &check_err));
	CHECK(memcmp(buf, back, BIG) == 0);
	MDB_val d;
	CHECK_OK(cs_db_get(txn, v->db_chunks, refs[N_BIG].id, 32, &d, &check_err));
	CHECK(d.mv_size < BIG / 10 && ((unsigned char *)d.mv_data)[1] == 1);
	CHECK_OK(cs_db_get(txn, v->db_chunks, refs[0].id, 32, &d, &check_err));
	CHECK(d.mv_size == 18 + BIG + CS_AEAD_OVERHEAD && ((unsigned char *)d.mv_data)[1] == 0);
	mdb_txn_abort(txn);
	/* readers cannot write chunks */
	CHECK_RC(cs_chunk_writer_new(v, dk, &w, &check_err), CS_ERR_USAGE);
	cs_vault_close(v);
out:
	free(buf);
	free(back);
	cs_cred_free(c);
}

static void test_dedup_and_tamper(void)
{
	char dir[PATH_MAX];
	struct cs_cred *c = keyfile_cred("dedup", dir);
	struct cs_vault_create_opts o = {.dir = dir, .cred = c};
	struct cs_chunk_writer *w = NULL;
	struct cs_chunk_ref r1, r2, r3, small;
	unsigned char data[5000], back[5000];
	uint64_t dk = 0;
	bool is_new = false;
	char hex[65];

	fill_random(data, sizeof data, 99);
	CHECK_OK(cs_vault_create(&o, &check_err));
	struct cs_vault *v = open_unlocked(dir, CS_OPEN_WRITE, c);
	if (!v)
		goto out;
	CHECK_OK(cs_datakey_create(v, &dk, &check_err));
	CHECK_OK(cs_chunk_writer_new(v, dk, &w, &check_err));
	if (!w)
		goto out;
	CHECK_OK(cs_chunk_writer_add(w, data, sizeof data, &r1, &is_new, &check_err));
	CHECK(is_new);
	CHECK_OK(cs_chunk_writer_add(w, data, sizeof data, &r2, &is_new, &check_err));
	CHECK(!is_new && memcmp(r1.id, r2.id, 32) == 0 && r2.len == sizeof data);
	CHECK_OK(cs_chunk_writer_add(w, "x", 1, &small, &is_new, &check_err));
	CHECK(is_new);
	CHECK_RC(cs_chunk_writer_add(w, data, 0, &r3, &is_new, &check_err), CS_ERR_USAGE);
	CHECK_OK(cs_chunk_writer_flush(w, &check_err));
	CHECK_OK(cs_chunk_writer_add(w, data, sizeof data, &r3, &is_new, &check_err));
	CHECK(!is_new); /* found in the db this time */
	CHECK_OK(cs_chunk_writer_flush(w, &check_err));
	cs_chunk_writer_free(w);
	w = NULL;
	CHECK(count_chunks(v) == 2);
	/* a second writer under a second data key still dedups */
	uint64_t dk2 = 0;
	CHECK_OK(cs_datakey_create(v, &dk2, &check_err));
	CHECK(dk2 != dk);
	CHECK_OK(cs_chunk_writer_new(v, dk2, &w, &check_err));
	CHECK_OK(cs_chunk_writer_add(w, data, sizeof data, &r3, &is_new, &check_err));
	CHECK(!is_new);
	cs_chunk_writer_free(w);
	w = NULL;
	CHECK(count_chunks(v) == 2);

	/* tamper: flip bytes of the stored record */
	cs_hex(r1.id, 32, hex);
	MDB_txn *txn = NULL;
	MDB_val d;
	static const size_t flips[] = {0, 1, 2, 12, 16, 18 + 30, 18 + 5000 + 39};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		unsigned char rec[18 + 5000 + 40];
		CHECK_OK(cs_txn_begin(v, true, &txn, &check_err));
		CHECK_OK(cs_db_get(txn, v->db_chunks, r1.id, 32, &d, &check_err));
		CHECK(d.mv_size == sizeof rec);
		memcpy(rec, d.mv_data, sizeof rec);
		rec[flips[i]] ^= 0x01;
		CHECK_OK(cs_db_put(txn, v->db_chunks, r1.id, 32, rec, sizeof rec, 0, &check_err));
		CHECK_OK(cs_txn_commit(txn, &check_err));
		CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
		CHECK_RC(cs_chunk_read(v, txn, &r1, back, &check_err), CS_ERR_CORRUPT);
		CHECK(strstr(check_err.what, hex) != NULL);
		mdb_txn_abort(txn);
		rec[flips[i]] ^= 0x01; /* put it back */
		CHECK_OK(cs_txn_begin(v, true, &txn, &check_err));
		CHECK_OK(cs_db_put(txn, v->db_chunks, r1.id, 32, rec, sizeof rec, 0, &check_err));
		CHECK_OK(cs_txn_commit(txn, &check_err));
	}
	/* a record moved under another id fails the keyed-id check */
	CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
	CHECK_OK(cs_chunk_read(v, txn, &r1, back, &check_err));
	CHECK(memcmp(back, data, sizeof data) == 0);
	CHECK_OK(cs_chunk_read(v, txn, &small, back, &check_err));
	CHECK(back[0] == 'x');
	struct cs_chunk_ref missing = r1;
	missing.id[0] ^= 0xff;
	CHECK_RC(cs_chunk_read(v, txn, &missing, back, &check_err), CS_ERR_CORRUPT);
	CHECK(strstr(check_err.what, "missing") != NULL);
	struct cs_chunk_ref wrong_len = r1;
	wrong_len.len = 4999;
	CHECK_RC(cs_chunk_read(v, txn, &wrong_len, back, &check_err), CS_ERR_CORRUPT);
	mdb_txn_abort(txn);
	cs_vault_close(v);

	/* a fresh process-level open unseals the data key from its record */
	v = open_unlocked(dir, CS_OPEN_READ, c);
	if (v) {
		CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
		CHECK_OK(cs_chunk_read(v, txn, &r1, back, &check_err));
		CHECK(memcmp(back, data, sizeof data) == 0);
		mdb_txn_abort(txn);
		cs_vault_close(v);
	}
	/* locked vaults read nothing */
	CHECK_OK(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err));
	if (v) {
		CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
		CHECK_RC(cs_chunk_read(v, txn, &r1, back, &check_err), CS_ERR_KEY);
		mdb_txn_abort(txn);
		cs_vault_close(v);
	}
	v = NULL;
out:
	cs_chunk_writer_free(w);
	cs_vault_close(v);
	cs_cred_free(c);
}

int main(void)
{
	CHECK_OK(cs_library_init(&check_err));
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_cred();
	test_passphrase_vault();
	test_keyfile_vault();
	test_slot_caps();
	test_lock_busy();
	test_map_growth();
	test_dedup_and_tamper();
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHECK_OK(cs_rm_tree_at(dfd, root + 5, root, &check_err));
	close(dfd);
	TEST_DONE();
}
