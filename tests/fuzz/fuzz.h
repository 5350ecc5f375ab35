/*
 * fuzz.h - what the libFuzzer targets share: library start-up, the fake key
 * file's credential, a reusable memfd, and checks that abort (libFuzzer then
 * saves the input as a crash).  Every target is one .c file with
 * LLVMFuzzerTestOneInput and includes this once.
 */
#ifndef CLAWSTATE_FUZZ_H
#define CLAWSTATE_FUZZ_H

#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef FUZZ_KEY_FILE
#error "build with -DFUZZ_KEY_FILE=\"path of tests/fuzz/fake.key\" (tests/fuzz/fuzz.mk)"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the library broke: report it and abort, so the input is kept. */
#define FUZZ_CHECK(expr)                                                                   \
	do {                                                                               \
		if (!(expr)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#expr);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

static inline void fuzz_die(const char *what, const struct cs_error *err)
{
	fprintf(stderr, "fuzz setup: %s: %s: %s\n", what, err ? err->path : "",
		err ? err->what : "");
	abort();
}

/* Every return is CS_OK or a pinned code, and a failure fills the record with
 * that code and a reason.  FUZZ_VERBOSE=1 prints each outcome (replaying one
 * input: why was it refused?). */
static inline void fuzz_check_rc(int rc, const struct cs_error *err)
{
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "rc %d: %s: %s\n", rc, rc ? err->path : "", rc ? err->what : "ok");
	FUZZ_CHECK(rc == CS_OK || (rc <= CS_ERR_IO && rc >= CS_ERR_UNMAPPED));
	if (rc != CS_OK) {
		FUZZ_CHECK(err->code == rc);
		FUZZ_CHECK(memchr(err->what, '\0', sizeof err->what) != NULL);
		FUZZ_CHECK(err->what[0] != '\0');
		FUZZ_CHECK(memchr(err->path, '\0', sizeof err->path) != NULL);
	}
}

static inline void fuzz_init(void)
{
	struct cs_error err;
	cs_error_clear(&err);
	if (cs_library_init(&err) != CS_OK)
		fuzz_die("cs_library_init", &err);
}

/* The committed fake key file (tests/fuzz/fake.key) as a key-file credential. */
static inline struct cs_cred *fuzz_key(void)
{
	struct cs_error err;
	struct cs_cred *cred = NULL;
	cs_error_clear(&err);
	FILE *f = fopen(FUZZ_KEY_FILE, "rb");
	if (!f)
		fuzz_die("open " FUZZ_KEY_FILE, NULL);
	if (cs_cred_read_fd(CS_CRED_KEYFILE, fileno(f), FUZZ_KEY_FILE, &cred, &err) != CS_OK)
		fuzz_die("read key file", &err);
	fclose(f);
	return cred;
}

/* One memfd per process, emptied and refilled for each input; positioned at 0. */
static inline int fuzz_memfd(const void *data, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("clawstate-fuzz", MFD_CLOEXEC)) < 0)
		fuzz_die("memfd_create", NULL);
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		fuzz_die("ftruncate", NULL);
	const unsigned char *p = data;
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, p + done, size - done);
		if (n <= 0)
			fuzz_die("write memfd", NULL);
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		fuzz_die("lseek", NULL);
	return fd;
}

#endif
