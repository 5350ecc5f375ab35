/* verify_vault.c - check every record of an unlocked vault in one read transaction:
 * snapshot records, entries, data keys, every referenced chunk and every content hash. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Open-addressed set of 32-byte keys (already uniform hashes) with an optional 32-byte
 * value each. */
struct set {
	unsigned char *slots; /* cap * (1 + 32 + 32) */
	size_t cap, n;
};
#define SLOT_BYTES (1 + 2 * CS_HASH_BYTES)

static unsigned char *set_slot(const struct set *s, const unsigned char *key)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	size_t i = (size_t)h & (s->cap - 1);
	for (;;) {
		unsigned char *p = s->slots + i * SLOT_BYTES;
		if (!p[0] || !memcmp(p + 1, key, CS_HASH_BYTES))
			return p;
		i = (i + 1) & (s->cap - 1);
	}
}

/* The value of key, or NULL when absent. */
static const unsigned char *set_get(const struct set *s, const unsigned char *key)
{
	if (!s->cap)
		return NULL;
	unsigned char *p = set_slot(s, key);
	return p[0] ? p + 1 + CS_HASH_BYTES : NULL;
}

static int set_put(struct set *s, const unsigned char *key, const unsigned char *val,
		   struct cs_error *err)
{
	if (2 * (s->n + 1) > s->cap) {
		struct set ns = {NULL, s->cap ? s->cap * 2 : 1024, 0};
		if (!(ns.slots = calloc(ns.cap, SLOT_BYTES)))
			return cs_err_set(err, CS_ERR_NOMEM, NULL, "verify: out of memory");
		for (size_t i = 0; i < s->cap; i++) {
			unsigned char *p = s->slots + i * SLOT_BYTES;
			if (p[0])
				memcpy(set_slot(&ns, p + 1), p, SLOT_BYTES);
		}
		ns.n = s->n;
		free(s->slots);
		*s = ns;
	}
	unsigned char *p = set_slot(s, key);
	if (!p[0]) {
		p[0] = 1;
		memcpy(p + 1, key, CS_HASH_BYTES);
		s->n++;
	}
	if (val)
		memcpy(p + 1 + CS_HASH_BYTES, val, CS_HASH_BYTES);
	return CS_OK;
}

static void set_free(struct set *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

struct vv {
	struct cs_vault *v;
	MDB_txn *txn;
	struct cs_verify_result *res;
	struct cs_error *err;
	struct cs_vsnap snap;
	uint64_t files, bytes;
	char *prev_path;
	bool named;              /* err already names the snapshot and entry */
	unsigned char *buf;      /* CS_CHUNK_MAX */
	struct set chunks;       /* distinct chunk ids seen */
	struct set lists;        /* digest of a chunk list -> its verified content hash */
	struct set links;        /* this snapshot: hashes of paths of multi-link files */
};

static int bad(struct vv *c, const char *path, const char *reason)
{
	c->named = true;
	return cs_err_set(c->err, CS_ERR_CORRUPT, path, "snapshot %llu: %s",
			  (unsigned long long)c->snap.info.seq, reason);
}

/* A failure from below (chunk read, lookup), renamed as corruption of this entry; path
 * NULL keeps the one err names. */
static int bad_from(struct vv *c, const char *path, int rc)
{
	char why[sizeof(c->err->what)], where[sizeof(c->err->path)];
	if (rc == CS_ERR_NOMEM)
		return rc;
	memcpy(why, c->err->what, sizeof(why));
	const char *src = path ? path : c->err->path;
	size_t n = strnlen(src, sizeof(where) - 1);
	memcpy(where, src, n);
	where[n] = '\0';
	return bad(c, where[0] ? where : NULL, why);
}

static void path_key(const char *path, unsigned char out[CS_HASH_BYTES])
{
	crypto_generichash(out, CS_HASH_BYTES, (const unsigned char *)path, strlen(path), NULL, 0);
}

static int check_file(struct vv *c, const struct cs_ventry *ve)
{
	const struct cs_entry *e = &ve->e;
	crypto_generichash_state ls;
	unsigned char digest[CS_HASH_BYTES], hash[CS_HASH_BYTES], lenb[4];
	const unsigned char *known;
	cs_hash_state hs;
	int rc;

	/* The same chunk list verified before (an unchanged file in another snapshot) has
	 * one content hash: compare instead of decrypting it again. */
	crypto_generichash_init(&ls, NULL, 0, CS_HASH_BYTES);
	for (size_t i = 0; i < ve->n_chunks; i++) {
		cs_be32(lenb, ve->chunks[i].len);
		crypto_generichash_update(&ls, ve->chunks[i].id, CS_HASH_BYTES);
		crypto_generichash_update(&ls, lenb, 4);
	}
	crypto_generichash_final(&ls, digest, CS_HASH_BYTES);
	if ((known = set_get(&c->lists, digest))) {
		if (memcmp(known, e->hash, CS_HASH_BYTES))
			return bad(c, e->path, "content hash does not match the content");
		return CS_OK;
	}
	cs_hash_init(&hs);
	for (size_t i = 0; i < ve->n_chunks; i++) {
		if ((rc = cs_chunk_read(c->v, c->txn, &ve->chunks[i], c->buf, c->err)) != CS_OK)
			return bad_from(c, e->path, rc);
		cs_hash_update(&hs, c->buf, ve->chunks[i].len);
		if ((rc = set_put(&c->chunks, ve->chunks[i].id, NULL, c->err)) != CS_OK)
			return rc;
	}
	cs_hash_final(&hs, hash);
	if (memcmp(hash, e->hash, CS_HASH_BYTES))
		return bad(c, e->path, "content hash does not match the content");
	return set_put(&c->lists, digest, hash, c->err);
}

static int check_entry(void *ctx, const struct cs_ventry *ve)
{
	struct vv *c = ctx;
	const struct cs_entry *e = &ve->e;
	unsigned char key[CS_HASH_BYTES];
	int rc;
	if (c->prev_path && cs_path_cmp(c->prev_path, e->path) >= 0)
		return bad(c, e->path, "entry out of order or listed twice");
	free(c->prev_path);
	if (!(c->prev_path = strdup(e->path)))
		return cs_err_set(c->err, CS_ERR_NOMEM, e->path, "verify: out of memory");
	c->res->entries++;
	if (e->type == CS_ENTRY_FILE) {
		c->files++;
		c->bytes += e->size;
		if ((rc = check_file(c, ve)) != CS_OK)
			return rc;
		if (ve->nlink > 1) {
			path_key(e->path, key);
			if ((rc = set_put(&c->links, key, NULL, c->err)) != CS_OK)
				return rc;
		}
	} else if (e->type == CS_ENTRY_HARDLINK) {
		path_key(e->target, key);
		if (!set_get(&c->links, key))
			return bad(c, e->path, "hardlink to a path that is not an earlier file");
	}
	return CS_OK;
}

/* Every data key opens with the vault's secret key. */
static int check_datakeys(struct vv *c)
{
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	unsigned char *dk = NULL;
	const size_t sealed = crypto_box_SEALBYTES + CS_KEY_BYTES;
	int rc = CS_OK, mrc;
	if (!(dk = cs_secret_alloc(CS_KEY_BYTES)))
		return cs_err_set(c->err, CS_ERR_NOMEM, NULL, "out of guarded memory");
	if ((mrc = mdb_cursor_open(c->txn, c->v->db_datakeys, &cur)) != 0) {
		rc = cs_err_mdb(c->err, mrc, "opening the data-key cursor");
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		unsigned long long id = k.mv_size == 8 ? (unsigned long long)cs_rd64(k.mv_data) : 0;
		if (k.mv_size != 8 || d.mv_size != 4 + sealed ||
		    crypto_box_seal_open(dk, (const unsigned char *)d.mv_data + 4, sealed,
					 c->v->master->pk, c->v->master->sk) != 0) {
			rc = cs_err_set(c->err, CS_ERR_CORRUPT, c->v->dir,
					"data key %016llx does not open", id);
			goto out;
		}
	}
	if (mrc != MDB_NOTFOUND)
		rc = cs_err_mdb(c->err, mrc, "reading data keys");
out:
	if (cur)
		mdb_cursor_close(cur);
	cs_secret_free(dk);
	return rc;
}

static int check_snapshot(struct vv *c, uint64_t seq)
{
	unsigned char k[8];
	MDB_val d;
	int rc;
	c->named = false;
	if ((rc = cs_vsnap_load(c->v, c->txn, seq, &c->snap, c->err)) != CS_OK) {
		/* The reason already names the snapshot. */
		char why[sizeof(c->err->what)];
		if (rc == CS_ERR_NOMEM)
			return rc;
		memcpy(why, c->err->what, sizeof(why));
		return cs_err_set(c->err, CS_ERR_CORRUPT, NULL, "%s", why);
	}
	cs_be64(k, c->snap.dk_id);
	if ((rc = cs_db_get(c->txn, c->v->db_datakeys, k, 8, &d, c->err)) != CS_OK)
		return rc == CS_ERR_NOTFOUND ? bad(c, NULL, "its data key is missing") : rc;
	c->files = c->bytes = 0;
	free(c->prev_path);
	c->prev_path = NULL;
	set_free(&c->links);
	rc = cs_ventry_foreach(c->v, c->txn, seq, check_entry, c, c->err);
	if (rc != CS_OK) {
		/* Decoding and authentication failures come back unnamed. */
		if (!c->named && rc != CS_ERR_NOMEM)
			rc = bad_from(c, NULL, rc);
		return rc;
	}
	if (c->files != c->snap.info.files || c->bytes != c->snap.info.bytes)
		return bad(c, NULL, "file or byte count differs from the record");
	c->res->snapshots++;
	c->res->files += c->files;
	c->res->bytes += c->bytes;
	c->res->info = c->snap.info;
	return CS_OK;
}

int cs_verify_vault(struct cs_vault *v, struct cs_verify_result *res, struct cs_error *err)
{
	struct vv c = {.v = v, .res = res, .err = err};
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	int rc, mrc;
	memset(res, 0, sizeof(*res));
	if (!v->master)
		return cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked (unlock it first)");
	if (!(c.buf = malloc(CS_CHUNK_MAX)))
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "verify: out of memory");
	if ((rc = cs_txn_begin(v, false, &c.txn, err)) != CS_OK)
		goto out;
	if ((rc = check_datakeys(&c)) != CS_OK)
		goto out;
	if ((mrc = mdb_cursor_open(c.txn, v->db_snapshots, &cur)) != 0) {
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
		if ((rc = check_snapshot(&c, cs_rd64(k.mv_data))) != CS_OK)
			goto out;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = cs_err_mdb(err, mrc, "listing snapshots");
		goto out;
	}
	res->chunks = c.chunks.n;
out:
	if (cur)
		mdb_cursor_close(cur);
	if (c.txn)
		mdb_txn_abort(c.txn);
	if (c.buf) {
		sodium_memzero(c.buf, CS_CHUNK_MAX);
		free(c.buf);
	}
	free(c.prev_path);
	set_free(&c.chunks);
	set_free(&c.lists);
	set_free(&c.links);
	return rc;
}
