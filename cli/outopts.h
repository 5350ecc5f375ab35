/*
 * outopts.h - the options restore and migrate share: where the output goes
 * (--to, --replace, --no-keep), its owners (--owner, maps) and its layout
 * (--layout, --home, --container-home, --from-home, --volumes), with their
 * parsing, defaults and the result lines both print.
 */
#ifndef CLI_OUTOPTS_H
#define CLI_OUTOPTS_H

#include "common.h"

/* Option values of this group (clear of common.h's). */
enum {
	OUT_OPT_BASE = OPT_BASE + 0x80,
	OUT_OPT_LAYOUT,
	OUT_OPT_HOME,
	OUT_OPT_CONTAINER_HOME,
	OUT_OPT_FROM_HOME,
	OUT_OPT_VOLUMES,
	OUT_OPT_WORKSPACE,
	OUT_OPT_MEDIA,
	OUT_OPT_FROM_BACKUP,
};

/* The getopt_long entries of the group (terminated by a zero entry). */
extern const struct option cli_out_options[];

struct cli_out {
	const char *owner, *by_name, *uid_map, *gid_map, *unmapped;
	const char *layout, *home, *container_home, *from_home, *volumes;
	int no_keep;
	uint32_t container_uid, container_gid; /* docker owner default */
};

/* own (zero-terminated) followed by the group's entries; malloc'd, NULL on ENOMEM. */
struct option *cli_out_join(const struct option *own);
/* Take one option of the group; 1 when it was one, else 0. */
int cli_out_take(struct cli_out *o, struct cs_restore_opts *ro, int opt, const char *arg);
/*
 * After parsing: check and convert into ro (owners, maps, layout, volumes),
 * apply the owner defaults of a layout (docker: 1000:1000, host: the owner of
 * --home, else of the target's parent) when no ownership option was given.
 * Returns 0 or the exit code after printing why.
 */
int cli_out_finish(struct cli *c, struct cli_out *o, struct cs_restore_opts *ro);
/* Free what cli_out_finish allocated in ro. */
void cli_out_free(struct cs_restore_opts *ro);
/* The rewrite callback: dry runs list every rewrite on stdout. */
void cli_out_rewrite(void *ctx, const struct cs_rewrite_note *n);
/* The result lines of a restore or migrate (human; JSON fields into j);
 * source names what was migrated (NULL: a restore of snapshot r->seq). */
void cli_out_print(struct cli *c, const struct cs_restore_opts *ro,
		   const struct cs_restore_result *r, const char *source, cJSON *j);
/* A docker output's compose volumes snippet and env lines, on f (-1: the
 * target could not be resolved). */
int cli_out_compose(FILE *f, const struct cs_restore_opts *ro);

/* The resolved (realpath) parent dir of target, which need not exist. */
int cli_target_parent(const char *target, char *out, size_t len);

int cmd_migrate(int argc, char **argv);

#endif
