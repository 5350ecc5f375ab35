/* journal.c - the mount-point swap's journal: encode it, and parse it as a
 * pure function over a buffer (docs/FORMAT.md "Mount-point swap"). */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[] = "clawstate-journal 1";
static const char STAGE_PREFIX[] = ".clawstate-stage-";
static const char OLD_PREFIX[] = ".clawstate-old-";
static const char RESERVED[] = ".clawstate-";

/* ---- names ------------------------------------------------------------------------ */

/* Printable ASCII but '%' is written as itself, every other byte as %XX, so a
 * name holds no space or newline and has exactly one encoding. */
static bool plain_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%';
}

/* The rules for every name in a journal: one path component. */
static const char *name_problem(const char *s, size_t n)
{
	if (n == 0)
		return "empty name";
	if (n > CS_CAP_NAME)
		return "name too long";
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return "name is . or ..";
	if (memchr(s, '/', n))
		return "name contains '/'";
	if (memchr(s, '\0', n))
		return "name contains NUL";
	return NULL;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Where each name may be: stage and old are ours, the lists never are. */
enum name_kind { NAME_STAGE, NAME_OLD, NAME_ENTRY };

static const char *kind_problem(const char *s, int kind)
{
	if (kind == NAME_STAGE && !has_prefix(s, STAGE_PREFIX))
		return "staging dir name does not start with .clawstate-stage-";
	if (kind == NAME_OLD && !has_prefix(s, OLD_PREFIX))
		return "old-tree name does not start with .clawstate-old-";
	if (kind == NAME_ENTRY && has_prefix(s, RESERVED))
		return "entry name starts with .clawstate-";
	return NULL;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lowercase is not canonical */
}

/* Decode in[0..n) into out (NAME_MAX + 1 bytes); a reason on failure. */
static const char *name_decode(const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '%') {
			if (n - i < 3)
				return "truncated %-escape";
			int hi = hexdigit(in[i + 1]);
			int lo = hexdigit(in[i + 2]);
			if (hi < 0 || lo < 0)
				return "bad %-escape (two uppercase hex digits)";
			c = (unsigned char)(hi << 4 | lo);
			if (plain_byte(c))
				return "needless %-escape";
			i += 2;
		} else if (!plain_byte(c)) {
			return "unescaped byte in name";
		}
		if (o == CS_CAP_NAME)
			return "name too long";
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return name_problem(out, o);
}

/* ---- the output buffer --------------------------------------------------------------- */

struct obuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct obuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 1024;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void putf(struct obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct obuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_name(struct obuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (plain_byte(*p)) {
			put(b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			put(b, e, 3);
		}
	}
	put(b, "\n", 1);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_name(const char *s, int kind, struct cs_error *err)
{
	const char *why = name_problem(s, strlen(s));
	if (!why)
		why = kind_problem(s, kind);
	return why ? cs_err_set(err, CS_ERR_USAGE, s, "not a journal name: %s", why) : CS_OK;
}

static int check_list(char **names, size_t n, struct cs_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = check_name(names[i], NAME_ENTRY, err);
		if (rc != CS_OK)
			return rc;
		if (i > 0 && strcmp(names[i - 1], names[i]) == 0)
			return cs_err_set(err, CS_ERR_USAGE, names[i], "listed twice");
	}
	return CS_OK;
}

int cs_journal_format(struct cs_journal *j, char **buf, size_t *len, struct cs_error *err)
{
	struct obuf b = {0};
	unsigned char sum[CS_HASH_BYTES];
	char hex[2 * CS_HASH_BYTES + 1];
	cs_hash_state hs;
	int rc;
	*buf = NULL;
	*len = 0;
	if (j->n_old)
		qsort(j->old_names, j->n_old, sizeof *j->old_names, cmp_names);
	if (j->n_new)
		qsort(j->new_names, j->n_new, sizeof *j->new_names, cmp_names);
	if ((rc = check_name(j->stage, NAME_STAGE, err)) != CS_OK ||
	    (rc = check_name(j->old, NAME_OLD, err)) != CS_OK ||
	    (rc = check_list(j->old_names, j->n_old, err)) != CS_OK ||
	    (rc = check_list(j->new_names, j->n_new, err)) != CS_OK)
		return rc;
	if (j->root.mode > 07777 || (j->root.set_owner && (j->root.uid == UINT32_MAX ||
							   j->root.gid == UINT32_MAX)) ||
	    (j->root.set_mtime && (j->root.mtime_sec == INT64_MIN || j->root.mtime_nsec < 0 ||
				   j->root.mtime_nsec > 999999999)))
		return cs_err_set(err, CS_ERR_USAGE, NULL, "journal: invalid root metadata");
	putf(&b, "%s\nstage ", MAGIC);
	put_name(&b, j->stage);
	put(&b, "old ", 4);
	put_name(&b, j->old);
	putf(&b, "keep %s\nmode %04o\n", j->keep ? "yes" : "no", (unsigned)j->root.mode);
	if (j->root.set_owner)
		putf(&b, "owner %" PRIu32 ":%" PRIu32 "\n", j->root.uid, j->root.gid);
	else
		put(&b, "owner -\n", 8);
	if (j->root.set_mtime)
		putf(&b, "mtime %" PRId64 ".%09" PRId32 "\n", j->root.mtime_sec,
		     j->root.mtime_nsec);
	else
		put(&b, "mtime -\n", 8);
	putf(&b, "old-entries %zu\n", j->n_old);
	for (size_t i = 0; i < j->n_old; i++)
		put_name(&b, j->old_names[i]);
	putf(&b, "new-entries %zu\n", j->n_new);
	for (size_t i = 0; i < j->n_new; i++)
		put_name(&b, j->new_names[i]);
	if (b.oom) {
		free(b.p);
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	}
	cs_hash_init(&hs);
	cs_hash_update(&hs, b.p, b.len);
	cs_hash_final(&hs, sum);
	cs_hex(sum, sizeof sum, hex);
	putf(&b, "blake2b %s\n", hex);
	if (b.oom) {
		free(b.p);
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	}
	*buf = b.p;
	*len = b.len;
	return CS_OK;
}

/* ---- parsing ------------------------------------------------------------------------ */

struct cursor {
	const char *p, *end;
	uint64_t line;     /* of the last line taken */
	const char *s;     /* that line, without its '\n' */
	size_t n;
	struct cs_error *err;
};

static int bad(struct cursor *c, const char *why)
{
	return cs_err_set(c->err, CS_ERR_CORRUPT, CS_JOURNAL_NAME, "line %" PRIu64 ": %s", c->line,
			  why);
}

/* The next line; a journal ends with the checksum line's '\n', so running out
 * of bytes anywhere before it is a torn journal. */
static int next_line(struct cursor *c)
{
	c->line++;
	if (c->p == c->end)
		return bad(c, "truncated (the journal ends here)");
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (!nl)
		return bad(c, "truncated (no newline at the end)");
	c->s = c->p;
	c->n = (size_t)(nl - c->p);
	c->p = nl + 1;
	return CS_OK;
}

/* The line must be "key " followed by a value; *v and *vn point at the value. */
static int keyed(struct cursor *c, const char *key, const char **v, size_t *vn)
{
	int rc = next_line(c);
	if (rc != CS_OK)
		return rc;
	size_t kl = strlen(key);
	if (c->n <= kl + 1 || memcmp(c->s, key, kl) != 0 || c->s[kl] != ' ') {
		char why[64];
		snprintf(why, sizeof why, "expected '%s ...'", key);
		return bad(c, why);
	}
	*v = c->s + kl + 1;
	*vn = c->n - kl - 1;
	return CS_OK;
}

/* Decimal, no sign, no leading zero, at most max. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int take_name(struct cursor *c, const char *v, size_t vn, int kind, char *out)
{
	const char *why = name_decode(v, vn, out);
	if (!why)
		why = kind_problem(out, kind);
	return why ? bad(c, why) : CS_OK;
}

static int parse_owner(struct cursor *c, const char *v, size_t vn, struct cs_root_meta *m)
{
	uint64_t u, g;
	if (vn == 1 && v[0] == '-')
		return CS_OK;
	const char *colon = memchr(v, ':', vn);
	if (!colon || !parse_u64(v, (size_t)(colon - v), UINT32_MAX - 1, &u) ||
	    !parse_u64(colon + 1, vn - (size_t)(colon + 1 - v), UINT32_MAX - 1, &g))
		return bad(c, "owner is not UID:GID or -");
	m->set_owner = true;
	m->uid = (uint32_t)u;
	m->gid = (uint32_t)g;
	return CS_OK;
}

static int parse_mtime(struct cursor *c, const char *v, size_t vn, struct cs_root_meta *m)
{
	uint64_t sec, nsec;
	bool neg = vn > 0 && v[0] == '-';
	if (vn == 1 && neg)
		return CS_OK;
	const char *s = v + neg, *dot = memchr(v, '.', vn);
	if (!dot || (size_t)(v + vn - dot) != 10 ||
	    !parse_u64(s, (size_t)(dot - s), (uint64_t)INT64_MAX, &sec) || (neg && sec == 0))
		return bad(c, "mtime is not SECONDS.NANOSECONDS (9 digits) or -");
	nsec = 0;
	for (const char *p = dot + 1; p < v + vn; p++) {
		if (*p < '0' || *p > '9')
			return bad(c, "mtime is not SECONDS.NANOSECONDS (9 digits) or -");
		nsec = nsec * 10 + (uint64_t)(*p - '0');
	}
	m->set_mtime = true;
	m->mtime_sec = neg ? -(int64_t)sec : (int64_t)sec;
	m->mtime_nsec = (int32_t)nsec;
	return CS_OK;
}

/* "KEY-entries N" and N names in strictly increasing bytewise order. */
static int parse_list(struct cursor *c, const char *key, char ***names, size_t *n_out)
{
	const char *v;
	size_t vn;
	uint64_t n;
	char name[CS_CAP_NAME + 1];
	int rc = keyed(c, key, &v, &vn);
	if (rc != CS_OK)
		return rc;
	/* Every name takes at least two bytes: a count the rest cannot hold is
	 * refused before anything is allocated for it. */
	if (!parse_u64(v, vn, CS_CAP_ENTRIES, &n) || n > (uint64_t)(c->end - c->p) / 2)
		return bad(c, "bad entry count");
	if (n && !(*names = calloc((size_t)n, sizeof **names)))
		return cs_err_set(c->err, CS_ERR_NOMEM, CS_JOURNAL_NAME, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		if ((rc = next_line(c)) != CS_OK ||
		    (rc = take_name(c, c->s, c->n, NAME_ENTRY, name)) != CS_OK)
			return rc;
		if (i > 0 && strcmp((*names)[i - 1], name) >= 0)
			return bad(c, "names not in strictly increasing order");
		if (!((*names)[i] = strdup(name)))
			return cs_err_set(c->err, CS_ERR_NOMEM, CS_JOURNAL_NAME, "out of memory");
		(*n_out)++;
	}
	return CS_OK;
}

static int parse_body(struct cursor *c, struct cs_journal *j)
{
	const char *v;
	size_t vn;
	uint64_t mode;
	int rc;
	if ((rc = next_line(c)) != CS_OK)
		return rc;
	if (c->n != sizeof MAGIC - 1 || memcmp(c->s, MAGIC, c->n) != 0)
		return bad(c, "not a clawstate journal (version 1)");
	if ((rc = keyed(c, "stage", &v, &vn)) != CS_OK ||
	    (rc = take_name(c, v, vn, NAME_STAGE, j->stage)) != CS_OK)
		return rc;
	if ((rc = keyed(c, "old", &v, &vn)) != CS_OK ||
	    (rc = take_name(c, v, vn, NAME_OLD, j->old)) != CS_OK)
		return rc;
	if ((rc = keyed(c, "keep", &v, &vn)) != CS_OK)
		return rc;
	if (vn == 3 && memcmp(v, "yes", 3) == 0)
		j->keep = true;
	else if (!(vn == 2 && memcmp(v, "no", 2) == 0))
		return bad(c, "keep is not yes or no");
	if ((rc = keyed(c, "mode", &v, &vn)) != CS_OK)
		return rc;
	mode = 0;
	for (size_t i = 0; i < vn; i++) {
		if (vn != 4 || v[i] < '0' || v[i] > '7')
			return bad(c, "mode is not four octal digits");
		mode = mode * 8 + (uint64_t)(v[i] - '0');
	}
	if (vn != 4)
		return bad(c, "mode is not four octal digits");
	j->root.mode = (uint32_t)mode;
	if ((rc = keyed(c, "owner", &v, &vn)) != CS_OK ||
	    (rc = parse_owner(c, v, vn, &j->root)) != CS_OK)
		return rc;
	if ((rc = keyed(c, "mtime", &v, &vn)) != CS_OK ||
	    (rc = parse_mtime(c, v, vn, &j->root)) != CS_OK)
		return rc;
	if ((rc = parse_list(c, "old-entries", &j->old_names, &j->n_old)) != CS_OK)
		return rc;
	return parse_list(c, "new-entries", &j->new_names, &j->n_new);
}

int cs_journal_parse(const char *buf, size_t len, struct cs_journal *j, struct cs_error *err)
{
	struct cursor c = {buf, buf + len, 0, NULL, 0, err};
	unsigned char sum[CS_HASH_BYTES];
	char hex[2 * CS_HASH_BYTES + 1];
	cs_hash_state hs;
	const char *v;
	size_t vn;
	memset(j, 0, sizeof *j);
	/* The structure first, the checksum last: a torn journal is named by the
	 * line where it ends, and every byte still gets checked. */
	int rc = parse_body(&c, j);
	if (rc == CS_OK) {
		size_t body = (size_t)(c.p - buf);
		if ((rc = keyed(&c, "blake2b", &v, &vn)) == CS_OK) {
			cs_hash_init(&hs);
			cs_hash_update(&hs, buf, body);
			cs_hash_final(&hs, sum);
			cs_hex(sum, sizeof sum, hex);
			if (vn != 2 * CS_HASH_BYTES || memcmp(v, hex, vn) != 0)
				rc = bad(&c, "checksum mismatch (torn or damaged journal)");
			else if (c.p != c.end)
				rc = bad(&c, "bytes after the checksum line");
		}
	}
	if (rc != CS_OK)
		cs_journal_free(j);
	return rc;
}

void cs_journal_free(struct cs_journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n_old; i++)
		free(j->old_names[i]);
	for (size_t i = 0; i < j->n_new; i++)
		free(j->new_names[i]);
	free(j->old_names);
	free(j->new_names);
	memset(j, 0, sizeof *j);
}
