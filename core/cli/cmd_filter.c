/* SPDX-License-Identifier: MIT */
/*
 * cmd_filter.c - `guardstack filter`: stdin through one phase of a stack,
 * as plain text, as one chat-completions JSON, as JSON lines streamed one
 * call per line, or (--stream) as plain text cut into chunks of about
 * 1 MiB, one call per chunk; the last two in constant memory however long
 * the input.
 */
#include "config.h"
#include "cli.h"
#include <string.h>

/* --stream: "stdin: chunk N (bytes A-B)" and then `what`, of the chunk
 * k handed out last, len bytes long. */
static void chunk_say(const struct cli_chunker *k, size_t len,
		      const char *what)
{
	if (!len)
		cli_err("stdin: chunk %lu (empty)%s", k->n, what);
	else
		cli_err("stdin: chunk %lu (bytes %llu-%llu)%s", k->n, k->off,
			k->off + len - 1, what);
}

/* One text through the stack: the whole of stdin, or with k (--stream)
 * the chunk k handed out last.  Writes the result only when it passed. */
static int run_one(const struct cli_opts *o, gs_stack *st, const char *in,
		   size_t len, const struct cli_chunker *k)
{
	gs_call *c = gs_call_new(st);
	char *err = NULL;
	int rc, ret;

	if (!c) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	if (o->json)
		rc = o->phase == GS_PHASE_REQUEST
			? gs_call_set_request_json(c, in, len, o->max_bytes,
						   &err)
			: gs_call_set_response_json(c, in, len, o->max_bytes,
						    &err);
	else
		rc = o->phase == GS_PHASE_REQUEST
			? gs_call_add_message(c, "user", in, len, &err)
			: gs_call_set_answer(c, in, len, &err);
	if (rc < 0) {
		if (k && k->n > 1)
			/* Offsets in err count from the chunk's start. */
			cli_err("stdin: chunk %lu (from byte %llu): %s", k->n,
				k->off, err ? err : gs_strerror(rc));
		else
			cli_err("stdin: %s", err ? err : gs_strerror(rc));
		gs_free(err);
		gs_call_free(c);
		ret = rc == GS_ENOMEM ? EXIT_RUNTIME : EXIT_INPUT;
		goto stopped;
	}
	rc = gs_call_run(c, o->phase);
	if (rc < 0) {
		cli_err("%s", gs_strerror(rc));
		gs_call_free(c);
		ret = EXIT_RUNTIME;
		goto stopped;
	}
	if (o->verbose) {
		if (k)
			chunk_say(k, len, ":");
		cli_report(st, c, o->phase);
	}
	ret = cli_outcome_exit(c, rc, NULL);
	if (ret == EXIT_PASS) {
		if (o->json) {
			ret = cli_print_json(o->phase == GS_PHASE_REQUEST
					     ? gs_call_request_json(c)
					     : gs_call_response_json(c));
		} else {
			gs_buf t = GS_BUF_INIT;
			if (cli_own_text(c, o->phase, &t) < 0) {
				cli_err("out of memory");
				ret = EXIT_RUNTIME;
			} else if (t.len &&
				   fwrite(t.data, 1, t.len, stdout) != t.len) {
				ret = cli_stdout_failed();
			}
			gs_buf_free(&t);
		}
	}
	gs_call_free(c);
	if (fflush(stdout) != 0 && ret == EXIT_PASS)
		ret = cli_stdout_failed();
stopped:
	if (ret != EXIT_PASS && k) {
		/* What came before is out already; say where it stopped. */
		if (k->n == 1)
			chunk_say(k, len, " not written; nothing was");
		else
			chunk_say(k, len, k->n == 2
				  ? " not written; chunk 1 before it was"
				  : " not written; the chunks before it were");
	}
	return ret;
}

/* --stream: each chunk (see cli_chunk_next) its own call, its output
 * written before the next chunk is read; stops at the first chunk that
 * does not pass. */
static int run_stream(const struct cli_opts *o, gs_stack *st)
{
	struct cli_chunker k;
	const char *s;
	size_t len;
	int r, ret = EXIT_PASS;

	cli_chunker_init(&k, stdin, o->max_bytes);
	while ((r = cli_chunk_next(&k, &s, &len)) > 0)
		if ((ret = run_one(o, st, s, len, &k)) != EXIT_PASS)
			break;
	if (r < 0)
		ret = -r;
	cli_chunker_free(&k);
	return ret;
}

static int run_jsonl(const struct cli_opts *o, gs_stack *st)
{
	gs_buf in = GS_BUF_INIT, line = GS_BUF_INIT;
	struct cli_lines lines;
	int r, too_long, ret = 0;
	unsigned long n = 0;

	cli_lines_init(&lines, stdin);
	while ((r = cli_read_line(&lines, &in, o->max_bytes,
				  &too_long)) > 0) {
		int e = cli_jsonl_line(st, o->phase, in.data ? in.data : "",
				       in.len, too_long, o->max_bytes, ++n,
				       &line);

		if (e < 0) {
			cli_err("out of memory");
			ret = EXIT_RUNTIME;
			break;
		}
		if (fwrite(line.data, 1, line.len, stdout) != line.len) {
			ret = cli_stdout_failed();
			break;
		}
	}
	if (r < 0) {
		cli_err("reading stdin failed");
		ret = EXIT_RUNTIME;
	}
	cli_lines_free(&lines);
	gs_buf_free(&in);
	gs_buf_free(&line);
	if (fflush(stdout) != 0 && !ret)
		ret = cli_stdout_failed();
	return ret;
}

int cmd_filter(const struct cli_opts *o)
{
	gs_stack *st;
	char *in = NULL;
	size_t len;
	int rc = cli_load(o, &st);

	if (rc)
		return rc;
	if (o->jsonl) {
		rc = run_jsonl(o, st);
	} else if (o->stream) {
		rc = run_stream(o, st);
	} else {
		rc = cli_read_all(stdin, o->max_bytes, &in, &len);
		if (!rc)
			rc = run_one(o, st, in, len, NULL);
	}
	gs_free(in);
	gs_stack_free(st);
	return rc;
}
