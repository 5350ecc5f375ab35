/* cmd_snapshot.c - "clawstate snapshot": record the state dir in the vault. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: clawstate snapshot [--state DIR] [--vault DIR] [--tag TEXT] [--exclude PATTERN]...\n"
	"                          [--layout host|docker --workspace DIR [--media DIR]\n"
	"                           [--container-home DIR]]\n"
	"                          [--wait] [--json] [--progress=MODE]\n"
	"                          [--passphrase-file F | --key-file F]";

static const char help[] =
	"Walk the OpenClaw state dir and commit a new snapshot to the vault.  Files\n"
	"unchanged since the previous snapshot are reused without being read; SQLite\n"
	"databases are copied consistently through SQLite's backup API.  Unreadable\n"
	"files and mount points are reported and the exit code is 3.\n\n"
	"  --state DIR             state dir (default $OPENCLAW_STATE_DIR, else\n"
	"                          $OPENCLAW_HOME/.openclaw, else ~/.openclaw)\n"
	"  --vault DIR             vault (default $CLAWSTATE_VAULT, else\n"
	"                          $XDG_STATE_HOME/clawstate, else ~/.local/state/clawstate)\n"
	"  --tag TEXT              free text stored with the snapshot\n"
	"  --exclude PATTERN       fnmatch(3) pattern on paths relative to the state dir;\n"
	"                          'dir/' excludes a whole subtree; repeatable\n"
	"  --layout host|docker    how the source is laid out (default host: one tree).\n"
	"                          docker: --state (required) is the config volume and\n"
	"                          the other volumes are read as its workspace/ and\n"
	"                          media/: one state, recorded at <container home>/.openclaw\n"
	"  --workspace DIR         with --layout docker (required): the workspace volume\n"
	"  --media DIR             with --layout docker: the media volume, if separate\n"
	"  --container-home DIR    with --layout docker: the container user's home, an\n"
	"                          absolute path (default /home/node)\n"
	"  --wait                  wait for another writer instead of exiting 6\n"
	"  --json                  print the result as one JSON document\n"
	"  --progress=MODE         json: NDJSON progress events on stderr; tty: a\n"
	"                          progress bar (the default when stderr is a\n"
	"                          terminal); none: no progress output\n"
	"  --passphrase-file F     passphrase from F ('-' = stdin; $CLAWSTATE_PASSPHRASE_FILE)\n"
	"  --key-file F            key file ($CLAWSTATE_KEY_FILE)\n"
	"  -h, --help              this help\n";

static const struct option opts[] = {
	{"state", required_argument, NULL, OPT_STATE},
	{"vault", required_argument, NULL, OPT_VAULT},
	{"tag", required_argument, NULL, OPT_TAG},
	{"exclude", required_argument, NULL, OPT_EXCLUDE},
	{"layout", required_argument, NULL, OPT_LAYOUT},
	{"workspace", required_argument, NULL, OPT_WORKSPACE},
	{"media", required_argument, NULL, OPT_MEDIA},
	{"container-home", required_argument, NULL, OPT_CONTAINER_HOME},
	{"wait", no_argument, NULL, OPT_WAIT},
	{"json", no_argument, NULL, OPT_JSON},
	{"progress", required_argument, NULL, OPT_PROGRESS},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Absolute, without empty, "." or ".." components and without a trailing '/'. */
static int normalised_abs(const char *p)
{
	if (p[0] != '/')
		return 0;
	while (*p == '/') {
		const char *c = p + 1;
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		p = c + n;
	}
	return 1;
}

int cli_snapshot_source(struct cli *c, const char *layout, struct cs_snapshot_opts *so)
{
	so->layout = CS_LAYOUT_NONE;
	if (layout) {
		int l = cs_layout_parse(layout);
		if (l < 0)
			return cli_usage(c, "unknown layout '%s' (host or docker)", layout);
		so->layout = l;
	}
	if (so->layout != CS_LAYOUT_DOCKER) {
		if (so->workspace_dir)
			return cli_usage(c, "--workspace needs --layout docker");
		if (so->media_dir)
			return cli_usage(c, "--media needs --layout docker");
		if (so->container_home)
			return cli_usage(c, "--container-home needs --layout docker");
		return EXIT_OK;
	}
	if (!so->workspace_dir)
		return cli_usage(c, "--layout docker needs --workspace DIR (the workspace volume)");
	/* ~/.openclaw is a host tree, never a config volume: no default here. */
	if (!so->state_dir)
		return cli_usage(c, "--layout docker needs --state DIR (the config volume)");
	if (so->container_home && so->container_home[0] != '/')
		return cli_usage(c, "--container-home must be an absolute path: '%s'",
				 so->container_home);
	if (so->container_home && !normalised_abs(so->container_home))
		return cli_usage(c, "--container-home must not end in '/' or hold '.', '..' or "
				    "'//': '%s'", so->container_home);
	return EXIT_OK;
}

int cli_take_snapshot(struct cli *c, struct cs_vault *v, struct cs_snapshot_opts *so,
		      struct cs_snapshot_result *res, struct cs_error *err)
{
	int rc;

	so->home = cli_openclaw_home();
	cli_report(c, &so->report);
	memset(res, 0, sizeof(*res));
	rc = cs_snapshot_create(v, so, res, err);
	cli_progress_done(c);
	if (rc == CS_ERR_PARTIAL)
		return EXIT_PARTIAL;
	if (rc != CS_OK)
		return cli_fail(c, rc, err);
	return EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_snapshot_opts so = {0};
	struct cs_snapshot_result res;
	struct cs_error err;
	struct cs_vault *v = NULL;
	char sbuf[4096], vbuf[4096];
	const char *state = NULL, *vault = NULL, *tag = NULL, *layout = NULL;
	const char **excludes = NULL;
	size_t n_ex = 0;
	int o, wait = 0, code;

	cli_init(&c, "snapshot", usage);
	cs_error_clear(&err);
	src.tty_fd = -1;
	if (!(excludes = calloc((size_t)argc + 1, sizeof(*excludes)))) {
		cli_errorf(&c, "out of memory");
		return EXIT_ERROR;
	}
	while ((o = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		switch (o) {
		case OPT_STATE: state = optarg; break;
		case OPT_VAULT: vault = optarg; break;
		case OPT_TAG: tag = optarg; break;
		case OPT_EXCLUDE: excludes[n_ex++] = optarg; break;
		case OPT_LAYOUT: layout = optarg; break;
		case OPT_WORKSPACE: so.workspace_dir = optarg; break;
		case OPT_MEDIA: so.media_dir = optarg; break;
		case OPT_CONTAINER_HOME: so.container_home = optarg; break;
		case OPT_WAIT: wait = 1; break;
		case OPT_JSON: c.json = 1; break;
		case OPT_PROGRESS:
			if (cli_set_progress(&c, optarg)) {
				code = cli_bad_progress(&c, optarg);
				goto out;
			}
			break;
		case OPT_PASSPHRASE_FILE: src.passphrase_file = optarg; break;
		case OPT_KEY_FILE: src.key_file = optarg; break;
		case 'h': code = cli_help(&c, help); goto out;
		default: code = EXIT_USAGE; goto out;
		}
	}
	if (optind < argc) {
		code = cli_usage(&c, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	so.state_dir = state;
	if ((code = cli_snapshot_source(&c, layout, &so)) != EXIT_OK)
		goto out;
	if (!state && !(state = cli_default_state(sbuf, sizeof(sbuf)))) {
		code = cli_usage(&c, "no state dir: set --state, OPENCLAW_STATE_DIR or HOME");
		goto out;
	}
	if (!vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf)))) {
		code = cli_usage(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
		goto out;
	}
	if ((code = cli_cred_resolve(&c, &src, 0)) != EXIT_OK)
		goto out;
	c.busy_hint = !wait;
	if ((code = cli_vault_open(&c, vault, CS_OPEN_WRITE | (wait ? CS_OPEN_WAIT : 0), &src,
				   &v)) != EXIT_OK)
		goto out;
	so.state_dir = state;
	so.tag = tag;
	so.excludes = excludes;
	so.n_excludes = n_ex;
	code = cli_take_snapshot(&c, v, &so, &res, &err);
	if (code != EXIT_OK && code != EXIT_PARTIAL)
		goto out;
	cJSON *j = cli_snapshot_result_json(&res, code == EXIT_PARTIAL);
	if (code == EXIT_PARTIAL) {
		char n[48];
		cli_errorf(&c, "snapshot %llu committed as partial: %s skipped (listed above)",
			   (unsigned long long)res.seq,
			   cli_count(res.skipped, "entry", "entries", n, sizeof(n)));
	}
	cli_result_event(&c, code, NULL, j);
	if (c.json) {
		int pc = cli_json_print(&c, j);
		if (pc != EXIT_OK)
			code = pc;
	} else {
		cli_snapshot_result_print(&c, &res);
		cJSON_Delete(j);
	}
out:
	cs_vault_close(v);
	cli_cred_src_close(&src);
	free(excludes);
	return code;
}
