/* migrate.c - vault schema upgrades: the table of steps and the runner that
 * applies them, with the schema bump, in one write transaction. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/*
 * One entry per schema change, in order: { from, step, what }.  Schema 1 is
 * the first release, so there is nothing to upgrade yet; the zero entry only
 * keeps the array valid C and is skipped (step == NULL).  See README.md.
 */
const struct cs_migration cs_migrations[] = {
	{0, NULL, NULL},
};
const size_t cs_n_migrations = 0;

struct migrate_ctx {
	const struct cs_migration *steps;
	size_t n_steps;
	uint32_t target;
	uint32_t from; /* stored schema seen by the last attempt */
};

static const struct cs_migration *find_step(const struct migrate_ctx *c, uint32_t from)
{
	for (size_t i = 0; i < c->n_steps; i++)
		if (c->steps[i].step && c->steps[i].from == from)
			return &c->steps[i];
	return NULL;
}

static int migrate_txn(struct cs_vault *v, MDB_txn *txn, void *vctx, struct cs_error *err)
{
	struct migrate_ctx *c = vctx;
	MDB_val d;
	unsigned char b4[4];
	int rc;

	/* Read inside the write transaction: another process may have upgraded
	 * the vault since we looked. */
	rc = cs_db_get(txn, v->db_meta, "schema", 6, &d, err);
	if (rc == CS_ERR_NOTFOUND || (rc == CS_OK && d.mv_size != 4))
		return cs_err_set(err, CS_ERR_CORRUPT, v->dir, "meta record \"schema\" damaged");
	if (rc != CS_OK)
		return rc;
	uint32_t schema = cs_rd32(d.mv_data);
	c->from = schema;
	if (schema > c->target)
		return cs_err_set(err, CS_ERR_VERSION, v->dir,
				  "vault schema %u is newer than this clawstate supports (%u)",
				  schema, c->target);
	if (schema == c->target)
		return CS_OK;
	for (; schema < c->target; schema++) {
		const struct cs_migration *m = find_step(c, schema);
		if (!m)
			return cs_err_set(err, CS_ERR_VERSION, v->dir,
					  "no upgrade from vault schema %u", schema);
		if ((rc = m->step(v, txn, err)) != CS_OK) {
			/* Keep the MAP_FULL marker intact so the batch is retried. */
			if (err && !(rc == CS_ERR_DB && err->sys_errno == MDB_MAP_FULL)) {
				char why[160];
				size_t wn = strnlen(err->what, sizeof why - 1);
				memcpy(why, err->what, wn);
				why[wn] = '\0';
				int e = err->sys_errno;
				cs_err_set(err, rc, v->dir, "upgrade %u->%u (%s): %s", schema,
					   schema + 1, m->what ? m->what : "?", why);
				err->sys_errno = e;
			}
			return rc;
		}
	}
	cs_be32(b4, c->target);
	return cs_db_put(txn, v->db_meta, "schema", 6, b4, 4, 0, err);
}

int cs_migrate(struct cs_vault *v, const struct cs_migration *steps, size_t n_steps,
	       uint32_t target, struct cs_error *err)
{
	struct migrate_ctx c = {steps, n_steps, target, 0};
	return cs_store_write(v, migrate_txn, &c, err);
}
