/* bheader.c - the backup file's plaintext header: encode it, parse and check it
 * in the documented order, open a key slot and unseal the file key. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define OFF_VERSION 8
#define OFF_FLAGS 10
#define OFF_LEN 12
#define OFF_VAULT 16
#define OFF_SEQ 32
#define OFF_CREATED 40
#define OFF_EPOCH 48
#define OFF_NSLOTS 52
#define PREFIX_BYTES 16 /* magic, version, flags, length: enough to decide how much to read */

static const unsigned char magic[8] = CS_BACKUP_MAGIC;

static void be16(unsigned char out[2], uint16_t v)
{
	out[0] = (unsigned char)(v >> 8);
	out[1] = (unsigned char)v;
}

static uint16_t rd16(const unsigned char in[2])
{
	return (uint16_t)((in[0] << 8) | in[1]);
}

/* Errors from keyslot.c carry no path; a header error should name the file. */
static int name_err(struct cs_error *err, const char *name, int rc)
{
	if (err && name)
		snprintf(err->path, sizeof err->path, "%s", name);
	return rc;
}

size_t cs_bheader_size(size_t n_slots)
{
	return CS_BHEADER_FIXED + n_slots * CS_SLOT_ENCODED_BYTES + CS_SEALED_KEY_BYTES +
	       CS_SS_HEADER_BYTES + CS_HASH_BYTES;
}

int cs_bheader_encode(struct cs_bheader *h, struct cs_error *err)
{
	if (h->n_slots < 1 || h->n_slots > CS_BHEADER_MAX_SLOTS)
		return cs_err_set(err, CS_ERR_USAGE, NULL,
				  "a backup header holds 1 to %d key slots, not %zu",
				  CS_BHEADER_MAX_SLOTS, h->n_slots);
	size_t len = cs_bheader_size(h->n_slots);
	unsigned char *p = h->raw;
	h->version = CS_BACKUP_FORMAT;
	h->flags = 0;
	memcpy(p, magic, sizeof magic);
	be16(p + OFF_VERSION, h->version);
	be16(p + OFF_FLAGS, h->flags);
	cs_be32(p + OFF_LEN, (uint32_t)len);
	memcpy(p + OFF_VAULT, h->vault_id, CS_VAULT_ID_BYTES);
	cs_be64(p + OFF_SEQ, h->seq);
	cs_be64(p + OFF_CREATED, h->created);
	cs_be32(p + OFF_EPOCH, h->epoch);
	p[OFF_NSLOTS] = (unsigned char)h->n_slots;
	size_t off = CS_BHEADER_FIXED;
	for (size_t i = 0; i < h->n_slots; i++, off += CS_SLOT_ENCODED_BYTES)
		cs_slot_encode(&h->slots[i], p + off);
	memcpy(p + off, h->sealed_key, CS_SEALED_KEY_BYTES);
	off += CS_SEALED_KEY_BYTES;
	memcpy(p + off, h->ss_header, CS_SS_HEADER_BYTES);
	off += CS_SS_HEADER_BYTES;
	crypto_generichash(p + off, CS_HASH_BYTES, p, off, NULL, 0);
	h->len = len;
	return CS_OK;
}

/* Checks 1-3 need only the first 16 bytes; shared by parse and read so a file
 * that is not a backup is refused before we read more of it. */
static int check_prefix(const unsigned char *buf, size_t len, const char *name, uint32_t *hlen,
			struct cs_error *err)
{
	if (len < sizeof magic || memcmp(buf, magic, sizeof magic) != 0)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "not a clawstate backup");
	if (len < PREFIX_BYTES)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "backup truncated in its header");
	uint16_t version = rd16(buf + OFF_VERSION);
	if (version > CS_BACKUP_FORMAT)
		return cs_err_set(err, CS_ERR_VERSION, name,
				  "backup format version %u is newer than supported (%d)", version,
				  CS_BACKUP_FORMAT);
	if (version == 0)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "backup format version 0 is invalid");
	*hlen = cs_rd32(buf + OFF_LEN);
	if (*hlen < cs_bheader_size(1) || *hlen > CS_BHEADER_CAP)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "header length %u out of range",
				  *hlen);
	return CS_OK;
}

int cs_bheader_parse(const unsigned char *buf, size_t len, const char *name,
		     struct cs_bheader *h, struct cs_error *err)
{
	int rc;
	uint32_t hlen = 0;
	if ((rc = check_prefix(buf, len, name, &hlen, err)) != CS_OK)
		return rc;
	if (len < hlen)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "backup truncated in its header");
	unsigned char sum[CS_HASH_BYTES];
	crypto_generichash(sum, sizeof sum, buf, hlen - CS_HASH_BYTES, NULL, 0);
	if (sodium_memcmp(sum, buf + hlen - CS_HASH_BYTES, CS_HASH_BYTES) != 0)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "header checksum mismatch");
	size_t n = buf[OFF_NSLOTS];
	if (n < 1 || n > CS_BHEADER_MAX_SLOTS)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "header lists %zu key slots (1 to %d)",
				  n, CS_BHEADER_MAX_SLOTS);
	if (hlen != cs_bheader_size(n))
		return cs_err_set(err, CS_ERR_CORRUPT, name,
				  "header length %u does not fit %zu key slots", hlen, n);
	uint16_t flags = rd16(buf + OFF_FLAGS);
	if (flags != 0)
		return cs_err_set(err, CS_ERR_CORRUPT, name, "unknown header flags 0x%04x", flags);

	if (buf != h->raw)
		memmove(h->raw, buf, hlen);
	h->len = hlen;
	h->version = rd16(h->raw + OFF_VERSION);
	h->flags = flags;
	memcpy(h->vault_id, h->raw + OFF_VAULT, CS_VAULT_ID_BYTES);
	h->seq = cs_rd64(h->raw + OFF_SEQ);
	h->created = cs_rd64(h->raw + OFF_CREATED);
	h->epoch = cs_rd32(h->raw + OFF_EPOCH);
	h->n_slots = n;
	size_t off = CS_BHEADER_FIXED;
	for (size_t i = 0; i < n; i++, off += CS_SLOT_ENCODED_BYTES) {
		struct cs_slot *s = &h->slots[i];
		if ((rc = cs_slot_decode(h->raw + off, CS_SLOT_ENCODED_BYTES, s, err)) != CS_OK)
			return name_err(err, name, rc);
		/* Before any derivation: a hostile header must not make us spend
		 * gigabytes or minutes (DESIGN §4). */
		if (s->memlimit > CS_CAP_ARGON_MEM)
			return cs_err_set(err, CS_ERR_CORRUPT, name,
					  "key slot %u asks for too much memory (%llu MiB, at most %llu)",
					  s->id, (unsigned long long)(s->memlimit >> 20),
					  (unsigned long long)(CS_CAP_ARGON_MEM >> 20));
		if (s->opslimit > CS_CAP_ARGON_OPS)
			return cs_err_set(err, CS_ERR_CORRUPT, name,
					  "key slot %u asks for too many passes (%llu, at most %llu)",
					  s->id, (unsigned long long)s->opslimit,
					  (unsigned long long)CS_CAP_ARGON_OPS);
		if ((rc = cs_slot_check(s, err)) != CS_OK)
			return name_err(err, name, rc);
	}
	if ((rc = cs_slots_check_total(h->slots, h->n_slots, err)) != CS_OK)
		return name_err(err, name, rc);
	memcpy(h->sealed_key, h->raw + off, CS_SEALED_KEY_BYTES);
	off += CS_SEALED_KEY_BYTES;
	memcpy(h->ss_header, h->raw + off, CS_SS_HEADER_BYTES);
	return CS_OK;
}

int cs_bheader_read(int fd, const char *name, struct cs_bheader *h, struct cs_error *err)
{
	int rc;
	size_t got = 0;
	uint32_t hlen = 0;
	if ((rc = cs_read_full(fd, h->raw, PREFIX_BYTES, &got, name, err)) != CS_OK)
		return rc;
	if ((rc = check_prefix(h->raw, got, name, &hlen, err)) != CS_OK)
		return rc;
	size_t rest = 0;
	if ((rc = cs_read_full(fd, h->raw + PREFIX_BYTES, hlen - PREFIX_BYTES, &rest, name,
			       err)) != CS_OK)
		return rc;
	return cs_bheader_parse(h->raw, PREFIX_BYTES + rest, name, h, err);
}

int cs_bheader_unlock(const struct cs_bheader *h, const struct cs_cred *cred, const char *name,
		      unsigned char file_key[CS_KEY_BYTES], struct cs_error *err)
{
	int rc = CS_OK;
	bool opened = false;
	struct cs_master *m = cs_master_new();
	if (!m)
		return cs_err_set(err, CS_ERR_NOMEM, name, "out of guarded memory");
	if (!cred || !cred->secret) {
		rc = cs_err_set(err, CS_ERR_USAGE, name, "no credential");
		goto out;
	}
	for (size_t i = 0; i < h->n_slots && !opened; i++) {
		if (h->slots[i].kind != cred->kind)
			continue;
		rc = cs_slot_open(h->vault_id, &h->slots[i], cred, m, err);
		if (rc == CS_OK)
			opened = true;
		else if (rc != CS_ERR_KEY) {
			name_err(err, name, rc);
			goto out;
		}
	}
	if (!opened) {
		rc = cs_err_set(err, CS_ERR_KEY, name, "wrong passphrase or key file");
		goto out;
	}
	if (crypto_box_seal_open(file_key, h->sealed_key, CS_SEALED_KEY_BYTES, m->pk, m->sk) != 0) {
		rc = cs_err_set(err, CS_ERR_CORRUPT, name,
				"the sealed file key does not open with the vault key");
		goto out;
	}
	rc = CS_OK;
out:
	cs_master_free(m);
	return rc;
}
