/* faultshim.c - an LD_PRELOAD shim for the fault-injection tests: makes the
 * N-th call of one class of file-system call fail (EIO, ENOSPC, ...), return a
 * short read, or stop the process (SIGSTOP) so a test can act while it holds
 * a lock.  Everything is chosen by environment variables:
 *
 *   CS_FAULT_OP     classes counted, comma-separated: write (write, writev),
 *                   pwrite (pwrite, pwrite64), read, pread (pread, pread64),
 *                   fsync, fdatasync, syncfs, rename (rename, renameat),
 *                   renameat2, close (only closes of fds written since open)
 *   CS_FAULT_AT     N: the N-th counted call; N- : that one and every later one
 *   CS_FAULT_ERRNO  EIO (default), ENOSPC, EDQUOT, EROFS, EACCES, EPERM
 *   CS_FAULT_ACTION fail (default), short (a read(2) returns half of what
 *                   was asked, at least 1 byte; positional reads are LMDB's and
 *                   SQLite's, of regular files, where a short count means the
 *                   end of the file), stop (SIGSTOP, then the real call)
 *   CS_FAULT_PATH   count only calls on paths containing this text (the fd's
 *                   /proc/self/fd link; either name of a rename)
 *   CS_FAULT_COUNT  FILE: at exit, write "CLASS COUNT" lines (with CS_FAULT_PATH
 *                   applied), so a clean run gives the number of points
 *   CS_FAULT_LOG    FILE: append "CLASS PATH" for each injected fault
 *
 * fds 0-2 are never counted: diagnostics must get out.  The real close is
 * always done, as Linux frees the fd even when close reports an error. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum cls { C_WRITE, C_PWRITE, C_READ, C_PREAD, C_FSYNC, C_FDATASYNC, C_SYNCFS, C_RENAME, C_RENAMEAT2,
	   C_CLOSE, C_N };
static const char *const cls_name[C_N] = {"write",	   "pwrite", "read",   "pread",
					  "fsync",	   "fdatasync", "syncfs", "rename",
					  "renameat2", "close"};

enum action { A_FAIL, A_SHORT, A_STOP };

static int active;		/* any CS_FAULT_* set */
static unsigned selected;	/* bit per class */
static unsigned long fault_at;	/* 0 = never */
static int fault_onward;	/* N- */
static int fault_errno = EIO;
static enum action action = A_FAIL;
static const char *path_filter;
static const char *count_file;
static const char *log_file;
static unsigned long counts[C_N];
static unsigned long nth;	/* counted calls of the selected classes */

#define MAX_FD 65536
static unsigned char written[MAX_FD / 8];

static void mark_written(int fd)
{
	if (fd >= 0 && fd < MAX_FD)
		written[fd / 8] |= (unsigned char)(1u << (fd % 8));
}
static int was_written(int fd)
{
	return fd >= 0 && fd < MAX_FD && (written[fd / 8] & (1u << (fd % 8)));
}
static void clear_written(int fd)
{
	if (fd >= 0 && fd < MAX_FD)
		written[fd / 8] &= (unsigned char)~(1u << (fd % 8));
}

/* The shim's own output goes through raw syscalls, never through itself. */
static void raw_append(const char *file, const char *text, int trunc)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, file,
			      O_WRONLY | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : O_APPEND), 0600);
	if (fd < 0)
		return;
	size_t len = strlen(text);
	if (syscall(SYS_write, fd, text, len) != (long)len) {
		/* best effort: a test reads a missing count as a failure */
	}
	syscall(SYS_close, fd);
}

static void write_counts(void)
{
	char buf[512];
	size_t off = 0;
	for (int c = 0; c < C_N; c++)
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s %lu\n", cls_name[c], counts[c]);
	raw_append(count_file, buf, 1);
}

__attribute__((constructor)) static void shim_setup(void)
{
	const char *op = getenv("CS_FAULT_OP");
	const char *at = getenv("CS_FAULT_AT");
	const char *en = getenv("CS_FAULT_ERRNO");
	const char *ac = getenv("CS_FAULT_ACTION");
	path_filter = getenv("CS_FAULT_PATH");
	count_file = getenv("CS_FAULT_COUNT");
	log_file = getenv("CS_FAULT_LOG");
	if (path_filter && !*path_filter)
		path_filter = NULL;
	if (count_file && !*count_file)
		count_file = NULL;
	if (op && *op) {
		char buf[256];
		snprintf(buf, sizeof buf, "%s", op);
		for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			for (int c = 0; c < C_N; c++)
				if (strcmp(t, cls_name[c]) == 0)
					selected |= 1u << c;
	}
	if (at && *at) {
		char *end;
		fault_at = strtoul(at, &end, 10);
		fault_onward = *end == '-';
	}
	if (en && strcmp(en, "ENOSPC") == 0)
		fault_errno = ENOSPC;
	else if (en && strcmp(en, "EDQUOT") == 0)
		fault_errno = EDQUOT;
	else if (en && strcmp(en, "EROFS") == 0)
		fault_errno = EROFS;
	else if (en && strcmp(en, "EACCES") == 0)
		fault_errno = EACCES;
	else if (en && strcmp(en, "EPERM") == 0)
		fault_errno = EPERM;
	if (ac && strcmp(ac, "short") == 0)
		action = A_SHORT;
	else if (ac && strcmp(ac, "stop") == 0)
		action = A_STOP;
	active = selected || count_file;
	if (count_file)
		atexit(write_counts);
}

static void fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* at_path: the full name of NAME relative to DIRFD, for the path filter. */
static void at_path(int dirfd, const char *name, char *buf, size_t len)
{
	if (!name) {
		buf[0] = '\0';
		return;
	}
	if (name[0] == '/' || dirfd == AT_FDCWD) {
		snprintf(buf, len, "%s", name);
		return;
	}
	char d[4096];
	fd_path(dirfd, d, sizeof d);
	snprintf(buf, len, "%s/%s", d, name);
}

/* hit: count a call of class C on PATH (or on FD when PATH is NULL); nonzero
 * when this call is the one to fault. */
static int hit(enum cls c, int fd, const char *path, const char *path2)
{
	char pbuf[8192];
	if (!active)
		return 0;
	if (!path && fd <= 2)
		return 0;
	if (!path) {
		fd_path(fd, pbuf, sizeof pbuf);
		path = pbuf;
	}
	if (path_filter && !strstr(path, path_filter) && !(path2 && strstr(path2, path_filter)))
		return 0;
	counts[c]++;
	if (!(selected & (1u << c)))
		return 0;
	nth++;
	if (!fault_at || !(nth == fault_at || (fault_onward && nth > fault_at)))
		return 0;
	if (log_file) {
		char line[8300];
		snprintf(line, sizeof line, "%s %s\n", cls_name[c], path);
		raw_append(log_file, line, 0);
	}
	if (action == A_STOP) {
		raise(SIGSTOP);
		return 0;
	}
	return 1;
}

#define REAL(name, ret, ...)                                                                      \
	static ret (*real_##name)(__VA_ARGS__);                                                   \
	if (!real_##name)                                                                         \
		real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write, ssize_t, int, const void *, size_t);
	if (hit(C_WRITE, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	mark_written(fd);
	return real_write(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(writev, ssize_t, int, const struct iovec *, int);
	if (hit(C_WRITE, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	mark_written(fd);
	return real_writev(fd, iov, cnt);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite, ssize_t, int, const void *, size_t, off_t);
	if (hit(C_PWRITE, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	mark_written(fd);
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite64, ssize_t, int, const void *, size_t, off_t);
	if (hit(C_PWRITE, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	mark_written(fd);
	return real_pwrite64(fd, buf, n, off);
}

static size_t short_len(size_t n)
{
	return n > 1 ? n / 2 : n;
}

ssize_t read(int fd, void *buf, size_t n)
{
	REAL(read, ssize_t, int, void *, size_t);
	if (hit(C_READ, fd, NULL, NULL)) {
		if (action != A_SHORT) {
			errno = fault_errno;
			return -1;
		}
		n = short_len(n);
	}
	return real_read(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	REAL(pread, ssize_t, int, void *, size_t, off_t);
	if (hit(C_PREAD, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	return real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	REAL(pread64, ssize_t, int, void *, size_t, off_t);
	if (hit(C_PREAD, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	return real_pread64(fd, buf, n, off);
}

int fsync(int fd)
{
	REAL(fsync, int, int);
	if (hit(C_FSYNC, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(fdatasync, int, int);
	if (hit(C_FDATASYNC, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	return real_fdatasync(fd);
}

int syncfs(int fd)
{
	REAL(syncfs, int, int);
	if (hit(C_SYNCFS, fd, NULL, NULL)) {
		errno = fault_errno;
		return -1;
	}
	return real_syncfs(fd);
}

int close(int fd)
{
	REAL(close, int, int);
	int counted = was_written(fd);
	clear_written(fd);
	int fault = counted && hit(C_CLOSE, fd, NULL, NULL);
	int r = real_close(fd);
	if (fault) {
		errno = fault_errno;
		return -1;
	}
	return r;
}

int rename(const char *from, const char *to)
{
	REAL(rename, int, const char *, const char *);
	if (hit(C_RENAME, -1, from, to)) {
		errno = fault_errno;
		return -1;
	}
	return real_rename(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
	REAL(renameat, int, int, const char *, int, const char *);
	char a[8192], b[8192];
	at_path(fd1, from, a, sizeof a);
	at_path(fd2, to, b, sizeof b);
	if (hit(C_RENAME, -1, a, b)) {
		errno = fault_errno;
		return -1;
	}
	return real_renameat(fd1, from, fd2, to);
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags)
{
	REAL(renameat2, int, int, const char *, int, const char *, unsigned);
	char a[8192], b[8192];
	at_path(fd1, from, a, sizeof a);
	at_path(fd2, to, b, sizeof b);
	if (hit(C_RENAMEAT2, -1, a, b)) {
		errno = fault_errno;
		return -1;
	}
	return real_renameat2(fd1, from, fd2, to, flags);
}
