/* test_backup.c - the backup file: header checks in order, the encrypted
 * stream (round trip, truncation, bit flips, pipes), manifest lines, the
 * reader against crafted archives, and a full vault -> backup -> verify run. */
#include "internal.h"
#include "check.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static char root[] = "/tmp/cs-backup-XXXXXX";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool has(const char *s, const char *sub)
{
	return strstr(s, sub) != NULL;
}

/* An anonymous file holding len bytes, positioned at 0. */
static int mem_fd(const void *data, size_t len)
{
	int fd = memfd_create("cs-test", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static unsigned char *fd_bytes(int fd, size_t *len)
{
	struct stat st;
	fstat(fd, &st);
	unsigned char *b = malloc((size_t)st.st_size + 1);
	if (pread(fd, b, (size_t)st.st_size, 0) != st.st_size)
		abort();
	*len = (size_t)st.st_size;
	return b;
}

/* A pipe fed by a child in small, uneven writes, so the reader sees short reads. */
static int pipe_from(const unsigned char *data, size_t len)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		size_t off = 0, step = 1;
		while (off < len) {
			size_t n = len - off < step ? len - off : step;
			if (write(p[1], data + off, n) != (ssize_t)n)
				_exit(1);
			off += n;
			step = step * 7 % 9973 + 1;
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* ---- a key-file credential and a header built around it ---- */

static struct cs_master *master;
static struct cs_cred *kcred, *kcred_other, *pcred;
static unsigned char vault_id[CS_VAULT_ID_BYTES];

static void setup_keys(void)
{
	unsigned char k[32];
	master = cs_master_new();
	cs_master_generate(master);
	randombytes_buf(vault_id, sizeof vault_id);
	randombytes_buf(k, sizeof k);
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, k, sizeof k, &kcred, &check_err));
	randombytes_buf(k, sizeof k);
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, k, sizeof k, &kcred_other, &check_err));
	CHECK_OK(cs_cred_from_buffer(CS_CRED_PASSPHRASE, "hunter2", 7, &pcred, &check_err));
}

/* A header with two key-file slots (kcred opens the second) and the file key
 * sealed to master. */
static void make_header(struct cs_bheader *h, const unsigned char fk[32])
{
	struct cs_master *decoy = cs_master_new();
	cs_master_generate(decoy);
	memset(h, 0, sizeof *h);
	memcpy(h->vault_id, vault_id, sizeof vault_id);
	h->seq = 7;
	h->created = 1700000000;
	h->epoch = 1;
	h->n_slots = 2;
	CHECK_OK(cs_slot_create(vault_id, 1, kcred_other, 0, decoy, &h->slots[0], &check_err));
	CHECK_OK(cs_slot_create(vault_id, 2, kcred, 0, master, &h->slots[1], &check_err));
	crypto_box_seal(h->sealed_key, fk, 32, master->pk);
	randombytes_buf(h->ss_header, sizeof h->ss_header);
	CHECK_OK(cs_bheader_encode(h, &check_err));
	cs_master_free(decoy);
}

static void rechecksum(unsigned char *raw, size_t len)
{
	crypto_generichash(raw + len - 32, 32, raw, len - 32, NULL, 0);
}

static void test_header(void)
{
	unsigned char fk[32], got_fk[32];
	struct cs_bheader *h = malloc(sizeof *h), *p = malloc(sizeof *p);
	unsigned char *raw = malloc(CS_BHEADER_CAP);
	randombytes_buf(fk, sizeof fk);
	make_header(h, fk);

	CHECK(h->len == cs_bheader_size(2));
	CHECK(h->len == 53 + 2 * CS_SLOT_ENCODED_BYTES + 80 + 24 + 32);
	CHECK(memcmp(h->raw, "CLAWSTB\0", 8) == 0);
	CHECK(h->raw[8] == 0 && h->raw[9] == 1 && h->raw[52] == 2);

	/* round trip */
	CHECK_OK(cs_bheader_parse(h->raw, h->len, "b", p, &check_err));
	CHECK(p->len == h->len && p->seq == 7 && p->created == 1700000000 && p->epoch == 1);
	CHECK(p->n_slots == 2 && p->slots[1].id == 2 && p->slots[1].kind == CS_CRED_KEYFILE);
	CHECK(memcmp(p->vault_id, vault_id, 16) == 0);
	CHECK(memcmp(p->ss_header, h->ss_header, sizeof h->ss_header) == 0);
	CHECK(memcmp(p->sealed_key, h->sealed_key, sizeof h->sealed_key) == 0);
	CHECK_OK(cs_bheader_unlock(p, kcred, "b", got_fk, &check_err));
	CHECK(memcmp(got_fk, fk, 32) == 0);

	/* through a pipe, with short reads, and nothing read past the header */
	unsigned char both[CS_BHEADER_CAP + 4];
	memcpy(both, h->raw, h->len);
	memcpy(both + h->len, "MORE", 4);
	int fd = pipe_from(both, h->len + 4);
	CHECK_OK(cs_bheader_read(fd, "pipe", p, &check_err));
	char rest[8] = {0};
	CHECK(read(fd, rest, sizeof rest) == 4 && memcmp(rest, "MORE", 4) == 0);
	close(fd);
	reap();

	/* 1: magic */
	memcpy(raw, h->raw, h->len);
	raw[3] ^= 1;
	CHECK_RC(cs_bheader_parse(raw, h->len, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "not a clawstate backup") && strcmp(check_err.path, "b") == 0);
	CHECK_RC(cs_bheader_parse((const unsigned char *)"hello", 5, "b", p, &check_err),
		 CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "not a clawstate backup"));
	fd = mem_fd("", 0);
	CHECK_RC(cs_bheader_read(fd, "empty", p, &check_err), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "not a clawstate backup"));
	close(fd);

	/* 2: version, before the checksum (which this change breaks) */
	memcpy(raw, h->raw, h->len);
	raw[9] = 2;
	CHECK_RC(cs_bheader_parse(raw, h->len, "b", p, &check_err), CS_ERR_VERSION);
	CHECK(has(check_err.what, "backup format version 2 is newer than supported (1)"));

	/* 3: length sanity and checksum */
	memcpy(raw, h->raw, h->len);
	raw[h->len - 1] ^= 0x40;
	CHECK_RC(cs_bheader_parse(raw, h->len, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "header checksum mismatch"));
	memcpy(raw, h->raw, h->len);
	raw[40] ^= 1; /* created */
	CHECK_RC(cs_bheader_parse(raw, h->len, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "header checksum mismatch"));
	memcpy(raw, h->raw, h->len);
	cs_be32(raw + 12, 1u << 20);
	CHECK_RC(cs_bheader_parse(raw, h->len, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "length"));
	CHECK_RC(cs_bheader_parse(h->raw, h->len - 1, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "truncated"));
	memcpy(raw, h->raw, h->len);
	raw[52] = 3; /* slot count that does not fit the length */
	rechecksum(raw, h->len);
	CHECK_RC(cs_bheader_parse(raw, h->len, "b", p, &check_err), CS_ERR_CORRUPT);

	/* 4: slot caps, checked before any derivation */
	struct cs_bheader *q = malloc(sizeof *q);
	memcpy(q, h, sizeof *q);
	q->slots[0].kind = CS_CRED_PASSPHRASE;
	q->slots[0].opslimit = 3;
	q->slots[0].memlimit = 2ULL << 30;
	CHECK_OK(cs_bheader_encode(q, &check_err));
	double t0 = now();
	CHECK_RC(cs_bheader_parse(q->raw, q->len, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(now() - t0 < 0.5);
	CHECK(has(check_err.what, "key slot 1 asks for too much memory"));
	memcpy(q, h, sizeof *q);
	q->slots[1].kind = CS_CRED_PASSPHRASE;
	q->slots[1].opslimit = 1000;
	q->slots[1].memlimit = 1u << 20;
	CHECK_OK(cs_bheader_encode(q, &check_err));
	CHECK_RC(cs_bheader_parse(q->raw, q->len, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "key slot 2 asks for too many passes"));
	memcpy(q, h, sizeof *q);
	q->slots[1].role = 9;
	CHECK_OK(cs_bheader_encode(q, &check_err));
	CHECK_RC(cs_bheader_parse(q->raw, q->len, "b", p, &check_err), CS_ERR_CORRUPT);
	CHECK(strcmp(check_err.path, "b") == 0);

	/* 5: slots */
	CHECK_OK(cs_bheader_parse(h->raw, h->len, "b", p, &check_err));
	struct cs_cred *wrong = NULL;
	unsigned char k[32] = {1};
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, k, sizeof k, &wrong, &check_err));
	CHECK_RC(cs_bheader_unlock(p, wrong, "b", got_fk, &check_err), CS_ERR_KEY);
	CHECK(has(check_err.what, "wrong passphrase or key file"));
	CHECK_RC(cs_bheader_unlock(p, pcred, "b", got_fk, &check_err), CS_ERR_KEY);
	CHECK(has(check_err.what, "wrong passphrase or key file"));
	/* a slot that opens but a sealed key that does not */
	memcpy(q, h, sizeof *q);
	q->sealed_key[5] ^= 1;
	CHECK_OK(cs_bheader_encode(q, &check_err));
	CHECK_OK(cs_bheader_parse(q->raw, q->len, "b", p, &check_err));
	CHECK_RC(cs_bheader_unlock(p, kcred, "b", got_fk, &check_err), CS_ERR_CORRUPT);
	cs_cred_free(wrong);
	free(q);
	free(raw);
	free(h);
	free(p);
}

/* ---- the stream ---- */

static unsigned char *test_data(size_t len)
{
	unsigned char *d = malloc(len);
	randombytes_buf(d, len / 2);
	for (size_t i = len / 2; i < len; i++)
		d[i] = (unsigned char)("clawstate session key "[i % 22] + (i / 4096 % 3));
	return d;
}

/* Write data as a stream (header h in front) to a memfd; return it. */
static int write_stream(const struct cs_bheader *hin, const unsigned char fk[32],
			const unsigned char *data, size_t len, struct cs_bheader *hout)
{
	struct cs_bstream_writer *w = NULL;
	int fd = mem_fd("", 0);
	memcpy(hout, hin, sizeof *hout);
	CHECK_OK(cs_bstream_writer_new(fd, "mem", fk, hout->ss_header, &w, &check_err));
	CHECK_OK(cs_bheader_encode(hout, &check_err));
	CHECK_OK(cs_bstream_writer_begin(w, hout->raw, hout->len, &check_err));
	size_t off = 0, step = 3;
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		CHECK_OK(cs_bstream_write(w, data + off, n, &check_err));
		off += n;
		step = step * 5 % 200003 + 1;
	}
	CHECK_OK(cs_bstream_writer_close(w, &check_err));
	CHECK(cs_bstream_writer_bytes_out(w) == (uint64_t)lseek(fd, 0, SEEK_CUR));
	cs_bstream_writer_free(w);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Read a whole stream from fd (header first); compare to want when given. */
static int read_stream(int fd, const unsigned char fk[32], const unsigned char *want,
		       size_t wlen, size_t cap)
{
	struct cs_bheader *h = malloc(sizeof *h);
	struct cs_bstream_reader *r = NULL;
	unsigned char *buf = malloc(cap);
	size_t total = 0, got = 0;
	int rc = cs_bheader_read(fd, "mem", h, &check_err);
	if (rc == CS_OK)
		rc = cs_bstream_reader_new(fd, "mem", fk, h->ss_header, h->raw, h->len, &r,
					   &check_err);
	while (rc == CS_OK) {
		rc = cs_bstream_read(r, buf, cap, &got, &check_err);
		if (rc != CS_OK || got == 0)
			break;
		if (want && (total + got > wlen || memcmp(want + total, buf, got) != 0)) {
			rc = -1;
			break;
		}
		total += got;
	}
	if (rc == CS_OK && want && total != wlen)
		rc = -2;
	if (rc == CS_OK) { /* the end is sticky */
		rc = cs_bstream_read(r, buf, cap, &got, &check_err);
		if (rc == CS_OK && got != 0)
			rc = -3;
	}
	cs_bstream_reader_free(r);
	free(buf);
	free(h);
	return rc;
}

static int read_bytes(const unsigned char *b, size_t len, const unsigned char fk[32])
{
	int fd = mem_fd(b, len);
	int rc = read_stream(fd, fk, NULL, 0, 65536);
	close(fd);
	return rc;
}

static void test_stream(void)
{
	unsigned char fk[32];
	struct cs_bheader *h = malloc(sizeof *h), *hw = malloc(sizeof *hw);
	size_t len = 5u << 20, flen = 0;
	unsigned char *data = test_data(len);
	randombytes_buf(fk, sizeof fk);
	make_header(h, fk);

	int fd = write_stream(h, fk, data, len, hw);
	unsigned char *file = fd_bytes(fd, &flen);
	size_t body = flen - hw->len;
	size_t cmsg = CS_BSTREAM_MSG + crypto_secretstream_xchacha20poly1305_ABYTES;
	CHECK(flen > hw->len + 2 * cmsg);
	/* random half incompressible, the rest shrinks */
	CHECK(flen < len * 3 / 4);
	CHECK_OK(read_stream(fd, fk, data, len, 65536));
	lseek(fd, 0, SEEK_SET);
	CHECK_OK(read_stream(fd, fk, data, len, 1000003));
	close(fd);

	/* a pipe, fed a few bytes at a time */
	fd = pipe_from(file, flen);
	CHECK_OK(read_stream(fd, fk, data, len, 4096));
	close(fd);
	reap();

	/* every message but the last is full: the last is what is left over */
	CHECK(body > cmsg && (body % cmsg == 0 || body % cmsg >= crypto_secretstream_xchacha20poly1305_ABYTES));

	/* truncation anywhere is caught */
	size_t cuts[] = {hw->len, hw->len + 1, hw->len + 16, hw->len + 17, hw->len + cmsg - 1,
			 hw->len + cmsg, hw->len + cmsg + 1, hw->len + 2 * cmsg, flen / 2,
			 flen - 17, flen - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		CHECK_RC(read_bytes(file, cuts[i], fk), CS_ERR_CORRUPT);
		CHECK(has(check_err.what, "truncated"));
	}
	/* a flipped payload byte: first message, middle, last */
	size_t flips[] = {hw->len + 3, hw->len + cmsg + 100, flen / 2, flen - 5};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		file[flips[i]] ^= 0x10;
		CHECK_RC(read_bytes(file, flen, fk), CS_ERR_CORRUPT);
		file[flips[i]] ^= 0x10;
	}
	CHECK_RC(read_bytes(file, flen, fk), CS_OK); /* restored */
	file[hw->len + cmsg + 100] ^= 1;
	CHECK_RC(read_bytes(file, flen, fk), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "backup stream damaged at message 2"));
	file[hw->len + cmsg + 100] ^= 1;

	/* data after FINAL */
	unsigned char *longer = malloc(flen + 1);
	memcpy(longer, file, flen);
	longer[flen] = 0;
	CHECK_RC(read_bytes(longer, flen + 1, fk), CS_ERR_CORRUPT);
	free(longer);

	/* messages out of order */
	unsigned char *swapped = malloc(flen);
	memcpy(swapped, file, flen);
	memcpy(swapped + hw->len, file + hw->len + cmsg, cmsg);
	memcpy(swapped + hw->len + cmsg, file + hw->len, cmsg);
	CHECK_RC(read_bytes(swapped, flen, fk), CS_ERR_CORRUPT);
	free(swapped);

	/* a header changed but re-checksummed: the first message's AD no longer matches */
	file[40] ^= 1;
	rechecksum(file, hw->len);
	CHECK_RC(read_bytes(file, flen, fk), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "message 1"));
	file[40] ^= 1;
	rechecksum(file, hw->len);
	CHECK_RC(read_bytes(file, flen, fk), CS_OK);

	/* the wrong file key */
	unsigned char fk2[32];
	randombytes_buf(fk2, sizeof fk2);
	CHECK_RC(read_bytes(file, flen, fk2), CS_ERR_CORRUPT);

	/* empty payload and a tiny one */
	fd = write_stream(h, fk, data, 0, hw);
	CHECK_OK(read_stream(fd, fk, data, 0, 100));
	close(fd);
	fd = write_stream(h, fk, (const unsigned char *)"x", 1, hw);
	CHECK_OK(read_stream(fd, fk, (const unsigned char *)"x", 1, 100));
	close(fd);

	/* a payload whose compressed size lands exactly on message boundaries:
	 * random bytes grow by a small, steady overhead, so search near 64 KiB */
	bool exact = false;
	for (size_t n = CS_BSTREAM_MSG; n > CS_BSTREAM_MSG - 4096 && !exact; n--) {
		fd = write_stream(h, fk, data, n, hw);
		struct stat st;
		fstat(fd, &st);
		if ((size_t)st.st_size - hw->len == cmsg) {
			exact = true;
			CHECK_OK(read_stream(fd, fk, data, n, 65536));
			/* a full FINAL message: a byte after it is "data after the end" */
			size_t elen = 0;
			unsigned char *ext = fd_bytes(fd, &elen);
			ext = realloc(ext, elen + 1);
			ext[elen] = 'x';
			CHECK_RC(read_bytes(ext, elen + 1, fk), CS_ERR_CORRUPT);
			CHECK(has(check_err.what, "after the end"));
			CHECK_RC(read_bytes(ext, elen - 1, fk), CS_ERR_CORRUPT);
			free(ext);
		}
		close(fd);
	}
	CHECK(exact);

	free(file);
	free(data);
	free(h);
	free(hw);
}

/* ---- manifest lines ---- */

static void test_manifest(void)
{
	struct cs_entry e, back;
	struct cs_xattr xa[2];
	char *line = NULL;
	size_t len = 0;
	unsigned char val2[3] = {0, 0xff, 7};

	memset(&e, 0, sizeof e);
	e.path = "credentials/whatsapp/default/creds.json";
	e.type = CS_ENTRY_FILE;
	e.mode = 0600;
	e.uid = 1001;
	e.gid = 4294967295u;
	e.mtime_sec = -5;
	e.mtime_nsec = 999999999;
	e.size = 9007199254740991ULL;
	randombytes_buf(e.hash, sizeof e.hash);
	e.cls = CS_CLASS_SECRET;
	e.is_sqlite = 1;
	xa[0].name = "user.note";
	xa[0].value = (unsigned char *)"hello";
	xa[0].len = 5;
	xa[1].name = "user.\xff\xfe";
	xa[1].value = val2;
	xa[1].len = 3;
	e.xattrs = xa;
	e.n_xattrs = 2;
	CHECK_OK(cs_manifest_entry_line(&e, &line, &len, &check_err));
	CHECK(len == strlen(line) && line[len - 1] == '\n' && !memchr(line, '\n', len - 1));
	CHECK(has(line, "\"size\":9007199254740991"));
	CHECK(has(line, "\"blake2b\":\""));
	CHECK_OK(cs_manifest_parse_entry(line, len, 2, &back, &check_err));
	CHECK(strcmp(back.path, e.path) == 0 && back.type == e.type && back.mode == 0600);
	CHECK(back.uid == 1001 && back.gid == 4294967295u && back.mtime_sec == -5);
	CHECK(back.mtime_nsec == 999999999 && back.size == e.size && back.cls == CS_CLASS_SECRET);
	CHECK(back.is_sqlite == 1 && memcmp(back.hash, e.hash, 32) == 0 && !back.target);
	CHECK(back.n_xattrs == 2 && strcmp(back.xattrs[0].name, "user.note") == 0);
	CHECK(back.xattrs[0].len == 5 && memcmp(back.xattrs[0].value, "hello", 5) == 0);
	CHECK(strcmp(back.xattrs[1].name, "user.\xff\xfe") == 0 && back.xattrs[1].len == 3 &&
	      memcmp(back.xattrs[1].value, val2, 3) == 0);
	cs_entry_free(&back);
	free(line);

	/* non-UTF-8 path and target go in base64 */
	memset(&e, 0, sizeof e);
	e.path = "media/caf\xe9.lnk";
	e.type = CS_ENTRY_SYMLINK;
	e.mode = 0777;
	e.target = "../x\x80y";
	CHECK_OK(cs_manifest_entry_line(&e, &line, &len, &check_err));
	CHECK(has(line, "\"path_b64\":") && has(line, "\"target_b64\":") && !has(line, "\"path\":"));
	CHECK(!has(line, "blake2b"));
	CHECK_OK(cs_manifest_parse_entry(line, len, 3, &back, &check_err));
	CHECK(strcmp(back.path, e.path) == 0 && strcmp(back.target, e.target) == 0);
	CHECK(back.type == CS_ENTRY_SYMLINK && back.n_xattrs == 0);
	cs_entry_free(&back);
	free(line);

	/* valid UTF-8 stays readable; JSON escapes survive */
	e.path = "workspace/\xc3\xa9t\xc3\xa9 \"q\"\\\n";
	e.target = "t";
	CHECK_OK(cs_manifest_entry_line(&e, &line, &len, &check_err));
	CHECK(has(line, "\"path\":\"workspace/\xc3\xa9t\xc3\xa9"));
	CHECK_OK(cs_manifest_parse_entry(line, len, 3, &back, &check_err));
	CHECK(strcmp(back.path, e.path) == 0);
	cs_entry_free(&back);
	free(line);

	/* header */
	struct cs_snapshot_info info, ib;
	unsigned char vid[16], vb[16];
	uint64_t n = 0;
	memset(&info, 0, sizeof info);
	randombytes_buf(vid, sizeof vid);
	info.seq = 12;
	info.started_sec = 1700000000;
	info.started_nsec = 5;
	info.finished_sec = 1700000001;
	info.finished_nsec = 6;
	strcpy(info.tag, "before upgrade");
	strcpy(info.state_dir, "/home/u/.openclaw\xff");
	strcpy(info.home, "/home/u");
	strcpy(info.layout, "host");
	info.uid = 1001;
	info.gid = 1002;
	strcpy(info.tool_version, CS_VERSION_STRING);
	info.format = CS_BACKUP_FORMAT;
	info.files = 3;
	info.bytes = 99;
	info.partial = 1;
	CHECK_OK(cs_manifest_header_line(&info, vid, 4, &line, &len, &check_err));
	CHECK(has(line, "{\"clawstate_manifest\":1,\"tool\":\"clawstate 0.1.0\",\"format\":1,"));
	CHECK(has(line, "\"state_dir_b64\":"));
	CHECK_OK(cs_manifest_parse_header(line, len, &ib, vb, &n, &check_err));
	CHECK(n == 4 && ib.entries == 4 && memcmp(vb, vid, 16) == 0 && ib.seq == 12);
	CHECK(ib.started_sec == 1700000000 && ib.started_nsec == 5 && ib.finished_nsec == 6);
	CHECK(strcmp(ib.tag, info.tag) == 0 && strcmp(ib.state_dir, info.state_dir) == 0);
	CHECK(strcmp(ib.home, "/home/u") == 0 && strcmp(ib.layout, "host") == 0);
	CHECK(ib.uid == 1001 && ib.gid == 1002 && ib.files == 3 && ib.bytes == 99);
	CHECK(ib.partial == 1 && strcmp(ib.tool_version, "0.1.0") == 0 && ib.format == 1);
	free(line);

	const char *hdr_bad[] = {
		"{\"clawstate_manifest\":2,\"tool\":\"x\"}",
		"[1,2]",
		"{\"clawstate_manifest\":1}",
	};
	CHECK_RC(cs_manifest_parse_header(hdr_bad[0], strlen(hdr_bad[0]), &ib, vb, &n, &check_err),
		 CS_ERR_VERSION);
	CHECK_RC(cs_manifest_parse_header(hdr_bad[1], strlen(hdr_bad[1]), &ib, vb, &n, &check_err),
		 CS_ERR_CORRUPT);
	CHECK_RC(cs_manifest_parse_header(hdr_bad[2], strlen(hdr_bad[2]), &ib, vb, &n, &check_err),
		 CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "line 1: missing"));

	/* malformed entry lines */
	char big[5000], bigline[5200];
	memset(big, 'a', 4096);
	big[4096] = '\0';
	snprintf(bigline, sizeof bigline,
		 "{\"path\":\"%s\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		 "\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		 big);
#define OKL(extra) "{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0," \
	"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"" extra "}"
	const char *good = OKL("");
	CHECK_OK(cs_manifest_parse_entry(good, strlen(good), 9, &back, &check_err));
	cs_entry_free(&back);
	const char *bad[] = {
		"",
		"not json",
		"{\"path\":\"a\"",
		OKL("} x"),
		"[]",
		"{\"path\":\"a\",\"type\":\"fifo\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":-1,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":1e300,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":18446744073709551616,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":4294967296,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":1000000000},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0.5},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":4096,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":\"448\",\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		bigline,
		OKL(",\"extra\":1"),
		OKL(",\"mode\":448"),
		OKL(",\"path_b64\":\"YQ==\""),
		OKL(",\"blake2b\":\"00\""),
		OKL(",\"target\":\"x\""),
		OKL(",\"sqlite\":1"),
		OKL(",\"xattrs\":[]"),
		OKL(",\"xattrs\":{\"user.a\":\"***\"}"),
		OKL(",\"xattrs\":{\"user.a\":\"YQ==\",\"user.a\":\"YQ==\"}"),
		"{\"path\":\"a\\u0000b\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\xff\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"\xed\xa0\x80\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path_b64\":\"YQBi\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path_b64\":\"!!\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"symlink\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"nope\"}",
		"{\"path\":\"a\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		"\"mtime\":{\"sec\":0},\"size\":0,\"class\":\"other\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = cs_manifest_parse_entry(bad[i], strlen(bad[i]), 77, &back, &check_err);
		CHECK_RC(rc, CS_ERR_CORRUPT);
		if (rc != CS_ERR_CORRUPT)
			fprintf(stderr, "  accepted bad line %zu: %s\n", i, bad[i]);
		CHECK(has(check_err.what, "line 77"));
		if (rc == CS_OK)
			cs_entry_free(&back);
	}
	/* an embedded NUL byte */
	char nul[] = OKL("");
	nul[10] = '\0';
	CHECK_RC(cs_manifest_parse_entry(nul, sizeof nul - 1, 5, &back, &check_err), CS_ERR_CORRUPT);

	/* UTF-8 checker */
	CHECK(cs_utf8_valid((const unsigned char *)"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
	CHECK(!cs_utf8_valid((const unsigned char *)"\xc0\xaf", 2));         /* overlong */
	CHECK(!cs_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!cs_utf8_valid((const unsigned char *)"\xe2\x82", 2));         /* short */
}

/* ---- crafted archives against the reader ---- */

struct member {
	const char *name;
	int type;
	const char *target;
	const char *data;
	long long size; /* -1: strlen(data) */
};

struct sink {
	struct cs_bstream_writer *w;
};

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	return cs_bstream_write(s->w, buf, len, &check_err) == CS_OK ? (la_ssize_t)len : -1;
}

/* A backup file with the given manifest text and members, under make_header's keys. */
static int craft(const char *manifest, const struct member *m, size_t n, bool no_manifest)
{
	unsigned char fk[32];
	struct cs_bheader *h = malloc(sizeof *h);
	struct sink s = {NULL};
	int fd = mem_fd("", 0);
	randombytes_buf(fk, sizeof fk);
	make_header(h, fk);
	CHECK_OK(cs_bstream_writer_new(fd, "crafted", fk, h->ss_header, &s.w, &check_err));
	CHECK_OK(cs_bheader_encode(h, &check_err));
	CHECK_OK(cs_bstream_writer_begin(s.w, h->raw, h->len, &check_err));
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY");
	CHECK(archive_write_open(a, &s, NULL, sink_write, NULL) == ARCHIVE_OK);
	struct archive_entry *ae = archive_entry_new();
	if (!no_manifest) {
		archive_entry_set_pathname(ae, CS_MANIFEST_NAME);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0600);
		archive_entry_set_size(ae, (la_int64_t)strlen(manifest));
		CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
		CHECK(archive_write_data(a, manifest, strlen(manifest)) == (la_ssize_t)strlen(manifest));
	}
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, m[i].name);
		archive_entry_set_perm(ae, 0644);
		long long size = m[i].data ? (long long)strlen(m[i].data) : 0;
		if (m[i].size >= 0)
			size = m[i].size;
		archive_entry_set_filetype(ae, m[i].type == CS_ENTRY_DIR       ? AE_IFDIR
					       : m[i].type == CS_ENTRY_SYMLINK ? AE_IFLNK
					       : m[i].type == 99               ? AE_IFIFO
									       : AE_IFREG);
		if (m[i].type == CS_ENTRY_SYMLINK)
			archive_entry_set_symlink(ae, m[i].target);
		if (m[i].type == CS_ENTRY_HARDLINK)
			archive_entry_set_hardlink(ae, m[i].target);
		archive_entry_set_size(ae, size);
		CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
		if (m[i].data)
			archive_write_data(a, m[i].data, strlen(m[i].data));
	}
	archive_entry_free(ae);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	CHECK_OK(cs_bstream_writer_close(s.w, &check_err));
	cs_bstream_writer_free(s.w);
	free(h);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static char *manifest_of(const struct cs_entry *e, size_t n)
{
	struct cs_snapshot_info info;
	memset(&info, 0, sizeof info);
	info.seq = 7;
	strcpy(info.layout, "host");
	strcpy(info.tool_version, CS_VERSION_STRING);
	info.format = 1;
	char *out = NULL, *line = NULL;
	size_t len = 0, total = 0;
	CHECK_OK(cs_manifest_header_line(&info, vault_id, n, &line, &len, &check_err));
	out = line;
	total = len;
	for (size_t i = 0; i < n; i++) {
		CHECK_OK(cs_manifest_entry_line(&e[i], &line, &len, &check_err));
		out = realloc(out, total + len + 1);
		memcpy(out + total, line, len + 1);
		total += len;
		free(line);
	}
	return out;
}

static int verify_fd(int fd)
{
	struct cs_verify_result vr;
	return cs_verify_backup(fd, "crafted", kcred, &vr, &check_err);
}

static void test_reader(void)
{
	struct cs_entry e[4];
	memset(e, 0, sizeof e);
	e[0].path = "d";
	e[0].type = CS_ENTRY_DIR;
	e[0].mode = 0700;
	e[1].path = "d/f";
	e[1].type = CS_ENTRY_FILE;
	e[1].mode = 0600;
	e[1].size = 5;
	crypto_generichash(e[1].hash, 32, (const unsigned char *)"hello", 5, NULL, 0);
	e[2].path = "d/l";
	e[2].type = CS_ENTRY_SYMLINK;
	e[2].target = "f";
	e[3].path = "d/h";
	e[3].type = CS_ENTRY_HARDLINK;
	e[3].target = "d/f";
	char *man = manifest_of(e, 4);
	struct member good[] = {{"d", CS_ENTRY_DIR, NULL, NULL, -1},
				{"d/f", CS_ENTRY_FILE, NULL, "hello", -1},
				{"d/l", CS_ENTRY_SYMLINK, "f", NULL, -1},
				{"d/h", CS_ENTRY_HARDLINK, "d/f", NULL, -1}};
	int fd = craft(man, good, 4, false);
	struct cs_verify_result vr;
	CHECK_OK(cs_verify_backup(fd, "crafted", kcred, &vr, &check_err));
	CHECK(vr.entries == 4 && vr.files == 1 && vr.bytes == 5 && vr.info.seq == 7);
	close(fd);

	/* the reader API step by step; a caller that stops early still gets checked */
	fd = craft(man, good, 4, false);
	struct cs_breader *r = NULL;
	const struct cs_entry *ents;
	const struct cs_snapshot_info *info;
	size_t n = 0, got = 0;
	char buf[3];
	CHECK_OK(cs_breader_open(fd, "crafted", kcred, &r, &check_err));
	cs_breader_manifest(r, &ents, &n, &info);
	CHECK(n == 4 && strcmp(ents[3].target, "d/f") == 0);
	CHECK_OK(cs_breader_next(r, 0, &check_err));
	CHECK_OK(cs_breader_read(r, buf, sizeof buf, &got, &check_err));
	CHECK(got == 0);
	CHECK_RC(cs_breader_next(r, 2, &check_err), CS_ERR_USAGE);
	CHECK_OK(cs_breader_next(r, 1, &check_err));
	CHECK_OK(cs_breader_read(r, buf, sizeof buf, &got, &check_err));
	CHECK(got == 3 && memcmp(buf, "hel", 3) == 0);
	CHECK_OK(cs_breader_next(r, 2, &check_err));
	CHECK_OK(cs_breader_next(r, 3, &check_err));
	CHECK_OK(cs_breader_finish(r, &check_err));
	cs_breader_free(r);
	close(fd);

	/* a content hash that does not match */
	struct member m[5];
	memcpy(m, good, sizeof good);
	m[1].data = "hellO";
	fd = craft(man, m, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "content hash mismatch") && strcmp(check_err.path, "d/f") == 0);
	close(fd);
	/* names, types, sizes and targets must agree */
	memcpy(m, good, sizeof good);
	m[1].name = "d/g";
	fd = craft(man, m, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "manifest and archive disagree") &&
	      strcmp(check_err.path, "d/f") == 0);
	close(fd);
	memcpy(m, good, sizeof good);
	m[1].data = "hello!";
	fd = craft(man, m, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_HOSTILE);
	close(fd);
	memcpy(m, good, sizeof good);
	m[2].target = "../../etc";
	fd = craft(man, m, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	close(fd);
	memcpy(m, good, sizeof good);
	m[3].target = "d/l";
	fd = craft(man, m, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	close(fd);
	memcpy(m, good, sizeof good);
	m[0].type = CS_ENTRY_FILE;
	fd = craft(man, m, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	close(fd);
	memcpy(m, good, sizeof good);
	m[2].type = 99;
	m[2].target = NULL;
	fd = craft(man, m, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_HOSTILE);
	close(fd);
	/* a member missing, one too many, no manifest */
	fd = craft(man, good, 3, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	close(fd);
	memcpy(m, good, sizeof good);
	m[4] = (struct member){"d/extra", CS_ENTRY_FILE, NULL, "x", -1};
	fd = craft(man, m, 5, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "after the last manifest entry"));
	close(fd);
	fd = craft(man, good, 4, true);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	close(fd);
	/* a manifest with fewer lines than its header says */
	char *cut = strdup(man);
	cut[strlen(cut) - 1] = '\0';
	strrchr(cut, '\n')[1] = '\0';
	fd = craft(cut, good, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_CORRUPT);
	CHECK(has(check_err.what, "manifest ends after 3 of 4"));
	close(fd);
	free(cut);
	/* a hostile entry list is refused by validation before any member is read */
	e[1].path = "../f";
	char *evil = manifest_of(e, 4);
	fd = craft(evil, good, 4, false);
	CHECK_RC(verify_fd(fd), CS_ERR_HOSTILE);
	close(fd);
	free(evil);
	/* the wrong key */
	fd = craft(man, good, 4, false);
	CHECK_RC(cs_verify_backup(fd, "crafted", pcred, &vr, &check_err), CS_ERR_KEY);
	close(fd);
	free(man);
}

/* ---- the whole path: vault, snapshot, backup, verify ---- */

static void put(const char *rel, const void *data, size_t len, mode_t mode)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/state/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static int count_tmp(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, "clawstate-tmp"))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_full(void)
{
	char p[PATH_MAX], vdir[PATH_MAX], keyp[PATH_MAX], out[PATH_MAX], state[PATH_MAX];
	struct cs_cred *cred = NULL;
	struct cs_vault *v = NULL;
	snprintf(vdir, sizeof vdir, "%s/vault", root);
	snprintf(keyp, sizeof keyp, "%s/key", root);
	snprintf(state, sizeof state, "%s/state", root);
	snprintf(out, sizeof out, "%s/out/b.clawstate", root);
	snprintf(p, sizeof p, "%s/out", root);
	mkdir(p, 0700);
	mkdir(state, 0700);
	snprintf(p, sizeof p, "%s/state/credentials", root);
	mkdir(p, 0700);
	put("credentials/creds.json", "{\"me\":1}\n", 9, 0600);
	put("empty", "", 0, 0644);
	put("caf\xe9.txt", "latin1 name", 11, 0644);
	/* long enough for pax extended headers (ustar holds 100 + 155 bytes) */
	char longname[512], longdir[256];
	memset(longdir, 'd', 200);
	longdir[200] = '\0';
	snprintf(p, sizeof p, "%s/state/%s", root, longdir);
	mkdir(p, 0755);
	snprintf(longname, sizeof longname, "%s/%0240d", longdir, 7);
	put(longname, "deep", 4, 0600);
	size_t blen = 6u << 20;
	unsigned char *bigd = test_data(blen);
	put("big.bin", bigd, blen, 0640);
	snprintf(p, sizeof p, "%s/state/link", root);
	CHECK(symlink("credentials/creds.json", p) == 0);
	char p2[PATH_MAX];
	snprintf(p2, sizeof p2, "%s/state/big.bin", root);
	snprintf(p, sizeof p, "%s/state/big.hard", root);
	CHECK(link(p2, p) == 0);
	snprintf(p, sizeof p, "%s/state/credentials/creds.json", root);
	bool xattrs = setxattr(p, "user.clawstate.test", "v1", 2, 0) == 0;

	CHECK_OK(cs_keyfile_create(keyp, &check_err));
	int kfd = open(keyp, O_RDONLY);
	CHECK_OK(cs_cred_read_fd(CS_CRED_KEYFILE, kfd, keyp, &cred, &check_err));
	close(kfd);
	struct cs_vault_create_opts vo = {.dir = vdir, .cred = cred};
	CHECK_OK(cs_vault_create(&vo, &check_err));
	CHECK_OK(cs_vault_open(vdir, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	CHECK_OK(cs_vault_unlock(v, cred, &check_err));
	struct cs_snapshot_opts so = {.state_dir = state, .tag = "t1", .home = "/home/x"};
	struct cs_snapshot_result sr;
	CHECK_OK(cs_snapshot_create(v, &so, &sr, &check_err));

	struct cs_backup_opts bo = {.seq = sr.seq, .out_path = out};
	struct cs_backup_result br;
	CHECK_OK(cs_backup_write(v, &bo, &br, &check_err));
	CHECK(br.seq == sr.seq && br.entries == sr.entries && br.bytes_in == blen + 9 + 11 + 4);
	struct stat st;
	CHECK(stat(out, &st) == 0 && (st.st_mode & 07777) == 0600 &&
	      (uint64_t)st.st_size == br.bytes_out);
	snprintf(p, sizeof p, "%s/out", root);
	CHECK(count_tmp(p) == 0);

	/* an existing output is refused and nothing is left behind; force replaces */
	CHECK_RC(cs_backup_write(v, &bo, &br, &check_err), CS_ERR_EXISTS);
	CHECK(count_tmp(p) == 0);
	bo.force = 1;
	CHECK_OK(cs_backup_write(v, &bo, &br, &check_err));
	CHECK(count_tmp(p) == 0);
	/* a missing snapshot leaves nothing either */
	struct cs_backup_opts bo2 = {.seq = 999, .out_path = out, .force = 1};
	CHECK_RC(cs_backup_write(v, &bo2, &br, &check_err), CS_ERR_NOTFOUND);
	CHECK(count_tmp(p) == 0 && stat(out, &st) == 0);

	/* names are bytes whatever the locale: read (and below, write) under UTF-8 */
	setlocale(LC_ALL, "C.UTF-8");
	/* verify: counts, info, and the entries match the snapshot's */
	int fd = open(out, O_RDONLY);
	struct cs_verify_result vr;
	CHECK_OK(cs_verify_backup(fd, out, cred, &vr, &check_err));
	close(fd);
	CHECK(vr.entries == sr.entries && vr.info.seq == sr.seq);
	CHECK(vr.bytes == blen + 9 + 11 + 4 && strcmp(vr.info.tag, "t1") == 0);
	CHECK(strcmp(vr.info.home, "/home/x") == 0 && strcmp(vr.info.layout, "host") == 0);

	fd = open(out, O_RDONLY);
	struct cs_breader *r = NULL;
	const struct cs_entry *ents = NULL;
	size_t n = 0;
	CHECK_OK(cs_breader_open(fd, out, cred, &r, &check_err));
	if (r) {
		cs_breader_manifest(r, &ents, &n, NULL);
		bool saw_latin = false, saw_hard = false, saw_link = false, saw_xattr = false;
		bool saw_long = false;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(ents[i].path, "caf\xe9.txt") == 0)
				saw_latin = true;
			if (ents[i].type == CS_ENTRY_HARDLINK)
				saw_hard = true;
			if (strcmp(ents[i].path, longname) == 0 && ents[i].size == 4)
				saw_long = true;
			if (ents[i].type == CS_ENTRY_SYMLINK &&
			    strcmp(ents[i].target, "credentials/creds.json") == 0)
				saw_link = true;
			for (size_t k = 0; k < ents[i].n_xattrs; k++)
				if (strcmp(ents[i].xattrs[k].name, "user.clawstate.test") == 0 &&
				    ents[i].xattrs[k].len == 2)
					saw_xattr = true;
		}
		CHECK(saw_latin && saw_hard && saw_link && saw_long);
		CHECK(saw_xattr || !xattrs);
		/* content comes back byte for byte */
		for (size_t i = 0; i < n; i++) {
			CHECK_OK(cs_breader_next(r, i, &check_err));
			if (strcmp(ents[i].path, "big.bin") == 0) {
				unsigned char *got = malloc(blen + 1);
				size_t total = 0, g = 0;
				do {
					CHECK_OK(cs_breader_read(r, got + total, 100000 < blen + 1 - total ? 100000 : blen + 1 - total, &g, &check_err));
					total += g;
				} while (g > 0 && total <= blen);
				CHECK(total == blen && memcmp(got, bigd, blen) == 0);
				free(got);
			}
		}
		CHECK_OK(cs_breader_finish(r, &check_err));
		cs_breader_free(r);
	}
	close(fd);

	/* -o -: a pipe, read back through a pipe */
	int pp[2];
	CHECK(pipe(pp) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pp[0]);
		struct cs_backup_opts bp = {.seq = sr.seq, .out_fd = pp[1]};
		struct cs_backup_result rr;
		_exit(cs_backup_write(v, &bp, &rr, &check_err) == CS_OK ? 0 : 1);
	}
	close(pp[1]);
	CHECK_OK(cs_verify_backup(pp[0], "-", cred, &vr, &check_err));
	close(pp[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* damage anywhere is exit 4; the wrong key is exit 5 */
	size_t flen = 0;
	fd = open(out, O_RDONLY);
	unsigned char *file = fd_bytes(fd, &flen);
	close(fd);
	size_t spots[] = {100, 2000, flen / 3, flen / 2, flen - 10};
	for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
		file[spots[i]] ^= 4;
		fd = mem_fd(file, flen);
		int rc = cs_verify_backup(fd, "damaged", cred, &vr, &check_err);
		CHECK(cs_exit_code(rc) == 4);
		close(fd);
		file[spots[i]] ^= 4;
	}
	fd = mem_fd(file, flen - 1000);
	CHECK_RC(cs_verify_backup(fd, "cut", cred, &vr, &check_err), CS_ERR_CORRUPT);
	close(fd);
	fd = mem_fd(file, flen);
	CHECK_RC(cs_verify_backup(fd, "b", kcred, &vr, &check_err), CS_ERR_KEY);
	close(fd);
	free(file);
	free(bigd);
	setlocale(LC_ALL, "C");

	cs_vault_close(v);
	cs_cred_free(cred);
}

int main(void)
{
	CHECK_OK(cs_library_init(&check_err));
	if (!mkdtemp(root))
		return 1;
	setup_keys();
	test_header();
	test_stream();
	test_manifest();
	test_reader();
	test_full();
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	cs_master_free(master);
	cs_cred_free(kcred);
	cs_cred_free(kcred_other);
	cs_cred_free(pcred);
	TEST_DONE();
}
