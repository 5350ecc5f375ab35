/* test_owner_map.c - --uid-map/--gid-map parsing and lookup at range edges,
 * strict refusals, --unmapped and the owner each recorded id resolves to. */
#include "clawstate.h"
#include "check.h"

#include <string.h>

/* The mapped id of id under spec, or -1 when unmapped (or spec refused). */
static long long map_of(const char *spec, uint32_t id)
{
	struct cs_id_map m;
	uint32_t out = 0;
	long long r = -1;
	if (cs_id_map_parse(spec, "--uid-map", &m, &check_err) != CS_OK)
		return -2;
	if (cs_id_map_lookup(&m, id, &out))
		r = out;
	cs_id_map_free(&m);
	return r;
}

static int refused(const char *spec)
{
	struct cs_id_map m;
	int rc = cs_id_map_parse(spec, "--uid-map", &m, &check_err);
	int ok = rc == CS_ERR_USAGE && m.n == 0 && m.ranges == NULL && check_err.what[0];
	cs_id_map_free(&m);
	return ok;
}

static void test_parse_lookup(void)
{
	CHECK(map_of("1001:1000", 1001) == 1000);
	CHECK(map_of("1001:1000", 1000) == -1);
	CHECK(map_of("1001:1000", 1002) == -1);
	/* 1000..1999 -> 101000..101999, exactly at both edges. */
	CHECK(map_of("1000-1999:101000", 999) == -1);
	CHECK(map_of("1000-1999:101000", 1000) == 101000);
	CHECK(map_of("1000-1999:101000", 1500) == 101500);
	CHECK(map_of("1000-1999:101000", 1999) == 101999);
	CHECK(map_of("1000-1999:101000", 2000) == -1);
	/* Several items, given out of order, adjacent ranges. */
	CHECK(map_of("2000-2009:0,0:5000,1000-1999:101000", 0) == 5000);
	CHECK(map_of("2000-2009:0,0:5000,1000-1999:101000", 2009) == 9);
	CHECK(map_of("2000-2009:0,0:5000,1000-1999:101000", 1999) == 101999);
	CHECK(map_of("2000-2009:0,0:5000,1000-1999:101000", 2010) == -1);
	/* Many-to-one is allowed; the highest usable id is 4294967294. */
	CHECK(map_of("1001:1000,1002:1000", 1002) == 1000);
	CHECK(map_of("4294967294:1", 4294967294u) == 1);
	CHECK(map_of("1:4294967294", 1) == 4294967294ll);
	CHECK(map_of("0-4294967294:0", 4294967294u) == 4294967294ll);
	CHECK(map_of("1-10:4294967285", 10) == 4294967294ll);
	CHECK(map_of("5-5:7", 5) == 7);
}

static void test_refusals(void)
{
	CHECK(refused(""));
	CHECK(refused(","));
	CHECK(refused("1:2,"));
	CHECK(refused(",1:2"));
	CHECK(refused("1:2,,3:4"));
	CHECK(refused("1"));
	CHECK(refused("1:"));
	CHECK(refused(":1"));
	CHECK(refused("a:1"));
	CHECK(refused("+1:2"));
	CHECK(refused("-1:2"));
	CHECK(refused("1-:2"));
	CHECK(refused("1:2:3"));
	CHECK(refused("1:2-3"));
	CHECK(refused(" 1:2"));
	CHECK(refused("10-5:0"));
	/* Overlaps, including one shared edge id and a duplicate. */
	CHECK(refused("1000-1999:0,1999:5"));
	CHECK(refused("1000-1999:0,1500-2500:5000"));
	CHECK(refused("7:1,7:2"));
	CHECK(refused("7:1,0-100:200"));
	/* Overflow past the highest id, in the source and in the target. */
	CHECK(refused("4294967295:1"));
	CHECK(refused("1:4294967295"));
	CHECK(refused("1-10:4294967286"));
	CHECK(refused("0-4294967295:0"));
	CHECK(refused("99999999999:1"));
	CHECK(refused("18446744073709551617:1"));
	CHECK(map_of("1-10:4294967285", 1) == 4294967285ll);
}

static void test_unmapped_parse(void)
{
	CHECK(cs_unmapped_parse("keep") == CS_UNMAPPED_KEEP);
	CHECK(cs_unmapped_parse("owner") == CS_UNMAPPED_OWNER);
	CHECK(cs_unmapped_parse("fail") == CS_UNMAPPED_FAIL);
	CHECK(cs_unmapped_parse("Keep") == -1);
	CHECK(cs_unmapped_parse("") == -1);
}

static void test_resolve(void)
{
	struct cs_restore_opts o;
	uint32_t u = 0, g = 0;
	memset(&o, 0, sizeof o);
	/* No option: the recorded ids. */
	CHECK(!cs_owner_opts_given(&o));
	CHECK_OK(cs_owner_opts_check(&o, &check_err));
	CHECK_OK(cs_owner_resolve(&o, "a", 1001, 1002, &u, &g, &check_err));
	CHECK(u == 1001 && g == 1002);
	/* --owner alone: everything. */
	o.have_owner = 1;
	o.owner_uid = 5000;
	o.owner_gid = 5001;
	CHECK(cs_owner_opts_given(&o));
	CHECK_OK(cs_owner_resolve(&o, "a", 1001, 1002, &u, &g, &check_err));
	CHECK(u == 5000 && g == 5001);
	/* A map: mapped ids change, others are kept; a kind without a map keeps. */
	o.have_owner = 0;
	CHECK_OK(cs_id_map_parse("1001:1000", "--uid-map", &o.uid_map, &check_err));
	CHECK_OK(cs_owner_opts_check(&o, &check_err));
	CHECK_OK(cs_owner_resolve(&o, "a", 1001, 1001, &u, &g, &check_err));
	CHECK(u == 1000 && g == 1001);
	CHECK_OK(cs_owner_resolve(&o, "a", 7, 7, &u, &g, &check_err));
	CHECK(u == 7 && g == 7);
	/* --owner with a map only makes sense as the fallback. */
	o.have_owner = 1;
	CHECK_RC(cs_owner_opts_check(&o, &check_err), CS_ERR_USAGE);
	o.unmapped = CS_UNMAPPED_OWNER;
	CHECK_OK(cs_owner_opts_check(&o, &check_err));
	CHECK_OK(cs_owner_resolve(&o, "a", 7, 7, &u, &g, &check_err));
	CHECK(u == 5000 && g == 7);
	CHECK_OK(cs_owner_resolve(&o, "a", 1001, 7, &u, &g, &check_err));
	CHECK(u == 1000 && g == 7);
	o.have_owner = 0;
	CHECK_RC(cs_owner_opts_check(&o, &check_err), CS_ERR_USAGE);
	/* fail names the id and the entry. */
	o.unmapped = CS_UNMAPPED_FAIL;
	CHECK_OK(cs_owner_opts_check(&o, &check_err));
	CHECK_OK(cs_owner_resolve(&o, "a", 1001, 0, &u, &g, &check_err));
	CHECK_RC(cs_owner_resolve(&o, "x/y", 1234, 0, &u, &g, &check_err), CS_ERR_UNMAPPED);
	CHECK(strcmp(check_err.path, "x/y") == 0 && strstr(check_err.what, "uid 1234 is not mapped"));
	CHECK(cs_exit_code(CS_ERR_UNMAPPED) == 1);
	cs_id_map_free(&o.uid_map);
	/* --unmapped without any map, and an unknown value. */
	CHECK_RC(cs_owner_opts_check(&o, &check_err), CS_ERR_USAGE);
	o.unmapped = 3;
	CHECK_RC(cs_owner_opts_check(&o, &check_err), CS_ERR_USAGE);
}

static void test_by_name(void)
{
	uint32_t u = 1, g = 1;
	CHECK_OK(cs_owner_by_name("root", &u, &g, &check_err));
	CHECK(u == 0 && g == 0);
	CHECK_OK(cs_owner_by_name("root:root", &u, &g, &check_err));
	CHECK(u == 0 && g == 0);
	CHECK_RC(cs_owner_by_name("no-such-user-cs", &u, &g, &check_err), CS_ERR_USAGE);
	CHECK(strstr(check_err.what, "no-such-user-cs") != NULL);
	CHECK_RC(cs_owner_by_name("root:no-such-group-cs", &u, &g, &check_err), CS_ERR_USAGE);
	CHECK(strstr(check_err.what, "no-such-group-cs") != NULL);
	CHECK_RC(cs_owner_by_name("", &u, &g, &check_err), CS_ERR_USAGE);
	CHECK_RC(cs_owner_by_name("root:", &u, &g, &check_err), CS_ERR_USAGE);
	CHECK_RC(cs_owner_by_name(":root", &u, &g, &check_err), CS_ERR_USAGE);
}

int main(void)
{
	test_parse_lookup();
	test_refusals();
	test_unmapped_parse();
	test_resolve();
	test_by_name();
	TEST_DONE();
}
