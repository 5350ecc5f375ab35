/* entry_seal.c - seal vault records under the index key and read a snapshot's records back. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITER_BATCH 256

static const char snap_ad_label[] = "clawstate-snap-v1";
static const char entry_ad_label[] = "clawstate-entry-v1";

static size_t snap_ad(const struct cs_vault *v, uint64_t seq, unsigned char *ad)
{
	size_t n = sizeof(snap_ad_label) - 1;
	memcpy(ad, snap_ad_label, n);
	memcpy(ad + n, v->id, CS_VAULT_ID_BYTES);
	n += CS_VAULT_ID_BYTES;
	cs_be64(ad + n, seq);
	return n + 8;
}

static size_t entry_ad(const struct cs_vault *v, uint64_t seq, uint64_t index, unsigned char *ad)
{
	size_t n = sizeof(entry_ad_label) - 1;
	memcpy(ad, entry_ad_label, n);
	memcpy(ad + n, v->id, CS_VAULT_ID_BYTES);
	n += CS_VAULT_ID_BYTES;
	cs_be64(ad + n, seq);
	cs_be64(ad + n + 8, index);
	return n + 16;
}

static int need_keys(const struct cs_vault *v, struct cs_error *err)
{
	if (!v->master)
		return cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked (unlock it first)");
	return CS_OK;
}

static int seal_plain(struct cs_vault *v, const unsigned char *ad, size_t adlen,
		      unsigned char *pt, size_t ptlen, unsigned char **out, size_t *len,
		      struct cs_error *err)
{
	unsigned char *ct = malloc(ptlen + CS_AEAD_OVERHEAD);
	if (!ct)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "sealing a vault record: out of memory");
	cs_aead_seal(v->master->index_key, ad, adlen, pt, ptlen, ct);
	*out = ct;
	*len = ptlen + CS_AEAD_OVERHEAD;
	return CS_OK;
}

int cs_ventry_seal(struct cs_vault *v, uint64_t seq, uint64_t index, const struct cs_ventry *ve,
		   unsigned char **out, size_t *len, struct cs_error *err)
{
	unsigned char ad[64];
	unsigned char *pt = NULL;
	size_t ptlen = 0;
	int rc;
	if ((rc = need_keys(v, err)) != CS_OK)
		return rc;
	if ((rc = cs_ventry_encode(ve, &pt, &ptlen, err)) != CS_OK)
		return rc;
	rc = seal_plain(v, ad, entry_ad(v, seq, index, ad), pt, ptlen, out, len, err);
	sodium_memzero(pt, ptlen);
	free(pt);
	return rc;
}

int cs_vsnap_seal(struct cs_vault *v, const struct cs_vsnap *s, unsigned char **out, size_t *len,
		  struct cs_error *err)
{
	unsigned char ad[64];
	unsigned char *pt = NULL;
	size_t ptlen = 0;
	int rc;
	if ((rc = need_keys(v, err)) != CS_OK)
		return rc;
	if ((rc = cs_vsnap_encode(s, &pt, &ptlen, err)) != CS_OK)
		return rc;
	rc = seal_plain(v, ad, snap_ad(v, s->info.seq, ad), pt, ptlen, out, len, err);
	sodium_memzero(pt, ptlen);
	free(pt);
	return rc;
}

/* Decrypt a sealed record into a new buffer (*pt, *ptlen). */
static int open_sealed(struct cs_vault *v, const unsigned char *ad, size_t adlen,
		       const MDB_val *val, const char *what, unsigned char **pt, size_t *ptlen,
		       struct cs_error *err)
{
	int rc;
	*pt = NULL;
	if (val->mv_size < CS_AEAD_OVERHEAD)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "%s: record too short", what);
	size_t n = val->mv_size - CS_AEAD_OVERHEAD;
	unsigned char *buf = malloc(n ? n : 1);
	if (!buf)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "%s: out of memory", what);
	rc = cs_aead_open(v->master->index_key, ad, adlen, val->mv_data, val->mv_size, buf, what,
			  err);
	if (rc != CS_OK) {
		free(buf);
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "%s: authentication failed", what);
	}
	*pt = buf;
	*ptlen = n;
	return CS_OK;
}

/* Put "prefix: " before err's reason, keeping code and path. */
static void err_prefix(struct cs_error *err, const char *prefix)
{
	char path[sizeof(err->path)], what[sizeof(err->what)];
	int code = err->code, sys = err->sys_errno;
	memcpy(path, err->path, sizeof(path));
	memcpy(what, err->what, sizeof(what));
	cs_err_set(err, code, path[0] ? path : NULL, "%s: %s", prefix, what);
	err->sys_errno = sys;
}

static void free_plain(unsigned char *pt, size_t n)
{
	if (pt) {
		sodium_memzero(pt, n);
		free(pt);
	}
}

int cs_vsnap_load(struct cs_vault *v, MDB_txn *txn, uint64_t seq, struct cs_vsnap *s,
		  struct cs_error *err)
{
	unsigned char key[8], ad[64];
	char what[64];
	MDB_val val;
	unsigned char *pt = NULL;
	size_t ptlen = 0;
	int rc;
	if ((rc = need_keys(v, err)) != CS_OK)
		return rc;
	cs_be64(key, seq);
	snprintf(what, sizeof(what), "snapshot %llu", (unsigned long long)seq);
	rc = cs_db_get(txn, v->db_snapshots, key, 8, &val, err);
	if (rc == CS_ERR_NOTFOUND)
		return cs_err_set(err, CS_ERR_NOTFOUND, NULL, "no snapshot %llu",
				  (unsigned long long)seq);
	if (rc != CS_OK)
		return rc;
	if ((rc = open_sealed(v, ad, snap_ad(v, seq, ad), &val, what, &pt, &ptlen, err)) != CS_OK)
		return rc;
	rc = cs_vsnap_decode(pt, ptlen, s, err);
	if (rc == CS_OK && s->info.seq != seq)
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "%s: record names snapshot %llu", what,
				(unsigned long long)s->info.seq);
	else if (rc != CS_OK)
		err_prefix(err, what);
	free_plain(pt, ptlen);
	return rc;
}

/* Decrypt and decode the entry record at (key, val), which must be seq's entry index. */
static int entry_open(struct cs_vault *v, uint64_t seq, uint64_t index, const MDB_val *key,
		      const MDB_val *val, struct cs_ventry *ve, struct cs_error *err)
{
	unsigned char ad[64];
	char what[96];
	unsigned char *pt = NULL;
	size_t ptlen = 0;
	int rc;
	snprintf(what, sizeof(what), "snapshot %llu entry %llu", (unsigned long long)seq,
		 (unsigned long long)index);
	if (key->mv_size != 16 || cs_rd64(key->mv_data) != seq ||
	    cs_rd64((const unsigned char *)key->mv_data + 8) != index)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "%s: missing or out of order", what);
	if ((rc = open_sealed(v, ad, entry_ad(v, seq, index, ad), val, what, &pt, &ptlen, err)))
		return rc;
	rc = cs_ventry_decode(pt, ptlen, ve, err);
	if (rc != CS_OK)
		err_prefix(err, what);
	free_plain(pt, ptlen);
	return rc;
}

static bool key_in_seq(const MDB_val *key, uint64_t seq)
{
	return key->mv_size >= 8 && cs_rd64(key->mv_data) == seq;
}

/*
 * Position cur at seq's entry index and decode up to max entries from there into out.
 * *got is how many; fewer than max only at the end of the snapshot.
 */
static int read_entries(struct cs_vault *v, MDB_txn *txn, uint64_t seq, uint64_t first,
			uint64_t n_entries, struct cs_ventry *out, size_t max, size_t *got,
			struct cs_error *err)
{
	MDB_cursor *cur = NULL;
	unsigned char k[16];
	MDB_val key = {16, k}, val;
	int rc = CS_OK, mrc;
	*got = 0;
	if (first >= n_entries || max == 0)
		return CS_OK;
	if ((mrc = mdb_cursor_open(txn, v->db_entries, &cur)) != 0)
		return cs_err_mdb(err, mrc, "opening an entry cursor");
	cs_be64(k, seq);
	cs_be64(k + 8, first);
	mrc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
	while (*got < max && first + *got < n_entries) {
		uint64_t index = first + *got;
		if (mrc == MDB_NOTFOUND || (mrc == 0 && !key_in_seq(&key, seq))) {
			rc = cs_err_set(err, CS_ERR_CORRUPT, NULL,
					"snapshot %llu: entry %llu of %llu missing",
					(unsigned long long)seq, (unsigned long long)index,
					(unsigned long long)n_entries);
			goto out;
		}
		if (mrc != 0) {
			rc = cs_err_mdb(err, mrc, "reading entries");
			goto out;
		}
		if ((rc = entry_open(v, seq, index, &key, &val, &out[*got], err)) != CS_OK)
			goto out;
		(*got)++;
		mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
out:
	if (rc != CS_OK) {
		for (size_t i = 0; i < *got; i++)
			cs_ventry_free(&out[i]);
		*got = 0;
	}
	mdb_cursor_close(cur);
	return rc;
}

/* No entry of seq may exist at or past index n_entries. */
static int check_end(struct cs_vault *v, MDB_txn *txn, uint64_t seq, uint64_t n_entries,
		     struct cs_error *err)
{
	MDB_cursor *cur = NULL;
	unsigned char k[16];
	MDB_val key = {16, k}, val;
	int rc = CS_OK, mrc;
	if ((mrc = mdb_cursor_open(txn, v->db_entries, &cur)) != 0)
		return cs_err_mdb(err, mrc, "opening an entry cursor");
	cs_be64(k, seq);
	cs_be64(k + 8, n_entries);
	mrc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	if (mrc == 0 && key_in_seq(&key, seq))
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "snapshot %llu: more entries than %llu",
				(unsigned long long)seq, (unsigned long long)n_entries);
	else if (mrc != 0 && mrc != MDB_NOTFOUND)
		rc = cs_err_mdb(err, mrc, "reading entries");
	mdb_cursor_close(cur);
	return rc;
}

int cs_ventry_foreach(struct cs_vault *v, MDB_txn *txn, uint64_t seq,
		      int (*fn)(void *ctx, const struct cs_ventry *ve), void *ctx,
		      struct cs_error *err)
{
	struct cs_vsnap s;
	struct cs_ventry *batch = NULL;
	size_t got = 0;
	uint64_t next = 0;
	int rc;
	if ((rc = cs_vsnap_load(v, txn, seq, &s, err)) != CS_OK)
		return rc;
	if ((rc = check_end(v, txn, seq, s.n_entries, err)) != CS_OK)
		return rc;
	batch = calloc(ITER_BATCH, sizeof(*batch));
	if (!batch)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "reading entries: out of memory");
	while (rc == CS_OK && next < s.n_entries) {
		rc = read_entries(v, txn, seq, next, s.n_entries, batch, ITER_BATCH, &got, err);
		for (size_t i = 0; i < got; i++) {
			if (rc == CS_OK)
				rc = fn(ctx, &batch[i]);
			cs_ventry_free(&batch[i]);
		}
		next += got;
	}
	free(batch);
	return rc;
}

/* ---- the batched iterator ---- */

struct cs_ventry_iter {
	struct cs_vault *v;
	uint64_t seq, n_entries, next;
	struct cs_ventry batch[ITER_BATCH];
	size_t got, pos;
};

static void iter_clear(struct cs_ventry_iter *it)
{
	for (size_t i = 0; i < it->got; i++)
		cs_ventry_free(&it->batch[i]);
	it->got = it->pos = 0;
}

int cs_ventry_iter_open(struct cs_vault *v, uint64_t seq, struct cs_ventry_iter **out,
			struct cs_error *err)
{
	MDB_txn *txn = NULL;
	struct cs_vsnap s;
	int rc;
	*out = NULL;
	struct cs_ventry_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "entry iterator: out of memory");
	if ((rc = cs_txn_begin(v, false, &txn, err)) != CS_OK)
		goto out;
	rc = cs_vsnap_load(v, txn, seq, &s, err);
	if (rc == CS_OK)
		rc = check_end(v, txn, seq, s.n_entries, err);
	mdb_txn_abort(txn);
	if (rc != CS_OK)
		goto out;
	it->v = v;
	it->seq = seq;
	it->n_entries = s.n_entries;
	*out = it;
	it = NULL;
out:
	free(it);
	return rc;
}

int cs_ventry_iter_next(struct cs_ventry_iter *it, const struct cs_ventry **ve,
			struct cs_error *err)
{
	MDB_txn *txn = NULL;
	int rc;
	*ve = NULL;
	if (it->pos < it->got) {
		*ve = &it->batch[it->pos++];
		return CS_OK;
	}
	iter_clear(it);
	if (it->next >= it->n_entries)
		return CS_OK;
	if ((rc = cs_txn_begin(it->v, false, &txn, err)) != CS_OK)
		return rc;
	rc = read_entries(it->v, txn, it->seq, it->next, it->n_entries, it->batch, ITER_BATCH,
			  &it->got, err);
	mdb_txn_abort(txn);
	if (rc != CS_OK)
		return rc;
	it->next += it->got;
	if (it->got)
		*ve = &it->batch[it->pos++];
	return CS_OK;
}

void cs_ventry_iter_free(struct cs_ventry_iter *it)
{
	if (!it)
		return;
	iter_clear(it);
	free(it);
}
