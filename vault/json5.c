/* json5.c - a JSON5 parser that rewrites path prefixes inside string values and nothing else,
 * and reads one string value at a dotted key path. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct outbuf {
	char *p;
	size_t len, cap;
};

/* A rewritten literal: its body in the input and its new body in out. */
struct lit {
	size_t body, body_len, out_off, out_len;
};

/* One component of a dotted key path. */
struct keyseg {
	const char *s;
	size_t len;
};
#define MAX_KEY_SEGS 64

struct parser {
	const char *buf;
	size_t len, pos;
	const struct cs_rewrite *rules;
	size_t n_rules;
	const char *only_key; /* rewrite only values of members with this key */
	struct outbuf out;
	size_t copied;        /* input bytes before this are in out */
	size_t n_rewrites;
	struct lit *lits;     /* kept for notes, which wait until the whole input parsed */
	size_t n_lits, cap_lits;
	bool keep_lits;
	const struct keyseg *want; /* cs_json5_get_string: the key path, else NULL */
	size_t n_want;
	struct outbuf got;    /* the value found there */
	bool have_got;
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

static int buf_add(struct parser *p, struct outbuf *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *q = realloc(o->p, cap);
		if (!q)
			return cs_err_set(p->err, CS_ERR_NOMEM, p->name, "out of memory");
		o->p = q;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
	return CS_OK;
}

static int append(struct parser *p, const char *s, size_t n)
{
	return buf_add(p, &p->out, s, n);
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

static unsigned hex_val(unsigned char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

static unsigned hex_at(const char *s, size_t digits)
{
	unsigned v = 0;
	for (size_t i = 0; i < digits; i++)
		v = v << 4 | hex_val((unsigned char)s[i]);
	return v;
}

/* UTF-8 of code point c (a lone surrogate is encoded as it is). */
static size_t utf8_put(unsigned long c, char *o)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * The value of a scanned literal body or identifier s[0..n) into o: every
 * JSON5 escape decoded (\u surrogate pairs joined), line continuations
 * dropped.  The scanner has checked the escapes, so none runs past n.
 */
static int decode(struct parser *p, const char *s, size_t n, struct outbuf *o)
{
	int rc = CS_OK;
	size_t i = 0;
	while (rc == CS_OK && i < n) {
		size_t run = i;
		while (run < n && s[run] != '\\')
			run++;
		if (run > i && (rc = buf_add(p, o, s + i, run - i)) != CS_OK)
			break;
		if ((i = run) >= n)
			break;
		unsigned char c = (unsigned char)s[i + 1];
		char tmp[8];
		size_t k = 1;
		unsigned long cp;
		i += 2;
		switch (c) {
		case 'b': tmp[0] = '\b'; break;
		case 'f': tmp[0] = '\f'; break;
		case 'n': tmp[0] = '\n'; break;
		case 'r': tmp[0] = '\r'; break;
		case 't': tmp[0] = '\t'; break;
		case 'v': tmp[0] = '\v'; break;
		case '0': tmp[0] = '\0'; break;
		case 'x':
			k = utf8_put(hex_at(s + i, 2), tmp);
			i += 2;
			break;
		case 'u':
			cp = hex_at(s + i, 4);
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
				unsigned long lo = hex_at(s + i + 2, 4);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			k = utf8_put(cp, tmp);
			break;
		case '\n':
		case '\r':
			k = 0; /* line continuation */
			if (c == '\r' && i < n && s[i] == '\n')
				i++;
			break;
		default:
			if (c == 0xe2 && i + 1 < n && (unsigned char)s[i] == 0x80 &&
			    ((unsigned char)s[i + 1] == 0xa8 || (unsigned char)s[i + 1] == 0xa9)) {
				k = 0; /* continuation by U+2028 / U+2029 */
				i += 2;
			} else {
				tmp[0] = (char)c; /* any other character stands for itself */
			}
		}
		if (k)
			rc = buf_add(p, o, tmp, k);
	}
	return rc;
}

/* Is the key s[0..n) (a literal body or an identifier) the path segment seg? */
static int key_is(struct parser *p, const char *s, size_t n, const struct keyseg *seg,
		  bool *is)
{
	struct outbuf k = {0};
	if (!memchr(s, '\\', n)) {
		*is = n == seg->len && !memcmp(s, seg->s, n);
		return CS_OK;
	}
	int rc = decode(p, s, n, &k);
	*is = rc == CS_OK && k.len == seg->len && !memcmp(k.p, seg->s, k.len);
	free(k.p);
	return rc;
}

/* A string value: rewritten when it starts with a rule's prefix. */
static int string_value(struct parser *p, size_t body, size_t body_len)
{
	char *rw = NULL;
	size_t rw_len = 0, out_off = 0;
	if (!p->n_rules)
		return CS_OK;
	int rc = cs_rewrite_literal(p->rules, p->n_rules, p->buf + body, body_len, p->buf[body - 1],
				    &rw, &rw_len);
	if (rc != CS_OK)
		return cs_err_set(p->err, rc, p->name, "out of memory");
	if (!rw)
		return CS_OK;
	if (p->keep_lits && p->n_lits == p->cap_lits) {
		size_t cap = p->cap_lits ? 2 * p->cap_lits : 16;
		struct lit *l = realloc(p->lits, cap * sizeof *l);
		if (!l) {
			free(rw);
			return cs_err_set(p->err, CS_ERR_NOMEM, p->name, "out of memory");
		}
		p->lits = l;
		p->cap_lits = cap;
	}
	if ((rc = append(p, p->buf + p->copied, body - p->copied)) == CS_OK) {
		out_off = p->out.len;
		rc = append(p, rw, rw_len);
	}
	if (rc == CS_OK) {
		p->copied = body + body_len;
		p->n_rewrites++;
		if (p->keep_lits)
			p->lits[p->n_lits++] = (struct lit){body, body_len, out_off, rw_len};
	}
	free(rw);
	return rc;
}

static int parse_value(struct parser *p, unsigned depth, bool rewrite, long lvl);

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

/* lvl: how many segments of p->want lead to this object (-1: off the path). */
static int parse_object(struct parser *p, unsigned depth, long lvl)
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
		bool matches, on_path = false;
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
		if (p->want && lvl >= 0 && (size_t)lvl < p->n_want &&
		    (rc = key_is(p, p->buf + key, key_len, &p->want[lvl], &on_path)) != CS_OK)
			return rc;
		if ((rc = skip(p)) != CS_OK)
			return rc;
		if (p->pos >= p->len || p->buf[p->pos] != ':')
			return syntax(p, p->pos, "expected ':' after a key");
		p->pos++;
		bool closed;
		if ((rc = parse_value(p, depth, matches, on_path ? lvl + 1 : -1)) != CS_OK ||
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
		if ((rc = parse_value(p, depth, !p->only_key, -1)) != CS_OK ||
		    (rc = list_next(p, ']', "array", &closed)) != CS_OK || closed)
			return rc;
	}
}

static int parse_value(struct parser *p, unsigned depth, bool rewrite, long lvl)
{
	int rc;
	if ((rc = skip(p)) != CS_OK)
		return rc;
	if (p->pos >= p->len)
		return syntax(p, p->pos, "unexpected end of input, expected a value");
	/* A later member of the same name replaces an earlier one (JSON5 is
	 * JavaScript here): whatever was found below the earlier one is gone. */
	bool target = p->want && lvl >= 0 && (size_t)lvl == p->n_want;
	if (p->want && lvl > 0)
		p->have_got = false;
	unsigned char c = *at(p, p->pos);
	if (c == '{' || c == '[') {
		/* Recursion is bounded here, so hostile input cannot exhaust the stack. */
		if (depth >= CS_JSON5_MAX_DEPTH)
			return syntax(p, p->pos, "nested too deeply");
		return c == '{' ? parse_object(p, depth + 1, target ? -1 : lvl)
				: parse_array(p, depth + 1);
	}
	if (c == '"' || c == '\'') {
		size_t body, body_len;
		if ((rc = scan_string(p, &body, &body_len)) != CS_OK)
			return rc;
		if (target) {
			p->got.len = 0;
			if ((rc = buf_add(p, &p->got, "", 0)) != CS_OK ||
			    (rc = decode(p, p->buf + body, body_len, &p->got)) != CS_OK)
				return rc;
			p->have_got = true;
		}
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

static void drop_output(struct parser *p)
{
	free(p->out.p);
	p->out.p = NULL;
	p->out.len = 0;
	p->n_rewrites = 0;
	p->n_lits = 0;
}

static int run(struct parser *p, char **out, size_t *out_len, size_t *n_rewrites)
{
	int rc = parse_value(p, 0, !p->only_key, p->want ? 0 : -1);
	if (rc == CS_OK && (rc = skip(p)) == CS_OK && p->pos < p->len)
		rc = syntax(p, p->pos, "unexpected data after the value");
	if (rc == CS_OK && p->n_rewrites)
		rc = append(p, p->buf + p->copied, p->len - p->copied);
	if (rc != CS_OK || !p->n_rewrites)
		drop_output(p);
	*out = p->out.p;
	*out_len = p->out.len;
	if (n_rewrites)
		*n_rewrites = p->n_rewrites;
	return rc;
}

/* Notes go out only once the whole input is known to be good. */
static void emit_notes(struct parser *p, cs_json5_note_fn note, void *ctx)
{
	size_t line = 1, scanned = 0;
	for (size_t i = 0; note && i < p->n_lits; i++) {
		const struct lit *l = &p->lits[i];
		for (; scanned < l->body; scanned++)
			if (p->buf[scanned] == '\n')
				line++;
		note(ctx, line, p->buf + l->body, l->body_len, p->out.p + l->out_off, l->out_len,
		     p->buf[l->body - 1]);
	}
	free(p->lits);
}

int cs_json5_rewrite_notes(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
			   char **out, size_t *out_len, size_t *n_rewrites, cs_json5_note_fn note,
			   void *note_ctx, const char *name, struct cs_error *err)
{
	struct parser p = {.buf = buf, .len = len, .rules = rules, .n_rules = n,
			   .keep_lits = note != NULL, .name = name, .err = err};
	int rc = run(&p, out, out_len, n_rewrites);
	emit_notes(&p, note, note_ctx);
	return rc;
}

int cs_json5_rewrite(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
		     char **out, size_t *out_len, size_t *n_rewrites, const char *name,
		     struct cs_error *err)
{
	return cs_json5_rewrite_notes(buf, len, rules, n, out, out_len, n_rewrites, NULL, NULL,
				      name, err);
}

int cs_jsonl_rewrite_cwd_notes(const char *buf, size_t len, const struct cs_rewrite *rules,
			       size_t n, char **out, size_t *out_len, size_t *n_rewrites,
			       cs_json5_note_fn note, void *note_ctx, const char *name,
			       struct cs_error *err)
{
	const char *nl = memchr(buf, '\n', len);
	size_t first = nl ? (size_t)(nl - buf) : len;
	struct parser p = {.buf = buf, .len = first, .rules = rules, .n_rules = n,
			   .only_key = "cwd", .keep_lits = note != NULL, .name = name, .err = err};
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
			drop_output(&p);
			if (n_rewrites)
				*n_rewrites = 0;
		}
		*out = p.out.p;
		*out_len = p.out.len;
	}
	emit_notes(&p, note, note_ctx);
	return rc;
}

int cs_jsonl_rewrite_cwd(const char *buf, size_t len, const struct cs_rewrite *rules, size_t n,
			 char **out, size_t *out_len, size_t *n_rewrites, const char *name,
			 struct cs_error *err)
{
	return cs_jsonl_rewrite_cwd_notes(buf, len, rules, n, out, out_len, n_rewrites, NULL, NULL,
					  name, err);
}

int cs_json5_get_string(const char *buf, size_t len, const char *key_path, char **out,
			const char *name, struct cs_error *err)
{
	struct keyseg segs[MAX_KEY_SEGS];
	size_t n = 0;
	char *o = NULL;
	size_t o_len = 0;
	*out = NULL;
	for (const char *s = key_path; *key_path;) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (n == MAX_KEY_SEGS)
			return cs_err_set(err, CS_ERR_USAGE, key_path, "key path too deep");
		segs[n++] = (struct keyseg){s, l};
		if (!dot)
			break;
		s = dot + 1;
	}
	struct parser p = {.buf = buf, .len = len, .want = segs, .n_want = n, .name = name,
			   .err = err};
	int rc = run(&p, &o, &o_len, NULL);
	free(o);
	if (rc == CS_OK && p.have_got) {
		*out = p.got.p;
		p.got.p = NULL;
	}
	free(p.got.p);
	return rc;
}
