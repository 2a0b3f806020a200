/* SPDX-License-Identifier: MIT */
/* The embedding API: loading, describing, and calls through both phases,
 * including one stack shared by threads. */
#include "config.h"
#include <guardstack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "../tap.h"

static char *stack_path(const char *name)
{
	static char buf[4][1024];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, sizeof buf[0], "%s/tests/stacks/%s",
		 getenv("top_srcdir"), name);
	return b;
}

static const gs_stack *shared;

static void *worker(void *arg)
{
	long bad = 0;

	for (int i = 0; i < 500; i++) {
		gs_call *c = gs_call_new(shared);
		char text[32];
		size_t len;
		int n = snprintf(text, sizeof text, "t%ld-%d", (long)arg, i);

		gs_call_add_message(c, "user", text, (size_t)n, NULL);
		if (gs_call_run(c, GS_PHASE_REQUEST) != GS_OUTCOME_MODIFIED)
			bad++;
		const char *t = gs_call_text(c, GS_PHASE_REQUEST, 0, &len);
		if (len != (size_t)n + 4 || strncmp(t, text, (size_t)n) ||
		    strcmp(t + n, "+req"))
			bad++;
		gs_call_free(c);
	}
	return (void *)bad;
}

int main(void)
{
	gs_stack *st;
	gs_call *c;
	char *err = NULL, *js;
	gs_filter_desc d;
	const gs_filter_report *rep;
	size_t len;

	ok(gs_version() && *gs_version(), "gs_version");
	{
		char abi[16];
		snprintf(abi, sizeof abi, "%d.%d", GS_PLUGIN_ABI_MAJOR,
			 GS_PLUGIN_ABI_MINOR);
		is_str(abi, GS_PLUGIN_ABI_CONFIGURED,
		       "plugin.h and guardstack.pc announce the same ABI");
	}
	is_str(gs_strerror(GS_EPLUGIN), "plugin missing or incompatible",
	       "gs_strerror");

	is_int(gs_stack_load(&st, stack_path("missing.ini"), 0, &err),
	       GS_EIO, "missing stack: GS_EIO");
	has_str(err, "missing.ini", "missing stack: message names the file");
	ok(st == NULL, "missing stack: no stack");
	gs_free(err);

	is_int(gs_stack_load(&st, stack_path("order.ini"), 0, &err), GS_OK,
	       "load a stack with an include");
	ok(err == NULL, "no message on success");
	is_int(gs_stack_filter_count(st), 5, "five filters");
	gs_stack_filter(st, 0, &d);
	is_str(d.name, "base-one", "included filters come first");
	is_str(d.module, "gs-debug", "module name");
	has_str(d.file, "order-base.ini", "defined in the included file");
	is_int(d.line, 2, "section line");
	gs_stack_filter(st, 4, &d);
	is_str(d.control, "optional", "control");
	is_str(d.on_error, "ignore", "on_error");
	is_int(d.phases, GS_PHASE_RESPONSE, "phase");
	is_int(d.nsettings, 1, "plugin settings exclude core keys");
	is_str(d.keys[0], "mark", "plugin setting key");
	is_str(d.values[0], "yes", "plugin setting value");
	is_int(gs_stack_filter(st, 5, &d), GS_EINVAL, "out of range");
	gs_stack_free(st);

	/* A whole request, then the answer. */
	gs_stack_load(&st, stack_path("append.ini"), 0, NULL);
	c = gs_call_new(st);
	is_int(gs_call_run(c, GS_PHASE_REQUEST), GS_ESTATE,
	       "running before a request is set: GS_ESTATE");
	is_int(gs_call_set_request_json(c, "{\"messages\":[", 13, 0, &err),
	       GS_EINPUT, "bad JSON: GS_EINPUT");
	has_str(err, "invalid JSON", "bad JSON: message");
	gs_free(err);
	const char *req = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
			  "\"content\":\"hi\"}]}";
	is_int(gs_call_set_request_json(c, req, strlen(req), 0, &err), GS_OK,
	       "set request JSON");
	is_int(gs_call_run(c, GS_PHASE_REQUEST), GS_OUTCOME_MODIFIED,
	       "request phase modified");
	is_int(gs_call_run(c, GS_PHASE_REQUEST), GS_ESTATE,
	       "a phase runs once per call");
	js = gs_call_request_json(c);
	is_str(js, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
		   "\"content\":\"hi+req\"}]}", "filtered request JSON");
	gs_free(js);
	is_int(gs_call_set_answer(c, "ans", 3, NULL), GS_OK, "set answer");
	is_int(gs_call_run(c, GS_PHASE_RESPONSE), GS_OUTCOME_MODIFIED,
	       "response phase modified");
	is_str(gs_call_text(c, GS_PHASE_RESPONSE, 0, &len), "ans+resp",
	       "filtered answer");
	is_str(gs_call_text_role(c, GS_PHASE_RESPONSE, 0), "assistant",
	       "answer role");
	is_int(gs_call_reports(c, &rep), 2, "one report per filter");
	is_int(rep[0].count, 1, "count recorded");
	is_str(rep[0].count_unit, "edits", "count unit from the plugin");
	is_int(gs_call_add_message(c, "user", "x", 1, &err), GS_ESTATE,
	       "no messages after a phase ran");
	gs_free(err);
	gs_call_free(c);

	c = gs_call_new(st);
	is_int(gs_call_add_message(c, "user", "a\xff", 2, &err), GS_EINPUT,
	       "invalid UTF-8 message refused");
	has_str(err, "invalid UTF-8 at byte 1", "invalid UTF-8: offset");
	gs_free(err);
	is_int(gs_call_add_message(c, "robot", "a", 1, &err), GS_EINVAL,
	       "unknown role refused");
	gs_free(err);
	is_int(gs_call_set_model(c, ""), GS_EINPUT, "an empty model refused");
	is_int(gs_call_set_model(c, "m\xc3"), GS_EINPUT,
	       "a model of invalid UTF-8 refused");
	is_int(gs_call_set_model(c, "mistral-\xc3\xa9"), GS_OK,
	       "a UTF-8 model taken");
	gs_call_free(c);

	/* One stack, four threads: same results as one by one. */
	shared = st;
	pthread_t th[4];
	long bad = 0;
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (long)r;
	}
	is_int(bad, 0, "4 threads x 500 calls on one stack: all correct");
	gs_stack_free(st);

	/* A rejected request stays rejected in the response phase. */
	gs_stack_load(&st, stack_path("control-required-continues.ini"), 0,
		      NULL);
	c = gs_call_new(st);
	gs_call_add_message(c, "user", "x", 1, NULL);
	is_int(gs_call_run(c, GS_PHASE_REQUEST), GS_OUTCOME_REJECTED,
	       "rejected");
	is_str(gs_call_rejected_by(c), "a", "rejected_by");
	is_str(gs_call_reason(c), "reason-a", "reason");
	gs_call_set_answer(c, "y", 1, NULL);
	is_int(gs_call_run(c, GS_PHASE_RESPONSE), GS_OUTCOME_REJECTED,
	       "a rejected call stays rejected");
	gs_call_free(c);
	gs_stack_free(st);

	/* Per-call data crosses from request to response. */
	gs_stack_load(&st, stack_path("data.ini"), 0, NULL);
	c = gs_call_new(st);
	gs_call_add_message(c, "user", "x", 1, NULL);
	gs_call_run(c, GS_PHASE_REQUEST);
	gs_call_set_answer(c, "y", 1, NULL);
	is_int(gs_call_run(c, GS_PHASE_RESPONSE), GS_OUTCOME_MODIFIED,
	       "per-call data reaches the response phase");
	gs_call_free(c);
	/* Freed without a response phase: the data is freed (valgrind). */
	c = gs_call_new(st);
	gs_call_add_message(c, "user", "x", 1, NULL);
	gs_call_run(c, GS_PHASE_REQUEST);
	gs_call_free(c);
	ok(1, "call freed after one phase");
	gs_stack_free(st);
	return done_testing();
}
