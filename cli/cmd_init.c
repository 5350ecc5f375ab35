/* cmd_init.c - "clawstate init": create a vault and its first key slot. */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: clawstate init [--vault DIR] [--passphrase-file F | --key-file F]\n"
	"                      [--kdf interactive|moderate|sensitive] [--map-size BYTES]\n"
	"                      [--state DIR]";

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
	"  --map-size BYTES        initial LMDB map size (K/M/G/T suffixes; default 64M);\n"
	"                          the map grows on demand\n"
	"  --state DIR             the state dir the vault is for (default as for\n"
	"                          snapshot: $OPENCLAW_STATE_DIR, else\n"
	"                          $OPENCLAW_HOME/.openclaw, else ~/.openclaw); a vault\n"
	"                          inside it, or containing it, is refused (exit 2)\n"
	"  -h, --help              this help\n";

static const struct option opts[] = {
	{"vault", required_argument, NULL, OPT_VAULT},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"kdf", required_argument, NULL, OPT_KDF},
	{"map-size", required_argument, NULL, OPT_MAP_SIZE},
	{"state", required_argument, NULL, OPT_STATE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/*
 * p made absolute and resolved as realpath(3) does, also when its last
 * components do not exist yet (a vault about to be created).  Returns 0, or
 * -1 when it cannot be resolved (then nothing is checked).
 */
static int resolve_path(const char *p, char *out, size_t len)
{
	char buf[PATH_MAX], tail[PATH_MAX] = "", real[PATH_MAX], cwd[PATH_MAX];
	int n;

	if (p[0] == '/')
		n = snprintf(buf, sizeof(buf), "%s", p);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(buf, sizeof(buf), "%s/%s", cwd, p);
	else
		return -1;
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	/* Strip components off the end until what is left exists. */
	while (!realpath(buf, real)) {
		if (errno != ENOENT)
			return -1;
		char *slash = strrchr(buf, '/');
		char t[PATH_MAX];
		if (!slash)
			return -1;
		n = snprintf(t, sizeof(t), "%s/%s", slash + 1, tail);
		if (n < 0 || (size_t)n >= sizeof(t))
			return -1;
		memcpy(tail, t, (size_t)n + 1);
		if (slash == buf)
			slash[1] = '\0'; /* "/" always exists */
		else
			*slash = '\0';
	}
	if (strlen(real) >= len)
		return -1;
	strcpy(out, real);
	/* Append the missing components: "." and "" skipped, ".." goes up. */
	for (char *save = NULL, *c = strtok_r(tail, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		size_t ol = strlen(out);
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			char *slash = strrchr(out, '/');
			if (slash == out)
				out[1] = '\0';
			else if (slash)
				*slash = '\0';
			continue;
		}
		if (ol + 1 + strlen(c) + 1 > len)
			return -1;
		snprintf(out + ol, len - ol, "%s%s", strcmp(out, "/") ? "/" : "", c);
	}
	return 0;
}

/* Is a the same as b or below it (both absolute and resolved)? */
static int path_inside(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (n == 1 && b[0] == '/')
		return 1;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/*
 * snapshot refuses a vault inside the state dir (or around it): refuse that
 * vault at init already.  Returns 0, or 2 after printing why.
 */
static int check_vault_place(struct cli *c, const char *vault, const char *state)
{
	char va[PATH_MAX], sa[PATH_MAX], shown[PATH_MAX];
	if (!state || resolve_path(vault, va, sizeof(va)) || resolve_path(state, sa, sizeof(sa)))
		return EXIT_OK;
	cli_printable_path(sa, shown, sizeof(shown));
	if (path_inside(va, sa)) {
		cli_path_errorf(c, vault, "inside the state dir %s, which snapshot refuses; choose "
				"a --vault outside it (or name the state dir with --state)", shown);
		return EXIT_USAGE;
	}
	if (path_inside(sa, va)) {
		cli_path_errorf(c, vault, "contains the state dir %s, which snapshot refuses; "
				"choose a --vault outside it (or name the state dir with --state)", shown);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
	struct cli c;
	struct cli_cred_src src = {0};
	struct cs_vault_create_opts vo = {0};
	struct cs_cred *cred = NULL;
	struct cs_error err;
	char vbuf[4096], sbuf[4096];
	const char *vault = NULL, *state = NULL, *kdf_name = "moderate";
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
		case OPT_STATE: state = optarg; break;
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
	if (!state)
		state = cli_default_state(sbuf, sizeof(sbuf)); /* unknown: nothing to check */
	if ((code = check_vault_place(&c, vault, state)) != EXIT_OK)
		return code;
	/* An existing vault is refused before asking for (or creating) a credential;
	 * cs_vault_create checks again, under the lock. */
	struct cs_vault *old = NULL;
	if (cs_vault_open(vault, CS_OPEN_READ, &old, &err) == CS_OK) {
		cs_vault_close(old);
		cs_error_clear(&err);
		err.code = CS_ERR_EXISTS;
		snprintf(err.path, sizeof(err.path), "%s", vault);
		snprintf(err.what, sizeof(err.what), "a vault exists here");
		return cli_fail(&c, CS_ERR_EXISTS, &err);
	}
	cs_error_clear(&err);
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
