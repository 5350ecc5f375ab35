/*
 * internal.h - interfaces between the library's modules.  Not installed; cli/
 * never includes it.  Each section names the .c file that implements it.
 */
#ifndef CLAWSTATE_INTERNAL_H
#define CLAWSTATE_INTERNAL_H

#include "clawstate.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>

#define CS_VAULT_ID_BYTES 16
#define CS_KEY_BYTES 32
#define CS_HASH_BYTES 32
#define CS_AEAD_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define CS_AEAD_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES      /* 16 */
#define CS_AEAD_OVERHEAD (CS_AEAD_NONCE_BYTES + CS_AEAD_TAG_BYTES)

/* Caps from DESIGN §6, checked on every input we did not write ourselves. */
#define CS_CAP_PATH 4095
#define CS_CAP_NAME 255
#define CS_CAP_DEPTH 256
#define CS_CAP_ENTRIES 10000000ULL
#define CS_CAP_MANIFEST (256ULL << 20)
#define CS_CAP_XATTRS 64          /* xattrs per entry */
#define CS_CAP_XATTR_VALUE 65536
#define CS_CAP_ZSTD_WINDOW_LOG 23
/* Argon2 parameters a slot may ask for before we refuse to derive (DESIGN §4). */
#define CS_CAP_ARGON_MEM (1ULL << 30)
#define CS_CAP_ARGON_OPS 16ULL

/* ---- error.c ------------------------------------------------------------------ */

/* Fill err (code, path, printf reason); returns code.  path may be NULL. */
int cs_err_set(struct cs_error *err, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* From errno: code CS_ERR_IO (ENOSPC/EDQUOT -> CS_ERR_NOSPACE), reason
 * "what: strerror(errno)".  Returns the code. */
int cs_err_sys(struct cs_error *err, const char *path, const char *what);
/* From an LMDB return code: CS_ERR_DB "what: mdb_strerror" (ENOSPC mapped). */
int cs_err_mdb(struct cs_error *err, int mdb_rc, const char *what);
/* Report path to warn with the reason "what: strerror(e)". */
void cs_warn_errno(cs_warn_fn warn, void *ctx, const char *path, const char *what, int e);

/* ---- testpoint.c: see cs_test_point in clawstate.h ------------------------------- */

/* Returns true when open of the relative source path should fail with EACCES
 * (CLAWSTATE_TEST_EACCES). */
bool cs_test_eacces(const char *relpath);

/* ---- fsutil.c: small, careful file-system helpers ---------------------------------- */

/* write(2) until done; EINTR retried.  Each call is a test point. */
int cs_write_all(int fd, const void *buf, size_t len, const char *path, struct cs_error *err);
/* read(2) up to len bytes, short only at EOF; *got set. */
int cs_read_full(int fd, void *buf, size_t len, size_t *got, const char *path,
		 struct cs_error *err);
/* fsync(2) with error naming path; a test point. */
int cs_fsync(int fd, const char *path, struct cs_error *err);
/* Open dir path O_DIRECTORY and fsync it. */
int cs_fsync_dir(const char *dir, struct cs_error *err);
/* close(2), error checked; fd < 0 ignored.  Sets *fd = -1. */
int cs_close(int *fd, const char *path, struct cs_error *err);
/* Remove the tree at dirfd/name (no symlink is followed, no mount crossed). */
int cs_rm_tree_at(int dirfd, const char *name, const char *path_for_errors,
		  struct cs_error *err);
/* cs_dir_foreach's fn returns this to end the listing early with CS_OK. */
#define CS_DIR_STOP 1
/* Call fn(ctx, dfd, name, err) for every entry of the open directory dfd but "."
 * and "..".  The listing reads a dup of dfd, which stays open, and always
 * starts from the first entry (the dup shares dfd's position, so it is
 * rewound): listing the same dfd twice sees every entry twice.  fn returns CS_OK to go on, CS_DIR_STOP
 * to stop with CS_OK, or an error code to stop with it.  path names the
 * directory in errors ("dup", "opendir", and read_what for a failed readdir,
 * NULL meaning "readdir"); err may be NULL. */
int cs_dir_foreach(int dfd, const char *path, const char *read_what,
		   int (*fn)(void *ctx, int dfd, const char *name, struct cs_error *err), void *ctx,
		   struct cs_error *err);
/* Is dirfd/name (no follow) the root of a mount?  statx STATX_ATTR_MOUNT_ROOT,
 * falling back to comparing st_dev with the parent. */
int cs_is_mount_root(int dirfd, const char *name, bool *is_root, struct cs_error *err);
/* Is anything mounted strictly below the absolute, resolved dir (mountinfo)?
 * *found and the first such mount point in first.  No /proc: CS_OK, not found. */
int cs_mount_below(const char *dir, char *first, size_t len, bool *found, struct cs_error *err);
/* Make dir and its missing parents with mode (like mkdir -p). */
int cs_mkdir_p(const char *dir, mode_t mode, struct cs_error *err);
/* Split "a/b/c" into dirname "a/b" and basename "c" (buffers of PATH_MAX). */
void cs_path_split(const char *path, char *dir, char *base);
/* Absolute, normalised form of path: realpath of its parent, then its last
 * component as it is (never followed, need not exist; "." and ".." resolved).
 * out is PATH_MAX. */
int cs_path_absolute(const char *path, char *out, struct cs_error *err);
/* Compare two relative paths in walk order: component-wise bytewise, which is
 * bytewise with '/' sorting before every other byte. */
int cs_path_cmp(const char *a, const char *b);

/* ---- crypto.c ------------------------------------------------------------------ */

/* The vault's long-term secrets, in sodium_malloc memory. */
struct cs_master {
	unsigned char sk[crypto_box_SECRETKEYBYTES]; /* X25519 secret */
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char chunk_key[CS_KEY_BYTES];      /* keyed BLAKE2b chunk ids */
	unsigned char index_key[CS_KEY_BYTES];      /* snapshot records and entries */
};
#define CS_MASTER_BYTES (sizeof(struct cs_master)) /* 128 */

struct cs_master *cs_master_new(void); /* sodium_malloc'd, zeroed; NULL on ENOMEM */
void cs_master_generate(struct cs_master *m);
void cs_master_free(struct cs_master *m); /* wipes; NULL ignored */
/* Guarded buffer for a data key or slot key. */
unsigned char *cs_secret_alloc(size_t len);
void cs_secret_free(void *p);

/* XChaCha20-Poly1305: out = nonce(24) || ciphertext || tag(16), out has
 * len + CS_AEAD_OVERHEAD bytes.  Random nonce. */
void cs_aead_seal(const unsigned char key[CS_KEY_BYTES], const unsigned char *ad, size_t adlen,
		  const void *pt, size_t len, unsigned char *out);
/* Inverse; CS_ERR_CORRUPT "authentication failed" on a bad tag or short input.
 * pt has inlen - CS_AEAD_OVERHEAD bytes. */
int cs_aead_open(const unsigned char key[CS_KEY_BYTES], const unsigned char *ad, size_t adlen,
		 const unsigned char *in, size_t inlen, void *pt, const char *what,
		 struct cs_error *err);
/* Keyed BLAKE2b-256 chunk id. */
void cs_chunk_id(const unsigned char key[CS_KEY_BYTES], const void *data, size_t len,
		 unsigned char id[CS_HASH_BYTES]);
/* Plain BLAKE2b-256 streaming content hash (manifest "blake2b"). */
typedef crypto_generichash_state cs_hash_state;
void cs_hash_init(cs_hash_state *st);
void cs_hash_update(cs_hash_state *st, const void *data, size_t len);
void cs_hash_final(cs_hash_state *st, unsigned char out[CS_HASH_BYTES]);
/* Lowercase hex of len bytes into out (2*len+1). */
void cs_hex(const unsigned char *in, size_t len, char *out);
/* Parse exactly 2*len hex chars; -1 on error. */
int cs_unhex(const char *in, unsigned char *out, size_t len);

/* ---- keyslot.c: key slots (shared by the vault and backup headers) --------------- */

enum cs_slot_role { CS_SLOT_FULL = 1 /* later: CS_SLOT_WRITER = 2 */ };

struct cs_slot {
	uint32_t id;
	uint8_t kind;          /* enum cs_cred_kind */
	uint8_t role;          /* enum cs_slot_role */
	uint64_t opslimit;     /* Argon2id; 0 for key-file slots */
	uint64_t memlimit;
	unsigned char salt[16];
	unsigned char wrapped[CS_MASTER_BYTES + CS_AEAD_OVERHEAD];
};
#define CS_SLOT_ENCODED_BYTES (4 + 1 + 1 + 2 + 8 + 8 + 16 + CS_MASTER_BYTES + CS_AEAD_OVERHEAD)

/* Wrap m for cred into a new slot.  kdf picks the Argon2 preset (passphrases). */
int cs_slot_create(const unsigned char vault_id[CS_VAULT_ID_BYTES], uint32_t slot_id,
		   const struct cs_cred *cred, int kdf, const struct cs_master *m,
		   struct cs_slot *out, struct cs_error *err);
/* Argon2id work all passphrase slots of one header or vault may ask for
 * together, in MiB x passes: four slots at the per-slot cap.  Unlocking tries
 * every slot, so a header of 32 slots at the cap must not cost 32 derivations. */
#define CS_CAP_ARGON_TOTAL (4ULL * (CS_CAP_ARGON_MEM >> 20) * CS_CAP_ARGON_OPS)
/* CS_ERR_CORRUPT when the slots together exceed CS_CAP_ARGON_TOTAL. */
int cs_slots_check_total(const struct cs_slot *slots, size_t n, struct cs_error *err);
/* CS_ERR_CORRUPT when a stored slot asks for more than the caps or is malformed. */
int cs_slot_check(const struct cs_slot *s, struct cs_error *err);
/* Unwrap into m.  CS_ERR_KEY when cred does not open it. Checks caps first. */
int cs_slot_open(const unsigned char vault_id[CS_VAULT_ID_BYTES], const struct cs_slot *s,
		 const struct cs_cred *cred, struct cs_master *m, struct cs_error *err);
void cs_slot_encode(const struct cs_slot *s, unsigned char out[CS_SLOT_ENCODED_BYTES]);
/* Layout only (length, reserved bytes: CS_ERR_CORRUPT); the caps are cs_slot_check's. */
int cs_slot_decode(const unsigned char *in, size_t len, struct cs_slot *s, struct cs_error *err);

/* ---- store.c + vault.c: the LMDB environment ---------------------------------------- */

struct cs_dkcache; /* chunkstore.c: unsealed data keys */

struct cs_vault {
	char dir[4096];
	MDB_env *env;
	MDB_dbi db_meta;       /* "schema", "vault_id", "epoch", "next_slot", ... */
	MDB_dbi db_keyslots;   /* u32 BE slot id -> encoded cs_slot */
	MDB_dbi db_snapshots;  /* u64 BE seq -> sealed snapshot record */
	MDB_dbi db_entries;    /* u64 BE seq || u64 BE index -> sealed entry */
	MDB_dbi db_chunks;     /* chunk id (32) -> chunk record */
	MDB_dbi db_datakeys;   /* u64 BE data-key id -> sealed data key */
	MDB_dbi db_journal;    /* resumable operations (key rotation, later) */
	int lock_fd;           /* writer lock file, -1 for readers */
	bool writable;
	unsigned char id[CS_VAULT_ID_BYTES];
	uint32_t epoch;
	size_t map_size;
	struct cs_master *master; /* NULL until unlocked */
	struct cs_dkcache *dkcache;
	uintptr_t map_lo, map_hi; /* the data file's read-only mapping (cs_store_release) */
};

/* Adopts a map another process grew (MDB_MAP_RESIZED) and retries once. */
int cs_txn_begin(struct cs_vault *v, bool write, MDB_txn **txn, struct cs_error *err);
/* For write transactions (a "commit" test point); frees txn either way.  End
 * read transactions with mdb_txn_abort. */
int cs_txn_commit(MDB_txn *txn, struct cs_error *err);
/* Drop the process's mapping of a value read from the map once it has been
 * used: streaming a large vault then costs no resident memory (the data stays
 * in the page cache).  Values outside the file map are left alone. */
void cs_store_release(struct cs_vault *v, const void *data, size_t len);
/* Double the map (under the writer lock, no txn open). */
int cs_store_grow(struct cs_vault *v, struct cs_error *err);
/*
 * Run fn in a write transaction and commit.  When fn or the commit fails with
 * MDB_MAP_FULL (fn returns CS_ERR_DB with err->sys_errno == MDB_MAP_FULL), the
 * transaction is aborted, the map grown, and fn run again: fn must be safe to
 * repeat.
 */
typedef int (*cs_store_fn)(struct cs_vault *v, MDB_txn *txn, void *ctx, struct cs_error *err);
/* Growing remaps the file: no other transaction of this process may be open
 * (a reset one is fine), or its pointers dangle. */
int cs_store_write(struct cs_vault *v, cs_store_fn fn, void *ctx, struct cs_error *err);
/* mdb_put/mdb_get wrappers filling err (CS_ERR_DB, sys_errno = mdb code). */
int cs_db_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *d, size_t dlen,
	      unsigned flags, struct cs_error *err);
/* CS_ERR_NOTFOUND when missing. */
int cs_db_get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, MDB_val *out,
	      struct cs_error *err);
void cs_be64(unsigned char out[8], uint64_t v);
uint64_t cs_rd64(const unsigned char in[8]);
void cs_be32(unsigned char out[4], uint32_t v);
uint32_t cs_rd32(const unsigned char in[4]);

/* ---- lock.c: the vault writer lock (vault dir "writer.lock": flock + pid) ------------- */

/* CS_ERR_BUSY "vault busy (pid N)" unless wait.  A lock whose holder died is
 * free again (flock is released by the kernel). */
int cs_lock_acquire(const char *vault_dir, bool wait, int *fd_out, struct cs_error *err);
void cs_lock_release(int fd);

/* ---- migrations/migrate.c ------------------------------------------------------ */

struct cs_migration {
	uint32_t from;       /* schema it upgrades from; to = from + 1 */
	int (*step)(struct cs_vault *v, MDB_txn *txn, struct cs_error *err);
	const char *what;
};
/* The built-in steps (none yet for schema 1). */
extern const struct cs_migration cs_migrations[];
extern const size_t cs_n_migrations;
/*
 * Bring the vault from its stored schema to target in one write transaction,
 * using steps (usually cs_migrations).  CS_ERR_VERSION if the stored schema is
 * newer than target or a step is missing; any failing step leaves the stored
 * schema as it was.
 */
int cs_migrate(struct cs_vault *v, const struct cs_migration *steps, size_t n_steps,
	       uint32_t target, struct cs_error *err);

/* ---- chunkstore.c: encrypted, deduplicated chunks ------------------------------------ */

struct cs_chunk_ref {
	unsigned char id[CS_HASH_BYTES];
	uint32_t len; /* plaintext length */
};

#define CS_CHUNK_MAX (4u << 20) /* largest plaintext chunk */

/*
 * A snapshot's data key: created (random, sealed to the vault public key) and
 * stored under a fresh random id in its own committed transaction.  The
 * plaintext key stays in v->dkcache for this vault's chunk writers.
 */
int cs_datakey_create(struct cs_vault *v, uint64_t *dk_id, struct cs_error *err);

struct cs_chunk_writer;
/* Buffers new chunk records (compressed, encrypted under dk_id) and commits
 * them in batches of about 8 MiB via cs_store_write.  Needs a writable,
 * unlocked vault (CS_ERR_USAGE / CS_ERR_KEY).  Free without a flush drops
 * what is pending. */
int cs_chunk_writer_new(struct cs_vault *v, uint64_t dk_id, struct cs_chunk_writer **out,
			struct cs_error *err);
/* Store data (1..CS_CHUNK_MAX bytes) as one chunk unless its id is stored or
 * pending; ref filled; *is_new set.  May flush. */
int cs_chunk_writer_add(struct cs_chunk_writer *w, const void *data, size_t len,
			struct cs_chunk_ref *ref, bool *is_new, struct cs_error *err);
int cs_chunk_writer_flush(struct cs_chunk_writer *w, struct cs_error *err);
void cs_chunk_writer_free(struct cs_chunk_writer *w);
/*
 * Read, decrypt, decompress and verify one chunk (its keyed id recomputed).
 * out must hold ref->len bytes.  Needs the secret key.
 */
int cs_chunk_read(struct cs_vault *v, MDB_txn *txn, const struct cs_chunk_ref *ref, void *out,
		  struct cs_error *err);
void cs_dkcache_free(struct cs_dkcache *c);

/* ---- chunker.c: content-defined chunking (gear hash) ---------------------------------- */

#define CS_CHUNK_MIN (256u << 10)
#define CS_CHUNK_AVG (1u << 20)
/* Length of the next chunk at the start of buf (len bytes available, eof when
 * no more data follows).  Returns len when buf holds less than a chunk and !eof.
 * A cut depends only on the bytes before it: a result < len, or any result when
 * eof or len >= CS_CHUNK_MAX, is final; otherwise read more and ask again. */
size_t cs_chunker_cut(const unsigned char *buf, size_t len, bool eof);

/* ---- entry.c: vault records, their binary encoding, freeing and copying ------------- */

/* A snapshot entry as the vault stores it: the portable part plus the stat
 * cache fields and the content's chunk list. */
struct cs_ventry {
	struct cs_entry e;
	uint64_t dev, ino, nlink;
	uint64_t st_size;      /* source st_size (a captured database's e.size differs) */
	int64_t ctime_sec;
	int32_t ctime_nsec;
	size_t n_chunks;
	struct cs_chunk_ref *chunks;
};

/* The sealed snapshot record. */
struct cs_vsnap {
	struct cs_snapshot_info info;
	uint64_t dk_id;        /* data key of chunks this snapshot added */
	uint64_t n_entries;
};

int cs_ventry_encode(const struct cs_ventry *ve, unsigned char **buf, size_t *len,
		     struct cs_error *err);
int cs_ventry_decode(const unsigned char *buf, size_t len, struct cs_ventry *ve,
		     struct cs_error *err);
void cs_ventry_free(struct cs_ventry *ve);   /* frees fields, not ve */
void cs_entry_free(struct cs_entry *e);      /* frees fields, not e */
int cs_entry_copy(struct cs_entry *dst, const struct cs_entry *src, struct cs_error *err);
int cs_vsnap_encode(const struct cs_vsnap *s, unsigned char **buf, size_t *len,
		    struct cs_error *err);
int cs_vsnap_decode(const unsigned char *buf, size_t len, struct cs_vsnap *s,
		    struct cs_error *err);

/* ---- entry_seal.c: vault records sealed under the index key, and read back ---------- */

/* Read and decrypt records (vault unlocked; txn is a read or write txn). */
int cs_vsnap_load(struct cs_vault *v, MDB_txn *txn, uint64_t seq, struct cs_vsnap *s,
		  struct cs_error *err);
/* Walk a snapshot's entries in order inside txn. */
int cs_ventry_foreach(struct cs_vault *v, MDB_txn *txn, uint64_t seq,
		      int (*fn)(void *ctx, const struct cs_ventry *ve), void *ctx,
		      struct cs_error *err);
/* Seal records under the index key with their associated data (docs/FORMAT.md);
 * *out is malloc'd. */
int cs_ventry_seal(struct cs_vault *v, uint64_t seq, uint64_t index, const struct cs_ventry *ve,
		   unsigned char **out, size_t *len, struct cs_error *err);
int cs_vsnap_seal(struct cs_vault *v, const struct cs_vsnap *s, unsigned char **out, size_t *len,
		  struct cs_error *err);
/*
 * A committed snapshot's entries in order, read a bounded batch at a time, each batch in its
 * own short read transaction: no transaction stays open while the caller writes or the map
 * grows.  next sets *ve to NULL at the end; *ve is valid until the next call.
 */
struct cs_ventry_iter;
int cs_ventry_iter_open(struct cs_vault *v, uint64_t seq, struct cs_ventry_iter **out,
			struct cs_error *err);
int cs_ventry_iter_next(struct cs_ventry_iter *it, const struct cs_ventry **ve,
			struct cs_error *err);
void cs_ventry_iter_free(struct cs_ventry_iter *it); /* NULL ignored */

/* ---- snapshot_query.c ------------------------------------------------------------ */

/* The newest committed seq (0 when none), and one record read in its own read
 * transaction. */
int cs_snapshot_last(struct cs_vault *v, uint64_t *seq, struct cs_error *err);
int cs_vsnap_read(struct cs_vault *v, uint64_t seq, struct cs_vsnap *out, struct cs_error *err);

/* ---- walk.c: the sorted, openat-based tree walk of snapshot.c and its entry rules ------ */

struct cs_walk_item {
	const char *path;      /* relative path, "a/b" */
	const char *name;      /* last component */
	int parent_fd;         /* directory holding name */
	int fd;                /* directories: open O_DIRECTORY, else -1 */
	int open_errno;        /* directories: why the open failed (fd == -1), else 0 */
	struct stat st;        /* lstat (fstat of fd for opened directories) */
	unsigned depth;        /* components of path */
	bool is_mount;         /* another filesystem or a mount root: not opened */
	const struct cs_walk_graft *graft; /* the graft this entry is or is below, else NULL */
};
/* Called for every entry, a directory before its children.  Clear *descend to skip a
 * directory's children.  A non-OK return stops the walk and is returned. */
typedef int (*cs_walk_fn)(void *ctx, const struct cs_walk_item *it, bool *descend,
			  struct cs_error *err);
/*
 * Walk the tree below root_fd (not following symlinks, children sorted bytewise, so the
 * order is cs_path_cmp order).  Entries that vanish are passed over; problems that lose
 * entries (a listing that fails, caps on path length and depth) go to warn, and the walk
 * goes on.
 */
int cs_walk(int root_fd, cs_walk_fn fn, cs_warn_fn warn, void *ctx, struct cs_error *err);
/* A directory walked as the top-level name of the root (a docker layout's workspace or
 * media volume), in place of whatever the root has under that name. */
struct cs_walk_graft {
	const char *name;      /* one component */
	int fd;                /* the graft's directory, opened by the caller (kept open) */
	const char *abs;       /* its absolute path, for access by path below it */
};
/*
 * cs_walk with grafts: each appears at its place in the sorted top level, its root item
 * the fstat of its fd (depth 1, parent_fd -1, never a mount point); the one-filesystem
 * rule below it compares with its own st_dev.  Errors: CS_ERR_USAGE (a name that is not
 * one component, or given twice), and those of cs_walk.
 */
int cs_walk_grafts(int root_fd, const struct cs_walk_graft *grafts, size_t n_grafts,
		   cs_walk_fn fn, cs_warn_fn warn, void *ctx, struct cs_error *err);
/* The absolute path of it: root_abs/path, or below a graft its abs and the rest of the
 * path.  Returns -1 when it does not fit in cap. */
int cs_walk_abs_path(const struct cs_walk_item *it, const char *root_abs, char *out,
		     size_t cap);
/* Entries a snapshot never stores: top-level .clawstate-*, OpenClaw's lock files under
 * tmp/openclaw-*. */
bool cs_walk_skipped(const struct cs_walk_item *it);
/* Does a --exclude pattern match (fnmatch flags 0; "dir/" matches directories only)? */
bool cs_walk_excluded(const char *const *patterns, size_t n, const char *path, bool is_dir);
/* The class of an entry from its relative path (docs/FORMAT.md). */
int cs_entry_class(const char *path, bool is_sqlite);
/* Add the user.* xattrs of fd (or of lpath, not followed, when fd < 0) to e, sorted by
 * name; what cannot be stored goes to warn. */
int cs_xattrs_read(int fd, const char *lpath, const char *path, struct cs_entry *e,
		   cs_warn_fn warn, void *ctx, struct cs_error *err);

/* ---- sqlite_capture.c ------------------------------------------------------------- */

/* Does the open file start with "SQLite format 3\0"? */
int cs_sqlite_is_db(int fd, bool *is_db, struct cs_error *err);
/*
 * Consistent copy of the database at path (a live WAL database included)
 * through the online backup API in one step, into an unlinked temp file in
 * tmp_dir (0600).  Returns an fd positioned at 0, the copy's size in *size.
 */
int cs_sqlite_capture(const char *path, const char *tmp_dir, int *fd_out, uint64_t *size,
		      struct cs_error *err);
/* Length of the "-wal", "-shm" or "-journal" that name ends with (a database's side
 * files), 0 when none. */
size_t cs_sqlite_side_suffix(const char *name);

/* ---- snapshot_read.c: one source file of a snapshot read into chunks (for snapshot.c) -- */

#define CS_SOURCE_BUF (2 * (size_t)CS_CHUNK_MAX) /* bytes of cs_source.buf */

/* What reading needs from the snapshot being taken. */
struct cs_source {
	struct cs_chunk_writer *cw;     /* new chunks go here */
	unsigned char *buf;             /* CS_SOURCE_BUF bytes */
	const char *state_abs;          /* databases are captured by path below it (below a
	                                   graft: cs_walk_abs_path) */
	const char *vault_abs;          /* where captures are made */
	struct cs_snapshot_result *res; /* bytes_read, chunks_new, bytes_new counted */
	const struct cs_report *report; /* progress */
	cs_warn_fn warn;                /* a file not stored, and why */
	void *warn_ctx;
	struct cs_error *err;
};

enum cs_source_outcome { CS_SOURCE_GOT, CS_SOURCE_GONE, CS_SOURCE_SKIPPED };

/*
 * Read the regular file it->name (lstat'd as it->st by the walk) into ve: content, hash and
 * xattrs; a database (not named like a side file) through cs_sqlite_capture, with
 * ve->e.is_sqlite set.  *st is the fstat the content was read under, for the stat cache
 * fields.  A file that changes while it is read is read again a few times, then reported
 * (CS_SOURCE_SKIPPED); one that vanishes is CS_SOURCE_GONE.  Problems of the source go to
 * warn and return CS_OK; vault errors are returned.  Content is dropped unless
 * CS_SOURCE_GOT.
 */
int cs_source_read_file(struct cs_source *src, const struct cs_walk_item *it,
			struct cs_ventry *ve, struct stat *st, enum cs_source_outcome *out);

/* ---- bheader.c: the backup file's plaintext header (docs/FORMAT.md) ---------- */

#define CS_BACKUP_MAGIC "CLAWSTB"      /* 8 bytes with its NUL */
#define CS_BHEADER_FIXED 53            /* bytes before the first key slot */
#define CS_BHEADER_MAX_SLOTS 32
#define CS_BHEADER_CAP 65536           /* largest header length accepted */
#define CS_SEALED_KEY_BYTES (crypto_box_SEALBYTES + CS_KEY_BYTES)            /* 80 */
#define CS_SS_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES /* 24 */

struct cs_bheader {
	uint16_t version;
	uint16_t flags;
	unsigned char vault_id[CS_VAULT_ID_BYTES];
	uint64_t seq;
	uint64_t created;      /* unix seconds */
	uint32_t epoch;
	size_t n_slots;
	struct cs_slot slots[CS_BHEADER_MAX_SLOTS];
	unsigned char sealed_key[CS_SEALED_KEY_BYTES];
	unsigned char ss_header[CS_SS_HEADER_BYTES];
	size_t len;                    /* encoded length, checksum included */
	unsigned char raw[CS_BHEADER_CAP]; /* the encoded header (first stream message's AD) */
};

/* Encoded length of a header with n_slots slots. */
size_t cs_bheader_size(size_t n_slots);
/* Encode the fields into h->raw with the checksum; sets len, version, flags.
 * CS_ERR_USAGE when n_slots is not 1..32. */
int cs_bheader_encode(struct cs_bheader *h, struct cs_error *err);
/*
 * Parse and check len bytes at buf, in order: magic (CS_ERR_CORRUPT "not a
 * clawstate backup"), version (CS_ERR_VERSION), length and checksum
 * (CS_ERR_CORRUPT), slot decoding and Argon2 caps (CS_ERR_CORRUPT).  No key
 * derivation happens here.  name is used as the error path.
 */
int cs_bheader_parse(const unsigned char *buf, size_t len, const char *name,
		     struct cs_bheader *h, struct cs_error *err);
/* Read exactly the header's bytes from fd (a file or a pipe) and parse them. */
int cs_bheader_read(int fd, const char *name, struct cs_bheader *h, struct cs_error *err);
/* Try every slot of cred's kind, then unseal the file key.  CS_ERR_KEY "wrong
 * passphrase or key file" when none opens; CS_ERR_CORRUPT when the sealed key
 * does not open under the vault key a slot gave. */
int cs_bheader_unlock(const struct cs_bheader *h, const struct cs_cred *cred, const char *name,
		      unsigned char file_key[CS_KEY_BYTES], struct cs_error *err);

/* ---- bstream.c: secretstream messages of zstd data (backup payload) ---------------- */

/* Plaintext bytes of every message but the last (which holds 0..this many). */
#define CS_BSTREAM_MSG 65536

struct cs_bstream_writer;
/* Start a stream under key (32 bytes); ss_header receives the secretstream
 * header, which belongs in the file header. */
int cs_bstream_writer_new(int fd, const char *name, const unsigned char key[CS_KEY_BYTES],
			  unsigned char ss_header[CS_SS_HEADER_BYTES],
			  struct cs_bstream_writer **out, struct cs_error *err);
/* Write the encoded file header to fd; it becomes the first message's AD. */
int cs_bstream_writer_begin(struct cs_bstream_writer *w, const unsigned char *hdr, size_t len,
			    struct cs_error *err);
/* Compress and encrypt len bytes; full messages go out through cs_write_all. */
int cs_bstream_write(struct cs_bstream_writer *w, const void *buf, size_t len,
		     struct cs_error *err);
/* End the zstd frame and push the rest as the TAG_FINAL message. */
int cs_bstream_writer_close(struct cs_bstream_writer *w, struct cs_error *err);
/* Bytes written to fd so far (header included). */
uint64_t cs_bstream_writer_bytes_out(const struct cs_bstream_writer *w);
void cs_bstream_writer_free(struct cs_bstream_writer *w); /* NULL ignored */

struct cs_bstream_reader;
/* ad/adlen: the whole file header (copied). */
int cs_bstream_reader_new(int fd, const char *name, const unsigned char key[CS_KEY_BYTES],
			  const unsigned char ss_header[CS_SS_HEADER_BYTES],
			  const unsigned char *ad, size_t adlen,
			  struct cs_bstream_reader **out, struct cs_error *err);
/*
 * Up to cap (> 0) decompressed bytes.  *got = 0 only at the verified end: the
 * zstd frame complete, in the TAG_FINAL message, nothing after it on fd.
 * CS_ERR_CORRUPT "backup stream damaged at message N" on a bad MAC, "backup
 * truncated" when fd ends before TAG_FINAL, and on data after it.
 */
int cs_bstream_read(struct cs_bstream_reader *r, void *buf, size_t cap, size_t *got,
		    struct cs_error *err);
void cs_bstream_reader_free(struct cs_bstream_reader *r); /* NULL ignored */

/* ---- manifest.c: NDJSON manifest lines (backup format) ----------------------------- */

#define CS_MANIFEST_NAME ".clawstate-manifest.ndjson"
/* Longest manifest line read (a path, a target and 64 xattrs of 64 KiB in base64). */
#define CS_MANIFEST_LINE_MAX (8u << 20)

/* Encode one line (with trailing '\n') into a malloc'd buffer (NUL-terminated too).
 * CS_ERR_CORRUPT when a value cannot be represented (e.g. > 2^53 - 1). */
int cs_manifest_header_line(const struct cs_snapshot_info *info,
			    const unsigned char vault_id[CS_VAULT_ID_BYTES], uint64_t n_entries,
			    char **line, size_t *len, struct cs_error *err);
int cs_manifest_entry_line(const struct cs_entry *e, char **line, size_t *len,
			   struct cs_error *err);
/* Parse one line (trailing '\n' optional).  CS_ERR_CORRUPT naming the line
 * number on malformed input, CS_ERR_VERSION for a newer manifest version.
 * Entries are malloc'd field by field (free with cs_entry_free). */
int cs_manifest_parse_header(const char *line, size_t len, struct cs_snapshot_info *info,
			     unsigned char vault_id[CS_VAULT_ID_BYTES], uint64_t *n_entries,
			     struct cs_error *err);
int cs_manifest_parse_entry(const char *line, size_t len, uint64_t lineno, struct cs_entry *e,
			    struct cs_error *err);
/* Is s (n bytes) valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF)? */
bool cs_utf8_valid(const unsigned char *s, size_t n);

/* ---- validate.c: hostile-input checks on a whole entry list --------------------------- */

/*
 * CS_ERR_HOSTILE naming the first bad entry: empty, absolute or ".."/"."
 * components, caps (path, name, depth, count), duplicates, an entry below a
 * symlink or a non-directory, a hardlink whose target is not an earlier
 * regular file of the list, unknown types, a parent that is not listed before
 * its child.
 */
int cs_entries_validate(const struct cs_entry *entries, size_t n, struct cs_error *err);

/* ---- backup reading (breader.c) ------------------------------------------------------ */

struct cs_breader;
/*
 * Parse and check the header (magic, version, checksum, caps, slots, in this
 * order), unseal the file key, and read the whole manifest member.
 */
int cs_breader_open(int fd, const char *name, const struct cs_cred *cred,
		    struct cs_breader **out, struct cs_error *err);
/* The manifest, valid until cs_breader_free. */
void cs_breader_manifest(struct cs_breader *r, const struct cs_entry **entries, size_t *n,
			 const struct cs_snapshot_info **info);
/* Advance to the next tar member, which must match entries[i] exactly (i in
 * order from 0).  What the caller left unread of the previous member is read
 * and hash-checked first.  CS_ERR_CORRUPT "manifest and archive disagree" /
 * CS_ERR_HOSTILE (size, special files) naming the entry. */
int cs_breader_next(struct cs_breader *r, size_t i, struct cs_error *err);
/* Content of the current member (cs_content_fn); *got = 0 at its end, after the
 * BLAKE2b check (CS_ERR_CORRUPT "content hash mismatch").  0 for non-files. */
int cs_breader_read(void *r, void *buf, size_t cap, size_t *got, struct cs_error *err);
/* After the last member: tar end, stream final tag, nothing after it. */
int cs_breader_finish(struct cs_breader *r, struct cs_error *err);
void cs_breader_free(struct cs_breader *r);

/* ---- journal.c: the mount-point swap's journal (docs/FORMAT.md "Mount-point swap") ---- */

#define CS_JOURNAL_NAME ".clawstate-journal"

/* What the target dir itself gets at the end of a mount-point swap. */
struct cs_root_meta {
	uint32_t mode;             /* permission bits, 07777 */
	bool set_owner;            /* else the owner is left as it is */
	uint32_t uid, gid;
	bool set_mtime;            /* else the mtime is what the swap leaves */
	int64_t mtime_sec;
	int32_t mtime_nsec;
};

struct cs_journal {
	char stage[256];           /* the staging dir, a name in DIR */
	char old[256];             /* the old-tree dir, a name in DIR */
	bool keep;                 /* keep the old tree (else it is removed) */
	struct cs_root_meta root;
	char **old_names;          /* DIR's top-level entries, bytewise sorted */
	size_t n_old;
	char **new_names;          /* the staging dir's top-level entries, sorted */
	size_t n_new;
};
/* Encode j into a malloc'd buffer (*len bytes, NUL-terminated too).  The
 * lists are sorted here.  Errors: CS_ERR_USAGE (a name the parser would
 * refuse), CS_ERR_NOMEM. */
int cs_journal_format(struct cs_journal *j, char **buf, size_t *len, struct cs_error *err);
/* Parse buf[0..len): a pure function (no I/O, no globals, any bytes).
 * Errors: CS_ERR_CORRUPT, path CS_JOURNAL_NAME, "line N: reason" (a
 * checksum mismatch names the checksum line); CS_ERR_NOMEM.  On error j
 * holds nothing to free; on success free it with cs_journal_free. */
int cs_journal_parse(const char *buf, size_t len, struct cs_journal *j, struct cs_error *err);
void cs_journal_free(struct cs_journal *j); /* the name lists; j itself is the caller's */

/* ---- stage.c: the safe writer (the only code that creates files in a target) -------- */

/* Pull content: fill up to cap bytes, *got = 0 at the end of the entry. */
typedef int (*cs_content_fn)(void *ctx, void *buf, size_t cap, size_t *got,
			     struct cs_error *err);

struct cs_stage;
/* A dir holding staging dirs and their locks: the target's parent (prefix =
 * BASE) or a mount-point target itself (prefix ""); the names there are
 * <prefix>.clawstate-stage-<id>[.lock] and <prefix>.clawstate-old-<seq>[.k]. */
struct cs_stage_home {
	int fd;                    /* not owned */
	const char *path;          /* the dir, for messages */
	const char *prefix;
};
/*
 * Prepare a restore into opts->target: clean stale staging dirs of earlier
 * runs (an old tree left after an exchange is kept as DIR.clawstate-old-*;
 * inside an existing target, a journal is replayed first), refuse a busy,
 * live or non-empty target (per opts), check free space for bytes_needed,
 * create DIR.clawstate-stage-<id> (0700) and its lock, or for a mount-point
 * target DIR/.clawstate-stage-<id> and its lock inside it.
 */
int cs_stage_open(const struct cs_restore_opts *opts, uint64_t seq, uint64_t bytes_needed,
		  struct cs_stage **out, struct cs_error *err);
/* Create one entry (validated list, in order).  Files: content pulled through
 * read, size and hash checked.  Owner/mode/xattrs/times are applied at commit. */
int cs_stage_add(struct cs_stage *st, const struct cs_entry *e, cs_content_fn read, void *rctx,
		 struct cs_error *err);
/* Apply metadata in the documented order, syncfs, swap in, fsync the parent,
 * keep or remove the old tree.  res->replaced/old_path/owners_skipped/
 * owners_failed filled; owners are cs_owner_resolve of the recorded ids (the
 * staging root's: res->info.uid/gid) when set.  On success st is freed, also
 * for CS_ERR_PARTIAL: swapped in, but a non-root chown was refused (err names
 * the first entry).  On other failures the caller still calls cs_stage_abort. */
int cs_stage_commit(struct cs_stage *st, const struct cs_entry *entries, size_t n,
		    struct cs_restore_result *res, struct cs_error *err);
/* Remove the staging dir and lock (after a failure); NULL ignored.  After a
 * failed commit that already exchanged, the old tree is renamed to an old
 * name instead (never deleted). */
void cs_stage_abort(struct cs_stage *st);
/* The refusals of cs_stage_open (busy, not empty, mount point, live gateway,
 * free space) without cleaning or creating anything: for dry runs. */
int cs_stage_check(const struct cs_restore_opts *opts, uint64_t bytes_needed,
		   struct cs_error *err);

/* Shared by stage.c, stage_commit.c and mountswap.c only. */
struct cs_stage {
	char target[4096];         /* absolute (PATH_MAX) */
	char parent[4096];
	char base[256];            /* NAME_MAX + 1 */
	char stage_name[256]; /* BASE.clawstate-stage-<8 hex> */
	char lock_name[256];       /* stage_name + ".lock" */
	int parent_fd, stage_fd, lock_fd;
	dev_t dev;                 /* of the staging dir */
	ino_t ino;
	uint64_t seq;
	bool replace, keep_old, force, is_root;
	bool set_owner;            /* chown every entry: root, or an ownership option */
	bool made_lock, made_stage, swapped;
	const struct cs_restore_opts *opts; /* owners resolve through it (cs_owner_resolve) */
	int owners_skipped, owners_failed;  /* as cs_restore_result */
	char owner_failed[4096];   /* the first entry whose chown was refused */
	int owner_errno;
	uint32_t root_mode;        /* mode the target dir gets at commit */
	bool root_plain;           /* docker output dir: 0755, the invoker's, times now */
	int cache_fd;              /* last parent dir opened, relative cache_path */
	size_t cache_len;
	char cache_path[4096];
	unsigned char *buf;
	/* Mount-point targets (mountswap.c): */
	struct cs_stage_home home; /* where stage_name and lock_name are */
	int target_fd;             /* the target dir, when staging inside it; else -1 */
	bool mount;                /* the target is a mount root (last refusal check) */
	bool inside;               /* staged inside the target: the journaled swap */
	bool force_inside;         /* inside although not seen as a mount (EBUSY/EXDEV) */
	bool journaled;            /* the journal is in place: a failure leaves all for replay */
	struct cs_root_meta root_meta; /* inside: what the target dir gets at the end */
	char stage_path[4096];     /* the staging dir's absolute path */
};
/* Parent dir fd (cached; do not close) and base name of a staged entry. */
int cs_stage_parent(struct cs_stage *st, const char *path, int *pfd, const char **base,
		    struct cs_error *err);
/* Rename parent/from to the first free BASE.clawstate-old-<seq>[.N]. */
int cs_stage_rename_old(struct cs_stage *st, const char *from, uint64_t seq, char *old_path,
			struct cs_error *err);
/* Refusals on the target as it is now; sets whether it exists and is empty. */
int cs_stage_refusals(struct cs_stage *st, uint64_t bytes_needed, bool *exists, bool *empty,
		      struct cs_error *err);
void cs_stage_free(struct cs_stage *st);
/* Settle the locks of stale runs in h (target names the target in the busy
 * message): a live one is CS_ERR_BUSY; check_only changes nothing.  own_lock
 * (may be NULL) is skipped; seq names an old tree a lock records no seq for;
 * *removed (may be NULL) counts unfinished staging dirs removed. */
int cs_stage_clean(const struct cs_stage_home *h, const char *target, const char *own_lock,
		   uint64_t seq, bool check_only, int *removed, struct cs_error *err);
/* The k-th candidate old-tree name <prefix>.clawstate-old-<seq>[.k] into buf
 * (NAME_MAX + 1 bytes); -1 when it does not fit. */
int cs_stage_old_name(const char *prefix, uint64_t seq, unsigned k, char *buf);
/* A new run staging inside st's target (same options, seq and root), for a
 * swap beside it that failed with EBUSY/EXDEV. */
int cs_stage_open_inside(const struct cs_stage *st, struct cs_stage **out, struct cs_error *err);

/* ---- mountswap.c: staging inside a mount-point target, the journaled swap, replay ---- */

/* A top-level name the restore writer keeps for itself (.clawstate-*). */
bool cs_mount_reserved(const char *name);
/* The top level of the target dir dfd (path for messages) as a mount-point
 * target sees it: *empty when nothing but .clawstate-* is there;
 * CS_ERR_MOUNT naming an entry that is itself a mount point (it cannot be
 * moved). */
int cs_mount_top_state(int dfd, const char *path, bool *empty, struct cs_error *err);
/* Replay the journal in the dir dfd (path: absolute, for messages) if there
 * is one (cs_recover's first half).  check_only: parse it and check its lock
 * only.  res (may be NULL) gets journal/forward/moved/old_path. */
int cs_mount_settle(int dfd, const char *path, bool check_only, struct cs_recover_result *res,
		    struct cs_error *err);
/* Commit, inside: what the target dir gets at the end (st->root_meta), from
 * the source root as cs_stage_commit would apply it to a staging root. */
int cs_mount_root_meta(struct cs_stage *st, const struct cs_restore_result *res,
		       struct cs_error *err);
/* Commit, inside, after the syncfs: journal, swap, root metadata, cleanup. */
int cs_mount_commit(struct cs_stage *st, struct cs_restore_result *res, struct cs_error *err);
/* Commit beside a target that turned out to be a mount point: stage the
 * finished tree again inside it and swap there.  Frees st like
 * cs_stage_commit (CS_OK, CS_ERR_PARTIAL); else the caller aborts st. */
int cs_mount_restage(struct cs_stage *st, const struct cs_entry *entries, size_t n,
		     struct cs_restore_result *res, struct cs_error *err);

/* ---- gateway.c ------------------------------------------------------------------ */

/* *pid > 0 when a live OpenClaw gateway holds state_dir (docs/FORMAT.md). */
int cs_gateway_running(const char *state_dir, pid_t *pid, struct cs_error *err);

/* ---- pathrewrite.c + json5.c: moving absolute paths to a new home (docs/FORMAT.md) ---- */

/* Paths starting with from at a component boundary ("/home/a" matches "/home/a"
 * and "/home/a/x", never "/home/ab") get to in its place.  from must be
 * absolute; trailing '/' on either is ignored; a from of "/" is ignored.  Of
 * several matching rules the longest from wins, whatever their order. */
struct cs_rewrite {
	const char *from, *to;
};
/* Rewrite the path in[0..len).  No rule matches: CS_OK with *out NULL.  A
 * match: *out is a malloc'd, NUL-terminated copy of *out_len bytes.
 * Errors: CS_ERR_NOMEM. */
int cs_rewrite_path(const struct cs_rewrite *rules, size_t n, const char *in, size_t len,
		    char **out, size_t *out_len);
/* The same on the raw bytes between the quotes of a JSON or JSON5 string
 * literal: "\/" matches '/' (no other escape is decoded, so a prefix written
 * with \u escapes is not matched); when the matched prefix used "\/", every
 * '/' of to is written "\/"; '\', quote and control bytes of to are escaped;
 * the rest of the literal is kept byte for byte. */
int cs_rewrite_literal(const struct cs_rewrite *rules, size_t n, const char *raw, size_t len,
		       char quote, char **out, size_t *out_len);

/* Objects and arrays nested deeper than this are refused (the parser recurses). */
#define CS_JSON5_MAX_DEPTH 256
/*
 * Parse buf[0..len) as one JSON5 value (plain JSON is JSON5, so this serves
 * sessions.json and exec-approvals.json too) and rewrite, with rules, every
 * string value (never an object key) that starts with a rule's prefix.  Only
 * the bytes inside rewritten literals change; comments, white space, quotes,
 * unquoted keys and trailing commas stay byte for byte.  Nothing rewritten:
 * CS_OK with *out NULL.  Otherwise *out is malloc'd (NUL-terminated, *out_len
 * bytes).  *n_rewrites (may be NULL) counts the rewritten literals.
 * Errors: CS_ERR_CORRUPT, path name, "not valid JSON5 at line L column C:
 * reason" (1-based; columns count bytes; lines end at '\n'), also for nesting
 * deeper than CS_JSON5_MAX_DEPTH; CS_ERR_NOMEM.  On error *out is NULL and
 * *n_rewrites 0.
 */
int cs_json5_rewrite(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
		     char **out, size_t *out_len, size_t *n_rewrites, const char *name,
		     struct cs_error *err);
/* The same for a .jsonl transcript: only the first line is parsed, and only
 * string values of members named "cwd" (at any depth) are rewritten; the
 * other lines are kept byte for byte and not parsed.  A blank first line is
 * CS_OK with nothing rewritten. */
int cs_jsonl_rewrite_cwd(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
			 char **out, size_t *out_len, size_t *n_rewrites, const char *name,
			 struct cs_error *err);
/* The _notes variants call note once per rewritten literal, in order, after
 * the whole input parsed (never on error): line (1-based) of the literal, its
 * body between the quotes before and after, as written, and its quote. */
typedef void (*cs_json5_note_fn)(void *ctx, size_t line, const char *old_raw, size_t old_len,
				 const char *new_raw, size_t new_len, char quote);
int cs_json5_rewrite_notes(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
			   char **out, size_t *out_len, size_t *n_rewrites, cs_json5_note_fn note,
			   void *note_ctx, const char *name, struct cs_error *err);
int cs_jsonl_rewrite_cwd_notes(const char *buf, size_t len, const struct cs_rewrite *rules,
			       size_t n, char **out, size_t *out_len, size_t *n_rewrites,
			       cs_json5_note_fn note, void *note_ctx, const char *name,
			       struct cs_error *err);

/* ---- rewrite_tree.c + sqlite_rewrite.c: rewriting the known files of a restored tree ---- */

/* What a file is to the rewriter (by its relative path in the source tree). */
enum cs_rw_kind {
	CS_RW_NONE = 0,    /* only counted for leftover mentions */
	CS_RW_CONFIG,      /* openclaw.json at the top: must parse (CS_ERR_CORRUPT) */
	CS_RW_CONFIG_BAK,  /* openclaw.json.bak, openclaw.json.bak.N, openclaw.json.*.bak
			      at the top: one that does not parse is reported, kept */
	CS_RW_JSON,        /* sessions.json anywhere, exec-approvals.json at the top:
			      one that does not parse is reported, kept */
	CS_RW_JSONL,       /* *.jsonl anywhere: the first line's "cwd" */
	CS_RW_SQLITE,      /* e->is_sqlite: TEXT values through SQL */
};
int cs_rw_kind(const struct cs_entry *e);

/* Largest file the rewriter loads (CONFIG/BAK/JSON; a JSONL's first line). */
#define CS_RW_MAX_BYTES (64u << 20)

struct cs_rw_plan {
	const struct cs_rewrite *rules;  /* old -> new prefixes */
	size_t n_rules;
	const char *const *needles;      /* old prefixes whose leftovers are counted */
	size_t n_needles;
	void (*note)(void *ctx, const struct cs_rewrite_note *n); /* each rewrite; may be NULL */
	cs_warn_fn warn;                 /* unparseable .bak, leftovers, skipped files */
	void *ctx;                       /* for note and warn */
};
struct cs_rw_stats {
	uint64_t rewrites, files_rewritten, leftover_files, leftover_mentions;
};

/*
 * Rewrite one file held in memory (kinds CONFIG, CONFIG_BAK, JSON, JSONL;
 * truncated: buf is only the file's first len bytes, enough for a JSONL's
 * first line).  Calls p->note per rewritten literal, counts leftovers of
 * p->needles in the result (p->warn "mentions OLD N times; not rewritten"),
 * adds to s.  *out NULL when nothing changed, else malloc'd.  CONFIG that
 * does not parse: CS_ERR_CORRUPT naming path, line and column.  The other
 * kinds that do not parse: p->warn, CS_OK, nothing changed.  Truncated
 * CONFIG/BAK/JSON: p->warn "too large to rewrite", nothing changed; leftovers
 * are then counted in the len bytes given only.
 */
int cs_rw_buffer(int kind, const char *path, const char *buf, size_t len, int truncated,
		 const struct cs_rw_plan *p, char **out, size_t *out_len, struct cs_rw_stats *s,
		 struct cs_error *err);

/* Counts needles in a stream (at a path-component boundary), across chunks. */
struct cs_mentions {
	const struct cs_rw_plan *p;
	unsigned char carry[4096 + 2];
	size_t carry_len;
	uint64_t count;
};
void cs_mentions_init(struct cs_mentions *m, const struct cs_rw_plan *p);
void cs_mentions_feed(struct cs_mentions *m, const void *buf, size_t len);
/* The total; reports it (p->warn, path) and counts it into s when non-zero. */
uint64_t cs_mentions_end(struct cs_mentions *m, const char *path, struct cs_rw_stats *s);

/*
 * After every entry is staged, before the commit: rewrite the staged files of
 * entries whose kind is not NONE (in place in the staging dir: a new file
 * written beside it and renamed over it; one with more than one link is
 * reported and left alone), SQLite databases through SQL in one transaction
 * (sqlite_rewrite.c), and count their leftovers.  Sizes and hashes of
 * rewritten entries are updated in entries[].  Mode, owner and times are
 * applied by the commit afterwards, so rewritten files keep their recorded
 * mtime.  Errors: CS_ERR_CORRUPT (CONFIG does not parse), CS_ERR_DB, CS_ERR_IO.
 */
/* kinds[i] is the enum cs_rw_kind of entries[i], found from its path in the
 * source (a docker output stages openclaw.json as config/openclaw.json);
 * kinds NULL: cs_rw_kind of each entry as it is. */
int cs_stage_rewrite(struct cs_stage *st, struct cs_entry *entries, const int *kinds, size_t n,
		     const struct cs_rw_plan *p, struct cs_rw_stats *s, struct cs_error *err);

/*
 * Every TEXT value of every column of every ordinary table that starts with a
 * rule's old prefix (component boundary) is rewritten with UPDATE statements
 * in one transaction (never by editing bytes); p->note once per table.column
 * with the row count (one per rule that matched); leftovers: mentions of a
 * needle (cs_mentions) in the TEXT values of ordinary and shadow tables.
 * sqlite_rewrite_file works on a database file (path: an absolute name SQLite
 * can open, in the staging dir); sqlite_rewrite_buffer on a copy in memory
 * (sqlite3_deserialize; dry runs), leaving buf alone.
 */
int cs_sqlite_rewrite_file(const char *abs_path, const char *path, const struct cs_rw_plan *p,
			   struct cs_rw_stats *s, bool *changed, struct cs_error *err);
int cs_sqlite_rewrite_buffer(const void *buf, size_t len, const char *path,
			     const struct cs_rw_plan *p, struct cs_rw_stats *s, struct cs_error *err);

/*
 * The string value at a dotted key path ("agents.defaults.workspace") of a
 * JSON5 document; CS_OK with *out NULL when absent or not a string.
 * Errors: CS_ERR_CORRUPT as cs_json5_rewrite, CS_ERR_NOMEM.
 */
int cs_json5_get_string(const char *buf, size_t len, const char *key_path, char **out,
			const char *name, struct cs_error *err);

/* ---- layout.c + layout_stage.c: a restore with a layout (restore.c drives it) ---------- */

/* Read one entry's content without writing it, checking size and hash as
 * cs_stage_add does (dry runs, members --include leaves out). */
int cs_content_drain(cs_content_fn read, void *rctx, const struct cs_entry *e,
		     struct cs_error *err);

struct cs_layout_ctx {
	const struct cs_restore_opts *opts;
	char from_state[4096], from_home[4096], to_state[4096], to_home[4096];
	struct cs_rewrite rules[2];
	size_t n_rules;
	const char *needles[2];
	size_t n_needles;
	const char *volumes[2];     /* docker: "workspace", "media" */
	bool volume_is_dir[2];
	size_t n_volumes;
	struct cs_entry *all;       /* what is staged and committed, in order */
	int *kinds;                 /* enum cs_rw_kind of each, from the source path */
	size_t n_all, cap_all;
	size_t n_pre;               /* all[0..n_pre): synthesized dirs (docker) */
	bool borrowed;              /* CS_LAYOUT_NONE: all is the caller's selection */
	bool from_docker;           /* the source was recorded in the docker layout */
	struct cs_rw_plan plan;
	struct cs_rw_stats stats;
	uint64_t symlinks_rewritten;
	uint64_t outside;           /* config paths reported outside the new state dir */
	/* the content wrapper of cs_layout_add */
	cs_content_fn inner;
	void *ictx;
	bool counting, capturing, cap_trunc;
	struct cs_mentions m;
	char *capture;
	size_t cap_len, cap_size;
};
/*
 * Prefixes and rules from opts and the source info; for docker the volume
 * dirs and every selected entry mapped below config/ (or kept in a volume),
 * absolute symlinks into the old prefix re-pointed.  sel must outlive L when
 * opts->layout is CS_LAYOUT_NONE (borrowed).  Free with cs_layout_free, also
 * after a failure.
 */
int cs_layout_begin(struct cs_layout_ctx *L, const struct cs_restore_opts *opts,
		    const struct cs_snapshot_info *info, const struct cs_entry *sel, size_t n,
		    struct cs_error *err);
/* Stage the synthesized dirs (docker); st NULL (dry run) does nothing. */
int cs_layout_add_prelude(struct cs_layout_ctx *L, struct cs_stage *st, struct cs_error *err);
/* Stage (st NULL: drain and check) the k-th selected entry, counting leftover
 * mentions and, for the config and in dry runs, feeding the rewriter. */
int cs_layout_add(struct cs_layout_ctx *L, struct cs_stage *st, size_t k, cs_content_fn read,
		  void *rctx, struct cs_error *err);
/* After the last entry: rewrite the staged files (st NULL: nothing). */
int cs_layout_finish(struct cs_layout_ctx *L, struct cs_stage *st, struct cs_error *err);
/* Copy prefixes and counts into res. */
void cs_layout_result(const struct cs_layout_ctx *L, struct cs_restore_result *res);
void cs_layout_free(struct cs_layout_ctx *L);
/* cs_restore_snapshot, naming a kept old tree after old_seq instead of seq
 * (migrate --state restores from a throwaway vault: old trees are -old-0...). */
int cs_restore_snapshot_as(struct cs_vault *v, uint64_t seq, uint64_t old_seq,
			   const struct cs_restore_opts *opts, struct cs_restore_result *res,
			   struct cs_error *err);

/* ---- chown.c: the safe recursive chown (cs_chown_tree) ------------------------- */

/* The mode --secure-modes wants for the relative path rel ("" = the tree's
 * root): 0700 or 0600 on the closed list of clawstate.h, 0 when the path is
 * not on it (its mode is kept). */
uint32_t cs_chown_secure_mode(const char *rel, bool is_dir);

#endif
