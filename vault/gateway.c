/* gateway.c - is an OpenClaw gateway (or another OpenClaw process owning the
 * state) running on a state dir?  Reads OpenClaw's lock files and proves their
 * owner alive; the method is in docs/FORMAT.md "Gateway detection". */
#include "internal.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A lock payload is a few hundred bytes of JSON; anything bigger is not one. */
#define LOCK_MAX 65536

struct lock_payload {
	long pid;
	bool has_start;
	unsigned long long start;
	char state_dir[PATH_MAX];  /* "stateDir", or dirname of "configPath"; "" if none */
};

/* Read a small regular file at dirfd/name (no symlink followed). */
static bool read_small(int dirfd, const char *name, char *buf, size_t cap, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	bool ok = false;
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size < cap) {
		ssize_t n;
		do
			n = read(fd, buf, cap - 1);
		while (n < 0 && errno == EINTR);
		if (n >= 0) {
			buf[n] = '\0';
			*len = (size_t)n;
			ok = true;
		}
	}
	close(fd);
	return ok;
}

static bool parse_payload(const char *buf, size_t len, struct lock_payload *lp)
{
	cJSON *j = cJSON_ParseWithLength(buf, len);
	bool ok = false;
	memset(lp, 0, sizeof *lp);
	if (!j || !cJSON_IsObject(j))
		goto out;
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	if (!cJSON_IsNumber(pid) || pid->valuedouble < 1 || pid->valuedouble > INT_MAX ||
	    pid->valuedouble != (double)(long)pid->valuedouble)
		goto out;
	lp->pid = (long)pid->valuedouble;
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(j, "startTime");
	if (cJSON_IsNumber(start) && start->valuedouble >= 0 && start->valuedouble < 9e15) {
		lp->has_start = true;
		lp->start = (unsigned long long)start->valuedouble;
	}
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(j, "stateDir");
	const cJSON *cp = cJSON_GetObjectItemCaseSensitive(j, "configPath");
	if (cJSON_IsString(sd) && strlen(sd->valuestring) < sizeof lp->state_dir) {
		strcpy(lp->state_dir, sd->valuestring);
	} else if (cJSON_IsString(cp) && strlen(cp->valuestring) < sizeof lp->state_dir) {
		char base[PATH_MAX];
		cs_path_split(cp->valuestring, lp->state_dir, base);
	}
	ok = true;
out:
	cJSON_Delete(j);
	return ok;
}

/* Field 22 of /proc/<pid>/stat: start time in clock ticks since boot, which
 * OpenClaw records as "startTime" on Linux. */
static bool proc_start_time(long pid, unsigned long long *out)
{
	char path[64], buf[2048];
	size_t len;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (!read_small(AT_FDCWD, path, buf, sizeof buf, &len))
		return false;
	/* The command name (field 2) may hold spaces and parentheses. */
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	p++;
	for (int field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return false;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || end == p)
		return false;
	*out = v;
	return true;
}

/*
 * The "<lock>.sqlite" coordinator beside a lock: OpenClaw keeps it in
 * BEGIN EXCLUSIVE while it owns the lock, which SQLite implements with POSIX
 * write locks on its lock bytes.  F_GETLK asks whether a read lock over the
 * whole file would conflict, without taking any lock or changing the file.
 */
static bool coordinator_held(int dirfd, const char *lockname, bool *exists)
{
	char name[NAME_MAX + 1];
	struct stat st;
	bool held = false;
	*exists = false;
	if ((size_t)snprintf(name, sizeof name, "%s.sqlite", lockname) >= sizeof name)
		return false;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
		*exists = true;
		if (fcntl(fd, F_GETLK, &fl) == 0)
			held = fl.l_type != F_UNLCK;
	}
	close(fd);
	return held;
}

/* Last resort for locks without a start time or coordinator: does the
 * process look like OpenClaw?  Unreadable means we cannot tell: assume yes. */
static bool cmdline_is_openclaw(long pid)
{
	char path[64], buf[8192];
	size_t len;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	if (!read_small(AT_FDCWD, path, buf, sizeof buf, &len))
		return true;
	for (size_t i = 0; i < len;) {
		const char *arg = buf + i;
		size_t n = strnlen(arg, len - i);
		const char *slash = memrchr(arg, '/', n);
		const char *b = slash ? slash + 1 : arg;
		char low[64];
		size_t bl = n - (size_t)(b - arg);
		if (bl < sizeof low) {
			for (size_t k = 0; k < bl; k++)
				low[k] = (char)tolower((unsigned char)b[k]);
			low[bl] = '\0';
			if (strcmp(low, "gateway") == 0 || strstr(low, "openclaw"))
				return true;
		}
		i += n + 1;
	}
	return false;
}

static bool pid_exists(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Does lock dirfd/name prove a live owner?  With want_state set, only a lock
 * recording that state dir counts (the shared /tmp lock dirs). */
static bool lock_is_live(int dirfd, const char *name, const char *want_state, long *pid)
{
	char buf[LOCK_MAX];
	size_t len;
	struct lock_payload lp;
	if (!read_small(dirfd, name, buf, sizeof buf, &len) || !parse_payload(buf, len, &lp))
		return false;
	if (want_state) {
		char real[PATH_MAX];
		if (!lp.state_dir[0])
			return false;
		if (strcmp(lp.state_dir, want_state) != 0 &&
		    (!realpath(lp.state_dir, real) || strcmp(real, want_state) != 0))
			return false;
	}
	if (!pid_exists(lp.pid))
		return false;
	*pid = lp.pid;
	if (lp.has_start) {
		unsigned long long now;
		if (proc_start_time(lp.pid, &now))
			return now == lp.start; /* a different start time: the pid was reused */
	}
	bool exists;
	bool held = coordinator_held(dirfd, name, &exists);
	if (exists)
		return held;
	return cmdline_is_openclaw(lp.pid);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool is_lock_dir_name(const char *n)
{
	return strcmp(n, "openclaw") == 0 || strncmp(n, "openclaw-", 9) == 0;
}

struct lock_scan {
	const char *dir; /* the directory listed, for errors and child paths */
	const char *want_state;
	bool strict;
	pid_t *pid;
};

static int check_lock(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	const struct lock_scan *s = ctx;
	long owner = 0;
	if (!ends_with(name, ".lock") || !lock_is_live(dfd, name, s->want_state, &owner))
		return CS_OK;
	*s->pid = (pid_t)owner;
	return CS_DIR_STOP;
}

/* List fd for fn, then close fd; when not strict, a failed listing counts as
 * nothing found. */
static int scan_dir(int fd, struct lock_scan *s,
		    int (*fn)(void *ctx, int dfd, const char *name, struct cs_error *err),
		    struct cs_error *err)
{
	int rc = cs_dir_foreach(fd, s->dir, NULL, fn, s, s->strict ? err : NULL);
	close(fd);
	return s->strict ? rc : CS_OK;
}

/* Scan one OpenClaw lock dir for a live "*.lock". */
static int scan_lock_dir(int parentfd, const char *name, const char *path, const char *want_state,
			 bool strict, pid_t *pid, struct cs_error *err)
{
	struct lock_scan s = {path, want_state, strict, pid};
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (!strict || errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return CS_OK;
		return cs_err_sys(err, path, "cannot check for a running gateway");
	}
	return scan_dir(fd, &s, check_lock, err);
}

static int check_lock_dir(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	const struct lock_scan *s = ctx;
	char path[PATH_MAX];
	if (!is_lock_dir_name(name))
		return CS_OK;
	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	int rc = scan_lock_dir(dfd, name, path, s->want_state, s->strict, s->pid, err);
	if (rc != CS_OK)
		return rc;
	return *s->pid > 0 ? CS_DIR_STOP : CS_OK;
}

/* Every "openclaw" / "openclaw-*" directory below dir. */
static int scan_tmp(const char *dir, const char *want_state, bool strict, pid_t *pid,
		    struct cs_error *err)
{
	struct lock_scan s = {dir, want_state, strict, pid};
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (!strict || errno == ENOENT || errno == ENOTDIR)
			return CS_OK;
		return cs_err_sys(err, dir, "cannot check for a running gateway");
	}
	return scan_dir(fd, &s, check_lock_dir, err);
}

int cs_gateway_running(const char *state_dir, pid_t *pid, struct cs_error *err)
{
	char real[PATH_MAX], tmp[PATH_MAX];
	int rc;
	*pid = 0;
	if (!realpath(state_dir, real)) {
		if (errno == ENOENT)
			return CS_OK;
		return cs_err_sys(err, state_dir, "resolve path");
	}
	/* Current releases: <realpath(state)>/tmp/openclaw-<uid>/. */
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp", strcmp(real, "/") ? real : "") >= sizeof tmp)
		return cs_err_set(err, CS_ERR_USAGE, state_dir, "path too long");
	if ((rc = scan_tmp(tmp, NULL, true, pid, err)) != CS_OK || *pid > 0)
		return rc;
	/* Older releases: os.tmpdir()/openclaw-<uid>/, shared by every state dir, so
	 * a lock there counts only when it names this one. */
	return scan_tmp("/tmp", real, false, pid, err);
}
