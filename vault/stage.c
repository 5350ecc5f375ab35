/* stage.c - the safe writer, part 1: prepare a staging dir beside the target,
 * or inside it when it is a mount point (stale-run cleanup, refusals, lock),
 * and create entries in it by dirfd.  stage_commit.c applies metadata and
 * swaps the tree in (mountswap.c inside a mount point).  Rules and crash
 * states: docs/FORMAT.md. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STAGE_BUF (1u << 20)
#define FREE_SLACK (1ull << 20)

static const char STAGE_TAG[] = ".clawstate-stage-";
static const char OLD_TAG[] = ".clawstate-old-";
static const char LOCK_SUFFIX[] = ".lock";

/* ---- target resolution and refusals ------------------------------------------- */

/* Resolve opts->target into absolute path, parent dir (opened) and base name. */
static int target_resolve(const struct cs_restore_opts *opts, struct cs_stage *st,
			  struct cs_error *err)
{
	char dir[PATH_MAX];
	if (!opts->target || !opts->target[0])
		return cs_err_set(err, CS_ERR_USAGE, NULL, "no target directory");
	int rc = cs_path_absolute(opts->target, st->target, err);
	if (rc != CS_OK) {
		/* Restores create only the target and two siblings, never parents. */
		if (rc == CS_ERR_IO && err->sys_errno == ENOENT)
			return cs_err_set(err, CS_ERR_NOTFOUND, opts->target,
					  "parent directory of the target does not exist");
		return rc;
	}
	cs_path_split(st->target, dir, st->base);
	if (strcmp(st->target, "/") == 0 || !st->base[0] || strcmp(st->base, "/") == 0)
		return cs_err_set(err, CS_ERR_USAGE, st->target, "cannot restore onto /");
	/* The longest sibling we make: BASE.clawstate-stage-XXXXXXXX.lock and
	 * BASE.clawstate-old-<20 digits>.<n>. */
	if (strlen(st->base) + sizeof OLD_TAG + 20 + 8 > NAME_MAX)
		return cs_err_set(err, CS_ERR_USAGE, st->target, "target name too long");
	snprintf(st->parent, sizeof st->parent, "%s", dir);
	st->parent_fd = open(st->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->parent_fd < 0) {
		if (errno == ENOENT)
			return cs_err_set(err, CS_ERR_NOTFOUND, st->parent,
					  "parent directory of the target does not exist");
		return cs_err_sys(err, st->parent, "open directory");
	}
	st->home = (struct cs_stage_home){st->parent_fd, st->parent, st->base};
	return CS_OK;
}

/* Any entry at all: the directory is not empty. */
static int note_entry(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	bool *empty = ctx;
	*empty = false;
	return CS_DIR_STOP;
}

static int target_state(struct cs_stage *st, bool *exists, bool *empty, struct cs_error *err)
{
	struct stat sb;
	*exists = false;
	*empty = true;
	if (fstatat(st->parent_fd, st->base, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return CS_OK;
		return cs_err_sys(err, st->target, "stat");
	}
	*exists = true;
	if (!S_ISDIR(sb.st_mode))
		return cs_err_set(err, CS_ERR_EXISTS, st->target,
				  S_ISLNK(sb.st_mode) ? "target is a symlink; not replaced"
						      : "target exists and is not a directory");
	bool mount = false;
	int rc = cs_is_mount_root(st->parent_fd, st->base, &mount, err);
	if (rc != CS_OK)
		return rc;
	st->mount = mount || st->force_inside;
	int fd = openat(st->parent_fd, st->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cs_err_sys(err, st->target, "open directory");
	struct stat now;
	/* The dir we hold open (settled, or staging inside it) must still be the
	 * one under the name: not unmounted, remounted or mounted over since. */
	if (st->target_fd >= 0 && (fstat(fd, &now) < 0 || fstat(st->target_fd, &sb) < 0 ||
				   now.st_dev != sb.st_dev || now.st_ino != sb.st_ino))
		rc = cs_err_set(err, CS_ERR_EXISTS, st->target,
				"target was replaced during the restore");
	else if (st->mount)
		rc = cs_mount_top_state(fd, st->target, empty, err);
	else
		rc = cs_dir_foreach(fd, st->target, NULL, note_entry, empty, err);
	close(fd);
	return rc;
}

int cs_stage_refusals(struct cs_stage *st, uint64_t bytes_needed, bool *exists, bool *empty,
		      struct cs_error *err)
{
	int rc = target_state(st, exists, empty, err);
	if (rc != CS_OK)
		return rc;
	if (*exists && !*empty) {
		/* A mount below the target would move away with the old tree (or into the
		 * kept old dir) and the new tree land on the wrong filesystem. */
		char mp[PATH_MAX];
		bool below = false;
		if ((rc = cs_mount_below(st->target, mp, sizeof mp, &below, err)) != CS_OK)
			return rc;
		if (below)
			return cs_err_set(err, CS_ERR_MOUNT, mp,
					  "a mount point inside the target would be moved away with "
					  "the old tree; restore into the mount point itself, or "
					  "unmount it");
	}
	if (*exists && !*empty && !st->replace)
		return cs_err_set(err, CS_ERR_EXISTS, st->target, "target is not empty (use --replace)");
	if (*exists && !st->force) {
		pid_t pid = 0;
		if ((rc = cs_gateway_running(st->target, &pid, err)) != CS_OK)
			return rc;
		if (pid > 0)
			return cs_err_set(err, CS_ERR_LIVE, st->target,
					  "an OpenClaw gateway is running on the target (pid %ld); "
					  "stop it first (or use --force)",
					  (long)pid);
	}
	/* UINT64_MAX: skip the check (commit); a list that needs that much cannot
	 * fit anyway, so its sum saturates at UINT64_MAX - 1. */
	if (bytes_needed != UINT64_MAX) {
		struct statvfs vfs;
		/* Inside a mount point the tree is staged on the mounted filesystem. */
		bool in = st->mount && st->target_fd >= 0;
		if (fstatvfs(in ? st->target_fd : st->parent_fd, &vfs) < 0)
			return cs_err_sys(err, in ? st->target : st->parent, "statvfs");
		uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
		if (avail < bytes_needed || avail - bytes_needed < FREE_SLACK)
			return cs_err_set(err, CS_ERR_NOSPACE, st->target,
					  "not enough free space (need %" PRIu64 " bytes, %" PRIu64
					  " available)",
					  (uint64_t)(bytes_needed > UINT64_MAX - FREE_SLACK
						  ? UINT64_MAX
						  : bytes_needed + FREE_SLACK),
					  avail);
	}
	return CS_OK;
}

/* ---- sibling names ------------------------------------------------------------ */

int cs_stage_old_name(const char *prefix, uint64_t seq, unsigned k, char *buf)
{
	int n = k == 0 ? snprintf(buf, NAME_MAX + 1, "%s%s%" PRIu64, prefix, OLD_TAG, seq)
		       : snprintf(buf, NAME_MAX + 1, "%s%s%" PRIu64 ".%u", prefix, OLD_TAG, seq, k);
	return n < 0 || n > NAME_MAX ? -1 : 0;
}

static int rename_old_in(const struct cs_stage_home *h, const char *target, const char *from,
			 uint64_t seq, char *old_path, struct cs_error *err)
{
	char name[NAME_MAX + 1];
	for (unsigned k = 0; k < 10000; k++) {
		if (cs_stage_old_name(h->prefix, seq, k, name) < 0)
			return cs_err_set(err, CS_ERR_USAGE, target, "target name too long");
		cs_test_point("rename");
		if (renameat2(h->fd, from, h->fd, name, RENAME_NOREPLACE) == 0) {
			if (old_path && snprintf(old_path, PATH_MAX, "%s/%s",
						 strcmp(h->path, "/") ? h->path : "",
						 name) >= PATH_MAX)
				old_path[0] = '\0';
			return CS_OK;
		}
		if (errno != EEXIST)
			return cs_err_sys(err, target, "rename the old tree");
	}
	return cs_err_set(err, CS_ERR_EXISTS, target, "no free name for the old tree");
}

int cs_stage_rename_old(struct cs_stage *st, const char *from, uint64_t seq, char *old_path,
			struct cs_error *err)
{
	/* Only an exchange leaves an old tree under a stage name: beside the target. */
	struct cs_stage_home h = {st->parent_fd, st->parent, st->base};
	return rename_old_in(&h, st->target, from, seq, old_path, err);
}

/* ---- stale staging dirs of earlier runs -------------------------------------------- */

struct lock_text {
	unsigned long long dev, ino, seq;
	long pid;
	int fields;
};

static void read_lock_text(int fd, struct lock_text *lt)
{
	char buf[128];
	memset(lt, 0, sizeof *lt);
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	lt->fields = sscanf(buf, "%llu:%llu %ld %llu", &lt->dev, &lt->ino, &lt->pid, &lt->seq);
}

/* The temporary journal of a run that staged inside a mount point. */
static void drop_temp_journal(const struct cs_stage_home *h, const char *stage)
{
	char name[NAME_MAX + 16];
	struct stat sb;
	snprintf(name, sizeof name, "%s.journal", stage);
	if (fstatat(h->fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
		(void)unlinkat(h->fd, name, 0);
}

/*
 * One leftover <prefix>.clawstate-stage-<id>.lock in h.  Held by a live
 * process: busy.  Otherwise the run that made it died: its staging dir, if it
 * still has the recorded dev:ino, is ours and unfinished (removed); anything
 * else under that name is the old tree swapped out by an exchange (renamed to
 * an old name, never deleted).  A journal in h was replayed before this runs.
 */
static int clean_one(const struct cs_stage_home *h, const char *target, const char *lockname,
		     uint64_t run_seq, bool check_only, int *removed, struct cs_error *err)
{
	int rc = CS_OK;
	char stage[NAME_MAX + 1];
	struct lock_text lt;
	struct stat sb;
	/* Ours are regular files (O_CREAT|O_EXCL|O_NOFOLLOW).  Anything else under a
	 * lock name (a symlink, a FIFO, a device, a dir) is not, and is left alone:
	 * never opened, followed or removed. */
	if (fstatat(h->fd, lockname, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? CS_OK : cs_err_sys(err, lockname, "stat stale lock");
	if (!S_ISREG(sb.st_mode))
		return CS_OK;
	int fd = openat(h->fd, lockname, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return CS_OK; /* gone, or swapped for a symlink meanwhile */
		return cs_err_sys(err, lockname, "open stale lock");
	}
	if (fstat(fd, &sb) < 0) {
		rc = cs_err_sys(err, lockname, "fstat stale lock");
		goto out;
	}
	if (!S_ISREG(sb.st_mode))
		goto out;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			read_lock_text(fd, &lt);
			if (lt.fields >= 3)
				rc = cs_err_set(err, CS_ERR_BUSY, target,
						"another restore to %s is running (pid %ld)",
						target, lt.pid);
			else
				rc = cs_err_set(err, CS_ERR_BUSY, target,
						"another restore to %s is running", target);
		} else {
			rc = cs_err_sys(err, lockname, "flock");
		}
		goto out;
	}
	if (check_only)
		goto out;
	read_lock_text(fd, &lt);
	size_t n = strlen(lockname) - (sizeof LOCK_SUFFIX - 1);
	memcpy(stage, lockname, n);
	stage[n] = '\0';
	if (fstatat(h->fd, stage, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			rc = cs_err_sys(err, stage, "stat stale staging dir");
			goto out;
		}
	} else if (lt.fields >= 2 && S_ISDIR(sb.st_mode) && sb.st_dev == (dev_t)lt.dev &&
		   sb.st_ino == (ino_t)lt.ino) {
		if ((rc = cs_rm_tree_at(h->fd, stage, stage, err)) != CS_OK)
			goto out;
		if (removed)
			(*removed)++;
	} else if (lt.fields < 2 && S_ISDIR(sb.st_mode) &&
		   unlinkat(h->fd, stage, AT_REMOVEDIR) == 0) {
		/* Died between making the lock and recording dev:ino: the dir was
		 * still empty, so rmdir succeeding proves nothing was lost. */
		if (removed)
			(*removed)++;
	} else {
		uint64_t seq = lt.fields >= 4 ? (uint64_t)lt.seq : run_seq;
		if ((rc = rename_old_in(h, target, stage, seq, NULL, err)) != CS_OK)
			goto out;
	}
	drop_temp_journal(h, stage);
	if (unlinkat(h->fd, lockname, 0) < 0 && errno != ENOENT)
		rc = cs_err_sys(err, lockname, "remove stale lock");
out:
	close(fd);
	return rc;
}

static bool is_stage_lock(const char *prefix, const char *n)
{
	size_t bl = strlen(prefix), nl = strlen(n);
	size_t tl = sizeof STAGE_TAG - 1, sl = sizeof LOCK_SUFFIX - 1;
	return nl > bl + tl + sl && memcmp(n, prefix, bl) == 0 &&
	       memcmp(n + bl, STAGE_TAG, tl) == 0 && memcmp(n + nl - sl, LOCK_SUFFIX, sl) == 0;
}

struct stale_names {
	const struct cs_stage_home *h;
	const char *own_lock;
	char **names;
	size_t n, cap;
};

static int collect_stale(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	struct stale_names *c = ctx;
	if (!is_stage_lock(c->h->prefix, name) || (c->own_lock && strcmp(name, c->own_lock) == 0))
		return CS_OK;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 8;
		char **nn = realloc(c->names, nc * sizeof *nn);
		if (!nn)
			return cs_err_set(err, CS_ERR_NOMEM, c->h->path, "out of memory");
		c->names = nn;
		c->cap = nc;
	}
	if (!(c->names[c->n] = strdup(name)))
		return cs_err_set(err, CS_ERR_NOMEM, c->h->path, "out of memory");
	c->n++;
	return CS_OK;
}

int cs_stage_clean(const struct cs_stage_home *h, const char *target, const char *own_lock,
		   uint64_t seq, bool check_only, int *removed, struct cs_error *err)
{
	struct stale_names c = {h, own_lock, NULL, 0, 0};
	/* Collect first: cleaning renames entries of the dir being read. */
	int rc = cs_dir_foreach(h->fd, h->path, NULL, collect_stale, &c, err);
	for (size_t i = 0; i < c.n && rc == CS_OK; i++)
		rc = clean_one(h, target, c.names[i], seq, check_only, removed, err);
	for (size_t i = 0; i < c.n; i++)
		free(c.names[i]);
	free(c.names);
	return rc;
}

/* ---- open / check / abort ---------------------------------------------------------- */

static struct cs_stage *stage_new(const struct cs_restore_opts *opts, uint64_t seq)
{
	struct cs_stage *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->parent_fd = st->stage_fd = st->lock_fd = st->cache_fd = st->target_fd = -1;
	st->home.fd = -1;
	st->seq = seq;
	st->replace = opts->replace != 0;
	st->keep_old = opts->keep_old != 0;
	st->force = opts->force != 0;
	st->is_root = geteuid() == 0;
	st->opts = opts;
	st->set_owner = st->is_root || cs_owner_opts_given(opts);
	/* Fallback for a source that recorded no root mode (0): OpenClaw's 0700. */
	st->root_mode = 0700;
	return st;
}

void cs_stage_free(struct cs_stage *st)
{
	if (!st)
		return;
	if (st->cache_fd >= 0)
		close(st->cache_fd);
	if (st->stage_fd >= 0)
		close(st->stage_fd);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	if (st->target_fd >= 0)
		close(st->target_fd);
	if (st->parent_fd >= 0)
		close(st->parent_fd);
	free(st->buf);
	free(st);
}

/* Inside an existing target dir: finish an interrupted mount-point swap (its
 * journal), then settle stale runs that staged there.  Leaves the dir open in
 * st->target_fd. */
static int settle_inside(struct cs_stage *st, bool check_only, struct cs_error *err)
{
	struct stat sb;
	if (fstatat(st->parent_fd, st->base, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? CS_OK : cs_err_sys(err, st->target, "stat");
	if (!S_ISDIR(sb.st_mode))
		return CS_OK; /* refused by target_state */
	st->target_fd = openat(st->parent_fd, st->base,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->target_fd < 0)
		return cs_err_sys(err, st->target, "open directory");
	struct cs_stage_home in = {st->target_fd, st->target, ""};
	int rc = cs_mount_settle(st->target_fd, st->target, check_only, NULL, err);
	if (rc == CS_OK)
		rc = cs_stage_clean(&in, st->target, NULL, st->seq, check_only, NULL, err);
	return rc;
}

int cs_stage_check(const struct cs_restore_opts *opts, uint64_t bytes_needed, struct cs_error *err)
{
	bool exists, empty;
	struct cs_stage *st = stage_new(opts, 0);
	if (!st)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	int rc = target_resolve(opts, st, err);
	if (rc == CS_OK)
		rc = cs_stage_clean(&st->home, st->target, NULL, st->seq, true, NULL, err);
	if (rc == CS_OK)
		rc = settle_inside(st, true, err);
	if (rc == CS_OK)
		rc = cs_stage_refusals(st, bytes_needed, &exists, &empty, err);
	cs_stage_free(st);
	return rc;
}

/* Make the lock, then the dir, then record the dir's dev:ino in the lock: a
 * crash at any point leaves something clean_one() can settle. */
static int stage_create(struct cs_stage *st, struct cs_error *err)
{
	unsigned char rnd[4];
	char id[9], text[96];
	struct stat sb;
	const struct cs_stage_home *h = &st->home;
	randombytes_buf(rnd, sizeof rnd);
	cs_hex(rnd, sizeof rnd, id);
	if ((size_t)snprintf(st->stage_name, sizeof st->stage_name, "%s%s%s", h->prefix, STAGE_TAG,
			     id) >= sizeof st->stage_name ||
	    (size_t)snprintf(st->lock_name, sizeof st->lock_name, "%s%s", st->stage_name,
			     LOCK_SUFFIX) >= sizeof st->lock_name ||
	    (size_t)snprintf(st->stage_path, sizeof st->stage_path, "%s/%s",
			     strcmp(h->path, "/") ? h->path : "",
			     st->stage_name) >= sizeof st->stage_path)
		return cs_err_set(err, CS_ERR_USAGE, st->target, "target name too long");
	st->lock_fd = openat(h->fd, st->lock_name,
			     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lock_fd < 0)
		return cs_err_sys(err, st->target, "create staging lock");
	st->made_lock = true;
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return cs_err_sys(err, st->target, "flock staging lock");
	if (mkdirat(h->fd, st->stage_name, 0700) < 0)
		return cs_err_sys(err, st->target, "create staging dir");
	st->made_stage = true;
	st->stage_fd = openat(h->fd, st->stage_name,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->stage_fd < 0)
		return cs_err_sys(err, st->target, "open staging dir");
	if (fstat(st->stage_fd, &sb) < 0)
		return cs_err_sys(err, st->target, "stat staging dir");
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	/* The umask may have narrowed it; we must be able to add children. */
	if (fchmod(st->stage_fd, 0700) < 0)
		return cs_err_sys(err, st->target, "chmod staging dir");
	int n = snprintf(text, sizeof text, "%llu:%llu %ld %" PRIu64 "\n",
			 (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
			 (long)getpid(), st->seq);
	int rc = cs_write_all(st->lock_fd, text, (size_t)n, st->lock_name, err);
	if (rc == CS_OK)
		rc = cs_fsync(st->lock_fd, st->lock_name, err);
	if (rc == CS_OK)
		rc = cs_fsync(h->fd, h->path, err);
	return rc;
}

/* Everything of cs_stage_open after the sibling scan: settle inside the
 * target, the refusals, then the staging dir beside it or, for a mount
 * point, inside it. */
static int stage_prepare(struct cs_stage *st, uint64_t bytes_needed, struct cs_error *err)
{
	bool exists, empty;
	int rc;
	if ((rc = settle_inside(st, false, err)) != CS_OK)
		return rc;
	if ((rc = cs_stage_refusals(st, bytes_needed, &exists, &empty, err)) != CS_OK)
		return rc;
	if (st->mount) {
		if (st->target_fd < 0)
			return cs_err_set(err, CS_ERR_EXISTS, st->target,
					  "target appeared during the restore");
		st->inside = true;
		st->home = (struct cs_stage_home){st->target_fd, st->target, ""};
	} else if (st->target_fd >= 0) {
		if ((rc = cs_close(&st->target_fd, st->target, err)) != CS_OK)
			return rc;
	}
	if (!(st->buf = malloc(STAGE_BUF)))
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	if ((rc = stage_create(st, err)) != CS_OK)
		return rc;
	/* Two runs that started together both passed the first scan; now that our
	 * lock exists, at least one of them sees the other. */
	return cs_stage_clean(&st->home, st->target, st->lock_name, st->seq, true, NULL, err);
}

int cs_stage_open(const struct cs_restore_opts *opts, uint64_t seq, uint64_t bytes_needed,
		  struct cs_stage **out, struct cs_error *err)
{
	int rc;
	struct cs_stage *st = stage_new(opts, seq);
	*out = NULL;
	if (!st)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	if ((rc = target_resolve(opts, st, err)) != CS_OK)
		goto out;
	if ((rc = cs_stage_clean(&st->home, st->target, NULL, seq, false, NULL, err)) != CS_OK)
		goto out;
	rc = stage_prepare(st, bytes_needed, err);
out:
	if (rc != CS_OK) {
		cs_stage_abort(st);
		return rc;
	}
	*out = st;
	return CS_OK;
}

int cs_stage_open_inside(const struct cs_stage *old, struct cs_stage **out, struct cs_error *err)
{
	int rc;
	struct cs_stage *st = stage_new(old->opts, old->seq);
	*out = NULL;
	if (!st)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	memcpy(st->target, old->target, sizeof st->target);
	memcpy(st->parent, old->parent, sizeof st->parent);
	memcpy(st->base, old->base, sizeof st->base);
	st->root_mode = old->root_mode;
	st->root_plain = old->root_plain;
	st->force_inside = true;
	if ((st->parent_fd = fcntl(old->parent_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		rc = cs_err_sys(err, st->parent, "dup");
		goto out;
	}
	st->home = (struct cs_stage_home){st->parent_fd, st->parent, st->base};
	rc = stage_prepare(st, UINT64_MAX, err);
out:
	if (rc != CS_OK) {
		cs_stage_abort(st);
		return rc;
	}
	*out = st;
	return CS_OK;
}

void cs_stage_abort(struct cs_stage *st)
{
	struct cs_error ignore;
	struct stat sb;
	bool drop_lock = true;
	if (!st)
		return;
	if (st->journaled) {
		/* The swap inside a mount point began: only a replay may go on
		 * (forward), so stage, journal and lock stay as they are. */
		drop_lock = false;
	} else if (st->swapped && st->made_stage) {
		/* The exchange happened: the stage name holds the old tree. */
		if (cs_stage_rename_old(st, st->stage_name, st->seq, NULL, &ignore) != CS_OK)
			drop_lock = false; /* the next run renames it */
	} else if (st->made_stage && !st->swapped &&
		   fstatat(st->home.fd, st->stage_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		   sb.st_dev == st->dev && sb.st_ino == st->ino) {
		if (st->cache_fd >= 0) {
			close(st->cache_fd);
			st->cache_fd = -1;
		}
		if (cs_rm_tree_at(st->home.fd, st->stage_name, st->stage_name, &ignore) != CS_OK)
			drop_lock = false;
	}
	if (st->made_lock && drop_lock) {
		if (st->inside)
			drop_temp_journal(&st->home, st->stage_name);
		(void)unlinkat(st->home.fd, st->lock_name, 0);
	}
	cs_stage_free(st);
}

/* ---- creating entries --------------------------------------------------------------- */

/* Open the staged directory at rel[0..len) component by component, never
 * following a symlink.  len == 0 is the staging root. */
static int open_dir_walk(struct cs_stage *st, const char *rel, size_t len, int *fd_out,
			 struct cs_error *err)
{
	char comp[NAME_MAX + 1];
	int fd = st->stage_fd;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && rel[j] != '/')
			j++;
		if (j - i > NAME_MAX) {
			if (fd != st->stage_fd)
				close(fd);
			return cs_err_set(err, CS_ERR_HOSTILE, rel, "name too long");
		}
		memcpy(comp, rel + i, j - i);
		comp[j - i] = '\0';
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int saved = errno;
		if (fd != st->stage_fd)
			close(fd);
		if (nfd < 0) {
			errno = saved;
			return cs_err_sys(err, rel, "open parent directory");
		}
		fd = nfd;
		i = j + 1;
	}
	if (fd == st->stage_fd && (fd = dup(st->stage_fd)) < 0)
		return cs_err_sys(err, rel, "dup");
	*fd_out = fd;
	return CS_OK;
}

int cs_stage_parent(struct cs_stage *st, const char *path, int *pfd, const char **base,
		    struct cs_error *err)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	*base = slash ? slash + 1 : path;
	/* Entries come in walk order, so siblings share the cached parent. */
	if (st->cache_fd >= 0 && st->cache_len == len && memcmp(st->cache_path, path, len) == 0) {
		*pfd = st->cache_fd;
		return CS_OK;
	}
	if (st->cache_fd >= 0) {
		close(st->cache_fd);
		st->cache_fd = -1;
	}
	int rc = open_dir_walk(st, path, len, &st->cache_fd, err);
	if (rc != CS_OK)
		return rc;
	memcpy(st->cache_path, path, len);
	st->cache_len = len;
	*pfd = st->cache_fd;
	return CS_OK;
}

static int add_file(struct cs_stage *st, int pfd, const char *base, const struct cs_entry *e,
		    cs_content_fn read, void *rctx, struct cs_error *err)
{
	int rc = CS_OK;
	uint64_t total = 0;
	cs_hash_state hs;
	unsigned char hash[CS_HASH_BYTES];
	/* Final permission bits from the first byte; setuid/setgid/sticky come at
	 * commit, after the owner is set (chown clears them). */
	int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			(mode_t)(e->mode & 0777));
	if (fd < 0)
		return cs_err_sys(err, e->path, "create file");
	cs_hash_init(&hs);
	for (;;) {
		size_t got = 0;
		if ((rc = read(rctx, st->buf, STAGE_BUF, &got, err)) != CS_OK)
			goto out;
		if (got == 0)
			break;
		if (got > e->size - total) {
			rc = cs_err_set(err, CS_ERR_CORRUPT, e->path,
					"size mismatch (more than %" PRIu64 " bytes)", e->size);
			goto out;
		}
		cs_hash_update(&hs, st->buf, got);
		if ((rc = cs_write_all(fd, st->buf, got, e->path, err)) != CS_OK)
			goto out;
		total += got;
	}
	cs_hash_final(&hs, hash);
	if (total != e->size) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, e->path,
				"size mismatch (%" PRIu64 " bytes, expected %" PRIu64 ")", total, e->size);
		goto out;
	}
	if (sodium_memcmp(hash, e->hash, sizeof hash) != 0)
		rc = cs_err_set(err, CS_ERR_CORRUPT, e->path, "content hash mismatch");
out:
	if (cs_close(&fd, e->path, err) != CS_OK && rc == CS_OK)
		rc = err->code;
	return rc;
}

static int add_hardlink(struct cs_stage *st, int pfd, const char *base, const struct cs_entry *e,
			struct cs_error *err)
{
	const char *slash = strrchr(e->target, '/');
	size_t len = slash ? (size_t)(slash - e->target) : 0;
	const char *tbase = slash ? slash + 1 : e->target;
	int tfd = -1;
	int rc = open_dir_walk(st, e->target, len, &tfd, err);
	if (rc != CS_OK)
		return rc;
	struct stat sb;
	if (fstatat(tfd, tbase, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		rc = cs_err_sys(err, e->path, "hardlink target");
	else if (!S_ISREG(sb.st_mode))
		rc = cs_err_set(err, CS_ERR_HOSTILE, e->path, "hardlink target is not a regular file");
	else if (linkat(tfd, tbase, pfd, base, 0) < 0)
		rc = cs_err_sys(err, e->path, "link");
	close(tfd);
	return rc;
}

int cs_stage_add(struct cs_stage *st, const struct cs_entry *e, cs_content_fn read, void *rctx,
		 struct cs_error *err)
{
	int pfd;
	const char *base;
	int rc = cs_stage_parent(st, e->path, &pfd, &base, err);
	if (rc != CS_OK)
		return rc;
	switch (e->type) {
	case CS_ENTRY_FILE:
		if (!read)
			return cs_err_set(err, CS_ERR_USAGE, e->path, "no content source");
		return add_file(st, pfd, base, e, read, rctx, err);
	case CS_ENTRY_DIR:
		/* 0700 until commit so children can be made whatever the final mode. */
		if (mkdirat(pfd, base, 0700) < 0)
			return cs_err_sys(err, e->path, "mkdir");
		if (fchmodat(pfd, base, 0700, 0) < 0)
			return cs_err_sys(err, e->path, "chmod");
		return CS_OK;
	case CS_ENTRY_SYMLINK:
		/* Stored as text; nothing ever resolves it during the restore. */
		if (symlinkat(e->target, pfd, base) < 0)
			return cs_err_sys(err, e->path, "symlink");
		return CS_OK;
	case CS_ENTRY_HARDLINK:
		return add_hardlink(st, pfd, base, e, err);
	default:
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "unsupported entry type (%d)", e->type);
	}
}
