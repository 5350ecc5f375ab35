/* test_stage.c - the safe writer: hostile entry lists, staged restores into
 * new, empty and non-empty targets, stale staging dirs of killed runs, a busy
 * lock, and gateway detection. */
#include "internal.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Test paths are short; truncation would only fail a CHECK. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static char tmp[PATH_MAX];

static void path_of(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", tmp, rel);
}

static bool has_what(const char *frag)
{
	return strstr(check_err.what, frag) != NULL;
}

static bool exists_rel(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	path_of(p, rel);
	return lstat(p, &st) == 0;
}

/* Number of entries in dir whose name starts with prefix. */
static int count_prefix(const char *dir_rel, const char *prefix)
{
	char p[PATH_MAX];
	int n = 0;
	path_of(p, dir_rel);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *rel, const char *text)
{
	char p[PATH_MAX];
	path_of(p, rel);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static void mkdir_rel(const char *rel)
{
	char p[PATH_MAX];
	path_of(p, rel);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		perror(p);
		exit(2);
	}
}

/* ---- entries and in-memory content ------------------------------------------------------ */

struct src {
	struct cs_entry e;
	const char *content;
};

struct memread {
	const char *p;
	size_t len, pos;
};

static int mem_read(void *ctx, void *buf, size_t cap, size_t *got, struct cs_error *err)
{
	struct memread *m = ctx;
	size_t n = m->len - m->pos;
	if (n > cap)
		n = cap;
	if (n > 3)
		n = 3; /* short reads on purpose */
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	*got = n;
	return CS_OK;
}

static struct cs_entry ent(const char *path, int type, uint32_t mode, const char *target)
{
	struct cs_entry e;
	memset(&e, 0, sizeof e);
	e.path = (char *)path;
	e.type = type;
	e.mode = mode;
	e.uid = geteuid();
	e.gid = getegid();
	e.mtime_sec = 1600000000 + (int64_t)strlen(path);
	e.mtime_nsec = 123456789;
	e.target = (char *)target;
	return e;
}

static void set_content(struct src *s, const char *content)
{
	cs_hash_state hs;
	s->content = content;
	s->e.size = strlen(content);
	cs_hash_init(&hs);
	cs_hash_update(&hs, content, s->e.size);
	cs_hash_final(&hs, s->e.hash);
}

/* Stage list into target (relative to tmp) with opts; returns the rc of the
 * first failing step. */
static int stage_list(const char *target_rel, struct cs_restore_opts *o, uint64_t seq,
		      struct src *list, size_t n, struct cs_restore_result *res)
{
	char target[PATH_MAX];
	struct cs_stage *st = NULL;
	struct cs_entry *entries = calloc(n, sizeof *entries);
	path_of(target, target_rel);
	o->target = target;
	memset(res, 0, sizeof *res);
	res->info.uid = geteuid();
	res->info.gid = getegid();
	for (size_t i = 0; i < n; i++)
		entries[i] = list[i].e;
	int rc = cs_entries_validate(entries, n, &check_err);
	if (rc == CS_OK)
		rc = cs_stage_open(o, seq, 0, &st, &check_err);
	for (size_t i = 0; rc == CS_OK && i < n; i++) {
		struct memread m = {list[i].content, list[i].content ? strlen(list[i].content) : 0,
				    0};
		rc = cs_stage_add(st, &entries[i], mem_read, &m, &check_err);
	}
	if (rc == CS_OK && (rc = cs_stage_commit(st, entries, n, res, &check_err)) == CS_OK)
		st = NULL;
	cs_stage_abort(st);
	free(entries);
	return rc;
}

/* ---- hostile lists ----------------------------------------------------------------------- */

static void expect_hostile(struct cs_entry *list, size_t n, const char *path, const char *frag)
{
	cs_error_clear(&check_err);
	CHECK_RC(cs_entries_validate(list, n, &check_err), CS_ERR_HOSTILE);
	/* The error record keeps the first 4095 bytes of a longer path. */
	bool same = strncmp(check_err.path, path, sizeof check_err.path - 1) == 0;
	CHECK(same);
	CHECK(has_what(frag));
	if (!has_what(frag) || !same)
		fprintf(stderr, "  want %s: %s, got %s: %s\n", path, frag, check_err.path,
			check_err.what);
}

static void test_validate(void)
{
	static char longpath[4097], longname[257], deep[257 * 2];
	struct cs_entry l[4];

	l[0] = ent("../x", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 1, "../x", "path contains '..'");
	l[0] = ent("/abs", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 1, "/abs", "absolute path");
	l[0] = ent("a", CS_ENTRY_DIR, 0700, NULL);
	l[1] = ent("a/../b", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 2, "a/../b", "path contains '..'");
	l[1] = ent("a/./b", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 2, "a/./b", "path contains '.'");
	l[1] = ent("a//b", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 2, "a//b", "empty path component");
	l[1] = ent("a/", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 2, "a/", "empty path component");
	l[0] = ent("l", CS_ENTRY_SYMLINK, 0777, "/etc");
	l[1] = ent("l/f", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 2, "l/f", "path goes through a symlink");
	l[0] = ent("f", CS_ENTRY_FILE, 0600, NULL);
	l[1] = ent("f/x", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 2, "f/x", "path goes through a non-directory");
	l[0] = ent("nodir/x", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 1, "nodir/x", "parent directory not listed");
	l[0] = ent("h", CS_ENTRY_HARDLINK, 0600, "../outside");
	expect_hostile(l, 1, "h", "hardlink to outside the tree");
	l[0] = ent("h", CS_ENTRY_HARDLINK, 0600, "/etc/passwd");
	expect_hostile(l, 1, "h", "hardlink to outside the tree");
	l[0] = ent("h", CS_ENTRY_HARDLINK, 0600, "z");
	l[1] = ent("z", CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 2, "h", "hardlink target is not an earlier entry");
	l[0] = ent("d", CS_ENTRY_DIR, 0700, NULL);
	l[1] = ent("h", CS_ENTRY_HARDLINK, 0600, "d");
	expect_hostile(l, 2, "h", "not a regular file");
	l[0] = ent("s", CS_ENTRY_SYMLINK, 0777, "");
	expect_hostile(l, 1, "s", "empty symlink target");
	l[0] = ent("x", CS_ENTRY_FILE, 0600, NULL);
	l[1] = ent("y", CS_ENTRY_FILE, 0600, NULL);
	l[2] = ent("x", CS_ENTRY_DIR, 0700, NULL);
	expect_hostile(l, 3, "x", "duplicate entry");

	memset(longpath, 'a', 4096);
	for (int i = 100; i < 4096; i += 101)
		longpath[i] = '/';
	l[0] = ent(longpath, CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 1, longpath, "path too long");
	memset(longname, 'n', 256);
	l[0] = ent(longname, CS_ENTRY_FILE, 0600, NULL);
	expect_hostile(l, 1, longname, "name too long");
	for (int i = 0; i < 257; i++) {
		deep[2 * i] = 'd';
		deep[2 * i + 1] = '/';
	}
	deep[257 * 2 - 1] = '\0';
	l[0] = ent(deep, CS_ENTRY_DIR, 0700, NULL);
	expect_hostile(l, 1, deep, "path too deep");
	l[0] = ent("weird", 99, 0600, NULL);
	expect_hostile(l, 1, "weird", "unsupported entry type");
	l[0] = ent("m", CS_ENTRY_FILE, 0170600, NULL);
	expect_hostile(l, 1, "m", "invalid mode");
	l[0] = ent("t", CS_ENTRY_FILE, 0600, NULL);
	l[0].mtime_nsec = 1000000000;
	expect_hostile(l, 1, "t", "invalid mtime");
	struct cs_xattr bad = {"trusted.x", (unsigned char *)"v", 1};
	l[0] = ent("xa", CS_ENTRY_FILE, 0600, NULL);
	l[0].n_xattrs = 1;
	l[0].xattrs = &bad;
	expect_hostile(l, 1, "xa", "xattr name not in user.*");

	/* A sound list passes; a symlink may point anywhere (never followed). */
	l[0] = ent("a", CS_ENTRY_DIR, 0700, NULL);
	l[1] = ent("a/f", CS_ENTRY_FILE, 0600, NULL);
	l[2] = ent("a/l", CS_ENTRY_SYMLINK, 0777, "../../../etc/shadow");
	l[3] = ent("a/h", CS_ENTRY_HARDLINK, 0600, "a/f");
	CHECK_OK(cs_entries_validate(l, 4, &check_err));
}

/* ---- round trips -------------------------------------------------------------------------- */

static bool xattrs_supported(void)
{
	char p[PATH_MAX];
	path_of(p, "xattr-probe");
	write_file("xattr-probe", "x");
	bool ok = setxattr(p, "user.probe", "1", 1, 0) == 0;
	unlink(p);
	return ok;
}

static struct cs_xattr xa = {"user.clawstate", (unsigned char *)"value\0bin", 9};

static size_t build_tree(struct src *s, bool with_xattrs)
{
	size_t n = 0;
	memset(s, 0, 16 * sizeof *s);
	s[n++].e = ent("d", CS_ENTRY_DIR, 0755, NULL);
	s[n].e = ent("d/secret", CS_ENTRY_FILE, 0600, NULL);
	set_content(&s[n], "{\"noiseKey\":1}\n");
	if (with_xattrs) {
		s[n].e.n_xattrs = 1;
		s[n].e.xattrs = &xa;
	}
	n++;
	s[n].e = ent("d/script", CS_ENTRY_FILE, 0755, NULL);
	set_content(&s[n++], "#!/bin/sh\necho hi\n");
	s[n].e = ent("d/empty-file", CS_ENTRY_FILE, 0644, NULL);
	set_content(&s[n++], "");
	s[n++].e = ent("d/link", CS_ENTRY_SYMLINK, 0777, "secret");
	s[n++].e = ent("d/hard", CS_ENTRY_HARDLINK, 0600, "d/secret");
	s[n++].e = ent("d/priv", CS_ENTRY_DIR, 0700, NULL);
	s[n].e = ent("d/priv/key", CS_ENTRY_FILE, 0700, NULL);
	set_content(&s[n++], "k");
	s[n++].e = ent("empty", CS_ENTRY_DIR, 0750, NULL);
	s[n++].e = ent("ro", CS_ENTRY_DIR, 0555, NULL);
	s[n].e = ent("ro/f", CS_ENTRY_FILE, 0444, NULL);
	set_content(&s[n++], "read only");
	if (geteuid() == 0) {
		s[n].e = ent("suid", CS_ENTRY_FILE, 04755, NULL);
		s[n].e.uid = 1234;
		s[n].e.gid = 2345;
		set_content(&s[n++], "setuid after chown");
	}
	return n;
}

static void check_entry_on_disk(const char *root_rel, const struct src *s)
{
	char p[PATH_MAX], rel[PATH_MAX];
	struct stat st;
	snprintf(rel, sizeof rel, "%s/%s", root_rel, s->e.path);
	path_of(p, rel);
	CHECK(lstat(p, &st) == 0);
	if (s->e.type == CS_ENTRY_HARDLINK) {
		char tp[PATH_MAX];
		struct stat tst;
		snprintf(rel, sizeof rel, "%s/%s", root_rel, s->e.target);
		path_of(tp, rel);
		CHECK(lstat(tp, &tst) == 0 && tst.st_ino == st.st_ino && st.st_nlink == 2);
		return;
	}
	CHECK(st.st_mtim.tv_sec == s->e.mtime_sec && st.st_mtim.tv_nsec == s->e.mtime_nsec);
	if (st.st_mtim.tv_nsec != s->e.mtime_nsec)
		fprintf(stderr, "  %s: mtime %ld.%09ld\n", s->e.path, (long)st.st_mtim.tv_sec,
			st.st_mtim.tv_nsec);
	CHECK(st.st_uid == s->e.uid && st.st_gid == s->e.gid);
	if (s->e.type == CS_ENTRY_SYMLINK) {
		char buf[256];
		ssize_t n = readlink(p, buf, sizeof buf - 1);
		CHECK(S_ISLNK(st.st_mode) && n == (ssize_t)strlen(s->e.target) &&
		      memcmp(buf, s->e.target, (size_t)n) == 0);
		return;
	}
	CHECK((st.st_mode & 07777) == s->e.mode);
	if ((st.st_mode & 07777) != s->e.mode)
		fprintf(stderr, "  %s: mode %o want %o\n", s->e.path, st.st_mode & 07777, s->e.mode);
	if (s->e.type == CS_ENTRY_DIR) {
		CHECK(S_ISDIR(st.st_mode));
		return;
	}
	CHECK(S_ISREG(st.st_mode) && (uint64_t)st.st_size == s->e.size);
	char buf[256] = {0};
	FILE *f = fopen(p, "r");
	CHECK(f != NULL);
	if (f) {
		size_t got = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		CHECK(got == s->e.size && memcmp(buf, s->content, got) == 0);
	}
	for (size_t i = 0; i < s->e.n_xattrs; i++) {
		char v[64];
		ssize_t n = lgetxattr(p, s->e.xattrs[i].name, v, sizeof v);
		CHECK(n == (ssize_t)s->e.xattrs[i].len && memcmp(v, s->e.xattrs[i].value, (size_t)n) == 0);
	}
}

static void test_round_trip(void)
{
	struct src s[16];
	struct cs_restore_opts o = {.keep_old = 1};
	struct cs_restore_result res;
	size_t n = build_tree(s, xattrs_supported());

	mkdir_rel("rt");
	CHECK_OK(stage_list("rt/new", &o, 3, s, n, &res));
	for (size_t i = 0; i < n; i++)
		check_entry_on_disk("rt/new", &s[i]);
	CHECK(res.replaced == 0 && res.old_path[0] == '\0' && res.owners_skipped == 0);
	/* Only the target: no staging dir, lock or old tree left beside it. */
	CHECK(count_prefix("rt", "new.clawstate-") == 0);
	struct stat st;
	char p[PATH_MAX];
	path_of(p, "rt/new");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0700);

	/* An existing empty target is exchanged; the empty old dir is dropped. */
	mkdir_rel("rt/empty-target");
	CHECK_OK(stage_list("rt/empty-target", &o, 3, s, n, &res));
	CHECK(exists_rel("rt/empty-target/d/secret") && res.replaced == 0);
	CHECK(count_prefix("rt", "empty-target.clawstate-") == 0);
}

static void test_replace(void)
{
	struct src s[16];
	struct cs_restore_opts o = {.keep_old = 1};
	struct cs_restore_result res;
	size_t n = build_tree(s, false);
	char want[PATH_MAX];

	mkdir_rel("rp");
	mkdir_rel("rp/t");
	write_file("rp/t/keep.txt", "precious");
	/* Not empty, no --replace: refused before anything is written. */
	CHECK_RC(stage_list("rp/t", &o, 7, s, n, &res), CS_ERR_EXISTS);
	CHECK(has_what("target is not empty (use --replace)"));
	CHECK(exists_rel("rp/t/keep.txt") && !exists_rel("rp/t/d"));
	CHECK(count_prefix("rp", "t.clawstate-") == 0);

	o.replace = 1;
	CHECK_OK(stage_list("rp/t", &o, 7, s, n, &res));
	CHECK(exists_rel("rp/t/d/secret") && !exists_rel("rp/t/keep.txt"));
	CHECK(exists_rel("rp/t.clawstate-old-7/keep.txt"));
	path_of(want, "rp/t.clawstate-old-7");
	CHECK(res.replaced == 1 && strcmp(res.old_path, want) == 0);

	CHECK_OK(stage_list("rp/t", &o, 7, s, n, &res));
	path_of(want, "rp/t.clawstate-old-7.1");
	CHECK(res.replaced == 1 && strcmp(res.old_path, want) == 0);
	CHECK(exists_rel("rp/t.clawstate-old-7.1/d/secret"));

	o.keep_old = 0;
	CHECK_OK(stage_list("rp/t", &o, 7, s, n, &res));
	CHECK(res.replaced == 1 && res.old_path[0] == '\0');
	CHECK(count_prefix("rp", "t.clawstate-") == 2); /* old-7 and old-7.1 only */
	CHECK(!exists_rel("rp/t.clawstate-old-7.2"));

}

static void test_bad_content(void)
{
	struct src s[2];
	struct cs_restore_opts o = {.keep_old = 1};
	struct cs_restore_result res;
	memset(s, 0, sizeof s);
	s[0].e = ent("f", CS_ENTRY_FILE, 0600, NULL);
	set_content(&s[0], "right");
	s[0].content = "wrong";
	mkdir_rel("bc");
	CHECK_RC(stage_list("bc/t", &o, 1, s, 1, &res), CS_ERR_CORRUPT);
	CHECK(has_what("content hash mismatch") && strcmp(check_err.path, "f") == 0);
	s[0].content = "right, but longer";
	CHECK_RC(stage_list("bc/t", &o, 1, s, 1, &res), CS_ERR_CORRUPT);
	CHECK(has_what("size mismatch"));
	s[0].content = "rig";
	CHECK_RC(stage_list("bc/t", &o, 1, s, 1, &res), CS_ERR_CORRUPT);
	CHECK(has_what("size mismatch"));
	/* Failures leave nothing: no target, no staging dir, no lock. */
	CHECK(!exists_rel("bc/t") && count_prefix("bc", "t.clawstate-") == 0);
}

/* ---- stale staging dirs and the lock ---------------------------------------------------------- */

static void fake_stage(const char *name, bool same_ino, const char *seq)
{
	char rel[PATH_MAX], p[PATH_MAX], text[128];
	struct stat st;
	snprintf(rel, sizeof rel, "sl/%s", name);
	mkdir_rel(rel);
	snprintf(rel, sizeof rel, "sl/%s/sub", name);
	mkdir_rel(rel);
	snprintf(rel, sizeof rel, "sl/%s/sub/file", name);
	write_file(rel, "half-restored");
	snprintf(rel, sizeof rel, "sl/%s", name);
	path_of(p, rel);
	CHECK(stat(p, &st) == 0);
	snprintf(text, sizeof text, "%llu:%llu 999999%s\n", (unsigned long long)st.st_dev,
		 (unsigned long long)(same_ino ? st.st_ino : st.st_ino + 1000000), seq);
	snprintf(rel, sizeof rel, "sl/%s.lock", name);
	write_file(rel, text); /* nobody holds its flock: the run was killed */
}

static void test_stale(void)
{
	struct cs_restore_opts o = {.keep_old = 1};
	struct cs_stage *st = NULL;
	char target[PATH_MAX];

	mkdir_rel("sl");
	path_of(target, "sl/t");
	o.target = target;
	/* Killed while staging: same dev:ino, removed. */
	fake_stage("t.clawstate-stage-0badf00d", true, "");
	/* Killed after the exchange: the name holds the old tree, kept. */
	fake_stage("t.clawstate-stage-1badf00d", false, " 5");
	CHECK_OK(cs_stage_open(&o, 9, 0, &st, &check_err));
	CHECK(!exists_rel("sl/t.clawstate-stage-0badf00d"));
	CHECK(!exists_rel("sl/t.clawstate-stage-0badf00d.lock"));
	CHECK(!exists_rel("sl/t.clawstate-stage-1badf00d"));
	CHECK(!exists_rel("sl/t.clawstate-stage-1badf00d.lock"));
	CHECK(exists_rel("sl/t.clawstate-old-5/sub/file"));
	/* Ours, now: a staging dir and its lock. */
	CHECK(count_prefix("sl", "t.clawstate-stage-") == 2);
	cs_stage_abort(st);
	CHECK(count_prefix("sl", "t.clawstate-stage-") == 0);

	/* A lock without dev:ino (killed before it was written) and a non-empty dir:
	 * nothing proves it is ours, so it is kept, under the current seq. */
	mkdir_rel("sl/t.clawstate-stage-2badf00d");
	write_file("sl/t.clawstate-stage-2badf00d/x", "?");
	write_file("sl/t.clawstate-stage-2badf00d.lock", "");
	CHECK_OK(cs_stage_open(&o, 9, 0, &st, &check_err));
	CHECK(exists_rel("sl/t.clawstate-old-9/x"));
	cs_stage_abort(st);
}

static void test_busy(void)
{
	struct cs_restore_opts o = {.keep_old = 1};
	struct cs_stage *st = NULL;
	char target[PATH_MAX], lock[PATH_MAX];
	int ready[2];

	mkdir_rel("bz");
	path_of(target, "bz/t");
	path_of(lock, "bz/t.clawstate-stage-0000beef.lock");
	o.target = target;
	CHECK(pipe(ready) == 0);
	pid_t child = fork();
	if (child == 0) {
		int fd = open(lock, O_RDWR | O_CREAT, 0600);
		char text[64];
		int n = snprintf(text, sizeof text, "1:1 %ld 1\n", (long)getpid());
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(fd, text, (size_t)n) != n)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	CHECK_RC(cs_stage_open(&o, 1, 0, &st, &check_err), CS_ERR_BUSY);
	char want[128];
	snprintf(want, sizeof want, "is running (pid %ld)", (long)child);
	CHECK(has_what("another restore to") && has_what(want));
	CHECK_RC(cs_stage_check(&o, 0, &check_err), CS_ERR_BUSY);
	CHECK(exists_rel("bz/t.clawstate-stage-0000beef.lock") && !exists_rel("bz/t"));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	/* Its holder died: the lock is stale and the next run cleans it. */
	CHECK_OK(cs_stage_open(&o, 1, 0, &st, &check_err));
	CHECK(!exists_rel("bz/t.clawstate-stage-0000beef.lock"));
	cs_stage_abort(st);
}

static void test_refusals(void)
{
	struct cs_restore_opts o = {.keep_old = 1, .replace = 1};
	struct cs_stage *st = NULL;
	char target[PATH_MAX];

	mkdir_rel("rf");
	write_file("rf/file", "x");
	path_of(target, "rf/file");
	o.target = target;
	CHECK_RC(cs_stage_open(&o, 1, 0, &st, &check_err), CS_ERR_EXISTS);
	CHECK(has_what("not a directory"));
	path_of(target, "rf/missing-parent/t");
	CHECK_RC(cs_stage_open(&o, 1, 0, &st, &check_err), CS_ERR_NOTFOUND);
	path_of(target, "rf/t");
	CHECK_RC(cs_stage_open(&o, 1, UINT64_MAX / 2, &st, &check_err), CS_ERR_NOSPACE);
	CHECK(count_prefix("rf", "t.clawstate-") == 0);

	if (geteuid() == 0) {
		mkdir_rel("rf/mnt");
		path_of(target, "rf/mnt");
		if (mount("tmpfs", target, "tmpfs", 0, "size=1m") == 0) {
			/* A mount point is staged inside, never beside. */
			CHECK_OK(cs_stage_open(&o, 1, 0, &st, &check_err));
			CHECK(count_prefix("rf/mnt", ".clawstate-stage-") == 2);
			CHECK(count_prefix("rf", "mnt.clawstate-") == 0);
			cs_stage_abort(st);
			CHECK(count_prefix("rf/mnt", ".clawstate-") == 0);
			CHECK(umount(target) == 0);
		}
	}
}

/* ---- gateway detection ------------------------------------------------------------------------ */

static unsigned long long own_start_time(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f || !fgets(buf, sizeof buf, f))
		return 0;
	fclose(f);
	char *p = strrchr(buf, ')') + 2;
	for (int i = 3; i < 22; i++)
		p = strchr(p, ' ') + 1;
	return strtoull(p, NULL, 10);
}

static void write_lock_json(const char *rel, long pid, const char *extra)
{
	char text[512];
	snprintf(text, sizeof text,
		 "{\"pid\":%ld,\"createdAt\":\"2026-01-01T00:00:00.000Z\","
		 "\"configPath\":\"/x/openclaw.json\"%s}",
		 pid, extra);
	write_file(rel, text);
}

static pid_t dead_pid(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

/* A child holding a POSIX write lock on the coordinator, as SQLite's
 * BEGIN EXCLUSIVE does. */
static pid_t hold_fcntl_lock(const char *path)
{
	int ready[2];
	if (pipe(ready) < 0)
		return -1;
	pid_t p = fork();
	if (p == 0) {
		int fd = open(path, O_RDWR);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1073741824,
				   .l_len = 512};
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	if (read(ready[0], &c, 1) != 1)
		p = -1;
	close(ready[0]);
	close(ready[1]);
	return p;
}

static void test_gateway(void)
{
	char state[PATH_MAX], dir[64], rel[PATH_MAX], extra[128];
	pid_t pid = -1;
	unsigned long long me = own_start_time();

	mkdir_rel("gw");
	mkdir_rel("gw/state");
	path_of(state, "gw/state");
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == 0);
	mkdir_rel("gw/state/tmp");
	snprintf(dir, sizeof dir, "gw/state/tmp/openclaw-%u", (unsigned)getuid());
	mkdir_rel(dir);

	/* Live pid whose start time matches: running. */
	snprintf(rel, sizeof rel, "%s/gateway.0123abcd.lock", dir);
	snprintf(extra, sizeof extra, ",\"startTime\":%llu", me);
	write_lock_json(rel, (long)getpid(), extra);
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == getpid());

	/* Same pid, another start time: the pid was reused, the lock is stale. */
	snprintf(extra, sizeof extra, ",\"startTime\":%llu", me + 1);
	write_lock_json(rel, (long)getpid(), extra);
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == 0);

	/* Dead pid: stale. */
	write_lock_json(rel, (long)dead_pid(), "");
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == 0);

	/* No start time: the <lock>.sqlite coordinator decides. */
	write_lock_json(rel, (long)getpid(), "");
	snprintf(rel, sizeof rel, "%s/gateway.0123abcd.lock.sqlite", dir);
	write_file(rel, "");
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == 0);
	char coord[PATH_MAX];
	path_of(coord, rel);
	pid_t holder = hold_fcntl_lock(coord);
	CHECK(holder > 0);
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == getpid());

	/* The restore refuses a live target unless forced. */
	struct cs_restore_opts o = {.target = state, .replace = 1, .keep_old = 1};
	struct cs_stage *st = NULL;
	CHECK_RC(cs_stage_open(&o, 1, 0, &st, &check_err), CS_ERR_LIVE);
	CHECK(has_what("gateway is running"));
	o.force = 1;
	CHECK_OK(cs_stage_open(&o, 1, 0, &st, &check_err));
	cs_stage_abort(st);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == 0);

	/* Older releases: /tmp/openclaw-<uid>/, counted only when the lock names
	 * this state dir. */
	char legacy[PATH_MAX], lock[PATH_MAX], real[PATH_MAX];
	snprintf(legacy, sizeof legacy, "/tmp/openclaw-cstest-%ld", (long)getpid());
	snprintf(lock, sizeof lock, "%s/gateway.deadbeef.lock", legacy);
	CHECK(realpath(state, real) != NULL);
	CHECK(mkdir(legacy, 0700) == 0);
	FILE *f = fopen(lock, "w");
	if (f) {
		fprintf(f, "{\"pid\":%ld,\"createdAt\":\"x\",\"configPath\":\"%s/openclaw.json\","
			   "\"startTime\":%llu}",
			(long)getpid(), real, me);
		fclose(f);
	}
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == getpid());
	f = fopen(lock, "w");
	if (f) {
		fprintf(f, "{\"pid\":%ld,\"createdAt\":\"x\",\"configPath\":\"/elsewhere/openclaw.json\","
			   "\"startTime\":%llu}",
			(long)getpid(), me);
		fclose(f);
	}
	CHECK_OK(cs_gateway_running(state, &pid, &check_err));
	CHECK(pid == 0);
	unlink(lock);
	rmdir(legacy);
}

/* ---- non-root: owners are not applied, and said so ----------------------------------------- */

static void test_non_root(void)
{
	if (geteuid() != 0)
		return;
	char dir[PATH_MAX];
	mkdir_rel("nr");
	path_of(dir, "nr");
	if (chown(dir, 65534, 65534) < 0)
		return;
	bool with_xattrs = xattrs_supported();
	pid_t p = fork();
	if (p == 0) {
		struct src s[3];
		struct cs_restore_opts o = {.keep_old = 1};
		struct cs_restore_result res;
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		memset(s, 0, sizeof s);
		s[0].e = ent("d", CS_ENTRY_DIR, 0500, NULL);
		s[1].e = ent("d/f", CS_ENTRY_FILE, 0400, NULL);
		set_content(&s[1], "x");
		s[1].e.xattrs = &xa;
		s[1].e.n_xattrs = with_xattrs ? 1 : 0;
		s[1].e.uid = 0; /* recorded as root: cannot be applied */
		if (stage_list("nr/t", &o, 1, s, 2, &res) != CS_OK) {
			fprintf(stderr, "non-root restore: %s: %s\n", check_err.path, check_err.what);
			_exit(11);
		}
		struct stat st;
		char f[PATH_MAX];
		path_of(f, "nr/t/d/f");
		if (!res.owners_skipped || lstat(f, &st) < 0 || st.st_uid != 65534 ||
		    (st.st_mode & 07777) != 0400)
			_exit(12);
		_exit(0);
	}
	int status = 0;
	waitpid(p, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- the restore front end over a real vault and backup ------------------------------------ */

static void count_plan(void *ctx, const struct cs_entry *e)
{
	(void)e;
	(*(int *)ctx)++;
}

static int restore_file(const char *backup, const struct cs_cred *cred,
			const struct cs_restore_opts *o, struct cs_restore_result *res)
{
	int fd = open(backup, O_RDONLY | O_CLOEXEC);
	int rc = cs_restore_backup(fd, backup, cred, o, res, &check_err);
	close(fd);
	return rc;
}

static void test_restore_e2e(void)
{
	char vault[PATH_MAX], state[PATH_MAX], backup[PATH_MAX], t1[PATH_MAX], t2[PATH_MAX];
	char t3[PATH_MAX];
	struct cs_cred *cred = NULL;
	struct cs_vault *v = NULL;
	struct cs_snapshot_result sr;
	struct cs_restore_result res;

	mkdir_rel("e2e");
	mkdir_rel("e2e/state");
	mkdir_rel("e2e/state/credentials");
	mkdir_rel("e2e/state/credentials/whatsapp");
	mkdir_rel("e2e/state/workspace");
	write_file("e2e/state/openclaw.json", "{\"gateway\":{\"auth\":{\"token\":\"x\"}}}\n");
	write_file("e2e/state/credentials/whatsapp/creds.json", "{\"noiseKey\":{}}\n");
	write_file("e2e/state/workspace/MEMORY.md", "# notes\n");
	path_of(state, "e2e/state/workspace/link.md");
	CHECK(symlink("MEMORY.md", state) == 0);
	path_of(state, "e2e/state/openclaw.json");
	chmod(state, 0600);
	path_of(vault, "e2e/vault");
	path_of(state, "e2e/state");
	path_of(backup, "e2e/b.cst");
	path_of(t1, "e2e/r1");
	path_of(t2, "e2e/r2");
	path_of(t3, "e2e/r3");

	CHECK_OK(cs_cred_from_buffer(CS_CRED_PASSPHRASE, "a test passphrase", 17, &cred, &check_err));
	struct cs_vault_create_opts co = {.dir = vault, .cred = cred, .kdf = CS_KDF_INTERACTIVE};
	CHECK_OK(cs_vault_create(&co, &check_err));
	CHECK_OK(cs_vault_open(vault, CS_OPEN_WRITE, &v, &check_err));
	if (!v)
		return;
	CHECK_OK(cs_vault_unlock(v, cred, &check_err));
	struct cs_snapshot_opts so = {.state_dir = state, .home = "/home/u"};
	CHECK_OK(cs_snapshot_create(v, &so, &sr, &check_err));
	struct cs_backup_opts bo = {.seq = sr.seq, .out_path = backup};
	struct cs_backup_result br;
	CHECK_OK(cs_backup_write(v, &bo, &br, &check_err));

	/* Dry run: the plan, and not even a staging dir. */
	struct cs_restore_opts o = {.target = t1, .keep_old = 1, .dry_run = 1, .plan = count_plan};
	int plan_count = 0;
	o.report.ctx = &plan_count;
	CHECK_OK(cs_restore_snapshot(v, sr.seq, &o, &res, &check_err));
	CHECK(plan_count == (int)res.entries && res.entries == sr.entries && res.files == 3);
	CHECK(!exists_rel("e2e/r1") && count_prefix("e2e", "r1.clawstate-") == 0);
	plan_count = 0;
	CHECK_OK(restore_file(backup, cred, &o, &res));
	CHECK(plan_count == (int)sr.entries && res.seq == sr.seq);
	CHECK(!exists_rel("e2e/r1") && count_prefix("e2e", "r1.clawstate-") == 0);

	/* Real runs, from the vault and from the backup. */
	o.dry_run = 0;
	CHECK_OK(cs_restore_snapshot(v, sr.seq, &o, &res, &check_err));
	CHECK(exists_rel("e2e/r1/credentials/whatsapp/creds.json"));
	CHECK(strcmp(res.info.state_dir, state) == 0 || res.info.state_dir[0] == '/');
	o.target = t2;
	CHECK_OK(restore_file(backup, cred, &o, &res));
	CHECK(exists_rel("e2e/r2/workspace/link.md") && res.files == 3 && res.replaced == 0);
	char p[PATH_MAX], l[64] = {0};
	path_of(p, "e2e/r2/workspace/link.md");
	CHECK(readlink(p, l, sizeof l - 1) == 9 && strcmp(l, "MEMORY.md") == 0);
	path_of(p, "e2e/r2/openclaw.json");
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);

	/* The dry run reports the refusal a real run would hit. */
	o.dry_run = 1;
	CHECK_RC(restore_file(backup, cred, &o, &res), CS_ERR_EXISTS);
	o.dry_run = 0;
	CHECK_RC(restore_file(backup, cred, &o, &res), CS_ERR_EXISTS);
	o.replace = 1;
	CHECK_OK(restore_file(backup, cred, &o, &res));
	CHECK(res.replaced == 1 && exists_rel("e2e/r2.clawstate-old-1/openclaw.json"));

	/* --include: the subtree plus its parent dirs; unknown paths and --replace refused. */
	const char *inc[] = {"credentials/whatsapp/"};
	struct cs_restore_opts oi = {.target = t3, .keep_old = 1, .includes = inc, .n_includes = 1};
	CHECK_OK(restore_file(backup, cred, &oi, &res));
	CHECK(exists_rel("e2e/r3/credentials/whatsapp/creds.json"));
	CHECK(!exists_rel("e2e/r3/openclaw.json") && !exists_rel("e2e/r3/workspace"));
	CHECK(res.entries == 3 && res.files == 1);
	const char *missing[] = {"credentials/telegram"};
	oi.includes = missing;
	path_of(t3, "e2e/r4");
	CHECK_RC(restore_file(backup, cred, &oi, &res), CS_ERR_NOTFOUND);
	CHECK(strcmp(check_err.path, "credentials/telegram") == 0 && !exists_rel("e2e/r4"));
	const char *outside[] = {"../etc"};
	oi.includes = outside;
	CHECK_RC(restore_file(backup, cred, &oi, &res), CS_ERR_USAGE);
	oi.includes = inc;
	oi.replace = 1;
	CHECK_RC(cs_restore_snapshot(v, sr.seq, &oi, &res, &check_err), CS_ERR_USAGE);
	CHECK(!exists_rel("e2e/r4"));

	cs_vault_close(v);
	cs_cred_free(cred);
}

/* ---- crashes: SIGKILL at every durable step of a --replace restore ------------------------ */

static int crash_child(void)
{
	struct src s[16];
	struct cs_restore_opts o = {.keep_old = 1, .replace = 1};
	struct cs_restore_result res;
	size_t n = build_tree(s, false);
	return stage_list("kc/t", &o, 4, s, n, &res) == CS_OK ? 0 : 1;
}

static void reset_crash_dir(void)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/kc'", tmp);
	if (system(cmd) != 0)
		exit(2);
	mkdir_rel("kc");
	mkdir_rel("kc/t");
	write_file("kc/t/keep.txt", "old");
}

/* Directories beside the target that hold the old tree. */
static int old_tree_copies(void)
{
	char p[PATH_MAX], f[PATH_MAX];
	int n = 0;
	path_of(p, "kc");
	DIR *d = opendir(p);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "t.clawstate-", 12) != 0)
			continue;
		struct stat st;
		snprintf(f, sizeof f, "%s/%s/keep.txt", p, de->d_name);
		if (stat(f, &st) == 0)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void test_crashes(void)
{
	struct src s[16];
	size_t n = build_tree(s, false);
	int steps = 0;
	bool finished = false;
	for (int k = 1; k < 5000 && !finished; k++) {
		reset_crash_dir();
		pid_t p = fork();
		if (p == 0) {
			char num[16];
			snprintf(num, sizeof num, "%d", k);
			setenv("CLAWSTATE_TEST_KILL_AT", num, 1);
			execl("/proc/self/exe", "test_stage", "--crash-child", tmp, (char *)NULL);
			_exit(127);
		}
		int status = 0;
		waitpid(p, &status, 0);
		finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		CHECK(finished || killed);
		if (!finished && !killed)
			break;
		steps = k;
		/* Exactly one whole tree is the target; the other is never lost. */
		bool old_in = exists_rel("kc/t/keep.txt");
		bool new_in = exists_rel("kc/t/d/secret");
		CHECK(old_in != new_in);
		if (new_in) {
			for (size_t i = 0; i < n; i++)
				check_entry_on_disk("kc/t", &s[i]);
			CHECK(old_tree_copies() == 1);
		} else {
			CHECK(old_tree_copies() == 0);
		}
		/* The next run settles what the killed one left. */
		struct cs_restore_opts o = {.keep_old = 1, .replace = 1};
		struct cs_stage *st = NULL;
		char target[PATH_MAX];
		path_of(target, "kc/t");
		o.target = target;
		CHECK_OK(cs_stage_open(&o, 4, 0, &st, &check_err));
		cs_stage_abort(st);
		CHECK(count_prefix("kc", "t.clawstate-stage-") == 0);
		if (new_in)
			CHECK(exists_rel("kc/t.clawstate-old-4/keep.txt"));
		else
			CHECK(count_prefix("kc", "t.clawstate-") == 0 && exists_rel("kc/t/keep.txt"));
	}
	CHECK(finished && steps > 10);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--crash-child") == 0) {
		snprintf(tmp, sizeof tmp, "%s", argv[2]);
		if (cs_library_init(&check_err) != CS_OK)
			return 2;
		return crash_child();
	}
	snprintf(tmp, sizeof tmp, "/tmp/test_stage.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 2;
	}
	if (cs_library_init(&check_err) != CS_OK)
		return 2;
	chmod(tmp, 0755); /* the non-root child must reach its dir */
	test_validate();
	test_round_trip();
	test_replace();
	test_bad_content();
	test_stale();
	test_busy();
	test_refusals();
	test_gateway();
	test_non_root();
	test_crashes();
	test_restore_e2e();
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (check_failed == 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	TEST_DONE();
}
