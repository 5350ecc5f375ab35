/*
 * fuzz_payload.c - the backup reader behind the encryption: the input is the
 * decrypted payload (the pax tar with the manifest first, as the seeds made by
 * mkseeds.sh from real backups), which this target compresses and seals as a
 * genuine backup for the fake key before cs_verify_backup reads it, so every
 * mutation reaches zstd, libarchive, the manifest and the member checks instead
 * of failing the stream's MAC.  An input starting with a zstd frame or
 * skippable-frame magic is taken as the compressed stream itself.  A backup that
 * verifies is then restored as a dry run (host or docker layout), which runs
 * the path rewriter over its config, session and SQLite files in memory.
 *
 * The header's vault id and seq are taken from the manifest's first line when
 * it has them (so the reader's cross-checks pass), else fixed values.
 */
#include "fuzz.h"

#include <zstd.h>

#define MSG CS_BSTREAM_MSG
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

static struct cs_cred *cred;
static struct cs_master *master;
static unsigned char file_key[CS_KEY_BYTES];
static unsigned char sealed_key[CS_SEALED_KEY_BYTES];
static struct cs_bheader h;
static unsigned char slot_vault[CS_VAULT_ID_BYTES]; /* the vault id h.slots[0] is bound to */
static bool have_slot;
static unsigned char *zbuf, *cbuf;
static size_t zcap;
static char tmpl[] = "/tmp/clawstate-fuzz.XXXXXX", target[4096];

/* The dry runs create nothing: the dir is still empty at exit. */
static void remove_tmp(void)
{
	rmdir(tmpl);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	cred = fuzz_key();
	if (!(master = cs_master_new()))
		fuzz_die("cs_master_new", NULL);
	cs_master_generate(master);
	randombytes_buf(file_key, sizeof file_key);
	crypto_box_seal(sealed_key, file_key, sizeof file_key, master->pk);
	if (!(cbuf = malloc(MSG + ABYTES)))
		fuzz_die("malloc", NULL);
	/* The dry-run restore's target: never created, its parent empty. */
	if (!mkdtemp(tmpl))
		fuzz_die("mkdtemp", NULL);
	atexit(remove_tmp);
	snprintf(target, sizeof target, "%s/target", tmpl);
	return 0;
}

/* Where the value of "key": starts in the first 4 KiB (the manifest's first
 * line follows its tar and pax headers); *left bytes of it are there. */
static const char *find_value(const uint8_t *data, size_t size, const char *key, size_t *left)
{
	size_t klen = strlen(key), lim = size < 4096 ? size : 4096;
	const uint8_t *p = memmem(data, lim, key, klen);
	if (!p)
		return NULL;
	*left = lim - (size_t)(p - data) - klen;
	return (const char *)p + klen;
}

static void header_ids(const uint8_t *data, size_t size, unsigned char vid[CS_VAULT_ID_BYTES],
		       uint64_t *seq)
{
	size_t left = 0;
	char hex[2 * CS_VAULT_ID_BYTES + 1] = "";
	const char *v = find_value(data, size, "\"vault_id\":\"", &left);
	if (v && left >= 2 * CS_VAULT_ID_BYTES)
		memcpy(hex, v, 2 * CS_VAULT_ID_BYTES); /* cs_unhex wants the NUL after */
	if (cs_unhex(hex, vid, CS_VAULT_ID_BYTES) != 0)
		memset(vid, 0x5a, CS_VAULT_ID_BYTES);
	*seq = 7;
	if ((v = find_value(data, size, "\"seq\":", &left))) {
		uint64_t s = 0;
		size_t i = 0;
		for (; i < left && i < 16 && v[i] >= '0' && v[i] <= '9'; i++)
			s = s * 10 + (uint64_t)(v[i] - '0');
		if (i > 0)
			*seq = s;
	}
}

/* An input that is a compressed stream: the ids are looked for in the start
 * of what it decompresses to. */
static bool raw_stream(const uint8_t *data, size_t size, unsigned char vid[CS_VAULT_ID_BYTES],
		       uint64_t *seq)
{
	static const unsigned char zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
	static ZSTD_DCtx *d;
	static unsigned char head[4096];
	if (size < 4 || (memcmp(data, zmagic, 4) != 0 &&
			 !(data[1] == 0x2a && data[2] == 0x4d && data[3] == 0x18 &&
			   (data[0] & 0xf0) == 0x50)))
		return false;
	if (!d && !(d = ZSTD_createDCtx()))
		fuzz_die("ZSTD_createDCtx", NULL);
	ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, CS_CAP_ZSTD_WINDOW_LOG);
	ZSTD_inBuffer in = {data, size, 0};
	ZSTD_outBuffer out = {head, sizeof head, 0};
	while (out.pos < out.size && in.pos < in.size) {
		size_t before = in.pos + out.pos;
		size_t r = ZSTD_decompressStream(d, &out, &in);
		if (ZSTD_isError(r) || r == 0 || in.pos + out.pos == before)
			break;
	}
	header_ids(head, out.pos, vid, seq);
	return true;
}

/* The compressed stream: the input itself, or the input compressed. */
static const unsigned char *compressed(const uint8_t *data, size_t size, bool raw, size_t *zlen)
{
	if (raw) {
		*zlen = size;
		return data;
	}
	size_t bound = ZSTD_compressBound(size);
	if (bound > zcap) {
		free(zbuf);
		if (!(zbuf = malloc(bound)))
			fuzz_die("malloc", NULL);
		zcap = bound;
	}
	size_t n = ZSTD_compress(zbuf, zcap, data, size, 1);
	if (ZSTD_isError(n))
		fuzz_die("ZSTD_compress", NULL);
	*zlen = n;
	return zbuf;
}

static void put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		fuzz_die("write memfd", NULL);
}

/* A backup of the payload for the fake key, as cs_backup_write lays it out:
 * header, then messages of exactly 64 KiB of compressed bytes but the last
 * (TAG_FINAL, 1..64 KiB), the first one bound to the header. */
static int make_backup(const uint8_t *data, size_t size)
{
	struct cs_error err;
	crypto_secretstream_xchacha20poly1305_state st;
	size_t zlen = 0;
	cs_error_clear(&err);
	bool raw = raw_stream(data, size, h.vault_id, &h.seq);
	if (!raw)
		header_ids(data, size, h.vault_id, &h.seq);
	if (!have_slot || memcmp(slot_vault, h.vault_id, sizeof slot_vault) != 0) {
		if (cs_slot_create(h.vault_id, 1, cred, 0, master, &h.slots[0], &err) != CS_OK)
			fuzz_die("cs_slot_create", &err);
		memcpy(slot_vault, h.vault_id, sizeof slot_vault);
		have_slot = true;
	}
	h.created = 1700000000;
	h.epoch = 1;
	h.n_slots = 1;
	memcpy(h.sealed_key, sealed_key, sizeof sealed_key);
	crypto_secretstream_xchacha20poly1305_init_push(&st, h.ss_header, file_key);
	if (cs_bheader_encode(&h, &err) != CS_OK)
		fuzz_die("cs_bheader_encode", &err);

	const unsigned char *z = compressed(data, size, raw, &zlen);
	int fd = fuzz_memfd(h.raw, h.len);
	if (lseek(fd, 0, SEEK_END) < 0)
		fuzz_die("lseek", NULL);
	size_t off = 0;
	bool first = true;
	do {
		size_t n = zlen - off > MSG ? MSG : zlen - off;
		bool last = off + n == zlen;
		unsigned long long clen = 0;
		crypto_secretstream_xchacha20poly1305_push(
			&st, cbuf, &clen, z + off, n, first ? h.raw : NULL, first ? h.len : 0,
			last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
			     : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
		put(fd, cbuf, (size_t)clen);
		off += n;
		first = false;
	} while (off < zlen);
	sodium_memzero(&st, sizeof st);
	if (lseek(fd, 0, SEEK_SET) < 0)
		fuzz_die("lseek", NULL);
	return fd;
}

static void dry_run(int fd, int layout)
{
	struct cs_restore_opts opts;
	struct cs_restore_result res;
	struct cs_error err;
	memset(&opts, 0, sizeof opts);
	opts.target = target;
	opts.dry_run = 1;
	opts.keep_old = 1;
	opts.layout = layout;
	opts.home = "/home/fuzz";
	cs_error_clear(&err);
	if (lseek(fd, 0, SEEK_SET) < 0)
		fuzz_die("lseek", NULL);
	int rc = cs_restore_backup(fd, "fuzz.backup", cred, &opts, &res, &err);
	fuzz_check_rc(rc, &err);
	/* It verified: only the layout may refuse it now (a config that does not
	 * parse, a path that no longer fits, a database SQLite refuses: CS_ERR_DB,
	 * or CS_ERR_NOMEM for some damaged files), or the free space. */
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT || rc == CS_ERR_USAGE ||
		   rc == CS_ERR_HOSTILE || rc == CS_ERR_DB || rc == CS_ERR_NOMEM ||
		   rc == CS_ERR_NOSPACE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_verify_result res;
	struct cs_error err;
	int fd = make_backup(data, size);
	cs_error_clear(&err);
	int rc = cs_verify_backup(fd, "fuzz.backup", cred, &res, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT || rc == CS_ERR_HOSTILE ||
		   rc == CS_ERR_VERSION);
	if (rc != CS_OK)
		return 0;
	FUZZ_CHECK(res.snapshots == 1 && res.files <= res.entries &&
		   res.entries == res.info.entries);
	dry_run(fd, size % 2 ? CS_LAYOUT_DOCKER : CS_LAYOUT_HOST);
	return 0;
}
