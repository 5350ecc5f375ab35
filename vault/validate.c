/* validate.c - hostile-input checks on a whole entry list (manifest or vault
 * snapshot) before anything is written: names, caps, duplicates, parents,
 * hardlink and symlink targets. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Open-addressing set of entry indexes keyed by path.  The hash is SipHash
 * (crypto_shorthash) under a random per-call key, so a crafted manifest cannot
 * force every path into one probe chain.
 */
struct pathset {
	uint32_t *slot; /* entry index + 1; 0 = empty */
	size_t mask;
	unsigned char key[crypto_shorthash_KEYBYTES];
	const struct cs_entry *entries;
};

static uint64_t path_hash(const struct pathset *s, const char *p, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h = 0;
	crypto_shorthash(out, (const unsigned char *)p, len, s->key);
	memcpy(&h, out, sizeof h);
	return h;
}

static int pathset_init(struct pathset *s, const struct cs_entry *entries, size_t n)
{
	size_t cap = 16;
	/* Load factor stays below 2/3. */
	while (cap < n + n / 2 + 1)
		cap <<= 1;
	s->slot = calloc(cap, sizeof *s->slot);
	if (!s->slot)
		return -1;
	s->mask = cap - 1;
	s->entries = entries;
	randombytes_buf(s->key, sizeof s->key);
	return 0;
}

/* Index of the entry whose path is p[0..len), or -1. */
static long pathset_find(const struct pathset *s, const char *p, size_t len)
{
	size_t i = (size_t)path_hash(s, p, len) & s->mask;
	for (;;) {
		uint32_t v = s->slot[i];
		if (v == 0)
			return -1;
		const char *q = s->entries[v - 1].path;
		if (strncmp(q, p, len) == 0 && q[len] == '\0')
			return (long)(v - 1);
		i = (i + 1) & s->mask;
	}
}

/* Insert entry idx; returns the index of an earlier entry with the same path,
 * or -1 when it was new. */
static long pathset_add(struct pathset *s, size_t idx)
{
	const char *p = s->entries[idx].path;
	size_t len = strlen(p);
	size_t i = (size_t)path_hash(s, p, len) & s->mask;
	for (;;) {
		uint32_t v = s->slot[i];
		if (v == 0) {
			s->slot[i] = (uint32_t)idx + 1;
			return -1;
		}
		if (strcmp(s->entries[v - 1].path, p) == 0)
			return (long)(v - 1);
		i = (i + 1) & s->mask;
	}
}

/*
 * Check the syntax of a relative path: not empty, not absolute, no empty, "."
 * or ".." component, caps on length, names and depth.  On failure returns a
 * static reason; *outside is set when the path would leave the tree.
 */
static const char *path_problem(const char *p, size_t *depth_out, bool *outside,
				char *buf, size_t buflen)
{
	size_t len = strlen(p);
	size_t depth = 0;
	*outside = false;
	if (len == 0)
		return "empty path";
	if (p[0] == '/') {
		*outside = true;
		return "absolute path";
	}
	if (len > CS_CAP_PATH) {
		snprintf(buf, buflen, "path too long (%zu bytes, at most %d)", len, CS_CAP_PATH);
		return buf;
	}
	const char *c = p;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		depth++;
		if (n == 0)
			return "empty path component";
		if (n == 1 && c[0] == '.')
			return "path contains '.'";
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			*outside = true;
			return "path contains '..'";
		}
		if (n > CS_CAP_NAME) {
			snprintf(buf, buflen, "name too long (%zu bytes, at most %d)", n, CS_CAP_NAME);
			return buf;
		}
		if (depth > CS_CAP_DEPTH) {
			snprintf(buf, buflen, "path too deep (more than %d levels)", CS_CAP_DEPTH);
			return buf;
		}
		if (!slash)
			break;
		c = slash + 1;
	}
	*depth_out = depth;
	return NULL;
}

static int check_xattrs(const struct cs_entry *e, struct cs_error *err)
{
	/* Linux keeps user.* xattrs on files and directories only, and a hardlink
	 * name shares its first name's inode: a snapshot never records others, and
	 * they could only fail after the whole tree was staged, or be lost. */
	if (e->n_xattrs > 0 && e->type != CS_ENTRY_FILE && e->type != CS_ENTRY_DIR)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "xattrs on a %s",
				  e->type == CS_ENTRY_SYMLINK ? "symlink" : "hardlink");
	if (e->n_xattrs > CS_CAP_XATTRS)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "too many xattrs (%zu, at most %d)",
				  e->n_xattrs, CS_CAP_XATTRS);
	if (e->n_xattrs > 0 && !e->xattrs)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "xattr list missing");
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const struct cs_xattr *x = &e->xattrs[i];
		size_t nl = x->name ? strlen(x->name) : 0;
		/* Only the user namespace is restored; others need root and an option
		 * that does not exist yet, so they cannot be in a well-formed list. */
		if (nl <= 5 || nl > 255 || strncmp(x->name, "user.", 5) != 0)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "xattr name not in user.*");
		if (x->len > CS_CAP_XATTR_VALUE)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "xattr %s too large (%zu bytes)",
					  x->name, x->len);
		if (x->len > 0 && !x->value)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "xattr %s has no value", x->name);
	}
	return CS_OK;
}

static int check_entry(struct pathset *set, size_t i, struct cs_error *err)
{
	const struct cs_entry *e = &set->entries[i];
	char buf[128];
	size_t depth = 0;
	bool outside;

	if (!e->path || !e->path[0])
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "empty path");
	const char *why = path_problem(e->path, &depth, &outside, buf, sizeof buf);
	if (why)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "%s", why);
	/* Top-level .clawstate-* names are the restore writer's own (a staging dir,
	 * journal or old tree inside a mount-point target): a snapshot never stores
	 * them, so an archive that has one is planting it. */
	if (!strchr(e->path, '/') && strncmp(e->path, ".clawstate-", 11) == 0)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "reserved name (.clawstate-*)");
	if (e->type < CS_ENTRY_FILE || e->type > CS_ENTRY_HARDLINK)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "unsupported entry type (%d)", e->type);
	if (e->mode & ~07777u)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "invalid mode %o", e->mode);
	if (e->mtime_nsec < 0 || e->mtime_nsec > 999999999)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "invalid mtime");

	/* Every parent must be an earlier directory of the list: then no entry
	 * can be created through a symlink or below a file. */
	const char *slash = strrchr(e->path, '/');
	if (slash) {
		long p = pathset_find(set, e->path, (size_t)(slash - e->path));
		if (p < 0)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path,
					  "parent directory not listed before this entry");
		int pt = set->entries[p].type;
		if (pt == CS_ENTRY_SYMLINK)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "path goes through a symlink");
		if (pt != CS_ENTRY_DIR)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path,
					  "path goes through a non-directory");
	}

	if (e->type == CS_ENTRY_SYMLINK) {
		/* Stored as text and never followed, so any target is allowed. */
		if (!e->target || !e->target[0])
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "empty symlink target");
		if (strlen(e->target) > CS_CAP_PATH)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "symlink target too long");
	} else if (e->type == CS_ENTRY_HARDLINK) {
		size_t tdepth;
		if (!e->target || !e->target[0])
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "hardlink without target");
		const char *twhy = path_problem(e->target, &tdepth, &outside, buf, sizeof buf);
		if (twhy && outside)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "hardlink to outside the tree");
		if (twhy)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path, "hardlink target: %s", twhy);
		long t = pathset_find(set, e->target, strlen(e->target));
		if (t < 0)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path,
					  "hardlink target is not an earlier entry");
		if (set->entries[t].type != CS_ENTRY_FILE)
			return cs_err_set(err, CS_ERR_HOSTILE, e->path,
					  "hardlink target is not a regular file");
	}

	int rc = check_xattrs(e, err);
	if (rc != CS_OK)
		return rc;
	if (pathset_add(set, i) >= 0)
		return cs_err_set(err, CS_ERR_HOSTILE, e->path, "duplicate entry");
	return CS_OK;
}

int cs_entries_validate(const struct cs_entry *entries, size_t n, struct cs_error *err)
{
	struct pathset set = {0};
	int rc = CS_OK;

	if (n > CS_CAP_ENTRIES)
		return cs_err_set(err, CS_ERR_HOSTILE, NULL, "too many entries (%zu, at most %llu)",
				  n, CS_CAP_ENTRIES);
	if (n == 0)
		return CS_OK;
	if (!entries)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "no entry list");
	if (pathset_init(&set, entries, n) < 0)
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "entry set: out of memory");
	for (size_t i = 0; i < n; i++) {
		/* Checked in list order, so "earlier" means found in the set so far. */
		if ((rc = check_entry(&set, i, err)) != CS_OK)
			goto out;
	}
out:
	free(set.slot);
	sodium_memzero(set.key, sizeof set.key);
	return rc;
}
