/* test_json5.c - the JSON5 path rewriter: byte-exact output, refusals with line and column. */
#include "internal.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static const struct cs_rewrite rules[] = {
	{"/home/hostuser", "/home/node"},
	{"/home/hostuser/.openclaw", "/home/node/.openclaw"},
};
#define N_RULES (sizeof rules / sizeof rules[0])

/* Rewrite in as JSON5; true when it succeeds with exactly want (NULL: unchanged) and nrw rewrites. */
static bool rewrites_to(const char *in, const char *want, size_t nrw)
{
	char *out = NULL;
	size_t len = 0, n = 99;
	cs_error_clear(&check_err);
	int rc = cs_json5_rewrite(in, strlen(in), rules, N_RULES, &out, &len, &n, "openclaw.json",
				  &check_err);
	bool ok = rc == CS_OK && n == nrw &&
		  (want ? out && len == strlen(want) && !memcmp(out, want, len) : !out && !len);
	if (!ok)
		fprintf(stderr, "  rc %d, %zu rewrites, got:\n%s\n  want:\n%s\n", rc, n,
			out ? out : "(unchanged)", want ? want : "(unchanged)");
	free(out);
	return ok;
}

/* in must be refused with exactly "not valid JSON5 at ..." what, and no output. */
static bool refused(const char *in, size_t len, const char *what)
{
	char *out = (char *)"x";
	size_t out_len = 1, n = 99;
	struct cs_error e;
	cs_error_clear(&e);
	int rc = cs_json5_rewrite(in, len, rules, N_RULES, &out, &out_len, &n, "cfg.json5", &e);
	bool ok = rc == CS_ERR_CORRUPT && !out && !out_len && n == 0 &&
		  !strcmp(e.path, "cfg.json5") && (!what || !strcmp(e.what, what));
	if (!ok)
		fprintf(stderr, "  rc %d, path %s, what \"%s\", want \"%s\"\n", rc, e.path, e.what,
			what ? what : "(any)");
	free(out);
	return ok;
}

static const char config_in[] =
	"\xef\xbb\xbf// OpenClaw config, hand edited\n"
	"{\n"
	"  /* agents */\n"
	"  agents: {\n"
	"    defaults: {\n"
	"      workspace: '/home/hostuser/.openclaw/workspace', // the default\n"
	"      model: \"anthropic/claude\",\n"
	"    },\n"
	"    list: [\n"
	"      { id: 'main', workspace: \"\\/home\\/hostuser\\/.openclaw\\/workspace\" },\n"
	"      { id: 'other', workspace: \"/home/hostuser2/ws\", },\n"
	"    ],\n"
	"  },\n"
	"  \"/home/hostuser/key\": \"/home/hostuser/notes\",\n"
	"  gateway: { url: 'http://localhost:18789//x', port: 0x4965, ratio: +.5, big: -Infinity, n: NaN, e: 1e-3 },\n"
	"  media: [\"/home/hostuser\", '/home/hostuser/', 'relative/home/hostuser', null, true, false,],\n"
	"  quote: 'it\\'s \\\n"
	"/home/hostuser',\n"
	"  $_weird\\u0041key: 1,\n"
	"}\n"
	"/* trailing comment */\n";

static const char config_out[] =
	"\xef\xbb\xbf// OpenClaw config, hand edited\n"
	"{\n"
	"  /* agents */\n"
	"  agents: {\n"
	"    defaults: {\n"
	"      workspace: '/home/node/.openclaw/workspace', // the default\n"
	"      model: \"anthropic/claude\",\n"
	"    },\n"
	"    list: [\n"
	"      { id: 'main', workspace: \"\\/home\\/node\\/.openclaw\\/workspace\" },\n"
	"      { id: 'other', workspace: \"/home/hostuser2/ws\", },\n"
	"    ],\n"
	"  },\n"
	"  \"/home/hostuser/key\": \"/home/node/notes\",\n"
	"  gateway: { url: 'http://localhost:18789//x', port: 0x4965, ratio: +.5, big: -Infinity, n: NaN, e: 1e-3 },\n"
	"  media: [\"/home/node\", '/home/node/', 'relative/home/hostuser', null, true, false,],\n"
	"  quote: 'it\\'s \\\n"
	"/home/hostuser',\n"
	"  $_weird\\u0041key: 1,\n"
	"}\n"
	"/* trailing comment */\n";

static void test_config(void)
{
	CHECK(rewrites_to(config_in, config_out, 5));
	/* nothing to rewrite: no output, no count */
	CHECK(rewrites_to(config_out, NULL, 0));
	CHECK(rewrites_to("{\"a\": \"/home/hostuser2\", \"/home/hostuser\": 1}", NULL, 0));
	/* strict JSON (sessions.json) stays strict JSON */
	CHECK(rewrites_to("{\"s\":{\"sessionFile\":\"/home/hostuser/.openclaw/agents/main/sessions/x.jsonl\","
			  "\"cwd\":\"/home/hostuser\"}}",
			  "{\"s\":{\"sessionFile\":\"/home/node/.openclaw/agents/main/sessions/x.jsonl\","
			  "\"cwd\":\"/home/node\"}}", 2));
	/* a top-level string, and JSON5 white space around it (U+2028, NBSP, U+3000) */
	CHECK(rewrites_to("\xe2\x80\xa8 '/home/hostuser/a'\xc2\xa0\xe3\x80\x80",
			  "\xe2\x80\xa8 '/home/node/a'\xc2\xa0\xe3\x80\x80", 1));
	CHECK(rewrites_to("[1, -2, 3.5, 5., .5, 0, -0, 0X1f, +Infinity, 1E+2, \"\\x41\\u00e9\\0\"]", NULL, 0));
	CHECK(rewrites_to("{a:1,}", NULL, 0));
	CHECK(rewrites_to("[]", NULL, 0));
}

static void test_refused(void)
{
	CHECK(refused("{\n  a: 'unterminated\n}", 22,
		      "not valid JSON5 at line 2 column 19: line break in string"));
	CHECK(refused("{\n  a: 'unterminated", 19,
		      "not valid JSON5 at line 2 column 6: unterminated string"));
	CHECK(refused("{\n  agents: {\n    workspace '/x'\n  }\n}", 35,
		      "not valid JSON5 at line 3 column 15: expected ':' after a key"));
	CHECK(refused("{ a: 1 }\n/* never closed\n", 25,
		      "not valid JSON5 at line 2 column 1: unterminated block comment"));
	CHECK(refused("{ a: 1 }\n}", 10,
		      "not valid JSON5 at line 2 column 1: unexpected data after the value"));
	CHECK(refused("{ a: 1 } garbage", 16,
		      "not valid JSON5 at line 1 column 10: unexpected data after the value"));
	CHECK(refused("", 0, "not valid JSON5 at line 1 column 1: unexpected end of input, expected a value"));
	CHECK(refused("// only a comment\n", 18,
		      "not valid JSON5 at line 2 column 1: unexpected end of input, expected a value"));
	CHECK(refused("{a: 1 b: 2}", 11, "not valid JSON5 at line 1 column 7: expected ',' or '}' in object"));
	CHECK(refused("[1 2]", 5, "not valid JSON5 at line 1 column 4: expected ',' or ']' in array"));
	CHECK(refused("[1,,]", 5, "not valid JSON5 at line 1 column 4: unexpected character, expected a value"));
	CHECK(refused("{,}", 3, "not valid JSON5 at line 1 column 2: expected a key or '}'"));
	CHECK(refused("[012]", 5, "not valid JSON5 at line 1 column 2: bad number (leading zero)"));
	CHECK(refused("[12abc]", 7, "not valid JSON5 at line 1 column 2: bad number"));
	CHECK(refused("[0x]", 4, "not valid JSON5 at line 1 column 2: bad number"));
	CHECK(refused("[undefined]", 11, "not valid JSON5 at line 1 column 2: unexpected character, expected a value"));
	CHECK(refused("['\\x4g']", 8, "not valid JSON5 at line 1 column 3: bad escape in string"));
	CHECK(refused("['\\1']", 6, "not valid JSON5 at line 1 column 3: bad escape in string"));
	CHECK(refused("{1: 2}", 6, "not valid JSON5 at line 1 column 2: expected a key or '}'"));
	CHECK(refused("[1] / 2", 7, "not valid JSON5 at line 1 column 5: unexpected data after the value"));
	/* a NUL byte is not white space */
	CHECK(refused("{}\0", 3, "not valid JSON5 at line 1 column 3: unexpected data after the value"));
	/* a broken config with rewritable paths before the error is still refused whole */
	CHECK(refused("{a: '/home/hostuser/x', b: '/home/hostuser/y' c: 1}", 51,
		      "not valid JSON5 at line 1 column 47: expected ',' or '}' in object"));
}

static void test_depth(void)
{
	char buf[2 * 512 + 1];
	for (size_t depth = 1; depth <= 512; depth *= 2) {
		memset(buf, '[', depth);
		memset(buf + depth, ']', depth);
		char *out = NULL;
		size_t len, n;
		int rc = cs_json5_rewrite(buf, 2 * depth, rules, N_RULES, &out, &len, &n, "d",
					  &check_err);
		CHECK(rc == (depth <= CS_JSON5_MAX_DEPTH ? CS_OK : CS_ERR_CORRUPT) && !out);
	}
	memset(buf, '[', CS_JSON5_MAX_DEPTH + 1);
	CHECK(refused(buf, CS_JSON5_MAX_DEPTH + 1,
		      "not valid JSON5 at line 1 column 257: nested too deeply"));
	/* a hostile file of a million '{' is refused without running out of stack */
	size_t big = 1 << 20;
	char *deep = malloc(big);
	CHECK(deep != NULL);
	if (deep) {
		memset(deep, '{', big);
		CHECK(refused(deep, big, NULL));
		for (size_t i = 0; i < big; i += 4)
			memcpy(deep + i, "{a:[", 4);
		CHECK(refused(deep, big, NULL));
		free(deep);
	}
}

/* Every truncation of the config must parse or be refused, never crash (run under ASan too). */
static void test_truncations(void)
{
	size_t len = strlen(config_in), ok = 0, bad = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		char *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any overread */
		memcpy(copy, config_in, cut);
		char *out = NULL;
		size_t out_len = 0, n = 0;
		struct cs_error e;
		int rc = cs_json5_rewrite(copy, cut, rules, N_RULES, &out, &out_len, &n, "t", &e);
		if (rc == CS_OK)
			ok++;
		else if (rc == CS_ERR_CORRUPT && !out && n == 0)
			bad++;
		free(out);
		rc = cs_jsonl_rewrite_cwd(copy, cut, rules, N_RULES, &out, &out_len, &n, "t", &e);
		CHECK(rc == CS_OK || (rc == CS_ERR_CORRUPT && !out));
		free(out);
		free(copy);
	}
	CHECK(ok + bad == len + 1);
	/* every byte replaced in turn by a few syntax-relevant ones */
	static const char subst[] = "\"'\\/*{[\n\x80\xe2";
	size_t runs = 0, sane = 0;
	char *copy = malloc(len);
	for (size_t i = 0; copy && i < len; i++) {
		for (size_t k = 0; k < sizeof subst - 1; k++) {
			memcpy(copy, config_in, len);
			copy[i] = subst[k];
			char *out = NULL;
			size_t out_len = 0, n = 0;
			struct cs_error e;
			int rc = cs_json5_rewrite(copy, len, rules, N_RULES, &out, &out_len, &n, "t", &e);
			runs++;
			sane += (rc == CS_OK && (out ? n > 0 : n == 0)) ||
				(rc == CS_ERR_CORRUPT && !out && !n);
			free(out);
		}
	}
	free(copy);
	CHECK(runs == sane);
	/* the whole config and the cut after its closing brace (and after "}\n") parse */
	CHECK(ok >= 2);
}

static bool jsonl_is(const char *in, const char *want, size_t nrw)
{
	char *out = NULL;
	size_t len = 0, n = 99;
	cs_error_clear(&check_err);
	int rc = cs_jsonl_rewrite_cwd(in, strlen(in), rules, N_RULES, &out, &len, &n, "s.jsonl",
				      &check_err);
	bool ok = rc == CS_OK && n == nrw &&
		  (want ? out && len == strlen(want) && !memcmp(out, want, len) : !out);
	if (!ok)
		fprintf(stderr, "  rc %d, %zu rewrites, got:\n%s\n", rc, n, out ? out : "(unchanged)");
	free(out);
	return ok;
}

static void test_jsonl(void)
{
	CHECK(jsonl_is("{\"type\":\"session\",\"cwd\":\"/home/hostuser/.openclaw/workspace\",\"note\":\"/home/hostuser\"}\n"
		       "{\"cwd\":\"/home/hostuser\",\"text\":\"ls /home/hostuser\"}\n"
		       "not json at all /home/hostuser\n",
		       "{\"type\":\"session\",\"cwd\":\"/home/node/.openclaw/workspace\",\"note\":\"/home/hostuser\"}\n"
		       "{\"cwd\":\"/home/hostuser\",\"text\":\"ls /home/hostuser\"}\n"
		       "not json at all /home/hostuser\n", 1));
	CHECK(jsonl_is("{\"meta\":{\"cwd\":\"\\/home\\/hostuser\"},\"cwd\":[\"/home/hostuser\"]}",
		       "{\"meta\":{\"cwd\":\"\\/home\\/node\"},\"cwd\":[\"/home/hostuser\"]}", 1));
	CHECK(jsonl_is("{\"cwd\":\"/tmp\"}\n{\"cwd\":\"/home/hostuser\"}\n", NULL, 0));
	CHECK(jsonl_is("", NULL, 0));
	CHECK(jsonl_is("\n{\"cwd\":\"/home/hostuser\"}\n", NULL, 0));
	struct cs_error e;
	char *out = NULL;
	size_t len, n;
	CHECK_RC(cs_jsonl_rewrite_cwd("{\"cwd\":\"/home/hostuser\"\n{}\n", 26, rules, N_RULES, &out,
				      &len, &n, "s.jsonl", &e),
		 CS_ERR_CORRUPT);
	CHECK(!out && !strcmp(e.path, "s.jsonl") &&
	      !strcmp(e.what, "not valid JSON5 at line 1 column 24: unexpected end of input in object"));
}

int main(void)
{
	test_config();
	test_refused();
	test_depth();
	test_truncations();
	test_jsonl();
	TEST_DONE();
}
