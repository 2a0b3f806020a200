/* SPDX-License-Identifier: MIT */
/* io.c - reading stdin with limits, and the CLI's error line. */
#include "config.h"
#include "cli.h"
#include <errno.h>
#include <stdarg.h>
#include <string.h>

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

int cli_read_line(FILE *fp, gs_buf *b, size_t max, int *too_long)
{
	int c, any = 0;

	gs_buf_reset(b);
	*too_long = 0;
	for (;;) {
		/* getc_unlocked: the CLI reads stdin from one thread. */
		c = getc_unlocked(fp);
		if (c == EOF)
			break;
		any = 1;
		if (c == '\n')
			return 1;
		if (*too_long)
			continue;
		if (b->len >= max) {
			*too_long = 1;
			gs_buf_reset(b);
			continue;
		}
		if (gs_buf_putc(b, (char)c) < 0)
			return -1;
	}
	if (ferror(fp))
		return -1;
	return any;
}
