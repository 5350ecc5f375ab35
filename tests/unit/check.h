/* check.h - the unit tests' tiny harness: CHECK() prints file:line, the
 * expression and the library error, and counts; TEST_MAIN prints the summary
 * line "N passed, N failed" that tests/run.sh adds up. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;
static struct cs_error check_err;

#define CHECK(expr) do { \
	if (expr) { check_passed++; } else { check_failed++; \
		fprintf(stderr, "%s:%d: CHECK(%s) failed: %s %s\n", __FILE__, __LINE__, #expr, \
			check_err.path, check_err.what); } \
} while (0)

/* The call must return CS_OK; err is check_err. */
#define CHECK_OK(call) do { int check_rc_ = (call); \
	if (check_rc_ == 0) { check_passed++; } else { check_failed++; \
		fprintf(stderr, "%s:%d: %s returned %d: %s: %s\n", __FILE__, __LINE__, #call, \
			check_rc_, check_err.path, check_err.what); } \
} while (0)

#define CHECK_RC(call, want) do { int check_rc_ = (call); \
	if (check_rc_ == (want)) { check_passed++; } else { check_failed++; \
		fprintf(stderr, "%s:%d: %s returned %d, want %d: %s: %s\n", __FILE__, __LINE__, \
			#call, check_rc_, (int)(want), check_err.path, check_err.what); } \
} while (0)

#define TEST_DONE() do { \
	printf("%d passed, %d failed\n", check_passed, check_failed); \
	return check_failed ? 1 : 0; \
} while (0)
#endif
