/* cmd_snapshots.c - "clawstate snapshots": list the vault's snapshots. */
#include "common.h"

#include <time.h>

static const char usage[] =
	"usage: clawstate snapshots [--vault DIR] [--json] [--passphrase-file F | --key-file F]";

static const char help[] =
	"List the vault's snapshots, oldest first.  A reader: never waits for a writer\n"
	"and always sees one consistent vault.\n\n"
	"  --vault DIR             vault (default $CLAWSTATE_VAULT, else\n"
	"                          $XDG_STATE_HOME/clawstate, else ~/.local/state/clawstate)\n"
	"  --json                  {\"vault_id\":..,\"snapshots\":[{seq, started, finished, tag,\n"
	"                          state_dir, home, layout, uid, gid, entries, files, bytes,\n"
	"                          partial}]}\n"
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

struct list_ctx {
	struct cli *c;
	cJSON *array;
	uint64_t n;
};

static int on_snapshot(void *ctx, const struct cs_snapshot_info *in)
{
	struct list_ctx *l = ctx;
	l->n++;
	if (l->c->json) {
		cJSON_AddItemToArray(l->array, cli_snapshot_info_json(in));
		return 0;
	}
	if (l->n == 1)
		printf("%6s  %-19s  %8s  %8s  %10s  %s\n", "SEQ", "FINISHED", "ENTRIES", "FILES",
		       "SIZE", "TAG");
	char when[32], size[32];
	struct tm tm;
	time_t t = (time_t)in->finished_sec;
	if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof(when), "@%lld", (long long)in->finished_sec);
	printf("%6llu  %-19s  %8llu  %8llu  %10s  ", (unsigned long long)in->seq, when,
	       (unsigned long long)in->entries, (unsigned long long)in->files,
	       cli_human_bytes(in->bytes, size, sizeof(size)));
	cli_print_path(stdout, in->tag);
	fputs(in->partial ? (in->tag[0] ? " (partial)\n" : "(partial)\n") : "\n", stdout);
	return 0;
}

int cmd_snapshots(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_error err;
	struct cs_vault *v = NULL;
	struct list_ctx l = {0};
	char vbuf[4096], id[33];
	const char *vault = NULL;
	int o, rc, code;

	cli_init(&c, "snapshots", usage);
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
		return cli_usage(&c, "unexpected argument '%s'", argv[optind]);
	if (!vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf))))
		return cli_usage(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
	if ((code = cli_cred_resolve(&c, &src, 0)) != EXIT_OK)
		return code;
	if ((code = cli_vault_open(&c, vault, CS_OPEN_READ, &src, &v)) != EXIT_OK)
		goto out;
	l.c = &c;
	l.array = cJSON_CreateArray();
	if ((rc = cs_snapshot_list(v, on_snapshot, &l, &err)) != CS_OK) {
		code = cli_fail(&c, rc, &err);
		goto out;
	}
	if (c.json) {
		cJSON *doc = cJSON_CreateObject();
		cs_vault_id_hex(v, id);
		cJSON_AddStringToObject(doc, "vault_id", id);
		cJSON_AddItemToObject(doc, "snapshots", l.array);
		l.array = NULL;
		code = cli_json_print(&c, doc);
	} else if (l.n == 0) {
		printf("no snapshots yet (run 'clawstate snapshot')\n");
	}
out:
	cJSON_Delete(l.array);
	cs_vault_close(v);
	cli_cred_src_close(&src);
	return code;
}
