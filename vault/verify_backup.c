/* verify_backup.c - check a whole backup without writing anything: header,
 * slots, every stream message, the manifest, each member and its hash. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define VBUF (256u << 10)

int cs_verify_backup(int in_fd, const char *in_name, const struct cs_cred *cred,
		     struct cs_verify_result *res, struct cs_error *err)
{
	int rc;
	struct cs_breader *r = NULL;
	const struct cs_entry *entries = NULL;
	const struct cs_snapshot_info *info = NULL;
	unsigned char *buf = NULL;
	size_t n = 0, got = 0;

	memset(res, 0, sizeof *res);
	if ((rc = cs_breader_open(in_fd, in_name, cred, &r, err)) != CS_OK)
		goto out;
	cs_breader_manifest(r, &entries, &n, &info);
	res->info = *info;
	if ((rc = cs_entries_validate(entries, n, err)) != CS_OK)
		goto out;
	if (!(buf = malloc(VBUF))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, in_name, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = cs_breader_next(r, i, err)) != CS_OK)
			goto out;
		do {
			if ((rc = cs_breader_read(r, buf, VBUF, &got, err)) != CS_OK)
				goto out;
			res->bytes += got;
		} while (got > 0);
		if (entries[i].type == CS_ENTRY_FILE)
			res->files++;
	}
	if ((rc = cs_breader_finish(r, err)) != CS_OK)
		goto out;
	res->snapshots = 1;
	res->entries = n;
out:
	if (buf) {
		sodium_memzero(buf, VBUF);
		free(buf);
	}
	cs_breader_free(r);
	return rc;
}
