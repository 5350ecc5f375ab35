/* stage_commit.c - the safe writer, part 2: metadata in the documented order,
 * one syncfs, and the swap of the staged tree into the target (stage.c makes
 * the staging dir and its entries; mountswap.c swaps inside a mount point). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Set one xattr without following a symlink: through an fd for files and
 * dirs, else by a path anchored at the parent's fd. */
static int xattr_try(int pfd, const char *base, int type, const struct cs_xattr *x)
{
	char p[320];
	if (type != CS_ENTRY_SYMLINK) {
		int fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			int r = fsetxattr(fd, x->name, x->value, x->len, 0);
			int saved = errno;
			close(fd);
			errno = saved;
			return r;
		}
		if (errno != EACCES)
			return -1;
	}
	snprintf(p, sizeof p, "/proc/self/fd/%d/%s", pfd, base);
	return lsetxattr(p, x->name, x->value, x->len, 0);
}

static int set_xattrs(struct cs_stage *st, int pfd, const char *base, const struct cs_entry *e,
		      struct cs_error *err)
{
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const struct cs_xattr *x = &e->xattrs[i];
		if (xattr_try(pfd, base, e->type, x) == 0)
			continue;
		/* user.* needs write permission on the inode; the mode was already set
		 * (the documented order), so a read-only file of a non-root restore
		 * gets u+w for the moment of the call. */
		if (errno == EACCES && !st->is_root && e->type != CS_ENTRY_SYMLINK &&
		    !(e->mode & S_IWUSR)) {
			mode_t tmp = (mode_t)((e->mode & 07777) | S_IRUSR | S_IWUSR);
			if (fchmodat(pfd, base, tmp, 0) == 0) {
				int r = xattr_try(pfd, base, e->type, x);
				int saved = errno;
				if (fchmodat(pfd, base, (mode_t)(e->mode & 07777), 0) < 0)
					return cs_err_sys(err, e->path, "chmod");
				errno = saved;
				if (r == 0)
					continue;
			}
		}
		char what[300];
		snprintf(what, sizeof what, "set xattr %s", x->name);
		return cs_err_sys(err, e->path, what);
	}
	return CS_OK;
}

/*
 * Set the resolved owner of one entry (pfd/base, or the staging root when
 * base is NULL).  Root applies the recorded ids unless an option says
 * otherwise; a non-root restore without an option cannot, and only counts.
 * With an option a non-root chown refused with EPERM does not stop the
 * restore: the tree is still complete and usable by its restorer, so the
 * commit goes on and ends with CS_ERR_PARTIAL naming the first entry.
 */
static int set_owner(struct cs_stage *st, int pfd, const char *base, const char *path,
		     uint32_t uid, uint32_t gid, struct cs_error *err)
{
	uint32_t u, g;
	if (!st->set_owner) {
		if (uid != geteuid() || gid != getegid())
			st->owners_skipped++;
		return CS_OK;
	}
	int rc = cs_owner_resolve(st->opts, path, uid, gid, &u, &g, err);
	if (rc != CS_OK)
		return rc;
	int r = base ? fchownat(pfd, base, u, g, AT_SYMLINK_NOFOLLOW) : fchown(st->stage_fd, u, g);
	if (r == 0)
		return CS_OK;
	if (errno != EPERM || st->is_root)
		return cs_err_sys(err, path, "chown");
	if (st->owners_failed++ == 0) {
		snprintf(st->owner_failed, sizeof st->owner_failed, "%s", path);
		st->owner_errno = errno;
	}
	return CS_OK;
}

/* Owner, then mode (chown clears setuid/setgid), then xattrs (chown drops
 * security.capability), then times (every change above touches ctime only,
 * but creating children touched the parent's mtime, hence dirs last). */
static int apply_meta(struct cs_stage *st, const struct cs_entry *e, struct cs_error *err)
{
	int pfd;
	const char *base;
	if (e->type == CS_ENTRY_HARDLINK)
		return CS_OK; /* same inode as its target, which carries the metadata */
	int rc = cs_stage_parent(st, e->path, &pfd, &base, err);
	if (rc != CS_OK)
		return rc;
	if ((rc = set_owner(st, pfd, base, e->path, e->uid, e->gid, err)) != CS_OK)
		return rc;
	if (e->type != CS_ENTRY_SYMLINK && fchmodat(pfd, base, (mode_t)(e->mode & 07777), 0) < 0)
		return cs_err_sys(err, e->path, "chmod");
	if ((rc = set_xattrs(st, pfd, base, e, err)) != CS_OK)
		return rc;
	struct timespec ts[2];
	ts[0].tv_sec = ts[1].tv_sec = (time_t)e->mtime_sec;
	ts[0].tv_nsec = ts[1].tv_nsec = e->mtime_nsec;
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return cs_err_sys(err, e->path, "set times");
	return CS_OK;
}

static int apply_all_meta(struct cs_stage *st, const struct cs_entry *entries, size_t n,
			  const struct cs_restore_result *res, struct cs_error *err)
{
	/* Reverse walk order puts every child before its parent: a directory's
	 * times are set after nothing below it changes any more, and a directory
	 * made read-only or untraversable no longer needs to be entered. */
	for (size_t i = n; i-- > 0;) {
		int rc = apply_meta(st, &entries[i], err);
		if (rc != CS_OK)
			return rc;
	}
	/* Inside a mount point the staging root is not the target: what the
	 * target gets is recorded in the journal and applied after the swap. */
	if (st->inside)
		return cs_mount_root_meta(st, res, err);
	/* A docker output dir holds the volume dirs: it is the invoker's, 0755. */
	if (st->root_plain) {
		if (fchmod(st->stage_fd, 0755) < 0)
			return cs_err_sys(err, st->target, "chmod");
		return CS_OK;
	}
	/* The staging root becomes the target dir itself: owner of the source state
	 * dir (or --owner), then its mode (private 0700 until now). */
	int rc = set_owner(st, -1, NULL, st->target, res->info.uid, res->info.gid, err);
	if (rc != CS_OK)
		return rc;
	/* The root's mode and mtime come from the source state dir, set last
	 * because creating its children changed its mtime. */
	mode_t root_mode = res->info.root_mode ? (mode_t)res->info.root_mode : st->root_mode;
	if (fchmod(st->stage_fd, root_mode) < 0)
		return cs_err_sys(err, st->target, "chmod");
	if (res->info.root_mtime_sec || res->info.root_mtime_nsec) {
		struct timespec ts[2] = {
			{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
			{.tv_sec = res->info.root_mtime_sec, .tv_nsec = res->info.root_mtime_nsec}};
		if (futimens(st->stage_fd, ts) < 0)
			return cs_err_sys(err, st->target, "set times");
	}
	return CS_OK;
}

static int swap_error(struct cs_stage *st, struct cs_error *err)
{
	if (errno == EINVAL || errno == ENOSYS)
		return cs_err_set(err, CS_ERR_UNSUPPORTED, st->target,
				  "the filesystem cannot swap directories atomically");
	return cs_err_sys(err, st->target, "rename the staged tree into place");
}

/* The old tree sits under the stage name after an exchange: drop it when it
 * is empty or --no-keep said so, else keep it under an old name. */
static int settle_old_tree(struct cs_stage *st, bool was_empty, struct cs_restore_result *res,
			   struct cs_error *err)
{
	int rc = CS_OK;
	if (was_empty && unlinkat(st->parent_fd, st->stage_name, AT_REMOVEDIR) == 0) {
		st->made_stage = false;
		return CS_OK;
	}
	res->replaced = 1;
	/* Without --replace nothing may be deleted, even if the empty target got
	 * content while we staged. */
	if (st->replace && !st->keep_old)
		rc = cs_rm_tree_at(st->parent_fd, st->stage_name, st->stage_name, err);
	else
		rc = cs_stage_rename_old(st, st->stage_name, st->seq, res->old_path, err);
	if (rc == CS_OK)
		st->made_stage = false;
	return rc;
}

int cs_stage_commit(struct cs_stage *st, const struct cs_entry *entries, size_t n,
		    struct cs_restore_result *res, struct cs_error *err)
{
	bool exists, empty;
	int rc;
	res->replaced = 0;
	res->old_path[0] = '\0';
	if ((rc = apply_all_meta(st, entries, n, res, err)) != CS_OK)
		return rc;
	if (st->cache_fd >= 0) {
		close(st->cache_fd);
		st->cache_fd = -1;
	}
	/* One syncfs makes every staged byte and inode durable before the swap. */
	cs_test_point("fsync");
	if (syncfs(st->stage_fd) < 0)
		return cs_err_sys(err, st->target, "syncfs");

	/* The target may have changed while we staged: check it again. */
	if ((rc = cs_stage_refusals(st, UINT64_MAX, &exists, &empty, err)) != CS_OK)
		return rc;
	if (st->inside) {
		if ((rc = cs_mount_commit(st, res, err)) != CS_OK)
			return rc;
		goto done;
	}
	/* Mounted over while we staged beside it: stage again inside. */
	if (st->mount)
		return cs_mount_restage(st, entries, n, res, err);
	cs_test_point("rename");
	if (!exists) {
		if (renameat2(st->parent_fd, st->stage_name, st->parent_fd, st->base,
			      RENAME_NOREPLACE) < 0) {
			if (errno == EEXIST)
				return cs_err_set(err, CS_ERR_EXISTS, st->target,
						  "target appeared during the restore");
			return swap_error(st, err);
		}
		st->swapped = true;
		st->made_stage = false;
	} else {
		if (renameat2(st->parent_fd, st->stage_name, st->parent_fd, st->base,
			      RENAME_EXCHANGE) < 0) {
			/* A mount point the checks did not see (a kernel without
			 * STATX_ATTR_MOUNT_ROOT and a bind mount of the same fs). */
			if (errno == EBUSY || errno == EXDEV)
				return cs_mount_restage(st, entries, n, res, err);
			return swap_error(st, err);
		}
		st->swapped = true;
		if ((rc = cs_fsync(st->parent_fd, st->parent, err)) != CS_OK)
			return rc;
		if ((rc = settle_old_tree(st, empty, res, err)) != CS_OK)
			return rc;
	}
	if ((rc = cs_fsync(st->parent_fd, st->parent, err)) != CS_OK)
		return rc;
	if (unlinkat(st->parent_fd, st->lock_name, 0) < 0)
		return cs_err_sys(err, st->target, "remove the staging lock");
	st->made_lock = false;
	if ((rc = cs_fsync(st->parent_fd, st->parent, err)) != CS_OK)
		return rc;
done:
	res->owners_skipped = st->owners_skipped;
	res->owners_failed = st->owners_failed;
	if (st->owners_failed) {
		rc = cs_err_set(err, CS_ERR_PARTIAL, st->owner_failed,
				"owner not set (%s); %d entr%s keep the restoring user's ids",
				strerror(st->owner_errno), st->owners_failed,
				st->owners_failed == 1 ? "y" : "ies");
		err->sys_errno = st->owner_errno;
	}
	cs_stage_free(st);
	return rc;
}
