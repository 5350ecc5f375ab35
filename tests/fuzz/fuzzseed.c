/*
 * fuzzseed.c - helpers for mkseeds.sh, which builds the seed corpus:
 *
 *   fuzzseed unwrap KEYFILE BACKUP OUT   the decrypted payload (the pax tar) of a
 *                                        backup, the input fuzz_payload seals again
 *   fuzzseed journals DIR                canonical journals (cs_journal_format)
 *                                        as DIR/journal-*.txt
 *   fuzzseed zstd PAYLOAD PREFIX         compressed streams of a payload for
 *                                        fuzz_payload's raw-stream mode:
 *                                        PREFIX-{plain,two-frames,skippable,window27}.zst
 *
 * Exits 1 with a message on any error.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

static struct cs_error err;

static void die(const char *what)
{
	fprintf(stderr, "fuzzseed: %s: %s%s%s\n", what, err.path, err.path[0] ? ": " : "",
		err.what);
	exit(1);
}

static int unwrap(const char *keyfile, const char *backup, const char *out)
{
	static struct cs_bheader h;
	struct cs_cred *cred = NULL;
	struct cs_bstream_reader *r = NULL;
	unsigned char key[CS_KEY_BYTES];
	static unsigned char buf[1 << 16];
	size_t got = 0;
	int kfd = open(keyfile, O_RDONLY | O_CLOEXEC), in = open(backup, O_RDONLY | O_CLOEXEC);
	FILE *o = fopen(out, "wb");
	if (kfd < 0 || in < 0 || !o) {
		perror("fuzzseed: open");
		return 1;
	}
	if (cs_cred_read_fd(CS_CRED_KEYFILE, kfd, keyfile, &cred, &err) != CS_OK)
		die("key file");
	if (cs_bheader_read(in, backup, &h, &err) != CS_OK ||
	    cs_bheader_unlock(&h, cred, backup, key, &err) != CS_OK ||
	    cs_bstream_reader_new(in, backup, key, h.ss_header, h.raw, h.len, &r, &err) != CS_OK)
		die("header");
	do {
		if (cs_bstream_read(r, buf, sizeof buf, &got, &err) != CS_OK)
			die("stream");
		if (got && fwrite(buf, 1, got, o) != got)
			die("write");
	} while (got > 0);
	cs_bstream_reader_free(r);
	cs_cred_free(cred);
	close(kfd);
	close(in);
	return fclose(o) == 0 ? 0 : 1;
}

static void journal(const char *dir, const char *name, struct cs_journal *j)
{
	char path[4096], *buf = NULL;
	size_t len = 0;
	if (cs_journal_format(j, &buf, &len, &err) != CS_OK)
		die("cs_journal_format");
	snprintf(path, sizeof path, "%s/journal-%s.txt", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	free(buf);
}

static int journals(const char *dir)
{
	char *olds[] = {"openclaw.json", "credentials", "workspace", "sp ace", "per%cent",
			"new\nline", "caf\xc3\xa9", "\x01\x7f\xff", "..."};
	char *news[] = {"openclaw.json", "agents", "workspace", ".env"};
	char *one[] = {"x"};
	struct cs_journal j;

	memset(&j, 0, sizeof j);
	strcpy(j.stage, ".clawstate-stage-0a1b2c3d");
	strcpy(j.old, ".clawstate-old-7");
	j.root.mode = 0700;
	journal(dir, "empty", &j);

	j.keep = true;
	j.root.mode = 02755;
	j.root.set_owner = true;
	j.root.uid = 1000;
	j.root.gid = 1000;
	j.root.set_mtime = true;
	j.root.mtime_sec = 1700000000;
	j.root.mtime_nsec = 123456789;
	j.old_names = olds;
	j.n_old = sizeof olds / sizeof olds[0];
	j.new_names = news;
	j.n_new = sizeof news / sizeof news[0];
	journal(dir, "full", &j);

	strcpy(j.old, ".clawstate-old-12.3");
	j.keep = false;
	j.root.set_owner = false;
	j.root.mtime_sec = -5;
	j.root.mtime_nsec = 0;
	j.old_names = one;
	j.n_old = 1;
	j.n_new = 0;
	journal(dir, "negative-mtime", &j);

	j.root.set_mtime = false;
	j.root.set_owner = true;
	j.root.uid = 4294967294u;
	j.root.gid = 0;
	j.root.mode = 07777;
	j.n_old = 0;
	j.new_names = one;
	j.n_new = 1;
	journal(dir, "max-owner", &j);
	return 0;
}

static void put_file(const char *prefix, const char *name, const void *a, size_t alen,
		     const void *b, size_t blen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s-%s.zst", prefix, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* One frame of in[0..n) with the window log given (0: the default, with the
 * content size in the frame header). */
static size_t frame(const void *in, size_t n, int window_log, void *out, size_t cap)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_inBuffer ib = {in, n, 0};
	ZSTD_outBuffer ob = {out, cap, 0};
	if (!c || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3)) ||
	    (window_log && ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log))))
		die("zstd");
	/* Fed in two steps the size is unknown when the header is written: it
	 * declares the window, not the content size. */
	size_t left;
	while (ib.pos < ib.size)
		if (ZSTD_isError(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue)))
			die("zstd");
	ZSTD_inBuffer none = {NULL, 0, 0};
	do {
		left = ZSTD_compressStream2(c, &ob, &none, ZSTD_e_end);
		if (ZSTD_isError(left))
			die("zstd");
	} while (left);
	ZSTD_freeCCtx(c);
	return ob.pos;
}

static int zstd_seeds(const char *payload, const char *prefix)
{
	FILE *f = fopen(payload, "rb");
	static unsigned char in[1 << 20], a[1 << 20], b[1 << 20];
	size_t n = f ? fread(in, 1, sizeof in, f) : 0;
	if (!f || n == 0 || n == sizeof in) {
		fprintf(stderr, "fuzzseed: %s: unreadable, empty or too large\n", payload);
		return 1;
	}
	fclose(f);
	size_t na = frame(in, n, 0, a, sizeof a);
	put_file(prefix, "plain", a, na, NULL, 0);
	size_t nb = frame(in, n / 2, 0, b, sizeof b);
	put_file(prefix, "two-frames", b, nb, a, na);
	/* A skippable frame (magic 0x184D2A50, 4-byte length) before the data. */
	unsigned char skip[12] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'f', 'a', 'k', 'e'};
	put_file(prefix, "skippable", skip, sizeof skip, a, na);
	nb = frame(in, n, 27, b, sizeof b);
	put_file(prefix, "window27", b, nb, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (cs_library_init(&err) != CS_OK)
		die("init");
	if (argc == 5 && !strcmp(argv[1], "unwrap"))
		return unwrap(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "journals"))
		return journals(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "zstd"))
		return zstd_seeds(argv[2], argv[3]);
	fprintf(stderr, "usage: fuzzseed unwrap KEYFILE BACKUP OUT | fuzzseed journals DIR |\n"
			"       fuzzseed zstd PAYLOAD PREFIX\n");
	return 2;
}
