/* vault.c - create, open, unlock and close a vault: the LMDB environment, its
 * meta records, the filesystem check, schema upgrades and the key slots. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define VAULT_DEFAULT_MAP (64u << 20)
#define VAULT_MAX_DBS 16
#define VAULT_MAX_SLOTS 1024
#define VAULT_TOOL "clawstate " CS_VERSION_STRING

static const struct {
	const char *name;
	size_t off;
} vault_dbs[] = {
	{"meta", offsetof(struct cs_vault, db_meta)},
	{"keyslots", offsetof(struct cs_vault, db_keyslots)},
	{"snapshots", offsetof(struct cs_vault, db_snapshots)},
	{"entries", offsetof(struct cs_vault, db_entries)},
	{"chunks", offsetof(struct cs_vault, db_chunks)},
	{"datakeys", offsetof(struct cs_vault, db_datakeys)},
	{"journal", offsetof(struct cs_vault, db_journal)},
};

#define N_VAULT_DBS (sizeof vault_dbs / sizeof vault_dbs[0])

static MDB_dbi *vault_dbi(struct cs_vault *v, size_t i)
{
	return (MDB_dbi *)((char *)v + vault_dbs[i].off);
}

/* LMDB's advisory locks and mmap coherence are not dependable over these. */
static const char *remote_fs_name(unsigned long type)
{
	switch (type & 0xffffffffUL) {
	case 0x6969UL:
		return "NFS";
	case 0x517bUL:
		return "SMB";
	case 0xff534d42UL:
		return "CIFS";
	case 0xfe534d42UL:
		return "SMB2";
	case 0x65735546UL:
		return "FUSE";
	case 0x01021997UL:
		return "9P";
	case 0x5346414fUL:
		return "AFS";
	case 0x00c36400UL:
		return "Ceph";
	case 0x73757245UL:
		return "Coda";
	case 0x0bd00bd0UL:
		return "Lustre";
	}
	return NULL;
}

static int fs_check(const char *dir, struct cs_error *err)
{
	struct statfs sf;
	if (statfs(dir, &sf) < 0)
		return cs_err_sys(err, dir, "statfs");
	const char *name = remote_fs_name((unsigned long)sf.f_type);
	if (name)
		return cs_err_set(err, CS_ERR_UNSUPPORTED, dir,
				  "vault on a %s filesystem: LMDB needs local locking and mmap",
				  name);
	return CS_OK;
}

static int env_err(struct cs_error *err, int rc, const char *dir, const char *what)
{
	if (rc == MDB_INVALID)
		return cs_err_set(err, CS_ERR_CORRUPT, dir, "%s: not an LMDB environment", what);
	if (rc == MDB_VERSION_MISMATCH)
		return cs_err_set(err, CS_ERR_VERSION, dir, "%s: LMDB version mismatch", what);
	if (rc > 0) {
		errno = rc;
		return cs_err_sys(err, dir, what);
	}
	return cs_err_mdb(err, rc, what);
}

static int env_open(struct cs_vault *v, size_t map_size, struct cs_error *err)
{
	int rc;
	if ((rc = mdb_env_create(&v->env)) != 0) {
		v->env = NULL;
		return env_err(err, rc, v->dir, "create LMDB environment");
	}
	if ((rc = mdb_env_set_maxdbs(v->env, VAULT_MAX_DBS)) != 0 ||
	    (map_size && (rc = mdb_env_set_mapsize(v->env, map_size)) != 0))
		return env_err(err, rc, v->dir, "configure LMDB environment");
	/* No NOSYNC/NOMETASYNC/WRITEMAP: every commit is durable. NOTLS lets
	 * one thread hold several read transactions. */
	if ((rc = mdb_env_open(v->env, v->dir, MDB_NOTLS, 0600)) != 0)
		return env_err(err, rc, v->dir, "open LMDB environment");
	MDB_envinfo info;
	if ((rc = mdb_env_info(v->env, &info)) != 0)
		return cs_err_mdb(err, rc, "environment info");
	v->map_size = info.me_mapsize;
	return CS_OK;
}

static int open_dbs(struct cs_vault *v, MDB_txn *txn, bool create, size_t only,
		    struct cs_error *err)
{
	for (size_t i = 0; i < N_VAULT_DBS && i < only; i++) {
		int rc = mdb_dbi_open(txn, vault_dbs[i].name, create ? MDB_CREATE : 0,
				      vault_dbi(v, i));
		if (rc == MDB_NOTFOUND)
			return cs_err_set(err, CS_ERR_CORRUPT, v->dir, "database \"%s\" missing",
					  vault_dbs[i].name);
		if (rc != 0)
			return cs_err_mdb(err, rc, vault_dbs[i].name);
	}
	return CS_OK;
}

static int meta_get(struct cs_vault *v, MDB_txn *txn, const char *key, size_t want,
		    const unsigned char **val, struct cs_error *err)
{
	MDB_val d;
	int rc = cs_db_get(txn, v->db_meta, key, strlen(key), &d, err);
	if (rc == CS_ERR_NOTFOUND)
		return cs_err_set(err, CS_ERR_CORRUPT, v->dir, "meta record \"%s\" missing", key);
	if (rc != CS_OK)
		return rc;
	if (d.mv_size != want)
		return cs_err_set(err, CS_ERR_CORRUPT, v->dir,
				  "meta record \"%s\" has %zu bytes, want %zu", key, d.mv_size,
				  want);
	*val = d.mv_data;
	return CS_OK;
}

static int meta_put(struct cs_vault *v, MDB_txn *txn, const char *key, const void *val,
		    size_t len, struct cs_error *err)
{
	return cs_db_put(txn, v->db_meta, key, strlen(key), val, len, 0, err);
}

/* ---- create ---------------------------------------------------------------------- */

struct create_ctx {
	const struct cs_slot *slot;
};

static int create_records(struct cs_vault *v, MDB_txn *txn, void *vctx, struct cs_error *err)
{
	const struct create_ctx *ctx = vctx;
	unsigned char b4[4], b8[8], slot[CS_SLOT_ENCODED_BYTES], sid[4];
	int rc;

	if ((rc = open_dbs(v, txn, true, N_VAULT_DBS, err)) != CS_OK)
		return rc;
	cs_be32(b4, CS_VAULT_SCHEMA);
	if ((rc = meta_put(v, txn, "schema", b4, 4, err)) != CS_OK)
		return rc;
	if ((rc = meta_put(v, txn, "vault_id", v->id, CS_VAULT_ID_BYTES, err)) != CS_OK)
		return rc;
	cs_be32(b4, v->epoch);
	if ((rc = meta_put(v, txn, "epoch", b4, 4, err)) != CS_OK)
		return rc;
	cs_be32(b4, ctx->slot->id + 1);
	if ((rc = meta_put(v, txn, "next_slot", b4, 4, err)) != CS_OK)
		return rc;
	cs_be64(b8, (uint64_t)time(NULL));
	if ((rc = meta_put(v, txn, "created", b8, 8, err)) != CS_OK)
		return rc;
	if ((rc = meta_put(v, txn, "tool", VAULT_TOOL, strlen(VAULT_TOOL), err)) != CS_OK)
		return rc;
	cs_slot_encode(ctx->slot, slot);
	cs_be32(sid, ctx->slot->id);
	return cs_db_put(txn, v->db_keyslots, sid, 4, slot, sizeof slot, MDB_NOOVERWRITE, err);
}

struct others {
	const char *allow;
	size_t n;
	bool has_vault;
};

static int count_other(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	struct others *o = ctx;
	if (o->allow && strcmp(name, o->allow) == 0)
		return CS_OK;
	if (strcmp(name, "data.mdb") == 0)
		o->has_vault = true;
	o->n++;
	return CS_OK;
}

/* Counts entries of dir besides "." and ".." and allow; notes a data.mdb. */
static int dir_others(const char *dir, const char *allow, size_t *n, bool *has_vault,
		      struct cs_error *err)
{
	struct others o = {allow, 0, false};
	*n = 0;
	*has_vault = false;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cs_err_sys(err, dir, "open directory");
	int rc = cs_dir_foreach(fd, dir, "read directory", count_other, &o, err);
	close(fd);
	*n = o.n;
	*has_vault = o.has_vault;
	return rc;
}

static int require_empty(const char *dir, const char *allow, struct cs_error *err)
{
	size_t n;
	bool has_vault;
	int rc = dir_others(dir, allow, &n, &has_vault, err);
	if (rc != CS_OK)
		return rc;
	if (has_vault)
		return cs_err_set(err, CS_ERR_EXISTS, dir, "a vault exists here");
	if (n > 0)
		return cs_err_set(err, CS_ERR_EXISTS, dir, "directory not empty");
	return CS_OK;
}

static int chmod_env_files(const char *dir, struct cs_error *err)
{
	static const char *const names[] = {"data.mdb", "lock.mdb"};
	char path[PATH_MAX];
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		/* LMDB creates them with 0600 less the umask: make it exact. */
		if (chmod(path, 0600) < 0)
			return cs_err_sys(err, path, "chmod");
	}
	return CS_OK;
}

/* Undo a failed create: the whole dir when we made it, else only our files. */
static void create_undo(const char *dir, bool made_dir)
{
	struct cs_error ignored;
	char parent[PATH_MAX], base[PATH_MAX], path[PATH_MAX];
	if (made_dir) {
		cs_path_split(dir, parent, base);
		int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			(void)cs_rm_tree_at(pfd, base, dir, &ignored);
			close(pfd);
		}
		return;
	}
	static const char *const names[] = {"data.mdb", "lock.mdb", "writer.lock"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
}

int cs_vault_create(const struct cs_vault_create_opts *opts, struct cs_error *err)
{
	int rc = CS_OK;
	struct cs_vault *v = NULL;
	struct cs_slot slot;
	char parent[PATH_MAX], base[PATH_MAX];
	bool made_dir = false, ours = false;
	struct stat st;
	int lock_fd = -1;
	const char *dir = NULL;

	if (!opts || !opts->dir || !*opts->dir || !opts->cred) {
		rc = cs_err_set(err, CS_ERR_USAGE, NULL, "vault directory and credential needed");
		goto out;
	}
	dir = opts->dir;
	if (!(v = calloc(1, sizeof *v))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, dir, "out of memory");
		goto out;
	}
	v->lock_fd = -1;
	if (strlen(dir) >= sizeof v->dir) {
		rc = cs_err_set(err, CS_ERR_USAGE, dir, "path too long");
		goto out;
	}
	strcpy(v->dir, dir);
	cs_path_split(dir, parent, base);

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			rc = cs_err_set(err, CS_ERR_EXISTS, dir, "exists and is not a directory");
			goto out;
		}
		if ((rc = require_empty(dir, NULL, err)) != CS_OK)
			goto out;
	} else if (errno == ENOENT) {
		if ((rc = cs_mkdir_p(parent, 0700, err)) != CS_OK)
			goto out;
		if (!opts->force_fs && (rc = fs_check(parent, err)) != CS_OK)
			goto out;
		if (mkdir(dir, 0700) < 0) {
			rc = errno == EEXIST ? cs_err_set(err, CS_ERR_EXISTS, dir, "already exists")
					     : cs_err_sys(err, dir, "mkdir");
			goto out;
		}
		made_dir = true;
	} else {
		rc = cs_err_sys(err, dir, "stat");
		goto out;
	}
	if (chmod(dir, 0700) < 0) {
		rc = cs_err_sys(err, dir, "chmod");
		goto out;
	}
	if (!opts->force_fs && (rc = fs_check(dir, err)) != CS_OK)
		goto out;
	if ((rc = cs_lock_acquire(dir, false, &lock_fd, err)) != CS_OK)
		goto out;
	ours = true;
	/* Someone may have filled the dir between our look and the lock. */
	if ((rc = require_empty(dir, "writer.lock", err)) != CS_OK) {
		ours = false;
		goto out;
	}

	if ((rc = env_open(v, opts->map_size ? opts->map_size : VAULT_DEFAULT_MAP, err)) != CS_OK)
		goto out;
	if ((rc = chmod_env_files(dir, err)) != CS_OK)
		goto out;
	v->writable = true;
	v->epoch = 1;
	randombytes_buf(v->id, sizeof v->id);
	if (!(v->master = cs_master_new())) {
		rc = cs_err_set(err, CS_ERR_NOMEM, dir, "out of guarded memory");
		goto out;
	}
	cs_master_generate(v->master);
	/* Argon2 runs here, before any transaction is open. */
	if ((rc = cs_slot_create(v->id, 1, opts->cred, opts->kdf, v->master, &slot, err)) !=
	    CS_OK)
		goto out;
	struct create_ctx ctx = {&slot};
	if ((rc = cs_store_write(v, create_records, &ctx, err)) != CS_OK)
		goto out;
	if ((rc = mdb_env_sync(v->env, 1)) != 0) {
		rc = env_err(err, rc, dir, "sync");
		goto out;
	}
	if ((rc = cs_fsync_dir(dir, err)) != CS_OK)
		goto out;
	if (made_dir && (rc = cs_fsync_dir(parent, err)) != CS_OK)
		goto out;
out:
	if (v) {
		if (v->env)
			mdb_env_close(v->env);
		cs_master_free(v->master);
		free(v);
	}
	if (rc != CS_OK && ours)
		create_undo(dir, made_dir);
	else if (rc != CS_OK && made_dir)
		(void)rmdir(dir);
	cs_lock_release(lock_fd);
	return rc;
}

/* ---- open ------------------------------------------------------------------------ */

static int read_schema(struct cs_vault *v, uint32_t *schema, struct cs_error *err)
{
	MDB_txn *txn = NULL;
	const unsigned char *p;
	int rc = cs_txn_begin(v, false, &txn, err);
	if (rc != CS_OK)
		return rc;
	if ((rc = open_dbs(v, txn, false, 1, err)) != CS_OK)
		goto out;
	if ((rc = meta_get(v, txn, "schema", 4, &p, err)) != CS_OK)
		goto out;
	*schema = cs_rd32(p);
	/* Commit, not abort: it keeps the meta handle open for later transactions. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		rc = cs_err_mdb(err, rc, "read meta");
out:
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

static int load_meta(struct cs_vault *v, struct cs_error *err)
{
	MDB_txn *txn = NULL;
	const unsigned char *p;
	int rc = cs_txn_begin(v, false, &txn, err);
	if (rc != CS_OK)
		return rc;
	if ((rc = open_dbs(v, txn, false, N_VAULT_DBS, err)) != CS_OK)
		goto out;
	if ((rc = meta_get(v, txn, "schema", 4, &p, err)) != CS_OK)
		goto out;
	if (cs_rd32(p) != CS_VAULT_SCHEMA) {
		rc = cs_err_set(err, CS_ERR_VERSION, v->dir, "vault schema %u, expected %u",
				cs_rd32(p), CS_VAULT_SCHEMA);
		goto out;
	}
	if ((rc = meta_get(v, txn, "vault_id", CS_VAULT_ID_BYTES, &p, err)) != CS_OK)
		goto out;
	memcpy(v->id, p, CS_VAULT_ID_BYTES);
	if ((rc = meta_get(v, txn, "epoch", 4, &p, err)) != CS_OK)
		goto out;
	v->epoch = cs_rd32(p);
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		rc = cs_err_mdb(err, rc, "read meta");
out:
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

struct capture_sweep {
	const char *dir;
};

static int sweep_capture(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	static const char tag[] = ".sqlite-capture-";
	const struct capture_sweep *c = ctx;
	char path[PATH_MAX];
	if (strncmp(name, tag, sizeof(tag) - 1) != 0)
		return CS_OK;
	/* Unlinking the entry just returned does not make readdir skip others. */
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		snprintf(path, sizeof path, "%s/%s", c->dir, name);
		return cs_err_sys(err, path, "removing a stale SQLite capture");
	}
	return CS_OK;
}

/*
 * Remove SQLite captures (and what SQLite put beside them) that a killed writer left in
 * the vault dir.  Only a writer makes them, and only while it holds the writer lock, so
 * once we hold it every one there is stale: plaintext that must not stay under a name.
 */
static int sweep_captures(const char *dir, struct cs_error *err)
{
	struct capture_sweep c = {dir};
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cs_err_sys(err, dir, "open");
	int rc = cs_dir_foreach(dfd, dir, "reading the vault dir", sweep_capture, &c, err);
	close(dfd);
	return rc;
}

int cs_vault_open(const char *dir, int flags, struct cs_vault **out, struct cs_error *err)
{
	int rc = CS_OK;
	struct cs_vault *v = NULL;
	char path[PATH_MAX];
	struct stat st;
	uint32_t schema = 0;
	int dead = 0;

	*out = NULL;
	if (!dir || !*dir) {
		rc = cs_err_set(err, CS_ERR_USAGE, NULL, "no vault directory");
		goto out;
	}
	if (!(v = calloc(1, sizeof *v))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, dir, "out of memory");
		goto out;
	}
	v->lock_fd = -1;
	int n = snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (strlen(dir) >= sizeof v->dir || n < 0 || (size_t)n >= sizeof path) {
		rc = cs_err_set(err, CS_ERR_USAGE, dir, "path too long");
		goto out;
	}
	strcpy(v->dir, dir);
	if (stat(path, &st) < 0) {
		rc = errno == ENOENT || errno == ENOTDIR
			     ? cs_err_set(err, CS_ERR_NOTFOUND, dir, "no vault here")
			     : cs_err_sys(err, path, "stat");
		goto out;
	}
	if (!(flags & CS_OPEN_FORCE_FS) && (rc = fs_check(dir, err)) != CS_OK)
		goto out;
	if (flags & CS_OPEN_WRITE) {
		if ((rc = cs_lock_acquire(dir, (flags & CS_OPEN_WAIT) != 0, &v->lock_fd, err)) !=
		    CS_OK)
			goto out;
		v->writable = true;
		if ((rc = sweep_captures(dir, err)) != CS_OK)
			goto out;
	}
	if ((rc = env_open(v, 0, err)) != CS_OK)
		goto out;
	/* Reader slots of crashed processes would pin old pages forever. */
	if ((rc = mdb_reader_check(v->env, &dead)) != 0) {
		rc = cs_err_mdb(err, rc, "clear stale readers");
		goto out;
	}
	if ((rc = read_schema(v, &schema, err)) != CS_OK)
		goto out;
	if (schema > CS_VAULT_SCHEMA) {
		rc = cs_err_set(err, CS_ERR_VERSION, dir,
				"vault schema %u is newer than this clawstate supports (%u)", schema,
				CS_VAULT_SCHEMA);
		goto out;
	}
	/* Readers upgrade too: LMDB serialises the write transaction with any writer. */
	if (schema < CS_VAULT_SCHEMA &&
	    (rc = cs_migrate(v, cs_migrations, cs_n_migrations, CS_VAULT_SCHEMA, err)) != CS_OK)
		goto out;
	if ((rc = load_meta(v, err)) != CS_OK)
		goto out;
	*out = v;
	v = NULL;
out:
	cs_vault_close(v);
	return rc;
}

/* ---- unlock and close --------------------------------------------------------------- */

static int load_slots(struct cs_vault *v, struct cs_slot **slots, size_t *n, struct cs_error *err)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	struct cs_slot *arr = NULL;
	size_t count = 0, cap = 0;
	int rc = cs_txn_begin(v, false, &txn, err);
	if (rc != CS_OK)
		return rc;
	if ((rc = mdb_cursor_open(txn, v->db_keyslots, &cur)) != 0) {
		rc = cs_err_mdb(err, rc, "key slots");
		goto out;
	}
	int mrc;
	for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (count == VAULT_MAX_SLOTS) {
			rc = cs_err_set(err, CS_ERR_CORRUPT, v->dir, "more than %d key slots",
					VAULT_MAX_SLOTS);
			goto out;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct cs_slot *na = realloc(arr, ncap * sizeof *na);
			if (!na) {
				rc = cs_err_set(err, CS_ERR_NOMEM, v->dir, "out of memory");
				goto out;
			}
			arr = na;
			cap = ncap;
		}
		struct cs_slot *s = &arr[count];
		if ((rc = cs_slot_decode(d.mv_data, d.mv_size, s, err)) != CS_OK)
			goto out;
		if (k.mv_size != 4 || cs_rd32(k.mv_data) != s->id) {
			rc = cs_err_set(err, CS_ERR_CORRUPT, v->dir,
					"key slot %u stored under another id", s->id);
			goto out;
		}
		if ((rc = cs_slot_check(s, err)) != CS_OK)
			goto out;
		count++;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = cs_err_mdb(err, mrc, "key slots");
		goto out;
	}
	if ((rc = cs_slots_check_total(arr, count, err)) != CS_OK)
		goto out;
	*slots = arr;
	*n = count;
	arr = NULL;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	free(arr);
	if (rc != CS_OK && err && err->path[0] == '\0')
		snprintf(err->path, sizeof err->path, "%s", v->dir);
	return rc;
}

int cs_vault_unlock(struct cs_vault *v, const struct cs_cred *cred, struct cs_error *err)
{
	int rc = CS_OK;
	struct cs_slot *slots = NULL;
	size_t n = 0, tried = 0;
	struct cs_master *m = NULL;

	if (!cred) {
		rc = cs_err_set(err, CS_ERR_USAGE, v->dir, "no credential");
		goto out;
	}
	/* Every slot is read and checked before any key derivation starts. */
	if ((rc = load_slots(v, &slots, &n, err)) != CS_OK)
		goto out;
	if (!(m = cs_master_new())) {
		rc = cs_err_set(err, CS_ERR_NOMEM, v->dir, "out of guarded memory");
		goto out;
	}
	rc = CS_ERR_KEY;
	for (size_t i = 0; i < n && rc == CS_ERR_KEY; i++) {
		if (slots[i].kind != cred->kind)
			continue;
		tried++;
		rc = cs_slot_open(v->id, &slots[i], cred, m, err);
	}
	if (rc == CS_ERR_KEY) {
		rc = cs_err_set(err, CS_ERR_KEY, v->dir, "wrong passphrase or key file%s",
				tried ? ""
				: cred->kind == CS_CRED_KEYFILE ? " (the vault has no key-file slot)"
								: " (the vault has no passphrase slot)");
		goto out;
	}
	if (rc != CS_OK)
		goto out;
	cs_master_free(v->master);
	v->master = m;
	m = NULL;
out:
	cs_master_free(m);
	free(slots);
	return rc;
}

void cs_vault_close(struct cs_vault *v)
{
	if (!v)
		return;
	if (v->env)
		mdb_env_close(v->env);
	cs_master_free(v->master);
	cs_dkcache_free(v->dkcache);
	cs_lock_release(v->lock_fd);
	free(v);
}

void cs_vault_id_hex(const struct cs_vault *v, char buf[33])
{
	cs_hex(v->id, CS_VAULT_ID_BYTES, buf);
}
