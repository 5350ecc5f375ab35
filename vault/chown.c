/* chown.c - the safe recursive chown of "clawstate chown": an iterative walk by
 * file descriptor that never follows a symlink, never crosses a mount point and
 * leaves alone files whose other names lie outside the tree. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Directory fds held open at once; shallower levels are closed and re-opened
 * by name (dev:ino verified) when the walk climbs back to them. */
#define OPEN_FDS 64

struct frame {
	int fd;
	dev_t dev;
	ino_t ino;
	char *name;   /* name in the parent dir (NULL for DIR itself) */
	size_t plen;  /* strlen of this dir's relative path ("" for DIR) */
	char **names; /* its entries, sorted */
	size_t n, cap_names, next;
};

/* A non-directory with more than one link (regular file, symlink, FIFO,
 * socket, device node: any of them can have a name outside the tree), decided
 * on after the walk. */
struct link_rec {
	dev_t dev;
	ino_t ino;
	nlink_t nlink;
	struct timespec ctime; /* at the first name; a rename or link changes it */
	bool moved;            /* ctime differed at a later name: counts are unsafe */
	uint64_t found; /* names the walk saw; 0 = free slot */
	char *path;     /* the first name */
	uint32_t secure_mode;
};

struct walk {
	const struct cs_chown_opts *o;
	struct cs_chown_result *r;
	struct cs_error *err;
	struct frame *st;
	size_t depth, cap;
	char path[CS_CAP_PATH + 1];
	struct link_rec *links; /* open addressing, cap_links a power of two */
	size_t n_links, cap_links;
};

static const char *const secret_trees[] = {"credentials", "identity", "devices"};

static bool under(const char *rel, const char *top, bool or_equal)
{
	size_t n = strlen(top);
	if (strncmp(rel, top, n) != 0)
		return false;
	return rel[n] == '/' || (or_equal && rel[n] == '\0');
}

uint32_t cs_chown_secure_mode(const char *rel, bool is_dir)
{
	size_t i;
	if (is_dir) {
		if (rel[0] == '\0')
			return 0700;
		for (i = 0; i < sizeof(secret_trees) / sizeof(secret_trees[0]); i++)
			if (under(rel, secret_trees[i], true))
				return 0700;
		if (strcmp(rel, "agents") == 0 || fnmatch("agents/*", rel, FNM_PATHNAME) == 0 ||
		    fnmatch("agents/*/agent", rel, FNM_PATHNAME) == 0)
			return 0700;
		return 0;
	}
	for (i = 0; i < sizeof(secret_trees) / sizeof(secret_trees[0]); i++)
		if (under(rel, secret_trees[i], false))
			return 0600;
	if (fnmatch("agents/*/agent/*.json", rel, FNM_PATHNAME) == 0 ||
	    strcmp(rel, ".env") == 0 || strcmp(rel, "exec-approvals.json") == 0 ||
	    fnmatch("openclaw.json*", rel, FNM_PATHNAME) == 0)
		return 0600;
	return 0;
}

static bool from_match(const struct cs_chown_opts *o, const struct stat *st)
{
	if (o->n_from == 0)
		return true;
	for (size_t i = 0; i < o->n_from; i++)
		if (o->from_uid[i] == st->st_uid &&
		    (o->from_gid[i] == CS_CHOWN_ANY_GID || o->from_gid[i] == st->st_gid))
			return true;
	return false;
}

static void warn(struct walk *w, const char *path, const char *reason)
{
	w->r->skipped++;
	if (w->o->report.warn)
		w->o->report.warn(w->o->report.ctx, path, reason);
}

/* Chmod the inode behind an O_PATH fd: fchmod refuses O_PATH fds, the
 * /proc/self/fd link reaches exactly that inode without a path lookup race. */
static int chmod_fd(int fd, bool is_path_fd, int dfd, const char *name, mode_t mode)
{
	char proc[64];
	if (!is_path_fd)
		return fchmod(fd, mode);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if (chmod(proc, mode) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	return fchmodat(dfd, name, mode, AT_SYMLINK_NOFOLLOW); /* no /proc */
}

/*
 * Bring one entry (dfd/name, seen as *st) to the wanted owner and mode.  dir_fd
 * is the entry's own open directory fd, or -1: then it is opened O_PATH and
 * checked to be the inode that was examined, so a name swapped for a hardlink
 * to a file elsewhere is never changed.
 */
static int fix_entry(struct walk *w, int dfd, const char *name, const char *rel,
		     const struct stat *st, int dir_fd, uint32_t secure_mode)
{
	const struct cs_chown_opts *o = w->o;
	const char *shown = rel[0] ? rel : ".";
	bool is_link = S_ISLNK(st->st_mode);
	uint32_t perm = st->st_mode & 07777, want = perm;
	bool own_differs = st->st_uid != o->uid || st->st_gid != o->gid;
	int fd = dir_fd, rc = CS_OK;
	struct stat now;

	if (!from_match(o, st)) {
		w->r->filtered++;
		return CS_OK;
	}
	if (!is_link && secure_mode)
		want = secure_mode;
	if (!own_differs && want == perm) {
		w->r->unchanged++;
		return CS_OK;
	}
	if (o->change) {
		struct cs_chown_change c = {shown, st->st_uid, st->st_gid, o->uid, o->gid,
					    perm, want, is_link};
		o->change(o->change_ctx, &c);
	}
	if (o->check) {
		w->r->differ++;
		return CS_OK;
	}
	if (o->dry_run) {
		w->r->changed++;
		return CS_OK;
	}
	if (fd < 0) {
		if ((fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return cs_err_sys(w->err, shown, "open");
		if (fstat(fd, &now) < 0) {
			rc = cs_err_sys(w->err, shown, "stat");
			goto out;
		}
		if (now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
			rc = cs_err_set(w->err, CS_ERR_IO, shown, "replaced during the walk");
			goto out;
		}
	}
	if (own_differs && fchownat(fd, "", o->uid, o->gid, AT_EMPTY_PATH) < 0) {
		rc = cs_err_sys(w->err, shown, "chown");
		goto out;
	}
	/* chown clears setuid/setgid (and for files the kernel may also drop them
	 * on its own), so the exact original bits are written back. */
	if (!is_link && (want != perm || (own_differs && (perm & 06000))) &&
	    chmod_fd(fd, dir_fd < 0, dfd, name, want) < 0) {
		rc = cs_err_sys(w->err, shown, "chmod");
		goto out;
	}
	w->r->changed++;
out:
	if (dir_fd < 0)
		close(fd);
	return rc;
}

/* ---- hardlinked files ---- */

static size_t link_slot(const struct link_rec *t, size_t cap, dev_t dev, ino_t ino)
{
	size_t h = (size_t)((uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev) & (cap - 1);
	while (t[h].found && !(t[h].dev == dev && t[h].ino == ino))
		h = (h + 1) & (cap - 1);
	return h;
}

static int link_note(struct walk *w, const struct stat *st, const char *rel, uint32_t smode)
{
	if (2 * (w->n_links + 1) > w->cap_links) {
		size_t cap = w->cap_links ? 2 * w->cap_links : 256;
		struct link_rec *t = calloc(cap, sizeof(*t));
		if (!t)
			return cs_err_set(w->err, CS_ERR_NOMEM, rel, "out of memory");
		for (size_t i = 0; i < w->cap_links; i++)
			if (w->links[i].found)
				t[link_slot(t, cap, w->links[i].dev, w->links[i].ino)] = w->links[i];
		free(w->links);
		w->links = t;
		w->cap_links = cap;
	}
	struct link_rec *l = &w->links[link_slot(w->links, w->cap_links, st->st_dev, st->st_ino)];
	if (!l->found) {
		if (!(l->path = strdup(rel)))
			return cs_err_set(w->err, CS_ERR_NOMEM, rel, "out of memory");
		l->dev = st->st_dev;
		l->ino = st->st_ino;
		l->nlink = st->st_nlink;
		l->ctime = st->st_ctim;
		w->n_links++;
	} else if (l->ctime.tv_sec != st->st_ctim.tv_sec ||
		   l->ctime.tv_nsec != st->st_ctim.tv_nsec) {
		/* Renamed or linked between two of its names being seen: the same
		 * name may have been counted twice, so the count proves nothing. */
		l->moved = true;
	}
	l->found++;
	if (smode)
		l->secure_mode = smode;
	return CS_OK;
}

/* Open the parent dir of rel from the root, component by component, without
 * following a symlink; *base points into rel. */
static int open_parent(int root_fd, const char *rel, int *out, const char **base,
		       struct cs_error *err)
{
	char comp[CS_CAP_NAME + 1];
	const char *p = rel, *slash;
	int fd = dup(root_fd);
	if (fd < 0)
		return cs_err_sys(err, rel, "dup");
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		if (n > CS_CAP_NAME) {
			close(fd);
			return cs_err_set(err, CS_ERR_IO, rel, "name too long");
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return cs_err_sys(err, rel, "open parent directory");
		fd = next;
		p = slash + 1;
	}
	*out = fd;
	*base = p;
	return CS_OK;
}

static int links_finish(struct walk *w, int root_fd)
{
	char reason[96];
	int rc = CS_OK;
	for (size_t i = 0; i < w->cap_links && rc == CS_OK; i++) {
		struct link_rec *l = &w->links[i];
		int pfd = -1;
		const char *base = NULL;
		struct stat st;
		if (!l->found)
			continue;
		if ((rc = open_parent(root_fd, l->path, &pfd, &base, w->err)) != CS_OK)
			break;
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = cs_err_sys(w->err, l->path, "stat");
		else if (st.st_dev != l->dev || st.st_ino != l->ino)
			rc = cs_err_set(w->err, CS_ERR_IO, l->path, "replaced during the walk");
		else if (!w->o->hardlinks &&
			 (l->moved || st.st_ctim.tv_sec != l->ctime.tv_sec ||
			  st.st_ctim.tv_nsec != l->ctime.tv_nsec)) {
			if (from_match(w->o, &st))
				warn(w, l->path, "renamed or linked during the walk, not changed");
			else
				w->r->filtered++;
		} else if (st.st_nlink > l->found && !w->o->hardlinks) {
			if (from_match(w->o, &st)) {
				unsigned long long out = st.st_nlink - l->found;
				snprintf(reason, sizeof reason,
					 "has %llu %s outside the tree, not changed (use --hardlinks)",
					 out, out == 1 ? "link" : "links");
				warn(w, l->path, reason);
			} else {
				w->r->filtered++;
			}
		} else {
			rc = fix_entry(w, pfd, base, l->path, &st, -1,
				       w->o->secure_modes && S_ISREG(st.st_mode) ? l->secure_mode
										 : 0);
		}
		close(pfd);
	}
	return rc;
}

/* ---- the walk ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	struct frame *f = ctx;
	if (f->n == f->cap_names) {
		size_t cap = f->cap_names ? 2 * f->cap_names : 16;
		char **v = realloc(f->names, cap * sizeof(*v));
		if (!v)
			return cs_err_set(err, CS_ERR_NOMEM, name, "out of memory");
		f->names = v;
		f->cap_names = cap;
	}
	if (!(f->names[f->n] = strdup(name)))
		return cs_err_set(err, CS_ERR_NOMEM, name, "out of memory");
	f->n++;
	return CS_OK;
}

static void frame_free(struct frame *f, bool close_fd)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	free(f->name);
	if (close_fd && f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/* Room for one more frame, taken before a directory fd is opened for it. */
static int grow(struct walk *w)
{
	if (w->depth < w->cap)
		return CS_OK;
	size_t cap = w->cap ? 2 * w->cap : 64;
	struct frame *s = realloc(w->st, cap * sizeof(*s));
	if (!s)
		return cs_err_set(w->err, CS_ERR_NOMEM, w->path[0] ? w->path : ".", "out of memory");
	w->st = s;
	w->cap = cap;
	return CS_OK;
}

/* Push the open directory fd (already changed; grow() done) and list it.  The
 * frame owns fd from here on, also on failure. */
static int push(struct walk *w, int fd, const struct stat *st, const char *name)
{
	const char *shown = w->path[0] ? w->path : ".";
	struct frame *f = &w->st[w->depth++];
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->plen = strlen(w->path);
	if (name && !(f->name = strdup(name)))
		return cs_err_set(w->err, CS_ERR_NOMEM, shown, "out of memory");
	int rc = cs_dir_foreach(fd, shown, NULL, collect, f, w->err);
	if (rc != CS_OK)
		return rc;
	qsort(f->names, f->n, sizeof(*f->names), cmp_names);
	/* Bound the fds: the frame OPEN_FDS levels up is re-opened when needed. */
	if (w->depth > OPEN_FDS + 1) {
		struct frame *old = &w->st[w->depth - 1 - OPEN_FDS];
		if (old->fd >= 0) {
			close(old->fd);
			old->fd = -1;
		}
	}
	return CS_OK;
}

/* The fd of frame i, re-opening it (and closed frames above it) by name. */
static int frame_fd(struct walk *w, size_t i, int *out)
{
	size_t j = i;
	while (w->st[j].fd < 0)
		j--; /* the root frame is always open */
	for (size_t k = j + 1; k <= i; k++) {
		struct frame *f = &w->st[k];
		struct stat st;
		f->fd = openat(w->st[k - 1].fd, f->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
								  O_CLOEXEC);
		if (f->fd < 0)
			return cs_err_sys(w->err, f->name, "re-open directory");
		if (fstat(f->fd, &st) < 0)
			return cs_err_sys(w->err, f->name, "stat");
		if (st.st_dev != f->dev || st.st_ino != f->ino)
			return cs_err_set(w->err, CS_ERR_IO, f->name,
					  "directory replaced during the walk");
		if (k > OPEN_FDS && w->st[k - OPEN_FDS].fd >= 0) {
			close(w->st[k - OPEN_FDS].fd);
			w->st[k - OPEN_FDS].fd = -1;
		}
	}
	*out = w->st[i].fd;
	return CS_OK;
}

static int visit(struct walk *w, int dfd, const char *name)
{
	const struct cs_chown_opts *o = w->o;
	const char *rel = w->path;
	struct stat st, now;
	bool mount;
	int rc;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT) {
			warn(w, rel, "vanished during the walk");
			return CS_OK;
		}
		return cs_err_sys(w->err, rel, "stat");
	}
	w->r->entries++;
	/* Any non-directory can be a hardlink to an inode outside the tree: a
	 * root-owned socket or FIFO given away is as bad as a regular file. */
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1)
		return link_note(w, &st, rel,
				 S_ISREG(st.st_mode) ? cs_chown_secure_mode(rel, false) : 0);
	if (!S_ISDIR(st.st_mode))
		return fix_entry(w, dfd, name, rel, &st, -1,
				 o->secure_modes && S_ISREG(st.st_mode)
					 ? cs_chown_secure_mode(rel, false)
					 : 0);
	/* A bind mount of the same filesystem has the same st_dev: ask statx. */
	if ((rc = cs_is_mount_root(dfd, name, &mount, w->err)) != CS_OK)
		return rc;
	if (mount) {
		warn(w, rel, "mount point, not crossed");
		return CS_OK;
	}
	if ((rc = grow(w)) != CS_OK)
		return rc;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cs_err_sys(w->err, rel, "open directory");
	if (fstat(fd, &now) < 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
		close(fd);
		return cs_err_set(w->err, CS_ERR_IO, rel, "replaced during the walk");
	}
	if ((rc = fix_entry(w, dfd, name, rel, &st, fd,
			    o->secure_modes ? cs_chown_secure_mode(rel, true) : 0)) != CS_OK) {
		close(fd);
		return rc;
	}
	return push(w, fd, &st, name);
}

int cs_chown_tree(const struct cs_chown_opts *o, struct cs_chown_result *r, struct cs_error *err)
{
	struct walk w = {.o = o, .r = r, .err = err};
	struct stat st;
	int rc = CS_OK, root_fd = -1;

	memset(r, 0, sizeof(*r));
	if (!o->dir || !o->dir[0] || (o->check && o->dry_run) || o->uid == UINT32_MAX ||
	    o->gid == UINT32_MAX)
		return cs_err_set(err, CS_ERR_USAGE, o->dir, "invalid chown options");
	if ((root_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = cs_err_sys(err, o->dir, "open directory");
		if (errno == ENOENT || errno == ENOTDIR)
			rc = err->code = CS_ERR_NOTFOUND;
		return rc;
	}
	if (fstat(root_fd, &st) < 0) {
		rc = cs_err_sys(err, o->dir, "stat");
		close(root_fd);
		return rc;
	}
	w.r->entries++;
	w.path[0] = '\0';
	if ((rc = fix_entry(&w, root_fd, ".", "", &st, root_fd,
			    o->secure_modes ? 0700 : 0)) != CS_OK ||
	    (rc = grow(&w)) != CS_OK || (rc = push(&w, root_fd, &st, NULL)) != CS_OK)
		goto out;
	while (w.depth > 0) {
		size_t top = w.depth - 1;
		struct frame *f = &w.st[top];
		int dfd = -1;
		if (f->next == f->n) {
			frame_free(f, top > 0);
			w.depth--;
			continue;
		}
		const char *name = f->names[f->next++];
		size_t nlen = strlen(name), at = f->plen ? f->plen + 1 : 0;
		if (at + nlen > CS_CAP_PATH) {
			rc = cs_err_set(err, CS_ERR_IO, w.path, "path too long");
			goto out;
		}
		if (f->plen)
			w.path[f->plen] = '/';
		memcpy(w.path + at, name, nlen + 1);
		if ((rc = frame_fd(&w, top, &dfd)) != CS_OK || (rc = visit(&w, dfd, name)) != CS_OK)
			goto out;
		/* A pushed directory keeps its path in w.path until it is done. */
		if (w.depth - 1 == top)
			w.path[w.st[top].plen] = '\0';
	}
	rc = links_finish(&w, root_fd);
out:
	for (size_t i = w.depth; i > 1; i--)
		frame_free(&w.st[i - 1], true);
	if (w.depth > 0)
		frame_free(&w.st[0], false);
	free(w.st);
	for (size_t i = 0; i < w.cap_links; i++)
		free(w.links[i].path);
	free(w.links);
	close(root_fd);
	if (rc != CS_OK)
		return rc;
	if (r->differ)
		return cs_err_set(err, CS_ERR_DIFFERS, o->dir, "%llu %s not as wanted",
				  (unsigned long long)r->differ,
				  r->differ == 1 ? "entry is" : "entries are");
	if (r->skipped)
		return cs_err_set(err, CS_ERR_PARTIAL, o->dir, "%llu %s skipped",
				  (unsigned long long)r->skipped,
				  r->skipped == 1 ? "entry" : "entries");
	return CS_OK;
}
