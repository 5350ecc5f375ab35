/* bstream.c - the backup payload: one zstd frame cut into 64 KiB pieces, each
 * sealed as a libsodium secretstream message; the header is the first AD. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define CMSG (CS_BSTREAM_MSG + ABYTES) /* ciphertext of a full message */
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

typedef crypto_secretstream_xchacha20poly1305_state ss_state;

struct cs_bstream_writer {
	int fd;
	char *name;
	ss_state *st;             /* holds the key: guarded memory */
	ZSTD_CCtx *cctx;
	unsigned char *zbuf;      /* compressed bytes of the message being filled */
	size_t zlen;
	unsigned char *cbuf;
	unsigned char *ad;        /* the file header until the first message is out */
	size_t adlen;
	uint64_t bytes_out;
	bool begun, closed, failed;
};

struct cs_bstream_reader {
	int fd;
	char *name;
	ss_state *st;
	ZSTD_DCtx *dctx;
	unsigned char *cbuf;
	unsigned char *pbuf;      /* plaintext (compressed) of the current message */
	size_t plen, ppos;
	unsigned char *ad;
	size_t adlen;
	uint64_t msgno;           /* messages pulled so far */
	bool final;               /* the current message carried TAG_FINAL */
	bool zdone;               /* the zstd frame is complete */
	bool ended;               /* end verified; further reads return 0 */
	int failed;               /* sticky error code */
};

/* ---- writer ---- */

int cs_bstream_writer_new(int fd, const char *name, const unsigned char key[CS_KEY_BYTES],
			  unsigned char ss_header[CS_SS_HEADER_BYTES],
			  struct cs_bstream_writer **out, struct cs_error *err)
{
	int rc = CS_OK;
	struct cs_bstream_writer *w = calloc(1, sizeof *w);
	*out = NULL;
	if (!w)
		return cs_err_set(err, CS_ERR_NOMEM, name, "out of memory");
	w->fd = fd;
	w->name = strdup(name ? name : "");
	w->st = sodium_malloc(sizeof *w->st);
	w->cctx = ZSTD_createCCtx();
	w->zbuf = malloc(CS_BSTREAM_MSG);
	w->cbuf = malloc(CMSG);
	if (!w->name || !w->st || !w->cctx || !w->zbuf || !w->cbuf) {
		rc = cs_err_set(err, CS_ERR_NOMEM, name, "out of memory");
		goto out;
	}
	size_t zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, 3);
	if (!ZSTD_isError(zr))
		zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_windowLog, CS_CAP_ZSTD_WINDOW_LOG);
	if (ZSTD_isError(zr)) {
		rc = cs_err_set(err, CS_ERR_IO, name, "zstd: %s", ZSTD_getErrorName(zr));
		goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_push(w->st, ss_header, key) != 0) {
		rc = cs_err_set(err, CS_ERR_CRYPTO, name, "secretstream init failed");
		goto out;
	}
	*out = w;
	w = NULL;
out:
	cs_bstream_writer_free(w);
	return rc;
}

int cs_bstream_writer_begin(struct cs_bstream_writer *w, const unsigned char *hdr, size_t len,
			    struct cs_error *err)
{
	int rc;
	if (w->begun)
		return cs_err_set(err, CS_ERR_USAGE, w->name, "stream header written twice");
	if (!(w->ad = malloc(len)))
		return cs_err_set(err, CS_ERR_NOMEM, w->name, "out of memory");
	memcpy(w->ad, hdr, len);
	w->adlen = len;
	w->begun = true;
	if ((rc = cs_write_all(w->fd, hdr, len, w->name, err)) != CS_OK) {
		w->failed = true;
		return rc;
	}
	w->bytes_out += len;
	return CS_OK;
}

/* Seal the filled part of zbuf as one message and write it. */
static int push(struct cs_bstream_writer *w, unsigned char tag, struct cs_error *err)
{
	unsigned long long clen = 0;
	crypto_secretstream_xchacha20poly1305_push(w->st, w->cbuf, &clen, w->zbuf, w->zlen, w->ad,
						   w->adlen, tag);
	/* Only the first message is bound to the header. */
	free(w->ad);
	w->ad = NULL;
	w->adlen = 0;
	w->zlen = 0;
	int rc = cs_write_all(w->fd, w->cbuf, (size_t)clen, w->name, err);
	if (rc != CS_OK) {
		w->failed = true;
		return rc;
	}
	w->bytes_out += clen;
	return CS_OK;
}

/* Run zstd over in (mode continue or end); every full 64 KiB goes out as a
 * message, so every message but the last is exactly full and the reader needs
 * no length fields.  With end, returns once the frame is complete, its tail
 * (0..64 KiB) left in zbuf for the FINAL message. */
static int compress(struct cs_bstream_writer *w, ZSTD_inBuffer *in, ZSTD_EndDirective mode,
		    struct cs_error *err)
{
	int rc;
	for (;;) {
		ZSTD_outBuffer out = {w->zbuf, CS_BSTREAM_MSG, w->zlen};
		size_t left = ZSTD_compressStream2(w->cctx, &out, in, mode);
		w->zlen = out.pos;
		if (ZSTD_isError(left)) {
			w->failed = true;
			return cs_err_set(err, CS_ERR_IO, w->name, "zstd: %s", ZSTD_getErrorName(left));
		}
		bool done = mode == ZSTD_e_end ? left == 0 : in->pos == in->size;
		/* A full buffer at the very end is kept for the FINAL message. */
		if (w->zlen == CS_BSTREAM_MSG && !(mode == ZSTD_e_end && done)) {
			if ((rc = push(w, TAG_MESSAGE, err)) != CS_OK)
				return rc;
			continue;
		}
		if (done)
			return CS_OK;
	}
}

int cs_bstream_write(struct cs_bstream_writer *w, const void *buf, size_t len,
		     struct cs_error *err)
{
	if (w->failed || w->closed || !w->begun)
		return cs_err_set(err, CS_ERR_USAGE, w->name, "write on a stream that is not open");
	if (len == 0)
		return CS_OK;
	ZSTD_inBuffer in = {buf, len, 0};
	return compress(w, &in, ZSTD_e_continue, err);
}

int cs_bstream_writer_close(struct cs_bstream_writer *w, struct cs_error *err)
{
	int rc;
	if (w->failed || w->closed || !w->begun)
		return cs_err_set(err, CS_ERR_USAGE, w->name, "close of a stream that is not open");
	ZSTD_inBuffer in = {NULL, 0, 0};
	if ((rc = compress(w, &in, ZSTD_e_end, err)) != CS_OK)
		return rc;
	if ((rc = push(w, TAG_FINAL, err)) != CS_OK)
		return rc;
	w->closed = true;
	return CS_OK;
}

uint64_t cs_bstream_writer_bytes_out(const struct cs_bstream_writer *w)
{
	return w->bytes_out;
}

void cs_bstream_writer_free(struct cs_bstream_writer *w)
{
	if (!w)
		return;
	if (w->st)
		sodium_free(w->st);
	ZSTD_freeCCtx(w->cctx);
	if (w->zbuf)
		sodium_memzero(w->zbuf, CS_BSTREAM_MSG);
	free(w->zbuf);
	free(w->cbuf);
	free(w->ad);
	free(w->name);
	free(w);
}

/* ---- reader ---- */

int cs_bstream_reader_new(int fd, const char *name, const unsigned char key[CS_KEY_BYTES],
			  const unsigned char ss_header[CS_SS_HEADER_BYTES],
			  const unsigned char *ad, size_t adlen,
			  struct cs_bstream_reader **out, struct cs_error *err)
{
	int rc = CS_OK;
	struct cs_bstream_reader *r = calloc(1, sizeof *r);
	*out = NULL;
	if (!r)
		return cs_err_set(err, CS_ERR_NOMEM, name, "out of memory");
	r->fd = fd;
	r->name = strdup(name ? name : "");
	r->st = sodium_malloc(sizeof *r->st);
	r->dctx = ZSTD_createDCtx();
	r->cbuf = malloc(CMSG);
	r->pbuf = malloc(CS_BSTREAM_MSG);
	r->ad = malloc(adlen ? adlen : 1);
	if (!r->name || !r->st || !r->dctx || !r->cbuf || !r->pbuf || !r->ad) {
		rc = cs_err_set(err, CS_ERR_NOMEM, name, "out of memory");
		goto out;
	}
	memcpy(r->ad, ad, adlen);
	r->adlen = adlen;
	/* Bounded memory whatever the frame header asks for. */
	size_t zr = ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, CS_CAP_ZSTD_WINDOW_LOG);
	if (ZSTD_isError(zr)) {
		rc = cs_err_set(err, CS_ERR_IO, name, "zstd: %s", ZSTD_getErrorName(zr));
		goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(r->st, ss_header, key) != 0) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, name, "bad secretstream header");
		goto out;
	}
	*out = r;
	r = NULL;
out:
	cs_bstream_reader_free(r);
	return rc;
}

static int rfail(struct cs_bstream_reader *r, int rc)
{
	r->failed = rc;
	return rc;
}

/* Read, authenticate and decrypt the next message into pbuf. */
static int pull(struct cs_bstream_reader *r, struct cs_error *err)
{
	int rc;
	size_t got = 0;
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	uint64_t n = r->msgno + 1;

	if ((rc = cs_read_full(r->fd, r->cbuf, CMSG, &got, r->name, err)) != CS_OK)
		return rfail(r, rc);
	if (got == 0)
		return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
					   "backup truncated (ends before message %llu)",
					   (unsigned long long)n));
	if (got < ABYTES)
		return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
					   "backup truncated in message %llu",
					   (unsigned long long)n));
	if (crypto_secretstream_xchacha20poly1305_pull(r->st, r->pbuf, &mlen, &tag, r->cbuf, got,
						       r->ad, r->adlen) != 0) {
		/* A short read means we hit EOF inside this message. */
		if (got < CMSG)
			return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
						   "backup truncated, extended or damaged at message %llu",
						   (unsigned long long)n));
		return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
					   "backup stream damaged at message %llu",
					   (unsigned long long)n));
	}
	r->msgno = n;
	r->adlen = 0;
	r->plen = (size_t)mlen;
	r->ppos = 0;
	if (tag == TAG_FINAL) {
		unsigned char extra;
		size_t x = 0;
		r->final = true;
		if ((rc = cs_read_full(r->fd, &extra, 1, &x, r->name, err)) != CS_OK)
			return rfail(r, rc);
		if (x != 0)
			return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
						   "data after the end of the backup stream "
						   "(message %llu is final)",
						   (unsigned long long)n));
		return CS_OK;
	}
	if (tag != TAG_MESSAGE)
		return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
					   "unexpected stream tag %u at message %llu", tag,
					   (unsigned long long)n));
	/* Authentic but short and not final: the file ended right after it. */
	if (got < CMSG)
		return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
					   "backup truncated after message %llu",
					   (unsigned long long)n));
	return CS_OK;
}

/* The frame is complete: what is left must be nothing but the stream's end. */
static int check_end(struct cs_bstream_reader *r, struct cs_error *err)
{
	int rc;
	for (;;) {
		if (r->ppos < r->plen)
			return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
						   "data after the compressed stream in message %llu",
						   (unsigned long long)r->msgno));
		if (r->final)
			break;
		if ((rc = pull(r, err)) != CS_OK)
			return rc;
	}
	r->ended = true;
	return CS_OK;
}

int cs_bstream_read(struct cs_bstream_reader *r, void *buf, size_t cap, size_t *got,
		    struct cs_error *err)
{
	int rc;
	*got = 0;
	if (r->failed)
		return cs_err_set(err, r->failed, r->name, "backup stream failed earlier");
	if (cap == 0)
		return cs_err_set(err, CS_ERR_USAGE, r->name, "read of 0 bytes");
	if (r->ended)
		return CS_OK;
	ZSTD_outBuffer out = {buf, cap, 0};
	while (out.pos == 0) {
		if (r->zdone)
			return check_end(r, err);
		if (r->ppos == r->plen && !r->final) {
			if ((rc = pull(r, err)) != CS_OK)
				return rc;
			continue;
		}
		ZSTD_inBuffer in = {r->pbuf, r->plen, r->ppos};
		size_t left = ZSTD_decompressStream(r->dctx, &out, &in);
		r->ppos = in.pos;
		if (ZSTD_isError(left))
			return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
						   "compressed stream damaged in message %llu: %s",
						   (unsigned long long)r->msgno,
						   ZSTD_getErrorName(left)));
		if (left == 0) {
			r->zdone = true;
		} else if (out.pos < out.size && in.pos == in.size && r->final) {
			/* zstd wants more input but the final message is used up. */
			return rfail(r, cs_err_set(err, CS_ERR_CORRUPT, r->name,
						   "backup truncated (compressed stream incomplete)"));
		}
	}
	*got = out.pos;
	return CS_OK;
}

void cs_bstream_reader_free(struct cs_bstream_reader *r)
{
	if (!r)
		return;
	if (r->st)
		sodium_free(r->st);
	ZSTD_freeDCtx(r->dctx);
	if (r->pbuf)
		sodium_memzero(r->pbuf, CS_BSTREAM_MSG);
	free(r->pbuf);
	free(r->cbuf);
	free(r->ad);
	free(r->name);
	free(r);
}
