/* fsutil.c - careful file-system helpers: full writes, checked fsync/close,
 * fd-based tree removal, mount-point detection, path helpers. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cs_write_all(int fd, const void *buf, size_t len, const char *path, struct cs_error *err)
{
	const unsigned char *p = buf;
	cs_test_point("write");
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cs_err_sys(err, path, "write");
		}
		if (n == 0) {
			errno = EIO;
			return cs_err_sys(err, path, "write");
		}
		p += n;
		len -= (size_t)n;
	}
	return CS_OK;
}

int cs_read_full(int fd, void *buf, size_t len, size_t *got, const char *path,
		 struct cs_error *err)
{
	unsigned char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*got = done;
			return cs_err_sys(err, path, "read");
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return CS_OK;
}

int cs_fsync(int fd, const char *path, struct cs_error *err)
{
	cs_test_point("fsync");
	if (fsync(fd) < 0)
		return cs_err_sys(err, path, "fsync");
	return CS_OK;
}

int cs_fsync_dir(const char *dir, struct cs_error *err)
{
	int rc = CS_OK;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cs_err_sys(err, dir, "open directory");
	rc = cs_fsync(fd, dir, err);
	int crc = cs_close(&fd, dir, err);
	return rc != CS_OK ? rc : crc;
}

int cs_close(int *fd, const char *path, struct cs_error *err)
{
	if (*fd < 0)
		return CS_OK;
	int r = close(*fd);
	*fd = -1;
	/* EINTR after close on Linux means the fd is gone; nothing to retry. */
	if (r < 0 && errno != EINTR)
		return cs_err_sys(err, path, "close");
	return CS_OK;
}

/*
 * Open the directory dfd/name (lstat'd as st) to empty it.  A directory without
 * u+rwx (a restored 0000 or 0500 one) cannot be listed or emptied by its
 * non-root owner, so it gets u+rwx first, without following a symlink: it is
 * about to go anyway.
 */
static int open_for_removal(int dfd, const char *name, const struct stat *st)
{
	if ((st->st_mode & 0700) != 0700)
		(void)fchmodat(dfd, name, (st->st_mode & 07777) | 0700, AT_SYMLINK_NOFOLLOW);
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int cs_dir_foreach(int dfd, const char *path, const char *read_what,
		   int (*fn)(void *ctx, int dfd, const char *name, struct cs_error *err), void *ctx,
		   struct cs_error *err)
{
	int rc = CS_OK;
	DIR *d = NULL;
	/* A dup, so closedir leaves dfd open; F_DUPFD_CLOEXEC keeps it from an exec. */
	int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return cs_err_sys(err, path, "dup");
	if (!(d = fdopendir(dup_fd))) {
		rc = cs_err_sys(err, path, "opendir");
		close(dup_fd);
		return rc;
	}
	/* The dup shares dfd's read position: start from the top, or a second
	 * listing of the same dfd would see nothing. */
	rewinddir(d);
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				rc = cs_err_sys(err, path, read_what ? read_what : "readdir");
			break;
		}
		const char *n = de->d_name;
		if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0')))
			continue;
		if ((rc = fn(ctx, dfd, n, err)) != CS_OK)
			break;
	}
	closedir(d);
	return rc == CS_DIR_STOP ? CS_OK : rc;
}

static int rm_children(int dfd, dev_t dev, const char *path, int depth, struct cs_error *err);

struct rm_ctx {
	dev_t dev;
	const char *path;
	int depth;
};

static int rm_child(void *ctx, int dfd, const char *n, struct cs_error *err)
{
	const struct rm_ctx *c = ctx;
	struct stat st;
	bool mount = false;
	if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return CS_OK;
		return cs_err_sys(err, c->path, "stat");
	}
	/* A bind mount of the same filesystem has the same st_dev: only the mount
	 * root flag tells that what lies below belongs to another tree. */
	if (cs_is_mount_root(dfd, n, &mount, err) != CS_OK) {
		if (err->sys_errno == ENOENT)
			return CS_OK;
		snprintf(err->path, sizeof err->path, "%s", c->path);
		return err->code;
	}
	if (mount)
		return cs_err_set(err, CS_ERR_MOUNT, c->path,
				  "refusing to remove a mount point (%s) or anything below it", n);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, n, 0) < 0 && errno != ENOENT)
			return cs_err_sys(err, c->path, "unlink");
		return CS_OK;
	}
	if (st.st_dev != c->dev)
		return cs_err_set(err, CS_ERR_IO, c->path,
				  "refusing to remove across a mount point (%s)", n);
	int cfd = open_for_removal(dfd, n, &st);
	if (cfd < 0)
		return cs_err_sys(err, c->path, "open directory");
	int rc = rm_children(cfd, c->dev, c->path, c->depth + 1, err);
	close(cfd);
	if (rc != CS_OK)
		return rc;
	if (unlinkat(dfd, n, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return cs_err_sys(err, c->path, "rmdir");
	return CS_OK;
}

/* Remove every entry below the open directory dfd, without following
 * symlinks or crossing into another filesystem. */
static int rm_children(int dfd, dev_t dev, const char *path, int depth, struct cs_error *err)
{
	struct rm_ctx c = {dev, path, depth};
	if (depth > CS_CAP_DEPTH + 8)
		return cs_err_set(err, CS_ERR_IO, path, "tree too deep to remove");
	return cs_dir_foreach(dfd, path, NULL, rm_child, &c, err);
}

int cs_rm_tree_at(int dirfd, const char *name, const char *path_for_errors,
		  struct cs_error *err)
{
	struct stat st;
	const char *p = path_for_errors ? path_for_errors : name;
	struct rm_ctx top = {0, p, 0};
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return CS_OK;
		return cs_err_sys(err, p, "stat");
	}
	if (!S_ISDIR(st.st_mode))
		return rm_child(&top, dirfd, name, err);
	bool mount = false;
	if (cs_is_mount_root(dirfd, name, &mount, err) != CS_OK)
		return err->sys_errno == ENOENT ? CS_OK : err->code;
	if (mount)
		return cs_err_set(err, CS_ERR_MOUNT, p, "refusing to remove a mount point");
	int fd = open_for_removal(dirfd, name, &st);
	if (fd < 0)
		return cs_err_sys(err, p, "open directory");
	int rc = rm_children(fd, st.st_dev, p, 0, err);
	close(fd);
	if (rc != CS_OK)
		return rc;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return cs_err_sys(err, p, "rmdir");
	return CS_OK;
}

int cs_is_mount_root(int dirfd, const char *name, bool *is_root, struct cs_error *err)
{
	struct statx sx;
	*is_root = false;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) < 0)
		return cs_err_sys(err, name, "statx");
	if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
		*is_root = (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
		return CS_OK;
	}
	/* Old kernels: a different device than the parent marks a mount. */
	if (!S_ISDIR(sx.stx_mode))
		return CS_OK;
	struct stat self, parent;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cs_err_sys(err, name, "open directory");
	int rc = CS_OK;
	if (fstat(fd, &self) < 0 || fstatat(fd, "..", &parent, 0) < 0)
		rc = cs_err_sys(err, name, "stat");
	else
		*is_root = self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
	close(fd);
	return rc;
}

int cs_mkdir_p(const char *dir, mode_t mode, struct cs_error *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof buf)
		return cs_err_set(err, CS_ERR_USAGE, dir, "bad directory name");
	memcpy(buf, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return cs_err_sys(err, buf, "mkdir");
		buf[i] = c;
	}
	struct stat st;
	if (stat(dir, &st) < 0)
		return cs_err_sys(err, dir, "stat");
	if (!S_ISDIR(st.st_mode))
		return cs_err_set(err, CS_ERR_IO, dir, "not a directory");
	return CS_OK;
}

void cs_path_split(const char *path, char *dir, char *base)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t i = n;
	while (i > 0 && path[i - 1] != '/')
		i--;
	size_t blen = n - i;
	if (blen >= PATH_MAX)
		blen = PATH_MAX - 1;
	memcpy(base, path + i, blen);
	base[blen] = '\0';
	if (i == 0) {
		strcpy(dir, ".");
		return;
	}
	size_t dlen = i;
	while (dlen > 1 && path[dlen - 1] == '/')
		dlen--;
	if (dlen >= PATH_MAX)
		dlen = PATH_MAX - 1;
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
}

int cs_path_absolute(const char *path, char *out, struct cs_error *err)
{
	char dir[PATH_MAX], base[PATH_MAX], real[PATH_MAX];
	cs_path_split(path, dir, base);
	/* "/", "." and ".." name directories, never symlinks: resolve them whole. */
	if (base[0] == '\0' || strcmp(base, "/") == 0 || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		if (!realpath(path, out))
			return cs_err_sys(err, path, "resolve path");
		return CS_OK;
	}
	/* Only the parent is resolved: the last component is never followed, so a
	 * symlink there stays a symlink for the caller to see (and refuse). */
	if (!realpath(dir, real))
		return cs_err_sys(err, dir, "resolve path");
	int n = snprintf(out, PATH_MAX, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
	if (n < 0 || n >= PATH_MAX)
		return cs_err_set(err, CS_ERR_USAGE, path, "path too long");
	return CS_OK;
}

int cs_path_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	while (*x && *x == *y) {
		x++;
		y++;
	}
	if (*x == *y)
		return 0;
	/* '/' ends a component: it sorts before every byte, end of string before '/'. */
	int cx = *x == '/' ? 1 : *x == 0 ? 0 : *x + 1;
	int cy = *y == '/' ? 1 : *y == 0 ? 0 : *y + 1;
	return cx < cy ? -1 : 1;
}

/* Undo mountinfo's octal escapes (\040 for a space, \011, \012, \134) in place. */
static void mountinfo_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

int cs_mount_below(const char *dir, char *first, size_t len, bool *found, struct cs_error *err)
{
	char *line = NULL;
	size_t cap = 0, dl = strlen(dir);
	*found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return CS_OK; /* no /proc: the swap's EBUSY/EXDEV still stops a mount root */
	while (getline(&line, &cap, f) > 0) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...": the fifth field. */
		char *save = NULL, *mp = strtok_r(line, " ", &save);
		for (int i = 0; mp && i < 4; i++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp)
			continue;
		mountinfo_unescape(mp);
		if (strncmp(mp, dir, dl) == 0 && mp[dl] == '/') {
			*found = true;
			snprintf(first, len, "%s", mp);
			break;
		}
	}
	free(line);
	if (ferror(f)) {
		fclose(f);
		return cs_err_sys(err, "/proc/self/mountinfo", "read");
	}
	fclose(f);
	return CS_OK;
}
