/* error.c - pinned error codes, their names, exit codes, and the error record. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int code;
	int exit_code;
	const char *name;
} cs_errors[] = {
	{CS_OK, 0, "success"},
	{CS_ERR_IO, 1, "input/output error"},
	{CS_ERR_NOMEM, 1, "out of memory"},
	{CS_ERR_USAGE, 2, "usage error"},
	{CS_ERR_PARTIAL, 3, "partial: something was skipped"},
	{CS_ERR_CORRUPT, 4, "integrity failure"},
	{CS_ERR_HOSTILE, 4, "unsafe archive entry"},
	{CS_ERR_KEY, 5, "wrong key"},
	{CS_ERR_EXISTS, 6, "target exists"},
	{CS_ERR_BUSY, 6, "busy"},
	{CS_ERR_VERSION, 7, "unsupported format version"},
	{CS_ERR_NOTFOUND, 1, "not found"},
	{CS_ERR_NOSPACE, 1, "not enough space"},
	{CS_ERR_DB, 1, "database error"},
	{CS_ERR_CRYPTO, 1, "cryptography error"},
	{CS_ERR_MOUNT, 6, "target is a mount point"},
	{CS_ERR_LIVE, 6, "gateway running"},
	{CS_ERR_DIFFERS, 3, "differences found"},
	{CS_ERR_UNSUPPORTED, 1, "not supported"},
};

const char *cs_strerror(int code)
{
	for (size_t i = 0; i < sizeof cs_errors / sizeof cs_errors[0]; i++)
		if (cs_errors[i].code == code)
			return cs_errors[i].name;
	return "unknown error";
}

int cs_exit_code(int code)
{
	for (size_t i = 0; i < sizeof cs_errors / sizeof cs_errors[0]; i++)
		if (cs_errors[i].code == code)
			return cs_errors[i].exit_code;
	return 1;
}

void cs_error_clear(struct cs_error *err)
{
	if (!err)
		return;
	err->code = CS_OK;
	err->sys_errno = 0;
	err->path[0] = '\0';
	err->what[0] = '\0';
}

static void set_path(struct cs_error *err, const char *path)
{
	if (!path) {
		err->path[0] = '\0';
		return;
	}
	size_t n = strlen(path);
	if (n >= sizeof err->path)
		n = sizeof err->path - 1;
	memcpy(err->path, path, n);
	err->path[n] = '\0';
}

int cs_err_set(struct cs_error *err, int code, const char *path, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	err->sys_errno = 0;
	set_path(err, path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->what, sizeof err->what, fmt, ap);
	va_end(ap);
	return code;
}

int cs_err_sys(struct cs_error *err, const char *path, const char *what)
{
	int e = errno;
	int code = (e == ENOSPC || e == EDQUOT) ? CS_ERR_NOSPACE : e == ENOMEM ? CS_ERR_NOMEM
									   : CS_ERR_IO;
	if (!err)
		return code;
	cs_err_set(err, code, path, "%s: %s", what, strerror(e));
	err->sys_errno = e;
	return code;
}

int cs_err_mdb(struct cs_error *err, int mdb_rc, const char *what)
{
	int code = (mdb_rc == ENOSPC || mdb_rc == EDQUOT) ? CS_ERR_NOSPACE : CS_ERR_DB;
	if (!err)
		return code;
	cs_err_set(err, code, NULL, "%s: %s", what, mdb_strerror(mdb_rc));
	err->sys_errno = mdb_rc;
	return code;
}
