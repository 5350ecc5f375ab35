/* testpoint.c - the test seam: reproducible SIGKILL at the N-th durable step,
 * a count of steps reached, and simulated EACCES on chosen source files. */
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tp_state;          /* 0 = not read yet, 1 = inactive, 2 = active */
static unsigned long tp_kill_at;
static unsigned long tp_count;
static const char *tp_count_file;

static void tp_write_count(void)
{
	char buf[32];
	int fd = open(tp_count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int n = snprintf(buf, sizeof buf, "%lu\n", tp_count);
	if (write(fd, buf, (size_t)n) != n) {
		/* best effort: a test reads a missing count as a failure */
	}
	close(fd);
}

static void tp_setup(void)
{
	const char *k = getenv("CLAWSTATE_TEST_KILL_AT");
	tp_count_file = getenv("CLAWSTATE_TEST_COUNT");
	tp_state = 1;
	if (k && *k) {
		char *end;
		tp_kill_at = strtoul(k, &end, 10);
		if (*end == '\0' && tp_kill_at > 0)
			tp_state = 2;
	}
	if (tp_count_file && *tp_count_file) {
		tp_state = 2;
		atexit(tp_write_count);
	} else {
		tp_count_file = NULL;
	}
}

void cs_test_point(const char *what)
{
	(void)what;
	if (tp_state == 0)
		tp_setup();
	if (tp_state != 2)
		return;
	tp_count++;
	if (tp_count_file)
		tp_write_count();
	if (tp_kill_at && tp_count == tp_kill_at)
		raise(SIGKILL);
}

bool cs_test_eacces(const char *relpath)
{
	const char *s = getenv("CLAWSTATE_TEST_EACCES");
	return s && *s && relpath && strstr(relpath, s) != NULL;
}
