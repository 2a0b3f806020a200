/* SPDX-License-Identifier: MIT */
/*
 * fuzz-json.h - the request and response targets, one body each way:
 * FZ_PHASE selects which.  For every input the core accepts:
 *  - through a stack that changes nothing, the serialised JSON is
 *    accepted again and serialises to the same bytes (a fixpoint), with
 *    the same texts: nothing is lost or invented on the way through;
 *  - through a stack that changes every text, serialising works and the
 *    result is accepted again with the changed texts in it.
 * Refused input must come with a message that names what was wrong.
 * The output must also be what cJSON prints of it (the core writes JSON
 * by hand: core/jsonout.c).
 */
#include "fuzz.h"
#include <cjson/cJSON.h>

static gs_stack *pass_st, *edit_st;

static int set(gs_call *c, const char *js, size_t len, char **err)
{
	return FZ_PHASE == GS_PHASE_REQUEST
		? gs_call_set_request_json(c, js, len, 0, err)
		: gs_call_set_response_json(c, js, len, 0, err);
}

static char *emit(const gs_call *c)
{
	return FZ_PHASE == GS_PHASE_REQUEST ? gs_call_request_json(c)
					    : gs_call_response_json(c);
}

/* Sets the body, runs the phase, serialises; NULL if the body was
 * refused.  *texts gets the phase's texts joined with '\1'. */
static char *through(const gs_stack *st, const char *js, size_t len,
		     gs_buf *texts, int *outcome)
{
	gs_call *c = gs_call_new(st);
	char *err = NULL, *out;
	int rc;

	fz_assert(c);
	rc = set(c, js, len, &err);
	if (rc < 0) {
		fz_assert(rc == GS_EINPUT && err && *err);
		gs_free(err);
		gs_call_free(c);
		return NULL;
	}
	fz_assert(!err);
	*outcome = gs_call_run(c, FZ_PHASE);
	fz_assert(*outcome >= GS_OUTCOME_PASS &&
		  *outcome <= GS_OUTCOME_ERROR);
	out = emit(c);
	fz_assert(out);
	for (size_t i = 0; i < gs_call_text_count(c, FZ_PHASE); i++) {
		size_t l;
		const char *t = gs_call_text(c, FZ_PHASE, i, &l);

		fz_assert(t && strlen(t) == l);
		fz_assert(gs_buf_append(texts, t, l) == GS_OK);
		fz_assert(gs_buf_putc(texts, '\1') == GS_OK);
	}
	gs_call_free(c);
	return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup();
	pass_st = fz_stack("pass.ini", FZ_PASS_STACK);
	edit_st = fz_stack("edit.ini", FZ_EDIT_STACK);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gs_buf t1 = GS_BUF_INIT, t2 = GS_BUF_INIT, t3 = GS_BUF_INIT;
	char *o1, *o2, *o3;
	int oc;

	o1 = through(pass_st, (const char *)data, size, &t1, &oc);
	if (!o1)
		return 0;
	fz_assert(oc == GS_OUTCOME_PASS);
	/* written by hand (core/jsonout.c), it is what cJSON would print */
	{
		cJSON *j = cJSON_Parse(o1);
		char *again = j ? cJSON_PrintUnformatted(j) : NULL;

		fz_assert(again && !strcmp(again, o1));
		cJSON_free(again);
		cJSON_Delete(j);
	}
	/* guardstack's own output is valid input, and a fixpoint */
	o2 = through(pass_st, o1, strlen(o1), &t2, &oc);
	fz_assert(o2);
	fz_assert(!strcmp(o1, o2));
	fz_assert(t1.len == t2.len &&
		  !memcmp(t1.data ? t1.data : "", t2.data ? t2.data : "",
			  t1.len));
	gs_free(o2);
	gs_buf_free(&t2);

	o2 = through(edit_st, (const char *)data, size, &t2, &oc);
	fz_assert(o2);
	o3 = through(pass_st, o2, strlen(o2), &t3, &oc);
	fz_assert(o3);
	/* the changed texts are what went out */
	fz_assert(t2.len == t3.len &&
		  !memcmp(t2.data ? t2.data : "", t3.data ? t3.data : "",
			  t2.len));
	gs_free(o1);
	gs_free(o2);
	gs_free(o3);
	gs_buf_free(&t1);
	gs_buf_free(&t2);
	gs_buf_free(&t3);
	return 0;
}
