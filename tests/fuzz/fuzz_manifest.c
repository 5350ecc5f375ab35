/*
 * fuzz_manifest.c - the NDJSON manifest parser: line 1 through
 * cs_manifest_parse_header, every further line through cs_manifest_parse_entry,
 * then cs_entries_validate on the entries that parsed.  A line that parses must
 * encode again (cs_manifest_*_line) and parse back to the same values.
 */
#include "fuzz.h"

#define MAX_ENTRIES 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_entry(const struct cs_entry *a, const struct cs_entry *b)
{
	if (strcmp(a->path, b->path) != 0 || a->type != b->type || a->mode != b->mode ||
	    a->uid != b->uid || a->gid != b->gid || a->mtime_sec != b->mtime_sec ||
	    a->mtime_nsec != b->mtime_nsec || a->size != b->size ||
	    memcmp(a->hash, b->hash, sizeof a->hash) != 0 || !same_str(a->target, b->target) ||
	    a->cls != b->cls || a->is_sqlite != b->is_sqlite || a->n_xattrs != b->n_xattrs)
		return false;
	for (size_t i = 0; i < a->n_xattrs; i++) {
		const struct cs_xattr *x = &a->xattrs[i], *y = &b->xattrs[i];
		if (strcmp(x->name, y->name) != 0 || x->len != y->len ||
		    (x->len && memcmp(x->value, y->value, x->len) != 0))
			return false;
	}
	return true;
}

static bool same_info(const struct cs_snapshot_info *a, const struct cs_snapshot_info *b)
{
	return a->seq == b->seq && a->started_sec == b->started_sec &&
	       a->started_nsec == b->started_nsec && a->finished_sec == b->finished_sec &&
	       a->finished_nsec == b->finished_nsec && !strcmp(a->tag, b->tag) &&
	       !strcmp(a->state_dir, b->state_dir) && !strcmp(a->home, b->home) &&
	       !strcmp(a->layout, b->layout) && a->uid == b->uid && a->gid == b->gid &&
	       a->root_mode == b->root_mode && a->root_mtime_sec == b->root_mtime_sec &&
	       a->root_mtime_nsec == b->root_mtime_nsec && a->entries == b->entries &&
	       a->files == b->files && a->bytes == b->bytes && a->partial == b->partial;
}

static void header_line(const char *line, size_t len)
{
	struct cs_snapshot_info info, info2;
	unsigned char vid[CS_VAULT_ID_BYTES], vid2[CS_VAULT_ID_BYTES];
	uint64_t n = 0, n2 = 0;
	struct cs_error err;
	char *enc = NULL;
	size_t enc_len = 0;
	cs_error_clear(&err);
	int rc = cs_manifest_parse_header(line, len, &info, vid, &n, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT || rc == CS_ERR_VERSION ||
		   rc == CS_ERR_HOSTILE);
	if (rc != CS_OK)
		return;
	FUZZ_CHECK(n == info.entries && n <= CS_CAP_ENTRIES);
	rc = cs_manifest_header_line(&info, vid, n, &enc, &enc_len, &err);
	FUZZ_CHECK(rc == CS_OK);
	FUZZ_CHECK(enc_len > 0 && enc[enc_len - 1] == '\n' && strlen(enc) == enc_len);
	rc = cs_manifest_parse_header(enc, enc_len, &info2, vid2, &n2, &err);
	FUZZ_CHECK(rc == CS_OK);
	FUZZ_CHECK(n2 == n && memcmp(vid, vid2, sizeof vid) == 0 && same_info(&info, &info2));
	free(enc);
}

/* Parse one entry line into *e; on success check its round trip. */
static bool entry_line(const char *line, size_t len, uint64_t lineno, struct cs_entry *e)
{
	struct cs_error err;
	struct cs_entry back;
	char *enc = NULL;
	size_t enc_len = 0;
	cs_error_clear(&err);
	int rc = cs_manifest_parse_entry(line, len, lineno, e, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT);
	if (rc != CS_OK) {
		FUZZ_CHECK(e->path == NULL && e->target == NULL && e->xattrs == NULL);
		return false;
	}
	FUZZ_CHECK(e->path && e->path[0] != '\0' && strlen(e->path) <= CS_CAP_PATH);
	rc = cs_manifest_entry_line(e, &enc, &enc_len, &err);
	FUZZ_CHECK(rc == CS_OK);
	FUZZ_CHECK(enc_len > 0 && enc[enc_len - 1] == '\n' && strlen(enc) == enc_len);
	rc = cs_manifest_parse_entry(enc, enc_len, lineno, &back, &err);
	FUZZ_CHECK(rc == CS_OK);
	FUZZ_CHECK(same_entry(e, &back));
	cs_entry_free(&back);
	free(enc);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct cs_entry *entries = NULL;
	struct cs_error err;
	size_t n = 0, cap = 0;
	uint64_t lineno = 0;
	while (p < end && n < MAX_ENTRIES) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			FUZZ_CHECK((entries = realloc(entries, cap * sizeof *entries)) != NULL);
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* Each line in a buffer of its own, so ASan sees a read past it. */
		char *line = malloc(len ? len : 1);
		FUZZ_CHECK(line != NULL);
		memcpy(line, p, len);
		if (++lineno == 1)
			header_line(line, len);
		else if (entry_line(line, len, lineno, &entries[n]))
			n++;
		free(line);
		p += len;
	}
	cs_error_clear(&err);
	int rc = cs_entries_validate(entries, n, &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_HOSTILE);
	for (size_t i = 0; i < n; i++)
		cs_entry_free(&entries[i]);
	free(entries);
	return 0;
}
