/* cmd_recover.c - "clawstate recover": finish or undo what an interrupted
 * restore left in and beside a directory (a mount-point swap's journal,
 * unfinished staging dirs). */
#include "common.h"

#include <string.h>

static const char usage[] = "usage: clawstate recover DIR [--json]";

static const char help[] =
	"Settle DIR after a restore into it was interrupted (killed, a crash, a power\n"
	"cut).  A restore into a mount point (a Docker volume, a bind mount) swaps\n"
	"DIR's top-level entries under a journal, DIR/.clawstate-journal: recover\n"
	"finishes that swap, so DIR holds the complete new tree (the old one is kept in\n"
	"DIR/.clawstate-old-<seq>/ unless the restore had --no-keep).  Without a\n"
	"journal, unfinished staging dirs in and beside DIR are removed and DIR is left\n"
	"as it was.  The next restore to DIR does the same by itself.  A journal that\n"
	"does not check out is left untouched (exit 4); a restore still running on\n"
	"DIR is busy (exit 6).\n\n"
	"  DIR                     the restore target\n"
	"  --json                  the outcome as one JSON document: dir, journal,\n"
	"                          forward, moved, stale_stages, old_path\n"
	"  -h, --help              this help\n";

static const struct option opts[] = {
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void print_human(const char *dir, const struct cs_recover_result *r)
{
	char n1[48], n2[48];
	if (!r->journal && !r->stale_stages) {
		fputs("nothing to recover in ", stdout);
		cli_print_path(stdout, dir);
		fputc('\n', stdout);
		return;
	}
	if (r->journal) {
		fputs("finished the interrupted swap in ", stdout);
		cli_print_path(stdout, dir);
		printf(" (%s moved)", cli_count(r->moved, "entry", "entries", n1, sizeof(n1)));
		if (r->old_path[0]) {
			fputs("; old tree kept at ", stdout);
			cli_print_path(stdout, r->old_path);
		}
		fputc('\n', stdout);
	}
	if (r->stale_stages) {
		printf("removed %s of interrupted restores to ",
		       cli_count((uint64_t)r->stale_stages, "unfinished staging dir",
				 "unfinished staging dirs", n2, sizeof(n2)));
		cli_print_path(stdout, dir);
		fputc('\n', stdout);
	}
}

int cmd_recover(int argc, char **argv)
{
	struct cli c;
	struct cs_recover_result res;
	struct cs_error err;
	const char *dir = NULL;
	int o, rc;

	cli_init(&c, "recover", usage);
	cs_error_clear(&err);
	while ((o = cli_getopt(&c, argc, argv, ":h", opts)) != -1) {
		switch (o) {
		case OPT_JSON: c.json = 1; break;
		case 'h': return cli_help(&c, help);
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		dir = argv[optind++];
	if (optind < argc)
		return cli_usage(&c, "unexpected argument '%s'", argv[optind]);
	if (!dir)
		return cli_usage(&c, "no DIR given");

	if ((rc = cs_recover(dir, &res, &err)) != CS_OK)
		return cli_fail(&c, rc, &err);
	if (!c.json) {
		print_human(dir, &res);
		return EXIT_OK;
	}
	cJSON *doc = cJSON_CreateObject();
	cli_json_add_path(doc, "dir", dir);
	cJSON_AddBoolToObject(doc, "journal", res.journal != 0);
	cJSON_AddBoolToObject(doc, "forward", res.forward != 0);
	cli_json_add_u64(doc, "moved", res.moved);
	cli_json_add_u64(doc, "stale_stages", (uint64_t)res.stale_stages);
	if (res.old_path[0])
		cli_json_add_path(doc, "old_path", res.old_path);
	else
		cJSON_AddNullToObject(doc, "old_path");
	return cli_json_print(&c, doc);
}
