/* sqlite_capture.c - consistent copies of live SQLite databases through the online backup
 * API, into an unlinked private temp file in the vault dir. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CAPTURE_TRIES 5
#define CAPTURE_SLEEP_NS (100 * 1000 * 1000L)

static const char sqlite_magic[16] = "SQLite format 3";

int cs_sqlite_is_db(int fd, bool *is_db, struct cs_error *err)
{
	unsigned char buf[16];
	size_t got = 0;
	*is_db = false;
	while (got < sizeof(buf)) {
		ssize_t n = pread(fd, buf + got, sizeof(buf) - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cs_err_sys(err, NULL, "reading the file header");
		if (n == 0)
			return CS_OK;
		got += (size_t)n;
	}
	*is_db = memcmp(buf, sqlite_magic, sizeof(buf)) == 0;
	return CS_OK;
}

size_t cs_sqlite_side_suffix(const char *name)
{
	static const char *const suffix[] = {"-wal", "-shm", "-journal"};
	size_t n = strlen(name);
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(suffix[i]);
		if (n >= k && memcmp(name + n - k, suffix[i], k) == 0)
			return k;
	}
	return 0;
}

/* Did writing the copy fail?  Only the copy's connection has extended codes. */
static bool copy_write_error(int rc)
{
	switch (rc) {
	case SQLITE_IOERR_WRITE:
	case SQLITE_IOERR_FSYNC:
	case SQLITE_IOERR_DIR_FSYNC:
	case SQLITE_IOERR_TRUNCATE:
	case SQLITE_IOERR_CLOSE:
	case SQLITE_IOERR_DIR_CLOSE:
		return true;
	}
	return false;
}

/* An SQLite failure on db as a library error naming path; copy is the copy's
 * connection (NULL before it is open).  CS_ERR_DB is the source's problem (the
 * snapshot names it and goes on); an I/O error on the copy, which lives in
 * the vault dir, is a failed vault write (CS_ERR_IO, fatal), with its errno. */
static int sq_err(struct cs_error *err, const char *path, sqlite3 *db, int rc, const char *what,
		  sqlite3 *copy)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	int code = (rc & 0xff) == SQLITE_FULL ? CS_ERR_NOSPACE : CS_ERR_DB;
	if ((code == CS_ERR_NOSPACE && copy) ||
	    (code == CS_ERR_DB &&
	     (copy_write_error(rc) || (copy && db == copy && (rc & 0xff) == SQLITE_IOERR)))) {
		int e = copy ? sqlite3_system_errno(copy) : 0;
		return cs_err_set(err, code == CS_ERR_NOSPACE ? code : CS_ERR_IO, path,
				  "SQLite capture: %s: the copy in the vault dir: %s", what,
				  strerror(e ? e : code == CS_ERR_NOSPACE ? ENOSPC : EIO));
	}
	return cs_err_set(err, code, path, "SQLite capture: %s: %s", what, msg);
}

static bool busy(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

static void short_sleep(void)
{
	struct timespec ts = {0, CAPTURE_SLEEP_NS};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Remove the temp copy and whatever SQLite may have put beside it; ENOENT is fine. */
static void remove_temp(const char *tmp)
{
	static const char *const suffix[] = {"", "-journal", "-wal", "-shm"};
	char name[4200];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", tmp, suffix[i]);
		(void)unlink(name);
	}
}

/* Is the database in WAL mode (header bytes 18-19, as "PRAGMA journal_mode" reads them)? */
static bool source_is_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool wal = false;
	if (sqlite3_prepare_v2(db, "PRAGMA main.journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *m = sqlite3_column_text(st, 0);
		wal = m && strcmp((const char *)m, "wal") == 0;
	}
	sqlite3_finalize(st);
	return wal;
}

int cs_sqlite_capture(const char *path, const char *tmp_dir, int *fd_out, uint64_t *size,
		      struct cs_error *err)
{
	char tmp[4200];
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	int fd = -1, rc = CS_OK, src_rc;
	bool have_tmp = false, wal = false;
	struct stat st;

	*fd_out = -1;
	*size = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.sqlite-capture-XXXXXX", tmp_dir) >= sizeof(tmp))
		return cs_err_set(err, CS_ERR_USAGE, tmp_dir, "vault path too long");
	/* mkostemp creates with O_EXCL and mode 0600: the plaintext copy is private from the
	 * first byte, inside the 0700 vault dir. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return cs_err_sys(err, tmp_dir, "creating the SQLite capture file");
	have_tmp = true;

	/* Read-only, no symlink as the last component, no URI parsing of the name. */
	src_rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (src_rc != SQLITE_OK) {
		rc = sq_err(err, path, src, src_rc, "open", dst);
		goto out;
	}
	sqlite3_busy_timeout(src, 200);
	wal = source_is_wal(src);
	if ((src_rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL)) != SQLITE_OK) {
		rc = sq_err(err, path, dst, src_rc, "open the copy", dst);
		goto out;
	}
	sqlite3_extended_result_codes(dst, 1); /* to tell its write errors from the source's */
	/* The copy is fresh and private: no rollback journal beside it while it fills. */
	if ((src_rc = sqlite3_exec(dst, "PRAGMA journal_mode=MEMORY", NULL, NULL, NULL)) !=
	    SQLITE_OK) {
		rc = sq_err(err, path, dst, src_rc, "journal mode of the copy", dst);
		goto out;
	}
	if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
		rc = sq_err(err, path, dst, sqlite3_errcode(dst), "backup init", dst);
		goto out;
	}
	/* One step copies everything under one read transaction; a step of a few pages at a
	 * time restarts whenever the gateway commits and may never finish. */
	for (int i = 0;; i++) {
		src_rc = sqlite3_backup_step(b, -1);
		if (!busy(src_rc) || i + 1 >= CAPTURE_TRIES)
			break;
		short_sleep();
	}
	int fin_rc = sqlite3_backup_finish(b);
	b = NULL;
	if (src_rc != SQLITE_DONE) {
		rc = sq_err(err, path, NULL, src_rc, busy(src_rc) ? "database stayed busy" : "backup", dst);
		goto out;
	}
	if (fin_rc != SQLITE_OK) {
		rc = sq_err(err, path, dst, fin_rc, "backup finish", dst);
		goto out;
	}
	/* Give the copy the source's journal mode (a WAL database stays one, as the
	 * gateway left it).  Closing the copy checkpoints it, so it never needs a
	 * -wal file beside it. */
	if ((src_rc = sqlite3_exec(dst, wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE",
				   NULL, NULL, NULL)) != SQLITE_OK) {
		rc = sq_err(err, path, dst, src_rc, "journal mode of the copy", dst);
		goto out;
	}
	src_rc = sqlite3_close(dst);
	dst = NULL;
	if (src_rc != SQLITE_OK) {
		rc = sq_err(err, path, NULL, src_rc, "close the copy", dst);
		goto out;
	}
	/* A kill here leaves the complete copy under its name; the next writer removes it. */
	cs_test_point("capture");
	/* Nothing may keep the plaintext under a name: only our fd holds it from here on. */
	remove_temp(tmp);
	have_tmp = false;
	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		rc = cs_err_sys(err, path, "SQLite capture: the copy");
		goto out;
	}
	*size = (uint64_t)st.st_size;
	*fd_out = fd;
	fd = -1;
out:
	if (b)
		sqlite3_backup_finish(b);
	if (dst)
		sqlite3_close(dst);
	if (src)
		sqlite3_close(src);
	if (have_tmp)
		remove_temp(tmp);
	if (fd >= 0)
		close(fd); /* unlinked scratch copy: nothing to lose on close */
	return rc;
}
