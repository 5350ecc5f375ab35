/*
 * craft.h - what mkhostile.c's cases build a hostile backup with (craft.c): the case being
 * built (manifest entries and tar members, with knobs that break them), and the writer
 * that turns it into a backup file.  Out of memory and library errors exit 99.
 */
#ifndef CLAWSTATE_CRAFT_H
#define CLAWSTATE_CRAFT_H

#include "internal.h"

#define SAFE_MAX 9007199254740991ULL /* 2^53 - 1 */

enum mkind { M_FILE, M_DIR, M_SYMLINK, M_HARDLINK, M_FIFO, M_CHR, M_BLK, M_SOCK };

struct member {
	char *name;
	int kind;
	char *link;             /* symlink or hardlink target */
	const unsigned char *data;
	size_t dlen;
	long long size;         /* tar header size; -1 = dlen */
};

struct hcase {
	struct cs_entry *man;   /* manifest entries */
	size_t n_man, cap_man;
	struct member *tar;     /* tar members after the manifest */
	size_t n_tar, cap_tar;
	char *extra_lines;      /* appended to the generated manifest */
	char *raw_manifest;     /* replaces the generated manifest */
	long long entries;      /* "entries" of the header line; -1 = n_man */
	long long manifest_size; /* tar size of the manifest member; -1 = its length */
	int no_manifest;
	int raw_huge_member;    /* tar member 1 is written by hand with a huge size */
	long long raw_pax_size; /* ... or preceded by a hand-made pax header this big */
	char *header_patch;     /* replaces "key":value pairs in the header line: "k=v" */
	int cut_newline;        /* drop the manifest's last '\n' */
	size_t cut_bytes;       /* the manifest member is this much shorter than its text */
	uint64_t info_uid;
	/* Key slots.  Slot 1 is for the key file given to write_backup unless
	 * slot1 is set (another key file, or a passphrase).  Each absurd[i] adds a
	 * passphrase slot (for pass) whose Argon2 parameters are then replaced by
	 * these; slot1_ops/slot1_mem, when not 0, replace slot 1's the same way.
	 * The header checksum covers the result: only the caps can refuse it. */
	const struct cs_cred *slot1;
	const struct cs_cred *pass;
	struct {
		uint64_t ops, mem;
	} absurd[8];
	size_t n_absurd;
	uint64_t slot1_ops, slot1_mem;
	/* A bit flipped in the manifest text before it is encrypted: the byte
	 * flip_at past the first occurrence of flip_find is XORed with flip_bit. */
	const char *flip_find;
	size_t flip_at;
	unsigned flip_bit;
};

/* The case being built: main sets entries and manifest_size to -1, a case fills the rest. */
extern struct hcase C;
/* The library's errors; die() prints this one. */
extern struct cs_error craft_err;

void die(const char *what);              /* "mkhostile: what: craft_err", exit 99 */
void *xcalloc(size_t n, size_t sz);
char *xstrdup(const char *s);
char *fmt(const char *f, const char *a); /* malloc'd printf of one string */

/* A tar member only (after the manifest member). */
struct member *tar_add(const char *name, int kind);
/* Consistent manifest entry + tar member: file with content, dir, symlink, hardlink. */
struct cs_entry *F(const char *path, const char *content);
struct cs_entry *FB(const char *path, const unsigned char *data, size_t n); /* binary content */
struct cs_entry *D(const char *path);
struct cs_entry *L(const char *path, const char *target);
struct cs_entry *H(const char *path, const char *target);
struct member *last_member(void);

/* A growable NUL-terminated text. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_add(struct buf *b, const char *s, size_t n);

/* Owner of every entry and of the root: the invoker's, unless craft_fixed_owner
 * (then 0:0, for files that must not depend on who made them). */
extern int craft_fixed_owner;

/* Write C as a backup to out, with one key-file slot for keyfile (see C.slot1). */
void write_backup(const char *keyfile, const char *out);

#endif
