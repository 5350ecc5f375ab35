/* snapshot.c - take a snapshot: walk the state dir (a docker layout's volumes grafted into
 * it), reuse unchanged files from the previous snapshot, read the rest into chunks, and
 * commit the entries with the record last. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_ENTRIES 1000
#define BATCH_BYTES (4u << 20)

struct pending {
	unsigned char *rec;
	size_t len;
};

struct hardlink {
	uint64_t dev, ino;
	char *path; /* first name seen in this walk; NULL = free slot */
};

struct snap {
	struct cs_vault *v;
	const struct cs_snapshot_opts *opts;
	struct cs_snapshot_result *res;
	struct cs_error *err;
	uint64_t seq;
	char state_abs[PATH_MAX];
	char vault_abs[PATH_MAX];
	/* docker layout: the workspace and media volumes, walked as workspace/ and media/ */
	char graft_abs[2][PATH_MAX];
	struct cs_walk_graft grafts[2];
	size_t n_grafts;
	struct cs_snapshot_info info;
	uint64_t dk_id;
	struct cs_chunk_writer *cw;
	/* the previous snapshot, merge-joined in walk order */
	bool have_prev;
	struct cs_vsnap prev;
	struct cs_ventry_iter *prev_it;
	const struct cs_ventry *prev_cur;
	bool prev_started;
	/* entries sealed but not yet committed */
	struct pending *batch;
	size_t n_batch, batch_bytes;
	bool wrote_entries;         /* a batch of this seq is committed */
	struct cs_vsnap final;      /* the record, on the last batch */
	unsigned char *final_rec;
	size_t final_len;
	uint64_t bytes;
	unsigned char *buf;         /* CS_SOURCE_BUF bytes of file content */
	struct cs_source src;       /* what reading a file needs, set up by snap_prepare */
	struct hardlink *links;
	size_t links_cap, links_n;
	char **dbs;                 /* relative paths of databases stored */
	size_t n_dbs, cap_dbs;
	char first_skipped[4096];
};

/* ---- reporting ---- */

static void snap_warn(void *ctx, const char *path, const char *reason)
{
	struct snap *s = ctx;
	if (s->res->skipped++ == 0)
		snprintf(s->first_skipped, sizeof(s->first_skipped), "%s", path);
	if (s->opts->report.warn)
		s->opts->report.warn(s->opts->report.ctx, path, reason);
}

static void warn_errno(struct snap *s, const char *path, const char *what, int e)
{
	cs_warn_errno(snap_warn, s, path, what, e);
}

/* ---- databases and their -wal/-shm/-journal ---- */

/* The -wal/-shm/-journal of a database stored through the backup API: its content is
 * inside the capture already. */
static bool db_sibling(const struct snap *s, const char *path)
{
	size_t n = strlen(path), k = cs_sqlite_side_suffix(path);
	if (k == 0 || n <= k)
		return false;
	for (size_t j = 0; j < s->n_dbs; j++)
		if (strlen(s->dbs[j]) == n - k && !memcmp(s->dbs[j], path, n - k))
			return true;
	return false;
}

static int remember_db(struct snap *s, const char *path)
{
	if (s->n_dbs == s->cap_dbs) {
		size_t cap = s->cap_dbs ? s->cap_dbs * 2 : 8;
		char **n = realloc(s->dbs, cap * sizeof(*n));
		if (!n)
			return cs_err_set(s->err, CS_ERR_NOMEM, path, "out of memory");
		s->dbs = n;
		s->cap_dbs = cap;
	}
	if (!(s->dbs[s->n_dbs] = strdup(path)))
		return cs_err_set(s->err, CS_ERR_NOMEM, path, "out of memory");
	s->n_dbs++;
	return CS_OK;
}

/* ---- hardlink groups: dev:ino -> first path ---- */

static size_t link_slot(const struct snap *s, uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ULL) ^ (ino * 0xc2b2ae3d27d4eb4fULL);
	size_t i = (size_t)(h ^ (h >> 29)) & (s->links_cap - 1);
	while (s->links[i].path && (s->links[i].dev != dev || s->links[i].ino != ino))
		i = (i + 1) & (s->links_cap - 1);
	return i;
}

static const char *link_find(const struct snap *s, uint64_t dev, uint64_t ino)
{
	if (!s->links_cap)
		return NULL;
	return s->links[link_slot(s, dev, ino)].path;
}

static int link_add(struct snap *s, uint64_t dev, uint64_t ino, const char *path)
{
	if (2 * (s->links_n + 1) > s->links_cap) {
		size_t cap = s->links_cap ? s->links_cap * 2 : 64;
		struct hardlink *old = s->links;
		size_t old_cap = s->links_cap;
		s->links = calloc(cap, sizeof(*s->links));
		if (!s->links) {
			s->links = old;
			return cs_err_set(s->err, CS_ERR_NOMEM, path, "out of memory");
		}
		s->links_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].path)
				s->links[link_slot(s, old[i].dev, old[i].ino)] = old[i];
		free(old);
	}
	size_t i = link_slot(s, dev, ino);
	if (!(s->links[i].path = strdup(path)))
		return cs_err_set(s->err, CS_ERR_NOMEM, path, "out of memory");
	s->links[i].dev = dev;
	s->links[i].ino = ino;
	s->links_n++;
	return CS_OK;
}

/* ---- committing entries ---- */

static void entry_key(unsigned char k[16], uint64_t seq, uint64_t index)
{
	cs_be64(k, seq);
	cs_be64(k + 8, index);
}

/* Delete entries of seq left by a run that crashed before its record committed. */
static int delete_seq_entries(struct cs_vault *v, MDB_txn *txn, uint64_t seq,
			      struct cs_error *err)
{
	MDB_cursor *cur = NULL;
	unsigned char k[16];
	MDB_val key = {16, k}, val;
	int rc = CS_OK, mrc;
	if ((mrc = mdb_cursor_open(txn, v->db_entries, &cur)) != 0)
		return cs_err_mdb(err, mrc, "opening an entry cursor");
	entry_key(k, seq, 0);
	mrc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (mrc == 0 && key.mv_size >= 8 && cs_rd64(key.mv_data) == seq) {
		if ((mrc = mdb_cursor_del(cur, 0)) != 0)
			break;
		mrc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
		if (mrc == MDB_NOTFOUND || mrc == EINVAL)
			break; /* deleted the last key of the database */
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND && mrc != EINVAL)
		rc = cs_err_mdb(err, mrc, "deleting leftover entries");
	mdb_cursor_close(cur);
	return rc;
}

static int write_batch(struct cs_vault *v, MDB_txn *txn, void *ctx, struct cs_error *err)
{
	struct snap *s = ctx;
	unsigned char k[16];
	int rc;
	if (!s->wrote_entries && (rc = delete_seq_entries(v, txn, s->seq, err)) != CS_OK)
		return rc;
	uint64_t first = s->res->entries - s->n_batch;
	for (size_t i = 0; i < s->n_batch; i++) {
		entry_key(k, s->seq, first + i);
		rc = cs_db_put(txn, v->db_entries, k, 16, s->batch[i].rec, s->batch[i].len, 0, err);
		if (rc != CS_OK)
			return rc;
	}
	if (s->final_rec) {
		cs_be64(k, s->seq);
		rc = cs_db_put(txn, v->db_snapshots, k, 8, s->final_rec, s->final_len,
			       MDB_NOOVERWRITE, err);
		if (rc != CS_OK)
			return rc;
	}
	return CS_OK;
}

static void clear_batch(struct snap *s)
{
	for (size_t i = 0; i < s->n_batch; i++)
		free(s->batch[i].rec);
	s->n_batch = 0;
	s->batch_bytes = 0;
}

static int flush_batch(struct snap *s)
{
	int rc = cs_store_write(s->v, write_batch, s, s->err);
	if (rc == CS_OK) {
		s->wrote_entries = true;
		clear_batch(s);
	}
	return rc;
}

/* Seal ve as the next entry; commit a batch when it is big enough. */
static int add_entry(struct snap *s, const struct cs_ventry *ve)
{
	int rc;
	if (s->res->entries >= CS_CAP_ENTRIES) {
		snap_warn(s, ve->e.path, "more than 10^7 entries, not stored");
		return CS_OK;
	}
	struct pending *p = &s->batch[s->n_batch];
	if ((rc = cs_ventry_seal(s->v, s->seq, s->res->entries, ve, &p->rec, &p->len, s->err)))
		return rc;
	s->n_batch++;
	s->batch_bytes += p->len;
	s->res->entries++;
	if (ve->e.type == CS_ENTRY_FILE) {
		s->res->files++;
		s->bytes += ve->e.size;
	}
	if (s->n_batch >= BATCH_ENTRIES || s->batch_bytes >= BATCH_BYTES)
		return flush_batch(s);
	return CS_OK;
}

/* ---- entry metadata ---- */

static void fill_stat(struct cs_ventry *ve, const struct stat *st)
{
	ve->e.mode = st->st_mode & 07777;
	ve->e.uid = st->st_uid;
	ve->e.gid = st->st_gid;
	ve->e.mtime_sec = st->st_mtim.tv_sec;
	ve->e.mtime_nsec = (int32_t)st->st_mtim.tv_nsec;
	ve->dev = st->st_dev;
	ve->ino = st->st_ino;
	ve->nlink = st->st_nlink;
	ve->ctime_sec = st->st_ctim.tv_sec;
	ve->ctime_nsec = (int32_t)st->st_ctim.tv_nsec;
	if (S_ISREG(st->st_mode))
		ve->st_size = (uint64_t)st->st_size;
}

/* ---- reuse from the previous snapshot ---- */

/* The previous snapshot's entry at path, if any (both walks are in cs_path_cmp order). */
static int prev_lookup(struct snap *s, const char *path, const struct cs_ventry **pv)
{
	int rc;
	*pv = NULL;
	if (!s->have_prev)
		return CS_OK;
	if (!s->prev_started) {
		s->prev_started = true;
		if ((rc = cs_ventry_iter_next(s->prev_it, &s->prev_cur, s->err)) != CS_OK)
			return rc;
	}
	while (s->prev_cur && cs_path_cmp(s->prev_cur->e.path, path) < 0)
		if ((rc = cs_ventry_iter_next(s->prev_it, &s->prev_cur, s->err)) != CS_OK)
			return rc;
	if (s->prev_cur && cs_path_cmp(s->prev_cur->e.path, path) == 0)
		*pv = s->prev_cur;
	return CS_OK;
}

/* ctime older than the previous snapshot's start minus one second: a write in the same
 * mtime tick as an earlier one cannot hide behind an unchanged stat. */
static bool settled(const struct snap *s, time_t sec, long nsec)
{
	int64_t lim = s->prev.info.started_sec - 1;
	return sec < lim || (sec == lim && nsec < s->prev.info.started_nsec);
}

static bool can_reuse(const struct snap *s, const struct cs_ventry *pv,
		      const struct cs_walk_item *it)
{
	const struct stat *st = &it->st;
	/* The EACCES seam is about opening: let it reach files that would be reused (a real
	 * chmod changes the ctime and forces the open the same way). */
	if (cs_test_eacces(it->path))
		return false;
	if (pv->e.type != CS_ENTRY_FILE || pv->dev != (uint64_t)st->st_dev ||
	    pv->ino != (uint64_t)st->st_ino || pv->st_size != (uint64_t)st->st_size ||
	    pv->e.mtime_sec != st->st_mtim.tv_sec || pv->e.mtime_nsec != st->st_mtim.tv_nsec ||
	    pv->ctime_sec != st->st_ctim.tv_sec || pv->ctime_nsec != st->st_ctim.tv_nsec ||
	    !settled(s, st->st_ctim.tv_sec, st->st_ctim.tv_nsec))
		return false;
	if (pv->e.is_sqlite) {
		/* Commits may sit in the -wal with the main file untouched. */
		char wal[CS_CAP_NAME + 8];
		struct stat ws;
		snprintf(wal, sizeof(wal), "%s-wal", it->name);
		if (fstatat(it->parent_fd, wal, &ws, AT_SYMLINK_NOFOLLOW) == 0 && ws.st_size > 0 &&
		    !settled(s, ws.st_ctim.tv_sec, ws.st_ctim.tv_nsec))
			return false;
	}
	return true;
}

static int reuse(struct snap *s, const struct cs_ventry *pv, const struct cs_walk_item *it,
		 struct cs_ventry *ve)
{
	int rc;
	if ((rc = cs_entry_copy(&ve->e, &pv->e, s->err)) != CS_OK)
		return rc;
	if (pv->n_chunks) {
		ve->chunks = malloc(pv->n_chunks * sizeof(*ve->chunks));
		if (!ve->chunks)
			return cs_err_set(s->err, CS_ERR_NOMEM, it->path, "out of memory");
		memcpy(ve->chunks, pv->chunks, pv->n_chunks * sizeof(*ve->chunks));
		ve->n_chunks = pv->n_chunks;
	}
	free(ve->e.path);
	ve->e.path = NULL;
	fill_stat(ve, &it->st);
	if (pv->e.is_sqlite && (rc = remember_db(s, it->path)) != CS_OK)
		return rc;
	return CS_OK;
}

/* ---- one walk entry ---- */

static int do_file(struct snap *s, const struct cs_walk_item *it, struct cs_ventry *ve,
		   bool *record)
{
	const struct cs_ventry *pv = NULL;
	const char *first;
	enum cs_source_outcome got;
	struct stat st;
	int rc;
	if (it->st.st_nlink > 1 && (first = link_find(s, it->st.st_dev, it->st.st_ino))) {
		ve->e.type = CS_ENTRY_HARDLINK;
		if (!(ve->e.target = strdup(first)))
			return cs_err_set(s->err, CS_ERR_NOMEM, it->path, "out of memory");
		fill_stat(ve, &it->st);
		ve->st_size = 0;
		*record = true;
		return CS_OK;
	}
	if ((rc = prev_lookup(s, it->path, &pv)) != CS_OK)
		return rc;
	ve->e.type = CS_ENTRY_FILE;
	if (pv && can_reuse(s, pv, it)) {
		if ((rc = reuse(s, pv, it, ve)) != CS_OK)
			return rc;
		s->res->files_reused++;
	} else {
		rc = cs_source_read_file(&s->src, it, ve, &st, &got);
		if (rc != CS_OK || got != CS_SOURCE_GOT)
			return rc;
		fill_stat(ve, &st);
		if (ve->e.is_sqlite && (rc = remember_db(s, it->path)) != CS_OK)
			return rc;
		s->res->files_read++;
	}
	if (ve->nlink > 1 && (rc = link_add(s, ve->dev, ve->ino, it->path)) != CS_OK)
		return rc;
	*record = true;
	return CS_OK;
}

static int do_symlink(struct snap *s, const struct cs_walk_item *it, struct cs_ventry *ve,
		      bool *record)
{
	char buf[CS_CAP_PATH + 2];
	char lpath[PATH_MAX + CS_CAP_PATH + 2];
	ssize_t n = readlinkat(it->parent_fd, it->name, buf, sizeof(buf));
	if (n < 0) {
		if (errno != ENOENT)
			warn_errno(s, it->path, "cannot read symlink", errno);
		return CS_OK;
	}
	if (n == 0 || (size_t)n > CS_CAP_PATH) {
		snap_warn(s, it->path, "symlink target longer than 4095 bytes, not stored");
		return CS_OK;
	}
	buf[n] = '\0';
	ve->e.type = CS_ENTRY_SYMLINK;
	if (!(ve->e.target = strdup(buf)))
		return cs_err_set(s->err, CS_ERR_NOMEM, it->path, "out of memory");
	fill_stat(ve, &it->st);
	if (cs_walk_abs_path(it, s->state_abs, lpath, sizeof(lpath)) < 0)
		return cs_err_set(s->err, CS_ERR_IO, it->path, "absolute path too long");
	*record = true;
	return cs_xattrs_read(-1, lpath, it->path, &ve->e, snap_warn, s, s->err);
}

static int on_item(void *ctx, const struct cs_walk_item *it, bool *descend, struct cs_error *err)
{
	struct snap *s = ctx;
	struct cs_ventry ve;
	bool record = false, is_dir = S_ISDIR(it->st.st_mode);
	int rc = CS_OK;
	memset(&ve, 0, sizeof(ve));
	*descend = false;
	if (cs_walk_skipped(it) ||
	    cs_walk_excluded(s->opts->excludes, s->opts->n_excludes, it->path, is_dir) ||
	    (S_ISREG(it->st.st_mode) && db_sibling(s, it->path)))
		return CS_OK;
	if (it->is_mount) {
		snap_warn(s, it->path, "mount point, not crossed");
		return CS_OK;
	}
	if (is_dir) {
		ve.e.type = CS_ENTRY_DIR;
		fill_stat(&ve, &it->st);
		record = true;
		if (it->fd < 0)
			warn_errno(s, it->path, "cannot read directory, contents not stored",
				   it->open_errno);
		else if ((rc = cs_xattrs_read(it->fd, NULL, it->path, &ve.e, snap_warn, s, err)))
			goto out;
		*descend = true;
	} else if (S_ISLNK(it->st.st_mode)) {
		rc = do_symlink(s, it, &ve, &record);
	} else if (S_ISREG(it->st.st_mode)) {
		rc = do_file(s, it, &ve, &record);
	} else {
		snap_warn(s, it->path, "special file not stored");
	}
	if (rc != CS_OK || !record)
		goto out;
	if (!(ve.e.path = strdup(it->path))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, it->path, "out of memory");
		goto out;
	}
	ve.e.cls = cs_entry_class(it->path, ve.e.is_sqlite);
	rc = add_entry(s, &ve);
out:
	cs_ventry_free(&ve);
	return rc;
}

/* ---- cs_snapshot_create ---- */

/* Is a the same as b or below it (both absolute and normalised)? */
static bool path_inside(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (n == 1 && b[0] == '/')
		return true;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

static int copy_text(char *dst, size_t cap, const char *src, const char *what,
		     struct cs_error *err)
{
	size_t n = strlen(src);
	if (n >= cap)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "%s longer than %zu bytes", what, cap - 1);
	memcpy(dst, src, n + 1);
	return CS_OK;
}

static int drop_entries(struct cs_vault *v, MDB_txn *txn, void *ctx, struct cs_error *err)
{
	return delete_seq_entries(v, txn, *(uint64_t *)ctx, err);
}

/* Absolute, no empty, "." or ".." component, no trailing '/' (so not "/" either). */
static bool normalised_abs(const char *p)
{
	if (p[0] != '/')
		return false;
	while (*p == '/') {
		const char *c = p + 1;
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		p = c + n;
	}
	return true;
}

/* The layout fields of opts, before anything is opened. */
static int check_layout(const struct cs_snapshot_opts *o, struct cs_error *err)
{
	if (o->layout != CS_LAYOUT_NONE && o->layout != CS_LAYOUT_HOST &&
	    o->layout != CS_LAYOUT_DOCKER)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "unknown layout %d", o->layout);
	if (o->layout != CS_LAYOUT_DOCKER) {
		if (o->workspace_dir || o->media_dir || o->container_home)
			return cs_err_set(err, CS_ERR_USAGE, NULL,
					  "a workspace dir, media dir or container home needs the "
					  "docker layout");
		return CS_OK;
	}
	if (!o->workspace_dir)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "the docker layout needs a workspace dir");
	if (o->container_home && !normalised_abs(o->container_home))
		return cs_err_set(err, CS_ERR_USAGE, o->container_home,
				  "the container home must be an absolute, normalised path");
	return CS_OK;
}

/* Resolve and open one volume of a docker source as the graft name. */
/* The volume replaces the config volume's own entry of that name, which must
 * be what a config volume has there: nothing, an empty mount-point dir, or the
 * volume itself (seen from inside the container).  Anything else would be
 * dropped from the snapshot without a word: a host state given with
 * --workspace, or a workspace copied into the config volume. */
static int own_entry_check(struct snap *s, const char *name, int graft_fd, struct cs_error *err)
{
	char own[PATH_MAX + CS_CAP_NAME + 2];
	struct stat sb, gb;
	bool empty = true;
	snprintf(own, sizeof own, "%s/%s", s->state_abs, name);
	if (lstat(own, &sb) < 0)
		return errno == ENOENT ? CS_OK : cs_err_sys(err, own, "stat");
	if (fstat(graft_fd, &gb) == 0 && sb.st_dev == gb.st_dev && sb.st_ino == gb.st_ino)
		return CS_OK;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(own);
		if (!d)
			return cs_err_sys(err, own, "open directory");
		struct dirent *de;
		while (empty && (de = readdir(d)))
			empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		closedir(d);
		if (empty)
			return CS_OK;
	}
	return cs_err_set(err, CS_ERR_USAGE, own,
			  "%s: the config volume holds its own %s here, which the %s volume "
			  "would hide (a host state? then leave out --%s)",
			  S_ISDIR(sb.st_mode) ? "not empty" : "not a directory", name, name, name);
}

static int open_graft(struct snap *s, const char *name, const char *dir, const char *what,
		      struct cs_error *err)
{
	char *abs = s->graft_abs[s->n_grafts];
	int fd;
	if (!realpath(dir, abs)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return cs_err_set(err, CS_ERR_NOTFOUND, dir, "no such %s", what);
		return cs_err_sys(err, dir, what);
	}
	if ((fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOTDIR)
			return cs_err_set(err, CS_ERR_NOTFOUND, abs, "%s: not a directory", what);
		return cs_err_sys(err, abs, what);
	}
	s->grafts[s->n_grafts++] = (struct cs_walk_graft){.name = name, .fd = fd, .abs = abs};
	return CS_OK;
}

/* No two of the vault, the state dir and the volumes may contain each other, or a walk
 * would read a dir twice or the vault itself.  Inside the container a volume is mounted at
 * its own name in the config volume: that one place is the graft itself, and allowed. */
static int check_apart(struct snap *s, struct cs_error *err)
{
	const char *dirs[4] = {s->vault_abs, s->state_abs};
	const char *names[4] = {"vault", "state dir"};
	const char *graft[4] = {NULL, NULL};
	char own[PATH_MAX + CS_CAP_NAME + 2];
	size_t n = 2;
	for (size_t g = 0; g < s->n_grafts; g++, n++) {
		dirs[n] = s->graft_abs[g];
		names[n] = strcmp(s->grafts[g].name, "media") ? "workspace dir" : "media dir";
		graft[n] = s->grafts[g].name;
	}
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++) {
			if (a == 1 && graft[b] &&
			    snprintf(own, sizeof(own), "%s/%s", s->state_abs, graft[b]) > 0 &&
			    !strcmp(own, dirs[b]))
				continue;
			if (path_inside(dirs[a], dirs[b]) || path_inside(dirs[b], dirs[a]))
				return cs_err_set(err, CS_ERR_USAGE, dirs[b],
						  "the %s (%s) and the %s must not contain each other",
						  names[a], dirs[a], names[b]);
		}
	return CS_OK;
}

/* What the snapshot records of its source: the paths the gateway saw. */
static int source_info(struct snap *s, const struct stat *root, struct cs_error *err)
{
	const struct cs_snapshot_opts *o = s->opts;
	struct cs_snapshot_info *i = &s->info;
	char state[PATH_MAX + 16], parent[PATH_MAX];
	const char *home = o->home, *state_dir = s->state_abs;
	int rc;
	/* OpenClaw keeps its state at <home>/.openclaw: such a dir names its home
	 * itself, whoever runs us ($HOME is /root under sudo). */
	const char *slash = strrchr(s->state_abs, '/');
	if (!home && slash && strcmp(slash + 1, ".openclaw") == 0) {
		size_t n = (size_t)(slash - s->state_abs);
		memcpy(parent, s->state_abs, n ? n : 1);
		parent[n ? n : 1] = '\0';
		home = parent;
	}
	if (!home)
		home = getenv("HOME");
	if (o->layout == CS_LAYOUT_DOCKER) {
		home = o->container_home ? o->container_home : CS_CONTAINER_HOME_DEFAULT;
		snprintf(state, sizeof(state), "%s/.openclaw", home);
		state_dir = state;
	}
	if ((rc = copy_text(i->tag, sizeof(i->tag), o->tag ? o->tag : "", "tag", err)) ||
	    (rc = copy_text(i->home, sizeof(i->home), home ? home : "", "home", err)) ||
	    (rc = copy_text(i->state_dir, sizeof(i->state_dir), state_dir, "state dir", err)))
		return rc;
	snprintf(i->layout, sizeof(i->layout), "%s",
		 o->layout == CS_LAYOUT_DOCKER ? "docker" : "host");
	snprintf(i->tool_version, sizeof(i->tool_version), "%s", CS_VERSION_STRING);
	i->format = CS_BACKUP_FORMAT;
	i->uid = root->st_uid;
	i->gid = root->st_gid;
	i->root_mode = root->st_mode & 07777;
	i->root_mtime_sec = root->st_mtim.tv_sec;
	i->root_mtime_nsec = (int32_t)root->st_mtim.tv_nsec;
	return CS_OK;
}

/* Everything up to the walk: paths, refusals, the previous snapshot, keys, buffers. */
static int snap_prepare(struct snap *s, int *root, struct cs_error *err)
{
	const struct cs_snapshot_opts *o = s->opts;
	struct stat st;
	struct timespec now;
	uint64_t last = 0;
	int rc;
	if ((rc = check_layout(o, err)) != CS_OK)
		return rc;
	if (!realpath(o->state_dir, s->state_abs)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return cs_err_set(err, CS_ERR_NOTFOUND, o->state_dir, "no such state dir");
		return cs_err_sys(err, o->state_dir, "resolving the state dir");
	}
	if (!realpath(s->v->dir, s->vault_abs))
		return cs_err_sys(err, s->v->dir, "resolving the vault dir");
	if (o->layout == CS_LAYOUT_DOCKER &&
	    ((rc = open_graft(s, "workspace", o->workspace_dir, "workspace dir", err)) ||
	     (o->media_dir && (rc = open_graft(s, "media", o->media_dir, "media dir", err)))))
		return rc;
	if ((rc = check_apart(s, err)) != CS_OK)
		return rc;
	for (size_t g = 0; g < s->n_grafts; g++)
		if ((rc = own_entry_check(s, s->grafts[g].name, s->grafts[g].fd, err)) != CS_OK)
			return rc;
	if ((*root = open(s->state_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOTDIR)
			return cs_err_set(err, CS_ERR_NOTFOUND, s->state_abs, "not a directory");
		return cs_err_sys(err, s->state_abs, "opening the state dir");
	}
	if (fstat(*root, &st) < 0)
		return cs_err_sys(err, s->state_abs, "fstat");
	/* Half of an interrupted mount-point swap: neither the old nor the new tree. */
	struct stat jst;
	if (fstatat(*root, ".clawstate-journal", &jst, AT_SYMLINK_NOFOLLOW) == 0)
		return cs_err_set(err, CS_ERR_BUSY, s->state_abs,
				  "an interrupted restore into this dir left its journal; run "
				  "clawstate recover %s first", s->state_abs);

	struct cs_snapshot_info *i = &s->info;
	if ((rc = source_info(s, &st, err)) != CS_OK)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	i->started_sec = now.tv_sec;
	i->started_nsec = (int32_t)now.tv_nsec;

	if ((rc = cs_snapshot_last(s->v, &last, err)) != CS_OK)
		return rc;
	s->seq = i->seq = last + 1;
	if (last) {
		if ((rc = cs_vsnap_read(s->v, last, &s->prev, err)) != CS_OK ||
		    (rc = cs_ventry_iter_open(s->v, last, &s->prev_it, err)) != CS_OK)
			return rc;
		s->have_prev = true;
	}
	s->batch = calloc(BATCH_ENTRIES, sizeof(*s->batch));
	s->buf = malloc(CS_SOURCE_BUF);
	if (!s->batch || !s->buf)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "snapshot buffers: out of memory");
	if ((rc = cs_datakey_create(s->v, &s->dk_id, err)) != CS_OK ||
	    (rc = cs_chunk_writer_new(s->v, s->dk_id, &s->cw, err)) != CS_OK)
		return rc;
	s->src = (struct cs_source){
		.cw = s->cw,
		.buf = s->buf,
		.state_abs = s->state_abs,
		.vault_abs = s->vault_abs,
		.res = s->res,
		.report = &o->report,
		.warn = snap_warn,
		.warn_ctx = s,
		.err = err,
	};
	return CS_OK;
}

static void snap_free(struct snap *s)
{
	clear_batch(s);
	free(s->batch);
	free(s->final_rec);
	free(s->buf);
	cs_chunk_writer_free(s->cw);
	cs_ventry_iter_free(s->prev_it);
	for (size_t i = 0; i < s->links_cap; i++)
		free(s->links[i].path);
	free(s->links);
	for (size_t i = 0; i < s->n_dbs; i++)
		free(s->dbs[i]);
	free(s->dbs);
	for (size_t i = 0; i < s->n_grafts; i++)
		close(s->grafts[i].fd); /* read-only directories */
	free(s);
}

int cs_snapshot_create(struct cs_vault *v, const struct cs_snapshot_opts *opts,
		       struct cs_snapshot_result *res, struct cs_error *err)
{
	struct snap *s = NULL;
	struct timespec now;
	int root = -1, rc;
	bool committed = false;
	memset(res, 0, sizeof(*res));
	if (!v->writable || v->lock_fd < 0)
		return cs_err_set(err, CS_ERR_USAGE, v->dir, "vault not opened for writing");
	if (!v->master)
		return cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked (unlock it first)");
	if (!opts || !opts->state_dir || (opts->n_excludes && !opts->excludes))
		return cs_err_set(err, CS_ERR_USAGE, NULL, "no state dir given");
	if (!(s = calloc(1, sizeof(*s))))
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "snapshot: out of memory");
	s->v = v;
	s->opts = opts;
	s->res = res;
	s->err = err;
	if ((rc = snap_prepare(s, &root, err)) != CS_OK)
		goto out;
	if ((rc = cs_walk_grafts(root, s->grafts, s->n_grafts, on_item, snap_warn, s, err)) !=
	    CS_OK)
		goto out;
	/* Every chunk an entry names is durable before the record that makes it reachable. */
	if ((rc = cs_chunk_writer_flush(s->cw, err)) != CS_OK)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	s->info.finished_sec = now.tv_sec;
	s->info.finished_nsec = (int32_t)now.tv_nsec;
	s->info.entries = res->entries;
	s->info.files = res->files;
	s->info.bytes = s->bytes;
	s->info.partial = res->skipped > 0;
	s->final.info = s->info;
	s->final.dk_id = s->dk_id;
	s->final.n_entries = res->entries;
	if ((rc = cs_vsnap_seal(v, &s->final, &s->final_rec, &s->final_len, err)) != CS_OK)
		goto out;
	if ((rc = flush_batch(s)) != CS_OK)
		goto out;
	committed = true;
	res->seq = s->seq;
	if (res->skipped)
		rc = cs_err_set(err, CS_ERR_PARTIAL, s->first_skipped,
				"%llu entries skipped; snapshot %llu committed as partial",
				(unsigned long long)res->skipped, (unsigned long long)s->seq);
out:
	if (s && !committed && s->wrote_entries) {
		/* Unreachable without a record, but do not leave them for the next run. */
		struct cs_error ignored;
		(void)cs_store_write(v, drop_entries, &s->seq, &ignored);
	}
	if (root >= 0)
		close(root); /* read-only directory */
	if (s)
		snap_free(s);
	return rc;
}
