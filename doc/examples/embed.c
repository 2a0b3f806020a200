/* SPDX-License-Identifier: MIT */
/*
 * embed.c - a program that sends one prompt through a guardstack stack
 * and its upstream, step by step: load the stack, build a call, run the
 * request phase, call the upstream, run the response phase, read the
 * answer or why there is none.
 *
 *   cc embed.c $(pkg-config --cflags --libs guardstack) -o embed
 *   ./embed STACK "PROMPT"
 *
 * STACK is a name (CONFDIR/NAME.ini) or a path.  With the shipped
 * default stack the upstream is the offline backend, which needs no key.
 * Exit status: 0 answered, 1 rejected, 2 stack error, 3 upstream error.
 *
 * gs_call_roundtrip() does the three middle steps in one call; they are
 * spelled out here to show where a program can look in between.
 */
#include <guardstack.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	gs_stack *st;
	gs_call *c;
	char *err = NULL;
	int oc, ret = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s STACK PROMPT\n", argv[0]);
		return 2;
	}
	/* Once per program: a loaded stack is shared by every thread. */
	if (gs_stack_load(&st, argv[1], 0, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		gs_free(err);
		return 2;
	}

	/* One call per request. */
	c = gs_call_new(st);
	if (!c ||
	    gs_call_add_message(c, "system", "Answer in one sentence.",
				strlen("Answer in one sentence."), &err) < 0 ||
	    gs_call_add_message(c, "user", argv[2], strlen(argv[2]),
				&err) < 0) {
		fprintf(stderr, "%s\n", err ? err : "out of memory");
		gs_free(err);
		gs_call_free(c);
		gs_stack_free(st);
		return 2;
	}

	oc = gs_call_run(c, GS_PHASE_REQUEST);
	if (oc == GS_OUTCOME_PASS || oc == GS_OUTCOME_MODIFIED) {
		/* The filtered request goes to the stack's [upstream]. */
		if (gs_call_upstream(c, &err) < 0) {
			fprintf(stderr, "upstream: %s\n", err);
			gs_free(err);
			gs_call_free(c);
			gs_stack_free(st);
			return 3;
		}
		oc = gs_call_run(c, GS_PHASE_RESPONSE);
	}

	printf("outcome: %s\n", oc >= 0 ? gs_outcome_name(oc)
					: gs_strerror(oc));
	if (oc == GS_OUTCOME_PASS || oc == GS_OUTCOME_MODIFIED) {
		size_t n = gs_call_text_count(c, GS_PHASE_RESPONSE), len;

		for (size_t i = 0; i < n; i++) {
			const char *t = gs_call_text(c, GS_PHASE_RESPONSE, i,
						     &len);
			printf("answer: %.*s\n", (int)len, t);
		}
	} else {
		/* The reason is meant to be shown: filters keep content
		 * out of it. */
		printf("rejected by: %s\nreason: %s\n",
		       gs_call_rejected_by(c) ? gs_call_rejected_by(c)
					      : "(none)",
		       gs_call_reason(c) ? gs_call_reason(c) : "(none)");
		ret = 1;
	}

	gs_call_free(c);    /* runs every filter's finish() */
	gs_stack_free(st);
	return ret;
}
