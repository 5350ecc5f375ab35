/* main.c - the clawstate command: the table of commands, top-level help and
 * version, and dispatch by exact name ("did you mean" on typos). */
#include "common.h"
#include "outopts.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* No aliases and no prefix matching: "re" must never mean "restore". */
static const struct cli_command commands[] = {
	{"init", cmd_init, "create a new vault with its first key slot"},
	{"snapshot", cmd_snapshot, "record the state dir in the vault"},
	{"snapshots", cmd_snapshots, "list the vault's snapshots"},
	{"ls", cmd_ls, "list the entries of a snapshot"},
	{"backup", cmd_backup, "write an encrypted backup file"},
	{"restore", cmd_restore, "restore a backup or snapshot into a directory"},
	{"migrate", cmd_migrate, "write a state in the host or Docker layout"},
	{"verify", cmd_verify, "check a backup file or the whole vault"},
	{"chown", cmd_chown, "give a state dir one owner, safely"},
	{"recover", cmd_recover, "settle a directory after an interrupted restore"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: clawstate <command> [options]\n"
		   "       clawstate help <command>\n"
		   "       clawstate --version\n\n"
		   "An encrypted, transactional vault and backup tool for an OpenClaw state dir.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'clawstate <command> --help' for a command's options.\n"
		   "Exit codes: 0 ok, 1 error, 2 usage, 3 partial or differences, 4 integrity,\n"
		   "5 wrong key, 6 exists or busy, 7 unsupported version (clawstate(1)).\n");
}

/* Levenshtein distance, small strings only (command names and typos). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];
	if (la >= 63 || lb >= 63)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const struct cli_command *find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Words that are not commands but that people type where a command goes, and
 * what they mean ("clawstate version" is "clawstate --version"). */
static const struct {
	const char *word, *means;
} near_commands[] = {
	{"help", "help"},
	{"version", "--version"},
};

static int unknown(const char *name)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		size_t d = edit_distance(name, commands[i].name);
		if (d < best_d) {
			best_d = d;
			best = commands[i].name;
		}
	}
	for (size_t i = 0; i < sizeof(near_commands) / sizeof(near_commands[0]); i++) {
		size_t d = edit_distance(name, near_commands[i].word);
		if (d < best_d) {
			best_d = d;
			best = near_commands[i].means;
		}
	}
	fprintf(stderr, "clawstate: unknown command '%s'", name);
	if (best && best_d <= 2 && best_d < strlen(name))
		fprintf(stderr, "; did you mean '%s'?", best);
	fprintf(stderr, "\nRun 'clawstate --help' for the list of commands.\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cs_error err;
	const struct cli_command *cmd;

	/* Everything we create holds or protects secrets: owner-only from the start. */
	umask(077);
	cs_error_clear(&err);
	if (cs_library_init(&err) != CS_OK) {
		fprintf(stderr, "clawstate: %s\n", err.what[0] ? err.what : "library init failed");
		return EXIT_ERROR;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("clawstate %s (backup format %d, vault schema %d)\n", CS_VERSION_STRING,
		       CS_BACKUP_FORMAT, CS_VAULT_SCHEMA);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc == 2) {
			usage(stdout);
			return EXIT_OK;
		}
		if (argc > 3) {
			fprintf(stderr, "clawstate: help: one command at a time\n");
			return EXIT_USAGE;
		}
		if (!(cmd = find(argv[2])))
			return unknown(argv[2]);
		char *hargv[] = {(char *)cmd->name, (char *)"--help", NULL};
		return cmd->fn(2, hargv);
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "clawstate: unknown option '%s' (options go after the command)\n"
				"Run 'clawstate --help' for the list of commands.\n",
			argv[1]);
		return EXIT_USAGE;
	}
	if (!(cmd = find(argv[1])))
		return unknown(argv[1]);
	int code = cmd->fn(argc - 1, argv + 1);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "clawstate: %s: error writing to stdout\n", cmd->name);
		if (code == EXIT_OK)
			code = EXIT_ERROR;
	}
	return code;
}
