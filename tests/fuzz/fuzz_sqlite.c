/*
 * fuzz_sqlite.c - the SQLite rewriter on a database in memory
 * (cs_sqlite_rewrite_buffer, what a dry-run restore runs on a captured
 * database): the input is the database file.  The input buffer is left alone,
 * and every outcome is CS_OK or a database error, never a crash; notes come
 * only with rewritten rows.
 */
#include "fuzz.h"

static const struct cs_rewrite rules[] = {
	{"/home/alice", "/home/node"},
	{"/home/alice/.openclaw", "/home/node/.openclaw"},
};
static const char *const needles[] = {"/home/alice", "/home/alice/.openclaw"};
static size_t n_notes, n_warns;

static void on_note(void *ctx, const struct cs_rewrite_note *n)
{
	FUZZ_CHECK(n->path && n->where && n->from && n->to);
	n_notes++;
}

static void on_warn(void *ctx, const char *path, const char *reason)
{
	FUZZ_CHECK(path && reason && reason[0]);
	n_warns++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_rw_plan plan = {rules, 2, needles, 2, on_note, on_warn, NULL};
	struct cs_rw_stats stats;
	struct cs_error err;
	unsigned char *copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data, size);
	memset(&stats, 0, sizeof stats);
	cs_error_clear(&err);
	n_notes = n_warns = 0;
	int rc = cs_sqlite_rewrite_buffer(data, size, "state/fuzz.sqlite", &plan, &stats, &err);
	fuzz_check_rc(rc, &err);
	/* SQLite reports some damaged files as out of memory (SQLITE_NOMEM). */
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_DB || rc == CS_ERR_NOSPACE || rc == CS_ERR_NOMEM);
	FUZZ_CHECK(memcmp(copy, data, size) == 0);
	if (rc == CS_OK)
		FUZZ_CHECK(stats.files_rewritten <= 1 && (stats.rewrites > 0) == (n_notes > 0));
	else
		FUZZ_CHECK(n_notes == 0 && stats.rewrites == 0);
	free(copy);
	return 0;
}
