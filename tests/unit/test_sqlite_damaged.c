/* test_sqlite_damaged.c - the SQLite rewriter on a database whose index disagrees
 * with its table (found by tests/fuzz/fuzz_sqlite): the count read the index, the
 * UPDATE the table, and the notes named rewrites that were never made.  Such a
 * database is refused (CS_ERR_DB) and left as it was, file and copy in memory. */
#include "internal.h"
#include "check.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct cs_rewrite rules[] = {{"/home/alice", "/home/node"}};
static const char *const needles[] = {"/home/alice"};
static int n_notes;

static void note(void *ctx, const struct cs_rewrite_note *n)
{
	n_notes++;
}

static int sql(sqlite3 *db, const char *text)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s: %s\n", text, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return rc;
}

/* Rows '/home/alice/a' and '/home/alice/b' with an index on path; damaged: the
 * index still holds those values while the table says '/home/qlice/...'
 * (the index's schema row is taken out while the table changes, then put back). */
static int make_db(const char *path, int damaged)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int root = 0, ok;
	unlink(path);
	ok = sqlite3_open(path, &db) == SQLITE_OK &&
	     sql(db, "CREATE TABLE t (n INTEGER, path TEXT, note TEXT);"
		     "INSERT INTO t VALUES (1, '/home/alice/a', 'x'), (2, '/home/alice/b', 'y');"
		     "CREATE INDEX ti ON t(path)") == SQLITE_OK;
	if (ok && damaged) {
		ok = sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE name = 'ti'",
					-1, &q, NULL) == SQLITE_OK &&
		     sqlite3_step(q) == SQLITE_ROW;
		root = ok ? sqlite3_column_int(q, 0) : 0;
		sqlite3_finalize(q);
		ok = ok && sql(db, "PRAGMA writable_schema = ON;"
				   "DELETE FROM sqlite_master WHERE name = 'ti'") == SQLITE_OK;
		sqlite3_close(db);
		db = NULL;
		char put[256];
		snprintf(put, sizeof put,
			 "PRAGMA writable_schema = ON; INSERT INTO sqlite_master VALUES "
			 "('index', 'ti', 't', %d, 'CREATE INDEX ti ON t(path)')",
			 root);
		ok = ok && sqlite3_open(path, &db) == SQLITE_OK &&
		     sql(db, "UPDATE t SET path = replace(path, 'alice', 'qlice')") == SQLITE_OK &&
		     sql(db, put) == SQLITE_OK;
	}
	sqlite3_close(db);
	return ok;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(1 << 16);
	*len = f && buf ? fread(buf, 1, 1 << 16, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/clawstate-test-sqlite.XXXXXX", path[4096];
	struct cs_rw_plan plan = {rules, 1, needles, 1, note, NULL, NULL};
	struct cs_rw_stats s;
	bool changed = true;
	size_t len = 0, len2 = 0;
	CHECK_OK(cs_library_init(&check_err));
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/db.sqlite", dir);

	/* Intact: both rows rewritten, one note. */
	CHECK(make_db(path, 0));
	memset(&s, 0, sizeof s);
	n_notes = 0;
	CHECK_OK(cs_sqlite_rewrite_file(path, "db.sqlite", &plan, &s, &changed, &check_err));
	CHECK(changed && s.rewrites == 2 && n_notes == 1 && s.leftover_mentions == 0);

	/* Damaged, in memory (dry runs): refused, no note, the buffer untouched. */
	CHECK(make_db(path, 1));
	unsigned char *before = slurp(path, &len);
	unsigned char *copy = malloc(len);
	CHECK(before && copy && len > 0);
	memcpy(copy, before, len);
	memset(&s, 0, sizeof s);
	n_notes = 0;
	CHECK_RC(cs_sqlite_rewrite_buffer(copy, len, "db.sqlite", &plan, &s, &check_err),
		 CS_ERR_DB);
	CHECK(strcmp(check_err.path, "db.sqlite") == 0 &&
	      strstr(check_err.what, "t.path: 2 rows to rewrite but 0 rewritten") != NULL);
	CHECK(n_notes == 0 && s.rewrites == 0 && memcmp(copy, before, len) == 0);

	/* Damaged, on disk (restores): refused, rolled back, the file as it was. */
	memset(&s, 0, sizeof s);
	n_notes = 0;
	CHECK_RC(cs_sqlite_rewrite_file(path, "db.sqlite", &plan, &s, &changed, &check_err),
		 CS_ERR_DB);
	CHECK(strstr(check_err.what, "rows to rewrite but 0 rewritten") != NULL);
	CHECK(!changed && n_notes == 0 && s.rewrites == 0);
	unsigned char *after = slurp(path, &len2);
	CHECK(after && len2 == len && memcmp(after, before, len) == 0);

	free(before);
	free(copy);
	free(after);
	unlink(path);
	rmdir(dir);
	TEST_DONE();
}
