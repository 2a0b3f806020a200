/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure, as curl's torture tests: for every N, fail the Nth
 * allocation of a stack load plus a whole call (request JSON in, request
 * phase, answer in, response phase, both serialised, freed), and again
 * failing every allocation from the Nth on.  The sweep for a stack ends
 * at the first N the run never reaches.
 *
 * Each run must end without a crash, report an error through a return
 * value, or succeed with exactly the fault-free result: an allocation
 * failure may never produce a different success (a lost redaction, a
 * dropped message).  Leaks are what the ASan and valgrind passes of
 * `make check` are for: every run frees what it made.
 */
#include "config.h"
#include <guardstack.h>
#include <stdio.h>
#include <stdlib.h>
#include "internal.h"
#include "cli/cli.h"
#include "../tap.h"

static const char req_json[] =
	"{\"model\":\"m\",\"messages\":["
	"{\"role\":\"system\",\"content\":\"be brief\"},"
	"{\"role\":\"user\",\"content\":\"hello there, a long text\"},"
	"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"one\"},"
	"{\"type\":\"image_url\",\"image_url\":\"u\"},"
	"{\"type\":\"text\",\"text\":\"two\"}]}],\"temperature\":0.5}";
static const char resp_json[] =
	"{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,"
	"\"message\":{\"role\":\"assistant\",\"content\":\"the answer\"},"
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,"
	"\"completion_tokens\":2,\"total_tokens\":3}}";

/* What one run produced, as text, for comparison with the fault-free
 * run.  `failed` is set when some step reported an error. */
struct result {
	gs_buf log;
	int failed;
	int bad;          /* a step broke the rules: described in log */
};

static void note(struct result *r, const char *fmt, ...)
	GS_PRINTF(2, 3);
static void note(struct result *r, const char *fmt, ...)
{
	va_list ap;
	char tmp[4096];

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	/* The log itself must not allocate through the hook being tested,
	 * so it is built with plain malloc. */
	size_t n = strlen(tmp);
	char *p = realloc(r->log.data, r->log.len + n + 1);
	if (!p)
		abort();
	memcpy(p + r->log.len, tmp, n + 1);
	r->log.data = p;
	r->log.len += n;
}

/* The only error an allocation failure may cause: out of memory. */
static void want_error(struct result *r, const char *step, int rc)
{
	r->failed = 1;
	note(r, "%s=%d\n", step, rc);
	if (rc == GS_ENOMEM)
		return;
	r->bad = 1;
	note(r, "(%s failed with %s, not out of memory)\n", step,
	     gs_strerror(rc));
}

static void outcome(struct result *r, const char *step, gs_call *c, int oc)
{
	const gs_filter_report *rep;
	size_t n = gs_call_reports(c, &rep);

	note(r, "%s=%s|", step, oc < 0 ? "-" : gs_outcome_name(oc));
	if (oc < 0 || oc == GS_OUTCOME_ERROR || oc == GS_OUTCOME_REJECTED)
		r->failed = 1;
	for (size_t i = 0; i < n; i++)
		note(r, "%s:%s:%lu,", rep[i].name,
		     gs_verdict_name(rep[i].verdict), rep[i].count);
	for (gs_phase p = GS_PHASE_REQUEST; p <= GS_PHASE_RESPONSE; p++)
		for (size_t i = 0; i < gs_call_text_count(c, p); i++) {
			size_t len;
			const char *t = gs_call_text(c, p, i, &len);
			note(r, "[%.*s]", (int)len, t);
		}
	note(r, "\n");
}

static void serialised(struct result *r, const char *step, char *js)
{
	if (!js) {
		r->failed = 1;
		note(r, "%s=NULL\n", step);
		return;
	}
	note(r, "%s=%s\n", step, js);
	gs_free(js);
}

static void run(const char *path, int api, struct result *r)
{
	gs_stack *st;
	gs_call *c;
	char *err = NULL;
	int rc;

	memset(r, 0, sizeof *r);
	rc = gs_stack_load(&st, path, 0, &err);
	if (rc < 0) {
		want_error(r, "load", rc);
		if (r->bad)
			note(r, "(%s)\n", err ? err : "no message");
		gs_free(err);
		return;
	}
	c = gs_call_new(st);
	if (!c) {
		r->failed = 1;
		note(r, "new=NULL\n");
		gs_stack_free(st);
		return;
	}
	if (api) {
		/* Built through the API: no JSON trees to keep. */
		rc = gs_call_set_model(c, "m");
		if (rc >= 0)
			rc = gs_call_add_message(c, "system", "be brief", 8,
						 &err);
		gs_free(err), err = NULL;
		if (rc >= 0)
			rc = gs_call_add_message(c, "user", "hello there, "
						 "a long text", 24, &err);
	} else {
		rc = gs_call_set_request_json(c, req_json, sizeof req_json - 1,
					      0, &err);
	}
	gs_free(err), err = NULL;
	if (rc < 0) {
		want_error(r, "request", rc);
		goto out;
	}
	outcome(r, "run1", c, gs_call_run(c, GS_PHASE_REQUEST));
	serialised(r, "reqjson", gs_call_request_json(c));
	rc = api ? gs_call_set_answer(c, "the answer", 10, &err)
		 : gs_call_set_response_json(c, resp_json,
					     sizeof resp_json - 1, 0, &err);
	gs_free(err), err = NULL;
	if (rc < 0) {
		want_error(r, "response", rc);
		goto out;
	}
	outcome(r, "run2", c, gs_call_run(c, GS_PHASE_RESPONSE));
	serialised(r, "respjson", gs_call_response_json(c));
out:
	gs_call_free(c);
	gs_stack_free(st);
}

/* Compares a faulted run's log (one "step=value" line per step) with the
 * fault-free one: every step that succeeded must have produced the same
 * line.  A failed phase ends the comparison (returns 2): what follows
 * happens under an error the caller has already been told about.  0: a
 * step differs, described in why; 1: all steps there are match. */
static int failed_value(const char *line, const char *v)
{
	if (*v == '-' || !strncmp(v, "NULL\n", 5))
		return 1;
	return !strncmp(line, "run", 3) && strncmp(v, "pass|", 5) &&
	       strncmp(v, "modified|", 9);
}

/* Filters reported as failed in a run line. */
static int errors_in(const char *line)
{
	const char *end = strchr(line, '\n');
	int n = 0;

	for (const char *p = line; (p = strstr(p, ":error:")) && p < end; p++)
		n++;
	return n;
}

static int same_where_passed(const char *got, const char *want, char *why,
			     size_t whylen)
{
	for (const char *nl; *got; got = nl + 1) {
		const char *eq = strchr(got, '='), *w;
		size_t len, kl;

		nl = strchr(got, '\n');
		len = (size_t)(nl - got) + 1;
		kl = (size_t)(eq - got) + 1;
		if (failed_value(got, eq + 1)) {
			if (!strncmp(got, "run", 3))
				return 2;
			continue;
		}
		for (w = want; *w && strncmp(w, got, kl);
		     w = strchr(w, '\n') + 1)
			;
		/* A filter that failed and whose on_error = ignore made the
		 * failure an abstention: the stack chose to go on without it,
		 * so what follows may differ. */
		if (!strncmp(got, "run", 3) && errors_in(got) > errors_in(w))
			return 2;
		if (!*w || strncmp(w, got, len)) {
			snprintf(why, whylen, "%.*s", (int)(len > 300 ? 300
							    : len - 1), got);
			return 0;
		}
	}
	return 1;
}

static void sweep(const char *name, int api, int and_after)
{
	char path[1024];
	struct result base, r;
	unsigned long n, used = 0, total, failures = 0;
	char why[320];
	int same;

	snprintf(path, sizeof path, "%s/tests/stacks/%s",
		 getenv("top_srcdir"), name);
	gs__alloc_fault(0, 0);
	run(path, api, &base);
	ok(!base.failed && !base.bad, "%s%s: runs without faults", name,
	   api ? " (API)" : "");
	if (base.failed)
		printf("#   %s\n", base.log.data);
	/* Count the allocations of a whole run. */
	gs__alloc_fault((unsigned long)-1, 0);
	run(path, api, &r);
	total = gs__alloc_fault(0, 0);
	free(r.log.data);
	for (n = 1; n <= total + 1; n++) {
		gs__alloc_fault(n, and_after);
		run(path, api, &r);
		used = gs__alloc_fault(0, 0);
		same = r.bad ? 0 : same_where_passed(r.log.data,
						     base.log.data, why,
						     sizeof why);
		if (r.bad || !same ||
		    (same == 1 && !r.failed && strcmp(r.log.data,
						      base.log.data) &&
		     snprintf(why, sizeof why, "steps missing"))) {
			if (failures++ < 5)
				printf("# %s: allocation %lu: %s\n#   %s\n",
				       name, n, r.bad ? "broke the rules" :
				       "a different success",
				       r.bad ? r.log.data : why);
		}
		if (used < n && !r.failed && n <= total)
			printf("# %s: run ended before allocation %lu of %lu\n",
			       name, n, total);
		free(r.log.data);
		if (used < n)
			break;
	}
	ok(failures == 0 && n == total + 1,
	   "%s%s: %lu allocations, each failing%s: an error or the same "
	   "result", name, api ? " (API)" : "", total,
	   and_after ? " with all after it" : " alone");
	printf("# %s%s, %s: %lu runs, %lu bad\n", name, api ? " (API)" : "",
	       and_after ? "all from N" : "Nth only", n, failures);
	free(base.log.data);
}

/* ---- the CLI's --jsonl line path (core/cli/jsonl.c) ------------------ */

static const char *const jsonl_in[] = {
	"{\"text\":\"hello there, a long text\"}",
	"not json",
	"{\"text\":\"x\"} {\"text\":\"y\"}",
	NULL, /* a line the reader cut: too long */
	"{\"text\":\"second\"}",
};

/* The lines a run of the CLI would print, one per input line, until the
 * CLI would stop (out of memory); NULL if the stack did not load. */
static char *jsonl_run(const char *path)
{
	gs_stack *st;
	gs_buf line = GS_BUF_INIT;
	char *out = NULL, *err = NULL;
	size_t len = 0;

	if (gs_stack_load(&st, path, 0, &err) < 0) {
		gs_free(err);
		return NULL;
	}
	out = calloc(1, 1);
	for (size_t i = 0; i < sizeof jsonl_in / sizeof *jsonl_in; i++) {
		const char *s = jsonl_in[i] ? jsonl_in[i] : "";

		if (cli_jsonl_line(st, GS_PHASE_REQUEST, s, strlen(s),
				   !jsonl_in[i], 64, i + 1, &line) < 0)
			break;
		out = realloc(out, len + line.len + 1);
		memcpy(out + len, line.data, line.len + 1);
		len += line.len;
	}
	gs_buf_free(&line);
	gs_stack_free(st);
	return out;
}

/* Each printed line must be the fault-free one or say error/rejected. */
static int jsonl_ok(const char *got, const char *want)
{
	while (*got) {
		const char *ge = strchr(got, '\n'), *we = strchr(want, '\n');
		const char *v = strstr(got, ",\"verdict\":\"");

		if (!ge || !v || v > ge)
			return 0;
		v += 12;
		if (strncmp(v, "error\"", 6) && strncmp(v, "rejected\"", 9) &&
		    (!we || ge - got != we - want ||
		     strncmp(got, want, (size_t)(ge - got))))
			return 0;
		got = ge + 1;
		want = we ? we + 1 : want + strlen(want);
	}
	return 1;
}

static void sweep_jsonl(const char *name)
{
	char path[1024], *base, *out;
	unsigned long n, total, bad = 0;

	snprintf(path, sizeof path, "%s/tests/stacks/%s",
		 getenv("top_srcdir"), name);
	gs__alloc_fault(0, 0);
	base = jsonl_run(path);
	ok(base && strstr(base, "hello there,") &&
	   strstr(base, "unexpected data after the JSON value"),
	   "jsonl %s: runs without faults", name);
	gs__alloc_fault((unsigned long)-1, 0);
	free(jsonl_run(path));
	total = gs__alloc_fault(0, 0);
	for (n = 1; n <= total; n++) {
		gs__alloc_fault(n, 0);
		out = jsonl_run(path);
		gs__alloc_fault(0, 0);
		if (out && base && !jsonl_ok(out, base) && bad++ < 5)
			printf("# jsonl: allocation %lu:\n%s", n, out);
		free(out);
	}
	ok(bad == 0, "jsonl %s: %lu allocations, each failing alone: error "
	   "lines or the same lines", name, total);
	free(base);
}

int main(void)
{
	static const char *const stacks[] = { "allocfail.ini", "order.ini",
					      "append.ini",
					      "allocfail-msgs.ini" };
	gs_stack *keep;
	char path[1024], *err = NULL;

	/* Keeps the plugins mapped between runs: each run's stack would
	 * otherwise dlopen and dlclose them again. */
	snprintf(path, sizeof path, "%s/tests/stacks/allocfail.ini",
		 getenv("top_srcdir"));
	if (gs_stack_load(&keep, path, 0, &err) < 0) {
		printf("Bail out! %s\n", err ? err : "cannot load");
		return 1;
	}
	for (size_t i = 0; i < sizeof stacks / sizeof *stacks; i++)
		for (int mode = 0; mode < 2; mode++) {
			sweep(stacks[i], 0, mode);
			if (i == 0)
				sweep(stacks[i], 1, mode);
		}
	sweep_jsonl("allocfail.ini");
	gs_stack_free(keep);
	return done_testing();
}
