/*
 * clawstate.h - the clawstate library: an encrypted, transactional vault for an
 * OpenClaw state directory, encrypted backup files, and a safe restore writer.
 *
 * This header is the library's whole public interface; the command-line tool in
 * cli/ includes nothing else.  The library never prints and never exits.  Every
 * function that can fail returns CS_OK (0) or one of the negative, pinned codes
 * of enum cs_err, and fills a struct cs_error with the path concerned and a
 * one-line reason.  cs_strerror() names a code; cs_exit_code() maps it onto the
 * command-line exit codes documented in docs/EXIT-CODES.md.
 *
 * On-disk formats are specified in docs/FORMAT.md.  Nothing here writes a file
 * in place: vault records commit through LMDB transactions, backups are written
 * under a temporary name and renamed, restores are staged beside the target and
 * swapped in.
 */
#ifndef CLAWSTATE_H
#define CLAWSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_VERSION_STRING "0.1.0"
/* Vault schema version written by this release (meta key "schema"). */
#define CS_VAULT_SCHEMA 1
/* Backup file format version written and the newest one read. */
#define CS_BACKUP_FORMAT 1

/*
 * Error codes.  The numbers are pinned: they never change meaning between
 * releases.  New codes are only added at the end.
 */
enum cs_err {
	CS_OK = 0,
	CS_ERR_IO = -31001,       /* a system call failed; sys_errno says why    -> exit 1 */
	CS_ERR_NOMEM = -31002,    /* out of memory                               -> exit 1 */
	CS_ERR_USAGE = -31003,    /* invalid argument or combination             -> exit 2 */
	CS_ERR_PARTIAL = -31004,  /* done, but something was skipped             -> exit 3 */
	CS_ERR_CORRUPT = -31005,  /* damaged or tampered data                    -> exit 4 */
	CS_ERR_HOSTILE = -31006,  /* unsafe entry in an archive                  -> exit 4 */
	CS_ERR_KEY = -31007,      /* wrong passphrase or key file                -> exit 5 */
	CS_ERR_EXISTS = -31008,   /* target exists / not empty                   -> exit 6 */
	CS_ERR_BUSY = -31009,     /* vault or target held by another process     -> exit 6 */
	CS_ERR_VERSION = -31010,  /* format or schema newer than supported       -> exit 7 */
	CS_ERR_NOTFOUND = -31011, /* no such vault, snapshot or entry            -> exit 1 */
	CS_ERR_NOSPACE = -31012,  /* not enough free space for the operation     -> exit 1 */
	CS_ERR_DB = -31013,       /* LMDB or SQLite reported an error            -> exit 1 */
	CS_ERR_CRYPTO = -31014,   /* libsodium could not initialise or failed    -> exit 1 */
	CS_ERR_MOUNT = -31015,    /* a mount point a restore would have to move  -> exit 6 */
	CS_ERR_LIVE = -31016,     /* an OpenClaw gateway runs on the target      -> exit 6 */
	CS_ERR_DIFFERS = -31017,  /* a check found differences                   -> exit 3 */
	CS_ERR_UNSUPPORTED = -31018, /* filesystem or operation not supported    -> exit 1 */
	CS_ERR_UNMAPPED = -31019, /* an owner id no map covers (--unmapped fail) -> exit 1 */
};

/*
 * Where and why an operation failed.  path is the file or entry concerned
 * (relative to the state dir or target for tree entries), what a short reason.
 * sys_errno is the errno of the failing system call, or 0.
 */
struct cs_error {
	int code;
	int sys_errno;
	char path[4096];
	char what[256];
};

/* A static, human-readable name for an error code ("integrity failure"). */
const char *cs_strerror(int code);
/* The command-line exit code (0..7) for a library code. */
int cs_exit_code(int code);
/* Reset an error record to CS_OK with empty path and reason. */
void cs_error_clear(struct cs_error *err);

/*
 * Initialise the library once per process: libsodium, and core dumps disabled
 * (secrets live in this process's memory).  Safe to call more than once.
 * Errors: CS_ERR_CRYPTO.
 */
int cs_library_init(struct cs_error *err);

/* ---- Credentials ------------------------------------------------------ */

enum cs_cred_kind {
	CS_CRED_PASSPHRASE = 1, /* Argon2id-derived slot key */
	CS_CRED_KEYFILE = 2,    /* 32 random bytes, BLAKE2b-derived slot key */
};

/* A credential.  secret lives in sodium_malloc memory; free with cs_cred_free. */
struct cs_cred {
	int kind;
	unsigned char *secret;
	size_t len;
};

/*
 * Read a credential from a file descriptor (a passphrase file, a key file or
 * stdin).  For passphrases one trailing newline ("\n" or "\r\n") is stripped;
 * an empty passphrase is CS_ERR_USAGE.  A key file must hold exactly 32 bytes
 * (CS_ERR_KEY otherwise).  name is used in error messages.
 * Errors: CS_ERR_IO, CS_ERR_USAGE, CS_ERR_KEY, CS_ERR_NOMEM.
 */
int cs_cred_read_fd(int kind, int fd, const char *name, struct cs_cred **out,
		    struct cs_error *err);
/* Take a passphrase from a buffer (copied into guarded memory). */
int cs_cred_from_buffer(int kind, const void *buf, size_t len, struct cs_cred **out,
			struct cs_error *err);
/*
 * Create a new key file at path: 32 random bytes, mode 0600, O_EXCL|O_NOFOLLOW,
 * fsynced with its directory.  Errors: CS_ERR_EXISTS, CS_ERR_IO.
 */
int cs_keyfile_create(const char *path, struct cs_error *err);
/* Wipe and free a credential; NULL is ignored. */
void cs_cred_free(struct cs_cred *cred);

/* Argon2id cost presets (libsodium's OPSLIMIT/MEMLIMIT_*). */
enum cs_kdf {
	CS_KDF_INTERACTIVE = 1,
	CS_KDF_MODERATE = 2,
	CS_KDF_SENSITIVE = 3,
};
/* Parse "interactive" | "moderate" | "sensitive"; -1 when unknown. */
int cs_kdf_parse(const char *name);

/* ---- Progress and warnings -------------------------------------------- */

/*
 * Called for every entry a command skips or cannot handle fully (unreadable
 * file, mount point, leftover not rewritten...).  path is relative to the tree.
 */
typedef void (*cs_warn_fn)(void *ctx, const char *path, const char *reason);
/* Called now and then with a phase name and done/total counters (bytes). */
typedef void (*cs_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

struct cs_report {
	cs_warn_fn warn;
	cs_progress_fn progress;
	void *ctx;
};

/* ---- The vault ----------------------------------------------------------- */

struct cs_vault;

struct cs_vault_create_opts {
	const char *dir;            /* created 0700 when missing; must be empty */
	const struct cs_cred *cred; /* first key slot */
	int kdf;                    /* enum cs_kdf, for passphrase slots */
	size_t map_size;            /* initial LMDB map size; 0 = default (64 MiB) */
	int force_fs;               /* accept network/FUSE filesystems */
};

/*
 * Create a new vault: LMDB environment (files 0600, dir 0700), a random vault
 * id, a random X25519 key pair, a chunk-id key and an index key, wrapped by one
 * key slot for cred.  Takes the writer lock while doing so.
 * Errors: CS_ERR_EXISTS (dir holds a vault or other files), CS_ERR_IO,
 * CS_ERR_DB, CS_ERR_BUSY, CS_ERR_UNSUPPORTED (network/FUSE fs), CS_ERR_USAGE.
 * On failure a vault dir created by this call is removed again.
 */
int cs_vault_create(const struct cs_vault_create_opts *opts, struct cs_error *err);

enum cs_open_flags {
	CS_OPEN_READ = 0,      /* reader: never waits, sees one consistent state */
	CS_OPEN_WRITE = 1,     /* take the writer lock (CS_ERR_BUSY "vault busy (pid N)") */
	CS_OPEN_WAIT = 2,      /* with CS_OPEN_WRITE: wait for the lock instead */
	CS_OPEN_FORCE_FS = 4,  /* accept network/FUSE filesystems */
};

/*
 * Open an existing vault.  Upgrades an older schema in one write transaction
 * (writers only; a reader of an older schema gets CS_ERR_VERSION asking for a
 * write first is never needed: readers upgrade too, under the lock).  Clears
 * stale LMDB readers.  The vault is locked (no keys) until cs_vault_unlock.
 * Errors: CS_ERR_NOTFOUND, CS_ERR_BUSY, CS_ERR_VERSION (newer schema),
 * CS_ERR_CORRUPT, CS_ERR_DB, CS_ERR_IO.
 */
int cs_vault_open(const char *dir, int flags, struct cs_vault **out, struct cs_error *err);
/* Try cred against every key slot of its kind.  Errors: CS_ERR_KEY, CS_ERR_CORRUPT. */
int cs_vault_unlock(struct cs_vault *v, const struct cs_cred *cred, struct cs_error *err);
/* Close, wiping keys and releasing the writer lock.  NULL is ignored. */
void cs_vault_close(struct cs_vault *v);
/* The vault id as 32 lowercase hex characters into buf (33 bytes). */
void cs_vault_id_hex(const struct cs_vault *v, char buf[33]);

/* ---- Layouts (docs/FORMAT.md "Layouts") ---------------------------------------- */

/*
 * host: one tree, the state dir at <home>/.openclaw.  docker: the official
 * image's volumes, each a separate dir: config (mounted at
 * <container home>/.openclaw), workspace (at .../.openclaw/workspace) and,
 * optionally, media (at .../.openclaw/media).  CS_LAYOUT_NONE: the tree exactly
 * as recorded, no path rewritten.
 */
enum cs_layout {
	CS_LAYOUT_NONE = 0,
	CS_LAYOUT_HOST = 1,
	CS_LAYOUT_DOCKER = 2,
};
/* "host" | "docker" -> enum cs_layout; -1 when unknown. */
int cs_layout_parse(const char *name);
/* The official image's user: node, uid/gid 1000, home /home/node. */
#define CS_CONTAINER_HOME_DEFAULT "/home/node"
#define CS_CONTAINER_UID 1000
#define CS_CONTAINER_GID 1000
/* cs_restore_opts.volumes: media/ is a volume of its own (docker layout). */
#define CS_VOLUME_MEDIA 1

/* ---- Snapshots ------------------------------------------------------------ */

struct cs_snapshot_opts {
	const char *state_dir;          /* the OpenClaw state dir to read */
	const char *tag;                /* free text, may be NULL */
	const char *const *excludes;    /* fnmatch(3) patterns on relative paths;
	                                   "dir/" excludes a subtree */
	size_t n_excludes;
	const char *home;               /* recorded home; NULL: the parent of a state dir
	                                   named .openclaw (OpenClaw's own place), else
	                                   getenv("HOME") */
	/*
	 * Source layout.  NONE/HOST: state_dir is the whole tree.  DOCKER:
	 * state_dir is the config volume; workspace_dir (required) is recorded as
	 * the subtree workspace/ and media_dir (optional) as media/, replacing
	 * whatever the config volume has under those top-level names (an empty
	 * mount-point dir); the snapshot records layout "docker", home
	 * container_home (NULL = CS_CONTAINER_HOME_DEFAULT) and state dir
	 * <container_home>/.openclaw, the paths the gateway saw.
	 */
	int layout;
	const char *workspace_dir;
	const char *media_dir;
	const char *container_home;
	struct cs_report report;
};

struct cs_snapshot_result {
	uint64_t seq;
	uint64_t entries;       /* every entry recorded (dirs, links, files) */
	uint64_t files;         /* regular files (hardlink names counted once) */
	uint64_t files_read;    /* files whose content was read */
	uint64_t files_reused;  /* files taken from the previous snapshot unread */
	uint64_t bytes_read;
	uint64_t bytes_new;     /* plaintext bytes of chunks not stored before */
	uint64_t chunks_new;
	uint64_t skipped;       /* entries reported through report.warn */
};

/*
 * Walk state_dir and commit a new snapshot (vault opened CS_OPEN_WRITE and
 * unlocked).  The snapshot record commits last: a crash leaves the vault as it
 * was, plus unreferenced chunks.  Unreadable files and mount points inside the
 * state dir are reported through report.warn, the snapshot is committed without
 * them, marked partial, and the call returns CS_ERR_PARTIAL (result filled).
 * Errors: CS_ERR_PARTIAL, CS_ERR_IO, CS_ERR_DB, CS_ERR_NOTFOUND (state dir or
 * volume), CS_ERR_USAGE (state dir inside the vault or the vault inside it; for
 * docker: no workspace_dir, a container_home not absolute and normalised, volumes
 * inside each other, the state dir or the vault; docs/FORMAT.md §5).
 */
int cs_snapshot_create(struct cs_vault *v, const struct cs_snapshot_opts *opts,
		       struct cs_snapshot_result *res, struct cs_error *err);

/* What a snapshot records about its source (also carried by backups). */
struct cs_snapshot_info {
	uint64_t seq;
	int64_t started_sec;
	int32_t started_nsec;
	int64_t finished_sec;
	int32_t finished_nsec;
	char tag[256];
	char state_dir[4096];   /* absolute path of the source state dir */
	char home[4096];        /* $HOME at snapshot time */
	char layout[16];        /* "host" or "docker" (the source's layout) */
	uint32_t uid, gid;      /* owner of the state dir */
	uint32_t root_mode;     /* the state dir's own permission bits */
	int64_t root_mtime_sec; /* and its mtime */
	int32_t root_mtime_nsec;
	char tool_version[32];  /* CS_VERSION_STRING of the writer */
	uint32_t format;        /* CS_BACKUP_FORMAT of the writer */
	uint64_t entries;
	uint64_t files;
	uint64_t bytes;         /* logical bytes of regular files */
	int partial;            /* something was skipped */
};

/*
 * Resolve "latest" or a decimal sequence number to an existing snapshot.
 * Errors: CS_ERR_NOTFOUND, CS_ERR_USAGE (not a number).
 */
int cs_snapshot_resolve(struct cs_vault *v, const char *id, uint64_t *seq,
			struct cs_error *err);
/* Read one snapshot's info (needs the index key: vault unlocked). */
int cs_snapshot_get(struct cs_vault *v, uint64_t seq, struct cs_snapshot_info *info,
		    struct cs_error *err);
/*
 * Call fn for every snapshot, oldest first, inside one read transaction.  A
 * non-zero return from fn stops the walk and is returned.
 */
int cs_snapshot_list(struct cs_vault *v,
		     int (*fn)(void *ctx, const struct cs_snapshot_info *info), void *ctx,
		     struct cs_error *err);

/* ---- Entries (one per path of a snapshot or backup) ---------------------------- */

enum cs_entry_type {
	CS_ENTRY_FILE = 1,
	CS_ENTRY_DIR = 2,
	CS_ENTRY_SYMLINK = 3,
	CS_ENTRY_HARDLINK = 4, /* another name of an earlier CS_ENTRY_FILE (link_target) */
};

enum cs_entry_class {
	CS_CLASS_OTHER = 0,
	CS_CLASS_SECRET = 1,
	CS_CLASS_SESSION = 2,
	CS_CLASS_CONFIG = 3,
	CS_CLASS_WORKSPACE = 4,
	CS_CLASS_MEDIA = 5,
	CS_CLASS_DATABASE = 6,
};
/* "secret", "session", ... */
const char *cs_class_name(int cls);

struct cs_xattr {
	char *name;             /* "user.foo" */
	unsigned char *value;
	size_t len;
};

/*
 * One entry.  path is relative ("credentials/whatsapp/default/creds.json"),
 * bytes, NUL-terminated, and may be non-UTF-8.  For symlinks target is the
 * link text; for hardlinks it is the path of the first name.  hash is the
 * BLAKE2b-256 of the content of regular files (zero otherwise).
 */
struct cs_entry {
	char *path;
	int type;               /* enum cs_entry_type */
	uint32_t mode;          /* permission bits, 07777 */
	uint32_t uid, gid;
	int64_t mtime_sec;
	int32_t mtime_nsec;
	uint64_t size;
	unsigned char hash[32];
	char *target;
	int cls;                /* enum cs_entry_class */
	int is_sqlite;          /* captured through SQLite's backup API */
	size_t n_xattrs;
	struct cs_xattr *xattrs;
};

/*
 * Call fn for every entry of a snapshot, in walk order (a directory before its
 * children, children sorted bytewise).  A non-zero return from fn stops.
 */
int cs_snapshot_entries(struct cs_vault *v, uint64_t seq,
			int (*fn)(void *ctx, const struct cs_entry *e), void *ctx,
			struct cs_error *err);

/* ---- Backups ------------------------------------------------------------------ */

struct cs_backup_opts {
	uint64_t seq;              /* snapshot to write */
	const char *out_path;      /* final name; NULL to write to out_fd */
	int out_fd;                /* used when out_path is NULL (a pipe) */
	int force;                 /* replace an existing out_path */
	struct cs_report report;
};

struct cs_backup_result {
	uint64_t seq;
	uint64_t entries;
	uint64_t bytes_in;         /* logical bytes of file content */
	uint64_t bytes_out;        /* bytes of the backup file */
};

/*
 * Write snapshot seq as one backup file (docs/FORMAT.md "Backup file"): header
 * with the vault's key slots and a file key sealed to the vault public key,
 * then a secretstream over a zstd'd pax tar, manifest first.  With out_path the
 * file is created 0600 O_EXCL under a temporary name in the same directory,
 * fsynced, and renamed with RENAME_NOREPLACE (or over the old file with force);
 * on any failure nothing is left under either name.
 * Errors: CS_ERR_EXISTS (out_path exists, no force), CS_ERR_IO, CS_ERR_DB,
 * CS_ERR_CORRUPT (a vault record failed to verify), CS_ERR_NOTFOUND.
 */
int cs_backup_write(struct cs_vault *v, const struct cs_backup_opts *opts,
		    struct cs_backup_result *res, struct cs_error *err);

/* ---- Restore and verify ---------------------------------------------------------- */

/*
 * An id map (--uid-map / --gid-map): sorted ranges that never overlap; range
 * r maps r.from .. r.from+count-1 onto r.to .. r.to+count-1.  n == 0 is no map.
 */
struct cs_id_range {
	uint32_t from, to;
	uint64_t count;            /* >= 1; from+count-1 and to+count-1 <= 4294967294 */
};
struct cs_id_map {
	struct cs_id_range *ranges;
	size_t n;
};

/* What an id that a map does not cover becomes (--unmapped). */
enum cs_unmapped {
	CS_UNMAPPED_KEEP = 0,  /* the recorded id (the default) */
	CS_UNMAPPED_OWNER = 1, /* owner_uid / owner_gid (have_owner required) */
	CS_UNMAPPED_FAIL = 2,  /* CS_ERR_UNMAPPED before anything is written */
};

/*
 * Parse "FROM:TO[,FROM:TO...]" where FROM is an id or FIRST-LAST
 * ("1000-1999:101000" maps 1000..1999 onto 101000..101999); ids are decimal,
 * at most 4294967294 ((uid_t)-1 means "unchanged" to chown).  flag names the
 * option in messages.  Errors: CS_ERR_USAGE (empty spec or item, bad number,
 * a range ending before it starts or mapping past 4294967294, an id mapped
 * twice), CS_ERR_NOMEM.  On failure *map is empty; else free with
 * cs_id_map_free.
 */
int cs_id_map_parse(const char *spec, const char *flag, struct cs_id_map *map,
		    struct cs_error *err);
/* 1 and *out = the mapped id when map covers id, else 0 (*out untouched). */
int cs_id_map_lookup(const struct cs_id_map *map, uint32_t id, uint32_t *out);
/* Free the ranges and empty the map; NULL is ignored. */
void cs_id_map_free(struct cs_id_map *map);
/* "keep" | "owner" | "fail" -> enum cs_unmapped; -1 when unknown. */
int cs_unmapped_parse(const char *s);
/*
 * Resolve "USER[:GROUP]" on this host (getpwnam_r/getgrnam_r); GROUP defaults
 * to the user's primary group.  Errors: CS_ERR_USAGE naming an unknown user or
 * group, CS_ERR_NOMEM.
 */
int cs_owner_by_name(const char *spec, uint32_t *uid, uint32_t *gid, struct cs_error *err);

/* One path rewrite (restore/migrate with a layout). */
struct cs_rewrite_note {
	const char *path;          /* the entry, relative to the output */
	const char *where;         /* "line 12", "symlink", "table.column (3 rows)" */
	const char *from, *to;     /* the old and new value (SQLite: the prefixes) */
};

struct cs_restore_opts {
	const char *target;        /* --to DIR */
	int replace;               /* allow a non-empty target; keep the old tree */
	int keep_old;              /* with replace: keep DIR.clawstate-old-<seq> (default 1) */
	int force;                 /* replace even while a gateway runs */
	int dry_run;               /* validate and report, write nothing */
	/*
	 * Ownership.  No option: as root every entry gets its recorded uid:gid;
	 * as non-root nothing is chowned (owners_skipped counts the entries whose
	 * recorded ids differ from ours, reported once through report.warn).
	 * With any option the owners are set, also as non-root, where a chown
	 * refused (EPERM) makes the call return CS_ERR_PARTIAL after the restore
	 * completed.  Ids are applied numerically, with or without an account.
	 */
	int have_owner;            /* --owner: alone, every entry gets owner_uid:owner_gid;
	                              with maps only the unmapped ids (unmapped OWNER) */
	uint32_t owner_uid, owner_gid;
	struct cs_id_map uid_map;  /* --uid-map; n == 0: uids are not mapped */
	struct cs_id_map gid_map;  /* --gid-map; n == 0: gids are not mapped */
	int unmapped;              /* enum cs_unmapped, for ids a given map misses;
	                              a kind without a map keeps its ids */
	const char *const *includes; /* restore only these relative subtrees */
	size_t n_includes;
	/*
	 * Layout of the output and path rewriting (docs/FORMAT.md "Path
	 * rewriting").  CS_LAYOUT_NONE: the tree as recorded.  HOST: one tree at
	 * target; paths are rewritten to the new state dir <home>/.openclaw and
	 * the new home (home NULL: the target itself and its parent dir).
	 * DOCKER: target gets config/, workspace/ and (volumes & CS_VOLUME_MEDIA)
	 * media/ as volume dirs; target itself is 0755 and the invoker's; paths
	 * are rewritten to <container_home>/.openclaw and container_home (NULL =
	 * CS_CONTAINER_HOME_DEFAULT).  The old prefixes are the recorded state dir
	 * and home, or from_home/.openclaw and from_home.  Ownership defaults are
	 * the caller's (the CLI: docker -> 1000:1000, host -> owner of --home).
	 */
	int layout;
	const char *home;
	const char *container_home;
	const char *from_home;
	int volumes;
	struct cs_report report;
	/* Dry-run plan output: called for each entry that would be written. */
	void (*plan)(void *ctx, const struct cs_entry *e);
	/* Called for every rewrite made (dry run: that would be made); may be NULL. */
	void (*rewrite)(void *ctx, const struct cs_rewrite_note *n);
};

struct cs_restore_result {
	uint64_t seq;
	uint64_t entries;
	uint64_t files;
	uint64_t bytes;
	int replaced;              /* an old tree was swapped out */
	char old_path[4096];       /* where the old tree was kept ("" if not) */
	int owners_skipped;        /* no ownership option, not root: entries (and the
	                              root dir) whose recorded owner was not applied */
	int owners_failed;         /* ownership option, not root: entries whose chown
	                              was refused (the call returned CS_ERR_PARTIAL) */
	struct cs_snapshot_info info; /* source info from the manifest header */
	/* Path rewriting (layout given): */
	char from_state[4096], to_state[4096]; /* old -> new state dir */
	char from_home[4096], to_home[4096];   /* old -> new home */
	uint64_t rewrites;         /* strings, symlinks and SQLite values rewritten */
	uint64_t files_rewritten;  /* entries changed by them */
	uint64_t leftover_files;   /* files still mentioning an old prefix (reported) */
	uint64_t leftover_mentions;
};

/*
 * Restore a backup read from in_fd (a file or a pipe; name for messages).
 * Checks, in order: magic, format version (CS_ERR_VERSION), header checksum
 * (CS_ERR_CORRUPT), key-slot parameter caps (CS_ERR_CORRUPT), the slots
 * (CS_ERR_KEY); then validates the whole manifest (CS_ERR_HOSTILE naming the
 * entry) before writing, stages the tree beside the target (inside it when it
 * is a mount point: see cs_recover), verifies every hash and the stream's
 * end, makes it durable and swaps it in.  On any failure the target is as it
 * was and the staging dir is removed (after a mount-point swap began: the
 * next restore or cs_recover finishes it).  Every entry's
 * owner is resolved (cs_owner_resolve) before anything, even the staging dir,
 * is created.
 * Errors: the above, plus CS_ERR_EXISTS (non-empty target without replace),
 * CS_ERR_BUSY (another restore to the target), CS_ERR_LIVE, CS_ERR_MOUNT (a
 * top-level entry of a mount-point target is a mount point), CS_ERR_CORRUPT
 * (a mount-point target's journal does not parse),
 * CS_ERR_NOSPACE, CS_ERR_USAGE (includes with replace, cs_owner_opts_check),
 * CS_ERR_UNMAPPED (err->path names the first entry, err->what the id),
 * CS_ERR_IO, and CS_ERR_PARTIAL: restored and swapped in, but a chown was
 * refused (not root, with an ownership option); err->path names the first
 * such entry, res->owners_failed counts them, report.warn said so once.
 */
int cs_restore_backup(int in_fd, const char *in_name, const struct cs_cred *cred,
		      const struct cs_restore_opts *opts, struct cs_restore_result *res,
		      struct cs_error *err);
/* Restore snapshot seq from an unlocked vault, with the same writer. */
int cs_restore_snapshot(struct cs_vault *v, uint64_t seq, const struct cs_restore_opts *opts,
			struct cs_restore_result *res, struct cs_error *err);

/*
 * migrate --state: restore a live state dir (a docker-layout one too, see
 * struct cs_snapshot_opts) straight into opts->target, without a vault of
 * the caller's.  The source is captured first as a snapshot into a throwaway
 * vault in $TMPDIR (default /tmp; a dir "clawstate-migrate.XXXXXX", 0700),
 * encrypted with a random key that only this process holds, so the restore
 * works from one consistent copy (SQLite databases through the backup API)
 * with every check of cs_restore_snapshot; the dir is removed at the end.
 * A kept old tree is named DIR.clawstate-old-0 (.1, ...).  sres gets the
 * capture's counts; a capture that skipped something (unreadable file)
 * still restores and then returns CS_ERR_PARTIAL.  Needs free space in
 * $TMPDIR for the compressed state.
 */
int cs_migrate_state(const struct cs_snapshot_opts *src, const struct cs_restore_opts *opts,
		     struct cs_snapshot_result *sres, struct cs_restore_result *res,
		     struct cs_error *err);
/*
 * Remove the capture dir of a cs_migrate_state that is running in this
 * process, now.  Async-signal-safe: for a SIGINT/SIGTERM handler that then
 * ends the process.  A run killed without it leaves the dir (its key gone
 * with the process); the next cs_migrate_state removes such dirs of the
 * same user whose lock is free.
 */
void cs_migrate_abandon(void);

/*
 * Check the ownership fields of opts: --unmapped other than keep needs a map,
 * --unmapped owner needs have_owner, have_owner with a map needs --unmapped
 * owner.  Errors: CS_ERR_USAGE.
 */
int cs_owner_opts_check(const struct cs_restore_opts *opts, struct cs_error *err);
/* 1 when opts asks for owners (have_owner or a map), else 0. */
int cs_owner_opts_given(const struct cs_restore_opts *opts);
/*
 * The owner an entry recorded as uid:gid gets under opts (see struct
 * cs_restore_opts); path is only used in the error.  Errors: CS_ERR_UNMAPPED
 * ("uid 1234 is not mapped (--unmapped fail)", path = path).
 */
int cs_owner_resolve(const struct cs_restore_opts *opts, const char *path, uint32_t uid,
		     uint32_t gid, uint32_t *out_uid, uint32_t *out_gid, struct cs_error *err);

struct cs_verify_result {
	uint64_t snapshots;
	uint64_t entries;
	uint64_t files;
	uint64_t bytes;
	uint64_t chunks;
	struct cs_snapshot_info info; /* backups: the manifest header */
};

/*
 * Decrypt and check a whole backup (header, slots, every stream message, the
 * manifest, every member against it and every content hash).  Writes nothing.
 */
int cs_verify_backup(int in_fd, const char *in_name, const struct cs_cred *cred,
		     struct cs_verify_result *res, struct cs_error *err);
/*
 * Check every snapshot, entry, data key and referenced chunk of an unlocked
 * vault inside one read transaction.  Changes nothing.
 */
int cs_verify_vault(struct cs_vault *v, struct cs_verify_result *res, struct cs_error *err);

/* ---- Mount-point targets (docs/FORMAT.md "Mount-point swap") ----------------------- */

/*
 * A target that is a mount point (a Docker volume, a bind mount; found with
 * statx STATX_ATTR_MOUNT_ROOT) cannot be swapped with a sibling: a restore
 * stages inside it (DIR/.clawstate-stage-<id>, lock beside it) and moves its
 * top-level entries under a journal (DIR/.clawstate-journal), keeping the old
 * ones in DIR/.clawstate-old-<seq>/.  The next restore to DIR, or cs_recover,
 * finishes an interrupted swap: forward when the journal was committed (the
 * staged tree was complete and durable), else the staging dir is removed.
 */
struct cs_recover_result {
	int journal;               /* a journal was found */
	int forward;               /* the swap was finished (else nothing to do) */
	uint64_t moved;            /* top-level entries moved by this call */
	int stale_stages;          /* unfinished staging dirs removed */
	char old_path[4096];       /* where the old tree is kept ("" if not) */
};
/*
 * Settle dir after a crash: settle the runs that staged beside it (as the next
 * restore would), replay its journal, remove stale staging dirs inside it
 * (never one whose lock a live process holds: CS_ERR_BUSY).  A dir with
 * nothing to settle is CS_OK with res zeroed.  Errors: CS_ERR_NOTFOUND,
 * CS_ERR_USAGE (not a directory), CS_ERR_CORRUPT (a journal that does not
 * parse, naming line and reason; the dir is left as it is), CS_ERR_BUSY,
 * CS_ERR_MOUNT (an entry to move is a mount point), CS_ERR_EXISTS (a name to
 * move into is taken), CS_ERR_IO.
 */
int cs_recover(const char *dir, struct cs_recover_result *res, struct cs_error *err);

/* ---- Ownership fixing (clawstate chown) ------------------------------------------ */

/* In cs_chown_opts.from_gid: the entry's group does not matter. */
#define CS_CHOWN_ANY_GID UINT32_MAX

/* One change cs_chown_tree makes (or, with dry_run/check, would make). */
struct cs_chown_change {
	const char *path;          /* relative to dir; "." for dir itself */
	uint32_t old_uid, old_gid;
	uint32_t new_uid, new_gid;
	uint32_t old_mode, new_mode; /* permission bits, 07777 */
	int is_symlink;            /* modes do not apply */
};

struct cs_chown_opts {
	const char *dir;           /* the tree; dir itself is changed too */
	uint32_t uid, gid;         /* the new owner */
	const uint32_t *from_uid;  /* with n_from > 0: touch only entries owned by */
	const uint32_t *from_gid;  /* from_uid[i] and from_gid[i] (or CS_CHOWN_ANY_GID) */
	size_t n_from;
	int secure_modes;          /* 0600 secret files, 0700 dirs down to them */
	int hardlinks;             /* change files with links outside the tree too */
	int dry_run;               /* change nothing; report each change */
	int check;                 /* change nothing; count differences */
	struct cs_report report;   /* skipped entries */
	void (*change)(void *ctx, const struct cs_chown_change *c); /* may be NULL */
	void *change_ctx;
};

struct cs_chown_result {
	uint64_t entries;          /* entries examined, dir included */
	uint64_t changed;          /* changed (dry_run: would be) */
	uint64_t unchanged;        /* already as wanted */
	uint64_t filtered;         /* left alone: not owned by a from id */
	uint64_t differ;           /* check: not as wanted */
	uint64_t skipped;          /* reported through report.warn */
};

/*
 * Give every entry of the tree at dir the owner uid:gid, like chown -R, but
 * safely: the walk goes by file descriptor, iteratively and with a bounded
 * number of open fds; a symlink is changed itself, never its target; a
 * directory that is a mount point (statx STATX_ATTR_MOUNT_ROOT) is reported
 * "mount point, not crossed" and left alone; a regular file with more links
 * than the names the walk found for it is reported "has N links outside the
 * tree" and left alone unless hardlinks; setuid/setgid bits cleared by chown
 * are written back exactly.  With secure_modes, secret files (relative to
 * dir: every file below credentials/, identity/ and devices/, the files
 * agents/NAME/agent/NAME.json, .env, openclaw.json and openclaw.json.ANY at the
 * top, exec-approvals.json) become exactly 0600, and dir, credentials,
 * identity, devices and every dir below them, agents, agents/NAME and
 * agents/NAME/agent exactly 0700; other modes are kept.  change is called
 * for every entry that differs, before it is changed.
 * Returns CS_OK; CS_ERR_DIFFERS (check: something differs); CS_ERR_PARTIAL
 * (something was skipped, the rest done).  Errors: CS_ERR_USAGE, CS_ERR_NOTFOUND
 * (dir), CS_ERR_IO naming the entry (e.g. "chown: Operation not permitted"):
 * the walk stops there, entries changed before it stay changed, r is filled
 * up to that point.
 */
int cs_chown_tree(const struct cs_chown_opts *o, struct cs_chown_result *r,
		  struct cs_error *err);

/* ---- Test seam ------------------------------------------------------------------ */

/*
 * Crash and fault points.  When the environment variable
 * CLAWSTATE_TEST_KILL_AT=N is set, the process raises SIGKILL at the N-th
 * durable step (write, fsync or rename counted by cs_test_point).  With
 * CLAWSTATE_TEST_COUNT=FILE, the number of points reached is written to FILE
 * at exit.  CLAWSTATE_TEST_EACCES=SUBSTR makes opening any source file whose
 * relative path contains SUBSTR fail with EACCES.  Used by tests only.
 */
void cs_test_point(const char *what);

#ifdef __cplusplus
}
#endif
#endif
