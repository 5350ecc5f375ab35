/* layout.c - a restore with a layout: the old and new path prefixes, where the
 * entries of a docker output go (config/, workspace/, media/), and the
 * content wrapper that counts leftover mentions and feeds the rewriter.
 * restore.c drives it; rewrite_tree.c rewrites the staged files. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char CONFIG_VOL[] = "config";

/* ---- prefixes ----------------------------------------------------------------- */

/* Copy an absolute path without trailing '/' ("" stays ""). */
static int norm_copy(char *dst, const char *src, const char *what, struct cs_error *err)
{
	size_t n = strlen(src);
	while (n > 1 && src[n - 1] == '/')
		n--;
	if (n && src[0] != '/')
		return cs_err_set(err, CS_ERR_USAGE, src, "%s must be an absolute path", what);
	if (n >= PATH_MAX)
		return cs_err_set(err, CS_ERR_USAGE, src, "%s is too long", what);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return CS_OK;
}

static int join_state(char *dst, const char *home, struct cs_error *err)
{
	int n = snprintf(dst, PATH_MAX, "%s/.openclaw", strcmp(home, "/") ? home : "");
	if (n < 0 || n >= PATH_MAX)
		return cs_err_set(err, CS_ERR_USAGE, home, "home path is too long");
	return CS_OK;
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (!n)
		return false;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int prefixes(struct cs_layout_ctx *L, const struct cs_restore_opts *o,
		    const struct cs_snapshot_info *info, struct cs_error *err)
{
	int rc;
	if (o->from_home) {
		if ((rc = norm_copy(L->from_home, o->from_home, "--from-home", err)) != CS_OK ||
		    (rc = join_state(L->from_state, L->from_home, err)) != CS_OK)
			return rc;
	} else if ((rc = norm_copy(L->from_home, info->home, "the recorded home", err)) != CS_OK ||
		   (rc = norm_copy(L->from_state, info->state_dir, "the recorded state dir", err)) !=
			   CS_OK) {
		return rc;
	}
	if (o->layout == CS_LAYOUT_DOCKER) {
		const char *ch = o->container_home ? o->container_home : CS_CONTAINER_HOME_DEFAULT;
		if ((rc = norm_copy(L->to_home, ch, "--container-home", err)) != CS_OK ||
		    (rc = join_state(L->to_state, L->to_home, err)) != CS_OK)
			return rc;
	} else if (o->home) {
		if ((rc = norm_copy(L->to_home, o->home, "--home", err)) != CS_OK ||
		    (rc = join_state(L->to_state, L->to_home, err)) != CS_OK)
			return rc;
	} else {
		char base[PATH_MAX];
		if ((rc = cs_path_absolute(o->target, L->to_state, err)) != CS_OK)
			return rc;
		cs_path_split(L->to_state, L->to_home, base);
	}
	/* A rule from "/" or "" would match everything or nothing: dropped; so is a
	 * rule that changes nothing. */
	if (L->from_state[0] && strcmp(L->from_state, "/") && strcmp(L->from_state, L->to_state)) {
		L->rules[L->n_rules].from = L->from_state;
		L->rules[L->n_rules++].to = L->to_state;
	}
	if (L->from_home[0] && strcmp(L->from_home, "/") && strcmp(L->from_home, L->to_home)) {
		L->rules[L->n_rules].from = L->from_home;
		L->rules[L->n_rules++].to = L->to_home;
	}
	if (L->n_rules) {
		if (L->from_home[0] && strcmp(L->from_home, "/"))
			L->needles[L->n_needles++] = L->from_home;
		if (L->from_state[0] && !below(L->from_state, L->from_home))
			L->needles[L->n_needles++] = L->from_state;
	}
	return CS_OK;
}

/* ---- the docker output: config/, workspace/, media/ --------------------------------- */

static bool is_volume(const struct cs_layout_ctx *L, const char *top, size_t len)
{
	for (size_t i = 0; i < L->n_volumes; i++)
		if (strlen(L->volumes[i]) == len && memcmp(L->volumes[i], top, len) == 0 &&
		    L->volume_is_dir[i])
			return true;
	return false;
}

/* "workspace/x" stays where it is; everything else goes below config/. */
static char *map_path(const struct cs_layout_ctx *L, const char *p)
{
	const char *slash = strchr(p, '/');
	size_t top = slash ? (size_t)(slash - p) : strlen(p);
	if (is_volume(L, p, top))
		return strdup(p);
	size_t n = strlen(p);
	char *s = malloc(sizeof CONFIG_VOL + 1 + n);
	if (!s)
		return NULL;
	memcpy(s, CONFIG_VOL, sizeof CONFIG_VOL - 1);
	s[sizeof CONFIG_VOL - 1] = '/';
	memcpy(s + sizeof CONFIG_VOL, p, n + 1);
	return s;
}

static struct cs_entry *push(struct cs_layout_ctx *L, struct cs_error *err)
{
	if (L->n_all == L->cap_all) {
		size_t nc = L->cap_all ? L->cap_all * 2 : 64;
		struct cs_entry *na = realloc(L->all, nc * sizeof *na);
		int *nk = realloc(L->kinds, nc * sizeof *nk);
		if (na)
			L->all = na;
		if (nk)
			L->kinds = nk;
		if (!na || !nk) {
			cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
			return NULL;
		}
		L->cap_all = nc;
	}
	struct cs_entry *e = &L->all[L->n_all];
	memset(e, 0, sizeof *e);
	L->kinds[L->n_all++] = CS_RW_NONE;
	return e;
}

/* A synthesized directory: the config volume, a volume the source lacks, or the
 * empty mount point of a volume inside config/. */
static int push_dir(struct cs_layout_ctx *L, const char *path, const struct cs_entry *like,
		    const struct cs_snapshot_info *info, struct cs_error *err)
{
	struct cs_entry *e = push(L, err);
	if (!e)
		return err->code;
	e->type = CS_ENTRY_DIR;
	if (like) {
		e->mode = like->mode;
		e->uid = like->uid;
		e->gid = like->gid;
		e->mtime_sec = like->mtime_sec;
		e->mtime_nsec = like->mtime_nsec;
	} else {
		e->mode = info->root_mode ? info->root_mode : 0700;
		e->uid = info->uid;
		e->gid = info->gid;
		e->mtime_sec = info->root_mtime_sec;
		e->mtime_nsec = info->root_mtime_nsec;
	}
	e->cls = CS_CLASS_CONFIG;
	if (!(e->path = strdup(path)))
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	return CS_OK;
}

static int docker_prelude(struct cs_layout_ctx *L, const struct cs_entry *sel, size_t n,
			  const struct cs_snapshot_info *info, struct cs_error *err)
{
	const struct cs_entry *found[2] = {NULL, NULL};
	char ph[64];
	int rc;
	for (size_t i = 0; i < n; i++)
		for (size_t v = 0; v < L->n_volumes; v++)
			if (strcmp(sel[i].path, L->volumes[v]) == 0)
				found[v] = &sel[i];
	for (size_t v = 0; v < L->n_volumes; v++)
		L->volume_is_dir[v] = !found[v] || found[v]->type == CS_ENTRY_DIR;
	if ((rc = push_dir(L, CONFIG_VOL, NULL, info, err)) != CS_OK)
		return rc;
	for (size_t v = 0; v < L->n_volumes; v++) {
		if (!L->volume_is_dir[v])
			continue; /* a file named like a volume stays in config/ */
		/* The volume dir itself comes from the source when it has one. */
		if (!found[v] && (rc = push_dir(L, L->volumes[v], NULL, info, err)) != CS_OK)
			return rc;
		/* Docker mounts the volume on config/NAME: give it a dir owned like
		 * the volume, not one dockerd makes as root. */
		snprintf(ph, sizeof ph, "%s/%s", CONFIG_VOL, L->volumes[v]);
		if ((rc = push_dir(L, ph, found[v], info, err)) != CS_OK)
			return rc;
	}
	return CS_OK;
}

/* Re-point an absolute symlink into the old prefix. */
static int symlink_rewrite(struct cs_layout_ctx *L, struct cs_entry *e, const char *src_path,
			   struct cs_error *err)
{
	char *out = NULL;
	size_t out_len = 0;
	if (!L->n_rules || !e->target || e->target[0] != '/')
		return CS_OK;
	if (cs_rewrite_path(L->rules, L->n_rules, e->target, strlen(e->target), &out, &out_len) !=
	    CS_OK)
		return cs_err_set(err, CS_ERR_NOMEM, src_path, "out of memory");
	if (!out)
		return CS_OK;
	if (L->opts->rewrite) {
		struct cs_rewrite_note note = {e->path, "symlink", e->target, out};
		L->opts->rewrite(L->opts->report.ctx, &note);
	}
	free(e->target);
	e->target = out;
	e->size = out_len;
	L->symlinks_rewritten++;
	return CS_OK;
}

/* What the rewriter reports goes to the caller.  A path of the config that
 * lands outside the new state dir names something that is not moved with the
 * state (an agent workspace elsewhere, a plugin dir): say so. */
static void layout_note(void *ctx, const struct cs_rewrite_note *n)
{
	struct cs_layout_ctx *L = ctx;
	const struct cs_restore_opts *o = L->opts;
	char what[600];
	bool config = !strcmp(n->path, "openclaw.json") || !strcmp(n->path, "config/openclaw.json");
	if (o->rewrite)
		o->rewrite(o->report.ctx, n);
	if (config && o->report.warn && n->to && n->to[0] == '/' && !below(n->to, L->to_state)) {
		/* A few name the problem; a config with thousands would drown it. */
		if (++L->outside < 10)
			snprintf(what, sizeof what,
				 "%.250s is outside the state dir %.250s: not moved with it", n->to,
				 L->to_state);
		else if (L->outside == 10)
			snprintf(what, sizeof what,
				 "and more paths outside the state dir %.250s (not listed)",
				 L->to_state);
		else
			return;
		o->report.warn(o->report.ctx, n->path, what);
	}
}

static void layout_warn(void *ctx, const char *path, const char *reason)
{
	struct cs_layout_ctx *L = ctx;
	if (L->opts->report.warn)
		L->opts->report.warn(L->opts->report.ctx, path, reason);
}

int cs_layout_begin(struct cs_layout_ctx *L, const struct cs_restore_opts *o,
		    const struct cs_snapshot_info *info, const struct cs_entry *sel, size_t n,
		    struct cs_error *err)
{
	int rc;
	memset(L, 0, sizeof *L);
	L->opts = o;
	if (o->layout == CS_LAYOUT_NONE) {
		/* The tree as recorded: the selection itself, nothing copied. */
		L->all = (struct cs_entry *)sel;
		L->n_all = n;
		L->borrowed = true;
		return CS_OK;
	}
	L->from_docker = strcmp(info->layout, "docker") == 0;
	if ((rc = prefixes(L, o, info, err)) != CS_OK)
		return rc;
	if (o->layout == CS_LAYOUT_DOCKER) {
		L->volumes[L->n_volumes++] = "workspace";
		if (o->volumes & CS_VOLUME_MEDIA)
			L->volumes[L->n_volumes++] = "media";
		if ((rc = docker_prelude(L, sel, n, info, err)) != CS_OK)
			return rc;
	}
	L->n_pre = L->n_all;
	for (size_t i = 0; i < n; i++) {
		struct cs_entry *e = push(L, err);
		if (!e)
			return err->code;
		if ((rc = cs_entry_copy(e, &sel[i], err)) != CS_OK) {
			L->n_all--;
			return rc;
		}
		L->kinds[L->n_all - 1] = cs_rw_kind(&sel[i]);
		if (o->layout == CS_LAYOUT_DOCKER) {
			char *p = map_path(L, sel[i].path);
			char *t = NULL;
			if (p && e->type == CS_ENTRY_HARDLINK && !(t = map_path(L, sel[i].target))) {
				free(p);
				p = NULL;
			}
			if (!p)
				return cs_err_set(err, CS_ERR_NOMEM, sel[i].path, "out of memory");
			free(e->path);
			e->path = p;
			if (t) {
				free(e->target);
				e->target = t;
			}
		}
		if (e->type == CS_ENTRY_SYMLINK &&
		    (rc = symlink_rewrite(L, e, sel[i].path, err)) != CS_OK)
			return rc;
	}
	/* Mapping added a prefix and dirs: the list must still be a valid tree. */
	if (o->layout == CS_LAYOUT_DOCKER && (rc = cs_entries_validate(L->all, L->n_all, err)) != CS_OK)
		return rc;
	L->plan.rules = L->rules;
	L->plan.n_rules = L->n_rules;
	L->plan.needles = L->needles;
	L->plan.n_needles = L->n_needles;
	L->plan.note = layout_note;
	L->plan.warn = layout_warn;
	L->plan.ctx = L;
	return CS_OK;
}

void cs_layout_free(struct cs_layout_ctx *L)
{
	if (!L)
		return;
	if (!L->borrowed) {
		for (size_t i = 0; i < L->n_all; i++)
			cs_entry_free(&L->all[i]);
		free(L->all);
	}
	free(L->kinds);
	free(L->capture);
	memset(L, 0, sizeof *L);
}

void cs_layout_result(const struct cs_layout_ctx *L, struct cs_restore_result *res)
{
	if (L->opts->layout == CS_LAYOUT_NONE)
		return;
	snprintf(res->from_state, sizeof res->from_state, "%s", L->from_state);
	snprintf(res->to_state, sizeof res->to_state, "%s", L->to_state);
	snprintf(res->from_home, sizeof res->from_home, "%s", L->from_home);
	snprintf(res->to_home, sizeof res->to_home, "%s", L->to_home);
	res->rewrites = L->stats.rewrites + L->symlinks_rewritten;
	res->files_rewritten = L->stats.files_rewritten + L->symlinks_rewritten;
	res->leftover_files = L->stats.leftover_files;
	res->leftover_mentions = L->stats.leftover_mentions;
}
