/* cmd_migrate.c - "clawstate migrate": move a state between the host layout
 * and the Docker layout (volumes, owners, paths), from a live state dir, a
 * backup file or a vault snapshot, through the library's safe writer. */
#include "outopts.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: clawstate migrate --state DIR [--workspace DIR [--media DIR]]\n"
	"                         --layout host|docker --to DIR [options]\n"
	"       clawstate migrate --from-backup FILE --layout host|docker --to DIR [options]\n"
	"       clawstate migrate --snapshot ID [--vault DIR] --layout host|docker --to DIR\n"
	"                         [options]";

static const char help[] =
	"Write a state in another layout.  --layout docker makes DIR/config (mounted\n"
	"at <container home>/.openclaw), DIR/workspace (at .../.openclaw/workspace)\n"
	"and with --volumes config,workspace,media DIR/media, owned by the container\n"
	"user (default 1000:1000), and prints the compose volumes and .env lines.\n"
	"--layout host merges them into one tree at DIR, owned by the owner of --home.\n"
	"Absolute paths in openclaw.json (comments and formatting kept), its .bak\n"
	"files, sessions.json, transcript headers, exec-approvals.json, SQLite TEXT\n"
	"values and absolute symlinks are moved from the old state dir and home to\n"
	"the new ones; other files that still mention them are listed.  DIR is\n"
	"staged, checked and swapped in at once, as restore does.\n\n"
	"Source (one of):\n"
	"  --state DIR             a live state dir (no vault needed); a docker-layout\n"
	"                          one is its config volume with --workspace (and --media)\n"
	"  --workspace DIR         the workspace volume of a docker-layout --state\n"
	"  --media DIR             its media volume\n"
	"  --from-backup FILE      a backup file ('-' reads stdin)\n"
	"  --snapshot ID           a snapshot of the vault (number or 'latest')\n"
	"  --vault DIR             with --snapshot: the vault\n\n"
	"Output:\n"
	"  --layout host|docker    the layout to write (required)\n"
	"  --to DIR                the output directory (new, empty, or with --replace)\n"
	"  --home DIR              host: the new home; paths become DIR/.openclaw/...\n"
	"                          (default: the parent of --to); owner default: DIR's\n"
	"  --container-home DIR    the container user's home on the docker side, target\n"
	"                          or source (default /home/node)\n"
	"  --volumes LIST          docker: config,workspace or config,workspace,media\n"
	"  --from-home DIR         the old home the paths use (default: recorded; for\n"
	"                          --state, the parent of a DIR named .openclaw, else $HOME)\n"
	"  --owner UID:GID, --owner-by-name USER[:GROUP], --uid-map MAP, --gid-map MAP,\n"
	"  --unmapped keep|owner|fail\n"
	"                          owners as in restore; they replace the layout default\n"
	"  --replace [--no-keep]   replace a non-empty DIR (old tree kept as\n"
	"                          DIR.clawstate-old-<seq>; -old-0... for --state)\n"
	"  --dry-run               check everything, list every rewrite; write nothing\n"
	"  --force                 replace even while an OpenClaw gateway runs on DIR\n"
	"  --progress=MODE         json|tty|none, as restore\n"
	"  --passphrase-file F, --key-file F\n"
	"                          the credential for --from-backup and --snapshot\n"
	"  -h, --help              this help\n";

static const struct option own_opts[] = {
	{"state", required_argument, NULL, OPT_STATE},
	{"workspace", required_argument, NULL, OUT_OPT_WORKSPACE},
	{"media", required_argument, NULL, OUT_OPT_MEDIA},
	{"from-backup", required_argument, NULL, OUT_OPT_FROM_BACKUP},
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

/* Ctrl-C or a SIGTERM during migrate --state: the throwaway capture goes
 * with us, then the signal ends the process as it would have. */
static void on_signal(int sig)
{
	cs_migrate_abandon();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

struct migrate_src {
	const char *state, *workspace, *media, *backup, *snapshot, *vault;
};

static int check_source(struct cli *c, const struct migrate_src *m, struct cli_out *oo)
{
	int n = !!m->state + !!m->backup + !!m->snapshot;
	if (n == 0)
		return cli_usage(c, "name a source: --state DIR, --from-backup FILE or --snapshot ID");
	if (n > 1)
		return cli_usage(c, "--state, --from-backup and --snapshot exclude each other");
	if ((m->workspace || m->media) && !m->state)
		return cli_usage(c, "--workspace and --media describe a docker-layout --state");
	if (m->media && !m->workspace)
		return cli_usage(c, "--media needs --workspace (a docker-layout --state)");
	if (m->vault && !m->snapshot)
		return cli_usage(c, "--vault goes with --snapshot");
	if (m->snapshot && !cli_valid_snapshot_id(m->snapshot))
		return cli_usage(c, "not a snapshot id: '%s' (a sequence number or 'latest')",
				 m->snapshot);
	if (!oo->layout)
		return cli_usage(c, "missing --layout host|docker (the layout to write)");
	return EXIT_OK;
}

static int is_file(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat sb;
	return snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p && stat(p, &sb) == 0 &&
	       S_ISREG(sb.st_mode);
}

/* The two ways of naming a docker-layout source wrongly: its output dir, or
 * its config volume without the workspace volume (whose place in it is an
 * empty dir: the state would come out without its workspace). */
static int check_docker_source(struct cli *c, const struct migrate_src *m)
{
	char p[PATH_MAX];
	if (!m->state || m->workspace)
		return EXIT_OK;
	if (!is_file(m->state, "openclaw.json") && is_file(m->state, "config/openclaw.json"))
		return cli_usage(c, "%s holds config/ and workspace/ volumes: migrate from them with "
				    "--state %s/config --workspace %s/workspace",
				 m->state, m->state, m->state);
	if (snprintf(p, sizeof p, "%s/workspace", m->state) >= (int)sizeof p)
		return EXIT_OK;
	DIR *d = opendir(p);
	if (!d)
		return EXIT_OK;
	struct dirent *de;
	int empty = 1;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	if (empty)
		fprintf(stderr, "clawstate: migrate: %s/workspace is empty: if %s is a docker config "
				"volume, name its workspace volume with --workspace\n",
			m->state, m->state);
	return EXIT_OK;
}

int cmd_migrate(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cli_out oo = {0};
	struct cs_restore_opts ro = {0};
	struct cs_restore_result res;
	struct cs_snapshot_result sres;
	struct cs_snapshot_opts so = {0};
	struct cs_error err;
	struct cs_vault *v = NULL;
	struct cs_cred *cred = NULL;
	struct option *opts = NULL;
	struct migrate_src m = {0};
	char vbuf[4096];
	int o, rc = CS_OK, code = EXIT_USAGE, in_fd = -1;

	cli_init(&c, "migrate", usage);
	cs_error_clear(&err);
	memset(&res, 0, sizeof(res));
	src.tty_fd = -1;
	if (!(opts = cli_out_join(own_opts))) {
		cli_errorf(&c, "out of memory");
		return EXIT_ERROR;
	}
	while ((o = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		if (cli_out_take(&oo, &ro, o, optarg))
			continue;
		switch (o) {
		case OPT_STATE: m.state = optarg; break;
		case OUT_OPT_WORKSPACE: m.workspace = optarg; break;
		case OUT_OPT_MEDIA: m.media = optarg; break;
		case OUT_OPT_FROM_BACKUP: m.backup = optarg; break;
		case OPT_SNAPSHOT: m.snapshot = optarg; break;
		case OPT_VAULT: m.vault = optarg; break;
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
	if (optind < argc) {
		cli_usage(&c, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((code = check_source(&c, &m, &oo)) != EXIT_OK ||
	    (code = check_docker_source(&c, &m)) != EXIT_OK)
		goto out;
	code = EXIT_USAGE;
	/* Into the host layout, --container-home names the docker source's home. */
	if (m.workspace && oo.container_home && cs_layout_parse(oo.layout) == CS_LAYOUT_HOST) {
		so.container_home = oo.container_home;
		oo.container_home = NULL;
		if (so.container_home[0] != '/') {
			cli_usage(&c, "--container-home: want an absolute path, got '%s'",
				  so.container_home);
			goto out;
		}
	}
	if ((code = cli_out_finish(&c, &oo, &ro)) != EXIT_OK)
		goto out;
	code = EXIT_USAGE;
	if (ro.dry_run)
		ro.plan = on_plan;
	/* stdout carries the plan, or the compose lines of a docker output. */
	if (ro.dry_run || ro.layout == CS_LAYOUT_DOCKER)
		c.out = stderr;
	if (!m.state && (code = cli_cred_resolve(&c, &src, m.backup && !strcmp(m.backup, "-"))) !=
			    EXIT_OK)
		goto out;
	cli_report(&c, &ro.report);

	if (m.state) {
		so.state_dir = m.state;
		so.report = ro.report;
		if (m.workspace) {
			so.layout = CS_LAYOUT_DOCKER;
			so.workspace_dir = m.workspace;
			so.media_dir = m.media;
			if (!so.container_home && ro.layout == CS_LAYOUT_DOCKER)
				so.container_home = ro.container_home;
		}
		catch_signals();
		rc = cs_migrate_state(&so, &ro, &sres, &res, &err);
	} else if (m.snapshot) {
		const char *vault = m.vault;
		uint64_t seq;
		if (!vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf)))) {
			code = cli_usage(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
			goto out;
		}
		if ((code = cli_vault_open(&c, vault, CS_OPEN_READ, &src, &v)) != EXIT_OK)
			goto out;
		if ((rc = cs_snapshot_resolve(v, m.snapshot, &seq, &err)) == CS_OK)
			rc = cs_restore_snapshot(v, seq, &ro, &res, &err);
	} else {
		const char *name = m.backup;
		if (!strcmp(m.backup, "-") && isatty(STDIN_FILENO)) {
			cli_usage(&c, "refusing to read a backup from a terminal; pipe it in");
			goto out;
		}
		if ((code = cli_open_input(&c, m.backup, &in_fd, &name)) != EXIT_OK)
			goto out;
		if ((code = cli_cred_load(&c, &src, 0, name, &cred)) != EXIT_OK)
			goto out;
		rc = cs_restore_backup(in_fd, name, cred, &ro, &res, &err);
	}
	cli_progress_done(&c);
	if (rc != CS_OK && !(rc == CS_ERR_PARTIAL && res.entries)) {
		code = cli_fail(&c, rc, &err);
		goto out;
	}
	code = rc == CS_OK ? EXIT_OK : EXIT_PARTIAL;
	/* Refused owners were already reported once, by the restore. */
	if (code == EXIT_PARTIAL && !res.owners_failed && ro.report.warn)
		ro.report.warn(ro.report.ctx, err.path, err.what);
	cJSON *j = c.progress == PROGRESS_JSON ? cJSON_CreateObject() : NULL;
	cli_out_print(&c, &ro, &res, m.state ? m.state : m.backup ? m.backup : NULL, j);
	if (j) {
		cli_result_event(&c, code, code == EXIT_OK ? NULL : &err, j);
		cJSON_Delete(j);
	}
	if (ro.layout == CS_LAYOUT_DOCKER && !ro.dry_run)
		(void)cli_out_compose(stdout, &ro);
out:
	if (in_fd > STDIN_FILENO)
		close(in_fd);
	cs_cred_free(cred);
	cs_vault_close(v);
	cli_cred_src_close(&src);
	free(opts);
	cli_out_free(&ro);
	return code;
}
