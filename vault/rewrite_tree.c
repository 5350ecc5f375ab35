/* rewrite_tree.c - which restored files hold paths to move, rewriting them in the staging dir
 * (a new file renamed over the old one), and counting the old prefixes left behind. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RW_CHUNK (1u << 16)

static void warnf(const struct cs_rw_plan *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reasons quote names from the archive: they are escaped like error reasons. */
static void warnf(const struct cs_rw_plan *p, const char *path, const char *fmt, ...)
{
	char raw[1024];
	struct cs_error e;
	va_list ap;
	if (!p->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	cs_err_set(&e, CS_OK, NULL, "%s", raw);
	p->warn(p->ctx, path, e.what);
}

/* ---- kinds ------------------------------------------------------------------------ */

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Copies of the config OpenClaw keeps beside it: its backup ring (.bak, .bak.1 to
 * .bak.4), what older releases left as .bak.<pid or name>, .last-good, and the
 * forensic copies of rejected writes (.clobbered.<time>, .rejected.<time>, which
 * may well not parse); and hand-made openclaw.json.<name>.bak.
 */
static bool config_copy(const char *name)
{
	static const char cfg[] = "openclaw.json.";
	static const char *const tagged[] = {"bak.", "clobbered.", "rejected."};
	if (!starts(name, cfg))
		return false;
	const char *s = name + sizeof cfg - 1;
	size_t n = strlen(s);
	if (!strcmp(s, "bak") || !strcmp(s, "last-good"))
		return true;
	for (size_t i = 0; i < sizeof tagged / sizeof tagged[0]; i++)
		if (starts(s, tagged[i]) && s[strlen(tagged[i])])
			return true;
	return n >= 4 && !strcmp(s + n - 4, ".bak");
}

int cs_rw_kind(const struct cs_entry *e)
{
	if (e->type != CS_ENTRY_FILE || !e->path)
		return CS_RW_NONE;
	if (e->is_sqlite)
		return CS_RW_SQLITE;
	const char *slash = strrchr(e->path, '/');
	const char *base = slash ? slash + 1 : e->path;
	size_t n = strlen(base);
	if (!slash && !strcmp(base, "openclaw.json"))
		return CS_RW_CONFIG;
	if (!slash && config_copy(base))
		return CS_RW_CONFIG_BAK;
	if (!strcmp(base, "sessions.json") || (!slash && !strcmp(base, "exec-approvals.json")))
		return CS_RW_JSON;
	if (n > 6 && !strcmp(base + n - 6, ".jsonl"))
		return CS_RW_JSONL;
	return CS_RW_NONE;
}

/* ---- leftover mentions ---------------------------------------------------------- */

/* Longest match the stream scanner looks ahead for (the carry holds one more byte). */
#define MENTION_MAX (sizeof(((struct cs_mentions *)0)->carry) - 2)
#define MAX_NEEDLES 64

struct needle {
	const char *s;
	size_t len;  /* without trailing '/' */
	bool esc;    /* also matched with every '/' written "\/" (JSON) */
};

/* The needles that are counted, and the look-ahead they need. */
static size_t needles_of(const struct cs_rw_plan *p, struct needle *nd, size_t *look)
{
	size_t k = 0;
	*look = 0;
	for (size_t i = 0; p && i < p->n_needles && k < MAX_NEEDLES; i++) {
		const char *s = p->needles[i];
		size_t n = s ? strlen(s) : 0, slashes = 0;
		while (n > 1 && s[n - 1] == '/')
			n--;
		if (n < 2 || s[0] != '/' || n > MENTION_MAX)
			continue;
		for (size_t j = 0; j < n; j++)
			slashes += s[j] == '/';
		nd[k] = (struct needle){s, n, n + slashes <= MENTION_MAX};
		size_t span = nd[k].esc ? n + slashes : n;
		if (span > *look)
			*look = span;
		k++;
	}
	return k;
}

/* Bytes that go on a path component's name: a needle after or before one of
 * them is part of another name ("/srv/home/hostuser", "/home/hostuser2",
 * "/home/hostuser.old"), not a mention. */
static bool name_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c >= 0x80 ||
	       c == '.' || c == '_' || c == '-' || c == '+' || c == '~' || c == '@' || c == '%';
}

/* Bytes of b a needle takes at its start, or 0. */
static size_t needle_at(const struct needle *nd, const unsigned char *b, size_t avail)
{
	size_t r = 0;
	for (size_t i = 0; i < nd->len; i++) {
		if (r < avail && b[r] == (unsigned char)nd->s[i])
			r++;
		else if (nd->esc && nd->s[i] == '/' && r + 1 < avail && b[r] == '\\' && b[r + 1] == '/')
			r += 2;
		else
			return 0;
	}
	return r;
}

/*
 * Count the mentions starting at positions [from, upto) of b[0..n) (prev0 is
 * the byte before b[0]).  A match counts once, for its longest needle, and the
 * scan goes on after it.  Returns the first position not decided yet: unless
 * final (the stream ends at n), a position needs look + 1 bytes to see the
 * byte after the longest needle.
 */
static size_t scan(struct cs_mentions *m, const struct needle *nd, size_t k, size_t look,
		   const unsigned char *b, size_t n, size_t from, size_t upto, bool final,
		   unsigned char prev0)
{
	size_t pos = from;
	while (pos < upto) {
		if ((b[pos] != '/' && b[pos] != '\\') || name_byte(pos ? b[pos - 1] : prev0)) {
			pos++;
			continue;
		}
		if (!final && n - pos < look + 1)
			break;
		size_t best = 0;
		for (size_t i = 0; i < k; i++) {
			size_t r = needle_at(&nd[i], b + pos, n - pos);
			if (r > best && (r == n - pos ? final : !name_byte(b[pos + r])))
				best = r;
		}
		if (best) {
			m->count++;
			pos += best;
		} else {
			pos++;
		}
	}
	return pos;
}

/* The carry is the byte before the first undecided position, then the bytes
 * from there on; at the start of the stream a line break stands for "none". */
void cs_mentions_init(struct cs_mentions *m, const struct cs_rw_plan *p)
{
	m->p = p;
	m->carry[0] = '\n';
	m->carry_len = 1;
	m->count = 0;
}

void cs_mentions_feed(struct cs_mentions *m, const void *data, size_t len)
{
	struct needle nd[MAX_NEEDLES];
	size_t look, k = needles_of(m->p, nd, &look), start = 0;
	const unsigned char *buf = data;
	if (!k || !len)
		return;
	if (!m->carry_len)
		cs_mentions_init(m, m->p);
	unsigned char prev0 = m->carry[m->carry_len - 1];
	if (m->carry_len > 1) {
		/* Positions in the carry see the first bytes of this chunk through a copy. */
		unsigned char w[2 * MENTION_MAX + 2];
		size_t take = len < look + 1 ? len : look + 1;
		memcpy(w, m->carry, m->carry_len);
		memcpy(w + m->carry_len, buf, take);
		size_t wn = m->carry_len + take;
		size_t q = scan(m, nd, k, look, w, wn, 1, m->carry_len, false, '\n');
		if (q < m->carry_len) { /* the chunk was too short to decide: all of it waits */
			memmove(m->carry, w + q - 1, wn - q + 1);
			m->carry_len = wn - q + 1;
			return;
		}
		start = q - m->carry_len;
	}
	size_t q = scan(m, nd, k, look, buf, len, start, len, false, prev0);
	m->carry[0] = q ? buf[q - 1] : prev0;
	memcpy(m->carry + 1, buf + q, len - q);
	m->carry_len = len - q + 1;
}

/* "A or B": the needles that do not lie below another one (a mention of the
 * old state dir is a mention of the old home too). */
static void needle_names(const struct cs_rw_plan *p, char *out, size_t cap)
{
	struct needle nd[MAX_NEEDLES];
	size_t look, k = needles_of(p, nd, &look), o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		bool below = false;
		for (size_t j = 0; j < k && !below; j++) {
			if (j == i || nd[j].len > nd[i].len || memcmp(nd[j].s, nd[i].s, nd[j].len))
				continue;
			below = nd[j].len < nd[i].len ? nd[i].s[nd[j].len] == '/' : j < i;
		}
		if (below || o >= cap)
			continue;
		int w = snprintf(out + o, cap - o, "%s%.*s", o ? " or " : "", (int)nd[i].len, nd[i].s);
		o += w > 0 ? (size_t)w : 0;
	}
}

uint64_t cs_mentions_end(struct cs_mentions *m, const char *path, struct cs_rw_stats *s)
{
	struct needle nd[MAX_NEEDLES];
	size_t look, k = needles_of(m->p, nd, &look);
	char names[600];
	if (k && m->carry_len > 1)
		scan(m, nd, k, look, m->carry, m->carry_len, 1, m->carry_len, true, '\n');
	uint64_t total = m->count;
	cs_mentions_init(m, m->p);
	if (!total)
		return 0;
	if (s) {
		s->leftover_files++;
		s->leftover_mentions += total;
	}
	if (path && m->p->warn) {
		needle_names(m->p, names, sizeof names);
		warnf(m->p, path, "mentions %s %" PRIu64 " time%s; not rewritten", names, total,
		      total == 1 ? "" : "s");
	}
	return total;
}

/* ---- one file in memory -------------------------------------------------------- */

struct note_ctx {
	const struct cs_rw_plan *p;
	const char *path;
	bool nomem;
};

/* A literal body made readable for a note: "\/", "\\" and escaped quotes decoded,
 * line continuations dropped; other escapes stay as written. */
static char *readable(const char *raw, size_t n)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n;) {
		if (raw[i] != '\\' || i + 1 >= n) {
			o[k++] = raw[i++];
			continue;
		}
		unsigned char c = (unsigned char)raw[i + 1];
		if (c == '/' || c == '\\' || c == '"' || c == '\'') {
			o[k++] = (char)c;
			i += 2;
		} else if (c == '\n' || c == '\r') {
			i += 2;
			if (c == '\r' && i < n && raw[i] == '\n')
				i++;
		} else if (c == 0xe2 && i + 3 < n && (unsigned char)raw[i + 2] == 0x80 &&
			   ((unsigned char)raw[i + 3] == 0xa8 || (unsigned char)raw[i + 3] == 0xa9)) {
			i += 4;
		} else {
			o[k++] = raw[i++];
			o[k++] = raw[i++];
		}
	}
	o[k] = '\0';
	return o;
}

static void on_literal(void *ctx, size_t line, const char *old_raw, size_t old_len,
		       const char *new_raw, size_t new_len, char quote)
{
	struct note_ctx *c = ctx;
	char where[32];
	char *from = readable(old_raw, old_len), *to = readable(new_raw, new_len);
	snprintf(where, sizeof where, "line %zu", line);
	if (from && to) {
		struct cs_rewrite_note n = {c->path, where, from, to};
		c->p->note(c->p->ctx, &n);
	} else {
		c->nomem = true;
	}
	free(from);
	free(to);
}

int cs_rw_buffer(int kind, const char *path, const char *buf, size_t len, int truncated,
		 const struct cs_rw_plan *p, char **out, size_t *out_len, struct cs_rw_stats *s,
		 struct cs_error *err)
{
	struct cs_error perr;
	struct note_ctx nc = {p, path, false};
	cs_json5_note_fn note = p->note ? on_literal : NULL;
	struct cs_mentions m;
	size_t nrw = 0;
	int rc = CS_OK;
	*out = NULL;
	*out_len = 0;
	cs_error_clear(&perr);
	switch (kind) {
	case CS_RW_CONFIG:
	case CS_RW_CONFIG_BAK:
	case CS_RW_JSON:
		if (truncated) {
			warnf(p, path, "too large to rewrite (over %u MiB); not rewritten",
			      CS_RW_MAX_BYTES >> 20);
			break;
		}
		rc = cs_json5_rewrite_notes(buf, len, p->rules, p->n_rules, out, out_len, &nrw, note,
					    &nc, path, &perr);
		break;
	case CS_RW_JSONL:
		if (truncated && !memchr(buf, '\n', len)) {
			warnf(p, path, "first line too large to rewrite (over %u MiB); not rewritten",
			      CS_RW_MAX_BYTES >> 20);
			break;
		}
		rc = cs_jsonl_rewrite_cwd_notes(buf, len, p->rules, p->n_rules, out, out_len, &nrw,
						note, &nc, path, &perr);
		break;
	case CS_RW_NONE:
		break;
	default:
		return cs_err_set(err, CS_ERR_USAGE, path, "not a file the rewriter loads");
	}
	if (rc == CS_ERR_CORRUPT && kind != CS_RW_CONFIG) {
		warnf(p, path, "%s; not rewritten", perr.what);
		rc = CS_OK;
	} else if (rc != CS_OK) {
		if (err)
			*err = perr;
		return rc;
	}
	if (nc.nomem) {
		free(*out);
		*out = NULL;
		*out_len = 0;
		return cs_err_set(err, CS_ERR_NOMEM, path, "out of memory");
	}
	if (s) {
		s->rewrites += nrw;
		s->files_rewritten += *out != NULL;
	}
	cs_mentions_init(&m, p);
	cs_mentions_feed(&m, *out ? *out : buf, *out ? *out_len : len);
	cs_mentions_end(&m, path, s);
	return CS_OK;
}

/* ---- files in the staging dir ---------------------------------------------------- */

/* Feed what is left of fd to m. */
static int feed_rest(int fd, struct cs_mentions *m, const char *path, struct cs_error *err)
{
	char *chunk = malloc(RW_CHUNK);
	int rc = CS_OK;
	if (!chunk)
		return cs_err_set(err, CS_ERR_NOMEM, path, "out of memory");
	for (;;) {
		size_t n = 0;
		if ((rc = cs_read_full(fd, chunk, RW_CHUNK, &n, path, err)) != CS_OK || !n)
			break;
		cs_mentions_feed(m, chunk, n);
		if (n < RW_CHUNK)
			break;
	}
	free(chunk);
	return rc;
}

/* A file left as it is: its mentions from the start. */
static int count_file(int fd, const struct cs_rw_plan *p, const char *path,
		      struct cs_rw_stats *s, struct cs_error *err)
{
	struct cs_mentions m;
	cs_mentions_init(&m, p);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return cs_err_sys(err, path, "seek");
	int rc = feed_rest(fd, &m, path, err);
	if (rc == CS_OK)
		cs_mentions_end(&m, path, s);
	return rc;
}

/*
 * Load what the rewriter needs: a whole file, or for JSONL up to its first
 * newline (in 64 KiB steps, at most CS_RW_MAX_BYTES).  *eof when the file's
 * end was read.
 */
static int load(int fd, int kind, uint64_t size, char **buf, size_t *got, bool *eof,
		const char *path, struct cs_error *err)
{
	size_t cap = kind == CS_RW_JSONL ? RW_CHUNK : (size_t)size, len = 0;
	char *b = malloc(cap ? cap : 1);
	int rc = CS_OK;
	*eof = false;
	for (;;) {
		size_t want = kind == CS_RW_JSONL ? RW_CHUNK : cap - len, n = 0;
		if (len + want > CS_RW_MAX_BYTES)
			want = CS_RW_MAX_BYTES - len;
		if (b && len + want > cap) {
			char *nb = realloc(b, cap * 2 > len + want ? cap * 2 : len + want);
			if (!nb) {
				free(b);
				b = NULL;
			} else {
				b = nb;
				cap = cap * 2 > len + want ? cap * 2 : len + want;
			}
		}
		if (!b) {
			rc = cs_err_set(err, CS_ERR_NOMEM, path, "out of memory");
			break;
		}
		if ((rc = cs_read_full(fd, b + len, want, &n, path, err)) != CS_OK)
			break;
		len += n;
		if (n < want || kind != CS_RW_JSONL) {
			*eof = n < want || len == size;
			break;
		}
		if (memchr(b + len - n, '\n', n) || len == CS_RW_MAX_BYTES)
			break;
	}
	if (rc != CS_OK) {
		free(b);
		b = NULL;
		len = 0;
	}
	*buf = b;
	*got = len;
	return rc;
}

/*
 * Write head and then the rest of rest_fd (when >= 0, fed to m) as a new file
 * beside base, and rename it over base; e gets the new size and hash.  The
 * temporary name cannot be an entry's for long: O_EXCL picks another one.
 * Nothing is left under it on failure.  No fsync: the commit syncs the
 * staging filesystem once.
 */
static int replace(int dfd, const char *base, struct cs_entry *e, const char *head, size_t hlen,
		   int rest_fd, struct cs_mentions *m, struct cs_error *err)
{
	char tmp[64];
	unsigned char rnd[8];
	char hex[2 * sizeof rnd + 1];
	char *chunk = NULL;
	int fd = -1, rc = CS_OK;
	bool made = false;
	uint64_t size = hlen;
	cs_hash_state hs;
	for (int tries = 0; fd < 0; tries++) {
		randombytes_buf(rnd, sizeof rnd);
		cs_hex(rnd, sizeof rnd, hex);
		snprintf(tmp, sizeof tmp, ".clawstate-rw-%s", hex);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    (mode_t)(e->mode & 0777));
		if (fd < 0 && (errno != EEXIST || tries >= 8))
			return cs_err_sys(err, e->path, "create the rewritten file");
	}
	made = true;
	cs_hash_init(&hs);
	cs_hash_update(&hs, head, hlen);
	if ((rc = cs_write_all(fd, head, hlen, e->path, err)) != CS_OK)
		goto out;
	if (rest_fd >= 0 && !(chunk = malloc(RW_CHUNK))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, e->path, "out of memory");
		goto out;
	}
	while (rest_fd >= 0) {
		size_t n = 0;
		if ((rc = cs_read_full(rest_fd, chunk, RW_CHUNK, &n, e->path, err)) != CS_OK)
			goto out;
		if (!n)
			break;
		cs_hash_update(&hs, chunk, n);
		if (m)
			cs_mentions_feed(m, chunk, n);
		if ((rc = cs_write_all(fd, chunk, n, e->path, err)) != CS_OK)
			goto out;
		size += n;
		if (n < RW_CHUNK)
			break;
	}
	if ((rc = cs_close(&fd, e->path, err)) != CS_OK)
		goto out;
	if (renameat(dfd, tmp, dfd, base) < 0) {
		rc = cs_err_sys(err, e->path, "rename the rewritten file");
		goto out;
	}
	made = false;
	cs_hash_final(&hs, e->hash);
	e->size = size;
out:
	if (fd >= 0)
		close(fd); /* a failure already: the file is removed below */
	if (made)
		(void)unlinkat(dfd, tmp, 0);
	free(chunk);
	return rc;
}

/* Size and hash of dfd/base as it is now (a database SQLite changed). */
static int rehash(int dfd, const char *base, struct cs_entry *e, struct cs_error *err)
{
	cs_hash_state hs;
	uint64_t size = 0;
	char *chunk = malloc(RW_CHUNK);
	int rc = CS_OK, fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !chunk) {
		rc = fd < 0 ? cs_err_sys(err, e->path, "open the rewritten database")
			    : cs_err_set(err, CS_ERR_NOMEM, e->path, "out of memory");
		goto out;
	}
	cs_hash_init(&hs);
	for (;;) {
		size_t n = 0;
		if ((rc = cs_read_full(fd, chunk, RW_CHUNK, &n, e->path, err)) != CS_OK)
			goto out;
		cs_hash_update(&hs, chunk, n);
		size += n;
		if (n < RW_CHUNK)
			break;
	}
	cs_hash_final(&hs, e->hash);
	e->size = size;
out:
	if (fd >= 0 && cs_close(&fd, e->path, rc == CS_OK ? err : NULL) != CS_OK && rc == CS_OK)
		rc = err->code;
	free(chunk);
	return rc;
}

static const char *const side_suffix[] = {"-wal", "-shm", "-journal"};

/* The name of the first side file of base that exists in dfd into name, or "". */
static int side_file(int dfd, const char *base, char *name, size_t cap, const char *path,
		     struct cs_error *err)
{
	struct stat sb;
	for (size_t i = 0; i < sizeof side_suffix / sizeof side_suffix[0]; i++) {
		snprintf(name, cap, "%s%s", base, side_suffix[i]);
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			return CS_OK;
		if (errno != ENOENT && errno != ENAMETOOLONG)
			return cs_err_sys(err, path, "look for the database's side files");
	}
	name[0] = '\0';
	return CS_OK;
}

static int rewrite_db_at(int dfd, const char *base, struct cs_entry *e,
			 const struct cs_rw_plan *p, struct cs_rw_stats *s, struct cs_error *err)
{
	char abs[64 + NAME_MAX], side[NAME_MAX + 16];
	bool changed;
	/* A journal or WAL that came with the archive would be replayed into the
	 * database by SQLite the moment it opens it. */
	int rc = side_file(dfd, base, side, sizeof side, e->path, err);
	if (rc != CS_OK)
		return rc;
	if (side[0]) {
		warnf(p, e->path, "%s lies beside the database; not rewritten", side);
		return CS_OK;
	}
	/* SQLite opens by name; this one resolves to the staging dir we hold. */
	snprintf(abs, sizeof abs, "/proc/self/fd/%d/%s", dfd, base);
	/* The file has its final mode already; without u+w a non-root run could
	 * not write it (SQLite would open it read-only).  The commit sets the
	 * recorded mode afterwards. */
	bool lent = !(e->mode & S_IWUSR);
	if (lent && fchmodat(dfd, base, (mode_t)((e->mode & 0777) | S_IRUSR | S_IWUSR), 0) < 0)
		return cs_err_sys(err, e->path, "chmod");
	rc = cs_sqlite_rewrite_file(abs, e->path, p, s, &changed, err);
	if (lent && fchmodat(dfd, base, (mode_t)(e->mode & 0777), 0) < 0 && rc == CS_OK)
		rc = cs_err_sys(err, e->path, "chmod");
	/* The last connection's close removes the journal or WAL; one left behind
	 * would be swapped into the target as a stray file. */
	for (int i = 0; i < 3; i++) {
		int src = side_file(dfd, base, side, sizeof side, e->path, rc == CS_OK ? err : NULL);
		if (src != CS_OK && rc == CS_OK)
			rc = src;
		if (src != CS_OK || !side[0])
			break;
		(void)unlinkat(dfd, side, 0);
		if (rc == CS_OK)
			rc = cs_err_set(err, CS_ERR_DB, e->path, "SQLite left %s behind", side);
	}
	/* Even a transaction that changed no row may have touched the file. */
	if (rc == CS_OK)
		rc = rehash(dfd, base, e, err);
	return rc;
}

static int rewrite_at(int dfd, const char *base, struct cs_entry *e, int kind,
		      const struct cs_rw_plan *p, struct cs_rw_stats *s, struct cs_error *err)
{
	struct stat sb;
	struct cs_mentions m;
	struct cs_rw_plan quiet = *p;
	char *buf = NULL, *out = NULL;
	size_t got = 0, out_len = 0;
	bool eof = true;
	int rc = CS_OK;
	int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cs_err_sys(err, e->path, "open for rewriting");
	if (fstat(fd, &sb) < 0) {
		rc = cs_err_sys(err, e->path, "stat for rewriting");
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = cs_err_set(err, CS_ERR_IO, e->path, "not a regular file in the staging dir");
		goto out;
	}
	/* Its other names would keep the old content, or change with it. */
	if (sb.st_nlink > 1) {
		warnf(p, e->path, "hardlinked; not rewritten");
		rc = count_file(fd, p, e->path, s, err);
		goto out;
	}
	if (kind == CS_RW_SQLITE) {
		if ((rc = cs_close(&fd, e->path, err)) == CS_OK)
			rc = rewrite_db_at(dfd, base, e, p, s, err);
		goto out;
	}
	if (kind != CS_RW_JSONL && (uint64_t)sb.st_size > CS_RW_MAX_BYTES) {
		warnf(p, e->path, "too large to rewrite (over %u MiB); not rewritten",
		      CS_RW_MAX_BYTES >> 20);
		rc = count_file(fd, p, e->path, s, err);
		goto out;
	}
	if ((rc = load(fd, kind, (uint64_t)sb.st_size, &buf, &got, &eof, e->path, err)) != CS_OK)
		goto out;
	/* A transcript's other lines are streamed: its mentions are counted here. */
	if (!eof)
		quiet.n_needles = 0;
	if ((rc = cs_rw_buffer(kind, e->path, buf, got, !eof, &quiet, &out, &out_len, s, err)) !=
	    CS_OK)
		goto out;
	if (!eof) {
		cs_mentions_init(&m, p);
		cs_mentions_feed(&m, out ? out : buf, out ? out_len : got);
	}
	if (out)
		rc = replace(dfd, base, e, out, out_len, eof ? -1 : fd, eof ? NULL : &m, err);
	else if (!eof)
		rc = feed_rest(fd, &m, e->path, err);
	if (rc == CS_OK && !eof)
		cs_mentions_end(&m, e->path, s);
out:
	if (fd >= 0 && cs_close(&fd, e->path, rc == CS_OK ? err : NULL) != CS_OK && rc == CS_OK)
		rc = err->code;
	free(buf);
	free(out);
	return rc;
}

int cs_stage_rewrite(struct cs_stage *st, struct cs_entry *entries, const int *kinds, size_t n,
		     const struct cs_rw_plan *p, struct cs_rw_stats *s, struct cs_error *err)
{
	struct cs_rw_stats scratch = {0};
	if (!s)
		s = &scratch;
	for (size_t i = 0; i < n; i++) {
		struct cs_entry *e = &entries[i];
		int kind = kinds ? kinds[i] : cs_rw_kind(e);
		int pfd;
		const char *base;
		if (kind == CS_RW_NONE || e->type != CS_ENTRY_FILE)
			continue;
		int rc = cs_stage_parent(st, e->path, &pfd, &base, err);
		if (rc == CS_OK)
			rc = rewrite_at(pfd, base, e, kind, p, s, err);
		if (rc != CS_OK)
			return rc;
	}
	return CS_OK;
}
