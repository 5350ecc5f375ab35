/* migrate_state.c - migrate --state: capture a live state dir into a
 * throwaway vault, then restore it from there with the safe writer. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int make_tmp(char *dir, size_t len, struct cs_error *err)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int n = snprintf(dir, len, "%s/clawstate-migrate.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= len)
		return cs_err_set(err, CS_ERR_USAGE, tmp, "TMPDIR is too long");
	if (!mkdtemp(dir))
		return cs_err_sys(err, dir, "create the capture dir");
	return CS_OK;
}

int cs_migrate_state(const struct cs_snapshot_opts *src, const struct cs_restore_opts *opts,
		     struct cs_snapshot_result *sres, struct cs_restore_result *res,
		     struct cs_error *err)
{
	char tmp[PATH_MAX] = "", vdir[PATH_MAX + 8];
	unsigned char key[32]; /* a key file's length */
	struct cs_cred *cred = NULL;
	struct cs_vault *v = NULL;
	struct cs_error ignore;
	int rc, snap_rc;

	memset(sres, 0, sizeof *sres);
	memset(res, 0, sizeof *res);
	if ((rc = make_tmp(tmp, sizeof tmp, err)) != CS_OK) {
		tmp[0] = '\0';
		goto out;
	}
	snprintf(vdir, sizeof vdir, "%s/vault", tmp);
	/* The key never leaves this process: the capture is unreadable once we exit. */
	randombytes_buf(key, sizeof key);
	rc = cs_cred_from_buffer(CS_CRED_KEYFILE, key, sizeof key, &cred, err);
	sodium_memzero(key, sizeof key);
	if (rc != CS_OK)
		goto out;
	struct cs_vault_create_opts vc = {.dir = vdir, .cred = cred, .kdf = CS_KDF_INTERACTIVE};
	if ((rc = cs_vault_create(&vc, err)) != CS_OK)
		goto out;
	if ((rc = cs_vault_open(vdir, CS_OPEN_WRITE, &v, err)) != CS_OK)
		goto out;
	if ((rc = cs_vault_unlock(v, cred, err)) != CS_OK)
		goto out;
	snap_rc = cs_snapshot_create(v, src, sres, err);
	if (snap_rc != CS_OK && snap_rc != CS_ERR_PARTIAL) {
		rc = snap_rc;
		goto out;
	}
	cs_error_clear(err);
	rc = cs_restore_snapshot_as(v, sres->seq, 0, opts, res, err);
	if (rc == CS_OK && snap_rc == CS_ERR_PARTIAL)
		rc = cs_err_set(err, CS_ERR_PARTIAL, src->state_dir,
				"%llu entr%s of the source could not be read and were left out",
				(unsigned long long)sres->skipped, sres->skipped == 1 ? "y" : "ies");
out:
	cs_vault_close(v);
	cs_cred_free(cred);
	if (tmp[0]) {
		/* Best effort: what is left is encrypted under a key that is gone. */
		char dir[PATH_MAX], base[PATH_MAX];
		cs_path_split(tmp, dir, base);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)cs_rm_tree_at(dfd, base, tmp, &ignore);
			close(dfd);
		}
	}
	return rc;
}
