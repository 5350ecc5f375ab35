/* snapshot_read.c - read one source file of a snapshot: its content through the chunker into
 * the chunk writer (a database through the SQLite backup API), read again if it changes. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_TRIES 3

static void progress(struct cs_source *s)
{
	if (s->report->progress)
		s->report->progress(s->report->ctx, "snapshot", s->res->bytes_read, 0);
}

static void warn_errno(struct cs_source *s, const char *path, const char *what, int e)
{
	cs_warn_errno(s->warn, s->warn_ctx, path, what, e);
}

static bool same_content_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Stream fd through the chunker into the chunk writer, hashing it whole.  A read error of
 * the source sets *src_errno (the caller reports it); vault errors are returned.
 */
static int read_content(struct cs_source *s, int fd, const char *path, struct cs_ventry *ve,
			int *src_errno)
{
	cs_hash_state hs;
	size_t fill = 0, cap_chunks = 0;
	bool eof = false;
	int rc = CS_OK;
	struct cs_error rerr;
	*src_errno = 0;
	cs_hash_init(&hs);
	ve->e.size = 0;
	while (!eof || fill) {
		if (!eof) {
			size_t got = 0;
			size_t want = CS_SOURCE_BUF - fill;
			if (cs_read_full(fd, s->buf + fill, want, &got, path, &rerr)) {
				*src_errno = rerr.sys_errno ? rerr.sys_errno : EIO;
				return CS_OK;
			}
			eof = got < want;
			fill += got;
			s->res->bytes_read += got;
		}
		size_t off = 0;
		while (off < fill) {
			size_t avail = fill - off;
			size_t n = cs_chunker_cut(s->buf + off, avail, eof);
			if (n == 0 || n > avail || n > CS_CHUNK_MAX)
				return cs_err_set(s->err, CS_ERR_IO, path, "chunker returned %zu of %zu", n,
						  avail);
			if (!eof && n == avail && avail < CS_CHUNK_MAX)
				break; /* the rest needs more data to find its cut */
			if (ve->n_chunks == cap_chunks) {
				size_t nc = cap_chunks ? cap_chunks * 2 : 16;
				struct cs_chunk_ref *c = realloc(ve->chunks, nc * sizeof(*c));
				if (!c)
					return cs_err_set(s->err, CS_ERR_NOMEM, path, "out of memory");
				ve->chunks = c;
				cap_chunks = nc;
			}
			bool is_new = false;
			struct cs_chunk_ref *ref = &ve->chunks[ve->n_chunks];
			rc = cs_chunk_writer_add(s->cw, s->buf + off, n, ref, &is_new, s->err);
			if (rc != CS_OK)
				return rc;
			ve->n_chunks++;
			cs_hash_update(&hs, s->buf + off, n);
			ve->e.size += n;
			if (is_new) {
				s->res->chunks_new++;
				s->res->bytes_new += n;
			}
			off += n;
			progress(s);
		}
		memmove(s->buf, s->buf + off, fill - off);
		fill -= off;
	}
	cs_hash_final(&hs, ve->e.hash);
	return rc;
}

static void drop_content(struct cs_ventry *ve)
{
	free(ve->chunks);
	ve->chunks = NULL;
	ve->n_chunks = 0;
	ve->e.size = 0;
	memset(ve->e.hash, 0, sizeof(ve->e.hash));
}

static int open_source(int dirfd, const char *name)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
	int fd = openat(dirfd, name, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
		fd = openat(dirfd, name, flags);
	return fd;
}

/* Capture the database it through the backup API into ve's content. */
static int read_database(struct cs_source *s, const struct cs_walk_item *it,
			 struct cs_ventry *ve, enum cs_source_outcome *out)
{
	char abs[PATH_MAX + CS_CAP_PATH + 2];
	const char *path = it->path;
	int cfd = -1, src_errno = 0, rc;
	uint64_t size = 0;
	/* SQLite opens by name: below a graft that is the graft's own dir, not the state dir. */
	if (cs_walk_abs_path(it, s->state_abs, abs, sizeof(abs)) < 0)
		return cs_err_set(s->err, CS_ERR_IO, path, "absolute path too long");
	rc = cs_sqlite_capture(abs, s->vault_abs, &cfd, &size, s->err);
	if (rc == CS_ERR_DB) {
		/* A damaged or locked database is the source's problem: report, go on. */
		s->warn(s->warn_ctx, path, s->err->what);
		cs_error_clear(s->err);
		*out = CS_SOURCE_SKIPPED;
		return CS_OK;
	}
	if (rc != CS_OK)
		return rc;
	rc = read_content(s, cfd, path, ve, &src_errno);
	if (rc == CS_OK && src_errno)
		rc = cs_err_set(s->err, CS_ERR_IO, path, "reading the SQLite capture: %s",
				strerror(src_errno));
	if (rc == CS_OK && ve->e.size != size)
		rc = cs_err_set(s->err, CS_ERR_IO, path, "SQLite capture changed size");
	close(cfd); /* unlinked private copy */
	ve->e.is_sqlite = 1;
	*out = CS_SOURCE_GOT;
	return rc;
}

/* A file that changes while it is read is read again, up to READ_TRIES times, then reported. */
int cs_source_read_file(struct cs_source *s, const struct cs_walk_item *it,
			struct cs_ventry *ve, struct stat *st, enum cs_source_outcome *out)
{
	struct stat lst = it->st, st1, st2;
	int rc = CS_OK, fd = -1, src_errno = 0;
	*out = CS_SOURCE_SKIPPED;
	for (int tries = 0; tries < READ_TRIES; tries++) {
		if (tries) {
			drop_content(ve);
			if (fstatat(it->parent_fd, it->name, &lst, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT) {
					*out = CS_SOURCE_GONE;
					return CS_OK;
				}
				warn_errno(s, it->path, "cannot stat", errno);
				return CS_OK;
			}
			if (!S_ISREG(lst.st_mode))
				continue;
		}
		if (cs_test_eacces(it->path)) {
			warn_errno(s, it->path, "cannot open", EACCES);
			return CS_OK;
		}
		if ((fd = open_source(it->parent_fd, it->name)) < 0) {
			if (errno == ENOENT) {
				*out = CS_SOURCE_GONE;
				return CS_OK;
			}
			if (errno == ELOOP || errno == ENXIO)
				continue; /* replaced by a symlink or a socket: look again */
			warn_errno(s, it->path, "cannot open", errno);
			return CS_OK;
		}
		if (fstat(fd, &st1) < 0) {
			rc = cs_err_sys(s->err, it->path, "fstat");
			goto out;
		}
		if (!S_ISREG(st1.st_mode) || st1.st_dev != lst.st_dev || st1.st_ino != lst.st_ino) {
			close(fd);
			fd = -1;
			continue;
		}
		bool is_db = false;
		if (st1.st_size >= 16 && !cs_sqlite_side_suffix(it->name)) {
			if (cs_sqlite_is_db(fd, &is_db, s->err) != CS_OK) {
				warn_errno(s, it->path, "cannot read", s->err->sys_errno);
				cs_error_clear(s->err);
				goto out;
			}
		}
		if (is_db) {
			rc = read_database(s, it, ve, out);
			if (rc != CS_OK || *out != CS_SOURCE_GOT)
				goto out;
			st2 = st1;
		} else {
			if ((rc = read_content(s, fd, it->path, ve, &src_errno)) != CS_OK)
				goto out;
			if (src_errno) {
				warn_errno(s, it->path, "cannot read", src_errno);
				goto out;
			}
			if (fstat(fd, &st2) < 0) {
				rc = cs_err_sys(s->err, it->path, "fstat");
				goto out;
			}
			if (!same_content_stat(&st1, &st2) || ve->e.size != (uint64_t)st1.st_size) {
				close(fd);
				fd = -1;
				continue;
			}
		}
		*st = st1;
		if ((rc = cs_xattrs_read(fd, NULL, it->path, &ve->e, s->warn, s->warn_ctx, s->err)))
			goto out;
		*out = CS_SOURCE_GOT;
		goto out;
	}
	drop_content(ve);
	s->warn(s->warn_ctx, it->path, "changed while being read, not stored");
out:
	if (*out != CS_SOURCE_GOT)
		drop_content(ve);
	if (fd >= 0)
		close(fd); /* read-only source */
	return rc;
}
