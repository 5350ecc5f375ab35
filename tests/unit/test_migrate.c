/* test_migrate.c - schema upgrades: steps and the schema bump in one write
 * transaction, failing steps change nothing, newer schemas are refused. */
#include "internal.h"
#include "check.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char root[] = "/tmp/cs-migrate-XXXXXX";
static struct cs_cred *cred;
static size_t step_txn[4];
static int step_runs;

static int step_marker(struct cs_vault *v, MDB_txn *txn, struct cs_error *err)
{
	MDB_val d;
	step_txn[0] = mdb_txn_id(txn);
	step_runs++;
	/* The bump comes after the steps, in the same transaction. */
	if (cs_db_get(txn, v->db_meta, "schema", 6, &d, err) != CS_OK || cs_rd32(d.mv_data) != 1)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "schema moved before the steps ran");
	return cs_db_put(txn, v->db_meta, "marker", 6, "one", 3, 0, err);
}

static int step_second(struct cs_vault *v, MDB_txn *txn, struct cs_error *err)
{
	MDB_val d;
	step_txn[1] = mdb_txn_id(txn);
	/* sees the first step's uncommitted write: same transaction */
	int rc = cs_db_get(txn, v->db_meta, "marker", 6, &d, err);
	if (rc != CS_OK)
		return rc;
	return cs_db_put(txn, v->db_journal, "j", 1, "two", 3, 0, err);
}

static int step_fail(struct cs_vault *v, MDB_txn *txn, struct cs_error *err)
{
	return cs_err_set(err, CS_ERR_CORRUPT, NULL, "synthetic failure");
}

/* Writes 3 MiB: more than the 1 MiB map, so the whole upgrade is retried. */
static int step_big(struct cs_vault *v, MDB_txn *txn, struct cs_error *err)
{
	static unsigned char blob[3u << 20];
	step_runs++;
	return cs_db_put(txn, v->db_journal, "big", 3, blob, sizeof blob, 0, err);
}

static void new_vault(const char *name, char *dir, size_t map_size)
{
	snprintf(dir, PATH_MAX, "%s/%s", root, name);
	struct cs_vault_create_opts o = {.dir = dir, .cred = cred, .map_size = map_size};
	CHECK_OK(cs_vault_create(&o, &check_err));
}

static uint32_t stored_schema(struct cs_vault *v)
{
	MDB_txn *txn = NULL;
	MDB_val d;
	uint32_t s = 0;
	CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
	if (cs_db_get(txn, v->db_meta, "schema", 6, &d, &check_err) == CS_OK && d.mv_size == 4)
		s = cs_rd32(d.mv_data);
	mdb_txn_abort(txn);
	return s;
}

static bool has_key(struct cs_vault *v, MDB_dbi dbi, const char *k)
{
	MDB_txn *txn = NULL;
	MDB_val d;
	CHECK_OK(cs_txn_begin(v, false, &txn, &check_err));
	bool found = cs_db_get(txn, dbi, k, strlen(k), &d, &check_err) == CS_OK;
	mdb_txn_abort(txn);
	return found;
}

static void set_schema(const char *dir, uint32_t schema)
{
	struct cs_vault *v = NULL;
	MDB_txn *txn = NULL;
	unsigned char b[4];
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	cs_be32(b, schema);
	CHECK_OK(cs_txn_begin(v, true, &txn, &check_err));
	CHECK_OK(cs_db_put(txn, v->db_meta, "schema", 6, b, 4, 0, &check_err));
	CHECK_OK(cs_txn_commit(txn, &check_err));
	cs_vault_close(v);
}

static void test_apply(void)
{
	char dir[PATH_MAX];
	struct cs_vault *v = NULL;
	const struct cs_migration steps[] = {
		{2, step_second, "second"},
		{1, step_marker, "marker"}, /* order in the table does not matter */
	};
	new_vault("apply", dir, 0);
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	/* nothing to do at the current schema */
	CHECK_OK(cs_migrate(v, steps, 2, 1, &check_err));
	CHECK(step_runs == 0);
	CHECK_OK(cs_migrate(v, steps, 2, 3, &check_err));
	CHECK(step_runs == 1);
	CHECK(stored_schema(v) == 3);
	CHECK(has_key(v, v->db_meta, "marker") && has_key(v, v->db_journal, "j"));
	MDB_envinfo info;
	CHECK(mdb_env_info(v->env, &info) == 0);
	/* both steps ran in the transaction that committed last */
	CHECK(step_txn[0] == step_txn[1] && step_txn[0] == info.me_last_txnid);
	cs_vault_close(v);
	/* this release only knows schema 1: a schema-3 vault is newer */
	CHECK_RC(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err), CS_ERR_VERSION);
	CHECK(v == NULL);
}

static void test_failing_step(void)
{
	char dir[PATH_MAX];
	struct cs_vault *v = NULL;
	const struct cs_migration steps[] = {
		{1, step_marker, "marker"},
		{2, step_fail, "breaks"},
	};
	new_vault("fail", dir, 0);
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	CHECK_RC(cs_migrate(v, steps, 2, 3, &check_err), CS_ERR_CORRUPT);
	CHECK(strstr(check_err.what, "upgrade 2->3 (breaks): synthetic failure") != NULL);
	CHECK(stored_schema(v) == 1);
	CHECK(!has_key(v, v->db_meta, "marker")); /* step 1's write went with the abort */
	/* a missing step is a version error and changes nothing either */
	CHECK_RC(cs_migrate(v, steps, 1, 3, &check_err), CS_ERR_VERSION);
	CHECK(strstr(check_err.what, "no upgrade from vault schema 2") != NULL);
	CHECK(stored_schema(v) == 1 && !has_key(v, v->db_meta, "marker"));
	/* the built-in table is empty for schema 1 */
	CHECK(cs_n_migrations == 0);
	CHECK_OK(cs_migrate(v, cs_migrations, cs_n_migrations, CS_VAULT_SCHEMA, &check_err));
	cs_vault_close(v);
}

static void test_map_full_retry(void)
{
	char dir[PATH_MAX];
	struct cs_vault *v = NULL;
	const struct cs_migration steps[] = {{1, step_big, "big"}};
	new_vault("grow", dir, 1u << 20);
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	step_runs = 0;
	CHECK_OK(cs_migrate(v, steps, 1, 2, &check_err));
	CHECK(step_runs >= 2); /* MAP_FULL, grow, run again */
	CHECK(stored_schema(v) == 2 && has_key(v, v->db_journal, "big"));
	CHECK(v->map_size >= 4u << 20);
	cs_vault_close(v);
}

static void test_newer_and_older(void)
{
	char dir[PATH_MAX];
	struct cs_vault *v = NULL;
	new_vault("newer", dir, 0);
	set_schema(dir, 99);
	CHECK_RC(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err), CS_ERR_VERSION);
	CHECK(strstr(check_err.what, "schema 99") != NULL);
	CHECK_RC(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err), CS_ERR_VERSION);
	CHECK(cs_exit_code(CS_ERR_VERSION) == 7);

	/* an older schema makes open run the built-in steps, readers included:
	 * with none for schema 0 that is a version error, and nothing changes */
	new_vault("older", dir, 0);
	set_schema(dir, 0);
	CHECK_RC(cs_vault_open(dir, CS_OPEN_READ, &v, &check_err), CS_ERR_VERSION);
	CHECK(strstr(check_err.what, "no upgrade from vault schema 0") != NULL);
	CHECK_RC(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err), CS_ERR_VERSION);
}

static void test_migrate_refuses_newer(void)
{
	char dir[PATH_MAX];
	struct cs_vault *v = NULL;
	const struct cs_migration steps[] = {{1, step_marker, "marker"}};
	new_vault("refuse", dir, 0);
	CHECK_OK(cs_vault_open(dir, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	MDB_txn *txn = NULL;
	unsigned char b[4];
	cs_be32(b, 99);
	CHECK_OK(cs_txn_begin(v, true, &txn, &check_err));
	CHECK_OK(cs_db_put(txn, v->db_meta, "schema", 6, b, 4, 0, &check_err));
	CHECK_OK(cs_txn_commit(txn, &check_err));
	CHECK_RC(cs_migrate(v, steps, 1, 2, &check_err), CS_ERR_VERSION);
	CHECK(stored_schema(v) == 99 && !has_key(v, v->db_meta, "marker"));
	cs_vault_close(v);
}

int main(void)
{
	unsigned char key[32] = {42};
	CHECK_OK(cs_library_init(&check_err));
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, key, sizeof key, &cred, &check_err));
	test_apply();
	test_failing_step();
	test_map_full_retry();
	test_newer_and_older();
	test_migrate_refuses_newer();
	cs_cred_free(cred);
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHECK_OK(cs_rm_tree_at(dfd, root + 5, root, &check_err));
	close(dfd);
	TEST_DONE();
}
