/* crypto.c - thin wrappers over libsodium: guarded secrets, AEAD records,
 * keyed chunk ids, content hashes, hex. */
#include "internal.h"

#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int cs_library_init(struct cs_error *err)
{
	if (sodium_init() < 0)
		return cs_err_set(err, CS_ERR_CRYPTO, NULL, "libsodium failed to initialise");
	/* Keys live in this process: keep them out of core files. */
	struct rlimit rl = {0, 0};
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return CS_OK;
}

struct cs_master *cs_master_new(void)
{
	struct cs_master *m = sodium_malloc(sizeof *m);
	if (m)
		sodium_memzero(m, sizeof *m);
	return m;
}

void cs_master_generate(struct cs_master *m)
{
	crypto_box_keypair(m->pk, m->sk);
	randombytes_buf(m->chunk_key, sizeof m->chunk_key);
	randombytes_buf(m->index_key, sizeof m->index_key);
}

void cs_master_free(struct cs_master *m)
{
	if (m)
		sodium_free(m); /* sodium_free wipes before unmapping */
}

unsigned char *cs_secret_alloc(size_t len)
{
	unsigned char *p = sodium_malloc(len);
	if (p)
		sodium_memzero(p, len);
	return p;
}

void cs_secret_free(void *p)
{
	if (p)
		sodium_free(p);
}

void cs_aead_seal(const unsigned char key[CS_KEY_BYTES], const unsigned char *ad, size_t adlen,
		  const void *pt, size_t len, unsigned char *out)
{
	randombytes_buf(out, CS_AEAD_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + CS_AEAD_NONCE_BYTES, NULL, pt, len, ad,
						   adlen, NULL, out, key);
}

int cs_aead_open(const unsigned char key[CS_KEY_BYTES], const unsigned char *ad, size_t adlen,
		 const unsigned char *in, size_t inlen, void *pt, const char *what,
		 struct cs_error *err)
{
	if (inlen < CS_AEAD_OVERHEAD)
		return cs_err_set(err, CS_ERR_CORRUPT, what, "record too short");
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, in + CS_AEAD_NONCE_BYTES,
						       inlen - CS_AEAD_NONCE_BYTES, ad, adlen,
						       in, key) != 0)
		return cs_err_set(err, CS_ERR_CORRUPT, what, "authentication failed");
	return CS_OK;
}

void cs_chunk_id(const unsigned char key[CS_KEY_BYTES], const void *data, size_t len,
		 unsigned char id[CS_HASH_BYTES])
{
	crypto_generichash(id, CS_HASH_BYTES, data, len, key, CS_KEY_BYTES);
}

void cs_hash_init(cs_hash_state *st)
{
	crypto_generichash_init(st, NULL, 0, CS_HASH_BYTES);
}

void cs_hash_update(cs_hash_state *st, const void *data, size_t len)
{
	crypto_generichash_update(st, data, len);
}

void cs_hash_final(cs_hash_state *st, unsigned char out[CS_HASH_BYTES])
{
	crypto_generichash_final(st, out, CS_HASH_BYTES);
}

void cs_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cs_unhex(const char *in, unsigned char *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]);
		if (hi < 0)
			return -1;
		int lo = hexval(in[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return in[2 * len] == '\0' ? 0 : -1;
}
