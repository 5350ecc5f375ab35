/* lock.c - the vault's single-writer lock: flock on writer.lock, which also
 * holds the holder's pid so a refused writer can say who has it. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME "writer.lock"

/* The holder writes its pid right after flock succeeds; a refused writer may
 * look in between, so it gives the holder a moment before saying "unknown". */
static long lock_holder(int fd)
{
	for (int tries = 0; tries < 20; tries++) {
		char buf[32];
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			char *end;
			long pid = strtol(buf, &end, 10);
			if (end != buf && pid > 0 && (*end == '\n' || *end == '\0'))
				return pid;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

int cs_lock_acquire(const char *vault_dir, bool wait, int *fd_out, struct cs_error *err)
{
	int rc = CS_OK;
	char path[PATH_MAX];
	char pid[32];
	int fd = -1;
	struct stat st;

	*fd_out = -1;
	int n = snprintf(path, sizeof path, "%s/%s", vault_dir, LOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof path) {
		rc = cs_err_set(err, CS_ERR_USAGE, vault_dir, "path too long");
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = cs_err_sys(err, path, "open lock file");
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = cs_err_sys(err, path, "stat lock file");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cs_err_set(err, CS_ERR_IO, path, "lock file is not a regular file");
		goto out;
	}
	for (;;) {
		if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			long holder = lock_holder(fd);
			if (holder > 0)
				rc = cs_err_set(err, CS_ERR_BUSY, vault_dir, "vault busy (pid %ld)",
						holder);
			else
				rc = cs_err_set(err, CS_ERR_BUSY, vault_dir,
						"vault busy (pid unknown)");
			goto out;
		}
		rc = cs_err_sys(err, path, "lock");
		goto out;
	}
	/* Ours now: replace the previous holder's pid with ours. */
	if (ftruncate(fd, 0) < 0) {
		rc = cs_err_sys(err, path, "truncate lock file");
		goto out;
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if ((rc = cs_write_all(fd, pid, (size_t)n, path, err)) != CS_OK)
		goto out;
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

void cs_lock_release(int fd)
{
	if (fd < 0)
		return;
	/* Empty the pid while still holding the lock, so that a refused writer
	 * racing the next holder never reports us; close drops the flock. */
	if (ftruncate(fd, 0) < 0) {
		/* the pid is advisory; the lock itself goes with the close */
	}
	close(fd);
}
