/* stage.c - the safe writer, part 1: prepare a staging dir beside the target
 * (stale-run cleanup, refusals, lock) and create entries in it by dirfd.
 * stage_commit.c applies metadata and swaps the tree in.  Rules and crash
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
	if (mount)
		return cs_err_set(err, CS_ERR_MOUNT, st->target,
				  "target is a mount point; not supported yet");
	int fd = openat(st->parent_fd, st->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cs_err_sys(err, st->target, "open directory");
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
		if (fstatvfs(st->parent_fd, &vfs) < 0)
			return cs_err_sys(err, st->parent, "statvfs");
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

int cs_stage_rename_old(struct cs_stage *st, const char *from, uint64_t seq, char *old_path,
			struct cs_error *err)
{
	char name[NAME_MAX + 1];
	for (unsigned k = 0; k < 10000; k++) {
		int n = k == 0 ? snprintf(name, sizeof name, "%s%s%" PRIu64, st->base, OLD_TAG, seq)
			       : snprintf(name, sizeof name, "%s%s%" PRIu64 ".%u", st->base, OLD_TAG,
					  seq, k);
		if (n < 0 || (size_t)n >= sizeof name)
			return cs_err_set(err, CS_ERR_USAGE, st->target, "target name too long");
		cs_test_point("rename");
		if (renameat2(st->parent_fd, from, st->parent_fd, name, RENAME_NOREPLACE) == 0) {
			if (old_path && snprintf(old_path, PATH_MAX, "%s/%s",
						 strcmp(st->parent, "/") ? st->parent : "",
						 name) >= PATH_MAX)
				old_path[0] = '\0';
			return CS_OK;
		}
		if (errno != EEXIST)
			return cs_err_sys(err, st->target, "rename the old tree");
	}
	return cs_err_set(err, CS_ERR_EXISTS, st->target, "no free name for the old tree");
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

/*
 * One leftover BASE.clawstate-stage-<id>.lock.  Held by a live process: busy.
 * Otherwise the run that made it died: its staging dir, if it still has the
 * recorded dev:ino, is ours and unfinished (removed); anything else under that
 * name is the old tree swapped out by an exchange (renamed to an old name,
 * never deleted).
 */
static int clean_one(struct cs_stage *st, const char *lockname, bool check_only,
		     struct cs_error *err)
{
	int rc = CS_OK;
	char stage[NAME_MAX + 1];
	struct lock_text lt;
	struct stat sb;
	/* Ours are regular files (O_CREAT|O_EXCL|O_NOFOLLOW).  Anything else under a
	 * lock name (a symlink, a FIFO, a device, a dir) is not, and is left alone:
	 * never opened, followed or removed. */
	if (fstatat(st->parent_fd, lockname, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? CS_OK : cs_err_sys(err, lockname, "stat stale lock");
	if (!S_ISREG(sb.st_mode))
		return CS_OK;
	int fd = openat(st->parent_fd, lockname, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
				rc = cs_err_set(err, CS_ERR_BUSY, st->target,
						"another restore to %s is running (pid %ld)", st->target,
						lt.pid);
			else
				rc = cs_err_set(err, CS_ERR_BUSY, st->target,
						"another restore to %s is running", st->target);
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
	if (fstatat(st->parent_fd, stage, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			rc = cs_err_sys(err, stage, "stat stale staging dir");
			goto out;
		}
	} else if (lt.fields >= 2 && S_ISDIR(sb.st_mode) && sb.st_dev == (dev_t)lt.dev &&
		   sb.st_ino == (ino_t)lt.ino) {
		if ((rc = cs_rm_tree_at(st->parent_fd, stage, stage, err)) != CS_OK)
			goto out;
	} else if (lt.fields < 2 && S_ISDIR(sb.st_mode) &&
		   unlinkat(st->parent_fd, stage, AT_REMOVEDIR) == 0) {
		/* Died between making the lock and recording dev:ino: the dir was
		 * still empty, so rmdir succeeding proves nothing was lost. */
	} else {
		uint64_t seq = lt.fields >= 4 ? (uint64_t)lt.seq : st->seq;
		if ((rc = cs_stage_rename_old(st, stage, seq, NULL, err)) != CS_OK)
			goto out;
	}
	if (unlinkat(st->parent_fd, lockname, 0) < 0 && errno != ENOENT)
		rc = cs_err_sys(err, lockname, "remove stale lock");
out:
	close(fd);
	return rc;
}

static bool is_stage_lock(const struct cs_stage *st, const char *n)
{
	size_t bl = strlen(st->base), nl = strlen(n);
	size_t tl = sizeof STAGE_TAG - 1, sl = sizeof LOCK_SUFFIX - 1;
	return nl > bl + tl + sl && memcmp(n, st->base, bl) == 0 &&
	       memcmp(n + bl, STAGE_TAG, tl) == 0 && memcmp(n + nl - sl, LOCK_SUFFIX, sl) == 0;
}

struct stale_names {
	struct cs_stage *st;
	char **names;
	size_t n, cap;
};

static int collect_stale(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	struct stale_names *c = ctx;
	if (!is_stage_lock(c->st, name) || strcmp(name, c->st->lock_name) == 0)
		return CS_OK;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 8;
		char **nn = realloc(c->names, nc * sizeof *nn);
		if (!nn)
			return cs_err_set(err, CS_ERR_NOMEM, c->st->parent, "out of memory");
		c->names = nn;
		c->cap = nc;
	}
	if (!(c->names[c->n] = strdup(name)))
		return cs_err_set(err, CS_ERR_NOMEM, c->st->parent, "out of memory");
	c->n++;
	return CS_OK;
}

static int clean_stale(struct cs_stage *st, bool check_only, struct cs_error *err)
{
	struct stale_names c = {st, NULL, 0, 0};
	/* Collect first: cleaning renames entries of the dir being read. */
	int rc = cs_dir_foreach(st->parent_fd, st->parent, NULL, collect_stale, &c, err);
	for (size_t i = 0; i < c.n && rc == CS_OK; i++)
		rc = clean_one(st, c.names[i], check_only, err);
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
	st->parent_fd = st->stage_fd = st->lock_fd = st->cache_fd = -1;
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
	if (st->parent_fd >= 0)
		close(st->parent_fd);
	free(st->buf);
	free(st);
}

int cs_stage_check(const struct cs_restore_opts *opts, uint64_t bytes_needed, struct cs_error *err)
{
	bool exists, empty;
	struct cs_stage *st = stage_new(opts, 0);
	if (!st)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	int rc = target_resolve(opts, st, err);
	if (rc == CS_OK)
		rc = clean_stale(st, true, err);
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
	randombytes_buf(rnd, sizeof rnd);
	cs_hex(rnd, sizeof rnd, id);
	if ((size_t)snprintf(st->stage_name, sizeof st->stage_name, "%s%s%s", st->base, STAGE_TAG,
			     id) >= sizeof st->stage_name ||
	    (size_t)snprintf(st->lock_name, sizeof st->lock_name, "%s%s", st->stage_name,
			     LOCK_SUFFIX) >= sizeof st->lock_name)
		return cs_err_set(err, CS_ERR_USAGE, st->target, "target name too long");
	st->lock_fd = openat(st->parent_fd, st->lock_name,
			     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lock_fd < 0)
		return cs_err_sys(err, st->target, "create staging lock");
	st->made_lock = true;
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return cs_err_sys(err, st->target, "flock staging lock");
	if (mkdirat(st->parent_fd, st->stage_name, 0700) < 0)
		return cs_err_sys(err, st->target, "create staging dir");
	st->made_stage = true;
	st->stage_fd = openat(st->parent_fd, st->stage_name,
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
		rc = cs_fsync(st->parent_fd, st->parent, err);
	return rc;
}

int cs_stage_open(const struct cs_restore_opts *opts, uint64_t seq, uint64_t bytes_needed,
		  struct cs_stage **out, struct cs_error *err)
{
	bool exists, empty;
	int rc;
	struct cs_stage *st = stage_new(opts, seq);
	*out = NULL;
	if (!st)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	if ((rc = target_resolve(opts, st, err)) != CS_OK)
		goto out;
	if ((rc = clean_stale(st, false, err)) != CS_OK)
		goto out;
	if ((rc = cs_stage_refusals(st, bytes_needed, &exists, &empty, err)) != CS_OK)
		goto out;
	if (!(st->buf = malloc(STAGE_BUF))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if ((rc = stage_create(st, err)) != CS_OK)
		goto out;
	/* Two runs that started together both passed the first scan; now that our
	 * lock exists, at least one of them sees the other. */
	rc = clean_stale(st, true, err);
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
	if (st->swapped && st->made_stage) {
		/* The exchange happened: the stage name holds the old tree. */
		if (cs_stage_rename_old(st, st->stage_name, st->seq, NULL, &ignore) != CS_OK)
			drop_lock = false; /* the next run renames it */
	} else if (st->made_stage && !st->swapped &&
		   fstatat(st->parent_fd, st->stage_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		   sb.st_dev == st->dev && sb.st_ino == st->ino) {
		if (st->cache_fd >= 0) {
			close(st->cache_fd);
			st->cache_fd = -1;
		}
		if (cs_rm_tree_at(st->parent_fd, st->stage_name, st->stage_name, &ignore) != CS_OK)
			drop_lock = false;
	}
	if (st->made_lock && drop_lock)
		(void)unlinkat(st->parent_fd, st->lock_name, 0);
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
