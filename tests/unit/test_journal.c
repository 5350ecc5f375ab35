/* test_journal.c - the mount-point swap's journal: round trips with odd names,
 * every truncation and every bit flip refused, exact reasons for bad fields. */
#include "internal.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static char *names_a[] = {"openclaw.json", "sp ace", "new\nline", "per%cent", "\x01\x7f\xff",
			  "tab\there", "...", "x"};
static char *names_b[] = {"workspace", "openclaw.json", "caf\xc3\xa9", ".env"};

static void sample(struct cs_journal *j, char **old, size_t n_old, char **new_, size_t n_new)
{
	memset(j, 0, sizeof *j);
	strcpy(j->stage, ".clawstate-stage-0a1b2c3d");
	strcpy(j->old, ".clawstate-old-42.3");
	j->keep = true;
	j->root.mode = 02750;
	j->root.set_owner = true;
	j->root.uid = 1000;
	j->root.gid = 4294967294u;
	j->root.set_mtime = true;
	j->root.mtime_sec = 1700000000;
	j->root.mtime_nsec = 123456789;
	j->old_names = old;
	j->n_old = n_old;
	j->new_names = new_;
	j->n_new = n_new;
}

static bool lists_equal(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool same(const struct cs_journal *a, const struct cs_journal *b)
{
	const struct cs_root_meta *x = &a->root, *y = &b->root;
	return !strcmp(a->stage, b->stage) && !strcmp(a->old, b->old) && a->keep == b->keep &&
	       x->mode == y->mode && x->set_owner == y->set_owner &&
	       (!x->set_owner || (x->uid == y->uid && x->gid == y->gid)) &&
	       x->set_mtime == y->set_mtime &&
	       (!x->set_mtime ||
		(x->mtime_sec == y->mtime_sec && x->mtime_nsec == y->mtime_nsec)) &&
	       lists_equal(a->old_names, a->n_old, b->old_names, b->n_old) &&
	       lists_equal(a->new_names, a->n_new, b->new_names, b->n_new);
}

/* A body (every line but the checksum) with its correct checksum line added. */
static char *sealed(const char *body, size_t *len)
{
	unsigned char sum[CS_HASH_BYTES];
	char hex[2 * CS_HASH_BYTES + 1];
	cs_hash_state hs;
	size_t n = strlen(body);
	char *out = malloc(n + 80);
	cs_hash_init(&hs);
	cs_hash_update(&hs, body, n);
	cs_hash_final(&hs, sum);
	cs_hex(sum, sizeof sum, hex);
	*len = (size_t)sprintf(out, "%sblake2b %s\n", body, hex);
	return out;
}

/* Parse a sealed body: CS_ERR_CORRUPT with exactly this reason. */
static bool refused(const char *body, const char *want)
{
	struct cs_journal j;
	size_t len;
	char *buf = sealed(body, &len);
	cs_error_clear(&check_err);
	int rc = cs_journal_parse(buf, len, &j, &check_err);
	free(buf);
	bool ok = rc == CS_ERR_CORRUPT && !strcmp(check_err.what, want) &&
		  !strcmp(check_err.path, CS_JOURNAL_NAME) && j.n_old == 0 && j.n_new == 0 &&
		  !j.old_names && !j.new_names;
	if (!ok)
		fprintf(stderr, "  got %d '%s', want '%s'\n", rc, check_err.what, want);
	return ok;
}

static const char HEAD[] = "clawstate-journal 1\n"
			   "stage .clawstate-stage-0a1b2c3d\n"
			   "old .clawstate-old-7\n"
			   "keep no\n"
			   "mode 0700\n"
			   "owner -\n"
			   "mtime -\n";

static char *with_head(const char *rest)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "%s%s", HEAD, rest);
	return buf;
}

static void test_round_trip(void)
{
	struct cs_journal j, back;
	char *buf = NULL;
	size_t len = 0;
	char *old[8], *new_[4];
	memcpy(old, names_a, sizeof old);
	memcpy(new_, names_b, sizeof new_);
	sample(&j, old, 8, new_, 4);
	CHECK_OK(cs_journal_format(&j, &buf, &len, &check_err));
	CHECK(buf && strlen(buf) == len);
	/* The lists come out sorted, the names escaped. */
	CHECK(!strcmp(j.old_names[0], "\x01\x7f\xff"));
	CHECK(strstr(buf, "\n%01%7F%FF\n") && strstr(buf, "\nnew%0Aline\n") &&
	      strstr(buf, "\nsp%20ace\n") && strstr(buf, "\nper%25cent\n") &&
	      strstr(buf, "\ntab%09here\n") && strstr(buf, "\ncaf%C3%A9\n"));
	CHECK(strstr(buf, "\nmode 2750\nowner 1000:4294967294\nmtime 1700000000.123456789\n"));
	CHECK(strstr(buf, "\nold-entries 8\n") && strstr(buf, "\nnew-entries 4\n"));
	static const char top[] = "clawstate-journal 1\nstage .clawstate-stage-0a1b2c3d\n"
				  "old .clawstate-old-42.3\nkeep yes\n";
	CHECK(!strncmp(buf, top, sizeof top - 1));
	CHECK_OK(cs_journal_parse(buf, len, &back, &check_err));
	CHECK(same(&j, &back));
	cs_journal_free(&back);
	CHECK(back.old_names == NULL && back.n_old == 0);

	/* Without owner and mtime, a negative time, empty lists. */
	free(buf);
	sample(&j, NULL, 0, NULL, 0);
	j.keep = false;
	j.root.set_owner = false;
	j.root.mtime_sec = -5;
	j.root.mtime_nsec = 7;
	CHECK_OK(cs_journal_format(&j, &buf, &len, &check_err));
	CHECK(strstr(buf, "\nkeep no\nmode 2750\nowner -\nmtime -5.000000007\n"
			  "old-entries 0\nnew-entries 0\nblake2b "));
	CHECK_OK(cs_journal_parse(buf, len, &back, &check_err));
	CHECK(same(&j, &back) && back.root.uid == 0);
	cs_journal_free(&back);
	free(buf);

	/* The longest name there is. */
	char longname[256];
	memset(longname, '\n', 255);
	longname[255] = '\0';
	char *one[] = {longname};
	sample(&j, one, 1, one, 1);
	CHECK_OK(cs_journal_format(&j, &buf, &len, &check_err));
	CHECK_OK(cs_journal_parse(buf, len, &back, &check_err));
	CHECK(same(&j, &back) && strlen(back.old_names[0]) == 255);
	cs_journal_free(&back);
	free(buf);
}

/* Any prefix of a journal is refused, and so is any single flipped bit. */
static void test_damage(void)
{
	struct cs_journal j, back;
	char *buf = NULL;
	size_t len = 0;
	char *old[8], *new_[4];
	memcpy(old, names_a, sizeof old);
	memcpy(new_, names_b, sizeof new_);
	sample(&j, old, 8, new_, 4);
	CHECK_OK(cs_journal_format(&j, &buf, &len, &check_err));
	int bad_trunc = 0, bad_flip = 0;
	for (size_t n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so a read past it is caught by ASan. */
		char *cut = malloc(n ? n : 1);
		memcpy(cut, buf, n);
		if (cs_journal_parse(cut, n, &back, &check_err) != CS_ERR_CORRUPT)
			bad_trunc++;
		free(cut);
	}
	CHECK(bad_trunc == 0);
	CHECK(cs_journal_parse(buf, 0, &back, &check_err) == CS_ERR_CORRUPT &&
	      !strcmp(check_err.what, "line 1: truncated (the journal ends here)"));
	CHECK(cs_journal_parse(buf, len - 1, &back, &check_err) == CS_ERR_CORRUPT &&
	      !strcmp(check_err.what, "line 22: truncated (no newline at the end)"));
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			buf[i] ^= (char)(1 << b);
			if (cs_journal_parse(buf, len, &back, &check_err) != CS_ERR_CORRUPT)
				bad_flip++;
			buf[i] ^= (char)(1 << b);
		}
	}
	CHECK(bad_flip == 0);
	/* The last body byte flipped: only the checksum can tell. */
	buf[len - 75] ^= 1;
	CHECK(cs_journal_parse(buf, len, &back, &check_err) == CS_ERR_CORRUPT &&
	      !strcmp(check_err.what, "line 22: checksum mismatch (torn or damaged journal)"));
	buf[len - 75] ^= 1;
	CHECK_OK(cs_journal_parse(buf, len, &back, &check_err));
	cs_journal_free(&back);
	/* Appended bytes. */
	char *more = malloc(len + 1);
	memcpy(more, buf, len);
	more[len] = '\n';
	CHECK(cs_journal_parse(more, len + 1, &back, &check_err) == CS_ERR_CORRUPT &&
	      !strcmp(check_err.what, "line 22: bytes after the checksum line"));
	free(more);
	free(buf);
}

static void test_bad_fields(void)
{
	CHECK(refused("", "line 1: not a clawstate journal (version 1)"));
	CHECK(refused("clawstate-journal 2\n", "line 1: not a clawstate journal (version 1)"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-x/y\n",
		      "line 2: name contains '/'"));
	CHECK(refused("clawstate-journal 1\nstage foo\n",
		      "line 2: staging dir name does not start with .clawstate-stage-"));
	CHECK(refused("clawstate-journal 1\nstaged .clawstate-stage-1\n",
		      "line 2: expected 'stage ...'"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-stage-2\n",
		      "line 3: old-tree name does not start with .clawstate-old-"));
	CHECK(refused(with_head("old-entries 1\n.clawstate-x\n"),
		      "line 9: entry name starts with .clawstate-"));
	CHECK(refused(with_head("old-entries 1\n%41\n"), "line 9: needless %-escape"));
	CHECK(refused(with_head("old-entries 1\n%0a\n"),
		      "line 9: bad %-escape (two uppercase hex digits)"));
	CHECK(refused(with_head("old-entries 1\nab%0\n"), "line 9: truncated %-escape"));
	CHECK(refused(with_head("old-entries 1\na b\n"), "line 9: unescaped byte in name"));
	CHECK(refused(with_head("old-entries 1\n%00\n"), "line 9: name contains NUL"));
	CHECK(refused(with_head("old-entries 1\n..\n"), "line 9: name is . or .."));
	CHECK(refused(with_head("old-entries 1\n\n"), "line 9: empty name"));
	CHECK(refused(with_head("old-entries 2\nb\na\n"),
		      "line 10: names not in strictly increasing order"));
	CHECK(refused(with_head("old-entries 2\na\na\n"),
		      "line 10: names not in strictly increasing order"));
	CHECK(refused(with_head("old-entries 01\na\n"), "line 8: bad entry count"));
	CHECK(refused(with_head("old-entries 9999999\na\n"), "line 8: bad entry count"));
	CHECK(refused(with_head("old-entries 0\nnew-entries 0\nextra\n"),
		      "line 10: expected 'blake2b ...'"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-old-1\n"
		      "keep maybe\n", "line 4: keep is not yes or no"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-old-1\n"
		      "keep yes\nmode 10000\n", "line 5: mode is not four octal digits"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-old-1\n"
		      "keep yes\nmode 0800\n", "line 5: mode is not four octal digits"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-old-1\n"
		      "keep yes\nmode 0700\nowner 4294967295:0\n",
		      "line 6: owner is not UID:GID or -"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-old-1\n"
		      "keep yes\nmode 0700\nowner 1:\n", "line 6: owner is not UID:GID or -"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-old-1\n"
		      "keep yes\nmode 0700\nowner -\nmtime 5.1\n",
		      "line 7: mtime is not SECONDS.NANOSECONDS (9 digits) or -"));
	CHECK(refused("clawstate-journal 1\nstage .clawstate-stage-1\nold .clawstate-old-1\n"
		      "keep yes\nmode 0700\nowner -\nmtime -0.000000001\n",
		      "line 7: mtime is not SECONDS.NANOSECONDS (9 digits) or -"));
	/* A sealed journal with a wrong checksum value. */
	struct cs_journal j;
	char *bad = strdup(with_head("old-entries 0\nnew-entries 0\nblake2b 00\n"));
	CHECK(cs_journal_parse(bad, strlen(bad), &j, &check_err) == CS_ERR_CORRUPT &&
	      !strcmp(check_err.what, "line 10: checksum mismatch (torn or damaged journal)"));
	free(bad);
	/* And the smallest valid one. */
	size_t len;
	char *ok = sealed(with_head("old-entries 0\nnew-entries 1\n%FF\n"), &len);
	CHECK_OK(cs_journal_parse(ok, len, &j, &check_err));
	CHECK(j.n_old == 0 && j.n_new == 1 && !strcmp(j.new_names[0], "\xff") && !j.keep &&
	      j.root.mode == 0700 && !j.root.set_owner && !j.root.set_mtime);
	cs_journal_free(&j);
	free(ok);
}

static void test_format_refuses(void)
{
	struct cs_journal j;
	char *buf = NULL;
	size_t len;
	char *slash[] = {"a/b"}, *dot[] = {"."}, *empty[] = {""}, *ours[] = {".clawstate-old-1"};
	char *twice[] = {"a", "a"};
	char toolong[257];
	memset(toolong, 'a', 256);
	toolong[256] = '\0';
	char *lng[] = {toolong};
	char **bad[] = {slash, dot, empty, ours, twice, lng};
	size_t nbad[] = {1, 1, 1, 1, 2, 1};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sample(&j, bad[i], nbad[i], NULL, 0);
		CHECK_RC(cs_journal_format(&j, &buf, &len, &check_err), CS_ERR_USAGE);
		CHECK(buf == NULL);
		sample(&j, NULL, 0, bad[i], nbad[i]);
		CHECK_RC(cs_journal_format(&j, &buf, &len, &check_err), CS_ERR_USAGE);
	}
	sample(&j, NULL, 0, NULL, 0);
	strcpy(j.stage, "stage");
	CHECK_RC(cs_journal_format(&j, &buf, &len, &check_err), CS_ERR_USAGE);
	sample(&j, NULL, 0, NULL, 0);
	j.root.mode = 010000;
	CHECK_RC(cs_journal_format(&j, &buf, &len, &check_err), CS_ERR_USAGE);
}

int main(void)
{
	test_round_trip();
	test_damage();
	test_bad_fields();
	test_format_refuses();
	TEST_DONE();
}
