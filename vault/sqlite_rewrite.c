/* sqlite_rewrite.c - moving path prefixes inside SQLite databases through SQL in one
 * transaction (editing the file's bytes would corrupt it), and counting what is left. */
#include "internal.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* A table.column and the rule its rows were rewritten with, for the note. */
struct db_note {
	char *where;
	size_t rule;
};

struct table {
	char *name;
	bool is_virtual, is_shadow;
};

struct rw {
	sqlite3 *db;
	const struct cs_rw_plan *p;
	struct cs_rw_plan quiet; /* p without warn: mentions counted value by value */
	const char *path;
	struct table *tables;
	size_t n_tables;
	struct db_note *notes;
	size_t n_notes, cap_notes;
	uint64_t rows, mentions;
	struct cs_error *err;
};

/* ---- SQL functions: the same matching rule as every other file ------------------------- */

static const char *text_arg(sqlite3_value *v, size_t *len)
{
	if (sqlite3_value_type(v) != SQLITE_TEXT)
		return NULL;
	const char *s = (const char *)sqlite3_value_text(v);
	*len = (size_t)sqlite3_value_bytes(v);
	return s;
}

/* clawstate_rewrite(x): x with its prefix rewritten, NULL when no rule matches. */
static void fn_rewrite(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rw *r = sqlite3_user_data(ctx);
	size_t len = 0, out_len = 0;
	char *out = NULL;
	const char *s = text_arg(argv[0], &len);
	if (!s) {
		sqlite3_result_null(ctx);
		return;
	}
	if (cs_rewrite_path(r->p->rules, r->p->n_rules, s, len, &out, &out_len) != CS_OK) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (!out)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_text64(ctx, out, out_len, free, SQLITE_UTF8);
}

/* clawstate_rule(x): index of the rule that rewrites x (the first one alone
 * giving the same result as all of them), NULL when none does. */
static void fn_rule(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rw *r = sqlite3_user_data(ctx);
	size_t len = 0, all_len = 0;
	char *all = NULL;
	const char *s = text_arg(argv[0], &len);
	if (!s || cs_rewrite_path(r->p->rules, r->p->n_rules, s, len, &all, &all_len) != CS_OK ||
	    !all) {
		free(all);
		sqlite3_result_null(ctx);
		return;
	}
	for (size_t i = 0; i < r->p->n_rules; i++) {
		char *one = NULL;
		size_t one_len = 0;
		if (cs_rewrite_path(&r->p->rules[i], 1, s, len, &one, &one_len) != CS_OK)
			break;
		bool same = one && one_len == all_len && !memcmp(one, all, all_len);
		free(one);
		if (same) {
			sqlite3_result_int64(ctx, (sqlite3_int64)i);
			free(all);
			return;
		}
	}
	free(all);
	sqlite3_result_null(ctx);
}

/* clawstate_mentions(x): mentions of the needles in x (0 for other types). */
static void fn_mentions(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rw *r = sqlite3_user_data(ctx);
	struct cs_mentions m;
	size_t len = 0;
	const char *s = text_arg(argv[0], &len);
	cs_mentions_init(&m, &r->quiet);
	if (s)
		cs_mentions_feed(&m, s, len);
	sqlite3_result_int64(ctx, (sqlite3_int64)cs_mentions_end(&m, NULL, NULL));
}

/* ---- the transaction ------------------------------------------------------------ */

static int db_fail(struct rw *r, const char *where, int rc)
{
	int code = (rc & 0xff) == SQLITE_FULL ? CS_ERR_NOSPACE
		   : (rc & 0xff) == SQLITE_NOMEM ? CS_ERR_NOMEM
						 : CS_ERR_DB;
	return cs_err_set(r->err, code, r->path, "%s: %s", where, sqlite3_errmsg(r->db));
}

static int nomem(struct rw *r)
{
	return cs_err_set(r->err, CS_ERR_NOMEM, r->path, "out of memory");
}

static int exec(struct rw *r, const char *sql, const char *where)
{
	int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? CS_OK : db_fail(r, where, rc);
}

/*
 * The ordinary tables, by name.  Virtual tables are left alone (their module
 * may not even be loaded here), and so are their shadow tables, named
 * "<virtual>_<suffix>" (SQLite's rule): writing those directly would break the
 * index they belong to.  Shadow tables are still read for leftovers.
 */
static int list_tables(struct rw *r)
{
	static const char sql[] =
		"SELECT name, sql LIKE 'CREATE VIRTUAL TABLE%' FROM sqlite_master "
		"WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int rc = sqlite3_prepare_v2(r->db, sql, -1, &q, NULL), src;
	if (rc != SQLITE_OK)
		return db_fail(r, "list tables", rc);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		if (r->n_tables == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct table *t = realloc(r->tables, nc * sizeof *t);
			if (!t) {
				rc = nomem(r);
				goto out;
			}
			r->tables = t;
			cap = nc;
		}
		struct table *t = &r->tables[r->n_tables];
		if (!(t->name = strdup((const char *)sqlite3_column_text(q, 0)))) {
			rc = nomem(r);
			goto out;
		}
		t->is_virtual = sqlite3_column_int(q, 1) != 0;
		t->is_shadow = false;
		r->n_tables++;
	}
	rc = src == SQLITE_DONE ? CS_OK : db_fail(r, "list tables", src);
	for (size_t i = 0; rc == CS_OK && i < r->n_tables; i++) {
		if (!r->tables[i].is_virtual)
			continue;
		size_t vl = strlen(r->tables[i].name);
		for (size_t j = 0; j < r->n_tables; j++) {
			const char *n = r->tables[j].name;
			if (!r->tables[j].is_virtual && !strncmp(n, r->tables[i].name, vl) && n[vl] == '_')
				r->tables[j].is_shadow = true;
		}
	}
out:
	sqlite3_finalize(q);
	return rc;
}

static int add_note(struct rw *r, const char *table, const char *col, sqlite3_int64 rule,
		    sqlite3_int64 rows)
{
	if (r->n_notes == r->cap_notes) {
		size_t nc = r->cap_notes ? 2 * r->cap_notes : 8;
		struct db_note *n = realloc(r->notes, nc * sizeof *n);
		if (!n)
			return nomem(r);
		r->notes = n;
		r->cap_notes = nc;
	}
	char *w = sqlite3_mprintf("%s.%s (%lld row%s)", table, col, (long long)rows,
				  rows == 1 ? "" : "s");
	if (!w)
		return nomem(r);
	r->notes[r->n_notes++] = (struct db_note){w, (size_t)rule};
	return CS_OK;
}

/* Rewrite one column: count per rule (for the notes), then one UPDATE. */
static int rewrite_column(struct rw *r, const char *table, const char *col)
{
	char where[600];
	sqlite3_stmt *q = NULL;
	sqlite3_int64 total = 0;
	char *count = sqlite3_mprintf("SELECT clawstate_rule(\"%w\"), count(*) FROM \"%w\" "
				      "WHERE typeof(\"%w\") = 'text' AND clawstate_rule(\"%w\") "
				      "IS NOT NULL GROUP BY 1 ORDER BY 1",
				      col, table, col, col);
	char *update = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" = clawstate_rewrite(\"%w\") "
				       "WHERE typeof(\"%w\") = 'text' AND clawstate_rewrite(\"%w\") "
				       "IS NOT NULL",
				       table, col, col, col, col);
	int rc = CS_OK, src;
	snprintf(where, sizeof where, "%.280s.%.280s", table, col);
	if (!count || !update) {
		rc = nomem(r);
		goto out;
	}
	if ((src = sqlite3_prepare_v2(r->db, count, -1, &q, NULL)) != SQLITE_OK) {
		rc = db_fail(r, where, src);
		goto out;
	}
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		sqlite3_int64 rows = sqlite3_column_int64(q, 1);
		total += rows;
		if ((rc = add_note(r, table, col, sqlite3_column_int64(q, 0), rows)) != CS_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = db_fail(r, where, src);
		goto out;
	}
	if (total) {
		if ((rc = exec(r, update, where)) != CS_OK)
			goto out;
		/* Both statements select the same rows unless the database disagrees
		 * with itself (an index that does not match its table, read by the
		 * count but not by the UPDATE; a trigger that skips rows): the notes
		 * would then name rewrites that were not made. */
		sqlite3_int64 changed = sqlite3_changes64(r->db);
		if (changed != total) {
			rc = cs_err_set(r->err, CS_ERR_DB, r->path,
					"%s: %lld rows to rewrite but %lld rewritten (damaged index?)",
					where, (long long)total, (long long)changed);
			goto out;
		}
		r->rows += (uint64_t)changed;
	}
out:
	sqlite3_finalize(q);
	sqlite3_free(count);
	sqlite3_free(update);
	return rc;
}

static int count_column(struct rw *r, const char *table, const char *col)
{
	char where[600];
	sqlite3_stmt *q = NULL;
	char *sql = sqlite3_mprintf("SELECT total(clawstate_mentions(\"%w\")) FROM \"%w\" "
				    "WHERE typeof(\"%w\") = 'text'",
				    col, table, col);
	int rc = CS_OK, src;
	snprintf(where, sizeof where, "%.280s.%.280s", table, col);
	if (!sql)
		return nomem(r);
	if ((src = sqlite3_prepare_v2(r->db, sql, -1, &q, NULL)) != SQLITE_OK ||
	    (src = sqlite3_step(q)) != SQLITE_ROW)
		rc = db_fail(r, where, src);
	else
		r->mentions += (uint64_t)sqlite3_column_double(q, 0);
	sqlite3_finalize(q);
	sqlite3_free(sql);
	return rc;
}

/* Every column of table (generated and hidden ones aside): rewritten unless a
 * shadow table, then counted. */
static int do_table(struct rw *r, const struct table *t)
{
	static const char sql[] =
		"SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE hidden = 0 ORDER BY cid";
	sqlite3_stmt *q = NULL;
	int rc = CS_OK, src = sqlite3_prepare_v2(r->db, sql, -1, &q, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	if (src != SQLITE_OK) {
		rc = db_fail(r, t->name, src);
		sqlite3_finalize(q);
		return rc;
	}
	while (rc == CS_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
		char *col = strdup((const char *)sqlite3_column_text(q, 0));
		if (!col)
			rc = nomem(r);
		if (rc == CS_OK && !t->is_shadow && r->p->n_rules)
			rc = rewrite_column(r, t->name, col);
		if (rc == CS_OK && r->p->n_needles)
			rc = count_column(r, t->name, col);
		free(col);
	}
	if (rc == CS_OK && src != SQLITE_DONE)
		rc = db_fail(r, t->name, src);
	sqlite3_finalize(q);
	return rc;
}

/*
 * Everything in one IMMEDIATE transaction, rolled back on any failure.  Triggers
 * fire (an external-content FTS index kept by triggers stays in step); recursive
 * triggers and foreign keys stay off as SQLite's defaults have them, so an
 * UPDATE does exactly what it says.  secure_delete zeroes the pages the old
 * values leave free.
 */
static int rewrite_db(struct rw *r, bool *changed)
{
	int rc;
	static const struct {
		const char *name;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{"clawstate_rewrite", fn_rewrite},
		{"clawstate_rule", fn_rule},
		{"clawstate_mentions", fn_mentions},
	};
	*changed = false;
	r->quiet = *r->p;
	r->quiet.warn = NULL;
	/* A hostile database gets no help from SQL: no schema writes, no shadow
	 * table writes, corrupt cells found early. */
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		int src = sqlite3_create_function(r->db, fns[i].name, 1,
						  SQLITE_UTF8 | SQLITE_DETERMINISTIC |
							  SQLITE_DIRECTONLY,
						  r, fns[i].fn, NULL, NULL);
		if (src != SQLITE_OK)
			return db_fail(r, "register functions", src);
	}
	/* Exclusive locking keeps a WAL database's index in memory: no -shm file. */
	if ((rc = exec(r, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA secure_delete = ON; "
			  "PRAGMA cell_size_check = ON",
		       "settings")) != CS_OK ||
	    (rc = exec(r, "BEGIN IMMEDIATE", "begin")) != CS_OK)
		return rc;
	if ((rc = list_tables(r)) == CS_OK) {
		for (size_t i = 0; rc == CS_OK && i < r->n_tables; i++)
			if (!r->tables[i].is_virtual)
				rc = do_table(r, &r->tables[i]);
	}
	if (rc == CS_OK)
		rc = exec(r, "COMMIT", "commit");
	if (rc != CS_OK) {
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	*changed = r->rows > 0;
	return CS_OK;
}

/* Notes and counts, once the transaction is committed. */
static void report(struct rw *r, struct cs_rw_stats *s)
{
	struct cs_mentions m;
	for (size_t i = 0; r->p->note && i < r->n_notes; i++) {
		const struct cs_rewrite *rule = &r->p->rules[r->notes[i].rule];
		struct cs_rewrite_note n = {r->path, r->notes[i].where, rule->from, rule->to};
		r->p->note(r->p->ctx, &n);
	}
	if (s) {
		s->rewrites += r->rows;
		s->files_rewritten += r->rows > 0;
	}
	cs_mentions_init(&m, r->p);
	m.count = r->mentions;
	cs_mentions_end(&m, r->path, s);
}

static void rw_free(struct rw *r)
{
	for (size_t i = 0; i < r->n_tables; i++)
		free(r->tables[i].name);
	free(r->tables);
	for (size_t i = 0; i < r->n_notes; i++)
		sqlite3_free(r->notes[i].where);
	free(r->notes);
}

static int close_db(struct rw *r, int rc)
{
	int src = sqlite3_close(r->db);
	if (src != SQLITE_OK && rc == CS_OK)
		rc = cs_err_set(r->err, CS_ERR_DB, r->path, "close: %s", sqlite3_errstr(src));
	r->db = NULL;
	return rc;
}

int cs_sqlite_rewrite_file(const char *abs_path, const char *path, const struct cs_rw_plan *p,
			   struct cs_rw_stats *s, bool *changed, struct cs_error *err)
{
	struct rw r = {.p = p, .path = path, .err = err};
	int rc, src = sqlite3_open_v2(abs_path, &r.db, SQLITE_OPEN_READWRITE, NULL);
	*changed = false;
	if (src != SQLITE_OK)
		rc = db_fail(&r, "open", src);
	else
		rc = rewrite_db(&r, changed);
	rc = close_db(&r, rc);
	if (rc == CS_OK)
		report(&r, s);
	else
		*changed = false;
	rw_free(&r);
	return rc;
}

int cs_sqlite_rewrite_buffer(const void *buf, size_t len, const char *path,
			     const struct cs_rw_plan *p, struct cs_rw_stats *s, struct cs_error *err)
{
	struct rw r = {.p = p, .path = path, .err = err};
	bool changed;
	unsigned char *copy = sqlite3_malloc64(len ? len : 1);
	int rc = CS_OK, src;
	if (!copy)
		return cs_err_set(err, CS_ERR_NOMEM, path, "out of memory");
	memcpy(copy, buf, len);
	/* A memory database cannot have a WAL: the private copy says rollback journal. */
	if (len >= 20 && copy[18] == 2 && copy[19] == 2)
		copy[18] = copy[19] = 1;
	if ((src = sqlite3_open_v2(":memory:", &r.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					NULL)) != SQLITE_OK) {
		sqlite3_free(copy);
		rc = db_fail(&r, "open", src);
	} else if ((src = sqlite3_deserialize(r.db, "main", copy, (sqlite3_int64)len,
					      (sqlite3_int64)len,
					      SQLITE_DESERIALIZE_FREEONCLOSE |
						      SQLITE_DESERIALIZE_RESIZEABLE)) != SQLITE_OK) {
		rc = db_fail(&r, "load", src); /* copy is freed by SQLite */
	} else {
		rc = rewrite_db(&r, &changed);
	}
	rc = close_db(&r, rc);
	if (rc == CS_OK)
		report(&r, s);
	rw_free(&r);
	return rc;
}
