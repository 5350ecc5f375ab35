/* test_pathrewrite.c - prefix rewriting of plain paths and of JSON string literal bodies. */
#include "internal.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static const struct cs_rewrite rules[] = {
	{"/home/hostuser", "/home/node"},
	{"/home/hostuser/.openclaw", "/home/node/.openclaw"},
	{"/srv/old/", "/data/"}, /* trailing '/' is ignored */
	{"/", "/nope"},          /* ignored: would rewrite everything */
};
#define N_RULES (sizeof rules / sizeof rules[0])

/* Plain rewrite of in; want NULL means unchanged. */
static bool plain_is(const char *in, const char *want)
{
	char *out = (char *)"x";
	size_t len = 99;
	if (cs_rewrite_path(rules, N_RULES, in, strlen(in), &out, &len) != CS_OK)
		return false;
	bool ok = want ? out && len == strlen(want) && !strcmp(out, want) : !out && len == 0;
	if (!ok)
		fprintf(stderr, "  %s -> %s (want %s)\n", in, out ? out : "(unchanged)",
			want ? want : "(unchanged)");
	free(out);
	return ok;
}

static bool literal_is(const char *raw, char quote, const char *want)
{
	char *out = NULL;
	size_t len = 0;
	if (cs_rewrite_literal(rules, N_RULES, raw, strlen(raw), quote, &out, &len) != CS_OK)
		return false;
	bool ok = want ? out && len == strlen(want) && !strcmp(out, want) : !out;
	if (!ok)
		fprintf(stderr, "  %s -> %s (want %s)\n", raw, out ? out : "(unchanged)",
			want ? want : "(unchanged)");
	free(out);
	return ok;
}

static void test_plain(void)
{
	CHECK(plain_is("/home/hostuser", "/home/node"));
	CHECK(plain_is("/home/hostuser/", "/home/node/"));
	CHECK(plain_is("/home/hostuser/notes/a.md", "/home/node/notes/a.md"));
	CHECK(plain_is("/home/hostuser2", NULL));
	CHECK(plain_is("/home/hostuser2/x", NULL));
	CHECK(plain_is("/home/hostuse", NULL));
	CHECK(plain_is("home/hostuser/x", NULL));
	CHECK(plain_is("", NULL));
	/* the state dir rule wins over the home rule, listed first or not */
	CHECK(plain_is("/home/hostuser/.openclaw/workspace", "/home/node/.openclaw/workspace"));
	CHECK(plain_is("/home/hostuser/.openclawx", "/home/node/.openclawx"));
	CHECK(plain_is("/srv/old", "/data"));
	CHECK(plain_is("/srv/old/f", "/data/f"));
	CHECK(plain_is("/srv/older", NULL));
	CHECK(plain_is("/etc/passwd", NULL));
	/* the length given counts, not the NUL */
	char *out = NULL;
	size_t len = 0;
	CHECK_OK(cs_rewrite_path(rules, N_RULES, "/home/hostuser2", 14, &out, &len));
	CHECK(out && len == 10 && !strcmp(out, "/home/node"));
	free(out);
}

static void test_literal(void)
{
	CHECK(literal_is("\\/home\\/hostuser\\/.openclaw\\/workspace", '"',
			 "\\/home\\/node\\/.openclaw\\/workspace"));
	CHECK(literal_is("\\/home\\/hostuser/x", '"', "\\/home\\/node/x"));
	CHECK(literal_is("/home\\/hostuser", '"', "\\/home\\/node"));
	CHECK(literal_is("/home/hostuser\\/x", '"', "/home/node\\/x"));
	CHECK(literal_is("\\/home\\/hostuser2", '"', NULL));
	CHECK(literal_is("/home/hostuser\\\\/x", '"', NULL)); /* value /home/hostuser\/x */
	CHECK(literal_is("/home/hostuser\\n", '"', NULL));
	CHECK(literal_is("\\u002fhome/hostuser", '"', NULL)); /* \u is not decoded */
	CHECK(literal_is("/home/hostuser/it's", '\'', "/home/node/it's"));

	static const struct cs_rewrite odd[] = {{"/a", "/it's \"q\"\\\t"}};
	char *out = NULL;
	size_t len = 0;
	CHECK_OK(cs_rewrite_literal(odd, 1, "/a/b", 4, '\'', &out, &len));
	CHECK(out && !strcmp(out, "/it\\'s \"q\"\\\\\\u0009/b") && len == strlen(out));
	free(out);
	out = NULL;
	CHECK_OK(cs_rewrite_literal(odd, 1, "/a/b", 4, '"', &out, &len));
	CHECK(out && !strcmp(out, "/it's \\\"q\\\"\\\\\\u0009/b"));
	free(out);
}

int main(void)
{
	test_plain();
	test_literal();
	TEST_DONE();
}
