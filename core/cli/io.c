/* SPDX-License-Identifier: MIT */
/* io.c - reading stdin with limits, and the CLI's error line. */
#include "config.h"
#include "cli.h"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("guardstack: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_read_all(FILE *fp, size_t max, char **out, size_t *len)
{
	gs_buf b = GS_BUF_INIT;
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
		if (b.len + n > max) {
			gs_buf_free(&b);
			cli_err("stdin: input is larger than %zu bytes; raise "
				"--max-bytes or split it (--jsonl)", max);
			return EXIT_INPUT;
		}
		if (gs_buf_append(&b, chunk, n) < 0) {
			gs_buf_free(&b);
			cli_err("out of memory reading stdin");
			return EXIT_RUNTIME;
		}
	}
	if (ferror(fp)) {
		gs_buf_free(&b);
		cli_err("stdin: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	*out = gs_buf_steal(&b, len);
	if (!*out) {
		cli_err("out of memory reading stdin");
		return EXIT_RUNTIME;
	}
	return 0;
}

void cli_lines_init(struct cli_lines *r, FILE *fp)
{
	memset(r, 0, sizeof *r);
	r->fp = fp;
}

void cli_lines_free(struct cli_lines *r)
{
	gs_free(r->buf);
	r->buf = NULL;
}

/* Reads what is there, up to a block: read(2) returns as soon as some
 * bytes came, so that a line typed at a terminal, or written by a
 * program that waits, is answered without waiting for a whole block
 * (fread would).  A stream without a descriptor (fmemopen, in the fuzz
 * target) is read through stdio. */
static int cli_lines_fill(struct cli_lines *r)
{
	int fd = fileno(r->fp);
	ssize_t n;

	if (fd < 0) {
		r->end = fread(r->buf, 1, CLI_LINES_BLOCK, r->fp);
		return r->end == 0 && ferror(r->fp) ? -1 : 0;
	}
	do
		n = read(fd, r->buf, CLI_LINES_BLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	r->end = (size_t)n;
	return 0;
}

int cli_read_line(struct cli_lines *r, gs_buf *b, size_t max,
		  int *too_long)
{
	int any = 0;

	gs_buf_reset(b);
	*too_long = 0;
	for (;;) {
		const char *p, *nl;
		size_t n;

		if (r->pos == r->end) {
			if (r->eof)
				break;
			if (!r->buf && !(r->buf = gs_alloc(CLI_LINES_BLOCK)))
				return -1;
			r->pos = 0;
			if (cli_lines_fill(r) < 0)
				return -1;
			if (r->end == 0) {
				r->eof = 1;
				break;
			}
		}
		any = 1;
		p = r->buf + r->pos;
		nl = memchr(p, '\n', r->end - r->pos);
		n = nl ? (size_t)(nl - p) : r->end - r->pos;
		r->pos += n + (nl != NULL);
		if (!*too_long && n > max - b->len) {
			*too_long = 1; /* the rest of it is skipped */
			gs_buf_reset(b);
		} else if (!*too_long && gs_buf_append(b, p, n) < 0) {
			return -1;
		}
		if (nl)
			break;
	}
	return any;
}

void cli_chunker_init(struct cli_chunker *k, FILE *fp, size_t max)
{
	memset(k, 0, sizeof *k);
	k->fp = fp;
	k->max = max;
}

void cli_chunker_free(struct cli_chunker *k)
{
	gs_free(k->buf);
	k->buf = NULL;
}

/* Reads until k holds upto bytes or fp ends; the buffer grows to upto,
 * which the caller keeps at most k->max. */
static int chunk_fill(struct cli_chunker *k, size_t upto)
{
	if (k->cap < upto) {
		char *p = gs_realloc(k->buf, upto);

		if (!p) {
			cli_err("out of memory reading stdin");
			return -EXIT_RUNTIME;
		}
		k->buf = p;
		k->cap = upto;
	}
	while (!k->eof && k->len < upto) {
		size_t n = fread(k->buf + k->len, 1, upto - k->len, k->fp);

		k->len += n;
		if (n)
			continue;
		if (ferror(k->fp)) {
			cli_err("stdin: %s", strerror(errno));
			return -EXIT_RUNTIME;
		}
		k->eof = 1;
	}
	return 0;
}

/* Length of the longest s[0..cut) with cut <= lim that ends just after a
 * '\n' outside an HTML tag: the last '<' before that '\n' (if any) has a
 * '>' after it.  0 when there is none.  Every '\n' between an unclosed
 * '<' and the candidate is inside that tag too, so the next candidate is
 * the last '\n' before the '<': each byte is looked at about once. */
static size_t chunk_cut(const char *s, size_t lim)
{
	const char *nl = memrchr(s, '\n', lim);

	while (nl) {
		const char *lt = memrchr(s, '<', (size_t)(nl - s));

		if (!lt || memchr(lt + 1, '>', (size_t)(nl - lt - 1)))
			return (size_t)(nl - s) + 1;
		nl = memrchr(s, '\n', (size_t)(lt - s));
	}
	return 0;
}

int cli_chunk_next(struct cli_chunker *k, const char **s, size_t *len)
{
	size_t lim = k->max < CLI_CHUNK ? k->max : CLI_CHUNK, cut;
	int rc;

	if (k->used) {
		/* The carry-over moves to the front of the same buffer. */
		memmove(k->buf, k->buf + k->used, k->len - k->used);
		k->len -= k->used;
		k->off += k->used;
		k->used = 0;
	}
	if ((rc = chunk_fill(k, lim)) < 0)
		return rc;
	if (!k->len) {
		if (k->n)
			return 0;
		k->n = 1;
		*s = "";
		*len = 0;
		return 1;
	}
	for (;;) {
		if (k->eof && k->len <= lim) {
			cut = k->len; /* the rest, whole */
			break;
		}
		if ((cut = chunk_cut(k->buf, lim)))
			break;
		if (lim == k->max && !k->eof) {
			/* A full buffer may be all there is left. */
			int c = getc(k->fp);

			if (c != EOF) {
				ungetc(c, k->fp);
			} else if (ferror(k->fp)) {
				cli_err("stdin: %s", strerror(errno));
				return -EXIT_RUNTIME;
			} else {
				k->eof = 1;
				continue;
			}
		}
		if (lim == k->max) {
			cli_err("stdin: no line break outside an HTML tag "
				"within %zu bytes at byte offset %llu; raise "
				"--max-bytes", k->max, k->off);
			return -EXIT_INPUT;
		}
		/* Doubling keeps the rescans linear in the chunk. */
		lim = lim > k->max / 2 ? k->max : 2 * lim;
		if ((rc = chunk_fill(k, lim)) < 0)
			return rc;
	}
	k->used = cut;
	k->n++;
	*s = k->buf;
	*len = cut;
	return 1;
}

/* Plugins run inside this process, as PAM modules do: when one crashes
 * nothing can be saved, and nothing of the content at hand has been
 * written out.  What is left to do is say so on stderr (with write(2):
 * async-signal-safe) and let the signal end the process as it would have,
 * so the exit status still says which signal, and a sanitizer or debugger
 * still sees the fault. */
static const struct {
	int sig;
	const char *name;
} crash_sigs[] = { { SIGSEGV, "SIGSEGV" }, { SIGBUS, "SIGBUS" },
		   { SIGILL, "SIGILL" }, { SIGFPE, "SIGFPE" },
		   { SIGABRT, "SIGABRT" } };
#define NCRASH (sizeof crash_sigs / sizeof *crash_sigs)
static struct sigaction crash_old[NCRASH];

static void say(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));

	(void)r;
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	size_t i;

	(void)uc;
	for (i = 0; i < NCRASH && crash_sigs[i].sig != sig; i++)
		;
	if (i == NCRASH)
		return;
	say("guardstack: ");
	say(crash_sigs[i].name);
	say(": crashed (a plugin or guardstack itself); nothing was passed "
	    "on\n");
	sigaction(sig, &crash_old[i], NULL);
	/* A fault happens again on return, now meeting the old action; a
	 * signal someone sent has to be sent again. */
	if (si->si_code <= 0)
		raise(sig);
}

void cli_on_crash(void)
{
	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa;

	/* A stack overflow can only be reported from another stack. */
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NCRASH; i++)
		sigaction(crash_sigs[i].sig, &sa, &crash_old[i]);
}
