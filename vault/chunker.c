/* chunker.c - content-defined chunk boundaries from a gear rolling hash, so an
 * insertion or deletion moves only the boundaries near it. */
#include "internal.h"

#include <pthread.h>

/* Boundary test on the hash's top bits: they depend on the last 64 bytes,
 * the low bits only on the last few.  Below the average size a harder mask
 * (22 bits) makes early cuts rare, above it an easier one (17 bits) makes a
 * cut come soon: sizes cluster around the average ("normalised chunking"). */
#define MASK_HARD (~0ULL << (64 - 22))
#define MASK_EASY (~0ULL << (64 - 17))
#define WINDOW 64

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

/* Our own table: splitmix64 from a fixed seed.  Changing it changes every
 * chunk boundary (and so dedup against existing vaults): never do. */
static void gear_init(void)
{
	uint64_t x = 0x636c617773746174ULL; /* "clawstat" */
	for (int i = 0; i < 256; i++) {
		x += 0x9e3779b97f4a7c15ULL;
		uint64_t z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		gear[i] = z ^ (z >> 31);
	}
}

size_t cs_chunker_cut(const unsigned char *buf, size_t len, bool eof)
{
	(void)eof; /* short input is returned whole either way; see internal.h */
	if (len <= CS_CHUNK_MIN)
		return len;
	pthread_once(&gear_once, gear_init);
	size_t end = len < CS_CHUNK_MAX ? len : CS_CHUNK_MAX;
	size_t normal = CS_CHUNK_AVG < end ? CS_CHUNK_AVG : end;
	uint64_t h = 0;
	size_t i = CS_CHUNK_MIN - WINDOW;
	/* Fill the window so the first possible cut (at CS_CHUNK_MIN) already
	 * sees WINDOW bytes; what came before never matters. */
	for (; i < CS_CHUNK_MIN - 1; i++)
		h = (h << 1) + gear[buf[i]];
	for (; i < normal; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & MASK_HARD))
			return i + 1;
	}
	for (; i < end; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & MASK_EASY))
			return i + 1;
	}
	return end;
}
