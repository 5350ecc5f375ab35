/* common.c - shared command-line plumbing: strict option and number parsing,
 * defaults, credentials (files, stdin, a no-echo /dev/tty prompt), and how
 * errors, warnings, progress and JSON reach the user. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

void cli_init(struct cli *c, const char *cmd, const char *usage)
{
	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	c->usage = usage;
	c->out = stdout;
	optind = 0; /* glibc: full re-initialisation of getopt */
}

/* ---- Options ---- */

/* getopt_long accepts unambiguous prefixes ("--rep" for "--replace"); a typo
 * on a destructive flag must not silently mean something, so insist on the
 * exact name. */
static int long_name_exact(const char *text, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(text, "--", 2) != 0)
		return 1; /* a short option that maps to this long one */
	return strncmp(text + 2, name, n) == 0 && (text[2 + n] == '\0' || text[2 + n] == '=');
}

int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	int idx = -1;
	opterr = 0;
	int o = getopt_long(argc, argv, shortopts, longopts, &idx);
	if (o == -1)
		return -1;
	if (o == '?') {
		if (optopt && optopt < OPT_BASE)
			cli_usage(c, "unknown option '-%c'", optopt);
		else
			cli_usage(c, "unknown or ambiguous option '%s'", argv[optind - 1]);
		return '?';
	}
	if (o == ':') {
		if (optopt && optopt < OPT_BASE)
			cli_usage(c, "option '-%c' needs an argument", optopt);
		else
			cli_usage(c, "option '%s' needs an argument", argv[optind - 1]);
		return '?';
	}
	if (idx >= 0) {
		const struct option *lo = &longopts[idx];
		const char *text = argv[optind - 1];
		if (lo->has_arg == required_argument && optarg == argv[optind - 1] && optind >= 2)
			text = argv[optind - 2];
		if (!long_name_exact(text, lo->name)) {
			cli_usage(c, "unknown option '%s' (did you mean '--%s'?)", text, lo->name);
			return '?';
		}
	}
	return o;
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	cli_progress_done(c);
	fprintf(stderr, "clawstate: %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\nTry 'clawstate %s --help'.\n", c->usage, c->cmd);
	return EXIT_USAGE;
}

int cli_help(struct cli *c, const char *text)
{
	printf("%s\n\n%s", c->usage, text);
	return EXIT_OK;
}

static void emit_json_line(cJSON *o);

void cli_errorf(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_progress_done(c);
	/* With --progress=json every stderr line is an event a UI can parse. */
	if (c->progress == PROGRESS_JSON) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "message");
		cli_json_add_path(o, "text", msg);
		emit_json_line(o);
		return;
	}
	fprintf(stderr, "clawstate: %s: %s\n", c->cmd, msg);
}

const char *cli_printable_path(const char *s, char *buf, size_t len)
{
	memset(buf, 0, len);
	FILE *f = fmemopen(buf, len - 1, "w");
	if (!f) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	cli_print_path(f, s);
	fclose(f);
	buf[len - 1] = '\0';
	return buf;
}

void cli_path_errorf(struct cli *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	char msg[1024], p[4096];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!path || !*path) {
		cli_errorf(c, "%s", msg);
		return;
	}
	cli_errorf(c, "%s: %s", cli_printable_path(path, p, sizeof(p)), msg);
}

int cli_fail(struct cli *c, int rc, const struct cs_error *err)
{
	int code = cs_exit_code(rc);
	if (code == EXIT_OK)
		code = EXIT_ERROR;
	cli_progress_done(c);
	if (c->progress == PROGRESS_JSON) {
		cli_result_event(c, code, err, NULL);
		return code;
	}
	fprintf(stderr, "clawstate: %s: ", c->cmd);
	if (err && err->path[0]) {
		cli_print_path(stderr, err->path);
		fputs(": ", stderr);
	}
	if (err && err->what[0]) {
		fputs(err->what, stderr);
		if (err->sys_errno && !strstr(err->what, strerror(err->sys_errno)))
			fprintf(stderr, ": %s", strerror(err->sys_errno));
	} else {
		fputs(cs_strerror(rc), stderr);
	}
	/* The library says "vault busy (pid N)"; only the command knows it has --wait. */
	if (rc == CS_ERR_BUSY && c->busy_hint && err && strstr(err->what, "vault busy"))
		fputs(" (use --wait to wait for it)", stderr);
	fputc('\n', stderr);
	return code;
}

/* ---- Warnings and progress ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void emit_json_line(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	if (s) {
		fprintf(stderr, "%s\n", s);
		fflush(stderr);
		cJSON_free(s);
	}
	cJSON_Delete(o);
}

static void on_warn(void *ctx, const char *path, const char *reason)
{
	struct cli *c = ctx;
	c->warnings++;
	cli_progress_done(c);
	if (c->progress == PROGRESS_JSON) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "warning");
		cli_json_add_path(o, "path", path ? path : "");
		cli_json_add_path(o, "reason", reason ? reason : "");
		emit_json_line(o);
		return;
	}
	fprintf(stderr, "clawstate: %s: ", c->cmd);
	if (path && *path) {
		cli_print_path(stderr, path);
		fputs(": ", stderr);
	}
	fprintf(stderr, "%s\n", reason ? reason : "skipped");
}

static void on_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	struct cli *c = ctx;
	uint64_t t = now_ns();
	int changed = strncmp(phase, c->last_phase, sizeof(c->last_phase) - 1) != 0;
	int final = total && done >= total;
	uint64_t gap = c->progress == PROGRESS_JSON ? 250000000u : 100000000u;
	if (c->progress != PROGRESS_JSON && c->progress != PROGRESS_TTY)
		return;
	if (!changed && !final && t - c->last_ns < gap)
		return;
	c->last_ns = t;
	snprintf(c->last_phase, sizeof(c->last_phase), "%s", phase);
	if (c->progress == PROGRESS_JSON) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "progress");
		cli_json_add_path(o, "phase", phase);
		cli_json_add_u64(o, "done", done);
		cli_json_add_u64(o, "total", total);
		emit_json_line(o);
		return;
	}
	char a[32], b[32];
	cli_human_bytes(done, a, sizeof(a));
	if (total) {
		enum { WIDTH = 30 };
		uint64_t d = done > total ? total : done;
		int fill = (int)(d * WIDTH / total);
		char bar[WIDTH + 1];
		for (int i = 0; i < WIDTH; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[WIDTH] = '\0';
		fprintf(stderr, "\r\033[K%-10s [%s] %3d%%  %s / %s", phase, bar,
			(int)(d * 100 / total), a, cli_human_bytes(total, b, sizeof(b)));
	} else {
		fprintf(stderr, "\r\033[K%-10s %s", phase, a);
	}
	fflush(stderr);
	c->bar_shown = 1;
}

void cli_progress_done(struct cli *c)
{
	if (c->bar_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		c->bar_shown = 0;
	}
}

int cli_set_progress(struct cli *c, const char *mode)
{
	if (strcmp(mode, "json") == 0)
		c->progress = PROGRESS_JSON;
	else if (strcmp(mode, "tty") == 0)
		c->progress = PROGRESS_TTY;
	else if (strcmp(mode, "none") == 0)
		c->progress = PROGRESS_NONE;
	else
		return -1;
	return 0;
}

int cli_bad_progress(struct cli *c, const char *mode)
{
	return cli_usage(c, "--progress: unknown mode '%s' (json, tty or none)", mode);
}

void cli_report(struct cli *c, struct cs_report *r)
{
	if (c->progress == PROGRESS_AUTO) {
		const char *term = getenv("TERM");
		c->progress = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0)
				      ? PROGRESS_TTY
				      : PROGRESS_NONE;
	}
	r->warn = on_warn;
	r->progress = on_progress;
	r->ctx = c;
}

void cli_result_event(struct cli *c, int exit_code, const struct cs_error *err,
		      const cJSON *result)
{
	if (c->progress != PROGRESS_JSON)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "result");
	cJSON_AddStringToObject(o, "command", c->cmd);
	cJSON_AddBoolToObject(o, "ok", exit_code == EXIT_OK);
	cJSON_AddNumberToObject(o, "exit", exit_code);
	cli_json_add_u64(o, "warnings", c->warnings);
	if (err && err->code != CS_OK) {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "code", cs_strerror(err->code));
		cli_json_add_path(e, "path", err->path);
		cli_json_add_path(e, "what", err->what[0] ? err->what : cs_strerror(err->code));
	}
	for (const cJSON *it = result ? result->child : NULL; it; it = it->next)
		cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
	emit_json_line(o);
}

/* ---- Defaults ---- */

static const char *env_nonempty(const char *name)
{
	const char *s = getenv(name);
	return s && *s ? s : NULL;
}

static const char *home_dir(void)
{
	const char *h = env_nonempty("HOME");
	if (h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
}

static const char *fmt_path(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

const char *cli_default_state(char *buf, size_t len)
{
	const char *s;
	if ((s = env_nonempty("OPENCLAW_STATE_DIR")))
		return fmt_path(buf, len, s, "");
	if ((s = env_nonempty("OPENCLAW_HOME")))
		return fmt_path(buf, len, s, "/.openclaw");
	if ((s = home_dir()))
		return fmt_path(buf, len, s, "/.openclaw");
	return NULL;
}

const char *cli_default_vault(char *buf, size_t len)
{
	const char *s;
	if ((s = env_nonempty("CLAWSTATE_VAULT")))
		return fmt_path(buf, len, s, "");
	/* The XDG spec says relative values are invalid and must be ignored. */
	if ((s = env_nonempty("XDG_STATE_HOME")) && s[0] == '/')
		return fmt_path(buf, len, s, "/clawstate");
	if ((s = home_dir()))
		return fmt_path(buf, len, s, "/.local/state/clawstate");
	return NULL;
}

const char *cli_openclaw_home(void)
{
	return env_nonempty("OPENCLAW_HOME");
}

/* ---- Numbers ---- */

int cli_parse_u64(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || !end || *end)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *sfx; unsigned shift; } units[] = {
		{"", 0},    {"B", 0},    {"K", 10},   {"KiB", 10}, {"M", 20},
		{"MiB", 20}, {"G", 30},  {"GiB", 30}, {"T", 40},   {"TiB", 40},
	};
	char num[32];
	size_t n = strspn(s, "0123456789");
	uint64_t v;
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (cli_parse_u64(num, &v))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + n, units[i].sfx) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -1;
		*out = v << units[i].shift;
		return 0;
	}
	return -1;
}

int cli_parse_owner(const char *s, uint32_t *uid, uint32_t *gid)
{
	const char *colon = strchr(s, ':');
	char a[32];
	uint64_t u, g;
	if (!colon || (size_t)(colon - s) >= sizeof(a) || strchr(colon + 1, ':'))
		return -1;
	memcpy(a, s, (size_t)(colon - s));
	a[colon - s] = '\0';
	/* (uid_t)-1 means "leave unchanged" to chown(2), so it is no owner. */
	if (cli_parse_u64(a, &u) || cli_parse_u64(colon + 1, &g) || u >= UINT32_MAX ||
	    g >= UINT32_MAX)
		return -1;
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
}

int cli_valid_snapshot_id(const char *s)
{
	uint64_t v;
	return strcmp(s, "latest") == 0 || (cli_parse_u64(s, &v) == 0 && v > 0);
}

/* ---- Credentials ---- */

int cli_cred_resolve(struct cli *c, struct cli_cred_src *src, int data_on_stdin)
{
	src->tty_fd = -1;
	src->path = NULL;
	if (src->passphrase_file && src->key_file)
		return cli_usage(c, "--passphrase-file and --key-file exclude each other");
	if (src->passphrase_file) {
		src->kind = CS_CRED_PASSPHRASE;
		src->path = src->passphrase_file;
	} else if (src->key_file) {
		src->kind = CS_CRED_KEYFILE;
		src->path = src->key_file;
	} else {
		const char *pe = env_nonempty("CLAWSTATE_PASSPHRASE_FILE");
		const char *ke = env_nonempty("CLAWSTATE_KEY_FILE");
		if (pe && ke)
			return cli_usage(c, "both CLAWSTATE_PASSPHRASE_FILE and CLAWSTATE_KEY_FILE "
					    "are set; choose with --passphrase-file or --key-file");
		src->kind = ke ? CS_CRED_KEYFILE : CS_CRED_PASSPHRASE;
		src->path = ke ? ke : pe;
	}
	if (src->path && strcmp(src->path, "-") == 0 && data_on_stdin)
		return cli_usage(c, "the credential and the data cannot both come from stdin ('-')");
	return EXIT_OK;
}

void cli_cred_src_close(struct cli_cred_src *src)
{
	if (src->tty_fd >= 0)
		close(src->tty_fd);
	src->tty_fd = -1;
}

/* The terminal settings to put back if a signal arrives while echo is off. */
static int tty_restore_fd = -1;
static struct termios tty_saved;

static void tty_on_signal(int sig)
{
	if (tty_restore_fd >= 0)
		tcsetattr(tty_restore_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read one line from the terminal with echo off.  Returns length or -1. */
static ssize_t tty_read_secret(int fd, const char *prompt, unsigned char *buf, size_t cap)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	struct sigaction sa, old[5];
	struct termios t;
	ssize_t len = 0;
	int echo_off = 0;

	if (write(fd, prompt, strlen(prompt)) < 0)
		return -1;
	if (tcgetattr(fd, &tty_saved) == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = tty_on_signal;
		sigemptyset(&sa.sa_mask);
		for (int i = 0; i < 5; i++) {
			/* A signal the caller ignores (nohup) stays ignored. */
			sigaction(sigs[i], NULL, &old[i]);
			if (old[i].sa_handler != SIG_IGN)
				sigaction(sigs[i], &sa, NULL);
		}
		tty_restore_fd = fd;
		t = tty_saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		t.c_lflag |= ICANON;
		echo_off = tcsetattr(fd, TCSAFLUSH, &t) == 0;
	}
	for (;;) {
		unsigned char ch;
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || ch == '\n' || ch == '\r')
			break;
		if ((size_t)len + 1 >= cap) {
			len = -1;
			break;
		}
		buf[len++] = ch;
	}
	if (tty_restore_fd >= 0) {
		if (echo_off)
			tcsetattr(fd, TCSAFLUSH, &tty_saved);
		tty_restore_fd = -1;
		for (int i = 0; i < 5; i++)
			sigaction(sigs[i], &old[i], NULL);
	}
	if (write(fd, "\n", 1) < 0) {
		/* the newline is cosmetic */
	}
	return len;
}

static int cred_from_tty(struct cli *c, struct cli_cred_src *src, int creating,
			 const char *what, struct cs_cred **out)
{
	static unsigned char a[1024], b[1024];
	char prompt[512];
	struct cs_error err;
	int code = EXIT_OK;
	ssize_t la, lb;

	cs_error_clear(&err);
	snprintf(prompt, sizeof(prompt), "%s for %s: ", creating ? "New passphrase" : "Passphrase",
		 what);
	la = tty_read_secret(src->tty_fd, prompt, a, sizeof(a));
	if (la < 0) {
		cli_path_errorf(c, what, "could not read a passphrase from the terminal");
		code = EXIT_USAGE;
		goto out;
	}
	if (la == 0) {
		cli_path_errorf(c, what, "empty passphrase refused");
		code = EXIT_USAGE;
		goto out;
	}
	if (creating) {
		lb = tty_read_secret(src->tty_fd, "Repeat passphrase: ", b, sizeof(b));
		if (lb != la || memcmp(a, b, (size_t)la) != 0) {
			cli_path_errorf(c, what, "the passphrases do not match");
			code = EXIT_USAGE;
			goto out;
		}
	}
	int rc = cs_cred_from_buffer(CS_CRED_PASSPHRASE, a, (size_t)la, out, &err);
	if (rc != CS_OK)
		code = cli_fail(c, rc, &err);
out:
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	return code;
}

int cli_cred_load(struct cli *c, struct cli_cred_src *src, int creating, const char *prompt_what,
		  struct cs_cred **out)
{
	struct cs_error err;
	int fd = -1, rc, code = EXIT_OK;
	const char *name;

	cs_error_clear(&err);
	*out = NULL;
	if (!src->path) {
		/* Opened only now: whatever the credential unlocks was found first. */
		if (src->tty_fd < 0)
			src->tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (src->tty_fd < 0) {
			cli_path_errorf(c, prompt_what, "no credential: use --passphrase-file, "
							"--key-file or a terminal");
			return EXIT_USAGE;
		}
		return cred_from_tty(c, src, creating, prompt_what, out);
	}
	if (strcmp(src->path, "-") == 0) {
		return (rc = cs_cred_read_fd(src->kind, STDIN_FILENO, "stdin", out, &err)) == CS_OK
			       ? EXIT_OK
			       : cli_fail(c, rc, &err);
	}
	name = src->path;
	if (creating && src->kind == CS_CRED_KEYFILE && access(name, F_OK) != 0 &&
	    errno == ENOENT) {
		if ((rc = cs_keyfile_create(name, &err)) != CS_OK)
			return cli_fail(c, rc, &err);
		src->created = 1;
		fprintf(c->out, "key file created: %s (32 random bytes; keep it safe, it unlocks "
				"the vault)\n", name);
	}
	fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err.code = CS_ERR_IO;
		err.sys_errno = errno;
		snprintf(err.path, sizeof(err.path), "%s", name);
		snprintf(err.what, sizeof(err.what), "cannot open %s: %s",
			 src->kind == CS_CRED_KEYFILE ? "key file" : "passphrase file",
			 strerror(errno));
		return cli_fail(c, CS_ERR_IO, &err);
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
		cli_errorf(c, "%s: readable by group or others; chmod 600 it", name);
	if ((rc = cs_cred_read_fd(src->kind, fd, name, out, &err)) != CS_OK)
		code = cli_fail(c, rc, &err);
	close(fd);
	return code;
}

int cli_vault_open(struct cli *c, const char *dir, int flags, struct cli_cred_src *src,
		   struct cs_vault **out)
{
	struct cs_error err;
	struct cs_cred *cred = NULL;
	struct cs_vault *v = NULL;
	int rc, code;

	cs_error_clear(&err);
	*out = NULL;
	if ((rc = cs_vault_open(dir, flags, &v, &err)) != CS_OK)
		return cli_fail(c, rc, &err);
	if ((code = cli_cred_load(c, src, 0, dir, &cred)) != EXIT_OK)
		goto out;
	if ((rc = cs_vault_unlock(v, cred, &err)) != CS_OK) {
		code = cli_fail(c, rc, &err);
		goto out;
	}
	*out = v;
	v = NULL;
out:
	cs_cred_free(cred);
	cs_vault_close(v);
	return code;
}

int cli_open_input(struct cli *c, const char *file, int *fd, const char **name)
{
	struct cs_error err;
	*name = file;
	if (strcmp(file, "-") == 0) {
		*fd = STDIN_FILENO;
		*name = "stdin";
		return EXIT_OK;
	}
	if ((*fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) >= 0)
		return EXIT_OK;
	cs_error_clear(&err);
	err.code = CS_ERR_IO;
	err.sys_errno = errno;
	snprintf(err.path, sizeof(err.path), "%s", file);
	snprintf(err.what, sizeof(err.what), "cannot open: %s", strerror(errno));
	return cli_fail(c, CS_ERR_IO, &err);
}
