/* snapshot_query.c - reading snapshots: the latest sequence number, one record, the
 * list, and a snapshot's entries. */
#include "internal.h"

#include <string.h>

/* The newest committed sequence number, 0 when there is none. */
int cs_snapshot_last(struct cs_vault *v, uint64_t *seq, struct cs_error *err)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	int rc, mrc;
	*seq = 0;
	if ((rc = cs_txn_begin(v, false, &txn, err)) != CS_OK)
		return rc;
	if ((mrc = mdb_cursor_open(txn, v->db_snapshots, &cur)) != 0) {
		rc = cs_err_mdb(err, mrc, "opening the snapshot cursor");
		goto out;
	}
	mrc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	if (mrc == 0 && k.mv_size != 8)
		rc = cs_err_set(err, CS_ERR_CORRUPT, v->dir, "snapshot key of %zu bytes", k.mv_size);
	else if (mrc == 0)
		*seq = cs_rd64(k.mv_data);
	else if (mrc != MDB_NOTFOUND)
		rc = cs_err_mdb(err, mrc, "reading the last snapshot");
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

int cs_vsnap_read(struct cs_vault *v, uint64_t seq, struct cs_vsnap *out, struct cs_error *err)
{
	MDB_txn *txn = NULL;
	int rc = cs_txn_begin(v, false, &txn, err);
	if (rc != CS_OK)
		return rc;
	rc = cs_vsnap_load(v, txn, seq, out, err);
	mdb_txn_abort(txn);
	return rc;
}

int cs_snapshot_resolve(struct cs_vault *v, const char *id, uint64_t *seq, struct cs_error *err)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	unsigned char k[8];
	uint64_t n = 0;
	int rc;
	*seq = 0;
	if (!id || !*id)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "no snapshot id given");
	if (!strcmp(id, "latest")) {
		if ((rc = cs_snapshot_last(v, &n, err)) != CS_OK)
			return rc;
		if (!n)
			return cs_err_set(err, CS_ERR_NOTFOUND, v->dir, "the vault has no snapshots");
		*seq = n;
		return CS_OK;
	}
	for (const char *p = id; *p; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return cs_err_set(err, CS_ERR_USAGE, NULL,
					  "not a snapshot id: %.64s (a number or \"latest\")", id);
		n = n * 10 + d;
	}
	if (!n)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "not a snapshot id: %.64s", id);
	if ((rc = cs_txn_begin(v, false, &txn, err)) != CS_OK)
		return rc;
	cs_be64(k, n);
	rc = cs_db_get(txn, v->db_snapshots, k, 8, &val, err);
	mdb_txn_abort(txn);
	if (rc == CS_ERR_NOTFOUND)
		return cs_err_set(err, CS_ERR_NOTFOUND, v->dir, "no snapshot %llu",
				  (unsigned long long)n);
	if (rc == CS_OK)
		*seq = n;
	return rc;
}

int cs_snapshot_get(struct cs_vault *v, uint64_t seq, struct cs_snapshot_info *info,
		    struct cs_error *err)
{
	struct cs_vsnap s;
	int rc = cs_vsnap_read(v, seq, &s, err);
	if (rc == CS_OK)
		*info = s.info;
	return rc;
}

int cs_snapshot_list(struct cs_vault *v,
		     int (*fn)(void *ctx, const struct cs_snapshot_info *info), void *ctx,
		     struct cs_error *err)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	struct cs_vsnap s;
	int rc, mrc;
	if ((rc = cs_txn_begin(v, false, &txn, err)) != CS_OK)
		return rc;
	if ((mrc = mdb_cursor_open(txn, v->db_snapshots, &cur)) != 0) {
		rc = cs_err_mdb(err, mrc, "opening the snapshot cursor");
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = cs_err_set(err, CS_ERR_CORRUPT, v->dir, "snapshot key of %zu bytes",
					k.mv_size);
			goto out;
		}
		if ((rc = cs_vsnap_load(v, txn, cs_rd64(k.mv_data), &s, err)) != CS_OK)
			goto out;
		if ((rc = fn(ctx, &s.info)) != 0)
			goto out;
	}
	if (mrc != MDB_NOTFOUND)
		rc = cs_err_mdb(err, mrc, "listing snapshots");
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

struct entries_ctx {
	int (*fn)(void *ctx, const struct cs_entry *e);
	void *ctx;
};

static int entries_cb(void *ctx, const struct cs_ventry *ve)
{
	struct entries_ctx *c = ctx;
	return c->fn(c->ctx, &ve->e);
}

int cs_snapshot_entries(struct cs_vault *v, uint64_t seq,
			int (*fn)(void *ctx, const struct cs_entry *e), void *ctx,
			struct cs_error *err)
{
	MDB_txn *txn = NULL;
	struct entries_ctx c = {fn, ctx};
	int rc = cs_txn_begin(v, false, &txn, err);
	if (rc != CS_OK)
		return rc;
	rc = cs_ventry_foreach(v, txn, seq, entries_cb, &c, err);
	mdb_txn_abort(txn);
	return rc;
}
