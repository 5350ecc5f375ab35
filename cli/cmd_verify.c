/* cmd_verify.c - "clawstate verify": decrypt and check a backup file or the
 * whole vault, changing nothing. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: clawstate verify FILE|- [--progress=MODE] [--passphrase-file F | --key-file F]\n"
	"       clawstate verify [--vault DIR] [--progress=MODE] [--passphrase-file F | --key-file F]";

static const char help[] =
	"Decrypt and check everything, write nothing.  A backup file: the header, the\n"
	"key slots, every stream message, the manifest, every member and content hash.\n"
	"The vault (when no FILE is named): every snapshot, entry, data key and chunk.\n"
	"A damaged or tampered input exits 4, a wrong key 5.\n\n"
	"  FILE|-                  the backup file ('-' reads stdin)\n"
	"  --vault DIR             the vault (default $CLAWSTATE_VAULT, else\n"
	"                          $XDG_STATE_HOME/clawstate, else ~/.local/state/clawstate)\n"
	"  --progress=MODE         json: the outcome as an NDJSON result event on stderr;\n"
	"                          tty, none: no progress output (verify draws no bar)\n"
	"  --passphrase-file F     passphrase from F ('-' = stdin, not with FILE '-';\n"
	"                          $CLAWSTATE_PASSPHRASE_FILE)\n"
	"  --key-file F            key file ($CLAWSTATE_KEY_FILE)\n"
	"  -h, --help              this help\n";

static const struct option opts[] = {
	{"vault", required_argument, NULL, OPT_VAULT},
	{"progress", required_argument, NULL, OPT_PROGRESS},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cmd_verify(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_verify_result res;
	struct cs_error err;
	struct cs_vault *v = NULL;
	struct cs_cred *cred = NULL;
	char vbuf[4096], b[32], n1[48], n2[48], n3[48];
	const char *file = NULL, *vault = NULL;
	int o, rc, code, in_fd = -1;

	cli_init(&c, "verify", usage);
	cs_error_clear(&err);
	memset(&res, 0, sizeof(res));
	src.tty_fd = -1;
	while ((o = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		switch (o) {
		case OPT_VAULT: vault = optarg; break;
		case OPT_PROGRESS:
			if (cli_set_progress(&c, optarg))
				return cli_bad_progress(&c, optarg);
			break;
		case OPT_PASSPHRASE_FILE: src.passphrase_file = optarg; break;
		case OPT_KEY_FILE: src.key_file = optarg; break;
		case 'h': return cli_help(&c, help);
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		file = argv[optind++];
	if (optind < argc)
		return cli_usage(&c, "unexpected argument '%s'", argv[optind]);
	if (file && vault)
		return cli_usage(&c, "verify a backup FILE or a --vault, not both");
	if (file && strcmp(file, "-") == 0 && isatty(STDIN_FILENO))
		return cli_usage(&c, "refusing to read a backup from a terminal; pipe it in");
	if (!file && !vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf))))
		return cli_usage(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
	if ((code = cli_cred_resolve(&c, &src, file && strcmp(file, "-") == 0)) != EXIT_OK)
		return code;

	cJSON *j = cJSON_CreateObject();
	if (file) {
		const char *name = file;
		if ((code = cli_open_input(&c, file, &in_fd, &name)) != EXIT_OK)
			goto out;
		if ((code = cli_cred_load(&c, &src, 0, name, &cred)) != EXIT_OK)
			goto out;
		rc = cs_verify_backup(in_fd, name, cred, &res, &err);
		cli_progress_done(&c);
		if (rc != CS_OK) {
			code = cli_fail(&c, rc, &err);
			goto out;
		}
		printf("backup ok: snapshot %llu, %s, %s, %s verified\n",
		       (unsigned long long)res.info.seq,
		       cli_count(res.entries, "entry", "entries", n1, sizeof(n1)),
		       cli_count(res.files, "file", "files", n2, sizeof(n2)),
		       cli_human_bytes(res.bytes, b, sizeof(b)));
		cli_json_add_u64(j, "seq", res.info.seq);
	} else {
		if ((code = cli_vault_open(&c, vault, CS_OPEN_READ, &src, &v)) != EXIT_OK)
			goto out;
		rc = cs_verify_vault(v, &res, &err);
		cli_progress_done(&c);
		if (rc != CS_OK) {
			code = cli_fail(&c, rc, &err);
			goto out;
		}
		printf("vault ok: %s, %s, %s, %s verified\n",
		       cli_count(res.snapshots, "snapshot", "snapshots", n1, sizeof(n1)),
		       cli_count(res.entries, "entry", "entries", n2, sizeof(n2)),
		       cli_count(res.chunks, "chunk", "chunks", n3, sizeof(n3)),
		       cli_human_bytes(res.bytes, b, sizeof(b)));
		cli_json_add_u64(j, "snapshots", res.snapshots);
		cli_json_add_u64(j, "chunks", res.chunks);
	}
	cli_json_add_u64(j, "entries", res.entries);
	cli_json_add_u64(j, "files", res.files);
	cli_json_add_u64(j, "bytes", res.bytes);
	cli_result_event(&c, EXIT_OK, NULL, j);
	code = EXIT_OK;
out:
	cJSON_Delete(j);
	if (in_fd > STDIN_FILENO)
		close(in_fd);
	cs_cred_free(cred);
	cs_vault_close(v);
	cli_cred_src_close(&src);
	return code;
}
