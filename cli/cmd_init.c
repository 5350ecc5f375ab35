/* cmd_init.c - "clawstate init": create a vault and its first key slot. */
#include "common.h"

#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: clawstate init [--vault DIR] [--passphrase-file F | --key-file F]\n"
	"                      [--kdf interactive|moderate|sensitive] [--map-size BYTES]";

static const char help[] =
	"Create a new, empty vault: an LMDB environment (0700 dir, 0600 files) with a\n"
	"random vault key pair, wrapped by one key slot for the given credential.\n\n"
	"  --vault DIR             vault directory (default $CLAWSTATE_VAULT, else\n"
	"                          $XDG_STATE_HOME/clawstate, else ~/.local/state/clawstate)\n"
	"  --passphrase-file F     read the passphrase from F ('-' = stdin); default\n"
	"                          $CLAWSTATE_PASSPHRASE_FILE, else a prompt on the terminal\n"
	"  --key-file F            use a 32-byte key file; created (0600) when F does not\n"
	"                          exist; default $CLAWSTATE_KEY_FILE\n"
	"  --kdf PRESET            Argon2id cost for a passphrase slot: interactive,\n"
	"                          moderate (default) or sensitive (about 1 GiB of RAM)\n"
	"  --map-size BYTES        initial LMDB map size (K/M/G suffixes; default 64M);\n"
	"                          the map grows on demand\n"
	"  -h, --help              this help\n";

static const struct option opts[] = {
	{"vault", required_argument, NULL, OPT_VAULT},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"kdf", required_argument, NULL, OPT_KDF},
	{"map-size", required_argument, NULL, OPT_MAP_SIZE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cmd_init(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_vault_create_opts vo = {0};
	struct cs_cred *cred = NULL;
	struct cs_error err;
	char vbuf[4096];
	const char *vault = NULL, *kdf_name = "moderate";
	uint64_t map_size = 0;
	int o, rc, code;

	cli_init(&c, "init", usage);
	cs_error_clear(&err);
	src.tty_fd = -1;
	while ((o = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		switch (o) {
		case OPT_VAULT: vault = optarg; break;
		case OPT_PASSPHRASE_FILE: src.passphrase_file = optarg; break;
		case OPT_KEY_FILE: src.key_file = optarg; break;
		case OPT_KDF: kdf_name = optarg; break;
		case OPT_MAP_SIZE:
			if (cli_parse_size(optarg, &map_size) || map_size == 0 ||
			    map_size > (uint64_t)SIZE_MAX)
				return cli_usage(&c, "--map-size: not a size in bytes: '%s'", optarg);
			break;
		case 'h': return cli_help(&c, help);
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage(&c, "unexpected argument '%s'", argv[optind]);
	int kdf = cs_kdf_parse(kdf_name);
	if (kdf < 0)
		return cli_usage(&c, "--kdf: unknown preset '%s' (interactive, moderate, sensitive)",
				 kdf_name);
	if (!vault && !(vault = cli_default_vault(vbuf, sizeof(vbuf)))) {
		cli_errorf(&c, "no vault dir: set --vault, CLAWSTATE_VAULT or HOME");
		return EXIT_USAGE;
	}
	if ((code = cli_cred_resolve(&c, &src, 0)) != EXIT_OK)
		return code;
	if ((code = cli_cred_load(&c, &src, 1, vault, &cred)) != EXIT_OK)
		goto out;

	vo.dir = vault;
	vo.cred = cred;
	vo.kdf = kdf;
	vo.map_size = (size_t)map_size;
	if ((rc = cs_vault_create(&vo, &err)) != CS_OK) {
		code = cli_fail(&c, rc, &err);
		/* A key file made for a vault that does not exist unlocks nothing. */
		if (src.created && unlink(src.path) != 0)
			cli_errorf(&c, "%s: could not remove the new key file", src.path);
		goto out;
	}

	char id[33] = "";
	struct cs_vault *v = NULL;
	if (cs_vault_open(vault, CS_OPEN_READ, &v, &err) == CS_OK)
		cs_vault_id_hex(v, id);
	cs_vault_close(v);
	if (id[0])
		printf("vault created: %s (id %s)\n", vault, id);
	else
		printf("vault created: %s\n", vault);
	if (cred->kind == CS_CRED_KEYFILE)
		printf("key slot: key file %s\n", strcmp(src.path, "-") ? src.path : "(stdin)");
	else
		printf("key slot: passphrase (Argon2id, %s)\n", kdf_name);
	code = EXIT_OK;
out:
	cs_cred_free(cred);
	cli_cred_src_close(&src);
	return code;
}
