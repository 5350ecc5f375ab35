/* json5.c - a JSON5 parser that rewrites path prefixes inside string values and nothing else. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct outbuf {
	char *p;
	size_t len, cap;
};

struct parser {
	const char *buf;
	size_t len, pos;
	const struct cs_rewrite *rules;
	size_t n_rules;
	const char *only_key; /* rewrite only values of members with this key */
	struct outbuf out;
	size_t copied;        /* input bytes before this are in out */
	size_t n_rewrites;
	const char *name;
	struct cs_error *err;
};

/* Line and column (1-based, bytes; lines end at '\n') of byte off. */
static void line_col(const struct parser *p, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, start = 0;
	for (size_t i = 0; i < off && i < p->len; i++)
		if (p->buf[i] == '\n')
			l++, start = i + 1;
	*line = l;
	*col = off - start + 1;
}

static int syntax(struct parser *p, size_t off, const char *reason)
{
	size_t line, col;
	line_col(p, off, &line, &col);
	return cs_err_set(p->err, CS_ERR_CORRUPT, p->name, "not valid JSON5 at line %zu column %zu: %s",
			  line, col, reason);
}

static int append(struct parser *p, const char *s, size_t n)
{
	if (p->out.len + n + 1 > p->out.cap) {
		size_t cap = p->out.cap ? p->out.cap : 256;
		while (cap < p->out.len + n + 1)
			cap *= 2;
		char *q = realloc(p->out.p, cap);
		if (!q)
			return cs_err_set(p->err, CS_ERR_NOMEM, p->name, "out of memory");
		p->out.p = q;
		p->out.cap = cap;
	}
	memcpy(p->out.p + p->out.len, s, n);
	p->out.len += n;
	p->out.p[p->out.len] = '\0';
	return CS_OK;
}

static const unsigned char *at(const struct parser *p, size_t off)
{
	return (const unsigned char *)p->buf + off;
}

/* Length of the line terminator at off (LF, CR, CRLF, U+2028, U+2029), or 0. */
static size_t line_end_len(const struct parser *p, size_t off)
{
	size_t rest = p->len - off;
	const unsigned char *c = at(p, off);
	if (rest == 0)
		return 0;
	if (c[0] == '\n')
		return 1;
	if (c[0] == '\r')
		return rest > 1 && c[1] == '\n' ? 2 : 1;
	if (rest >= 3 && c[0] == 0xe2 && c[1] == 0x80 && (c[2] == 0xa8 || c[2] == 0xa9))
		return 3;
	return 0;
}

/* Length of the JSON5 white space at off (ES5 WhiteSpace and LineTerminator), or 0. */
static size_t space_len(const struct parser *p, size_t off)
{
	size_t rest = p->len - off, n;
	const unsigned char *c = at(p, off);
	if (rest == 0)
		return 0;
	if (c[0] == ' ' || c[0] == '\t' || c[0] == '\v' || c[0] == '\f')
		return 1;
	if ((n = line_end_len(p, off)))
		return n;
	if (rest >= 2 && c[0] == 0xc2 && c[1] == 0xa0) /* NBSP */
		return 2;
	if (rest < 3)
		return 0;
	if (c[0] == 0xef && c[1] == 0xbb && c[2] == 0xbf) /* BOM */
		return 3;
	if (c[0] == 0xe1 && c[1] == 0x9a && c[2] == 0x80) /* U+1680 */
		return 3;
	if (c[0] == 0xe2 && c[1] == 0x80 && (c[2] <= 0x8a || c[2] == 0xaf)) /* U+2000-200A, 202F */
		return 3;
	if (c[0] == 0xe2 && c[1] == 0x81 && c[2] == 0x9f) /* U+205F */
		return 3;
	if (c[0] == 0xe3 && c[1] == 0x80 && c[2] == 0x80) /* U+3000 */
		return 3;
	return 0;
}

/* Skip white space and comments. */
static int skip(struct parser *p)
{
	for (;;) {
		size_t n = space_len(p, p->pos);
		if (n) {
			p->pos += n;
			continue;
		}
		if (p->pos + 1 < p->len && p->buf[p->pos] == '/' && p->buf[p->pos + 1] == '/') {
			p->pos += 2;
			while (p->pos < p->len && !line_end_len(p, p->pos))
				p->pos++;
			continue;
		}
		if (p->pos + 1 < p->len && p->buf[p->pos] == '/' && p->buf[p->pos + 1] == '*') {
			size_t start = p->pos;
			const char *e = memmem(p->buf + p->pos + 2, p->len - p->pos - 2, "*/", 2);
			if (!e)
				return syntax(p, start, "unterminated block comment");
			p->pos = (size_t)(e - p->buf) + 2;
			continue;
		}
		return CS_OK;
	}
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Scan the string literal at p->pos; *body, *body_len give the bytes between the quotes. */
static int scan_string(struct parser *p, size_t *body, size_t *body_len)
{
	size_t start = p->pos;
	char quote = p->buf[p->pos++];
	*body = p->pos;
	for (;;) {
		if (p->pos >= p->len)
			return syntax(p, start, "unterminated string");
		unsigned char c = *at(p, p->pos);
		if (c == (unsigned char)quote)
			break;
		if (c == '\n' || c == '\r')
			return syntax(p, p->pos, "line break in string");
		if (c != '\\') {
			p->pos++;
			continue;
		}
		size_t esc = p->pos++;
		if (p->pos >= p->len)
			return syntax(p, start, "unterminated string");
		size_t n = line_end_len(p, p->pos);
		if (n) { /* line continuation */
			p->pos += n;
			continue;
		}
		c = *at(p, p->pos);
		if (c == 'x' || c == 'u') {
			size_t digits = c == 'x' ? 2 : 4;
			for (size_t i = 1; i <= digits; i++)
				if (p->pos + i >= p->len || !is_hex(*at(p, p->pos + i)))
					return syntax(p, esc, "bad escape in string");
			p->pos += digits + 1;
		} else if (is_digit(c) && (c != '0' || (p->pos + 1 < p->len &&
							is_digit(*at(p, p->pos + 1))))) {
			return syntax(p, esc, "bad escape in string");
		} else {
			p->pos++;
		}
	}
	*body_len = p->pos - *body;
	p->pos++;
	return CS_OK;
}

static bool ident_char(unsigned char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '$' || c == '_' ||
	       c >= 0x80 || (!first && is_digit(c));
}

/* Scan an identifier (unquoted key or literal) at p->pos; white space ends it. */
static size_t scan_ident(struct parser *p)
{
	size_t start = p->pos;
	while (p->pos < p->len) {
		unsigned char c = *at(p, p->pos);
		if (c == '\\' && p->pos + 6 <= p->len && p->buf[p->pos + 1] == 'u') {
			size_t i;
			for (i = 2; i < 6 && is_hex(*at(p, p->pos + i)); i++)
				;
			if (i < 6)
				break;
			p->pos += 6;
			continue;
		}
		if (!ident_char(c, p->pos == start) || space_len(p, p->pos))
			break;
		p->pos++;
	}
	return p->pos - start;
}

static int scan_number(struct parser *p)
{
	size_t start = p->pos;
	if (p->buf[p->pos] == '+' || p->buf[p->pos] == '-')
		p->pos++;
	size_t rest = p->len - p->pos;
	const char *c = p->buf + p->pos;
	if (rest >= 8 && !memcmp(c, "Infinity", 8)) {
		p->pos += 8;
	} else if (rest >= 3 && !memcmp(c, "NaN", 3)) {
		p->pos += 3;
	} else if (rest >= 2 && c[0] == '0' && (c[1] | 0x20) == 'x') {
		p->pos += 2;
		size_t d = p->pos;
		while (p->pos < p->len && is_hex(*at(p, p->pos)))
			p->pos++;
		if (p->pos == d)
			return syntax(p, start, "bad number");
	} else {
		size_t int_start = p->pos, frac = 0;
		while (p->pos < p->len && is_digit(*at(p, p->pos)))
			p->pos++;
		size_t int_len = p->pos - int_start;
		if (int_len > 1 && p->buf[int_start] == '0')
			return syntax(p, start, "bad number (leading zero)");
		if (p->pos < p->len && p->buf[p->pos] == '.') {
			p->pos++;
			size_t f = p->pos;
			while (p->pos < p->len && is_digit(*at(p, p->pos)))
				p->pos++;
			frac = p->pos - f;
		}
		if (int_len == 0 && frac == 0)
			return syntax(p, start, "bad number");
		if (p->pos < p->len && (p->buf[p->pos] | 0x20) == 'e') {
			p->pos++;
			if (p->pos < p->len && (p->buf[p->pos] == '+' || p->buf[p->pos] == '-'))
				p->pos++;
			size_t e = p->pos;
			while (p->pos < p->len && is_digit(*at(p, p->pos)))
				p->pos++;
			if (p->pos == e)
				return syntax(p, start, "bad number");
		}
	}
	/* "12abc" or "Infinityx": a number must not run into an identifier. */
	if (p->pos < p->len && ident_char(*at(p, p->pos), false) && !space_len(p, p->pos))
		return syntax(p, start, "bad number");
	return CS_OK;
}

/* A string value: rewritten when it starts with a rule's prefix. */
static int string_value(struct parser *p, size_t body, size_t body_len)
{
	char *rw = NULL;
	size_t rw_len = 0;
	int rc = cs_rewrite_literal(p->rules, p->n_rules, p->buf + body, body_len, p->buf[body - 1],
				    &rw, &rw_len);
	if (rc != CS_OK)
		return cs_err_set(p->err, rc, p->name, "out of memory");
	if (!rw)
		return CS_OK;
	if ((rc = append(p, p->buf + p->copied, body - p->copied)) == CS_OK &&
	    (rc = append(p, rw, rw_len)) == CS_OK) {
		p->copied = body + body_len;
		p->n_rewrites++;
	}
	free(rw);
	return rc;
}

static int parse_value(struct parser *p, unsigned depth, bool rewrite);

/* After a member or element: ',' goes on (*closed false), close ends the
 * object or array (*closed true); anything else is a syntax error. */
static int list_next(struct parser *p, char close, const char *what, bool *closed)
{
	char reason[64];
	int rc = skip(p);
	*closed = false;
	if (rc != CS_OK)
		return rc;
	if (p->pos < p->len && (p->buf[p->pos] == ',' || p->buf[p->pos] == close)) {
		*closed = p->buf[p->pos] == close;
		p->pos++;
		return CS_OK;
	}
	if (p->pos >= p->len)
		snprintf(reason, sizeof reason, "unexpected end of input in %s", what);
	else
		snprintf(reason, sizeof reason, "expected ',' or '%c' in %s", close, what);
	return syntax(p, p->pos, reason);
}

static int parse_object(struct parser *p, unsigned depth)
{
	int rc;
	p->pos++; /* '{' */
	for (;;) {
		if ((rc = skip(p)) != CS_OK)
			return rc;
		if (p->pos >= p->len)
			return syntax(p, p->pos, "unexpected end of input in object");
		unsigned char c = *at(p, p->pos);
		if (c == '}') {
			p->pos++;
			return CS_OK;
		}
		size_t key = p->pos, key_len;
		bool matches;
		if (c == '"' || c == '\'') {
			size_t body;
			if ((rc = scan_string(p, &body, &key_len)) != CS_OK)
				return rc;
			key = body;
		} else if (ident_char(c, true) || c == '\\') {
			if ((key_len = scan_ident(p)) == 0)
				return syntax(p, key, "bad key");
		} else {
			return syntax(p, key, "expected a key or '}'");
		}
		matches = !p->only_key || (key_len == strlen(p->only_key) &&
					   !memcmp(p->buf + key, p->only_key, key_len));
		if ((rc = skip(p)) != CS_OK)
			return rc;
		if (p->pos >= p->len || p->buf[p->pos] != ':')
			return syntax(p, p->pos, "expected ':' after a key");
		p->pos++;
		bool closed;
		if ((rc = parse_value(p, depth, matches)) != CS_OK ||
		    (rc = list_next(p, '}', "object", &closed)) != CS_OK || closed)
			return rc;
	}
}

static int parse_array(struct parser *p, unsigned depth)
{
	int rc;
	p->pos++; /* '[' */
	for (;;) {
		if ((rc = skip(p)) != CS_OK)
			return rc;
		if (p->pos >= p->len)
			return syntax(p, p->pos, "unexpected end of input in array");
		if (p->buf[p->pos] == ']') {
			p->pos++;
			return CS_OK;
		}
		bool closed;
		if ((rc = parse_value(p, depth, !p->only_key)) != CS_OK ||
		    (rc = list_next(p, ']', "array", &closed)) != CS_OK || closed)
			return rc;
	}
}

static int parse_value(struct parser *p, unsigned depth, bool rewrite)
{
	int rc;
	if ((rc = skip(p)) != CS_OK)
		return rc;
	if (p->pos >= p->len)
		return syntax(p, p->pos, "unexpected end of input, expected a value");
	unsigned char c = *at(p, p->pos);
	if (c == '{' || c == '[') {
		/* Recursion is bounded here, so hostile input cannot exhaust the stack. */
		if (depth >= CS_JSON5_MAX_DEPTH)
			return syntax(p, p->pos, "nested too deeply");
		return c == '{' ? parse_object(p, depth + 1) : parse_array(p, depth + 1);
	}
	if (c == '"' || c == '\'') {
		size_t body, body_len;
		if ((rc = scan_string(p, &body, &body_len)) != CS_OK)
			return rc;
		return rewrite ? string_value(p, body, body_len) : CS_OK;
	}
	if (is_digit(c) || c == '-' || c == '+' || c == '.')
		return scan_number(p);
	static const char *const words[] = {"true", "false", "null", "Infinity", "NaN"};
	size_t start = p->pos, n = scan_ident(p);
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (n == strlen(words[i]) && !memcmp(p->buf + start, words[i], n))
			return CS_OK;
	return syntax(p, start, "unexpected character, expected a value");
}

static int run(struct parser *p, char **out, size_t *out_len, size_t *n_rewrites)
{
	int rc = parse_value(p, 0, !p->only_key);
	if (rc == CS_OK && (rc = skip(p)) == CS_OK && p->pos < p->len)
		rc = syntax(p, p->pos, "unexpected data after the value");
	if (rc == CS_OK && p->n_rewrites)
		rc = append(p, p->buf + p->copied, p->len - p->copied);
	if (rc != CS_OK || !p->n_rewrites) {
		free(p->out.p);
		p->out.p = NULL;
		p->out.len = 0;
		p->n_rewrites = 0;
	}
	*out = p->out.p;
	*out_len = p->out.len;
	if (n_rewrites)
		*n_rewrites = p->n_rewrites;
	return rc;
}

int cs_json5_rewrite(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
		     char **out, size_t *out_len, size_t *n_rewrites, const char *name,
		     struct cs_error *err)
{
	struct parser p = {.buf = buf, .len = len, .rules = rules, .n_rules = n, .name = name,
			   .err = err};
	return run(&p, out, out_len, n_rewrites);
}

int cs_jsonl_rewrite_cwd(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
			 char **out, size_t *out_len, size_t *n_rewrites, const char *name,
			 struct cs_error *err)
{
	const char *nl = memchr(buf, '\n', len);
	size_t first = nl ? (size_t)(nl - buf) : len;
	struct parser p = {.buf = buf, .len = first, .rules = rules, .n_rules = n,
			   .only_key = "cwd", .name = name, .err = err};
	*out = NULL;
	*out_len = 0;
	if (n_rewrites)
		*n_rewrites = 0;
	int rc = skip(&p);
	if (rc != CS_OK || p.pos >= first) /* an empty transcript has nothing to rewrite */
		return rc;
	p.pos = 0;
	rc = run(&p, out, out_len, n_rewrites);
	/* run leaves its buffer in p.out on success: the other lines go after it. */
	if (rc == CS_OK && p.out.p && first < len) {
		if ((rc = append(&p, buf + first, len - first)) != CS_OK) {
			free(p.out.p);
			p.out.p = NULL;
			p.out.len = 0;
			if (n_rewrites)
				*n_rewrites = 0;
		}
		*out = p.out.p;
		*out_len = p.out.len;
	}
	return rc;
}
