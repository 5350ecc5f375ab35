/* outopts.c - the output, owner and layout options of restore and migrate. */
#include "outopts.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct option cli_out_options[] = {
	{"to", required_argument, NULL, OPT_TO},
	{"replace", no_argument, NULL, OPT_REPLACE},
	{"no-keep", no_argument, NULL, OPT_NO_KEEP},
	{"owner", required_argument, NULL, OPT_OWNER},
	{"owner-by-name", required_argument, NULL, OPT_OWNER_BY_NAME},
	{"uid-map", required_argument, NULL, OPT_UID_MAP},
	{"gid-map", required_argument, NULL, OPT_GID_MAP},
	{"unmapped", required_argument, NULL, OPT_UNMAPPED},
	{"layout", required_argument, NULL, OUT_OPT_LAYOUT},
	{"home", required_argument, NULL, OUT_OPT_HOME},
	{"container-home", required_argument, NULL, OUT_OPT_CONTAINER_HOME},
	{"from-home", required_argument, NULL, OUT_OPT_FROM_HOME},
	{"volumes", required_argument, NULL, OUT_OPT_VOLUMES},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"force", no_argument, NULL, OPT_FORCE},
	{NULL, 0, NULL, 0},
};

struct option *cli_out_join(const struct option *own)
{
	size_t a = 0, b = 0;
	while (own[a].name)
		a++;
	while (cli_out_options[b].name)
		b++;
	struct option *all = calloc(a + b + 1, sizeof *all);
	if (!all)
		return NULL;
	memcpy(all, own, a * sizeof *all);
	memcpy(all + a, cli_out_options, b * sizeof *all);
	return all;
}

int cli_out_take(struct cli_out *o, struct cs_restore_opts *ro, int opt, const char *arg)
{
	switch (opt) {
	case OPT_TO: ro->target = arg; return 1;
	case OPT_REPLACE: ro->replace = 1; return 1;
	case OPT_NO_KEEP: o->no_keep = 1; return 1;
	case OPT_OWNER: o->owner = arg; return 1;
	case OPT_OWNER_BY_NAME: o->by_name = arg; return 1;
	case OPT_UID_MAP: o->uid_map = arg; return 1;
	case OPT_GID_MAP: o->gid_map = arg; return 1;
	case OPT_UNMAPPED: o->unmapped = arg; return 1;
	case OUT_OPT_LAYOUT: o->layout = arg; return 1;
	case OUT_OPT_HOME: o->home = arg; return 1;
	case OUT_OPT_CONTAINER_HOME: o->container_home = arg; return 1;
	case OUT_OPT_FROM_HOME: o->from_home = arg; return 1;
	case OUT_OPT_VOLUMES: o->volumes = arg; return 1;
	case OPT_DRY_RUN: ro->dry_run = 1; return 1;
	case OPT_FORCE: ro->force = 1; return 1;
	default: return 0;
	}
}

/* An absolute path without "." or ".." components (they would make the
 * rewritten prefixes differ from what the gateway sees). */
static int clean_absolute(const char *p)
{
	if (!p || p[0] != '/')
		return 0;
	for (const char *c = p; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
	}
	return 1;
}

int cli_target_parent(const char *target, char *out, size_t len)
{
	char tmp[PATH_MAX];
	size_t n = strlen(target);
	while (n > 1 && target[n - 1] == '/')
		n--;
	if (n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, target, n);
	tmp[n] = '\0';
	char *slash = strrchr(tmp, '/');
	if (!slash)
		strcpy(tmp, ".");
	else if (slash == tmp)
		tmp[1] = '\0';
	else
		*slash = '\0';
	char real[PATH_MAX];
	if (!realpath(tmp, real))
		return -1;
	if (strlen(real) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(out, real);
	return 0;
}

/* "config,workspace[,media]" (any order). */
static int parse_volumes(const char *s, int *out)
{
	int seen = 0; /* 1 config, 2 workspace, 4 media */
	char buf[128];
	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int bit = !strcmp(t, "config") ? 1 : !strcmp(t, "workspace") ? 2
			: !strcmp(t, "media") ? 4 : 0;
		if (!bit || (seen & bit))
			return -1;
		seen |= bit;
	}
	if ((seen & 3) != 3 || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return -1;
	*out = seen & 4 ? CS_VOLUME_MEDIA : 0;
	return 0;
}

/* Dry runs list each rewrite on stdout; real runs count them. */
static int list_rewrites;

/* Host layout without an ownership option: the owner of the new home. */
static int host_owner(struct cli *c, struct cli_out *o, struct cs_restore_opts *ro)
{
	char dir[PATH_MAX];
	struct stat sb;
	const char *home = o->home;
	if (!home) {
		if (cli_target_parent(ro->target, dir, sizeof dir) < 0)
			return cli_usage(c, "--to %s: cannot resolve its parent dir: %s", ro->target,
					 strerror(errno));
		home = dir;
	}
	if (stat(home, &sb) < 0)
		return cli_usage(c, "%s: %s; the host layout gives the output the owner of the "
				    "home dir: name an existing --home or give --owner",
				 home, strerror(errno));
	ro->have_owner = 1;
	ro->owner_uid = (uint32_t)sb.st_uid;
	ro->owner_gid = (uint32_t)sb.st_gid;
	return EXIT_OK;
}

/* --home H writes paths for H/.openclaw: say so when the target is elsewhere
 * (fine when it is that dir seen from another mount, worth a line). */
static void home_note(struct cli *c, const char *home, const char *target)
{
	char parent[PATH_MAX], want[PATH_MAX + 16];
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	snprintf(want, sizeof want, "%s/.openclaw", strcmp(home, "/") ? home : "");
	if (cli_target_parent(target, parent, sizeof parent) == 0) {
		char abs[2 * PATH_MAX + 2];
		snprintf(abs, sizeof abs, "%s/%s", strcmp(parent, "/") ? parent : "", base);
		if (strcmp(abs, want) != 0)
			fprintf(stderr, "clawstate: %s: note: paths are written for %s (--home), not "
					"for %s\n",
				c->cmd, want, abs);
	}
}

int cli_out_finish(struct cli *c, struct cli_out *o, struct cs_restore_opts *ro)
{
	struct cs_error err;
	int rc;
	cs_error_clear(&err);
	if (!ro->target || !*ro->target)
		return cli_usage(c, "missing --to DIR");
	if (o->no_keep && !ro->replace)
		return cli_usage(c, "--no-keep needs --replace");
	if (o->layout && (ro->layout = cs_layout_parse(o->layout)) <= 0)
		return cli_usage(c, "--layout: want host or docker, got '%s'", o->layout);
	if (o->home && ro->layout != CS_LAYOUT_HOST)
		return cli_usage(c, "--home goes with --layout host");
	if ((o->container_home || o->volumes) && ro->layout != CS_LAYOUT_DOCKER)
		return cli_usage(c, "%s goes with --layout docker",
				 o->volumes ? "--volumes" : "--container-home");
	if (o->from_home && ro->layout == CS_LAYOUT_NONE)
		return cli_usage(c, "--from-home needs --layout (paths are rewritten only into a "
				    "layout)");
	const char *abs_opts[][2] = {{"--home", o->home},
				     {"--container-home", o->container_home},
				     {"--from-home", o->from_home}};
	for (size_t i = 0; i < 3; i++)
		if (abs_opts[i][1] && !clean_absolute(abs_opts[i][1]))
			return cli_usage(c, "%s: want an absolute path without . or .., got '%s'",
					 abs_opts[i][0], abs_opts[i][1]);
	if (o->container_home && !strcmp(o->container_home, "/"))
		return cli_usage(c, "--container-home: / is not a home (the state would be /.openclaw)");
	if (o->volumes && parse_volumes(o->volumes, &ro->volumes) < 0)
		return cli_usage(c, "--volumes: want config,workspace or config,workspace,media, "
				    "got '%s'", o->volumes);
	ro->home = o->home;
	ro->container_home = o->container_home;
	ro->from_home = o->from_home;
	if (o->owner && cli_parse_owner(o->owner, &ro->owner_uid, &ro->owner_gid))
		return cli_usage(c, "--owner: want UID:GID in numbers, got '%s'", o->owner);
	if (o->owner && o->by_name)
		return cli_usage(c, "--owner and --owner-by-name exclude each other");
	if (o->by_name &&
	    (rc = cs_owner_by_name(o->by_name, &ro->owner_uid, &ro->owner_gid, &err)) != CS_OK)
		return cli_fail(c, rc, &err);
	ro->have_owner = o->owner != NULL || o->by_name != NULL;
	if (o->uid_map && (rc = cs_id_map_parse(o->uid_map, "--uid-map", &ro->uid_map, &err)) != CS_OK)
		return cli_fail(c, rc, &err);
	if (o->gid_map && (rc = cs_id_map_parse(o->gid_map, "--gid-map", &ro->gid_map, &err)) != CS_OK)
		return cli_fail(c, rc, &err);
	if (o->unmapped && (ro->unmapped = cs_unmapped_parse(o->unmapped)) < 0)
		return cli_usage(c, "--unmapped: want keep, owner or fail, got '%s'", o->unmapped);
	if ((rc = cs_owner_opts_check(ro, &err)) != CS_OK)
		return cli_fail(c, rc, &err);
	/* Owner defaults of a layout, only when no ownership option was given. */
	if (!cs_owner_opts_given(ro) && ro->layout == CS_LAYOUT_DOCKER) {
		ro->have_owner = 1;
		ro->owner_uid = CS_CONTAINER_UID;
		ro->owner_gid = CS_CONTAINER_GID;
	} else if (!cs_owner_opts_given(ro) && ro->layout == CS_LAYOUT_HOST) {
		if ((rc = host_owner(c, o, ro)) != EXIT_OK)
			return rc;
	}
	if (o->home)
		home_note(c, o->home, ro->target);
	ro->keep_old = !o->no_keep;
	ro->rewrite = cli_out_rewrite;
	list_rewrites = ro->dry_run;
	return EXIT_OK;
}

void cli_out_free(struct cs_restore_opts *ro)
{
	cs_id_map_free(&ro->uid_map);
	cs_id_map_free(&ro->gid_map);
}

void cli_out_rewrite(void *ctx, const struct cs_rewrite_note *n)
{
	struct cli *c = ctx;
	if (c->progress == PROGRESS_JSON) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "rewrite");
		cli_json_add_path(o, "path", n->path);
		cli_json_add_path(o, "where", n->where ? n->where : "");
		cli_json_add_path(o, "from", n->from ? n->from : "");
		cli_json_add_path(o, "to", n->to ? n->to : "");
		char *s = cJSON_PrintUnformatted(o);
		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
		cJSON_Delete(o);
		return;
	}
	if (!list_rewrites)
		return;
	fputs("rewrite ", stdout);
	cli_print_path(stdout, n->path);
	if (n->where && *n->where) {
		fputs(" (", stdout);
		cli_print_path(stdout, n->where); /* table names come from the archive */
		fputc(')', stdout);
	}
	fputs(": ", stdout);
	cli_print_path(stdout, n->from ? n->from : "");
	fputs(" -> ", stdout);
	cli_print_path(stdout, n->to ? n->to : "");
	fputc('\n', stdout);
}

void cli_out_print(struct cli *c, const struct cs_restore_opts *ro,
		   const struct cs_restore_result *r, const char *source, cJSON *j)
{
	char b[32], e[48], f[48], w[48], what[64];
	if (source)
		snprintf(what, sizeof what, "%s", ro->dry_run ? "dry run: would migrate" : "migrated");
	else
		snprintf(what, sizeof what, "%s snapshot %llu",
			 ro->dry_run ? "dry run: would restore" : "restored", (unsigned long long)r->seq);
	fprintf(c->out, "%s%s%s to %s: %s, %s, %s%s\n", what, source ? " " : "", source ? source : "",
		ro->target, cli_count(r->entries, "entry", "entries", e, sizeof(e)),
		cli_count(r->files, "file", "files", f, sizeof(f)),
		cli_human_bytes(r->bytes, b, sizeof(b)), ro->dry_run ? "; nothing written" : "");
	if (r->owners_failed && ro->layout == CS_LAYOUT_DOCKER)
		fprintf(c->out, "note: the volumes could not be given their owner (%u:%u) as non-root; "
				"as root: clawstate chown %s/config --owner %u:%u (and the same for "
				"%s/workspace)\n",
			ro->owner_uid, ro->owner_gid, ro->target, ro->owner_uid, ro->owner_gid,
			ro->target);
	if (r->replaced && r->old_path[0])
		fprintf(c->out, "old tree kept at %s\n", r->old_path);
	else if (r->replaced)
		fprintf(c->out, "old tree removed (--no-keep)\n");
	if (r->owners_skipped && !ro->dry_run)
		fprintf(c->out, "note: not root, so the recorded owners (%u:%u) were not applied; "
				"files belong to you\n", r->info.uid, r->info.gid);
	if (ro->layout != CS_LAYOUT_NONE) {
		fprintf(c->out, "layout %s; paths %s -> %s and %s -> %s: %s%s in %s",
			ro->layout == CS_LAYOUT_DOCKER ? "docker" : "host", r->from_state,
			r->to_state, r->from_home[0] ? r->from_home : "(none)", r->to_home,
			cli_count(r->rewrites, "rewrite", "rewrites", w, sizeof(w)),
			ro->dry_run ? " would be made" : "",
			cli_count(r->files_rewritten, "file", "files", f, sizeof(f)));
		if (r->leftover_files)
			fprintf(c->out, "; %llu file%s still mention%s the old paths (listed above, "
					"not rewritten)",
				(unsigned long long)r->leftover_files, r->leftover_files == 1 ? "" : "s",
				r->leftover_files == 1 ? "s" : "");
		fputc('\n', c->out);
	}
	if (!j)
		return;
	cli_json_add_u64(j, "seq", r->seq);
	cli_json_add_path(j, "target", ro->target);
	cli_json_add_u64(j, "entries", r->entries);
	cli_json_add_u64(j, "files", r->files);
	cli_json_add_u64(j, "bytes", r->bytes);
	cJSON_AddBoolToObject(j, "dry_run", ro->dry_run);
	cJSON_AddBoolToObject(j, "replaced", r->replaced);
	cli_json_add_path(j, "old_path", r->old_path);
	cJSON_AddBoolToObject(j, "owners_skipped", r->owners_skipped);
	cli_json_add_u64(j, "owners_failed", (uint64_t)r->owners_failed);
	if (ro->layout != CS_LAYOUT_NONE) {
		cJSON_AddStringToObject(j, "layout", ro->layout == CS_LAYOUT_DOCKER ? "docker" : "host");
		cli_json_add_path(j, "from_state", r->from_state);
		cli_json_add_path(j, "to_state", r->to_state);
		cli_json_add_path(j, "from_home", r->from_home);
		cli_json_add_path(j, "to_home", r->to_home);
		cli_json_add_u64(j, "rewrites", r->rewrites);
		cli_json_add_u64(j, "files_rewritten", r->files_rewritten);
		cli_json_add_u64(j, "leftover_files", r->leftover_files);
		cli_json_add_u64(j, "leftover_mentions", r->leftover_mentions);
	}
}

/* A YAML double-quoted scalar. */
static void yaml_quoted(FILE *f, const char *a, const char *b)
{
	fputc('"', f);
	for (int k = 0; k < 2; k++) {
		for (const char *p = k ? b : a; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		if (!k)
			fputc(':', f);
	}
	fputc('"', f);
}

int cli_out_compose(FILE *f, const struct cs_restore_opts *ro)
{
	const char *home = ro->container_home ? ro->container_home : CS_CONTAINER_HOME_DEFAULT;
	char top[PATH_MAX];
	char host[2 * PATH_MAX + 16], cont[PATH_MAX + 32];
	/* The output dir exists now: name it as the host sees it. */
	if (!realpath(ro->target, top))
		return -1;
	const char *vols[] = {"config", "workspace", "media"};
	const char *mounts[] = {"", "/workspace", "/media"};
	size_t n = ro->volumes & CS_VOLUME_MEDIA ? 3 : 2;
	fputs("# docker compose: the gateway service's volumes\n    volumes:\n", f);
	for (size_t i = 0; i < n; i++) {
		snprintf(host, sizeof host, "%s/%s", top, vols[i]);
		snprintf(cont, sizeof cont, "%s/.openclaw%s", strcmp(home, "/") ? home : "", mounts[i]);
		fputs("      - ", f);
		yaml_quoted(f, host, cont);
		fputc('\n', f);
	}
	fputs("# or, with the official docker-compose.yml, in its .env:\n", f);
	fprintf(f, "OPENCLAW_CONFIG_DIR=%s/config\n", top);
	fprintf(f, "OPENCLAW_WORKSPACE_DIR=%s/workspace\n", top);
	if (n == 3)
		fputs("# (the official file has no variable for media: add its volumes line)\n", f);
	return 0;
}
