/* chunkstore.c - content chunks: per-snapshot data keys, the batching,
 * deduplicating chunk writer, and verified chunk reads. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define CHUNK_VERSION 1
#define CHUNK_STORED 0
#define CHUNK_ZSTD 1
#define CHUNK_ZSTD_LEVEL 3
#define CHUNK_HDR_BYTES (1 + 1 + 8 + 4 + 4)
#define CHUNK_AD_PREFIX "clawstate-chunk-v1"
#define CHUNK_AD_BYTES (sizeof CHUNK_AD_PREFIX - 1 + CS_VAULT_ID_BYTES + CS_HASH_BYTES + 8 + 4)
#define DK_SEALED_BYTES (crypto_box_SEALBYTES + CS_KEY_BYTES) /* 80 */
#define DK_RECORD_BYTES (4 + DK_SEALED_BYTES)
/* Commit a batch once this many record bytes are pending. */
#define BATCH_BYTES (8u << 20)

/* ---- unsealed data keys --------------------------------------------------------- */

struct dk_entry {
	uint64_t id;
	unsigned char key[CS_KEY_BYTES];
};

struct cs_dkcache {
	size_t n, cap;
	struct dk_entry *ents; /* sodium_malloc'd */
};

void cs_dkcache_free(struct cs_dkcache *c)
{
	if (!c)
		return;
	cs_secret_free(c->ents);
	free(c);
}

static const unsigned char *dkcache_get(const struct cs_vault *v, uint64_t id)
{
	const struct cs_dkcache *c = v->dkcache;
	for (size_t i = 0; c && i < c->n; i++)
		if (c->ents[i].id == id)
			return c->ents[i].key;
	return NULL;
}

static int dkcache_put(struct cs_vault *v, uint64_t id, const unsigned char *key,
		       const unsigned char **out, struct cs_error *err)
{
	struct cs_dkcache *c = v->dkcache;
	if (!c) {
		if (!(c = calloc(1, sizeof *c)))
			return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		v->dkcache = c;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		struct dk_entry *ne = (struct dk_entry *)cs_secret_alloc(ncap * sizeof *ne);
		if (!ne)
			return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of guarded memory");
		if (c->n)
			memcpy(ne, c->ents, c->n * sizeof *ne);
		cs_secret_free(c->ents);
		c->ents = ne;
		c->cap = ncap;
	}
	c->ents[c->n].id = id;
	memcpy(c->ents[c->n].key, key, CS_KEY_BYTES);
	*out = c->ents[c->n].key;
	c->n++;
	return CS_OK;
}

/* The data key dk_id, from the cache or unsealed from its record in txn. */
static int datakey_get(struct cs_vault *v, MDB_txn *txn, uint64_t dk_id,
		       const unsigned char **key, struct cs_error *err)
{
	int rc = CS_OK;
	unsigned char kb[8];
	unsigned char *dk = NULL;
	MDB_val d;

	if ((*key = dkcache_get(v, dk_id)))
		return CS_OK;
	if (!v->master) {
		rc = cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked");
		goto out;
	}
	cs_be64(kb, dk_id);
	rc = cs_db_get(txn, v->db_datakeys, kb, sizeof kb, &d, err);
	if (rc == CS_ERR_NOTFOUND) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "data key %016llx missing",
				(unsigned long long)dk_id);
		goto out;
	}
	if (rc != CS_OK)
		goto out;
	if (d.mv_size != DK_RECORD_BYTES) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "data key %016llx: %zu bytes, want %d",
				(unsigned long long)dk_id, d.mv_size, (int)DK_RECORD_BYTES);
		goto out;
	}
	if (!(dk = cs_secret_alloc(CS_KEY_BYTES))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of guarded memory");
		goto out;
	}
	if (crypto_box_seal_open(dk, (const unsigned char *)d.mv_data + 4, DK_SEALED_BYTES,
				 v->master->pk, v->master->sk) != 0) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "data key %016llx does not open",
				(unsigned long long)dk_id);
		goto out;
	}
	rc = dkcache_put(v, dk_id, dk, key, err);
out:
	cs_secret_free(dk);
	return rc;
}

struct dk_ctx {
	uint64_t id;
	unsigned char rec[DK_RECORD_BYTES];
};

static int datakey_store(struct cs_vault *v, MDB_txn *txn, void *vctx, struct cs_error *err)
{
	struct dk_ctx *ctx = vctx;
	for (int tries = 0; tries < 8; tries++) {
		unsigned char kb[8];
		cs_be64(kb, ctx->id);
		MDB_val k = {sizeof kb, kb}, d = {sizeof ctx->rec, ctx->rec};
		int rc = mdb_put(txn, v->db_datakeys, &k, &d, MDB_NOOVERWRITE);
		if (rc == 0)
			return CS_OK;
		if (rc != MDB_KEYEXIST)
			return cs_err_mdb(err, rc, "store data key");
		randombytes_buf(&ctx->id, sizeof ctx->id);
	}
	return cs_err_set(err, CS_ERR_CRYPTO, NULL, "no free data-key id");
}

int cs_datakey_create(struct cs_vault *v, uint64_t *dk_id, struct cs_error *err)
{
	int rc = CS_OK;
	unsigned char *dk = NULL;
	struct dk_ctx ctx;
	const unsigned char *cached;

	if (!v->master) {
		rc = cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked");
		goto out;
	}
	if (!(dk = cs_secret_alloc(CS_KEY_BYTES))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of guarded memory");
		goto out;
	}
	crypto_aead_xchacha20poly1305_ietf_keygen(dk);
	randombytes_buf(&ctx.id, sizeof ctx.id);
	cs_be32(ctx.rec, v->epoch);
	if (crypto_box_seal(ctx.rec + 4, dk, CS_KEY_BYTES, v->master->pk) != 0) {
		rc = cs_err_set(err, CS_ERR_CRYPTO, NULL, "sealing the data key failed");
		goto out;
	}
	if ((rc = cs_store_write(v, datakey_store, &ctx, err)) != CS_OK)
		goto out;
	/* A writer cannot unseal its own data key later: keep it for the writer. */
	if ((rc = dkcache_put(v, ctx.id, dk, &cached, err)) != CS_OK)
		goto out;
	*dk_id = ctx.id;
out:
	cs_secret_free(dk);
	return rc;
}

/* ---- records ------------------------------------------------------------------ */

static void chunk_ad(const struct cs_vault *v, const unsigned char id[CS_HASH_BYTES],
		     uint64_t dk_id, uint32_t epoch, unsigned char ad[CHUNK_AD_BYTES])
{
	unsigned char *p = ad;
	memcpy(p, CHUNK_AD_PREFIX, sizeof CHUNK_AD_PREFIX - 1);
	p += sizeof CHUNK_AD_PREFIX - 1;
	memcpy(p, v->id, CS_VAULT_ID_BYTES);
	p += CS_VAULT_ID_BYTES;
	memcpy(p, id, CS_HASH_BYTES);
	p += CS_HASH_BYTES;
	cs_be64(p, dk_id);
	p += 8;
	cs_be32(p, epoch);
}

int cs_chunk_read(struct cs_vault *v, MDB_txn *txn, const struct cs_chunk_ref *ref, void *out,
		  struct cs_error *err)
{
	int rc = CS_OK;
	char hex[2 * CS_HASH_BYTES + 1];
	unsigned char ad[CHUNK_AD_BYTES], id[CS_HASH_BYTES];
	unsigned char *tmp = NULL;
	size_t tmp_len = 0;
	const unsigned char *dk;
	MDB_val d;

	cs_hex(ref->id, CS_HASH_BYTES, hex);
	if (!v->master) {
		rc = cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked");
		goto out;
	}
	rc = cs_db_get(txn, v->db_chunks, ref->id, CS_HASH_BYTES, &d, err);
	if (rc == CS_ERR_NOTFOUND) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "chunk %s missing", hex);
		goto out;
	}
	if (rc != CS_OK)
		goto out;
	const unsigned char *rec = d.mv_data;
	if (d.mv_size < CHUNK_HDR_BYTES + CS_AEAD_OVERHEAD || rec[0] != CHUNK_VERSION ||
	    (rec[1] != CHUNK_STORED && rec[1] != CHUNK_ZSTD)) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "chunk %s: malformed record", hex);
		goto out;
	}
	uint64_t dk_id = cs_rd64(rec + 2);
	uint32_t epoch = cs_rd32(rec + 10);
	uint32_t len = cs_rd32(rec + 14);
	size_t ct_len = d.mv_size - CHUNK_HDR_BYTES;
	size_t pt_len = ct_len - CS_AEAD_OVERHEAD;
	if (len != ref->len || len == 0 || len > CS_CHUNK_MAX ||
	    (rec[1] == CHUNK_STORED ? pt_len != len : pt_len > ZSTD_compressBound(len))) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "chunk %s: length mismatch", hex);
		goto out;
	}
	if ((rc = datakey_get(v, txn, dk_id, &dk, err)) != CS_OK) {
		if (rc == CS_ERR_CORRUPT && err) { /* name the chunk that led to the bad key */
			char why[128];
			size_t wn = strnlen(err->what, sizeof why - 1);
			memcpy(why, err->what, wn);
			why[wn] = '\0';
			rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "chunk %s: %s", hex, why);
		}
		goto out;
	}
	chunk_ad(v, ref->id, dk_id, epoch, ad);
	if (rec[1] == CHUNK_STORED) {
		rc = cs_aead_open(dk, ad, sizeof ad, rec + CHUNK_HDR_BYTES, ct_len, out, NULL, err);
	} else {
		tmp_len = pt_len;
		if (!(tmp = malloc(pt_len ? pt_len : 1))) {
			rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
		rc = cs_aead_open(dk, ad, sizeof ad, rec + CHUNK_HDR_BYTES, ct_len, tmp, NULL, err);
	}
	cs_store_release(v, d.mv_data, d.mv_size);
	if (rc != CS_OK) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "chunk %s: authentication failed", hex);
		goto out;
	}
	if (tmp) {
		size_t r = ZSTD_decompress(out, len, tmp, pt_len);
		if (ZSTD_isError(r) || r != len) {
			rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "chunk %s: does not decompress",
					hex);
			goto out;
		}
	}
	/* The id is a MAC of the plaintext: it catches a record moved under
	 * another id by someone holding a data key. */
	cs_chunk_id(v->master->chunk_key, out, len, id);
	if (memcmp(id, ref->id, CS_HASH_BYTES) != 0) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, NULL, "chunk %s: content does not match its id",
				hex);
		goto out;
	}
out:
	if (rc != CS_OK && rc != CS_ERR_KEY && out && ref->len)
		sodium_memzero(out, ref->len);
	if (tmp) {
		sodium_memzero(tmp, tmp_len);
		free(tmp);
	}
	return rc;
}

/* ---- the writer ----------------------------------------------------------------- */

struct pending {
	unsigned char id[CS_HASH_BYTES];
	size_t off, len; /* record bytes in batch */
};

struct cs_chunk_writer {
	struct cs_vault *v;
	uint64_t dk_id;
	unsigned char *dk; /* guarded copy */
	ZSTD_CCtx *cctx;
	unsigned char *zbuf;
	size_t zcap;
	unsigned char *batch;
	size_t blen, bcap;
	struct pending *pend;
	size_t npend, pcap;
	size_t *table; /* open addressing: index + 1 into pend, 0 = empty */
	size_t tcap;   /* power of two */
	MDB_txn *rtxn; /* kept reset between lookups */
};

void cs_chunk_writer_free(struct cs_chunk_writer *w)
{
	if (!w)
		return;
	if (w->rtxn)
		mdb_txn_abort(w->rtxn);
	cs_secret_free(w->dk);
	ZSTD_freeCCtx(w->cctx);
	if (w->zbuf) {
		sodium_memzero(w->zbuf, w->zcap);
		free(w->zbuf);
	}
	free(w->batch);
	free(w->pend);
	free(w->table);
	free(w);
}

int cs_chunk_writer_new(struct cs_vault *v, uint64_t dk_id, struct cs_chunk_writer **out,
			struct cs_error *err)
{
	int rc = CS_OK;
	struct cs_chunk_writer *w = NULL;
	MDB_txn *txn = NULL;
	const unsigned char *dk;

	*out = NULL;
	if (!v->writable) {
		rc = cs_err_set(err, CS_ERR_USAGE, v->dir, "vault not opened for writing");
		goto out;
	}
	if (!v->master) {
		rc = cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked");
		goto out;
	}
	if (!(w = calloc(1, sizeof *w))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	w->v = v;
	w->dk_id = dk_id;
	if (!dkcache_get(v, dk_id)) {
		if ((rc = cs_txn_begin(v, false, &txn, err)) != CS_OK)
			goto out;
		rc = datakey_get(v, txn, dk_id, &dk, err);
		mdb_txn_abort(txn);
		if (rc != CS_OK)
			goto out;
	}
	dk = dkcache_get(v, dk_id);
	w->zcap = ZSTD_compressBound(CS_CHUNK_MAX);
	w->tcap = 1024;
	if (!(w->dk = cs_secret_alloc(CS_KEY_BYTES)) || !(w->cctx = ZSTD_createCCtx()) ||
	    !(w->zbuf = malloc(w->zcap)) || !(w->table = calloc(w->tcap, sizeof *w->table))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	memcpy(w->dk, dk, CS_KEY_BYTES);
	*out = w;
	w = NULL;
out:
	cs_chunk_writer_free(w);
	return rc;
}

static size_t table_slot(const struct cs_chunk_writer *w, const unsigned char *id)
{
	return (size_t)cs_rd64(id) & (w->tcap - 1);
}

static bool pending_has(const struct cs_chunk_writer *w, const unsigned char *id)
{
	for (size_t i = table_slot(w, id);; i = (i + 1) & (w->tcap - 1)) {
		size_t e = w->table[i];
		if (e == 0)
			return false;
		if (memcmp(w->pend[e - 1].id, id, CS_HASH_BYTES) == 0)
			return true;
	}
}

static void table_insert(struct cs_chunk_writer *w, size_t idx)
{
	size_t i = table_slot(w, w->pend[idx].id);
	while (w->table[i])
		i = (i + 1) & (w->tcap - 1);
	w->table[i] = idx + 1;
}

static int pending_add(struct cs_chunk_writer *w, const unsigned char *id, size_t off,
		       size_t len, struct cs_error *err)
{
	if (w->npend == w->pcap) {
		size_t ncap = w->pcap ? w->pcap * 2 : 256;
		struct pending *np = realloc(w->pend, ncap * sizeof *np);
		if (!np)
			return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		w->pend = np;
		w->pcap = ncap;
	}
	/* Keep the table at most half full so probes stay short. */
	if ((w->npend + 1) * 2 > w->tcap) {
		size_t *nt = calloc(w->tcap * 2, sizeof *nt);
		if (!nt)
			return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		free(w->table);
		w->table = nt;
		w->tcap *= 2;
		for (size_t i = 0; i < w->npend; i++)
			table_insert(w, i);
	}
	memcpy(w->pend[w->npend].id, id, CS_HASH_BYTES);
	w->pend[w->npend].off = off;
	w->pend[w->npend].len = len;
	table_insert(w, w->npend);
	w->npend++;
	return CS_OK;
}

static int stored_has(struct cs_chunk_writer *w, const unsigned char *id, bool *found,
		      struct cs_error *err)
{
	int rc;
	/* One reader slot for the writer's lifetime; reset between lookups so it
	 * pins no pages and a map resize during a flush is safe. */
	if (w->rtxn && mdb_txn_renew(w->rtxn) != 0) {
		mdb_txn_abort(w->rtxn);
		w->rtxn = NULL;
	}
	if (!w->rtxn && (rc = cs_txn_begin(w->v, false, &w->rtxn, err)) != CS_OK)
		return rc;
	MDB_val k = {CS_HASH_BYTES, (void *)id}, d;
	rc = mdb_get(w->rtxn, w->v->db_chunks, &k, &d);
	mdb_txn_reset(w->rtxn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return cs_err_mdb(err, rc, "look up chunk");
	*found = rc == 0;
	return CS_OK;
}

static int batch_store(struct cs_vault *v, MDB_txn *txn, void *vctx, struct cs_error *err)
{
	struct cs_chunk_writer *w = vctx;
	for (size_t i = 0; i < w->npend; i++) {
		MDB_val k = {CS_HASH_BYTES, w->pend[i].id};
		MDB_val d = {w->pend[i].len, w->batch + w->pend[i].off};
		int rc = mdb_put(txn, v->db_chunks, &k, &d, MDB_NOOVERWRITE);
		/* Same id = same plaintext: an existing record is as good as ours. */
		if (rc != 0 && rc != MDB_KEYEXIST)
			return cs_err_mdb(err, rc, "store chunk");
	}
	return CS_OK;
}

int cs_chunk_writer_flush(struct cs_chunk_writer *w, struct cs_error *err)
{
	if (w->npend == 0)
		return CS_OK;
	int rc = cs_store_write(w->v, batch_store, w, err);
	if (rc != CS_OK)
		return rc;
	w->npend = 0;
	w->blen = 0;
	memset(w->table, 0, w->tcap * sizeof *w->table);
	return CS_OK;
}

int cs_chunk_writer_add(struct cs_chunk_writer *w, const void *data, size_t len,
			struct cs_chunk_ref *ref, bool *is_new, struct cs_error *err)
{
	int rc;
	bool found = false;
	unsigned char ad[CHUNK_AD_BYTES];

	*is_new = false;
	if (len == 0 || len > CS_CHUNK_MAX)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "chunk of %zu bytes (1..%u allowed)", len,
				  CS_CHUNK_MAX);
	cs_chunk_id(w->v->master->chunk_key, data, len, ref->id);
	ref->len = (uint32_t)len;
	if (pending_has(w, ref->id))
		return CS_OK;
	if ((rc = stored_has(w, ref->id, &found, err)) != CS_OK)
		return rc;
	if (found)
		return CS_OK;

	/* Compressed output must beat the input to be kept; capping the
	 * destination at len makes zstd give up early on incompressible data. */
	const unsigned char *payload = data;
	size_t plen = len;
	uint8_t comp = CHUNK_STORED;
	size_t zr = ZSTD_compressCCtx(w->cctx, w->zbuf, len, data, len, CHUNK_ZSTD_LEVEL);
	if (!ZSTD_isError(zr) && zr < len) {
		payload = w->zbuf;
		plen = zr;
		comp = CHUNK_ZSTD;
	}
	size_t reclen = CHUNK_HDR_BYTES + plen + CS_AEAD_OVERHEAD;
	if (w->blen + reclen > w->bcap) {
		size_t ncap = w->bcap ? w->bcap : BATCH_BYTES + CHUNK_HDR_BYTES + CS_AEAD_OVERHEAD;
		while (ncap < w->blen + reclen)
			ncap *= 2;
		unsigned char *nb = realloc(w->batch, ncap);
		if (!nb)
			return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		w->batch = nb;
		w->bcap = ncap;
	}
	unsigned char *rec = w->batch + w->blen;
	rec[0] = CHUNK_VERSION;
	rec[1] = comp;
	cs_be64(rec + 2, w->dk_id);
	cs_be32(rec + 10, w->v->epoch);
	cs_be32(rec + 14, (uint32_t)len);
	chunk_ad(w->v, ref->id, w->dk_id, w->v->epoch, ad);
	cs_aead_seal(w->dk, ad, sizeof ad, payload, plen, rec + CHUNK_HDR_BYTES);
	if (comp == CHUNK_ZSTD)
		sodium_memzero(w->zbuf, plen);
	if ((rc = pending_add(w, ref->id, w->blen, reclen, err)) != CS_OK)
		return rc;
	w->blen += reclen;
	*is_new = true;
	if (w->blen >= BATCH_BYTES)
		return cs_chunk_writer_flush(w, err);
	return CS_OK;
}
