/* manifest.c - the backup manifest's NDJSON lines: a header object, then one
 * object per entry; a strict parser for input we did not write ourselves. */
#include "internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers beyond 2^53 - 1 do not survive a JSON parser that uses doubles
 * (cJSON's and JavaScript's), so neither side accepts them. */
#define SAFE_INT 9007199254740991.0
#define XATTR_NAME_CAP 255
#define B64_NAME_PREFIX "base64:"

static const char *const type_names[] = {NULL, "file", "dir", "symlink", "hardlink"};
static const char *const class_names[] = {"other",     "secret", "session", "config",
					  "workspace", "media",  "database"};
#define N_TYPES (sizeof type_names / sizeof type_names[0])
#define N_CLASSES (sizeof class_names / sizeof class_names[0])

bool cs_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* ---- encoding ---- */

struct enc {
	cJSON *root;
	const char *path;      /* for messages */
	struct cs_error *err;
	int rc;
};

static void enc_fail(struct enc *x, const char *what)
{
	if (x->rc == CS_OK)
		x->rc = cs_err_set(x->err, CS_ERR_CORRUPT, x->path, "cannot write to the manifest: %s",
				   what);
}

static void enc_nomem(struct enc *x)
{
	if (x->rc == CS_OK)
		x->rc = cs_err_set(x->err, CS_ERR_NOMEM, x->path, "out of memory");
}

static void add_int(struct enc *x, cJSON *obj, const char *key, int64_t v)
{
	char num[32];
	if ((double)v > SAFE_INT || (double)v < -SAFE_INT) {
		enc_fail(x, "number beyond 2^53");
		return;
	}
	/* Raw text: cJSON's own number printing rounds above 10^15. */
	snprintf(num, sizeof num, "%lld", (long long)v);
	if (!cJSON_AddRawToObject(obj, key, num))
		enc_nomem(x);
}

static void add_uint(struct enc *x, cJSON *obj, const char *key, uint64_t v)
{
	if (v > (uint64_t)SAFE_INT) {
		enc_fail(x, "number beyond 2^53");
		return;
	}
	add_int(x, obj, key, (int64_t)v);
}

static void add_time(struct enc *x, cJSON *obj, const char *key, int64_t sec, int32_t nsec)
{
	cJSON *t = cJSON_AddObjectToObject(obj, key);
	if (!t) {
		enc_nomem(x);
		return;
	}
	if (nsec < 0 || nsec >= 1000000000)
		enc_fail(x, "nanoseconds out of range");
	add_int(x, t, "sec", sec);
	add_int(x, t, "nsec", nsec);
}

static char *b64_encode(const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	if (s)
		sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* Text as "key":"..." when it is UTF-8, else as "key_b64":"<base64>". */
static void add_text(struct enc *x, cJSON *obj, const char *key, const char *s)
{
	size_t n = strlen(s);
	if (cs_utf8_valid((const unsigned char *)s, n)) {
		if (!cJSON_AddStringToObject(obj, key, s))
			enc_nomem(x);
		return;
	}
	char k[64];
	snprintf(k, sizeof k, "%s_b64", key);
	char *b = b64_encode((const unsigned char *)s, n);
	if (!b || !cJSON_AddStringToObject(obj, k, b))
		enc_nomem(x);
	free(b);
}

static void add_xattrs(struct enc *x, cJSON *obj, const struct cs_entry *e)
{
	cJSON *xa = cJSON_AddObjectToObject(obj, "xattrs");
	if (!xa) {
		enc_nomem(x);
		return;
	}
	for (size_t i = 0; i < e->n_xattrs && x->rc == CS_OK; i++) {
		const struct cs_xattr *a = &e->xattrs[i];
		size_t nlen = strlen(a->name);
		char *key = NULL, *val = b64_encode(a->value, a->len);
		/* A name that is not UTF-8, or that looks like our escape, goes in base64. */
		if (!cs_utf8_valid((const unsigned char *)a->name, nlen) ||
		    strncmp(a->name, B64_NAME_PREFIX, strlen(B64_NAME_PREFIX)) == 0) {
			char *b = b64_encode((const unsigned char *)a->name, nlen);
			if (b && (key = malloc(strlen(B64_NAME_PREFIX) + strlen(b) + 1)))
				sprintf(key, "%s%s", B64_NAME_PREFIX, b);
			free(b);
		} else {
			key = strdup(a->name);
		}
		if (!key || !val || !cJSON_AddStringToObject(xa, key, val))
			enc_nomem(x);
		free(key);
		free(val);
	}
}

/* Print root as one line with '\n'. */
static int enc_finish(struct enc *x, char **line, size_t *len)
{
	*line = NULL;
	*len = 0;
	if (x->rc != CS_OK)
		return x->rc;
	char *s = cJSON_PrintUnformatted(x->root);
	if (!s) {
		enc_nomem(x);
		return x->rc;
	}
	size_t n = strlen(s);
	char *out = malloc(n + 2);
	if (!out) {
		cJSON_free(s);
		enc_nomem(x);
		return x->rc;
	}
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	cJSON_free(s);
	*line = out;
	*len = n + 1;
	return CS_OK;
}

int cs_manifest_header_line(const struct cs_snapshot_info *info,
			    const unsigned char vault_id[CS_VAULT_ID_BYTES], uint64_t n_entries,
			    char **line, size_t *len, struct cs_error *err)
{
	struct enc x = {cJSON_CreateObject(), CS_MANIFEST_NAME, err, CS_OK};
	char hex[2 * CS_VAULT_ID_BYTES + 1], tool[64];
	if (!x.root) {
		enc_nomem(&x);
		goto out;
	}
	cs_hex(vault_id, CS_VAULT_ID_BYTES, hex);
	snprintf(tool, sizeof tool, "clawstate %s", info->tool_version);
	add_int(&x, x.root, "clawstate_manifest", 1);
	add_text(&x, x.root, "tool", tool);
	add_uint(&x, x.root, "format", info->format);
	add_text(&x, x.root, "vault_id", hex);
	add_uint(&x, x.root, "seq", info->seq);
	add_text(&x, x.root, "tag", info->tag);
	add_time(&x, x.root, "started", info->started_sec, info->started_nsec);
	add_time(&x, x.root, "finished", info->finished_sec, info->finished_nsec);
	add_text(&x, x.root, "state_dir", info->state_dir);
	add_text(&x, x.root, "home", info->home);
	add_text(&x, x.root, "layout", info->layout);
	add_uint(&x, x.root, "uid", info->uid);
	add_uint(&x, x.root, "gid", info->gid);
	add_uint(&x, x.root, "root_mode", info->root_mode);
	add_time(&x, x.root, "root_mtime", info->root_mtime_sec, info->root_mtime_nsec);
	add_uint(&x, x.root, "entries", n_entries);
	add_uint(&x, x.root, "files", info->files);
	add_uint(&x, x.root, "bytes", info->bytes);
	if (!cJSON_AddBoolToObject(x.root, "partial", info->partial != 0))
		enc_nomem(&x);
out:;
	int rc = enc_finish(&x, line, len);
	cJSON_Delete(x.root);
	return rc;
}

int cs_manifest_entry_line(const struct cs_entry *e, char **line, size_t *len,
			   struct cs_error *err)
{
	struct enc x = {cJSON_CreateObject(), e->path, err, CS_OK};
	if (!x.root) {
		enc_nomem(&x);
		goto out;
	}
	if (e->type < 1 || (size_t)e->type >= N_TYPES) {
		enc_fail(&x, "unknown entry type");
		goto out;
	}
	if (e->cls < 0 || (size_t)e->cls >= N_CLASSES) {
		enc_fail(&x, "unknown entry class");
		goto out;
	}
	bool linked = e->type == CS_ENTRY_SYMLINK || e->type == CS_ENTRY_HARDLINK;
	if (linked && !e->target) {
		enc_fail(&x, "link without a target");
		goto out;
	}
	add_text(&x, x.root, "path", e->path);
	add_text(&x, x.root, "type", type_names[e->type]);
	add_uint(&x, x.root, "mode", e->mode & 07777);
	add_uint(&x, x.root, "uid", e->uid);
	add_uint(&x, x.root, "gid", e->gid);
	add_time(&x, x.root, "mtime", e->mtime_sec, e->mtime_nsec);
	add_uint(&x, x.root, "size", e->size);
	if (e->type == CS_ENTRY_FILE) {
		char hex[2 * CS_HASH_BYTES + 1];
		cs_hex(e->hash, CS_HASH_BYTES, hex);
		add_text(&x, x.root, "blake2b", hex);
	}
	if (linked)
		add_text(&x, x.root, "target", e->target);
	add_text(&x, x.root, "class", class_names[e->cls]);
	if (e->is_sqlite && !cJSON_AddTrueToObject(x.root, "sqlite"))
		enc_nomem(&x);
	if (e->n_xattrs > 0)
		add_xattrs(&x, x.root, e);
out:;
	int rc = enc_finish(&x, line, len);
	cJSON_Delete(x.root);
	return rc;
}

/* ---- parsing ---- */

struct dec {
	uint64_t lineno;
	const char *entry;     /* entry path once known, for messages */
	struct cs_error *err;
};

static int bad(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct dec *d, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (d->entry)
		return cs_err_set(d->err, CS_ERR_CORRUPT, CS_MANIFEST_NAME, "line %llu (%s): %s",
				  (unsigned long long)d->lineno, d->entry, what);
	return cs_err_set(d->err, CS_ERR_CORRUPT, CS_MANIFEST_NAME, "line %llu: %s",
			  (unsigned long long)d->lineno, what);
}

/* cJSON would cut a string at an escaped NUL, so a path "a\u0000b" would
 * silently read as "a": refuse NULs in any form before parsing. */
static bool has_nul(const char *s, size_t n)
{
	if (memchr(s, '\0', n))
		return true;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		if (!in_str) {
			if (s[i] == '"')
				in_str = true;
			continue;
		}
		if (s[i] == '"') {
			in_str = false;
		} else if (s[i] == '\\' && i + 1 < n) {
			if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
				return true;
			i++;
		}
	}
	return false;
}

/*
 * Every valid line is an object of at most a few dozen values (an entry: 15
 * fields, two time objects, at most 64 xattrs), nested two deep.  cJSON builds a
 * node of about 64 bytes per value, so an 8 MiB line of ",0,0,0..." would cost
 * hundreds of MiB: refuse a line beyond these shapes before it is parsed.
 */
#define LINE_MAX_VALUES 256
#define LINE_MAX_DEPTH 3

static int check_shape(struct dec *d, const char *s, size_t n)
{
	bool in_str = false;
	size_t values = 0;
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > LINE_MAX_DEPTH)
				return bad(d, "nested deeper than %d levels", LINE_MAX_DEPTH);
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',' || c == ':') {
			if (++values > LINE_MAX_VALUES)
				return bad(d, "more than %d values", LINE_MAX_VALUES);
		}
	}
	return CS_OK;
}

static int parse_object(struct dec *d, const char *line, size_t len, cJSON **out)
{
	int rc;
	const char *end = NULL;
	*out = NULL;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0)
		return bad(d, "empty line");
	if (has_nul(line, len))
		return bad(d, "NUL character");
	if ((rc = check_shape(d, line, len)) != CS_OK)
		return rc;
	cJSON *j = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!j)
		return bad(d, "not valid JSON");
	if (end != line + len) {
		cJSON_Delete(j);
		return bad(d, "trailing characters after the JSON object");
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return bad(d, "not a JSON object");
	}
	*out = j;
	return CS_OK;
}

/* Every key known, none twice: another reader must not see a different value. */
static int check_keys(struct dec *d, const cJSON *obj, const char *const *allowed)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		bool known = false;
		for (size_t i = 0; allowed[i] && !known; i++)
			known = strcmp(c->string, allowed[i]) == 0;
		if (!known)
			return bad(d, "unknown field \"%.60s\"", c->string);
		for (const cJSON *p = obj->child; p != c; p = p->next)
			if (strcmp(p->string, c->string) == 0)
				return bad(d, "field \"%.60s\" given twice", c->string);
	}
	return CS_OK;
}

static int get_int(struct dec *d, const cJSON *obj, const char *key, double lo, double hi,
		   int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it)
		return bad(d, "missing \"%s\"", key);
	if (!cJSON_IsNumber(it))
		return bad(d, "\"%s\" is not a number", key);
	double v = it->valuedouble;
	if (!(v >= lo && v <= hi))
		return bad(d, "\"%s\" out of range", key);
	if (v != (double)(int64_t)v)
		return bad(d, "\"%s\" is not an integer", key);
	*out = (int64_t)v;
	return CS_OK;
}

static int get_uint(struct dec *d, const cJSON *obj, const char *key, double hi, uint64_t *out)
{
	int64_t v = 0;
	int rc = get_int(d, obj, key, 0, hi < SAFE_INT ? hi : SAFE_INT, &v);
	*out = (uint64_t)v;
	return rc;
}

static int get_bool(struct dec *d, const cJSON *obj, const char *key, bool required, int *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = 0;
	if (!it)
		return required ? bad(d, "missing \"%s\"", key) : CS_OK;
	if (!cJSON_IsBool(it))
		return bad(d, "\"%s\" is not true or false", key);
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return CS_OK;
}

static int get_time(struct dec *d, const cJSON *obj, const char *key, int64_t *sec,
		    int32_t *nsec)
{
	static const char *const keys[] = {"sec", "nsec", NULL};
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, key);
	int rc;
	int64_t ns = 0;
	if (!t)
		return bad(d, "missing \"%s\"", key);
	if (!cJSON_IsObject(t))
		return bad(d, "\"%s\" is not an object", key);
	if ((rc = check_keys(d, t, keys)) != CS_OK)
		return rc;
	if ((rc = get_int(d, t, "sec", -SAFE_INT, SAFE_INT, sec)) != CS_OK)
		return rc;
	if ((rc = get_int(d, t, "nsec", 0, 999999999, &ns)) != CS_OK)
		return rc;
	*nsec = (int32_t)ns;
	return CS_OK;
}

/* Base64 (with padding) into a fresh NUL-terminated buffer of at most cap bytes. */
static int b64_decode(struct dec *d, const char *key, const char *s, size_t cap, bool nul_ok,
		      unsigned char **out, size_t *outlen)
{
	size_t slen = strlen(s), binlen = 0;
	const char *end = NULL;
	*out = NULL;
	if (slen / 4 * 3 > cap + 3)
		return bad(d, "\"%s\" longer than %zu bytes", key, cap);
	unsigned char *bin = malloc(slen / 4 * 3 + 1);
	if (!bin)
		return cs_err_set(d->err, CS_ERR_NOMEM, CS_MANIFEST_NAME, "out of memory");
	if (sodium_base642bin(bin, slen / 4 * 3 + 1, s, slen, NULL, &binlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen) {
		free(bin);
		return bad(d, "\"%s\" is not valid base64", key);
	}
	if (binlen > cap) {
		free(bin);
		return bad(d, "\"%s\" longer than %zu bytes", key, cap);
	}
	if (!nul_ok && memchr(bin, '\0', binlen)) {
		free(bin);
		return bad(d, "\"%s\" holds a NUL byte", key);
	}
	bin[binlen] = '\0';
	*out = bin;
	*outlen = binlen;
	return CS_OK;
}

/*
 * A text field given as "key" (UTF-8) or "key_b64" (any bytes but NUL), not
 * both.  *out is malloc'd; NULL with CS_OK when absent and !required.
 */
static int get_text(struct dec *d, const cJSON *obj, const char *key, size_t cap,
		    bool required, char **out)
{
	char k64[64];
	snprintf(k64, sizeof k64, "%s_b64", key);
	const cJSON *plain = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *enc = cJSON_GetObjectItemCaseSensitive(obj, k64);
	*out = NULL;
	if (plain && enc)
		return bad(d, "both \"%s\" and \"%s\"", key, k64);
	if (!plain && !enc)
		return required ? bad(d, "missing \"%s\"", key) : CS_OK;
	if (enc) {
		if (!cJSON_IsString(enc))
			return bad(d, "\"%s\" is not a string", k64);
		size_t n = 0;
		return b64_decode(d, k64, enc->valuestring, cap, false, (unsigned char **)out, &n);
	}
	if (!cJSON_IsString(plain))
		return bad(d, "\"%s\" is not a string", key);
	size_t n = strlen(plain->valuestring);
	/* The entry cannot be named whole: its start identifies it. */
	if (n > cap)
		return bad(d, "\"%s\" longer than %zu bytes (\"%.40s...\")", key, cap,
			   plain->valuestring);
	if (!cs_utf8_valid((const unsigned char *)plain->valuestring, n))
		return bad(d, "\"%s\" is not valid UTF-8", key);
	if (!(*out = strdup(plain->valuestring)))
		return cs_err_set(d->err, CS_ERR_NOMEM, CS_MANIFEST_NAME, "out of memory");
	return CS_OK;
}

/* A text field into a fixed buffer of size bytes. */
static int get_fixed(struct dec *d, const cJSON *obj, const char *key, char *buf, size_t size)
{
	char *s = NULL;
	int rc = get_text(d, obj, key, size - 1, true, &s);
	if (rc == CS_OK)
		memcpy(buf, s, strlen(s) + 1);
	free(s);
	return rc;
}

int cs_manifest_parse_header(const char *line, size_t len, struct cs_snapshot_info *info,
			     unsigned char vault_id[CS_VAULT_ID_BYTES], uint64_t *n_entries,
			     struct cs_error *err)
{
	static const char *const keys[] = {
		"clawstate_manifest", "tool", "format", "vault_id", "seq", "tag", "tag_b64",
		"started", "finished", "state_dir", "state_dir_b64", "home", "home_b64",
		"layout", "uid", "gid", "root_mode", "root_mtime", "entries", "files", "bytes", "partial", NULL};
	struct dec d = {1, NULL, err};
	cJSON *j = NULL;
	char *s = NULL;
	int64_t ver = 0;
	uint64_t u = 0;
	int rc;

	memset(info, 0, sizeof *info);
	if ((rc = parse_object(&d, line, len, &j)) != CS_OK)
		goto out;
	if ((rc = get_int(&d, j, "clawstate_manifest", 0, SAFE_INT, &ver)) != CS_OK)
		goto out;
	if (ver > 1) {
		rc = cs_err_set(err, CS_ERR_VERSION, CS_MANIFEST_NAME,
				"manifest version %lld is newer than supported (1)", (long long)ver);
		goto out;
	}
	if (ver != 1) {
		rc = bad(&d, "manifest version %lld is not valid", (long long)ver);
		goto out;
	}
	if ((rc = check_keys(&d, j, keys)) != CS_OK)
		goto out;
	if ((rc = get_text(&d, j, "tool", 64, true, &s)) != CS_OK)
		goto out;
	const char *tv = strncmp(s, "clawstate ", 10) == 0 ? s + 10 : s;
	if (strlen(tv) >= sizeof info->tool_version) {
		rc = bad(&d, "\"tool\" too long");
		goto out;
	}
	strcpy(info->tool_version, tv);
	if ((rc = get_uint(&d, j, "format", CS_BACKUP_FORMAT, &u)) != CS_OK)
		goto out;
	if (u < 1) {
		rc = bad(&d, "\"format\" out of range");
		goto out;
	}
	info->format = (uint32_t)u;
	free(s);
	s = NULL;
	if ((rc = get_text(&d, j, "vault_id", 2 * CS_VAULT_ID_BYTES, true, &s)) != CS_OK)
		goto out;
	if (strlen(s) != 2 * CS_VAULT_ID_BYTES || cs_unhex(s, vault_id, CS_VAULT_ID_BYTES) != 0) {
		rc = bad(&d, "\"vault_id\" is not 32 hex digits");
		goto out;
	}
	if ((rc = get_uint(&d, j, "seq", SAFE_INT, &info->seq)) != CS_OK ||
	    (rc = get_fixed(&d, j, "tag", info->tag, sizeof info->tag)) != CS_OK ||
	    (rc = get_time(&d, j, "started", &info->started_sec, &info->started_nsec)) != CS_OK ||
	    (rc = get_time(&d, j, "finished", &info->finished_sec, &info->finished_nsec)) !=
		    CS_OK ||
	    (rc = get_fixed(&d, j, "state_dir", info->state_dir, sizeof info->state_dir)) !=
		    CS_OK ||
	    (rc = get_fixed(&d, j, "home", info->home, sizeof info->home)) != CS_OK ||
	    (rc = get_fixed(&d, j, "layout", info->layout, sizeof info->layout)) != CS_OK)
		goto out;
	if ((rc = get_uint(&d, j, "uid", UINT32_MAX, &u)) != CS_OK)
		goto out;
	info->uid = (uint32_t)u;
	if ((rc = get_uint(&d, j, "gid", UINT32_MAX, &u)) != CS_OK)
		goto out;
	info->gid = (uint32_t)u;
	if ((rc = get_uint(&d, j, "root_mode", 07777, &u)) != CS_OK)
		goto out;
	info->root_mode = (uint32_t)u;
	if ((rc = get_time(&d, j, "root_mtime", &info->root_mtime_sec, &info->root_mtime_nsec)) !=
	    CS_OK)
		goto out;
	if ((rc = get_uint(&d, j, "entries", SAFE_INT, n_entries)) != CS_OK ||
	    (rc = get_uint(&d, j, "files", SAFE_INT, &info->files)) != CS_OK ||
	    (rc = get_uint(&d, j, "bytes", SAFE_INT, &info->bytes)) != CS_OK ||
	    (rc = get_bool(&d, j, "partial", true, &info->partial)) != CS_OK)
		goto out;
	if (*n_entries > CS_CAP_ENTRIES) {
		rc = cs_err_set(err, CS_ERR_HOSTILE, CS_MANIFEST_NAME,
				"line 1: %llu entries (at most %llu)",
				(unsigned long long)*n_entries, (unsigned long long)CS_CAP_ENTRIES);
		goto out;
	}
	info->entries = *n_entries;
out:
	free(s);
	cJSON_Delete(j);
	return rc;
}

static int parse_xattrs(struct dec *d, const cJSON *xa, struct cs_entry *e)
{
	int rc = CS_OK;
	if (!cJSON_IsObject(xa))
		return bad(d, "\"xattrs\" is not an object");
	size_t n = 0;
	for (const cJSON *c = xa->child; c; c = c->next)
		if (++n > CS_CAP_XATTRS)
			return bad(d, "more than %d xattrs", CS_CAP_XATTRS);
	if (n == 0)
		return CS_OK;
	if (!(e->xattrs = calloc(n, sizeof *e->xattrs)))
		return cs_err_set(d->err, CS_ERR_NOMEM, CS_MANIFEST_NAME, "out of memory");
	for (const cJSON *c = xa->child; c; c = c->next) {
		for (const cJSON *p = xa->child; p != c; p = p->next)
			if (strcmp(p->string, c->string) == 0)
				return bad(d, "xattr \"%.60s\" given twice", c->string);
		struct cs_xattr *a = &e->xattrs[e->n_xattrs];
		size_t nlen = strlen(c->string);
		if (strncmp(c->string, B64_NAME_PREFIX, strlen(B64_NAME_PREFIX)) == 0) {
			size_t blen = 0;
			rc = b64_decode(d, "xattr name", c->string + strlen(B64_NAME_PREFIX),
					XATTR_NAME_CAP, false, (unsigned char **)&a->name, &blen);
			nlen = blen;
		} else if (nlen > XATTR_NAME_CAP ||
			   !cs_utf8_valid((const unsigned char *)c->string, nlen)) {
			rc = bad(d, "xattr name too long or not UTF-8");
		} else if (!(a->name = strdup(c->string))) {
			rc = cs_err_set(d->err, CS_ERR_NOMEM, CS_MANIFEST_NAME, "out of memory");
		}
		if (rc != CS_OK)
			return rc;
		e->n_xattrs++; /* counted now so that a failure below frees the name */
		if (nlen == 0)
			return bad(d, "empty xattr name");
		if (!cJSON_IsString(c))
			return bad(d, "xattr \"%.60s\" is not a string", a->name);
		if ((rc = b64_decode(d, "xattr value", c->valuestring, CS_CAP_XATTR_VALUE, true,
				     &a->value, &a->len)) != CS_OK)
			return rc;
	}
	return CS_OK;
}

static int lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int cs_manifest_parse_entry(const char *line, size_t len, uint64_t lineno, struct cs_entry *e,
			    struct cs_error *err)
{
	static const char *const keys[] = {"path",   "path_b64", "type",   "mode",    "uid",
					   "gid",    "mtime",    "size",   "blake2b", "target",
					   "target_b64", "class", "sqlite", "xattrs",  NULL};
	struct dec d = {lineno, NULL, err};
	cJSON *j = NULL;
	const cJSON *it;
	char *s = NULL;
	uint64_t u = 0;
	int rc;

	memset(e, 0, sizeof *e);
	if ((rc = parse_object(&d, line, len, &j)) != CS_OK)
		goto out;
	if ((rc = check_keys(&d, j, keys)) != CS_OK)
		goto out;
	if ((rc = get_text(&d, j, "path", CS_CAP_PATH, true, &e->path)) != CS_OK)
		goto out;
	if (e->path[0] == '\0') {
		rc = bad(&d, "empty path");
		goto out;
	}
	d.entry = e->path;
	if ((rc = get_text(&d, j, "type", 16, true, &s)) != CS_OK)
		goto out;
	if ((e->type = lookup(type_names, N_TYPES, s)) < 0) {
		rc = bad(&d, "unknown type \"%s\"", s);
		goto out;
	}
	free(s);
	s = NULL;
	if ((rc = get_uint(&d, j, "mode", 07777, &u)) != CS_OK)
		goto out;
	e->mode = (uint32_t)u;
	if ((rc = get_uint(&d, j, "uid", UINT32_MAX, &u)) != CS_OK)
		goto out;
	e->uid = (uint32_t)u;
	if ((rc = get_uint(&d, j, "gid", UINT32_MAX, &u)) != CS_OK)
		goto out;
	e->gid = (uint32_t)u;
	if ((rc = get_time(&d, j, "mtime", &e->mtime_sec, &e->mtime_nsec)) != CS_OK ||
	    (rc = get_uint(&d, j, "size", SAFE_INT, &e->size)) != CS_OK)
		goto out;

	it = cJSON_GetObjectItemCaseSensitive(j, "blake2b");
	if (e->type == CS_ENTRY_FILE) {
		if (!it || !cJSON_IsString(it) || strlen(it->valuestring) != 2 * CS_HASH_BYTES ||
		    cs_unhex(it->valuestring, e->hash, CS_HASH_BYTES) != 0) {
			rc = bad(&d, "file without a valid \"blake2b\"");
			goto out;
		}
	} else if (it) {
		rc = bad(&d, "\"blake2b\" on a %s", type_names[e->type]);
		goto out;
	}
	bool linked = e->type == CS_ENTRY_SYMLINK || e->type == CS_ENTRY_HARDLINK;
	if ((rc = get_text(&d, j, "target", CS_CAP_PATH, linked, &e->target)) != CS_OK)
		goto out;
	if (!linked && e->target) {
		rc = bad(&d, "\"target\" on a %s", type_names[e->type]);
		goto out;
	}
	if (linked && e->target[0] == '\0') {
		rc = bad(&d, "empty \"target\"");
		goto out;
	}
	if ((rc = get_text(&d, j, "class", 16, true, &s)) != CS_OK)
		goto out;
	if ((e->cls = lookup(class_names, N_CLASSES, s)) < 0) {
		rc = bad(&d, "unknown class \"%s\"", s);
		goto out;
	}
	if ((rc = get_bool(&d, j, "sqlite", false, &e->is_sqlite)) != CS_OK)
		goto out;
	if ((it = cJSON_GetObjectItemCaseSensitive(j, "xattrs")) &&
	    (rc = parse_xattrs(&d, it, e)) != CS_OK)
		goto out;
out:
	free(s);
	cJSON_Delete(j);
	if (rc != CS_OK) {
		cs_entry_free(e);
		memset(e, 0, sizeof *e);
	}
	return rc;
}
