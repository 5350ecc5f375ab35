/*
 * fuzz_journal.c - the mount-point swap's journal reader (cs_journal_parse).
 * Each input is parsed as it is and again with its checksum line made right
 * (everything up to the last "blake2b " line hashed, a fresh checksum line
 * after it), so mutations of the body get past the checksum.  The encoding is
 * canonical: a journal that parses formats (cs_journal_format) back to exactly
 * its bytes.
 */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

static void parse_one(const char *buf, size_t len)
{
	struct cs_journal j;
	struct cs_error err;
	char *again = NULL;
	size_t again_len = 0;
	cs_error_clear(&err);
	int rc = cs_journal_parse(buf, len, &j, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT);
	if (rc != CS_OK) {
		FUZZ_CHECK(j.old_names == NULL && j.new_names == NULL && j.n_old == 0 &&
			   j.n_new == 0);
		FUZZ_CHECK(strcmp(err.path, CS_JOURNAL_NAME) == 0 &&
			   strncmp(err.what, "line ", 5) == 0);
		return;
	}
	rc = cs_journal_format(&j, &again, &again_len, &err);
	FUZZ_CHECK(rc == CS_OK);
	FUZZ_CHECK(again_len == len && memcmp(again, buf, len) == 0);
	free(again);
	cs_journal_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char key[] = "blake2b ";
	unsigned char sum[CS_HASH_BYTES];
	char hex[2 * CS_HASH_BYTES + 1];
	const char *in = (const char *)data;
	parse_one(in, size);

	/* The body: up to the start of the last line beginning "blake2b ", else all
	 * of it (with a newline added when it lacks one). */
	size_t body = size;
	for (size_t i = size; i-- > 0;) {
		if ((i == 0 || in[i - 1] == '\n') && size - i >= sizeof key - 1 &&
		    memcmp(in + i, key, sizeof key - 1) == 0) {
			body = i;
			break;
		}
	}
	bool add_nl = body == size && size > 0 && in[size - 1] != '\n';
	size_t len = body + add_nl + sizeof key - 1 + 2 * CS_HASH_BYTES + 1;
	char *fixed = malloc(len);
	FUZZ_CHECK(fixed != NULL);
	memcpy(fixed, in, body);
	if (add_nl)
		fixed[body] = '\n';
	crypto_generichash(sum, sizeof sum, (const unsigned char *)fixed, body + add_nl, NULL, 0);
	cs_hex(sum, sizeof sum, hex);
	memcpy(fixed + body + add_nl, key, sizeof key - 1);
	memcpy(fixed + body + add_nl + sizeof key - 1, hex, 2 * CS_HASH_BYTES);
	fixed[len - 1] = '\n';
	parse_one(fixed, len);
	free(fixed);
	return 0;
}
