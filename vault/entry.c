/* entry.c - encode, decode, free and copy the vault's snapshot and entry records. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ENTRY_VERSION 1
#define SNAP_VERSION 1

/* ---- a growable output buffer; the first failed allocation sticks ---- */

struct enc {
	unsigned char *buf;
	size_t len, cap;
	bool failed;
};

static void enc_bytes(struct enc *o, const void *p, size_t n)
{
	if (o->failed)
		return;
	if (n > SIZE_MAX / 2 - o->len) {
		o->failed = true;
		return;
	}
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap < o->len + n)
			cap *= 2;
		unsigned char *nb = realloc(o->buf, cap);
		if (!nb) {
			o->failed = true;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
	if (n)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void enc_u8(struct enc *o, uint8_t v)
{
	enc_bytes(o, &v, 1);
}

static void enc_u32(struct enc *o, uint32_t v)
{
	unsigned char b[4];
	cs_be32(b, v);
	enc_bytes(o, b, 4);
}

static void enc_u64(struct enc *o, uint64_t v)
{
	unsigned char b[8];
	cs_be64(b, v);
	enc_bytes(o, b, 8);
}

static void enc_blob(struct enc *o, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		o->failed = true;
		return;
	}
	enc_u32(o, (uint32_t)n);
	enc_bytes(o, p, n);
}

static void enc_str(struct enc *o, const char *s)
{
	enc_blob(o, s, s ? strlen(s) : 0);
}

static int enc_finish(struct enc *o, unsigned char **buf, size_t *len, struct cs_error *err)
{
	if (o->failed) {
		free(o->buf);
		o->buf = NULL;
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "encoding a vault record: out of memory");
	}
	*buf = o->buf;
	*len = o->len;
	return CS_OK;
}

/* ---- a bounds-checked reader: every length is checked against what is left ---- */

struct dec {
	const unsigned char *p;
	size_t left;
	const char *bad; /* first problem found */
};

static const unsigned char *dec_take(struct dec *d, size_t n)
{
	if (d->bad)
		return NULL;
	if (n > d->left) {
		d->bad = "truncated";
		return NULL;
	}
	const unsigned char *p = d->p;
	d->p += n;
	d->left -= n;
	return p;
}

static uint8_t dec_u8(struct dec *d)
{
	const unsigned char *p = dec_take(d, 1);
	return p ? p[0] : 0;
}

static uint32_t dec_u32(struct dec *d)
{
	const unsigned char *p = dec_take(d, 4);
	return p ? cs_rd32(p) : 0;
}

static uint64_t dec_u64(struct dec *d)
{
	const unsigned char *p = dec_take(d, 8);
	return p ? cs_rd64(p) : 0;
}

/* A length-prefixed byte string of at most max bytes (no NUL when text). */
static const unsigned char *dec_blob(struct dec *d, size_t max, bool text, size_t *n)
{
	uint32_t len = dec_u32(d);
	*n = 0;
	if (d->bad)
		return NULL;
	if (len > max) {
		d->bad = "string longer than allowed";
		return NULL;
	}
	const unsigned char *p = dec_take(d, len);
	if (p && text && memchr(p, '\0', len)) {
		d->bad = "NUL byte inside a string";
		return NULL;
	}
	*n = len;
	return p;
}

/* Text into a fixed buffer of cap bytes (NUL included). */
static void dec_fixed(struct dec *d, char *out, size_t cap)
{
	size_t n;
	const unsigned char *p = dec_blob(d, cap - 1, true, &n);
	if (!p) {
		out[0] = '\0';
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Text into a new malloc'd string; NULL for an empty one.  *nomem on allocation failure. */
static char *dec_alloc(struct dec *d, size_t max, bool *nomem)
{
	size_t n;
	const unsigned char *p = dec_blob(d, max, true, &n);
	if (!p || n == 0)
		return NULL;
	char *s = malloc(n + 1);
	if (!s) {
		*nomem = true;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* ---- names ---- */

const char *cs_class_name(int cls)
{
	switch (cls) {
	case CS_CLASS_OTHER: return "other";
	case CS_CLASS_SECRET: return "secret";
	case CS_CLASS_SESSION: return "session";
	case CS_CLASS_CONFIG: return "config";
	case CS_CLASS_WORKSPACE: return "workspace";
	case CS_CLASS_MEDIA: return "media";
	case CS_CLASS_DATABASE: return "database";
	default: return "unknown";
	}
}

/* ---- freeing and copying ---- */

void cs_entry_free(struct cs_entry *e)
{
	if (!e)
		return;
	free(e->path);
	free(e->target);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		free(e->xattrs[i].name);
		if (e->xattrs[i].value) {
			sodium_memzero(e->xattrs[i].value, e->xattrs[i].len);
			free(e->xattrs[i].value);
		}
	}
	free(e->xattrs);
	memset(e, 0, sizeof(*e));
}

void cs_ventry_free(struct cs_ventry *ve)
{
	if (!ve)
		return;
	cs_entry_free(&ve->e);
	free(ve->chunks);
	memset(ve, 0, sizeof(*ve));
}

static char *dup_or_null(const char *s, bool *nomem)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*nomem = true;
	return d;
}

int cs_entry_copy(struct cs_entry *dst, const struct cs_entry *src, struct cs_error *err)
{
	bool nomem = false;
	*dst = *src;
	dst->path = NULL;
	dst->target = NULL;
	dst->xattrs = NULL;
	dst->n_xattrs = 0;
	dst->path = dup_or_null(src->path, &nomem);
	dst->target = dup_or_null(src->target, &nomem);
	if (!nomem && src->n_xattrs) {
		dst->xattrs = calloc(src->n_xattrs, sizeof(*dst->xattrs));
		if (!dst->xattrs)
			nomem = true;
		for (size_t i = 0; !nomem && i < src->n_xattrs; i++) {
			const struct cs_xattr *x = &src->xattrs[i];
			dst->n_xattrs++;
			dst->xattrs[i].name = dup_or_null(x->name, &nomem);
			dst->xattrs[i].len = x->len;
			dst->xattrs[i].value = malloc(x->len ? x->len : 1);
			if (!dst->xattrs[i].value)
				nomem = true;
			else if (x->len)
				memcpy(dst->xattrs[i].value, x->value, x->len);
		}
	}
	if (nomem) {
		cs_entry_free(dst);
		return cs_err_set(err, CS_ERR_NOMEM, src->path, "copying an entry: out of memory");
	}
	return CS_OK;
}

/* ---- entry records ---- */

int cs_ventry_encode(const struct cs_ventry *ve, unsigned char **buf, size_t *len,
		     struct cs_error *err)
{
	const struct cs_entry *e = &ve->e;
	struct enc o = {0};
	enc_u8(&o, ENTRY_VERSION);
	enc_u8(&o, (uint8_t)e->type);
	enc_u8(&o, (uint8_t)e->cls);
	enc_u8(&o, e->is_sqlite ? 1 : 0);
	enc_u32(&o, e->mode);
	enc_u32(&o, e->uid);
	enc_u32(&o, e->gid);
	enc_u64(&o, (uint64_t)e->mtime_sec);
	enc_u32(&o, (uint32_t)e->mtime_nsec);
	enc_u64(&o, e->size);
	enc_bytes(&o, e->hash, CS_HASH_BYTES);
	enc_u64(&o, ve->dev);
	enc_u64(&o, ve->ino);
	enc_u64(&o, ve->nlink);
	enc_u64(&o, ve->st_size);
	enc_u64(&o, (uint64_t)ve->ctime_sec);
	enc_u32(&o, (uint32_t)ve->ctime_nsec);
	enc_str(&o, e->path);
	enc_str(&o, e->target);
	enc_u32(&o, (uint32_t)e->n_xattrs);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		enc_str(&o, e->xattrs[i].name);
		enc_blob(&o, e->xattrs[i].value, e->xattrs[i].len);
	}
	enc_u32(&o, (uint32_t)ve->n_chunks);
	for (size_t i = 0; i < ve->n_chunks; i++) {
		enc_bytes(&o, ve->chunks[i].id, CS_HASH_BYTES);
		enc_u32(&o, ve->chunks[i].len);
	}
	if (e->n_xattrs > UINT32_MAX || ve->n_chunks > UINT32_MAX)
		o.failed = true;
	return enc_finish(&o, buf, len, err);
}

static bool nsec_ok(uint32_t ns)
{
	return ns < 1000000000u;
}

/* The checks of one decoded entry's fields against each other; NULL when fine. */
static const char *ventry_check(const struct cs_ventry *ve, uint8_t flags)
{
	const struct cs_entry *e = &ve->e;
	if (e->type < CS_ENTRY_FILE || e->type > CS_ENTRY_HARDLINK)
		return "unknown entry type";
	if (e->cls < CS_CLASS_OTHER || e->cls > CS_CLASS_DATABASE)
		return "unknown class";
	if (flags & ~1u)
		return "unknown flags";
	if (e->is_sqlite && e->type != CS_ENTRY_FILE)
		return "database flag on a non-file";
	if (e->mode & ~07777u)
		return "mode has bits beyond 07777";
	if (!nsec_ok((uint32_t)e->mtime_nsec) || !nsec_ok((uint32_t)ve->ctime_nsec))
		return "nanoseconds out of range";
	if (!e->path)
		return "empty path";
	bool wants_target = e->type == CS_ENTRY_SYMLINK || e->type == CS_ENTRY_HARDLINK;
	if (wants_target != (e->target != NULL))
		return wants_target ? "link without a target" : "target on an entry that takes none";
	if (e->type == CS_ENTRY_FILE) {
		uint64_t sum = 0;
		for (size_t i = 0; i < ve->n_chunks; i++) {
			if (ve->chunks[i].len == 0 || ve->chunks[i].len > CS_CHUNK_MAX)
				return "chunk length out of range";
			sum += ve->chunks[i].len;
		}
		if (sum != e->size)
			return "chunk lengths do not add up to the size";
	} else {
		static const unsigned char zero[CS_HASH_BYTES];
		if (ve->n_chunks || e->size || memcmp(e->hash, zero, CS_HASH_BYTES))
			return "content on an entry that has none";
	}
	return NULL;
}

int cs_ventry_decode(const unsigned char *buf, size_t len, struct cs_ventry *ve,
		     struct cs_error *err)
{
	struct dec d = {buf, len, NULL};
	bool nomem = false;
	const char *bad = NULL;
	int rc = CS_OK;
	memset(ve, 0, sizeof(*ve));
	struct cs_entry *e = &ve->e;

	uint8_t version = dec_u8(&d);
	if (!d.bad && version != ENTRY_VERSION)
		return cs_err_set(err, CS_ERR_VERSION, NULL, "entry record version %u not supported",
				  version);
	e->type = dec_u8(&d);
	e->cls = dec_u8(&d);
	uint8_t flags = dec_u8(&d);
	e->is_sqlite = flags & 1;
	e->mode = dec_u32(&d);
	e->uid = dec_u32(&d);
	e->gid = dec_u32(&d);
	e->mtime_sec = (int64_t)dec_u64(&d);
	e->mtime_nsec = (int32_t)dec_u32(&d);
	e->size = dec_u64(&d);
	const unsigned char *h = dec_take(&d, CS_HASH_BYTES);
	if (h)
		memcpy(e->hash, h, CS_HASH_BYTES);
	ve->dev = dec_u64(&d);
	ve->ino = dec_u64(&d);
	ve->nlink = dec_u64(&d);
	ve->st_size = dec_u64(&d);
	ve->ctime_sec = (int64_t)dec_u64(&d);
	ve->ctime_nsec = (int32_t)dec_u32(&d);
	e->path = dec_alloc(&d, CS_CAP_PATH, &nomem);
	e->target = dec_alloc(&d, CS_CAP_PATH, &nomem);

	uint32_t nx = dec_u32(&d);
	if (!d.bad && nx > CS_CAP_XATTRS)
		d.bad = "too many xattrs";
	if (!d.bad && !nomem && nx) {
		e->xattrs = calloc(nx, sizeof(*e->xattrs));
		if (!e->xattrs)
			nomem = true;
	}
	for (uint32_t i = 0; i < nx && !d.bad && !nomem; i++) {
		struct cs_xattr *x = &e->xattrs[i];
		e->n_xattrs++;
		x->name = dec_alloc(&d, CS_CAP_NAME, &nomem);
		if (!d.bad && !nomem && !x->name)
			d.bad = "empty xattr name";
		size_t vlen;
		const unsigned char *vp = dec_blob(&d, CS_CAP_XATTR_VALUE, false, &vlen);
		if (!vp || nomem)
			break;
		x->value = malloc(vlen ? vlen : 1);
		if (!x->value) {
			nomem = true;
			break;
		}
		memcpy(x->value, vp, vlen);
		x->len = vlen;
	}

	uint32_t nc = dec_u32(&d);
	if (!d.bad && nc > d.left / (CS_HASH_BYTES + 4))
		d.bad = "chunk count larger than the record";
	if (!d.bad && !nomem && nc) {
		ve->chunks = calloc(nc, sizeof(*ve->chunks));
		if (!ve->chunks)
			nomem = true;
	}
	for (uint32_t i = 0; i < nc && !d.bad && !nomem; i++) {
		const unsigned char *id = dec_take(&d, CS_HASH_BYTES);
		if (id)
			memcpy(ve->chunks[i].id, id, CS_HASH_BYTES);
		ve->chunks[i].len = dec_u32(&d);
		ve->n_chunks++;
	}
	if (!d.bad && d.left)
		d.bad = "trailing bytes";

	if (nomem) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "decoding an entry: out of memory");
		goto out;
	}
	bad = d.bad ? d.bad : ventry_check(ve, flags);
	if (bad)
		rc = cs_err_set(err, CS_ERR_CORRUPT, e->path, "entry record: %s", bad);
out:
	if (rc != CS_OK)
		cs_ventry_free(ve);
	return rc;
}

/* ---- snapshot records ---- */

int cs_vsnap_encode(const struct cs_vsnap *s, unsigned char **buf, size_t *len,
		    struct cs_error *err)
{
	const struct cs_snapshot_info *i = &s->info;
	struct enc o = {0};
	enc_u8(&o, SNAP_VERSION);
	enc_u64(&o, i->seq);
	enc_u64(&o, (uint64_t)i->started_sec);
	enc_u32(&o, (uint32_t)i->started_nsec);
	enc_u64(&o, (uint64_t)i->finished_sec);
	enc_u32(&o, (uint32_t)i->finished_nsec);
	enc_str(&o, i->tag);
	enc_str(&o, i->state_dir);
	enc_str(&o, i->home);
	enc_str(&o, i->layout);
	enc_u32(&o, i->uid);
	enc_u32(&o, i->gid);
	enc_u32(&o, i->root_mode);
	enc_u64(&o, (uint64_t)i->root_mtime_sec);
	enc_u32(&o, (uint32_t)i->root_mtime_nsec);
	enc_str(&o, i->tool_version);
	enc_u32(&o, i->format);
	enc_u64(&o, i->entries);
	enc_u64(&o, i->files);
	enc_u64(&o, i->bytes);
	enc_u8(&o, i->partial ? 1 : 0);
	enc_u64(&o, s->dk_id);
	enc_u64(&o, s->n_entries);
	return enc_finish(&o, buf, len, err);
}

int cs_vsnap_decode(const unsigned char *buf, size_t len, struct cs_vsnap *s,
		    struct cs_error *err)
{
	struct dec d = {buf, len, NULL};
	struct cs_snapshot_info *i = &s->info;
	memset(s, 0, sizeof(*s));
	uint8_t version = dec_u8(&d);
	if (!d.bad && version != SNAP_VERSION)
		return cs_err_set(err, CS_ERR_VERSION, NULL,
				  "snapshot record version %u not supported", version);
	i->seq = dec_u64(&d);
	i->started_sec = (int64_t)dec_u64(&d);
	i->started_nsec = (int32_t)dec_u32(&d);
	i->finished_sec = (int64_t)dec_u64(&d);
	i->finished_nsec = (int32_t)dec_u32(&d);
	dec_fixed(&d, i->tag, sizeof(i->tag));
	dec_fixed(&d, i->state_dir, sizeof(i->state_dir));
	dec_fixed(&d, i->home, sizeof(i->home));
	dec_fixed(&d, i->layout, sizeof(i->layout));
	i->uid = dec_u32(&d);
	i->gid = dec_u32(&d);
	i->root_mode = dec_u32(&d);
	i->root_mtime_sec = (int64_t)dec_u64(&d);
	i->root_mtime_nsec = (int32_t)dec_u32(&d);
	dec_fixed(&d, i->tool_version, sizeof(i->tool_version));
	i->format = dec_u32(&d);
	i->entries = dec_u64(&d);
	i->files = dec_u64(&d);
	i->bytes = dec_u64(&d);
	uint8_t partial = dec_u8(&d);
	i->partial = partial;
	s->dk_id = dec_u64(&d);
	s->n_entries = dec_u64(&d);
	if (!d.bad && d.left)
		d.bad = "trailing bytes";
	if (!d.bad && partial > 1)
		d.bad = "bad partial flag";
	if (!d.bad && i->root_mode > 07777)
		d.bad = "bad root mode";
	if (!d.bad && (!nsec_ok((uint32_t)i->started_nsec) || !nsec_ok((uint32_t)i->finished_nsec) ||
		       !nsec_ok((uint32_t)i->root_mtime_nsec)))
		d.bad = "nanoseconds out of range";
	if (!d.bad && (s->n_entries != i->entries || i->files > i->entries ||
		       s->n_entries > CS_CAP_ENTRIES))
		d.bad = "inconsistent counts";
	if (d.bad) {
		memset(s, 0, sizeof(*s));
		return cs_err_set(err, CS_ERR_CORRUPT, NULL, "snapshot record: %s", d.bad);
	}
	return CS_OK;
}
