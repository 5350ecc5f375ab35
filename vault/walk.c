/* walk.c - the snapshot's tree walk (openat-based, no symlink followed, one filesystem,
 * children sorted bytewise so the order is the vault's entry order; other directories
 * grafted in as top-level names) and what it keeps of each entry: skip and exclude rules,
 * classes, user xattrs. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

struct walk {
	cs_walk_fn fn;
	cs_warn_fn warn;
	void *ctx;
	dev_t root_dev;                    /* of the tree being walked: the root or a graft */
	const struct cs_walk_graft *grafts;
	size_t n_grafts;
	const struct cs_walk_graft *graft; /* the one being walked, else NULL */
	char path[CS_CAP_PATH + CS_CAP_NAME + 2];
	size_t plen;
};

/* Report a lost entry: "what" or "what: strerror(e)". */
static void walk_warn(struct walk *w, const char *path, const char *what, int e)
{
	char reason[256];
	if (!w->warn)
		return;
	if (e)
		snprintf(reason, sizeof(reason), "%s: %s", what, strerror(e));
	else
		snprintf(reason, sizeof(reason), "%s", what);
	w->warn(w->ctx, path, reason);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static const struct cs_walk_graft *graft_named(const struct walk *w, const char *name)
{
	for (size_t i = 0; i < w->n_grafts; i++)
		if (!strcmp(w->grafts[i].name, name))
			return &w->grafts[i];
	return NULL;
}

static int add_name(struct walk *w, char ***names, size_t *n, size_t *cap, const char *name,
		    struct cs_error *err)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		char **nn = realloc(*names, ncap * sizeof(*nn));
		if (!nn)
			return cs_err_set(err, CS_ERR_NOMEM, w->path, "listing: out of memory");
		*names = nn;
		*cap = ncap;
	}
	if (!((*names)[*n] = strdup(name)))
		return cs_err_set(err, CS_ERR_NOMEM, w->path, "listing: out of memory");
	(*n)++;
	return CS_OK;
}

/* Read every name of the open directory d (without "." and ".."), sorted; at the top of
 * the root, graft names are listed whether the root has them or not. */
static int list_dir(struct walk *w, DIR *d, bool top, char ***out, size_t *n_out,
		    struct cs_error *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = CS_OK;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				/* What was listed so far is still walked; the rest is reported. */
				walk_warn(w, w->plen ? w->path : ".", "cannot list directory",
					  errno);
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (top && graft_named(w, de->d_name))
			continue; /* added below, once */
		if ((rc = add_name(w, &names, &n, &cap, de->d_name, err)) != CS_OK)
			goto out;
	}
	for (size_t i = 0; top && i < w->n_grafts; i++)
		if ((rc = add_name(w, &names, &n, &cap, w->grafts[i].name, err)) != CS_OK)
			goto out;
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
out:
	if (rc != CS_OK) {
		free_names(names, n);
		return rc;
	}
	*out = names;
	*n_out = n;
	return CS_OK;
}

static int walk_dir(struct walk *w, int dfd, unsigned depth, struct cs_error *err);

/* A graft's root, in place of the root's own entry of that name: the graft's own fd and
 * stat, never a mount point although it is usually another filesystem; below it the
 * one-filesystem rule compares with its st_dev. */
static int walk_graft(struct walk *w, const struct cs_walk_graft *g, struct cs_error *err)
{
	struct cs_walk_item it = {.path = w->path, .name = g->name, .parent_fd = -1, .fd = -1,
				  .depth = 1, .graft = g};
	bool descend = true;
	int rc;
	if (fstat(g->fd, &it.st) < 0)
		return cs_err_sys(err, w->path, "fstat");
	/* walk_dir takes its fd and lists from the top: a rewound duplicate. */
	if ((it.fd = fcntl(g->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return cs_err_sys(err, w->path, "dup");
	if (lseek(it.fd, 0, SEEK_SET) < 0) {
		rc = cs_err_sys(err, w->path, "rewinding");
		close(it.fd);
		return rc;
	}
	rc = w->fn(w->ctx, &it, &descend, err);
	if (rc != CS_OK || !descend) {
		close(it.fd); /* read-only directory */
		return rc;
	}
	dev_t dev = w->root_dev;
	w->root_dev = it.st.st_dev;
	w->graft = g;
	rc = walk_dir(w, it.fd, 2, err); /* takes the fd */
	w->graft = NULL;
	w->root_dev = dev;
	return rc;
}

/* One child of the directory dfd; w->path already holds its relative path. */
static int walk_one(struct walk *w, int dfd, const char *name, unsigned depth,
		    struct cs_error *err)
{
	struct cs_walk_item it = {.path = w->path, .name = name, .parent_fd = dfd, .fd = -1,
				  .depth = depth, .graft = w->graft};
	bool descend = true;
	int rc;
	const struct cs_walk_graft *g = depth == 1 ? graft_named(w, name) : NULL;

	if (g)
		return walk_graft(w, g, err);
	if (fstatat(dfd, name, &it.st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return CS_OK; /* removed since the listing: not part of the tree */
		walk_warn(w, w->path, "cannot stat", errno);
		return CS_OK;
	}
	/* Only directories count as mounts: a file bind-mounted into the tree (Docker does
	 * that with single config files) is one file, not another tree. */
	if (S_ISDIR(it.st.st_mode) && it.st.st_dev != w->root_dev) {
		it.is_mount = true;
	} else if (S_ISDIR(it.st.st_mode)) {
		bool root = false;
		if (cs_is_mount_root(dfd, name, &root, err) != CS_OK) {
			int e = err->sys_errno;
			cs_error_clear(err);
			if (e != ENOENT)
				walk_warn(w, w->path, "cannot stat", e);
			return CS_OK;
		}
		it.is_mount = root;
	}
	if (S_ISDIR(it.st.st_mode) && !it.is_mount) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0) {
			if (errno == ENOENT)
				return CS_OK;
			/* A symlink swapped in after the lstat gives ENOTDIR/ELOOP: report it. */
			it.open_errno = errno;
		} else if (fstat(fd, &st) < 0) {
			it.open_errno = errno;
			close(fd);
		} else {
			it.fd = fd;
			it.st = st;
			if (st.st_dev != w->root_dev) {
				it.is_mount = true;
				close(fd);
				it.fd = -1;
			}
		}
	}
	rc = w->fn(w->ctx, &it, &descend, err);
	if (rc == CS_OK && descend && it.fd >= 0) {
		int fd = it.fd;
		it.fd = -1;
		return walk_dir(w, fd, depth + 1, err); /* takes fd */
	}
	if (it.fd >= 0)
		close(it.fd); /* read-only directory: nothing to lose */
	return rc;
}

/* Walk the children of the open directory dfd (taken over and closed here). */
static int walk_dir(struct walk *w, int dfd, unsigned depth, struct cs_error *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc = CS_OK;
	size_t base = w->plen;
	DIR *d = fdopendir(dfd);
	if (!d) {
		rc = cs_err_sys(err, base ? w->path : ".", "fdopendir");
		close(dfd);
		return rc;
	}
	if ((rc = list_dir(w, d, depth == 1 && !w->graft, &names, &n, err)) != CS_OK)
		goto out;
	for (size_t i = 0; i < n && rc == CS_OK; i++) {
		size_t nlen = strlen(names[i]);
		size_t plen = base ? base + 1 + nlen : nlen;
		if (plen > CS_CAP_PATH || depth > CS_CAP_DEPTH) {
			char shown[sizeof(w->path) + CS_CAP_NAME + 2];
			snprintf(shown, sizeof(shown), "%s%s%s", w->path, base ? "/" : "", names[i]);
			walk_warn(w, shown,
				  plen > CS_CAP_PATH ? "path longer than 4095 bytes, not stored"
						     : "nested deeper than 256 levels, not stored",
				  0);
			continue;
		}
		if (base)
			w->path[base] = '/';
		memcpy(w->path + (base ? base + 1 : 0), names[i], nlen + 1);
		w->plen = plen;
		rc = walk_one(w, dirfd(d), names[i], depth, err);
		w->plen = base;
		w->path[base] = '\0';
	}
out:
	free_names(names, n);
	closedir(d);
	return rc;
}

int cs_walk(int root_fd, cs_walk_fn fn, cs_warn_fn warn, void *ctx, struct cs_error *err)
{
	return cs_walk_grafts(root_fd, NULL, 0, fn, warn, ctx, err);
}

int cs_walk_grafts(int root_fd, const struct cs_walk_graft *grafts, size_t n_grafts,
		   cs_walk_fn fn, cs_warn_fn warn, void *ctx, struct cs_error *err)
{
	struct stat st;
	int rc;
	for (size_t i = 0; i < n_grafts; i++) {
		const char *name = grafts[i].name;
		size_t len = name ? strlen(name) : 0;
		if (!len || len > CS_CAP_NAME || strchr(name, '/') || !strcmp(name, ".") ||
		    !strcmp(name, ".."))
			return cs_err_set(err, CS_ERR_USAGE, name, "not a top-level name to graft");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(grafts[j].name, name))
				return cs_err_set(err, CS_ERR_USAGE, name, "grafted twice");
	}
	struct walk *w = calloc(1, sizeof(*w));
	if (!w)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "walk: out of memory");
	w->fn = fn;
	w->warn = warn;
	w->ctx = ctx;
	w->grafts = grafts;
	w->n_grafts = n_grafts;
	if (fstat(root_fd, &st) < 0) {
		rc = cs_err_sys(err, NULL, "fstat of the state dir");
		goto out;
	}
	w->root_dev = st.st_dev;
	/* walk_dir takes its fd; the caller keeps root_fd. */
	int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		rc = cs_err_sys(err, NULL, "dup of the state dir");
		goto out;
	}
	/* The duplicate shares the offset: rewind so the listing starts at the top. */
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rc = cs_err_sys(err, NULL, "rewinding the state dir");
		close(fd);
		goto out;
	}
	rc = walk_dir(w, fd, 1, err);
out:
	free(w);
	return rc;
}

int cs_walk_abs_path(const struct cs_walk_item *it, const char *root_abs, char *out,
		     size_t cap)
{
	int n;
	if (it->graft) /* path is "name" or "name/rest" */
		n = snprintf(out, cap, "%s%s", it->graft->abs, it->path + strlen(it->graft->name));
	else
		n = snprintf(out, cap, "%s/%s", root_abs, it->path);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- what the snapshot keeps of each entry (docs/FORMAT.md) ---- */

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int cs_entry_class(const char *path, bool is_sqlite)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (is_sqlite)
		return CS_CLASS_DATABASE;
	if (under(path, "credentials") || under(path, "identity") || under(path, "devices") ||
	    !strcmp(base, ".env") || (base == path && !strncmp(path, "openclaw.json", 13)) ||
	    !fnmatch("agents/*/agent/auth-profiles.json", path, FNM_PATHNAME) ||
	    !fnmatch("agents/*/agent/models.json", path, FNM_PATHNAME))
		return CS_CLASS_SECRET;
	if (!fnmatch("agents/*/sessions", path, FNM_PATHNAME | FNM_LEADING_DIR))
		return CS_CLASS_SESSION;
	if (under(path, "workspace"))
		return CS_CLASS_WORKSPACE;
	if (under(path, "media"))
		return CS_CLASS_MEDIA;
	return CS_CLASS_OTHER;
}

bool cs_walk_excluded(const char *const *patterns, size_t n, const char *path, bool is_dir)
{
	char pat[PATH_MAX];
	for (size_t i = 0; i < n; i++) {
		const char *p = patterns[i];
		size_t len = strlen(p);
		if (len && p[len - 1] == '/') {
			if (!is_dir || len >= sizeof(pat))
				continue;
			memcpy(pat, p, len - 1);
			pat[len - 1] = '\0';
			p = pat;
		}
		if (fnmatch(p, path, 0) == 0)
			return true;
	}
	return false;
}

bool cs_walk_skipped(const struct cs_walk_item *it)
{
	if (it->depth == 1 && !strncmp(it->name, ".clawstate-", 11))
		return true;
	/* OpenClaw's own lock files: ephemeral, and a live gateway holds its lock databases
	 * exclusively, so a capture could only wait and fail. */
	if (S_ISDIR(it->st.st_mode) || (fnmatch("tmp/openclaw-*/*", it->path, FNM_PATHNAME) != 0 &&
					 fnmatch("tmp/openclaw/*", it->path, FNM_PATHNAME) != 0))
		return false;
	return ends_with(it->name, ".lock") || ends_with(it->name, ".lock.sqlite") ||
	       ends_with(it->name, ".lock.sqlite-wal") || ends_with(it->name, ".lock.sqlite-shm") ||
	       ends_with(it->name, ".lock.sqlite-journal");
}

/* ---- user.* xattrs ---- */

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct cs_xattr *)a)->name, ((const struct cs_xattr *)b)->name);
}

static ssize_t x_list(int fd, const char *lpath, char *buf, size_t n)
{
	return fd >= 0 ? flistxattr(fd, buf, n) : llistxattr(lpath, buf, n);
}

static ssize_t x_get(int fd, const char *lpath, const char *name, void *buf, size_t n)
{
	return fd >= 0 ? fgetxattr(fd, name, buf, n) : lgetxattr(lpath, name, buf, n);
}

static void x_warn(cs_warn_fn warn, void *ctx, const char *path, const char *what, int e)
{
	char reason[256];
	if (e)
		snprintf(reason, sizeof(reason), "%s: %s", what, strerror(e));
	else
		snprintf(reason, sizeof(reason), "%s", what);
	warn(ctx, path, reason);
}

int cs_xattrs_read(int fd, const char *lpath, const char *path, struct cs_entry *e,
		   cs_warn_fn warn, void *ctx, struct cs_error *err)
{
	char *names = NULL;
	ssize_t len = -1;
	int rc = CS_OK;
	/* The list can grow between the size query and the read: ERANGE, ask again. */
	for (int tries = 0; tries < 3; tries++) {
		ssize_t want = x_list(fd, lpath, NULL, 0);
		if (want <= 0) {
			len = want;
			break;
		}
		free(names);
		if (!(names = malloc((size_t)want)))
			return cs_err_set(err, CS_ERR_NOMEM, path, "xattrs: out of memory");
		len = x_list(fd, lpath, names, (size_t)want);
		if (len >= 0 || errno != ERANGE)
			break;
	}
	if (len < 0) {
		if (errno != ENOTSUP && errno != ENOSYS && errno != ENODATA)
			x_warn(warn, ctx, path, "xattrs not stored: cannot list them", errno);
		goto out;
	}
	for (ssize_t off = 0; off < len; off += (ssize_t)strlen(names + off) + 1) {
		const char *name = names + off;
		if (strncmp(name, "user.", 5) != 0)
			continue;
		if (e->n_xattrs >= CS_CAP_XATTRS) {
			x_warn(warn, ctx, path, "more than 64 user xattrs, the rest not stored", 0);
			break;
		}
		ssize_t vlen = x_get(fd, lpath, name, NULL, 0);
		if (vlen > CS_CAP_XATTR_VALUE) {
			x_warn(warn, ctx, path, "xattr value larger than 64 KiB not stored", 0);
			continue;
		}
		struct cs_xattr x = {0};
		if (!(x.value = malloc(vlen > 0 ? (size_t)vlen : 1))) {
			rc = cs_err_set(err, CS_ERR_NOMEM, path, "xattrs: out of memory");
			goto out;
		}
		if (vlen > 0)
			vlen = x_get(fd, lpath, name, x.value, (size_t)vlen);
		if (vlen < 0) {
			free(x.value);
			if (errno != ENODATA) /* ENODATA: removed meanwhile */
				x_warn(warn, ctx, path, "xattr not stored", errno);
			continue;
		}
		x.len = (size_t)vlen;
		x.name = strdup(name);
		struct cs_xattr *nx = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(*nx));
		if (nx)
			e->xattrs = nx;
		if (!x.name || !nx) {
			free(x.name);
			free(x.value);
			rc = cs_err_set(err, CS_ERR_NOMEM, path, "xattrs: out of memory");
			goto out;
		}
		e->xattrs[e->n_xattrs++] = x;
	}
	if (e->n_xattrs > 1)
		qsort(e->xattrs, e->n_xattrs, sizeof(*e->xattrs), cmp_xattr);
out:
	free(names);
	return rc;
}
