/*
 * fuzz_backup.c - the backup stream reader end to end: the input is a whole
 * backup file, read from a memfd by cs_verify_backup with the fake key file
 * (header, slots, sealed file key, secretstream, zstd, pax tar, manifest,
 * members and hashes).  The seeds are real backups made with that key
 * (tests/fuzz/mkseeds.sh), so mutations of the plaintext header get past the
 * key slot; fuzz_payload reaches the decrypted layers more often.
 */
#include "fuzz.h"

static struct cs_cred *cred;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	cred = fuzz_key();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_verify_result res;
	struct cs_error err;
	int fd = fuzz_memfd(data, size);
	cs_error_clear(&err);
	int rc = cs_verify_backup(fd, "fuzz.backup", cred, &res, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT || rc == CS_ERR_HOSTILE ||
		   rc == CS_ERR_VERSION || rc == CS_ERR_KEY);
	if (rc == CS_OK)
		FUZZ_CHECK(res.snapshots == 1 && res.files <= res.entries &&
			   res.entries == res.info.entries);
	return 0;
}
