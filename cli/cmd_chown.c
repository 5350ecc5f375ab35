/* cmd_chown.c - "clawstate chown": give a state dir one owner, safely (no
 * symlink followed, no mount crossed, no outside hardlink touched). */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: clawstate chown DIR --owner UID:GID [--from UID[:GID],...] [--secure-modes]\n"
	"                       [--hardlinks] [--dry-run | --check]";

static const char help[] =
	"Give every entry of DIR, DIR included, the owner UID:GID: the safe form of\n"
	"'chown -R'.  Symlinks are changed themselves, never their targets; mount points\n"
	"below DIR are not crossed (named, exit 3); a file with hard links outside DIR is\n"
	"left alone (named, exit 3) unless --hardlinks; setuid/setgid bits are kept.\n"
	"The first entry that cannot be changed stops the walk (exit 1, named); what was\n"
	"changed before it stays changed.\n\n"
	"  DIR                     the tree (an OpenClaw state dir)\n"
	"  --owner UID:GID         the new owner, numeric\n"
	"  --from UID[:GID],...    change only entries now owned by one of these\n"
	"  --secure-modes          also set exactly 0600 on secret files and 0700 on DIR\n"
	"                          and the dirs down to them: credentials/**, identity/**,\n"
	"                          devices/** (dirs below them 0700 too),\n"
	"                          agents/*/agent/*.json (agents, agents/*, agents/*/agent\n"
	"                          0700), .env, openclaw.json*, exec-approvals.json;\n"
	"                          every other mode is kept\n"
	"  --hardlinks             change files with hard links outside DIR too\n"
	"  --dry-run               print each change (path, owner, mode), change nothing\n"
	"  --check                 change nothing; exit 3 naming the first entries that\n"
	"                          differ, 0 when everything is as wanted\n"
	"  -h, --help              this help\n";

enum { OPT_FROM = OPT_BASE + 0x80, OPT_SECURE_MODES, OPT_HARDLINKS, OPT_CHECK };

static const struct option opts[] = {
	{"owner", required_argument, NULL, OPT_OWNER},
	{"from", required_argument, NULL, OPT_FROM},
	{"secure-modes", no_argument, NULL, OPT_SECURE_MODES},
	{"hardlinks", no_argument, NULL, OPT_HARDLINKS},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"check", no_argument, NULL, OPT_CHECK},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

#define MAX_FROM 64
/* --check names this many differing entries, then counts the rest. */
#define CHECK_SHOWN 10

struct chown_out {
	int check;
	uint64_t shown;
};

static void print_change(void *ctx, const struct cs_chown_change *ch)
{
	struct chown_out *out = ctx;
	if (out->check && out->shown++ >= CHECK_SHOWN)
		return;
	if (out->check)
		fputs("differs: ", stdout);
	cli_print_path(stdout, ch->path);
	printf(": %u:%u -> %u:%u", ch->old_uid, ch->old_gid, ch->new_uid, ch->new_gid);
	if (ch->is_symlink)
		printf(", symlink\n");
	else
		printf(", %04o -> %04o\n", ch->old_mode, ch->new_mode);
}

/* UID[:GID],... into the arrays; -1 when it does not parse. */
static int parse_from(const char *s, uint32_t *uids, uint32_t *gids, size_t *n)
{
	char buf[64];
	while (*s) {
		size_t len = strcspn(s, ",");
		uint64_t u, g;
		if (len == 0 || len >= sizeof(buf) || *n == MAX_FROM)
			return -1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		char *colon = strchr(buf, ':');
		if (colon) {
			*colon = '\0';
			if (cli_parse_u64(colon + 1, &g) || g >= UINT32_MAX)
				return -1;
		} else {
			g = CS_CHOWN_ANY_GID;
		}
		if (cli_parse_u64(buf, &u) || u >= UINT32_MAX)
			return -1;
		uids[*n] = (uint32_t)u;
		gids[*n] = (uint32_t)g;
		(*n)++;
		s += len;
		if (*s == ',' && *++s == '\0')
			return -1;
	}
	return *n ? 0 : -1;
}

int cmd_chown(int argc, char **argv)
{
	struct cli c;
	struct cs_chown_opts o;
	struct cs_chown_result res;
	struct cs_error err;
	struct chown_out out = {0};
	uint32_t from_uid[MAX_FROM], from_gid[MAX_FROM];
	char n1[48];
	int have_owner = 0, o_, rc;

	cli_init(&c, "chown", usage);
	cs_error_clear(&err);
	memset(&o, 0, sizeof(o));
	while ((o_ = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		switch (o_) {
		case OPT_OWNER:
			if (cli_parse_owner(optarg, &o.uid, &o.gid))
				return cli_usage(&c, "--owner wants UID:GID, not '%s'", optarg);
			have_owner = 1;
			break;
		case OPT_FROM:
			if (parse_from(optarg, from_uid, from_gid, &o.n_from))
				return cli_usage(&c, "--from wants UID[:GID],..., not '%s'", optarg);
			break;
		case OPT_SECURE_MODES: o.secure_modes = 1; break;
		case OPT_HARDLINKS: o.hardlinks = 1; break;
		case OPT_DRY_RUN: o.dry_run = 1; break;
		case OPT_CHECK: o.check = 1; break;
		case 'h': return cli_help(&c, help);
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		o.dir = argv[optind++];
	if (optind < argc)
		return cli_usage(&c, "unexpected argument '%s'", argv[optind]);
	if (!o.dir)
		return cli_usage(&c, "no DIR given");
	if (!have_owner)
		return cli_usage(&c, "--owner UID:GID is required");
	if (o.dry_run && o.check)
		return cli_usage(&c, "--dry-run and --check do not go together");
	o.from_uid = from_uid;
	o.from_gid = from_gid;
	out.check = o.check;
	if (o.dry_run || o.check) {
		o.change = print_change;
		o.change_ctx = &out;
	}
	cli_report(&c, &o.report);

	rc = cs_chown_tree(&o, &res, &err);
	cli_progress_done(&c);
	if (rc != CS_OK && rc != CS_ERR_PARTIAL && rc != CS_ERR_DIFFERS)
		return cli_fail(&c, rc, &err);
	if (o.check && out.shown > CHECK_SHOWN)
		printf("... and %llu more\n", (unsigned long long)(out.shown - CHECK_SHOWN));
	cli_count(res.entries, "entry", "entries", n1, sizeof(n1));
	if (o.check && rc == CS_OK)
		printf("ok: %s as wanted\n", n1);
	else if (!o.check)
		printf("%s %llu of %s (%llu already as wanted, %llu not owned by --from ids, "
		       "%llu skipped)\n",
		       o.dry_run ? "would change" : "changed", (unsigned long long)res.changed, n1,
		       (unsigned long long)res.unchanged, (unsigned long long)res.filtered,
		       (unsigned long long)res.skipped);
	return rc == CS_OK ? EXIT_OK : cli_fail(&c, rc, &err);
}
