/* error.c - pinned error codes, their names, exit codes, the error record and errno warnings. */
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
	{CS_ERR_MOUNT, 6, "a mount point cannot be moved"},
	{CS_ERR_LIVE, 6, "gateway running"},
	{CS_ERR_DIFFERS, 3, "differences found"},
	{CS_ERR_UNSUPPORTED, 1, "not supported"},
	{CS_ERR_UNMAPPED, 1, "owner id not mapped"},
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

/*
 * Copy a formatted reason into out, escaping what must not reach a terminal as
 * it is: reasons quote names and link text from archives we did not write, and
 * a program prints them.  Control bytes (C0, DEL), C1 controls in UTF-8 (U+0080
 * to U+009F) and bytes of invalid UTF-8 become \xNN; the result is cut at a
 * whole character.
 */
static void escape_reason(char *out, size_t cap, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, len = strlen(in);
	for (size_t i = 0; i < len;) {
		size_t n = 1;
		bool esc = p[i] < 0x20 || p[i] == 0x7f;
		if (p[i] >= 0x80) {
			n = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 1;
			if (n > len - i || !cs_utf8_valid(p + i, n) ||
			    (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
				esc = true, n = 1;
		}
		if (esc) {
			if (o + 4 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 15];
			i++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

int cs_err_set(struct cs_error *err, int code, const char *path, const char *fmt, ...)
{
	char raw[sizeof err->what];
	if (!err)
		return code;
	err->code = code;
	err->sys_errno = 0;
	set_path(err, path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	escape_reason(err->what, sizeof err->what, raw);
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

void cs_warn_errno(cs_warn_fn warn, void *ctx, const char *path, const char *what, int e)
{
	char reason[256];
	snprintf(reason, sizeof(reason), "%s: %s", what, strerror(e));
	warn(ctx, path, reason);
}
