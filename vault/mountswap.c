/* mountswap.c - restoring into a mount point: the top-level entries are
 * swapped under a journal (journal.c) that a crash leaves for the next
 * restore or cs_recover to replay (docs/FORMAT.md "Mount-point swap"). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char RESERVED[] = ".clawstate-";

bool cs_mount_reserved(const char *name)
{
	return strncmp(name, RESERVED, sizeof RESERVED - 1) == 0;
}

/* "dir/name" for messages (cut short when too long). */
static const char *join(char *buf, const char *dir, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", strcmp(dir, "/") ? dir : "", name);
	return buf;
}

/* ---- the top level of a target ------------------------------------------------------ */

struct top_ctx {
	const char *path;
	bool *empty;
};

static int note_top(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	struct top_ctx *c = ctx;
	struct stat sb;
	char p[PATH_MAX];
	bool mount = false;
	if (cs_mount_reserved(name))
		return CS_OK;
	*c->empty = false;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? CS_OK : cs_err_sys(err, join(p, c->path, name), "stat");
	if (!S_ISDIR(sb.st_mode))
		return CS_OK;
	int rc = cs_is_mount_root(dfd, name, &mount, err);
	if (rc == CS_OK && mount)
		rc = cs_err_set(err, CS_ERR_MOUNT, join(p, c->path, name),
				"a mount point inside the target; it cannot be moved");
	return rc;
}

int cs_mount_top_state(int dfd, const char *path, bool *empty, struct cs_error *err)
{
	struct top_ctx c = {path, empty};
	*empty = true;
	return cs_dir_foreach(dfd, path, NULL, note_top, &c, err);
}

struct name_list {
	char **v;
	size_t n, cap;
	bool skip_reserved;
	const char *path;
};

static int add_name(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	struct name_list *l = ctx;
	if (l->skip_reserved && cs_mount_reserved(name))
		return CS_OK;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **nv = realloc(l->v, nc * sizeof *nv);
		if (!nv)
			return cs_err_set(err, CS_ERR_NOMEM, l->path, "out of memory");
		l->v = nv;
		l->cap = nc;
	}
	if (!(l->v[l->n] = strdup(name)))
		return cs_err_set(err, CS_ERR_NOMEM, l->path, "out of memory");
	l->n++;
	return CS_OK;
}

static bool listed(char *const *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid], name);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* ---- the journal on disk ----------------------------------------------------------- */

/* *present false (and CS_OK) when dfd has no journal. */
static int journal_read(int dfd, const char *path, struct cs_journal *j, bool *present,
			struct cs_error *err)
{
	char jp[PATH_MAX];
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	int rc = CS_OK;
	*present = false;
	join(jp, path, CS_JOURNAL_NAME);
	int fd = openat(dfd, CS_JOURNAL_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return CS_OK;
		if (errno == ELOOP)
			return cs_err_set(err, CS_ERR_CORRUPT, jp, "the journal is a symlink");
		return cs_err_sys(err, jp, "open");
	}
	*present = true;
	if (fstat(fd, &sb) < 0) {
		rc = cs_err_sys(err, jp, "fstat");
		goto out;
	}
	/* Ours are 0600 and made by the restoring user: one that anyone else could
	 * have planted in a dir they can write is never acted on. */
	if (S_ISREG(sb.st_mode) && (sb.st_uid != geteuid() || (sb.st_mode & 077))) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, jp,
				"the journal is not this user's own (owner uid %u, mode %04o): not "
				"replayed", (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > CS_CAP_MANIFEST) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, jp,
				S_ISREG(sb.st_mode) ? "the journal is too large"
						    : "the journal is not a regular file");
		goto out;
	}
	if (!(buf = malloc((size_t)sb.st_size + 1))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, jp, "out of memory");
		goto out;
	}
	if ((rc = cs_read_full(fd, buf, (size_t)sb.st_size + 1, &got, jp, err)) != CS_OK)
		goto out;
	if ((rc = cs_journal_parse(buf, got, j, err)) != CS_OK)
		snprintf(err->path, sizeof err->path, "%s", jp);
out:
	free(buf);
	if (cs_close(&fd, jp, err) != CS_OK && rc == CS_OK) {
		cs_journal_free(j);
		rc = err->code;
	}
	return rc;
}

/* Temp name beside it, fsync, rename into place, fsync the dir: a journal
 * is there whole or not at all. */
static int journal_write(struct cs_stage *st, const char *buf, size_t len, struct cs_error *err)
{
	char tmp[NAME_MAX + 16];
	int rc;
	snprintf(tmp, sizeof tmp, "%s.journal", st->stage_name);
	int fd = openat(st->target_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0)
		return cs_err_sys(err, st->target, "create the journal");
	rc = cs_write_all(fd, buf, len, tmp, err);
	if (rc == CS_OK)
		rc = cs_fsync(fd, tmp, err);
	if (cs_close(&fd, tmp, err) != CS_OK && rc == CS_OK)
		rc = err->code;
	if (rc == CS_OK) {
		cs_test_point("rename");
		if (renameat2(st->target_fd, tmp, st->target_fd, CS_JOURNAL_NAME,
			      RENAME_NOREPLACE) < 0)
			rc = cs_err_sys(err, st->target, "put the journal in place");
		else
			st->journaled = true;
	}
	if (rc != CS_OK) {
		(void)unlinkat(st->target_fd, tmp, 0);
		return rc;
	}
	return cs_fsync(st->target_fd, st->target, err);
}

/* ---- the swap (the same steps for a commit and a replay) ----------------------------- */

struct swap {
	int dfd;                   /* the target dir */
	const char *path;
	const struct cs_journal *j;
	int stage_fd, old_fd;      /* -1 until needed, and when gone */
	uint64_t moved;
	bool mode_deferred;        /* the exact root mode comes after the lock */
	int owner_errno;           /* a non-root chown of the root was refused */
	struct cs_error *err;
};

static int swap_sys(struct swap *s, const char *name, const char *what)
{
	char p[PATH_MAX];
	return cs_err_sys(s->err, name ? join(p, s->path, name) : s->path, what);
}

static int open_old(struct swap *s)
{
	if (s->old_fd >= 0)
		return CS_OK;
	cs_test_point("rename");
	if (mkdirat(s->dfd, s->j->old, 0700) < 0 && errno != EEXIST)
		return swap_sys(s, s->j->old, "create the old-tree dir");
	s->old_fd = openat(s->dfd, s->j->old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->old_fd < 0)
		return swap_sys(s, s->j->old, "open the old-tree dir");
	/* The umask may have narrowed it; entries must go in. */
	if (fchmod(s->old_fd, 0700) < 0)
		return swap_sys(s, s->j->old, "chmod the old-tree dir");
	return CS_OK;
}

static int move_error(struct swap *s, const char *name, const char *what)
{
	char p[PATH_MAX];
	if (errno == EBUSY)
		return cs_err_set(s->err, CS_ERR_MOUNT, join(p, s->path, name),
				  "a mount point inside the target; it cannot be moved");
	if (errno == EEXIST)
		return cs_err_set(s->err, CS_ERR_EXISTS, join(p, s->path, name),
				  "%s: the name is taken", what);
	return swap_sys(s, name, what);
}

static bool exists_at(int dfd, const char *name)
{
	struct stat sb;
	return dfd >= 0 && fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Each name decided from what is there now, so that any prefix of the steps
 * followed by a replay ends the same: an old name still at the top is old,
 * unless its new namesake has already left the stage (then it is the new
 * one); a new name still in the stage has not been moved in.
 */
static int move_all(struct swap *s)
{
	const struct cs_journal *j = s->j;
	int rc;
	for (size_t i = 0; i < j->n_old; i++) {
		const char *x = j->old_names[i];
		if (!exists_at(s->dfd, x))
			continue;
		if (listed(j->new_names, j->n_new, x) && !exists_at(s->stage_fd, x))
			continue;
		if ((rc = open_old(s)) != CS_OK)
			return rc;
		cs_test_point("rename");
		if (renameat2(s->dfd, x, s->old_fd, x, RENAME_NOREPLACE) < 0)
			return move_error(s, x, "move the old entry out");
		s->moved++;
	}
	for (size_t i = 0; i < j->n_new && s->stage_fd >= 0; i++) {
		const char *y = j->new_names[i];
		if (!exists_at(s->stage_fd, y))
			continue;
		cs_test_point("rename");
		if (renameat2(s->stage_fd, y, s->dfd, y, RENAME_NOREPLACE) < 0)
			return move_error(s, y, "move the new entry in");
		s->moved++;
	}
	if (s->old_fd >= 0 && (rc = cs_fsync(s->old_fd, s->j->old, s->err)) != CS_OK)
		return rc;
	return cs_fsync(s->dfd, s->path, s->err);
}

static int set_times(struct swap *s)
{
	const struct cs_root_meta *m = &s->j->root;
	if (!m->set_mtime)
		return CS_OK;
	struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
				 {.tv_sec = (time_t)m->mtime_sec, .tv_nsec = m->mtime_nsec}};
	cs_test_point("write");
	if (futimens(s->dfd, ts) < 0)
		return swap_sys(s, NULL, "set times");
	return CS_OK;
}

/* Owner, then mode (chown clears setuid/setgid), then times, as for a
 * staging root.  A non-root run needs u+wx on the dir for the unlinks still
 * to come, so a mode without them is set exactly only at the very end. */
static int root_meta(struct swap *s)
{
	const struct cs_root_meta *m = &s->j->root;
	bool root = geteuid() == 0;
	mode_t mode = (mode_t)m->mode;
	if (m->set_owner) {
		cs_test_point("write");
		if (fchown(s->dfd, m->uid, m->gid) < 0) {
			if (errno != EPERM || root)
				return swap_sys(s, NULL, "chown");
			s->owner_errno = errno;
		}
	}
	if (!root && (mode & 0300) != 0300) {
		s->mode_deferred = true;
		mode |= 0300;
	}
	cs_test_point("write");
	if (fchmod(s->dfd, mode) < 0)
		return swap_sys(s, NULL, "chmod");
	return set_times(s);
}

/* From a journal in place to the journal gone (the lock is the caller's). */
static int swap_run(struct swap *s)
{
	const struct cs_journal *j = s->j;
	int rc;
	s->stage_fd = openat(s->dfd, j->stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->stage_fd < 0 && errno != ENOENT)
		return swap_sys(s, j->stage, "open the staging dir");
	/* No staging dir means every new entry was moved in: make sure of it
	 * before anything of the old tree goes. */
	for (size_t i = 0; s->stage_fd < 0 && i < j->n_new; i++)
		if (!exists_at(s->dfd, j->new_names[i]))
			return cs_err_set(s->err, CS_ERR_CORRUPT, s->path,
					  "the staging dir %s is gone but %s is not in place: "
					  "nothing replayed", j->stage, j->new_names[i]);
	if ((rc = move_all(s)) != CS_OK)
		return rc;
	if (s->stage_fd >= 0) {
		close(s->stage_fd);
		s->stage_fd = -1;
		cs_test_point("rename");
		if (unlinkat(s->dfd, j->stage, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return swap_sys(s, j->stage, "remove the staging dir");
	}
	if (!j->keep && exists_at(s->dfd, j->old)) {
		if (s->old_fd >= 0) {
			close(s->old_fd);
			s->old_fd = -1;
		}
		char p[PATH_MAX];
		cs_test_point("rename");
		if ((rc = cs_rm_tree_at(s->dfd, j->old, join(p, s->path, j->old), s->err)) != CS_OK)
			return rc;
	}
	if ((rc = root_meta(s)) != CS_OK || (rc = cs_fsync(s->dfd, s->path, s->err)) != CS_OK)
		return rc;
	cs_test_point("rename");
	if (unlinkat(s->dfd, CS_JOURNAL_NAME, 0) < 0)
		return swap_sys(s, CS_JOURNAL_NAME, "remove the journal");
	return cs_fsync(s->dfd, s->path, s->err);
}

/* After the lock is gone: removing the journal and the lock changed the
 * dir's mtime, and a deferred mode is due. */
static int swap_finish(struct swap *s, const char *lock_name)
{
	int rc;
	cs_test_point("rename");
	if (unlinkat(s->dfd, lock_name, 0) < 0 && errno != ENOENT)
		return swap_sys(s, lock_name, "remove the staging lock");
	cs_test_point("write");
	if (s->mode_deferred && fchmod(s->dfd, (mode_t)s->j->root.mode) < 0)
		return swap_sys(s, NULL, "chmod");
	if ((rc = set_times(s)) != CS_OK)
		return rc;
	return cs_fsync(s->dfd, s->path, s->err);
}

static void swap_close(struct swap *s)
{
	if (s->stage_fd >= 0)
		close(s->stage_fd);
	if (s->old_fd >= 0)
		close(s->old_fd);
}

static void old_path_of(const struct swap *s, char *out)
{
	out[0] = '\0';
	if (s->j->keep && exists_at(s->dfd, s->j->old))
		join(out, s->path, s->j->old);
}

/* ---- commit --------------------------------------------------------------------------- */

int cs_mount_root_meta(struct cs_stage *st, const struct cs_restore_result *res,
		       struct cs_error *err)
{
	struct cs_root_meta *m = &st->root_meta;
	memset(m, 0, sizeof *m);
	/* A docker output dir: 0755 and the invoker's (a non-root invoker cannot
	 * give it away, so its owner is then left alone), times as they fall. */
	if (st->root_plain) {
		m->mode = 0755;
		if (st->is_root) {
			m->set_owner = true;
			m->uid = (uint32_t)geteuid();
			m->gid = (uint32_t)getegid();
		}
		return CS_OK;
	}
	m->mode = (res->info.root_mode ? res->info.root_mode : st->root_mode) & 07777;
	if (st->set_owner) {
		int rc = cs_owner_resolve(st->opts, st->target, res->info.uid, res->info.gid,
					  &m->uid, &m->gid, err);
		if (rc != CS_OK)
			return rc;
		m->set_owner = true;
	} else if (res->info.uid != geteuid() || res->info.gid != getegid()) {
		st->owners_skipped++;
	}
	if (res->info.root_mtime_sec || res->info.root_mtime_nsec) {
		m->set_mtime = true;
		m->mtime_sec = res->info.root_mtime_sec;
		m->mtime_nsec = res->info.root_mtime_nsec;
	}
	return CS_OK;
}

/* The first free .clawstate-old-<seq>[.k] in the target; our lock keeps
 * other restores out until it is made. */
static int pick_old_name(struct cs_stage *st, char *name, struct cs_error *err)
{
	struct stat sb;
	for (unsigned k = 0; k < 10000; k++) {
		if (cs_stage_old_name("", st->seq, k, name) < 0)
			break;
		if (fstatat(st->target_fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (errno == ENOENT)
			return CS_OK;
		return cs_err_sys(err, st->target, "stat");
	}
	return cs_err_set(err, CS_ERR_EXISTS, st->target, "no free name for the old tree");
}

/* A swap that failed once its journal was in place stays half done until it
 * is replayed: say so, or all one sees is the call that failed. */
static void replay_hint(struct cs_error *err, const char *dir)
{
	char what[sizeof err->what];
	const char *sys = err->sys_errno ? strerror(err->sys_errno) : "";
	bool add = *sys && !strstr(err->what, sys);
	int n = snprintf(what, sizeof what, "%s%s%s; clawstate recover %s finishes the swap",
			 err->what, add ? ": " : "", add ? sys : "", dir);
	if (n > 0)
		memcpy(err->what, what, sizeof what);
}

int cs_mount_commit(struct cs_stage *st, struct cs_restore_result *res, struct cs_error *err)
{
	struct name_list olds = {.skip_reserved = true, .path = st->target};
	struct name_list news = {.path = st->stage_path};
	struct cs_journal j;
	struct swap s = {.dfd = st->target_fd, .path = st->target, .j = &j, .stage_fd = -1,
			 .old_fd = -1, .err = err};
	char *buf = NULL;
	size_t len;
	int rc;
	memset(&j, 0, sizeof j);
	if ((rc = cs_dir_foreach(st->target_fd, st->target, NULL, add_name, &olds, err)) != CS_OK ||
	    (rc = cs_dir_foreach(st->stage_fd, st->stage_path, NULL, add_name, &news, err)) !=
		    CS_OK ||
	    (rc = pick_old_name(st, j.old, err)) != CS_OK)
		goto out;
	snprintf(j.stage, sizeof j.stage, "%s", st->stage_name);
	/* Without --replace nothing is deleted, even what appeared meanwhile. */
	j.keep = !(st->replace && !st->keep_old);
	j.root = st->root_meta;
	j.old_names = olds.v;
	j.n_old = olds.n;
	j.new_names = news.v;
	j.n_new = news.n;
	if ((rc = cs_journal_format(&j, &buf, &len, err)) != CS_OK ||
	    (rc = journal_write(st, buf, len, err)) != CS_OK)
		goto out;
	/* From here a failure leaves everything to a replay (cs_stage_abort). */
	if ((rc = swap_run(&s)) != CS_OK)
		goto out;
	st->made_stage = false;
	st->journaled = false;
	if ((rc = swap_finish(&s, st->lock_name)) != CS_OK)
		goto out;
	st->made_lock = false;
	res->replaced = j.n_old > 0;
	old_path_of(&s, res->old_path);
	if (s.owner_errno && st->owners_failed++ == 0) {
		snprintf(st->owner_failed, sizeof st->owner_failed, "%s", st->target);
		st->owner_errno = s.owner_errno;
	}
out:
	if (rc != CS_OK && st->journaled)
		replay_hint(err, st->target);
	swap_close(&s);
	free(buf);
	for (size_t i = 0; i < olds.n; i++)
		free(olds.v[i]);
	for (size_t i = 0; i < news.n; i++)
		free(news.v[i]);
	free(olds.v);
	free(news.v);
	return rc;
}

/* ---- replay ---------------------------------------------------------------------------- */

static void busy_message(int fd, const char *path, struct cs_error *err)
{
	char text[128];
	long pid = 0;
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	if (sscanf(text, "%*u:%*u %ld", &pid) == 1)
		cs_err_set(err, CS_ERR_BUSY, path, "another restore to %s is running (pid %ld)",
			   path, pid);
	else
		cs_err_set(err, CS_ERR_BUSY, path, "another restore to %s is running", path);
}

int cs_mount_settle(int dfd, const char *path, bool check_only, struct cs_recover_result *res,
		    struct cs_error *err)
{
	struct cs_journal j;
	struct swap s = {.dfd = dfd, .path = path, .j = &j, .stage_fd = -1, .old_fd = -1,
			 .err = err};
	char lock[NAME_MAX + 8], p[PATH_MAX];
	bool present;
	int rc = journal_read(dfd, path, &j, &present, err);
	if (rc != CS_OK || !present)
		return rc;
	snprintf(lock, sizeof lock, "%s.lock", j.stage);
	/* The run that wrote the journal holds this lock until it is done; a
	 * lock someone removed is made again, so two replays never overlap. */
	int fd = openat(dfd, lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !check_only)
		fd = openat(dfd, lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == ENOENT && check_only)
			goto out;
		rc = cs_err_sys(err, join(p, path, lock), "open the staging lock");
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			busy_message(fd, path, err);
		else
			cs_err_sys(err, join(p, path, lock), "flock");
		rc = err->code;
		goto out;
	}
	if (check_only)
		goto out;
	rc = swap_run(&s);
	if (rc == CS_OK)
		rc = swap_finish(&s, lock);
	if (res) {
		res->journal = 1;
		res->forward = rc == CS_OK;
		res->moved = s.moved;
		old_path_of(&s, res->old_path);
	}
out:
	if (fd >= 0)
		close(fd);
	swap_close(&s);
	cs_journal_free(&j);
	return rc;
}

int cs_recover(const char *dir, struct cs_recover_result *res, struct cs_error *err)
{
	char abs[PATH_MAX], parent[PATH_MAX], base[PATH_MAX];
	int dfd = -1, pfd = -1, rc;
	memset(res, 0, sizeof *res);
	if ((rc = cs_path_absolute(dir, abs, err)) != CS_OK) {
		if (rc == CS_ERR_IO && err->sys_errno == ENOENT)
			return cs_err_set(err, CS_ERR_NOTFOUND, dir, "no such directory");
		return rc;
	}
	dfd = open(abs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* A restore to a new dir that was killed leaves only its staging beside
	 * the dir: that is still there to settle. */
	if (dfd < 0 && errno != ENOENT) {
		if (errno == ENOTDIR || errno == ELOOP)
			return cs_err_set(err, CS_ERR_USAGE, abs, "not a directory");
		return cs_err_sys(err, abs, "open directory");
	}
	/* Beside it first, as a restore does: runs that staged next to the dir. */
	cs_path_split(abs, parent, base);
	if (strcmp(abs, "/") != 0) {
		if ((pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			rc = cs_err_sys(err, parent, "open directory");
			goto out;
		}
		struct cs_stage_home beside = {pfd, parent, base};
		if ((rc = cs_stage_clean(&beside, abs, NULL, 0, false, &res->stale_stages, err)) !=
		    CS_OK)
			goto out;
	}
	if (dfd < 0) {
		if (!res->stale_stages)
			rc = cs_err_set(err, CS_ERR_NOTFOUND, abs, "no such directory");
		goto out;
	}
	/* Then inside: the journal before any stale staging dir, since a stage
	 * that the journal names holds new entries not yet moved in. */
	if ((rc = cs_mount_settle(dfd, abs, false, res, err)) != CS_OK)
		goto out;
	struct cs_stage_home inside = {dfd, abs, ""};
	rc = cs_stage_clean(&inside, abs, NULL, 0, false, &res->stale_stages, err);
out:
	if (pfd >= 0)
		close(pfd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* ---- staging again inside (a swap beside the target that cannot be) ------------------ */

/* Open rel below the finished staging dir of st.  Its modes are final, so a
 * non-root run may have to give itself u+r (and u+x on dirs) first: the copy
 * is thrown away afterwards. */
static int open_staged(struct cs_stage *st, const char *rel, int *out, struct cs_error *err)
{
	char comp[NAME_MAX + 1];
	int fd = st->stage_fd, rc = CS_OK;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (slash ? O_DIRECTORY : 0);
		if (n > NAME_MAX) {
			rc = cs_err_set(err, CS_ERR_HOSTILE, rel, "name too long");
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		int nfd = openat(fd, comp, flags);
		if (nfd < 0 && errno == EACCES && !st->is_root) {
			struct stat sb;
			if (fstatat(fd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0)
				(void)fchmodat(fd, comp,
					       (sb.st_mode & 07777) | (slash ? 0500 : 0400), 0);
			nfd = openat(fd, comp, flags);
		}
		if (nfd < 0)
			rc = cs_err_sys(err, rel, "open the staged copy");
		if (fd != st->stage_fd)
			close(fd);
		fd = nfd;
		if (rc != CS_OK || !slash)
			break;
		p = slash + 1;
	}
	if (rc == CS_OK)
		*out = fd;
	return rc;
}

struct staged_src {
	int fd;
	const char *path;
};

static int read_staged(void *ctx, void *buf, size_t cap, size_t *got, struct cs_error *err)
{
	struct staged_src *s = ctx;
	return cs_read_full(s->fd, buf, cap, got, s->path, err);
}

int cs_mount_restage(struct cs_stage *st, const struct cs_entry *entries, size_t n,
		     struct cs_restore_result *res, struct cs_error *err)
{
	struct cs_stage *in = NULL;
	int rc = cs_stage_open_inside(st, &in, err);
	if (rc != CS_OK)
		return rc;
	for (size_t i = 0; i < n && rc == CS_OK; i++) {
		const struct cs_entry *e = &entries[i];
		struct staged_src src = {-1, e->path};
		if (e->type != CS_ENTRY_FILE) {
			rc = cs_stage_add(in, e, NULL, NULL, err);
			continue;
		}
		if ((rc = open_staged(st, e->path, &src.fd, err)) != CS_OK)
			break;
		/* Size and hash are checked again on the way. */
		rc = cs_stage_add(in, e, read_staged, &src, err);
		close(src.fd);
	}
	if (rc == CS_OK) {
		rc = cs_stage_commit(in, entries, n, res, err);
		if (rc == CS_OK || (rc == CS_ERR_PARTIAL && res->owners_failed)) {
			cs_stage_abort(st); /* the copy beside it is not needed any more */
			return rc;
		}
	}
	cs_stage_abort(in);
	return rc;
}
