/* migrate_state.c - migrate --state: capture a live state dir into a
 * throwaway vault, then restore it from there with the safe writer. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAPTURE_PREFIX "clawstate-migrate."

/* The capture dir of this process, for cs_migrate_abandon (a signal handler). */
static char g_tmp[PATH_MAX];
static volatile sig_atomic_t g_tmp_set;

/* Remove the entries of the dir dfd and of its subdirs (depth levels more)
 * with system calls only: async-signal-safe, no malloc, no stdio. */
static void unlink_level(int dfd, int depth)
{
	char buf[4096];
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
		if (n <= 0)
			return;
		bool removed = false;
		for (long off = 0; off < n;) {
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof reclen);
			const char *name = buf + off + 19;
			off += reclen;
			if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
				continue;
			if (unlinkat(dfd, name, 0) == 0) {
				removed = true;
				continue;
			}
			if (depth > 0) {
				int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0) {
					unlink_level(sub, depth - 1);
					close(sub);
				}
				if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
					removed = true;
			}
		}
		/* Entries went away under the listing: read it again from the start. */
		if (removed && lseek(dfd, 0, SEEK_SET) < 0)
			return;
	}
}

void cs_migrate_abandon(void)
{
	if (!g_tmp_set)
		return;
	g_tmp_set = 0;
	int dfd = open(g_tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	unlink_level(dfd, 2);
	close(dfd);
	(void)rmdir(g_tmp);
}

/* A capture dir is flocked by its migration for as long as that runs, so one
 * whose flock can be taken was left by a killed migration (its key died with
 * it): the next migration removes it. */
static int sweep_one(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	(void)ctx;
	(void)err;
	struct stat st;
	struct cs_error ignore;
	if (strncmp(name, CAPTURE_PREFIX, sizeof CAPTURE_PREFIX - 1) != 0 ||
	    strlen(name) != sizeof CAPTURE_PREFIX - 1 + 6)
		return CS_OK;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return CS_OK;
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && flock(fd, LOCK_EX | LOCK_NB) == 0)
		(void)cs_rm_tree_at(dfd, name, name, &ignore);
	close(fd);
	return CS_OK;
}

static int make_tmp(char *dir, size_t len, int *lock_fd, struct cs_error *err)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)cs_dir_foreach(dfd, tmp, NULL, sweep_one, NULL, NULL);
		close(dfd);
	}
	for (int tries = 0;; tries++) {
		int n = snprintf(dir, len, "%s/" CAPTURE_PREFIX "XXXXXX", tmp);
		if (n < 0 || (size_t)n >= len)
			return cs_err_set(err, CS_ERR_USAGE, tmp, "TMPDIR is too long");
		if (!mkdtemp(dir))
			return cs_err_sys(err, dir, "create the capture dir");
		/* Another migration's sweep may take it before our flock does: then
		 * it is gone (or going), and we make another. */
		struct stat st;
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
		    st.st_nlink > 0) {
			*lock_fd = fd;
			if (strlen(dir) < sizeof g_tmp) {
				memcpy(g_tmp, dir, strlen(dir) + 1);
				g_tmp_set = 1;
			}
			return CS_OK;
		}
		if (fd >= 0)
			close(fd);
		if (tries == 10)
			return cs_err_set(err, CS_ERR_IO, dir, "create the capture dir: removed meanwhile");
	}
}

/* The output must not land inside the live source it is made from (the copy,
 * secrets included, would become part of the state).  The other way round is
 * an in-place conversion: the source is captured first, then swapped out as
 * the kept old tree. */
static int check_target_outside(const struct cs_snapshot_opts *src, const char *target,
				struct cs_error *err)
{
	char t[PATH_MAX], d[PATH_MAX];
	const char *dirs[3] = {src->state_dir, src->workspace_dir, src->media_dir};
	struct cs_error ignore;
	if (!target || cs_path_absolute(target, t, &ignore) != CS_OK)
		return CS_OK; /* the restore names what is wrong with it */
	for (size_t i = 0; i < 3; i++) {
		if (!dirs[i] || !realpath(dirs[i], d))
			continue;
		size_t n = strlen(d);
		/* The source itself is fine: it is captured, then swapped out. */
		if (strncmp(t, d, n) == 0 && (t[n] == '/' || (n == 1 && t[1])))
			return cs_err_set(err, CS_ERR_USAGE, t,
					  "the target is inside the source %s; write it elsewhere", d);
	}
	return CS_OK;
}

/* Does the target contain (or equal) one of the source dirs? */
static bool source_below(const struct cs_snapshot_opts *src, const char *target)
{
	char t[PATH_MAX], d[PATH_MAX];
	const char *dirs[3] = {src->state_dir, src->workspace_dir, src->media_dir};
	struct cs_error ignore;
	if (!target || cs_path_absolute(target, t, &ignore) != CS_OK)
		return false;
	size_t n = strlen(t);
	for (size_t i = 0; i < 3; i++)
		if (dirs[i] && realpath(dirs[i], d) && strncmp(d, t, n) == 0 &&
		    (d[n] == '\0' || d[n] == '/'))
			return true;
	return false;
}

int cs_migrate_state(const struct cs_snapshot_opts *src, const struct cs_restore_opts *opts,
		     struct cs_snapshot_result *sres, struct cs_restore_result *res,
		     struct cs_error *err)
{
	char tmp[PATH_MAX] = "", vdir[PATH_MAX + 8];
	int lock_fd = -1;
	unsigned char key[32]; /* a key file's length */
	struct cs_cred *cred = NULL;
	struct cs_vault *v = NULL;
	struct cs_error ignore;
	int rc, snap_rc;

	memset(sres, 0, sizeof *sres);
	memset(res, 0, sizeof *res);
	if ((rc = check_target_outside(src, opts->target, err)) != CS_OK)
		return rc;
	if ((rc = make_tmp(tmp, sizeof tmp, &lock_fd, err)) != CS_OK) {
		tmp[0] = '\0';
		goto out;
	}
	snprintf(vdir, sizeof vdir, "%s/vault", tmp);
	/* The key never leaves this process: the capture is unreadable once we exit. */
	randombytes_buf(key, sizeof key);
	rc = cs_cred_from_buffer(CS_CRED_KEYFILE, key, sizeof key, &cred, err);
	sodium_memzero(key, sizeof key);
	if (rc != CS_OK)
		goto out;
	struct cs_vault_create_opts vc = {.dir = vdir, .cred = cred, .kdf = CS_KDF_INTERACTIVE};
	if ((rc = cs_vault_create(&vc, err)) != CS_OK)
		goto out;
	if ((rc = cs_vault_open(vdir, CS_OPEN_WRITE, &v, err)) != CS_OK)
		goto out;
	if ((rc = cs_vault_unlock(v, cred, err)) != CS_OK)
		goto out;
	snap_rc = cs_snapshot_create(v, src, sres, err);
	if (snap_rc != CS_OK && snap_rc != CS_ERR_PARTIAL) {
		rc = snap_rc;
		/* The user never named this vault: say where it is and what to do. */
		if (rc == CS_ERR_NOSPACE || rc == CS_ERR_USAGE) {
			size_t n = strlen(err->what);
			snprintf(err->what + n, sizeof err->what - n,
				 " (the capture is made in %s; set TMPDIR to a dir with room, "
				 "outside the source)", tmp);
		}
		goto out;
	}
	cs_error_clear(err);
	/* Replacing the source itself from a capture that left entries out would
	 * delete them with --no-keep: keep the old tree then, whatever was asked. */
	struct cs_restore_opts o = *opts;
	if (snap_rc == CS_ERR_PARTIAL && o.replace && !o.keep_old &&
	    source_below(src, opts->target)) {
		o.keep_old = 1;
		if (o.report.warn)
			o.report.warn(o.report.ctx, src->state_dir,
				      "some entries could not be read: the old tree is kept despite "
				      "--no-keep, so nothing is lost");
	}
	rc = cs_restore_snapshot_as(v, sres->seq, 0, &o, res, err);
	if (rc == CS_OK && snap_rc == CS_ERR_PARTIAL)
		rc = cs_err_set(err, CS_ERR_PARTIAL, src->state_dir,
				"%llu entr%s of the source could not be read and %s left out",
				(unsigned long long)sres->skipped, sres->skipped == 1 ? "y" : "ies",
				sres->skipped == 1 ? "was" : "were");
out:
	cs_vault_close(v);
	cs_cred_free(cred);
	if (tmp[0]) {
		/* Best effort: what is left is encrypted under a key that is gone. */
		char dir[PATH_MAX], base[PATH_MAX];
		cs_path_split(tmp, dir, base);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)cs_rm_tree_at(dfd, base, tmp, &ignore);
			close(dfd);
		}
	}
	g_tmp_set = 0;
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
