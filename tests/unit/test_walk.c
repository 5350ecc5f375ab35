/* test_walk.c - the walk with grafted top-level dirs (a docker layout's volumes): exact
 * order, what each graft item carries, absolute paths below a graft, the one-filesystem rule
 * inside a graft on another filesystem, and the snapshot's docker source rules and record,
 * through a backup's manifest too. */
#include "internal.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/cs-walk-XXXXXX";

#define FMT(buf, size, ...) do { \
	if (snprintf(buf, size, __VA_ARGS__) >= (int)(size)) { \
		check_failed++; \
		fprintf(stderr, "%s:%d: path too long\n", __FILE__, __LINE__); \
	} \
} while (0)

static void mk(const char *rel)
{
	char p[PATH_MAX];
	FMT(p, sizeof(p), "%s/%s", root, rel);
	CHECK(mkdir(p, 0755) == 0);
}

static void put(const char *rel)
{
	char p[PATH_MAX];
	FMT(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, rel, strlen(rel)) == (ssize_t)strlen(rel));
	if (fd >= 0)
		close(fd);
}

static int open_dir(const char *rel)
{
	char p[PATH_MAX];
	FMT(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

/* ---- what a walk saw ---- */

#define MAX_SEEN 64
struct seen {
	char path[MAX_SEEN][256];
	char graft[MAX_SEEN][16]; /* graft name, "" outside */
	char abs[MAX_SEEN][PATH_MAX];
	bool mount[MAX_SEEN];
	int parent_fd[MAX_SEEN];
	unsigned depth[MAX_SEEN];
	ino_t ino[MAX_SEEN];
	int n;
	const char *no_descend; /* a path whose children are not walked */
};

static int collect(void *ctx, const struct cs_walk_item *it, bool *descend, struct cs_error *err)
{
	struct seen *s = ctx;
	(void)err;
	if (s->n >= MAX_SEEN)
		return CS_OK;
	int i = s->n++;
	snprintf(s->path[i], sizeof(s->path[i]), "%s", it->path);
	snprintf(s->graft[i], sizeof(s->graft[i]), "%s", it->graft ? it->graft->name : "");
	CHECK(cs_walk_abs_path(it, root, s->abs[i], sizeof(s->abs[i])) == 0);
	s->mount[i] = it->is_mount;
	s->parent_fd[i] = it->parent_fd;
	s->depth[i] = it->depth;
	s->ino[i] = it->st.st_ino;
	*descend = !s->no_descend || strcmp(s->no_descend, it->path) != 0;
	return CS_OK;
}

/* The walk saw exactly want[] (NULL-terminated), in that order, in cs_path_cmp order. */
static void check_order(const struct seen *s, const char *const *want)
{
	int n = 0;
	while (want[n])
		n++;
	CHECK(s->n == n);
	for (int i = 0; i < n && i < s->n; i++) {
		if (strcmp(s->path[i], want[i]) != 0)
			fprintf(stderr, "  item %d: %s, want %s\n", i, s->path[i], want[i]);
		CHECK(strcmp(s->path[i], want[i]) == 0);
		if (i)
			CHECK(cs_path_cmp(s->path[i - 1], s->path[i]) < 0);
	}
}

static int find(const struct seen *s, const char *path)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->path[i], path))
			return i;
	return -1;
}

/* ---- the tree: root/cfg is the config volume, root/ws and root/md the volumes ---- */

static char cfg[PATH_MAX], ws[PATH_MAX], md[PATH_MAX];

static void build(void)
{
	mk("cfg");
	put("cfg/a");
	mk("cfg/media"); /* the mount point the media graft replaces */
	put("cfg/media/hidden");
	mk("cfg/w");
	mk("cfg/workspace-ops");
	put("cfg/workspace-ops/f");
	put("cfg/workspace.txt");
	put("cfg/z");
	mk("ws");
	mk("ws/.git");
	put("ws/.git/HEAD");
	put("ws/MEMORY.md");
	mk("ws/sub");
	put("ws/sub/db");
	put("ws/sub/x");
	mk("md");
	mk("md/in");
	put("md/in/img.jpg");
	FMT(cfg, sizeof(cfg), "%s/cfg", root);
	FMT(ws, sizeof(ws), "%s/ws", root);
	FMT(md, sizeof(md), "%s/md", root);
}

static void test_order(void)
{
	static const char *const both[] = {
		"a", "media", "media/in", "media/in/img.jpg", "w", "workspace", "workspace/.git",
		"workspace/.git/HEAD", "workspace/MEMORY.md", "workspace/sub", "workspace/sub/db",
		"workspace/sub/x", "workspace-ops", "workspace-ops/f", "workspace.txt", "z", NULL};
	static const char *const plain[] = {
		"a", "media", "media/hidden", "w", "workspace-ops", "workspace-ops/f",
		"workspace.txt", "z", NULL};
	static struct seen s;
	char p[PATH_MAX];
	struct stat st;
	int rfd = open_dir("cfg"), wfd = open_dir("ws"), mfd = open_dir("md");
	struct cs_walk_graft g[2] = {{.name = "workspace", .fd = wfd, .abs = ws},
				     {.name = "media", .fd = mfd, .abs = md}};

	memset(&s, 0, sizeof(s));
	CHECK_OK(cs_walk_grafts(rfd, g, 2, collect, NULL, &s, &check_err));
	check_order(&s, both);
	int i = find(&s, "workspace");
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK(!strcmp(s.graft[i], "workspace") && !s.mount[i] && s.depth[i] == 1);
		CHECK(s.parent_fd[i] == -1);
		CHECK(stat(ws, &st) == 0 && st.st_ino == s.ino[i]);
		CHECK(!strcmp(s.abs[i], ws));
	}
	i = find(&s, "workspace/sub/x");
	FMT(p, sizeof(p), "%s/sub/x", ws);
	CHECK(i >= 0 && !strcmp(s.graft[i], "workspace") && !strcmp(s.abs[i], p) &&
	      s.depth[i] == 3);
	i = find(&s, "media/in/img.jpg");
	FMT(p, sizeof(p), "%s/in/img.jpg", md);
	CHECK(i >= 0 && !strcmp(s.graft[i], "media") && !strcmp(s.abs[i], p));
	i = find(&s, "workspace-ops/f");
	FMT(p, sizeof(p), "%s/workspace-ops/f", root); /* root_abs given to cs_walk_abs_path */
	CHECK(i >= 0 && s.graft[i][0] == '\0' && !strcmp(s.abs[i], p));

	/* Without grafts the config volume is walked as it is. */
	memset(&s, 0, sizeof(s));
	CHECK_OK(cs_walk(rfd, collect, NULL, &s, &check_err));
	check_order(&s, plain);

	/* A graft root not descended into: nothing of it below, the rest goes on; with
	 * only the workspace grafted, media/ is the config volume's own dir again. */
	static const char *const one[] = {"a", "media", "media/hidden", "w", "workspace",
					  "workspace-ops", "workspace-ops/f", "workspace.txt",
					  "z", NULL};
	memset(&s, 0, sizeof(s));
	s.no_descend = "workspace";
	CHECK_OK(cs_walk_grafts(rfd, g, 1, collect, NULL, &s, &check_err));
	check_order(&s, one);

	/* A graft replaces a top-level entry of any type (here the file z), and the walk
	 * can run twice on the same fds: each starts at the top. */
	struct cs_walk_graft gz = {.name = "z", .fd = mfd, .abs = md};
	static const char *const asz[] = {"a", "media", "media/hidden", "w", "workspace-ops",
					  "workspace-ops/f", "workspace.txt", "z", "z/in",
					  "z/in/img.jpg", NULL};
	for (int k = 0; k < 2; k++) {
		memset(&s, 0, sizeof(s));
		CHECK_OK(cs_walk_grafts(rfd, &gz, 1, collect, NULL, &s, &check_err));
		check_order(&s, asz);
	}

	/* Names that are not one component, or given twice. */
	struct cs_walk_graft bad[2] = {{.name = "a/b", .fd = wfd, .abs = ws},
				       {.name = "media", .fd = mfd, .abs = md}};
	CHECK_RC(cs_walk_grafts(rfd, bad, 1, collect, NULL, &s, &check_err), CS_ERR_USAGE);
	bad[0].name = "..";
	CHECK_RC(cs_walk_grafts(rfd, bad, 1, collect, NULL, &s, &check_err), CS_ERR_USAGE);
	bad[0].name = "";
	CHECK_RC(cs_walk_grafts(rfd, bad, 1, collect, NULL, &s, &check_err), CS_ERR_USAGE);
	bad[0].name = "media";
	CHECK_RC(cs_walk_grafts(rfd, bad, 2, collect, NULL, &s, &check_err), CS_ERR_USAGE);
	cs_error_clear(&check_err);
	close(rfd);
	close(wfd);
	close(mfd);
}

/* A graft on its own filesystem (the usual docker volume) is walked, not reported as a
 * mount; a mount inside it is.  Needs a private mount namespace (root). */
static void test_graft_mount(void)
{
	static const char *const want[] = {"a", "media", "media/hidden", "w", "workspace",
					   "workspace/inner", "workspace/on-tmpfs", "workspace-ops",
					   "workspace-ops/f", "workspace.txt", "z", NULL};
	static struct seen s;
	char p[PATH_MAX];
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		fprintf(stderr, "note: graft mount test skipped (%s)\n", strerror(errno));
		return;
	}
	mk("tv");
	FMT(p, sizeof(p), "%s/tv", root);
	if (mount("cs-test", p, "tmpfs", 0, "size=1m") != 0) {
		fprintf(stderr, "note: graft mount test skipped (%s)\n", strerror(errno));
		return;
	}
	put("tv/on-tmpfs");
	mk("tv/inner");
	FMT(p, sizeof(p), "%s/tv/inner", root);
	CHECK(mount("cs-test", p, "tmpfs", 0, "size=1m") == 0);
	put("tv/inner/never-seen");
	int rfd = open_dir("cfg"), tfd = open_dir("tv");
	char tv[PATH_MAX];
	FMT(tv, sizeof(tv), "%s/tv", root);
	struct cs_walk_graft g = {.name = "workspace", .fd = tfd, .abs = tv};
	memset(&s, 0, sizeof(s));
	CHECK_OK(cs_walk_grafts(rfd, &g, 1, collect, NULL, &s, &check_err));
	check_order(&s, want);
	int i = find(&s, "workspace");
	CHECK(i >= 0 && !s.mount[i]);
	i = find(&s, "workspace/on-tmpfs");
	CHECK(i >= 0 && !s.mount[i]);
	i = find(&s, "workspace/inner");
	CHECK(i >= 0 && s.mount[i]);
	close(rfd);
	close(tfd);
	CHECK(umount(p) == 0);
	FMT(p, sizeof(p), "%s/tv", root);
	CHECK(umount(p) == 0);
}

/* ---- cs_snapshot_create with a docker source ---- */

static unsigned char keyfile[32];

static struct cs_vault *new_vault(const char *d)
{
	struct cs_cred *c = NULL;
	struct cs_vault *v = NULL;
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, keyfile, sizeof(keyfile), &c, &check_err));
	struct cs_vault_create_opts o = {.dir = d, .cred = c};
	CHECK_OK(cs_vault_create(&o, &check_err));
	CHECK_OK(cs_vault_open(d, CS_OPEN_WRITE, &v, &check_err));
	if (v)
		CHECK_OK(cs_vault_unlock(v, c, &check_err));
	cs_cred_free(c);
	return v;
}

static int count_entry(void *ctx, const struct cs_entry *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static int docker_snap(struct cs_vault *v, const char *state_dir, const char *w,
		       const char *m, const char *home)
{
	struct cs_snapshot_result r;
	struct cs_snapshot_opts o = {.state_dir = state_dir, .home = "/home/u",
				     .layout = CS_LAYOUT_DOCKER, .workspace_dir = w,
				     .media_dir = m, .container_home = home};
	cs_error_clear(&check_err);
	return cs_snapshot_create(v, &o, &r, &check_err);
}

static void test_snapshot_source(void)
{
	char vd[PATH_MAX], own[PATH_MAX], inside[PATH_MAX];
	struct cs_snapshot_info info;
	struct stat st;
	uint64_t seq = 0;
	int n = 0;
	FMT(vd, sizeof(vd), "%s/vault", root);
	struct cs_vault *v = new_vault(vd);
	if (!v)
		return;

	CHECK(cs_layout_parse("host") == CS_LAYOUT_HOST);
	CHECK(cs_layout_parse("docker") == CS_LAYOUT_DOCKER);
	CHECK(cs_layout_parse("Docker") == -1 && cs_layout_parse("") == -1 &&
	      cs_layout_parse(NULL) == -1);

	CHECK_RC(docker_snap(v, cfg, NULL, NULL, NULL), CS_ERR_USAGE);
	/* A config volume whose own media/ is not an empty mount point: the media
	 * volume would hide it, so the snapshot is refused; emptied, it is fine. */
	CHECK_RC(docker_snap(v, cfg, ws, md, NULL), CS_ERR_USAGE);
	CHECK(strstr(check_err.what, "not empty: the config volume holds its own media here") != NULL);
	FMT(own, sizeof(own), "%s/media/hidden", cfg);
	CHECK(unlink(own) == 0);
	static const char *const bad_homes[] = {"home/node", "/home/node/", "/", "//home",
						"/home//node", "/home/./node", "/home/../node",
						"/home/node/.", NULL};
	for (int i = 0; bad_homes[i]; i++)
		CHECK_RC(docker_snap(v, cfg, ws, NULL, bad_homes[i]), CS_ERR_USAGE);
	struct cs_snapshot_result r;
	struct cs_snapshot_opts host = {.state_dir = cfg, .layout = CS_LAYOUT_HOST,
					.workspace_dir = ws};
	CHECK_RC(cs_snapshot_create(v, &host, &r, &check_err), CS_ERR_USAGE);
	host.workspace_dir = NULL;
	host.container_home = "/home/node";
	CHECK_RC(cs_snapshot_create(v, &host, &r, &check_err), CS_ERR_USAGE);
	host.layout = 7;
	host.container_home = NULL;
	CHECK_RC(cs_snapshot_create(v, &host, &r, &check_err), CS_ERR_USAGE);
	/* Volumes inside each other, the state dir or the vault. */
	FMT(inside, sizeof(inside), "%s/sub", ws);
	CHECK_RC(docker_snap(v, cfg, ws, inside, NULL), CS_ERR_USAGE);
	CHECK(strstr(check_err.what, "must not contain each other") != NULL);
	FMT(inside, sizeof(inside), "%s/w", cfg);
	CHECK_RC(docker_snap(v, cfg, inside, NULL, NULL), CS_ERR_USAGE);
	CHECK_RC(docker_snap(v, cfg, ws, vd, NULL), CS_ERR_USAGE);
	CHECK_RC(docker_snap(v, cfg, root, NULL, NULL), CS_ERR_USAGE);
	FMT(inside, sizeof(inside), "%s/a", cfg);
	CHECK_RC(docker_snap(v, cfg, inside, NULL, NULL), CS_ERR_NOTFOUND);
	FMT(inside, sizeof(inside), "%s/nope", root);
	CHECK_RC(docker_snap(v, cfg, ws, inside, NULL), CS_ERR_NOTFOUND);
	CHECK_OK(cs_snapshot_last(v, &seq, &check_err));
	CHECK(seq == 0);

	/* The recorded source: the paths inside the container, the config volume's root. */
	CHECK_OK(docker_snap(v, cfg, ws, md, "/home/openclaw"));
	CHECK_OK(cs_snapshot_resolve(v, "latest", &seq, &check_err));
	CHECK_OK(cs_snapshot_get(v, seq, &info, &check_err));
	CHECK(!strcmp(info.layout, "docker"));
	CHECK(!strcmp(info.home, "/home/openclaw"));
	CHECK(!strcmp(info.state_dir, "/home/openclaw/.openclaw"));
	CHECK(stat(cfg, &st) == 0 && info.uid == st.st_uid && info.gid == st.st_gid &&
	      info.root_mode == (st.st_mode & 07777) && info.root_mtime_sec == st.st_mtim.tv_sec &&
	      info.root_mtime_nsec == (int32_t)st.st_mtim.tv_nsec);
	CHECK_OK(cs_snapshot_entries(v, seq, count_entry, &n, &check_err));
	CHECK(n == 16);

	/* A backup carries the docker source in its manifest header. */
	char bk[PATH_MAX];
	struct cs_backup_result br;
	struct cs_verify_result vr;
	struct cs_cred *c = NULL;
	FMT(bk, sizeof(bk), "%s/docker.cst", root);
	struct cs_backup_opts bo = {.seq = seq, .out_path = bk};
	CHECK_OK(cs_backup_write(v, &bo, &br, &check_err));
	CHECK_OK(cs_cred_from_buffer(CS_CRED_KEYFILE, keyfile, sizeof(keyfile), &c, &check_err));
	int bfd = open(bk, O_RDONLY | O_CLOEXEC);
	CHECK(bfd >= 0);
	memset(&vr, 0, sizeof(vr));
	CHECK_OK(cs_verify_backup(bfd, bk, c, &vr, &check_err));
	CHECK(!strcmp(vr.info.layout, "docker") && !strcmp(vr.info.home, "/home/openclaw") &&
	      !strcmp(vr.info.state_dir, "/home/openclaw/.openclaw") && vr.entries == 16 &&
	      vr.info.root_mode == info.root_mode && vr.info.uid == info.uid);
	if (bfd >= 0)
		close(bfd);
	cs_cred_free(c);

	/* Inside the container the volume is mounted at its own name: that is allowed. */
	FMT(own, sizeof(own), "%s/workspace", cfg);
	CHECK(mkdir(own, 0755) == 0);
	CHECK_OK(docker_snap(v, cfg, own, NULL, NULL));
	CHECK_OK(cs_snapshot_get(v, seq + 1, &info, &check_err));
	CHECK(!strcmp(info.home, "/home/node") && !strcmp(info.state_dir, "/home/node/.openclaw"));
	CHECK(rmdir(own) == 0);

	put("cfg/media/hidden"); /* back for the walks below */

	/* Host layout: as before, the resolved state dir and the given home. */
	host = (struct cs_snapshot_opts){.state_dir = cfg, .layout = CS_LAYOUT_HOST,
					 .home = "/home/u"};
	CHECK_OK(cs_snapshot_create(v, &host, &r, &check_err));
	CHECK_OK(cs_snapshot_get(v, r.seq, &info, &check_err));
	CHECK(!strcmp(info.layout, "host") && !strcmp(info.state_dir, cfg) &&
	      !strcmp(info.home, "/home/u"));
	cs_vault_close(v);
}

int main(void)
{
	CHECK_OK(cs_library_init(&check_err));
	for (size_t i = 0; i < sizeof(keyfile); i++)
		keyfile[i] = (unsigned char)(i * 5 + 3);
	umask(022);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	build();
	test_order();
	test_snapshot_source();
	test_graft_mount();
	if (!check_failed) {
		char cmd[PATH_MAX + 16];
		FMT(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", root);
	} else {
		fprintf(stderr, "left %s for inspection\n", root);
	}
	TEST_DONE();
}
