/* restore.c - restore a backup file or a vault snapshot into a target dir:
 * validate the whole entry list, keep the --include subtrees, then stream the
 * content through the safe writer (stage.c) and swap the tree in. */
#include "internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- --include filtering -------------------------------------------------------------- */

struct selection {
	bool *keep;             /* per entry of the full list */
	struct cs_entry *sel;   /* shallow copies of the kept entries, in order */
	size_t n_sel;
	uint64_t files, bytes;
};

/* "./a/b/" -> "a/b"; NULL when it is not a relative path inside the tree. */
static char *include_normalise(const char *in)
{
	while (in[0] == '.' && in[1] == '/')
		in += 2;
	size_t n = strlen(in);
	while (n > 0 && in[n - 1] == '/')
		n--;
	if (n == 0 || in[0] == '/')
		return NULL;
	char *s = strndup(in, n);
	if (!s)
		return NULL;
	for (const char *c = s;;) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
			free(s);
			return NULL;
		}
		if (!slash)
			break;
		c = slash + 1;
	}
	return s;
}

/* Inside a listed subtree, or a directory on the way to one. */
static bool wanted(char *const *inc, size_t n_inc, const char *path, int type, size_t *exact)
{
	size_t pl = strlen(path);
	bool keep = false;
	for (size_t j = 0; j < n_inc; j++) {
		size_t il = strlen(inc[j]);
		if (pl == il && memcmp(path, inc[j], il) == 0) {
			if (exact)
				exact[j]++;
			keep = true;
		} else if (pl > il && path[il] == '/' && memcmp(path, inc[j], il) == 0) {
			keep = true;
		} else if (type == CS_ENTRY_DIR && il > pl && inc[j][pl] == '/' &&
			   memcmp(path, inc[j], pl) == 0) {
			keep = true;
		}
	}
	return keep;
}

static int select_entries(const struct cs_entry *entries, size_t n,
			  const struct cs_restore_opts *opts, const char *source,
			  struct selection *s, struct cs_error *err)
{
	int rc = CS_OK;
	char **inc = NULL;
	size_t *exact = NULL;
	size_t n_inc = opts->n_includes;
	memset(s, 0, sizeof s[0]);
	s->keep = calloc(n ? n : 1, sizeof *s->keep);
	s->sel = calloc(n ? n : 1, sizeof *s->sel);
	inc = calloc(n_inc ? n_inc : 1, sizeof *inc);
	exact = calloc(n_inc ? n_inc : 1, sizeof *exact);
	if (!s->keep || !s->sel || !inc || !exact) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < n_inc; j++) {
		if (!opts->includes[j] || !(inc[j] = include_normalise(opts->includes[j]))) {
			rc = cs_err_set(err, CS_ERR_USAGE, opts->includes[j],
					"--include needs a relative path inside the tree");
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct cs_entry *e = &entries[i];
		s->keep[i] = n_inc == 0 || wanted(inc, n_inc, e->path, e->type, exact);
		if (!s->keep[i])
			continue;
		/* The first name of the inode was left out: its content would have to be
		 * staged outside the kept subtrees. */
		if (e->type == CS_ENTRY_HARDLINK && n_inc &&
		    !wanted(inc, n_inc, e->target, CS_ENTRY_FILE, NULL)) {
			rc = cs_err_set(err, CS_ERR_UNSUPPORTED, e->path,
					"hardlink to %s, which --include leaves out", e->target);
			goto out;
		}
		s->sel[s->n_sel++] = *e;
		if (e->type == CS_ENTRY_FILE) {
			s->files++;
			/* Sizes come from the input: a sum that wrapped around would pass
			 * the free-space check.  Saturate below UINT64_MAX, which tells
			 * cs_stage_refusals to skip that check. */
			uint64_t cap = UINT64_MAX - 1;
			s->bytes = e->size > cap - s->bytes ? cap : s->bytes + e->size;
		}
	}
	for (size_t j = 0; j < n_inc; j++) {
		if (!exact[j]) {
			rc = cs_err_set(err, CS_ERR_NOTFOUND, inc[j], "not in the %s", source);
			goto out;
		}
	}
out:
	for (size_t j = 0; inc && j < n_inc; j++)
		free(inc[j]);
	free(inc);
	free(exact);
	return rc;
}

static void selection_free(struct selection *s)
{
	free(s->keep);
	free(s->sel);
	memset(s, 0, sizeof *s);
}

static int check_opts(const struct cs_restore_opts *opts, struct cs_error *err)
{
	if (!opts || !opts->target || !opts->target[0])
		return cs_err_set(err, CS_ERR_USAGE, NULL, "no target directory (--to)");
	/* A partial tree swapped over a full one would silently delete the rest. */
	if (opts->n_includes && opts->replace)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "--include cannot be used with --replace");
	return cs_owner_opts_check(opts, err);
}

/* Resolve every kept entry's owner and the root's before anything is created:
 * --unmapped fail must leave no trace, not even a staging dir.  The commit
 * resolves them again, the same way, as it applies them. */
static int owners_check(const struct cs_restore_opts *opts, const struct selection *s,
			const struct cs_snapshot_info *info, struct cs_error *err)
{
	uint32_t u, g;
	int rc = cs_owner_resolve(opts, opts->target, info->uid, info->gid, &u, &g, err);
	for (size_t i = 0; rc == CS_OK && i < s->n_sel; i++) {
		const struct cs_entry *e = &s->sel[i];
		if (e->type != CS_ENTRY_HARDLINK) /* owned through its first name */
			rc = cs_owner_resolve(opts, e->path, e->uid, e->gid, &u, &g, err);
	}
	return rc;
}

/* The commit's owner outcome, told once through report.warn (the commit's
 * CS_ERR_PARTIAL already names the first entry whose chown was refused). */
static void owners_report(const struct cs_restore_opts *opts, const struct cs_restore_result *res,
			  int rc, const struct cs_error *err)
{
	char what[160];
	if (!opts->report.warn)
		return;
	if (rc == CS_ERR_PARTIAL && res->owners_failed) {
		opts->report.warn(opts->report.ctx, err->path, err->what);
	} else if (rc == CS_OK && res->owners_skipped) {
		snprintf(what, sizeof what,
			 "owners not applied (not root): %d entr%s keep the restoring user's ids",
			 res->owners_skipped, res->owners_skipped == 1 ? "y" : "ies");
		opts->report.warn(opts->report.ctx, opts->target, what);
	}
}

/* cs_stage_commit frees st also when it returns CS_ERR_PARTIAL. */
static int commit(struct cs_stage **st, const struct cs_restore_opts *opts,
		  const struct cs_layout_ctx *L, struct cs_restore_result *res, struct cs_error *err)
{
	int rc = cs_stage_commit(*st, L->all, L->n_all, res, err);
	if (rc == CS_OK || (rc == CS_ERR_PARTIAL && res->owners_failed))
		*st = NULL;
	owners_report(opts, res, rc, err);
	return rc;
}

/* The end of a dry run: it made the refusals of a real run (cs_stage_check,
 * which creates nothing, not even a staging dir) and read and checked every
 * entry's content (cs_content_drain); now the plan. */
static void dry_run_plan(const struct cs_restore_opts *opts, const struct cs_layout_ctx *L)
{
	/* Each entry with the owner a real run gives it (cs_stage_commit's rule). */
	bool set = geteuid() == 0 || cs_owner_opts_given(opts);
	struct cs_error ignore;
	for (size_t i = 0; opts->plan && i < L->n_all; i++) {
		struct cs_entry e = L->all[i];
		uint32_t u, g;
		if (!set) {
			e.uid = (uint32_t)geteuid();
			e.gid = (uint32_t)getegid();
		} else if (cs_owner_resolve(opts, e.path, e.uid, e.gid, &u, &g, &ignore) == CS_OK) {
			e.uid = u;
			e.gid = g;
		}
		opts->plan(opts->report.ctx, &e);
	}
}

/* Open the staging dir (or, for a dry run, make its refusals), then stage the
 * dirs a layout adds. */
static int stage_begin(const struct cs_restore_opts *opts, uint64_t seq, uint64_t bytes,
		       struct cs_layout_ctx *L, struct cs_stage **st, struct cs_error *err)
{
	int rc;
	if (opts->dry_run)
		return cs_stage_check(opts, bytes, err);
	if ((rc = cs_stage_open(opts, seq, bytes, st, err)) != CS_OK)
		return rc;
	(*st)->root_plain = opts->layout == CS_LAYOUT_DOCKER;
	return cs_layout_add_prelude(L, *st, err);
}

static void fill_counts(struct cs_restore_result *res, const struct selection *s)
{
	res->entries = s->n_sel;
	res->files = s->files;
	res->bytes = s->bytes;
}

static void progress(const struct cs_restore_opts *opts, uint64_t done, uint64_t total)
{
	if (opts->report.progress)
		opts->report.progress(opts->report.ctx, "restore", done, total);
}

/* ---- backups --------------------------------------------------------------------------- */

int cs_restore_backup(int in_fd, const char *in_name, const struct cs_cred *cred,
		      const struct cs_restore_opts *opts, struct cs_restore_result *res,
		      struct cs_error *err)
{
	int rc;
	struct cs_breader *r = NULL;
	struct cs_stage *st = NULL;
	struct selection s = {0};
	struct cs_layout_ctx L = {0};
	const struct cs_entry *entries = NULL;
	const struct cs_snapshot_info *info = NULL;
	size_t n = 0, k = 0;
	uint64_t done = 0;

	memset(res, 0, sizeof *res);
	if ((rc = check_opts(opts, err)) != CS_OK)
		goto out;
	if ((rc = cs_breader_open(in_fd, in_name, cred, &r, err)) != CS_OK)
		goto out;
	cs_breader_manifest(r, &entries, &n, &info);
	res->info = *info;
	res->seq = info->seq;
	/* The whole manifest, kept or not: a hostile entry anywhere fails the
	 * restore before the first byte is written. */
	if ((rc = cs_entries_validate(entries, n, err)) != CS_OK)
		goto out;
	if ((rc = select_entries(entries, n, opts, "backup", &s, err)) != CS_OK)
		goto out;
	fill_counts(res, &s);
	if ((rc = owners_check(opts, &s, info, err)) != CS_OK)
		goto out;
	if ((rc = cs_layout_begin(&L, opts, info, s.sel, s.n_sel, err)) != CS_OK)
		goto out;
	/* A dry run makes the same checks in the same order, the refusals first,
	 * then every member, and writes nothing. */
	if ((rc = stage_begin(opts, info->seq, s.bytes, &L, &st, err)) != CS_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct cs_entry *e = &entries[i];
		if ((rc = cs_breader_next(r, i, err)) != CS_OK)
			goto out;
		if (s.keep[i])
			rc = cs_layout_add(&L, st, k++, cs_breader_read, r, err);
		else
			rc = cs_content_drain(cs_breader_read, r, e, err);
		if (rc != CS_OK)
			goto out;
		if (e->type == CS_ENTRY_FILE && s.keep[i]) {
			done += e->size;
			progress(opts, done, s.bytes);
		}
	}
	if ((rc = cs_breader_finish(r, err)) != CS_OK)
		goto out;
	if ((rc = cs_layout_finish(&L, st, err)) != CS_OK)
		goto out;
	cs_layout_result(&L, res);
	if (opts->dry_run)
		dry_run_plan(opts, &L);
	else
		rc = commit(&st, opts, &L, res, err);
out:
	cs_stage_abort(st);
	cs_layout_free(&L);
	selection_free(&s);
	cs_breader_free(r);
	return rc;
}

/* ---- vault snapshots ---------------------------------------------------------------------- */

struct snap_list {
	struct cs_entry *e;
	struct cs_chunk_ref **chunks;
	size_t *n_chunks;
	size_t n, cap;
	struct cs_error *err;
};

static int collect(void *ctx, const struct cs_ventry *ve)
{
	struct snap_list *l = ctx;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct cs_entry *ne = realloc(l->e, nc * sizeof *ne);
		if (ne)
			l->e = ne;
		struct cs_chunk_ref **nch = realloc(l->chunks, nc * sizeof *nch);
		if (nch)
			l->chunks = nch;
		size_t *nn = realloc(l->n_chunks, nc * sizeof *nn);
		if (nn)
			l->n_chunks = nn;
		if (!ne || !nch || !nn)
			return cs_err_set(l->err, CS_ERR_NOMEM, ve->e.path, "out of memory");
		l->cap = nc;
	}
	struct cs_chunk_ref *refs = NULL;
	if (ve->n_chunks) {
		if (!(refs = malloc(ve->n_chunks * sizeof *refs)))
			return cs_err_set(l->err, CS_ERR_NOMEM, ve->e.path, "out of memory");
		memcpy(refs, ve->chunks, ve->n_chunks * sizeof *refs);
	}
	int rc = cs_entry_copy(&l->e[l->n], &ve->e, l->err);
	if (rc != CS_OK) {
		free(refs);
		return rc;
	}
	l->chunks[l->n] = refs;
	l->n_chunks[l->n] = ve->n_chunks;
	l->n++;
	return CS_OK;
}

static void snap_list_free(struct snap_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		cs_entry_free(&l->e[i]);
		free(l->chunks[i]);
	}
	free(l->e);
	free(l->chunks);
	free(l->n_chunks);
}

/* Content of one entry, chunk by chunk, decrypted and verified in the read txn. */
struct chunk_reader {
	struct cs_vault *v;
	MDB_txn *txn;
	const char *path;
	const struct cs_chunk_ref *refs;
	size_t n, next;
	unsigned char *buf;  /* CS_CHUNK_MAX */
	size_t have, pos;
};

static int chunk_read(void *ctx, void *out, size_t cap, size_t *got, struct cs_error *err)
{
	struct chunk_reader *cr = ctx;
	*got = 0;
	if (cr->pos == cr->have) {
		if (cr->next == cr->n)
			return CS_OK;
		const struct cs_chunk_ref *ref = &cr->refs[cr->next++];
		if (ref->len > CS_CHUNK_MAX)
			return cs_err_set(err, CS_ERR_CORRUPT, cr->path, "chunk too large");
		int rc = cs_chunk_read(cr->v, cr->txn, ref, cr->buf, err);
		if (rc != CS_OK) {
			if (!err->path[0])
				snprintf(err->path, sizeof err->path, "%s", cr->path);
			return rc;
		}
		cr->have = ref->len;
		cr->pos = 0;
	}
	size_t n = cr->have - cr->pos < cap ? cr->have - cr->pos : cap;
	memcpy(out, cr->buf + cr->pos, n);
	cr->pos += n;
	*got = n;
	return CS_OK;
}

/* Is a the same as b or below it (both absolute and normalised)? */
static bool path_inside(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (n == 1 && b[0] == '/')
		return true;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* A restore from the vault must neither swap the vault out of the way (and
 * delete it with --no-keep) nor write into it: the target and the vault dir
 * must not contain each other, as for a snapshot's state dir. */
static int check_vault_apart(const struct cs_vault *v, const char *target, struct cs_error *err)
{
	char vabs[PATH_MAX], tabs[PATH_MAX];
	struct cs_error ignore;
	if (!realpath(v->dir, vabs))
		return cs_err_sys(err, v->dir, "resolving the vault dir");
	/* A target that cannot be resolved is refused by cs_stage_open, with the
	 * reason. */
	if (cs_path_absolute(target, tabs, &ignore) != CS_OK)
		return CS_OK;
	if (path_inside(vabs, tabs) || path_inside(tabs, vabs))
		return cs_err_set(err, CS_ERR_USAGE, tabs,
				  "the target and the vault (%s) must not contain each other", vabs);
	return CS_OK;
}

int cs_restore_snapshot(struct cs_vault *v, uint64_t seq, const struct cs_restore_opts *opts,
			struct cs_restore_result *res, struct cs_error *err)
{
	return cs_restore_snapshot_as(v, seq, seq, opts, res, err);
}

int cs_restore_snapshot_as(struct cs_vault *v, uint64_t seq, uint64_t old_seq,
			   const struct cs_restore_opts *opts, struct cs_restore_result *res,
			   struct cs_error *err)
{
	int rc;
	MDB_txn *txn = NULL;
	struct cs_stage *st = NULL;
	struct cs_layout_ctx L = {0};
	size_t k = 0;
	struct selection s = {0};
	struct snap_list l = {.err = err};
	struct cs_vsnap snap;
	struct chunk_reader cr = {0};
	uint64_t done = 0;

	memset(res, 0, sizeof *res);
	if ((rc = check_opts(opts, err)) != CS_OK)
		goto out;
	if (!v->master) {
		rc = cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked");
		goto out;
	}
	if ((rc = check_vault_apart(v, opts->target, err)) != CS_OK)
		goto out;
	/* One read txn for the whole restore: every chunk comes from the same
	 * consistent vault state as the entry list. */
	if ((rc = cs_txn_begin(v, false, &txn, err)) != CS_OK)
		goto out;
	if ((rc = cs_vsnap_load(v, txn, seq, &snap, err)) != CS_OK)
		goto out;
	res->info = snap.info;
	res->seq = seq;
	if ((rc = cs_ventry_foreach(v, txn, seq, collect, &l, err)) != CS_OK)
		goto out;
	/* Vault records are authenticated, but a restore trusts no input. */
	if ((rc = cs_entries_validate(l.e, l.n, err)) != CS_OK)
		goto out;
	if ((rc = select_entries(l.e, l.n, opts, "snapshot", &s, err)) != CS_OK)
		goto out;
	fill_counts(res, &s);
	if ((rc = owners_check(opts, &s, &snap.info, err)) != CS_OK)
		goto out;
	if ((rc = cs_layout_begin(&L, opts, &snap.info, s.sel, s.n_sel, err)) != CS_OK)
		goto out;
	if (!(cr.buf = malloc(CS_CHUNK_MAX))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	/* A dry run reads and checks every chunk a real run would, writing nothing. */
	if ((rc = stage_begin(opts, old_seq, s.bytes, &L, &st, err)) != CS_OK)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		if (!s.keep[i])
			continue;
		cr.v = v;
		cr.txn = txn;
		cr.path = l.e[i].path;
		cr.refs = l.chunks[i];
		cr.n = l.n_chunks[i];
		cr.next = cr.have = cr.pos = 0;
		if ((rc = cs_layout_add(&L, st, k++, chunk_read, &cr, err)) != CS_OK)
			goto out;
		if (l.e[i].type == CS_ENTRY_FILE) {
			done += l.e[i].size;
			progress(opts, done, s.bytes);
		}
	}
	if ((rc = cs_layout_finish(&L, st, err)) != CS_OK)
		goto out;
	cs_layout_result(&L, res);
	if (opts->dry_run)
		dry_run_plan(opts, &L);
	else
		rc = commit(&st, opts, &L, res, err);
out:
	cs_stage_abort(st);
	cs_layout_free(&L);
	if (txn)
		mdb_txn_abort(txn);
	free(cr.buf);
	selection_free(&s);
	snap_list_free(&l);
	return rc;
}
