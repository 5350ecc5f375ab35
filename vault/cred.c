/* cred.c - credentials (passphrases and key files) in guarded memory, new key
 * files, and the Argon2 preset names. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CS_PASSPHRASE_MAX 4096
#define CS_KEYFILE_BYTES 32

static int cred_check(int kind, size_t len, const char *name, struct cs_error *err)
{
	if (kind == CS_CRED_PASSPHRASE) {
		if (len == 0)
			return cs_err_set(err, CS_ERR_USAGE, name, "empty passphrase");
		if (len > CS_PASSPHRASE_MAX)
			return cs_err_set(err, CS_ERR_USAGE, name,
					  "passphrase longer than %d bytes", CS_PASSPHRASE_MAX);
		return CS_OK;
	}
	if (kind == CS_CRED_KEYFILE) {
		if (len != CS_KEYFILE_BYTES)
			return cs_err_set(err, CS_ERR_KEY, name, "key file must hold 32 bytes");
		return CS_OK;
	}
	return cs_err_set(err, CS_ERR_USAGE, name, "unknown credential kind %d", kind);
}

/* Copies len bytes of buf into a new credential; buf is not touched. */
static int cred_new(int kind, const void *buf, size_t len, struct cs_cred **out,
		    struct cs_error *err)
{
	struct cs_cred *c = calloc(1, sizeof *c);
	if (!c)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	if (!(c->secret = cs_secret_alloc(len))) {
		free(c);
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of guarded memory");
	}
	memcpy(c->secret, buf, len);
	c->kind = kind;
	c->len = len;
	*out = c;
	return CS_OK;
}

int cs_cred_from_buffer(int kind, const void *buf, size_t len, struct cs_cred **out,
			struct cs_error *err)
{
	*out = NULL;
	int rc = cred_check(kind, len, NULL, err);
	if (rc != CS_OK)
		return rc;
	return cred_new(kind, buf, len, out, err);
}

int cs_cred_read_fd(int kind, int fd, const char *name, struct cs_cred **out,
		    struct cs_error *err)
{
	int rc = CS_OK;
	/* One byte more than the longest valid input tells "too long" from "fits". */
	size_t cap = kind == CS_CRED_KEYFILE ? CS_KEYFILE_BYTES + 1 : CS_PASSPHRASE_MAX + 3;
	unsigned char *buf = NULL;
	size_t got = 0;

	*out = NULL;
	if (kind != CS_CRED_PASSPHRASE && kind != CS_CRED_KEYFILE) {
		rc = cs_err_set(err, CS_ERR_USAGE, name, "unknown credential kind %d", kind);
		goto out;
	}
	if (!(buf = cs_secret_alloc(cap))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, name, "out of guarded memory");
		goto out;
	}
	if ((rc = cs_read_full(fd, buf, cap, &got, name, err)) != CS_OK)
		goto out;
	if (kind == CS_CRED_PASSPHRASE) {
		if (got > 0 && buf[got - 1] == '\n') {
			got--;
			if (got > 0 && buf[got - 1] == '\r')
				got--;
		}
	}
	if ((rc = cred_check(kind, got, name, err)) != CS_OK)
		goto out;
	rc = cred_new(kind, buf, got, out, err);
out:
	cs_secret_free(buf);
	return rc;
}

void cs_cred_free(struct cs_cred *cred)
{
	if (!cred)
		return;
	cs_secret_free(cred->secret);
	free(cred);
}

int cs_keyfile_create(const char *path, struct cs_error *err)
{
	int rc = CS_OK;
	char dir[PATH_MAX], base[PATH_MAX], tmp[PATH_MAX];
	unsigned char rnd[8];
	char rhex[17];
	unsigned char *key = NULL;
	int fd = -1;
	bool have_tmp = false;
	struct stat st;

	if (!path || !*path) {
		rc = cs_err_set(err, CS_ERR_USAGE, NULL, "no key file name");
		goto out;
	}
	cs_path_split(path, dir, base);
	if (lstat(path, &st) == 0) {
		rc = cs_err_set(err, CS_ERR_EXISTS, path, "already exists");
		goto out;
	}
	randombytes_buf(rnd, sizeof rnd);
	cs_hex(rnd, sizeof rnd, rhex);
	int n = snprintf(tmp, sizeof tmp, "%s/.%s.clawstate-tmp-%s", dir, base, rhex);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		rc = cs_err_set(err, CS_ERR_USAGE, path, "path too long");
		goto out;
	}
	if (!(key = cs_secret_alloc(CS_KEYFILE_BYTES))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, path, "out of guarded memory");
		goto out;
	}
	randombytes_buf(key, CS_KEYFILE_BYTES);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = cs_err_sys(err, tmp, "create");
		goto out;
	}
	have_tmp = true;
	/* The umask may have taken bits off; the key must be exactly owner read/write. */
	if (fchmod(fd, 0600) < 0) {
		rc = cs_err_sys(err, tmp, "chmod");
		goto out;
	}
	if ((rc = cs_write_all(fd, key, CS_KEYFILE_BYTES, tmp, err)) != CS_OK)
		goto out;
	if ((rc = cs_fsync(fd, tmp, err)) != CS_OK)
		goto out;
	if ((rc = cs_close(&fd, tmp, err)) != CS_OK)
		goto out;
	cs_test_point("rename");
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		rc = errno == EEXIST ? cs_err_set(err, CS_ERR_EXISTS, path, "already exists")
				     : cs_err_sys(err, path, "rename");
		goto out;
	}
	have_tmp = false;
	rc = cs_fsync_dir(dir, err);
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	cs_secret_free(key);
	return rc;
}

int cs_kdf_parse(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "interactive") == 0)
		return CS_KDF_INTERACTIVE;
	if (strcmp(name, "moderate") == 0)
		return CS_KDF_MODERATE;
	if (strcmp(name, "sensitive") == 0)
		return CS_KDF_SENSITIVE;
	return -1;
}
