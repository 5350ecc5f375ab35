/*
 * common.h - what the command files share: option parsing helpers, defaults,
 * credential resolution, error/warning/progress output and JSON helpers.
 * Private to cli/; includes nothing of the library but clawstate.h.
 */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include "clawstate.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* Exit codes (docs/EXIT-CODES.md); library codes map through cs_exit_code. */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,
};

/* One command of the table in main.c. */
struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* Long-only option values start here so they never clash with short ones. */
enum {
	OPT_BASE = 0x100,
	OPT_HELP,
	OPT_VAULT,
	OPT_STATE,
	OPT_PASSPHRASE_FILE,
	OPT_KEY_FILE,
	OPT_KDF,
	OPT_MAP_SIZE,
	OPT_TAG,
	OPT_EXCLUDE,
	OPT_JSON,
	OPT_PROGRESS,
	OPT_WAIT,
	OPT_SNAPSHOT,
	OPT_FORCE,
	OPT_TO,
	OPT_REPLACE,
	OPT_NO_KEEP,
	OPT_OWNER,
	OPT_INCLUDE,
	OPT_UID_MAP,
	OPT_GID_MAP,
	OPT_OWNER_BY_NAME,
	OPT_UNMAPPED,
	OPT_DRY_RUN,
	OPT_LAYOUT,
	OPT_WORKSPACE,
	OPT_MEDIA,
	OPT_CONTAINER_HOME,
};

/* Per-invocation state of a command: its name, output modes and counters. */
struct cli {
	const char *cmd;          /* "snapshot" */
	const char *usage;        /* the usage line(s), printed on usage errors */
	int json;                 /* --json: one JSON document on stdout */
	int progress;             /* PROGRESS_* */
	FILE *out;                /* human output: stdout, or stderr when stdout carries data */
	uint64_t warnings;        /* report.warn calls */
	int busy_hint;            /* the command has --wait (unused): say so on "vault busy" */
	/* progress bar state */
	int bar_shown;
	uint64_t last_ns;
	char last_phase[32];
};

enum { PROGRESS_AUTO = 0, PROGRESS_NONE = 1, PROGRESS_TTY = 2, PROGRESS_JSON = 3 };

void cli_init(struct cli *c, const char *cmd, const char *usage);

/*
 * getopt_long wrapper: reports unknown options, missing arguments and
 * abbreviated long options (which getopt_long would accept) as usage errors.
 * Returns the option value, -1 at the end, or '?' after printing the error.
 */
int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
/* Print "clawstate: cmd: <msg>" and the usage line to stderr; returns 2. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the full help (usage plus the text) to stdout; returns 0. */
int cli_help(struct cli *c, const char *text);

/* Print a library error as "clawstate: cmd: path: what"; returns the exit code. */
int cli_fail(struct cli *c, int rc, const struct cs_error *err);
/* Print "clawstate: cmd: <msg>" to stderr (no exit code logic). */
void cli_errorf(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "clawstate: cmd: <path>: <msg>" (the path made printable). */
void cli_path_errorf(struct cli *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill a cs_report with the CLI's warn and progress callbacks. */
void cli_report(struct cli *c, struct cs_report *r);
/* Clear a progress bar line if one is shown. */
void cli_progress_done(struct cli *c);
/*
 * With --progress=json, print the final {"event":"result",...} line: ok, exit
 * code, the error (if any) and the fields of result (may be NULL).
 */
void cli_result_event(struct cli *c, int exit_code, const struct cs_error *err,
		      const cJSON *result);

/* Defaults (DESIGN §7): buf gets the path; returns buf, or NULL when unknown. */
const char *cli_default_state(char *buf, size_t len);
const char *cli_default_vault(char *buf, size_t len);
/* The home OpenClaw itself would use for the state dir's paths (NULL = $HOME). */
const char *cli_openclaw_home(void);

/* Strict numbers: the whole string, decimal, no sign, no overflow. */
int cli_parse_u64(const char *s, uint64_t *out);
/* BYTES with an optional K/M/G/T suffix (powers of 1024, "KiB" etc. too). */
int cli_parse_size(const char *s, uint64_t *out);
/* UID:GID, both decimal and below 2^32-1. */
int cli_parse_owner(const char *s, uint32_t *uid, uint32_t *gid);
/* "latest" or a positive decimal sequence number. */
int cli_valid_snapshot_id(const char *s);

/* ---- Credentials ---- */

/* Where the credential comes from, decided while parsing (before any work). */
struct cli_cred_src {
	const char *passphrase_file; /* --passphrase-file */
	const char *key_file;        /* --key-file */
	int kind;                    /* resolved: CS_CRED_PASSPHRASE or CS_CRED_KEYFILE */
	const char *path;            /* resolved file, "-" for stdin, NULL for the tty */
	int tty_fd;                  /* open /dev/tty when prompting */
	int created;                 /* init: the key file was created by us */
};

/*
 * Decide the credential source: an explicit flag wins over
 * CLAWSTATE_PASSPHRASE_FILE / CLAWSTATE_KEY_FILE (both set without a flag is a
 * usage error); without either a terminal prompt is used.  data_on_stdin: the
 * command reads its data from "-" (then a credential from "-" is a usage
 * error).  Only decides: the terminal is opened by cli_cred_load, after the
 * vault or backup file was opened, so a missing vault is reported first.
 * Returns 0 or an exit code (2) after printing why.
 */
int cli_cred_resolve(struct cli *c, struct cli_cred_src *src, int data_on_stdin);
/*
 * Load the credential.  creating: init (key file created when missing,
 * passphrase asked twice).  prompt_what names what is unlocked (the vault dir
 * or the backup file), in the prompt and in errors about the credential: "no
 * credential" (no file and no terminal, exit 2), mismatched passphrases.
 * Returns 0 or an exit code after printing.
 */
int cli_cred_load(struct cli *c, struct cli_cred_src *src, int creating, const char *prompt_what,
		  struct cs_cred **out);
void cli_cred_src_close(struct cli_cred_src *src);
/* Open a backup input: "-" is stdin (named "stdin"), else the file read-only.
 * On failure prints the error and returns its exit code. */
int cli_open_input(struct cli *c, const char *file, int *fd, const char **name);

/* Open a vault (flags as cs_vault_open) and unlock it with the credential. */
int cli_vault_open(struct cli *c, const char *dir, int flags, struct cli_cred_src *src,
		   struct cs_vault **out);

/* ---- Output helpers ---- */

/* "1 entry", "2 entries": n and the singular or plural word, into buf. */
const char *cli_count(uint64_t n, const char *one, const char *many, char *buf, size_t len);
/* "1.2 MiB" into buf. */
const char *cli_human_bytes(uint64_t n, char *buf, size_t len);
/* A path made printable: invalid UTF-8, control bytes, C1 controls and bidi
 * overrides/isolates as \xNN byte escapes, '\\' doubled. */
void cli_print_path(FILE *f, const char *s);
/* The same into buf (cut short when too long); returns buf. */
const char *cli_printable_path(const char *s, char *buf, size_t len);
/* Is s valid UTF-8 (no overlongs, no surrogates)? */
int cli_utf8_valid(const char *s, size_t len);
/* Add s as "key" when it is UTF-8, else as "key_b64" in base64. */
void cli_json_add_path(cJSON *obj, const char *key, const char *s);
void cli_json_add_u64(cJSON *obj, const char *key, uint64_t v);
/* {"sec":S,"nsec":NS} */
void cli_json_add_time(cJSON *obj, const char *key, int64_t sec, int32_t nsec);
/* Print one JSON document (unformatted) and a newline to stdout; frees it. */
int cli_json_print(struct cli *c, cJSON *doc);
/* One entry as a JSON object (shared by ls and restore --dry-run). */
cJSON *cli_entry_json(const struct cs_entry *e);
/* One entry as an ls line. */
void cli_entry_print(FILE *f, const struct cs_entry *e);
/* The snapshot info as JSON (snapshots --json). */
cJSON *cli_snapshot_info_json(const struct cs_snapshot_info *info);

/* Per-command entry points (cmd_*.c). */
int cmd_init(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_recover(int argc, char **argv);

/* --progress=json|tty|none; returns 0 or -1 for an unknown mode. */
int cli_set_progress(struct cli *c, const char *mode);
/* The usage error for an unknown --progress mode; returns 2. */
int cli_bad_progress(struct cli *c, const char *mode);

/*
 * The source options of snapshot and backup --state: layout is the --layout
 * word (NULL when absent), so->state_dir the --state DIR (NULL when absent),
 * so->workspace_dir, media_dir and container_home the other options.  Sets
 * so->layout and checks the combination.  Returns 0 or 2 after printing why.
 */
int cli_snapshot_source(struct cli *c, const char *layout, struct cs_snapshot_opts *so);
/*
 * Take a snapshot into the open, unlocked vault (snapshot and backup --state)
 * of the source so describes (state dir, tag, excludes, layout; home and
 * report are filled here).  Returns 0, EXIT_PARTIAL (committed, something
 * skipped; res filled) or the exit code of a failure already printed.
 */
int cli_take_snapshot(struct cli *c, struct cs_vault *v, struct cs_snapshot_opts *so,
		      struct cs_snapshot_result *res, struct cs_error *err);

/* Shared by snapshot and backup --state: the human and JSON forms of a result. */
void cli_snapshot_result_print(struct cli *c, const struct cs_snapshot_result *r);
cJSON *cli_snapshot_result_json(const struct cs_snapshot_result *r, int partial);

#endif
