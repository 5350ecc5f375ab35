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
		char *ws = NULL;
		rc = cs_json5_get_string(copy, cut, "agents.defaults.workspace", &ws, "t", &e);
		CHECK(rc == CS_OK || (rc == CS_ERR_CORRUPT && !ws));
		free(ws);
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

/* ---- notes: one per rewritten literal, only when the whole input parsed ---- */

static char note_log[2048];

static void note(void *ctx, size_t line, const char *old_raw, size_t old_len, const char *new_raw,
		 size_t new_len, char quote)
{
	size_t o = strlen(note_log);
	snprintf(note_log + o, sizeof note_log - o, "%zu|%.*s|%.*s|%c\n", line, (int)old_len, old_raw,
		 (int)new_len, new_raw, quote);
}

static void test_notes(void)
{
	char *out = NULL;
	size_t len = 0, n = 0;
	note_log[0] = '\0';
	CHECK_OK(cs_json5_rewrite_notes(config_in, strlen(config_in), rules, N_RULES, &out, &len, &n,
					note, NULL, "openclaw.json", &check_err));
	CHECK(n == 5 && out && len == strlen(config_out) && !memcmp(out, config_out, len));
	CHECK(!strcmp(note_log,
		      "6|/home/hostuser/.openclaw/workspace|/home/node/.openclaw/workspace|'\n"
		      "10|\\/home\\/hostuser\\/.openclaw\\/workspace|\\/home\\/node\\/.openclaw\\/workspace|\"\n"
		      "14|/home/hostuser/notes|/home/node/notes|\"\n"
		      "16|/home/hostuser|/home/node|\"\n"
		      "16|/home/hostuser/|/home/node/|'\n"));
	free(out);
	/* an error after rewritable literals: no notes at all */
	note_log[0] = '\0';
	static const char bad[] = "{a: '/home/hostuser/x', b: '/home/hostuser/y' c: 1}";
	CHECK_RC(cs_json5_rewrite_notes(bad, strlen(bad), rules, N_RULES, &out, &len, &n, note, NULL,
					"x", &check_err),
		 CS_ERR_CORRUPT);
	CHECK(!out && n == 0 && note_log[0] == '\0');
	static const char tr[] = "{\"cwd\":\"/home/hostuser/w\"}\n{\"cwd\":\"/home/hostuser\"}\n";
	CHECK_OK(cs_jsonl_rewrite_cwd_notes(tr, strlen(tr), rules, N_RULES, &out, &len, &n, note, NULL,
					    "s.jsonl", &check_err));
	CHECK(n == 1 && !strcmp(note_log, "1|/home/hostuser/w|/home/node/w|\"\n"));
	CHECK(out && !strcmp(out, "{\"cwd\":\"/home/node/w\"}\n{\"cwd\":\"/home/hostuser\"}\n"));
	free(out);
}

/* ---- reading one string value ---- */

static bool get_is(const char *doc, const char *key, const char *want, size_t want_len)
{
	char *got = (char *)"x";
	cs_error_clear(&check_err);
	int rc = cs_json5_get_string(doc, strlen(doc), key, &got, "openclaw.json", &check_err);
	bool ok = rc == CS_OK && (want ? got && !memcmp(got, want, want_len + 1) : !got);
	if (!ok)
		fprintf(stderr, "  %s in %s: rc %d, got %s\n", key, doc, rc, got ? got : "(none)");
	free(got);
	return ok;
}

static void test_get_string(void)
{
	CHECK(get_is(config_in, "agents.defaults.workspace", "/home/hostuser/.openclaw/workspace", 34));
	CHECK(get_is(config_in, "agents.defaults.model", "anthropic/claude", 16));
	CHECK(get_is(config_in, "gateway.url", "http://localhost:18789//x", 25));
	CHECK(get_is(config_in, "quote", "it's /home/hostuser", 19)); /* line continuation */
	CHECK(get_is(config_in, "/home/hostuser/key", "/home/hostuser/notes", 20));
	CHECK(get_is(config_in, "$_weirdAkey", NULL, 0));  /* a number */
	CHECK(get_is(config_in, "agents.defaults", NULL, 0)); /* an object */
	CHECK(get_is(config_in, "agents.list", NULL, 0));
	CHECK(get_is(config_in, "agents.list.0.id", NULL, 0)); /* arrays are not indexed */
	CHECK(get_is(config_in, "agents.defaults.workspace.x", NULL, 0));
	CHECK(get_is(config_in, "missing", NULL, 0));
	CHECK(get_is(config_in, "", NULL, 0));
	CHECK(get_is("'top'", "", "top", 3));
	/* quoted keys, escaped keys and values decoded */
	CHECK(get_is("{\"agents\": {'defaults': {\"work\\u0073pace\": \"\\/a\\/b\\u00e9\\n\\x41\"}}}",
		     "agents.defaults.workspace", "/a/b\xc3\xa9\nA", 8));
	CHECK(get_is("{\\u0061: '\\uD83D\\uDE00\\xe9', b: \"a\\\nb\\\r\nc\\q\"}", "a",
		     "\xf0\x9f\x98\x80\xc3\xa9", 6));
	CHECK(get_is("{\\u0061: 1, b: \"a\\\nb\\\r\nc\\q\"}", "b", "abcq", 4));
	/* a later member of the same name wins, whatever was below the earlier one */
	CHECK(get_is("{a: {b: 'x'}, a: {c: 1}}", "a.b", NULL, 0));
	CHECK(get_is("{a: {b: 'x'}, a: {b: 'y'}}", "a.b", "y", 1));
	CHECK(get_is("{a: {b: 'x', b: 2}}", "a.b", NULL, 0));
	CHECK(get_is("{a: 'x', a: {b: 'z'}}", "a.b", "z", 1));
	CHECK(get_is("{a: {b: 'x'}, c: {a: {b: 'no'}}}", "a.b", "x", 1));
	/* a document that does not parse is refused even when the value came first */
	char *got = (char *)"x";
	CHECK_RC(cs_json5_get_string("{a: 'x' b", 9, "a", &got, "openclaw.json", &check_err),
		 CS_ERR_CORRUPT);
	CHECK(!got && !strcmp(check_err.what, "not valid JSON5 at line 1 column 9: expected ',' or '}' in object"));
}

int main(void)
{
	test_config();
	test_refused();
	test_depth();
	test_truncations();
	test_jsonl();
	test_notes();
	test_get_string();
	TEST_DONE();
}
