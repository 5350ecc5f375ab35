/* owner_map.c - restore ownership options: --uid-map/--gid-map ranges,
 * --unmapped, --owner-by-name, and the owner each recorded uid:gid gets. */
#include "internal.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* (uid_t)-1 means "leave unchanged" to chown(2): the highest usable id is one less. */
#define ID_MAX (UINT32_MAX - 1u)

/* A decimal id in s[0..len): digits only, at most ID_MAX. */
static bool parse_id(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > ID_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* One item "FROM:TO" or "FIRST-LAST:TO" of s[0..len). */
static int parse_item(const char *s, size_t len, const char *flag, struct cs_id_range *r,
		      struct cs_error *err)
{
	const char *colon = memchr(s, ':', len);
	if (!colon)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "%s: '%.*s' is not FROM:TO", flag,
				  (int)len, s);
	size_t flen = (size_t)(colon - s);
	const char *dash = memchr(s, '-', flen);
	uint32_t first, last, to;
	bool ok = dash ? parse_id(s, (size_t)(dash - s), &first) &&
				 parse_id(dash + 1, flen - (size_t)(dash - s) - 1, &last)
		       : parse_id(s, flen, &first);
	if (!dash)
		last = first;
	if (!ok || !parse_id(colon + 1, len - flen - 1, &to))
		return cs_err_set(err, CS_ERR_USAGE, NULL,
				  "%s: '%.*s' is not FROM:TO or FIRST-LAST:TO in decimal ids "
				  "below 4294967295",
				  flag, (int)len, s);
	if (last < first)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "%s: '%.*s': the range ends before it starts",
				  flag, (int)len, s);
	if ((uint64_t)to + (last - first) > ID_MAX)
		return cs_err_set(err, CS_ERR_USAGE, NULL,
				  "%s: '%.*s' maps past the highest id 4294967294", flag, (int)len, s);
	r->from = first;
	r->to = to;
	r->count = (uint64_t)(last - first) + 1;
	return CS_OK;
}

static int cmp_range(const void *a, const void *b)
{
	const struct cs_id_range *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

int cs_id_map_parse(const char *spec, const char *flag, struct cs_id_map *map,
		    struct cs_error *err)
{
	int rc = CS_OK;
	struct cs_id_range *r = NULL;
	size_t n = 0, cap = 1;
	memset(map, 0, sizeof *map);
	if (!spec || !spec[0])
		return cs_err_set(err, CS_ERR_USAGE, NULL, "%s: empty map", flag);
	for (const char *c = spec; *c; c++)
		cap += *c == ',';
	if (!(r = calloc(cap, sizeof *r)))
		return cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
	for (const char *c = spec;;) {
		const char *comma = strchr(c, ',');
		size_t len = comma ? (size_t)(comma - c) : strlen(c);
		if (len == 0) {
			rc = cs_err_set(err, CS_ERR_USAGE, NULL, "%s: empty item in '%s'", flag, spec);
			goto out;
		}
		if ((rc = parse_item(c, len, flag, &r[n], err)) != CS_OK)
			goto out;
		n++;
		if (!comma)
			break;
		c = comma + 1;
	}
	qsort(r, n, sizeof *r, cmp_range);
	/* One id mapped two ways is a typo, never a choice. */
	for (size_t i = 1; i < n; i++) {
		if ((uint64_t)r[i - 1].from + r[i - 1].count > r[i].from) {
			rc = cs_err_set(err, CS_ERR_USAGE, NULL,
					"%s: id %" PRIu32 " is mapped more than once", flag, r[i].from);
			goto out;
		}
	}
	map->ranges = r;
	map->n = n;
	r = NULL;
out:
	free(r);
	return rc;
}

int cs_id_map_lookup(const struct cs_id_map *map, uint32_t id, uint32_t *out)
{
	size_t lo = 0, hi = map->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cs_id_range *r = &map->ranges[mid];
		if (id < r->from) {
			hi = mid;
		} else if ((uint64_t)id >= (uint64_t)r->from + r->count) {
			lo = mid + 1;
		} else {
			*out = r->to + (id - r->from);
			return true;
		}
	}
	return false;
}

void cs_id_map_free(struct cs_id_map *map)
{
	if (!map)
		return;
	free(map->ranges);
	memset(map, 0, sizeof *map);
}

int cs_unmapped_parse(const char *s)
{
	if (strcmp(s, "keep") == 0)
		return CS_UNMAPPED_KEEP;
	if (strcmp(s, "owner") == 0)
		return CS_UNMAPPED_OWNER;
	if (strcmp(s, "fail") == 0)
		return CS_UNMAPPED_FAIL;
	return -1;
}

/* getpwnam_r/getgrnam_r want a buffer whose size only sysconf can suggest. */
static char *name_buf(int which, size_t *len)
{
	long n = sysconf(which);
	*len = n > 0 ? (size_t)n : 16384;
	return malloc(*len);
}

int cs_owner_by_name(const char *spec, uint32_t *uid, uint32_t *gid, struct cs_error *err)
{
	int rc = CS_OK;
	char *user = NULL, *buf = NULL;
	size_t len;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	if (!spec || !spec[0] || spec[0] == ':')
		return cs_err_set(err, CS_ERR_USAGE, NULL, "--owner-by-name: want USER[:GROUP]");
	if (!(user = strdup(spec)) || !(buf = name_buf(_SC_GETPW_R_SIZE_MAX, &len))) {
		rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	char *group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	if (group && (!group[0] || strchr(group, ':'))) {
		rc = cs_err_set(err, CS_ERR_USAGE, NULL, "--owner-by-name: want USER[:GROUP], got '%s'",
				spec);
		goto out;
	}
	int e = getpwnam_r(user, &pw, buf, len, &pwp);
	if (!pwp) {
		rc = cs_err_set(err, CS_ERR_USAGE, NULL, "--owner-by-name: no user '%s' on this host%s%s",
				user, e ? ": " : "", e ? strerror(e) : "");
		goto out;
	}
	*uid = (uint32_t)pw.pw_uid;
	*gid = (uint32_t)pw.pw_gid;
	if (group) {
		free(buf);
		if (!(buf = name_buf(_SC_GETGR_R_SIZE_MAX, &len))) {
			rc = cs_err_set(err, CS_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
		e = getgrnam_r(group, &gr, buf, len, &grp);
		if (!grp) {
			rc = cs_err_set(err, CS_ERR_USAGE, NULL,
					"--owner-by-name: no group '%s' on this host%s%s", group,
					e ? ": " : "", e ? strerror(e) : "");
			goto out;
		}
		*gid = (uint32_t)gr.gr_gid;
	}
	if (*uid > ID_MAX || *gid > ID_MAX)
		rc = cs_err_set(err, CS_ERR_USAGE, NULL, "--owner-by-name: '%s' has no usable id", spec);
out:
	free(buf);
	free(user);
	return rc;
}

static bool have_maps(const struct cs_restore_opts *o)
{
	return o->uid_map.n || o->gid_map.n;
}

int cs_owner_opts_check(const struct cs_restore_opts *o, struct cs_error *err)
{
	if (o->unmapped < CS_UNMAPPED_KEEP || o->unmapped > CS_UNMAPPED_FAIL)
		return cs_err_set(err, CS_ERR_USAGE, NULL, "--unmapped: want keep, owner or fail");
	if (o->unmapped != CS_UNMAPPED_KEEP && !have_maps(o))
		return cs_err_set(err, CS_ERR_USAGE, NULL, "--unmapped needs --uid-map or --gid-map");
	if (o->unmapped == CS_UNMAPPED_OWNER && !o->have_owner)
		return cs_err_set(err, CS_ERR_USAGE, NULL,
				  "--unmapped owner needs --owner (or --owner-by-name)");
	/* Whether --owner would win over the maps or only fill their gaps is not
	 * obvious: say it. */
	if (o->have_owner && have_maps(o) && o->unmapped != CS_UNMAPPED_OWNER)
		return cs_err_set(err, CS_ERR_USAGE, NULL,
				  "--owner with --uid-map/--gid-map needs --unmapped owner");
	return CS_OK;
}

int cs_owner_opts_given(const struct cs_restore_opts *o)
{
	return o->have_owner || have_maps(o);
}

/* One id through its map; a kind without a map keeps its ids. */
static int resolve_one(const struct cs_restore_opts *o, const struct cs_id_map *map,
		       const char *kind, uint32_t fallback, const char *path, uint32_t id,
		       uint32_t *out, struct cs_error *err)
{
	if (!map->n) {
		*out = id;
		return CS_OK;
	}
	if (cs_id_map_lookup(map, id, out))
		return CS_OK;
	switch (o->unmapped) {
	case CS_UNMAPPED_OWNER:
		*out = fallback;
		return CS_OK;
	case CS_UNMAPPED_FAIL:
		return cs_err_set(err, CS_ERR_UNMAPPED, path,
				  "%s %" PRIu32 " is not mapped (--unmapped fail)", kind, id);
	default:
		*out = id;
		return CS_OK;
	}
}

int cs_owner_resolve(const struct cs_restore_opts *o, const char *path, uint32_t uid,
		     uint32_t gid, uint32_t *out_uid, uint32_t *out_gid, struct cs_error *err)
{
	if (o->have_owner && !have_maps(o)) {
		*out_uid = o->owner_uid;
		*out_gid = o->owner_gid;
		return CS_OK;
	}
	int rc = resolve_one(o, &o->uid_map, "uid", o->owner_uid, path, uid, out_uid, err);
	if (rc == CS_OK)
		rc = resolve_one(o, &o->gid_map, "gid", o->owner_gid, path, gid, out_gid, err);
	return rc;
}
