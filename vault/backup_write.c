/* backup_write.c - write one vault snapshot as a backup file: header, then a
 * pax tar (manifest first, then every entry) through the encrypted stream. */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_TRIES 16

struct bw {
	struct cs_vault *v;
	MDB_txn *txn;
	const struct cs_backup_opts *opts;
	const char *name;          /* output name for messages */
	struct cs_error *err;
	struct archive *a;
	struct cs_bstream_writer *bs;
	int cb_rc;                 /* an error of ours that write_cb hit */
	struct cs_error cb_err;
	unsigned char *chunk;      /* one plaintext chunk (guarded) */
	uint64_t n_entries;
	uint64_t manifest_size;
	uint64_t bytes_total, bytes_done;
	uint64_t manifest_written;
};

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct bw *b = ctx;
	if (b->cb_rc != CS_OK)
		return -1;
	int rc = cs_bstream_write(b->bs, buf, len, &b->cb_err);
	if (rc != CS_OK) {
		b->cb_rc = rc;
		archive_set_error(a, EIO, "%s", b->cb_err.what);
		return -1;
	}
	return (la_ssize_t)len;
}

static int ar_fail(struct bw *b, const char *path, const char *what)
{
	if (b->cb_rc != CS_OK) {
		*b->err = b->cb_err;
		return b->cb_rc;
	}
	const char *why = archive_error_string(b->a);
	return cs_err_set(b->err, CS_ERR_IO, path ? path : b->name, "%s: %s", what,
			  why ? why : "tar error");
}

/* Errors from other modules name no path; name the entry. */
static int at_entry(struct cs_error *err, const char *path, int rc)
{
	if (err && path && !err->path[0])
		snprintf(err->path, sizeof err->path, "%s", path);
	return rc;
}

static int put_data(struct bw *b, const void *buf, size_t len, const char *path)
{
	la_ssize_t n = archive_write_data(b->a, buf, len);
	if (n < 0)
		return ar_fail(b, path, "tar");
	if ((size_t)n != len)
		return cs_err_set(b->err, CS_ERR_IO, path, "tar: short write (%zd of %zu bytes)", n,
				  len);
	return CS_OK;
}

/* ---- the manifest, in two passes: its size goes in the tar header first ---- */

static int size_fn(void *ctx, const struct cs_ventry *ve)
{
	struct bw *b = ctx;
	char *line = NULL;
	size_t len = 0;
	int rc = cs_manifest_entry_line(&ve->e, &line, &len, b->err);
	free(line);
	if (rc != CS_OK)
		return rc;
	b->manifest_size += len;
	b->n_entries++;
	if (ve->e.type == CS_ENTRY_FILE)
		b->bytes_total += ve->e.size;
	if (b->manifest_size > CS_CAP_MANIFEST)
		return cs_err_set(b->err, CS_ERR_UNSUPPORTED, b->name,
				  "the manifest would exceed %llu MiB",
				  (unsigned long long)(CS_CAP_MANIFEST >> 20));
	return CS_OK;
}

static int line_fn(void *ctx, const struct cs_ventry *ve)
{
	struct bw *b = ctx;
	char *line = NULL;
	size_t len = 0;
	int rc = cs_manifest_entry_line(&ve->e, &line, &len, b->err);
	if (rc == CS_OK)
		rc = put_data(b, line, len, CS_MANIFEST_NAME);
	b->manifest_written += len;
	free(line);
	return rc;
}

static int write_manifest(struct bw *b, const struct cs_vsnap *snap)
{
	int rc = CS_OK;
	char *head = NULL;
	size_t hlen = 0;
	struct archive_entry *ae = NULL;

	if ((rc = cs_ventry_foreach(b->v, b->txn, b->opts->seq, size_fn, b, b->err)) != CS_OK)
		goto out;
	if (b->n_entries != snap->n_entries) {
		rc = cs_err_set(b->err, CS_ERR_CORRUPT, NULL,
				"snapshot %llu lists %llu entries, its record says %llu",
				(unsigned long long)b->opts->seq, (unsigned long long)b->n_entries,
				(unsigned long long)snap->n_entries);
		goto out;
	}
	if ((rc = cs_manifest_header_line(&snap->info, b->v->id, b->n_entries, &head, &hlen,
					  b->err)) != CS_OK)
		goto out;
	b->manifest_size += hlen;
	if (!(ae = archive_entry_new())) {
		rc = cs_err_set(b->err, CS_ERR_NOMEM, b->name, "out of memory");
		goto out;
	}
	archive_entry_copy_pathname(ae, CS_MANIFEST_NAME);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0600);
	archive_entry_set_uid(ae, snap->info.uid);
	archive_entry_set_gid(ae, snap->info.gid);
	archive_entry_set_mtime(ae, snap->info.finished_sec, snap->info.finished_nsec);
	archive_entry_set_size(ae, (la_int64_t)b->manifest_size);
	if (archive_write_header(b->a, ae) < ARCHIVE_WARN) {
		rc = ar_fail(b, CS_MANIFEST_NAME, "tar");
		goto out;
	}
	if ((rc = put_data(b, head, hlen, CS_MANIFEST_NAME)) != CS_OK)
		goto out;
	b->manifest_written = hlen;
	if ((rc = cs_ventry_foreach(b->v, b->txn, b->opts->seq, line_fn, b, b->err)) != CS_OK)
		goto out;
	/* One read transaction: the second pass must have produced the same bytes. */
	if (b->manifest_written != b->manifest_size) {
		rc = cs_err_set(b->err, CS_ERR_CORRUPT, CS_MANIFEST_NAME,
				"manifest changed between passes");
		goto out;
	}
	if (archive_write_finish_entry(b->a) < ARCHIVE_WARN)
		rc = ar_fail(b, CS_MANIFEST_NAME, "tar");
out:
	archive_entry_free(ae);
	free(head);
	return rc;
}

/* ---- members ---- */

static int write_content(struct bw *b, const struct cs_ventry *ve)
{
	int rc;
	const struct cs_entry *e = &ve->e;
	cs_hash_state hs;
	unsigned char h[CS_HASH_BYTES];
	uint64_t total = 0;

	cs_hash_init(&hs);
	for (size_t k = 0; k < ve->n_chunks; k++) {
		const struct cs_chunk_ref *ref = &ve->chunks[k];
		if (ref->len > CS_CHUNK_MAX || total + ref->len > e->size)
			return cs_err_set(b->err, CS_ERR_CORRUPT, e->path,
					  "chunk list longer than the file's %llu bytes",
					  (unsigned long long)e->size);
		if ((rc = cs_chunk_read(b->v, b->txn, ref, b->chunk, b->err)) != CS_OK)
			return at_entry(b->err, e->path, rc);
		cs_hash_update(&hs, b->chunk, ref->len);
		if ((rc = put_data(b, b->chunk, ref->len, e->path)) != CS_OK)
			return rc;
		total += ref->len;
		b->bytes_done += ref->len;
		if (b->opts->report.progress)
			b->opts->report.progress(b->opts->report.ctx, "backup", b->bytes_done,
						 b->bytes_total);
	}
	/* libarchive would pad a short member with zeros: never let that pass. */
	if (total != e->size)
		return cs_err_set(b->err, CS_ERR_CORRUPT, e->path,
				  "chunks hold %llu bytes, the entry says %llu",
				  (unsigned long long)total, (unsigned long long)e->size);
	cs_hash_final(&hs, h);
	if (sodium_memcmp(h, e->hash, CS_HASH_BYTES) != 0)
		return cs_err_set(b->err, CS_ERR_CORRUPT, e->path,
				  "content hash mismatch in the vault");
	return CS_OK;
}

static int member_fn(void *ctx, const struct cs_ventry *ve)
{
	struct bw *b = ctx;
	const struct cs_entry *e = &ve->e;
	int rc = CS_OK;
	struct archive_entry *ae = archive_entry_new();
	if (!ae)
		return cs_err_set(b->err, CS_ERR_NOMEM, e->path, "out of memory");
	archive_entry_copy_pathname(ae, e->path);
	archive_entry_set_perm(ae, e->mode & 07777);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, e->mtime_sec, e->mtime_nsec);
	switch (e->type) {
	case CS_ENTRY_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)e->size);
		break;
	case CS_ENTRY_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_size(ae, 0);
		break;
	case CS_ENTRY_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_copy_symlink(ae, e->target);
		archive_entry_set_size(ae, 0);
		break;
	case CS_ENTRY_HARDLINK:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_copy_hardlink(ae, e->target);
		archive_entry_set_size(ae, 0);
		break;
	default:
		rc = cs_err_set(b->err, CS_ERR_CORRUPT, e->path, "unknown entry type %d", e->type);
		goto out;
	}
	for (size_t i = 0; i < e->n_xattrs; i++)
		archive_entry_xattr_add_entry(ae, e->xattrs[i].name, e->xattrs[i].value,
					      e->xattrs[i].len);
	/* ARCHIVE_WARN is a name it could not convert; hdrcharset=BINARY keeps
	 * the bytes as they are. */
	if (archive_write_header(b->a, ae) < ARCHIVE_WARN) {
		rc = ar_fail(b, e->path, "tar");
		goto out;
	}
	if (e->type == CS_ENTRY_FILE && (rc = write_content(b, ve)) != CS_OK)
		goto out;
	if (archive_write_finish_entry(b->a) < ARCHIVE_WARN)
		rc = ar_fail(b, e->path, "tar");
out:
	archive_entry_free(ae);
	return rc;
}

/* ---- header ---- */

static int load_slots(struct cs_vault *v, MDB_txn *txn, struct cs_bheader *h,
		      struct cs_error *err)
{
	int rc = CS_OK, mrc;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	if ((mrc = mdb_cursor_open(txn, v->db_keyslots, &cur)) != 0)
		return cs_err_mdb(err, mrc, "opening the key slots");
	h->n_slots = 0;
	for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (h->n_slots == CS_BHEADER_MAX_SLOTS) {
			rc = cs_err_set(err, CS_ERR_UNSUPPORTED, v->dir,
					"more than %d key slots do not fit a backup header",
					CS_BHEADER_MAX_SLOTS);
			goto out;
		}
		if ((rc = cs_slot_decode(d.mv_data, d.mv_size, &h->slots[h->n_slots], err)) !=
		    CS_OK)
			goto out;
		h->n_slots++;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = cs_err_mdb(err, mrc, "reading the key slots");
		goto out;
	}
	if (h->n_slots == 0)
		rc = cs_err_set(err, CS_ERR_CORRUPT, v->dir, "the vault has no key slots");
out:
	mdb_cursor_close(cur);
	return rc;
}

/* ---- output file ---- */

#define TMP_TAG ".clawstate-tmp-"
#define TMP_RND 6

/* Is name ".<base>.clawstate-tmp-XXXXXX" (make_temp's pattern)? */
static bool is_temp_of(const char *name, const char *base)
{
	size_t bl = strlen(base), tl = sizeof TMP_TAG - 1;
	if (strlen(name) != 1 + bl + tl + TMP_RND || name[0] != '.' ||
	    memcmp(name + 1, base, bl) != 0 || memcmp(name + 1 + bl, TMP_TAG, tl) != 0)
		return false;
	for (const char *c = name + 1 + bl + tl; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			return false;
	return true;
}

struct temp_names {
	const char *base;
	char **names;
	size_t n, cap;
};

static int collect_temp(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	struct temp_names *c = ctx;
	if (!is_temp_of(name, c->base))
		return CS_OK;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 8;
		char **nn = realloc(c->names, nc * sizeof *nn);
		if (!nn)
			return cs_err_set(err, CS_ERR_NOMEM, c->base, "out of memory");
		c->names = nn;
		c->cap = nc;
	}
	if (!(c->names[c->n] = strdup(name)))
		return cs_err_set(err, CS_ERR_NOMEM, c->base, "out of memory");
	c->n++;
	return CS_OK;
}

/*
 * Remove the temp files an interrupted backup to the same name left behind.  A
 * writer holds an flock on its temp file until the file is renamed, so a temp
 * whose flock we can take belongs to a writer that died.  Only regular files
 * of exactly the pattern are touched; anything we cannot open or lock is left.
 */
static void clean_stale_temps(int dfd, const char *base)
{
	struct temp_names c = {base, NULL, 0, 0};
	/* Collect first: unlinking while reading the directory may skip entries.
	 * Best effort: a failed listing still cleans what it collected. */
	(void)cs_dir_foreach(dfd, base, NULL, collect_temp, &c, NULL);
	for (size_t i = 0; i < c.n; i++) {
		struct stat st;
		int fd = openat(dfd, c.names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0)
			(void)unlinkat(dfd, c.names[i], 0);
		if (fd >= 0)
			close(fd); /* read-only; releases the flock */
		free(c.names[i]);
	}
	free(c.names);
}

static int make_temp(int dfd, const char *base, const char *path, char *tmp, size_t tmpsz,
		     int *fd_out, struct cs_error *err)
{
	static const char alnum[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	for (int t = 0; t < TMP_TRIES; t++) {
		char rnd[TMP_RND + 1];
		for (int i = 0; i < TMP_RND; i++)
			rnd[i] = alnum[randombytes_uniform(sizeof alnum - 1)];
		rnd[TMP_RND] = '\0';
		int n = snprintf(tmp, tmpsz, ".%s" TMP_TAG "%s", base, rnd);
		if (n < 0 || (size_t)n >= tmpsz || n > NAME_MAX)
			return cs_err_set(err, CS_ERR_USAGE, path, "file name too long");
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*fd_out = fd;
			/* Held until the rename: clean_stale_temps leaves a live writer's
			 * temp alone. */
			if (flock(fd, LOCK_EX | LOCK_NB) < 0)
				return cs_err_sys(err, path, "flock temporary file");
			/* The umask must not leave it 0400 or loosen nothing; set it exactly. */
			if (fchmod(fd, 0600) < 0)
				return cs_err_sys(err, path, "fchmod");
			return CS_OK;
		}
		if (errno != EEXIST)
			return cs_err_sys(err, path, "create temporary file");
	}
	errno = EEXIST;
	return cs_err_sys(err, path, "create temporary file");
}

/* RENAME_NOREPLACE, or link+unlink where the filesystem lacks it: either way an
 * existing file is never replaced. */
static int publish(int dfd, const char *tmp, const char *base, bool force, const char *path,
		   struct cs_error *err)
{
	cs_test_point("rename");
	if (force) {
		if (renameat(dfd, tmp, dfd, base) < 0)
			return cs_err_sys(err, path, "rename");
		return CS_OK;
	}
	if (renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE) == 0)
		return CS_OK;
	if (errno == EINVAL || errno == ENOSYS) {
		if (linkat(dfd, tmp, dfd, base, 0) == 0) {
			if (unlinkat(dfd, tmp, 0) < 0)
				return cs_err_sys(err, path, "unlink temporary file");
			return CS_OK;
		}
	}
	if (errno == EEXIST)
		return cs_err_set(err, CS_ERR_EXISTS, path, "exists (use --force to replace it)");
	return cs_err_sys(err, path, "rename");
}

int cs_backup_write(struct cs_vault *v, const struct cs_backup_opts *opts,
		    struct cs_backup_result *res, struct cs_error *err)
{
	int rc = CS_OK;
	struct bw b;
	struct cs_vsnap snap;
	struct cs_bheader *h = NULL;
	unsigned char *fk = NULL;
	char dir[PATH_MAX], base[PATH_MAX], tmp[NAME_MAX + 1];
	int dfd = -1, fd = -1;
	bool tmp_made = false;

	memset(&b, 0, sizeof b);
	memset(res, 0, sizeof *res);
	b.v = v;
	b.opts = opts;
	b.err = err;
	b.name = opts->out_path ? opts->out_path : "-";
	if (!v->master)
		return cs_err_set(err, CS_ERR_KEY, v->dir, "vault is locked (unlock it first)");
	if (!(h = calloc(1, sizeof *h)) || !(fk = cs_secret_alloc(CS_KEY_BYTES)) ||
	    !(b.chunk = cs_secret_alloc(CS_CHUNK_MAX))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, b.name, "out of memory");
		goto out;
	}
	if ((rc = cs_txn_begin(v, false, &b.txn, err)) != CS_OK)
		goto out;
	if ((rc = cs_vsnap_load(v, b.txn, opts->seq, &snap, err)) != CS_OK)
		goto out;
	if ((rc = load_slots(v, b.txn, h, err)) != CS_OK)
		goto out;

	if (opts->out_path) {
		struct stat st;
		cs_path_split(opts->out_path, dir, base);
		if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
		    strcmp(base, "/") == 0) {
			rc = cs_err_set(err, CS_ERR_USAGE, b.name, "not a file name");
			goto out;
		}
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			if (errno == ENOENT)
				rc = cs_err_set(err, CS_ERR_NOTFOUND, dir,
						"the output's directory does not exist");
			else
				rc = cs_err_sys(err, dir, "open directory");
			goto out;
		}
		/* Fail before the work; publish() still refuses a file that appears later. */
		if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode))
				rc = cs_err_set(err, CS_ERR_EXISTS, b.name,
						"is a directory; name the backup file inside it");
			else if (!opts->force)
				rc = cs_err_set(err, CS_ERR_EXISTS, b.name,
						"exists (use --force to replace it)");
			if (rc != CS_OK)
				goto out;
		}
		clean_stale_temps(dfd, base);
		if ((rc = make_temp(dfd, base, b.name, tmp, sizeof tmp, &fd, err)) != CS_OK) {
			tmp_made = fd >= 0;
			goto out;
		}
		tmp_made = true;
	} else {
		fd = opts->out_fd;
	}

	randombytes_buf(fk, CS_KEY_BYTES);
	crypto_box_seal(h->sealed_key, fk, CS_KEY_BYTES, v->master->pk);
	memcpy(h->vault_id, v->id, CS_VAULT_ID_BYTES);
	h->seq = opts->seq;
	h->created = (uint64_t)time(NULL);
	h->epoch = v->epoch;
	if ((rc = cs_bstream_writer_new(fd, b.name, fk, h->ss_header, &b.bs, err)) != CS_OK ||
	    (rc = cs_bheader_encode(h, err)) != CS_OK ||
	    (rc = cs_bstream_writer_begin(b.bs, h->raw, h->len, err)) != CS_OK)
		goto out;

	if (!(b.a = archive_write_new())) {
		rc = cs_err_set(err, CS_ERR_NOMEM, b.name, "out of memory");
		goto out;
	}
	/* hdrcharset=BINARY: names are stored as their bytes, whatever the
	 * locale, so non-UTF-8 names round-trip. */
	if (archive_write_set_format_pax_restricted(b.a) != ARCHIVE_OK ||
	    archive_write_set_format_option(b.a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(b.a, 1) != ARCHIVE_OK ||
	    archive_write_open(b.a, &b, NULL, write_cb, NULL) != ARCHIVE_OK) {
		rc = ar_fail(&b, NULL, "tar");
		goto out;
	}
	if ((rc = write_manifest(&b, &snap)) != CS_OK)
		goto out;
	if ((rc = cs_ventry_foreach(v, b.txn, opts->seq, member_fn, &b, err)) != CS_OK)
		goto out;
	if (archive_write_close(b.a) != ARCHIVE_OK) {
		rc = ar_fail(&b, NULL, "tar");
		goto out;
	}
	if ((rc = cs_bstream_writer_close(b.bs, err)) != CS_OK)
		goto out;

	if (opts->out_path) {
		/* Closed (and its flock dropped) only after the rename, so that no
		 * other backup to this name takes it for a dead writer's temp. */
		if ((rc = cs_fsync(fd, b.name, err)) != CS_OK)
			goto out;
		if ((rc = publish(dfd, tmp, base, opts->force, b.name, err)) != CS_OK)
			goto out;
		tmp_made = false;
		if ((rc = cs_close(&fd, b.name, err)) != CS_OK || (rc = cs_fsync(dfd, dir, err)) != CS_OK)
			goto out;
	} else {
		struct stat st;
		/* A pipe cannot be fsynced; a redirected file can and should be. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (rc = cs_fsync(fd, b.name, err)) != CS_OK)
			goto out;
	}
	res->seq = opts->seq;
	res->entries = b.n_entries;
	res->bytes_in = b.bytes_done;
	res->bytes_out = cs_bstream_writer_bytes_out(b.bs);
out:
	if (b.a) {
		/* Nothing more may reach the output once we failed. */
		if (rc != CS_OK && b.cb_rc == CS_OK)
			b.cb_rc = rc;
		archive_write_free(b.a);
	}
	cs_bstream_writer_free(b.bs);
	if (b.txn)
		mdb_txn_abort(b.txn);
	if (opts->out_path && fd >= 0)
		close(fd);
	if (tmp_made)
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	cs_secret_free(b.chunk);
	cs_secret_free(fk);
	free(h);
	return rc;
}
