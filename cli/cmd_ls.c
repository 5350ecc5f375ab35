/* cmd_ls.c - "clawstate ls": list the entries of one snapshot. */
#include "common.h"

#include <string.h>

static const char usage[] =
	"usage: clawstate ls [SNAPSHOT] [--vault DIR] [--json] [--passphrase-file F | --key-file F]";

static const char help[] =
	"List every entry of a snapshot in walk order: mode, owner, size, mtime, path\n"
	"(symlinks as 'path -> target', extra hardlink names as 'path => first name').\n"
	"Bytes that are not printable UTF-8 are shown as \\xNN.\n\n"
	"  SNAPSHOT                sequence number or 'latest' (default)\n"
	"  --vault DIR             vault (default $CLAWSTATE_VAULT, else\n"
	"                          $XDG_STATE_HOME/clawstate, else ~/.local/state/clawstate)\n"
	"  --json                  {\"seq\":N,\"entries\":[{path, type, mode, uid, gid, mtime,\n"
	"                          size, blake2b, target, class, ...}]}; names that are not\n"
	"                          UTF-8 come as \"path_b64\" (base64)\n"
	"  --passphrase-file F     passphrase from F ('-' = stdin; $CLAWSTATE_PASSPHRASE_FILE)\n"
	"  --key-file F            key file ($CLAWSTATE_KEY_FILE)\n"
	"  -h, --help              this help\n";

static const struct option opts[] = {
	{"vault", required_argument, NULL, OPT_VAULT},
	{"json", no_argument, NULL, OPT_JSON},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct ls_ctx {
	struct cli *c;
	uint64_t n;
};

/* Entries are streamed: a snapshot may hold millions, the document is still one. */
static int on_entry(void *ctx, const struct cs_entry *e)
{
	struct ls_ctx *l = ctx;
	if (!l->c->json) {
		cli_entry_print(stdout, e);
	} else {
		cJSON *o = cli_entry_json(e);
		char *s = o ? cJSON_PrintUnformatted(o) : NULL;
		cJSON_Delete(o);
		if (!s)
			return CS_ERR_NOMEM;
		if (l->n)
			fputc(',', stdout);
		fputs(s, stdout);
		cJSON_free(s);
	}
	l->n++;
	return ferror(stdout) ? CS_ERR_IO : 0;
}

int cmd_ls(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_error err;
	struct cs_vault *v = NULL;
	struct ls_ctx l = {0};
	char vbuf[4096];
	const char *vault = NULL, *id = "latest";
	uint64_t seq;
	int o, rc, code;

	cli_init(&c, "ls", usage);
	cs_error_clear(&err);
	src.tty_fd = -1;
	while ((o = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		switch (o) {
		case OPT_VAULT: vault = optarg; break;
		case OPT_JSON: c.json = 1; break;
		case OPT_PASSPHRASE_FILE: src.passphrase_file = optarg; break;
		case OPT_KEY_FILE: src.key_file = optarg; break;
		case 'h': return cli_help(&c, help);
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		id = argv[optind++];
	if (optind < argc)
		return cli_usage(&c, "unexpected argument '%s'", argv[optind]);
	if (!cli_valid_snapshot_id(id))
		return cli_usage(&c, "not a snapshot id: '%s' (a sequence number or 'latest')", id);
	if (!vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf))))
		return cli_usage(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
	if ((code = cli_cred_resolve(&c, &src, 0)) != EXIT_OK)
		return code;
	if ((code = cli_vault_open(&c, vault, CS_OPEN_READ, &src, &v)) != EXIT_OK)
		goto out;
	if ((rc = cs_snapshot_resolve(v, id, &seq, &err)) != CS_OK) {
		code = cli_fail(&c, rc, &err);
		goto out;
	}
	l.c = &c;
	if (c.json)
		printf("{\"seq\":%llu,\"entries\":[", (unsigned long long)seq);
	rc = cs_snapshot_entries(v, seq, on_entry, &l, &err);
	/* A failed listing must not look like a complete document. */
	if (c.json)
		fputs(rc == CS_OK ? "]}\n" : "\n", stdout);
	if (rc != CS_OK) {
		if (rc == CS_ERR_IO && !err.what[0])
			snprintf(err.what, sizeof(err.what), "error writing to stdout");
		code = cli_fail(&c, rc, &err);
		goto out;
	}
out:
	cs_vault_close(v);
	cli_cred_src_close(&src);
	return code;
}
