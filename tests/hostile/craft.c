/* craft.c - the pieces mkhostile builds a hostile backup from: the case model, its manifest
 * text, hand-made tar blocks, and the backup writer (header, key slot, file key, stream). */
#include "craft.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SEQ 42

struct cs_error craft_err;
struct hcase C;
int craft_fixed_owner;

static uint32_t owner_uid(void) { return craft_fixed_owner ? 0 : (uint32_t)getuid(); }
static uint32_t owner_gid(void) { return craft_fixed_owner ? 0 : (uint32_t)getgid(); }

void die(const char *what)
{
	fprintf(stderr, "mkhostile: %s: %s%s%s\n", what, craft_err.path,
		craft_err.path[0] ? ": " : "", craft_err.what);
	exit(99);
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (!p) {
		fprintf(stderr, "mkhostile: out of memory\n");
		exit(99);
	}
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p) {
		fprintf(stderr, "mkhostile: out of memory\n");
		exit(99);
	}
	return p;
}

char *fmt(const char *f, const char *a)
{
	size_t n = strlen(f) + strlen(a) + 1;
	char *p = xcalloc(n, 1);
	snprintf(p, n, f, a);
	return p;
}

/* ---- the case being built ------------------------------------------------------------ */

static struct cs_entry *man_add(const char *path, int type)
{
	if (C.n_man == C.cap_man) {
		C.cap_man = C.cap_man ? C.cap_man * 2 : 64;
		C.man = realloc(C.man, C.cap_man * sizeof *C.man);
		if (!C.man)
			die("realloc");
	}
	struct cs_entry *e = &C.man[C.n_man++];
	memset(e, 0, sizeof *e);
	e->path = xstrdup(path);
	e->type = type;
	e->mode = type == CS_ENTRY_DIR ? 0700 : 0600;
	e->uid = owner_uid();
	e->gid = owner_gid();
	e->mtime_sec = 1700000000;
	e->mtime_nsec = 123456789;
	return e;
}

struct member *tar_add(const char *name, int kind)
{
	if (C.n_tar == C.cap_tar) {
		C.cap_tar = C.cap_tar ? C.cap_tar * 2 : 64;
		C.tar = realloc(C.tar, C.cap_tar * sizeof *C.tar);
		if (!C.tar)
			die("realloc");
	}
	struct member *m = &C.tar[C.n_tar++];
	memset(m, 0, sizeof *m);
	m->name = xstrdup(name);
	m->kind = kind;
	m->size = -1;
	return m;
}

struct cs_entry *FB(const char *path, const unsigned char *data, size_t n)
{
	struct cs_entry *e = man_add(path, CS_ENTRY_FILE);
	e->size = n;
	crypto_generichash(e->hash, sizeof e->hash, data, n, NULL, 0);
	struct member *m = tar_add(path, M_FILE);
	m->data = data;
	m->dlen = n;
	return e;
}

struct cs_entry *F(const char *path, const char *content)
{
	return FB(path, (const unsigned char *)content, strlen(content));
}

struct cs_entry *D(const char *path)
{
	man_add(path, CS_ENTRY_DIR);
	tar_add(path, M_DIR);
	return &C.man[C.n_man - 1];
}

struct cs_entry *L(const char *path, const char *target)
{
	struct cs_entry *e = man_add(path, CS_ENTRY_SYMLINK);
	e->target = xstrdup(target);
	tar_add(path, M_SYMLINK)->link = xstrdup(target);
	return e;
}

struct cs_entry *H(const char *path, const char *target)
{
	struct cs_entry *e = man_add(path, CS_ENTRY_HARDLINK);
	e->target = xstrdup(target);
	tar_add(path, M_HARDLINK)->link = xstrdup(target);
	return e;
}

struct member *last_member(void)
{
	return &C.tar[C.n_tar - 1];
}

/* ---- manifest text ------------------------------------------------------------------- */

static void info_fill(struct cs_snapshot_info *info, const unsigned char *vault_id)
{
	(void)vault_id;
	memset(info, 0, sizeof *info);
	info->seq = SEQ;
	info->started_sec = 1700000000;
	info->finished_sec = 1700000001;
	snprintf(info->state_dir, sizeof info->state_dir, "/home/alice/.openclaw");
	snprintf(info->home, sizeof info->home, "/home/alice");
	snprintf(info->layout, sizeof info->layout, "host");
	snprintf(info->tool_version, sizeof info->tool_version, "%s", CS_VERSION_STRING);
	info->format = CS_BACKUP_FORMAT;
	info->uid = owner_uid();
	info->gid = owner_gid();
	info->root_mode = 0700;
	for (size_t i = 0; i < C.n_man; i++) {
		if (C.man[i].type == CS_ENTRY_FILE) {
			info->files++;
			info->bytes += C.man[i].size;
			if (info->bytes > SAFE_MAX || info->bytes < C.man[i].size)
				info->bytes = SAFE_MAX;
		}
	}
}

void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			die("realloc");
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Replace the value of "key": in line (up to the next ',' or '}') by value. */
static char *patch_field(char *line, const char *key, const char *value)
{
	char pat[80];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	char *at = strstr(line, pat);
	if (!at)
		return line;
	char *v = at + strlen(pat);
	char *end = v;
	int depth = 0;
	while (*end && !(depth == 0 && (*end == ',' || *end == '}'))) {
		if (*end == '{')
			depth++;
		if (*end == '}')
			depth--;
		end++;
	}
	struct buf b = {0};
	buf_add(&b, line, (size_t)(v - line));
	buf_add(&b, value, strlen(value));
	buf_add(&b, end, strlen(end));
	free(line);
	return b.p;
}

static char *manifest_text(const unsigned char *vault_id, size_t *len)
{
	struct cs_snapshot_info info;
	struct buf b = {0};
	char *line = NULL;
	size_t n = 0;
	if (C.raw_manifest) {
		*len = strlen(C.raw_manifest);
		return xstrdup(C.raw_manifest);
	}
	info_fill(&info, vault_id);
	uint64_t entries = C.entries >= 0 ? (uint64_t)C.entries : C.n_man;
	if (cs_manifest_header_line(&info, vault_id, entries, &line, &n, &craft_err) != CS_OK)
		die("manifest header");
	if (C.header_patch) {
		/* "key=value;key=value" */
		char *spec = xstrdup(C.header_patch);
		for (char *tok = strtok(spec, ";"); tok; tok = strtok(NULL, ";")) {
			char *eq = strchr(tok, '=');
			*eq = '\0';
			line = patch_field(line, tok, eq + 1);
		}
		free(spec);
		n = strlen(line);
	}
	buf_add(&b, line, n);
	free(line);
	for (size_t i = 0; i < C.n_man; i++) {
		if (cs_manifest_entry_line(&C.man[i], &line, &n, &craft_err) != CS_OK)
			die("manifest entry");
		buf_add(&b, line, n);
		free(line);
	}
	if (C.extra_lines)
		buf_add(&b, C.extra_lines, strlen(C.extra_lines));
	if (C.flip_find) {
		char *at = strstr(b.p, C.flip_find);
		if (!at || (size_t)(at - b.p) + C.flip_at >= b.len) {
			fprintf(stderr, "mkhostile: \"%s\" not in the manifest\n", C.flip_find);
			exit(99);
		}
		at[C.flip_at] ^= (char)C.flip_bit;
	}
	*len = b.len;
	return b.p;
}

/* ---- writing ------------------------------------------------------------------------- */

struct sink {
	struct cs_bstream_writer *w;
};

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	(void)a;
	if (cs_bstream_write(s->w, buf, len, &craft_err) != CS_OK)
		return -1;
	return (la_ssize_t)len;
}

/* A ustar header block for a regular file with a size that needs base-256. */
static void raw_header(unsigned char blk[512], const char *name, unsigned long long size)
{
	memset(blk, 0, 512);
	snprintf((char *)blk, 100, "%s", name);
	snprintf((char *)blk + 100, 8, "%07o", 0600);
	snprintf((char *)blk + 108, 8, "%07o", 0);
	snprintf((char *)blk + 116, 8, "%07o", 0);
	/* size: base-256 (GNU/star), first byte 0x80 */
	blk[124] = 0x80;
	for (int i = 0; i < 8; i++)
		blk[135 - i] = (unsigned char)(size >> (8 * i));
	snprintf((char *)blk + 136, 12, "%011o", 1700000000);
	blk[156] = '0';
	memcpy(blk + 257, "ustar", 6);
	memcpy(blk + 263, "00", 2);
	memset(blk + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	blk[155] = ' ';
}

/* A pax extended header ('x') of size bytes: one "comment" record, then the
 * stream stops (the member it describes never comes). */
static void raw_pax(struct sink *s, long long size)
{
	unsigned char blk[512];
	raw_header(blk, "PaxHeader/big", (unsigned long long)size);
	blk[156] = 'x';
	memset(blk + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	blk[155] = ' ';
	if (cs_bstream_write(s->w, blk, sizeof blk, &craft_err) != CS_OK)
		die("raw pax");
	char rec[64];
	int n = snprintf(rec, sizeof rec, "%lld comment=", size);
	/* the record's own length prefix counts itself: close enough for a reader
	 * that must refuse the size before looking at the text */
	if (cs_bstream_write(s->w, rec, (size_t)n, &craft_err) != CS_OK)
		die("raw pax");
	static unsigned char fill[1 << 16];
	memset(fill, 'x', sizeof fill);
	for (long long left = size - n; left > 0; left -= (long long)sizeof fill) {
		size_t k = left < (long long)sizeof fill ? (size_t)left : sizeof fill;
		if (cs_bstream_write(s->w, fill, k, &craft_err) != CS_OK)
			die("raw pax");
	}
}

static void write_members(struct archive *a, struct sink *s)
{
	struct archive_entry *ae = archive_entry_new();
	for (size_t i = 0; i < C.n_tar; i++) {
		const struct member *m = &C.tar[i];
		if (C.raw_pax_size && i == 1) {
			if (archive_write_finish_entry(a) < ARCHIVE_WARN)
				die("finish entry");
			raw_pax(s, C.raw_pax_size);
			archive_entry_free(ae);
			return;
		}
		if (C.raw_huge_member && i == 1) {
			/* Hand-made: libarchive would pad the member to its size. */
			unsigned char blk[512];
			if (archive_write_finish_entry(a) < ARCHIVE_WARN)
				die("finish entry");
			raw_header(blk, m->name, (unsigned long long)m->size);
			if (cs_bstream_write(s->w, blk, sizeof blk, &craft_err) != CS_OK)
				die("raw member");
			static const unsigned char zeros[4096];
			if (cs_bstream_write(s->w, zeros, sizeof zeros, &craft_err) != CS_OK)
				die("raw member");
			archive_entry_free(ae);
			return; /* the stream ends inside the member */
		}
		archive_entry_clear(ae);
		archive_entry_copy_pathname(ae, m->name);
		archive_entry_set_perm(ae, m->kind == M_DIR ? 0700 : 0600);
		archive_entry_set_mtime(ae, 1700000000, 123456789);
		long long size = m->size >= 0 ? m->size : (long long)m->dlen;
		switch (m->kind) {
		case M_FILE: archive_entry_set_filetype(ae, AE_IFREG); break;
		case M_DIR: archive_entry_set_filetype(ae, AE_IFDIR); break;
		case M_SYMLINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_copy_symlink(ae, m->link);
			break;
		case M_HARDLINK:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_copy_hardlink(ae, m->link);
			break;
		case M_FIFO: archive_entry_set_filetype(ae, AE_IFIFO); break;
		case M_CHR:
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdev(ae, makedev(1, 3)); /* /dev/null */
			break;
		case M_BLK:
			archive_entry_set_filetype(ae, AE_IFBLK);
			archive_entry_set_rdev(ae, makedev(7, 0));
			break;
		case M_SOCK: archive_entry_set_filetype(ae, AE_IFSOCK); break;
		}
		archive_entry_set_size(ae, size);
		if (archive_write_header(a, ae) < ARCHIVE_WARN) {
			fprintf(stderr, "mkhostile: tar header %s: %s\n", m->name,
				archive_error_string(a));
			exit(99);
		}
		if (m->dlen && archive_write_data(a, m->data, m->dlen) < 0) {
			fprintf(stderr, "mkhostile: tar data %s: %s\n", m->name,
				archive_error_string(a));
			exit(99);
		}
	}
	archive_entry_free(ae);
}

void write_backup(const char *keyfile, const char *out)
{
	struct cs_cred *cred = NULL;
	struct cs_master *m = cs_master_new();
	struct cs_bheader *h = xcalloc(1, sizeof *h);
	unsigned char fk[CS_KEY_BYTES];
	struct sink s = {NULL};
	int kfd = open(keyfile, O_RDONLY | O_CLOEXEC);
	if (kfd < 0 || !m) {
		perror(keyfile);
		exit(99);
	}
	if (cs_cred_read_fd(CS_CRED_KEYFILE, kfd, keyfile, &cred, &craft_err) != CS_OK)
		die("key file");
	close(kfd);
	cs_master_generate(m);
	randombytes_buf(h->vault_id, sizeof h->vault_id);
	h->seq = SEQ;
	h->created = 1700000002;
	h->epoch = 1;
	h->n_slots = 1 + C.n_absurd;
	/* passphrase slots at the cheapest preset: only their parameters matter */
	if (cs_slot_create(h->vault_id, 1, C.slot1 ? C.slot1 : cred, CS_KDF_INTERACTIVE, m,
			   &h->slots[0], &craft_err) != CS_OK)
		die("slot");
	if (C.slot1_ops || C.slot1_mem) {
		h->slots[0].opslimit = C.slot1_ops;
		h->slots[0].memlimit = C.slot1_mem;
	}
	for (size_t i = 0; i < C.n_absurd; i++) {
		struct cs_slot *sl = &h->slots[1 + i];
		if (!C.pass || cs_slot_create(h->vault_id, (uint32_t)(2 + i), C.pass,
					      CS_KDF_INTERACTIVE, m, sl, &craft_err) != CS_OK)
			die("absurd slot");
		sl->opslimit = C.absurd[i].ops;
		sl->memlimit = C.absurd[i].mem;
	}
	randombytes_buf(fk, sizeof fk);
	crypto_box_seal(h->sealed_key, fk, sizeof fk, m->pk);

	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(out);
		exit(99);
	}
	if (cs_bstream_writer_new(fd, out, fk, h->ss_header, &s.w, &craft_err) != CS_OK ||
	    cs_bheader_encode(h, &craft_err) != CS_OK ||
	    cs_bstream_writer_begin(s.w, h->raw, h->len, &craft_err) != CS_OK)
		die("stream");

	size_t mlen = 0;
	char *mtext = manifest_text(h->vault_id, &mlen);
	if (C.cut_newline && mlen > 0 && mtext[mlen - 1] == '\n')
		mtext[--mlen] = '\0';
	if (C.cut_bytes && C.cut_bytes < mlen)
		C.manifest_size = (long long)(mlen - C.cut_bytes);
	struct archive *a = archive_write_new();
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    /* unblocked when a hand-made member follows libarchive's output directly */
	    ((C.raw_huge_member || C.raw_pax_size) &&
	     archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK) ||
	    archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK)
		die("archive");
	if (C.raw_huge_member && C.manifest_size >= 0) {
		/* A manifest member claiming more than the cap: by hand, then the
		 * stream just ends. */
		unsigned char blk[512];
		raw_header(blk, CS_MANIFEST_NAME, (unsigned long long)C.manifest_size);
		if (cs_bstream_write(s.w, blk, sizeof blk, &craft_err) != CS_OK ||
		    cs_bstream_write(s.w, mtext, mlen, &craft_err) != CS_OK)
			die("raw manifest");
	} else {
		if (!C.no_manifest) {
			struct archive_entry *ae = archive_entry_new();
			archive_entry_copy_pathname(ae, CS_MANIFEST_NAME);
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0600);
			archive_entry_set_size(ae, C.manifest_size >= 0 ? C.manifest_size
									 : (long long)mlen);
			if (archive_write_header(a, ae) < ARCHIVE_WARN)
				die("manifest header");
			size_t put = C.manifest_size >= 0 && (size_t)C.manifest_size < mlen
					     ? (size_t)C.manifest_size
					     : mlen;
			if (archive_write_data(a, mtext, put) < 0)
				die("manifest data");
			archive_entry_free(ae);
		}
		write_members(a, &s);
		/* A hand-made member has no tar end: the stream stops inside it. */
		if (!C.raw_huge_member && !C.raw_pax_size && archive_write_close(a) != ARCHIVE_OK)
			die("archive close");
	}
	archive_write_free(a);
	if (cs_bstream_writer_close(s.w, &craft_err) != CS_OK)
		die("stream close");
	cs_bstream_writer_free(s.w);
	if (fsync(fd) < 0 || close(fd) < 0) {
		perror(out);
		exit(99);
	}
	free(mtext);
	free(h);
	cs_master_free(m);
	cs_cred_free(cred);
}
