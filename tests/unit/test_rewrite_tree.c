/* test_rewrite_tree.c - the tree rewriter: file kinds, one file in memory (notes,
 * leftovers, refusals), leftover counting across chunk splits, SQLite databases through
 * SQL (one transaction, WAL, triggers, FTS, dry-run copies), and staged trees. */
#include "internal.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wformat-truncation"

static char tmp[PATH_MAX];

/* The state rule maps somewhere the home rule would not, so the longest rule shows. */
static const struct cs_rewrite rules[] = {
	{"/home/hostuser", "/home/node"},
	{"/home/hostuser/.openclaw", "/srv/state"},
};
static const char *const needles[] = {"/home/hostuser", "/home/hostuser/.openclaw"};

/* Notes and warnings as "path|where|from|to" and "path|reason" lines. */
static char notes[8192], warns[8192];

static void add_line(char *log, const char *fmt, ...)
{
	size_t o = strlen(log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(log + o, 8192 - o, fmt, ap);
	va_end(ap);
}

static void on_note(void *ctx, const struct cs_rewrite_note *n)
{
	add_line(notes, "%s|%s|%s|%s\n", n->path, n->where, n->from, n->to);
}

static void on_warn(void *ctx, const char *path, const char *reason)
{
	add_line(warns, "%s|%s\n", path, reason);
}

static const struct cs_rw_plan plan = {rules, 2, needles, 2, on_note, on_warn, NULL};

static void reset_logs(void)
{
	notes[0] = warns[0] = '\0';
}

static bool log_is(const char *log, const char *want)
{
	if (!strcmp(log, want))
		return true;
	fprintf(stderr, "  got:\n%s  want:\n%s", log, want);
	return false;
}

static bool stats_are(const struct cs_rw_stats *s, uint64_t rw, uint64_t files, uint64_t lf,
		      uint64_t lm)
{
	bool ok = s->rewrites == rw && s->files_rewritten == files && s->leftover_files == lf &&
		  s->leftover_mentions == lm;
	if (!ok)
		fprintf(stderr, "  stats %llu %llu %llu %llu\n", (unsigned long long)s->rewrites,
			(unsigned long long)s->files_rewritten,
			(unsigned long long)s->leftover_files,
			(unsigned long long)s->leftover_mentions);
	return ok;
}

/* ---- kinds ----------------------------------------------------------------------------- */

static int kind_of(const char *path, int type, int is_sqlite)
{
	struct cs_entry e;
	memset(&e, 0, sizeof e);
	e.path = (char *)path;
	e.type = type;
	e.is_sqlite = is_sqlite;
	return cs_rw_kind(&e);
}

static void test_kinds(void)
{
	static const struct {
		const char *path;
		int kind;
	} files[] = {
		{"openclaw.json", CS_RW_CONFIG},
		{"openclaw.json.bak", CS_RW_CONFIG_BAK},
		{"openclaw.json.bak.1", CS_RW_CONFIG_BAK},
		{"openclaw.json.bak.4", CS_RW_CONFIG_BAK},
		{"openclaw.json.bak.1772352289", CS_RW_CONFIG_BAK},
		{"openclaw.json.bak.before-marketing", CS_RW_CONFIG_BAK},
		{"openclaw.json.pre-update.bak", CS_RW_CONFIG_BAK},
		{"openclaw.json.last-good", CS_RW_CONFIG_BAK},
		{"openclaw.json.clobbered.2026-05-01T10-00-00-000Z", CS_RW_CONFIG_BAK},
		{"openclaw.json.clobbered.2026-05-01T10-00-00-000Z-01", CS_RW_CONFIG_BAK},
		{"openclaw.json.rejected.2026-05-01T10-00-00-000Z", CS_RW_CONFIG_BAK},
		{"openclaw.json.bak.", CS_RW_NONE},
		{"openclaw.json.clobbered.", CS_RW_NONE},
		{"openclaw.json..bak", CS_RW_CONFIG_BAK},
		{"openclaw.json.pre-update", CS_RW_NONE},
		{"openclaw.json5", CS_RW_NONE},
		{"openclaw.jsonl", CS_RW_JSONL},
		{"workspace/openclaw.json", CS_RW_NONE},
		{"workspace/openclaw.json.bak", CS_RW_NONE},
		{"sessions.json", CS_RW_JSON},
		{"agents/main/sessions/sessions.json", CS_RW_JSON},
		{"agents/main/sessions/sessions.json.bak", CS_RW_NONE},
		{"exec-approvals.json", CS_RW_JSON},
		{"workspace/exec-approvals.json", CS_RW_NONE},
		{"agents/main/sessions/0b2c.jsonl", CS_RW_JSONL},
		{"x.jsonl", CS_RW_JSONL},
		{".jsonl", CS_RW_NONE},
		{"a/.jsonl", CS_RW_NONE},
		{"x.jsonl.bak", CS_RW_NONE},
		{"x.JSONL", CS_RW_NONE},
		{"workspace/MEMORY.md", CS_RW_NONE},
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		int k = kind_of(files[i].path, CS_ENTRY_FILE, 0);
		if (k != files[i].kind)
			fprintf(stderr, "  %s: kind %d, want %d\n", files[i].path, k, files[i].kind);
		CHECK(k == files[i].kind);
	}
	CHECK(kind_of("memory/main.sqlite", CS_ENTRY_FILE, 1) == CS_RW_SQLITE);
	CHECK(kind_of("openclaw.json", CS_ENTRY_FILE, 1) == CS_RW_SQLITE);
	/* only regular files */
	CHECK(kind_of("openclaw.json", CS_ENTRY_DIR, 0) == CS_RW_NONE);
	CHECK(kind_of("sessions.json", CS_ENTRY_SYMLINK, 0) == CS_RW_NONE);
	CHECK(kind_of("a.jsonl", CS_ENTRY_HARDLINK, 0) == CS_RW_NONE);
	CHECK(kind_of("memory/main.sqlite", CS_ENTRY_HARDLINK, 1) == CS_RW_NONE);
}

/* ---- one file in memory ------------------------------------------------------------------ */

static const char config_in[] =
	"// config of /home/hostuser\n"
	"{\n"
	"  agents: {\n"
	"    defaults: { workspace: '/home/hostuser/.openclaw/workspace', },\n"
	"    list: [ { id: \"main\", dir: \"\\/home\\/hostuser\\/.openclaw\\/agents\\/main\" }, ],\n"
	"  },\n"
	"  other: \"/home/hostuser2/x\",\n"
	"  url: 'http://example.com//home/hostuser', // a URL, not a path\n"
	"  \"/home/hostuser/key\": \"/home/hostuser\",\n"
	"  /* block */ media: '/home/hostuser/media/it\\'s', relative: 'x/home/hostuser',\n"
	"}\n";

static const char config_out[] =
	"// config of /home/hostuser\n"
	"{\n"
	"  agents: {\n"
	"    defaults: { workspace: '/srv/state/workspace', },\n"
	"    list: [ { id: \"main\", dir: \"\\/srv\\/state\\/agents\\/main\" }, ],\n"
	"  },\n"
	"  other: \"/home/hostuser2/x\",\n"
	"  url: 'http://example.com//home/hostuser', // a URL, not a path\n"
	"  \"/home/hostuser/key\": \"/home/node\",\n"
	"  /* block */ media: '/home/node/media/it\\'s', relative: 'x/home/hostuser',\n"
	"}\n";

/* Rewrite in as kind; out must be want (NULL: unchanged). */
static bool buffer_is(int kind, const char *path, const char *in, size_t len, int truncated,
		      const char *want, struct cs_rw_stats *s)
{
	char *out = (char *)"x";
	size_t out_len = 7;
	cs_error_clear(&check_err);
	int rc = cs_rw_buffer(kind, path, in, len, truncated, &plan, &out, &out_len, s, &check_err);
	bool ok = rc == CS_OK && (want ? out && out_len == strlen(want) && !memcmp(out, want, out_len)
				       : !out && !out_len);
	if (!ok)
		fprintf(stderr, "  rc %d, got:\n%s\n", rc, out ? out : "(unchanged)");
	free(out);
	return ok;
}

static void test_buffer(void)
{
	struct cs_rw_stats s = {0};
	reset_logs();
	CHECK(buffer_is(CS_RW_CONFIG, "openclaw.json", config_in, strlen(config_in), 0, config_out,
			&s));
	CHECK(log_is(notes,
		     "openclaw.json|line 4|/home/hostuser/.openclaw/workspace|/srv/state/workspace\n"
		     "openclaw.json|line 5|/home/hostuser/.openclaw/agents/main|/srv/state/agents/main\n"
		     "openclaw.json|line 9|/home/hostuser|/home/node\n"
		     "openclaw.json|line 10|/home/hostuser/media/it's|/home/node/media/it's\n"));
	/* the comment, the URL's path and the key are left, and counted */
	CHECK(log_is(warns, "openclaw.json|mentions /home/hostuser 3 times; not rewritten\n"));
	CHECK(stats_are(&s, 4, 1, 1, 3));

	/* nothing to rewrite, nothing left */
	memset(&s, 0, sizeof s);
	reset_logs();
	CHECK(buffer_is(CS_RW_JSON, "sessions.json", "{\"a\":\"/tmp\"}", 12, 0, NULL, &s));
	CHECK(log_is(notes, "") && log_is(warns, "") && stats_are(&s, 0, 0, 0, 0));

	/* a config that does not parse is refused, naming file, line and column */
	static const char broken[] = "{\n  a: '/home/hostuser/x'\n  b: 1\n}\n";
	char *out = (char *)"x";
	size_t out_len = 3;
	reset_logs();
	CHECK_RC(cs_rw_buffer(CS_RW_CONFIG, "openclaw.json", broken, strlen(broken), 0, &plan, &out,
			      &out_len, &s, &check_err),
		 CS_ERR_CORRUPT);
	CHECK(!out && !out_len && !strcmp(check_err.path, "openclaw.json") &&
	      !strcmp(check_err.what, "not valid JSON5 at line 3 column 3: expected ',' or '}' in object"));
	CHECK(log_is(notes, "") && log_is(warns, ""));

	/* the same as a backup or a sessions file: reported, left, its mentions counted */
	memset(&s, 0, sizeof s);
	CHECK(buffer_is(CS_RW_CONFIG_BAK, "openclaw.json.bak.2", broken, strlen(broken), 0, NULL,
			&s));
	CHECK(buffer_is(CS_RW_JSON, "agents/main/sessions/sessions.json", "[", 1, 0, NULL, &s));
	CHECK(log_is(warns, "openclaw.json.bak.2|not valid JSON5 at line 3 column 3: expected ',' or "
			    "'}' in object; not rewritten\n"
			    "openclaw.json.bak.2|mentions /home/hostuser 1 time; not rewritten\n"
			    "agents/main/sessions/sessions.json|not valid JSON5 at line 1 column 2: "
			    "unexpected end of input in array; not rewritten\n"));
	CHECK(stats_are(&s, 0, 0, 1, 1));

	/* too large: only what was given is counted */
	reset_logs();
	memset(&s, 0, sizeof s);
	CHECK(buffer_is(CS_RW_CONFIG, "openclaw.json", "{a:'/home/hostuser'", 19, 1, NULL, &s));
	CHECK(log_is(warns, "openclaw.json|too large to rewrite (over 64 MiB); not rewritten\n"
			    "openclaw.json|mentions /home/hostuser 1 time; not rewritten\n"));

	/* a transcript: the first line's cwd; other lines are copied and counted */
	static const char tr_in[] =
		"{\"type\":\"session\",\"cwd\":\"/home/hostuser/.openclaw/workspace\"}\n"
		"{\"cwd\":\"/home/hostuser\",\"text\":\"cd /home/hostuser/x\"}\n";
	static const char tr_out[] =
		"{\"type\":\"session\",\"cwd\":\"/srv/state/workspace\"}\n"
		"{\"cwd\":\"/home/hostuser\",\"text\":\"cd /home/hostuser/x\"}\n";
	reset_logs();
	memset(&s, 0, sizeof s);
	CHECK(buffer_is(CS_RW_JSONL, "a.jsonl", tr_in, strlen(tr_in), 0, tr_out, &s));
	CHECK(log_is(notes, "a.jsonl|line 1|/home/hostuser/.openclaw/workspace|/srv/state/workspace\n"));
	CHECK(log_is(warns, "a.jsonl|mentions /home/hostuser 2 times; not rewritten\n"));
	CHECK(stats_are(&s, 1, 1, 1, 2));
	/* a first line that does not fit is reported; one that does not parse too */
	reset_logs();
	CHECK(buffer_is(CS_RW_JSONL, "b.jsonl", "{\"cwd\":\"/tmp\"", 13, 1, NULL, &s));
	CHECK(buffer_is(CS_RW_JSONL, "c.jsonl", "{\"cwd\":\n{}\n", 11, 0, NULL, &s));
	CHECK(log_is(warns, "b.jsonl|first line too large to rewrite (over 64 MiB); not rewritten\n"
			    "c.jsonl|not valid JSON5 at line 1 column 8: unexpected end of input, "
			    "expected a value; not rewritten\n"));
	CHECK_RC(cs_rw_buffer(CS_RW_SQLITE, "x", "", 0, 0, &plan, &out, &out_len, &s, &check_err),
		 CS_ERR_USAGE);
}

/* ---- leftovers across chunks --------------------------------------------------------------- */

static const char mention_text[] =
	"a /home/hostuser b /home/hostuser2 c /home/hostuser/.openclaw/x d "
	"\\/home\\/hostuser\\/y e x/home/hostuser f /home/hostuser.old g "
	"file:///home/hostuser/.openclawx h \"/home/hostuser/.openclaw\" i /home/hostuser";

static uint64_t count_split(const char *text, size_t len, size_t cut1, size_t cut2)
{
	struct cs_mentions m;
	struct cs_rw_plan quiet = plan;
	quiet.warn = NULL;
	cs_mentions_init(&m, &quiet);
	cs_mentions_feed(&m, text, cut1);
	cs_mentions_feed(&m, text + cut1, cut2 - cut1);
	cs_mentions_feed(&m, text + cut2, len - cut2);
	return cs_mentions_end(&m, "t", NULL);
}

static void test_mentions(void)
{
	size_t len = strlen(mention_text);
	/* a, c (once, for the longer needle), d, g, h and i; not b, e or f */
	CHECK(count_split(mention_text, len, len, len) == 6);
	size_t bad = 0;
	for (size_t i = 0; i <= len; i++)
		for (size_t j = i; j <= len; j++)
			bad += count_split(mention_text, len, i, j) != 6;
	CHECK(bad == 0);
	/* byte by byte */
	struct cs_mentions m;
	struct cs_rw_stats s = {0};
	reset_logs();
	cs_mentions_init(&m, &plan);
	for (size_t i = 0; i < len; i++)
		cs_mentions_feed(&m, mention_text + i, 1);
	CHECK(cs_mentions_end(&m, "notes.md", &s) == 6);
	CHECK(log_is(warns, "notes.md|mentions /home/hostuser 6 times; not rewritten\n"));
	CHECK(stats_are(&s, 0, 0, 1, 6));
	/* a needle at the end of a chunk is decided by the next one, or by the end */
	CHECK(count_split("/home/hostuser2", 15, 14, 14) == 0);
	CHECK(count_split("/home/hostuser/", 15, 14, 14) == 1);
	CHECK(count_split("/home/hostuser", 14, 14, 14) == 1);
	CHECK(count_split("x/home/hostuser", 15, 1, 1) == 0);
	/* a long run of data between mentions, split everywhere near them */
	size_t big = 3 * 65536 + 17;
	char *b = malloc(big);
	CHECK(b != NULL);
	if (b) {
		memset(b, ' ', big);
		memcpy(b + 65530, "/home/hostuser/.openclaw", 24);
		memcpy(b + big - 14, "/home/hostuser", 14);
		for (size_t cut = 65520; cut < 65560; cut++)
			bad += count_split(b, big, cut, big - 7) != 2;
		CHECK(bad == 0);
		free(b);
	}
	/* no needles, nothing counted; a state-dir needle alone is named as such */
	struct cs_rw_plan one = plan;
	one.n_needles = 0;
	cs_mentions_init(&m, &one);
	cs_mentions_feed(&m, "/home/hostuser", 14);
	CHECK(cs_mentions_end(&m, "x", NULL) == 0);
	one.needles = needles + 1;
	one.n_needles = 1;
	reset_logs();
	cs_mentions_init(&m, &one);
	cs_mentions_feed(&m, "/home/hostuser/.openclaw/a", 26);
	CHECK(cs_mentions_end(&m, "x", NULL) == 1);
	CHECK(log_is(warns, "x|mentions /home/hostuser/.openclaw 1 time; not rewritten\n"));
	/* a recorded prefix with a control byte reaches the warning escaped */
	static const char *const odd[] = {"/home/a\x1b[2J"};
	one.needles = odd;
	reset_logs();
	cs_mentions_init(&m, &one);
	cs_mentions_feed(&m, " /home/a\x1b[2J ", 13);
	CHECK(cs_mentions_end(&m, "x", NULL) == 1);
	CHECK(log_is(warns, "x|mentions /home/a\\x1b[2J 1 time; not rewritten\n"));
}

/* ---- SQLite ----------------------------------------------------------------------------- */

static void path_of(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", tmp, rel);
}

static bool sql(const char *file, const char *text)
{
	sqlite3 *db = NULL;
	char *msg = NULL, p[PATH_MAX];
	path_of(p, file);
	int rc = sqlite3_open(p, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, text, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s: %s\n", file, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

/* The rows of query as "a|b\n" lines (NULL as "-", blobs as "blob:N"). */
static bool rows_are(const char *file, const char *query, const char *want)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char got[4096] = "", p[PATH_MAX];
	path_of(p, file);
	if (sqlite3_open(p, &db) != SQLITE_OK || sqlite3_prepare_v2(db, query, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "  %s: %s\n", query, sqlite3_errmsg(db));
		sqlite3_close(db);
		return false;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(q); i++) {
			size_t o = strlen(got);
			int t = sqlite3_column_type(q, i);
			if (t == SQLITE_NULL)
				snprintf(got + o, sizeof got - o, "%s-", i ? "|" : "");
			else if (t == SQLITE_BLOB)
				snprintf(got + o, sizeof got - o, "%sblob:%d", i ? "|" : "",
					 sqlite3_column_bytes(q, i));
			else
				snprintf(got + o, sizeof got - o, "%s%s", i ? "|" : "",
					 (const char *)sqlite3_column_text(q, i));
		}
		strncat(got, "\n", sizeof got - strlen(got) - 1);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return log_is(got, want);
}

static int count_entries(const char *dir)
{
	char p[PATH_MAX];
	int n = 0;
	path_of(p, dir);
	DIR *d = opendir(p);
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static char *slurp(const char *rel, size_t *len)
{
	char p[PATH_MAX];
	path_of(p, rel);
	FILE *f = fopen(p, "rb");
	char *buf = NULL;
	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (n >= 0 && (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

static const char db_schema[] =
	"CREATE TABLE sessions(id INTEGER PRIMARY KEY, cwd TEXT, n INTEGER, data BLOB);"
	"CREATE TABLE \"we\"\"ird table\"(\"col \"\"q\"\"\" TEXT, other TEXT);"
	"INSERT INTO sessions VALUES(1, '/home/hostuser/.openclaw/workspace', 5, "
	"  x'2f686f6d652f686f737475736572');"
	"INSERT INTO sessions VALUES(2, '/home/hostuser2/x', 6, NULL);"
	"INSERT INTO sessions VALUES(3, 'see /home/hostuser', 7, NULL);"
	"INSERT INTO sessions VALUES(4, '/home/hostuser', 8, NULL);"
	"INSERT INTO sessions VALUES(5, 42, '/home/hostuser/n', NULL);"
	"INSERT INTO \"we\"\"ird table\" VALUES('/home/hostuser/a', 'x');";

static const char db_rows[] =
	"1|/srv/state/workspace|5|blob:14\n"
	"2|/home/hostuser2/x|6|-\n"
	"3|see /home/hostuser|7|-\n"
	"4|/home/node|8|-\n"
	"5|42|/home/node/n|-\n";

static const char db_notes[] =
	"db.sqlite|sessions.cwd (1 row)|/home/hostuser|/home/node\n"
	"db.sqlite|sessions.cwd (1 row)|/home/hostuser/.openclaw|/srv/state\n"
	"db.sqlite|sessions.n (1 row)|/home/hostuser|/home/node\n"
	"db.sqlite|we\"ird table.col \"q\" (1 row)|/home/hostuser|/home/node\n";

static void test_sqlite(void)
{
	char p[PATH_MAX];
	struct cs_rw_stats s = {0};
	bool changed = false;
	size_t len, len2;

	/* a rollback-journal database and a WAL one */
	CHECK(sql("sq/db.sqlite", db_schema));
	CHECK(sql("sqw/db.sqlite", "PRAGMA journal_mode=WAL;") && sql("sqw/db.sqlite", db_schema));
	char *orig = slurp("sq/db.sqlite", &len);
	char *orig_w = slurp("sqw/db.sqlite", &len2);
	CHECK(orig && len > 20 && orig[18] == 1 && orig_w && len2 > 20 && orig_w[18] == 2 &&
	      count_entries("sqw") == 1);

	/* the dry run leaves its input alone and reports what the real run does */
	reset_logs();
	char *copy = malloc(len);
	memcpy(copy, orig, len);
	CHECK_OK(cs_sqlite_rewrite_buffer(copy, len, "db.sqlite", &plan, &s, &check_err));
	CHECK(!memcmp(copy, orig, len));
	CHECK(log_is(notes, db_notes));
	CHECK(log_is(warns, "db.sqlite|mentions /home/hostuser 1 time; not rewritten\n"));
	CHECK(stats_are(&s, 4, 1, 1, 1));
	free(copy);
	memset(&s, 0, sizeof s);
	reset_logs();
	CHECK_OK(cs_sqlite_rewrite_buffer(orig_w, len2, "db.sqlite", &plan, &s, &check_err));
	CHECK(log_is(notes, db_notes) && stats_are(&s, 4, 1, 1, 1));

	for (int wal = 0; wal < 2; wal++) {
		const char *dir = wal ? "sqw" : "sq";
		char rel[64];
		snprintf(rel, sizeof rel, "%s/db.sqlite", dir);
		path_of(p, rel);
		memset(&s, 0, sizeof s);
		reset_logs();
		CHECK_OK(cs_sqlite_rewrite_file(p, "db.sqlite", &plan, &s, &changed, &check_err));
		CHECK(changed && stats_are(&s, 4, 1, 1, 1));
		CHECK(log_is(notes, db_notes));
		CHECK(rows_are(rel, "SELECT * FROM sessions ORDER BY id", db_rows));
		CHECK(rows_are(rel, "SELECT * FROM \"we\"\"ird table\"", "/home/node/a|x\n"));
		CHECK(rows_are(rel, "PRAGMA integrity_check", "ok\n"));
		/* the blob kept its bytes */
		CHECK(rows_are(rel, "SELECT hex(data) FROM sessions WHERE id = 1",
			       "2F686F6D652F686F737475736572\n"));
		/* only the database is left, in the journal mode it had */
		CHECK(count_entries(dir) == 1);
		size_t n;
		char *now = slurp(rel, &n);
		CHECK(now && n > 20 && now[18] == (wal ? 2 : 1) && now[19] == (wal ? 2 : 1));
		free(now);
		/* again: nothing left to do */
		memset(&s, 0, sizeof s);
		reset_logs();
		CHECK_OK(cs_sqlite_rewrite_file(p, "db.sqlite", &plan, &s, &changed, &check_err));
		CHECK(!changed && stats_are(&s, 0, 0, 1, 1) && log_is(notes, ""));
	}
	free(orig);
	free(orig_w);

	/* one transaction: the second table's trigger aborts, the first table is as it was */
	CHECK(sql("sqt/t.sqlite",
		  "CREATE TABLE a(p TEXT); CREATE TABLE b(p TEXT);"
		  "INSERT INTO a VALUES('/home/hostuser/x'); INSERT INTO b VALUES('/home/hostuser/y');"
		  "CREATE TRIGGER stop BEFORE UPDATE ON b BEGIN SELECT RAISE(ABORT, 'no updates here'); END;"));
	path_of(p, "sqt/t.sqlite");
	memset(&s, 0, sizeof s);
	reset_logs();
	CHECK_RC(cs_sqlite_rewrite_file(p, "memory/t.sqlite", &plan, &s, &changed, &check_err),
		 CS_ERR_DB);
	CHECK(!strcmp(check_err.path, "memory/t.sqlite") && !strcmp(check_err.what, "b.p: no updates here"));
	CHECK(!changed && stats_are(&s, 0, 0, 0, 0) && log_is(notes, "") && log_is(warns, ""));
	CHECK(rows_are("sqt/t.sqlite", "SELECT p FROM a UNION ALL SELECT p FROM b",
		       "/home/hostuser/x\n/home/hostuser/y\n"));
	CHECK(count_entries("sqt") == 1);

	/* triggers fire: an external-content FTS index follows its table; a virtual
	 * table's own content is not rewritten (its shadow tables are left) but counted */
	CHECK(sql("sqf/f.sqlite",
		  "CREATE TABLE facts(id INTEGER PRIMARY KEY, p TEXT);"
		  "CREATE VIRTUAL TABLE facts_fts USING fts5(p, content=facts, content_rowid=id);"
		  "CREATE TRIGGER fa AFTER INSERT ON facts BEGIN "
		  "  INSERT INTO facts_fts(rowid, p) VALUES (new.id, new.p); END;"
		  "CREATE TRIGGER fu AFTER UPDATE ON facts BEGIN "
		  "  INSERT INTO facts_fts(facts_fts, rowid, p) VALUES ('delete', old.id, old.p);"
		  "  INSERT INTO facts_fts(rowid, p) VALUES (new.id, new.p); END;"
		  "INSERT INTO facts(p) VALUES ('/home/hostuser/notes');"
		  "CREATE VIRTUAL TABLE docs USING fts5(body, path UNINDEXED);"
		  "INSERT INTO docs VALUES ('some text', '/home/hostuser/doc.md');"));
	path_of(p, "sqf/f.sqlite");
	memset(&s, 0, sizeof s);
	reset_logs();
	CHECK_OK(cs_sqlite_rewrite_file(p, "f.sqlite", &plan, &s, &changed, &check_err));
	CHECK(log_is(notes, "f.sqlite|facts.p (1 row)|/home/hostuser|/home/node\n"));
	CHECK(log_is(warns, "f.sqlite|mentions /home/hostuser 1 time; not rewritten\n"));
	CHECK(stats_are(&s, 1, 1, 1, 1));
	CHECK(rows_are("sqf/f.sqlite", "SELECT rowid FROM facts_fts WHERE facts_fts MATCH 'node'",
		       "1\n"));
	CHECK(rows_are("sqf/f.sqlite", "SELECT count(*) FROM facts_fts WHERE facts_fts MATCH 'hostuser'",
		       "0\n"));
	CHECK(sql("sqf/f.sqlite", "INSERT INTO facts_fts(facts_fts) VALUES ('integrity-check');"
				  "INSERT INTO docs(docs) VALUES ('integrity-check');"));
	CHECK(rows_are("sqf/f.sqlite", "SELECT path FROM docs", "/home/hostuser/doc.md\n"));

	/* not a database */
	CHECK(sql("sqx/ok.sqlite", "CREATE TABLE t(a)"));
	path_of(p, "sqx/ok.sqlite");
	int fd = open(p, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "not a database at all, really not", 33) == 33 && close(fd) == 0);
	CHECK_RC(cs_sqlite_rewrite_file(p, "f.sqlite", &plan, &s, &changed, &check_err), CS_ERR_DB);
	CHECK(!strcmp(check_err.path, "f.sqlite"));
	CHECK_RC(cs_sqlite_rewrite_buffer("garbage garbage garbage garbage", 31, "g.sqlite", &plan,
					  &s, &check_err),
		 CS_ERR_DB);
}

/* ---- a staged tree ----------------------------------------------------------------------- */

struct src {
	struct cs_entry e;
	const char *content;
	size_t len;
};

struct memread {
	const char *p;
	size_t len, pos;
};

static int mem_read(void *ctx, void *buf, size_t cap, size_t *got, struct cs_error *err)
{
	struct memread *m = ctx;
	size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	*got = n;
	return CS_OK;
}

static struct src ent(const char *path, int type, uint32_t mode, const char *content, size_t len)
{
	struct src s;
	cs_hash_state hs;
	memset(&s, 0, sizeof s);
	s.e.path = (char *)path;
	s.e.type = type;
	s.e.mode = mode;
	s.e.uid = geteuid();
	s.e.gid = getegid();
	s.e.mtime_sec = 1500000000 + (int64_t)strlen(path);
	s.e.mtime_nsec = 5000;
	if (type == CS_ENTRY_HARDLINK)
		s.e.target = (char *)content;
	if (type == CS_ENTRY_FILE) {
		s.content = content;
		s.len = len;
		s.e.size = len;
		cs_hash_init(&hs);
		cs_hash_update(&hs, content, len);
		cs_hash_final(&hs, s.e.hash);
	}
	return s;
}

/* Does the file at rel have exactly want (len bytes)? */
static bool file_is(const char *rel, const char *want, size_t len)
{
	size_t n;
	char *got = slurp(rel, &n);
	bool ok = got && n == len && !memcmp(got, want, len);
	if (!ok)
		fprintf(stderr, "  %s: %zu bytes, want %zu\n", rel, got ? n : 0, len);
	free(got);
	return ok;
}

static bool hash_matches(const char *rel, const struct cs_entry *e)
{
	size_t n;
	char *got = slurp(rel, &n);
	unsigned char h[CS_HASH_BYTES];
	cs_hash_state hs;
	cs_hash_init(&hs);
	cs_hash_update(&hs, got, n);
	cs_hash_final(&hs, h);
	free(got);
	return got && n == e->size && !memcmp(h, e->hash, sizeof h);
}

/* Stage list into target_rel, rewrite, and commit (commit only when rewrite_rc is CS_OK). */
static int stage_rewrite(const char *target_rel, struct src *list, size_t n, struct cs_entry *entries,
			 struct cs_rw_stats *s)
{
	char target[PATH_MAX];
	struct cs_restore_opts o;
	struct cs_restore_result res;
	struct cs_stage *st = NULL;
	memset(&o, 0, sizeof o);
	memset(&res, 0, sizeof res);
	path_of(target, target_rel);
	o.target = target;
	o.keep_old = 1;
	res.info.uid = geteuid();
	res.info.gid = getegid();
	for (size_t i = 0; i < n; i++)
		entries[i] = list[i].e;
	int rc = cs_entries_validate(entries, n, &check_err);
	if (rc == CS_OK)
		rc = cs_stage_open(&o, 1, 0, &st, &check_err);
	for (size_t i = 0; rc == CS_OK && i < n; i++) {
		struct memread m = {list[i].content, list[i].len, 0};
		rc = cs_stage_add(st, &entries[i], mem_read, &m, &check_err);
	}
	if (rc == CS_OK)
		rc = cs_stage_rewrite(st, entries, NULL, n, &plan, s, &check_err);
	if (rc == CS_OK && (rc = cs_stage_commit(st, entries, n, &res, &check_err)) == CS_OK)
		st = NULL;
	cs_stage_abort(st);
	return rc;
}

static void test_stage_tree(void)
{
	/* a transcript whose first line spans several reads, and many lines after it */
	size_t pad = 100000, lines = 3000;
	static const char line[] = "{\"text\":\"ls /home/hostuser/bin\"}\n";
	static const char head1[] = "{\"type\":\"session\",\"pad\":\"";
	static const char tail_in[] = "\",\"cwd\":\"/home/hostuser/.openclaw/workspace\"}\n";
	static const char tail_out[] = "\",\"cwd\":\"/srv/state/workspace\"}\n";
	size_t rest = lines * (sizeof line - 1);
	size_t big_len = sizeof head1 - 1 + pad + sizeof tail_in - 1 + rest;
	size_t big_out_len = big_len - (sizeof tail_in - sizeof tail_out);
	char *big = malloc(big_len), *big_out = malloc(big_out_len);
	char *o = big, *q = big_out;
	memcpy(o, head1, sizeof head1 - 1), o += sizeof head1 - 1;
	memset(o, 'x', pad), o += pad;
	memcpy(o, tail_in, sizeof tail_in - 1), o += sizeof tail_in - 1;
	for (size_t i = 0; i < lines; i++, o += sizeof line - 1)
		memcpy(o, line, sizeof line - 1);
	memcpy(q, big, sizeof head1 - 1 + pad), q += sizeof head1 - 1 + pad;
	memcpy(q, tail_out, sizeof tail_out - 1), q += sizeof tail_out - 1;
	memcpy(q, big + big_len - rest, rest);

	static const char hl[] = "{\"cwd\":\"/home/hostuser\"}\n";
	static const char sj_in[] =
		"{\"main\":{\"sessionFile\":\"/home/hostuser/.openclaw/agents/main/sessions/big.jsonl\"}}";
	static const char sj_out[] = "{\"main\":{\"sessionFile\":\"/srv/state/agents/main/sessions/big.jsonl\"}}";
	static const char bad_bak[] = "{ a: '/home/hostuser' ";
	size_t db_len;
	CHECK(sql("st/src.sqlite", "CREATE TABLE files(path TEXT, size INTEGER);"
				   "INSERT INTO files VALUES('/home/hostuser/.openclaw/workspace/MEMORY.md', 3);"));
	char *db = slurp("st/src.sqlite", &db_len);
	CHECK(db != NULL);

	struct src list[] = {
		ent("agents", CS_ENTRY_DIR, 0700, NULL, 0),
		ent("agents/main", CS_ENTRY_DIR, 0700, NULL, 0),
		ent("agents/main/sessions", CS_ENTRY_DIR, 0700, NULL, 0),
		ent("agents/main/sessions/big.jsonl", CS_ENTRY_FILE, 0640, big, big_len),
		ent("agents/main/sessions/h.jsonl", CS_ENTRY_FILE, 0600, hl, sizeof hl - 1),
		ent("agents/main/sessions/h2.jsonl", CS_ENTRY_HARDLINK, 0600,
		    "agents/main/sessions/h.jsonl", 0),
		ent("agents/main/sessions/sessions.json", CS_ENTRY_FILE, 0600, sj_in, sizeof sj_in - 1),
		ent("memory", CS_ENTRY_DIR, 0755, NULL, 0),
		ent("memory/main.sqlite", CS_ENTRY_FILE, 0644, db, db_len),
		ent("notes.md", CS_ENTRY_FILE, 0644, "/home/hostuser\n", 15),
		ent("openclaw.json", CS_ENTRY_FILE, 0600, config_in, sizeof config_in - 1),
		ent("openclaw.json.bak", CS_ENTRY_FILE, 0600, bad_bak, sizeof bad_bak - 1),
	};
	size_t n = sizeof list / sizeof list[0];
	list[8].e.is_sqlite = 1;
	struct cs_entry entries[sizeof list / sizeof list[0]];
	struct cs_rw_stats s = {0};
	reset_logs();
	CHECK_OK(stage_rewrite("st/t", list, n, entries, &s));
	CHECK(log_is(notes,
		     "agents/main/sessions/big.jsonl|line 1|/home/hostuser/.openclaw/workspace|/srv/state/workspace\n"
		     "agents/main/sessions/sessions.json|line 1|/home/hostuser/.openclaw/agents/main/sessions/big.jsonl|"
		     "/srv/state/agents/main/sessions/big.jsonl\n"
		     "memory/main.sqlite|files.path (1 row)|/home/hostuser/.openclaw|/srv/state\n"
		     "openclaw.json|line 4|/home/hostuser/.openclaw/workspace|/srv/state/workspace\n"
		     "openclaw.json|line 5|/home/hostuser/.openclaw/agents/main|/srv/state/agents/main\n"
		     "openclaw.json|line 9|/home/hostuser|/home/node\n"
		     "openclaw.json|line 10|/home/hostuser/media/it's|/home/node/media/it's\n"));
	CHECK(log_is(warns,
		     "agents/main/sessions/big.jsonl|mentions /home/hostuser 3000 times; not rewritten\n"
		     "agents/main/sessions/h.jsonl|hardlinked; not rewritten\n"
		     "agents/main/sessions/h.jsonl|mentions /home/hostuser 1 time; not rewritten\n"
		     "openclaw.json|mentions /home/hostuser 3 times; not rewritten\n"
		     "openclaw.json.bak|not valid JSON5 at line 1 column 23: unexpected end of input in "
		     "object; not rewritten\n"
		     "openclaw.json.bak|mentions /home/hostuser 1 time; not rewritten\n"));
	CHECK(stats_are(&s, 7, 4, 4, 3005));
	/* the committed tree: rewritten content, the recorded modes and mtimes */
	CHECK(file_is("st/t/agents/main/sessions/big.jsonl", big_out, big_out_len));
	CHECK(file_is("st/t/agents/main/sessions/h.jsonl", hl, sizeof hl - 1));
	CHECK(file_is("st/t/agents/main/sessions/sessions.json", sj_out, sizeof sj_out - 1));
	CHECK(file_is("st/t/notes.md", "/home/hostuser\n", 15));
	CHECK(file_is("st/t/openclaw.json", config_out, sizeof config_out - 1));
	CHECK(file_is("st/t/openclaw.json.bak", bad_bak, sizeof bad_bak - 1));
	CHECK(rows_are("st/t/memory/main.sqlite", "SELECT * FROM files", "/srv/state/workspace/MEMORY.md|3\n"));
	CHECK(rows_are("st/t/memory/main.sqlite", "PRAGMA integrity_check", "ok\n"));
	static const char *const rewritten[] = {"agents/main/sessions/big.jsonl",
						"agents/main/sessions/sessions.json",
						"memory/main.sqlite", "openclaw.json"};
	static const size_t idx[] = {3, 6, 8, 10};
	for (size_t i = 0; i < 4; i++) {
		char rel[PATH_MAX], p[PATH_MAX];
		struct stat sb;
		snprintf(rel, sizeof rel, "st/t/%s", rewritten[i]);
		path_of(p, rel);
		CHECK(hash_matches(rel, &entries[idx[i]]));
		CHECK(entries[idx[i]].size != list[idx[i]].e.size || i == 2);
		CHECK(lstat(p, &sb) == 0 && sb.st_mtim.tv_sec == list[idx[i]].e.mtime_sec &&
		      sb.st_mtim.tv_nsec == 5000 && (sb.st_mode & 07777) == list[idx[i]].e.mode &&
		      sb.st_nlink == 1);
	}
	CHECK(count_entries("st/t") == 5 && count_entries("st/t/agents/main/sessions") == 4 &&
	      count_entries("st/t/memory") == 1);
	char p[PATH_MAX];
	path_of(p, "st/t");
	DIR *d = opendir(p);
	struct dirent *de;
	int stray = 0;
	while (d && (de = readdir(d)))
		stray += de->d_name[0] == '.' && de->d_name[1] && de->d_name[1] != '.';
	if (d)
		closedir(d);
	CHECK(stray == 0);
	CHECK(count_entries("st") == 2); /* src.sqlite and t: no staging dir is left */

	/* a config that does not parse fails the restore before anything is swapped in */
	static const char broken[] = "{ agents: { defaults: { workspace: '/home/hostuser' } }\n";
	struct src bad[] = {
		ent("openclaw.json", CS_ENTRY_FILE, 0600, broken, sizeof broken - 1),
	};
	struct cs_entry bad_entries[1];
	memset(&s, 0, sizeof s);
	CHECK_RC(stage_rewrite("st/u", bad, 1, bad_entries, &s), CS_ERR_CORRUPT);
	CHECK(!strcmp(check_err.path, "openclaw.json") &&
	      !strcmp(check_err.what, "not valid JSON5 at line 2 column 1: unexpected end of input in object"));
	CHECK(count_entries("st") == 2);
	free(big);
	free(big_out);
	free(db);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/test_rewrite_tree.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 2;
	}
	if (cs_library_init(&check_err) != CS_OK)
		return 2;
	static const char *const dirs[] = {"sq", "sqw", "sqt", "sqf", "sqx", "st"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char p[PATH_MAX];
		path_of(p, dirs[i]);
		mkdir(p, 0755);
	}
	test_kinds();
	test_buffer();
	test_mentions();
	test_sqlite();
	test_stage_tree();
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (check_failed == 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	TEST_DONE();
}
