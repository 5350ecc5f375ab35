/* store.c - LMDB transactions, map growth with batch retry, record get/put and
 * the big-endian integer encodings every vault record uses. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Doubling from 1 MiB reaches 2^40 after 20 steps; beyond that a full map is
 * not something more address space fixes. */
#define STORE_MAX_GROWS 24

int cs_txn_begin(struct cs_vault *v, bool write, MDB_txn **txn, struct cs_error *err)
{
	unsigned flags = write ? 0 : MDB_RDONLY;
	int rc = mdb_txn_begin(v->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map past ours: adopt its size and retry. */
		rc = mdb_env_set_mapsize(v->env, 0);
		if (rc == 0)
			rc = mdb_txn_begin(v->env, NULL, flags, txn);
	}
	if (rc != 0) {
		*txn = NULL;
		return cs_err_mdb(err, rc, write ? "begin write transaction"
						 : "begin read transaction");
	}
	return CS_OK;
}

/* Less free space than this on the vault's filesystem after a failed write: it was full. */
#define FULL_SLACK (1ull << 20)

/* LMDB reports a short write (the filesystem filled up part way) as EIO. */
static bool fs_full(const char *dir)
{
	struct statvfs sv;
	return dir && statvfs(dir, &sv) == 0 &&
	       (unsigned long long)sv.f_bavail * sv.f_frsize < FULL_SLACK;
}

int cs_txn_commit(MDB_txn *txn, struct cs_error *err)
{
	MDB_env *env = mdb_txn_env(txn);
	const char *dir = NULL;
	cs_test_point("commit");
	int rc = mdb_txn_commit(txn);
	if (rc == 0)
		return CS_OK;
	/* The transaction is gone; the environment stays, and names the vault dir. */
	if (mdb_env_get_path(env, &dir) != 0)
		dir = NULL;
	if (rc == EIO && fs_full(dir))
		rc = ENOSPC;
	int code = (rc == ENOSPC || rc == EDQUOT) ? CS_ERR_NOSPACE : CS_ERR_DB;
	cs_err_set(err, code, dir, "commit: %s", mdb_strerror(rc));
	if (err)
		err->sys_errno = rc;
	return code;
}

/* Find the data file's mapping in /proc/self/maps (mdb_env_info names the
 * map address only for MDB_FIXEDMAP). */
static void map_locate(struct cs_vault *v)
{
	struct stat st;
	mdb_filehandle_t fd;
	char line[512];
	v->map_lo = v->map_hi = 0;
	if (mdb_env_get_fd(v->env, &fd) != 0 || fstat(fd, &st) < 0)
		return;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, ino;
		unsigned maj, min;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s %*x %x:%x %lu", &lo, &hi, perms, &maj, &min, &ino) != 6)
			continue;
		if (ino == (unsigned long)st.st_ino && makedev(maj, min) == st.st_dev &&
		    perms[1] == '-') {
			v->map_lo = lo;
			v->map_hi = hi;
			break;
		}
	}
	fclose(f);
}

/* After a commit: drop every page of the file map from this process.  The map
 * is read-only and file-backed, so this is always safe (pages come back from
 * the page cache on the next access); it keeps a long snapshot's resident
 * memory at its buffers. */
static void store_trim(struct cs_vault *v)
{
	map_locate(v);
	if (v->map_hi > v->map_lo)
		(void)madvise((void *)v->map_lo, v->map_hi - v->map_lo, MADV_DONTNEED);
}

void cs_store_release(struct cs_vault *v, const void *data, size_t len)
{
	uintptr_t p = (uintptr_t)data;
	if (!len)
		return;
	/* Only pages of the read-only file map: a value in a write txn's dirty
	 * page lives in heap memory, which MADV_DONTNEED would zero. */
	if (p < v->map_lo || p + len > v->map_hi) {
		map_locate(v); /* the map moves when it grows */
		if (p < v->map_lo || p + len > v->map_hi)
			return;
	}
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = p & ~(page - 1), hi = (p + len + page - 1) & ~(page - 1);
	if (lo < v->map_lo)
		lo = v->map_lo;
	if (hi > v->map_hi)
		hi = v->map_hi;
	(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int cs_store_grow(struct cs_vault *v, struct cs_error *err)
{
	MDB_envinfo info;
	int rc = mdb_env_info(v->env, &info);
	if (rc != 0)
		return cs_err_mdb(err, rc, "map size");
	size_t cur = info.me_mapsize > v->map_size ? info.me_mapsize : v->map_size;
	if (cur > SIZE_MAX / 2)
		return cs_err_set(err, CS_ERR_NOSPACE, v->dir, "vault map cannot grow beyond %zu bytes",
				  cur);
	size_t want = cur * 2;
	if ((rc = mdb_env_set_mapsize(v->env, want)) != 0)
		return cs_err_mdb(err, rc, "grow map");
	v->map_size = want;
	return CS_OK;
}

static bool map_full(int rc, const struct cs_error *err)
{
	return rc == CS_ERR_DB && err && err->sys_errno == MDB_MAP_FULL;
}

int cs_store_write(struct cs_vault *v, cs_store_fn fn, void *ctx, struct cs_error *err)
{
	struct cs_error local;
	struct cs_error *e = err ? err : &local;
	int rc = CS_OK;

	for (int attempt = 0;; attempt++) {
		MDB_txn *txn = NULL;
		if ((rc = cs_txn_begin(v, true, &txn, e)) != CS_OK)
			return rc;
		rc = fn(v, txn, ctx, e);
		if (rc == CS_OK) {
			rc = cs_txn_commit(txn, e); /* frees txn, committed or not */
			if (rc == CS_OK)
				store_trim(v);
		} else {
			mdb_txn_abort(txn);
		}
		if (!map_full(rc, e) || attempt >= STORE_MAX_GROWS)
			return rc;
		/* Nothing of the aborted attempt remains: grow and run the batch again. */
		if ((rc = cs_store_grow(v, e)) != CS_OK)
			return rc;
		cs_error_clear(e);
	}
}

int cs_db_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *d, size_t dlen,
	      unsigned flags, struct cs_error *err)
{
	MDB_val key = {klen, (void *)k};
	MDB_val val = {dlen, (void *)d};
	int rc = mdb_put(txn, dbi, &key, &val, flags);
	if (rc != 0)
		return cs_err_mdb(err, rc, "put");
	return CS_OK;
}

int cs_db_get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, MDB_val *out,
	      struct cs_error *err)
{
	MDB_val key = {klen, (void *)k};
	int rc = mdb_get(txn, dbi, &key, out);
	if (rc == MDB_NOTFOUND)
		return cs_err_set(err, CS_ERR_NOTFOUND, NULL, "record not found");
	if (rc != 0)
		return cs_err_mdb(err, rc, "get");
	return CS_OK;
}

void cs_be64(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char)v;
		v >>= 8;
	}
}

uint64_t cs_rd64(const unsigned char in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

void cs_be32(unsigned char out[4], uint32_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

uint32_t cs_rd32(const unsigned char in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}
