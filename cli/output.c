/* output.c - how results look: human sizes, printable paths, ls lines, and the
 * JSON forms of entries, snapshots and snapshot results. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *cli_count(uint64_t n, const char *one, const char *many, char *buf, size_t len)
{
	snprintf(buf, len, "%llu %s", (unsigned long long)n, n == 1 ? one : many);
	return buf;
}

const char *cli_human_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (n < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return buf;
	}
	double v = (double)n / 1024.0;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t rem)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (rem < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int cli_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Valid characters a terminal acts on rather than shows: C1 controls (U+0080..U+009F)
 * and the bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069),
 * which can make a name read as another. */
static int hidden_control(const unsigned char *p, size_t n)
{
	if (n == 2)
		return p[0] == 0xc2 && p[1] <= 0x9f;
	if (n == 3 && p[0] == 0xe2)
		return (p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		       (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9);
	return 0;
}

void cli_print_path(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (hidden_control(p + i, n)) {
			for (size_t k = 0; k < n; k++)
				fprintf(f, "\\x%02x", p[i + k]);
			i += n;
		} else if (n == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			fprintf(f, "\\x%02x", p[i]);
			i++;
		} else if (p[i] == '\\') {
			fputs("\\\\", f);
			i++;
		} else {
			fwrite(p + i, 1, n, f);
			i += n;
		}
	}
}

static char *base64(const unsigned char *in, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

void cli_json_add_path(cJSON *obj, const char *key, const char *s)
{
	size_t len = strlen(s);
	if (cli_utf8_valid(s, len)) {
		cJSON_AddStringToObject(obj, key, s);
		return;
	}
	char name[64];
	char *b = base64((const unsigned char *)s, len);
	snprintf(name, sizeof(name), "%s_b64", key);
	cJSON_AddStringToObject(obj, name, b ? b : "");
	free(b);
}

void cli_json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	cJSON_AddNumberToObject(obj, key, (double)v);
}

void cli_json_add_time(cJSON *obj, const char *key, int64_t sec, int32_t nsec)
{
	cJSON *t = cJSON_AddObjectToObject(obj, key);
	cJSON_AddNumberToObject(t, "sec", (double)sec);
	cJSON_AddNumberToObject(t, "nsec", nsec);
}

int cli_json_print(struct cli *c, cJSON *doc)
{
	char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!s) {
		cli_errorf(c, "out of memory building JSON output");
		return EXIT_ERROR;
	}
	fputs(s, stdout);
	fputc('\n', stdout);
	cJSON_free(s);
	return EXIT_OK;
}

static const char *type_name(int type)
{
	switch (type) {
	case CS_ENTRY_FILE: return "file";
	case CS_ENTRY_DIR: return "dir";
	case CS_ENTRY_SYMLINK: return "symlink";
	case CS_ENTRY_HARDLINK: return "hardlink";
	default: return "unknown";
	}
}

cJSON *cli_entry_json(const struct cs_entry *e)
{
	static const char hex[] = "0123456789abcdef";
	cJSON *o = cJSON_CreateObject();
	cli_json_add_path(o, "path", e->path);
	cJSON_AddStringToObject(o, "type", type_name(e->type));
	cJSON_AddNumberToObject(o, "mode", e->mode);
	cJSON_AddNumberToObject(o, "uid", e->uid);
	cJSON_AddNumberToObject(o, "gid", e->gid);
	cli_json_add_time(o, "mtime", e->mtime_sec, e->mtime_nsec);
	cli_json_add_u64(o, "size", e->size);
	if (e->type == CS_ENTRY_FILE) {
		char h[65];
		for (int i = 0; i < 32; i++) {
			h[2 * i] = hex[e->hash[i] >> 4];
			h[2 * i + 1] = hex[e->hash[i] & 15];
		}
		h[64] = '\0';
		cJSON_AddStringToObject(o, "blake2b", h);
	}
	if (e->target && (e->type == CS_ENTRY_SYMLINK || e->type == CS_ENTRY_HARDLINK))
		cli_json_add_path(o, "target", e->target);
	cJSON_AddStringToObject(o, "class", cs_class_name(e->cls));
	if (e->is_sqlite)
		cJSON_AddBoolToObject(o, "sqlite", 1);
	if (e->n_xattrs) {
		cJSON *x = cJSON_AddObjectToObject(o, "xattrs");
		for (size_t i = 0; i < e->n_xattrs; i++) {
			char *b = base64(e->xattrs[i].value, e->xattrs[i].len);
			cJSON_AddStringToObject(x, e->xattrs[i].name, b ? b : "");
			free(b);
		}
	}
	return o;
}

void cli_entry_print(FILE *f, const struct cs_entry *e)
{
	static const char rwx[] = "rwxrwxrwx";
	char mode[11], when[32];
	uint32_t m = e->mode;
	struct tm tm;
	time_t t = (time_t)e->mtime_sec;

	mode[0] = e->type == CS_ENTRY_DIR ? 'd' : e->type == CS_ENTRY_SYMLINK ? 'l' : '-';
	for (int i = 0; i < 9; i++)
		mode[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & 04000)
		mode[3] = (m & 0100) ? 's' : 'S';
	if (m & 02000)
		mode[6] = (m & 010) ? 's' : 'S';
	if (m & 01000)
		mode[9] = (m & 01) ? 't' : 'T';
	mode[10] = '\0';
	if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof(when), "@%lld", (long long)e->mtime_sec);
	fprintf(f, "%s %5u:%-5u %12llu %s ", mode, e->uid, e->gid, (unsigned long long)e->size,
		when);
	cli_print_path(f, e->path);
	if (e->target && e->type == CS_ENTRY_SYMLINK) {
		fputs(" -> ", f);
		cli_print_path(f, e->target);
	} else if (e->target && e->type == CS_ENTRY_HARDLINK) {
		fputs(" => ", f);
		cli_print_path(f, e->target);
	}
	fputc('\n', f);
}

cJSON *cli_snapshot_info_json(const struct cs_snapshot_info *in)
{
	cJSON *o = cJSON_CreateObject();
	cli_json_add_u64(o, "seq", in->seq);
	cli_json_add_time(o, "started", in->started_sec, in->started_nsec);
	cli_json_add_time(o, "finished", in->finished_sec, in->finished_nsec);
	cli_json_add_path(o, "tag", in->tag);
	cli_json_add_path(o, "state_dir", in->state_dir);
	cli_json_add_path(o, "home", in->home);
	cli_json_add_path(o, "layout", in->layout);
	cJSON_AddNumberToObject(o, "uid", in->uid);
	cJSON_AddNumberToObject(o, "gid", in->gid);
	cli_json_add_u64(o, "entries", in->entries);
	cli_json_add_u64(o, "files", in->files);
	cli_json_add_u64(o, "bytes", in->bytes);
	cJSON_AddBoolToObject(o, "partial", in->partial);
	cli_json_add_path(o, "tool_version", in->tool_version);
	cJSON_AddNumberToObject(o, "format", in->format);
	return o;
}

void cli_snapshot_result_print(struct cli *c, const struct cs_snapshot_result *r)
{
	char b[32], n[32], e[48], f[48];
	fprintf(c->out, "snapshot %llu: %s, %s read, %llu reused, %s read, %s new",
		(unsigned long long)r->seq, cli_count(r->entries, "entry", "entries", e, sizeof(e)),
		cli_count(r->files_read, "file", "files", f, sizeof(f)),
		(unsigned long long)r->files_reused, cli_human_bytes(r->bytes_read, b, sizeof(b)),
		cli_human_bytes(r->bytes_new, n, sizeof(n)));
	if (r->skipped)
		fprintf(c->out, ", %llu skipped (partial)", (unsigned long long)r->skipped);
	fputc('\n', c->out);
}

cJSON *cli_snapshot_result_json(const struct cs_snapshot_result *r, int partial)
{
	cJSON *o = cJSON_CreateObject();
	cli_json_add_u64(o, "seq", r->seq);
	cli_json_add_u64(o, "entries", r->entries);
	cli_json_add_u64(o, "files", r->files);
	cli_json_add_u64(o, "files_read", r->files_read);
	cli_json_add_u64(o, "files_reused", r->files_reused);
	cli_json_add_u64(o, "bytes_read", r->bytes_read);
	cli_json_add_u64(o, "bytes_new", r->bytes_new);
	cli_json_add_u64(o, "chunks_new", r->chunks_new);
	cli_json_add_u64(o, "skipped", r->skipped);
	cJSON_AddBoolToObject(o, "partial", partial);
	return o;
}
