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
	int json, jsonl, stream, verbose;
	size_t max_bytes;
	const char *model;   /* run: -m, or NULL */
	const char *prompt;  /* run: the PROMPT argument, or NULL */
};

/* io.c */
/* Reads all of fp up to max bytes into *out (gs_free).  Returns 0, or
 * EXIT_INPUT / EXIT_RUNTIME after printing why. */
int cli_read_all(FILE *fp, size_t max, char **out, size_t *len);
/* Lines of fp, read a block at a time (a byte at a time through stdio
 * was as costly as parsing the line), straight from its descriptor:
 * nothing may read fp through stdio before or while a reader is in use. */
struct cli_lines {
	FILE *fp;
	char *buf;
	size_t pos, end;
	int eof;
};
#define CLI_LINES_BLOCK 65536
void cli_lines_init(struct cli_lines *r, FILE *fp);
void cli_lines_free(struct cli_lines *r);
/* Reads one line (without its newline) into b; returns 1 for a line,
 * 0 at EOF, -1 on error (a read error, or out of memory).  *too_long is
 * set when the line passed max bytes: the rest of it is skipped and b
 * holds nothing useful. */
int cli_read_line(struct cli_lines *r, gs_buf *b, size_t max,
		  int *too_long);

/* `filter --stream`: fp cut into chunks of about CLI_CHUNK bytes (or
 * max, when smaller), each ending just after a '\n' that is not inside an
 * HTML tag, so that no chunk ends in "<img src=x" with the rest of the
 * tag in the next; cutting after a '\n' never splits a UTF-8 sequence
 * either.  Without such a '\n' a chunk grows up to max bytes; the last
 * chunk is whatever is left at EOF.  One buffer, of CLI_CHUNK bytes
 * unless a chunk had to grow (never more than max): memory does not grow
 * with the input. */
#define CLI_CHUNK (1u << 20)
struct cli_chunker {
	FILE *fp;
	size_t max;              /* the largest chunk (--max-bytes) */
	char *buf;               /* the chunk, then what was read past it */
	size_t cap, len;
	size_t used;             /* the chunk handed out last: dropped next */
	unsigned long long off;  /* offset in fp of buf[0] */
	unsigned long n;         /* chunks handed out so far */
	int eof;
};
void cli_chunker_init(struct cli_chunker *k, FILE *fp, size_t max);
void cli_chunker_free(struct cli_chunker *k);
/* The next chunk: *s (borrowed from k, valid until the next call) and
 * *len; it is chunk number k->n (from 1) and starts at offset k->off.
 * Returns 1 for a chunk, 0 at the end (empty input gives one empty chunk
 * first, as plain `filter` filters an empty text), or -EXIT_INPUT /
 * -EXIT_RUNTIME after printing why. */
int cli_chunk_next(struct cli_chunker *k, const char **s, size_t *len);
void cli_err(const char *fmt, ...) GS_PRINTF(1, 2);
/* Says a write to stdout failed, and why (errno), and returns
 * EXIT_RUNTIME. */
int cli_stdout_failed(void);
/* Installs handlers that report a crash on stderr before the signal ends
 * the process (see io.c). */
void cli_on_crash(void);
/* Loads the stack named in opts, printing the error; EXIT_* or 0. */
int cli_load(const struct cli_opts *o, gs_stack **st);

/* jsonl.c */
/* Appends the texts of the role the CLI fed in (user for requests, the
 * assistant for answers) to b: a filter may have added other messages
 * around it.  0, or -1 out of memory. */
int cli_own_text(const gs_call *c, gs_phase phase, gs_buf *b);
/* One --jsonl input line (line number n, too_long when the reader cut it)
 * through the stack: *out gets the answer line, newline included.
 * Returns 0, or -1 out of memory (nothing to write). */
int cli_jsonl_line(const gs_stack *st, gs_phase phase, const char *s,
		   size_t len, int too_long, size_t max_bytes,
		   unsigned long n, gs_buf *out);

/* report.c */
/* Exit status for a call's outcome; prints why it did not pass, with
 * `what` ("request", "response" or NULL) before "rejected". */
int cli_outcome_exit(const gs_call *c, int oc, const char *what);
/* -v: each filter's verdict and count (only filters of `phases`; 0: all). */
void cli_report(const gs_stack *st, const gs_call *c, unsigned phases);
/* Prints and frees js, a JSON document (NULL: out of memory). */
int cli_print_json(char *js);

int cmd_check(const struct cli_opts *o);
/* cmd_audit.c: -s STACK, or every *.ini of the configuration directory
 * when all is set. */
int cmd_audit(const struct cli_opts *o, int all);
int cmd_filter(const struct cli_opts *o);
int cmd_run(const struct cli_opts *o);
/* cmd_run.c: no core dump and no ptrace while an API key may be in
 * memory (run, and filter when a filter calls an API). */
void cli_no_core_dumps(void);

#endif
