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

/* Write C as a backup to out, with one key-file slot for keyfile. */
void write_backup(const char *keyfile, const char *out);

#endif
