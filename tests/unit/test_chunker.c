/* test_chunker.c - the content-defined chunker: pinned cut points for a fixed
 * input, size bounds, streaming equals one-shot, and edits stay local. */
#include "internal.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT (24u << 20)
#define MAX_CUTS 256

/* xorshift64*: a fixed, library-independent pseudo-random input. */
static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed;
	for (size_t i = 0; i < len; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		buf[i] = (unsigned char)((x * 0x2545f4914f6cdd1dULL) >> 56);
	}
}

/* Chunk lengths of the whole buffer, in one pass. */
static size_t cut_all(const unsigned char *buf, size_t len, size_t *cuts)
{
	size_t n = 0, off = 0;
	while (off < len && n < MAX_CUTS) {
		size_t c = cs_chunker_cut(buf + off, len - off, true);
		if (c == 0)
			break;
		cuts[n++] = c;
		off += c;
	}
	return n;
}

/* The same, the way a file reader sees it: a 2*CS_CHUNK_MAX window refilled
 * in odd-sized reads, asking again whenever the chunker wants more. */
static size_t cut_streaming(const unsigned char *src, size_t len, size_t *cuts)
{
	size_t cap = 2 * CS_CHUNK_MAX, have = 0, pos = 0, n = 0, step = 777777;
	unsigned char *win = malloc(cap);
	while (n < MAX_CUTS) {
		while (have < cap && pos < len) {
			size_t take = step < cap - have ? step : cap - have;
			if (take > len - pos)
				take = len - pos;
			memcpy(win + have, src + pos, take);
			have += take;
			pos += take;
			if (have < CS_CHUNK_MAX)
				break; /* ask the chunker early on purpose */
		}
		bool eof = pos == len;
		if (have == 0)
			break;
		size_t c = cs_chunker_cut(win, have, eof);
		if (c == have && !eof && have < CS_CHUNK_MAX)
			continue; /* needs more data */
		cuts[n++] = c;
		memmove(win, win + c, have - c);
		have -= c;
	}
	free(win);
	return n;
}

/* Computed once from this input and pinned: a change here means every
 * existing vault's chunk boundaries moved (dedup against them lost). */
static const size_t pinned[] = {
	1049258, 1110741, 1062352, 1098342, 1073540, 1217380, 1116347, 561136,
	1149246, 1078307, 1530312, 1189175, 320022,  1081332, 1100852, 1214937,
	1313651, 1056032, 1152320, 769804,  1052246, 1057373, 1568857, 242262,
};
#define N_PINNED (sizeof pinned / sizeof pinned[0])

static void test_pinned(const unsigned char *buf)
{
	size_t cuts[MAX_CUTS];
	size_t n = cut_all(buf, INPUT, cuts);
	CHECK(n == N_PINNED);
	for (size_t i = 0; i < n && i < N_PINNED; i++)
		CHECK(cuts[i] == pinned[i]);
	/* a second run, and a streaming reader, agree exactly */
	size_t again[MAX_CUTS];
	CHECK(cut_all(buf, INPUT, again) == n && memcmp(again, cuts, n * sizeof *cuts) == 0);
	size_t streamed[MAX_CUTS];
	CHECK(cut_streaming(buf, INPUT, streamed) == n &&
	      memcmp(streamed, cuts, n * sizeof *cuts) == 0);
}

static void test_bounds(const unsigned char *buf)
{
	size_t cuts[MAX_CUTS];
	/* several inputs, sizes always within [MIN, MAX] except the tail */
	for (uint64_t seed = 1; seed <= 4; seed++) {
		unsigned char *b = malloc(INPUT);
		fill(b, INPUT, seed * 0x9e3779b97f4a7c15ULL);
		size_t n = cut_all(b, INPUT, cuts), total = 0;
		for (size_t i = 0; i < n; i++) {
			total += cuts[i];
			CHECK(cuts[i] <= CS_CHUNK_MAX);
			if (i + 1 < n)
				CHECK(cuts[i] >= CS_CHUNK_MIN);
		}
		CHECK(total == INPUT);
		free(b);
	}
	/* no content to cut on: every chunk is as long as allowed */
	unsigned char *z = calloc(1, 3 * CS_CHUNK_MAX + 5);
	size_t n = cut_all(z, 3 * CS_CHUNK_MAX + 5, cuts);
	CHECK(n == 4 && cuts[0] == CS_CHUNK_MAX && cuts[1] == CS_CHUNK_MAX &&
	      cuts[2] == CS_CHUNK_MAX && cuts[3] == 5);
	free(z);
	/* short input: whole at eof, "need more" (= len) otherwise */
	CHECK(cs_chunker_cut(buf, 0, true) == 0);
	CHECK(cs_chunker_cut(buf, 100, true) == 100);
	CHECK(cs_chunker_cut(buf, 100, false) == 100);
	CHECK(cs_chunker_cut(buf, CS_CHUNK_MIN, true) == CS_CHUNK_MIN);
	CHECK(cs_chunker_cut(buf, CS_CHUNK_MIN + 1000, false) == CS_CHUNK_MIN + 1000);
	CHECK(cs_chunker_cut(buf, 2 * CS_CHUNK_MAX, false) == pinned[0]);
}

/* Insert bytes near the start: only the first chunk or two change, every
 * later boundary is the old one shifted by the insertion. */
static void test_insertion(const unsigned char *buf)
{
	size_t ins = 100, at = 1000;
	unsigned char *b = malloc(INPUT + ins);
	memcpy(b, buf, at);
	memset(b + at, 'Z', ins);
	memcpy(b + at + ins, buf + at, INPUT - at);
	size_t cuts[MAX_CUTS];
	size_t n = cut_all(b, INPUT + ins, cuts);
	/* boundaries as absolute offsets */
	size_t old_end[MAX_CUTS], new_end[MAX_CUTS], o = 0;
	for (size_t i = 0; i < N_PINNED; i++)
		old_end[i] = (o += pinned[i]);
	o = 0;
	for (size_t i = 0; i < n; i++)
		new_end[i] = (o += cuts[i]);
	size_t same = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < N_PINNED; j++)
			if (new_end[i] == old_end[j] + ins)
				same++;
	CHECK(n == N_PINNED);
	CHECK(cuts[0] == pinned[0] + ins); /* the edited chunk grew */
	CHECK(same == N_PINNED);           /* every boundary survived, shifted */
	/* a bigger edit: 300 KiB replaced at 100 KiB moves at most 2 boundaries */
	memcpy(b, buf, INPUT);
	fill(b + (100u << 10), 300u << 10, 77);
	n = cut_all(b, INPUT, cuts);
	o = 0;
	same = 0;
	for (size_t i = 0; i < n; i++) {
		o += cuts[i];
		for (size_t j = 0; j < N_PINNED; j++)
			if (o == old_end[j])
				same++;
	}
	CHECK(same + 2 >= N_PINNED);
	CHECK(n >= N_PINNED - 2 && n <= N_PINNED + 2);
	free(b);
}

int main(void)
{
	unsigned char *buf = malloc(INPUT);
	fill(buf, INPUT, 0x1234567887654321ULL);
	test_pinned(buf);
	test_bounds(buf);
	test_insertion(buf);
	free(buf);
	TEST_DONE();
}
