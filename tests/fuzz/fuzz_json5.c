/*
 * fuzz_json5.c - the JSON5 path rewriter (cs_json5_rewrite_notes,
 * cs_jsonl_rewrite_cwd_notes) and cs_json5_get_string, with fixed rules.
 * Invariants checked on every input:
 *  - outside the rewritten literals the output is the input byte for byte (the
 *    notes give each literal's place in both), and the output parses again;
 *  - rewriting is idempotent (no rule's new prefix starts with an old one);
 *  - "/old" -> "/new" keeps the length, and "/new" -> "/old" gives the input
 *    back, when the input held no "/new" literal to begin with;
 *  - get_string accepts exactly what the rewriter accepts, and errors name a
 *    line that exists.
 */
#include "fuzz.h"

static const struct cs_rewrite move[] = {
	{"/home/alice", "/home/node"},
	{"/home/alice/.openclaw", "/home/node/.openclaw"},
	{"/srv/data/", "/x'y\"z\\w\t\x7f/q"}, /* every byte the writer must escape */
};
#define N_MOVE (sizeof move / sizeof move[0])
static const struct cs_rewrite swap[] = {{"/old", "/new"}};
static const struct cs_rewrite unswap[] = {{"/new", "/old"}};

#define MAX_NOTES 4096
struct note {
	const char *old_raw, *new_raw;
	size_t old_len, new_len, line;
	char quote;
};
static struct note notes[MAX_NOTES];
static size_t n_notes;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

static void on_note(void *ctx, size_t line, const char *old_raw, size_t old_len,
		    const char *new_raw, size_t new_len, char quote)
{
	FUZZ_CHECK(n_notes < MAX_NOTES);
	notes[n_notes++] = (struct note){old_raw, new_raw, old_len, new_len, line, quote};
}

/* The notes tile input and output: equal bytes between literals, quotes around them. */
static void check_notes(const char *in, size_t in_len, const char *out, size_t out_len)
{
	size_t pi = 0, po = 0, line = 1, scanned = 0;
	for (size_t i = 0; i < n_notes; i++) {
		const struct note *nt = &notes[i];
		FUZZ_CHECK(nt->old_raw >= in + pi && nt->old_raw + nt->old_len < in + in_len);
		FUZZ_CHECK(nt->new_raw >= out + po && nt->new_raw + nt->new_len < out + out_len);
		size_t ai = (size_t)(nt->old_raw - in), ao = (size_t)(nt->new_raw - out);
		FUZZ_CHECK(ai - pi == ao - po && memcmp(in + pi, out + po, ai - pi) == 0);
		FUZZ_CHECK(ai > 0 && in[ai - 1] == nt->quote && in[ai + nt->old_len] == nt->quote);
		FUZZ_CHECK(ao > 0 && out[ao - 1] == nt->quote && out[ao + nt->new_len] == nt->quote);
		for (; scanned < ai; scanned++)
			line += in[scanned] == '\n';
		FUZZ_CHECK(nt->line == line);
		pi = ai + nt->old_len;
		po = ao + nt->new_len;
	}
	FUZZ_CHECK(in_len - pi == out_len - po && memcmp(in + pi, out + po, in_len - pi) == 0);
	FUZZ_CHECK(out[out_len] == '\0');
}

static void check_syntax_error(int rc, const struct cs_error *err, const char *in, size_t len)
{
	size_t line = 0, col = 0, lines = 1;
	if (rc != CS_ERR_CORRUPT)
		return;
	FUZZ_CHECK(sscanf(err->what, "not valid JSON5 at line %zu column %zu", &line, &col) == 2);
	for (size_t i = 0; i < len; i++)
		lines += in[i] == '\n';
	FUZZ_CHECK(line >= 1 && line <= lines && col >= 1 && col <= len + 1);
}

/* Parse only: the reference for what is valid. */
static int parses(const char *in, size_t len, bool jsonl)
{
	struct cs_error err;
	char *out = NULL;
	size_t out_len = 0, n = 0;
	cs_error_clear(&err);
	int rc = jsonl ? cs_jsonl_rewrite_cwd(in, len, NULL, 0, &out, &out_len, &n, "t", &err)
		       : cs_json5_rewrite(in, len, NULL, 0, &out, &out_len, &n, "t", &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT);
	FUZZ_CHECK(out == NULL && n == 0);
	check_syntax_error(rc, &err, in, len);
	return rc;
}

/* Rewrite with rules; returns rc, *out malloc'd or NULL, *n rewrites. */
static int rewrite(const char *in, size_t len, bool jsonl, const struct cs_rewrite *rules,
		   size_t n_rules, char **out, size_t *out_len, size_t *n)
{
	struct cs_error err;
	cs_error_clear(&err);
	n_notes = 0;
	int rc = jsonl ? cs_jsonl_rewrite_cwd_notes(in, len, rules, n_rules, out, out_len, n,
						    on_note, NULL, "t", &err)
		       : cs_json5_rewrite_notes(in, len, rules, n_rules, out, out_len, n, on_note,
						NULL, "t", &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == CS_OK || rc == CS_ERR_CORRUPT);
	if (rc != CS_OK) {
		FUZZ_CHECK(*out == NULL && *n == 0 && n_notes == 0);
		return rc;
	}
	FUZZ_CHECK((*out == NULL) == (*n == 0) && n_notes == *n);
	if (*out)
		check_notes(in, len, *out, *out_len);
	return rc;
}

static void one_mode(const char *in, size_t len, bool jsonl)
{
	char *out = NULL, *again = NULL, *back = NULL;
	size_t out_len = 0, again_len = 0, back_len = 0, n = 0, n2 = 0, n3 = 0;
	int valid = parses(in, len, jsonl);

	FUZZ_CHECK(rewrite(in, len, jsonl, move, N_MOVE, &out, &out_len, &n) == valid);
	if (out) {
		FUZZ_CHECK(parses(out, out_len, jsonl) == CS_OK);
		FUZZ_CHECK(rewrite(out, out_len, jsonl, move, N_MOVE, &again, &again_len, &n2) ==
			   CS_OK);
		FUZZ_CHECK(n2 == 0 && again == NULL);
		free(out);
		out = NULL;
	}

	if (valid != CS_OK)
		return;
	FUZZ_CHECK(rewrite(in, len, jsonl, unswap, 1, &back, &back_len, &n3) == CS_OK);
	if (n3 != 0) { /* "/new" already there: the reverse would touch it too */
		free(back);
		return;
	}
	FUZZ_CHECK(rewrite(in, len, jsonl, swap, 1, &out, &out_len, &n) == CS_OK);
	if (!out)
		return;
	FUZZ_CHECK(out_len == len);
	FUZZ_CHECK(rewrite(out, out_len, jsonl, unswap, 1, &back, &back_len, &n3) == CS_OK);
	FUZZ_CHECK(n3 == n && back_len == len && memcmp(back, in, len) == 0);
	free(back);
	free(out);
}

static void get_string(const char *in, size_t len, const char *key, int valid)
{
	struct cs_error err;
	char *got = NULL;
	cs_error_clear(&err);
	int rc = cs_json5_get_string(in, len, key, &got, "t", &err);
	fuzz_check_rc(rc, &err);
	FUZZ_CHECK(rc == valid);
	FUZZ_CHECK(rc == CS_OK || got == NULL);
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	one_mode(in, size, false);
	one_mode(in, size, true);
	int valid = parses(in, size, false);
	get_string(in, size, "agents.defaults.workspace", valid);
	get_string(in, size, "a", valid);
	get_string(in, size, "", valid);
	return 0;
}
