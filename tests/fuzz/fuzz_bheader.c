/*
 * fuzz_bheader.c - the backup header parser (cs_bheader_parse, cs_bheader_read,
 * cs_bheader_unlock).  Each input is parsed as it is and again with its checksum
 * made right, so mutations reach the slot checks behind it.  A header that
 * parses must encode back to exactly its bytes; one whose key-file slot opens
 * with the fake key must unseal or be refused, never more.
 */
#include "fuzz.h"

static struct cs_cred *cred;
static struct cs_bheader h, again; /* 64 KiB each: not on the stack */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	cred = fuzz_key();
	return 0;
}

static void parse_one(const unsigned char *buf, size_t len)
{
	struct cs_error err;
	unsigned char file_key[CS_KEY_BYTES];
	cs_error_clear(&err);
	int rc = cs_bheader_parse(buf, len, "fuzz.backup", &h, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT || rc == CS_ERR_VERSION);
	if (rc != CS_OK)
		return;
	FUZZ_CHECK(h.len == cs_bheader_size(h.n_slots) && h.len <= len);
	FUZZ_CHECK(h.n_slots >= 1 && h.n_slots <= CS_BHEADER_MAX_SLOTS);

	/* The encoding is canonical: what parsed encodes back byte for byte. */
	memset(&again, 0, sizeof again);
	memcpy(again.vault_id, h.vault_id, sizeof h.vault_id);
	again.seq = h.seq;
	again.created = h.created;
	again.epoch = h.epoch;
	again.n_slots = h.n_slots;
	memcpy(again.slots, h.slots, h.n_slots * sizeof h.slots[0]);
	memcpy(again.sealed_key, h.sealed_key, sizeof h.sealed_key);
	memcpy(again.ss_header, h.ss_header, sizeof h.ss_header);
	FUZZ_CHECK(cs_bheader_encode(&again, &err) == CS_OK);
	FUZZ_CHECK(again.len == h.len && memcmp(again.raw, buf, h.len) == 0);

	/* Key-file slots only: a passphrase slot would run Argon2 (capped, but
	 * seconds per input). */
	cs_error_clear(&err);
	rc = cs_bheader_unlock(&h, cred, "fuzz.backup", file_key, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_KEY || rc == CS_ERR_CORRUPT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_error err;
	parse_one(data, size);

	/* The same with the checksum the declared length asks for. */
	if (size >= 16) {
		uint32_t hlen = cs_rd32(data + 12);
		if (hlen >= CS_HASH_BYTES && hlen <= size && hlen <= CS_BHEADER_CAP) {
			unsigned char *fixed = malloc(size);
			FUZZ_CHECK(fixed != NULL);
			memcpy(fixed, data, size);
			crypto_generichash(fixed + hlen - CS_HASH_BYTES, CS_HASH_BYTES, fixed,
					   hlen - CS_HASH_BYTES, NULL, 0);
			parse_one(fixed, size);
			free(fixed);
		}
	}

	/* And read from a file: the prefix first, then as many bytes as it declares. */
	int fd = fuzz_memfd(data, size);
	cs_error_clear(&err);
	int rc = cs_bheader_read(fd, "fuzz.backup", &h, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT || rc == CS_ERR_VERSION);
	if (rc == CS_OK)
		FUZZ_CHECK(h.len <= size && memcmp(h.raw, data, h.len) == 0);
	return 0;
}
