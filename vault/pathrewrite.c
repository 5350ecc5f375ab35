/* pathrewrite.c - prefix rewriting of absolute paths, plain or inside a JSON string literal. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A rule's prefix without trailing '/' ("/" itself stays). */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		n--;
	return n;
}

/*
 * Does raw start with from[0..flen) at a component boundary?  With json set,
 * raw is a literal's body and "\/" counts as '/' (*escaped set when one was
 * used); any other escape is not decoded, so it never matches.  *used is how
 * many raw bytes the prefix took.
 */
static bool match_prefix(const char *from, size_t flen, const char *raw, size_t len, bool json,
			 size_t *used, bool *escaped)
{
	size_t r = 0;
	*escaped = false;
	for (size_t i = 0; i < flen; i++) {
		if (r < len && raw[r] == from[i] && raw[r] != '\\') {
			r++;
		} else if (json && from[i] == '/' && r + 1 < len && raw[r] == '\\' &&
			   raw[r + 1] == '/') {
			r += 2;
			*escaped = true;
		} else {
			return false;
		}
	}
	bool boundary = r == len || raw[r] == '/' ||
			(json && r + 1 < len && raw[r] == '\\' && raw[r + 1] == '/');
	if (!boundary)
		return false;
	*used = r;
	return true;
}

/* The rule with the longest matching prefix, or -1. */
static long best_rule(const struct cs_rewrite *rules, size_t n, const char *raw, size_t len,
		      bool json, size_t *used, bool *escaped)
{
	long best = -1;
	size_t best_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (!rules[i].from || rules[i].from[0] != '/' || !rules[i].to)
			continue;
		size_t flen = trimmed_len(rules[i].from), u;
		bool esc;
		if (flen < 2) /* "/" would rewrite every path */
			continue;
		if (flen > best_len && match_prefix(rules[i].from, flen, raw, len, json, &u, &esc)) {
			best = (long)i;
			best_len = flen;
			*used = u;
			*escaped = esc;
		}
	}
	return best;
}

static int rewrite(const struct cs_rewrite *rules, size_t n, const char *in, size_t len, bool json,
		   char quote, char **out, size_t *out_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t used = 0;
	bool escaped = false;
	*out = NULL;
	*out_len = 0;
	long r = best_rule(rules, n, in, len, json, &used, &escaped);
	if (r < 0)
		return CS_OK;
	const char *to = rules[r].to;
	size_t tlen = trimmed_len(to);
	/* Worst case every byte of to becomes \u00XX. */
	char *buf = malloc(tlen * 6 + (len - used) + 1);
	if (!buf)
		return CS_ERR_NOMEM;
	size_t o = 0;
	for (size_t i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)to[i];
		if (json && c == '/' && escaped) {
			buf[o++] = '\\';
			buf[o++] = '/';
		} else if (json && (c == '\\' || c == (unsigned char)quote)) {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (json && (c < 0x20 || c == 0x7f)) {
			memcpy(buf + o, "\\u00", 4);
			buf[o + 4] = hex[c >> 4];
			buf[o + 5] = hex[c & 15];
			o += 6;
		} else {
			buf[o++] = (char)c;
		}
	}
	memcpy(buf + o, in + used, len - used);
	o += len - used;
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return CS_OK;
}

int cs_rewrite_path(const struct cs_rewrite *rules, size_t n, const char *in, size_t len,
		    char **out, size_t *out_len)
{
	return rewrite(rules, n, in, len, false, 0, out, out_len);
}

int cs_rewrite_literal(const struct cs_rewrite *rules, size_t n, const char *raw, size_t len,
		       char quote, char **out, size_t *out_len)
{
	return rewrite(rules, n, raw, len, true, quote, out, out_len);
}
