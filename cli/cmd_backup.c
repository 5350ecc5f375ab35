/* cmd_backup.c - "clawstate backup": write one encrypted backup file, from a
 * fresh snapshot of the state dir (default) or from an existing snapshot. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: clawstate backup [--state DIR | --snapshot ID] [--exclude PATTERN]... -o FILE|-\n"
	"                        [--layout host|docker --workspace DIR [--media DIR]\n"
	"                         [--container-home DIR]]\n"
	"                        [--force] [--vault DIR] [--wait] [--progress=MODE]\n"
	"                        [--passphrase-file F | --key-file F]";

static const char help[] =
	"Write a backup file: a small plaintext header (no secrets) and an encrypted,\n"
	"compressed stream holding a manifest and every file.  It restores with only\n"
	"the passphrase or key file, no vault needed.\n\n"
	"  --state DIR             take a fresh snapshot of DIR first (the default; DIR\n"
	"                          defaults to $OPENCLAW_STATE_DIR, else\n"
	"                          $OPENCLAW_HOME/.openclaw, else ~/.openclaw)\n"
	"  --snapshot ID           write an existing snapshot instead (number or 'latest')\n"
	"  --exclude PATTERN       with --state: fnmatch(3) pattern to leave out; repeatable\n"
	"  --layout host|docker    with --state: how the source is laid out (default host).\n"
	"                          docker: --state (required) is the config volume and\n"
	"                          the other volumes are read as its workspace/ and\n"
	"                          media/: one state, recorded at <container home>/.openclaw\n"
	"  --workspace DIR         with --layout docker (required): the workspace volume\n"
	"  --media DIR             with --layout docker: the media volume, if separate\n"
	"  --container-home DIR    with --layout docker: the container user's home, an\n"
	"                          absolute path (default /home/node)\n"
	"  -o, --output FILE|-     the backup file; '-' writes to stdout (not a terminal)\n"
	"  --force                 replace an existing FILE (otherwise exit 6)\n"
	"  --vault DIR             vault (default $CLAWSTATE_VAULT, else\n"
	"                          $XDG_STATE_HOME/clawstate, else ~/.local/state/clawstate)\n"
	"  --wait                  wait for another writer instead of exiting 6\n"
	"  --progress=MODE         json: NDJSON progress events on stderr; tty: a\n"
	"                          progress bar (the default when stderr is a\n"
	"                          terminal); none: no progress output\n"
	"  --passphrase-file F     passphrase from F ('-' = stdin; $CLAWSTATE_PASSPHRASE_FILE)\n"
	"  --key-file F            key file ($CLAWSTATE_KEY_FILE)\n"
	"  -h, --help              this help\n";

static const struct option opts[] = {
	{"state", required_argument, NULL, OPT_STATE},
	{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
	{"exclude", required_argument, NULL, OPT_EXCLUDE},
	{"layout", required_argument, NULL, OPT_LAYOUT},
	{"workspace", required_argument, NULL, OPT_WORKSPACE},
	{"media", required_argument, NULL, OPT_MEDIA},
	{"container-home", required_argument, NULL, OPT_CONTAINER_HOME},
	{"output", required_argument, NULL, 'o'},
	{"force", no_argument, NULL, OPT_FORCE},
	{"vault", required_argument, NULL, OPT_VAULT},
	{"wait", no_argument, NULL, OPT_WAIT},
	{"progress", required_argument, NULL, OPT_PROGRESS},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cmd_backup(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_backup_opts bo = {0};
	struct cs_backup_result br = {0};
	struct cs_snapshot_opts so = {0};
	struct cs_snapshot_result sr;
	struct cs_error err;
	struct cs_vault *v = NULL;
	char sbuf[4096], vbuf[4096], in[32], out[32], cnt[48];
	const char *state = NULL, *vault = NULL, *snap = NULL, *output = NULL, *layout = NULL;
	const char **excludes = NULL;
	size_t n_ex = 0;
	int o, rc, wait = 0, force = 0, code, snap_code = EXIT_OK;

	cli_init(&c, "backup", usage);
	cs_error_clear(&err);
	src.tty_fd = -1;
	if (!(excludes = calloc((size_t)argc + 1, sizeof(*excludes)))) {
		cli_errorf(&c, "out of memory");
		return EXIT_ERROR;
	}
	while ((o = cli_getopt(&c, argc, argv, ":ho:", opts)) != -1) {
		switch (o) {
		case OPT_STATE: state = optarg; break;
		case OPT_SNAPSHOT: snap = optarg; break;
		case OPT_EXCLUDE: excludes[n_ex++] = optarg; break;
		case OPT_LAYOUT: layout = optarg; break;
		case OPT_WORKSPACE: so.workspace_dir = optarg; break;
		case OPT_MEDIA: so.media_dir = optarg; break;
		case OPT_CONTAINER_HOME: so.container_home = optarg; break;
		case 'o': output = optarg; break;
		case OPT_FORCE: force = 1; break;
		case OPT_VAULT: vault = optarg; break;
		case OPT_WAIT: wait = 1; break;
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
	code = EXIT_USAGE;
	if (optind < argc) {
		cli_usage(&c, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!output) {
		cli_usage(&c, "missing -o FILE (or -o - for stdout)");
		goto out;
	}
	if (state && snap) {
		cli_usage(&c, "--state and --snapshot exclude each other");
		goto out;
	}
	if (snap && n_ex) {
		cli_usage(&c, "--exclude applies to a fresh snapshot (--state), not to --snapshot");
		goto out;
	}
	if (snap && (layout || so.workspace_dir || so.media_dir || so.container_home)) {
		cli_usage(&c, "--layout, --workspace, --media and --container-home apply to a "
			      "fresh snapshot (--state), not to --snapshot");
		goto out;
	}
	so.state_dir = state;
	if (!snap && cli_snapshot_source(&c, layout, &so) != EXIT_OK)
		goto out;
	if (snap && !cli_valid_snapshot_id(snap)) {
		cli_usage(&c, "not a snapshot id: '%s' (a sequence number or 'latest')", snap);
		goto out;
	}
	if (strcmp(output, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			cli_errorf(&c, "refusing to write a backup to a terminal; redirect stdout "
				       "or use -o FILE");
			goto out;
		}
		if (force) {
			cli_usage(&c, "--force has no meaning with -o -");
			goto out;
		}
		c.out = stderr; /* stdout carries the backup */
	}
	if (!snap && !state && !(state = cli_default_state(sbuf, sizeof(sbuf)))) {
		cli_usage(&c, "no state dir: set --state, OPENCLAW_STATE_DIR or HOME");
		goto out;
	}
	if (!vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf)))) {
		cli_usage(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
		goto out;
	}
	if ((code = cli_cred_resolve(&c, &src, 0)) != EXIT_OK)
		goto out;

	if (snap) {
		if ((code = cli_vault_open(&c, vault, CS_OPEN_READ, &src, &v)) != EXIT_OK)
			goto out;
		if ((rc = cs_snapshot_resolve(v, snap, &bo.seq, &err)) != CS_OK) {
			code = cli_fail(&c, rc, &err);
			goto out;
		}
	} else {
		int flags = CS_OPEN_WRITE | (wait ? CS_OPEN_WAIT : 0);
		c.busy_hint = !wait;
		if ((code = cli_vault_open(&c, vault, flags, &src, &v)) != EXIT_OK)
			goto out;
		so.state_dir = state;
		so.excludes = excludes;
		so.n_excludes = n_ex;
		snap_code = cli_take_snapshot(&c, v, &so, &sr, &err);
		if (snap_code != EXIT_OK && snap_code != EXIT_PARTIAL) {
			code = snap_code;
			goto out;
		}
		cli_snapshot_result_print(&c, &sr);
		bo.seq = sr.seq;
	}

	bo.out_path = strcmp(output, "-") == 0 ? NULL : output;
	bo.out_fd = STDOUT_FILENO;
	bo.force = force;
	cli_report(&c, &bo.report);
	rc = cs_backup_write(v, &bo, &br, &err);
	cli_progress_done(&c);
	if (rc != CS_OK) {
		code = cli_fail(&c, rc, &err);
		goto out;
	}
	fprintf(c.out, "backup written: %s (snapshot %llu, %s, %s of files, %s written)\n",
		bo.out_path ? bo.out_path : "stdout", (unsigned long long)br.seq,
		cli_count(br.entries, "entry", "entries", cnt, sizeof(cnt)),
		cli_human_bytes(br.bytes_in, in, sizeof(in)),
		cli_human_bytes(br.bytes_out, out, sizeof(out)));
	code = snap_code;
	if (code == EXIT_PARTIAL)
		cli_errorf(&c, "snapshot %llu is partial: %s skipped (listed above)",
			   (unsigned long long)sr.seq,
			   cli_count(sr.skipped, "entry", "entries", cnt, sizeof(cnt)));
	if (c.progress == PROGRESS_JSON) {
		cJSON *j = cJSON_CreateObject();
		cli_json_add_u64(j, "seq", br.seq);
		cli_json_add_u64(j, "entries", br.entries);
		cli_json_add_u64(j, "bytes_in", br.bytes_in);
		cli_json_add_u64(j, "bytes_out", br.bytes_out);
		cli_json_add_path(j, "output", bo.out_path ? bo.out_path : "-");
		cJSON_AddBoolToObject(j, "partial", code == EXIT_PARTIAL);
		cli_result_event(&c, code, NULL, j);
		cJSON_Delete(j);
	}
out:
	cs_vault_close(v);
	cli_cred_src_close(&src);
	free(excludes);
	return code;
}
