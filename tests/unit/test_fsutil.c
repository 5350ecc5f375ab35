/* test_fsutil.c - the file-system helpers and the error table. */
#include "internal.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void test_path_cmp(void)
{
	CHECK(cs_path_cmp("a", "a") == 0);
	CHECK(cs_path_cmp("a", "a/b") < 0);
	CHECK(cs_path_cmp("a/b", "a-b") < 0);   /* a's subtree comes before a-b */
	CHECK(cs_path_cmp("a/z", "a.c") < 0);
	CHECK(cs_path_cmp("a.c", "a/z") > 0);
	CHECK(cs_path_cmp("ab", "a/b") > 0);
	CHECK(cs_path_cmp("b", "a/zzz") > 0);
	CHECK(cs_path_cmp("\xff", "z") > 0);    /* bytes compare unsigned */
}

static void test_path_split(void)
{
	char d[PATH_MAX], b[PATH_MAX];
	cs_path_split("/x/y/z", d, b);
	CHECK(strcmp(d, "/x/y") == 0 && strcmp(b, "z") == 0);
	cs_path_split("z", d, b);
	CHECK(strcmp(d, ".") == 0 && strcmp(b, "z") == 0);
	cs_path_split("/z/", d, b);
	CHECK(strcmp(d, "/") == 0 && strcmp(b, "z") == 0);
}

static int count_entry(void *ctx, int dfd, const char *name, struct cs_error *err)
{
	(void)dfd;
	(void)name;
	(void)err;
	(*(int *)ctx)++;
	return CS_OK;
}

static void test_rm_tree(void)
{
	char root[] = "/tmp/cs-fsutil-XXXXXX", p[PATH_MAX], outside[PATH_MAX];
	CHECK(mkdtemp(root) != NULL);
	snprintf(outside, sizeof outside, "%s/outside", root);
	CHECK(mkdir(outside, 0700) == 0);
	snprintf(p, sizeof p, "%s/outside/keep", root);
	int fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	snprintf(p, sizeof p, "%s/t", root);
	CHECK(mkdir(p, 0700) == 0);
	snprintf(p, sizeof p, "%s/t/ro", root);
	CHECK(mkdir(p, 0700) == 0);
	snprintf(p, sizeof p, "%s/t/ro/f", root);
	fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0400);
	CHECK(fd >= 0);
	close(fd);
	snprintf(p, sizeof p, "%s/t/ro", root);
	CHECK(chmod(p, 0500) == 0);
	snprintf(p, sizeof p, "%s/t/link", root);
	CHECK(symlink(outside, p) == 0);       /* must be unlinked, not followed */
	int dfd = open(root, O_RDONLY | O_DIRECTORY);
	CHECK_OK(cs_rm_tree_at(dfd, "t", "t", &check_err));
	CHECK(faccessat(dfd, "t", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
	CHECK(faccessat(dfd, "outside/keep", F_OK, 0) == 0);
	CHECK_OK(cs_rm_tree_at(dfd, "missing", "missing", &check_err));
	bool is_root = true;
	CHECK_OK(cs_is_mount_root(dfd, "outside", &is_root, &check_err));
	CHECK(!is_root);
	CHECK_OK(cs_is_mount_root(AT_FDCWD, "/proc", &is_root, &check_err));
	CHECK(is_root);
	/* The same fd listed twice sees every entry both times (the concurrent
	 * restore re-scan depends on it). */
	int count1 = 0, count2 = 0;
	CHECK_OK(cs_dir_foreach(dfd, root, NULL, count_entry, &count1, &check_err));
	CHECK_OK(cs_dir_foreach(dfd, root, NULL, count_entry, &count2, &check_err));
	CHECK(count1 == 1 && count2 == 1); /* "outside" */
	CHECK_OK(cs_rm_tree_at(AT_FDCWD, root, root, &check_err));
	close(dfd);
}

static void test_errors(void)
{
	CHECK(cs_exit_code(CS_OK) == 0);
	CHECK(cs_exit_code(CS_ERR_USAGE) == 2);
	CHECK(cs_exit_code(CS_ERR_PARTIAL) == 3);
	CHECK(cs_exit_code(CS_ERR_CORRUPT) == 4);
	CHECK(cs_exit_code(CS_ERR_HOSTILE) == 4);
	CHECK(cs_exit_code(CS_ERR_KEY) == 5);
	CHECK(cs_exit_code(CS_ERR_EXISTS) == 6);
	CHECK(cs_exit_code(CS_ERR_BUSY) == 6);
	CHECK(cs_exit_code(CS_ERR_VERSION) == 7);
	CHECK(cs_exit_code(-1) == 1);
	struct cs_error e;
	errno = ENOSPC;
	CHECK(cs_err_sys(&e, "out/b.cst", "write") == CS_ERR_NOSPACE);
	CHECK(strcmp(e.path, "out/b.cst") == 0 && strstr(e.what, "write: ") == e.what);
	CHECK(strcmp(cs_strerror(CS_ERR_KEY), "wrong key") == 0);
}

int main(void)
{
	test_path_cmp();
	test_path_split();
	test_rm_tree();
	test_errors();
	TEST_DONE();
}
