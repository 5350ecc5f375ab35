/* keyslot.c - key slots: the vault's master secrets wrapped under a key derived
 * from a passphrase (Argon2id) or a key file (keyed BLAKE2b). */
#include "internal.h"

#include <string.h>

#define SLOT_AD_PREFIX "clawstate-slot-v1"
#define SLOT_AD_BYTES (sizeof SLOT_AD_PREFIX - 1 + CS_VAULT_ID_BYTES + 4 + 1 + 1 + 8 + 8 + 16)
#define KEYFILE_MSG "clawstate keyfile slot v1"

static int kdf_params(int kdf, uint64_t *ops, uint64_t *mem, struct cs_error *err)
{
	switch (kdf) {
	case CS_KDF_INTERACTIVE:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		return CS_OK;
	case 0: /* the default preset */
	case CS_KDF_MODERATE:
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
		return CS_OK;
	case CS_KDF_SENSITIVE:
		*ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
		*mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
		return CS_OK;
	}
	return cs_err_set(err, CS_ERR_USAGE, NULL, "unknown key derivation preset %d", kdf);
}

/* The associated data binds every stored parameter to the vault and slot, so
 * a slot copied to another vault or with edited costs no longer opens. */
static void slot_ad(const unsigned char vault_id[CS_VAULT_ID_BYTES], const struct cs_slot *s,
		    unsigned char ad[SLOT_AD_BYTES])
{
	unsigned char *p = ad;
	memcpy(p, SLOT_AD_PREFIX, sizeof SLOT_AD_PREFIX - 1);
	p += sizeof SLOT_AD_PREFIX - 1;
	memcpy(p, vault_id, CS_VAULT_ID_BYTES);
	p += CS_VAULT_ID_BYTES;
	cs_be32(p, s->id);
	p += 4;
	*p++ = s->kind;
	*p++ = s->role;
	cs_be64(p, s->opslimit);
	p += 8;
	cs_be64(p, s->memlimit);
	p += 8;
	memcpy(p, s->salt, sizeof s->salt);
}

static int slot_key(const struct cs_slot *s, const struct cs_cred *cred, unsigned char *key,
		    struct cs_error *err)
{
	if (s->kind == CS_CRED_PASSPHRASE) {
		if (crypto_pwhash(key, CS_KEY_BYTES, (const char *)cred->secret, cred->len, s->salt,
				  s->opslimit, (size_t)s->memlimit,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
			return cs_err_set(err, CS_ERR_NOMEM, NULL,
					  "Argon2id needs %llu MiB of memory",
					  (unsigned long long)(s->memlimit >> 20));
		return CS_OK;
	}
	unsigned char msg[sizeof KEYFILE_MSG - 1 + sizeof s->salt];
	memcpy(msg, KEYFILE_MSG, sizeof KEYFILE_MSG - 1);
	memcpy(msg + sizeof KEYFILE_MSG - 1, s->salt, sizeof s->salt);
	crypto_generichash(key, CS_KEY_BYTES, msg, sizeof msg, cred->secret, cred->len);
	return CS_OK;
}

static int cred_fits(const struct cs_cred *cred, struct cs_error *err)
{
	if (!cred || !cred->secret)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "no credential");
	if (cred->kind == CS_CRED_PASSPHRASE && cred->len == 0)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "empty passphrase");
	if (cred->kind == CS_CRED_KEYFILE && cred->len != CS_KEY_BYTES)
		return cs_err_set(err, CS_ERR_KEY, NULL, "key file must hold 32 bytes");
	if (cred->kind != CS_CRED_PASSPHRASE && cred->kind != CS_CRED_KEYFILE)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "unknown credential kind %d",
				  cred->kind);
	return CS_OK;
}

int cs_slots_check_total(const struct cs_slot *slots, size_t n, struct cs_error *err)
{
	unsigned long long work = 0;
	for (size_t i = 0; i < n; i++)
		if (slots[i].kind == CS_CRED_PASSPHRASE)
			work += (slots[i].memlimit >> 20) * slots[i].opslimit; /* each capped */
	if (work > CS_CAP_ARGON_TOTAL)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL,
				  "key slots ask for too much Argon2id work together (%llu MiB x "
				  "passes, at most %llu)",
				  work, (unsigned long long)CS_CAP_ARGON_TOTAL);
	return CS_OK;
}

int cs_slot_check(const struct cs_slot *s, struct cs_error *err)
{
	if (s->role != CS_SLOT_FULL)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "key slot %u: unknown role %u",
				  s->id, s->role);
	if (s->kind == CS_CRED_KEYFILE) {
		if (s->opslimit != 0 || s->memlimit != 0)
			return cs_err_set(err, CS_ERR_CORRUPT, NULL,
					  "key slot %u: key-file slot with Argon2 parameters",
					  s->id);
		return CS_OK;
	}
	if (s->kind != CS_CRED_PASSPHRASE)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "key slot %u: unknown kind %u",
				  s->id, s->kind);
	if (s->opslimit > CS_CAP_ARGON_OPS || s->memlimit > CS_CAP_ARGON_MEM)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL,
				  "key slot %u asks for Argon2id with %llu passes and %llu MiB "
				  "(limit %llu passes, %llu MiB)",
				  s->id, (unsigned long long)s->opslimit,
				  (unsigned long long)(s->memlimit >> 20),
				  (unsigned long long)CS_CAP_ARGON_OPS,
				  (unsigned long long)(CS_CAP_ARGON_MEM >> 20));
	if (s->opslimit < crypto_pwhash_OPSLIMIT_MIN || s->memlimit < crypto_pwhash_MEMLIMIT_MIN)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL,
				  "key slot %u: Argon2id parameters below the minimum", s->id);
	return CS_OK;
}

int cs_slot_create(const unsigned char vault_id[CS_VAULT_ID_BYTES], uint32_t slot_id,
		   const struct cs_cred *cred, int kdf, const struct cs_master *m,
		   struct cs_slot *out, struct cs_error *err)
{
	int rc = CS_OK;
	unsigned char *key = NULL;
	unsigned char ad[SLOT_AD_BYTES];

	memset(out, 0, sizeof *out);
	if ((rc = cred_fits(cred, err)) != CS_OK)
		goto out;
	out->id = slot_id;
	out->kind = (uint8_t)cred->kind;
	out->role = CS_SLOT_FULL;
	if (cred->kind == CS_CRED_PASSPHRASE &&
	    (rc = kdf_params(kdf, &out->opslimit, &out->memlimit, err)) != CS_OK)
		goto out;
	randombytes_buf(out->salt, sizeof out->salt);
	if ((rc = cs_slot_check(out, err)) != CS_OK)
		goto out;
	if (!(key = cs_secret_alloc(CS_KEY_BYTES))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of guarded memory");
		goto out;
	}
	if ((rc = slot_key(out, cred, key, err)) != CS_OK)
		goto out;
	slot_ad(vault_id, out, ad);
	cs_aead_seal(key, ad, sizeof ad, m, CS_MASTER_BYTES, out->wrapped);
out:
	cs_secret_free(key);
	return rc;
}

int cs_slot_open(const unsigned char vault_id[CS_VAULT_ID_BYTES], const struct cs_slot *s,
		 const struct cs_cred *cred, struct cs_master *m, struct cs_error *err)
{
	int rc = CS_OK;
	unsigned char *key = NULL;
	unsigned char ad[SLOT_AD_BYTES];

	/* Caps first: a hostile slot must not make us allocate or spin. */
	if ((rc = cs_slot_check(s, err)) != CS_OK)
		goto out;
	if ((rc = cred_fits(cred, err)) != CS_OK)
		goto out;
	if (cred->kind != s->kind) {
		rc = cs_err_set(err, CS_ERR_KEY, NULL, "key slot %u is for another credential kind",
				s->id);
		goto out;
	}
	if (!(key = cs_secret_alloc(CS_KEY_BYTES))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of guarded memory");
		goto out;
	}
	if ((rc = slot_key(s, cred, key, err)) != CS_OK)
		goto out;
	slot_ad(vault_id, s, ad);
	if (cs_aead_open(key, ad, sizeof ad, s->wrapped, sizeof s->wrapped, m, NULL, err) !=
	    CS_OK) {
		sodium_memzero(m, CS_MASTER_BYTES);
		rc = cs_err_set(err, CS_ERR_KEY, NULL, "wrong passphrase or key file");
		goto out;
	}
out:
	cs_secret_free(key);
	return rc;
}

void cs_slot_encode(const struct cs_slot *s, unsigned char out[CS_SLOT_ENCODED_BYTES])
{
	unsigned char *p = out;
	cs_be32(p, s->id);
	p += 4;
	*p++ = s->kind;
	*p++ = s->role;
	*p++ = 0; /* reserved */
	*p++ = 0;
	cs_be64(p, s->opslimit);
	p += 8;
	cs_be64(p, s->memlimit);
	p += 8;
	memcpy(p, s->salt, sizeof s->salt);
	p += sizeof s->salt;
	memcpy(p, s->wrapped, sizeof s->wrapped);
}

int cs_slot_decode(const unsigned char *in, size_t len, struct cs_slot *s, struct cs_error *err)
{
	memset(s, 0, sizeof *s);
	if (len != CS_SLOT_ENCODED_BYTES)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "key slot of %zu bytes, want %d", len,
				  (int)CS_SLOT_ENCODED_BYTES);
	const unsigned char *p = in;
	s->id = cs_rd32(p);
	p += 4;
	s->kind = *p++;
	s->role = *p++;
	if (p[0] != 0 || p[1] != 0)
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "key slot %u: reserved bytes set",
				  s->id);
	p += 2;
	s->opslimit = cs_rd64(p);
	p += 8;
	s->memlimit = cs_rd64(p);
	p += 8;
	memcpy(s->salt, p, sizeof s->salt);
	p += sizeof s->salt;
	memcpy(s->wrapped, p, sizeof s->wrapped);
	return CS_OK;
}
