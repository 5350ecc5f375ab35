/* layout_stage.c - staging the entries of a restore with a layout: content
 * passes through a wrapper that counts leftover mentions of the old prefixes
 * and keeps what the rewriter needs to see before the commit (the config's
 * workspace setting; in a dry run every file it would rewrite). */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int cs_content_drain(cs_content_fn read, void *rctx, const struct cs_entry *e,
		     struct cs_error *err)
{
	unsigned char buf[1u << 16];
	cs_hash_state hs;
	unsigned char hash[CS_HASH_BYTES];
	uint64_t total = 0;
	if (e->type != CS_ENTRY_FILE)
		return CS_OK;
	cs_hash_init(&hs);
	for (;;) {
		size_t got = 0;
		int rc = read(rctx, buf, sizeof buf, &got, err);
		if (rc != CS_OK)
			return rc;
		if (got == 0)
			break;
		if (got > e->size - total)
			return cs_err_set(err, CS_ERR_CORRUPT, e->path,
					  "size mismatch (more than %" PRIu64 " bytes)", e->size);
		cs_hash_update(&hs, buf, got);
		total += got;
	}
	cs_hash_final(&hs, hash);
	if (total != e->size)
		return cs_err_set(err, CS_ERR_CORRUPT, e->path,
				  "size mismatch (%" PRIu64 " bytes, expected %" PRIu64 ")", total,
				  e->size);
	if (sodium_memcmp(hash, e->hash, sizeof hash) != 0)
		return cs_err_set(err, CS_ERR_CORRUPT, e->path, "content hash mismatch");
	return CS_OK;
}

static int wrapped_read(void *ctx, void *buf, size_t cap, size_t *got, struct cs_error *err)
{
	struct cs_layout_ctx *L = ctx;
	int rc = L->inner(L->ictx, buf, cap, got, err);
	if (rc != CS_OK || *got == 0)
		return rc;
	if (L->counting)
		cs_mentions_feed(&L->m, buf, *got);
	if (L->capturing && !L->cap_trunc) {
		size_t room = CS_RW_MAX_BYTES - L->cap_len;
		size_t take = *got < room ? *got : room;
		if (L->cap_len + take > L->cap_size) {
			size_t ns = L->cap_size ? L->cap_size : 1u << 16;
			while (ns < L->cap_len + take)
				ns *= 2;
			char *nb = realloc(L->capture, ns);
			if (!nb)
				return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
			L->capture = nb;
			L->cap_size = ns;
		}
		memcpy(L->capture + L->cap_len, buf, take);
		L->cap_len += take;
		if (take < *got)
			L->cap_trunc = true;
	}
	return CS_OK;
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return n && strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The config names its workspace with an absolute path: one that lies under
 * neither old prefix means the recorded home is not the one the paths use
 * (a tree copied from elsewhere), and nothing there will be rewritten. */
static int workspace_check(struct cs_layout_ctx *L, const char *path, struct cs_error *err)
{
	char *ws = NULL;
	char what[600];
	if (L->cap_trunc)
		return CS_OK; /* cs_stage_rewrite reports a config too large */
	int rc = cs_json5_get_string(L->capture, L->cap_len, "agents.defaults.workspace", &ws,
				     path, err);
	if (rc != CS_OK)
		return rc;
	if (ws && ws[0] == '/' && !below(ws, L->from_state) && !below(ws, L->from_home) &&
	    L->plan.warn) {
		snprintf(what, sizeof what,
			 "agents.defaults.workspace is %.200s, outside the old home %.150s: paths "
			 "there are not rewritten (name the old home with %s)",
			 ws, L->from_home[0] ? L->from_home : "(none recorded)",
			 L->from_docker ? "--container-home, or --from-home" : "--from-home");
		L->plan.warn(L->plan.ctx, path, what);
	}
	free(ws);
	return CS_OK;
}

/* Dry run: what the rewriter would do to this file, from the captured bytes. */
static int dry_rewrite(struct cs_layout_ctx *L, const struct cs_entry *e, int kind,
		       struct cs_error *err)
{
	char *out = NULL;
	size_t out_len = 0;
	int rc;
	if (kind == CS_RW_SQLITE) {
		if (L->cap_trunc) {
			if (L->plan.warn)
				L->plan.warn(L->plan.ctx, e->path,
					     "database too large to check in a dry run; a real run "
					     "rewrites it");
			return CS_OK;
		}
		return cs_sqlite_rewrite_buffer(L->capture, L->cap_len, e->path, &L->plan, &L->stats,
						err);
	}
	rc = cs_rw_buffer(kind, e->path, L->capture, L->cap_len, L->cap_trunc, &L->plan, &out,
			  &out_len, &L->stats, err);
	free(out);
	return rc;
}

int cs_layout_add_prelude(struct cs_layout_ctx *L, struct cs_stage *st, struct cs_error *err)
{
	for (size_t i = 0; st && i < L->n_pre; i++) {
		int rc = cs_stage_add(st, &L->all[i], NULL, NULL, err);
		if (rc != CS_OK)
			return rc;
	}
	return CS_OK;
}

int cs_layout_add(struct cs_layout_ctx *L, struct cs_stage *st, size_t k, cs_content_fn read,
		  void *rctx, struct cs_error *err)
{
	size_t i = L->n_pre + k;
	struct cs_entry *e = &L->all[i];
	int kind = L->kinds ? L->kinds[i] : CS_RW_NONE;
	int rc;
	if (!L->n_rules || e->type != CS_ENTRY_FILE)
		return st ? cs_stage_add(st, e, read, rctx, err) : cs_content_drain(read, rctx, e, err);
	L->inner = read;
	L->ictx = rctx;
	L->counting = kind == CS_RW_NONE && L->n_needles;
	L->capturing = kind == CS_RW_CONFIG || (!st && kind != CS_RW_NONE);
	L->cap_len = 0;
	L->cap_trunc = false;
	if (L->counting)
		cs_mentions_init(&L->m, &L->plan);
	rc = st ? cs_stage_add(st, e, wrapped_read, L, err)
		: cs_content_drain(wrapped_read, L, e, err);
	if (rc != CS_OK)
		return rc;
	if (L->counting)
		cs_mentions_end(&L->m, e->path, &L->stats);
	if (kind == CS_RW_CONFIG && (rc = workspace_check(L, e->path, err)) != CS_OK)
		return rc;
	if (!st && kind != CS_RW_NONE)
		rc = dry_rewrite(L, e, kind, err);
	return rc;
}

int cs_layout_finish(struct cs_layout_ctx *L, struct cs_stage *st, struct cs_error *err)
{
	if (!st || !L->n_rules)
		return CS_OK;
	return cs_stage_rewrite(st, L->all, L->kinds, L->n_all, &L->plan, &L->stats, err);
}
