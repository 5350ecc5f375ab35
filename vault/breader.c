/* breader.c - read a backup file: header and key slots, the decrypted stream,
 * the tar's manifest, then each member checked against its manifest entry. */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RBUF (64u << 10)

struct cs_breader {
	char name[4096];
	struct cs_bheader *hdr;
	struct cs_bstream_reader *bs;
	struct archive *a;
	unsigned char *rbuf;       /* handed to libarchive by read_cb */
	unsigned char *scratch;    /* content nobody asked for, read to be checked */
	int cb_rc;                 /* an error of ours that read_cb hit */
	struct cs_error cb_err;
	int failed;                /* sticky: a failed reader stays failed */

	struct cs_snapshot_info info;
	unsigned char vault_id[CS_VAULT_ID_BYTES];
	struct cs_entry *entries;
	size_t n, cap;
	uint64_t n_expected;       /* "entries" of the manifest header */

	size_t next;               /* index the next cs_breader_next must ask for */
	bool in_member;            /* entries[next - 1] is the current member */
	bool checked;              /* its content hash was compared */
	uint64_t remaining;        /* content bytes of the current file not yet read */
	cs_hash_state hs;
};

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct cs_breader *r = ctx;
	size_t got = 0;
	*buf = r->rbuf;
	if (r->cb_rc != CS_OK)
		return -1;
	int rc = cs_bstream_read(r->bs, r->rbuf, RBUF, &got, &r->cb_err);
	if (rc != CS_OK) {
		r->cb_rc = rc;
		archive_set_error(a, EIO, "%s", r->cb_err.what);
		return -1;
	}
	return (la_ssize_t)got;
}

static int fail(struct cs_breader *r, int rc)
{
	if (rc != CS_OK && !r->failed)
		r->failed = rc;
	return rc;
}

/* A libarchive failure: our own stream error when that was the cause. */
static int ar_fail(struct cs_breader *r, const char *path, const char *what,
		   struct cs_error *err)
{
	if (r->cb_rc != CS_OK) {
		if (err)
			*err = r->cb_err;
		return fail(r, r->cb_rc);
	}
	const char *why = archive_error_string(r->a);
	return fail(r, cs_err_set(err, CS_ERR_CORRUPT, path ? path : r->name, "%s: %s", what,
				  why ? why : "tar error"));
}

static int disagree(struct cs_breader *r, struct cs_error *err, const struct cs_entry *e,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int disagree(struct cs_breader *r, struct cs_error *err, const struct cs_entry *e,
		    const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return fail(r, cs_err_set(err, CS_ERR_CORRUPT, e->path,
				  "manifest and archive disagree: %s", why));
}

/* ---- the manifest member ---- */

static int add_line(struct cs_breader *r, const char *line, size_t len, uint64_t lineno,
		    struct cs_error *err)
{
	int rc;
	if (lineno == 1) {
		if ((rc = cs_manifest_parse_header(line, len, &r->info, r->vault_id, &r->n_expected,
						   err)) != CS_OK)
			return rc;
		if (sodium_memcmp(r->vault_id, r->hdr->vault_id, CS_VAULT_ID_BYTES) != 0)
			return cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME,
					  "line 1: manifest names another vault than the header");
		if (r->info.seq != r->hdr->seq)
			return cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME,
					  "line 1: manifest is snapshot %llu, header says %llu",
					  (unsigned long long)r->info.seq,
					  (unsigned long long)r->hdr->seq);
		return CS_OK;
	}
	if (r->n >= r->n_expected)
		return cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME,
				  "line %llu: more entry lines than the %llu the header gives",
				  (unsigned long long)lineno, (unsigned long long)r->n_expected);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		if (cap > r->n_expected)
			cap = (size_t)r->n_expected;
		struct cs_entry *ne = realloc(r->entries, cap * sizeof *ne);
		if (!ne)
			return cs_err_set(err, CS_ERR_NOMEM, CS_MANIFEST_NAME, "out of memory");
		r->entries = ne;
		r->cap = cap;
	}
	if ((rc = cs_manifest_parse_entry(line, len, lineno, &r->entries[r->n], err)) != CS_OK)
		return rc;
	r->n++;
	return CS_OK;
}

static int read_manifest(struct cs_breader *r, struct cs_error *err)
{
	int rc = CS_OK;
	struct archive_entry *ae = NULL;
	char *line = NULL, *chunk = NULL;
	size_t llen = 0, lcap = 0;
	uint64_t lineno = 0, total = 0;

	int ret = archive_read_next_header(r->a, &ae);
	if (ret == ARCHIVE_EOF) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, r->name, "backup holds no manifest");
		goto out;
	}
	if (ret < ARCHIVE_WARN) {
		rc = ar_fail(r, NULL, "reading the manifest", err);
		goto out;
	}
	const char *mname = archive_entry_pathname(ae);
	if (!mname || strcmp(mname, CS_MANIFEST_NAME) != 0 ||
	    archive_entry_filetype(ae) != AE_IFREG || archive_entry_hardlink(ae)) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, r->name,
				"first member is not the manifest " CS_MANIFEST_NAME);
		goto out;
	}
	if (!archive_entry_size_is_set(ae) || archive_entry_size(ae) < 0 ||
	    (uint64_t)archive_entry_size(ae) > CS_CAP_MANIFEST) {
		rc = cs_err_set(err, CS_ERR_HOSTILE, CS_MANIFEST_NAME,
				"manifest size missing or above %llu MiB",
				(unsigned long long)(CS_CAP_MANIFEST >> 20));
		goto out;
	}
	uint64_t msize = (uint64_t)archive_entry_size(ae);
	if (!(chunk = malloc(RBUF))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, r->name, "out of memory");
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(r->a, chunk, RBUF);
		if (n < 0) {
			rc = ar_fail(r, CS_MANIFEST_NAME, "reading the manifest", err);
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		const char *p = chunk, *end = chunk + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t seg = (size_t)((nl ? nl + 1 : end) - p);
			if (llen + seg > CS_MANIFEST_LINE_MAX) {
				rc = cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME,
						"line %llu longer than %u MiB",
						(unsigned long long)lineno + 1,
						CS_MANIFEST_LINE_MAX >> 20);
				goto out;
			}
			if (llen + seg > lcap) {
				size_t ncap = lcap ? lcap : 4096;
				while (ncap < llen + seg)
					ncap *= 2;
				char *nb = realloc(line, ncap);
				if (!nb) {
					rc = cs_err_set(err, CS_ERR_NOMEM, r->name, "out of memory");
					goto out;
				}
				line = nb;
				lcap = ncap;
			}
			memcpy(line + llen, p, seg);
			llen += seg;
			p += seg;
			if (nl) {
				if ((rc = add_line(r, line, llen, ++lineno, err)) != CS_OK)
					goto out;
				llen = 0;
			}
		}
	}
	if (total != msize) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME, "manifest truncated");
		goto out;
	}
	if (llen > 0) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME,
				"line %llu: no newline at the end of the manifest",
				(unsigned long long)lineno + 1);
		goto out;
	}
	if (lineno == 0) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME, "empty manifest");
		goto out;
	}
	if (r->n != r->n_expected) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, CS_MANIFEST_NAME,
				"manifest ends after %zu of %llu entries", r->n,
				(unsigned long long)r->n_expected);
		goto out;
	}
out:
	free(chunk);
	free(line);
	return rc;
}

int cs_breader_open(int fd, const char *name, const struct cs_cred *cred,
		    struct cs_breader **out, struct cs_error *err)
{
	int rc = CS_OK;
	unsigned char *fk = NULL;
	struct cs_breader *r = calloc(1, sizeof *r);
	*out = NULL;
	if (!r)
		return cs_err_set(err, CS_ERR_NOMEM, name, "out of memory");
	snprintf(r->name, sizeof r->name, "%s", name ? name : "-");
	if (!(r->hdr = malloc(sizeof *r->hdr)) || !(r->rbuf = malloc(RBUF)) ||
	    !(r->scratch = malloc(RBUF)) ||
	    !(fk = cs_secret_alloc(CS_KEY_BYTES))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, r->name, "out of memory");
		goto out;
	}
	if ((rc = cs_bheader_read(fd, r->name, r->hdr, err)) != CS_OK)
		goto out;
	if ((rc = cs_bheader_unlock(r->hdr, cred, r->name, fk, err)) != CS_OK)
		goto out;
	if ((rc = cs_bstream_reader_new(fd, r->name, fk, r->hdr->ss_header, r->hdr->raw,
					r->hdr->len, &r->bs, err)) != CS_OK)
		goto out;
	if (!(r->a = archive_read_new())) {
		rc = cs_err_set(err, CS_ERR_NOMEM, r->name, "out of memory");
		goto out;
	}
	/* tar only, no filters: the stream is already decompressed and
	 * nothing else may be parsed from an input we did not write. */
	if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
	    archive_read_open(r->a, r, NULL, read_cb, NULL) != ARCHIVE_OK) {
		rc = ar_fail(r, NULL, "opening the tar stream", err);
		goto out;
	}
	if ((rc = read_manifest(r, err)) != CS_OK)
		goto out;
	*out = r;
	r = NULL;
out:
	cs_secret_free(fk);
	cs_breader_free(r);
	return rc;
}

void cs_breader_manifest(struct cs_breader *r, const struct cs_entry **entries, size_t *n,
			 const struct cs_snapshot_info **info)
{
	if (entries)
		*entries = r->entries;
	if (n)
		*n = r->n;
	if (info)
		*info = &r->info;
}

/* ---- members ---- */

static int member_type(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae))
		return CS_ENTRY_HARDLINK;
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG: return CS_ENTRY_FILE;
	case AE_IFDIR: return CS_ENTRY_DIR;
	case AE_IFLNK: return CS_ENTRY_SYMLINK;
	default: return 0;
	}
}

static const char *type_word(int t)
{
	static const char *const w[] = {"special file", "file", "directory", "symlink",
					"hardlink"};
	return t >= 0 && t <= CS_ENTRY_HARDLINK ? w[t] : "unknown";
}

int cs_breader_read(void *ctx, void *buf, size_t cap, size_t *got, struct cs_error *err)
{
	struct cs_breader *r = ctx;
	*got = 0;
	if (r->failed)
		return cs_err_set(err, r->failed, r->name, "backup reader failed earlier");
	if (!r->in_member)
		return CS_OK;
	const struct cs_entry *e = &r->entries[r->next - 1];
	if (e->type != CS_ENTRY_FILE)
		return CS_OK;
	if (r->remaining == 0) {
		if (!r->checked) {
			unsigned char h[CS_HASH_BYTES];
			r->checked = true;
			cs_hash_final(&r->hs, h);
			if (sodium_memcmp(h, e->hash, CS_HASH_BYTES) != 0)
				return fail(r, cs_err_set(err, CS_ERR_CORRUPT, e->path,
							  "content hash mismatch"));
		}
		return CS_OK;
	}
	size_t want = cap < r->remaining ? cap : (size_t)r->remaining;
	la_ssize_t n = archive_read_data(r->a, buf, want);
	if (n < 0)
		return ar_fail(r, e->path, "reading content", err);
	if (n == 0)
		return fail(r, cs_err_set(err, CS_ERR_CORRUPT, e->path,
					  "member ends %llu bytes early",
					  (unsigned long long)r->remaining));
	cs_hash_update(&r->hs, buf, (size_t)n);
	r->remaining -= (uint64_t)n;
	*got = (size_t)n;
	return CS_OK;
}

/* Read the rest of the current member (a caller may stop early) and check it. */
static int member_end(struct cs_breader *r, struct cs_error *err)
{
	int rc;
	size_t got;
	if (!r->in_member)
		return CS_OK;
	do {
		if ((rc = cs_breader_read(r, r->scratch, RBUF, &got, err)) != CS_OK)
			return rc;
	} while (got > 0);
	r->in_member = false;
	return CS_OK;
}

int cs_breader_next(struct cs_breader *r, size_t i, struct cs_error *err)
{
	int rc;
	struct archive_entry *ae = NULL;
	if (r->failed)
		return cs_err_set(err, r->failed, r->name, "backup reader failed earlier");
	if ((rc = member_end(r, err)) != CS_OK)
		return rc;
	if (i != r->next || i >= r->n)
		return cs_err_set(err, CS_ERR_USAGE, r->name, "entry %zu asked for out of order", i);
	const struct cs_entry *e = &r->entries[i];
	int ret = archive_read_next_header(r->a, &ae);
	if (ret == ARCHIVE_EOF)
		return fail(r, cs_err_set(err, CS_ERR_CORRUPT, e->path,
					  "backup ends before this entry's member"));
	/* ARCHIVE_WARN: a name libarchive could not convert; its bytes are kept. */
	if (ret < ARCHIVE_WARN)
		return ar_fail(r, e->path, "reading the next member", err);

	const char *name = archive_entry_pathname(ae);
	int type = member_type(ae);
	size_t nlen = name ? strlen(name) : 0;
	int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
	if (type == CS_ENTRY_DIR && nlen > 1 && name[nlen - 1] == '/')
		nlen--;
	if (!name || nlen != strlen(e->path) || memcmp(name, e->path, nlen) != 0)
		rc = disagree(r, err, e, "member %zu is \"%.80s\"", i + 1, name ? name : "(no name)");
	else if (type == 0)
		rc = fail(r, cs_err_set(err, CS_ERR_HOSTILE, e->path,
					"member is a device, fifo or socket"));
	else if (type != e->type)
		rc = disagree(r, err, e, "member is a %s, manifest says %s", type_word(type),
			      type_word(e->type));
	else if (type == CS_ENTRY_FILE && (size < 0 || (uint64_t)size != e->size))
		rc = fail(r, cs_err_set(err, CS_ERR_HOSTILE, e->path,
					"member size %lld differs from the manifest's %llu",
					(long long)size, (unsigned long long)e->size));
	else if (type != CS_ENTRY_FILE && size > 0)
		rc = fail(r, cs_err_set(err, CS_ERR_HOSTILE, e->path,
					"%s member carries %lld bytes", type_word(type),
					(long long)size));
	else if (type == CS_ENTRY_SYMLINK &&
		 (!archive_entry_symlink(ae) || strcmp(archive_entry_symlink(ae), e->target) != 0))
		rc = disagree(r, err, e, "symlink targets differ");
	else if (type == CS_ENTRY_HARDLINK && strcmp(archive_entry_hardlink(ae), e->target) != 0)
		rc = disagree(r, err, e, "hardlink targets differ");
	if (rc != CS_OK)
		return rc;
	r->next = i + 1;
	r->in_member = true;
	r->checked = false;
	r->remaining = type == CS_ENTRY_FILE ? e->size : 0;
	cs_hash_init(&r->hs);
	return CS_OK;
}

int cs_breader_finish(struct cs_breader *r, struct cs_error *err)
{
	int rc;
	size_t got = 0;
	struct archive_entry *ae = NULL;
	if (r->failed)
		return cs_err_set(err, r->failed, r->name, "backup reader failed earlier");
	if ((rc = member_end(r, err)) != CS_OK)
		return rc;
	if (r->next != r->n)
		return cs_err_set(err, CS_ERR_USAGE, r->name, "finish after %zu of %zu entries",
				  r->next, r->n);
	int ret = archive_read_next_header(r->a, &ae);
	if (ret == ARCHIVE_OK || ret == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(ae);
		return fail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
					  "member \"%.80s\" after the last manifest entry",
					  name ? name : "(no name)"));
	}
	if (ret != ARCHIVE_EOF)
		return ar_fail(r, NULL, "reading the end of the tar", err);
	/* What follows the tar's end blocks is the writer's block padding; the
	 * stream must then end exactly at its FINAL message. */
	do {
		if ((rc = cs_bstream_read(r->bs, r->scratch, RBUF, &got, err)) != CS_OK)
			return fail(r, rc);
		for (size_t k = 0; k < got; k++)
			if (r->scratch[k] != 0)
				return fail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
							  "data after the end of the tar archive"));
	} while (got > 0);
	return CS_OK;
}

void cs_breader_free(struct cs_breader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	cs_bstream_reader_free(r->bs);
	for (size_t i = 0; i < r->n; i++)
		cs_entry_free(&r->entries[i]);
	free(r->entries);
	free(r->hdr);
	if (r->rbuf)
		sodium_memzero(r->rbuf, RBUF);
	free(r->rbuf);
	if (r->scratch)
		sodium_memzero(r->scratch, RBUF);
	free(r->scratch);
	free(r);
}
