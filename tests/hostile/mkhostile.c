/*
 * mkhostile.c - build hostile backup files with the library's own writer pieces
 * (header, key slot, sealed file key, secretstream, zstd) around crafted pax tars
 * and manifests, for tests/cli/hostile_backups.sh, and the committed corpus of
 * tests/hostile/corpus/ (those cases plus damaged bytes, versions from the future,
 * absurd key slots and wrong credentials) for tests/cli/hostile_corpus.sh.
 *
 *   mkhostile --list                       one line per case, separated by "|":
 *                                          NAME EXIT FRAGMENT VERIFY-EXIT VERIFY-FRAGMENT
 *   mkhostile KEYFILE OUTSIDE CASE OUT     write case CASE to OUT
 *   mkhostile --corpus DIR                 write the committed corpus (below, and
 *                                          tests/hostile/README.md) into DIR
 *
 * KEYFILE is a 32-byte key file: the header gets one key-file slot for it (the
 * restore opens the backup with --key-file KEYFILE; no vault is needed).  OUTSIDE
 * is an absolute directory beside the target that hostile entries aim at (symlink
 * targets, absolute paths); the driver checks that nothing there changes.
 *
 * EXIT and FRAGMENT are what `clawstate restore CASE --to DIR` (and its
 * --dry-run) must give: the exit code and a piece of stderr.  VERIFY-* are what
 * `clawstate verify CASE` gives; they differ only where the restore stops
 * earlier for a reason of the target (free space).
 * Most cases are an ordinary valid backup with one thing changed; "good*" cases
 * are controls that must restore.
 */
#include "craft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *outside;     /* absolute, beside the target */
static const char *outside_rel; /* the same reached from the target's root by ".." */

/* ---- the cases --------------------------------------------------------------------- */

/* A small valid tree every case starts from: its own entries come after. */
static void base_tree(void)
{
	D("d");
	F("d/f", "hello\n");
	L("d/rel", "f");
	H("d/h", "d/f");
	F("top", "top file\n");
}

static void c_good(void)
{
	base_tree();
	D("e");
	L("e/abs", outside);
	L("e/dangling", "/nonexistent/clawstate/target");
	F("e/empty", "");
	F("e/exec", "#!/bin/sh\n")->mode = 0755;
	D("e/ro")->mode = 0500;
	F("e/ro/inside", "x")->mode = 0400;
}

static void c_good_names(void)
{
	D("n");
	F("n/line\nbreak", "newline in the name");
	F("n/back\\slash", "backslash");
	F("n/\xff\xfe-latin1-\xe9", "not UTF-8");
	F("n/caf\xc3\xa9 \xe2\x82\xac", "UTF-8");
	F("n/sp ace\t tab", "spaces");
	F("n/-dash", "dash");
	F("n/quote\"s'", "quotes");
	L("n/\x80link", "\xff\xfe target not UTF-8");
}

static char *nested(const char *comp, int depth)
{
	struct buf b = {0};
	for (int i = 0; i < depth; i++) {
		if (i)
			buf_add(&b, "/", 1);
		buf_add(&b, comp, strlen(comp));
	}
	return b.p;
}

static void c_good_deep(void)
{
	/* 256 levels: the cap, allowed */
	for (int i = 1; i <= 255; i++) {
		char *p = nested("d", i);
		D(p);
		free(p);
	}
	char *p = nested("d", 255);
	char *f = fmt("%s/f", p);
	F(f, "deepest");
	free(p);
	free(f);
}

static void c_good_long(void)
{
	/* 16 components of 255 bytes: a path of exactly 4095 bytes */
	char comp[256];
	memset(comp, 'n', 255);
	comp[255] = '\0';
	for (int i = 1; i <= 15; i++) {
		char *p = nested(comp, i);
		D(p);
		free(p);
	}
	char *p = nested(comp, 16);
	F(p, "4095-byte path");
	free(p);
}

static void c_dotdot(void) { base_tree(); F("../x", "escape"); }
static void c_dotdot_mid(void) { base_tree(); F("d/../../x", "escape"); }
static void c_dotdot_dir(void) { base_tree(); D(".."); }
static void c_dot(void) { base_tree(); F("./x", "dot"); }
static void c_dot_mid(void) { base_tree(); F("d/./x", "dot"); }
static void c_abs(void)
{
	base_tree();
	char *p = fmt("%s/abs", outside);
	F(p, "absolute");
	free(p);
}
static void c_abs_root_file(void) { base_tree(); F("/x", "absolute"); }
static void c_empty_comp(void) { base_tree(); F("d//x", "empty component"); }
static void c_trailing_slash(void) { base_tree(); F("d/x/", "trailing slash"); }

static void c_symlink_file(void)
{
	base_tree();
	L("l", outside);
	F("l/f", "through the symlink");
}

static void c_symlink_dir(void)
{
	base_tree();
	L("l", outside);
	D("l/sub");
}

static void c_symlink_rel(void)
{
	base_tree();
	L("l", outside_rel);
	F("l/f", "through a relative symlink");
}

static void c_symlink_hardlink(void)
{
	base_tree();
	L("l", outside);
	H("l/h", "d/f");
}

static void c_symlink_chain(void)
{
	base_tree();
	L("l1", "l2");
	L("l2", outside);
	F("l1/f", "through two symlinks");
}

static void c_hardlink_via_symlink(void)
{
	base_tree();
	L("l", outside);
	H("h", "l/victim");
}

static void c_hardlink_outside(void)
{
	base_tree();
	H("h", "../outside/victim");
}

static void c_hardlink_abs(void)
{
	base_tree();
	char *t = fmt("%s/victim", outside);
	H("h", t);
	free(t);
}

static void c_hardlink_later(void)
{
	D("d");
	H("d/h", "d/later");
	F("d/later", "later");
}

static void c_hardlink_missing(void) { base_tree(); H("h", "nowhere"); }
static void c_hardlink_self(void) { base_tree(); H("h", "h"); }
static void c_hardlink_dir(void) { base_tree(); H("h", "d"); }
static void c_hardlink_symlink(void) { base_tree(); H("h", "d/rel"); }
static void c_hardlink_hardlink(void) { base_tree(); H("h", "d/h"); }
static void c_hardlink_dotdot(void) { base_tree(); H("h", "d/../top"); }

static void c_reserved_top(void)
{
	base_tree();
	F(".clawstate-journal", "{\"replay\":\"../../etc\"}");
}

static void c_reserved_deeper(void)
{
	/* only the top level is reserved */
	base_tree();
	F("d/.clawstate-journal", "fine down here");
}

static void c_parent_missing(void) { base_tree(); F("nodir/f", "orphan"); }
static void c_parent_file(void) { base_tree(); F("top/f", "below a file"); }
static void c_parent_hardlink(void) { base_tree(); F("d/h/f", "below a hardlink"); }

static void c_dup_file(void) { base_tree(); F("top", "again"); }
static void c_dup_dir(void) { base_tree(); D("d"); }
static void c_dup_file_dir(void) { base_tree(); D("top"); }
static void c_dup_symlink(void) { base_tree(); L("d/rel", outside); }

/* Manifest says file, the tar member is something else. */
static void special(int kind)
{
	base_tree();
	F("dev", "");
	last_member()->kind = kind;
	last_member()->dlen = 0;
}
static void c_fifo(void) { special(M_FIFO); }
static void c_chardev(void) { special(M_CHR); }
static void c_blockdev(void) { special(M_BLK); }

static void c_type_fifo(void)
{
	base_tree();
	tar_add("p", M_FIFO);
	C.extra_lines = xstrdup("{\"path\":\"p\",\"type\":\"fifo\",\"mode\":420,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
}

static void c_type_chardev(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"null\",\"type\":\"chardev\",\"mode\":438,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("null", M_CHR);
}

static void c_extra_end(void)
{
	base_tree();
	tar_add("extra", M_FILE)->data = (const unsigned char *)"x";
	last_member()->dlen = 1;
}

static void c_extra_mid(void)
{
	base_tree();
	struct member m = C.tar[1];
	/* insert an unlisted member before d/f */
	tar_add("x", M_FILE);
	memmove(&C.tar[2], &C.tar[1], (C.n_tar - 2) * sizeof *C.tar);
	C.tar[1] = (struct member){xstrdup("d/unlisted"), M_FILE, NULL,
				   (const unsigned char *)"u", 1, -1};
	(void)m;
}

static void c_extra_escape(void)
{
	/* an unlisted member named ../escape after the last entry */
	base_tree();
	tar_add("../escape", M_FILE)->data = (const unsigned char *)"x";
	last_member()->dlen = 1;
}

static void c_missing_last(void)
{
	base_tree();
	C.n_tar--;
}

static void c_missing_mid(void)
{
	base_tree();
	memmove(&C.tar[1], &C.tar[2], (C.n_tar - 2) * sizeof *C.tar);
	C.n_tar--;
}

static void c_reordered(void)
{
	base_tree();
	struct member t = C.tar[1];
	C.tar[1] = C.tar[4];
	C.tar[4] = t;
}

static void c_size_bigger(void)
{
	base_tree();
	C.tar[1].data = (const unsigned char *)"hello!\n";
	C.tar[1].dlen = 7;
}

static void c_size_smaller(void)
{
	base_tree();
	C.tar[1].data = (const unsigned char *)"hell";
	C.tar[1].dlen = 4;
}

static void c_type_dir_file(void)
{
	base_tree();
	C.tar[0].kind = M_FILE;
}

static void c_type_file_dir(void)
{
	base_tree();
	C.tar[4].kind = M_DIR;
	C.tar[4].dlen = 0;
}

static void c_type_symlink_file(void)
{
	base_tree();
	C.tar[2].kind = M_FILE;
}

static void c_type_file_symlink(void)
{
	base_tree();
	C.tar[4].kind = M_SYMLINK;
	C.tar[4].link = xstrdup(outside);
	C.tar[4].dlen = 0;
}

static void c_type_file_hardlink(void)
{
	base_tree();
	C.tar[4].kind = M_HARDLINK;
	C.tar[4].link = xstrdup("d/f");
	C.tar[4].dlen = 0;
}

static void c_symlink_target_differs(void)
{
	base_tree();
	C.tar[2].link = xstrdup(outside);
}

static void c_hardlink_target_differs(void)
{
	base_tree();
	C.tar[3].link = xstrdup("../outside/victim");
}

static void c_member_name_escape(void)
{
	/* the manifest is sound, the tar member is named ../top */
	base_tree();
	C.tar[4].name = xstrdup("../top");
}

static void c_member_name_escapes(void)
{
	/* a tar member name with terminal escape sequences, which the error
	 * message quotes: it must reach the terminal escaped */
	base_tree();
	C.tar[1].name = xstrdup("d/\x1b]0;owned\x07\x1b[2J\x9b" "1m\xc2\x9b" "X");
}

static void c_content_differs(void)
{
	base_tree();
	C.tar[4].data = (const unsigned char *)"top filE\n";
}

static void c_huge_member(void)
{
	/* manifest: 6 bytes; the tar member claims 2^62 */
	base_tree();
	C.raw_huge_member = 1;
	C.tar[1].size = 1LL << 62;
}

static void c_huge_pax_header(void)
{
	/* a pax extended header of 64 MiB in front of member 1 */
	base_tree();
	C.raw_pax_size = 64LL << 20;
}

static void c_huge_manifest_member(void)
{
	base_tree();
	C.raw_huge_member = 1;
	C.manifest_size = (long long)CS_CAP_MANIFEST + 1;
}

static void c_huge_file_size(void)
{
	/* a file the manifest says is 2^53-1 bytes: refused for space before any
	 * byte is written; verify finds the member's size differs */
	base_tree();
	C.man[4].size = SAFE_MAX;
}

static void c_size_overflow(void)
{
	/* 2048 files of 2^53-1 bytes and one of 2148: the sum is 2^64 + 100 */
	base_tree();
	for (int i = 0; i < 2048; i++) {
		char name[32];
		snprintf(name, sizeof name, "big%04d", i);
		struct cs_entry *e = F(name, "");
		e->size = SAFE_MAX;
	}
	struct cs_entry *e = F("small", "");
	e->size = 2048 + 100;
}

static void c_entries_over_cap(void)
{
	base_tree();
	C.entries = (long long)CS_CAP_ENTRIES + 1;
}

static void c_entries_claim_more(void)
{
	base_tree();
	C.entries = (long long)CS_CAP_ENTRIES;
}

static void c_entries_claim_fewer(void)
{
	base_tree();
	C.entries = 2;
}

static void c_path_4096(void)
{
	/* 4096 bytes, components under the name cap */
	base_tree();
	char comp[201];
	memset(comp, 'p', 200);
	comp[200] = '\0';
	struct buf b = {0};
	while (b.len + 201 <= 4096) {
		if (b.len)
			buf_add(&b, "/", 1);
		buf_add(&b, comp, 200);
	}
	while (b.len < 4096)
		buf_add(&b, "q", 1);
	D("p");
	F(b.p, "long");
	free(b.p);
}

static void c_path_4096_b64(void)
{
	/* the same length through path_b64 (non-UTF-8) */
	base_tree();
	char *p = xcalloc(4097, 1);
	memset(p, 'p', 4096);
	p[0] = '\xff';
	for (int i = 200; i < 4096; i += 201)
		p[i] = '/';
	F(p, "long");
	free(p);
}

static void c_depth_300(void)
{
	for (int i = 1; i <= 300; i++) {
		char *p = nested("d", i);
		D(p);
		free(p);
	}
}

static void c_depth_257_file(void)
{
	for (int i = 1; i <= 256; i++) {
		char *p = nested("d", i);
		D(p);
		free(p);
	}
	char *p = nested("d", 256);
	char *f = fmt("%s/f", p);
	F(f, "too deep");
	free(p);
	free(f);
}

static void c_name_256(void)
{
	base_tree();
	char name[262];
	memset(name, 'n', 256);
	name[256] = '\0';
	char *p = fmt("d/%s", name);
	F(p, "long name");
	free(p);
}

static void c_nonutf8_raw(void)
{
	/* raw bytes 0xff in a JSON string: must come as path_b64 */
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"bad\xff\xfename\",\"type\":\"dir\",\"mode\":448,"
				"\"uid\":0,\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("bad\xff\xfename", M_DIR);
}

static void c_overlong_utf8(void)
{
	/* "\xc0\xae\xc0\xae" is an overlong "..": never decoded as dots */
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"\xc0\xae\xc0\xae\",\"type\":\"dir\",\"mode\":448,"
				"\"uid\":0,\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("\xc0\xae\xc0\xae", M_DIR);
}

static void c_b64_dotdot(void)
{
	/* ".." hidden in base64 */
	base_tree();
	C.extra_lines = xstrdup("{\"path_b64\":\"Li4veA==\",\"type\":\"file\",\"mode\":384,"
				"\"uid\":0,\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"blake2b\":\"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45"
				"cdf12fe3a8\",\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("../x", M_FILE);
}

static void c_nul_escape(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"a\\u0000/../../x\",\"type\":\"dir\",\"mode\":448,"
				"\"uid\":0,\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("a", M_DIR);
}

static void c_nul_b64(void)
{
	base_tree();
	/* "a\0b" */
	C.extra_lines = xstrdup("{\"path_b64\":\"YQBi\",\"type\":\"dir\",\"mode\":448,"
				"\"uid\":0,\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("a", M_DIR);
}

static void c_no_newline(void)
{
	base_tree();
	C.cut_newline = 1;
}

static void c_more_lines(void)
{
	base_tree();
	C.entries = (long long)C.n_man - 1;
}

static void c_manifest_bigger(void)
{
	/* the manifest text is longer than its tar member says: cut short */
	base_tree();
	C.cut_bytes = 10;
}

static void c_manifest_smaller_member(void)
{
	/* the member is declared bigger than its text: libarchive pads with NULs */
	base_tree();
	C.manifest_size = 100000;
}

static void c_no_manifest(void)
{
	base_tree();
	C.no_manifest = 1;
}

static void c_manifest_not_first(void)
{
	base_tree();
	C.no_manifest = 1;
	tar_add(CS_MANIFEST_NAME, M_FILE);
}

static void c_dup_key(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"ok\",\"path\":\"../x\",\"type\":\"dir\",\"mode\":448,"
				"\"uid\":0,\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("ok", M_DIR);
}

static void c_both_path_forms(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"ok\",\"path_b64\":\"Li4veA==\",\"type\":\"dir\","
				"\"mode\":448,\"uid\":0,\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},"
				"\"size\":0,\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("ok", M_DIR);
}

static void c_unknown_field(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"ok\",\"type\":\"dir\",\"mode\":448,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\",\"rdev\":259}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("ok", M_DIR);
}

static void c_json_bomb(void)
{
	/* one line just under the 8 MiB line cap, nearly all of it array elements:
	 * a tree parser would build millions of nodes for it */
	base_tree();
	size_t n = (CS_MANIFEST_LINE_MAX - 200) / 2;
	struct buf b = {0};
	const char *head = "{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
			   "\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\","
			   "\"bomb\":[0";
	buf_add(&b, head, strlen(head));
	char *arr = xcalloc(n * 2 + 1, 1);
	for (size_t i = 0; i < n; i++)
		memcpy(arr + 2 * i, ",0", 2);
	buf_add(&b, arr, n * 2);
	free(arr);
	buf_add(&b, "]}\n", 3);
	C.extra_lines = b.p;
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

static void c_json_deep(void)
{
	/* nesting far deeper than any manifest line has */
	base_tree();
	struct buf b = {0};
	const char *head = "{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
			   "\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\","
			   "\"deep\":";
	buf_add(&b, head, strlen(head));
	for (int i = 0; i < 100000; i++)
		buf_add(&b, "[", 1);
	for (int i = 0; i < 100000; i++)
		buf_add(&b, "]", 1);
	buf_add(&b, "}\n", 2);
	C.extra_lines = b.p;
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

static void c_bad_json(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"ok\",\"type\":\"dir\"\n");
	C.entries = (long long)C.n_man + 1;
}

static void c_empty_line(void)
{
	base_tree();
	C.extra_lines = xstrdup("\n");
	C.entries = (long long)C.n_man + 1;
}

static void c_mode_high(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"m\",\"type\":\"dir\",\"mode\":32768,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

static void c_size_negative(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"m\",\"type\":\"file\",\"mode\":384,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":-1,"
				"\"blake2b\":\"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45"
				"cdf12fe3a8\",\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_FILE);
}

static void c_size_2_64(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"m\",\"type\":\"file\",\"mode\":384,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":18446744073709551616,"
				"\"blake2b\":\"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45"
				"cdf12fe3a8\",\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_FILE);
}

static void c_uid_big(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":4294967296,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

static void c_nsec_big(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":1000000000},\"size\":0,"
				"\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

static void c_mtime_extreme(void)
{
	/* the largest and smallest times the format allows */
	base_tree();
	F("future", "far future")->mtime_sec = (int64_t)SAFE_MAX;
	F("past", "far past")->mtime_sec = -(int64_t)SAFE_MAX;
}

static void c_vault_mismatch(void)
{
	base_tree();
	C.header_patch = xstrdup("vault_id=\"00000000000000000000000000000000\"");
}

static void c_seq_mismatch(void)
{
	base_tree();
	C.header_patch = xstrdup("seq=41");
}

static void c_manifest_v2(void)
{
	base_tree();
	C.header_patch = xstrdup("clawstate_manifest=2");
}

static void c_root_mode_high(void)
{
	base_tree();
	C.header_patch = xstrdup("root_mode=4096");
}

static void c_xattr_trusted(void)
{
	base_tree();
	struct cs_entry *e = F("x", "with xattr");
	e->n_xattrs = 1;
	e->xattrs = xcalloc(1, sizeof *e->xattrs);
	e->xattrs[0].name = xstrdup("trusted.overlay.opaque");
	e->xattrs[0].value = (unsigned char *)xstrdup("y");
	e->xattrs[0].len = 1;
}

static void c_xattr_security(void)
{
	base_tree();
	struct cs_entry *e = F("x", "with xattr");
	e->n_xattrs = 1;
	e->xattrs = xcalloc(1, sizeof *e->xattrs);
	e->xattrs[0].name = xstrdup("security.capability");
	e->xattrs[0].value = (unsigned char *)xstrdup("cap");
	e->xattrs[0].len = 3;
}

static void c_xattr_too_many(void)
{
	base_tree();
	C.extra_lines = NULL;
	struct buf b = {0};
	buf_add(&b, "{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		    "\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\",\"xattrs\":{",
		strlen("{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":0,\"gid\":0,"
		       "\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,\"class\":\"other\","
		       "\"xattrs\":{"));
	for (int i = 0; i < 65; i++) {
		char x[40];
		snprintf(x, sizeof x, "%s\"user.x%d\":\"eA==\"", i ? "," : "", i);
		buf_add(&b, x, strlen(x));
	}
	buf_add(&b, "}}\n", 3);
	C.extra_lines = b.p;
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

static void c_xattrs_max(void)
{
	/* the most xattrs an entry may carry, 64 (small: ext4 keeps about 4 KiB) */
	base_tree();
	struct cs_entry *e = F("x", "with xattrs");
	e->n_xattrs = 64;
	e->xattrs = xcalloc(64, sizeof *e->xattrs);
	for (int i = 0; i < 64; i++) {
		char name[32];
		snprintf(name, sizeof name, "user.x%02d", i);
		e->xattrs[i].name = xstrdup(name);
		e->xattrs[i].value = (unsigned char *)xstrdup("v");
		e->xattrs[i].len = 1;
	}
}

static void c_xattr_symlink(void)
{
	/* user.* xattrs cannot exist on a symlink: no snapshot makes this */
	base_tree();
	struct cs_entry *e = L("lx", "top");
	e->n_xattrs = 1;
	e->xattrs = xcalloc(1, sizeof *e->xattrs);
	e->xattrs[0].name = xstrdup("user.note");
	e->xattrs[0].value = (unsigned char *)xstrdup("v");
	e->xattrs[0].len = 1;
}

static void c_xattr_hardlink(void)
{
	base_tree();
	struct cs_entry *e = H("hx", "top");
	e->n_xattrs = 1;
	e->xattrs = xcalloc(1, sizeof *e->xattrs);
	e->xattrs[0].name = xstrdup("user.note");
	e->xattrs[0].value = (unsigned char *)xstrdup("v");
	e->xattrs[0].len = 1;
}

static void c_blake_on_dir(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"blake2b\":\"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45"
				"cdf12fe3a8\",\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

static void c_target_on_file(void)
{
	base_tree();
	C.extra_lines = xstrdup("{\"path\":\"m\",\"type\":\"dir\",\"mode\":448,\"uid\":0,"
				"\"gid\":0,\"mtime\":{\"sec\":0,\"nsec\":0},\"size\":0,"
				"\"target\":\"/etc\",\"class\":\"other\"}\n");
	C.entries = (long long)C.n_man + 1;
	tar_add("m", M_DIR);
}

/* Most cases leave vcode/vfrag out (verify gives what restore gives). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
struct case_def {
	const char *name;
	void (*build)(void);
	int code;               /* restore's exit code */
	const char *frag;       /* stderr fragment ("" = none checked) */
	int vcode;              /* verify's, when vfrag is set; else the same */
	const char *vfrag;
};

static const struct case_def cases[] = {
	{"good", c_good, 0, ""},
	{"good_names", c_good_names, 0, ""},
	{"good_deep", c_good_deep, 0, ""},
	{"good_long", c_good_long, 0, ""},
	{"dotdot", c_dotdot, 4, "../x: path contains '..'"},
	{"dotdot_mid", c_dotdot_mid, 4, "d/../../x: path contains '..'"},
	{"dotdot_dir", c_dotdot_dir, 4, "..: path contains '..'"},
	{"dot", c_dot, 4, "./x: path contains '.'"},
	{"dot_mid", c_dot_mid, 4, "d/./x: path contains '.'"},
	{"abs", c_abs, 4, "/abs: absolute path"},
	{"abs_root", c_abs_root_file, 4, "/x: absolute path"},
	{"empty_component", c_empty_comp, 4, "d//x: empty path component"},
	{"trailing_slash", c_trailing_slash, 4, "d/x/: empty path component"},
	{"symlink_then_file", c_symlink_file, 4, "l/f: path goes through a symlink"},
	{"symlink_then_dir", c_symlink_dir, 4, "l/sub: path goes through a symlink"},
	{"symlink_rel_then_file", c_symlink_rel, 4, "l/f: path goes through a symlink"},
	{"symlink_then_hardlink", c_symlink_hardlink, 4, "l/h: path goes through a symlink"},
	{"symlink_chain", c_symlink_chain, 4, "l1/f: path goes through a symlink"},
	{"hardlink_via_symlink", c_hardlink_via_symlink, 4,
	 "h: hardlink target is not an earlier entry"},
	{"hardlink_outside", c_hardlink_outside, 4, "h: hardlink to outside the tree"},
	{"hardlink_abs", c_hardlink_abs, 4, "h: hardlink to outside the tree"},
	{"hardlink_later", c_hardlink_later, 4, "d/h: hardlink target is not an earlier entry"},
	{"hardlink_missing", c_hardlink_missing, 4, "h: hardlink target is not an earlier entry"},
	{"hardlink_self", c_hardlink_self, 4, "h: hardlink target is not an earlier entry"},
	{"hardlink_dir", c_hardlink_dir, 4, "h: hardlink target is not a regular file"},
	{"hardlink_symlink", c_hardlink_symlink, 4, "h: hardlink target is not a regular file"},
	{"hardlink_hardlink", c_hardlink_hardlink, 4, "h: hardlink target is not a regular file"},
	{"hardlink_dotdot", c_hardlink_dotdot, 4, "h: hardlink to outside the tree"},
	{"reserved_top_name", c_reserved_top, 4, ".clawstate-journal: reserved name (.clawstate-*)"},
	{"good_reserved_deeper", c_reserved_deeper, 0, ""},
	{"parent_missing", c_parent_missing, 4,
	 "nodir/f: parent directory not listed before this entry"},
	{"parent_file", c_parent_file, 4, "top/f: path goes through a non-directory"},
	{"parent_hardlink", c_parent_hardlink, 4, "d/h/f: path goes through a non-directory"},
	{"dup_file", c_dup_file, 4, "top: duplicate entry"},
	{"dup_dir", c_dup_dir, 4, "d: duplicate entry"},
	{"dup_file_dir", c_dup_file_dir, 4, "top: duplicate entry"},
	{"dup_symlink", c_dup_symlink, 4, "d/rel: duplicate entry"},
	{"member_fifo", c_fifo, 4, "dev: member is a device, fifo or socket"},
	{"member_chardev", c_chardev, 4, "dev: member is a device, fifo or socket"},
	{"member_blockdev", c_blockdev, 4, "dev: member is a device, fifo or socket"},
	{"manifest_type_fifo", c_type_fifo, 4, "(p): unknown type \"fifo\""},
	{"manifest_type_chardev", c_type_chardev, 4, "(null): unknown type \"chardev\""},
	{"extra_member_end", c_extra_end, 4, "member \"extra\" after the last manifest entry"},
	{"extra_member_mid", c_extra_mid, 4,
	 "d/f: manifest and archive disagree: member 2 is \"d/unlisted\""},
	{"extra_member_escape", c_extra_escape, 4,
	 "member \"../escape\" after the last manifest entry"},
	{"missing_member_last", c_missing_last, 4, "top: backup ends before this entry's member"},
	{"missing_member_mid", c_missing_mid, 4,
	 "d/f: manifest and archive disagree: member 2 is \"d/rel\""},
	{"reordered", c_reordered, 4, "d/f: manifest and archive disagree: member 2 is \"top\""},
	{"size_bigger", c_size_bigger, 4, "d/f: member size 7 differs from the manifest's 6"},
	{"size_smaller", c_size_smaller, 4, "d/f: member size 4 differs from the manifest's 6"},
	{"type_dir_as_file", c_type_dir_file, 4, "d: manifest and archive disagree: member is a file, manifest says directory"},
	{"type_file_as_dir", c_type_file_dir, 4, "top: manifest and archive disagree: member is a directory, manifest says file"},
	{"type_symlink_as_file", c_type_symlink_file, 4, "d/rel: manifest and archive disagree: member is a file, manifest says symlink"},
	{"type_file_as_symlink", c_type_file_symlink, 4, "top: manifest and archive disagree: member is a symlink, manifest says file"},
	{"type_file_as_hardlink", c_type_file_hardlink, 4, "top: manifest and archive disagree: member is a hardlink, manifest says file"},
	{"symlink_target_differs", c_symlink_target_differs, 4,
	 "d/rel: manifest and archive disagree: symlink targets differ"},
	{"hardlink_target_differs", c_hardlink_target_differs, 4,
	 "d/h: manifest and archive disagree: hardlink targets differ"},
	{"member_name_escape", c_member_name_escape, 4,
	 "top: manifest and archive disagree: member 5 is \"../top\""},
	{"member_name_escapes", c_member_name_escapes, 4,
	 "d/f: manifest and archive disagree: member 2 is \"d/\\x1b]0;owned\\x07\\x1b[2J\\x9b1m\\xc2\\x9bX\""},
	{"content_differs", c_content_differs, 4, "top: content hash mismatch"},
	{"huge_member_size", c_huge_member, 4, "d/f: member size 4611686018427387904 differs"},
	{"huge_pax_header", c_huge_pax_header, 4, "d/f: reading the next member"},
	{"huge_manifest_member", c_huge_manifest_member, 4, "manifest size missing or above 256 MiB"},
	{"huge_file_size", c_huge_file_size, 1, "not enough free space", 4,
	 "top: member size 9 differs from the manifest's 9007199254740991"},
	{"size_sum_overflow", c_size_overflow, 1, "not enough free space", 4,
	 "big0000: member size 0 differs from the manifest's 9007199254740991"},
	{"entries_over_cap", c_entries_over_cap, 4, "line 1: 10000001 entries (at most 10000000)"},
	{"entries_claim_more", c_entries_claim_more, 4, "manifest ends after 5 of 10000000 entries"},
	{"entries_claim_fewer", c_entries_claim_fewer, 4,
	 "line 4: more entry lines than the 2 the header gives"},
	{"path_4096", c_path_4096, 4, "\"path\" longer than 4095 bytes"},
	{"path_4096_b64", c_path_4096_b64, 4, "\"path_b64\" longer than 4095 bytes"},
	{"depth_300", c_depth_300, 4, "path too deep (more than 256 levels)"},
	{"depth_257_file", c_depth_257_file, 4, "/d/f: path too deep (more than 256 levels)"},
	{"name_256", c_name_256, 4, "name too long (256 bytes, at most 255)"},
	{"nonutf8_raw_json", c_nonutf8_raw, 4, "\"path\" is not valid UTF-8"},
	{"overlong_utf8_dots", c_overlong_utf8, 4, "\"path\" is not valid UTF-8"},
	{"b64_dotdot", c_b64_dotdot, 4, "../x: path contains '..'"},
	{"nul_escape", c_nul_escape, 4, "line 7: NUL character"},
	{"nul_b64", c_nul_b64, 4, "line 7: \"path_b64\" holds a NUL byte"},
	{"no_newline", c_no_newline, 4, "line 6: no newline at the end of the manifest"},
	{"more_lines", c_more_lines, 4, "line 6: more entry lines than the 4 the header gives"},
	{"manifest_cut_short", c_manifest_bigger, 4,
	 ".clawstate-manifest.ndjson: line 6: no newline at the end of the manifest"},
	{"manifest_nul_padded", c_manifest_smaller_member, 4,
	 "line 7: no newline at the end of the manifest"},
	{"no_manifest", c_no_manifest, 4, "first member is not the manifest"},
	{"manifest_not_first", c_manifest_not_first, 4, "first member is not the manifest"},
	{"dup_key", c_dup_key, 4, "line 7: field \"path\" given twice"},
	{"both_path_forms", c_both_path_forms, 4, "line 7: both \"path\" and \"path_b64\""},
	{"unknown_field", c_unknown_field, 4, "line 7: unknown field \"rdev\""},
	{"json_bomb", c_json_bomb, 4, "line 7: more than 256 values"},
	{"json_deep", c_json_deep, 4, "line 7: nested deeper than 3 levels"},
	{"bad_json", c_bad_json, 4, "line 7: not valid JSON"},
	{"empty_line", c_empty_line, 4, "line 7: empty line"},
	{"mode_high", c_mode_high, 4, "line 7 (m): \"mode\" out of range"},
	{"size_negative", c_size_negative, 4, "line 7 (m): \"size\" out of range"},
	{"size_2_64", c_size_2_64, 4, "line 7 (m): \"size\" out of range"},
	{"uid_2_32", c_uid_big, 4, "line 7 (m): \"uid\" out of range"},
	{"nsec_1e9", c_nsec_big, 4, "line 7 (m): \"nsec\" out of range"},
	{"blake2b_on_dir", c_blake_on_dir, 4, "line 7 (m): \"blake2b\" on a dir"},
	{"target_on_dir", c_target_on_file, 4, "line 7 (m): \"target\" on a dir"},
	{"good_xattrs_max", c_xattrs_max, 0, ""},
	{"good_mtime_extreme", c_mtime_extreme, 0, ""}, /* the filesystem clamps them */
	{"vault_id_mismatch", c_vault_mismatch, 4, "manifest names another vault than the header"},
	{"seq_mismatch", c_seq_mismatch, 4, "line 1: manifest is snapshot 41, header says 42"},
	{"manifest_version_2", c_manifest_v2, 7, "manifest version 2 is newer than supported (1)"},
	{"root_mode_high", c_root_mode_high, 4, "line 1: \"root_mode\" out of range"},
	{"xattr_trusted", c_xattr_trusted, 4, "x: xattr name not in user.*"},
	{"xattr_security", c_xattr_security, 4, "x: xattr name not in user.*"},
	{"xattr_too_many", c_xattr_too_many, 4, "line 7 (m): more than 64 xattrs"},
	{"xattr_on_symlink", c_xattr_symlink, 4, "lx: xattrs on a symlink"},
	{"xattr_on_hardlink", c_xattr_hardlink, 4, "hx: xattrs on a hardlink"},
	{NULL, NULL, 0, NULL},
};

/* ---- the committed corpus (tests/hostile/corpus/, tests/cli/hostile_corpus.sh) ------- */

/*
 * mkhostile --corpus DIR writes every case above and every case below as
 * DIR/NAME.cst with DIR/NAME.expect, and the credentials they are made for:
 * DIR/key (a key file) and DIR/passphrase.  All three are obviously fake
 * fixed values.  Randomness (keys, salts, nonces) comes from a generator
 * seeded with the case's name and owners are 0:0, so running it again gives
 * the same bytes.  Targets that escape the tree are relative ("../outside",
 * the runner's watched dir beside the target) or the absolute CORPUS_OUTSIDE,
 * which must not exist.
 */
#define CORPUS_OUTSIDE "/nonexistent/clawstate-hostile/outside"
static const unsigned char corpus_key[32] = "clawstate-hostile-corpus-FAKEKEY";
static const unsigned char wrong_key[32] = "clawstate-hostile-WRONG-FAKEKEY!";
static const char corpus_pass[] = "fake corpus passphrase, not a secret";
static struct cs_cred *cred_key, *cred_wrong, *cred_pass;

/* libsodium's randombytes, deterministic: BLAKE2b(seed || counter) keys
 * randombytes_buf_deterministic for each request. */
static unsigned char det_seed[32];
static uint64_t det_ctr;

static const char *det_name(void) { return "clawstate-hostile-corpus"; }

static void det_buf(void *const buf, const size_t size)
{
	unsigned char key[randombytes_SEEDBYTES], ctr[8];
	crypto_generichash_state st;
	for (int i = 0; i < 8; i++)
		ctr[i] = (unsigned char)(det_ctr >> (8 * i));
	det_ctr++;
	crypto_generichash_init(&st, NULL, 0, sizeof key);
	crypto_generichash_update(&st, det_seed, sizeof det_seed);
	crypto_generichash_update(&st, ctr, sizeof ctr);
	crypto_generichash_final(&st, key, sizeof key);
	randombytes_buf_deterministic(buf, size, key);
}

static uint32_t det_random(void)
{
	uint32_t r;
	det_buf(&r, sizeof r);
	return r;
}

static void det_stir(void) {}
static int det_close(void) { return 0; }
static randombytes_implementation det_impl = {det_name, det_random, det_stir, NULL, det_buf,
					      det_close};

static void det_reseed(const char *name)
{
	crypto_generichash(det_seed, sizeof det_seed, (const unsigned char *)name, strlen(name),
			   NULL, 0);
	det_ctr = 0;
}

/* Byte-level damage to the finished file.  Positions count from the start,
 * from the header's end (its length L) or back from the end of the file. */
enum dop {
	D_NONE,
	D_CUT,     /* keep the first pos bytes */
	D_FLIP,    /* byte at pos ^= val */
	D_TAMPER,  /* the same, then the header checksum recomputed */
	D_SET8R,   /* byte at pos = val, checksum recomputed */
	D_SET16,   /* u16 BE at pos = val, checksum as it was */
	D_SET32,   /* u32 BE at pos = val */
	D_APPEND,  /* pos bytes of val after the end */
	D_GARBAGE, /* bytes 16 .. L-1 replaced by random ones */
};
enum dbase { AT_START, AT_HEADER_END, AT_END };
struct damage {
	int op, base;
	long long pos;
	unsigned val;
};

struct file {
	unsigned char *p;
	size_t len, hlen;
};

static size_t dpos(const struct file *f, const struct damage *d)
{
	long long at = d->pos;
	if (d->base == AT_HEADER_END)
		at += (long long)f->hlen;
	else if (d->base == AT_END)
		at = (long long)f->len - d->pos;
	if (at < 0 || (d->op != D_CUT && (size_t)at >= f->len) || (size_t)at > f->len) {
		fprintf(stderr, "mkhostile: damage position %lld outside the file\n", at);
		exit(99);
	}
	return (size_t)at;
}

static void resum(struct file *f)
{
	crypto_generichash(f->p + f->hlen - CS_HASH_BYTES, CS_HASH_BYTES, f->p,
			   f->hlen - CS_HASH_BYTES, NULL, 0);
}

static void apply(struct file *f, const struct damage *d)
{
	size_t at = d->op == D_NONE || d->op == D_APPEND || d->op == D_GARBAGE ? 0 : dpos(f, d);
	switch (d->op) {
	case D_NONE: break;
	case D_CUT: f->len = at; break;
	case D_FLIP: f->p[at] ^= (unsigned char)d->val; break;
	case D_TAMPER:
		f->p[at] ^= (unsigned char)d->val;
		resum(f);
		break;
	case D_SET8R:
		f->p[at] = (unsigned char)d->val;
		resum(f);
		break;
	case D_SET16:
		f->p[at] = (unsigned char)(d->val >> 8);
		f->p[at + 1] = (unsigned char)d->val;
		break;
	case D_SET32:
		for (int i = 0; i < 4; i++)
			f->p[at + (size_t)i] = (unsigned char)(d->val >> (24 - 8 * i));
		break;
	case D_APPEND:
		f->p = realloc(f->p, f->len + (size_t)d->pos);
		if (!f->p)
			die("realloc");
		memset(f->p + f->len, (int)d->val, (size_t)d->pos);
		f->len += (size_t)d->pos;
		break;
	case D_GARBAGE: randombytes_buf(f->p + 16, f->hlen - 16); break;
	}
}

static void damage_file(const char *path, const struct damage *d, size_t n)
{
	struct file f = {0};
	FILE *fp = fopen(path, "rb");
	struct stat st;
	if (!fp || fstat(fileno(fp), &st) < 0) {
		perror(path);
		exit(99);
	}
	f.len = (size_t)st.st_size;
	f.p = xcalloc(f.len, 1);
	if (fread(f.p, 1, f.len, fp) != f.len) {
		perror(path);
		exit(99);
	}
	fclose(fp);
	f.hlen = (size_t)f.p[12] << 24 | (size_t)f.p[13] << 16 | (size_t)f.p[14] << 8 | f.p[15];
	for (size_t i = 0; i < n; i++)
		apply(&f, &d[i]);
	fp = fopen(path, "wb");
	if (!fp || fwrite(f.p, 1, f.len, fp) != f.len || fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
	free(f.p);
}

/* The corpus's own bases and cases (damage comes from the table). */

/* Just over 64 KiB of incompressible content: two stream messages, the first
 * full.  Most damage goes to base_tree's one-message backup instead (small). */
static unsigned char blob[66000];
static void c_two_messages(void)
{
	base_tree();
	randombytes_buf(blob, sizeof blob);
	FB("blob", blob, sizeof blob);
}

static void c_blob_flipped(void)
{
	base_tree();
	randombytes_buf(blob, 3000);
	FB("blob", blob, 3000);
	blob[2000] ^= 0x08; /* after the hash was taken */
}

static void c_pass_slot(void)
{
	base_tree();
	C.slot1 = cred_pass;
}

static void c_wrong_key(void)
{
	base_tree();
	C.slot1 = cred_wrong;
}

static void c_argon_mem(void)
{
	c_pass_slot();
	C.slot1_ops = 3;
	C.slot1_mem = 1ULL << 40;
}

static void c_argon_ops(void)
{
	c_pass_slot();
	C.slot1_ops = 1ULL << 63;
	C.slot1_mem = 64ULL << 20;
}

static void c_argon_max(void)
{
	c_pass_slot();
	C.slot1_ops = UINT64_MAX;
	C.slot1_mem = UINT64_MAX;
}

static void c_argon_total(void)
{
	/* five passphrase slots at the per-slot cap: each allowed, together not */
	base_tree();
	C.pass = cred_pass;
	C.n_absurd = 5;
	for (size_t i = 0; i < C.n_absurd; i++) {
		C.absurd[i].ops = CS_CAP_ARGON_OPS;
		C.absurd[i].mem = CS_CAP_ARGON_MEM;
	}
}

static void c_argon_second(void)
{
	/* the key file's slot is sound; slot 2 asks for 1 TiB */
	base_tree();
	C.pass = cred_pass;
	C.n_absurd = 1;
	C.absurd[0].ops = 3;
	C.absurd[0].mem = 1ULL << 40;
}

static void c_argon_low(void)
{
	c_pass_slot();
	C.slot1_ops = 0;
	C.slot1_mem = 8192;
}

static void c_symlink_chain_rel(void)
{
	base_tree();
	L("l1", "l2");
	L("l2", outside_rel);
	F("l1/f", "through two symlinks");
}

static void c_symlink_self(void)
{
	base_tree();
	L("self", ".");
	F("self/f", "through a symlink to the root");
}

static void c_man_flip_path(void)
{
	base_tree();
	C.flip_find = "\"path\":\"d/f\"";
	C.flip_at = 10; /* d/f -> d/g */
	C.flip_bit = 0x01;
}

static void c_man_flip_top(void)
{
	base_tree();
	C.flip_find = "\"path\":\"top\"";
	C.flip_at = 9; /* top -> tnp */
	C.flip_bit = 0x01;
}

static void c_man_flip_brace(void)
{
	base_tree();
	C.flip_find = "{\"path\":\"top\"";
	C.flip_at = 0; /* { -> z */
	C.flip_bit = 0x01;
}

static void c_man_flip_hash(void)
{
	base_tree();
	C.flip_find = "\"blake2b\":\"";
	C.flip_at = 11; /* first hex digit of d/f's hash */
	C.flip_bit = 0x01;
}

static void c_man_flip_size(void)
{
	base_tree();
	C.flip_find = "\"size\":6";
	C.flip_at = 7; /* 6 -> 7 */
	C.flip_bit = 0x01;
}

static void c_man_flip_type(void)
{
	base_tree();
	C.flip_find = "\"type\":\"dir\"";
	C.flip_at = 8; /* dir -> eir */
	C.flip_bit = 0x01;
}

static void c_man_flip_entries(void)
{
	base_tree();
	C.flip_find = "\"entries\":5";
	C.flip_at = 10; /* 5 -> 4 */
	C.flip_bit = 0x01;
}

enum { CRED_KEY, CRED_PASS };
struct corpus_def {
	const char *name;
	void (*build)(void);
	const char *about;
	int code;
	const char *frag;
	int vcode; /* verify's, when vfrag is set */
	const char *vfrag;
	int cred;
	int timeout; /* seconds per command; 0: the runner's default */
	struct damage d[2];
};

#define TRUNC(name, build, base, pos, frag, about)                                          \
	{name, build, about, 4, frag, 0, NULL, CRED_KEY, 0, {{D_CUT, base, pos, 0}}}
#define FLIP(name, build, base, pos, bit, code, frag, about)                                \
	{name, build, about, code, frag, 0, NULL, CRED_KEY, 0, {{D_FLIP, base, pos, bit}}}
#define TAMPER(name, build, pos, bit, code, frag, about)                                    \
	{name, build, about, code, frag, 0, NULL, CRED_KEY, 0, {{D_TAMPER, AT_START, pos, bit}}}
#define MSG 65553 /* one full stream message in the file */
#define TED1 "backup truncated, extended or damaged at message 1"
#define TED2 "backup truncated, extended or damaged at message 2"
#define SLOT1 CS_BHEADER_FIXED
#define SEALED (SLOT1 + CS_SLOT_ENCODED_BYTES)
#define SSHDR (SEALED + CS_SEALED_KEY_BYTES)

static const struct corpus_def corpus[] = {
	{"good_two_messages", c_two_messages, "control: a 66000-byte file, two stream messages", 0,
	 ""},
	{"good_passphrase", c_pass_slot, "control: a passphrase slot (interactive preset)", 0, "",
	 0, NULL, CRED_PASS},
	/* truncation */
	TRUNC("trunc_0", base_tree, AT_START, 0, "not a clawstate backup", "an empty file"),
	TRUNC("trunc_7", base_tree, AT_START, 7, "not a clawstate backup", "cut inside the magic"),
	TRUNC("trunc_12", base_tree, AT_START, 12, "backup truncated in its header",
	      "cut inside the flags"),
	TRUNC("trunc_16", base_tree, AT_START, 16, "backup truncated in its header",
	      "cut after the header length"),
	TRUNC("trunc_header_slot", base_tree, AT_START, 200, "backup truncated in its header",
	      "cut inside key slot 1"),
	TRUNC("trunc_header_checksum", base_tree, AT_HEADER_END, -1,
	      "backup truncated in its header",
	      "the header's last byte missing"),
	TRUNC("trunc_after_header", base_tree, AT_HEADER_END, 0,
	      "backup truncated (ends before message 1)",
	      "nothing after the header"),
	TRUNC("trunc_msg1_16", base_tree, AT_HEADER_END, 16, "backup truncated in message 1",
	      "16 bytes of message 1 (less than its tag)"),
	TRUNC("trunc_msg1_manifest", base_tree, AT_HEADER_END, 200,
	      TED1,
	      "cut inside the manifest's ciphertext"),
	TRUNC("trunc_msg1_mid", c_two_messages, AT_HEADER_END, 30000,
	      TED1, "cut in the middle of message 1"),
	TRUNC("trunc_msg1_last_byte", c_two_messages, AT_HEADER_END, MSG - 1,
	      TED1,
	      "message 1 lacks its last byte"),
	TRUNC("trunc_before_msg2", c_two_messages, AT_HEADER_END, MSG,
	      "backup truncated (ends before message 2)",
	      "cut at the message boundary"),
	TRUNC("trunc_msg2_10", c_two_messages, AT_HEADER_END, MSG + 10,
	      "backup truncated in message 2",
	      "10 bytes of message 2"),
	TRUNC("trunc_end_1", c_two_messages, AT_END, 1, TED2,
	      "the final message lacks its last byte"),
	TRUNC("trunc_end_17", base_tree, AT_END, 17,
	      TED1, "the only message lacks its tag"),
	{"extend_1", base_tree, "one byte after the final message", 4,
	 TED1, 0, NULL, CRED_KEY, 0,
	 {{D_APPEND, AT_END, 1, 0}}},
	{"extend_17", c_two_messages, "17 zero bytes (a message's overhead) after the final one",
	 4, TED2, 0, NULL, CRED_KEY, 0,
	 {{D_APPEND, AT_END, 17, 0}}},
	/* bit flips in the header */
	FLIP("flip_magic", base_tree, AT_START, 0, 0x01, 4, "not a clawstate backup",
	     "a bit of the magic"),
	FLIP("flip_version_future", base_tree, AT_START, 9, 0x02, 7,
	     "backup format version 3 is newer than supported (1)", "version 1 -> 3"),
	FLIP("flip_version_zero", base_tree, AT_START, 9, 0x01, 4,
	     "backup format version 0 is invalid", "version 1 -> 0"),
	FLIP("flip_flags", base_tree, AT_START, 11, 0x01, 4, "header checksum mismatch",
	     "a flag bit"),
	FLIP("flip_header_length", base_tree, AT_START, 12, 0x80, 4,
	     "header length 2147484045 out of range", "the length's top bit"),
	FLIP("flip_header_length_low", base_tree, AT_START, 15, 0x10, 4,
	     "header checksum mismatch", "header length 397 -> 413"),
	FLIP("flip_vault_id", base_tree, AT_START, 20, 0x01, 4, "header checksum mismatch",
	     "a bit of the vault id"),
	FLIP("flip_slot", base_tree, AT_START, SLOT1 + 100, 0x01, 4,
	     "header checksum mismatch", "a bit of key slot 1's wrapped key"),
	FLIP("flip_checksum", base_tree, AT_HEADER_END, -1, 0x80, 4,
	     "header checksum mismatch", "a bit of the checksum"),
	/* header bits flipped with the checksum recomputed (tampering) */
	TAMPER("tamper_vault_id", base_tree, 20, 0x01, 5, "wrong passphrase or key file",
	       "vault id: the slot's AD no longer matches"),
	TAMPER("tamper_seq", base_tree, 39, 0x01, 4,
	       TED1,
	       "seq: the header is message 1's AD"),
	TAMPER("tamper_slot_kind", base_tree, SLOT1 + 4, 0x04, 4, "key slot 1: unknown kind 6",
	       "slot kind 2 -> 6"),
	TAMPER("tamper_slot_reserved", base_tree, SLOT1 + 7, 0x01, 4,
	       "key slot 1: reserved bytes set",
	       "a reserved byte of the slot"),
	TAMPER("tamper_keyfile_slot_argon", base_tree, SLOT1 + 15, 0x01, 4,
	       "key slot 1: key-file slot with Argon2 parameters",
	       "a key-file slot asks for Argon2"),
	TAMPER("tamper_salt", base_tree, SLOT1 + 30, 0x01, 5, "wrong passphrase or key file",
	       "a bit of the slot's salt"),
	TAMPER("tamper_sealed_key", base_tree, SEALED + 10, 0x01, 4,
	       "the sealed file key does not open with the vault key",
	       "a bit of the sealed file key"),
	TAMPER("tamper_stream_header", base_tree, SSHDR + 3, 0x01, 4,
	       TED1,
	       "a bit of the secretstream header"),
	{"tamper_slot_count", base_tree, "255 key slots declared", 4,
	 "header lists 255 key slots (1 to 32)", 0, NULL, CRED_KEY, 0,
	 {{D_SET8R, AT_START, 52, 255}}},
	{"tamper_slot_count_2", base_tree, "2 key slots declared, room for 1", 4,
	 "header length 397 does not fit 2 key slots", 0, NULL, CRED_KEY, 0,
	 {{D_SET8R, AT_START, 52, 2}}},
	/* bit flips in the encrypted manifest and payload */
	FLIP("flip_msg1_first", c_two_messages, AT_HEADER_END, 0, 0x01, 4,
	     "backup stream damaged at message 1", "message 1's first byte"),
	FLIP("flip_manifest_ciphertext", base_tree, AT_HEADER_END, 300, 0x10, 4,
	     TED1, "inside the manifest's ciphertext"),
	FLIP("flip_payload_msg1", c_two_messages, AT_HEADER_END, 60000, 0x01, 4,
	     "backup stream damaged at message 1", "inside the file content, message 1"),
	FLIP("flip_payload_msg2", c_two_messages, AT_END, 40, 0x01, 4,
	     TED2, "inside the final message"),
	FLIP("flip_tag_last", base_tree, AT_END, 1, 0x01, 4,
	     TED1, "the final message's MAC"),
	FLIP("flip_small_payload", c_good, AT_END, 100, 0x04, 4,
	     TED1,
	     "a one-message backup, near its end"),
	/* bits flipped before encryption: an authentic stream with a bad manifest */
	{"manifest_flip_path", c_man_flip_path,
	 "manifest path d/f -> d/g: the list is refused before any member is read", 4,
	 "d/h: hardlink target is not an earlier entry"},
	{"manifest_flip_path_top", c_man_flip_top, "manifest path top -> tnp", 4,
	 "tnp: manifest and archive disagree: member 5 is \"top\""},
	{"manifest_flip_brace", c_man_flip_brace, "a line's { -> z", 4, "line 6: not valid JSON"},
	{"manifest_flip_hash", c_man_flip_hash, "a bit of d/f's blake2b", 4,
	 "d/f: content hash mismatch"},
	{"manifest_flip_size", c_man_flip_size, "d/f's size 6 -> 7", 4,
	 "d/f: member size 6 differs from the manifest's 7"},
	{"manifest_flip_type", c_man_flip_type, "type dir -> eir", 4, "unknown type \"eir\""},
	{"manifest_flip_entries", c_man_flip_entries, "entries 5 -> 4", 4,
	 "line 6: more entry lines than the 4 the header gives"},
	{"payload_flip_blob", c_blob_flipped, "a bit of a file's content before encryption", 4,
	 "blob: content hash mismatch"},
	/* versions from the future: 7, before anything else */
	{"version_future_2", base_tree, "format version 2", 7,
	 "backup format version 2 is newer than supported (1)", 0, NULL, CRED_KEY, 0,
	 {{D_SET16, AT_START, 8, 2}}},
	{"version_future_garbage", base_tree, "format version 65535, the rest of the header "
	 "random", 7, "backup format version 65535 is newer than supported (1)", 0, NULL, CRED_KEY,
	 0, {{D_SET16, AT_START, 8, 0xffff}, {D_GARBAGE, AT_START, 0, 0}}},
	{"version_future_cut", base_tree, "format version 7, cut after 16 bytes", 7,
	 "backup format version 7 is newer than supported (1)", 0, NULL, CRED_KEY, 0,
	 {{D_SET16, AT_START, 8, 7}, {D_CUT, AT_START, 16, 0}}},
	/* absurd declared sizes in the header */
	{"header_length_max", base_tree, "header length 2^32-1", 4,
	 "header length 4294967295 out of range", 0, NULL, CRED_KEY, 0,
	 {{D_SET32, AT_START, 12, 0xffffffffu}}},
	{"header_length_16", base_tree, "header length 16", 4, "header length 16 out of range",
	 0, NULL, CRED_KEY, 0, {{D_SET32, AT_START, 12, 16}}},
	/* Argon2 parameters no derivation may run with: refused before any work */
	{"argon_memory", c_argon_mem, "passphrase slot asking for 1 TiB", 4,
	 "key slot 1 asks for too much memory (1048576 MiB, at most 1024)", 0, NULL, CRED_PASS, 10},
	{"argon_passes", c_argon_ops, "passphrase slot asking for 2^63 passes", 4,
	 "key slot 1 asks for too many passes (9223372036854775808, at most 16)", 0, NULL,
	 CRED_PASS, 10},
	{"argon_max", c_argon_max, "passphrase slot asking for 2^64-1 passes and bytes", 4,
	 "key slot 1 asks for too much memory", 0, NULL, CRED_PASS, 10},
	{"argon_total", c_argon_total, "five passphrase slots at the cap (16 passes, 1 GiB)", 4,
	 "key slots ask for too much Argon2id work together", 0, NULL, CRED_PASS, 10},
	{"argon_second_slot", c_argon_second, "a sound key-file slot, slot 2 asks for 1 TiB", 4,
	 "key slot 2 asks for too much memory (1048576 MiB, at most 1024)", 0, NULL, CRED_KEY, 10},
	{"argon_below_minimum", c_argon_low, "passphrase slot with 0 passes", 4,
	 "key slot 1: Argon2id parameters below the minimum", 0, NULL, CRED_PASS, 10},
	/* credentials */
	{"wrong_key_file", c_wrong_key, "made for another key file", 5,
	 "wrong passphrase or key file"},
	{"passphrase_for_key_file", c_good, "a passphrase for a key-file backup", 5,
	 "wrong passphrase or key file", 0, NULL, CRED_PASS},
	{"key_file_for_passphrase", c_pass_slot, "a key file for a passphrase backup", 5,
	 "wrong passphrase or key file"},
	/* paths */
	{"symlink_chain_rel", c_symlink_chain_rel, "l1 -> l2 -> ../outside, then l1/f", 4,
	 "l1/f: path goes through a symlink"},
	{"symlink_self_then_file", c_symlink_self, "self -> ., then self/f", 4,
	 "self/f: path goes through a symlink"},
	{NULL, NULL, NULL, 0, NULL},
};

static void write_expect(const char *dir, const char *name, const char *about, int code,
			 const char *frag, int vcode, const char *vfrag, int cred, int timeout)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.expect", dir, name);
	FILE *fp = fopen(path, "w");
	if (!fp) {
		perror(path);
		exit(99);
	}
	if (about)
		fprintf(fp, "# %s\n", about);
	fprintf(fp, "exit=%d\nmessage=%s\n", code, frag);
	if (vfrag)
		fprintf(fp, "verify_exit=%d\nverify_message=%s\n", vcode, vfrag);
	if (cred == CRED_PASS)
		fprintf(fp, "cred=passphrase\n");
	if (timeout)
		fprintf(fp, "timeout=%d\n", timeout);
	if (fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
}

static void write_raw(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
}

/* Build one case in a child (C and the generator start fresh). */
static void corpus_case(const char *dir, const char *name, void (*build)(void),
			const struct damage *d, size_t nd)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char key[4096], out[4096];
		snprintf(key, sizeof key, "%s/key", dir);
		snprintf(out, sizeof out, "%s/%s.cst", dir, name);
		det_reseed(name);
		C.entries = -1;
		C.manifest_size = -1;
		build();
		write_backup(key, out);
		damage_file(out, d, nd);
		exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "mkhostile: case %s failed\n", name);
		exit(99);
	}
}

static int write_corpus(const char *dir)
{
	randombytes_set_implementation(&det_impl);
	if (cs_library_init(&craft_err) != CS_OK)
		die("init");
	craft_fixed_owner = 1;
	outside = CORPUS_OUTSIDE;
	outside_rel = "../outside";
	if (cs_cred_from_buffer(CS_CRED_KEYFILE, corpus_key, sizeof corpus_key, &cred_key,
				&craft_err) != CS_OK ||
	    cs_cred_from_buffer(CS_CRED_KEYFILE, wrong_key, sizeof wrong_key, &cred_wrong,
				&craft_err) != CS_OK ||
	    cs_cred_from_buffer(CS_CRED_PASSPHRASE, corpus_pass, strlen(corpus_pass), &cred_pass,
				&craft_err) != CS_OK)
		die("credentials");
	write_raw(dir, "key", corpus_key, sizeof corpus_key);
	write_raw(dir, "passphrase", corpus_pass, strlen(corpus_pass));
	int n = 0;
	for (const struct case_def *c = cases; c->name; c++, n++) {
		corpus_case(dir, c->name, c->build, NULL, 0);
		write_expect(dir, c->name, NULL, c->code, c->frag, c->vcode, c->vfrag, CRED_KEY, 0);
	}
	for (const struct corpus_def *c = corpus; c->name; c++, n++) {
		corpus_case(dir, c->name, c->build, c->d, 2);
		write_expect(dir, c->name, c->about, c->code, c->frag, c->vcode, c->vfrag, c->cred,
			     c->timeout);
	}
	printf("mkhostile: %d cases in %s\n", n, dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (const struct case_def *c = cases; c->name; c++)
			printf("%s|%d|%s|%d|%s\n", c->name, c->code, c->frag,
			       c->vfrag ? c->vcode : c->code, c->vfrag ? c->vfrag : c->frag);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2]);
	if (argc != 5) {
		fprintf(stderr, "usage: mkhostile --list | mkhostile --corpus DIR | "
				"mkhostile KEYFILE OUTSIDE CASE OUT\n");
		return 2;
	}
	if (cs_library_init(&craft_err) != CS_OK)
		die("init");
	outside = argv[2];
	outside_rel = fmt("../../..%s", outside);
	C.entries = -1;
	C.manifest_size = -1;
	for (const struct case_def *c = cases; c->name; c++) {
		if (strcmp(c->name, argv[3]) != 0)
			continue;
		c->build();
		write_backup(argv[1], argv[4]);
		return 0;
	}
	fprintf(stderr, "mkhostile: no case %s\n", argv[3]);
	return 2;
}
