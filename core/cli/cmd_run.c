/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c - `guardstack run`: the whole job.  A prompt (or a request
 * JSON) goes through the request phase, to the stack's upstream, and the
 * answer comes back through the response phase.
 *
 * An API key sits in this process's memory while it runs, so core dumps
 * are turned off first (a dump would write the key to disk) and the
 * process is made non-dumpable, which also keeps other processes of the
 * same user from reading its memory through ptrace or /proc.
 */
#include "config.h"
#include "cli.h"
#include <string.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

void cli_no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
#ifdef __linux__
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

/* Upstream and key errors: what the user must fix is configuration (no
 * key, an unsafe key file, a request asking for streaming); the rest is
 * a failure at run time. */
static int upstream_exit(int rc)
{
	return rc == GS_EINVAL || rc == GS_EPERM || rc == GS_EIO
		? EXIT_CONFIG : EXIT_RUNTIME;
}

static void report(const gs_stack *st, const gs_call *c)
{
	const char *fp = gs_call_key_fingerprint(c);

	cli_report(st, c, 0);
	if (!gs_stack_upstream(st))
		fprintf(stderr, "guardstack: upstream: offline\n");
	else
		fprintf(stderr, "guardstack: upstream: HTTP %d%s%s\n",
			gs_call_upstream_status(c), fp ? ", key " : "",
			fp ? fp : "");
}

/* Every assistant text of the answer, ending with a newline. */
static int print_answer(const gs_call *c)
{
	size_t n = gs_call_text_count(c, GS_PHASE_RESPONSE), len = 0, l;
	const char *t = NULL;

	for (size_t i = 0; i < n; i++) {
		t = gs_call_text(c, GS_PHASE_RESPONSE, i, &l);
		if (strcmp(gs_call_text_role(c, GS_PHASE_RESPONSE, i),
			   "assistant"))
			continue;
		fwrite(t, 1, l, stdout);
		len = l;
	}
	if (!len || t[len - 1] != '\n')
		fputc('\n', stdout);
	return 0;
}

static int read_request(const struct cli_opts *o, gs_call *c)
{
	char *in = NULL, *err = NULL;
	const char *text = o->prompt;
	size_t len = text ? strlen(text) : 0;
	int rc;

	if (o->json && text && strcmp(text, "-")) {
		cli_err("run --json reads the request from stdin; give no "
			"PROMPT (or -)");
		return EXIT_CONFIG;
	}
	if (o->json || !text || !strcmp(text, "-")) {
		rc = cli_read_all(stdin, o->max_bytes, &in, &len);
		if (rc)
			return rc;
		text = in;
	}
	rc = o->json ? gs_call_set_request_json(c, text, len, o->max_bytes,
						&err)
		     : gs_call_add_message(c, "user", text, len, &err);
	gs_free(in);
	if (rc < 0) {
		cli_err("%s: %s", o->json || !o->prompt ||
			!strcmp(o->prompt, "-") ? "stdin" : "prompt",
			err ? err : gs_strerror(rc));
		gs_free(err);
		return rc == GS_ENOMEM ? EXIT_RUNTIME : EXIT_INPUT;
	}
	if (o->model && (rc = gs_call_set_model(c, o->model)) < 0) {
		if (rc != GS_EINPUT) {
			cli_err("out of memory");
			return EXIT_RUNTIME;
		}
		cli_err("-m: expected a model name (not empty, valid UTF-8)");
		return EXIT_CONFIG;
	}
	return 0;
}

int cmd_run(const struct cli_opts *o)
{
	gs_stack *st;
	gs_call *c = NULL;
	gs_upstream *u;
	char *err = NULL;
	int rc, oc, ret;

	cli_no_core_dumps();
	if (o->jsonl) {
		cli_err("run: --jsonl is for filter; use --json");
		return EXIT_CONFIG;
	}
	ret = cli_load(o, &st);
	if (ret)
		return ret;
	/* A missing key is reported before any work is done. */
	u = gs_stack_upstream(st);
	if (u && (rc = gs_upstream_prepare(u, &err)) < 0) {
		cli_err("%s", err ? err : gs_strerror(rc));
		ret = upstream_exit(rc);
		goto out;
	}
	c = gs_call_new(st);
	if (!c) {
		cli_err("out of memory");
		ret = EXIT_RUNTIME;
		goto out;
	}
	ret = read_request(o, c);
	if (ret)
		goto out;
	oc = gs_call_run(c, GS_PHASE_REQUEST);
	if (oc < 0) {
		cli_err("%s", gs_strerror(oc));
		ret = EXIT_RUNTIME;
		goto out;
	}
	ret = cli_outcome_exit(c, oc, "request");
	if (ret)
		goto verbose;
	rc = gs_call_upstream(c, &err);
	if (rc < 0) {
		cli_err("%s", err ? err : gs_strerror(rc));
		ret = upstream_exit(rc);
		goto verbose;
	}
	oc = gs_call_run(c, GS_PHASE_RESPONSE);
	if (oc < 0) {
		cli_err("%s", gs_strerror(oc));
		ret = EXIT_RUNTIME;
		goto verbose;
	}
	ret = cli_outcome_exit(c, oc, "response");
	if (!ret) {
		if (o->json) {
			ret = cli_print_json(gs_call_response_json(c));
		} else {
			print_answer(c);
		}
		if (fflush(stdout) != 0)
			ret = cli_stdout_failed();
	}
verbose:
	if (o->verbose)
		report(st, c);
out:
	gs_free(err);
	gs_call_free(c);
	gs_stack_free(st);
	return ret;
}
