/* SPDX-License-Identifier: MIT */
/* cli.h - what the guardstack command's files share. */
#ifndef GS_CLI_H
#define GS_CLI_H

#include <stdio.h>
#include <guardstack.h>

/* Exit codes: the contract scripts rely on. */
enum {
	EXIT_PASS = 0,     /* passed, possibly modified */
	EXIT_REJECTED = 1, /* the stack rejected the content */
	EXIT_CONFIG = 2,   /* usage or configuration error */
	EXIT_RUNTIME = 3,  /* a filter or the process failed */
	EXIT_INPUT = 4     /* malformed input: JSON, UTF-8, NUL, size */
};

struct cli_opts {
	const char *stack;
	gs_phase phase;
	int json, jsonl, verbose;
	size_t max_bytes;
};

/* io.c */
/* Reads all of fp up to max bytes into *out (gs_free).  Returns 0, or
 * EXIT_INPUT / EXIT_RUNTIME after printing why. */
int cli_read_all(FILE *fp, size_t max, char **out, size_t *len);
/* Reads one line (without its newline) into b; returns 1 for a line,
 * 0 at EOF, -1 on error.  *too_long is set when the line passed max
 * bytes: the rest of it is skipped and b holds nothing useful. */
int cli_read_line(FILE *fp, gs_buf *b, size_t max, int *too_long);
void cli_err(const char *fmt, ...) GS_PRINTF(1, 2);
/* Loads the stack named in opts, printing the error; EXIT_* or 0. */
int cli_load(const struct cli_opts *o, gs_stack **st);

int cmd_check(const struct cli_opts *o);
int cmd_filter(const struct cli_opts *o);

#endif
