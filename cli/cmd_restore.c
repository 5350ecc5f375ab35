/* cmd_restore.c - "clawstate restore": restore a backup file (or stdin) or a
 * vault snapshot into a directory through the library's staged, swapped writer. */
#include "outopts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: clawstate restore FILE|- --to DIR [--replace [--no-keep]] [--owner UID:GID]\n"
	"                         [--uid-map MAP] [--gid-map MAP] [--owner-by-name USER[:GROUP]]\n"
	"                         [--unmapped keep|owner|fail]\n"
	"                         [--layout host|docker [--home DIR] [--container-home DIR]\n"
	"                          [--volumes config,workspace[,media]] [--from-home DIR]]\n"
	"                         [--include PATH]... [--dry-run] [--force]\n"
	"                         [--progress=MODE] [--passphrase-file F | --key-file F]\n"
	"       clawstate restore --snapshot ID [--vault DIR] --to DIR [options]";

static const char help[] =
	"Restore a backup file ('-' reads stdin) or a snapshot of the local vault into\n"
	"DIR.  Everything is written into DIR.clawstate-stage-* beside DIR, checked\n"
	"(the whole stream, every hash), made durable, then swapped in at once.  When\n"
	"DIR is a mount point (a Docker volume) it is staged inside DIR and its\n"
	"top-level entries are swapped under a journal (see clawstate recover).\n\n"
	"  --to DIR                the output directory (new, empty, or with --replace)\n"
	"  --replace               replace a non-empty DIR; the old tree is kept as\n"
	"                          DIR.clawstate-old-<seq> (.1, .2... when taken)\n"
	"  --no-keep               with --replace: delete the old tree afterwards\n"
	"  --owner UID:GID         give every entry this owner (default: the recorded\n"
	"                          owners when root, your own otherwise)\n"
	"  --owner-by-name USER[:GROUP]\n"
	"                          --owner with the ids of USER (and GROUP, default the\n"
	"                          user's primary group) on this host\n"
	"  --uid-map MAP           FROM:TO[,FROM:TO...], FROM an id or a range FIRST-LAST\n"
	"                          (1000-1999:101000 maps 1000..1999 to 101000..101999);\n"
	"                          other uids follow --unmapped\n"
	"  --gid-map MAP           the same for gids\n"
	"  --unmapped keep|owner|fail\n"
	"                          ids a given map misses: keep the recorded id (default),\n"
	"                          take --owner's, or fail (exit 1) before writing anything\n"
	"  --layout host|docker    write the tree in this layout and rewrite the absolute\n"
	"                          paths in its config, sessions, transcripts and\n"
	"                          databases to it (see clawstate migrate --help);\n"
	"                          without it the tree is restored exactly as recorded\n"
	"  --home DIR              host: the home the paths get (DIR/.openclaw; default:\n"
	"                          the target's parent); owner default: DIR's owner\n"
	"  --container-home DIR    docker: the container user's home (default /home/node)\n"
	"  --volumes LIST          docker: config,workspace (default) or\n"
	"                          config,workspace,media (media/ a volume of its own)\n"
	"  --from-home DIR         the old home the paths use (default: the recorded one)\n"
	"  --include PATH          restore only this relative subtree; repeatable; not\n"
	"                          with --replace\n"
	"  --dry-run               check everything and list what would be written; write\n"
	"                          nothing\n"
	"  --force                 replace even while an OpenClaw gateway runs on DIR\n"
	"  --snapshot ID           restore from the vault (number or 'latest') instead\n"
	"  --vault DIR             with --snapshot: the vault (default $CLAWSTATE_VAULT,\n"
	"                          else $XDG_STATE_HOME/clawstate, else ~/.local/state/clawstate)\n"
	"  --progress=MODE         json: NDJSON progress events on stderr; tty: a\n"
	"                          progress bar (the default when stderr is a\n"
	"                          terminal); none: no progress output\n"
	"  --passphrase-file F     passphrase from F ('-' = stdin, not with FILE '-';\n"
	"                          $CLAWSTATE_PASSPHRASE_FILE)\n"
	"  --key-file F            key file ($CLAWSTATE_KEY_FILE)\n"
	"  -h, --help              this help\n";

/* Besides the output group of outopts.h. */
static const struct option own_opts[] = {
	{"include", required_argument, NULL, OPT_INCLUDE},
	{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
	{"vault", required_argument, NULL, OPT_VAULT},
	{"progress", required_argument, NULL, OPT_PROGRESS},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void on_plan(void *ctx, const struct cs_entry *e)
{
	(void)ctx;
	cli_entry_print(stdout, e);
}

static void print_result(struct cli *c, const struct cs_restore_opts *ro,
			 const struct cs_restore_result *r, int code, const struct cs_error *err)
{
	cJSON *j = c->progress == PROGRESS_JSON ? cJSON_CreateObject() : NULL;
	cli_out_print(c, ro, r, NULL, j);
	if (j) {
		cli_result_event(c, code, code == EXIT_OK ? NULL : err, j);
		cJSON_Delete(j);
	}
}

int cmd_restore(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_restore_opts ro = {0};
	struct cs_restore_result res;
	struct cs_error err;
	struct cs_vault *v = NULL;
	struct cs_cred *cred = NULL;
	struct cli_out oo = {0};
	struct option *opts = NULL;
	char vbuf[4096];
	const char *file = NULL, *snap = NULL, *vault = NULL;
	const char **includes = NULL;
	int o, rc, code = EXIT_USAGE, in_fd = -1;

	cli_init(&c, "restore", usage);
	cs_error_clear(&err);
	memset(&res, 0, sizeof(res));
	src.tty_fd = -1;
	if (!(includes = calloc((size_t)argc + 1, sizeof(*includes))) ||
	    !(opts = cli_out_join(own_opts))) {
		cli_errorf(&c, "out of memory");
		return EXIT_ERROR;
	}
	while ((o = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		if (cli_out_take(&oo, &ro, o, optarg))
			continue;
		switch (o) {
		case OPT_INCLUDE: includes[ro.n_includes++] = optarg; break;
		case OPT_SNAPSHOT: snap = optarg; break;
		case OPT_VAULT: vault = optarg; break;
		case OPT_PROGRESS:
			if (cli_set_progress(&c, optarg)) {
				cli_bad_progress(&c, optarg);
				goto out;
			}
			break;
		case OPT_PASSPHRASE_FILE: src.passphrase_file = optarg; break;
		case OPT_KEY_FILE: src.key_file = optarg; break;
		case 'h': code = cli_help(&c, help); goto out;
		default: goto out;
		}
	}
	if (optind < argc)
		file = argv[optind++];
	if (optind < argc) {
		cli_usage(&c, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!file && !snap) {
		cli_usage(&c, "name a backup FILE (or - for stdin) or --snapshot ID");
		goto out;
	}
	if (file && snap) {
		cli_usage(&c, "a backup FILE and --snapshot exclude each other");
		goto out;
	}
	if (file && vault) {
		cli_usage(&c, "--vault applies to --snapshot; a backup file needs no vault");
		goto out;
	}
	if (snap && !cli_valid_snapshot_id(snap)) {
		cli_usage(&c, "not a snapshot id: '%s' (a sequence number or 'latest')", snap);
		goto out;
	}
	if (ro.n_includes && ro.replace) {
		cli_usage(&c, "--include restores into a new or empty directory; it cannot be "
			      "combined with --replace");
		goto out;
	}
	for (size_t i = 0; i < ro.n_includes; i++) {
		if (!includes[i][0] || includes[i][0] == '/') {
			cli_usage(&c, "--include: '%s' is not a relative path inside the backup",
				  includes[i]);
			goto out;
		}
	}
	if ((code = cli_out_finish(&c, &oo, &ro)) != EXIT_OK)
		goto out;
	code = EXIT_USAGE;
	ro.includes = includes;
	if (ro.dry_run)
		ro.plan = on_plan;
	if (ro.dry_run || ro.layout == CS_LAYOUT_DOCKER)
		c.out = stderr; /* stdout carries the plan, or the compose lines */
	if (file && strcmp(file, "-") == 0 && isatty(STDIN_FILENO)) {
		cli_usage(&c, "refusing to read a backup from a terminal; pipe it in");
		goto out;
	}
	if ((code = cli_cred_resolve(&c, &src, file && strcmp(file, "-") == 0)) != EXIT_OK)
		goto out;
	cli_report(&c, &ro.report);

	if (snap) {
		if (!vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf)))) {
			code = cli_usage(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
			goto out;
		}
		uint64_t seq;
		if ((code = cli_vault_open(&c, vault, CS_OPEN_READ, &src, &v)) != EXIT_OK)
			goto out;
		if ((rc = cs_snapshot_resolve(v, snap, &seq, &err)) != CS_OK) {
			code = cli_fail(&c, rc, &err);
			goto out;
		}
		rc = cs_restore_snapshot(v, seq, &ro, &res, &err);
	} else {
		const char *name = file;
		if ((code = cli_open_input(&c, file, &in_fd, &name)) != EXIT_OK)
			goto out;
		if ((code = cli_cred_load(&c, &src, 0, name, &cred)) != EXIT_OK)
			goto out;
		rc = cs_restore_backup(in_fd, name, cred, &ro, &res, &err);
	}
	cli_progress_done(&c);
	/* Restored, but owners were refused: the warning already named the first
	 * entry; the result is still the result. */
	if (rc == CS_ERR_PARTIAL && res.owners_failed) {
		print_result(&c, &ro, &res, EXIT_PARTIAL, &err);
		code = EXIT_PARTIAL;
		goto out;
	}
	if (rc != CS_OK) {
		code = cli_fail(&c, rc, &err);
		goto out;
	}
	print_result(&c, &ro, &res, EXIT_OK, NULL);
	if (ro.layout == CS_LAYOUT_DOCKER && !ro.dry_run)
		(void)cli_out_compose(stdout, &ro);
	code = EXIT_OK;
out:
	if (in_fd > STDIN_FILENO)
		close(in_fd);
	cs_cred_free(cred);
	cs_vault_close(v);
	cli_cred_src_close(&src);
	free(includes);
	free(opts);
	cli_out_free(&ro);
	return code;
}
