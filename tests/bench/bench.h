/* SPDX-License-Identifier: MIT */
/* bench.h - what gs-bench's files share (see gs-bench.c). */
#ifndef GS_BENCH_H
#define GS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <guardstack.h>

/* ---- corpus.c -------------------------------------------------------- */

/* Appends about n bytes of generated prose to b (valid UTF-8, no NUL,
 * ending on a whole line) from a fixed seed: the same bytes on every
 * machine and every run. */
int corpus_make(gs_buf *b, size_t n, uint64_t seed);

/* Pieces of a text: piece i is [off[i], off[i + 1]), n pieces. */
struct pieces {
	size_t *off;
	size_t n;
};
/* Cuts s[0..len) into pieces of at most max bytes, each ending after a
 * newline (or a space when a line is longer), so no piece splits a word,
 * a UTF-8 sequence or a fragment the filters look for. */
int pieces_cut(const char *s, size_t len, size_t max, struct pieces *p);
void pieces_free(struct pieces *p);

/* A chat request (system + user message, about `in` bytes of JSON) and
 * an answer (about `out` bytes) for the latency figures, as JSON and as
 * the bare texts; the texts are the corpus's from the first line after
 * offset `at` on. */
struct chat {
	gs_buf req_json, resp_json;
	gs_buf system, user, answer;
};
int chat_make(struct chat *c, const char *corpus, size_t len, size_t at,
	      size_t in, size_t out);
void chat_free(struct chat *c);
/* Appends s as a JSON string literal (quotes included). */
int json_quote(gs_buf *b, const char *s, size_t len);

/* ---- shapes.c: texts unlike the corpus's prose ---------------------- */

enum { SHAPE_SCRIPTS, SHAPE_HTML, SHAPE_RECORDS, SHAPE_MAIL, SHAPE_N };
extern const char *const shape_names[SHAPE_N];
/* Appends about n bytes of one shape of text to b (valid UTF-8, no NUL,
 * ending on a whole line), from seed. */
int shape_make(gs_buf *b, size_t n, int shape, uint64_t seed);

/* ---- naive.c: the straightforward filters of issue 3 ----------------- */

struct naive;
/* Compiles the regexes; NULL after printing why. */
struct naive *naive_new(void);
void naive_free(struct naive *nv);
enum naive_id {
	NAIVE_INPUT,   /* five lower-case phrases -> [FILTERED] */
	NAIVE_SSN,     /* \b\d{3}-\d{2}-\d{4}\b -> [SSN] */
	NAIVE_EMAIL,   /* \b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z]{2,}\b */
	NAIVE_SCRIPT,  /* <script[^>]*>.*?</script> -> "" */
	NAIVE_LEAK,    /* (?i)system prompt:.* -> [REDACTED] */
	NAIVE_N
};
extern const char *const naive_names[NAIVE_N];
/* One substitute pass of filter id over s; the result in out (reset
 * first).  Returns the number of replacements, or -1. */
long naive_run(struct naive *nv, enum naive_id id, const char *s,
	       size_t len, gs_buf *out);

/* ---- proc.c: the CLI as a whole process ------------------------------ */

struct proc_result {
	double seconds;   /* wall clock, exec to exit */
	double cpu;       /* the child's user + system time */
	long maxrss_kb;   /* peak resident set of the child */
	int status;       /* exit status, or 128 + signal */
};
/* Runs argv with stdin from in_path and stdout to out_path (NULL:
 * /dev/null), stderr to /dev/null; waits for it. */
int proc_run(char *const argv[], const char *in_path, const char *out_path,
	     struct proc_result *r);
/* The other end: gs-bench --spawn FD IN OUT ARGV... (see proc.c). */
int proc_spawn(int fd, const char *in_path, const char *out_path,
	       char *const argv[]);

#endif
