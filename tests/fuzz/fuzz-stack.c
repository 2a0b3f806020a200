/* SPDX-License-Identifier: MIT */
/*
 * fuzz-stack - the stack-file loader: the INI reader, core keys,
 * includes, plugin resolution and create(), and a call through whatever
 * loaded.  The input is written to stack.ini in the target's private
 * directory; a second file, other.ini, is there for includes to find.
 * Inputs with '/' are skipped: a path could name a device or FIFO (a
 * hang, not a bug) or a library outside the private plugin directory.
 */
#include "fuzz.h"

static int checks(const gs_stack *st)
{
	size_t n = gs_stack_filter_count(st);

	for (size_t i = 0; i < n; i++) {
		gs_filter_desc d;

		fz_assert(gs_stack_filter(st, i, &d) == GS_OK);
		fz_assert(d.name && d.module && d.path && d.control &&
			  d.on_error && d.file && d.line > 0);
		for (size_t k = 0; k < d.nsettings; k++)
			fz_assert(d.keys[k] && d.values[k]);
	}
	return gs_stack_filter(st, n, NULL) == GS_EINVAL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup();
	{
		static const char o[] = "[other]\nmodule = gs-debug\n"
					"append = !\n";
		fz_write("other.ini", o, sizeof o - 1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gs_stack *st;
	gs_call *c;
	char *err = NULL, *js;
	int rc;

	if (memchr(data, '/', size))
		return 0;
	rc = gs_stack_load(&st, fz_write("stack.ini", data, size), 0, &err);
	if (rc < 0) {
		/* Every refusal explains itself. */
		fz_assert(err && *err);
		fz_assert(rc == GS_EINVAL || rc == GS_EIO || rc == GS_EPLUGIN ||
			  rc == GS_EPERM);
		gs_free(err);
		return 0;
	}
	fz_assert(!err);
	fz_assert(checks(st));
	c = gs_call_new(st);
	fz_assert(c);
	fz_assert(gs_call_add_message(c, "user", "hello", 5, NULL) == GS_OK);
	rc = gs_call_run(c, GS_PHASE_REQUEST);
	fz_assert(rc >= GS_OUTCOME_PASS && rc <= GS_OUTCOME_ERROR);
	js = gs_call_request_json(c);
	fz_assert(js);
	gs_free(js);
	fz_assert(gs_call_set_answer(c, "answer", 6, NULL) == GS_OK);
	rc = gs_call_run(c, GS_PHASE_RESPONSE);
	fz_assert(rc >= GS_OUTCOME_PASS && rc <= GS_OUTCOME_ERROR);
	js = gs_call_response_json(c);
	fz_assert(js);
	gs_free(js);
	gs_call_free(c);
	gs_stack_free(st);
	return 0;
}
